"""Grade a whole class: import, autograde in parallel, record, feedback, export, report.

:func:`grade_class` is the plain-function API behind ``./course grade`` (and the demo). The
grading of one submission is :func:`autograder.grade.job.grade_submission`; this module only
decides what to grade, sends the jobs to a local process pool or a Dask cluster, and is the
single writer of the results (gradebook, ``autograded/``, ledger).
"""
import concurrent.futures
import hashlib
import multiprocessing
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_FILE, NOTEBOOK_NAME
from autograder.grade import gradebook as gbk
from autograder.grade import importer
from autograder.grade.job import (CRASHED, ERROR, FLAGGED, GRADED, INVALID, STATUSES, TIMED_OUT, GradeJob,
                                  ResultRecord, grade_submission, warm_up)
from autograder.grade.ledger import Ledger

RECORDED = (GRADED, FLAGGED, TIMED_OUT, CRASHED)  # statuses whose scores go into the gradebook
STATE_DIR = ".grading"


@dataclass
class CourseInfo:
    """Where a course keeps things, read from its nbgrader_config.py."""

    root: Path
    db_url: str
    course_id: str
    state_dir: Path = field(init=False)

    def __post_init__(self):
        self.state_dir = self.root / STATE_DIR

    @property
    def ledger(self):
        return Ledger(self.state_dir / "ledger.db")

    def submitted(self, student):
        return self.root / "submitted" / student / ASSIGNMENT_ID / NOTEBOOK_FILE

    def autograded_dir(self, student):
        return self.root / "autograded" / student / ASSIGNMENT_ID

    def feedback_dir(self, student):
        return self.root / "feedback" / student / ASSIGNMENT_ID


def course_info(course_root, db_url=None):
    from nbgrader.coursedir import CourseDirectory

    root = Path(course_root).resolve()
    config = gbk._load_course_config(root)
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return CourseInfo(root=root, db_url=db_url or coursedir.db_url, course_id=coursedir.course_id)


