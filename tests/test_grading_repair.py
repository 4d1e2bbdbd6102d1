"""Damaged graded cells are repaired from the release (``autograder.grade.repair``), never from the master.

Unit tests on the real release notebook and real student-style damage: deleted, moved, copied
and unlabelled cells. Grading them end to end is in ``test_grading_sealed.py``.
"""
import copy

import nbformat
import pytest

from corpus import notebooks

from autograder.course import NOTEBOOK_FILE, RELEASE_DIR, SOURCE_DIR
from autograder.grade.repair import grade_id, repair_notebook
from corpus.leaks import leaked_lines, secret_regions


@pytest.fixture(scope="module")
def lab():
    return nbformat.read(SOURCE_DIR / NOTEBOOK_FILE, as_version=4), nbformat.read(RELEASE_DIR / NOTEBOOK_FILE, as_version=4)


def ids(notebook):
    return [grade_id(c) for c in notebook.cells if grade_id(c)]


def index(notebook, gid):
    return next(i for i, c in enumerate(notebook.cells) if grade_id(c) == gid)


def correct(lab):
    return copy.deepcopy(notebooks.correct_notebook(*lab))


def test_an_intact_notebook_is_left_alone(lab):
    notebook = correct(lab)
    before = nbformat.writes(notebook)
    assert repair_notebook(notebook, lab[1]) == []
    assert nbformat.writes(notebook) == before


def test_deleted_and_moved_cells_come_back_in_order_and_own_cells_stay(lab):
    source, release = lab
    notebook = correct(lab)
    own = nbformat.v4.new_code_cell("helper = 42  # my own cell")
    notebook.cells.insert(index(notebook, "e_step") + 1, own)
    del notebook.cells[index(notebook, "test_m_step_visible")]
    a, b = index(notebook, "sample_gmm"), index(notebook, "test_sample_gmm_visible")  # the test before the answer
    notebook.cells[a], notebook.cells[b] = notebook.cells[b], notebook.cells[a]
    messages = repair_notebook(notebook, release)
    assert ids(notebook) == ids(release)
    assert notebook.cells[index(notebook, "e_step") + 1].source == own.source
    assert any("test_m_step_visible" in m for m in messages) and any("order" in m for m in messages)
    restored = notebook.cells[index(notebook, "test_m_step_visible")]
    assert restored.source == next(c for c in release.cells if grade_id(c) == "test_m_step_visible").source


def test_a_deleted_answer_comes_back_as_the_stub_and_no_master_line_enters(lab):
    source, release = lab
    notebook = correct(lab)
    for gid in ("sample_gmm", "get_cluster_assignments", "get_cluster_centroids", "e_step", "m_step", "answer_em_vs_kmeans"):
        del notebook.cells[index(notebook, gid)]
    repair_notebook(notebook, release)
    assert ids(notebook) == ids(release)
    for gid in ("e_step", "answer_em_vs_kmeans"):
        assert notebook.cells[index(notebook, gid)].source == next(c for c in release.cells if grade_id(c) == gid).source
    text = "\n".join(c.source for c in notebook.cells if grade_id(c) in ("e_step", "m_step", "answer_em_vs_kmeans"))
    assert not leaked_lines(secret_regions(source), text)


def test_an_answer_in_a_new_cell_under_the_untouched_stub_runs_after_it(lab):
    source, release = lab
    notebook = copy.deepcopy(release)
    answer = nbformat.v4.new_code_cell(notebooks.reference_answers(source)["e_step"])
    notebook.cells.insert(index(notebook, "e_step") + 1, answer)
    assert repair_notebook(notebook, release) == []
    assert notebook.cells[index(notebook, "e_step") + 1] is answer


def test_an_answer_written_in_place_of_the_deleted_stub_is_recognised(lab):
    source, release = lab
    notebook = copy.deepcopy(release)
    position = index(notebook, "e_step")
    notebook.cells[position] = nbformat.v4.new_code_cell(notebooks.reference_answers(source)["e_step"])  # no metadata
    messages = repair_notebook(notebook, release)
    assert grade_id(notebook.cells[position]) == "e_step" and "def e_step(" in notebook.cells[position].source
    assert ids(notebook) == ids(release) and any("recognised: e_step" in m for m in messages)


def test_a_stub_copied_next_to_its_answer_is_dropped_and_the_answer_graded(lab):
    source, release = lab
    for stub_below in (False, True):
        notebook = correct(lab)
        stub = copy.deepcopy(next(c for c in release.cells if grade_id(c) == "e_step"))
        at = index(notebook, "e_step")
        notebook.cells.insert(at + 1 if stub_below else at, stub)
        messages = repair_notebook(notebook, release)
        graded = [c for c in notebook.cells if grade_id(c) == "e_step"]
        assert len(graded) == 1 and "def e_step(" in graded[0].source and "NotImplementedError" not in graded[0].source
        assert not any(c is stub for c in notebook.cells) and any("appeared 2 times" in m for m in messages)


