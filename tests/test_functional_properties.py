"""Property-based tests: cnncore against the NumPy oracle over random geometries.

Shapes, strides, dilations, paddings, pool sizes and thread counts are drawn
by hypothesis (small, so the loop-based oracle stays fast); the array values
come from a NumPy generator seeded by hypothesis.  Each case runs in float32
and float64.

Tolerances (stated once, used everywhere below)
-----------------------------------------------
u is the unit roundoff of the dtype under test (2**-24 for float32, 2**-53 for
float64).  The oracle computes in float64 from the very same (float32-rounded)
inputs, so it is the exact answer up to float64 rounding.

* Sums of products (convolution, its gradients, dense, pooling gradients):
  any summation order, blocked GEMM or FMA satisfies Higham's bound
  |fl(s) - s| <= gamma_n * sum|terms| with gamma_n ~ n u, n the number of
  terms.  sum|terms| is computed elementwise by running the oracle on |inputs|;
  ``sum_bound`` allows 2 (n + 2) u times it.  This is tight enough to catch a
  single wrong term (an O(1) error) and never flaky: it is a proof, not a guess.
* Max pooling forward and relu are exact (no arithmetic): compared with ==.
* Batch normalization: the mean and variance of m values carry absolute errors
  up to ~ m u max|x| and ~ m u max|x|^2; propagated through
  gamma (x - mean) / sqrt(var + eps) + beta (first order) that is
  (m + 2) u |gamma| [ inv_std (|x| + max|x|) + |x_hat| max|x|^2 / (var + eps) ]
  plus u |beta|; we allow 8 times it.  The backward pass gets the same
  treatment with its own sums.
* softmax: exp(x - max) has relative error ~ (1 + |x - max|) u and the
  normaliser adds ~ K u; we allow 8 (K + 2 + 2 max|x|) u relative.
"""
import importlib

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import reference as ref
from oracle_support import UNIT_ROUNDOFF, assert_within, sum_bound

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from(["float32", "float64"])


def cn():
    return importlib.import_module("cnncore")


ints = st.integers
seeds = ints(0, 2 ** 32 - 1)


def int_or_pair(lo, hi):
    return st.one_of(ints(lo, hi), st.tuples(ints(lo, hi), ints(lo, hi)))


paddings = st.one_of(
    st.sampled_from(["valid", "same"]),
    ints(0, 3),
    st.tuples(ints(0, 3), ints(0, 3)),
    st.tuples(st.tuples(ints(0, 3), ints(0, 3)), st.tuples(ints(0, 3), ints(0, 3))),
)


class threads:
    """Run with cnncore.set_num_threads(n), then restore.

    cnncore runs calls below ``functional.SERIAL_WORK`` operations on one
    thread; that threshold is lowered to 0 here so that these small random
    problems really go through the multi-threaded loops and their splits.
    """

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        functional = importlib.import_module("cnncore.functional")
        self.old = cn().set_num_threads(self.n)
        self.old_serial, functional.SERIAL_WORK = functional.SERIAL_WORK, 0

    def __exit__(self, *exc):
        cn().set_num_threads(self.old)
        importlib.import_module("cnncore.functional").SERIAL_WORK = self.old_serial


def rand(rng, shape, dtype, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape).astype(dtype)


# ============================================================= output size, padding

@SETTINGS
@given(size=ints(1, 40), k=ints(1, 7), stride=ints(1, 5), dilation=ints(1, 4),
       padding=st.one_of(st.sampled_from(["valid", "same"]), ints(0, 4)))
def test_conv_output_size_and_padding_match_reference(size, k, stride, dilation, padding):
    try:
        out = ref.conv_output_size(size, k, stride, padding, dilation)
    except ValueError:
        out = 0
    if out < 1:   # the kernel does not fit: an error, not a size
        with pytest.raises(ValueError):
            cn().conv_output_size(size, k, stride, padding, dilation)
        return
    assert cn().conv_output_size(size, k, stride, padding, dilation) == out
    assert tuple(cn().conv_padding(size, k, stride, padding, dilation)) == \
        ref.conv_padding(size, k, stride, padding, dilation)


# ============================================================= conv2d

