"""The sandbox that student code runs in: bubblewrap, resource limits, nothing of the course.

:func:`command` builds the ``bwrap`` command line for the student context
(:mod:`cnncourse.grading.student`):

* new PID, network, IPC and UTS namespaces: no network (loopback included, it
  is the sandbox's own), no view of other processes, and when the grader
  kills the sandbox every process started inside dies with it;
* a file system made of read-only views of ``/usr``, ``/etc`` and the Python
  installation, with the reference library and the libraries that would do
  the student's work (cnncore, cnncourse, torch, SciPy, ...) masked; the
  submission's folder read-only, a private writable copy of it and ``/tmp``
  on size-limited tmpfs; the course, the gradebook, ``solutions/`` and the
  other students' folders are simply not there;
* all capabilities dropped but the two that let the student context switch to
  an unprivileged user id before any student code runs (when the grader runs
  as root), and ``no_new_privs``;
* :class:`Limits` applied with ``setrlimit`` before ``bwrap`` starts: address
  space, CPU time, processes, file size, open files, no core dumps.
"""
import atexit
import dataclasses
import functools
import os
import re
import resource
import shutil
import site
import subprocess
import sys
import tempfile

HOME = "/home/student"
WORK = HOME + "/work"
SUBMISSION = HOME + "/submission"
MPL_DIR = "/tmp/matplotlib"                      # MPLCONFIGDIR in the sandbox
STUDENT_SCRIPT = "/opt/cnncourse/student.py"      # where the sandbox sees student.py
_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "student.py")

