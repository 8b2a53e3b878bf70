"""Every internal convolution path against the NumPy reference.

cnncore.functional picks a path per call: a micro-kernel (float32: AVX-512,
AVX2 or portable) reading the padded input or an im2col matrix, one im2col
+ multi-threaded GEMM, or tiles of im2col + GEMM spread over threads.  Each
is forced here in turn (by the module's tuning switches; a micro-kernel this
CPU cannot run is skipped) on geometries that reach its edge cases: channel
counts around and below the 16- and 64-wide blocks, pixel counts that leave
a partial block of rows, strides, dilations, asymmetric padding, batches,
and thread counts.

Tolerances: float64 results agree with the float64 reference to 1e-10
relative to the output's scale (only summation order differs); float32
results to 2e-5 relative, about 2**-23 * sqrt(K) for K <= 1152 products
accumulated in float32 with margin.
"""
import zlib

import numpy as np
import pytest

import cnncore
import cnncore.functional as F
import reference as ref

MICROKERNELS = ("avx512", "avx2", "portable")
PATHS = {
    **{isa: dict(MICROKERNEL=isa) for isa in MICROKERNELS},
    "one_gemm": dict(MICROKERNEL=None, BIG_GEMM_BYTES=1 << 40),
    "tiles": dict(MICROKERNEL=None, BIG_GEMM_BYTES=0, TILE_BYTES=2048),
    # the CPU's own micro-kernel, its padded or im2col copy of x made one image at a time
    "per_image": dict(MICROKERNEL=cnncore._isa.microkernel({}), SOURCE_BYTES=1),
    # the CPU's own micro-kernel, a task per block of output channels that packs its
    # weights as it goes (as for big weights; small ones, as all of these, are packed
    # first and make every block of a task's pixels together)
    "block_per_task": dict(MICROKERNEL=cnncore._isa.microkernel({}), SMALL_WEIGHTS_BYTES=0),
    # the CPU's own micro-kernel, its forward's reduction in one chunk, or in chunks of
    # 5 indices (whatever the CPU's default is: AMD's AVX-512 runs one chunk)
    "one_chunk": dict(MICROKERNEL=cnncore._isa.microkernel({}),
                      CHUNK_BYTES=dict.fromkeys(MICROKERNELS, 0)),
    # the CPU's own micro-kernel storing every output past the caches (aligned rows)
    "streamed": dict(MICROKERNEL=cnncore._isa.microkernel({}), STREAM_BYTES=0),
    "small_chunks": dict(MICROKERNEL=cnncore._isa.microkernel({}),
                         CHUNK_BYTES={isa: 5 * 4 * cnncore._conv.isa_block(isa)[1]
                                      for isa in MICROKERNELS}),
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
    (1, 9, 10, 3, 3, 3, 3, 1, 1, "same"),
    (2, 7, 8, 20, 3, 3, 17, (1, 2), 1, "same"),
    (1, 8, 6, 70, 3, 3, 40, 1, (2, 1), "same"),
    (1, 6, 7, 16, 2, 2, 100, 2, 1, "valid"),
    (3, 7, 9, 5, 3, 3, 24, 1, (1, 2), "same"),
    (1, 3, 4, 16, 3, 3, 64, 1, 1, 3),       # runs wholly in the padding: zeros, never read
    (1, 5, 4, 12, 2, 3, 20, 1, 1, ((0, 3), (0, 0))),    # kernel rows on x, rows below it
    # every pixel at a border, in blocks by the taps they have inside (and the blocks
    # of the groups' remainders, mixed); 72 taps, past the 64 whose padding is skipped
    (5, 3, 4, 16, 3, 3, 24, 1, 1, "same"),
    (1, 10, 11, 16, 9, 8, 20, 1, 1, "same"),
    (4, 5, 5, 16, 3, 3, 70, 2, 1, ((1, 2), (2, 1))),
]