@st.composite
def conv_problems(draw):
    return dict(N=draw(ints(1, 3)), H=draw(ints(1, 7)), W=draw(ints(1, 7)),
                C=draw(ints(1, 3)), O=draw(ints(1, 3)),
                KH=draw(ints(1, 4)), KW=draw(ints(1, 4)),
                stride=draw(int_or_pair(1, 4)), dilation=draw(int_or_pair(1, 3)),
                padding=draw(paddings), bias=draw(st.booleans()),
                threads=draw(ints(1, 3)), seed=draw(seeds))


def P(N=2, H=5, W=5, C=2, O=2, KH=3, KW=3, stride=1, dilation=1, padding="valid", bias=True,
      threads=2, seed=0):
    return dict(N=N, H=H, W=W, C=C, O=O, KH=KH, KW=KW, stride=stride, dilation=dilation,
                padding=padding, bias=bias, threads=threads, seed=seed)


CONV_EXAMPLES = [
    P(H=1, W=1, KH=1, KW=1),                                   # 1x1 image, 1x1 kernel
    P(H=1, W=1, KH=3, KW=2, padding="same"),                   # 1x1 image, SAME
    P(H=4, W=3, KH=4, KW=3),                                   # kernel equal to the image
    P(H=6, W=7, KH=1, KW=3, stride=(3, 4)),                    # non-square, stride > kernel
    P(H=7, W=6, KH=2, KW=3, stride=2, padding="same"),         # odd/even sizes, asymmetric SAME
    P(H=6, W=6, KH=3, KW=3, stride=2, dilation=2, padding="same"),
    P(H=5, W=5, KH=1, KW=1, padding=3),                        # padding wider than the kernel
    P(H=3, W=3, KH=2, KW=2, padding=((3, 0), (0, 3))),
    P(H=3, W=3, KH=4, KW=1),                                   # kernel larger: ValueError
]


def _conv_case(p, dtype):
    rng = np.random.default_rng(p["seed"])
    x = rand(rng, (p["N"], p["H"], p["W"], p["C"]), dtype)
    kernel = rand(rng, (p["KH"], p["KW"], p["C"], p["O"]), dtype)
    bias = rand(rng, (p["O"],), dtype) if p["bias"] else None
    kw = dict(stride=p["stride"], padding=p["padding"], dilation=p["dilation"])
    return rng, x, kernel, bias, kw


def _check_conv(p, dtype):
    rng, x, kernel, bias, kw = _conv_case(p, dtype)
    try:
        want = ref.conv2d(x, kernel, bias, **kw)
    except ValueError:                      # no output position fits in the padded input
        with pytest.raises(ValueError):
            cn().conv2d(x, kernel, bias, **kw)
        return
    N, OH, OW, O = want.shape
    KH, KW, C, _ = kernel.shape
    with threads(p["threads"]):
        got = cn().conv2d(x, kernel, bias, **kw)
    assert got.dtype == np.dtype(dtype)
    abs_y = ref.conv2d(np.abs(x), np.abs(kernel), None if bias is None else np.abs(bias), **kw)
    assert_within(got, want, sum_bound(KH * KW * C + 1, abs_y, dtype), "conv2d y")

    dy = rand(rng, want.shape, dtype)
    with threads(p["threads"]):
        dx, dk, db = cn().conv2d_backward(dy, x, kernel, **kw)
    rdx, rdk, rdb = ref.conv2d_backward(dy, x, kernel, **kw)
    adx, adk, adb = ref.conv2d_backward(np.abs(dy), np.abs(x), np.abs(kernel), **kw)
    for got_, want_, abs_, n, name in [(dx, rdx, adx, KH * KW * O, "dx"),
                                       (dk, rdk, adk, N * OH * OW, "dkernel"),
                                       (db, rdb, adb, N * OH * OW, "dbias")]:
        assert got_.dtype == np.dtype(dtype), name
        assert_within(got_, want_, sum_bound(n, abs_, dtype), f"conv2d_backward {name}")


@SETTINGS
@given(p=conv_problems(), dtype=DTYPES)
def test_conv2d_forward_and_backward_match_reference(p, dtype):
    _check_conv(p, dtype)


