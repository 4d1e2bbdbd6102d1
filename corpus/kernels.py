"""One grading kernel driven from a test: start it, run code, read what it printed.

The kernel is started by :class:`GradingKernelManager` with one of the grading provisioners, as
nbgrader's autograde starts it (a verifier session included).
"""
import os
import tempfile

from traitlets.config import Config

from autograder.sandbox.provisioner import PROVISIONERS, GradingKernelManager


class KernelSession:
    """A grading kernel (``launch``: "sandbox", "zygote" or "unsandboxed") in a fresh folder.

    ``limits`` configure the provisioner (e.g. ``max_processes=32``). ``await start()``, then
    ``await run(code)`` -> (stdout text, first error name or None) as often as needed, then
    ``await stop()``.
    """

    def __init__(self, launch="sandbox", env=None, **limits):
        self.workdir = tempfile.mkdtemp(prefix="sandbox-test-")
        config = Config()
        for name, value in limits.items():
            setattr(config.SandboxProvisioner, name, value)
        self.km = GradingKernelManager(kernel_name="python3", provisioner_name=PROVISIONERS[launch], config=config)
        self.env = dict(os.environ if env is None else env)
        self.kc = None

    @property
    def forked(self):
        return bool(getattr(self.km.provisioner, "forked", False))

    async def start(self):
        await self.km.start_kernel(cwd=self.workdir, env=self.env)
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
