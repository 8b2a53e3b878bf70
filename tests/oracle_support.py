"""Shared helpers of the functional-API tests (not a test module itself).

* ``impl(name)`` gives the module under test: ``tests/reference.py`` (the
  oracle) or ``cnncore``; tests parametrized over both check the oracle with
  the same hand-computed and golden cases that check the library.
* ``golden_cases(kind)`` reads ``tests/golden/golden.npz`` (made by PyTorch).
* ``assert_within(got, want, tol)`` compares elementwise against an explicit
  error bound and says where and by how much it was exceeded.
* ``numerical_gradient`` is a float64 central finite difference.
"""
import importlib
import json
import os

import numpy as np

import reference

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_PATH = os.path.join(HERE, "golden", "golden.npz")

IMPLS = ["reference", "cnncore"]

# unit roundoff of each float type
UNIT_ROUNDOFF = {np.dtype(np.float32): 2.0 ** -24, np.dtype(np.float64): 2.0 ** -53}


def impl(name):
    """The implementation under test, by name ('reference' or 'cnncore')."""
    if name == "reference":
        return reference
    return importlib.import_module("cnncore")


def as_arg(value):
    """JSON lists (from golden meta) back to the tuples the API takes."""
    if isinstance(value, list):
        return tuple(as_arg(v) for v in value)
    return value


_golden = None


def golden_cases(kind):
    """[(name, meta, arrays)] of one kind of golden case ('conv2d', 'max_pool2d', ...)."""
    global _golden
    if _golden is None:
        with np.load(GOLDEN_PATH, allow_pickle=False) as data:
            files = {key: data[key] for key in data.files}
        meta = json.loads(str(files.pop("meta")))
        _golden = []
        for name, case in sorted(meta["cases"].items()):
            arrays = {key.split("/", 1)[1]: value for key, value in files.items()
                      if key.split("/", 1)[0] == name}
            _golden.append((name, case, arrays))
    return [c for c in _golden if c[1]["kind"] == kind]


def assert_within(got, want, tol, what=""):
    """|got - want| <= tol elementwise (tol broadcasts); shapes must match exactly."""
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), err.shape)
    bad = ~(err <= tol)                      # also catches NaN
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        worst = np.unravel_index(np.nanargmax(np.where(bad, err - tol, -np.inf)), err.shape) if err.size else ()
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {err.size} elements out of tolerance; "
            f"first at {idx}: got {got[idx]!r}, expected {want[idx]!r}, tol {tol[idx]:.3g}; "
            f"worst at {tuple(int(i) for i in worst)}: got {got[worst]!r}, expected {want[worst]!r}, "
            f"tol {tol[worst]:.3g}")


def sum_bound(n_terms, abs_sum, dtype):
    """Error bound of a floating-point sum of n_terms products (Higham, Thm 3.1).

    |fl(sum) - sum| <= gamma_n * sum|terms|, gamma_n = n u / (1 - n u), for any
    summation order (so for any blocking of a GEMM, with or without FMA).  We
    allow twice that plus the final rounding (the oracle's own float64 error and
    a conversion of the result), and a floor of a few smallest normals.
    """
    u = UNIT_ROUNDOFF[np.dtype(dtype)]
    n = n_terms + 2
    return 2.0 * n * u / (1.0 - n * u) * np.asarray(abs_sum) + 4.0 * np.finfo(dtype).tiny


def numerical_gradient(f, x, h=1e-6):
    """Central finite difference of the scalar f() with respect to every element of x (float64).

    x is perturbed in place and restored; the truncation error is O(h^2) and the
    rounding error about eps * |f| / h.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)
    assert np.shares_memory(flat, x)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + h
        up = f()
        flat[k] = old - h
        down = f()
        flat[k] = old
        grad.reshape(-1)[k] = (up - down) / (2 * h)
    return grad
