"""The class report: what an instructor reads after autograding one assignment.

    path = render("reports/conv2d", data)     # -> reports/conv2d/index.html

The data (a plain, JSON-able dict: the assignment, its autograded exercises
with every student's score and diagnosed mistakes, the students and the run)
is collected elsewhere; this module only renders it into ``out_dir``:

* ``index.html``: one self-contained page (inline style, no JavaScript):
  the run summary, per exercise its score histogram, its mistakes (how many
  students made each) and the students whose grading hit a limit or crashed,
  the submissions that could not be graded at all, and the grades;
* ``scores_<check>.png``, ``mistakes_<check>.png``, ``total.png``,
  ``times.png``: the plots, drawn with matplotlib's Agg canvas (nothing
  global is touched) and byte-for-byte reproducible;
* ``mistakes.csv``: one row per (exercise, mistake);
* ``grades.csv``: one row per student, telling the autograded points from
  the points of written answers still to be graded by hand, so a worked
  solution does not look like 15/25 while 10 points wait for the instructor.

Student ids, mistake labels and reasons come out of students' code: they are
HTML-escaped in the page, kept intact in the CSV files, never used in a file
name, and shown literally (no mathtext) in the plots.
"""
import csv
import glob
import html
import json
import math
import os
import re

import nbformat
import numpy as np

__all__ = ["render", "collect", "write", "GradingLog"]

MISTAKES_HEADER = ["exercise", "mistake", "students", "of", "student_ids"]
GRADES_HEADER = ["student", "status", "autograded", "autograded_max", "manual", "manual_max",
                 "total", "max", "to_grade_by_hand"]

DPI = 100
MAX_BAR_LABEL = 70      # characters of a mistake label shown in a bar chart (the table has all)
MAX_BARS = 25           # mistakes shown in a bar chart, the most frequent first

STYLE = """\
body { font-family: sans-serif; max-width: 60em; margin: 1em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: .2em .6em; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; }
tr.hand td { background: #fff6d5; }
img { max-width: 100%; display: block; margin: .5em 0; }
.note { color: #555; }
section { border-top: 2px solid #ddd; margin-top: 1.5em; }
"""


# ---------------------------------------------------------------- small helpers

def _fmt(x):
    """A number as ``:g``, None as the empty string."""
    return "" if x is None else f"{x:g}"


def _esc(x):
    return html.escape(str(x), quote=True)


def safe_name(name):
    """A file-name part made of [A-Za-z0-9_-] only (anything else becomes ``_``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(name)) or "_"


def _plot_text(text, limit=None):
    """Untrusted text as matplotlib shows it literally: no mathtext, one line, bounded."""
    text = " ".join(str(text).split())
    if limit is not None and len(text) > limit:
        text = text[:limit - 1] + "\u2026"
    return text.replace("$", r"\$")


def _mean(values):
    return sum(values) / len(values) if values else None


def _share(n, of):
    return f"{n} of {of}"


# ---------------------------------------------------------------- the numbers

def _exercise_names(exercises):
    """A unique file-safe name per exercise, in order (``a.b`` and ``a_b`` do not collide)."""
    names, used = [], set()
    for i, ex in enumerate(exercises):
        base = safe_name(ex.get("check") or ex.get("grade_id") or f"exercise{i + 1}")
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names.append(name)
    return names


def mistake_rows(exercises):
    """(exercise, mistake, count, of, student ids), by exercise order, then count descending, then label."""
    rows = []
    for ex in exercises:
        of = len(ex.get("scores") or {})
        mistakes = ex.get("mistakes") or {}
        for label in sorted(mistakes, key=lambda m: (-len(mistakes[m]), m)):
            ids = list(mistakes[label])
            rows.append((ex["check"], label, len(ids), of, ids))
    return rows


def grade_row(student):
    """One student's grades: a dict with the grades.csv columns (numbers, None when unknown)."""
    auto, auto_max = student.get("autograded"), student.get("autograded_max")
    manual, manual_max = student.get("manual"), student.get("manual_max")
    total = None if auto is None else auto + (manual or 0)
    top = None if auto_max is None else auto_max + (manual_max or 0)
    return {
        "student": student["student"], "status": student.get("status", "graded"),
        "autograded": auto, "autograded_max": auto_max, "manual": manual, "manual_max": manual_max,
        "total": total, "max": top,
        "to_grade_by_hand": "yes" if (manual_max or 0) > 0 and manual is None else "no",
    }


def _seconds(students):
    return [s["seconds"] for s in students if s.get("seconds") is not None]


# ---------------------------------------------------------------- CSV files

def write_mistakes_csv(path, exercises):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(MISTAKES_HEADER)
        for check, label, n, of, ids in mistake_rows(exercises):
            w.writerow([check, label, n, of, " ".join(ids)])


