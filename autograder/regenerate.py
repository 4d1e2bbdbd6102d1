"""Rebuild the generated parts of the course from ``source/``: ``./course regenerate``.

* ``source/lab5/data/lab5_points.npz`` — the lab's fixed data set (from ``autograder.lab``);
* ``release/lab5/`` — the student version, made by the real ``nbgrader generate_assignment``;
* ``solutions/lab5/`` — the source notebook executed top to bottom (outputs kept), and its HTML;
* ``demo/submissions/`` — the bundled demo class, answered from the release (``autograder.demo_submissions``);
* ``source/lab5-mixture-models.py`` — the master notebook as a jupytext percent script (nbgrader's
  metadata included), so that its changes read as a text diff in review. The notebook is the one
  to edit; the script sits outside ``source/lab5`` because nbgrader releases every file in there.

Everything is built in a scratch copy of the course, so the course's own gradebook is never
touched, and then moved into place. ``--check`` builds into a scratch folder and reports drift
instead (the drift test uses the same functions).
"""
import argparse
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course import (
    ASSIGNMENT_ID,
    COURSE_ROOT,
    LAB_DATA_RELPATH,
    NOTEBOOK_FILE,
    tool_environment,
)
from autograder.demo_submissions import write_demo_submissions
from autograder.lab import write_lab_points

# What a scratch course needs: the config, the source assignment and what its symlinks point to.
COURSE_FILES = ("nbgrader_config.py", "source", "images", "autograder")


def nbgrader_command(*args):
    """The real nbgrader CLI of this environment."""
    return [sys.executable, "-m", "nbgrader", *args]


def scratch_course(destination):
    """Copy the parts of the course that nbgrader needs into ``destination`` (symlinks kept as links)."""
    destination = Path(destination)
    for name in COURSE_FILES:
        source = COURSE_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            shutil.copy2(source, destination / name)
    return destination


def generate_release(course_root):
    """Run ``nbgrader generate_assignment`` in ``course_root``; returns the release folder."""
    subprocess.run(
        nbgrader_command("generate_assignment", ASSIGNMENT_ID, "--force", "--log-level=WARN",
                         f"--CourseDirectory.db_url=sqlite:///{Path(course_root) / 'gradebook.db'}"),
        cwd=course_root, check=True, env=tool_environment(),
    )
    return Path(course_root) / "release" / ASSIGNMENT_ID


def execute_notebook(notebook_path, timeout=120, workdir=None, execution="solutions"):
    """Execute a notebook as grading does (a grading kernel, the verifier answering its hidden
    tests), in its own folder or ``workdir``; returns it executed.

    ``execution`` is what the kernel sees as NBGRADER_EXECUTION: any value makes it a headless run,
    like nbgrader's own, so the notebook skips its live widgets (whose outputs would only be
    random model ids without a browser). The master notebook is our own code, so it may run
    unsandboxed where bwrap cannot run.
    """
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    from autograder.sandbox.execute import SandboxedExecute

    notebook = nbformat.read(notebook_path, as_version=4)
    saved = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = execution
    try:
        SandboxedExecute(timeout=timeout, allow_unsandboxed=True, kernel_name="python3").preprocess(
            notebook, {"metadata": {"path": str(workdir or Path(notebook_path).parent)}})
    finally:
        if saved is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = saved
    coalesce_streams = CoalesceStreamsPreprocessor()
    notebook.metadata.pop("autograder", None)  # how this run went: not part of the solutions
    for cell in notebook.cells:
        # Timings, and how output happened to be split into messages, differ from run to run;
        # they would make every regeneration a diff.
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            coalesce_streams.preprocess_cell(cell, {}, 0)
    return notebook


def build_solutions(course_root):
    """Execute the source notebook (solutions and hidden tests included) and render it as HTML."""
    from nbconvert import HTMLExporter

    course_root = Path(course_root)
    solutions = course_root / "solutions" / ASSIGNMENT_ID
    solutions.mkdir(parents=True, exist_ok=True)
    # Run in a copy of the assignment with its links resolved (the images are links into images/),
    # as grading does: the kernel sees its own folder only.
    with tempfile.TemporaryDirectory(prefix="lab5-solutions-") as scratch:
        workdir = Path(scratch) / ASSIGNMENT_ID
        shutil.copytree(course_root / "source" / ASSIGNMENT_ID, workdir, symlinks=False,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        executed = execute_notebook(workdir / NOTEBOOK_FILE)
    nbformat.write(executed, solutions / NOTEBOOK_FILE)
    html, _ = HTMLExporter().from_notebook_node(executed)
    (solutions / NOTEBOOK_FILE.replace(".ipynb", ".html")).write_text(html, encoding="utf-8")
    return solutions


SCRIPT = Path("source") / NOTEBOOK_FILE.replace(".ipynb", ".py")


def write_script(course_root):
    """The master notebook as a jupytext percent script (see the module docstring); returns its path."""
    import jupytext

    path = Path(course_root) / SCRIPT
    jupytext.write(nbformat.read(Path(course_root) / "source" / ASSIGNMENT_ID / NOTEBOOK_FILE, as_version=4), path,
                   fmt="py:percent")
    return path


def build_all(scratch):
    """Build data, release, demo class, solutions and the notebook's script inside the scratch course ``scratch``."""
    write_lab_points(Path(scratch) / "source" / ASSIGNMENT_ID / LAB_DATA_RELPATH)
    release = generate_release(scratch)
    demo = Path(scratch) / "demo" / "submissions"
    write_demo_submissions(Path(scratch) / "source" / ASSIGNMENT_ID / NOTEBOOK_FILE, release / NOTEBOOK_FILE, demo)
    solutions = build_solutions(scratch)
    write_script(scratch)
    return release, solutions, demo


NUMBER = re.compile(r"-?\d+\.\d*(?:[eE][-+]?\d+)?|-?\d+[eE][-+]?\d+")
DATA_URI_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\s]+)")


