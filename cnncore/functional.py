"""The functional API: validate, allocate, dispatch to the compiled kernels.

Conventions (see "Conventions", docs/conventions.md in the documentation):
images are channels-last ``(N, H, W, C)``,
kernels ``(KH, KW, C_in, C_out)``, convolution is cross-correlation, stride,
dilation and pool sizes are an int or a ``(rows, cols)`` pair, SAME padding
follows TensorFlow (the odd extra row/column at the bottom/right).

The dtype rule: results have the dtype of the data input (``x``, also for
the backward functions; ``logits``; ``moving_mean`` for
update_moving_stats), float32 or float64, integers becoming float64; every
other array argument (kernel, bias, gamma, beta, statistics, w, b, dy) is
cast to it; any other dtype is a TypeError naming the argument.  Inputs are
never modified (but an ``out`` array passed to relu or relu_backward); every
function returns new arrays.
"""
import sys
import threading

import numpy as np

from . import _batchnorm, _conv, _elementwise, _isa, _pool
from ._checks import (_fail, as_array, as_float_array, as_int, as_pair, as_real, axis_output,
                      axis_padding, check_ndim, check_shape, contiguous, conv_layout_hint,
                      nchw_hint, nchw_sentence, padding_spec, warn_if_nchw, window_geometry)
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
    """Return the output length of a convolution along one axis.

    The geometry of one spatial axis as :func:`conv2d` computes it (and
    :func:`max_pool2d`, with the pool size as ``kernel_size``).  With the dilated
    kernel extent ``e = (kernel_size - 1) * dilation + 1``:

    - ``"valid"``: ``floor((size - e) / stride) + 1``;
    - ``"same"``: ``ceil(size / stride)``, TensorFlow's rule, whatever the kernel;
    - explicit padding (an int ``p`` or a ``(before, after)`` pair): the VALID
      formula on the padded length ``size + before + after``.

    Parameters
    ----------
    size : int
        Length of the input along the axis (``H`` or ``W``), ``>= 0``.
    kernel_size : int
        Length of the kernel (or pooling window) along the axis, ``>= 1``.
    stride : int, default 1
        Step between windows, ``>= 1``.  One axis: an int, not a pair.
    padding : {"valid", "same"}, int or tuple of two int, default "valid"
        ``"valid"`` or ``"same"`` (any case); an int ``p`` (``p`` zeros on both
        sides) or a ``(before, after)`` pair of non-negative ints.
    dilation : int, default 1
        Spacing of the kernel taps, ``>= 1`` (``1``: an ordinary kernel).

    Returns
    -------
    int
        The number of output positions along the axis, ``>= 1``.

    Raises
    ------
    TypeError
        If ``size``, ``kernel_size``, ``stride``, ``dilation`` or a padding amount
        is not an int (bools are refused too).
    ValueError
        If ``size`` is negative; ``kernel_size``, ``stride`` or ``dilation`` is
        below 1; ``padding`` is an unknown string, negative or not an int or a
        pair; or the dilated kernel is longer than the padded input.

    See Also
    --------
    conv_padding : The (before, after) padding of the same axis.
    conv2d : The convolution whose geometry this is.

    Examples
    --------
    >>> import cnncore
    >>> cnncore.conv_output_size(224, 3, stride=2, padding="same")   # ceil(224 / 2)
    112
    >>> cnncore.conv_output_size(224, 3, stride=2)                   # floor(221 / 2) + 1
    111
    >>> cnncore.conv_output_size(7, 3, padding=(1, 0), dilation=2)   # extent 5 in 7 + 1
    4
    """
    return _axis_geometry("conv_output_size", size, kernel_size, stride, padding, dilation)[2]


def conv_padding(size, kernel_size, stride=1, padding="valid", dilation=1):
    """Return the (before, after) zero padding of a convolution along one axis.

    VALID pads nothing and explicit padding is returned as a pair.  SAME follows
    TensorFlow exactly::

        out    = ceil(size / stride)
        total  = max((out - 1) * stride + (kernel_size - 1) * dilation + 1 - size, 0)
        before = total // 2
        after  = total - before

    so when ``total`` is odd the extra row or column goes after: at the bottom
    or on the right (PyTorch's ``padding="same"`` puts it there too).

    Parameters
    ----------
    size : int
        Length of the input along the axis (``H`` or ``W``), ``>= 0``.
    kernel_size : int
        Length of the kernel (or pooling window) along the axis, ``>= 1``.
    stride : int, default 1
        Step between windows, ``>= 1``.  One axis: an int, not a pair.
    padding : {"valid", "same"}, int or tuple of two int, default "valid"
        ``"valid"`` or ``"same"`` (any case); an int ``p`` (``p`` zeros on both
        sides) or a ``(before, after)`` pair of non-negative ints.
    dilation : int, default 1
        Spacing of the kernel taps, ``>= 1`` (``1``: an ordinary kernel).

    Returns
    -------
    before : int
        Zeros before the first element: rows at the top, columns on the left.
    after : int
        Zeros after the last element: rows at the bottom, columns on the right.

    Raises
    ------
    TypeError
        If ``size``, ``kernel_size``, ``stride``, ``dilation`` or a padding amount
        is not an int (bools are refused too).
    ValueError
        If ``size`` is negative; ``kernel_size``, ``stride`` or ``dilation`` is
        below 1; ``padding`` is an unknown string, negative or not an int or a
        pair; or the dilated kernel is longer than the padded input.

    See Also
    --------
    conv_output_size : The output length of the same axis.
    conv2d : The convolution that pads this way.

    Examples
    --------
    >>> import cnncore
    >>> cnncore.conv_padding(5, 3, padding="same")
    (1, 1)
    >>> cnncore.conv_padding(4, 3, stride=2, padding="same")   # total 1: the odd one after
    (0, 1)
    >>> cnncore.conv_padding(5, 3, padding=2)
    (2, 2)
    """
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


def _matmul(a, b, out):
    """out = a @ b (a and b C- or Fortran-ordered, out C-contiguous), on cnncore's own
    OpenMP threads, BLAS single-threaded in each: BLAS's thread pool would fight the
    OpenMP one for the cores (docs/design.md, Threads)."""
    a, b = (t if t.flags.c_contiguous or t.flags.f_contiguous else np.ascontiguousarray(t)
            for t in (a, b))
    m, k = a.shape
    if out.size and k == 0:
        out.fill(0)
    elif out.size:
        with blas_threads(1):
            _conv.matmul(a, b, out, _threads_for(m * k * b.shape[1], max(out.shape)))
    return out


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
# buffer of its size or larger (NumPy points a view's base at the array owning
# the memory), so the buffer's reference count says whether any of them is
# still alive.

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
        # the smallest free buffer that is large enough: a step's arrays of one size
        # take those another size left, so the pool stays nearer the step's peak
        entry = next((e for size in sorted(pool) if size >= nbytes
                      for e in pool[size] if sys.getrefcount(e[0]) == _FREE_REFS), None)
        if entry is None:
            entry = [np.empty(nbytes + 64, dtype=np.uint8), clock]
            pool.setdefault(nbytes, []).append(entry)
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
# - float32: a register-blocked micro-kernel reading the input in place, its
#   padding as zeros it never stores (no column matrix), the fastest this CPU
#   has, capped by $CNNCORE_ISA (cnncore/_isa.py); on AVX-512, blocks of fewer
#   than AVX2_BELOW channels use the AVX2 one, whose narrower block wastes less
#   on padding columns;
MICROKERNEL = _isa.microkernel()
AVX2_BELOW = 32
DIRECT_MIN_CHANNELS = 16    # below, it reads a zero-padded copy (im2col rows with a
                            # column dilation): a tap's C values are too short a run
