"""The grader without nbgrader: each check's hidden cases, run through a real sandboxed student context.

The student's code is given as the source of its notebook cells; the trusted
side (cnncourse.grading.grade) makes the cases, calls the function in the
sandbox one case at a time and judges the results with cnncore.  The worked
solutions get every point, typical mistakes partial credit with a diagnosis,
and misbehaving functions (calling cnncore or torch, looping forever,
crashing, warning, modifying inputs, returning junk) earn nothing more than
their honest cases.
"""
import inspect
import os
import textwrap

import pytest

from cnncourse.grading import check, grade, score_lines, seed_for
from cnncourse.grading.sandbox import Limits, bwrap_path
from cnncourse.grading.session import StudentSession

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = seed_for("tests", "grading")
pytestmark = pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (scripts/install_sandbox.sh)")


def solution_source(assignment):
    with open(os.path.join(ROOT, "solutions", f"{assignment}.py")) as f:
        return f.read()


def graded(name, source, points, case_seconds=5.0, check_seconds=120.0, limits=None, max_timeouts=6, lang="en"):
    """(score, output text, Outcome) of the function ``name`` defined by the cell ``source``, graded in the sandbox."""
    cells = [("setup", "import numpy as np"), (name, textwrap.dedent(source))]
    limits = limits or Limits()
    with StudentSession(cells, limits=limits) as session:
        session.start()
        outcome = grade(name, session.call, SEED, case_seconds=case_seconds, check_seconds=check_seconds,
                        cell_errors=session.cell_errors, memory_limit=limits.memory, max_timeouts=max_timeouts,
                        lang=lang)
    score, lines = score_lines(name, outcome.fraction, outcome.lines, points, lang)
    return score, "\n".join(lines), outcome


@pytest.mark.parametrize("name,points,assignment", [
    ("conv_output_size", 3, "conv2d"), ("conv2d_forward", 6, "conv2d"), ("conv2d_backward", 6, "conv2d"),
    ("batch_norm_train", 4, "batchnorm"), ("batch_norm_infer", 2, "batchnorm"),
    ("update_moving_stats", 2, "batchnorm"), ("batch_norm_backward", 4, "batchnorm"),
    ("vgg19_stages", 6, "vgg19"), ("receptive_field", 2, "vgg19"),
])
def test_worked_solution_gets_every_point(name, points, assignment):
    score, out, found = graded(name, solution_source(assignment), points)
    assert score == points, out
    assert "cases passed" in out and f"Score for {name}: {points} / {points}" in out
    assert found.mistakes == [] and found.problems == []


CONV = solution_source("conv2d")
BN = solution_source("batchnorm")


def test_flipped_kernel_gets_partial_credit_and_is_told():
    score, out, found = graded("conv2d_forward", CONV.replace("y += patch @ kernel[m, n]",
                                                       "y += patch @ kernel[KH - 1 - m, KW - 1 - n]"), 6)
    assert 0 < score < 6          # 1x1 kernels are their own flip
    assert "the kernel is flipped" in out and "expected" in out and "max error" in out
    assert found.mistakes == ["your output equals the true convolution"] and found.problems == []


def test_missing_unimplemented_and_broken_functions_score_zero():
    score, out, found = graded("conv2d_forward", "x = 1", 6)
    assert score == 0 and "not defined" in out and found.mistakes == ["not defined"]
    score, out, found = graded("conv2d_forward", "def conv2d_forward(x, kernel, stride=1, padding='valid'):\n"
                                          "    raise NotImplementedError()", 6)
    assert score == 0 and "NotImplementedError" in out and found.mistakes == ["raises NotImplementedError"]
    score, out, found = graded("conv2d_forward", "def conv2d_forward(x, kernel, stride=1, padding='valid')\n    pass", 6)
    assert score == 0 and "SyntaxError" in out


@pytest.mark.parametrize("library,source", [
    ("cnncore", """
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            import cnncore
            return cnncore.conv2d(x, kernel, stride=stride, padding=padding)
    """),
    ("torch", """
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            import torch
            xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
            kt = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
            return torch.nn.functional.conv2d(xt, kt, stride=stride).numpy().transpose(0, 2, 3, 1)
    """),
    ("scipy", """
        import importlib
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            signal = importlib.import_module("sci" + "py.signal")
            return signal.correlate(x, kernel, mode="valid")
    """),
])
def test_handing_the_work_to_a_library_earns_nothing(library, source):
    score, out, found = graded("conv2d_forward", source, 6)
    assert score == 0
    assert "no credit" in out and library in out
    assert found.mistakes == ["uses a library that does the work (cnncore, torch, SciPy, ...)"]


