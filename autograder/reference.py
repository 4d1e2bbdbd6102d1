"""Trusted reference implementations of the graded functions.

The hidden-test checks compare a student's function with these on fresh inputs. They follow the
course contract exactly (see ``autograder.course.GRADED_FUNCTIONS``).
"""
import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal


def sample_gmm(N, category_prob, means, covariance_matrices, rng=None):
    """Ancestral sampling: ``z ~ Categorical(category_prob)``, then ``x | z ~ N(means[z], cov[z])``.

    Returns ``X`` with shape (N, d) and ``z`` with shape (N,) (integer component indices).
    ``rng`` may be None, a seed, or a ``numpy.random.Generator``.
    """
    rng = np.random.default_rng(rng)
    category_prob = np.asarray(category_prob, dtype=float)
    means = np.asarray(means, dtype=float)
    covariance_matrices = np.asarray(covariance_matrices, dtype=float)
    z = rng.choice(len(category_prob), size=N, p=category_prob)
    X = np.empty((N, means.shape[1]))
    for k in range(len(category_prob)):
        in_k = z == k
        X[in_k] = rng.multivariate_normal(means[k], covariance_matrices[k], size=int(in_k.sum()))
    return X, z


def squared_distances(X, centroid_locations):
    """Squared Euclidean distance from every point (rows of X) to every centroid: shape (N, K)."""
    X = np.asarray(X, dtype=float)
    centroid_locations = np.asarray(centroid_locations, dtype=float)
    return ((X[:, None, :] - centroid_locations[None, :, :]) ** 2).sum(axis=2)


def get_cluster_assignments(X, centroid_locations):
    """Index of the nearest centroid for every point; ties go to the lowest index."""
    return np.argmin(squared_distances(X, centroid_locations), axis=1)


def get_cluster_centroids(X, cluster_assignments):
    """Mean of the points in each cluster; K = max label + 1, an empty cluster's row is NaN."""
    X = np.asarray(X, dtype=float)
    cluster_assignments = np.asarray(cluster_assignments).astype(int)
    K = cluster_assignments.max() + 1
    counts = np.bincount(cluster_assignments, minlength=K).astype(float)
    sums = np.zeros((K, X.shape[1]))
    np.add.at(sums, cluster_assignments, X)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


def log_component_densities(X, weights, means, covariances):
    """``log(phi_k) + log N(x_n | mu_k, Sigma_k)`` for every point and component: shape (N, K)."""
    X = np.asarray(X, dtype=float)
    return np.column_stack(
        [
            np.log(weight) + multivariate_normal(mean, covariance).logpdf(X).reshape(len(X))
            for weight, mean, covariance in zip(weights, means, covariances)
        ]
    )


def e_step(X, weights, means, covariances):
    """Responsibilities ``gamma[n, k] = p(z_n = k | x_n)``: shape (N, K), rows sum to 1."""
    log_joint = log_component_densities(X, weights, means, covariances)
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def m_step(X, responsibilities):
    """Maximum-likelihood ``(weights, means, covariances)`` given responsibilities (full covariances)."""
    X = np.asarray(X, dtype=float)
    responsibilities = np.asarray(responsibilities, dtype=float)
    effective_counts = responsibilities.sum(axis=0)  # N_k
    weights = effective_counts / len(X)
    means = responsibilities.T @ X / effective_counts[:, None]
    covariances = np.empty((responsibilities.shape[1], X.shape[1], X.shape[1]))
    for k in range(responsibilities.shape[1]):
        centred = X - means[k]
        covariances[k] = (responsibilities[:, k, None] * centred).T @ centred / effective_counts[k]
    return weights, means, covariances


def log_likelihood(X, weights, means, covariances):
    """Total log-likelihood of the data under the mixture."""
    return float(logsumexp(log_component_densities(X, weights, means, covariances), axis=1).sum())
