"""nbgrader's autograde, with the student's code in a sandbox and every score decided here.

:class:`SandboxedGrading` takes the place of nbgrader's ``Execute`` among
``c.Autograde.autograde_preprocessors`` (see ``assignments/nbgrader_config.py``):
its traits are the grader's settings, and it grades each submitted notebook
with :class:`.notebook.NotebookGrader` (the notebook's own cells in the
sandbox; the hidden cases, the reference and the scores here).

nbgrader's ``SaveAutoGrades`` then reads the graded cells' outputs as usual (a
number as the ``execute_result`` is partial credit), so the gradebook,
formgrader, ``generate_feedback`` and ``export`` work unchanged.  Nothing the
notebook prints or displays reaches a graded cell.
"""
import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer, Unicode

from . import course_secret
from .notebook import RECORD_MIME, SETTINGS, NotebookGrader, graded_check


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

    def settings(self):
        """{setting: value} of the grader, as :class:`.notebook.NotebookGrader` takes them."""
        return {name: getattr(self, name) for name in SETTINGS}

    def course_root(self):
        from nbgrader.coursedir import CourseDirectory
        return CourseDirectory(config=self.config).root

    def preprocess(self, nb, resources):
        root = self.course_root()
        grader = NotebookGrader(self.secret or course_secret(root), root, log=self.log, **self.settings())
        assignment = (resources.get("nbgrader") or {}).get("assignment")      # conv2d_cs: graded in Czech
        grader.grade(nb, submission=resources.get("metadata", {}).get("path") or None, assignment=assignment)
        return nbformat.from_dict(nb), resources      # the new outputs as NotebookNodes, as nbgrader reads them


def configure(c):
    """Put :class:`SandboxedGrading` in place of nbgrader's Execute in a course's config ``c``, and
    :class:`cnncourse.release.EditionClearSolutions` in place of ClearSolutions (the release's
    placeholders in the edition's language: ``# SEM NAPIŠTE SVŮJ KÓD`` in conv2d_cs)."""
    from .. import release
    release.configure(c)
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                        SaveAutoGrades)
    c.Autograde.autograde_preprocessors = [SandboxedGrading, IgnorePattern, ClearMetadataPreprocessor,
                                           LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    return c


__all__ = ["SandboxedGrading", "configure", "graded_check", "RECORD_MIME"]
