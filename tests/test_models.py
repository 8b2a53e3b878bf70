"""Models: VGG parameter counts, shapes, names, MACs; Sequential weights; bad input;
inference helpers (predict, fold_batchnorm); npz weights."""
import gc
import weakref

import numpy as np
import pytest

import cnncore
from cnncore.layers import (BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU,
                            Softmax)
from cnncore.models import VGG, VGG_CONFIGS, Sequential, vgg, vgg11, vgg13, vgg16, vgg19

# The published counts (torchvision / Keras): weights + biases, 1000 classes at 224x224.
KNOWN_PARAMS = {
    "vgg11": 132_863_336,
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
}
VGG19_BN_PARAMS = 143_672_744          # convs lose 5,504 biases, BN adds 11,008 gammas/betas
VGG19_BN_MOVING = 11_008               # moving means and variances (non-trainable)
VGG19_MACS = 19_632_062_464            # 19.6 G multiply-accumulates per 224x224 image

# (name, output shape) of every layer with weights or a change of shape, VGG-19 at 224.
VGG19_SHAPES = [
    ("block1_conv1", (224, 224, 64)), ("block1_conv2", (224, 224, 64)), ("block1_pool", (112, 112, 64)),
    ("block2_conv1", (112, 112, 128)), ("block2_conv2", (112, 112, 128)), ("block2_pool", (56, 56, 128)),
    ("block3_conv1", (56, 56, 256)), ("block3_conv2", (56, 56, 256)), ("block3_conv3", (56, 56, 256)),
    ("block3_conv4", (56, 56, 256)), ("block3_pool", (28, 28, 256)),
    ("block4_conv1", (28, 28, 512)), ("block4_conv2", (28, 28, 512)), ("block4_conv3", (28, 28, 512)),
    ("block4_conv4", (28, 28, 512)), ("block4_pool", (14, 14, 512)),
    ("block5_conv1", (14, 14, 512)), ("block5_conv2", (14, 14, 512)), ("block5_conv3", (14, 14, 512)),
    ("block5_conv4", (14, 14, 512)), ("block5_pool", (7, 7, 512)),
    ("flatten", (25088,)), ("fc1", (4096,)), ("fc2", (4096,)), ("predictions", (1000,)),
    ("softmax", (1000,)),
]


def small_vgg(batch_norm=False, seed=0, dtype="float32", side=32, channels=3, **kw):
    kw.setdefault("width", 1 / 16)
    kw.setdefault("fc_units", 16)
    kw.setdefault("num_classes", 5)
    return vgg("vgg11", input_shape=(side, side, channels), batch_norm=batch_norm, seed=seed,
               dtype=dtype, **kw)


