"""Training: softmax cross-entropy, SGD with momentum and weight decay, a ``fit`` loop.

``fit(model, x_train, y_train, epochs=10, batch_size=32,
optimizer=SGD(0.05, momentum=0.9, weight_decay=5e-4),
validation_data=(x_test, y_test), seed=0)`` trains a model on images and integer
labels and returns its :class:`History`; :func:`evaluate` gives the loss and
accuracy on other data.

Reproducible: the same model seed, data and ``fit`` seed give the same weights
(shuffling and dropout masks come from ``seed``).  Built on the model's
forward/backward and the functional ``softmax_cross_entropy``.

Examples
--------
>>> import numpy as np
>>> import cnncore
>>> from cnncore.training import SGD, cosine_schedule, fit
>>> rng = np.random.default_rng(0)
>>> x = rng.standard_normal((64, 8, 8, 1)).astype(np.float32)
>>> y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(int)
>>> model = cnncore.vgg([4, "M"], num_classes=2, input_shape=(8, 8, 1), fc_units=16)
>>> history = fit(model, x[:48], y[:48], epochs=3, batch_size=16,
...               optimizer=SGD(0.05, momentum=0.9, weight_decay=5e-4),
...               validation_data=(x[48:], y[48:]), lr_schedule=cosine_schedule(0.05, 3),
...               seed=0, verbose=False)
>>> sorted(history)
['accuracy', 'loss', 'lr', 'time', 'val_accuracy', 'val_loss']
>>> [round(lr, 4) for lr in history["lr"]]
[0.05, 0.0375, 0.0125]
"""
import math
import numbers
import time

import numpy as np

from . import functional as F
from ._checks import _fail, as_array, as_int, as_real
from .layers import Dropout, Softmax

__all__ = ["SGD", "fit", "evaluate", "cosine_schedule", "History"]


