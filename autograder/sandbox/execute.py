"""nbgrader's Execute preprocessor for untrusted notebooks: sandboxed kernel, verifier, survival.

Configured in the course's ``nbgrader_config.py``, so every autograde run from the course root
uses it: ``./course grade``, plain ``nbgrader autograde lab5`` and the formgrader's autograde
button. On top of stock nbgrader it

- starts the kernel with a grading provisioner (:mod:`autograder.sandbox.provisioner`): in the
  bwrap sandbox, forked from a zygote where enabled, or -- only when the instructor explicitly
  allows it -- unsandboxed, which it says loudly; it refuses to grade otherwise;
- tells the kernel's verifier session which test cell runs (nbclient's ``on_cell_execute`` /
  ``on_cell_executed`` hooks), and hands the verifier's record to ``ApplyVerifierRecord``;
- survives a kernel that dies, a cell that ignores interrupts, a kernel that stops answering and
  a notebook that runs past ``notebook_timeout`` (nbclient's ``timeout_func``): the cells that
  could not run get an error output (so their tests score zero, never full marks), the cells
  before keep their results;
- caps the output a cell may produce while it runs (an output flood cannot exhaust memory);
- records what happened in the notebook metadata (``metadata.autograder``), which
  ``./course grade`` turns into the status column.

Nothing here guards the kernel against the student's code: the kernel decides no score.
"""
import time
from queue import Empty

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from autograder.sandbox.provisioner import PROVISIONERS, UNSANDBOXED_WARNING, GradingKernelManager, sandbox_problem
from autograder.status import Status, most_serious
from autograder.verifier.record import RESOURCE_KEY, error_output, is_autograder_test

STATUS_KEY = "autograder"  # nb.metadata[STATUS_KEY]: what grading this notebook found
# How jupyter_client.Session.deserialize words a message it refuses (its ValueError's text).
SIGNATURE_ERRORS = ("Invalid Signature", "Duplicate Signature", "Unsigned Message", "malformed message")


def grading_limits(config=None):
    """The limits a grading kernel runs under with this configuration (defaults: the traits'), by name.

    The one place they are read: ``./course grade --help`` and the README quote these numbers
    (tests/test_course_files.py checks that they agree).
    """
    from autograder.sandbox.provisioner import SandboxProvisioner

    kwargs = {"config": config} if config is not None else {}
    execute, provisioner = SandboxedExecute(**kwargs), SandboxProvisioner(**kwargs)
    return {"cell_timeout_s": execute.timeout, "recovery_timeout_s": execute.recovery_timeout,
            "notebook_timeout_s": execute.notebook_timeout,
            "memory_mb": provisioner.memory_mb, "cpu_seconds": provisioner.cpu_seconds,
            "max_processes": provisioner.max_processes, "cpu_share": provisioner.cpu_share,
            "file_size_mb": provisioner.file_size_mb, "max_cell_output_chars": execute.max_cell_output_chars}


class SandboxRefused(RuntimeError):
    """No sandbox here, and grading unsandboxed was not allowed."""


