/* One instance of the float32 convolution micro-kernels, written once with
 * GCC/Clang vector extensions and included by _direct.h once per
 * instruction set, with these macros set:
 *
 *   KT_SUFFIX  suffix of every name defined here (avx512, avx2, portable)
 *   KT_TARGET  the function attribute that selects the instruction set
 *              (empty: the compiler's baseline for the target CPU)
 *   KT_VW      floats per vector register
 *   KT_NV      vector registers per row of the register block
 *   KT_ROWS    rows of the register block
 *   KT_STREAM  KT_STREAM(p, v) stores vector v at p, aligned, past the caches
 *   KT_FENCE   orders those stores before the ones after it
 *
 * (and undefined again at the end of this file, ready for the next instance)
 *
 * A block of KT_ROWS x KT_COLS accumulators lives in registers (AVX-512:
 * 6 pixels x 64 channels in 24 zmm; AVX2: 6 x 16 in 12 ymm), and the GEMM
 * behind the convolution streams through it without writing a column
 * matrix: for channels-last input, an output pixel's receptive field is a
 * few runs of contiguous values of the input, whose padding is read as
 * zeros, never stored (cnncore_fields in _direct.h).
 *
 * Both kernels need: the forward's weights packed as (ceil(O / KT_COLS), K,
 * KT_COLS), zero past O (by the caller, or by the forward as it goes); the
 * kernel gradient's dy with rows of a multiple of KT_COLS values.  A partial
 * block of columns is loaded and stored through a small buffer, so nothing
 * outside the output is written.
 */

#define KT_CAT2(a, b) a##_##b
#define KT_CAT(a, b) KT_CAT2(a, b)
#define KT(name) KT_CAT(name, KT_SUFFIX)
#define KT_COLS (KT_VW * KT_NV)
#define KT_INLINE KT_TARGET static inline __attribute__((always_inline))
#define KT_UNROLL _Pragma("GCC unroll 16")

typedef float KT(cnncore_vec) __attribute__((vector_size(KT_VW * sizeof(float))));
typedef int KT(cnncore_mask) __attribute__((vector_size(KT_VW * sizeof(int))));
#define VEC KT(cnncore_vec)
#define MASK KT(cnncore_mask)

KT_INLINE VEC KT(vload)(const float *p)
{
    VEC v;
    memcpy(&v, p, sizeof v);
    return v;
}

KT_INLINE void KT(vstore)(float *p, VEC v)
{
    memcpy(p, &v, sizeof v);
}

/* x - 0 is exactly x (-0 too), so the compiler drops the subtraction: a broadcast */
#define KT_SPLAT(s) ((s) - (VEC){0})

/* A block of `ncols` columns from the rows y[r] + col into acc (spare rows too). */
KT_INLINE void KT(load_block)(VEC acc[KT_ROWS][KT_NV], float *const *y, ptrdiff_t col, int ncols)
{
    KT_UNROLL for (int r = 0; r < KT_ROWS; r++) {
        const float *in = y[r] + col;
        if (ncols == KT_COLS) {
            KT_UNROLL for (int v = 0; v < KT_NV; v++) acc[r][v] = KT(vload)(in + v * KT_VW);
        } else {
            float tmp[KT_COLS] = {0};
            memcpy(tmp, in, (size_t)ncols * sizeof(float));
            KT_UNROLL for (int v = 0; v < KT_NV; v++) acc[r][v] = KT(vload)(tmp + v * KT_VW);
        }
    }
}

/* Rows r < nrows, columns < ncols of acc (+ add, a block of the same shape) into the
 * rows y[r] + col; with stream, whole aligned rows past the caches. */
