"""Tamper resistance: a kernel whose grading machinery was modified fails checks closed.

In-process tests cover tampering after the first check (identity snapshot) and during a check;
subprocess tests cover the real order in a grading kernel, where the student's cell runs *before*
``autograder.checks`` is first imported (compared with a fresh interpreter).
"""
import builtins
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.cluster import KMeans

import autograder.checks as checks
from autograder import reference
from autograder.checks import TAMPER_MARKER, CheckFailure, _guard
from autograder.course import COURSE_ROOT


@pytest.fixture(autouse=True)
def clean_guard(monkeypatch):
    """Each test starts from a verified environment and leaves no recorded tampering behind."""
    assert _guard.problems() == []
    monkeypatch.setattr(_guard._state, "recorded", [])


def failure_of(check, *args):
    with pytest.raises(CheckFailure) as caught:
        check(*args)
    return str(caught.value)


def always_true(*args, **kwargs):
    return True


@pytest.mark.parametrize(
    "owner, name, replacement",
    [
        (np, "allclose", always_true),
        (np, "testing", object()),
        (np.linalg, "solve", always_true),
        (builtins, "AssertionError", type("AssertionError", (Exception,), {})),
        (builtins, "print", always_true),
        (KMeans, "score", always_true),
        (reference, "e_step", always_true),
    ],
    ids=["np.allclose", "np.testing", "np.linalg.solve", "builtins.AssertionError", "builtins.print", "KMeans.score",
         "autograder.reference.e_step"],
)
def test_rebinding_what_checks_rely_on_fails_closed(monkeypatch, owner, name, replacement):
    monkeypatch.setattr(owner, name, replacement)
    message = failure_of(checks.check_e_step_values, reference.e_step)
    assert TAMPER_MARKER in message and name in message
    monkeypatch.undo()
    checks.check_e_step_values(reference.e_step)  # the genuine environment passes again


def test_reassigning_an_exported_check_is_ignored_and_recorded():
    checks.check_e_step_values = lambda e_step: None  # what a student cell might try
    assert checks.check_e_step_values is not None and checks.check_e_step_values.__name__ == "check_e_step_values"
    from autograder.checks import check_e_step_values  # what the hidden cell does

    message = failure_of(check_e_step_values, reference.e_step)
    assert TAMPER_MARKER in message and "reassigned" in message


def test_resetting_the_protected_module_is_detected():
    import types

    module = sys.modules["autograder.checks"]
    protected_class = type(module)
    genuine_m_step_check = checks.check_m_step_values
    genuine_e_step_check = checks.check_e_step_values
    try:
        module.__class__ = types.ModuleType  # drop the protection ...
        module.__dict__["check_m_step_values"] = lambda m_step: None  # ... and rewrite an entry
        message = failure_of(genuine_e_step_check, reference.e_step)
    finally:
        module.__dict__["check_m_step_values"] = genuine_m_step_check
        module.__class__ = protected_class
    assert TAMPER_MARKER in message and "module class reset" in message and "check_m_step_values (rewritten)" in message
    genuine_e_step_check(reference.e_step)  # restored: passes again


def test_tampering_by_the_student_function_while_it_is_graded_fails_closed(monkeypatch):
    genuine = np.allclose

    def sneaky_e_step(X, weights, means, covariances):
        np.allclose = always_true  # patched while the check runs
        return np.zeros((len(X), len(weights)))

    try:
        message = failure_of(checks.check_e_step_values, sneaky_e_step)
    finally:
        np.allclose = genuine
    assert TAMPER_MARKER in message


def test_an_intact_environment_reports_no_problems():
    assert _guard.problems() == []


def run_kernel_like(code):
    """Run ``code`` in a new interpreter with the course importable, as a grading kernel has it."""
    completed = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                               cwd=COURSE_ROOT, timeout=300, env={"PYTHONPATH": str(COURSE_ROOT), "PATH": "/usr/bin:/bin"})
    return completed


STUDENT_CELL_THEN_HIDDEN_CELL = """
import sys
import numpy as np
{tampering}
from autograder import reference
from autograder.checks import check_m_step_values
try:
    check_m_step_values(reference.m_step)
    sys.stdout.write("PASSED")
except BaseException as failure:  # builtins.AssertionError may itself be the replaced name
    sys.stdout.write("FAILED: " + str(failure))
"""


@pytest.mark.parametrize(
    "tampering",
    [
        "np.allclose = lambda *a, **k: True",
        "import builtins; builtins.AssertionError = type('AssertionError', (Exception,), {})",
        "import numpy.testing; numpy.testing.assert_allclose = lambda *a, **k: None",
        "import autograder.reference as r; r.m_step = lambda X, R: (0, 0, 0)",
        "import builtins; builtins.print = lambda *a, **k: None",
        "from sklearn.mixture import GaussianMixture; GaussianMixture.fit = lambda self, X, y=None: self",
    ],
)
def test_tampering_before_the_first_import_is_detected(tampering):
    """The student's cell runs before the hidden cell imports the checks: compared with a fresh interpreter."""
    completed = run_kernel_like(STUDENT_CELL_THEN_HIDDEN_CELL.format(tampering=tampering))
    assert completed.stderr == ""
    assert completed.stdout.startswith("FAILED:") and TAMPER_MARKER in completed.stdout, completed.stdout


def test_untouched_kernel_passes():
    completed = run_kernel_like(STUDENT_CELL_THEN_HIDDEN_CELL.format(tampering="pass"))
    assert (completed.stdout.strip(), completed.stderr) == ("PASSED", "")


def test_an_environment_that_cannot_be_verified_fails_closed(monkeypatch):
    """If the fresh reference interpreter cannot run, no check passes unverified (and the report says so)."""
    from autograder.integrity import UNVERIFIED_MARKER

    def broken(timeout=120):
        raise RuntimeError("reference interpreter failed")

    monkeypatch.setattr(_guard._state, "snapshot", None)
    monkeypatch.setattr(_guard, "fresh_fingerprints", broken)
    message = failure_of(checks.check_e_step_values, reference.e_step)
    assert UNVERIFIED_MARKER in message and "reference interpreter failed" in message
