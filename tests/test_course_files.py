"""The course directory's promises that need no kernel: notebook hygiene, contract, leaks, environment."""
import ast
import re

import nbformat
import numpy as np
import pytest

from autograder import lab
from autograder.course import (
    COURSE_ROOT,
    GRADED_FUNCTIONS,
    NOTEBOOK_FILE,
    RELEASE_DIR,
    SOURCE_DIR,
)
from corpus.leaks import leaked_lines, secret_regions

SOURCE_NOTEBOOK = SOURCE_DIR / NOTEBOOK_FILE
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


@pytest.fixture(scope="module")
def source_notebook():
    return nbformat.read(SOURCE_NOTEBOOK, as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def test_source_notebooks_are_stored_clean():
    notebooks = list((COURSE_ROOT / "source").rglob("*.ipynb"))
    assert notebooks, "no notebook under source/"
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert notebook.metadata["kernelspec"]["name"] == "python3", path
        for cell in notebook.cells:
            assert "execution" not in cell.metadata, f"{path}: cell {cell.id} keeps execution timings"
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{path}: cell {cell.id} is stored with outputs"
                assert cell.execution_count is None, f"{path}: cell {cell.id} has an execution count"


def test_grade_ids_are_unique_and_traceable(source_notebook):
    grade_ids = [nbgrader_meta(c)["grade_id"] for c in source_notebook.cells if nbgrader_meta(c)]
    assert len(grade_ids) == len(set(grade_ids)), "duplicate grade_id"
    for cell in source_notebook.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            assert meta["grade_id"].startswith("test_"), meta["grade_id"]
            # Only the last cell, the summary of the quick checks that Validate shows, is worth nothing.
            worth_nothing = meta["grade_id"] == "test_quick_checks_summary" and cell is source_notebook.cells[-1]
            assert (meta["points"] > 0 or worth_nothing and meta["points"] == 0), meta["grade_id"]
            assert meta["locked"] and not meta["solution"], meta["grade_id"]
        if meta.get("grade") and cell.cell_type == "markdown":
            assert meta["solution"] and meta["grade_id"].startswith("answer_"), meta["grade_id"]


def test_graded_functions_keep_the_contract(source_notebook):
    """Each graded function lives alone in its own solution cell, with the contract's signature."""
    for name, signature in GRADED_FUNCTIONS.items():
        cells = [c for c in source_notebook.cells if c.cell_type == "code" and re.search(rf"^def {name}\(", c.source, re.M)]
        assert len(cells) == 1, f"{name} should be defined in exactly one cell"
        meta = nbgrader_meta(cells[0])
        assert meta.get("solution") and meta["grade_id"] == name
        tree = ast.parse(cells[0].source)
        functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
        assert [f.name for f in functions] == [name], f"cell {name} should define only {name}"
        assert f"({ast.unparse(functions[0].args)})" == signature


def test_every_test_cell_asks_the_verifier_for_its_own_check(source_notebook):
    """Each autograded test cell's hidden part is one line asking for the check registered for it."""
    from autograder.checks import CHECK_FOR_CELL, CHECKS, hidden_call

    test_cells = [c for c in source_notebook.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]
    assert sorted(nbgrader_meta(c)["grade_id"] for c in test_cells) == sorted(CHECK_FOR_CELL)
    for cell in test_cells:
        hidden = cell.source.split("### BEGIN HIDDEN TESTS\n")[1].split("\n### END HIDDEN TESTS")[0]
        assert hidden == hidden_call(CHECK_FOR_CELL[nbgrader_meta(cell)["grade_id"]])
    assert len(CHECKS) == len(CHECK_FOR_CELL), "two checks claim the same cell"


def test_points_in_a_test_cells_comment_agree_with_its_metadata(source_notebook):
    """A cell that says "(2 points)" or "(1 point of 4)" in its first line is worth what it says."""
    for cell in source_notebook.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            first = cell.source.splitlines()[0]
            stated = re.search(r"\((\d+) points?\)|of (\d+)\)", first)
            assert stated, f"{meta['grade_id']}: the first line should say what the cell is worth: {first!r}"
            assert int(stated.group(1) or stated.group(2)) == meta["points"], (meta["grade_id"], first, meta["points"])


def test_notebook_parameters_match_the_autograders(source_notebook):
    """The mixture the students read in section 1.1 is the one the data set and the checks use."""
    cell = next(c for c in source_notebook.cells if c.source.startswith("N = 250"))
    namespace = {"np": np}
    exec(cell.source, namespace)
    assert namespace["N"] == lab.N
    np.testing.assert_allclose(namespace["category_prob"], lab.CATEGORY_PROB)
    np.testing.assert_allclose(namespace["means"], lab.MEANS)
    np.testing.assert_allclose(namespace["covariance_matrices"], lab.COVARIANCE_MATRICES)


def released_files():
    return [p for p in RELEASE_DIR.rglob("*") if p.is_file()]


def test_release_holds_no_solution_or_hidden_test(source_notebook):
    files = released_files()
    assert any(p.name == NOTEBOOK_FILE for p in files), "release/ has no student notebook"
    regions = secret_regions(source_notebook)
    assert len(regions) >= 30, "the scan would be vacuous"
    # The scan must see a leak where there is one: the source notebook itself leaks everything.
    assert len(leaked_lines(regions, "\n".join(c.source for c in source_notebook.cells))) > 50
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="ignore")
        if path.suffix == ".ipynb":  # compare cell sources, not JSON-escaped text
            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        for marker in MARKERS:
            assert marker not in text, f"{path} contains '{marker}'"
        assert "autograder" not in text, f"{path} mentions the instructor-only autograder package"
        assert "lab5_grader" not in text, f"{path} shows the hidden tests' calls to the grader"
        leaked = leaked_lines(regions, text)
        assert not leaked, f"{path} contains solution / hidden-test code: {leaked[:5]}"