KT_INLINE void KT(store_block)(VEC acc[KT_ROWS][KT_NV], float *const *y, ptrdiff_t col,
                               int nrows, int ncols, int accumulate, int stream)
{
    KT_UNROLL for (int r = 0; r < KT_ROWS; r++) {
        if (r >= nrows) break;
        float *out = y[r] + col;
        if (stream && !accumulate && ncols == KT_COLS && (uintptr_t)out % sizeof(VEC) == 0) {
            KT_UNROLL for (int v = 0; v < KT_NV; v++) KT_STREAM(out + v * KT_VW, acc[r][v]);
        } else if (ncols == KT_COLS) {
            KT_UNROLL for (int v = 0; v < KT_NV; v++)
                KT(vstore)(out + v * KT_VW, accumulate ? acc[r][v] + KT(vload)(out + v * KT_VW)
                                                       : acc[r][v]);
        } else {
            float tmp[KT_COLS];
            KT_UNROLL for (int v = 0; v < KT_NV; v++) KT(vstore)(tmp + v * KT_VW, acc[r][v]);
            for (int c = 0; c < ncols; c++) out[c] = accumulate ? out[c] + tmp[c] : tmp[c];
        }
    }
}

/* n rows of `ncols` floats from src (rows of lds floats) to rows of KT_COLS at dst, zero past ncols */
KT_INLINE void KT(pack_rows)(float *dst, const float *src, ptrdiff_t lds, ptrdiff_t n, int ncols)
{
    for (ptrdiff_t k = 0; k < n; k++, dst += KT_COLS, src += lds) {
        if (ncols == KT_COLS) {
            KT_UNROLL for (int v = 0; v < KT_NV; v++)
                KT(vstore)(dst + v * KT_VW, KT(vload)(src + v * KT_VW));
        } else {
            memcpy(dst, src, (size_t)ncols * sizeof(float));
            memset(dst + ncols, 0, (size_t)(KT_COLS - ncols) * sizeof(float));
        }
    }
}

/* Where output pixels p0..p0+n-1 (flat over N, OH, OW) read their receptive fields
 * (see cnncore_fields in _direct.h).  A pixel whose field lies wholly inside x
 * (reach: the furthest tap's row and column from the corner) gets inside[q] = 1 and
 * its corner in x, corner[q]; any other (every pixel, with reach NULL) its runs,
 * tab[q * ntaps + t] the start of tap t's run in x or `zeros` where that run lies
 * outside x, and (with mask) the taps inside x as bits of mask[q] (taps past 63
 * counted as inside).  Returns how many are inside.  Steps (image, row, column)
 * along, as a division per pixel would cost more than a small layer's arithmetic
 * on it. */
KT_INLINE int KT(field_tile)(const float **corner, unsigned char *inside, uint64_t *mask,
                             const float **tab, const cnncore_fields *f, const float *zeros,
                             const ptrdiff_t *reach, ptrdiff_t p0, ptrdiff_t n)
{
    ptrdiff_t H = f->H, W = f->W, C = f->C, OH = f->OH, OW = f->OW;
    ptrdiff_t b = p0 / (OH * OW), i = p0 % (OH * OW) / OW, j = p0 % OW;
    int ninside = 0;
    for (ptrdiff_t q = 0; q < n; q++) {
        ptrdiff_t h0 = i * f->sh - f->pt, w0 = j * f->sw - f->pl;
        int in = reach && h0 >= 0 && h0 + reach[0] < H && w0 >= 0 && w0 + reach[1] < W;
        if (reach) inside[q] = in;
        ninside += in;
        if (in) {
            corner[q] = f->x + ((b * H + h0) * W + w0) * C;
        } else {
            uint64_t bits = ~(uint64_t)0;
            for (int t = 0; t < f->ntaps; t++) {
                ptrdiff_t h = h0 + f->tap[2 * t], w = w0 + f->tap[2 * t + 1];
                int at = h >= 0 && h < H && w >= 0 && w < W;
                tab[q * f->ntaps + t] = at ? f->x + ((b * H + h) * W + w) * C : zeros;
                if (!at && t < 64) bits &= ~((uint64_t)1 << t);
            }
            if (mask) mask[q] = bits;
        }
        if (++j == OW) {
            j = 0;
            if (++i == OH) i = 0, b++;
        }
    }
    return ninside;
}

