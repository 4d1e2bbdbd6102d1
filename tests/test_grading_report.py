"""The instructor's report (``report.html`` + ``report.json``) on a synthetic class of 40, and on the demo class.

The synthetic class needs no kernel: rows shaped like ``outputs.class_rows`` (the ledger's
records) are drawn with a seeded generator from a realistic list of mistakes (diagnosis ids and
verifier-style messages whose numbers differ from student to student), and the written answers'
grades are put in a real SQLite gradebook made with nbgrader's API. The HTML is also rendered in
Debian chromium (Playwright): laptop width without horizontal scrolling, alt text, no network,
print layout; screenshots go to ``artifacts/screenshots/``.
"""
import collections
import json
import random
import re
from pathlib import Path

import nbformat
import pytest

from autograder.course import ASSIGNMENT_ID, COURSE_ROOT, NOTEBOOK_NAME, SOURCE_DIR, NOTEBOOK_FILE
from autograder.course import part_of
from autograder.grade import report
from autograder.grade.gradebook import quick_gradebook_creation
from autograder.grade.job import quiet_nbgrader_warnings
from autograder.grade.outputs import NBGRADER_COLUMNS
from autograder.grade.run import CourseInfo

SCREENSHOTS = COURSE_ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
COURSE_ID = "mixture-models"
SEED = 20240501


# ---- the synthetic class -------------------------------------------------------------------------
def grade_cells():
    """[(grade_id, points, cell_type)] of the source notebook, in notebook order."""
    cells = nbformat.read(SOURCE_DIR / NOTEBOOK_FILE, as_version=4).cells
    return [(c.metadata["nbgrader"]["grade_id"], float(c.metadata["nbgrader"]["points"]), c.cell_type)
            for c in cells if c.metadata.get("nbgrader", {}).get("grade")]


def _assign(r):
    n = r.randint(40, 300)
    return (f"get_cluster_assignments on well-separated 2-D data (N={n}, K=3, d=2, dtype float64): {n} of {n} points "
            f"were not assigned to their nearest centroid.\n  expected: point 0 -> centroid 0\n  got:      point 0 -> "
            f"centroid {r.randint(1, 2)}")


def _covs(r, what="covariances differ from the maximum-likelihood estimate"):
    n, k = r.randint(50, 250), r.randint(3, 6)
    a, b = r.uniform(0.3, 2), r.uniform(0.01, 0.3)
    return (f"m_step on 2-D data with K={k} and soft responsibilities (N={n}, K={k}, d=2, dtype float64): {what}.\n"
            f"  expected: covariances[1] = [[ {a:.3f}, -0.447], [-0.447, {a + 1:.3f}]]\n"
            f"  got:      covariances[1] = [[ {b:.3f}, -0.144], [-0.144, {b + 0.2:.3f}]]")


def _resp(r):
    n, k = r.randint(40, 120), r.randint(3, 5)
    return (f"e_step on 2-D data with K={k} (N={n}, K={k}, d=2, X dtype float64): the responsibilities differ from "
            f"p(z = k | x) (rows sum to [{r.random():.3f}, {r.random():.3f}, ...], expected 1).\n"
            f"  expected: row {r.randint(0, n - 1)}: [0., 1., 0.]\n  got:      row 7: [0. , {r.random():.3f}, 0. ]")


def _props(r):
    q = [round(r.uniform(0.31, 0.35), 3) for _ in range(3)]
    return ("sample_gmm: the components in z do not occur with probabilities category_prob (mixture with K=3, d=2, "
            f"unequal weights).\n  expected: proportions near [0.3, 0.1, 0.6]\n  got:      proportions {q}")


def _moments(r):
    return (f"sample_gmm: the points of component {r.randint(0, 2)} do not have the covariance of that component.\n"
            f"  expected: covariance near [[1.0, 0.4], [0.4, 0.5]]\n  got:      covariance [[{r.uniform(0.9, 1.2):.2f}, "
            f"0.16], [0.16, {r.uniform(0.2, 0.3):.2f}]]")


def _centroids(r):
    n = r.randint(30, 200)
    return (f"get_cluster_centroids on 2-D data with K=3 clusters (N={n}): the centroids are not the means of their "
            f"clusters.\n  expected: centroid 0 = [{r.uniform(-2, 2):.3f}, 0.512]\n  got:      centroid 0 = "
            f"[{r.uniform(-0.2, 0.2):.3f}, 0.031]")


def _not_written(name):
    return lambda r: f"{name} raised NotImplementedError: it has not been written yet."


