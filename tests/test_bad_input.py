"""Bad input gets a clear error, nothing else (issue 2; docs/conventions.md).

The table below is issue 2's list of bad inputs, one row per case: wrong
ndim, channel mismatch, stride/dilation < 1, negative padding, unknown
padding strings, a kernel larger than the padded input, a pool larger than
the input, bias/gamma/beta/moving-stat shapes that do not match, dy whose
shape is not the forward output's, labels out of range, complex or object
dtypes.  Each must raise ValueError (TypeError for dtypes) whose message
names the argument (the ``match`` regex) and, where the received value is
distinctive, shows it.

A hypothesis fuzz test then throws random shapes, dtypes and arguments at
every function: the only acceptable outcomes are a result or a
ValueError/TypeError (anything else -- another exception, a crash of the
interpreter -- fails).
"""
import importlib
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st


def cn():
    return importlib.import_module("cnncore")


z = np.zeros
X = z((2, 5, 5, 3))            # images (N, H, W, C)
K = z((3, 3, 3, 4))            # kernel (KH, KW, C_in, C_out): VALID output (2, 3, 3, 4)
B = z(4)
DY = z((2, 3, 3, 4))
DYP = z((2, 2, 2, 3))          # max_pool2d(X, 2) output
XB = np.arange(12.0).reshape(4, 3)    # batch-norm input, 3 channels
C3 = np.ones(3)
XD, W, BD, DYD = z((4, 5)), z((5, 3)), z(3), z((4, 3))
LOGITS, LABELS = z((4, 5)), np.array([0, 1, 2, 4])
CPLX = X.astype(np.complex128)
OBJ = X.astype(object)


def row(id, call, exc, match, received=None):
    return pytest.param(call, exc, match, received, id=id)


