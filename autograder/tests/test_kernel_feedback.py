"""What a student sees: a failing hidden cell run by a real IPython kernel (nbclient, as nbgrader does).

The error output's traceback -- what nbgrader's feedback HTML shows -- must be the message alone:
no hidden-cell source, no file of the grading package. A passing check writes nothing at all,
even when the student's function prints and warns (a test cell with stderr output scores 0).
"""
import nbformat
from nbclient import NotebookClient

from autograder.checks import TAMPER_MARKER
from autograder.course import COURSE_ROOT
from autograder.integrity import scan_notebook

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
HIDDEN_FAILING = "### BEGIN HIDDEN TESTS\nfrom autograder.checks import check_get_cluster_assignments_easy; check_get_cluster_assignments_easy(get_cluster_assignments)\n### END HIDDEN TESTS"
HIDDEN_PASSING = "### BEGIN HIDDEN TESTS\nfrom autograder.checks import check_get_cluster_centroids_easy; check_get_cluster_centroids_easy(get_cluster_centroids)\n### END HIDDEN TESTS"


def run_cells(sources, tmp_path, monkeypatch):
    """Execute the cells in a fresh python3 kernel whose PYTHONPATH has the course root (as nbgrader_config.py sets)."""
    monkeypatch.setenv("PYTHONPATH", str(COURSE_ROOT))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    return notebook.cells


def test_failing_hidden_cell_shows_only_the_message(tmp_path, monkeypatch):
    cells = run_cells([STUDENT_CELL, HIDDEN_FAILING, HIDDEN_PASSING], tmp_path, monkeypatch)
    failing, passing = cells[1], cells[2]

    errors = [output for output in failing.outputs if output.output_type == "error"]
    assert len(errors) == 1 and [o.output_type for o in failing.outputs] == ["error"]
    error = errors[0]
    assert error.ename == "AssertionError"
    assert "farthest centroid" in error.evalue
    shown = "\n".join(error.traceback)
    assert shown == f"AssertionError: {error.evalue}"
    for leak in ("check_get_cluster_assignments_easy", "BEGIN HIDDEN", "autograder", "kmeans.py", "Traceback"):
        assert leak not in shown

    # A passing check leaves no output: the student's prints and warnings are swallowed.
    assert passing.outputs == []


def test_tampering_in_a_student_cell_fails_the_hidden_cell_closed(tmp_path, monkeypatch):
    cells = run_cells([STUDENT_CELL.replace("argmax", "argmin"), "np.allclose = lambda *a, **k: True", HIDDEN_PASSING],
                      tmp_path, monkeypatch)
    outputs = cells[2].outputs
    assert [o.output_type for o in outputs] == ["error"]
    assert TAMPER_MARKER in outputs[0].evalue and "numpy.allclose" in outputs[0].evalue
    # The integrity report flags both the code (static) and the failed-closed check (runtime).
    findings = {(f.cell, f.kind) for f in scan_notebook(nbformat.v4.new_notebook(cells=cells))}
    assert {(1, "patches-library"), (2, "runtime-tamper")} <= findings
