"""Every functional-API call on awkward inputs: memory layouts, read-only and
integer arrays, float32, an empty batch; inputs are never modified.

One table (CALLS) lists a representative call of every function with its
array arguments.  The arrays hold small integers stored as float64, so the
same values can also be passed as int64 (docs/conventions.md: integer input is
converted to float64) and every variant must give the result of the
C-contiguous float64 call:

* layouts (strided views, negative strides, Fortran order) and read-only
  arrays hold the same float64 values: results agree to 1e-12 relative
  (a different summation order may change the last bits, nothing more);
* int64 inputs: float64 results, equal to the float64 call;
* float32 inputs: float32 results within 1e-4 of the float64 call (values
  |v| <= 3, at most ~300 terms per sum: float32 rounding is below 1e-4 of the
  result's scale).
"""
import importlib

import numpy as np
import pytest

import reference as ref


def cn():
    return importlib.import_module("cnncore")


def _table():
    rng = np.random.default_rng(11)

    def iv(*shape):
        return rng.integers(-3, 4, shape).astype(np.float64)

    conv_kw = dict(stride=(2, 1), padding="same", dilation=(1, 2))
    pool_kw = dict(pool_size=3, stride=2, padding="same")
    xc, xd = iv(2, 3, 4, 3), iv(5, 3)
    return {
        # name: (call, arrays, which arrays may become integers)
        "conv2d": (lambda m, x, k, b: m.conv2d(x, k, b, **conv_kw),
                   [iv(2, 5, 6, 3), iv(3, 2, 3, 4), iv(4)], None),
        "conv2d_backward": (lambda m, dy, x, k: m.conv2d_backward(dy, x, k, **conv_kw),
                            [iv(2, 3, 6, 4), iv(2, 5, 6, 3), iv(3, 2, 3, 4)], None),
        "max_pool2d": (lambda m, x: m.max_pool2d(x, **pool_kw), [iv(2, 5, 6, 3)], None),
        "max_pool2d_backward": (lambda m, dy, x: m.max_pool2d_backward(dy, x, **pool_kw),
                                [iv(2, 3, 3, 3), iv(2, 5, 6, 3)], None),
        "batch_norm_train_conv": (lambda m, x, g, b: m.batch_norm_train(x, g, b),
                                  [xc, iv(3), iv(3)], None),
        "batch_norm_train_dense": (lambda m, x, g, b: m.batch_norm_train(x, g, b),
                                   [xd, iv(3), iv(3)], None),
        "batch_norm_infer": (lambda m, x, g, b, mm, mv: m.batch_norm_infer(x, g, b, mm, mv),
                             [xc, iv(3), iv(3), iv(3), np.array([1.0, 2.0, 3.0])], None),
        # mean/var of the batch are not integers: they stay float64 in the int64 variant
        "batch_norm_backward_conv": (
            lambda m, dy, x, g, mean, var: m.batch_norm_backward(dy, x, g, mean, var),
            [iv(2, 3, 4, 3), xc, iv(3), xc.mean(axis=(0, 1, 2)), xc.var(axis=(0, 1, 2))],
            [True, True, True, False, False]),
        "batch_norm_backward_dense": (
            lambda m, dy, x, g, mean, var: m.batch_norm_backward(dy, x, g, mean, var),
            [iv(5, 3), xd, iv(3), xd.mean(axis=0), xd.var(axis=0)],
            [True, True, True, False, False]),
        "update_moving_stats": (lambda m, mm, mv, mean, var: m.update_moving_stats(mm, mv, mean, var),
                                [iv(3), np.array([1.0, 2.0, 3.0]), iv(3), np.array([0.0, 1.0, 2.0])],
                                None),
        "dense": (lambda m, x, w, b: m.dense(x, w, b), [iv(4, 5), iv(5, 3), iv(3)], None),
        "dense_backward": (lambda m, dy, x, w: m.dense_backward(dy, x, w),
                           [iv(4, 3), iv(4, 5), iv(5, 3)], None),
        "relu": (lambda m, x: m.relu(x), [iv(3, 4, 2, 2)], None),
        "relu_backward": (lambda m, dy, x: m.relu_backward(dy, x), [iv(3, 4, 2, 2), iv(3, 4, 2, 2)],
                          None),
        "softmax": (lambda m, x: m.softmax(x), [iv(4, 5)], None),
        "softmax_axis0": (lambda m, x: m.softmax(x, axis=0), [iv(4, 5)], None),
        "softmax_cross_entropy": (lambda m, logits, labels: m.softmax_cross_entropy(logits, labels),
                                  [iv(4, 5), np.array([0, 4, 2, 2])], [True, False]),
    }