def images(n, side=32, channels=3, seed=1, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((n, side, side, channels)).astype(dtype)


# ---------------------------------------------------------------------------------------
# VGG-19 itself


@pytest.fixture(scope="module")
def vgg19_plain():
    model = cnncore.vgg19() if hasattr(cnncore, "vgg19") else vgg19()
    yield model
    del model
    gc.collect()


def test_vgg19_param_count_and_dtype(vgg19_plain):
    m = vgg19_plain
    assert m.num_params == KNOWN_PARAMS["vgg19"] == 143_667_240
    assert m.num_non_trainable_params == 0
    assert all(w.dtype == np.float32 for w in m.parameters())
    assert m.input_shape == (224, 224, 3) and m.output_shape == (1000,)


def test_vgg19_layer_names_and_shapes(vgg19_plain):
    m = vgg19_plain
    got = {layer.name: layer.output_shape for layer in m.layers}
    for name, shape in VGG19_SHAPES:
        assert got[name] == shape, name
    convs = [l for l in m.layers if isinstance(l, Conv2D)]
    assert len(convs) == 16 and all(l.kernel_size == (3, 3) and l.use_bias for l in convs)
    assert len([l for l in m.layers if isinstance(l, MaxPool2D)]) == 5
    assert [l.name for l in m.layers if isinstance(l, Dense)] == ["fc1", "fc2", "predictions"]
    assert isinstance(m.layers[-1], Softmax)
    assert m.get_layer("fc1").params["kernel"].shape == (25088, 4096)


def test_vgg19_macs_and_summary(vgg19_plain):
    m = vgg19_plain
    assert m.macs == VGG19_MACS
    text = m.summary()
    assert isinstance(text, str)
    for needle in ("block1_conv1", "block5_pool", "fc1", "predictions", "(None, 224, 224, 64)",
                   "(None, 7, 7, 512)", "102,764,544", "143,667,240", "19.63 G",
                   "Trainable params", "MACs"):
        assert needle in text, needle
    # one row per layer, plus the input row
    assert sum(1 for line in text.splitlines() if "(None," in line) == len(m.layers) + 1


def test_vgg19_weights_are_he_initialised(vgg19_plain):
    k = vgg19_plain.get_layer("block3_conv2").params["kernel"]
    assert abs(k.std() - np.sqrt(2 / (9 * 256))) < 0.02 * np.sqrt(2 / (9 * 256))
    assert not np.any(vgg19_plain.get_layer("block3_conv2").params["bias"])


def test_vgg19_inference_returns_probabilities(vgg19_plain):
    x = images(1, side=224)
    p = vgg19_plain(x)
    assert p.shape == (1, 1000) and p.dtype == np.float32
    assert np.all(p >= 0) and abs(p.sum() - 1) < 1e-4


def test_vgg19_batch_norm_count():
    m = cnncore.vgg19(batch_norm=True) if hasattr(cnncore, "vgg19") else vgg19(batch_norm=True)
    assert m.num_params == VGG19_BN_PARAMS == 143_672_744
    assert m.num_non_trainable_params == VGG19_BN_MOVING
    convs = [l for l in m.layers if isinstance(l, Conv2D)]
    assert not any(l.use_bias for l in convs)
    # conv -> BN -> ReLU, as the seed's f(BN(Wx))
    names = [l.name for l in m.layers[:4]]
    assert names == ["block1_conv1", "block1_bn1", "block1_relu1", "block1_conv2"]
    assert m.macs == VGG19_MACS
    del m
    gc.collect()


@pytest.mark.parametrize("builder,name", [(vgg11, "vgg11"), (vgg13, "vgg13"), (vgg16, "vgg16")])
def test_other_vgg_param_counts(builder, name):
    m = builder()
    assert m.num_params == KNOWN_PARAMS[name]
    assert len([l for l in m.layers if isinstance(l, Conv2D)]) == sum(
        1 for v in VGG_CONFIGS[name] if v != "M")
    del m
    gc.collect()


def test_vgg19_public_signature():
    import inspect

    sig = inspect.signature(vgg19)
    assert list(sig.parameters)[:5] == ["num_classes", "input_shape", "batch_norm", "seed", "dtype"]
    assert sig.parameters["num_classes"].default == 1000
    assert sig.parameters["input_shape"].default == (224, 224, 3)
    assert sig.parameters["batch_norm"].default is False
    assert sig.parameters["seed"].default == 0
    assert sig.parameters["dtype"].default == "float32"


# ---------------------------------------------------------------------------------------
# the assembler


def test_config_list_and_width():
    m = VGG([8, "M", 16, 16, "M"], num_classes=3, input_shape=(8, 12, 2), width=0.5, fc_units=6)
    assert [l.name for l in m.layers if not isinstance(l, ReLU)] == [
        "block1_conv1", "block1_pool", "block2_conv1", "block2_conv2", "block2_pool", "flatten",
        "fc1", "fc1_dropout", "fc2", "fc2_dropout", "predictions", "softmax"]
    assert m.get_layer("block2_conv2").output_shape == (4, 6, 8)
    assert m.get_layer("flatten").output_shape == (2 * 3 * 8,)
    assert m.num_params == (9 * 2 * 4 + 4) + (9 * 4 * 8 + 8) + (9 * 8 * 8 + 8) + (48 * 6 + 6) \
        + (6 * 6 + 6) + (6 * 3 + 3)
    assert m(np.zeros((2, 8, 12, 2))).shape == (2, 3)


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = small_vgg(seed=3), small_vgg(seed=3), small_vgg(seed=4)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


@pytest.mark.parametrize("shape", [(30, 30, 3), (16, 16, 3), (48, 32, 3), (64, 33, 3), (0, 32, 3),
                                   (32, 32), (32, 32, 0), (32, 32, 3, 1), "224"])
def test_bad_input_shape_for_vgg(shape):
    with pytest.raises(ValueError, match=r"multiples of 32.*Received: input_shape="):
        vgg19(input_shape=shape)


@pytest.mark.parametrize("config,bad", [([64, "M", "X"], "config[2]='X'"),
                                        ([64, 0, "M"], "config[1]=0"),
                                        ([64, "m"], "config[1]='m'"),
                                        ([64, 3.5, "M"], "config[1]=3.5"),
                                        ([64, None, "M"], "config[1]=None")])
def test_unknown_config_entry(config, bad):
    with pytest.raises(ValueError, match=r"positive int.*\"M\".*Received: " + __import__("re").escape(bad)):
        VGG(config, input_shape=(32, 32, 3))


def test_unknown_config_name():
    with pytest.raises(ValueError, match=r"vgg11.*Received: config='vgg20'"):
        VGG("vgg20")


@pytest.mark.parametrize("kw,msg", [(dict(num_classes=0), "num_classes"), (dict(width=0), "width"),
                                    (dict(fc_units=-1), "fc_units"), (dict(dropout=1.0), "dropout")])
def test_bad_vgg_arguments(kw, msg):
    with pytest.raises(ValueError, match=msg + r".*Received"):
        small_vgg(**kw)


def test_bad_dtype():
    with pytest.raises(TypeError, match="float32.*Received: dtype='int32'"):
        small_vgg(dtype="int32")


# ---------------------------------------------------------------------------------------
# calling a model with bad input


@pytest.mark.parametrize("x_shape,msg", [
    ((2, 32, 32), r"4 dimensions.*Received: x with shape \(2, 32, 32\)"),
    ((2, 32, 32, 1), r"3 channels.*Received: x with shape \(2, 32, 32, 1\)"),
    ((2, 64, 64, 3), r"32x32.*Received: x with shape \(2, 64, 64, 3\)"),
    ((2, 3, 32, 32), r"channels.*Received: x with shape \(2, 3, 32, 32\)"),
])
def test_model_rejects_wrong_input(x_shape, msg):
    m = small_vgg()
    with pytest.raises(ValueError, match=msg):
        m(np.zeros(x_shape, np.float32))
    with pytest.raises(ValueError, match=msg):
        m.forward(np.zeros(x_shape, np.float32), training=True)
    with pytest.raises(ValueError, match=msg):
        m.predict(np.zeros(x_shape, np.float32))


def test_model_rejects_non_numeric_input():
    with pytest.raises(TypeError, match="Received: dtype"):
        small_vgg()(np.full((1, 32, 32, 3), "a"))


def test_empty_batch_and_integer_input():
    m = small_vgg()
    assert m(np.zeros((0, 32, 32, 3), np.float32)).shape == (0, 5)
    x = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 3)).astype(np.uint8)
    np.testing.assert_allclose(m(x), m(x.astype(np.float32)), rtol=1e-6, atol=1e-7)