/* One chunk k0..k1-1 (of K) of the reduction for a block of pixels x channels:
 * y[r][0:ncols] (+)= sum_{k0 <= t*run + c < k1} s(r, t)[c] * w[(t*run + c - k0)*COLS : +COLS]
 * where the run s(r, t) is corner[r] + off[t] (the rows' corners), or with corner
 * NULL, runs[r][t] (each row's runs, as field_tile makes them), skipping the taps
 * t < 64 missing from `mask`: the rows' fields all have those taps in the padding.
 * Inlined at both kinds of call, each its own loop.  Rows r >= nrows are spare:
 * computed (from any field: their caller's block's first again), never stored.
 * The first chunk starts from the bias (when there is one); the last one
 * applies the ReLU (when asked) and, with stream, stores past the caches. */
KT_INLINE void KT(cnncore_ukernel)(
    const float *const *corner, const ptrdiff_t *off, const float *const *const *runs,
    uint64_t mask, ptrdiff_t run, ptrdiff_t k0, ptrdiff_t k1, ptrdiff_t K, const float *w,
    const float *bias, int relu, int stream, float *const *y, ptrdiff_t ycol, int nrows,
    int ncols)
{
    VEC acc[KT_ROWS][KT_NV], wv[KT_NV];
    if (k0 == 0) {
        VEC b0[KT_NV];
        if (bias && ncols == KT_COLS) {
            KT_UNROLL for (int v = 0; v < KT_NV; v++) b0[v] = KT(vload)(bias + v * KT_VW);
        } else if (bias) {
            float tmp[KT_COLS] = {0};
            memcpy(tmp, bias, (size_t)ncols * sizeof(float));
            KT_UNROLL for (int v = 0; v < KT_NV; v++) b0[v] = KT(vload)(tmp + v * KT_VW);
        } else {
            KT_UNROLL for (int v = 0; v < KT_NV; v++) b0[v] = (VEC){0};
        }
        KT_UNROLL for (int r = 0; r < KT_ROWS; r++)
            KT_UNROLL for (int v = 0; v < KT_NV; v++) acc[r][v] = b0[v];
    } else {
        KT(load_block)(acc, y, ycol, ncols);
    }
    for (ptrdiff_t t = k0 ? k0 / run : 0; t * run < k1; t++) {
        ptrdiff_t c0 = k0 > t * run ? k0 - t * run : 0;
        ptrdiff_t c1 = k1 < (t + 1) * run ? k1 - t * run : run;
        if (!corner && t < 64 && !(mask >> t & 1)) {
            w += (c1 - c0) * KT_COLS;
            continue;
        }
        const float *s[KT_ROWS];
        KT_UNROLL for (int r = 0; r < KT_ROWS; r++) s[r] = corner ? corner[r] + off[t] : runs[r][t];
        for (ptrdiff_t c = c0; c < c1; c++) {
            KT_UNROLL for (int v = 0; v < KT_NV; v++) wv[v] = KT(vload)(w + v * KT_VW);
            w += KT_COLS;
            KT_UNROLL for (int r = 0; r < KT_ROWS; r++) {
                VEC b = KT_SPLAT(s[r][c]);
                KT_UNROLL for (int v = 0; v < KT_NV; v++) acc[r][v] += b * wv[v];
            }
        }
    }
    if (relu && k1 == K) {
        KT_UNROLL for (int r = 0; r < KT_ROWS; r++)
            KT_UNROLL for (int v = 0; v < KT_NV; v++)
                acc[r][v] = (VEC)((MASK)acc[r][v] & ~(acc[r][v] <= 0));  /* NaN stays */
    }
    KT(store_block)(acc, y, ycol, nrows, ncols, 0, stream && k1 == K);
}

/* Output pixels p0..p1-1 (flat over N, OH, OW) of channels 0..ncols-1, one block
 * of KT_COLS channels after another.
 * f: where the pixels read their receptive fields (_direct.h); w: the packed
 * weights of these blocks, (blocks, ntaps*run, COLS); y: points at
 * y[0, 0, 0, o0], rows of ldy floats.  Pixels go tile by tile (a tile's
 * receptive fields stay in L2), within a tile block by block, and within a
 * block the reduction chunk by chunk, kc indices each (a chunk's weights stay
 * in L1; kc = 0: the whole reduction in one chunk, the weights streamed from L2).
 * With wsrc (else NULL), w is only a buffer of that size: the first tile packs
 * each chunk into it from the weights wsrc (ntaps*run, ldw), from column 0,
 * right before using it, and the later tiles read it packed.  That spares a
 * pass packing the whole kernel first, through memory when it is large.
 * With stream, y's aligned rows are stored past the caches (an output larger
 * than they are would only evict the weights and fields in use), and made
 * visible to the other threads before the return.
 * Returns -1 when out of memory, else 0. */
