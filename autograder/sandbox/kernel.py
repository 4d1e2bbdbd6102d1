"""A jupyter_client kernel manager that starts every kernel through ``launch.py`` (bwrap).

nbgrader's Execute preprocessor creates one of these per graded notebook (see
:class:`autograder.sandbox.execute.GuardedExecute`). The kernel talks over unix sockets
(``ipc`` transport): it has no network, so TCP on loopback cannot reach it.

With ``sandbox_zygote`` on (``./course grade`` turns it on in its worker processes), kernels are
forked by a :class:`Zygote` that has already imported ``preload_modules`` (see ``zygote.py``);
whenever the zygote cannot serve a kernel, that kernel is started through ``launch.py`` as usual.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Float, Integer, List, Unicode

from autograder.sandbox import pristine
from autograder.sandbox.launch import (ZYGOTE_HOST_TMP, grading_packages, kernel_course_root, limit_values,
                                       python_folders, sandbox_environment)

LAUNCHER = Path(__file__).resolve().parent / "launch.py"
ZYGOTE = Path(__file__).resolve().parent / "zygote.py"
ZYGOTE_STUB = Path(__file__).resolve().parent / "zygote_stub.py"
ZYGOTE_TIMEOUT = 60  # seconds for the zygote's imports, or for one kernel's namespaces
ZYGOTE_MEMORY_MB = 8192  # the zygote's own address-space limit: it runs no student code
# A forked kernel starts with the zygote's address space (about 0.45 GB here) and ipykernel's
# threads add about 0.6 GB: with less room than this above the zygote's size under its memory
# limit, a kernel is started the usual way, with its imports still to come.
ZYGOTE_HEADROOM = 1024 * 1024 * 1024
# What a grading kernel of this course imports anyway (ipykernel, the notebook's first cell, the
# hidden tests' package). Not matplotlib.pyplot or its inline backend: they hook into the kernel's
# IPython shell when first imported, so that must happen in the kernel, as it does normally.
PRELOAD_MODULES = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "numpy",
                   "scipy.special", "scipy.stats", "sklearn.cluster", "sklearn.mixture",
                   "sklearn.exceptions", "imageio.v3", "matplotlib.figure",
                   "matplotlib.backends.backend_agg", "autograder.checks"]
_references = {}  # (kernel python, course root) -> the pristine reference as JSON text, or None
_references_lock = threading.Lock()


def pristine_reference(python, course_root):
    """JSON text of the tamper guard's reference for this kernel Python and course package.

    Computed once per grading process (see :mod:`autograder.sandbox.pristine`); None when it
    cannot be computed, in which case each kernel computes its own, as without a sandbox.
    """
    key = (python, str(course_root))
    with _references_lock:
        if key not in _references:
            try:
                _references[key] = json.dumps(pristine.compute(python, course_root))
            except Exception:
                _references[key] = None
        return _references[key]


@lru_cache(maxsize=1)
def sandbox_problem():
    """None when bwrap can start a sandbox here, else a sentence saying why it cannot."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap (Debian package bubblewrap) is not installed"
    try:
        probe = subprocess.run(
            [bwrap, "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"],
            capture_output=True, text=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not run: {exc}"
    if probe.returncode != 0:
        return f"bwrap cannot create namespaces here: {probe.stderr.strip()}"
    return None


class ZygoteError(RuntimeError):
    """The zygote could not fork this kernel (the caller starts it the usual way instead)."""


class Zygote:
    """A sandboxed kernel factory owned by this process (``launch.py --zygote``, ``zygote.py``).

    It dies with this process. :meth:`spawn` sends one kernel request and returns the socket to
    that kernel's reaper once the kernel process exists.
    """

    def __init__(self, python, env, launcher_args, preload):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        debug = None if os.environ.get("AUTOGRADER_SANDBOX_DEBUG") else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", str(LAUNCHER), "--zygote", *launcher_args, "--",
                 python, str(ZYGOTE), str(theirs.fileno()), ",".join(preload)],
                env=env, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=debug,
                stderr=debug, start_new_session=True)
        finally:
            theirs.close()
        self._control = ours
        self._lock = threading.Lock()
        self._hello = None

    def alive(self):
        return self.process.poll() is None

    def _wait_until_ready(self, timeout):
        if self._hello is None:
            self._control.settimeout(timeout)
            try:
                message = self._control.recv(1 << 16)
            except OSError as exc:
                raise ZygoteError(f"no answer from the zygote ({exc})") from exc
            self._hello = json.loads(message) if message else {"error": "the zygote exited"}
        if not self._hello.get("ready"):
            raise ZygoteError(self._hello.get("error", "the zygote is not ready"))
        return self._hello

    def spawn(self, request, timeout=ZYGOTE_TIMEOUT):
        """Fork one kernel; return the socket to its reaper (see ``zygote_stub.py``)."""
        mine, theirs = socket.socketpair()
        try:
            with self._lock:
                needed = self._wait_until_ready(timeout).get("address_space", 0) + ZYGOTE_HEADROOM
                if request["limits"].get("RLIMIT_AS", needed) < needed:
                    raise ZygoteError(f"a forked kernel would start with {needed - ZYGOTE_HEADROOM} bytes of "
                                      f"its {request['limits']['RLIMIT_AS']} bytes memory limit used")
                self._control.settimeout(timeout)
                socket.send_fds(self._control, [json.dumps(request).encode()], [theirs.fileno()])
        except (OSError, ValueError) as exc:
            mine.close()
            raise ZygoteError(f"could not reach the zygote ({exc})") from exc
        finally:
            theirs.close()
        mine.settimeout(timeout)
        try:
            head = mine.recv(2, socket.MSG_WAITALL)
            if head == b"R\n":
                mine.settimeout(None)
                return mine
            rest = b""
            while head and (chunk := mine.recv(4096)):
                rest += chunk
        except OSError as exc:
            head, rest = b"", str(exc).encode()
        mine.close()
        raise ZygoteError((head + rest).decode(errors="replace").lstrip("E").strip()
                          or "the zygote did not fork the kernel")

    def close(self):
        self._control.close()
        if self.alive():
            self.process.kill()
        self.process.wait()


