/*
 * op_threshold.c - the per-timepoint thresholds, global operations (op.h, lapse_global_t):
 * threshold_otsu (Otsu's threshold from a 256-bin histogram between the timepoint's minimum and
 * maximum, as skimage.filters.threshold_otsu(nbins=256) computes it on a float32 image) and
 * threshold_mean (the timepoint's mean, summed exactly). The output is 1 where a voxel is above
 * the threshold, else 0 (uint8). Partials come from kernels/reduce.cl over each tile's core;
 * reductions are exact (integer counts and fixed-point sums), so a tiled timepoint gets the
 * bits of an untiled one.
 */
#include "ops/family.h"
#include "ops/global.h"

#include <stdint.h>

#define RG         256 /* work-group size of reduce.cl */
#define MAX_GROUPS 1024

/* Work-groups for n core voxels. */
static size_t groups_for(size_t n)
{
    size_t g = (n + RG - 1) / RG;
    return g < 1 ? 1 : g > MAX_GROUPS ? MAX_GROUPS : g;
}

/* The kernel arguments 0..3 of reduce.cl: source, buffer dims, core offset, core dims. */
static lapse_status_t core_args(cl_kernel k, const lapse_dvol_t *in, const lapse_gtile_t *t)
{
    lapse_status_t st = LAPSE_OK;
    cl_int4 b = {{(cl_int)in->dim[2], (cl_int)in->dim[1], (cl_int)in->dim[0], 0}};
    cl_int4 o = {
        {(cl_int)t->core_rel.off[2], (cl_int)t->core_rel.off[1], (cl_int)t->core_rel.off[0], 0}};
    cl_int4 c = {
        {(cl_int)t->core_rel.dim[2], (cl_int)t->core_rel.dim[1], (cl_int)t->core_rel.dim[0], 0}};
    LAPSE_ARG(k, 0, in->mem);
    LAPSE_ARG(k, 1, b);
    LAPSE_ARG(k, 2, o);
    LAPSE_ARG(k, 3, c);
cleanup:
    return st;
}

/* Run reduce.cl's kernel `name` (arguments from 4 on already set except the outputs) writing
 * `per` bytes per work-group into each of nout device buffers, and read them back into
 * host[i] (each ngroups * per bytes). */
static lapse_status_t run_groups(lapse_dev_t *d, cl_kernel k, int first_out, size_t ngroups,
                                 size_t per, int nout, void **host)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_mem buf[2] = {NULL, NULL};
    for (int i = 0; i < nout; i++) {
        buf[i] = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, ngroups * per, NULL, &e);
        LAPSE_CL(e);
        LAPSE_ARG(k, (cl_uint)(first_out + i), buf[i]);
    }
    size_t global = ngroups * RG, local = RG;
    LAPSE_TRY(lapse_dev_enqueue(d, k, 1, &global, &local));
    for (int i = 0; i < nout; i++)
        LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, buf[i], CL_TRUE, 0, ngroups * per, host[i], 0,
                                     NULL, NULL));
cleanup:
    for (int i = 0; i < nout; i++)
        if (buf[i])
            clReleaseMemObject(buf[i]);
    return st;
}

static lapse_status_t blob_new(lapse_blob_t *b, size_t size)
{
    b->data = calloc(1, size ? size : 1);
    b->size = size;
    return b->data ? LAPSE_OK : lapse_fail(LAPSE_ENOMEM, "out of memory for a partial result");
}

/* ---------------------------------------------------------------- minimum and maximum */

typedef struct {
    float lo, hi; /* +inf, -inf when no number was seen */
} range_t;

static lapse_status_t range_partial(lapse_dev_t *d, const lapse_dvol_t *in, const lapse_gtile_t *t,
                                    lapse_blob_t *part)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    size_t n = (size_t)lapse_box_voxels(&t->core_rel), ng = groups_for(n);
    float *mn = malloc(ng * sizeof *mn), *mx = malloc(ng * sizeof *mx);
    LAPSE_ALLOC(mn);
    LAPSE_ALLOC(mx);
    LAPSE_TRY(lapse_dev_kernel(d, "reduce.cl", "lapse_minmax", &k, NULL));
    LAPSE_TRY(core_args(k, in, t));
    void *host[2] = {mn, mx};
    LAPSE_TRY(run_groups(d, k, 4, ng, sizeof(float), 2, host));
    LAPSE_TRY(blob_new(part, sizeof(range_t)));
    range_t *r = part->data;
    r->lo = INFINITY;
    r->hi = -INFINITY;
    for (size_t i = 0; i < ng; i++) {
        r->lo = fminf(r->lo, mn[i]);
        r->hi = fmaxf(r->hi, mx[i]);
    }
