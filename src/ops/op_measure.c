/*
 * op_measure.c - measure_labels, a global operation (op.h, lapse_global_t) that turns a label
 * image and an intensity image into one table row per label of each timepoint: voxel count,
 * centroid, bounding box and the sum, mean, minimum, maximum and standard deviation of the
 * intensities, as skimage.measure.regionprops_table on the untiled timepoint. Its image result
 * is the labels, passed through.
 *
 * Three passes, each a partial per tile (kernels/measure.cl over the tile's core) and a host
 * reduction over the tiles in tile order:
 *   0. the largest label (sizes the per-label arrays), the largest finite |intensity| and the
 *      foreground voxel count (choose the fixed-point scales);
 *   1. per label: count, coordinate sums, bounding box (int64), intensity sum as a 128-bit
 *      integer rint(v * 2^s1), minimum, maximum; the reduction gives every label's mean;
 *   2. per label: the 128-bit integer sum of rint((v - mean)^2 * 2^s2) (the square in double
 *      on the device): the population variance without cancellation.
 * Every partial is an exact integer (or a minimum / maximum), so the table has the same bits
 * whatever the tiling; floats are rounded once, at the end.
 */
#include "ops/family.h"
#include "ops/global.h"

#include <stddef.h>
#include <stdint.h>

#define MAX_LABEL   16777216 /* 2^24: labels travel as float32 between steps */
#define SCAN_GROUPS 1024     /* at most, of lapse_measure_scan */
#define SCAN_WG     256      /* LAPSE_MG of measure.cl */
#define FIX_BITS    125      /* every 128-bit sum stays below 2^FIX_BITS */
#define SEG         16       /* LAPSE_SEG of measure.cl */

/* Non-finite intensity flags of a label (kernels/measure.cl). */
#define FL_NAN  1u
#define FL_PINF 2u
#define FL_NINF 4u

/* The table's columns (op.h, lapse_table_desc_t), in the order of a result row. */
enum {
    C_T,
    C_LABEL,
    C_AREA,
    C_CZ,
    C_CY,
    C_CX,
    C_BZ0,
    C_BY0,
    C_BX0,
    C_BZ1,
    C_BY1,
    C_BX1,
    C_SUM,
    C_MEAN,
    C_MIN,
    C_MAX,
    C_STD,
    NCOLS
};

static const lapse_col_t measure_cols[NCOLS] = {
    {"timepoint", 0},     {"label", 0},          {"area", 0},          {"centroid_z", 1},
    {"centroid_y", 1},    {"centroid_x", 1},     {"bbox_z0", 0},       {"bbox_y0", 0},
    {"bbox_x0", 0},       {"bbox_z1", 0},        {"bbox_y1", 0},       {"bbox_x1", 0},
    {"intensity_sum", 1}, {"intensity_mean", 1}, {"intensity_min", 1}, {"intensity_max", 1},
    {"intensity_std", 1},
};

static const lapse_table_desc_t measure_table = {NCOLS, measure_cols};

/* ---------------------------------------------------------------- blobs */

/* Pass 0 partial. */
typedef struct {
    uint32_t maxlabel; /* > MAX_LABEL: a value above 2^24 was seen */
    float maxabs;      /* largest finite |intensity| of a foreground voxel, 0 if none */
    int64_t nfg;       /* foreground voxels */
} scan_t;

/* Pass 0 result. */
typedef struct {
    int64_t maxlabel, nfg;
    int32_t s1, s2; /* fixed-point shifts of the sums (pass 1) and squares (pass 2) */
} scale_t;

/* One label's accumulated values: a pass-1 partial record, and (combined over the tiles, mean
 * filled in) a row of the pass-1 result. */
typedef struct {
    int64_t label, n, sz, sy, sx;
    int64_t bb[6]; /* minimum z, y, x, maximum z, y, x (inclusive) */
    uint64_t slo;  /* intensity sum * 2^s1, 128-bit two's complement: low word */
    int64_t shi;   /* high word */
    double mean;   /* pass-1 result only: the mean intensity (0 when flags) */
    float vmin, vmax;
    uint32_t flags, pad;
} rec_t;

/* Pass-1 result header; nrows rec_t follow, sorted by label. */
typedef struct {
    int64_t maxlabel, nrows;
    int32_t s1, s2;
} head_t;

/* Pass 2 partial record: a label's sum of squares * 2^s2. */
typedef struct {
    int64_t label;
    uint64_t lo;
    int64_t hi;
} sq_t;

