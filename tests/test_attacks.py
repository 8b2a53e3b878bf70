"""Hostile notebooks, graded by the real `cnncourse autograde`: they earn nothing and break nothing.

The catalogue (`cnncourse/sample_class/attacks.py`) holds students of the
`conv2d` assignment who implement nothing honestly and attack the grader
instead: IPython transformers and hooks, settrace, display formatters, fake
kernel messages, fake grader modules, files written into site-packages or
the course, reading the solutions, a gradebook daemon, sockets, floods,
crashes, ...  All of them are graded in ONE run of `cnncourse autograde
--workers 2` (nbgrader's Autograde, the submissions graded two at a time,
each in its own sandbox) together with two honest students (`ada`, the
worked solution; `cara`, typical mistakes), and the honest students are
graded once more in a separate clean run.  For each attack we assert

(a) 0 points in every autograded cell (and that it was graded at all);
(b) no damage: no marker under /tmp/cnncourse-attack-markers/ (also 12 s after
    grading, for children that outlive it), no changed file in the course root
    outside what the grader writes (autograded/, the gradebook, reports/), no changed file in the
    installed cnncore/cnncourse, nothing new in site-packages or in the other
    places an attack writes to (~, /tmp, /dev/shm, /usr/lib/python3*, ...), the
    classmates' CANARY.txt files untouched, no connection to the loopback
    server this module runs on 127.0.0.1:47813, no process left running;
(c) ada and cara get the same scores and the same diagnostics as in the clean run.

Cost: one autograde run with every attacker (a few seconds each; the slow
ones are bounded by the grader's limits below) plus a short clean run.
"""
import ast
import compileall
import fnmatch
import glob
import hashlib
import importlib.util
import os
import re
import shutil
import signal
import site
import socket
import stat
import subprocess
import sys
import sysconfig
import threading
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

try:
    from cnncourse.sample_class import attacks as catalogue
except ImportError:  # the course package not installed: the catalogue is plain data, load it by path
    _spec = importlib.util.spec_from_file_location(
        "cnncourse_attacks", os.path.join(ROOT, "cnncourse", "sample_class", "attacks.py"))
    catalogue = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(catalogue)

ATTACKS = catalogue.ATTACKS

# ----------------------------------------------------------------------------
# >>> Options of the grader for both runs of this module (CHECK the trait names
# against cnncourse/grading/autograde.py).  Small limits keep the attack run
# short: the memory hog wants 6 GiB, the fork bomb 2000 processes, the output
# flood 2 x 300 MB, signal_tricks/cpu_burn hang or spin 20-40 s per function.
# The clean run uses the same options, so the honest grades compare exactly.
GRADER_ARGS = [
    "--SandboxedGrading.case_timeout=2",         # s per call (default 5)
    "--SandboxedGrading.max_timeouts=2",         # hung calls per graded cell before the rest are not run (default 6)
    "--SandboxedGrading.cell_timeout=15",        # s per cell of the notebook itself (default 60)
    "--SandboxedGrading.notebook_timeout=30",    # s for all its cells (default 240)
    # "--SandboxedGrading.memory_limit=4294967296",   # bytes; the hog's 6 GiB must exceed it
    # "--SandboxedGrading.max_processes=64",
    # "--SandboxedGrading.cpu_limit=600",
    # "--SandboxedGrading.scratch_size=268435456",
]
# Both runs draw the hidden cases from this secret (else each course makes its
# own, and the honest partial scores of the two runs could not be compared).
SECRET_VAR = "CNNCOURSE_SECRET"
COURSE_SECRET = "attack-test-" + uuid.uuid4().hex
# <<<

ASSIGNMENT = "conv2d"
HONEST = {"ada": [], "cara": ["valid_off_by_one", "flipped_kernel", "dkernel_one_example"]}
GRADE_CELLS = ("test_conv_output_size", "test_conv2d_forward", "test_conv2d_backward")
ATTACKER_PREFIX = "atk_"            # "ada" < "atk_*" < "cara": ada is graded before, cara after the attackers
# What the grader writes in the course root: nbgrader's outputs, and cnncourse autograde's class
# report, staging folder and lock.  Anything else the clean run writes there is the grader's too
# (allowed); any other change in the attack run fails.
COURSE_OUTPUTS = ("autograded", "feedback", "gradebook.db", "gradebook.db-*", ".nbgrader.log",
                  "reports", ".cnncourse-staging", ".cnncourse-autograde.lock")
