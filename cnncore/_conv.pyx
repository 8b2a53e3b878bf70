"""Convolution kernels: im2col over tiles of output pixels, then BLAS GEMM; the
micro-kernels' drivers; and ``matmul``, the matrix product on cnncore's OpenMP
threads that dense layers use too.

Prior validation assumed (cnncore.functional checks every argument and
allocates every output): arrays are C-contiguous, shapes agree, strides and
dilations are >= 1, output sizes are >= 1.  Paddings are signed: a negative
padding crops, which the input-gradient path uses.

Layout: x is (N, H, W, C); the kernel is flattened to w (KH*KW*C, O); an
output pixel p = (b*OH + i)*OW + j has its receptive field copied into row p
of the column matrix (KH, KW, C order), and y[p, :] = col[p, :] @ w.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange, threadid
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport dgemm, dgemv, sgemm, sgemv

from cnncore._direct cimport (CNNCORE_AVX2, CNNCORE_AVX512, CNNCORE_PORTABLE, cnncore_fields,
                             cnncore_direct_block, cnncore_dkernel_tasks, cnncore_isa_cols,
                             cnncore_isa_rows, cnncore_isa_supported, cnncore_cpu_is_amd)


cdef inline void _gemm(char transa, char transb, int m, int n, int k,
                       floating alpha, const floating* a, int lda,
                       const floating* b, int ldb, floating beta,
                       floating* c, int ldc) noexcept nogil:
    """Column-major C = alpha * op(A) op(B) + beta * C (row-major callers swap operands)."""
    if floating is float:
        sgemm(&transa, &transb, &m, &n, &k, &alpha, <float*> a, &lda,
              <float*> b, &ldb, &beta, c, &ldc)
    else:
        dgemm(&transa, &transb, &m, &n, &k, &alpha, <double*> a, &lda,
              <double*> b, &ldb, &beta, c, &ldc)


cdef inline void _gemv(char trans, int m, int n, const floating* a, int lda,
                       const floating* x, int incx, floating* y) noexcept nogil:
    """Column-major y = op(A) x (A is m x n)."""
    cdef int incy = 1
    cdef floating one = 1.0, zero = 0.0
    if floating is float:
        sgemv(&trans, &m, &n, &one, <float*> a, &lda, <float*> x, &incx, &zero, y, &incy)
    else:
        dgemv(&trans, &m, &n, &one, <double*> a, &lda, <double*> x, &incx, &zero, y, &incy)


cdef void _im2col(const floating* x,         # IN  (N, H, W, C)
                  floating* col,             # OUT (p1 - p0, KH*KW*C)
                  Py_ssize_t p0, Py_ssize_t p1,
                  Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                  Py_ssize_t OH, Py_ssize_t OW, Py_ssize_t KH, Py_ssize_t KW,
                  Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dh, Py_ssize_t dw,
                  Py_ssize_t pt, Py_ssize_t pl) noexcept nogil:
    """Copy the receptive fields of output pixels p0..p1-1 into rows of col."""
    cdef Py_ssize_t K = KH * KW * C
    cdef Py_ssize_t row_len = KW * C
    cdef size_t item = sizeof(floating)
    cdef Py_ssize_t p, b, r, i, j, m, n, h, w, h0, w0
    cdef floating* dst
    cdef const floating* src
    for p in range(p0, p1):
        b = p // (OH * OW)
        r = p - b * OH * OW
        i = r // OW
        j = r - i * OW
        h0 = i * sh - pt
        w0 = j * sw - pl
        for m in range(KH):
            dst = col + (p - p0) * K + m * row_len
            h = h0 + m * dh
            if h < 0 or h >= H:
                memset(dst, 0, row_len * item)
                continue
            src = x + (b * H + h) * W * C
            if dw == 1 and w0 >= 0 and w0 + KW <= W:
                memcpy(dst, src + w0 * C, row_len * item)
                continue
            for n in range(KW):
                w = w0 + n * dw
                if w < 0 or w >= W:
                    memset(dst + n * C, 0, C * item)
                else:
                    memcpy(dst + n * C, src + w * C, C * item)


cdef inline void _add_bias(floating* y, const floating* bias,
                           Py_ssize_t rows, Py_ssize_t O) noexcept nogil:
    cdef Py_ssize_t r, o
    for r in range(rows):
        for o in range(O):
            y[r * O + o] += bias[o]


cdef inline int _gemm_operand(const floating[:, :] a, Py_ssize_t* ld) noexcept:
    """How BLAS reads the row-major matrix a: 1 to transpose it (a is a
    Fortran-ordered view, e.g. a transpose), else 0; its leading dimension in
    ld.  -1: neither C- nor Fortran-ordered."""
    cdef Py_ssize_t item = sizeof(floating)
    if a.shape[1] == 1 or a.strides[1] == item:     # rows of contiguous values
        ld[0] = max(a.strides[0] // item, a.shape[1], 1)
        return 0
    if a.shape[0] == 1 or a.strides[0] == item:     # columns of contiguous values
        ld[0] = max(a.strides[1] // item, a.shape[0], 1)
        return 1
    return -1


def matmul(const floating[:, :] a,     # IN  (m, k): C- or Fortran-ordered
           const floating[:, :] b,     # IN  (k, n): C- or Fortran-ordered
           floating[:, ::1] out,       # OUT (m, n)
           int nthreads):
    """out = a @ b, one BLAS call per OpenMP thread on its share of out's rows
    (or columns, when out is wider than tall), a matrix-vector product when out
    is one row or column; the caller limits BLAS to one thread, so that only
    cnncore's OpenMP threads run (see docs/design.md, Threads).  m, n and k are
    >= 1."""
    cdef Py_ssize_t m = a.shape[0], k = a.shape[1], n = b.shape[1]
    cdef Py_ssize_t lda, ldb, t, i0, i1
    cdef int ta = _gemm_operand(a, &lda), tb = _gemm_operand(b, &ldb)
    # row-major out = a @ b is column-major out^T = b^T a^T: b is BLAS's first operand
    cdef char opa = c'T' if ta else c'N', opb = c'T' if tb else c'N'
    cdef bint by_rows = m >= n
    cdef Py_ssize_t total = m if by_rows else n
    cdef Py_ssize_t share = ((total + nthreads - 1) // nthreads + 15) // 16 * 16
    cdef const floating* ap = &a[0, 0]
    cdef const floating* bp = &b[0, 0]
    cdef floating* cp = &out[0, 0]
    cdef Py_ssize_t sa = a.strides[0] // sizeof(floating), sb = b.strides[1] // sizeof(floating)
    # the vector of a matrix-vector product: a's one row, or b's one column
    cdef int inca = <int> (lda if ta else 1), incb = <int> (1 if tb else ldb)
    assert b.shape[0] == k and out.shape[0] == m and out.shape[1] == n and m * n * k > 0
    assert ta >= 0 and tb >= 0, "matmul: operands must be C- or Fortran-ordered"
    with nogil:
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            i0 = t * share
            i1 = min(i0 + share, total)
            if i0 >= i1:
                continue
            if by_rows and n == 1:      # out[i0:i1, 0] = a[i0:i1] @ b[:, 0]
                if ta:
                    _gemv(c'N', <int> (i1 - i0), <int> k, ap + i0 * sa, <int> lda, bp, incb,
                          cp + i0)
                else:
                    _gemv(c'T', <int> k, <int> (i1 - i0), ap + i0 * sa, <int> lda, bp, incb,
                          cp + i0)
            elif by_rows:               # out[i0:i1] = a[i0:i1] @ b
                _gemm(opb, opa, <int> n, <int> (i1 - i0), <int> k, <floating> 1.0, bp,
                      <int> ldb, ap + i0 * sa, <int> lda, <floating> 0.0, cp + i0 * n, <int> n)
            elif m == 1:                # out[0, i0:i1] = a[0] @ b[:, i0:i1]
                if tb:
                    _gemv(c'T', <int> k, <int> (i1 - i0), bp + i0 * sb, <int> ldb, ap, inca,
                          cp + i0)
                else:
                    _gemv(c'N', <int> (i1 - i0), <int> k, bp + i0 * sb, <int> ldb, ap, inca,
                          cp + i0)
            else:                       # out[:, i0:i1] = a @ b[:, i0:i1]
                _gemm(opb, opa, <int> (i1 - i0), <int> m, <int> k, <floating> 1.0,
                      bp + i0 * sb, <int> ldb, ap, <int> lda, <floating> 0.0, cp + i0,
                      <int> n)


def im2col(const floating[:, :, :, ::1] x,   # IN  (N, H, W, C)
           floating[:, ::1] col,             # OUT (N*OH*OW, KH*KW*C)
           int OH, int OW, int KH, int KW, int sh, int sw, int dh, int dw,
           int pt, int pl, int nthreads):
    """Whole column matrix, rows split over threads (for one large GEMM after)."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t P = N * OH * OW
    cdef Py_ssize_t K = KH * KW * C
    cdef Py_ssize_t chunk = (P + nthreads - 1) // nthreads
    cdef Py_ssize_t t, p0, p1
    cdef const floating* xp = &x[0, 0, 0, 0]
    cdef floating* cp = &col[0, 0]
    with nogil:
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            p0 = t * chunk
            p1 = min(p0 + chunk, P)
            if p0 < p1:
                _im2col(xp, cp + p0 * K, p0, p1, H, W, C, OH, OW, KH, KW,
                        sh, sw, dh, dw, pt, pl)


