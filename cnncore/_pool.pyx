"""Max pooling kernels, direct loops over channels-last data.

Prior validation assumed: C-contiguous arrays of matching shapes, x not
empty (callers handle that), every window holds at least one real (unpadded)
cell.  Padded cells never win: they count as -inf.  The gradient of a window
goes to its first maximal cell in row-major window order.

Both walk a window's cells a pixel's channels at a time, along contiguous
memory: the forward's innermost loop runs along the channels with a select,
not a branch, on the values, so the compiler vectorises it (a branch there, or
a thread per channel striding through the image, ran 5-15x slower).
"""
from cython cimport floating
from cython.parallel cimport parallel, prange, threadid
from libc.math cimport INFINITY

cdef enum:
    CB = 16     # channels per backward task: a 64-byte line of float32


cdef inline Py_ssize_t _window(Py_ssize_t* off, Py_ssize_t h0, Py_ssize_t w0, Py_ssize_t H,
                               Py_ssize_t W, Py_ssize_t C, int ph, int pw) noexcept nogil:
    """The offsets ((h * W) + w) * C of the real cells of the window with corner (h0, w0)
    into off, in row-major window order; returns how many."""
    cdef Py_ssize_t m, n, h, w, ncells = 0
    for m in range(ph):
        h = h0 + m
        if h < 0 or h >= H:
            continue
        for n in range(pw):
            w = w0 + n
            if 0 <= w < W:
                off[ncells] = (h * W + w) * C
                ncells += 1
    return ncells


def max_pool_forward(const floating[:, :, :, ::1] x,   # IN  (N, H, W, C)
                     floating[:, :, :, ::1] y,         # OUT (N, OH, OW, C)
                     Py_ssize_t[:, ::1] off,           # scratch (nthreads, ph * pw)
                     int ph, int pw, int sh, int sw, int pt, int pl, int nthreads):
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t OH = y.shape[1], OW = y.shape[2]
    cdef Py_ssize_t row, b, i, j, c, k, ncells
    cdef floating v, best
    cdef floating* out
    cdef const floating* cell
    cdef Py_ssize_t* cells
    assert off.shape[0] >= nthreads and off.shape[1] >= ph * pw
    with nogil, parallel(num_threads=nthreads):
        cells = &off[threadid(), 0]
        for row in prange(N * OH, schedule="static"):
            b = row // OH
            i = row - b * OH
            for j in range(OW):
                ncells = _window(cells, i * sh - pt, j * sw - pl, H, W, C, ph, pw)
                out = &y[b, i, j, 0]
                for c in range(C):
                    out[c] = -INFINITY
                for k in range(ncells):
                    cell = &x[b, 0, 0, 0] + cells[k]
                    for c in range(C):
                        v = cell[c]
                        best = out[c]
                        out[c] = v if v > best else best


cdef inline void _backward_rows(const floating* dy, const floating* x, floating* dx,
                                Py_ssize_t* off, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                                Py_ssize_t OW, Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t c0,
                                Py_ssize_t c1, int ph, int pw, int sh, int sw, int pt,
                                int pl) noexcept nogil:
    """Output rows i0..i1-1 of one image, channels c0..c1-1: each window's real cells
    (_window, into off), then channel by channel its first maximal cell (in registers:
    the channel's values lie in the cache lines just read for the previous one) and
    the gradient added there."""
    cdef Py_ssize_t i, j, c, ncells, k, at
    cdef floating v, best
    cdef const floating* g
    for i in range(i0, i1):
        for j in range(OW):
            ncells = _window(off, i * sh - pt, j * sw - pl, H, W, C, ph, pw)
            if ncells == 0:         # (an image with no rows or columns, padded)
                continue
            g = dy + (i * OW + j) * C
            for c in range(c0, c1):
                best = x[off[0] + c]
                at = off[0]
                for k in range(1, ncells):
                    v = x[off[k] + c]
                    if v > best:
                        best = v
                        at = off[k]
                dx[at + c] += g[c]


def max_pool_backward(const floating[:, :, :, ::1] dy,  # IN  (N, OH, OW, C)
                      const floating[:, :, :, ::1] x,   # IN  (N, H, W, C)
                      floating[:, :, :, ::1] dx,        # OUT (N, H, W, C), zeroed
                      Py_ssize_t[:, ::1] off,           # scratch (nthreads, ph * pw)
                      int ph, int pw, int sh, int sw, int pt, int pl, int nthreads):
    """Route each window's gradient to its first maximal cell.

    Windows may overlap, and then threads split the work by (image, block of
    CB channels), so no two threads ever write the same cell of dx; windows
    that do not overlap down the image (sh >= ph, as in VGG) split it by output
    row instead, each row's channels together, for contiguous reads and writes.
    """
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t OH = dy.shape[1], OW = dy.shape[2]
    cdef bint by_rows = sh >= ph
    cdef Py_ssize_t nblocks = (C + CB - 1) // CB
    cdef Py_ssize_t per = OH if by_rows else nblocks        # tasks per image
    cdef Py_ssize_t task, b, t, i0, i1, c0, c1
    assert off.shape[0] >= nthreads and off.shape[1] >= ph * pw
    with nogil, parallel(num_threads=nthreads):
        for task in prange(N * per, schedule="static"):
            b = task // per
            t = task - b * per
            i0 = t if by_rows else 0
            i1 = t + 1 if by_rows else OH
            c0 = 0 if by_rows else t * CB
            c1 = C if by_rows else min(C, c0 + CB)
            _backward_rows(&dy[b, 0, 0, 0], &x[b, 0, 0, 0], &dx[b, 0, 0, 0],
                           &off[threadid(), 0], H, W, C, OW, i0, i1, c0, c1,
                           ph, pw, sh, sw, pt, pl)
