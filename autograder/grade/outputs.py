"""What grading hands back: feedback HTML, the grades CSV (and the LMS files), the exit summary.

- Feedback: nbgrader's own ``GenerateFeedback`` with the course configuration, whose sealed-grading
  section adds :class:`autograder.grade.feedback.ScrubHiddenTestOutput` and ``ClearHiddenTests``.
  A notebook whose feedback cannot be made gets one anyway (its outputs reduced to what the
  grader wrote), and the reason goes to ``status_detail``.
- ``grades.csv``: nbgrader's own ``CsvExportPlugin`` output (exactly what ``nbgrader export``
  writes) with two columns added: ``status`` and ``status_detail``; plus the LMS imports and
  feedback zips of :mod:`autograder.grade.lms` for the layouts the submissions came in.
"""
import collections
import csv
import json
import logging
import tempfile
from pathlib import Path

from autograder.course import ASSIGNMENT_ID
from autograder.status import Status

# CsvExportPlugin's columns, in its order (tests/test_grading_cli.py checks them against its output).
NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                    "raw_score", "late_submission_penalty", "score", "max_score"]
EXTRA_COLUMNS = ["status", "status_detail"]
NUMERIC_COLUMNS = ("raw_score", "late_submission_penalty", "score", "max_score")  # floats in the rows, as nbgrader's API has them


# ---- feedback ------------------------------------------------------------------------------------
def _feedback_app(info, student, config):
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    coursedir.root = str(info.root)
    coursedir.db_url = info.db_url
    coursedir.assignment_id = ASSIGNMENT_ID
    coursedir.student_id = student
    app = GenerateFeedback(coursedir=coursedir, config=config)
    app.force = True
    app.log.setLevel(logging.CRITICAL)
    return app


def _failure_reason(app, student):
    """Run one GenerateFeedback; None on success, else the reason nbgrader gave (its last exception line)."""
    from autograder.grade.job import _LogCapture, nbgrader_failure

    capture = _LogCapture()
    app.log.addHandler(capture)
    try:
        app.start()
    except Exception as exc:
        capture.lines.append(f"ERROR: {type(exc).__name__}: {exc}")
    finally:
        app.log.removeHandler(capture)
    written = list((Path(app.coursedir.root) / "feedback" / student / ASSIGNMENT_ID).glob("*.html"))
    return None if written else nbgrader_failure(capture.lines)


def _outputs_reduced(notebook_path):
    """Keep of every cell's outputs only errors and plain text, shortened (what the feedback fallback shows)."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            kept = []
            for output in cell.outputs:
                if output.get("output_type") == "error":
                    kept.append(nbformat.v4.new_output("error", ename=output.get("ename", "Error"),
                                                       evalue=str(output.get("evalue", ""))[:2000],
                                                       traceback=[f"{output.get('ename', 'Error')}: {str(output.get('evalue', ''))[:2000]}"]))
                elif output.get("output_type") == "stream":
                    kept.append(nbformat.v4.new_output("stream", name=output.get("name", "stdout"), text=str(output.get("text", ""))[:2000]))
            cell.outputs = kept
    nbformat.write(notebook, notebook_path)


def generate_feedback(info, students, echo=print):
    """nbgrader's GenerateFeedback for these students; return {student: why it failed} for the rest.

    When nbgrader cannot render a notebook's feedback (a student output it cannot convert), the
    feedback is made again from a copy of the autograded notebook whose outputs are reduced to
    text and errors, so every graded notebook gets its feedback file; the reason is returned.
    """
    import shutil

    config = info.config
    failures = {}
    for student in students:
        reason = _failure_reason(_feedback_app(info, student, config), student)
        if reason is None:
            continue
        autograded = info.autograded_dir(student)
        backup = Path(tempfile.mkdtemp(prefix="lab5-feedback-"))
        try:
            for notebook in autograded.glob("*.ipynb"):
                shutil.copy2(notebook, backup / notebook.name)
                _outputs_reduced(notebook)
            second = _failure_reason(_feedback_app(info, student, config), student)
        finally:
            for notebook in backup.glob("*.ipynb"):
                shutil.copy2(notebook, autograded / notebook.name)
            shutil.rmtree(backup, ignore_errors=True)
        failures[student] = (f"feedback made from the outputs reduced to text, because nbgrader could not render them: {reason}"
                             if second is None else f"no feedback file: nbgrader could not render it: {reason}")
        echo(f"feedback {student}: {failures[student]}")
    return failures


# ---- the table -----------------------------------------------------------------------------------
def nbgrader_rows(info):
    """The rows of nbgrader's own CSV export (``CsvExportPlugin``) of this course, as dicts."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    with tempfile.TemporaryDirectory(prefix="lab5-export-") as scratch:
        path = Path(scratch) / "grades.csv"
        plugin = CsvExportPlugin(to=str(path), assignment=[ASSIGNMENT_ID])
        plugin.log.setLevel(logging.ERROR)
        with Gradebook(info.db_url, info.course_id) as gb:
            plugin.export(gb)
        with open(path, newline="") as handle:
            return list(csv.DictReader(handle))