cleanup:
    free(mn);
    free(mx);
    return st;
}

static lapse_status_t range_reduce(const lapse_blob_t *parts, int64_t n, lapse_blob_t *res)
{
    lapse_status_t st = blob_new(res, sizeof(range_t));
    if (st != LAPSE_OK)
        return st;
    range_t *r = res->data;
    r->lo = INFINITY;
    r->hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        const range_t *p = parts[i].data;
        r->lo = fminf(r->lo, p->lo);
        r->hi = fmaxf(r->hi, p->hi);
    }
    return LAPSE_OK;
}

/* ---------------------------------------------------------------- Otsu */

/* NumPy's 257 float32 bin edges of np.histogram(a, 256) for a float32 image with minimum lo and
 * maximum hi (lo < hi): np.linspace in double, rounded to float32; and the scale NumPy applies
 * to (v - lo): 256 / (hi - lo) with the difference in float32, as float32. */
void lapse_otsu_edges(float lo, float hi, float e[257], float *norm)
{
    const double start = lo, stop = hi, step = (stop - start) / 256.0;
    for (int i = 0; i < 256; i++) {
        volatile double y = (double)i * step; /* two roundings, as NumPy does */
        e[i] = (float)(y + start);
    }
    e[256] = hi;
    volatile float span = hi - lo;
    *norm = (float)(256.0 / (double)span);
}

/* Otsu's threshold from 256 counts and the edges, skimage 0.19's recipe in double: the
 * between-class variance for every cut, the first maximum, the centre of its bin in float32. */
/* The index of Otsu's cut among 256 bins of the given centres (skimage's recipe in double). */
static int otsu_index(const uint64_t *count, const double c[256])
{
    double w1[256], w2[256], m1[256], m2[256];
    double cw = 0, cm = 0;
    for (int i = 0; i < 256; i++) {
        cw += (double)count[i];
        cm += (double)count[i] * c[i];
        w1[i] = cw;
        m1[i] = cm / cw;
    }
    cw = 0;
    cm = 0;
    for (int i = 255; i >= 0; i--) {
        cw += (double)count[i];
        cm += (double)count[i] * c[i];
        w2[i] = cw;
        m2[i] = cm / cw;
    }
    int best = 0;
    double bv = -1;
    for (int i = 0; i < 255; i++) {
        const double dm = m1[i] - m2[i + 1];
        const double v = w1[i] * w2[i + 1] * (dm * dm);
        if (v > bv) { /* the first maximum, as np.argmax */
            bv = v;
            best = i;
        }
    }
    return best;
}

float lapse_otsu_from_hist(const uint64_t *count, const float e[257])
{
    double c[256];
    for (int i = 0; i < 256; i++) {
        volatile float sum = e[i] + e[i + 1];
        c[i] = (float)(sum / 2.0f);
    }
    return (float)c[otsu_index(count, c)];
}

/* clesperanto's bins: centre i at lo + i (hi - lo) / 255, the difference in float32, the rest in
 * double (CLIc's threshold_otsu); the threshold is the centre rounded to float32. */
static double cle_range(float lo, float hi)
{
    volatile float r = hi - lo;
    return (double)r;
}

float lapse_otsu_cle_from_hist(const uint64_t *count, float lo, float hi)
{
    double c[256], range = cle_range(lo, hi);
    for (int i = 0; i < 256; i++)
        c[i] = ((double)i * range) / 255.0 + (double)lo;
    return (float)c[otsu_index(count, c)];
}

/* The bin of v under clesperanto's rule (hist_cle.cl). */
static int cle_bin(float v, float lo, double range)
{
    int k = (int)floor(((double)v - (double)lo) / range * 255.0 + 0.5);
    return k < 0 ? 0 : k > 255 ? 255 : k;
}

