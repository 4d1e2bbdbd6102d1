"""Checks for ``get_cluster_assignments(X, centroid_locations)`` and ``get_cluster_centroids(X, cluster_assignments)``.

Each function is graded on fresh inputs drawn here from the grading run's secret ``rng`` (the
sizes, dtypes and layouts of each case are fixed, the numbers are not), never on the student's
earlier outputs. Tie rule for assignments: a point equidistant (up to rounding) from several
nearest centroids may get any of them; the reference takes the lowest index.
"""
import numpy as np

from autograder import reference
from autograder.checks._feedback import Hint, call_student, ensure, fail, short
from autograder.checks._shapes import as_float_array, as_labels, require_array

ASSIGN = "get_cluster_assignments"
CENTROIDS = "get_cluster_centroids"
PART_ASSIGN, PART_CENTROIDS = "assignments", "centroids"


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
    nearest = np.argmin(distances, axis=1)
    if np.array_equal(labels, np.argmax(distances, axis=1)):
        return Hint("assignments.argmax_not_argmin", "every point went to its farthest centroid: argmax instead of argmin?")
    if np.array_equal(labels - 1, nearest):
        return Hint("assignments.one_based_labels", "labels are one too large: Python indices start at 0")
    if len(np.unique(labels)) == 1 and len(np.unique(nearest)) > 1:
        return Hint("assignments.norm_over_whole_array",
                    "every point got the same label: was the distance taken over the whole array (missing axis=...)?")
    if labels.max() < K - 1 and K > 3 and labels.max() <= 2:
        return Hint("assignments.hard_coded_k", f"labels never exceed {labels.max()} although there are K={K} centroids: is K hard-coded?")
    if X.shape[1] > 2 and np.array_equal(labels, reference.get_cluster_assignments(X[:, :2], centroids[:, :2])):
        return Hint("assignments.hard_coded_d", "only the first two coordinates were used: is the dimension hard-coded to 2?")
    if X.shape[1] > 1 and np.array_equal(labels, reference.get_cluster_assignments(X[:, :1], centroids[:, :1])):
        return Hint("assignments.first_coordinate_only", "only the first coordinate was used")
    if np.array_equal(labels, np.argmin(np.abs(X[:, None, :] - centroids[None]).sum(axis=2), axis=1)):
        return Hint("assignments.manhattan_distance", "the labels match the Manhattan (L1) distance, not the Euclidean distance")
    return None


def _check_assignments(get_cluster_assignments, X, centroids, case):
    """Every label must index one of the nearest centroids (see the tie rule in the module docstring)."""
    N, K = len(X), len(centroids)
    what = f"{ASSIGN} on {case} (N={N}, K={K}, d={X.shape[1]}, dtype {X.dtype})"
    distances = reference.squared_distances(X, centroids)
    tolerance = nearest_tolerance(X, centroids)
    result = call_student(get_cluster_assignments, ASSIGN, (X, centroids), f"{case}: X of shape {X.shape}, K={K}",
                          sizes=(K, X.shape[1]), part=PART_ASSIGN)
    labels = as_labels("the result", result, N, what, PART_ASSIGN)
    if labels.min() < 0 or labels.max() >= K:
        fail(f"{what}: labels should be centroid indices 0..{K - 1}.", got=f"values from {labels.min()} to {labels.max()}",
             hint=_assignment_hint(labels, np.asarray(X, float), np.asarray(centroids, float)),
             diagnosis="assignments.labels_out_of_range")
    chosen = distances[np.arange(N), labels]
    wrong = chosen > distances.min(axis=1) + tolerance
    if wrong.any():
        first = int(np.argmax(wrong))
        fail(f"{what}: {wrong.sum()} of {N} points were not assigned to their nearest centroid.",
             expected=f"point {first} -> centroid {int(np.argmin(distances[first]))}",
             got=f"point {first} -> centroid {labels[first]}",
             hint=_assignment_hint(labels, np.asarray(X, float), np.asarray(centroids, float)),
             diagnosis="assignments.not_nearest")


def check_get_cluster_assignments_shape(get_cluster_assignments, rng):
    """Returns an integer numpy array of shape (N,) with values in 0..K-1 (several N, K, d)."""
    for N, K, d in ((10, 3, 2), (1, 2, 1), (6, 5, 4)):
        X, centroids, _ = blobs(rng, N, K, d)
        what = f"{ASSIGN} with X of shape {X.shape} and {K} centroids"
        result = call_student(get_cluster_assignments, ASSIGN, (X, centroids), f"X of shape {X.shape}, K={K}",
                              sizes=(K, d), part=PART_ASSIGN)
        require_array("the result", result, (N,), "i", what, PART_ASSIGN)
        ensure(result.min() >= 0 and result.max() < K, f"{what}: labels should be centroid indices 0..{K - 1}.",
               got=f"values from {result.min()} to {result.max()}", diagnosis="assignments.labels_out_of_range")


