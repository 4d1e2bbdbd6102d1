"""Grading a whole class of lab5: ``./course grade`` (``python -m autograder.grade``).

Plain-function API (the demo uses it)::

    from autograder.grade import grade_class, export_grades
    records = grade_class(course_root, submissions=None, workers=None, scheduler=None, force=False)
    export_grades(course_root, "grades.csv")

Modules: ``importer`` (LMS folders/zips into ``submitted/``), ``repair`` (damaged graded cells,
from the release: an nbgrader preprocessor), ``metadata`` (nbgrader's cell-metadata check, its
schema compiled once), ``job`` (the per-submission job, runs in a worker),
``run`` (scheduling and the single gradebook writer), ``gradebook``, ``ledger`` (what was graded,
for safe re-runs), ``feedback`` (hidden tests out of feedback), ``outputs`` (feedback, CSV,
summary), ``lms`` (grades and feedback back into Canvas and Moodle), ``lateness`` (due date,
grace period, late penalty), ``report`` (the instructor's report).
"""


def grade_class(*args, **kwargs):
    """See :func:`autograder.grade.run.grade_class` (imported lazily: nbgrader is slow to import)."""
    from autograder.grade.run import grade_class as _grade_class

    return _grade_class(*args, **kwargs)


def export_grades(course_root, path, db_url=None):
    """Write the grades CSV (nbgrader's columns + status) for a course; returns the path."""
    from pathlib import Path

    from autograder.grade.outputs import class_rows, write_csv
    from autograder.grade.run import course_info

    return write_csv(class_rows(course_info(course_root, db_url)), Path(path))
