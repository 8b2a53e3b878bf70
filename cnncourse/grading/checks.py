"""The checks: generated cases, expected results from cnncore, and diagnostics.

Imported only by the trusted grader, never where student code runs.  Each
check knows how to

* make its cases from a seed (shapes, odd sizes, non-square kernels, strides,
  SAME/VALID, float32/float64, dense and convolutional batch norm),
* compute the expected outputs with the compiled functional API of cnncore,
* judge what the student's function returned, and when it is wrong, say how:
  the expected against the received shape, the largest error and where, and
  for the typical mistakes of the course (a flipped kernel, SAME padding on
  the wrong side, swapped strides, unbiased variance, ...) what the output
  matches instead.  The messages describe the mistake, never the reference
  code.
"""
import re

import numpy as np

import cnncore

from .messages import current as current_language
from .messages import t
from .student import MAX_DEPTH, MAX_ITEMS

# Output names that are words (the others, y, dx, mean, ..., are the code's own names).
_OUTPUT_WORDS = {"output size": "out_output_size", "table": "out_table", "receptive field": "out_receptive_field"}


def output_label(name):
    """An output's name as the student reads it, in the grader's language."""
    return t(_OUTPUT_WORDS[name]) if name in _OUTPUT_WORDS else name

F32, F64 = np.float32, np.float64


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------

def _encode(v):
    if isinstance(v, tuple):
        return {"tuple": [_encode(e) for e in v]}
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def _fmt(v):
    if isinstance(v, np.ndarray):
        return f"{tuple(v.shape)} {v.dtype}"
    return repr(v)


class Case:
    """One call of the student's function: positional arguments and keywords."""

    def __init__(self, args, kwargs=None, dtype=None, **extra):
        self.args = list(args)            # [(name, value)], arrays or plain values
        self.kwargs = dict(kwargs or {})
        self.dtype = dtype
        self.arrays = {n: v for n, v in self.args if isinstance(v, np.ndarray)}
        self.extra = extra
        self.expected = None

    def wire(self):
        args = []
        for n, v in self.args:
            args.append({"array": n} if isinstance(v, np.ndarray) else {"value": _encode(v)})
        return {"arrays": list(self.arrays), "args": args,
                "kwargs": {k: _encode(v) for k, v in self.kwargs.items()}}

    def label(self, function):
        parts = [f"{n} {_fmt(v)}" if isinstance(v, np.ndarray) else repr(v) for n, v in self.args]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{function}({', '.join(parts)})"


class Check:
    function = None
    output = "arrays"         # "arrays": float64 arrays; "data": plain JSON data (tables, ints)
    n_outputs = None          # None: returns one value; k: returns a tuple of k
    output_names = ("output",)

    def make_cases(self, seed):
        rng = np.random.default_rng([seed, sum(map(ord, self.function))])
        cases = self.cases(rng)
        for c in cases:
            c.expected = self.expected(c)
        return cases

    def cases(self, rng):
        raise NotImplementedError

    def expected(self, case):
        raise NotImplementedError

    def judge(self, case, got):
        """got: list of float64 arrays (or problem strings), with dtypes.  -> message or None."""
        msgs = []
        for name, exp, (g, dt) in zip(self.output_names, case.expected, got):
            m = compare(output_label(name), exp, g, dt, case.dtype)
            if m:
                hint = None
                if isinstance(g, np.ndarray):
                    hint = self.diagnose(case, name, exp, g) or _scale_hint(exp, g, case.dtype)
                msgs.append(m + (f" -- {hint}" if hint else ""))
        return "; ".join(msgs) or None

    def diagnose(self, case, name, expected, got):
        return None


# --------------------------------------------------------------------------
# comparing
# --------------------------------------------------------------------------

def tolerance(dtype):
    return (2e-3, 2e-4) if dtype == F32 else (1e-6, 1e-8)


def close(expected, got, dtype):
    expected = np.asarray(expected, dtype=F64)
    if not isinstance(got, np.ndarray) or got.shape != expected.shape:
        return False
    rtol, atol = tolerance(dtype)
    scale = 1.0 + (float(np.max(np.abs(expected))) if expected.size else 0.0)
    return bool(np.allclose(got, expected, rtol=rtol, atol=atol * scale, equal_nan=False))


def _scale_hint(expected, got, dtype):
    """'your output is c times the expected one', when it is."""
    e = np.asarray(expected, dtype=F64)
    if not isinstance(got, np.ndarray) or got.shape != e.shape or not e.size:
        return None
    denom = float(np.sum(e * e))
    if denom == 0 or not np.all(np.isfinite(got)):
        return None
    c = float(np.sum(e * got)) / denom
    if abs(c - 1) > 1e-3 and abs(c) > 1e-6 and close(c * e, got, dtype):
        return t("scaled", c=c)
    return None


