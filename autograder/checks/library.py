"""Checks for the notebook's scikit-learn parts: ``kmeans``, ``elbow_scores``, ``gmm``,
``X_new, z_new`` and the two quantised images.

These grade objects, not functions, so they cannot be fed fresh inputs. A fitted model is read
from the kernel attribute by attribute (:class:`~autograder.verifier.remote.RemoteObject`; its
methods are never called), data arrive as values, and both are checked against the lab's own data
recomputed here (``autograder.lab.lab_points``), never against other student variables, and only
for properties every correct answer has (no particular random optimum).
"""
import functools
import hashlib

import numpy as np
from sklearn.cluster import KMeans

from autograder import lab, reference
from autograder.checks import _stats
from autograder.checks._feedback import Hint, ensure, fail, kind, short
from autograder.checks._shapes import as_float_array, as_labels
from autograder.client.lab5_grader import Opaque

KMEANS_ATTRIBUTES = ("n_clusters", "cluster_centers_", "labels_")
GMM_ATTRIBUTES = ("n_components", "weights_", "means_", "covariances_", "converged_", "covariance_type", "lower_bound_")


@functools.lru_cache(maxsize=1)
def lab_X():
    """The lab's 250 points, recomputed from the lab's parameters (not read from the student's notebook)."""
    return lab.lab_points()[0]


@functools.lru_cache(maxsize=None)
def best_kmeans_sse(k):
    """Smallest K-means sum of squared distances on the lab's X found with 4 k-means++ starts."""
    return float(KMeans(n_clusters=k, n_init=4, random_state=0).fit(lab_X()).inertia_)


def is_sklearn_class(type_name, class_name):
    """Whether the kernel reported an instance of scikit-learn's class ``class_name``."""
    return type_name.startswith("sklearn.") and type_name.rsplit(".", 1)[-1] == class_name


