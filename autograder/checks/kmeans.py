"""Checks for ``get_cluster_assignments(X, centroid_locations)`` and ``get_cluster_centroids(X, cluster_assignments)``.

Each function is graded on fresh inputs built here from the reference implementation, never on
the student's earlier outputs. Tie rule for assignments: a point equidistant (up to rounding) from
several nearest centroids may get any of them; the reference takes the lowest index.
"""
import numpy as np

from autograder import reference
from autograder.checks._feedback import call_student, ensure, fail, graded_check, short
from autograder.checks._shapes import as_float_array, as_labels, input_copy, require_array

ASSIGN = "get_cluster_assignments"
CENTROIDS = "get_cluster_centroids"


def blobs(rng, N, K, d, spread=0.6, separation=6.0, dtype=float):
    """N points around K well-separated centres: (X, centres, true labels)."""
    centres = rng.normal(size=(K, d)) * separation
    labels = np.arange(N) % K
    X = centres[labels] + rng.normal(size=(N, d)) * spread
    return X.astype(dtype), centres.astype(dtype), labels


# --------------------------------------------------------------------------- assignments
def nearest_tolerance(X, centroids):
    """How far above the smallest squared distance a label may be and still count as nearest.

    Float64 inputs leave room for rounding only; float32 inputs may be computed in float32 (about
    7 significant digits), so their tolerance is relative to the squared magnitudes involved.
    """
    X64, C64 = np.asarray(X, float), np.asarray(centroids, float)
    magnitude = (X64**2).sum(axis=1) + (C64**2).sum(axis=1).max() + 1.0
    relative = 1e-5 if np.asarray(X).dtype == np.float32 or np.asarray(centroids).dtype == np.float32 else 1e-9
    return relative * magnitude


def _assignment_hint(labels, X, centroids):
    """Name a recognisable mistake in wrong labels."""
    distances = reference.squared_distances(X, centroids)
    K = len(centroids)
    if np.array_equal(labels, np.argmax(distances, axis=1)):
        return "every point went to its farthest centroid: argmax instead of argmin?"
    if np.array_equal(labels - 1, np.argmin(distances, axis=1)):
        return "labels are one too large: Python indices start at 0"
    if len(np.unique(labels)) == 1 and len(np.unique(np.argmin(distances, axis=1))) > 1:
        return "every point got the same label: was the distance taken over the whole array (missing axis=...)?"
    if labels.max() < K - 1 and K > 3 and labels.max() <= 2:
        return f"labels never exceed {labels.max()} although there are K={K} centroids: is K hard-coded?"
    if X.shape[1] > 2 and np.array_equal(labels, reference.get_cluster_assignments(X[:, :2], centroids[:, :2])):
        return "only the first two coordinates were used: is the dimension hard-coded to 2?"
    if X.shape[1] > 1 and np.array_equal(labels, reference.get_cluster_assignments(X[:, :1], centroids[:, :1])):
        return "only the first coordinate was used"
    if np.array_equal(labels, np.argmin(np.abs(X[:, None, :] - centroids[None]).sum(axis=2), axis=1)):
        return "the labels match the Manhattan (L1) distance, not the Euclidean distance"
    return None


def _check_assignments(get_cluster_assignments, X, centroids, case):
    """Every label must index one of the nearest centroids (see the tie rule in the module docstring)."""
    N, K = len(X), len(centroids)
    what = f"{ASSIGN} on {case} (N={N}, K={K}, d={X.shape[1]}, dtype {X.dtype})"
    # Everything the verdict needs is computed before the student's code can touch the inputs.
    distances = reference.squared_distances(X, centroids)
    tolerance = nearest_tolerance(X, centroids)
    result = call_student(get_cluster_assignments, ASSIGN, (input_copy(X), input_copy(centroids)), f"{case}: X of shape {X.shape}, K={K}", sizes=(K, X.shape[1]))
    labels = as_labels("the result", result, N, what)
    if labels.min() < 0 or labels.max() >= K:
        fail(f"{what}: labels should be centroid indices 0..{K - 1}.", got=f"values from {labels.min()} to {labels.max()}",
             hint=_assignment_hint(labels, np.asarray(X, float), np.asarray(centroids, float)))
    chosen = distances[np.arange(N), labels]
    wrong = chosen > distances.min(axis=1) + tolerance
    if wrong.any():
        first = int(np.argmax(wrong))
        fail(f"{what}: {wrong.sum()} of {N} points were not assigned to their nearest centroid.",
             expected=f"point {first} -> centroid {int(np.argmin(distances[first]))}",
             got=f"point {first} -> centroid {labels[first]}",
             hint=_assignment_hint(labels, np.asarray(X, float), np.asarray(centroids, float)))