OUTLIVE_WAIT = 12                   # s after grading: children that sleep 10 s must not wake up on the host
RUN_TIMEOUT = 20 * 60               # s: a hung nbgrader fails this module instead of hanging CI
TOKEN_VAR = "CNNCOURSE_ATTACK_RUN"  # marks every process started by the attack run (unless the sandbox clears it)

# The families the issue (and the catalogue's brief) asks for; each attack
# declares its families in ATTACKS[name]["families"].
REQUIRED_FAMILIES = {
    "input_transformer", "ast_transformer", "run_cell_hook", "ast_node_interactivity", "settrace",
    "setprofile", "display_formatter", "kernel_message", "fake_module", "meta_path", "site_packages",
    "package_files", "write_files", "persistence", "read_course", "read_solutions", "read_other_students",
    "read_secrets", "forbidden_library", "hidden_import", "thread", "subprocess", "regenerate_cases", "daemon",
    "gradebook", "other_submission", "network", "memory", "process_flood", "output_flood", "os_exit",
    "segfault", "outliving_child", "always_equal", "lazy_return", "channel", "signals", "exceptions",
    "recursion", "fd_write", "monkeypatch", "introspection",
}


def student_of(name):
    return ATTACKER_PREFIX + name


# ----------------------------------------------------------------------------
# the catalogue itself (no nbgrader needed)
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("name,grade_id", [(n, g) for n, a in ATTACKS.items() for g in a["cells"]])
def test_attack_source_parses(name, grade_id):
    ast.parse(ATTACKS[name]["cells"][grade_id], filename=f"{name}:{grade_id}")


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_entry_is_well_formed(name):
    a = ATTACKS[name]
    assert re.fullmatch(r"[a-z0-9_]+", name), "attack names become student ids and marker prefixes"
    assert a["cells"] and set(a["cells"]) <= set(catalogue.SOLUTION_CELLS), sorted(a["cells"])
    assert a["why"].strip() and "\n" not in a["why"], "why: one line"
    assert a["families"] and set(a["families"]) <= set(catalogue.FAMILIES), a["families"]
    for grade_id, src in a["cells"].items():
        # no real damage if the sandbox is missing: never a recursive delete, never signalling strangers
        assert "rmtree" not in src and "rm -rf" not in src and "os.kill(" not in src and "killpg" not in src, grade_id


def test_catalogue_covers_the_families():
    covered = set().union(*(a["families"] for a in ATTACKS.values()))
    assert REQUIRED_FAMILIES <= covered, f"no attack of the families {sorted(REQUIRED_FAMILIES - covered)}"
    assert REQUIRED_FAMILIES <= set(catalogue.FAMILIES)


def test_student_ids_sort_between_the_honest_students():
    ids = sorted([*HONEST, *(student_of(n) for n in ATTACKS)])
    assert ids[0] == "ada" and ids[-1] == "cara", "ada must be graded first and cara last"


# ----------------------------------------------------------------------------
# helpers: snapshots, escapes, processes, the loopback server
# ----------------------------------------------------------------------------

def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _entry(path):
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return ("dir",)
    if stat.S_ISREG(st.st_mode):
        try:
            return ("file", st.st_size, _sha256(path))
        except OSError as exc:
            return ("unreadable", str(exc))
    return ("special", stat.S_IFMT(st.st_mode))


def snapshot(root, skip_top=()):
    """relative path -> (kind, size, sha256) of everything under root (links not followed)."""
    out = {}
    if not os.path.isdir(root):
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if not any(fnmatch.fnmatch(d, p) for p in skip_top)]
            filenames = [f for f in filenames if not any(fnmatch.fnmatch(f, p) for p in skip_top)]
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            try:
                out[os.path.normpath(os.path.join(rel_dir, name))] = _entry(path)
            except OSError:
                pass
    return out


