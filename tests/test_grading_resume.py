"""Re-running is safe: killed runs resume, changed submissions are regraded, no stale score survives."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus import notebooks
from corpus.courses import (autograded_points, course_copy, gradebook_scores, source_and_release,
                         submission_counts, write_submission)

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_FILE, tool_environment
from autograder.grade.outputs import class_rows
from autograder.grade.run import course_info, grade_class, grading_fingerprint

pytestmark = pytest.mark.slow


def _cli(course, *args):
    return [sys.executable, "-m", "autograder.grade", "--course-root", str(course), "--no-progress",
            "--no-feedback", "--workers", "2", "--cell-timeout", "30", *args]


def _done_count(ledger):
    if not ledger.exists():
        return 0
    try:
        with sqlite3.connect(ledger, timeout=1) as db:
            return db.execute("SELECT count(*) FROM results WHERE state = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def _descendants(pid):
    """Every process below ``pid`` now (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pids):
    """The pids that are still running (not gone, not zombies)."""
    alive = set()
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                alive.add(pid)
        except (OSError, IndexError):
            pass
    return alive


def test_sigkill_then_rerun_grades_everyone_exactly_once(tmp_path):
    course = course_copy(tmp_path / "course")
    source, release = source_and_release(course)
    students = {"s1": notebooks.correct_notebook(source, release), "s2": notebooks.buggy_notebook(source, release),
                "s3": notebooks.correct_notebook(source, release), "s4": notebooks.buggy_notebook(source, release)}
    for student, notebook in students.items():
        write_submission(course, student, notebook)
    env = tool_environment(PYTHONPATH=str(course))
    grader = subprocess.Popen(_cli(course), cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ledger = course / ".grading" / "ledger.db"
    deadline = time.monotonic() + 300
    while _done_count(ledger) < 1 and time.monotonic() < deadline and grader.poll() is None:
        time.sleep(0.2)
    started_by_grader = _descendants(grader.pid)  # workers, zygotes, kernels
    os.kill(grader.pid, signal.SIGKILL)  # mid-batch: others are still being graded
    grader.wait()
    done_before = _done_count(ledger)
    assert 1 <= done_before < len(students), "the kill did not land mid-batch"
    assert len(started_by_grader) >= 4, started_by_grader  # 2 workers, each with a zygote's bwrap at least
    deadline = time.monotonic() + 30
    while _alive(started_by_grader) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(started_by_grader), "processes of the killed grader are still running"

    rerun = subprocess.run(_cli(course), cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"graded in this run: {len(students) - done_before} submission(s)" in rerun.stdout

    assert submission_counts(course) == {s: 1 for s in students}
    rows = {r["student_id"]: r for r in class_rows(course_info(course))}
    assert {s: rows[s]["status"] for s in students} == {s: "graded" for s in students}
    full = autograded_points(source)
    assert rows["s1"]["record"]["score"] == rows["s3"]["record"]["score"] == full
    assert rows["s2"]["record"]["score"] == rows["s4"]["record"]["score"] < full
    stored = gradebook_scores(course)
    for student in students:  # gradebook and ledger agree: nothing half-written
        assert sum(v or 0 for v in stored[student].values()) == pytest.approx(rows[student]["raw_score"])
        assert rows[student]["record"]["score"] == pytest.approx(
            sum(v for k, v in stored[student].items() if v is not None and k.startswith("test_")))


def _status(course, student):
    rows = {r["student_id"]: r for r in class_rows(course_info(course))}
    return rows[student]


def test_a_failed_regrade_never_keeps_the_old_score(tmp_path):
    course = course_copy(tmp_path / "course")
    source, release = source_and_release(course)
    path = write_submission(course, "sam", notebooks.correct_notebook(source, release))
    quiet = dict(workers=1, cell_timeout=30, feedback=False, report=False, progress=False)

    grade_class(course, **quiet)
    first = _status(course, "sam")
    assert first["status"] == "graded" and first["raw_score"] == autograded_points(source)
    assert (course / "autograded" / "sam" / ASSIGNMENT_ID / NOTEBOOK_FILE).exists()

    # 1. the new version crashes its kernel: the new (partial) score replaces the old one
    write_submission(course, "sam", notebooks.hostile_notebook("os_exit", source, release))
    [record] = grade_class(course, **quiet)
    crashed = _status(course, "sam")
    assert record.status == crashed["status"] == "crashed"
    assert 0 < crashed["raw_score"] < first["raw_score"]

    # 2. the new version cannot be read: no score stands at all
    path.write_text(path.read_text()[:500])
    [record] = grade_class(course, **quiet)
    invalid = _status(course, "sam")
    assert record.status == invalid["status"] == "invalid"
    assert "invalid JSON" in invalid["status_detail"]
    assert "sam" not in submission_counts(course)
    assert invalid["raw_score"] == 0.0
    assert not (course / "autograded" / "sam" / ASSIGNMENT_ID).exists()

    # 3. the new version is graded again, then nbgrader itself refuses the next one (saved by a
    #    newer nbgrader): the grader's own failure must not leave the earlier score standing either
    write_submission(course, "sam", notebooks.correct_notebook(source, release))
    grade_class(course, **quiet)
    assert _status(course, "sam")["raw_score"] == first["raw_score"]
    newer = notebooks.correct_notebook(source, release)
    for cell in newer.cells:
        if cell.metadata.get("nbgrader"):
            cell.metadata["nbgrader"]["schema_version"] = 99
    write_submission(course, "sam", newer)
    [record] = grade_class(course, **quiet)
    errored = _status(course, "sam")
    assert record.status == errored["status"] == "error"
    assert "could not grade" in errored["status_detail"]
    assert "sam" not in submission_counts(course)
    assert errored["raw_score"] == 0.0
    # an error is retried on the next run (it may have been the grader's fault)
    fingerprint = grading_fingerprint(course, quiet["cell_timeout"], 0)
    assert course_info(course).ledger.rows()["sam"]["fingerprint"] == fingerprint
    assert course_info(course).ledger.needs_grading("sam", record.submission_sha, fingerprint)
