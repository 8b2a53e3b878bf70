"""The half of the grader that runs inside the student's notebook kernel.

Student code runs in the same Python process as the hidden tests, so nothing
that decides a grade happens here.  :func:`check` starts a *worker*: a clean
interpreter (``python -I -m cnncore.grading.worker``, so no student file, no
``PYTHONPATH`` and no patched module can reach it).  The worker generates the
test cases, computes the expected results with the compiled cnncore, and sends
the inputs here as ``.npz`` bytes (no pickles).  This module only

1. calls the student's function on each case, under guards: a time limit per
   case, warnings and anything written to stdout/stderr captured (a NumPy
   warning must not zero a correct solution: nbgrader zeroes a cell that
   writes to stderr), and a call monitor that notices calls into cnncore,
   torch and friends;
2. converts what the function returned into plain float64 arrays and sends
   them back as ``.npz`` bytes, together with the inputs as they are after
   the call (so the worker can tell whether the function modified them);
3. prints the worker's report and returns the worker's score, which the test
   cell displays as its output: nbgrader takes that number as the cell's
   partial credit.

This module imports only the standard library and NumPy, never cnncore.
Everything it needs is bound when it is imported; the course notebooks import
it in their first (read-only) cell, before any student code runs.
"""
import contextlib
import importlib.util
import io
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

__all__ = ["check"]

# Bound at import time, before student code can patch the originals.
_PYTHON = sys.executable
_Popen = subprocess.Popen
_PIPE = subprocess.PIPE
_DEVNULL = subprocess.DEVNULL
_dumps, _loads = json.dumps, json.loads
_np_array, _np_asarray, _np_load, _np_savez = np.array, np.asarray, np.load, np.savez
_ndarray, _float64 = np.ndarray, np.float64
_BytesIO, _StringIO = io.BytesIO, io.StringIO
_monotonic = time.monotonic
_getprofile, _setprofile = sys.getprofile, sys.setprofile
_dup, _dup2, _close = os.dup, os.dup2, os.close
_catch_warnings, _simplefilter = warnings.catch_warnings, warnings.simplefilter

# Together these keep a hidden test cell under ~50 s, inside nbgrader's
# per-cell limit (Execute.timeout = 60 in assignments/nbgrader_config.py),
# so a slow or endless function costs points in its own cell only.
CASE_SECONDS = 8.0      # time limit for one call of the student's function
CELL_SECONDS = 30.0     # after this, the remaining cases of a check are not run
WORKER_SECONDS = 300.0  # the worker itself (reference computations)


class TimeLimitExceeded(BaseException):
    """Raised inside the student's function when a case runs out of time.

    A BaseException, so that ``except Exception`` in student code does not
    swallow it.
    """


class GradingError(RuntimeError):
    """The grader itself could not run (not the student's fault)."""


# --------------------------------------------------------------------------
# framing between this process and the worker: 8-byte length, then payload
# --------------------------------------------------------------------------

def _send(stream, payload):
    stream.write(struct.pack("<Q", len(payload)))
    stream.write(payload)
    stream.flush()


def _recv(stream):
    head = stream.read(8)
    if len(head) != 8:
        raise EOFError("the grading worker closed its output")
    (n,) = struct.unpack("<Q", head)
    data = stream.read(n)
    if len(data) != n:
        raise EOFError("the grading worker's output was cut short")
    return data


def pack(meta, arrays):
    """npz bytes holding plain arrays and a JSON header under ``__meta__``."""
    buf = _BytesIO()
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(_dumps(meta).encode("utf-8"), dtype=np.uint8)
    _np_savez(buf, **payload)
    return buf.getvalue()