_zygotes = {}  # (kernel python, PYTHONPATH, launcher arguments, modules) -> Zygote
_zygotes_lock = threading.Lock()
_zygote_default = False  # see enable_zygote()


def enable_zygote(config=None):
    """Fork this process's kernels from a zygote unless ``config`` says otherwise; start it now.

    Starting it early lets its imports overlap with other set-up work; the first kernel waits
    for them only if they are not done yet.
    """
    global _zygote_default
    _zygote_default = True
    manager = SandboxedKernelManager(config=config) if config is not None else SandboxedKernelManager()
    if manager.sandbox_zygote is not False and sandbox_problem() is None:
        zygote_for(sys.executable, sandbox_environment(dict(os.environ)), manager.zygote_arguments(),
                   manager.preload_modules)


def zygote_for(python, env, launcher_args, preload):
    """This process's zygote for these settings, started (or restarted) if needed."""
    key = (python, env.get("PYTHONPATH", ""), tuple(launcher_args), tuple(preload))
    with _zygotes_lock:
        zygote = _zygotes.get(key)
        if zygote is None or not zygote.alive():
            if zygote is not None:
                zygote.close()
            zygote = _zygotes[key] = Zygote(python, env, launcher_args, preload)
        return zygote


UNSANDBOXED_WARNING = (
    "!!! GRADING WITHOUT A SANDBOX: {why}. Student code runs with YOUR permissions, "
    "network and files. Install bubblewrap (Linux) to grade safely. !!!"
)