KT_TARGET static int KT(cnncore_direct_block)(
    const cnncore_fields *f, const float *wsrc, ptrdiff_t ldw, float *w,
    const float *bias, int relu, int stream, float *y, ptrdiff_t ldy, int ncols, ptrdiff_t kc,
    ptrdiff_t p0, ptrdiff_t p1)
{
    enum { PTILE = 32 * KT_ROWS };
    int ntaps = f->ntaps;
    ptrdiff_t run = f->run, K = ntaps * run;
    if (p1 <= p0 || K <= 0)
        return 0;
    /* A tile's pixels go in blocks of KT_ROWS that read alike: blocks of pixels whose
     * fields lie inside x read them through their corners, a pointer a pixel (a
     * pointer per tap cost the first VGG layer, 27 reduction values a pixel, 14 %);
     * the others through a run per tap, and skip the taps that all their pixels have
     * in the padding (a 3x3 layer of 4x4 pixels has 31 % of its taps there, of
     * 14x14, 9 %).  So the pixels are grouped by the taps they have inside x (and
     * whether all are); each group's full blocks go first, then the remainders of
     * all groups, sorted by those taps, in the last blocks (a block of one corner
     * pixel would cost as much as six).
     * Below: the tile's corners, runs, which taps are inside and whether all are;
     * its pixels in block order (spare rows: the last block's first again) and
     * there their corners, runs and output rows; each block's taps and way of
     * reading; each tap's offset from a corner, and the zeros. */
    const float *corner[PTILE], *cslot[PTILE + KT_ROWS];
    const float *const *rslot[PTILE + KT_ROWS];
    float *yslot[PTILE + KT_ROWS];
    unsigned char inside[PTILE], placed[PTILE], by_runs[PTILE / KT_ROWS + 1];
    uint64_t mask[PTILE], bmask[PTILE / KT_ROWS + 1];
    short order[PTILE + KT_ROWS], rest[PTILE];
    const float **src = malloc((size_t)PTILE * ntaps * sizeof *src);
    ptrdiff_t *off = malloc((size_t)ntaps * sizeof *off), reach[2] = {0, 0};
    float *zeros = calloc((size_t)run, sizeof(float));
    if (!src || !off || !zeros) {
        free(src);
        free(off);
        free(zeros);
        return -1;
    }
    for (int t = 0; t < ntaps; t++) {
        off[t] = (f->tap[2 * t] * f->W + f->tap[2 * t + 1]) * f->C;
        reach[0] = f->tap[2 * t] > reach[0] ? f->tap[2 * t] : reach[0];
        reach[1] = f->tap[2 * t + 1] > reach[1] ? f->tap[2 * t + 1] : reach[1];
    }
    /* tiles and chunks of even sizes (no small leftover at the end) */
    ptrdiff_t ntiles = (p1 - p0 + PTILE - 1) / PTILE;
    ptrdiff_t tile = ((p1 - p0 + ntiles - 1) / ntiles + KT_ROWS - 1) / KT_ROWS * KT_ROWS;
    ptrdiff_t nchunks = kc > 0 ? (K + kc - 1) / kc : 1;
    kc = (K + nchunks - 1) / nchunks;
    if (tile > PTILE) tile = PTILE;
    for (ptrdiff_t tp0 = p0; tp0 < p1; tp0 += tile) {
        ptrdiff_t tp1 = tp0 + tile < p1 ? tp0 + tile : p1;
        int n = (int)(tp1 - tp0), nord = 0, nrest = 0, nblocks = (n + KT_ROWS - 1) / KT_ROWS;
        if (KT(field_tile)(corner, inside, mask, src, f, zeros, reach, tp0, n) == n) {
            /* all inside: in order, through corners (the grouping's general loops,
             * run for these tiles too, cost the first VGG layer's forward 6 %) */
            nord = n;
            for (int j = 0; j < nblocks * KT_ROWS; j++) {
                int q = j < n ? j : (nblocks - 1) * KT_ROWS;
                cslot[j] = corner[q];
                yslot[j] = y + (tp0 + q) * ldy;
            }
            memset(by_runs, 0, (size_t)nblocks);
        } else {
            for (int q = 0; q < n; q++) {
                placed[q] = 0;
                if (inside[q]) mask[q] = ~(uint64_t)0;
            }
            for (int q = 0; q < n; q++) {
                if (placed[q]) continue;
                int g0 = nord;
                for (int q2 = q; q2 < n; q2++)
                    if (!placed[q2] && mask[q2] == mask[q] && inside[q2] == inside[q])
                        placed[q2] = 1, order[nord++] = (short)q2;
                int g1 = g0 + (nord - g0) / KT_ROWS * KT_ROWS;
                while (nord > g1) rest[nrest++] = order[--nord];
            }
            for (int i = 0, g0 = nord; i < nrest; i++) {     /* the remainders, by their taps */
                int j = nord++;
                for (; j > g0 && mask[order[j - 1]] > mask[rest[i]]; j--) order[j] = order[j - 1];
                order[j] = rest[i];
            }
            for (int j = nord; j < nblocks * KT_ROWS; j++) order[j] = order[(nblocks - 1) * KT_ROWS];
            for (int b = 0; b < nblocks; b++) {
                by_runs[b] = 0;
                bmask[b] = 0;
                for (int j = b * KT_ROWS; j < (b + 1) * KT_ROWS; j++) {
                    by_runs[b] |= !inside[order[j]];
                    bmask[b] |= mask[order[j]];
                }
            }
            for (int j = 0; j < nblocks * KT_ROWS; j++) {
                int q = order[j];
                const float **runs = src + q * ntaps;
                if (inside[q] && by_runs[j / KT_ROWS])   /* read by runs with the others */
                    for (int t = 0; t < ntaps; t++) runs[t] = corner[q] + off[t];
                cslot[j] = inside[q] ? corner[q] : NULL;
                rslot[j] = runs;
                yslot[j] = y + (tp0 + q) * ldy;
            }
        }
        int packing = wsrc && tp0 == p0;      /* the first tile packs the weights */
        for (int o0 = 0; o0 < ncols; o0 += KT_COLS) {
            int nc = ncols - o0 < KT_COLS ? ncols - o0 : KT_COLS;
            float *wb = w + o0 * K;              /* block o0 / COLS, K * COLS floats each */
            for (ptrdiff_t k0 = 0; k0 < K; k0 += kc) {
                ptrdiff_t k1 = k0 + kc < K ? k0 + kc : K;
                if (packing)
                    KT(pack_rows)(wb + k0 * KT_COLS, wsrc + k0 * ldw + o0, ldw, k1 - k0, nc);
                /* While this chunk's weights are in use, the next chunk's (after the
                 * last, the first again, for the next tile) are fetched toward the
                 * cache, a share per call: else each tile waits for them anew.  They
                 * are rows of COLS floats, COLS / 16 cache lines each: packed in w,
                 * or still in wsrc when this tile has yet to pack them.  A single
                 * chunk is not fetched again: it is the one in use (and when it is
                 * the whole reduction, fetching it ahead evicts what runs now). */
                ptrdiff_t kn0 = k1 < K ? k1 : 0, kn1 = kn0 + kc < K ? kn0 + kc : K;
                int unpacked = packing && kn0 > 0;
                const float *wnext = unpacked ? wsrc + kn0 * ldw + o0 : wb + kn0 * KT_COLS;
                ptrdiff_t ldn = unpacked ? ldw : KT_COLS, lines = KT_COLS / 16;
                ptrdiff_t nnext = nchunks > 1 ? (kn1 - kn0) * lines : 0;
                ptrdiff_t share = (nnext + nblocks - 1) / nblocks;     /* lines per call */
                for (int b = 0; b < nblocks; b++) {
                    ptrdiff_t e0 = b * share, e1 = e0 + share < nnext ? e0 + share : nnext;
                    for (ptrdiff_t e = e0; e < e1; e++)
                        __builtin_prefetch(wnext + e / lines * ldn + e % lines * 16, 0, 2);
                    int j = b * KT_ROWS, nrows = nord - j < KT_ROWS ? nord - j : KT_ROWS;
                    const float *wk = wb + k0 * KT_COLS;
                    const float *bo = bias ? bias + o0 : NULL;
                    if (by_runs[b])
                        KT(cnncore_ukernel)(NULL, NULL, rslot + j, bmask[b], run, k0, k1, K, wk,
                                            bo, relu, stream, yslot + j, o0, nrows, nc);
                    else
                        KT(cnncore_ukernel)(cslot + j, off, NULL, 0, run, k0, k1, K, wk, bo,
                                            relu, stream, yslot + j, o0, nrows, nc);
                }
            }
        }
    }
    if (stream) KT_FENCE;
    free(src);
    free(off);
    free(zeros);
    return 0;
}

