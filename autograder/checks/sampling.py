"""Checks for ``sample_gmm(N, category_prob, means, covariance_matrices, rng=None) -> (X, z)``.

Random output is never compared with exact values from one random stream: the checks call the
student's sampler on mixtures unlike the lab's (K = 2..5, d = 1..3, unequal weights), drawn
afresh for every grading run (:func:`test_mixtures`), and test the *distribution* of what comes
back with exact tests (see ``autograder.checks._stats``), whose false-failure bound holds for any
mixture and any seed. Both the passed ``rng`` and the kernel's global ``np.random`` / ``random``
states are seeded for each call, so a student may use either.
"""
import numpy as np

from autograder.checks import _stats
from autograder.checks._feedback import Hint, call_student, ensure, fail, kind, short
from autograder.checks._shapes import as_float_array, as_labels, require_array
from autograder.client.lab5_grader import SeededGenerator

NAME = "sample_gmm"
PART = "sampler"
SEED_RANGE = 2**62


def _rotation(angle):
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def _covariance_2d(rng, low=0.3, high=2.0):
    """A 2-D covariance with random principal standard deviations in [low, high] and a random rotation."""
    rotation = _rotation(rng.uniform(0, np.pi))
    return rotation @ np.diag(np.square(rng.uniform(low, high, size=2))) @ rotation.T


def _covariance(rng, d, low=0.3, high=1.5):
    """A d-dimensional covariance: a random rotation of random variances (correlated for d > 1)."""
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q @ np.diag(np.square(rng.uniform(low, high, size=d))) @ q.T


def _spread_means(rng, K, d, separation):
    """K means at least ``separation`` apart (rejection sampling on a box that leaves ample room)."""
    box = separation * K
    while True:
        means = rng.uniform(-box / 2, box / 2, size=(K, d))
        gaps = np.linalg.norm(means[:, None] - means[None], axis=2) + np.eye(K) * 1e9
        if gaps.min() >= separation:
            return means


def test_mixtures(rng):
    """Mixtures unlike the lab's, drawn from ``rng``: name -> (N, category_prob, means, covariance_matrices).

    The structure of each is fixed (sizes, how unequal the weights are); the numbers are not.
    """
    return {
        "K=3, d=2, unequal weights": (
            3000, rng.permutation([0.6, 0.3, 0.1]), _spread_means(rng, 3, 2, 9.0),
            np.array([_covariance_2d(rng) for _ in range(3)])),
        "K=2, d=1": (
            2000, rng.permutation([0.25, 0.75]), np.sort(_spread_means(rng, 2, 1, 8.0), axis=0),
            np.array([[[rng.uniform(0.25, 4.0)]] for _ in range(2)])),
        "K=5, d=3": (
            4000, rng.permutation([0.1, 0.15, 0.2, 0.25, 0.3]), _spread_means(rng, 5, 3, 8.0),
            np.array([_covariance(rng, 3) for _ in range(5)])),
        "K=4, d=2, equal weights": (
            2000, np.full(4, 0.25), _spread_means(rng, 4, 2, 8.0),
            np.array([_covariance_2d(rng, 0.3, 1.2) for _ in range(4)])),
    }


def _describe(N, category_prob, means):
    return f"N={N}, K={len(category_prob)}, d={means.shape[1]}, category_prob={short(category_prob)}"


def draw(sample_gmm, mixture, seed):
    """Call the student's sampler on one mixture with every random source seeded by ``seed``; return (X, z)."""
    N, category_prob, means, covariances = mixture
    result = call_student(sample_gmm, NAME, (N, category_prob, means, covariances, SeededGenerator(seed)),
                          _describe(N, category_prob, means), sizes=(len(category_prob), means.shape[1]),
                          seed_globals=seed % 2**32, part=PART)
    return unpack(result, N, means.shape[1])


def unpack(result, N, d):
    """Lenient: (X as float (N, d), z as integer labels) from what the sampler returned."""
    what = f"{NAME}(N={N}, ...)"
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"{what} should return a pair (X, z).", got=kind(result),
             hint=Hint("sampler.not_a_pair", "return both the points and their component indices: return X, z"))
    X = as_float_array("X", result[0], (N, d), what, PART)
    z = as_labels("z", result[1], N, what, PART)
    return X, z


# --------------------------------------------------------------------------- shape / type
SHAPE_CASES = (  # (N, K, d): several K and d, including N = 1 and d = 1
    (7, 4, 3),
    (1, 2, 1),
    (12, 3, 2),
)