def compare(name, expected, got, got_dtype, dtype):
    if isinstance(got, str):
        return t("output_problem", name=name, problem=got)
    expected_arr = np.asarray(expected)
    if got.shape != expected_arr.shape:
        return t("wrong_shape", name=name, expected=tuple(expected_arr.shape), got=tuple(got.shape))
    if dtype is not None and got_dtype is not None and np.dtype(got_dtype) != np.dtype(dtype):
        return t("wrong_dtype", name=name, expected=np.dtype(dtype).name, got=got_dtype)
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(expected_arr)):
        bad = np.argwhere(~np.isfinite(got))[0]
        return t("not_finite", name=name, index=tuple(int(i) for i in bad))
    if close(expected_arr, got, dtype):
        return None
    err = np.abs(got - expected_arr)
    idx = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    return t("values_differ", name=name, error=float(err[idx]), index=tuple(int(i) for i in idx),
             expected=float(expected_arr[idx]), got=float(got[idx]))


# --------------------------------------------------------------------------
# judging all cases
# --------------------------------------------------------------------------

MAX_SHOWN = 6


def judge_all(chk, cases, results, arrays):
    fn = chk.function
    lines, failures = [], []
    passed = 0
    notes = set()
    forbidden = [r.get("message") for r in results if r.get("status") == "forbidden"]
    if forbidden:
        return {
            "fraction": 0.0,
            "lines": [t("function_imports", fn=fn, module=forbidden[0]), t("forbidden_hint", fn=fn)],
            "mistakes": [t(FORBIDDEN_LABEL)], "problems": [],
        }
    if len(results) != len(cases):
        return {"fraction": 0.0, "lines": [t("incomplete", fn=fn)],
                "mistakes": [], "problems": ["the grader received an incomplete set of results"]}
    for i, (case, res) in enumerate(zip(cases, results)):
        status = res.get("status")
        msg = None
        if res.get("warnings"):
            notes.add("warnings: " + res["warnings"][0])          # the warning, in Python's words
        if res.get("printed"):
            notes.add("printed")
        if status == "skipped":
            msg = res.get("message", t("not_run"))
        elif status == "timeout":
            msg = res.get("message", t("ran_out_of_time"))
        elif status == "error" and res.get("worded"):      # the grader's own words: a crash, a memory limit
            msg = res.get("message")
        elif status == "error":
            msg = t("raised", error=res.get("message", t("an_error")))
        elif status == "bad_return":
            msg = returned_problem(res.get("code"), res.get("fields"))
        elif status == "ok":
            outs = res.get("outputs", [])
            got = []
            for j, o in enumerate(outs):
                if "data" in o:
                    got.append((o["data"], "data"))
                elif "problem" in o:
                    got.append((returned_problem(o["problem"], o), None))
                else:
                    a = arrays.get(f"{i}/out{j}")
                    got.append((a if a is not None else t("missing_output"), o.get("dtype")))
            expected_n = chk.n_outputs or 1
            if len(got) != expected_n:
                msg = t("n_outputs", got=len(got), expected=expected_n)
            else:
                msg = chk.judge(case, got)
            if msg is None:
                msg = _mutation_message(case, arrays, i, res)
        else:
            msg = t("no_result")
        if msg is None:
            passed += 1
        else:
            failures.append((i, case, msg))
    total = len(cases)
    lines.append(t("cases_passed", fn=fn, passed=passed, total=total))
    shown = [f for f in failures if results[f[0]].get("status") != "skipped"]
    skipped = len(failures) - len(shown)
    seen_hints = set()
    for i, case, msg in shown[:MAX_SHOWN]:
        lines.append(t("case", i=i + 1, label=case.label(fn)))
        for part in msg.split("; "):
            what, _, hint = part.partition(" -- ")
            lines.extend(_wrap(what, "      "))
            if hint:
                if hint in seen_hints:
                    lines.append(t("same_mistake"))
                else:
                    seen_hints.add(hint)
                    lines.extend(_wrap(hint, "        -> ", "           "))
    if len(shown) > MAX_SHOWN:
        lines.append(t("more_failing", n=len(shown) - MAX_SHOWN))
    if skipped:
        reason = next(results[i].get("message", "") for i, _, _ in failures if results[i].get("status") == "skipped")
        lines.append(t("further_not_run", n=skipped, reason=reason.replace(t("not_run_prefix"), "")))
    for note in sorted(notes):
        if note == "printed":
            lines.append(t("note_printed"))
        else:
            lines.append(t("note_warnings", warning=note[len("warnings: "):]))
    mistakes = sorted({label for _, _, msg in shown for label in failure_labels(msg)})
    return {"fraction": passed / total if total else 0.0, "lines": lines, "mistakes": mistakes,
            "problems": _problems(results)}


# The short names of two verdicts, for the class report: t(FORBIDDEN_LABEL) in the grader's language.
FORBIDDEN_LABEL, MISSING_LABEL = "label_forbidden", "label_not_defined"
FORBIDDEN_MISTAKE, MISSING_MISTAKE = t(FORBIDDEN_LABEL, "en"), t(MISSING_LABEL, "en")

# What the student context reports about a return value, by code, and the fields each message takes.
_RETURNED = {"none": (), "not_array": ("type", "error"), "not_numeric": ("type", "dtype"),
             "not_tuple": ("type", "n"), "too_few": ("got", "n"), "data_type": ("type",),
             "data_nested": (), "data_long": ()}


