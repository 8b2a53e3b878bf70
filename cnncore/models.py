"""Models: a ``Sequential`` container of layers and the VGG family built from a config list.

    >>> import cnncore
    >>> model = cnncore.vgg19()                  # 143,667,240 parameters, He-initialised
    >>> print(model.summary())                   # shapes, parameters, MACs (19.6 G)
    >>> probs = model(x)                         # x: (N, 224, 224, 3) -> (N, 1000)

A small VGG for a laptop: ``vgg("vgg11", num_classes=10, input_shape=(32, 32, 1),
batch_norm=True, width=0.25, fc_units=64)``.

Everything here runs on the public functional API through :mod:`cnncore.layers`.
"""
import copy
import math
import numbers

import numpy as np

from .layers import (
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPool2D,
    ReLU,
    Softmax,
    default_name,
)

_FRESH_OUTPUT = (Conv2D, BatchNorm, Dense)  # see Sequential._run

__all__ = [
    "Sequential",
    "VGG",
    "VGG_CONFIGS",
    "vgg",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
]

_MODEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _model_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _MODEL_DTYPES:
        raise TypeError(f'dtype must be "float32" or "float64". Received: dtype={dtype!r}')
    return dt


def _shape_str(shape):
    return "(" + ", ".join(["None"] + [str(s) for s in shape]) + ")"


def _fmt_int(n):
    return f"{n:,}"


def _fmt_macs(n):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="batch", leave=False)