def test_input_not_modified_and_read_only_ok():
    m = small_vgg(batch_norm=True)
    x = images(4)
    x0 = x.copy()
    x.setflags(write=False)
    m.forward(x, training=True)
    m.backward(np.ones((4, 5), np.float32))
    m(x[:, ::1, ::1])
    np.testing.assert_array_equal(x, x0)


def test_non_contiguous_input():
    m = small_vgg()
    big = images(4, side=64)
    x = big[:, ::2, ::2, :]
    np.testing.assert_allclose(m(x), m(np.ascontiguousarray(x)), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------------------
# Sequential weights


def keras_order(model):
    out = []
    for layer in model.layers:
        if isinstance(layer, (Conv2D, Dense)):
            out.append((layer.name, "kernel"))
            if layer.use_bias:
                out.append((layer.name, "bias"))
        elif isinstance(layer, BatchNorm):
            out += [(layer.name, n) for n in ("gamma", "beta", "moving_mean", "moving_var")]
    return out


@pytest.mark.parametrize("batch_norm", [False, True])
def test_get_weights_keras_order(batch_norm):
    m = small_vgg(batch_norm=batch_norm)
    ws = m.get_weights()
    order = keras_order(m)
    assert len(ws) == len(order)
    for w, (name, what) in zip(ws, order):
        np.testing.assert_array_equal(w, m.get_layer(name).params[what])
        assert w is not m.get_layer(name).params[what]           # copies
    assert ws[0].shape == (3, 3, 3, 4)                           # (KH, KW, C_in, C_out)
    fc1 = m.get_layer("fc1")
    assert fc1.params["kernel"].shape == (32, 16)               # (F_in, F_out)
    if batch_norm:
        assert [w.shape for w in ws[1:5]] == [(4,)] * 4
        np.testing.assert_array_equal(ws[3], 0)                 # moving mean starts at 0
        np.testing.assert_array_equal(ws[4], 1)                 # moving var at 1


def test_set_weights_round_trip():
    a, b = small_vgg(batch_norm=True, seed=1), small_vgg(batch_norm=True, seed=2)
    x = images(3)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x), b(x))


