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

Every loader converts and checks everything before it changes any weight: on error
the model keeps its weights.

Examples
--------
>>> import os
>>> import tempfile
>>> import numpy as np
>>> import cnncore
>>> from cnncore.weights import load_weights, save_weights
>>> a = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125, seed=0)
>>> b = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125, seed=1)
>>> with tempfile.TemporaryDirectory() as tmp:
...     save_weights(a, os.path.join(tmp, "vgg11.npz"))
...     with np.load(os.path.join(tmp, "vgg11.npz")) as f:
...         print(f.files[:3])
...     load_weights(b, os.path.join(tmp, "vgg11.npz"))
['block1_conv1/kernel', 'block1_conv1/bias', 'block2_conv1/kernel']
>>> all(np.array_equal(wa, wb) for wa, wb in zip(a.get_weights(), b.get_weights()))
True
"""
import os

import numpy as np

from ._checks import as_int, as_path
from .layers import BatchNorm, Conv2D, Dense, Flatten, Layer

__all__ = [
    "save_weights",
    "load_weights",
    "load_torchvision_vgg",
    "to_torchvision_state_dict",
    "read_state_dict",
    "adaptive_avg_pool_matrix",
]


def _check_model(model, func):
    """A cnncore model, as far as this module relies on one: its ``layers`` (built) and
    ``name``.  (This module does not import cnncore.models, which imports it: the model
    classes sit above their weight files.)"""
    layers = getattr(model, "layers", None)
    if not (isinstance(layers, list) and all(isinstance(layer, Layer) for layer in layers)
            and hasattr(model, "named_weights")):
        raise TypeError(f"{func}: `model` must be a cnncore model (cnncore.Sequential, "
                        f"cnncore.VGG). Received: {type(model).__name__}")
    model._check_built()


def _read_npz(path, func):
    """{key: array} of a ``.npz`` file; an error naming the file when it is not one."""
    try:
        f = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise ValueError(f"{func}: {path!r} is not a .npz file of arrays ({err}). "
                         f"Received: path={path!r}") from None
    if not hasattr(f, "files"):
        raise ValueError(f"{func}: {path!r} holds one array (.npy), not a .npz archive of named "
                         f"arrays. Received: an array of shape {f.shape}")
    with f:
        return {k: f[k] for k in f.files}


def save_weights(model, path):
    """Write every weight of ``model`` to ``path`` (``.npz``; NumPy adds the suffix if missing).

    One array per weight under the key ``"<layer name>/<weight name>"``
    (``block1_conv1/kernel``, ...), in cnncore's layouts and the model's dtype;
    :func:`load_weights` reads it back by name.  The file is an uncompressed
    ``numpy.savez`` archive that NumPy alone can read.

    Parameters
    ----------
    model : cnncore.Sequential
        A built model (:class:`cnncore.Sequential`, :class:`cnncore.VGG`).
    path : str or os.PathLike
        The file to write (overwritten if it exists).

    Raises
    ------
    TypeError
        If ``model`` is not a cnncore model or ``path`` is not a path.
    RuntimeError
        If the model is not built.

    See Also
    --------
    load_weights : Reads the file back.
    cnncore.Sequential.save_weights : The same as a method.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> import cnncore
    >>> from cnncore.weights import save_weights
    >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_weights(model, os.path.join(tmp, "vgg11"))
    ...     with np.load(os.path.join(tmp, "vgg11.npz")) as f:
    ...         print(len(f.files), f["block1_conv1/kernel"].shape)
    22 (3, 3, 3, 8)
    """
    _check_model(model, "save_weights")
    path = as_path(path, "path", "save_weights")
    arrays = {name: w for name, w in model.named_weights()}
    np.savez(path, **arrays)


def _is_torchvision(keys):
    return any(k.startswith("features.") or k.startswith("classifier.") for k in keys)


def load_weights(model, path):
    """Load weights written by :func:`save_weights` into ``model``, by name.

    Each weight of the model is read from the key ``"<layer name>/<weight name>"``;
    the file must hold exactly the model's keys.  When the file holds torchvision
    keys (``features.0.weight`` ...), or is a ``.pth``/``.pt`` file, it is imported
    with :func:`load_torchvision_vgg` instead.  Every name and shape is checked
    before anything is changed; the arrays are converted to the model's dtype.

    Parameters
    ----------
    model : cnncore.Sequential
        A built model (:class:`cnncore.Sequential`, :class:`cnncore.VGG`).
    path : str or os.PathLike
        An ``.npz`` file, or a ``.pth``/``.pt`` file (needs PyTorch).

    Returns
    -------
    None
        The model's weights are replaced in place.

    Raises
    ------
    ValueError
        If the file is not an ``.npz`` archive, its keys differ from the model's
        (the message names the missing and unexpected keys) or an array has the
        wrong shape (the message names the layer and weight).
    TypeError
        If ``model`` is not a cnncore model, ``path`` is not a path, or an array is
        not real numeric.
    ImportError
        If a ``.pth``/``.pt`` file is given and PyTorch is not installed.
    FileNotFoundError
        If ``path`` does not exist.
    RuntimeError
        If the model is not built.

    See Also
    --------
    save_weights : Writes the file.
    load_torchvision_vgg : Imports torchvision's layout.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> import cnncore
    >>> from cnncore.weights import load_weights, save_weights
    >>> a = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125, seed=0)
    >>> b = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125, seed=1)
    >>> x = np.random.default_rng(0).standard_normal((2, 32, 32, 3))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_weights(a, os.path.join(tmp, "a.npz"))
    ...     load_weights(b, os.path.join(tmp, "a.npz"))
    >>> np.array_equal(a(x), b(x))
    True
    """
    _check_model(model, "load_weights")
    path = as_path(path, "path", "load_weights")
    if path.endswith((".pth", ".pt")):
        return load_torchvision_vgg(model, path)
    data = _read_npz(path, "load_weights")
    if _is_torchvision(data):
        return _load_torchvision(model, data, f"state dict {path!r}", 1e-5)
    wanted = {f"{layer.name}/{n}": (layer, n) for layer in model.layers
              for n, _ in layer.weight_items()}
    missing = [k for k in wanted if k not in data]
    extra = [k for k in data if k not in wanted]
    if missing or extra:
        lacking = {}
        for key in missing:
            layer, name = wanted[key]
            lacking.setdefault(layer.name, []).append(name)
        what = [f"layer {layer!r} lacks {', '.join(names)}" for layer, names in lacking.items()]
        if extra:
            what.append(f"{len(extra)} keys are no weight of the model")
        raise ValueError(
            f"load_weights: the weight names in {path!r} do not match model {model.name!r} "
            f"(keys 'layer/weight'): {'; '.join(what[:6])}{'; ...' if len(what) > 6 else ''}. "
            f"Received: missing {_listed(missing)}, unexpected {_listed(extra)}"
        )
    staged = [layer.check_weights([data[f"{layer.name}/{n}"] for n, _ in layer.weight_items()],
                                  where=f"load_weights: {path!r}: layer {layer.name!r}")
              for layer in model.layers]
    for layer, arrays in zip(model.layers, staged):
        layer._assign(arrays)


def _listed(keys, most=8):
    """The first ``most`` keys, as a list's repr, with how many more there are."""
    more = f" and {len(keys) - most} more" if len(keys) > most else ""
    return f"{keys[:most]}{more}"