def class_rows(info):
    """One dict per student: nbgrader's export columns, then ``status``, ``status_detail`` and the ledger's record."""
    rows = {row["student_id"]: dict(row) for row in nbgrader_rows(info)}
    template = dict.fromkeys(NBGRADER_COLUMNS, "")
    template.update(assignment=ASSIGNMENT_ID, raw_score="0.0", late_submission_penalty="0.0", score="0.0",
                    max_score=next(iter(rows.values()))["max_score"] if rows else "")
    # (a student the ledger knows but the gradebook does not: invalid, error, pending)
    for student, entry in info.ledger.rows().items():
        row = rows.setdefault(student, dict(template, student_id=student))
        status = {"pending": Status.PENDING.value, "failed": Status.ERROR.value}.get(entry["state"], entry["status"])
        detail = entry["detail"] if entry["state"] != "pending" else "grading was interrupted; run the grade command again"
        row.update(status=status, status_detail=detail, record=json.loads(entry["record"] or "{}"))
    for row in rows.values():
        if "status" not in row:  # in the gradebook, but not graded by this command
            graded = row["timestamp"] != "" or float(row["raw_score"] or 0) > 0
            row.update(status=Status.GRADED.value if graded else Status.NOT_SUBMITTED.value,
                       status_detail="graded outside ./course grade" if graded else "", record={})
    for row in rows.values():
        for column in NUMERIC_COLUMNS:
            row[column] = float(row[column] or 0)
    return [rows[k] for k in sorted(rows)]


def write_csv(rows, path):
    """``grades.csv``: nbgrader's columns in nbgrader's order, then status and status_detail."""
    columns = NBGRADER_COLUMNS + EXTRA_COLUMNS
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else str(row.get(c)) for c in columns])
    return path


def write_exports(info, rows, output_dir):
    """``grades.csv`` and the LMS files for the layouts the submissions came in; returns name -> path."""
    from autograder.grade import lms
    from autograder.grade.lateness import late_policy

    written = {"grades": write_csv(rows, Path(output_dir) / "grades.csv")}
    identities = lms.identities_from_log(info.state_dir / "imports.json")
    written.update(lms.write_lms_exports(rows, identities, output_dir, info.root / "feedback", policy=late_policy(info.config)))
    return written


def summary_table(rows):
    """The exit summary: students per status, and the ones that need attention."""
    counts = collections.Counter(r["status"] for r in rows)
    order = [s.value for s in Status if counts.get(s.value)]
    width = max([len(s) for s in order] + [6])
    lines = [f"{'status':<{width}}  students", f"{'-' * width}  --------"]
    lines += [f"{s:<{width}}  {counts[s]:>8}" for s in order]
    lines.append(f"{'total':<{width}}  {len(rows):>8}")
    attention = [r for r in rows if r["status"] not in (Status.GRADED.value, Status.NOT_SUBMITTED.value)]
    if attention:
        lines.append("")
        lines.append("needs attention:")
        for r in attention:
            lines.append(f"  {r['student_id']}: {r['status']}: {str(r.get('status_detail', ''))[:150]}")
    return "\n".join(lines)
