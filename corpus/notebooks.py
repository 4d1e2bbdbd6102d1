"""The hostile submission corpus: lab5 notebooks that attack the grader, and invalid uploads.

Each hostile submission is the reference answer with one snippet (``snippets/*.py``) put at
the top of one solution cell (``tamper_in_function``: inside the graded function's body).
Placeholders are filled in by the test: ``{COURSE}`` (the course folder to spy on), ``{HOME}``,
``{OTHER}`` (another student's id), ``{PORT}`` and ``{HOST_IP}`` (a TCP server the test runs on
this machine). The invalid uploads are bytes laid out as an LMS download would hold them.
"""
import json
from pathlib import Path

import nbformat

from autograder.course import NOTEBOOK_FILE
from autograder.demo_submissions import build_submission, reference_answers

SNIPPETS = Path(__file__).resolve().parent / "snippets"

# name -> (grade_id of the solution cell that gets the snippet, what it attacks)
HOSTILE = {
    "infinite_loop": ("sample_gmm", "a loop that never ends"),
    "os_exit": ("get_cluster_centroids", "os._exit kills the kernel"),
    "memory_bomb": ("sample_gmm", "allocates memory until it runs out"),
    "fork_bomb": ("sample_gmm", "forks processes without end"),
    "output_flood": ("sample_gmm", "prints without end"),
    "sigint_ignoring": ("e_step", "a loop that ignores interrupts (SIGINT)"),
    "file_access": ("sample_gmm", "reads the course's secrets and other students' work"),
    "network": ("sample_gmm", "talks to the network"),
    "tamper_custom_exc": ("sample_gmm", "custom exception handler swallows test failures"),
    "tamper_showtraceback": ("sample_gmm", "replaces showtraceback so errors are not shown"),
    "tamper_messages": ("sample_gmm", "rewrites the messages the kernel sends back"),
    "tamper_in_function": ("e_step", "the graded function itself installs a swallowing hook"),
    "session_key": ("get_cluster_centroids", "signs the kernel's messages with another key"),
}

# Tampering snippets come with a wrong answer: they must not gain the points of the right one.
WRONG_ANSWER = {
    "sample_gmm": ("z = rng.choice(len(category_prob), size=N, p=category_prob)",
                   "z = rng.choice(len(category_prob), size=N)"),
    "e_step": ("return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))",
               "return np.exp(log_joint)"),
}
# These break the cell they are in (its function is never defined).
DESTRUCTIVE = ("infinite_loop", "os_exit", "memory_bomb", "fork_bomb", "output_flood", "sigint_ignoring", "session_key")
TAMPERING = ("tamper_custom_exc", "tamper_showtraceback", "tamper_messages", "tamper_in_function")


def snippet(name, **values):
    text = (SNIPPETS / f"{name}.py").read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def hostile_notebook(name, source_nb, release_nb, wrong=False, **values):
    """The reference answer with the snippet ``name`` at the top of its target cell."""
    grade_id, _ = HOSTILE[name]
    code = snippet(name, **values)
    edits = {}

    def inject(source, gid=grade_id):
        if wrong and gid in WRONG_ANSWER:
            old, new = WRONG_ANSWER[gid]
            if old not in source:
                raise ValueError(f"wrong-answer edit no longer applies to {gid}")
            source = source.replace(old, new)
        if name == "tamper_in_function":
            # first thing in the graded function's body: runs only when a test calls it
            lines = source.splitlines(keepends=True)
            at = next(i for i, line in enumerate(lines) if line.startswith("def ")) + 1
            indented = "".join("    " + line + "\n" for line in code.splitlines())
            return "".join(lines[:at]) + indented + "".join(lines[at:])
        return code + "\n" + source

    edits[grade_id] = inject
    if wrong:
        for gid, (old, new) in WRONG_ANSWER.items():
            if gid != grade_id:
                edits[gid] = (lambda s, o=old, n=new: s.replace(o, n))
    return build_submission(release_nb, reference_answers(source_nb), edits)


def buggy_notebook(source_nb, release_nb):
    """The same wrong answers as the tampering cases, without tampering (their baseline)."""
    edits = {gid: (lambda s, o=old, n=new: s.replace(o, n)) for gid, (old, new) in WRONG_ANSWER.items()}
    return build_submission(release_nb, reference_answers(source_nb), edits)


def correct_notebook(source_nb, release_nb):
    return build_submission(release_nb, reference_answers(source_nb), {})


# ---- invalid uploads -----------------------------------------------------------------------------
def invalid_uploads(source_nb, release_nb):
    """relative path in an LMS download -> bytes, and the student id -> expected message part."""
    good = nbformat.writes(correct_notebook(source_nb, release_nb)).encode()
    deleted = correct_notebook(source_nb, release_nb)
    deleted.cells = [c for c in deleted.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") != "test_e_step_visible"]
    reordered = correct_notebook(source_nb, release_nb)
    ids = [i for i, c in enumerate(reordered.cells) if c.metadata.get("nbgrader", {}).get("grade_id")]
    a, b = ids[1], ids[2]
    reordered.cells[a], reordered.cells[b] = reordered.cells[b], reordered.cells[a]
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]}
    files = {
        "wrongname/lab5.ipynb": good,
        f"dup/{NOTEBOOK_FILE}": good,
        "dup/lab5-mixture-models (1).ipynb": good,
        "notebook_as_pdf.pdf": b"%PDF-1.4 not a notebook",
        "badjson.ipynb": good[: len(good) // 2],
        "oldformat.ipynb": json.dumps(v3).encode(),
        "deletedcell.ipynb": nbformat.writes(deleted).encode(),
        "reordered.ipynb": nbformat.writes(reordered).encode(),
        "lab5 (1).ipynb": good,  # no student id in the name
        "goodstudent.ipynb": good,
    }
    expected = {
        "wrongname": ("invalid", "wrong file name"),
        "dup": ("invalid", "duplicate"),
        "notebook_as_pdf": ("invalid", "not a notebook"),
        "badjson": ("invalid", "invalid JSON"),
        "oldformat": ("invalid", "nbformat 3"),
        "deletedcell": ("ok", ""),  # damaged graded cells are repaired when graded (autograder.grade.repair)
        "reordered": ("ok", ""),
        "goodstudent": ("ok", ""),
    }
    return files, expected