def check_sample_gmm_shape(sample_gmm, rng):
    """X is a float array of shape (N, d); z an integer array of shape (N,) with values in 0..K-1."""
    for N, K, d in SHAPE_CASES:
        category_prob = np.full(K, 1.0 / K)
        # Non-contiguous means (every other row of a larger array), as the contract allows.
        means = (rng.normal(size=(2 * K, d)) * 5)[::2]
        covariances = np.array([np.eye(d) * (0.5 + k) for k in range(K)])
        what = f"{NAME}({_describe(N, category_prob, means)})"
        seed = int(rng.integers(SEED_RANGE))
        result = call_student(sample_gmm, NAME, (N, category_prob, means, covariances, SeededGenerator(seed)),
                              _describe(N, category_prob, means), sizes=(K, d), seed_globals=seed % 2**32, part=PART)
        if not isinstance(result, tuple) or len(result) != 2:
            fail(f"{what} should return a tuple (X, z).", got=kind(result),
                 hint=Hint("sampler.one_array_not_a_pair", "return X, z (a tuple), not one array")
                 if isinstance(result, np.ndarray) else None, diagnosis="sampler.not_a_pair")
        X, z = result
        require_array("X", X, (N, d), "f", what, PART)
        require_array("z", z, (N,), "i", what, PART)
        ensure(z.min() >= 0 and z.max() < K, f"{what}: z should hold component indices 0..{K - 1}.",
               got=f"values from {z.min()} to {z.max()}",
               hint=Hint("sampler.one_based_labels", "indices start at 0 in Python (z looks 1-based)")
               if z.min() >= 1 and z.max() == K else None, diagnosis="sampler.labels_out_of_range")
        ensure(np.all(np.isfinite(X)), f"{what}: X contains NaN or infinite values.", diagnosis="sampler.not_finite")


# --------------------------------------------------------------------------- proportions
def proportion_rows(name, mixture, z):
    """Binomial p-value rows ``(mixture name, k, count, N, p_k, pvalue)`` for labels ``z`` from one mixture."""
    N, category_prob = mixture[0], mixture[1]
    K = len(category_prob)
    if z.min() < 0 or z.max() >= K:
        _fail_label_range(z, K, name)
    counts = np.bincount(z, minlength=K)
    return [(name, k, int(counts[k]), N, float(category_prob[k]), _stats.binomial_pvalue(counts[k], N, category_prob[k]))
            for k in range(K)]


def _fail_label_range(z, K, name):
    hint = Hint("sampler.one_based_labels", "indices start at 0 in Python (z looks 1-based)") if z.min() >= 1 and z.max() <= K else None
    fail(f"{NAME} on the mixture with {name}: z should hold component indices 0..{K - 1}.",
         got=f"values from {z.min()} to {z.max()}", hint=hint, diagnosis="sampler.labels_out_of_range")


def _proportion_hint(observed, category_prob):
    """Name a recognisable mistake in the observed proportions of z."""
    K = len(category_prob)
    candidates = {
        Hint("sampler.ignores_category_prob", "the proportions of z look uniform: was category_prob used?"): np.full(K, 1.0 / K),
        Hint("sampler.category_prob_reversed", "the proportions of z look like category_prob reversed"): category_prob[::-1],
    }
    if np.max(observed) > 0.999:
        return Hint("sampler.one_component_for_all", "z always takes the same value: is the component chosen once instead of for every point?")
    distance_truth = np.abs(observed - category_prob).max()
    for hint, proportions in candidates.items():
        if not np.allclose(proportions, category_prob) and np.abs(observed - proportions).max() < 0.3 * distance_truth:
            return hint
    return None


def check_sample_gmm_proportions(sample_gmm, rng):
    """The share of each component in z matches ``category_prob`` (several mixtures, unequal weights).

    For a correct sampler each count is exactly Binomial(N, phi_k); the check runs one exact
    two-sided binomial test per component (m = 14 in all) at level 1e-6 / m, so by the union bound
    a correct sampler fails with probability at most 1e-6, whatever the mixtures and the seed.
    """
    mixtures = test_mixtures(rng)
    rows, drawn = [], {}
    for name, mixture in mixtures.items():
        drawn[name] = draw(sample_gmm, mixture, int(rng.integers(SEED_RANGE)))[1]
        rows.extend(proportion_rows(name, mixture, drawn[name]))
    if not _stats.rejects([row[-1] for row in rows]):
        return
    name = min(rows, key=lambda row: row[-1])[0]
    mixture = mixtures[name]
    observed = np.bincount(drawn[name], minlength=len(mixture[1])) / mixture[0]
    fail(f"{NAME}: the components in z do not occur with probabilities category_prob (mixture with {name}).",
         expected=f"proportions near {short(mixture[1])}", got=f"proportions {short(np.round(observed, 3))}",
         hint=_proportion_hint(observed, mixture[1]), diagnosis="sampler.wrong_proportions")