/* Kernel gradient of one block: dk[r, 0:ncols] += sum_q xs[q][r] * dy[q, 0:COLS]
 * for rows r < nrows, over the pixels q of nspans spans span[2i] <= q < span[2i+1]
 * (the others add nothing): xs holds KT_ROWS floats per pixel and dy KT_COLS
 * (both packed by the caller, so the loop streams through them); dk has rows of
 * ldk floats. */
KT_TARGET static void KT(cnncore_ukernel_dk)(const float *xs, const float *dy, const int *span,
                                             ptrdiff_t nspans, float *dk, ptrdiff_t ldk,
                                             int nrows, int ncols)
{
    VEC acc[KT_ROWS][KT_NV], dv[KT_NV];
    KT_UNROLL for (int r = 0; r < KT_ROWS; r++)
        KT_UNROLL for (int v = 0; v < KT_NV; v++) acc[r][v] = (VEC){0};
    for (ptrdiff_t i = 0; i < nspans; i++) {
        const float *x = xs + (ptrdiff_t)span[2 * i] * KT_ROWS;
        const float *d = dy + (ptrdiff_t)span[2 * i] * KT_COLS;
        for (ptrdiff_t q = span[2 * i]; q < span[2 * i + 1]; q++, x += KT_ROWS, d += KT_COLS) {
            KT_UNROLL for (int v = 0; v < KT_NV; v++) dv[v] = KT(vload)(d + v * KT_VW);
            KT_UNROLL for (int r = 0; r < KT_ROWS; r++) {
                VEC b = KT_SPLAT(x[r]);
                KT_UNROLL for (int v = 0; v < KT_NV; v++) acc[r][v] += b * dv[v];
            }
        }
    }
    float *rows[KT_ROWS];
    KT_UNROLL for (int r = 0; r < KT_ROWS; r++) rows[r] = dk + r * ldk;
    KT(store_block)(acc, rows, 0, nrows, ncols, 1, 0);
}