@graded_check
def check_get_cluster_assignments_shape(get_cluster_assignments):
    """Returns an integer numpy array of shape (N,) with values in 0..K-1 (several N, K, d)."""
    rng = np.random.default_rng(11)
    for N, K, d in ((10, 3, 2), (1, 2, 1), (6, 5, 4)):
        X, centroids, _ = blobs(rng, N, K, d)
        what = f"{ASSIGN} with X of shape {X.shape} and {K} centroids"
        result = call_student(get_cluster_assignments, ASSIGN, (X, centroids), f"X of shape {X.shape}, K={K}", sizes=(K, d))
        require_array("the result", result, (N,), "i", what)
        ensure(result.min() >= 0 and result.max() < K, f"{what}: labels should be centroid indices 0..{K - 1}.",
               got=f"values from {result.min()} to {result.max()}")


@graded_check
def check_get_cluster_assignments_easy(get_cluster_assignments):
    """Correct nearest-centroid labels on well-separated 2-D data with K=3 (float64, no ties)."""
    X, centres, _ = blobs(np.random.default_rng(12), 60, 3, 2)
    _check_assignments(get_cluster_assignments, X, centres + 0.3, "well-separated 2-D data")


def hard_assignment_cases():
    """(name, X, centroids): float32, non-contiguous, several K (2-6) and d (1-5), exact ties, N = 1."""
    rng = np.random.default_rng(13)
    cases = []
    X, C, _ = blobs(rng, 80, 5, 3, spread=3.0, dtype=np.float32)
    cases.append(("float32 3-D data with K=5 overlapping clusters", X, C))
    X, C, _ = blobs(rng, 120, 6, 4, spread=2.5)
    cases.append(("non-contiguous 4-D data with K=6", np.asfortranarray(X)[::2], C[:, :][::-1]))
    big = rng.normal(size=(50, 10)) * 4
    cases.append(("a strided view of 1-D data with K=2", big[:, 3:4], np.array([[-1.0], [1.5]])))
    X, C, _ = blobs(rng, 40, 4, 5, spread=4.0)
    cases.append(("5-D data with K=4", X, C))
    # Exact ties: points on the perpendicular bisector of two centroids, exactly representable.
    ties = np.array([[1.0, 5.0], [1.0, -3.0], [1.0, 0.0], [4.0, 0.5], [-6.0, 0.25]])
    cases.append(("points equidistant from two centroids (any nearest index is accepted)", ties,
                  np.array([[0.0, 0.0], [2.0, 0.0], [9.0, 9.0]])))
    cases.append(("a single point with K=3", np.array([[0.5, -0.5]]), np.array([[3.0, 3.0], [0.0, 0.0], [-3.0, 1.0]])))
    return cases


@graded_check
def check_get_cluster_assignments_hard(get_cluster_assignments):
    """Nearest-centroid labels on float32, non-contiguous, K = 2..6, d = 1..5, exact ties and N = 1."""
    for name, X, centroids in hard_assignment_cases():
        _check_assignments(get_cluster_assignments, X, centroids, name)


# --------------------------------------------------------------------------- centroids
def _centroid_hint(result, X, labels, expected, occupied):
    """Name a recognisable mistake in wrong centroids."""
    X64 = np.asarray(X, float)
    K = len(expected)
    counts = np.bincount(labels, minlength=K)
    close = lambda candidate: np.allclose(result[occupied], candidate[occupied], rtol=1e-4, atol=1e-6 * (1 + np.abs(X64).max()))
    medians = np.array([np.median(X64[labels == k], axis=0) if counts[k] else np.zeros(X64.shape[1]) for k in range(K)])
    sums = np.array([X64[labels == k].sum(axis=0) for k in range(K)])
    if close(medians):
        return "these are the medians of the clusters, not their means"
    if close(sums / len(X64)):
        return "each sum was divided by N (all points) instead of the size of its cluster"
    if close(sums):
        return "these are the sums of the points in each cluster: divide by the cluster sizes"
    if np.issubdtype(np.asarray(X).dtype, np.integer):
        wrapped = np.array([np.asarray(X)[labels == k].sum(axis=0, dtype=np.asarray(X).dtype) for k in range(K)], float)
        if close(wrapped / np.maximum(counts, 1)[:, None]):
            return ("the sums wrapped around: adding uint8 pixels overflows (Python's sum keeps the uint8 type); "
                    "convert to float first or use np.mean")
        if close(np.floor(expected)) or close(np.round(expected)):
            return "the centroids were rounded to whole numbers: the result array has the input's integer dtype (use float)"
    order = list(dict.fromkeys(labels.tolist()))
    if len(order) == K and np.allclose(result, expected[order], rtol=1e-6, atol=1e-9):
        return "row k must be the mean of the points labelled k: the rows follow the order in which labels first appear"
    return None