typedef struct {
    float thr;    /* voxels > thr become 1 */
    double value; /* the threshold as recorded (summary) */
} thr_t;

/* bins: clesperanto bins in double precision (hist_cle.cl). */
static const char *otsu_extensions(const lapse_step_t *s)
{
    return s->p[0].v[0] == 1 ? "cl_khr_fp64" : NULL;
}

/* The histogram with clesperanto's bins (hist_cle.cl). */
static lapse_status_t hist_partial_cle(lapse_dev_t *d, const range_t *r, const lapse_dvol_t *in,
                                       const lapse_gtile_t *t, lapse_blob_t *part)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_kernel k;
    cl_mem bins = NULL;
    cl_uint h[256];
    static const char *const fp64[] = {"cl_khr_fp64"};
    LAPSE_TRY(blob_new(part, 256 * sizeof(uint64_t)));
    if (!(r->lo < r->hi))
        goto cleanup;
    LAPSE_TRY(
        lapse_dev_require(d, "threshold_otsu with bins: clesperanto", "double precision", fp64, 1));
    cl_float lo = r->lo, hi = r->hi;
    cl_double range = cle_range(r->lo, r->hi);
    memset(h, 0, sizeof h);
    bins = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof h, h, &e);
    LAPSE_CL(e);
    LAPSE_TRY(lapse_dev_kernel(d, "hist_cle.cl", "lapse_hist256_cle", &k, NULL));
    LAPSE_TRY(core_args(k, in, t));
    LAPSE_ARG(k, 4, lo);
    LAPSE_ARG(k, 5, hi);
    LAPSE_ARG(k, 6, range);
    LAPSE_ARG(k, 7, bins);
    size_t n = (size_t)lapse_box_voxels(&t->core_rel), ng = groups_for(n);
    size_t global = ng * RG, local = RG;
    LAPSE_TRY(lapse_dev_enqueue(d, k, 1, &global, &local));
    LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, bins, CL_TRUE, 0, sizeof h, h, 0, NULL, NULL));
    for (int i = 0; i < 256; i++)
        ((uint64_t *)part->data)[i] = h[i];
cleanup:
    if (bins)
        clReleaseMemObject(bins);
    return st;
}

static lapse_status_t hist_partial(lapse_dev_t *d, const range_t *r, const lapse_dvol_t *in,
                                   const lapse_gtile_t *t, lapse_blob_t *part)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_kernel k;
    cl_mem edges = NULL, bins = NULL;
    cl_uint h[256];
    float ed[257], norm;
    LAPSE_TRY(blob_new(part, 256 * sizeof(uint64_t)));
    if (!(r->lo < r->hi)) /* constant or empty timepoint: no histogram is needed */
        goto cleanup;
    lapse_otsu_edges(r->lo, r->hi, ed, &norm);
    edges = clCreateBuffer(d->cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof ed, ed, &e);
    LAPSE_CL(e);
    memset(h, 0, sizeof h);
    bins = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof h, h, &e);
    LAPSE_CL(e);
    LAPSE_TRY(lapse_dev_kernel(d, "reduce.cl", "lapse_hist256", &k, NULL));
    LAPSE_TRY(core_args(k, in, t));
    LAPSE_ARG(k, 4, edges);
    LAPSE_ARG(k, 5, norm);
    LAPSE_ARG(k, 6, bins);
    size_t n = (size_t)lapse_box_voxels(&t->core_rel), ng = groups_for(n);
    size_t global = ng * RG, local = RG;
    LAPSE_TRY(lapse_dev_enqueue(d, k, 1, &global, &local));
    LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, bins, CL_TRUE, 0, sizeof h, h, 0, NULL, NULL));
    uint64_t *out = part->data;
    for (int i = 0; i < 256; i++)
        out[i] = h[i];
cleanup:
    if (edges)
        clReleaseMemObject(edges);
    if (bins)
        clReleaseMemObject(bins);
    return st;
}