WORD_X = r"\bx\b"
TABLE = [
    # ---------------------------------------------------------- conv2d
    row("conv2d-x-ndim3", lambda m: m.conv2d(X[0], K), ValueError, WORD_X),
    row("conv2d-x-ndim5", lambda m: m.conv2d(X[None], K), ValueError, WORD_X),
    row("conv2d-kernel-ndim3", lambda m: m.conv2d(X, K[0]), ValueError, "kernel"),
    row("conv2d-channel-mismatch", lambda m: m.conv2d(X, z((3, 3, 2, 4))), ValueError, "kernel"),
    row("conv2d-stride-0", lambda m: m.conv2d(X, K, stride=0), ValueError, "stride"),
    row("conv2d-stride-negative", lambda m: m.conv2d(X, K, stride=-2), ValueError, "stride", "-2"),
    row("conv2d-stride-pair-0", lambda m: m.conv2d(X, K, stride=(1, 0)), ValueError, "stride"),
    row("conv2d-stride-triple", lambda m: m.conv2d(X, K, stride=(1, 1, 1)), ValueError, "stride"),
    row("conv2d-dilation-0", lambda m: m.conv2d(X, K, dilation=0), ValueError, "dilation"),
    row("conv2d-dilation-pair-0", lambda m: m.conv2d(X, K, dilation=(0, 1)), ValueError, "dilation"),
    row("conv2d-padding-negative", lambda m: m.conv2d(X, K, padding=-1), ValueError, "padding"),
    row("conv2d-padding-pair-negative", lambda m: m.conv2d(X, K, padding=(1, -1)), ValueError,
        "padding"),
    row("conv2d-padding-explicit-negative", lambda m: m.conv2d(X, K, padding=((0, 0), (-1, 0))),
        ValueError, "padding"),
    row("conv2d-padding-unknown", lambda m: m.conv2d(X, K, padding="full"), ValueError, "padding",
        "full"),
    row("conv2d-padding-empty-string", lambda m: m.conv2d(X, K, padding=""), ValueError, "padding"),
    row("conv2d-kernel-larger-than-input", lambda m: m.conv2d(z((1, 3, 3, 1)), z((4, 4, 1, 1))),
        ValueError, "kernel"),
    row("conv2d-kernel-larger-one-axis", lambda m: m.conv2d(z((1, 3, 5, 1)), z((4, 2, 1, 1))),
        ValueError, "kernel"),
    row("conv2d-dilated-kernel-larger", lambda m: m.conv2d(z((1, 3, 3, 1)), z((2, 2, 1, 1)), dilation=3),
        ValueError, "kernel"),
    row("conv2d-kernel-larger-than-padded", lambda m: m.conv2d(z((1, 3, 3, 1)), z((6, 6, 1, 1)),
                                                               padding=1), ValueError, "kernel"),
    row("conv2d-bias-shape", lambda m: m.conv2d(X, K, z(5)), ValueError, "bias"),
    row("conv2d-bias-ndim", lambda m: m.conv2d(X, K, z((4, 1))), ValueError, "bias"),
    row("conv2d-x-complex", lambda m: m.conv2d(CPLX, K), TypeError, WORD_X),
    row("conv2d-x-object", lambda m: m.conv2d(OBJ, K), TypeError, WORD_X),
    row("conv2d-kernel-complex", lambda m: m.conv2d(X, K.astype(complex)), TypeError, "kernel"),
    row("conv2d-bias-complex", lambda m: m.conv2d(X, K, B.astype(complex)), TypeError, "bias"),
    row("conv2d-x-strings", lambda m: m.conv2d(X.astype(str), K), TypeError, WORD_X),
    # ---------------------------------------------------------- conv2d_backward
    row("conv2d_backward-dy-rows", lambda m: m.conv2d_backward(z((2, 4, 3, 4)), X, K), ValueError, "dy"),
    row("conv2d_backward-dy-channels", lambda m: m.conv2d_backward(z((2, 3, 3, 5)), X, K),
        ValueError, "dy"),
    row("conv2d_backward-dy-batch", lambda m: m.conv2d_backward(z((1, 3, 3, 4)), X, K), ValueError, "dy"),
    row("conv2d_backward-dy-ndim", lambda m: m.conv2d_backward(DY[0], X, K), ValueError, "dy"),
    row("conv2d_backward-dy-of-other-stride", lambda m: m.conv2d_backward(DY, X, K, stride=2),
        ValueError, "dy"),
    row("conv2d_backward-x-ndim", lambda m: m.conv2d_backward(DY, X[0], K), ValueError, WORD_X),
    row("conv2d_backward-channel-mismatch", lambda m: m.conv2d_backward(DY, X, z((3, 3, 2, 4))),
        ValueError, "kernel"),
    row("conv2d_backward-stride-0", lambda m: m.conv2d_backward(DY, X, K, stride=0), ValueError, "stride"),
    row("conv2d_backward-dilation-0", lambda m: m.conv2d_backward(DY, X, K, dilation=0), ValueError,
        "dilation"),
    row("conv2d_backward-padding-unknown", lambda m: m.conv2d_backward(DY, X, K, padding="full"),
        ValueError, "padding", "full"),
    row("conv2d_backward-padding-negative", lambda m: m.conv2d_backward(DY, X, K, padding=-1),
        ValueError, "padding"),
    row("conv2d_backward-kernel-larger", lambda m: m.conv2d_backward(z((1, 1, 1, 1)), z((1, 3, 3, 1)),
                                                                     z((4, 4, 1, 1))), ValueError, "kernel"),
    row("conv2d_backward-dy-complex", lambda m: m.conv2d_backward(DY.astype(complex), X, K), TypeError,
        "dy"),
    # ---------------------------------------------------------- max pooling
    row("max_pool2d-x-ndim3", lambda m: m.max_pool2d(X[0]), ValueError, WORD_X),
    row("max_pool2d-pool-0", lambda m: m.max_pool2d(X, 0), ValueError, "pool_size"),
    row("max_pool2d-pool-negative", lambda m: m.max_pool2d(X, -2), ValueError, "pool_size"),
    row("max_pool2d-pool-pair-0", lambda m: m.max_pool2d(X, (2, 0)), ValueError, "pool_size"),
    row("max_pool2d-pool-larger-than-input", lambda m: m.max_pool2d(z((1, 3, 3, 1)), 4), ValueError,
        r"pool[_ ]size|\bpool\b"),
    row("max_pool2d-pool-larger-one-axis", lambda m: m.max_pool2d(z((1, 3, 3, 1)), (1, 4)), ValueError,
        r"pool[_ ]size|\bpool\b"),
    row("max_pool2d-stride-0", lambda m: m.max_pool2d(X, 2, 0), ValueError, "stride"),
    row("max_pool2d-stride-pair-negative", lambda m: m.max_pool2d(X, 2, (1, -1)), ValueError, "stride"),
    row("max_pool2d-padding-unknown", lambda m: m.max_pool2d(X, 2, padding="full"), ValueError,
        "padding", "full"),
    row("max_pool2d-padding-negative", lambda m: m.max_pool2d(X, 2, padding=-1), ValueError, "padding"),
    row("max_pool2d-x-complex", lambda m: m.max_pool2d(CPLX), TypeError, WORD_X),
    row("max_pool2d-x-object", lambda m: m.max_pool2d(OBJ), TypeError, WORD_X),
    row("max_pool2d_backward-dy-shape", lambda m: m.max_pool2d_backward(z((2, 3, 2, 3)), X), ValueError,
        "dy"),
    row("max_pool2d_backward-dy-channels", lambda m: m.max_pool2d_backward(z((2, 2, 2, 4)), X),
        ValueError, "dy"),
    row("max_pool2d_backward-dy-ndim", lambda m: m.max_pool2d_backward(DYP[0], X), ValueError, "dy"),
    row("max_pool2d_backward-pool-0", lambda m: m.max_pool2d_backward(DYP, X, 0), ValueError,
        "pool_size"),
    row("max_pool2d_backward-dy-complex", lambda m: m.max_pool2d_backward(DYP.astype(complex), X),
        TypeError, "dy"),
    # ---------------------------------------------------------- batch normalization
    row("batch_norm_train-x-ndim1", lambda m: m.batch_norm_train(C3, C3, C3), ValueError, WORD_X),
    row("batch_norm_train-gamma-shape", lambda m: m.batch_norm_train(XB, np.ones(4), C3), ValueError,
        "gamma"),
    row("batch_norm_train-gamma-ndim", lambda m: m.batch_norm_train(XB, np.ones((3, 1)), C3), ValueError,
        "gamma"),
    row("batch_norm_train-beta-shape", lambda m: m.batch_norm_train(XB, C3, np.ones(2)), ValueError,
        "beta"),
    row("batch_norm_train-conv-gamma-shape",
        lambda m: m.batch_norm_train(X, np.ones(5), np.ones(3)), ValueError, "gamma"),
    row("batch_norm_train-x-complex", lambda m: m.batch_norm_train(XB.astype(complex), C3, C3),
        TypeError, WORD_X),
    row("batch_norm_train-x-object", lambda m: m.batch_norm_train(XB.astype(object), C3, C3),
        TypeError, WORD_X),
    row("batch_norm_train-gamma-complex", lambda m: m.batch_norm_train(XB, C3.astype(complex), C3),
        TypeError, "gamma"),
    row("batch_norm_infer-moving_mean-shape",
        lambda m: m.batch_norm_infer(XB, C3, C3, np.ones(4), C3), ValueError, "moving_mean"),
    row("batch_norm_infer-moving_var-shape",
        lambda m: m.batch_norm_infer(XB, C3, C3, C3, np.ones(2)), ValueError, "moving_var"),
    row("batch_norm_infer-gamma-shape", lambda m: m.batch_norm_infer(XB, np.ones(2), C3, C3, C3),
        ValueError, "gamma"),
    row("batch_norm_infer-beta-shape", lambda m: m.batch_norm_infer(XB, C3, np.ones(4), C3, C3),
        ValueError, "beta"),
    row("batch_norm_infer-x-ndim1", lambda m: m.batch_norm_infer(C3, C3, C3, C3, C3), ValueError, WORD_X),
    row("batch_norm_infer-x-complex", lambda m: m.batch_norm_infer(XB.astype(complex), C3, C3, C3, C3),
        TypeError, WORD_X),
    row("batch_norm_backward-dy-shape", lambda m: m.batch_norm_backward(z((4, 2)), XB, C3, C3, C3),
        ValueError, "dy"),
    row("batch_norm_backward-dy-rows", lambda m: m.batch_norm_backward(z((5, 3)), XB, C3, C3, C3),
        ValueError, "dy"),
    row("batch_norm_backward-gamma-shape",
        lambda m: m.batch_norm_backward(XB, XB, np.ones(2), C3, C3), ValueError, "gamma"),
    row("batch_norm_backward-mean-shape", lambda m: m.batch_norm_backward(XB, XB, C3, np.ones(2), C3),
        ValueError, r"\bmean\b"),
    row("batch_norm_backward-var-shape", lambda m: m.batch_norm_backward(XB, XB, C3, C3, np.ones(4)),
        ValueError, r"\bvar\b"),
    row("batch_norm_backward-dy-complex",
        lambda m: m.batch_norm_backward(XB.astype(complex), XB, C3, C3, C3), TypeError, "dy"),
    row("update_moving_stats-mean-shape",
        lambda m: m.update_moving_stats(C3, C3, np.ones(4), C3), ValueError, r"\bmean\b"),
    row("update_moving_stats-var-shape",
        lambda m: m.update_moving_stats(C3, C3, C3, np.ones(2)), ValueError, r"\bvar\b"),
    row("update_moving_stats-moving_var-shape",
        lambda m: m.update_moving_stats(C3, np.ones(2), C3, C3), ValueError, "moving_var"),
    row("update_moving_stats-complex",
        lambda m: m.update_moving_stats(C3.astype(complex), C3, C3, C3), TypeError, "moving_mean"),
    # ---------------------------------------------------------- dense, relu, softmax
    row("dense-x-ndim1", lambda m: m.dense(z(5), W), ValueError, WORD_X),
    row("dense-x-ndim3", lambda m: m.dense(z((4, 5, 1)), W), ValueError, WORD_X),
    row("dense-w-ndim1", lambda m: m.dense(XD, z(5)), ValueError, r"\bw\b"),
    row("dense-features-mismatch", lambda m: m.dense(XD, z((6, 3))), ValueError, r"\bw\b"),
    row("dense-b-shape", lambda m: m.dense(XD, W, z(4)), ValueError, r"\bb\b"),
    row("dense-x-complex", lambda m: m.dense(XD.astype(complex), W), TypeError, WORD_X),
    row("dense-w-object", lambda m: m.dense(XD, W.astype(object)), TypeError, r"\bw\b"),
    row("dense_backward-dy-shape", lambda m: m.dense_backward(z((4, 2)), XD, W), ValueError, "dy"),
    row("dense_backward-dy-rows", lambda m: m.dense_backward(z((3, 3)), XD, W), ValueError, "dy"),
    row("dense_backward-features-mismatch", lambda m: m.dense_backward(DYD, XD, z((6, 3))), ValueError,
        r"\bw\b"),
    row("relu-x-complex", lambda m: m.relu(CPLX), TypeError, WORD_X),
    row("relu-x-object", lambda m: m.relu(OBJ), TypeError, WORD_X),
    row("relu_backward-dy-shape", lambda m: m.relu_backward(z((2, 3)), z((3, 2))), ValueError, "dy"),
    row("relu_backward-dy-complex", lambda m: m.relu_backward(CPLX, X), TypeError, "dy"),
    row("softmax-axis-too-large", lambda m: m.softmax(LOGITS, axis=2), ValueError, "axis"),
    row("softmax-axis-too-small", lambda m: m.softmax(LOGITS, axis=-3), ValueError, "axis"),
    row("softmax-x-complex", lambda m: m.softmax(LOGITS.astype(complex)), TypeError, WORD_X),
    row("softmax_cross_entropy-label-equal-K",
        lambda m: m.softmax_cross_entropy(LOGITS, np.array([0, 1, 2, 5])), ValueError, "labels", "5"),
    row("softmax_cross_entropy-label-negative",
        lambda m: m.softmax_cross_entropy(LOGITS, np.array([0, -1, 2, 3])), ValueError, "labels", "-1"),
    row("softmax_cross_entropy-labels-length",
        lambda m: m.softmax_cross_entropy(LOGITS, np.array([0, 1, 2])), ValueError, "labels"),
    row("softmax_cross_entropy-labels-ndim",
        lambda m: m.softmax_cross_entropy(LOGITS, LABELS[:, None]), ValueError, "labels"),
    row("softmax_cross_entropy-labels-float",
        lambda m: m.softmax_cross_entropy(LOGITS, np.array([0.0, 1.5, 2.0, 3.0])), (ValueError, TypeError),
        "labels"),
    row("softmax_cross_entropy-logits-ndim1", lambda m: m.softmax_cross_entropy(z(5), np.array([0])),
        ValueError, "logits"),
    row("softmax_cross_entropy-logits-ndim3",
        lambda m: m.softmax_cross_entropy(z((4, 5, 1)), LABELS), ValueError, "logits"),
    row("softmax_cross_entropy-logits-complex",
        lambda m: m.softmax_cross_entropy(LOGITS.astype(complex), LABELS), TypeError, "logits"),
    # ---------------------------------------------------------- output size / padding of one axis
    row("conv_output_size-stride-0", lambda m: m.conv_output_size(5, 3, 0), ValueError, "stride"),
    row("conv_output_size-dilation-0", lambda m: m.conv_output_size(5, 3, 1, "valid", 0), ValueError,
        "dilation"),
    row("conv_output_size-kernel-0", lambda m: m.conv_output_size(5, 0), ValueError, "kernel"),
    row("conv_output_size-padding-unknown", lambda m: m.conv_output_size(5, 3, 1, "full"), ValueError,
        "padding", "full"),
    row("conv_output_size-padding-negative", lambda m: m.conv_output_size(5, 3, 1, -1), ValueError,
        "padding"),
    row("conv_output_size-kernel-larger", lambda m: m.conv_output_size(2, 3), ValueError, "kernel"),
    row("conv_padding-stride-negative", lambda m: m.conv_padding(5, 3, -1, "same"), ValueError, "stride"),
    row("conv_padding-padding-unknown", lambda m: m.conv_padding(5, 3, 1, "half"), ValueError, "padding",
        "half"),
    row("conv_padding-dilation-0", lambda m: m.conv_padding(5, 3, 1, "same", 0), ValueError, "dilation"),
]


