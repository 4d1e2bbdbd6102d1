"""The same grading job on a Dask cluster, and the gradebook on a real PostgreSQL server.

PostgreSQL: the test makes its own cluster with Debian's ``initdb`` in a temp folder, run by
an unprivileged user (``initdb`` refuses root) on a unix socket, and removes it afterwards.
Dask: a real ``distributed.LocalCluster`` with 2 worker processes.
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from corpus import notebooks
from corpus.courses import (autograded_points, course_copy, gradebook_scores, source_and_release,
                         submission_counts, write_submission)

from autograder.grade.outputs import class_rows
from autograder.grade.run import course_info, grade_class

pytestmark = pytest.mark.slow
QUIET = dict(cell_timeout=30, feedback=False, report=False, progress=False)


def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL server binaries missing: ./course test installs Debian's postgresql")
    return Path(found[-1]).parent


def _as_user(user):
    """Command prefix running as an unprivileged user (the test runs as root here)."""
    if os.getuid() != 0:
        return []
    entry = pwd.getpwnam(user)
    return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL server on a unix socket; yields the nbgrader db_url."""
    pg = _pg_bin()
    folder = Path(tempfile.mkdtemp(prefix="lab5-pg-"))
    user = "nobody"
    owner = pwd.getpwnam(user)
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    data, sock = folder / "data", folder
    env = dict(os.environ, LC_ALL="C.UTF-8", HOME=str(folder))
    run = lambda *cmd: subprocess.run(_as_user(user) + list(cmd), env=env, check=True,  # noqa: E731
                                      capture_output=True, text=True, timeout=120)
    run(str(pg / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    port = 5400 + os.getpid() % 500
    run(str(pg / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
        f"-k {sock} -p {port} -c listen_addresses=''", "start")
    try:
        run(str(pg / "createdb"), "-h", str(sock), "-p", str(port), "-U", "postgres", "gradebook")
        yield f"postgresql+psycopg2://postgres@/gradebook?host={sock}&port={port}"
    finally:
        subprocess.run(_as_user(user) + [str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       env=env, capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def test_postgresql_gradebook(tmp_path, postgres):
    course = course_copy(tmp_path / "course")
    source, release = source_and_release(course)
    write_submission(course, "pat", notebooks.correct_notebook(source, release))
    write_submission(course, "quinn", notebooks.buggy_notebook(source, release))
    records = {r.student_id: r for r in grade_class(course, workers=2, db_url=postgres, **QUIET)}
    assert {s: r.status for s, r in records.items()} == {"pat": "graded", "quinn": "graded"}
    # the scores are in PostgreSQL, and not in a SQLite file next to the course
    assert submission_counts(course, postgres) == {"pat": 1, "quinn": 1}
    assert not (course / "gradebook.db").exists()
    stored = gradebook_scores(course, postgres)
    assert sum(v for k, v in stored["pat"].items() if k.startswith("test_")) == autograded_points(source)
    rows = {r["student_id"]: r for r in class_rows(course_info(course, postgres))}
    assert rows["pat"]["raw_score"] > rows["quinn"]["raw_score"]


def test_dask_localcluster_gives_the_same_results_as_the_process_pool(tmp_path):
    from distributed import Client, LocalCluster

    local_course = course_copy(tmp_path / "local")
    dask_course = course_copy(tmp_path / "dask")
    source, release = source_and_release(local_course)
    for course in (local_course, dask_course):
        write_submission(course, "ada", notebooks.correct_notebook(source, release))
        write_submission(course, "bob", notebooks.buggy_notebook(source, release))
    local = {r.student_id: r for r in grade_class(local_course, workers=2, **QUIET)}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = {r.student_id: r for r in grade_class(dask_course, scheduler=cluster.scheduler_address, **QUIET)}
        with Client(cluster.scheduler_address) as client:
            worker_pids = set(client.run(os.getpid).values())
    # graded in the cluster's worker processes, not in this one
    used = {int(r.worker.rsplit(":", 1)[1]) for r in on_dask.values()}
    assert used <= worker_pids and os.getpid() not in used
    assert {s: (r.status, r.tests) for s, r in on_dask.items()} == {s: (r.status, r.tests) for s, r in local.items()}
    assert on_dask["ada"].score == autograded_points(source) > on_dask["bob"].score
    assert submission_counts(dask_course) == {"ada": 1, "bob": 1}


def test_gradebook_schema_version_matches_the_alembic_command(tmp_path):
    """A gradebook made quickly (``quick_gradebook_creation``) is stamped with the same migration
    that nbgrader's own ``alembic heads`` call returns, and nbgrader opens it without a complaint."""
    import sqlite3

    import nbgrader.api
    from nbgrader.api import Gradebook

    from autograder.grade.gradebook import alembic_head, quick_gradebook_creation

    assert nbgrader.api.get_alembic_version() == alembic_head()  # the command, as nbgrader runs it
    with quick_gradebook_creation():
        with Gradebook(f"sqlite:///{tmp_path / 'quick.db'}"):
            pass
    assert nbgrader.api.get_alembic_version is not None and "quick" not in nbgrader.api.get_alembic_version.__qualname__
    stamped = sqlite3.connect(tmp_path / "quick.db").execute("SELECT version_num FROM alembic_version").fetchall()
    assert stamped == [(alembic_head(),)]
    with Gradebook(f"sqlite:///{tmp_path / 'quick.db'}") as gb:
        assert gb.students == []