static lapse_status_t blob_new(lapse_blob_t *b, size_t size)
{
    b->data = calloc(1, size ? size : 1);
    b->size = size;
    return b->data ? LAPSE_OK : lapse_fail(LAPSE_ENOMEM, "out of memory for a measurement");
}

/* The record count n stored at byte count_at of a blob whose records of size rec start at byte
 * data_at, checked against the blob's size. */
static lapse_status_t blob_count(const lapse_blob_t *b, size_t count_at, size_t data_at, size_t rec,
                                 int64_t *n)
{
    if (b->data == NULL || b->size < data_at)
        return lapse_fail(LAPSE_ERUNTIME, "internal error: a measurement blob of %zu bytes",
                          b->size);
    memcpy(n, (const char *)b->data + count_at, sizeof *n);
    if (*n < 0 || b->size != data_at + (size_t)*n * rec)
        return lapse_fail(LAPSE_ERUNTIME,
                          "internal error: a measurement blob of %zu bytes holds %lld records",
                          b->size, (long long)*n);
    return LAPSE_OK;
}

/* 128-bit two's complement (lo, hi) as the nearest double (within one unit of rounding). */
static double i128_to_double(uint64_t lo, int64_t hi)
{
    int neg = hi < 0;
    uint64_t l = lo, h = (uint64_t)hi;
    if (neg) {
        l = ~l + 1;
        h = ~h + (l == 0);
    }
    double v = h ? ldexp((double)h, 64) + (double)l : (double)l;
    return neg ? -v : v;
}

/* ---------------------------------------------------------------- the device */

/* Whether the device has the extensions measure.cl needs; a clear error if not. */
static lapse_status_t need_extensions(lapse_dev_t *d)
{
    static const char *const need[] = {"cl_khr_int64_base_atomics", "cl_khr_fp64"};
    return lapse_dev_require(d, "measure_labels", "64-bit atomic sums and double precision", need,
                             2);
}

/* Kernel arguments 0..4: labels, intensities, buffer dims, core offset, core dims. */
static lapse_status_t core_args(cl_kernel k, const lapse_dvol_t *in, const lapse_gtile_t *t)
{
    lapse_status_t st = LAPSE_OK;
    cl_int4 b = {{(cl_int)in[0].dim[2], (cl_int)in[0].dim[1], (cl_int)in[0].dim[0], 0}};
    cl_int4 o = {
        {(cl_int)t->core_rel.off[2], (cl_int)t->core_rel.off[1], (cl_int)t->core_rel.off[0], 0}};
    cl_int4 c = {
        {(cl_int)t->core_rel.dim[2], (cl_int)t->core_rel.dim[1], (cl_int)t->core_rel.dim[0], 0}};
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, in[1].mem);
    LAPSE_ARG(k, 2, b);
    LAPSE_ARG(k, 3, o);
    LAPSE_ARG(k, 4, c);
cleanup:
    return st;
}

/* Launch run kernel k (arguments up to first_local - 1 set) over tile t's core: work-groups of
 * wg work-items (a power of two, 32..64, or what the kernel allows) each staging a chunk of
 * wg * SEG voxels of a row in local memory (arguments first_local, first_local + 1), a grid of
 * (chunks per row, rows). */
static lapse_status_t launch_runs(lapse_dev_t *d, cl_kernel k, size_t kwg, cl_uint first_local,
                                  const lapse_gtile_t *t)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_box_t *c = &t->core_rel;
    size_t need = (size_t)(c->dim[2] + SEG - 1) / SEG, wg = 32;
    while (wg < need && wg < 64)
        wg *= 2;
    while (wg > kwg && wg > 1)
        wg /= 2;
    const size_t chunk = wg * SEG, bytes = (chunk + chunk / 32) * sizeof(cl_float);
    LAPSE_CL(clSetKernelArg(k, first_local, bytes, NULL));
    LAPSE_CL(clSetKernelArg(k, first_local + 1, bytes, NULL));
    size_t global[2] = {wg * (((size_t)c->dim[2] + chunk - 1) / chunk),
                        (size_t)(c->dim[1] * c->dim[0])},
           local[2] = {wg, 1};
    LAPSE_TRY(lapse_dev_enqueue(d, k, 2, global, local));
cleanup:
    return st;
}

static cl_mem new_buffer(lapse_dev_t *d, size_t bytes, cl_int *e)
{
    return clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, e);
}