def _raised(r):
    return (f"m_step raised an error when called with N={r.randint(20, 90)}, K=3, d=2:\n  ValueError: operands could "
            f"not be broadcast together with shapes (3,2) ({r.randint(20, 90)},2)\n  at line 12 of your code: "
            "diff = X - means")


def _elbow(r):
    return (f"elbow_scores: the score for K = 1 is missing.\n  expected: 10 scores for K = 1, ..., 10\n"
            f"  got:      10 scores starting with {r.uniform(-900, -400):.1f} (K = 0?)")


def _gmm(r):
    return f"gmm has not converged after {r.randint(2, 9)} calls to fit.\n  expected: gmm.converged_ is True\n  got:      False"


T = "test_"
# One entry per mistake: (part, diagnosis id or None (a failure with no diagnosis), weight, hidden checks
# that fail with the diagnosis, visible checks that fail with no diagnosis, message maker, likely mistake).
MISTAKES = [
    ("sample_gmm", "sampler.ignores_category_prob", 3, ["sample_gmm_proportions_hidden"], [], _props,
     "the proportions of z look uniform: was category_prob used?"),
    ("sample_gmm", "sampler.covariance_squared", 2, ["sample_gmm_moments_hidden"], [], _moments,
     "each covariance matrix seems to be used as a standard deviation (it was squared)"),
    ("sample_gmm", "sampler.not_written", 1, ["sample_gmm_shape_hidden", "sample_gmm_proportions_hidden",
                                              "sample_gmm_moments_hidden"], ["sample_gmm_visible"], _not_written("sample_gmm"), None),
    ("get_cluster_assignments", "assignments.argmax_not_argmin", 4, ["get_cluster_assignments_easy_hidden",
     "get_cluster_assignments_hard_hidden"], ["get_cluster_assignments_visible"], _assign,
     "every point went to its farthest centroid: argmax instead of argmin?"),
    ("get_cluster_assignments", "assignments.hard_coded_d", 2, ["get_cluster_assignments_hard_hidden"], [], _assign,
     "only the first two coordinates were used: is the dimension hard-coded to 2?"),
    ("get_cluster_assignments", "assignments.not_nearest", 1, ["get_cluster_assignments_easy_hidden",
     "get_cluster_assignments_hard_hidden"], [], _assign, None),
    ("get_cluster_centroids", "centroids.divided_by_N", 2, ["get_cluster_centroids_easy_hidden",
     "get_cluster_centroids_hard_hidden"], ["get_cluster_centroids_visible"], _centroids,
     "each sum was divided by N (all points) instead of the size of its cluster"),
    ("get_cluster_centroids", "centroids.medians_not_means", 1, ["get_cluster_centroids_easy_hidden",
     "get_cluster_centroids_hard_hidden"], [], _centroids, "these are the medians of the clusters, not their means"),
    ("e_step", "e_step.not_normalised", 3, ["e_step_values_hidden", "e_step_hard_hidden"], ["e_step_visible"], _resp,
     "right up to a factor per point: the rows are not normalised (divide each row by its sum)"),
    ("e_step", "e_step.weights_ignored", 2, ["e_step_values_hidden", "e_step_hard_hidden"], [], _resp,
     "the weights (mixing proportions) were not used"),
    ("e_step", "e_step.values_differ", 1, ["e_step_hard_hidden"], [], _resp, None),
    ("e_step", "e_step.not_written", 1, ["e_step_shape_hidden", "e_step_values_hidden", "e_step_hard_hidden"],
     ["e_step_visible"], _not_written("e_step"), None),
    ("m_step", "m_step.divided_by_N", 3, ["m_step_values_hidden", "m_step_hard_hidden"], [], _covs,
     "the weighted scatter was divided by N instead of N_k"),
    ("m_step", "m_step.unbiased_covariance", 2, ["m_step_values_hidden", "m_step_hard_hidden"], [], _covs,
     "divided by N_k - 1 instead of N_k (maximum likelihood divides by N_k)"),
    ("m_step", "m_step.raised_error", 1, ["m_step_shape_hidden", "m_step_values_hidden", "m_step_hard_hidden"],
     ["m_step_visible"], _raised, None),
    ("elbow_scores", "elbow.k_from_zero", 2, ["elbow_scores"], [], _elbow,
     "K = 1, ..., 10 is np.arange(1, 11) (range(10) starts at 0)"),
    ("em_convergence", "gmm.not_converged", 2, ["em_convergence"], [], _gmm,
     "keep calling gmm.fit(X) (warm_start=True continues where it stopped) until gmm.converged_ is True"),
    ("quantised_images", None, 1, [], ["quantised_images"], None, None),
]
# A wrong e_step or m_step (all but a value difference in the hard case) also stops the EM run, with no diagnosis.
BREAKS_EM = {"e_step.not_normalised", "e_step.weights_ignored", "e_step.not_written", "m_step.divided_by_N",
             "m_step.unbiased_covariance", "m_step.raised_error"}
