"""Checks for ``e_step(X, weights, means, covariances)``, ``m_step(X, responsibilities)`` and a
whole EM run built from the student's two steps.

Each step is graded on mixtures and responsibilities drawn here from the grading run's secret
``rng`` (never the student's earlier outputs). ``check_em_from_scratch`` drives the student's own
E and M steps round by round -- the one check where a bug in either step costs points.
"""
import numpy as np
from sklearn.mixture import GaussianMixture

from autograder import reference
from autograder.checks._feedback import Hint, call_student, ensure, fail, kind, short
from autograder.checks._shapes import as_float_array, require_array

E_STEP = "e_step"
M_STEP = "m_step"
PART_EM = "em"


def random_mixture(rng, K, d, spread=4.0):
    """Mixture parameters (weights, means, covariances) with unequal weights and correlated covariances."""
    weights = rng.dirichlet(np.full(K, 3.0))
    means = rng.normal(size=(K, d)) * spread
    factors = rng.normal(size=(K, d, d)) * 0.8
    covariances = factors @ np.transpose(factors, (0, 2, 1)) + 0.3 * np.eye(d)
    return weights, means, covariances


def mixture_points(rng, N, weights, means, covariances):
    """N points drawn from the mixture (with the reference sampler)."""
    return reference.sample_gmm(N, weights, means, covariances, rng=rng)[0]


# --------------------------------------------------------------------------- E step
def _e_step_hint(result, X, weights, means, covariances):
    """Name a recognisable mistake in wrong responsibilities."""
    expected = reference.e_step(X, weights, means, covariances)
    K = len(weights)

    def near(a, b):
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-4, atol=1e-6)

    row_sums = result.sum(axis=1)
    if np.all(np.isfinite(result)) and np.all(result <= 0) and near(np.exp(result), expected):
        return Hint("e_step.log_responsibilities", "these look like log-responsibilities: exponentiate them")
    if np.allclose(result.sum(axis=0), 1.0, atol=1e-6) and not np.allclose(row_sums, 1.0, atol=1e-6):
        return Hint("e_step.normalised_over_points",
                    "each column sums to 1: normalised over the points (axis 0) instead of over the components (axis 1)")
    if not np.allclose(row_sums, 1.0, atol=1e-6) and np.all(row_sums > 0) and near(result / row_sums[:, None], expected):
        return Hint("e_step.not_normalised", "right up to a factor per point: the rows are not normalised (divide each row by its sum)")
    if near(result, reference.e_step(X, np.full(K, 1.0 / K), means, covariances)):
        return Hint("e_step.weights_ignored", "the weights (mixing proportions) were not used")
    diagonal = np.array([np.diag(np.diag(c)) for c in covariances])
    if near(result, reference.e_step(X, weights, means, diagonal)):
        return Hint("e_step.off_diagonal_ignored", "the off-diagonal covariances were ignored")
    if near(result, reference.e_step(X, weights, means, covariances @ covariances)):
        return Hint("e_step.covariance_squared", "each covariance was used as a standard deviation (it got squared)")
    if near(result, np.eye(K)[np.argmax(expected, axis=1)]):
        return Hint("e_step.hard_assignments", "hard (one-hot) assignments instead of probabilities")
    if near(result[:, ::-1], expected):
        return Hint("e_step.components_reversed", "the components come out in reverse order")
    return None