/* Pass 0 partial: the scan of the core (scan_t). */
static lapse_status_t scan_partial(lapse_dev_t *d, const lapse_dvol_t *in, const lapse_gtile_t *t,
                                   lapse_blob_t *part)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_kernel k;
    cl_mem res = NULL, nfg = NULL;
    cl_uint r[2] = {0, 0};
    cl_ulong n = 0;
    res = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof r, r, &e);
    LAPSE_CL(e);
    nfg = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof n, &n, &e);
    LAPSE_CL(e);
    LAPSE_TRY(lapse_dev_kernel(d, "measure.cl", "lapse_measure_scan", &k, NULL));
    LAPSE_TRY(core_args(k, in, t));
    LAPSE_ARG(k, 5, res);
    LAPSE_ARG(k, 6, nfg);
    /* a work-group per core row, at most SCAN_GROUPS */
    size_t vox = (size_t)lapse_box_voxels(&t->core_rel),
           ng = (size_t)(t->core_rel.dim[0] * t->core_rel.dim[1]);
    ng = ng < 1 ? 1 : ng > SCAN_GROUPS ? SCAN_GROUPS : ng;
    size_t global = ng * SCAN_WG, local = SCAN_WG;
    if (vox > 0)
        LAPSE_TRY(lapse_dev_enqueue(d, k, 1, &global, &local));
    LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, res, CL_TRUE, 0, sizeof r, r, 0, NULL, NULL));
    LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, nfg, CL_TRUE, 0, sizeof n, &n, 0, NULL, NULL));
    LAPSE_TRY(blob_new(part, sizeof(scan_t)));
    scan_t *s = part->data;
    s->maxlabel = r[0];
    memcpy(&s->maxabs, &r[1], sizeof s->maxabs);
    s->nfg = (int64_t)n;
cleanup:
    if (res)
        clReleaseMemObject(res);
    if (nfg)
        clReleaseMemObject(nfg);
    return st;
}

/* Fill n uint32 of buf from element `at` with value v. */
static lapse_status_t fill_u32(lapse_dev_t *d, cl_mem buf, size_t at, size_t n, cl_uint v)
{
    lapse_status_t st = LAPSE_OK;
    if (n)
        LAPSE_CL(clEnqueueFillBuffer(d->cl->queue, buf, &v, sizeof v, at * sizeof v, n * sizeof v,
                                     0, NULL, NULL));
cleanup:
    return st;
}