def returned_problem(code, fields):
    """The words for what the student context says is wrong with a return value (code and plain
    fields: untrusted data, each shown as at most 80 characters), in the grader's language."""
    if not isinstance(code, str) or code not in _RETURNED:
        return t("returned_unexpected")
    fields = fields if isinstance(fields, dict) else {}
    values = {name: str(fields.get(name, "?"))[:80] for name in _RETURNED[code]}
    return t(f"ret_{code}", depth=MAX_DEPTH, items=MAX_ITEMS, **values)      # a text takes the fields it names


def mistake_label(hint):
    """A diagnosis's short name for counting: its first clause, numbers as N.

    "your output equals the true convolution: the kernel is flipped. ..." ->
    "your output equals the true convolution".
    """
    first = re.split(r": |; | \(", hint, maxsplit=1)[0]
    return re.sub(r"\b\d+(\.\d+)?\b", "N", first).rstrip(" .")


# What a failure says (in each language; English too, for the sandbox's own words) -> its short name.
_GENERIC = {
    "en": [("expected shape", "label_wrong_shape"), ("expected dtype", "label_wrong_dtype"),
           ("NaN or inf", "label_not_finite"), ("values differ", "label_wrong_values"),
           ("modified its input", "label_modifies_input"), ("damaged its input", "label_modifies_input"),
           ("stopped after", "label_timeout"), ("process running your code", "label_crashed"),
           ("used more than", "label_memory"), ("wrote a file larger", "label_crashed"),
           ("raised ", "label_raises"), ("returned", "label_returns"),
           ("well-formed result", "label_bad_reply"), ("sent a reply of", "label_bad_reply")],
    "cs": [("očekávaný tvar", "label_wrong_shape"), ("očekávaný dtype", "label_wrong_dtype"),
           ("NaN nebo inf", "label_not_finite"), ("hodnoty se liší", "label_wrong_values"),
           ("změnila svůj vstup", "label_modifies_input"), ("poškodila svá vstupní", "label_modifies_input"),
           ("zastaveno po", "label_timeout"), ("proces, ve kterém běžel váš kód", "label_crashed"),
           ("zapsal soubor větší", "label_crashed"), ("použila víc než", "label_memory"),
           ("vyvolala ", "label_raises"), ("vrátila", "label_returns"),
           ("nebyla platným výsledkem", "label_bad_reply"), ("poslala odpověď o velikosti", "label_bad_reply")],
}
_RAISED = {"en": "raised ", "cs": "vyvolala "}


def failure_labels(msg):
    """The mistakes one failing case shows: its diagnoses, else what kind of failure it is."""
    lang = current_language()
    table = _GENERIC[lang] + (_GENERIC["en"] if lang != "en" else [])
    labels = []
    for part in msg.split("; "):
        what, _, hint = part.partition(" -- ")
        if hint:
            labels.append(mistake_label(hint))
            continue
        key = next((label for fragment, label in table if fragment in what), "label_wrong_result")
        generic = t(key)
        if key == "label_raises":
            raised = next(r for r in (_RAISED[lang], _RAISED["en"]) if r in what)
            kind = what.split(raised, 1)[1].split(":", 1)[0].strip()
            generic = t("label_raises_kind", kind=kind) if kind.isidentifier() else generic
        labels.append(generic)
    return labels


def _problems(results):
    """What went wrong with the grading itself: limits hit, crashes, cases not run."""
    problems = []
    timeouts = sum(r.get("status") == "timeout" for r in results)
    if timeouts:
        problems.append(f"{timeouts} case{'s' if timeouts > 1 else ''} ran out of time")
    crashes = [r.get("log") or r.get("message", "") for r in results if r.get("died") and r.get("status") == "error"]
    if crashes:
        problems.append(f"{len(crashes)} case{'s' if len(crashes) > 1 else ''} crashed: {crashes[0]}")
    memory = [r.get("log") or r.get("message", "") for r in results if "memory" in str(r.get("log", ""))
              and r.get("status") == "error" and not r.get("died")]
    if memory:
        problems.append(memory[0].split(" (", 1)[0])
    skipped = [r.get("log") or r.get("message", "") for r in results if r.get("status") == "skipped"]
    if skipped:
        problems.append(f"{len(skipped)} cases {skipped[0]}")
    return problems


def _wrap(text, first, rest=None):
    import textwrap
    return textwrap.wrap(text, width=100, initial_indent=first,
                         subsequent_indent=rest if rest is not None else first + "  ",
                         break_long_words=False, break_on_hyphens=False) or [first]


def _mutation_message(case, arrays, i, res):
    if res.get("inputs_broken"):
        return t("damaged_input")
    for name, original in case.arrays.items():
        after = arrays.get(f"{i}/in/{name}")
        if after is None or after.shape != original.shape or not np.array_equal(
                after.astype(F64), original.astype(F64), equal_nan=True):
            return t("modified_input", name=name)
    return None


# --------------------------------------------------------------------------
# conv2d
# --------------------------------------------------------------------------

def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