/* The x panels of reduction blocks g0..g1-1 for pixels 0..n-1 of a chunk: pixel q's
 * values of block kb at xpanel[((kb - g0) * chunk + q) * KT_ROWS], from its runs
 * px[q * ntaps + t] (reduction index k = ktap[k] * run + kcol[k]; onerun: the block
 * lies within one run).  A function of its own: inlined, its loop lost registers to
 * the loops around it. */
__attribute__((noinline)) KT_TARGET static void KT(pack_fields)(
    float *xpanel, const float *const *px, int ntaps, const ptrdiff_t *ktap,
    const ptrdiff_t *kcol, const int *onerun, ptrdiff_t g0, ptrdiff_t g1, ptrdiff_t n,
    ptrdiff_t chunk)
{
    for (ptrdiff_t q = 0; q < n; q++)
        for (ptrdiff_t kb = g0; kb < g1; kb++) {
            const ptrdiff_t *kt = ktap + kb * KT_ROWS, *kl = kcol + kb * KT_ROWS;
            const float *const *runs = px + q * ntaps;
            float *to = xpanel + ((kb - g0) * chunk + q) * KT_ROWS;
            if (onerun[kb - g0])
                memcpy(to, runs[kt[0]] + kl[0], KT_ROWS * sizeof(float));
            else
                for (int r = 0; r < KT_ROWS; r++) to[r] = runs[kt[r]][kl[r]];
        }
}

