"""cnncore.grading without nbgrader: the checks run on plain functions in this process.

The worked solutions get every point, typical mistakes get partial credit
with a diagnosis, and misbehaving functions (calling cnncore, looping
forever, warning, modifying inputs, returning junk) are handled.
"""
import importlib.util
import os
import sys
import time

import numpy as np
import pytest

pytest.importorskip("cnncore.grading")
from cnncore.grading import runner  # noqa: E402
from cnncore.grading.runner import check  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(name):
    spec = importlib.util.spec_from_file_location(f"solutions_{name}", os.path.join(ROOT, "solutions", f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


conv = _load("conv2d")
bn = _load("batchnorm")


@pytest.mark.parametrize("name,points", [
    ("conv_output_size", 3), ("conv2d_forward", 6), ("conv2d_backward", 6),
    ("batch_norm_train", 4), ("batch_norm_infer", 2), ("update_moving_stats", 2), ("batch_norm_backward", 4),
])
def test_worked_solution_gets_every_point(name, points, capsys):
    mod = conv if hasattr(conv, name) else bn
    assert check(name, {name: getattr(mod, name)}, points=points) == points
    out = capsys.readouterr().out
    assert "cases passed" in out and f"Score for {name}: {points} / {points}" in out


def test_flipped_kernel_gets_partial_credit_and_is_told(capsys):
    def conv2d_forward(x, kernel, stride=1, padding="valid"):
        return conv.conv2d_forward(x, kernel[::-1, ::-1], stride=stride, padding=padding)

    score = check("conv2d_forward", {"conv2d_forward": conv2d_forward}, points=6)
    out = capsys.readouterr().out
    assert 0 < score < 6          # 1x1 kernels are their own flip
    assert "the kernel is flipped" in out
    assert "expected" in out and "max error" in out


def test_missing_and_unimplemented_functions_score_zero(capsys):
    assert check("conv2d_forward", {}, points=6) == 0
    assert "not defined" in capsys.readouterr().out

    def conv2d_forward(x, kernel, stride=1, padding="valid"):
        raise NotImplementedError()

    assert check("conv2d_forward", {"conv2d_forward": conv2d_forward}, points=6) == 0
    assert "NotImplementedError" in capsys.readouterr().out


def test_calling_cnncore_earns_nothing(capsys):
    import cnncore

    def conv2d_forward(x, kernel, stride=1, padding="valid"):
        return cnncore.conv2d(x, kernel, stride=stride, padding=padding)

    assert check("conv2d_forward", {"conv2d_forward": conv2d_forward}, points=6) == 0
    out = capsys.readouterr().out
    assert "no credit" in out and "cnncore" in out


def test_warnings_and_stderr_do_not_cost_points(capsys):
    def batch_norm_train(x, gamma, beta, eps=1e-3):
        print("debugging output", file=sys.stderr)
        np.log(-np.ones(1))                       # RuntimeWarning
        return bn.batch_norm_train(x, gamma, beta, eps)

    assert check("batch_norm_train", {"batch_norm_train": batch_norm_train}, points=4) == 4
    captured = capsys.readouterr()
    assert "debugging output" not in captured.err
    assert "RuntimeWarning" in captured.out       # reported as a note, not an error


def test_endless_loop_is_cut_off(monkeypatch, capsys):
    monkeypatch.setattr(runner, "CASE_SECONDS", 1.0)

    def conv_output_size(size, kernel_size, stride=1, padding="valid"):
        if padding == "same":
            while True:
                pass
        return (size - kernel_size) // stride + 1

    t0 = time.monotonic()
    score = check("conv_output_size", {"conv_output_size": conv_output_size}, points=3)
    assert time.monotonic() - t0 < 20
    assert 0 < score < 3
    assert "stopped after" in capsys.readouterr().out


def test_modifying_inputs_fails_the_case(capsys):
    def update_moving_stats(moving_mean, moving_var, mean, var, momentum=0.99):
        moving_mean *= momentum
        moving_mean += (1 - momentum) * mean
        return moving_mean, momentum * moving_var + (1 - momentum) * var

    assert check("update_moving_stats", {"update_moving_stats": update_moving_stats}, points=2) == 0
    assert "modified its input `moving_mean` in place" in capsys.readouterr().out


def test_objects_that_compare_equal_to_anything_fail(capsys):
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    def conv2d_forward(x, kernel, stride=1, padding="valid"):
        return AlwaysEqual()

    assert check("conv2d_forward", {"conv2d_forward": conv2d_forward}, points=6) == 0
    assert "not a numeric array" in capsys.readouterr().out


def test_patched_numpy_comparisons_change_nothing(monkeypatch, capsys):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "array_equal", lambda *a, **k: True)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)

    def batch_norm_infer(x, gamma, beta, moving_mean, moving_var, eps=1e-3):
        return np.zeros_like(x)

    assert check("batch_norm_infer", {"batch_norm_infer": batch_norm_infer}, points=2) == 0


