"""Run the instructor's nbgrader workflow on a copy of the course and the sample class.

Used by `cnncourse demo` and by the pipeline tests:

    course = copy_course(tmpdir)                 # nbgrader_config.py + source/
    generate(course, "conv2d")                   # nbgrader generate_assignment
    submit(course, "conv2d", "cara", ["flipped_kernel"])   # a submission made from the release
    autograde(course, "conv2d")                  # nbgrader autograde (every submitted student)
    parallel.autograde(course, "conv2d")         # the same, in parallel, plus the class report
    feedback(course, "conv2d")                   # nbgrader generate_feedback
    table = gradebook_rows(course, "conv2d")     # read back from the SQLite gradebook
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from . import build as builder
from . import parallel

COURSE = builder.COURSE


def load_mistakes():
    from .sample_class import mistakes
    return mistakes


def copy_course(dest, source=COURSE):
    """A fresh course root at `dest`: the config and the source notebooks of the course at `source`."""
    os.makedirs(dest, exist_ok=True)
    shutil.copy(os.path.join(source, "nbgrader_config.py"), dest)
    shutil.copytree(os.path.join(source, "source"), os.path.join(dest, "source"), dirs_exist_ok=True)
    return dest


def nbgrader(course, *args, timeout=None, check=True):
    """Run one nbgrader command in the course root; returns the CompletedProcess."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    env = dict(os.environ)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    proc = subprocess.run(cmd, cwd=course, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def generate(course, assignment):
    return nbgrader(course, "generate_assignment", assignment, "--force")