# Packages the student's code may not import while graded: the reference and
# the libraries that would do the work for it.
BLOCKED = ("cnncore", "cnncourse", "torch", "torchvision", "functorch", "torchgen", "scipy",
           "tensorflow", "keras", "jax", "jaxlib", "cupy", "numba", "nbgrader")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create its namespaces here."""


@dataclasses.dataclass
class Limits:
    """Bounds on one sandboxed student context (each restart gets them afresh)."""

    memory: int = 4 << 30          # address space, bytes
    cpu_seconds: int = 600         # CPU time of the whole context
    processes: int = 64            # processes and threads of the sandbox's user
    file_size: int = 64 << 20      # largest file it may write, bytes
    tmp_size: int = 256 << 20      # each of /tmp and the work folder (tmpfs), bytes
    open_files: int = 256

    def apply(self, processes_base=0):
        """setrlimit in the process that is about to exec bwrap (a preexec_fn)."""
        os.setsid()
        for what, value in [(resource.RLIMIT_AS, self.memory),
                            (resource.RLIMIT_CPU, self.cpu_seconds),
                            (resource.RLIMIT_NPROC, processes_base + self.processes),
                            (resource.RLIMIT_FSIZE, self.file_size),
                            (resource.RLIMIT_NOFILE, self.open_files),
                            (resource.RLIMIT_CORE, 0)]:
            resource.setrlimit(what, (value, value))


def bwrap_path():
    return shutil.which("bwrap")


def sandbox_uid():
    """The unprivileged user id a root grader's sandbox runs as, one per grading process.

    RLIMIT_NPROC counts the processes of a user id, and does not apply to
    root, so each grading process gives its sandbox a user id of its own.
    """
    return 200000 + os.getpid() % 100000


def _python_roots():
    roots = []
    for p in (sys.base_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))):
        p = os.path.realpath(p)
        if p.startswith("/usr/") or p == "/usr":
            continue
        if not any(p == r or p.startswith(r + os.sep) for r in roots):
            roots = [r for r in roots if not r.startswith(p + os.sep)] + [p]
    return roots


def _site_dirs():
    """Every site-packages the sandbox can see: the running environment's and its base installation's."""
    dirs = list(site.getsitepackages([sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]))
    user = site.getusersitepackages()
    if isinstance(user, str):
        dirs.append(user)
    return sorted({os.path.realpath(d) for d in dirs if os.path.isdir(d)})


def _blocked(name):
    """Whether a site-packages entry belongs to a blocked package (its editable-install hooks too)."""
    low = name.lower()
    if low.startswith("__editable__"):
        low = low.lstrip("_")[len("editable"):].lstrip("_.")
    return re.split(r"[._-]", low)[0] in BLOCKED


def _masks(site_dirs):
    """Paths in the Python installation to hide: (directories, files)."""
    dirs, files = [], []
    for d in site_dirs:
        for name in sorted(os.listdir(d)):
            if _blocked(name):
                path = os.path.join(d, name)
                (dirs if os.path.isdir(path) and not os.path.islink(path) else files).append(path)
    return dirs, files


def _dirs_with_perms(path, made):
    """--dir for each missing parent of a bind target, world-readable (bwrap copies the host's 0700 /root)."""
    args = []
    parts = path.strip("/").split("/")[:-1]
    cur = ""
    for part in parts:
        cur += "/" + part
        if cur in made or cur in ("/usr", "/etc"):
            continue
        made.add(cur)
        args += ["--perms", "0755", "--dir", cur]
    return args


@functools.lru_cache(maxsize=None)
def matplotlib_fonts(python=None):
    """{file name: host path} of the font list matplotlib makes on its first import, made once here.

    Every sandbox starts with an empty ``/tmp``, so a notebook that imports
    matplotlib would scan the system's fonts again each time (a quarter of a
    second per submission).  The grader makes the list once, with the same
    Python, and each sandbox gets it read-only in its ``MPLCONFIGDIR``.
    Without matplotlib: nothing.
    """
    folder = tempfile.mkdtemp(prefix="cnncourse-matplotlib-")
    atexit.register(shutil.rmtree, folder, True)
    try:
        subprocess.run([python or sys.executable, "-I", "-c", "import matplotlib.font_manager"],
                       env={"MPLCONFIGDIR": folder, "MPLBACKEND": "Agg", "PATH": os.environ.get("PATH", "")},
                       capture_output=True, timeout=300, check=True)
    except (OSError, subprocess.SubprocessError):
        return {}
    files = {}
    for name in sorted(os.listdir(folder)):
        if name.startswith("fontlist") and name.endswith(".json"):
            os.chmod(os.path.join(folder, name), 0o644)
            files[name] = os.path.join(folder, name)
    return files


def command(limits, submission=None, python=None, hidden=()):
    """The bwrap argv that runs the student context; ``hidden``: host paths that must not be visible."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so student code cannot be sandboxed. "
            "Install it (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`), "
            "or, only for code you trust, grade with --SandboxedGrading.unsafe_no_sandbox=True.")
    python = python or sys.executable
    args = [bwrap, "--die-with-parent", "--new-session",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for link in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = "/" + link
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    # the fresh file systems first: a Python installation may live under /tmp or /home
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/dev/shm",
             "--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/tmp",
             "--perms", "0755", "--dir", "/home"]
    made = {"/tmp", "/home"}
    roots = _python_roots()
    for root in roots:
        args += _dirs_with_perms(root, made) + ["--ro-bind", root, root]
    mask_dirs, mask_files = _masks(_site_dirs())
    for d in mask_dirs:       # empty and read-only, also for a sandbox user that owns its mounts
        args += ["--tmpfs", d, "--remount-ro", d]
    for f in mask_files:
        args += ["--ro-bind", "/dev/null", f]
    for h in hidden:       # e.g. a course root that happens to lie inside the Python installation
        h = os.path.realpath(h)
        if any(h == r or h.startswith(r + os.sep) for r in roots + ["/usr", "/etc"]):
            args += ["--tmpfs", h, "--remount-ro", h]
    args += ["--perms", "1777", "--dir", MPL_DIR]
    for name, path in matplotlib_fonts(python).items():
        args += ["--ro-bind", path, f"{MPL_DIR}/{name}"]
    args += ["--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", HOME,
             "--perms", "1777", "--dir", WORK,
             "--perms", "0755", "--dir", "/opt/cnncourse",
             "--ro-bind", _SCRIPT, STUDENT_SCRIPT]
    if submission:
        args += ["--ro-bind", submission, SUBMISSION]
    args += ["--chdir", WORK, "--clearenv"]
    for key, value in student_env(submission is not None).items():
        args += ["--setenv", key, value]
    if os.geteuid() == 0:
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user"]
    # the interpreter's path as it is, not resolved: a virtual environment's python finds its pyvenv.cfg
    args += ["--", os.path.abspath(python), "-I", STUDENT_SCRIPT, "--block", ",".join(BLOCKED)]
    if os.geteuid() == 0:
        args += ["--uid", str(sandbox_uid())]
    return args


def student_env(with_submission):
    env = {
        "PATH": os.pathsep.join([os.path.dirname(os.path.abspath(sys.executable)), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": HOME, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": MPL_DIR,
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "CNNCOURSE_WORK": WORK,
    }
    if with_submission:
        env["CNNCOURSE_SUBMISSION"] = SUBMISSION
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):   # some CPUs need these for NumPy's OpenBLAS
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def unsandboxed_command(python=None):
    """The student context without isolation (the loudly named opt-out)."""
    return [python or sys.executable, "-I", _SCRIPT, "--block", ",".join(BLOCKED)]


def processes_base():
    """Processes the grader's user already has (RLIMIT_NPROC counts them too when not root)."""
    if os.geteuid() == 0:
        return 0
    uid = os.getuid()
    n = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    n += len(os.listdir(f"/proc/{pid}/task"))     # threads count too
            except OSError:
                pass
    return n


_available = False


def check_available():
    """Raise :class:`SandboxUnavailable` with a fix when bwrap cannot start here (checked once per process)."""
    global _available
    if _available:
        return
    args = command(Limits())
    # the same sandbox, running /bin/true instead of the student context
    cut = args.index("--")
    probe = args[:cut] + ["--", "true"]
    proc = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap could not create the grading sandbox ({proc.stderr.strip() or proc.returncode}). "
            "It needs user namespaces (as a normal user: `sysctl kernel.unprivileged_userns_clone=1`, and on "
            "Ubuntu 24.04+ an AppArmor profile allowing bwrap) or root. Only for code you trust: "
            "--SandboxedGrading.unsafe_no_sandbox=True.")
    _available = True
