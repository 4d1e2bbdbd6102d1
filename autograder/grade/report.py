"""The instructor's report of a grading run: ``report.html`` and its machine-readable twin ``report.json``.

Both are rendered from one dict, :func:`report_data` (every number of the report is in it), so
the page and the JSON cannot disagree. Sections, in order:

1. **What the class got wrong** (``misconceptions``): the verifier's diagnosis ids counted by
   student (a student with the same mistake in three checks counts once, whatever the numbers
   in each message). *Named* mistakes (the checks recognised the mistake: a "likely mistake:"
   line) come first; *not named* ones (generic ids such as ``e_step.values_differ`` or
   ``m_step.raised_error``, and ``<part>.no_diagnosis``: the student failed checks of a part
   and none of those failures carries a diagnosis) are listed after them, apart.
2. **Parts** (``parts``, ``scores``): per part, the share of students passing every check of
   it, the distribution of its points, and the overall score distribution (nbgrader's score,
   after any late penalty), as plots (PNG data URIs) and tables.
3. **Suspect tests** (``suspect_tests``): see :func:`suspect_tests`.
4. **Manual grading** (``manual_grading``): graded / to grade per written answer, from the gradebook.
5. **Submissions** (``statuses``, ``flagged``, ``attention``, ``feedback_problems``).

"Graded" in the statistics means a submission this command graded whose scores stand (status
graded, flagged, timed out or crashed) with its ledger record; shares are of those students.
Written answers (markdown grade cells) are never counted as checks.
"""
import base64
import collections
import datetime
import html
import io
import json
import math
from pathlib import Path

from nbgrader.api import MissingEntry

from autograder.course import ASSIGNMENT_ID, part_of
from autograder.status import Status

SCHEMA_VERSION = 1
NO_DIAGNOSIS = "no_diagnosis"
# Diagnosis ids that say *that* a check failed rather than *which* mistake was made.
GENERIC_SUFFIXES = frozenset({
    "raised_error", "values_differ", "not_nearest", "wrong_shape", "not_written", "not_a_function",
    "not_an_array", "not_integers", "not_floats", "not_finite", "complex_values", "labels_out_of_range",
    "endless_recursion", "wrong_length", "not_the_means", "wrong_proportions", "wrong_distribution",
    "different_fixed_point", "invalid_parameters", "likelihood_decreased", NO_DIAGNOSIS,
})
ATTENTION = (Status.INVALID.value, Status.ERROR.value, Status.CRASHED.value, Status.TIMED_OUT.value, Status.PENDING.value)
LIKELY = "likely mistake:"
EPS = 1e-9


# ---- the numbers ---------------------------------------------------------------------------------
def _status(row):
    try:
        return Status(row.get("status"))
    except ValueError:
        return None


def graded_rows(rows):
    """The rows the statistics are about: graded by this command, scores standing, with a record."""
    return [r for r in rows if _status(r) is not None and _status(r).recorded and (r.get("record") or {}).get("tests")]


def _likely_line(message):
    for line in str(message).splitlines():
        if line.strip().startswith(LIKELY):
            return line.strip()[len(LIKELY):].strip()
    return None


def _first_line(message):
    return next((ln.strip() for ln in str(message).splitlines() if ln.strip()), "")


def _headline(message):
    """A message's first line; with the next one when the first ends in a colon (``raised an error when ...:``)."""
    lines = [ln.strip() for ln in str(message).splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].endswith(":") and not lines[1].startswith(("expected:", "got:", LIKELY)):
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else ""


def is_generic(diagnosis_id, messages=()):
    """Whether a diagnosis id names no mistake: a generic suffix, or none of its messages has a likely mistake."""
    suffix = diagnosis_id.rsplit(".", 1)[-1]
    if suffix in GENERIC_SUFFIXES or suffix.endswith("_differ"):
        return True
    return bool(messages) and not any(_likely_line(m) for m in messages)


def _checks(record, manual):
    """{grade_id: (score, max)} of a record's autograded checks (written answers left out)."""
    out = {}
    for grade_id, value in (record.get("tests") or {}).items():
        if grade_id in manual or grade_id.startswith("answer_") or not value or value[0] is None or not value[1]:
            continue  # written answers, and checks worth no points (e.g. a summary of the quick checks)
        out[grade_id] = (float(value[0]), float(value[1]))
    return out


def _passed(score_max):
    score, maximum = score_max
    return score >= maximum - EPS


def _part_tests(graded, manual):
    """part -> [grade ids] in notebook order (the order of the records' tests)."""
    parts = {}
    for row in graded:
        for grade_id in _checks(row["record"], manual):
            tests = parts.setdefault(part_of(grade_id), [])
            if grade_id not in tests:
                tests.append(grade_id)
    return parts


