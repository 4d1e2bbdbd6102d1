"""Running a check on Python objects of this process: the verifier's path, without a kernel.

:func:`judge` runs one check of :data:`autograder.checks.CHECKS` through a
:class:`~autograder.verifier.channel.LocalChannel`: the same requests, the same wire encoding both
ways and the same decoding as with a grading kernel, with the functions called here. For
trying a check on an implementation, for the tests and for the benchmarks; grading never uses
it (there the student's code runs in the sandbox).
"""
from dataclasses import dataclass

from autograder.checks import CHECKS
from autograder.client import lab5_grader as wire
from autograder.verifier.channel import LocalChannel
from autograder.verifier.runner import check_rng, run_check


@dataclass(frozen=True)
class Outcome:
    passed: bool
    message: str = ""
    diagnosis: str = ""


def judge(name, *arguments, seed=0):
    """Run check ``name`` on ``arguments`` (objects of this process) as the grading run ``seed`` would."""
    descriptors = [{"callable": callable(a), "type": wire.type_name(a)} for a in arguments]
    verdict = run_check(CHECKS[name], LocalChannel(arguments), descriptors, check_rng(seed, name))
    if verdict.internal_error:
        raise AssertionError(f"check {name} broke: {verdict.internal_error}")
    return Outcome(verdict.passed, verdict.message, verdict.diagnosis)
