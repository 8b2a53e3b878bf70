"""nbgrader's autograde, with the student's code in a sandbox and every score decided here.

:class:`SandboxedGrading` takes the place of nbgrader's ``Execute`` among
``c.Autograde.autograde_preprocessors`` (see ``assignments/nbgrader_config.py``).
For each submitted notebook it

1. splits the code cells into the graded cells (``grade: true``; their
   source is the course's own, restored from the gradebook by nbgrader's
   ``OverwriteCells``) and the rest;
2. runs the rest in a sandboxed student context
   (:class:`.session.StudentSession`), which never sees a graded cell;
3. for each graded cell, finds the check it names (``check("conv2d_forward",
   ...)`` in its source), makes the hidden cases from the course's secret,
   calls the student's function on each through the data-only channel,
   judges the results with the compiled reference, and writes the
   diagnostics and the score as the cell's outputs.

nbgrader's ``SaveAutoGrades`` then reads those outputs as usual (a number as
the ``execute_result`` is partial credit), so the gradebook, formgrader,
``generate_feedback`` and ``export`` work unchanged.  Nothing the notebook
prints or displays reaches a graded cell.
"""
import collections
import os
import re
import time

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer, Unicode

from . import Outcome, course_secret, grade, sandbox, score_lines, seed_for
from .session import ContextDied, StudentSession

# The verdict of a graded cell as data, beside its score: nbgrader reads the text/plain
# score; HTML feedback shows no unknown type; the class report reads this.
RECORD_MIME = "application/vnd.cnncourse.grade+json"
CHECK_CALL = re.compile(r"""^\s*check\(\s*["'](\w+)["']""", re.MULTILINE)


def graded_check(source):
    """The check a graded cell's (trusted) source names, or None."""
    found = CHECK_CALL.findall(source)
    return found[0] if len(found) == 1 else None


class SandboxedGrading(NbGraderPreprocessor):
    """Grade a submitted notebook with its code sandboxed and its scores computed outside it."""

    unsafe_no_sandbox = Bool(
        False, help="Run student code WITHOUT the bubblewrap sandbox. Only for code you trust: "
                    "a notebook can then read the course and forge its grades.").tag(config=True)
    memory_limit = Integer(4 << 30, help="Address space of the student's process, bytes.").tag(config=True)
    cpu_limit = Integer(600, help="CPU seconds of the student's process (each restart anew).").tag(config=True)
    max_processes = Integer(64, help="Processes and threads the student's code may have.").tag(config=True)
    max_file_size = Integer(64 << 20, help="Largest file the student's code may write, bytes.").tag(config=True)
    scratch_size = Integer(256 << 20, help="Size of each of the sandbox's /tmp and work folder, bytes.").tag(config=True)
    case_timeout = Float(5.0, help="Seconds for one call of a student's function.").tag(config=True)
    max_timeouts = Integer(6, help="Cases of one graded cell that may run out of time before the rest "
                                   "are not run.").tag(config=True)
    check_timeout = Float(120.0, help="Seconds for all cases of one graded cell (a backstop: later cases "
                                      "are not run).").tag(config=True)
    cell_timeout = Float(20.0, help="Seconds for one of the notebook's own cells (its pictures and visible "
                                     "tests; the graded calls have case_timeout).").tag(config=True)
    notebook_timeout = Float(240.0, help="Seconds for all of the notebook's own cells.").tag(config=True)
    secret = Unicode("", help="The course secret the hidden cases come from; default: $CNNCOURSE_SECRET "
                              "or <course root>/.cnncourse_secret (made on first use).").tag(config=True)

    def _limits(self):
        return sandbox.Limits(memory=self.memory_limit, cpu_seconds=self.cpu_limit,
                              processes=self.max_processes, file_size=self.max_file_size,
                              tmp_size=self.scratch_size)

    course_root = None     # set where nbgrader's own course root is not this process's (cnncourse.parallel)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.timings = collections.Counter()    # seconds spent, by step, over the notebooks graded

    def _course_root(self):
        if self.course_root is not None:
            return self.course_root
        from nbgrader.coursedir import CourseDirectory
        return CourseDirectory(config=self.config).root

    def preprocess(self, nb, resources):
        root = self._course_root()
        secret = self.secret or course_secret(root)
        graded, to_run = [], []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            md = cell.metadata.get("nbgrader", {})
            if md.get("grade") and not md.get("solution"):
                graded.append(cell)
            else:
                to_run.append((md.get("grade_id") or cell.get("id") or "", cell.source))
            cell.outputs = []
            cell.execution_count = None
        if self.unsafe_no_sandbox:
            self.log.warning("GRADING WITHOUT A SANDBOX (unsafe_no_sandbox=True): student code runs with "
                             "your rights and can read the course and forge its grades.")
        else:
            sandbox.check_available()
        submission = resources.get("metadata", {}).get("path") or None
        session = StudentSession(to_run, submission=submission, limits=self._limits(),
                                 isolate=not self.unsafe_no_sandbox, cell_seconds=self.cell_timeout,
                                 start_seconds=self.notebook_timeout, hidden=[root] if os.path.isdir(root) else [])
        with session:
            try:
                session.start()
                notebook_error = None
            except ContextDied as exc:
                notebook_error = exc.message
            for n, cell in enumerate(graded, start=1):
                self._grade_cell(cell, session, secret, notebook_error)
                cell.execution_count = n
        self.timings.update(session.timings)
        return nb, resources

    def _grade_cell(self, cell, session, secret, notebook_error):
        points = float(cell.metadata["nbgrader"].get("points", 0))
        name = graded_check(cell.source)
        if name is None:
            cell.outputs = [nbformat.v4.new_output(
                "error", ename="GradingError", evalue="this graded cell names no check the grader knows",
                traceback=[])]
            return
        if notebook_error is not None:
            outcome = Outcome(0.0, [f"{name}: not graded: {notebook_error}."], [],
                              [f"the notebook's own cells: {notebook_error}"])
        else:
            t0 = time.monotonic()
            outcome = grade(name, session.call, seed_for(secret, name), case_seconds=self.case_timeout,
                            check_seconds=self.check_timeout, cell_errors=session.cell_errors,
                            memory_limit=None if self.unsafe_no_sandbox else self.memory_limit,
                            max_timeouts=self.max_timeouts)
            self.timings["reference"] += outcome.reference_seconds
            self.timings["hidden cases"] += time.monotonic() - t0 - outcome.reference_seconds
        score, lines = score_lines(name, outcome.fraction, outcome.lines, points)
        record = {"check": name, "score": score, "points": points, "mistakes": outcome.mistakes,
                  "problems": outcome.problems}
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n"),
            nbformat.v4.new_output("execute_result", data={"text/plain": f"{score:g}", RECORD_MIME: record},
                                   execution_count=None),
        ]


def configure(c):
    """Put :class:`SandboxedGrading` in place of nbgrader's Execute in a course's config ``c``."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                        SaveAutoGrades)
    c.Autograde.autograde_preprocessors = [SandboxedGrading, IgnorePattern, ClearMetadataPreprocessor,
                                           LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    return c


__all__ = ["SandboxedGrading", "configure", "graded_check", "RECORD_MIME"]
