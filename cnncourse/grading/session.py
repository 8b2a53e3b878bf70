"""The trusted side of the channel to a sandboxed student context.

A :class:`StudentSession` starts the student context (in the sandbox, see
:mod:`.sandbox`), has it run the notebook's cells, and calls the student's
functions one case at a time.  Everything that comes back is data: a
length-prefixed ``.npz`` (``allow_pickle=False``) or JSON message, read with a
deadline and a size bound.  When a call runs out of time, the context dies
(``os._exit``, a segfault, a memory limit) or answers with something that is
not a well-formed reply, the session kills the whole sandbox, records what
happened for that case only, and starts a fresh context for the next case.
"""
import collections
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time

from . import sandbox
from .messages import Text
from .student import pack, send_frame, unpack

MAX_REPLY = 64 << 20       # bytes in one reply: far above any honest output


class ContextDied(Exception):
    """The student context ended, hung or broke the protocol; ``status`` says which.

    ``message`` is a :class:`.messages.Text`: English where it is read as a string (logs, the
    class report), and ``message.say(lang)`` for the student, in the assignment's language.
    """

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class SandboxFailed(RuntimeError):
    """The student context could not start: the grader's setup, not the student, is at fault."""


class StudentSession:
    """The student's notebook, run in a sandbox, with its functions callable from here.

    ``cells``: ``[(cell_id, source)]`` in notebook order, the code to run
    before any call.  ``submission``: the folder whose read-only view and
    private copy the notebook sees.  ``isolate=False`` runs the context
    without the sandbox (trusted code only).
    """

    def __init__(self, cells, submission=None, limits=None, isolate=True,
                 cell_seconds=20.0, start_seconds=240.0, hidden=()):
        self.cells = [list(c) for c in cells]
        self.submission = submission
        self.limits = limits or sandbox.Limits()
        self.isolate = isolate
        self.cell_seconds = cell_seconds
        self.start_seconds = start_seconds
        self.hidden = tuple(hidden)
        self.proc = None
        self.cell_errors = {}
        self.timings = collections.Counter()     # seconds: "sandbox start", "notebook cells" (restarts too)
        self._scratch = None
        self._drain = None
        self._stderr = collections.deque(maxlen=64)

    # -------------------------------------------------------------- process
    def _spawn(self):
        if self.isolate:
            argv = sandbox.command(self.limits, self.submission, hidden=self.hidden)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        else:     # the opt-out: no isolation, but still a scratch folder of its own
            argv = sandbox.unsandboxed_command()
            self._scratch = tempfile.mkdtemp(prefix="cnncourse-unsandboxed-")
            env = dict(sandbox.student_env(self.submission is not None), CNNCOURSE_WORK=self._scratch)
            if self.submission is not None:
                env["CNNCOURSE_SUBMISSION"] = self.submission
        base = sandbox.processes_base()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd="/",
                                     preexec_fn=lambda: self.limits.apply(base))
        self._buf = bytearray()
        self._drain = threading.Thread(target=self._drain_stderr, args=(self.proc.stderr,), daemon=True)
        self._drain.start()

    def _drain_stderr(self, stream):
        try:
            while True:
                chunk = stream.read1(65536)
                if not chunk:
                    return
                self._stderr.append(chunk[-2048:])
        except (OSError, ValueError):
            return

    def stderr_tail(self):
        if self.proc is None and self._drain is not None:
            self._drain.join(timeout=2)
        return b"".join(self._stderr).decode("utf-8", "replace")[-2000:]

    def kill(self):
        proc, self.proc = self.proc, None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)     # bwrap and, through its PID namespace, everything inside
        except (ProcessLookupError, PermissionError):
            pass
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    # ------------------------------------------------------------- protocol
    def _write(self, payload):
        try:
            send_frame(self.proc.stdin, payload)
        except (BrokenPipeError, OSError, ValueError):
            raise self._died()

    def _read_exact(self, n, deadline):
        fd = self.proc.stdout.fileno()
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ContextDied("timeout", Text("ran_out_of_time"))
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, min(1 << 20, max(n - len(self._buf), 65536)))
            if not chunk:
                raise self._died()
            self._buf += chunk
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _read(self, deadline):
        (n,) = struct.unpack("<Q", self._read_exact(8, deadline))
        if n > MAX_REPLY:
            raise ContextDied("bad_reply", Text("reply_too_big", n=n))
        return self._read_exact(n, deadline)

    def _died(self):
        proc = self.proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        return ContextDied("crashed", describe_exit(code, self.limits))

    # ---------------------------------------------------------------- public
    def start(self):
        """Start a context and run the cells; returns {cell_id: error} of the cells that raised."""
        self.kill()
        t0 = time.monotonic()
        self._spawn()
        try:
            ready = self._read(time.monotonic() + 120.0)
        except ContextDied:
            ready = None
        if ready != b"ready":
            self.kill()
            raise SandboxFailed("the sandboxed student context did not start (no student code had run yet):\n"
                                + self.stderr_tail())
        t1 = time.monotonic()
        self.timings["sandbox start"] += t1 - t0
        deadline = t1 + self.start_seconds
        try:
            self._write(json.dumps({"cells": self.cells, "cell_seconds": self.cell_seconds}).encode("utf-8"))
            reply = json.loads(self._read(deadline).decode("utf-8"))
            self.timings["notebook cells"] += time.monotonic() - t1
            errors = reply["errors"]
            if not isinstance(errors, dict):
                raise ValueError
            self.cell_errors = {str(k): Text("cell_timeout", seconds=self.cell_seconds)
                                if v == {"code": "cell_timeout"} else str(v)[:500] for k, v in errors.items()}
        except ContextDied as exc:
            self.kill()
            if exc.status == "timeout":
                exc.message = Text("cells_too_slow", seconds=self.start_seconds)
            raise
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            self.kill()
            raise ContextDied("bad_reply", Text("cells_broke_channel"))
        return self.cell_errors

    def call(self, meta, arrays):
        """Call the student's function: returns (result, arrays) or raises ContextDied.

        ``meta``: the function's name, its arguments, the output kind and the
        time limit (see :func:`cnncourse.grading.grade`).  The context is
        (re)started first when needed; after any failure it is killed, so one
        case's crash or hang never reaches the next case.
        """
        if self.proc is None:
            self.start()
        seconds = float(meta["seconds"])
        try:
            self._write(pack(meta, arrays))
            reply = self._read(time.monotonic() + seconds + 5.0)
        except ContextDied as exc:
            self.kill()
            if exc.status == "timeout":
                exc.message = Text("stopped_after", seconds=seconds)
            raise
        try:
            res, out = unpack(reply)
            if not isinstance(res, dict):
                raise ValueError
            return res, out
        except Exception:
            self.kill()
            raise ContextDied("bad_reply", Text("reply_malformed"))


def describe_exit(code, limits):
    """Why the student context ended, as a :class:`.messages.Text`."""
    if code is None:
        return Text("exit_unknown")
    if code < 0 or code > 128:      # killed by a signal (bwrap reports it as 128 + signal)
        sig = -code if code < 0 else code - 128
        if sig == signal.SIGXCPU:
            return Text("exit_cpu", seconds=limits.cpu_seconds)
        if sig == signal.SIGXFSZ:
            return Text("exit_file", mib=limits.file_size >> 20)
        if sig == signal.SIGSEGV:
            return Text("exit_segv")
        return Text("exit_signal", sig=sig)
    return Text("exit_code", code=code)