def test_set_weights_wrong_count_changes_nothing():
    m = small_vgg(batch_norm=True)
    before = m.get_weights()
    new = [w + 1 for w in before]
    with pytest.raises(ValueError, match=rf"{len(before)} weight arrays.*Received: a list of {len(before) - 1}"):
        m.set_weights(new[:-1])
    with pytest.raises(ValueError, match=r"Received: a list of"):
        m.set_weights(new + [new[0]])
    for w, w0 in zip(m.get_weights(), before):
        np.testing.assert_array_equal(w, w0)


def test_set_weights_wrong_shape_changes_nothing():
    m = small_vgg(batch_norm=True)
    before = m.get_weights()
    new = [w + 1 for w in before]
    new[-2] = new[-2].T                                          # the last dense kernel
    with pytest.raises(ValueError, match=r"predictions.*kernel.*shape \(16, 5\).*Received: shape \(5, 16\)"):
        m.set_weights(new)
    new = [w + 1 for w in before]
    new[0] = np.transpose(new[0], (3, 2, 0, 1))                  # torch layout by mistake
    with pytest.raises(ValueError, match=r"block1_conv1.*kernel.*\(3, 3, 3, 4\).*Received: shape \(4, 3, 3, 3\)"):
        m.set_weights(new)
    for w, w0 in zip(m.get_weights(), before):
        np.testing.assert_array_equal(w, w0)


def test_set_weights_copies_and_casts():
    m = small_vgg()
    ws = [w.astype(np.float64) for w in m.get_weights()]
    m.set_weights(ws)
    assert all(w.dtype == np.float32 for w in m.get_weights())
    ws[0][...] = 7
    assert not np.any(m.get_weights()[0] == 7)


def test_parameters_and_gradients_pair_up():
    m = small_vgg(batch_norm=True)
    x = images(4)
    m.forward(x, training=True)
    m.backward(np.ones((4, 5), np.float32) / 4)
    ps, gs = m.parameters(), m.gradients()
    assert len(ps) == len(gs) == len(m.named_parameters())
    assert [p.shape for p in ps] == [g.shape for g in gs]
    assert sum(p.size for p in ps) == m.num_params
    # parameters() are the arrays themselves (optimizers update in place)
    assert ps[0] is m.get_layer("block1_conv1").params["kernel"]


def test_sequential_by_hand_and_auto_names():
    m = Sequential([Conv2D(4, 3, padding="same"), BatchNorm(), ReLU(), MaxPool2D(), Conv2D(6, 3),
                    ReLU(), Flatten(), Dense(7), Dropout(0.2), Dense(3), Softmax()],
                   input_shape=(10, 10, 2), seed=0)
    assert [l.name for l in m.layers] == ["conv2d", "batch_normalization", "re_lu", "max_pooling2d",
                                          "conv2d_1", "re_lu_1", "flatten", "dense", "dropout",
                                          "dense_1", "softmax"]
    assert [l.output_shape for l in m.layers] == [(10, 10, 4), (10, 10, 4), (10, 10, 4), (5, 5, 4),
                                                  (3, 3, 6), (3, 3, 6), (54,), (7,), (7,), (3,), (3,)]
    assert m.num_params == (18 * 4 + 4) + 8 + (36 * 6 + 6) + (54 * 7 + 7) + (7 * 3 + 3)
    assert m(np.ones((2, 10, 10, 2))).shape == (2, 3)