@pytest.mark.parametrize("p", CONV_EXAMPLES, ids=lambda p: f"{p['H']}x{p['W']}-k{p['KH']}x{p['KW']}"
                         f"-s{p['stride']}-d{p['dilation']}-{p['padding']}")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_edge_geometries(p, dtype):
    _check_conv(p, dtype)


@SETTINGS
@given(p=conv_problems(), dtype=DTYPES, tile_bytes=st.sampled_from([64, 256, 4096]))
def test_conv2d_tiled_path_matches_reference(p, dtype, tile_bytes):
    """cnncore switches to a tiled im2col + GEMM above a size threshold that
    small random cases never reach; force it (white-box) so every geometry is
    also checked through the tiled kernels and their tile boundaries."""
    functional = importlib.import_module("cnncore.functional")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(functional, "BIG_GEMM_BYTES", 0)
        mp.setattr(functional, "TILE_BYTES", tile_bytes)
        _check_conv(p, dtype)


@st.composite
def wide_conv_problems(draw):
    """Channel counts that are multiples of 64 on one side or the other: cnncore
    sends float32 convolutions with C_out % 64 == 0 (forward, and dx with
    C_in % 64 == 0) and C_in % 64 == 0 (kernel gradient) to an AVX-512
    micro-kernel, with separate branches for few channels + column dilation,
    column dilation 1, and per-tap runs."""
    wide_out = draw(st.booleans())
    C = draw(st.sampled_from([1, 3, 16, 64])) if wide_out else 64
    O = 64 * draw(ints(1, 2)) if wide_out else draw(st.sampled_from([1, 5, 64]))
    return dict(N=draw(ints(1, 2)), H=draw(ints(1, 9)), W=draw(ints(1, 9)), C=C, O=O,
                KH=draw(ints(1, 4)), KW=draw(ints(1, 4)),
                stride=draw(int_or_pair(1, 3)), dilation=draw(int_or_pair(1, 3)),
                padding=draw(paddings), bias=draw(st.booleans()),
                threads=draw(ints(1, 3)), seed=draw(seeds))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=wide_conv_problems(), dk_chunk=st.sampled_from([None, 1, 5]))
def test_conv2d_wide_channels_match_reference(p, dk_chunk):
    """float32 only (that is what the micro-kernel serves); dk_chunk shrinks the
    kernel gradient's pixel chunk (white-box, when cnncore has the knob) so
    that chunk boundaries fall inside these small images."""
    functional = importlib.import_module("cnncore.functional")
    with pytest.MonkeyPatch.context() as mp:
        if dk_chunk is not None and hasattr(functional, "DK_CHUNK"):
            mp.setattr(functional, "DK_CHUNK", dk_chunk)
        _check_conv(p, "float32")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_large_case_uses_big_path(dtype):
    """One case above cnncore's default tiling threshold (~32 MB of im2col columns
    in float64): an early-VGG-like layer, checked against the oracle."""
    rng = np.random.default_rng(5)
    x = rand(rng, (1, 130, 129, 32), dtype)
    kernel = rand(rng, (3, 3, 32, 5), dtype)
    bias = rand(rng, (5,), dtype)
    kw = dict(stride=1, padding="same", dilation=1)
    got = cn().conv2d(x, kernel, bias, **kw)
    want = ref.conv2d(x, kernel, bias, **kw)
    abs_y = ref.conv2d(np.abs(x), np.abs(kernel), np.abs(bias), **kw)
    assert_within(got, want, sum_bound(3 * 3 * 32 + 1, abs_y, dtype), "conv2d y (large)")
    dy = rand(rng, want.shape, dtype)
    dx, dk, db = cn().conv2d_backward(dy, x, kernel, **kw)
    rdx, rdk, rdb = ref.conv2d_backward(dy, x, kernel, **kw)
    adx, adk, _ = ref.conv2d_backward(np.abs(dy), np.abs(x), np.abs(kernel), **kw)
    assert_within(dx, rdx, sum_bound(3 * 3 * 5, adx, dtype), "dx (large)")
    assert_within(dk, rdk, sum_bound(130 * 129, adk, dtype), "dkernel (large)")