def unpack(data):
    with _np_load(_BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = _loads(arrays.pop("__meta__").tobytes().decode("utf-8"))
    return meta, arrays


def decode_value(v):
    """JSON value -> Python value; ``{"tuple": [...]}`` becomes a tuple."""
    if isinstance(v, dict) and set(v) == {"tuple"}:
        return tuple(decode_value(e) for e in v["tuple"])
    if isinstance(v, list):
        return [decode_value(e) for e in v]
    return v


# --------------------------------------------------------------------------
# the call monitor: notices calls into libraries that do the work for you
# --------------------------------------------------------------------------

_forbidden_dirs_cache = {}


def _module_dirs(name):
    """Directories of the (not necessarily imported) package ``name``."""
    if name in _forbidden_dirs_cache:
        return _forbidden_dirs_cache[name]
    dirs = []
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        spec = None
    if spec is not None:
        if spec.submodule_search_locations:
            dirs = [os.path.join(os.path.realpath(d), "") for d in spec.submodule_search_locations]
        elif spec.origin:
            dirs = [os.path.realpath(spec.origin)]
    _forbidden_dirs_cache[name] = dirs
    return dirs


class _Monitor:
    """A ``sys.setprofile`` hook that records the first forbidden call."""

    def __init__(self, forbidden):
        self.forbidden = tuple(forbidden)
        here = os.path.join(os.path.dirname(os.path.realpath(__file__)), "")
        self.allowed_dirs = (here,)
        self.dirs = []
        for name in self.forbidden:
            for d in _module_dirs(name):
                self.dirs.append((d, name))
        self.hit = None
        self._seen = {}

    def _classify_file(self, filename):
        r = self._seen.get(filename)
        if r is None:
            r = ""
            real = os.path.realpath(filename) if filename and not filename.startswith("<") else ""
            if real and not real.startswith(self.allowed_dirs):
                for d, name in self.dirs:
                    if real.startswith(d) or real == d:
                        r = name
                        break
            self._seen[filename] = r
        return r

    def __call__(self, frame, event, arg):
        if self.hit is not None:
            return
        if event == "call":
            name = self._classify_file(frame.f_code.co_filename)
            if name:
                self.hit = f"{frame.f_code.co_name} from {name} ({os.path.basename(frame.f_code.co_filename)})"
        elif event == "c_call":
            mod = getattr(arg, "__module__", None) or ""
            if not isinstance(mod, str):
                return
            for name in self.forbidden:
                if mod == name or mod.startswith(name + "."):
                    self.hit = f"{getattr(arg, '__name__', '?')} from {mod}"
                    break


# --------------------------------------------------------------------------
# calling the student's function under guards
# --------------------------------------------------------------------------

@contextlib.contextmanager
def _quiet_fds():
    """Send C-level writes to fd 1 and 2 to a temporary file for a while."""
    saved = []
    try:
        sink = tempfile.TemporaryFile()
    except OSError:
        yield None
        return
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, _dup(fd)))
                _dup2(sink.fileno(), fd)
            except OSError:
                pass
        yield sink
    finally:
        for fd, copy in saved:
            try:
                _dup2(copy, fd)
                _close(copy)
            except OSError:
                pass
        sink.close()


def _on_alarm(signum, frame):
    raise TimeLimitExceeded()


class _Outcome:
    __slots__ = ("value", "error", "timed_out", "forbidden", "warnings", "printed", "seconds")

    def __init__(self):
        self.value = None
        self.error = None
        self.timed_out = False
        self.forbidden = None
        self.warnings = []
        self.printed = 0
        self.seconds = 0.0


def guarded_call(fn, args, kwargs, seconds=CASE_SECONDS, forbidden=(), convert=None):
    """Call ``fn(*args, **kwargs)`` (and ``convert(result)``) under guards.

    Returns an :class:`_Outcome`.  Never raises because of the student's
    code, except for KeyboardInterrupt from outside (nbgrader's cell timeout).
    """
    out = _Outcome()
    monitor = _Monitor(forbidden) if forbidden else None
    use_alarm = (threading.current_thread() is threading.main_thread()
                 and hasattr(signal, "setitimer"))
    old_handler = None
    captured_out, captured_err = _StringIO(), _StringIO()
    start = _monotonic()
    with _catch_warnings(record=True) as caught, np.errstate(all="warn"):
        _simplefilter("always")
        with _quiet_fds() as sink:
            old_stdout, old_stderr = sys.stdout, sys.stderr
            sys.stdout, sys.stderr = captured_out, captured_err
            old_profile = _getprofile()
            try:
                if use_alarm:
                    old_handler = signal.signal(signal.SIGALRM, _on_alarm)
                    signal.setitimer(signal.ITIMER_REAL, seconds)
                if monitor is not None:
                    _setprofile(monitor)
                try:
                    value = fn(*args, **kwargs)
                    if convert is not None:
                        value = convert(value)
                    out.value = value
                finally:
                    if monitor is not None:
                        if _getprofile() is not monitor and monitor.hit is None:
                            monitor.hit = "sys.setprofile (your function switched off the grader's call monitor)"
                        _setprofile(old_profile)
                    if use_alarm:
                        signal.setitimer(signal.ITIMER_REAL, 0)
            except TimeLimitExceeded:
                out.timed_out = True
            except RecursionError:
                out.error = "RecursionError: maximum recursion depth exceeded"
            except Exception as exc:  # the student's error, reported in the feedback
                out.error = _describe_exception(exc)
            finally:
                if use_alarm and old_handler is not None:
                    signal.signal(signal.SIGALRM, old_handler)
                sys.stdout, sys.stderr = old_stdout, old_stderr
                if sink is not None:
                    try:
                        sink.seek(0, 2)
                        out.printed += sink.tell()
                    except (OSError, ValueError):
                        pass
    out.seconds = _monotonic() - start
    out.printed += len(captured_out.getvalue()) + len(captured_err.getvalue())
    out.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
    if monitor is not None:
        out.forbidden = monitor.hit
    return out


