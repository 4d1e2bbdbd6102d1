"""nbgrader configuration for the lab5 course. The repository root is the course root.

Loaded by every nbgrader command run from this folder (CLI, formgrader, our ``./course grade``),
so what is set here protects a TA who runs plain ``nbgrader autograde lab5`` too. Classes are
named by import string (the formgrader serialises this configuration).
"""
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

COURSE_ROOT = Path(__file__).resolve().parent
c.CourseDirectory.root = str(COURSE_ROOT)
c.CourseDirectory.course_id = "mixture-models"
# This course's own grading code (the preprocessors named below), ahead of any other checkout's.
if str(COURSE_ROOT) not in sys.path:
    sys.path.insert(0, str(COURSE_ROOT))

# What a student sees in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The graded notebook must not need the internet or a display; give each cell room on a busy machine.
c.Execute.timeout = 60
c.Execute.kernel_name = "python3"

# A library warning on stderr must not zero a test cell (nbgrader scores any stderr output as a
# failure). Errors are separate outputs, so this can never turn a failing test into a pass.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?i)warning"

# nbgrader copies every file of source/lab5 over the submitted copy before grading (we keep that
# default: Autograde.exclude_overwriting stays empty), so a submission cannot replace the data,
# the images or the widget package.

# ==== DEADLINE: lateness and its penalty (autograder/grade/lateness.py) ======================
# ./course grade stores the due date in the gradebook; nbgrader's AssignLatePenalties asks this
# plugin for each late notebook's penalty. Submission times come from nbgrader's timestamp.txt
# (nbgrader collect, or the LMS download when it carries one). No due date: nothing is late.
c.AssignLatePenalties.plugin_class = "autograder.grade.lateness.GracePeriodLatePenalty"
c.GracePeriodLatePenalty.duedate = ""  # e.g. "2026-12-14 17:00:00 Europe/London"
c.GracePeriodLatePenalty.grace_period_minutes = 15  # this late still counts as on time
c.GracePeriodLatePenalty.penalty_method = "per_day"  # none | zero | per_hour | per_day
c.GracePeriodLatePenalty.fraction_per_unit = 0.1  # 10 % of the score per started day late
c.GracePeriodLatePenalty.max_penalty_fraction = 1.0
# ==== end of DEADLINE =========================================================================

# ==== SEALED GRADING (code in autograder/sandbox, autograder/verifier, autograder/grade) =======
# Every kernel nbgrader starts to autograde from this course root runs in a bubblewrap sandbox
# that holds nothing secret (no checks, no reference, no master notebook, no gradebook, no other
# student); the checks run in a verifier process outside it, and the verifier's record decides
# every autograded point. This covers `./course grade`, plain `nbgrader autograde lab5` and the
# formgrader's autograde button. Where bwrap cannot run, grading is refused unless
# c.SandboxedExecute.allow_unsandboxed = True says otherwise (and then it warns loudly).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "autograder.grade.repair.RepairCells",  # deleted, moved, duplicated or unlabelled cells, from the release
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "autograder.grade.metadata.CheckCellMetadataOnce",  # nbgrader's check, its schema compiled once
]
c.Autograde.autograde_preprocessors = [
    "autograder.sandbox.execute.SandboxedExecute",  # in place of nbgrader's Execute
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "autograder.verifier.record.ApplyVerifierRecord",  # the verifier's record decides, just before scoring
    "autograder.grade.gradebook.SaveAutoGradesAtOnce",  # nbgrader's SaveAutoGrades in one transaction
    "nbgrader.preprocessors.AssignLatePenalties",
    "autograder.grade.metadata.CheckCellMetadataOnce",  # nbgrader's check, its schema compiled once
]
# Feedback shows no hidden tests: neither their source nor any output quoting them.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.grade.feedback.ScrubHiddenTestOutput",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# ==== end of SEALED GRADING ===================================================================
