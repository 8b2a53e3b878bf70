/* Direct float32 convolution with a register-blocked AVX-512 micro-kernel.
 *
 * The GEMM behind a convolution, y[p, o] = sum_k col[p, k] * w[k, o], with
 * the column matrix never written: for channels-last input, row p of col is
 * KH*KW runs of C contiguous values of the (padded) input, one run per
 * kernel tap.  The micro-kernel keeps a 6-pixel x 64-channel block of y in
 * 24 zmm registers and streams the packed weights of that channel block.
 *
 * Prior validation assumed (cnncore.functional): the input is padded so that
 * every read is inside it, C_out is a multiple of 64, weights are packed as
 * (C_out / 64, KH*KW*C, 64).  Compiled for AVX-512 through a target
 * attribute only; callers check cnncore_has_avx512() first and use the
 * portable im2col + BLAS path otherwise.
 */
#ifndef CNNCORE_DIRECT_H
#define CNNCORE_DIRECT_H

#include <stddef.h>

#define CNNCORE_ROWS 6
#define CNNCORE_COLS 64

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

static int cnncore_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

#define CNNCORE_TARGET __attribute__((target("avx512f,fma")))

#define FMA_ROW(r, s)                                  \
    b = _mm512_set1_ps((s)[c]);                        \
    a##r##0 = _mm512_fmadd_ps(b, w0, a##r##0);         \
    a##r##1 = _mm512_fmadd_ps(b, w1, a##r##1);         \
    a##r##2 = _mm512_fmadd_ps(b, w2, a##r##2);         \
    a##r##3 = _mm512_fmadd_ps(b, w3, a##r##3);