@pytest.mark.parametrize("call, exc, match, received", TABLE)
def test_bad_input_raises_a_clear_error(call, exc, match, received):
    with pytest.raises(exc, match=match) as info:
        call(cn())
    if received is not None:
        assert received in str(info.value), f"the message does not show the received {received!r}: {info.value}"


def test_bad_input_leaves_inputs_untouched():
    x = np.arange(75.0).reshape(1, 5, 5, 3)
    saved = x.copy()
    with pytest.raises(ValueError):
        cn().conv2d(x, z((3, 3, 2, 4)))
    np.testing.assert_array_equal(x, saved)


# ============================================================= fuzz: never a crash

FUZZ_DTYPES = [np.float32, np.float64, np.int64, np.int8, np.uint8, np.bool_, np.complex64, object,
               np.float16]


@st.composite
def fuzz_arrays(draw, ndim_choices, dims=st.integers(0, 4)):
    ndim = draw(st.sampled_from(ndim_choices))
    shape = tuple(draw(dims) for _ in range(ndim))
    dtype = draw(st.sampled_from(FUZZ_DTYPES))
    special = draw(st.sampled_from(["normal", "normal", "normal", "nan", "inf", "noncontig"]))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    a = rng.normal(0, 2, shape)
    if special == "nan" and a.size:
        a.reshape(-1)[0] = np.nan
    if special == "inf" and a.size:
        a.reshape(-1)[-1] = -np.inf
    if dtype is not object and np.dtype(dtype).kind in "iub":
        a = np.nan_to_num(a, nan=0, posinf=0, neginf=0)
    a = a.astype(dtype)
    if special == "noncontig" and a.ndim:
        a = np.repeat(a, 2, axis=-1)[..., ::2]
    return a


