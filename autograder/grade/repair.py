"""Repairing a submission's graded cells from the *release*, never from the master: ``RepairCells``.

About one student in twenty hands in a notebook whose graded cells were damaged: deleted by
accident, moved, copied, or stripped of their nbgrader metadata by another editor. nbgrader's own
sanitising (``DeduplicateIds``, ``OverwriteCells``) restores the source of locked cells that are
still there; it does not bring back deleted answer cells, re-label cells that lost their metadata,
or put cells back in order. ``OverwriteCells.add_missing_cells`` restores deleted *grade* cells only
(not the answer stubs, not in the right place relative to the student's own cells), so this runs
first, on the released notebook (stubs: ``raise NotImplementedError()``, ``YOUR ANSWER HERE``):

1. cells that lost their nbgrader metadata are recognised -- by their cell id, by the exact source
   of a locked cell, or (answers) as the one unlabelled cell where the release has that answer,
   preferring a cell that defines the graded function -- and get the release's metadata back;
2. a cell that appears more than once (the same grade id) is graded once: the last copy keeps
   the metadata, earlier copies stay as ordinary cells; untouched stub copies of an answered
   cell are dropped (they would undo the answer when run);
3. deleted graded cells come back from the release: answer stubs right after the graded cell
   before them (so the student's own cells that follow still override them), tests and other
   locked cells just before the next graded cell (so they run after everything the student wrote
   for that part); graded cells are put back in the release order, each with the student's own
   cells that followed it.

A deleted answer therefore earns nothing, a deleted test comes back and runs, and a deleted
written answer leaves the stub, never a model answer. What was repaired is written to
``metadata.autograder.repairs`` (``./course grade`` shows it in ``status_detail``).
"""
import copy
import os
import re
import uuid

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.course import GRADED_FUNCTIONS

