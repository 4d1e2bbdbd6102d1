"""Grades and feedback packed the way Moodle and Canvas take them back.

Input: the per-student grade rows (:func:`autograder.grade.outputs.class_rows`: dicts with at
least ``student_id, score, max_score, raw_score, late_submission_penalty, timestamp, status``)
and the identities the import recorded (:func:`autograder.grade.importer.identity_of`, kept in
``.grading/imports.json``). Output, per LMS found among the identities:

=========================================  =====================================================
``canvas-gradebook-import.csv``            Canvas Gradebook > Import (matched on Canvas user ID)
``canvas-reupload-submissions.zip``        Canvas assignment > Re-Upload Submissions (comments)
``moodle-grading-worksheet.csv``           Moodle assignment > Upload grading worksheet
``moodle-feedback-files.zip``              Moodle assignment > Upload multiple feedback files
``lateness.csv``                           every student: timestamp, hours late, penalty
=========================================  =====================================================

Only students whose score stands (status graded, flagged, timed out or crashed) get a grade
row: the others (invalid, error, pending, not submitted) are left out, so the LMS keeps what
it had instead of receiving a blank (Canvas would clear the grade) or a silent 0.

Formats, each with where it was confirmed (reference text read for this module):

- Canvas gradebook import: Canvas source ``app/models/gradebook_importer.rb`` (instructure/
  canvas-lms; ``row_has_student_headers?``, ``update_column_count``, ``process_student``,
  ``parse_assignments``, ``check_for_non_student_row``) and the Ohio State guide "Import CSV File
  for Carmen Grades" (https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/
  calculating-final-grades/import-csv-file-carmen-grades). Canvas' own guide is "How do I import
  grades in the Gradebook?" (https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-
  grades-in-the-Gradebook/ta-p/807); it was found referenced, not read.
- Canvas re-upload: ``Assignment#generate_comments_from_files`` and
  ``infer_comment_context_from_filename`` (app/models/assignment.rb) and ``ContentZipper``
  (lib/content_zipper.rb) in instructure/canvas-lms. No Canvas guide page was found.
- Moodle grading worksheet: ``assignfeedback_offline_grade_importer`` (mod/assign/feedback/
  offline/importgradeslib.php) and ``process_import_grades`` (mod/assign/feedback/offline/
  locallib.php) in moodle/moodle, English strings of mod/assign/lang/en/assign.php; MoodleDocs
  "Assignment settings" (https://docs.moodle.org/401/en/Assignment_settings: feedback types
  "Offline grading worksheet", "Feedback files").
- Moodle feedback zip: ``assignfeedback_file_zip_importer`` (mod/assign/feedback/file/
  importziplib.php) and ``mod_assign\\downloader`` (mod/assign/classes/downloader.php) in
  moodle/moodle; University of Oxford "Quick guide to online marking"
  (https://onlinesupport.conted.ox.ac.uk/?p=188: "Upload multiple feedback files in a zip").
"""
import csv
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from autograder.course import ASSIGNMENT_ID
from autograder.grade.importer import CANVAS, MOODLE
from autograder.grade.lateness import seconds_late, within_grace
from autograder.status import RECORDED

SCORED = {status.value for status in RECORDED}  # statuses whose score stands

# ---- Canvas: Gradebook > Import ----------------------------------------------------------------
# gradebook_importer.rb: the header's first cell must contain "Student" and the second "ID"; the
# optional "SIS User ID" + "SIS Login ID" pair (or "SIS Login ID" alone) follows, and the last
# student column must be "Section"; every later column is an assignment. A student is found by
# the ID column (Canvas' user id, the number in the "Download Submissions" file names), else by
# SIS User ID / SIS Login ID, else by name. An assignment column is matched by the id in
# "Title (id)" (Assignment.title_and_id), else by exact title, else Canvas CREATES a new
# assignment of that title. A first-cell "Points Possible" row sets points possible. Any other
# column that is neither a known read-only column ("Current Score", ...) nor a custom gradebook
# column becomes an assignment too: so lateness cannot go into this file (see lateness.csv).
# A blank score for a student who has one in Canvas counts as a change (the grade is cleared).
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "Points Possible"
CANVAS_NOTES = (
    "The assignment column header should be the Canvas assignment's title with its id in "
    "parentheses, e.g. 'Lab 5 (123456)' (the id is in the assignment's URL; the download does not "
    "contain it). With the title alone Canvas matches by exact title, and otherwise creates a new "
    "assignment. Students are matched on the Canvas user id only (SIS columns left empty). The "
    "Canvas assignment's points possible should equal the notebook's maximum score, or pass "
    "points_possible to rescale. Not confirmed against a Canvas guide page (read from Canvas' source).")

