"""Checks for ``sample_gmm(N, category_prob, means, covariance_matrices, rng=None) -> (X, z)``.

Random output is never compared with exact values from one random stream: the checks call the
student's sampler on mixtures unlike the lab's (K = 2..5, d = 1..3, unequal weights) and test the
*distribution* of what comes back with exact tests (see ``autograder.checks._stats``). Both the
passed ``rng`` and the global ``np.random`` / ``random`` state are seeded, so a student may use
either, and the global states are restored afterwards.
"""
import random as python_random

import numpy as np

from autograder.checks import _stats
from autograder.checks._feedback import call_student, ensure, fail, graded_check, kind, short
from autograder.checks._shapes import as_float_array, as_labels, require_array

NAME = "sample_gmm"


def _rotation(angle):
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def _covariance(scales, angle=0.0):
    """A 2-D covariance with principal standard deviations ``scales`` rotated by ``angle``."""
    rotation = _rotation(angle)
    return rotation @ np.diag(np.square(scales)) @ rotation.T


# Mixtures unlike the lab's: name -> (N, category_prob, means, covariance_matrices).
MIXTURES = {
    "K=3, d=2, unequal weights": (
        3000,
        np.array([0.6, 0.3, 0.1]),
        np.array([[-4.0, 1.0], [3.0, 3.0], [0.5, -5.0]]),
        np.array([_covariance([2.0, 0.5], 0.6), _covariance([0.3, 1.5], -0.4), _covariance([1.0, 1.0])]),
    ),
    "K=2, d=1": (
        2000,
        np.array([0.25, 0.75]),
        np.array([[-2.0], [4.0]]),
        np.array([[[0.25]], [[4.0]]]),
    ),
    "K=5, d=3": (
        4000,
        np.array([0.1, 0.15, 0.2, 0.25, 0.3]),
        np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0], [0.0, 6.0, 0.0], [0.0, 0.0, 6.0], [6.0, 6.0, 6.0]]),
        np.array([
            [[1.0, 0.5, 0.2], [0.5, 2.0, -0.3], [0.2, -0.3, 0.5]],
            [[0.3, 0.0, 0.0], [0.0, 0.3, 0.0], [0.0, 0.0, 0.3]],
            [[2.0, -0.9, 0.0], [-0.9, 1.0, 0.0], [0.0, 0.0, 1.5]],
            [[0.5, 0.2, 0.2], [0.2, 0.5, 0.2], [0.2, 0.2, 0.5]],
            [[3.0, 0.0, 1.2], [0.0, 0.7, 0.0], [1.2, 0.0, 1.0]],
        ]),
    ),
    "K=4, d=2, equal weights": (
        2000,
        np.array([0.25, 0.25, 0.25, 0.25]),
        np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0], [8.0, 8.0]]),
        np.array([_covariance([1.0, 0.4], 0.9), _covariance([0.6, 0.6]), _covariance([1.2, 0.3], -1.1), _covariance([0.8, 0.5], 0.2)]),
    ),
}
DEFAULT_SEED = 20250


def _describe(N, category_prob, means):
    return f"N={N}, K={len(category_prob)}, d={means.shape[1]}, category_prob={short(category_prob)}"


def draw(sample_gmm, mixture, seed):
    """Call the student's sampler on one mixture with every random source seeded; return (X, z) raw."""
    N, category_prob, means, covariances = mixture
    numpy_state = np.random.get_state()
    python_state = python_random.getstate()
    np.random.seed(seed)
    python_random.seed(seed)
    try:
        args = (N, category_prob.copy(), means.copy(), covariances.copy(), np.random.default_rng(seed))
        result = call_student(sample_gmm, NAME, args, _describe(N, category_prob, means), sizes=(len(category_prob), means.shape[1]))
    finally:
        np.random.set_state(numpy_state)
        python_random.setstate(python_state)
    return unpack(result, N, means.shape[1])


def unpack(result, N, d):
    """Lenient: (X as float (N, d), z as integer labels) from what the sampler returned."""
    what = f"{NAME}(N={N}, ...)"
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"{what} should return a pair (X, z).", got=kind(result),
             hint="return both the points and their component indices: return X, z")
    X = as_float_array("X", result[0], (N, d), what)
    z = as_labels("z", result[1], N, what)
    return X, z


# --------------------------------------------------------------------------- shape / type
SHAPE_CASES = (  # (N, K, d): several K and d, including N = 1 and d = 1
    (7, 4, 3),
    (1, 2, 1),
    (12, 3, 2),
)