def write_grades_csv(path, students):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(GRADES_HEADER)
        for s in students:
            row = grade_row(s)
            w.writerow([row["student"], row["status"]]
                       + [_fmt(row[k]) for k in GRADES_HEADER[2:-1]]
                       + [row["to_grade_by_hand"]])


# ---------------------------------------------------------------- plots

def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    fig.clear()


def _score_bins(points):
    """Bin edges over 0..points: half points up to 10 points, whole points up to 40, else 40 bins."""
    if points <= 0:
        return np.linspace(0.0, 1.0, 2)
    if points <= 10:
        n = max(1, math.ceil(points * 2))
    elif points <= 40:
        n = math.ceil(points)
    else:
        n = 40
    return np.linspace(0.0, float(points), n + 1)


def _histogram(path, values, bins, title, xlabel, ylabel="students"):
    from matplotlib.ticker import MaxNLocator
    fig = _figure(6, 3.2)
    ax = fig.add_subplot()
    values = np.clip(np.asarray(values, dtype=float), bins[0], bins[-1])
    ax.hist(values, bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlim(bins[0], bins[-1])
    ax.set_title(_plot_text(title))
    ax.set_xlabel(_plot_text(xlabel))
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if len(values) == 0:
        ax.text(0.5, 0.5, "no graded submissions", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    _save(fig, path)


def plot_scores(path, ex):
    scores = list((ex.get("scores") or {}).values())
    points = float(ex.get("points") or 0)
    top = max([points] + scores)
    mean = _mean(scores)
    mean_text = "no scores" if mean is None else f"mean {mean:.2f} of {points:g}"
    _histogram(path, scores, _score_bins(top), f"{ex['check']}: {mean_text}", "points")


def plot_mistakes(path, ex):
    from matplotlib.ticker import MaxNLocator
    of = len(ex.get("scores") or {})
    rows = mistake_rows([ex])[:MAX_BARS]
    labels = [f"{_plot_text(label, MAX_BAR_LABEL)}: {_share(n, of)}" for _, label, n, _, _ in rows]
    counts = [n for _, _, n, _, _ in rows]
    fig = _figure(8, 1.2 + 0.35 * len(rows))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    ax.barh(y, counts, color="#c44e52")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()                      # the most frequent mistake on top
    ax.set_xlim(0, max([of, 1] + counts))
    ax.set_xlabel("students")
    ax.set_title(_plot_text(f"{ex['check']}: mistakes"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    _save(fig, path)


def plot_total(path, students):
    graded = [s for s in students if s.get("autograded") is not None]
    top = max([s.get("autograded_max") or 0 for s in graded] + [s["autograded"] for s in graded] + [0])
    scores = [s["autograded"] for s in graded]
    mean = _mean(scores)
    title = "autograded total" + ("" if mean is None else f": mean {mean:.2f} of {top:g}")
    _histogram(path, scores, _score_bins(top), title, "autograded points")


def plot_times(path, seconds):
    top = max(seconds) or 1.0
    _histogram(path, seconds, np.linspace(0.0, top * 1.02, 21), "grading time per submission",
               "seconds", ylabel="submissions")


# ---------------------------------------------------------------- HTML

def _table(header, rows, num=(), row_classes=None):
    """An HTML table (no header row if ``header`` is None); cells are escaped here (pass plain
    text), columns in ``num`` right-aligned, ``row_classes`` one CSS class (or "") per row."""
    def cell(tag, i, text):
        cls = ' class="num"' if i in num else ""
        return f"<{tag}{cls}>{_esc(text)}</{tag}>"

    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(cell("th", i, h) for i, h in enumerate(header)) + "</tr>")
    for r, row in enumerate(rows):
        cls = row_classes[r] if row_classes else ""
        tr = f'<tr class="{cls}">' if cls else "<tr>"
        out.append(tr + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _img(src, alt):
    return f'<img src="{_esc(src)}" alt="{_esc(alt)}">'


def _header_html(data):
    run = data.get("run") or {}
    students = data.get("students") or []
    seconds = _seconds(students)
    where = run.get("scheduler") or "local processes"
    summary = [
        ("workers", _fmt(run.get("workers")) or "?"),
        ("scheduler", where),
        ("wall time", f"{run['seconds']:.1f} s" if run.get("seconds") is not None else "unknown"),
        ("newly graded", _fmt(run.get("graded"))),
        ("already graded (skipped)", _fmt(run.get("skipped"))),
        ("failed", _fmt(run.get("failed"))),
        ("students", str(len(students))),
        ("seconds per submission",
         f"mean {_mean(seconds):.2f}, max {max(seconds):.2f}" if seconds else "unknown"),
    ]
    return "\n".join([
        f"<h1>Class report: {_esc(data.get('assignment', ''))}</h1>",
        "<h2>This run</h2>",
        _table(None, summary),
    ])


def _exercise_html(ex, files):
    scores = list((ex.get("scores") or {}).values())
    of = len(scores)
    mean = _mean(scores)
    points = float(ex.get("points") or 0)
    parts = [
        "<section>",
        f"<h2>{_esc(ex['check'])} <span class=\"note\">({_esc(ex.get('grade_id', ''))})</span></h2>",
        f"<p>{points:g} points; mean score "
        + (f"{mean:.2f}" if mean is not None else "&mdash;") + f" over {of} graded students.</p>",
        _img(files["scores"], f"histogram of the scores of {ex['check']}"),
    ]
    rows = mistake_rows([ex])
    if rows:
        parts.append("<h3>Mistakes</h3>")
        parts.append(_table(["mistake", "students", "share"],
                            [(label, " ".join(ids), _share(n, of_)) for _, label, n, of_, ids in rows]))
        parts.append(_img(files["mistakes"], f"mistakes in {ex['check']}"))
    else:
        parts.append('<p class="note">No mistakes diagnosed.</p>')
    problems = ex.get("problems") or {}
    if problems:
        parts.append("<h3>Grading hit a limit or crashed</h3>")
        parts.append(_table(["student", "reason"], [(s, problems[s]) for s in sorted(problems)]))
    parts.append("</section>")
    return "\n".join(parts)


def _failed_html(students):
    failed = [s for s in students if s.get("status") == "failed"]
    parts = ["<section>", "<h2>Submissions that could not be graded</h2>"]
    if failed:
        parts.append(_table(["student", "reason"], [(s["student"], s.get("reason") or "") for s in failed]))
    else:
        parts.append('<p class="note">None: every submission was graded.</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _grades_html(students):
    rows = [grade_row(s) for s in students]
    pending = [r for r in rows if r["to_grade_by_hand"] == "yes"]
    parts = ["<section>", "<h2>Grades</h2>"]
    if pending:
        parts.append(
            f"<p><strong>{len(pending)} of {len(rows)} submissions have written answers still to be "
            "graded by hand</strong> (highlighted): their total holds the autograded points only, "
            "out of a maximum that includes the points of the written answers.</p>")
    else:
        parts.append('<p class="note">No points are waiting to be graded by hand.</p>')
    header = ["student", "status", "autograded", "of", "by hand", "of", "total", "max",
              "still to grade by hand"]
    table_rows = [[r["student"], r["status"], _fmt(r["autograded"]), _fmt(r["autograded_max"]),
                   "not graded yet" if r["to_grade_by_hand"] == "yes" else _fmt(r["manual"]),
                   _fmt(r["manual_max"]), _fmt(r["total"]), _fmt(r["max"]), r["to_grade_by_hand"]]
                  for r in rows]
    parts.append(_table(header, table_rows, num={2, 3, 4, 5, 6, 7},
                        row_classes=["hand" if r["to_grade_by_hand"] == "yes" else "" for r in rows]))
    parts.append("</section>")
    return "\n".join(parts)


def _page(title, body):
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{_esc(title)}</title>",
        f"<style>\n{STYLE}</style>",
        "</head>",
        "<body>",
        body,
        "</body>",
        "</html>",
        "",
    ])


# ---------------------------------------------------------------- the report

def render(out_dir, data) -> str:
    """Write index.html, PNG plots and mistakes.csv and grades.csv into out_dir (created if missing); return the index.html path."""
    os.makedirs(out_dir, exist_ok=True)
    exercises = data.get("exercises") or []
    students = data.get("students") or []

    write_mistakes_csv(os.path.join(out_dir, "mistakes.csv"), exercises)
    write_grades_csv(os.path.join(out_dir, "grades.csv"), students)

    sections = []
    for ex, name in zip(exercises, _exercise_names(exercises)):
        files = {"scores": f"scores_{name}.png"}
        plot_scores(os.path.join(out_dir, files["scores"]), ex)
        if ex.get("mistakes"):
            files["mistakes"] = f"mistakes_{name}.png"
            plot_mistakes(os.path.join(out_dir, files["mistakes"]), ex)
        sections.append(_exercise_html(ex, files))

    plot_total(os.path.join(out_dir, "total.png"), students)
    overall = ["<section>", "<h2>All exercises</h2>", _img("total.png", "histogram of the autograded totals")]
    seconds = _seconds(students)
    if seconds:
        plot_times(os.path.join(out_dir, "times.png"), seconds)
        overall.append(_img("times.png", "histogram of the grading time per submission"))
    overall.append("</section>")

    body = "\n".join([
        _header_html(data),
        '<p>Data: <a href="mistakes.csv">mistakes.csv</a> (one row per exercise and mistake), '
        '<a href="grades.csv">grades.csv</a> (one row per student).</p>',
        "\n".join(overall),
        *sections,
        _failed_html(students),
        _grades_html(students),
    ])
    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(_page(f"Class report: {data.get('assignment', '')}", body))
    return path


# ---------------------------------------------------------------- collecting it from a course

class GradingLog:
    """``reports/ASSIGNMENT/grading-log.jsonl``: one line per submission graded or failed, appended.

    The gradebook has the scores; this log has what it does not: how long
    each grading took and why a submission could not be graded.  Appending
    a line is all a run does, so a killed run loses at most its last line.
    """

    def __init__(self, root, assignment):
        self.path = os.path.join(root, "reports", assignment, "grading-log.jsonl")

    def add(self, student, status, seconds, reason=None, timings=None):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        line = json.dumps({"student": student, "status": status,
                           "seconds": None if seconds is None else round(seconds, 3), "reason": reason,
                           "timings": {k: round(v, 3) for k, v in (timings or {}).items()}})
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def latest(self):
        """{student: their last entry}."""
        out = {}
        try:
            with open(self.path, encoding="utf-8") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:          # a line cut short by a kill
                        continue
                    out[entry["student"]] = entry
        except FileNotFoundError:
            pass
        return out


def graded_records(notebook_path):
    """[(grade_id, record)] of an autograded notebook's graded cells, in order."""
    from .grading.autograde import RECORD_MIME
    nb = nbformat.read(notebook_path, as_version=nbformat.NO_CONVERT)
    out = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            record = output.get("data", {}).get(RECORD_MIME)
            if record is not None:
                out.append((cell.metadata.get("nbgrader", {}).get("grade_id", ""), record))
    return out


def _points(gb, assignment, student):
    """(autograded score, autograded max, manual score or None while ungraded, manual max) from the gradebook."""
    auto = auto_max = manual = manual_max = 0.0
    ungraded = False
    submission = gb.find_submission(assignment, student)
    for notebook in submission.notebooks:
        solutions = {c.name for c in notebook.notebook.solution_cells}
        for g in notebook.grades:
            if g.cell_type == "code" and g.name not in solutions:
                auto += g.score or 0.0
                auto_max += g.max_score
            else:
                manual_max += g.max_score
                if g.manual_score is None and g.needs_manual_grade:
                    ungraded = True
                else:
                    manual += g.score or 0.0
    return auto, auto_max, (None if ungraded or not manual_max else manual), manual_max


def collect(root, assignment, coursedir, run):
    """The report's data for an assignment: gradebook points, graded cells' records, the grading log."""
    from nbgrader.api import Gradebook, MissingEntry

    log = GradingLog(root, assignment).latest()
    exercises, students = {}, []
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        for folder in sorted(glob.glob(coursedir.format_path(coursedir.autograded_directory, "*", assignment))):
            student = os.path.basename(os.path.dirname(folder))
            try:
                auto, auto_max, manual, manual_max = _points(gb, assignment, student)
            except MissingEntry:
                continue
            for path in sorted(glob.glob(os.path.join(folder, "*.ipynb"))):
                for grade_id, rec in graded_records(path):
                    ex = exercises.setdefault(grade_id, {"check": rec["check"], "grade_id": grade_id,
                                                         "points": rec["points"], "scores": {},
                                                         "mistakes": {}, "problems": {}})
                    ex["scores"][student] = rec["score"]
                    for label in rec["mistakes"]:
                        ex["mistakes"].setdefault(label, []).append(student)
                    if rec["problems"]:
                        ex["problems"][student] = "; ".join(rec["problems"])
            entry = log.get(student, {})
            students.append({"student": student, "status": "graded", "reason": None,
                             "autograded": auto, "autograded_max": auto_max, "manual": manual,
                             "manual_max": manual_max, "seconds": entry.get("seconds")})
    graded = {s["student"] for s in students}
    for student, entry in sorted(log.items()):
        if entry["status"] == "failed" and student not in graded:
            students.append({"student": student, "status": "failed", "reason": entry.get("reason"),
                             "autograded": None, "autograded_max": None, "manual": None, "manual_max": 0.0,
                             "seconds": None})
    students.sort(key=lambda s: s["student"])
    return {"assignment": assignment, "exercises": list(exercises.values()), "students": students, "run": run}


def write(root, assignment, coursedir, run):
    """Collect and render ``reports/ASSIGNMENT/`` in the course root; return index.html's path."""
    return render(os.path.join(root, "reports", assignment), collect(root, assignment, coursedir, run))
