"""Start one Jupyter kernel inside a bubblewrap sandbox (standard library only).

Called by :class:`autograder.sandbox.kernel.SandboxedKernelManager` in place of the kernel
command::

    python launch.py --workdir DIR --sockdir DIR [limits...] -- python -m ipykernel_launcher -f CONN

What the kernel gets: no network (own network namespace; the kernel talks to nbgrader over
unix sockets in ``--sockdir``), a read-only view of the system, an empty ``/tmp``, ``/run``,
home folders and course root (only the ``autograder`` package and the Python environment are
put back, read-only), its own writable working folder, limits on address space, CPU seconds,
file size, and (through a pids/cpu cgroup where one is writable) on processes and CPU share.

Why each step (measured on the course machine, see the notes in shared/notes/grading-facts.md):
- SIGINT is ignored here and in bwrap: nbgrader interrupts a cell by signalling the kernel's
  process group; bwrap must survive that, the kernel inside handles it itself.
- ``JPY_PARENT_PID`` is removed: inside a pid namespace the parent is pid 1 and ipykernel
  would exit at once.
- ``RLIMIT_NPROC`` does not bind root, so a fork bomb is stopped by a pids cgroup instead.

With ``--zygote`` it starts the kernel *factory* of :mod:`autograder.sandbox.zygote` instead: the
same sandbox without any kernel's folders, plus the host's ``/tmp`` at :data:`ZYGOTE_HOST_TMP`
(each forked kernel hides it again) and a host ``/proc`` (so that each kernel may mount its own).
"""
import argparse
import os
import resource
import shutil
import signal
import sys
import uuid
from pathlib import Path

CGROUP_V1 = Path("/sys/fs/cgroup")
CGROUP_GROUP = "lab5-grading-sandbox"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # .../autograder
COURSE_ROOT = PACKAGE_ROOT.parent
ZYGOTE_HOST_TMP = "/run/zygote/host-tmp"  # the host's /tmp, as the zygote sees it
ZYGOTE_UID = 1000  # the zygote's uid in its namespace: a nested namespace may map it, not root

# Environment of every sandboxed kernel (the zygote applies the same to the kernels it forks).
SANDBOX_ENV = {"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython",
               "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
               # One thread per kernel: parallel graders share the cores fairly and reproducibly.
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
SANDBOX_UNSET = ("JPY_PARENT_PID",)  # inside a pid namespace the parent is pid 1: ipykernel would exit


def sandbox_environment(env):
    """``env`` as a sandboxed kernel sees it."""
    env = {k: v for k, v in env.items() if k not in SANDBOX_UNSET}
    env.update(SANDBOX_ENV)
    return env


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", help="the kernel's writable working folder")
    p.add_argument("--sockdir", help="folder of the kernel's unix sockets")
    p.add_argument("--zygote", action="store_true", help="start the kernel factory (zygote.py), not a kernel")
    p.add_argument("--memory-mb", type=int, default=3072, help="address-space limit (MiB)")
    p.add_argument("--cpu-seconds", type=int, default=900, help="CPU time limit per process (s)")
    p.add_argument("--max-processes", type=int, default=64, help="processes/threads in the sandbox")
    p.add_argument("--cpu-share", type=float, default=1.0, help="CPUs the sandbox may use at once")
    p.add_argument("--file-size-mb", type=int, default=256, help="largest file it may write (MiB)")
    p.add_argument("--hide", action="append", default=[], help="another folder to hide (repeatable)")
    p.add_argument("--allow-network", action="store_true", help="keep the host network (not for grading)")
    p.add_argument("--pristine", nargs=2, metavar=("FILE", "AT"),
                   help="bind the tamper guard's reference FILE read-only at AT (see pristine.py)")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        p.error("no kernel command given after --")
    if not args.zygote and not (args.workdir and args.sockdir):
        p.error("--workdir and --sockdir are required to start a kernel")
    if args.zygote and args.allow_network:
        p.error("a zygote's kernels never have network")
    return args


def limit_values(memory_mb, cpu_seconds, file_size_mb, max_processes):
    """{resource.RLIMIT_* name: value} of one kernel (names, so that they travel as JSON)."""
    mib = 1024 * 1024
    return {
        "RLIMIT_AS": memory_mb * mib,
        "RLIMIT_CPU": cpu_seconds,
        "RLIMIT_FSIZE": file_size_mb * mib,
        "RLIMIT_CORE": 0,
        # Binds only a non-root user; the pids cgroup below is what stops a fork bomb as root.
        "RLIMIT_NPROC": max_processes,
    }


def apply_limits(limits):
    """Set each limit of :func:`limit_values` (soft = hard); one that cannot be set is skipped."""
    for name, value in limits.items():
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError, AttributeError):
            pass


def set_limits(args):
    """Resource limits inherited by the kernel and everything it starts."""
    apply_limits(limit_values(args.memory_mb, args.cpu_seconds, args.file_size_mb, args.max_processes))


def _remove_stale_cgroups(parent):
    """Empty cgroups of kernels that have ended (a directory can only be removed when empty)."""
    for child in parent.glob("k-*"):
        try:
            child.rmdir()
        except OSError:
            pass