class ConvOutputSize(Check):
    function = "conv_output_size"
    output_names = ("output size",)

    def cases(self, rng):
        specs = [(5, 3, 1, "valid"), (5, 3, 1, "same"), (28, 5, 1, "valid"), (28, 5, 1, "same"),
                 (7, 7, 1, "valid"), (1, 1, 1, "valid"), (1, 1, 1, "same"), (224, 3, 1, "same"),
                 (224, 2, 2, "valid"), (7, 3, 2, "valid"), (7, 3, 2, "same"), (8, 3, 2, "same"),
                 (8, 2, 2, "valid"), (10, 4, 3, "valid"), (10, 4, 3, "same"), (11, 1, 4, "valid"),
                 (3, 5, 2, "same"), (2, 1, 3, "same"), (9, 2, 1, "valid")]
        while len(specs) < 30:
            size = int(rng.integers(1, 40))
            k = int(rng.integers(1, min(size, 9) + 1))
            s = int(rng.integers(1, 5))
            specs.append((size, k, s, str(rng.choice(["valid", "same"]))))
        cases = []
        for size, k, s, p in specs:
            kwargs = {}
            if s != 1 or rng.random() < 0.3:
                kwargs["stride"] = s
            if p != "valid" or rng.random() < 0.3:
                kwargs["padding"] = p
            cases.append(Case([("size", size), ("kernel_size", k)], kwargs, stride=s, padding=p))
        return cases

    def expected(self, c):
        e = c.extra
        return [cnncore.conv_output_size(c.args[0][1], c.args[1][1], stride=e["stride"], padding=e["padding"])]

    def judge(self, case, got):
        g, dt = got[0]
        exp = case.expected[0]
        if isinstance(g, str):
            return g
        if g.shape != ():
            return t("single_int", shape=tuple(g.shape))
        if dt is not None and np.dtype(dt).kind not in "iu":
            return t("float_not_int", expected=exp, got=float(g), dtype=dt)
        if int(g) == exp:
            return None
        size, k = case.args[0][1], case.args[1][1]
        s, p = case.extra["stride"], case.extra["padding"]
        msg = t("expected_got", expected=exp, got=int(g))
        if p == "valid" and int(g) == (size - k) // s:
            msg += " -- " + t("valid_one_too_few")
        elif p == "valid" and int(g) == (size - k) // s + 2:
            msg += " -- " + t("valid_one_too_many")
        elif p == "same" and int(g) == size // s and s > 1:
            msg += " -- " + t("same_floor")
        elif p == "same" and int(g) == size:
            msg += " -- " + t("same_ignores_stride")
        elif p == "valid" and int(g) == -(-size // s):
            msg += " -- " + t("valid_is_same")
        elif p == "same" and int(g) == (size - k) // s + 1:
            msg += " -- " + t("same_is_valid")
        return msg


CONV_SPECS = [
    # N, H, W, C, KH, KW, O, stride, padding, dtype
    (1, 5, 5, 1, 3, 3, 1, 1, "valid", F64),
    (2, 7, 6, 3, 3, 3, 4, 1, "same", F64),
    (2, 8, 9, 2, 2, 3, 3, 1, "same", F32),
    (1, 9, 7, 3, 3, 2, 2, (2, 1), "valid", F64),
    (2, 9, 7, 3, 4, 3, 2, (1, 2), "same", F32),
    (1, 10, 10, 2, 3, 3, 2, 2, "same", F64),
    (3, 6, 11, 1, 1, 1, 3, 1, "valid", F32),
    (1, 4, 4, 2, 4, 4, 1, 1, "valid", F64),
    (2, 11, 8, 3, 5, 3, 2, 3, "valid", F64),
    (2, 11, 8, 3, 5, 3, 2, 3, "same", F32),
    (1, 12, 12, 2, 2, 2, 2, (2, 2), "valid", F64),
    (1, 7, 7, 3, 3, 3, 5, (3, 2), "same", F64),
    (2, 5, 9, 2, 3, 5, 2, (2, 3), "valid", F32),
    (1, 6, 6, 1, 3, 3, 1, 1, "same", F64),
    (1, 1, 8, 2, 1, 3, 2, (1, 2), "valid", F64),
    (1, 8, 8, 3, 4, 2, 3, (2, 1), "same", F64),
    (2, 6, 5, 4, 2, 2, 3, 1, "valid", F32),
    (1, 9, 9, 2, 4, 4, 2, 1, "same", F64),
]


def _conv_case(rng, spec, with_dy=False):
    N, H, W, C, KH, KW, O, stride, padding, dtype = spec
    x = rng.standard_normal((N, H, W, C)).astype(dtype)
    k = (rng.standard_normal((KH, KW, C, O)) / np.sqrt(KH * KW * C)).astype(dtype)
    args = []
    if with_dy:
        sh, sw = _pair(stride)
        OH = cnncore.conv_output_size(H, KH, stride=sh, padding=padding)
        OW = cnncore.conv_output_size(W, KW, stride=sw, padding=padding)
        args.append(("dy", rng.standard_normal((N, OH, OW, O)).astype(dtype)))
    args += [("x", x), ("kernel", k)]
    kwargs = {}
    if stride != 1 or rng.random() < 0.5:
        kwargs["stride"] = stride
    if padding != "valid" or rng.random() < 0.5:
        kwargs["padding"] = padding
    return Case(args, kwargs, dtype=dtype, stride=stride, padding=padding)


def _same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class Conv2dForward(Check):
    function = "conv2d_forward"
    output_names = ("y",)

    def cases(self, rng):
        return [_conv_case(rng, spec) for spec in CONV_SPECS]

    def _ref(self, c, kernel=None, stride=None, padding=None):
        x, k = c.arrays["x"], c.arrays["kernel"] if kernel is None else kernel
        return cnncore.conv2d(x, k, stride=c.extra["stride"] if stride is None else stride,
                              padding=c.extra["padding"] if padding is None else padding)

    def expected(self, c):
        return [self._ref(c)]

    def diagnose(self, c, name, expected, got):
        x, k = c.arrays["x"], c.arrays["kernel"]
        sh, sw = _pair(c.extra["stride"])
        padding = c.extra["padding"]
        H, W = x.shape[1:3]
        KH, KW = k.shape[:2]
        if got.shape != expected.shape:
            if sh != sw:
                try:
                    alt = self._ref(c, stride=(sw, sh))
                except ValueError:
                    alt = None
                if alt is not None and alt.shape == got.shape:
                    return t("strides_swapped_shape")
            if KH != KW:
                try:
                    alt = self._ref(c, kernel=k.transpose(1, 0, 2, 3))
                except ValueError:
                    alt = None
                if alt is not None and alt.shape == got.shape:
                    return t("kernel_transposed_shape", kw=KW, kh=KH)
            if padding == "same" and H >= KH and W >= KW:
                alt = self._ref(c, padding="valid")
                if alt.shape == got.shape:
                    return t("same_ignored")
            if padding == "same" and got.shape[1:3] == (H, W) and (sh, sw) != (1, 1):
                return t("same_stride_ignored")
            if padding == "valid" and got.ndim == 4 and (got.shape[1] == expected.shape[1] - 1
                                                         or got.shape[2] == expected.shape[2] - 1):
                return t("valid_row_short")
            return None
        if close(self._ref(c, kernel=k[::-1, ::-1]), got, c.dtype) and (KH > 1 or KW > 1):
            return t("flipped_kernel")
        if KH == KW and KH > 1 and close(self._ref(c, kernel=k.transpose(1, 0, 2, 3)), got, c.dtype):
            return t("kernel_transposed")
        if sh != sw:
            try:
                alt = self._ref(c, stride=(sw, sh))
            except Exception:
                alt = None
            if alt is not None and close(alt, got, c.dtype):
                return t("strides_swapped")
        if padding == "same":
            (top, bottom), (left, right) = _same_pads(H, KH, sh), _same_pads(W, KW, sw)
            if (top, left) != (bottom, right):
                alt = self._ref(c, padding=((bottom, top), (right, left)))
                if close(alt, got, c.dtype):
                    return t("same_wrong_side")
        return None


class Conv2dBackward(Check):
    function = "conv2d_backward"
    n_outputs = 2
    output_names = ("dx", "dkernel")

    def cases(self, rng):
        return [_conv_case(rng, spec, with_dy=True) for spec in CONV_SPECS[:14]]

    def _ref(self, c, dy=None, x=None, kernel=None):
        dy = c.arrays["dy"] if dy is None else dy
        x = c.arrays["x"] if x is None else x
        k = c.arrays["kernel"] if kernel is None else kernel
        dx, dk, _ = cnncore.conv2d_backward(dy, x, k, stride=c.extra["stride"], padding=c.extra["padding"])
        return dx, dk

    def expected(self, c):
        return list(self._ref(c))

    def diagnose(self, c, name, expected, got):
        dy, x, k = c.arrays["dy"], c.arrays["x"], c.arrays["kernel"]
        N = x.shape[0]
        if name == "dkernel" and got.shape == expected.shape:
            if N > 1 and close(expected / N, got, c.dtype):
                return t("dkernel_mean")
            for b in range(N):
                if N > 1 and close(self._ref(c, dy=dy[b:b + 1], x=x[b:b + 1])[1], got, c.dtype):
                    return t("dkernel_one_example", b=b)
            if close(self._ref(c, kernel=k[::-1, ::-1])[1][::-1, ::-1], got, c.dtype):
                return t("dkernel_flipped")
        if name == "dx":
            if got.shape != expected.shape:
                if got.ndim == 4 and got.shape[0] == x.shape[0] and got.shape[3] == x.shape[3] and \
                        got.shape[1] >= x.shape[1] and got.shape[2] >= x.shape[2]:
                    return t("dx_padded")
                return None
            if close(self._ref(c, kernel=k[::-1, ::-1])[0], got, c.dtype) and k.shape[0] * k.shape[1] > 1:
                return t("dx_flipped")
        return None


# --------------------------------------------------------------------------
# batch normalization
# --------------------------------------------------------------------------

BN_SHAPES = [
    # shape, dtype, eps (None: default)
    ((8, 5), F64, None),
    ((16, 3), F32, None),
    ((5, 1), F64, 1e-5),
    ((4, 5, 6, 3), F64, None),
    ((2, 3, 3, 2), F32, None),
    ((3, 7, 5, 4), F64, 1e-2),
    ((1, 4, 4, 2), F64, None),
    ((6, 2), F64, 1e-1),
    ((2, 6, 4, 5), F32, 1e-5),
    ((10, 4), F32, 1e-2),
]


def _bn_inputs(rng, shape, dtype):
    C = shape[-1]
    x = (rng.normal(size=C) * 2 + rng.normal(size=shape) * rng.uniform(0.5, 3, size=C)).astype(dtype)
    gamma = rng.uniform(0.5, 2.0, size=C).astype(dtype)
    beta = rng.normal(size=C).astype(dtype)
    return x, gamma, beta


def _axes(x):
    return tuple(range(x.ndim - 1))


class BatchNormTrain(Check):
    function = "batch_norm_train"
    n_outputs = 3
    output_names = ("y", "mean", "var")

    def cases(self, rng):
        cases = []
        for shape, dtype, eps in BN_SHAPES:
            x, gamma, beta = _bn_inputs(rng, shape, dtype)
            kwargs = {} if eps is None else {"eps": eps}
            cases.append(Case([("x", x), ("gamma", gamma), ("beta", beta)], kwargs, dtype=dtype,
                              eps=1e-3 if eps is None else eps))
        return cases

    def expected(self, c):
        a = c.arrays
        return list(cnncore.batch_norm_train(a["x"], a["gamma"], a["beta"], eps=c.extra["eps"]))

    def diagnose(self, c, name, expected, got):
        x = c.arrays["x"].astype(F64)
        g, b = c.arrays["gamma"].astype(F64), c.arrays["beta"].astype(F64)
        eps = c.extra["eps"]
        axes = _axes(x)
        m = x.size // x.shape[-1]
        C = x.shape[-1]
        if name in ("mean", "var") and got.shape != expected.shape:
            if x.ndim == 4 and got.shape == x.shape[1:]:
                return t("bn_stats_per_position")
            if got.size == C:
                return t("bn_one_per_channel", c=C)
            if x.ndim == 2 and got.shape == (x.shape[0],):
                return t("bn_over_features")
            return None
        if name == "var" and m > 1 and close(expected * m / (m - 1), got, c.dtype):
            return t("bn_unbiased")
        if name == "var" and close(np.sqrt(expected), got, c.dtype):
            return t("bn_std")
        if name == "y" and got.shape == expected.shape:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            if m > 1 and close(g * (x - mean) / np.sqrt(var * m / (m - 1) + eps) + b, got, c.dtype):
                return t("bn_y_unbiased")
            if close(g * (x - mean) / (np.sqrt(var) + eps) + b, got, c.dtype):
                return t("bn_eps_outside")
            if x.ndim == 4:
                pm, pv = x.mean(axis=0), x.var(axis=0)
                if close(g * (x - pm) / np.sqrt(pv + eps) + b, got, c.dtype):
                    return t("bn_per_position")
            if close((x - mean) / np.sqrt(var + eps), got, c.dtype):
                return t("bn_no_affine")
        return None


class BatchNormInfer(Check):
    function = "batch_norm_infer"
    output_names = ("y",)

    def cases(self, rng):
        cases = []
        for shape, dtype, eps in BN_SHAPES:
            x, gamma, beta = _bn_inputs(rng, shape, dtype)
            C = shape[-1]
            mm = rng.normal(size=C).astype(dtype)
            mv = rng.uniform(0.2, 3.0, size=C).astype(dtype)
            kwargs = {} if eps is None else {"eps": eps}
            cases.append(Case([("x", x), ("gamma", gamma), ("beta", beta), ("moving_mean", mm),
                               ("moving_var", mv)], kwargs, dtype=dtype, eps=1e-3 if eps is None else eps))
        return cases

    def expected(self, c):
        a = c.arrays
        return [cnncore.batch_norm_infer(a["x"], a["gamma"], a["beta"], a["moving_mean"], a["moving_var"],
                                         eps=c.extra["eps"])]

    def diagnose(self, c, name, expected, got):
        a = {k: v.astype(F64) for k, v in c.arrays.items()}
        eps = c.extra["eps"]
        y_batch = cnncore.batch_norm_train(c.arrays["x"], c.arrays["gamma"], c.arrays["beta"], eps=eps)[0]
        if close(y_batch, got, c.dtype):
            return t("bn_batch_stats_at_inference")
        if close(a["gamma"] * (a["x"] - a["moving_mean"]) / (a["moving_var"] + eps) + a["beta"], got, c.dtype):
            return t("bn_divided_by_var")
        if close(a["gamma"] * (a["x"] - a["moving_mean"]) / np.sqrt(a["moving_var"]) + a["beta"], got, c.dtype):
            return t("bn_eps_missing")
        return None


class UpdateMovingStats(Check):
    function = "update_moving_stats"
    n_outputs = 2
    output_names = ("moving_mean", "moving_var")

    def cases(self, rng):
        cases = []
        for C, dtype, momentum in [(3, F64, None), (5, F32, None), (1, F64, 0.9), (4, F64, 0.8),
                                   (8, F32, 0.95), (2, F64, 0.0), (6, F64, 0.99), (3, F32, 0.7)]:
            mm = rng.normal(size=C).astype(dtype)
            mv = rng.uniform(0.2, 3, size=C).astype(dtype)
            mean = rng.normal(size=C).astype(dtype) * 3
            var = rng.uniform(0.2, 5, size=C).astype(dtype)
            kwargs = {} if momentum is None else {"momentum": momentum}
            cases.append(Case([("moving_mean", mm), ("moving_var", mv), ("mean", mean), ("var", var)],
                              kwargs, dtype=dtype, momentum=0.99 if momentum is None else momentum))
        return cases

    def expected(self, c):
        a = c.arrays
        return list(cnncore.update_moving_stats(a["moving_mean"], a["moving_var"], a["mean"], a["var"],
                                                momentum=c.extra["momentum"]))

    def diagnose(self, c, name, expected, got):
        mom = c.extra["momentum"]
        old = c.arrays["moving_mean" if name == "moving_mean" else "moving_var"].astype(F64)
        new = c.arrays["mean" if name == "moving_mean" else "var"].astype(F64)
        if close((1 - mom) * old + mom * new, got, c.dtype):
            return t("momentum_backwards")
        if close(new, got, c.dtype):
            return t("moving_is_batch")
        return None


class BatchNormBackward(Check):
    function = "batch_norm_backward"
    n_outputs = 3
    output_names = ("dx", "dgamma", "dbeta")

    def cases(self, rng):
        cases = []
        for shape, dtype, eps in BN_SHAPES:
            x, gamma, beta = _bn_inputs(rng, shape, dtype)
            e = 1e-3 if eps is None else eps
            _, mean, var = cnncore.batch_norm_train(x, gamma, beta, eps=e)
            dy = rng.standard_normal(shape).astype(dtype)
            kwargs = {} if eps is None else {"eps": eps}
            cases.append(Case([("dy", dy), ("x", x), ("gamma", gamma), ("mean", np.asarray(mean)),
                               ("var", np.asarray(var))], kwargs, dtype=dtype, eps=e))
        return cases

    def expected(self, c):
        a = c.arrays
        return list(cnncore.batch_norm_backward(a["dy"], a["x"], a["gamma"], a["mean"], a["var"],
                                                eps=c.extra["eps"]))

    def diagnose(self, c, name, expected, got):
        a = {k: v.astype(F64) for k, v in c.arrays.items()}
        eps = c.extra["eps"]
        x = a["x"]
        inv = 1 / np.sqrt(a["var"] + eps)
        if name == "dx" and close(a["dy"] * a["gamma"] * inv, got, c.dtype):
            return t("bn_backward_constants")
        if name in ("dgamma", "dbeta") and x.ndim == 4 and got.shape == x.shape[1:]:
            return t("bn_backward_sum_axes")
        if name in ("dgamma", "dbeta") and x.ndim == 4 and got.shape == expected.shape:
            N = x.shape[0]
            if close(expected / x[..., 0].size, got, c.dtype) or close(expected / N, got, c.dtype):
                return t("bn_backward_means")
        return None


CHECKS = {chk.function: chk for chk in [
    ConvOutputSize(), Conv2dForward(), Conv2dBackward(),
    BatchNormTrain(), BatchNormInfer(), UpdateMovingStats(), BatchNormBackward(),
]}


# --------------------------------------------------------------------------
# VGG-19
# --------------------------------------------------------------------------

VGG_STAGES = ["block1", "block2", "block3", "block4", "block5", "fc1", "fc2", "predictions"]


def vgg19_stage_table(input_shape, num_classes, batch_norm):
    """[(stage, output shape, trainable parameters)] of cnncore's VGG-19, without building it.

    Walks ``cnncore.VGG_CONFIGS["vgg19"]`` with cnncore's own output sizes: a
    3x3 SAME convolution has 3 * 3 * C_in * C_out weights and a bias per
    output channel (or, with batch norm, no bias but a gamma and a beta);
    each block ends in a 2x2 max pooling of stride 2.  (Building the model
    would allocate 143 M parameters; ``tests/test_grading.py`` checks this
    table against a built one.)
    """
    H, W, C = input_shape
    rows, block, params = [], 1, 0
    for v in cnncore.VGG_CONFIGS["vgg19"]:
        if v == "M":
            H = cnncore.conv_output_size(H, 2, stride=2, padding="valid")
            W = cnncore.conv_output_size(W, 2, stride=2, padding="valid")
            rows.append([f"block{block}", [H, W, C], params])
            block, params = block + 1, 0
            continue
        H = cnncore.conv_output_size(H, 3, stride=1, padding="same")
        W = cnncore.conv_output_size(W, 3, stride=1, padding="same")
        params += 3 * 3 * C * v + (2 * v if batch_norm else v)
        C = v
    inputs = H * W * C
    for stage, units in (("fc1", 4096), ("fc2", 4096), ("predictions", num_classes)):
        rows.append([stage, [units], inputs * units + units])
        inputs = units
    return rows


class Vgg19Stages(Check):
    function = "vgg19_stages"
    output = "data"
    output_names = ("table",)

    def cases(self, rng):
        specs = [((224, 224, 3), 1000, False), ((224, 224, 3), 1000, True), ((32, 32, 3), 10, False),
                 ((64, 96, 1), 5, False), ((96, 64, 3), 100, True), ((64, 64, 3), 2, False)]
        cases = []
        for shape, classes, bn in specs:
            kwargs = {"input_shape": shape, "num_classes": classes}
            if bn:
                kwargs["batch_norm"] = True
            cases.append(Case([], kwargs, input_shape=shape, num_classes=classes, batch_norm=bn))
        return cases

    def expected(self, c):
        e = c.extra
        return [vgg19_stage_table(e["input_shape"], e["num_classes"], e["batch_norm"])]

    def judge(self, case, got):
        table, _ = got[0]
        expected = case.expected[0]
        if isinstance(table, str):
            return table
        if not isinstance(table, list) or len(table) != len(expected):
            n = len(table) if isinstance(table, list) else t("vgg_not_a_list")
            return t("vgg_rows", n=len(expected), stages=", ".join(VGG_STAGES), got=n)
        problems = []
        for row, (stage, shape, params) in zip(table, expected):
            if not isinstance(row, list) or len(row) != 3:
                return t("vgg_row_shape", row=repr(row))
            name, got_shape, got_params = row
            if name != stage:
                problems.append(t("vgg_stage_name", stage=stage, got=repr(name), expected=repr(stage)))
                continue
            got_shape_t = tuple(got_shape) if isinstance(got_shape, list) else got_shape
            if got_shape_t != tuple(shape):
                hint = ""
                if isinstance(got_shape, list) and len(got_shape) == 3 and len(shape) == 3:
                    if got_shape[0] == 2 * shape[0]:
                        hint = " -- " + t("vgg_pooling")
                    elif got_shape[2] != shape[2]:
                        hint = " -- " + t("vgg_channels")
                problems.append(t("vgg_shape", stage=stage, expected=tuple(shape), got=got_shape_t) + hint)
            if got_params != params:
                hint = self._param_hint(case, stage, got_params, params)
                problems.append(t("vgg_params", stage=stage, expected=params, got=repr(got_params)) + hint)
        if not problems:
            return None
        more = [t("vgg_more_wrong", n=len(problems) - 3)] if len(problems) > 3 else []
        return "; ".join(problems[:3] + more)

    def _param_hint(self, case, stage, got, params):
        if not isinstance(got, int):
            return " -- " + t("vgg_int")
        if stage.startswith("block"):
            channels = {"block1": 64, "block2": 128, "block3": 256, "block4": 512, "block5": 512}[stage]
            convs = 2 if stage in ("block1", "block2") else 4
            if case.extra["batch_norm"]:
                if got == params - 2 * channels * convs:
                    return " -- " + t("vgg_bn_params")
                if got == params + channels * convs:
                    return " -- " + t("vgg_bn_no_bias")
            elif got == params - channels * convs:
                return " -- " + t("vgg_bias")
            return " -- " + t("vgg_conv_weights")
        if stage == "fc1":
            return " -- " + t("vgg_fc1")
        return ""


def receptive_field_reference(num_layers, kernel_size):
    """Measured with cnncore: backpropagate one output pixel through the stack of convolutions."""
    size = 1 + num_layers * (kernel_size - 1) + 4
    x = np.zeros((1, size, size, 1))
    k = np.ones((kernel_size, kernel_size, 1, 1))
    shapes = [x.shape]
    for _ in range(num_layers):
        x = cnncore.conv2d(x, k)
        shapes.append(x.shape)
    dy = np.zeros(shapes[-1])
    dy[0, shapes[-1][1] // 2, shapes[-1][2] // 2, 0] = 1.0
    for shape in reversed(shapes[:-1]):
        dy, _, _ = cnncore.conv2d_backward(dy, np.zeros(shape), k)
    rows = np.nonzero(dy[0, :, :, 0].any(axis=1))[0]
    return int(rows.max() - rows.min() + 1)


class ReceptiveField(Check):
    function = "receptive_field"
    output = "data"
    output_names = ("receptive field",)

    def cases(self, rng):
        specs = [(1, 3), (2, 3), (3, 3), (4, 3), (1, 5), (2, 5), (1, 7), (5, 3), (3, 1), (2, 7), (16, 3)]
        cases = []
        for layers, k in specs:
            kwargs = {} if k == 3 and rng.random() < 0.5 else {"kernel_size": k}
            cases.append(Case([("num_layers", layers)], kwargs, layers=layers, kernel_size=k))
        return cases

    def expected(self, c):
        return [receptive_field_reference(c.extra["layers"], c.extra["kernel_size"])]

    def judge(self, case, got):
        value, _ = got[0]
        exp = case.expected[0]
        if isinstance(value, str):
            return value
        if isinstance(value, float) and value.is_integer():
            return t("rf_float", expected=exp, got=value)
        if value == exp:
            return None
        L, k = case.extra["layers"], case.extra["kernel_size"]
        msg = t("expected_got", expected=exp, got=repr(value))
        if value == L * k:
            msg += " -- " + t("rf_times")
        elif value == k ** L:
            msg += " -- " + t("rf_power")
        return msg


CHECKS.update({chk.function: chk for chk in [Vgg19Stages(), ReceptiveField()]})