DK_CHUNK = 128              # pixels per step of its kernel gradient
SOURCE_BYTES = 16 << 20     # with fewer channels, its zero-padded (or im2col) copy of x:
                            # this much at a time, a few images, not the whole batch
STREAM_BYTES = 1 << 20      # an output of this size or more is stored past the caches: kept
                            # there, it would evict the weights and input in use
SMALL_WEIGHTS_BYTES = 1 << 20   # a kernel up to this size (half an L2): forward tasks make
                            # all the output channels of their pixels, else one block; each
                            # thread makes the kernel gradient of its own pixels
# Its forward's reduction goes in chunks of CHUNK_BYTES of packed weights, one staying
# in L1 while a tile's pixels pass it; 0: in one chunk, the weights streamed from L2.  On
# AMD's Zen 4 (512-bit FMAs in two halves) streaming kept up: the AVX-512 forward ran
# 8-12 % faster unchunked, the AVX2 one 1-5 % (SSE2 alike either way), while on Intel's
# AVX-512 bigger chunks ran slower (benchmarks/RESULTS.md).
_AMD = _conv.cpu_is_amd()
CHUNK_BYTES = {"avx512": 0 if _AMD else 32 << 10, "avx2": 0 if _AMD else 32 << 10,
               "portable": 32 << 10}
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
        _matmul(col, w2d, y2d)
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


