"""./course grade — grade the whole class of lab5 in one command.

Typical use (from the course folder):

  ./course grade ~/Downloads/lab5-submissions.zip     import the LMS download, grade, report
  ./course grade                                      grade what is new or changed in submitted/
  ./course grade --force                              grade everybody again (e.g. after fixing a test)
  ./course grade --students ada ben                   only these students

Run it again at any time: submissions already graded (same file, same tests) are skipped, a
run that was interrupted (even killed) picks up where it stopped, and a submission whose new
grading fails never keeps its old score. Results: the gradebook (as `nbgrader export` and the
formgrader see it), feedback/<student>/lab5/*.html (no hidden tests), and in output/lab5/:
grades.csv (nbgrader's columns + status), the LMS files (Canvas/Moodle grade imports and
feedback zips, for downloads from those), report.html (what the class got wrong) and report.json
(the same numbers, machine-readable; always written; --json prints it on stdout).

Status column: graded | flagged (graded, but look at it: status_detail says why) | timed out |
crashed (the notebook killed its kernel) | invalid (could not be graded: see status_detail) |
error (the grader failed: run again) | pending (interrupted: run again).

Every kernel runs in a bubblewrap sandbox that holds nothing secret; the checks run outside it.
Where bubblewrap cannot run, grading is refused unless you pass --unsandboxed.
"""
import argparse
import os
import sys
from pathlib import Path


def limits_text(limits):
    """The sandbox's limits in words, from :func:`autograder.sandbox.execute.grading_limits`."""
    return (f"Limits of each grading kernel: {limits['cell_timeout_s']} s per cell, "
            f"{limits['recovery_timeout_s']} s to recover from a timed-out cell, {limits['notebook_timeout_s']} s per "
            f"notebook, {limits['memory_mb']} MiB of memory, {limits['cpu_seconds']} CPU-seconds, "
            f"{limits['max_processes']} processes, {limits['cpu_share']:g} CPU at a time, files up to "
            f"{limits['file_size_mb']} MiB, {limits['max_cell_output_chars']:,} characters of output per cell.")


def build_parser(limits=None):
    if limits is None:
        from autograder.course import COURSE_ROOT
        from autograder.grade.gradebook import load_course_config
        from autograder.sandbox.execute import grading_limits

        limits = grading_limits(load_course_config(COURSE_ROOT))
    parser = argparse.ArgumentParser(prog="./course grade", description=__doc__ + "\n" + limits_text(limits),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", nargs="?", type=Path,
                        help="folder or .zip of submissions as downloaded from the LMS (optional: "
                             "without it, grade what is already in submitted/)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="notebooks graded at once on this machine (default: %(default)s, the cores)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="grade on a Dask cluster instead, e.g. tcp://10.0.0.5:8786 (workers need "
                             "this course folder at the same path)")
    parser.add_argument("--cell-timeout", type=int, default=0, metavar="SECONDS",
                        help=f"time limit per cell (default: the course's, {limits['cell_timeout_s']} s)")
    parser.add_argument("--notebook-timeout", type=int, default=0, metavar="SECONDS",
                        help=f"time limit per whole notebook (default: the course's, {limits['notebook_timeout_s']} s)")
    parser.add_argument("--force", action="store_true", help="grade every submission again")
    parser.add_argument("--students", nargs="+", metavar="ID", help="grade only these students")
    parser.add_argument("--db-url", help="gradebook URL, e.g. postgresql+psycopg2://user@/db?host=/run/postgresql "
                                         "(default: the course's, sqlite gradebook.db)")
    parser.add_argument("--course-root", type=Path, default=None, help="the course folder (default: this one)")
    parser.add_argument("--output", type=Path, default=None, help="where grades.csv and report.html go "
                                                                 "(default: output/lab5)")
    parser.add_argument("--no-feedback", action="store_true", help="do not write feedback HTML")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in logs)")
    parser.add_argument("--json", action="store_true",
                        help="print the report's numbers (report.json, which is always written next to report.html) "
                             "on stdout, for scripts; the human summary then goes to stderr")
    parser.add_argument("--unsandboxed", action="store_true",
                        help="grade even where bubblewrap cannot run: student code then runs with your permissions "
                             "and can read the course's checks (never for a real class)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.submissions is not None and not args.submissions.exists():
        print(f"error: {args.submissions} does not exist", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    from autograder.grade import outputs
    from autograder.grade.run import course_info, grade_class
    from autograder.status import Status

    from autograder.course import ASSIGNMENT_ID, COURSE_ROOT

    course_root = args.course_root or COURSE_ROOT
    if not (course_root / "source" / ASSIGNMENT_ID).is_dir():
        print(f"error: {course_root} has no source/{ASSIGNMENT_ID}: run this from the course folder or give "
              "--course-root", file=sys.stderr)
        return 2
    try:
        records = grade_class(course_root=course_root, submissions=args.submissions, workers=args.workers,
                              scheduler=args.scheduler, force=args.force, cell_timeout=args.cell_timeout,
                              notebook_timeout=args.notebook_timeout, db_url=args.db_url, students=args.students,
                              feedback=not args.no_feedback, output_dir=args.output,
                              progress=not args.no_progress, unsandboxed=args.unsandboxed)
    except (RuntimeError, ValueError) as exc:  # e.g. another run holds the lock, an unreadable upload
        print(f"error: {exc}", file=sys.stderr)
        return 2
    info = course_info(course_root, args.db_url)
    rows = outputs.class_rows(info)
    human = sys.stderr if args.json else sys.stdout
    print(f"\ngraded in this run: {len(records)} submission(s)", file=human)
    print(outputs.summary_table(rows), file=human)
    out = args.output or info.root / "output" / ASSIGNMENT_ID
    print(f"\ngrades: {out / 'grades.csv'}\nreport: {out / 'report.html'} (numbers: {out / 'report.json'})", file=human)
    if args.json:
        sys.stdout.write((out / "report.json").read_text())
        sys.stdout.flush()
    return 1 if any(r.status == Status.ERROR.value for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