/* The float behind an order-preserving key of measure.cl (fkey). */
static float unkey(uint32_t k)
{
    uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The kernel's fkey: the order-preserving key of a non-NaN float (-0.0 below +0.0). */
static uint32_t fkey(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* The smaller (max: larger) of a and b in fkey's order, as the device takes it; NaN stands for
 * "none seen". fminf / fmaxf treat -0.0 and +0.0 as equal and return either, so a label holding
 * both got the sign of whichever tile came first: the table differed with the tiling. */
static float key_min(float a, float b, int max)
{
    if (isnan(a))
        return b;
    if (isnan(b))
        return a;
    return (max ? fkey(b) > fkey(a) : fkey(b) < fkey(a)) ? b : a;
}

/* Pass 1 partial: the labels present in the core with their sums (int64 n, rec_t[n], by
 * label). */
static lapse_status_t accum_partial(lapse_dev_t *d, const scale_t *sc, const lapse_dvol_t *in,
                                    const lapse_gtile_t *t, lapse_blob_t *part)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_kernel k;
    cl_mem acc = NULL, ext = NULL;
    uint64_t *ha = NULL;
    uint32_t *he = NULL;
    const size_t m1 = (size_t)sc->maxlabel + 1;
    int64_t npresent = 0;
    if (sc->maxlabel == 0) { /* no label in the timepoint */
        st = blob_new(part, sizeof(int64_t));
        goto cleanup;
    }
    acc = new_buffer(d, 6 * m1 * sizeof(cl_ulong), &e);
    LAPSE_CL(e);
    ext = new_buffer(d, 9 * m1 * sizeof(cl_uint), &e);
    LAPSE_CL(e);
    const cl_ulong zero = 0;
    LAPSE_CL(clEnqueueFillBuffer(d->cl->queue, acc, &zero, sizeof zero, 0, 6 * m1 * sizeof zero, 0,
                                 NULL, NULL));
    LAPSE_TRY(fill_u32(d, ext, 0, 3 * m1, 0xFFFFFFFFu));  /* bounding box minima */
    LAPSE_TRY(fill_u32(d, ext, 3 * m1, 3 * m1, 0));       /* maxima */
    LAPSE_TRY(fill_u32(d, ext, 6 * m1, m1, 0xFFFFFFFFu)); /* intensity minimum key */
    LAPSE_TRY(fill_u32(d, ext, 7 * m1, 2 * m1, 0));       /* maximum key, flags */
    size_t kwg = 0;
    LAPSE_TRY(lapse_dev_kernel(d, "measure.cl", "lapse_measure_accum", &k, &kwg));
    LAPSE_TRY(core_args(k, in, t));
    cl_int4 p = {{(cl_int)t->core.off[2], (cl_int)t->core.off[1], (cl_int)t->core.off[0], 0}};
    cl_int shift = sc->s1;
    cl_ulong cm1 = m1;
    LAPSE_ARG(k, 5, p);
    LAPSE_ARG(k, 6, shift);
    LAPSE_ARG(k, 7, acc);
    LAPSE_ARG(k, 8, ext);
    LAPSE_ARG(k, 9, cm1);
    LAPSE_TRY(launch_runs(d, k, kwg, 10, t));
    ha = malloc(6 * m1 * sizeof *ha);
    he = malloc(9 * m1 * sizeof *he);
    LAPSE_ALLOC(ha);
    LAPSE_ALLOC(he);
    LAPSE_CL(
        clEnqueueReadBuffer(d->cl->queue, acc, CL_TRUE, 0, 6 * m1 * sizeof *ha, ha, 0, NULL, NULL));
    LAPSE_CL(
        clEnqueueReadBuffer(d->cl->queue, ext, CL_TRUE, 0, 9 * m1 * sizeof *he, he, 0, NULL, NULL));
    for (size_t l = 1; l < m1; l++)
        npresent += ha[l] != 0;
    LAPSE_TRY(blob_new(part, sizeof(int64_t) + (size_t)npresent * sizeof(rec_t)));
    memcpy(part->data, &npresent, sizeof npresent);
    rec_t *r = (rec_t *)(void *)((char *)part->data + sizeof(int64_t));
    for (size_t l = 1; l < m1; l++) {
        if (ha[l] == 0)
            continue;
        r->label = (int64_t)l;
        r->n = (int64_t)ha[l];
        r->sz = (int64_t)ha[m1 + l];
        r->sy = (int64_t)ha[2 * m1 + l];
        r->sx = (int64_t)ha[3 * m1 + l];
        r->slo = ha[4 * m1 + l];
        r->shi = (int64_t)ha[5 * m1 + l];
        for (int a = 0; a < 6; a++)
            r->bb[a] = he[(size_t)a * m1 + l];
        r->flags = he[8 * m1 + l];
        r->vmin = he[6 * m1 + l] == 0xFFFFFFFFu ? NAN : unkey(he[6 * m1 + l]);
        r->vmax = he[6 * m1 + l] == 0xFFFFFFFFu ? NAN : unkey(he[7 * m1 + l]);
        r++;
    }
cleanup:
    if (acc)
        clReleaseMemObject(acc);
    if (ext)
        clReleaseMemObject(ext);
    free(ha);
    free(he);
    return st;
}

/* Pass 2 partial: the labels of the core with a non-zero sum of squares (int64 n, sq_t[n], by
 * label); prev is the pass-1 result (the means). */
static lapse_status_t sq_partial(lapse_dev_t *d, const lapse_blob_t *prev, const lapse_dvol_t *in,
                                 const lapse_gtile_t *t, lapse_blob_t *part)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_kernel k;
    cl_mem q = NULL, mean = NULL;
    double *hm = NULL;
    uint64_t *hq = NULL;
    head_t h;
    int64_t nrows = 0, nsq = 0;
    LAPSE_TRY(blob_count(prev, offsetof(head_t, nrows), sizeof(head_t), sizeof(rec_t), &nrows));
    memcpy(&h, prev->data, sizeof h);
    if (h.maxlabel == 0 || nrows == 0) {
        st = blob_new(part, sizeof(int64_t));
        goto cleanup;
    }
    const rec_t *rows = (const rec_t *)(const void *)((const char *)prev->data + sizeof h);
    const size_t m1 = (size_t)h.maxlabel + 1;
    hm = calloc(m1, sizeof *hm);
    LAPSE_ALLOC(hm);
    for (int64_t i = 0; i < nrows; i++)
        hm[rows[i].label] = rows[i].mean;
    mean = clCreateBuffer(d->cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, m1 * sizeof *hm, hm,
                          &e);
    LAPSE_CL(e);
    q = new_buffer(d, 2 * m1 * sizeof(cl_ulong), &e);
    LAPSE_CL(e);
    const cl_ulong zero = 0;
    LAPSE_CL(clEnqueueFillBuffer(d->cl->queue, q, &zero, sizeof zero, 0, 2 * m1 * sizeof zero, 0,
                                 NULL, NULL));
    size_t kwg = 0;
    LAPSE_TRY(lapse_dev_kernel(d, "measure.cl", "lapse_measure_sq", &k, &kwg));
    LAPSE_TRY(core_args(k, in, t));
    cl_int shift = h.s2;
    cl_ulong cm1 = m1;
    LAPSE_ARG(k, 5, shift);
    LAPSE_ARG(k, 6, mean);
    LAPSE_ARG(k, 7, q);
    LAPSE_ARG(k, 8, cm1);
    LAPSE_TRY(launch_runs(d, k, kwg, 9, t));
    hq = malloc(2 * m1 * sizeof *hq);
    LAPSE_ALLOC(hq);
    LAPSE_CL(
        clEnqueueReadBuffer(d->cl->queue, q, CL_TRUE, 0, 2 * m1 * sizeof *hq, hq, 0, NULL, NULL));
    for (size_t l = 1; l < m1; l++)
        nsq += (hq[l] | hq[m1 + l]) != 0;
    LAPSE_TRY(blob_new(part, sizeof(int64_t) + (size_t)nsq * sizeof(sq_t)));
    memcpy(part->data, &nsq, sizeof nsq);
    sq_t *s = (sq_t *)(void *)((char *)part->data + sizeof(int64_t));
    for (size_t l = 1; l < m1; l++)
        if ((hq[l] | hq[m1 + l]) != 0) {
            s->label = (int64_t)l;
            s->lo = hq[l];
            s->hi = (int64_t)hq[m1 + l];
            s++;
        }
cleanup:
    if (q)
        clReleaseMemObject(q);
    if (mean)
        clReleaseMemObject(mean);
    free(hm);
    free(hq);
    return st;
}

