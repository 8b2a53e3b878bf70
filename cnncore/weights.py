"""Weight interchange: cnncore's own ``.npz`` files and torchvision-layout VGG state dicts.

Own format (:func:`save_weights` / :func:`load_weights`): one ``.npz`` with a key
``"<layer name>/<weight name>"`` per array, e.g. ``block1_conv1/kernel``; arrays
in cnncore's layout (kernels ``(KH, KW, C_in, C_out)``, dense ``(F_in, F_out)``).

torchvision layout (:func:`load_torchvision_vgg` / :func:`to_torchvision_state_dict`):
``features.N.weight`` / ``.bias`` for convolutions ``(O, I, KH, KW)``,
``features.N.weight`` / ``.bias`` / ``.running_mean`` / ``.running_var`` for batch
norm, ``classifier.{0,3,6}.weight`` ``(out, in)`` / ``.bias`` for the dense layers.
A ``.pth``/``.pt`` file is read with torch (when installed); the same tensors in a
``.npz`` (same keys) are read with NumPy alone.
"""
import os

import numpy as np

from .layers import BatchNorm, Conv2D, Dense, Flatten
from .models import Sequential

__all__ = [
    "save_weights",
    "load_weights",
    "load_torchvision_vgg",
    "to_torchvision_state_dict",
    "read_state_dict",
    "adaptive_avg_pool_matrix",
]


def save_weights(model, path):
    """Write every weight of ``model`` to ``path`` (``.npz``; NumPy adds the suffix if missing)."""
    model._check_built()
    arrays = {name: w for name, w in model.named_weights()}
    np.savez(path, **arrays)


def _is_torchvision(keys):
    return any(k.startswith("features.") or k.startswith("classifier.") for k in keys)


def load_weights(model, path):
    """Load weights written by :func:`save_weights`, by name; or, when the file holds
    torchvision keys (``features.0.weight`` ...), import it with :func:`load_torchvision_vgg`.

    Every name and shape is checked before anything is changed.
    """
    path = os.fspath(path)
    if path.endswith((".pth", ".pt")):
        return load_torchvision_vgg(model, path)
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    if _is_torchvision(data):
        return load_torchvision_vgg(model, data)
    expected = [name for name, _ in model.named_weights()]
    missing = [k for k in expected if k not in data]
    extra = [k for k in data if k not in set(expected)]
    if missing or extra:
        raise ValueError(
            f"{path}: the weight names do not match model {model.name!r}: expected "
            f"{len(expected)} arrays ({', '.join(expected[:4])}{', ...' if len(expected) > 4 else ''}). "
            f"Received: missing {missing[:5]}, unexpected {extra[:5]}"
        )
    model.set_weights([data[k] for k in expected])


def read_state_dict(source):
    """A ``{key: numpy array}`` dict from a mapping (torch tensors or arrays), a
    ``.pth``/``.pt`` file (needs torch) or a ``.npz`` file."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as f:
                return {k: np.asarray(f[k]) for k in f.files}
        try:
            import torch
        except ImportError:
            raise ImportError(
                f"Reading {path!r} needs PyTorch (pip install torch; cnncore itself does not need it); "
                "or save the same tensors as .npz (numpy.savez(path, **{k: v.numpy() for k, v in sd.items()}))."
            ) from None
        sd = torch.load(path, map_location="cpu", weights_only=True)
        if hasattr(sd, "state_dict"):
            sd = sd.state_dict()
        source = sd
    if hasattr(source, "state_dict") and callable(source.state_dict):
        source = source.state_dict()
    out = {}
    for k, v in dict(source).items():
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        out[str(k)] = np.asarray(v)
    return out


def adaptive_avg_pool_matrix(size, out):
    """(out, size) matrix of PyTorch's ``AdaptiveAvgPool`` along one axis: window p
    averages rows ``floor(p * size / out)`` to ``ceil((p + 1) * size / out) - 1``."""
    a = np.zeros((out, size), dtype=np.float64)
    for p in range(out):
        start = (p * size) // out
        end = -((-(p + 1) * size) // out)
        a[p, start:end] = 1.0 / (end - start)
    return a


def _split(model):
    """The model's feature layers with weights, its Flatten, and its Dense layers."""
    feats, dense, flat = [], [], None
    for layer in model.layers:
        if isinstance(layer, Flatten):
            flat = layer
        elif isinstance(layer, (Conv2D, BatchNorm)) and flat is None:
            feats.append(layer)
        elif isinstance(layer, Dense):
            dense.append(layer)
        elif isinstance(layer, BatchNorm):
            raise ValueError(f"Batch norm after Flatten ({layer.name!r}) has no torchvision VGG counterpart.")
    if flat is None or not dense:
        raise ValueError(f"Model {model.name!r} is not a VGG-like model (features, Flatten, Dense layers).")
    return feats, flat, dense