@graded_check
def check_sample_gmm_shape(sample_gmm):
    """X is a float array of shape (N, d); z an integer array of shape (N,) with values in 0..K-1."""
    rng = np.random.default_rng(3)
    for N, K, d in SHAPE_CASES:
        category_prob = np.full(K, 1.0 / K)
        # Non-contiguous means (every other row of a larger array), as the contract allows.
        means = (rng.normal(size=(2 * K, d)) * 5)[::2]
        covariances = np.array([np.eye(d) * (0.5 + k) for k in range(K)])
        what = f"{NAME}({_describe(N, category_prob, means)})"
        np_state = np.random.get_state()
        try:
            result = call_student(sample_gmm, NAME, (N, category_prob, means, covariances, np.random.default_rng(1)),
                                  _describe(N, category_prob, means), sizes=(K, d))
        finally:
            np.random.set_state(np_state)
        if not isinstance(result, tuple) or len(result) != 2:
            fail(f"{what} should return a tuple (X, z).", got=kind(result),
                 hint="return X, z (a tuple), not one array" if isinstance(result, np.ndarray) else None)
        X, z = result
        require_array("X", X, (N, d), "f", what)
        require_array("z", z, (N,), "i", what)
        ensure(z.min() >= 0 and z.max() < K, f"{what}: z should hold component indices 0..{K - 1}.",
               got=f"values from {z.min()} to {z.max()}",
               hint="indices start at 0 in Python (z looks 1-based)" if z.min() >= 1 and z.max() == K else None)
        ensure(np.all(np.isfinite(X)), f"{what}: X contains NaN or infinite values.")


# --------------------------------------------------------------------------- proportions
def proportion_pvalues(sample_gmm, seed=DEFAULT_SEED):
    """Exact two-sided binomial p-values of every component's count, for every test mixture.

    Returns ``[(mixture name, k, count, N, p_k, pvalue)]``.
    """
    rows = []
    for index, (name, mixture) in enumerate(MIXTURES.items()):
        rows.extend(proportion_rows(name, mixture, draw(sample_gmm, mixture, seed + index)[1]))
    return rows


def proportion_rows(name, mixture, z):
    """Binomial p-value rows for the labels ``z`` drawn from one test mixture."""
    N, category_prob = mixture[0], mixture[1]
    K = len(category_prob)
    if z.min() < 0 or z.max() >= K:
        _fail_label_range(z, K, name)
    counts = np.bincount(z, minlength=K)
    return [(name, k, int(counts[k]), N, float(category_prob[k]), _stats.binomial_pvalue(counts[k], N, category_prob[k]))
            for k in range(K)]


def _fail_label_range(z, K, name):
    hint = "indices start at 0 in Python (z looks 1-based)" if z.min() >= 1 and z.max() <= K else None
    fail(f"{NAME} on the mixture with {name}: z should hold component indices 0..{K - 1}.",
         got=f"values from {z.min()} to {z.max()}", hint=hint)


def _proportion_hint(observed, category_prob):
    """Name a recognisable mistake in the observed proportions of z."""
    K = len(category_prob)
    candidates = {
        "the proportions of z look uniform: was category_prob used?": np.full(K, 1.0 / K),
        "the proportions of z look like category_prob reversed": category_prob[::-1],
    }
    if np.max(observed) > 0.999:
        return "z always takes the same value: is the component chosen once instead of for every point?"
    distance_truth = np.abs(observed - category_prob).max()
    for hint, proportions in candidates.items():
        if not np.allclose(proportions, category_prob) and np.abs(observed - proportions).max() < 0.3 * distance_truth:
            return hint
    return None


@graded_check
def check_sample_gmm_proportions(sample_gmm, seed=DEFAULT_SEED):
    """The share of each component in z matches ``category_prob`` (several mixtures, unequal weights).

    For a correct sampler each count is exactly Binomial(N, phi_k); the check runs one exact
    two-sided binomial test per component (m = 14 in all) at level 1e-6 / m, so by the union bound
    a correct sampler fails with probability at most 1e-6, whatever the seed.
    """
    rows = proportion_pvalues(sample_gmm, seed)
    pvalues = [row[-1] for row in rows]
    if not _stats.rejects(pvalues):
        return
    worst = min(rows, key=lambda row: row[-1])
    name = worst[0]
    mixture = MIXTURES[name]
    counts = np.array([row[2] for row in rows if row[0] == name])
    observed = counts / mixture[0]
    fail(f"{NAME}: the components in z do not occur with probabilities category_prob (mixture with {name}).",
         expected=f"proportions near {short(mixture[1])}", got=f"proportions {short(np.round(observed, 3))}",
         hint=_proportion_hint(observed, mixture[1]))


# --------------------------------------------------------------------------- moments
def moment_pvalues(sample_gmm, seed=DEFAULT_SEED + 100):
    """Exact p-values for the mean and spread of X within each component, for every test mixture.

    Returns ``[(mixture name, k, kind, pvalue)]`` where kind is "mean" or "spread".
    """
    rows = []
    for index, (name, mixture) in enumerate(MIXTURES.items()):
        rows.extend(moment_rows(name, mixture, *draw(sample_gmm, mixture, seed + index)))
    return rows


