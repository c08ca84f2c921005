/*
 * op_relabel.c - the per-timepoint label remaps, global operations (op.h, lapse_global_t):
 * exclude_labels_on_edges (labels touching the timepoint's border), exclude_labels_outside_size_
 * range (labels of fewer than `minimum` or more than `maximum` voxels) and relabel_sequential
 * (none). Each keeps its labels and renumbers them 1..N in raster order of each label's first
 * voxel in the timepoint, and maps the others to 0.
 *
 * A voxel's label is its value truncated to an integer where it is at least 1 (NumPy's
 * astype(uint32); labels travel between steps as float32), else 0: background, NaN included. A
 * value above 2^24 is an error (float32 is not exact there). Labels are whatever the values say:
 * two separate regions with one value are one label.
 *
 * Partial (kernels/relabel.cl, one pass): the labels present in the tile's core, each with its
 * voxel count, its first voxel (timepoint raster index) and whether it touches the border, from
 * device arrays over the core's label range; reduce: the labels of all tiles merged by label
 * (counts added, first voxels' minimum, border flags or'ed: exact and order-free), the kept ones
 * sorted by first voxel and numbered; apply: a lookup table on the device. mat_bytes = 0.
 */
#include "ops/family.h"
#include "ops/global.h"

#include <stdint.h>

#define MAX_LABEL  16777216.0f /* 2^24: the largest label float32 carries exactly */
#define RG         256         /* work-group size of reduce.cl */
#define MAX_GROUPS 1024
#define RUN        16 /* RL_RUN of relabel.cl */

/* One label of a partial or of the merge. 24 bytes, no padding. */
typedef struct {
    uint64_t count; /* voxels */
    uint64_t first; /* raster index in the timepoint of its first voxel */
    uint32_t label;
    uint32_t border; /* 1: touches the border */
} lstat_t;

/* Partial blob: int64 n, then lstat_t[n] sorted by label. Result blob: int64 lo, int64 n, then
 * uint32 map[n]: label l in lo .. lo + n - 1 becomes map[l - lo] (0: removed); others 0. */

enum { KIND_EDGES, KIND_SIZE, KIND_SEQ };

static int kind_of(const lapse_step_t *s);

/* ---------------------------------------------------------------- partial */

/* The core's minimum and maximum value (reduce.cl lapse_minmax; NaN ignored; +inf / -inf when
 * none): *lo, *hi. */
static lapse_status_t core_range(lapse_dev_t *d, const lapse_dvol_t *in, const lapse_gtile_t *t,
                                 float *lo, float *hi)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_kernel k;
    cl_mem buf[2] = {NULL, NULL};
    size_t n = (size_t)lapse_box_voxels(&t->core_rel), ng = (n + RG - 1) / RG;
    ng = ng < 1 ? 1 : ng > MAX_GROUPS ? MAX_GROUPS : ng;
    float *host = malloc(2 * ng * sizeof *host);
    LAPSE_ALLOC(host);
    cl_int4 b = {{(cl_int)in->dim[2], (cl_int)in->dim[1], (cl_int)in->dim[0], 0}};
    cl_int4 o = {
        {(cl_int)t->core_rel.off[2], (cl_int)t->core_rel.off[1], (cl_int)t->core_rel.off[0], 0}};
    cl_int4 c = {
        {(cl_int)t->core_rel.dim[2], (cl_int)t->core_rel.dim[1], (cl_int)t->core_rel.dim[0], 0}};
    LAPSE_TRY(lapse_dev_kernel(d, "reduce.cl", "lapse_minmax", &k, NULL));
    LAPSE_ARG(k, 0, in->mem);
    LAPSE_ARG(k, 1, b);
    LAPSE_ARG(k, 2, o);
    LAPSE_ARG(k, 3, c);
    for (int i = 0; i < 2; i++) {
        buf[i] = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, ng * sizeof(float), NULL, &e);
        LAPSE_CL(e);
        LAPSE_ARG(k, (cl_uint)(4 + i), buf[i]);
    }
    size_t global = ng * RG, local = RG;
    LAPSE_TRY(lapse_dev_enqueue(d, k, 1, &global, &local));
    for (int i = 0; i < 2; i++)
        LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, buf[i], CL_TRUE, 0, ng * sizeof(float),
                                     host + (size_t)i * ng, 0, NULL, NULL));
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < ng; i++) {
        *lo = fminf(*lo, host[i]);
        *hi = fmaxf(*hi, host[ng + i]);
    }
