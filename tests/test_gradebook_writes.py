"""SaveAutoGradesAtOnce stores exactly what nbgrader's SaveAutoGrades stores, in one transaction."""
import copy
import logging
import shutil

import pytest
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveAutoGrades

from corpus import notebooks
from corpus.courses import course_copy, source_and_release
from autograder.course import ASSIGNMENT_ID, COURSE_ROOT, NOTEBOOK_NAME
from autograder.grade.gradebook import SaveAutoGradesAtOnce, build_template, load_course_config
from autograder.verifier.record import error_output, is_autograder_test


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gradebook-writes")
    course = course_copy(folder / "course")
    source, release = source_and_release(course)
    template = folder / "template.db"
    build_template(course, template)
    notebook = notebooks.buggy_notebook(source, release)
    # Test cells with an error output score 0 (nbgrader's rule); the others full marks.
    tests = [c for c in notebook.cells if is_autograder_test(c)]
    for cell in tests[::3]:
        cell.outputs = [error_output("AssertionError", "wrong")]
    return {"folder": folder, "template": template, "notebook": notebook, "failed": {c.metadata.nbgrader["grade_id"] for c in tests[::3]}}


def _gradebook(setting, name):
    path = setting["folder"] / f"{name}.db"
    shutil.copyfile(setting["template"], path)
    url = f"sqlite:///{path}"
    with Gradebook(url) as gb:
        gb.update_or_create_student("ann")
        gb.update_or_create_submission(ASSIGNMENT_ID, "ann")
    return url


def _save(preprocessor_class, url, notebook):
    preprocessor = preprocessor_class(config=load_course_config(COURSE_ROOT))
    preprocessor.log.setLevel(logging.ERROR)
    resources = {"nbgrader": {"notebook": NOTEBOOK_NAME, "assignment": ASSIGNMENT_ID, "student": "ann", "db_url": url}}
    preprocessor.preprocess(copy.deepcopy(notebook), resources)


def _stored(url):
    with Gradebook(url) as gb:
        submission = gb.find_submission_notebook(NOTEBOOK_NAME, ASSIGNMENT_ID, "ann")
        grades = {g.name: (g.auto_score, g.needs_manual_grade) for g in submission.grades}
        comments = {c.name: c.auto_comment for c in submission.comments}
    return grades, comments


def test_it_stores_what_save_auto_grades_stores(setting):
    stock, ours = _gradebook(setting, "stock"), _gradebook(setting, "ours")
    _save(SaveAutoGrades, stock, setting["notebook"])
    _save(SaveAutoGradesAtOnce, ours, setting["notebook"])
    grades, comments = _stored(ours)
    assert (grades, comments) == _stored(stock)
    # not a vacuous comparison: failed tests scored 0, the others full marks, answers commented or not
    assert all(grades[gid][0] == 0 for gid in setting["failed"])
    assert any(score and score > 0 for score, _ in grades.values())
    assert comments  # the answer cells' comments were compared too


def test_a_failure_midway_stores_nothing(setting):
    url = _gradebook(setting, "broken")
    notebook = copy.deepcopy(setting["notebook"])
    tests = [c for c in notebook.cells if is_autograder_test(c)]
    stray = copy.deepcopy(tests[0])
    stray.metadata.nbgrader["grade_id"] = "no_such_cell"  # nbgrader raises MissingEntry on it
    notebook.cells.insert(notebook.cells.index(tests[len(tests) // 2]), stray)
    with pytest.raises(MissingEntry):
        _save(SaveAutoGradesAtOnce, url, notebook)
    grades, comments = _stored(url)
    assert all(score is None for score, _ in grades.values()), "scores of the first cells were kept"
    assert all(text is None for text in comments.values())
    # stock nbgrader, for contrast, keeps the cells before the failure (a half-written student)
    stock = _gradebook(setting, "broken-stock")
    with pytest.raises(MissingEntry):
        _save(SaveAutoGrades, stock, notebook)
    assert any(score is not None for score, _ in _stored(stock)[0].values())
