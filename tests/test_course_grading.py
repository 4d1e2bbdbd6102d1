"""The course end to end with the real nbgrader CLI, real kernels and a real SQLite gradebook."""
import base64
import csv
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder import regenerate
from autograder.course import (
    ASSIGNMENT_ID,
    COURSE_ROOT,
    NOTEBOOK_FILE,
    NOTEBOOK_NAME,
    RELEASE_DIR,
    SOURCE_DIR,
    tool_environment,
)
from autograder.course import part_of
from autograder.demo import autograded_cell_ids


def nbgrader(course, *args):
    return subprocess.run(regenerate.nbgrader_command(*args), cwd=course, env=tool_environment(),
                          capture_output=True, text=True)


def autograded_scores(course, student):
    """{grade_id: (score, max_score)} for one student's autograded test cells."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(NOTEBOOK_NAME, ASSIGNMENT_ID, student)
        return {g.name: (g.score, g.max_score) for g in notebook.grades if g.cell_type == "code"}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """A scratch course where the master notebook and the untouched release were submitted and autograded."""
    course = regenerate.scratch_course(tmp_path_factory.mktemp("course"))
    assert nbgrader(course, "generate_assignment", ASSIGNMENT_ID, "--force").returncode == 0
    for student, notebook in (("master", SOURCE_DIR / NOTEBOOK_FILE), ("untouched", RELEASE_DIR / NOTEBOOK_FILE)):
        target = course / "submitted" / student / ASSIGNMENT_ID / NOTEBOOK_FILE
        target.parent.mkdir(parents=True)
        shutil.copy(notebook, target)
        assert nbgrader(course, "db", "student", "add", student).returncode == 0
    result = nbgrader(course, "autograde", ASSIGNMENT_ID)
    return course, result


def test_master_notebook_gets_full_marks(graded_course):
    course, result = graded_course
    scores = autograded_scores(course, "master")
    expected_cells = autograded_cell_ids(SOURCE_DIR / NOTEBOOK_FILE)
    assert sorted(scores) == sorted(expected_cells)
    lost = {grade_id: score for grade_id, score in scores.items() if score[0] != score[1]}
    assert not lost, f"the reference solution loses points: {lost}\n{result.stderr[-3000:]}"


def test_untouched_release_gets_zero_and_the_batch_completes(graded_course):
    course, result = graded_course
    scores = autograded_scores(course, "untouched")
    assert sorted(scores) == sorted(autograded_cell_ids(SOURCE_DIR / NOTEBOOK_FILE))
    earned = {grade_id: score for grade_id, (score, _) in scores.items() if score != 0}
    assert not earned, f"an unanswered notebook earns points: {earned}"
    for student in ("master", "untouched"):
        assert (course / "autograded" / student / ASSIGNMENT_ID / NOTEBOOK_FILE).is_file()


def test_release_and_solutions_match_a_fresh_regeneration(tmp_path):
    """What a person reads must match (sources, printed numbers, figures and their sizes); the last
    bits of a figure's pixels may differ on another CPU or BLAS."""
    scratch = regenerate.scratch_course(tmp_path)
    release, solutions, demo = regenerate.build_all(scratch)
    assert regenerate.tree_differences(release, COURSE_ROOT / "release" / ASSIGNMENT_ID) == []
    assert regenerate.tree_differences(solutions, COURSE_ROOT / "solutions" / ASSIGNMENT_ID) == []
    assert regenerate.tree_differences(demo, COURSE_ROOT / "demo" / "submissions") == []
    data = Path("source") / ASSIGNMENT_ID / "data" / "lab5_points.npz"
    assert regenerate.tree_differences(scratch / data, COURSE_ROOT / data) == []
    assert regenerate.tree_differences(scratch / regenerate.SCRIPT, COURSE_ROOT / regenerate.SCRIPT) == []


def test_the_notebooks_script_holds_the_whole_notebook():
    """The percent script a reviewer reads is the notebook: every cell, its source, its nbgrader metadata."""
    import jupytext

    master = nbformat.read(SOURCE_DIR / NOTEBOOK_FILE, as_version=4)
    script = jupytext.read(COURSE_ROOT / regenerate.SCRIPT, fmt="py:percent")
    assert [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in script.cells] == [
        (c.cell_type, c.source, c.metadata.get("nbgrader")) for c in master.cells]
    assert not (SOURCE_DIR / regenerate.SCRIPT.name).exists(), "inside source/lab5 nbgrader would release it"