#define STORE_ROW(r)                                                         \
    if (r < nrows) {                                                         \
        float *out = y + (ptrdiff_t)r * ldy;                                 \
        _mm512_storeu_ps(out, _mm512_add_ps(a##r##0, bias0));               \
        _mm512_storeu_ps(out + 16, _mm512_add_ps(a##r##1, bias1));          \
        _mm512_storeu_ps(out + 32, _mm512_add_ps(a##r##2, bias2));          \
        _mm512_storeu_ps(out + 48, _mm512_add_ps(a##r##3, bias3));          \
    }

#define LOAD_ROW(r)                                                          \
    {                                                                        \
        const float *in = y + (ptrdiff_t)(r < nrows ? r : 0) * ldy;          \
        a##r##0 = _mm512_loadu_ps(in);                                       \
        a##r##1 = _mm512_loadu_ps(in + 16);                                  \
        a##r##2 = _mm512_loadu_ps(in + 32);                                  \
        a##r##3 = _mm512_loadu_ps(in + 48);                                  \
    }

/* Pixels per tile (their receptive fields stay in L2 while every chunk of
 * the reduction passes over them) and reduction values per chunk (a chunk's
 * packed weights, KC x 64 floats, stay in L1/L2 while every pixel of the
 * tile uses them). */
#ifndef CNNCORE_PTILE
#define CNNCORE_PTILE (32 * CNNCORE_ROWS)
#endif
#ifndef CNNCORE_KC
#define CNNCORE_KC 128
#endif

/* One chunk k0..k1-1 of the reduction for 6 pixels x 64 channels:
 * y[r, 0:64] (+)= sum_{k0 <= t*run + c < k1} src[r][off[t] + c] * w[(t*run + c - k0)*64 : +64].
 * The first chunk (k0 == 0) starts from the bias; later ones add to y. */
CNNCORE_TARGET static void cnncore_ukernel_6x64(
    const float *const *src, const ptrdiff_t *off, ptrdiff_t run, ptrdiff_t k0, ptrdiff_t k1,
    const float *w, const float *bias, float *y, ptrdiff_t ldy, int nrows)
{
    __m512 a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23;
    __m512 a30, a31, a32, a33, a40, a41, a42, a43, a50, a51, a52, a53;
    __m512 w0, w1, w2, w3, b;
    __m512 bias0, bias1, bias2, bias3;
    if (k0 == 0) {
        a00 = _mm512_setzero_ps(); a01 = a02 = a03 = a00;
        a10 = a11 = a12 = a13 = a00; a20 = a21 = a22 = a23 = a00;
        a30 = a31 = a32 = a33 = a00; a40 = a41 = a42 = a43 = a00;
        a50 = a51 = a52 = a53 = a00;
    } else {
        LOAD_ROW(0) LOAD_ROW(1) LOAD_ROW(2) LOAD_ROW(3) LOAD_ROW(4) LOAD_ROW(5)
    }
    for (ptrdiff_t t = k0 / run; t * run < k1; t++) {
        ptrdiff_t c0 = k0 > t * run ? k0 - t * run : 0;
        ptrdiff_t c1 = k1 < (t + 1) * run ? k1 - t * run : run;
        const float *s0 = src[0] + off[t], *s1 = src[1] + off[t], *s2 = src[2] + off[t];
        const float *s3 = src[3] + off[t], *s4 = src[4] + off[t], *s5 = src[5] + off[t];
        for (ptrdiff_t c = c0; c < c1; c++) {
            w0 = _mm512_loadu_ps(w);
            w1 = _mm512_loadu_ps(w + 16);
            w2 = _mm512_loadu_ps(w + 32);
            w3 = _mm512_loadu_ps(w + 48);
            w += CNNCORE_COLS;
            FMA_ROW(0, s0) FMA_ROW(1, s1) FMA_ROW(2, s2)
            FMA_ROW(3, s3) FMA_ROW(4, s4) FMA_ROW(5, s5)
        }
    }
    if (bias && k0 == 0) {
        bias0 = _mm512_loadu_ps(bias);
        bias1 = _mm512_loadu_ps(bias + 16);
        bias2 = _mm512_loadu_ps(bias + 32);
        bias3 = _mm512_loadu_ps(bias + 48);
    } else {
        bias0 = bias1 = bias2 = bias3 = _mm512_setzero_ps();
    }
    STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5)
}

/* Output pixels p0..p1-1 (flat over N, OH, OW) of one 64-channel block.
 * x: padded input (N, Hp, Wp, C); off: ntaps offsets into it, each the start
 * of a run of `run` contiguous values (one kernel tap: run = C; one kernel
 * row when the column dilation is 1: run = KW*C); w: this block's packed
 * weights (ntaps*run, 64); y: points at y[0, 0, 0, o0], rows of ldy floats.
 * Pixels go tile by tile, and within a tile the reduction chunk by chunk. */
CNNCORE_TARGET static void cnncore_direct_block(
    const float *x, ptrdiff_t Hp, ptrdiff_t Wp, ptrdiff_t C,
    ptrdiff_t OH, ptrdiff_t OW, ptrdiff_t sh, ptrdiff_t sw,
    const ptrdiff_t *off, int ntaps, ptrdiff_t run, const float *w, const float *bias,
    float *y, ptrdiff_t ldy, ptrdiff_t p0, ptrdiff_t p1)
{
    const float *src[CNNCORE_PTILE + CNNCORE_ROWS];
    ptrdiff_t K = ntaps * run;
    /* tiles and chunks of even sizes (no small leftover at the end) */
    ptrdiff_t ntiles = (p1 - p0 + CNNCORE_PTILE - 1) / CNNCORE_PTILE;
    ptrdiff_t tile = ((p1 - p0 + ntiles - 1) / ntiles + CNNCORE_ROWS - 1) / CNNCORE_ROWS * CNNCORE_ROWS;
    ptrdiff_t nchunks = (K + CNNCORE_KC - 1) / CNNCORE_KC;
    ptrdiff_t kc = (K + nchunks - 1) / nchunks;
    if (tile > CNNCORE_PTILE) tile = CNNCORE_PTILE;
    for (ptrdiff_t tp0 = p0; tp0 < p1; tp0 += tile) {
        ptrdiff_t tp1 = tp0 + tile < p1 ? tp0 + tile : p1;
        ptrdiff_t n = tp1 - tp0;
        for (ptrdiff_t q = 0; q < n; q++) {
            ptrdiff_t p = tp0 + q;
            ptrdiff_t bimg = p / (OH * OW), rem = p - bimg * OH * OW;
            ptrdiff_t i = rem / OW, j = rem - i * OW;
            src[q] = x + ((bimg * Hp + i * sh) * Wp + j * sw) * C;
        }
        for (ptrdiff_t q = n; q < n + CNNCORE_ROWS; q++)  /* spare rows re-read pixel tp0 */
            src[q] = src[0];
        for (ptrdiff_t k0 = 0; k0 < K; k0 += kc) {
            ptrdiff_t k1 = k0 + kc < K ? k0 + kc : K;
            for (ptrdiff_t q = 0; q < n; q += CNNCORE_ROWS) {
                int nrows = n - q < CNNCORE_ROWS ? (int)(n - q) : CNNCORE_ROWS;
                cnncore_ukernel_6x64(src + q, off, run, k0, k1, w + k0 * CNNCORE_COLS, bias,
                                     y + (tp0 + q) * ldy, ldy, nrows);
            }
        }
    }
}


#define DK_ROW(r, o)                                   \
    b = _mm512_set1_ps(d[o]);                          \
    a##r##0 = _mm512_fmadd_ps(b, x0, a##r##0);         \
    a##r##1 = _mm512_fmadd_ps(b, x1, a##r##1);         \
    a##r##2 = _mm512_fmadd_ps(b, x2, a##r##2);         \
    a##r##3 = _mm512_fmadd_ps(b, x3, a##r##3);

#define DK_STORE_ROW(r)                                                          \
    if (r < nrows) {                                                             \
        float *out = dkt + (ptrdiff_t)r * ldk;                                   \
        _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(out), a##r##0));      \
        _mm512_storeu_ps(out + 16, _mm512_add_ps(_mm512_loadu_ps(out + 16), a##r##1)); \
        _mm512_storeu_ps(out + 32, _mm512_add_ps(_mm512_loadu_ps(out + 32), a##r##2)); \
        _mm512_storeu_ps(out + 48, _mm512_add_ps(_mm512_loadu_ps(out + 48), a##r##3)); \
    }

/* Kernel gradient, transposed: dkt[r, 0:64] += sum_p dy[p, r] * x(p)[off : off + 64]
 * for output channels r < nrows of this block and pixels p0..p1-1, where x(p) is
 * the corner of pixel p's receptive field in the padded input (N, Hp, Wp, C).
 * dy points at dy[0, o0] (rows of ldy floats); dkt at dkt[o0, k0] (rows of ldk).
 * o1..o5 are the offsets in dy of rows 1..5 (constants once inlined; spare
 * rows of a partial block re-read row 0).  Pixels go along output rows, so
 * the inner loop only steps two pointers. */
CNNCORE_TARGET static inline __attribute__((always_inline)) void cnncore_ukernel_dk_6x64_at(
    const float *x, ptrdiff_t Hp, ptrdiff_t Wp, ptrdiff_t C,
    ptrdiff_t OH, ptrdiff_t OW, ptrdiff_t sh, ptrdiff_t sw, ptrdiff_t off,
    const float *dy, ptrdiff_t ldy, float *dkt, ptrdiff_t ldk, int nrows,
    ptrdiff_t p0, ptrdiff_t p1, int o1, int o2, int o3, int o4, int o5)
{
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
    __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    __m512 a40 = a00, a41 = a00, a42 = a00, a43 = a00;
    __m512 a50 = a00, a51 = a00, a52 = a00, a53 = a00;
    __m512 x0, x1, x2, x3, b;
    ptrdiff_t p = p0;
    while (p < p1) {
        ptrdiff_t bimg = p / (OH * OW), rem = p - bimg * OH * OW;
        ptrdiff_t i = rem / OW, j = rem - i * OW;
        ptrdiff_t n = OW - j < p1 - p ? OW - j : p1 - p;   /* pixels left in this row */
        const float *s = x + ((bimg * Hp + i * sh) * Wp + j * sw) * C + off;
        const float *d = dy + p * ldy;
        ptrdiff_t step = sw * C;
        for (ptrdiff_t q = 0; q < n; q++, s += step, d += ldy) {
            x0 = _mm512_loadu_ps(s);
            x1 = _mm512_loadu_ps(s + 16);
            x2 = _mm512_loadu_ps(s + 32);
            x3 = _mm512_loadu_ps(s + 48);
            DK_ROW(0, 0) DK_ROW(1, o1) DK_ROW(2, o2) DK_ROW(3, o3) DK_ROW(4, o4) DK_ROW(5, o5)
        }
        p += n;
    }
    DK_STORE_ROW(0) DK_STORE_ROW(1) DK_STORE_ROW(2)
    DK_STORE_ROW(3) DK_STORE_ROW(4) DK_STORE_ROW(5)
}

CNNCORE_TARGET static void cnncore_ukernel_dk_6x64(
    const float *x, ptrdiff_t Hp, ptrdiff_t Wp, ptrdiff_t C,
    ptrdiff_t OH, ptrdiff_t OW, ptrdiff_t sh, ptrdiff_t sw, ptrdiff_t off,
    const float *dy, ptrdiff_t ldy, float *dkt, ptrdiff_t ldk, int nrows,
    ptrdiff_t p0, ptrdiff_t p1)
{
    if (nrows == CNNCORE_ROWS)
        cnncore_ukernel_dk_6x64_at(x, Hp, Wp, C, OH, OW, sh, sw, off, dy, ldy, dkt, ldk,
                                   nrows, p0, p1, 1, 2, 3, 4, 5);
    else
        cnncore_ukernel_dk_6x64_at(x, Hp, Wp, C, OH, OW, sh, sw, off, dy, ldy, dkt, ldk,
                                   nrows, p0, p1, 1 < nrows, 2 * (2 < nrows), 3 * (3 < nrows),
                                   4 * (4 < nrows), 5 * (5 < nrows));
}

/* Tasks task0..task1-1 of the kernel gradient, chunk after chunk of pixels.
 * A task is (run t, 64-value block cb of the run, 6-channel block ob); the
 * run starts at off[t]; dkt is (O, ntaps*run), accumulated into. */
CNNCORE_TARGET static void cnncore_dkernel_tasks(
    const float *x, ptrdiff_t Hp, ptrdiff_t Wp, ptrdiff_t C,
    ptrdiff_t OH, ptrdiff_t OW, ptrdiff_t sh, ptrdiff_t sw,
    const ptrdiff_t *off, ptrdiff_t run, const float *dy, ptrdiff_t O,
    float *dkt, ptrdiff_t K, ptrdiff_t P, ptrdiff_t chunk,
    ptrdiff_t task0, ptrdiff_t task1)
{
    ptrdiff_t ncb = run / CNNCORE_COLS;
    ptrdiff_t nob = (O + CNNCORE_ROWS - 1) / CNNCORE_ROWS;
    for (ptrdiff_t p0 = 0; p0 < P; p0 += chunk) {
        ptrdiff_t p1 = p0 + chunk < P ? p0 + chunk : P;
        for (ptrdiff_t task = task0; task < task1; task++) {
            ptrdiff_t t = task / (ncb * nob), rem = task - t * ncb * nob;
            ptrdiff_t cb = rem / nob, ob = rem - cb * nob;
            ptrdiff_t o0 = ob * CNNCORE_ROWS;
            int nrows = O - o0 < CNNCORE_ROWS ? (int)(O - o0) : CNNCORE_ROWS;
            cnncore_ukernel_dk_6x64(x, Hp, Wp, C, OH, OW, sh, sw,
                                    off[t] + cb * CNNCORE_COLS, dy + o0, O,
                                    dkt + o0 * K + t * run + cb * CNNCORE_COLS, K, nrows,
                                    p0, p1);
        }
    }
}

#else  /* not GCC on x86-64: no direct path */

static int cnncore_has_avx512(void) { return 0; }

static void cnncore_direct_block(
    const float *x, ptrdiff_t Hp, ptrdiff_t Wp, ptrdiff_t C,
    ptrdiff_t OH, ptrdiff_t OW, ptrdiff_t sh, ptrdiff_t sw,
    const ptrdiff_t *off, int ntaps, ptrdiff_t run, const float *w, const float *bias,
    float *y, ptrdiff_t ldy, ptrdiff_t p0, ptrdiff_t p1) {}

static void cnncore_dkernel_tasks(
    const float *x, ptrdiff_t Hp, ptrdiff_t Wp, ptrdiff_t C,
    ptrdiff_t OH, ptrdiff_t OW, ptrdiff_t sh, ptrdiff_t sw,
    const ptrdiff_t *off, ptrdiff_t run, const float *dy, ptrdiff_t O,
    float *dkt, ptrdiff_t K, ptrdiff_t P, ptrdiff_t chunk,
    ptrdiff_t task0, ptrdiff_t task1) {}

#endif
#endif /* CNNCORE_DIRECT_H */