static lapse_status_t measure_partial(lapse_dev_t *d, const lapse_step_t *s, int pass,
                                      const lapse_blob_t *prev, const lapse_gtile_t *t,
                                      const lapse_dvol_t *in, cl_mem mat, cl_mem work,
                                      lapse_blob_t *part)
{
    (void)s;
    (void)mat;
    (void)work;
    lapse_status_t st = need_extensions(d);
    if (st != LAPSE_OK)
        return st;
    if (pass == 0)
        return scan_partial(d, in, t, part);
    if (pass == 1)
        return accum_partial(d, prev->data, in, t, part);
    return sq_partial(d, prev, in, t, part);
}

/* ---------------------------------------------------------------- the reduction */

/* The smallest b with 2^b > n (n >= 0). */
static int bits_above(int64_t n)
{
    int b = 0;
    while (b < 63 && ((int64_t)1 << b) <= n)
        b++;
    return b;
}

/* The shift s such that rint(x * 2^s) of nfg values with |x| <= maxabs sums below
 * 2^FIX_BITS. */
static int32_t fix_shift(double maxabs, int64_t nfg)
{
    int e = 0;
    if (maxabs > 0)
        frexp(maxabs, &e); /* maxabs < 2^e */
    return FIX_BITS - bits_above(nfg) - e;
}

static lapse_status_t scan_reduce(const lapse_blob_t *parts, int64_t ntiles, lapse_blob_t *res)
{
    lapse_status_t st = LAPSE_OK;
    uint32_t maxlabel = 0;
    float maxabs = 0;
    int64_t nfg = 0;
    for (int64_t i = 0; i < ntiles; i++) {
        if (parts[i].size != sizeof(scan_t))
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: a measurement scan of %zu bytes",
                       parts[i].size);
        const scan_t *p = parts[i].data;
        maxlabel = p->maxlabel > maxlabel ? p->maxlabel : maxlabel;
        maxabs = fmaxf(maxabs, p->maxabs);
        nfg += p->nfg;
    }
    if (maxlabel > MAX_LABEL)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "measure_labels: a label above 2^24 = %d in a timepoint (labels travel as "
                   "float32 between steps and must be whole numbers 1..2^24)",
                   MAX_LABEL);
    LAPSE_TRY(blob_new(res, sizeof(scale_t)));
    scale_t *sc = res->data;
    sc->maxlabel = maxlabel;
    sc->nfg = nfg;
    sc->s1 = fix_shift(maxabs, nfg);
    /* (v - mean)^2 <= (2 maxabs)^2: exact in double for a float32 maxabs */
    sc->s2 = fix_shift(4.0 * (double)maxabs * (double)maxabs, nfg);