def _check_e_step(e_step, X, weights, means, covariances, case, rtol, atol):
    N, K = len(X), len(weights)
    what = f"{E_STEP} on {case} (N={N}, K={K}, d={X.shape[1]}, X dtype {X.dtype})"
    expected = reference.e_step(X, weights, means, covariances)
    result = call_student(e_step, E_STEP, (X, weights, means, covariances), f"{case}: X of shape {X.shape}, K={K}",
                          sizes=(K, X.shape[1]))
    responsibilities = as_float_array("the responsibilities", result, (N, K), what, E_STEP)
    ensure(np.all(np.isfinite(responsibilities)), f"{what}: the responsibilities contain NaN or infinite values.",
           hint=Hint("e_step.underflow", "a density underflowed to 0 and then 0/0? (work with log-densities, or check the normalisation)"))
    if not np.allclose(responsibilities, expected, rtol=rtol, atol=atol):
        row = int(np.argmax(np.abs(responsibilities - expected).max(axis=1)))
        sums = responsibilities.sum(axis=1)
        extra = "" if np.allclose(sums, 1, atol=1e-6) else f" (rows sum to {short(sums)}, expected 1)"
        fail(f"{what}: the responsibilities differ from p(z = k | x){extra}.",
             expected=f"row {row}: {short(expected[row])}", got=f"row {row}: {short(responsibilities[row])}",
             hint=_e_step_hint(responsibilities, np.asarray(X, float), weights, means, covariances),
             diagnosis="e_step.values_differ")


def check_e_step_shape(e_step, rng):
    """Returns a float numpy array of shape (N, K) (several N, K, d)."""
    for N, K, d in ((10, 3, 2), (5, 2, 1), (8, 4, 3)):
        weights, means, covariances = random_mixture(rng, K, d)
        X = mixture_points(rng, N, weights, means, covariances)
        what = f"{E_STEP} with X of shape {X.shape} and K={K}"
        result = call_student(e_step, E_STEP, (X, weights, means, covariances), f"X of shape {X.shape}, K={K}", sizes=(K, d))
        require_array("the responsibilities", result, (N, K), "f", what, E_STEP)


def check_e_step_values(e_step, rng):
    """Rows sum to 1 and equal p(z = k | x) on 2-D float64 data with K=3, unequal weights and correlated covariances."""
    weights, means, covariances = random_mixture(rng, 3, 2, spread=2.0)
    X = mixture_points(rng, 50, weights, means, covariances)
    _check_e_step(e_step, X, weights, means, covariances, "2-D data with K=3", rtol=1e-6, atol=1e-8)


def far_point(weights, means, covariances, log_density=-250.0):
    """A point whose largest joint log-density log(phi_k N(x | k)) is about ``log_density``.

    Densities near exp(-250) are tiny but still representable in float64, so a careful
    density-based E-step passes while one that drops the normalisation or overflows does not.
    """
    direction = np.ones(means.shape[1]) / np.sqrt(means.shape[1])
    low, high = 0.0, 1e4
    for _ in range(60):  # bisection on the distance from the centre of the means (2**-60 of the range)
        middle = (low + high) / 2
        x = means.mean(axis=0) + middle * direction
        if reference.log_component_densities(x[None], weights, means, covariances).max() > log_density:
            low = middle
        else:
            high = middle
    return (means.mean(axis=0) + low * direction)[None]


def hard_e_step_cases(rng):
    """(name, X, weights, means, covariances, rtol, atol): float32, non-contiguous, far points, d = 1, N = 1."""
    cases = []
    _, m, c = random_mixture(rng, 5, 3)
    w = rng.permutation([0.02, 0.18, 0.3, 0.25, 0.25])
    X = mixture_points(rng, 60, w, m, c).astype(np.float32)
    cases.append(("float32 3-D data with K=5 (one small weight)", X, w, m, c, 1e-4, 1e-5))
    w, m, c = random_mixture(rng, 4, 2)
    X = np.vstack([mixture_points(rng, 40, w, m, c), far_point(w, m, c)])
    X = np.asfortranarray(np.repeat(X, 2, axis=0))[::2]  # a strided, Fortran-ordered view
    cases.append(("non-contiguous 2-D data with K=4 and a point far from every component", X, w, m, c, 1e-6, 1e-8))
    big = rng.normal(size=(30, 5)) * 2
    w = rng.permutation([0.3, 0.7])
    cases.append(("a strided view of 1-D data with K=2", big[:, 2:3], w, np.sort(rng.normal(size=(2, 1)), axis=0) * 2,
                  rng.uniform(0.3, 2.5, size=(2, 1, 1)), 1e-6, 1e-8))
    w, m, c = random_mixture(rng, 6, 4)
    cases.append(("a single 4-D point with K=6", mixture_points(rng, 1, w, m, c), w, m, c, 1e-6, 1e-8))
    return cases