MANUAL_STATES = (("by_hand", 0.5), ("no_response", 0.1), ("to_grade", 0.4))


def _row(student, status, detail="", record=None, score=0.0, max_score=80.0):
    row = dict.fromkeys(NBGRADER_COLUMNS, "")
    row.update(assignment=ASSIGNMENT_ID, student_id=student, raw_score=f"{score}", late_submission_penalty="0.0",
               score=f"{score}", max_score=f"{max_score}", status=status, status_detail=detail, record=record or {})
    return row


def make_class(tmp_path, n=40, seed=SEED):
    """40 students: rows as ``outputs.class_rows`` gives them, a real gradebook, and what is expected of the report."""
    r = random.Random(seed)
    cells = grade_cells()
    checks = [(g, p) for g, p, kind in cells if kind == "code"]
    answers = [(g, p) for g, p, kind in cells if kind == "markdown"]
    max_score = sum(p for _, p, _ in cells)
    points = {g: p for g, p, _ in cells}
    by_part = collections.defaultdict(list)
    for m in MISTAKES:
        by_part[m[0]].append(m)
    students = [f"student{i:02d}" for i in range(1, n + 1)]
    expected = {"diagnoses": collections.defaultdict(set), "suspects": collections.defaultdict(set),
                "manual": {g: collections.Counter() for g, _ in answers}, "to_grade": collections.defaultdict(list),
                "failed_parts": collections.defaultdict(set)}
    special = {"student07": "flagged", "student13": "timed out", "student39": "error", "student40": "invalid"}
    rows = []
    manual_plan = {}
    for student in students:
        status = special.get(student, "graded")
        if status in ("error", "invalid"):
            detail = ("grader error: the worker failed (BrokenProcessPool: a child process terminated abruptly)"
                      if status == "error" else "not a notebook: lab5-mixture-models.ipynb is not valid JSON (line 1)")
            rows.append(_row(student, status, detail))
            continue
        parts = r.sample(sorted(by_part), r.randint(2, 4))
        if status == "timed out" and "quantised_images" not in parts:
            parts.append("quantised_images")
        chosen = [r.choices(by_part[p], weights=[m[2] for m in by_part[p]])[0] for p in parts]
        tests = {g: [p, p] if kind == "code" else [None, p] for g, p, kind in cells}  # notebook order, as in a record
        failures, diagnoses, messages = {}, {}, {}
        for part, diagnosis, _, hidden, visible, make, likely in chosen:
            for g in hidden:
                text = make(r) + (f"\n  likely mistake: {likely}" if likely else "")
                tests[T + g][0] = 0.0
                diagnoses[T + g], messages[T + g] = diagnosis, text
                failures[T + g] = "AssertionError: " + text.splitlines()[0][:200]
                expected["failed_parts"][student].add(part)
            for g in visible:
                tests[T + g][0] = 0.0
                failures[T + g] = ("CellTimeoutError: A cell timed out while it was being executed, after 60 seconds."
                                   if status == "timed out" and g == "quantised_images"
                                   else "NameError: name 'quantised_kmeans' is not defined" if g == "quantised_images"
                                   else "AssertionError: expected [1, 0, 0, 1], got [0, 1, 1, 0]")
                expected["failed_parts"][student].add(part)
            expected["diagnoses"][diagnosis or f"{part}.no_diagnosis"].add(student)
            if len(hidden) + len(visible) == 1 and len([g for g, _ in checks if part_of(g) == part]) > 1:
                expected["suspects"][T + (hidden + visible)[0]].add(student)
        if {m[1] for m in chosen} & BREAKS_EM:
            tests["test_em_from_scratch_hidden"][0] = 0.0
            failures["test_em_from_scratch_hidden"] = ("AssertionError: the EM run above did not finish: read its error "
                                                       "(it calls your e_step and m_step)")
            expected["diagnoses"]["em_from_scratch.no_diagnosis"].add(student)
            expected["failed_parts"][student].add("em_from_scratch")
        if student == "student01":  # a value shown in a message (the first student's are the examples) stays text
            key = next(iter(messages), None)
            if key:
                messages[key] += "\n  got:      '<img src=\"http://example.invalid/x.png\"><script>fetch(\"http://example.invalid\")</script>'"
        plan = {g: r.choices([s for s, _ in MANUAL_STATES], weights=[w for _, w in MANUAL_STATES])[0] for g, _ in answers}
        manual_plan[student] = plan
        hand = {g: float(r.randint(0, int(p))) for g, p in answers if plan[g] == "by_hand"}
        for g, _ in answers:
            expected["manual"][g][plan[g]] += 1
            if plan[g] == "to_grade":
                expected["to_grade"][g].append(student)
            tests[g] = [0.0 if plan[g] == "no_response" else None, points[g]]
        score = sum(s for s, _ in tests.values() if s is not None) + sum(hand.values())
        record = {"student_id": student, "status": status, "tests": tests, "failures": failures, "diagnoses": diagnoses,
                  "messages": messages, "verifier": {"round_trips": 66, "bytes_sent": 200_000, "bytes_received": 700_000,
                                                     "seconds": 0.3},
                  "findings": [], "repairs": []}
        detail = ""
        if status == "flagged":
            record["findings"] = ["cell 24 (e_step), line 3: np.allclose = lambda *a, **k: True (replaces a numpy function)"]
            record["repairs"] = ["test cell test_e_step_visible was deleted: restored from the release"]
            detail = "test cell test_e_step_visible was deleted: restored from the release; flagged for review (the score stands): " + record["findings"][0]
        if status == "timed out":
            detail = "cell test_quantised_images timed out after 60 s: the cells that could not run score zero"
        if student == "student05":
            record["feedback_problem"] = ("feedback made from the outputs reduced to text, because nbgrader could not "
                                          "render them: ValueError: unsupported image type image/x-bogus")
            detail = record["feedback_problem"]
        rows.append(_row(student, status, detail, record, score, max_score))
        rows[-1]["_hand"] = hand
    db = tmp_path / "gradebook.db"
    build_gradebook(db, cells, rows, manual_plan)
    info = CourseInfo(root=tmp_path, db_url=f"sqlite:///{db}", course_id=COURSE_ID)
    for row in rows:
        row.pop("_hand", None)
    expected["graded"] = [r_["student_id"] for r_ in rows if r_["record"]]
    return info, rows, expected


