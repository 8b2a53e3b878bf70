"""The dtype rule of the functional API, on every public function.

The rule: results have the dtype of the data input (``x``, also for the
backward functions; ``logits`` for softmax_cross_entropy; ``moving_mean``
for update_moving_stats): float32 stays float32, float64 stays float64,
integers become float64.  Every other array argument (kernel, bias, gamma,
beta, statistics, w, b, dy) is cast to that dtype, so a float64 kernel with
a float32 ``x`` computes in float32, as a Keras layer computes in its own
dtype.  Any other dtype (complex, bool, object, strings, float16) is a
TypeError naming the argument.

Each mixed call is compared with the same call made with every array
already in the data input's dtype: in float64 the two are the same
computation, bit for bit; in float32 they agree to float32 rounding (batch
normalization folds a float64 gamma or variance into its float64 scale
before rounding it, so a float64 parameter may move the last bit).
"""
from dataclasses import dataclass, field

import numpy as np
import pytest

import cnncore


@dataclass
class Call:
    func: str                       # the name in cnncore
    args: list                      # [(argument name, float64 array)], positional order
    data: str = "x"                 # the argument whose dtype the results take
    kwargs: dict = field(default_factory=dict)
    fixed: tuple = ()               # arguments outside the rule (integer class ids)

    def run(self, arrays):
        return outputs(getattr(cnncore, self.func)(*arrays, **self.kwargs))

    def names(self):
        return [name for name, _ in self.args]


def _calls():
    rng = np.random.default_rng(20240609)

    def r(*shape):
        return rng.standard_normal(shape)

    def pos(*shape):
        return rng.uniform(0.5, 2.0, shape)

    conv = dict(stride=(2, 1), padding="same", dilation=(1, 2))
    pool = dict(pool_size=3, stride=2, padding="same")
    x4, kernel = r(2, 5, 6, 3), r(3, 2, 3, 4)
    xc, xd = r(3, 4, 4, 3), r(6, 3)
    return {
        "conv2d": Call("conv2d", [("x", x4), ("kernel", kernel), ("bias", r(4))], kwargs=conv),
        "conv2d_relu": Call("conv2d", [("x", x4), ("kernel", kernel), ("bias", r(4))],
                            kwargs=dict(conv, relu=True)),
        "conv2d_backward": Call("conv2d_backward",
                                [("dy", r(2, 3, 6, 4)), ("x", x4), ("kernel", kernel)],
                                kwargs=conv),
        "conv2d_backward_no_dx": Call("conv2d_backward",
                                      [("dy", r(2, 3, 6, 4)), ("x", x4), ("kernel", kernel)],
                                      kwargs=dict(conv, input_grad=False)),
        "max_pool2d": Call("max_pool2d", [("x", x4)], kwargs=pool),
        "max_pool2d_backward": Call("max_pool2d_backward", [("dy", r(2, 3, 3, 3)), ("x", x4)],
                                    kwargs=pool),
        "batch_norm_train_conv": Call("batch_norm_train",
                                      [("x", xc), ("gamma", pos(3)), ("beta", r(3))]),
        "batch_norm_train_dense": Call("batch_norm_train",
                                       [("x", xd), ("gamma", pos(3)), ("beta", r(3))]),
        "batch_norm_infer": Call("batch_norm_infer",
                                 [("x", xc), ("gamma", pos(3)), ("beta", r(3)),
                                  ("moving_mean", r(3)), ("moving_var", pos(3))]),
        "batch_norm_backward": Call("batch_norm_backward",
                                    [("dy", r(3, 4, 4, 3)), ("x", xc), ("gamma", pos(3)),
                                     ("mean", xc.mean(axis=(0, 1, 2))),
                                     ("var", xc.var(axis=(0, 1, 2)))]),
        "update_moving_stats": Call("update_moving_stats",
                                    [("moving_mean", r(3)), ("moving_var", pos(3)),
                                     ("mean", r(3)), ("var", pos(3))],
                                    data="moving_mean", kwargs=dict(momentum=0.9)),
        "dense": Call("dense", [("x", r(4, 5)), ("w", r(5, 3)), ("b", r(3))]),
        "dense_backward": Call("dense_backward", [("dy", r(4, 3)), ("x", r(4, 5)), ("w", r(5, 3))]),
        "relu": Call("relu", [("x", r(3, 4, 2, 2))]),
        "relu_backward": Call("relu_backward", [("dy", r(3, 4, 2, 2)), ("x", r(3, 4, 2, 2))]),
        "softmax": Call("softmax", [("x", r(4, 5))], kwargs=dict(axis=0)),
        "softmax_cross_entropy": Call("softmax_cross_entropy",
                                      [("logits", r(4, 5)), ("labels", np.array([0, 4, 2, 2]))],
                                      data="logits", fixed=("labels",)),
    }