CALLS = _table()


def outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def strided(a):
    """A non-contiguous view (every other element of a larger buffer) with a's values."""
    buf = np.zeros(a.shape + (2,), dtype=a.dtype)
    buf[..., 0] = a
    return buf[..., 0]


def negative_strides(a):
    flip = (slice(None, None, -1),) * a.ndim
    return np.ascontiguousarray(a[flip])[flip]


def transposed_view(a):
    """C-order data seen through a transpose: Fortran-like strides, a view."""
    return np.ascontiguousarray(a.T).T


def read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


LAYOUTS = {
    "strided": strided,
    "negative_strides": negative_strides,
    "fortran": np.asfortranarray,
    "transposed_view": transposed_view,
    "read_only": read_only,
}


def _run(name, transform):
    call, arrays, convertible = CALLS[name]
    convertible = convertible or [True] * len(arrays)
    args = [transform(a) if conv else a for a, conv in zip(arrays, convertible)]
    saved = [np.array(a, copy=True) for a in args]
    result = outputs(call(cn(), *args))
    for i, (a, s) in enumerate(zip(args, saved)):
        assert a.dtype == s.dtype and np.array_equal(a, s), f"{name}: argument {i} was modified"
    return result


def _assert_same(got, want, name, rtol, atol_scale):
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{name} output {k}: shape {g.shape} != {w.shape}"
        scale = max(1.0, float(np.max(np.abs(w)))) if w.size else 1.0
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol_scale * scale,
                                   err_msg=f"{name} output {k}")


@pytest.mark.parametrize("name", list(CALLS))
def test_contiguous_float64_matches_reference(name):
    """The baseline of this file agrees with the oracle (so the variants are checked against truth)."""
    call, arrays, _ = CALLS[name]
    got = _run(name, lambda a: a)
    want = outputs(call(ref, *arrays))
    for g in got:
        assert np.asarray(g).dtype == np.float64 or np.ndim(g) == 0
    _assert_same(got, want, name, rtol=1e-10, atol_scale=1e-10)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("name", list(CALLS))
def test_layouts_and_read_only_give_the_same_result(name, layout):
    baseline = _run(name, lambda a: a)
    got = _run(name, LAYOUTS[layout])
    _assert_same(got, baseline, f"{name} [{layout}]", rtol=1e-12, atol_scale=1e-12)


ONE_ARG = [(name, i) for name, (_, arrays, _) in CALLS.items() for i in range(len(arrays))]


@pytest.mark.parametrize("name, index", ONE_ARG, ids=[f"{n}-arg{i}" for n, i in ONE_ARG])
def test_each_argument_alone_strided(name, index):
    """One argument at a time non-contiguous, the others C-contiguous: pins
    down which argument a layout problem comes from."""
    call, arrays, _ = CALLS[name]
    baseline = outputs(call(cn(), *arrays))
    args = list(arrays)
    args[index] = strided(arrays[index])
    _assert_same(outputs(call(cn(), *args)), baseline, f"{name} [argument {index} strided]",
                 rtol=1e-12, atol_scale=1e-12)


@pytest.mark.parametrize("name", list(CALLS))
def test_integer_inputs_become_float64(name):
    baseline = _run(name, lambda a: a)
    got = _run(name, lambda a: a.astype(np.int64))
    for k, g in enumerate(got):
        if np.ndim(g) > 0:
            assert np.asarray(g).dtype == np.float64, f"{name} output {k}: {np.asarray(g).dtype}"
    _assert_same(got, baseline, f"{name} [int64]", rtol=1e-12, atol_scale=1e-12)


@pytest.mark.parametrize("name", list(CALLS))
def test_float32_in_float32_out(name):
    baseline = _run(name, lambda a: a)
    got = _run(name, lambda a: a.astype(np.float32))
    for k, g in enumerate(got):
        if np.ndim(g) > 0:
            assert np.asarray(g).dtype == np.float32, f"{name} output {k}: {np.asarray(g).dtype}"
    _assert_same(got, baseline, f"{name} [float32]", rtol=1e-4, atol_scale=1e-4)


