"""A kernel factory inside the sandbox: import the heavy modules once, fork a kernel per notebook.

A fresh grading kernel spends about 2 s of CPU starting Python and ipykernel and importing
numpy, SciPy, scikit-learn and matplotlib, once per submission. A grading process starts this
*zygote* once (``launch.py --zygote``: the usual bwrap sandbox without any kernel's folders),
and the zygote imports those modules and then forks one kernel per request. Standard library
only until the preloading (which also fills those modules' lazy caches, :func:`warm_caches`); it
never runs student code itself.

Each forked kernel gets namespaces of its own, nested in the zygote's sandbox, before any
student code runs (steps in :func:`_isolate` and :func:`_reaper`):

- user namespace (root inside, the zygote's uid outside), mount, pid, network (loopback only),
  IPC and UTS namespaces: nothing a kernel leaves behind (processes, /tmp files, shared memory,
  abstract sockets) reaches the next kernel, and no kernel can see or signal the zygote;
- fresh ``/tmp``, ``/run`` (which hides the zygote's own files) and ``/dev/shm``; its working and
  socket folders bound back from the host's /tmp (which the zygote sees at
  ``launch.ZYGOTE_HOST_TMP`` and the kernel never does);
- a ``/proc`` of its own pid namespace, then every capability dropped (bounding set included)
  before the kernel process is forked; resource limits set in the kernel process itself.

Process tree of one kernel: zygote -> setup child (exits once the namespaces exist) -> reaper
(pid 1 of the new pid namespace) -> kernel (pid 2, its own process group). The reaper talks to
the grading process over one socket (see ``provisioner.ZygoteProvisioner``): it sends ``R`` once the kernel is
forked, forwards ``I``/``T`` as SIGINT/SIGTERM to the kernel's process group, sends ``X<code>``
when the kernel ends, and exits (killing the whole namespace) when the socket closes.

Protocol with the grading process (``provisioner.Zygote``), over a SOCK_SEQPACKET pair: one hello
message (JSON), then one JSON request per kernel with the reaper's socket attached (SCM_RIGHTS).
"""
import ctypes
import fcntl
import gc
import json
import os
import select
import signal
import socket
import struct
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
# statvfs flag -> mount flag: a read-only remount of a bind mount must keep the flags it has.
_KEPT_FLAGS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
               os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME}
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 4, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def _write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def preload(modules):
    """Import ``modules``; return the ones that failed (they are simply imported later, if at all)."""
    import importlib

    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed.append(f"{name}: {type(exc).__name__}")
    return failed


def warm_caches():
    """Fill the preloaded libraries' lazy caches once, so no forked kernel pays for them.

    Measured per kernel without this: the first figure costs about 0.18 s more than later ones
    (fonts loaded into FreeType, matplotlib's mathtext grammar built) and the first K-means fit
    about 0.03 s more (threadpoolctl's scan of the loaded BLAS/OpenMP libraries). Only modules
    already preloaded are used; matplotlib through a Figure and the Agg canvas, never pyplot (see
    ``PRELOAD_MODULES``), under ``rc_context`` so no setting changes; no thread is left running
    (the zygote checks). Returns what failed (the kernels then fill those caches themselves).
    """
    failed = []
    if "matplotlib.backends.backend_agg" in sys.modules:
        try:
            import io

            import matplotlib
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            with matplotlib.rc_context():
                figure = Figure(figsize=(4, 2))
                FigureCanvasAgg(figure)
                left, right = figure.subplots(1, 2)
                points = left.scatter([0, 1, 2], [0, 1, 0], c=[0, 1, 2], cmap="viridis")
                left.legend(*points.legend_elements(), title="z")
                left.set(xlabel="$x_1$", ylabel=r"$\phi_k \sum \mathcal{N}$", title="warm")
                right.contour([[0, 1], [1, 2]], levels=3)
                right.imshow([[[0, 0, 0], [255, 255, 255]]])
                figure.tight_layout()
                figure.savefig(io.BytesIO(), format="png", bbox_inches="tight")
        except Exception as exc:
            failed.append(f"matplotlib: {type(exc).__name__}")
    points = [[0.0], [1.0], [5.0], [6.0]]
    for module, estimator in (("sklearn.cluster", "KMeans"), ("sklearn.mixture", "GaussianMixture")):
        if module in sys.modules:
            try:
                getattr(sys.modules[module], estimator)(2, random_state=0).fit(points)
            except Exception as exc:
                failed.append(f"{estimator}: {type(exc).__name__}")
    return failed


def _fork(attempts=40):
    """os.fork, waiting a little while the pids cgroup is full (the last kernel's namespace may
    still be being torn down, e.g. after a fork bomb)."""
    import time

    for _ in range(attempts - 1):
        try:
            return os.fork()
        except BlockingIOError:
            time.sleep(0.05)
    return os.fork()


def _host_path(request, path):
    """Where the zygote sees the host's ``path`` (which must lie in the host's /tmp)."""
    real = os.path.normpath(path)
    if not real.startswith("/tmp/"):
        raise ValueError(f"{path} is not in /tmp")
    return request["host_tmp"] + real[len("/tmp"):]


def _loopback_up():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14s", b"lo", 0, bytes(14))
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, bytes(14)))