def _number(value):
    """A Python number from a decoded scalar, or None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    return None


# --------------------------------------------------------------------------- K-means
def check_kmeans_sklearn(kmeans, rng=None):
    """``kmeans`` is a KMeans with 3 clusters fitted on the lab's X and converged (labels = nearest centre,
    centres = means of their points). Any converged solution is accepted."""
    view = kmeans.attributes(*KMEANS_ATTRIBUTES)
    ensure(is_sklearn_class(view.type_name, "KMeans"), "kmeans should be a scikit-learn KMeans object.",
           got=view.type_name.rsplit(".", 1)[-1],
           hint=Hint("kmeans.labels_not_model", "kmeans.fit(X) returns the fitted model; kmeans.predict(X) returns labels")
           if view.type_name == "numpy.ndarray" else None, diagnosis="kmeans.not_a_kmeans")
    ensure(_number(view.get("n_clusters")) == 3, "kmeans should have 3 clusters.", got=f"n_clusters={short(view.get('n_clusters'))}",
           diagnosis="kmeans.wrong_k")
    ensure(view.has("cluster_centers_") and view.has("labels_"), "kmeans has not been fitted.",
           hint=Hint("kmeans.not_fitted", "call kmeans.fit(X)"))
    X = lab_X()
    labels, centres = view.get("labels_"), view.get("cluster_centers_")
    ensure(np.shape(labels) == (len(X),) and np.shape(centres) == (3, 2), "kmeans was not fitted on the lab's data X (250 points in 2-D).",
           got=f"{np.shape(labels)[0] if np.ndim(labels) else '?'} labels, centres of shape {np.shape(centres)}",
           hint=Hint("kmeans.fitted_on_other_data", "fit on X loaded from data/lab5_points.npz, not on the sampled or new points"))
    labels = as_labels("kmeans.labels_", labels, len(X), "kmeans", "kmeans")
    centres = as_float_array("kmeans.cluster_centers_", centres, (3, 2), "kmeans", "kmeans")
    nearest = reference.get_cluster_assignments(X, centres)
    means = reference.get_cluster_centroids(X, labels)
    if not (np.array_equal(nearest, labels) and np.allclose(means, centres, atol=1e-3)):
        fail("kmeans is not a converged K-means of the lab's X: its labels or centres do not match these points.",
             hint=Hint("kmeans.fitted_on_other_data",
                       "fit on X loaded from data/lab5_points.npz (not X_sampled or X_new), and do not change X afterwards"))


def check_elbow_scores(elbow_scores, rng=None):
    """``elbow_scores[k-1] = KMeans(k).fit(X).score(X)`` for k = 1..10 on the lab's X.

    K = 1 has one answer (minus the total squared distance to the mean, to 1e-6). For K >= 2 any
    local optimum is accepted: minus SSE must lie between -2 x and -0.9 x the best SSE of 4
    k-means++ starts (the 0.9 allows a start better than ours; 2 x is far beyond the local optima
    of these data).
    """
    elbow_scores = elbow_scores.value()
    scores = as_float_array("elbow_scores", elbow_scores, np.shape(elbow_scores), "elbow_scores", "elbow").ravel()
    if scores.shape != (10,):
        fail("elbow_scores should hold one score for each K = 1..10.", got=f"{scores.size} values",
             hint=Hint("elbow.k_from_zero", "K = 1, ..., 10 is np.arange(1, 11) (range(10) starts at 0)") if scores.size in (9, 11) else None,
             diagnosis="elbow.wrong_length")
    ensure(np.all(np.isfinite(scores)), "elbow_scores contains NaN or infinite values.", diagnosis="elbow.not_finite")
    best = np.array([best_kmeans_sse(k) for k in range(1, 11)])
    if np.all(scores >= 0) and np.allclose(scores[0], best[0], rtol=1e-6):
        fail("elbow_scores are positive.", expected=f"{short(-best)} (about)", got=short(scores),
             hint=Hint("elbow.inertia_not_score", "KMeans.score returns minus the sum of squared distances; inertia_ is the positive SSE"))
    if not np.isclose(scores[0], -best[0], rtol=1e-6):
        shifted = np.isclose(scores[0], -best[1], rtol=0.1)
        fail("elbow_scores[0] should be the score of K = 1 on the lab's X.", expected=f"{-best[0]:.4f}", got=f"{scores[0]:.4f}",
             hint=Hint("elbow.starts_at_k2", "the first score belongs to K = 2: K should run 1..10") if shifted else
             Hint("elbow.other_data", "scores must be computed on the lab's X with score(X) of the same data the model was fitted on"))
    sse = -scores
    bad = np.where((sse < 0.9 * best) | (sse > 2.0 * best))[0]
    if len(bad):
        k = int(bad[0]) + 1
        fail(f"elbow_scores[{k - 1}] (K = {k}) is not the score of a K-means fit with {k} clusters on X.",
             expected=f"about {-best[k - 1]:.3f}", got=f"{scores[k - 1]:.3f}",
             hint=Hint("elbow.wrong_order", "are the scores in order K = 1, 2, ..., 10?") if np.all(np.diff(scores[::-1]) >= 0) else None,
             diagnosis="elbow.not_a_kmeans_score")


# --------------------------------------------------------------------------- EM with scikit-learn
def _gmm_view(gmm, what):
    view = gmm.attributes(*GMM_ATTRIBUTES)
    ensure(is_sklearn_class(view.type_name, "GaussianMixture"), f"{what} should be a scikit-learn GaussianMixture.",
           got=view.type_name.rsplit(".", 1)[-1], diagnosis="gmm.not_a_gaussian_mixture")
    return view


def check_em_convergence(gmm, em_snapshots, rng=None):
    """``gmm`` is a 3-component GaussianMixture fitted on the lab's X, converged and a valid mixture (weights
    positive summing to 1, covariances symmetric positive definite) at a fixed point of EM; ``em_snapshots``
    is not empty. The true means are not demanded: a random start may end in another optimum."""
    view = _gmm_view(gmm, "gmm")
    ensure(_number(view.get("n_components")) == 3, "gmm should have 3 components.",
           got=f"n_components={short(view.get('n_components'))}", diagnosis="gmm.wrong_k")
    ensure(view.has("means_"), "gmm has not been fitted.", hint=Hint("gmm.not_fitted", "call gmm.fit(X)"))
    ensure(view.get("converged_") is True or view.get("converged_") is np.True_, "gmm has not converged.",
           hint=Hint("gmm.not_converged", "keep calling gmm.fit(X) (warm_start=True continues where it stopped) until gmm.converged_ is True"))
    ensure(view.get("covariance_type") == "full", "gmm should use full covariances.",
           got=f"covariance_type={short(view.get('covariance_type'))}", diagnosis="gmm.not_full_covariances")
    X = lab_X()
    means = as_float_array("gmm.means_", view.get("means_"), np.shape(view.get("means_")), "gmm", "gmm")
    ensure(means.shape == (3, 2), "gmm was not fitted on the lab's 2-D data.", got=f"means of shape {means.shape}",
           hint=Hint("gmm.fitted_on_other_data", "fit on X loaded from data/lab5_points.npz (not X_sampled or X_new)"))
    weights = as_float_array("gmm.weights_", view.get("weights_"), (3,), "gmm", "gmm")
    covariances = as_float_array("gmm.covariances_", view.get("covariances_"), (3, 2, 2), "gmm", "gmm")
    ensure(np.all(weights > 0) and np.isclose(weights.sum(), 1), "gmm's weights are not a probability vector.", got=short(weights),
           diagnosis="gmm.invalid_weights")
    for k, covariance in enumerate(covariances):
        ensure(np.allclose(covariance, covariance.T) and np.all(np.linalg.eigvalsh(covariance) > 0),
               f"gmm's covariance {k} is not symmetric positive definite.", got=short(covariance), diagnosis="gmm.invalid_covariance")
    average = reference.log_likelihood(X, weights, means, covariances) / len(X)
    lower_bound = _number(view.get("lower_bound_"))
    ensure(lower_bound is not None and abs(average - lower_bound) < 1e-3 * max(1.0, abs(average)),
           "gmm was not fitted on the lab's X: its fit does not belong to these points.",
           expected=f"average log-likelihood on X equal to gmm.lower_bound_ = {short(view.get('lower_bound_'))}", got=f"{average:.4f}",
           hint=Hint("gmm.fitted_on_other_data", "fit on X loaded from data/lab5_points.npz (not X_sampled or X_new)"))
    responsibilities = reference.e_step(X, weights, means, covariances)
    _, next_means, _ = reference.m_step(X, responsibilities)
    ensure(np.abs(next_means - means).max() < 1e-2, "gmm is not at a fixed point of EM: one more EM step still moves the means.",
           expected="means that no longer change", got=f"a change of {np.abs(next_means - means).max():.3g}",
           hint=Hint("gmm.not_converged", "let the loop run until gmm.converged_ is True"))
    snapshots = em_snapshots.value()
    ensure(isinstance(snapshots, (list, tuple)) and len(snapshots) >= 1, "em_snapshots is empty or not a list.",
           got=kind(snapshots), hint=Hint("gmm.no_snapshots", "append a snapshot after every call to fit"))


def _sample_pvalues(X_new, z_new, weights, means, covariances):
    n = len(z_new)
    K = len(weights)
    counts = np.bincount(z_new, minlength=K)
    pvalues = [_stats.binomial_pvalue(counts[k], n, weights[k]) for k in range(K)]
    for k in range(K):
        points = X_new[z_new == k]
        if len(points) >= 2:
            pvalues.append(_stats.mean_pvalue(points, means[k], covariances[k]))
            pvalues.extend(_stats.spread_pvalues(points, means[k], covariances[k]))
    return pvalues


def check_new_samples(X_new, z_new, gmm, rng=None):
    """``X_new, z_new`` are 10,000 draws from ``gmm``: the counts of z_new follow gmm.weights_ and the points
    of each component follow its mean and covariance.

    Exact tests as in ``check_sample_gmm_*`` (binomial counts; chi-square mean and spreads along
    axes, eigenvectors and diagonals): m = 3 + 3 x 7 = 24 tests at level 1e-6 / m each, so draws
    from gmm fail with probability at most 1e-6.
    """
    X_new, z_new = X_new.value(), z_new.value()
    if isinstance(X_new, tuple):
        fail("X_new is a tuple.", hint=Hint("samples.tuple_not_unpacked",
                                            "gmm.sample returns a pair (points, labels): X_new, z_new = gmm.sample(10000)"))
    view = _gmm_view(gmm, "gmm")
    means = view.get("means_")
    ensure(view.has("means_") and np.ndim(means) == 2 and not isinstance(means, Opaque), "gmm should be the fitted GaussianMixture.",
           got=view.type_name, diagnosis="samples.gmm_not_fitted")
    K, d = np.shape(means)
    X = as_float_array("X_new", X_new, np.shape(X_new), "X_new", "samples")
    if X.shape != (10000, d):
        fail(f"X_new should hold 10,000 points in {d}-D.", expected=f"shape (10000, {d})", got=f"shape {X.shape}",
             diagnosis="samples.wrong_shape")
    z = as_labels("z_new", z_new, 10000, "z_new", "samples")
    ensure(z.min() >= 0 and z.max() < K, f"z_new should hold component indices 0..{K - 1}.", got=f"{z.min()}..{z.max()}",
           diagnosis="samples.labels_out_of_range")
    weights = as_float_array("gmm.weights_", view.get("weights_"), (K,), "gmm", "samples")
    covariances = as_float_array("gmm.covariances_", view.get("covariances_"), (K, d, d), "gmm", "samples")
    pvalues = _sample_pvalues(X, z, weights, np.asarray(means, float), covariances)
    if _stats.rejects(pvalues):
        sample_means = np.array([X[z == k].mean(axis=0) if np.any(z == k) else np.full(d, np.nan) for k in range(K)])
        fail("X_new, z_new do not look like draws from gmm.", expected=f"component means near {short(np.asarray(means, float))}",
             got=f"{short(sample_means)}",
             hint=Hint("samples.not_from_gmm", "draw them with X_new, z_new = gmm.sample(10000) from the fitted gmm (not from another model)"))


# --------------------------------------------------------------------------- colour quantisation
MAX_COLOURS = 20
MIN_COLOURS = 10
_quantisation_errors = {}  # image digest -> reference error (the same picture for the whole class)


def reference_quantisation_error(image):
    """Mean squared colour error of a K-means(20) quantisation fitted on 5,000 sampled pixels (cached per image)."""
    key = (image.shape, hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest())
    if key not in _quantisation_errors:
        pixels = image.reshape(-1, image.shape[-1]).astype(float)
        sample = pixels[np.random.default_rng(0).choice(len(pixels), size=min(5000, len(pixels)), replace=False)]
        model = KMeans(n_clusters=MAX_COLOURS, n_init=1, random_state=0).fit(sample)
        quantised = model.cluster_centers_[model.predict(pixels)]
        _quantisation_errors[key] = float(((quantised - pixels) ** 2).mean())
    return _quantisation_errors[key]


def distinct_colours(image):
    """Number of different colours in a uint8 (H, W, channels) image."""
    # One integer per colour: np.unique on integers is about 100x faster than np.unique(axis=0) on rows.
    channels = image.shape[-1]
    codes = image.reshape(-1, channels).astype(np.int64) @ (256 ** np.arange(channels - 1, -1, -1))
    return len(np.unique(codes))


def _check_one_quantisation(name, quantised, image, reference_error, allowance):
    if not isinstance(quantised, np.ndarray):
        fail(f"{name} should be a numpy array (an image).", got=kind(quantised), diagnosis="quantise.not_an_array")
    if quantised.shape != image.shape:
        fail(f"{name} should have the image's shape {image.shape}.", got=f"shape {quantised.shape}",
             hint=Hint("quantise.not_reshaped", "reshape the quantised pixels back with .reshape(image.shape)")
             if quantised.size == image.size else None, diagnosis="quantise.wrong_shape")
    if quantised.dtype != np.uint8:
        fail(f"{name} should have dtype uint8, got {quantised.dtype}.",
             hint=Hint("quantise.not_uint8", "cast with .astype(np.uint8) for plt.imshow"))
    colours = distinct_colours(quantised)
    if colours > MAX_COLOURS:
        fail(f"{name} has {colours} different colours; at most {MAX_COLOURS} expected.",
             hint=Hint("quantise.image_unchanged", "the image looks unchanged: replace each pixel by its cluster's colour")
             if np.array_equal(quantised, image) else
             Hint("quantise.too_many_colours", "replace each pixel by the colour of its cluster centre (20 clusters)"))
    if colours < MIN_COLOURS:
        fail(f"{name} has only {colours} different colours; expected close to {MAX_COLOURS}.",
             hint=Hint("quantise.too_few_colours", "was K = 20 used?"))
    error = float(((quantised.astype(float) - image.astype(float)) ** 2).mean())
    if error > allowance * reference_error + 1.0:
        fail(f"{name} is far from the original image: mean squared colour error {error:.1f}.",
             expected=f"at most about {allowance * reference_error:.1f} (a K-means quantisation with 20 colours reaches {reference_error:.1f})",
             hint=Hint("quantise.wrong_cluster_colours",
                       "each pixel should get the colour of *its own* cluster (predict on the pixels, index the centres with the labels), "
                       "in the image's channel order"))


def check_quantised_images(image, quantised_kmeans, quantised_em, rng=None):
    """Both images: uint8, the image's shape, 10-20 colours, and close to the original (mean squared colour
    error at most 2x (K-means) or 5x (EM: components follow density, not distance) that of a reference K-means quantisation); the EM image is not
    a copy of the K-means one."""
    image, quantised_kmeans, quantised_em = image.value(), quantised_kmeans.value(), quantised_em.value()
    ensure(isinstance(image, np.ndarray) and image.ndim == 3 and image.dtype == np.uint8,
           "image is no longer the loaded picture (an (H, W, 3) uint8 array).", got=kind(image),
           hint=Hint("quantise.image_changed", "keep image as loaded; work on a reshaped copy such as pixels = image.reshape(-1, 3)"))
    reference_error = reference_quantisation_error(image)
    _check_one_quantisation("quantised_kmeans", quantised_kmeans, image, reference_error, 2.0)
    _check_one_quantisation("quantised_em", quantised_em, image, reference_error, 5.0)
    if np.array_equal(quantised_em, quantised_kmeans):
        fail("quantised_em is identical to quantised_kmeans.",
             hint=Hint("quantise.em_copies_kmeans", "use the GaussianMixture's means and its predicted components for quantised_em"))
