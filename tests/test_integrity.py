"""The integrity report flags code that touches the grading machinery, and little else."""
import inspect

import nbformat
import pytest

from autograder.course import NOTEBOOK_FILE, SOURCE_DIR
from autograder.integrity import format_report, main, scan_notebook, scan_source
from corpus.implementations import all_variants

IMPORTS = "import numpy as np\nimport numpy.testing as npt\nfrom sklearn.cluster import KMeans\n"

TAMPERING = [
    ("np.allclose = lambda *a, **k: True", "patches-library", "numpy.allclose"),
    ("npt.assert_allclose = lambda *a, **k: None", "patches-library", "numpy.testing.assert_allclose"),
    ("np.testing = None", "patches-library", "numpy.testing"),
    ("KMeans.score = lambda self, X: 0.0", "patches-library", "sklearn.cluster.KMeans.score"),
    ("AssertionError = Exception", "rebinds-builtin", "AssertionError"),
    ("def print(*args):\n    pass", "rebinds-builtin", "print"),
    ("import builtins\nbuiltins.print = lambda *a: None", "patches-library", "builtins.print"),
    ("__builtins__.AssertionError = Exception", "patches-builtins", "__builtins__"),
    ("import sys\nsys.modules['autograder.checks'] = None", "import-machinery", "sys.modules"),
    ("import autograder.checks as c\nc.check_e_step_values = lambda f: None", "grading-package", "autograder"),
    ("setattr(np, 'allclose', lambda *a, **k: True)", "patches-library", "numpy"),
    ("exec('np.allclose = None')", "dynamic-code", "exec"),
    ("import os\nos._exit(0)", "kernel-exit", "os._exit"),
    ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)", "kernel-exit", "signal"),
    ("get_ipython().events.register('pre_run_cell', print)", "ipython-hooks", "get_ipython"),
    ("import inspect\nframe = inspect.currentframe().f_back", "introspection", "f_back"),
    ("import sys\nsys.stderr = open('/dev/null', 'w')", "patches-library", "sys.stderr"),
    ("text = open('/course/source/lab5/lab5-mixture-models.ipynb').read()", "grading-files", "instructor's notebook"),
    ("import glob\nothers = glob.glob('/course/submitted/*/lab5/*.ipynb')", "grading-files", "other submissions"),
    ("import lab5_grader\nlab5_grader.check('e_step_values', e_step)", "grading-client", "lab5_grader"),
    ("from lab5_widgets.common import library_responsibilities", "widget-internals", "fallback"),
    ("import importlib\nref = importlib.import_module(bytes.fromhex('6175746f677261646572').decode() + '.reference')",
     "import-machinery", "importlib"),
]


@pytest.mark.parametrize("code, kind, mentions", TAMPERING, ids=[t[0].splitlines()[-1][:40] for t in TAMPERING])
def test_tampering_is_flagged_with_a_plain_reason(code, kind, mentions):
    findings = scan_source(IMPORTS + code)
    assert any(found_kind == kind and mentions in reason for _, found_kind, reason, _ in findings), findings


@pytest.mark.parametrize("variant", all_variants(), ids=lambda v: v.label)
def test_ordinary_student_code_is_not_flagged(variant):
    """Correct variants and honest mistakes alike are not tampering."""
    assert scan_source(IMPORTS + inspect.getsource(variant.implementation)) == []


def test_everyday_notebook_code_is_not_flagged():
    code = IMPORTS + (
        "%matplotlib inline\n"
        "import matplotlib.pyplot as plt\n"
        "np.random.seed(0)\n"
        "plt.rcParams['figure.figsize'] = (6, 4)\n"
        "fig, ax = plt.subplots()\n"
        "ax.title.set_text('x')\n"
        "kmeans = KMeans(3).fit(np.zeros((5, 2)))\n"
        "kmeans.n_init = 3\n"
        "import warnings\nwarnings.filterwarnings('ignore')\n"
        "total = sum([1, 2])\n"
    )
    assert scan_source(code) == []


def cell(source, grade_id=None, test=False, outputs=()):
    new = nbformat.v4.new_code_cell(source)
    if grade_id:
        new.metadata["nbgrader"] = {"grade": test, "solution": not test, "grade_id": grade_id, "locked": test,
                                    "schema_version": 3, **({"points": 3} if test else {})}
    new.outputs = list(outputs)
    return new


def test_notebook_scan_reads_student_cells_but_not_test_sources():
    notebook = nbformat.v4.new_notebook(cells=[
        cell(IMPORTS),
        cell("def e_step(X, w, m, c):\n    return X\nnp.allclose = lambda *a, **k: True", grade_id="e_step"),
        cell('import lab5_grader; lab5_grader.check("e_step_values", e_step)', grade_id="test_e_step_values_hidden", test=True),
        cell("this is not python ("),
    ])
    findings = scan_notebook(notebook)
    kinds = [(f.cell, f.kind) for f in findings]
    assert (1, "patches-library") in kinds
    assert (3, "unreadable") in kinds
    assert not any(f.cell == 2 for f in findings)  # test cell sources are ours (nbgrader restores them)
    report = format_report(findings)
    assert "cell 1 (e_step), line 3" in report and "np.allclose = lambda" in report
    # One line per finding for the class report (autograder.grade uses str(finding)).
    line = str(findings[kinds.index((1, "patches-library"))])
    assert "\n" not in line and "numpy.allclose" in line and line.startswith("cell 1 (e_step), line 3")


def test_the_course_notebook_itself_is_clean():
    """No false alarm on the instructor's own notebook (solutions included)."""
    path = SOURCE_DIR / NOTEBOOK_FILE
    assert path.exists(), "the course notebook is missing"
    assert format_report(scan_notebook(nbformat.read(path, as_version=4))).endswith("nothing found")


def test_command_line_exit_status(tmp_path, capsys):
    clean, dirty = tmp_path / "clean.ipynb", tmp_path / "dirty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell(IMPORTS)]), clean)
    nbformat.write(nbformat.v4.new_notebook(cells=[cell(IMPORTS + "np.allclose = None")]), dirty)
    assert main([str(clean)]) == 0
    assert main([str(clean), str(dirty)]) == 1
    assert "numpy.allclose" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.ipynb")]) == 1