# ============================================================= max pooling

@st.composite
def pool_problems(draw):
    return dict(N=draw(ints(1, 2)), H=draw(ints(1, 7)), W=draw(ints(1, 7)), C=draw(ints(1, 3)),
                pool=draw(int_or_pair(1, 4)),
                stride=draw(st.one_of(st.none(), int_or_pair(1, 4))),
                padding=draw(st.sampled_from(["valid", "same"])),
                ties=draw(st.booleans()), threads=draw(ints(1, 3)), seed=draw(seeds))


@SETTINGS
@given(p=pool_problems(), dtype=DTYPES)
@example(p=dict(N=1, H=1, W=1, C=1, pool=3, stride=None, padding="same", ties=False, threads=1,
                seed=0), dtype="float64")
@example(p=dict(N=1, H=3, W=3, C=1, pool=4, stride=1, padding="valid", ties=False, threads=1,
                seed=0), dtype="float64")
def test_max_pool2d_matches_reference(p, dtype):
    rng = np.random.default_rng(p["seed"])
    shape = (p["N"], p["H"], p["W"], p["C"])
    # ties=True: small integers, so windows hold equal maxima and the
    # "first maximal element in row-major window order" rule is exercised
    x = (rng.integers(-2, 3, shape) if p["ties"] else rng.uniform(-1, 1, shape)).astype(dtype)
    kw = dict(pool_size=p["pool"], stride=p["stride"], padding=p["padding"])
    try:
        want = ref.max_pool2d(x, **kw)
    except ValueError:                     # VALID and the pool does not fit
        with pytest.raises(ValueError):
            cn().max_pool2d(x, **kw)
        return
    with threads(p["threads"]):
        got = cn().max_pool2d(x, **kw)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)
    dy = rand(rng, want.shape, dtype)
    with threads(p["threads"]):
        dx = cn().max_pool2d_backward(dy, x, **kw)
    assert dx.dtype == np.dtype(dtype)
    ph, pw = (p["pool"], p["pool"]) if isinstance(p["pool"], int) else p["pool"]
    abs_dx = ref.max_pool2d_backward(np.abs(dy), x, **kw)
    assert_within(dx, ref.max_pool2d_backward(dy, x, **kw), sum_bound(ph * pw, abs_dx, dtype),
                  "max_pool2d_backward dx")


# ============================================================= batch normalization

bn_shapes = st.one_of(st.tuples(ints(1, 8), ints(1, 4)),
                      st.tuples(ints(1, 3), ints(1, 4), ints(1, 4), ints(1, 3)))