cleanup:
    return st;
}

/* 128-bit (lo, hi) += (a, b). */
static void add128(uint64_t *lo, int64_t *hi, uint64_t a, int64_t b)
{
    uint64_t s = *lo + a;
    *hi = (int64_t)((uint64_t)*hi + (uint64_t)b + (s < a));
    *lo = s;
}

/* The pass-1 result value of the sum of a row (by its flags), in intensity units. */
static double row_sum(const rec_t *r, int s1)
{
    if ((r->flags & FL_NAN) || (r->flags & (FL_PINF | FL_NINF)) == (FL_PINF | FL_NINF))
        return NAN;
    if (r->flags & FL_PINF)
        return INFINITY;
    if (r->flags & FL_NINF)
        return -INFINITY;
    return ldexp(i128_to_double(r->slo, r->shi), -s1);
}

static lapse_status_t accum_reduce(const lapse_blob_t *prev, const lapse_blob_t *parts,
                                   int64_t ntiles, lapse_blob_t *res)
{
    lapse_status_t st = LAPSE_OK;
    const scale_t *sc = prev->data;
    const size_t m1 = (size_t)sc->maxlabel + 1;
    int64_t *slot = NULL, nrows = 0;
    rec_t *acc = NULL;
    slot = malloc(m1 * sizeof *slot);
    LAPSE_ALLOC(slot);
    for (size_t l = 0; l < m1; l++)
        slot[l] = -1;
    /* the labels present in any tile, then their rows in label order */
    for (int64_t i = 0; i < ntiles; i++) {
        int64_t n = 0;
        LAPSE_TRY(blob_count(&parts[i], 0, sizeof(int64_t), sizeof(rec_t), &n));
        const rec_t *r = (const rec_t *)(const void *)((const char *)parts[i].data + sizeof n);
        for (int64_t j = 0; j < n; j++) {
            if (r[j].label < 1 || (size_t)r[j].label >= m1)
                LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: label %lld in a measurement",
                           (long long)r[j].label);
            slot[r[j].label] = 0;
        }
    }
    for (size_t l = 1; l < m1; l++)
        if (slot[l] == 0)
            slot[l] = nrows++;
    LAPSE_TRY(blob_new(res, sizeof(head_t) + (size_t)nrows * sizeof(rec_t)));
    head_t h = {sc->maxlabel, nrows, sc->s1, sc->s2};
    memcpy(res->data, &h, sizeof h);
    acc = (rec_t *)(void *)((char *)res->data + sizeof h);
    for (size_t l = 1; l < m1; l++)
        if (slot[l] >= 0) {
            rec_t *a = &acc[slot[l]];
            a->label = (int64_t)l;
            a->bb[0] = a->bb[1] = a->bb[2] = INT64_MAX;
            a->bb[3] = a->bb[4] = a->bb[5] = INT64_MIN;
            a->vmin = a->vmax = NAN;
        }
    for (int64_t i = 0; i < ntiles; i++) {
        const int64_t n = *(const int64_t *)parts[i].data;
        const rec_t *r = (const rec_t *)(const void *)((const char *)parts[i].data + sizeof n);
        for (int64_t j = 0; j < n; j++) {
            rec_t *a = &acc[slot[r[j].label]];
            a->n += r[j].n;
            a->sz += r[j].sz;
            a->sy += r[j].sy;
            a->sx += r[j].sx;
            add128(&a->slo, &a->shi, r[j].slo, r[j].shi);
            for (int k = 0; k < 3; k++) {
                a->bb[k] = r[j].bb[k] < a->bb[k] ? r[j].bb[k] : a->bb[k];
                a->bb[k + 3] = r[j].bb[k + 3] > a->bb[k + 3] ? r[j].bb[k + 3] : a->bb[k + 3];
            }
            a->vmin = key_min(a->vmin, r[j].vmin, 0); /* NaN: none seen */
            a->vmax = key_min(a->vmax, r[j].vmax, 1);
            a->flags |= r[j].flags;
        }
    }
    for (int64_t i = 0; i < nrows; i++) {
        double sum = row_sum(&acc[i], sc->s1);
        acc[i].mean = acc[i].flags ? 0.0 : sum / (double)acc[i].n;
    }
