"""The reference notebook, run top to bottom headless, against the lab sheet's code as written.

Both run in a real kernel with the inline backend (as nbgrader runs them), from a folder holding
the lab's data and image. The reference runs with its hidden tests, as the autograder runs it.
"""
import shutil
import tempfile
from pathlib import Path

from autograder.course import NOTEBOOK_FILE, SOURCE_DIR
from autograder.regenerate import execute_notebook
from benchmarks.harness import Row, median_of, seconds

SHEET_AS_WRITTEN = Path(__file__).with_name("sheet_as_written.ipynb")


def run_headless(notebook_path, workdir, timeout=1200):
    """Seconds to execute ``notebook_path`` in ``workdir`` with a fresh kernel, as nbgrader runs it."""
    return seconds(lambda: execute_notebook(notebook_path, timeout, workdir, execution="autograde"))


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
