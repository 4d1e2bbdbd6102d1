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
