"""Checks of the notebook's scikit-learn parts: right answers pass, typical wrong ones fail with a named mistake.

Every object is built with a fixed random_state, so these tests are deterministic.
"""
import re
import warnings

import imageio.v3 as iio
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from autograder import lab
from autograder.course import IMAGES_DIR
from autograder.verifier.local import judge

X = lab.lab_points()[0]
OTHER_X = np.random.default_rng(1).normal(size=(250, 2)) * 3
SNAPSHOTS = [(np.ones(3) / 3, np.zeros((3, 2)), np.array([np.eye(2)] * 3))]  # em_snapshots with one round


def fails_with(pattern, check, *args):
    outcome = judge(check, *args)
    assert not outcome.passed and re.search(pattern, outcome.message), outcome


def passes(check, *args):
    outcome = judge(check, *args)
    assert outcome.passed, outcome.message


def sheet_em_loop(data, seed):
    """The sheet's warm-start loop of section 3.1."""
    gmm = GaussianMixture(n_components=3, max_iter=10, warm_start=True, init_params="random", tol=1e-8, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(100):
            gmm.fit(data)
            if gmm.converged_:
                break
    return gmm


def test_kmeans():
    passes("kmeans_sklearn", KMeans(n_clusters=3, n_init=10, random_state=0).fit(X))
    fails_with(r"not X_sampled or X_new", "kmeans_sklearn", KMeans(n_clusters=3, n_init=3, random_state=0).fit(OTHER_X))
    fails_with(r"kmeans\.fit\(X\) returns the fitted model", "kmeans_sklearn", KMeans(n_clusters=3, random_state=0).fit_predict(X))
    fails_with(r"n_clusters=4", "kmeans_sklearn", KMeans(n_clusters=4, n_init=3, random_state=0).fit(X))
    fails_with(r"call kmeans\.fit\(X\)", "kmeans_sklearn", KMeans(n_clusters=3))


def test_elbow_scores():
    models = [KMeans(n_clusters=k, n_init=3, random_state=0).fit(X) for k in range(1, 12)]
    passes("elbow_scores", np.array([m.score(X) for m in models[:10]]))
    passes("elbow_scores", [m.score(X) for m in models[:10]])  # a list is fine
    fails_with(r"inertia_", "elbow_scores", np.array([m.inertia_ for m in models[:10]]))
    fails_with(r"K should run 1\.\.10", "elbow_scores", np.array([m.score(X) for m in models[1:11]]))
    fails_with(r"np\.arange\(1, 11\)", "elbow_scores", np.array([m.score(X) for m in models[:9]]))


@pytest.mark.parametrize("seed", [0, 2, 5])
def test_the_sheets_em_loop_passes_from_any_start(seed):
    passes("em_convergence", sheet_em_loop(X, seed), [("weights", "means", "covariances")])


def test_em_convergence_mistakes():
    fails_with(r"not X_sampled or X_new", "em_convergence", sheet_em_loop(OTHER_X, 0), SNAPSHOTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unfinished = GaussianMixture(n_components=3, max_iter=1, init_params="random", tol=1e-12, random_state=0).fit(X)
    fails_with(r"has not converged", "em_convergence", unfinished, SNAPSHOTS)
    fails_with(r"append a snapshot", "em_convergence", sheet_em_loop(X, 0), [])
    fails_with(r"3 components", "em_convergence", GaussianMixture(n_components=2, random_state=0).fit(X), SNAPSHOTS)


def test_new_samples():
    gmm = sheet_em_loop(X, 2)
    passes("new_samples", *gmm.sample(10000), gmm)
    fails_with(r"X_new, z_new = gmm\.sample\(10000\)", "new_samples", gmm.sample(10000), None, gmm)
    other = sheet_em_loop(OTHER_X, 0)
    fails_with(r"not from another model", "new_samples", *other.sample(10000), gmm)
    fails_with(r"10,000 points", "new_samples", *gmm.sample(1000), gmm)


@pytest.fixture(scope="module")
def quantisation():
    image = iio.imread(IMAGES_DIR / "sunset.jpg")[..., :3]
    pixels = image.reshape(-1, 3).astype(float)
    sample = pixels[np.random.default_rng(0).choice(len(pixels), size=5000, replace=False)]
    kmeans = KMeans(n_clusters=20, n_init=3, random_state=0).fit(sample)
    gmm = GaussianMixture(n_components=20, random_state=0).fit(sample)
    colours = kmeans.cluster_centers_[kmeans.predict(pixels)].reshape(image.shape)
    em = gmm.means_[gmm.predict(pixels)].reshape(image.shape).round().astype(np.uint8)
    return image, colours, em, kmeans, pixels


def test_quantised_images(quantisation):
    image, colours, em, kmeans, pixels = quantisation
    passes("quantised_images", image, colours.round().astype(np.uint8), em)
    passes("quantised_images", image, colours.astype(np.uint8), em)  # truncation instead of rounding is fine
    fails_with(r"astype\(np\.uint8\)", "quantised_images", image, colours, em)
    fails_with(r"reshape\(image\.shape\)", "quantised_images", image, colours.astype(np.uint8).reshape(-1, 3), em)
    as_kmeans = colours.round().astype(np.uint8)
    fails_with(r"identical", "quantised_images", image, as_kmeans, as_kmeans.copy())
    shuffled = kmeans.cluster_centers_[np.roll(np.arange(20), 1)][kmeans.predict(pixels)].reshape(image.shape).astype(np.uint8)
    fails_with(r"its own\* cluster", "quantised_images", image, shuffled, em)
    few = KMeans(n_clusters=6, n_init=1, random_state=0).fit(pixels[::50])
    fails_with(r"K = 20", "quantised_images", image, few.cluster_centers_[few.predict(pixels)].reshape(image.shape).astype(np.uint8), em)
    fails_with(r"looks unchanged", "quantised_images", image, image.copy(), em)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_distinct_colours_counts_rows_like_numpy_unique(channels):
    from autograder.checks.library import distinct_colours

    rng = np.random.default_rng(channels)
    palette = rng.integers(0, 256, size=(17, channels), dtype=np.uint8)
    image = palette[rng.integers(0, 17, size=(60, 80))]
    image[0, 0] = 255  # the extreme values must not collide with others when packed
    assert distinct_colours(image) == len(np.unique(image.reshape(-1, channels), axis=0))