static lapse_status_t otsu_partial(lapse_dev_t *d, const lapse_step_t *s, int pass,
                                   const lapse_blob_t *prev, const lapse_gtile_t *t,
                                   const lapse_dvol_t *in, cl_mem mat, cl_mem work,
                                   lapse_blob_t *part)
{
    (void)mat;
    (void)work;
    if (pass == 0)
        return range_partial(d, in, t, part);
    if (s->p[0].v[0] == 1) /* bins: clesperanto */
        return hist_partial_cle(d, prev->data, in, t, part);
    return hist_partial(d, prev->data, in, t, part);
}

static lapse_status_t otsu_reduce(const lapse_step_t *s, int pass, const lapse_blob_t *prev,
                                  const lapse_gtile_t *tiles, const lapse_blob_t *parts, int64_t n,
                                  lapse_blob_t *res)
{
    (void)tiles;
    if (pass == 0)
        return range_reduce(parts, n, res);
    const range_t *r = prev->data;
    lapse_status_t st = blob_new(res, sizeof(thr_t));
    if (st != LAPSE_OK)
        return st;
    thr_t *o = res->data;
    if (!(r->lo < r->hi)) { /* one value (skimage returns it) or none */
        o->thr = r->lo <= r->hi ? r->lo : 0.0f;
        o->value = o->thr;
        return LAPSE_OK;
    }
    uint64_t count[256] = {0};
    for (int64_t i = 0; i < n; i++) {
        const uint64_t *c = parts[i].data;
        for (int b = 0; b < 256; b++)
            count[b] += c[b];
    }
    float e[257], norm;
    lapse_otsu_edges(r->lo, r->hi, e, &norm);
    o->thr = s->p[0].v[0] == 1 ? lapse_otsu_cle_from_hist(count, r->lo, r->hi)
                               : lapse_otsu_from_hist(count, e);
    o->value = o->thr;
    return LAPSE_OK;
}

/* out = 1 where in > res->thr (pointwise.cl's threshold kernel). */
static lapse_status_t thr_apply(lapse_dev_t *d, const lapse_step_t *s, const lapse_blob_t *res,
                                const lapse_dvol_t *in, cl_mem mat, const lapse_dvol_t *out)
{
    lapse_status_t st = LAPSE_OK;
    (void)s;
    (void)mat;
    cl_kernel k;
    cl_ulong n = lapse_dvol_voxels(in);
    cl_float t = ((const thr_t *)res->data)->thr;
    LAPSE_TRY(lapse_dev_kernel(d, "pointwise.cl",
                               d->simple ? "lapse_threshold" : "lapse_threshold4", &k, NULL));
    LAPSE_ARG(k, 0, in->mem);
    LAPSE_ARG(k, 1, out->mem);
    LAPSE_ARG(k, 2, n);
    LAPSE_ARG(k, 3, t);
    LAPSE_TRY(lapse_dev_launch_voxels(d, k, (size_t)n, !d->simple));
cleanup:
    return st;
}

static double thr_summary(const lapse_step_t *s, const lapse_blob_t *res)
{
    (void)s;
    return ((const thr_t *)res->data)->value;
}

/* Reference: the same recipe on the host in double where it can be (the histogram edges and
 * the threshold are float32 as NumPy has them). */
static void otsu_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    size_t n = lapse_ref_voxels(in[0].dim);
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        float v = (float)in[0].v[i];
        lo = fminf(lo, v);
        hi = fmaxf(hi, v);
    }
    float thr = lo;
    if (lo < hi) {
        float e[257], norm;
        uint64_t count[256] = {0};
        lapse_otsu_edges(lo, hi, e, &norm);
        for (size_t i = 0; i < n; i++) {
            float v = (float)in[0].v[i];
            if (!(v >= lo && v <= hi))
                continue;
            if (s->p[0].v[0] == 1) { /* clesperanto's bins */
                count[cle_bin(v, lo, cle_range(lo, hi))]++;
                continue;
            }
            /* the bin by the edges alone: the last edge <= v (the last bin includes hi) */
            int a = 0, b = 256;
            while (b - a > 1) {
                int m = (a + b) / 2;
                if (v >= e[m])
                    a = m;
                else
                    b = m;
            }
            count[a > 255 ? 255 : a]++;
        }
        thr = s->p[0].v[0] == 1 ? lapse_otsu_cle_from_hist(count, lo, hi)
                                : lapse_otsu_from_hist(count, e);
    }
    for (size_t i = 0; i < n; i++)
        out->v[i] = (float)in[0].v[i] > thr ? 1.0 : 0.0;
}

