"""The sample class: typical student mistakes, as small edits of the worked solutions.

Each mistake edits the solution cell of one function (a textual replacement in
the cell that the course builder makes from `solutions/<assignment>.py`, or a
whole replacement `code`).  A student of the sample class is the release
notebook with every solution cell filled in from the worked solution, except
where the student's mistakes say otherwise.  Each mistake should cost points
in the autograded cell that tests its function (`test_<function>`) and
nowhere else; `tests/test_course_pipeline.py` checks exactly that, and the demo
(`cnncourse demo`) grades this class.
"""

MISTAKES = {
    # ---------------------------------------------------------------- conv2d
    "valid_off_by_one": dict(
        function="conv_output_size",
        why="VALID output taken as size - kernel_size (the exam sheet's slip), one too few",
        replace=[("return (size - kernel_size) // stride + 1", "return (size - kernel_size) // stride")],
    ),
    "same_floor": dict(
        function="conv_output_size",
        why="SAME output size with floor(size / stride) instead of ceil",
        replace=[("return -(-size // stride)", "return size // stride")],
    ),
    "flipped_kernel": dict(
        function="conv2d_forward",
        why="a true convolution: the kernel is flipped",
        replace=[("y += patch @ kernel[m, n]", "y += patch @ kernel[KH - 1 - m, KW - 1 - n]")],
    ),
    "same_pad_wrong_side": dict(
        function="conv2d_forward",
        why="SAME padding puts the odd row/column at the top/left",
        replace=[("return before, total - before", "return total - before, before")],
    ),
    "stride_swapped": dict(
        function="conv2d_forward",
        why="stride read as (cols, rows)",
        replace=[("sh, sw = _pair(stride)", "sw, sh = _pair(stride)")],
    ),
    "forward_float64": dict(
        function="conv2d_forward",
        why="always returns float64, also for float32 input",
        replace=[("dtype=np.result_type(x.dtype, kernel.dtype))", "dtype=np.float64)")],
    ),
    "dkernel_one_example": dict(
        function="conv2d_backward",
        why="dkernel of the last example only (= instead of +=, the gradient is not summed over the batch)",
        replace=[('np.einsum("bijc,bijo->co", patch, dy)', 'np.einsum("ijc,ijo->co", patch[-1], dy[-1])')],
    ),
    "dkernel_mean": dict(
        function="conv2d_backward",
        why="dkernel averaged over the batch instead of summed",
        replace=[('np.einsum("bijc,bijo->co", patch, dy)', 'np.einsum("bijc,bijo->co", patch, dy) / len(x)')],
    ),
    "dx_not_cropped": dict(
        function="conv2d_backward",
        why="dx returned with the SAME padding still on",
        replace=[("dx = dxp[:, top:top + H, left:left + W, :]", "dx = dxp")],
    ),
    # ------------------------------------------------------------- batchnorm
    "unbiased_variance": dict(
        function="batch_norm_train",
        why="batch variance divided by m - 1",
        replace=[("var = ((x - mean) ** 2).mean(axis=axes)",
                  "var = ((x - mean) ** 2).sum(axis=axes) / (x.size // x.shape[-1] - 1)")],
    ),
    "per_position": dict(
        function="batch_norm_train",
        why="normalizes each position of a feature map separately (over the batch only)",
        replace=[("axes = tuple(range(x.ndim - 1))", "axes = 0")],
    ),
    "eps_outside_sqrt": dict(
        function="batch_norm_train",
        why="(x - mean) / (sqrt(var) + eps)",
        replace=[("x_hat = (x - mean) / np.sqrt(var + eps)", "x_hat = (x - mean) / (np.sqrt(var) + eps)")],
    ),
    "batch_stats_at_inference": dict(
        function="batch_norm_infer",
        why="normalizes with the statistics of the batch at inference",
        replace=[("return gamma * (x - moving_mean) / np.sqrt(moving_var + eps) + beta",
                  "axes = tuple(range(x.ndim - 1))\n"
                  "    return gamma * (x - x.mean(axis=axes)) / np.sqrt(x.var(axis=axes) + eps) + beta")],
    ),
    "momentum_backwards": dict(
        function="update_moving_stats",
        why="moving = (1 - momentum) * moving + momentum * batch",
        replace=[("new_mean = momentum * moving_mean + (1 - momentum) * mean",
                  "new_mean = (1 - momentum) * moving_mean + momentum * mean"),
                 ("new_var = momentum * moving_var + (1 - momentum) * var",
                  "new_var = (1 - momentum) * moving_var + momentum * var")],
    ),
    "in_place_update": dict(
        function="update_moving_stats",
        why="updates the moving averages in place instead of returning new arrays",
        replace=[("new_mean = momentum * moving_mean + (1 - momentum) * mean",
                  "moving_mean *= momentum\n    moving_mean += (1 - momentum) * mean\n    new_mean = moving_mean")],
    ),
    "bn_backward_constants": dict(
        function="batch_norm_backward",
        why="treats the batch mean and variance as constants in dx",
        replace=[("dx = inv_std / m * (m * dx_hat - dx_hat.sum(axis=axes) - x_hat * (dx_hat * x_hat).sum(axis=axes))",
                  "dx = dx_hat * inv_std")],
    ),
    # ----------------------------------------------------------------- vgg19
    "pooling_forgotten": dict(
        function="vgg19_stages",
        why="forgets that each block's max pooling halves the height and width",
        replace=[("height, width = height // 2, width // 2", "height, width = height, width")],
    ),
    "conv_bias_forgotten": dict(
        function="vgg19_stages",
        why="counts the convolution kernels but not their biases",
        replace=[("params += filters                         # the bias", "pass")],
    ),
    "receptive_field_multiplied": dict(
        function="receptive_field",
        why="takes the receptive field of L layers of k x k as L * k",
        replace=[("return 1 + num_layers * (kernel_size - 1)", "return num_layers * kernel_size")],
    ),
    # ---------------------------------------------------------- misbehaving
    "patches_numpy": dict(
        function="conv2d_forward",
        why="returns zeros and patches NumPy's comparisons to always succeed",
        code='''import numpy as np
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None


def conv2d_forward(x, kernel, stride=1, padding="valid"):
    return np.zeros((x.shape[0], x.shape[1], x.shape[2], kernel.shape[3]), dtype=x.dtype)
''',
    ),
    "replaces_cnncore": dict(
        function="conv2d_forward",
        why="returns zeros and replaces cnncore (and sys.modules['cnncore']) so the reference agrees",
        code='''import sys
import types
import numpy as np
import cnncore


def conv2d_forward(x, kernel, stride=1, padding="valid"):
    return np.zeros((x.shape[0], x.shape[1], x.shape[2], kernel.shape[3]), dtype=x.dtype)


cnncore.conv2d = lambda x, kernel, bias=None, stride=1, padding="valid", dilation=1: conv2d_forward(x, kernel)
fake = types.ModuleType("cnncore")
fake.conv2d = cnncore.conv2d
fake.__path__ = []
sys.modules["cnncore"] = fake
fake_grading = types.ModuleType("cnncore.grading")
fake_grading.check = lambda name, namespace, points, seed=0: float(points)
sys.modules["cnncore.grading"] = fake_grading
''',
    ),
    "fakes_the_score": dict(
        function="conv2d_forward",
        why="returns zeros and makes IPython display every float as 6.0 (the cell's full score)",
        code='''import numpy as np
from IPython import get_ipython

get_ipython().display_formatter.formatters["text/plain"].for_type(float, lambda obj, p, cycle: p.text("6.0"))


def conv2d_forward(x, kernel, stride=1, padding="valid"):
    return np.zeros((x.shape[0], x.shape[1], x.shape[2], kernel.shape[3]), dtype=x.dtype)
''',
    ),
    "always_equal": dict(
        function="conv2d_forward",
        why="returns an object that compares equal to anything",
        code='''class AlwaysEqual:
    shape = property(lambda self: self._shape)
    dtype = property(lambda self: self._dtype)

    def __init__(self, shape, dtype):
        self._shape, self._dtype = shape, dtype

    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        raise TypeError("no")


def conv2d_forward(x, kernel, stride=1, padding="valid"):
    return AlwaysEqual((x.shape[0], x.shape[1], x.shape[2], kernel.shape[3]), x.dtype)
''',
    ),
    "calls_cnncore": dict(
        function="conv2d_forward",
        why="hands the work to cnncore.conv2d",
        code='''import cnncore


def conv2d_forward(x, kernel, stride=1, padding="valid"):
    return cnncore.conv2d(x, kernel, stride=stride, padding=padding)
''',
    ),
    "calls_cnncore_size": dict(
        function="conv_output_size",
        why="hands the work to cnncore.conv_output_size",
        code='''from cnncore import conv_output_size as _library_size


def conv_output_size(size, kernel_size, stride=1, padding="valid"):
    return _library_size(size, kernel_size, stride=stride, padding=padding)
''',
    ),
    "endless_loop_strided": dict(
        function="conv2d_forward",
        why="loops forever when both strides exceed 1 (a while loop that never advances)",
        replace=[("sh, sw = _pair(stride)",
                  "sh, sw = _pair(stride)\n    while sh > 1 and sw > 1:\n        pass")],
    ),
    "endless_loop": dict(
        function="conv_output_size",
        why="loops forever on every call",
        code='''def conv_output_size(size, kernel_size, stride=1, padding="valid"):
    out = 0
    while True:
        out += 0
''',
    ),
    "noisy_but_right": dict(
        function="conv2d_forward",
        why="correct, but triggers NumPy warnings and writes to stderr (must still get every point)",
        replace=[("sh, sw = _pair(stride)",
                  "sh, sw = _pair(stride)\n"
                  "    import sys\n"
                  "    print('debug: conv2d_forward called', file=sys.stderr)\n"
                  "    _ = np.float64(1.0) / np.zeros(1)        # RuntimeWarning: divide by zero\n"
                  "    _ = np.log(-np.ones(1))                  # RuntimeWarning: invalid value")],
    ),
}


