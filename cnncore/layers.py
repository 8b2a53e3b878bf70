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

Dtypes: ``build`` creates the parameters in the dtype it is given (a model passes
its own, float32 by default).  ``forward`` follows the functional API's rule: the
output has the dtype of ``x`` (integer input becomes float64) and the parameters
are cast to it for the call.  Inside a model ``x`` already has the model's dtype,
so everything computes in that dtype.

Examples
--------
>>> import numpy as np
>>> from cnncore.layers import Conv2D
>>> conv = Conv2D(8, kernel_size=3, padding="same", name="conv")
>>> conv.build((32, 32, 3))
(32, 32, 8)
>>> [w.shape for w in conv.get_weights()]
[(3, 3, 3, 8), (8,)]
>>> y = conv(np.ones((2, 32, 32, 3), dtype=np.float32))
>>> y.shape, y.dtype
((2, 32, 32, 8), dtype('float32'))
>>> dx = conv.backward(np.ones_like(y))
>>> dx.shape, conv.grads["kernel"].shape
((2, 32, 32, 3), (3, 3, 3, 8))
"""
import math
import re

import numpy as np

from . import functional as F
from ._checks import (as_array, as_dtype, as_int, as_list, as_pair, as_real, as_rng, as_shape,
                      input_shape_hint, padding_spec, window_geometry)

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


def _shape_str(shape):
    if shape is None:
        return "None"
    return "(" + ", ".join(["None"] + [str(s) for s in shape]) + ")"


INITIALIZERS = ("he_normal", "glorot_uniform", "zeros")


def _check_initializer(kind, func):
    if not isinstance(kind, str) or kind not in INITIALIZERS:
        raise ValueError(
            f'{func}: kernel_initializer must be "he_normal", "glorot_uniform" or "zeros". '
            f"Received: kernel_initializer={kind!r}"
        )
    return kind


def _initialize(rng, shape, dtype, kind, fan_in, fan_out, func):
    """Random weights without a float64 temporary of the whole array."""
    _check_initializer(kind, func)
    if kind == "he_normal":
        w = rng.standard_normal(shape, dtype=dtype)
        w *= dtype.type(math.sqrt(2.0 / fan_in))
    elif kind == "glorot_uniform":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        w = rng.random(shape, dtype=dtype)
        w *= dtype.type(2.0 * limit)
        w -= dtype.type(limit)
    else:
        w = np.zeros(shape, dtype=dtype)
    return w


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# ----------------------------------------------------------------------------
# base class


class Layer:
    """Base class of the layers: parameters in ``params``, gradients in ``grads``.

    A layer is created with its hyper-parameters, built once for an input shape by
    :meth:`build` (which creates the parameters and returns the output shape), then
    run: :meth:`forward` computes the output and keeps what :meth:`backward` needs;
    :meth:`backward` stores the gradients of the trainable parameters in ``grads``
    (replacing the previous ones, not accumulating) and returns the gradient with
    respect to the input.  Subclasses set ``weight_names`` (every weight, Keras
    order) and ``trainable_names`` (the subset that gradients and optimizers touch)
    and define ``_build``, :meth:`forward` and :meth:`backward`.  The base class
    itself passes shapes through and has no computation.

    Parameters
    ----------
    name : str, optional
        The layer's name, unique within a model (``"block1_conv1"``).  None (the
        default) lets :meth:`cnncore.Sequential.add` give it a Keras-style name
        (``conv2d``, ``conv2d_1``, ...; see :func:`default_name`).

    Attributes
    ----------
    name : str or None
        The layer's name.
    built : bool
        Whether :meth:`build` has run.
    input_shape, output_shape : tuple of int or None
        Shapes of one example (no batch axis), set by :meth:`build`.
    dtype : numpy.dtype or None
        Dtype of the parameters, set by :meth:`build`.
    params : dict of str to ndarray
        The weights by name (``"kernel"``, ``"bias"``, ``"gamma"``, ...).
    grads : dict of str to ndarray
        Gradients of the trainable weights from the last :meth:`backward`.

    Raises
    ------
    ValueError
        If ``name`` is given and is not a non-empty string.

    See Also
    --------
    cnncore.Sequential : A stack of layers that builds and runs them in turn.
    default_name : The Keras-style name a model gives an unnamed layer.

    Examples
    --------
    Every layer goes through the same steps; here a :class:`Dense` layer:

    >>> import numpy as np
    >>> from cnncore.layers import Dense
    >>> layer = Dense(3, name="fc")
    >>> layer.build((4,))
    (3,)
    >>> y = layer(np.ones((2, 4), dtype=np.float32))
    >>> dx = layer.backward(np.ones_like(y))
    >>> dx.shape, layer.grads["kernel"].shape, layer.grads["bias"].shape
    ((2, 4), (4, 3), (3,))
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

    def _where(self):
        """How errors name this layer: ``Conv2D``, or ``Layer 'block1_conv1' (Conv2D)``."""
        kind = type(self).__name__
        return kind if self.name is None else f"Layer {self.name!r} ({kind})"

    # -- building ------------------------------------------------------------
    def build(self, input_shape, rng=None, dtype="float32"):
        """Create the parameters for inputs of ``input_shape``; return the output shape.

        Sets ``input_shape``, ``dtype``, ``output_shape`` and ``built``.  A model calls
        it for each layer in turn, with the previous layer's output shape, one shared
        random generator and the model's dtype.  Layers without parameters compute
        their output shape (a :class:`Dropout` without a seed also seeds its masks
        from the generator).

        Parameters
        ----------
        input_shape : tuple of int
            Shape of one example without the batch axis: ``(H, W, C)`` for images,
            ``(F,)`` for flat features.
        rng : numpy.random.Generator, optional
            Source of the initial weights; None (the default) uses
            ``numpy.random.default_rng(0)``.
        dtype : {"float32", "float64"} or numpy.dtype, default "float32"
            Dtype of the parameters (a model passes its own).

        Returns
        -------
        tuple of int
            The output shape, without the batch axis.

        Raises
        ------
        ValueError
            If ``input_shape`` is not a tuple of positive ints or does not suit the
            layer (not ``(H, W, C)`` for :class:`Conv2D` or :class:`MaxPool2D`, not
            ``(F,)`` for :class:`Dense`, a window larger than the padded input).
        TypeError
            If ``dtype`` is not float32 or float64.

        See Also
        --------
        cnncore.Sequential.build : Builds every layer of a model.

        Examples
        --------
        >>> from cnncore.layers import Conv2D
        >>> Conv2D(8, 3).build((32, 32, 3))
        (30, 30, 8)
        >>> Conv2D(8, 3, strides=2, padding="same").build((32, 32, 3))
        (16, 16, 8)
        """
        self.input_shape = as_shape(input_shape, "input_shape", self._where())
        self.dtype = as_dtype(dtype, "dtype", self._where())
        if rng is None:
            rng = np.random.default_rng(0)
        self.output_shape = tuple(self._build(self.input_shape, rng))
        self.built = True
        return self.output_shape

    def _build(self, input_shape, rng):
        return input_shape

    # -- computing -----------------------------------------------------------
    def forward(self, x, training=False):
        """Compute the layer's output for a batch and keep what backward needs.

        Each subclass defines it; ``layer(x, training)`` calls it.  The base class
        has no computation.

        Parameters
        ----------
        x : ndarray
            A batch, shape ``(N,) + input_shape``.
        training : bool, default False
            Training mode: batch statistics in :class:`BatchNorm`, masks in
            :class:`Dropout`; the other layers compute the same in both modes.

        Returns
        -------
        ndarray
            The output, shape ``(N,) + output_shape``.

        Raises
        ------
        NotImplementedError
            In the base class.

        See Also
        --------
        backward : The gradient of this computation.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import ReLU
        >>> ReLU().forward(np.array([[-1.0, 2.0]]))
        array([[0., 2.]])
        """
        raise NotImplementedError

    def backward(self, dy):
        """Return the gradient with respect to the input; store the parameter gradients.

        Uses what the last :meth:`forward` kept; the gradients of the trainable
        weights replace those in ``grads``.  Each subclass defines it.

        Parameters
        ----------
        dy : ndarray
            Gradient of the loss with respect to the last output, shape
            ``(N,) + output_shape``.

        Returns
        -------
        ndarray
            The gradient with respect to the last input, shape ``(N,) + input_shape``.

        Raises
        ------
        NotImplementedError
            In the base class.

        See Also
        --------
        forward : The computation this differentiates.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import ReLU
        >>> relu = ReLU()
        >>> y = relu.forward(np.array([[-1.0, 2.0]]))
        >>> relu.backward(np.array([[5.0, 5.0]]))
        array([[0., 5.]])
        """
        raise NotImplementedError

    def __call__(self, x, training=False):
        """Run :meth:`forward`: ``layer(x, training)`` is ``layer.forward(x, training)``.

        As in Keras, calling a layer computes its output; what :meth:`backward` needs
        is kept.

        Parameters
        ----------
        x : ndarray
            A batch, shape ``(N,) + input_shape``.
        training : bool, default False
            Training mode (see :meth:`forward`).

        Returns
        -------
        ndarray
            The output, shape ``(N,) + output_shape``.

        See Also
        --------
        forward : What it calls.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import ReLU
        >>> ReLU()(np.array([-1.0, 1.0]))
        array([0., 1.])
        """
        return self.forward(x, training=training)

    def _check_built(self):
        """A clear error instead of a KeyError when a layer with weights runs unbuilt."""
        if not self.built:
            raise ValueError(f"{self._where()} is not built: call its build(input_shape) first "
                             f"(a model builds its layers). Received: a layer with no weights")

    def clear_cache(self):
        """Forget what the last forward kept for backward.

        Frees the arrays a layer holds between :meth:`forward` and :meth:`backward`
        (a model does this after each layer's backward, and in inference).  A
        :meth:`backward` then raises RuntimeError until the next :meth:`forward`;
        the gradients in ``grads`` stay.

        See Also
        --------
        forward : Fills the cache.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import ReLU
        >>> relu = ReLU(name="relu")
        >>> y = relu.forward(np.array([[-1.0, 2.0]]))
        >>> relu.clear_cache()
        >>> relu.backward(np.ones((1, 2)))
        Traceback (most recent call last):
        ...
        RuntimeError: Layer 'relu': backward() needs a forward() first (the cache is empty).
        """
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
        """The weight arrays themselves (not copies), in Keras order.

        Every weight, trainable or not (batch-norm moving averages included), as
        named by ``weight_names``; empty before :meth:`build` and for layers without
        parameters.  Changing one in place changes the layer; :meth:`get_weights`
        gives copies.

        See Also
        --------
        get_weights : Copies of the same arrays.
        parameters : Only the trainable arrays.

        Examples
        --------
        >>> from cnncore.layers import Dense
        >>> fc = Dense(10)
        >>> fc.build((64,))
        (10,)
        >>> [w.shape for w in fc.weights]
        [(64, 10), (10,)]
        """
        return [self.params[n] for n in self.weight_names if n in self.params]

    def weight_items(self):
        """Return ``(name, array)`` pairs of the weights, in Keras order.

        The arrays are the layer's own (not copies), as in :attr:`weights`.

        Returns
        -------
        list of tuple of (str, ndarray)
            ``("kernel", ...)``, ``("bias", ...)``; ``("gamma", ...)``, ``("beta", ...)``,
            ``("moving_mean", ...)``, ``("moving_var", ...)``; empty for layers without
            weights.

        See Also
        --------
        cnncore.Sequential.named_weights : The same for a model, names prefixed by the layer's.

        Examples
        --------
        >>> from cnncore.layers import BatchNorm
        >>> bn = BatchNorm()
        >>> bn.build((8, 8, 3))
        (8, 8, 3)
        >>> [(name, w.shape) for name, w in bn.weight_items()]
        [('gamma', (3,)), ('beta', (3,)), ('moving_mean', (3,)), ('moving_var', (3,))]
        """
        return [(n, self.params[n]) for n in self.weight_names if n in self.params]

    def get_weights(self):
        """Return copies of the weights, in Keras order.

        As Keras' ``get_weights``: a convolution's kernel ``(KH, KW, C_in, C_out)``
        and bias; a batch norm's gamma, beta, moving_mean and moving_var; a dense
        layer's kernel ``(F_in, F_out)`` and bias.  The list can be given back to
        :meth:`set_weights`.

        Returns
        -------
        list of ndarray
            Copies in the layer's dtype; empty for layers without weights.

        See Also
        --------
        set_weights : The inverse.
        weights : The arrays themselves.

        Examples
        --------
        >>> from cnncore.layers import Conv2D
        >>> conv = Conv2D(16, 3, use_bias=False)
        >>> conv.build((32, 32, 3))
        (30, 30, 16)
        >>> [w.shape for w in conv.get_weights()]
        [(3, 3, 3, 16)]
        """
        return [w.copy() for w in self.weights]

    def check_weights(self, weights, where=None):
        """Check a list of weights for :meth:`set_weights`; return them converted.

        Nothing is applied: a model checks every layer's part of a list this way
        before it changes any.  Each array must be real numeric (float or integer)
        and have the shape of the weight it replaces.

        Parameters
        ----------
        weights : sequence of array_like
            One array per weight, in the order of :meth:`get_weights`.
        where : str, optional
            How error messages name the layer; default ``"layer '<name>'"``.

        Returns
        -------
        list of ndarray
            New arrays, converted to the layer's dtype.

        Raises
        ------
        ValueError
            If the count or a shape differs (the message names the weight).
        TypeError
            If an array is not real numeric (complex, bool, strings, objects).

        See Also
        --------
        set_weights : Checks, then assigns.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Dense
        >>> fc = Dense(2, name="fc")
        >>> fc.build((3,))
        (2,)
        >>> [w.dtype for w in fc.check_weights([np.ones((3, 2)), np.zeros(2, dtype=int)])]
        [dtype('float32'), dtype('float32')]
        >>> fc.check_weights([np.ones((2, 3)), np.zeros(2)])
        Traceback (most recent call last):
        ...
        ValueError: layer 'fc': weight 'kernel' must have shape (3, 2). Received: shape (2, 3)
        """
        where = where or f"layer {self.name!r}"
        names = [n for n, _ in self.weight_items()]
        weights = as_list(weights, "weights", where)
        if len(weights) != len(names):
            raise ValueError(
                f"{where} expects {len(names)} weight arrays ({', '.join(names) or 'none'}). "
                f"Received: {len(weights)} arrays"
            )
        out = []
        for name, new in zip(names, weights):
            old = self.params[name]
            arr = as_array(new, name, where)
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
        """Replace the weights with converted copies of ``weights``.

        The list is checked first (:meth:`check_weights`): on error nothing changes.
        The arrays are copied and cast to the layer's dtype; the gradients in
        ``grads`` are dropped.

        Parameters
        ----------
        weights : sequence of array_like
            One array per weight, in the order and shapes of :meth:`get_weights`.

        Raises
        ------
        ValueError
            If the count or a shape differs.
        TypeError
            If an array is not real numeric.

        See Also
        --------
        get_weights : The list this takes back.
        cnncore.Sequential.set_weights : The same for a whole model.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Dense
        >>> fc = Dense(2)
        >>> fc.build((3,))
        (2,)
        >>> fc.set_weights([np.ones((3, 2)), np.array([0.5, -0.5])])
        >>> fc(np.ones((1, 3)))
        array([[3.5, 2.5]])
        """
        self._assign(self.check_weights(weights))

    # -- bookkeeping -----------------------------------------------------------
    def parameters(self):
        """Return the trainable arrays themselves, in Keras order.

        The objects an optimizer updates in place (:meth:`cnncore.training.SGD.step`);
        batch-norm moving averages are not among them.  :meth:`gradients` lists the
        matching gradients.

        Returns
        -------
        list of ndarray
            The layer's own arrays (not copies); empty for layers without parameters.

        See Also
        --------
        gradients : Their gradients, same order.
        weights : Every weight, trainable or not.

        Examples
        --------
        >>> from cnncore.layers import BatchNorm
        >>> bn = BatchNorm()
        >>> bn.build((4,))
        (4,)
        >>> len(bn.parameters()), len(bn.weights)
        (2, 4)
        """
        return [self.params[n] for n in self.trainable_names if n in self.params]

    def gradients(self):
        """Return the gradients of the trainable arrays from the last backward.

        In the order of :meth:`parameters`, each the shape of its parameter.

        Returns
        -------
        list of ndarray
            The arrays in ``grads``; empty for layers without parameters.

        Raises
        ------
        RuntimeError
            If a trainable array has no gradient yet (no :meth:`backward` since the
            layer was built or its weights were set).

        See Also
        --------
        parameters : The arrays these belong to.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Dense
        >>> fc = Dense(2)
        >>> fc.build((3,))
        (2,)
        >>> y = fc.forward(np.ones((4, 3)))
        >>> dx = fc.backward(np.ones_like(y))
        >>> [g.shape for g in fc.gradients()]
        [(3, 2), (2,)]
        """
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
        """Number of trainable parameters.

        The total size of the arrays in :meth:`parameters`; batch-norm moving averages
        count in :attr:`num_non_trainable_params` instead.  0 before :meth:`build`.

        See Also
        --------
        num_non_trainable_params : The other weights.

        Examples
        --------
        >>> from cnncore.layers import Conv2D
        >>> conv = Conv2D(8, 3)
        >>> conv.build((32, 32, 3))
        (30, 30, 8)
        >>> conv.num_params                     # 3 * 3 * 3 * 8 + 8
        224
        """
        return int(sum(self.params[n].size for n in self.trainable_names if n in self.params))

    @property
    def num_non_trainable_params(self):
        """Number of non-trainable weights (batch-norm moving averages).

        Weights that no gradient or optimizer touches: in cnncore's layers, the
        moving mean and variance of :class:`BatchNorm`.

        See Also
        --------
        num_params : The trainable ones.

        Examples
        --------
        >>> from cnncore.layers import BatchNorm
        >>> bn = BatchNorm()
        >>> bn.build((8, 8, 16))
        (8, 8, 16)
        >>> bn.num_params, bn.num_non_trainable_params
        (32, 32)
        """
        return int(sum(w.size for w in self.weights)) - self.num_params

    @property
    def macs(self):
        """Multiply-accumulates of the forward pass, per example.

        ``H_out * W_out * KH * KW * C_in * C_out`` for :class:`Conv2D`,
        ``F_in * units`` for :class:`Dense`, 0 for layers without products.

        See Also
        --------
        cnncore.Sequential.macs : The sum over a model.

        Examples
        --------
        >>> from cnncore.layers import Conv2D
        >>> conv = Conv2D(64, 3, padding="same")
        >>> conv.build((224, 224, 3))
        (224, 224, 64)
        >>> conv.macs                           # 224 * 224 * 3 * 3 * 3 * 64
        86704128
        """
        return 0

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