def strip_markers(source):
    return "\n".join(line for line in source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def student_cells(assignment, mistakes, catalogue):
    """grade_id -> the source a student with these mistakes typed into each solution cell."""
    replacements, whole = {}, {}
    for name in mistakes:
        m = catalogue[name]
        if "code" in m:
            whole[m["function"]] = m["code"]
        else:
            replacements.setdefault(m["function"], []).extend(m["replace"])
    nb = builder.build_notebook(assignment, replacements)
    cells = {}
    for cell in nb.cells:
        md = cell.metadata.get("nbgrader", {})
        if md.get("solution"):
            gid = md["grade_id"]
            if cell.cell_type == "code":
                cells[gid] = whole.get(gid, strip_markers(cell.source))
            else:
                cells[gid] = "A sample answer, to be graded by hand.\n\n" + cell.source
    return cells


def submit(course, assignment, student, mistakes, catalogue=None):
    """Write submitted/<student>/<assignment>/ from the release notebook.

    ``mistakes``: names from the sample class's catalogue (``[]``: the worked
    solution), or ``"release"`` for the untouched release.
    """
    catalogue = catalogue if catalogue is not None else load_mistakes().MISTAKES
    fill = None if mistakes == "release" else student_cells(assignment, mistakes, catalogue)
    return submit_cells(course, assignment, student, fill or {})


def submit_cells(course, assignment, student, cells):
    """Write submitted/<student>/<assignment>/: the release notebook with the ``{grade_id: source}`` cells replaced."""
    import nbformat

    release = os.path.join(course, "release", assignment)
    dest = os.path.join(course, "submitted", student, assignment)
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    for name in os.listdir(release):
        src = os.path.join(release, name)
        if not name.endswith(".ipynb"):
            if os.path.isfile(src):
                shutil.copy(src, dest)
            continue
        nb = nbformat.read(src, as_version=4)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in cells:
                cell.source = cells[gid]
        nbformat.write(nb, os.path.join(dest, name))
    with open(os.path.join(dest, "timestamp.txt"), "w") as f:
        f.write("2026-11-26 08:00:00.000000 UTC\n")
    return dest


def autograde(course, assignment, *extra):
    return nbgrader(course, "autograde", assignment, "--create", "--force", *extra)


def feedback(course, assignment):
    return nbgrader(course, "generate_feedback", assignment, "--force")


def gradebook_rows(course, assignment):
    """[(student, {grade_id: (score, max_score)}, auto_score, auto_max)] from the gradebook."""
    from nbgrader.api import Gradebook

    rows = []
    url = "sqlite:///" + os.path.join(course, "gradebook.db")
    with Gradebook(url) as gb:
        for sub in sorted(gb.assignment_submissions(assignment), key=lambda s: s.student.id):
            cells = {}
            for nbsub in sub.notebooks:
                for g in nbsub.grades:
                    cells[g.name] = (g.score, g.max_score, g.auto_score is not None or g.manual_score is not None,
                                     g.cell_type)
            auto = sum(s for (s, m, graded, t) in cells.values() if t == "code")
            auto_max = sum(m for (s, m, graded, t) in cells.values() if t == "code")
            rows.append((sub.student.id, cells, auto, auto_max))
    return rows


def format_table(assignment, rows, notes=None):
    if not rows:
        return f"{assignment}: no submissions"
    code_cells = [k for k, v in rows[0][1].items() if v[3] == "code"]
    manual_cells = [k for k, v in rows[0][1].items() if v[3] != "code"]
    head = ["student"] + [c.replace("test_", "") for c in code_cells] + ["auto", "by hand"]
    maxes = ["(max)"] + [f"{rows[0][1][c][1]:g}" for c in code_cells] + \
        [f"{rows[0][3]:g}", f"{sum(rows[0][1][c][1] for c in manual_cells):g}"]
    body = []
    for student, cells, auto, auto_max in rows:
        line = [student] + [f"{cells[c][0]:g}" for c in code_cells] + [f"{auto:g}", "pending"]
        if notes and student in notes:
            line.append(notes[student])
        body.append(line)
    widths = [max(len(str(r[i])) for r in [head, maxes] + body if i < len(r)) for i in range(len(head))]
    out = [f"Gradebook: {assignment}"]
    for r in [head, maxes] + body:
        cells = [str(v).ljust(widths[i]) if i == 0 else str(v).rjust(widths[i]) for i, v in enumerate(r[:len(head)])]
        out.append("  ".join(cells) + ("   " + r[len(head)] if len(r) > len(head) else ""))
    return "\n".join(out)


def feedback_excerpt(course, assignment, student, max_lines=8):
    """The first lines of the first graded cell of ``student`` that lost points, as the feedback shows them."""
    import nbformat
    path = os.path.join(course, "autograded", student, assignment, f"{assignment}.ipynb")
    if not os.path.exists(path):
        return None
    for cell in nbformat.read(path, as_version=4).cells:
        md = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not md.get("grade"):
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        if text and not text.rstrip().endswith(f"{md.get('points', 0):g} / {md.get('points', 0):g}"):
            lines = text.rstrip().splitlines()
            return "\n".join(lines[:max_lines] + (["  ..."] if len(lines) > max_lines else []) + lines[-1:])
    return None


def demo(keep=None, assignments=None, source=COURSE, lang="en"):
    """Release and grade the sample class in the ``lang`` edition (conv2d or conv2d_cs, ...);
    print the gradebook; write feedback HTML."""
    mod = load_mistakes()
    course = os.path.abspath(keep) if keep else tempfile.mkdtemp(prefix="cnncore-course-")
    if keep and os.path.exists(course):
        for sub in ("release", "submitted", "autograded", "feedback", "gradebook.db"):
            p = os.path.join(course, sub)
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.remove(p)
    copy_course(course, source)
    print(f"course copy: {course}")
    classes = {}
    for a, students in mod.SAMPLE_CLASS.items():
        classes.setdefault(a, {}).update(students)
    for a, students in mod.MISBEHAVING.items():
        classes.setdefault(a, {}).update(students)
    wanted = [a for a in builder.available_assignments() if a in classes]
    if assignments:
        wanted = [a for a in wanted if a in assignments or builder.edition(a, lang) in assignments]
    for a in [builder.edition(a, lang) for a in wanted]:
        students = classes[builder.split_edition(a)[0]]
        print(f"\n== {a}: nbgrader generate_assignment")
        generate(course, a)
        notes = {}
        for student, mistakes in students.items():
            submit(course, a, student, mistakes, mod.MISTAKES)
            if mistakes == "release":
                notes[student] = "untouched release"
            elif not mistakes:
                notes[student] = "worked solution"
            else:
                notes[student] = "; ".join(mod.MISTAKES[m]["why"] for m in mistakes)
        print(f"== {a}: cnncourse autograde ({len(students)} submissions, in parallel)")
        t0 = time.monotonic()
        summary = parallel.autograde(course, a)
        dt = time.monotonic() - t0
        print(f"   autograde took {dt:.1f} s ({summary['seconds']:.1f} s grading), "
              f"{len(summary['graded'])} graded, {len(summary['failed'])} failed")
        for student, reason in sorted(summary["failed"].items()):
            print(f"   not graded: {student}: {reason}")
        print(f"   class report: {summary['report']}")
        if not summary["graded"]:
            raise SystemExit(f"cnncourse demo: no submission of {a} could be graded (see the reasons above)")
        feedback(course, a)
        print()
        print(format_table(a, gradebook_rows(course, a), notes))
        fb = os.path.join(course, "feedback")
        print(f"\nfeedback HTML: {fb}/<student>/{a}/{a}.html")
        excerpt = feedback_excerpt(course, a, "cara")
        if excerpt:
            print(f"feedback of cara ({a}), the first exercise that lost points:\n{excerpt}")
    if wanted:
        nbgrader(course, "export")
        print(f"\nnbgrader export: {os.path.join(course, 'grades.csv')}")
    print(f"\nThe course copy (release/, submitted/, autograded/, feedback/, gradebook.db) is in {course}")
    return 0
