"""Grading kernels through jupyter_client's kernel provisioners: sandbox, zygote, verifier session.

A provisioner owns one kernel's launch, poll, signals, kill and cleanup (jupyter_client's
documented extension point). The three here are registered as entry points (``pyproject.toml``)
and chosen by :class:`GradingKernelManager` through the kernel spec's ``kernel_provisioner``
stanza:

* ``lab5-unsandboxed`` (:class:`GradingProvisioner`): a local kernel with the grading environment
  and a verifier session -- only when the instructor explicitly grades without a sandbox;
* ``lab5-sandbox`` (:class:`SandboxProvisioner`): the kernel started in bubblewrap by ``launch.py``;
* ``lab5-zygote`` (:class:`ZygoteProvisioner`): the kernel forked by this process's zygote
  (:mod:`autograder.sandbox.zygote`), falling back to ``launch.py`` whenever the zygote cannot
  serve it (``./course grade``'s workers use it).

All three open the kernel's verifier session before it starts (its socket lives in the kernel's
socket folder), give the kernel an environment built from an allow-list (nothing of the
grader's own environment leaks in), and talk to the kernel over unix sockets (``ipc``): it has no
network, so TCP on loopback cannot reach it.
"""
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Float, Integer, List, Unicode

from autograder.client.lab5_grader import SOCKET_ENV
from autograder.sandbox.launch import CLIENT_DIR, CLIENT_FILE, ZYGOTE_HOST_TMP, limit_values
from autograder.verifier.service import verifier

LAUNCHER = Path(__file__).resolve().parent / "launch.py"
ZYGOTE_TIMEOUT = 60  # seconds for the zygote's imports, or for one kernel's namespaces
ZYGOTE_MEMORY_MB = 8192  # the zygote's own address-space limit: it runs no student code
# A forked kernel starts with the zygote's address space (about 0.45 GB here) and ipykernel's
# threads add about 0.6 GB: with less room than this above the zygote's size under its memory
# limit, a kernel is started the usual way, with its imports still to come.
ZYGOTE_HEADROOM = 1024 * 1024 * 1024
# What a grading kernel of this course imports anyway (ipykernel, the notebook's first cell).
# Not matplotlib.pyplot or its inline backend: they hook into the kernel's IPython shell when
# first imported, so that must happen in the kernel, as it does normally.
PRELOAD_MODULES = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "numpy",
                   "scipy.special", "scipy.stats", "sklearn.cluster", "sklearn.mixture",
                   "sklearn.exceptions", "imageio.v3", "matplotlib.figure",
                   "matplotlib.backends.backend_agg"]
