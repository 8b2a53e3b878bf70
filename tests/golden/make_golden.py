"""Make tests/golden/golden.npz: outputs and gradients computed once by PyTorch.

Run from the repository root (needs ``pip install torch==2.13.0``)::

    python tests/golden/make_golden.py

The tests only read the committed ``golden.npz``; they never need PyTorch.
This script is independent of cnncore *and* of tests/reference.py: it turns
cnncore's conventions (channels-last, kernels (KH, KW, C_in, C_out),
TensorFlow SAME padding with the odd extra cell at the bottom/right) into
PyTorch calls by itself:

* images are permuted NHWC -> NCHW and kernels (KH, KW, C, O) -> (O, C, KH, KW);
* PyTorch's conv2d/max_pool2d pad symmetrically only, so every case is padded
  first with F.pad (zeros for convolution, -inf for max pooling) using the
  TensorFlow SAME formula below, then run without padding;
* gradients come from autograd of sum(y * dy) for a random dy;
* batch norm: F.batch_norm(training=True) normalizes with the biased batch
  variance, as cnncore does; mean and var are stored as the biased ones.

Everything is float64.  Layout of the file: for case NAME, arrays are stored
under "NAME/x", "NAME/kernel", ...; "meta" is one JSON string listing the cases
and their non-array arguments (stride, padding, ...).
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20261126)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.npz")

arrays = {}
meta = {"torch_version": torch.__version__, "cases": {}}


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def tf_same(size, k, stride, dilation):
    """TensorFlow SAME padding of one axis: (before, after), extra after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def explicit_padding(padding, H, W, KH, KW, stride, dilation):
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return tf_same(H, KH, sh, dh), tf_same(W, KW, sw, dw)
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    rows, cols = padding
    if isinstance(rows, int):
        return (rows, rows), (cols, cols)
    return tuple(rows), tuple(cols)


def nchw(a):
    return torch.tensor(np.ascontiguousarray(a.transpose(0, 3, 1, 2)), requires_grad=True)


def nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1).copy()


def store(name, kind, args, **arrs):
    meta["cases"][name] = {"kind": kind, **args}
    for key, value in arrs.items():
        arrays[f"{name}/{key}"] = np.asarray(value, dtype=np.float64) if key != "labels" else np.asarray(value, dtype=np.int64)


# ---------------------------------------------------------------- conv2d
CONV_CASES = [
    # name, x shape, kernel shape, stride, dilation, padding
    ("conv_same_asym_stride", (2, 8, 5, 3), (3, 2, 3, 4), (2, 1), 1, "same"),
    ("conv_same_dilated", (1, 9, 11, 2), (3, 3, 2, 3), (2, 3), (2, 1), "same"),
    ("conv_valid_dilated", (2, 6, 7, 2), (2, 3, 2, 2), 1, (2, 2), "valid"),
    ("conv_explicit_stride_gt_kernel", (1, 5, 5, 1), (2, 2, 1, 2), 3, 1, [[1, 0], [2, 1]]),
    ("conv_hand_3x3_k2_s2_same", (1, 3, 3, 1), (2, 2, 1, 1), 2, 1, "same"),
    ("conv_kernel_equals_image", (3, 4, 4, 3), (4, 4, 3, 2), 1, 1, "valid"),
    ("conv_1x1_image", (2, 1, 1, 3), (1, 1, 3, 2), 1, 1, "same"),
    ("conv_int_padding", (2, 5, 6, 2), (3, 3, 2, 3), 2, 1, 1),
    ("conv_pair_padding", (1, 4, 6, 2), (3, 2, 2, 2), (1, 2), (1, 3), [2, 0]),
    ("conv_same_even_stride2", (2, 6, 6, 2), (3, 3, 2, 2), 2, 1, "same"),
]
for name, xs, ks, stride, dilation, padding in CONV_CASES:
    x = rng.uniform(-1, 1, xs)
    kernel = rng.uniform(-1, 1, ks)
    bias = rng.uniform(-1, 1, ks[3])
    (pt, pb), (pl, pr) = explicit_padding(padding, xs[1], xs[2], ks[0], ks[1], stride, dilation)
    xt = nchw(x)
    wt = torch.tensor(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)), requires_grad=True)
    bt = torch.tensor(bias, requires_grad=True)
    yt = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), wt, bt, stride=pair(stride), dilation=pair(dilation))
    dy = rng.uniform(-1, 1, tuple(yt.shape))          # NCHW
    (yt * torch.tensor(dy)).sum().backward()
    store(name, "conv2d",
          {"stride": stride, "dilation": dilation, "padding": padding,
           "resolved_padding": [[pt, pb], [pl, pr]]},
          x=x, kernel=kernel, bias=bias, y=nhwc(yt), dy=dy.transpose(0, 2, 3, 1),
          dx=nhwc(xt.grad), dkernel=wt.grad.numpy().transpose(2, 3, 1, 0), dbias=bt.grad.numpy())

