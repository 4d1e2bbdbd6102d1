"""The per-submission grading job: a plain function, submission in, result record out.

``grade_submission(job)`` runs in a worker (a local process pool or a Dask worker): it autogrades
one notebook with nbgrader's own ``Autograde`` converter and the course configuration (sandboxed
kernel, repair from the release, the verifier's record), in a private scratch course with a
private SQLite gradebook (a copy of the template), so any number of jobs can run at once and none
of them writes to the course gradebook. The result record carries the autograded notebook back to
the single writer (:mod:`autograder.grade.gradebook`).

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
from autograder.status import Status


@dataclass
class GradeJob:
    """Everything a worker needs to grade one submission."""

    student_id: str
    notebook_text: str  # the submitted notebook (JSON text)
    course_root: str  # holds nbgrader_config.py and source/ (shared storage on a cluster)
    template_gradebook: bytes  # SQLite file with the assignment's structure
    release_notebook: str  # the released notebook (JSON text): what damaged cells are repaired from
    submission_sha: str = ""
    timestamp: str = ""  # submission time, nbgrader's timestamp.txt format
    cell_timeout: int = 0  # 0: the course configuration's value
    notebook_timeout: int = 0
    zygote: bool = False  # fork the kernel from this worker's zygote (local workers)
    allow_unsandboxed: bool = False  # grade even where bwrap cannot run (the instructor said so)


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
    diagnoses: dict = field(default_factory=dict)  # grade_id -> the verifier's diagnosis id (failed checks)
    messages: dict = field(default_factory=dict)  # grade_id -> the verifier's whole message (failed checks)
    verifier: dict = field(default_factory=dict)  # round trips, bytes and seconds spent by the verifier
    findings: list = field(default_factory=list)  # integrity findings (strings)
    repairs: list = field(default_factory=list)  # what was repaired in the notebook's graded cells
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
    from autograder.grade.gradebook import load_course_config

    return load_course_config(course_root)


def _first_line(text, limit=200):
    line = next((ln for ln in str(text).splitlines() if ln.strip()), "")
    return line[:limit]


def summarise_notebook(notebook):
    """(tests, failures, diagnoses, messages, verifier totals, status, detail events, repairs) of an autograded notebook."""
    from nbgrader import utils

    meta = notebook.metadata.get("autograder", {})
    verdicts = meta.get("verifier", {}).get("cells", {})
    tests, failures, diagnoses, messages = {}, {}, {}, {}
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
            verdict = verdicts.get(grade_id)
            if verdict and not verdict.get("passed"):
                diagnoses[grade_id], messages[grade_id] = verdict.get("diagnosis", ""), verdict.get("message", "")
    totals = {key: round(sum(v.get(key, 0) for v in verdicts.values()), 4)
              for key in ("round_trips", "bytes_sent", "bytes_received", "seconds")}
    details = [e["detail"] for e in meta.get("events", [])]
    return (tests, failures, diagnoses, messages, totals, meta.get("status", Status.GRADED.value), details,
            list(meta.get("repairs", [])), bool(meta.get("sandboxed", False)))


def scan_integrity(notebook):
    """The advisory integrity findings of ``autograder.integrity`` for the submitted notebook, as strings."""
    from autograder.integrity import scan_notebook

    try:
        return [finding.message for finding in scan_notebook(notebook)]
    except Exception as exc:  # a scanner bug must not stop grading; the report says so
        return [f"integrity scan failed: {exc!r}"]


def quiet_nbgrader_warnings():
    """nbgrader's gradebook API triggers harmless SQLAlchemy session warnings on every submission."""
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)


class _LogCapture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        message = record.getMessage()
        if "checksum" not in message:  # test cells with hidden parts always differ from the release
            self.lines.append(f"{record.levelname}: {message}")


def nbgrader_failure(lines):
    """The actual reason nbgrader could not grade a notebook: the last exception line it logged."""
    for line in reversed(lines):
        if line.startswith(("ERROR", "CRITICAL")) and "Traceback" in line:
            last = [ln.strip() for ln in line.splitlines() if ln.strip()][-1]
            return last[:400]
    errors = [ln for ln in lines if ln.startswith(("ERROR", "CRITICAL"))]
    return _first_line(errors[-1], 400) if errors else "no autograded notebook was written"


