"""Layers: objects that hold parameters and their gradients.

Each layer wraps functions of the public functional API (``cnncore.functional``)
and keeps what its backward pass needs; its ``forward`` and ``backward`` sit side
by side.  Nothing here calls the compiled modules directly.

Conventions (as everywhere in cnncore, and as in Keras):

* activations are channels-last, ``(N, H, W, C)``; dense activations ``(N, F)``;
* a convolution kernel is ``(KH, KW, C_in, C_out)``, a dense weight ``(F_in, F_out)``;
* ``get_weights()`` lists a layer's arrays in Keras order: conv kernel, bias (if
  any); batch-norm gamma, beta, moving_mean, moving_var; dense w, b.

A layer is built once for an input shape (without the batch axis) by
``build(input_shape, rng, dtype)``, which creates its parameters and returns the
output shape.  ``forward(x, training=False)`` computes the output and remembers
what ``backward(dy)`` needs; ``backward`` stores the parameter gradients in
``layer.grads`` (overwriting, not accumulating) and returns the gradient with
respect to the layer's input.
"""
import math
import re

import numpy as np

from . import functional as F

__all__ = [
    "Layer",
    "Conv2D",
    "BatchNorm",
    "ReLU",
    "MaxPool2D",
    "Flatten",
    "Dense",
    "Dropout",
    "Softmax",
]


# ----------------------------------------------------------------------------
# helpers


def _pair(value, what):
    """An int or a (rows, cols) pair of positive ints, as a tuple."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        try:
            pair = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            pair = ()
        if len(pair) != 2 or any(isinstance(v, bool) for v in value):
            raise ValueError(
                f"{what} must be a positive int or a (rows, cols) pair of positive ints. "
                f"Received: {what}={value!r}"
            )
    if pair[0] < 1 or pair[1] < 1:
        raise ValueError(
            f"{what} must be a positive int or a (rows, cols) pair of positive ints. "
            f"Received: {what}={value!r}"
        )
    return pair


def _explicit_padding(padding, size, kernel, stride, dilation):
    """((top, bottom), (left, right)) for any padding form the functional API accepts."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("valid", "same"):
            raise ValueError(
                f'padding must be "valid", "same", an int, a (ph, pw) pair or '
                f"((top, bottom), (left, right)). Received: padding={padding!r}"
            )
        return tuple(
            tuple(int(p) for p in F.conv_padding(size[i], kernel[i], stride[i], mode, dilation[i]))
            for i in range(2)
        )
    try:
        if isinstance(padding, (int, np.integer)):
            p = int(padding)
            pads = ((p, p), (p, p))
        elif all(isinstance(v, (int, np.integer)) for v in padding) and len(padding) == 2:
            pads = ((int(padding[0]),) * 2, (int(padding[1]),) * 2)
        else:
            (t, b), (l, r) = padding
            pads = ((int(t), int(b)), (int(l), int(r)))
    except (TypeError, ValueError):
        pads = None
    if pads is None or min(min(p) for p in pads) < 0:
        raise ValueError(
            f'padding must be "valid", "same", a non-negative int, a (ph, pw) pair or '
            f"((top, bottom), (left, right)). Received: padding={padding!r}"
        )
    return pads


def _window_output(size, kernel, stride, dilation, pads, layer, what="kernel"):
    """Output side of a sliding window; ValueError when the window does not fit."""
    padded = size + pads[0] + pads[1]
    span = (kernel - 1) * dilation + 1
    if span > padded:
        raise ValueError(
            f"Layer {layer.name!r}: the {what} (extent {span}) is larger than the padded input "
            f"(side {padded}). Received: input shape {_shape_str(layer.input_shape)}"
        )
    return (padded - span) // stride + 1


def _shape_str(shape):
    if shape is None:
        return "None"
    return "(" + ", ".join(["None"] + [str(s) for s in shape]) + ")"


