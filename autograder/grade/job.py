"""The per-submission grading job: a plain function, submission in, result record out.

``grade_submission(job)`` runs in a worker (a local process pool or a Dask worker): it
autogrades one notebook with nbgrader's own ``Autograde`` converter, in a private scratch
course with a private SQLite gradebook (a copy of the template), so any number of jobs can
run at once and none of them writes to the course gradebook. The result record carries the
autograded notebook back to the single writer (:mod:`autograder.grade.gradebook`).

Everything in a job is plain data (strings, bytes, numbers), so it pickles for Dask.
"""
import copy
import logging
import os
import shutil
import socket
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_FILE

# Status column values. ``error`` means the grader itself failed: nothing was recorded and the
# next run grades the submission again.
GRADED, TIMED_OUT, CRASHED, INVALID, FLAGGED, ERROR = (
    "graded", "timed out", "crashed", "invalid", "flagged", "error")
STATUSES = (GRADED, FLAGGED, TIMED_OUT, CRASHED, INVALID, ERROR)


@dataclass
class GradeJob:
    """Everything a worker needs to grade one submission."""

    student_id: str
    notebook_text: str  # the submitted notebook (JSON text)
    course_root: str  # holds nbgrader_config.py and source/ (shared storage on a cluster)
    template_gradebook: bytes  # SQLite file with the assignment's structure
    submission_sha: str = ""
    timestamp: str = ""  # submission time, nbgrader's timestamp.txt format
    cell_timeout: int = 0  # 0: the course configuration's value
    notebook_timeout: int = 0
    extra_files: dict = field(default_factory=dict)  # other files the student handed in: name -> bytes


@dataclass
class ResultRecord:
    """What grading one submission produced (one row of the status table)."""

    student_id: str
    status: str
    detail: str = ""
    score: float = 0.0
    max_score: float = 0.0
    tests: dict = field(default_factory=dict)  # grade_id -> [score or None, max]
    failures: dict = field(default_factory=dict)  # grade_id -> "Ename: first line of message"
    findings: list = field(default_factory=list)  # integrity findings (strings)
    sandboxed: bool = False
    seconds: float = 0.0
    worker: str = ""  # host:pid of the process that graded it
    submission_sha: str = ""
    timestamp: str = ""
    autograded_notebook: str = field(default="", repr=False)
    log: str = field(default="", repr=False)

    def to_dict(self):
        return asdict(self)


@lru_cache(maxsize=4)
def _course_config(course_root):
    from autograder.grade.gradebook import _load_course_config

    return _load_course_config(course_root)


def _first_line(text, limit=160):
    line = next((ln for ln in str(text).splitlines() if ln.strip()), "")
    return line[:limit]


def summarise_notebook(notebook):
    """(tests, failures, status, detail, sandboxed) read from an autograded notebook."""
    from nbgrader import utils

    tests, failures = {}, {}
    for cell in notebook.cells:
        if not utils.is_grade(cell):
            continue
        grade_id = cell.metadata.nbgrader["grade_id"]
        score, max_score = utils.determine_grade(cell)
        tests[grade_id] = [score, max_score]
        if cell.cell_type == "code" and score is not None and score < max_score:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    failures[grade_id] = f"{output.get('ename')}: {_first_line(output.get('evalue', ''))}"
                    break
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    failures[grade_id] = f"stderr: {_first_line(output.get('text', ''))}"
                    break
    meta = notebook.metadata.get("autograder", {})
    detail = "; ".join(e["detail"] for e in meta.get("events", []))
    return tests, failures, meta.get("status", GRADED), detail, bool(meta.get("sandboxed", False))


def scan_integrity(notebook):
    """Findings of ``autograder.integrity.scan_notebook`` if that module exists, as strings."""
    try:
        from autograder.integrity import scan_notebook
    except ImportError:
        return []
    try:
        findings = scan_notebook(notebook) or []
    except Exception as exc:  # a scanner bug must not stop grading; say so in the report
        return [f"integrity scan failed: {exc!r}"]
    return [str(getattr(f, "message", None) or f) for f in findings]


def quiet_nbgrader_warnings():
    """nbgrader's gradebook API triggers harmless SQLAlchemy session warnings on every submission."""
    try:
        from sqlalchemy.exc import SAWarning
    except ImportError:
        return
    warnings.filterwarnings("ignore", category=SAWarning)


class _LogCapture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        message = record.getMessage()
        if "checksum" not in message:  # hidden-test cells always differ from the release
            self.lines.append(f"{record.levelname}: {message}")