def test_duplicate_names_and_bad_layers():
    with pytest.raises(ValueError, match="unique.*Received"):
        Sequential([Dense(2, name="a"), Dense(2, name="a")])
    with pytest.raises(ValueError, match="Flatten.*Received: input shape"):
        Sequential([Dense(2)], input_shape=(4, 4, 1))
    with pytest.raises(ValueError, match="larger than the padded input.*Received"):
        Sequential([Conv2D(2, 5)], input_shape=(4, 4, 1))
    with pytest.raises(TypeError):
        Sequential([lambda x: x])


def test_flatten_is_channels_last():
    m = Sequential([Flatten()], input_shape=(2, 3, 4))
    x = np.arange(24, dtype=np.float64).reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(m(x)[0], x[0].reshape(-1))    # (H, W, C) order
    np.testing.assert_array_equal(m(x)[0][:4], x[0, 0, 0, :])


# ---------------------------------------------------------------------------------------
# batch norm layer behaviour


def test_batchnorm_training_updates_moving_averages_inference_uses_them():
    bn = Sequential([BatchNorm()], input_shape=(4, 4, 3), dtype="float64")
    layer = bn.layers[0]
    x = np.random.default_rng(0).normal(2.0, 3.0, (8, 4, 4, 3))
    y = bn.forward(x, training=True)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), atol=1e-10)
    np.testing.assert_allclose(layer.params["moving_mean"], 0.01 * mean, rtol=1e-12)
    np.testing.assert_allclose(layer.params["moving_var"], 0.99 + 0.01 * var, rtol=1e-12)
    yi = bn(x)
    np.testing.assert_allclose(
        yi, (x - layer.params["moving_mean"]) / np.sqrt(layer.params["moving_var"] + 1e-3), atol=1e-10)
    before = layer.get_weights()
    bn(x)                                                        # inference: no update
    for w, w0 in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(w, w0)


def test_dropout_training_only():
    m = Sequential([Dropout(0.5)], input_shape=(1000,), dtype="float64", seed=0)
    x = np.ones((4, 1000))
    np.testing.assert_array_equal(m(x), x)
    y = m.forward(x, training=True)
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.4 < (y == 0).mean() < 0.6


# ---------------------------------------------------------------------------------------
# inference helpers


def trained_bn_model(dtype="float32"):
    """A BN VGG whose batch-norm statistics and affine parameters are far from the defaults."""
    m = small_vgg(batch_norm=True, dtype=dtype)
    rng = np.random.default_rng(7)
    for layer in m.layers:
        if isinstance(layer, BatchNorm):
            c = layer.params["gamma"].shape
            layer.set_weights([rng.uniform(0.5, 2, c), rng.normal(0, 0.5, c), rng.normal(0, 0.5, c),
                               rng.uniform(0.2, 3, c)])
    return m


@pytest.mark.parametrize("dtype,tol", [("float32", 2e-5), ("float64", 1e-12)])
def test_fold_batchnorm_leaves_outputs_unchanged(dtype, tol):
    m = trained_bn_model(dtype)
    x = images(6, dtype=dtype)
    before = m.get_weights()
    folded = m.fold_batchnorm()
    assert not any(isinstance(l, BatchNorm) for l in folded.layers)
    convs = [l for l in folded.layers if isinstance(l, Conv2D)]
    assert convs and all(l.use_bias for l in convs)
    assert folded.num_params == m.num_params - sum(
        l.params["gamma"].size for l in m.layers if isinstance(l, BatchNorm))
    np.testing.assert_allclose(folded(x), m(x), rtol=tol, atol=tol)
    # pre-softmax values too (probabilities can hide differences)
    np.testing.assert_allclose(folded.forward(x, logits=True), m.forward(x, logits=True),
                               rtol=10 * tol, atol=10 * tol)
    for w, w0 in zip(m.get_weights(), before):                  # the original is untouched
        np.testing.assert_array_equal(w, w0)


