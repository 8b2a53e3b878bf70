"""Compiled reference kernels for convolutional networks.

Functional API (channels-last, Keras conventions; see "Conventions",
docs/conventions.md in the documentation):
convolution forward and backward, max pooling, batch normalization for
training and inference, dense, ReLU, softmax and cross-entropy.  On top of
it: layers and models (``cnncore.vgg19``), training, weight interchange.

Images are ``(N, H, W, C)``, kernels ``(KH, KW, C_in, C_out)``.  float32 and
float64 both work: a result has the dtype of the data input (integers
become float64) and the other arrays (kernel, bias, weights, ``dy``) are cast
to it; any other dtype is a TypeError naming the argument.  The kernels run
on ``cnncore.get_num_threads()`` threads; ``cnncore.show_config()`` prints
which code runs on this CPU.

Examples
--------
>>> import numpy as np
>>> import cnncore
>>> x = np.ones((8, 32, 32, 3), dtype=np.float32)     # 8 RGB images, channels-last
>>> k = np.ones((3, 3, 3, 16), dtype=np.float32)      # 16 filters of 3x3x3
>>> y = cnncore.conv2d(x, k, stride=2, padding="same")
>>> y.shape, y.dtype
((8, 16, 16, 16), dtype('float32'))
>>> cnncore.max_pool2d(cnncore.relu(y)).shape
(8, 8, 8, 16)
"""
import os

# OpenMP threads that finish a parallel loop spin a while, waiting for the next,
# then sleep. GNU OpenMP spins 300 000 times (about 3 ms) by default; cnncore
# asks for 30 000 (about 0.3 ms): enough to catch the next loop of a call or of
# the next layer, short enough that its idle threads do not hold the cores long
# from NumPy's BLAS threads when code alternates the two (cnncore's own matrix
# products run on its OpenMP threads). Read when the OpenMP runtime loads, so it
# must be set before the extensions are imported; either variable in the
# environment (e.g. OMP_WAIT_POLICY=PASSIVE: sleep at once) takes precedence.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "30000"

try:
    from . import _batchnorm, _conv, _elementwise, _pool  # noqa: F401  (the compiled kernels)
except ImportError as err:  # pragma: no cover - exercised by the build-guard test
    raise ImportError(
        "cnncore's compiled extensions are not built, so cnncore cannot be imported "
        f"({err}). Install the package with `pip install .` (or `pip install -e .` for "
        "development) from the repository root; this compiles the Cython kernels."
    ) from err

from ._isa import show_config
from ._threads import get_num_threads, set_num_threads
from .functional import (batch_norm_backward, batch_norm_infer, batch_norm_train, conv2d,
                         conv2d_backward, conv_output_size, conv_padding, dense, dense_backward,
                         max_pool2d, max_pool2d_backward, relu, relu_backward, softmax,
                         softmax_cross_entropy, update_moving_stats)

from . import layers, models, training, weights  # noqa: E402  (above the functional API)
from .models import VGG, VGG_CONFIGS, Sequential, vgg, vgg11, vgg13, vgg16, vgg19  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "conv_output_size", "conv_padding", "conv2d", "conv2d_backward",
    "max_pool2d", "max_pool2d_backward",
    "batch_norm_train", "batch_norm_infer", "batch_norm_backward", "update_moving_stats",
    "dense", "dense_backward", "relu", "relu_backward", "softmax", "softmax_cross_entropy",
    "get_num_threads", "set_num_threads", "show_config",
    "layers", "models", "training", "weights",
    "Sequential", "VGG", "VGG_CONFIGS", "vgg", "vgg11", "vgg13", "vgg16", "vgg19",
]
