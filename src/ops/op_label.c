/*
 * op_label.c - connected_components_labeling, a global operation (op.h, lapse_global_t) that
 * gives the same labels whatever the tiling: each tile labels its core on the device
 * (ops/ccl.h; every component named by the timepoint raster id of its first voxel in the
 * tile), its partial is the list of those ids and its core's faces towards other tiles; the
 * reduction joins ids that touch across tile faces (union-find whose root is the smallest id,
 * i.e. the component's first voxel in the timepoint) and numbers the components 1..N in raster
 * order of their first voxel, which is scipy.ndimage.label's numbering; apply maps every id
 * to its label (a binary search on the device).
 */
#include "ops/ccl.h"
#include "ops/family.h"
#include "ops/global.h"

#include <stdint.h>

#define MAX_LABELS (1LL << 24) /* labels travel as float32 between steps: exact up to 2^24 */

static const char *const conn_words[] = {"box", "diamond", NULL};

/* Partial blob: int64 nroots, uint64 roots[nroots], then the core's faces towards other tiles,
 * in the order axis 0..2, low then high (a face exists where the core does not touch the
 * image edge), each a plane of uint64 ids in C order over the two other axes. */

/* Whether tile t has a face at side (0 low, 1 high) of axis a, and the voxels of that face. */
static int has_face(const lapse_gtile_t *t, int a, int side)
{
    return side == 0 ? t->core.off[a] > 0 : t->core.off[a] + t->core.dim[a] < t->img[a];
}

static int64_t face_voxels(const lapse_box_t *core, int a)
{
    return lapse_box_voxels(core) / core->dim[a];
}

/* Read the face (side) of axis a of the core's ids (mat, C order over core dims c) into dst,
 * gathered on the device (kernels/labels.cl lapse_ccl_face) into tmp (at least the face's
 * voxels x 8 bytes) and read back in one piece: a rectangle read of a column face is one DMA
 * per voxel on some drivers. */
static lapse_status_t read_face(lapse_dev_t *d, cl_mem mat, const int64_t c[3], int a, int side,
                                cl_mem tmp, uint64_t *dst)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_uint cx = (cl_uint)c[2], cy = (cl_uint)c[1], cz = (cl_uint)c[0];
    cl_int axis = a, sd = side;
    size_t n = (size_t)(c[0] * c[1] * c[2] / c[a]);
    LAPSE_TRY(lapse_dev_kernel(d, "labels.cl", "lapse_ccl_face", &k, NULL));
    LAPSE_ARG(k, 0, mat);
    LAPSE_ARG(k, 1, cx);
    LAPSE_ARG(k, 2, cy);
    LAPSE_ARG(k, 3, cz);
    LAPSE_ARG(k, 4, axis);
    LAPSE_ARG(k, 5, sd);
    LAPSE_ARG(k, 6, tmp);
    LAPSE_TRY(lapse_dev_launch_1d(d, k, n));
    LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, tmp, CL_TRUE, 0, n * sizeof(uint64_t), dst, 0, NULL,
                                 NULL));
cleanup:
    return st;
}

static lapse_status_t cc_partial(lapse_dev_t *d, const lapse_step_t *s, int pass,
                                 const lapse_blob_t *prev, const lapse_gtile_t *t,
                                 const lapse_dvol_t *in, cl_mem mat, cl_mem work,
                                 lapse_blob_t *part)
{
    lapse_status_t st = LAPSE_OK;
    uint64_t *roots = NULL;
    int64_t nroots = 0, most = 0;
    cl_mem tmp = NULL;
    cl_int e = CL_SUCCESS;
    (void)pass;
    (void)prev;
    LAPSE_TRY(lapse_ccl_local(d, in->mem, in->dim, &t->core_rel, t->core.off, t->img,
                              (int)s->p[0].v[0], mat, work, &roots, &nroots));
    size_t bytes = sizeof(int64_t) + (size_t)nroots * sizeof(uint64_t);
    for (int a = 0; a < 3; a++)
        for (int side = 0; side < 2; side++)
            if (has_face(t, a, side))
                bytes += (size_t)face_voxels(&t->core_rel, a) * sizeof(uint64_t);
    part->data = malloc(bytes);
    LAPSE_ALLOC(part->data);
    part->size = bytes;
    for (int a = 0; a < 3; a++)
        if ((has_face(t, a, 0) || has_face(t, a, 1)) && face_voxels(&t->core_rel, a) > most)
            most = face_voxels(&t->core_rel, a);
    if (most > 0) {
        tmp = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, (size_t)most * sizeof(uint64_t), NULL,
                             &e);
        LAPSE_CL(e);
    }
    char *p = part->data;
    memcpy(p, &nroots, sizeof nroots);
    p += sizeof nroots;
    if (nroots)
        memcpy(p, roots, (size_t)nroots * sizeof *roots);
    p += (size_t)nroots * sizeof *roots;
    for (int a = 0; a < 3; a++)
        for (int side = 0; side < 2; side++)
            if (has_face(t, a, side)) {
                LAPSE_TRY(read_face(d, mat, t->core_rel.dim, a, side, tmp, (uint64_t *)(void *)p));
                p += (size_t)face_voxels(&t->core_rel, a) * sizeof(uint64_t);
            }
