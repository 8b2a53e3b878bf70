/* Direct float32 convolution: register-blocked micro-kernels, one per
 * instruction set, all instances of the vector-extension code in _ukernel.h.
 *
 *   CNNCORE_AVX512    6 pixels x 64 channels in 24 zmm registers
 *   CNNCORE_AVX2      6 pixels x 16 channels in 12 ymm registers (AVX2 + FMA)
 *   CNNCORE_PORTABLE  4-float vectors with the compiler's baseline instruction
 *                     set: NEON on aarch64 (6 x 16 in 24 of its 32 registers),
 *                     SSE2 on x86-64 (2 x 16: 16 registers, no FMA)
 *
 * Callers (cnncore.functional) validate everything first and pick an
 * instance the CPU runs (cnncore_isa_supported); see _ukernel.h for what
 * the kernels assume of their arguments.  Only GCC and Clang build these:
 * elsewhere no instance is supported and the im2col + BLAS path runs.
 */
#ifndef CNNCORE_DIRECT_H
#define CNNCORE_DIRECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { CNNCORE_AVX512 = 0, CNNCORE_AVX2 = 1, CNNCORE_PORTABLE = 2 };

/* Where output pixels read their receptive fields.  x is (N, H, W, C), and the
 * output (N, OH, OW, .); output pixel (b, i, j)'s field has its corner at row
 * i*sh - pt, column j*sw - pl of image b.  Reduction index k = t*run + c reads
 * value c of tap t's run: `run` contiguous values of x (run / C pixels of one
 * row) starting tap[2t] rows and tap[2t+1] columns past the corner.  A run
 * that starts outside x reads zeros: the padding, never copied.  The caller
 * makes sure no run lies partly outside (a run of several pixels needs every
 * field's columns inside x). */
typedef struct {
    const float *x;
    ptrdiff_t H, W, C, OH, OW, sh, sw, pt, pl;
    const ptrdiff_t *tap;   /* ntaps (row, column) pairs */
    int ntaps;
    ptrdiff_t run;
} cnncore_fields;

#define CNNCORE_DIRECT_ARGS                                                     \
    const cnncore_fields *f, const float *wsrc, ptrdiff_t ldw, float *w,        \
    const float *bias, int relu, int stream, float *y, ptrdiff_t ldy,           \
    int ncols, ptrdiff_t kc, ptrdiff_t p0, ptrdiff_t p1
#define CNNCORE_DIRECT_PASS f, wsrc, ldw, w, bias, relu, stream, y, ldy, ncols, kc, p0, p1
#define CNNCORE_DKERNEL_ARGS                                                    \
    const cnncore_fields *f, const float *dy, ptrdiff_t ldy, ptrdiff_t O,       \
    float *dk, double *db, ptrdiff_t pbeg, ptrdiff_t pend, ptrdiff_t chunk,     \
    ptrdiff_t task0, ptrdiff_t task1
#define CNNCORE_DKERNEL_PASS f, dy, ldy, O, dk, db, pbeg, pend, chunk, task0, task1

#if defined(__GNUC__)

#if defined(__x86_64__)
#define CNNCORE_HAVE_X86 1

#include <immintrin.h>

#define KT_SUFFIX avx512
#define KT_TARGET __attribute__((target("avx512f,fma")))
#define KT_STREAM(p, v) _mm512_stream_ps((p), (__m512)(v))
#define KT_FENCE _mm_sfence()
#define KT_VW 16
#define KT_NV 4
#define KT_ROWS 6
#include "_ukernel.h"

#define KT_SUFFIX avx2
#define KT_TARGET __attribute__((target("avx2,fma")))
#define KT_STREAM(p, v) _mm256_stream_ps((p), (__m256)(v))
#define KT_FENCE _mm_sfence()
#define KT_VW 8
#define KT_NV 2
#define KT_ROWS 6
#include "_ukernel.h"
#endif

#define KT_SUFFIX portable
#if defined(__aarch64__) && !defined(__clang__)
/* GCC's scheduling before register allocation (on by default for aarch64) hoists
 * the block's 6 scalar loads ahead of their FMAs, which then need 34 of the 32
 * vector registers: 2 accumulators spilled to the stack, a load and a store each
 * per reduction step (GCC 12, forward and kernel-gradient kernels alike).
 * Without it, none; Clang reuses the scalar registers and never spilled. */
