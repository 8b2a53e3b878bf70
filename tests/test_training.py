"""Training: the SGD update, fit's reproducibility, progress bar, bad input; a fit that learns."""
import numpy as np
import pytest

from cnncore.layers import Dense, Flatten, ReLU, Softmax
from cnncore.models import Sequential, vgg
from cnncore.training import SGD, History, cosine_schedule, evaluate, fit


def test_sgd_momentum_weight_decay_by_hand():
    w = np.array([[1.0, -2.0]])                       # a kernel: decayed
    b = np.array([0.5])                               # a bias: not decayed by default
    opt = SGD(0.1, momentum=0.9, weight_decay=0.01)
    g_w, g_b = np.array([[0.2, 0.4]]), np.array([1.0])
    opt.step([w, b], [g_w, g_b])
    v_w = g_w + 0.01 * np.array([[1.0, -2.0]])
    np.testing.assert_allclose(w, [[1.0, -2.0]] - 0.1 * v_w)
    np.testing.assert_allclose(b, [0.5 - 0.1])
    w1 = w.copy()
    opt.step([w, b], [g_w, g_b])
    v_w = 0.9 * v_w + g_w + 0.01 * w1
    np.testing.assert_allclose(w, w1 - 0.1 * v_w)
    np.testing.assert_allclose(b, [0.5 - 0.1 - 0.1 * (0.9 * 1.0 + 1.0)])


def test_sgd_plain_nesterov_and_decay_all():
    p = np.array([1.0])
    SGD(0.5, momentum=0.0).step([p], [np.array([2.0])])
    assert p[0] == 0.0
    p = np.array([1.0])
    SGD(0.1, momentum=0.9, weight_decay=0.1, decay_all=True).step([p], [np.array([0.0])])
    np.testing.assert_allclose(p, [1.0 - 0.1 * 0.1])
    p = np.array([1.0])
    SGD(0.1, momentum=0.5, nesterov=True).step([p], [np.array([1.0])])
    np.testing.assert_allclose(p, [1.0 - 0.1 * (1.0 + 0.5 * 1.0)])
    with pytest.raises(ValueError, match="learning_rate.*Received: learning_rate=-1"):
        SGD(-1)


def test_cosine_schedule():
    lr = cosine_schedule(0.1, 10)
    assert lr(0) == pytest.approx(0.1) and lr(5) == pytest.approx(0.05) and lr(10) == pytest.approx(0.0)
    warm = cosine_schedule(0.1, 10, warmup=1)
    assert warm(0) == pytest.approx(0.05)


