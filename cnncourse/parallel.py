"""Autograding a whole class in parallel, on this machine or a Dask cluster, with one writer.

    cnncourse autograde ASSIGNMENT [--workers N] [--scheduler tcp://HOST:8786] [--force]

A submission goes through three steps:

1. here: nbgrader's own sanitizing steps (``OverwriteCells`` restores the
   test cells from the gradebook, ...) on the submitted notebooks, in memory;
2. on a worker (a local process, or a Dask worker anywhere):
   :func:`cnncourse.grading.notebook.grade_job` grades the sanitized
   notebooks as ``SandboxedGrading`` does in ``nbgrader autograde``: the
   student's code in its sandbox, the scores computed outside it.  Only data
   travels: the notebooks, the submission's other files, the grader's
   settings and the course secret out; the graded notebooks back.  A worker
   imports neither nbgrader nor nbformat, so it starts in half a second;
3. here, the only process that writes: nbgrader's own ``Autograde`` for
   that student, with the graded outputs put in place of executing the
   notebook (:class:`GradedOutputs`), so the gradebook, late penalties,
   ``autograded/``, formgrader, ``generate_feedback`` and ``export`` are
   nbgrader's.  It writes into a staging folder, and only after the
   gradebook has committed is that folder renamed to
   ``autograded/STUDENT/ASSIGNMENT``.

That rename is what "graded" means: a run that is killed at any moment
(SIGKILL included) leaves each submission either graded, or not graded and
graded by the next run, whose writes replace the same gradebook rows with
the same scores.  SQLite keeps the database whole; a lock keeps a second
grader out of the same course.
"""
import concurrent.futures
import contextlib
import fcntl
import glob
import logging
import multiprocessing
import os
import shutil
import time
import warnings

import nbformat
from nbgrader.converters import Autograde
from nbgrader.converters.base import BaseConverter
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import setenv

from .grading import course_secret, notebook, sandbox
from .grading.autograde import SandboxedGrading

STAGING = ".cnncourse-staging"       # nbgrader "step" folder the writer fills before the rename
LOCK = ".cnncourse-autograde.lock"
MAX_FILES_BYTES = 64 << 20           # a submission's other files, sent to the worker


class GradingFailed(Exception):
    """A submission that could not be graded at all (the reason is the message)."""


# --------------------------------------------------------------------------
# the writer's side: nbgrader's Autograde, split around the grading
# --------------------------------------------------------------------------

class GradedOutputs(NbGraderPreprocessor):
    """Put a worker's graded outputs into the notebook nbgrader is autograding (in place of Execute).

    The worker graded the same sanitized notebook; any difference in the
    cells means it graded something else, and the submission fails.
    """

    def preprocess(self, nb, resources):
        text = resources.get("cnncourse_graded")
        if text is None:
            raise GradingFailed(f"no graded notebook came back for {resources['nbgrader']['notebook']}")
        graded = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        if [(c.cell_type, c.source) for c in graded.cells] != [(c.cell_type, c.source) for c in nb.cells]:
            raise GradingFailed("the graded notebook's cells differ from the submitted ones")
        for cell, done in zip(nb.cells, graded.cells):
            if cell.cell_type == "code":
                cell.outputs = done.outputs
                cell.execution_count = done.execution_count
        return nb, resources


