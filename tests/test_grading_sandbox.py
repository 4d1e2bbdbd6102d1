"""The grading kernel's sandbox, on real kernels: isolation, limits, and the course config hook."""
import asyncio
import concurrent.futures
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "hostile"))
import corpus  # noqa: E402
from course_copy import course_copy, notebooks, write_submission  # noqa: E402
from kernel_session import KernelSession  # noqa: E402

from autograder.course import ASSIGNMENT_ID, COURSE_ROOT, NOTEBOOK_FILE, tool_environment  # noqa: E402
from autograder.checks._guard import UNVERIFIED  # noqa: E402
from autograder.sandbox import pristine  # noqa: E402
from autograder.sandbox.kernel import sandbox_problem  # noqa: E402


def _run_in_sandbox(code, timeout=60, pythonpath=COURSE_ROOT, launch="direct", **limits):
    """Execute ``code`` in a fresh sandboxed kernel; return (stdout text, error name or None).

    ``launch``: "direct" (launch.py starts the kernel) or "zygote" (forked by the zygote, which
    ``./course grade``'s workers use: the kernel must really come from it).
    """

    async def main():
        session = KernelSession(pythonpath, sandbox_zygote=launch == "zygote", **limits)
        try:
            await session.start()
            assert session.km.forked_from_zygote == (launch == "zygote")
            return await session.run(code, timeout=timeout)
        finally:
            await session.stop()

    # A fresh thread has no event loop of its own yet, whatever other tests left running here.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


@pytest.fixture(params=["direct", "zygote"])
def launch(request):
    """Each isolation test runs on a kernel started by launch.py and on one forked by the zygote."""
    return request.param


@pytest.fixture(autouse=True, scope="module")
def needs_sandbox():
    problem = sandbox_problem()
    assert problem is None, f"bwrap must work on the course machine: {problem}"


def test_kernel_sees_no_course_home_or_network(launch):
    code = f"""
import os, socket
print("course:", sorted(os.listdir({str(COURSE_ROOT)!r})))
print("home:", sorted(os.listdir({str(Path.home())!r})))
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    print("net: open")
except OSError as exc:
    print("net: closed", type(exc).__name__)
import autograder.checks  # the hidden tests still import the grading package
print("checks: ok")
"""
    out, error = _run_in_sandbox(code, launch=launch)
    assert error is None, out
    course_line = next(line for line in out.splitlines() if line.startswith("course:"))
    assert "gradebook.db" not in course_line and "source" not in course_line and "submitted" not in course_line
    assert "autograder" in course_line
    # The instructor's home is empty inside, apart from the folder holding Python itself (pyenv).
    home = Path(os.path.expanduser("~"))
    python_home = {Path(p).relative_to(home).parts[0] for p in (sys.base_prefix, sys.prefix)
                   if Path(p).is_relative_to(home)}
    secret = sorted(set(os.listdir(home)) - python_home)
    home_line = next(line for line in out.splitlines() if line.startswith("home:"))
    assert secret and not [name for name in secret if repr(name) in home_line], home_line
    assert "net: closed" in out and "checks: ok" in out


def test_kernel_cannot_write_outside_its_folder(launch):
    target = COURSE_ROOT / "sandbox-write-probe.txt"
    code = f"""
for path in [{str(target)!r}, "/usr/sandbox-write-probe.txt", "/etc/passwd"]:
    try:
        with open(path, "a") as fh:
            fh.write("x")
        print("wrote", path)
    except OSError as exc:
        print("refused", path, type(exc).__name__)
with open("own-file.txt", "w") as fh:
    fh.write("mine")
with open("/tmp/private.txt", "w") as fh:
    fh.write("mine")
print("own folder and /tmp: ok")
"""
    out, error = _run_in_sandbox(code, launch=launch)
    assert error is None, out
    assert not target.exists()
    assert "refused /usr/sandbox-write-probe.txt" in out and "refused /etc/passwd" in out
    assert "own folder and /tmp: ok" in out
    assert not Path("/tmp/private.txt").exists()


def test_fork_bomb_hits_the_process_limit_and_leaves_nothing_behind(launch):
    def host_processes():
        return len([p for p in os.listdir("/proc") if p.isdigit()])

    before = host_processes()
    code = """
import os, time
children = 0
try:
    while True:
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children += 1
except OSError as exc:
    print("stopped after", children, type(exc).__name__)
"""
    out, error = _run_in_sandbox(code, launch=launch, sandbox_max_processes=32)
    assert "stopped after" in out, (out, error)
    children = int(out.split("stopped after")[1].split()[0])
    assert 0 < children < 32
    # the sandbox is gone with the kernel: its sleeping children too
    for _ in range(50):
        if host_processes() <= before + 5:
            break
        import time

        time.sleep(0.2)
    assert host_processes() <= before + 5


def test_kernel_imports_the_graded_courses_package_not_the_rest_of_that_course(tmp_path, launch):
    """A course in a hidden folder (here /tmp) graded by this repository's grader: the kernel
    imports that course's ``autograder`` (the one its nbgrader_config.py puts on PYTHONPATH) and
    sees nothing else of it."""
    course = course_copy(tmp_path / "course")
    (course / "gradebook.db").write_text("not for students")
    code = f"""
import os, autograder.checks
print("package:", os.path.dirname(autograder.__file__))
print("course:", sorted(os.listdir({str(course)!r})))
"""
    out, error = _run_in_sandbox(code, pythonpath=course, launch=launch)
    assert error is None, out
    assert f"package: {course / 'autograder'}" in out
    assert "course: ['autograder']" in out