# ----------------------------------------------------------------------------
# layers with parameters


class Conv2D(Layer):
    """2-D convolution (cross-correlation), channels-last, with an optional bias.

    Keras' ``Conv2D`` without an activation (default name ``conv2d``).  Images
    ``(N, H, W, C_in)`` give ``(N, H_out, W_out, filters)``:
    ``y[b, i, j, o] = sum_{m,n,c} xpad[b, i*sh + m*dh, j*sw + n*dw, c] * kernel[m, n, c, o]
    + bias[o]``, computed by :func:`cnncore.conv2d`.  :meth:`forward` keeps its input
    ``x``; :meth:`backward` fills ``grads["kernel"]`` and ``grads["bias"]`` and returns
    dL/dx (:func:`cnncore.conv2d_backward`).  Weights, both trainable: ``kernel``
    ``(KH, KW, C_in, filters)`` and ``bias`` ``(filters,)`` (zeros at first).

    Parameters
    ----------
    filters : int
        Number of output channels.
    kernel_size : int or tuple of (int, int), default 3
        Kernel height and width; an int means a square kernel.
    strides : int or tuple of (int, int), default 1
        Step of the window along rows and columns.
    padding : str, int or tuple, default "valid"
        ``"valid"`` (no padding) or ``"same"`` (TensorFlow's SAME: output side
        ``ceil(size / stride)``, an odd padded row or column goes at the bottom or
        right), in any case; an int ``p`` (``p`` zeros on every side); ``(ph, pw)``
        (``ph`` rows at the top and bottom, ``pw`` columns left and right); or
        ``((top, bottom), (left, right))``.
    dilation_rate : int or tuple of (int, int), default 1
        Spacing of the kernel taps (1: adjacent).
    use_bias : bool, default True
        Whether the layer adds a trainable bias.  VGG's ``batch_norm=True`` drops
        it, as the batch norm after the convolution would cancel it.
    kernel_initializer : {"he_normal", "glorot_uniform", "zeros"}, default "he_normal"
        How :meth:`Layer.build` draws the kernel: He normal (standard deviation
        ``sqrt(2 / (KH * KW * C_in))``), Glorot uniform (limit
        ``sqrt(6 / (KH * KW * (C_in + filters)))``) or zeros.
    name : str, optional
        The layer's name; None lets the model name it (``conv2d``, ``conv2d_1``, ...).

    Attributes
    ----------
    filters : int
        Number of output channels.
    kernel_size, strides, dilation_rate : tuple of (int, int)
        The pairs the arguments stand for.
    padding : str, int or tuple
        ``padding`` as given (strings lowercased).
    use_bias : bool
        Whether the layer has a bias.

    Raises
    ------
    ValueError
        If ``filters``, ``kernel_size``, ``strides`` or ``dilation_rate`` is less than
        1, ``padding`` is negative or not one of the forms above, or
        ``kernel_initializer`` is unknown; the message names the argument.
    TypeError
        If ``filters`` is not an int, or ``kernel_size``, ``strides`` or
        ``dilation_rate`` is not an int or a pair of ints.

    See Also
    --------
    cnncore.conv2d : The function the layer computes.
    cnncore.conv2d_backward : Its gradients.
    cnncore.conv_output_size : The output side for a padding, stride and dilation.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> from cnncore.layers import Conv2D
    >>> conv = Conv2D(16, kernel_size=3, strides=2, padding="same")
    >>> conv.build((32, 32, 3))
    (16, 16, 16)
    >>> x = np.random.default_rng(0).standard_normal((4, 32, 32, 3)).astype(np.float32)
    >>> y = conv(x)
    >>> y.shape, y.dtype
    ((4, 16, 16, 16), dtype('float32'))
    >>> kernel, bias = conv.get_weights()
    >>> np.allclose(y, cnncore.conv2d(x, kernel, bias, stride=2, padding="same"))
    True
    """

    weight_names = ("kernel", "bias")
    trainable_names = ("kernel", "bias")

    def __init__(self, filters, kernel_size=3, strides=1, padding="valid", dilation_rate=1,
                 use_bias=True, kernel_initializer="he_normal", name=None):
        super().__init__(name)
        where = self._where()
        self.filters = as_int(filters, "filters", where, minimum=1)
        self.kernel_size = as_pair(kernel_size, "kernel_size", where)
        self.strides = as_pair(strides, "strides", where)
        self.dilation_rate = as_pair(dilation_rate, "dilation_rate", where)
        padding_spec(padding, where)  # validates the form only
        self.padding = padding.lower() if isinstance(padding, str) else padding
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _check_initializer(kernel_initializer, where)

    def _build(self, input_shape, rng):
        if len(input_shape) != 3:
            raise ValueError(
                f"Layer {self.name!r} (Conv2D) expects images (H, W, C). "
                f"Received: input shape {_shape_str(input_shape)}"
            )
        h, w, c = input_shape
        kh, kw = self.kernel_size
        _, (ho, wo) = window_geometry(self._where(), (h, w), self.kernel_size, self.strides,
                                      self.dilation_rate, self.padding, what="kernel_size",
                                      hint=input_shape_hint(input_shape))
        self.params["kernel"] = _initialize(rng, (kh, kw, c, self.filters), self.dtype,
                                            self.kernel_initializer, kh * kw * c,
                                            kh * kw * self.filters, self._where())
        if self.use_bias:
            self.params["bias"] = np.zeros(self.filters, dtype=self.dtype)
        return (ho, wo, self.filters)

    def _conv_args(self):
        return dict(stride=self.strides, padding=self.padding, dilation=self.dilation_rate)

    def forward(self, x, training=False, relu=False):
        """Convolve a batch of images; keep ``x`` for :meth:`backward`.

        ``y = conv2d(x, kernel, bias)`` with the layer's strides, padding and
        dilation (:func:`cnncore.conv2d`).  Images of another height and width than
        the layer was built for work too (the output side follows them).

        Parameters
        ----------
        x : ndarray
            Images ``(N, H, W, C_in)``, channels-last, with the ``C_in`` the layer was
            built for; float32, float64 or integer (converted to float64).
        training : bool, default False
            Unused: a convolution computes the same in training and inference.
        relu : bool, default False
            Return ``max(y, 0)`` instead, applied as the kernel stores ``y``: a model
            fuses a :class:`ReLU` layer that follows this way.

        Returns
        -------
        ndarray
            ``(N, H_out, W_out, filters)``, the dtype of ``x`` (the kernel and bias are
            cast to it).

        Raises
        ------
        ValueError
            If ``x`` is not 4-D, its channels differ from the kernel's ``C_in`` (with a
            hint when ``x`` looks NCHW) or the window is larger than the padded image.
        TypeError
            If ``x`` is not a float or integer array.

        See Also
        --------
        cnncore.conv2d : The function computed.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Conv2D
        >>> conv = Conv2D(4, 3)
        >>> conv.build((8, 8, 2))
        (6, 6, 4)
        >>> x = np.random.default_rng(0).standard_normal((2, 8, 8, 2))
        >>> conv.forward(x).shape, conv.forward(x).dtype
        ((2, 6, 6, 4), dtype('float64'))
        >>> bool(conv.forward(x, relu=True).min() >= 0)
        True
        """
        self._check_built()
        y = F.conv2d(x, self.params["kernel"], self.params.get("bias"), relu=relu,
                     **self._conv_args())
        self._cache = x
        return y

    def backward(self, dy, input_grad=True):
        """Back-propagate ``dy``: fill ``grads`` and return the gradient with respect to ``x``.

        Uses the ``x`` kept by the last :meth:`forward` (:func:`cnncore.conv2d_backward`).
        ``grads["kernel"]`` ``(KH, KW, C_in, filters)`` and, with a bias,
        ``grads["bias"]`` ``(filters,)`` replace the previous gradients.  After a
        ``forward(x, relu=True)``, ``dy`` must already be the gradient with respect to
        the convolution's output before the rectification (the fused :class:`ReLU`'s
        backward gives it).

        Parameters
        ----------
        dy : ndarray
            Gradient of the loss with respect to the output,
            ``(N, H_out, W_out, filters)``.
        input_grad : bool, default True
            Whether to compute dL/dx; False skips it and returns None (a model's
            first layer in training).

        Returns
        -------
        ndarray or None
            The gradient dL/dx, shape and dtype of ``x``; None when ``input_grad`` is
            False.

        Raises
        ------
        RuntimeError
            If no :meth:`forward` ran since the layer was built or its cache cleared.
        ValueError
            If ``dy`` does not have the output's shape.

        See Also
        --------
        cnncore.conv2d_backward : The function computed.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Conv2D
        >>> conv = Conv2D(4, 3, padding="same")
        >>> conv.build((8, 8, 2))
        (8, 8, 4)
        >>> y = conv.forward(np.ones((2, 8, 8, 2)))
        >>> dx = conv.backward(np.ones_like(y))
        >>> dx.shape, conv.grads["kernel"].shape, conv.grads["bias"].tolist()
        ((2, 8, 8, 2), (3, 3, 2, 4), [128.0, 128.0, 128.0, 128.0])
        >>> conv.backward(np.ones_like(y), input_grad=False) is None
        True
        """
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
        """Multiply-accumulates per example: ``H_out * W_out * KH * KW * C_in * filters``.

        Counted for the input shape the layer was built for; the bias additions are
        not counted.

        See Also
        --------
        cnncore.Sequential.summary : Lists each layer's MACs.

        Examples
        --------
        >>> from cnncore.layers import Conv2D
        >>> conv = Conv2D(128, 3, padding="same")
        >>> conv.build((112, 112, 64))
        (112, 112, 128)
        >>> conv.macs
        924844032
        """
        ho, wo, co = self.output_shape
        kh, kw = self.kernel_size
        return ho * wo * kh * kw * self.input_shape[-1] * co


