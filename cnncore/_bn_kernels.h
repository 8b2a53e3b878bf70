/* Batch-norm row loops over channels-last data seen as (M, C), row-major.
 *
 * Plain C loops that GCC and Clang vectorise; on x86-64 Linux with glibc,
 * target_clones compiles each for AVX-512, AVX2 and the baseline, and an
 * ifunc picks one at load time from what the CPU has (ifunc needs ELF and
 * glibc: not macOS, Windows or musl, where the baseline alone is built).
 * Channel sums are taken over blocks of CNNCORE_BN_BLOCK rows in the data's
 * own type (full SIMD width) and added into float64 totals after each block,
 * so float32 sums stay accurate over millions of rows.
 * The caller hands each thread its own rows and its own totals.
 */
#ifndef CNNCORE_BN_KERNELS_H
#define CNNCORE_BN_KERNELS_H

#include <stddef.h>
#include <string.h>

/* __GLIBC__ comes from glibc's own headers (string.h above); Clang has target_clones since 14 */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) \
    && (!defined(__clang__) || __clang_major__ >= 14)
#define CNNCORE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CNNCORE_CLONES
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict     /* MSVC's C has no `restrict` before /std:c11 */
#endif

#define CNNCORE_BN_BLOCK 64

#define CNNCORE_BN_KERNELS(T, SUFFIX)                                                   \
/* s[c] += bs[c]; q[c] += bq[c]; then bs = bq = 0: one block's sums into the totals */  \
static inline void cnncore_bn_flush_##SUFFIX(                                           \
    ptrdiff_t C, double *restrict s, double *restrict q, T *restrict bs, T *restrict bq) \
{                                                                                       \
    for (ptrdiff_t c = 0; c < C; c++) {                                                 \
        s[c] += bs[c];                                                                  \
        q[c] += bq[c];                                                                  \
    }                                                                                   \
    memset(bs, 0, C * sizeof(T));                                                       \
    memset(bq, 0, C * sizeof(T));                                                       \
}                                                                                       \
                                                                                        \
/* s[c] += sum_r (x[r, c] - shift[c]);  q[c] += sum_r (x[r, c] - shift[c])^2 */        \
CNNCORE_CLONES static void cnncore_bn_sums_##SUFFIX(                                   \
    const T *restrict x, ptrdiff_t r0, ptrdiff_t r1, ptrdiff_t C,                       \
    const T *restrict shift, double *restrict s, double *restrict q,                    \
    T *restrict bs, T *restrict bq)                                                    \
{                                                                                       \
    memset(bs, 0, C * sizeof(T));                                                       \
    memset(bq, 0, C * sizeof(T));                                                       \
    for (ptrdiff_t b0 = r0; b0 < r1; b0 += CNNCORE_BN_BLOCK) {                         \
        ptrdiff_t b1 = b0 + CNNCORE_BN_BLOCK < r1 ? b0 + CNNCORE_BN_BLOCK : r1;        \
        for (ptrdiff_t r = b0; r < b1; r++) {                                           \
            const T *restrict row = x + r * C;                                          \
            for (ptrdiff_t c = 0; c < C; c++) {                                         \
                T d = row[c] - shift[c];                                                \
                bs[c] += d;                                                             \
                bq[c] += d * d;                                                         \
            }                                                                           \
        }                                                                               \
        cnncore_bn_flush_##SUFFIX(C, s, q, bs, bq);                                     \
    }                                                                                   \
}                                                                                       \
                                                                                        \
/* s[c] += sum_r dy[r, c];  q[c] += sum_r dy[r, c] * (x[r, c] - mean[c]) */             \
CNNCORE_CLONES static void cnncore_bn_grad_sums_##SUFFIX(                              \
    const T *restrict dy, const T *restrict x, ptrdiff_t r0, ptrdiff_t r1,              \
    ptrdiff_t C, const T *restrict mean, double *restrict s, double *restrict q,        \
    T *restrict bs, T *restrict bq)                                                    \
{                                                                                       \
    memset(bs, 0, C * sizeof(T));                                                       \
    memset(bq, 0, C * sizeof(T));                                                       \
    for (ptrdiff_t b0 = r0; b0 < r1; b0 += CNNCORE_BN_BLOCK) {                         \
        ptrdiff_t b1 = b0 + CNNCORE_BN_BLOCK < r1 ? b0 + CNNCORE_BN_BLOCK : r1;        \
        for (ptrdiff_t r = b0; r < b1; r++) {                                           \
            const T *restrict g = dy + r * C;                                           \
            const T *restrict row = x + r * C;                                          \
            for (ptrdiff_t c = 0; c < C; c++) {                                         \
                bs[c] += g[c];                                                          \
                bq[c] += g[c] * (row[c] - mean[c]);                                     \
            }                                                                           \
        }                                                                               \
        cnncore_bn_flush_##SUFFIX(C, s, q, bs, bq);                                     \
    }                                                                                   \
}                                                                                       \
                                                                                        \
/* y[r, c] = a[c] * u[r, c] + b[c] * (x[r, c] - m[c]) + d[c]; u may be NULL (a unused); \
 * with relu, max(that, 0) (NaN stays NaN, as in cnncore.relu) */                      \
CNNCORE_CLONES static void cnncore_bn_affine_##SUFFIX(                                 \
    const T *restrict u, const T *restrict x, ptrdiff_t r0, ptrdiff_t r1, ptrdiff_t C, \
    const T *restrict a, const T *restrict b, const T *restrict m,                     \
    const T *restrict d, int relu, T *restrict y)                                      \
{                                                                                       \
    for (ptrdiff_t r = r0; r < r1; r++) {                                               \
        const T *restrict row = x + r * C;                                              \
        T *restrict out = y + r * C;                                                    \
        if (u) {                                                                        \
            const T *restrict urow = u + r * C;                                         \
            for (ptrdiff_t c = 0; c < C; c++)                                           \
                out[c] = a[c] * urow[c] + b[c] * (row[c] - m[c]) + d[c];                \
        } else {                                                                        \
            for (ptrdiff_t c = 0; c < C; c++)                                           \
                out[c] = b[c] * (row[c] - m[c]) + d[c];                                 \
        }                                                                               \
        if (relu)                                                                       \
            for (ptrdiff_t c = 0; c < C; c++)                                           \
                out[c] = out[c] <= 0 ? 0 : out[c];                                      \
    }                                                                                   \
}

CNNCORE_BN_KERNELS(float, f)
CNNCORE_BN_KERNELS(double, d)

#endif /* CNNCORE_BN_KERNELS_H */
