"""The course's grader: hidden cases, the reference, the judgement and the score, all trusted.

Layers, from the bottom:

* :mod:`.student` runs inside the sandbox, holds the student's notebook and
  calls its functions (untrusted: anything it sends back is only data);
* :mod:`.sandbox` builds the bubblewrap sandbox and its limits;
* :mod:`.session` is the trusted end of the channel: starts the sandbox,
  calls one case at a time under a deadline, restarts after a crash or hang;
* :mod:`.checks` makes the cases from the course's secret, computes the
  expected results with cnncore and says what went wrong;
* :func:`grade` (here) runs a check's cases through a caller and scores them;
* :mod:`.autograde` is the nbgrader preprocessor that grades a submitted
  notebook this way and writes the scores into its graded cells.

:func:`check` is what a graded cell of a *source* notebook runs under
``nbgrader validate``: the instructor's own solution, called in the
instructor's kernel.  Student notebooks are never graded that way.
"""
import hashlib
import hmac
import os
import time
from dataclasses import dataclass, field

from .messages import MESSAGES, language, say, t
from .sandbox import BLOCKED

__all__ = ["check", "grade", "Outcome", "seed_for", "course_secret", "FORBIDDEN_HINT"]

CASE_SECONDS = 5.0     # one call of the student's function
MAX_TIMEOUTS = 6       # after this many cases ran out of time, the remaining cases of a check are not run
CHECK_SECONDS = 120.0  # a backstop for slow functions: after this, the remaining cases are not run
SECRET_FILE = ".cnncourse_secret"


def course_secret(course_root=None, create=True):
    """The course's secret: ``$CNNCOURSE_SECRET``, else ``<course root>/.cnncourse_secret``.

    The file is made (random, readable by its owner only) the first time a
    course is graded; keep it out of version control and out of handouts.
    """
    env = os.environ.get("CNNCOURSE_SECRET")
    if env:
        return env
    if course_root is None:
        return None
    path = os.path.join(course_root, SECRET_FILE)
    try:
        with open(path, encoding="ascii") as f:
            value = f.read().strip()
        if value:
            return value
    except FileNotFoundError:
        if not create:
            return None
    value = os.urandom(32).hex()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(value + "\n")
    return value


def seed_for(secret, check_name):
    """The seed of a check's hidden cases: deterministic for a secret, unknowable without it."""
    digest = hmac.new(secret.encode("utf-8"), f"cnncourse/{check_name}".encode("utf-8"), hashlib.sha256)
    return int.from_bytes(digest.digest()[:8], "little")


def _forbidden_module(message):
    """'cnncore' when an error says the function tried to import a blocked library."""
    if "[module " not in message:
        return None
    name = message.rsplit("[module ", 1)[1].rstrip("]").split(".")[0]
    return name if name in BLOCKED else None


FORBIDDEN_HINT = MESSAGES["forbidden_hint"]["en"]      # the catalogue has it in every language


@dataclass
class Outcome:
    """A check's verdict: the fraction of cases passed, the diagnostics for the student,
    the short names of the mistakes diagnosed (for the class report) and what went
    wrong with the grading itself (limits hit, crashes, cases not run)."""
    fraction: float
    lines: list
    mistakes: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    reference_seconds: float = 0.0      # of the time taken, making the cases and their expected results


def grade(check_name, call, seed, case_seconds=CASE_SECONDS, check_seconds=CHECK_SECONDS, cell_errors=None,
          memory_limit=None, max_timeouts=MAX_TIMEOUTS, lang="en"):
    """Run a check's hidden cases through ``call`` and judge them: returns an :class:`Outcome`.

    ``lang``: the language the student reads the diagnostics in ("en", "cs";
    :mod:`.messages`).  The cases, the scores and the grading's own problems
    (for the instructor) do not depend on it.

    ``call(meta, arrays)`` calls the student's function on one case and
    returns ``(result, arrays)`` as :meth:`.student.StudentContext.call` does,
    or raises :class:`.session.ContextDied` (then that case alone fails).
    A case that hangs costs that case; only after ``max_timeouts`` of them
    (or ``check_seconds`` in all) are the remaining cases not run, so the
    score does not depend on timing unless a function hangs that often.
    """
    with language(lang):
        return _grade(check_name, call, seed, case_seconds, check_seconds, cell_errors, memory_limit, max_timeouts)