class StagedAutograde(Autograde):
    """nbgrader's Autograde for one student at a time, writing into the staging folder."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.staged, self.graded = {}, {}
        self.autograde_preprocessors = [GradedOutputs if p is SandboxedGrading else p
                                        for p in self.autograde_preprocessors]
        if GradedOutputs not in self.autograde_preprocessors:
            raise GradingFailed("the course's nbgrader_config.py does not grade with SandboxedGrading "
                                "(call cnncourse.grading.autograde.configure(c) in it)")

    @property
    def _input_directory(self):
        return self.coursedir.submitted_directory if self._sanitizing else STAGING

    @property
    def _output_directory(self):
        return STAGING

    def init_single_notebook_resources(self, notebook_filename):
        resources = super().init_single_notebook_resources(notebook_filename)
        resources["cnncourse_graded"] = self.graded.get(resources["nbgrader"]["notebook"])
        return resources

    def setup(self):
        from nbconvert.writers import FilesWriter
        from nbgrader.api import Gradebook
        self.writer = FilesWriter(parent=self, config=self.config)
        self.exporter = self.exporter_class(parent=self, config=self.config)
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            self.known = {nb.name for nb in gb.find_assignment(self.coursedir.assignment_id).notebooks}

    def _folder(self, step, student):
        return self.coursedir.format_path(step, student, self.coursedir.assignment_id)

    def submitted_notebooks(self, student):
        """The student's notebooks that the gradebook knows (nbgrader skips any others)."""
        paths = glob.glob(os.path.join(self._folder(self.coursedir.submitted_directory, student), "*.ipynb"))
        return sorted(p for p in paths if os.path.splitext(os.path.basename(p))[0] in self.known)

    def submission_files(self, student):
        """{relative path: bytes} the notebooks see beside them, as nbgrader's autograde lays them out:
        the submission's other files, then the assignment's own files from source/ over them
        (but those in ``exclude_overwriting``)."""
        from nbgrader.utils import find_all_files
        assignment = self.coursedir.assignment_id
        ignore = self.coursedir.ignore + ["*.ipynb"]
        paths = {}
        submitted = self._folder(self.coursedir.submitted_directory, student)
        for path in find_all_files(submitted, ignore):
            if not os.path.islink(path):        # a student's link must not make this process read for them
                paths[os.path.relpath(path, submitted)] = path
        source = self.coursedir.format_path(self.coursedir.source_directory, ".", assignment)
        keep = set(self.exclude_overwriting.get(assignment, []))
        for path in find_all_files(source, ignore):
            rel = os.path.relpath(path, source)
            if rel not in keep:
                paths[rel] = path
        files, total = {}, 0
        for rel, path in sorted(paths.items()):
            total += os.path.getsize(path)
            if total > MAX_FILES_BYTES:
                raise GradingFailed(f"the submission's files are larger than {MAX_FILES_BYTES >> 20} MiB")
            with open(path, "rb") as f:
                files[rel] = f.read()
        return files

    def sanitized(self, student):
        """{notebook name: sanitized JSON} of a student's submission, nothing written."""
        self._sanitizing = True
        self._init_preprocessors()
        out = {}
        for path in self.submitted_notebooks(student):
            resources = self.init_single_notebook_resources(path)
            text, _ = self.exporter.from_filename(path, resources=resources)
            out[resources["nbgrader"]["notebook"]] = text
        return out

    def convert_single_notebook(self, notebook_filename):
        """nbgrader's autograde step on the notebook sanitized before grading (not sanitized again)."""
        name = os.path.splitext(os.path.basename(notebook_filename))[0]
        staged = os.path.join(self.writer.build_directory, os.path.basename(notebook_filename))
        with open(staged, "w", encoding="utf-8") as f:
            f.write(self.staged[name])
        self._sanitizing = False
        self._init_preprocessors()
        try:
            with setenv(NBGRADER_EXECUTION="autograde"):
                BaseConverter.convert_single_notebook(self, staged)
        finally:
            self._sanitizing = True

    def write(self, student, sanitized, graded):
        """nbgrader's autograde of ``student``: the ``sanitized`` notebooks with the ``graded``
        outputs into the gradebook and the staging folder, then the rename into autograded/."""
        assignment = self.coursedir.assignment_id
        staged = self._format_dest(assignment, student)
        final = self._folder(self.coursedir.autograded_directory, student)
        shutil.rmtree(staged, ignore_errors=True)
        self.staged, self.graded = sanitized, graded
        self._sanitizing = True
        self.notebooks = self.submitted_notebooks(student)
        self.writer.build_directory = staged
        try:
            self.init_assignment(assignment, student)
            os.makedirs(staged, exist_ok=True)
            for path in self.notebooks:
                self.convert_single_notebook(path)
            self.set_permissions(assignment, student)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        finally:
            self.staged, self.graded = {}, {}
        if os.path.exists(final):
            shutil.rmtree(final)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.rename(staged, final)


# --------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------