/* Tasks task0..task1-1 of the kernel gradient dk (K, O) += col(x).T @ dy, K =
 * ntaps * run, over pixels pbeg..pend-1, chunk after chunk (a chunk of x and dy
 * stays in cache while every task uses it).  A task is (block kb of KT_ROWS
 * reduction indices, block ob of KT_COLS output channels), task = kb * nob +
 * ob; f says where each pixel reads its receptive field, reduction index
 * k = t*run + c.
 * Each chunk copies its dy into one contiguous panel per channel block, and
 * for each group of DK_GROUP reduction blocks its x into one panel per block:
 * the pixels' own rows lie a power-of-two stride apart, often, which would
 * crowd a few sets of the L1 cache.  A group's tasks go channel block by
 * channel block, so that block's dy panel stays in L1.  A block of one tap
 * passes over the pixels with that tap in the padding (zeros, nothing to add).
 * dy has rows of ldy >= O floats, a multiple of KT_COLS.  With db (O doubles,
 * else NULL), the bias gradient db[o] += sum_p dy[p, o] too, while each chunk
 * copies dy anyway: float sums of a chunk's rows, added up in double.  Returns
 * -1 when out of memory, else 0. */
KT_TARGET static int KT(cnncore_dkernel_tasks)(
    const cnncore_fields *f, const float *dy, ptrdiff_t ldy, ptrdiff_t O,
    float *dk, double *db, ptrdiff_t pbeg, ptrdiff_t pend, ptrdiff_t chunk, ptrdiff_t task0,
    ptrdiff_t task1)
{
    enum { DK_GROUP = 16 };
    int ntaps = f->ntaps;
    ptrdiff_t run = f->run, K = ntaps * run;
    ptrdiff_t nob = (O + KT_COLS - 1) / KT_COLS;
    ptrdiff_t kbeg = task0 / nob, kend = (task1 + nob - 1) / nob;   /* the tasks' blocks kb */
    /* each reduction index's tap and place in its run (spare rows of the last
     * block re-read index 0), the chunk's pixels' runs, the zeros of the runs
     * outside x, and the panels */
    ptrdiff_t *ktap = malloc((size_t)(K + KT_ROWS) * 2 * sizeof(ptrdiff_t));
    ptrdiff_t *kcol = ktap + K + KT_ROWS;
    const float **px = malloc((size_t)(chunk * ntaps) * sizeof(const float *));
    float *zeros = calloc((size_t)run, sizeof(float));
    float *dpanel = malloc((size_t)(chunk * nob * KT_COLS) * sizeof(float));
    float *xpanel = malloc((size_t)(chunk * DK_GROUP * KT_ROWS) * sizeof(float));
    /* the spans of the chunk's pixels with each tap t < 64 inside x (its padding
     * adds nothing to dk: the other pixels are skipped), and (list nlists) one span
     * of them all */
    int nlists = ntaps < 64 ? ntaps : 64;
    uint64_t *pmask = malloc((size_t)chunk * sizeof *pmask);
    int *spans = malloc((size_t)(chunk * 2 * (nlists + 1)) * sizeof *spans);
    ptrdiff_t *nspans = malloc((size_t)(nlists + 1) * sizeof *nspans);
    if (!ktap || !px || !zeros || !dpanel || !xpanel || !pmask || !spans || !nspans) {
        free(ktap);
        free(px);
        free(zeros);
        free(dpanel);
        free(xpanel);
        free(pmask);
        free(spans);
        free(nspans);
        return -1;
    }
    for (ptrdiff_t k = 0; k < K + KT_ROWS; k++) {
        ktap[k] = k < K ? k / run : 0;
        kcol[k] = k < K ? k % run : 0;
    }
    for (ptrdiff_t p0 = pbeg; p0 < pend; p0 += chunk) {
        ptrdiff_t n = p0 + chunk < pend ? chunk : pend - p0;
        KT(field_tile)(NULL, NULL, pmask, px, f, zeros, NULL, p0, n);
        uint64_t every = ~(uint64_t)0;           /* the taps every pixel has inside */
        for (ptrdiff_t q = 0; q < n; q++) every &= pmask[q];
        for (int l = 0; l <= nlists; l++) {
            int *sp = spans + l * chunk * 2, ns = 0;
            for (ptrdiff_t q = 0; q < n; q++) {
                if (l < nlists && !(pmask[q] >> l & 1)) continue;
                if (ns && sp[2 * ns - 1] == q) sp[2 * ns - 1]++;
                else sp[2 * ns] = (int)q, sp[2 * ns + 1] = (int)q + 1, ns++;
                if (l == nlists || every >> l & 1) {   /* then one span of them all */
                    sp[1] = (int)n;
                    break;
                }
            }
            nspans[l] = ns;
        }
        for (ptrdiff_t ob = 0; ob < nob; ob++) {
            VEC sum[KT_NV] = {0};                /* the chunk's share of db */
            for (ptrdiff_t q = 0; q < n; q++) {
                const float *row = dy + (p0 + q) * ldy + ob * KT_COLS;
                memcpy(dpanel + (ob * chunk + q) * KT_COLS, row, KT_COLS * sizeof(float));
                if (db)
                    KT_UNROLL for (int v = 0; v < KT_NV; v++) sum[v] += KT(vload)(row + v * KT_VW);
            }
            if (db) {
                float part[KT_COLS];
                KT_UNROLL for (int v = 0; v < KT_NV; v++) KT(vstore)(part + v * KT_VW, sum[v]);
                for (ptrdiff_t c = 0; c < KT_COLS && ob * KT_COLS + c < O; c++)
                    db[ob * KT_COLS + c] += part[c];
            }
        }
        for (ptrdiff_t g0 = kbeg; g0 < kend; g0 += DK_GROUP) {
            ptrdiff_t g1 = g0 + DK_GROUP < kend ? g0 + DK_GROUP : kend;
            /* a block within one tap's run (spare rows excepted) is contiguous, and
             * needs only the pixels with that tap inside x: its list of spans */
            int onerun[DK_GROUP], list[DK_GROUP];
            for (ptrdiff_t kb = g0; kb < g1; kb++) {
                const ptrdiff_t *kt = ktap + kb * KT_ROWS, *kl = kcol + kb * KT_ROWS;
                onerun[kb - g0] =
                    kt[KT_ROWS - 1] == kt[0] && kl[KT_ROWS - 1] - kl[0] == KT_ROWS - 1;
                list[kb - g0] = onerun[kb - g0] && kt[0] < nlists ? (int)kt[0] : nlists;
            }
            KT(pack_fields)(xpanel, px, ntaps, ktap, kcol, onerun, g0, g1, n, chunk);
            for (ptrdiff_t ob = 0; ob < nob; ob++)
                for (ptrdiff_t kb = g0; kb < g1; kb++) {
                    ptrdiff_t task = kb * nob + ob, k0 = kb * KT_ROWS, o0 = ob * KT_COLS;
                    if (task < task0 || task >= task1)
                        continue;
                    KT(cnncore_ukernel_dk)(xpanel + (kb - g0) * chunk * KT_ROWS,
                                           dpanel + ob * chunk * KT_COLS,
                                           spans + list[kb - g0] * chunk * 2,
                                           nspans[list[kb - g0]], dk + k0 * O + o0, O,
                                           K - k0 < KT_ROWS ? (int)(K - k0) : KT_ROWS,
                                           O - o0 < KT_COLS ? (int)(O - o0) : KT_COLS);
                }
        }
    }
    free(ktap);
    free(px);
    free(zeros);
    free(dpanel);
    free(xpanel);
    free(pmask);
    free(spans);
    free(nspans);
    return 0;
}

#undef VEC
#undef MASK
#undef KT_CAT2
#undef KT_CAT
#undef KT
#undef KT_COLS
#undef KT_INLINE
#undef KT_UNROLL
#undef KT_SPLAT
#undef KT_SUFFIX
#undef KT_TARGET
#undef KT_VW
#undef KT_NV
#undef KT_ROWS
#undef KT_STREAM
#undef KT_FENCE