cleanup:
    for (int i = 0; i < 2; i++)
        if (buf[i])
            clReleaseMemObject(buf[i]);
    free(host);
    return st;
}

static int cmp_label(const void *a, const void *b)
{
    uint32_t x = ((const lstat_t *)a)->label, y = ((const lstat_t *)b)->label;
    return x < y ? -1 : x > y;
}

/* Set the arguments of lapse_relabel_stats and run it over the core: labels lo .. lo + nl - 1,
 * statistics into cnt, fst, flg (nl uints each, filled by the caller). */
static lapse_status_t run_stats(lapse_dev_t *d, const lapse_step_t *s, const lapse_dvol_t *in,
                                const lapse_gtile_t *t, cl_uint lo, cl_uint nl, cl_mem cnt,
                                cl_mem fst, cl_mem flg)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    const lapse_box_t *r = &t->core_rel, *g = &t->core;
    int edges = kind_of(s) == KIND_EDGES;
    cl_int4 b = {{(cl_int)in->dim[2], (cl_int)in->dim[1], (cl_int)in->dim[0], 0}};
    cl_int4 o = {{(cl_int)r->off[2], (cl_int)r->off[1], (cl_int)r->off[0], 0}};
    cl_int4 c = {{(cl_int)r->dim[2], (cl_int)r->dim[1], (cl_int)r->dim[0], 0}};
    cl_int4 go = {{(cl_int)g->off[2], (cl_int)g->off[1], (cl_int)g->off[0], 0}};
    cl_int4 img = {{(cl_int)t->img[2], (cl_int)t->img[1], (cl_int)t->img[0], 0}};
    cl_int4 edge = {
        {edges && s->p[0].v[2] != 0, edges && s->p[0].v[1] != 0, edges && s->p[0].v[0] != 0, 0}};
    LAPSE_TRY(lapse_dev_kernel(d, "relabel.cl", "lapse_relabel_stats", &k, NULL));
    LAPSE_ARG(k, 0, in->mem);
    LAPSE_ARG(k, 1, b);
    LAPSE_ARG(k, 2, o);
    LAPSE_ARG(k, 3, c);
    LAPSE_ARG(k, 4, go);
    LAPSE_ARG(k, 5, img);
    LAPSE_ARG(k, 6, edge);
    LAPSE_ARG(k, 7, lo);
    LAPSE_ARG(k, 8, nl);
    LAPSE_ARG(k, 9, cnt);
    LAPSE_ARG(k, 10, fst);
    LAPSE_ARG(k, 11, flg);
    LAPSE_TRY(lapse_dev_launch_3d(d, k, (size_t)((r->dim[2] + RUN - 1) / RUN), (size_t)r->dim[1],
                                  (size_t)r->dim[0]));
cleanup:
    return st;
}

/* The labels present in the core, as a list read back from the device: *list (malloc'ed, the
 * caller frees), *n entries of (label, count, first core-local index, border flag). */