def test_a_copied_test_cell_is_graded_once(lab):
    source, release = lab
    notebook = correct(lab)
    at = index(notebook, "test_e_step_values_hidden")
    notebook.cells.insert(at, copy.deepcopy(notebook.cells[at]))
    repair_notebook(notebook, release)
    assert ids(notebook) == ids(release)
    assert sum("lab5_grader" in c.source or c.source == notebook.cells[index(notebook, "test_e_step_values_hidden")].source
               for c in notebook.cells) >= 1
    nbformat.validate(notebook)


@pytest.mark.parametrize("which", ["correct", "release"])
def test_metadata_stripped_by_an_editor_is_recognised(lab, which):
    """Another editor dropped every cell's nbgrader metadata (ids kept, or not): the cells are recognised."""
    source, release = lab
    for keep_ids in (True, False):
        notebook = correct(lab) if which == "correct" else copy.deepcopy(release)
        expected = {i: grade_id(c) for i, c in enumerate(notebook.cells)}
        for cell in notebook.cells:
            cell.metadata.pop("nbgrader", None)
            if not keep_ids:
                cell["id"] = nbformat.v4.new_code_cell().id
        repair_notebook(notebook, release)
        assert ids(notebook) == ids(release), keep_ids
        for i, gid in expected.items():
            if gid:
                assert grade_id(notebook.cells[i]) == gid, (keep_ids, i, gid)  # each recognised where it was


def test_foreign_metadata_is_dropped_and_ids_stay_unique(lab):
    source, release = lab
    notebook = correct(lab)
    stray = nbformat.v4.new_code_cell("x = 1")
    stray.metadata["nbgrader"] = {"grade_id": "question_from_another_lab", "solution": True, "grade": False,
                                  "locked": False, "schema_version": 3}
    notebook.cells.append(stray)
    notebook.cells.append(copy.deepcopy(notebook.cells[0]))  # the same cell id twice
    messages = repair_notebook(notebook, release)
    assert "nbgrader" not in stray.metadata and any("no cell of this assignment" in m for m in messages)
    cell_ids = [c.id for c in notebook.cells]
    assert len(cell_ids) == len(set(cell_ids))


def _first(notebook, **wanted):
    return next(c for c in notebook.cells if all(c.metadata.get("nbgrader", {}).get(k) == v for k, v in wanted.items()))


METADATA_DAMAGE = {
    "intact": lambda nb: None,
    "points_as_text": lambda nb: _first(nb, grade=True).metadata.nbgrader.update(points="two"),
    "points_missing": lambda nb: _first(nb, grade=True).metadata.nbgrader.pop("points"),
    "locked_missing": lambda nb: _first(nb, grade=True).metadata.nbgrader.pop("locked"),
    "schema_too_old": lambda nb: _first(nb, grade=True).metadata.nbgrader.update(schema_version=1),
    "schema_too_new": lambda nb: _first(nb, grade=True).metadata.nbgrader.update(schema_version=9),
    "empty_grade_id": lambda nb: _first(nb, solution=True).metadata.nbgrader.update(grade_id=""),
    "grade_id_twice": lambda nb: _first(nb, solution=True).metadata.nbgrader.update(
        grade_id=_first(nb, grade=True).metadata.nbgrader["grade_id"]),
}


@pytest.mark.parametrize("damage", sorted(METADATA_DAMAGE))
def test_the_compiled_metadata_check_decides_as_nbgraders(lab, damage):
    """The course's CheckCellMetadataOnce accepts and rejects exactly what nbgrader's CheckCellMetadata does."""
    from nbgrader.preprocessors import CheckCellMetadata

    from autograder.grade.metadata import CheckCellMetadataOnce

    notebook = nbformat.read(RELEASE_DIR / NOTEBOOK_FILE, as_version=4)
    METADATA_DAMAGE[damage](notebook)
    outcomes = []
    for check in (CheckCellMetadata, CheckCellMetadataOnce):
        try:
            check().preprocess(copy.deepcopy(notebook), {})
            outcomes.append("accepted")
        except Exception as exc:
            outcomes.append(f"{type(exc).__name__}: {exc}")
    assert outcomes[0] == outcomes[1]
    assert (outcomes[0] == "accepted") == (damage == "intact"), outcomes