def forward_tiled(const floating[:, :, :, ::1] x,   # IN  (N, H, W, C)
                  const floating[:, ::1] w,         # IN  (KH*KW*C, O)
                  const floating[::1] bias,         # IN  (O,) or empty: no bias
                  floating[:, :, :, ::1] y,         # OUT (N, OH, OW, O)
                  floating[:, ::1] work,            # scratch (nthreads, tile*KH*KW*C)
                  int KH, int KW, int sh, int sw, int dh, int dw, int pt, int pl,
                  Py_ssize_t tile, int nthreads):
    """y = conv(x, w) + bias, one tile of output pixels per step, tiles over threads.

    BLAS must be single-threaded while this runs (the caller sees to it).
    """
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t OH = y.shape[1], OW = y.shape[2], O = y.shape[3]
    cdef Py_ssize_t K = KH * KW * C
    cdef Py_ssize_t P = N * OH * OW
    cdef Py_ssize_t ntiles = (P + tile - 1) // tile
    cdef bint has_bias = bias.shape[0] > 0
    cdef Py_ssize_t t, p0, p1
    cdef int tid
    cdef floating* colp
    cdef const floating* xp = &x[0, 0, 0, 0]
    cdef const floating* wp = &w[0, 0]
    cdef floating* yp = &y[0, 0, 0, 0]
    cdef floating* workp = &work[0, 0]
    cdef Py_ssize_t ws = work.shape[1]
    cdef const floating* bp = &bias[0] if has_bias else NULL
    with nogil, parallel(num_threads=nthreads):
        tid = threadid()
        colp = workp + tid * ws
        for t in prange(ntiles, schedule="static"):
            p0 = t * tile
            p1 = min(p0 + tile, P)
            _im2col(xp, colp, p0, p1, H, W, C, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl)
            _gemm(c'N', c'N', <int> O, <int> (p1 - p0), <int> K, <floating> 1.0,
                  wp, <int> O, colp, <int> K, <floating> 0.0, yp + p0 * O, <int> O)
            if has_bias:
                _add_bias(yp + p0 * O, bp, p1 - p0, O)