cleanup:
    free(roots);
    if (tmp)
        clReleaseMemObject(tmp);
    return st;
}

/* ---------------------------------------------------------------- the reduction */

typedef struct {
    uint64_t *id;    /* every tile's ids, sorted */
    int64_t *parent; /* union-find over positions in id; a root is the smallest id of its set */
    int64_t n;
} uf_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t uf_find(uf_t *u, int64_t i)
{
    while (u->parent[i] != i) {
        u->parent[i] = u->parent[u->parent[i]];
        i = u->parent[i];
    }
    return i;
}

static int64_t uf_pos(const uf_t *u, uint64_t id)
{
    int64_t a = 0, b = u->n;
    while (a < b) {
        int64_t m = a + (b - a) / 2;
        if (u->id[m] < id)
            a = m + 1;
        else
            b = m;
    }
    return a < u->n && u->id[a] == id ? a : -1;
}

static lapse_status_t uf_union(uf_t *u, uint64_t x, uint64_t y)
{
    int64_t i = uf_pos(u, x), j = uf_pos(u, y);
    if (i < 0 || j < 0)
        return lapse_fail(LAPSE_ERUNTIME, "internal error: a face id is not among the roots");
    i = uf_find(u, i);
    j = uf_find(u, j);
    if (i < j)
        u->parent[j] = i;
    else if (j < i)
        u->parent[i] = j;
    return LAPSE_OK;
}

/* The face planes of the tiles, by (axis, side), as pointers into the partials. */
typedef struct {
    const uint64_t *face[3][2];
} faces_t;

/* Join the ids that touch across the boundary plane at position b of axis a: the plane b - 1
 * assembled from the high faces of the tiles that end there, the plane b from the low faces
 * of the tiles that start there; each id on the first joins its neighbours on the second (the
 * 3 x 3 square of the box connectivity, or the voxel across for diamond). */
static lapse_status_t join_boundary(uf_t *u, const lapse_gtile_t *tiles, const faces_t *fc,
                                    int64_t ntiles, int a, int64_t b, int conn, uint64_t *lo,
                                    uint64_t *hi)
{
    lapse_status_t st = LAPSE_OK;
    const int64_t *img = tiles[0].img;
    int p = a == 0 ? 1 : 0, q = a == 2 ? 1 : 2; /* the plane's axes, slow then fast */
    int64_t np = img[p], nq = img[q];
    memset(lo, 0, (size_t)(np * nq) * sizeof *lo);
    memset(hi, 0, (size_t)(np * nq) * sizeof *hi);
    for (int64_t i = 0; i < ntiles; i++) {
        const lapse_box_t *c = &tiles[i].core;
        uint64_t *dst = NULL;
        const uint64_t *src = NULL;
        if (c->off[a] + c->dim[a] == b && fc[i].face[a][1]) {
            dst = lo;
            src = fc[i].face[a][1];
        } else if (c->off[a] == b && fc[i].face[a][0]) {
            dst = hi;
            src = fc[i].face[a][0];
        } else
            continue;
        for (int64_t x = 0; x < c->dim[p]; x++)
            memcpy(dst + (c->off[p] + x) * nq + c->off[q], src + x * c->dim[q],
                   (size_t)c->dim[q] * sizeof *dst);
    }
    int r = conn == LAPSE_CCL_BOX ? 1 : 0;
    for (int64_t x = 0; x < np; x++)
        for (int64_t y = 0; y < nq; y++) {
            uint64_t v = lo[x * nq + y];
            if (v == 0)
                continue;
            for (int64_t dx = -r; dx <= r; dx++)
                for (int64_t dy = -r; dy <= r; dy++) {
                    int64_t xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= np || yy >= nq || hi[xx * nq + yy] == 0)
                        continue;
                    LAPSE_TRY(uf_union(u, v, hi[xx * nq + yy]));
                }
        }