@pytest.fixture(params=list(PATHS))
def path(request, monkeypatch):
    if request.param in MICROKERNELS and not cnncore._conv.isa_supported(request.param):
        pytest.skip(f"this CPU cannot run the {request.param} micro-kernel")
    if PATHS[request.param]["MICROKERNEL"] is None and request.param not in ("one_gemm", "tiles"):
        pytest.skip("no micro-kernel on this CPU")
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
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))  # the same in every process
    x = rng.standard_normal((N, H, W, C))
    k = rng.standard_normal((KH, KW, C, O))
    b = rng.standard_normal(O)
    args = dict(stride=stride, padding=padding, dilation=dilation)

    y = cnncore.conv2d(x.astype(dtype), k.astype(dtype), b.astype(dtype), **args)
    want = ref.conv2d(x, k, b, **args)
    assert y.dtype == dtype and y.shape == want.shape
    assert scaled_error(y, want) < tol
    rectified = cnncore.conv2d(x.astype(dtype), k.astype(dtype), b.astype(dtype), relu=True, **args)
    np.testing.assert_array_equal(rectified, np.maximum(y, 0))

    dy = rng.standard_normal(want.shape)
    dx, dk, db = cnncore.conv2d_backward(dy.astype(dtype), x.astype(dtype), k.astype(dtype), **args)
    want_dx, want_dk, want_db = ref.conv2d_backward(dy, x, k, **args)
    for got, want in ((dx, want_dx), (dk, want_dk), (db, want_db)):
        assert got.dtype == dtype and got.shape == want.shape
        assert scaled_error(got, want) < tol


def test_float32_takes_the_best_micro_kernel_and_float64_blas(monkeypatch):
    """float32 convolutions use the fastest micro-kernel the CPU has; on AVX-512 CPUs, the
    AVX2 one for fewer than 32 blocked channels; float64 always goes through BLAS."""
    best = cnncore._isa.microkernel({})
    calls = []
    real = cnncore._conv.direct_forward
    monkeypatch.setattr(cnncore._conv, "direct_forward",
                        lambda *a: calls.append(next(v for v in a if isinstance(v, str)))
                        or real(*a))
    monkeypatch.setattr(F, "MICROKERNEL", best)
    x = np.ones((1, 6, 6, 8), np.float32)
    cnncore.conv2d(x, np.ones((3, 3, 8, 64), np.float32), padding="same")
    cnncore.conv2d(x, np.ones((3, 3, 8, 8), np.float32), padding="same")
    assert calls == [best, "avx2" if best == "avx512" else best]
    cnncore.conv2d(x.astype(np.float64), np.ones((3, 3, 8, 64)), padding="same")
    assert len(calls) == 2


@pytest.mark.skipif(cnncore._isa.microkernel({}) is None, reason="no micro-kernel on this CPU")
@pytest.mark.parametrize("source_bytes, calls", [(1, 3), (1 << 30, 1)])
def test_micro_kernels_copy_a_few_images_at_a_time(monkeypatch, source_bytes, calls):
    """With few channels the micro-kernels read a zero-padded copy of x, which holds
    SOURCE_BYTES' worth of images (at least one), so a big layer's batch is not copied
    whole: one call per chunk.  With more, they read x itself, padding and all, at once."""
    seen = {"direct_forward": [], "direct_dkernel": []}
    for name, log in seen.items():
        real = getattr(cnncore._conv, name)
        monkeypatch.setattr(cnncore._conv, name, lambda *a, real=real, log=log:
                            log.append(a[0]) or real(*a))
    monkeypatch.setattr(F, "MICROKERNEL", cnncore._isa.microkernel({}))
    monkeypatch.setattr(F, "SOURCE_BYTES", source_bytes)
    x = np.ones((3, 5, 6, 8), np.float32)
    kernel = np.ones((3, 3, 8, 64), np.float32)
    y = cnncore.conv2d(x, kernel, padding="same")
    cnncore.conv2d_backward(np.ones_like(y), x, kernel, padding="same")
    forward, flipped = seen["direct_forward"][:calls], seen["direct_forward"][calls:]
    # x's 8 channels: padded copies, a few images each; dx reads dy's 64 channels in place
    assert [a.shape for a in forward] == [(3 // calls, 7, 8, 8)] * calls
    assert [a.shape for a in seen["direct_dkernel"]] == [(3 // calls, 7, 8, 8)] * calls
    assert len(flipped) == 1 and flipped[0].shape == y.shape
    assert np.array_equal(y, ref.conv2d(x, kernel, padding="same"))
    seen["direct_forward"].clear()
    x16 = np.ones((3, 5, 6, 16), np.float32)
    cnncore.conv2d(x16, np.ones((3, 3, 16, 64), np.float32), padding="same")
    assert len(seen["direct_forward"]) == 1 and np.shares_memory(seen["direct_forward"][0], x16)
