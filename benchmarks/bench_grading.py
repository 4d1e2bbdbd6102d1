"""Grading a class: ``./course grade`` against stock nbgrader run once per student.

A synthetic class (default 40 submissions: correct, buggy, unanswered and hostile ones, built
from the release like the demo class) is graded in a private copy of the course by
:func:`autograder.grade.grade_class` with one worker per core. The baseline, measured in the
same run, is stock nbgrader as an instructor scripts it without our command: one
``nbgrader autograde lab5 --student S`` process per student, one after another, with the
course's nbgrader configuration *without* its sealed-grading section (stock Execute, no sandbox,
no verifier: the hidden tests run the same checks inside the kernel, ``stock_lab5_grader.py``). By
default the baseline grades the whole class; BENCH_GRADING_STOCK_SAMPLE=n times a sample holding
every kind of submission instead and scales it to the class kind by kind (quicker, noisier).

Both sides must agree before any time is reported: every correct submission gets full marks
from both, and each correct, buggy or unanswered submission gets the same score per test from
both (a grader that silently lost its hidden tests would otherwise look fast).

The scaling rows grade the same 8 x cores correct submissions with 1, 2, 4, ... workers (up to
the cores): near-linear scaling shows as seconds per submission falling with the worker count.

Environment: BENCH_GRADING_CLASS_SIZE (default 40), BENCH_GRADING_STOCK_SAMPLE (default 0: the whole
class; n: a sample of about n, a third of it correct submissions, 2 buggy, 1 of every other kind),
BENCH_GRADING_CELL_TIMEOUT (default 30 s; the hostile loops cost this much each).
"""
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course import ASSIGNMENT_ID, NOTEBOOK_FILE, tool_environment
from benchmarks.harness import Row


MIX = (("correct", 0.6), ("buggy", 0.2), ("unanswered", 0.1), ("hostile", 0.1))
# Only attacks that are safe to run unsandboxed too (the stock baseline has no sandbox).
HOSTILE_CYCLE = ("os_exit", "infinite_loop", "tamper_custom_exc", "sigint_ignoring")
SEALED_SECTION = re.compile(r"\n# ==== SEALED GRADING.*?# ==== end of SEALED GRADING =+\n", re.S)
STOCK_CLIENT = Path(__file__).resolve().parent / "stock_lab5_grader.py"


def synthetic_class(size, source, release):
    """student id -> notebook, in the proportions of MIX (hostile ones cycle through the corpus)."""
    from corpus import notebooks

    from autograder.demo_submissions import build_submission, reference_answers

    kinds = []
    for kind, share in MIX:
        kinds += [kind] * max(1, round(size * share))
    kinds = (kinds * size)[:size]
    # Student ids say nothing about what a notebook does: the slow hostile ones are spread through the
    # class as in an LMS export sorted by name, not all graded last (seeded, the same class every run).
    random.Random(0).shuffle(kinds)
    students, hostile = {}, 0
    for i, kind in enumerate(kinds):
        if kind == "correct":
            nb = notebooks.correct_notebook(source, release)
        elif kind == "buggy":
            nb = notebooks.buggy_notebook(source, release)
        elif kind == "unanswered":
            nb = build_submission(release, reference_answers(source), {"*": "unanswered"})
        else:
            name = HOSTILE_CYCLE[hostile % len(HOSTILE_CYCLE)]
            hostile += 1
            nb = notebooks.hostile_notebook(name, source, release, wrong=name in notebooks.TAMPERING)
            kind = name
        students[f"s{i:03d}-{kind}"] = nb
    return students


def _course_with(students, folder, stock=False):
    from corpus.courses import course_copy

    course = course_copy(folder)
    if stock:
        config = course / "nbgrader_config.py"
        config.write_text(SEALED_SECTION.sub("\n", config.read_text()))
        shutil.copy(STOCK_CLIENT, course / "lab5_grader.py")
    for student, nb in students.items():
        path = course / "submitted" / student / ASSIGNMENT_ID / NOTEBOOK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
    return course


def time_ours(students, workers, cell_timeout, scratch):
    from autograder.grade.run import grade_class

    course = _course_with(students, Path(tempfile.mkdtemp(dir=scratch)) / "course")
    started = time.perf_counter()
    records = grade_class(course, workers=workers, cell_timeout=cell_timeout, feedback=False,
                          export=False, report=False, progress=False, echo=lambda m: None)
    elapsed = time.perf_counter() - started
    errors = [r.student_id for r in records if r.status == "error"]
    if errors or len(records) != len(students):
        raise RuntimeError(f"benchmark class not graded: errors {errors}, {len(records)}/{len(students)}")
    scores = {r.student_id: {gid: score for gid, (score, _) in r.tests.items() if score is not None} for r in records}
    return elapsed, scores, [r.verifier for r in records if r.verifier]


def time_stock(students, cell_timeout, scratch):
    """Seconds of one ``nbgrader autograde --student`` process per student (stock config, no sandbox),
    and the scores stock nbgrader stored."""
    from corpus.courses import gradebook_scores

    course = _course_with(students, Path(tempfile.mkdtemp(dir=scratch)) / "course", stock=True)
    env = tool_environment(PYTHONPATH=str(course))
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT_ID, "--force",
                    "--log-level=ERROR"], cwd=course, env=env, check=True, capture_output=True)
    seconds = {}
    for student in students:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT_ID, "--student", student,
                        "--force", "--log-level=ERROR", f"--Execute.timeout={cell_timeout}"],
                       cwd=course, env=env, capture_output=True, timeout=1800)
        seconds[student] = time.perf_counter() - started
    scores = {student: {gid: score for gid, score in tests.items() if score is not None}
              for student, tests in gradebook_scores(course).items()}
    return seconds, scores