class SandboxedKernelManager(AsyncKernelManager):
    """Kernel manager whose kernels run in the bwrap sandbox with resource limits."""

    sandbox_memory_mb = Integer(3072, help="Address-space limit of a grading kernel (MiB).").tag(config=True)
    sandbox_cpu_seconds = Integer(900, help="CPU-seconds limit of each process in the sandbox.").tag(config=True)
    sandbox_max_processes = Integer(64, help="Process/thread limit of a sandbox (pids cgroup).").tag(config=True)
    sandbox_cpu_share = Float(1.0, help="CPUs one sandbox may use at once (cpu cgroup quota).").tag(config=True)
    sandbox_hide = List(Unicode(), help="More folders the kernel must not see.").tag(config=True)
    sandbox_allow_network = Bool(False, help="Keep network access (never for grading).").tag(config=True)
    sandbox_file_size_mb = Integer(256, help="Largest file a grading kernel may write (MiB).").tag(config=True)
    sandbox_zygote = Bool(None, allow_none=True, help=(
        "Fork kernels from a sandboxed process that has imported preload_modules already (about 2 s "
        "of CPU less per kernel). None: on in ./course grade's workers, off elsewhere.")).tag(config=True)
    preload_modules = List(Unicode(), PRELOAD_MODULES, help="Modules the zygote imports once.").tag(config=True)

    _sockdir = None
    _reference_file = None
    _kernel_cmd = None
    _workdir = None
    forked_from_zygote = False  # whether the running kernel came from the zygote

    async def _async_pre_start_kernel(self, **kw):
        # Unix sockets in a private folder that the launcher binds into the sandbox.
        if self._sockdir is None:
            self._sockdir = tempfile.mkdtemp(prefix="k", dir="/tmp")
        self.transport = "ipc"
        self.ip = os.path.join(self._sockdir, "s")
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        kernel_cmd = super().format_kernel_cmd(extra_arguments)
        workdir = self._launch_args.get("cwd") or os.getcwd()
        cmd = [sys.executable, "-I", str(LAUNCHER), "--workdir", str(workdir), "--sockdir", self._sockdir,
               *self._launcher_limits(self.sandbox_memory_mb)]
        self._kernel_cmd, self._workdir = kernel_cmd, str(workdir)
        reference = self._write_reference(kernel_cmd[0])
        if reference:
            cmd += ["--pristine", reference, pristine.REFERENCE_PATH]
        if self.sandbox_allow_network:
            cmd.append("--allow-network")
        return cmd + ["--"] + kernel_cmd

    def _write_reference(self, python):
        """A private read-only file with the guard's reference for this kernel (None if there is none)."""
        env = self._launch_args.get("env") or os.environ
        course_root = kernel_course_root(env.get("PYTHONPATH", ""))
        text = pristine_reference(python, course_root) if course_root else None
        if text is None:
            return None
        # Outside the socket folder: the kernel can write there, and would reach the same file.
        handle, self._reference_file = tempfile.mkstemp(prefix="kref-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.chmod(self._reference_file, 0o444)
        return self._reference_file

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        # The kernel's own start-up chatter would interleave with the grader's progress bar.
        if not os.environ.get("AUTOGRADER_SANDBOX_DEBUG"):
            kw.setdefault("stdout", subprocess.DEVNULL)
            kw.setdefault("stderr", subprocess.DEVNULL)
        link = self._fork_from_zygote(kw.get("env") or dict(os.environ))
        self.forked_from_zygote = link is not None
        if link is not None:
            try:
                kw["pass_fds"] = (link.fileno(),)
                return await super()._async_launch_kernel(
                    [sys.executable, "-I", "-S", str(ZYGOTE_STUB), str(link.fileno())], **kw)
            finally:
                link.close()
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    def _zygote_request(self, env):
        """The zygote's request for this kernel, or None when only ``launch.py`` can start it."""
        cmd = self._kernel_cmd or []
        if self.sandbox_allow_network or cmd[1:3] != ["-m", "ipykernel_launcher"] or "-f" not in cmd[:-1]:
            return None
        connection = cmd[cmd.index("-f") + 1]
        folders = [os.path.realpath(self._workdir), os.path.realpath(self._sockdir)]
        reference = self._reference_file and os.path.realpath(self._reference_file)
        if not all(path.startswith("/tmp/") for path in folders + [reference or "/tmp/"]):
            return None  # the zygote sees the host's /tmp only
        # What the usual sandbox binds read-only from /tmp: the zygote's kernels hide /tmp.
        readonly = [path for path in python_folders() + grading_packages(env.get("PYTHONPATH", ""))
                    if path.startswith("/tmp/")]
        inside = f"/tmp/jupyter/{os.path.basename(connection)}"
        argv = cmd[3:]
        argv[argv.index("-f") + 1] = inside
        return {
            "argv": argv, "connection": Path(connection).read_text(), "connection_path": inside,
            "host_tmp": ZYGOTE_HOST_TMP,
            "env": sandbox_environment(env), "cwd": folders[0], "folders": folders, "readonly": readonly,
            "reference": reference, "reference_at": pristine.REFERENCE_PATH,
            "limits": limit_values(self.sandbox_memory_mb, self.sandbox_cpu_seconds,
                                   self.sandbox_file_size_mb, self.sandbox_max_processes),
        }

    def _fork_from_zygote(self, env):
        """The socket to a kernel forked by this process's zygote, or None to start it as usual."""
        if not (_zygote_default if self.sandbox_zygote is None else self.sandbox_zygote):
            return None
        if sandbox_problem() is not None:
            return None
        try:
            request = self._zygote_request(env)
            if request is None:
                return None
            zygote = zygote_for(self._kernel_cmd[0], request["env"], self.zygote_arguments(), self.preload_modules)
            return zygote.spawn(request)
        except (ZygoteError, OSError, ValueError) as exc:
            self.log.warning("kernel not forked from the zygote, started as usual: %s", exc)
            return None

    def _launcher_limits(self, memory_mb):
        """``launch.py``'s limit and hiding arguments for these settings."""
        args = ["--memory-mb", str(memory_mb), "--cpu-seconds", str(self.sandbox_cpu_seconds),
                "--max-processes", str(self.sandbox_max_processes), "--cpu-share", str(self.sandbox_cpu_share),
                "--file-size-mb", str(self.sandbox_file_size_mb)]
        for folder in self.sandbox_hide:
            args += ["--hide", folder]
        return args

    def zygote_arguments(self):
        """``launch.py`` arguments of the zygote's sandbox (the same for all its kernels; its kernels
        set their own memory limit)."""
        return self._launcher_limits(ZYGOTE_MEMORY_MB)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._sockdir:
            shutil.rmtree(self._sockdir, ignore_errors=True)
            self._sockdir = None
        if not restart and self._reference_file:
            try:
                os.unlink(self._reference_file)
            except OSError:
                pass
            self._reference_file = None

    # AsyncKernelManager binds the public name to the base class's function: rebind it to ours.
    cleanup_resources = _async_cleanup_resources