ints_or_pairs = st.one_of(st.integers(-1, 4), st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
                          st.sampled_from([None, 1.5, "2", (1, 1, 1), (), True]))
fuzz_padding = st.one_of(
    st.sampled_from(["valid", "same", "VALID", "Same", "full", "", None, 1.0, (1,), ((1,), (2,)),
                     ((0, 1), (2, 0)), ((0, -1), (0, 0)), [1, 2], [[1, 0], [0, 1]]]),
    st.integers(-1, 3), st.tuples(st.integers(-1, 3), st.integers(-1, 3)))


@st.composite
def fuzz_calls(draw):
    """A random call of one function: mostly the right ranks, random sizes, dtypes and args."""
    img = fuzz_arrays([4, 4, 4, 3, 5])
    vec = fuzz_arrays([1, 1, 1, 0, 2])
    mat = fuzz_arrays([2, 2, 2, 1, 3])
    bn_x = fuzz_arrays([2, 4, 1])
    name = draw(st.sampled_from([
        "conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward", "batch_norm_train",
        "batch_norm_infer", "batch_norm_backward", "update_moving_stats", "dense", "dense_backward",
        "relu", "relu_backward", "softmax", "softmax_cross_entropy", "conv_output_size",
        "conv_padding"]))
    window = dict(stride=draw(ints_or_pairs), padding=draw(fuzz_padding))
    if name == "conv2d":
        args = (draw(img), draw(img), draw(st.one_of(st.none(), vec)))
        kwargs = dict(window, dilation=draw(ints_or_pairs))
    elif name == "conv2d_backward":
        args = (draw(img), draw(img), draw(img))
        kwargs = dict(window, dilation=draw(ints_or_pairs))
    elif name == "max_pool2d":
        args = (draw(img),)
        kwargs = dict(window, pool_size=draw(ints_or_pairs))
    elif name == "max_pool2d_backward":
        args = (draw(img), draw(img))
        kwargs = dict(window, pool_size=draw(ints_or_pairs))
    elif name == "batch_norm_train":
        args, kwargs = (draw(bn_x), draw(vec), draw(vec)), {}
    elif name == "batch_norm_infer":
        args, kwargs = (draw(bn_x), draw(vec), draw(vec), draw(vec), draw(vec)), {}
    elif name == "batch_norm_backward":
        args, kwargs = (draw(bn_x), draw(bn_x), draw(vec), draw(vec), draw(vec)), {}
    elif name == "update_moving_stats":
        args = (draw(vec), draw(vec), draw(vec), draw(vec))
        kwargs = dict(momentum=draw(st.sampled_from([0.99, 0.0, 1.0, -0.5, 2.0, float("nan")])))
    elif name in ("dense",):
        args, kwargs = (draw(mat), draw(mat), draw(st.one_of(st.none(), vec))), {}
    elif name == "dense_backward":
        args, kwargs = (draw(mat), draw(mat), draw(mat)), {}
    elif name == "relu":
        args, kwargs = (draw(fuzz_arrays([0, 1, 2, 3, 4])),), {}
    elif name == "relu_backward":
        args, kwargs = (draw(mat), draw(mat)), {}
    elif name == "softmax":
        args = (draw(fuzz_arrays([0, 1, 2, 3])),)
        kwargs = dict(axis=draw(st.one_of(st.integers(-4, 4), st.sampled_from([None, 1.0]))))
    elif name == "softmax_cross_entropy":
        args = (draw(mat), draw(st.one_of(
            st.lists(st.integers(-2, 5), max_size=5).map(np.array), vec)))
        kwargs = {}
    else:   # conv_output_size, conv_padding
        args = (draw(st.integers(-1, 8)), draw(st.integers(-1, 5)))
        kwargs = dict(window, dilation=draw(st.one_of(st.integers(-1, 3), st.sampled_from([1.5, None]))))
        if isinstance(kwargs["stride"], tuple):
            kwargs["stride"] = 1
    return name, args, kwargs


