"""The same VGG in PyTorch and in cnncore, with the same weights, gives the same outputs.

torchvision is not needed (nor installable with torch 2.13 from PyPI): the torch
network is built here with torch.nn in torchvision's layout, so its state dict has
torchvision's keys (features.N.weight, classifier.0.weight, ...).  Small VGGs
(width reduced, 32x32 or 64x64 input) keep it fast.  Skipped without torch.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from cnncore.layers import BatchNorm  # noqa: E402
from cnncore.models import VGG  # noqa: E402
from cnncore.weights import (adaptive_avg_pool_matrix, load_torchvision_vgg,  # noqa: E402
                             to_torchvision_state_dict)

CFG = [8, "M", 16, "M", 16, 16, "M", 32, 32, "M", 32, 32, "M"]      # VGG-11 at width 1/8
FC = 24
CLASSES = 10


class TorchVGG(nn.Module):
    """torchvision.models.VGG's structure: features, avgpool, classifier (indices 0, 3, 6)."""

    def __init__(self, cfg, batch_norm, classes, fc, in_channels=3, pool=(7, 7)):
        super().__init__()
        layers, c = [], in_channels
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers.append(nn.Conv2d(c, v, 3, padding=1))
                if batch_norm:
                    layers += [nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                else:
                    layers.append(nn.ReLU(inplace=True))
                c = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(pool) if pool else nn.Identity()
        self.pool = pool
        self.classifier = nn.Sequential(
            nn.Linear(c * (pool[0] * pool[1] if pool else 1), fc), nn.ReLU(True), nn.Dropout(),
            nn.Linear(fc, fc), nn.ReLU(True), nn.Dropout(), nn.Linear(fc, classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def torch_model(batch_norm, seed=0, pool=(7, 7), in_features=None, fc=FC):
    torch.manual_seed(seed)
    m = TorchVGG(CFG, batch_norm, CLASSES, fc, pool=pool)
    if in_features is not None:                     # a flatten of a feature map bigger than 1x1
        m.classifier[0] = nn.Linear(in_features, fc)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):   # He init: logits of order 1, not 1e-1
                nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
                mod.bias.uniform_(-0.2, 0.2)
            if isinstance(mod, nn.BatchNorm2d):       # statistics far from the defaults
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.3, 0.3)
                mod.running_mean.uniform_(-0.3, 0.3)
                mod.running_var.uniform_(0.5, 2.0)
    return m.eval()


def ours(batch_norm, side=32, seed=5, dtype="float32"):
    return VGG(CFG, num_classes=CLASSES, input_shape=(side, side, 3), batch_norm=batch_norm,
               fc_units=FC, seed=seed, dtype=dtype)


def torch_probs(tm, x_nhwc, dtype=torch.float32):
    with torch.no_grad():
        t = torch.from_numpy(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))).to(dtype)
        return torch.softmax(tm.to(dtype)(t), dim=1).numpy()


def torch_logits(tm, x_nhwc, dtype=torch.float32):
    with torch.no_grad():
        t = torch.from_numpy(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))).to(dtype)
        return tm.to(dtype)(t).numpy()


def images(n, side, seed=0):
    return np.random.default_rng(seed).standard_normal((n, side, side, 3)).astype(np.float32)