class Sequential:
    """A stack of layers applied one after the other.

    ``Sequential(layers, input_shape=(H, W, C), seed=0, dtype="float32")`` builds the
    layers at once (parameters initialised from ``seed``); without ``input_shape``
    call :meth:`build` later.  Inputs of another float or integer dtype are cast to
    the model's dtype.
    """

    def __init__(self, layers=(), input_shape=None, name="sequential", seed=0, dtype="float32"):
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string. Received: name={name!r}")
        self.name = name
        self.seed = seed
        self.dtype = _model_dtype(dtype)
        self.layers = []
        self.input_shape = None
        self.output_shape = None
        self.built = False
        self._ran = []
        for layer in layers:
            self.add(layer)
        if input_shape is not None:
            self.build(input_shape)

    # -- construction ----------------------------------------------------------
    def add(self, layer):
        """Append a layer (before :meth:`build`); a missing name becomes Keras-style (``conv2d_1``)."""
        if self.built:
            raise RuntimeError(f"Model {self.name!r} is already built; add layers before build().")
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential takes Layer objects. Received: {type(layer).__name__}")
        taken = {l.name for l in self.layers}
        if layer.name is None:
            base = default_name(layer)
            name, i = base, 0
            while name in taken:
                i += 1
                name = f"{base}_{i}"
            layer.name = name
        elif layer.name in taken:
            raise ValueError(
                f"Layer names must be unique within a model. Received: a second layer named {layer.name!r}"
            )
        self.layers.append(layer)
        return self

    def build(self, input_shape):
        """Build every layer for inputs of shape ``(N,) + input_shape``."""
        try:
            shape = tuple(int(s) for s in input_shape)
            ok = len(shape) >= 1 and all(s >= 1 for s in shape) and all(
                isinstance(s, numbers.Integral) for s in input_shape)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                "input_shape must be a tuple of positive ints without the batch axis, e.g. (224, 224, 3). "
                f"Received: input_shape={input_shape!r}"
            )
        rng = np.random.default_rng(self.seed)
        self.input_shape = shape
        for layer in self.layers:
            shape = layer.build(shape, rng, self.dtype)
        self.output_shape = shape
        self.built = True
        return self

    def get_layer(self, name):
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No layer named {name!r} in model {self.name!r} (layers: "
            f"{', '.join(l.name for l in self.layers)}). Received: name={name!r}"
        )

    # -- input checking -------------------------------------------------------
    def _check_built(self):
        if not self.built:
            raise RuntimeError(f"Model {self.name!r} is not built; call build(input_shape) first.")

    def check_input(self, x):
        """Return ``x`` as an array of the model's dtype, or raise ValueError/TypeError."""
        self._check_built()
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiub":
            raise TypeError(
                f"Input to model {self.name!r} must be a real numeric array. Received: dtype {arr.dtype}"
            )
        expected = _shape_str(self.input_shape)
        if arr.ndim != len(self.input_shape) + 1:
            raise ValueError(
                f"Input to model {self.name!r} must have {len(self.input_shape) + 1} dimensions, "
                f"shape {expected}. Received: x with shape {arr.shape}"
            )
        got = arr.shape[1:]
        if got != self.input_shape:
            if len(got) == 3 and got[-1] != self.input_shape[-1]:
                what = (f"{self.input_shape[-1]} channels (last axis; images are channels-last "
                        f"(N, H, W, C))")
            elif len(got) == 3:
                what = f"images of {self.input_shape[0]}x{self.input_shape[1]}, the size the model was built for"
            else:
                what = f"shape {expected}"
            raise ValueError(
                f"Input to model {self.name!r} is incompatible: expected {what}, input shape {expected}. "
                f"Received: x with shape {arr.shape}"
            )
        if arr.dtype != self.dtype:
            arr = arr.astype(self.dtype)
        return arr

    # -- computing ------------------------------------------------------------
    # A ReLU after a Conv2D is fused into it (max(y, 0) in the micro-kernel's
    # store); after the others it rectifies its input in place: their outputs
    # are new arrays that they do not keep for their own backward (VGG-19 at
    # batch 8 spent a third of its time faulting in fresh pages for ReLU outputs).
    def _run(self, x, training, keep, logits):
        layers = self.layers
        if logits and layers and isinstance(layers[-1], Softmax):
            layers = layers[:-1]
        previous = None
        for i, layer in enumerate(layers):
            followed_by_relu = i + 1 < len(layers) and isinstance(layers[i + 1], ReLU)
            if isinstance(layer, ReLU) and isinstance(previous, Conv2D):
                y = layer.forward_fused(x, training=training)   # the convolution applied it
            elif isinstance(layer, ReLU) and isinstance(previous, _FRESH_OUTPUT):
                y = layer.forward_inplace(x, training=training)
            elif isinstance(layer, Conv2D) and followed_by_relu:
                y = layer.forward(x, training=training, relu=True)
            else:
                y = layer.forward(x, training=training)
            previous = layer
            if not keep:
                layer.clear_cache()
            x = y
        return x, layers

    def forward(self, x, training=False, logits=False):
        """Run every layer; keep what :meth:`backward` needs.

        ``training=True`` uses batch statistics in batch norm (and updates the moving
        averages) and applies dropout.  ``logits=True`` stops before a final
        :class:`Softmax` layer (for a softmax cross-entropy loss).
        """
        x = self.check_input(x)
        y, ran = self._run(x, bool(training), True, logits)
        self._ran = list(ran)
        return y

    def backward(self, dloss, input_grad=True):
        """Back-propagate ``dloss`` (gradient w.r.t. the last forward's output) through the
        layers that ran; store parameter gradients; return the gradient w.r.t. the input
        (``input_grad=False``: None, and a first Conv2D skips computing it, as training does).

        What the forward kept for it is released on the way: the next backward needs a
        new forward."""
        if not self._ran:
            raise RuntimeError(f"Model {self.name!r}: backward() needs a forward() first.")
        d = np.asarray(dloss)
        last = self._ran[-1]
        expected = last.output_shape
        if d.ndim != len(expected) + 1 or d.shape[1:] != tuple(expected):
            raise ValueError(
                f"dloss must have the shape of the model's output {_shape_str(expected)}. "
                f"Received: dloss with shape {d.shape}"
            )
        if d.dtype != self.dtype:
            d = d.astype(self.dtype)
        ran, self._ran = self._ran, []
        for i in range(len(ran) - 1, -1, -1):
            layer = ran[i]
            if i == 0 and not input_grad and isinstance(layer, Conv2D):
                layer.backward(d, input_grad=False)
            elif isinstance(layer, ReLU) and i < len(ran) - 1:
                d = layer.backward_inplace(d)   # into a gradient the layer after it made
            else:
                d = layer.backward(d)
            layer.clear_cache()     # its memory serves the next step
        return d if input_grad else None

    def predict(self, x, batch_size=32, verbose="auto"):
        """Inference in batches of ``batch_size`` (moving averages in batch norm, no dropout).

        ``verbose``: True shows a tqdm progress bar, False none, ``"auto"`` one when
        there is more than one batch.  Nothing is kept for backward.
        """
        x = self.check_input(x)
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
        n = x.shape[0]
        batches = max(1, math.ceil(n / batch_size))
        show = (batches > 1) if verbose == "auto" else bool(verbose)
        if n <= batch_size:
            y, _ = self._run(x, False, False, False)
            return y
        out = np.empty((n,) + tuple(self.output_shape), dtype=self.dtype)
        for i in _progress(range(batches), batches, f"{self.name} predict", show):
            sl = slice(i * batch_size, min(n, (i + 1) * batch_size))
            out[sl], _ = self._run(x[sl], False, False, False)
        return out

    def __call__(self, x, training=False):
        """``model(x)``: inference, as ``predict(x, batch_size=32)`` (a progress bar when
        there is more than one batch); ``model(x, training=True)``: ``forward(x, training=True)``."""
        if training:
            return self.forward(x, training=True)
        return self.predict(x, batch_size=32, verbose="auto")

    # -- parameters -----------------------------------------------------------
    def parameters(self):
        """The trainable arrays themselves, layer by layer, Keras order (optimizers update them in place)."""
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        """Their gradients from the last :meth:`backward`, same order."""
        return [g for layer in self.layers for g in layer.gradients()]

    def named_parameters(self):
        """``("block1_conv1/kernel", array)`` pairs of the trainable arrays."""
        return [(f"{layer.name}/{n}", layer.params[n])
                for layer in self.layers for n in layer.trainable_names if n in layer.params]

    def named_weights(self):
        """``("block1_conv1/kernel", array)`` pairs of every weight, Keras order."""
        return [(f"{layer.name}/{n}", w) for layer in self.layers for n, w in layer.weight_items()]

    @property
    def num_params(self):
        """Number of trainable parameters."""
        return int(sum(layer.num_params for layer in self.layers))

    @property
    def num_non_trainable_params(self):
        """Number of non-trainable weights (batch-norm moving averages)."""
        return int(sum(layer.num_non_trainable_params for layer in self.layers))

    @property
    def macs(self):
        """Multiply-accumulates of one forward pass, per example."""
        return int(sum(layer.macs for layer in self.layers))

    def get_weights(self):
        """Copies of all weights in layer order, Keras order within a layer."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        """Set all weights from a list like :meth:`get_weights`'s.

        Count, shapes and dtypes are checked for the whole list before anything is
        changed: on error the model keeps its old weights.
        """
        self._check_built()
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(
                f"Model {self.name!r} expects a list of {expected} weight arrays. "
                f"Received: a list of {len(weights)}"
            )
        staged, i = [], 0
        for layer in self.layers:
            k = len(layer.weights)
            where = f"set_weights: layer {layer.name!r} (weights {i} to {i + k - 1})" if k else None
            staged.append(layer.check_weights(weights[i:i + k], where=where))
            i += k
        for layer, arrays in zip(self.layers, staged):
            layer._assign(arrays)

    def save_weights(self, path):
        """Save all weights to ``path`` (.npz, keys ``layer/weight``)."""
        from .weights import save_weights

        save_weights(self, path)

    def load_weights(self, path):
        """Load weights saved by :meth:`save_weights` (or a torchvision VGG state dict, for VGGs)."""
        from .weights import load_weights

        load_weights(self, path)

    # -- description ----------------------------------------------------------
    def summary(self, print_fn=None):
        """The model as a table (layer name and type, output shape, parameters, MACs per
        image) with the totals; returned as a string (and passed to ``print_fn`` if given)."""
        self._check_built()
        rows = [("Layer (type)", "Output Shape", "Param #", "MACs")]
        rows.append(("input (InputLayer)", _shape_str(self.input_shape), "0", "0"))
        for layer in self.layers:
            n = int(sum(w.size for w in layer.weights))
            rows.append((f"{layer.name} ({type(layer).__name__})", _shape_str(layer.output_shape),
                         _fmt_int(n), _fmt_int(layer.macs)))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        width = sum(widths) + 3 * 3

        def line(r):
            return (r[0].ljust(widths[0]) + "   " + r[1].ljust(widths[1]) + "   "
                    + r[2].rjust(widths[2]) + "   " + r[3].rjust(widths[3]))

        total = self.num_params + self.num_non_trainable_params
        nbytes = total * self.dtype.itemsize
        out = [f'Model: "{self.name}"', "=" * width, line(rows[0]), "=" * width]
        out += [line(r) for r in rows[1:]]
        out += [
            "=" * width,
            f"Total params: {_fmt_int(total)} ({nbytes / 2**20:.2f} MB as {self.dtype.name})",
            f"Trainable params: {_fmt_int(self.num_params)}",
            f"Non-trainable params: {_fmt_int(self.num_non_trainable_params)}",
            f"Total MACs: {_fmt_int(self.macs)} ({_fmt_macs(self.macs)}) per image",
            "=" * width,
        ]
        text = "\n".join(out)
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self):
        state = f"input_shape={self.input_shape}, " if self.built else ""
        return (f"{type(self).__name__}(name={self.name!r}, {state}layers={len(self.layers)}, "
                f"params={self.num_params if self.built else '?'})")

    # -- inference helpers -----------------------------------------------------
    def fold_batchnorm(self):
        """A copy of the model for inference with each BatchNorm folded into the Conv2D
        or Dense layer right before it (which gains a bias).

        With ``s = gamma / sqrt(moving_var + eps)``: ``kernel' = kernel * s`` (per output
        channel) and ``bias' = (bias - moving_mean) * s + beta``.  The copy gives the
        same inference outputs (up to rounding) with fewer layers; this model is unchanged.
        A BatchNorm that does not directly follow a Conv2D or Dense stays as it is.
        """
        self._check_built()
        for layer in self.layers:
            layer.clear_cache()
        self._ran = []
        new = copy.deepcopy(self)
        kept = []
        for layer in new.layers:
            prev = kept[-1] if kept else None
            if isinstance(layer, BatchNorm) and isinstance(prev, (Conv2D, Dense)):
                p = layer.params
                acc = np.float64
                scale = p["gamma"].astype(acc) / np.sqrt(p["moving_var"].astype(acc) + layer.epsilon)
                kernel = prev.params["kernel"].astype(acc) * scale
                bias = prev.params["bias"].astype(acc) if prev.use_bias else 0.0
                bias = (bias - p["moving_mean"].astype(acc)) * scale + p["beta"].astype(acc)
                prev.params["kernel"] = kernel.astype(new.dtype)
                prev.params["bias"] = np.asarray(bias, dtype=new.dtype)
                prev.use_bias = True
                prev.grads = {}
                continue
            kept.append(layer)
        new.layers = kept
        if isinstance(new, VGG):
            new.batch_norm = False
            new.folded = True
        return new

    # -- training (see cnncore.training) ---------------------------------------
    def fit(self, x, y, **kwargs):
        """Train with :func:`cnncore.training.fit` (softmax cross-entropy, SGD); returns the history."""
        from .training import fit

        return fit(self, x, y, **kwargs)

    def evaluate(self, x, y, batch_size=256):
        """``{"loss": ..., "accuracy": ...}`` on ``(x, y)``, inference mode."""
        from .training import evaluate

        return evaluate(self, x, y, batch_size=batch_size)


# ----------------------------------------------------------------------------
# VGG

VGG_CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


def _check_config(config):
    if isinstance(config, str):
        if config.lower() not in VGG_CONFIGS:
            raise ValueError(
                f"config must be one of {sorted(VGG_CONFIGS)} or a list of channel counts and \"M\". "
                f"Received: config={config!r}"
            )
        return list(VGG_CONFIGS[config.lower()])
    try:
        config = list(config)
    except TypeError:
        raise ValueError(
            f"config must be a list such as [64, 64, \"M\", 128, ...] or one of {sorted(VGG_CONFIGS)}. "
            f"Received: config={config!r}"
        ) from None
    for i, v in enumerate(config):
        ok = (v == "M") if isinstance(v, str) else (
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1)
        if not ok:
            raise ValueError(
                "Each VGG config entry must be a positive int (the output channels of a 3x3 "
                f"convolution) or \"M\" (2x2 max pooling, stride 2). Received: config[{i}]={v!r}"
            )
    if "M" not in config or not any(v != "M" for v in config):
        raise ValueError(
            f"A VGG config needs at least one convolution and one \"M\". Received: config={config!r}"
        )
    return config


class VGG(Sequential):
    """A VGG network from a config list, as torchvision's ``make_layers``, with Keras names.

    ``config``: a list such as ``[64, 64, "M", 128, ...]`` (an int is a 3x3 SAME
    convolution with that many output channels followed by ReLU, ``"M"`` a 2x2
    max pooling with stride 2) or a name in :data:`VGG_CONFIGS`.  Layers are named
    ``block{b}_conv{i}`` and ``block{b}_pool`` (a block ends at each ``"M"``), then
    ``flatten``, ``fc1``, ``fc2``, ``predictions`` and a final ``softmax``, so that the
    model returns probabilities.

    ``batch_norm=True`` follows the seed's f(BN(Wx)): convolution without bias, then
    ``block{b}_bn{i}``, then ReLU.  ``width`` multiplies every convolution's channels
    (at least 1 each); ``fc_units`` is the size of fc1 and fc2 (default
    ``round(4096 * width)``); ``dropout`` the rate of the dropout after fc1 and fc2
    (as torchvision; 0 leaves them out).  The input side must be a multiple of
    ``2 ** (number of "M")`` (32 for the standard configs) and at least that.
    """

    def __init__(self, config="vgg19", num_classes=1000, input_shape=(224, 224, 3),
                 batch_norm=False, width=1.0, fc_units=None, dropout=0.5, seed=0,
                 dtype="float32", name=None, bn_momentum=0.99, bn_epsilon=1e-3):
        cfg_name = config.lower() if isinstance(config, str) else None
        config = _check_config(config)
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int. Received: num_classes={num_classes!r}")
        if not isinstance(width, numbers.Real) or isinstance(width, bool) or not width > 0:
            raise ValueError(f"width must be a positive number. Received: width={width!r}")
        if fc_units is None:
            fc_units = max(1, int(round(4096 * width)))
        if isinstance(fc_units, bool) or not isinstance(fc_units, numbers.Integral) or fc_units < 1:
            raise ValueError(f"fc_units must be a positive int. Received: fc_units={fc_units!r}")
        if not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
        pools = config.count("M")
        side = 2 ** pools
        try:
            shape = tuple(input_shape)
            ok = (len(shape) == 3 and all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                                          for s in shape)
                  and shape[2] >= 1 and all(s >= side and s % side == 0 for s in shape[:2]))
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(
                f"input_shape must be (H, W, C) with H and W multiples of {side} and at least {side} "
                f"({pools} poolings of 2x2, stride 2) and C >= 1. Received: input_shape={input_shape!r}"
            )
        self.config = config
        self.config_name = cfg_name
        self.num_classes = int(num_classes)
        self.batch_norm = bool(batch_norm)
        self.width = float(width)
        self.fc_units = int(fc_units)
        self.dropout = float(dropout)
        self.folded = False
        if name is None:
            name = cfg_name or "vgg"
            if self.batch_norm and cfg_name:
                name += "_bn"

        layers = []
        block, conv = 1, 0
        for v in config:
            if v == "M":
                layers.append(MaxPool2D(2, 2, "valid", name=f"block{block}_pool"))
                block, conv = block + 1, 0
                continue
            conv += 1
            channels = max(1, int(round(v * width)))
            layers.append(Conv2D(channels, 3, 1, "same", use_bias=not self.batch_norm,
                                 name=f"block{block}_conv{conv}"))
            if self.batch_norm:
                layers.append(BatchNorm(bn_momentum, bn_epsilon, name=f"block{block}_bn{conv}"))
            layers.append(ReLU(name=f"block{block}_relu{conv}"))
        layers.append(Flatten(name="flatten"))
        for i in (1, 2):
            layers.append(Dense(self.fc_units, name=f"fc{i}"))
            layers.append(ReLU(name=f"fc{i}_relu"))
            if self.dropout > 0:
                layers.append(Dropout(self.dropout, name=f"fc{i}_dropout"))
        layers.append(Dense(self.num_classes, kernel_initializer="glorot_uniform", name="predictions"))
        layers.append(Softmax(name="softmax"))
        super().__init__(layers, input_shape=shape, name=name, seed=seed, dtype=dtype)

    def load_torchvision(self, state_dict, bn_epsilon=1e-5):
        """Import a torchvision-layout VGG state dict (see :func:`cnncore.weights.load_torchvision_vgg`)."""
        from .weights import load_torchvision_vgg

        load_torchvision_vgg(self, state_dict, bn_epsilon=bn_epsilon)


def vgg(config="vgg19", num_classes=1000, input_shape=(224, 224, 3), batch_norm=False, seed=0,
        dtype="float32", **kwargs):
    """Build a VGG (see :class:`VGG`); ``config`` a name in :data:`VGG_CONFIGS` or a list."""
    return VGG(config, num_classes=num_classes, input_shape=input_shape, batch_norm=batch_norm,
               seed=seed, dtype=dtype, **kwargs)


def vgg11(num_classes=1000, input_shape=(224, 224, 3), batch_norm=False, seed=0, dtype="float32", **kwargs):
    """VGG-11 (configuration A)."""
    return vgg("vgg11", num_classes, input_shape, batch_norm, seed, dtype, **kwargs)


def vgg13(num_classes=1000, input_shape=(224, 224, 3), batch_norm=False, seed=0, dtype="float32", **kwargs):
    """VGG-13 (configuration B)."""
    return vgg("vgg13", num_classes, input_shape, batch_norm, seed, dtype, **kwargs)


def vgg16(num_classes=1000, input_shape=(224, 224, 3), batch_norm=False, seed=0, dtype="float32", **kwargs):
    """VGG-16 (configuration D)."""
    return vgg("vgg16", num_classes, input_shape, batch_norm, seed, dtype, **kwargs)


def vgg19(num_classes=1000, input_shape=(224, 224, 3), batch_norm=False, seed=0, dtype="float32", **kwargs):
    """VGG-19 (configuration E): 16 convolutions in 5 blocks, 3 dense layers, softmax.

    143,667,240 trainable parameters with the defaults, 143,672,744 with
    ``batch_norm=True`` (the 5,504 conv biases go, 11,008 gammas and betas come).
    Extra keywords (``width``, ``fc_units``, ``dropout``, ...) go to :class:`VGG`.
    """
    return vgg("vgg19", num_classes, input_shape, batch_norm, seed, dtype, **kwargs)
