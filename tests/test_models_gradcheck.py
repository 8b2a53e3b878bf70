"""Whole-model gradient checks: backward() of small models against central finite
differences of the loss, in float64, for every parameter array and for the input."""
import numpy as np
import pytest

import cnncore
from cnncore.layers import (BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU,
                            Softmax)
from cnncore.models import VGG, Sequential

EPS = 1e-6
RTOL = 1e-5


def _loss_and_grads(model, x, labels, training, probe=None):
    """Loss (softmax CE on logits, or <probe, probabilities>) and backward's gradients."""
    for i, layer in enumerate(l for l in model.layers if isinstance(l, Dropout)):
        layer.reseed(100 + i)                                    # the same mask every time
    if probe is None:
        out = model.forward(x, training=training, logits=True)
        loss, d = cnncore.softmax_cross_entropy(out, labels)
    else:
        out = model.forward(x, training=training)
        loss, d = float((out * probe).sum()), probe
    return float(loss), d


def check_model(model, x, labels, training=True, probe=None, entries=6, seed=0):
    rng = np.random.default_rng(seed)
    _, d = _loss_and_grads(model, x, labels, training, probe)
    dx = model.backward(d)
    grads = [g.copy() for g in model.gradients()]
    named = model.named_parameters()
    assert len(grads) == len(named)

    def numeric(array, idx):
        old = array[idx]
        array[idx] = old + EPS
        up, _ = _loss_and_grads(model, x, labels, training, probe)
        array[idx] = old - EPS
        down, _ = _loss_and_grads(model, x, labels, training, probe)
        array[idx] = old
        return (up - down) / (2 * EPS)

    worst = 0.0
    for (name, p), g in zip(named, grads):
        assert g.shape == p.shape, name
        flat = rng.choice(p.size, size=min(entries, p.size), replace=False)
        for f in flat:
            idx = np.unravel_index(f, p.shape)
            num = numeric(p, idx)
            err = abs(num - g[idx]) / max(1e-7, abs(num) + abs(g[idx]))
            worst = max(worst, err)
            assert err < RTOL or abs(num - g[idx]) < 1e-9, (name, idx, num, g[idx])
    xs = x.copy()
    for f in rng.choice(x.size, size=entries, replace=False):
        idx = np.unravel_index(f, x.shape)

        def at(v):
            xs[idx] = v
            return _loss_and_grads(model, xs, labels, training, probe)[0]

        old = x[idx]
        num = (at(old + EPS) - at(old - EPS)) / (2 * EPS)
        xs[idx] = old
        assert abs(num - dx[idx]) <= RTOL * (abs(num) + abs(dx[idx])) + 1e-9, ("input", idx, num, dx[idx])
    return worst


def data(n=4, side=8, channels=2, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, side, side, channels)), rng.integers(0, classes, n)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_small_vgg_gradients(batch_norm):
    model = VGG([4, 4, "M", 6, "M", 6, "M"], num_classes=3, input_shape=(8, 8, 2), batch_norm=batch_norm,
                fc_units=5, dropout=0.0, dtype="float64", seed=1)
    x, y = data()
    check_model(model, x, y, training=True)


def test_small_vgg_with_dropout_gradients():
    model = VGG([4, "M", 4, "M"], num_classes=3, input_shape=(8, 8, 2), batch_norm=True, fc_units=6,
                dropout=0.3, dtype="float64", seed=2)
    x, y = data(seed=2)
    check_model(model, x, y, training=True)


def test_gradients_through_the_softmax_layer():
    model = VGG([3, "M", 5, "M"], num_classes=4, input_shape=(8, 8, 1), batch_norm=True, fc_units=5,
                dropout=0.0, dtype="float64", seed=3)
    x, _ = data(channels=1, seed=3)
    probe = np.random.default_rng(4).standard_normal((4, 4))
    check_model(model, x, None, training=True, probe=probe)


def test_inference_mode_gradients():
    """backward after an inference forward: batch norm is then a fixed affine map."""
    model = VGG([4, "M", 4, "M"], num_classes=3, input_shape=(8, 8, 2), batch_norm=True, fc_units=5,
                dropout=0.5, dtype="float64", seed=5)
    rng = np.random.default_rng(5)
    for layer in model.layers:
        if isinstance(layer, BatchNorm):
            c = layer.params["gamma"].shape
            layer.set_weights([rng.uniform(0.5, 2, c), rng.normal(size=c), rng.normal(size=c),
                               rng.uniform(0.5, 2, c)])
    x, y = data(seed=5)
    check_model(model, x, y, training=False)


def test_strided_dilated_padded_sequential_gradients():
    model = Sequential([
        Conv2D(3, (3, 2), strides=(2, 1), padding=((1, 2), (0, 1)), dilation_rate=(1, 2)),
        BatchNorm(momentum=0.9, epsilon=1e-2), ReLU(),
        MaxPool2D(3, strides=2, padding="same"),
        Conv2D(4, 2, padding="valid", use_bias=False), ReLU(),
        Flatten(), Dense(6), BatchNorm(), ReLU(), Dropout(0.25), Dense(3), Softmax(),
    ], input_shape=(9, 7, 2), dtype="float64", seed=6)
    x, y = data(n=5, side=9, seed=6)
    x = np.random.default_rng(6).standard_normal((5, 9, 7, 2))
    check_model(model, x, y, training=True)
