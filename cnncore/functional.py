"""The functional API: validate, allocate, dispatch to the compiled kernels.

Conventions (see DESIGN.md): images are channels-last ``(N, H, W, C)``,
kernels ``(KH, KW, C_in, C_out)``, convolution is cross-correlation, stride,
dilation and pool sizes are an int or a ``(rows, cols)`` pair, SAME padding
follows TensorFlow (the odd extra row/column at the bottom/right).  The
output dtype is the input's; integer input becomes float64.  Inputs are
never modified (but an ``out`` array passed to relu or relu_backward); every
function returns new arrays.
"""
import sys
import threading

import numpy as np

from . import _batchnorm, _conv, _elementwise, _isa, _pool
from ._checks import (_fail, as_float_array, as_int, as_pair, as_real, axis_output, axis_padding,
                      check_ndim, check_shape, contiguous, padding_spec, window_geometry)
from ._threads import blas_threads, get_num_threads

__all__ = [
    "conv_output_size", "conv_padding", "conv2d", "conv2d_backward",
    "max_pool2d", "max_pool2d_backward",
    "batch_norm_train", "batch_norm_infer", "batch_norm_backward", "update_moving_stats",
    "dense", "dense_backward", "relu", "relu_backward", "softmax", "softmax_cross_entropy",
]

# ---------------------------------------------------------------------------
# Output sizes and paddings of one axis


def _axis_geometry(func, size, kernel_size, stride, padding, dilation):
    size = as_int(size, "size", func, minimum=0)
    kernel_size = as_int(kernel_size, "kernel_size", func, minimum=1)
    stride = as_int(stride, "stride", func, minimum=1)
    dilation = as_int(dilation, "dilation", func, minimum=1)
    spec = padding_spec(padding, func, ndims=1)
    before, after = axis_padding(size, kernel_size, stride, dilation,
                                 spec if isinstance(spec, str) else spec[0])
    extent = (kernel_size - 1) * dilation + 1
    if extent > size + before + after:
        dilated = f" ({extent} with dilation)" if dilation > 1 else ""
        _fail(func, f"the kernel{dilated} is larger than the padded input "
              f"({size} + {before} + {after})",
              f"size={size}, kernel_size={kernel_size}, dilation={dilation}, padding={padding!r}")
    return before, after, axis_output(size, kernel_size, stride, dilation, before, after)


def conv_output_size(size, kernel_size, stride=1, padding="valid", dilation=1):
    """Output length of a convolution along one axis.

    VALID: ``floor((size - (k - 1) * d - 1) / stride) + 1``; SAME:
    ``ceil(size / stride)``; explicit padding (an int, or a (before, after)
    pair) is added to ``size`` first.
    """
    return _axis_geometry("conv_output_size", size, kernel_size, stride, padding, dilation)[2]


def conv_padding(size, kernel_size, stride=1, padding="valid", dilation=1):
    """(before, after) zero padding of one axis; SAME puts the odd one after."""
    before, after, _ = _axis_geometry("conv_padding", size, kernel_size, stride, padding, dilation)
    return before, after


# ---------------------------------------------------------------------------
# Threads: small calls run serially, as waking a thread team costs more than
# the work (and much more when another process holds the other core).

SERIAL_WORK = 1 << 16


def _threads_for(work, limit=None):
    """Threads for a call doing about ``work`` element operations (at most ``limit``)."""
    nt = get_num_threads() if work >= SERIAL_WORK else 1
    return max(min(nt, limit), 1) if limit is not None else nt


# ---------------------------------------------------------------------------
# Scratch memory, reused across calls (a fresh page costs more than the
# arithmetic on it), one set per Python thread.

_scratch_local = threading.local()