static const char *const bins_words[] = {"skimage", "clesperanto", NULL};

static const lapse_global_t otsu_global = {
    .npass = 2,
    .partial = otsu_partial,
    .reduce = otsu_reduce,
    .apply = thr_apply,
    .summary = thr_summary,
};

const lapse_op_t lapse_op_threshold_otsu = {
    .name = "threshold_otsu",
    .help = "1 where x > Otsu's threshold of the timepoint (256 bins from its minimum to "
            "maximum), else 0 (uint8 mask)",
    .family = "threshold",
    .convention = "skimage.filters.threshold_otsu(nbins=256) on the float32 image (NumPy's "
                  "bin edges, the bin centre as threshold; on integer input skimage bins per "
                  "integer value instead); bins: clesperanto gives clesperanto's "
                  "threshold_otsu (a voxel v in bin round((v - min) / (max - min) * 255)); "
                  "NaN voxels are left out, and a +-inf voxel makes the range infinite and the "
                  "mask empty (skimage raises an error for both)",
    .version = 1,
    .ninputs = 1,
    .nparams = 1,
    .params = {{.key = "bins",
                .kind = LAPSE_PARAM_ENUM,
                .required = 0,
                .def = 0,
                .min = 0,
                .max = 1,
                .help = "skimage (NumPy's 256 bins, the default) or clesperanto (256 bins "
                        "centred on min + i (max - min) / 255)",
                .choices = bins_words}},
    .out_rule = LAPSE_OUT_U8,
    .footprint = LAPSE_FP_GLOBAL,
    .inplace = 1,
    .kernels = "reduce.cl hist_cle.cl pointwise.cl",
    .extensions_of = otsu_extensions,
    .reference = otsu_ref,
    .global = &otsu_global,
};

/* ---------------------------------------------------------------- mean */

typedef struct {
    double maxabs; /* of the finite voxels (an upper bound); 0 with an infinite one */
    int64_t n;
    int pinf, ninf; /* 1: a +inf / -inf voxel was seen */
} mag_t;

typedef struct {
    int64_t total; /* the finite voxels' fixed-point sum */
    int64_t nans;
} fixsum_t;

/* The shift that makes rint(v * 2^shift) of n values with |v| <= maxabs sum within 62 bits. */
static int fix_shift(double maxabs, int64_t n)
{
    int e = 0, bits = 0;
    frexp(maxabs, &e); /* maxabs < 2^e */
    while (bits < 62 && ((int64_t)1 << bits) <= n)
        bits++;
    return 62 - bits - e;
}

static lapse_status_t mean_partial(lapse_dev_t *d, const lapse_step_t *s, int pass,
                                   const lapse_blob_t *prev, const lapse_gtile_t *t,
                                   const lapse_dvol_t *in, cl_mem mat, cl_mem work,
                                   lapse_blob_t *part)
{
    lapse_status_t st = LAPSE_OK;
    (void)s;
    (void)mat;
    (void)work;
    lapse_blob_t r = {NULL, 0};
    long *sums = NULL, *nans = NULL;
    if (pass == 0) {
        LAPSE_TRY(range_partial(d, in, t, &r));
        const range_t *g = r.data;
        LAPSE_TRY(blob_new(part, sizeof(mag_t)));
        mag_t *m = part->data;
        const int any = g->lo <= g->hi; /* else every voxel is NaN */
        m->pinf = any && g->hi == INFINITY;
        m->ninf = any && g->lo == -INFINITY;
        /* with an infinite voxel the mean is infinite or NaN: the finite sum is not used */
        m->maxabs = !any || m->pinf || m->ninf ? 0 : fmax(fabs((double)g->lo), fabs((double)g->hi));
        m->n = lapse_box_voxels(&t->core_rel);
        goto cleanup;
    }
    const mag_t *m = prev->data;
    /* with an infinite voxel only the NaN count matters: every term scaled to 0 (no overflow) */
    cl_int shift = m->pinf || m->ninf ? -1100 : (cl_int)fix_shift(m->maxabs, m->n);
    cl_kernel k;
    size_t n = (size_t)lapse_box_voxels(&t->core_rel), ng = groups_for(n);
    sums = malloc(ng * sizeof *sums);
    nans = malloc(ng * sizeof *nans);
    LAPSE_ALLOC(sums);
    LAPSE_ALLOC(nans);
    LAPSE_TRY(lapse_dev_kernel(d, "reduce.cl", "lapse_fixsum", &k, NULL));
    LAPSE_TRY(core_args(k, in, t));
    LAPSE_ARG(k, 4, shift);
    void *host[2] = {sums, nans};
    LAPSE_TRY(run_groups(d, k, 5, ng, sizeof(cl_long), 2, host));
    LAPSE_TRY(blob_new(part, sizeof(fixsum_t)));
    fixsum_t *f = part->data;
    for (size_t i = 0; i < ng; i++) {
        f->total += sums[i];
        f->nans += nans[i];
    }
cleanup:
    lapse_blob_free(&r);
    free(sums);
    free(nans);
    return st;
}

