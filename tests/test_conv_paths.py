"""Every internal convolution path against the NumPy reference.

cnncore.functional picks a path per call: the AVX-512 micro-kernel (float32,
C_out a multiple of 64) reading the padded input or an im2col matrix, one
im2col + multi-threaded GEMM, or tiles of im2col + GEMM spread over threads.
Each is forced here in turn (by the module's tuning switches) on geometries
that reach its edge cases: channel counts around the 64-wide block, pixel
counts that leave a partial 6-pixel block, strides, dilations, asymmetric
padding, batches, and thread counts.

Tolerances: float64 results agree with the float64 reference to 1e-10
relative to the output's scale (only summation order differs); float32
results to 2e-5 relative, about 2**-23 * sqrt(K) for K <= 1152 products
accumulated in float32 with margin.
"""
import numpy as np
import pytest

import cnncore
import cnncore.functional as F
import reference as ref

PATHS = {
    "direct": dict(USE_DIRECT=True),
    "one_gemm": dict(USE_DIRECT=False, BIG_GEMM_BYTES=1 << 40),
    "tiles": dict(USE_DIRECT=False, BIG_GEMM_BYTES=0, TILE_BYTES=2048),
}

CASES = [
    # (N, H, W, C_in, KH, KW, C_out, stride, dilation, padding)
    (1, 7, 9, 3, 3, 3, 64, 1, 1, "same"),
    (2, 8, 5, 64, 3, 3, 64, 1, 1, "same"),
    (1, 10, 7, 17, 3, 2, 128, (2, 1), 1, "valid"),
    (2, 9, 9, 64, 3, 3, 128, 2, (2, 1), "same"),
    (1, 6, 11, 5, 2, 3, 64, 1, (1, 2), ((2, 0), (1, 3))),
    (3, 5, 5, 128, 1, 1, 64, 1, 1, "valid"),
    (1, 4, 4, 64, 4, 4, 64, 3, 1, 1),
    (2, 13, 3, 8, 5, 1, 192, (1, 3), 1, "same"),
    (1, 1, 1, 64, 1, 1, 64, 1, 1, "valid"),
]


@pytest.fixture(params=list(PATHS))
def path(request, monkeypatch):
    if request.param == "direct" and not cnncore._conv.has_direct():
        pytest.skip("this CPU has no AVX-512: the direct path is never taken here")
    for name, value in PATHS[request.param].items():
        monkeypatch.setattr(F, name, value)
    return request.param


@pytest.fixture(params=[1, 2, 3])
def threads(request, monkeypatch):
    monkeypatch.setattr(F, "SERIAL_WORK", 0)  # these small cases too run on every thread
    old = cnncore.set_num_threads(request.param)
    yield request.param
    cnncore.set_num_threads(old)


def scaled_error(got, want):
    return np.abs(got - want).max() / max(np.abs(want).max(), 1.0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[:7])))
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-10)])
def test_path_matches_reference(path, threads, case, dtype, tol):
    N, H, W, C, KH, KW, O, stride, dilation, padding = case
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    x = rng.standard_normal((N, H, W, C))
    k = rng.standard_normal((KH, KW, C, O))
    b = rng.standard_normal(O)
    args = dict(stride=stride, padding=padding, dilation=dilation)

    y = cnncore.conv2d(x.astype(dtype), k.astype(dtype), b.astype(dtype), **args)
    want = ref.conv2d(x, k, b, **args)
    assert y.dtype == dtype and y.shape == want.shape
    assert scaled_error(y, want) < tol

    dy = rng.standard_normal(want.shape)
    dx, dk, db = cnncore.conv2d_backward(dy.astype(dtype), x.astype(dtype), k.astype(dtype), **args)
    want_dx, want_dk, want_db = ref.conv2d_backward(dy, x, k, **args)
    for got, want in ((dx, want_dx), (dk, want_dk), (db, want_db)):
        assert got.dtype == dtype and got.shape == want.shape
        assert scaled_error(got, want) < tol


def test_direct_path_is_taken_on_avx512(monkeypatch):
    """On a CPU with AVX-512, float32 convolutions with C_out % 64 == 0 use the micro-kernel."""
    if not cnncore._conv.has_direct():
        pytest.skip("this CPU has no AVX-512")
    calls = []
    real = cnncore._conv.direct_forward
    monkeypatch.setattr(cnncore._conv, "direct_forward",
                        lambda *a: calls.append(1) or real(*a))
    x = np.ones((1, 6, 6, 8), np.float32)
    cnncore.conv2d(x, np.ones((3, 3, 8, 64), np.float32), padding="same")
    assert calls == [1]
    cnncore.conv2d(x.astype(np.float64), np.ones((3, 3, 8, 64)), padding="same")
    assert calls == [1]  # float64 goes through BLAS