def default_workers():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class _TestCellChecksums(logging.Filter):
    """Drop nbgrader's "Attribute 'checksum' for cell ... has changed" warnings.

    A released test cell lacks its hidden tests, so its checksum never
    matches the source's: nbgrader says so for every test cell of every
    student, twice here (sanitized, then written).  Other changed attributes
    are still reported.
    """

    def filter(self, record):
        return not (str(record.msg).startswith("Attribute '%s' for cell") and record.args
                    and record.args[0] == "checksum")

    @classmethod
    def install(cls, log):
        for handler in log.handlers:
            handler.addFilter(cls())


def _nbgrader_app(root, assignment, force, config_flags=()):
    """nbgrader's AutogradeApp, initialised from the course's nbgrader_config.py and ``config_flags``."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps import AutogradeApp
    app = AutogradeApp()
    app.initialize([assignment] + (["--force"] if force else []) + list(config_flags))
    app.log.setLevel("WARNING")        # nbgrader's per-file INFO lines would bury the progress bar
    _TestCellChecksums.install(app.log)
    app.coursedir.root = root
    app.coursedir.assignment_id = assignment
    with Gradebook(app.coursedir.db_url, app.coursedir.course_id) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise SystemExit(f"cnncourse autograde: the gradebook has no assignment {assignment!r}; "
                             f"run `nbgrader generate_assignment {assignment}` first") from None
    return app


def pending_students(coursedir, force):
    """Students with a submission of the assignment that is not graded yet (or newer than its grading)."""
    assignment = coursedir.assignment_id
    pending = []
    for folder in sorted(glob.glob(coursedir.format_path(coursedir.submitted_directory, "*", assignment))):
        student = os.path.basename(os.path.dirname(folder))
        if coursedir.student_id_exclude and student in coursedir.student_id_exclude.split(","):
            continue
        final = coursedir.format_path(coursedir.autograded_directory, student, assignment)
        new, old = coursedir.get_existing_timestamp(folder), coursedir.get_existing_timestamp(final)
        if force or not os.path.exists(final) or (new and old and new > old):
            pending.append(student)
    return pending


@contextlib.contextmanager
def _quiet_nbgrader():
    """Without the SQLAlchemy warnings nbgrader's gradebook gives when a student already has a
    submission of another assignment ("... not in session, add operation ... will not proceed"):
    `nbgrader autograde` prints the same, and there is nothing to do about them."""
    from sqlalchemy.exc import SAWarning
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.")
        yield


@contextlib.contextmanager
def _one_engine_per_database():
    """Let nbgrader's Gradebooks share one SQLAlchemy engine per database within a run.

    nbgrader opens a new ``Gradebook`` for almost every step, each with an
    engine of its own, so every query is compiled again: most of the writer's
    time per submission.  Sharing the engine keeps SQLAlchemy's statement
    cache; ``Gradebook.close()`` still returns its connections (``dispose``),
    and every transaction is nbgrader's own, as before.
    """
    import nbgrader.api as api
    original = api.create_engine
    engines = {}

    def create_engine(url, **kwargs):
        key = (str(url), tuple(sorted(kwargs.items())))
        if key not in engines:
            engines[key] = original(url, **kwargs)
        return engines[key]

    api.create_engine = create_engine
    try:
        yield
    finally:
        api.create_engine = original
        for engine in engines.values():
            engine.dispose()


class _Lock:
    def __init__(self, root):
        self.path = os.path.join(root, LOCK)

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise SystemExit("cnncourse autograde: another grading run holds this course "
                             f"({self.path}); wait for it to finish") from None
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def _executor(workers, scheduler):
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise SystemExit("cnncourse autograde --scheduler needs Dask: pip install 'cnncore[cluster]' "
                             "(the package `distributed`)") from None
        client = Client(scheduler, timeout=30)
        return client.get_executor(pure=False), client
    ctx = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                                  initializer=notebook.die_with_parent), None


def _graded(jobs, workers, scheduler):
    """Yield (student, result or the exception) as the ``jobs`` ((student, job) pairs) are graded.

    One worker and no scheduler: here, one submission after another (one
    core in all); else on local processes or the Dask cluster, all jobs
    queued at once.
    """
    if workers == 1 and not scheduler:
        for student, job in jobs:
            try:
                yield student, notebook.grade_job(job)
            except Exception as exc:
                yield student, exc
        return
    executor, client = _executor(workers, scheduler)
    futures = {}
    try:
        for student, job in jobs:
            futures[executor.submit(notebook.grade_job, job)] = student
        for future in concurrent.futures.as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as exc:
                yield futures[future], exc
    finally:
        for future in futures:        # nothing left running after an error or ^C
            future.cancel()
        executor.shutdown(wait=True)
        if client is not None:
            client.close()


def autograde(root, assignment, workers=None, scheduler=None, force=False, progress=None, config_flags=()):
    """Grade every pending submission of ``assignment`` in the course at ``root``; return the run's summary.

    ``progress``: the tqdm bar on (True), off (False), or only on a terminal
    (None).  The summary: ``graded`` (students), ``skipped`` (how many were
    graded already), ``failed`` (student -> reason), ``seconds``,
    ``writer_seconds`` (this process's share) and ``report`` (the class
    report's index.html).  ``config_flags``: nbgrader's ``--Class.trait=value``.
    """
    from tqdm import tqdm

    from . import report

    root = os.path.abspath(root)
    workers = workers or default_workers()
    here = os.getcwd()
    os.chdir(root)
    try:
        with _Lock(root), _one_engine_per_database(), _quiet_nbgrader():
            shutil.rmtree(os.path.join(root, STAGING), ignore_errors=True)
            app = _nbgrader_app(root, assignment, force, config_flags)
            coursedir = app.coursedir
            writer = StagedAutograde(coursedir=coursedir, parent=app)
            writer.setup()
            grader = SandboxedGrading(parent=writer)
            if not grader.unsafe_no_sandbox:
                sandbox.check_available()
            settings = grader.settings()
            secret = grader.secret or course_secret(root)
            everyone = glob.glob(coursedir.format_path(coursedir.submitted_directory, "*", assignment))
            pending = pending_students(coursedir, force)
            log = report.GradingLog(root, assignment)
            failed, times, sanitized = {}, {}, {}
            clock = {"writer": 0.0}        # this process's share: sanitizing and writing
            bar = tqdm(total=len(pending), unit="submission", desc=f"autograde {assignment}",
                       disable=None if progress is None else not progress, dynamic_ncols=True)

            def fail(student, exc):
                failed[student] = _reason(exc)
                log.add(student, "failed", None, failed[student])

            def jobs():
                for student in pending:
                    t = time.monotonic()
                    try:
                        sanitized[student] = writer.sanitized(student)
                        job = {"notebooks": sanitized[student], "files": writer.submission_files(student),
                               "settings": settings, "secret": secret, "course_root": root,
                               "assignment": assignment}      # its language: conv2d_cs is graded in Czech
                    except Exception as exc:      # unreadable notebook, files too large, ...
                        fail(student, exc)
                        bar.update()
                        continue
                    finally:
                        clock["writer"] += time.monotonic() - t
                    yield student, job

            t0 = time.monotonic()
            try:
                for student, result in _graded(jobs(), workers, scheduler):
                    t = time.monotonic()
                    try:
                        if isinstance(result, Exception):
                            raise result
                        writer.write(student, sanitized.pop(student), result["notebooks"])
                    except Exception as exc:
                        fail(student, exc)
                    else:
                        times[student] = result["seconds"]
                        log.add(student, "graded", result["seconds"], timings=result["timings"])
                    clock["writer"] += time.monotonic() - t
                    bar.update()
                    bar.set_postfix(failed=len(failed), refresh=False)
            finally:
                bar.close()
                shutil.rmtree(os.path.join(root, STAGING), ignore_errors=True)
            run = {"workers": None if scheduler else workers, "scheduler": scheduler,
                   "seconds": round(time.monotonic() - t0, 2), "graded": len(times),
                   "skipped": len(everyone) - len(pending), "failed": len(failed)}
            index = report.write(root, assignment, coursedir, run)
    finally:
        os.chdir(here)
    return {"graded": sorted(times), "failed": failed, "skipped": run["skipped"], "seconds": run["seconds"],
            "writer_seconds": clock["writer"], "report": index}


def _reason(exc):
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, GradingFailed) else f"{type(exc).__name__}: {text}"


__all__ = ["autograde", "pending_students", "GradedOutputs", "StagedAutograde", "GradingFailed"]
