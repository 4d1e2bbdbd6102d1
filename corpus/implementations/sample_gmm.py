"""Student-style ``sample_gmm`` implementations: correct styles and realistic bugs."""
import random

import numpy as np

from corpus.implementations import Registry

registry = Registry("sample_gmm")


@registry.correct("rng.choice for z, one multivariate_normal call per component (the passed rng)")
def per_component(N, category_prob, means, covariance_matrices, rng=None):
    rng = np.random.default_rng(rng)
    z = rng.choice(len(category_prob), size=N, p=category_prob)
    X = np.zeros((N, means.shape[1]))
    for k in range(len(category_prob)):
        X[z == k] = rng.multivariate_normal(means[k], covariance_matrices[k], size=np.sum(z == k))
    return X, z


@registry.correct("global np.random, a Python loop drawing one point at a time (rng ignored)")
def global_loop(N, category_prob, means, covariance_matrices, rng=None):
    X = []
    z = []
    for i in range(N):
        k = np.random.choice(len(category_prob), p=category_prob)
        z.append(k)
        X.append(np.random.multivariate_normal(means[k], covariance_matrices[k]))
    return np.array(X), np.array(z)


@registry.correct("one-hot multinomial draws and a Cholesky factor")
def multinomial_cholesky(N, category_prob, means, covariance_matrices, rng=None):
    rng = np.random.default_rng(rng)
    z = rng.multinomial(1, category_prob, size=N).argmax(axis=1)
    factors = np.linalg.cholesky(covariance_matrices)
    noise = rng.standard_normal((N, means.shape[1]))
    X = means[z] + np.einsum("nij,nj->ni", factors[z], noise)
    return X, z


@registry.correct("Python's random.choices for z (int32), global np.random per point")
def python_random(N, category_prob, means, covariance_matrices, rng=None):
    z = np.array(random.choices(range(len(category_prob)), weights=list(category_prob), k=N), dtype=np.int32)
    X = np.array([np.random.multivariate_normal(means[k], covariance_matrices[k]) for k in z])
    return X, z


@registry.correct("inverse-CDF z (uint8) and an eigen-decomposition square root")
def inverse_cdf(N, category_prob, means, covariance_matrices, rng=None):
    rng = np.random.default_rng(rng)
    cumulative = np.cumsum(category_prob)
    z = np.minimum(np.searchsorted(cumulative, rng.random(N), side="right"), len(category_prob) - 1).astype(np.uint8)
    X = np.empty((N, means.shape[1]))
    for k in range(len(category_prob)):
        values, vectors = np.linalg.eigh(covariance_matrices[k])
        root = vectors * np.sqrt(values)
        members = z == k
        X[members] = means[k] + rng.standard_normal((members.sum(), means.shape[1])) @ root.T
    return X, z


@registry.mutant("ignores category_prob: every component equally likely", r"uniform|category_prob")
def ignores_weights(N, category_prob, means, covariance_matrices, rng=None):
    rng = np.random.default_rng(rng)
    z = rng.integers(0, len(category_prob), size=N)
    X = np.array([rng.multivariate_normal(means[k], covariance_matrices[k]) for k in z])
    return X, z


@registry.mutant("multiplies the noise by the covariance matrix (covariance used as a standard deviation)", r"standard deviation")
def covariance_as_std(N, category_prob, means, covariance_matrices, rng=None):
    rng = np.random.default_rng(rng)
    z = rng.choice(len(category_prob), size=N, p=category_prob)
    noise = rng.standard_normal((N, means.shape[1]))
    X = means[z] + np.einsum("nij,nj->ni", covariance_matrices[z], noise)
    return X, z


@registry.mutant("independent normal noise with the variances: off-diagonal covariances ignored", r"off-diagonal")
def ignores_off_diagonal(N, category_prob, means, covariance_matrices, rng=None):
    rng = np.random.default_rng(rng)
    z = rng.choice(len(category_prob), size=N, p=category_prob)
    variances = np.array([np.diag(c) for c in covariance_matrices])
    X = rng.normal(means[z], np.sqrt(variances[z]))
    return X, z


@registry.mutant("rng.normal with the variances as scale (variance used as a standard deviation, off-diagonals lost)",
                 r"standard deviation|off-diagonal")
def variance_as_scale(N, category_prob, means, covariance_matrices, rng=None):
    rng = np.random.default_rng(rng)
    z = rng.choice(len(category_prob), size=N, p=category_prob)
    variances = np.array([np.diag(c) for c in covariance_matrices])
    return rng.normal(means[z], variances[z]), z


@registry.mutant("points drawn per component and concatenated, z drawn separately: X and z out of step", r"out of step")
def concatenated(N, category_prob, means, covariance_matrices, rng=None):
    rng = np.random.default_rng(rng)
    counts = rng.multinomial(N, category_prob)
    X = np.vstack([rng.multivariate_normal(means[k], covariance_matrices[k], size=counts[k]) for k in range(len(counts))])
    z = rng.choice(len(category_prob), size=N, p=category_prob)
    return X, z


@registry.mutant("z counts from 1 (1-based component indices)", r"1-based|start at 0")
def one_based(N, category_prob, means, covariance_matrices, rng=None):
    X, z = per_component(N, category_prob, means, covariance_matrices, rng)
    return X, z + 1


@registry.mutant("z returned as floats", r"astype\(int\)|integer")
def float_labels(N, category_prob, means, covariance_matrices, rng=None):
    X, z = per_component(N, category_prob, means, covariance_matrices, rng)
    return X, z.astype(float)


@registry.mutant("z returned as a column of shape (N, 1)", r"column|flatten")
def column_labels(N, category_prob, means, covariance_matrices, rng=None):
    X, z = per_component(N, category_prob, means, covariance_matrices, rng)
    return X, z[:, None]


@registry.mutant("X returned transposed, shape (d, N)", r"transposed")
def transposed(N, category_prob, means, covariance_matrices, rng=None):
    X, z = per_component(N, category_prob, means, covariance_matrices, rng)
    return X.T, z


@registry.mutant("K hard-coded to 3", r"hard-coded")
def hard_coded_k(N, category_prob, means, covariance_matrices, rng=None):
    rng = np.random.default_rng(rng)
    z = rng.choice(3, size=N, p=category_prob)
    X = np.array([rng.multivariate_normal(means[k], covariance_matrices[k]) for k in z])
    return X, z


@registry.mutant("the means are never added (noise around 0)", r"centred at 0|means")
def forgets_means(N, category_prob, means, covariance_matrices, rng=None):
    rng = np.random.default_rng(rng)
    z = rng.choice(len(category_prob), size=N, p=category_prob)
    X = np.array([rng.multivariate_normal(np.zeros(means.shape[1]), covariance_matrices[k]) for k in z])
    return X, z


@registry.mutant("one component chosen once for all points", r"same value")
def one_component(N, category_prob, means, covariance_matrices, rng=None):
    rng = np.random.default_rng(rng)
    k = rng.choice(len(category_prob), p=category_prob)
    return rng.multivariate_normal(means[k], covariance_matrices[k], size=N), np.full(N, k)
