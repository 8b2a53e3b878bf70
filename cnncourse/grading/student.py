"""The student context: runs the student's notebook inside the sandbox and calls its functions.

The trusted grader (:mod:`cnncourse.grading.session`) starts this file as a
script inside bubblewrap (``python -I student.py``); there the course, the
gradebook, cnncore, cnncourse, torch and SciPy are out of reach.  It

1. drops to an unprivileged user when started as root (so that the limit on
   processes applies), takes the protocol channel (fds 0 and 1) for itself and
   sends everything the student's code prints to a counting sink;
2. runs the notebook's code cells (all but the graded ones) in one IPython
   shell, each under a soft time limit, and reports which cells raised;
3. answers calls: the function's name, its arguments (arrays as ``.npz``
   bytes, plain values as JSON), and sends back what the function returned,
   converted to plain float64 arrays or plain JSON data, and the inputs as
   they are after the call.  What it finds wrong with a return value (None,
   not an array, too few outputs, ...) or a cell (out of time) it sends as a
   code with plain fields; the trusted side words it in the assignment's
   language (:mod:`.messages`), so nothing here holds text for the student.

Nothing here is trusted.  Student code runs in this process and can rewrite
any of it, forge replies or close the channel; the trusted side reads only
length-prefixed ``.npz`` and JSON data (never a pickle), bounds its size and
time, and judges it.  So this file only has to serve honest notebooks well.

The framing and conversion helpers below are shared with the trusted side,
which imports this module; run as a script it imports only the standard
library, NumPy and IPython.
"""
import io
import json
import os
import signal
import struct
import sys
import time
import warnings

import numpy as np

# --------------------------------------------------------------------------
# framing: 8-byte little-endian length, then the payload
# --------------------------------------------------------------------------


def send_frame(stream, payload):
    stream.write(struct.pack("<Q", len(payload)))
    stream.write(payload)
    stream.flush()


def recv_frame(stream):
    head = stream.read(8)
    if len(head) != 8:
        raise EOFError("the channel closed")
    (n,) = struct.unpack("<Q", head)
    data = stream.read(n)
    if len(data) != n:
        raise EOFError("the channel closed mid-message")
    return data


