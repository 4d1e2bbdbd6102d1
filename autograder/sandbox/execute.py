"""nbgrader's Execute preprocessor, hardened for grading untrusted notebooks.

Configured in the course's ``nbgrader_config.py`` (SANDBOX section), so every autograde run
from the course root uses it: ``./course grade``, plain ``nbgrader autograde lab5`` and the
formgrader's autograde button. On top of stock nbgrader it

- starts the kernel in the bwrap sandbox (:mod:`autograder.sandbox.kernel`), or says loudly
  that it cannot;
- survives a kernel that dies, a cell that ignores interrupts and a notebook that runs past
  ``notebook_timeout``: the cells that could not run get an error output (so their tests
  score zero, never full marks), the cells before keep their results;
- caps the output a cell may produce while it runs (an output flood cannot exhaust memory);
- restores the kernel's machinery before each autograded test cell and checks that the test
  really ran to its end (a failure swallowed by a custom exception handler, a patched
  ``run_cell`` or forged messages scores zero and the submission is flagged);
- records what happened in the notebook metadata (``metadata.autograder``), which
  ``./course grade`` turns into the status column.
"""
import secrets
import time
from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from autograder.sandbox.kernel import UNSANDBOXED_WARNING, SandboxedKernelManager, sandbox_problem

GUARD_SOURCE = (Path(__file__).resolve().parent / "guard.py").read_text()
STATUS_KEY = "autograder"

# Status values, most serious first when several things happened in one notebook.
GRADED, TIMED_OUT, CRASHED, FLAGGED = "graded", "timed out", "crashed", "flagged"


