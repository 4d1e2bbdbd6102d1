"""The course end to end with the real nbgrader CLI, real kernels and a real SQLite gradebook."""
import csv
import shutil
import subprocess

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
from autograder.demo import autograded_cell_ids, part_of, run_demo


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
    scratch = regenerate.scratch_course(tmp_path)
    release, solutions, demo = regenerate.build_all(scratch)
    assert regenerate.tree_differences(release, COURSE_ROOT / "release" / ASSIGNMENT_ID) == []
    assert regenerate.tree_differences(solutions, COURSE_ROOT / "solutions" / ASSIGNMENT_ID) == []
    assert regenerate.tree_differences(demo, COURSE_ROOT / "demo" / "submissions") == []


def test_solutions_notebook_ran_clean():
    notebook = nbformat.read(COURSE_ROOT / "solutions" / ASSIGNMENT_ID / NOTEBOOK_FILE, as_version=4)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells), "every cell of the solutions notebook was executed"
    errors = [c.id for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert any(o.get("data", {}).get("image/png") for c in code_cells for o in c.outputs), "no figure was drawn"
    assert (COURSE_ROOT / "solutions" / ASSIGNMENT_ID / NOTEBOOK_FILE.replace(".ipynb", ".html")).is_file()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo"))


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
        assert "BEGIN HIDDEN TESTS" not in html and "from autograder" not in html, f"{path} shows hidden tests"
        assert "_grader_done_" not in html, f"{path} shows the grader's own completion marker"


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
