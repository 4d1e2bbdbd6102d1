"""The grading ledger: which submission (by content hash) was graded, with what outcome.

A small SQLite file in ``<course>/.grading/ledger.db``, next to (not inside) the gradebook,
so it works the same for a SQLite or PostgreSQL gradebook. It is what makes re-running safe:

- a student is graded again only when the submitted notebook's hash or the grading
  *fingerprint* (source notebook, checks, sandbox, config) changed, or on ``--force``;
- a row is ``pending`` from the moment a job is sent until its result is in the gradebook, so a
  grader killed at any moment leaves pending rows, and the next run grades exactly those;
- the gradebook write happens *before* the row turns ``done`` and is idempotent, so a kill
  between the two only repeats a write.
"""
import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from autograder.status import Status

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    student_id TEXT PRIMARY KEY,
    submission_sha TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,            -- pending | done | failed (grader error: try again)
    status TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    score REAL,
    max_score REAL,
    record TEXT NOT NULL DEFAULT '{}',  -- the ResultRecord (without the notebook) as JSON
    updated REAL NOT NULL
);
"""


class Ledger:
    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        try:
            yield db
        finally:
            db.close()

    def rows(self):
        """student_id -> row dict."""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            return {r["student_id"]: dict(r) for r in db.execute("SELECT * FROM results")}

    def needs_grading(self, student_id, submission_sha, fingerprint, rows=None):
        row = (rows if rows is not None else self.rows()).get(student_id)
        return not (row and row["state"] == "done" and row["submission_sha"] == submission_sha
                    and row["fingerprint"] == fingerprint)

    def mark_pending(self, student_id, submission_sha, fingerprint):
        with self._connect() as db:
            db.execute(
                "INSERT INTO results (student_id, submission_sha, fingerprint, state, updated) "
                "VALUES (?, ?, ?, 'pending', ?) ON CONFLICT(student_id) DO UPDATE SET "
                "submission_sha=excluded.submission_sha, fingerprint=excluded.fingerprint, "
                "state='pending', updated=excluded.updated",
                (student_id, submission_sha, fingerprint, time.time()))

    def mark_done(self, record, fingerprint):
        data = {k: v for k, v in record.to_dict().items() if k not in ("autograded_notebook",)}
        state = "failed" if record.status == Status.ERROR.value else "done"
        with self._connect() as db:
            db.execute(
                "INSERT INTO results (student_id, submission_sha, fingerprint, state, status, detail, "
                "score, max_score, record, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(student_id) DO UPDATE SET submission_sha=excluded.submission_sha, "
                "fingerprint=excluded.fingerprint, state=excluded.state, status=excluded.status, "
                "detail=excluded.detail, score=excluded.score, max_score=excluded.max_score, "
                "record=excluded.record, updated=excluded.updated",
                (record.student_id, record.submission_sha, fingerprint, state, record.status, record.detail,
                 record.score, record.max_score, json.dumps(data), time.time()))

    def note_feedback_failure(self, student_id, reason):
        """Add to a graded student's detail why their feedback file could not be made as usual."""
        with self._connect() as db:
            row = db.execute("SELECT detail, record FROM results WHERE student_id = ?", (student_id,)).fetchone()
            if row is None:
                return
            detail = "; ".join(filter(None, [row[0], reason]))
            record = json.loads(row[1] or "{}")
            record["feedback_problem"] = reason
            db.execute("UPDATE results SET detail = ?, record = ? WHERE student_id = ?", (detail, json.dumps(record), student_id))