def _describe_exception(exc):
    import traceback
    tb = traceback.extract_tb(exc.__traceback__)
    where = ""
    # the innermost frame that is in the student's notebook (not numpy, not here)
    for fr in reversed(tb):
        if "ipykernel" in fr.filename or fr.filename.startswith("<"):
            where = f" (line {fr.lineno}: {fr.line.strip() if fr.line else ''})"
            break
    msg = str(exc)
    if len(msg) > 300:
        msg = msg[:300] + "..."
    return f"{type(exc).__name__}: {msg}{where}"


def to_plain_array(value):
    """What the student returned, as (float64 array, original dtype, type name) or an error string."""
    tname = type(value).__name__
    if value is None:
        return None, None, "NoneType", "returned None (forgot a `return`?)"
    try:
        arr = _np_asarray(value)
    except Exception as exc:
        return None, None, tname, f"returned a {tname} that NumPy cannot turn into an array ({type(exc).__name__})"
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        return None, None, tname, f"returned a {tname} of dtype {arr.dtype}, not a numeric array"
    plain = _np_array(arr, dtype=_float64, copy=True, subok=False)
    if type(plain) is not _ndarray:
        return None, None, tname, f"returned a {tname}, which is not a plain array"
    return plain, str(arr.dtype), tname, None


def to_plain_data(value, depth=0):
    """What the student returned, as plain JSON data (int, float, str, lists); or raise TypeError.

    Used by checks whose answers are tables rather than arrays.  Each value is
    rebuilt from Python's own types, so a subclass with a custom ``__eq__``
    cannot travel to the worker.
    """
    if depth > 6:
        raise TypeError("nested too deeply")
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, np.integer):
        return int(np.int64(value))
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, np.floating):
        return float(np.float64(value))
    if isinstance(value, str):
        return str.__str__(value)[:200]
    if isinstance(value, (tuple, list, _ndarray)):
        items = list(value.tolist() if isinstance(value, _ndarray) else value)
        if len(items) > 10000:
            raise TypeError("too long")
        return [to_plain_data(v, depth + 1) for v in items]
    raise TypeError(f"a {type(value).__name__}")


# --------------------------------------------------------------------------
# the worker process
# --------------------------------------------------------------------------

def _worker_env():
    env = {}
    for key in ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP"):
        if key in os.environ:
            env[key] = os.environ[key]
    env["OMP_NUM_THREADS"] = "1"
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    return env


def _start_worker(check_name, seed):
    cmd = [_PYTHON, "-I", "-m", "cnncore.grading.worker", check_name, str(int(seed))]
    return _Popen(cmd, stdin=_PIPE, stdout=_PIPE, stderr=_PIPE,
                  cwd=tempfile.gettempdir(), env=_worker_env())