static lapse_status_t core_labels(lapse_dev_t *d, const lapse_step_t *s, const lapse_dvol_t *in,
                                  const lapse_gtile_t *t, cl_uint lo, cl_uint nl, cl_uint **list,
                                  cl_uint *n)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_kernel k;
    cl_mem lst = NULL, cntr = NULL, arr[3] = {NULL, NULL, NULL}; /* count, first, flag */
    const cl_uint zero = 0, none = 0xFFFFFFFFu;
    const size_t nb = (size_t)nl * sizeof(cl_uint);
    size_t cap = (size_t)nl, cv = (size_t)lapse_box_voxels(&t->core_rel);
    cap = cap < cv ? cap : cv;
    *list = NULL;
    for (int i = 0; i < 3; i++) {
        arr[i] = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, nb, NULL, &e);
        LAPSE_CL(e);
        LAPSE_CL(clEnqueueFillBuffer(d->cl->queue, arr[i], i == 1 ? &none : &zero, sizeof zero, 0,
                                     nb, 0, NULL, NULL));
    }
    lst = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, cap * 4 * sizeof(cl_uint), NULL, &e);
    LAPSE_CL(e);
    cntr = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof zero,
                          (void *)&zero, &e);
    LAPSE_CL(e);
    LAPSE_TRY(run_stats(d, s, in, t, lo, nl, arr[0], arr[1], arr[2]));
    LAPSE_TRY(lapse_dev_kernel(d, "relabel.cl", "lapse_relabel_collect", &k, NULL));
    LAPSE_ARG(k, 0, arr[0]);
    LAPSE_ARG(k, 1, arr[1]);
    LAPSE_ARG(k, 2, arr[2]);
    LAPSE_ARG(k, 3, lo);
    LAPSE_ARG(k, 4, nl);
    LAPSE_ARG(k, 5, lst);
    LAPSE_ARG(k, 6, cntr);
    LAPSE_TRY(lapse_dev_launch_1d(d, k, (size_t)nl));
    LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, cntr, CL_TRUE, 0, sizeof *n, n, 0, NULL, NULL));
    if (*n > cap)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: %u labels in a core of %zu voxels", *n, cv);
    *list = malloc((*n ? *n : 1) * 4 * sizeof(cl_uint));
    LAPSE_ALLOC(*list);
    if (*n)
        LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, lst, CL_TRUE, 0, *n * 4 * sizeof(cl_uint), *list,
                                     0, NULL, NULL));
cleanup:
    if (st != LAPSE_OK) {
        free(*list);
        *list = NULL;
    }
    for (int i = 0; i < 3; i++)
        if (arr[i])
            clReleaseMemObject(arr[i]);
    if (lst)
        clReleaseMemObject(lst);
    if (cntr)
        clReleaseMemObject(cntr);
    return st;
}

/* Partial (lapse_global_t): the labels of the core of tile t, sorted by label, with their first
 * voxels as timepoint raster indices. Fails with LAPSE_EUSAGE when a core value exceeds 2^24
 * (the message names the step), LAPSE_ERUNTIME for a core of 2^32 - 1 voxels or more; *part is
 * set only on success. */
static lapse_status_t rl_partial(lapse_dev_t *d, const lapse_step_t *s, int pass,
                                 const lapse_blob_t *prev, const lapse_gtile_t *t,
                                 const lapse_dvol_t *in, cl_mem mat, cl_mem work,
                                 lapse_blob_t *part)
{
    lapse_status_t st = LAPSE_OK;
    cl_uint *list = NULL, n = 0;
    float lo = INFINITY, hi = -INFINITY;
    const lapse_box_t *c = &t->core_rel;
    (void)pass;
    (void)prev;
    (void)mat;
    (void)work;
    int64_t cv = lapse_box_voxels(c);
    if (cv > (int64_t)UINT32_MAX - 1)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "%s: a tile core of %lld voxels is more than the 2^32 - 1 this step "
                   "counts per tile; use smaller tiles",
                   s->op->name, (long long)cv);
    if (cv > 0)
        LAPSE_TRY(core_range(d, in, t, &lo, &hi));
    if (hi > MAX_LABEL)
        LAPSE_FAIL(LAPSE_EUSAGE,
                   "%s: a voxel holds %.9g, above the largest label 2^24 = 16777216 (labels "
                   "travel between steps as float32, so a uint32 input's 16777217 reads as "
                   "16777218): is the input a label image?",
                   s->op->name, (double)hi);
    if (hi >= 1.0f) {
        cl_uint l0 = lo >= 1.0f ? (cl_uint)lo : 1u, l1 = (cl_uint)hi;
        LAPSE_TRY(core_labels(d, s, in, t, l0, l1 - l0 + 1, &list, &n));
    }
    size_t bytes = sizeof(int64_t) + (size_t)n * sizeof(lstat_t);
    part->data = malloc(bytes);
    LAPSE_ALLOC(part->data);
    part->size = bytes;
    int64_t nn = n;
    memcpy(part->data, &nn, sizeof nn);
    lstat_t *ls = (lstat_t *)(void *)((char *)part->data + sizeof nn);
    const int64_t *img = t->img, *off = t->core.off;
    for (cl_uint i = 0; i < n; i++) {
        const cl_uint *e = list + 4 * (size_t)i;
        int64_t f = e[2], x = f % c->dim[2], y = (f / c->dim[2]) % c->dim[1],
                z = f / (c->dim[2] * c->dim[1]);
        ls[i].label = e[0];
        ls[i].count = e[1];
        ls[i].first = (uint64_t)(((off[0] + z) * img[1] + off[1] + y) * img[2] + off[2] + x);
        ls[i].border = e[3];
    }
    qsort(ls, (size_t)n, sizeof *ls, cmp_label);