def dkernel_tiled(const floating[:, :, :, ::1] x,    # IN  (N, H, W, C)
                  const floating[:, :, :, ::1] dy,   # IN  (N, OH, OW, O)
                  floating[:, :, ::1] dw_parts,      # OUT (nthreads, KH*KW*C, O), zeroed
                  floating[:, ::1] work,             # scratch (nthreads, tile*KH*KW*C)
                  int KH, int KW, int sh, int sw, int dh, int dw, int pt, int pl,
                  Py_ssize_t tile, int nthreads):
    """dw_parts[t] = sum over the tiles thread t ran of col_tile.T @ dy_tile.

    The caller sums the per-thread parts.  BLAS must be single-threaded.
    """
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t OH = dy.shape[1], OW = dy.shape[2], O = dy.shape[3]
    cdef Py_ssize_t K = KH * KW * C
    cdef Py_ssize_t P = N * OH * OW
    cdef Py_ssize_t ntiles = (P + tile - 1) // tile
    cdef Py_ssize_t t, p0, p1
    cdef int tid
    cdef floating* colp
    cdef floating* partp
    cdef const floating* xp = &x[0, 0, 0, 0]
    cdef const floating* dyp = &dy[0, 0, 0, 0]
    cdef floating* workp = &work[0, 0]
    cdef floating* dwp = &dw_parts[0, 0, 0]
    cdef Py_ssize_t ws = work.shape[1]
    with nogil, parallel(num_threads=nthreads):
        tid = threadid()
        colp = workp + tid * ws
        partp = dwp + tid * K * O
        for t in prange(ntiles, schedule="static"):
            p0 = t * tile
            p1 = min(p0 + tile, P)
            _im2col(xp, colp, p0, p1, H, W, C, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl)
            # row-major dW (K, O) += col.T (K, p) @ dy (p, O)
            _gemm(c'N', c'T', <int> O, <int> K, <int> (p1 - p0), <floating> 1.0,
                  dyp + p0 * O, <int> O, colp, <int> K, <floating> 1.0, partp, <int> O)


