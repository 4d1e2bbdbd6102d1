"""What a student sees, and what decides the points: hidden cells run by a real grading kernel.

The notebook runs as nbgrader's autograde runs it here (:class:`SandboxedExecute`, then
:class:`ApplyVerifierRecord`): a sandboxed kernel whose hidden cells ask the verifier process. A
failing check's error output -- what nbgrader's feedback HTML shows -- is the verifier's message
alone: no hidden-cell source, no file of the grading code. A passing check writes nothing at all,
even when the student's function prints and warns (a test cell with stderr output scores 0).
"""
import nbformat
from nbgrader import utils

from autograder.checks import CHECK_FOR_CELL, hidden_call
from autograder.sandbox.execute import SandboxedExecute
from autograder.verifier.record import ApplyVerifierRecord

STUDENT_CELL = '''
import warnings
import numpy as np

def get_cluster_assignments(X, centroid_locations):
    print("debugging output")
    warnings.warn("a warning from student code")
    distances = np.linalg.norm(X[:, None, :] - centroid_locations[None, :, :], axis=2)
    return np.argmax(distances, axis=1)  # the bug

def get_cluster_centroids(X, cluster_assignments):
    print("debugging output", flush=True)
    warnings.warn("a warning from student code")
    return np.array([X[cluster_assignments == k].mean(axis=0) for k in range(cluster_assignments.max() + 1)])
'''
FAILING, PASSING = "test_get_cluster_assignments_easy_hidden", "test_get_cluster_centroids_easy_hidden"


def hidden_test_cell(grade_id):
    cell = nbformat.v4.new_code_cell(f"### BEGIN HIDDEN TESTS\n{hidden_call(CHECK_FOR_CELL[grade_id])}\n### END HIDDEN TESTS")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 3, "grade_id": grade_id,
                                 "schema_version": 3}
    return cell


def graded(sources_or_cells, tmp_path):
    """Execute the cells as autograding does; return (notebook, verifier record)."""
    cells = [c if isinstance(c, dict) else nbformat.v4.new_code_cell(c) for c in sources_or_cells]
    notebook = nbformat.v4.new_notebook(cells=cells)
    resources = {"metadata": {"path": str(tmp_path)}}
    notebook, resources = SandboxedExecute(timeout=120, kernel_name="python3").preprocess(notebook, resources)
    notebook, resources = ApplyVerifierRecord().preprocess(notebook, resources)
    return notebook, resources["autograder"]["verifier_record"]


def test_failing_hidden_cell_shows_only_the_message(tmp_path):
    notebook, record = graded([STUDENT_CELL, hidden_test_cell(FAILING), hidden_test_cell(PASSING)], tmp_path)
    failing, passing = notebook.cells[1], notebook.cells[2]

    assert [o.output_type for o in failing.outputs] == ["error"]
    error = failing.outputs[0]
    assert error.ename == "AssertionError"
    assert "farthest centroid" in error.evalue and error.evalue == record["cells"][FAILING]["message"]
    assert record["cells"][FAILING]["diagnosis"] == "assignments.argmax_not_argmin"
    shown = "\n".join(error.traceback)
    assert shown == f"AssertionError: {error.evalue}"
    for leak in ("lab5_grader", "check(", "BEGIN HIDDEN", "autograder", "kmeans.py", "Traceback"):
        assert leak not in shown
    assert utils.determine_grade(failing) == (0, 3)

    # A passing check leaves no output: the student's prints and warnings are swallowed.
    assert passing.outputs == []
    assert record["cells"][PASSING]["passed"] is True
    assert utils.determine_grade(passing) == (3, 3)


def test_a_client_replaced_by_the_student_earns_nothing(tmp_path):
    """The kernel decides no score: a no-op ``lab5_grader`` makes the cell look passed, and it still scores 0."""
    fake_client = ("import sys, types\n"
                   "sys.modules['lab5_grader'] = types.SimpleNamespace(check=lambda *args: None)")
    notebook, record = graded([STUDENT_CELL.replace("argmax", "argmin"), fake_client, hidden_test_cell(PASSING)], tmp_path)
    cell = notebook.cells[2]
    assert PASSING not in record["cells"]
    assert [o.ename for o in cell.outputs if o.output_type == "error"] == ["GraderError"]
    assert utils.determine_grade(cell) == (0, 3)
    assert notebook.metadata["autograder"]["status"] == "flagged"


def test_a_check_asked_for_from_a_student_cell_is_refused_and_written_down(tmp_path):
    correct = STUDENT_CELL.replace("argmax", "argmin")
    own_call = 'import lab5_grader\nlab5_grader.check("get_cluster_assignments_easy", get_cluster_assignments)'
    notebook, record = graded([correct, own_call, hidden_test_cell(FAILING)], tmp_path)
    assert [o.ename for o in notebook.cells[1].outputs if o.output_type == "error"] == ["AssertionError"]
    assert "belongs to the test cell" in notebook.cells[1].outputs[-1].evalue
    assert [e["kind"] for e in record["events"]] == ["misplaced"]
    assert record["cells"][FAILING]["passed"] is True  # the test cell's own request still ran
    assert notebook.metadata["autograder"]["status"] == "flagged"