@pytest.mark.parametrize("name", list(CALLS))
def test_outputs_are_new_arrays(name):
    """No output is (a view of) an input: the caller may modify results freely."""
    call, arrays, _ = CALLS[name]
    for out in outputs(call(cn(), *arrays)):
        for a in arrays:
            assert not np.shares_memory(np.asarray(out), a), f"{name}: an output shares memory with an input"


# ----------------------------------------------------------------- empty batch (N = 0)

def test_empty_batch_convolution():
    x = np.zeros((0, 5, 6, 3))
    k, b = np.ones((3, 2, 3, 4)), np.ones(4)
    kw = dict(stride=(2, 1), padding="same", dilation=(1, 2))
    y = cn().conv2d(x, k, b, **kw)
    assert y.shape == (0, 3, 6, 4) and y.dtype == np.float64
    assert cn().conv2d(x.astype(np.float32), k, b, **kw).dtype == np.float32
    dx, dk, db = cn().conv2d_backward(np.zeros((0, 3, 6, 4)), x, k, **kw)
    assert dx.shape == (0, 5, 6, 3)
    np.testing.assert_array_equal(dk, np.zeros((3, 2, 3, 4)))    # a sum over no samples
    np.testing.assert_array_equal(db, np.zeros(4))
    y = cn().conv2d(np.zeros((0, 4, 4, 3)), k, padding="valid")
    assert y.shape == (0, 2, 3, 4)


def test_empty_batch_pooling():
    x = np.zeros((0, 5, 6, 3))
    y = cn().max_pool2d(x, 3, 2, "same")
    assert y.shape == (0, 3, 3, 3)
    assert cn().max_pool2d_backward(np.zeros((0, 3, 3, 3)), x, 3, 2, "same").shape == (0, 5, 6, 3)
    assert cn().max_pool2d(np.zeros((0, 4, 4, 2), np.float32)).dtype == np.float32


def test_empty_batch_dense_relu_softmax():
    x, w, b = np.zeros((0, 5)), np.ones((5, 3)), np.ones(3)
    assert cn().dense(x, w, b).shape == (0, 3)
    dx, dw, db = cn().dense_backward(np.zeros((0, 3)), x, w)
    assert dx.shape == (0, 5)
    np.testing.assert_array_equal(dw, np.zeros((5, 3)))
    np.testing.assert_array_equal(db, np.zeros(3))
    assert cn().relu(np.zeros((0, 4))).shape == (0, 4)
    assert cn().relu_backward(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 4)
    assert cn().softmax(np.zeros((0, 4))).shape == (0, 4)


def test_relu_of_a_scalar_stays_a_scalar():
    # 0-d in, 0-d out, as np.maximum(x, 0): a contiguous copy must not add an axis
    assert cn().relu(-1.5).shape == ()
    assert cn().relu(np.float32(2.0)).dtype == np.float32
    dx = cn().relu_backward(3.0, 1.0)
    assert dx.shape == () and dx == 3.0
    assert cn().relu_backward(3.0, -1.0) == 0.0


def test_empty_batch_batch_norm_infer():
    c = np.ones(3)
    for shape in [(0, 4, 4, 3), (0, 3)]:
        y = cn().batch_norm_infer(np.zeros(shape), c, c, c, c)
        assert y.shape == shape


def test_empty_batch_statistics_are_empty_output_or_clear_error():
    """batch_norm_train / softmax_cross_entropy on N = 0 have no statistic to
    compute; the API contract asks for "an empty output of the right shape", so we
    accept that (whatever the undefined mean/var/loss values) or a ValueError
    that names x / logits -- never a crash or a wrongly shaped output."""
    c = np.ones(3)
    for shape in [(0, 4, 4, 3), (0, 3)]:
        x = np.zeros(shape)
        try:
            y, mean, var = cn().batch_norm_train(x, c, c)
        except ValueError as err:
            assert "x" in str(err)
        else:
            assert y.shape == shape and np.shape(mean) == (3,) and np.shape(var) == (3,)
        try:
            dx, dgamma, dbeta = cn().batch_norm_backward(x, x, c, c, c)
        except ValueError as err:
            assert "x" in str(err)
        else:
            assert dx.shape == shape and np.shape(dgamma) == (3,) and np.shape(dbeta) == (3,)
    try:
        loss, dlogits = cn().softmax_cross_entropy(np.zeros((0, 4)), np.zeros(0, dtype=int))
    except ValueError as err:
        assert "logits" in str(err)
    else:
        assert np.ndim(loss) == 0 and dlogits.shape == (0, 4)