def check_get_cluster_assignments_easy(get_cluster_assignments, rng):
    """Correct nearest-centroid labels on well-separated 2-D data with K=3 (float64, no ties)."""
    X, centres, _ = blobs(rng, 60, 3, 2)
    _check_assignments(get_cluster_assignments, X, centres + rng.normal(size=centres.shape) * 0.3, "well-separated 2-D data")


def exact_ties(rng):
    """Points exactly on the bisector of two centroids (small integers: exact in float64), and two off it."""
    a, b = rng.integers(-5, 6, size=2).astype(float)
    s = float(rng.integers(1, 4))
    ys = rng.choice(np.arange(-6, 7), size=3, replace=False).astype(float)
    points = [[a + s, b + ys[0]], [a + s, b + ys[1]], [a + s, b], [a + 2 * s + 2, b + 0.5], [a - 6, b + 0.25]]
    centroids = [[a, b], [a + 2 * s, b], [a + 9 + 2 * s, b + 9 + abs(ys).max()]]
    return np.array(points), np.array(centroids)


def hard_assignment_cases(rng):
    """(name, X, centroids): float32, non-contiguous, several K (2-6) and d (1-5), exact ties, N = 1."""
    cases = []
    X, C, _ = blobs(rng, 80, 5, 3, spread=3.0, dtype=np.float32)
    cases.append(("float32 3-D data with K=5 overlapping clusters", X, C))
    X, C, _ = blobs(rng, 120, 6, 4, spread=2.5)
    cases.append(("non-contiguous 4-D data with K=6", np.asfortranarray(X)[::2], C[::-1]))
    big = rng.normal(size=(50, 10)) * 4
    cases.append(("a strided view of 1-D data with K=2", big[:, 3:4], np.sort(rng.normal(size=(2, 1)) * 2, axis=0)))
    X, C, _ = blobs(rng, 40, 4, 5, spread=4.0)
    cases.append(("5-D data with K=4", X, C))
    ties, tie_centroids = exact_ties(rng)
    cases.append(("points equidistant from two centroids (any nearest index is accepted)", ties, tie_centroids))
    cases.append(("a single point with K=3", rng.normal(size=(1, 2)), rng.normal(size=(3, 2)) * 3))
    return cases


def check_get_cluster_assignments_hard(get_cluster_assignments, rng):
    """Nearest-centroid labels on float32, non-contiguous, K = 2..6, d = 1..5, exact ties and N = 1."""
    for name, X, centroids in hard_assignment_cases(rng):
        _check_assignments(get_cluster_assignments, X, centroids, name)


# --------------------------------------------------------------------------- centroids
def _centroid_hint(result, X, labels, expected, occupied):
    """Name a recognisable mistake in wrong centroids."""
    X64 = np.asarray(X, float)
    K = len(expected)
    counts = np.bincount(labels, minlength=K)

    def close(candidate):
        return np.allclose(result[occupied], candidate[occupied], rtol=1e-4, atol=1e-6 * (1 + np.abs(X64).max()))

    medians = np.array([np.median(X64[labels == k], axis=0) if counts[k] else np.zeros(X64.shape[1]) for k in range(K)])
    sums = np.array([X64[labels == k].sum(axis=0) for k in range(K)])
    if close(medians):
        return Hint("centroids.medians_not_means", "these are the medians of the clusters, not their means")
    if close(sums / len(X64)):
        return Hint("centroids.divided_by_N", "each sum was divided by N (all points) instead of the size of its cluster")
    if close(sums):
        return Hint("centroids.sums_not_means", "these are the sums of the points in each cluster: divide by the cluster sizes")
    if np.issubdtype(np.asarray(X).dtype, np.integer):
        wrapped = np.array([np.asarray(X)[labels == k].sum(axis=0, dtype=np.asarray(X).dtype) for k in range(K)], float)
        if close(wrapped / np.maximum(counts, 1)[:, None]):
            return Hint("centroids.uint8_overflow",
                        "the sums wrapped around: adding uint8 pixels overflows (Python's sum keeps the uint8 type); "
                        "convert to float first or use np.mean")
        if close(np.floor(expected)) or close(np.round(expected)):
            return Hint("centroids.integer_result",
                        "the centroids were rounded to whole numbers: the result array has the input's integer dtype (use float)")
    order = list(dict.fromkeys(labels.tolist()))
    if len(order) == K and np.allclose(result, expected[order], rtol=1e-6, atol=1e-9):
        return Hint("centroids.rows_in_order_of_appearance",
                    "row k must be the mean of the points labelled k: the rows follow the order in which labels first appear")
    return None


