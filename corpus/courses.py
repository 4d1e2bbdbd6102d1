"""A private copy of the real lab5 course for one test (never the repository's gradebook).

The first call builds a base copy (course files + the release made by the real
``nbgrader generate_assignment``) in a temp folder; each test then gets its own copy of that.
"""
import functools
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.course import ASSIGNMENT_ID, COURSE_ROOT, NOTEBOOK_FILE

HOSTILE_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def base_course():
    from autograder.regenerate import generate_release, scratch_course

    base = Path(tempfile.mkdtemp(prefix="lab5-grading-base-")) / "course"
    base.mkdir()
    scratch_course(base)
    release = COURSE_ROOT / "release" / ASSIGNMENT_ID / NOTEBOOK_FILE
    if release.exists():
        shutil.copytree(release.parent, base / "release" / ASSIGNMENT_ID, symlinks=True)
    else:
        generate_release(base)
        (base / "gradebook.db").unlink(missing_ok=True)
    return base


def course_copy(destination):
    """A fresh course folder at ``destination`` (a test's tmp_path child)."""
    destination = Path(destination)
    shutil.copytree(base_course(), destination, symlinks=True)
    return destination


def source_and_release(course):
    """(source notebook, release notebook) of a course copy."""
    course = Path(course)
    source = nbformat.read(course / "source" / ASSIGNMENT_ID / NOTEBOOK_FILE, as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT_ID / NOTEBOOK_FILE, as_version=4)
    return source, release


def write_submission(course, student, notebook):
    """Put a notebook where nbgrader expects it: submitted/<student>/lab5/."""
    path = Path(course) / "submitted" / student / ASSIGNMENT_ID / NOTEBOOK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def autograded_points(notebook):
    """Points of the autograded test cells: what the reference answer must score, all of it."""
    return sum(float(c.metadata["nbgrader"]["points"]) for c in notebook.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
               and not c.metadata["nbgrader"].get("solution"))


def gradebook_scores(course, db_url=None):
    """student -> {grade_id: auto_score} as stored in the course gradebook."""
    from nbgrader.api import Gradebook

    from autograder.grade.run import course_info

    info = course_info(course, db_url)
    scores = {}
    with Gradebook(info.db_url, info.course_id) as gb:
        for submission in gb.assignment_submissions(ASSIGNMENT_ID):
            nb = submission.notebooks[0]
            scores[submission.student.id] = {g.name: g.auto_score for g in nb.grades}
    return scores


def submission_counts(course, db_url=None):
    """student -> number of lab5 submissions in the gradebook (must be 1 each)."""
    from nbgrader.api import Gradebook

    from autograder.grade.run import course_info

    info = course_info(course, db_url)
    counts = {}
    with Gradebook(info.db_url, info.course_id) as gb:
        for submission in gb.assignment_submissions(ASSIGNMENT_ID):
            counts[submission.student.id] = counts.get(submission.student.id, 0) + 1
    return counts
