"""Max pooling kernels, direct loops over channels-last data.

Prior validation assumed: C-contiguous arrays of matching shapes, every
window holds at least one real (unpadded) cell.  Padded cells never win:
they count as -inf.  The gradient of a window goes to its first maximal
cell in row-major window order.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY


def max_pool_forward(const floating[:, :, :, ::1] x,   # IN  (N, H, W, C)
                     floating[:, :, :, ::1] y,         # OUT (N, OH, OW, C)
                     int ph, int pw, int sh, int sw, int pt, int pl, int nthreads):
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t OH = y.shape[1], OW = y.shape[2]
    cdef Py_ssize_t row, b, i, j, m, n, c, h, w, h0, w0
    cdef floating v
    with nogil:
        for row in prange(N * OH, num_threads=nthreads, schedule="static"):
            b = row // OH
            i = row - b * OH
            h0 = i * sh - pt
            for j in range(OW):
                w0 = j * sw - pl
                for c in range(C):
                    y[b, i, j, c] = -INFINITY
                for m in range(ph):
                    h = h0 + m
                    if h < 0 or h >= H:
                        continue
                    for n in range(pw):
                        w = w0 + n
                        if w < 0 or w >= W:
                            continue
                        for c in range(C):
                            v = x[b, h, w, c]
                            if v > y[b, i, j, c]:
                                y[b, i, j, c] = v


def max_pool_backward(const floating[:, :, :, ::1] dy,  # IN  (N, OH, OW, C)
                      const floating[:, :, :, ::1] x,   # IN  (N, H, W, C)
                      floating[:, :, :, ::1] dx,        # OUT (N, H, W, C), zeroed
                      int ph, int pw, int sh, int sw, int pt, int pl, int nthreads):
    """Route each window's gradient to its first maximal cell.

    Windows may overlap, so threads split the work by (image, channel):
    no two threads ever write the same cell of dx.
    """
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t OH = dy.shape[1], OW = dy.shape[2]
    cdef Py_ssize_t task, b, c, i, j, m, n, h, w, h0, w0, bh, bw
    cdef floating best, v
    with nogil:
        for task in prange(N * C, num_threads=nthreads, schedule="static"):
            b = task // C
            c = task - b * C
            for i in range(OH):
                h0 = i * sh - pt
                for j in range(OW):
                    w0 = j * sw - pl
                    best = -INFINITY
                    bh = -1
                    bw = -1
                    for m in range(ph):
                        h = h0 + m
                        if h < 0 or h >= H:
                            continue
                        for n in range(pw):
                            w = w0 + n
                            if w < 0 or w >= W:
                                continue
                            v = x[b, h, w, c]
                            if bh < 0 or v > best:
                                best = v
                                bh = h
                                bw = w
                    if bh >= 0:
                        dx[b, bh, bw, c] += dy[b, i, j, c]