def read_state_dict(source):
    """Return a state dict as ``{key: numpy array}``, from a mapping, a module or a file.

    Torch tensors are detached and moved to the CPU; other values go through
    ``numpy.asarray``; keys become strings.  A ``.pth``/``.pt`` file is read with
    ``torch.load(..., weights_only=True)`` on the CPU (a saved module gives its
    ``state_dict()``); an ``.npz`` file with NumPy alone.

    Parameters
    ----------
    source : mapping, torch module, str or os.PathLike
        A ``{key: tensor or array}`` mapping, an object with a ``state_dict()``
        method (a torch module), or the path of a ``.pth``/``.pt`` or ``.npz`` file.

    Returns
    -------
    dict of str to ndarray
        The arrays by key, e.g. ``"features.0.weight"``.

    Raises
    ------
    ImportError
        If ``source`` is a ``.pth``/``.pt`` path and PyTorch is not installed (the
        message says how to save the tensors as ``.npz`` instead).
    TypeError
        If ``source`` is not a mapping, a module or a path.
    ValueError
        If an ``.npz`` path is not an archive of named arrays.
    FileNotFoundError
        If a path does not exist.

    See Also
    --------
    load_torchvision_vgg : Imports such a dict into a model.

    Examples
    --------
    >>> import numpy as np
    >>> from cnncore.weights import read_state_dict
    >>> sd = read_state_dict({"features.0.bias": [0.5, -0.5]})
    >>> sd["features.0.bias"]
    array([ 0.5, -0.5])
    """
    if isinstance(source, (str, os.PathLike)):
        path = as_path(source, "source", "read_state_dict")
        if path.endswith(".npz"):
            return _read_npz(path, "read_state_dict")
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
    try:
        source = dict(source)
    except (TypeError, ValueError):
        raise TypeError("read_state_dict: `source` must be a mapping of tensors or arrays, a torch "
                        "module, or a .pth/.pt/.npz path. "
                        f"Received: {type(source).__name__}") from None
    out = {}
    for k, v in source.items():
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        out[str(k)] = np.asarray(v)
    return out