# (pool, side): the flatten sees (side / 32)^2 positions; with torchvision's 7x7 adaptive
# average pool the importer folds that pool into fc1.
CASES = [
    pytest.param(None, 64, id="no-avgpool-2x2-map"),    # plain permutation (C,H,W) -> (H,W,C)
    pytest.param((7, 7), 32, id="avgpool7-1x1-map"),    # torchvision at 32x32: 1x1 replicated
    pytest.param((7, 7), 64, id="avgpool7-2x2-map"),    # overlapping adaptive windows
    pytest.param((7, 7), 224, id="avgpool7-7x7-map"),   # torchvision's own setting: identity
]


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
@pytest.mark.parametrize("pool,side", CASES)
def test_same_outputs_as_pytorch(batch_norm, pool, side):
    positions = (side // 32) ** 2
    tm = torch_model(batch_norm, pool=pool, in_features=None if pool else 32 * positions)
    m = ours(batch_norm, side)
    load_torchvision_vgg(m, tm.state_dict())
    x = images(3, side)
    got_logits = m.forward(x, logits=True)
    want_logits = torch_logits(tm, x)
    scale = np.abs(want_logits).max()
    assert np.abs(got_logits - want_logits).max() <= 2e-5 * max(scale, 1.0)
    np.testing.assert_allclose(m(x), torch_probs(tm, x), atol=2e-6)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
def test_same_outputs_as_pytorch_float64(batch_norm):
    tm = torch_model(batch_norm, pool=None, in_features=32 * 4)
    m = ours(batch_norm, 64, dtype="float64")
    load_torchvision_vgg(m, tm.state_dict())
    x = images(2, 64).astype(np.float64)
    np.testing.assert_allclose(m.forward(x, logits=True), torch_logits(tm, x, torch.float64),
                               rtol=1e-10, atol=1e-10)


def test_import_layouts_and_eps():
    tm = torch_model(True, pool=None, in_features=32 * 4)
    m = ours(True, 64)
    load_torchvision_vgg(m, tm.state_dict())
    sd = {k: v.numpy() for k, v in tm.state_dict().items()}
    k = m.get_layer("block1_conv1").params["kernel"]
    assert k.shape == (3, 3, 3, 8)
    np.testing.assert_array_equal(k, sd["features.0.weight"].transpose(2, 3, 1, 0))   # (O,I,KH,KW) -> (KH,KW,I,O)
    bn = m.get_layer("block1_bn1")
    np.testing.assert_array_equal(bn.params["moving_var"], sd["features.1.running_var"])
    assert bn.epsilon == 1e-5                                     # PyTorch's eps, named
    fc1 = m.get_layer("fc1").params["kernel"]                     # (F_in, F_out), rows (H, W, C)
    w = sd["classifier.0.weight"]                                 # (out, C*H*W)
    h, wd, c = 2, 2, 32
    i, j, ch, o = 1, 0, 5, 3
    assert fc1[(i * wd + j) * c + ch, o] == w[o, ch * h * wd + i * wd + j]
    np.testing.assert_array_equal(m.get_layer("predictions").params["kernel"], sd["classifier.6.weight"].T)


def test_pth_and_npz_files(tmp_path):
    tm = torch_model(True, pool=(7, 7))
    x = images(2, 32)
    want = torch_probs(tm, x)
    torch.save(tm.state_dict(), tmp_path / "vgg.pth")
    np.savez(tmp_path / "vgg.npz", **{k: v.numpy() for k, v in tm.state_dict().items()})
    for name in ("vgg.pth", "vgg.npz"):
        m = ours(True, 32)
        m.load_weights(tmp_path / name)                          # detects the torchvision layout
        np.testing.assert_allclose(m(x), want, atol=2e-6)
        m2 = ours(True, 32)
        m2.load_torchvision(str(tmp_path / name))
        np.testing.assert_allclose(m2(x), want, atol=2e-6)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
def test_export_to_pytorch(batch_norm):
    m = ours(batch_norm, 64)
    rng = np.random.default_rng(3)
    for layer in m.layers:                                       # non-trivial statistics
        if isinstance(layer, BatchNorm):
            c = layer.params["gamma"].shape
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, .3, c), rng.normal(0, .3, c),
                               rng.uniform(0.5, 2, c)])
            layer.epsilon = 1e-5
    tm = torch_model(batch_norm, pool=None, in_features=32 * 4)
    sd = to_torchvision_state_dict(m)
    tm.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in sd.items()})
    x = images(2, 64)
    np.testing.assert_allclose(m(x), torch_probs(tm, x), atol=2e-6)


def test_adaptive_pool_matrix_matches_torch():
    for size in (1, 2, 3, 5, 7, 10, 14):
        a = adaptive_avg_pool_matrix(size, 7)
        eye = torch.eye(size, dtype=torch.float64).reshape(size, 1, size)
        want = nn.functional.adaptive_avg_pool1d(eye, 7).reshape(size, 7).numpy().T
        np.testing.assert_allclose(a, want, atol=1e-15)


def test_mismatched_state_dicts_change_nothing():
    m = ours(True, 32)
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"features do not match.*Received: \['Conv2D', 'Conv2D'"):
        load_torchvision_vgg(m, torch_model(False).state_dict())           # plain into BN
    sd = torch_model(True).state_dict()
    sd["classifier.6.weight"] = sd["classifier.6.weight"][:5]
    with pytest.raises(ValueError, match=r"predictions.*Received: shape"):
        load_torchvision_vgg(m, sd)
    sd = torch_model(True).state_dict()
    sd["classifier.0.weight"] = sd["classifier.0.weight"][:, :100]
    with pytest.raises(ValueError, match=r"classifier.0.weight.*Received: shape"):
        load_torchvision_vgg(m, sd)
    for w, w0 in zip(m.get_weights(), before):
        np.testing.assert_array_equal(w, w0)
    assert m.get_layer("block1_bn1").epsilon == 1e-3              # untouched on failure