def misconceptions(graded, manual=frozenset()):
    """The mistakes of the class, one entry per diagnosis id, counted by student (see the module doc).

    A failed check with a diagnosis counts for that id. A student who failed checks of a part none
    of which carries a diagnosis counts once for ``<part>.no_diagnosis`` (its description is the
    most common failure line). Sorted: named mistakes first, then by students (most first), then id.
    """
    groups = {}

    def add(diagnosis, student, grade_id, message, lost):
        g = groups.setdefault(diagnosis, {"students": {}, "tests": [], "lost": 0.0})
        g["students"].setdefault(student, []).append((grade_id, message))
        if grade_id not in g["tests"]:
            g["tests"].append(grade_id)
        g["lost"] += lost

    for row in graded:
        record, student = row["record"], row["student_id"]
        checks = _checks(record, manual)
        diagnoses, messages, failures = record.get("diagnoses") or {}, record.get("messages") or {}, record.get("failures") or {}
        undiagnosed = {}
        diagnosed_parts = set()
        for grade_id, (score, maximum) in checks.items():
            if _passed((score, maximum)):
                continue
            diagnosis = diagnoses.get(grade_id)
            if diagnosis:
                add(diagnosis, student, grade_id, messages.get(grade_id) or failures.get(grade_id, ""), maximum - score)
                diagnosed_parts.add(part_of(grade_id))
            else:
                undiagnosed.setdefault(part_of(grade_id), []).append(grade_id)
        for part, grade_ids in undiagnosed.items():
            if part in diagnosed_parts:
                continue
            text = "\n".join(f"{g}: {failures.get(g) or messages.get(g) or 'lost points (no error message)'}" for g in grade_ids)
            lost = sum(checks[g][1] - checks[g][0] for g in grade_ids)
            add(f"{part}.{NO_DIAGNOSIS}", student, grade_ids[0], text, lost)
            for g in grade_ids[1:]:
                if g not in groups[f"{part}.{NO_DIAGNOSIS}"]["tests"]:
                    groups[f"{part}.{NO_DIAGNOSIS}"]["tests"].append(g)

    n = len(graded)
    out = []
    for diagnosis, g in groups.items():
        students = sorted(g["students"])
        all_messages = [m for s in students for _, m in g["students"][s]]
        if diagnosis.endswith("." + NO_DIAGNOSIS):
            lines = collections.Counter(_first_line(line.split(": ", 1)[-1]) for m in all_messages for line in m.splitlines())
            common = sorted(lines.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if lines else ""
            description = f"failed without a diagnosis; most often: {common}" if common else "failed without a diagnosis"
            named = False
        else:
            likely = next((_likely_line(m) for m in all_messages if _likely_line(m)), None)
            description = (likely or _headline(all_messages[0])) if all_messages else ""
            named = not is_generic(diagnosis, all_messages)
        example_student = students[0]
        example_test, example = g["students"][example_student][0]
        out.append({
            "id": diagnosis, "named": named,
            "parts": sorted({part_of(t) for t in g["tests"]}, key=lambda p: min(
                i for i, t in enumerate(g["tests"]) if part_of(t) == p)),
            "tests": g["tests"], "description": description,
            "students": students, "count": len(students), "share": round(len(students) / n, 4) if n else 0.0,
            "occurrences": len(all_messages), "points_lost": round(g["lost"], 4),
            "example": {"student": example_student, "test": example_test, "message": example},
        })
    out.sort(key=lambda m: (not m["named"], -m["count"], m["id"]))
    return out


def parts_summary(graded, manual=frozenset()):
    """Per part (notebook order): its checks, pass rate (every check passed), points distribution, per-check passes."""
    n = len(graded)
    out = []
    for part, tests in _part_tests(graded, manual).items():
        points, passed, check_passes = [], 0, collections.Counter()
        maximum = 0.0
        for row in graded:
            checks = _checks(row["record"], manual)
            mine = {t: checks[t] for t in tests if t in checks}
            maximum = max(maximum, sum(checks[t][1] for t in mine))
            points.append(round(sum(s for s, _ in mine.values()), 4))
            if len(mine) == len(tests) and all(_passed(v) for v in mine.values()):
                passed += 1
            for t, v in mine.items():
                check_passes[t] += _passed(v)
        distribution = collections.Counter(points)
        out.append({
            "part": part, "tests": tests, "max_points": maximum, "students": n,
            "passed": passed, "pass_rate": round(passed / n, 4) if n else 0.0,
            "mean_points": round(sum(points) / n, 4) if n else 0.0,
            "full_marks": sum(1 for p in points if p >= maximum - EPS), "zero": sum(1 for p in points if p <= EPS),
            "distribution": [[value, distribution[value]] for value in sorted(distribution)],
            "checks": [{"test": t, "passed": check_passes[t], "pass_rate": round(check_passes[t] / n, 4) if n else 0.0}
                       for t in tests],
        })
    return out


def _nice_width(span, target=16):
    raw = span / target if span > 0 else 1
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def score_distribution(graded, rows):
    """The overall scores of the graded students: summary numbers and the histogram (bin edges, counts)."""
    scores = sorted(float(r.get("score") or 0) for r in graded)
    maxima = [float(r["max_score"]) for r in rows if r.get("max_score") not in (None, "")]
    maximum = max(maxima + [max(scores, default=0.0), 0.0])
    width = _nice_width(maximum)
    edges = [round(i * width, 6) for i in range(int(math.ceil(maximum / width - EPS)) + 1)] if maximum else [0.0, 1.0]
    if len(edges) < 2:
        edges.append(edges[0] + width)
    counts = [0] * (len(edges) - 1)
    for s in scores:
        i = min(int((s - edges[0]) // width), len(counts) - 1)
        counts[max(i, 0)] += 1
    n = len(scores)
    median = (scores[n // 2] if n % 2 else (scores[n // 2 - 1] + scores[n // 2]) / 2) if n else None
    return {"students": n, "max_score": maximum, "scores": scores,
            "mean": round(sum(scores) / n, 4) if n else None, "median": median,
            "min": scores[0] if n else None, "max": scores[-1] if n else None,
            "histogram": {"edges": edges, "counts": counts}}


def suspect_tests(graded, manual=frozenset()):
    """Checks that may be too strict: failed by students who pass every other check of the same part.

    Precisely: for an autograded check T of part P (``part_of(T)``) where P has at least two
    checks, T's *suspect students* are the graded students whose record has T with less than full
    marks and has every other check of P with full marks. T is listed when it has at least one
    suspect student, with them, how many students failed T in all, and the diagnoses and first
    message lines those students got for T. A student missing a check of P (not in the record)
    is not a suspect student for any check of P. Sorted by suspect students (most first), then
    by notebook order.
    """
    parts = _part_tests(graded, manual)
    order = {t: i for i, t in enumerate(t for tests in parts.values() for t in tests)}
    out = []
    for part, tests in parts.items():
        if len(tests) < 2:
            continue
        for test in tests:
            suspects, failed_by, diagnoses, lines = [], 0, collections.Counter(), {}
            for row in graded:
                checks = _checks(row["record"], manual)
                if test not in checks or _passed(checks[test]):
                    continue
                failed_by += 1
                others = [t for t in tests if t != test]
                if all(t in checks and _passed(checks[t]) for t in others):
                    record = row["record"]
                    suspects.append(row["student_id"])
                    diagnoses[(record.get("diagnoses") or {}).get(test) or "(no diagnosis)"] += 1
                    lines[row["student_id"]] = _first_line((record.get("messages") or {}).get(test)
                                                           or (record.get("failures") or {}).get(test) or "lost points")
            if suspects:
                out.append({"test": test, "part": part, "students": sorted(suspects), "count": len(suspects),
                            "failed_by": failed_by, "other_checks": [t for t in tests if t != test],
                            "diagnoses": dict(sorted(diagnoses.items(), key=lambda kv: (-kv[1], kv[0]))),
                            "messages": {s: lines[s] for s in sorted(lines)}})
    out.sort(key=lambda s: (-s["count"], order[s["test"]]))
    return out


def _sqlite_missing(db_url):
    if db_url.startswith("sqlite:///"):
        return not Path(db_url[len("sqlite:///"):]).exists()
    return False


def manual_grading(info):
    """Per written answer (markdown grade cell) of the assignment: submissions, graded, to grade.

    Read from the gradebook. A grade is *to grade* when nbgrader's ``needs_manual_grade`` is
    true; otherwise it is graded, either by hand (a manual score) or automatically (no response:
    the answer cell was left as released and nbgrader gave it 0).
    """
    from nbgrader.api import Gradebook, MissingEntry

    result = {"questions": [], "submissions": 0, "graded": 0, "to_grade": 0, "error": None}
    if _sqlite_missing(info.db_url):
        result["error"] = f"no gradebook at {info.db_url}"
        return result
    try:
        with Gradebook(info.db_url, info.course_id) as gb:
            try:
                assignment = gb.find_assignment(ASSIGNMENT_ID)
            except MissingEntry:
                result["error"] = f"the gradebook has no assignment {ASSIGNMENT_ID}"
                return result
            questions = {}
            for notebook in assignment.notebooks:
                for cell in notebook.grade_cells:
                    if cell.cell_type == "markdown":
                        questions[cell.name] = {"question": cell.name, "notebook": notebook.name,
                                                "max_score": float(cell.max_score), "submissions": 0, "graded": 0,
                                                "by_hand": 0, "no_response": 0, "to_grade": 0, "students_to_grade": []}
            submissions = gb.assignment_submissions(ASSIGNMENT_ID)
            result["submissions"] = len(submissions)
            for submission in submissions:
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        q = questions.get(grade.name)
                        if q is None or grade.cell_type != "markdown":
                            continue
                        q["submissions"] += 1
                        if grade.needs_manual_grade:
                            q["to_grade"] += 1
                            q["students_to_grade"].append(submission.student_id)
                        else:
                            q["graded"] += 1
                            if grade.manual_score is not None:
                                q["by_hand"] += 1
                            else:
                                q["no_response"] += 1
    except Exception as exc:  # a report must not fail on an unreadable gradebook: it says so
        result["error"] = f"the gradebook could not be read: {type(exc).__name__}: {exc}"
        return result
    for q in questions.values():
        q["students_to_grade"].sort()
    result["questions"] = list(questions.values())
    result["graded"] = sum(q["graded"] for q in questions.values())
    result["to_grade"] = sum(q["to_grade"] for q in questions.values())
    return result


def _manual_ids(info):
    """Grade ids of the written answers, from the gradebook when it can be read (plus ``answer_*``)."""
    ids = set()
    if _sqlite_missing(info.db_url):
        return ids
    try:
        from nbgrader.api import Gradebook

        with Gradebook(info.db_url, info.course_id) as gb:
            for notebook in gb.find_assignment(ASSIGNMENT_ID).notebooks:
                ids.update(c.name for c in notebook.grade_cells if c.cell_type == "markdown")
    except MissingEntry:  # no assignment yet: no written answers to leave out
        pass
    return ids


def report_data(info, rows):
    """Every number of the report, as plain JSON data (the HTML and ``report.json`` render from it)."""
    graded = graded_rows(rows)
    manual = manual_grading(info)
    manual_ids = frozenset(q["question"] for q in manual["questions"]) | frozenset(_manual_ids(info) if manual["error"] else ())
    counts = collections.Counter(r.get("status", "") for r in rows)
    statuses = {s.value: counts.get(s.value, 0) for s in Status}
    statuses.update({s: n for s, n in counts.items() if s not in statuses})
    verifier = collections.Counter()
    for r in graded:
        for key, value in ((r["record"].get("verifier") or {}).items()):
            if isinstance(value, (int, float)):
                verifier[key] += value
    return {
        "schema": SCHEMA_VERSION,
        "assignment": ASSIGNMENT_ID,
        "course_id": info.course_id,
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "students": len(rows),
        "graded": len(graded),
        "graded_outside": sorted(r["student_id"] for r in rows
                                 if r.get("status") == Status.GRADED.value and not (r.get("record") or {}).get("tests")),
        "misconceptions": misconceptions(graded, manual_ids),
        "parts": parts_summary(graded, manual_ids),
        "scores": score_distribution(graded, rows),
        "suspect_tests": suspect_tests(graded, manual_ids),
        "manual_grading": manual,
        "statuses": statuses,
        "flagged": [{"student": r["student_id"], "status": r.get("status", ""), "detail": str(r.get("status_detail") or ""),
                     "findings": list((r.get("record") or {}).get("findings") or []),
                     "repairs": list((r.get("record") or {}).get("repairs") or [])}
                    for r in rows if r.get("status") == Status.FLAGGED.value or (r.get("record") or {}).get("findings")],
        "attention": [{"student": r["student_id"], "status": r.get("status", ""), "detail": str(r.get("status_detail") or "")}
                      for r in rows if r.get("status") in ATTENTION],
        "feedback_problems": [{"student": r["student_id"], "problem": str(r["record"]["feedback_problem"])}
                              for r in rows if (r.get("record") or {}).get("feedback_problem")],
        "lateness": lateness_summary(info, rows),
        "verifier": {k: round(v, 4) for k, v in sorted(verifier.items())},
    }


def lateness_summary(info, rows):
    """Who was late (by nbgrader's timestamps, or Canvas' LATE mark) and the penalty each got."""
    from autograder.grade import lms
    from autograder.grade.lateness import late_policy

    policy = late_policy(info.config) if info.config is not None else None
    identities = lms.identities_from_log(info.state_dir / "imports.json") if info.state_dir.exists() else {}
    late = []
    for row in rows:
        seen = lms.lateness(row, identities.get(row["student_id"]), policy.duedate if policy else None,
                            policy.grace.total_seconds() / 60 if policy else 0.0)
        if seen["late"]:
            late.append({"student": row["student_id"], "hours_late": lms.hours_text(seen["seconds_late"]) or "?",
                         "penalty": float(row.get("late_submission_penalty") or 0), "raw_score": float(row.get("raw_score") or 0),
                         "score": float(row.get("score") or 0)})
    return {"duedate": str(policy.duedate) if policy and policy.duedate else None,
            "grace_minutes": policy.grace.total_seconds() / 60 if policy else 0.0, "late": late}


# ---- plots ---------------------------------------------------------------------------------------
def _figure_png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _pct(x):
    return f"{100 * x:.0f}%"


def _num(x):
    return f"{x:g}" if isinstance(x, (int, float)) else str(x)


def plots(data):
    """{name: (base64 PNG, alt text)} for the pass rates, the per-part distributions and the scores."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = {}
    parts = data["parts"]
    if parts:
        names = [p["part"] for p in parts][::-1]
        rates = [100 * p["pass_rate"] for p in parts][::-1]
        fig, ax = plt.subplots(figsize=(8, 0.38 * len(parts) + 0.9))
        ax.barh(names, rates, color="#4477aa")
        for y, p in enumerate(parts[::-1]):
            ax.text(min(100 * p["pass_rate"], 100) + 1, y, f"{_pct(p['pass_rate'])} ({p['passed']}/{p['students']})",
                    va="center", fontsize=8)
        ax.set_xlim(0, 118)
        ax.set_xticks(range(0, 101, 20))
        ax.set_xlabel("students passing every check of the part (%)")
        ax.set_title(f"Pass rate per part ({data['graded']} graded students)", fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
        images["pass_rates"] = (_figure_png(fig), "Horizontal bar chart of the share of the graded students who pass "
                                "every check of each part: " + "; ".join(
                                    f"{p['part']} {_pct(p['pass_rate'])} ({p['passed']} of {p['students']})" for p in parts) + ".")
        plt.close(fig)

        cols = 4
        rows_n = math.ceil(len(parts) / cols)
        fig, axes = plt.subplots(rows_n, cols, figsize=(10, 2.0 * rows_n + 0.4), squeeze=False)
        for ax, p in zip(axes.flat, parts):
            values = [v for v, _ in p["distribution"]]
            counts = [c for _, c in p["distribution"]]
            colours = ["#228833" if v >= p["max_points"] - EPS else "#cc6677" if v <= EPS else "#ccbb44" for v in values]
            ax.bar(values, counts, width=0.8 if p["max_points"] > 3 else 0.4, color=colours)
            ax.set_xlim(-0.8, p["max_points"] + 0.8)
            ax.set_title(f"{p['part']} (of {_num(p['max_points'])})", fontsize=9)
            ax.tick_params(labelsize=7)
            ax.spines[["top", "right"]].set_visible(False)
            ax.yaxis.get_major_locator().set_params(integer=True)
        for ax in list(axes.flat)[len(parts):]:
            ax.axis("off")
        fig.supxlabel("points in the part (green: full marks, yellow: partial, red: zero)", fontsize=9)
        fig.supylabel("students", fontsize=9)
        fig.tight_layout()
        images["part_distributions"] = (_figure_png(fig), "Histograms, one per part, of the points the graded students "
                                        "got in it: " + "; ".join(
                                            f"{p['part']} (of {_num(p['max_points'])}): {p['full_marks']} full marks, "
                                            f"{p['zero']} zero, mean {p['mean_points']:.1f}" for p in parts) + ".")
        plt.close(fig)

    scores = data["scores"]
    if scores["students"]:
        edges, counts = scores["histogram"]["edges"], scores["histogram"]["counts"]
        fig, ax = plt.subplots(figsize=(8, 2.8))
        ax.bar(edges[:-1], counts, width=[b - a for a, b in zip(edges, edges[1:])], align="edge",
               color="#4477aa", edgecolor="white")
        ax.set_xlim(edges[0], edges[-1])
        ax.set_xlabel(f"score (of {_num(scores['max_score'])})")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(f"Overall score distribution ({scores['students']} graded students)", fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
        images["scores"] = (_figure_png(fig), f"Histogram of the overall scores of {scores['students']} graded students, "
                            f"out of {_num(scores['max_score'])}: median {_num(scores['median'])}, mean "
                            f"{scores['mean']:.1f}, lowest {_num(scores['min'])}, highest {_num(scores['max'])}.")
        plt.close(fig)
    return images


# ---- HTML ----------------------------------------------------------------------------------------
CSS = """
:root{color-scheme:light}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d232a;background:#fff;
 max-width:74rem;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.6rem;margin:.4rem 0}
h2{font-size:1.25rem;border-bottom:2px solid #dde3ea;padding-bottom:.2rem;margin-top:2.2rem}
h3{font-size:1.05rem;margin:1.4rem 0 .3rem}
p{margin:.4rem 0}
nav ul{display:flex;flex-wrap:wrap;gap:.2rem 1.2rem;padding:0;margin:.6rem 0;list-style:none}
a{color:#1f5f99}
.table{overflow-x:auto;margin:.5rem 0 1rem}
table{border-collapse:collapse;width:100%}
table.fixed{table-layout:fixed}
th,td{border-bottom:1px solid #dde3ea;padding:.35rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f1f4f8;font-weight:600;overflow-wrap:normal;word-break:normal}
.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
table.narrow{width:auto;min-width:16rem}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f7f9;border:1px solid #e3e7ec;padding:.4rem .5rem;
 border-radius:4px;margin:.3rem 0;font-size:.8rem;line-height:1.35}
code{font-size:.82em;color:#4b5560;overflow-wrap:anywhere}
.small{font-size:.82rem}
.muted{color:#5c6670}
summary{cursor:pointer;color:#1f5f99}
.bar{display:inline-block;height:.55rem;background:#4477aa;border-radius:2px;vertical-align:middle;margin-left:.3rem}
.track{display:inline-block;width:4rem;height:.55rem;background:#e3e7ec;border-radius:2px;vertical-align:middle}
.track>.bar{margin:0;display:block;height:100%}
.todo{color:#a3392b;font-weight:600}
.done{color:#22723a;font-weight:600}
.none{font-style:italic;color:#5c6670}
figure{margin:1rem 0}
figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:.82rem;color:#5c6670}
.summary{background:#f1f4f8;border-radius:6px;padding:.6rem .9rem}
@media (max-width:700px){body{padding:.5rem}table.fixed{table-layout:auto;min-width:40rem}}
@media print{
 body{max-width:none;padding:0;font-size:9.5pt}
 nav{display:none}
 .table{overflow:visible}
 table.fixed{table-layout:fixed;min-width:0}
 tr,figure,img,pre{break-inside:avoid}
 h2,h3{break-after:avoid}
 a{color:inherit;text-decoration:none}
 summary{color:inherit}
 details::details-content{content-visibility:visible;display:block}
 pre{font-size:7.5pt}
 th{font-size:8pt;padding:.25rem .3rem}
 td{padding:.25rem .3rem}
}
"""

# Closed <details> print open: on printing, and whenever print media applies (also emulated).
SCRIPT = """
(function(){function o(){document.querySelectorAll('details').forEach(function(d){d.open=true;});}
window.addEventListener('beforeprint',o);var m=window.matchMedia&&window.matchMedia('print');
if(m){if(m.matches)o();(m.addEventListener?m.addEventListener('change',function(e){if(e.matches)o();}):m.addListener(function(e){if(e.matches)o();}));}})();
"""

esc = html.escape


def _ident(name):
    """An identifier (part, grade id, diagnosis id) that may wrap after its underscores and dots."""
    return esc(str(name)).replace("_", "_<wbr>").replace(".", ".<wbr>")


def _none(sentence):
    return f"<p class='none'>{esc(sentence)}</p>"


def _table(header, body, cls="", widths=None):
    """A responsive table: ``header`` [(label, numeric?)], ``body`` rows of (already escaped) cells."""
    cols = "".join(f"<col style='width:{w}'>" for w in widths) if widths else ""
    head = "".join(f"<th scope='col'{' class=num' if num else ''}>{esc(label)}</th>" for label, num in header)
    lines = []
    for row in body:
        attrs = ""
        if isinstance(row, tuple) and len(row) == 2 and isinstance(row[0], dict):
            attrs = "".join(f" {k}='{esc(str(v))}'" for k, v in row[0].items())
            row = row[1]
        cells = "".join(f"<td{' class=num' if header[i][1] else ''}>{cell}</td>" for i, cell in enumerate(row))
        lines.append(f"<tr{attrs}>{cells}</tr>")
    return (f"<div class='table'><table class='{cls}'>{f'<colgroup>{cols}</colgroup>' if cols else ''}"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table></div>")


def _share(x):
    width = max(0.0, min(1.0, x)) * 4
    return f"{_pct(x)}<span class='bar' style='width:{width:.2f}rem'></span>"


def _students(names, label="student"):
    if not names:
        return "<span class='muted'>none</span>"
    return (f"<details><summary>{len(names)} {label}{'s' if len(names) != 1 else ''}</summary>"
            f"<span class='small'>{esc(', '.join(names))}</span></details>")


def _misconception_table(items, n_graded):
    body = []
    for m in items:
        mistake = (f"{esc(m['description'])}<div class='small muted'><code>{_ident(m['id'])}</code> · in "
                   f"{', '.join(_ident(t) for t in m['tests'])}</div>")
        example = (f"<details><summary>{esc(m['example']['student'])}, {_ident(m['example']['test'])}</summary>"
                   f"<pre>{esc(m['example']['message'])}</pre></details>")
        body.append(({"data-diagnosis": m["id"], "data-count": m["count"]},
                     [", ".join(_ident(p) for p in m["parts"]), mistake, str(m["count"]), _share(m["share"]),
                      _students(m["students"]), example]))
    return _table([("part", False), ("mistake", False), ("students", True), (f"share of {n_graded}", True),
                   ("which students", False), ("example message", False)], body, "fixed",
                  ["12%", "29.5%", "9%", "10.5%", "14%", "25%"])


def _section_misconceptions(data):
    items = data["misconceptions"]
    named = [m for m in items if m["named"]]
    unnamed = [m for m in items if not m["named"]]
    out = ["<section id='misconceptions'><h2>What the class got wrong</h2>",
           "<p class='small muted'>Each row is one diagnosis of the checks, counted by student: a student with the "
           "same mistake in several checks (with different numbers in each message) counts once. Shares are of the "
           f"{data['graded']} graded students.</p>"]
    if not items:
        out.append(_none("None: no graded student failed a check." if data["graded"] else
                         "None: no submission has been graded yet."))
    else:
        out.append("<h3>Mistakes the checks recognised</h3>")
        out.append(_misconception_table(named, data["graded"]) if named else
                   _none("None: no failure was recognised as a particular mistake."))
        out.append("<h3>Failures not named as a particular mistake</h3>")
        out.append("<p class='small muted'>Generic diagnoses (an error raised, values that differ, a wrong shape, not "
                   "written yet...) and <code>part.no_diagnosis</code>: checks of a part failed with no diagnosis at all.</p>")
        out.append(_misconception_table(unnamed, data["graded"]) if unnamed else _none("None: every failure was named."))
    out.append("</section>")
    return "\n".join(out)


def _figure(images, name):
    if name not in images:
        return ""
    png, alt = images[name]
    return f"<figure><img alt='{esc(alt)}' src='data:image/png;base64,{png}'></figure>"


def _section_parts(data, images):
    out = ["<section id='parts'><h2>Parts: pass rates and score distributions</h2>"]
    parts = data["parts"]
    if not parts:
        out.append(_none("None: no graded submission, so no part to show."))
    else:
        out.append(_figure(images, "pass_rates"))
        out.append(_figure(images, "part_distributions"))
        body = [({"data-part": p["part"]},
                 [_ident(p["part"]), str(len(p["tests"])), _num(p["max_points"]), str(p["passed"]), _share(p["pass_rate"]),
                  f"{p['mean_points']:.1f}", str(p["full_marks"]), str(p["zero"]),
                  "<details><summary>per check</summary><span class='small'>" + "<br>".join(
                      f"{_ident(c['test'])}: {c['passed']} ({_pct(c['pass_rate'])})" for c in p["checks"]) + "</span></details>"])
                for p in parts]
        out.append(_table([("part", False), ("checks", True), ("points", True), ("passed all", True),
                           ("pass rate", True), ("mean points", True), ("full marks", True), ("zero", True),
                           ("students passing each check", False)], body, "fixed",
                          ["17%", "7%", "7%", "8%", "11%", "9%", "8%", "6%", "27%"]))
    out.append("</section><section id='scores'><h2>Overall score distribution</h2>")
    s = data["scores"]
    if not s["students"]:
        out.append(_none("None: no graded submission yet."))
    else:
        out.append(_figure(images, "scores"))
        out.append(f"<p>{s['students']} graded students, scores out of {_num(s['max_score'])} (nbgrader's score after any "
                   f"late penalty; written answers count once graded): median {_num(s['median'])}, mean {s['mean']:.1f}, "
                   f"lowest {_num(s['min'])}, highest {_num(s['max'])}.</p>")
    out.append("</section>")
    return "\n".join(out)


def _section_suspect(data):
    out = ["<section id='suspect'><h2>Suspect tests</h2>",
           "<p class='small muted'>A check failed by students who pass every other check of the same part: before "
           "releasing grades, look whether the check is too strict for these students' work.</p>"]
    items = data["suspect_tests"]
    if not items:
        out.append(_none("None: no student failed a check while passing every other check of its part."))
    else:
        body = []
        for s in items:
            diag = "<br>".join(f"<code>{_ident(d)}</code> × {n}" for d, n in s["diagnoses"].items())
            lines = "".join(f"<b>{esc(st)}</b>: {esc(line)}<br>" for st, line in s["messages"].items())
            body.append(({"data-test": s["test"], "data-count": s["count"]},
                         [_ident(s["test"]), _ident(s["part"]), str(s["count"]), str(s["failed_by"]), _students(s["students"]),
                          f"{diag}<details><summary>messages</summary><span class='small'>{lines}</span></details>"]))
        out.append(_table([("check", False), ("part", False), ("pass the rest", True), ("failed it", True),
                           ("which students", False), ("what they got", False)], body, "fixed",
                          ["24%", "13%", "9%", "8%", "16%", "30%"]))
    out.append("</section>")
    return "\n".join(out)


def _section_manual(data):
    m = data["manual_grading"]
    out = ["<section id='manual'><h2>Manual grading of the written answers</h2>"]
    if m["error"]:
        out.append(_none(f"Not available: {m['error']}."))
    elif not m["questions"]:
        out.append(_none("None: the assignment has no written answer to grade by hand."))
    elif not m["submissions"]:
        out.append(_none("None to grade yet: the gradebook has no submission."))
    else:
        left = m["to_grade"]
        out.append(f"<p>{'<span class=todo>' + str(left) + ' answers still to grade</span>' if left else '<span class=done>All written answers are graded.</span>'}"
                   f" ({m['graded']} graded of {m['graded'] + m['to_grade']}, in {m['submissions']} submissions; "
                   "a grade is to grade while nbgrader's <code>needs_manual_grade</code> is set; see the formgrader.)</p>")
        body = []
        for q in m["questions"]:
            total = q["graded"] + q["to_grade"]
            frac = q["graded"] / total if total else 1.0
            body.append(({"data-question": q["question"]},
                         [_ident(q["question"]), _num(q["max_score"]), str(q["graded"]), str(q["by_hand"]), str(q["no_response"]),
                          f"<span class='{'todo' if q['to_grade'] else 'done'}'>{q['to_grade']}</span>",
                          f"<span class='track'><span class='bar' style='width:{100 * frac:.1f}%'></span></span> {_pct(frac)}",
                          _students(q["students_to_grade"])]))
        out.append(_table([("question", False), ("points", True), ("graded", True), ("by hand", True),
                           ("no answer (0)", True), ("to grade", True), ("progress", True), ("still to grade", False)],
                          body, "fixed", ["21%", "7%", "8%", "8%", "10%", "8%", "13%", "25%"]))
    out.append("</section>")
    return "\n".join(out)


def _section_lateness(data):
    late = data["lateness"]
    out = ["<section id='lateness'><h2>Lateness</h2>"]
    due = (f"Due {esc(late['duedate'])}, {late['grace_minutes']:g} minutes' grace (nbgrader_config.py)."
           if late["duedate"] else "No due date is set (nbgrader_config.py, GracePeriodLatePenalty.duedate).")
    out.append(f"<p>{due}</p>")
    if late["late"]:
        out.append(_table([("student", False), ("late by", False), ("raw score", True), ("penalty", True), ("score", True)],
                          [[esc(x["student"]), esc(x["hours_late"]), _num(x["raw_score"]), _num(x["penalty"]), _num(x["score"])]
                           for x in late["late"]]))
    else:
        out.append(_none("None: no submission came in late."))
    out.append("</section>")
    return "\n".join(out)


def _section_submissions(data):
    out = ["<section id='status'><h2>Submissions</h2>"]
    counts = [(s, n) for s, n in data["statuses"].items() if n]
    if not counts:
        out.append(_none("None: the gradebook and the ledger list no student."))
    else:
        out.append(_table([("status", False), ("students", True)],
                          [[esc(s), str(n)] for s, n in counts] + [["<b>total</b>", f"<b>{data['students']}</b>"]], "narrow"))
    if data["graded_outside"]:
        out.append(f"<p class='small muted'>Graded outside <code>./course grade</code> (no record, so not in the statistics "
                   f"above): {esc(', '.join(data['graded_outside']))}.</p>")
    v = data["verifier"]
    if v.get("round_trips"):
        out.append(f"<p class='small muted'>The checks' verifier made {v['round_trips']:g} round trips "
                   f"({(v.get('bytes_sent', 0) + v.get('bytes_received', 0)) / 1e6:.1f} MB) in {v.get('seconds', 0):.1f} s.</p>")
    out.append("</section><section id='flagged'><h2>Flagged submissions</h2>")
    if not data["flagged"]:
        out.append(_none("None: no submission was flagged for review."))
    else:
        body = [[esc(f["student"]), esc(f["status"]), esc(f["detail"]) or "<span class='muted'>—</span>",
                 "<br>".join(esc(x) for x in f["findings"]) or "<span class='muted'>none</span>",
                 "<br>".join(esc(x) for x in f["repairs"]) or "<span class='muted'>none</span>"] for f in data["flagged"]]
        out.append(_table([("student", False), ("status", False), ("why (status detail)", False),
                           ("integrity findings", False), ("repairs", False)], body, "fixed",
                          ["12%", "9%", "33%", "28%", "18%"]))
    out.append("</section><section id='attention'><h2>Needs attention</h2>")
    if not data["attention"]:
        out.append(_none("None: no submission is invalid, errored, crashed, timed out or pending."))
    else:
        out.append("<p class='small muted'>invalid: could not be graded; error / pending: run the grade command again; "
                   "crashed / timed out: points earned before that count.</p>")
        out.append(_table([("student", False), ("status", False), ("detail", False)],
                          [[esc(a["student"]), esc(a["status"]), esc(a["detail"])] for a in data["attention"]], "fixed",
                          ["15%", "12%", "73%"]))
    out.append("</section><section id='feedback'><h2>Feedback problems</h2>")
    if not data["feedback_problems"]:
        out.append(_none("None: every graded submission got its feedback file as usual."))
    else:
        out.append(_table([("student", False), ("problem", False)],
                          [[esc(f["student"]), esc(f["problem"])] for f in data["feedback_problems"]], "fixed", ["15%", "85%"]))
    out.append("</section>")
    return "\n".join(out)


def render_html(data, images=None):
    """The report page for :func:`report_data`'s dict (one self-contained file: no external resource)."""
    images = plots(data) if images is None else images
    s = data["scores"]
    named = sum(1 for m in data["misconceptions"] if m["named"])
    summary = (f"{data['students']} students, {data['graded']} graded"
               + (f", median score {_num(s['median'])} of {_num(s['max_score'])}" if s["students"] else "")
               + f"; {named} recognised mistake{'s' if named != 1 else ''}, {len(data['suspect_tests'])} suspect "
               f"test{'s' if len(data['suspect_tests']) != 1 else ''}, {len(data['attention'])} to look at, "
               f"{data['manual_grading']['to_grade']} written answers to grade.")
    nav = "".join(f"<li><a href='#{a}'>{t}</a></li>" for a, t in (
        ("misconceptions", "What the class got wrong"), ("parts", "Parts"), ("scores", "Scores"),
        ("suspect", "Suspect tests"), ("manual", "Manual grading"), ("lateness", "Lateness"), ("status", "Submissions"),
        ("flagged", "Flagged"), ("attention", "Needs attention"), ("feedback", "Feedback problems")))
    page = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>{esc(data['assignment'])} grading report</title><style>{CSS}</style><script>{SCRIPT}</script></head><body>",
        f"<header><h1>{esc(data['assignment'])}: grading report</h1>",
        f"<p class='summary'>{esc(summary)}</p>",
        f"<p class='small muted'>Course {esc(str(data['course_id']))}, generated {esc(data['generated'])}. The same numbers, "
        "machine-readable: <code>report.json</code> next to this file.</p>",
        f"<nav aria-label='sections'><ul>{nav}</ul></nav></header><main>",
        _section_misconceptions(data), _section_parts(data, images), _section_suspect(data),
        _section_manual(data), _section_lateness(data), _section_submissions(data),
        "</main></body></html>",
    ]
    return "\n".join(page)


def write_report(info, rows, path, data=None):
    """Write ``report.html`` (``data``: :func:`report_data`'s dict when it was already made); returns the path."""
    data = report_data(info, rows) if data is None else data
    path = Path(path)
    path.write_text(render_html(data), encoding="utf-8")
    return path


def write_report_json(info, rows, path, data=None):
    """Write ``report.json``: :func:`report_data`'s dict, the numbers of ``report.html``; returns the path."""
    data = report_data(info, rows) if data is None else data
    path = Path(path)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


__all__ = ["report_data", "write_report", "write_report_json", "render_html", "misconceptions", "suspect_tests",
           "manual_grading", "parts_summary", "score_distribution"]
