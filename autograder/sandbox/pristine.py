"""The pristine reference of the hidden tests' tamper guard, computed once per grading process.

``autograder.checks._guard`` compares the grading kernel with a fresh, isolated interpreter
(``python -I``) that imports the same modules: a replaced function fingerprints differently.
Starting that interpreter costs about 1.5 s of CPU, once per kernel, so once per submission.
A sandboxed kernel gets the same reference from its grader instead: the grading process runs
the fresh interpreter once (per kernel Python and course package) and the launcher binds the
result read-only at :data:`REFERENCE_PATH` inside the sandbox.

The kernel trusts that file only when it sits on a read-only mount and was made by its own
Python (``sys.prefix``) for its own ``autograder`` package; otherwise, e.g. in an unsandboxed
kernel, it starts the fresh interpreter itself as before. Standard library only: the grading
process must not import numpy or scikit-learn to use this.
"""
import json
import os
import subprocess

REFERENCE_PATH = "/run/autograder/pristine-fingerprints.json"

_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import autograder.checks  # imports every watched module, as the grading kernel does
from autograder.checks._guard import COURSE_ROOT, environment_fingerprints
sys.stdout.write(json.dumps({"prefix": sys.prefix, "course_root": str(COURSE_ROOT),
                             "fingerprints": environment_fingerprints()}))
"""


def compute(python, course_root, timeout=120):
    """``{"prefix", "course_root", "fingerprints"}`` from a new ``python -I`` importing ``course_root``'s package."""
    completed = subprocess.run([python, "-I", "-c", _SCRIPT, str(course_root)], capture_output=True,
                               text=True, timeout=timeout, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"reference interpreter failed: {completed.stderr.strip()[-500:]}")
    return json.loads(completed.stdout)


def read_trusted(prefix, course_root, path=REFERENCE_PATH):
    """The fingerprints bound in by the grader, or None when they are absent, writable or not ours."""
    try:
        if not os.statvfs(path).f_flag & os.ST_RDONLY:
            return None
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("prefix") != prefix or data.get("course_root") != str(course_root):
        return None
    return data.get("fingerprints")