cleanup:
    free(slot);
    return st;
}

/* The last reduction: every row's sum of squares, and the table (int64 nrows, rows of NCOLS
 * 8-byte values). */
static lapse_status_t sq_reduce(const lapse_blob_t *prev, const lapse_blob_t *parts, int64_t ntiles,
                                lapse_blob_t *res)
{
    lapse_status_t st = LAPSE_OK;
    head_t h;
    int64_t nrows = 0;
    uint64_t *qlo = NULL;
    int64_t *qhi = NULL;
    LAPSE_TRY(blob_count(prev, offsetof(head_t, nrows), sizeof(head_t), sizeof(rec_t), &nrows));
    memcpy(&h, prev->data, sizeof h);
    const rec_t *rows = (const rec_t *)(const void *)((const char *)prev->data + sizeof h);
    qlo = calloc((size_t)nrows + 1, sizeof *qlo);
    qhi = calloc((size_t)nrows + 1, sizeof *qhi);
    LAPSE_ALLOC(qlo);
    LAPSE_ALLOC(qhi);
    for (int64_t i = 0; i < ntiles; i++) {
        int64_t n = 0;
        LAPSE_TRY(blob_count(&parts[i], 0, sizeof(int64_t), sizeof(sq_t), &n));
        const sq_t *s = (const sq_t *)(const void *)((const char *)parts[i].data + sizeof n);
        for (int64_t j = 0, at = 0; j < n; j++) { /* both sorted by label */
            while (at < nrows && rows[at].label < s[j].label)
                at++;
            if (at == nrows || rows[at].label != s[j].label)
                LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: label %lld of a measurement pass",
                           (long long)s[j].label);
            add128(&qlo[at], &qhi[at], s[j].lo, s[j].hi);
        }
    }
    LAPSE_TRY(blob_new(res, sizeof(int64_t) + (size_t)nrows * NCOLS * 8));
    memcpy(res->data, &nrows, sizeof nrows);
    char *out = (char *)res->data + sizeof nrows;
    for (int64_t i = 0; i < nrows; i++) {
        const rec_t *r = &rows[i];
        const double n = (double)r->n;
        int64_t iv[NCOLS] = {0};
        double dv[NCOLS] = {0};
        iv[C_LABEL] = r->label;
        iv[C_AREA] = r->n;
        dv[C_CZ] = (double)r->sz / n;
        dv[C_CY] = (double)r->sy / n;
        dv[C_CX] = (double)r->sx / n;
        for (int a = 0; a < 3; a++) {
            iv[C_BZ0 + a] = r->bb[a];
            iv[C_BZ1 + a] = r->bb[3 + a] + 1;
        }
        dv[C_SUM] = row_sum(r, h.s1);
        dv[C_MEAN] = r->flags ? dv[C_SUM] / n : r->mean;
        dv[C_MIN] = (r->flags & FL_NAN) ? NAN : r->vmin;
        dv[C_MAX] = (r->flags & FL_NAN) ? NAN : r->vmax;
        dv[C_STD] = r->flags ? NAN : sqrt(ldexp(i128_to_double(qlo[i], qhi[i]), -h.s2) / n);
        for (int c = 0; c < NCOLS; c++)
            memcpy(out + ((size_t)i * NCOLS + (size_t)c) * 8,
                   measure_cols[c].is_double ? (const void *)&dv[c] : (const void *)&iv[c], 8);
    }
cleanup:
    free(qlo);
    free(qhi);
    return st;
}

static lapse_status_t measure_reduce(const lapse_step_t *s, int pass, const lapse_blob_t *prev,
                                     const lapse_gtile_t *tiles, const lapse_blob_t *parts,
                                     int64_t ntiles, lapse_blob_t *res)
{
    (void)s;
    (void)tiles;
    if (pass == 0)
        return scan_reduce(parts, ntiles, res);
    if (pass == 1)
        return accum_reduce(prev, parts, ntiles, res);
    return sq_reduce(prev, parts, ntiles, res);
}

/* The image result: the labels, unchanged. */
static lapse_status_t measure_apply(lapse_dev_t *d, const lapse_step_t *s, const lapse_blob_t *res,
                                    const lapse_dvol_t *in, cl_mem mat, const lapse_dvol_t *out)
{
    (void)s;
    (void)res;
    (void)mat;
    return lapse_dev_copy(d, in[0].mem, out->mem, lapse_dvol_voxels(out));
}