def _check_centroids(get_cluster_centroids, X, labels, case, rtol):
    """The (K, d) result must match the cluster means in every non-empty cluster."""
    K, d = int(np.max(labels)) + 1, X.shape[1]
    what = f"{CENTROIDS} on {case} (N={len(X)}, K={K}, d={d}, X dtype {X.dtype})"
    expected = reference.get_cluster_centroids(X, labels)
    result = call_student(get_cluster_centroids, CENTROIDS, (X, labels), f"{case}: X of shape {X.shape}, K={K}",
                          sizes=(K, d), part=PART_CENTROIDS)
    if np.shape(result) == (K - 1, d) and len(np.unique(labels)) == K - 1:
        fail(f"{what}: expected {K} rows (labels.max() + 1), got {K - 1}.",
             hint=Hint("centroids.k_from_distinct_labels", "cluster labels skip a value here (an empty cluster): "
                                                           "K must be labels.max() + 1, not the number of distinct labels"))
    centroids = as_float_array("the result", result, (K, d), what, PART_CENTROIDS)
    occupied = np.bincount(labels, minlength=K) > 0
    scale = 1.0 + np.abs(np.asarray(X, float)).max()
    if not np.allclose(centroids[occupied], expected[occupied], rtol=rtol, atol=rtol * scale):
        bad = int(np.argmax(np.any(~np.isclose(centroids, expected, rtol=rtol, atol=rtol * scale), axis=1) & occupied))
        fail(f"{what}: centroid {bad} is not the mean of the points labelled {bad}.",
             expected=short(expected[bad]), got=short(centroids[bad]),
             hint=_centroid_hint(centroids, X, labels, expected, occupied), diagnosis="centroids.not_the_means")


def check_get_cluster_centroids_shape(get_cluster_centroids, rng):
    """Returns a float numpy array of shape (K, d), K = labels.max() + 1 (several N, K, d)."""
    for N, K, d in ((10, 3, 2), (4, 2, 1), (12, 4, 4)):
        X, _, labels = blobs(rng, N, K, d)
        what = f"{CENTROIDS} with X of shape {X.shape} and labels 0..{K - 1}"
        result = call_student(get_cluster_centroids, CENTROIDS, (X, labels), f"X of shape {X.shape}, K={K}",
                              sizes=(K, d), part=PART_CENTROIDS)
        require_array("the result", result, (K, d), "f", what, PART_CENTROIDS)


def check_get_cluster_centroids_easy(get_cluster_centroids, rng):
    """Cluster means on 2-D float64 data with K=3, every cluster non-empty."""
    X, _, labels = blobs(rng, 60, 3, 2)
    # Clusters mixed (so the means differ from the blob centres), and labels not first met in the
    # order 0, 1, 2: rows built in order of appearance must not pass by luck.
    labels = rng.permutation(labels)
    while list(dict.fromkeys(labels.tolist())) == sorted(set(labels.tolist())):
        labels = rng.permutation(labels)
    _check_centroids(get_cluster_centroids, X, labels, "2-D data with K=3", rtol=1e-7)


def hard_centroid_cases(rng):
    """(name, X, labels, rtol): uint8 pixels, float32, non-contiguous, an empty cluster, d = 1, K = 6."""
    cases = []
    pixels = rng.integers(120, 256, size=(400, 3), dtype=np.uint8)  # bright pixels: sums overflow uint8
    cases.append(("uint8 pixel colours with K=5", pixels, rng.permutation(np.arange(400) % 5).astype(np.int32), 1e-7))
    X = rng.normal(size=(300, 2)).astype(np.float32) * 3 + 10
    cases.append(("float32 2-D data with K=4", X, rng.permutation(np.arange(300) % 4), 1e-5))
    X = rng.normal(size=(200, 8))
    labels = rng.permutation(np.arange(400) % 6)[::2]
    cases.append(("a non-contiguous view of 4-D data with K=6", X[:, ::2], labels, 1e-7))
    labels = rng.permutation(np.arange(90) % 3)
    labels = np.where(labels == 2, 3, labels).astype(np.uint8)  # label 2 never occurs: an empty cluster
    cases.append(("3-D data with an empty cluster (label 2 unused; its row is not graded)", rng.normal(size=(90, 3)), labels, 1e-7))
    cases.append(("1-D data with K=2", rng.normal(size=(30, 1)), np.arange(30) % 2, 1e-7))
    return cases


def check_get_cluster_centroids_hard(get_cluster_centroids, rng):
    """Cluster means on uint8 pixels (a Python ``sum`` overflows), float32, non-contiguous data, an empty cluster, d=1, K=6."""
    for name, X, labels, rtol in hard_centroid_cases(rng):
        _check_centroids(get_cluster_centroids, X, labels, name, rtol)