# ---- Canvas: Re-Upload Submissions -------------------------------------------------------------
# assignment.rb: every file of the zip whose base name, split at "_", has as its first two
# all-digit parts a user id and the id of a file that user submitted becomes an attachment of a
# submission comment ("See attached file"); other files are ignored. The attachment is shown
# under the display name of the SUBMITTED file (e.g. lab5-mixture-models.ipynb), whatever the
# uploaded file is called. So the feedback HTML reaches the student, but named like their
# notebook; Canvas has no other bulk feedback-file upload (found nothing). Say so in the README.
CANVAS_REUPLOAD_NOTE = (
    "Canvas 'Re-Upload Submissions' attaches each file to a submission comment but shows it under the "
    "name of the file the student submitted (lab5-mixture-models.ipynb), although it is the HTML feedback; "
    "no Canvas bulk upload that keeps the feedback file's own name was found. Anonymous-grading downloads "
    "(anon_<id>) carry no user id and cannot be imported or re-uploaded.")

# ---- Moodle: Upload grading worksheet (assignfeedback_offline) ---------------------------------
# importgradeslib.php: the header must have the columns get_string('recordid', 'assign') =
# "Identifier", get_string('grade') = "Grade" and get_string('lastmodifiedgrade', 'assign') =
# "Last modified (grade)" (any order; other columns are ignored); the identifier is
# get_string('hiddenuser', 'assign') = "Participant " + the participant id, the number in the
# "Download all submissions" folder names (assign::get_uniqueid_for_user). These strings are the
# site language's: an English Moodle is assumed. locallib.php: a row is skipped if its grade is
# blank, negative, above the assignment's maximum grade, equal to Moodle's, or if Moodle's grade
# was modified more than 60 s after "Last modified (grade)" (unless the instructor ticks "Ignore
# last modified date"); the column of a text feedback plugin, named by its pluginname (the
# comments plugin: "Feedback comments"), replaces that feedback text for every row.
MOODLE_WORKSHEET_HEADER = ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)",
                           "Late (hours)", "Late penalty (points)"]
MOODLE_IDENTIFIER_PREFIX = "Participant "
MOODLE_COMMENTS_COLUMN = "Feedback comments"
MOODLE_NOTES = (
    "Enable the feedback types 'Offline grading worksheet' (and 'Feedback files' for the zip) in the "
    "assignment's settings. The column names are English Moodle's; the assignment's maximum grade must be "
    "at least the notebook's maximum score (or pass max_grade to rescale). Moodle's gradebook import "
    "('Import > CSV file') is not supported: it matches users by user id, username, ID number or email "
    "(MoodleDocs 'Grade import', https://docs.moodle.org/27/en/Grade_import), and the download gives only "
    "the assignment's participant id, which is none of these.")

# ---- Moodle: Upload multiple feedback files in a zip (assignfeedback_file) ---------------------
# importziplib.php: each path part is split at "_" into at most 5 pieces; the first part with
# at least 4 pieces, a numeric 2nd piece that is a participant id of the assignment and a
# plugin type/name in pieces 3-4 (assignsubmission_file) names the student; the rest of the path
# is the feedback file's name. A file identical to one the student submitted (same name, same
# content) is skipped; a new or changed one is stored as a feedback file. The download's own
# folder names ("<Full Name>_<participant id>_assignsubmission_file[_]") are exactly that.


def identities_from_log(import_log):
    """student id -> identity, from the import log (a dict from read_import_log, or its path)."""
    from autograder.grade.importer import read_import_log

    log = import_log if isinstance(import_log, dict) else read_import_log(import_log)
    return {student: entry.get("identity") or {} for student, entry in log.items()}


def number_text(value, places=2):
    """A score as a CSV cell: '7.5', '10' (no float noise, dot decimal)."""
    text = f"{float(value or 0):.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def scaled(score, max_score, target=None):
    """``score`` out of ``max_score`` rescaled to ``target`` points (unchanged without a target)."""
    score = float(score or 0)
    if target is None or not max_score:
        return score
    return score * float(target) / float(max_score)


def stands(row):
    """True when this row's score stands and belongs in an LMS."""
    return row.get("status") in SCORED