def _check_centroids(get_cluster_centroids, X, labels, case, rtol):
    """The (K, d) result must match the cluster means in every non-empty cluster."""
    K, d = int(np.max(labels)) + 1, X.shape[1]
    what = f"{CENTROIDS} on {case} (N={len(X)}, K={K}, d={d}, X dtype {X.dtype})"
    expected = reference.get_cluster_centroids(X, labels)
    result = call_student(get_cluster_centroids, CENTROIDS, (input_copy(X), input_copy(labels)), f"{case}: X of shape {X.shape}, K={K}", sizes=(K, d))
    if np.shape(result) == (K - 1, d) and len(np.unique(labels)) == K - 1:
        fail(f"{what}: expected {K} rows (labels.max() + 1), got {K - 1}.",
             hint="cluster labels skip a value here (an empty cluster): K must be labels.max() + 1, not the number of distinct labels")
    centroids = as_float_array("the result", result, (K, d), what)
    occupied = np.bincount(labels, minlength=K) > 0
    scale = 1.0 + np.abs(np.asarray(X, float)).max()
    if not np.allclose(centroids[occupied], expected[occupied], rtol=rtol, atol=rtol * scale):
        bad = int(np.argmax(np.any(~np.isclose(centroids, expected, rtol=rtol, atol=rtol * scale), axis=1) & occupied))
        fail(f"{what}: centroid {bad} is not the mean of the points labelled {bad}.",
             expected=short(expected[bad]), got=short(centroids[bad]),
             hint=_centroid_hint(centroids, X, labels, expected, occupied))


@graded_check
def check_get_cluster_centroids_shape(get_cluster_centroids):
    """Returns a float numpy array of shape (K, d), K = labels.max() + 1 (several N, K, d)."""
    rng = np.random.default_rng(21)
    for N, K, d in ((10, 3, 2), (4, 2, 1), (12, 4, 4)):
        X, _, labels = blobs(rng, N, K, d)
        what = f"{CENTROIDS} with X of shape {X.shape} and labels 0..{K - 1}"
        result = call_student(get_cluster_centroids, CENTROIDS, (X, labels), f"X of shape {X.shape}, K={K}", sizes=(K, d))
        require_array("the result", result, (K, d), "f", what)


@graded_check
def check_get_cluster_centroids_easy(get_cluster_centroids):
    """Cluster means on 2-D float64 data with K=3, every cluster non-empty."""
    X, _, labels = blobs(np.random.default_rng(22), 60, 3, 2)
    labels = np.random.default_rng(23).permutation(labels)  # clusters mixed, so the means differ from the blob centres
    _check_centroids(get_cluster_centroids, X, labels, "2-D data with K=3", rtol=1e-7)


def hard_centroid_cases():
    """(name, X, labels, rtol): uint8 pixels, float32, non-contiguous, an empty cluster, d = 1, K = 6."""
    rng = np.random.default_rng(24)
    cases = []
    pixels = rng.integers(120, 256, size=(400, 3), dtype=np.uint8)  # bright pixels: sums overflow uint8
    cases.append(("uint8 pixel colours with K=5", pixels, rng.integers(0, 5, size=400).astype(np.int32), 1e-7))
    X = rng.normal(size=(300, 2)).astype(np.float32) * 3 + 10
    cases.append(("float32 2-D data with K=4", X, rng.integers(0, 4, size=300), 1e-5))
    X = rng.normal(size=(200, 8))
    labels = rng.integers(0, 6, size=400)[::2]
    cases.append(("a non-contiguous view of 4-D data with K=6", X[:, ::2], labels, 1e-7))
    labels = rng.choice([0, 1, 3], size=90).astype(np.uint8)  # label 2 never occurs: an empty cluster
    cases.append(("3-D data with an empty cluster (label 2 unused; its row is not graded)", rng.normal(size=(90, 3)), labels, 1e-7))
    cases.append(("1-D data with K=2", rng.normal(size=(30, 1)), np.arange(30) % 2, 1e-7))
    return cases


@graded_check
def check_get_cluster_centroids_hard(get_cluster_centroids):
    """Cluster means on uint8 pixels (a Python ``sum`` overflows), float32, non-contiguous data, an empty cluster, d=1, K=6."""
    for name, X, labels, rtol in hard_centroid_cases():
        _check_centroids(get_cluster_centroids, X, labels, name, rtol)
