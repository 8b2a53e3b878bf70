"""Bad input gets a clear error, nothing else (issue 2, DESIGN.md).

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
