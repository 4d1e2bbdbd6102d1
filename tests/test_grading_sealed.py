"""Sealed grading, end to end: damaged notebooks and attacks on the grader's secrets, through
``./course grade`` (zygote workers) and through plain ``nbgrader autograde`` + ``generate_feedback``.

Every case (``corpus/sealed.py``) must score what its expectation says, test by test, the
same on both paths; no feedback file of either path may show a line of the master notebook's
solutions or written answers, a hidden test, or the grader's own source; attacks are flagged
with their reason; repairs are reported.
"""
import concurrent.futures
import html
import re
import subprocess
import sys

import nbformat
import pytest

from corpus import sealed
from corpus.courses import course_copy, gradebook_scores, source_and_release, write_submission

from autograder.course import ASSIGNMENT_ID, COURSE_ROOT, NOTEBOOK_FILE, tool_environment
from autograder.grade.run import grade_class
from corpus.leaks import code_lines, leaked_lines, secret_regions

pytestmark = pytest.mark.slow
CELL_TIMEOUT = 20
NOTEBOOK_TIMEOUT = 90  # a whole correct notebook takes about 10 s


def _students(source, release):
    students = {f"base-{name}": build(source, release) for name, build in sealed.BASELINES.items()}
    students.update({name.replace("_", "-"): build(source, release) for name, (build, _) in sealed.CASES.items()})
    return students


def _plain_nbgrader(course):
    """generate_assignment, autograde, generate_feedback: what an instructor types; their stderr."""
    logs = []
    for args in (["generate_assignment", ASSIGNMENT_ID, "--force"], ["autograde", ASSIGNMENT_ID, f"--Execute.timeout={CELL_TIMEOUT}",
                  f"--SandboxedExecute.notebook_timeout={NOTEBOOK_TIMEOUT}"],
                 ["generate_feedback", ASSIGNMENT_ID]):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"], cwd=course,
                              env=tool_environment(), capture_output=True, text=True, timeout=3000)
        logs.append(done.stderr)
        assert done.returncode == 0, done.stderr[-3000:]
    return logs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    ours = course_copy(tmp_path_factory.mktemp("sealed-ours") / "course")
    source, release = source_and_release(ours)
    students = _students(source, release)
    plain = course_copy(tmp_path_factory.mktemp("sealed-plain") / "course")
    for course in (ours, plain):
        for student, notebook in students.items():
            write_submission(course, student, notebook)
    # The two paths grade separate course copies; plain nbgrader grades one notebook at a time, so
    # it runs beside ours (two workers) instead of after it.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        plain_run = pool.submit(_plain_nbgrader, plain)
        records = {r.student_id: r for r in grade_class(ours, workers=2, cell_timeout=CELL_TIMEOUT,
                                                        notebook_timeout=NOTEBOOK_TIMEOUT, progress=False,
                                                        echo=lambda m: None)}
        logs = plain_run.result()
    return {"ours": ours, "plain": plain, "records": records, "source": source, "release": release, "students": students,
            "scores": {"ours": {s: {g: v[0] for g, v in r.tests.items()} for s, r in records.items()},
                       "plain": gradebook_scores(plain)}, "logs": logs}


def test_every_case_got_a_result(graded):
    records = graded["records"]
    assert set(records) == set(graded["students"])
    assert not {s: r.detail for s, r in records.items() if r.status in ("error", "invalid")}


@pytest.mark.parametrize("path", ["ours", "plain"])
@pytest.mark.parametrize("case", sorted(sealed.CASES))
def test_each_case_scores_what_it_earned_and_no_more(graded, case, path):
    scores = graded["scores"][path]
    student = case.replace("_", "-")
    expectation = sealed.CASES[case][1]
    got = scores[student]
    if expectation == "stubs":
        baseline = scores["base-release"]
        assert all(v == 0 for v in baseline.values())
        assert {g: v for g, v in got.items() if v} == {}, (case, path)
    else:
        kind, base = expectation.split(":")
        baseline = scores[f"base-{base}"]
        autograded = {g for g in baseline if g.startswith("test_")}
        if kind == "same_as":
            assert {g: got[g] for g in autograded} == {g: baseline[g] for g in autograded}, (case, path)
        else:
            assert all((got[g] or 0) <= (baseline[g] or 0) for g in autograded), (case, path)


def test_both_paths_give_the_same_scores(graded):
    ours, plain = graded["scores"]["ours"], graded["scores"]["plain"]
    differing = {s: sorted(g for g in ours[s] if g.startswith("test_") and ours[s][g] != plain[s][g]) for s in ours}
    assert {s: d for s, d in differing.items() if d} == {}


