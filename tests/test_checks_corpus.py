"""The mutant corpus as proof: correct variants earn full marks, each mutant loses points on its
own part only, and the feedback names the mistake (and no other) where the pattern is recognisable.

Every verdict must hold in several grading runs (``SEEDS``): each run draws its own inputs, so a
check that caught a mutant only on lucky numbers would show here.
"""
import re

import numpy as np
import pytest

from autograder.checks import CHECKS
from corpus.implementations import FUNCTIONS, all_variants
from corpus.implementations.grading import FUNCTION_CHECKS, SEEDS, grade, grade_variant, checks_of

VARIANTS = all_variants()
CORRECT = [v for v in VARIANTS if v.correct]
MUTANTS = [v for v in VARIANTS if not v.correct]
DIAGNOSIS_ID = re.compile(r"^[a-z_]+\.[A-Za-z0-9_]+$")


def test_corpus_is_large_enough_and_covers_every_function():
    assert len(CORRECT) >= 15 and len(MUTANTS) >= 40
    for function in FUNCTIONS:
        assert sum(v.function == function for v in CORRECT) >= 3, function
        assert sum(v.function == function for v in MUTANTS) >= 8, function


def test_every_graded_function_has_its_own_cells():
    for function in FUNCTIONS:
        assert len(checks_of(function)) >= 3, function


@pytest.mark.parametrize("seed", SEEDS)
def test_reference_implementation_passes_every_function_check(seed):
    failures = {name: outcome.message for name, outcome in grade({}, seed=seed).items() if not outcome.passed}
    assert failures == {}


@pytest.mark.parametrize("variant", CORRECT, ids=lambda v: v.label)
def test_correct_variant_gets_full_marks(variant):
    """The whole submission (this variant plus the reference elsewhere) passes every function check, in every run."""
    failures = {name: o.message for name, o in grade_variant(variant, whole_submission=True).items() if not o.passed}
    for seed in SEEDS[1:]:
        failures.update({f"{name} (run {seed})": o.message for name, o in grade_variant(variant, seed=seed).items() if not o.passed})
    assert failures == {}, f"{variant.description} failed: {failures}"


@pytest.mark.parametrize("variant", MUTANTS, ids=lambda v: v.label)
def test_mutant_loses_points_on_its_own_part_only(variant):
    outcomes = grade_variant(variant, whole_submission=True)
    failed = {name for name, o in outcomes.items() if not o.passed}
    own = checks_of(variant.function)
    assert failed, f"mutant not caught: {variant.description}"
    assert failed <= own, f"{variant.description} also cost points on {sorted(failed - own)}"
    # EM from scratch composes both steps; a mutant must also fail a cell of its *own* function.
    assert failed - {"em_from_scratch"}, f"{variant.description} fails only the shared EM cell"
    for seed in SEEDS[1:]:  # the same cells fail, whatever the inputs of the run
        assert {name for name, o in grade_variant(variant, seed=seed).items() if not o.passed} == failed, seed


@pytest.mark.parametrize("variant", [v for v in MUTANTS if v.mistake], ids=lambda v: v.label)
def test_feedback_names_the_mistake_and_no_other(variant):
    for seed in SEEDS:
        failures = [o for o in grade_variant(variant, seed=seed).values() if not o.passed]
        messages = [o.message for o in failures]
        assert any(re.search(variant.mistake, m) for m in messages), (seed, messages)
        hints = [line for m in messages for line in m.splitlines() if "likely mistake:" in line]
        wrong = [h for h in hints if not re.search(variant.mistake, h)]
        assert not wrong, (seed, wrong)


def test_every_failure_carries_a_diagnosis_id():
    """The class report counts mistakes by these ids: every failure has one, of the form part.mistake."""
    seen = set()
    for variant in MUTANTS:
        for name, outcome in grade_variant(variant).items():
            if not outcome.passed:
                assert DIAGNOSIS_ID.match(outcome.diagnosis), (variant.label, name, outcome.diagnosis)
                seen.add(outcome.diagnosis)
    assert len(seen) >= 40, sorted(seen)


def test_feedback_is_short_and_free_of_internals():
    """Every failure message across the corpus: a few lines, no traceback, no grading-code paths."""
    for variant in MUTANTS:
        for name, outcome in grade_variant(variant).items():
            if outcome.passed:
                continue
            text = outcome.message
            assert 0 < len(text.splitlines()) <= 8, (variant.label, name, text)
            for leak in ("Traceback", 'File "', "autograder/", "site-packages", "check_", "RemoteObject", "RemoteFunction"):
                assert leak not in text, (variant.label, name, leak, text)


def test_function_checks_take_only_their_own_functions():
    """Isolation by construction: only EM from scratch takes more than one graded function."""
    shared = {name: functions for name, functions in FUNCTION_CHECKS.items() if len(functions) > 1}
    assert shared == {"em_from_scratch": ("e_step", "m_step")}
    assert all(check.functions == check.parameters for check in CHECKS.values() if check.functions)


def test_changing_the_inputs_in_place_does_not_change_the_verdict():
    """A function that overwrites its inputs so that any answer looks right is still graded on the real inputs."""

    def overwrites_points(X, centroid_locations):
        X[:] = centroid_locations[0]  # every point now sits on centroid 0 ...
        return np.zeros(len(X), dtype=int)  # ... so "all zeros" would look nearest

    outcomes = grade({"get_cluster_assignments": overwrites_points}, sorted(checks_of("get_cluster_assignments")))
    assert not outcomes["get_cluster_assignments_easy"].passed


def test_inputs_differ_from_one_grading_run_to_the_next():
    """A function that records what it is called with sees other numbers in every run (not predictable from feedback)."""
    seen = []

    def recording(X, centroid_locations):
        seen.append(np.array(X, copy=True))
        return np.argmin(((X[:, None] - centroid_locations[None]) ** 2).sum(axis=2), axis=1)

    for seed in SEEDS:
        grade({"get_cluster_assignments": recording}, ["get_cluster_assignments_easy"], seed=seed)
    assert len(seen) == len(SEEDS) and all(a.shape == seen[0].shape for a in seen)
    assert not any(np.allclose(a, b) for i, a in enumerate(seen) for b in seen[i + 1:])


def test_checks_write_nothing_to_stdout_or_stderr(capsys):
    """nbgrader scores a test cell with stderr output as 0: prints and warnings from the student's code are swallowed."""
    import warnings

    def noisy(X, centroid_locations):
        print("debug")
        warnings.warn("student warning")
        np.log(np.zeros(1))  # a floating-point warning too
        return np.argmax(((X[:, None] - centroid_locations[None]) ** 2).sum(axis=2), axis=1)  # wrong: argmax

    outcomes = grade({"get_cluster_assignments": noisy}, sorted(checks_of("get_cluster_assignments")))
    assert not outcomes["get_cluster_assignments_easy"].passed
    assert capsys.readouterr() == ("", "")