def build_gradebook(path, cells, rows, manual_plan):
    """A real nbgrader SQLite gradebook: the assignment's cells, a submission per graded student, the written answers' grades."""
    from nbgrader.api import Gradebook

    quiet_nbgrader_warnings()
    with quick_gradebook_creation(), Gradebook(f"sqlite:///{path}", COURSE_ID) as gb:
        gb.update_or_create_assignment(ASSIGNMENT_ID)
        gb.update_or_create_notebook(NOTEBOOK_NAME, ASSIGNMENT_ID)
        for grade_id, points, kind in cells:
            gb.update_or_create_grade_cell(grade_id, NOTEBOOK_NAME, ASSIGNMENT_ID, max_score=points, cell_type=kind)
        for row in rows:
            if not row["record"]:
                continue
            student = row["student_id"]
            gb.update_or_create_student(student)
            gb.add_submission(ASSIGNMENT_ID, student)
            for grade_id, _, kind in cells:
                grade = gb.find_grade(grade_id, NOTEBOOK_NAME, ASSIGNMENT_ID, student)
                if kind == "code":
                    grade.auto_score, grade.needs_manual_grade = row["record"]["tests"][grade_id][0], False
                else:
                    state = manual_plan[student][grade_id]
                    grade.needs_manual_grade = state == "to_grade"
                    grade.auto_score = 0.0 if state == "no_response" else None
                    grade.manual_score = row["_hand"].get(grade_id) if state == "by_hand" else None
            gb.db.commit()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report-synthetic")
    info, rows, expected = make_class(tmp)
    data = report.report_data(info, rows)
    html_path = report.write_report(info, rows, tmp / "report.html", data=data)
    json_path = report.write_report_json(info, rows, tmp / "report.json", data=data)
    return {"info": info, "rows": rows, "expected": expected, "data": data, "html": html_path, "json": json_path, "tmp": tmp}


