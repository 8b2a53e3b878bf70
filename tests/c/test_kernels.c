/* Standalone test of the direct convolution micro-kernels (cnncore/_direct.h):
 * every instance this CPU runs is compared with naive loops (double
 * accumulation) on small shapes, forward and kernel gradient, reading the
 * receptive fields as cnncore.functional lays them out: runs of one tap of x
 * itself (the padding read as zeros, never made), runs of a kernel row of x
 * when every field lies within its columns, and a zero-padded copy.
 *
 *   gcc -std=gnu99 -O2 -ffp-contract=fast -Wall -Wextra -I cnncore \
 *       tests/c/test_kernels.c -o test_kernels -lm && ./test_kernels
 *
 * Prints each failing check with its parameters and the max error, then
 * "N passed, M failed"; exits 1 on any failure.  scripts/test_c_kernels.sh
 * builds and runs it natively and for aarch64 under qemu.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "_direct.h"

typedef struct {
    int N, H, W, C, O, KH, KW, sh, sw, dh, dw, pt, pb, pl, pr, bias, relu;
} Case;

static const Case CASES[] = {
    /* N  H  W   C    O KH KW sh sw dh dw pt pb pl pr bias relu */
    {1, 5, 7, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
    {1, 6, 6, 3, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0},
    {2, 7, 5, 5, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1},
    {1, 9, 8, 16, 40, 2, 3, 1, 2, 1, 1, 0, 1, 1, 1, 0, 1},
    {1, 9, 9, 17, 64, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1},
    {1, 8, 8, 64, 70, 3, 3, 2, 1, 2, 1, 1, 1, 1, 1, 1, 0},
    {2, 12, 12, 3, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {1, 4, 4, 64, 3, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1},
    {1, 5, 6, 17, 1, 2, 3, 2, 2, 1, 2, 1, 0, 2, 1, 0, 1},
    {3, 3, 3, 1, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {1, 10, 10, 16, 128, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
    {1, 7, 7, 5, 40, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0, 1},
    {1, 1, 1, 3, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0},
    {1, 11, 13, 64, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 6, 9, 17, 17, 2, 3, 1, 2, 2, 1, 1, 0, 0, 2, 1, 0},
    {1, 14, 15, 1, 3, 2, 3, 1, 1, 1, 2, 0, 1, 1, 0, 1, 1},
    /* rows wide enough for whole blocks of pixels with no padding in their fields */
    {1, 5, 23, 16, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 4, 30, 5, 17, 2, 3, 1, 2, 1, 1, 0, 1, 2, 1, 0, 0},
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

static const char *ISA_NAMES[] = {"avx512", "avx2", "portable"};

static uint64_t rng_state = 12345;

static float rnd(void)  /* uniform in [-1, 1), from a fixed-seed LCG */
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(rng_state >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) { perror("malloc"); exit(2); }
    return p;
}

static int passed, failed;

static void no_fail(int rc)     /* a kernel's -1: out of memory, which small shapes never are */
{
    if (rc) { printf("a kernel returned %d (out of memory)\n", rc); exit(2); }
}

static void print_case(const Case *c, const char *isa, const char *what)
{
    printf("FAIL %s %s: N=%d H=%d W=%d C=%d O=%d k=%dx%d stride=%d,%d dil=%d,%d "
           "pad(t,b,l,r)=%d,%d,%d,%d bias=%d relu=%d", isa, what, c->N, c->H, c->W, c->C,
           c->O, c->KH, c->KW, c->sh, c->sw, c->dh, c->dw, c->pt, c->pb, c->pl, c->pr,
           c->bias, c->relu);
}

/* Max |got - ref| over n values, NaN counted as an infinite error */
static double max_err(const float *got, const double *ref, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (!(d <= e)) e = isnan(d) ? INFINITY : d;
    }
    return e;
}

static double max_abs(const double *ref, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs(ref[i]) > m ? fabs(ref[i]) : m;
    return m;
}

static void check(const Case *c, const char *isa, const char *what, double err, double ref,
                  long stray)
{
    if (err <= 1e-5 * ref && stray == 0) {
        passed++;
        return;
    }
    failed++;
    print_case(c, isa, what);
    printf(" max_err=%.3g (tol %.3g)", err, 1e-5 * ref);
    if (stray) printf(" writes outside the block: %ld", stray);
    printf("\n");
}

/* Boundary s of nsplit pixel ranges over 0..P, off the multiples of the row blocks */
static ptrdiff_t split_point(ptrdiff_t P, int s, int nsplit)
{
    if (s == 0 || s == nsplit) return s ? P : 0;
    ptrdiff_t b = P * s / nsplit + 1;
    return b < P ? b : P;
}

static void run_case(const Case *c, const int *isas, int nisas)
{
    int Hp = c->pt + c->H + c->pb, Wp = c->pl + c->W + c->pr, C = c->C, O = c->O;
    int OH = (Hp - (c->KH - 1) * c->dh - 1) / c->sh + 1;
    int OW = (Wp - (c->KW - 1) * c->dw - 1) / c->sw + 1;
    int T = c->KH * c->KW, K = T * C;
    ptrdiff_t P = (ptrdiff_t)c->N * OH * OW;

    /* input, its padded copy (zero borders), kernel (KH, KW, C, O), bias, dy (P, O) */
    float *x = xmalloc(sizeof(float) * c->N * c->H * c->W * C);
    float *xpad = xmalloc(sizeof(float) * c->N * Hp * Wp * C);
    float *kern = xmalloc(sizeof(float) * K * O);
    float *bias = xmalloc(sizeof(float) * O);
    float *dy = xmalloc(sizeof(float) * P * O);
    for (int b = 0; b < c->N; b++)
        for (int h = 0; h < Hp; h++)
            for (int w = 0; w < Wp; w++)
                for (int ch = 0; ch < C; ch++) {
                    int inside = h >= c->pt && h < c->pt + c->H && w >= c->pl && w < c->pl + c->W;
                    float v = inside ? rnd() : 0.0f;
                    xpad[((b * Hp + h) * Wp + w) * C + ch] = v;
                    if (inside)
                        x[((b * c->H + h - c->pt) * c->W + w - c->pl) * C + ch] = v;
                }
    for (int i = 0; i < K * O; i++) kern[i] = rnd();
    for (int i = 0; i < O; i++) bias[i] = rnd();
    for (ptrdiff_t i = 0; i < P * O; i++) dy[i] = rnd();

    /* naive references: y (P, O) and dk (K, O), k = (m*KW + n)*C + ch */
    double *yref = xmalloc(sizeof(double) * P * O);
    double *dkref = calloc((size_t)K * O, sizeof(double));
    for (ptrdiff_t p = 0; p < P; p++) {
        int b = (int)(p / (OH * OW)), i = (int)(p % (OH * OW)) / OW, j = (int)(p % OW);
        for (int o = 0; o < O; o++) yref[p * O + o] = c->bias ? bias[o] : 0.0;
        for (int m = 0; m < c->KH; m++)
            for (int n = 0; n < c->KW; n++)
                for (int ch = 0; ch < C; ch++) {
                    int k = (m * c->KW + n) * C + ch;
                    double v = xpad[((b * Hp + i * c->sh + m * c->dh) * Wp + j * c->sw + n * c->dw)
                                    * C + ch];
                    for (int o = 0; o < O; o++) {
                        yref[p * O + o] += v * kern[k * O + o];
                        dkref[k * O + o] += v * dy[p * O + o];
                    }
                }
        if (c->relu)
            for (int o = 0; o < O; o++) yref[p * O + o] = fmax(yref[p * O + o], 0.0);
    }
    double *dbref = calloc((size_t)O, sizeof(double));
    for (ptrdiff_t p = 0; p < P; p++)
        for (int o = 0; o < O; o++) dbref[o] += dy[p * O + o];
    double yscale = max_abs(yref, (size_t)P * O), dkscale = max_abs(dkref, (size_t)K * O);
    double dbscale = max_abs(dbref, (size_t)O);

    /* where the fields are read (cnncore_fields): taps on x; the padded copy, by kernel
     * rows (column dilation 1) or taps; kernel rows on x, when every field lies within
     * its columns */
    ptrdiff_t taps[2 * 64], krows[2 * 64];
    for (int m = 0; m < c->KH; m++)
        for (int n = 0; n < c->KW; n++) {
            taps[2 * (m * c->KW + n)] = (ptrdiff_t)m * c->dh;
            taps[2 * (m * c->KW + n) + 1] = (ptrdiff_t)n * c->dw;
        }
    for (int m = 0; m < c->KH; m++) krows[2 * m] = (ptrdiff_t)m * c->dh, krows[2 * m + 1] = 0;
    int rows_fit = c->dw == 1 && c->pl == 0 && (OW - 1) * c->sw + c->KW <= c->W;
    cnncore_fields fields[3] = {
        {x, c->H, c->W, C, OH, OW, c->sh, c->sw, c->pt, c->pl, taps, T, C},
        {xpad, Hp, Wp, C, OH, OW, c->sh, c->sw, 0, 0, c->dw == 1 ? krows : taps,
         c->dw == 1 ? c->KH : T, c->dw == 1 ? (ptrdiff_t)c->KW * C : C},
        {x, c->H, c->W, C, OH, OW, c->sh, c->sw, c->pt, c->pl, krows, c->KH, (ptrdiff_t)c->KW * C},
    };
    static const char *field_names[] = {"taps of x", "padded copy", "kernel rows of x"};

    for (int ii = 0; ii < nisas; ii++) {
        int isa = isas[ii], cols = cnncore_isa_cols(isa), rows = cnncore_isa_rows(isa);
        const char *name = ISA_NAMES[isa];
        int nb = (O + cols - 1) / cols, ldy = nb * cols;
        char what[160];

        /* weights packed as pack_weights(flip=False): (nb, K, cols), zero past O */
        float *wpack = xmalloc(sizeof(float) * nb * K * cols);
        for (int bb = 0; bb < nb; bb++)
            for (int k = 0; k < K; k++)
                for (int v = 0; v < cols; v++) {
                    int o = bb * cols + v;
                    wpack[((size_t)bb * K + k) * cols + v] = o < O ? kern[k * O + o] : 0.0f;
                }

        /* forward: whole pixel range, then 2 and 3 sub-ranges (not multiples of rows),
         * a call per block of channels, then one call for all of them; with the
         * weights packed first, then packed by each call into a buffer of NaN; the
         * reduction in chunks of cnncore.functional's default (32 KiB of weights), of
         * 5 indices (ending mid-run), and in one; each stored plainly and streamed
         * (aligned rows past the caches); y has a guard row after its P rows,
         * checked like the other blocks */
        const ptrdiff_t kcs[] = {32768 / (cols * (ptrdiff_t)sizeof(float)), 5, 0};
        /* 64-byte aligned, as cnncore's outputs are: rows of a multiple of 16 floats
         * are then streamed (when asked) */
        float *y;
        if (posix_memalign((void **)&y, 64, sizeof(float) * (P + 1) * O)) {
            perror("posix_memalign");
            exit(2);
        }
        float *before = xmalloc(sizeof(float) * (P + 1) * O);
        float *wbuf = xmalloc(sizeof(float) * nb * K * cols);
        for (int g = 0; g < 3; g++)
        for (int variant = 0; variant < 24; variant++)
            for (int nsplit = 1; nsplit <= 3; nsplit++) {
                const cnncore_fields *f = &fields[g];
                if (g == 2 && !rows_fit) continue;
                int packing = variant / 2 % 2, all = variant % 2, stream = variant / 12;
                ptrdiff_t kc = kcs[variant % 12 / 4];
                long stray = 0;
                int per = all ? nb * cols : cols;   /* channels per call */
                for (ptrdiff_t i = 0; i < (P + 1) * O; i++) y[i] = NAN;
                for (int o0 = 0; o0 < O; o0 += per) {
                    int ncols = O - o0 < per ? O - o0 : per;
                    for (int s = 0; s < nsplit; s++) {
                        ptrdiff_t p0 = split_point(P, s, nsplit), p1 = split_point(P, s + 1, nsplit);
                        if (p0 >= p1) continue;
                        memcpy(before, y, sizeof(float) * (P + 1) * O);
                        for (size_t i = 0; i < (size_t)nb * K * cols; i++) wbuf[i] = NAN;
                        float *wb = packing ? wbuf : wpack + (size_t)(o0 / cols) * K * cols;
                        no_fail(cnncore_direct_block(isa, f, packing ? kern + o0 : NULL, O, wb,
                                                     c->bias ? bias + o0 : NULL, c->relu,
                                                     stream, y + o0, O, ncols, kc, p0, p1));
                        for (ptrdiff_t p = 0; p <= P; p++)   /* nothing else changed */
                            for (int o = 0; o < O; o++)
                                if ((p < p0 || p >= p1 || o < o0 || o >= o0 + ncols) &&
                                    memcmp(&y[p * O + o], &before[p * O + o], sizeof(float)))
                                    stray++;
                    }
                }
                snprintf(what, sizeof what,
                         "forward (%s, %d pixel range%s, %s%s, chunks of %td%s)", field_names[g],
                         nsplit, nsplit > 1 ? "s" : "",
                         all ? "all blocks at once" : "block by block",
                         packing ? ", packing as it goes" : "", kc, stream ? ", streamed" : "");
                check(c, name, what, max_err(y, yref, (size_t)P * O), yscale, stray);
            }

        /* kernel gradient: dy rows padded to ldy with NaN (must not leak into dk) */
        float *dyp = xmalloc(sizeof(float) * P * ldy);
        float *dk = xmalloc(sizeof(float) * (K + 1) * O);  /* a guard row of NaN after K rows */
        double *db = xmalloc(sizeof(double) * 2 * O);      /* and after db's O values */
        for (ptrdiff_t p = 0; p < P; p++)
            for (int o = 0; o < ldy; o++) dyp[p * ldy + o] = o < O ? dy[p * O + o] : NAN;
        ptrdiff_t ntasks = (ptrdiff_t)((K + rows - 1) / rows) * nb;
        const ptrdiff_t chunks[] = {P, 7, 1, 2 * rows + 1};
        static const char *splits[] = {"1 task range", "2 task ranges", "2 pixel ranges"};
        for (int g = 0; g < 3; g++)
        for (int ci = 0; ci < 4; ci++)
            for (int split = 0; split < 3; split++) {
                const cnncore_fields *f = &fields[g];
                if (g == 2 && !rows_fit) continue;
                /* the second call: tasks mid.. over every pixel, or every task over pmid.. */
                ptrdiff_t mid = split == 1 ? ntasks / 3 + (ntasks > 1) : ntasks;
                ptrdiff_t pmid = split == 2 ? split_point(P, 1, 2) : P;
                memset(dk, 0, sizeof(float) * K * O);
                for (int o = 0; o < O; o++) dk[K * O + o] = NAN, db[o] = 0, db[O + o] = NAN;
                no_fail(cnncore_dkernel_tasks(isa, f, dyp, ldy, O, dk, db, 0, pmid, chunks[ci],
                                              0, mid));
                /* split tasks: the second call walks the same pixels, so it gets no db */
                if (mid < ntasks || pmid < P)
                    no_fail(cnncore_dkernel_tasks(isa, f, dyp, ldy, O, dk,
                                                  mid < ntasks ? NULL : db,
                                                  mid < ntasks ? 0 : pmid, P, chunks[ci],
                                                  mid < ntasks ? mid : 0, ntasks));
                snprintf(what, sizeof what, "dkernel (%s, chunk %td, %s)", field_names[g],
                         chunks[ci], splits[split]);
                long stray = 0;
                for (int o = 0; o < O; o++) stray += !isnan(dk[K * O + o]) + !isnan(db[O + o]);
                check(c, name, what, max_err(dk, dkref, (size_t)K * O), dkscale, stray);
                float dbf[O];
                for (int o = 0; o < O; o++) dbf[o] = (float)db[o];
                snprintf(what, sizeof what, "bias gradient (%s, chunk %td, %s)", field_names[g],
                         chunks[ci], splits[split]);
                check(c, name, what, max_err(dbf, dbref, (size_t)O), dbscale, 0);
            }
        free(wpack); free(wbuf); free(y); free(before); free(dyp); free(dk); free(db);
    }
    free(x); free(xpad); free(kern); free(bias); free(dy); free(yref); free(dkref); free(dbref);
}

int main(void)
{
    int isas[3], nisas = 0;
    printf("CPU: %s\n", cnncore_cpu_is_amd() ? "AMD" : "not AMD");
    printf("instances:");
    for (int isa = CNNCORE_AVX512; isa <= CNNCORE_PORTABLE; isa++) {
        if (!cnncore_isa_supported(isa)) {
            printf(" %s (not supported, skipped)", ISA_NAMES[isa]);
            continue;
        }
        isas[nisas++] = isa;
        printf(" %s (%d x %d)", ISA_NAMES[isa], cnncore_isa_rows(isa), cnncore_isa_cols(isa));
    }
    printf("\n");
    if (nisas == 0) {
        printf("no instance runs on this CPU\n0 passed, 1 failed\n");
        return 1;
    }
    for (int i = 0; i < NCASES; i++) run_case(&CASES[i], isas, nisas);
    printf("tested:");
    for (int i = 0; i < nisas; i++) printf(" %s", ISA_NAMES[isas[i]]);
    printf("\n%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