def _restore_display():
    """Undo custom IPython printers and display hooks, so the score shows as itself."""
    try:
        from IPython import get_ipython
        ip = get_ipython()
        if ip is None:
            return
        formatter = ip.display_formatter
        for attr in ("format", "__call__"):
            formatter.__dict__.pop(attr, None)
        fmt = formatter.formatters.get("text/plain")
        fmt.__dict__.pop("__call__", None)
        for t in (float, int):
            fmt.type_printers.pop(t, None)
        fmt.deferred_printers.pop(("builtins", "float"), None)
        fmt.deferred_printers.pop(("builtins", "int"), None)
        for attr in ("write_format_data", "compute_format_data", "__call__", "write_output_prompt"):
            ip.displayhook.__dict__.pop(attr, None)
        if sys.displayhook is not ip.displayhook:
            sys.displayhook = ip.displayhook
    except Exception:
        pass


def _integrity_problems():
    """Names of library functions the grader relies on that were replaced at run time.

    The runner is re-imported by every hidden test cell (after student code
    ran), so it checks that what it bound at import time is still the real
    thing: a Python function must come from its own module's file, a C
    function must still be a builtin.
    """
    import types
    problems = []

    def from_file(fn, module):
        code = getattr(fn, "__code__", None)
        mod_file = getattr(module, "__file__", None)
        if code is None or mod_file is None:
            return False
        return os.path.realpath(code.co_filename) == os.path.realpath(mod_file)

    checks = [
        ("subprocess.Popen", getattr(_Popen, "__init__", None), subprocess),
        ("subprocess.Popen.communicate", getattr(_Popen, "wait", None), subprocess),
        ("json.loads", _loads, json),
        ("json.dumps", _dumps, json),
        ("numpy.load", _np_load, sys.modules.get("numpy.lib._npyio_impl") or sys.modules.get("numpy.lib.npyio")),
        ("numpy.savez", _np_savez, sys.modules.get("numpy.lib._npyio_impl") or sys.modules.get("numpy.lib.npyio")),
    ]
    for label, fn, module in checks:
        if fn is None or module is None:
            problems.append(label)
            continue
        if isinstance(fn, types.FunctionType) and not from_file(getattr(fn, "__wrapped__", fn), module):
            problems.append(label)
    for label, fn in [("numpy.array", _np_array), ("numpy.asarray", _np_asarray), ("struct.pack", struct.pack),
                      ("struct.unpack", struct.unpack), ("sys.setprofile", _setprofile), ("os.dup2", _dup2)]:
        if not isinstance(fn, types.BuiltinFunctionType):
            problems.append(label)
    if _np_array is not np.array or _ndarray is not np.ndarray:
        problems.append("numpy")
    # Builtins the grader uses, compared with what literals give (which no code can replace).
    import builtins
    literal_types = {"float": (0.0).__class__, "int": (0).__class__, "str": "".__class__,
                     "list": [].__class__, "dict": {}.__class__, "tuple": ().__class__,
                     "bool": True.__class__, "type": (0).__class__.__class__}
    for name, cls in literal_types.items():
        if getattr(builtins, name, None) is not cls:
            problems.append(f"builtins.{name}")
    builtin_function = [].append.__class__
    for name in ("round", "min", "max", "isinstance", "len", "print", "getattr", "callable",
                 "__import__", "iter", "next", "abs", "sum", "any", "all", "hasattr", "repr"):
        if getattr(getattr(builtins, name, None), "__class__", None) is not builtin_function:
            problems.append(f"builtins.{name}")
    return problems


def check(name, namespace, points, seed=0):
    """Grade the student's function ``name`` from ``namespace`` (a notebook's ``globals()``).

    Prints the diagnostics and returns the score, a float in [0, points].
    """
    with _catch_warnings():
        _simplefilter("ignore")     # nbgrader zeroes a cell that writes to stderr
        return _check(name, namespace, points, seed)


def _check(name, namespace, points, seed):
    _restore_display()
    tampered = _integrity_problems()
    if tampered:
        print(f"{name}: no credit. The notebook replaced functions the grader relies on "
              f"({', '.join(tampered)}); grading needs an unmodified Python and NumPy.\n"
              f"Score for {name}: 0 / {points}")
        return 0.0
    score, lines = _run(name, namespace, float(points), int(seed))
    print("\n".join(lines))
    _restore_display()
    return score


