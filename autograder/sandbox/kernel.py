"""A jupyter_client kernel manager that starts every kernel through ``launch.py`` (bwrap).

nbgrader's Execute preprocessor creates one of these per graded notebook (see
:class:`autograder.sandbox.execute.GuardedExecute`). The kernel talks over unix sockets
(``ipc`` transport): it has no network, so TCP on loopback cannot reach it.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Float, Integer, List, Unicode

from autograder.sandbox import pristine
from autograder.sandbox.launch import kernel_course_root

LAUNCHER = Path(__file__).resolve().parent / "launch.py"
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

    _sockdir = None
    _reference_file = None

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
        cmd = [
            sys.executable, "-I", str(LAUNCHER),
            "--workdir", str(workdir), "--sockdir", self._sockdir,
            "--memory-mb", str(self.sandbox_memory_mb),
            "--cpu-seconds", str(self.sandbox_cpu_seconds),
            "--max-processes", str(self.sandbox_max_processes),
            "--cpu-share", str(self.sandbox_cpu_share),
        ]
        for folder in self.sandbox_hide:
            cmd += ["--hide", folder]
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
        return await super()._async_launch_kernel(kernel_cmd, **kw)

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