/* Reference of the image result: a copy of the labels. */
static void measure_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    (void)s;
    memcpy(out->v, in[0].v, lapse_ref_voxels(in[0].dim) * sizeof *out->v);
}

/* The labels whose intensity sums lost precision to the timepoint's one fixed-point scale: the
 * scale (pass 0) comes from the largest finite |intensity| of any label and the foreground
 * voxel count, both in the table (the labels' minima and maxima, the sum of their areas), so
 * it is recomputed here; a label whose own largest |value| is held on a grid coarser than
 * float32's resolution of it (2^-s1 > m 2^-24) has sums, means and standard deviations that
 * are not exact (up to all 0 next to a FLT_MAX fill). A label whose finite extremes are hidden
 * by a NaN (its min and max are NaN) is not counted. */
static void measure_warn(const lapse_step_t *s, const lapse_blob_t *res, char *msg, size_t len)
{
    (void)s;
    int64_t n = 0, nfg = 0, bad = 0, worst_label = 0;
    double maxabs = 0;
    msg[0] = '\0';
    if (res->data == NULL || res->size < sizeof n)
        return;
    memcpy(&n, res->data, sizeof n);
    if (n <= 0 || res->size != sizeof n + (size_t)n * NCOLS * 8)
        return;
    const char *rows = (const char *)res->data + sizeof n;
    for (int pass = 0; pass < 2; pass++) {
        const double grid = pass ? ldexp(1.0, -fix_shift(maxabs, nfg)) : 0.0;
        for (int64_t i = 0; i < n; i++) {
            int64_t label, area;
            double mn, mx;
            const char *r = rows + (size_t)i * NCOLS * 8;
            memcpy(&label, r + C_LABEL * 8, 8);
            memcpy(&area, r + C_AREA * 8, 8);
            memcpy(&mn, r + C_MIN * 8, 8);
            memcpy(&mx, r + C_MAX * 8, 8);
            double m = 0;
            if (isfinite(mn))
                m = fabs(mn);
            if (isfinite(mx) && fabs(mx) > m)
                m = fabs(mx);
            if (pass == 0) {
                nfg += area;
                if (m > maxabs) {
                    maxabs = m;
                    worst_label = label;
                }
            } else if (m > 0 && grid > ldexp(m, -24)) {
                bad++;
            }
        }
    }
    if (bad > 0)
        snprintf(msg, len,
                 "the intensity sums, means and standard deviations of %lld of %lld labels are "
                 "not exact: the sums are fixed-point with one scale per timepoint, set by the "
                 "largest |intensity| (%.9g, label %lld), which leaves those labels' values "
                 "on a grid coarser than float32 (docs/segmentation.md); mask such values first "
                 "(clip, or threshold_fixed into the labels)",
                 (long long)bad, (long long)n, maxabs, (long long)worst_label);
}

static const lapse_global_t measure_global = {
    .npass = 3,
    .partial = measure_partial,
    .reduce = measure_reduce,
    .apply = measure_apply,
    .table = &measure_table,
    .warn = measure_warn,
};

const lapse_op_t lapse_op_measure_labels = {
    .name = "measure_labels",
    .help = "one table row per label of each timepoint (labels from the first image, "
            "intensities from with:): area, centroid, bounding box, intensity sum, mean, min, "
            "max and standard deviation; the image result is the labels, unchanged",
    .family = "measure",
    .convention = "skimage.measure.regionprops_table on the untiled timepoint (area, centroid, "
                  "bbox [min, max+1), intensity_mean/min/max, intensity_std with ddof 0, the "
                  "sum); a label is the value truncated to a whole number (below 1 or NaN: "
                  "background), at most 2^24; sums are exact (128-bit fixed point), floats "
                  "rounded once; NaN intensities make a label's intensity values NaN, "
                  "infinities those of NumPy; needs cl_khr_int64_base_atomics and cl_khr_fp64",
    .version = 1,
    .ninputs = 2,
    .nparams = 0,
    .out_rule = LAPSE_OUT_SAME,
    .footprint = LAPSE_FP_GLOBAL,
    .inplace = 1,
    .kernels = "measure.cl",
    .extensions = "cl_khr_int64_base_atomics cl_khr_fp64",
    .reference = measure_ref,
    .global = &measure_global,
};