STATUS_KEY = "autograder"


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_solution(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _defines(cell, name):
    return cell.cell_type == "code" and re.search(rf"^def {re.escape(name)}\(", cell.source, re.M) is not None


def _same_source(a, b):
    return a.source.strip() == b.source.strip()


def _relabel(cell, release_cell):
    cell.metadata["nbgrader"] = copy.deepcopy(release_cell.metadata["nbgrader"])


def _fresh(release_cell):
    cell = copy.deepcopy(release_cell)
    cell["id"] = uuid.uuid4().hex[:8]
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def _recognise_unlabelled(cells, release, by_id, messages):
    """Step 1: give cells that lost their nbgrader metadata the release's metadata back."""
    release_by_cell_id = {cell.get("id"): cell for cell in release.cells if grade_id(cell)}
    recognised = []
    here = {grade_id(c) for c in cells if grade_id(c) in by_id}  # kept up to date as cells are relabelled

    def relabel(cell, match):
        _relabel(cell, match)
        recognised.append(grade_id(match))
        here.add(grade_id(match))

    for cell in cells:
        if grade_id(cell) is None and cell.get("id") in release_by_cell_id:
            match = release_by_cell_id[cell.get("id")]
            if grade_id(match) not in here and match.cell_type == cell.cell_type:
                relabel(cell, match)
    for cell in cells:
        if grade_id(cell) is None:
            match = next((r for gid, r in by_id.items() if not _is_solution(r) and r.cell_type == cell.cell_type
                          and gid not in here and _same_source(r, cell)), None)
            if match is not None:
                relabel(cell, match)
    # Answers: the unlabelled cells between the graded cells around the stubs, matched in order.
    order = [grade_id(c) for c in release.cells if grade_id(c)]
    release_texts = {c.source.strip() for c in release.cells if not grade_id(c)}
    gaps = {}  # (graded cell before, graded cell after) -> the answers missing between them, in release order
    for position, gid in enumerate(order):
        if _is_solution(by_id[gid]) and gid not in here:
            before = next((g for g in reversed(order[:position]) if g in here), None)
            after = next((g for g in order[position + 1:] if g in here), None)
            gaps.setdefault((before, after), []).append(gid)
    for (before, after), missing in gaps.items():
        start = next((i for i, c in enumerate(cells) if grade_id(c) == before), -1)
        end = next((i for i, c in enumerate(cells) if grade_id(c) == after), len(cells))
        candidates = [c for c in cells[start + 1:end] if grade_id(c) is None and c.source.strip() not in release_texts]
        for gid in [g for g in missing if g in GRADED_FUNCTIONS]:
            defining = [c for c in candidates if _defines(c, gid)]
            if defining:
                _relabel(defining[-1], by_id[gid])
                recognised.append(gid)
                candidates = [c for c in candidates if c is not defining[-1]]
        for kind in ("code", "markdown"):
            left = [g for g in missing if by_id[g].cell_type == kind and g not in recognised]
            pool = [c for c in candidates if c.cell_type == kind and grade_id(c) is None]
            if left and len(pool) == len(left):  # one candidate per missing answer: match them in order
                for gid, cell in zip(left, pool):
                    _relabel(cell, by_id[gid])
                    recognised.append(gid)
    if recognised:
        messages.append(f"{len(recognised)} cell(s) had lost their nbgrader metadata (another editor?) and were "
                        f"recognised: {', '.join(recognised[:6])}" + (" ..." if len(recognised) > 6 else ""))


def _resolve_duplicates(cells, by_id, messages):
    """Step 2: one graded copy of each cell (the last); stub copies of an answered cell dropped."""
    copies = {}
    for cell in cells:
        if grade_id(cell) in by_id:
            copies.setdefault(grade_id(cell), []).append(cell)
    dropped = []
    for gid, found in copies.items():
        if len(found) < 2:
            continue
        stubs = [c for c in found if _same_source(c, by_id[gid])] if _is_solution(by_id[gid]) else []
        drop = bool(stubs) and len(stubs) < len(found)
        if drop:
            dropped.extend(stubs)
            found = [c for c in found if not any(c is stub for stub in stubs)]
        for cell in found[:-1]:
            del cell.metadata["nbgrader"]
        messages.append(f"cell {gid} appeared {len(copies[gid])} times: the last copy is graded"
                        + (", untouched copies of the stub were removed" if drop else "")
                        + (", the others are kept as ordinary cells" if len(found) > 1 else ""))
    return [c for c in cells if not any(c is d for d in dropped)]


def _restore_and_order(cells, release, by_id, messages):
    """Step 3: deleted graded cells back from the release; graded cells in the release order."""
    order = [grade_id(c) for c in release.cells if grade_id(c)]
    own, followers, leading, current, seen = {}, {}, [], None, []
    for cell in cells:
        gid = grade_id(cell)
        if gid in by_id and gid not in own:
            own[gid], current = cell, gid
            followers[gid] = []
            seen.append(gid)
        elif current is None:
            leading.append(cell)
        else:
            followers[current].append(cell)
    missing = [g for g in order if g not in own]
    reordered = seen != [g for g in order if g in own]

    def missing_run(start):
        """The missing cells after release position ``start`` up to the next cell the student kept."""
        run = []
        for gid in order[start + 1:]:
            if gid in own:
                break
            run.append(gid)
        return ([_fresh(by_id[g]) for g in run if _is_solution(by_id[g])],
                [_fresh(by_id[g]) for g in run if not _is_solution(by_id[g])])

    stubs, locked = missing_run(-1)
    result = stubs + leading + locked
    for position, gid in enumerate(order):
        if gid in own:
            stubs, locked = missing_run(position)
            result += [own[gid]] + stubs + followers[gid] + locked
    if missing:
        messages.append(f"restored {len(missing)} deleted graded cell(s) from the release: {', '.join(missing[:6])}"
                        + (" ..." if len(missing) > 6 else ""))
    if reordered:
        messages.append("graded cells were out of order and were put back in the release order")
    return result


def _unique_ids(cells):
    seen = set()
    for cell in cells:
        if "id" in cell and cell["id"] in seen:
            cell["id"] = uuid.uuid4().hex[:8]
        seen.add(cell.get("id"))


def repair_notebook(notebook, release):
    """Repair ``notebook``'s graded cells from ``release`` (in place); return the messages saying what changed."""
    by_id = {grade_id(c): c for c in release.cells if grade_id(c)}
    messages = []
    foreign = [cell for cell in notebook.cells if "nbgrader" in cell.get("metadata", {}) and grade_id(cell) not in by_id]
    for cell in foreign:  # metadata of no cell of this assignment (another notebook's, or broken)
        del cell.metadata["nbgrader"]
    if foreign:
        messages.append(f"{len(foreign)} cell(s) carried nbgrader metadata of no cell of this assignment: "
                        "they are kept as ordinary cells")
    cells = list(notebook.cells)
    _recognise_unlabelled(cells, release, by_id, messages)
    cells = _resolve_duplicates(cells, by_id, messages)
    notebook.cells = _restore_and_order(cells, release, by_id, messages)
    _unique_ids(notebook.cells)
    return messages


class RepairCells(NbGraderPreprocessor):
    """nbgrader sanitising step: :func:`repair_notebook` against the released notebook (module docstring)."""

    release_notebook = Unicode("", help=(
        "The released notebook to repair from. Default: <course root>/<release directory>/<assignment>/<notebook>.ipynb."
    )).tag(config=True)

    def _release_path(self, resources):
        if self.release_notebook:
            return self.release_notebook
        coursedir = CourseDirectory(config=self.config)
        info = resources["nbgrader"]
        return os.path.join(coursedir.format_path(coursedir.release_directory, ".", info["assignment"]),
                            f"{info['notebook']}.ipynb")

    def preprocess(self, nb, resources):
        path = self._release_path(resources)
        if not os.path.exists(path):
            self.log.warning("no released notebook at %s: graded cells are not repaired", path)
            messages = [f"graded cells could not be checked for damage: no released notebook at {path}"]
        else:
            messages = repair_notebook(nb, nbformat.read(path, as_version=4))
        for message in messages:
            self.log.warning("repaired: %s", message)
        if messages:
            nb.metadata.setdefault(STATUS_KEY, {})["repairs"] = messages
        return nb, resources
