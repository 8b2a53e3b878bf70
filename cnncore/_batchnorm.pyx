"""Batch normalization kernels over channels-last data seen as (M, C).

Prior validation assumed: C-contiguous (M, C) arrays with M >= 1, parameter
vectors of length C.  Each thread takes a contiguous block of rows and sums
into its own float64 totals (the row loops are in _bn_kernels.h, compiled
for the CPU's vector width); the totals are then added in thread order, so
a given thread count always gives the same result.
"""
from cython cimport floating
from cython.parallel cimport prange

from cnncore._bn_kernels cimport (cnncore_bn_affine_d, cnncore_bn_affine_f, cnncore_bn_grad_sums_d,
                                 cnncore_bn_grad_sums_f, cnncore_bn_sums_d, cnncore_bn_sums_f)


cdef inline void _sums(const floating* x, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t C,
                       const floating* shift, double* s, double* q,
                       floating* bs, floating* bq) noexcept nogil:
    if floating is float:
        cnncore_bn_sums_f(x, r0, r1, C, shift, s, q, bs, bq)
    else:
        cnncore_bn_sums_d(x, r0, r1, C, shift, s, q, bs, bq)


cdef inline void _grad_sums(const floating* dy, const floating* x, Py_ssize_t r0, Py_ssize_t r1,
                            Py_ssize_t C, const floating* mean, double* s, double* q,
                            floating* bs, floating* bq) noexcept nogil:
    if floating is float:
        cnncore_bn_grad_sums_f(dy, x, r0, r1, C, mean, s, q, bs, bq)
    else:
        cnncore_bn_grad_sums_d(dy, x, r0, r1, C, mean, s, q, bs, bq)


cdef inline void _affine(const floating* u, const floating* x, Py_ssize_t r0, Py_ssize_t r1,
                         Py_ssize_t C, const floating* a, const floating* b, const floating* m,
                         const floating* d, int relu, floating* y) noexcept nogil:
    if floating is float:
        cnncore_bn_affine_f(u, x, r0, r1, C, a, b, m, d, relu, y)
    else:
        cnncore_bn_affine_d(u, x, r0, r1, C, a, b, m, d, relu, y)


cdef inline Py_ssize_t _chunk(Py_ssize_t M, int nthreads) noexcept nogil:
    return (M + nthreads - 1) // nthreads


cdef inline void _add_parts(const double[:, ::1] parts, int nthreads,
                            double[::1] s, double[::1] q) noexcept nogil:
    """s = sum of the threads' first rows (parts[2t]), q = of their second rows, in order."""
    cdef Py_ssize_t t, c
    for c in range(parts.shape[1]):
        s[c] = 0.0
        q[c] = 0.0
        for t in range(nthreads):
            s[c] += parts[2 * t, c]
            q[c] += parts[2 * t + 1, c]


def moments(const floating[:, ::1] x,    # IN  (M, C)
            double[::1] mean,            # OUT (C,)
            double[::1] var,             # OUT (C,) biased (1/M) variance
            double[:, ::1] parts,        # scratch (2 * nthreads, C)
            floating[:, ::1] block,      # scratch (2 * nthreads, C)
            int nthreads):
    """Per-channel mean and biased variance in one pass over x.

    Sums are taken of x - x[0] (a per-channel shift), which keeps the
    one-pass variance accurate when the mean is large against the spread.
    """
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1]
    cdef Py_ssize_t chunk = _chunk(M, nthreads)
    cdef Py_ssize_t t, c, r0, r1
    cdef double s
    parts[:, :] = 0.0
    with nogil:
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            r0 = t * chunk
            r1 = min(r0 + chunk, M)
            _sums(&x[0, 0], r0, r1, C, &x[0, 0], &parts[2 * t, 0], &parts[2 * t + 1, 0],
                  &block[2 * t, 0], &block[2 * t + 1, 0])
        _add_parts(parts, nthreads, mean, var)  # sums of the shifted values and of their squares
        for c in range(C):
            s = mean[c] / M
            mean[c] = <double> x[0, c] + s
            var[c] = max(var[c] / M - s * s, 0.0)


def normalize(const floating[:, ::1] x,       # IN  (M, C)
              const floating[::1] mean,       # IN  (C,)
              const floating[::1] scale,      # IN  (C,) gamma / sqrt(var + eps)
              const floating[::1] beta,       # IN  (C,)
              floating[:, ::1] y,             # OUT (M, C)
              bint relu,
              int nthreads):
    """y = (x - mean) * scale + beta, channel by channel; with relu, max(that, 0)."""
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1]
    cdef Py_ssize_t chunk = _chunk(M, nthreads)
    cdef Py_ssize_t t, r0, r1
    with nogil:
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            r0 = t * chunk
            r1 = min(r0 + chunk, M)
            _affine(NULL, &x[0, 0], r0, r1, C, NULL, &scale[0], &mean[0], &beta[0], relu,
                    &y[0, 0])


def backward(const floating[:, ::1] dy,      # IN  (M, C)
             const floating[:, ::1] x,       # IN  (M, C)
             const floating[::1] mean,       # IN  (C,)
             const double[::1] invstd,       # IN  (C,) 1 / sqrt(var + eps)
             const double[::1] gamma,        # IN  (C,)
             floating[:, ::1] dx,            # OUT (M, C)
             double[::1] dgamma,             # OUT (C,)
             double[::1] dbeta,              # OUT (C,)
             double[:, ::1] parts,           # scratch (2 * nthreads, C)
             floating[:, ::1] block,         # scratch (2 * nthreads, C)
             floating[:, ::1] coef,          # scratch (3, C)
             int nthreads):
    """Gradients of y = gamma * (x - mean) * invstd + beta with batch statistics.

    dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)), in two
    passes: the per-channel sums, then dx = a * dy + b * (x - mean) + d.
    """
    cdef Py_ssize_t M = dy.shape[0], C = dy.shape[1]
    cdef Py_ssize_t chunk = _chunk(M, nthreads)
    cdef Py_ssize_t t, c, r0, r1
    cdef double g, s, sx
    parts[:, :] = 0.0
    with nogil:
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            r0 = t * chunk
            r1 = min(r0 + chunk, M)
            _grad_sums(&dy[0, 0], &x[0, 0], r0, r1, C, &mean[0], &parts[2 * t, 0],
                       &parts[2 * t + 1, 0], &block[2 * t, 0], &block[2 * t + 1, 0])
        _add_parts(parts, nthreads, dbeta, dgamma)  # sum(dy), sum(dy * (x - mean))
        for c in range(C):
            s = dbeta[c]
            sx = dgamma[c]
            dgamma[c] = sx * invstd[c]
            g = gamma[c] * invstd[c]
            coef[0, c] = <floating> g
            coef[1, c] = <floating> (-g * invstd[c] * invstd[c] * sx / M)
            coef[2, c] = <floating> (-g * s / M)
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            r0 = t * chunk
            r1 = min(r0 + chunk, M)
            _affine(&dy[0, 0], &x[0, 0], r0, r1, C, &coef[0, 0], &coef[1, 0], &mean[0],
                    &coef[2, 0], 0, &dx[0, 0])