def _number_as_read(match):
    """A printed float as a reader compares it: 4 significant digits, rounding noise below 1e-6 as 0."""
    value = float(match.group(0))
    return "0" if abs(value) < 1e-6 else f"{value:.4g}"


def _png_size(data):
    """(width, height) of a base64 PNG, from its header."""
    import base64
    import struct

    header = base64.b64decode("".join(data.split())[:44])  # signature and IHDR: 33 bytes
    return struct.unpack(">II", header[16:24]) if header[:8] == b"\x89PNG\r\n\x1a\n" else (0, 0)


def readable(text):
    """What a person reads in a generated text file: numbers as printed (to 4 significant digits),
    images as their size (PNG bytes differ in their last bits from one CPU or BLAS to another)."""
    text = DATA_URI_PNG.sub(lambda m: "[image {}x{}]".format(*_png_size(m.group(1))), text)
    return NUMBER.sub(_number_as_read, text)


def readable_notebook(path):
    """A notebook as a person reads it: cell sources, text outputs (see :func:`readable`), image sizes."""
    cells = []
    for cell in nbformat.read(path, as_version=4).cells:
        outputs = []
        for output in cell.get("outputs", []):
            data = dict(output.get("data", {}))
            if "image/png" in data:
                data["image/png"] = "[image {}x{}]".format(*_png_size(data["image/png"]))
            outputs.append(readable(json.dumps({"type": output.get("output_type"), "text": output.get("text", ""),
                                                "ename": output.get("ename"), "evalue": output.get("evalue"),
                                                "data": {k: v for k, v in data.items() if not k.startswith("application/vnd")}},
                                               sort_keys=True)))
        cells.append((cell.cell_type, cell.source, outputs))
    return cells


def same_content(expected, actual):
    """Whether two generated files say the same (not: have the same bytes), by kind of file."""
    if expected.suffix == ".ipynb":
        return readable_notebook(expected) == readable_notebook(actual)
    if expected.suffix == ".html":
        return readable(expected.read_text(errors="replace")) == readable(actual.read_text(errors="replace"))
    if expected.suffix == ".npz":  # the lab's points, drawn with the reference sampler: equal up to rounding
        import numpy as np

        with np.load(expected) as a, np.load(actual) as b:
            return sorted(a.files) == sorted(b.files) and all(
                a[k].shape == b[k].shape and a[k].dtype == b[k].dtype and np.allclose(a[k], b[k], rtol=1e-9, atol=1e-12)
                for k in a.files)
    return filecmp.cmp(expected, actual, shallow=False)


def tree_differences(expected, actual):
    """Relative paths that differ between two folders: missing on either side, or saying something else."""
    expected, actual = Path(expected), Path(actual)
    if expected.is_file():
        return [] if actual.is_file() and same_content(expected, actual) else [""]
    files = lambda root: {p.relative_to(root) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts} if root.exists() else set()
    left, right = files(expected), files(actual)
    different = sorted(str(p) for p in left ^ right)
    different += sorted(str(p) for p in left & right if not same_content(expected / p, actual / p))
    return different


def replace_tree(built, target):
    """Swap ``target`` for ``built`` (links resolved: the release must stand on its own)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(built, target, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="./course regenerate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if release/ or solutions/ drifted")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lab5-regenerate-") as scratch:
        scratch_course(scratch)
        release, solutions, demo = build_all(scratch)
        data_relpath = Path("source") / ASSIGNMENT_ID / LAB_DATA_RELPATH
        targets = [(Path(scratch) / data_relpath, COURSE_ROOT / data_relpath),
                   (release, COURSE_ROOT / "release" / ASSIGNMENT_ID),
                   (solutions, COURSE_ROOT / "solutions" / ASSIGNMENT_ID),
                   (demo, COURSE_ROOT / "demo" / "submissions"),
                   (Path(scratch) / SCRIPT, COURSE_ROOT / SCRIPT)]
        if args.check:
            drift = [str(target.relative_to(COURSE_ROOT) / p) for built, target in targets for p in tree_differences(built, target)]
            if drift:
                print("drift (run ./course regenerate):\n  " + "\n  ".join(drift))
                return 1
            print("release/ and solutions/ match source/")
            return 0
        for built, target in targets:
            if built.is_file():
                shutil.copy2(built, target)
            else:
                replace_tree(built, target)
    print(f"regenerated release/{ASSIGNMENT_ID} and solutions/{ASSIGNMENT_ID} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
