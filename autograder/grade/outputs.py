"""What grading hands back: feedback HTML, the grades CSV and the instructor report.

- Feedback: nbgrader's own ``generate_feedback`` with the course configuration, whose SANDBOX
  section adds :class:`autograder.grade.feedback.ScrubHiddenTestOutput` and ``ClearHiddenTests``.
- ``grades.csv``: nbgrader's export columns, in nbgrader's order, plus ``status`` (graded /
  flagged / timed out / crashed / invalid / error / pending) and ``status_detail``.
- ``report.html``: status counts, score distribution, points lost per test, the most common
  feedback messages and the flagged submissions, plots made with matplotlib (Agg) and embedded.
"""
import base64
import collections
import csv
import html
import io
import json
import logging

from autograder.course import ASSIGNMENT_ID
from autograder.grade.job import ERROR, FLAGGED, INVALID, STATUSES

NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                    "raw_score", "late_submission_penalty", "score", "max_score"]
CSV_COLUMNS = NBGRADER_COLUMNS + ["status", "status_detail"]


# ---- feedback ------------------------------------------------------------------------------------
def generate_feedback(info, students, echo=print):
    """Run nbgrader's GenerateFeedback (course config: no hidden tests) for these students."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    from autograder.grade.gradebook import _load_course_config

    config = _load_course_config(info.root)
    for student in students:
        coursedir = CourseDirectory(config=config)
        coursedir.root = str(info.root)
        coursedir.db_url = info.db_url
        coursedir.assignment_id = ASSIGNMENT_ID
        coursedir.student_id = student
        app = GenerateFeedback(coursedir=coursedir, config=config)
        app.force = True
        app.log.setLevel(logging.ERROR)
        try:
            app.start()
        except Exception as exc:
            echo(f"feedback {student}: could not be generated ({exc})")


# ---- the table -----------------------------------------------------------------------------------
def class_rows(info):
    """One dict per student: nbgrader's export values, status and the ledger's record."""
    from nbgrader.api import Gradebook, MissingEntry

    ledger = info.ledger.rows()
    rows = {}
    with Gradebook(info.db_url, info.course_id) as gb:
        try:
            assignment = gb.find_assignment(ASSIGNMENT_ID)
        except MissingEntry:
            assignment = None
        max_score = assignment.max_score if assignment else 0.0
        duedate = assignment.duedate if assignment else None
        for student in gb.students:
            row = {"assignment": ASSIGNMENT_ID, "duedate": duedate, "student_id": student.id,
                   "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                   "max_score": max_score, "timestamp": "", "raw_score": 0.0,
                   "late_submission_penalty": 0.0, "score": 0.0}
            try:
                submission = gb.find_submission(ASSIGNMENT_ID, student.id)
            except MissingEntry:
                submission = None
            if submission is not None:
                penalty = submission.late_submission_penalty
                row.update(timestamp=submission.timestamp, raw_score=submission.score,
                           late_submission_penalty=penalty, score=max(0.0, submission.score - penalty))
            rows[student.id] = row
    for student, entry in ledger.items():
        row = rows.setdefault(student, {"assignment": ASSIGNMENT_ID, "duedate": duedate, "student_id": student,
                                        "last_name": None, "first_name": None, "email": None,
                                        "max_score": max_score, "timestamp": "", "raw_score": 0.0,
                                        "late_submission_penalty": 0.0, "score": 0.0})
        status = {"pending": "pending", "failed": ERROR}.get(entry["state"], entry["status"])
        row.update(status=status, status_detail=entry["detail"] if entry["state"] != "pending"
                   else "grading was interrupted; run the grade command again",
                   record=json.loads(entry["record"] or "{}"))
    for row in rows.values():
        if "status" not in row:  # graded by plain nbgrader, outside this command
            row.update(status="graded" if row["timestamp"] != "" or row["raw_score"] else "not submitted",
                       status_detail="graded outside ./course grade" if row["raw_score"] else "", record={})
    return [rows[k] for k in sorted(rows)]


def write_csv(rows, path):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else str(row.get(c)) for c in CSV_COLUMNS])
    return path


def summary_table(rows):
    """The exit summary: students per status, and points."""
    counts = collections.Counter(r["status"] for r in rows)
    order = [s for s in STATUSES + ("pending", "not submitted") if counts.get(s)]
    width = max([len(s) for s in order] + [6])
    lines = [f"{'status':<{width}}  students", f"{'-' * width}  --------"]
    lines += [f"{s:<{width}}  {counts[s]:>8}" for s in order]
    lines.append(f"{'total':<{width}}  {len(rows):>8}")
    attention = [r for r in rows if r["status"] not in ("graded", "not submitted")]
    if attention:
        lines.append("")
        lines.append("needs attention:")
        for r in attention:
            lines.append(f"  {r['student_id']}: {r['status']}: {str(r.get('status_detail', ''))[:150]}")
    return "\n".join(lines)


# ---- the report ------------------------------------------------------------------------------------
def _figure_png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def report_data(rows):
    """The numbers behind the report's plots (kept apart from the plotting)."""
    graded = [r for r in rows if r.get("record", {}).get("tests")]
    scores = [float(r["score"]) for r in graded]
    lost = collections.Counter()
    for r in graded:
        for grade_id, (score, max_score) in r["record"]["tests"].items():
            if score is not None:
                lost[grade_id] += max_score - score
    messages = collections.Counter()
    for r in graded:
        for grade_id, message in r["record"].get("failures", {}).items():
            messages[(grade_id, message)] += 1
    flagged = [(r["student_id"], r["record"].get("findings", []), r.get("status_detail", ""))
               for r in rows if r["status"] == FLAGGED or r.get("record", {}).get("findings")]
    return {"scores": scores, "lost": lost, "messages": messages, "flagged": flagged,
            "counts": collections.Counter(r["status"] for r in rows),
            "max_score": max([float(r["max_score"] or 0) for r in rows] + [0.0])}