def adaptive_avg_pool_matrix(size, out):
    """Return the ``(out, size)`` matrix of PyTorch's ``AdaptiveAvgPool`` along one axis.

    Window ``p`` averages rows ``floor(p * size / out)`` to
    ``ceil((p + 1) * size / out) - 1`` (windows overlap when ``out`` does not divide
    ``size``).  :func:`load_torchvision_vgg` uses it to fold torchvision's 7x7
    ``AdaptiveAvgPool2d`` into the first dense layer of a model whose feature map
    is another size.

    Parameters
    ----------
    size : int
        Input length along the axis, positive.
    out : int
        Output length, positive.

    Returns
    -------
    ndarray
        ``(out, size)`` float64; ``a @ v`` pools a vector ``v`` of length ``size``.

    Raises
    ------
    TypeError
        If ``size`` or ``out`` is not an int.
    ValueError
        If ``size`` or ``out`` is not positive.

    See Also
    --------
    load_torchvision_vgg : Folds the pooling into a dense layer.

    Examples
    --------
    >>> from cnncore.weights import adaptive_avg_pool_matrix
    >>> adaptive_avg_pool_matrix(3, 2)
    array([[0.5, 0.5, 0. ],
           [0. , 0.5, 0.5]])
    """
    size = as_int(size, "size", "adaptive_avg_pool_matrix", minimum=1)
    out = as_int(out, "out", "adaptive_avg_pool_matrix", minimum=1)
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
    """[(index, {param: array})] for keys ``prefix.index.param``, sorted by index."""
    mods = {}
    for key, v in sd.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == prefix and parts[1].isdigit():
            mods.setdefault(int(parts[1]), {})[parts[2]] = v
    return [(i, mods[i]) for i in sorted(mods)]


def _shape_err(source, name, key, expected, got):
    return ValueError(f"{source}: {key} (for layer {name!r}) must have shape {tuple(expected)}. "
                      f"Received: shape {tuple(got)}")


