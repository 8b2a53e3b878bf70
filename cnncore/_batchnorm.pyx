"""Batch normalization kernels over channels-last data seen as (M, C).

Prior validation assumed: C-contiguous (M, C) arrays with M >= 1, parameter
vectors of length C.  Reductions accumulate in float64, per thread over a
contiguous block of rows, then the per-thread parts are added in order, so
a given thread count always gives the same result.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt


cdef inline Py_ssize_t _chunk(Py_ssize_t M, int nthreads) noexcept nogil:
    return (M + nthreads - 1) // nthreads


def moments(const floating[:, ::1] x,    # IN  (M, C)
            double[::1] mean,            # OUT (C,)
            double[::1] var,             # OUT (C,) biased (1/M) variance
            double[:, ::1] parts,        # scratch (2 * nthreads, C)
            int nthreads):
    """Per-channel mean and biased variance in one pass over x.

    Sums are taken of x - x[0] (a per-channel shift), which keeps the
    one-pass variance accurate when the mean is large against the spread.
    """
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1]
    cdef Py_ssize_t chunk = _chunk(M, nthreads)
    cdef Py_ssize_t t, r, c, r0, r1
    cdef double d, s, q
    with nogil:
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            r0 = t * chunk
            r1 = min(r0 + chunk, M)
            for c in range(C):
                parts[2 * t, c] = 0.0
                parts[2 * t + 1, c] = 0.0
            for r in range(r0, r1):
                for c in range(C):
                    d = <double> x[r, c] - <double> x[0, c]
                    parts[2 * t, c] += d
                    parts[2 * t + 1, c] += d * d
        for c in range(C):
            s = 0.0
            q = 0.0
            for t in range(nthreads):
                s = s + parts[2 * t, c]
                q = q + parts[2 * t + 1, c]
            s = s / M
            mean[c] = <double> x[0, c] + s
            var[c] = max(q / M - s * s, 0.0)


def normalize(const floating[:, ::1] x,       # IN  (M, C)
              const floating[::1] mean,       # IN  (C,)
              const floating[::1] scale,      # IN  (C,) gamma / sqrt(var + eps)
              const floating[::1] beta,       # IN  (C,)
              floating[:, ::1] y,             # OUT (M, C)
              int nthreads):
    """y = (x - mean) * scale + beta, channel by channel."""
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1]
    cdef Py_ssize_t chunk = _chunk(M, nthreads)
    cdef Py_ssize_t t, r, c, r0, r1
    with nogil:
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            r0 = t * chunk
            r1 = min(r0 + chunk, M)
            for r in range(r0, r1):
                for c in range(C):
                    y[r, c] = (x[r, c] - mean[c]) * scale[c] + beta[c]


def backward(const floating[:, ::1] dy,      # IN  (M, C)
             const floating[:, ::1] x,       # IN  (M, C)
             const double[::1] mean,         # IN  (C,)
             const double[::1] invstd,       # IN  (C,) 1 / sqrt(var + eps)
             const double[::1] gamma,        # IN  (C,)
             floating[:, ::1] dx,            # OUT (M, C)
             double[::1] dgamma,             # OUT (C,)
             double[::1] dbeta,              # OUT (C,)
             double[:, ::1] parts,           # scratch (2 * nthreads, C)
             floating[:, ::1] coef,          # scratch (4, C)
             int nthreads):
    """Gradients of y = gamma * (x - mean) * invstd + beta with batch statistics.

    dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)), in two
    passes: the per-channel sums, then dx = a * dy + b * (x - mean) + c.
    """
    cdef Py_ssize_t M = dy.shape[0], C = dy.shape[1]
    cdef Py_ssize_t chunk = _chunk(M, nthreads)
    cdef Py_ssize_t t, r, c, r0, r1
    cdef double g, s, sx
    with nogil:
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            r0 = t * chunk
            r1 = min(r0 + chunk, M)
            for c in range(C):
                parts[2 * t, c] = 0.0
                parts[2 * t + 1, c] = 0.0
            for r in range(r0, r1):
                for c in range(C):
                    parts[2 * t, c] += <double> dy[r, c]
                    parts[2 * t + 1, c] += <double> dy[r, c] * (<double> x[r, c] - mean[c])
        for c in range(C):
            s = 0.0
            sx = 0.0
            for t in range(nthreads):
                s = s + parts[2 * t, c]
                sx = sx + parts[2 * t + 1, c]
            dbeta[c] = s
            dgamma[c] = sx * invstd[c]
            g = gamma[c] * invstd[c]
            coef[0, c] = <floating> g
            coef[1, c] = <floating> (-g * invstd[c] * invstd[c] * sx / M)
            coef[2, c] = <floating> (-g * s / M)
            coef[3, c] = <floating> mean[c]
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            r0 = t * chunk
            r1 = min(r0 + chunk, M)
            for r in range(r0, r1):
                for c in range(C):
                    dx[r, c] = (coef[0, c] * dy[r, c] + coef[1, c] * (x[r, c] - coef[3, c])
                                + coef[2, c])
