"""`cnncourse autograde`: the whole class in parallel, on local processes and on a real Dask cluster.

One conv2d class (the sample class's students and the misbehaving ones)
is graded by plain `nbgrader autograde` once, as the yardstick, and then by
`cnncourse autograde` in several ways on copies of the same course:

* with 2 local workers: the same gradebook scores and graded cells as
  nbgrader's own run, a class report that says what it saw;
* on a Dask cluster (a real `dask scheduler` and two `dask worker`
  processes on localhost): the same scores and byte-identical feedback;
* killed with SIGKILL twice while grading, then run again: every
  submission graded exactly once, the database intact, the same scores,
  no grading process left behind;
* twice over (--force): identical autograded notebooks and feedback;
* with a submission that cannot be graded: recorded with its reason, the
  rest graded, exit status 1.
"""
import glob
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

pytest.importorskip("nbgrader")
import nbformat  # noqa: E402
from nbgrader.api import Gradebook  # noqa: E402

from cnncourse import demo  # noqa: E402
from cnncourse.grading.autograde import RECORD_MIME  # noqa: E402

pytestmark = pytest.mark.slow     # grades classes for real

ASSIGNMENT = "conv2d"
SECRET = "test-autograde-class"
# lower limits for the endless-loop students; both graders read them from nbgrader_config.py
CONFIG = """
c.SandboxedGrading.case_timeout = 2
c.SandboxedGrading.max_timeouts = 2
c.SandboxedGrading.cell_timeout = 5
c.SandboxedGrading.notebook_timeout = 30
"""


def env():
    return dict(os.environ, CNNCOURSE_SECRET=SECRET)


def cnncourse(course, *args, check=True, **kwargs):
    proc = subprocess.run([sys.executable, "-m", "cnncourse", "autograde", ASSIGNMENT, *args], cwd=course,
                          env=env(), capture_output=True, text=True, timeout=900, **kwargs)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def scores(course):
    """{student: {grade cell: score}} from the gradebook, and the number of submission rows."""
    out = {}
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            grades = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    grades[g.name] = (g.auto_score, g.manual_score, g.needs_manual_grade)
            out[sub.student.id] = grades
    db = sqlite3.connect(os.path.join(course, "gradebook.db"))
    try:
        rows = db.execute("SELECT student_id, COUNT(*) FROM submitted_assignment GROUP BY student_id").fetchall()
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    assert all(n == 1 for _, n in rows), rows
    return out


def graded_cells(course):
    """{student: [(grade id, outputs)]} of the graded cells in autograded/."""
    out = {}
    for student in sorted(os.listdir(os.path.join(course, "autograded"))):
        nb = nbformat.read(os.path.join(course, "autograded", student, ASSIGNMENT, f"{ASSIGNMENT}.ipynb"), 4)
        out[student] = [(c.metadata["nbgrader"]["grade_id"], c.outputs) for c in nb.cells
                        if any(RECORD_MIME in o.get("data", {}) for o in c.get("outputs", []))]
    return out