def _soup(path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(Path(path).read_text(), "html.parser")


def _text(cell):
    return " ".join(cell.get_text(" ").split())


# ---- the numbers ---------------------------------------------------------------------------------
def test_misconceptions_count_students_per_diagnosis_id(synthetic):
    data, expected = synthetic["data"], synthetic["expected"]
    got = {m["id"]: set(m["students"]) for m in data["misconceptions"]}
    assert got == {k: v for k, v in expected["diagnoses"].items()}
    graded = len(expected["graded"])
    assert data["graded"] == graded == 38
    for m in data["misconceptions"]:
        assert m["count"] == len(m["students"]) and m["share"] == round(m["count"] / graded, 4)
    # the same mistake in two checks, with different numbers in each message, counts its student once
    argmax = next(m for m in data["misconceptions"] if m["id"] == "assignments.argmax_not_argmin")
    assert argmax["occurrences"] == 2 * argmax["count"] and argmax["count"] >= 2
    one = argmax["students"][0]
    messages = synthetic["rows"][[r["student_id"] for r in synthetic["rows"]].index(one)]["record"]["messages"]
    assert messages["test_get_cluster_assignments_easy_hidden"] != messages["test_get_cluster_assignments_hard_hidden"]
    assert argmax["description"] == "every point went to its farthest centroid: argmax instead of argmin?"
    assert argmax["parts"] == ["get_cluster_assignments"]
    assert "likely mistake:" in argmax["example"]["message"]


def test_misconceptions_named_first_then_generic_each_by_students(synthetic):
    items = synthetic["data"]["misconceptions"]
    named = [m["named"] for m in items]
    assert named == sorted(named, reverse=True) and any(named) and not all(named)
    for group in (True, False):
        counts = [m["count"] for m in items if m["named"] is group]
        assert counts == sorted(counts, reverse=True)
    generic = {m["id"] for m in items if not m["named"]}
    assert {"e_step.values_differ", "m_step.raised_error", "e_step.not_written", "em_from_scratch.no_diagnosis",
            "quantised_images.no_diagnosis"} <= generic  # each drawn at least once with this seed
    assert "e_step.not_normalised" not in generic
    # a generic id without a likely-mistake line is described by its message's first line
    raised = next(m for m in items if m["id"] == "m_step.raised_error")
    assert raised["description"].startswith("m_step raised an error when called with")
    assert "ValueError: operands could not be broadcast" in raised["description"]  # the line after its colon too
    nodiag = next(m for m in items if m["id"] == "quantised_images.no_diagnosis")
    assert nodiag["description"].startswith("failed without a diagnosis; most often: ")


def test_visible_failures_are_not_counted_twice(synthetic):
    """A part whose hidden checks carry a diagnosis gets no ``no_diagnosis`` entry for its failed visible check."""
    ids = {m["id"] for m in synthetic["data"]["misconceptions"]}
    assert not {"e_step.no_diagnosis", "get_cluster_assignments.no_diagnosis", "m_step.no_diagnosis"} & ids


def test_parts_pass_rates_and_distributions(synthetic):
    data, expected = synthetic["data"], synthetic["expected"]
    graded = expected["graded"]
    parts = {p["part"]: p for p in data["parts"]}
    assert list(parts)[:3] == ["sample_gmm", "get_cluster_assignments", "get_cluster_centroids"]
    assert not [p for p in parts if p.startswith("answer_")]  # written answers are not checks
    zero = [g for g, p, kind in grade_cells() if kind == "code" and p == 0]
    assert not {part_of(g) for g in zero} & set(parts)  # nor are checks worth no points
    for name, p in parts.items():
        failed = {s for s in graded if name in expected["failed_parts"][s]}
        assert p["passed"] == len(graded) - len(failed), name
        assert p["pass_rate"] == round(p["passed"] / len(graded), 4)
        assert sum(c for _, c in p["distribution"]) == len(graded)
        assert p["full_marks"] == p["passed"]
    scores = data["scores"]
    assert scores["students"] == len(graded) and sum(scores["histogram"]["counts"]) == len(graded)
    assert scores["max_score"] == 80.0 and scores["histogram"]["edges"][-1] >= 80.0


def test_suspect_tests_on_a_crafted_case():
    def rec(**scores):
        tests = {"test_e_step_visible": [2, 2], "test_e_step_shape_hidden": [2, 2], "test_e_step_values_hidden": [3, 3],
                 "test_e_step_hard_hidden": [3, 3], "test_gmm_new_samples": [3, 3], "answer_em_vs_kmeans": [0, 2]}
        for key, value in scores.items():
            if value is None:
                del tests[f"test_{key}"]
            else:
                tests[f"test_{key}"][0] = value
        failed = {g: "e_step.values_differ" for g, (s, m) in tests.items() if s is not None and s < m and g.startswith("test_")}
        return {"tests": tests, "diagnoses": failed, "messages": {g: f"{g} differs\n  expected: 1\n  got: 2" for g in failed}}

    records = {
        "s1": rec(e_step_hard_hidden=0),  # fails only the hard check: suspect
        "s2": rec(e_step_hard_hidden=0, e_step_values_hidden=0),  # fails two: not a suspect
        "s3": rec(),  # passes everything (its written answer is 0 of 2: no matter)
        "s4": rec(e_step_visible=0),  # fails only the visible check: suspect for it
        "s5": rec(gmm_new_samples=0),  # a one-check part: never suspect
        "s6": rec(e_step_shape_hidden=None, e_step_hard_hidden=0),  # missing a check of the part: not a suspect
        "s7": rec(e_step_hard_hidden=1.5),  # partial marks count as failing: suspect
    }
    graded = [{"student_id": s, "status": "graded", "score": "1", "max_score": "80", "record": r} for s, r in records.items()]
    got = report.suspect_tests(graded)
    assert [(s["test"], s["students"], s["failed_by"]) for s in got] == [
        ("test_e_step_hard_hidden", ["s1", "s7"], 4), ("test_e_step_visible", ["s4"], 1)]
    assert got[0]["part"] == "e_step" and got[0]["diagnoses"] == {"e_step.values_differ": 2}
    assert got[0]["other_checks"] == ["test_e_step_visible", "test_e_step_shape_hidden", "test_e_step_values_hidden"]
    assert "Precisely" in report.suspect_tests.__doc__


def test_suspect_tests_in_the_synthetic_class(synthetic):
    got = {s["test"]: set(s["students"]) for s in synthetic["data"]["suspect_tests"]}
    assert got == dict(synthetic["expected"]["suspects"])
    assert "test_e_step_hard_hidden" in got and "test_sample_gmm_proportions_hidden" in got


def test_manual_grading_progress_from_the_gradebook(synthetic):
    manual, expected = synthetic["data"]["manual_grading"], synthetic["expected"]
    assert manual["error"] is None and manual["submissions"] == len(expected["graded"])
    assert [q["question"] for q in manual["questions"]] == [g for g, _, k in grade_cells() if k == "markdown"]
    for q in manual["questions"]:
        want = expected["manual"][q["question"]]
        assert (q["by_hand"], q["no_response"], q["to_grade"]) == (want["by_hand"], want["no_response"], want["to_grade"])
        assert q["graded"] == want["by_hand"] + want["no_response"] and q["submissions"] == len(expected["graded"])
        assert q["students_to_grade"] == sorted(expected["to_grade"][q["question"]])
    assert manual["to_grade"] == sum(c["to_grade"] for c in expected["manual"].values())


def test_statuses_flagged_attention_feedback(synthetic):
    data = synthetic["data"]
    assert data["students"] == 40
    assert data["statuses"]["graded"] == 36 and data["statuses"]["flagged"] == 1
    assert data["statuses"]["timed out"] == 1 and data["statuses"]["invalid"] == 1 and data["statuses"]["error"] == 1
    assert [f["student"] for f in data["flagged"]] == ["student07"] and data["flagged"][0]["findings"]
    assert [(a["student"], a["status"]) for a in data["attention"]] == [
        ("student13", "timed out"), ("student39", "error"), ("student40", "invalid")]
    assert all(a["detail"] for a in data["attention"])
    assert [f["student"] for f in data["feedback_problems"]] == ["student05"]


def test_json_twin_has_the_numbers_of_the_html(synthetic):
    data = json.loads(synthetic["json"].read_text())
    assert data == json.loads(json.dumps(synthetic["data"]))
    soup = _soup(synthetic["html"])
    rows = soup.select("tr[data-diagnosis]")
    assert [(r["data-diagnosis"], int(_text(r.find_all("td")[2]))) for r in rows] == [
        (m["id"], m["count"]) for m in data["misconceptions"]]
    for r, m in zip(rows, data["misconceptions"]):
        cells = r.find_all("td")
        assert _text(cells[3]) == f"{100 * m['share']:.0f}%"
        assert _text(cells[4].find("span")) == ", ".join(m["students"])
        assert m["description"] in _text(cells[1])
    parts = soup.select("tr[data-part]")
    assert [(r["data-part"], int(_text(r.find_all("td")[3])), _text(r.find_all("td")[4])) for r in parts] == [
        (p["part"], p["passed"], f"{100 * p['pass_rate']:.0f}%") for p in data["parts"]]
    suspects = soup.select("tr[data-test]")
    assert [(r["data-test"], int(_text(r.find_all("td")[2])), int(_text(r.find_all("td")[3]))) for r in suspects] == [
        (s["test"], s["count"], s["failed_by"]) for s in data["suspect_tests"]]
    questions = soup.select("tr[data-question]")
    assert [(r["data-question"], int(_text(r.find_all("td")[2])), int(_text(r.find_all("td")[5]))) for r in questions] == [
        (q["question"], q["graded"], q["to_grade"]) for q in data["manual_grading"]["questions"]]
    status_rows = soup.select("#status tbody tr")
    assert {_text(r.find_all("td")[0]): int(_text(r.find_all("td")[1])) for r in status_rows} == {
        **{s: n for s, n in data["statuses"].items() if n}, "total": 40}
    # two separate calls give the same numbers (only the time stamp differs)
    again = report.report_data(synthetic["info"], synthetic["rows"])
    assert {**again, "generated": None} == {**synthetic["data"], "generated": None}


def test_html_is_self_contained_and_escapes_student_values(synthetic):
    text = synthetic["html"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", text)
    assert "url(" not in text and "@import" not in text
    assert "<script>fetch" not in text and "&lt;script&gt;fetch" in text
    soup = _soup(synthetic["html"])
    images = soup.find_all("img")
    assert len(images) == 3 and all(i["src"].startswith("data:image/png;base64,") for i in images)
    assert all(len(i.get("alt", "")) > 40 for i in images)
    assert "sample_gmm" in images[0]["alt"] and "%" in images[0]["alt"]
    assert not soup.select("tbody:empty") and all(t.find("tbody").find("tr") for t in soup.find_all("table"))
    for anchor in ("id='misconceptions'", "id='parts'", "id='scores'", "id='suspect'", "id='manual'", "id='flagged'"):
        assert anchor in text
    first = soup.find("main").find("section")
    assert first["id"] == "misconceptions" and first.find("h2").get_text() == "What the class got wrong"


def test_empty_sections_say_none(tmp_path):
    """No student failed anything, nothing flagged, nothing to look at: sentences, never empty tables."""
    cells = grade_cells()
    rows = []
    for i in range(3):
        tests = {g: [p, p] for g, p, kind in cells if kind == "code"}
        rows.append(_row(f"perfect{i}", "graded", record={"tests": tests, "failures": {}, "diagnoses": {}, "messages": {}}))
    db = tmp_path / "gradebook.db"
    from nbgrader.api import Gradebook

    with quick_gradebook_creation(), Gradebook(f"sqlite:///{db}", COURSE_ID) as gb:  # no written answers at all
        gb.update_or_create_assignment(ASSIGNMENT_ID)
        gb.update_or_create_notebook(NOTEBOOK_NAME, ASSIGNMENT_ID)
    for info, rows_, manual_words in [
        (CourseInfo(root=tmp_path, db_url=f"sqlite:///{db}", course_id=COURSE_ID), rows, "None: the assignment has no written answer"),
        (CourseInfo(root=tmp_path, db_url=f"sqlite:///{tmp_path / 'absent.db'}", course_id=COURSE_ID), [], "Not available: no gradebook"),
    ]:
        path = report.write_report(info, rows_, tmp_path / "report.html")
        soup = _soup(path)
        assert not (tmp_path / "absent.db").exists()  # reading progress never creates a gradebook
        sections = {s["id"]: s for s in soup.find_all("section")}
        for name in ("misconceptions", "suspect", "flagged", "attention", "feedback", "manual"):
            assert not sections[name].find("table"), name
            sentence = _text(sections[name].find("p", class_="none"))
            assert sentence.startswith(("None", "Not available")) and sentence.endswith("."), (name, sentence)
        assert manual_words in _text(sections["manual"])
        if rows_:
            assert sections["parts"].find("table") and sections["scores"].find("img")
        else:
            assert not sections["parts"].find("table") and not sections["scores"].find("img")
            assert "None" in _text(sections["status"])
        assert not soup.select("tbody:empty")


def test_cli_json_prints_the_report_numbers(synthetic, tmp_path, monkeypatch, capsys):
    """``./course grade --json``: report.json (always written) on stdout, the human summary on stderr."""
    from autograder.grade import __main__ as cli
    from autograder.grade import outputs, run

    info, rows = synthetic["info"], synthetic["rows"]

    def fake_grade_class(**kwargs):
        out = kwargs["output_dir"]
        out.mkdir(parents=True, exist_ok=True)
        data = report.report_data(info, rows)
        report.write_report(info, rows, out / "report.html", data=data)
        report.write_report_json(info, rows, out / "report.json", data=data)
        return []

    monkeypatch.setattr(run, "grade_class", fake_grade_class)
    monkeypatch.setattr(run, "course_info", lambda *a, **k: info)
    monkeypatch.setattr(outputs, "class_rows", lambda _info: rows)
    assert cli.build_parser().parse_args([]).json is False
    code = cli.main(["--json", "--no-progress", "--output", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0
    printed = json.loads(captured.out)
    assert printed["misconceptions"] == synthetic["data"]["misconceptions"]
    assert "graded in this run" in captured.err and "report.json" in captured.err
    assert (tmp_path / "out" / "report.json").is_file() and (tmp_path / "out" / "report.html").is_file()


# ---- in chromium ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1366, "height": 768})
        try:
            yield context
        finally:
            context.close()


def open_report(context, path):
    """Open a report in a fresh tab; every request other than the file itself is recorded and refused."""
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))

    def refuse(route):
        route.abort()

    page.route(re.compile(r"^(https?|wss?|ftp)://"), refuse)
    page.goto(Path(path).resolve().as_uri(), wait_until="load")
    return page, requests


def check_layout(page):
    """At 1366x768: no horizontal scrollbar (page or table), every image loaded and described."""
    page.set_viewport_size({"width": 1366, "height": 768})
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    overflowing = page.evaluate("""[...document.querySelectorAll('.table')]
        .filter(t => t.scrollWidth > t.clientWidth + 1).map(t => t.parentElement.id)""")
    assert overflowing == []
    images = page.evaluate("[...document.images].map(i => [i.alt, i.complete && i.naturalWidth > 0, i.getBoundingClientRect().right])")
    assert images and all(len(alt) > 40 and loaded and right <= 1366 for alt, loaded, right in images), images


def check_print(page, screenshot):
    """Print media: every <details> open, nothing wider than an A4 page; a print-emulated screenshot and a PDF."""
    page.set_viewport_size({"width": 760, "height": 1000})
    page.emulate_media(media="print")
    page.wait_for_function("[...document.querySelectorAll('details')].every(d => d.open)")
    hidden = page.evaluate("""[...document.querySelectorAll('details > :not(summary)')]
        .filter(e => e.getBoundingClientRect().height === 0).length""")
    assert hidden == 0
    too_wide = page.evaluate("""[...document.querySelectorAll('table, figure img, pre')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length""")
    assert too_wide == 0
    page.screenshot(path=str(screenshot), full_page=True)
    pdf = page.pdf(format="A4", print_background=True, margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    page.emulate_media(media="screen")
    return pdf


@pytest.mark.browser
def test_synthetic_report_in_chromium(synthetic, chromium):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, requests = open_report(chromium, synthetic["html"])
    try:
        assert page.title() == f"{ASSIGNMENT_ID} grading report"
        check_layout(page)
        first = page.locator("main section").first
        assert first.get_attribute("id") == "misconceptions"
        rows = page.eval_on_selector_all("tr[data-diagnosis]", "rs => rs.map(r => [r.dataset.diagnosis, +r.dataset.count])")
        assert rows == [[m["id"], m["count"]] for m in synthetic["data"]["misconceptions"]]
        details = page.locator("tr[data-diagnosis] details").first
        assert not details.evaluate("d => d.open")
        details.locator("summary").click()
        assert details.evaluate("d => d.open")
        page.screenshot(path=str(SCREENSHOTS / "report-synthetic-40.png"), full_page=True)
        pdf = check_print(page, SCREENSHOTS / "report-synthetic-40-print.png")
        (synthetic["tmp"] / "report-synthetic-40.pdf").write_bytes(pdf)
        assert page.evaluate("document.querySelectorAll('script').length") == 1  # the inline print helper only
    finally:
        page.close()
    me = Path(synthetic["html"]).resolve().as_uri()
    assert [u for u in requests if u != me and not u.startswith("data:")] == []


@pytest.mark.slow
@pytest.mark.browser
def test_demo_report(demo_run, chromium):
    """The 5 demo students graded for real: their known mistakes are in the report, which renders well."""
    path = demo_run["report"]
    data = json.loads(path.with_name("report.json").read_text())
    found = {m["id"]: m["students"] for m in data["misconceptions"]}
    assert found["assignments.argmax_not_argmin"] == ["ben"] and found["m_step.divided_by_N"] == ["ben"]
    assert found["e_step.not_normalised"] == ["cara"] and found["sampler.ignores_category_prob"] == ["cara"]
    assert data["graded"] == 5 and data["manual_grading"]["error"] is None
    assert data["manual_grading"]["questions"] and data["manual_grading"]["submissions"] == 5
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, requests = open_report(chromium, path)
    try:
        check_layout(page)
        page.screenshot(path=str(SCREENSHOTS / "report-demo.png"), full_page=True)
        check_print(page, path.with_name("report-demo-print.png"))
    finally:
        page.close()
    me = path.resolve().as_uri()
    assert [u for u in requests if u != me and not u.startswith("data:")] == []
