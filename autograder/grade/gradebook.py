"""The gradebook side of grading: the template a worker grades against, and the single writer.

Workers never touch the course's gradebook. Each one autogrades against a private SQLite copy
of the assignment's structure (the *template*, made from ``source/`` with nbgrader's own
``generate_assignment``), and returns the autograded notebook. The grading process alone
writes results into the course gradebook (SQLite or PostgreSQL, nbgrader's ``db_url``), one
transaction per student, with nbgrader's own scoring rule (``nbgrader.utils.determine_grade``).
"""
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_NAME

log = logging.getLogger("autograder.grade")


def alembic_head():
    """The gradebook schema's newest migration, from alembic's Python API (milliseconds).

    nbgrader's ``get_alembic_version`` asks the ``alembic heads`` command instead, a new Python
    process costing about 2.5 s here, every time it creates a gradebook: twice in a course's
    first grading run (the template and the course gradebook) and once per test course.
    """
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader import dbutil

    with dbutil._temp_alembic_ini("sqlite:////tmp/gradebook.db") as alembic_ini:
        return ScriptDirectory.from_config(Config(alembic_ini)).get_current_head()


def _install_alembic_head():
    import nbgrader.api

    original = nbgrader.api.get_alembic_version
    answer = []

    def get_alembic_version():
        if not answer:
            try:
                answer.append(alembic_head())
            except Exception:  # another nbgrader layout: ask the command as nbgrader does
                answer.append(original())
        return answer[0]

    get_alembic_version.original = original
    nbgrader.api.get_alembic_version = get_alembic_version


_install_alembic_head()


def _load_course_config(course_root):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()


def build_template_gradebook(course_root, destination):
    """Run nbgrader's generate_assignment on ``source/`` in a scratch course; keep its gradebook.

    Returns the path of a SQLite file holding exactly the assignment's notebooks and cells.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    course_root = Path(course_root).resolve()
    destination = Path(destination)
    bindir = str(Path(sys.executable).parent)  # nbgrader runs ``alembic`` by name
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    with tempfile.TemporaryDirectory(prefix="lab5-template-") as scratch:
        scratch = Path(scratch)
        (scratch / "source").mkdir()
        (scratch / "source" / ASSIGNMENT_ID).symlink_to(course_root / "source" / ASSIGNMENT_ID)
        config = _load_course_config(course_root)
        db_url = f"sqlite:///{scratch / 'gradebook.db'}"
        coursedir = CourseDirectory(config=config)
        coursedir.root = str(scratch)
        coursedir.db_url = db_url
        coursedir.assignment_id = ASSIGNMENT_ID
        app = GenerateAssignment(coursedir=coursedir, config=config)
        app.force = True
        app.log.setLevel(logging.ERROR)
        app.start()
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(scratch / "gradebook.db", destination)
    return destination


def copy_assignment(src_db_url, dst_db_url, course_id=None, assignment_id=ASSIGNMENT_ID):
    """Create or update ``assignment_id`` (notebooks and cells) in another gradebook."""
    kwargs = {"course_id": course_id} if course_id else {}
    with Gradebook(src_db_url, **kwargs) as src, Gradebook(dst_db_url, **kwargs) as dst:
        assignment = src.find_assignment(assignment_id)
        dst.update_or_create_assignment(assignment_id, duedate=assignment.duedate)
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


def has_assignment(db_url, course_id=None, assignment_id=ASSIGNMENT_ID):
    kwargs = {"course_id": course_id} if course_id else {}
    with Gradebook(db_url, **kwargs) as gb:
        try:
            gb.find_assignment(assignment_id)
            return True
        except MissingEntry:
            return False


def cell_scores(notebook):
    """grade_id -> (auto score or None, max score) for every grade cell, by nbgrader's rule."""
    scores = {}
    for cell in notebook.cells:
        if utils.is_grade(cell):
            scores[cell.metadata.nbgrader["grade_id"]] = utils.determine_grade(cell)
    return scores


def write_result(db_url, course_id, student_id, notebook, timestamp=None, assignment_id=ASSIGNMENT_ID,
                 notebook_id=NOTEBOOK_NAME):
    """Store one autograded notebook's scores in the gradebook: one transaction, then late penalty."""
    kwargs = {"course_id": course_id} if course_id else {}
    with Gradebook(db_url, **kwargs) as gb:
        gb.update_or_create_student(student_id)
        submission_kwargs = {"timestamp": timestamp} if timestamp else {}
        gb.update_or_create_submission(assignment_id, student_id, **submission_kwargs)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if utils.is_grade(cell):
                grade = gb.find_grade(meta["grade_id"], notebook_id, assignment_id, student_id)
                grade.auto_score, _ = utils.determine_grade(cell)
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            if utils.is_solution(cell):
                comment = gb.find_comment(meta["grade_id"], notebook_id, assignment_id, student_id)
                unchanged = meta.get("checksum") == utils.compute_checksum(cell)
                comment.auto_comment = "No response." if unchanged and not utils.is_task(cell) else None
        gb.db.commit()
    from nbgrader.preprocessors import AssignLatePenalties

    resources = {"nbgrader": {"notebook": notebook_id, "assignment": assignment_id,
                              "student": student_id, "db_url": db_url}}
    penalties = AssignLatePenalties()
    penalties.log.setLevel(logging.ERROR)
    penalties.preprocess(notebook, resources)


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