GUARD_WITHOUT_SUBPROCESSES = """
import subprocess, sys
def no_subprocess(*args, **kwargs):
    raise RuntimeError("no subprocess allowed in this test")
subprocess.run = no_subprocess  # the reference must come from the bound file, not a fresh interpreter
{tampering}
from autograder.checks import _guard
from autograder.sandbox import pristine
print("problems:", _guard.problems())
try:
    open(pristine.REFERENCE_PATH, "w")
    print("reference: writable")
except OSError as exc:
    print("reference: read-only", type(exc).__name__)
print("other python:", pristine.read_trusted("/some/other/prefix", _guard.COURSE_ROOT))
"""


@pytest.mark.parametrize("tampering, changed", [
    ("pass", None),
    ("import numpy; numpy.allclose = lambda *a, **k: True", "numpy.allclose"),
    ("import builtins; builtins.AssertionError = type('AssertionError', (Exception,), {})",
     "builtins.AssertionError"),
])
def test_tamper_guard_uses_the_graders_read_only_reference(tampering, changed, launch):
    """The guard's pristine reference is computed once by the grader and bound in read-only: the
    kernel needs no fresh interpreter of its own, and tampering before the first check still shows."""
    out, error = _run_in_sandbox(GUARD_WITHOUT_SUBPROCESSES.format(tampering=tampering), launch=launch)
    assert error is None, out
    problems = next(line for line in out.splitlines() if line.startswith("problems:"))
    if changed is None:
        assert problems == "problems: []"
    else:
        assert changed in problems and UNVERIFIED not in problems
    assert "reference: read-only" in out
    assert "other python: None" in out  # a reference made for another interpreter is not trusted


def test_reference_outside_the_sandbox_is_not_trusted(tmp_path):
    """A writable file (what a student could forge when grading runs unsandboxed) is ignored."""
    forged = tmp_path / "pristine.json"
    forged.write_text(json.dumps({"prefix": sys.prefix, "course_root": str(COURSE_ROOT), "fingerprints": {}}))
    assert pristine.read_trusted(sys.prefix, COURSE_ROOT, path=forged) is None


def test_memory_limit_turns_a_bomb_into_a_memory_error(launch):
    out, error = _run_in_sandbox("x = bytearray(6 * 1024 ** 3)", launch=launch, sandbox_memory_mb=2560)
    assert error == "MemoryError"


@pytest.mark.slow
def test_plain_nbgrader_autograde_from_the_course_root_is_sandboxed(tmp_path):
    """A TA who runs stock ``nbgrader autograde`` gets the sandbox through nbgrader_config.py."""
    course = course_copy(tmp_path / "course")
    source, release = notebooks(course)
    values = {"COURSE": course, "HOME": os.path.expanduser("~"), "PORT": 9, "HOST_IP": "127.0.0.1", "OTHER": "other"}
    write_submission(course, "other", corpus.buggy_notebook(source, release))
    write_submission(course, "ta_run", corpus.hostile_notebook("file_access", source, release, **values))
    env = tool_environment(PYTHONPATH="")
    for args in (["generate_assignment", ASSIGNMENT_ID, "--force"],
                 ["autograde", ASSIGNMENT_ID, "--student", "other", "--force"],
                 ["autograde", ASSIGNMENT_ID, "--student", "ta_run", "--force"]):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=ERROR"], cwd=course, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    notebook = nbformat.read(course / "autograded" / "ta_run" / ASSIGNMENT_ID / NOTEBOOK_FILE, as_version=4)
    assert notebook.metadata["autograder"]["sandboxed"] is True
    text = "".join(str(o.get("text", "")) for cell in notebook.cells if cell.cell_type == "code"
                   for o in cell.get("outputs", []))
    assert "SAFE read" in text and "LEAK" not in text
    assert f"SAFE read {course}/autograded/other/" in text  # another student's graded work exists, unseen


@pytest.mark.slow
def test_without_bwrap_grading_goes_on_and_says_so_loudly(tmp_path):
    course = course_copy(tmp_path / "course")
    source, release = notebooks(course)
    write_submission(course, "nobwrap", corpus.correct_notebook(source, release))
    env = tool_environment(PYTHONPATH=str(course))
    env["PATH"] = str(Path(sys.executable).parent)  # bwrap (in /usr/bin) cannot be found
    done = subprocess.run([sys.executable, "-m", "autograder.grade", "--course-root", str(course), "--no-progress",
                           "--no-feedback", "--workers", "1", "--cell-timeout", "30"], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "GRADING WITHOUT A SANDBOX" in done.stderr
    notebook = nbformat.read(course / "autograded" / "nobwrap" / ASSIGNMENT_ID / NOTEBOOK_FILE, as_version=4)
    assert notebook.metadata["autograder"]["sandboxed"] is False
    assert "graded" in done.stdout