def _empty_aligned(shape, dtype, align=64):
    """np.empty, but starting on a cache line: the micro-kernels' 64-byte loads
    and stores then never straddle two lines (NumPy aligns to 16 bytes)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + align, dtype=np.uint8)
    start = -raw.ctypes.data % align
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def _scratch(shape, dtype, slot="col"):
    """A C-contiguous, aligned, uninitialised array of ``shape`` backed by a reused buffer.

    Arrays of different ``slot`` names may be used at the same time.
    """
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    buffers = _scratch_local.__dict__.setdefault("buffers", {})
    buf = buffers.get((slot, dtype))
    if buf is None or buf.size < size:
        buf = _empty_aligned(max(size, 1), dtype)
        buffers[(slot, dtype)] = buf
    return buf[:size].reshape(shape)


# Outputs: large arrays come from a pool of buffers that nothing refers to any
# more.  A training step makes arrays of the same sizes step after step; reused,
# they cost no fresh pages.  Every array handed out is a view of a pooled
# buffer (NumPy points a view's base at the array owning the memory), so the
# buffer's reference count says whether any of them is still alive.

POOL_MIN_BYTES = 1 << 20    # smaller arrays: np.empty (malloc reuses those itself)
POOL_AGE = 512              # a buffer not handed out in this many requests is let go
_FREE_REFS = (lambda entry: sys.getrefcount(entry[0]))([np.empty(1)])  # held by the pool alone


def _fresh(shape, dtype, zero=False):
    """A new C-contiguous, 64-byte aligned array for an output (zeroed with ``zero``)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if nbytes < POOL_MIN_BYTES:
        out = _empty_aligned(shape, dtype)
    else:
        local = _scratch_local.__dict__
        pool = local.setdefault("pool", {})         # nbytes -> [[raw buffer, last request]]
        clock = local["clock"] = local.get("clock", 0) + 1
        entries = pool.setdefault(nbytes, [])
        entry = next((e for e in entries if sys.getrefcount(e[0]) == _FREE_REFS), None)
        if entry is None:
            entry = [np.empty(nbytes + 64, dtype=np.uint8), clock]
            entries.append(entry)
        entry[1] = clock
        for size, es in list(pool.items()):
            es[:] = [e for e in es if clock - e[1] <= POOL_AGE or sys.getrefcount(e[0]) > _FREE_REFS]
            if not es:
                del pool[size]
        raw = entry[0]
        start = -raw.ctypes.data % 64
        out = raw[start:start + nbytes].view(dtype).reshape(shape)
    if zero:
        out.fill(0)
    return out


# How a convolution runs (tuned with benchmarks/bench_core.py):
# - float32: a register-blocked micro-kernel reading the padded input (no
#   column matrix), the fastest this CPU has, capped by $CNNCORE_ISA
#   (cnncore/_isa.py); on AVX-512, blocks of fewer than AVX2_BELOW channels
#   use the AVX2 one, whose narrower block wastes less on padding columns;
MICROKERNEL = _isa.microkernel()
AVX2_BELOW = 32
DIRECT_MIN_CHANNELS = 16    # below, with a column dilation: it reads im2col rows
DK_CHUNK = 128              # pixels per step of its kernel gradient
# - otherwise im2col + BLAS: up to BIG_GEMM_BYTES of column matrix, one im2col
#   and one multi-threaded GEMM; above, tiles of about TILE_BYTES of column
#   matrix, each thread running im2col + a single-threaded GEMM on its tiles.
BIG_GEMM_BYTES = 32 << 20
TILE_BYTES = 1 << 20