# ---------------------------------------------------------------- max pool
POOL_CASES = [
    # name, x shape, pool_size, stride, padding
    ("pool_same_asym_overlap", (2, 6, 8, 3), 3, 2, "same"),
    ("pool_valid_default_stride", (1, 6, 6, 2), 2, None, "valid"),
    ("pool_same_rect", (2, 5, 4, 2), (2, 3), (1, 2), "same"),
    ("pool_valid_stride1_overlap", (1, 7, 7, 1), 3, 1, "valid"),
    ("pool_valid_stride_gt_pool", (1, 7, 8, 2), 2, 3, "valid"),
]
for name, xs, pool, stride, padding in POOL_CASES:
    x = rng.permutation(np.prod(xs)).reshape(xs) / 7.0 - 3.0   # distinct values: no ties
    ph, pw = pair(pool)
    sh, sw = pair(stride if stride is not None else pool)
    if padding == "same":
        (pt, pb), (pl, pr) = tf_same(xs[1], ph, sh, 1), tf_same(xs[2], pw, sw, 1)
    else:
        (pt, pb), (pl, pr) = (0, 0), (0, 0)
    xt = nchw(x)
    yt = F.max_pool2d(F.pad(xt, (pl, pr, pt, pb), value=-math.inf), (ph, pw), stride=(sh, sw))
    dy = rng.uniform(-1, 1, tuple(yt.shape))
    (yt * torch.tensor(dy)).sum().backward()
    store(name, "max_pool2d", {"pool_size": pool, "stride": stride, "padding": padding},
          x=x, y=nhwc(yt), dy=dy.transpose(0, 2, 3, 1), dx=nhwc(xt.grad))

# ---------------------------------------------------------------- batch norm
EPS = 1e-3
for name, xs in [("bn_conv", (4, 3, 5, 2)), ("bn_dense", (6, 3))]:
    C = xs[-1]
    x = rng.normal(0.5, 2.0, xs)
    gamma = rng.uniform(0.5, 1.5, C)
    beta = rng.uniform(-1, 1, C)
    moving_mean = rng.uniform(-1, 1, C)
    moving_var = rng.uniform(0.5, 2.0, C)
    xt = nchw(x) if len(xs) == 4 else torch.tensor(x, requires_grad=True)
    gt = torch.tensor(gamma, requires_grad=True)
    btt = torch.tensor(beta, requires_grad=True)
    yt = F.batch_norm(xt, None, None, gt, btt, training=True, eps=EPS)
    dims = [0, 2, 3] if len(xs) == 4 else [0]
    mean = xt.detach().mean(dim=dims).numpy()
    var = xt.detach().var(dim=dims, unbiased=False).numpy()
    dy = rng.uniform(-1, 1, tuple(yt.shape))
    (yt * torch.tensor(dy)).sum().backward()
    y_infer = F.batch_norm(xt.detach(), torch.tensor(moving_mean), torch.tensor(moving_var),
                           torch.tensor(gamma), torch.tensor(beta), training=False, eps=EPS)
    to_nhwc = nhwc if len(xs) == 4 else (lambda t: t.detach().numpy().copy())
    store(name, "batch_norm", {"eps": EPS},
          x=x, gamma=gamma, beta=beta, y=to_nhwc(yt), mean=mean, var=var,
          dy=dy.transpose(0, 2, 3, 1) if len(xs) == 4 else dy,
          dx=to_nhwc(xt.grad), dgamma=gt.grad.numpy(), dbeta=btt.grad.numpy(),
          moving_mean=moving_mean, moving_var=moving_var, y_infer=to_nhwc(y_infer))

# ---------------------------------------------------------------- softmax cross-entropy
for name, logits, labels in [
    ("softmax_ce", rng.normal(0, 2, (5, 4)), np.array([0, 3, 1, 1, 2])),
    ("softmax_ce_large_logits", np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -1000.5]]),
     np.array([2, 0])),
]:
    lt = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(lt, torch.tensor(labels), reduction="mean")
    loss.backward()
    store(name, "softmax_cross_entropy", {},
          logits=logits, labels=labels, loss=loss.item(),
          softmax=torch.softmax(lt.detach(), dim=-1).numpy(), dlogits=lt.grad.numpy())

# ---------------------------------------------------------------- dense and relu
x = rng.uniform(-1, 1, (4, 5))
w = rng.uniform(-1, 1, (5, 3))
b = rng.uniform(-1, 1, 3)
xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
yt = F.linear(xt, wt.T, bt)
dy = rng.uniform(-1, 1, (4, 3))
(yt * torch.tensor(dy)).sum().backward()
store("dense", "dense", {}, x=x, w=w, b=b, y=yt.detach().numpy(), dy=dy,
      dx=xt.grad.numpy(), dw=wt.grad.numpy(), db=bt.grad.numpy())

x = rng.uniform(-1, 1, (3, 4, 2))
x[np.abs(x) < 0.05] = 0.5                       # no value near the kink at 0
xt = torch.tensor(x, requires_grad=True)
yt = torch.relu(xt)
dy = rng.uniform(-1, 1, x.shape)
(yt * torch.tensor(dy)).sum().backward()
store("relu", "relu", {}, x=x, y=yt.detach().numpy(), dy=dy, dx=xt.grad.numpy())

arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
np.savez_compressed(OUT, **arrays)
print(f"wrote {OUT}: {len(meta['cases'])} cases, {os.path.getsize(OUT)} bytes")