def test_importing_cnncore_at_the_top_of_the_cell_earns_nothing():
    score, out, found = graded("conv2d_forward", "from cnncore import conv2d as conv2d_forward", 6)
    assert score == 0 and "no credit" in out and "cnncore" in out


def test_warnings_and_stderr_do_not_cost_points():
    source = BN.replace("def batch_norm_train(x, gamma, beta, eps=1e-3):\n",
                        "def batch_norm_train(x, gamma, beta, eps=1e-3):\n"
                        "    import sys\n"
                        "    print('debugging output', file=sys.stderr)\n"
                        "    np.log(-np.ones(1))\n", 1)
    assert source != BN
    score, out, found = graded("batch_norm_train", source, 4)
    assert score == 4, out
    assert "RuntimeWarning" in out and "costs nothing" in out


def test_endless_loop_costs_only_its_cases():
    source = """
        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            if padding == "same":
                while True:
                    pass
            return (size - kernel_size) // stride + 1
    """
    score, out, found = graded("conv_output_size", source, 3, case_seconds=0.5, max_timeouts=100)
    assert 0 < score < 3
    assert "stopped after" in out and "not run" not in out     # the cases after a hang still run
    assert found.mistakes == ["ran out of time"]
    assert len(found.problems) == 1 and found.problems[0].endswith("cases ran out of time")


def test_crash_and_exit_cost_only_their_cases():
    source = """
        import os, ctypes
        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            if padding == "same":
                if size % 2:
                    os._exit(0)
                ctypes.string_at(0)
            return (size - kernel_size) // stride + 1
    """
    score, out, found = graded("conv_output_size", source, 3)
    assert 0 < score < 3
    assert "exited" in out and "segmentation fault" in out
    assert found.mistakes == ["crashed"] and "crashed: the process running your code" in found.problems[0]


def test_memory_hog_is_bounded_and_told():
    source = """
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            hog = np.ones(3 << 30, dtype=np.uint8)
            return hog
    """
    score, out, found = graded("conv2d_forward", source, 6, limits=Limits(memory=2 << 30))
    assert score == 0 and "your function used more than 2 GiB of memory" in out
    assert found.mistakes == ["used too much memory"]
    assert found.problems == ["your function used more than 2 GiB of memory"]


def test_modifying_inputs_fails_the_case():
    source = """
        def update_moving_stats(moving_mean, moving_var, mean, var, momentum=0.99):
            moving_mean *= momentum
            moving_mean += (1 - momentum) * mean
            return moving_mean, momentum * moving_var + (1 - momentum) * var
    """
    score, out, found = graded("update_moving_stats", source, 2)
    assert score == 0 and "modified its input `moving_mean` in place" in out


@pytest.mark.parametrize("source", [
    """
    class AlwaysEqual:
        def __eq__(self, other):
            return True
    def conv2d_forward(x, kernel, stride=1, padding="valid"):
        return AlwaysEqual()
    """,
    """
    class Sly(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(other), bool)
    def conv2d_forward(x, kernel, stride=1, padding="valid"):
        return np.zeros(3).view(Sly)
    """,
    """
    np.allclose = lambda *a, **k: True
    np.testing.assert_allclose = lambda *a, **k: None
    def conv2d_forward(x, kernel, stride=1, padding="valid"):
        return np.zeros((x.shape[0], x.shape[1], x.shape[2], kernel.shape[3]), x.dtype)
    """,
])
def test_objects_and_patches_that_fake_equality_earn_nothing(source):
    score, out, found = graded("conv2d_forward", source, 6)
    assert score == 0, out


@pytest.mark.parametrize("mistake,phrase", [
    ("unbiased", "unbiased variance"),
    ("per_position", "per position"),
    ("eps_outside", "eps belongs under the square root"),
])
def test_batch_norm_diagnoses(mistake, phrase):
    source = f"""
        def batch_norm_train(x, gamma, beta, eps=1e-3):
            mistake = {mistake!r}
            axes = tuple(range(x.ndim - 1))
            if mistake == "per_position":
                axes = 0
            mean = x.mean(axis=axes)
            m = x.size // x.shape[-1]
            var = x.var(axis=axes) * (m / (m - 1) if mistake == "unbiased" and m > 1 else 1)
            if mistake == "eps_outside":
                return gamma * (x - mean) / (np.sqrt(var) + eps) + beta, mean, var
            return gamma * (x - mean) / np.sqrt(var + eps) + beta, mean, var
    """
    score, out, found = graded("batch_norm_train", source, 4)
    assert score < 4 and phrase in out