def dilate_rows_cols(const floating[:, :, :, ::1] dy,   # IN  (N, OH, OW, O)
                     floating[:, :, :, ::1] out,        # OUT (N, (OH-1)*sh+1, (OW-1)*sw+1, O), zeroed
                     int sh, int sw):
    """Scatter dy into every sh-th row and sw-th column of a zeroed array."""
    cdef Py_ssize_t N = dy.shape[0], OH = dy.shape[1], OW = dy.shape[2], O = dy.shape[3]
    cdef Py_ssize_t b, i, j
    with nogil:
        for b in range(N):
            for i in range(OH):
                for j in range(OW):
                    memcpy(&out[b, i * sh, j * sw, 0], &dy[b, i, j, 0], O * sizeof(floating))


def col2im_gather(const floating[:, :, :, ::1] g,   # IN  (N, OH, OW, KH*KW*C): dy @ kernel^T
                  floating[:, :, :, ::1] dx,        # OUT (N, H, W, C)
                  int KH, int KW, int sh, int sw, int dh, int dw, int pt, int pl, int nthreads):
    """dx[b, h, w, :] = sum of g[b, i, j, (m, n, :)] over the taps (m, n) and output
    pixels (i, j) whose receptive field puts tap (m, n) on input pixel (h, w)."""
    cdef Py_ssize_t N = dx.shape[0], H = dx.shape[1], W = dx.shape[2], C = dx.shape[3]
    cdef Py_ssize_t OH = g.shape[1], OW = g.shape[2]
    cdef Py_ssize_t row, b, h, w, m, n, c, ih, iw, i, j
    cdef floating* out
    cdef const floating* src
    with nogil:
        for row in prange(N * H, num_threads=nthreads, schedule="static"):
            b = row // H
            h = row - b * H
            for w in range(W):
                out = &dx[b, h, w, 0]
                for c in range(C):
                    out[c] = 0
                for m in range(KH):
                    ih = h + pt - m * dh
                    if ih < 0 or ih % sh != 0 or ih // sh >= OH:
                        continue
                    i = ih // sh
                    for n in range(KW):
                        iw = w + pl - n * dw
                        if iw < 0 or iw % sw != 0 or iw // sw >= OW:
                            continue
                        j = iw // sw
                        src = &g[b, i, j, (m * KW + n) * C]
                        for c in range(C):
                            out[c] += src[c]


# ---------------------------------------------------------------------------
# Direct float32 path: register-blocked micro-kernels (see _direct.h)

ISA_CODES = {"avx512": CNNCORE_AVX512, "avx2": CNNCORE_AVX2, "portable": CNNCORE_PORTABLE}


def isa_supported(str isa):
    """True when this CPU and build run the micro-kernel ``isa`` (a key of ISA_CODES)."""
    return bool(cnncore_isa_supported(ISA_CODES[isa]))


def cpu_is_amd():
    """True on an AMD CPU (x86-64, GCC or Clang build)."""
    return bool(cnncore_cpu_is_amd())


def isa_block(str isa):
    """(rows, columns) of the micro-kernel's register block: columns are output channels."""
    code = ISA_CODES[isa]
    return cnncore_isa_rows(code), cnncore_isa_cols(code)


