"""The instructor's report of a grading run: ``report.html`` (one self-contained file)."""
import base64
import collections
import html
import io

from autograder.course import ASSIGNMENT_ID
from autograder.status import Status


def _figure_png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def report_data(rows):
    """The numbers behind the report's plots (kept apart from the plotting)."""
    graded = [r for r in rows if r.get("record", {}).get("tests")]
    scores = [float(r["score"]) for r in graded]
    lost = collections.Counter()
    for r in graded:
        for grade_id, (score, max_score) in r["record"]["tests"].items():
            if score is not None:
                lost[grade_id] += max_score - score
    messages = collections.Counter()
    for r in graded:
        for grade_id, message in r["record"].get("failures", {}).items():
            messages[(grade_id, message)] += 1
    flagged = [(r["student_id"], r["record"].get("findings", []), r.get("status_detail", ""))
               for r in rows if r["status"] == Status.FLAGGED.value or r.get("record", {}).get("findings")]
    return {"scores": scores, "lost": lost, "messages": messages, "flagged": flagged,
            "counts": collections.Counter(r["status"] for r in rows),
            "max_score": max([float(r["max_score"] or 0) for r in rows] + [0.0])}


def _plots(data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = {}
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(data["scores"], bins=min(20, max(5, len(data["scores"]) // 2 or 1)),
            range=(0, data["max_score"] or None), color="#4477aa")
    ax.set_xlabel("score")
    ax.set_ylabel("students")
    ax.set_title("Score distribution (graded submissions)")
    images["scores"] = _figure_png(fig)
    plt.close(fig)
    if data["lost"]:
        items = data["lost"].most_common()
        fig, ax = plt.subplots(figsize=(6, 0.25 * len(items) + 1))
        ax.barh([k for k, _ in items][::-1], [v for _, v in items][::-1], color="#cc6677")
        ax.set_xlabel("points lost, summed over students")
        ax.set_title("Points lost per test")
        images["lost"] = _figure_png(fig)
        plt.close(fig)
    return images


def write_report(info, rows, path):
    data = report_data(rows)
    images = _plots(data)
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{ASSIGNMENT_ID} grading report</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style></head><body>",
             f"<h1>{ASSIGNMENT_ID}: grading report</h1>", "<h2>Status</h2><table><tr><th>status</th><th>students</th></tr>"]
    parts += [f"<tr><td>{esc(s)}</td><td>{n}</td></tr>" for s, n in sorted(data["counts"].items())]
    parts.append("</table>")
    parts.append("<h2 id='scores'>Score distribution</h2>")
    parts.append(f"<img alt='score distribution' src='data:image/png;base64,{images['scores']}'>")
    parts.append("<h2 id='lost'>Points lost per test</h2>")
    if "lost" in images:
        parts.append(f"<img alt='points lost per test' src='data:image/png;base64,{images['lost']}'>")
    parts.append("<h2 id='messages'>Most common feedback messages</h2><table>"
                 "<tr><th>test</th><th>message</th><th>students</th></tr>")
    parts += [f"<tr><td>{esc(g)}</td><td>{esc(m)}</td><td>{n}</td></tr>"
              for (g, m), n in data["messages"].most_common(20)]
    parts.append("</table><h2 id='flagged'>Flagged submissions</h2><table>"
                 "<tr><th>student</th><th>integrity findings</th><th>grading notes</th></tr>")
    parts += [f"<tr><td>{esc(s)}</td><td>{esc('; '.join(f))}</td><td>{esc(d)}</td></tr>"
              for s, f, d in data["flagged"]]
    parts.append("</table><h2>Needs attention</h2><table><tr><th>student</th><th>status</th><th>detail</th></tr>")
    parts += [f"<tr><td>{esc(r['student_id'])}</td><td>{esc(r['status'])}</td><td>{esc(str(r.get('status_detail', '')))}</td></tr>"
              for r in rows if r["status"] in (Status.INVALID.value, Status.ERROR.value, Status.CRASHED.value, Status.TIMED_OUT.value, Status.PENDING.value)]
    parts.append("</table></body></html>")
    path.write_text("\n".join(parts))
    return path