def _bn_tolerances(x, gamma, beta, mean, var, eps, dtype):
    """Elementwise error allowance of y, mean, var (see the module docstring)."""
    u = UNIT_ROUNDOFF[np.dtype(dtype)]
    x = x.astype(np.float64)
    axes = tuple(range(x.ndim - 1))
    m = x.size // x.shape[-1]
    maxabs = np.abs(x).max(axis=axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    amp = maxabs ** 2 / (var + eps)
    k = 8.0 * (m + 2) * u
    tol_y = k * (np.abs(beta) + np.abs(gamma) * (inv_std * (np.abs(x) + maxabs) + np.abs(x_hat) * amp))
    return tol_y, k * maxabs, k * maxabs ** 2, x_hat, inv_std, amp, m, k


@SETTINGS
@given(shape=bn_shapes, dtype=DTYPES, eps=st.sampled_from([1e-3, 1e-5, 0.1]),
       nthreads=ints(1, 3), seed=seeds)
def test_batch_norm_train_and_backward_match_reference(shape, dtype, eps, nthreads, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(rng.uniform(-2, 2), rng.uniform(0.1, 2), shape).astype(dtype)
    C = shape[-1]
    gamma = rand(rng, C, dtype, 0.5, 1.5)
    beta = rand(rng, C, dtype)
    with threads(nthreads):
        y, mean, var = cn().batch_norm_train(x, gamma, beta, eps=eps)
    ry, rmean, rvar = ref.batch_norm_train(x, gamma, beta, eps=eps)
    for a, name in [(y, "y"), (mean, "mean"), (var, "var")]:
        assert a.dtype == np.dtype(dtype), name
    tol_y, tol_mean, tol_var, x_hat, inv_std, amp, m, k = _bn_tolerances(
        x, gamma, beta, rmean, rvar, eps, dtype)
    assert_within(mean, rmean, tol_mean, "batch_norm_train mean")
    assert_within(var, rvar, tol_var, "batch_norm_train var")
    assert_within(y, ry, tol_y, "batch_norm_train y")
    # y is made from the statistics returned (a model recomputes it so), and
    # relu=True rectifies it in the same pass: both bit for bit
    np.testing.assert_array_equal(cn().batch_norm_infer(x, gamma, beta, mean, var, eps=eps), y)
    with threads(nthreads):
        fused = cn().batch_norm_train(x, gamma, beta, eps=eps, relu=True)
    for a, b in zip(fused, (cn().relu(y), mean, var)):
        np.testing.assert_array_equal(a, b)

    # backward, given the oracle's statistics rounded to the dtype
    dy = rand(rng, shape, dtype)
    mean_d, var_d = rmean.astype(dtype), rvar.astype(dtype)
    with threads(nthreads):
        dx, dgamma, dbeta = cn().batch_norm_backward(dy, x, gamma, mean_d, var_d, eps=eps)
    rdx, rdgamma, rdbeta = ref.batch_norm_backward(dy, x, gamma, mean_d, var_d, eps=eps)
    for a, name in [(dx, "dx"), (dgamma, "dgamma"), (dbeta, "dbeta")]:
        assert a.dtype == np.dtype(dtype), name
    axes = tuple(range(x.ndim - 1))
    ady = np.abs(dy.astype(np.float64))
    s_dy, s_dyxh = ady.sum(axis=axes), (ady * np.abs(x_hat)).sum(axis=axes)
    # the terms of dx = gamma inv_std / m (m dy - sum dy - x_hat sum(dy x_hat)),
    # amplified by the error of x_hat (1 + inv_std max|x| + max|x|^2/(var+eps))
    a = 1 + inv_std * np.abs(x).max(axis=axes) + amp
    tol_dx = k * np.abs(gamma) * inv_std / m * (m * ady + s_dy + (np.abs(x_hat) + 1) * s_dyxh) * a
    assert_within(dx, rdx, tol_dx, "batch_norm_backward dx")
    assert_within(dgamma, rdgamma, k * s_dyxh * a, "batch_norm_backward dgamma")
    assert_within(dbeta, rdbeta, sum_bound(m, s_dy, dtype), "batch_norm_backward dbeta")


@SETTINGS
@given(shape=bn_shapes, dtype=DTYPES, seed=seeds)
def test_batch_norm_infer_and_moving_stats_match_reference(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    C = shape[-1]
    x = rand(rng, shape, dtype, -3, 3)
    gamma, beta = rand(rng, C, dtype, 0.5, 1.5), rand(rng, C, dtype)
    mm, mv = rand(rng, C, dtype), rand(rng, C, dtype, 0.2, 2.0)
    got = cn().batch_norm_infer(x, gamma, beta, mm, mv)
    want = ref.batch_norm_infer(x, gamma, beta, mm, mv)
    assert got.dtype == np.dtype(dtype)
    u = UNIT_ROUNDOFF[np.dtype(dtype)]
    inv_std = 1 / np.sqrt(mv.astype(np.float64) + 1e-3)
    tol = 8 * u * (np.abs(beta) + np.abs(gamma) * inv_std * (np.abs(x) + np.abs(mm)))
    assert_within(got, want, tol, "batch_norm_infer")
    np.testing.assert_array_equal(cn().batch_norm_infer(x, gamma, beta, mm, mv, relu=True),
                                  cn().relu(got))

    mean, var = rand(rng, C, dtype), rand(rng, C, dtype, 0, 2)
    momentum = float(rng.uniform(0.5, 1.0))
    for args in [(), (momentum,)]:
        new_mean, new_var = cn().update_moving_stats(mm, mv, mean, var, *args)
        want_mean, want_var = ref.update_moving_stats(mm, mv, mean, var, *args)
        assert new_mean.dtype == new_var.dtype == np.dtype(dtype)
        assert_within(new_mean, want_mean, 4 * u * (np.abs(mm) + np.abs(mean)), "moving_mean")
        assert_within(new_var, want_var, 4 * u * (np.abs(mv) + np.abs(var)), "moving_var")


# ============================================================= dense, relu, softmax

@SETTINGS
@given(N=ints(1, 5), F_in=ints(1, 6), F_out=ints(1, 5), bias=st.booleans(), dtype=DTYPES,
       seed=seeds)
def test_dense_matches_reference(N, F_in, F_out, bias, dtype, seed):
    rng = np.random.default_rng(seed)
    x, w = rand(rng, (N, F_in), dtype), rand(rng, (F_in, F_out), dtype)
    b = rand(rng, F_out, dtype) if bias else None
    got = cn().dense(x, w, b)
    assert got.dtype == np.dtype(dtype)
    abs_y = ref.dense(np.abs(x), np.abs(w), None if b is None else np.abs(b))
    assert_within(got, ref.dense(x, w, b), sum_bound(F_in + 1, abs_y, dtype), "dense y")
    dy = rand(rng, (N, F_out), dtype)
    for got_, want_, abs_, n, name in zip(cn().dense_backward(dy, x, w), ref.dense_backward(dy, x, w),
                                          ref.dense_backward(np.abs(dy), np.abs(x), np.abs(w)),
                                          (F_out, N, N), ("dx", "dw", "db")):
        assert got_.dtype == np.dtype(dtype), name
        assert_within(got_, want_, sum_bound(n, abs_, dtype), f"dense_backward {name}")


@SETTINGS
@given(shape=st.lists(ints(1, 4), min_size=1, max_size=4).map(tuple), dtype=DTYPES, seed=seeds)
def test_relu_matches_reference_exactly(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rand(rng, shape, dtype)
    x.reshape(-1)[:: 3] = 0.0                     # some exact zeros: gradient 0 there
    dy = rand(rng, shape, dtype)
    y = cn().relu(x)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y, ref.relu(x))
    dx = cn().relu_backward(dy, x)
    assert dx.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(dx, ref.relu_backward(dy, x))


@SETTINGS
@given(shape=st.lists(ints(1, 5), min_size=1, max_size=3).map(tuple), dtype=DTYPES,
       scale=st.sampled_from([1.0, 10.0, 80.0]), data=st.data(), seed=seeds)
def test_softmax_matches_reference(shape, dtype, scale, data, seed):
    rng = np.random.default_rng(seed)
    x = rand(rng, shape, dtype, -scale, scale)
    axis = data.draw(ints(-len(shape), len(shape) - 1), label="axis")
    got = cn().softmax(x, axis=axis)
    want = ref.softmax(x, axis=axis)
    assert got.dtype == np.dtype(dtype)
    u = UNIT_ROUNDOFF[np.dtype(dtype)]
    K = shape[axis]
    tol = 8 * (K + 2 + 2 * scale) * u * want + np.finfo(dtype).tiny * 4
    assert_within(got, want, tol, "softmax")


@SETTINGS
@given(N=ints(1, 6), K=ints(1, 6), dtype=DTYPES, scale=st.sampled_from([1.0, 10.0, 80.0]),
       seed=seeds)
def test_softmax_cross_entropy_matches_reference(N, K, dtype, scale, seed):
    rng = np.random.default_rng(seed)
    logits = rand(rng, (N, K), dtype, -scale, scale)
    labels = rng.integers(0, K, N)
    loss, dlogits = cn().softmax_cross_entropy(logits, labels)
    want_loss, want_d = ref.softmax_cross_entropy(logits, labels)
    assert np.ndim(loss) == 0
    assert dlogits.dtype == np.dtype(dtype)
    u = UNIT_ROUNDOFF[np.dtype(dtype)]
    rel = 8 * (K + 2 + 2 * scale) * u
    assert abs(float(loss) - want_loss) <= rel * (1 + abs(want_loss)), (float(loss), want_loss)
    p = ref.softmax(logits)
    assert_within(dlogits, want_d, (rel * (p + 1) + u) / N, "softmax_cross_entropy dlogits")
