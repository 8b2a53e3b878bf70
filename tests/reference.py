"""A readable NumPy reference implementation of cnncore's functional API.

This module is an *oracle* for the tests: it is written for clarity, not
speed, and it shares no code with ``cnncore`` (it imports nothing from it).
Every function has the same name and arguments as the public function of
``cnncore`` that it checks (the API reference in docs/api), so a test can run
the same case through both.

Conventions (docs/conventions.md):

* images are channels-last ``x[b, row, col, channel]``; kernels are
  ``K[m, n, c_in, c_out]``;
* stride, dilation and pool sizes are an int or a ``(rows, cols)`` pair;
* convolution is cross-correlation::

      y[b, i, j, o] = sum_{m, n, c} xpad[b, i*sh + m*dh, j*sw + n*dw, c] * K[m, n, c, o] + bias[o]

* padding is ``"valid"``, ``"same"`` (TensorFlow-exact: the odd extra row or
  column goes to the bottom / right), an int, a ``(ph, pw)`` pair or
  ``((top, bottom), (left, right))``;
* batch normalization normalizes over every axis but the last, with the
  biased (1/m) batch variance and Keras defaults ``eps=1e-3``,
  ``momentum=0.99``.

The reference always computes in float64 (integer and float32 inputs are
converted), so that it is at least as accurate as anything it checks.  It
validates only what it needs to compute (geometry); the bad-input contract of
cnncore is tested separately.
"""
import numpy as np

__all__ = [
    "conv_output_size", "conv_padding", "conv2d", "conv2d_direct", "conv2d_backward",
    "max_pool2d", "max_pool2d_backward",
    "batch_norm_train", "batch_norm_infer", "batch_norm_backward", "update_moving_stats",
    "dense", "dense_backward", "relu", "relu_backward", "softmax", "softmax_cross_entropy",
]


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------

def _f64(a):
    """The array as float64 (a copy when it has another dtype; never a view we write to)."""
    return np.asarray(a, dtype=np.float64)


def _pair(value):
    """An int or a (rows, cols) pair -> (rows, cols)."""
    if np.ndim(value) == 0:
        return int(value), int(value)
    rows, cols = value
    return int(rows), int(cols)