def _tool_path():
    """nbgrader runs ``alembic`` by name: this interpreter's bin folder must be on PATH."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])


def grading_fingerprint(course_root, cell_timeout=0, notebook_timeout=0):
    """Hash of everything that decides a grade besides the submission: change it, regrade all."""
    root = Path(course_root)
    digest = hashlib.sha256(f"{cell_timeout}/{notebook_timeout}".encode())
    files = [root / "nbgrader_config.py", root / "source" / ASSIGNMENT_ID / NOTEBOOK_FILE]
    for package in ("checks", "sandbox"):
        files += sorted((root / "autograder" / package).rglob("*.py"))
    for extra in ("reference.py", "lab.py", "integrity.py", "grade/job.py"):
        files.append(root / "autograder" / extra)
    for path in files:
        if path.exists():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def template_gradebook(info, fingerprint):
    """The template gradebook for this fingerprint (built once), and the course gradebook set up."""
    path = info.state_dir / f"template-{fingerprint[:16]}.db"
    if not path.exists():
        for old in info.state_dir.glob("template-*.db"):
            old.unlink()
        tmp = path.with_suffix(".tmp")
        gbk.build_template_gradebook(info.root, tmp)
        tmp.replace(path)
    template_url = f"sqlite:///{path}"
    gbk.copy_assignment(template_url, info.db_url, info.course_id)
    return path


def _read_timestamp(student_folder):
    stamp = student_folder / "timestamp.txt"
    return stamp.read_text().strip() if stamp.exists() else ""


def _write_autograded(info, record):
    """Put the autograded notebook in place atomically (a rename of a complete folder)."""
    final = info.autograded_dir(record.student_id)
    tmp = final.parent / f".{ASSIGNMENT_ID}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    (tmp / NOTEBOOK_FILE).write_text(record.autograded_notebook)
    if record.timestamp:
        (tmp / "timestamp.txt").write_text(record.timestamp)
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)


def _discard(info, student):
    """No result may stand for this student: remove gradebook submission, autograded, feedback."""
    gbk.remove_result(info.db_url, info.course_id, student)
    for folder in (info.autograded_dir(student), info.feedback_dir(student)):
        if folder.exists():
            shutil.rmtree(folder)


def record_result(info, record, fingerprint, ledger=None):
    """The single writer: store one record in autograded/, the gradebook and the ledger."""
    ledger = ledger or info.ledger
    if record.status in RECORDED and record.autograded_notebook:
        _write_autograded(info, record)
        notebook = gbk.read_notebook(record.autograded_notebook)
        gbk.write_result(info.db_url, info.course_id, record.student_id, notebook,
                         timestamp=record.timestamp or None)
    else:
        _discard(info, record.student_id)
    ledger.mark_done(record, fingerprint)


def start_executor(workers, scheduler, course_root):
    """The local process pool (or Dask client), its workers already paying their start-up costs.

    Started before the template gradebook is built, so each local worker's imports, sandbox probe,
    kernel zygote and tamper-guard reference (:func:`autograder.grade.job.warm_up`) overlap with
    that. Dask workers pay those costs in their first job and start their kernels the usual way.
    """
    if scheduler:
        from distributed import Client

        return Client(scheduler)
    context = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                                  initializer=warm_up, initargs=(str(course_root), os.getpid()))
    for _ in range(workers):  # a pool starts its processes as work arrives
        pool.submit(int)
    return pool


def _run_jobs(executor, jobs, scheduler, on_result, progress):
    """Send jobs to the pool or cluster; call ``on_result(record)`` as each finishes."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="nb", desc="grading", file=sys.stderr, dynamic_ncols=True)
    try:
        if scheduler:
            from distributed import as_completed

            futures = {executor.submit(grade_submission, job, pure=False, key=f"grade-{job.student_id}-"
                                       f"{job.submission_sha[:12]}-{os.urandom(4).hex()}"): job for job in jobs}
            done = as_completed(futures)
        else:
            futures = {executor.submit(grade_submission, job): job for job in jobs}
            done = concurrent.futures.as_completed(futures)
        for future in done:
            job = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # a worker died or could not run the job at all
                record = ResultRecord(student_id=job.student_id, status=ERROR, submission_sha=job.submission_sha,
                                      detail=f"grader error: the worker failed ({type(exc).__name__}: {exc})")
            on_result(record)
            if bar is not None:
                bar.set_postfix_str(f"{record.student_id}: {record.status}", refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


def _collect(info, students=None):
    """student -> (notebook text or None, messages, sha, timestamp) for everything to consider."""
    release = None
    source_nb = info.root / "source" / ASSIGNMENT_ID / NOTEBOOK_FILE
    import nbformat

    if source_nb.exists():
        release = nbformat.read(source_nb, as_version=4)
    found = {}
    imports = importer.read_import_log(info.state_dir / "imports.json")
    submitted = info.root / "submitted"
    for folder in sorted(submitted.glob(f"*/{ASSIGNMENT_ID}")) if submitted.exists() else []:
        student = folder.parent.name
        if students and student not in students:
            continue
        path = folder / NOTEBOOK_FILE
        if not path.exists():
            found[student] = (None, [f"no {NOTEBOOK_FILE} in {folder.relative_to(info.root)}"], "", "")
            continue
        data = path.read_bytes()
        text, messages = importer.check_notebook(data, release)
        sha = hashlib.sha256(data).hexdigest()
        imported = imports.get(student, {})
        if imported.get("sha256") == sha and imported.get("message"):  # what the import repaired or ignored
            messages = [imported["message"]] + messages
        found[student] = (text, messages, sha, _read_timestamp(folder))
    for student, entry in imports.items():
        if entry["status"] == importer.INVALID and student not in found and (not students or student in students):
            found[student] = (None, [entry["message"]], "invalid:" + hashlib.sha256(
                entry["message"].encode()).hexdigest(), "")
    return found


def _single_run_lock(info):
    """One grading run per course at a time (the lock dies with its process, even on SIGKILL)."""
    import fcntl

    handle = open(info.state_dir / "run.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise RuntimeError(f"another grading run is working on {info.root}; wait for it to finish") from None
    return handle


def grade_class(course_root=None, submissions=None, workers=None, scheduler=None, force=False,
                cell_timeout=0, notebook_timeout=0, db_url=None, students=None, feedback=True,
                export=True, report=True, output_dir=None, progress=True, echo=None):
    """Grade every new or changed submission of the course; return this run's result records.

    ``submissions``: a folder or zip as exported by the LMS, imported first (optional).
    ``workers``: local worker processes (default: the number of cores); ``scheduler``: a Dask
    scheduler address instead. ``force``: grade everything again. Results go to the gradebook
    (``db_url``, default the course's), ``autograded/`` and ``feedback/``; ``export`` and
    ``report`` write ``grades.csv`` and ``report.html`` to ``output_dir`` (default
    ``<course>/output/lab5``).
    """
    from autograder.course import COURSE_ROOT
    from autograder.sandbox.kernel import UNSANDBOXED_WARNING, sandbox_problem

    echo = echo or (lambda message: print(message, file=sys.stderr, flush=True))
    from autograder.grade.job import quiet_nbgrader_warnings

    quiet_nbgrader_warnings()
    _tool_path()
    info = course_info(course_root or COURSE_ROOT, db_url)
    info.state_dir.mkdir(parents=True, exist_ok=True)
    lock = _single_run_lock(info)
    problem = sandbox_problem()
    if problem:
        echo(UNSANDBOXED_WARNING.format(why=problem))
    workers = workers or os.cpu_count() or 1

    if submissions is not None:
        release = info.root / "source" / ASSIGNMENT_ID / NOTEBOOK_FILE
        outcomes = importer.import_submissions(submissions, info.root, release if release.exists() else None)
        importer.write_import_log(outcomes, info.state_dir / "imports.json")
        for o in outcomes:
            if o.status != importer.OK or o.message:
                echo(f"import {o.student_id or '?'}: {o.status}: {o.message}")

    fingerprint = grading_fingerprint(info.root, cell_timeout, notebook_timeout)
    ledger = info.ledger
    rows = ledger.rows()
    to_grade = {student: entry for student, entry in _collect(info, students).items()
                if force or ledger.needs_grading(student, entry[2], fingerprint, rows)}
    runnable = [student for student, (text, *_) in to_grade.items() if text is not None]
    executor = start_executor(workers, scheduler, info.root) if runnable else None
    try:
        template = template_gradebook(info, fingerprint).read_bytes()
        jobs, results, notes = [], [], {}
        for student, (text, messages, sha, timestamp) in to_grade.items():
            if text is None:
                record = ResultRecord(student_id=student, status=INVALID, detail="; ".join(messages), submission_sha=sha)
                record_result(info, record, fingerprint, ledger)
                results.append(record)
                continue
            notes[student] = messages
            ledger.mark_pending(student, sha, fingerprint)
            jobs.append(GradeJob(student_id=student, notebook_text=text, course_root=str(info.root),
                                 template_gradebook=template, submission_sha=sha, timestamp=timestamp,
                                 cell_timeout=cell_timeout, notebook_timeout=notebook_timeout))

        def on_result(record):
            if notes.get(record.student_id):
                record.detail = "; ".join(notes[record.student_id] + ([record.detail] if record.detail else []))
            record_result(info, record, fingerprint, ledger)
            results.append(record)

        echo(f"grading {len(jobs)} submission(s) on "
             f"{'Dask at ' + scheduler if scheduler else f'{workers} worker(s)'} ({len(rows)} already in the ledger)")
        if jobs:
            _run_jobs(executor, jobs, scheduler, on_result, progress)
    finally:
        if executor is not None and scheduler:
            executor.close()
        elif executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    regraded = [r.student_id for r in results if r.status in RECORDED]
    if feedback and regraded:
        from autograder.grade.outputs import generate_feedback

        generate_feedback(info, regraded, echo)
    output_dir = Path(output_dir) if output_dir else info.root / "output" / ASSIGNMENT_ID
    if export or report:
        from autograder.grade import outputs

        output_dir.mkdir(parents=True, exist_ok=True)
        rows = outputs.class_rows(info)
        if export:
            outputs.write_csv(rows, output_dir / "grades.csv")
        if report:
            outputs.write_report(info, rows, output_dir / "report.html")
    lock.close()
    return results


__all__ = ["grade_class", "record_result", "course_info", "grading_fingerprint", "STATUSES", "NOTEBOOK_NAME"]