def _grader_lines(release):
    """Lines of the grading code no student may see (everything of autograder/ but the client),
    less those the release shows anyway (a quick check's inputs, a function's signature)."""
    public = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    lines = set()
    for path in (COURSE_ROOT / "autograder").rglob("*.py"):
        parts = path.relative_to(COURSE_ROOT / "autograder").parts
        if parts[0] == "client":
            continue
        lines |= {line.strip() for line in path.read_text().splitlines() if len(line.strip()) >= 40}
    return lines - public


def _feedback_text(path):
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(errors="replace")))


def test_no_feedback_shows_solutions_written_answers_hidden_tests_or_grader_code(graded):
    """No line the student did not write themselves: the corpus answers *are* the reference
    answers, so a master line counts as leaked only when the student's own notebook lacks it."""
    regions = secret_regions(graded["source"])
    grader = _grader_lines(graded["release"])
    files = [(student, course / "feedback" / student / ASSIGNMENT_ID / NOTEBOOK_FILE.replace(".ipynb", ".html"))
             for course in (graded["ours"], graded["plain"]) for student in graded["students"]]
    assert all(path.is_file() for _, path in files), "every graded notebook gets its feedback file, on both paths"
    for student, path in files:
        text = _feedback_text(path)
        written = "\n".join(c.source for c in graded["students"][student].cells)
        own = set(leaked_lines(regions, written))
        leaked = [line for line in leaked_lines(regions, text) if line not in own]
        assert not leaked, (path, leaked[:3])
        for marker in ("lab5_grader.check(", "BEGIN HIDDEN TESTS"):  # an attack may write them itself
            assert text.count(marker) <= written.count(marker), (path, marker)
        # the grader's reference implementations read like the reference answers the corpus
        # students wrote: a line the student wrote is theirs to see
        shown = set(code_lines(text)) - set(code_lines(written))
        quoted = [line for line in grader if any(line in s for s in shown)]
        assert not quoted, (path, quoted[:3])


def test_attacks_are_flagged_with_their_reason(graded):
    records = graded["records"]
    reasons = {"import-reference-obfuscated": "importlib", "fake-client": "sys.modules", "forge-replies": "lab5_grader",
               "check-from-own-cell": "lab5_grader", "patch-numpy-on-wrong-answers": "numpy.allclose",
               "skip-tests-at-the-end": "get_ipython"}
    for student, reason in reasons.items():
        record = records[student]
        # a person must look; a run that also timed out says so first (the detail has both)
        assert record.status in ("flagged", "timed out"), (student, record.status, record.detail)
        assert "flagged for review" in record.detail or record.status == "flagged", (student, record.detail)
        assert reason in record.detail, (student, record.detail)


def test_repairs_are_reported(graded):
    words = {"answers-deleted": "restored 5 deleted", "test-cells-deleted": "restored 3 deleted",
             "written-answers-deleted": "restored 5 deleted", "answers-in-place-of-deleted-stubs": "recognised",
             "answer-cell-copied": "appeared 2 times", "stub-copied-above-answer": "untouched copies of the stub were removed",
             "test-cell-copied": "appeared 2 times", "cells-moved": "out of order", "metadata-stripped": "recognised",
             "release-without-function-answers": "restored 5 deleted"}
    for student, word in words.items():
        assert word in graded["records"][student].detail, (student, graded["records"][student].detail)
        assert graded["records"][student].status == "graded", student


def test_reaching_for_files_found_nothing_of_the_grader(graded):
    def outputs(student):
        notebook = nbformat.read(graded["ours"] / "autograded" / student / ASSIGNMENT_ID / NOTEBOOK_FILE, as_version=4)
        return "".join(str(o.get("text", "")) for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []))

    read = outputs("read-everything")
    paths = [line.split(" ", 1)[1] for line in read.splitlines() if line.startswith("READ ")]
    assert paths, "the walk read nothing at all"
    assert not [p for p in paths if p.startswith(str(COURSE_ROOT)) or "/autograder/" in p], paths[:10]
    searched = next(line for line in outputs("search-master").splitlines() if line.startswith("searched: found"))
    found = eval(searched.split(" ", 3)[3])  # notebooks with solution markers: only installed packages' examples
    assert all("/site-packages/" in path for path in found), found
    assert "SAFE no reference: ModuleNotFoundError" in outputs("import-reference-obfuscated")
    assert "SAFE" in outputs("check-from-own-cell") and "LEAK" not in outputs("check-from-own-cell")
