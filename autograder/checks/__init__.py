"""The lab's checks: what each autograded test cell asks the verifier, and how it is judged.

They run in the verifier (:mod:`autograder.verifier`), never in the student's kernel. A test
cell's hidden part says ``lab5_grader.check("e_step_values", e_step)``; :data:`CHECKS` says which
cell may ask for that check, which arguments it takes (graded functions are *called* in the
kernel with inputs chosen here; other arguments are *read*: a fitted model's attributes, data),
and which function judges them. A check function takes the kernel's arguments as proxies
(:mod:`autograder.verifier.remote`) and ``rng``, a generator seeded from the grading run's
secret, so its inputs cannot be predicted from the release or from an earlier feedback. It
returns quietly or stops with :func:`_feedback.fail` (a message for the student and a diagnosis
id for the instructor's report).
"""
from dataclasses import dataclass
from typing import Callable

from autograder.checks import em, kmeans, library, sampling, visible


@dataclass(frozen=True)
class Check:
    """One check the verifier can run, and the one test cell allowed to ask for it."""

    name: str  # lab5_grader.check(name, ...)
    cell: str  # grade_id of the test cell it belongs to
    parameters: tuple  # the names the notebook passes, in order
    judge: Callable  # judge(*proxies, rng): returns, or raises Failed
    functions: tuple = ()  # which parameters are graded functions (called); the others are read

    def __post_init__(self):
        assert set(self.functions) <= set(self.parameters), self.name


def _function_check(name, cell, function, judge):
    return Check(name, cell, (function,), judge, (function,))


CHECKS = {check.name: check for check in (
    _function_check("sample_gmm_visible", "test_sample_gmm_visible", "sample_gmm", visible.check_sample_gmm_visible),
    _function_check("sample_gmm_shape", "test_sample_gmm_shape_hidden", "sample_gmm", sampling.check_sample_gmm_shape),
    _function_check("sample_gmm_proportions", "test_sample_gmm_proportions_hidden", "sample_gmm",
                    sampling.check_sample_gmm_proportions),
    _function_check("sample_gmm_moments", "test_sample_gmm_moments_hidden", "sample_gmm", sampling.check_sample_gmm_moments),
    _function_check("get_cluster_assignments_visible", "test_get_cluster_assignments_visible", "get_cluster_assignments",
                    visible.check_get_cluster_assignments_visible),
    _function_check("get_cluster_assignments_shape", "test_get_cluster_assignments_shape_hidden", "get_cluster_assignments",
                    kmeans.check_get_cluster_assignments_shape),
    _function_check("get_cluster_assignments_easy", "test_get_cluster_assignments_easy_hidden", "get_cluster_assignments",
                    kmeans.check_get_cluster_assignments_easy),
    _function_check("get_cluster_assignments_hard", "test_get_cluster_assignments_hard_hidden", "get_cluster_assignments",
                    kmeans.check_get_cluster_assignments_hard),
    _function_check("get_cluster_centroids_visible", "test_get_cluster_centroids_visible", "get_cluster_centroids",
                    visible.check_get_cluster_centroids_visible),
    _function_check("get_cluster_centroids_shape", "test_get_cluster_centroids_shape_hidden", "get_cluster_centroids",
                    kmeans.check_get_cluster_centroids_shape),
    _function_check("get_cluster_centroids_easy", "test_get_cluster_centroids_easy_hidden", "get_cluster_centroids",
                    kmeans.check_get_cluster_centroids_easy),
    _function_check("get_cluster_centroids_hard", "test_get_cluster_centroids_hard_hidden", "get_cluster_centroids",
                    kmeans.check_get_cluster_centroids_hard),
    Check("kmeans_sklearn", "test_kmeans_sklearn", ("kmeans",), library.check_kmeans_sklearn),
    Check("elbow_scores", "test_elbow_scores", ("elbow_scores",), library.check_elbow_scores),
    Check("em_convergence", "test_em_convergence", ("gmm", "em_snapshots"), library.check_em_convergence),
    Check("new_samples", "test_gmm_new_samples", ("X_new", "z_new", "gmm"), library.check_new_samples),
    _function_check("e_step_visible", "test_e_step_visible", "e_step", visible.check_e_step_visible),
    _function_check("e_step_shape", "test_e_step_shape_hidden", "e_step", em.check_e_step_shape),
    _function_check("e_step_values", "test_e_step_values_hidden", "e_step", em.check_e_step_values),
    _function_check("e_step_hard", "test_e_step_hard_hidden", "e_step", em.check_e_step_hard),
    _function_check("m_step_visible", "test_m_step_visible", "m_step", visible.check_m_step_visible),
    _function_check("m_step_shape", "test_m_step_shape_hidden", "m_step", em.check_m_step_shape),
    _function_check("m_step_values", "test_m_step_values_hidden", "m_step", em.check_m_step_values),
    _function_check("m_step_hard", "test_m_step_hard_hidden", "m_step", em.check_m_step_hard),
    Check("em_from_scratch", "test_em_from_scratch_hidden", ("e_step", "m_step"), em.check_em_from_scratch, ("e_step", "m_step")),
    Check("quantised_images", "test_quantised_images", ("image", "quantised_kmeans", "quantised_em"), library.check_quantised_images),
    Check("quick_checks_summary", "test_quick_checks_summary", (), visible.check_quick_checks_summary),
)}
CHECK_FOR_CELL = {check.cell: check for check in CHECKS.values()}


def hidden_call(check):
    """The hidden-test line of ``check``'s cell in the master notebook (what the cell asks for)."""
    arguments = ", ".join([f'"{check.name}"', *check.parameters])
    return f"import lab5_grader; lab5_grader.check({arguments})"
