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

/* y[r, 0:64] = bias + sum_t sum_c src[r][off[t] + c] * w[(t*C + c)*64 : +64], r < nrows. */
CNNCORE_TARGET static void cnncore_ukernel_6x64(
    const float *const *src, const ptrdiff_t *off, int ntaps, ptrdiff_t C,
    const float *w, const float *bias, float *y, ptrdiff_t ldy, int nrows)
{
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
    __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    __m512 a40 = a00, a41 = a00, a42 = a00, a43 = a00;
    __m512 a50 = a00, a51 = a00, a52 = a00, a53 = a00;
    __m512 w0, w1, w2, w3, b;
    __m512 bias0, bias1, bias2, bias3;
    for (int t = 0; t < ntaps; t++) {
        const float *s0 = src[0] + off[t], *s1 = src[1] + off[t], *s2 = src[2] + off[t];
        const float *s3 = src[3] + off[t], *s4 = src[4] + off[t], *s5 = src[5] + off[t];
        for (ptrdiff_t c = 0; c < C; c++) {
            w0 = _mm512_loadu_ps(w);
            w1 = _mm512_loadu_ps(w + 16);
            w2 = _mm512_loadu_ps(w + 32);
            w3 = _mm512_loadu_ps(w + 48);
            w += CNNCORE_COLS;
            FMA_ROW(0, s0) FMA_ROW(1, s1) FMA_ROW(2, s2)
            FMA_ROW(3, s3) FMA_ROW(4, s4) FMA_ROW(5, s5)
        }
    }
    if (bias) {
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
 * x: padded input (N, Hp, Wp, C); off: the KH*KW tap offsets into it;
 * w: this block's packed weights (KH*KW*C, 64); y: points at y[0, 0, 0, o0],
 * rows of ldy floats. */
CNNCORE_TARGET static void cnncore_direct_block(
    const float *x, ptrdiff_t Hp, ptrdiff_t Wp, ptrdiff_t C,
    ptrdiff_t OH, ptrdiff_t OW, ptrdiff_t sh, ptrdiff_t sw,
    const ptrdiff_t *off, int ntaps, const float *w, const float *bias,
    float *y, ptrdiff_t ldy, ptrdiff_t p0, ptrdiff_t p1)
{
    const float *src[CNNCORE_ROWS];
    for (ptrdiff_t p = p0; p < p1; p += CNNCORE_ROWS) {
        int nrows = (p1 - p) < CNNCORE_ROWS ? (int)(p1 - p) : CNNCORE_ROWS;
        for (int r = 0; r < CNNCORE_ROWS; r++) {
            ptrdiff_t q = p + (r < nrows ? r : 0);  /* spare rows recompute row 0 */
            ptrdiff_t bimg = q / (OH * OW), rem = q - bimg * OH * OW;
            ptrdiff_t i = rem / OW, j = rem - i * OW;
            src[r] = x + ((bimg * Hp + i * sh) * Wp + j * sw) * C;
        }
        cnncore_ukernel_6x64(src, off, ntaps, C, w, bias, y + p * ldy, ldy, nrows);
    }
}

#else  /* not GCC on x86-64: no direct path */

static int cnncore_has_avx512(void) { return 0; }

static void cnncore_direct_block(
    const float *x, ptrdiff_t Hp, ptrdiff_t Wp, ptrdiff_t C,
    ptrdiff_t OH, ptrdiff_t OW, ptrdiff_t sh, ptrdiff_t sw,
    const ptrdiff_t *off, int ntaps, const float *w, const float *bias,
    float *y, ptrdiff_t ldy, ptrdiff_t p0, ptrdiff_t p1) {}

#endif
#endif /* CNNCORE_DIRECT_H */
