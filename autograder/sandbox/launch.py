"""Start one Jupyter kernel inside a bubblewrap sandbox built from an allow-list (standard library only).

The kernel provisioner (:mod:`autograder.sandbox.provisioner`) runs, in place of the kernel command::

    python -I launch.py --workdir DIR --sockdir DIR --python-dir DIR... [limits] -- python -m ipykernel_launcher -f CONN

What the kernel sees -- nothing else exists inside:

* the system's programs and libraries, read-only: ``/usr`` (and the ``/bin``, ``/lib``... links to it),
  a few files of ``/etc`` the dynamic loader, fonts and time zones need (:data:`ETC_FILES`);
* its Python environment, read-only (each ``--python-dir``: the venv and the installation it was
  made from, with any symlinks on the way recreated, so a venv reached through a link works);
* the grading client ``lab5_grader.py`` alone, read-only, in :data:`CLIENT_DIR`;
* its own writable working folder (the released files; the notebook files in it read as empty:
  the kernel runs the notebook, it has no business reading it), its socket folder (the kernel's
  unix sockets and the verifier's), its connection file read-only;
* a private ``/tmp``, ``/dev`` and ``/proc``; no network (own network namespace).

Not the course (``source/``, ``autograder/``, the gradebook), not ``/home``, ``/root``, ``/srv``,
``/opt``, ``/var``, no other student's work, no nbgrader exchange: they are never mounted.

Limits: address space, CPU seconds, file size, no core files, and (through a pids/cpu cgroup where
one is writable) processes and CPU share. Why each step (measured on the course machine):
SIGINT is ignored here and in bwrap, because nbgrader interrupts a cell by signalling the kernel's
process group and bwrap must survive that; ``RLIMIT_NPROC`` does not bind root, so a fork bomb is
stopped by the pids cgroup instead.

With ``--zygote`` it starts the kernel *factory* of :mod:`autograder.sandbox.zygote` in the same
allow-list, without any kernel's folders, plus the host's ``/tmp`` at :data:`ZYGOTE_HOST_TMP`
(each forked kernel hides it again), the zygote's own source, and a host ``/proc`` (so that each
kernel may mount its own).
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
CLIENT_FILE = Path(__file__).resolve().parents[1] / "client" / "lab5_grader.py"
CLIENT_DIR = "/opt/lab5-grader"  # where the kernel finds lab5_grader.py (on its PYTHONPATH)
ZYGOTE_SOURCE = Path(__file__).resolve().parent / "zygote.py"
ZYGOTE_DIR = "/run/zygote"  # the zygote's own files; every forked kernel mounts a fresh /run over it
ZYGOTE_HOST_TMP = f"{ZYGOTE_DIR}/host-tmp"  # the host's /tmp, as the zygote sees it
ZYGOTE_UID = 1000  # the zygote's uid in its namespace: a nested namespace may map it, not root
# The system directories of a merged-/usr Debian: links to /usr, recreated as links (or bound).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What the dynamic loader, fontconfig, locales and time zones read; no secrets, no user database.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/fonts", "/etc/localtime",
             "/etc/mime.types", "/etc/nsswitch.conf", "/etc/hosts", "/etc/host.conf", "/etc/alternatives")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", help="the kernel's writable working folder")
    p.add_argument("--sockdir", help="folder of the kernel's unix sockets")
    p.add_argument("--python-dir", action="append", default=[], help="a folder of the kernel's Python (repeatable)")
    p.add_argument("--hide-file", action="append", default=[], help="a file of the working folder that reads as empty")
    p.add_argument("--zygote", action="store_true", help="start the kernel factory (zygote.py), not a kernel")
    p.add_argument("--memory-mb", type=int, required=True, help="address-space limit (MiB)")
    p.add_argument("--cpu-seconds", type=int, required=True, help="CPU time limit per process (s)")
    p.add_argument("--max-processes", type=int, required=True, help="processes/threads in the sandbox")
    p.add_argument("--cpu-share", type=float, required=True, help="CPUs the sandbox may use at once")
    p.add_argument("--file-size-mb", type=int, required=True, help="largest file it may write (MiB)")
    p.add_argument("--allow-network", action="store_true", help="keep the host network (never for grading)")
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


def connection_file(command):
    """The connection file named in a kernel command (``-f CONN`` and its spellings), or None."""
    for flag in ("-f", "--f", "--ConnectionFileMixin.connection_file"):
        if flag in command[:-1]:
            return command[command.index(flag) + 1]
    for arg in command:
        if arg.startswith("--f="):
            return arg[4:]
    return None


def expose(path, read_only=True):
    """bwrap arguments that make ``path`` appear inside as it is outside: every symlink on the way
    is recreated as a symlink, then the real folder or file is bound (read-only by default)."""
    path = os.path.abspath(path)
    parts = Path(path).parts[1:]
    current = "/"
    for index, part in enumerate(parts):
        candidate = os.path.join(current, part)
        if os.path.islink(candidate):
            rest = os.path.join(os.path.realpath(candidate), *parts[index + 1:])
            return ["--symlink", os.readlink(candidate), candidate] + expose(rest, read_only)
        current = candidate
    return ["--ro-bind" if read_only else "--bind", path, path]


def _empty_fd():
    """A readable file descriptor with nothing in it (bwrap copies it into a read-only empty file)."""
    read_end, write_end = os.pipe()
    os.close(write_end)
    os.set_inheritable(read_end, True)
    return read_end


def system_arguments():
    """The read-only system part of every sandbox: /usr and its links, a few /etc files."""
    args = []
    for folder in SYSTEM_DIRS:
        if os.path.islink(folder):
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]
    for entry in ETC_FILES:
        if os.path.exists(entry):
            args += ["--ro-bind", entry, entry]
    return args


def bwrap_command(args, bwrap="bwrap"):
    """The bwrap argument list that runs ``args.command`` in the sandbox."""
    cmd = [bwrap, "--die-with-parent", "--unshare-all", "--cap-drop", "ALL"]
    if args.allow_network:
        cmd.append("--share-net")
    if args.zygote:
        # Each forked kernel maps this uid to its root: mapping root itself would need CAP_SETFCAP.
        cmd += ["--uid", str(ZYGOTE_UID), "--gid", str(ZYGOTE_UID)]
    cmd += system_arguments() + ["--tmpfs", "/tmp"]
    for folder in args.python_dir:
        cmd += expose(folder)
    cmd += ["--dev", "/dev"]
    # A forked kernel can only mount a /proc of its own where a whole /proc is visible (bwrap's
    # --proc covers parts of it); the zygote runs no student code, each kernel mounts its own.
    cmd += ["--bind", "/proc", "/proc"] if args.zygote else ["--proc", "/proc"]
    cmd += ["--ro-bind", str(CLIENT_FILE), f"{CLIENT_DIR}/{CLIENT_FILE.name}"]
    if args.zygote:
        cmd += ["--bind", "/tmp", ZYGOTE_HOST_TMP, "--ro-bind", str(ZYGOTE_SOURCE), f"{ZYGOTE_DIR}/{ZYGOTE_SOURCE.name}",
                "--chdir", "/"]
    else:
        workdir, sockdir = os.path.realpath(args.workdir), os.path.realpath(args.sockdir)
        cmd += expose(workdir, read_only=False) + expose(sockdir, read_only=False)
        for path in args.hide_file:
            cmd += ["--ro-bind-data", str(_empty_fd()), os.path.realpath(path)]
        conn = connection_file(args.command)
        if conn:
            cmd += expose(os.path.realpath(conn))
        cmd += ["--chdir", workdir]
    # jupyter_client tells the kernel its parent's pid; inside a pid namespace the parent is pid 1
    # and ipykernel would take that for its parent having exited.
    # The root is bwrap's own tmpfs (holding the mount points): read-only, so that the only places
    # to write are the kernel's folders and its /tmp.
    cmd += ["--remount-ro", "/", "--hostname", "grading-sandbox", "--unsetenv", "JPY_PARENT_PID"]
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
    apply_limits(limit_values(args.memory_mb, args.cpu_seconds, args.file_size_mb, args.max_processes))
    os.execv(bwrap, bwrap_command(args, bwrap))


if __name__ == "__main__":
    sys.exit(main())