def _initialize(rng, shape, dtype, kind, fan_in, fan_out):
    """Random weights without a float64 temporary of the whole array."""
    if kind == "he_normal":
        w = rng.standard_normal(shape, dtype=dtype)
        w *= dtype.type(math.sqrt(2.0 / fan_in))
    elif kind == "glorot_uniform":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        w = rng.random(shape, dtype=dtype)
        w *= dtype.type(2.0 * limit)
        w -= dtype.type(limit)
    elif kind == "zeros":
        w = np.zeros(shape, dtype=dtype)
    else:
        raise ValueError(
            f'kernel_initializer must be "he_normal", "glorot_uniform" or "zeros". '
            f"Received: kernel_initializer={kind!r}"
        )
    return w


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# ----------------------------------------------------------------------------
# base class


class Layer:
    """Base class: parameters in ``params``, gradients in ``grads``.

    Subclasses set ``weight_names`` (every weight, Keras order) and
    ``trainable_names`` (the subset that gradients and optimizers touch).
    """

    weight_names = ()
    trainable_names = ()

    def __init__(self, name=None):
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string. Received: name={name!r}")
        self.name = name
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self.dtype = None
        self.params = {}
        self.grads = {}
        self._cache = None

    # -- building ------------------------------------------------------------
    def build(self, input_shape, rng=None, dtype="float32"):
        """Create the parameters for ``input_shape`` (no batch axis); return the output shape."""
        self.input_shape = tuple(int(s) for s in input_shape)
        self.dtype = np.dtype(dtype)
        if rng is None:
            rng = np.random.default_rng(0)
        self.output_shape = tuple(self._build(self.input_shape, rng))
        self.built = True
        return self.output_shape

    def _build(self, input_shape, rng):
        return input_shape

    # -- computing -----------------------------------------------------------
    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def __call__(self, x, training=False):
        return self.forward(x, training=training)

    def clear_cache(self):
        """Forget what the last forward kept for backward."""
        self._cache = None

    def _need_cache(self):
        if self._cache is None:
            raise RuntimeError(
                f"Layer {self.name!r}: backward() needs a forward() first (the cache is empty)."
            )
        return self._cache

    # -- weights -------------------------------------------------------------
    @property
    def weights(self):
        """The weight arrays themselves (not copies), Keras order."""
        return [self.params[n] for n in self.weight_names if n in self.params]

    def weight_items(self):
        """(name, array) pairs, Keras order."""
        return [(n, self.params[n]) for n in self.weight_names if n in self.params]

    def get_weights(self):
        """Copies of the weights, Keras order."""
        return [w.copy() for w in self.weights]

    def check_weights(self, weights, where=None):
        """Validate a list for ``set_weights``; return the converted arrays (nothing applied)."""
        where = where or f"layer {self.name!r}"
        names = [n for n, _ in self.weight_items()]
        weights = list(weights)
        if len(weights) != len(names):
            raise ValueError(
                f"{where} expects {len(names)} weight arrays ({', '.join(names) or 'none'}). "
                f"Received: {len(weights)} arrays"
            )
        out = []
        for name, new in zip(names, weights):
            old = self.params[name]
            arr = np.asarray(new)
            if arr.dtype.kind not in "fiu":
                raise TypeError(
                    f"{where}: weight {name!r} must be a real numeric array. "
                    f"Received: dtype {arr.dtype}"
                )
            if arr.shape != old.shape:
                raise ValueError(
                    f"{where}: weight {name!r} must have shape {old.shape}. "
                    f"Received: shape {arr.shape}"
                )
            out.append(np.array(arr, dtype=self.dtype, copy=True))
        return out

    def _assign(self, arrays):
        for (name, _), arr in zip(self.weight_items(), arrays):
            self.params[name] = arr
        self.grads = {}

    def set_weights(self, weights):
        """Replace the weights (checked first: on error nothing changes)."""
        self._assign(self.check_weights(weights))

    # -- bookkeeping -----------------------------------------------------------
    def parameters(self):
        """Trainable arrays (the objects themselves), Keras order."""
        return [self.params[n] for n in self.trainable_names if n in self.params]

    def gradients(self):
        """Gradients of the trainable arrays from the last backward, same order."""
        out = []
        for n in self.trainable_names:
            if n in self.params:
                if n not in self.grads:
                    raise RuntimeError(
                        f"Layer {self.name!r}: no gradient for {n!r} yet; run forward() and backward()."
                    )
                out.append(self.grads[n])
        return out

    @property
    def num_params(self):
        """Number of trainable parameters."""
        return int(sum(self.params[n].size for n in self.trainable_names if n in self.params))

    @property
    def num_non_trainable_params(self):
        return int(sum(w.size for w in self.weights)) - self.num_params

    @property
    def macs(self):
        """Multiply-accumulates per example (0 for layers without products)."""
        return 0

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