def test_hidden_cases_depend_on_the_secret():
    from cnncourse.grading.checks import CHECKS
    chk = CHECKS["conv2d_forward"]

    def cases(secret):
        return [(c.label("f"), [c.arrays[k].tobytes() for k in sorted(c.arrays)])
                for c in chk.make_cases(seed_for(secret, "conv2d_forward"))]

    assert cases("one secret") == cases("one secret")        # grading twice: the same cases
    assert cases("one secret") != cases("another secret")    # unknowable without the secret


def test_course_secret_is_made_once_and_private(tmp_path, monkeypatch):
    from cnncourse.grading import course_secret
    monkeypatch.delenv("CNNCOURSE_SECRET", raising=False)
    first = course_secret(str(tmp_path))
    assert len(first) == 64 and course_secret(str(tmp_path)) == first
    assert oct(os.stat(tmp_path / ".cnncourse_secret").st_mode & 0o777) == "0o600"
    monkeypatch.setenv("CNNCOURSE_SECRET", "from the environment")
    assert course_secret(str(tmp_path)) == "from the environment"


def test_check_in_the_instructors_kernel_grades_trusted_code(capsys):
    """What a graded cell runs under `nbgrader validate` on a source notebook."""
    namespace = {}
    exec(compile(CONV, "<solution>", "exec"), namespace)
    assert check("conv2d_forward", namespace, points=6) == 6
    assert "Score for conv2d_forward: 6 / 6" in capsys.readouterr().out
    assert inspect.isfunction(namespace["conv2d_forward"])


def test_without_bubblewrap_grading_refuses_and_says_how_to_fix(monkeypatch):
    from cnncourse.grading import sandbox
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
        sandbox.command(sandbox.Limits())


def test_sandbox_hides_the_course_and_the_network(tmp_path):
    """The student context sees neither a file next to the grader nor any network, and cannot write outside."""
    canary = tmp_path / "course" / "solutions.txt"
    canary.parent.mkdir()
    canary.write_text("the answers")
    source = f"""
        import os, socket
        seen = []
        for path in [{str(canary)!r}, "/root", "/work", os.path.expanduser("~/../../root")]:
            seen.append(path + (" visible" if os.path.exists(path) else " hidden"))
        try:
            socket.create_connection(("127.0.0.1", 22), timeout=1)
            seen.append("network reached")
        except OSError:
            seen.append("no network")
        try:
            open("/usr/owned", "w")
            seen.append("/usr writable")
        except OSError:
            seen.append("/usr read-only")
        import glob
        fonts = glob.glob(os.environ["MPLCONFIGDIR"] + "/fontlist*.json")   # the grader's, shared by all
        for path in fonts:
            try:
                open(path, "a")
                seen.append("font list writable")
            except OSError:
                seen.append("font list read-only")
        import matplotlib.font_manager                                       # uses it, makes nothing new
        seen.append(str(len(os.listdir(os.environ["MPLCONFIGDIR"]))) + " files in MPLCONFIGDIR")
        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return seen
    """
    with StudentSession([("c", textwrap.dedent(source))], hidden=[str(tmp_path)]) as session:
        session.start()
        res, _ = session.call(dict(function="conv_output_size", args=[{"value": 1}, {"value": 1}], kwargs={},
                                   output="data", n_outputs=None, seconds=5), {})
    seen = res["outputs"][0]["data"]
    assert f"{canary} hidden" in seen and "/work hidden" in seen
    assert "no network" in seen and "/usr read-only" in seen
    assert seen.count("font list read-only") == 1 and "font list writable" not in seen
    assert "1 files in MPLCONFIGDIR" in seen


def test_a_broken_sandbox_is_the_graders_failure_not_a_zero(monkeypatch):
    """When the student context cannot even start, grading stops with the reason instead of scoring 0."""
    from cnncourse.grading import sandbox
    from cnncourse.grading.session import SandboxFailed
    real = sandbox.command

    def broken(*args, **kwargs):     # the student context's script missing from the sandbox
        argv = real(*args, **kwargs)
        cut = argv.index("--")
        return argv[:cut] + ["--ro-bind", "/dev/null", sandbox.STUDENT_SCRIPT] + argv[cut:]

    monkeypatch.setattr(sandbox, "command", broken)
    with pytest.raises(SandboxFailed, match="did not start"):
        with StudentSession([("c", "x = 1")]) as session:
            session.start()