def die_with(parent_pid):
    """End this process when ``parent_pid`` (the grading command) ends, even by SIGKILL (Linux).

    A pool worker would otherwise outlive a killed grading command, idle for ever with its
    zygote and verifier; the kernels, zygote and verifier of a worker end with the worker.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # it ended before the line above took effect
        os._exit(1)


def warm_up(course_root, parent_pid=None, zygote=True):
    """Pay a worker process's one-time costs before its first job (a pool initializer: never raises).

    With ``parent_pid`` the worker first arranges to end with that process (:func:`die_with`).
    Imports nbgrader, loads the course configuration, probes the sandbox, starts the verifier
    process (:mod:`autograder.verifier.service`) and, with ``zygote``, the kernel zygote
    (:mod:`autograder.sandbox.zygote`: this worker's kernels are forked from it). Whatever fails
    here is met again, and reported, by the first job.
    """
    if parent_pid is not None:
        die_with(parent_pid)
    log = logging.getLogger("autograder.grade")
    try:
        import nbgrader.converters  # noqa: F401

        from autograder.sandbox.provisioner import sandbox_problem, start_zygote
        from autograder.verifier.service import verifier

        quiet_nbgrader_warnings()
        config = _course_config(str(Path(course_root).resolve()))
        verifier().ensure_started()
        if zygote and sandbox_problem() is None:
            start_zygote(config)
    except Exception as exc:  # the first job meets it again and reports it
        log.warning("worker warm-up: %s", exc)


def grade_submission(job):
    """Autograde one submission in a private scratch course; return a :class:`ResultRecord`."""
    import nbformat
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    quiet_nbgrader_warnings()
    started = time.monotonic()
    record = ResultRecord(student_id=job.student_id, status=Status.ERROR.value, worker=f"{socket.gethostname()}:{os.getpid()}",
                          submission_sha=job.submission_sha, timestamp=job.timestamp)
    course_root = Path(job.course_root).resolve()
    scratch = Path(tempfile.mkdtemp(prefix=f"grade-{job.student_id}-"))
    capture = _LogCapture()
    try:
        submitted = scratch / "submitted" / job.student_id / ASSIGNMENT_ID
        submitted.mkdir(parents=True)
        (submitted / NOTEBOOK_FILE).write_text(job.notebook_text)
        if job.timestamp:
            (submitted / "timestamp.txt").write_text(job.timestamp)
        (scratch / "source").mkdir()
        (scratch / "source" / ASSIGNMENT_ID).symlink_to(course_root / "source" / ASSIGNMENT_ID)
        release = scratch / "release" / ASSIGNMENT_ID / NOTEBOOK_FILE
        release.parent.mkdir(parents=True)
        release.write_text(job.release_notebook)
        (scratch / "gradebook.db").write_bytes(job.template_gradebook)

        config = copy.deepcopy(_course_config(str(course_root)))
        if job.cell_timeout:
            config.Execute.timeout = job.cell_timeout
        if job.notebook_timeout:
            config.SandboxedExecute.notebook_timeout = job.notebook_timeout
        config.SandboxedExecute.zygote = job.zygote
        config.SandboxedExecute.allow_unsandboxed = job.allow_unsandboxed
        config.RepairCells.release_notebook = str(release)
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
            record.detail = f"nbgrader could not grade this notebook: {nbgrader_failure(capture.lines)}"
            return record
        text = out.read_text()
        notebook = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        (record.tests, record.failures, record.diagnoses, record.messages, record.verifier, status, details,
         record.repairs, record.sandboxed) = summarise_notebook(notebook)
        record.autograded_notebook = text
        record.score = float(sum(s for s, _ in record.tests.values() if s is not None))
        record.max_score = float(sum(m for _, m in record.tests.values()))
        record.findings = scan_integrity(nbformat.reads(job.notebook_text, as_version=nbformat.NO_CONVERT))
        if record.findings and status == Status.GRADED.value:
            status = Status.FLAGGED.value
        if record.findings:
            details.append("flagged for review (the score stands): " + "; ".join(record.findings[:3])
                           + (f"; and {len(record.findings) - 3} more" if len(record.findings) > 3 else ""))
        record.status, record.detail = status, "; ".join(record.repairs + details)
        return record
    except Exception:
        record.detail = "grader error: " + _first_line(traceback.format_exc().splitlines()[-1])
        record.log = "\n".join(capture.lines[-200:] + [traceback.format_exc()])
        return record
    finally:
        record.seconds = time.monotonic() - started
        shutil.rmtree(scratch, ignore_errors=True)
