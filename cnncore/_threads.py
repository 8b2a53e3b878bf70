"""How many threads cnncore's kernels use, and OpenBLAS's thread pool around them.

The compiled kernels run their own OpenMP loops and call BLAS from inside
them; BLAS must then be single-threaded, or two thread pools fight over the
cores.  ``blas_threads(n)`` sets OpenBLAS's thread count (through
threadpoolctl) for the duration of a call and puts it back afterwards.
"""
import os
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController


def _default_threads():
    for var in ("CNNCORE_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


_num_threads = _default_threads()
_blas = None


def get_num_threads():
    """Number of threads cnncore's kernels use."""
    return _num_threads


def set_num_threads(n):
    """Set the number of threads cnncore's kernels use (>= 1); returns the old value."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: `n` must be an int >= 1. Received: n={n!r}")
    old, _num_threads = _num_threads, n
    return old


def _blas_controllers():
    global _blas
    if _blas is None:
        import scipy.linalg.cython_blas  # noqa: F401  (load SciPy's OpenBLAS first)
        _blas = [c for c in ThreadpoolController().lib_controllers if c.internal_api == "openblas"]
    return _blas


@contextmanager
def blas_threads(n):
    """Run the enclosed block with every loaded OpenBLAS limited to ``n`` threads."""
    controllers = _blas_controllers()
    old = [c.num_threads for c in controllers]
    changed = [c for c, o in zip(controllers, old) if o != n]
    for c in changed:
        c.set_num_threads(n)
    try:
        yield
    finally:
        for c, o in zip(controllers, old):
            if o != n:
                c.set_num_threads(o)
