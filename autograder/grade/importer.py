"""Import submissions as an LMS exports them into nbgrader's ``submitted/`` folder.

Accepted layouts, in a folder or a ``.zip`` (the student id is taken from the names):

===========================================================  ================================
``<id>.ipynb``                                               one notebook per student, flat
``<id>/lab5-mixture-models.ipynb``                           a folder per student
``<id>/lab5/lab5-mixture-models.ipynb``                      nbgrader's own ``submitted/`` layout
``<Full Name>_<id>_assignsubmission_file_/<file>.ipynb``     Moodle "download all submissions"
``<name>_[LATE_]<id>_<submission>_<file>.ipynb``             Canvas "download submissions"
===========================================================  ================================

A student id is letters, digits, ``.``, ``_`` and ``-``. Every imported student also gets an
*identity* (:func:`identity_of`): the layout it came from and the LMS's own names for it, kept
in the import log so that grades and feedback can be packed the way the LMS takes them back
(:mod:`autograder.grade.lms`). Every problem is reported for its
student (or its file, when no student id can be read) and the batch goes on:
a wrong notebook name, two notebooks for one student, a file that is not a notebook, invalid
JSON, an old nbformat 3 notebook. Damaged graded cells (deleted, moved, copied, stripped of
their metadata) are repaired when the notebook is graded (:mod:`autograder.grade.repair`).
"""
import hashlib
import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat
from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_FILE

OK, INVALID = "ok", "invalid"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
JUNK = ("__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db")

# ---- identity: where a submission came from, as the LMS named it ------------------------------
MOODLE, CANVAS, NBGRADER, PLAIN = "moodle", "canvas", "nbgrader", "plain"


class LmsLayout(FileNameCollectorPlugin):
    """An LMS download's naming, as nbgrader's own collector plugin for ``nbgrader zip_collect``.

    ``named_regexp`` matches a path of the download (``folder/file`` or ``file``) and names its
    parts (``student_id``, ``file_id``, and what else the LMS puts in). ``./course grade`` reads a
    download with the same plugins (:func:`student_of`, :func:`identity_of`); an instructor who
    prefers ``nbgrader zip_collect`` can set ``c.ZipCollectApp.collector_plugin`` to one of them.
    """

    def match(self, relpath):
        """The named parts of ``relpath``, or None (quietly: most paths belong to another layout)."""
        found = re.match(self.named_regexp, relpath, re.I)
        return found.groupdict() if found else None


class MoodleLayout(LmsLayout):
    """Moodle's "Download all submissions": ``<Full Name>_<participant id>_assignsubmission_file[_]/<file>``."""

    named_regexp = Unicode(r"^(?P<first_name>.+)_(?P<student_id>[A-Za-z0-9._-]+)_assign(?:submission|feedback)_\w+?_?/"
                           r"(?P<file_id>[^/]+)$").tag(config=True)


class CanvasLayout(LmsLayout):
    """Canvas' "Download Submissions": ``<name slug>_[LATE_]<user id>_<attachment id>_<file name>``.

    canvas-lms lib/content_zipper.rb (get_filename/add_upload_submission): the slug is the
    lower-cased sortable name with non-word characters removed (letters of any script kept),
    "LATE" when Canvas counts the submission late; the second number is the id of the submitted
    file, which Canvas' "Re-Upload Submissions" needs back (app/models/assignment.rb,
    infer_comment_context_from_filename).
    """

    named_regexp = Unicode(r"^(?P<first_name>[^\W_]+)_(?:(?P<late>late)_)?(?P<student_id>\d+)_(?P<attachment_id>\d+)_"
                           r"(?P<file_id>[^/]+)$").tag(config=True)


MOODLE_LAYOUT, CANVAS_LAYOUT = MoodleLayout(), CanvasLayout()


# Neither LMS sets a zip entry's modification time to the submission time, so it is not used:
# Moodle's downloader adds each file with core_files\archive_writer's add_file_from_stored_file
# without a time option (the entry gets the download time; mod/assign/classes/downloader.php,
# lib/filestorage/zip_writer.php), Canvas writes entries with rubyzip's get_output_stream (the
# time of zipping). Submission times come only from nbgrader's timestamp.txt; Canvas gives a
# late flag, Moodle nothing.
ZIP_MTIME_IS_SUBMISSION_TIME = False