class Dense(Layer):
    """Fully connected layer on flat input ``(N, F_in)``: ``y = x @ kernel + bias``.

    Keras' ``Dense`` without an activation (default name ``dense``); images go
    through a :class:`Flatten` layer first.  :meth:`forward` computes
    :func:`cnncore.dense` and keeps ``x``; :meth:`backward` fills ``grads["kernel"]``
    and ``grads["bias"]`` and returns dL/dx (:func:`cnncore.dense_backward`).
    Weights, both trainable: ``kernel`` ``(F_in, units)`` and ``bias`` ``(units,)``
    (zeros at first).

    Parameters
    ----------
    units : int
        Number of output features.
    use_bias : bool, default True
        Whether the layer adds a trainable bias.
    kernel_initializer : {"he_normal", "glorot_uniform", "zeros"}, default "he_normal"
        How :meth:`Layer.build` draws the kernel: He normal (standard deviation
        ``sqrt(2 / F_in)``), Glorot uniform (limit ``sqrt(6 / (F_in + units))``, as
        VGG's last layer) or zeros.
    name : str, optional
        The layer's name; None lets the model name it (``dense``, ``dense_1``, ...).

    Attributes
    ----------
    units : int
        Number of output features.
    use_bias : bool
        Whether the layer has a bias.

    Raises
    ------
    ValueError
        If ``units`` is less than 1 or ``kernel_initializer`` is unknown.
    TypeError
        If ``units`` is not an int.

    See Also
    --------
    cnncore.dense : The function the layer computes.
    Flatten : Turns images into the flat input this layer takes.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore.layers import Dense
    >>> fc = Dense(10, name="predictions")
    >>> fc.build((64,))
    (10,)
    >>> x = np.random.default_rng(0).standard_normal((5, 64)).astype(np.float32)
    >>> y = fc(x)
    >>> y.shape, y.dtype
    ((5, 10), dtype('float32'))
    >>> kernel, bias = fc.get_weights()
    >>> np.allclose(y, x @ kernel + bias)
    True
    """

    weight_names = ("kernel", "bias")
    trainable_names = ("kernel", "bias")

    def __init__(self, units, use_bias=True, kernel_initializer="he_normal", name=None):
        super().__init__(name)
        self.units = as_int(units, "units", self._where(), minimum=1)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _check_initializer(kernel_initializer, self._where())

    def _build(self, input_shape, rng):
        if len(input_shape) != 1:
            raise ValueError(
                f"Layer {self.name!r} (Dense) expects flat input (F,); put a Flatten layer before it. "
                f"Received: input shape {_shape_str(input_shape)}"
            )
        (f_in,) = input_shape
        self.params["kernel"] = _initialize(rng, (f_in, self.units), self.dtype,
                                            self.kernel_initializer, f_in, self.units,
                                            self._where())
        if self.use_bias:
            self.params["bias"] = np.zeros(self.units, dtype=self.dtype)
        return (self.units,)

    def forward(self, x, training=False):
        """Compute ``x @ kernel + bias`` for a batch; keep ``x`` for :meth:`backward`.

        :func:`cnncore.dense` with the layer's weights.

        Parameters
        ----------
        x : ndarray
            Features ``(N, F_in)``; float32, float64 or integer (converted to float64).
        training : bool, default False
            Unused: a dense layer computes the same in training and inference.

        Returns
        -------
        ndarray
            ``(N, units)``, the dtype of ``x`` (the kernel and bias are cast to it).

        Raises
        ------
        ValueError
            If ``x`` is not 2-D or has not ``F_in`` features.
        TypeError
            If ``x`` is not a float or integer array.

        See Also
        --------
        cnncore.dense : The function computed.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Dense
        >>> fc = Dense(2)
        >>> fc.build((3,))
        (2,)
        >>> fc.set_weights([np.arange(6).reshape(3, 2), np.array([1, -1])])
        >>> fc.forward(np.array([[1.0, 1.0, 1.0]]))
        array([[7., 8.]])
        """
        self._check_built()
        y = F.dense(x, self.params["kernel"], self.params.get("bias"))
        self._cache = x
        return y

    def backward(self, dy):
        """Back-propagate ``dy``: fill ``grads`` and return the gradient with respect to ``x``.

        Uses the ``x`` kept by the last :meth:`forward` (:func:`cnncore.dense_backward`):
        ``grads["kernel"] = x.T @ dy`` ``(F_in, units)``, ``grads["bias"]`` the sum of
        ``dy`` over the batch ``(units,)``, and ``dx = dy @ kernel.T``.

        Parameters
        ----------
        dy : ndarray
            Gradient of the loss with respect to the output, ``(N, units)``.

        Returns
        -------
        ndarray
            The gradient dL/dx, ``(N, F_in)``, the dtype of ``x``.

        Raises
        ------
        RuntimeError
            If no :meth:`forward` ran since the layer was built or its cache cleared.
        ValueError
            If ``dy`` does not have the output's shape.

        See Also
        --------
        cnncore.dense_backward : The function computed.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Dense
        >>> fc = Dense(2)
        >>> fc.build((3,))
        (2,)
        >>> y = fc.forward(np.ones((4, 3)))
        >>> dx = fc.backward(np.ones((4, 2)))
        >>> dx.shape, fc.grads["kernel"].tolist(), fc.grads["bias"].tolist()
        ((4, 3), [[4.0, 4.0], [4.0, 4.0], [4.0, 4.0]], [4.0, 4.0])
        """
        x = self._need_cache()
        self.grads = {}
        dx, dw, db = F.dense_backward(dy, x, self.params["kernel"])
        self.grads = {"kernel": dw}
        if self.use_bias:
            self.grads["bias"] = db
        return dx

    @property
    def macs(self):
        """Multiply-accumulates per example: ``F_in * units``.

        The bias additions are not counted.

        See Also
        --------
        cnncore.Sequential.summary : Lists each layer's MACs.

        Examples
        --------
        >>> from cnncore.layers import Dense
        >>> fc = Dense(4096)
        >>> fc.build((25088,))
        (4096,)
        >>> fc.macs
        102760448
        """
        return self.input_shape[0] * self.units