def _error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def is_autograder_test(cell):
    """A code cell whose points depend only on whether it raises (nbgrader 'autograder tests')."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


class GuardedExecute(Execute):
    """Execute preprocessor with sandbox, crash/timeout survival, output cap and test guard."""

    sandbox = Bool(True, help="Run kernels in the bwrap sandbox when it is available.").tag(config=True)
    require_sandbox = Bool(False, help="Fail instead of grading unsandboxed.").tag(config=True)
    notebook_timeout = Integer(900, help="Wall-clock limit for one whole notebook (s).").tag(config=True)
    max_cell_output_chars = Integer(200_000, help="Output a cell may produce before the rest is dropped.").tag(config=True)
    guard_tests = Bool(True, help="Restore kernel machinery and verify each autograded test ran.").tag(config=True)

    def __init__(self, *args, **kwargs):
        self._sandbox_problem = sandbox_problem() if kwargs.get("sandbox", True) else "disabled"
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
        if not self.sandbox:
            self._sandbox_problem = "disabled by configuration (GuardedExecute.sandbox = False)"
        if self._sandbox_problem:
            if self.require_sandbox:
                raise RuntimeError(UNSANDBOXED_WARNING.format(why=self._sandbox_problem))
            from jupyter_client.manager import AsyncKernelManager

            self.kernel_manager_class = AsyncKernelManager

    # ---- bookkeeping -------------------------------------------------------------------
    def _note(self, status, detail):
        self._events.append({"status": status, "detail": detail})

    def _final_status(self):
        statuses = {e["status"] for e in self._events}
        for status in (FLAGGED, CRASHED, TIMED_OUT):
            if status in statuses:
                return status
        return GRADED

    # ---- limits --------------------------------------------------------------------------
    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        remaining = max(1, int(self._deadline - time.monotonic())) if hasattr(self, "_deadline") else None
        if remaining is None:
            return timeout
        return remaining if timeout is None else min(timeout, remaining)

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

    # ---- guard ---------------------------------------------------------------------------
    def _silent(self, code, expressions=None):
        """Run grader code in the kernel, outside the notebook; return the execute_reply content."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, user_expressions=expressions or {})
        reply = self.wait_for_reply(msg_id)
        return (reply or {}).get("content", {})

    def _install_guard(self):
        self._guard_name = f"_grader_guard_{secrets.token_hex(8)}"
        code = GUARD_SOURCE + f"\ninstall({self._guard_name!r})\ndel install\n"
        reply = self._silent(code)
        self._guard_ok = reply.get("status") == "ok"
        if not self._guard_ok:
            self.log.warning("grading guard could not be installed: %s", reply.get("evalue"))

    def _restore_before_test(self):
        """Ask the guard to repair the kernel; return (guard answered, names it repaired)."""
        reply = self._silent("pass", {"r": f"__import__('sys').modules[{self._guard_name!r}].restore()"})
        answer = reply.get("user_expressions", {}).get("r", {})
        text = answer.get("data", {}).get("text/plain", "")
        if reply.get("status") != "ok" or answer.get("status") != "ok" or not text.startswith("["):
            return False, []
        try:
            import ast

            return True, [str(x) for x in ast.literal_eval(text)]
        except (ValueError, SyntaxError):
            return False, []

    def _run_guarded_test(self, cell, resources, index):
        """Run an autograded test cell and verify that it reached its last line."""
        grade_id = cell.metadata.nbgrader.get("grade_id")
        if self._guard_ok:
            answered, repaired = self._restore_before_test()
            if not answered:
                self._note(FLAGGED, f"before {grade_id}: the kernel did not answer the grader's "
                                    "restore step (tampering with the kernel)")
            elif repaired:
                self._repaired.update(repaired)
                self._repaired_before.append(grade_id)
        var, token = f"_grader_done_{secrets.token_hex(6)}", secrets.token_hex(16)
        original = cell.source
        cell.source = f"{original}\n{var} = {token!r}\n"
        # The check rides on the test's own execute request (one round trip): the kernel evaluates
        # user_expressions only after the cell finished without an error.
        send = self.kc.execute
        self.kc.execute = lambda code, **kw: send(code, user_expressions={"t": f"globals().pop({var!r}, None)"}, **kw)
        self._test_reply_expressions = None
        try:
            self.preprocess_cell(cell, resources, index)
        finally:
            cell.source = original
            if self.kc is not None and "execute" in vars(self.kc):
                del self.kc.execute
        # A traceback quotes the lines around the failing one: keep the grader's line out of it.
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = ["\n".join(line for line in entry.split("\n") if var not in line)
                                       for entry in output.get("traceback", [])]
        answer = (self._test_reply_expressions or {}).get("t", {})
        finished = answer.get("status") == "ok" and answer.get("data", {}).get("text/plain") == repr(token)
        has_error = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if not finished and not has_error:
            cell.outputs.append(_error_output(
                "GraderError", "this test did not run to its end, but no error was reported: "
                               "the submission interfered with the kernel (scored as failed)"))
            self._note(FLAGGED, f"cell {grade_id}: test did not complete but reported no error")

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        self._test_reply_expressions = kwargs["execute_reply"]["content"].get("user_expressions")

    # ---- main loop -----------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._events, self._output_chars, self._truncated = [], {}, set()
        self._guard_ok = False
        self._kernel_forked = False
        self._repaired, self._repaired_before = set(), []
        # The kernel is thrown away with everything in it: killing it saves the ~0.3 s of a polite
        # shutdown per notebook, and a stuck or dead kernel could not answer one anyway.
        self.shutdown_kernel = "immediate"
        if self._sandbox_problem:
            self.log.warning(UNSANDBOXED_WARNING.format(why=self._sandbox_problem))
        self._deadline = time.monotonic() + self.notebook_timeout
        stopped = None  # why the remaining cells are not run
        cells_done = False
        try:
            with self.setup_kernel():
                self._kernel_forked = bool(getattr(self.km, "forked_from_zygote", False))
                info_msg = self.wait_for_reply(self.kc.kernel_info())
                self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                if self.guard_tests:
                    self._install_guard()
                for index, cell in enumerate(self.nb.cells):
                    if cell.cell_type != "code":
                        continue
                    if stopped is None and time.monotonic() >= self._deadline:
                        stopped = f"the notebook reached its {self.notebook_timeout} s time limit"
                        self._note(TIMED_OUT, stopped)
                    if stopped is not None:
                        cell.outputs = [_error_output("NotRun", f"not run: {stopped}")]
                        continue
                    stopped = self._run_cell_safely(cell, resources, index)
                cells_done = True
        except Exception as exc:
            if not cells_done:  # the kernel never started, or the grader itself failed: nbgrader reports it
                raise
            # Every cell has its result; only shutting the kernel down went wrong.
            self._note(GRADED, f"note: the kernel did not shut down cleanly ({type(exc).__name__})")
        self.set_widgets_metadata()
        if self._repaired:
            self._note(FLAGGED, f"the submission changed the kernel's machinery "
                                f"({', '.join(sorted(self._repaired)[:8])}); repaired before "
                                f"{len(self._repaired_before)} test cell(s), from {self._repaired_before[0]} on")
        self.nb.metadata[STATUS_KEY] = {
            "status": self._final_status(),
            "events": self._events,
            "sandboxed": not self._sandbox_problem,
            # forked from the worker's zygote (see autograder/sandbox/zygote.py), or started anew
            "kernel_forked": self._kernel_forked,
            "sandbox_problem": self._sandbox_problem or "",
        }
        return self.nb, self.resources

    def _run_cell_safely(self, cell, resources, index):
        """Run one cell; return None to go on, or why the rest of the notebook cannot run."""
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"#{index}"
        try:
            if self.guard_tests and is_autograder_test(cell):
                self._run_guarded_test(cell, resources, index)
            else:
                self.preprocess_cell(cell, resources, index)
            if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError"
                   for o in cell.get("outputs", [])):
                self._note(TIMED_OUT, f"cell {label} timed out and was interrupted")
            return None
        except DeadKernelError:
            why = (f"the kernel died in cell {label} (the code ended Python, e.g. os._exit, "
                   "or hit the sandbox's memory/process limit)")
            cell.outputs.append(_error_output("KernelDied", why))
            self._note(CRASHED, why)
            return why
        except (CellTimeoutError, TimeoutError) as exc:
            why = f"cell {label} ran past its time limit and did not stop when interrupted"
            cell.outputs.append(_error_output("CellTimeoutError", why))
            self._note(TIMED_OUT, f"{why} ({type(exc).__name__})")
            return why
        except Exception as exc:  # e.g. forked copies of the kernel garbling its messages
            why = (f"grading stopped in cell {label}: the kernel's messages could no longer be trusted "
                   f"({type(exc).__name__}: {str(exc)[:100]})")
            cell.outputs.append(_error_output("KernelFailed", why))
            self._note(CRASHED, why)
            return why