def test_replaced_cnncore_does_not_change_the_reference(monkeypatch):
    import cnncore

    def conv2d_forward(x, kernel, stride=1, padding="valid"):
        return np.zeros((x.shape[0], x.shape[1], x.shape[2], kernel.shape[3]), x.dtype)

    monkeypatch.setattr(cnncore, "conv2d", lambda x, kernel, **kw: conv2d_forward(x, kernel))
    assert check("conv2d_forward", {"conv2d_forward": conv2d_forward}, points=6) == 0


def test_replaced_grader_libraries_are_detected(monkeypatch, capsys):
    import json
    monkeypatch.setattr(runner, "_loads", lambda s: {"fraction": 1.0, "lines": []})
    monkeypatch.setattr(json, "loads", runner._loads)
    assert check("conv2d_forward", {"conv2d_forward": conv.conv2d_forward}, points=6) == 0
    assert "replaced functions the grader relies on" in capsys.readouterr().out


@pytest.mark.parametrize("mistake,phrase", [
    ("unbiased", "unbiased variance"),
    ("per_position", "per position"),
    ("eps_outside", "eps belongs under the square root"),
])
def test_batch_norm_diagnoses(mistake, phrase, capsys):
    def batch_norm_train(x, gamma, beta, eps=1e-3):
        axes = tuple(range(x.ndim - 1))
        if mistake == "per_position":
            axes = 0
        mean = x.mean(axis=axes)
        m = x.size // x.shape[-1]
        var = x.var(axis=axes) * (m / (m - 1) if mistake == "unbiased" and m > 1 else 1)
        if mistake == "eps_outside":
            return gamma * (x - mean) / (np.sqrt(var) + eps) + beta, mean, var
        return gamma * (x - mean) / np.sqrt(var + eps) + beta, mean, var

    score = check("batch_norm_train", {"batch_norm_train": batch_norm_train}, points=4)
    assert score < 4
    assert phrase in capsys.readouterr().out


def test_worker_rejects_unknown_check():
    import subprocess
    proc = subprocess.run([sys.executable, "-I", "-m", "cnncore.grading.worker", "no_such_check", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown check" in proc.stderr


def test_replaced_builtins_are_detected(monkeypatch, capsys):
    import builtins
    monkeypatch.setattr(builtins, "float", lambda *a: 1.0)
    score = check("conv2d_forward", {"conv2d_forward": lambda *a, **k: None}, points=6)
    monkeypatch.undo()
    assert score == 0
    assert "builtins.float" in capsys.readouterr().out


def test_calling_torch_earns_nothing(capsys):
    torch = pytest.importorskip("torch")

    def conv2d_forward(x, kernel, stride=1, padding="valid"):
        import torch.nn.functional as F
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        kt = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        return F.conv2d(xt, kt, stride=stride).numpy().transpose(0, 2, 3, 1)

    assert check("conv2d_forward", {"conv2d_forward": conv2d_forward}, points=6) == 0
    assert "torch" in capsys.readouterr().out