class SandboxedExecute(Execute):
    """Execute preprocessor with sandbox, verifier session, crash/timeout survival and output cap."""

    allow_unsandboxed = Bool(False, help=(
        "Grade even where bwrap cannot run (the kernel then runs with your permissions and can read the "
        "course's checks). Off: refuse, with a message saying how to install bubblewrap.")).tag(config=True)
    zygote = Bool(False, help="Fork kernels from a pre-imported zygote (./course grade turns this on in its workers).").tag(config=True)
    notebook_timeout = Integer(900, help="Wall-clock limit for one whole notebook (s).").tag(config=True)
    # The lab's own largest output is about 510,000 characters (three images in one figure, cell
    # quantised_images' plot); at 200,000 its figures were dropped from correct notebooks' feedback.
    max_cell_output_chars = Integer(2_000_000, help="Output a cell may produce before the rest is dropped (characters).").tag(config=True)
    recovery_timeout = Integer(10, help=(
        "After a cell timed out and was interrupted: how long the kernel has to run an empty cell before "
        "the rest of the notebook is given up as not run (s).")).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        super().__init__(*args, **kwargs)
        self.timeout_func = self._cell_time_limit
        self.on_notebook_start = self._kernel_started
        self.on_cell_execute = self._entering_cell

    # ---- which kernel ----------------------------------------------------------------------
    def _provisioner_name(self):
        self._sandbox_problem = sandbox_problem()
        if self._sandbox_problem is None:
            return PROVISIONERS["zygote" if self.zygote else "sandbox"]
        if not self.allow_unsandboxed:
            raise SandboxRefused(f"refusing to grade without a sandbox: {self._sandbox_problem}. Install bubblewrap "
                                 "(apt-get install bubblewrap), or allow unsandboxed grading explicitly "
                                 "(./course grade --unsandboxed, or c.SandboxedExecute.allow_unsandboxed = True)")
        self.log.warning(UNSANDBOXED_WARNING.format(why=self._sandbox_problem))
        return PROVISIONERS["unsandboxed"]

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.provisioner_name = self._provisioner_name()
        return km

    # ---- hooks ----------------------------------------------------------------------------
    def _kernel_started(self, notebook=None, **_):
        self._provisioner = self.km.provisioner

    def _session(self):
        return getattr(getattr(self, "_provisioner", None), "verifier_session", None)

    def _entering_cell(self, cell, cell_index, **_):
        session = self._session()
        if session is not None:
            session.enter_cell(cell.metadata.nbgrader["grade_id"] if is_autograder_test(cell) else None)

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        session = self._session()
        if session is not None:
            session.leave_cell()

    def _cell_time_limit(self, cell):
        """A cell's timeout: the configured one, cut to what is left of the notebook's own limit."""
        remaining = max(1, int(self._deadline - time.monotonic()))
        return remaining if not self.timeout or self.timeout < 0 else min(self.timeout, remaining)

    def _kernel_answers(self):
        """Whether the kernel still runs code: an empty, silent cell, within ``recovery_timeout``."""
        return run_sync(self._async_kernel_answers)(min(self.recovery_timeout, self._cell_time_limit(None)))

    async def _async_kernel_answers(self, within):
        msg_id = await ensure_async(self.kc.execute("", silent=True, store_history=False))
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                reply = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Empty:
                return False
            # the interrupted cell's own late reply, if it comes, is passed over like nbclient does
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    # ---- limits ----------------------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        if msg.get("msg_type") != "error":
            size = len(str(content.get("text", ""))) + sum(len(str(v)) for v in content.get("data", {}).values())
            used = self._output_chars.get(cell_index, 0) + size
            self._output_chars[cell_index] = used
            if used > self.max_cell_output_chars:
                # One note per stream: a dropped stderr message leaves a stderr note, so a test cell
                # that wrote to stderr still fails as nbgrader's rule says.
                stream = content.get("name", "stdout") if msg.get("msg_type") == "stream" else "stdout"
                if (cell_index, stream) not in self._truncated:
                    self._truncated.add((cell_index, stream))
                    outs.append(NotebookNode(output_type="stream", name=stream, text=(
                        f"\n[grader: output beyond {self.max_cell_output_chars} characters was dropped]\n")))
                return None
        return super().output(outs, msg, display_id, cell_index)

    # ---- the notebook ----------------------------------------------------------------------
    def _note(self, status, detail):
        self._events.append({"status": str(status), "detail": detail})

    def preprocess(self, nb, resources=None, km=None):
        self._events, self._output_chars, self._truncated = [], {}, set()
        self._stopped = None  # why the remaining cells are not run
        self._provisioner = None
        self._cells_done = False
        # The kernel is thrown away with everything in it: killing it saves the ~0.3 s of a polite
        # shutdown per notebook, and a stuck or dead kernel could not answer one anyway.
        self.shutdown_kernel = "immediate"
        self._deadline = time.monotonic() + self.notebook_timeout
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except Exception as exc:
            if not self._cells_done:  # the kernel never started, or the grader itself failed: nbgrader reports it
                raise
            # Every cell has its result; only shutting the kernel down went wrong.
            self._note(Status.GRADED, f"note: the kernel did not shut down cleanly ({type(exc).__name__})")
        provisioner = self._provisioner
        if provisioner is None:
            raise RuntimeError("the grading kernel did not start")
        record = getattr(provisioner, "record", None)
        if record is None:
            raise RuntimeError("the verifier's record of this notebook was lost (the verifier failed)")
        resources = resources if resources is not None else {}
        resources.setdefault(RESOURCE_KEY, {})["verifier_record"] = record
        self._note_record(record)
        nb.metadata[STATUS_KEY] = dict(nb.metadata.get(STATUS_KEY, {}), **{
            "status": str(most_serious(e["status"] for e in self._events)),
            "events": self._events,
            "sandboxed": self._sandbox_problem is None,
            # forked from the worker's zygote (see autograder/sandbox/zygote.py), or started anew
            "kernel_forked": bool(getattr(provisioner, "forked", False)),
            "sandbox_problem": self._sandbox_problem or "",
            "verifier": {"cells": {gid: {k: v for k, v in entry.items() if k != "internal_error"}
                                   for gid, entry in record.get("cells", {}).items()},
                         "events": [e for e in record.get("events", []) if e["kind"] != "internal_error"]},
        })
        return nb, resources

    def _note_record(self, record):
        """Turn what the verifier noticed into status events (a person looks; the points stand)."""
        hidden_cells_ran = any(is_autograder_test(c) and "### BEGIN HIDDEN TESTS" in c.source and c.get("outputs") is not None
                               and not any(o.get("ename") == "NotRun" for o in c.outputs) for c in self.nb.cells)
        if hidden_cells_ran and not record.get("cells"):
            self._note(Status.FLAGGED, "no test cell reached the verifier: the grading client could not be used in this "
                                       "kernel (the submission interfered with it, or the grader is misconfigured)")
        for event in record.get("events", []):
            if event["kind"] == "internal_error":
                self._note(Status.ERROR, f"the grader's check {event['check']} failed on this notebook; "
                                         f"nothing was recorded (see the grading log)")
            else:
                where = f" in {event['cell']}" if event.get("cell") else ""
                self._note(Status.FLAGGED, f"grading client{where}: {event['detail'][:200]}")

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped is None and time.monotonic() >= self._deadline:
            self._stopped = f"the notebook reached its {self.notebook_timeout} s time limit"
            self._note(Status.TIMED_OUT, self._stopped)
        if self._stopped is not None:
            cell.outputs = [error_output("NotRun", f"not run: {self._stopped}")]
        else:
            self._stopped = self._run_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1 or all(c.cell_type != "code" for c in self.nb.cells[index + 1:]):
            self._cells_done = True
        return cell, resources

    def _kernel_lost(self, cell, why):
        """The kernel can no longer be used: say why in ``cell`` and in the status; stop the notebook."""
        cell.outputs.append(error_output("KernelDied", why))
        self._note(Status.CRASHED, why)
        return why

    def _run_cell(self, cell, resources, index):
        """Run one cell; return None to go on, or why the rest of the notebook cannot run."""
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"#{index}"
        try:
            super().preprocess_cell(cell, resources, index)
            if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
                self._note(Status.TIMED_OUT, f"cell {label} timed out and was interrupted")
                if not self._kernel_answers():
                    # Without this, every later cell would wait its whole timeout for a kernel that
                    # ignores the interrupt or no longer replies (up to notebook_timeout per student).
                    why = (f"the kernel did not answer after cell {label} timed out: it did not stop when interrupted, or "
                           f"no longer runs code (an empty cell got no reply within {self.recovery_timeout} s)")
                    self._note(Status.TIMED_OUT, why)
                    return why
            return None
        except DeadKernelError:
            return self._kernel_lost(cell, f"the kernel died in cell {label} (the code ended Python, e.g. os._exit, "
                                           "or hit the sandbox's memory/process limit)")
        except ValueError as exc:
            # jupyter_client's Session refuses a message whose HMAC does not match (or a malformed
            # one): a kernel at its memory limit can send one, and so can code that tampers with
            # the kernel's session. Nothing more it sends can be trusted. Any other ValueError is
            # the grader's own failure.
            if not str(exc).startswith(SIGNATURE_ERRORS):
                raise
            return self._kernel_lost(cell, f"the kernel sent a message that failed its signature check in cell {label} "
                                           "(a kernel at its memory limit, or code that tampered with its messages): "
                                           "the rest of the notebook was not run")
        except (CellTimeoutError, TimeoutError) as exc:
            why = f"cell {label} ran past its time limit and did not stop when interrupted"
            cell.outputs.append(error_output("CellTimeoutError", why))
            self._note(Status.TIMED_OUT, f"{why} ({type(exc).__name__})")
            return why
