"""Grading one submitted notebook: its own cells in the sandbox, each graded cell's check outside it.

The notebook is nbformat's JSON as plain dicts (an ``nbformat.NotebookNode``
is one too), so this module needs neither nbformat nor nbgrader: the
processes that grade a class (:mod:`cnncourse.parallel`, local or on Dask
workers) import only this, the sandbox and the checks.

:class:`NotebookGrader`

1. splits the code cells into the graded cells (``grade: true``, not a
   solution; their source is the course's own, restored by nbgrader's
   ``OverwriteCells`` before this runs) and the rest;
2. runs the rest in a sandboxed student context
   (:class:`.session.StudentSession`), which never sees a graded cell;
3. for each graded cell, finds the check it names (``check("conv2d_forward",
   ...)`` in its source), makes the hidden cases from the course's secret,
   calls the student's function on each through the data-only channel,
   judges the results with the compiled reference, and writes the
   diagnostics, the score (the ``execute_result`` nbgrader reads as partial
   credit) and the verdict as data (:data:`RECORD_MIME`) as the cell's outputs.

:func:`grade_job` does that for a whole submission sent by the writer.
"""
import collections
import json
import os
import re
import tempfile
import time

from . import Outcome, grade, sandbox, score_lines, seed_for
from .messages import LANGUAGES, language_of, say, t
from .session import ContextDied, StudentSession

# The verdict of a graded cell as data, beside its score: nbgrader reads the text/plain
# score; HTML feedback shows no unknown type; the class report reads this.
RECORD_MIME = "application/vnd.cnncourse.grade+json"
CHECK_CALL = re.compile(r"""^\s*check\(\s*["'](\w+)["']""", re.MULTILINE)
CHECK_LANG = re.compile(r"""^\s*check\(.*\blang\s*=\s*["'](\w+)["']""", re.MULTILINE)
# The grader's settings: SandboxedGrading's traits of the same names, which hold their defaults and help.
SETTINGS = ("unsafe_no_sandbox", "memory_limit", "cpu_limit", "max_processes", "max_file_size",
            "scratch_size", "case_timeout", "max_timeouts", "check_timeout", "cell_timeout", "notebook_timeout")


def graded_check(source):
    """The check a graded cell's (trusted) source names, or None."""
    found = CHECK_CALL.findall(source)
    return found[0] if len(found) == 1 else None


def graded_language(source):
    """The language a graded cell's (trusted) source asks for, ``check(..., lang="cs")``, or None."""
    found = CHECK_LANG.findall(source)
    return found[0] if len(found) == 1 and found[0] in LANGUAGES else None


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _error(ename, evalue):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


