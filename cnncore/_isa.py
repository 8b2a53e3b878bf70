"""Which convolution path may run: what the CPU has, capped by ``$CNNCORE_ISA``.

``CNNCORE_ISA`` (read once, at import) names the most a process may use, from
the fastest down: ``avx512`` (the register-blocked AVX-512 micro-kernel),
``avx2``, ``portable`` (micro-kernels still to come: until then these run
im2col + BLAS) and ``blas`` (im2col + BLAS GEMM only).  Unset, it is the best
the CPU has.  For tests, benchmarks and CPUs that misreport their features.
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
    """The paths this CPU and this build can run, the fastest first (no AVX2 or portable
    micro-kernel is built yet: with those caps, im2col + BLAS runs)."""
    return (["avx512"] if _conv.has_direct() else []) + ["blas"]


def available():
    """The fastest path this CPU and this build have."""
    return paths()[0]


def effective(environ=None):
    """The path that runs: the fastest one the cap allows."""
    cap = ISAS.index(requested(environ))
    return next(p for p in paths() if ISAS.index(p) >= cap)


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
    """Print the CPU's features, the ``CNNCORE_ISA`` cap and the path each operation takes.

    Example: ``CNNCORE_ISA=blas python -c "import cnncore; cnncore.show_config()"``.
    """
    import sys

    from . import __version__, functional
    from ._threads import get_num_threads

    cap, path = requested(), effective()
    direct = functional.USE_DIRECT
    cols = _conv.DIRECT_COLS
    blas = "im2col + BLAS GEMM (tiles of the column matrix spread over the threads)"
    kernel = "the AVX-512 micro-kernel (registers hold the output block; no column matrix)"
    rules = [("conv2d forward", "output"), ("conv2d input gradient", "input"), ("conv2d kernel gradient", "input")]
    lines = [
        f"cnncore {__version__}",
        f"CPU: {cpu_name()}; features: {', '.join(cpu_flags()) or 'unknown'}",
        f"{ENV}: {os.environ.get(ENV) or '(unset)'} -> cap {cap}; this CPU and build have {available()}; "
        f"path: {path}",
        f"threads: {get_num_threads()} (cnncore.set_num_threads, OMP_NUM_THREADS); "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}",
    ]
    for op, side in rules:
        lines += [f"{op}:",
                  f"  float32, {side} channels a multiple of {cols}: {kernel if direct else blas}",
                  f"  otherwise: {blas}"]
    lines.append("batch norm, max pooling, ReLU: OpenMP loops in C (any CPU); dense, softmax: NumPy")
    print("\n".join(lines), file=file or sys.stdout)
