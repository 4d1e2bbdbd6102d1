"""Hostile submissions cost their author the affected points, gain nothing, and change nobody else's result.

One class holds a correct submission, a buggy one and every case of ``corpus/notebooks.py``; a second,
separate run grades the correct and the buggy submission alone. Everything is real: nbgrader's
Autograde in a pool of 2 worker processes, kernels in the bwrap sandbox.
"""
import os
import socket
import threading

import nbformat
import pytest

from corpus import notebooks
from corpus.courses import autograded_points, course_copy, source_and_release, write_submission

from autograder.course import ASSIGNMENT_ID
from autograder.grade.run import grade_class
from autograder.sandbox.execute import grading_limits
from autograder.sandbox.provisioner import sandbox_problem

pytestmark = pytest.mark.slow
CELL_TIMEOUT = 10  # the reference notebook's slowest cell takes about 1.3 s here (2 workers)


def _host_ip():
    """An address of this machine other than loopback (the sandbox must not reach it either)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


@pytest.fixture(scope="module")
def listening_port():
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen(16)
    stop = threading.Event()

    def accept():
        server.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def _by_student(records):
    return {r.student_id: r for r in records}


def _outputs_text(record, grade_id):
    notebook = nbformat.reads(record.autograded_notebook, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return "".join(str(o.get("text", "")) + str(o.get("evalue", "")) for o in cell.get("outputs", []))
    raise KeyError(grade_id)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listening_port):
    assert sandbox_problem() is None, f"these tests need the sandbox: {sandbox_problem()}"
    hostile_course = course_copy(tmp_path_factory.mktemp("hostile") / "course")
    source, release = source_and_release(hostile_course)
    values = {"COURSE": hostile_course, "HOME": os.path.expanduser("~"), "PORT": listening_port,
              "HOST_IP": _host_ip(), "OTHER": "correct"}
    write_submission(hostile_course, "correct", notebooks.correct_notebook(source, release))
    write_submission(hostile_course, "buggy", notebooks.buggy_notebook(source, release))
    for name in notebooks.HOSTILE:
        notebook = notebooks.hostile_notebook(name, source, release, wrong=name in notebooks.TAMPERING, **values)
        write_submission(hostile_course, name, notebook)
    gradebook_before = (hostile_course / "gradebook.db").read_bytes() if (hostile_course / "gradebook.db").exists() else b""
    hostile = _by_student(grade_class(hostile_course, workers=2, cell_timeout=CELL_TIMEOUT, notebook_timeout=300,
                                      feedback=False, report=False, progress=False))

    alone_course = course_copy(tmp_path_factory.mktemp("alone") / "course")
    write_submission(alone_course, "correct", notebooks.correct_notebook(source, release))
    write_submission(alone_course, "buggy", notebooks.buggy_notebook(source, release))
    alone = _by_student(grade_class(alone_course, workers=2, cell_timeout=CELL_TIMEOUT, notebook_timeout=300,
                                    feedback=False, export=False, report=False, progress=False))
    return {"hostile": hostile, "alone": alone, "course": hostile_course, "source": source,
            "gradebook_before": gradebook_before}


def test_every_submission_got_a_result(graded):
    assert set(graded["hostile"]) == {"correct", "buggy", *notebooks.HOSTILE}
    assert all(r.status != "error" for r in graded["hostile"].values()), {
        s: r.detail for s, r in graded["hostile"].items() if r.status == "error"}


def test_every_kernel_was_forked_from_its_workers_zygote(graded):
    """``./course grade`` forks its kernels from a zygote (autograder/sandbox/zygote.py): every
    result here, the attacks' included, comes from such a kernel, not from the fallback."""
    for run in ("hostile", "alone"):
        for student, record in graded[run].items():
            metadata = nbformat.reads(record.autograded_notebook, as_version=4).metadata["autograder"]
            assert metadata["kernel_forked"] is True, (run, student)


def test_others_identical_to_a_run_without_hostile_submissions(graded):
    for student in ("correct", "buggy"):
        with_hostile, without = graded["hostile"][student], graded["alone"][student]
        assert with_hostile.tests == without.tests, student
        assert with_hostile.status == without.status == "graded", (student, with_hostile.detail)
    # The reference answer gets every autograded point: the comparison above is not vacuous.
    assert graded["alone"]["correct"].score == autograded_points(graded["source"])


@pytest.mark.parametrize("name", sorted(notebooks.HOSTILE))
def test_hostile_submission_gains_nothing(graded, name):
    record = graded["hostile"][name]
    baseline = graded["hostile"]["buggy" if name in notebooks.TAMPERING else "correct"]
    for grade_id, (score, max_score) in record.tests.items():
        base_score = baseline.tests[grade_id][0]
        if score is not None and base_score is not None:
            assert score <= base_score, (name, grade_id, score, base_score)
    attacked = notebooks.HOSTILE[name][0]
    if name in notebooks.DESTRUCTIVE:  # the attacked function's visible test is lost
        assert record.tests[f"test_{attacked}_visible"][0] == 0, name