@dataclass
class Imported:
    """The outcome of importing one student's submission (or one unreadable file)."""

    student_id: str  # "" when no student id could be read from the file name
    status: str  # ok | invalid
    message: str = ""
    files: list = field(default_factory=list)
    sha256: str = ""
    identity: dict = field(default_factory=dict)  # see identity_of (and the timestamp, if any)


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
    lms = CANVAS_LAYOUT.match(name) if len(parts) == 1 else MOODLE_LAYOUT.match("/".join(parts[:2]))
    if lms:
        return lms["student_id"], name
    if len(parts) == 1:
        stem = name.rsplit(".", 1)[0] if "." in name else name
        if stem == PurePosixPath(NOTEBOOK_FILE).stem:
            return None, name
        return (stem if STUDENT_ID.match(stem) else None), name
    return (parts[0] if STUDENT_ID.match(parts[0]) else None), name


def identity_of(relpath):
    """Where one path of the upload came from, in the LMS's own terms (a JSON-ready dict).

    Keys: ``layout`` (moodle / canvas / nbgrader / plain), ``lms_id`` (Moodle's participant id,
    Canvas' user id, exactly as in the name; absent for nbgrader and plain), ``name`` (Moodle's
    full name, Canvas' name slug), ``original_name`` (the Moodle folder or the Canvas file name as
    downloaded: feedback goes back under it), ``path`` (the whole path in the upload) and for
    Canvas ``attachment_id``, ``file_name`` (the student's file name) and ``late`` (Canvas' LATE
    marker). Call :func:`student_of` for the student id.
    """
    parts = PurePosixPath(relpath).parts
    name = parts[-1]
    if len(parts) == 1:
        canvas = CANVAS_LAYOUT.match(name)
        if canvas:
            return {"layout": CANVAS, "lms_id": canvas["student_id"], "name": canvas["first_name"],
                    "original_name": name, "path": relpath, "attachment_id": canvas["attachment_id"],
                    "file_name": canvas["file_id"], "late": bool(canvas["late"])}
        return {"layout": PLAIN, "original_name": name, "path": relpath}
    moodle = MOODLE_LAYOUT.match("/".join(parts[:2]))
    if moodle:
        return {"layout": MOODLE, "lms_id": moodle["student_id"], "name": moodle["first_name"],
                "original_name": parts[0], "path": relpath}
    if len(parts) >= 3 and parts[1] == ASSIGNMENT_ID:
        return {"layout": NBGRADER, "original_name": parts[0], "path": relpath}
    return {"layout": PLAIN, "original_name": parts[0], "path": relpath}


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


def check_notebook(data):
    """(notebook text to grade, messages) or (None, [reason]) for one submitted file's bytes.

    Only whether it is a notebook at all: damaged graded cells are repaired when it is graded
    (:mod:`autograder.grade.repair`, nbgrader's sanitising step), from the release.
    """
    notebook, problem = parse_notebook(data)
    if problem:
        return None, [problem]
    return nbformat.writes(notebook), []


# ---- the import ----------------------------------------------------------------------------------
def import_submissions(source, course_root):
    """Copy every valid submission of ``source`` into ``course_root/submitted``; list outcomes.

    A student whose new upload is invalid has any older copy in ``submitted/`` removed, so an
    old notebook is never graded in place of the one they handed in.
    """
    course_root = Path(course_root)
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
        outcomes.append(_import_one(student, files, course_root))
    return outcomes


def _import_one(student, files, course_root):
    folder = course_root / "submitted" / student / ASSIGNMENT_ID
    timestamps = [f for f in files if f[1] == "timestamp.txt"]
    notebooks = [f for f in files if f[1].endswith(".ipynb")]
    others = [f for f in files if f not in notebooks and f not in timestamps]
    paths = [f[0] for f in files]
    identity = identity_of((notebooks or files)[0][0])
    if timestamps:  # nbgrader's submission time, as nbgrader itself reads it (timestamp.txt)
        identity.update(timestamp=timestamps[0][2].decode("utf-8", "replace").strip(),
                        timestamp_source="timestamp.txt")

    def invalid(message):
        if folder.exists():
            shutil.rmtree(folder)
        return Imported(student, INVALID, message, paths, identity=identity)

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
    text, messages = check_notebook(data)
    if text is None:
        return invalid(messages[0])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NOTEBOOK_FILE).write_text(text)
    if timestamps:
        (folder / "timestamp.txt").write_bytes(timestamps[0][2])
    if others:
        messages.append("ignored other files: " + ", ".join(f[1] for f in others))
    sha = hashlib.sha256(text.encode()).hexdigest()
    return Imported(student, OK, "; ".join(messages), paths, sha, identity)


def write_import_log(outcomes, path):
    """Keep the last import's outcomes (the grading run reports invalid ones per student)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(path.read_text()) if path.exists() else {}
    for o in outcomes:
        if o.student_id:
            previous[o.student_id] = {"status": o.status, "message": o.message, "files": o.files,
                                      "sha256": o.sha256, "identity": o.identity}
    path.write_text(json.dumps(previous, indent=1, sort_keys=True))
    return previous


def read_import_log(path):
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else {}

