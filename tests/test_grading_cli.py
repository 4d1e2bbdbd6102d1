"""``./course grade`` end to end on an LMS zip: import problems, CSV status column, feedback, report.

The real CLI (``python -m autograder.grade``, what ``./course grade`` runs) in a subprocess, on a
private copy of the course; nbgrader's own ``nbgrader export`` is the reference for the CSV.
"""
import csv
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest

from corpus import notebooks
from corpus.courses import course_copy, source_and_release

from autograder.course import ASSIGNMENT_ID, tool_environment
from autograder.grade.feedback import hidden_statements
from autograder.grade.outputs import EXTRA_COLUMNS, NBGRADER_COLUMNS

pytestmark = pytest.mark.slow


def run_cli(course, *args):
    env = tool_environment(PYTHONPATH=str(course))
    return subprocess.run([sys.executable, "-m", "autograder.grade", "--course-root", str(course),
                           "--no-progress", "--cell-timeout", "30", "--workers", "2", *args],
                          cwd=course, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("cli") / "course")
    source, release = source_and_release(course)
    files, expected = notebooks.invalid_uploads(source, release)
    files["buggy.ipynb"] = nbformat.writes(notebooks.buggy_notebook(source, release)).encode()
    expected["buggy"] = ("ok", "")
    upload = course.parent / "lms-download.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    first = run_cli(course, str(upload))
    second = run_cli(course)
    return {"course": course, "expected": expected, "first": first, "second": second, "source": source}


def _csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_cli_runs_and_reports_every_problem(graded_course):
    first = graded_course["first"]
    assert first.returncode == 0, first.stderr[-3000:]
    assert "cannot tell the student id from 'lab5 (1).ipynb'" in first.stderr
    assert "needs attention" in first.stdout


def test_csv_has_nbgrader_columns_and_a_status_per_student(graded_course):
    course = graded_course["course"]
    with open(course / "output" / ASSIGNMENT_ID / "grades.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == NBGRADER_COLUMNS + EXTRA_COLUMNS
    rows = {r["student_id"]: r for r in _csv_rows(course / "output" / ASSIGNMENT_ID / "grades.csv")}
    for student, (outcome, words) in graded_course["expected"].items():
        row = rows[student]
        if outcome == "invalid":
            assert row["status"] == "invalid", row
            assert words in row["status_detail"], row
            assert float(row["score"]) == 0.0
        else:
            assert row["status"] == "graded", row
            assert words in row["status_detail"]
    assert float(rows["goodstudent"]["score"]) > float(rows["buggy"]["score"])
    # a repaired notebook is graded like the intact one, and the repair is reported
    assert rows["deletedcell"]["score"] == rows["goodstudent"]["score"]
    assert rows["reordered"]["score"] == rows["goodstudent"]["score"]
    assert "restored 1 deleted graded cell(s) from the release: test_e_step_visible" in rows["deletedcell"]["status_detail"]
    assert "out of order" in rows["reordered"]["status_detail"]


def test_csv_agrees_with_nbgrader_export(graded_course):
    course = graded_course["course"]
    env = tool_environment(PYTHONPATH=str(course))
    subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "nbgrader-export.csv",
                    "--log-level=ERROR"], cwd=course, env=env, check=True, capture_output=True, timeout=300)
    ours = {r["student_id"]: r for r in _csv_rows(course / "output" / ASSIGNMENT_ID / "grades.csv")}
    theirs = _csv_rows(course / "nbgrader-export.csv")
    assert theirs, "nbgrader export listed nobody"
    for row in theirs:
        assert {k: row[k] for k in NBGRADER_COLUMNS} == {k: ours[row["student_id"]][k] for k in NBGRADER_COLUMNS}


def test_rerun_grades_nothing_new(graded_course):
    second = graded_course["second"]
    assert second.returncode == 0, second.stderr[-3000:]
    assert "graded in this run: 0 submission(s)" in second.stdout


def test_feedback_has_no_hidden_tests(graded_course):
    course = graded_course["course"]
    secret = set()
    for cell in graded_course["source"].cells:
        secret.update(hidden_statements(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
    assert secret, "the source notebook has no hidden tests to leak"
    pages = list((course / "feedback").glob(f"*/{ASSIGNMENT_ID}/*.html"))
    assert {p.parent.parent.name for p in pages} >= {"goodstudent", "buggy", "deletedcell", "reordered"}
    buggy_page = (course / "feedback" / "buggy" / ASSIGNMENT_ID / "lab5-mixture-models.html").read_text()
    assert "AssertionError" in buggy_page  # failures are reported...
    for page in pages:
        text = re.sub(r"<[^>]+>", "", page.read_text())
        text = text.replace("&quot;", '"').replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        assert "HIDDEN TESTS" not in text
        leaked = [line for line in secret if line in text]
        assert not leaked, (page, leaked[:3])  # ...without the hidden tests' source


def test_report_opens_with_what_the_class_got_wrong(graded_course):
    out = graded_course["course"] / "output" / ASSIGNMENT_ID
    report = (out / "report.html").read_text()
    sections = [m.group(1) for m in re.finditer(r"<section id='(\w+)'", report)]
    assert sections[0] == "misconceptions" and {"parts", "scores", "suspect", "manual", "flagged", "attention"} <= set(sections)
    assert report.count("data:image/png;base64,") >= 2
    wrong = report.split("id='misconceptions'")[1].split("</section>")[0]
    assert "buggy" in wrong and "sampler.ignores_category_prob" in wrong  # the buggy student's mistakes are named
    assert "report.json" in graded_course["first"].stdout and (out / "report.json").is_file()
