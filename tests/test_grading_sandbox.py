"""The grading kernel's sandbox, on real kernels: it holds nothing secret, and it is contained.

Its filesystem is an allow-list (``autograder/sandbox/launch.py``): these tests plant secrets where
a shared server keeps them (other courses under /srv and /opt, nbgrader's exchange, /var) and look
at everything a kernel can read. Every isolation test runs on both kernel launches: the one
``launch.py`` starts and the one forked by the zygote (``./course grade``'s workers use it).
"""
import asyncio
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from corpus import notebooks
from corpus.courses import autograded_points, course_copy, source_and_release, write_submission
from corpus.kernels import KernelSession

from autograder.client.lab5_grader import SOCKET_ENV
from autograder.course import ASSIGNMENT_ID, COURSE_ROOT, NOTEBOOK_FILE, tool_environment
from autograder.sandbox.launch import CLIENT_DIR, CLIENT_FILE
from autograder.sandbox.provisioner import sandbox_problem

# Where a JupyterHub server keeps what no student may see: other courses, the exchange, state.
PLANTED = {
    "/srv/lab5-planted/other-course/source/exam/exam.ipynb": "planted: another course's exam",
    "/srv/nbgrader/exchange/mixture-models/inbound/other+lab5+2026-11-30 10:00:00.000000 UTC/lab5-mixture-models.ipynb":
        "planted: another student's inbound submission",
    "/opt/lab5-planted/course/gradebook.db": "planted: a gradebook",
    "/var/lib/lab5-planted/secret.txt": "planted: server state",
}


def _run_in_sandbox(code, timeout=120, launch="sandbox", env=None, **limits):
    """Execute ``code`` in a fresh grading kernel; return (stdout text, error name or None)."""

    async def main():
        session = KernelSession(launch, env=env, **limits)
        try:
            await session.start()
            assert session.forked == (launch == "zygote")
            return await session.run(code, timeout=timeout)
        finally:
            await session.stop()

    # A fresh thread has no event loop of its own yet, whatever other tests left running here.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


@pytest.fixture(params=["sandbox", "zygote"])
def launch(request):
    """Each isolation test runs on a kernel started by launch.py and on one forked by the zygote."""
    return request.param


@pytest.fixture(autouse=True, scope="module")
def needs_sandbox():
    problem = sandbox_problem()
    assert problem is None, f"bwrap must work on the course machine: {problem}"


@pytest.fixture(scope="module")
def planted():
    """Secret files in the shared server's usual places (removed afterwards)."""
    made = []
    for path, text in PLANTED.items():
        target = Path(path)
        top = Path(*target.parts[:3])
        if not top.exists():
            made.append(top)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    host_tmp = Path("/tmp/lab5-planted-host-tmp.txt")
    host_tmp.write_text("planted: the grader's /tmp")
    yield [*PLANTED, str(host_tmp)]
    host_tmp.unlink()
    for top in made:
        shutil.rmtree(top, ignore_errors=True)
    shutil.rmtree("/srv/nbgrader/exchange/mixture-models", ignore_errors=True)


def test_kernel_can_neither_list_nor_read_any_planted_secret(planted, launch):
    probes = sorted({str(Path(p).parent) for p in planted} | {"/srv", "/opt", "/var", "/home", "/root", str(COURSE_ROOT)})
    code = f"""
import os
for folder in {probes!r}:
    try:
        print("LISTED", folder, sorted(os.listdir(folder)))
    except OSError as exc:
        print("HIDDEN", folder, type(exc).__name__)
for path in {planted!r}:
    try:
        print("LEAK", path, open(path).read())
    except OSError as exc:
        print("SAFE", path, type(exc).__name__)
"""
    out, error = _run_in_sandbox(code, launch=launch)
    assert error is None, out
    assert "LEAK" not in out and "planted:" not in out, out
    assert out.count("SAFE") == len(planted)
    listed = {line.split()[1]: eval(line.split(" ", 2)[2]) for line in out.splitlines() if line.startswith("LISTED")}
    # Only the grading client's folder exists under /opt; /srv and /var do not exist at all; of /home,
    # /root and the course folder only the way to the Python environment (pyenv under /root, .venv).
    assert listed.get("/opt") == ["lab5-grader"], listed
    assert not {"/srv", "/var"} & set(listed), listed
    python_parts = {part for prefix in (sys.prefix, sys.base_prefix) for part in Path(prefix).parts}
    for folder in ("/home", "/root", str(COURSE_ROOT)):
        assert set(listed.get(folder, [])) <= python_parts, (folder, listed.get(folder))