def _grade(check_name, call, seed, case_seconds, check_seconds, cell_errors, memory_limit, max_timeouts):
    from .checks import CHECKS, FORBIDDEN_LABEL, MISSING_LABEL, judge_all
    from .session import ContextDied

    chk = CHECKS[check_name]
    fn = chk.function
    t0 = time.monotonic()
    cases = chk.make_cases(seed)
    start = time.monotonic()
    results, arrays = [], {}
    stop = None
    timeouts = 0
    for i, case in enumerate(cases):
        if stop is None and timeouts >= max_timeouts:
            stop = ("not_run_timeouts", {"n": timeouts})
        if stop is None and time.monotonic() - start > check_seconds:
            stop = ("not_run_total", {"seconds": check_seconds})
        if stop is not None:      # "log": the English words, for the instructor's class report
            results.append({"status": "skipped", "message": t(stop[0], **stop[1]),
                            "log": t(stop[0], "en", **stop[1])})
            continue
        wire = case.wire()
        meta = {"function": fn, "args": wire["args"], "kwargs": wire["kwargs"],
                "output": chk.output, "n_outputs": chk.n_outputs, "seconds": case_seconds}
        try:
            res, out = call(meta, dict(case.arrays))
            for key in ("died", "log", "worded"):     # only this side says so (a reply is the student's data)
                res.pop(key, None)
        except ContextDied as exc:
            # "worded": the message says it all (no "raised ..." in front); "log": in English, for the report
            res = {"status": "error" if exc.status != "timeout" else "timeout", "message": say(exc.message),
                   "died": exc.status, "log": str(exc.message), "worded": True}
            out = {}
        status = res.get("status")
        if status == "missing":
            why = t("not_defined", fn=fn)
            err = (cell_errors or {}).get(fn)
            bad = _forbidden_module(err) if err else None
            if bad:
                return Outcome(0.0, [t("cell_imports", fn=fn, module=bad), t("forbidden_hint", fn=fn)],
                               [t(FORBIDDEN_LABEL)])
            return Outcome(0.0, [why, t("cell_raised", error=say(err))] if err else [why], [t(MISSING_LABEL)])
        if status == "timeout":
            res["message"] = t("stopped_after", seconds=case_seconds)
            timeouts += 1
        if status == "error":
            message = str(res.get("message", ""))
            bad = _forbidden_module(message)
            if bad:
                res = {"status": "forbidden", "message": bad}
            elif message.startswith("MemoryError") and not res.get("died"):
                def used_too_much(lang=None):
                    bound = (t("memory_bound", lang, gib=memory_limit / (1 << 30)) if memory_limit
                             else t("memory_allowed", lang))
                    return t("used_too_much_memory", lang, bound=bound, error=message)
                res.update(message=used_too_much(), log=used_too_much("en"), worded=True)
        results.append(res)
        for k, a in out.items():
            arrays[f"{i}/{k}"] = a
    report = judge_all(chk, cases, results, arrays)
    return Outcome(report["fraction"], report["lines"], report["mistakes"], report["problems"], start - t0)


def score_lines(check_name, fraction, lines, points, lang="en"):
    score = round(points * min(max(float(fraction), 0.0), 1.0), 2)
    return score, list(lines) + [t("score", lang=lang, check=check_name, score=score, points=points)]


def check(name, namespace, points, seed=None, lang="en"):
    """Grade ``namespace[name]`` in this process; print the diagnostics, return the score.

    ``lang``: the language of the diagnostics ("en", or "cs" in the Czech edition's notebooks).

    For the instructor's source notebooks (``nbgrader validate``) and for
    trusted code.  Student submissions are graded by
    :class:`cnncourse.grading.autograde.SandboxedGrading` instead, outside
    the student's process.
    """
    from .student import StudentContext

    if seed is None:
        secret = course_secret(_find_course_root(), create=False)
        seed = seed_for(secret, name) if secret else int.from_bytes(os.urandom(8), "little")
    ctx = StudentContext(namespace=namespace)
    outcome = grade(name, ctx.call, seed, lang=lang)
    score, lines = score_lines(name, outcome.fraction, outcome.lines, points, lang)
    print("\n".join(lines))
    return score


def _find_course_root(start=None):
    d = os.path.abspath(start or os.getcwd())
    while True:
        if os.path.exists(os.path.join(d, "nbgrader_config.py")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent
