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

from autograder.course import ASSIGNMENT_ID, COURSE_ROOT, NOTEBOOK_FILE
from autograder.grade import gradebook as gbk
from autograder.grade import importer
from autograder.grade.job import GradeJob, ResultRecord, grade_submission, quiet_nbgrader_warnings, warm_up
from autograder.grade.ledger import Ledger
from autograder.status import Status

STATE_DIR = ".grading"


@dataclass
class CourseInfo:
    """Where a course keeps things, read from its nbgrader_config.py."""

    root: Path
    db_url: str
    course_id: str
    config: object = field(repr=False, default=None)
    state_dir: Path = field(init=False)

    def __post_init__(self):
        self.state_dir = self.root / STATE_DIR

    @property
    def ledger(self):
        return Ledger(self.state_dir / "ledger.db")

    def autograded_dir(self, student):
        return self.root / "autograded" / student / ASSIGNMENT_ID

    def feedback_dir(self, student):
        return self.root / "feedback" / student / ASSIGNMENT_ID


def course_info(course_root, db_url=None):
    from nbgrader.coursedir import CourseDirectory

    root = Path(course_root).resolve()
    config = gbk.load_course_config(root)
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return CourseInfo(root=root, db_url=db_url or coursedir.db_url, course_id=coursedir.course_id, config=config)


