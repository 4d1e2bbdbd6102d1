"""The summary of the lab's quick checks that the notebook's last cell shows (it is worth 0 points).

nbgrader's *Validate* button lists the test cells that fail; when none fails it says "Success!
Your notebook passes all the tests." For this lab that would not be true: the test cells you
can run show only a few quick checks, and most checks run when your notebook is graded. So the
last cell calls :func:`summarise_quick_checks`, which runs the quick-check cells of this
notebook again and says which passed, which failed and what is still to come:

* under *Validate* (nbgrader sets ``NBGRADER_EXECUTION=validate``) it writes the summary to
  stderr. That makes Validate list the cell as "failed", which is the only way to put text in
  its dialog; the cell is worth 0 points, so it costs nothing;
* when you run the cell yourself it prints the summary;
* when the notebook is graded it does nothing (the grader runs every check itself).

What it counts comes from the cells this kernel has run (IPython's input history, ``In``):
cells whose first line is ``# Quick checks (2 points)`` or ``# Quick checks (1 point of 3)``
are run again, each in a copy of the notebook's namespace with its output captured; cells whose
first line is ``# Hidden tests (3 points): ...`` are checks that run only at grading.
"""
import contextlib
import io
import os
import re
import sys
import textwrap

QUICK_CHECKS = re.compile(r"^# Quick checks \((\d+) points?(?: of (\d+))?\)")
HIDDEN_TESTS = re.compile(r"^# Hidden tests \((\d+) points?\)")
CHECK_NAME = re.compile(r"""print\(["'](.+?): quick checks passed["']\)""")
WIDTH = 80  # nbgrader validate on the command line cuts longer lines
MESSAGE_CHARACTERS = 90  # of one failed check's message


def find_test_cells(inputs):
    """``(quick_checks, hidden_tests)``: the distinct test cells among ``inputs``, in first-run order.

    ``quick_checks`` holds ``(source, points_here, points_of_cell)``, ``hidden_tests`` the points
    of each cell that only the grader runs. A cell run twice (same source) counts once.
    """
    quick, hidden, seen = [], [], set()
    for source in inputs:
        source = source.strip()
        if source in seen:
            continue
        first = source.splitlines()[0] if source else ""
        if match := QUICK_CHECKS.match(first):
            seen.add(source)
            here = int(match.group(1))
            quick.append((source, here, int(match.group(2) or here)))
        elif match := HIDDEN_TESTS.match(first):
            seen.add(source)
            hidden.append(int(match.group(1)))
    return quick, hidden


def check_name(source, number):
    """What a quick-check cell checks, from its last line (``print("e_step: quick checks passed")``)."""
    match = CHECK_NAME.search(source)
    return match.group(1) if match else f"quick check {number}"


def failure_message(error):
    """One short line saying why a quick check failed."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, NotImplementedError) and not text:
        return "not written yet"
    if not isinstance(error, AssertionError) or not text:
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= MESSAGE_CHARACTERS else text[:MESSAGE_CHARACTERS - 3] + "..."


def run_quick_check(shell, source):
    """Run one quick-check cell again, quietly, in a copy of the namespace: None or why it failed."""
    code = shell.transform_cell(source)
    namespace = dict(shell.user_ns)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            exec(compile(code, "<quick check>", "exec"), namespace)
        except Exception as error:  # a failed quick check: report it, go on with the others
            return failure_message(error)
    return None


def summary(results, quick, hidden, validating=False):
    """The summary paragraph: ``results`` is ``[(name, None or why it failed)]`` for ``quick``."""
    passed = [name for name, failure in results if failure is None]
    failed = [f"{name} ({failure})" for name, failure in results if failure is not None]
    text = f"Quick checks: {len(passed)} of {len(results)} passed"
    if passed:
        text += f" ({', '.join(passed)})"
    text += f"; failed: {'; '.join(failed)}." if failed else "."
    rest_of_cells = sum(1 for _, here, whole in quick if whole > here)
    more_checks = len(hidden) + rest_of_cells
    more_points = sum(hidden) + sum(whole - here for _, here, whole in quick)
    text += (f" These are not all the tests: {more_checks} more checks, worth {more_points} points, run when"
             f" your notebook is graded, on other inputs (the quick checks run again too), and a person marks"
             f" your written answers.")
    if validating:
        text += " This summary is worth 0 points: Validate lists it as failed only so that you can read it."
    return textwrap.fill(text, WIDTH)


def summarise_quick_checks(shell=None):
    """Print the summary (to stderr under Validate); do nothing while the notebook is graded."""
    mode = os.environ.get("NBGRADER_EXECUTION", "")
    if mode not in ("", "validate"):
        return None
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    quick, hidden = find_test_cells(shell.user_ns.get("In", []))
    results = [(check_name(source, number), run_quick_check(shell, source))
               for number, (source, _, _) in enumerate(quick, start=1)]
    print(summary(results, quick, hidden, mode == "validate"), file=sys.stderr if mode == "validate" else sys.stdout, flush=True)
    return None
