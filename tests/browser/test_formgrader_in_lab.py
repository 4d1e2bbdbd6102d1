"""The instructor's manual grading in nbgrader's formgrader, in a real JupyterLab 4 page (Debian
chromium, Playwright), after ``./course grade``'s Python API graded the class.

The Lab's root is a private course copy (``tests/hostile/course_copy.py``) and the server runs in
it, so nbgrader's server extension reads that copy's ``nbgrader_config.py`` (the sealed-grading
classes named by import strings) and its gradebook. Three submissions are graded first with
``grade_class(course, workers=2)``: ``ada`` (the reference answers), ``ben`` (two wrong answers)
and ``cara`` (``get_cluster_assignments`` uses only the first two coordinates).

In the browser, as a TA: Nbgrader ▸ Formgrader, lab5 under Manage Assignments, its autograded
submissions, then Manual Grading of ada's notebook, where the written answer
``answer_elbow_k`` (1 point) gets a score typed in. The score must be in the gradebook (nbgrader's
API), in ada's total, and in ``export_grades``' CSV. The grading page asks a CDN for MathJax;
the browser maps every outside host away (``conftest.BLOCK_OUTSIDE_HOSTS``), so that fails at
once and the page still works. Screenshots go to ``artifacts/screenshots/formgrader-*.png``.
"""
import csv
import re
import sys
from pathlib import Path

import pytest

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_NAME

from .conftest import running_lab

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hostile"))
from corpus import notebooks
from corpus.courses import course_copy, source_and_release, write_submission

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

WRITTEN_ANSWER = "answer_elbow_k"  # 1 point, marked by a person
MANUAL_SCORE = 1.0
STUDENT = "ada"
TWO_COORDINATES = ("X[:, None, :] - centroid_locations[None, :, :]", "X[:, None, :2] - centroid_locations[None, :, :2]")
# jupyter_server's own non-JSON value in every formgrader's configuration (see the end of the test).
JUPYTER_SERVER_OWN = ("jpserver_extensions", "LazyConfigValue")
PAGE_TIMEOUT = 60_000  # ms: the formgrader's pages render whole notebooks; the machine is shared


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """A course copy with three submissions graded by ``grade_class``; returns (course, records)."""
    from autograder.demo_submissions import _replace, build_submission, reference_answers
    from autograder.grade import grade_class

    course = course_copy(tmp_path_factory.mktemp("formgrader") / "course")
    source, release = source_and_release(course)
    write_submission(course, "ada", notebooks.correct_notebook(source, release))
    write_submission(course, "ben", notebooks.buggy_notebook(source, release))
    write_submission(course, "cara", build_submission(release, reference_answers(source),
                                                      {"get_cluster_assignments": _replace(*TWO_COORDINATES)}))
    records = {r.student_id: r for r in grade_class(course, workers=2, progress=False)}
    assert sorted(records) == ["ada", "ben", "cara"]
    return course, records


@pytest.fixture(scope="module")
def formgrader_server(tmp_path_factory, graded_course):
    """JupyterLab rooted at the course copy, started in it (its nbgrader_config.py applies)."""
    course, _ = graded_course
    with running_lab(tmp_path_factory.mktemp("formgrader-lab"), course, cwd=course) as server:
        yield server


def gradebook_state(course, student):
    """(manual score of the written answer, the submission's total, the assignment's max) from nbgrader's API."""
    from nbgrader.api import Gradebook

    from autograder.grade.run import course_info

    info = course_info(course)
    with Gradebook(info.db_url, info.course_id) as gb:
        grade = gb.find_grade(WRITTEN_ANSWER, NOTEBOOK_NAME, ASSIGNMENT_ID, student)
        submission = gb.find_submission(ASSIGNMENT_ID, student)
        return grade.manual_score, float(submission.score), float(submission.max_score)


def python_objects(config_text):
    """What the formgrader could not show as JSON: ``<Type ...>`` reprs in its configuration text,
    as ``(option, type)``; an object inside a list (say ``[<class ...>]``) has option ``None``."""
    found = []
    for match in re.finditer(r"<(\w+)[ >]", config_text):
        option = re.search(r"'(\w+)': $", config_text[:match.start()])
        found.append((option.group(1) if option else None, match.group(1)))
    return found


def csv_row(path, student):
    with open(path, newline="") as handle:
        return next(row for row in csv.DictReader(handle) if row["student_id"] == student)


def open_formgrader(page, server):
    """Lab ▸ Nbgrader ▸ Formgrader; returns the formgrader's iframe (a FrameLocator)."""
    page.goto(f"{server['base']}/lab?reset&token={server['token']}")
    page.locator("#jp-main-dock-panel").wait_for(state="visible", timeout=PAGE_TIMEOUT)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Formgrader$")).click()
    page.locator("#formgrader-iframe iframe").wait_for(state="visible", timeout=PAGE_TIMEOUT)
    return page.frame_locator("#formgrader-iframe iframe")