def grading_files(course_root):
    """Every file that can decide a grade besides the submission: the configuration, the whole
    source assignment (notebook, data, images, widgets) and all the grading code but its tests."""
    root = Path(course_root)
    files = [root / "nbgrader_config.py"]
    files += sorted(p for p in (root / "source" / ASSIGNMENT_ID).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    files += sorted(p for p in (root / "autograder").rglob("*.py") if "tests" not in p.relative_to(root / "autograder").parts)
    return files


def grading_fingerprint(course_root, cell_timeout=0, notebook_timeout=0):
    """Hash of everything that decides a grade besides the submission: change it, regrade all."""
    root = Path(course_root)
    digest = hashlib.sha256(f"{cell_timeout}/{notebook_timeout}".encode())
    for path in grading_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def template(info, fingerprint):
    """The template gradebook's bytes and the released notebook's text for this fingerprint (built
    once), with the course gradebook set up for the assignment."""
    path = info.state_dir / f"template-{fingerprint[:16]}.db"
    release = path.with_suffix(".release.ipynb")
    if not (path.exists() and release.exists()):
        for old in info.state_dir.glob("template-*"):
            old.unlink()
        tmp = path.with_suffix(".tmp")
        release.with_suffix(".tmp").write_text(gbk.build_template(info.root, tmp))
        release.with_suffix(".tmp").replace(release)
        tmp.replace(path)
    gbk.copy_assignment(f"sqlite:///{path}", info.db_url, info.course_id)
    from autograder.grade.lateness import late_policy, store_duedate

    policy = late_policy(info.config)
    if policy.duedate is not None:
        store_duedate(info.db_url, policy.duedate, info.course_id)
    return path.read_bytes(), release.read_text()


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
    if Status(record.status).recorded and record.autograded_notebook:
        _write_autograded(info, record)
        gbk.write_result(info.db_url, info.course_id, record.student_id, gbk.read_notebook(record.autograded_notebook),
                         info.config, timestamp=record.timestamp or None)
    else:
        _discard(info, record.student_id)
    ledger.mark_done(record, fingerprint)


def start_executor(workers, scheduler, course_root, zygote):
    """The local process pool (or Dask client), its workers already paying their start-up costs.

    Started before the template gradebook is built, so each local worker's imports, sandbox probe,
    verifier process and kernel zygote (:func:`autograder.grade.job.warm_up`) overlap with that.
    Dask workers pay those costs in their first job and start their kernels the usual way.
    """
    if scheduler:
        from distributed import Client

        return Client(scheduler)
    context = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=warm_up,
                                                  initargs=(str(course_root), os.getpid(), zygote))
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
                record = ResultRecord(student_id=job.student_id, status=Status.ERROR.value, submission_sha=job.submission_sha,
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
        text, messages = importer.check_notebook(data)
        sha = hashlib.sha256(data).hexdigest()
        imported = imports.get(student, {})
        if imported.get("sha256") == sha and imported.get("message"):  # what the import ignored
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
                export=True, report=True, output_dir=None, progress=True, echo=None, unsandboxed=False):
    """Grade every new or changed submission of the course; return this run's result records.

    ``submissions``: a folder or zip as exported by the LMS, imported first (optional).
    ``workers``: local worker processes (default: the number of cores); ``scheduler``: a Dask
    scheduler address instead. ``force``: grade everything again. Results go to the gradebook
    (``db_url``, default the course's), ``autograded/`` and ``feedback/``; ``export`` and
    ``report`` write ``grades.csv`` (plus the LMS files) and ``report.html`` to ``output_dir``
    (default ``<course>/output/lab5``). Without a sandbox (bwrap) it refuses to grade unless
    ``unsandboxed`` says the instructor accepts that.
    """
    from autograder.sandbox.provisioner import UNSANDBOXED_WARNING, sandbox_problem

    echo = echo or (lambda message: print(message, file=sys.stderr, flush=True))
    quiet_nbgrader_warnings()
    problem = sandbox_problem()
    if problem and not unsandboxed:
        raise RuntimeError(f"refusing to grade without a sandbox: {problem}. Install it (as root: apt-get install "
                           "bubblewrap; ./course setup-sandbox does this), or pass --unsandboxed to grade anyway, "
                           "knowing that student code then runs with your permissions")
    if problem:
        echo(UNSANDBOXED_WARNING.format(why=problem))
    info = course_info(course_root or COURSE_ROOT, db_url)
    info.state_dir.mkdir(parents=True, exist_ok=True)
    lock = _single_run_lock(info)
    workers = workers or os.cpu_count() or 1

    if submissions is not None:
        outcomes = importer.import_submissions(submissions, info.root)
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
    zygote = not scheduler and problem is None
    executor = start_executor(workers, scheduler, info.root, zygote) if runnable else None
    try:
        template_db, release_notebook = template(info, fingerprint)
        jobs, results, notes = [], [], {}
        for student, (text, messages, sha, timestamp) in to_grade.items():
            if text is None:
                record = ResultRecord(student_id=student, status=Status.INVALID.value, detail="; ".join(messages), submission_sha=sha)
                record_result(info, record, fingerprint, ledger)
                results.append(record)
                continue
            notes[student] = messages
            ledger.mark_pending(student, sha, fingerprint)
            jobs.append(GradeJob(student_id=student, notebook_text=text, course_root=str(info.root),
                                 template_gradebook=template_db, release_notebook=release_notebook, submission_sha=sha,
                                 timestamp=timestamp, cell_timeout=cell_timeout, notebook_timeout=notebook_timeout,
                                 zygote=zygote, allow_unsandboxed=bool(unsandboxed)))

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

    regraded = [r.student_id for r in results if Status(r.status).recorded]
    if feedback and regraded:
        from autograder.grade.outputs import generate_feedback

        for student, reason in generate_feedback(info, regraded, echo).items():
            info.ledger.note_feedback_failure(student, reason)
    output_dir = Path(output_dir) if output_dir else info.root / "output" / ASSIGNMENT_ID
    if export or report:
        from autograder.grade import outputs
        from autograder.grade.report import report_data, write_report, write_report_json

        output_dir.mkdir(parents=True, exist_ok=True)
        rows = outputs.class_rows(info)
        if export:
            outputs.write_exports(info, rows, output_dir)
        if report:  # report.html and its machine-readable twin report.json, from the same numbers
            data = report_data(info, rows)
            write_report(info, rows, output_dir / "report.html", data=data)
            write_report_json(info, rows, output_dir / "report.json", data=data)
    lock.close()
    return results


__all__ = ["grade_class", "record_result", "course_info", "grading_fingerprint"]