#define KT_TARGET __attribute__((optimize("no-schedule-insns")))
#elif !defined(__clang__)
/* Elsewhere (x86-64's baseline, SSE2: 16 registers, no FMA, so a product needs a
 * spare register) GCC's basic-block vectoriser left a whole row of accumulators
 * in memory, a load and a store per reduction step, even with registers to
 * spare; without it a block of 2 rows fits (8 accumulators, 4 weights, the
 * broadcast and the product): forward 0.28-0.30 -> 0.34-0.36 of the AVX2 kernel
 * (3 rows: 12 accumulators, 4 of them spilled, 0.27). */
#define KT_TARGET __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define KT_TARGET
#endif
#define KT_VW 4
#define KT_NV 4
#define KT_STREAM(p, v) KT(vstore)((p), (v))     /* a plain store: portable */
#define KT_FENCE ((void)0)
#if defined(__aarch64__)
#define CNNCORE_PORTABLE_ROWS 6
#else
#define CNNCORE_PORTABLE_ROWS 2
#endif
#define KT_ROWS CNNCORE_PORTABLE_ROWS
#include "_ukernel.h"

/* 1 when this CPU runs the instance `isa` */
static int cnncore_isa_supported(int isa)
{
#ifdef CNNCORE_HAVE_X86
    __builtin_cpu_init();
    if (isa == CNNCORE_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    if (isa == CNNCORE_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return isa == CNNCORE_PORTABLE;
}

/* 1 on an AMD CPU (see cnncore.functional.CHUNK_BYTES) */
static int cnncore_cpu_is_amd(void)
{
#ifdef CNNCORE_HAVE_X86
    __builtin_cpu_init();
    return __builtin_cpu_is("amd");
#else
    return 0;
#endif
}

/* The register block of an instance: columns (channels) and rows */
static int cnncore_isa_cols(int isa)
{
    return isa == CNNCORE_AVX512 ? 64 : 16;
}

static int cnncore_isa_rows(int isa)
{
    return isa == CNNCORE_PORTABLE ? CNNCORE_PORTABLE_ROWS : 6;
}

/* Output pixels p0..p1-1 of channels 0..ncols-1, block after block (see _ukernel.h);
 * -1: out of memory */
static int cnncore_direct_block(int isa, CNNCORE_DIRECT_ARGS)
{
    (void)isa;
#ifdef CNNCORE_HAVE_X86
    if (isa == CNNCORE_AVX512) return cnncore_direct_block_avx512(CNNCORE_DIRECT_PASS);
    if (isa == CNNCORE_AVX2) return cnncore_direct_block_avx2(CNNCORE_DIRECT_PASS);
#endif
    return cnncore_direct_block_portable(CNNCORE_DIRECT_PASS);
}

/* Tasks task0..task1-1 of the kernel gradient over pixels pbeg..pend-1, and with db the
 * bias gradient (see _ukernel.h); -1: out of memory */
static int cnncore_dkernel_tasks(int isa, CNNCORE_DKERNEL_ARGS)
{
    (void)isa;
#ifdef CNNCORE_HAVE_X86
    if (isa == CNNCORE_AVX512) return cnncore_dkernel_tasks_avx512(CNNCORE_DKERNEL_PASS);
    if (isa == CNNCORE_AVX2) return cnncore_dkernel_tasks_avx2(CNNCORE_DKERNEL_PASS);
#endif
    return cnncore_dkernel_tasks_portable(CNNCORE_DKERNEL_PASS);
}

#else  /* neither GCC nor Clang: no micro-kernel */

static int cnncore_isa_supported(int isa) { return 0; }
static int cnncore_isa_cols(int isa) { return 16; }
static int cnncore_isa_rows(int isa) { return 6; }
static int cnncore_cpu_is_amd(void) { return 0; }
/* never called (no instance is supported): stop loudly if one ever is */
static int cnncore_direct_block(int isa, CNNCORE_DIRECT_ARGS) { abort(); return -1; }
static int cnncore_dkernel_tasks(int isa, CNNCORE_DKERNEL_ARGS) { abort(); return -1; }

#endif
#endif /* CNNCORE_DIRECT_H */