static lapse_status_t mean_reduce(const lapse_step_t *s, int pass, const lapse_blob_t *prev,
                                  const lapse_gtile_t *tiles, const lapse_blob_t *parts, int64_t n,
                                  lapse_blob_t *res)
{
    (void)s;
    (void)tiles;
    if (pass == 0) {
        lapse_status_t st = blob_new(res, sizeof(mag_t));
        if (st != LAPSE_OK)
            return st;
        mag_t *m = res->data;
        for (int64_t i = 0; i < n; i++) {
            const mag_t *p = parts[i].data;
            m->maxabs = fmax(m->maxabs, p->maxabs);
            m->n += p->n;
            m->pinf |= p->pinf;
            m->ninf |= p->ninf;
        }
        if (m->pinf || m->ninf)
            m->maxabs = 0;
        return LAPSE_OK;
    }
    const mag_t *m = prev->data;
    int64_t total = 0, nans = 0;
    for (int64_t i = 0; i < n; i++) {
        total += ((const fixsum_t *)parts[i].data)->total;
        nans += ((const fixsum_t *)parts[i].data)->nans;
    }
    lapse_status_t st = blob_new(res, sizeof(thr_t));
    if (st != LAPSE_OK)
        return st;
    thr_t *o = res->data;
    /* NumPy's mean: NaN with a NaN or with both infinities, else the infinity seen */
    if (nans > 0 || (m->pinf && m->ninf))
        o->value = NAN;
    else if (m->pinf || m->ninf)
        o->value = m->pinf ? INFINITY : -INFINITY;
    else
        o->value =
            m->n > 0 ? ldexp((double)total, -fix_shift(m->maxabs, m->n)) / (double)m->n : 0.0;
    /* x > value for a float32 x holds exactly when x > the largest float32 <= value */
    float f = (float)o->value;
    if ((double)f > o->value)
        f = nextafterf(f, -INFINITY);
    o->thr = f;
    return LAPSE_OK;
}

/* Reference: the mean in long double, then the same comparison. */
static void mean_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    (void)s;
    size_t n = lapse_ref_voxels(in[0].dim);
    long double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (float)in[0].v[i];
    double mean = n ? (double)(sum / (long double)n) : 0.0;
    for (size_t i = 0; i < n; i++)
        out->v[i] = (double)(float)in[0].v[i] > mean ? 1.0 : 0.0;
}

static const lapse_global_t mean_global = {
    .npass = 2,
    .partial = mean_partial,
    .reduce = mean_reduce,
    .apply = thr_apply,
    .summary = thr_summary,
};

const lapse_op_t lapse_op_threshold_mean = {
    .name = "threshold_mean",
    .help = "1 where x > the mean of the timepoint, else 0 (uint8 mask)",
    .family = "threshold",
    .convention = "skimage.filters.threshold_mean; the mean is summed exactly in 62-bit fixed "
                  "point (NumPy sums float32 pairwise in float32), so it does not depend on "
                  "the tiling; as NumPy's mean, a NaN voxel (or both infinities) makes it NaN "
                  "and an infinite voxel infinite, so that nothing is above it (+inf, NaN) or "
                  "all but -inf and NaN are (-inf)",
    .version = 2,
    .ninputs = 1,
    .nparams = 0,
    .out_rule = LAPSE_OUT_U8,
    .footprint = LAPSE_FP_GLOBAL,
    .inplace = 1,
    .kernels = "reduce.cl pointwise.cl",
    .reference = mean_ref,
    .global = &mean_global,
};

