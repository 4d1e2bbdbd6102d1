"""nbgrader configuration for the lab5 course. The repository root is the course root.

Loaded by every nbgrader command run from this folder (CLI, formgrader, our ``./course grade``),
so what is set here protects a TA who runs plain ``nbgrader autograde lab5`` too.
"""
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

COURSE_ROOT = Path(__file__).resolve().parent
c.CourseDirectory.root = str(COURSE_ROOT)
c.CourseDirectory.course_id = "mixture-models"

# Hidden-test cells import the instructor-only ``autograder`` package: make the course root
# importable in every kernel nbgrader starts (kernels inherit this environment).
_pythonpath = os.environ.get("PYTHONPATH", "")
if str(COURSE_ROOT) not in _pythonpath.split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(COURSE_ROOT), _pythonpath) if p)

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
# the images or the widget module.

# ==== SANDBOX (code in autograder/sandbox and autograder/grade) ================================
# Every kernel nbgrader starts to autograde from this course root runs in a bubblewrap sandbox
# (no network, read-only system, no view of source/, the gradebook, other students or home
# folders; memory, CPU and process limits), survives crashes/timeouts/floods, and has its test
# cells guarded against tampering. This covers `./course grade`, plain `nbgrader autograde lab5`
# and the formgrader's autograde button. Where bwrap cannot run, grading goes on and every
# notebook logs a loud UNSANDBOXED warning (set GuardedExecute.require_sandbox = True to refuse).
if str(COURSE_ROOT) not in sys.path:
    sys.path.insert(0, str(COURSE_ROOT))
from nbgrader.converters import Autograde as _Autograde  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests as _ClearHiddenTests, Execute as _Execute  # noqa: E402

from autograder.sandbox.execute import GuardedExecute as _GuardedExecute  # noqa: E402
from autograder.grade.feedback import ScrubHiddenTestOutput as _ScrubHiddenTestOutput  # noqa: E402

c.Autograde.autograde_preprocessors = [
    _GuardedExecute if p is _Execute else p for p in _Autograde.class_traits()["autograde_preprocessors"].default()
]
c.GuardedExecute.notebook_timeout = 900  # wall-clock seconds for a whole notebook
c.SandboxedKernelManager.sandbox_memory_mb = 3072
c.SandboxedKernelManager.sandbox_max_processes = 64
c.SandboxedKernelManager.sandbox_cpu_share = 1.0
# Feedback shows no hidden tests: neither their source nor traceback lines/outputs quoting them.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    _ScrubHiddenTestOutput,
    _ClearHiddenTests,
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# ==== end of SANDBOX ==========================================================================
