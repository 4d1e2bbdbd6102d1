"""Run the function checks on a set of implementations in this process, the way the verifier would.

Each check runs through :class:`~autograder.verifier.channel.LocalChannel`: the same requests,
the same wire encoding both ways and the same decoding as with a grading kernel, with the
student's functions called here instead of in a kernel. Used by the corpus tests and by
``benchmarks/bench_checks.py``.
"""
import functools
from dataclasses import dataclass

from autograder import reference
from autograder.checks import CHECKS
from autograder.client import lab5_grader as wire
from autograder.verifier.channel import LocalChannel
from autograder.verifier.runner import check_rng, run_check

# The checks that call graded functions, and which functions each one takes.
FUNCTION_CHECKS = {name: check.functions for name, check in CHECKS.items() if check.functions}
SEEDS = (101, 202, 303)  # the grading runs the corpus is judged in (each draws its own inputs)


def part_of(function):
    """The checks whose points depend on ``function`` (its own cells, plus EM from scratch for the steps)."""
    return {name for name, functions in FUNCTION_CHECKS.items() if function in functions}


@dataclass(frozen=True)
class Outcome:
    passed: bool
    message: str = ""
    diagnosis: str = ""


def judge(name, *arguments, seed=SEEDS[0]):
    """Run check ``name`` on ``arguments`` (Python objects of this process) in the grading run ``seed``."""
    descriptors = [{"callable": callable(a), "type": wire.type_name(a)} for a in arguments]
    verdict = run_check(CHECKS[name], LocalChannel(arguments), descriptors, check_rng(seed, name))
    assert not verdict.internal_error, verdict.internal_error
    return Outcome(verdict.passed, verdict.message, verdict.diagnosis)


def run_check_here(name, implementations, seed):
    """Call one check with the given implementations (reference for the rest) in the grading run ``seed``."""
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
    return dict(outcomes) if whole_submission else {name: outcomes[name] for name in sorted(part_of(variant.function))}