cleanup:
    free(list);
    return st;
}

/* ---------------------------------------------------------------- reduce */

/* Whether step s keeps a label with these statistics. */
static int keeps(const lapse_step_t *s, const lstat_t *l)
{
    switch (kind_of(s)) {
    case KIND_EDGES:
        return !l->border;
    case KIND_SIZE:
        return (double)l->count >= s->p[0].v[0] && (double)l->count <= s->p[1].v[0];
    default:
        return 1;
    }
}

static int cmp_first(const void *a, const void *b)
{
    uint64_t x = (*(lstat_t *const *)a)->first, y = (*(lstat_t *const *)b)->first;
    return x < y ? -1 : x > y;
}

/* Reduce (lapse_global_t): merge the tiles' labels, keep those the step keeps, number them in
 * order of first voxel; *res (malloc'ed) is the result blob above. The same bytes for any order
 * of the parts. */
static lapse_status_t rl_reduce(const lapse_step_t *s, int pass, const lapse_blob_t *prev,
                                const lapse_gtile_t *tiles, const lapse_blob_t *parts,
                                int64_t ntiles, lapse_blob_t *res)
{
    lapse_status_t st = LAPSE_OK;
    lstat_t *all = NULL, **kept = NULL;
    int64_t total = 0, nm = 0, nk = 0;
    (void)pass;
    (void)prev;
    (void)tiles;
    for (int64_t i = 0; i < ntiles; i++) {
        int64_t n;
        memcpy(&n, parts[i].data, sizeof n);
        if (n < 0 || parts[i].size != sizeof n + (size_t)n * sizeof(lstat_t))
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: a %s partial of %zu bytes is malformed",
                       s->op->name, parts[i].size);
        total += n;
    }
    all = malloc((size_t)(total ? total : 1) * sizeof *all);
    kept = malloc((size_t)(total ? total : 1) * sizeof *kept);
    LAPSE_ALLOC(all);
    LAPSE_ALLOC(kept);
    for (int64_t i = 0, at = 0; i < ntiles; i++) {
        int64_t n;
        memcpy(&n, parts[i].data, sizeof n);
        memcpy(all + at, (const char *)parts[i].data + sizeof n, (size_t)n * sizeof *all);
        at += n;
    }
    /* merge by label: a label's tiles become one entry (sum, min, or), whatever their order */
    qsort(all, (size_t)total, sizeof *all, cmp_label);
    for (int64_t i = 0; i < total; i++) {
        if (nm > 0 && all[nm - 1].label == all[i].label) {
            lstat_t *m = &all[nm - 1];
            m->count += all[i].count;
            m->first = all[i].first < m->first ? all[i].first : m->first;
            m->border |= all[i].border;
        } else
            all[nm++] = all[i];
    }
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int64_t i = 0; i < nm; i++)
        if (keeps(s, &all[i])) {
            kept[nk++] = &all[i];
            lo = all[i].label < lo ? all[i].label : lo;
            hi = all[i].label > hi ? all[i].label : hi;
        }
    qsort(kept, (size_t)nk, sizeof *kept, cmp_first); /* first voxels are distinct */
    int64_t head[2] = {nk ? (int64_t)lo : 1, nk ? (int64_t)hi - (int64_t)lo + 1 : 0};
    size_t bytes = sizeof head + (size_t)head[1] * sizeof(uint32_t);
    res->data = calloc(1, bytes);
    LAPSE_ALLOC(res->data);
    res->size = bytes;
    memcpy(res->data, head, sizeof head);
    uint32_t *map = (uint32_t *)(void *)((char *)res->data + sizeof head);
    for (int64_t i = 0; i < nk; i++)
        map[kept[i]->label - lo] = (uint32_t)(i + 1);
cleanup:
    free(all);
    free(kept);
    return st;
}

/* ---------------------------------------------------------------- apply */

