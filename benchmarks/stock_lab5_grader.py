"""The stock baseline's ``lab5_grader``: the same checks, run inside the student's kernel.

The grading benchmark compares ``./course grade`` with nbgrader as a course usually runs it:
one ``nbgrader autograde`` per student, no sandbox, and hidden tests that run *in the kernel*.
For that baseline this module is copied into the stock course as ``lab5_grader.py``: a hidden
cell's ``lab5_grader.check(name, ...)`` runs the check right there, through the same encoding
(``autograder.verifier.channel.LocalChannel``), so both graders do the same checking work. Never
used for real grading: a kernel that holds the checks can read them (that is what sealed grading
is for).
"""
import secrets

from autograder.checks import CHECKS
from autograder.client import lab5_grader as wire
from autograder.verifier.channel import LocalChannel
from autograder.verifier.runner import check_rng, run_check

SEED = secrets.randbits(63)


def check(name, *arguments):
    descriptors = [{"callable": callable(a), "type": wire.type_name(a)} for a in arguments]
    verdict = run_check(CHECKS[name], LocalChannel(arguments), descriptors, check_rng(SEED, name))
    if not verdict.passed:
        raise wire.CheckFailed(verdict.message)