@pytest.mark.parametrize("name,statuses,words", [
    ("infinite_loop", {"timed out"}, "timed out"),
    ("output_flood", {"timed out"}, "timed out"),
    ("sigint_ignoring", {"timed out"}, "did not stop when interrupted"),
    ("os_exit", {"crashed"}, "kernel died"),
    ("session_key", {"crashed"}, "failed its signature check"),
    # these end in an error, a dead kernel or a timeout depending on timing (a kernel left at its
    # memory limit by the bomb may fail to allocate a reply and go silent: the cell times out);
    # "flagged" when the integrity scan recognises them
    ("memory_bomb", {"graded", "crashed", "timed out", "flagged"}, ""),
    ("fork_bomb", {"graded", "crashed", "timed out", "flagged"}, ""),
])
def test_runaway_code_is_stopped_and_named(graded, name, statuses, words):
    record = graded["hostile"][name]
    assert record.status in statuses, (record.status, record.detail)
    assert words in record.detail
    assert record.sandboxed


def test_affected_points_only(graded):
    """Cells before the attack keep their points; a crash costs what comes after it."""
    correct = graded["hostile"]["correct"].tests
    crashed = graded["hostile"]["os_exit"].tests
    for grade_id in ("test_sample_gmm_visible", "test_get_cluster_assignments_visible"):
        assert crashed[grade_id] == correct[grade_id]
    assert crashed["test_e_step_visible"][0] == 0
    looped = graded["hostile"]["infinite_loop"].tests
    # the loop was in sample_gmm's cell: section 2 ran normally after the interrupt
    assert looped["test_get_cluster_assignments_visible"] == correct["test_get_cluster_assignments_visible"]


def test_a_kernel_that_does_not_recover_is_not_waited_for(graded):
    """After a timed-out cell whose kernel ignores the interrupt, the rest is marked not run at once
    (instead of each later cell waiting its own timeout); an interrupt that works lets the rest run."""
    def code_cells_after_the_timeout(name):
        cells = [c for c in nbformat.reads(graded["hostile"][name].autograded_notebook, as_version=4).cells
                 if c.cell_type == "code"]
        first = next(i for i, c in enumerate(cells) if any(o.get("ename") == "CellTimeoutError" for o in c.outputs))
        return cells[first + 1:]

    stuck = code_cells_after_the_timeout("sigint_ignoring")
    assert stuck and all([o.get("ename") for o in c.outputs] == ["NotRun"] for c in stuck)
    assert "did not stop when interrupted" in stuck[0].outputs[0].evalue
    recovered = code_cells_after_the_timeout("infinite_loop")
    assert not any(o.get("ename") in ("NotRun", "CellTimeoutError") for c in recovered for o in c.outputs)


def test_output_flood_is_capped(graded):
    record = graded["hostile"]["output_flood"]
    notebook = nbformat.reads(record.autograded_notebook, as_version=4)
    flooded = [c for c in notebook.cells if "output beyond" in str(c.get("outputs", []))]
    assert len(flooded) == 1, "the flooding cell's output was not cut"
    # what is kept of it is at most the cap (nbgrader's LimitOutput then shortens long text further);
    # the rest of the notebook is the lab's own output (under 2 MB with every figure)
    assert len(record.autograded_notebook) < grading_limits()["max_cell_output_chars"] + 2_500_000


def test_a_correct_notebook_keeps_every_figure(graded):
    """The cap is above the lab's own outputs: no figure of a correct notebook is dropped."""
    notebook = nbformat.reads(graded["alone"]["correct"].autograded_notebook, as_version=4)
    assert "output beyond" not in nbformat.writes(notebook)
    figures = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 9, len(figures)


def test_no_file_outside_its_folder_is_readable_or_writable(graded):
    course = graded["course"]
    record = graded["hostile"]["file_access"]
    text = _outputs_text(record, "sample_gmm")
    assert "SAFE read" in text and "LEAK" not in text, text
    assert not (course / "planted.txt").exists()
    assert not (course / "source" / ASSIGNMENT_ID / "planted.txt").exists()
    assert b"planted" not in (course / "gradebook.db").read_bytes()[-64:]


def test_no_network(graded):
    text = _outputs_text(graded["hostile"]["network"], "sample_gmm")
    assert "SAFE connect 127.0.0.1" in text and "LEAK" not in text, text


@pytest.mark.parametrize("name", notebooks.TAMPERING)
def test_tampering_is_flagged_and_scores_like_the_honest_wrong_answer(graded, name):
    record = graded["hostile"][name]
    buggy = graded["hostile"]["buggy"]
    assert record.status == "flagged", (record.status, record.detail)
    assert record.score <= buggy.score
    assert record.score < graded["hostile"]["correct"].score


def test_gradebook_holds_one_submission_per_student(graded):
    from corpus.courses import submission_counts

    counts = submission_counts(graded["course"])
    assert counts == {s: 1 for s in graded["hostile"]}

