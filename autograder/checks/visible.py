"""The visible quick checks, run again by the verifier.

Each test cell with quick checks keeps its readable asserts, so students can run them at home;
at grading, that cell's hidden part asks the verifier to check the same things on the same
inputs (one function here per cell, with the cell's messages). The kernel's own asserts can only
cost points: the cell's points follow the verifier's record.
"""
import numpy as np

from autograder import lab
from autograder.checks._feedback import call_student, ensure
from autograder.client.lab5_grader import SeededGenerator


def _is_integer_array(value):
    return isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.integer)


def check_sample_gmm_visible(sample_gmm, rng):
    """The quick checks of ``sample_gmm``: shapes and integer labels on the lab's mixture, 1,000 points."""
    seed = int(rng.integers(2**62))
    result = call_student(sample_gmm, "sample_gmm", (1000, lab.CATEGORY_PROB, lab.MEANS, lab.COVARIANCE_MATRICES, SeededGenerator(seed)),
                          "the lab's mixture, N=1000", seed_globals=seed % 2**32, part="sampler")
    ensure(isinstance(result, (tuple, list)) and len(result) == 2, "sample_gmm should return X, z.", diagnosis="sampler.not_a_pair")
    X_check, z_check = result
    ensure(np.shape(X_check) == (1000, 2), f"X should have shape (1000, 2), got {np.shape(X_check)}", diagnosis="sampler.wrong_shape")
    ensure(np.shape(z_check) == (1000,), f"z should have shape (1000,), got {np.shape(z_check)}", diagnosis="sampler.wrong_shape")
    ensure(_is_integer_array(np.asarray(z_check)), f"z should hold integers, got dtype {np.asarray(z_check).dtype}",
           diagnosis="sampler.not_integers")
    ensure(set(np.unique(z_check).tolist()) <= {0, 1, 2}, f"z should only hold 0, 1 or 2, got {np.unique(z_check).tolist()}",
           diagnosis="sampler.labels_out_of_range")


def check_get_cluster_assignments_visible(get_cluster_assignments, rng=None):
    """The quick checks of ``get_cluster_assignments``: four points, two centroids."""
    points = np.array([[0.0, 0.0], [10.0, 10.0], [9.0, 11.0], [-1.0, 0.5]])
    centroids = np.array([[10.0, 10.0], [0.0, 0.0]])
    labels = call_student(get_cluster_assignments, "get_cluster_assignments", (points, centroids), "the quick check's 4 points",
                          part="assignments")
    ensure(np.shape(labels) == (4,), f"expected one label per point, shape (4,), got {np.shape(labels)}", diagnosis="assignments.wrong_shape")
    ensure(_is_integer_array(np.asarray(labels)), f"labels should be integers, got dtype {np.asarray(labels).dtype}",
           diagnosis="assignments.not_integers")
    ensure(np.asarray(labels).tolist() == [1, 0, 0, 1], f"expected [1, 0, 0, 1], got {np.asarray(labels).tolist()}",
           diagnosis="assignments.not_nearest")


def check_get_cluster_centroids_visible(get_cluster_centroids, rng=None):
    """The quick checks of ``get_cluster_centroids``: four points in two clusters."""
    points = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 14.0]])
    centroids = call_student(get_cluster_centroids, "get_cluster_centroids", (points, np.array([1, 1, 0, 0])),
                             "the quick check's 4 points", part="centroids")
    ensure(np.shape(centroids) == (2, 2), f"expected shape (2, 2), got {np.shape(centroids)}", diagnosis="centroids.wrong_shape")
    array = np.asarray(centroids)
    ensure(array.dtype.kind in "iuf" and np.allclose(array, [[11.0, 12.0], [1.0, 0.0]]),
           f"expected [[11, 12], [1, 0]], got {array.tolist()}", diagnosis="centroids.not_the_means")


def check_e_step_visible(e_step, rng=None):
    """The quick checks of ``e_step``: the lab's points under two unit Gaussians, and a point at the first mean."""
    X = lab.lab_points()[0]
    weights, means, covariances = np.array([0.5, 0.5]), np.array([[0.0, 0.0], [5.0, 5.0]]), np.array([np.eye(2), np.eye(2)])
    responsibilities = call_student(e_step, "e_step", (X, weights, means, covariances), "the lab's X and two unit Gaussians")
    ensure(np.shape(responsibilities) == (len(X), 2), f"expected shape ({len(X)}, 2), got {np.shape(responsibilities)}",
           diagnosis="e_step.wrong_shape")
    array = np.asarray(responsibilities)
    ensure(array.dtype.kind in "iuf" and np.allclose(np.sum(array, axis=1), 1), "every row of the responsibilities should sum to 1",
           diagnosis="e_step.rows_do_not_sum_to_1")
    at_mean = np.asarray(call_student(e_step, "e_step", (np.array([[0.0, 0.0]]), weights, means, covariances), "one point at the first mean"))
    ensure(at_mean.shape == (1, 2) and at_mean.dtype.kind in "iuf" and at_mean[0, 0] > 0.99,
           f"a point at the first mean should belong to it, got {np.round(at_mean, 3) if at_mean.dtype.kind in 'iuf' else at_mean}",
           diagnosis="e_step.values_differ")


def check_m_step_visible(m_step, rng=None):
    """The quick checks of ``m_step``: the lab's points with 0/1 responsibilities from their true components."""
    X, z_true = lab.lab_points()
    result = call_student(m_step, "m_step", (X, np.eye(3)[z_true]), "the lab's X with one-hot responsibilities")
    ensure(isinstance(result, (tuple, list)) and len(result) == 3, "m_step should return weights, means, covariances.",
           diagnosis="m_step.not_three_values")
    weights_check, means_check, covariances_check = result
    ensure(np.shape(weights_check) == (3,), f"weights: expected shape (3,), got {np.shape(weights_check)}", diagnosis="m_step.wrong_shape")
    ensure(np.shape(means_check) == (3, 2), f"means: expected shape (3, 2), got {np.shape(means_check)}", diagnosis="m_step.wrong_shape")
    ensure(np.shape(covariances_check) == (3, 2, 2), f"covariances: expected shape (3, 2, 2), got {np.shape(covariances_check)}",
           diagnosis="m_step.wrong_shape")
    weights, means = np.asarray(weights_check), np.asarray(means_check)
    ensure(weights.dtype.kind in "iuf" and np.isclose(np.sum(weights), 1), f"weights should sum to 1, got {np.sum(weights)}",
           diagnosis="m_step.weights_differ")
    ensure(means.dtype.kind in "iuf" and np.allclose(means[0], X[z_true == 0].mean(axis=0)),
           "with 0/1 responsibilities, means should be the plain means of each group", diagnosis="m_step.means_differ")


def check_quick_checks_summary(rng=None):
    """The notebook's last cell (0 points) only summarises the quick checks for Validate: nothing to grade."""