def _modules(sd, prefix):
    """{index: {param: array}} for keys ``prefix.index.param``, sorted by index."""
    mods = {}
    for key, v in sd.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == prefix and parts[1].isdigit():
            mods.setdefault(int(parts[1]), {})[parts[2]] = v
    return [mods[i] for i in sorted(mods)]


def _shape_err(name, key, expected, got):
    return ValueError(f"{key} (for layer {name!r}) must have shape {tuple(expected)}. Received: shape {tuple(got)}")


def load_torchvision_vgg(model, source, bn_epsilon=1e-5):
    """Import a torchvision-layout VGG state dict into ``model`` (a :class:`cnncore.VGG`
    or a Sequential with the same layer sequence).

    ``source``: a mapping of tensors/arrays, a torch module, a ``.pth``/``.pt`` file
    (torch) or a ``.npz`` with the same keys.  Conv kernels go from ``(O, I, KH, KW)``
    to ``(KH, KW, I, O)``, dense weights are transposed, and the first dense layer's
    rows are permuted from PyTorch's (C, H, W) flatten order to ours (H, W, C).  If
    ``classifier.0`` expects torchvision's 7x7 ``AdaptiveAvgPool2d`` output while the
    model's feature map is another size, that average pooling (a linear map) is
    folded into the first dense layer, so the outputs match torchvision's.

    PyTorch's batch norm uses eps=1e-5; ``bn_epsilon`` (default 1e-5) is set on every
    BatchNorm layer of the model so the imported statistics mean the same; pass
    ``None`` to keep the model's own epsilon.  torchvision's batch-norm VGGs have a
    bias in each convolution; for our bias-free convolutions (f(BN(Wx))) it is folded
    into the next batch norm's moving mean, which is exact.

    Everything is converted and checked before any weight changes.
    """
    sd = read_state_dict(source)
    feats, flat, dense = _split(model)
    tfeat = _modules(sd, "features")
    tcls = _modules(sd, "classifier")

    def kind(m):
        if "running_mean" in m:
            return "BatchNorm"
        if "weight" in m and np.ndim(m["weight"]) == 4:
            return "Conv2D"
        return "?"

    ours = [type(l).__name__ for l in feats]
    theirs = [kind(m) for m in tfeat]
    if ours != theirs:
        raise ValueError(
            f"The state dict's features do not match model {model.name!r}: expected the sequence "
            f"{ours} (features.N with weights). Received: {theirs}"
        )
    if len(tcls) != len(dense):
        raise ValueError(
            f"Model {model.name!r} has {len(dense)} dense layers. Received: a state dict with "
            f"{len(tcls)} classifier layers with weights"
        )

    staged = {}
    pending = None          # a conv bias that our bias-free conv hands to the next batch norm
    for pos, (layer, m) in enumerate(zip(feats, tfeat)):
        if isinstance(layer, Conv2D):
            w = np.transpose(m["weight"], (2, 3, 1, 0))
            if w.shape != layer.params["kernel"].shape:
                raise _shape_err(layer.name, "conv weight (O, I, KH, KW)",
                                 np.transpose(layer.params["kernel"], (3, 2, 0, 1)).shape, m["weight"].shape)
            arrays = [w]
            if layer.use_bias:
                if "bias" not in m:
                    raise ValueError(f"Layer {layer.name!r} has a bias. Received: a conv without bias")
                arrays.append(m["bias"])
            elif "bias" in m:
                nxt = feats[pos + 1] if pos + 1 < len(feats) else None
                if not isinstance(nxt, BatchNorm):
                    raise ValueError(f"Layer {layer.name!r} has no bias and no batch norm after it. "
                                     "Received: a conv bias")
                pending = np.asarray(m["bias"], dtype=np.float64)
        else:
            mean = np.asarray(m["running_mean"], dtype=np.float64)
            if pending is not None:
                # BN(z + b) == BN(z) with the moving mean shifted by b (training: the batch
                # mean absorbs b), so torchvision's conv bias before batch norm folds away.
                if pending.shape != mean.shape:
                    raise _shape_err(layer.name, "conv bias", mean.shape, pending.shape)
                mean = mean - pending
                pending = None
            arrays = [m["weight"], m["bias"], mean, m["running_var"]]
        staged[layer.name] = layer.check_weights(arrays, where=f"layer {layer.name!r}")

    h, w, c = flat.input_shape
    for i, (layer, m) in enumerate(zip(dense, tcls)):
        wt = np.asarray(m["weight"], dtype=np.float64)
        out_f = layer.units
        if i == 0:
            in_f = wt.shape[1] if wt.ndim == 2 else -1
            if wt.ndim != 2 or wt.shape[0] != out_f or in_f % c:
                raise ValueError(
                    f"classifier.0.weight must have shape ({out_f}, {c} * positions). "
                    f"Received: shape {wt.shape}"
                )
            positions = in_f // c
            if positions == h * w:
                w4 = wt.reshape(out_f, c, h, w)
            elif positions == 49:
                ah = adaptive_avg_pool_matrix(h, 7)
                aw = adaptive_avg_pool_matrix(w, 7)
                w4 = np.einsum("ocpq,pi,qj->ocij", wt.reshape(out_f, c, 7, 7), ah, aw)
            else:
                raise ValueError(
                    f"classifier.0.weight must have {c} x {h * w} inputs (the model's {h}x{w}x{c} "
                    f"feature map) or {c} x 49 (torchvision's 7x7 average pool). Received: shape {wt.shape}"
                )
            kernel = w4.transpose(2, 3, 1, 0).reshape(h * w * c, out_f)
        else:
            kernel = wt.T
        arrays = [kernel]
        if layer.use_bias:
            arrays.append(m["bias"])
        staged[layer.name] = layer.check_weights(arrays, where=f"layer {layer.name!r}")

    for layer in feats + dense:
        layer._assign(staged[layer.name])
    if bn_epsilon is not None:
        for layer in feats:
            if isinstance(layer, BatchNorm):
                layer.epsilon = float(bn_epsilon)