class NotebookGrader:
    """Grades notebooks with ``settings`` (every name in :data:`SETTINGS`), the course's
    ``secret`` and its ``course_root`` (hidden from the sandbox where it exists)."""

    def __init__(self, secret, course_root=None, log=None, **settings):
        missing = set(SETTINGS) - set(settings)
        unknown = set(settings) - set(SETTINGS)
        if missing or unknown:
            raise TypeError(f"NotebookGrader settings: missing {sorted(missing)}, unknown {sorted(unknown)}")
        if not secret:
            raise ValueError("NotebookGrader needs the course secret")
        self.secret = secret
        self.course_root = course_root
        self.log = log
        self.settings = settings
        self.timings = collections.Counter()    # seconds spent, by step, over the notebooks graded

    def limits(self):
        s = self.settings
        return sandbox.Limits(memory=s["memory_limit"], cpu_seconds=s["cpu_limit"], processes=s["max_processes"],
                              file_size=s["max_file_size"], tmp_size=s["scratch_size"])

    def grade(self, nb, submission=None, assignment=None):
        """Grade ``nb`` in place; ``submission``: the folder its files are in (read-only in the sandbox).

        The diagnostics are in the language of ``assignment`` (``conv2d_cs``: Czech), else in the one
        its graded cells ask for (``check(..., lang="cs")``), else in English.
        """
        s = self.settings
        lang = language_of(assignment) if assignment else None
        graded, to_run = [], []
        for cell in nb["cells"]:
            if cell.get("cell_type") != "code":
                continue
            md = cell.get("metadata", {}).get("nbgrader", {})
            if md.get("grade") and not md.get("solution"):
                graded.append(cell)
            else:
                to_run.append((md.get("grade_id") or cell.get("id") or "", _source(cell)))
            cell["outputs"] = []
            cell["execution_count"] = None
        if s["unsafe_no_sandbox"]:
            if self.log is not None:
                self.log.warning("GRADING WITHOUT A SANDBOX (unsafe_no_sandbox=True): student code runs with "
                                 "your rights and can read the course and forge its grades.")
        else:
            sandbox.check_available()
        hidden = [self.course_root] if self.course_root and os.path.isdir(self.course_root) else []
        session = StudentSession(to_run, submission=submission, limits=self.limits(),
                                 isolate=not s["unsafe_no_sandbox"], cell_seconds=s["cell_timeout"],
                                 start_seconds=s["notebook_timeout"], hidden=hidden)
        with session:
            try:
                session.start()
                notebook_error = None
            except ContextDied as exc:
                notebook_error = exc.message
            for n, cell in enumerate(graded, start=1):
                self._grade_cell(cell, session, notebook_error, lang or graded_language(_source(cell)) or "en")
                cell["execution_count"] = n
        self.timings.update(session.timings)
        return nb

    def _grade_cell(self, cell, session, notebook_error, lang="en"):
        s = self.settings
        points = float(cell["metadata"]["nbgrader"].get("points", 0))
        name = graded_check(_source(cell))
        if name is None:
            cell["outputs"] = [_error("GradingError", "this graded cell names no check the grader knows")]
            return
        if notebook_error is not None:
            outcome = Outcome(0.0, [t("not_graded", lang=lang, fn=name, reason=say(notebook_error, lang))], [],
                              [f"the notebook's own cells: {notebook_error}"])
        else:
            t0 = time.monotonic()
            outcome = grade(name, session.call, seed_for(self.secret, name), case_seconds=s["case_timeout"],
                            check_seconds=s["check_timeout"], cell_errors=session.cell_errors,
                            memory_limit=None if s["unsafe_no_sandbox"] else s["memory_limit"],
                            max_timeouts=s["max_timeouts"], lang=lang)
            self.timings["reference"] += outcome.reference_seconds
            self.timings["hidden cases"] += time.monotonic() - t0 - outcome.reference_seconds
        score, lines = score_lines(name, outcome.fraction, outcome.lines, points, lang)
        record = {"check": name, "score": score, "points": points, "mistakes": outcome.mistakes,
                  "problems": outcome.problems}
        cell["outputs"] = [
            {"output_type": "stream", "name": "stdout", "text": "\n".join(lines) + "\n"},
            {"output_type": "execute_result", "data": {"text/plain": f"{score:g}", RECORD_MIME: record},
             "metadata": {}, "execution_count": None},
        ]


def grade_job(job):
    """Grade one submission's sanitized notebooks (run by :mod:`cnncourse.parallel`'s workers).

    ``job``: ``notebooks`` (name -> sanitized notebook JSON), ``files``
    (relative path -> bytes, laid out beside the notebooks), ``settings``,
    ``secret`` and ``course_root``.  Returns the graded notebooks' JSON, the
    seconds taken and where they went.
    """
    start = time.monotonic()
    grader = NotebookGrader(job["secret"], job["course_root"], **job["settings"])
    graded = {}
    with tempfile.TemporaryDirectory(prefix="cnncourse-submission-") as folder:
        for rel, data in job["files"].items():
            path = os.path.join(folder, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        for name, text in sorted(job["notebooks"].items()):
            graded[name] = json.dumps(grader.grade(json.loads(text), submission=folder,
                                                   assignment=job.get("assignment")))
    return {"notebooks": graded, "seconds": time.monotonic() - start, "timings": dict(grader.timings)}


def die_with_parent():
    """For a grading worker: end with the process that started it, even when that one is SIGKILLed."""
    import ctypes
    import signal
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


__all__ = ["NotebookGrader", "grade_job", "graded_check", "RECORD_MIME", "SETTINGS"]