def load_torchvision_vgg(model, source, bn_epsilon=1e-5):
    """Import a torchvision-layout VGG state dict into ``model``.

    ``model`` is a :class:`cnncore.VGG` or a Sequential with the same layer
    sequence (convolutions and batch norms, a Flatten, dense layers).
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

    Parameters
    ----------
    model : cnncore.Sequential
        A built VGG-like model.
    source : mapping, torch module, str or os.PathLike
        The state dict (see :func:`read_state_dict`).
    bn_epsilon : float or None, default 1e-5
        Set as ``epsilon`` on every batch-norm layer; None keeps the model's own.

    Raises
    ------
    ValueError
        If the model is not VGG-like, or the state dict's layers, keys or shapes do
        not match it (the message names the key and the layer).
    TypeError
        If ``model`` is not a cnncore model, ``source`` is not a mapping, a module
        or a path, or an array is not real numeric.
    ImportError
        If ``source`` is a ``.pth``/``.pt`` path and PyTorch is not installed.
    RuntimeError
        If the model is not built.

    See Also
    --------
    to_torchvision_state_dict : The inverse.
    cnncore.VGG.load_torchvision : The same as a method.

    Examples
    --------
    A round trip through torchvision's layout, between two VGGs with batch norm
    (``bn_epsilon=None`` keeps their epsilon, as both are cnncore models):

    >>> import numpy as np
    >>> import cnncore
    >>> from cnncore.weights import load_torchvision_vgg, to_torchvision_state_dict
    >>> kw = dict(num_classes=10, input_shape=(32, 32, 3), width=0.125, batch_norm=True)
    >>> a = cnncore.vgg11(seed=0, **kw)
    >>> b = cnncore.vgg11(seed=1, **kw)
    >>> load_torchvision_vgg(b, to_torchvision_state_dict(a), bn_epsilon=None)
    >>> x = np.random.default_rng(0).standard_normal((2, 32, 32, 3))
    >>> np.allclose(a(x), b(x))
    True
    """
    _check_model(model, "load_torchvision_vgg")
    name = (f"state dict {os.fspath(source)!r}" if isinstance(source, (str, os.PathLike))
            else "state dict")
    _load_torchvision(model, read_state_dict(source), name, bn_epsilon)


def _load_torchvision(model, sd, source, bn_epsilon):
    """load_torchvision_vgg's work on ``sd`` ({key: array}); errors name it ``source``."""
    feats, flat, dense = _split(model)
    tfeat = _modules(sd, "features")
    tcls = _modules(sd, "classifier")

    def param(prefix, index, m, key, layer):
        if key not in m:
            raise ValueError(
                f"{source}: {prefix}.{index}.{key} is missing (layer {layer.name!r} needs it). "
                f"Received: {prefix}.{index} with {', '.join(sorted(m))}"
            )
        return m[key]

    def kind(m):
        if "running_mean" in m:
            return "BatchNorm"
        if "weight" in m and np.ndim(m["weight"]) == 4:
            return "Conv2D"
        return "?"

    ours = [type(l).__name__ for l in feats]
    theirs = [kind(m) for _, m in tfeat]
    if ours != theirs:
        raise ValueError(
            f"{source}: features do not match model {model.name!r}: expected the sequence "
            f"{ours} (features.N with weights). Received: {theirs}"
        )
    if len(tcls) != len(dense):
        raise ValueError(
            f"{source}: model {model.name!r} has {len(dense)} dense layers. Received: "
            f"{len(tcls)} classifier layers with weights"
        )

    staged = {}
    pending = None          # a conv bias that our bias-free conv hands to the next batch norm
    for pos, (layer, (idx, m)) in enumerate(zip(feats, tfeat)):
        if isinstance(layer, Conv2D):
            w = np.transpose(m["weight"], (2, 3, 1, 0))
            if w.shape != layer.params["kernel"].shape:
                raise _shape_err(source, layer.name, f"features.{idx}.weight (O, I, KH, KW)",
                                 np.transpose(layer.params["kernel"], (3, 2, 0, 1)).shape, m["weight"].shape)
            arrays = [w]
            if layer.use_bias:
                arrays.append(param("features", idx, m, "bias", layer))
            elif "bias" in m:
                nxt = feats[pos + 1] if pos + 1 < len(feats) else None
                if not isinstance(nxt, BatchNorm):
                    raise ValueError(f"Layer {layer.name!r} has no bias and no batch norm after it. "
                                     "Received: a conv bias")
                pending = np.asarray(m["bias"], dtype=np.float64)
                pending_key = f"features.{idx}.bias"
        else:
            mean = np.asarray(m["running_mean"], dtype=np.float64)
            if pending is not None:
                # BN(z + b) == BN(z) with the moving mean shifted by b (training: the batch
                # mean absorbs b), so torchvision's conv bias before batch norm folds away.
                if pending.shape != mean.shape:
                    raise _shape_err(source, layer.name, pending_key, mean.shape, pending.shape)
                mean = mean - pending
                pending = None
            arrays = [param("features", idx, m, key, layer) for key in ("weight", "bias")]
            arrays += [mean, param("features", idx, m, "running_var", layer)]
        staged[layer.name] = layer.check_weights(arrays, where=f"{source}: features.{idx} "
                                                 f"(layer {layer.name!r})")

    h, w, c = flat.input_shape
    for i, (layer, (idx, m)) in enumerate(zip(dense, tcls)):
        wt = np.asarray(param("classifier", idx, m, "weight", layer), dtype=np.float64)
        out_f = layer.units
        if i == 0:
            in_f = wt.shape[1] if wt.ndim == 2 else -1
            if wt.ndim != 2 or wt.shape[0] != out_f or in_f % c:
                raise ValueError(
                    f"{source}: classifier.{idx}.weight must have shape ({out_f}, {c} * "
                    f"positions). Received: shape {wt.shape}"
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
                    f"{source}: classifier.{idx}.weight must have {c} x {h * w} inputs (the "
                    f"model's {h}x{w}x{c} feature map) or {c} x 49 (torchvision's 7x7 average "
                    f"pool). Received: shape {wt.shape}"
                )
            kernel = w4.transpose(2, 3, 1, 0).reshape(h * w * c, out_f)
        else:
            kernel = wt.T
        arrays = [kernel]
        if layer.use_bias:
            arrays.append(param("classifier", idx, m, "bias", layer))
        staged[layer.name] = layer.check_weights(arrays, where=f"{source}: classifier.{idx} "
                                                 f"(layer {layer.name!r})")

    for layer in feats + dense:
        layer._assign(staged[layer.name])
    if bn_epsilon is not None:
        for layer in feats:
            if isinstance(layer, BatchNorm):
                layer.epsilon = float(bn_epsilon)