AGREEING_KINDS = ("correct", "buggy", "unanswered")  # the attacks are graded differently on purpose


def check_agreement(ours, stock, full_marks):
    """Raise unless correct submissions get full marks and both graders agree on the plain kinds."""
    problems = []
    for student, scores in stock.items():
        if kind_of(student) not in AGREEING_KINDS:
            continue
        if ours.get(student) != scores:
            differing = sorted(g for g in set(scores) | set(ours.get(student, {}))
                               if scores.get(g) != ours.get(student, {}).get(g))
            problems.append(f"{student}: ours and stock differ on {differing[:5]}")
    for student, scores in ours.items():
        if kind_of(student) == "correct" and sum(scores.values()) != full_marks:
            problems.append(f"{student}: correct submission scored {sum(scores.values())} of {full_marks}")
    if problems:
        raise RuntimeError("graders disagree, timings would be meaningless: " + "; ".join(problems[:8]))


def verifier_row(costs, seconds_per_submission):
    """The verifier's median cost per submission: seconds (against the whole submission's), round trips, bytes."""
    def median(key):
        values = sorted(c[key] for c in costs)
        return values[len(values) // 2] if values else float("nan")

    return Row("verifier per submission (median), s", "s", median("seconds"), "whole submission, s", seconds_per_submission,
               runs=len(costs), note=f"{median('round_trips'):.0f} round trips, {median('bytes_sent') / 1e6:.2f} MB to the "
                                     f"kernel and {median('bytes_received') / 1e6:.2f} MB back, over {len(costs)} submissions")


def kind_of(student):
    return student.split("-", 1)[1]


def stratified_sample(students, per_kind):
    """Up to ``per_kind[kind]`` (default 1) students of every kind: correct, buggy, unanswered, each attack."""
    sample, taken = {}, {}
    for name in sorted(students):
        kind = kind_of(name)
        if taken.get(kind, 0) < per_kind.get(kind, 1):
            sample[name] = students[name]
            taken[kind] = taken.get(kind, 0) + 1
    return sample


def class_estimate(students, sample_seconds):
    """Stock wall time for the whole class: each kind's mean time times its count in the class."""
    by_kind = {}
    for name, value in sample_seconds.items():
        by_kind.setdefault(kind_of(name), []).append(value)
    return sum(sum(by_kind[kind_of(n)]) / len(by_kind[kind_of(n)]) for n in students)


def run(repeats):
    from corpus.courses import autograded_points, source_and_release

    size = int(os.environ.get("BENCH_GRADING_CLASS_SIZE", 40))
    sample_size = int(os.environ.get("BENCH_GRADING_STOCK_SAMPLE", 0))
    cell_timeout = int(os.environ.get("BENCH_GRADING_CELL_TIMEOUT", 30))
    cores = os.cpu_count() or 1
    scratch = tempfile.mkdtemp(prefix="bench-grading-")
    try:
        from corpus.courses import base_course

        source, release = source_and_release(base_course())
        students = synthetic_class(size, source, release)
        full_marks = autograded_points(source)
        sample = (stratified_sample(students, {"correct": max(1, sample_size // 3), "buggy": 2})
                  if sample_size else students)
        # One class run each: a run is minutes long; the per-student numbers are medians of many.
        # Ours is timed before and after stock, so a machine that slows down or speeds up during
        # the long stock run does not favour either side; the mean of the two is reported.
        ours_before, our_scores, verifier_costs = time_ours(students, cores, cell_timeout, scratch)
        stock_seconds, stock_scores = time_stock(sample, cell_timeout, scratch)
        ours_after, our_scores_after, _ = time_ours(students, cores, cell_timeout, scratch)
        ours = (ours_before + ours_after) / 2
        check_agreement(our_scores, stock_scores, full_marks)
        check_agreement(our_scores_after, stock_scores, full_marks)
        stock_total = class_estimate(students, stock_seconds)
        how = ("stock graded the whole class" if len(sample) == len(students) else
               f"stock timed on {len(sample)} students, at least one of each kind (correct, buggy, "
               "unanswered, each attack), scaled by kind to the class")
        rows = [
            Row(f"grading: {size}-submission class, s per submission ({cores} workers)", "s", ours / size,
                "stock nbgrader autograde per student", stock_total / size, runs=2,
                samples=[ours_before / size, ours_after / size],
                note=f"{how}; both gave the same scores; cell timeout {cell_timeout} s; ours timed before "
                     f"and after stock: {ours_before / size:.2f} and {ours_after / size:.2f} s"),
            Row(f"grading: {size}-submission class, total wall time", "s", ours,
                "stock nbgrader, sequential" + ("" if len(sample) == len(students) else " (scaled)"), stock_total, runs=2,
                note=f"class throughput {stock_total / ours:.2f}x stock"),
            verifier_row(verifier_costs, ours_before / size),
        ]
        correct = _only_correct(source, release, 8 * cores)
        counts = [1]
        while counts[-1] * 2 <= cores:
            counts.append(counts[-1] * 2)
        base = None
        for workers in counts:
            samples = []
            for _ in range(max(1, min(repeats, 2))):
                elapsed, scores, _ = time_ours(correct, workers, cell_timeout, scratch)
                check_agreement(scores, {}, full_marks)
                samples.append(elapsed / len(correct))
            value = sorted(samples)[len(samples) // 2]
            base = base or value
            rows.append(Row(f"grading scaling: {workers} worker(s), s per submission", "s", value,
                            "1 worker", base, runs=len(samples), samples=samples,
                            note=f"{len(correct)} correct submissions; ideal ratio {1 / workers:.2f}"))
        return rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _only_correct(source, release, n):
    from corpus import notebooks

    return {f"c{i:02d}-correct": notebooks.correct_notebook(source, release) for i in range(n)}