def test_vgg19_stage_table_matches_a_built_model():
    """The grader's model-free table against cnncore's real VGG-19, for every case the check makes."""
    import cnncore
    from cnncourse.grading.checks import CHECKS, VGG_STAGES, vgg19_stage_table

    for case in CHECKS["vgg19_stages"].make_cases(SEED):
        e = case.extra
        model = cnncore.vgg19(num_classes=e["num_classes"], input_shape=e["input_shape"],
                              batch_norm=e["batch_norm"], dropout=0.0)
        built = {}
        for layer in model.layers:
            stage = layer.name.split("_")[0]
            if stage in VGG_STAGES:
                built[stage] = [list(layer.output_shape), built.get(stage, [None, 0])[1] + layer.num_params]
        assert vgg19_stage_table(e["input_shape"], e["num_classes"], e["batch_norm"]) == \
            [[s] + built[s] for s in VGG_STAGES]
        assert case.expected[0][-1][2] == e["num_classes"] * 4097
        del model


# --------------------------------------------------------------------------
# the diagnoses in the assignment's language
# --------------------------------------------------------------------------

def test_flipped_kernel_is_told_in_czech_in_the_czech_edition():
    flipped = CONV.replace("y += patch @ kernel[m, n]", "y += patch @ kernel[KH - 1 - m, KW - 1 - n]")
    en_score, en_out, en_found = graded("conv2d_forward", flipped, 6)
    score, out, found = graded("conv2d_forward", flipped, 6, lang="cs")
    assert score == en_score                          # the same cases, the same score
    assert "výstup se rovná skutečné konvoluci: jádro je převrácené" in out
    assert "vygenerovaných případů" in out and "očekáváno" in out and f"Body za conv2d_forward: {score:g} / 6" in out
    assert "kernel is flipped" not in out and "cases passed" not in out
    assert found.mistakes == ["váš výstup se rovná skutečné konvoluci"]


def test_czech_generic_failures_and_missing_functions():
    score, out, found = graded("conv2d_forward", "x = 1", 6, lang="cs")
    assert score == 0 and "není definovaná" in out
    score, out, found = graded("conv2d_forward", """
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return np.zeros((1, 1))
    """, 6, lang="cs")
    assert score == 0 and "očekávaný tvar" in out and "špatný tvar" in found.mistakes
    score, out, found = graded("conv2d_forward", """
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            raise ValueError("nope")
    """, 6, lang="cs")
    assert score == 0 and "vyvolala ValueError" in out and found.mistakes == ["vyvolává ValueError"]


def test_what_the_sandbox_reports_is_told_in_czech():
    """A function that returns None, exits or crashes, and a cell that runs out of time: in the words of the
    Czech edition, with the score and the class report's problems (English, for the instructor) unchanged."""
    source = """
        import os
        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            if padding == "same":
                return None
            if size % 2:
                os._exit(3)
            return (size - kernel_size) // stride + 1
    """
    en_score, en_out, en_found = graded("conv_output_size", source, 3)
    score, out, found = graded("conv_output_size", source, 3, lang="cs")
    assert score == en_score and 0 < score < 3 and found.problems == en_found.problems
    assert "returned None (forgot a `return`?)" in en_out and "the process running your code exited" in en_out
    assert "vrátila None (chybí `return`?)" in out and "proces, ve kterém běžel váš kód, skončil (návratový kód 3)" \
        in " ".join(out.split())
    assert "returned" not in out and "process running" not in out and "forgot" not in out
    assert {"vrací špatný druh výsledku", "spadla"} <= set(found.mistakes)
    assert en_found.problems[0].startswith(tuple(f"{n} cases crashed: the process running your code exited"
                                                 for n in range(1, 100)))
    cells = [("setup", "import numpy as np"), ("conv_output_size", "while True:\n    pass")]
    with StudentSession(cells, cell_seconds=0.5) as session:
        session.start()
        found = grade("conv_output_size", session.call, SEED, cell_errors=session.cell_errors, lang="cs")
    text = "\n".join(found.lines)
    assert "conv_output_size není definovaná" in text and "TimeoutError: buňka běžela déle než 0.5 s" in text
    assert found.mistakes == ["není definovaná"]
