"""How a check talks to the student: one short, plain-language failure and nothing else.

A failing hidden-test cell shows the student its output in nbgrader's feedback. Three things keep
that output to the message alone:

* ``CheckFailure._render_traceback_`` -- IPython asks an exception for this method before it
  formats a traceback; when present, its lines *are* the traceback. So the feedback shows
  ``AssertionError: <message>`` and no source line of the hidden cell or of this package.
* Failures are raised outside any ``except`` block, so no "During handling of ..." chain leaks
  the student's or our internals; ``__tracebackhide__`` hides our frames from pytest and from
  IPython's verbose mode should ``_render_traceback_`` ever be bypassed.
* Student code runs inside ``quiet()``: warnings are silenced, numpy floating-point errors are
  ignored and anything the student's function prints to stdout/stderr is swallowed, because
  nbgrader scores a test cell that writes to stderr as zero.
"""
import contextlib
import functools
import io
import traceback
import warnings

import numpy as np

from autograder.checks._pristine import AssertionErrorType

# The phrase every tamper failure contains; autograder.integrity looks for it in graded outputs.
TAMPER_MARKER = "grading environment was modified"


class CheckFailure(AssertionErrorType):
    """A failed check: an ``AssertionError`` whose whole traceback is its message."""

    def _render_traceback_(self):
        # IPython shows exactly these lines instead of a traceback (see module docstring).
        return [f"AssertionError: {self}"]


# nbgrader records ``ename`` from the class name: show students the familiar one.
CheckFailure.__name__ = "AssertionError"
CheckFailure.__qualname__ = "AssertionError"


def message(what, expected=None, got=None, hint=None):
    """Format one failure: what was tested, what was expected, what came back, the likely mistake."""
    lines = [what]
    if expected is not None:
        lines.append(f"  expected: {expected}")
    if got is not None:
        lines.append(f"  got:      {got}")
    if hint:
        lines.append(f"  likely mistake: {hint}")
    return "\n".join(lines)


class Failed(Exception):
    """Raised inside a check body to stop it; the check wrapper turns it into a ``CheckFailure``."""

    def __init__(self, what, expected=None, got=None, hint=None):
        super().__init__(message(what, expected, got, hint))


def fail(what, expected=None, got=None, hint=None):
    """Stop the running check with a student-facing message."""
    raise Failed(what, expected, got, hint)


def ensure(condition, what, expected=None, got=None, hint=None):
    """``fail(...)`` unless ``condition`` holds."""
    if not condition:
        raise Failed(what, expected, got, hint)


@contextlib.contextmanager
def quiet():
    """Silence warnings, floating-point error reports and prints while code under test runs."""
    sink = io.StringIO()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield


def _student_frame(tb):
    """The last traceback entry that is not in this package or a library: where the student's code broke."""
    entries = traceback.extract_tb(tb)
    for entry in reversed(entries):
        name = entry.filename.replace("\\", "/")
        if "/autograder/" in name or "/site-packages/" in name or "/lib/python3" in name:
            continue
        return entry
    return None


def describe_exception(exc):
    """One line naming a student's exception and, when known, the line of their code that raised it."""
    text = f"{type(exc).__name__}: {exc}".strip()
    if len(text) > 300:
        text = text[:300] + " ..."
    if "inhomogeneous" in text:
        text += "\n  likely mistake: the rows have different lengths (a mean or sum over the wrong axis?)"
    entry = _student_frame(exc.__traceback__)
    if entry is not None and entry.line:
        text += f"\n  at line {entry.lineno} of your code: {entry.line.strip()}"
    return text


SIZE_ERROR_PATTERNS = ("out of bounds", "same size", "broadcast", "could not be broadcast", "mismatch", "cannot reshape")


def call_student(function, name, args, call_text, sizes=None):
    """Call the student's ``function(*args)`` quietly; an exception becomes a ``Failed`` naming it.

    ``call_text`` says in words what the call was (e.g. ``"N=7, K=4, d=3"``), so the student can
    reproduce it. ``sizes`` = (K, d) of the call: an index or size error on a call whose K or d
    differs from the lab's (3 and 2) usually means a hard-coded size, and the message says so.
    """
    if not callable(function):
        fail(f"{name} is not a function.", expected="a function defined with def", got=type(function).__name__)
    with quiet():
        try:
            return function(*args)
        except NotImplementedError:
            problem = f"{name} raised NotImplementedError: it has not been written yet."
        except RecursionError:
            problem = f"{name} recursed without end."
        except Exception as exc:  # the student's bug, reported in words
            problem = f"{name} raised an error when called with {call_text}:\n  {describe_exception(exc)}"
            if sizes is not None and sizes != (3, 2) and any(p in str(exc) for p in SIZE_ERROR_PATTERNS):
                problem += f"\n  likely mistake: is K or d hard-coded (the lab has K=3, d=2; this call has K={sizes[0]}, d={sizes[1]})?"
    fail(problem)


def short(value, limit=160):
    """A compact, single-line repr of a value for a message."""
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=3, suppress=True, threshold=12, edgeitems=3, linewidth=1000):
            text = np.array2string(value, separator=", ")
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def kind(value):
    """Describe a returned value's type and shape in words, e.g. ``array of shape (250, 1), dtype float64``."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def tamper_message(changed):
    """The failure shown when the kernel no longer matches a pristine interpreter (or cannot be compared)."""
    from autograder.checks._guard import UNVERIFIED

    if all(item.startswith(UNVERIFIED) for item in changed):
        return (f"The grading environment {changed[0]}. This check gives no points for now; "
                "the submission is flagged so that a person can re-run it.")
    listed = ", ".join(changed[:6]) + (f" and {len(changed) - 6} more" if len(changed) > 6 else "")
    return (
        f"The {TAMPER_MARKER} before this check ran ({listed}). "
        "This check gives no points and the submission is flagged for review by a person. "
        "Do not reassign library functions, built-ins or anything in the grading package."
    )


def graded_check(function):
    """Wrap a check body: verify the environment, run it quietly, report one short failure.

    The body signals a failure with ``fail(...)``; any other exception means the student's output
    could not even be examined and is reported the same way. The environment is verified again
    afterwards because the student's code runs inside the check.
    """
    # Bound now, when this package is imported, so rebinding module attributes later cannot
    # swap the verifier or the failure class used by an existing check.
    from autograder.checks import _guard

    verify = _guard.problems
    failure_class = CheckFailure

    @functools.wraps(function)
    def check(*args, **kwargs):
        __tracebackhide__ = True
        failure = None
        changed = verify()
        if changed:
            failure = tamper_message(changed)
        else:
            try:
                with quiet():
                    function(*args, **kwargs)
            except Failed as exc:
                failure = str(exc)
            except Exception as exc:  # our examination of the output broke: still one plain message
                failure = f"{function.__name__}: the result could not be checked.\n  {describe_exception(exc)}"
            if failure is None or TAMPER_MARKER not in failure:
                changed = verify()
                if changed:
                    failure = tamper_message(changed)
        if failure is not None:
            # Raised here, outside the except blocks, so no chained traceback reaches the student.
            raise failure_class(failure)

    return check