def pack(meta, arrays=None):
    """npz bytes holding plain arrays and a JSON header under ``__meta__``."""
    buf = io.BytesIO()
    payload = dict(arrays or {})
    payload["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez(buf, **payload)
    return buf.getvalue()


def unpack(data):
    """(meta, arrays) from :func:`pack`'s bytes; never unpickles."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("__meta__").tobytes().decode("utf-8"))
    return meta, arrays


def decode_value(v):
    """JSON value -> Python value; ``{"tuple": [...]}`` becomes a tuple."""
    if isinstance(v, dict) and set(v) == {"tuple"}:
        return tuple(decode_value(e) for e in v["tuple"])
    if isinstance(v, list):
        return [decode_value(e) for e in v]
    return v


# --------------------------------------------------------------------------
# what the student's function returned, as plain data
# --------------------------------------------------------------------------

MAX_DEPTH = 6          # levels of lists in a plain-data result
MAX_ITEMS = 10000      # items in one list of a plain-data result


def to_plain_array(value):
    """(float64 array, dtype name, type name, problem): problem is None when it converts, else
    ``{"problem": code, ...}`` with code ``none``, ``not_array`` (and ``error``: the exception's
    type) or ``not_numeric`` (and ``dtype``): ``ret_<code>`` in :mod:`.messages`."""
    tname = type(value).__name__
    if value is None:
        return None, None, "NoneType", {"problem": "none"}
    try:
        arr = np.asarray(value)
    except Exception as exc:
        return None, None, tname, {"problem": "not_array", "error": type(exc).__name__}
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        return None, None, tname, {"problem": "not_numeric", "dtype": str(arr.dtype)}
    return np.array(arr, dtype=np.float64, copy=True, subok=False), str(arr.dtype), tname, None


def to_plain_data(value, depth=0):
    """int, float, str and lists of them; raise :class:`BadReturn` for anything else."""
    if depth > MAX_DEPTH:
        raise BadReturn("data_nested")
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return str(value)[:200]
    if isinstance(value, (tuple, list, np.ndarray)):
        items = list(value.tolist() if isinstance(value, np.ndarray) else value)
        if len(items) > MAX_ITEMS:
            raise BadReturn("data_long")
        return [to_plain_data(v, depth + 1) for v in items]
    raise BadReturn("data_type", type=type(value).__name__)


def convert_result(value, mode, n_outputs):
    """(outputs, arrays, extra): one entry per output, arrays keyed ``out<j>``."""
    if mode == "data":
        return [{"data": to_plain_data(value)}], {}, None
    if n_outputs is None:
        values, extra = [value], None
    else:
        if not isinstance(value, (tuple, list)):
            raise BadReturn("not_tuple", type=type(value).__name__, n=n_outputs)
        if len(value) < n_outputs:
            raise BadReturn("too_few", got=len(value), n=n_outputs)
        values, extra = list(value[:n_outputs]), len(value)
    outputs, arrays = [], {}
    for j, v in enumerate(values):
        plain, dtype, tname, problem = to_plain_array(v)
        if problem is not None:
            outputs.append(dict(problem, type=tname))
        else:
            arrays[f"out{j}"] = plain
            outputs.append({"dtype": dtype, "type": tname})
    return outputs, arrays, extra


class BadReturn(Exception):
    """What the function returned cannot be sent back: ``code`` (``ret_<code>`` in :mod:`.messages`)
    and plain ``fields``, which the trusted side words."""

    def __init__(self, code, **fields):
        super().__init__(code)
        self.code, self.fields = code, fields


# --------------------------------------------------------------------------
# running the notebook and calling its functions
# --------------------------------------------------------------------------

class TimeLimitExceeded(BaseException):
    """Raised in student code when its soft time limit passes (BaseException: not caught by ``except Exception``)."""


class _Sink(io.TextIOBase):
    """A stdout/stderr that counts what is written and keeps nothing."""

    def __init__(self):
        self.count = 0

    def writable(self):
        return True

    def write(self, s):
        self.count += len(s)
        return len(s)


def describe_exception(exc):
    msg = str(exc)
    if len(msg) > 300:
        msg = msg[:300] + "..."
    line = ""
    tb = exc.__traceback__
    while tb is not None:           # the innermost frame in the notebook's own code
        if tb.tb_frame.f_code.co_filename.startswith("<"):
            line = f" (line {tb.tb_lineno})"
        tb = tb.tb_next
    text = f"{type(exc).__name__}: {msg}{line}"
    if isinstance(exc, ImportError) and getattr(exc, "name", None):
        text += f" [module {exc.name}]"
    return text


def _alarm(signum, frame):
    raise TimeLimitExceeded()


class StudentContext:
    """The student's namespace and the guarded calls into it.

    In the sandbox the namespace is an IPython shell's, filled by
    :meth:`run_cells`; the trusted :func:`cnncourse.grading.check` passes a
    notebook's ``globals()`` instead.
    """

    def __init__(self, proto_in=None, proto_out=None, namespace=None):
        self.proto_in, self.proto_out = proto_in, proto_out
        self.sink = _Sink()
        self.namespace = namespace
        self.shell = None

    def _shell(self):
        if self.shell is None:
            from traitlets.config import Config
            from IPython.core.interactiveshell import InteractiveShell
            config = Config()
            config.HistoryManager.enabled = False
            self.shell = InteractiveShell.instance(config=config)
            self.namespace = self.shell.user_ns
        return self.shell

    def _limited(self, seconds, fn, *args, **kwargs):
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def run_cells(self, cells, seconds):
        errors = {}
        shell = self._shell()
        for cell_id, source in cells:
            try:
                result = self._limited(seconds, shell.run_cell, source, store_history=False, silent=True)
                exc = result.error_before_exec or result.error_in_exec
            except TimeLimitExceeded:
                exc = TimeLimitExceeded()
            if isinstance(exc, TimeLimitExceeded):      # raised in the cell's code or around it
                errors[cell_id] = {"code": "cell_timeout"}     # worded by the trusted side
            elif exc is not None:
                errors[cell_id] = describe_exception(exc)
        return errors

    def call(self, meta, arrays):
        fn = (self.namespace or {}).get(meta["function"])
        if not callable(fn):
            return {"status": "missing"}, {}
        inputs = {k: np.array(a, copy=True) for k, a in arrays.items()}
        args = [inputs[a["array"]] if "array" in a else decode_value(a["value"]) for a in meta["args"]]
        kwargs = {k: decode_value(v) for k, v in meta["kwargs"].items()}
        res, out_arrays = {"status": "ok"}, {}
        printed = self.sink.count
        start = time.monotonic()
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
            warnings.simplefilter("always")
            try:
                value = self._limited(meta["seconds"], lambda: fn(*args, **kwargs))
                outputs, out_arrays, extra = convert_result(value, meta["output"], meta["n_outputs"])
                res["outputs"] = outputs
                if extra is not None:
                    res["extra_outputs"] = extra
            except TimeLimitExceeded:
                res = {"status": "timeout"}
            except BadReturn as exc:
                res = {"status": "bad_return", "code": exc.code, "fields": exc.fields}
            except RecursionError:
                res = {"status": "error", "message": "RecursionError: maximum recursion depth exceeded"}
            except Exception as exc:
                res = {"status": "error", "message": describe_exception(exc)}
        res["seconds"] = round(time.monotonic() - start, 3)
        if caught:
            res["warnings"] = [f"{w.category.__name__}: {w.message}"[:200] for w in caught[:3]]
        if self.sink.count > printed:
            res["printed"] = self.sink.count - printed
        for k, a in inputs.items():    # the inputs after the call: did it modify them?
            try:
                out_arrays[f"in/{k}"] = np.array(a, dtype=np.float64, copy=True, subok=False)
            except Exception:
                res["inputs_broken"] = True
        return res, out_arrays

    def serve(self):
        start = json.loads(recv_frame(self.proto_in).decode("utf-8"))
        t0 = time.monotonic()
        errors = self.run_cells(start["cells"], start["cell_seconds"])
        send_frame(self.proto_out, json.dumps({"errors": errors, "seconds": time.monotonic() - t0}).encode())
        while True:
            data = recv_frame(self.proto_in)
            if not data:
                return
            meta, arrays = unpack(data)
            res, out_arrays = self.call(meta, arrays)
            send_frame(self.proto_out, pack(res, out_arrays))


class _Blocker:
    """Say clearly why the reference and the libraries that would do the work are missing."""

    def __init__(self, names):
        self.names = tuple(names)

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r} (not available while grading)", name=name)
        return None


def main(argv):
    # argv: [--uid N] [--block name,name]
    uid = block = None
    if "--uid" in argv:
        uid = int(argv[argv.index("--uid") + 1])
    if "--block" in argv:
        block = argv[argv.index("--block") + 1].split(",")
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    # The protocol on private fds; stdin from /dev/null; fd 1 and 2 to nowhere.
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if block:
        sys.meta_path.insert(0, _Blocker(block))
    work, submission = os.environ.get("CNNCOURSE_WORK"), os.environ.get("CNNCOURSE_SUBMISSION")
    if work:
        if submission:      # a private, writable copy of the submission's folder
            import shutil
            try:
                shutil.copytree(submission, work, dirs_exist_ok=True)
            except (OSError, shutil.Error):
                pass
        os.chdir(work)
    ctx = StudentContext(proto_in, proto_out)
    ctx._shell()
    send_frame(proto_out, b"ready")    # set up, before any student code: from here on, failures are the notebook's
    sys.stdout = sys.stderr = ctx.sink
    try:
        ctx.serve()
    except EOFError:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
