"""Importing an LMS download: student ids from every accepted layout, and every bad upload named."""
import zipfile

import nbformat
import pytest

from corpus import notebooks

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_FILE, RELEASE_DIR, SOURCE_DIR
from autograder.grade import importer


@pytest.fixture(scope="module")
def lab():
    return (nbformat.read(SOURCE_DIR / NOTEBOOK_FILE, as_version=4), nbformat.read(RELEASE_DIR / NOTEBOOK_FILE, as_version=4))


@pytest.mark.parametrize("path,student", [
    ("ada.ipynb", "ada"),
    (f"ada/{NOTEBOOK_FILE}", "ada"),
    (f"ada/{ASSIGNMENT_ID}/{NOTEBOOK_FILE}", "ada"),
    ("Ada Lovelace_s1234567_assignsubmission_file_/lab5-mixture-models.ipynb", "s1234567"),
    ("lovelaceada_late_48213_991823_lab5-mixture-models.ipynb", "48213"),
    (NOTEBOOK_FILE, None),
    ("lab5 (1).ipynb", None),
])
def test_student_id_from_each_layout(path, student):
    assert importer.student_of(path)[0] == student


def test_every_bad_upload_gets_its_own_message_and_the_batch_goes_on(tmp_path, lab):
    source, release = lab
    files, expected = notebooks.invalid_uploads(source, release)
    upload = tmp_path / "download.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("__MACOSX/._goodstudent.ipynb", b"junk")
    course = tmp_path / "course"
    outcomes = importer.import_submissions(upload, course)
    by_student = {o.student_id: o for o in outcomes}
    for student, (status, words) in expected.items():
        assert by_student[student].status == status, by_student[student]
        assert words in by_student[student].message
        written = course / "submitted" / student / ASSIGNMENT_ID / NOTEBOOK_FILE
        assert written.exists() == (status == "ok")
    assert [o.message for o in outcomes if not o.student_id] == [
        "cannot tell the student id from 'lab5 (1).ipynb'; name it <student id>.ipynb or "
        f"<student id>/{NOTEBOOK_FILE}"]


def test_an_invalid_reupload_removes_the_older_copy(tmp_path, lab):
    source, release = lab
    course = tmp_path / "course"
    good = tmp_path / "good"
    good.mkdir()
    (good / "zoe.ipynb").write_text(nbformat.writes(notebooks.correct_notebook(source, release)))
    importer.import_submissions(good, course)
    assert (course / "submitted" / "zoe" / ASSIGNMENT_ID / NOTEBOOK_FILE).exists()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "zoe.ipynb").write_text("{ not json")
    [outcome] = importer.import_submissions(bad, course)
    assert outcome.status == "invalid" and "invalid JSON" in outcome.message
    assert not (course / "submitted" / "zoe" / ASSIGNMENT_ID).exists()


def test_the_lms_layouts_are_nbgrader_collector_plugins():
    """The same naming rules serve ``nbgrader zip_collect`` (c.ZipCollectApp.collector_plugin)."""
    from nbgrader.plugins import FileNameCollectorPlugin

    moodle = importer.MoodleLayout().collect(f"Ada Lovelace_101_assignsubmission_file_/{NOTEBOOK_FILE}")
    canvas = importer.CanvasLayout().collect(f"lovelaceada_late_201_9001_{NOTEBOOK_FILE}")
    assert isinstance(importer.MoodleLayout(), FileNameCollectorPlugin)
    assert (moodle["student_id"], moodle["file_id"]) == ("101", NOTEBOOK_FILE)
    assert (canvas["student_id"], canvas["file_id"], canvas["late"]) == ("201", NOTEBOOK_FILE, "late")
    assert importer.CanvasLayout().collect("lovelaceada_201_9001_notes.pdf") is None  # not a notebook: skipped