def _unchanged(a, saved):
    if a.dtype != saved.dtype or a.shape != saved.shape:
        return False
    if a.dtype == object:                       # same objects in the same places
        return all(u is v for u, v in zip(a.flat, saved.flat))
    return np.array_equal(a, saved, equal_nan=a.dtype.kind in "fc")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=fuzz_calls())
def test_fuzz_result_or_clear_error(call):
    name, args, kwargs = call
    saved = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
    try:
        result = getattr(cn(), name)(*args, **kwargs)
    except (ValueError, TypeError) as err:
        # a clear error: from cnncore's own checks, naming the function, not a raw
        # Cython/NumPy message
        assert str(err), f"{name}: empty error message"
        event(f"{name}: {type(err).__name__}")
        return
    finally:
        for a, s in zip(args, saved):
            if isinstance(a, np.ndarray):
                assert _unchanged(a, s), f"{name} modified an input"
    event(f"{name}: result")
    for out in (result if isinstance(result, tuple) else (result,)):
        if isinstance(out, np.ndarray):
            assert out.dtype in (np.float32, np.float64) or name in ("conv_padding",), (name, out.dtype)


def test_error_messages_come_from_cnncore_checks():
    """Errors name the function and what was received (Keras style), not a raw
    message from a compiled kernel."""
    with pytest.raises(ValueError) as info:
        cn().conv2d(X, K, stride=0)
    assert re.search(r"conv2d", str(info.value))
    assert re.search(r"stride", str(info.value))


# ============================================================= fuzz: consistent shapes, degenerate sizes

@st.composite
def degenerate_geometries(draw):
    """Shapes that fit together (so calls reach the compiled kernels) but with
    zero-sized axes, huge strides and paddings, and any number of threads."""
    return dict(N=draw(st.integers(0, 2)), H=draw(st.integers(0, 6)), W=draw(st.integers(0, 6)),
                C=draw(st.integers(0, 3)), O=draw(st.integers(0, 3)),
                KH=draw(st.integers(0, 4)), KW=draw(st.integers(0, 4)),
                stride=draw(st.tuples(st.integers(1, 9), st.integers(1, 9))),
                dilation=draw(st.tuples(st.integers(1, 5), st.integers(1, 5))),
                padding=draw(st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 6),
                                       st.tuples(st.tuples(st.integers(0, 6), st.integers(0, 6)),
                                                 st.tuples(st.integers(0, 6), st.integers(0, 6))))),
                dtype=draw(st.sampled_from(["float32", "float64", "int64"])),
                threads=draw(st.integers(1, 3)), seed=draw(st.integers(0, 1000)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=degenerate_geometries())
def test_fuzz_degenerate_sizes_reach_kernels_safely(g):
    """Result or ValueError, never a crash; when both cnncore and the oracle
    give a result, they agree (no garbage from uninitialised memory)."""
    import reference as ref
    lib = cn()
    rng = np.random.default_rng(g["seed"])
    x = rng.integers(-3, 4, (g["N"], g["H"], g["W"], g["C"])).astype(g["dtype"])
    kernel = rng.integers(-3, 4, (g["KH"], g["KW"], g["C"], g["O"])).astype(g["dtype"])
    bias = rng.integers(-3, 4, g["O"]).astype(g["dtype"])
    kw = dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"])
    old = lib.set_num_threads(g["threads"])
    functional = importlib.import_module("cnncore.functional")
    old_serial, functional.SERIAL_WORK = functional.SERIAL_WORK, 0  # threads even when tiny
    try:
        for call, args in [("conv2d", (x, kernel, bias)), ("max_pool2d", (x,))]:
            ckw = kw if call == "conv2d" else dict(pool_size=(max(g["KH"], 1), max(g["KW"], 1)),
                                                   stride=g["stride"],
                                                   padding=g["padding"] if isinstance(g["padding"], str)
                                                   else "valid")
            try:
                y = getattr(lib, call)(*args, **ckw)
            except ValueError:
                event(f"{call}: ValueError")
                continue
            event(f"{call}: result")
            dy = rng.integers(-3, 4, y.shape).astype(y.dtype)
            try:
                back = getattr(lib, call + "_backward")(dy, *args[:2 if call == "conv2d" else 1], **ckw)
            except ValueError as err:
                # allowed by the contract, though the forward accepted the same arguments
                event(f"{call}_backward: ValueError after a forward result: {str(err)[:60]}")
                continue
            try:
                want = getattr(ref, call)(*args, **ckw)
                want_back = getattr(ref, call + "_backward")(dy, *args[:2 if call == "conv2d" else 1], **ckw)
            except (ValueError, AssertionError, IndexError):
                continue                          # the oracle does not define this degenerate case
            np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-4, err_msg=call)
            for got_, want_ in zip(back if isinstance(back, tuple) else (back,),
                                   want_back if isinstance(want_back, tuple) else (want_back,)):
                np.testing.assert_allclose(got_, want_, rtol=1e-5, atol=1e-4, err_msg=call + "_backward")
        xb = x.reshape(g["N"] * g["H"] * g["W"], g["C"])
        c = np.ones(g["C"], dtype=g["dtype"])
        try:
            out = lib.batch_norm_train(xb, c, c)
            lib.batch_norm_backward(xb, xb, c, out[1], out[2])
            lib.batch_norm_infer(x, c, c, c * 0, c)
            event("batch_norm: result")
        except ValueError:
            event("batch_norm: ValueError")
    finally:
        lib.set_num_threads(old)
        functional.SERIAL_WORK = old_serial


