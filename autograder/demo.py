"""The whole instructor loop on the bundled demo class: ``./course demo``.

1. make a working copy of the course in ``output/demo/course`` (SQLite gradebook inside it);
2. generate the student version (``nbgrader generate_assignment``);
3. grade the demo class in ``demo/submissions/`` with the course's grading command
   (``autograder.grade``: import, sandboxed parallel autograding, feedback HTML without hidden
   tests, grades CSV with a status column, instructor report);
4. print a per-student summary, part by part, read back from the gradebook.

The repository itself is never modified, so the demo can be run again at any time.
"""
import argparse
import shutil
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path

from autograder.course import (
    part_of,
    ASSIGNMENT_ID,
    COURSE_ROOT,
    DEMO_SUBMISSIONS_DIR,
    NOTEBOOK_FILE,
    NOTEBOOK_NAME,
    tool_environment,
)
from autograder.regenerate import nbgrader_command, scratch_course

DEFAULT_OUTPUT = COURSE_ROOT / "output" / "demo"
def nbgrader(course, *args):
    """Run one real nbgrader command in the course folder; stop the demo if it fails."""
    print(f"$ nbgrader {' '.join(args)}", flush=True)
    subprocess.run(nbgrader_command(*args, "--log-level=WARN"), cwd=course, check=True, env=tool_environment())


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
                if grade.cell_type != "code" or not grade.max_score:  # written answers; the 0-point summary cell
                    continue
                score, maximum = parts.get(part_of(grade.name), (0.0, 0.0))
                parts[part_of(grade.name)] = (score + grade.score, maximum + grade.max_score)
            results[submission.student_id] = parts
    return results


def format_summary(results, statuses):
    """A plain-text table: one row per student, one column per graded part, the total and the status."""
    parts = list(next(iter(results.values())).keys()) if results else []
    header = ["student"] + parts + ["autograded", "status"]
    rows = [header]
    for student in sorted(results):
        cells = [student]
        for part in parts:
            score, maximum = results[student][part]
            cells.append(f"{score:g}/{maximum:g}")
        total = sum(s for s, _ in results[student].values())
        total_max = sum(m for _, m in results[student].values())
        cells.append(f"{total:g}/{total_max:g}")
        cells.append(statuses.get(student, "?"))
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

    from autograder.grade import grade_class

    started = time.perf_counter()
    nbgrader(course, "generate_assignment", ASSIGNMENT_ID, "--force")
    print(f"$ ./course grade {submissions_dir}", flush=True)
    records = grade_class(course, submissions=submissions_dir, output_dir=output)
    statuses = {record.student_id: record.status for record in records}
    students = sorted(statuses)
    grades_csv = output / "grades.csv"

    results = scores_by_part(course)
    summary = format_summary(results, statuses)
    (output / "summary.txt").write_text(summary + "\n")
    feedback = sorted(course.glob(f"feedback/*/{ASSIGNMENT_ID}/*.html"))
    print()
    print(summary)
    print()
    print(f"graded {len(students)} demo submissions in {time.perf_counter() - started:.0f} s")
    print(f"grades:   {grades_csv}")
    print(f"report:   {output / 'report.html'}")
    print(f"feedback: {course / 'feedback'}/<student>/{ASSIGNMENT_ID}/ ({len(feedback)} HTML files)")
    print(f"gradebook: {course / 'gradebook.db'}")
    return {"course": course, "grades_csv": grades_csv, "feedback": feedback, "results": results,
            "students": students, "statuses": statuses, "report": output / "report.html"}


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
