"""``./course grade`` end to end on an LMS zip: import problems, CSV status column, feedback, report.

The real CLI (``python -m autograder.grade``, what ``./course grade`` runs) in a subprocess, on a
private copy of the course; nbgrader's own ``nbgrader export`` is the reference for the CSV.
"""
import csv
import json
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest

from corpus import notebooks
from corpus.courses import course_copy, source_and_release

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_FILE, tool_environment
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


# ---- the LMS loop through the CLI: a Canvas, a Moodle and an nbgrader download (with a timestamp) -
CANVAS_ON_TIME = ("lovelaceada", "48213", "991823")
CANVAS_LATE = ("hoppergrace", "50001", "991900")
MOODLE_GOOD = ("Emmy Noether", "7301")
MOODLE_BUGGY = ("Alan Turing", "7302")
DUEDATE = "2025-03-14 17:00:00 UTC"
FEEDBACK_FILE = NOTEBOOK_FILE.replace(".ipynb", ".html")
HOURS_LATE = 27  # timestamp.txt of "late-student": two started days late, beyond the grace period


@pytest.fixture(scope="module")
def lms_course(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("lms") / "course")
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + f'\nc.GracePeriodLatePenalty.duedate = "{DUEDATE}"\n')
    source, release = source_and_release(course)
    good = nbformat.writes(notebooks.correct_notebook(source, release)).encode()
    buggy = nbformat.writes(notebooks.buggy_notebook(source, release)).encode()
    name = NOTEBOOK_FILE
    canvas = {f"{CANVAS_ON_TIME[0]}_{CANVAS_ON_TIME[1]}_{CANVAS_ON_TIME[2]}_{name}": good,
              f"{CANVAS_LATE[0]}_LATE_{CANVAS_LATE[1]}_{CANVAS_LATE[2]}_{name}": buggy}
    collected = {f"late-student/{ASSIGNMENT_ID}/{name}": good,
                 f"late-student/{ASSIGNMENT_ID}/timestamp.txt": b"2025-03-15 20:00:00.000000 UTC"}
    moodle = {f"{MOODLE_GOOD[0]}_{MOODLE_GOOD[1]}_assignsubmission_file_/{name}": good,
              f"{MOODLE_BUGGY[0]}_{MOODLE_BUGGY[1]}_assignsubmission_file_/{name}": buggy}
    runs = []  # one download a run, as they come in; each run grades only what is new
    for label, entries in (("canvas", canvas), ("moodle", moodle), ("collected", collected)):
        upload = course.parent / f"{label}.zip"
        with zipfile.ZipFile(upload, "w") as archive:
            for entry, data in entries.items():
                archive.writestr(entry, data)
        runs.append(run_cli(course, str(upload)))
    return {"course": course, "runs": runs, "out": course / "output" / ASSIGNMENT_ID}


def test_every_download_is_graded(lms_course):
    assert all(run.returncode == 0 for run in lms_course["runs"]), [r.stderr[-2000:] for r in lms_course["runs"]]
    grades = {r["student_id"]: r for r in _csv_rows(lms_course["out"] / "grades.csv")}
    assert set(grades) == {"48213", "50001", "7301", "7302", "late-student"}
    assert {r["status"] for r in grades.values()} == {"graded"}


def test_a_canvas_download_goes_back_as_canvas_takes_it(lms_course):
    out = lms_course["out"]
    grades = {r["student_id"]: r for r in _csv_rows(out / "grades.csv")}
    with open(out / "canvas-gradebook-import.csv", newline="") as fh:
        table = list(csv.reader(fh))
    header, points, students = table[0], table[1], {row[1]: row for row in table[2:]}
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] and header[5] == ASSIGNMENT_ID
    assert points[0] == "Points Possible" and float(points[5]) == float(grades["48213"]["max_score"])
    assert set(students) == {"48213", "50001"}  # only Canvas students go back to Canvas
    for user in ("48213", "50001"):
        assert float(students[user][5]) == pytest.approx(float(grades[user]["score"]))
    assert float(students["48213"][5]) > float(students["50001"][5])  # the buggy notebook scored less
    with zipfile.ZipFile(out / "canvas-reupload-submissions.zip") as archive:
        entries = archive.namelist()
    # Canvas maps a comment file back by the first two all-digit parts: user id, attachment id
    ids = {tuple(p for p in entry.split("_") if p.isdigit())[:2] for entry in entries}
    assert ids == {CANVAS_ON_TIME[1:], CANVAS_LATE[1:]}
    assert all(entry.endswith(".html") for entry in entries)


def test_a_moodle_download_goes_back_as_moodle_takes_it(lms_course):
    out = lms_course["out"]
    grades = {r["student_id"]: r for r in _csv_rows(out / "grades.csv")}
    with open(out / "moodle-grading-worksheet.csv", newline="") as fh:
        worksheet = list(csv.DictReader(fh))
    # Moodle's offline-grading importer matches "Participant <id>" and reads "Grade"
    by_id = {row["Identifier"]: row for row in worksheet}
    assert set(by_id) == {f"Participant {MOODLE_GOOD[1]}", f"Participant {MOODLE_BUGGY[1]}"}
    for _, participant in (MOODLE_GOOD, MOODLE_BUGGY):
        row = by_id[f"Participant {participant}"]
        assert float(row["Grade"]) == pytest.approx(float(grades[participant]["score"]))
        assert float(row["Maximum Grade"]) == float(grades[participant]["max_score"])
        assert row["Last modified (grade)"]
    assert by_id[f"Participant {MOODLE_GOOD[1]}"]["Full name"] == MOODLE_GOOD[0]
    with zipfile.ZipFile(out / "moodle-feedback-files.zip") as archive:
        entries = archive.namelist()
    # one folder per participant, named as in the download, holding the feedback file
    assert sorted(entries) == sorted(f"{who}_{participant}_assignsubmission_file_/{FEEDBACK_FILE}"
                                     for who, participant in (MOODLE_GOOD, MOODLE_BUGGY))


def test_a_late_timestamp_costs_the_configured_penalty(lms_course):
    out = lms_course["out"]
    grades = {r["student_id"]: r for r in _csv_rows(out / "grades.csv")}
    late, on_time = grades["late-student"], grades["48213"]
    assert float(late["raw_score"]) == float(on_time["raw_score"]) > 0  # the same notebook...
    # ...minus 10 % of the score per started day (the course's DEADLINE section): two days
    assert float(late["late_submission_penalty"]) == pytest.approx(0.2 * float(late["raw_score"]))
    assert float(late["score"]) == pytest.approx(0.8 * float(late["raw_score"]))
    assert float(on_time["late_submission_penalty"]) == 0.0
    lateness = {r["student_id"]: r for r in _csv_rows(out / "lateness.csv")}
    assert float(lateness["late-student"]["hours_late"]) == pytest.approx(HOURS_LATE)
    assert lateness["late-student"]["late"] == "yes"
    # a Canvas download carries no time: only Canvas' LATE mark is reported, with no penalty
    assert lateness["50001"]["lms_late_flag"] == "yes" and lateness["48213"]["lms_late_flag"] == "no"
    assert float(grades["50001"]["late_submission_penalty"]) == 0.0
    report = json.loads((out / "report.json").read_text())
    assert "late-student" in json.dumps(report["lateness"])