/* ---------------------------------------------------------------- percentile */

/* The state of the radix selection of the two order statistics NumPy's linear percentile
 * interpolates between (ranks k and k + 1 of the n numbers, NaN left out). */
typedef struct {
    int64_t n;       /* numbers (not NaN) in the timepoint */
    int64_t rem[2];  /* ranks still to find within the current prefixes */
    uint32_t pfx[2]; /* the digits found so far of the two keys */
    double gamma;    /* the interpolation weight */
} sel_t;

/* NumPy's virtual index q (n - 1) of the linear method, in its operation order. */
static double virtual_index(int64_t n, double percent)
{
    volatile double q = percent / 100.0, a = (double)n * q, b = 1.0 + q * -1.0, c = a + b;
    return c - 1.0;
}

static float key_value(uint32_t key)
{
    uint32_t u = (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static lapse_status_t pct_partial(lapse_dev_t *d, const lapse_step_t *s, int pass,
                                  const lapse_blob_t *prev, const lapse_gtile_t *t,
                                  const lapse_dvol_t *in, cl_mem mat, cl_mem work,
                                  lapse_blob_t *part)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_kernel k;
    cl_mem bins = NULL;
    cl_uint h[512];
    (void)s;
    (void)mat;
    (void)work;
    cl_uint2 pfx = {{0, 0}};
    if (pass > 0) {
        const sel_t *sel = prev->data;
        pfx.s[0] = sel->pfx[0];
        pfx.s[1] = sel->pfx[1];
    }
    cl_int ps = pass;
    memset(h, 0, sizeof h);
    bins = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof h, h, &e);
    LAPSE_CL(e);
    LAPSE_TRY(lapse_dev_kernel(d, "reduce.cl", "lapse_radix_hist", &k, NULL));
    LAPSE_TRY(core_args(k, in, t));
    LAPSE_ARG(k, 4, pfx);
    LAPSE_ARG(k, 5, ps);
    LAPSE_ARG(k, 6, bins);
    size_t n = (size_t)lapse_box_voxels(&t->core_rel), ng = groups_for(n);
    size_t global = ng * RG, local = RG;
    LAPSE_TRY(lapse_dev_enqueue(d, k, 1, &global, &local));
    LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, bins, CL_TRUE, 0, sizeof h, h, 0, NULL, NULL));
    LAPSE_TRY(blob_new(part, 512 * sizeof(uint64_t)));
    for (int i = 0; i < 512; i++)
        ((uint64_t *)part->data)[i] = h[i];
cleanup:
    if (bins)
        clReleaseMemObject(bins);
    return st;
}