/* Apply (lapse_global_t): out = the map of in[0]'s labels (out may be in[0]'s buffer). */
static lapse_status_t rl_apply(lapse_dev_t *d, const lapse_step_t *s, const lapse_blob_t *res,
                               const lapse_dvol_t *in, cl_mem mat, const lapse_dvol_t *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_mem map = NULL;
    cl_kernel k;
    int64_t head[2];
    (void)s;
    (void)mat;
    memcpy(head, res->data, sizeof head);
    const uint32_t none = 0; /* a one-entry table when nothing is kept */
    const void *src = head[1] ? (const char *)res->data + sizeof head : (const void *)&none;
    map = clCreateBuffer(d->cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                         (size_t)(head[1] ? head[1] : 1) * sizeof(cl_uint), (void *)src, &e);
    LAPSE_CL(e);
    cl_ulong n = lapse_dvol_voxels(out);
    cl_uint lo = (cl_uint)head[0], nmap = (cl_uint)head[1];
    LAPSE_TRY(lapse_dev_kernel(d, "relabel.cl", "lapse_relabel_map", &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, out->mem);
    LAPSE_ARG(k, 2, n);
    LAPSE_ARG(k, 3, map);
    LAPSE_ARG(k, 4, lo);
    LAPSE_ARG(k, 5, nmap);
    LAPSE_TRY(lapse_dev_launch_voxels(d, k, (size_t)n, 0));
cleanup:
    if (map)
        clReleaseMemObject(map);
    return st;
}

/* ---------------------------------------------------------------- reference */

/* Reference over the whole volume, written independently of the partials: labels by truncation
 * (a value above 2^24 aborts: references run in tests only), counts and border flags in dense
 * arrays, then a raster scan that numbers each kept label when it is first met. */
static void rl_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    const int64_t *dim = in[0].dim;
    size_t n = lapse_ref_voxels(dim), top = 0;
    for (size_t i = 0; i < n; i++) {
        double v = in[0].v[i];
        if (v > 16777216.0)
            abort();
        if (v >= 1.0 && (size_t)v > top)
            top = (size_t)v;
    }
    uint64_t *count = calloc(top + 1, sizeof *count);
    uint32_t *border = calloc(top + 1, sizeof *border), *newl = calloc(top + 1, sizeof *newl);
    if (!count || !border || !newl)
        abort();
    int edges = kind_of(s) == KIND_EDGES;
    for (int64_t z = 0; z < dim[0]; z++)
        for (int64_t y = 0; y < dim[1]; y++)
            for (int64_t x = 0; x < dim[2]; x++) {
                double v = in[0].v[(z * dim[1] + y) * dim[2] + x];
                if (!(v >= 1.0))
                    continue;
                size_t l = (size_t)v;
                const int64_t p[3] = {z, y, x};
                count[l]++;
                for (int a = 0; a < 3; a++)
                    if (edges && s->p[0].v[a] != 0 && dim[a] > 1 &&
                        (p[a] == 0 || p[a] == dim[a] - 1))
                        border[l] = 1;
            }
    uint32_t next = 0;
    for (size_t i = 0; i < n; i++) {
        double v = in[0].v[i];
        out->v[i] = 0.0;
        if (!(v >= 1.0))
            continue;
        size_t l = (size_t)v;
        int keep = kind_of(s) == KIND_EDGES ? !border[l]
                   : kind_of(s) == KIND_SIZE
                       ? (double)count[l] >= s->p[0].v[0] && (double)count[l] <= s->p[1].v[0]
                       : 1;
        if (keep && newl[l] == 0)
            newl[l] = ++next;
        out->v[i] = keep ? newl[l] : 0.0;
    }
    free(count);
    free(border);
    free(newl);
}

/* ---------------------------------------------------------------- descriptors */

static const lapse_global_t rl_global = {
    .npass = 1,
    .partial = rl_partial,
    .reduce = rl_reduce,
    .apply = rl_apply,
};

#define RL_COMMON                                                                                  \
    .family = "relabel", .version = 1, .ninputs = 1, .out_rule = LAPSE_OUT_U32,                    \
    .footprint = LAPSE_FP_GLOBAL, .inplace = 1, .kernels = "relabel.cl reduce.cl",                 \
    .reference = rl_ref, .global = &rl_global