def die_with(parent_pid):
    """End this process when ``parent_pid`` (the grading command) ends, even by SIGKILL (Linux).

    A pool worker would otherwise outlive a killed grading command, idle for ever with its
    zygote; the kernels and zygote of a worker end with the worker.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # it ended before the line above took effect
        os._exit(1)


def warm_up(course_root, parent_pid=None):
    """Pay a worker process's one-time costs before its first job (a pool initializer: never raises).

    With ``parent_pid`` the worker first arranges to end with that process (:func:`die_with`).

    Imports nbgrader, loads the course configuration, probes the sandbox, starts the kernel
    zygote (:mod:`autograder.sandbox.zygote`: this worker's kernels are forked from it) and
    computes the tamper guard's pristine reference (:mod:`autograder.sandbox.pristine`).
    Whatever fails here is met again, and reported, by the first job.
    """
    if parent_pid is not None:
        die_with(parent_pid)
    try:
        import nbgrader.converters  # noqa: F401

        from autograder.sandbox.kernel import enable_zygote, pristine_reference, sandbox_problem
        from autograder.sandbox.launch import kernel_course_root

        quiet_nbgrader_warnings()
        config = _course_config(str(Path(course_root).resolve()))  # also puts the course on the kernels' PYTHONPATH
        try:
            enable_zygote(config)
        except Exception:  # every kernel is then started the usual way
            pass
        kernel_root = kernel_course_root(os.environ.get("PYTHONPATH", ""))
        if sandbox_problem() is None and kernel_root:
            pristine_reference(sys.executable, kernel_root)
    except Exception:
        pass


def grade_submission(job):
    """Autograde one submission in a private scratch course; return a :class:`ResultRecord`."""
    import nbformat
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    quiet_nbgrader_warnings()
    started = time.monotonic()
    record = ResultRecord(student_id=job.student_id, status=ERROR, worker=f"{socket.gethostname()}:{os.getpid()}",
                          submission_sha=job.submission_sha, timestamp=job.timestamp)
    course_root = Path(job.course_root).resolve()
    scratch = Path(tempfile.mkdtemp(prefix=f"grade-{job.student_id}-"))
    capture = _LogCapture()
    try:
        submitted = scratch / "submitted" / job.student_id / ASSIGNMENT_ID
        submitted.mkdir(parents=True)
        (submitted / NOTEBOOK_FILE).write_text(job.notebook_text)
        for name, data in job.extra_files.items():
            (submitted / name).write_bytes(data)
        if job.timestamp:
            (submitted / "timestamp.txt").write_text(job.timestamp)
        (scratch / "source").mkdir()
        (scratch / "source" / ASSIGNMENT_ID).symlink_to(course_root / "source" / ASSIGNMENT_ID)
        (scratch / "gradebook.db").write_bytes(job.template_gradebook)

        config = copy.deepcopy(_course_config(str(course_root)))
        if job.cell_timeout:
            config.Execute.timeout = job.cell_timeout
        if job.notebook_timeout:
            config.GuardedExecute.notebook_timeout = job.notebook_timeout
        coursedir = CourseDirectory(config=config)
        coursedir.root = str(scratch)
        coursedir.db_url = f"sqlite:///{scratch / 'gradebook.db'}"
        coursedir.assignment_id = ASSIGNMENT_ID
        coursedir.student_id = job.student_id
        app = Autograde(coursedir=coursedir, config=config)
        app.force = True
        app.create_student = True
        app.log.addHandler(capture)
        app.log.propagate = False
        try:
            app.start()
        except Exception as exc:  # nbgrader reports per-notebook failures this way
            capture.lines.append(f"ERROR: {exc!r}")
        finally:
            app.log.removeHandler(capture)
        out = scratch / "autograded" / job.student_id / ASSIGNMENT_ID / NOTEBOOK_FILE
        record.log = "\n".join(capture.lines[-200:])
        if not out.exists():
            errors = [ln for ln in capture.lines if ln.startswith(("ERROR", "CRITICAL"))]
            record.detail = "nbgrader could not grade this notebook: " + (
                _first_line("\n".join(errors[-3:])) if errors else "no autograded notebook")
            return record
        text = out.read_text()
        notebook = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        tests, failures, status, detail, sandboxed = summarise_notebook(notebook)
        record.autograded_notebook = text
        record.tests, record.failures, record.sandboxed = tests, failures, sandboxed
        record.score = float(sum(s for s, _ in tests.values() if s is not None))
        record.max_score = float(sum(m for _, m in tests.values()))
        record.findings = scan_integrity(nbformat.reads(job.notebook_text, as_version=nbformat.NO_CONVERT))
        if record.findings and status == GRADED:
            status = FLAGGED
        record.status, record.detail = status, detail
        return record
    except Exception:
        record.detail = "grader error: " + _first_line(traceback.format_exc().splitlines()[-1])
        record.log = "\n".join(capture.lines[-200:] + [traceback.format_exc()])
        return record
    finally:
        record.seconds = time.monotonic() - started
        shutil.rmtree(scratch, ignore_errors=True)