def test_release_is_self_contained():
    """The student gets everything the notebook opens: data, image, widget module or package."""
    notebook = nbformat.read(RELEASE_DIR / NOTEBOOK_FILE, as_version=4)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    for relative in re.findall(r'"((?:data|images)/[^"]+)"', code):
        assert (RELEASE_DIR / relative).is_file(), f"the notebook opens {relative}, which release/ lacks"
        assert not (RELEASE_DIR / relative).is_symlink()
    for module in re.findall(r"^\s*from (\w+) import", code, re.M):
        if module.startswith("lab5"):
            released = (RELEASE_DIR / f"{module}.py", RELEASE_DIR / module / "__init__.py")
            assert any(path.is_file() for path in released), f"release/ lacks the module or package {module}"


def test_release_stubs_every_solution(source_notebook):
    release = nbformat.read(RELEASE_DIR / NOTEBOOK_FILE, as_version=4)
    solution_cells = [c for c in release.cells if nbgrader_meta(c).get("solution")]
    assert len(solution_cells) == sum(1 for c in source_notebook.cells if nbgrader_meta(c).get("solution"))
    for cell in solution_cells:
        stub = "raise NotImplementedError()" if cell.cell_type == "code" else "YOUR ANSWER HERE"
        assert stub in cell.source, nbgrader_meta(cell)["grade_id"]


def requirement_pins(text):
    pins = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def conda_pins(text):
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^\s*-\s*([A-Za-z0-9_.-]+)=([0-9][^\s#]*)", line)
        if match and match.group(1) != "python":
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_conda_and_pip_environments_agree():
    pip = requirement_pins((COURSE_ROOT / "requirements.txt").read_text())
    conda = conda_pins((COURSE_ROOT / "environment.yml").read_text())
    assert len(pip) >= 15
    assert pip == conda


def test_sunset_image_is_reproducible_and_licensed():
    import importlib.util

    from PIL import Image

    spec = importlib.util.spec_from_file_location("make_sunset", COURSE_ROOT / "images" / "make_sunset.py")
    make_sunset = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_sunset)

    committed = np.asarray(Image.open(COURSE_ROOT / "images" / "sunset.jpg"), dtype=float)
    rendered = make_sunset.render().astype(float)
    assert committed.shape == rendered.shape
    assert np.abs(committed - rendered).mean() < 3, "images/sunset.jpg no longer matches images/make_sunset.py"
    assert "CC0" in (COURSE_ROOT / "images" / "README.md").read_text()


def test_the_sandbox_limits_are_quoted_as_configured():
    """One definition of the limits (grading_limits): the README and ./course grade --help quote it."""
    from autograder.grade.__main__ import build_parser, limits_text
    from autograder.grade.gradebook import load_course_config
    from autograder.sandbox.execute import grading_limits

    limits = grading_limits(load_course_config(COURSE_ROOT))
    numbers = limits_text(limits).split(": ", 1)[1].rstrip(".")
    readme = " ".join((COURSE_ROOT / "README.md").read_text().split())
    assert numbers in readme, numbers
    assert numbers in " ".join(build_parser().format_help().split())
    assert limits["cell_timeout_s"] == 60 and limits["memory_mb"] > 0