# ----------------------------------------------------------------------------
# layers with parameters


class Conv2D(Layer):
    """2-D convolution (cross-correlation), channels-last; optional bias.

    ``filters`` output channels, ``kernel_size``/``strides``/``dilation_rate`` an int
    or (rows, cols), ``padding`` any form that :func:`cnncore.conv2d` accepts.
    Weights: kernel ``(KH, KW, C_in, filters)``, bias ``(filters,)``.
    """

    weight_names = ("kernel", "bias")
    trainable_names = ("kernel", "bias")

    def __init__(self, filters, kernel_size=3, strides=1, padding="valid", dilation_rate=1,
                 use_bias=True, kernel_initializer="he_normal", name=None):
        super().__init__(name)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"filters must be a positive int. Received: filters={filters!r}")
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.dilation_rate = _pair(dilation_rate, "dilation_rate")
        _explicit_padding(padding, (10**6, 10**6), self.kernel_size, self.strides,
                          self.dilation_rate)  # validates the form only
        self.padding = padding.lower() if isinstance(padding, str) else padding
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer

    def _build(self, input_shape, rng):
        if len(input_shape) != 3:
            raise ValueError(
                f"Layer {self.name!r} (Conv2D) expects images (H, W, C). "
                f"Received: input shape {_shape_str(input_shape)}"
            )
        h, w, c = input_shape
        kh, kw = self.kernel_size
        pads = _explicit_padding(self.padding, (h, w), self.kernel_size, self.strides,
                                 self.dilation_rate)
        ho = _window_output(h, kh, self.strides[0], self.dilation_rate[0], pads[0], self)
        wo = _window_output(w, kw, self.strides[1], self.dilation_rate[1], pads[1], self)
        self.params["kernel"] = _initialize(rng, (kh, kw, c, self.filters), self.dtype,
                                            self.kernel_initializer, kh * kw * c,
                                            kh * kw * self.filters)
        if self.use_bias:
            self.params["bias"] = np.zeros(self.filters, dtype=self.dtype)
        return (ho, wo, self.filters)

    def _conv_args(self):
        return dict(stride=self.strides, padding=self.padding, dilation=self.dilation_rate)

    def forward(self, x, training=False, relu=False):
        """``relu=True``: max(y, 0) too (a model fuses a ReLU that follows this way)."""
        y = F.conv2d(x, self.params["kernel"], self.params.get("bias"), relu=relu,
                     **self._conv_args())
        self._cache = x
        return y

    def backward(self, dy, input_grad=True):
        """Parameter gradients into ``grads``; returns dL/dx (``input_grad=False``: None)."""
        x = self._need_cache()
        self.grads = {}     # the last step's gradients go first: their memory can be reused
        dx, dkernel, dbias = F.conv2d_backward(dy, x, self.params["kernel"], input_grad=input_grad,
                                               **self._conv_args())
        self.grads = {"kernel": dkernel}
        if self.use_bias:
            self.grads["bias"] = dbias
        return dx

    @property
    def macs(self):
        ho, wo, co = self.output_shape
        kh, kw = self.kernel_size
        return ho * wo * kh * kw * self.input_shape[-1] * co