def pad_into(const floating[:, :, :, ::1] x,   # IN  (N, H, W, C)
             floating[:, :, :, ::1] out,       # OUT (N, pt + H + pb, pl + W + pr, C)
             int pt, int pl, int nthreads):
    """out = x with zero borders (pt rows on top, pl columns on the left, the rest after)."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t Hp = out.shape[1], Wp = out.shape[2]
    cdef Py_ssize_t row, b, h
    cdef size_t item = sizeof(floating)
    cdef floating* dst
    cdef floating* outp = &out[0, 0, 0, 0]
    cdef const floating* xp = &x[0, 0, 0, 0]
    with nogil:
        for row in prange(N * Hp, num_threads=nthreads, schedule="static"):
            b = row // Hp
            h = row - b * Hp - pt
            dst = outp + row * Wp * C
            if h < 0 or h >= H:
                memset(dst, 0, Wp * C * item)
            else:
                memset(dst, 0, pl * C * item)
                memcpy(dst + pl * C, xp + (b * H + h) * W * C, W * C * item)
                memset(dst + (pl + W) * C, 0, (Wp - pl - W) * C * item)


cdef cnncore_fields _fields(const float[:, :, :, ::1] x, const Py_ssize_t[:, ::1] taps,
                            Py_ssize_t OH, Py_ssize_t OW, Py_ssize_t run, int sh, int sw,
                            int pt, int pl):
    """Where the micro-kernels read receptive fields (cnncore_fields in _direct.h)."""
    cdef cnncore_fields f
    assert taps.shape[1] == 2 and taps.shape[0] > 0 and run > 0 and run % x.shape[3] == 0
    f.x = &x[0, 0, 0, 0]
    f.H, f.W, f.C = x.shape[1], x.shape[2], x.shape[3]
    f.OH, f.OW, f.sh, f.sw, f.pt, f.pl = OH, OW, sh, sw, pt, pl
    f.tap = &taps[0, 0]
    f.ntaps = <int> taps.shape[0]
    f.run = run
    return f


def direct_forward(const float[:, :, :, ::1] x,      # IN  (N, H, W, C): what the fields read
                   const float[:, ::1] kernel,       # IN  (KH*KW*C, O) to pack on the way, or (0, 0)
                   float[:, :, ::1] wpack,           # IN  packed (ceil(O / cols), KH*KW*C, cols), or
                                                     #     scratch (nthreads, KH*KW*C, cols) with kernel
                   const float[::1] bias,            # IN  (O,) or empty: no bias
                   const Py_ssize_t[:, ::1] taps,    # IN  (ntaps, 2) (row, column) of each run
                   float[:, :, :, ::1] y,            # OUT (N, OH, OW, O)
                   Py_ssize_t run, int sh, int sw, int pt, int pl, bint relu, bint stream,
                   str isa, int group, Py_ssize_t kc, int nthreads):
    """y = conv(x, w) + bias (then max(y, 0) with relu); tasks are (``group``
    channel blocks, pixel chunk) pairs.  With ``stream``, y is stored past the
    caches (an output larger than they are).

    Output pixel (b, i, j) reads ntaps runs of ``run`` contiguous values of
    x, each ``taps[t]`` rows and columns from its receptive field's corner
    (i*sh - pt, j*sw - pl); runs outside x read zeros.  Tasks are handed out
    dynamically, channel blocks after channel blocks, so a thread the OS holds
    back does not hold up the others; there are 4 per thread, or one per
    channel block when that is more.  A task of several blocks computes each
    pixel tile's output channels together: right when the weights are small,
    whose reuse the block-after-block order would buy.  The reduction goes in
    chunks of ``kc`` indices (0: in one).
    With ``kernel`` (and a group of 1), each task packs its block's weights
    into its thread's part of ``wpack`` while it makes its first tile.
    """
    cdef int code = ISA_CODES[isa]
    cdef Py_ssize_t OH = y.shape[1], OW = y.shape[2], O = y.shape[3]
    cdef Py_ssize_t P = y.shape[0] * OH * OW
    cdef Py_ssize_t cols = wpack.shape[2], nblocks = (O + cols - 1) // cols
    cdef Py_ssize_t ngroups = (nblocks + group - 1) // group
    cdef Py_ssize_t rows = cnncore_isa_rows(code)
    cdef Py_ssize_t nchunks = min((4 * nthreads + ngroups - 1) // ngroups,
                                  (P + 16 * rows - 1) // (16 * rows)) if nthreads > 1 else 1
    cdef Py_ssize_t chunk = ((P + rows - 1) // rows + nchunks - 1) // nchunks * rows
    cdef Py_ssize_t task, o0, p0, p1
    cdef int tid
    cdef int failed = 0
    cdef cnncore_fields f = _fields(x, taps, OH, OW, run, sh, sw, pt, pl)
    cdef bint has_bias = bias.shape[0] > 0
    cdef bint packing = kernel.shape[0] > 0
    cdef const float* kptr = &kernel[0, 0] if packing else NULL
    cdef float* wptr = &wpack[0, 0, 0]
    cdef const float* bptr = &bias[0] if has_bias else NULL
    cdef float* yptr = &y[0, 0, 0, 0]
    cdef Py_ssize_t wstride = wpack.shape[1] * cols
    assert cnncore_isa_cols(code) == cols and group >= 1 and x.shape[0] == y.shape[0]
    if packing:
        assert group == 1 and wpack.shape[0] >= nthreads and kernel.shape[1] == O
    else:
        assert wpack.shape[0] == nblocks
    with nogil, parallel(num_threads=nthreads):
        tid = threadid()
        for task in prange(ngroups * nchunks, schedule="dynamic"):
            o0 = task // nchunks * group * cols
            p0 = task % nchunks * chunk
            p1 = min(p0 + chunk, P)
            if p0 < p1:
                failed += cnncore_direct_block(
                    code, &f, kptr + o0 if packing else NULL, O,
                    wptr + (tid if packing else o0 // cols) * wstride,
                    bptr + o0 if has_bias else NULL, relu, stream,
                    yptr + o0, O, <int> min(group * cols, O - o0), kc, p0, p1) != 0  # a reduction
    if failed:
        raise MemoryError("conv2d: no memory for the micro-kernel's tables of receptive fields")


def direct_dkernel(const float[:, :, :, ::1] x,      # IN  (N, H, W, C): what the fields read
                   const float[:, ::1] dy,           # IN  (N*OH*OW, ldy): ldy >= O, a multiple of cols
                   const Py_ssize_t[:, ::1] taps,    # IN  (ntaps, 2) (row, column) of each run
                   float[:, :, ::1] dk,              # OUT (1 or nthreads, ntaps*run, O), zeroed
                   double[:, ::1] db,                # OUT (len(dk), O), zeroed
                   int OH, int OW, Py_ssize_t run, int sh, int sw, int pt, int pl,
                   Py_ssize_t chunk, str isa, int nthreads):
    """Kernel gradient dk[k, o] += sum_p col[p, k] * dy[p, o], and the bias gradient
    db[o] += sum_p dy[p, o]; the receptive fields as direct_forward reads them.

    With one part in dk, each thread owns a contiguous range of (6 reduction
    rows, channel block) tasks, so no two threads write the same part of dk,
    and walks all the pixels chunk by chunk, so that a chunk of x and dy stays
    in cache while all its tasks use it (thread 0 sums db).  With a part per
    thread (a small dk), each thread takes every task over its own share of
    the pixels, adding into its own parts of dk and db (the caller sums them):
    dy is read once, not once per thread, and a dk of few tasks still keeps
    every thread busy.
    """
    cdef int code = ISA_CODES[isa]
    cdef Py_ssize_t P = dy.shape[0], ldy = dy.shape[1]
    cdef Py_ssize_t nparts = dk.shape[0], K = dk.shape[1], O = dk.shape[2]
    cdef Py_ssize_t rows = cnncore_isa_rows(code), cols = cnncore_isa_cols(code)
    cdef Py_ssize_t ntasks = (K + rows - 1) // rows * ((O + cols - 1) // cols)
    cdef Py_ssize_t t, part, pbeg, pend, task0, task1
    cdef int failed = 0
    cdef bint by_pixels = nparts > 1
    cdef cnncore_fields f = _fields(x, taps, OH, OW, run, sh, sw, pt, pl)
    cdef const float* dyptr = &dy[0, 0]
    cdef float* dkptr = &dk[0, 0, 0]
    cdef double* dbptr = &db[0, 0]
    assert ldy % cols == 0 and ldy >= O and P == x.shape[0] * OH * OW and K == taps.shape[0] * run
    assert (nparts == 1 or nparts == nthreads) and db.shape[0] == nparts and db.shape[1] == O
    with nogil:
        for t in prange(nthreads, num_threads=nthreads, schedule="static"):
            # a part per thread: every task over its pixels; else its tasks over every pixel
            part = t if by_pixels else 0
            pbeg = t * P // nthreads if by_pixels else 0
            pend = (t + 1) * P // nthreads if by_pixels else P
            task0 = 0 if by_pixels else t * ntasks // nthreads
            task1 = ntasks if by_pixels else (t + 1) * ntasks // nthreads
            failed += cnncore_dkernel_tasks(code, &f, dyptr, ldy, O, dkptr + part * K * O,
                                            dbptr + part * O if by_pixels or t == 0 else NULL,
                                            pbeg, pend, chunk, task0, task1) != 0  # a reduction
    if failed:
        raise MemoryError("conv2d_backward: no memory for the kernel gradient's index tables")


cdef void _pack_transposed(const float* src, Py_ssize_t lds, float* dst, Py_ssize_t R,
                           Py_ssize_t cols, Py_ssize_t n) noexcept nogil:
    """dst[r*cols + v] = src[v*lds + r] for v < n, else 0 (r < R, v < cols, a multiple
    of 16): a transpose, a 16 x 16 tile at a time through a local copy.  Read down a
    column instead, src's rows (lds floats apart, often a power of two) crowd a few sets
    of L1 and each line was evicted before its next float was read: a 512 x 512 x 3 x 3
    kernel took 2.4 ms to pack at 2 threads, 0.55 ms in tiles."""
    cdef float tile[16][16]
    cdef Py_ssize_t r0, v0, r, v, nr
    for r0 in range(0, R, 16):
        nr = min(16, R - r0)
        for v0 in range(0, cols, 16):
            for v in range(16):
                for r in range(nr):
                    tile[r][v] = src[(v0 + v) * lds + r0 + r] if v0 + v < n else 0
            for r in range(nr):
                memcpy(dst + (r0 + r) * cols + v0, &tile[r][0], 16 * sizeof(float))


def pack_weights(const float[:, :, :, ::1] kernel,   # IN  (KH, KW, C, O)
                 float[:, :, ::1] out,               # OUT (blocks, KH*KW*R, cols)
                 bint flip, int nthreads):
    """The micro-kernel's weight layout, in one parallel pass over the kernel,
    zero past the last output channel.

    flip False (forward): out[b, t*C + c, v] = kernel[t, c, b*cols + v], blocks over O.
    flip True (input gradient, a correlation with the kernel flipped in both
    spatial axes and its channels swapped):
    out[b, t*O + o, v] = kernel[T-1-t, b*cols + v, o], blocks over C.
    """
    cdef Py_ssize_t T = kernel.shape[0] * kernel.shape[1]
    cdef Py_ssize_t C = kernel.shape[2], O = kernel.shape[3]
    cdef Py_ssize_t nb = out.shape[0], cols = out.shape[2]
    cdef Py_ssize_t R = C if not flip else O
    cdef Py_ssize_t Q = O if not flip else C      # the channels blocked over
    cdef Py_ssize_t task, t, b, r, n
    cdef const float* src
    cdef const float* kp = &kernel[0, 0, 0, 0]
    cdef float* outp = &out[0, 0, 0]
    cdef float* dst
    with nogil:
        for task in prange(T * nb, num_threads=nthreads, schedule="static"):
            t = task // nb
            b = task - t * nb
            n = min(cols, Q - b * cols)
            dst = outp + (b * T * R + t * R) * cols
            if not flip:
                src = kp + t * C * O + b * cols
                for r in range(R):
                    memcpy(dst + r * cols, src + r * O, n * sizeof(float))
                    memset(dst + r * cols + n, 0, (cols - n) * sizeof(float))
            else:
                _pack_transposed(kp + (T - 1 - t) * C * O + b * cols * O, O, dst, R, cols, n)