def lateness(row, identity=None, duedate=None, grace_minutes=0.0):
    """Lateness of one row: seconds late (by the row's timestamp), beyond grace, LMS late flag.

    ``duedate`` is used when the row carries none (rows from the gradebook carry nbgrader's).
    ``late`` is True/False when a timestamp and due date are known, else Canvas' LATE marker
    (True) or None (unknown).
    """
    identity = identity or {}
    due = row.get("duedate") or duedate
    stamp = row.get("timestamp")
    late_seconds = seconds_late(stamp, due) if stamp and due else None
    if late_seconds is not None:
        late = not within_grace(late_seconds, grace_minutes)
    else:
        late = True if identity.get("late") else None
    return {"seconds_late": late_seconds, "late": late, "lms_late_flag": identity.get("late")}


def hours_text(seconds):
    return "" if seconds is None else number_text(seconds / 3600.0)


# ---- Canvas ------------------------------------------------------------------------------------
def canvas_gradebook_rows(rows, identities, assignment=ASSIGNMENT_ID, points_possible=None):
    """The Canvas import table (list of lists): header, Points Possible row, one row per student."""
    max_score = next((r.get("max_score") for r in rows if r.get("max_score")), None)
    points = points_possible if points_possible is not None else max_score
    table = [CANVAS_HEADER + [assignment], [CANVAS_POINTS_ROW, "", "", "", "", number_text(points)]]
    for row in rows:
        identity = identities.get(row["student_id"]) or {}
        if identity.get("layout") != CANVAS or not stands(row):
            continue
        score = scaled(row["score"], row.get("max_score"), points_possible)
        table.append([identity.get("name", ""), identity["lms_id"], "", "", "", number_text(score)])
    return table