def test_every_readable_file_is_the_system_the_python_environment_or_the_kernels_own(launch):
    """Walk everything the kernel can read: nothing of the course's source/, solutions/ or
    autograder/ is there but the client, and outside /usr and Python nothing unexpected."""
    code = """
import os, sys, json
prefixes = sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
found = []
for top in ("/",):
    for folder, dirs, files in os.walk(top):
        if folder in ("/proc", "/sys", "/dev"):
            dirs[:] = []
            continue
        for name in files:
            path = os.path.join(folder, name)
            if os.access(path, os.R_OK) and not path.startswith("/usr/") and not any(path.startswith(p + "/") for p in prefixes):
                found.append(path)
print(json.dumps({"prefixes": prefixes, "cwd": os.getcwd(), "found": found}))
"""
    out, error = _run_in_sandbox(code, launch=launch)
    assert error is None, out
    seen = json.loads(out.strip().splitlines()[-1])
    course_files = [p for p in seen["found"] if p.startswith(str(COURSE_ROOT) + "/")]
    assert course_files == [], course_files[:10]
    allowed = (seen["cwd"] + "/", "/etc/", f"{CLIENT_DIR}/", "/tmp/")
    unexpected = [p for p in seen["found"] if not p.startswith(allowed)]
    # the kernel's own socket folder (its connection file, the verifier's socket) is the only other place
    assert all(os.path.basename(os.path.dirname(p)).startswith("k") for p in unexpected), unexpected[:10]
    assert [p for p in seen["found"] if p.startswith(CLIENT_DIR)] == [f"{CLIENT_DIR}/lab5_grader.py"]
    etc = sorted(p for p in seen["found"] if p.startswith("/etc/"))
    assert "/etc/passwd" not in etc and "/etc/shadow" not in etc and "/etc/ssh" not in str(etc)
    for prefix in seen["prefixes"]:  # the Python environment: none of it inside the course but .venv
        assert not prefix.startswith(str(COURSE_ROOT)) or prefix.startswith(str(COURSE_ROOT / ".venv")), prefix


def test_kernel_cannot_read_the_notebook_it_runs(launch):
    """The graded notebook in its folder holds the test cells' hidden parts: it reads as empty."""

    async def main():
        session = KernelSession(launch)
        Path(session.workdir, "graded.ipynb").write_text('{"cells": ["### BEGIN HIDDEN TESTS"]}')
        Path(session.workdir, "data.txt").write_text("released data")
        try:
            await session.start()
            return await session.run("print(repr(open('graded.ipynb').read()), repr(open('data.txt').read()))")
        finally:
            await session.stop()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        out, error = pool.submit(asyncio.run, main()).result()
    assert error is None and out.strip() == "'' 'released data'", out


def test_kernel_environment_is_an_allow_list(launch):
    env = dict(os.environ, LAB5_TEST_SECRET="hunter2", PGPASSWORD="hunter2")
    code = "import os, json; print(json.dumps(dict(os.environ)))"
    out, error = _run_in_sandbox(code, launch=launch, env=env)
    assert error is None, out
    seen = json.loads(out.strip().splitlines()[-1])
    assert "hunter2" not in out
    assert seen["PYTHONPATH"] == CLIENT_DIR and seen[SOCKET_ENV].endswith("/grader")
    assert open(CLIENT_FILE).read()  # the file the kernel imports is the client in this repository


def test_kernel_has_no_network(launch):
    code = """
import socket
for host, port in (("127.0.0.1", 22), ("8.8.8.8", 53)):
    try:
        socket.create_connection((host, port), timeout=2).close()
        print("net: open", host)
    except OSError as exc:
        print("net: closed", host, type(exc).__name__)
"""
    out, error = _run_in_sandbox(code, launch=launch)
    assert error is None and "net: open" not in out and out.count("net: closed") == 2, out