cleanup:
    return st;
}

/* Result blob: int64 n, uint64 keys[n] (every id, sorted), uint32 labels[n]. */
static lapse_status_t cc_reduce(const lapse_step_t *s, int pass, const lapse_blob_t *prev,
                                const lapse_gtile_t *tiles, const lapse_blob_t *parts,
                                int64_t ntiles, lapse_blob_t *res)
{
    lapse_status_t st = LAPSE_OK;
    uf_t u = {NULL, NULL, 0};
    faces_t *fc = calloc((size_t)ntiles, sizeof *fc);
    uint64_t *lo = NULL, *hi = NULL;
    (void)pass;
    (void)prev;
    LAPSE_ALLOC(fc);
    for (int64_t i = 0; i < ntiles; i++) {
        int64_t n;
        memcpy(&n, parts[i].data, sizeof n);
        u.n += n;
    }
    u.id = malloc((size_t)(u.n ? u.n : 1) * sizeof *u.id);
    u.parent = malloc((size_t)(u.n ? u.n : 1) * sizeof *u.parent);
    LAPSE_ALLOC(u.id);
    LAPSE_ALLOC(u.parent);
    int64_t at = 0, maxplane = 1;
    for (int64_t i = 0; i < ntiles; i++) {
        const char *p = parts[i].data;
        int64_t n;
        memcpy(&n, p, sizeof n);
        p += sizeof n;
        memcpy(u.id + at, p, (size_t)n * sizeof *u.id);
        at += n;
        p += (size_t)n * sizeof *u.id;
        for (int a = 0; a < 3; a++)
            for (int side = 0; side < 2; side++)
                if (has_face(&tiles[i], a, side)) {
                    fc[i].face[a][side] = (const uint64_t *)(const void *)p;
                    p += (size_t)face_voxels(&tiles[i].core, a) * sizeof(uint64_t);
                }
        if (p != (const char *)parts[i].data + parts[i].size)
            LAPSE_FAIL(LAPSE_ERUNTIME,
                       "internal error: a labelling partial of %zu bytes "
                       "does not match its tile",
                       parts[i].size);
    }
    qsort(u.id, (size_t)u.n, sizeof *u.id, cmp_u64);
    for (int64_t i = 0; i < u.n; i++)
        u.parent[i] = i;
    for (int a = 0; a < 3; a++) {
        int64_t pl = tiles[0].img[0] * tiles[0].img[1] * tiles[0].img[2] / tiles[0].img[a];
        if (pl > maxplane)
            maxplane = pl;
    }
    lo = malloc((size_t)maxplane * sizeof *lo);
    hi = malloc((size_t)maxplane * sizeof *hi);
    LAPSE_ALLOC(lo);
    LAPSE_ALLOC(hi);
    /* every boundary position: where a tile starts inside the image */
    for (int a = 0; a < 3; a++)
        for (int64_t i = 0; i < ntiles; i++) {
            int64_t b = tiles[i].core.off[a];
            if (b == 0)
                continue;
            int seen = 0;
            for (int64_t j = 0; j < i && !seen; j++)
                seen = tiles[j].core.off[a] == b;
            if (!seen)
                LAPSE_TRY(join_boundary(&u, tiles, fc, ntiles, a, b, (int)s->p[0].v[0], lo, hi));
        }
    /* number the sets in order of their root (their first voxel) */
    int64_t nlab = 0;
    for (int64_t i = 0; i < u.n; i++)
        nlab += uf_find(&u, i) == i;
    if (nlab > MAX_LABELS)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "%lld connected components in one timepoint: more than the %lld labels "
                   "lapse can carry (float32 between steps); clean the mask first (e.g. "
                   "opening_box) or threshold higher",
                   (long long)nlab, MAX_LABELS);
    size_t bytes = sizeof(int64_t) + (size_t)u.n * (sizeof(uint64_t) + sizeof(uint32_t));
    res->data = malloc(bytes);
    LAPSE_ALLOC(res->data);
    res->size = bytes;
    char *p = res->data;
    memcpy(p, &u.n, sizeof u.n);
    uint64_t *keys = (uint64_t *)(void *)(p + sizeof(int64_t));
    uint32_t *labels = (uint32_t *)(void *)(keys + u.n);
    memcpy(keys, u.id, (size_t)u.n * sizeof *keys);
    uint32_t next = 0;
    for (int64_t i = 0; i < u.n; i++) { /* a root comes before every member of its set */
        int64_t r = uf_find(&u, i);
        labels[i] = r == i ? ++next : labels[r];
    }
