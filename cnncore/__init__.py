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

# OpenMP threads that finish a parallel loop sleep at once instead of spinning
# (GNU OpenMP spins by default). cnncore alternates its own OpenMP loops with
# NumPy's OpenBLAS threads (dense layers, the BLAS convolution path); spinning
# threads of one pool then steal the cores from the other: a small VGG trained
# 6x slower on 2 threads than on 1. Read when the OpenMP runtime loads, so it
# must be set before the extensions are imported; OMP_WAIT_POLICY=ACTIVE in the
# environment keeps the spinning.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