def check_e_step_hard(e_step, rng):
    """Responsibilities on float32 and non-contiguous data, K up to 6, d = 1..4, a far point and N = 1."""
    for name, X, weights, means, covariances, rtol, atol in hard_e_step_cases(rng):
        _check_e_step(e_step, X, weights, means, covariances, name, rtol, atol)


# --------------------------------------------------------------------------- M step
NAMES = ("weights", "means", "covariances")


def _unpack_m_step(result, K, d, what, strict):
    """(weights, means, covariances) from what m_step returned (strict: exact types and shapes)."""
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(f"{what} should return three things: (weights, means, covariances).", got=kind(result),
             diagnosis="m_step.not_three_values")
    shapes = ((K,), (K, d), (K, d, d))
    got_shapes = [np.shape(value) if isinstance(value, (np.ndarray, list, tuple)) else None for value in result]
    if got_shapes != list(shapes) and sorted(map(str, got_shapes)) == sorted(map(str, shapes)):
        order = ", ".join(NAMES[shapes.index(shape)] for shape in got_shapes)
        fail(f"{what}: the three values have the right shapes in the wrong order (got {order}).",
             hint=Hint("m_step.wrong_order", "return weights, means, covariances, in that order"))
    if np.shape(result[2]) == (d, d, K) and K != d:
        fail(f"{what}: covariances has shape (d, d, K).",
             hint=Hint("m_step.covariance_axis_last", "covariances[k] must be the k-th matrix: stack them on axis 0"))
    if strict:
        for name, value, shape in zip(NAMES, result, shapes):
            require_array(name, value, shape, "f", what, M_STEP)
        return result
    return tuple(as_float_array(name, value, shape, what, M_STEP) for name, value, shape in zip(NAMES, result, shapes))


def _m_step_hint(part, got, X, responsibilities):
    """Name a recognisable mistake in one wrong part ("weights", "means" or "covariances")."""
    X = np.asarray(X, float)
    R = np.asarray(responsibilities, float)
    N, K = R.shape
    Nk = R.sum(axis=0)
    weights, means, covariances = reference.m_step(X, R)
    hard = np.eye(K)[np.argmax(R, axis=1)]
    hard_assignments = Hint("m_step.hard_assignments",
                            "hard assignments (argmax of the responsibilities) were used instead of the responsibilities themselves")

    def near(candidate):
        return got.shape == np.shape(candidate) and np.allclose(got, candidate, rtol=1e-4, atol=1e-7)

    if part == "weights":
        candidates = [(Nk, Hint("m_step.weights_not_divided_by_N", "these are the effective counts N_k: divide by N")),
                      (np.full(K, 1.0 / K), Hint("m_step.uniform_weights", "the weights are uniform: they must be N_k / N")),
                      (reference.m_step(X, hard)[0], hard_assignments)]
    elif part == "means":
        candidates = [(R.T @ X / N, Hint("m_step.means_divided_by_N", "the weighted sums were divided by N instead of N_k")),
                      (np.tile(X.mean(axis=0), (K, 1)),
                       Hint("m_step.responsibilities_ignored", "every mean is the plain mean of all points: the responsibilities were not used")),
                      (reference.m_step(X, hard)[1], hard_assignments)]
    else:
        centred = [X - means[k] for k in range(K)]
        scatter = np.array([(R[:, k, None] * centred[k]).T @ centred[k] for k in range(K)])
        v1, v2 = Nk, (R**2).sum(axis=0)
        candidates = [
            (scatter / (Nk - 1)[:, None, None],
             Hint("m_step.unbiased_covariance", "divided by N_k - 1 instead of N_k (maximum likelihood divides by N_k)")),
            (scatter / (v1 - v2 / v1)[:, None, None],
             Hint("m_step.np_cov_without_bias", "np.cov with aweights but without bias=True applies an unbiased correction: "
                                                "maximum likelihood needs bias=True")),
            (scatter / N, Hint("m_step.divided_by_N", "the weighted scatter was divided by N instead of N_k")),
            (np.array([(R[:, k, None] ** 2 * centred[k]).T @ centred[k] for k in range(K)]) / Nk[:, None, None],
             Hint("m_step.responsibilities_twice", "the responsibilities were applied twice (once on each side of the outer product)")),
            (np.array([np.cov(X.T, bias=True).reshape(X.shape[1], X.shape[1])] * K),
             Hint("m_step.responsibilities_ignored", "every covariance is the covariance of all points: the responsibilities were not used")),
            (np.array([(R[:, k, None] * X).T @ X / Nk[k] for k in range(K)]),
             Hint("m_step.not_centred", "the points were not centred on the new mean before the outer product")),
            (np.array([np.diag(np.diag(c)) for c in covariances]),
             Hint("m_step.variances_only", "only the variances were kept: full covariances need the off-diagonal terms too")),
            (reference.m_step(X, hard)[2], hard_assignments),
        ]
    for candidate, hint in candidates:
        if near(candidate):
            return hint
    return None