def write_csv(table, path):
    """Write a list of lists as UTF-8 CSV (comma separated, minimal quoting)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(table)
    return path


def write_canvas_gradebook_csv(rows, identities, path, assignment=ASSIGNMENT_ID, points_possible=None):
    """Canvas Gradebook > Import CSV; ``assignment`` is the column header, ideally 'Title (id)'."""
    return write_csv(canvas_gradebook_rows(rows, identities, assignment, points_possible), path)


def feedback_files(feedback_root, student, assignment_id=ASSIGNMENT_ID):
    """The HTML feedback nbgrader generated for one student (``feedback/<id>/lab5/*.html``)."""
    folder = Path(feedback_root) / student / assignment_id
    return sorted(folder.glob("*.html")) if folder.is_dir() else []


def canvas_reupload_name(identity, feedback_name):
    """The zip entry name Canvas maps back to the student's submitted file: the download prefix
    ``<slug>_[LATE_]<user id>_<attachment id>_`` followed by the feedback file's name."""
    original = identity["original_name"]
    return original[: len(original) - len(identity["file_name"])] + feedback_name


def write_canvas_reupload_zip(identities, feedback_root, path, students=None):
    """Canvas 'Re-Upload Submissions' zip of the feedback HTML (see CANVAS_REUPLOAD_NOTE).

    Returns the entry names written (one file per student with feedback, flat).
    """
    return _write_feedback_zip(identities, feedback_root, path, CANVAS, canvas_reupload_name, students)


def _write_feedback_zip(identities, feedback_root, path, layout, entry_name, students=None):
    """Zip every feedback file of the students downloaded from ``layout`` (and in ``students``,
    when given) under ``entry_name(identity, feedback file name)``; returns the entry names."""
    names = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for student, identity in sorted(identities.items()):
            if identity.get("layout") != layout or (students is not None and student not in students):
                continue
            for html in feedback_files(feedback_root, student):
                name = entry_name(identity, html.name)
                archive.writestr(name, html.read_bytes())
                names.append(name)
    return names


# ---- Moodle ------------------------------------------------------------------------------------
def moodle_worksheet_rows(rows, identities, max_grade=None, modified=None, comments=None, duedate=None):
    """The grading-worksheet table: header, one row per student with a Moodle identity.

    ``modified``: the "Last modified (grade)" time (default now, so Moodle does not skip rows as
    stale). ``comments``: None for no "Feedback comments" column, else a function row -> text
    (it REPLACES the feedback comment of every row uploaded). ``duedate``: for rows without one.
    """
    modified = (modified or datetime.now(timezone.utc)).replace(microsecond=0).isoformat()
    header = MOODLE_WORKSHEET_HEADER + ([MOODLE_COMMENTS_COLUMN] if comments else [])
    table = [header]
    for row in rows:
        identity = identities.get(row["student_id"]) or {}
        if identity.get("layout") != MOODLE or not stands(row):
            continue
        late = lateness(row, identity, duedate)
        penalty = scaled(row.get("late_submission_penalty"), row.get("max_score"), max_grade)
        line = [MOODLE_IDENTIFIER_PREFIX + identity["lms_id"], identity.get("name", ""),
                number_text(scaled(row["score"], row.get("max_score"), max_grade)),
                number_text(max_grade if max_grade is not None else row.get("max_score")), modified,
                hours_text(late["seconds_late"]), number_text(penalty)]
        table.append(line + ([comments(row)] if comments else []))
    return table


def write_moodle_worksheet_csv(rows, identities, path, max_grade=None, modified=None, comments=None, duedate=None):
    """Moodle 'Upload grading worksheet' CSV (matched on 'Participant <id>')."""
    return write_csv(moodle_worksheet_rows(rows, identities, max_grade, modified, comments, duedate), path)


def write_moodle_feedback_zip(identities, feedback_root, path, students=None):
    """Moodle 'Upload multiple feedback files in a zip': ``<download folder>/<feedback>.html``.

    Returns the entry names written.
    """
    return _write_feedback_zip(identities, feedback_root, path, MOODLE,
                               lambda identity, name: f"{identity['original_name']}/{name}", students)


# ---- every student -----------------------------------------------------------------------------
LATENESS_HEADER = ["student_id", "layout", "lms_id", "name", "status", "timestamp", "duedate", "hours_late",
                   "late", "lms_late_flag", "raw_score", "late_submission_penalty", "score", "max_score"]


def lateness_rows(rows, identities, duedate=None, grace_minutes=0.0):
    """One row per grade row: when it came in, how late, the penalty and the score (all layouts)."""
    table = [LATENESS_HEADER]
    flag = {True: "yes", False: "no", None: ""}
    for row in rows:
        identity = identities.get(row["student_id"]) or {}
        late = lateness(row, identity, duedate, grace_minutes)
        table.append([row["student_id"], identity.get("layout", ""), identity.get("lms_id", ""),
                      identity.get("name", ""), row.get("status", ""), _text(row.get("timestamp")),
                      _text(row.get("duedate") or duedate), hours_text(late["seconds_late"]), flag[late["late"]],
                      flag[late["lms_late_flag"]], number_text(row.get("raw_score")),
                      number_text(row.get("late_submission_penalty")), number_text(row.get("score")),
                      number_text(row.get("max_score"))])
    return table


def _text(value):
    if value is None:
        return ""
    return value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)


def write_lms_exports(rows, identities, output_dir, feedback_root, canvas_assignment=ASSIGNMENT_ID,
                      canvas_points_possible=None, moodle_max_grade=None, policy=None):
    """Write every export that fits the layouts found among ``identities``; return name -> path.

    ``lateness.csv`` is always written; the Canvas files only when some student came from a
    Canvas download, the Moodle files only for Moodle downloads. ``policy``: a
    :class:`autograder.grade.lateness.LatePolicy` (due date for rows without one, grace period).
    """
    duedate = policy.duedate if policy else None
    grace_minutes = policy.grace.total_seconds() / 60.0 if policy else 0.0
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    layouts = {identity.get("layout") for identity in identities.values()}
    scored = {r["student_id"] for r in rows if stands(r)}
    written = {"lateness": write_csv(lateness_rows(rows, identities, duedate, grace_minutes),
                                     output_dir / "lateness.csv")}
    if CANVAS in layouts:
        written["canvas_gradebook"] = write_canvas_gradebook_csv(
            rows, identities, output_dir / "canvas-gradebook-import.csv", canvas_assignment, canvas_points_possible)
        written["canvas_reupload"] = output_dir / "canvas-reupload-submissions.zip"
        write_canvas_reupload_zip(identities, feedback_root, written["canvas_reupload"], scored)
    if MOODLE in layouts:
        written["moodle_worksheet"] = write_moodle_worksheet_csv(
            rows, identities, output_dir / "moodle-grading-worksheet.csv", moodle_max_grade, duedate=duedate)
        written["moodle_feedback"] = output_dir / "moodle-feedback-files.zip"
        write_moodle_feedback_zip(identities, feedback_root, written["moodle_feedback"], scored)
    return written
