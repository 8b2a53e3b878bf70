"""Checks of the oracle itself (tests/reference.py), needing no cnncore.

The oracle is also run through every hand-computed, golden (PyTorch) and
finite-difference test (those files are parametrized over 'reference' and
'cnncore').  Here it is compared with yet other formulations:

* conv2d against ``conv2d_direct``, the convolution equation with one loop per
  index and padding by index arithmetic;
* conv2d against SciPy's ``correlate2d`` (padding done by hand, dilation by a
  zero-dilated kernel, stride by subsampling the stride-1 result);
* conv2d_backward against the adjoint identity
  <conv(x, K), dy> = <x, dx> = <K, dK>  (convolution is bilinear);
* max_pool2d against NumPy's ``sliding_window_view``;
* batch_norm_backward against the compact textbook formula
  dx = gamma / (m sqrt(var + eps)) (m dy - sum dy - x_hat sum(dy x_hat)).

All in float64; agreement to 1e-10 (sums of a few hundred O(1) terms).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import correlate2d

import reference as ref

ints = st.integers
SETTINGS = settings(max_examples=60, deadline=None)
paddings = st.one_of(st.sampled_from(["valid", "same"]), ints(0, 2), st.tuples(ints(0, 2), ints(0, 2)),
                     st.tuples(st.tuples(ints(0, 2), ints(0, 2)), st.tuples(ints(0, 2), ints(0, 2))))


@st.composite
def geometries(draw, max_n=2, max_hw=6, max_c=2):
    return dict(N=draw(ints(1, max_n)), H=draw(ints(1, max_hw)), W=draw(ints(1, max_hw)),
                C=draw(ints(1, max_c)), O=draw(ints(1, max_c)), KH=draw(ints(1, 3)), KW=draw(ints(1, 3)),
                stride=(draw(ints(1, 3)), draw(ints(1, 3))), dilation=(draw(ints(1, 3)), draw(ints(1, 3))),
                padding=draw(paddings), seed=draw(ints(0, 10 ** 6)))


def arrays(g):
    rng = np.random.default_rng(g["seed"])
    x = rng.uniform(-1, 1, (g["N"], g["H"], g["W"], g["C"]))
    k = rng.uniform(-1, 1, (g["KH"], g["KW"], g["C"], g["O"]))
    b = rng.uniform(-1, 1, g["O"])
    return rng, x, k, b, dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"])


@SETTINGS
@given(g=geometries())
def test_conv2d_equals_the_literal_equation(g):
    _, x, k, b, kw = arrays(g)
    try:
        want = ref.conv2d_direct(x, k, b, **kw)
    except ValueError:
        with pytest.raises(ValueError):
            ref.conv2d(x, k, b, **kw)
        return
    np.testing.assert_allclose(ref.conv2d(x, k, b, **kw), want, rtol=1e-12, atol=1e-12)


def _tf_same(size, k, s, d):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


@SETTINGS
@given(g=geometries(max_hw=7))
def test_conv2d_equals_scipy_correlate2d(g):
    _, x, k, b, kw = arrays(g)
    (sh, sw), (dh, dw) = g["stride"], g["dilation"]
    p = g["padding"]
    if p == "valid":
        pads = ((0, 0), (0, 0))
    elif p == "same":
        pads = (_tf_same(g["H"], g["KH"], sh, dh), _tf_same(g["W"], g["KW"], sw, dw))
    elif isinstance(p, int):
        pads = ((p, p), (p, p))
    elif isinstance(p[0], int):
        pads = ((p[0], p[0]), (p[1], p[1]))
    else:
        pads = p
    # the kernel with dilation: zeros between the taps
    kd = np.zeros(((g["KH"] - 1) * dh + 1, (g["KW"] - 1) * dw + 1, g["C"], g["O"]))
    kd[::dh, ::dw] = k
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    if kd.shape[0] > xp.shape[1] or kd.shape[1] > xp.shape[2]:
        with pytest.raises(ValueError):
            ref.conv2d(x, k, b, **kw)
        return
    want = None
    for n in range(g["N"]):
        for o in range(g["O"]):
            full = sum(correlate2d(xp[n, :, :, c], kd[:, :, c, o], mode="valid") for c in range(g["C"]))
            full = full[::sh, ::sw] + b[o]
            if want is None:
                want = np.zeros((g["N"],) + full.shape + (g["O"],))
            want[n, :, :, o] = full
    np.testing.assert_allclose(ref.conv2d(x, k, b, **kw), want, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(g=geometries())
def test_conv2d_backward_satisfies_the_adjoint_identity(g):
    rng, x, k, _, kw = arrays(g)
    try:
        y = ref.conv2d(x, k, None, **kw)
    except ValueError:
        return
    dy = rng.uniform(-1, 1, y.shape)
    dx, dk, db = ref.conv2d_backward(dy, x, k, **kw)
    inner = np.sum(y * dy)
    np.testing.assert_allclose(np.sum(x * dx), inner, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.sum(k * dk), inner, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 1, 2)), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(N=ints(1, 2), H=ints(1, 7), W=ints(1, 7), C=ints(1, 2), ph=ints(1, 4), pw=ints(1, 4),
       sh=ints(1, 4), sw=ints(1, 4), same=st.booleans(), seed=ints(0, 10 ** 6))
def test_max_pool2d_equals_sliding_windows(N, H, W, C, ph, pw, sh, sw, same, seed):
    x = np.random.default_rng(seed).uniform(-1, 1, (N, H, W, C))
    if same:
        pads = (_tf_same(H, ph, sh, 1), _tf_same(W, pw, sw, 1))
    else:
        pads = ((0, 0), (0, 0))
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=-np.inf)
    if ph > xp.shape[1] or pw > xp.shape[2]:
        with pytest.raises(ValueError):
            ref.max_pool2d(x, (ph, pw), (sh, sw), "same" if same else "valid")
        return
    windows = sliding_window_view(xp, (ph, pw), axis=(1, 2))[:, ::sh, ::sw]   # (N, OH, OW, C, ph, pw)
    want = windows.max(axis=(-2, -1))
    got = ref.max_pool2d(x, (ph, pw), (sh, sw), "same" if same else "valid")
    np.testing.assert_array_equal(got, want)


@SETTINGS
@given(shape=st.one_of(st.tuples(ints(1, 8), ints(1, 3)), st.tuples(ints(1, 3), ints(1, 3), ints(1, 3),
                                                                      ints(1, 3))),
       seed=ints(0, 10 ** 6))
def test_batch_norm_backward_equals_compact_formula(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, shape)
    gamma, beta = rng.uniform(0.5, 1.5, shape[-1]), rng.uniform(-1, 1, shape[-1])
    dy = rng.uniform(-1, 1, shape)
    _, mean, var = ref.batch_norm_train(x, gamma, beta)
    dx, dgamma, dbeta = ref.batch_norm_backward(dy, x, gamma, mean, var)
    axes = tuple(range(len(shape) - 1))
    m = x.size // shape[-1]
    x_hat = (x - mean) / np.sqrt(var + 1e-3)
    want = gamma / (m * np.sqrt(var + 1e-3)) * (m * dy - dy.sum(axes) - x_hat * (dy * x_hat).sum(axes))
    np.testing.assert_allclose(dx, want, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dgamma, (dy * x_hat).sum(axes), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dbeta, dy.sum(axes), rtol=1e-12, atol=1e-12)


def test_softmax_cross_entropy_equals_naive_formula():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1, (6, 4))
    labels = rng.integers(0, 4, 6)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loss, d = ref.softmax_cross_entropy(logits, labels)
    np.testing.assert_allclose(loss, -np.mean(np.log(p[np.arange(6), labels])), rtol=1e-12)
    np.testing.assert_allclose(d, (p - np.eye(4)[labels]) / 6, rtol=1e-12, atol=1e-15)


def test_reference_never_imports_cnncore():
    import pathlib
    import re
    source = pathlib.Path(ref.__file__).read_text()
    assert not re.search(r"^\s*(import|from)\s+cnncore", source, re.M), \
        "reference.py must stay independent of the library it checks"