def test_the_drift_check_sees_real_drift_and_not_pixel_noise(tmp_path):
    solutions = COURSE_ROOT / "solutions" / ASSIGNMENT_ID
    notebook = nbformat.read(solutions / NOTEBOOK_FILE, as_version=4)
    figure = next(o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {}))
    printed = next(o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
                   if o.get("output_type") == "stream" and re.search(r"\d\.\d", o["text"]))

    def variant(name, change):
        copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
        change(copy)
        path = tmp_path / name / NOTEBOOK_FILE
        path.parent.mkdir()
        nbformat.write(copy, path)
        return regenerate.tree_differences(solutions / NOTEBOOK_FILE, path)

    def noisy_pixels(nb):  # the same picture, other bytes (as another BLAS would draw it)
        output = next(o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("data", {}).get("image/png") == figure["data"]["image/png"])
        raw = bytearray(base64.b64decode(output["data"]["image/png"]))
        raw[-20] ^= 1
        output["data"]["image/png"] = base64.b64encode(bytes(raw)).decode()

    def changed_number(nb):
        output = next(o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("text") == printed["text"])
        output["text"] = re.sub(r"(\d)\.(\d)", lambda m: f"{(int(m.group(1)) + 3) % 10}.{m.group(2)}", output["text"], count=1)

    def changed_source(nb):
        cell = next(c for c in nb.cells if c.cell_type == "code")
        cell.source += "\n# edited"

    assert variant("pixels", noisy_pixels) == []
    assert variant("number", changed_number) == [""]
    assert variant("source", changed_source) == [""]


def test_solutions_notebook_ran_clean():
    notebook = nbformat.read(COURSE_ROOT / "solutions" / ASSIGNMENT_ID / NOTEBOOK_FILE, as_version=4)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells), "every cell of the solutions notebook was executed"
    errors = [c.id for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert any(o.get("data", {}).get("image/png") for c in code_cells for o in c.outputs), "no figure was drawn"
    assert (COURSE_ROOT / "solutions" / ASSIGNMENT_ID / NOTEBOOK_FILE.replace(".ipynb", ".html")).is_file()


def test_demo_writes_grades_and_feedback_that_match_the_gradebook(demo_run):
    from nbgrader.api import Gradebook

    course = demo_run["course"]
    with open(demo_run["grades_csv"], newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(demo_run["students"]) and len(rows) >= 5
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in demo_run["students"]:
            submission = gradebook.find_submission(ASSIGNMENT_ID, student)
            assert float(rows[student]["raw_score"]) == pytest.approx(submission.score)
            assert float(rows[student]["max_score"]) == pytest.approx(submission.max_score)
            assert rows[student]["status"] == demo_run["statuses"][student] == "graded"
    assert demo_run["report"].is_file()
    feedback = {path.parts[-3] for path in demo_run["feedback"]}
    assert feedback == set(demo_run["students"])
    for path in demo_run["feedback"]:
        html = path.read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "lab5_grader" not in html, f"{path} shows hidden tests"


def test_demo_scores_follow_each_students_mistakes(demo_run):
    """Full marks for the correct student; each mistake costs points on its own part only."""
    results = demo_run["results"]
    full = lambda parts: {p for p, (score, maximum) in parts.items() if score == maximum}
    all_parts = set(results["ada"])
    assert full(results["ada"]) == all_parts
    assert all(score == 0 for score, _ in results["eli"].values())
    # EM from scratch composes the student's own E- and M-steps, so it shares their mistakes.
    assert all_parts - full(results["ben"]) == {"get_cluster_assignments", "m_step", "em_from_scratch"}
    assert all_parts - full(results["cara"]) == {"sample_gmm", "e_step", "em_from_scratch"}
    assert results["cara"]["sample_gmm"][0] < results["cara"]["sample_gmm"][1]
    unanswered = {"em_convergence", "gmm_new_samples", "e_step", "m_step", "em_from_scratch", "quantised_images"}
    assert all_parts - full(results["dev"]) == unanswered
    assert all(results["dev"][part][0] == 0 for part in unanswered)
    assert part_of("test_e_step_values_hidden") == "e_step"
