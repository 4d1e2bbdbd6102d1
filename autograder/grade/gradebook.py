"""The gradebook side of grading: the template a worker grades against, and the single writer.

Workers never touch the course's gradebook. Each one autogrades against a private SQLite copy
of the assignment's structure (the *template*, made from ``source/`` with nbgrader's own
``generate_assignment``, which also yields the released notebook that damaged submissions are
repaired from), and returns the autograded notebook. The grading process alone writes results
into the course gradebook (SQLite or PostgreSQL, nbgrader's ``db_url``), with nbgrader's own
preprocessors: ``SaveAutoGrades`` (scores and "No response" comments, by nbgrader's scoring rule;
here :class:`SaveAutoGradesAtOnce`, the same in one transaction) and ``AssignLatePenalties`` (the
course's late-penalty plugin).
"""
import contextlib
import logging
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_FILE, NOTEBOOK_NAME

log = logging.getLogger("autograder.grade")


def alembic_head():
    """The gradebook schema's newest migration, from alembic's Python API (milliseconds)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader import dbutil

    with dbutil._temp_alembic_ini("sqlite:////tmp/gradebook.db") as alembic_ini:
        return ScriptDirectory.from_config(Config(alembic_ini)).get_current_head()


@contextlib.contextmanager
def quick_gradebook_creation():
    """While this is active, nbgrader creates a gradebook without starting the ``alembic`` command.

    nbgrader's ``Gradebook`` asks ``nbgrader.api.get_alembic_version`` for the schema head whenever
    it creates a new gradebook, and that function runs ``alembic heads`` as a new Python process
    (about 2.5 s here): twice in a course's first grading run (the template and the course
    gradebook). nbgrader has no setting for it, so it is replaced here, for this block only, by
    the same question asked of alembic's Python API.
    """
    import nbgrader.api

    original = nbgrader.api.get_alembic_version
    head = alembic_head()
    nbgrader.api.get_alembic_version = lambda: head
    try:
        yield
    finally:
        nbgrader.api.get_alembic_version = original


def load_course_config(course_root):
    """The course's ``nbgrader_config.py`` as a traitlets config."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()


def build_template(course_root, destination):
    """Run nbgrader's generate_assignment on ``source/`` in a scratch course; keep its gradebook and release.

    Writes ``destination`` (a SQLite file holding exactly the assignment's notebooks and cells) and
    returns the released notebook's JSON text.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    course_root = Path(course_root).resolve()
    destination = Path(destination)
    with tempfile.TemporaryDirectory(prefix="lab5-template-") as scratch, quick_gradebook_creation():
        scratch = Path(scratch)
        (scratch / "source").mkdir()
        (scratch / "source" / ASSIGNMENT_ID).symlink_to(course_root / "source" / ASSIGNMENT_ID)
        config = load_course_config(course_root)
        coursedir = CourseDirectory(config=config)
        coursedir.root = str(scratch)
        coursedir.db_url = f"sqlite:///{scratch / 'gradebook.db'}"
        coursedir.assignment_id = ASSIGNMENT_ID
        app = GenerateAssignment(coursedir=coursedir, config=config)
        app.force = True
        app.log.setLevel(logging.ERROR)
        app.start()
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(scratch / "gradebook.db", destination)
        return (scratch / "release" / ASSIGNMENT_ID / NOTEBOOK_FILE).read_text()


def copy_assignment(src_db_url, dst_db_url, course_id=None, assignment_id=ASSIGNMENT_ID):
    """Create or update ``assignment_id`` (notebooks and cells) in another gradebook.

    The due date is the destination's own (set by the instructor or from the course's late
    policy): the template has none, and must not erase it.
    """
    kwargs = {"course_id": course_id} if course_id else {}
    with quick_gradebook_creation(), Gradebook(src_db_url, **kwargs) as src, Gradebook(dst_db_url, **kwargs) as dst:
        assignment = src.find_assignment(assignment_id)
        dst.update_or_create_assignment(assignment_id, **({"duedate": assignment.duedate} if assignment.duedate else {}))
        for notebook in assignment.notebooks:
            dst.update_or_create_notebook(notebook.name, assignment_id)
            for cell in notebook.grade_cells:
                dst.update_or_create_grade_cell(cell.name, notebook.name, assignment_id,
                                                max_score=cell.max_score, cell_type=cell.cell_type)
            for cell in notebook.solution_cells:
                dst.update_or_create_solution_cell(cell.name, notebook.name, assignment_id)
            for cell in notebook.task_cells:
                dst.update_or_create_task_cell(cell.name, notebook.name, assignment_id,
                                               max_score=cell.max_score, cell_type=cell.cell_type)
            for cell in notebook.source_cells:
                dst.update_or_create_source_cell(cell.name, notebook.name, assignment_id,
                                                 cell_type=cell.cell_type, locked=cell.locked,
                                                 source=cell.source, checksum=cell.checksum)


class _FlushOnCommit:
    """A gradebook session whose ``commit`` only flushes (queries still see every change)."""

    def __init__(self, session):
        self._session = session

    def commit(self):
        self._session.flush()

    def __getattr__(self, name):
        return getattr(self._session, name)


class SaveAutoGradesAtOnce(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades``, writing one notebook's scores and comments in one transaction.

    The stock preprocessor commits after every cell (about 50 commits per notebook of this lab,
    each a synced write on SQLite). This one runs the same per-cell code (nbgrader's ``_add_score``
    and ``_add_comment``) with those commits turned into flushes, and commits once at the end: a
    student's scores are stored all together or, if anything fails, not at all. ``preprocess``
    repeats nbgrader's few lines that open the gradebook, because they hold the session.
    """

    def preprocess(self, nb, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            session = self.gradebook.db
            self.gradebook.db = _FlushOnCommit(session)
            try:
                nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)  # every cell, nbgrader's way
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                self.gradebook.db = session
        return nb, resources


def write_result(db_url, course_id, student_id, notebook, config, timestamp=None, assignment_id=ASSIGNMENT_ID,
                 notebook_id=NOTEBOOK_NAME):
    """Store one autograded notebook's scores in the gradebook with nbgrader's own preprocessors.

    :class:`SaveAutoGradesAtOnce` writes each cell's score (``nbgrader.utils.determine_grade``) and
    comment; ``AssignLatePenalties`` then applies the course's late-penalty plugin (``config``).
    """
    from nbgrader.preprocessors import AssignLatePenalties

    kwargs = {"course_id": course_id} if course_id else {}
    with Gradebook(db_url, **kwargs) as gb:
        gb.update_or_create_student(student_id)
        gb.update_or_create_submission(assignment_id, student_id, **({"timestamp": timestamp} if timestamp else {}))
    resources = {"nbgrader": {"notebook": notebook_id, "assignment": assignment_id, "student": student_id, "db_url": db_url}}
    for preprocessor in (SaveAutoGradesAtOnce(config=config), AssignLatePenalties(config=config)):
        preprocessor.log.setLevel(logging.ERROR)
        preprocessor.preprocess(notebook, resources)


def remove_result(db_url, course_id, student_id, assignment_id=ASSIGNMENT_ID):
    """Drop a student's submission so that no earlier score can pass for the current one."""
    kwargs = {"course_id": course_id} if course_id else {}
    with Gradebook(db_url, **kwargs) as gb:
        try:
            gb.remove_submission(assignment_id, student_id)
        except MissingEntry:
            pass


def read_notebook(text):
    return nbformat.reads(text, as_version=nbformat.NO_CONVERT)