def _check_m_step(m_step, X, responsibilities, case, rtol, atol):
    N, K = responsibilities.shape
    d = X.shape[1]
    what = f"{M_STEP} on {case} (N={N}, K={K}, d={d}, dtype {X.dtype})"
    expected = reference.m_step(X, responsibilities)
    result = call_student(m_step, M_STEP, (X, responsibilities), f"{case}: X of shape {X.shape}, K={K}", sizes=(K, d))
    got = _unpack_m_step(result, K, d, what, strict=False)
    for name, value, truth in zip(NAMES, got, expected):
        if not np.allclose(value, truth, rtol=rtol, atol=atol):
            index = np.unravel_index(np.argmax(np.abs(value - truth)), truth.shape)[0] if truth.ndim > 1 else slice(None)
            label = f"{name}[{index}]" if truth.ndim > 1 else name
            fail(f"{what}: {name} differ from the maximum-likelihood estimate.",
                 expected=f"{label} = {short(truth[index])}", got=f"{label} = {short(value[index])}",
                 hint=_m_step_hint(name, value, X, responsibilities), diagnosis=f"m_step.{name}_differ")


def check_m_step_shape(m_step, rng):
    """Returns (weights (K,), means (K, d), covariances (K, d, d)) as float numpy arrays (several N, K, d)."""
    for N, K, d in ((10, 3, 2), (6, 2, 1), (9, 4, 3)):
        X = rng.normal(size=(N, d))
        R = rng.dirichlet(np.ones(K), size=N)
        result = call_student(m_step, M_STEP, (X, R), f"X of shape {X.shape}, K={K}", sizes=(K, d))
        _unpack_m_step(result, K, d, f"{M_STEP} with X of shape {X.shape} and K={K}", strict=True)


def check_m_step_values(m_step, rng):
    """Weights N_k / N, weighted means and full covariances dividing by N_k, on 2-D float64 data with K=3."""
    weights, means, covariances = random_mixture(rng, 3, 2)
    X = mixture_points(rng, 60, weights, means, covariances)
    R = rng.dirichlet(np.ones(3), size=60)
    _check_m_step(m_step, X, R, "2-D data with K=3 and soft responsibilities", rtol=1e-7, atol=1e-9)


