"""The comparison baseline: hidden tests "written the usual way" (never used for grading).

A few bare asserts per function on the lab's own example, and for the sampler a comparison with
values drawn from one random stream (``np.random.seed(0)``) by the instructor's solution. The
benchmark runs the corpus through these and through ``autograder.checks`` and compares catch
rate, false failures and how often the feedback names the mistake.
"""
import numpy as np

from autograder.lab import CATEGORY_PROB, COVARIANCE_MATRICES, MEANS, N, lab_points


def _instructor_sampler(N, category_prob, means, covariance_matrices):
    """The instructor's solution as such tests usually assume it: global np.random, one point at a time."""
    z = np.random.choice(len(category_prob), size=N, p=category_prob)
    X = np.array([np.random.multivariate_normal(means[k], covariance_matrices[k]) for k in z])
    return X, z


def _expected_stream():
    state = np.random.get_state()
    np.random.seed(0)
    try:
        return _instructor_sampler(N, CATEGORY_PROB, MEANS, COVARIANCE_MATRICES)
    finally:
        np.random.set_state(state)


EXPECTED_X, EXPECTED_Z = _expected_stream()


def baseline_sample_gmm(sample_gmm):
    np.random.seed(0)
    X, z = sample_gmm(N, CATEGORY_PROB, MEANS, COVARIANCE_MATRICES)
    assert X.shape == (N, 2)
    assert z.shape == (N,)
    assert np.allclose(X, EXPECTED_X)
    assert np.array_equal(z, EXPECTED_Z)


def baseline_get_cluster_assignments(get_cluster_assignments):
    points = np.array([[0.0, 0.0], [10.0, 10.0], [9.0, 11.0], [-1.0, 0.5]])
    centroids = np.array([[10.0, 10.0], [0.0, 0.0]])
    labels = get_cluster_assignments(points, centroids)
    assert labels.shape == (4,)
    assert (labels == np.array([1, 0, 0, 1])).all()


def baseline_get_cluster_centroids(get_cluster_centroids):
    points = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 14.0]])
    centroids = get_cluster_centroids(points, np.array([1, 1, 0, 0]))
    assert centroids.shape == (2, 2)
    assert np.allclose(centroids, [[11.0, 12.0], [1.0, 0.0]])


def baseline_e_step(e_step):
    X, _ = lab_points()
    R = e_step(X, CATEGORY_PROB, MEANS, COVARIANCE_MATRICES)
    assert R.shape == (N, 3)
    assert np.allclose(R.sum(axis=1), 1)


def baseline_m_step(m_step):
    X, z = lab_points()
    weights, means, covariances = m_step(X, np.eye(3)[z])
    assert np.isclose(weights.sum(), 1)
    assert np.allclose(means[0], X[z == 0].mean(axis=0))
    assert covariances.shape == (3, 2, 2)


BASELINE_TESTS = {
    "sample_gmm": baseline_sample_gmm,
    "get_cluster_assignments": baseline_get_cluster_assignments,
    "get_cluster_centroids": baseline_get_cluster_centroids,
    "e_step": baseline_e_step,
    "m_step": baseline_m_step,
}


def run_baseline(variant):
    """(passed, feedback text) of the baseline test for a corpus variant; the feedback is what a student would read."""
    try:
        BASELINE_TESTS[variant.function](variant.implementation)
    except Exception as failure:  # a bare assert gives an empty message: that is the point of comparison
        return False, f"{type(failure).__name__}: {failure}"
    return True, ""