def _plots(data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = {}
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(data["scores"], bins=min(20, max(5, len(data["scores"]) // 2 or 1)),
            range=(0, data["max_score"] or None), color="#4477aa")
    ax.set_xlabel("score")
    ax.set_ylabel("students")
    ax.set_title("Score distribution (graded submissions)")
    images["scores"] = _figure_png(fig)
    plt.close(fig)
    if data["lost"]:
        items = data["lost"].most_common()
        fig, ax = plt.subplots(figsize=(6, 0.25 * len(items) + 1))
        ax.barh([k for k, _ in items][::-1], [v for _, v in items][::-1], color="#cc6677")
        ax.set_xlabel("points lost, summed over students")
        ax.set_title("Points lost per test")
        images["lost"] = _figure_png(fig)
        plt.close(fig)
    return images


def write_report(info, rows, path):
    data = report_data(rows)
    images = _plots(data)
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{ASSIGNMENT_ID} grading report</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style></head><body>",
             f"<h1>{ASSIGNMENT_ID}: grading report</h1>", "<h2>Status</h2><table><tr><th>status</th><th>students</th></tr>"]
    parts += [f"<tr><td>{esc(s)}</td><td>{n}</td></tr>" for s, n in sorted(data["counts"].items())]
    parts.append("</table>")
    parts.append("<h2 id='scores'>Score distribution</h2>")
    parts.append(f"<img alt='score distribution' src='data:image/png;base64,{images['scores']}'>")
    parts.append("<h2 id='lost'>Points lost per test</h2>")
    if "lost" in images:
        parts.append(f"<img alt='points lost per test' src='data:image/png;base64,{images['lost']}'>")
    parts.append("<h2 id='messages'>Most common feedback messages</h2><table>"
                 "<tr><th>test</th><th>message</th><th>students</th></tr>")
    parts += [f"<tr><td>{esc(g)}</td><td>{esc(m)}</td><td>{n}</td></tr>"
              for (g, m), n in data["messages"].most_common(20)]
    parts.append("</table><h2 id='flagged'>Flagged submissions</h2><table>"
                 "<tr><th>student</th><th>integrity findings</th><th>grading notes</th></tr>")
    parts += [f"<tr><td>{esc(s)}</td><td>{esc('; '.join(f))}</td><td>{esc(d)}</td></tr>"
              for s, f, d in data["flagged"]]
    parts.append("</table><h2>Needs attention</h2><table><tr><th>student</th><th>status</th><th>detail</th></tr>")
    parts += [f"<tr><td>{esc(r['student_id'])}</td><td>{esc(r['status'])}</td><td>{esc(str(r.get('status_detail', '')))}</td></tr>"
              for r in rows if r["status"] in (INVALID, ERROR, "crashed", "timed out", "pending")]
    parts.append("</table></body></html>")
    path.write_text("\n".join(parts))
    return path
