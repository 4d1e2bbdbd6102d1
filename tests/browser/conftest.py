"""Real JupyterLab + Debian chromium + Playwright, started by the tests themselves.

Everything runs in a temporary folder: the Lab root, its settings and workspaces, HOME, the
Jupyter/IPython/matplotlib config dirs and chromium's user-data-dir. The server listens on
127.0.0.1 on a free port with a random token. See ``/work/shared/notes/browser-testing.md``
for the traps these helpers avoid.

Shared here: :func:`running_lab` (a Lab server on any root, e.g. a course copy for the
formgrader), :func:`open_notebook`, and the ``page`` / ``screenshots`` fixtures.
"""
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.course import COURSE_ROOT, NOTEBOOK_FILE, RELEASE_DIR, SOURCE_DIR, tool_environment

ARTIFACTS = COURSE_ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Every host but this machine is mapped away: pages that ask a CDN for something (the formgrader's
# MathJax, fonts) fail at once instead of hanging offline.
BLOCK_OUTSIDE_HOSTS = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", BLOCK_OUTSIDE_HOSTS,
]
SERVER_START_TIMEOUT = 60  # seconds; about 5-8 s on this machine when idle
KERNEL_NAME = "Python 3 (ipykernel)"  # as the status bar names the default kernel

# Lab settings for a quiet, deterministic page: no news/update popups, and every cell kept in
# the DOM (JupyterLab 4 otherwise virtualises cells scrolled out of view, widgets included).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def ensure_chromium():
    """Install Debian's chromium if it is missing (``playwright install`` cannot download here)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() != 0:
        pytest.fail("Debian chromium is missing and we are not root: run `apt-get install chromium`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "fonts-dejavu-core"],
                   check=True, env=env)
    return CHROMIUM


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def strip_solution_markers(source):
    """A solution cell's code as a student who finished it would have it (marker lines removed)."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def release_notebook(scratch):
    """The released notebook: ``release/lab5`` if it has been generated, else made now by nbgrader."""
    released = RELEASE_DIR / NOTEBOOK_FILE
    if released.exists():
        return released
    from autograder.regenerate import generate_release, scratch_course

    (Path(scratch) / "course").mkdir()
    course = scratch_course(Path(scratch) / "course")
    return generate_release(course) / NOTEBOOK_FILE


def completed_notebook(release_path, source_path, destination):
    """The release notebook with every solution cell filled from the source: a finished student copy.

    Hidden tests are not in the release, so nothing here needs the instructor's ``autograder``.
    """
    release = nbformat.read(release_path, as_version=4)
    answers = {
        cell.metadata["nbgrader"]["grade_id"]: strip_solution_markers(cell.source)
        for cell in nbformat.read(source_path, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code"
    }
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in answers:
            cell.source = answers[grade_id]
    nbformat.write(release, destination)
    return destination


def wait_for_server(url, process, timeout=SERVER_START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout} s")


@pytest.fixture(scope="package")
def browser_tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="package")
def lab_root(browser_tmp):
    """The Lab's root: the release files, the widget package under test, and two notebooks.

    * ``completed.ipynb``: the release with its solution cells filled from source (a finished lab);
    * ``release.ipynb``: the release exactly as students get it (every graded function raises).
    """
    root = browser_tmp / "lab"
    root.mkdir()
    released = release_notebook(browser_tmp)
    for name in ("data", "images"):
        folder = released.parent / name
        if not folder.exists():  # an ungenerated release: take the source's (links resolved)
            folder = SOURCE_DIR / name
        shutil.copytree(folder, root / name, symlinks=False)
    # The package and modules under test are the source's (the release copy may predate the last edit).
    shutil.copytree(SOURCE_DIR / "lab5_widgets", root / "lab5_widgets", ignore=shutil.ignore_patterns("__pycache__"))
    for module in SOURCE_DIR.glob("lab5_*.py"):  # lab5_quick_checks.py: the summary the last cell shows
        shutil.copy2(module, root / module.name)
    completed_notebook(released, SOURCE_DIR / NOTEBOOK_FILE, root / "completed.ipynb")
    shutil.copy2(released, root / "release.ipynb")
    return root


@contextlib.contextmanager
def running_lab(folder, root, cwd=None):
    """A real JupyterLab server on 127.0.0.1 serving ``root``; its settings, workspaces, home and
    log (``jupyterlab.log``) in ``folder``. ``cwd``: where it runs (default ``root``); nbgrader's
    server extensions read the ``nbgrader_config.py`` found there.

    Yields ``{"base", "token", "log", "root"}``.
    """
    folder = Path(folder)
    home, settings, workspaces = folder / "home", folder / "settings", folder / "workspaces"
    for relative, values in LAB_SETTINGS.items():
        path = settings / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    workspaces.mkdir(parents=True)
    home.mkdir()
    env = tool_environment(
        HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"), XDG_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"), JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime/jupyter"), IPYTHONDIR=str(home / ".ipython"),
        MPLCONFIGDIR=str(home / ".config/matplotlib"), JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(workspaces),
    )
    env.pop("NBGRADER_EXECUTION", None)  # the widgets must show; Validate sets its own
    env.pop("MPLBACKEND", None)
    port, token = free_port(), secrets.token_hex(16)
    log_path = folder / "jupyterlab.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={workspaces}", "--LabServerApp.open_browser=False"],
        cwd=cwd or root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(f"{base}/api/status?token={token}", process)
        yield {"base": base, "token": token, "log": log_path, "root": Path(root)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="package")
def lab_server(browser_tmp, lab_root):
    """A real JupyterLab server on 127.0.0.1 with its own settings, workspaces and home."""
    with running_lab(browser_tmp / "lab-server", lab_root) as server:
        yield server


@pytest.fixture(scope="package")
def browser_context(browser_tmp):
    """Debian chromium driven by Playwright, with a fresh user-data-dir."""
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(browser_tmp / "chromium-profile"), executable_path=executable, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the test item, so fixtures can react to a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(request, browser_context, screenshots):
    """A fresh tab; on failure the whole page is saved as ``<test name>-FAILED.png`` to look at."""
    page = browser_context.new_page()
    page.set_default_timeout(30_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(screenshots / f"{request.node.name}-FAILED.png"), full_page=True)
    page.close()


@pytest.fixture(scope="package")
def screenshots():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def open_notebook(page, server, name, timeout=60_000):
    """Open a notebook alone in its own workspace and wait until its kernel is really idle.

    A workspace per notebook: otherwise Lab reopens the previous test's tabs, and prompts or
    status texts of another notebook could satisfy the waits below. "Run All" clicked while the
    kernel starts is silently dropped, hence the wait for the status bar.
    """
    workspace = re.sub(r"[^A-Za-z0-9_-]", "-", name.replace(".ipynb", ""))
    page.goto(f"{server['base']}/lab/workspaces/{workspace}/tree/{name}?reset&token={server['token']}")
    page.locator(".jp-Notebook").first.wait_for(state="visible", timeout=timeout)
    page.locator("#jp-main-statusbar").get_by_text(re.compile(rf"{re.escape(KERNEL_NAME)} \| Idle")).wait_for(
        timeout=timeout)
    assert page.locator(".jp-NotebookPanel").count() == 1