#define RL_NUMBERING                                                                               \
    "kept labels renumbered 1..N in raster order of each label's first voxel in the timepoint "    \
    "(scipy.ndimage.label's order; skimage numbers by old label); a voxel's label is its value "   \
    "truncated where >= 1 (astype(uint32)), else 0; values above 2^24 are an error"

/* axes that choose no axis at all, or only axes of extent 1 where the data has faces along
 * another, have no border: the step would remove nothing and only renumber. Refused, since
 * {z: false} reads as "the y and x faces" but is no axis at all (an axis left out of the
 * mapping is false), and {z: true} has no faces on [t, y, x] data. Data of one voxel along
 * every axis has no faces whatever axes say: allowed (the default, all axes, is never refused). */
static const char *edges_check(const lapse_step_t *s, const int64_t in[3], char *msg, size_t len)
{
    int any = 0, faces_left = 0;
    for (int a = 0; a < 3; a++) {
        if (s->p[0].v[a] != 0.0 && in[a] > 1)
            return NULL;
        any = any || s->p[0].v[a] != 0.0;
        faces_left = faces_left || (s->p[0].v[a] == 0.0 && in[a] > 1);
    }
    if (any && !faces_left)
        return NULL;
    snprintf(msg, len,
             "axes [%s, %s, %s] (z, y, x) chooses no axis of more than one voxel (the data has "
             "shape [%lld, %lld, %lld]), so no label touches a border and the step would only "
             "renumber (relabel_sequential does that); an axis left out of {...} is false: "
             "write {y: true, x: true} for the y and x faces",
             s->p[0].v[0] != 0.0 ? "true" : "false", s->p[0].v[1] != 0.0 ? "true" : "false",
             s->p[0].v[2] != 0.0 ? "true" : "false", (long long)in[0], (long long)in[1],
             (long long)in[2]);
    return "axes";
}

const lapse_op_t lapse_op_exclude_labels_on_edges = {
    .name = "exclude_labels_on_edges",
    .help = "remove the labels that touch the border of the timepoint (0 there), renumber the "
            "others 1..N (uint32 labels)",
    .convention = "skimage.segmentation.clear_border (clesperanto exclude_labels_on_edges): the "
                  "border is the two faces of each axis chosen in axes whose extent is more "
                  "than 1 (so on [t, y, x] data z has none); " RL_NUMBERING,
    RL_COMMON,
    .nparams = 1,
    .params = {{.key = "axes",
                .kind = LAPSE_PARAM_BOOL3,
                .required = 0,
                .def = 1,
                .min = 0,
                .max = 1,
                .help = "the axes whose two faces are the border (default all)"}},
    .check_dims = edges_check,
};

const lapse_op_t lapse_op_exclude_labels_outside_size_range = {
    .name = "exclude_labels_outside_size_range",
    .help = "remove the labels of fewer than minimum or more than maximum voxels in the "
            "timepoint, renumber the others 1..N (uint32 labels)",
    .convention = "clesperanto exclude_labels_outside_size_range (kept: minimum <= voxels <= "
                  "maximum, counted over the whole timepoint); " RL_NUMBERING,
    RL_COMMON,
    .nparams = 2,
    .params = {{.key = "minimum",
                .kind = LAPSE_PARAM_INT,
                .required = 0,
                .def = 0,
                .min = 0,
                .max = 1e15,
                .help = "smallest voxel count kept"},
               {.key = "maximum",
                .kind = LAPSE_PARAM_INT,
                .required = 0,
                .def = 1e15,
                .min = 0,
                .max = 1e15,
                .help = "largest voxel count kept (default: no limit)"}},
};

const lapse_op_t lapse_op_relabel_sequential = {
    .name = "relabel_sequential",
    .help = "renumber the labels of the timepoint 1..N without gaps (uint32 labels)",
    .convention = "skimage.segmentation.relabel_sequential (clesperanto relabel_sequential) up "
                  "to the order: " RL_NUMBERING,
    RL_COMMON,
    .nparams = 0,
};

static int kind_of(const lapse_step_t *s)
{
    return s->op == &lapse_op_exclude_labels_on_edges             ? KIND_EDGES
           : s->op == &lapse_op_exclude_labels_outside_size_range ? KIND_SIZE
                                                                  : KIND_SEQ;
}
