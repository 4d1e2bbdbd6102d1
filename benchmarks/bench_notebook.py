"""The reference notebook, run top to bottom headless, against the lab sheet's code as written.

Both run in a real kernel with the inline backend (as nbgrader runs them), from a folder holding
the lab's data and image. The reference runs with its hidden tests, as the autograder runs it.
"""
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.course import COURSE_ROOT, NOTEBOOK_FILE, SOURCE_DIR
from benchmarks.harness import Row, median_of

SHEET_AS_WRITTEN = Path(__file__).with_name("sheet_as_written.ipynb")


def run_headless(notebook_path, workdir, timeout=1200):
    """Seconds to execute ``notebook_path`` in ``workdir`` with a fresh kernel (as nbgrader does)."""
    notebook = nbformat.read(notebook_path, as_version=4)
    env = {"PYTHONPATH": str(COURSE_ROOT), "NBGRADER_EXECUTION": "autograde"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        started = time.perf_counter()
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}).execute()
        return time.perf_counter() - started
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


def run(repeats):
    with tempfile.TemporaryDirectory(prefix="lab5-bench-") as scratch:
        workdir = Path(scratch) / "lab5"
        shutil.copytree(SOURCE_DIR, workdir, symlinks=False)
        reference, reference_runs = median_of(lambda: run_headless(SOURCE_DIR / NOTEBOOK_FILE, workdir), repeats)
        sheet, sheet_runs = median_of(lambda: run_headless(SHEET_AS_WRITTEN, workdir), repeats)
    return [Row("reference notebook, headless, with hidden tests", "s", reference, "sheet as written", sheet,
                runs=repeats, samples=reference_runs,
                note=f"runs: ours {[round(s, 1) for s in reference_runs]}, sheet {[round(s, 1) for s in sheet_runs]}; "
                     "budget: ours under 20 s on the 2-core machine")]
