"""How many threads cnncore's kernels use, and OpenBLAS's thread pool around them.

The compiled kernels run their own OpenMP loops and call BLAS from inside
them; BLAS must then be single-threaded, or two thread pools fight over the
cores.  ``blas_threads(n)`` sets OpenBLAS's thread count (through
threadpoolctl) for the duration of a call and puts it back afterwards.
"""
import os
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

from ._checks import as_int


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
    """Return the number of threads cnncore's kernels use.

    At import it is ``$CNNCORE_NUM_THREADS``, else the first entry of
    ``$OMP_NUM_THREADS``, else the number of CPUs this process may run on;
    :func:`set_num_threads` changes it.  It bounds the OpenMP loops of the
    compiled kernels and the BLAS calls cnncore makes (dense layers, the matrix
    products of convolutions).  Calls with little work (about 65 000 element
    operations or fewer) run on one thread whatever it says: waking a team of
    threads would cost more than the work.

    Returns
    -------
    int
        The number of threads, ``>= 1``.

    See Also
    --------
    set_num_threads : Change the number of threads.
    show_config : Print the threads with the rest of the configuration.

    Examples
    --------
    >>> import cnncore
    >>> cnncore.get_num_threads() >= 1
    True
    """
    return _num_threads


def set_num_threads(n):
    """Set the number of threads cnncore's kernels use.

    For the whole process, from the next call on: the OpenMP loops of the
    compiled kernels and the BLAS calls cnncore makes (dense layers, the matrix
    products of convolutions) use at most ``n`` threads.  BLAS is limited only
    for the duration of cnncore's calls and restored afterwards: NumPy's own
    matrix products elsewhere keep their settings.

    Parameters
    ----------
    n : int
        The number of threads, ``>= 1``: a Python or NumPy integer (bools are
        refused).

    Returns
    -------
    int
        The previous number of threads, to restore it later.

    Raises
    ------
    TypeError
        If ``n`` is not an integer.
    ValueError
        If ``n`` is below 1.

    See Also
    --------
    get_num_threads : The current number of threads, and its default.

    Examples
    --------
    >>> import cnncore
    >>> old = cnncore.set_num_threads(1)
    >>> cnncore.get_num_threads()
    1
    >>> cnncore.set_num_threads(old)                     # restore; returns the value replaced
    1
    """
    global _num_threads
    n = as_int(n, "n", "set_num_threads", minimum=1)
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