class SGD:
    """Stochastic gradient descent with momentum and (L2) weight decay, in PyTorch's form.

    For each parameter ``p`` with gradient ``grad`` and velocity ``v`` (zeros at
    the first step)::

        g = grad + weight_decay * p        (kernels only, see below)
        v = momentum * v + g
        p = p - lr * v                     (nesterov: p = p - lr * (g + momentum * v))

    ``decay_all=False`` (the default) applies weight decay to kernels and dense
    weights only (arrays of two or more dimensions), not to biases or batch-norm
    gamma/beta.  Parameters are updated in place, in their own dtype, a piece at a
    time so that a large layer is read and written once.

    Parameters
    ----------
    learning_rate : float, default 0.01
        Step size ``lr``, non-negative; :func:`fit`'s ``lr_schedule`` sets it each
        epoch.
    momentum : float, default 0.9
        Velocity decay, non-negative; 0 is plain SGD.
    weight_decay : float, default 0.0
        L2 coefficient added to the gradient, non-negative.
    nesterov : bool, default False
        Nesterov momentum, as PyTorch's ``nesterov=True``.
    decay_all : bool, default False
        Apply weight decay to every parameter, biases and gamma/beta included.

    Attributes
    ----------
    learning_rate, momentum, weight_decay : float
        As given (``learning_rate`` may be changed between steps).
    velocity : list of ndarray or None
        One velocity per parameter, created at the first :meth:`step`.

    Raises
    ------
    ValueError
        If ``learning_rate``, ``momentum`` or ``weight_decay`` is not a finite
        non-negative number.

    See Also
    --------
    fit : Trains a model with an optimizer.
    cosine_schedule : A learning rate per epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore.training import SGD
    >>> p = np.array([1.0, 2.0])
    >>> sgd = SGD(0.1, momentum=0.9)
    >>> sgd.step([p], [np.array([1.0, 1.0])])
    >>> p
    array([0.9, 1.9])
    >>> sgd.step([p], [np.array([1.0, 1.0])])        # v = 0.9 * 1 + 1
    >>> p
    array([0.71, 1.71])
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, weight_decay=0.0, nesterov=False,
                 decay_all=False):
        for what, v in (("learning_rate", learning_rate), ("momentum", momentum),
                        ("weight_decay", weight_decay)):
            if not isinstance(v, numbers.Real) or isinstance(v, bool) or v < 0 or not math.isfinite(v):
                raise ValueError(f"{what} must be a non-negative number. Received: {what}={v!r}")
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.nesterov = bool(nesterov)
        self.decay_all = bool(decay_all)
        self.velocity = None

    def step(self, params, grads):
        """Update each array of ``params`` in place from ``grads`` (same order each call).

        The velocities are matched to the parameters by position: pass the same list
        (``model.parameters()``) at every step.  They are created, as zeros, at the
        first step and again whenever the number of parameters changes.  Each
        gradient is cast to its parameter's dtype.

        Parameters
        ----------
        params : sequence of ndarray
            The arrays to update (writeable; ``model.parameters()``).
        grads : sequence of array_like
            Their gradients, same order and shapes (``model.gradients()``).

        Raises
        ------
        ValueError
            If ``params`` and ``grads`` differ in length, or a gradient is not a real
            array of its parameter's shape.

        See Also
        --------
        cnncore.Sequential.parameters : The arrays a model trains.
        cnncore.Sequential.gradients : Their gradients after a backward.

        Examples
        --------
        >>> import numpy as np
        >>> from cnncore.training import SGD
        >>> w = np.array([[1.0, 2.0]])                   # 2-D: weight decay applies
        >>> SGD(0.1, momentum=0.0, weight_decay=0.5).step([w], [np.zeros((1, 2))])
        >>> w
        array([[0.95, 1.9 ]])
        """
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError(f"params and grads must pair up. Received: {len(params)} and {len(grads)}")
        if self.velocity is None or len(self.velocity) != len(params):
            self.velocity = [np.zeros_like(p) for p in params]
        for i, (p, g, v) in enumerate(zip(params, grads, self.velocity)):
            g = as_array(g, f"grads[{i}]", "SGD.step")
            if g.dtype.kind not in "fiu" or g.shape != p.shape:
                _fail("SGD.step", f"`grads[{i}]` must be a real array of the shape of "
                      f"`params[{i}]` {p.shape}", f"grads[{i}]: shape {g.shape}, dtype {g.dtype}")
            g = g.astype(p.dtype, copy=False)
            decay = self.weight_decay if self.weight_decay and (self.decay_all or p.ndim > 1) else 0
            if not (p.flags.c_contiguous and g.flags.c_contiguous and v.flags.c_contiguous):
                self._update(p, g, v, decay)
                continue
            # a piece at a time, so each piece's temporaries stay in cache: a large layer
            # (VGG's first dense one has 103 M weights) is then read and written once
            flat_p, flat_g, flat_v = p.reshape(-1), g.reshape(-1), v.reshape(-1)
            for start in range(0, p.size, self.PIECE):
                piece = slice(start, start + self.PIECE)
                self._update(flat_p[piece], flat_g[piece], flat_v[piece], decay)

    PIECE = 1 << 15

    def _update(self, p, g, v, decay):
        t = p.dtype.type
        if decay:
            g = g + t(decay) * p
        if self.momentum:
            v *= t(self.momentum)
            v += g
            step = g + t(self.momentum) * v if self.nesterov else v
        else:
            step = g
        p -= t(self.learning_rate) * step


def cosine_schedule(base_lr, epochs, warmup=0, final=0.0):
    """Return a learning rate per epoch: linear warm-up, then cosine decay to ``final``.

    During the first ``warmup`` epochs the rate is
    ``base_lr * (epoch + 1) / (warmup + 1)``; then, with
    ``t = (epoch - warmup) / max(1, epochs - warmup)``, it is
    ``final + (base_lr - final) * (1 + cos(pi * t)) / 2``: ``base_lr`` at the first
    epoch after the warm-up, ``final`` at epoch ``epochs``.  For :func:`fit`'s
    ``lr_schedule``.

    Parameters
    ----------
    base_lr : float
        The peak learning rate.
    epochs : int
        Number of epochs of the run, non-negative.
    warmup : int, default 0
        Number of warm-up epochs, non-negative.
    final : float, default 0.0
        The rate the cosine decays to.

    Returns
    -------
    callable
        ``lr(epoch) -> float`` for epochs counted from 0.

    Raises
    ------
    TypeError
        If an argument is not a number (an int for ``epochs`` and ``warmup``).
    ValueError
        If ``epochs`` or ``warmup`` is negative.

    See Also
    --------
    fit : Calls the schedule at each epoch.

    Examples
    --------
    >>> from cnncore.training import cosine_schedule
    >>> lr = cosine_schedule(0.1, epochs=4)
    >>> [round(lr(epoch), 4) for epoch in range(4)]
    [0.1, 0.0854, 0.05, 0.0146]
    >>> lr = cosine_schedule(0.1, epochs=4, warmup=1)
    >>> [round(lr(epoch), 4) for epoch in range(4)]
    [0.05, 0.1, 0.075, 0.025]
    """
    base_lr = as_real(base_lr, "base_lr", "cosine_schedule")
    epochs = as_int(epochs, "epochs", "cosine_schedule", minimum=0)
    warmup = as_int(warmup, "warmup", "cosine_schedule", minimum=0)
    final = as_real(final, "final", "cosine_schedule")

    def lr(epoch):
        if epoch < warmup:
            return base_lr * (epoch + 1) / (warmup + 1)
        t = (epoch - warmup) / max(1, epochs - warmup)
        return final + 0.5 * (base_lr - final) * (1 + math.cos(math.pi * t))
    return lr


class History(dict):
    """The per-epoch record of a training run: a dict of lists.

    Keys: ``loss`` and ``accuracy`` (training, running over the epoch), ``val_loss``
    and ``val_accuracy`` (when validation data is given), ``lr`` and ``time``
    (seconds since the start of :func:`fit`); one value per epoch in each.
    As the ``history`` of Keras' ``History``.

    See Also
    --------
    fit : Returns one.

    Examples
    --------
    >>> from cnncore.training import History
    >>> history = History(loss=[0.9, 0.5], accuracy=[0.6, 0.8])
    >>> history.epochs, history["loss"][-1]
    (2, 0.5)
    """

    @property
    def epochs(self):
        """Number of epochs recorded (the length of ``loss``).

        0 for a history without a ``loss`` list.

        See Also
        --------
        fit : Records one entry per epoch.

        Examples
        --------
        >>> from cnncore.training import History
        >>> History().epochs, History(loss=[1.2, 0.7, 0.4]).epochs
        (0, 3)
        """
        return len(self.get("loss", []))


def _check_labels(model, x, y, what="y", func="fit"):
    labels = as_array(y, what, func)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{what} must be a 1-D array of integer class ids. Received: {what} with "
                         f"shape {labels.shape} and dtype {labels.dtype}")
    if labels.shape[0] != np.shape(x)[0]:
        raise ValueError(f"x and {what} must have the same length. Received: {np.shape(x)[0]} images "
                         f"and {labels.shape[0]} labels")
    k = model.output_shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"{what} must hold class ids in [0, {k}). Received: ids from {labels.min()} "
                         f"to {labels.max()}")
    return labels.astype(np.int64)


def _logits_model(model):
    return bool(model.layers) and isinstance(model.layers[-1], Softmax)


def evaluate(model, x, y, batch_size=256):
    """Return the mean softmax cross-entropy and the accuracy of ``model`` on ``(x, y)``.

    In inference mode (moving averages in batch norm, no dropout), in batches of
    ``batch_size``.  A model that ends with a :class:`~cnncore.layers.Softmax` layer
    is run without it and the loss is computed on its logits; another model's
    outputs are taken as logits.  The accuracy is the fraction of inputs whose
    largest output is the label (the first one on ties).

    Parameters
    ----------
    model : cnncore.Sequential
        A built model with ``num_classes`` outputs.
    x : array_like
        Inputs ``(N,) + model.input_shape``; cast to the model's dtype.
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
        If ``x`` does not fit the model, ``y`` is not a 1-D integer array of the
        length of ``x`` with ids in range, or ``batch_size`` is not positive.
    TypeError
        If ``x`` is not a real numeric array or ``batch_size`` not an int.

    See Also
    --------
    fit : Trains, and evaluates on validation data after each epoch.
    cnncore.softmax_cross_entropy : The loss.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore import Sequential
    >>> from cnncore.layers import Dense, Softmax
    >>> from cnncore.training import evaluate
    >>> model = Sequential([Dense(4, kernel_initializer="zeros"), Softmax()], input_shape=(3,))
    >>> result = evaluate(model, np.ones((6, 3)), np.array([0, 1, 2, 3, 0, 0]))
    >>> round(result["loss"], 4), result["accuracy"]     # log(4); every argmax is 0
    (1.3863, 0.5)
    """
    x = model.check_input(x)
    y = _check_labels(model, x, y, func="evaluate")
    batch_size = as_int(batch_size, "batch_size", "evaluate", minimum=1)
    n = x.shape[0]
    if n == 0:
        return {"loss": float("nan"), "accuracy": float("nan")}
    total, correct = 0.0, 0
    for i in range(0, n, batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        out, _ = model._run(xb, False, False, _logits_model(model))
        loss, _ = F.softmax_cross_entropy(out, yb)
        total += float(loss) * xb.shape[0]
        correct += int((np.argmax(out, axis=1) == yb).sum())
    return {"loss": total / n, "accuracy": correct / n}


def fit(model, x, y, epochs=1, batch_size=32, optimizer=None, validation_data=None, shuffle=True,
        seed=0, verbose=True, lr_schedule=None, callback=None):
    """Train ``model`` on images ``x`` and integer labels ``y`` with mini-batch SGD.

    The loss is softmax cross-entropy on the logits (a final
    :class:`~cnncore.layers.Softmax` layer is skipped while training).  Each step
    runs ``model.forward(xb, training=True)``, the loss, ``model.backward`` and
    ``optimizer.step``.  ``optimizer`` defaults to ``SGD(0.01, momentum=0.9)``;
    ``lr_schedule(epoch) -> lr`` sets its learning rate each epoch.  ``verbose``
    shows a tqdm progress bar per epoch with the running loss and accuracy.
    ``callback(epoch, history)`` runs after each epoch.  Returns a :class:`History`.

    Reproducible: the batches' order comes from ``numpy.random.default_rng(seed)``
    and each :class:`~cnncore.layers.Dropout` layer is reseeded from ``seed``, so
    the same model, data and seed give the same weights.

    Parameters
    ----------
    model : cnncore.Sequential
        A built model; its weights are updated in place.
    x : array_like
        Training inputs ``(N,) + model.input_shape``; cast to the model's dtype.
    y : array_like of int
        Class ids ``(N,)`` in ``[0, num_classes)``.
    epochs : int, default 1
        Number of passes over the data, non-negative.
    batch_size : int, default 32
        Inputs per step; the last batch of an epoch may be smaller.
    optimizer : SGD, optional
        The optimizer; None means ``SGD(0.01, momentum=0.9)``.  Its velocities carry
        over between calls with the same optimizer.
    validation_data : tuple of (array_like, array_like), optional
        ``(x_val, y_val)``, evaluated after each epoch (``val_loss``, ``val_accuracy``).
    shuffle : bool, default True
        Draw a new order of the inputs each epoch; False keeps their order.
    seed : int, default 0
        Seed of the shuffling and of the dropout masks, non-negative.
    verbose : bool, default True
        Show a tqdm progress bar per epoch.
    lr_schedule : callable, optional
        ``lr_schedule(epoch) -> float`` (epochs from 0), e.g. :func:`cosine_schedule`.
    callback : callable, optional
        ``callback(epoch, history)``, called after each epoch.

    Returns
    -------
    History
        Per-epoch ``loss``, ``accuracy``, ``lr`` and ``time`` (and ``val_loss``,
        ``val_accuracy`` with validation data).

    Raises
    ------
    ValueError
        If ``x`` does not fit the model; ``y`` is not a 1-D integer array of the
        length of ``x`` with ids in range; ``epochs`` is not a non-negative int or
        ``batch_size`` not a positive one; ``seed`` is negative; or
        ``validation_data`` is not a pair.
    TypeError
        If ``x`` is not a real numeric array, ``seed`` is not an int, or
        ``lr_schedule`` returns something other than a number.

    See Also
    --------
    evaluate : Loss and accuracy without training.
    SGD : The optimizer.
    cnncore.Sequential.fit : The same as a method.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore import Sequential
    >>> from cnncore.layers import Dense, Softmax
    >>> from cnncore.training import SGD, fit
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((64, 2))
    >>> y = (x[:, 0] > x[:, 1]).astype(int)
    >>> model = Sequential([Dense(2), Softmax()], input_shape=(2,))
    >>> history = fit(model, x, y, epochs=5, batch_size=8, optimizer=SGD(0.1), seed=0,
    ...               verbose=False)
    >>> history.epochs, history["loss"][-1] < history["loss"][0]
    (5, True)
    """
    x = model.check_input(x)
    y = _check_labels(model, x, y)
    for what, v, low in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
            kind = "a non-negative" if low == 0 else "a positive"
            raise ValueError(f"{what} must be {kind} int. Received: {what}={v!r}")
    seed = as_int(seed, "seed", "fit", minimum=0)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            _fail("fit", "`validation_data` must be a pair (x_val, y_val)",
                  f"validation_data of type {type(validation_data).__name__}"
                  + (f" and length {len(validation_data)}"
                     if isinstance(validation_data, (tuple, list)) else ""))
        xv, yv = validation_data
        xv = model.check_input(xv)
        yv = _check_labels(model, xv, yv, "validation labels")
    optimizer = optimizer if optimizer is not None else SGD(0.01, momentum=0.9)
    rng = np.random.default_rng(seed)
    for i, layer in enumerate(l for l in model.layers if isinstance(l, Dropout)):
        layer.reseed([seed, i])
    use_logits = _logits_model(model)
    n = x.shape[0]
    batches = math.ceil(n / batch_size)
    history = History(loss=[], accuracy=[], lr=[], time=[])
    if validation_data is not None:
        history["val_loss"], history["val_accuracy"] = [], []
    start = time.perf_counter()
    if verbose:
        from tqdm.auto import tqdm
    for epoch in range(epochs):
        if lr_schedule is not None:
            optimizer.learning_rate = as_real(lr_schedule(epoch), "lr_schedule(epoch)", "fit")
        order = rng.permutation(n) if shuffle else np.arange(n)
        seen, loss_sum, correct = 0, 0.0, 0
        bar = None
        steps = range(batches)
        if verbose:
            bar = tqdm(steps, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=True)
            steps = bar
        for b in steps:
            idx = order[b * batch_size:(b + 1) * batch_size]
            xb, yb = x[idx], y[idx]
            out = model.forward(xb, training=True, logits=use_logits)
            loss, dlogits = F.softmax_cross_entropy(out, yb)
            model.backward(dlogits, input_grad=False)
            optimizer.step(model.parameters(), model.gradients())
            m = len(idx)
            seen += m
            loss_sum += float(loss) * m
            correct += int((np.argmax(out, axis=1) == yb).sum())
            if bar is not None:
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}")
        for layer in model.layers:
            layer.clear_cache()
        model._ran = []
        history["loss"].append(loss_sum / max(seen, 1))
        history["accuracy"].append(correct / max(seen, 1))
        history["lr"].append(optimizer.learning_rate)
        if validation_data is not None:
            res = evaluate(model, xv, yv)
            history["val_loss"].append(res["loss"])
            history["val_accuracy"].append(res["accuracy"])
            if bar is not None:
                bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", acc=f"{history['accuracy'][-1]:.3f}",
                                val_loss=f"{res['loss']:.4f}", val_acc=f"{res['accuracy']:.3f}")
        if bar is not None:
            bar.close()
        history["time"].append(time.perf_counter() - start)
        if callback is not None:
            callback(epoch, history)
    return history
