"""Models: a ``Sequential`` container of layers and the VGG family built from a config list.

``cnncore.vgg19()`` is VGG-19 for 224x224 RGB images and 1000 classes: 143,667,240
parameters, He-initialised, 19.6 G multiply-accumulates per image.  ``model(x)``
maps images ``(N, 224, 224, 3)`` to probabilities ``(N, 1000)``;
``print(model.summary())`` shows each layer's output shape, parameters and MACs.
A small VGG for a laptop: ``vgg("vgg11", num_classes=10, input_shape=(32, 32, 1),
batch_norm=True, width=0.25, fc_units=64)``.

A model computes in its dtype, float32 (the default) or float64: its parameters
have it, and input of another dtype (float, integer) is cast to it, so a float64
batch into a float32 model gives float32 probabilities.

Everything here runs on the public functional API through :mod:`cnncore.layers`.

Examples
--------
>>> import numpy as np
>>> import cnncore
>>> model = cnncore.vgg("vgg11", num_classes=10, input_shape=(32, 32, 1),
...                     batch_norm=True, width=0.25, fc_units=64)
>>> model.num_params
590586
>>> probs = model(np.zeros((4, 32, 32, 1)))
>>> probs.shape, probs.dtype
((4, 10), dtype('float32'))
>>> np.allclose(probs.sum(axis=1), 1.0)
True
"""
import copy
import math
import numbers
import warnings

import numpy as np

from . import training as _training
from . import weights as _weights
from ._checks import (NCHW_HINT, as_array, as_dtype, as_list, as_real, as_rng, as_shape,
                      input_shape_hint, looks_nchw, nchw_sentence, user_stacklevel)
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
    _shape_str,
    default_name,
)