class BatchNorm(Layer):
    """Batch normalization over every axis but the last (Keras defaults).

    Keras' ``BatchNormalization`` (default name ``batch_normalization``): one mean
    and variance per channel, over the batch for dense input ``(N, F)`` and over
    batch and positions for images ``(N, H, W, C)``;
    ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``.  Training
    (``forward(x, training=True)``): the batch mean and biased (1/m) variance
    (:func:`cnncore.batch_norm_train`), then
    ``moving = momentum * moving + (1 - momentum) * batch`` for both moving
    averages (not for an empty batch).  Inference: the moving averages
    (:func:`cnncore.batch_norm_infer`).  :meth:`backward` fills ``grads["gamma"]`` and
    ``grads["beta"]`` and returns dL/dx for the mode of the last :meth:`forward`.
    Weights: ``gamma`` (ones at first) and ``beta`` (zeros), trainable;
    ``moving_mean`` (zeros) and ``moving_var`` (ones), not trainable; all ``(C,)``
    and in the layer's dtype.

    Parameters
    ----------
    momentum : float, default 0.99
        Weight of the old moving averages in each update, in [0, 1] (Keras'
        meaning; PyTorch's ``momentum=0.1`` is ``momentum=0.9`` here).
    epsilon : float, default 1e-3
        Added to the variance before the square root; positive.
    name : str, optional
        The layer's name; None lets the model name it (``batch_normalization``, ...).

    Attributes
    ----------
    momentum, epsilon : float
        As given.

    Raises
    ------
    ValueError
        If ``momentum`` is not in [0, 1] or ``epsilon`` is not positive.
    TypeError
        If ``momentum`` or ``epsilon`` is not a real number.

    See Also
    --------
    cnncore.batch_norm_train : The training-mode function.
    cnncore.batch_norm_infer : The inference-mode function.
    cnncore.update_moving_stats : The moving-average update.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore.layers import BatchNorm
    >>> bn = BatchNorm(momentum=0.9)
    >>> bn.build((4, 4, 2))
    (4, 4, 2)
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, (8, 4, 4, 2))
    >>> y = bn(x, training=True)
    >>> np.allclose(y.mean(axis=(0, 1, 2)), 0.0, atol=1e-6)
    True
    >>> np.allclose(bn.params["moving_mean"], 0.1 * x.mean(axis=(0, 1, 2)))
    True
    """

    weight_names = ("gamma", "beta", "moving_mean", "moving_var")
    trainable_names = ("gamma", "beta")

    def __init__(self, momentum=0.99, epsilon=1e-3, name=None):
        super().__init__(name)
        self.momentum = as_real(momentum, "momentum", self._where())
        self.epsilon = as_real(epsilon, "epsilon", self._where())
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1]. Received: momentum={momentum!r}")
        if not self.epsilon > 0.0:
            raise ValueError(f"epsilon must be positive. Received: epsilon={epsilon!r}")

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

    def forward(self, x, training=False, relu=False):
        """Normalize a batch; in training also update the moving averages.

        ``training=True`` uses the batch's mean and biased variance per channel
        (:func:`cnncore.batch_norm_train`), updates ``moving_mean`` and
        ``moving_var`` in ``params`` (new arrays, in the layer's dtype; not for an
        empty batch) and keeps ``x`` and the batch statistics.  ``training=False``
        uses the moving averages (:func:`cnncore.batch_norm_infer`) and keeps ``x``
        and them.

        Parameters
        ----------
        x : ndarray
            ``(N, ..., C)``, e.g. ``(N, F)`` or ``(N, H, W, C)``, with the ``C`` the
            layer was built for; float32, float64 or integer (converted to float64).
        training : bool, default False
            Batch statistics and moving-average update (True) or moving averages (False).
        relu : bool, default False
            Rectify the output as it is written (for a :class:`ReLU` right after,
            which then takes it with :meth:`ReLU.forward_fused`); :meth:`backward`
            still takes the gradient with respect to the output before the ReLU.

        Returns
        -------
        ndarray
            The normalized batch, the shape and dtype of ``x``.

        Raises
        ------
        ValueError
            If ``x`` has no batch and feature axes or its last axis is not ``C``.
        TypeError
            If ``x`` is not a float or integer array.

        See Also
        --------
        cnncore.batch_norm_train : The training-mode function.
        cnncore.batch_norm_infer : The inference-mode function.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import BatchNorm
        >>> bn = BatchNorm(epsilon=0.0001)
        >>> bn.build((1,))
        (1,)
        >>> x = np.array([[1.0], [3.0]])
        >>> bn.forward(x, training=True).round(3)
        array([[-1.],
               [ 1.]])
        >>> bn.forward(x).round(3)              # moving averages: mean 0.02, var 1.0
        array([[0.98],
               [2.98]])
        """
        self._check_built()
        p = self.params
        relu = bool(relu)
        if training:
            y, mean, var = F.batch_norm_train(x, p["gamma"], p["beta"], eps=self.epsilon,
                                              relu=relu)
            if x.shape[0] > 0:
                mm, mv = F.update_moving_stats(p["moving_mean"], p["moving_var"], mean, var,
                                               momentum=self.momentum)
                p["moving_mean"] = np.asarray(mm, dtype=self.dtype)
                p["moving_var"] = np.asarray(mv, dtype=self.dtype)
        else:
            mean, var = p["moving_mean"], p["moving_var"]
            y = F.batch_norm_infer(x, p["gamma"], p["beta"], mean, var, eps=self.epsilon,
                                   relu=relu)
        self._cache = ("train" if training else "infer", x, mean, var, p["gamma"], p["beta"], relu)
        return y

    def _output_again(self):
        """The last forward's output again, bit for bit, from what it kept: a model
        that drops a large output after the next layer has used it (the input of
        the layer after a ReLU) makes it anew for the backward."""
        _, x, mean, var, gamma, beta, relu = self._need_cache()
        return F._bn_apply(F._bn_input("BatchNorm", x), mean, var, gamma, beta, self.epsilon, relu)

    def backward(self, dy):
        """Back-propagate ``dy``: fill ``grads`` and return the gradient with respect to ``x``.

        After a training-mode :meth:`forward` the gradient goes through the batch
        statistics (:func:`cnncore.batch_norm_backward`); after an inference-mode one
        the layer is an affine map per channel with fixed statistics, so
        ``dx = dy * gamma / sqrt(moving_var + epsilon)``.  ``grads["gamma"]`` and
        ``grads["beta"]``, ``(C,)``, replace the previous gradients.

        Parameters
        ----------
        dy : ndarray
            Gradient of the loss with respect to the output, the shape of ``x``.

        Returns
        -------
        ndarray
            The gradient dL/dx, the shape of ``x``.

        Raises
        ------
        RuntimeError
            If no :meth:`forward` ran since the layer was built or its cache cleared.
        ValueError
            If ``dy`` does not have the shape of ``x`` (training mode).

        See Also
        --------
        cnncore.batch_norm_backward : The training-mode gradient.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import BatchNorm
        >>> bn = BatchNorm()
        >>> bn.build((3,))
        (3,)
        >>> x = np.random.default_rng(0).standard_normal((16, 3))
        >>> y = bn.forward(x, training=True)
        >>> dx = bn.backward(np.ones_like(y))   # a constant dy shifts y: no effect on x
        >>> np.allclose(dx, 0.0), bn.grads["beta"].tolist()
        (True, [16.0, 16.0, 16.0])
        """
        mode, x, mean, var, _, _, _ = self._need_cache()
        gamma = self.params["gamma"]
        if mode == "train":
            dx, dgamma, dbeta = F.batch_norm_backward(dy, x, gamma, mean, var, eps=self.epsilon)
        else:
            # inference mode: an affine map per channel with fixed statistics
            axes = tuple(range(x.ndim - 1))
            inv = 1.0 / np.sqrt(var + self.dtype.type(self.epsilon))
            xhat = (x - mean) * inv
            dgamma = (dy * xhat).sum(axis=axes)
            dbeta = dy.sum(axis=axes)
            dx = dy * (gamma * inv)
        self.grads = {"gamma": dgamma, "beta": dbeta}
        return dx


