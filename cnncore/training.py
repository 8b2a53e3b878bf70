"""Training: softmax cross-entropy, SGD with momentum and weight decay, a ``fit`` loop.

    >>> from cnncore.training import SGD, fit
    >>> history = fit(model, x_train, y_train, epochs=10, batch_size=32,
    ...               optimizer=SGD(0.05, momentum=0.9, weight_decay=5e-4),
    ...               validation_data=(x_test, y_test), seed=0)

Reproducible: the same model seed, data and ``fit`` seed give the same weights
(shuffling and dropout masks come from ``seed``).  Built on the model's
forward/backward and the functional ``softmax_cross_entropy``.
"""
import math
import numbers
import time

import numpy as np

from . import functional as F
from .layers import Dropout, Softmax

__all__ = ["SGD", "fit", "evaluate", "cosine_schedule", "History"]


class SGD:
    """Stochastic gradient descent with momentum and (L2) weight decay, PyTorch's form::

        g = grad + weight_decay * p        (kernels only, see below)
        v = momentum * v + g
        p = p - lr * v                     (nesterov: p = p - lr * (g + momentum * v))

    ``decay_all=False`` (the default) applies weight decay to kernels and dense
    weights only, not to biases or batch-norm gamma/beta.  Parameters are updated in
    place.
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
        """Update each array of ``params`` in place from ``grads`` (same order each call)."""
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError(f"params and grads must pair up. Received: {len(params)} and {len(grads)}")
        if self.velocity is None or len(self.velocity) != len(params):
            self.velocity = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, self.velocity):
            g = np.asarray(g, dtype=p.dtype)
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
    """A learning rate per epoch: linear warm-up, then cosine decay from ``base_lr`` to ``final``."""
    def lr(epoch):
        if epoch < warmup:
            return base_lr * (epoch + 1) / (warmup + 1)
        t = (epoch - warmup) / max(1, epochs - warmup)
        return final + 0.5 * (base_lr - final) * (1 + math.cos(math.pi * t))
    return lr


class History(dict):
    """Per-epoch ``loss``, ``accuracy`` (training, running over the epoch), ``val_loss``,
    ``val_accuracy`` (when validation data is given), ``lr`` and ``time`` (seconds since start)."""

    @property
    def epochs(self):
        return len(self.get("loss", []))


def _check_labels(model, x, y, what="y"):
    labels = np.asarray(y)
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
    """Mean softmax cross-entropy and accuracy of ``model`` on ``(x, y)`` in inference mode."""
    x = model.check_input(x)
    y = _check_labels(model, x, y)
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

    The loss is softmax cross-entropy on the logits (a final :class:`Softmax` layer
    is skipped while training).  ``optimizer`` defaults to ``SGD(0.01, momentum=0.9)``;
    ``lr_schedule(epoch) -> lr`` sets its learning rate each epoch.  ``verbose`` shows
    a tqdm progress bar per epoch with the running loss and accuracy.  ``callback(epoch,
    history)`` runs after each epoch.  Returns a :class:`History`.
    """
    x = model.check_input(x)
    y = _check_labels(model, x, y)
    for what, v, low in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
            kind = "a non-negative" if low == 0 else "a positive"
            raise ValueError(f"{what} must be {kind} int. Received: {what}={v!r}")
    if validation_data is not None:
        xv, yv = validation_data
        xv = model.check_input(xv)
        yv = _check_labels(model, xv, yv, "validation labels")
    optimizer = optimizer if optimizer is not None else SGD(0.01, momentum=0.9)
    rng = np.random.default_rng(seed)
    for i, layer in enumerate(l for l in model.layers if isinstance(l, Dropout)):
        layer.reseed([int(seed), i])
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
            optimizer.learning_rate = float(lr_schedule(epoch))
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