def diff(before, after):
    return {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def package_dirs():
    dirs = []
    for name in ("cnncore", "cnncourse"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None:
            dirs += [os.path.realpath(d) for d in (spec.submodule_search_locations or [])]
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def site_dirs():
    dirs = []
    try:
        dirs += site.getsitepackages()
    except AttributeError:
        pass
    dirs.append(site.getusersitepackages())
    dirs += [sysconfig.get_paths()[k] for k in ("purelib", "platlib")]
    dirs += [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    return [d for d in dict.fromkeys(os.path.realpath(d) for d in dirs) if os.path.isdir(d)]


def site_listing():
    """Top-level entries of every site-packages dir; .pth and small .py files with their hash."""
    out = {}
    for d in site_dirs():
        for name in os.listdir(d):
            path = os.path.join(d, name)
            try:
                if name.endswith((".pth", ".py")) and os.path.isfile(path) and os.path.getsize(path) < 1 << 20:
                    out[path] = _entry(path)
                else:
                    out[path] = ("present",)
            except OSError:
                pass
    return out


def escape_places():
    """(directory, depth) where an escaped attack leaves files named like ESCAPE_PATTERN."""
    home = os.path.expanduser("~")
    places = [("/tmp", 1), ("/var/tmp", 1), ("/dev/shm", 1), (home, 1),
              (os.environ.get("IPYTHONDIR") or os.path.join(home, ".ipython"), 3),
              (os.path.join(home, ".local", "share", "jupyter"), 3),
              (sysconfig.get_paths()["stdlib"], 1)]
    places += [(d, 1) for d in glob.glob("/usr/lib/python3*") + glob.glob("/usr/local/lib/python3*")]
    places += [(d, 1) for d in site_dirs()]
    places += [(d, 6) for d in package_dirs()]
    return [(d, depth) for d, depth in dict.fromkeys(places) if d and os.path.isdir(d)]


def escaped_files():
    pattern = re.compile(catalogue.ESCAPE_PATTERN)
    marker_dir = os.path.realpath(catalogue.MARKER_DIR)
    found = []
    for top, depth in escape_places():
        base = top.rstrip(os.sep).count(os.sep)
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath.count(os.sep) - base >= depth:
                dirnames[:] = []
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if pattern.search(name) and os.path.realpath(path) != marker_dir:
                    found.append(path)
            dirnames[:] = [d for d in dirnames if not pattern.search(d)]
    return sorted(set(found))


def remove_escaped_files():
    """Tidy up after an escape (only names that match the catalogue's pattern)."""
    for path in escaped_files():
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except OSError:
            pass


def reset_markers():
    if os.path.isdir(catalogue.MARKER_DIR) and not os.path.islink(catalogue.MARKER_DIR):
        shutil.rmtree(catalogue.MARKER_DIR)
    os.makedirs(catalogue.MARKER_DIR, exist_ok=True)


def markers():
    try:
        return sorted(os.listdir(catalogue.MARKER_DIR))
    except OSError:
        return []


def marker_text(name):
    try:
        with open(os.path.join(catalogue.MARKER_DIR, name), errors="replace") as f:
            return f.read(500)
    except OSError:
        return ""


def token_processes(token):
    """pids of processes (other than this one) whose environment carries the attack run's token."""
    needle = f"{TOKEN_VAR}={token}".encode()
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    with open(f"/proc/{pid}/cmdline", "rb") as g:
                        pids.append((int(pid), g.read().replace(b"\0", b" ").decode(errors="replace")[:200]))
        except OSError:
            pass
    return pids


class LoopbackServer:
    """Accepts on 127.0.0.1:47813 and records who connected (attacks send their name first)."""

    def __init__(self, host, port):
        self.connections = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as exc:
            self.sock.close()
            pytest.fail(f"cannot listen on {host}:{port} for the loopback check ({exc}); is another run active?")
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(1.0)
            try:
                data = conn.recv(256)
            except OSError:
                data = b""
            finally:
                conn.close()
            self.connections.append((peer, data.decode(errors="replace")))

    def stop(self):
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()


# ----------------------------------------------------------------------------
# the two autograde runs
# ----------------------------------------------------------------------------

def cell_texts(course, student):
    """grade_id -> the diagnostics a grade cell shows (all its textual outputs, whitespace collapsed)."""
    import nbformat

    path = os.path.join(course, "autograded", student, ASSIGNMENT, f"{ASSIGNMENT}.ipynb")
    nb = nbformat.read(path, as_version=4)
    out = {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid not in GRADE_CELLS:
            continue
        parts = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                parts.append(f"[{o.get('name')}] {o.get('text', '')}")
            elif o.get("output_type") == "error":
                parts.append(f"[error] {o.get('ename')}: {o.get('evalue')}")
            else:
                data = o.get("data", {})
                parts += [f"[{m}] {data[m]}" for m in sorted(data) if m.startswith("text/")]
        out[gid] = " ".join(" ".join(parts).split())
    return out


class environment:
    """Set environment variables for the nbgrader runs (demo.nbgrader passes os.environ on)."""

    def __init__(self, **values):
        self.values, self.saved = values, {}

    def __enter__(self):
        for k, v in self.values.items():
            self.saved[k] = os.environ.get(k)
            os.environ[k] = v

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_autograde(demo, course, **env):
    """`cnncourse autograde --workers 2`, with a timeout against a hung run.

    -> (error or None, seconds).  Both runs use the same course secret.  A
    submission the grader could not grade makes the command exit 1: an error.
    """
    t0 = time.monotonic()
    error = None
    try:
        with environment(**{SECRET_VAR: COURSE_SECRET}, **env):
            proc = subprocess.run([sys.executable, "-m", "cnncourse", "autograde", ASSIGNMENT, "--workers", "2",
                                   "--force", *GRADER_ARGS], cwd=course, capture_output=True, text=True,
                                  timeout=RUN_TIMEOUT)
            if proc.returncode != 0:
                error = (f"cnncourse autograde exited with {proc.returncode}:\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    except Exception as exc:  # noqa: BLE001  (a timeout or a failed run: reported by its own test)
        error = f"cnncourse autograde failed: {exc!r}"[:8000]
    return error, time.monotonic() - t0


def read_back(demo, course, students):
    rows = {s: cells for s, cells, _, _ in demo.gradebook_rows(course, ASSIGNMENT)}
    texts = {}
    for s in students:
        try:
            texts[s] = cell_texts(course, s)
        except Exception as exc:  # noqa: BLE001
            texts[s] = {"error": f"cannot read the autograded notebook: {exc!r}"}
    return rows, texts


@pytest.fixture(scope="module")
def demo():
    pytest.importorskip("nbgrader")
    from cnncourse import demo as demo_module
    return demo_module


@pytest.fixture(scope="module")
def clean_run(demo, tmp_path_factory):
    """ada and cara alone (graded before the attack run, so that nothing an attack left can reach it)."""
    course = str(tmp_path_factory.mktemp("clean-course"))
    demo.copy_course(course)
    demo.generate(course, ASSIGNMENT)
    for student, mistakes in HONEST.items():
        demo.submit(course, ASSIGNMENT, student, mistakes)
    before = snapshot(course, COURSE_OUTPUTS)
    error, seconds = run_autograde(demo, course)
    grader_files = set(diff(before, snapshot(course, COURSE_OUTPUTS)))
    rows, texts = read_back(demo, course, HONEST)
    print(f"clean run: {seconds:.1f} s for {len(HONEST)} submissions; "
          f"the grader wrote {sorted(grader_files) or 'nothing else'} in the course root")
    return dict(course=course, error=error, rows=rows, texts=texts, grader_files=grader_files)


@pytest.fixture(scope="module")
def attack_run(demo, clean_run, tmp_path_factory):
    remove_escaped_files()
    reset_markers()
    course = str(tmp_path_factory.mktemp("attack-course"))
    demo.copy_course(course)
    demo.generate(course, ASSIGNMENT)
    for student, mistakes in HONEST.items():
        demo.submit(course, ASSIGNMENT, student, mistakes)
    for name, attack in ATTACKS.items():
        demo.submit_cells(course, ASSIGNMENT, student_of(name), attack["cells"])

    # canaries: one in the course root (it arms the gradebook daemon: only a test course has it),
    # one in each honest student's submission (nbgrader copies it to autograded/)
    run_id = uuid.uuid4().hex
    canaries = {}
    for where in ["", *(os.path.join("submitted", s, ASSIGNMENT) for s in HONEST)]:
        path = os.path.join(course, where, catalogue.CANARY)
        with open(path, "w") as f:
            f.write(f"canary {run_id} {where}\n")
        canaries[path] = _sha256(path)

    for d in package_dirs():           # bytecode up to date, so that legitimate imports write nothing
        compileall.compile_dir(d, quiet=2)
    before = dict(course=snapshot(course, COURSE_OUTPUTS), packages={d: snapshot(d) for d in package_dirs()},
                  site=site_listing(), escaped=escaped_files())

    server = LoopbackServer(catalogue.LOOPBACK_HOST, catalogue.LOOPBACK_PORT)
    error, seconds = run_autograde(demo, course, **{TOKEN_VAR: run_id})
    finished = time.monotonic()
    markers_at_end = markers()
    time.sleep(max(0.0, finished + OUTLIVE_WAIT - time.monotonic()))

    result = dict(
        course=course, error=error, seconds=seconds, canaries=canaries,
        markers_at_end=markers_at_end, markers=markers(), connections=list(server.connections),
        processes=token_processes(run_id),
        course_diff={k: v for k, v in diff(before["course"], snapshot(course, COURSE_OUTPUTS)).items()
                     if k not in clean_run["grader_files"]},
        package_diff={d: diff(s, snapshot(d)) for d, s in before["packages"].items()},
        site_diff=diff(before["site"], site_listing()),
        escaped=[p for p in escaped_files() if p not in before["escaped"]],
    )
    result["rows"], result["texts"] = read_back(demo, course, [*HONEST, *(student_of(n) for n in ATTACKS)])
    server.stop()
    n = len(ATTACKS) + len(HONEST)
    print(f"attack run: {seconds:.1f} s for {n} submissions ({seconds / n:.1f} s each)")
    print(attack_table(result))
    yield result

    # tidy up whatever got out (only the run's own processes and files named like the catalogue's)
    for pid, _ in token_processes(run_id):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    remove_escaped_files()


def attack_table(result):
    lines = [f"{'attack':24s} {'points':>6s}  damage"]
    for name in ATTACKS:
        cells = result["rows"].get(student_of(name), {})
        points = sum(v[0] or 0 for k, v in cells.items() if k in GRADE_CELLS) if cells else float("nan")
        damage = [m for m in result["markers"] if m.startswith(name + "-")]
        damage += [f"connection {d!r}" for _, d in result["connections"] if d.startswith(name)]
        lines.append(f"{name:24s} {points:6g}  {', '.join(damage) or '-'}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# (a) no points
# ----------------------------------------------------------------------------

def test_clean_run_completed(clean_run):
    assert clean_run["error"] is None, clean_run["error"]
    ada = clean_run["rows"]["ada"]
    assert all(ada[c][0] == ada[c][1] > 0 for c in GRADE_CELLS), ada   # the comparison is worth something


def test_attack_run_completed(attack_run):
    assert attack_run["error"] is None, attack_run["error"]


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_scores_nothing(attack_run, name):
    cells = attack_run["rows"].get(student_of(name))
    assert cells is not None, f"{name} was not graded at all (a hostile submission must still get its zero)"
    for grade_id in GRADE_CELLS:
        score, max_score, graded, cell_type = cells[grade_id]
        assert graded, f"{name}: {grade_id} has no grade"
        assert score == 0, f"{name} ({ATTACKS[name]['why']}) got {score}/{max_score} in {grade_id}: " \
                           f"{attack_run['texts'].get(student_of(name), {}).get(grade_id, '')[:1500]}"


# ----------------------------------------------------------------------------
# (b) no damage
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_leaves_no_marker(attack_run, name):
    mine = [m for m in attack_run["markers"] if m.startswith(name + "-")]
    assert not mine, f"{name} got out of the sandbox: " + "; ".join(f"{m}: {marker_text(m)!r}" for m in mine)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_reaches_no_server(attack_run, name):
    mine = [(peer, data) for peer, data in attack_run["connections"] if data.startswith(name)]
    assert not mine, f"{name} connected to {catalogue.LOOPBACK_HOST}:{catalogue.LOOPBACK_PORT}: {mine}"


def test_no_marker_at_all(attack_run):
    """Also the markers no attack name claims, and those written after grading (outliving children)."""
    late = sorted(set(attack_run["markers"]) - set(attack_run["markers_at_end"]))
    assert not attack_run["markers"], f"markers {attack_run['markers']} (written after grading: {late})"


def test_no_connection_at_all(attack_run):
    assert not attack_run["connections"], attack_run["connections"]


def test_course_files_unchanged(attack_run):
    """Nothing changes in the course root but what nbgrader writes (autograded/, feedback/, gradebook.db)."""
    assert not attack_run["course_diff"], attack_run["course_diff"]


def test_secret_not_in_any_output(attack_run):
    """The course secret reaches no autograded notebook or feedback (where a student would read it)."""
    needle = COURSE_SECRET.encode()
    leaks = []
    for sub in ("autograded", "feedback"):
        for dirpath, _, filenames in os.walk(os.path.join(attack_run["course"], sub)):
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    if os.path.isfile(path) and not os.path.islink(path):
                        with open(path, "rb") as f:
                            if needle in f.read():
                                leaks.append(os.path.relpath(path, attack_run["course"]))
                except OSError:
                    pass
    assert not leaks, f"the course secret is in {leaks}"


def test_canaries_untouched(attack_run):
    for path, digest in attack_run["canaries"].items():
        assert os.path.isfile(path) and _sha256(path) == digest, f"{path} was changed or removed"
    course = attack_run["course"]
    for student in HONEST:    # nbgrader copies the canary along with the submission
        folder = os.path.join(course, "autograded", student, ASSIGNMENT)
        src = os.path.join(course, "submitted", student, ASSIGNMENT, catalogue.CANARY)
        assert os.path.isfile(os.path.join(folder, catalogue.CANARY)), f"{folder}/{catalogue.CANARY} is gone"
        assert _sha256(os.path.join(folder, catalogue.CANARY)) == _sha256(src)
        extra = [f for f in os.listdir(folder) if f.startswith(catalogue.CANARY + ".")]
        assert not extra, f"renamed canaries in {folder}: {extra}"


def test_installed_packages_unchanged(attack_run):
    assert package_dirs(), "cnncore/cnncourse not found"
    changed = {d: c for d, c in attack_run["package_diff"].items() if c}
    assert not changed, changed


def test_nothing_new_in_site_packages(attack_run):
    assert not attack_run["site_diff"], attack_run["site_diff"]


def test_nothing_written_elsewhere(attack_run):
    """~, ~/.ipython, /tmp, /var/tmp, /dev/shm, the stdlib, /usr/lib/python3*, site-packages, the packages."""
    assert not attack_run["escaped"], attack_run["escaped"]


def test_nothing_outlives_grading(attack_run):
    assert not attack_run["processes"], f"still running {OUTLIVE_WAIT} s after grading: {attack_run['processes']}"


def test_no_links_into_the_course_in_the_outputs(attack_run):
    """What nbgrader keeps of a submission (autograded/, feedback/) holds no links or FIFOs planted by it."""
    course = attack_run["course"]
    gradebook = os.path.join(course, "gradebook.db")
    gb_inode = os.stat(gradebook).st_ino if os.path.exists(gradebook) else None
    bad = []
    for sub in ("autograded", "feedback"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(course, sub)):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode) or stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode) or \
                        (stat.S_ISREG(st.st_mode) and st.st_ino == gb_inode):
                    bad.append(os.path.relpath(path, course))
    assert not bad, bad


# ----------------------------------------------------------------------------
# (c) the honest students, as if the attackers were absent
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("student", list(HONEST))
def test_honest_scores_as_in_the_clean_run(attack_run, clean_run, student):
    assert student in clean_run["rows"], f"{student} missing from the clean run"
    assert attack_run["rows"].get(student) == clean_run["rows"][student], \
        f"{student}: {attack_run['rows'].get(student)} with the attackers, {clean_run['rows'][student]} without"


@pytest.mark.parametrize("student", list(HONEST))
def test_honest_diagnostics_as_in_the_clean_run(attack_run, clean_run, student):
    got, want = attack_run["texts"].get(student, {}), clean_run["texts"][student]
    assert set(want) == set(GRADE_CELLS), want
    for grade_id in GRADE_CELLS:
        assert got.get(grade_id) == want[grade_id], \
            f"{student}, {grade_id}:\nwith the attackers: {got.get(grade_id)!r}\nwithout: {want[grade_id]!r}"