# --------------------------------------------------------------------------- moments
def moment_rows(name, mixture, X, z):
    """Mean and spread p-value rows ``(mixture name, k, "mean" | "spread", pvalue)`` for (X, z) from one mixture."""
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
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    root = eigenvectors @ np.diag(np.sqrt(np.maximum(eigenvalues, 0))) @ eigenvectors.T
    candidates = [
        (None, (mean, covariance)),
        (Hint("sampler.covariance_squared", "each covariance matrix seems to be used as a standard deviation (it was squared)"),
         (mean, covariance @ covariance)),
        (Hint("sampler.covariance_elementwise_squared",
              "the covariance seems used where a standard deviation is expected (element-wise squared)"), (mean, covariance * covariance)),
        (Hint("sampler.off_diagonal_ignored", "the off-diagonal covariances seem ignored (only the variances were used)"),
         (mean, np.diag(np.diag(covariance)))),
        (Hint("sampler.standard_normal_noise", "the points look like standard normal noise around the mean: were covariance_matrices used?"),
         (mean, np.eye(len(mean)))),
        (Hint("sampler.means_not_added", "the points are centred at 0: were the means added?"), (np.zeros_like(mean), covariance)),
        (Hint("sampler.square_root_of_covariance",
              "the spread matches the square root of the covariance: a standard deviation passed where a covariance is expected?"),
         (mean, root)),
    ]
    for j in range(len(means)):
        if j != k:
            candidates.append((Hint("sampler.labels_out_of_step",
                                    f"points labelled {k} look like component {j}: X and z are out of step "
                                    "(e.g. X built per component and concatenated, or shuffled separately)"),
                               (means[j], covariances[j])))
    candidates.append((Hint("sampler.labels_out_of_step",
                            f"points labelled {k} look like the whole mixture: X and z are out of step "
                            "(X shuffled or sorted separately from z?)"),
                       (X.mean(axis=0), np.atleast_2d(np.cov(X.T, bias=True)))))
    scores = [_gaussian_loglik(points, m, c) for _, (m, c) in candidates]
    return candidates[int(np.argmax(scores))][0]


def check_sample_gmm_moments(sample_gmm, rng):
    """Within each component (the rows of X whose z is k) X has mean ``means[k]`` and covariance ``covariance_matrices[k]``.

    Given z, the rows labelled k of a correct sampler are i.i.d. N(mu_k, Sigma_k). Per component the
    check runs one exact chi-square test of the mean (d degrees of freedom) and exact chi-square
    tests (n_k degrees of freedom) of the spread along the axes, the eigenvectors of Sigma_k and the
    diagonals: m = 118 tests over the four mixtures (7 per component in 2-D, 13 in 3-D, 2 in 1-D), each at
    level 1e-6 / m, so a correct sampler fails with probability at most 1e-6 (union bound), whatever
    the mixtures and the seed.
    """
    mixtures = test_mixtures(rng)
    rows, drawn = [], {}
    for name, mixture in mixtures.items():
        drawn[name] = draw(sample_gmm, mixture, int(rng.integers(SEED_RANGE)))
        rows.extend(moment_rows(name, mixture, *drawn[name]))
    if not _stats.rejects([row[-1] for row in rows]):
        return
    name, k, what, _ = min(rows, key=lambda row: row[-1])
    mixture = mixtures[name]
    X, z = drawn[name]
    points = X[z == k]
    expected = f"mean {short(mixture[2][k])}, covariance {short(mixture[3][k])}"
    got = f"mean {short(points.mean(axis=0))}, covariance {short(np.atleast_2d(np.cov(points.T, bias=True)))}"
    fail(f"{NAME}: the points with z == {k} do not follow component {k} (their {what} is off; mixture with {name}).",
         expected=expected, got=got, hint=_moment_hint(points, k, mixture, X), diagnosis="sampler.wrong_distribution")