def _tile_rows(P, K, itemsize, nthreads):
    """Rows per tile: about TILE_BYTES of column matrix, tiles balanced over threads."""
    rows = max(TILE_BYTES // max(K * itemsize, 1), 16)
    ntiles = -(-P // rows)
    ntiles = -(-ntiles // nthreads) * nthreads
    return max(-(-P // ntiles), 1)


# ---------------------------------------------------------------------------
# Convolution


def _conv_forward(x, kernel, bias, stride, dilation, pt, pl, OH, OW, flip=False, relu=False):
    """Correlate contiguous ``x`` with contiguous ``kernel``; geometry already checked.

    ``pt``/``pl`` may be negative (the input gradient crops that way).  With
    ``flip``, the kernel used is ``kernel`` flipped in both spatial axes with
    its channel axes swapped (the input gradient's kernel).  With ``relu``,
    max(y, 0) (in the micro-kernel's store; after the GEMM otherwise).
    """
    y, rectified = _conv_linear(x, kernel, bias, stride, dilation, pt, pl, OH, OW, flip, relu)
    if relu and not rectified and y.size:
        _elementwise.relu_into(y.reshape(-1), y.reshape(-1), _threads_for(y.size))
    return y


def _conv_linear(x, kernel, bias, stride, dilation, pt, pl, OH, OW, flip, relu):
    """_conv_forward's work: ``(y, True)`` when a micro-kernel applied ``relu`` too."""
    N, H, W, C = x.shape
    KH, KW = kernel.shape[:2]
    O = kernel.shape[2] if flip else kernel.shape[3]
    dtype = x.dtype
    y = _fresh((N, OH, OW, O), dtype)
    if y.size == 0:
        return y, False
    K = KH * KW * C
    bias_arr = np.empty(0, dtype=dtype) if bias is None else bias
    nt = _threads_for(y.size * K // 16)
    if x.size == 0:  # only padding under the kernel (e.g. a zero-width image, padded)
        y[...] = 0 if bias is None else bias
        return y, False
    isa = _microkernel(dtype, O, pt, pl)
    if isa:
        _conv_direct(x, kernel, bias_arr, y, stride, dilation, pt, pl, nt, flip, isa, relu)
        return y, True
    if flip:
        kernel = np.ascontiguousarray(kernel[::-1, ::-1].transpose(0, 1, 3, 2))
    w2d = kernel.reshape(K, O)
    P = N * OH * OW
    y2d = y.reshape(P, O)
    pointwise = (KH == KW == 1 and stride == (1, 1) and pt == pl == 0 and (OH, OW) == (H, W))
    if pointwise or P * K * dtype.itemsize <= BIG_GEMM_BYTES:
        if pointwise:
            col = x.reshape(P, C)
        else:
            col = _scratch((P, K), dtype)
            _conv.im2col(x, col, OH, OW, KH, KW, stride[0], stride[1],
                         dilation[0], dilation[1], pt, pl, nt)
        with blas_threads(nt):
            np.matmul(col, w2d, out=y2d)
        if bias is not None:
            y2d += bias
        return y, False
    tile = _tile_rows(P, K, dtype.itemsize, nt)
    work = _scratch((nt, tile * K), dtype)
    with blas_threads(1):
        _conv.forward_tiled(x, w2d, bias_arr, y, work, KH, KW, stride[0], stride[1],
                            dilation[0], dilation[1], pt, pl, tile, nt)
    return y, False


def _microkernel(dtype, channels, pt, pl):
    """The micro-kernel for a call blocking ``channels`` channels, or None: im2col + BLAS."""
    if MICROKERNEL is None or dtype != np.float32 or pt < 0 or pl < 0:
        return None
    if MICROKERNEL == "avx512" and channels < AVX2_BELOW:
        return "avx2"           # every AVX-512 CPU has AVX2
    return MICROKERNEL


def _direct_source(x, KH, KW, OH, OW, stride, dilation, pt, pl, nthreads):
    """What the micro-kernels read: ``(src, off, run, sh, sw)``.

    Receptive fields are read straight from the zero-padded input ``src``:
    each output pixel's corner plus ``off[t]`` starts a run of ``run``
    contiguous values, one run of KW*C values per kernel row (column
    dilation 1) or of C values per kernel tap.  With few channels and a
    column dilation, ``src`` is an im2col matrix instead, one run per pixel.
    """
    N, H, W, C = x.shape
    (sh, sw), (dh, dw) = stride, dilation
    if dw > 1 and C < DIRECT_MIN_CHANNELS:
        src = _scratch((N, OH, OW, KH * KW * C), x.dtype, "padded")
        _conv.im2col(x, src.reshape(-1, KH * KW * C), OH, OW, KH, KW, sh, sw, dh, dw,
                     pt, pl, nthreads)
        return src, np.zeros(1, dtype=np.intp), KH * KW * C, 1, 1
    pb = max((OH - 1) * sh + (KH - 1) * dh + 1 - pt - H, 0)
    pr = max((OW - 1) * sw + (KW - 1) * dw + 1 - pl - W, 0)
    src = x
    if pt or pb or pl or pr:
        src = _scratch((N, pt + H + pb, pl + W + pr, C), x.dtype, "padded")
        _conv.pad_into(x, src, pt, pl, nthreads)
    Wp = src.shape[2]
    if dw == 1:
        off, run = [m * dh * Wp * C for m in range(KH)], KW * C
    else:
        off, run = [(m * dh * Wp + n * dw) * C for m in range(KH) for n in range(KW)], C
    return src, np.array(off, dtype=np.intp), run, sh, sw


def _conv_direct(x, kernel, bias, y, stride, dilation, pt, pl, nthreads, flip, isa, relu):
    """float32 convolution on the micro-kernel ``isa`` (pt, pl >= 0)."""
    KH, KW = kernel.shape[:2]
    C, O = x.shape[3], y.shape[3]
    src, off, run, sh, sw = _direct_source(x, KH, KW, y.shape[1], y.shape[2], stride,
                                           dilation, pt, pl, nthreads)
    cols = _conv.isa_block(isa)[1]
    wpack = _scratch((-(-O // cols), KH * KW * C, cols), x.dtype, "packed")
    _conv.pack_weights(kernel, wpack, flip, nthreads)
    _conv.direct_forward(src, wpack, bias, off, y, run, sh, sw, relu, isa, nthreads)


def _conv_dkernel(x, dy, KH, KW, stride, dilation, pt, pl):
    """dK = col(x).T @ dy, as (KH, KW, C, O)."""
    N, H, W, C = x.shape
    _, OH, OW, O = dy.shape
    dtype = x.dtype
    K = KH * KW * C
    P = N * OH * OW
    if x.size == 0 or dy.size == 0:
        return np.zeros((KH, KW, C, O), dtype=dtype)
    nt = _threads_for(dy.size * K // 16)
    isa = _microkernel(dtype, O, pt, pl)
    if isa:
        src, off, run, sh, sw = _direct_source(x, KH, KW, OH, OW, stride, dilation, pt, pl, nt)
        cols = _conv.isa_block(isa)[1]
        dy2d = dy.reshape(P, O)
        if O % cols:    # the kernel loads whole blocks of dy's channels
            padded = _scratch((P, -(-O // cols) * cols), dtype, "dy")
            padded[:, O:] = 0
            padded[:, :O] = dy2d
            dy2d = padded
        dk = _fresh((K, O), dtype, zero=True)
        _conv.direct_dkernel(src, dy2d, off, dk, OH, OW, run, sh, sw, DK_CHUNK, isa, nt)
        return dk.reshape(KH, KW, C, O)
    if P * K * dtype.itemsize <= BIG_GEMM_BYTES:
        col = _scratch((P, K), dtype)
        _conv.im2col(x, col, OH, OW, KH, KW, stride[0], stride[1],
                     dilation[0], dilation[1], pt, pl, nt)
        with blas_threads(nt):
            dk = np.matmul(col.T, dy.reshape(P, O))
        return dk.reshape(KH, KW, C, O)
    tile = _tile_rows(P, K, dtype.itemsize, nt)
    work = _scratch((nt, tile * K), dtype)
    parts = np.zeros((nt, K, O), dtype=dtype)
    with blas_threads(1):
        _conv.dkernel_tiled(x, dy, parts, work, KH, KW, stride[0], stride[1],
                            dilation[0], dilation[1], pt, pl, tile, nt)
    dk = parts[0] if nt == 1 else parts.sum(axis=0)
    return dk.reshape(KH, KW, C, O)


def _conv_dx(dy, kernel, x_shape, stride, dilation, pt, pl):
    """dx as a stride-1 correlation of (zero-dilated) dy with the flipped kernel; with
    few input channels, as dy @ kernel^T gathered back onto the input's pixels."""
    N, H, W, C = x_shape
    KH, KW, _, O = kernel.shape
    sh, sw = stride
    if C < DIRECT_MIN_CHANNELS and dy.size and _microkernel(dy.dtype, KH * KW * C, 0, 0):
        # the flipped convolution would fill a block of at least 16 channels for each
        # of C: instead a 1x1 convolution (a GEMM) makes each output pixel's KH*KW*C
        # contributions, and each input pixel adds up the ones that land on it
        _, OH, OW, _ = dy.shape
        kt = np.ascontiguousarray(kernel.reshape(KH * KW * C, O).T).reshape(1, 1, O, KH * KW * C)
        g = _conv_forward(dy, kt, None, (1, 1), (1, 1), 0, 0, OH, OW)
        dx = _fresh(x_shape, dy.dtype)
        if dx.size:
            _conv.col2im_gather(g, dx, KH, KW, sh, sw, dilation[0], dilation[1], pt, pl,
                                _threads_for(g.size))
        return dx
    if sh > 1 or sw > 1:
        _, OH, OW, _ = dy.shape
        spread = _fresh((N, (OH - 1) * sh + 1, (OW - 1) * sw + 1, O), dy.dtype, zero=True)
        if spread.size:
            _conv.dilate_rows_cols(dy, spread, sh, sw)
        dy = spread
    return _conv_forward(dy, kernel, None, (1, 1), dilation,
                         (KH - 1) * dilation[0] - pt, (KW - 1) * dilation[1] - pl, H, W, flip=True)


def _conv_args(func, x, kernel, stride, padding, dilation):
    x = as_float_array(x, "x", func)
    check_ndim(x, 4, "x", func, "(N, H, W, C)")
    kernel = as_float_array(kernel, "kernel", func, dtype=x.dtype)
    check_ndim(kernel, 4, "kernel", func, "(KH, KW, C_in, C_out)")
    if kernel.shape[0] < 1 or kernel.shape[1] < 1:
        _fail(func, "`kernel` must have at least one row and one column",
              f"kernel.shape={kernel.shape}")
    if kernel.shape[2] != x.shape[3]:
        _fail(func, f"`kernel` input channels (C_in={kernel.shape[2]}) must match the channels "
              f"of `x` (C={x.shape[3]})", f"x.shape={x.shape}, kernel.shape={kernel.shape}")
    stride = as_pair(stride, "stride", func)
    dilation = as_pair(dilation, "dilation", func)
    pads, out_hw = window_geometry(func, x.shape[1:3], kernel.shape[:2], stride, dilation, padding)
    return contiguous(x), contiguous(kernel), stride, dilation, pads, out_hw


def conv2d(x, kernel, bias=None, stride=1, padding="valid", dilation=1, *, relu=False):
    """Cross-correlation of channels-last images with a (KH, KW, C_in, C_out) kernel.

    ``y[b, i, j, o] = sum_{m,n,c} xpad[b, i*sh + m*dh, j*sw + n*dw, c] * kernel[m, n, c, o] + bias[o]``

    ``relu=True`` returns max(y, 0), fused into the kernel's store where it can be.
    """
    x, kernel, stride, dilation, pads, (OH, OW) = _conv_args(
        "conv2d", x, kernel, stride, padding, dilation)
    if bias is not None:
        bias = as_float_array(bias, "bias", "conv2d", dtype=x.dtype)
        check_shape(bias, (kernel.shape[3],), "bias", "conv2d", "C_out of the kernel")
    return _conv_forward(x, kernel, bias, stride, dilation, pads[0][0], pads[1][0], OH, OW,
                         relu=bool(relu))


def _channel_sums(a):
    """Sums over every axis but the last of a contiguous array, accumulated in float64."""
    if a.size == 0:
        return np.zeros(a.shape[-1])
    a2d = a.reshape(-1, a.shape[-1])
    nt = _threads_for(a.size)
    parts = np.empty((nt, a2d.shape[1]))
    _elementwise.channel_sums(a2d, parts, nt)
    return parts.sum(axis=0)


def conv2d_backward(dy, x, kernel, stride=1, padding="valid", dilation=1, *, input_grad=True):
    """Gradients of ``conv2d`` with respect to x, kernel and bias, given dL/dy
    (``input_grad=False``: dx is None and not computed, e.g. for a network's first layer)."""
    func = "conv2d_backward"
    x, kernel, stride, dilation, pads, (OH, OW) = _conv_args(
        func, x, kernel, stride, padding, dilation)
    dy = as_float_array(dy, "dy", func, dtype=x.dtype)
    check_shape(dy, (x.shape[0], OH, OW, kernel.shape[3]), "dy", func, "the output of conv2d")
    dy = contiguous(dy)
    KH, KW = kernel.shape[:2]
    pt, pl = pads[0][0], pads[1][0]
    dkernel = _conv_dkernel(x, dy, KH, KW, stride, dilation, pt, pl)
    dx = _conv_dx(dy, kernel, x.shape, stride, dilation, pt, pl) if input_grad else None
    dbias = _channel_sums(dy).astype(x.dtype)
    return dx, dkernel, dbias


# ---------------------------------------------------------------------------
# Max pooling


def _pool_args(func, x, pool_size, stride, padding):
    x = as_float_array(x, "x", func)
    check_ndim(x, 4, "x", func, "(N, H, W, C)")
    pool = as_pair(pool_size, "pool_size", func)
    stride = pool if stride is None else as_pair(stride, "stride", func)
    pads, out_hw = window_geometry(func, x.shape[1:3], pool, stride, (1, 1), padding,
                                   what="pool_size")
    for (before, after), k in zip(pads, pool):
        if before >= k or after >= k:
            _fail(func, "explicit `padding` must be smaller than `pool_size` (a window of "
                  "padding alone has no maximum)", f"padding={padding!r}, pool_size={pool_size!r}")
    return contiguous(x), pool, stride, pads, out_hw


def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
    """Max over (rows, cols) windows; padded cells are ignored (-inf). stride None = pool_size."""
    x, pool, stride, pads, (OH, OW) = _pool_args("max_pool2d", x, pool_size, stride, padding)
    y = _fresh((x.shape[0], OH, OW, x.shape[3]), x.dtype)
    if y.size:
        _pool.max_pool_forward(x, y, pool[0], pool[1], stride[0], stride[1],
                               pads[0][0], pads[1][0], _threads_for(y.size * pool[0] * pool[1]))
    return y


def max_pool2d_backward(dy, x, pool_size=2, stride=None, padding="valid"):
    """Gradient of ``max_pool2d``: each window's dy goes to its first maximal cell."""
    func = "max_pool2d_backward"
    x, pool, stride, pads, (OH, OW) = _pool_args(func, x, pool_size, stride, padding)
    dy = as_float_array(dy, "dy", func, dtype=x.dtype)
    check_shape(dy, (x.shape[0], OH, OW, x.shape[3]), "dy", func, "the output of max_pool2d")
    dx = _fresh(x.shape, x.dtype, zero=True)
    if dy.size:
        _pool.max_pool_backward(contiguous(dy), x, dx, pool[0], pool[1], stride[0], stride[1],
                                pads[0][0], pads[1][0], _threads_for(dy.size * pool[0] * pool[1]))
    return dx


# ---------------------------------------------------------------------------
# Batch normalization: over every axis but the last (channels-last)


def _bn_input(func, x):
    x = as_float_array(x, "x", func)
    if x.ndim < 2:
        _fail(func, "`x` must have a batch axis and a feature axis: (N, F) or (N, H, W, C)",
              f"x.shape={x.shape}")
    return contiguous(x)


def _bn_param(func, value, name, x):
    arr = as_float_array(value, name, func)
    check_shape(arr, (x.shape[-1],), name, func, "one value per channel, the last axis of x")
    return arr


def _bn_variance(func, value, name, x, eps):
    arr = _bn_param(func, value, name, x)
    if np.any(arr + eps <= 0):
        _fail(func, f"`{name}` + eps must be positive", f"{name}={arr!r}")
    return arr


def _check_eps(func, eps):
    eps = as_real(eps, "eps", func)
    if not eps >= 0.0:
        _fail(func, "`eps` must be >= 0", f"eps={eps!r}")
    return eps


def batch_norm_train(x, gamma, beta, eps=1e-3):
    """Normalize with the batch's statistics over every axis but the last.

    Returns ``(y, mean, var)`` with the biased (1/m) batch variance.  For an
    empty batch, y is empty and mean and var are NaN (no samples).
    """
    func = "batch_norm_train"
    x = _bn_input(func, x)
    gamma = _bn_param(func, gamma, "gamma", x)
    beta = _bn_param(func, beta, "beta", x)
    eps = _check_eps(func, eps)
    C = x.shape[-1]
    x2d = x.reshape(-1, C)
    M = x2d.shape[0]
    if M == 0:
        nan = np.full(C, np.nan, dtype=x.dtype)
        return np.empty_like(x), nan, nan.copy()
    nt = _threads_for(x.size, M)
    mean = np.empty(C)
    var = np.empty(C)
    _batchnorm.moments(x2d, mean, var, np.empty((2 * nt, C)), np.empty((2 * nt, C), x.dtype), nt)
    y = _bn_apply(x2d, mean, var, gamma, beta, eps, nt).reshape(x.shape)
    return y, mean.astype(x.dtype), var.astype(x.dtype)


def _bn_apply(x2d, mean, var, gamma, beta, eps, nthreads):
    """y = (x - mean) * gamma / sqrt(var + eps) + beta, statistics in float64."""
    dtype = x2d.dtype
    scale = np.asarray(gamma, dtype=np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
    y = _fresh(x2d.shape, x2d.dtype)
    if x2d.size:
        _batchnorm.normalize(x2d, np.ascontiguousarray(mean, dtype=dtype), scale.astype(dtype),
                             np.ascontiguousarray(beta, dtype=dtype), y, nthreads)
    return y


def batch_norm_infer(x, gamma, beta, moving_mean, moving_var, eps=1e-3):
    """Normalize with the moving averages gathered in training."""
    func = "batch_norm_infer"
    x = _bn_input(func, x)
    gamma = _bn_param(func, gamma, "gamma", x)
    beta = _bn_param(func, beta, "beta", x)
    moving_mean = _bn_param(func, moving_mean, "moving_mean", x)
    eps = _check_eps(func, eps)
    moving_var = _bn_variance(func, moving_var, "moving_var", x, eps)
    x2d = x.reshape(-1, x.shape[-1])
    nt = _threads_for(x.size, x2d.shape[0])
    return _bn_apply(x2d, moving_mean, moving_var, gamma, beta, eps, nt).reshape(x.shape)


def batch_norm_backward(dy, x, gamma, mean, var, eps=1e-3):
    """Gradients of ``batch_norm_train`` w.r.t. x, gamma and beta, given dL/dy.

    ``mean`` and ``var`` are the batch statistics the forward pass returned.
    """
    func = "batch_norm_backward"
    x = _bn_input(func, x)
    dy = as_float_array(dy, "dy", func, dtype=x.dtype)
    check_shape(dy, x.shape, "dy", func, "the shape of x")
    gamma = _bn_param(func, gamma, "gamma", x)
    mean = _bn_param(func, mean, "mean", x)
    eps = _check_eps(func, eps)
    var = _bn_variance(func, var, "var", x, eps)
    C = x.shape[-1]
    x2d = x.reshape(-1, C)
    M = x2d.shape[0]
    if M == 0:
        zeros = np.zeros(C, dtype=x.dtype)
        return np.empty_like(x), zeros, zeros.copy()
    nt = _threads_for(x.size, M)
    invstd = 1.0 / np.sqrt(var.astype(np.float64) + eps)
    dx = _fresh(x2d.shape, x2d.dtype)
    dgamma = np.empty(C)
    dbeta = np.empty(C)
    _batchnorm.backward(contiguous(dy).reshape(-1, C), x2d, np.ascontiguousarray(mean, x.dtype),
                        invstd, gamma.astype(np.float64), dx, dgamma, dbeta,
                        np.empty((2 * nt, C)), np.empty((2 * nt, C), x.dtype),
                        np.empty((3, C), x.dtype), nt)
    return dx.reshape(x.shape), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


def update_moving_stats(moving_mean, moving_var, mean, var, momentum=0.99):
    """New moving averages: ``momentum * moving + (1 - momentum) * batch`` (Keras)."""
    func = "update_moving_stats"
    moving_mean = as_float_array(moving_mean, "moving_mean", func)
    if moving_mean.ndim != 1:
        _fail(func, "`moving_mean` must be a 1-D array (one value per channel)",
              f"moving_mean.shape={moving_mean.shape}")
    shape = moving_mean.shape
    moving_var = as_float_array(moving_var, "moving_var", func, dtype=moving_mean.dtype)
    mean = as_float_array(mean, "mean", func, dtype=moving_mean.dtype)
    var = as_float_array(var, "var", func, dtype=moving_mean.dtype)
    for name, arr in (("moving_var", moving_var), ("mean", mean), ("var", var)):
        check_shape(arr, shape, name, func, "the shape of moving_mean")
    momentum = as_real(momentum, "momentum", func)
    if not 0.0 <= momentum <= 1.0:
        _fail(func, "`momentum` must be in [0, 1]", f"momentum={momentum!r}")
    new_mean = momentum * moving_mean + (1.0 - momentum) * mean
    new_var = momentum * moving_var + (1.0 - momentum) * var
    return new_mean.astype(moving_mean.dtype), new_var.astype(moving_mean.dtype)


# ---------------------------------------------------------------------------
# Dense, ReLU, softmax


def _dense_args(func, x, w):
    x = as_float_array(x, "x", func)
    check_ndim(x, 2, "x", func, "(N, F_in)")
    w = as_float_array(w, "w", func, dtype=x.dtype)
    check_ndim(w, 2, "w", func, "(F_in, F_out)")
    if w.shape[0] != x.shape[1]:
        _fail(func, f"`w` rows (F_in={w.shape[0]}) must match the features of `x` "
              f"(F={x.shape[1]})", f"x.shape={x.shape}, w.shape={w.shape}")
    return x, w


def dense(x, w, b=None):
    """``x @ w + b`` for x (N, F_in), w (F_in, F_out), b (F_out,)."""
    x, w = _dense_args("dense", x, w)
    with blas_threads(get_num_threads()):
        y = np.matmul(x, w, out=_fresh((x.shape[0], w.shape[1]), x.dtype))
    if b is not None:
        b = as_float_array(b, "b", "dense", dtype=x.dtype)
        check_shape(b, (w.shape[1],), "b", "dense", "F_out of w")
        y += b
    return y


def dense_backward(dy, x, w):
    """Gradients of ``dense`` w.r.t. x, w and b, given dL/dy."""
    func = "dense_backward"
    x, w = _dense_args(func, x, w)
    dy = as_float_array(dy, "dy", func, dtype=x.dtype)
    check_shape(dy, (x.shape[0], w.shape[1]), "dy", func, "the output of dense")
    with blas_threads(get_num_threads()):
        dx = np.matmul(dy, w.T, out=_fresh(x.shape, x.dtype))
        dw = np.matmul(x.T, dy, out=_fresh(w.shape, x.dtype))
    return dx, dw, dy.sum(axis=0)


def relu(x, out=None):
    """max(x, 0), elementwise (``out``: an array of x's shape and dtype to write, may be x)."""
    x = contiguous(as_float_array(x, "x", "relu"))
    y = _elementwise_out(x, out, "relu")
    if x.size:
        _elementwise.relu_into(x.reshape(-1), y.reshape(-1), _threads_for(x.size))
    return y


def relu_backward(dy, x, out=None):
    """dy where x > 0, else 0 (``out``: as in :func:`relu`, may be dy)."""
    x = contiguous(as_float_array(x, "x", "relu_backward"))
    dy = as_float_array(dy, "dy", "relu_backward", dtype=x.dtype)
    check_shape(dy, x.shape, "dy", "relu_backward", "the shape of x")
    dy = contiguous(dy)
    dx = _elementwise_out(x, out, "relu_backward")
    if x.size:
        _elementwise.relu_backward_into(dy.reshape(-1), x.reshape(-1), dx.reshape(-1),
                                        _threads_for(x.size))
    return dx


def _elementwise_out(x, out, func):
    if out is None:
        return _fresh(x.shape, x.dtype)
    if not (isinstance(out, np.ndarray) and out.shape == x.shape and out.dtype == x.dtype
            and out.flags.c_contiguous and out.flags.writeable):
        _fail(func, "`out` must be a writeable C-contiguous array of the input's shape and dtype",
              f"x: {x.shape} {x.dtype}; out: {getattr(out, 'shape', type(out).__name__)} "
              f"{getattr(out, 'dtype', '')}")
    return out


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, computed stably."""
    x = as_float_array(x, "x", "softmax")
    if x.ndim == 0:
        _fail("softmax", "`x` must have at least one axis", f"x.shape={x.shape}")
    axis = as_int(axis, "axis", "softmax")
    if not -x.ndim <= axis < x.ndim:
        _fail("softmax", f"`axis` must be in [-{x.ndim}, {x.ndim})", f"axis={axis}")
    if x.size == 0:
        return np.empty_like(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer class ids, and dL/dlogits.

    Returns ``(mean_loss, dlogits)`` with ``dlogits = (softmax - onehot) / N``;
    an empty batch has loss 0.0 and an empty gradient.
    """
    func = "softmax_cross_entropy"
    logits = as_float_array(logits, "logits", func)
    check_ndim(logits, 2, "logits", func, "(N, num_classes)")
    N, K = logits.shape
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        _fail(func, "`labels` must be integer class ids", f"labels.dtype={labels.dtype}", TypeError)
    check_shape(labels, (N,), "labels", func, "one class id per row of logits")
    if N == 0:
        return 0.0, np.empty_like(logits)
    if K == 0 or labels.min() < 0 or labels.max() >= K:
        _fail(func, f"`labels` must be class ids in [0, {K})",
              f"labels min={labels.min()}, max={labels.max()}")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    rows = np.arange(N)
    loss = float(-log_p[rows, labels].mean(dtype=np.float64))
    dlogits = np.exp(log_p)
    dlogits[rows, labels] -= 1.0
    dlogits /= N
    return loss, dlogits
