"""Student-style ``e_step`` implementations."""
import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from corpus.implementations import Registry

registry = Registry("e_step")


@registry.correct("log densities and logsumexp")
def log_domain(X, weights, means, covariances):
    log_joint = np.column_stack([np.log(w) + multivariate_normal(m, c).logpdf(X).reshape(len(X))
                                 for w, m, c in zip(weights, means, covariances)])
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


@registry.correct("weighted pdfs normalised by their row sums")
def densities(X, weights, means, covariances):
    joint = np.zeros((len(X), len(weights)))
    for k in range(len(weights)):
        joint[:, k] = weights[k] * multivariate_normal.pdf(X, mean=means[k], cov=covariances[k]).reshape(len(X))
    return joint / joint.sum(axis=1, keepdims=True)


@registry.correct("the Gaussian density written out with inv, det and einsum")
def by_hand(X, weights, means, covariances):
    X = np.asarray(X, dtype=float)
    d = X.shape[1]
    joint = []
    for w, m, c in zip(weights, means, covariances):
        centred = X - m
        quadratic = np.einsum("ni,ij,nj->n", centred, np.linalg.inv(c), centred)
        joint.append(w * np.exp(-0.5 * quadratic) / np.sqrt((2 * np.pi) ** d * np.linalg.det(c)))
    joint = np.array(joint).T
    return joint / joint.sum(axis=1)[:, None]


@registry.correct("Python loop over points")
def per_point(X, weights, means, covariances):
    result = np.zeros((len(X), len(weights)))
    components = [multivariate_normal(means[k], covariances[k]) for k in range(len(weights))]
    for i in range(len(X)):
        for k in range(len(weights)):
            result[i, k] = weights[k] * components[k].pdf(X[i])
        result[i] /= result[i].sum()
    return result


@registry.mutant("not normalised: returns phi_k N(x | mu_k, Sigma_k)", r"not normalised")
def unnormalised(X, weights, means, covariances):
    return np.column_stack([w * multivariate_normal(m, c).pdf(X).reshape(len(X)) for w, m, c in zip(weights, means, covariances)])


@registry.mutant("normalised over the points (axis 0)", r"axis 0")
def wrong_axis(X, weights, means, covariances):
    joint = np.column_stack([w * multivariate_normal(m, c).pdf(X).reshape(len(X)) for w, m, c in zip(weights, means, covariances)])
    return joint / joint.sum(axis=0, keepdims=True)


@registry.mutant("mixing weights ignored", r"weights")
def ignores_weights(X, weights, means, covariances):
    joint = np.column_stack([multivariate_normal(m, c).pdf(X).reshape(len(X)) for m, c in zip(means, covariances)])
    return joint / joint.sum(axis=1, keepdims=True)


@registry.mutant("only the variances used (off-diagonal covariances ignored)", r"off-diagonal")
def diagonal_only(X, weights, means, covariances):
    joint = np.column_stack([w * multivariate_normal(m, np.diag(np.diag(c))).pdf(X).reshape(len(X))
                             for w, m, c in zip(weights, means, covariances)])
    return joint / joint.sum(axis=1, keepdims=True)


@registry.mutant("covariance treated as a standard deviation (squared before use)", r"standard deviation")
def covariance_as_std(X, weights, means, covariances):
    joint = np.column_stack([w * multivariate_normal(m, c @ c).pdf(X).reshape(len(X)) for w, m, c in zip(weights, means, covariances)])
    return joint / joint.sum(axis=1, keepdims=True)


@registry.mutant("returns log-responsibilities", r"log-responsibilities")
def returns_logs(X, weights, means, covariances):
    log_joint = np.column_stack([np.log(w) + multivariate_normal(m, c).logpdf(X).reshape(len(X))
                                 for w, m, c in zip(weights, means, covariances)])
    return log_joint - logsumexp(log_joint, axis=1, keepdims=True)


@registry.mutant("returns shape (K, N)", r"transposed")
def transposed(X, weights, means, covariances):
    return log_domain(X, weights, means, covariances).T


@registry.mutant("hard one-hot assignments", r"one-hot|hard")
def one_hot(X, weights, means, covariances):
    responsibilities = log_domain(X, weights, means, covariances)
    return np.eye(len(weights))[np.argmax(responsibilities, axis=1)]


@registry.mutant("K hard-coded to 3", r"hard-coded")
def hard_coded_k(X, weights, means, covariances):
    joint = np.column_stack([weights[k] * multivariate_normal(means[k], covariances[k]).pdf(X).reshape(len(X)) for k in range(3)])
    return joint / joint.sum(axis=1, keepdims=True)
