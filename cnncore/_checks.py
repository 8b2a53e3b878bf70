"""Argument validation shared by the functional API.

Everything a compiled kernel assumes is established here, in Python, before
any ``nogil`` code runs: dtypes, ranks, shapes, strides, paddings.  Error
messages name the argument and end with what was received, as Keras does.
"""
import numbers
import os
import sys
import warnings

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


def as_array(a, name, func):
    """``np.asarray(a)``, or a TypeError naming ``name`` (ragged lists and the like)."""
    try:
        return np.asarray(a)
    except Exception as err:
        _fail(func, f"`{name}` must be an array", f"{name}: {err}", TypeError)


def as_list(value, name, func):
    """``list(value)``, or a TypeError naming ``name`` when ``value`` is not iterable."""
    try:
        return list(value)
    except TypeError:
        _fail(func, f"`{name}` must be a list", f"{name} of type {type(value).__name__}",
              TypeError)


def contiguous(arr):
    """A C-contiguous array of the same shape (copy only when needed; 0-d stays 0-d)."""
    return np.asarray(arr, order="C")


def check_ndim(arr, ndim, name, func, layout):
    if arr.ndim != ndim:
        _fail(func, f"`{name}` must be a {ndim}-D array {layout}",
              f"{name}.shape={arr.shape}")