@pytest.mark.parametrize("bad", ["a", None, True, [1e-3, 1e-3], object()])
def test_scalar_arguments_that_are_not_numbers_are_named(bad):
    x, g, b = np.ones((4, 3)), np.ones(3), np.zeros(3)
    for call in (lambda: cn().batch_norm_train(x, g, b, eps=bad),
                 lambda: cn().batch_norm_infer(x, g, b, b, g, eps=bad),
                 lambda: cn().batch_norm_backward(x, x, g, b, g, eps=bad)):
        with pytest.raises(TypeError, match=r"`eps` must be a real number\. Received: eps="):
            call()
    with pytest.raises(TypeError, match=r"update_moving_stats: `momentum` must be a real number"):
        cn().update_moving_stats(b, g, b, g, momentum=bad)
    assert cn().batch_norm_train(x, g, b, eps=np.float32(1e-3))[0].shape == x.shape   # NumPy scalars are fine


# ============================================================= conversions name their argument
# Every int(), float(), np.asarray(), np.dtype() of an argument of the public API (layers,
# models, training, weights) goes through cnncore._checks: the error names the argument and
# what was received, never NumPy's or Python's own message alone.

def small_model(m, **kwargs):
    return m.vgg("vgg11", num_classes=3, input_shape=(32, 32, 3), width=1 / 16, fc_units=8,
                 **kwargs)


def built_dense(m):
    layer = m.layers.Dense(2)
    layer.build((3,))
    return layer


IMAGES, IDS = z((2, 32, 32, 3)), np.zeros(2, int)
RAGGED = [[0.0], [1.0, 2.0]]