CALLS = _calls()


def test_every_public_function_is_covered():
    from cnncore import functional
    assert {c.func for c in CALLS.values()} == set(functional.__all__) - {
        "conv_output_size", "conv_padding"}       # no arrays: ints in, ints out


def outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def cast_args(call):
    """The arguments the rule casts to the data input's dtype."""
    return [n for n in call.names() if n != call.data and n not in call.fixed]


def assert_dtype(results, dtype, what):
    for k, out in enumerate(results):
        if out is None:                         # conv2d_backward's dx with input_grad=False
            continue
        if isinstance(out, float):              # softmax_cross_entropy's mean loss
            continue
        assert isinstance(out, np.ndarray), f"{what}: output {k} is a {type(out).__name__}"
        assert out.dtype == dtype, f"{what}: output {k} is {out.dtype}, expected {dtype}"


def assert_same_values(got, want, dtype, what):
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        if w is None:
            assert g is None, f"{what}: output {k}"
            continue
        if dtype == np.float64:
            np.testing.assert_array_equal(g, w, err_msg=f"{what}: output {k}")
        else:
            scale = max(1.0, float(np.max(np.abs(w)))) if np.size(w) else 1.0
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5 * scale,
                                       err_msg=f"{what}: output {k}")


def run_variant(call, dtypes):
    """The call with each argument in ``dtypes[name]`` (absent: float64), and the same call
    with every argument the rule covers converted first to the data input's resulting dtype."""
    arrays = []
    for name, a in call.args:
        dtype = dtypes.get(name)
        if dtype is not None and np.dtype(dtype).kind == "i":
            a = np.rint(2 * a)                  # integer arguments hold integers
        arrays.append(a if dtype is None else a.astype(dtype))
    data = arrays[call.names().index(call.data)]
    expect = np.dtype(np.float64) if data.dtype.kind == "i" else data.dtype
    uniform = [a if name in call.fixed else a.astype(expect)
               for name, a in zip(call.names(), arrays)]
    return call.run(arrays), call.run(uniform), expect


OTHER = {np.float32: np.float64, np.float64: np.float32}
MIXED = [(name, x_dtype, arg) for name, call in CALLS.items() for x_dtype in OTHER
         for arg in (["all"] + cast_args(call) if cast_args(call) else [])]


@pytest.mark.parametrize("name, x_dtype, arg", MIXED,
                         ids=[f"{n}-{np.dtype(d).name}-{a}" for n, d, a in MIXED])
def test_mixed_float_dtypes_follow_the_data_input(name, x_dtype, arg):
    """float32 data with float64 parameters gives float32, and the other way round: the
    parameters (one at a time, then all) are cast to the data input's dtype."""
    call = CALLS[name]
    changed = cast_args(call) if arg == "all" else [arg]
    dtypes = {call.data: x_dtype, **{n: OTHER[x_dtype] for n in changed}}
    got, want, expect = run_variant(call, dtypes)
    what = f"{name}: {call.data} {np.dtype(x_dtype).name}, {', '.join(changed)} " \
           f"{np.dtype(OTHER[x_dtype]).name}"
    assert expect == x_dtype
    assert_dtype(got, expect, what)
    assert_same_values(got, want, expect, what)


