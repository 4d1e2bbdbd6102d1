"""Student-style ``m_step`` implementations."""
import numpy as np

from corpus.implementations import Registry

registry = Registry("m_step")


@registry.correct("vectorised with a loop over components")
def vectorised(X, responsibilities):
    Nk = responsibilities.sum(axis=0)
    means = responsibilities.T @ X / Nk[:, None]
    covariances = np.array([(responsibilities[:, k, None] * (X - means[k])).T @ (X - means[k]) / Nk[k] for k in range(len(Nk))])
    return Nk / len(X), means, covariances


@registry.correct("np.average and np.cov with aweights and bias=True")
def numpy_weighted(X, responsibilities):
    K = responsibilities.shape[1]
    weights = responsibilities.mean(axis=0)
    means = np.array([np.average(X, axis=0, weights=responsibilities[:, k]) for k in range(K)])
    covariances = np.array([np.cov(X, rowvar=False, aweights=responsibilities[:, k], bias=True).reshape(X.shape[1], X.shape[1])
                            for k in range(K)])
    return weights, means, covariances


@registry.correct("einsum for means and covariances")
def einsum(X, responsibilities):
    X = np.asarray(X, dtype=float)
    R = np.asarray(responsibilities, dtype=float)
    Nk = R.sum(axis=0)
    means = np.einsum("nk,nd->kd", R, X) / Nk[:, None]
    centred = X[:, None, :] - means[None, :, :]
    covariances = np.einsum("nk,nki,nkj->kij", R, centred, centred) / Nk[:, None, None]
    return Nk / len(X), means, covariances


@registry.correct("Python loops over points")
def loops(X, responsibilities):
    N, K = responsibilities.shape
    d = X.shape[1]
    Nk = np.zeros(K)
    means = np.zeros((K, d))
    for k in range(K):
        for i in range(N):
            Nk[k] += responsibilities[i, k]
            means[k] += responsibilities[i, k] * X[i]
        means[k] /= Nk[k]
    covariances = np.zeros((K, d, d))
    for k in range(K):
        for i in range(N):
            difference = (X[i] - means[k]).reshape(d, 1)
            covariances[k] += responsibilities[i, k] * difference @ difference.T
        covariances[k] /= Nk[k]
    return Nk / N, means, covariances


@registry.mutant("weights not divided by N", r"N_k: divide by N|effective counts")
def weights_are_counts(X, responsibilities):
    weights, means, covariances = vectorised(X, responsibilities)
    return weights * len(X), means, covariances


@registry.mutant("means divided by N instead of N_k", r"divided by N instead of N_k")
def means_over_n(X, responsibilities):
    weights, _, covariances = vectorised(X, responsibilities)
    return weights, responsibilities.T @ X / len(X), covariances


@registry.mutant("covariances divided by N_k - 1", r"N_k - 1")
def unbiased(X, responsibilities):
    weights, means, covariances = vectorised(X, responsibilities)
    Nk = responsibilities.sum(axis=0)
    return weights, means, covariances * (Nk / (Nk - 1))[:, None, None]


@registry.mutant("np.cov with aweights but without bias=True", r"bias=True")
def cov_without_bias(X, responsibilities):
    weights, means, _ = vectorised(X, responsibilities)
    covariances = np.array([np.cov(X, rowvar=False, aweights=responsibilities[:, k]).reshape(X.shape[1], X.shape[1])
                            for k in range(responsibilities.shape[1])])
    return weights, means, covariances


@registry.mutant("unweighted covariance of all points", r"responsibilities were not used")
def unweighted_covariance(X, responsibilities):
    weights, means, _ = vectorised(X, responsibilities)
    pooled = np.cov(X, rowvar=False, bias=True).reshape(X.shape[1], X.shape[1])
    return weights, means, np.array([pooled] * responsibilities.shape[1])


@registry.mutant("responsibilities applied on both sides of the outer product", r"twice")
def weighted_twice(X, responsibilities):
    weights, means, _ = vectorised(X, responsibilities)
    Nk = responsibilities.sum(axis=0)
    covariances = np.array([(responsibilities[:, k, None] * (X - means[k])).T @ (responsibilities[:, k, None] * (X - means[k])) / Nk[k]
                            for k in range(len(Nk))])
    return weights, means, covariances


@registry.mutant("outer products not centred on the new mean", r"centred")
def not_centred(X, responsibilities):
    weights, means, _ = vectorised(X, responsibilities)
    Nk = responsibilities.sum(axis=0)
    return weights, means, np.array([(responsibilities[:, k, None] * X).T @ X / Nk[k] for k in range(len(Nk))])


@registry.mutant("only the variances kept (diagonal covariances)", r"variances|off-diagonal")
def diagonal_only(X, responsibilities):
    weights, means, covariances = vectorised(X, responsibilities)
    return weights, means, np.array([np.diag(np.diag(c)) for c in covariances])


@registry.mutant("hard assignments (argmax) instead of the responsibilities", r"hard assignments")
def hard_assignments(X, responsibilities):
    return vectorised(X, np.eye(responsibilities.shape[1])[np.argmax(responsibilities, axis=1)])


@registry.mutant("covariances stacked as (d, d, K)", r"axis 0|shape")
def covariances_last_axis(X, responsibilities):
    weights, means, covariances = vectorised(X, responsibilities)
    return weights, means, np.transpose(covariances, (1, 2, 0))