def _run(name, namespace, points, seed):
    fn = namespace.get(name) if isinstance(namespace, dict) else None
    if fn is None:
        return 0.0, [f"{name} is not defined: run its cell, and keep the name and the signature given."]
    if not callable(fn):
        return 0.0, [f"{name} is a {type(fn).__name__}, not a function."]

    proc = _start_worker(name, seed)
    try:
        try:
            meta, arrays = unpack(_recv(proc.stdout))
        except EOFError:
            err = proc.stderr.read().decode("utf-8", "replace")
            raise GradingError(f"the grading worker failed to start:\n{err[-2000:]}")
        results, out_arrays = _run_cases(fn, meta, arrays)
        _send(proc.stdin, pack({"results": results}, out_arrays))
        try:
            report = _loads(_recv(proc.stdout).decode("utf-8"))
        except EOFError:
            err = proc.stderr.read().decode("utf-8", "replace")
            raise GradingError(f"the grading worker failed:\n{err[-2000:]}")
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=WORKER_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
    fraction = float(report["fraction"])
    score = round(points * min(max(fraction, 0.0), 1.0), 2)
    lines = list(report["lines"])
    lines.append(f"Score for {name}: {score:g} / {points:g}")
    return score, lines


def _run_cases(fn, meta, arrays):
    forbidden = meta.get("forbidden", [])
    n_outputs = meta.get("n_outputs")          # None: one value; k: a tuple of k
    results, out_arrays = [], {}
    start = _monotonic()
    stop_reason = None
    for i, case in enumerate(meta["cases"]):
        res = {"status": "ok"}
        results.append(res)
        if stop_reason is not None:
            res.update(status="skipped", message=stop_reason)
            continue
        if _monotonic() - start > CELL_SECONDS:
            stop_reason = f"not run: the cases so far took more than {CELL_SECONDS:g} s in total"
            res.update(status="skipped", message=stop_reason)
            continue
        inputs = {k: _np_array(arrays[f"{i}/{k}"], copy=True) for k in case["arrays"]}
        args = [inputs[a["array"]] if "array" in a else decode_value(a["value"]) for a in case["args"]]
        kwargs = {k: decode_value(v) for k, v in case["kwargs"].items()}

        def convert(value, n_outputs=n_outputs, mode=meta.get("output", "arrays")):
            if mode == "data":
                try:
                    return [("data", to_plain_data(value))]
                except TypeError as exc:
                    return f"returned {exc}, which is not made of ints, floats, strings, tuples and lists"
            if n_outputs is None:
                return [to_plain_array(value)]
            if not isinstance(value, (tuple, list)):
                return f"returned a {type(value).__name__}; expected a tuple of {n_outputs} arrays"
            if len(value) < n_outputs:
                return f"returned {len(value)} values; expected {n_outputs}"
            return [to_plain_array(v) for v in value[:n_outputs]] + [("extra", len(value))]

        o = guarded_call(fn, args, kwargs, seconds=CASE_SECONDS, forbidden=forbidden, convert=convert)
        res["seconds"] = round(o.seconds, 3)
        if o.warnings:
            res["warnings"] = o.warnings[:3]
        if o.printed:
            res["printed"] = o.printed
        if o.forbidden:
            res.update(status="forbidden", message=o.forbidden)
        elif o.timed_out:
            res.update(status="timeout", message=f"stopped after {CASE_SECONDS:g} s (an endless loop?)")
            stop_reason = "not run: an earlier case ran out of time"
        elif o.error is not None:
            res.update(status="error", message=o.error)
        elif isinstance(o.value, str):
            res.update(status="bad_return", message=o.value)
        else:
            outs = []
            for j, item in enumerate(o.value):
                if len(item) == 2 and isinstance(item[0], str) and item[0] == "extra":
                    res["extra_outputs"] = item[1]
                    continue
                if len(item) == 2 and isinstance(item[0], str) and item[0] == "data":
                    outs.append({"data": item[1]})
                    continue
                plain, dtype, tname, problem = item
                if problem is not None:
                    outs.append({"problem": problem, "type": tname})
                else:
                    out_arrays[f"{i}/out{j}"] = plain
                    outs.append({"dtype": dtype, "type": tname})
            res["outputs"] = outs
        # the inputs as they are after the call: the worker compares them
        for k, a in inputs.items():
            try:
                out_arrays[f"{i}/in/{k}"] = _np_array(a, copy=True, subok=False)
            except Exception:
                res["inputs_broken"] = True
    return results, out_arrays