CONVERSIONS = [
    row("Conv2D-filters-str", lambda m: m.layers.Conv2D("8"), TypeError, "`filters`"),
    row("Conv2D-filters-0", lambda m: m.layers.Conv2D(0), ValueError, "`filters`"),
    row("Conv2D-kernel_size-str", lambda m: m.layers.Conv2D(8, "3"), TypeError, "`kernel_size`"),
    row("Conv2D-strides-0", lambda m: m.layers.Conv2D(8, 3, strides=(1, 0)), ValueError,
        "`strides`"),
    row("Conv2D-dilation-float", lambda m: m.layers.Conv2D(8, 3, dilation_rate=1.5), TypeError,
        "`dilation_rate`"),
    row("Conv2D-padding-float", lambda m: m.layers.Conv2D(8, 3, padding=1.5), ValueError,
        "`padding`"),
    row("Conv2D-padding-unknown", lambda m: m.layers.Conv2D(8, 3, padding="full"), ValueError,
        "`padding`"),
    row("Conv2D-initializer", lambda m: m.layers.Conv2D(8, kernel_initializer="ones"), ValueError,
        "kernel_initializer"),
    row("Dense-units-float", lambda m: m.layers.Dense(2.5), TypeError, "`units`"),
    row("BatchNorm-momentum-str", lambda m: m.layers.BatchNorm(momentum="a"), TypeError,
        "`momentum`"),
    row("BatchNorm-epsilon-None", lambda m: m.layers.BatchNorm(epsilon=None), TypeError,
        "`epsilon`"),
    row("MaxPool2D-pool_size-str", lambda m: m.layers.MaxPool2D("2"), TypeError, "`pool_size`"),
    row("MaxPool2D-strides-0", lambda m: m.layers.MaxPool2D(2, 0), ValueError, "`strides`"),
    row("Dropout-rate-str", lambda m: m.layers.Dropout("a"), TypeError, "`rate`"),
    row("Dropout-seed-str", lambda m: m.layers.Dropout(0.5, seed="a"), TypeError, "`seed`"),
    row("Dropout-seed-negative", lambda m: m.layers.Dropout(0.5, seed=-1), ValueError, "`seed`"),
    row("Softmax-axis-float", lambda m: m.layers.Softmax(axis=1.0), TypeError, "`axis`"),
    row("Layer.build-input_shape", lambda m: m.layers.Dense(2).build("ab"), ValueError,
        "`input_shape`"),
    row("Layer.build-dtype", lambda m: m.layers.Dense(2).build((3,), dtype="int8"), TypeError,
        "`dtype`"),
    row("Layer.set_weights-ragged", lambda m: built_dense(m).set_weights([RAGGED, z(2)]), TypeError,
        "`kernel`"),
    row("Layer.set_weights-not-a-list", lambda m: built_dense(m).set_weights(5), TypeError,
        "`weights`"),
    row("Sequential-dtype", lambda m: m.Sequential([], dtype="half"), TypeError, "`dtype`"),
    row("Sequential-seed", lambda m: m.Sequential([], seed="a"), TypeError, "`seed`"),
    row("Sequential-layers", lambda m: m.Sequential(5), TypeError, "`layers`"),
    row("Sequential-input_shape", lambda m: m.Sequential([m.layers.Flatten()], input_shape="ab"),
        ValueError, "`input_shape`"),
    row("model-x-ragged", lambda m: small_model(m)(RAGGED), TypeError, "`x`"),
    row("model-set_weights", lambda m: small_model(m).set_weights(3), TypeError, "`weights`"),
    row("model-backward-dloss-ragged",
        lambda m: (lambda s: (s.forward(IMAGES), s.backward(RAGGED)))(small_model(m)), TypeError,
        "`dloss`"),
    row("vgg-width-inf", lambda m: m.vgg11(input_shape=(32, 32, 3), width=float("inf")), ValueError,
        "width"),
    row("vgg-bn_momentum", lambda m: m.vgg11(input_shape=(32, 32, 3), bn_momentum="a"), TypeError,
        "`bn_momentum`"),
    row("vgg-dtype", lambda m: m.vgg11(input_shape=(32, 32, 3), dtype="int32"), TypeError, "dtype"),
    row("fit-seed", lambda m: m.training.fit(small_model(m), IMAGES, IDS, seed="a", verbose=False),
        TypeError, "`seed`"),
    row("fit-seed-None", lambda m: m.training.fit(small_model(m), IMAGES, IDS, seed=None,
                                                  verbose=False), TypeError, "`seed`"),
    row("fit-labels-ragged", lambda m: m.training.fit(small_model(m), IMAGES, [[0], [1, 2]],
                                                      verbose=False), TypeError, "`y`"),
    row("fit-validation_data", lambda m: m.training.fit(small_model(m), IMAGES, IDS,
                                                        validation_data=IMAGES, verbose=False),
        ValueError, "`validation_data`"),
    row("fit-lr_schedule", lambda m: m.training.fit(small_model(m), IMAGES, IDS, verbose=False,
                                                    lr_schedule=lambda epoch: "fast"),
        TypeError, r"`lr_schedule\(epoch\)`"),
    row("evaluate-batch_size-0", lambda m: m.training.evaluate(small_model(m), IMAGES, IDS, 0),
        ValueError, "`batch_size`"),
    row("evaluate-batch_size-str", lambda m: m.training.evaluate(small_model(m), IMAGES, IDS, "8"),
        TypeError, "`batch_size`"),
    row("SGD-learning_rate-str", lambda m: m.training.SGD("0.1"), ValueError, "learning_rate"),
    row("SGD.step-grads-shape", lambda m: m.training.SGD().step([z(3)], [z(2)]), ValueError,
        r"`grads\[0\]`"),
    row("SGD.step-grads-ragged", lambda m: m.training.SGD().step([z(2)], [RAGGED]), TypeError,
        r"`grads\[0\]`"),
    row("cosine_schedule-base_lr", lambda m: m.training.cosine_schedule("a", 10), TypeError,
        "`base_lr`"),
    row("cosine_schedule-epochs", lambda m: m.training.cosine_schedule(0.1, 2.5), TypeError,
        "`epochs`"),
    row("save_weights-path", lambda m: m.weights.save_weights(small_model(m), 5), TypeError,
        "`path`"),
    row("load_weights-path", lambda m: small_model(m).load_weights(None), TypeError, "`path`"),
    row("load_weights-model", lambda m: m.weights.load_weights("model", "w.npz"), TypeError,
        "`model`"),
    row("to_torchvision_state_dict-model", lambda m: m.weights.to_torchvision_state_dict(object()),
        TypeError, "`model`"),
    row("read_state_dict-source", lambda m: m.weights.read_state_dict(5), TypeError, "`source`"),
    row("adaptive_avg_pool_matrix-size", lambda m: m.weights.adaptive_avg_pool_matrix(7.0, 7),
        TypeError, "`size`"),
    row("adaptive_avg_pool_matrix-out", lambda m: m.weights.adaptive_avg_pool_matrix(14, 0),
        ValueError, "`out`"),
    row("softmax_cross_entropy-labels-ragged",
        lambda m: m.softmax_cross_entropy(LOGITS, [[0], [1, 2]]), TypeError, "`labels`"),
]


@pytest.mark.parametrize("call, exc, match, received", CONVERSIONS)
def test_conversion_errors_name_the_argument(call, exc, match, received):
    with pytest.raises(exc, match=match) as info:
        call(cn())
    assert "Received" in str(info.value), str(info.value)


# ============================================================= channels-first input (NCHW)
# cnncore is channels-last.  An error whose shapes read as NCHW says so; NCHW input that
# runs (it is valid channels-last input too) gets a warning where the shape is a strong
# signal; valid channels-last input never gets either.

HINT = "cnncore is channels-last (N, H, W, C); did you pass NCHW?"
NCHW, NHWC = z((2, 3, 8, 8)), z((2, 8, 8, 3))


def built(layer, input_shape):
    layer.build(input_shape)
    return layer


