"""Student-style ``get_cluster_centroids`` implementations."""
import numpy as np

from corpus.implementations import Registry

registry = Registry("get_cluster_centroids")


@registry.correct("list comprehension of per-cluster means")
def comprehension(X, cluster_assignments):
    return np.array([X[cluster_assignments == k].mean(axis=0) for k in range(cluster_assignments.max() + 1)])


@registry.correct("np.add.at sums divided by np.bincount counts")
def add_at(X, cluster_assignments):
    K = cluster_assignments.max() + 1
    sums = np.zeros((K, X.shape[1]))
    np.add.at(sums, cluster_assignments, X)
    return sums / np.bincount(cluster_assignments, minlength=K)[:, None]


@registry.correct("explicit loops accumulating Python floats")
def loops(X, cluster_assignments):
    K = int(max(cluster_assignments)) + 1
    d = X.shape[1]
    sums = [[0.0] * d for _ in range(K)]
    counts = [0] * K
    for point, label in zip(X, cluster_assignments):
        counts[label] += 1
        for j in range(d):
            sums[label][j] += float(point[j])
    return np.array([[s / c if c else np.nan for s in row] for row, c in zip(sums, counts)])


@registry.correct("one-hot matrix product")
def one_hot(X, cluster_assignments):
    K = cluster_assignments.max() + 1
    membership = np.eye(K)[cluster_assignments]
    return membership.T @ X.astype(float) / membership.sum(axis=0)[:, None]


@registry.mutant("median instead of mean", r"median")
def median(X, cluster_assignments):
    return np.array([np.median(X[cluster_assignments == k], axis=0) for k in range(cluster_assignments.max() + 1)])


@registry.mutant("divides every cluster's sum by N", r"divided by N")
def divides_by_n(X, cluster_assignments):
    return np.array([X[cluster_assignments == k].sum(axis=0) / len(X) for k in range(cluster_assignments.max() + 1)])


@registry.mutant("returns the sums, not the means", r"sums")
def sums_only(X, cluster_assignments):
    return np.array([X[cluster_assignments == k].sum(axis=0) for k in range(cluster_assignments.max() + 1)], dtype=float)


@registry.mutant("Python sum over the rows: uint8 pixels overflow", r"overflow|wrapped")
def python_sum(X, cluster_assignments):
    centroids = []
    for k in range(cluster_assignments.max() + 1):
        members = X[cluster_assignments == k]
        centroids.append(sum(members) / len(members) if len(members) else np.full(X.shape[1], np.nan))
    return np.array(centroids, dtype=float)


@registry.mutant("one row per distinct label (np.unique): an empty cluster shifts the rows", r"labels\.max\(\) \+ 1")
def unique_labels(X, cluster_assignments):
    return np.array([X[cluster_assignments == k].mean(axis=0) for k in np.unique(cluster_assignments)])


@registry.mutant("rows in the order the labels first appear", r"order")
def appearance_order(X, cluster_assignments):
    return np.array([X[cluster_assignments == k].mean(axis=0) for k in dict.fromkeys(cluster_assignments.tolist())])


@registry.mutant("K hard-coded to 3", r"hard-coded")
def hard_coded_k(X, cluster_assignments):
    return np.array([X[cluster_assignments == k].mean(axis=0) for k in range(3)])


@registry.mutant("mean over the wrong axis", r"wrong axis")
def wrong_axis(X, cluster_assignments):
    return np.array([X[cluster_assignments == k].mean(axis=1) for k in range(cluster_assignments.max() + 1)])


@registry.mutant("result array in the input's dtype: uint8 means are truncated", r"whole numbers|integer dtype")
def input_dtype(X, cluster_assignments):
    K = cluster_assignments.max() + 1
    centroids = np.zeros((K, X.shape[1]), dtype=X.dtype)
    for k in range(K):
        if np.any(cluster_assignments == k):
            centroids[k] = X[cluster_assignments == k].mean(axis=0)
    return centroids


@registry.mutant("returns the transpose, shape (d, K)", r"transposed")
def transposed(X, cluster_assignments):
    return comprehension(X, cluster_assignments).T