cleanup:
    free(u.id);
    free(u.parent);
    free(fc);
    free(lo);
    free(hi);
    return st;
}

static lapse_status_t cc_apply(lapse_dev_t *d, const lapse_step_t *s, const lapse_blob_t *res,
                               const lapse_dvol_t *in, cl_mem mat, const lapse_dvol_t *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_mem keys = NULL, labels = NULL;
    (void)s;
    (void)in;
    int64_t n;
    memcpy(&n, res->data, sizeof n);
    const char *p = (const char *)res->data + sizeof n;
    if (n > 0) {
        keys = clCreateBuffer(d->cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                              (size_t)n * sizeof(cl_ulong), (void *)p, &e);
        LAPSE_CL(e);
        labels = clCreateBuffer(d->cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                (size_t)n * sizeof(cl_uint),
                                (void *)(p + (size_t)n * sizeof(cl_ulong)), &e);
        LAPSE_CL(e);
    }
    LAPSE_TRY(lapse_ccl_lookup(d, mat, lapse_dvol_voxels(out), keys, labels, (size_t)n, out->mem));
cleanup:
    if (keys)
        clReleaseMemObject(keys);
    if (labels)
        clReleaseMemObject(labels);
    return st;
}

/* Reference: the CPU labelling of the whole image, numbered by first voxel. */
static void cc_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    size_t n = lapse_ref_voxels(in[0].dim);
    float *f = calloc(n + 1, sizeof *f);
    uint64_t *id = malloc(n * sizeof *id), *seen = calloc(n + 1, sizeof *seen);
    if (!f || !id || !seen)
        abort();
    for (size_t i = 0; i < n; i++)
        f[i] = (float)in[0].v[i];
    lapse_box_t core = {{0, 0, 0}, {in[0].dim[0], in[0].dim[1], in[0].dim[2]}};
    const int64_t zero[3] = {0, 0, 0};
    lapse_ccl_local_ref(f, in[0].dim, &core, zero, in[0].dim, (int)s->p[0].v[0], id);
    uint64_t next = 0; /* seen[id] = the label of the component whose first voxel is id - 1 */
    for (size_t i = 0; i < n; i++) {
        if (id[i] && seen[id[i]] == 0)
            seen[id[i]] = ++next;
        out->v[i] = id[i] ? (double)seen[id[i]] : 0.0;
    }
    free(f);
    free(id);
    free(seen);
}

static const lapse_global_t cc_global = {
    .npass = 1,
    .mat_bytes = sizeof(uint64_t),
    .work_bytes = sizeof(uint32_t),
    .mat_local = 1, /* a tile's ids: the raster ids of first voxels in its own core */
    .partial = cc_partial,
    .reduce = cc_reduce,
    .apply = cc_apply,
};

const lapse_op_t lapse_op_connected_components_labeling = {
    .name = "connected_components_labeling",
    .help = "label the connected components of the foreground (non-zero) of each timepoint "
            "1..N in raster order of their first voxel (uint32 labels)",
    .family = "label",
    .convention = "scipy.ndimage.label (the same numbers: raster order of each component's "
                  "first voxel); connectivity box = 26 neighbours in 3-D, 8 in 2-D (clesperanto "
                  "connected_components_labeling_box, its default), diamond = 6 / 4 (SciPy's "
                  "default); at most 2^24 components per timepoint",
    .version = 1,
    .ninputs = 1,
    .nparams = 1,
    .params = {{.key = "connectivity",
                .kind = LAPSE_PARAM_ENUM,
                .required = 0,
                .def = 0,
                .min = 0,
                .max = 1,
                .help = "box (26 / 8 neighbours) or diamond (6 / 4)",
                .choices = conn_words}},
    .out_rule = LAPSE_OUT_U32,
    .footprint = LAPSE_FP_GLOBAL,
    .inplace = 1,
    .kernels = "labels.cl",
    .reference = cc_ref,
    .global = &cc_global,
};