def moment_rows(name, mixture, X, z):
    """Mean and spread p-value rows for the points ``X`` with labels ``z`` drawn from one test mixture."""
    _, category_prob, means, covariances = mixture
    K = len(category_prob)
    if z.min() < 0 or z.max() >= K:
        _fail_label_range(z, K, name)
    rows = []
    for k in range(K):
        points = X[z == k]
        if len(points) < 2:
            continue
        rows.append((name, k, "mean", _stats.mean_pvalue(points, means[k], covariances[k])))
        rows.extend((name, k, "spread", p) for p in _stats.spread_pvalues(points, means[k], covariances[k]))
    return rows


def _gaussian_loglik(points, mean, covariance):
    """Average log-density of ``points`` under N(mean, covariance) (for naming a mistake)."""
    try:
        sign, logdet = np.linalg.slogdet(covariance)
        if sign <= 0:
            return -np.inf
        centred = points - mean
        quadratic = np.einsum("ij,ij->i", centred @ np.linalg.inv(covariance), centred)
        return float(np.mean(-0.5 * (quadratic + logdet + len(mean) * np.log(2 * np.pi))))
    except np.linalg.LinAlgError:
        return -np.inf


def _moment_hint(points, k, mixture, X):
    """Name the alternative model that explains the points labelled k best, if it is not the truth."""
    _, _, means, covariances = mixture
    mean, covariance = means[k], covariances[k]
    candidates = {None: (mean, covariance)}
    candidates["each covariance matrix seems to be used as a standard deviation (it was squared)"] = (mean, covariance @ covariance)
    candidates["the covariance seems used where a standard deviation is expected (element-wise squared)"] = (mean, covariance * covariance)
    candidates["the off-diagonal covariances seem ignored (only the variances were used)"] = (mean, np.diag(np.diag(covariance)))
    candidates["the points look like standard normal noise around the mean: were covariance_matrices used?"] = (mean, np.eye(len(mean)))
    candidates["the points are centred at 0: were the means added?"] = (np.zeros_like(mean), covariance)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    root = eigenvectors @ np.diag(np.sqrt(np.maximum(eigenvalues, 0))) @ eigenvectors.T
    candidates["the spread matches the square root of the covariance: a standard deviation passed where a covariance is expected?"] = (mean, root)
    for j in range(len(means)):
        if j != k:
            candidates[f"points labelled {k} look like component {j}: X and z are out of step (e.g. X built per component and concatenated, or shuffled separately)"] = (means[j], covariances[j])
    pooled_cov = np.atleast_2d(np.cov(X.T, bias=True))
    candidates["points labelled k look like the whole mixture: X and z are out of step (X shuffled or sorted separately from z?)"] = (X.mean(axis=0), pooled_cov)
    scores = {hint: _gaussian_loglik(points, m, c) for hint, (m, c) in candidates.items()}
    best = max(scores, key=scores.get)
    return best.replace("labelled k", f"labelled {k}") if best is not None else None


@graded_check
def check_sample_gmm_moments(sample_gmm, seed=DEFAULT_SEED + 100):
    """Within each component (the rows of X whose z is k) X has mean ``means[k]`` and covariance ``covariance_matrices[k]``.

    Given z, the rows labelled k of a correct sampler are i.i.d. N(mu_k, Sigma_k). Per component the
    check runs one exact chi-square test of the mean (d degrees of freedom) and exact chi-square
    tests (n_k degrees of freedom) of the spread along the axes, the eigenvectors of Sigma_k and the
    diagonals: m = 118 tests over the four mixtures (7 per component in 2-D, 13 in 3-D, 2 in 1-D), each at level 1e-6 / m, so a correct sampler
    fails with probability at most 1e-6 (union bound), whatever the seed.
    """
    rows = moment_pvalues(sample_gmm, seed)
    if not _stats.rejects([row[-1] for row in rows]):
        return
    name, k, what, _ = min(rows, key=lambda row: row[-1])
    mixture = MIXTURES[name]
    X, z = draw(sample_gmm, mixture, seed + list(MIXTURES).index(name))
    points = X[z == k]
    expected = f"mean {short(mixture[2][k])}, covariance {short(mixture[3][k])}"
    got = f"mean {short(points.mean(axis=0))}, covariance {short(np.atleast_2d(np.cov(points.T, bias=True)))}"
    fail(f"{NAME}: the points with z == {k} do not follow component {k} (their {what} is off; mixture with {name}).",
         expected=expected, got=got, hint=_moment_hint(points, k, mixture, X))