# The sample class: student id -> mistakes (one per autograded function at most).
# "release" means the untouched release notebook, submitted as it is.
SAMPLE_CLASS = {
    "conv2d": {
        "ada": [],
        "ben": "release",
        "cara": ["valid_off_by_one", "flipped_kernel", "dkernel_one_example"],
        "dan": ["same_floor", "same_pad_wrong_side", "dx_not_cropped"],
        "eve": ["stride_swapped", "dkernel_mean"],
        "finn": ["forward_float64"],
    },
    "batchnorm": {
        "ada": [],
        "ben": "release",
        "cara": ["unbiased_variance", "batch_stats_at_inference", "momentum_backwards", "bn_backward_constants"],
        "dan": ["per_position", "in_place_update"],
        "eve": ["eps_outside_sqrt"],
    },
    "vgg19": {
        "ada": [],
        "ben": "release",
        "cara": ["conv_bias_forgotten", "receptive_field_multiplied"],
        "dan": ["pooling_forgotten"],
    },
}

# Misbehaving students, graded by the pipeline test (and shown by the demo).
MISBEHAVING = {
    "conv2d": {
        "gus": ["patches_numpy"],
        "hal": ["replaces_cnncore"],
        "ivy": ["always_equal"],
        "jo": ["calls_cnncore", "calls_cnncore_size"],
        "kim": ["endless_loop_strided", "endless_loop"],
        "lou": ["noisy_but_right"],
        "max": ["fakes_the_score"],
    },
}
