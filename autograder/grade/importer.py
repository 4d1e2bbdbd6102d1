"""Import submissions as an LMS exports them into nbgrader's ``submitted/`` folder.

Accepted layouts, in a folder or a ``.zip`` (the student id is taken from the names):

===========================================================  ================================
``<id>.ipynb``                                               one notebook per student, flat
``<id>/lab5-mixture-models.ipynb``                           a folder per student
``<id>/lab5/lab5-mixture-models.ipynb``                      nbgrader's own ``submitted/`` layout
``<Full Name>_<id>_assignsubmission_file_/<file>.ipynb``     Moodle "download all submissions"
``<name>_[LATE_]<id>_<submission>_<file>.ipynb``             Canvas "download submissions"
===========================================================  ================================

A student id is letters, digits, ``.``, ``_`` and ``-``. Every problem is reported for its
student (or its file, when no student id can be read) and the batch goes on:
a wrong notebook name, two notebooks for one student, a file that is not a notebook, invalid
JSON, an old nbformat 3 notebook. A notebook with deleted or reordered graded cells is
repaired (missing cells are restored from the release, graded cells put back in order, the
student's own extra cells kept after the cell they followed) and the repair is reported.
"""
import hashlib
import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_FILE

OK, INVALID = "ok", "invalid"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MOODLE_FOLDER = re.compile(r"^.+_(?P<id>[A-Za-z0-9._-]+)_assign(submission|feedback)_\w+_?$")
CANVAS_FILE = re.compile(r"^[a-z]+_(?:late_)?(?P<id>\d+)_\d+_.+$", re.I)
JUNK = ("__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db")


@dataclass
class Imported:
    """The outcome of importing one student's submission (or one unreadable file)."""

    student_id: str  # "" when no student id could be read from the file name
    status: str  # ok | invalid
    message: str = ""
    files: list = field(default_factory=list)
    sha256: str = ""


# ---- reading the upload ------------------------------------------------------------------------
def _entries(source):
    """(relative posix path, bytes) for every file of a folder or zip."""
    source = Path(source)
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    yield info.filename, archive.read(info)
    elif source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            yield path.relative_to(source).as_posix(), path.read_bytes()
    else:
        raise ValueError(f"{source} is neither a folder nor a zip file")


def student_of(relpath):
    """(student id or None, the file's name as the student gave it) for one path of the upload."""
    parts = PurePosixPath(relpath).parts
    name = parts[-1]
    if len(parts) == 1:
        stem = name.rsplit(".", 1)[0] if "." in name else name
        canvas = CANVAS_FILE.match(name)
        if canvas:
            return canvas.group("id"), name
        if stem == PurePosixPath(NOTEBOOK_FILE).stem:
            return None, name
        return (stem if STUDENT_ID.match(stem) else None), name
    moodle = MOODLE_FOLDER.match(parts[0])
    if moodle:
        return moodle.group("id"), name
    return (parts[0] if STUDENT_ID.match(parts[0]) else None), name


def _is_junk(relpath):
    return any(part in JUNK or part.startswith("._") for part in PurePosixPath(relpath).parts)


# ---- checking one notebook -----------------------------------------------------------------------
def parse_notebook(data):
    """(notebook, None) or (None, message) for the bytes of a would-be notebook."""
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return None, "not a notebook: the file is not text (is it a PDF or an image?)"
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg} (the file is damaged)"
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        return None, "not a notebook: JSON without notebook cells"
    major = raw.get("nbformat")
    if major != 4:
        return None, (f"nbformat {major} notebook: made by a very old Jupyter; open it in Jupyter "
                      f"(version 4 or later), save it and submit again")
    try:
        notebook = nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as exc:
        return None, f"not a valid notebook: {exc}"
    return notebook, None


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def repair_cells(notebook, release):
    """Restore deleted graded cells and the release order; return (notebook, messages)."""
    release_ids = [_grade_id(c) for c in release.cells if _grade_id(c)]
    known = set(release_ids)
    own, followers, current, leading = {}, {}, None, []
    seen_order = []
    for cell in notebook.cells:
        gid = _grade_id(cell)
        if gid in known and gid not in own:
            own[gid] = cell
            seen_order.append(gid)
            current = gid
            followers.setdefault(gid, [])
        elif current is None:
            leading.append(cell)
        else:
            followers[current].append(cell)
    missing = [g for g in release_ids if g not in own]
    reordered = seen_order != [g for g in release_ids if g in own]
    if not missing and not reordered:
        return notebook, []
    release_cells = {_grade_id(c): c for c in release.cells if _grade_id(c)}
    cells = list(leading)
    for gid in release_ids:
        cells.append(own.get(gid, release_cells[gid]))
        cells.extend(followers.get(gid, []))
    notebook.cells = cells
    messages = []
    if missing:
        messages.append(f"restored {len(missing)} deleted graded cell(s) from the release: {', '.join(missing[:6])}"
                        + (" ..." if len(missing) > 6 else ""))
    if reordered:
        messages.append("graded cells were out of order and were put back in the release order")
    return notebook, messages