def blobs(n=120, side=8, classes=3, seed=0):
    """Images whose class is the bright quadrant: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.normal(0, 0.3, (n, side, side, 1))
    h = side // 2
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, r * h:(r + 1) * h, q * h:(q + 1) * h, 0] += 1.0
    return x.astype(np.float32), y


def tiny_model(seed=0, dropout=0.25):
    return vgg([4, "M", 8, "M"], num_classes=3, input_shape=(8, 8, 1), batch_norm=True, fc_units=16,
               dropout=dropout, seed=seed)


def test_fit_learns_and_reports():
    x, y = blobs()
    model = tiny_model()
    hist = fit(model, x[:90], y[:90], epochs=6, batch_size=16, optimizer=SGD(0.05, momentum=0.9),
               validation_data=(x[90:], y[90:]), verbose=False)
    assert isinstance(hist, History) and hist.epochs == 6
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"}
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["accuracy"][-1] > 0.9 and hist["val_accuracy"][-1] > 0.9
    res = evaluate(model, x[90:], y[90:])
    assert res["accuracy"] == pytest.approx(hist["val_accuracy"][-1])
    assert model.evaluate(x[90:], y[90:]) == res


def test_fit_is_reproducible():
    x, y = blobs(60)
    runs = []
    for _ in range(2):
        m = tiny_model(seed=3)
        h = m.fit(x, y, epochs=2, batch_size=8, optimizer=SGD(0.05, 0.9, 1e-4), seed=11, verbose=False)
        runs.append((m.get_weights(), h["loss"]))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][1] == runs[1][1]
    m = tiny_model(seed=3)
    m.fit(x, y, epochs=2, batch_size=8, optimizer=SGD(0.05, 0.9, 1e-4), seed=12, verbose=False)
    assert not np.array_equal(m.get_weights()[0], runs[0][0][0])


def test_fit_updates_batchnorm_moving_averages():
    x, y = blobs(32)
    m = tiny_model()
    fit(m, x, y, epochs=1, batch_size=8, verbose=False)
    bn = m.get_layer("block1_bn1")
    assert np.all(bn.params["moving_mean"] != 0) and np.all(bn.params["moving_var"] != 1)


def test_fit_progress_bar_shows_loss_and_accuracy(capsys):
    x, y = blobs(24)
    fit(tiny_model(), x, y, epochs=1, batch_size=8, verbose=True)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "loss=" in err and "acc=" in err and "3/3" in err


def test_fit_model_without_softmax_uses_its_outputs_as_logits():
    x, y = blobs(60)
    m = Sequential([Flatten(), Dense(8), ReLU(), Dense(3)], input_shape=(8, 8, 1))
    h = fit(m, x, y, epochs=5, batch_size=10, optimizer=SGD(0.05), verbose=False)
    assert h["loss"][-1] < h["loss"][0]
    m2 = Sequential([Flatten(), Dense(8), ReLU(), Dense(3), Softmax()], input_shape=(8, 8, 1))
    h2 = fit(m2, x, y, epochs=5, batch_size=10, optimizer=SGD(0.05), verbose=False)
    assert h2["loss"] == pytest.approx(h["loss"])            # same seed, same logits, same loss


@pytest.mark.parametrize("labels,msg", [
    (np.zeros((8, 1), int), r"1-D array of integer class ids.*Received"),
    (np.zeros(8, float), r"integer class ids.*Received"),
    (np.zeros(7, int), r"same length.*Received: 8 images and 7 labels"),
    (np.full(8, 3), r"class ids in \[0, 3\).*Received: ids from 3 to 3"),
    (np.full(8, -1), r"class ids in \[0, 3\).*Received"),
])
def test_fit_bad_labels(labels, msg):
    x, _ = blobs(8)
    with pytest.raises(ValueError, match=msg):
        fit(tiny_model(), x, labels, verbose=False)


def test_fit_bad_images_and_arguments():
    x, y = blobs(8)
    with pytest.raises(ValueError, match=r"channels.*Received: x with shape \(8, 8, 8, 3\)"):
        fit(tiny_model(), np.repeat(x, 3, axis=-1), y, verbose=False)
    with pytest.raises(ValueError, match="batch_size.*Received: batch_size=0"):
        fit(tiny_model(), x, y, batch_size=0, verbose=False)


def test_sgd_in_pieces_equals_the_whole_update(monkeypatch):
    """Large arrays are updated a piece at a time; the result is the same as in one go."""
    rng = np.random.default_rng(0)
    shapes = [(5, 7, 3), (11,), (4, 4)]
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    want = [p.copy() for p in params]
    whole = SGD(0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
    pieces = SGD(0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
    for _ in range(3):
        whole.step(want, grads)
        monkeypatch.setattr(SGD, "PIECE", 8)
        pieces.step(params, grads)
        monkeypatch.setattr(SGD, "PIECE", 1 << 40)
    for got, w in zip(params, want):
        np.testing.assert_allclose(got, w, rtol=1e-6)
    # a non-contiguous parameter is updated in place too
    p = np.zeros((4, 6), np.float32)[:, ::2]
    SGD(0.5).step([p], [np.ones((4, 3), np.float32)])
    np.testing.assert_array_equal(p, -0.5)


def test_backward_without_the_input_gradient_gives_the_same_parameter_gradients():
    model = vgg("vgg11", num_classes=5, input_shape=(32, 32, 3), width=0.125, fc_units=16,
                batch_norm=True, dropout=0.0)
    x = np.random.default_rng(1).standard_normal((2, 32, 32, 3)).astype(np.float32)
    dloss = np.random.default_rng(2).standard_normal((2, 5)).astype(np.float32)
    model.forward(x, training=True, logits=True)
    dx = model.backward(dloss.copy())
    assert dx.shape == x.shape
    full = [g.copy() for g in model.gradients()]
    model.forward(x, training=True, logits=True)
    kept = dloss.copy()
    assert model.backward(kept, input_grad=False) is None
    np.testing.assert_array_equal(kept, dloss)     # the caller's dloss is never written
    for got, want in zip(model.gradients(), full):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
