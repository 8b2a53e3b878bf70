"""Elementwise kernels over flat arrays, threads over contiguous ranges.

Prior validation assumed: C-contiguous 1-D views of equal length (an output
may be one of the inputs: each element is read before it is written).
"""
from cython cimport floating
from cython.parallel cimport prange


def relu_into(const floating[::1] x, floating[::1] out, int nthreads):
    """out = max(x, 0); NaN stays NaN, as in np.maximum."""
    cdef Py_ssize_t i, n = x.shape[0]
    cdef floating v
    with nogil:
        for i in prange(n, num_threads=nthreads, schedule="static"):
            v = x[i]
            out[i] = 0 if v <= 0 else v


def relu_backward_into(const floating[::1] dy, const floating[::1] x, floating[::1] out,
                       int nthreads):
    """out = dy where x > 0, else 0."""
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in prange(n, num_threads=nthreads, schedule="static"):
            out[i] = dy[i] if x[i] > 0 else 0