def test_fold_batchnorm_after_dense_and_conv_with_bias():
    m = Sequential([Conv2D(3, 3, padding="same"), BatchNorm(), ReLU(), Flatten(), Dense(4), BatchNorm(),
                    Softmax()], input_shape=(5, 5, 2), dtype="float64")
    rng = np.random.default_rng(1)
    m.set_weights([rng.normal(size=w.shape) if i not in (5, 11) else rng.uniform(0.5, 2, w.shape)
                   for i, w in enumerate(m.get_weights())])
    x = rng.normal(size=(3, 5, 5, 2))
    f = m.fold_batchnorm()
    assert [type(l).__name__ for l in f.layers] == ["Conv2D", "ReLU", "Flatten", "Dense", "Softmax"]
    np.testing.assert_allclose(f(x), m(x), rtol=1e-12, atol=1e-14)


def test_predict_batches_match_one_pass(capsys):
    m = small_vgg(batch_norm=True)
    x = images(10)
    full, _ = m._run(m.check_input(x), False, False, False)
    np.testing.assert_allclose(m.predict(x, batch_size=3, verbose=False), full, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(m(x), full, rtol=1e-6, atol=1e-7)
    m.predict(x, batch_size=3, verbose=True)
    assert "predict" in capsys.readouterr().err                  # a tqdm progress bar
    with pytest.raises(ValueError, match="batch_size.*Received: batch_size=0"):
        m.predict(x, batch_size=0)


def test_predict_keeps_no_activations():
    m = small_vgg()
    m.predict(images(5), batch_size=2)
    assert all(layer._cache is None for layer in m.layers)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_relu_output_is_let_go_and_made_again_for_backward(dtype, training):
    """A BatchNorm + ReLU output is not kept once the next layer (a convolution or
    pooling) has used it; the backward makes it again from what the BatchNorm keeps,
    so the gradients are those of the layers run one by one, bit for bit."""
    m = small_vgg(batch_norm=True, dtype=dtype, width=1 / 8, dropout=0.0)
    x = images(3, dtype=dtype)
    labels = np.array([0, 3, 1])
    relus = [b for a, b in zip(m.layers, m.layers[1:])
             if isinstance(a, BatchNorm) and isinstance(b, ReLU)]
    assert len(relus) == 8
    outputs = []
    for relu in relus:
        def spy(y, training=False, _relu=relu, _fused=relu.forward_fused):
            outputs.append(weakref.ref(y))
            return _fused(y, training=training)
        relu.forward_fused = spy
    logits = m.forward(x, training=training, logits=True)
    assert len(outputs) == 8 and all(ref() is None for ref in outputs)
    _, dlogits = cnncore.softmax_cross_entropy(logits, labels)
    dx = m.backward(dlogits)
    grads = [g.copy() for g in m.gradients()]

    h = x
    for layer in m.layers[:-1]:             # one by one: nothing fused, nothing let go
        h = layer.forward(h, training=training)
    np.testing.assert_array_equal(h, logits)
    d = cnncore.softmax_cross_entropy(h, labels)[1]
    for layer in reversed(m.layers[:-1]):
        d = layer.backward(d)
    np.testing.assert_array_equal(d, dx)
    for got, want in zip(m.gradients(), grads):
        np.testing.assert_array_equal(got, want)


def test_backward_needs_forward_and_right_shape():
    m = small_vgg()
    with pytest.raises(RuntimeError, match="forward"):
        m.backward(np.zeros((2, 5), np.float32))
    m.forward(images(2), training=True)
    with pytest.raises(ValueError, match=r"output \(None, 5\).*Received: dloss with shape \(2, 4\)"):
        m.backward(np.zeros((2, 4), np.float32))


# ---------------------------------------------------------------------------------------
# npz weights


def test_save_load_npz(tmp_path):
    a = trained_bn_model()
    path = tmp_path / "w.npz"
    a.save_weights(path)
    with np.load(path) as f:
        assert "block1_conv1/kernel" in f.files and "block1_bn1/moving_var" in f.files
    b = small_vgg(batch_norm=True, seed=9)
    b.load_weights(path)
    x = images(3)
    np.testing.assert_array_equal(a(x), b(x))


def test_load_npz_of_another_model_changes_nothing(tmp_path):
    a = small_vgg(batch_norm=False)
    path = tmp_path / "w.npz"
    a.save_weights(path)
    b = small_vgg(batch_norm=True, seed=9)
    before = b.get_weights()
    with pytest.raises(ValueError, match="do not match.*Received: missing"):
        b.load_weights(path)
    for w, w0 in zip(b.get_weights(), before):
        np.testing.assert_array_equal(w, w0)
    c = small_vgg(batch_norm=False, width=1 / 8)
    with pytest.raises(ValueError, match="Received: shape"):
        c.load_weights(path)


def _assert_unchanged(model, before):
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, w0)