_FUSES_RELU = (Conv2D, BatchNorm)           # forward(..., relu=True): see Sequential._run

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

    As Keras' ``Sequential``.  ``Sequential(layers, input_shape=(H, W, C), seed=0,
    dtype="float32")`` builds the layers at once (parameters initialised from
    ``seed``); without ``input_shape`` add layers with :meth:`add` and call
    :meth:`build` later.  ``model(x)`` runs inference (:meth:`predict`);
    :meth:`forward` and :meth:`backward` give gradients, :meth:`fit` trains.
    Unnamed layers get Keras-style names (``conv2d``, ``conv2d_1``, ...).

    The model computes in its dtype: the layers' parameters have it and input of
    another float or integer dtype (or boolean) is cast to it, as a Keras layer
    computes in its own dtype.

    Parameters
    ----------
    layers : iterable of Layer, default ()
        The layers, in order; each is added with :meth:`add`.
    input_shape : tuple of int, optional
        Shape of one input without the batch axis, e.g. ``(224, 224, 3)``; given,
        the model is built at once, else :meth:`build` must run before use.
    name : str, default "sequential"
        The model's name (in messages and the summary).
    seed : int, sequence of int or None, default 0
        Seed of the initial weights (:func:`numpy.random.default_rng`); the same
        seed gives the same weights.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of the parameters and of every computation.

    Attributes
    ----------
    layers : list of Layer
        The layers, in order.
    input_shape, output_shape : tuple of int or None
        Shapes without the batch axis, set by :meth:`build`.
    built : bool
        Whether :meth:`build` has run.
    dtype : numpy.dtype
        The model's dtype.

    Raises
    ------
    ValueError
        If ``name`` is not a non-empty string, two layers share a name,
        ``input_shape`` is not a tuple of positive ints or does not suit a layer, or
        ``seed`` is negative.
    TypeError
        If ``dtype`` is not float32 or float64, ``seed`` is not None, an int or a
        sequence of ints, or an element of ``layers`` is not a
        :class:`~cnncore.layers.Layer`.

    See Also
    --------
    cnncore.VGG : A Sequential built from a VGG configuration.
    cnncore.layers : The layers.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore import Sequential
    >>> from cnncore.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax
    >>> model = Sequential([Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Flatten(),
    ...                     Dense(10), Softmax()], input_shape=(8, 8, 1))
    >>> [layer.name for layer in model.layers]
    ['conv2d', 're_lu', 'max_pooling2d', 'flatten', 'dense', 'softmax']
    >>> model.output_shape, model.num_params
    ((10,), 690)
    >>> probs = model(np.ones((2, 8, 8, 1)))            # float64 in, float32 out
    >>> probs.shape, probs.dtype
    ((2, 10), dtype('float32'))
    """

    def __init__(self, layers=(), input_shape=None, name="sequential", seed=0, dtype="float32"):
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string. Received: name={name!r}")
        self.name = name
        as_rng(seed, "seed", f"Model {name!r}")      # a seed NumPy refuses is refused here
        self.seed = seed
        self.dtype = as_dtype(dtype, "dtype", f"Model {name!r}")
        self.layers = []
        self.input_shape = None
        self.output_shape = None
        self.built = False
        self._ran = []
        self._remade = set()
        for layer in as_list(layers, "layers", f"Model {name!r}"):
            self.add(layer)
        if input_shape is not None:
            self.build(input_shape)

    # -- construction ----------------------------------------------------------
    def add(self, layer):
        """Append a layer to the model, before it is built.

        A layer without a name gets its Keras-style base name (:func:`cnncore.layers.default_name`),
        with ``_1``, ``_2``, ... appended when the model already has it:
        ``conv2d``, ``conv2d_1``, ...

        Parameters
        ----------
        layer : Layer
            A layer, not yet in the model.

        Returns
        -------
        Sequential
            The model itself, so that calls chain.

        Raises
        ------
        RuntimeError
            If the model is already built.
        TypeError
            If ``layer`` is not a :class:`~cnncore.layers.Layer`.
        ValueError
            If the model already has a layer of that name.

        See Also
        --------
        build : Builds the layers once they are all added.

        Examples
        --------
        >>> from cnncore import Sequential
        >>> from cnncore.layers import Dense, ReLU
        >>> model = Sequential().add(Dense(8)).add(ReLU()).add(Dense(2))
        >>> [layer.name for layer in model.layers]
        ['dense', 're_lu', 'dense_1']
        """
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
        """Build every layer for inputs of shape ``(N,) + input_shape``.

        Each layer is built in turn for the previous one's output shape, with one
        random generator seeded from the model's ``seed`` and the model's dtype;
        sets ``input_shape``, ``output_shape`` and ``built``.

        Parameters
        ----------
        input_shape : tuple of int
            Shape of one input without the batch axis: ``(H, W, C)`` for images
            (channels-last), ``(F,)`` for features.

        Returns
        -------
        Sequential
            The model itself.

        Raises
        ------
        ValueError
            If ``input_shape`` is not a tuple of positive ints, or a layer cannot take
            the shape it receives (the message names the layer).

        Warns
        -----
        UserWarning
            If ``input_shape`` looks like a channels-first ``(C, H, W)`` one.

        See Also
        --------
        cnncore.layers.Layer.build : Builds one layer.

        Examples
        --------
        >>> from cnncore import Sequential
        >>> from cnncore.layers import Conv2D, Flatten
        >>> model = Sequential([Conv2D(8, 3), Flatten()]).build((10, 10, 3))
        >>> [layer.output_shape for layer in model.layers]
        [(8, 8, 8), (512,)]
        """
        shape = as_shape(input_shape, "input_shape", f"Model {self.name!r}")
        if looks_nchw((1,) + shape):
            # a valid channels-last shape too (3 rows of 224 pixels, 224 channels): a warning
            warnings.warn(f"Model {self.name!r}: input_shape={shape}: {NCHW_HINT} An input shape "
                          f"is (H, W, C): {shape[1:] + shape[:1]}, not {shape}.", UserWarning,
                          stacklevel=user_stacklevel())
        rng = np.random.default_rng(self.seed)
        self.input_shape = shape
        for layer in self.layers:
            shape = layer.build(shape, rng, self.dtype)
        self.output_shape = shape
        self.built = True
        return self

    def get_layer(self, name):
        """Return the layer called ``name``.

        Layer names are unique within a model; a VGG's are Keras' (``block1_conv1``,
        ``fc1``, ``predictions``, ...).

        Parameters
        ----------
        name : str
            The layer's name.

        Returns
        -------
        Layer
            The layer itself (not a copy).

        Raises
        ------
        ValueError
            If no layer has that name (the message lists the names).

        See Also
        --------
        add : Adds a layer, naming it if it has no name.

        Examples
        --------
        >>> import cnncore
        >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125)
        >>> model.get_layer("block1_conv1").params["kernel"].shape
        (3, 3, 3, 8)
        """
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
        """Return ``x`` as an array of the model's dtype, after checking its shape.

        Every entry point (:meth:`forward`, :meth:`predict`, ``model(x)``,
        :meth:`fit`, :meth:`evaluate`) checks its input this way.  An array that
        already has the model's dtype is returned as it is (no copy); another float,
        integer or boolean one is cast.

        Parameters
        ----------
        x : array_like
            A batch ``(N,) + input_shape``; for images ``(N, H, W, C)``, channels-last.

        Returns
        -------
        ndarray
            ``x`` in the model's dtype.

        Raises
        ------
        RuntimeError
            If the model is not built.
        TypeError
            If ``x`` is not a real numeric array.
        ValueError
            If ``x`` has the wrong number of dimensions or a shape other than
            ``(N,) + input_shape`` (with a hint when ``x`` looks channels-first).

        See Also
        --------
        predict : Inference on a checked input.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore import Sequential
        >>> from cnncore.layers import Flatten
        >>> model = Sequential([Flatten()], input_shape=(4, 4, 3))
        >>> model.check_input(np.zeros((2, 4, 4, 3), dtype=int)).dtype
        dtype('float32')
        >>> model.check_input(np.zeros((2, 3, 4, 4)))    # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Input to model 'sequential' is incompatible: ... did you pass NCHW? ...
        """
        self._check_built()
        arr = as_array(x, "x", f"Model {self.name!r}")
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
            h, w, c = self.input_shape if len(self.input_shape) == 3 else (None,) * 3
            hint = nchw_sentence("x") if got == (c, h, w) else ""
            raise ValueError(
                f"Input to model {self.name!r} is incompatible: expected {what}, input shape "
                f"{expected}{hint}. Received: x with shape {arr.shape}"
            )
        if arr.dtype != self.dtype:
            arr = arr.astype(self.dtype)
        return arr

    # -- computing ------------------------------------------------------------
    # A ReLU after a Conv2D or a BatchNorm is fused into it (max(y, 0) as the
    # output is stored); after a Dense it rectifies its input in place: their
    # outputs are new arrays that they do not keep for their own backward
    # (VGG-19 at batch 8 spent a third of its time faulting in fresh pages for
    # ReLU outputs).
    # The output of a BatchNorm + ReLU pair is not kept past the layer after it
    # (when that one keeps just its input): the backward makes it again from
    # what the BatchNorm keeps anyway.  A batch-norm network would otherwise hold
    # two arrays per convolution from forward to backward (VGG-19, 224x224,
    # batch 8: 450 MB more, a fifth of a training step's peak).
    def _run(self, x, training, keep, logits):
        layers = self.layers
        if logits and layers and isinstance(layers[-1], Softmax):
            layers = layers[:-1]
        previous = None
        remade = set()
        for i, layer in enumerate(layers):
            followed_by_relu = i + 1 < len(layers) and isinstance(layers[i + 1], ReLU)
            if isinstance(layer, ReLU) and isinstance(previous, _FUSES_RELU):
                y = layer.forward_fused(x, training=training)   # the layer before applied it
            elif isinstance(layer, ReLU) and isinstance(previous, Dense):
                y = layer.forward_inplace(x, training=training)
            elif isinstance(layer, _FUSES_RELU) and followed_by_relu:
                y = layer.forward(x, training=training, relu=True)
            else:
                y = layer.forward(x, training=training)
            if not keep:
                layer.clear_cache()
            elif (i >= 2 and isinstance(previous, ReLU) and isinstance(layers[i - 2], BatchNorm)
                  and layer._cache is x):
                layer.clear_cache()
                previous.clear_cache()
                remade.add(i)
            previous = layer
            x = y
        if keep:
            self._remade = remade
        return x, layers

    def forward(self, x, training=False, logits=False):
        """Run every layer on a batch; keep what :meth:`backward` needs.

        ``training=True`` uses batch statistics in batch norm (and updates the moving
        averages) and applies dropout.  ``logits=True`` stops before a final
        :class:`~cnncore.layers.Softmax` layer (for a softmax cross-entropy loss).
        The whole batch is computed at once; for inference on many images
        :meth:`predict` is lighter (batches, nothing kept).

        Parameters
        ----------
        x : array_like
            A batch ``(N,) + input_shape``; cast to the model's dtype.
        training : bool, default False
            Training mode (batch statistics, dropout) or inference mode.
        logits : bool, default False
            Skip a final Softmax layer and return its input.

        Returns
        -------
        ndarray
            ``(N,) + output_shape`` in the model's dtype: probabilities for a model
            that ends with Softmax, logits with ``logits=True``.

        Raises
        ------
        RuntimeError
            If the model is not built.
        ValueError
            If ``x`` does not have the shape ``(N,) + input_shape``.
        TypeError
            If ``x`` is not a real numeric array.

        See Also
        --------
        backward : The gradients of this forward pass.
        predict : Inference in batches.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore import Sequential
        >>> from cnncore.layers import Dense, Flatten, Softmax
        >>> model = Sequential([Flatten(), Dense(3), Softmax()], input_shape=(2, 2, 1))
        >>> x = np.random.default_rng(0).standard_normal((4, 2, 2, 1))
        >>> logits = model.forward(x, training=True, logits=True)
        >>> np.allclose(model.forward(x), np.exp(logits) / np.exp(logits).sum(1, keepdims=True))
        True
        """
        x = self.check_input(x)
        y, ran = self._run(x, bool(training), True, logits)
        self._ran = list(ran)
        return y

    def backward(self, dloss, input_grad=True):
        """Back-propagate through the layers of the last forward; return dL/dx.

        Each layer that ran in the last :meth:`forward` (not a Softmax skipped with
        ``logits=True``) stores its parameter gradients in ``grads``, read back in
        order by :meth:`gradients`.  What the forward kept is released on the way:
        the next backward needs a new forward.

        Parameters
        ----------
        dloss : array_like
            Gradient of the loss with respect to the last forward's output (the
            logits after ``forward(x, logits=True)``), ``(N,) + output_shape``; cast
            to the model's dtype.
        input_grad : bool, default True
            Whether to return the gradient with respect to the input; False returns
            None and a first :class:`~cnncore.layers.Conv2D` skips computing it, as
            training does.

        Returns
        -------
        ndarray or None
            The gradient with respect to ``x``, ``(N,) + input_shape`` in the model's
            dtype; None when ``input_grad`` is False.

        Raises
        ------
        RuntimeError
            If no :meth:`forward` ran since the last backward.
        ValueError
            If ``dloss`` does not have the shape of the last output.

        See Also
        --------
        forward : Must run first.
        gradients : The parameter gradients this stores.
        cnncore.softmax_cross_entropy : Gives ``dloss`` for the logits.

        Examples
        --------
        >>> import numpy as np
        >>> import cnncore
        >>> from cnncore import Sequential
        >>> from cnncore.layers import Dense, Flatten, Softmax
        >>> model = Sequential([Flatten(), Dense(3), Softmax()], input_shape=(2, 2, 1))
        >>> logits = model.forward(np.ones((4, 2, 2, 1)), training=True, logits=True)
        >>> loss, dlogits = cnncore.softmax_cross_entropy(logits, np.array([0, 1, 2, 0]))
        >>> dx = model.backward(dlogits)
        >>> dx.shape, [g.shape for g in model.gradients()]
        ((4, 2, 2, 1), [(4, 3), (3,)])
        """
        if not self._ran:
            raise RuntimeError(f"Model {self.name!r}: backward() needs a forward() first.")
        d = as_array(dloss, "dloss", f"Model {self.name!r}")
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
        remade, self._remade = self._remade, set()
        for i in range(len(ran) - 1, -1, -1):
            layer = ran[i]
            if i in remade:         # its input, the BatchNorm + ReLU output, dropped in _run
                layer._cache = ran[i - 1]._cache = ran[i - 2]._output_again()
            if i == 0 and not input_grad and isinstance(layer, Conv2D):
                layer.backward(d, input_grad=False)
            elif isinstance(layer, ReLU) and i < len(ran) - 1:
                d = layer.backward_inplace(d)   # into a gradient the layer after it made
            else:
                d = layer.backward(d)
            layer.clear_cache()     # its memory serves the next step
        return d if input_grad else None

    def predict(self, x, batch_size=32, verbose="auto"):
        """Run inference in batches of ``batch_size``; return the outputs for all of ``x``.

        Inference mode: moving averages in batch norm, no dropout.  Nothing is kept
        for :meth:`backward`, so memory holds one batch's activations at a time.
        ``model(x)`` is ``predict(x, batch_size=32)``.

        Parameters
        ----------
        x : array_like
            Inputs ``(N,) + input_shape``; cast to the model's dtype.
        batch_size : int, default 32
            Number of inputs per pass.
        verbose : bool or "auto", default "auto"
            True shows a tqdm progress bar, False none, ``"auto"`` one when there is
            more than one batch.

        Returns
        -------
        ndarray
            ``(N,) + output_shape`` in the model's dtype (probabilities for a model that
            ends with Softmax).

        Raises
        ------
        RuntimeError
            If the model is not built.
        ValueError
            If ``x`` does not have the shape ``(N,) + input_shape`` or ``batch_size``
            is not a positive int.
        TypeError
            If ``x`` is not a real numeric array.

        See Also
        --------
        forward : One pass that keeps what backward needs.
        evaluate : Loss and accuracy against labels.

        Examples
        --------
        >>> import numpy as np
        >>> import cnncore
        >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
        ...                       fc_units=32)
        >>> x = np.random.default_rng(0).standard_normal((5, 32, 32, 3))
        >>> probs = model.predict(x, batch_size=2, verbose=False)
        >>> probs.shape, np.allclose(probs, model(x), atol=1e-6)
        ((5, 10), True)
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
        """Run the model on ``x``: ``model(x)`` for inference, ``model(x, training=True)``.

        ``model(x)`` is ``predict(x, batch_size=32)``: inference in batches of 32 (a
        progress bar when there is more than one batch), nothing kept for
        :meth:`backward`.  ``model(x, training=True)`` is ``forward(x, training=True)``:
        one pass in training mode that keeps what :meth:`backward` needs.

        Parameters
        ----------
        x : array_like
            A batch ``(N,) + input_shape``; for images ``(N, H, W, C)``, channels-last.
            Cast to the model's dtype.
        training : bool, default False
            Training mode (batch statistics in batch norm, dropout) instead of
            inference.

        Returns
        -------
        ndarray
            ``(N,) + output_shape`` in the model's dtype (probabilities for a model
            that ends with Softmax).

        Raises
        ------
        RuntimeError
            If the model is not built.
        ValueError
            If ``x`` does not have the shape ``(N,) + input_shape``.
        TypeError
            If ``x`` is not a real numeric array.

        See Also
        --------
        predict : Inference with a chosen batch size.
        forward : One pass that keeps what backward needs.

        Examples
        --------
        >>> import numpy as np
        >>> import cnncore
        >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
        ...                       fc_units=32)
        >>> x = np.random.default_rng(0).standard_normal((3, 32, 32, 3))
        >>> model(x).shape, model(x, training=True).shape
        ((3, 10), (3, 10))
        """
        if training:
            return self.forward(x, training=True)
        return self.predict(x, batch_size=32, verbose="auto")

    # -- parameters -----------------------------------------------------------
    def parameters(self):
        """Return the trainable arrays themselves, layer by layer, in Keras order.

        The arrays an optimizer updates in place (:meth:`cnncore.training.SGD.step`):
        kernels, biases, batch-norm gamma and beta; not the moving averages.

        Returns
        -------
        list of ndarray
            The layers' own arrays (not copies).

        See Also
        --------
        gradients : Their gradients, same order.
        named_parameters : The same with names.

        Examples
        --------
        >>> import cnncore
        >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
        ...                       fc_units=32)
        >>> len(model.parameters()), sum(p.size for p in model.parameters()) == model.num_params
        (22, True)
        """
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        """Return the gradients from the last :meth:`backward`, in the order of :meth:`parameters`.

        Each has the shape of its parameter.

        Returns
        -------
        list of ndarray
            The arrays in the layers' ``grads``.

        Raises
        ------
        RuntimeError
            If a layer has no gradients yet (no :meth:`backward` since it was built or
            its weights were set).

        See Also
        --------
        parameters : The arrays these belong to.
        backward : Computes them.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore import Sequential
        >>> from cnncore.layers import Dense
        >>> model = Sequential([Dense(3)], input_shape=(2,))
        >>> y = model.forward(np.ones((5, 2)), training=True)
        >>> dx = model.backward(np.ones_like(y))
        >>> [g.tolist() for g in model.gradients()]
        [[[5.0, 5.0, 5.0], [5.0, 5.0, 5.0]], [5.0, 5.0, 5.0]]
        """
        return [g for layer in self.layers for g in layer.gradients()]

    def named_parameters(self):
        """Return ``(name, array)`` pairs of the trainable arrays.

        Names are ``"<layer name>/<weight name>"`` (``"block1_conv1/kernel"``); the
        order is that of :meth:`parameters`.

        Returns
        -------
        list of tuple of (str, ndarray)
            The names and the arrays themselves.

        See Also
        --------
        named_weights : Every weight, trainable or not.

        Examples
        --------
        >>> import cnncore
        >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
        ...                       batch_norm=True)
        >>> [name for name, _ in model.named_parameters()[:3]]
        ['block1_conv1/kernel', 'block1_bn1/gamma', 'block1_bn1/beta']
        """
        return [(f"{layer.name}/{n}", layer.params[n])
                for layer in self.layers for n in layer.trainable_names if n in layer.params]

    def named_weights(self):
        """Return ``(name, array)`` pairs of every weight, in Keras order.

        Names are ``"<layer name>/<weight name>"``, the keys of the files
        :meth:`save_weights` writes; the order is that of :meth:`get_weights`.

        Returns
        -------
        list of tuple of (str, ndarray)
            The names and the arrays themselves (not copies).

        See Also
        --------
        named_parameters : Only the trainable ones.
        save_weights : Writes them under these names.

        Examples
        --------
        >>> import cnncore
        >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
        ...                       batch_norm=True)
        >>> [name for name, _ in model.named_weights()[:5]]   # doctest: +NORMALIZE_WHITESPACE
        ['block1_conv1/kernel', 'block1_bn1/gamma', 'block1_bn1/beta',
         'block1_bn1/moving_mean', 'block1_bn1/moving_var']
        """
        return [(f"{layer.name}/{n}", w) for layer in self.layers for n, w in layer.weight_items()]

    @property
    def num_params(self):
        """Number of trainable parameters.

        The total size of :meth:`parameters`: 143,667,240 for ``cnncore.vgg19()``,
        143,672,744 with ``batch_norm=True``.  Batch-norm moving averages count in
        :attr:`num_non_trainable_params`.

        See Also
        --------
        summary : The counts per layer.

        Examples
        --------
        >>> import cnncore
        >>> cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
        ...               fc_units=32).num_params
        148026
        """
        return int(sum(layer.num_params for layer in self.layers))

    @property
    def num_non_trainable_params(self):
        """Number of non-trainable weights (batch-norm moving averages).

        Two per channel of each :class:`~cnncore.layers.BatchNorm` layer (moving mean
        and variance); 0 for models without batch norm.

        See Also
        --------
        num_params : The trainable ones.

        Examples
        --------
        >>> import cnncore
        >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
        ...                       batch_norm=True)
        >>> model.num_non_trainable_params          # 2 * (8 + 16 + 2 * 32 + 4 * 64)
        688
        """
        return int(sum(layer.num_non_trainable_params for layer in self.layers))

    @property
    def macs(self):
        """Multiply-accumulates of one forward pass, per example.

        The sum over the layers' :attr:`~cnncore.layers.Layer.macs` (convolutions and
        dense layers): 19,632,062,464 (19.6 G) for ``cnncore.vgg19()``.

        See Also
        --------
        summary : The MACs per layer.

        Examples
        --------
        >>> import cnncore
        >>> cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
        ...               fc_units=32).macs
        2583872
        """
        return int(sum(layer.macs for layer in self.layers))

    def get_weights(self):
        """Return copies of all weights, layer by layer, in Keras order within a layer.

        As Keras' ``get_weights``: for each convolution its kernel
        ``(KH, KW, C_in, C_out)`` and bias (if any); for each batch norm gamma, beta,
        moving_mean, moving_var; for each dense layer its kernel ``(F_in, F_out)`` and
        bias.  :meth:`set_weights` takes the list back.

        Returns
        -------
        list of ndarray
            Copies, in the model's dtype.

        See Also
        --------
        set_weights : The inverse.
        named_weights : The arrays themselves with their names.

        Examples
        --------
        >>> import cnncore
        >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
        ...                       fc_units=32)
        >>> [w.shape for w in model.get_weights()[:2]], model.get_weights()[-2].shape
        ([(3, 3, 3, 8), (8,)], (32, 10))
        """
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        """Set all weights from a list like :meth:`get_weights`'s.

        Count, shapes and dtypes are checked for the whole list before anything is
        changed: on error the model keeps its old weights.  The arrays are copied and
        cast to the model's dtype.

        Parameters
        ----------
        weights : sequence of array_like
            One array per weight, in the order and shapes of :meth:`get_weights`;
            float or integer.

        Raises
        ------
        RuntimeError
            If the model is not built.
        ValueError
            If the count or a shape differs (the message names the layer and weight).
        TypeError
            If an array is not real numeric.

        See Also
        --------
        get_weights : The list this takes back.
        load_weights : The same from a file.

        Examples
        --------
        >>> import cnncore
        >>> a = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125, seed=0)
        >>> b = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125, seed=1)
        >>> b.set_weights(a.get_weights())
        >>> all((wa == wb).all() for wa, wb in zip(a.get_weights(), b.get_weights()))
        True
        """
        self._check_built()
        weights = as_list(weights, "weights", f"Model {self.name!r}: set_weights")
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
        """Save all weights to ``path`` (.npz, keys ``layer/weight``).

        Calls :func:`cnncore.weights.save_weights`: one array per weight, under the
        names of :meth:`named_weights` (``block1_conv1/kernel``, ...), in cnncore's
        layouts.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write; NumPy appends ``.npz`` if missing.

        Raises
        ------
        RuntimeError
            If the model is not built.

        See Also
        --------
        load_weights : Reads the file back.

        Examples
        --------
        >>> import os
        >>> import tempfile
        >>> import cnncore
        >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     model.save_weights(os.path.join(tmp, "vgg11"))
        ...     os.listdir(tmp)
        ['vgg11.npz']
        """
        _weights.save_weights(self, path)

    def load_weights(self, path):
        """Load weights saved by :meth:`save_weights` (or a torchvision VGG state dict, for VGGs).

        Calls :func:`cnncore.weights.load_weights`: weights are matched by name, and
        every name and shape is checked before anything changes.  A ``.pth``/``.pt``
        file or an ``.npz`` with torchvision keys (``features.0.weight``, ...) is
        imported with :func:`cnncore.weights.load_torchvision_vgg`.

        Parameters
        ----------
        path : str or os.PathLike
            An ``.npz`` file, or a ``.pth``/``.pt`` file (needs PyTorch).

        Raises
        ------
        ValueError
            If the file's names or shapes do not match the model.
        ImportError
            If a ``.pth``/``.pt`` file is given and PyTorch is not installed.

        See Also
        --------
        save_weights : Writes the file.
        set_weights : The same from a list.

        Examples
        --------
        >>> import os
        >>> import tempfile
        >>> import numpy as np
        >>> import cnncore
        >>> a = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125, seed=0)
        >>> b = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125, seed=1)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     a.save_weights(os.path.join(tmp, "a.npz"))
        ...     b.load_weights(os.path.join(tmp, "a.npz"))
        >>> x = np.random.default_rng(0).standard_normal((2, 32, 32, 3))
        >>> np.array_equal(a(x), b(x))
        True
        """
        _weights.load_weights(self, path)

    # -- description ----------------------------------------------------------
    def summary(self, print_fn=None):
        """Return the model as a table: layers, output shapes, parameters, MACs.

        One row per layer (name and type, output shape with ``None`` for the batch
        axis, number of weights, multiply-accumulates per image), after an input row,
        then the totals: all parameters (and their size in MB in the model's dtype),
        trainable, non-trainable, MACs.  As Keras' ``summary``, but returned.

        Parameters
        ----------
        print_fn : callable, optional
            Called with the table (e.g. ``print``); None (the default) only returns it.

        Returns
        -------
        str
            The table.

        Raises
        ------
        RuntimeError
            If the model is not built.

        See Also
        --------
        num_params : The trainable total.
        macs : The MACs total.

        Examples
        --------
        >>> from cnncore import Sequential
        >>> from cnncore.layers import Dense, Flatten
        >>> model = Sequential([Flatten(), Dense(3, name="fc")], input_shape=(2, 2, 1),
        ...                    name="tiny")
        >>> text = model.summary(print_fn=print)
        Model: "tiny"
        =====================================================
        Layer (type)         Output Shape      Param #   MACs
        =====================================================
        input (InputLayer)   (None, 2, 2, 1)         0      0
        flatten (Flatten)    (None, 4)               0      0
        fc (Dense)           (None, 3)              15     12
        =====================================================
        Total params: 15 (0.00 MB as float32)
        Trainable params: 15
        Non-trainable params: 0
        Total MACs: 12 (12) per image
        =====================================================
        """
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
        """Return a copy for inference with each BatchNorm folded into the layer before.

        Each :class:`~cnncore.layers.BatchNorm` right after a
        :class:`~cnncore.layers.Conv2D` or :class:`~cnncore.layers.Dense` layer is
        folded into it (which gains a bias).  With ``s = gamma / sqrt(moving_var + eps)``:
        ``kernel' = kernel * s`` (per output channel) and
        ``bias' = (bias - moving_mean) * s + beta``, computed in float64.  The copy
        gives the same inference outputs (up to rounding) with fewer layers; this
        model is unchanged (but for the caches of its last forward, which are
        released).  A BatchNorm that does not directly follow a Conv2D or Dense stays
        as it is.  A folded :class:`VGG` has ``batch_norm=False`` and ``folded=True``.

        Returns
        -------
        Sequential
            A new model of the same class, with its own arrays.

        Raises
        ------
        RuntimeError
            If the model is not built.

        See Also
        --------
        cnncore.layers.BatchNorm : The layers folded.

        Examples
        --------
        >>> import numpy as np
        >>> import cnncore
        >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
        ...                       fc_units=32, batch_norm=True, dtype="float64")
        >>> folded = model.fold_batchnorm()
        >>> len(model.layers), len(folded.layers)
        (38, 30)
        >>> x = np.random.default_rng(0).standard_normal((2, 32, 32, 3))
        >>> np.allclose(model(x), folded(x))
        True
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
        """Train with :func:`cnncore.training.fit` (softmax cross-entropy, SGD); return the history.

        ``model.fit(x, y, **kwargs)`` is ``cnncore.training.fit(model, x, y, **kwargs)``:
        mini-batch SGD with momentum on the softmax cross-entropy of the logits,
        reproducible from its ``seed``.

        Parameters
        ----------
        x : array_like
            Training inputs ``(N,) + input_shape``.
        y : array_like of int
            Class ids ``(N,)`` in ``[0, num_classes)``.
        **kwargs
            ``epochs``, ``batch_size``, ``optimizer``, ``validation_data``,
            ``shuffle``, ``seed``, ``verbose``, ``lr_schedule``, ``callback``: see
            :func:`cnncore.training.fit`.

        Returns
        -------
        cnncore.training.History
            Per-epoch ``loss``, ``accuracy``, ``lr``, ``time`` (and ``val_loss``,
            ``val_accuracy`` with validation data).

        Raises
        ------
        ValueError
            If ``x``, ``y`` or an argument is invalid (see :func:`cnncore.training.fit`).
        TypeError
            If ``x`` is not a real numeric array.

        See Also
        --------
        cnncore.training.fit : The training loop.
        evaluate : Loss and accuracy on other data.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore import Sequential
        >>> from cnncore.layers import Dense, Softmax
        >>> from cnncore.training import SGD
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((64, 2))
        >>> y = (x[:, 0] > x[:, 1]).astype(int)
        >>> model = Sequential([Dense(2), Softmax()], input_shape=(2,))
        >>> history = model.fit(x, y, epochs=5, batch_size=8, optimizer=SGD(0.1), verbose=False)
        >>> history.epochs, model.evaluate(x, y)["accuracy"] >= 0.95
        (5, True)
        """
        return _training.fit(self, x, y, **kwargs)

    def evaluate(self, x, y, batch_size=256):
        """Return the mean loss and the accuracy on ``(x, y)``, in inference mode.

        ``model.evaluate(x, y)`` is ``cnncore.training.evaluate(model, x, y)``: the
        mean softmax cross-entropy of the logits and the fraction of inputs whose
        largest output is the label.

        Parameters
        ----------
        x : array_like
            Inputs ``(N,) + input_shape``.
        y : array_like of int
            Class ids ``(N,)`` in ``[0, num_classes)``.
        batch_size : int, default 256
            Number of inputs per pass.

        Returns
        -------
        dict
            ``{"loss": float, "accuracy": float}``; both NaN for an empty ``x``.

        Raises
        ------
        ValueError
            If ``x`` or ``y`` has the wrong shape or ``y`` holds ids out of range.
        TypeError
            If ``x`` is not a real numeric array.

        See Also
        --------
        cnncore.training.evaluate : The function called.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore import Sequential
        >>> from cnncore.layers import Dense, Softmax
        >>> model = Sequential([Dense(4, kernel_initializer="zeros"), Softmax()],
        ...                    input_shape=(3,))
        >>> result = model.evaluate(np.ones((6, 3)), np.array([0, 1, 2, 3, 0, 0]))
        >>> round(result["loss"], 4), result["accuracy"]     # log(4); every argmax is 0
        (1.3863, 0.5)
        """
        return _training.evaluate(self, x, y, batch_size=batch_size)


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
    ``block{b}_conv{i}``, ``block{b}_relu{i}`` and ``block{b}_pool`` (a block ends at
    each ``"M"``), then ``flatten``, ``fc1``, ``fc1_relu``, ``fc1_dropout``, ``fc2``,
    ``fc2_relu``, ``fc2_dropout``, ``predictions`` and a final ``softmax``, so that the
    model returns probabilities.  The flatten is channels-last, as in Keras.

    ``batch_norm=True`` follows the seed's f(BN(Wx)): convolution without bias, then
    ``block{b}_bn{i}``, then ReLU.  ``width`` multiplies every convolution's channels
    (at least 1 each); ``fc_units`` is the size of fc1 and fc2 (default
    ``round(4096 * width)``); ``dropout`` the rate of the dropout after fc1 and fc2
    (as torchvision; 0 leaves them out).  The input side must be a multiple of
    ``2 ** (number of "M")`` (32 for the standard configs) and at least that.
    Convolution and fc kernels are He-normal, the ``predictions`` kernel is Glorot
    uniform, biases are zeros.

    Parameters
    ----------
    config : str or list of (int or "M"), default "vgg19"
        ``"vgg11"``, ``"vgg13"``, ``"vgg16"`` or ``"vgg19"`` (any case), or a list
        with at least one int and one ``"M"``.
    num_classes : int, default 1000
        Outputs of ``predictions``.
    input_shape : tuple of (int, int, int), default (224, 224, 3)
        ``(H, W, C)``, channels-last.
    batch_norm : bool, default False
        Insert a batch norm between each convolution and its ReLU (convolutions
        then have no bias).
    width : float, default 1.0
        Factor on every convolution's channels (rounded, at least 1).
    fc_units : int, optional
        Size of fc1 and fc2; None means ``round(4096 * width)`` (at least 1).
    dropout : float, default 0.5
        Rate of the dropout layers after fc1 and fc2, in [0, 1); 0 leaves them out.
    seed : int, sequence of int or None, default 0
        Seed of the initial weights and of the dropout masks.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of the parameters and of every computation.
    name : str, optional
        The model's name; None means the config's name (``"vgg19"``, with ``"_bn"``
        appended for ``batch_norm=True``), or ``"vgg"`` for a list.
    bn_momentum : float, default 0.99
        ``momentum`` of the batch-norm layers (Keras' meaning).
    bn_epsilon : float, default 1e-3
        ``epsilon`` of the batch-norm layers.

    Attributes
    ----------
    config : list
        The configuration as a list.
    config_name : str or None
        ``"vgg19"`` etc., None for a list.
    num_classes, fc_units : int
        As built.
    batch_norm : bool
        Whether the model has batch norm (False after :meth:`Sequential.fold_batchnorm`).
    width, dropout : float
        As built.
    folded : bool
        Whether the model comes from :meth:`Sequential.fold_batchnorm`.

    Raises
    ------
    ValueError
        If ``config`` is an unknown name or a list with an entry that is neither a
        positive int nor ``"M"``; ``num_classes`` or ``fc_units`` is not a positive
        int; ``width`` is not a positive number; ``dropout`` is not in [0, 1);
        ``input_shape`` is not ``(H, W, C)`` with H and W multiples of
        ``2 ** pools``; ``name`` is empty; ``seed`` is negative; or a batch-norm
        argument is out of range.
    TypeError
        If ``dtype`` is not float32 or float64, ``seed`` is not None, an int or a
        sequence of ints, or ``bn_momentum`` or ``bn_epsilon`` is not a number.

    See Also
    --------
    vgg19 : VGG-19 with the standard configuration.
    VGG_CONFIGS : The standard configurations.
    cnncore.weights.load_torchvision_vgg : Imports torchvision's weights.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore import VGG
    >>> model = VGG([8, "M", 16, "M"], num_classes=3, input_shape=(8, 8, 1), fc_units=16,
    ...             dropout=0.0)
    >>> [layer.name for layer in model.layers][:6]
    ['block1_conv1', 'block1_relu1', 'block1_pool', 'block2_conv1', 'block2_relu1', 'block2_pool']
    >>> model.get_layer("flatten").output_shape, model.output_shape, model.num_params
    ((64,), (3,), 2611)
    >>> model(np.zeros((2, 8, 8, 1))).shape
    (2, 3)
    """

    def __init__(self, config="vgg19", num_classes=1000, input_shape=(224, 224, 3),
                 batch_norm=False, width=1.0, fc_units=None, dropout=0.5, seed=0,
                 dtype="float32", name=None, bn_momentum=0.99, bn_epsilon=1e-3):
        cfg_name = config.lower() if isinstance(config, str) else None
        config = _check_config(config)
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int. Received: num_classes={num_classes!r}")
        if (not isinstance(width, numbers.Real) or isinstance(width, bool) or not width > 0
                or not math.isfinite(width)):
            raise ValueError(f"width must be a positive number. Received: width={width!r}")
        if fc_units is None:
            fc_units = max(1, int(round(4096 * width)))
        if isinstance(fc_units, bool) or not isinstance(fc_units, numbers.Integral) or fc_units < 1:
            raise ValueError(f"fc_units must be a positive int. Received: fc_units={fc_units!r}")
        if not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
        bn_momentum = as_real(bn_momentum, "bn_momentum", "VGG")    # ranges: BatchNorm's checks
        bn_epsilon = as_real(bn_epsilon, "bn_epsilon", "VGG")
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
            hint = input_shape_hint(input_shape)
            raise ValueError(
                f"input_shape must be (H, W, C) with H and W multiples of {side} and at least {side} "
                f"({pools} poolings of 2x2, stride 2) and C >= 1{hint}. "
                f"Received: input_shape={input_shape!r}"
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
        """Import a torchvision-layout VGG state dict into this model.

        Calls :func:`cnncore.weights.load_torchvision_vgg`: kernels are transposed to
        cnncore's layouts, the first dense layer's rows permuted from PyTorch's
        (C, H, W) flatten order, and everything is checked before any weight
        changes.

        Parameters
        ----------
        state_dict : mapping, torch module, str or os.PathLike
            A ``{key: tensor or array}`` mapping (``features.0.weight``, ...), a torch
            module, a ``.pth``/``.pt`` file (needs PyTorch) or an ``.npz`` with the same
            keys.
        bn_epsilon : float or None, default 1e-5
            Set as ``epsilon`` on every batch-norm layer (PyTorch's); None keeps the
            model's own.

        Raises
        ------
        ValueError
            If the state dict's layers or shapes do not match the model.
        ImportError
            If a ``.pth``/``.pt`` file is given and PyTorch is not installed.

        See Also
        --------
        cnncore.weights.to_torchvision_state_dict : The inverse.

        Examples
        --------
        >>> import numpy as np
        >>> import cnncore
        >>> from cnncore.weights import to_torchvision_state_dict
        >>> a = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125, seed=0)
        >>> b = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125, seed=1)
        >>> b.load_torchvision(to_torchvision_state_dict(a))
        >>> x = np.random.default_rng(0).standard_normal((2, 32, 32, 3))
        >>> np.allclose(a(x), b(x))
        True
        """
        _weights.load_torchvision_vgg(self, state_dict, bn_epsilon=bn_epsilon)


def vgg(config="vgg19", num_classes=1000, input_shape=(224, 224, 3), batch_norm=False, seed=0,
        dtype="float32", **kwargs):
    """Build a VGG (see :class:`VGG`); ``config`` a name in :data:`VGG_CONFIGS` or a list.

    The same as ``VGG(config, ...)``; :func:`vgg11`, :func:`vgg13`, :func:`vgg16`
    and :func:`vgg19` call it with their configuration.

    Parameters
    ----------
    config : str or list of (int or "M"), default "vgg19"
        A name in :data:`VGG_CONFIGS` (any case) or a list such as
        ``[64, "M", 128, "M"]``: an int is a 3x3 SAME convolution with that many
        channels and a ReLU, ``"M"`` a 2x2 max pooling with stride 2.
    num_classes : int, default 1000
        Number of outputs.
    input_shape : tuple of (int, int, int), default (224, 224, 3)
        ``(H, W, C)``, channels-last; H and W multiples of ``2 ** pools`` (32 for
        the standard configurations).
    batch_norm : bool, default False
        Batch norm between each convolution (then without bias) and its ReLU.
    seed : int, sequence of int or None, default 0
        Seed of the initial weights.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of the parameters and of every computation.
    **kwargs
        ``width``, ``fc_units``, ``dropout``, ``name``, ``bn_momentum``,
        ``bn_epsilon``: see :class:`VGG`.

    Returns
    -------
    VGG
        The model, built and initialised.

    Raises
    ------
    ValueError
        If an argument is invalid (see :class:`VGG`).
    TypeError
        If an argument has the wrong type, e.g. ``dtype`` not float32 or float64
        (see :class:`VGG`).

    See Also
    --------
    VGG : The class, with every argument.

    Examples
    --------
    >>> import cnncore
    >>> model = cnncore.vgg([16, "M", 32, "M"], num_classes=2, input_shape=(16, 16, 3),
    ...                     fc_units=8)
    >>> model.name, model.output_shape
    ('vgg', (2,))
    """
    return VGG(config, num_classes=num_classes, input_shape=input_shape, batch_norm=batch_norm,
               seed=seed, dtype=dtype, **kwargs)


def vgg11(num_classes=1000, input_shape=(224, 224, 3), batch_norm=False, seed=0, dtype="float32", **kwargs):
    """Build VGG-11 (configuration A): 8 convolutions in 5 blocks, 3 dense layers, softmax.

    132,863,336 trainable parameters with the defaults.  Extra keywords
    (``width``, ``fc_units``, ``dropout``, ...) go to :class:`VGG`.

    Parameters
    ----------
    num_classes : int, default 1000
        Number of outputs.
    input_shape : tuple of (int, int, int), default (224, 224, 3)
        ``(H, W, C)``, channels-last; H and W multiples of 32.
    batch_norm : bool, default False
        Batch norm between each convolution (then without bias) and its ReLU.
    seed : int, sequence of int or None, default 0
        Seed of the initial weights.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of the parameters and of every computation.
    **kwargs
        ``width``, ``fc_units``, ``dropout``, ``name``, ``bn_momentum``,
        ``bn_epsilon``: see :class:`VGG`.

    Returns
    -------
    VGG
        The model, built and initialised.

    Raises
    ------
    ValueError
        If an argument is invalid (see :class:`VGG`).
    TypeError
        If an argument has the wrong type, e.g. ``dtype`` not float32 or float64
        (see :class:`VGG`).

    See Also
    --------
    vgg : Any configuration.

    Examples
    --------
    >>> import cnncore
    >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
    ...                       fc_units=32)
    >>> model.name, model.num_params
    ('vgg11', 148026)
    """
    return vgg("vgg11", num_classes, input_shape, batch_norm, seed, dtype, **kwargs)


def vgg13(num_classes=1000, input_shape=(224, 224, 3), batch_norm=False, seed=0, dtype="float32", **kwargs):
    """Build VGG-13 (configuration B): 10 convolutions in 5 blocks, 3 dense layers, softmax.

    133,047,848 trainable parameters with the defaults.  Extra keywords
    (``width``, ``fc_units``, ``dropout``, ...) go to :class:`VGG`.

    Parameters
    ----------
    num_classes : int, default 1000
        Number of outputs.
    input_shape : tuple of (int, int, int), default (224, 224, 3)
        ``(H, W, C)``, channels-last; H and W multiples of 32.
    batch_norm : bool, default False
        Batch norm between each convolution (then without bias) and its ReLU.
    seed : int, sequence of int or None, default 0
        Seed of the initial weights.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of the parameters and of every computation.
    **kwargs
        ``width``, ``fc_units``, ``dropout``, ``name``, ``bn_momentum``,
        ``bn_epsilon``: see :class:`VGG`.

    Returns
    -------
    VGG
        The model, built and initialised.

    Raises
    ------
    ValueError
        If an argument is invalid (see :class:`VGG`).
    TypeError
        If an argument has the wrong type, e.g. ``dtype`` not float32 or float64
        (see :class:`VGG`).

    See Also
    --------
    vgg : Any configuration.

    Examples
    --------
    >>> import cnncore
    >>> model = cnncore.vgg13(num_classes=10, input_shape=(32, 32, 3), width=0.125,
    ...                       fc_units=32)
    >>> model.name, model.num_params
    ('vgg13', 150930)
    """
    return vgg("vgg13", num_classes, input_shape, batch_norm, seed, dtype, **kwargs)


def vgg16(num_classes=1000, input_shape=(224, 224, 3), batch_norm=False, seed=0, dtype="float32", **kwargs):
    """Build VGG-16 (configuration D): 13 convolutions in 5 blocks, 3 dense layers, softmax.

    138,357,544 trainable parameters with the defaults.  Extra keywords
    (``width``, ``fc_units``, ``dropout``, ...) go to :class:`VGG`.

    Parameters
    ----------
    num_classes : int, default 1000
        Number of outputs.
    input_shape : tuple of (int, int, int), default (224, 224, 3)
        ``(H, W, C)``, channels-last; H and W multiples of 32.
    batch_norm : bool, default False
        Batch norm between each convolution (then without bias) and its ReLU.
    seed : int, sequence of int or None, default 0
        Seed of the initial weights.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of the parameters and of every computation.
    **kwargs
        ``width``, ``fc_units``, ``dropout``, ``name``, ``bn_momentum``,
        ``bn_epsilon``: see :class:`VGG`.

    Returns
    -------
    VGG
        The model, built and initialised.

    Raises
    ------
    ValueError
        If an argument is invalid (see :class:`VGG`).
    TypeError
        If an argument has the wrong type, e.g. ``dtype`` not float32 or float64
        (see :class:`VGG`).

    See Also
    --------
    vgg : Any configuration.

    Examples
    --------
    >>> import cnncore
    >>> model = cnncore.vgg16(num_classes=10, input_shape=(32, 32, 3), width=0.125,
    ...                       fc_units=32)
    >>> model.name, model.num_params
    ('vgg16', 234034)
    """
    return vgg("vgg16", num_classes, input_shape, batch_norm, seed, dtype, **kwargs)


def vgg19(num_classes=1000, input_shape=(224, 224, 3), batch_norm=False, seed=0, dtype="float32", **kwargs):
    """Build VGG-19 (configuration E): 16 convolutions in 5 blocks, 3 dense layers, softmax.

    143,667,240 trainable parameters with the defaults, 143,672,744 with
    ``batch_norm=True`` (the 5,504 conv biases go, 11,008 gammas and betas come).
    Extra keywords (``width``, ``fc_units``, ``dropout``, ...) go to :class:`VGG`.
    The default model takes 224x224 RGB images, ``(N, 224, 224, 3)``, and returns
    probabilities ``(N, 1000)``; its float32 weights take 548 MB.

    Parameters
    ----------
    num_classes : int, default 1000
        Number of outputs.
    input_shape : tuple of (int, int, int), default (224, 224, 3)
        ``(H, W, C)``, channels-last; H and W multiples of 32.
    batch_norm : bool, default False
        Batch norm between each convolution (then without bias) and its ReLU.
    seed : int, sequence of int or None, default 0
        Seed of the initial weights.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of the parameters and of every computation.
    **kwargs
        ``width``, ``fc_units``, ``dropout``, ``name``, ``bn_momentum``,
        ``bn_epsilon``: see :class:`VGG`.

    Returns
    -------
    VGG
        The model, built and initialised.

    Raises
    ------
    ValueError
        If an argument is invalid (see :class:`VGG`).
    TypeError
        If an argument has the wrong type, e.g. ``dtype`` not float32 or float64
        (see :class:`VGG`).

    See Also
    --------
    VGG : The class, with every argument.
    cnncore.weights.load_torchvision_vgg : Imports torchvision's trained weights.

    Examples
    --------
    A VGG-19 for 32x32 images with an eighth of the channels:

    >>> import numpy as np
    >>> import cnncore
    >>> model = cnncore.vgg19(num_classes=10, input_shape=(32, 32, 3), width=0.125,
    ...                       fc_units=32)
    >>> model.num_params, len(model.layers)
    (317138, 46)
    >>> model(np.zeros((2, 32, 32, 3), dtype=np.float32)).shape
    (2, 10)
    """
    return vgg("vgg19", num_classes, input_shape, batch_norm, seed, dtype, **kwargs)