@pytest.mark.parametrize("x_dtype", list(OTHER), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", [n for n, c in CALLS.items() if cast_args(c)])
def test_integer_parameters_are_cast_to_the_data_dtype(name, x_dtype):
    """Integer parameters do not pull a float32 call to float64."""
    call = CALLS[name]
    got, want, expect = run_variant(
        call, {call.data: x_dtype, **{n: np.int64 for n in cast_args(call)}})
    assert expect == x_dtype
    assert_dtype(got, expect, f"{name}: integer parameters")
    assert_same_values(got, want, expect, f"{name}: integer parameters")


@pytest.mark.parametrize("name", list(CALLS))
def test_integer_data_input_gives_float64(name):
    """Integer data becomes float64, even with float32 parameters."""
    call = CALLS[name]
    got, want, expect = run_variant(
        call, {call.data: np.int64, **{n: np.float32 for n in cast_args(call)}})
    assert expect == np.float64
    assert_dtype(got, expect, f"{name}: integer {call.data}")
    assert_same_values(got, want, expect, f"{name}: integer {call.data}")


BATCHED = ["conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward",
           "batch_norm_train_conv", "batch_norm_backward", "dense", "dense_backward",
           "relu_backward", "softmax_cross_entropy"]


@pytest.mark.parametrize("x_dtype", list(OTHER), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", BATCHED)
def test_empty_batch_keeps_the_data_dtype(name, x_dtype):
    """N = 0 takes shortcuts in the code; the rule holds there too."""
    call = CALLS[name]
    batch_args = {"dy", call.data} | set(call.fixed)
    arrays = []
    for arg, a in call.args:
        if arg in batch_args:
            a = a[:0]
        arrays.append(a if arg in call.fixed else a.astype(x_dtype if arg == call.data
                                                           else OTHER[x_dtype]))
    assert_dtype(call.run(arrays), np.dtype(x_dtype), f"{name}: empty batch")


def _bad(a, kind):
    return {"complex": lambda: a.astype(np.complex128),
            "bool": lambda: a > 0,
            "object": lambda: a.astype(object),
            "str": lambda: a.astype(str),
            "float16": lambda: a.astype(np.float16)}[kind]()


BAD_KINDS = ["complex", "bool", "object", "str", "float16"]
BAD = [(name, arg, kind) for name, call in CALLS.items() for arg in call.names()
       for kind in BAD_KINDS]


@pytest.mark.parametrize("name, arg, kind", BAD, ids=[f"{n}-{a}-{k}" for n, a, k in BAD])
def test_other_dtypes_are_a_type_error_naming_the_argument(name, arg, kind):
    call = CALLS[name]
    arrays = [_bad(a, kind) if n == arg else a for n, a in call.args]
    with pytest.raises(TypeError) as err:
        call.run(arrays)
    message = str(err.value)
    assert f"`{arg}`" in message and "Received:" in message, message


@pytest.mark.parametrize("func", ["relu", "relu_backward"])
def test_out_takes_the_data_dtype(func):
    """``out`` is written, not read: it must already have the data input's dtype (integer x:
    float64), and another dtype is refused rather than cast."""
    x = np.array([[-1, 2], [3, -4]])                    # integers: the results are float64
    args = (np.ones((2, 2), np.float32), x) if func == "relu_backward" else (x,)
    out = np.empty((2, 2))
    assert getattr(cnncore, func)(*args, out=out) is out
    assert out.dtype == np.float64
    with pytest.raises(ValueError, match="`out`"):
        getattr(cnncore, func)(*args, out=np.empty((2, 2), np.float32))


def test_a_float64_kernel_does_not_promote_float32_images():
    """The case of the issue: float32 images, float64 kernel and bias -> float32, equal to the
    float32 computation (so the kernel is rounded to float32, not the result)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    kernel, bias = rng.standard_normal((3, 3, 3, 5)), rng.standard_normal(5)
    y = cnncore.conv2d(x, kernel, bias, padding="same")
    assert y.dtype == np.float32
    np.testing.assert_array_equal(
        y, cnncore.conv2d(x, kernel.astype(np.float32), bias.astype(np.float32), padding="same"))