def feedback(course):
    demo.feedback(course, ASSIGNMENT)
    out = {}
    for student in sorted(os.listdir(os.path.join(course, "feedback"))):
        with open(os.path.join(course, "feedback", student, ASSIGNMENT, f"{ASSIGNMENT}.html"), "rb") as f:
            out[student] = f.read()
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A course with the class submitted and nothing graded."""
    course = str(tmp_path_factory.mktemp("class") / "course")
    demo.copy_course(course)
    with open(os.path.join(course, "nbgrader_config.py"), "a") as f:
        f.write(CONFIG)
    demo.generate(course, ASSIGNMENT)
    mod = demo.load_mistakes()
    students = dict(mod.SAMPLE_CLASS[ASSIGNMENT], **mod.MISBEHAVING[ASSIGNMENT])
    for student, mistakes in students.items():
        demo.submit(course, ASSIGNMENT, student, mistakes, mod.MISTAKES)
    return course, sorted(students)


def copy_of(base, tmp_path, name):
    dest = str(tmp_path / name)
    shutil.copytree(base[0], dest)
    return dest


@pytest.fixture(scope="module")
def yardstick(base, tmp_path_factory):
    """The class graded by plain `nbgrader autograde`."""
    course = str(tmp_path_factory.mktemp("nbgrader") / "course")
    shutil.copytree(base[0], course)
    old = os.environ.get("CNNCOURSE_SECRET")
    os.environ["CNNCOURSE_SECRET"] = SECRET
    try:
        demo.autograde(course, ASSIGNMENT)
    finally:
        if old is None:
            del os.environ["CNNCOURSE_SECRET"]
        else:
            os.environ["CNNCOURSE_SECRET"] = old
    return scores(course), graded_cells(course)


@pytest.fixture(scope="module")
def local(base, tmp_path_factory):
    """The class graded by `cnncourse autograde --workers 2`."""
    course = str(tmp_path_factory.mktemp("local") / "course")
    shutil.copytree(base[0], course)
    proc = cnncourse(course, "--workers", "2")
    return course, proc.stdout


def test_parallel_run_grades_like_nbgrader(base, yardstick, local):
    course, stdout = local
    assert f"{len(base[1])} graded, 0 already graded, 0 failed" in stdout
    assert scores(course) == yardstick[0]
    assert graded_cells(course) == yardstick[1]
    assert not os.path.exists(os.path.join(course, ".cnncourse-staging"))
    got = scores(course)
    assert sum(g[0] or 0 for g in got["ada"].values()) == 15       # the worked solution
    assert sum(g[0] or 0 for g in got["ben"].values()) == 0        # the untouched release


def test_class_report(local, base):
    course, stdout = local
    folder = os.path.join(course, "reports", ASSIGNMENT)
    assert f"class report: {folder}/index.html" in stdout
    with open(os.path.join(folder, "mistakes.csv")) as f:
        mistakes = f.read()
    n = len(base[1])
    # cara's flipped kernel and dan's SAME padding on the wrong side, counted over the class
    assert f"conv2d_forward,your output equals the true convolution,1,{n},cara" in mistakes
    assert f"conv2d_forward,SAME padding is on the wrong side,1,{n},dan" in mistakes
    assert f"conv2d_forward,raises NotImplementedError,1,{n},ben" in mistakes
    with open(os.path.join(folder, "grades.csv")) as f:
        grades = {line.split(",")[0]: line.strip().split(",") for line in f}
    assert grades["ada"][1:] == ["graded", "15", "15", "", "10", "15", "25", "yes"]
    with open(os.path.join(folder, "index.html")) as f:
        page = f.read()
    assert "kim" in page and "ran out of time" in page        # the endless loop, among the limits hit
    for name in ("scores_conv2d_forward.png", "mistakes_conv2d_forward.png", "total.png", "times.png"):
        with open(os.path.join(folder, name), "rb") as f:
            assert f.read(4) == b"\x89PNG"
        assert f'src="{name}"' in page


def test_second_run_has_nothing_to_do_and_force_gives_identical_results(local, tmp_path):
    course = local[0]
    proc = cnncourse(course, "--workers", "2")
    assert "0 graded" in proc.stdout and "0 failed" in proc.stdout
    before_cells, before_feedback = graded_cells(course), feedback(course)
    cnncourse(course, "--workers", "1", "--force")
    assert graded_cells(course) == before_cells
    assert feedback(course) == before_feedback


@pytest.fixture
def dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    bindir = os.path.dirname(sys.executable)
    dask = shutil.which("dask", path=bindir) or shutil.which("dask")
    assert dask, "the `dask` command (package distributed) is not installed"
    file = str(tmp_path / "scheduler.json")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", file], cwd=tmp_path, env=env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(300):
            if os.path.exists(file) and os.path.getsize(file):
                break
            time.sleep(0.1)
        for _ in range(2):
            procs.append(subprocess.Popen([dask, "worker", "--scheduler-file", file, "--nworkers", "1",
                                           "--nthreads", "1", "--no-dashboard"], cwd=tmp_path, env=env(),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client
        with Client(scheduler_file=file, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            address = client.scheduler.address
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_dask_cluster_grades_like_local_processes(base, local, dask_cluster, tmp_path):
    course = copy_of(base, tmp_path, "dask")
    proc = cnncourse(course, "--scheduler", dask_cluster)
    assert f"{len(base[1])} graded, 0 already graded, 0 failed" in proc.stdout
    assert scores(course) == scores(local[0])
    assert graded_cells(course) == graded_cells(local[0])
    assert feedback(course) == feedback(local[0])
    with open(os.path.join(course, "reports", ASSIGNMENT, "index.html")) as f:
        assert dask_cluster in f.read()


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkill_then_rerun_grades_everyone_exactly_once(base, local, tmp_path):
    course = copy_of(base, tmp_path, "killed")
    autograded = os.path.join(course, "autograded")     # a student's folder may be there, empty: not graded

    def graded_count():
        return len(glob.glob(os.path.join(autograded, "*", ASSIGNMENT)))

    for target in (1, 4):        # killed early, then again after a few more submissions
        start = graded_count()
        proc = subprocess.Popen([sys.executable, "-m", "cnncourse", "autograde", ASSIGNMENT, "--workers", "2"],
                                cwd=course, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while graded_count() < start + target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert workers, "the grading command had no worker processes"
        time.sleep(3)
        assert not [p for p in workers if _alive(p)], "a worker outlived the killed grading command"
    before = graded_count()
    assert 0 < before < len(base[1])
    proc = cnncourse(course, "--workers", "2")
    assert f"{len(base[1]) - before} graded, {before} already graded, 0 failed" in proc.stdout
    assert graded_count() == len(base[1])
    assert scores(course) == scores(local[0])          # one row per student, the same scores
    assert graded_cells(course) == graded_cells(local[0])
    assert not os.path.exists(os.path.join(course, ".cnncourse-staging"))


def test_a_submission_that_cannot_be_graded_is_recorded_and_the_rest_graded(base, tmp_path):
    course = copy_of(base, tmp_path, "broken")
    for student in base[1]:
        if student not in ("ada", "zed"):
            shutil.rmtree(os.path.join(course, "submitted", student))
    zed = os.path.join(course, "submitted", "zed", ASSIGNMENT)
    shutil.copytree(os.path.join(course, "submitted", "ada", ASSIGNMENT), zed)
    with open(os.path.join(zed, f"{ASSIGNMENT}.ipynb"), "w") as f:
        f.write('{"cells": [this is not JSON')
    proc = cnncourse(course, "--workers", "2", check=False)
    assert proc.returncode == 1
    assert "1 graded, 0 already graded, 1 failed" in proc.stdout
    assert "not graded: zed:" in proc.stdout
    assert set(scores(course)) == {"ada"}
    with open(os.path.join(course, "reports", ASSIGNMENT, "index.html")) as f:
        page = f.read()
    assert "zed" in page and "could not be graded" in page


def test_one_grader_per_course(base, tmp_path):
    import fcntl
    course = copy_of(base, tmp_path, "locked")
    fd = os.open(os.path.join(course, ".cnncourse-autograde.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = cnncourse(course, check=False)
    finally:
        os.close(fd)
    assert proc.returncode != 0 and "another grading run holds this course" in proc.stderr


def test_clear_errors_before_grading_anything(base, tmp_path):
    course = copy_of(base, tmp_path, "errors")
    run = [sys.executable, "-m", "cnncourse", "autograde"]
    proc = subprocess.run(run + ["nosuch"], cwd=course, env=env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "the gradebook has no assignment 'nosuch'" in proc.stderr
    assert "run `nbgrader generate_assignment nosuch` first" in proc.stderr
    proc = subprocess.run(run + [ASSIGNMENT, "--workers", "0"], cwd=course, env=env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode != 0 and "--workers must be at least 1" in proc.stderr
    proc = subprocess.run(run + [ASSIGNMENT, "--no-such-flag"], cwd=course, env=env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode != 0 and "unrecognized arguments: --no-such-flag" in proc.stderr
    assert not os.path.exists(os.path.join(course, "autograded"))
