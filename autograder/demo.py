"""The whole instructor loop on the bundled demo class: ``./course demo``.

1. make a working copy of the course in ``output/demo/course`` (SQLite gradebook inside it);
2. generate the student version (``nbgrader generate_assignment``);
3. collect the demo submissions from ``demo/submissions/`` into ``submitted/``;
4. autograde them (``nbgrader autograde``), write feedback HTML (``nbgrader generate_feedback``);
5. export the grades CSV (``nbgrader export``) and print a per-student summary, part by part.

The repository itself is never modified, so the demo can be run again at any time.
"""
import argparse
import csv
import shutil
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path

from autograder.course import (
    ASSIGNMENT_ID,
    COURSE_ROOT,
    DEMO_SUBMISSIONS_DIR,
    NOTEBOOK_FILE,
    NOTEBOOK_NAME,
    tool_environment,
)
from autograder.regenerate import nbgrader_command, scratch_course

DEFAULT_OUTPUT = COURSE_ROOT / "output" / "demo"
_GRADE_ID_SUFFIXES = ("_visible", "_shape_hidden", "_proportions_hidden", "_moments_hidden", "_easy_hidden",
                      "_values_hidden", "_hard_hidden", "_hidden")


def part_of(grade_id):
    """The graded part a test cell belongs to: ``test_e_step_values_hidden`` -> ``e_step``."""
    part = grade_id.removeprefix("test_")
    for suffix in _GRADE_ID_SUFFIXES:
        if part.endswith(suffix):
            return part[: -len(suffix)]
    return part


def nbgrader(course, *args):
    """Run one real nbgrader command in the course folder; stop the demo if it fails."""
    print(f"$ nbgrader {' '.join(args)}", flush=True)
    subprocess.run(nbgrader_command(*args, "--log-level=WARN"), cwd=course, check=True, env=tool_environment())


def collect_submissions(course, submissions_dir):
    """Copy ``<student>/lab5-mixture-models.ipynb`` folders into nbgrader's ``submitted/`` layout."""
    students = []
    for notebook in sorted(Path(submissions_dir).glob(f"*/{NOTEBOOK_FILE}")):
        student = notebook.parent.name
        target = course / "submitted" / student / ASSIGNMENT_ID / NOTEBOOK_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, target)
        students.append(student)
    return students


def autograded_cell_ids(notebook_path):
    """grade_ids of the autograded test cells, in notebook order."""
    import nbformat

    cells = nbformat.read(notebook_path, as_version=4).cells
    return [c.metadata["nbgrader"]["grade_id"] for c in cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]


def scores_by_part(course):
    """{student: OrderedDict(part -> (score, max_score))} for the autograded test cells, from the gradebook."""
    from nbgrader.api import Gradebook

    order = {grade_id: i for i, grade_id in enumerate(autograded_cell_ids(course / "source" / ASSIGNMENT_ID / NOTEBOOK_FILE))}
    results = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for submission in gradebook.assignment_submissions(ASSIGNMENT_ID):
            parts = OrderedDict()
            notebook = gradebook.find_submission_notebook(NOTEBOOK_NAME, ASSIGNMENT_ID, submission.student_id)
            for grade in sorted(notebook.grades, key=lambda g: order.get(g.name, len(order))):
                if grade.cell_type != "code":
                    continue
                score, maximum = parts.get(part_of(grade.name), (0.0, 0.0))
                parts[part_of(grade.name)] = (score + grade.score, maximum + grade.max_score)
            results[submission.student_id] = parts
    return results


def format_summary(results):
    """A plain-text table: one row per student, one column per graded part, then the total."""
    parts = list(next(iter(results.values())).keys()) if results else []
    header = ["student"] + parts + ["autograded"]
    rows = [header]
    for student in sorted(results):
        cells = [student]
        for part in parts:
            score, maximum = results[student][part]
            cells.append(f"{score:g}/{maximum:g}")
        total = sum(s for s, _ in results[student].values())
        total_max = sum(m for _, m in results[student].values())
        cells.append(f"{total:g}/{total_max:g}")
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
                     for row in rows)


def run_demo(output=DEFAULT_OUTPUT, submissions_dir=DEMO_SUBMISSIONS_DIR):
    """Run the loop; returns a dict of the paths it wrote and the per-part results."""
    output = Path(output)
    course = output / "course"
    if course.exists():
        shutil.rmtree(course)
    course.mkdir(parents=True)
    scratch_course(course)

    started = time.perf_counter()
    nbgrader(course, "generate_assignment", ASSIGNMENT_ID, "--force")
    students = collect_submissions(course, submissions_dir)
    for student in students:
        nbgrader(course, "db", "student", "add", student)
    nbgrader(course, "autograde", ASSIGNMENT_ID, "--force")
    nbgrader(course, "generate_feedback", ASSIGNMENT_ID, "--force")
    grades_csv = output / "grades.csv"
    nbgrader(course, "export", f"--to={grades_csv}")

    results = scores_by_part(course)
    summary = format_summary(results)
    (output / "summary.txt").write_text(summary + "\n")
    feedback = sorted(course.glob(f"feedback/*/{ASSIGNMENT_ID}/*.html"))
    print()
    print(summary)
    print()
    print(f"graded {len(students)} demo submissions in {time.perf_counter() - started:.0f} s")
    print(f"grades:   {grades_csv}")
    print(f"feedback: {course / 'feedback'}/<student>/{ASSIGNMENT_ID}/ ({len(feedback)} HTML files)")
    print(f"gradebook: {course / 'gradebook.db'}")
    return {"course": course, "grades_csv": grades_csv, "feedback": feedback, "results": results,
            "students": students}


def read_grades_csv(path):
    """The exported grades as a list of dicts (nbgrader's CSV columns)."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="./course demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write (default: output/demo)")
    parser.add_argument("--submissions", type=Path, default=DEMO_SUBMISSIONS_DIR,
                        help="folder of <student>/lab5-mixture-models.ipynb (default: demo/submissions)")
    args = parser.parse_args(argv)
    run_demo(args.output, args.submissions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