def hard_m_step_cases(rng):
    """(name, X, responsibilities, rtol, atol): float32, non-contiguous, a nearly empty component, d = 1, one-hot."""
    cases = []
    X = rng.normal(size=(200, 4)).astype(np.float32) * 3
    R = rng.dirichlet(np.ones(5), size=200)
    R[:, int(rng.integers(5))] *= 1e-3  # a component responsible for almost nothing
    R /= R.sum(axis=1, keepdims=True)
    cases.append(("float32 4-D data with K=5, one component nearly empty", X, R.astype(np.float32), 1e-4, 1e-5))
    big = rng.normal(size=(100, 6))
    cases.append(("non-contiguous 3-D data and responsibilities with K=4", big[::2, 1::2],
                  np.asfortranarray(rng.dirichlet(np.ones(4), size=50)), 1e-7, 1e-9))
    cases.append(("1-D data with K=2", rng.normal(size=(40, 1)), rng.dirichlet(np.ones(2), size=40), 1e-7, 1e-9))
    labels = rng.permutation(np.arange(30) % 6)
    cases.append(("2-D data with one-hot responsibilities and K=6", rng.normal(size=(30, 2)), np.eye(6)[labels], 1e-7, 1e-9))
    return cases


def check_m_step_hard(m_step, rng):
    """Maximum-likelihood parameters on float32 and non-contiguous data, K up to 6, d = 1..4, near-empty and one-hot components."""
    for name, X, R, rtol, atol in hard_m_step_cases(rng):
        _check_m_step(m_step, X, R, name, rtol, atol)


# --------------------------------------------------------------------------- whole EM run
EM_MAX_ITERATIONS = 500
BASE_WEIGHTS = np.array([0.5, 0.3, 0.2])
BASE_MEANS = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
BASE_COVARIANCES = np.array([[[1.0, 0.4], [0.4, 0.8]], [[0.6, -0.2], [-0.2, 1.2]], [[0.9, 0.0], [0.0, 0.4]]])


def run_em(e_step, m_step, X, start, max_iterations=EM_MAX_ITERATIONS):
    """EM from ``start`` with the given steps until no parameter moves by 1e-10: (parameters, rounds)."""
    parameters = start
    for iteration in range(1, max_iterations + 1):
        new = m_step(X, e_step(X, *parameters))
        moved = max(np.abs(a - b).max() for a, b in zip(new, parameters))
        parameters = new
        if moved < 1e-10:
            return parameters, iteration
    return parameters, max_iterations + 1