def test_weight_file_errors_name_the_file_the_layer_and_the_key(tmp_path):
    """A key missing from a weights .npz, or an array of the wrong shape, is an error that
    names the file, the layer and the key(s); nothing is loaded."""
    a = small_vgg(batch_norm=True, seed=1)
    arrays = dict(a.named_weights())
    b = small_vgg(batch_norm=True, seed=2)
    before = b.get_weights()

    path = str(tmp_path / "missing.npz")
    np.savez(path, **{k: v for k, v in arrays.items()
                      if k not in ("block2_conv1/kernel", "block3_bn1/moving_var")})
    with pytest.raises(ValueError) as info:
        b.load_weights(path)
    message = str(info.value)
    for part in (repr(path), "layer 'block2_conv1' lacks kernel",
                 "layer 'block3_bn1' lacks moving_var", "'block2_conv1/kernel'",
                 "'block3_bn1/moving_var'"):
        assert part in message, (part, message)
    _assert_unchanged(b, before)

    path = str(tmp_path / "shape.npz")
    np.savez(path, **{**arrays, "fc1/bias": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match=rf"{path}.*layer 'fc1'.*'bias'.*Received: shape \(3,\)"):
        b.load_weights(path)
    _assert_unchanged(b, before)

    path = str(tmp_path / "one_array.npy")
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match=rf"{path}.*not a .npz archive"):
        b.load_weights(path)


@pytest.mark.parametrize("key, layer", [("classifier.6.bias", "predictions"),
                                        ("classifier.0.weight", "fc1"),
                                        ("features.1.running_var", "block1_bn1"),
                                        ("features.5.bias", "block2_bn1")])
def test_torchvision_state_dict_missing_a_key(tmp_path, key, layer):
    """torchvision-layout weights (.npz with torchvision keys, or a dict) missing a key: the
    error names the key, the layer that needs it and the file, not a bare KeyError."""
    from cnncore.weights import load_torchvision_vgg, to_torchvision_state_dict
    a = small_vgg(batch_norm=True, seed=1)
    sd = to_torchvision_state_dict(a)
    assert key in sd
    del sd[key]
    path = str(tmp_path / "tv.npz")
    np.savez(path, **sd)
    b = small_vgg(batch_norm=True, seed=2)
    before = b.get_weights()
    with pytest.raises(ValueError) as info:
        b.load_weights(path)
    message = str(info.value)
    assert key + " is missing" in message and f"layer {layer!r}" in message, message
    assert repr(path) in message, message
    with pytest.raises(ValueError, match=rf"state dict: {key} is missing \(layer '{layer}'"):
        load_torchvision_vgg(b, sd)
    _assert_unchanged(b, before)


def test_reading_a_pth_without_torch_says_what_to_install(monkeypatch, tmp_path):
    import sys
    from cnncore.weights import read_state_dict
    monkeypatch.setitem(sys.modules, "torch", None)        # `import torch` raises ImportError
    path = str(tmp_path / "vgg19.pth")
    with pytest.raises(ImportError) as info:
        read_state_dict(path)
    message = str(info.value)
    assert path in message and "pip install torch" in message and ".npz" in message
    assert "cnncore[torch]" not in message                 # no such extra
