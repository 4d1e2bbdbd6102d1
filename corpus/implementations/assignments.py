"""Student-style ``get_cluster_assignments`` implementations."""
import math

import numpy as np
from scipy.spatial.distance import cdist

from corpus.implementations import Registry

registry = Registry("get_cluster_assignments")


@registry.correct("broadcasting with np.linalg.norm")
def broadcast_norm(X, centroid_locations):
    return np.argmin(np.linalg.norm(X[:, None, :] - centroid_locations[None, :, :], axis=2), axis=1)


@registry.correct("Python loops over points and centroids with math.dist")
def loops(X, centroid_locations):
    labels = np.zeros(len(X), dtype=int)
    for i, point in enumerate(X):
        best, best_distance = 0, math.inf
        for k, centroid in enumerate(centroid_locations):
            distance = math.dist(point, centroid)
            if distance < best_distance:
                best, best_distance = k, distance
        labels[i] = best
    return labels


@registry.correct("scipy.spatial.distance.cdist")
def with_cdist(X, centroid_locations):
    return cdist(X, centroid_locations).argmin(axis=1)


@registry.correct("squared distances by the expansion |x|^2 - 2 x.c + |c|^2, int32 labels")
def expansion(X, centroid_locations):
    squared = (X**2).sum(axis=1)[:, None] - 2 * X @ centroid_locations.T + (centroid_locations**2).sum(axis=1)[None, :]
    return np.argmin(squared, axis=1).astype(np.int32)


@registry.correct("one distance column per centroid, stacked")
def per_centroid_columns(X, centroid_locations):
    columns = [np.sum((X - centroid) ** 2, axis=1) for centroid in centroid_locations]
    return np.argmin(np.column_stack(columns), axis=1)


@registry.mutant("argmax instead of argmin", r"farthest|argmax")
def argmax(X, centroid_locations):
    return np.argmax(np.linalg.norm(X[:, None, :] - centroid_locations[None, :, :], axis=2), axis=1)


@registry.mutant("returns the distance matrix instead of indices", r"distances")
def returns_distances(X, centroid_locations):
    return np.linalg.norm(X[:, None, :] - centroid_locations[None, :, :], axis=2)


@registry.mutant("returns a Python list", r"numpy array|np\.array")
def returns_list(X, centroid_locations):
    return [int(np.argmin(np.linalg.norm(centroid_locations - x, axis=1))) for x in X]


@registry.mutant("returns a column of shape (N, 1)", r"column|flatten")
def column(X, centroid_locations):
    return broadcast_norm(X, centroid_locations)[:, None]


@registry.mutant("returns float labels", r"astype\(int\)|integer")
def float_labels(X, centroid_locations):
    return broadcast_norm(X, centroid_locations).astype(float)


@registry.mutant("np.linalg.norm without axis: one number per centroid, the same label for every point", r"same label|axis")
def norm_without_axis(X, centroid_locations):
    distances = np.array([np.linalg.norm(X - centroid) for centroid in centroid_locations])
    return np.full(len(X), np.argmin(distances))


@registry.mutant("K hard-coded to 3", r"hard-coded")
def hard_coded_k(X, centroid_locations):
    distances = np.zeros((len(X), 3))
    for k in range(3):
        distances[:, k] = np.linalg.norm(X - centroid_locations[k], axis=1)
    return np.argmin(distances, axis=1)


@registry.mutant("labels start at 1", r"one too large|start at 0")
def one_based(X, centroid_locations):
    return broadcast_norm(X, centroid_locations) + 1


@registry.mutant("Manhattan (L1) distance", r"Manhattan")
def manhattan(X, centroid_locations):
    return np.argmin(np.abs(X[:, None, :] - centroid_locations[None, :, :]).sum(axis=2), axis=1)


@registry.mutant("only the first coordinate used", r"first coordinate")
def first_coordinate(X, centroid_locations):
    return np.argmin(np.abs(X[:, None, 0] - centroid_locations[None, :, 0]), axis=1)


@registry.mutant("dimension hard-coded to 2", r"hard-coded")
def hard_coded_d(X, centroid_locations):
    squared = (X[:, None, 0] - centroid_locations[None, :, 0]) ** 2 + (X[:, None, 1] - centroid_locations[None, :, 1]) ** 2
    return np.argmin(squared, axis=1)
