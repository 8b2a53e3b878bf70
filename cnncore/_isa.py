"""Which convolution path may run: what the CPU has, capped by ``$CNNCORE_ISA``.

``CNNCORE_ISA`` (read once, at import) names the most a process may use, from
the fastest down: ``avx512``, ``avx2`` (AVX2 + FMA), ``portable`` (the same
register-blocked micro-kernel in each, see _direct.h; portable is built for
the compiler's baseline: SSE2 on x86-64, NEON on aarch64) and ``blas``
(im2col + BLAS GEMM only).  Unset, it is the best the CPU has.  For tests,
benchmarks and CPUs that misreport their features.
"""
import os

from . import _conv

ISAS = ("avx512", "avx2", "portable", "blas")     # the fastest first
ENV = "CNNCORE_ISA"


def requested(environ=None):
    """The cap ``$CNNCORE_ISA`` asks for (``avx512``, the highest, when unset)."""
    value = (os.environ if environ is None else environ).get(ENV, "").strip().lower()
    if not value:
        return ISAS[0]
    if value not in ISAS:
        raise ValueError(f"{ENV} must be one of {', '.join(ISAS)} (or unset). Received: {ENV}={value!r}")
    return value


def paths():
    """The paths this CPU and this build can run, the fastest first."""
    return [isa for isa in ISAS[:-1] if _conv.isa_supported(isa)] + ["blas"]


def available():
    """The fastest path this CPU and this build have."""
    return paths()[0]


def effective(environ=None):
    """The path that runs: the fastest one the cap allows."""
    cap = ISAS.index(requested(environ))
    return next(p for p in paths() if ISAS.index(p) >= cap)


def microkernel(environ=None):
    """The micro-kernel float32 convolutions run on, or None (im2col + BLAS)."""
    path = effective(environ)
    return None if path == "blas" else path


def cpu_flags():
    """The CPU's SIMD features that matter here, from /proc/cpuinfo (empty where there is none)."""
    wanted = ("avx512f", "avx2", "fma", "asimd", "sve")
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key = line.split(":", 1)[0].strip()
                if key in ("flags", "Features"):
                    flags = set(line.split(":", 1)[1].split())
                    return [w for w in wanted if w in flags]
    except OSError:
        pass
    return []


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine() or "unknown CPU"


def show_config(file=None):
    """Print the CPU's features, the ``CNNCORE_ISA`` cap, the threads and each operation's path.

    What to look at when cnncore is slower than expected, or to check which code
    a machine runs.  The lines say: cnncore's version; the CPU and the SIMD
    features that matter (AVX-512, AVX2, FMA; NEON/ASIMD, SVE); the
    ``CNNCORE_ISA`` environment variable, the cap it sets (``avx512``, ``avx2``,
    ``portable`` or ``blas``, read once at import; unset, the fastest the CPU
    has), the paths this CPU and build can run and the one that runs; the
    threads (:func:`get_num_threads`), ``OMP_WAIT_POLICY`` and ``GOMP_SPINCOUNT``
    (how long idle threads spin before they sleep: importing cnncore sets 30000
    unless either is set); then the implementation each convolution pass takes
    for float32 and float64, and the other operations'.

    Parameters
    ----------
    file : file-like, optional
        A text stream to print to (anything with ``write``); None (the
        default): ``sys.stdout``.

    See Also
    --------
    get_num_threads : The number of threads the kernels use.
    set_num_threads : Change it.

    Notes
    -----
    To compare the paths, cap them from the shell, e.g.
    ``CNNCORE_ISA=blas python -c "import cnncore; cnncore.show_config()"``.

    Examples
    --------
    >>> import cnncore
    >>> cnncore.show_config()  # doctest: +ELLIPSIS
    cnncore ...
    CPU: ...; features: ...
    CNNCORE_ISA: ... -> cap ...; this CPU and build have ...; path: ...
    threads: ... (cnncore.set_num_threads, OMP_NUM_THREADS); OMP_WAIT_POLICY=..., GOMP_SPINCOUNT=...
    conv2d forward:
      float32...
    batch norm, max pooling, ReLU: OpenMP loops in C (any CPU); dense: BLAS on those threads; softmax: NumPy
    """
    import sys

    from . import __version__, functional
    from ._threads import get_num_threads

    def kernel(isa):
        rows, cols = _conv.isa_block(isa)
        return (f"the {isa} micro-kernel ({rows} pixels x {cols} channels in registers, "
                f"no column matrix)")

    blas = "im2col + BLAS GEMM (tiles of the column matrix spread over the threads)"
    isa = functional.MICROKERNEL
    lines = [
        f"cnncore {__version__}",
        f"CPU: {cpu_name()}; features: {', '.join(cpu_flags()) or 'unknown'}",
        f"{ENV}: {os.environ.get(ENV) or '(unset)'} -> cap {requested()}; this CPU and build have "
        f"{', '.join(paths())}; path: {effective()}",
        f"threads: {get_num_threads()} (cnncore.set_num_threads, OMP_NUM_THREADS); "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}, "
        f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', '(unset)')}",
    ]
    for op, blocked in [("conv2d forward", "output"), ("conv2d input gradient", "input"),
                        ("conv2d kernel gradient", "output")]:
        lines.append(f"{op}:")
        if isa:
            lines.append(f"  float32: {kernel(isa)}")
            if isa == "avx512":
                lines.append(f"  float32, fewer than {functional.AVX2_BELOW} {blocked} channels: "
                             f"{kernel('avx2')}")
        lines.append(f"  {'float64' if isa else 'float32 and float64'}: {blas}")
    lines.append("batch norm, max pooling, ReLU: OpenMP loops in C (any CPU); "
                 "dense: BLAS on those threads; softmax: NumPy")
    print("\n".join(lines), file=file or sys.stdout)
