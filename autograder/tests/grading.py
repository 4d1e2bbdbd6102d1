"""Run the function checks on a set of implementations, in-process, the way a hidden cell would.

Used by the corpus tests and by ``benchmarks/bench_checks.py``.
"""
import functools
import inspect
from dataclasses import dataclass

import autograder.checks as checks
from autograder import reference
from autograder.checks import CheckFailure

# The checks that take graded functions, and which functions each one takes (from its signature).
FUNCTION_CHECKS = {
    name: tuple(p for p in inspect.signature(getattr(checks, name)).parameters if p in reference.__dict__)
    for name in checks.__all__
    if name.startswith("check_")
}
FUNCTION_CHECKS = {name: args for name, args in FUNCTION_CHECKS.items() if args}


def part_of(function):
    """The checks whose points depend on ``function`` (its own cells, plus EM from scratch for the steps)."""
    return {name for name, args in FUNCTION_CHECKS.items() if function in args}


@dataclass
class Outcome:
    passed: bool
    message: str = ""


def run_check(name, implementations):
    """Call one check with the given implementations (reference for the rest); catch its failure."""
    args = [implementations.get(arg, getattr(reference, arg)) for arg in FUNCTION_CHECKS[name]]
    try:
        getattr(checks, name)(*args)
    except CheckFailure as failure:
        return Outcome(False, str(failure))
    return Outcome(True)


def grade(implementations, names=None):
    """{check name: Outcome} for the function checks (all, or ``names``)."""
    return {name: run_check(name, implementations) for name in (names or FUNCTION_CHECKS)}


@functools.lru_cache(maxsize=None)
def _whole_submission(variant):
    return grade({variant.function: variant.implementation})


def grade_variant(variant, whole_submission=False):
    """Outcomes of a corpus variant standing in for its function: its own part, or every function check.

    The checks are deterministic, so each variant is graded once per process and reused.
    """
    outcomes = _whole_submission(variant)
    return dict(outcomes) if whole_submission else {name: outcomes[name] for name in sorted(part_of(variant.function))}