def join_cgroups(args):
    """Put this process (and so the kernel) in fresh pids and cpu cgroups; return what worked."""
    joined = []
    name = f"k-{uuid.uuid4().hex[:12]}"
    settings = {
        "pids": {"pids.max": str(args.max_processes)},
        "cpu": {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": str(int(100000 * args.cpu_share))},
    }
    for controller, files in settings.items():
        parent = CGROUP_V1 / controller / CGROUP_GROUP
        try:
            parent.mkdir(exist_ok=True)
            _remove_stale_cgroups(parent)
            group = parent / name
            group.mkdir()
            for filename, value in files.items():
                (group / filename).write_text(value)
            (group / "cgroup.procs").write_text(str(os.getpid()))
            joined.append(controller)
        except OSError:
            continue
    return joined


def _connection_file(command):
    for flag in ("-f", "--f", "--ConnectionFileMixin.connection_file"):
        if flag in command[:-1]:
            return command[command.index(flag) + 1]
    for arg in command:
        if arg.startswith("--f="):
            return arg[4:]
    return None


def _under(path, folder):
    try:
        Path(path).relative_to(folder)
        return True
    except ValueError:
        return False


def _package_roots(pythonpath):
    """The PYTHONPATH entries holding an ``autograder`` package, in import order (real paths)."""
    for entry in filter(None, pythonpath.split(os.pathsep)):
        if os.path.isfile(os.path.join(entry, "autograder", "__init__.py")):
            yield os.path.realpath(entry)


def kernel_course_root(pythonpath):
    """The first PYTHONPATH entry holding an ``autograder`` package: where the kernel imports it from."""
    return next(_package_roots(pythonpath), None)


def grading_packages(pythonpath=None):
    """The ``autograder`` packages the kernel may import: ours and each PYTHONPATH entry's.

    The course's nbgrader_config.py puts *its* root on the kernel's PYTHONPATH; when that course
    lives in a hidden folder (a course copy under /tmp, a TA's course under /home) and is not the
    course this launcher belongs to, only its ``autograder`` package is put back, never the rest
    of that course (source/, the gradebook, submissions).
    """
    pythonpath = os.environ.get("PYTHONPATH", "") if pythonpath is None else pythonpath
    packages = [os.path.realpath(PACKAGE_ROOT)]
    for root in _package_roots(pythonpath):
        package = os.path.join(root, "autograder")
        if package not in packages:
            packages.append(package)
    return packages


def python_folders():
    """The kernel's Python: the environment and the installation it was made from (which may
    live in a hidden home folder, e.g. pyenv under /root)."""
    return sorted({os.path.realpath(d) for d in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def bwrap_command(args, bwrap="bwrap"):
    """The bwrap argument list that runs ``args.command`` in the sandbox."""
    cmd = [bwrap, "--die-with-parent", "--unshare-all", "--cap-drop", "ALL"]
    if args.allow_network:
        cmd.append("--share-net")
    if args.zygote:
        # Each forked kernel maps this uid to its root: mapping root itself would need CAP_SETFCAP.
        cmd += ["--uid", str(ZYGOTE_UID), "--gid", str(ZYGOTE_UID)]
    cmd += ["--ro-bind", "/", "/", "--dev", "/dev"]
    # A forked kernel can only mount a /proc of its own where a whole /proc is visible (bwrap's
    # --proc covers parts of it); the zygote runs no student code, each kernel mounts its own.
    cmd += ["--bind", "/proc", "/proc"] if args.zygote else ["--proc", "/proc"]
    cmd += ["--tmpfs", "/tmp", "--tmpfs", "/run", "--tmpfs", "/home", "--tmpfs", "/root"]
    hidden = [str(COURSE_ROOT)] + [os.path.realpath(h) for h in args.hide]
    for folder in hidden:
        if not _under(folder, "/tmp") and os.path.isdir(folder):
            cmd += ["--tmpfs", folder]
    # Put back, read-only, what the kernel needs from the hidden folders.
    for folder in python_folders() + grading_packages():
        if any(_under(folder, h) for h in hidden + ["/tmp", "/root", "/home", "/run"]):
            cmd += ["--ro-bind", folder, folder]
    if args.zygote:
        cmd += ["--bind", "/tmp", ZYGOTE_HOST_TMP, "--chdir", "/"]
    else:
        workdir, sockdir = os.path.realpath(args.workdir), os.path.realpath(args.sockdir)
        cmd += ["--bind", workdir, workdir, "--bind", sockdir, sockdir]
        conn = _connection_file(args.command)
        if conn:
            conn = os.path.realpath(conn)
            cmd += ["--ro-bind", conn, conn]
        if args.pristine:
            cmd += ["--ro-bind", os.path.realpath(args.pristine[0]), args.pristine[1]]
        cmd += ["--chdir", workdir]
    cmd += ["--hostname", "grading-sandbox"]
    for var, value in SANDBOX_ENV.items():
        cmd += ["--setenv", var, value]
    for var in SANDBOX_UNSET:
        cmd += ["--unsetenv", var]
    return cmd + ["--"] + list(args.command)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        sys.stderr.write("autograder sandbox: bwrap not found, refusing to start the kernel\n")
        return 70
    joined = join_cgroups(args)
    if "pids" not in joined:
        sys.stderr.write("autograder sandbox: no pids cgroup, the process limit relies on RLIMIT_NPROC\n")
    set_limits(args)
    cmd = bwrap_command(args, bwrap)
    os.execv(bwrap, cmd)


if __name__ == "__main__":
    sys.exit(main())
