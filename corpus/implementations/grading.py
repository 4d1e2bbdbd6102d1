"""Grading the implementations of this corpus with the function checks, in this process.

Each check runs through :func:`autograder.verifier.local.judge` (the verifier's encoding both
ways, the function called here), with the reference implementation standing in for every graded
function but the one under test. Used by the corpus tests and ``benchmarks/bench_checks.py``.
"""
import functools

from autograder import reference
from autograder.checks import CHECKS
from autograder.verifier.local import judge

# The checks that call graded functions, and which functions each one takes.
FUNCTION_CHECKS = {name: check.functions for name, check in CHECKS.items() if check.functions}
SEEDS = (101, 202, 303)  # the grading runs the corpus is judged in (each draws its own inputs)


def checks_of(function):
    """The checks whose points depend on ``function`` (its own cells, plus EM from scratch for the steps)."""
    return {name for name, functions in FUNCTION_CHECKS.items() if function in functions}


def run_check_here(name, implementations, seed):
    """One check with the given implementations (the reference for the rest) in the grading run ``seed``."""
    return judge(name, *[implementations.get(p, getattr(reference, p)) for p in CHECKS[name].parameters], seed=seed)


def grade(implementations, names=None, seed=SEEDS[0]):
    """{check name: Outcome} for the function checks (all, or ``names``)."""
    return {name: run_check_here(name, implementations, seed) for name in (names or FUNCTION_CHECKS)}


@functools.lru_cache(maxsize=None)
def _whole_submission(variant, seed):
    return grade({variant.function: variant.implementation}, seed=seed)


def grade_variant(variant, whole_submission=False, seed=SEEDS[0]):
    """Outcomes of a corpus variant standing in for its function: its own part, or every function check.

    The checks are deterministic for a given seed, so each variant is graded once per seed and process.
    """
    outcomes = _whole_submission(variant, seed)
    return dict(outcomes) if whole_submission else {name: outcomes[name] for name in sorted(checks_of(variant.function))}
