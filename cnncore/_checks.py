"""Argument validation shared by the functional API.

Everything a compiled kernel assumes is established here, in Python, before
any ``nogil`` code runs: dtypes, ranks, shapes, strides, paddings.  Error
messages name the argument and end with what was received, as Keras does.
"""
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _fail(func, msg, received, exc=ValueError):
    raise exc(f"{func}: {msg}. Received: {received}")


def as_real(value, name, func):
    """A real scalar argument (eps, momentum, ...) as a float; an error naming it otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray)):
        _fail(func, f"`{name}` must be a real number", f"{name}={value!r}", TypeError)
    try:
        return float(value)
    except (TypeError, ValueError):
        _fail(func, f"`{name}` must be a real number", f"{name}={value!r}", TypeError)


def as_float_array(a, name, func, dtype=None):
    """``a`` as a float32/float64 ndarray (integers become float64).

    With ``dtype`` given, the result is cast to it (used to bring kernels and
    parameters to the dtype of the main input).  Never modifies ``a``.
    """
    try:
        arr = np.asarray(a)
    except Exception as err:  # ragged lists and the like
        _fail(func, f"`{name}` must be an array of numbers", repr(err), TypeError)
    kind = arr.dtype.kind
    if kind in "iu":
        arr = arr.astype(np.float64)
    elif arr.dtype not in FLOAT_DTYPES:
        _fail(func, f"`{name}` must be float32, float64 or an integer array",
              f"{name}.dtype={arr.dtype}", TypeError)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


def contiguous(arr):
    """A C-contiguous array (copy only when needed)."""
    return np.ascontiguousarray(arr)


def check_ndim(arr, ndim, name, func, layout):
    if arr.ndim != ndim:
        _fail(func, f"`{name}` must be a {ndim}-D array {layout}",
              f"{name}.shape={arr.shape}")


def check_shape(arr, shape, name, func, what=""):
    if tuple(arr.shape) != tuple(shape):
        expect = f" ({what})" if what else ""
        _fail(func, f"`{name}` must have shape {tuple(shape)}{expect}",
              f"{name}.shape={tuple(arr.shape)}")


def as_int(value, name, func, minimum=None):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        _fail(func, f"`{name}` must be an integer", f"{name}={value!r}", TypeError)
    value = int(value)
    if minimum is not None and value < minimum:
        _fail(func, f"`{name}` must be >= {minimum}", f"{name}={value!r}")
    return value


def as_pair(value, name, func, minimum=1):
    """An int or a (rows, cols) pair as a tuple of two ints >= minimum."""
    if isinstance(value, (tuple, list, np.ndarray)):
        items = list(value)
        if len(items) != 2:
            _fail(func, f"`{name}` must be an int or a (rows, cols) pair", f"{name}={value!r}")
    else:
        items = [value, value]
    out = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            _fail(func, f"`{name}` must be an int or a (rows, cols) pair of ints",
                  f"{name}={value!r}", TypeError)
        if int(item) < minimum:
            _fail(func, f"`{name}` must be >= {minimum}", f"{name}={value!r}")
        out.append(int(item))
    return tuple(out)


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def padding_spec(padding, func, ndims=2):
    """Normalise ``padding`` to "valid", "same", or ndims (before, after) pairs.

    Accepted: "valid"/"same" (any case), an int, one int per axis, or one
    (before, after) pair per axis.  For ndims=1, an int or a (before, after)
    pair.
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("valid", "same"):
            _fail(func, "`padding` must be 'valid', 'same', an int, a pair or explicit pairs",
                  f"padding={padding!r}")
        return mode

    def nonneg(v):
        if not _is_int(v):
            _fail(func, "`padding` must be 'valid', 'same', an int, a pair or explicit pairs",
                  f"padding={padding!r}", TypeError)
        if v < 0:
            _fail(func, "`padding` must be non-negative", f"padding={padding!r}")
        return int(v)

    if _is_int(padding):
        p = nonneg(padding)
        return ((p, p),) * ndims
    if isinstance(padding, (tuple, list)):
        items = list(padding)
        if ndims == 1 and len(items) == 2 and all(_is_int(v) for v in items):
            return ((nonneg(items[0]), nonneg(items[1])),)
        if len(items) == ndims:
            if all(_is_int(v) for v in items):
                return tuple((nonneg(v), nonneg(v)) for v in items)
            if all(isinstance(v, (tuple, list)) and len(v) == 2 for v in items):
                return tuple((nonneg(v[0]), nonneg(v[1])) for v in items)
    _fail(func, "`padding` must be 'valid', 'same', an int, a pair or explicit pairs",
          f"padding={padding!r}")


def axis_padding(size, k, stride, dilation, mode_or_pair):
    """(before, after) padding of one axis for a normalised padding spec."""
    if mode_or_pair == "valid":
        return (0, 0)
    if mode_or_pair == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
        return (total // 2, total - total // 2)
    return mode_or_pair


def axis_output(size, k, stride, dilation, before, after):
    """Output length of one axis; may be <= 0 when the kernel does not fit."""
    return (size + before + after - (k - 1) * dilation - 1) // stride + 1


def window_geometry(func, in_hw, kernel_hw, stride, dilation, padding, what="kernel"):
    """Padding pairs and output size of a 2-D sliding window, validated.

    Returns ``((top, bottom), (left, right)), (out_h, out_w)``.  Raises
    ValueError when the (dilated) window is larger than the padded input.
    """
    spec = padding_spec(padding, func)
    pads, outs = [], []
    for axis in range(2):
        size, k, s, d = in_hw[axis], kernel_hw[axis], stride[axis], dilation[axis]
        before, after = axis_padding(size, k, s, d, spec if isinstance(spec, str) else spec[axis])
        extent = (k - 1) * d + 1
        if extent > size + before + after:
            axis_name = ("rows", "cols")[axis]
            dilated = " with dilation" if d > 1 else ""
            _fail(func, f"the window of `{what}` ({extent} {axis_name}{dilated}) is larger than "
                  f"the padded input ({size} + {before} + {after} {axis_name})",
                  f"input spatial shape={tuple(in_hw)}, {what}={tuple(kernel_hw)}, "
                  f"padding={padding!r}")
        pads.append((before, after))
        outs.append(axis_output(size, k, s, d, before, after))
    return tuple(pads), tuple(outs)