def _ceil_div(a, b):
    return -(-a // b)


# --------------------------------------------------------------------------
# output size and padding (one spatial axis)
# --------------------------------------------------------------------------

def conv_padding(size, kernel_size, stride=1, padding="valid", dilation=1):
    """(before, after) zero padding of one spatial axis.

    "same" follows TensorFlow exactly::

        out    = ceil(size / stride)
        total  = max((out - 1) * stride + (kernel_size - 1) * dilation + 1 - size, 0)
        before = total // 2          # the odd extra cell goes after (bottom / right)
        after  = total - before
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return 0, 0
        if mode == "same":
            out = _ceil_div(size, stride)
            effective_kernel = (kernel_size - 1) * dilation + 1
            total = max((out - 1) * stride + effective_kernel - size, 0)
            before = total // 2
            return before, total - before
        raise ValueError(f"unknown padding {padding!r}")
    if np.ndim(padding) == 0:
        return int(padding), int(padding)
    before, after = padding
    return int(before), int(after)


def conv_output_size(size, kernel_size, stride=1, padding="valid", dilation=1):
    """Number of output positions along one spatial axis.

    VALID (and explicit padding p_before, p_after)::

        out = floor((size + p_before + p_after - (kernel_size - 1) * dilation - 1) / stride) + 1

    SAME: ``out = ceil(size / stride)``, whatever the kernel.
    """
    if isinstance(padding, str) and padding.lower() == "same":
        return _ceil_div(size, stride)
    before, after = conv_padding(size, kernel_size, stride, padding, dilation)
    effective_kernel = (kernel_size - 1) * dilation + 1
    return (size + before + after - effective_kernel) // stride + 1


def _padding_2d(padding, H, W, KH, KW, stride, dilation):
    """Any padding spec -> ((top, bottom), (left, right))."""
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    if isinstance(padding, str):
        return (conv_padding(H, KH, sh, padding, dh), conv_padding(W, KW, sw, padding, dw))
    if np.ndim(padding) == 0:                      # p: p on every side
        p = int(padding)
        return (p, p), (p, p)
    rows, cols = padding
    if np.ndim(rows) == 0:                         # (ph, pw): ph top and bottom, pw left and right
        return (int(rows), int(rows)), (int(cols), int(cols))
    return (int(rows[0]), int(rows[1])), (int(cols[0]), int(cols[1]))   # ((t, b), (l, r))


def _conv_geometry(x_shape, KH, KW, stride, padding, dilation):
    """Padding and output size of a 2-D window operation, or ValueError if there is no output."""
    _, H, W, _ = x_shape
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    (pt, pb), (pl, pr) = _padding_2d(padding, H, W, KH, KW, stride, dilation)
    if isinstance(padding, str) and padding.lower() == "same":
        OH, OW = _ceil_div(H, sh), _ceil_div(W, sw)
    else:
        OH = (H + pt + pb - (KH - 1) * dh - 1) // sh + 1
        OW = (W + pl + pr - (KW - 1) * dw - 1) // sw + 1
    if OH < 1 or OW < 1:
        raise ValueError("kernel larger than the padded input")
    return (pt, pb), (pl, pr), OH, OW


# --------------------------------------------------------------------------
# convolution (cross-correlation)
# --------------------------------------------------------------------------

def _window(i, j, stride, dilation, KH, KW):
    """The (rows, cols) slices of padded input read by output position (i, j)."""
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    rows = slice(i * sh, i * sh + (KH - 1) * dh + 1, dh)
    cols = slice(j * sw, j * sw + (KW - 1) * dw + 1, dw)
    return rows, cols


def conv2d(x, kernel, bias=None, stride=1, padding="valid", dilation=1):
    """Cross-correlation of channels-last x (N, H, W, C) with kernel (KH, KW, C, O)."""
    x, kernel = _f64(x), _f64(kernel)
    N, H, W, C = x.shape
    KH, KW, C_in, C_out = kernel.shape
    assert C == C_in
    (pt, pb), (pl, pr), OH, OW = _conv_geometry(x.shape, KH, KW, stride, padding, dilation)
    xpad = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))           # zeros
    y = np.zeros((N, OH, OW, C_out))
    for i in range(OH):
        for j in range(OW):
            rows, cols = _window(i, j, stride, dilation, KH, KW)
            patch = xpad[:, rows, cols, :]                              # (N, KH, KW, C)
            y[:, i, j, :] = np.einsum("bmnc,mnco->bo", patch, kernel)
    if bias is not None:
        y += _f64(bias)
    return y


def conv2d_direct(x, kernel, bias=None, stride=1, padding="valid", dilation=1):
    """The convolution equation (docs/conventions.md) written out with one loop per index (tiny inputs only).

    Used to check ``conv2d`` itself; it pads by index arithmetic instead of np.pad.
    """
    x, kernel = _f64(x), _f64(kernel)
    N, H, W, C = x.shape
    KH, KW, _, C_out = kernel.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    (pt, _), (pl, _), OH, OW = _conv_geometry(x.shape, KH, KW, stride, padding, dilation)
    y = np.zeros((N, OH, OW, C_out))
    for b in range(N):
        for i in range(OH):
            for j in range(OW):
                for o in range(C_out):
                    total = 0.0 if bias is None else float(bias[o])
                    for m in range(KH):
                        for n in range(KW):
                            r = i * sh + m * dh - pt        # row in the unpadded image
                            s = j * sw + n * dw - pl
                            if 0 <= r < H and 0 <= s < W:    # padded cells are zero
                                for c in range(C):
                                    total += x[b, r, s, c] * kernel[m, n, c, o]
                    y[b, i, j, o] = total
    return y


def conv2d_backward(dy, x, kernel, stride=1, padding="valid", dilation=1):
    """Gradients (dx, dkernel, dbias) of sum(dy * conv2d(x, kernel, bias)).

    Each output position (i, j) read a patch of the padded input; its upstream
    gradient flows back to that patch through the kernel (dx) and to the kernel
    through the patch (dkernel).  Gradients that land in the padding are dropped.
    """
    dy, x, kernel = _f64(dy), _f64(x), _f64(kernel)
    N, H, W, C = x.shape
    KH, KW, _, _ = kernel.shape
    (pt, pb), (pl, pr), OH, OW = _conv_geometry(x.shape, KH, KW, stride, padding, dilation)
    assert dy.shape[:3] == (N, OH, OW)
    xpad = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    dxpad = np.zeros_like(xpad)
    dkernel = np.zeros_like(kernel)
    for i in range(OH):
        for j in range(OW):
            rows, cols = _window(i, j, stride, dilation, KH, KW)
            patch = xpad[:, rows, cols, :]                               # (N, KH, KW, C)
            g = dy[:, i, j, :]                                           # (N, C_out)
            dkernel += np.einsum("bmnc,bo->mnco", patch, g)
            dxpad[:, rows, cols, :] += np.einsum("bo,mnco->bmnc", g, kernel)
    dx = dxpad[:, pt:pt + H, pl:pl + W, :].copy()
    dbias = dy.sum(axis=(0, 1, 2))
    return dx, dkernel, dbias


# --------------------------------------------------------------------------
# max pooling
# --------------------------------------------------------------------------

def _pool_geometry(x_shape, pool_size, stride, padding):
    PH, PW = _pair(pool_size)
    stride = (PH, PW) if stride is None else _pair(stride)
    (pt, pb), (pl, pr), OH, OW = _conv_geometry(x_shape, PH, PW, stride, padding, 1)
    return PH, PW, stride, (pt, pb), (pl, pr), OH, OW


def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
    """Maximum over each pool window; SAME padding cells are -inf (never chosen)."""
    x = _f64(x)
    N, H, W, C = x.shape
    PH, PW, stride, (pt, pb), (pl, pr), OH, OW = _pool_geometry(x.shape, pool_size, stride, padding)
    xpad = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=-np.inf)
    y = np.zeros((N, OH, OW, C))
    for i in range(OH):
        for j in range(OW):
            rows, cols = _window(i, j, stride, 1, PH, PW)
            y[:, i, j, :] = xpad[:, rows, cols, :].max(axis=(1, 2))
    return y


def max_pool2d_backward(dy, x, pool_size=2, stride=None, padding="valid"):
    """Each dy goes to the first maximal element of its window, in row-major order.

    Overlapping windows add up.
    """
    dy, x = _f64(dy), _f64(x)
    N, H, W, C = x.shape
    PH, PW, stride, (pt, pb), (pl, pr), OH, OW = _pool_geometry(x.shape, pool_size, stride, padding)
    assert dy.shape == (N, OH, OW, C)
    sh, sw = stride
    xpad = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=-np.inf)
    dxpad = np.zeros_like(xpad)
    for b in range(N):
        for i in range(OH):
            for j in range(OW):
                for c in range(C):
                    rows, cols = _window(i, j, stride, 1, PH, PW)
                    window = xpad[b, rows, cols, c]             # (PH', PW'), row-major
                    first = int(np.argmax(window))               # argmax: first maximum
                    m, n = divmod(first, window.shape[1])
                    dxpad[b, i * sh + m, j * sw + n, c] += dy[b, i, j, c]
    return dxpad[:, pt:pt + H, pl:pl + W, :].copy()


# --------------------------------------------------------------------------
# batch normalization
# --------------------------------------------------------------------------

def _stat_axes(x):
    """Every axis but the last (channels / features)."""
    return tuple(range(x.ndim - 1))


def batch_norm_train(x, gamma, beta, eps=1e-3):
    """(y, mean, var) with the biased batch variance (1/m)."""
    x, gamma, beta = _f64(x), _f64(gamma), _f64(beta)
    axes = _stat_axes(x)
    mean = x.mean(axis=axes)
    var = ((x - mean) ** 2).mean(axis=axes)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gamma * x_hat + beta, mean, var


def batch_norm_infer(x, gamma, beta, moving_mean, moving_var, eps=1e-3):
    x = _f64(x)
    return _f64(gamma) * (x - _f64(moving_mean)) / np.sqrt(_f64(moving_var) + eps) + _f64(beta)


def batch_norm_backward(dy, x, gamma, mean, var, eps=1e-3):
    """(dx, dgamma, dbeta) of sum(dy * batch_norm_train(x, gamma, beta)).

    Written step by step as in Ioffe & Szegedy (2015), Algorithm 1's chain rule,
    with m = the number of values averaged per channel.
    """
    dy, x, gamma, mean, var = _f64(dy), _f64(x), _f64(gamma), _f64(mean), _f64(var)
    axes = _stat_axes(x)
    m = x.size // x.shape[-1]
    inv_std = 1.0 / np.sqrt(var + eps)
    x_mu = x - mean
    x_hat = x_mu * inv_std

    dbeta = dy.sum(axis=axes)
    dgamma = (dy * x_hat).sum(axis=axes)
    dx_hat = dy * gamma
    dvar = (dx_hat * x_mu).sum(axis=axes) * -0.5 * inv_std ** 3
    dmean = (dx_hat * -inv_std).sum(axis=axes) + dvar * (-2.0 * x_mu).sum(axis=axes) / m
    dx = dx_hat * inv_std + dvar * 2.0 * x_mu / m + dmean / m
    return dx, dgamma, dbeta


def update_moving_stats(moving_mean, moving_var, mean, var, momentum=0.99):
    """Keras: moving = momentum * moving + (1 - momentum) * batch (new arrays)."""
    new_mean = momentum * _f64(moving_mean) + (1.0 - momentum) * _f64(mean)
    new_var = momentum * _f64(moving_var) + (1.0 - momentum) * _f64(var)
    return new_mean, new_var


# --------------------------------------------------------------------------
# dense, relu, softmax
# --------------------------------------------------------------------------

def dense(x, w, b=None):
    """x (N, F_in) @ w (F_in, F_out) + b (F_out,)."""
    y = _f64(x) @ _f64(w)
    if b is not None:
        y = y + _f64(b)
    return y


def dense_backward(dy, x, w):
    dy, x, w = _f64(dy), _f64(x), _f64(w)
    return dy @ w.T, x.T @ dy, dy.sum(axis=0)


def relu(x):
    x = _f64(x)
    return np.where(x > 0, x, 0.0)


def relu_backward(dy, x):
    """dy where x > 0, else 0 (the gradient at exactly 0 is taken as 0)."""
    return np.where(_f64(x) > 0, _f64(dy), 0.0)


def softmax(x, axis=-1):
    x = _f64(x)
    shifted = x - x.max(axis=axis, keepdims=True)      # exp never overflows
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def softmax_cross_entropy(logits, labels):
    """(mean loss, dlogits) for logits (N, K) and int labels (N,).

    loss = mean_b -log softmax(logits[b])[labels[b]];  dlogits = (softmax - onehot) / N.
    """
    logits = _f64(logits)
    labels = np.asarray(labels)
    N, K = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N)
    loss = -log_p[rows, labels].mean()
    onehot = np.zeros((N, K))
    onehot[rows, labels] = 1.0
    dlogits = (np.exp(log_p) - onehot) / N
    return float(loss), dlogits