NCHW_ERRORS = [
    row("conv2d-x", lambda m: m.conv2d(NCHW, z((3, 3, 3, 4))), ValueError, "x.transpose", HINT),
    row("conv2d-torch-kernel", lambda m: m.conv2d(NHWC, z((4, 3, 5, 5))), ValueError,
        r"kernel.transpose\(2, 3, 1, 0\)", "PyTorch kernel"),
    row("conv2d-x-and-torch-kernel", lambda m: m.conv2d(NCHW, z((4, 3, 5, 5))), ValueError,
        r"x.transpose.*kernel.transpose", HINT),
    row("conv2d_backward-x", lambda m: m.conv2d_backward(z((2, 6, 6, 4)), NCHW, z((3, 3, 3, 4))),
        ValueError, "x.transpose", HINT),
    row("conv2d_backward-dy", lambda m: m.conv2d_backward(z((2, 4, 6, 6)), NHWC, z((3, 3, 3, 4))),
        ValueError, "dy.transpose", HINT),
    row("batch_norm_train-x", lambda m: m.batch_norm_train(NCHW, np.ones(3), z(3)), ValueError,
        "`gamma`.*x.transpose", HINT),
    row("batch_norm_infer-x",
        lambda m: m.batch_norm_infer(NCHW, np.ones(3), z(3), z(3), np.ones(3)),
        ValueError, "`gamma`.*x.transpose", HINT),
    row("batch_norm_backward-dy", lambda m: m.batch_norm_backward(NCHW, NHWC, np.ones(3), z(3),
                                                                  np.ones(3)),
        ValueError, "dy.transpose", HINT),
    row("max_pool2d-valid-window", lambda m: m.max_pool2d(z((2, 1, 28, 28)), 2), ValueError,
        "`pool_size`.*x.transpose", HINT),
    row("max_pool2d_backward-x-and-dy", lambda m: m.max_pool2d_backward(z((2, 3, 4, 4)), NCHW),
        ValueError, "`x` and `dy`", HINT),
    row("max_pool2d_backward-dy", lambda m: m.max_pool2d_backward(z((2, 3, 4, 4)), NHWC),
        ValueError, "dy.transpose", HINT),
    row("relu_backward-dy", lambda m: m.relu_backward(NCHW, NHWC), ValueError, "dy.transpose",
        HINT),
    row("Conv2D-layer-forward", lambda m: built(m.layers.Conv2D(4), (8, 8, 3))(NCHW), ValueError,
        "x.transpose", HINT),
    row("BatchNorm-layer-forward", lambda m: built(m.layers.BatchNorm(), (8, 8, 3))(NCHW),
        ValueError, "x.transpose", HINT),
    row("Conv2D-layer-build", lambda m: m.layers.Conv2D(4, 5).build((3, 32, 32)), ValueError,
        r"Conv2D.*\(H, W, C\): \(32, 32, 3\)", HINT),
    row("MaxPool2D-layer-build", lambda m: m.layers.MaxPool2D(4).build((3, 32, 32)), ValueError,
        r"MaxPool2D.*\(H, W, C\): \(32, 32, 3\)", HINT),
    row("model-input", lambda m: small_model(m)(z((2, 3, 32, 32))), ValueError, "x.transpose",
        HINT),
    row("vgg-input_shape", lambda m: m.vgg19(input_shape=(3, 224, 224)), ValueError,
        r"\(224, 224, 3\)", HINT),
]


@pytest.mark.parametrize("call, exc, match, hint", NCHW_ERRORS)
def test_errors_on_nchw_input_say_cnncore_is_channels_last(call, exc, match, hint):
    with pytest.raises(exc, match=match) as info:
        call(cn())
    message = str(info.value)
    assert hint in message, message
    assert message.index(hint) < message.index("Received: "), "the hint comes before Received"


NO_HINT = [
    row("conv2d-channel-mismatch", lambda m: m.conv2d(X, z((3, 3, 2, 4))), ValueError, "kernel"),
    row("conv2d-wrong-C_in-3x3", lambda m: m.conv2d(NHWC, z((3, 3, 2, 4))), ValueError, "kernel"),
    row("batch_norm-dense-gamma", lambda m: m.batch_norm_train(XB, np.ones(4), C3), ValueError,
        "gamma"),
    row("max_pool2d-pool-larger", lambda m: m.max_pool2d(z((1, 3, 3, 1)), 4), ValueError, "pool"),
    row("conv2d_backward-dy-rows", lambda m: m.conv2d_backward(z((2, 4, 3, 4)), X, K), ValueError,
        "dy"),
    row("max_pool2d_backward-dy-shape", lambda m: m.max_pool2d_backward(z((2, 3, 2, 3)), X),
        ValueError, "dy"),
]


@pytest.mark.parametrize("call, exc, match, received", NO_HINT)
def test_no_nchw_hint_without_a_sign_of_nchw(call, exc, match, received):
    with pytest.raises(exc, match=match) as info:
        call(cn())
    assert "NCHW" not in str(info.value)


def test_nchw_images_that_run_get_a_warning_and_the_channels_last_result():
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32))
    with pytest.warns(UserWarning, match=re.escape(HINT)) as record:
        y = cn().max_pool2d(x, 2)
    assert record[0].filename == __file__            # points at the caller, not at cnncore
    np.testing.assert_array_equal(y, x[:, :2].reshape(2, 1, 2, 16, 2, 32).max(axis=(2, 4)))
    shape_hint = r"\(H, W, C\): \(32, 32, 3\), not \(3, 32, 32\)"
    with pytest.warns(UserWarning, match=shape_hint) as record:
        model = cn().Sequential([cn().layers.Conv2D(4, 3, padding="same")], input_shape=(3, 32, 32))
    assert record[0].filename == __file__
    assert model.output_shape == (3, 32, 4)


@pytest.mark.parametrize("shape", [(2, 2, 2, 512), (2, 4, 4, 512), (2, 32, 32, 3), (2, 1, 28, 1),
                                   (2, 3, 32, 16), (2, 2, 16, 16), (0, 3, 2, 2)])
def test_channels_last_input_gets_no_warning(shape):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cn().max_pool2d(z(shape), (1, 2) if shape[1] < 2 else 2)
        cn().Sequential([cn().layers.Flatten()], input_shape=shape[1:])


@pytest.mark.parametrize("kind, shape", [("Conv2D", (1, 6, 6, 3)), ("Dense", (2, 3)),
                                         ("BatchNorm", (2, 3))])
def test_a_layer_with_weights_run_before_build_says_so(kind, shape):
    m = cn()
    layer = getattr(m.layers, kind)(4, 3) if kind == "Conv2D" else (
        m.layers.Dense(3) if kind == "Dense" else m.layers.BatchNorm())
    x = np.ones(shape)
    with pytest.raises(ValueError, match=r"is not built: call its build\(input_shape\) first"):
        layer(x)
    layer.build(shape[1:])
    assert layer(x).shape[0] == shape[0]