def check_notebook(data, release):
    """(notebook text to grade, messages) or (None, [reason]) for one submitted file's bytes."""
    notebook, problem = parse_notebook(data)
    if problem:
        return None, [problem]
    messages = []
    if release is not None:
        notebook, messages = repair_cells(notebook, release)
    return nbformat.writes(notebook), messages


# ---- the import ----------------------------------------------------------------------------------
def import_submissions(source, course_root, release_notebook=None):
    """Copy every valid submission of ``source`` into ``course_root/submitted``; list outcomes.

    A student whose new upload is invalid has any older copy in ``submitted/`` removed, so an
    old notebook is never graded in place of the one they handed in.
    """
    course_root = Path(course_root)
    release = nbformat.read(release_notebook, as_version=4) if release_notebook else None
    by_student, unassigned = {}, []
    for relpath, data in _entries(source):
        if _is_junk(relpath):
            continue
        student, name = student_of(relpath)
        if student is None:
            unassigned.append(Imported("", INVALID, f"cannot tell the student id from {relpath!r}; "
                                                    f"name it <student id>.ipynb or <student id>/{NOTEBOOK_FILE}",
                                       [relpath]))
            continue
        by_student.setdefault(student, []).append((relpath, name, data))
    outcomes = list(unassigned)
    for student, files in sorted(by_student.items()):
        outcomes.append(_import_one(student, files, course_root, release))
    return outcomes


def _import_one(student, files, course_root, release):
    folder = course_root / "submitted" / student / ASSIGNMENT_ID
    timestamps = [f for f in files if f[1] == "timestamp.txt"]
    notebooks = [f for f in files if f[1].endswith(".ipynb")]
    others = [f for f in files if f not in notebooks and f not in timestamps]
    paths = [f[0] for f in files]

    def invalid(message):
        if folder.exists():
            shutil.rmtree(folder)
        return Imported(student, INVALID, message, paths)

    if len(notebooks) > 1:
        return invalid("duplicate submissions: " + ", ".join(f[0] for f in notebooks)
                       + " (keep one and import again)")
    if not notebooks:
        kinds = ", ".join(sorted({PurePosixPath(f[1]).suffix or f[1] for f in others}))
        return invalid(f"not a notebook: got {kinds or 'no file'}; expected {NOTEBOOK_FILE}")
    relpath, name, data = notebooks[0]
    is_flat_or_canvas = len(PurePosixPath(relpath).parts) == 1
    if not is_flat_or_canvas and name != NOTEBOOK_FILE:
        return invalid(f"wrong file name {name!r}: expected {NOTEBOOK_FILE} (rename it and import again)")
    text, messages = check_notebook(data, release)
    if text is None:
        return invalid(messages[0])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NOTEBOOK_FILE).write_text(text)
    if timestamps:
        (folder / "timestamp.txt").write_bytes(timestamps[0][2])
    if others:
        messages.append("ignored other files: " + ", ".join(f[1] for f in others))
    sha = hashlib.sha256(text.encode()).hexdigest()
    return Imported(student, OK, "; ".join(messages), paths, sha)


def write_import_log(outcomes, path):
    """Keep the last import's outcomes (the grading run reports invalid ones per student)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(path.read_text()) if path.exists() else {}
    for o in outcomes:
        if o.student_id:
            previous[o.student_id] = {"status": o.status, "message": o.message, "files": o.files,
                                      "sha256": o.sha256}
    path.write_text(json.dumps(previous, indent=1, sort_keys=True))
    return previous


def read_import_log(path):
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else {}

