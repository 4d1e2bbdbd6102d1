# hostile: ask the verifier for a check from a student cell, with a correct function
import lab5_grader
def _good_assignments(X, centroid_locations):
    import numpy as np
    return np.argmin(((X[:, None] - centroid_locations[None]) ** 2).sum(axis=2), axis=1)
try:
    lab5_grader.check("get_cluster_assignments_easy", _good_assignments)
    print("LEAK the check ran")
except Exception as exc:
    print("SAFE", type(exc).__name__)