# ----------------------------------------------------------------------------
# layers without parameters


class ReLU(Layer):
    """Rectified linear unit: ``max(x, 0)``, elementwise.

    Keras' ``ReLU`` layer (default name ``re_lu``); no weights.  :meth:`forward`
    computes :func:`cnncore.relu` and keeps its output, which is positive exactly
    where ``x`` is; :meth:`backward` returns ``dy`` where the input was positive and 0
    elsewhere (:func:`cnncore.relu_backward`).  Inside a model, a ReLU after a
    :class:`Conv2D` is fused into the convolution (:meth:`forward_fused`) and one
    after a :class:`BatchNorm` or :class:`Dense` rectifies in place
    (:meth:`forward_inplace`, :meth:`backward_inplace`).

    Parameters
    ----------
    name : str, optional
        The layer's name; None lets the model name it (``re_lu``, ``re_lu_1``, ...).

    See Also
    --------
    cnncore.relu : The function the layer computes.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore.layers import ReLU
    >>> relu = ReLU()
    >>> relu(np.array([[-2.0, 0.0, 3.0]]))
    array([[0., 0., 3.]])
    >>> relu.backward(np.array([[1.0, 1.0, 1.0]]))
    array([[0., 0., 1.]])
    """

    def forward(self, x, training=False):
        """Rectify a batch: ``max(x, 0)``; keep the output for :meth:`backward`.

        Computes :func:`cnncore.relu`.  The output, not ``x``, is kept: it is positive
        exactly where ``x`` is, which is all :meth:`backward` needs.

        Parameters
        ----------
        x : ndarray
            Any shape; float32, float64 or integer (converted to float64).
        training : bool, default False
            Unused: the same in training and inference.

        Returns
        -------
        ndarray
            A new array, the shape and dtype of ``x``.

        Raises
        ------
        TypeError
            If ``x`` is not a float or integer array.

        See Also
        --------
        cnncore.relu : The function computed.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import ReLU
        >>> ReLU().forward(np.array([-1, 0, 2]))
        array([0., 0., 2.])
        """
        y = F.relu(x)
        self._cache = y  # y > 0 exactly where x > 0: all backward needs
        return y

    def forward_inplace(self, x, training=False):
        """Rectify ``x`` in place, as :meth:`forward` but without a new array.

        For an ``x`` nothing else will read: inside a model, the fresh output of the
        :class:`BatchNorm` or :class:`Dense` layer before.  Saves allocating (and
        faulting in) an output array of the same size.

        Parameters
        ----------
        x : ndarray
            A writeable C-contiguous float32 or float64 array; overwritten.
        training : bool, default False
            Unused: the same in training and inference.

        Returns
        -------
        ndarray
            ``x`` itself, rectified.

        Raises
        ------
        ValueError
            If ``x`` is not writeable, not C-contiguous or of an integer dtype.
        TypeError
            If ``x`` is neither a float nor an integer array.

        See Also
        --------
        forward : The same into a new array.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import ReLU
        >>> x = np.array([[-1.0, 2.0]])
        >>> y = ReLU().forward_inplace(x)
        >>> y is x, x
        (True, array([[0., 2.]]))
        """
        F.relu(x, out=x)
        self._cache = x
        return x

    def forward_fused(self, y, training=False):
        """Take an output the layer before already rectified; keep it for :meth:`backward`.

        A model calls ``Conv2D.forward(x, relu=True)`` (or ``BatchNorm.forward``)
        for a convolution (or batch norm) followed by a ReLU, then this: the ReLU
        computes nothing and still back-propagates.

        Parameters
        ----------
        y : ndarray
            The rectified output of the layer before (no negative values).
        training : bool, default False
            Unused: the same in training and inference.

        Returns
        -------
        ndarray
            ``y`` itself.

        See Also
        --------
        Conv2D.forward : Rectifies its output with ``relu=True``.
        BatchNorm.forward : The same.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import ReLU
        >>> relu = ReLU()
        >>> y = np.array([[0.0, 2.0]])
        >>> relu.forward_fused(y) is y
        True
        >>> relu.backward(np.array([[5.0, 5.0]]))
        array([[0., 5.]])
        """
        self._cache = y
        return y

    def backward(self, dy):
        """Return ``dy`` where the input was positive, 0 elsewhere.

        Uses the output kept by the last forward (:func:`cnncore.relu_backward`).

        Parameters
        ----------
        dy : ndarray
            Gradient of the loss with respect to the output, the shape of ``x``.

        Returns
        -------
        ndarray
            The gradient dL/dx, a new array of the shape of ``x`` and the dtype of the
            kept output.

        Raises
        ------
        RuntimeError
            If no forward ran since the layer was built or its cache cleared.
        ValueError
            If ``dy`` does not have the shape of ``x``.

        See Also
        --------
        cnncore.relu_backward : The function computed.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import ReLU
        >>> relu = ReLU()
        >>> y = relu.forward(np.array([-1.0, 0.0, 2.0]))
        >>> relu.backward(np.array([3.0, 3.0, 3.0]))
        array([0., 0., 3.])
        """
        return F.relu_backward(dy, self._need_cache())

    def backward_inplace(self, dy):
        """Compute :meth:`backward` into ``dy`` itself, without a new array.

        For a ``dy`` nothing else will read: inside a model, the fresh input gradient
        returned by the layer after.

        Parameters
        ----------
        dy : ndarray
            Gradient with respect to the output: a writeable C-contiguous array of the
            kept output's shape and dtype; overwritten.

        Returns
        -------
        ndarray
            ``dy`` itself, now dL/dx.

        Raises
        ------
        RuntimeError
            If no forward ran since the layer was built or its cache cleared.
        ValueError
            If ``dy`` does not have the kept output's shape, dtype and layout.

        See Also
        --------
        backward : The same into a new array.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import ReLU
        >>> relu = ReLU()
        >>> y = relu.forward(np.array([-1.0, 2.0]))
        >>> dy = np.array([3.0, 3.0])
        >>> relu.backward_inplace(dy) is dy, dy
        (True, array([0., 3.]))
        """
        return F.relu_backward(dy, self._need_cache(), out=dy)


