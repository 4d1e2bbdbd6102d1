"""Kernels forked by the zygote (autograder/sandbox/zygote.py), on real sandboxes and kernels.

The isolation tests every sandboxed kernel must pass run for forked kernels too
(tests/test_grading_sandbox.py, ``launch`` fixture). These are what only a zygote could get wrong:
kernels that come from the same process must share nothing, must not reach that process, and
must behave like any kernel to jupyter_client (interrupt, death, shutdown); when the zygote
cannot serve a kernel, the kernel is started the usual way.
"""
import asyncio
import concurrent.futures
import sys
import time
from pathlib import Path

import pytest

from corpus.kernels import KernelSession

from autograder.sandbox import provisioner as sandbox_provisioner
from autograder.sandbox.provisioner import sandbox_problem, zygote_environment

# One thread for the whole module: a zygote lives as long as the thread that started it.
_thread = concurrent.futures.ThreadPoolExecutor(max_workers=1)


@pytest.fixture(autouse=True, scope="module")
def needs_sandbox():
    assert sandbox_problem() is None, f"bwrap must work on the course machine: {sandbox_problem()}"


def _in_thread(coroutine_function):
    return _thread.submit(asyncio.run, coroutine_function()).result()


def test_kernels_forked_one_after_another_share_nothing():
    """What one student's kernel leaves behind (files in /tmp and /dev/shm, a daemon process, numpy's
    random state) is not there for the next kernel from the same zygote; the daemon dies with its kernel."""
    leave_behind = """
import os, time, numpy
open("/tmp/left-behind", "w").write("secret")
open("/dev/shm/left-behind", "w").write("secret")
if os.fork() == 0:          # a daemon that keeps writing to its folder
    os.setsid()
    while True:
        with open("heartbeat.txt", "a") as fh:
            fh.write(".")
        time.sleep(0.1)
print("draw", numpy.random.random())
print("pid", os.getpid())
"""
    look = """
import os, numpy
print("tmp", os.path.exists("/tmp/left-behind"), "shm", os.listdir("/dev/shm"))
print("processes", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
print("draw", numpy.random.random())
"""

    async def main():
        first = KernelSession("zygote")
        await first.start()
        assert first.forked
        out_first, error = await first.run(leave_behind)
        assert error is None, out_first
        heartbeat = Path(first.workdir) / "heartbeat.txt"
        for _ in range(50):  # the daemon is running
            if heartbeat.exists() and heartbeat.stat().st_size > 2:
                break
            await asyncio.sleep(0.1)
        await first.stop()
        second = KernelSession("zygote")
        await second.start()
        assert second.forked
        out_second, error = await second.run(look)
        await second.stop()
        size = heartbeat.stat().st_size
        await asyncio.sleep(1.0)
        return out_first, out_second, size, heartbeat.stat().st_size

    out_first, out_second, size_then, size_later = _in_thread(main)
    assert "tmp False shm []" in out_second
    # pid 1 is the kernel's reaper, pid 2 the kernel; nothing of the first kernel's namespace
    processes = eval(out_second.split("processes")[1].splitlines()[0])
    assert processes[:2] == [1, 2] and "pid 2" in out_first
    assert len(processes) <= 3, processes  # at most one helper of ipykernel's own
    # numpy draws from fresh OS entropy in each kernel: equal draws have probability about 2**-53
    assert out_first.split("draw")[1].split()[0] != out_second.split("draw")[1].split()[0]
    assert size_later == size_then, "the first kernel's daemon outlived its kernel"


def test_forked_kernel_holds_no_capability_and_cannot_uncover_the_hidden_folders():
    """The kernel is root in its own namespaces only: no capability, and the host's /tmp (which the
    zygote sees) stays hidden even after the kernel makes a user namespace of its own."""
    code = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
status = open("/proc/self/status").read()
print("caps", [line.split()[1] for line in status.splitlines() if line.startswith(("CapEff", "CapPrm", "CapBnd"))])
print("run", sorted(os.listdir("/run")))
print("umount", libc.umount2(b"/run", 2), ctypes.get_errno())
pid = os.fork()
if pid == 0:   # a user namespace of its own gives capabilities there, over locked mounts only
    ok = libc.unshare(0x10000000 | 0x00020000) == 0
    if ok:
        uid = os.getuid()
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {uid} 1")):
            try:
                with open(f"/proc/self/{name}", "w") as fh:
                    fh.write(text)
            except OSError:
                pass
        for target in (b"/run", b"/tmp"):
            libc.umount2(target, 2)
    with open("nested.txt", "w") as fh:
        fh.write(f"nested {ok} run {sorted(os.listdir('/run'))} zygote {os.path.exists('/run/zygote')}")
    os._exit(0)
os.waitpid(pid, 0)
print(open("nested.txt").read())
"""

    async def main():
        session = KernelSession("zygote")
        await session.start()
        assert session.forked
        try:
            return await session.run(code)
        finally:
            await session.stop()

    out, error = _in_thread(main)
    assert error is None, out
    assert "caps ['0000000000000000', '0000000000000000', '0000000000000000']" in out
    assert "run []" in out  # a fresh /run: not the zygote's own files
    assert "umount -1 1" in out  # EPERM
    assert "zygote False" in out and "run []" in out.split("nested")[1]


def test_interrupt_and_death_of_a_forked_kernel_reach_jupyter_client():
    async def main():
        session = KernelSession("zygote")
        await session.start()
        assert session.forked
        try:
            loop = asyncio.ensure_future(session.run("while True:\n    pass", timeout=60))
            await asyncio.sleep(1.5)
            await session.km.interrupt_kernel()
            _, interrupted = await asyncio.wait_for(loop, 30)
            after, _ = await session.run("print('still here')")
            session.kc.execute("import os; os._exit(3)")
            started = time.monotonic()
            while await session.km.is_alive() and time.monotonic() - started < 20:
                await asyncio.sleep(0.1)
            return interrupted, after, await session.km.is_alive(), await session.km.provisioner.poll()
        finally:
            await session.stop()

    interrupted, after, alive, code = _in_thread(main)
    assert interrupted == "KeyboardInterrupt"
    assert "still here" in after
    assert not alive and code == 3  # the reaper reports the kernel's own exit code


def test_kernel_starts_the_usual_way_when_the_zygote_cannot_fork_it(monkeypatch):
    """A zygote that died (or a memory limit too small for a forked kernel) costs nothing but speed."""
    dead = sandbox_provisioner.Zygote(sys.executable, zygote_environment(),
                                      sandbox_provisioner.ZygoteProvisioner().zygote_arguments(sys.executable), [])
    dead.process.kill()
    dead.process.wait()
    monkeypatch.setattr(sandbox_provisioner, "zygote_for", lambda *args, **kwargs: dead)

    async def start_and_run(**traits):
        session = KernelSession("zygote", **traits)
        await session.start()
        try:
            out, error = await session.run("import numpy; print('answer', numpy.arange(4).sum())")
            return session.forked, out, error
        finally:
            await session.stop()

    forked, out, error = _in_thread(start_and_run)
    assert not forked and error is None and "answer 6" in out
    monkeypatch.undo()
    forked, out, error = _in_thread(lambda: start_and_run(memory_mb=1024))
    assert not forked and error is None and "answer 6" in out
