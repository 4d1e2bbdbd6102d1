"""Closing the loop with the LMS: identities captured at import, grades and feedback packed back.

Each LMS gets a synthetic download in its own layout (bytes built here), imported with
``importer.import_submissions``; the identities go through the import log; the exports are then
read back the way the LMS reads them (the rules are those of the LMS source cited in
:mod:`autograder.grade.lms`). The late-penalty plugin is tested directly and through nbgrader's
own ``AssignLatePenalties`` on a real SQLite gradebook.
"""
import csv
import zipfile
from datetime import datetime, timedelta, timezone

import nbformat
import pytest
from traitlets.config import Config

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_FILE
from autograder.grade import gradebook as _fast_alembic  # noqa: F401  (gradebooks without `alembic heads`)
from autograder.grade import importer, lms
from autograder.grade.lateness import GracePeriodLatePenalty, late_policy, store_duedate

NOTEBOOK_STEM = NOTEBOOK_FILE[: -len(".ipynb")]
DUE = datetime(2025, 3, 14, 17, 0, 0)  # naive UTC, as nbgrader stores it


def notebook_bytes(text="x = 1"):
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])).encode()


def make_zip(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def import_download(tmp_path, entries):
    """Import a download into a fresh course; return (course, identities read back from the log)."""
    course = tmp_path / "course"
    outcomes = importer.import_submissions(make_zip(tmp_path / "download.zip", entries), course)
    log = course / ".grading" / "imports.json"
    importer.write_import_log(outcomes, log)
    return course, lms.identities_from_log(log), {o.student_id: o for o in outcomes}


def write_feedback(root, student, text):
    folder = root / student / ASSIGNMENT_ID
    folder.mkdir(parents=True)
    (folder / f"{NOTEBOOK_STEM}.html").write_text(f"<html>{text}</html>")


def row(student, score, status="graded", max_score=10.0, raw=None, penalty=0.0, timestamp="", duedate=None):
    return {"student_id": student, "score": score, "max_score": max_score, "raw_score": score if raw is None else raw,
            "late_submission_penalty": penalty, "timestamp": timestamp, "duedate": duedate, "status": status}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


# ---- how the LMS reads what we write (from its source; see autograder/grade/lms.py) ----------
def canvas_header_ok(header):
    """gradebook_importer.rb row_has_student_headers? / update_column_count with SIS columns."""
    return ("Student" in header[0] and "ID" in header[1] and header[2] == "SIS User ID"
            and header[3] == "SIS Login ID" and "Section" in header[4] and len(header) > 5)


def canvas_reupload_ids(entry_name):
    """assignment.rb infer_comment_context_from_filename: the first two all-digit '_' parts."""
    numbers = [part for part in entry_name.rsplit("/", 1)[-1].split("_") if part.isdigit()]
    return tuple(numbers[:2])


def moodle_feedback_target(entry_name):
    """importziplib.php is_valid_filename_for_import: (participant id, plugin, file name) or None."""
    parts = entry_name.split("/")
    while parts:
        info = parts.pop(0).split("_", 4)  # PHP explode('_', $part, 5)
        if len(info) < 4 or not info[1].isdigit():
            continue
        rest = [info[4] if len(info) == 5 else ""] + parts
        return info[1], f"{info[2]}_{info[3]}", "/".join(rest).lstrip("/")
    return None


# ---- Canvas ------------------------------------------------------------------------------------
CANVAS_DOWNLOAD = {
    f"lovelaceada_48213_991823_{NOTEBOOK_FILE}": notebook_bytes(),
    f"hoppergrace_LATE_50001_991900_{NOTEBOOK_FILE}": notebook_bytes(),
    f"turingalan_50002_991901_{NOTEBOOK_FILE}": b"{ not json",
}


def test_canvas_download_identities_survive_in_the_import_log(tmp_path):
    course, identities, outcomes = import_download(tmp_path, CANVAS_DOWNLOAD)
    assert set(identities) == {"48213", "50001", "50002"}
    ada, grace = identities["48213"], identities["50001"]
    assert ada == {"layout": "canvas", "lms_id": "48213", "name": "lovelaceada", "attachment_id": "991823",
                   "original_name": f"lovelaceada_48213_991823_{NOTEBOOK_FILE}", "file_name": NOTEBOOK_FILE,
                   "late": False, "path": f"lovelaceada_48213_991823_{NOTEBOOK_FILE}"}
    assert grace["late"] is True and grace["name"] == "hoppergrace" and grace["attachment_id"] == "991900"
    assert outcomes["50002"].status == "invalid" and identities["50002"]["lms_id"] == "50002"
    # A later import of other students keeps these identities (the log is merged per student).
    importer.write_import_log(importer.import_submissions(
        make_zip(tmp_path / "more.zip", {"zoe.ipynb": notebook_bytes()}), course), course / ".grading" / "imports.json")
    again = lms.identities_from_log(course / ".grading" / "imports.json")
    assert again["48213"] == ada and again["zoe"]["layout"] == "plain"


def test_canvas_exports_match_the_gradebook_import_and_reupload_formats(tmp_path):
    _, identities, _ = import_download(tmp_path, CANVAS_DOWNLOAD)
    feedback = tmp_path / "feedback"
    write_feedback(feedback, "48213", "ada")
    write_feedback(feedback, "50001", "grace")
    rows = [row("48213", 8.5), row("50001", 7.5, raw=9.0, penalty=1.5, timestamp=DUE + timedelta(hours=2.5),
                                   duedate=DUE), row("50002", 0.0, status="invalid")]
    written = lms.write_lms_exports(rows, identities, tmp_path / "out", feedback, canvas_assignment="Lab 5 (777)")
    assert set(written) == {"lateness", "canvas_gradebook", "canvas_reupload"}

    table = read_csv(written["canvas_gradebook"])
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 5 (777)"]
    assert canvas_header_ok(table[0])
    assert table[1][0] == "Points Possible" and table[1][5] == "10"
    scores = {line[1]: line[5] for line in table[2:]}
    assert scores == {"48213": "8.5", "50001": "7.5"}  # one row per standing score; the invalid one left out
    assert all(len(line) == len(table[0]) for line in table)

    with zipfile.ZipFile(written["canvas_reupload"]) as archive:
        names = sorted(archive.namelist())
        assert names == [f"hoppergrace_LATE_50001_991900_{NOTEBOOK_STEM}.html",
                         f"lovelaceada_48213_991823_{NOTEBOOK_STEM}.html"]
        assert archive.read(names[1]) == b"<html>ada</html>"
    assert {canvas_reupload_ids(n) for n in names} == {("50001", "991900"), ("48213", "991823")}

    late = {line[0]: dict(zip(lms.LATENESS_HEADER, line)) for line in read_csv(written["lateness"])[1:]}
    assert late["50001"]["hours_late"] == "2.5" and late["50001"]["late"] == "yes"
    assert late["50001"]["late_submission_penalty"] == "1.5" and late["50001"]["lms_late_flag"] == "yes"
    assert late["48213"]["hours_late"] == "" and late["48213"]["late"] == ""  # no timestamp, no LATE flag
    assert late["50002"]["status"] == "invalid"


def test_canvas_points_possible_rescales_the_score(tmp_path):
    identities = {"48213": {"layout": "canvas", "lms_id": "48213", "name": "lovelaceada"}}
    table = lms.canvas_gradebook_rows([row("48213", 8.5)], identities, "Lab 5", points_possible=20)
    assert table[1][5] == "20" and table[2][5] == "17"


# ---- Moodle ------------------------------------------------------------------------------------
MOODLE_DOWNLOAD = {
    f"Ada Lovelace_1234_assignsubmission_file_/{NOTEBOOK_FILE}": notebook_bytes(),  # Moodle < 4.1
    f"Grace Hopper_1240_assignsubmission_file/{NOTEBOOK_FILE}": notebook_bytes(),  # Moodle >= 4.1
    "Alan Turing_1250_assignsubmission_file_/notes.pdf": b"%PDF-1.4",
}


def test_moodle_download_identities_survive_in_the_import_log(tmp_path):
    _, identities, outcomes = import_download(tmp_path, MOODLE_DOWNLOAD)
    assert identities["1234"] == {"layout": "moodle", "lms_id": "1234", "name": "Ada Lovelace",
                                  "original_name": "Ada Lovelace_1234_assignsubmission_file_",
                                  "path": f"Ada Lovelace_1234_assignsubmission_file_/{NOTEBOOK_FILE}"}
    assert identities["1240"]["original_name"] == "Grace Hopper_1240_assignsubmission_file"
    assert outcomes["1250"].status == "invalid" and identities["1250"]["name"] == "Alan Turing"


def test_moodle_exports_match_the_worksheet_and_feedback_zip_formats(tmp_path):
    _, identities, _ = import_download(tmp_path, MOODLE_DOWNLOAD)
    feedback = tmp_path / "feedback"
    write_feedback(feedback, "1234", "ada")
    write_feedback(feedback, "1240", "grace")
    rows = [row("1234", 8.5), row("1240", 7.5, raw=9.0, penalty=1.5, timestamp=DUE + timedelta(hours=2.5),
                                  duedate=DUE), row("1250", 0.0, status="invalid")]
    before = datetime.now(timezone.utc).replace(microsecond=0)
    written = lms.write_lms_exports(rows, identities, tmp_path / "out", feedback)
    assert set(written) == {"lateness", "moodle_worksheet", "moodle_feedback"}

    table = read_csv(written["moodle_worksheet"])
    header = table[0]
    for required in ("Identifier", "Grade", "Last modified (grade)"):  # importgradeslib.php init()
        assert required in header
    by_id = {}
    for line in table[1:]:
        cells = dict(zip(header, line))
        assert cells["Identifier"].startswith("Participant ")
        by_id[cells["Identifier"][len("Participant "):]] = cells  # importgradeslib.php next()
        modified = datetime.fromisoformat(cells["Last modified (grade)"])
        assert before <= modified <= datetime.now(timezone.utc) + timedelta(seconds=1)  # never stale
    assert {k: v["Grade"] for k, v in by_id.items()} == {"1234": "8.5", "1240": "7.5"}
    assert by_id["1240"]["Late (hours)"] == "2.5" and by_id["1240"]["Late penalty (points)"] == "1.5"
    assert by_id["1234"]["Late (hours)"] == "" and by_id["1234"]["Full name"] == "Ada Lovelace"
    assert "Feedback comments" not in header  # would overwrite every comment: opt-in only

    with zipfile.ZipFile(written["moodle_feedback"]) as archive:
        names = sorted(archive.namelist())
        assert names == [f"Ada Lovelace_1234_assignsubmission_file_/{NOTEBOOK_STEM}.html",
                         f"Grace Hopper_1240_assignsubmission_file/{NOTEBOOK_STEM}.html"]
        assert archive.read(names[1]) == b"<html>grace</html>"
    assert [moodle_feedback_target(n) for n in names] == [
        ("1234", "assignsubmission_file", f"{NOTEBOOK_STEM}.html"),
        ("1240", "assignsubmission_file", f"{NOTEBOOK_STEM}.html")]


def test_moodle_feedback_comments_column_is_opt_in():
    identities = {"1234": {"layout": "moodle", "lms_id": "1234", "name": "Ada Lovelace"}}
    table = lms.moodle_worksheet_rows([row("1234", 8.5)], identities, max_grade=100,
                                      comments=lambda r: f"autograded: {r['score']}")
    cells = dict(zip(table[0], table[1]))
    assert cells["Feedback comments"] == "autograded: 8.5"
    assert cells["Grade"] == "85" and cells["Maximum Grade"] == "100"


# ---- nbgrader and plain layouts ----------------------------------------------------------------
def test_nbgrader_timestamp_and_plain_layouts_give_only_the_lateness_table(tmp_path):
    _, identities, _ = import_download(tmp_path, {
        f"ada/{ASSIGNMENT_ID}/{NOTEBOOK_FILE}": notebook_bytes(),
        f"ada/{ASSIGNMENT_ID}/timestamp.txt": b"2025-03-14 19:30:00.000000 UTC\n",
        "ben.ipynb": notebook_bytes()})
    assert identities["ada"]["layout"] == "nbgrader" and identities["ada"]["original_name"] == "ada"
    assert identities["ada"]["timestamp"] == "2025-03-14 19:30:00.000000 UTC"
    assert identities["ada"]["timestamp_source"] == "timestamp.txt"
    assert identities["ben"] == {"layout": "plain", "original_name": "ben.ipynb", "path": "ben.ipynb"}
    assert not importer.ZIP_MTIME_IS_SUBMISSION_TIME
    policy = late_policy(_config(duedate="2025-03-14 17:00:00 UTC", grace_period_minutes=15))
    rows = [row("ada", 9.0, timestamp=identities["ada"]["timestamp"]), row("ben", 5.0)]
    written = lms.write_lms_exports(rows, identities, tmp_path / "out", tmp_path / "feedback", policy=policy)
    assert set(written) == {"lateness"}
    late = {line[0]: dict(zip(lms.LATENESS_HEADER, line)) for line in read_csv(written["lateness"])[1:]}
    assert late["ada"]["hours_late"] == "2.5" and late["ada"]["late"] == "yes" and late["ada"]["layout"] == "nbgrader"
    assert late["ben"]["late"] == ""


# ---- the late-penalty plugin -------------------------------------------------------------------
def _config(**traits):
    config = Config()
    for name, value in traits.items():
        setattr(config.GracePeriodLatePenalty, name, value)
    return config


HOUR = 3600.0


@pytest.mark.parametrize("seconds_late,expected", [
    (0, None),                  # on time
    (10 * 60, None),            # within the grace period
    (15 * 60, None),            # at its very end
    (16 * 60, 1.0),             # just after: the first started hour, counted from the due date
    (3 * HOUR, 3.0),            # late by exactly 3 hours
    (3 * HOUR + 1, 4.0),        # a started fourth hour
    (20 * HOUR, 8.0),           # capped at the score (8)
])
def test_per_hour_penalty_after_a_grace_period(seconds_late, expected):
    plugin = GracePeriodLatePenalty(config=_config(penalty_method="per_hour", grace_period_minutes=15,
                                                   points_per_unit=1.0))
    assert plugin.late_submission_penalty("ada", 8.0, seconds_late) == expected


def test_fraction_per_day_cap_zero_and_no_rounding():
    per_day = GracePeriodLatePenalty(config=_config(penalty_method="per_day", fraction_per_unit=0.1))
    assert per_day.late_submission_penalty("ada", 8.0, 2.5 * 24 * HOUR) == pytest.approx(2.4)  # 3 started days
    capped = GracePeriodLatePenalty(config=_config(penalty_method="per_hour", points_per_unit=2.0,
                                                   max_penalty_fraction=0.5))
    assert capped.late_submission_penalty("ada", 8.0, 10 * HOUR) == 4.0
    exact = GracePeriodLatePenalty(config=_config(penalty_method="per_hour", points_per_unit=1.0, round_up=False))
    assert exact.late_submission_penalty("ada", 8.0, 2.5 * HOUR) == pytest.approx(2.5)
    zero = GracePeriodLatePenalty(config=_config(penalty_method="zero", grace_period_minutes=5))
    assert zero.late_submission_penalty("ada", 8.0, 4 * 60) is None
    assert zero.late_submission_penalty("ada", 8.0, 6 * 60) == 8.0
    assert GracePeriodLatePenalty().late_submission_penalty("ada", 8.0, 99 * HOUR) is None  # default: none


def test_late_policy_reads_the_due_date_and_grace_period():
    policy = late_policy(_config(duedate="2025-03-14 18:00:00 Europe/Berlin", grace_period_minutes=30))
    assert policy.duedate == DUE  # 18:00 CET is 17:00 UTC, naive as nbgrader stores it
    assert policy.grace == timedelta(minutes=30)
    assert not policy.is_late(DUE + timedelta(minutes=30)) and policy.is_late(DUE + timedelta(minutes=31))
    assert late_policy(Config()).duedate is None


SNIPPET = """
c = get_config()
c.AssignLatePenalties.plugin_class = "autograder.grade.lateness.GracePeriodLatePenalty"
c.GracePeriodLatePenalty.duedate = "2025-03-14 17:00:00 UTC"
c.GracePeriodLatePenalty.grace_period_minutes = 15
c.GracePeriodLatePenalty.penalty_method = "per_hour"
c.GracePeriodLatePenalty.points_per_unit = 1.0
"""


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's add_submission, not ours
@pytest.mark.parametrize("late,expected", [
    (timedelta(0), None),
    (timedelta(minutes=10), None),
    (timedelta(hours=3), 3.0),
    (timedelta(hours=30), 8.0),
])
def test_nbgrader_assign_late_penalties_uses_the_plugin_on_a_real_gradebook(tmp_path, late, expected):
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config.loader import PyFileConfigLoader

    (tmp_path / "nbgrader_config.py").write_text(SNIPPET)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        gb.add_assignment(ASSIGNMENT_ID)
        gb.add_notebook(NOTEBOOK_STEM, ASSIGNMENT_ID)
        gb.add_grade_cell("test_1", NOTEBOOK_STEM, ASSIGNMENT_ID, max_score=10, cell_type="code")
        gb.add_student("ada")
    store_duedate(db_url, late_policy(config).duedate)  # the due date from the config, into the gradebook
    with Gradebook(db_url) as gb:
        gb.add_submission(ASSIGNMENT_ID, "ada", timestamp=DUE + late)
        gb.find_grade("test_1", NOTEBOOK_STEM, ASSIGNMENT_ID, "ada").auto_score = 8.0
        gb.db.commit()
    penalties = AssignLatePenalties(config=config)
    penalties.preprocess(nbformat.v4.new_notebook(), {"nbgrader": {
        "notebook": NOTEBOOK_STEM, "assignment": ASSIGNMENT_ID, "student": "ada", "db_url": db_url}})
    assert isinstance(penalties.plugin_inst, GracePeriodLatePenalty)
    with Gradebook(db_url) as gb:
        submission = gb.find_submission(ASSIGNMENT_ID, "ada")
        assert submission.total_seconds_late == late.total_seconds()
        assert gb.find_submission_notebook(NOTEBOOK_STEM, ASSIGNMENT_ID, "ada").late_submission_penalty == expected
        assert submission.score - (submission.late_submission_penalty or 0) == 8.0 - (expected or 0)