def test_ta_enters_a_manual_score_in_the_formgrader(page, graded_course, formgrader_server, screenshots, tmp_path):
    from autograder.grade import export_grades

    course, records = graded_course
    assert {s: records[s].status for s in records} == {"ada": "graded", "ben": "graded", "cara": "graded"}
    manual_before, total_before, max_score = gradebook_state(course, STUDENT)
    assert manual_before is None  # nobody has marked it yet

    # --- Manage Assignments: lab5 and its three autograded submissions --------------------------
    formgrader = open_formgrader(page, formgrader_server)
    assignment = formgrader.locator("tr", has=formgrader.locator("td.name", has_text=ASSIGNMENT_ID))
    assignment.locator("td.num-submissions a", has_text="3").wait_for(timeout=PAGE_TIMEOUT)
    page.locator("#formgrader").screenshot(path=str(screenshots / "formgrader-assignments.png"))
    # The configuration it shows is this course's: the sealed-grading classes as import strings.
    formgrader.get_by_text("Current configuration (click to expand)").click()
    shown_config = formgrader.locator("#collapseConfig pre")
    shown_config.get_by_text("autograder.sandbox.execute.SandboxedExecute").wait_for(timeout=PAGE_TIMEOUT)
    # (read from the page as served: the formgrader writes that text unescaped, so a browser
    # would parse a repr like <LazyConfigValue ...> as an HTML element and hide it)
    served = page.request.get(f"{formgrader_server['base']}/formgrader/manage_assignments").text()
    config_objects = python_objects(re.search(r'<pre class="panel-body">(.*?)</pre>', served, re.S).group(1))

    assignment.locator("td.num-submissions a").click()
    rows = formgrader.locator("tr", has=formgrader.locator("td.student-id"))
    rows.filter(has_text="cara").locator("td.score").filter(has_text="/").wait_for(timeout=PAGE_TIMEOUT)
    assert rows.count() == 3
    shown = {}
    for student in ("ada", "ben", "cara"):
        row = rows.filter(has=formgrader.locator("td.student-id", has_text=re.compile(rf"^{student}$")))
        assert row.locator("td.status").inner_text().strip() == "needs manual grading"  # the written answers
        shown[student] = row.locator("td.score").inner_text().strip()
    assert shown["ada"] == f"{total_before:g} / {max_score:g}", shown
    assert len(set(shown.values())) == 3, f"the three answer sets should score differently: {shown}"
    page.locator("#formgrader").screenshot(path=str(screenshots / "formgrader-submissions.png"))

    # --- Manual Grading ▸ lab5 ▸ the notebook ▸ ada's submission: the grading page ----------------
    formgrader.locator("a", has_text=re.compile(r"^\s*Manual Grading\s*$")).click()
    formgrader.locator("td a", has_text=re.compile(rf"^{ASSIGNMENT_ID}$")).click()
    formgrader.locator("td a", has_text=re.compile(rf"^{NOTEBOOK_NAME}$")).click()
    submission = formgrader.locator("tr", has=formgrader.locator("a.name-shown", has_text=re.compile(rf"^{STUDENT}$")))
    submission.locator("td.reveal .glyphicon-eye-open").click()  # names are hidden by default
    submission.locator("a.name-shown").click()

    score = formgrader.locator(f"input.score#{WRITTEN_ANSWER}")
    score.wait_for(state="visible", timeout=PAGE_TIMEOUT)
    assert formgrader.locator(".breadcrumb").inner_text().split()[:2] == ["Manual", "Grading"]
    score.scroll_into_view_if_needed()
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT",
                              timeout=PAGE_TIMEOUT) as saved:
        score.fill(f"{MANUAL_SCORE:g}")
        score.press("Tab")  # leaving the field saves it, as a TA moving on to the next one
    assert saved.value.ok, saved.value.status
    assert saved.value.json()["manual_score"] == MANUAL_SCORE
    cell = formgrader.locator(".nbgrader_cell", has=score)
    cell.screenshot(path=str(screenshots / "formgrader-manual-score.png"))

    # Reloaded, the page shows the stored score.
    page.locator("#formgrader").screenshot(path=str(screenshots / "formgrader-grading-page.png"))
    formgrader.locator("body").evaluate("body => body.ownerDocument.location.reload()")
    formgrader.locator(f"input.score#{WRITTEN_ANSWER}").wait_for(state="visible", timeout=PAGE_TIMEOUT)
    page.wait_for_function(
        "value => { const f = document.querySelector('#formgrader-iframe iframe');"
        " const input = f && f.contentDocument.querySelector('input.score#" + WRITTEN_ANSWER + "');"
        " return input && input.value === value; }",
        arg=f"{MANUAL_SCORE:g}", timeout=PAGE_TIMEOUT)

    # --- The gradebook (nbgrader's API) and our CSV have it --------------------------------------
    manual_after, total_after, max_after = gradebook_state(course, STUDENT)
    assert manual_after == MANUAL_SCORE
    assert max_after == max_score
    assert total_after == pytest.approx(total_before + MANUAL_SCORE)
    exported = export_grades(course, tmp_path / "grades.csv")
    row = csv_row(exported, STUDENT)
    assert float(row["score"]) == pytest.approx(total_after) and float(row["raw_score"]) == pytest.approx(total_after)
    assert float(row["max_score"]) == pytest.approx(max_score)
    assert row["status"] == "graded"

    # Nothing in the course's configuration keeps the formgrader from showing it as JSON. What
    # jupyter_server itself puts there is another matter: it records the server extensions enabled
    # by its config.d files as a LazyConfigValue (ServerApp.init_server_extensions), with or
    # without an nbgrader_config.py, and then the formgrader logs "not serializable" and shows
    # the configuration as Python text.
    log = Path(formgrader_server["log"]).read_text()
    assert "Loading the formgrader nbgrader serverextension" in log
    assert set(config_objects) <= {JUPYTER_SERVER_OWN}, config_objects
    assert ("Formgrader config is not serializable" in log) == bool(config_objects), config_objects
