"""How a check talks to the student: one short, plain-language failure with a stable diagnosis.

A check signals a failure with :func:`fail` (or :func:`ensure`): *what* was tested, what was
*expected*, what came back, and the *likely mistake* when one is recognisable. Every failure
carries a diagnosis id (``"assignments.argmax_not_argmin"``): the hint's when a mistake was
named, else the id the call site gives for the failure itself (``"e_step.values_differ"``). The
verifier records the id with the message, so a class report can count mistakes across students
whatever the numbers in each message.

The student's function is called through :func:`call_student`: an exception in their code comes
back from the kernel as :class:`~autograder.verifier.remote.StudentRaised` and becomes a message
naming it and the line of their code that raised.
"""
from dataclasses import dataclass

import numpy as np

from autograder.client.lab5_grader import Opaque
from autograder.verifier.remote import StudentRaised


@dataclass(frozen=True)
class Hint:
    """A recognised mistake: a stable id (for counting across a class) and the words for the student."""

    id: str
    text: str


def message(what, expected=None, got=None, hint=None):
    """Format one failure: what was tested, what was expected, what came back, the likely mistake."""
    lines = [what]
    if expected is not None:
        lines.append(f"  expected: {expected}")
    if got is not None:
        lines.append(f"  got:      {got}")
    if hint:
        lines.append(f"  likely mistake: {hint.text if isinstance(hint, Hint) else hint}")
    return "\n".join(lines)


class Failed(Exception):
    """Raised inside a check body to stop it with a student-facing message and a diagnosis id."""

    def __init__(self, what, expected=None, got=None, hint=None, diagnosis=None):
        super().__init__(message(what, expected, got, hint))
        self.diagnosis = hint.id if isinstance(hint, Hint) else diagnosis


def fail(what, expected=None, got=None, hint=None, diagnosis=None):
    """Stop the running check with a student-facing message (``diagnosis``: used when no hint is named)."""
    raise Failed(what, expected, got, hint, diagnosis)


def ensure(condition, what, expected=None, got=None, hint=None, diagnosis=None):
    """``fail(...)`` unless ``condition`` holds."""
    if not condition:
        raise Failed(what, expected, got, hint, diagnosis)


def describe_exception(raised):
    """One line naming a student's exception and, when known, the line of their code that raised it."""
    text = f"{raised.type_name}: {raised.message}".strip()
    if len(text) > 300:
        text = text[:300] + " ..."
    if "inhomogeneous" in text:
        text += "\n  likely mistake: the rows have different lengths (a mean or sum over the wrong axis?)"
    if raised.code:
        text += f"\n  at line {raised.line} of your code: {raised.code}"
    return text


SIZE_ERROR_PATTERNS = ("out of bounds", "same size", "broadcast", "could not be broadcast", "mismatch", "cannot reshape")
LAB_SIZES = (3, 2)  # K and d of the lab's own mixture


def call_student(function, name, args, call_text, sizes=None, seed_globals=None, part=None):
    """Call the student's ``function(*args)`` in their kernel; an exception becomes a ``Failed`` naming it.

    ``call_text`` says in words what the call was (e.g. ``"N=7, K=4, d=3"``), so the student can
    reproduce it. ``sizes`` = (K, d) of the call: an index or size error on a call whose K or d
    differs from the lab's (3 and 2) usually means a hard-coded size, and the message says so.
    ``part`` prefixes the diagnosis ids (default: the function's name).
    """
    part = part or name
    if not getattr(function, "callable", callable(function)):
        fail(f"{name} is not a function.", expected="a function defined with def",
             got=getattr(getattr(function, "argument", None), "type_name", type(function).__name__),
             diagnosis=f"{part}.not_a_function")
    try:
        return function(*args, seed_globals=seed_globals)
    except StudentRaised as raised:
        if raised.type_name == "NotImplementedError":
            fail(f"{name} raised NotImplementedError: it has not been written yet.", diagnosis=f"{part}.not_written")
        if raised.type_name == "RecursionError":
            fail(f"{name} recursed without end.", diagnosis=f"{part}.endless_recursion")
        problem = f"{name} raised an error when called with {call_text}:\n  {describe_exception(raised)}"
        if sizes is not None and tuple(sizes) != LAB_SIZES and any(p in raised.message for p in SIZE_ERROR_PATTERNS):
            fail(problem, hint=Hint(f"{part}.hard_coded_size",
                                    f"is K or d hard-coded (the lab has K=3, d=2; this call has K={sizes[0]}, d={sizes[1]})?"))
        fail(problem, diagnosis=f"{part}.raised_error")


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
    if isinstance(value, Opaque):
        return value.text if value.type_name == "numpy.ndarray" else value.type_name.rsplit(".", 1)[-1]
    if isinstance(value, np.generic):
        return f"numpy {value.dtype} scalar"
    return type(value).__name__