static lapse_status_t pct_reduce(const lapse_step_t *s, int pass, const lapse_blob_t *prev,
                                 const lapse_gtile_t *tiles, const lapse_blob_t *parts, int64_t n,
                                 lapse_blob_t *res)
{
    (void)tiles;
    uint64_t h[512] = {0};
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < 512; j++)
            h[j] += ((const uint64_t *)parts[i].data)[j];
    if (pass == 3) { /* the keys are complete: the threshold */
        const sel_t *sel = prev->data;
        lapse_status_t st = blob_new(res, sizeof(thr_t));
        if (st != LAPSE_OK)
            return st;
        thr_t *o = res->data;
        uint32_t key[2];
        for (int t = 0; t < 2; t++) { /* the last digit */
            int64_t r = sel->rem[t], cum = 0;
            int dgt = 0;
            for (; dgt < 255 && cum + (int64_t)h[t * 256 + dgt] <= r; dgt++)
                cum += (int64_t)h[t * 256 + dgt];
            key[t] = sel->pfx[t] << 8 | (uint32_t)dgt;
        }
        if (sel->n == 0) {
            o->value = NAN;
            o->thr = NAN;
            return LAPSE_OK;
        }
        float a = key_value(key[0]), b = key_value(key[1]);
        volatile float dba = b - a; /* NumPy: b - a in float32, the rest in double */
        double g = sel->gamma;
        o->value = g >= 0.5 ? (double)b - (double)dba * (1.0 - g) : (double)a + (double)dba * g;
        float f = (float)o->value; /* x > value exactly when x > the largest float <= value */
        if ((double)f > o->value)
            f = nextafterf(f, -INFINITY);
        o->thr = f;
        return LAPSE_OK;
    }
    lapse_status_t st = blob_new(res, sizeof(sel_t));
    if (st != LAPSE_OK)
        return st;
    sel_t *sel = res->data;
    if (pass == 0) {
        int64_t total = 0;
        for (int j = 0; j < 256; j++)
            total += (int64_t)h[j];
        sel->n = total;
        double vi = virtual_index(total, s->p[0].v[0]);
        double lo = floor(vi);
        int64_t ka = (int64_t)lo;
        ka = ka < 0 ? 0 : ka > total - 1 ? total - 1 : ka;
        int64_t kb = ka + 1 > total - 1 ? total - 1 : ka + 1;
        sel->gamma = vi - lo;
        sel->rem[0] = ka < 0 ? 0 : ka;
        sel->rem[1] = kb < 0 ? 0 : kb;
        memcpy(h + 256, h, 256 * sizeof *h); /* both searches start from the same digits */
    } else {
        *sel = *(const sel_t *)prev->data;
    }
    for (int t = 0; t < 2; t++) {
        int64_t r = sel->rem[t], cum = 0;
        int dgt = 0;
        for (; dgt < 255 && cum + (int64_t)h[t * 256 + dgt] <= r; dgt++)
            cum += (int64_t)h[t * 256 + dgt];
        sel->pfx[t] = (pass == 0 ? 0u : sel->pfx[t] << 8) | (uint32_t)dgt;
        sel->rem[t] = r - cum;
    }
    return LAPSE_OK;
}

/* Reference: NumPy's percentile (linear) over the numbers in double, then the comparison. */
static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void pct_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    size_t n = lapse_ref_voxels(in[0].dim), m = 0;
    float *v = malloc((n + 1) * sizeof *v);
    if (v == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!isnan(in[0].v[i]))
            v[m++] = (float)in[0].v[i];
    qsort(v, m, sizeof *v, cmp_float);
    double thr = NAN;
    if (m > 0) {
        double vi = virtual_index((int64_t)m, s->p[0].v[0]), lo = floor(vi), g = vi - lo;
        size_t ka = lo < 0 ? 0 : (size_t)lo > m - 1 ? m - 1 : (size_t)lo;
        size_t kb = ka + 1 > m - 1 ? m - 1 : ka + 1;
        volatile float dba = v[kb] - v[ka];
        thr = g >= 0.5 ? (double)v[kb] - (double)dba * (1.0 - g) : (double)v[ka] + (double)dba * g;
    }
    for (size_t i = 0; i < n; i++)
        out->v[i] = (double)(float)in[0].v[i] > thr ? 1.0 : 0.0;
    free(v);
}

static const lapse_global_t pct_global = {
    .npass = 4,
    .partial = pct_partial,
    .reduce = pct_reduce,
    .apply = thr_apply,
    .summary = thr_summary,
};

const lapse_op_t lapse_op_threshold_percentile = {
    .name = "threshold_percentile",
    .help = "1 where x > the given percentile of the timepoint, else 0 (uint8 mask)",
    .family = "threshold",
    .convention = "numpy.percentile (method linear) of the timepoint's numbers, NaN left out "
                  "(numpy.nanpercentile), found exactly by a radix selection over the tiles; "
                  "x > it",
    .version = 1,
    .ninputs = 1,
    .nparams = 1,
    .params = {{.key = "percentile",
                .kind = LAPSE_PARAM_FLOAT,
                .required = 1,
                .min = 0,
                .max = 100,
                .help = "0..100"}},
    .out_rule = LAPSE_OUT_U8,
    .footprint = LAPSE_FP_GLOBAL,
    .inplace = 1,
    .kernels = "reduce.cl pointwise.cl",
    .reference = pct_ref,
    .global = &pct_global,
};