def _bind(fd, path, read_only=False):
    os.makedirs(path, exist_ok=True)
    _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
    os.close(fd)
    if read_only:
        flags = os.statvfs(path).f_flag
        kept = sum(mount_flag for st_flag, mount_flag in _KEPT_FLAGS.items() if flags & st_flag)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def _isolate(request):
    """New namespaces and a fresh filesystem view for one kernel (runs in the setup child)."""
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
           "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    folders = {path: os.open(_host_path(request, path), os.O_PATH | os.O_DIRECTORY) for path in request["folders"]}
    # parts of the kernel's Python that live in /tmp (a course copy's environment, say)
    python_parts = {path: os.open(_host_path(request, path), os.O_PATH | os.O_DIRECTORY) for path in request["readonly"]}
    # Fresh /tmp, /run (this hides the host's /tmp and the zygote's source) and /dev/shm; then the kernel's own folders.
    for target, mode in (("/tmp", "1777"), ("/run", "755"), ("/dev/shm", "1777")):
        _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode}")
    for path, fd in folders.items():
        _bind(fd, path)
    for path, fd in python_parts.items():
        _bind(fd, path, read_only=True)
    for path in request.get("hide", []):  # the notebook files of its folder read as empty
        _mount("/dev/null", path, None, MS_BIND)
    os.makedirs(os.path.dirname(request["connection_path"]), exist_ok=True)
    with open(request["connection_path"], "w") as handle:
        handle.write(request["connection"])
    _loopback_up()


def _drop_capabilities():
    """No capability left, none to regain: bounding and ambient sets emptied, then capset(0)."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    for cap in range(64):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.syscall(SYS_CAPSET[os.uname().machine], header, data), "capset")


def _kernel(request):
    """The kernel process: limits, environment, then ipykernel as ``python -m ipykernel_launcher``."""
    import importlib.util
    import resource

    os.setsid()  # its own process group: an interrupt reaches the kernel and what it started
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    for name, value in request["limits"].items():
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError, AttributeError):
            pass
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    # What a fresh interpreter would have put on sys.path from this kernel's PYTHONPATH.
    sys.path[:0] = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
    sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin] + request["argv"]
    if "numpy.random" in sys.modules:  # a fresh kernel seeds numpy's global generator from the OS
        sys.modules["numpy.random"].seed()
    code = 0
    try:
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()  # on the zygote's stderr: shown with AUTOGRADER_SANDBOX_DEBUG=1
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a stream the kernel closed or broke: nothing left to say
                pass
        os._exit(code)


def _reaper(request, link):
    """pid 1 of the kernel's namespace: start the kernel, relay signals, report its end."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _drop_capabilities()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    kernel = _fork()
    if kernel == 0:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in (wake_read, wake_write):
            os.close(fd)
        link.close()
        _kernel(request)
    link.sendall(b"R\n")
    while True:
        readable, _, _ = select.select([link, wake_read], [], [])
        if link in readable:
            data = link.recv(64)
            if not data:  # the grading process let go of the kernel: end the namespace
                os._exit(1)
            for byte in data:
                sig = {ord("I"): signal.SIGINT, ord("T"): signal.SIGTERM}.get(byte)
                if sig is not None:
                    try:
                        os.killpg(kernel, sig)
                    except OSError:
                        pass
        if wake_read in readable:
            os.read(wake_read, 512)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid == 0:
                break
            if pid == kernel:
                try:
                    link.sendall(f"X{os.waitstatus_to_exitcode(status)}\n".encode())
                finally:
                    os._exit(0)


def _fail(link, exc):
    """Tell the grading process why this kernel could not be made, and end this process."""
    try:
        link.sendall(f"E{type(exc).__name__}: {exc}\n".encode())
    finally:
        os._exit(70)


def _serve_one(request, fd):
    """The setup child of one request: never returns."""
    link = socket.socket(fileno=fd)
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _isolate(request)
        if _fork() == 0:
            try:
                _reaper(request, link)
            except BaseException as exc:
                _fail(link, exc)
            os._exit(70)
        os._exit(0)
    except BaseException as exc:
        _fail(link, exc)


def main(argv):
    control = socket.socket(fileno=int(argv[1]))
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # as ipykernel_launcher removes its own folder: the kernel's sys.path
    # ipykernel sets this before any notebook imports matplotlib; matplotlib reads it on import.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    failed = preload([m for m in (argv[2] if len(argv) > 2 else "").split(",") if m])
    failed += warm_caches()
    # The preloaded objects live as long as the kernels: a kernel's garbage collector need not
    # visit them, and would copy every page it touched (copy-on-write) if it did.
    gc.collect()
    gc.freeze()
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no process of the same uid may trace or read it
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:  # a thread would not survive fork: refuse rather than fork broken kernels
        control.send(json.dumps({"error": f"{threads} threads after preloading"}).encode())
        return 1
    with open("/proc/self/statm") as statm:  # what every forked kernel starts with (address space)
        address_space = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    control.send(json.dumps({"ready": True, "preload_failed": failed, "address_space": address_space}).encode())
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # setup children are reaped by the kernel
    while True:
        message, fds, _, _ = socket.recv_fds(control, 1 << 20, 1)
        if not message:
            return 0  # the grading process is gone
        if not fds:
            continue
        try:
            child = _fork()
        except OSError as exc:  # this kernel is started the usual way; the zygote serves the next
            with socket.socket(fileno=fds[0]) as link:
                link.sendall(f"Ecannot fork: {exc}\n".encode())
            continue
        if child == 0:
            control.close()
            _serve_one(json.loads(message), fds[0])
        os.close(fds[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