def test_kernel_cannot_write_outside_its_folder(launch):
    target = COURSE_ROOT / "sandbox-write-probe.txt"
    code = f"""
for path in [{str(target)!r}, "/usr/sandbox-write-probe.txt", "/etc/hosts", "{CLIENT_DIR}/lab5_grader.py"]:
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
    assert not target.exists() and "wrote" not in out, out
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
    out, error = _run_in_sandbox(code, launch=launch, max_processes=32)
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


def test_memory_limit_turns_a_bomb_into_a_memory_error(launch):
    out, error = _run_in_sandbox("x = bytearray(6 * 1024 ** 3)", launch=launch, memory_mb=2560)
    assert error == "MemoryError"


def _nbgrader(course, python, *args, env=None):
    return subprocess.run([python, "-m", "nbgrader", *args, "--log-level=ERROR"], cwd=course,
                          env=env or tool_environment(), capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_plain_nbgrader_autograde_from_the_course_root_is_sandboxed_and_verified(tmp_path):
    """A TA who runs stock ``nbgrader autograde`` gets the sandbox and the verifier through nbgrader_config.py."""
    course = course_copy(tmp_path / "course")
    source, release = source_and_release(course)
    values = {"COURSE": course, "HOME": os.path.expanduser("~"), "PORT": 9, "HOST_IP": "127.0.0.1", "OTHER": "other"}
    write_submission(course, "other", notebooks.buggy_notebook(source, release))
    write_submission(course, "ta_run", notebooks.hostile_notebook("file_access", source, release, **values))
    for args in (["generate_assignment", ASSIGNMENT_ID, "--force"], ["autograde", ASSIGNMENT_ID, "--student", "other"],
                 ["autograde", ASSIGNMENT_ID, "--student", "ta_run"]):
        done = _nbgrader(course, sys.executable, *args)
        assert done.returncode == 0, done.stderr[-2000:]
    notebook = nbformat.read(course / "autograded" / "ta_run" / ASSIGNMENT_ID / NOTEBOOK_FILE, as_version=4)
    meta = notebook.metadata["autograder"]
    assert meta["sandboxed"] is True and len(meta["verifier"]["cells"]) == len(
        [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"])
    text = "".join(str(o.get("text", "")) for cell in notebook.cells if cell.cell_type == "code"
                   for o in cell.get("outputs", []))
    assert "SAFE read" in text and "LEAK" not in text
    assert f"SAFE read {course}/autograded/other/" in text  # another student's graded work exists, unseen


@pytest.mark.slow
def test_a_venv_reached_through_a_symlink_grades_like_any_other(tmp_path):
    """A shared environment linked into place (a common setup) must not fail every submission."""
    course = course_copy(tmp_path / "course")
    source, release = source_and_release(course)
    write_submission(course, "linked", notebooks.correct_notebook(source, release))
    link = tmp_path / "shared-env"
    link.symlink_to(Path(sys.prefix))
    python = str(link / "bin" / "python")
    env = tool_environment()
    env["PATH"] = os.pathsep.join([str(link / "bin"), env["PATH"]])
    for args in (["generate_assignment", ASSIGNMENT_ID, "--force"], ["autograde", ASSIGNMENT_ID, "--student", "linked"]):
        done = _nbgrader(course, python, *args, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
    notebook = nbformat.read(course / "autograded" / "linked" / ASSIGNMENT_ID / NOTEBOOK_FILE, as_version=4)
    assert notebook.metadata["autograder"]["sandboxed"] is True
    from nbgrader import utils

    scores = [utils.determine_grade(c) for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    assert sum(s for s, _ in scores) == autograded_points(source)


@pytest.mark.slow
def test_without_bwrap_grading_is_refused_unless_the_instructor_says_otherwise(tmp_path):
    course = course_copy(tmp_path / "course")
    source, release = source_and_release(course)
    write_submission(course, "nobwrap", notebooks.correct_notebook(source, release))
    env = tool_environment(PYTHONPATH=str(course))
    env["PATH"] = str(Path(sys.executable).parent)  # bwrap (in /usr/bin) cannot be found
    command = [sys.executable, "-m", "autograder.grade", "--course-root", str(course), "--no-progress", "--no-feedback",
               "--workers", "1", "--cell-timeout", "30"]
    refused = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "refusing to grade without a sandbox" in refused.stderr
    assert "apt-get install bubblewrap" in refused.stderr and "--unsandboxed" in refused.stderr
    assert not (course / "autograded").exists()
    done = subprocess.run(command + ["--unsandboxed"], cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "GRADING WITHOUT A SANDBOX" in done.stderr
    notebook = nbformat.read(course / "autograded" / "nobwrap" / ASSIGNMENT_ID / NOTEBOOK_FILE, as_version=4)
    assert notebook.metadata["autograder"]["sandboxed"] is False
    assert "graded" in done.stdout
    # plain nbgrader refuses too, with the reason in its log
    plain = _nbgrader(course, sys.executable, "autograde", ASSIGNMENT_ID, "--student", "nobwrap", "--force", env=env)
    assert "refusing to grade without a sandbox" in plain.stderr
