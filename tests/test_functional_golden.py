"""Outputs and gradients against golden values computed once by PyTorch.

tests/golden/make_golden.py made tests/golden/golden.npz (float64) with
torch 2.13; these tests need no PyTorch.  Each case runs on the NumPy oracle
(tests/reference.py) and on cnncore.

Tolerance: all golden values are float64 results of sums of at most a few
hundred terms of magnitude <= ~10, so any correct float64 implementation is
within ~1e-13 of PyTorch's; atol=1e-10 (relative 1e-9) leaves a wide margin
while catching any real indexing or convention error (those are O(1)).
"""
import numpy as np
import pytest

from oracle_support import as_arg, golden_cases

RTOL, ATOL = 1e-9, 1e-10


def close(got, want, what):
    np.testing.assert_allclose(np.asarray(got), want, rtol=RTOL, atol=ATOL, err_msg=what)
    assert np.shape(got) == np.shape(want), what


def ids(cases):
    return [c[0] for c in cases]


CONV = golden_cases("conv2d")
POOL = golden_cases("max_pool2d")
BN = golden_cases("batch_norm")
CE = golden_cases("softmax_cross_entropy")


def test_golden_file_is_small_and_complete():
    import os
    from oracle_support import GOLDEN_PATH
    assert os.path.getsize(GOLDEN_PATH) < 1_000_000
    assert len(CONV) >= 8 and len(POOL) >= 4 and len(BN) == 2 and len(CE) == 2
    # the golden set covers asymmetric SAME padding on both axes
    assert any(c["padding"] == "same" and c["resolved_padding"][0][0] != c["resolved_padding"][0][1]
               and c["resolved_padding"][1][0] != c["resolved_padding"][1][1] for _, c, _ in CONV)


@pytest.mark.parametrize("name, case, a", CONV, ids=ids(CONV))
def test_conv2d_golden(m, name, case, a):
    kw = dict(stride=as_arg(case["stride"]), padding=as_arg(case["padding"]),
              dilation=as_arg(case["dilation"]))
    close(m.conv2d(a["x"], a["kernel"], a["bias"], **kw), a["y"], f"{name}: y")
    # bias added after: without it, y - bias
    close(m.conv2d(a["x"], a["kernel"], None, **kw), a["y"] - a["bias"], f"{name}: y without bias")
    dx, dk, db = m.conv2d_backward(a["dy"], a["x"], a["kernel"], **kw)
    close(dx, a["dx"], f"{name}: dx")
    close(dk, a["dkernel"], f"{name}: dkernel")
    close(db, a["dbias"], f"{name}: dbias")


@pytest.mark.parametrize("name, case, a", CONV, ids=ids(CONV))
def test_conv_padding_golden(m, name, case, a):
    """conv_padding / conv_output_size agree with the padding PyTorch was given."""
    pad = as_arg(case["padding"])
    if isinstance(pad, tuple):
        # (ph, pw), or ((top, bottom), (left, right)): one (before, after) pair per axis
        pad_rows, pad_cols = (tuple(p) if isinstance(p, (tuple, list)) else p for p in pad)
    else:
        pad_rows = pad_cols = pad
    stride = as_arg(case["stride"])
    dilation = as_arg(case["dilation"])
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    _, H, W, _ = a["x"].shape
    KH, KW, _, _ = a["kernel"].shape
    _, OH, OW, _ = a["y"].shape
    assert tuple(m.conv_padding(H, KH, sh, pad_rows, dh)) == tuple(case["resolved_padding"][0])
    assert tuple(m.conv_padding(W, KW, sw, pad_cols, dw)) == tuple(case["resolved_padding"][1])
    assert m.conv_output_size(H, KH, sh, pad_rows, dh) == OH
    assert m.conv_output_size(W, KW, sw, pad_cols, dw) == OW


@pytest.mark.parametrize("name, case, a", POOL, ids=ids(POOL))
def test_max_pool_golden(m, name, case, a):
    kw = dict(pool_size=as_arg(case["pool_size"]), stride=as_arg(case["stride"]),
              padding=case["padding"])
    np.testing.assert_array_equal(m.max_pool2d(a["x"], **kw), a["y"], err_msg=name)
    close(m.max_pool2d_backward(a["dy"], a["x"], **kw), a["dx"], f"{name}: dx")


@pytest.mark.parametrize("name, case, a", BN, ids=ids(BN))
def test_batch_norm_golden(m, name, case, a):
    eps = case["eps"]
    y, mean, var = m.batch_norm_train(a["x"], a["gamma"], a["beta"], eps=eps)
    close(y, a["y"], f"{name}: y")
    close(mean, a["mean"], f"{name}: mean")
    close(var, a["var"], f"{name}: var (biased)")
    # eps=1e-3 is the default
    close(m.batch_norm_train(a["x"], a["gamma"], a["beta"])[0], a["y"], f"{name}: y, default eps")
    dx, dgamma, dbeta = m.batch_norm_backward(a["dy"], a["x"], a["gamma"], a["mean"], a["var"], eps=eps)
    close(dx, a["dx"], f"{name}: dx")
    close(dgamma, a["dgamma"], f"{name}: dgamma")
    close(dbeta, a["dbeta"], f"{name}: dbeta")
    y = m.batch_norm_infer(a["x"], a["gamma"], a["beta"], a["moving_mean"], a["moving_var"], eps=eps)
    close(y, a["y_infer"], f"{name}: y_infer")


@pytest.mark.parametrize("name, case, a", CE, ids=ids(CE))
def test_softmax_cross_entropy_golden(m, name, case, a):
    loss, dlogits = m.softmax_cross_entropy(a["logits"], a["labels"])
    assert np.ndim(loss) == 0
    close(float(loss), float(a["loss"]), f"{name}: loss")
    close(dlogits, a["dlogits"], f"{name}: dlogits")
    close(m.softmax(a["logits"]), a["softmax"], f"{name}: softmax")
    close(m.softmax(a["logits"], axis=-1), a["softmax"], f"{name}: softmax axis=-1")
    close(m.softmax(a["logits"].T, axis=0), a["softmax"].T, f"{name}: softmax axis=0")


def test_dense_golden(m):
    (name, _, a), = golden_cases("dense")
    close(m.dense(a["x"], a["w"], a["b"]), a["y"], "dense: y")
    dx, dw, db = m.dense_backward(a["dy"], a["x"], a["w"])
    close(dx, a["dx"], "dense: dx")
    close(dw, a["dw"], "dense: dw")
    close(db, a["db"], "dense: db")


def test_relu_golden(m):
    (name, _, a), = golden_cases("relu")
    close(m.relu(a["x"]), a["y"], "relu: y")
    close(m.relu_backward(a["dy"], a["x"]), a["dx"], "relu: dx")
