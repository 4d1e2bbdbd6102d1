"""The student's Validate button in a real JupyterLab 4 page (Debian chromium, Playwright) must tell
the truth: it never says "passes all the tests" while checks remain that only grading runs.

nbgrader's labextension writes "Success! Your notebook passes all the tests." whenever no grade
cell fails (the text is in its JavaScript, not configurable). The lab's last cell
(``test_quick_checks_summary``, 0 points, ``source/lab5/lab5_quick_checks.py``) re-runs the
notebook's quick-check cells under Validate and writes a summary to stderr, so Validate lists
that cell, with the summary, instead. Three released notebooks, Validate clicked on each:

* ``validate-correct``: every answer the reference one;
* ``validate-two-coordinates``: ``get_cluster_assignments`` looks at the first two coordinates only
  (its quick check passes; the hidden checks in other dimensions would fail it);
* ``validate-unfinished``: ``e_step`` and ``m_step`` not written (three quick checks fail).

The counts the dialog must show are computed here from the release's metadata, independently of
the module. Screenshots: ``artifacts/screenshots/validate-*.png``.
"""
import re

import nbformat
import pytest

from autograder.course import NOTEBOOK_FILE, SOURCE_DIR

from .conftest import open_notebook, release_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

VALIDATE_TIMEOUT = 300_000  # ms: Validate runs the whole notebook in a new kernel (15-20 s when idle)
TWO_COORDINATES = ("X[:, None, :] - centroid_locations[None, :, :]", "X[:, None, :2] - centroid_locations[None, :, :2]")
UNFINISHED = ("e_step", "m_step")
CASES = {
    # name: (edits, quick checks expected to fail)
    "validate-correct": ({}, []),
    "validate-two-coordinates": ({"get_cluster_assignments": TWO_COORDINATES}, []),
    "validate-unfinished": ({grade_id: "unanswered" for grade_id in UNFINISHED}, ["e_step", "m_step", "EM from scratch"]),
}


def expected_counts(release):
    """(quick-check cells, checks that only grading runs, their points), from the cells' metadata."""
    quick, more_checks, more_points = 0, 0, 0
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        first = cell.source.splitlines()[0]
        if first.startswith("# Quick checks"):
            quick += 1
            visible = int(re.search(r"\((\d+) points?", first).group(1))
            if meta["points"] > visible:  # "(1 point of 3)": the rest of the cell's checks run at grading
                more_checks += 1
                more_points += meta["points"] - visible
        elif first.startswith("# Hidden tests"):
            more_checks += 1
            more_points += meta["points"]
    return quick, more_checks, more_points


@pytest.fixture(scope="module")
def validate_notebooks(browser_tmp, lab_root):
    """The three notebooks in the Lab's root, and the release they were answered from."""
    from autograder.demo_submissions import UNANSWERED, _replace, build_submission, reference_answers

    release = nbformat.read(release_notebook(browser_tmp), as_version=4)
    answers = reference_answers(nbformat.read(SOURCE_DIR / NOTEBOOK_FILE, as_version=4))
    for name, (edits, _) in CASES.items():
        edits = {gid: UNANSWERED if edit == "unanswered" else _replace(*edit) for gid, edit in edits.items()}
        nbformat.write(build_submission(release, answers, edits), lab_root / f"{name}.ipynb")
    return release


def click_validate(page):
    """nbgrader's Validate toolbar button; returns the dialog's message once it is there."""
    page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
    dialog = page.locator(".jp-Dialog", has=page.locator("#validation-message"))
    dialog.wait_for(state="visible", timeout=VALIDATE_TIMEOUT)
    return dialog


@pytest.mark.parametrize("name", list(CASES))
def test_validate_says_which_quick_checks_passed_and_that_more_run_when_graded(
        name, page, lab_server, validate_notebooks, screenshots):
    quick, more_checks, more_points = expected_counts(validate_notebooks)
    assert quick >= 10 and more_checks >= 15, "the release's test cells changed shape"
    failing = CASES[name][1]

    open_notebook(page, lab_server, f"{name}.ipynb")
    dialog = click_validate(page)
    dialog.locator(".jp-Dialog-header", has_text="Validation Results").wait_for()
    message = dialog.locator("#validation-message")
    text = " ".join(message.inner_text().split())
    message.locator("pre").last.scroll_into_view_if_needed()  # the summary: the notebook's last cell
    dialog.screenshot(path=str(screenshots / f"{name}.png"))

    assert "passes all the tests" not in text and "Success" not in text, text
    summary = re.search(r"Quick checks: (\d+) of (\d+) passed(?: \(([^)]*)\))?(?:; failed: (.*?))?\. These", text)
    assert summary, f"no summary of the quick checks in the dialog: {text}"
    passed, total = int(summary.group(1)), int(summary.group(2))
    assert (passed, total) == (quick - len(failing), quick), text
    for check in failing:
        assert f"{check} (" in (summary.group(4) or ""), f"{check} should be named as failed: {text}"
    assert f"{more_checks} more checks, worth {more_points} points, run when your notebook is graded" in text, text
    assert "a person marks your written answers" in text
    # The summary cell is listed as failed, and so is every quick check that failed; nothing else.
    assert message.locator("p", has_text="The following cell failed:").count() == 1 + len(failing), text
    assert "Summary of the quick checks above (0 points)" in text
    dialog.get_by_role("button", name=re.compile("^Ok$", re.I)).click()
    dialog.wait_for(state="hidden")