class Dense(Layer):
    """Fully connected layer on flat input ``(N, F_in)``: ``y = x @ w + b``, w ``(F_in, units)``."""

    weight_names = ("kernel", "bias")
    trainable_names = ("kernel", "bias")

    def __init__(self, units, use_bias=True, kernel_initializer="he_normal", name=None):
        super().__init__(name)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"units must be a positive int. Received: units={units!r}")
        self.units = int(units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer

    def _build(self, input_shape, rng):
        if len(input_shape) != 1:
            raise ValueError(
                f"Layer {self.name!r} (Dense) expects flat input (F,); put a Flatten layer before it. "
                f"Received: input shape {_shape_str(input_shape)}"
            )
        (f_in,) = input_shape
        self.params["kernel"] = _initialize(rng, (f_in, self.units), self.dtype,
                                            self.kernel_initializer, f_in, self.units)
        if self.use_bias:
            self.params["bias"] = np.zeros(self.units, dtype=self.dtype)
        return (self.units,)

    def forward(self, x, training=False):
        y = F.dense(x, self.params["kernel"], self.params.get("bias"))
        self._cache = x
        return y

    def backward(self, dy):
        x = self._need_cache()
        self.grads = {}
        dx, dw, db = F.dense_backward(dy, x, self.params["kernel"])
        self.grads = {"kernel": dw}
        if self.use_bias:
            self.grads["bias"] = db
        return dx

    @property
    def macs(self):
        return self.input_shape[0] * self.units


class BatchNorm(Layer):
    """Batch normalization over every axis but the last (Keras defaults).

    Training: normalizes with the batch mean and (biased) variance, then updates
    ``moving = momentum * moving + (1 - momentum) * batch``.  Inference: uses the
    moving averages.  Weights: gamma, beta (trainable), moving_mean, moving_var.
    """

    weight_names = ("gamma", "beta", "moving_mean", "moving_var")
    trainable_names = ("gamma", "beta")

    def __init__(self, momentum=0.99, epsilon=1e-3, name=None):
        super().__init__(name)
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"momentum must be in [0, 1]. Received: momentum={momentum!r}")
        if not float(epsilon) > 0.0:
            raise ValueError(f"epsilon must be positive. Received: epsilon={epsilon!r}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def _build(self, input_shape, rng):
        if len(input_shape) < 1:
            raise ValueError(
                f"Layer {self.name!r} (BatchNorm) needs a feature axis. "
                f"Received: input shape {_shape_str(input_shape)}"
            )
        c = input_shape[-1]
        self.params["gamma"] = np.ones(c, dtype=self.dtype)
        self.params["beta"] = np.zeros(c, dtype=self.dtype)
        self.params["moving_mean"] = np.zeros(c, dtype=self.dtype)
        self.params["moving_var"] = np.ones(c, dtype=self.dtype)
        return input_shape

    def forward(self, x, training=False):
        p = self.params
        if training:
            y, mean, var = F.batch_norm_train(x, p["gamma"], p["beta"], eps=self.epsilon)
            if x.shape[0] > 0:
                mm, mv = F.update_moving_stats(p["moving_mean"], p["moving_var"], mean, var,
                                               momentum=self.momentum)
                p["moving_mean"] = np.asarray(mm, dtype=self.dtype)
                p["moving_var"] = np.asarray(mv, dtype=self.dtype)
            self._cache = ("train", x, mean, var)
        else:
            y = F.batch_norm_infer(x, p["gamma"], p["beta"], p["moving_mean"], p["moving_var"],
                                   eps=self.epsilon)
            self._cache = ("infer", x, None, None)
        return y

    def backward(self, dy):
        mode, x, mean, var = self._need_cache()
        gamma = self.params["gamma"]
        if mode == "train":
            dx, dgamma, dbeta = F.batch_norm_backward(dy, x, gamma, mean, var, eps=self.epsilon)
        else:
            # inference mode: an affine map per channel with fixed statistics
            axes = tuple(range(x.ndim - 1))
            inv = 1.0 / np.sqrt(self.params["moving_var"] + self.dtype.type(self.epsilon))
            xhat = (x - self.params["moving_mean"]) * inv
            dgamma = (dy * xhat).sum(axis=axes)
            dbeta = dy.sum(axis=axes)
            dx = dy * (gamma * inv)
        self.grads = {"gamma": dgamma, "beta": dbeta}
        return dx


# ----------------------------------------------------------------------------
# layers without parameters


class ReLU(Layer):
    """max(x, 0)."""

    def forward(self, x, training=False):
        y = F.relu(x)
        self._cache = y  # y > 0 exactly where x > 0: all backward needs
        return y

    def forward_inplace(self, x, training=False):
        """forward() written into ``x``, for an ``x`` nothing else will read (the fresh
        output of the layer before, inside a model): no new array, no fresh pages."""
        F.relu(x, out=x)
        self._cache = x
        return x

    def forward_fused(self, y, training=False):
        """forward() of an ``y`` the layer before already rectified: only keep it."""
        self._cache = y
        return y

    def backward(self, dy):
        return F.relu_backward(dy, self._need_cache())

    def backward_inplace(self, dy):
        """backward() written into ``dy``, for a ``dy`` nothing else will read (the fresh
        input gradient of the layer after, inside a model)."""
        return F.relu_backward(dy, self._need_cache(), out=dy)


class MaxPool2D(Layer):
    """2-D max pooling, channels-last (``strides=None`` means ``pool_size``)."""

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None):
        super().__init__(name)
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _pair(strides, "strides")
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f'padding must be "valid" or "same". Received: padding={padding!r}')
        self.padding = padding.lower()

    def _build(self, input_shape, rng):
        if len(input_shape) != 3:
            raise ValueError(
                f"Layer {self.name!r} (MaxPool2D) expects images (H, W, C). "
                f"Received: input shape {_shape_str(input_shape)}"
            )
        h, w, c = input_shape
        pads = _explicit_padding(self.padding, (h, w), self.pool_size, self.strides, (1, 1))
        ho = _window_output(h, self.pool_size[0], self.strides[0], 1, pads[0], self, "pool window")
        wo = _window_output(w, self.pool_size[1], self.strides[1], 1, pads[1], self, "pool window")
        return (ho, wo, c)

    def forward(self, x, training=False):
        self._cache = x
        return F.max_pool2d(x, self.pool_size, self.strides, self.padding)

    def backward(self, dy):
        return F.max_pool2d_backward(dy, self._need_cache(), self.pool_size, self.strides,
                                     self.padding)