def to_torchvision_state_dict(model, conv_bias=True):
    """Return the model's weights as a torchvision-layout VGG state dict of NumPy arrays.

    Keys ``features.N.*`` (N counts every layer before the Flatten, ReLUs and poolings
    included, as torchvision's ``features``) and ``classifier.{0,3,6}.*``; conv
    kernels ``(O, I, KH, KW)``, dense weights ``(out, in)``, the first dense layer's
    inputs in PyTorch's (C, H, W) order for the model's own feature map (no 7x7
    average pool).  Batch norms give ``weight``, ``bias``, ``running_mean``,
    ``running_var`` and ``num_batches_tracked`` (0).  torchvision's batch-norm VGGs
    keep a bias in every convolution: ``conv_bias=True`` writes zeros for our
    bias-free ones so the keys match.  ``torch.from_numpy`` each value to load it
    into a torch module.

    Parameters
    ----------
    model : cnncore.Sequential
        A built VGG-like model.
    conv_bias : bool, default True
        Write zero biases for convolutions without one.

    Returns
    -------
    dict of str to ndarray
        New arrays (copies) in the model's dtype.

    Raises
    ------
    TypeError
        If ``model`` is not a cnncore model.
    ValueError
        If the model is not VGG-like (features, a Flatten, dense layers).
    RuntimeError
        If the model is not built.

    See Also
    --------
    load_torchvision_vgg : The inverse.

    Examples
    --------
    >>> import cnncore
    >>> from cnncore.weights import to_torchvision_state_dict
    >>> model = cnncore.vgg11(num_classes=10, input_shape=(32, 32, 3), width=0.125,
    ...                       fc_units=32)
    >>> sd = to_torchvision_state_dict(model)
    >>> sd["features.0.weight"].shape, sd["classifier.0.weight"].shape
    ((8, 3, 3, 3), (32, 64))
    >>> [key for key in sd if key.startswith("classifier")][::2]
    ['classifier.0.weight', 'classifier.3.weight', 'classifier.6.weight']
    """
    _check_model(model, "to_torchvision_state_dict")
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
