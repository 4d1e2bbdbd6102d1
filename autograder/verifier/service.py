"""The verifier process: the checks and the references, outside every sandbox.

One verifier process serves all the kernels of one grading process (a ``./course grade`` worker,
a plain ``nbgrader autograde`` run, the formgrader's server, a Dask worker), any number at once:
it imports numpy, SciPy, scikit-learn and the checks once. The grading process talks to it over
a private control socket, one connection per kernel (:class:`SessionHandle`): ``open`` (listen
on this kernel's socket), ``cell`` (this test cell runs now), ``close`` (the record). Each kernel
talks to it over its own socket (:mod:`autograder.verifier.session`). The process has a memory
limit of its own, and ends when the grading process does (its stdin is a pipe from it).

Start: :func:`verifier` returns this process's :class:`VerifierService`, starting it on first use.
"""
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

MEMORY_LIMIT_BYTES = 6 << 30  # the checks need well under 1 GiB; a flood of replies must not take the machine
START_TIMEOUT = 120.0  # seconds: imports on a busy machine
CONTROL_TIMEOUT = 60.0


class VerifierUnavailable(RuntimeError):
    """The verifier process could not be started or stopped answering (a grader failure, not the student's)."""


# ---- the process ---------------------------------------------------------------------------------
def _send_line(connection, message):
    connection.sendall(json.dumps(message).encode() + b"\n")


def _lines(connection):
    buffer = b""
    while True:
        data = connection.recv(1 << 16)
        if not data:
            return
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield json.loads(line)


def _serve_control(connection):
    """One grading-process connection: the commands of one kernel's session."""
    from autograder.verifier.session import Session

    session = None
    try:
        for command in _lines(connection):
            kind = command.get("cmd")
            if kind == "open" and session is None:
                session = Session(command["socket"], reply_timeout=command.get("reply_timeout", 120.0))
                _send_line(connection, {"ok": True})
            elif kind == "cell" and session is not None:
                session.enter_cell(command.get("grade_id"))
                _send_line(connection, {"ok": True})
            elif kind == "close" and session is not None:
                record, session = session.close(), None
                _send_line(connection, {"ok": True, "record": record})
                return
            else:
                _send_line(connection, {"ok": False, "error": f"unexpected command {kind!r}"})
    except (OSError, ValueError) as exc:
        print(f"verifier: control connection failed: {exc}", file=sys.stderr, flush=True)
    finally:
        if session is not None:
            session.close()
        connection.close()


def _exit_with_parent():
    """The grading process holds our stdin open: end when it closes (the grader ended, even by SIGKILL)."""
    try:
        while sys.stdin.buffer.read(1 << 12):
            pass
    finally:
        os._exit(0)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    control_path = argv[0]
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    import autograder.checks  # noqa: F401  (numpy, SciPy, scikit-learn and the checks, once)

    threading.Thread(target=_exit_with_parent, daemon=True).start()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(control_path)
    os.chmod(control_path, 0o600)
    listener.listen(64)
    print("ready", flush=True)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=_serve_control, args=(connection,), daemon=True).start()


# ---- the grading process's side ----------------------------------------------------------------
class SessionHandle:
    """The grading process's handle on one kernel's session in the verifier process."""

    def __init__(self, control_path, socket_path, reply_timeout):
        self._connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._connection.settimeout(CONTROL_TIMEOUT)
        self._buffer = b""
        self._cell = None  # what the session was last told (it starts with no test cell running)
        try:
            self._connection.connect(control_path)
        except OSError as exc:
            raise VerifierUnavailable(f"cannot reach the verifier ({exc})") from None
        self._ask({"cmd": "open", "socket": str(socket_path), "reply_timeout": reply_timeout})

    def _ask(self, command):
        try:
            _send_line(self._connection, command)
            while b"\n" not in self._buffer:
                data = self._connection.recv(1 << 20)
                if not data:
                    raise VerifierUnavailable("the verifier closed the connection")
                self._buffer += data
            line, self._buffer = self._buffer.split(b"\n", 1)
            answer = json.loads(line)
        except (OSError, ValueError) as exc:
            raise VerifierUnavailable(f"the verifier did not answer ({type(exc).__name__}: {exc})") from None
        if not answer.get("ok"):
            raise VerifierUnavailable(answer.get("error", "the verifier refused"))
        return answer

    def enter_cell(self, grade_id):
        # Only changes cross: most cells are not test cells, and "none running" needs no repeating.
        if grade_id != self._cell:
            self._ask({"cmd": "cell", "grade_id": grade_id})
            self._cell = grade_id

    def leave_cell(self):
        self.enter_cell(None)

    def close(self):
        """The session's record (see :mod:`autograder.verifier.session`)."""
        try:
            return self._ask({"cmd": "close"})["record"]
        finally:
            self._connection.close()


class VerifierService:
    """This grading process's verifier process (started on first use, restarted if it died)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._process = None
        self._folder = None

    def _start(self):
        self._folder = tempfile.mkdtemp(prefix="lab5-verifier-")
        control = os.path.join(self._folder, "control")
        from autograder.course import COURSE_ROOT

        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(COURSE_ROOT), os.environ.get("PYTHONPATH", "")])),
                   OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self._process = subprocess.Popen([sys.executable, "-m", "autograder.verifier.service", control],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(COURSE_ROOT))
        deadline = time.monotonic() + START_TIMEOUT
        line = self._process.stdout.readline()
        if line.strip() != b"ready" or time.monotonic() > deadline:
            self._process.kill()
            raise VerifierUnavailable(f"the verifier process did not start (exit code {self._process.poll()})")
        self._control = control

    def ensure_started(self):
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            return self._control

    def open_session(self, socket_path, reply_timeout=120.0):
        """A new session listening on ``socket_path`` (the kernel's socket), as a :class:`SessionHandle`."""
        return SessionHandle(self.ensure_started(), socket_path, reply_timeout)

    def stop(self):
        with self._lock:
            if self._process is not None:
                self._process.kill()
                self._process.wait()
                self._process = None
            if self._folder:
                shutil.rmtree(self._folder, ignore_errors=True)


_service = VerifierService()


def verifier():
    """This process's :class:`VerifierService`."""
    return _service


if __name__ == "__main__":
    main()