class Flatten(Layer):
    """(N, H, W, C) -> (N, H*W*C), channels-last (H, W, C) order, as Keras."""

    def _build(self, input_shape, rng):
        return (int(np.prod(input_shape, dtype=np.int64)),)

    def forward(self, x, training=False):
        self._cache = x.shape
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:], dtype=np.int64)))

    def backward(self, dy):
        return np.asarray(dy).reshape(self._need_cache())


class Dropout(Layer):
    """Inverted dropout: in training zero each value with probability ``rate``, scale the
    rest by ``1 / (1 - rate)``; the identity in inference.  Seeded through the model."""

    def __init__(self, rate=0.5, seed=None, name=None):
        super().__init__(name)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"rate must be in [0, 1). Received: rate={rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def _build(self, input_shape, rng):
        if self.seed is None:
            self.rng = np.random.default_rng(int(rng.integers(2**63)))
        return input_shape

    def reseed(self, seed):
        """Restart the mask sequence (``fit(seed=...)`` does this for reproducibility)."""
        self.rng = np.random.default_rng(seed)

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._cache = "identity"
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype if x.dtype.kind == "f" else np.float64)
        mask = (keep >= self.rate).astype(x.dtype)
        mask *= x.dtype.type(1.0 / (1.0 - self.rate))
        self._cache = mask
        return x * mask

    def backward(self, dy):
        mask = self._need_cache()
        if isinstance(mask, str):
            return dy
        return dy * mask


class Softmax(Layer):
    """Softmax over the last axis (turns logits into probabilities)."""

    def __init__(self, axis=-1, name=None):
        super().__init__(name)
        self.axis = axis

    def forward(self, x, training=False):
        y = F.softmax(x, axis=self.axis)
        self._cache = y
        return y

    def backward(self, dy):
        y = self._need_cache()
        return y * (dy - (dy * y).sum(axis=self.axis, keepdims=True))


_DEFAULT_NAMES = {
    "Conv2D": "conv2d",
    "Dense": "dense",
    "BatchNorm": "batch_normalization",
    "ReLU": "re_lu",
    "MaxPool2D": "max_pooling2d",
    "Flatten": "flatten",
    "Dropout": "dropout",
    "Softmax": "softmax",
}


def default_name(layer):
    """Keras-style base name of a layer: ``Conv2D`` -> ``conv2d``, ``MaxPool2D`` -> ``max_pooling2d``."""
    cls = type(layer).__name__
    return _DEFAULT_NAMES.get(cls) or _snake(cls)
