"""The sealed-grading corpus: damaged notebooks and cells that reach for the grader's secrets.

Each case is a notebook built from the release (``build(source, release)``) and what its score
may be, test by test, against a baseline graded in the same run:

* ``"stubs"``: at most what the untouched release earns (it earns nothing): the attack starts from
  the stubs, so any point would be stolen;
* ``"same_as:<baseline>"``: exactly the baseline's scores (a repaired notebook whose answers are
  the baseline's);
* ``"at_most:<baseline>"``: never more than the baseline on any test (an attack on top of those
  answers).

Baselines: ``correct`` (the reference answers), ``buggy`` (two honest mistakes), ``release``.
"""
import copy

import nbformat

from autograder.course import GRADED_FUNCTIONS
from autograder.demo_submissions import reference_answers
from autograder.grade.repair import grade_id

from corpus import notebooks

BASELINES = {
    "correct": notebooks.correct_notebook,
    "buggy": notebooks.buggy_notebook,
    "release": lambda source, release: copy.deepcopy(release),
}


def _index(notebook, gid):
    return next(i for i, c in enumerate(notebook.cells) if grade_id(c) == gid)


def with_cell_after(base, gid, code):
    """``base``'s notebook with a new (student) code cell after the cell ``gid``."""
    def build(source, release):
        notebook = BASELINES[base](source, release)
        notebook.cells.insert(_index(notebook, gid) + 1, nbformat.v4.new_code_cell(code))
        return notebook
    return build


def snippet_after(base, gid, name):
    return with_cell_after(base, gid, notebooks.snippet(name))


def delete(base, *gids):
    def build(source, release):
        notebook = BASELINES[base](source, release)
        notebook.cells = [c for c in notebook.cells if grade_id(c) not in gids]
        return notebook
    return build


def answers_in_new_cells(*functions):
    """The release, with each function's answer written in a new cell under its untouched stub."""
    def build(source, release):
        notebook = notebooks.correct_notebook(source, release)
        answers = reference_answers(source)
        for function in functions:
            at = _index(notebook, function)
            notebook.cells[at] = copy.deepcopy(next(c for c in release.cells if grade_id(c) == function))
            notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(answers[function]))
        return notebook
    return build


def answers_replacing_deleted_stubs(*functions):
    """The stub cell deleted and the answer written in a new, unlabelled cell where it was."""
    def build(source, release):
        notebook = notebooks.correct_notebook(source, release)
        for function in functions:
            cell = notebook.cells[_index(notebook, function)]
            cell.metadata.pop("nbgrader")
            cell["id"] = nbformat.v4.new_code_cell().id
        return notebook
    return build


def duplicated(gid, copy_first=False, copy_is_stub=False):
    def build(source, release):
        notebook = notebooks.correct_notebook(source, release)
        at = _index(notebook, gid)
        extra = copy.deepcopy(next(c for c in release.cells if grade_id(c) == gid) if copy_is_stub else notebook.cells[at])
        extra["id"] = nbformat.v4.new_code_cell().id
        notebook.cells.insert(at if copy_first else at + 1, extra)
        return notebook
    return build


def moved(first, second):
    def build(source, release):
        notebook = notebooks.correct_notebook(source, release)
        a, b = _index(notebook, first), _index(notebook, second)
        notebook.cells[a], notebook.cells[b] = notebook.cells[b], notebook.cells[a]
        return notebook
    return build


def metadata_stripped(base):
    def build(source, release):
        notebook = BASELINES[base](source, release)
        for cell in notebook.cells:
            cell.metadata.pop("nbgrader", None)
        return notebook
    return build


def a_wrong_copy_below(gid, old, new):
    """An answered cell copied below and edited into a mistake: the copy below is what runs last."""
    def build(source, release):
        notebook = notebooks.correct_notebook(source, release)
        at = _index(notebook, gid)
        extra = copy.deepcopy(notebook.cells[at])
        extra["id"] = nbformat.v4.new_code_cell().id
        extra.source = extra.source.replace(old, new)
        notebook.cells.insert(at + 1, extra)
        return notebook
    return build


FUNCTION_CELLS = tuple(GRADED_FUNCTIONS)
WRITTEN_ANSWERS = ("answer_category_prob", "answer_kmeans_restarts", "answer_kmeans_overlap", "answer_elbow_k",
                   "answer_em_vs_kmeans")

# name -> (builder, expectation)
DAMAGE = {
    "release_without_function_answers": (delete("release", *FUNCTION_CELLS), "stubs"),
    "answers_deleted": (delete("correct", *FUNCTION_CELLS), "at_most:correct"),
    "test_cells_deleted": (delete("correct", "test_e_step_values_hidden", "test_m_step_visible", "test_quantised_images"),
                           "same_as:correct"),
    "written_answers_deleted": (delete("correct", *WRITTEN_ANSWERS), "same_as:correct"),
    "answers_under_untouched_stubs": (answers_in_new_cells("e_step", "m_step", "sample_gmm"), "same_as:correct"),
    "answers_in_place_of_deleted_stubs": (answers_replacing_deleted_stubs("e_step", "get_cluster_centroids"), "same_as:correct"),
    "answer_cell_copied": (duplicated("e_step"), "same_as:correct"),
    "stub_copied_above_answer": (duplicated("m_step", copy_first=True, copy_is_stub=True), "same_as:correct"),
    "test_cell_copied": (duplicated("test_e_step_values_hidden"), "same_as:correct"),
    "cells_moved": (moved("sample_gmm", "test_sample_gmm_visible"), "same_as:correct"),
    "metadata_stripped": (metadata_stripped("correct"), "same_as:correct"),
    "release_metadata_stripped": (metadata_stripped("release"), "stubs"),
    "wrong_copy_below": (a_wrong_copy_below("get_cluster_assignments", "np.argmin(distances, axis=1)",
                                            "np.argmax(distances, axis=1)"), "at_most:correct"),
}

ATTACKS = {
    "import_reference_obfuscated": (snippet_after("release", "imports", "import_reference_obfuscated"), "stubs"),
    "read_everything": (snippet_after("release", "imports", "read_everything"), "stubs"),
    "search_master": (snippet_after("release", "imports", "search_master"), "stubs"),
    "fake_client": (snippet_after("release", "imports", "fake_client"), "stubs"),
    "forge_replies": (snippet_after("release", "imports", "forge_replies"), "stubs"),
    "check_from_own_cell": (snippet_after("release", "imports", "check_from_own_cell"), "stubs"),
    "patch_numpy_on_wrong_answers": (snippet_after("buggy", "imports", "patch_numpy"), "at_most:buggy"),
    "skip_tests_at_the_end": (snippet_after("correct", "quantisation", "skip_tests"), "at_most:correct"),
}
CASES = {**DAMAGE, **ATTACKS}