# ----------------------------------------------------------------- zero channels

@pytest.mark.parametrize("C, O", [(0, 2), (3, 0), (0, 0)], ids=["C_in=0", "C_out=0", "both=0"])
def test_zero_channels_forward_and_backward_match_reference(C, O):
    """Zero-sized channel axes are legal shapes: the forward accepts them, so
    the backward must too (sums over nothing are zeros; y is just the bias)."""
    x, kernel, bias = np.ones((2, 4, 4, C)), np.ones((3, 3, C, O)), np.arange(O, dtype=float)
    y = cn().conv2d(x, kernel, bias, padding="same")
    np.testing.assert_array_equal(y, ref.conv2d(x, kernel, bias, padding="same"))
    dy = np.ones(y.shape)
    got = cn().conv2d_backward(dy, x, kernel, padding="same")
    want = ref.conv2d_backward(dy, x, kernel, padding="same")
    for g, w, name in zip(got, want, ("dx", "dkernel", "dbias")):
        assert g.shape == w.shape, name
        np.testing.assert_array_equal(g, w, err_msg=name)


def test_large_outputs_come_from_a_pool_that_never_hands_out_a_live_buffer(monkeypatch):
    """An output of POOL_MIN_BYTES or more is a view of a pooled buffer: never one a live
    array still uses, and a freed buffer goes to the next array that fits in it, even a
    smaller one (a training step's arrays of one size reuse what another size left)."""
    F = importlib.import_module("cnncore.functional")
    monkeypatch.setitem(F._scratch_local.__dict__, "pool", {})
    n = F.POOL_MIN_BYTES // 4                 # float32 values of the smallest pooled array
    big = F._fresh((3, n), np.float32)
    small = F._fresh((n,), np.float32)
    assert not np.shares_memory(big, small)
    where = big.ctypes.data
    del big
    again = F._fresh((2, n), np.float32)      # fits in big's buffer, the only free one
    assert again.ctypes.data == where and again.ctypes.data % 64 == 0
    other = F._fresh((2, n), np.float32)      # while `again` lives: a buffer of its own
    assert not np.shares_memory(other, again) and not np.shares_memory(other, small)
    other[...], again[...], small[...] = 1, 2, 3
    assert (other == 1).all() and (again == 2).all() and (small == 3).all()


# ----------------------------------------------------- matrix products on the thread team

# (m, k, n), each large enough for two threads: split by rows, by columns, one row
# (matrix-vector calls), one column
SPLITS = [(300, 40, 7), (7, 40, 300), (1, 300, 400), (400, 300, 1)]
MATMUL_LAYOUTS = {"C": np.ascontiguousarray, "Fortran": np.asfortranarray,
                  "transposed_view": transposed_view, "strided": strided}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("w_layout", list(MATMUL_LAYOUTS))
@pytest.mark.parametrize("x_layout", list(MATMUL_LAYOUTS))
@pytest.mark.parametrize("m, k, n", SPLITS)
def test_dense_on_two_threads_matches_numpy_for_every_split_and_layout(m, k, n, x_layout,
                                                                      w_layout, dtype):
    """dense and dense_backward run their products as one BLAS call per OpenMP thread on a
    share of the result (a matrix-vector call for one row or column), reading transposed
    operands in place: every way of splitting, on every operand layout, gives NumPy's
    product (dense_backward's w.T and x.T are the transposed operands)."""
    rng = np.random.default_rng(m * 1000 + n)
    x, w = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    dy = rng.standard_normal((m, n)).astype(dtype)
    x64, w64, dy64 = (a.astype(np.float64) for a in (x, w, dy))
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    old = cn().set_num_threads(2)
    try:
        y = cn().dense(MATMUL_LAYOUTS[x_layout](x), MATMUL_LAYOUTS[w_layout](w))
        dx, dw, _ = cn().dense_backward(dy, MATMUL_LAYOUTS[x_layout](x),
                                        MATMUL_LAYOUTS[w_layout](w))
    finally:
        cn().set_num_threads(old)
    np.testing.assert_allclose(y, x64 @ w64, **tol)
    np.testing.assert_allclose(dx, dy64 @ w64.T, **tol)
    np.testing.assert_allclose(dw, x64.T @ dy64, **tol)