def to_torchvision_state_dict(model, conv_bias=True):
    """The model's weights as a torchvision-layout VGG state dict of NumPy arrays
    (``features.N.*``, ``classifier.{0,3,6}.*``); the first dense layer's inputs in
    PyTorch's (C, H, W) order for the model's own feature map (no 7x7 average pool).
    torchvision's batch-norm VGGs keep a bias in every convolution: ``conv_bias=True``
    writes zeros for our bias-free ones so the keys match.  ``torch.from_numpy`` each
    value to load it into a torch module."""
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a cnncore Sequential. Received: {type(model).__name__}")
    feats, flat, dense = _split(model)
    sd = {}
    idx = 0
    for layer in model.layers:
        if layer is flat:
            break
        if isinstance(layer, Conv2D):
            sd[f"features.{idx}.weight"] = np.ascontiguousarray(layer.params["kernel"].transpose(3, 2, 0, 1))
            if layer.use_bias:
                sd[f"features.{idx}.bias"] = layer.params["bias"].copy()
            elif conv_bias:
                sd[f"features.{idx}.bias"] = np.zeros(layer.filters, dtype=model.dtype)
        elif isinstance(layer, BatchNorm):
            sd[f"features.{idx}.weight"] = layer.params["gamma"].copy()
            sd[f"features.{idx}.bias"] = layer.params["beta"].copy()
            sd[f"features.{idx}.running_mean"] = layer.params["moving_mean"].copy()
            sd[f"features.{idx}.running_var"] = layer.params["moving_var"].copy()
            sd[f"features.{idx}.num_batches_tracked"] = np.array(0, dtype=np.int64)
        idx += 1
    h, w, c = flat.input_shape
    for i, layer in enumerate(dense):
        k = layer.params["kernel"]
        if i == 0:
            k = k.reshape(h, w, c, layer.units).transpose(3, 2, 0, 1).reshape(layer.units, c * h * w)
        else:
            k = k.T
        sd[f"classifier.{3 * i}.weight"] = np.ascontiguousarray(k)
        if layer.use_bias:
            sd[f"classifier.{3 * i}.bias"] = layer.params["bias"].copy()
    return sd