def check_shape(arr, shape, name, func, what="", hint=""):
    """ValueError unless ``arr.shape == shape``; ``hint`` (from :func:`nchw_hint`) is appended."""
    if tuple(arr.shape) != tuple(shape):
        expect = f" ({what})" if what else ""
        _fail(func, f"`{name}` must have shape {tuple(shape)}{expect}{hint}",
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


def window_geometry(func, in_hw, kernel_hw, stride, dilation, padding, what="kernel", hint=""):
    """Padding pairs and output size of a 2-D sliding window, validated.

    Returns ``((top, bottom), (left, right)), (out_h, out_w)``.  Raises
    ValueError when the (dilated) window is larger than the padded input
    (``hint``, from :func:`nchw_hint`, appended to the message).
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
                  f"the padded input ({size} + {before} + {after} {axis_name}){hint}",
                  f"input spatial shape={tuple(in_hw)}, {what}={tuple(kernel_hw)}, "
                  f"padding={padding!r}")
        pads.append((before, after))
        outs.append(axis_output(size, k, s, d, before, after))
    return tuple(pads), tuple(outs)


def as_shape(value, name, func):
    """A shape without the batch axis (a sequence of positive ints) as a tuple."""
    items = list(value) if isinstance(value, (tuple, list)) else None
    if not items or not all(_is_int(v) and v >= 1 for v in items):
        _fail(func, f"`{name}` must be a tuple of positive ints without the batch axis, e.g. "
              "(224, 224, 3)", f"{name}={value!r}")
    return tuple(int(v) for v in items)


def as_dtype(value, name, func, allowed=FLOAT_DTYPES):
    """``np.dtype(value)`` if it is one of ``allowed``; a TypeError naming ``name`` otherwise."""
    try:
        dtype = np.dtype(value)
    except (TypeError, ValueError):
        dtype = None
    if value is None or dtype not in allowed:
        names = " or ".join(f'"{d.name}"' for d in allowed)
        _fail(func, f"`{name}` must be {names}", f"{name}={value!r}", TypeError)
    return dtype


def as_rng(seed, name, func):
    """``np.random.default_rng(seed)``; a seed NumPy refuses is an error naming ``name``."""
    if isinstance(seed, (bool, np.bool_, float, str)):    # NumPy would take True, "1" may be meant
        _fail(func, f"`{name}` must be None, a non-negative int or a sequence of them",
              f"{name}={seed!r}", TypeError)
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as err:
        _fail(func, f"`{name}` must be None, a non-negative int or a sequence of them ({err})",
              f"{name}={seed!r}", type(err))


def as_path(value, name, func):
    """``os.fspath(value)`` as a str; a TypeError naming ``name`` otherwise."""
    try:
        path = os.fspath(value)
    except TypeError:
        _fail(func, f"`{name}` must be a path (str or os.PathLike)", f"{name}={value!r}", TypeError)
    return os.fsdecode(path)


# ---------------------------------------------------------------------------
# Channels-first input: a hint, never a rejection.
#
# cnncore is channels-last; users coming from PyTorch pass NCHW.  The shape
# alone cannot tell the two apart (an NCHW batch is a valid NHWC batch of
# images with few rows), so valid channels-last input must never be refused
# on a guess.  nchw_hint only adds a sentence to an error raised anyway;
# warn_if_nchw warns (and still computes) where the input runs but the shape
# is a strong signal of NCHW images.

NCHW_HINT = "cnncore is channels-last (N, H, W, C); did you pass NCHW?"


def nchw_hint(shape, name="x", channels=None, expected=None):
    """A sentence for an error about the 4-D ``shape`` of ``name`` that suggests it is NCHW,
    or "" when nothing suggests it.

    With ``expected`` (the channels-last shape the call wanted): when ``shape``
    is ``expected`` in NCHW order.  With ``channels`` (the channel count the
    call expects: the kernel's C_in, gamma's length): when axis 1 has it and
    the last axis has not.  With neither: when axis 1 has at most 4 entries
    (grey, RGB, RGBA) and the two axes after it are larger.
    """
    shape = tuple(shape)
    if len(shape) != 4:
        return ""
    if expected is not None:
        e = tuple(expected)
        suggests = len(e) == 4 and shape != e and shape == (e[0], e[3], e[1], e[2])
    elif channels is not None:
        suggests = shape[1] == channels != shape[3]
    else:
        suggests = 1 <= shape[1] <= 4 and min(shape[2], shape[3]) > shape[1]
    return nchw_sentence(name) if suggests else ""


def nchw_sentence(*names):
    """The hint itself, to append to an error's message (before "Received")."""
    if len(names) == 1:
        return f". {NCHW_HINT} `{names[0]}.transpose(0, 2, 3, 1)` makes it channels-last"
    listed = " and ".join(f"`{n}`" for n in names)
    return (f". {NCHW_HINT} {listed} fit read as NCHW; `.transpose(0, 2, 3, 1)` makes each "
            "channels-last")


def input_shape_hint(shape):
    """nchw_hint for an error about a layer's or model's input shape (no batch axis)."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 3 or not all(map(_is_int, shape)):
        return ""
    shape = tuple(shape)
    if not nchw_hint((1,) + shape):
        return ""
    c, h, w = shape
    return f". {NCHW_HINT} An input shape is (H, W, C): {(h, w, c)}, not {shape}"


def conv_layout_hint(x_shape, kernel_shape):
    """nchw_hint for conv2d's channel mismatch: ``x`` NCHW, a PyTorch (C_out, C_in, KH, KW)
    kernel (square: KH == KW), or both (the channel counts that agree under that reading)."""
    torch_kernel = ("kernels are (KH, KW, C_in, C_out); did you pass a PyTorch kernel "
                    "(C_out, C_in, KH, KW)? `kernel.transpose(2, 3, 1, 0)` converts it")
    square = kernel_shape[2] == kernel_shape[3]
    if x_shape[1] == kernel_shape[2] != x_shape[3]:
        return nchw_hint(x_shape, channels=kernel_shape[2])
    if x_shape[3] == kernel_shape[1] != kernel_shape[2] and square:
        return ". " + torch_kernel
    if x_shape[1] == kernel_shape[1] != x_shape[3] and square:
        return nchw_hint(x_shape, channels=kernel_shape[1]) + "; " + torch_kernel
    return ""


def looks_nchw(shape):
    """Whether a 4-D shape is a strong signal of NCHW images: 1 or 3 on axis 1 (grey, RGB) and
    a square of at least 8x8 after it.  Read channels-last, that is a batch of 1- or 3-row
    images whose width happens to equal their channel count: possible, but rare enough
    for a warning (never an error)."""
    shape = tuple(shape)
    return len(shape) == 4 and shape[1] in (1, 3) and shape[2] == shape[3] >= 8


def user_stacklevel():
    """The ``stacklevel`` that makes a warning of the calling function point at the first
    caller outside cnncore (the user's line, however deep inside cnncore it was raised)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == _HERE:
        frame, level = frame.f_back, level + 1
    return level


_HERE = os.path.dirname(os.path.abspath(__file__))


def warn_if_nchw(shape, name, func):
    """A UserWarning when ``looks_nchw(shape)``; the computation goes on channels-last."""
    if looks_nchw(shape):
        warnings.warn(f"{func}: `{name}` has shape {tuple(shape)}: {NCHW_HINT} It is read "
                      f"as images of {shape[1]}x{shape[2]} pixels with {shape[3]} channels; "
                      f"`{name}.transpose(0, 2, 3, 1)` makes NCHW channels-last.",
                      UserWarning, stacklevel=user_stacklevel())
