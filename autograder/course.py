"""Facts about the course that more than one tool needs: one place for each.

The graded contract (assignment id, notebook name, function names, grade ids) is fixed by the
course issue; other tools rely on it.
"""
import os
import sys
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT_ID = "lab5"
NOTEBOOK_NAME = "lab5-mixture-models"
NOTEBOOK_FILE = f"{NOTEBOOK_NAME}.ipynb"
SOURCE_DIR = COURSE_ROOT / "source" / ASSIGNMENT_ID
RELEASE_DIR = COURSE_ROOT / "release" / ASSIGNMENT_ID
SOLUTIONS_DIR = COURSE_ROOT / "solutions" / ASSIGNMENT_ID
IMAGES_DIR = COURSE_ROOT / "images"
DEMO_SUBMISSIONS_DIR = COURSE_ROOT / "demo" / "submissions"

# The graded functions and their signatures (the course contract).
GRADED_FUNCTIONS = {
    "sample_gmm": "(N, category_prob, means, covariance_matrices, rng=None)",
    "get_cluster_assignments": "(X, centroid_locations)",
    "get_cluster_centroids": "(X, cluster_assignments)",
    "e_step": "(X, weights, means, covariances)",
    "m_step": "(X, responsibilities)",
}

GRADE_ID_SUFFIXES = ("_visible", "_shape_hidden", "_proportions_hidden", "_moments_hidden", "_easy_hidden",
                      "_values_hidden", "_hard_hidden", "_hidden")


def part_of(grade_id):
    """The graded part a test cell belongs to: ``test_e_step_values_hidden`` -> ``e_step``."""
    part = grade_id.removeprefix("test_")
    for suffix in GRADE_ID_SUFFIXES:
        if part.endswith(suffix):
            return part[: -len(suffix)]
    return part


# The lab's fixed data set: sections 2 and 3 of the notebook all work on these points, so that a
# bug in one part (say, the sampler) never costs the points of another.
LAB_DATA_RELPATH = Path("data") / "lab5_points.npz"
LAB_DATA_SEED = 5


def tool_environment(**overrides):
    """The environment for running nbgrader and Jupyter tools of *this* Python.

    nbgrader starts helper programs (``alembic``) by name, so the interpreter's bin folder must
    come first on PATH even when nobody activated the virtual environment.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(overrides)
    return env