def _direct_sources(x, KH, KW, OH, OW, stride, dilation, pt, pl, nthreads):
    """What the micro-kernels read: ``(images, src, taps, run, sh, sw, pt, pl)``.

    Each output pixel (b, i, j) reads runs of ``run`` contiguous values of
    ``src``, one per ``taps`` row ``(dh, dw)``, that many rows and columns past
    its receptive field's corner (i*sh - pt, j*sw - pl); runs outside ``src``
    read zeros.  Mostly ``src`` is ``x`` itself, all of it at once, and the
    zero padding is never made: a run is a kernel row (KW*C values) when no
    field reaches past x's columns, else one tap (C values).  With fewer than
    DIRECT_MIN_CHANNELS channels, taps of C values would be too short: ``src``
    is a zero-padded copy (runs of a kernel row) or, with a column dilation, an
    im2col matrix (one run per pixel), of SOURCE_BYTES' worth of images (at
    least one) at a time, the ``images`` slice of ``x``, so a big layer's
    batch is never copied whole.
    """
    N, H, W, C = x.shape
    (sh, sw), (dh, dw) = stride, dilation
    pr = max((OW - 1) * sw + (KW - 1) * dw + 1 - pl - W, 0)
    rows_inside = dw == 1 and pl == 0 and pr == 0
    kernel_rows = np.array([(m * dh, 0) for m in range(KH)], dtype=np.intp)
    if C >= DIRECT_MIN_CHANNELS or rows_inside:
        if rows_inside:
            taps, run = kernel_rows, KW * C
        else:
            taps = np.array([(m * dh, n * dw) for m in range(KH) for n in range(KW)], np.intp)
            run = C
        yield slice(None), x, taps, run, sh, sw, pt, pl
        return
    if dw > 1:
        image = (OH, OW, KH * KW * C)
        geometry = np.zeros((1, 2), np.intp), KH * KW * C, 1, 1, 0, 0

        def fill(xs, src):
            _conv.im2col(xs, src.reshape(-1, KH * KW * C), OH, OW, KH, KW, sh, sw, dh, dw,
                         pt, pl, nthreads)
    else:
        pb = max((OH - 1) * sh + (KH - 1) * dh + 1 - pt - H, 0)
        image = (pt + H + pb, pl + W + pr, C)
        geometry = kernel_rows, KW * C, sh, sw, 0, 0

        def fill(xs, src):
            _conv.pad_into(xs, src, pt, pl, nthreads)
    step = max(1, SOURCE_BYTES // (int(np.prod(image)) * x.itemsize))
    for b in range(0, N, step):
        xs = x[b:b + step]
        src = _scratch((xs.shape[0],) + image, x.dtype, "padded")
        fill(xs, src)
        yield (slice(b, b + step), src) + geometry


def _conv_direct(x, kernel, bias, y, stride, dilation, pt, pl, nthreads, flip, isa, relu):
    """float32 convolution on the micro-kernel ``isa`` (pt, pl >= 0), a few images at a time."""
    KH, KW = kernel.shape[:2]
    C, O = x.shape[3], y.shape[3]
    OH, OW = y.shape[1:3]
    cols = _conv.isa_block(isa)[1]
    K, nblocks = KH * KW * C, -(-O // cols)
    small = K * nblocks * cols * x.itemsize <= SMALL_WEIGHTS_BYTES
    kc = -(-CHUNK_BYTES[isa] // (cols * x.itemsize))      # reduction indices per chunk
    if small or flip:
        # packed once for all tasks: small weights, or the flipped kernel (a transpose)
        wsrc = np.empty((0, 0), x.dtype)
        wpack = _scratch((nblocks, K, cols), x.dtype, "packed")
        _conv.pack_weights(kernel, wpack, flip, nthreads)
        group = nblocks if small else 1
    else:
        # each task packs its block as it goes, into its thread's buffer
        wsrc = kernel.reshape(K, O)
        wpack = _scratch((nthreads, K, cols), x.dtype, "packed")
        group = 1
    for images, src, taps, run, sh, sw, top, left in _direct_sources(
            x, KH, KW, OH, OW, stride, dilation, pt, pl, nthreads):
        out = y[images]
        _conv.direct_forward(src, wsrc, wpack, bias, taps, out, run, sh, sw, top, left, relu,
                             out.nbytes >= STREAM_BYTES, isa, group, kc, nthreads)


def _conv_dkernel(x, dy, KH, KW, stride, dilation, pt, pl):
    """dK = col(x).T @ dy, as (KH, KW, C, O), and the bias gradient (dy's channel sums,
    float64): ``(dk, db)``."""
    N, H, W, C = x.shape
    _, OH, OW, O = dy.shape
    dtype = x.dtype
    K = KH * KW * C
    P = N * OH * OW
    if x.size == 0 or dy.size == 0:
        return np.zeros((KH, KW, C, O), dtype=dtype), _channel_sums(dy)
    nt = _threads_for(dy.size * K // 16)
    isa = _microkernel(dtype, O, pt, pl)
    if isa:
        cols = _conv.isa_block(isa)[1]
        # each call adds its images' share; a small dk gets a part per thread (their
        # share of the pixels), summed at the end
        nparts = nt if K * O * dtype.itemsize <= SMALL_WEIGHTS_BYTES else 1
        parts = _fresh((nparts, K, O), dtype, zero=True)
        db = np.zeros((nparts, O))      # summed from the kernel's copies of dy
        for images, src, taps, run, sh, sw, top, left in _direct_sources(
                x, KH, KW, OH, OW, stride, dilation, pt, pl, nt):
            dy2d = dy[images].reshape(-1, O)
            if O % cols:    # the kernel loads whole blocks of dy's channels
                padded = _scratch((dy2d.shape[0], -(-O // cols) * cols), dtype, "dy")
                padded[:, O:] = 0
                padded[:, :O] = dy2d
                dy2d = padded
            _conv.direct_dkernel(src, dy2d, taps, parts, db, OH, OW, run, sh, sw, top, left,
                                 DK_CHUNK, isa, nt)
        dk = parts[0] if nparts == 1 else parts.sum(axis=0)
        return dk.reshape(KH, KW, C, O), db.sum(axis=0)
    if P * K * dtype.itemsize <= BIG_GEMM_BYTES:
        col = _scratch((P, K), dtype)
        _conv.im2col(x, col, OH, OW, KH, KW, stride[0], stride[1],
                     dilation[0], dilation[1], pt, pl, nt)
        dk = _matmul(col.T, dy.reshape(P, O), _fresh((K, O), dtype))
    else:
        tile = _tile_rows(P, K, dtype.itemsize, nt)
        work = _scratch((nt, tile * K), dtype)
        parts = np.zeros((nt, K, O), dtype=dtype)
        with blas_threads(1):
            _conv.dkernel_tiled(x, dy, parts, work, KH, KW, stride[0], stride[1],
                                dilation[0], dilation[1], pt, pl, tile, nt)
        dk = parts[0] if nt == 1 else parts.sum(axis=0)
    return dk.reshape(KH, KW, C, O), _channel_sums(dy)


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
              f"of `x` (C={x.shape[3]}){conv_layout_hint(x.shape, kernel.shape)}",
              f"x.shape={x.shape}, kernel.shape={kernel.shape}")
    stride = as_pair(stride, "stride", func)
    dilation = as_pair(dilation, "dilation", func)
    pads, out_hw = window_geometry(func, x.shape[1:3], kernel.shape[:2], stride, dilation, padding)
    return contiguous(x), contiguous(kernel), stride, dilation, pads, out_hw


def conv2d(x, kernel, bias=None, stride=1, padding="valid", dilation=1, *, relu=False):
    """Correlate channels-last images with a bank of filters (a 2-D convolution).

    Cross-correlation, as in Keras and PyTorch (the kernel is not flipped)::

        y[b, i, j, o] = sum_{m,n,c} xpad[b, i*sh + m*dh, j*sw + n*dw, c] * kernel[m, n, c, o]
                        + bias[o]

    where ``xpad`` is ``x`` zero-padded by ``padding``, ``(sh, sw)`` the stride and
    ``(dh, dw)`` the dilation.  Along each spatial axis of length ``size``, with
    the dilated kernel extent ``e = (k - 1) * d + 1`` and stride ``s``:

    - ``"valid"``: no padding, ``out = floor((size - e) / s) + 1``;
    - ``"same"``: TensorFlow's rule, ``out = ceil(size / s)``,
      ``total = max((out - 1) * s + e - size, 0)``, ``before = total // 2`` (top,
      left) and ``after = total - before`` (bottom, right: an odd row or column
      of padding goes there);
    - explicit padding: those zeros, then the VALID formula on the padded size.

    Parameters
    ----------
    x : array_like, shape (N, H, W, C)
        Input images, channels-last.  float32, float64 or integers (read as
        float64); any memory layout; never modified.
    kernel : array_like, shape (KH, KW, C, C_out)
        Filters in Keras' layout, ``kernel[m, n, c, o]``; ``C`` must be the
        channels of ``x``.  Cast to the dtype of ``x``.
    bias : array_like, shape (C_out,), optional
        Added to each output channel; None (the default) adds nothing.  Cast to
        the dtype of ``x``.
    stride : int or tuple of two int, default 1
        Step of the window: one int for both axes or ``(rows, cols)``, each
        ``>= 1``.
    padding : {"valid", "same"}, int or tuple, default "valid"
        ``"valid"`` (no padding) or ``"same"`` (any case); an int ``p`` (``p`` zeros on all
        four sides); a pair ``(ph, pw)`` (``ph`` rows above and below, ``pw`` columns left and
        right); or ``((top, bottom), (left, right))``.  Amounts are non-negative ints.
    dilation : int or tuple of two int, default 1
        Spacing of the kernel taps: one int or ``(rows, cols)``, each ``>= 1``.
    relu : bool, default False
        Keyword-only.  Return ``max(y, 0)`` instead of ``y``, applied as the
        result is stored where the kernel can (one pass, no second array).

    Returns
    -------
    ndarray, shape (N, OH, OW, C_out)
        A new C-contiguous array in the dtype of ``x`` (float64 for integer
        ``x``); ``OH`` and ``OW`` as :func:`conv_output_size` gives them.  An empty
        batch (``N = 0``) gives an empty array of that shape.

    Raises
    ------
    TypeError
        If ``x``, ``kernel`` or ``bias`` is not a float32, float64 or integer
        array (complex, bool, object, strings, float16: the message names the
        argument), or a stride, dilation or padding amount is not an int.
    ValueError
        If ``x`` or ``kernel`` is not 4-D; the kernel has no rows or columns; its
        input channels differ from the channels of ``x`` (the message says so
        when the shapes fit NCHW images or a PyTorch kernel); ``bias`` is not of
        shape ``(C_out,)``; a stride or dilation is below 1 or neither an int nor
        a pair; ``padding`` is an unknown string, negative or malformed; or the
        dilated kernel is larger than the padded input.

    See Also
    --------
    conv2d_backward : The gradients of this convolution.
    conv_output_size : The output length along one axis.
    conv_padding : The padding on each side of one axis.
    relu : The rectifier ``relu=True`` applies.

    Notes
    -----
    The dtype rule: the result has the dtype of ``x``: float32 stays float32,
    float64 stays float64, integers become float64.  ``kernel`` and ``bias`` are
    cast to that dtype, so a float64 kernel on float32 images computes in
    float32, as a Keras layer computes in its own dtype.

    PyTorch's ``Conv2d.weight`` of shape ``(C_out, C, KH, KW)`` is
    ``kernel.transpose(3, 2, 0, 1)``, and ``kernel = weight.transpose(2, 3, 1, 0)``;
    PyTorch's images ``(N, C, H, W)`` are ``x.transpose(0, 3, 1, 2)``.

    float32 convolutions run on a register-blocked SIMD micro-kernel chosen for
    the CPU at import (capped by the ``CNNCORE_ISA`` environment variable),
    float64 ones on im2col and BLAS matrix products; :func:`show_config` prints
    which.  Both use :func:`get_num_threads` threads.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)          # one 4x4 image, one channel
    >>> k = np.ones((2, 2, 1, 1))                        # a 2x2 window sum
    >>> y = cnncore.conv2d(x, k, bias=[0.5])
    >>> y.shape
    (1, 3, 3, 1)
    >>> print(y[0, :, :, 0])
    [[10.5 14.5 18.5]
     [26.5 30.5 34.5]
     [42.5 46.5 50.5]]

    SAME padding with stride 2; the float64 kernel is cast to the images' float32:

    >>> x = np.ones((2, 5, 5, 3), dtype=np.float32)
    >>> k = np.ones((3, 3, 3, 8))
    >>> y = cnncore.conv2d(x, k, stride=2, padding="same")
    >>> y.shape, y.dtype
    ((2, 3, 3, 8), dtype('float32'))
    >>> print(y[0, :, :, 0])                             # fewer real cells at the borders
    [[12. 18. 12.]
     [18. 27. 18.]
     [12. 18. 12.]]
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
    """Compute the gradients of :func:`conv2d` with respect to its input, kernel and bias.

    Given ``dy``, the gradient of a loss with respect to
    ``y = conv2d(x, kernel, bias, stride, padding, dilation)``, with ``xpad``,
    ``(sh, sw)`` and ``(dh, dw)`` as in :func:`conv2d` and ``top``, ``left`` the
    padding before the first row and column::

        dkernel[m, n, c, o] = sum_{b,i,j} xpad[b, i*sh + m*dh, j*sw + n*dw, c] * dy[b, i, j, o]
        dbias[o]            = sum_{b,i,j} dy[b, i, j, o]
        dx[b, h, w, c]      = sum of dy[b, i, j, o] * kernel[m, n, c, o] over the (i, j, m, n, o)
                              with i*sh + m*dh - top = h and j*sw + n*dw - left = w

    The bias is not an argument: ``y`` is linear in it, so its gradient does not
    depend on it.

    Parameters
    ----------
    dy : array_like, shape (N, OH, OW, C_out)
        Gradient of the loss with respect to the output of :func:`conv2d`, of
        that output's shape.  Cast to the dtype of ``x``.
    x : array_like, shape (N, H, W, C)
        The images of the forward call.  float32, float64 or integers (read as
        float64).
    kernel : array_like, shape (KH, KW, C, C_out)
        The kernel of the forward call.  Cast to the dtype of ``x``.
    stride : int or tuple of two int, default 1
        The stride of the forward call: one int or ``(rows, cols)``, each ``>= 1``.
    padding : {"valid", "same"}, int or tuple, default "valid"
        ``"valid"`` (no padding) or ``"same"`` (any case); an int ``p`` (``p`` zeros on all
        four sides); a pair ``(ph, pw)`` (``ph`` rows above and below, ``pw`` columns left and
        right); or ``((top, bottom), (left, right))``.  Amounts are non-negative ints.
    dilation : int or tuple of two int, default 1
        The dilation of the forward call: one int or ``(rows, cols)``, each ``>= 1``.
    input_grad : bool, default True
        Keyword-only.  False skips ``dx`` (about half of the work) and returns
        None in its place: for a network's first layer, whose input needs no
        gradient.

    Returns
    -------
    dx : ndarray, shape (N, H, W, C), or None
        Gradient with respect to ``x``; None when ``input_grad`` is False.
    dkernel : ndarray, shape (KH, KW, C, C_out)
        Gradient with respect to ``kernel``.
    dbias : ndarray, shape (C_out,)
        Gradient with respect to the bias: ``dy`` summed over every axis but the
        last (accumulated in float64).  Returned whether or not the forward call
        had a bias; ignore it when it had none.

    Raises
    ------
    TypeError
        If ``dy``, ``x`` or ``kernel`` is not a float32, float64 or integer array
        (the message names the argument), or a stride, dilation or padding
        amount is not an int.
    ValueError
        If the arguments of the forward call are invalid (see :func:`conv2d`), or
        ``dy`` does not have the shape of that call's output.

    See Also
    --------
    conv2d : The forward convolution.
    relu_backward : The gradient to apply first after ``conv2d(..., relu=True)``.

    Notes
    -----
    Every result has the dtype of ``x`` (float32 stays float32, float64 stays
    float64, integers become float64); ``dy`` and ``kernel`` are cast to it.

    This is the gradient of the linear convolution: after
    ``y = conv2d(..., relu=True)``, pass ``relu_backward(dy, y)`` as ``dy``.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> k = np.ones((2, 2, 1, 1))
    >>> dy = np.ones((1, 3, 3, 1))                       # the loss is y.sum()
    >>> dx, dk, db = cnncore.conv2d_backward(dy, x, k)
    >>> print(dx[0, :, :, 0])                            # windows covering each pixel
    [[1. 2. 2. 1.]
     [2. 4. 4. 2.]
     [2. 4. 4. 2.]
     [1. 2. 2. 1.]]
    >>> print(dk[:, :, 0, 0])                            # sums of the 3x3 corners of x
    [[45. 54.]
     [81. 90.]]
    >>> print(db)
    [9.]
    >>> cnncore.conv2d_backward(dy, x, k, input_grad=False)[0] is None
    True
    """
    func = "conv2d_backward"
    x, kernel, stride, dilation, pads, (OH, OW) = _conv_args(
        func, x, kernel, stride, padding, dilation)
    dy = as_float_array(dy, "dy", func, dtype=x.dtype)
    expected = (x.shape[0], OH, OW, kernel.shape[3])
    check_shape(dy, expected, "dy", func, "the output of conv2d",
                nchw_hint(dy.shape, "dy", expected=expected))
    dy = contiguous(dy)
    KH, KW = kernel.shape[:2]
    pt, pl = pads[0][0], pads[1][0]
    dkernel, dbias = _conv_dkernel(x, dy, KH, KW, stride, dilation, pt, pl)
    dx = _conv_dx(dy, kernel, x.shape, stride, dilation, pt, pl) if input_grad else None
    return dx, dkernel, dbias.astype(x.dtype)


# ---------------------------------------------------------------------------
# Max pooling


def _pool_args(func, x, pool_size, stride, padding):
    x = as_float_array(x, "x", func)
    check_ndim(x, 4, "x", func, "(N, H, W, C)")
    pool = as_pair(pool_size, "pool_size", func)
    stride = pool if stride is None else as_pair(stride, "stride", func)
    pads, out_hw = window_geometry(func, x.shape[1:3], pool, stride, (1, 1), padding,
                                   what="pool_size", hint=nchw_hint(x.shape))
    for (before, after), k in zip(pads, pool):
        if before >= k or after >= k:
            _fail(func, "explicit `padding` must be smaller than `pool_size` (a window of "
                  "padding alone has no maximum)", f"padding={padding!r}, pool_size={pool_size!r}")
    return contiguous(x), pool, stride, pads, out_hw


def _pool_nchw_hint(dy_shape, x_shape, pool, stride, padding):
    """The NCHW hint when ``dy`` is the output of pooling ``x`` read as NCHW: x and dy both
    NCHW (a dy that does not fit channels-last is an error anyway)."""
    if len(dy_shape) != 4 or dy_shape[:2] != x_shape[:2]:
        return ""
    try:
        _, out_hw = window_geometry("", x_shape[2:], pool, stride, (1, 1), padding)
    except ValueError:
        return ""
    return nchw_sentence("x", "dy") if tuple(dy_shape[2:]) == out_hw else ""


def _window_cells(pool, nthreads):
    """Scratch for the pooling kernels: each thread's list of a window's cells."""
    return np.empty((nthreads, pool[0] * pool[1]), np.intp)


def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
    """Take the maximum of each window of channels-last images (max pooling).

    With pool size ``(ph, pw)`` and stride ``(sh, sw)``::

        y[b, i, j, c] = max over m < ph, n < pw of xpad[b, i*sh + m, j*sw + n, c]

    The stride defaults to the pool size (windows side by side, as in Keras).
    Output sizes follow :func:`conv2d`'s rules with the pool as the kernel
    (:func:`conv_output_size` with the pool size as ``kernel_size``).  Padded
    cells never win: they count as -inf, not 0, so a window over padding takes
    the maximum of its real cells, as in TensorFlow.

    Parameters
    ----------
    x : array_like, shape (N, H, W, C)
        Input images, channels-last.  float32, float64 or integers (read as
        float64); any memory layout; never modified.
    pool_size : int or tuple of two int, default 2
        Window size: one int for both axes or ``(rows, cols)``, each ``>= 1``.
    stride : int, tuple of two int or None, default None
        Step of the window, as ``pool_size``; None: equal to ``pool_size``.
    padding : {"valid", "same"}, int or tuple, default "valid"
        As in :func:`conv2d`: ``"valid"``, ``"same"`` (any case), an int, a pair
        ``(ph, pw)`` or ``((top, bottom), (left, right))``.  Explicit amounts
        must be smaller than the pool size along their axis (a window of padding
        alone has no maximum).

    Returns
    -------
    ndarray, shape (N, OH, OW, C)
        A new C-contiguous array in the dtype of ``x`` (float64 for integer
        ``x``).

    Raises
    ------
    TypeError
        If ``x`` is not a float32, float64 or integer array, or a pool size,
        stride or padding amount is not an int.
    ValueError
        If ``x`` is not 4-D; a pool size or stride is below 1 or neither an int
        nor a pair; ``padding`` is an unknown string, negative, malformed or, for
        an explicit amount, not smaller than the pool size; or the window is
        larger than the padded input.

    Warns
    -----
    UserWarning
        When ``x`` looks like NCHW images (1 or 3 on axis 1 and a square of at
        least 8x8 after it).  The pooling still runs, reading ``x`` as
        channels-last.

    See Also
    --------
    max_pool2d_backward : The gradient of this pooling.
    conv_output_size : The output length along one axis.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> print(cnncore.max_pool2d(x)[0, :, :, 0])         # 2x2 windows, stride 2
    [[ 5.  7.]
     [13. 15.]]
    >>> x = -np.ones((1, 3, 3, 1))
    >>> y = cnncore.max_pool2d(x, 2, padding="same")     # one row and column of padding
    >>> print(y[0, :, :, 0])                             # the padding is -inf, not 0
    [[-1. -1.]
     [-1. -1.]]
    """
    x, pool, stride, pads, (OH, OW) = _pool_args("max_pool2d", x, pool_size, stride, padding)
    # NCHW images run (they are valid channels-last input too) but are most likely a
    # mistake: a warning, not an error (see _checks.looks_nchw)
    warn_if_nchw(x.shape, "x", "max_pool2d")
    y = _fresh((x.shape[0], OH, OW, x.shape[3]), x.dtype)
    if y.size and not x.size:       # padding around an image of no rows or columns
        y.fill(-np.inf)
    elif y.size:
        nthreads = _threads_for(y.size * pool[0] * pool[1])
        _pool.max_pool_forward(x, y, _window_cells(pool, nthreads), pool[0], pool[1], stride[0],
                               stride[1], pads[0][0], pads[1][0], nthreads)
    return y


def max_pool2d_backward(dy, x, pool_size=2, stride=None, padding="valid"):
    """Compute the gradient of :func:`max_pool2d` with respect to its input.

    Each window's gradient ``dy[b, i, j, c]`` goes to the cell that won its
    maximum: the first maximal cell in row-major window order when several
    tie.  Where windows overlap (a stride smaller than the pool size) a cell
    receives the sum of the windows it won; every other cell gets 0.

    Parameters
    ----------
    dy : array_like, shape (N, OH, OW, C)
        Gradient of the loss with respect to the output of :func:`max_pool2d`,
        of that output's shape.  Cast to the dtype of ``x``.
    x : array_like, shape (N, H, W, C)
        The images of the forward call.  float32, float64 or integers (read as
        float64).
    pool_size : int or tuple of two int, default 2
        The pool size of the forward call.
    stride : int, tuple of two int or None, default None
        The stride of the forward call; None: equal to ``pool_size``.
    padding : {"valid", "same"}, int or tuple, default "valid"
        The padding of the forward call (see :func:`max_pool2d`).

    Returns
    -------
    ndarray, shape (N, H, W, C)
        The gradient with respect to ``x``, a new array in the dtype of ``x``
        (float64 for integer ``x``).

    Raises
    ------
    TypeError
        If ``dy`` or ``x`` is not a float32, float64 or integer array (the
        message names the argument), or a pool size, stride or padding amount is
        not an int.
    ValueError
        If the arguments of the forward call are invalid (see
        :func:`max_pool2d`), or ``dy`` does not have the shape of that call's
        output.

    See Also
    --------
    max_pool2d : The forward pooling.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    >>> dy = np.full((1, 1, 1, 1), 10.0)
    >>> dx = cnncore.max_pool2d_backward(dy, x)
    >>> print(dx[0, :, :, 0])                            # the first of the two 3s
    [[ 0. 10.]
     [ 0.  0.]]
    """
    func = "max_pool2d_backward"
    x, pool, stride, pads, (OH, OW) = _pool_args(func, x, pool_size, stride, padding)
    dy = as_float_array(dy, "dy", func, dtype=x.dtype)
    expected = (x.shape[0], OH, OW, x.shape[3])
    if dy.shape != expected:
        check_shape(dy, expected, "dy", func, "the output of max_pool2d",
                    nchw_hint(dy.shape, "dy", expected=expected)
                    or _pool_nchw_hint(dy.shape, x.shape, pool, stride, padding))
    dx = _fresh(x.shape, x.dtype, zero=True)
    if dy.size and x.size:
        nthreads = _threads_for(dy.size * pool[0] * pool[1])
        _pool.max_pool_backward(contiguous(dy), x, dx, _window_cells(pool, nthreads), pool[0],
                                pool[1], stride[0], stride[1], pads[0][0], pads[1][0], nthreads)
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
    hint = nchw_hint(x.shape, channels=arr.shape[0]) if arr.ndim == 1 else ""
    check_shape(arr, (x.shape[-1],), name, func, "one value per channel, the last axis of x", hint)
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


def batch_norm_train(x, gamma, beta, eps=1e-3, *, relu=False):
    """Normalize a batch with its own statistics (batch normalization in training).

    The statistics run over every axis but the last: over the batch for dense
    input ``(N, F)``, over batch and positions for convolutional input
    ``(N, H, W, C)``.  For each channel ``c``, over its ``m`` values::

        mean[c]   = x[..., c].mean()
        var[c]    = ((x[..., c] - mean[c]) ** 2).mean()        # biased: 1/m
        y[..., c] = (x[..., c] - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]

    The sums behind the statistics are taken over blocks of 64 values per
    channel in the dtype of ``x`` and added into float64 totals.  ``y`` is
    computed from ``mean`` and ``var`` as returned, so it is, bit for bit,
    ``batch_norm_infer(x, gamma, beta, mean, var, eps)``.

    Parameters
    ----------
    x : array_like, shape (N, F) or (N, H, W, C)
        Dense or convolutional input, or any array of two or more axes: the last
        axis holds the channels.  float32, float64 or integers (read as
        float64).
    gamma : array_like, shape (C,)
        Scale per channel.  Cast to the dtype of ``x``.
    beta : array_like, shape (C,)
        Offset per channel.  Cast to the dtype of ``x``.
    eps : float, default 1e-3
        Added to the variance, ``>= 0`` (Keras' default; PyTorch's is 1e-5).
    relu : bool, default False
        Rectify ``y`` as it is written, ``relu(y)`` without a second pass (for a
        ReLU right after the normalization).

    Returns
    -------
    y : ndarray, shape of x
        The normalized batch (rectified with ``relu``).
    mean : ndarray, shape (C,)
        The batch mean per channel.
    var : ndarray, shape (C,)
        The biased (1/m) batch variance per channel.  ``mean`` and ``var`` are
        what :func:`batch_norm_backward` and :func:`update_moving_stats` take.
        All three are new arrays in the dtype of ``x``; for an empty batch, ``y``
        is empty and ``mean`` and ``var`` are NaN.

    Raises
    ------
    TypeError
        If ``x``, ``gamma`` or ``beta`` is not a float32, float64 or integer
        array (the message names the argument), or ``eps`` is not a real number.
    ValueError
        If ``x`` has fewer than two axes, ``gamma`` or ``beta`` is not of shape
        ``(C,)``, or ``eps`` is negative or NaN.

    See Also
    --------
    batch_norm_backward : The gradients of this normalization.
    batch_norm_infer : Normalization with the moving averages.
    update_moving_stats : Fold ``mean`` and ``var`` into the moving averages.

    Notes
    -----
    The dtype rule: every result has the dtype of ``x`` (float32 stays float32,
    float64 stays float64, integers become float64); ``gamma`` and ``beta`` are
    cast to it.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> x = np.array([[1.0, 2.0], [3.0, 6.0]])           # 2 samples, 2 features
    >>> y, mean, var = cnncore.batch_norm_train(x, np.ones(2), np.zeros(2), eps=0.0)
    >>> print(y)
    [[-1. -1.]
     [ 1.  1.]]
    >>> print(mean, var)
    [2. 4.] [1. 4.]

    Convolutional input: one mean and variance per channel, over ``N, H, W``:

    >>> x = np.ones((8, 5, 5, 3), dtype=np.float32)
    >>> y, mean, var = cnncore.batch_norm_train(x, np.ones(3), np.zeros(3))
    >>> y.shape, mean.shape, mean.dtype
    ((8, 5, 5, 3), (3,), dtype('float32'))
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
    mean, var = mean.astype(x.dtype), var.astype(x.dtype)
    return _bn_apply(x, mean, var, gamma, beta, eps, relu), mean, var


def _bn_apply(x, mean, var, gamma, beta, eps, relu):
    """y = (x - mean) * gamma / sqrt(var + eps) + beta (scale in float64), rectified with relu.

    batch_norm_train's and batch_norm_infer's output from their checked arguments
    (x contiguous) and the statistics they used; layers call it to recompute one."""
    x2d = x.reshape(-1, x.shape[-1])
    dtype = x2d.dtype
    scale = np.asarray(gamma, dtype=np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
    y = _fresh(x2d.shape, x2d.dtype)
    if x2d.size:
        _batchnorm.normalize(x2d, np.ascontiguousarray(mean, dtype=dtype), scale.astype(dtype),
                             np.ascontiguousarray(beta, dtype=dtype), y, bool(relu),
                             _threads_for(x2d.size, x2d.shape[0]))
    return y.reshape(x.shape)


def batch_norm_infer(x, gamma, beta, moving_mean, moving_var, eps=1e-3, *, relu=False):
    """Normalize with fixed statistics: the moving averages gathered in training.

    Batch normalization at inference (Keras' ``training=False``), a fixed affine
    map per channel ``c``::

        y[..., c] = (x[..., c] - moving_mean[c]) / sqrt(moving_var[c] + eps) * gamma[c] + beta[c]

    Parameters
    ----------
    x : array_like, shape (N, F) or (N, H, W, C)
        Dense or convolutional input, or any array of two or more axes: the last
        axis holds the channels.  float32, float64 or integers (read as
        float64).
    gamma : array_like, shape (C,)
        Scale per channel.  Cast to the dtype of ``x``.
    beta : array_like, shape (C,)
        Offset per channel.  Cast to the dtype of ``x``.
    moving_mean : array_like, shape (C,)
        Mean per channel (see :func:`update_moving_stats`).  Cast to the dtype of
        ``x``.
    moving_var : array_like, shape (C,)
        Variance per channel; ``moving_var + eps`` must be positive.
    eps : float, default 1e-3
        Added to the variance, ``>= 0``; the value used in training.
    relu : bool, default False
        Rectify the result as it is written, ``relu(y)`` without a second pass.

    Returns
    -------
    ndarray, shape of x
        The normalized input (rectified with ``relu``), a new array in the dtype
        of ``x`` (float64 for integer ``x``).

    Raises
    ------
    TypeError
        If an array argument is not a float32, float64 or integer array (the
        message names it), or ``eps`` is not a real number.
    ValueError
        If ``x`` has fewer than two axes, a parameter is not of shape ``(C,)``,
        ``eps`` is negative or NaN, or ``moving_var + eps`` is not positive.

    See Also
    --------
    batch_norm_train : Normalization with the batch's statistics.
    update_moving_stats : How the moving averages are gathered.

    Notes
    -----
    The dtype rule: the result has the dtype of ``x`` (float32 stays float32,
    float64 stays float64, integers become float64); the parameters are cast to
    it.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> x = np.array([[1.0, 2.0], [3.0, 6.0]])
    >>> y = cnncore.batch_norm_infer(x, np.ones(2), np.zeros(2), moving_mean=np.array([1.0, 2.0]),
    ...                              moving_var=np.array([4.0, 16.0]), eps=0.0)
    >>> print(y)
    [[0. 0.]
     [1. 1.]]
    """
    func = "batch_norm_infer"
    x = _bn_input(func, x)
    gamma = _bn_param(func, gamma, "gamma", x)
    beta = _bn_param(func, beta, "beta", x)
    moving_mean = _bn_param(func, moving_mean, "moving_mean", x)
    eps = _check_eps(func, eps)
    moving_var = _bn_variance(func, moving_var, "moving_var", x, eps)
    return _bn_apply(x, moving_mean, moving_var, gamma, beta, eps, relu)


def batch_norm_backward(dy, x, gamma, mean, var, eps=1e-3):
    """Compute the gradients of :func:`batch_norm_train` with respect to x, gamma and beta.

    With ``m`` the number of values per channel (the product of all axes but
    the last) and ``xhat = (x - mean) / sqrt(var + eps)``, per channel::

        dbeta  = sum of dy
        dgamma = sum of dy * xhat
        dx     = gamma / sqrt(var + eps) * (dy - dbeta / m - xhat * dgamma / m)

    This accounts for ``mean`` and ``var`` depending on ``x``: it is the
    gradient of the training normalization.  (With fixed statistics, as in
    :func:`batch_norm_infer`, the gradient with respect to ``x`` is
    ``gamma / sqrt(moving_var + eps) * dy``.)

    Parameters
    ----------
    dy : array_like, shape of x
        Gradient of the loss with respect to the output of
        :func:`batch_norm_train`.  Cast to the dtype of ``x``.
    x : array_like, shape (N, F) or (N, H, W, C)
        Dense or convolutional input, or any array of two or more axes: the last
        axis holds the channels.  float32, float64 or integers (read as
        float64).
    gamma : array_like, shape (C,)
        Scale per channel of the forward call.
    mean : array_like, shape (C,)
        The batch mean :func:`batch_norm_train` returned.
    var : array_like, shape (C,)
        The batch variance :func:`batch_norm_train` returned; ``var + eps`` must
        be positive.
    eps : float, default 1e-3
        The ``eps`` of the forward call, ``>= 0``.

    Returns
    -------
    dx : ndarray, shape of x
        Gradient with respect to ``x``.
    dgamma : ndarray, shape (C,)
        Gradient with respect to ``gamma``.
    dbeta : ndarray, shape (C,)
        Gradient with respect to ``beta``.  All three are new arrays in the
        dtype of ``x``; for an empty batch, ``dx`` is empty and ``dgamma`` and
        ``dbeta`` are zeros.

    Raises
    ------
    TypeError
        If an array argument is not a float32, float64 or integer array (the
        message names it), or ``eps`` is not a real number.
    ValueError
        If ``x`` has fewer than two axes, ``dy`` is not of the shape of ``x``, a
        parameter is not of shape ``(C,)``, ``eps`` is negative or NaN, or
        ``var + eps`` is not positive.

    See Also
    --------
    batch_norm_train : The forward normalization.

    Notes
    -----
    The dtype rule: every result has the dtype of ``x`` (float32 stays float32,
    float64 stays float64, integers become float64); ``dy`` and the parameters
    are cast to it.  The sums are taken over blocks of 64 values per channel in
    that dtype and added into float64 totals.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> x = np.array([[1.0], [2.0], [3.0]])              # 3 samples, 1 feature
    >>> gamma = np.ones(1)
    >>> y, mean, var = cnncore.batch_norm_train(x, gamma, np.zeros(1), eps=0.0)
    >>> dy = np.array([[1.0], [0.0], [0.0]])
    >>> dx, dgamma, dbeta = cnncore.batch_norm_backward(dy, x, gamma, mean, var, eps=0.0)
    >>> print(np.round(dx.ravel(), 4), np.round(dgamma, 4), dbeta)
    [ 0.2041 -0.4082  0.2041] [-1.2247] [1.]
    """
    func = "batch_norm_backward"
    x = _bn_input(func, x)
    dy = as_float_array(dy, "dy", func, dtype=x.dtype)
    check_shape(dy, x.shape, "dy", func, "the shape of x",
                nchw_hint(dy.shape, "dy", expected=x.shape))
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
    """Return the moving averages updated with one batch's statistics.

    Keras' rule, elementwise::

        new_moving_mean = momentum * moving_mean + (1 - momentum) * mean
        new_moving_var  = momentum * moving_var  + (1 - momentum) * var

    ``momentum=0.99`` keeps 99% of the old value.  PyTorch's ``momentum=0.1`` is
    ``momentum=0.9`` here, and PyTorch's running variance takes the unbiased
    batch variance, ``var * m / (m - 1)``.  The inputs are not modified.

    Parameters
    ----------
    moving_mean : array_like, shape (C,)
        The moving mean, 1-D.  Its dtype is the dtype of the results (integers:
        float64).
    moving_var : array_like, shape (C,)
        The moving variance.  Cast to the dtype of ``moving_mean``.
    mean : array_like, shape (C,)
        The batch mean (from :func:`batch_norm_train`).  Cast likewise.
    var : array_like, shape (C,)
        The batch variance (from :func:`batch_norm_train`).  Cast likewise.
    momentum : float, default 0.99
        Weight of the old value, in ``[0, 1]``.

    Returns
    -------
    moving_mean : ndarray, shape (C,)
        The new moving mean.
    moving_var : ndarray, shape (C,)
        The new moving variance.  Both are new arrays in the dtype of
        ``moving_mean``.

    Raises
    ------
    TypeError
        If an array argument is not a float32, float64 or integer array (the
        message names it), or ``momentum`` is not a real number.
    ValueError
        If ``moving_mean`` is not 1-D, another array is not of its shape, or
        ``momentum`` is outside ``[0, 1]``.

    See Also
    --------
    batch_norm_train : Gives the batch statistics.
    batch_norm_infer : Normalizes with the moving averages.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> mm, mv = cnncore.update_moving_stats(np.zeros(2), np.ones(2), mean=np.array([1.0, 2.0]),
    ...                                      var=np.array([4.0, 4.0]), momentum=0.9)
    >>> print(np.round(mm, 6), np.round(mv, 6))
    [0.1 0.2] [1.3 1.3]
    """
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
    """Apply a fully connected layer: ``x @ w + b``.

    ``y[n, o] = sum_f x[n, f] * w[f, o] + b[o]``, with ``w`` in Keras' layout
    ``(F_in, F_out)`` (PyTorch's ``Linear.weight`` is ``w.T``).  A BLAS matrix
    product on :func:`get_num_threads` threads.

    Parameters
    ----------
    x : array_like, shape (N, F_in)
        The input, 2-D (flatten images first: ``x.reshape(len(x), -1)`` gives
        Keras' channels-last order).  float32, float64 or integers (read as
        float64).
    w : array_like, shape (F_in, F_out)
        The weights.  Cast to the dtype of ``x``.
    b : array_like, shape (F_out,), optional
        The bias; None (the default) adds nothing.  Cast to the dtype of ``x``.

    Returns
    -------
    ndarray, shape (N, F_out)
        A new array in the dtype of ``x`` (float64 for integer ``x``).

    Raises
    ------
    TypeError
        If ``x``, ``w`` or ``b`` is not a float32, float64 or integer array (the
        message names the argument).
    ValueError
        If ``x`` or ``w`` is not 2-D, the rows of ``w`` differ from the features
        of ``x``, or ``b`` is not of shape ``(F_out,)``.

    See Also
    --------
    dense_backward : The gradients of this layer.

    Notes
    -----
    The dtype rule: the result has the dtype of ``x`` (float32 stays float32,
    float64 stays float64, integers become float64); ``w`` and ``b`` are cast
    to it.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> x = np.array([[1.0, 2.0, 3.0]])
    >>> w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> print(cnncore.dense(x, w, b=[10.0, 20.0]))
    [[14. 25.]]
    """
    x, w = _dense_args("dense", x, w)
    y = _matmul(x, w, _fresh((x.shape[0], w.shape[1]), x.dtype))
    if b is not None:
        b = as_float_array(b, "b", "dense", dtype=x.dtype)
        check_shape(b, (w.shape[1],), "b", "dense", "F_out of w")
        y += b
    return y


def dense_backward(dy, x, w):
    """Compute the gradients of :func:`dense` with respect to x, w and b.

    ``dx = dy @ w.T``, ``dw = x.T @ dy`` and ``db = dy.sum(axis=0)``.

    Parameters
    ----------
    dy : array_like, shape (N, F_out)
        Gradient of the loss with respect to the output of :func:`dense`.  Cast
        to the dtype of ``x``.
    x : array_like, shape (N, F_in)
        The input of the forward call.  float32, float64 or integers (read as
        float64).
    w : array_like, shape (F_in, F_out)
        The weights of the forward call.  Cast to the dtype of ``x``.

    Returns
    -------
    dx : ndarray, shape (N, F_in)
        Gradient with respect to ``x``.
    dw : ndarray, shape (F_in, F_out)
        Gradient with respect to ``w``.
    db : ndarray, shape (F_out,)
        Gradient with respect to the bias, returned whether or not the forward
        call had one.  All three are new arrays in the dtype of ``x``.

    Raises
    ------
    TypeError
        If ``dy``, ``x`` or ``w`` is not a float32, float64 or integer array
        (the message names the argument).
    ValueError
        If ``x`` or ``w`` is not 2-D, their ``F_in`` differ, or ``dy`` is not of
        shape ``(N, F_out)``.

    See Also
    --------
    dense : The forward layer.

    Notes
    -----
    The dtype rule: every result has the dtype of ``x`` (float32 stays float32,
    float64 stays float64, integers become float64); ``dy`` and ``w`` are cast
    to it.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> x = np.array([[1.0, 2.0, 3.0]])
    >>> w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> dx, dw, db = cnncore.dense_backward(np.array([[1.0, -1.0]]), x, w)
    >>> print(dx)
    [[ 1. -1.  0.]]
    >>> print(dw)
    [[ 1. -1.]
     [ 2. -2.]
     [ 3. -3.]]
    >>> print(db)
    [ 1. -1.]
    """
    func = "dense_backward"
    x, w = _dense_args(func, x, w)
    dy = as_float_array(dy, "dy", func, dtype=x.dtype)
    check_shape(dy, (x.shape[0], w.shape[1]), "dy", func, "the output of dense")
    dx = _matmul(dy, w.T, _fresh(x.shape, x.dtype))
    dw = _matmul(x.T, dy, _fresh(w.shape, x.dtype))
    return dx, dw, dy.sum(axis=0)


def relu(x, out=None):
    """Rectify elementwise: ``max(x, 0)``.

    Any shape; NaN stays NaN, as in ``np.maximum(x, 0)``.

    Parameters
    ----------
    x : array_like
        The input, any shape.  float32, float64 or integers (read as float64).
    out : ndarray, optional
        Where to write the result: a writeable C-contiguous array of the shape
        and dtype of ``x`` (float64 for integer ``x``); it may be ``x`` itself,
        for a ReLU in place.  None (the default): a new array.

    Returns
    -------
    ndarray
        ``out`` when given, a new array otherwise; the shape and dtype of ``x``
        (float64 for integer ``x``).

    Raises
    ------
    TypeError
        If ``x`` is not a float32, float64 or integer array.
    ValueError
        If ``out`` is not a writeable C-contiguous ndarray of the shape and
        dtype of ``x``.

    See Also
    --------
    relu_backward : The gradient of the rectifier.
    conv2d : ``relu=True`` rectifies as the convolution stores its result.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> print(cnncore.relu(np.array([-2.0, 0.0, 3.0])))
    [0. 0. 3.]
    >>> a = np.array([[-1.0, 2.0]], dtype=np.float32)
    >>> cnncore.relu(a, out=a) is a                      # in place
    True
    >>> print(a)
    [[0. 2.]]
    """
    x = contiguous(as_float_array(x, "x", "relu"))
    y = _elementwise_out(x, out, "relu")
    if x.size:
        _elementwise.relu_into(x.reshape(-1), y.reshape(-1), _threads_for(x.size))
    return y


def relu_backward(dy, x, out=None):
    """Compute the gradient of :func:`relu`: ``dy`` where ``x > 0``, else 0.

    The derivative at 0 is taken as 0 (as in Keras and PyTorch).

    Parameters
    ----------
    dy : array_like
        Gradient of the loss with respect to the output of :func:`relu`, of the
        shape of ``x``.  Cast to the dtype of ``x``.
    x : array_like
        The input of :func:`relu`, or its output (positive at the same places).
        float32, float64 or integers (read as float64).
    out : ndarray, optional
        Where to write the result, as in :func:`relu`; it may be ``dy`` itself
        when ``dy`` is C-contiguous in the dtype of ``x``.  None (the default): a
        new array.

    Returns
    -------
    ndarray
        ``out`` when given, a new array otherwise; the shape and dtype of ``x``
        (float64 for integer ``x``).

    Raises
    ------
    TypeError
        If ``dy`` or ``x`` is not a float32, float64 or integer array (the
        message names the argument).
    ValueError
        If ``dy`` is not of the shape of ``x``, or ``out`` is not a writeable
        C-contiguous ndarray of the shape and dtype of ``x``.

    See Also
    --------
    relu : The forward rectifier.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> x = np.array([-2.0, 0.0, 3.0])
    >>> print(cnncore.relu_backward(np.array([5.0, 5.0, 5.0]), x))
    [0. 0. 5.]
    """
    x = contiguous(as_float_array(x, "x", "relu_backward"))
    dy = as_float_array(dy, "dy", "relu_backward", dtype=x.dtype)
    check_shape(dy, x.shape, "dy", "relu_backward", "the shape of x",
                nchw_hint(dy.shape, "dy", expected=x.shape))
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
    """Compute the softmax along one axis: ``exp(x) / sum(exp(x))``.

    Computed stably, as ``exp(x - max) / sum(exp(x - max))`` along ``axis``, so
    large values do not overflow.  Each slice along ``axis`` sums to 1.

    Parameters
    ----------
    x : array_like
        The input, at least 1-D.  float32, float64 or integers (read as float64).
    axis : int, default -1
        The axis to normalize, in ``[-x.ndim, x.ndim)``.

    Returns
    -------
    ndarray
        A new array of the shape and dtype of ``x`` (float64 for integer ``x``).

    Raises
    ------
    TypeError
        If ``x`` is not a float32, float64 or integer array, or ``axis`` is not an
        int.
    ValueError
        If ``x`` is 0-D or ``axis`` is out of range.

    See Also
    --------
    softmax_cross_entropy : The softmax and the cross-entropy loss together.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> p = cnncore.softmax(np.array([[0.0, np.log(3.0)], [1000.0, 1000.0]]))
    >>> print(np.round(p, 6))
    [[0.25 0.75]
     [0.5  0.5 ]]
    """
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
    """Compute the mean cross-entropy of ``softmax(logits)`` against class ids, and its gradient.

    With ``p = softmax(logits, axis=1)``::

        loss    = -mean over n of log p[n, labels[n]]
        dlogits = (p - onehot(labels)) / N

    the gradient of the mean loss with respect to the logits.  The log-softmax
    is computed stably (no ``log(0)`` for confidently wrong predictions).

    Parameters
    ----------
    logits : array_like, shape (N, K)
        Unnormalized scores of ``K`` classes.  float32, float64 or integers
        (read as float64).
    labels : array_like of int, shape (N,)
        The class id of each row, in ``[0, K)``.

    Returns
    -------
    loss : float
        The mean cross-entropy, a Python float (averaged in float64); 0.0 for an
        empty batch.
    dlogits : ndarray, shape (N, K)
        Its gradient with respect to ``logits``, a new array in the dtype of
        ``logits`` (float64 for integer logits).

    Raises
    ------
    TypeError
        If ``logits`` is not a float32, float64 or integer array, or ``labels``
        is not an integer array.
    ValueError
        If ``logits`` is not 2-D, ``labels`` is not of shape ``(N,)``, or a label
        is outside ``[0, K)``.

    See Also
    --------
    softmax : The probabilities alone.

    Examples
    --------
    >>> import numpy as np
    >>> import cnncore
    >>> logits = np.array([[0.0, np.log(3.0)], [0.0, 0.0]])   # p = [.25, .75], [.5, .5]
    >>> loss, dlogits = cnncore.softmax_cross_entropy(logits, [1, 0])
    >>> round(loss, 6)                                   # -(log 0.75 + log 0.5) / 2
    0.490415
    >>> print(np.round(dlogits, 6))
    [[ 0.125 -0.125]
     [-0.25   0.25 ]]
    """
    func = "softmax_cross_entropy"
    logits = as_float_array(logits, "logits", func)
    check_ndim(logits, 2, "logits", func, "(N, num_classes)")
    N, K = logits.shape
    labels = as_array(labels, "labels", func)
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