# The grader's environment variables a kernel may see: the rest (tokens, database URLs, the
# grader's own paths) never enter the sandbox.
PASSED_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ", "NBGRADER_EXECUTION", "JPY_SESSION_NAME")
KERNEL_ENV = {"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython",
              "JUPYTER_RUNTIME_DIR": "/tmp/jupyter", "PYTHONDONTWRITEBYTECODE": "1",
              # One thread per kernel: parallel graders share the cores fairly and reproducibly.
              "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "LOKY_MAX_CPU_COUNT": "1"}
UNSANDBOXED_WARNING = ("!!! GRADING WITHOUT A SANDBOX: {why}. Student code runs with YOUR permissions, network and "
                       "files, and can read the course's checks. Install bubblewrap (Linux) to grade safely. !!!")


def kernel_environment(base, socket_path, client_dir):
    """The environment of a grading kernel: an allow-list of ``base`` plus the grading variables."""
    env = {name: base[name] for name in PASSED_ENV if name in base}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(KERNEL_ENV, PYTHONPATH=str(client_dir), **{SOCKET_ENV: str(socket_path)})
    return env


def zygote_environment():
    """The zygote's environment: a kernel's, without any kernel's socket (each request brings its own)."""
    env = kernel_environment(os.environ, "", CLIENT_DIR)
    del env[SOCKET_ENV]
    return env


@lru_cache(maxsize=8)
def python_dirs(python):
    """The folders a kernel Python needs: its environment and the installation it was made from."""
    python = os.path.abspath(python)
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        prefixes = (sys.prefix, sys.base_prefix, sys.exec_prefix)
    else:
        script = "import sys, json; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix]))"
        prefixes = json.loads(subprocess.run([python, "-I", "-c", script], capture_output=True, text=True,
                                             check=True, timeout=60).stdout)
    return tuple(dict.fromkeys(os.path.abspath(p) for p in prefixes))


def hidden_files(cwd):
    """The files of a kernel's working folder it must not read: the notebook being graded (its test
    cells' hidden parts are there) and any other notebook."""
    return sorted(os.path.realpath(p) for p in Path(cwd).glob("*.ipynb"))


@lru_cache(maxsize=1)
def sandbox_problem():
    """None when bwrap can start a sandbox here, else a sentence saying why it cannot."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap (Debian package bubblewrap) is not installed"
    from autograder.sandbox.launch import expose, system_arguments

    probe = [bwrap, "--unshare-all", *system_arguments()]
    for folder in python_dirs(sys.executable):
        probe += expose(folder)
    probe += ["--dev", "/dev", "--proc", "/proc", "--", sys.executable, "-I", "-c", "pass"]
    try:
        completed = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not run: {exc}"
    if completed.returncode != 0:
        return f"bwrap cannot create namespaces here: {completed.stderr.strip()[-300:]}"
    return None


# ---- provisioners --------------------------------------------------------------------------------
class GradingProvisioner(LocalProvisioner):
    """A local kernel with the grading environment and a verifier session (no sandbox)."""

    reply_timeout = Float(120.0, help="Seconds the verifier waits for one reply of the kernel.").tag(config=True)

    sockdir = None
    verifier_session = None
    record = None  # the verifier's record of this kernel, once its session has been closed
    client_dir = str(CLIENT_FILE.parent)  # unsandboxed, the kernel imports the client where it is

    async def pre_launch(self, **kwargs):
        km = self.parent
        self.sockdir = tempfile.mkdtemp(prefix="k", dir="/tmp")  # short: unix socket paths are limited to 107 bytes
        km.transport, km.ip = "ipc", os.path.join(self.sockdir, "s")
        socket_path = os.path.join(self.sockdir, "grader")
        self.verifier_session = verifier().open_session(socket_path, self.reply_timeout)
        kwargs["env"] = kernel_environment(kwargs.get("env") or os.environ, socket_path, self.client_dir)
        return await super().pre_launch(**kwargs)

    async def launch_kernel(self, cmd, **kwargs):
        # The kernel's own start-up chatter would interleave with the grader's progress bar.
        if not os.environ.get("AUTOGRADER_SANDBOX_DEBUG"):
            kwargs.setdefault("stdout", subprocess.DEVNULL)
            kwargs.setdefault("stderr", subprocess.DEVNULL)
        return await super().launch_kernel(cmd, **kwargs)

    async def cleanup(self, restart=False):
        await super().cleanup(restart=restart)
        if restart:
            return
        session, self.verifier_session = self.verifier_session, None
        if session is not None:
            try:
                self.record = session.close()
            except Exception as exc:  # no record: the execute preprocessor reports a grader failure
                self.log.warning("the verifier session of this kernel did not close: %s", exc)
        if self.sockdir:
            shutil.rmtree(self.sockdir, ignore_errors=True)
            self.sockdir = None


class SandboxProvisioner(GradingProvisioner):
    """The kernel started by ``launch.py`` inside bubblewrap (see that module for what it sees)."""

    memory_mb = Integer(3072, help="Address-space limit of a grading kernel (MiB).").tag(config=True)
    cpu_seconds = Integer(900, help="CPU-seconds limit of each process in the sandbox.").tag(config=True)
    max_processes = Integer(64, help="Processes/threads a sandbox may hold (pids cgroup).").tag(config=True)
    cpu_share = Float(1.0, help="CPUs one sandbox may use at once (cpu cgroup quota).").tag(config=True)
    file_size_mb = Integer(256, help="Largest file a grading kernel may write (MiB).").tag(config=True)

    client_dir = CLIENT_DIR

    def limit_arguments(self, memory_mb=None):
        """``launch.py``'s limit arguments for these settings."""
        return ["--memory-mb", str(memory_mb or self.memory_mb), "--cpu-seconds", str(self.cpu_seconds),
                "--max-processes", str(self.max_processes), "--cpu-share", str(self.cpu_share),
                "--file-size-mb", str(self.file_size_mb)]

    def launcher_command(self, cmd, cwd):
        folders = [arg for folder in python_dirs(cmd[0]) for arg in ("--python-dir", folder)]
        hidden = [arg for path in hidden_files(cwd) for arg in ("--hide-file", path)]
        return [sys.executable, "-I", str(LAUNCHER), "--workdir", str(cwd), "--sockdir", self.sockdir,
                *folders, *hidden, *self.limit_arguments(), "--", *cmd]

    async def launch_kernel(self, cmd, **kwargs):
        return await super().launch_kernel(self.launcher_command(cmd, kwargs.get("cwd") or os.getcwd()), **kwargs)


class ZygoteProvisioner(SandboxProvisioner):
    """A kernel forked by this process's zygote; the usual ``launch.py`` start whenever it cannot be.

    The forked kernel is not our child: jupyter_client manages it through the socket to its
    reaper (see ``zygote.py``): ``I``/``T`` forward SIGINT/SIGTERM, ``X<code>`` reports its end,
    and closing the socket ends its whole pid namespace.
    """

    preload_modules = List(Unicode(), PRELOAD_MODULES, help="Modules the zygote imports once.").tag(config=True)

    _link = None
    _exit_code = None
    forked = False

    @property
    def has_process(self):
        return self._link is not None or super().has_process

    async def launch_kernel(self, cmd, **kwargs):
        cwd = kwargs.get("cwd") or os.getcwd()
        try:
            request = self._request(cmd, cwd, kwargs["env"])
            if request is not None:
                self._link = zygote_for(cmd[0], zygote_environment(), self.zygote_arguments(cmd[0]),
                                        self.preload_modules).spawn(request)
                self.forked, self.cwd = True, cwd
                return self.connection_info
        except (ZygoteError, OSError, ValueError) as exc:
            self.log.warning("kernel not forked from the zygote, started the usual way: %s", exc)
        return await super().launch_kernel(cmd, **kwargs)

    def zygote_arguments(self, python):
        """``launch.py`` arguments of the zygote's sandbox (its kernels set their own memory limit)."""
        folders = [arg for folder in python_dirs(python) for arg in ("--python-dir", folder)]
        return [*folders, *self.limit_arguments(ZYGOTE_MEMORY_MB)]

    def _request(self, cmd, cwd, env):
        """The zygote's request for this kernel, or None when only ``launch.py`` can start it."""
        if cmd[1:3] != ["-m", "ipykernel_launcher"] or "-f" not in cmd[:-1]:
            return None
        connection = cmd[cmd.index("-f") + 1]
        folders = [os.path.realpath(cwd), os.path.realpath(self.sockdir)]
        if not all(path.startswith("/tmp/") for path in folders):
            return None  # the zygote sees the host's /tmp only
        # Parts of the kernel's Python under /tmp: the zygote's kernels hide /tmp, so they are bound again.
        readonly = [os.path.realpath(path) for path in python_dirs(cmd[0]) if os.path.realpath(path).startswith("/tmp/")]
        inside = f"/tmp/jupyter/{os.path.basename(connection)}"
        argv = cmd[3:]
        argv[argv.index("-f") + 1] = inside
        return {"argv": argv, "connection": Path(connection).read_text(), "connection_path": inside,
                "host_tmp": ZYGOTE_HOST_TMP, "env": env, "cwd": folders[0], "folders": folders, "readonly": readonly,
                "hide": hidden_files(cwd),
                "limits": limit_values(self.memory_mb, self.cpu_seconds, self.file_size_mb, self.max_processes)}

    def _read_link(self, block):
        """Take in the reaper's reports; return the kernel's exit code once it has ended."""
        if self._link is None or self._exit_code is not None:
            return self._exit_code
        self._link.setblocking(block)
        try:
            data = self._link.recv(64)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            data = b""
        if not data:  # the reaper is gone, and the kernel with it
            self._exit_code = 1
        elif b"X" in data:
            try:
                self._exit_code = int(data.split(b"X")[-1].strip())
            except ValueError:
                self._exit_code = 1
        return self._exit_code

    async def poll(self):
        if not self.forked:
            return await super().poll()
        return self._read_link(block=False)

    async def wait(self):
        if not self.forked:
            return await super().wait()
        while await self.poll() is None:
            await asyncio.sleep(0.1)
        self._close_link()
        return self._exit_code

    async def send_signal(self, signum):
        if not self.forked:
            return await super().send_signal(signum)
        if signum == signal.SIGKILL:
            return self._close_link()
        message = {signal.SIGINT: b"I", signal.SIGTERM: b"T"}.get(signum)
        if message and self._link is not None:
            try:
                self._link.send(message)
            except OSError:
                pass

    async def kill(self, restart=False):
        if not self.forked:
            return await super().kill(restart=restart)
        self._close_link()

    async def terminate(self, restart=False):
        if not self.forked:
            return await super().terminate(restart=restart)
        await self.send_signal(signal.SIGTERM)

    def _close_link(self):
        """Let go of the kernel: its reaper ends the kernel's whole namespace."""
        if self._link is not None:
            self._link.close()
            self._link = None
            if self._exit_code is None:
                self._exit_code = -signal.SIGKILL

    async def cleanup(self, restart=False):
        self._close_link()
        await super().cleanup(restart=restart)


# ---- the kernel manager ------------------------------------------------------------------------
PROVISIONERS = {"unsandboxed": "lab5-unsandboxed", "sandbox": "lab5-sandbox", "zygote": "lab5-zygote"}


class GradingKernelSpecManager(KernelSpecManager):
    """The usual kernel specs, each with the grading provisioner's stanza added."""

    provisioner_name = Unicode(PROVISIONERS["sandbox"]).tag(config=False)

    def get_kernel_spec(self, kernel_name):
        spec = super().get_kernel_spec(kernel_name)
        spec.metadata = dict(spec.metadata, kernel_provisioner={"provisioner_name": self.provisioner_name, "config": {}})
        return spec


class GradingKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels are started by one of the grading provisioners above."""

    provisioner_name = Unicode(PROVISIONERS["sandbox"], help="Which grading provisioner starts the kernel.").tag(config=True)

    def _kernel_spec_manager_default(self):
        return GradingKernelSpecManager(data_dir=self.data_dir, provisioner_name=self.provisioner_name)


# ---- the zygote ------------------------------------------------------------------------------------
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
        from autograder.sandbox.launch import ZYGOTE_DIR, ZYGOTE_SOURCE

        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", str(LAUNCHER), "--zygote", *launcher_args, "--",
                 python, f"{ZYGOTE_DIR}/{ZYGOTE_SOURCE.name}", str(theirs.fileno()), ",".join(preload)],
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
        """Fork one kernel; return the socket to its reaper."""
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
        raise ZygoteError((head + rest).decode(errors="replace").lstrip("E").strip() or "the zygote did not fork the kernel")

    def close(self):
        self._control.close()
        if self.alive():
            self.process.kill()
        self.process.wait()


_zygotes = {}  # (kernel python, launcher arguments, modules) -> Zygote
_zygotes_lock = threading.Lock()


def zygote_for(python, env, launcher_args, preload):
    """This process's zygote for these settings, started (or restarted) if needed."""
    key = (python, tuple(launcher_args), tuple(preload))
    with _zygotes_lock:
        zygote = _zygotes.get(key)
        if zygote is None or not zygote.alive():
            if zygote is not None:
                zygote.close()
            zygote = _zygotes[key] = Zygote(python, env, launcher_args, preload)
        return zygote


def start_zygote(config=None):
    """Start this process's zygote now (its imports then overlap with other set-up work)."""
    provisioner = ZygoteProvisioner(config=config) if config is not None else ZygoteProvisioner()
    python = sys.executable
    zygote_for(python, zygote_environment(), provisioner.zygote_arguments(python), provisioner.preload_modules)