def em_problem(rng):
    """A fresh 2-D, K=3 data set (the base mixture rotated and shifted at random), a start, and
    GaussianMixture's fixed point from that start.

    The problem must have one clear answer that a correct E- and M-step reach within the check's
    round limit: a start from which EM degenerates (a component left with a handful of points, a
    nearly singular covariance), crawls (the reference steps need more than half the rounds), or
    ends anywhere but at GaussianMixture's fixed point is drawn again.
    """
    while True:
        angle = rng.uniform(0, 2 * np.pi)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        means = BASE_MEANS @ rotation.T + rng.normal(size=2) * 3
        covariances = rotation @ BASE_COVARIANCES @ rotation.T
        X = mixture_points(rng, 300, rng.permutation(BASE_WEIGHTS), means, covariances)
        start = (np.full(3, 1 / 3), X[rng.choice(len(X), size=3, replace=False)].copy(), np.array([np.eye(2)] * 3))
        try:
            # The reference steps first, stopped at the round limit: a crawling start is rejected
            # without GaussianMixture's own (up to 5000-iteration) run. The same problems are accepted.
            reached, rounds = run_em(reference.e_step, reference.m_step, X, start, EM_MAX_ITERATIONS // 2)
            if rounds > EM_MAX_ITERATIONS // 2:
                continue
            target = sklearn_fixed_point(X, start)
            if target[0].min() * len(X) <= 20 or min(np.linalg.eigvalsh(c).min() for c in target[2]) <= 1e-2:
                continue
        except (ValueError, np.linalg.LinAlgError):  # a component collapsed on the way: degenerate
            continue
        # 1e-5: ten times tighter than the check's own tolerance (GaussianMixture stops on its
        # likelihood, a little before the parameters stop moving).
        if all(np.allclose(a, b, atol=1e-5) for a, b in zip(reached, target)):
            return X, start, target


def sklearn_fixed_point(X, start):
    """The fixed point GaussianMixture reaches from ``start`` (no covariance regularisation)."""
    weights, means, covariances = start
    model = GaussianMixture(len(weights), covariance_type="full", weights_init=weights, means_init=means,
                            precisions_init=np.linalg.inv(covariances), reg_covar=0.0, tol=1e-12, max_iter=5000)
    model.fit(X)
    return model.weights_, model.means_, model.covariances_


def check_em_from_scratch(e_step, m_step, rng):
    """A full EM run with the student's steps never lowers the log-likelihood and reaches GaussianMixture's fixed point.

    The log-likelihood may dip by rounding only (1e-9 relative). The run stops when no parameter
    moves by more than 1e-10 (at most 500 rounds); the fixed point must match GaussianMixture's
    from the same start to 1e-4.
    """
    X, (weights, means, covariances), target = em_problem(rng)
    N, K, d = len(X), len(weights), X.shape[1]
    previous = reference.log_likelihood(X, weights, means, covariances)
    last_round = None
    for iteration in range(1, EM_MAX_ITERATIONS + 1):
        R = as_float_array("the responsibilities",
                           call_student(e_step, E_STEP, (X, weights, means, covariances),
                                        f"round {iteration} of EM (X of shape {X.shape}, K={K})", part=PART_EM),
                           (N, K), f"{E_STEP} in round {iteration} of EM", PART_EM)
        new = _unpack_m_step(call_student(m_step, M_STEP, (X, R), f"round {iteration} of EM", part=PART_EM), K, d,
                             f"{M_STEP} in round {iteration} of EM", strict=False)
        try:
            likelihood = reference.log_likelihood(X, *new)
        except Exception:  # a covariance scipy rejects (not positive definite): no valid likelihood
            likelihood = np.nan
        if not np.isfinite(likelihood):
            fail(f"EM with your e_step and m_step: round {iteration} produced parameters with no valid likelihood "
                 "(a covariance that is not positive definite, or NaN).",
                 hint=_blame(X, (weights, means, covariances), R, new), diagnosis="em.invalid_parameters")
        if likelihood < previous - 1e-9 * abs(previous):
            fail(f"EM with your e_step and m_step: the log-likelihood went down in round {iteration}.",
                 expected=f"at least {previous:.6f}", got=f"{likelihood:.6f}",
                 hint=_blame(X, (weights, means, covariances), R, new), diagnosis="em.likelihood_decreased")
        moved = max(np.abs(a - b).max() for a, b in zip(new, (weights, means, covariances)))
        last_round = ((weights, means, covariances), R, new)
        weights, means, covariances, previous = *new, likelihood
        if moved < 1e-10:
            break
    for name, value, truth in zip(NAMES, (weights, means, covariances), target):
        if not np.allclose(value, truth, atol=1e-4):
            fail(f"EM with your e_step and m_step stopped at different {name} from GaussianMixture started at the same point.",
                 expected=short(truth), got=short(value), hint=_blame(X, *last_round), diagnosis="em.different_fixed_point")


def _blame(X, parameters, R, new):
    """Which step disagrees with the reference, as a :class:`Hint`: that step's own likely mistake
    when one is recognisable, else which step it is (None when neither can be singled out)."""
    if R is not None and not np.allclose(R, reference.e_step(X, *parameters), rtol=1e-6, atol=1e-8):
        return _e_step_hint(R, X, *parameters) or Hint(
            "em.e_step_wrong", "your e_step's responsibilities differ from the reference here (see the e_step tests)")
    if R is not None and new is not None:
        for name, value, truth in zip(NAMES, new, reference.m_step(X, R)):
            if not np.allclose(value, truth, rtol=1e-6, atol=1e-8):
                return _m_step_hint(name, value, X, R) or Hint(
                    "em.m_step_wrong", "your m_step's parameters differ from the maximum-likelihood estimate here (see the m_step tests)")
    return None
