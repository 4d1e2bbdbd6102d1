"""One sandboxed grading kernel driven from a test: start it, run code, read what it printed."""
import os
import tempfile

from autograder.course import COURSE_ROOT
from autograder.sandbox.kernel import SandboxedKernelManager


class KernelSession:
    """A kernel of :class:`SandboxedKernelManager` (``traits`` as its configuration) in a fresh folder.

    ``await start()``, then ``await run(code)`` -> (stdout text, first error name or None) as often
    as needed, then ``await stop()``.
    """

    def __init__(self, pythonpath=COURSE_ROOT, **traits):
        self.workdir = tempfile.mkdtemp(prefix="sandbox-test-")
        self.pythonpath = pythonpath
        self.km = SandboxedKernelManager(kernel_name="python3", **traits)
        self.kc = None

    async def start(self):
        await self.km.start_kernel(cwd=self.workdir, env=dict(os.environ, PYTHONPATH=str(self.pythonpath)))
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=60)

    async def run(self, code, timeout=60):
        out, error = [], []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                error.append(msg["content"]["ename"])

        await self.kc.execute_interactive(code, timeout=timeout, output_hook=hook)
        return "".join(out), (error[0] if error else None)

    async def stop(self):
        if self.kc is not None:
            self.kc.stop_channels()
        await self.km.shutdown_kernel(now=True)