class MaxPool2D(Layer):
    """2-D max pooling, channels-last (``strides=None`` means ``pool_size``).

    Keras' ``MaxPooling2D`` (default name ``max_pooling2d``); no weights.  Images
    ``(N, H, W, C)`` give ``(N, H_out, W_out, C)``, the maximum of each window per
    channel (:func:`cnncore.max_pool2d`); with SAME padding the padded cells are
    ignored (-inf, not 0).  :meth:`forward` keeps ``x``; :meth:`backward` sends each
    window's gradient to its first maximal cell (:func:`cnncore.max_pool2d_backward`).

    Parameters
    ----------
    pool_size : int or tuple of (int, int), default 2
        Window height and width; an int means a square window.
    strides : int, tuple of (int, int) or None, default None
        Step of the window; None means ``pool_size`` (windows side by side).
    padding : {"valid", "same"}, default "valid"
        VALID (windows inside the image) or TensorFlow's SAME (output side
        ``ceil(size / stride)``); any case.
    name : str, optional
        The layer's name; None lets the model name it (``max_pooling2d``, ...).

    Attributes
    ----------
    pool_size, strides : tuple of (int, int)
        The pairs the arguments stand for.
    padding : str
        ``"valid"`` or ``"same"``.

    Raises
    ------
    ValueError
        If ``pool_size`` or ``strides`` is less than 1, or ``padding`` is not
        ``"valid"`` or ``"same"``.
    TypeError
        If ``pool_size`` or ``strides`` is not an int or a pair of ints.

    See Also
    --------
    cnncore.max_pool2d : The function the layer computes.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore.layers import MaxPool2D
    >>> pool = MaxPool2D(2)
    >>> pool.build((4, 4, 1))
    (2, 2, 1)
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> pool(x)[0, :, :, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    >>> MaxPool2D(3, strides=2, padding="same").build((5, 5, 8))
    (3, 3, 8)
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None):
        super().__init__(name)
        self.pool_size = as_pair(pool_size, "pool_size", self._where())
        self.strides = (self.pool_size if strides is None
                        else as_pair(strides, "strides", self._where()))
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
        _, (ho, wo) = window_geometry(self._where(), (h, w), self.pool_size, self.strides, (1, 1),
                                      self.padding, what="pool_size",
                                      hint=input_shape_hint(input_shape))
        return (ho, wo, c)

    def forward(self, x, training=False):
        """Take the maximum of each window; keep ``x`` for :meth:`backward`.

        Computes :func:`cnncore.max_pool2d` with the layer's pool size, strides and
        padding, per channel.  Images of another height and width than the layer was
        built for work too.

        Parameters
        ----------
        x : ndarray
            Images ``(N, H, W, C)``, channels-last; float32, float64 or integer
            (converted to float64).
        training : bool, default False
            Unused: the same in training and inference.

        Returns
        -------
        ndarray
            ``(N, H_out, W_out, C)``, the dtype of ``x``.

        Raises
        ------
        ValueError
            If ``x`` is not 4-D or the window is larger than the padded image.
        TypeError
            If ``x`` is not a float or integer array.

        See Also
        --------
        cnncore.max_pool2d : The function computed.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import MaxPool2D
        >>> MaxPool2D(2).forward(np.ones((8, 32, 32, 3), dtype=np.float32)).shape
        (8, 16, 16, 3)
        """
        self._cache = x
        return F.max_pool2d(x, self.pool_size, self.strides, self.padding)

    def backward(self, dy):
        """Send each window's gradient to its first maximal cell; return dL/dx.

        Uses the ``x`` kept by the last :meth:`forward`
        (:func:`cnncore.max_pool2d_backward`); cells that are no window's maximum get
        0, a cell that is the maximum of several overlapping windows gets their sum.

        Parameters
        ----------
        dy : ndarray
            Gradient of the loss with respect to the output, ``(N, H_out, W_out, C)``.

        Returns
        -------
        ndarray
            The gradient dL/dx, the shape and dtype of ``x``.

        Raises
        ------
        RuntimeError
            If no :meth:`forward` ran since the layer was built or its cache cleared.
        ValueError
            If ``dy`` does not have the output's shape.

        See Also
        --------
        cnncore.max_pool2d_backward : The function computed.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import MaxPool2D
        >>> pool = MaxPool2D(2)
        >>> y = pool.forward(np.arange(16.0).reshape(1, 4, 4, 1))
        >>> pool.backward(np.ones_like(y))[0, :, :, 0].tolist()
        [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0]]
        """
        return F.max_pool2d_backward(dy, self._need_cache(), self.pool_size, self.strides,
                                     self.padding)


class Flatten(Layer):
    """Flatten each example: ``(N, H, W, C)`` -> ``(N, H*W*C)``, in (H, W, C) order.

    Keras' ``Flatten`` (default name ``flatten``); no weights.  The order is
    row-major over the channels-last axes, the channel varying fastest, as in Keras
    (PyTorch flattens (C, H, W); :func:`cnncore.weights.load_torchvision_vgg`
    permutes the first dense layer's rows accordingly).  Any rank works:
    ``(N, d1, ..., dk)`` -> ``(N, d1 * ... * dk)``.  :meth:`forward` keeps the input
    shape; :meth:`backward` reshapes ``dy`` to it.

    Parameters
    ----------
    name : str, optional
        The layer's name; None lets the model name it (``flatten``, ...).

    See Also
    --------
    Dense : The layer that usually follows.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore.layers import Flatten
    >>> Flatten().build((7, 7, 512))
    (25088,)
    >>> x = np.arange(8).reshape(1, 2, 2, 2)      # x[0, h, w, c] = 4 * h + 2 * w + c
    >>> Flatten()(x).tolist()
    [[0, 1, 2, 3, 4, 5, 6, 7]]
    """

    def _build(self, input_shape, rng):
        return (int(np.prod(input_shape, dtype=np.int64)),)

    def forward(self, x, training=False):
        """Reshape a batch to ``(N, features)``; keep the input shape for :meth:`backward`.

        The values keep their order (row-major, so (H, W, C) for images, the channel
        varying fastest); nothing is computed.

        Parameters
        ----------
        x : ndarray
            A batch ``(N, d1, ..., dk)``, e.g. images ``(N, H, W, C)``.
        training : bool, default False
            Unused: the same in training and inference.

        Returns
        -------
        ndarray
            ``(N, d1 * ... * dk)``, the dtype of ``x``; a view of ``x`` when its
            memory layout allows (NumPy's ``reshape``).

        See Also
        --------
        numpy.reshape : What it calls.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Flatten
        >>> Flatten().forward(np.zeros((8, 7, 7, 512), dtype=np.float32)).shape
        (8, 25088)
        """
        self._cache = x.shape
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:], dtype=np.int64)))

    def backward(self, dy):
        """Reshape ``dy`` back to the shape of the last input.

        The gradient of a reshape is the reverse reshape: values keep their order.

        Parameters
        ----------
        dy : array_like
            Gradient of the loss with respect to the output, ``(N, d1 * ... * dk)``.

        Returns
        -------
        ndarray
            ``dy`` reshaped to ``(N, d1, ..., dk)`` (a view when the layout allows).

        Raises
        ------
        RuntimeError
            If no :meth:`forward` ran since the layer was built or its cache cleared.
        ValueError
            If ``dy`` does not have as many values as the last input.

        See Also
        --------
        forward : The reshape this undoes.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Flatten
        >>> flat = Flatten()
        >>> y = flat.forward(np.zeros((2, 3, 3, 4)))
        >>> flat.backward(np.ones_like(y)).shape
        (2, 3, 3, 4)
        """
        return np.asarray(dy).reshape(self._need_cache())


class Dropout(Layer):
    """Inverted dropout: in training, zero values at random and scale the rest up.

    Keras' ``Dropout`` (default name ``dropout``); no weights.  In training each
    value is zeroed with probability ``rate`` and the others are multiplied by
    ``1 / (1 - rate)``, so the expected output is the input; in inference the layer
    is the identity (it returns ``x`` itself).  :meth:`forward` keeps the mask (the
    zeros and scale factors); :meth:`backward` multiplies ``dy`` by it.  The masks
    come from the layer's own generator: seeded with ``seed``, or, when ``seed`` is
    None, from the model's generator when the model is built (so the model's seed
    fixes them); ``fit(seed=...)`` restarts it (:meth:`reseed`).

    Parameters
    ----------
    rate : float, default 0.5
        Probability of zeroing each value, in [0, 1); 0 makes the layer the identity.
    seed : int or sequence of int, optional
        Seed of the mask generator (non-negative, as for
        :func:`numpy.random.default_rng`); None takes one from the model's generator
        at build time.
    name : str, optional
        The layer's name; None lets the model name it (``dropout``, ...).

    Attributes
    ----------
    rate : float
        As given.
    rng : numpy.random.Generator
        The generator of the masks.

    Raises
    ------
    ValueError
        If ``rate`` is not in [0, 1) or ``seed`` is negative.
    TypeError
        If ``rate`` is not a real number or ``seed`` is not None, an int or a
        sequence of ints.

    See Also
    --------
    cnncore.training.fit : Reseeds every Dropout layer from its ``seed``.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore.layers import Dropout
    >>> drop = Dropout(0.5, seed=0)
    >>> drop.build((4,))
    (4,)
    >>> x = np.ones((2, 4))
    >>> drop(x, training=True)
    array([[2., 0., 0., 0.],
           [2., 2., 2., 2.]])
    >>> drop(x) is x
    True
    """

    def __init__(self, rate=0.5, seed=None, name=None):
        super().__init__(name)
        self.rate = as_real(rate, "rate", self._where())
        if not 0.0 <= self.rate < 1.0:
            raise ValueError(f"rate must be in [0, 1). Received: rate={rate!r}")
        self.seed = seed
        self.rng = as_rng(seed, "seed", self._where())

    def _build(self, input_shape, rng):
        if self.seed is None:
            self.rng = np.random.default_rng(int(rng.integers(2**63)))
        return input_shape

    def reseed(self, seed):
        """Restart the mask sequence from ``seed``.

        :func:`cnncore.training.fit` does this for every Dropout layer of a model
        (``[seed, i]`` for the i-th one), so that a training run repeats exactly.

        Parameters
        ----------
        seed : int, sequence of int or None
            A non-negative int or a sequence of them, as for
            :func:`numpy.random.default_rng`; None draws fresh entropy (masks that do
            not repeat).

        Raises
        ------
        ValueError
            If ``seed`` is negative.
        TypeError
            If ``seed`` is not None, an int or a sequence of ints.

        See Also
        --------
        numpy.random.default_rng : The generator made from ``seed``.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Dropout
        >>> drop = Dropout(0.5)
        >>> drop.reseed(7)
        >>> first = drop(np.ones((3, 5)), training=True)
        >>> drop.reseed(7)
        >>> np.array_equal(first, drop(np.ones((3, 5)), training=True))
        True
        """
        self.rng = as_rng(seed, "seed", self._where())

    def forward(self, x, training=False):
        """Apply a fresh random mask in training; return ``x`` itself in inference.

        In training each value is kept with probability ``1 - rate`` and then scaled
        by ``1 / (1 - rate)``; the mask (0 or the scale, in the dtype of ``x``) is
        kept for :meth:`backward` and a new one is drawn at every call.

        Parameters
        ----------
        x : ndarray
            A float batch of any shape.
        training : bool, default False
            Zero and scale (True) or pass through (False).

        Returns
        -------
        ndarray
            In training a new array ``x * mask``, the shape and dtype of ``x``; else
            ``x`` itself (also for ``rate=0``).

        See Also
        --------
        backward : Multiplies by the same mask.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Dropout
        >>> y = Dropout(0.25, seed=0).forward(np.ones(10000, dtype=np.float32), training=True)
        >>> sorted(set(y.tolist())), y.dtype
        ([0.0, 1.3333333730697632], dtype('float32'))
        """
        if not training or self.rate == 0.0:
            self._cache = "identity"
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype if x.dtype.kind == "f" else np.float64)
        mask = (keep >= self.rate).astype(x.dtype)
        mask *= x.dtype.type(1.0 / (1.0 - self.rate))
        self._cache = mask
        return x * mask

    def backward(self, dy):
        """Multiply ``dy`` by the last forward's mask (or pass it through).

        The same values are zeroed and scaled as in the output, so the gradient only
        flows through the kept values.

        Parameters
        ----------
        dy : ndarray
            Gradient of the loss with respect to the output, the shape of ``x``.

        Returns
        -------
        ndarray
            ``dy * mask`` after a training-mode :meth:`forward`; ``dy`` itself after
            an inference-mode one.

        Raises
        ------
        RuntimeError
            If no :meth:`forward` ran since the layer was built or its cache cleared.

        See Also
        --------
        forward : Draws the mask.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Dropout
        >>> drop = Dropout(0.5, seed=0)
        >>> y = drop.forward(np.ones((2, 4)), training=True)
        >>> np.array_equal(drop.backward(np.ones((2, 4))), y)
        True
        """
        mask = self._need_cache()
        if isinstance(mask, str):
            return dy
        return dy * mask


class Softmax(Layer):
    """Softmax over the last axis (turns logits into probabilities).

    Keras' ``Softmax`` layer (default name ``softmax``); no weights.
    :meth:`forward` computes ``exp(x) / sum(exp(x))`` along ``axis``
    (:func:`cnncore.softmax`, stably) and keeps the output; :meth:`backward` returns
    the Jacobian-vector product ``y * (dy - sum(dy * y))``.  For training, a model
    that ends with a Softmax layer is run without it and the loss is
    :func:`cnncore.softmax_cross_entropy` on the logits (see
    :meth:`cnncore.Sequential.forward` with ``logits=True``).

    Parameters
    ----------
    axis : int, default -1
        The axis that sums to 1.
    name : str, optional
        The layer's name; None lets the model name it (``softmax``, ...).

    Attributes
    ----------
    axis : int
        As given.

    Raises
    ------
    TypeError
        If ``axis`` is not an int.

    See Also
    --------
    cnncore.softmax : The function the layer computes.
    cnncore.softmax_cross_entropy : The loss on the logits used in training.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore.layers import Softmax
    >>> Softmax()(np.log(np.array([[1.0, 3.0]])))
    array([[0.25, 0.75]])
    """

    def __init__(self, axis=-1, name=None):
        super().__init__(name)
        self.axis = as_int(axis, "axis", self._where())

    def forward(self, x, training=False):
        """Compute the softmax of a batch along ``axis``; keep it for :meth:`backward`.

        ``exp(x - max(x)) / sum(exp(x - max(x)))`` along ``axis``
        (:func:`cnncore.softmax`): subtracting the maximum keeps large logits from
        overflowing.

        Parameters
        ----------
        x : ndarray
            Logits of any shape with at least one axis, e.g. ``(N, num_classes)``;
            float32, float64 or integer (converted to float64).
        training : bool, default False
            Unused: the same in training and inference.

        Returns
        -------
        ndarray
            Probabilities, the shape and dtype of ``x``, summing to 1 along ``axis``.

        Raises
        ------
        ValueError
            If ``x`` is 0-D or ``axis`` is out of range.
        TypeError
            If ``x`` is not a float or integer array.

        See Also
        --------
        cnncore.softmax : The function computed.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Softmax
        >>> Softmax().forward(np.zeros((2, 4)))
        array([[0.25, 0.25, 0.25, 0.25],
               [0.25, 0.25, 0.25, 0.25]])
        """
        y = F.softmax(x, axis=self.axis)
        self._cache = y
        return y

    def backward(self, dy):
        """Return the gradient with respect to the logits: ``y * (dy - sum(dy * y))``.

        The sum runs along ``axis`` (keeping it), with ``y`` the output of the last
        :meth:`forward`; computed with NumPy.

        Parameters
        ----------
        dy : ndarray
            Gradient of the loss with respect to the probabilities, the shape of ``y``.

        Returns
        -------
        ndarray
            The gradient dL/dx, the shape of ``x``.

        Raises
        ------
        RuntimeError
            If no :meth:`forward` ran since the layer was built or its cache cleared.

        See Also
        --------
        cnncore.softmax_cross_entropy : Gives the logits' gradient of the usual loss directly.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.layers import Softmax
        >>> soft = Softmax()
        >>> y = soft.forward(np.array([[0.0, 1.0, 2.0]]))
        >>> np.allclose(soft.backward(np.ones_like(y)), 0.0)   # the sum is constant
        True
        """
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
    """Return the Keras-style base name of a layer.

    The name Keras gives the layer type: ``Conv2D`` -> ``conv2d``, ``BatchNorm`` ->
    ``batch_normalization``, ``MaxPool2D`` -> ``max_pooling2d``, ``ReLU`` ->
    ``re_lu``; another class name in snake case (``MyLayer`` -> ``my_layer``).
    :meth:`cnncore.Sequential.add` names an unnamed layer with it, adding ``_1``,
    ``_2``, ... when the name is taken.

    Parameters
    ----------
    layer : Layer
        The layer (only its type counts).

    Returns
    -------
    str
        The base name.

    See Also
    --------
    cnncore.Sequential.add : Names unnamed layers.

    Examples
    --------
    >>> from cnncore.layers import BatchNorm, MaxPool2D, default_name
    >>> default_name(MaxPool2D()), default_name(BatchNorm())
    ('max_pooling2d', 'batch_normalization')
    """
    cls = type(layer).__name__
    return _DEFAULT_NAMES.get(cls) or _snake(cls)
