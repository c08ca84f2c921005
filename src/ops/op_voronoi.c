/*
 * op_voronoi.c - masked_voronoi_labeling, an iterative global operation (op.h, lapse_global_t
 * iterate): seed labels (from:) grow inside a mask (with:) until they touch, exactly as
 * clesperanto's masked_voronoi_labeling grows them (kernels/voronoi.cl): background voxels take
 * the largest neighbouring label, box and diamond neighbourhoods alternating (an octagon-like
 * metric), until an iteration changes nothing. A timepoint held whole iterates on the device
 * inside one pass; a tiled timepoint does one iteration per pass, each tile reading the last
 * state of its buffer (the core and a one-voxel halo of its neighbours' cores) from the scratch
 * area, so the result is the same bits whatever the tiling.
 */
#include <stdio.h>

#include "ops/family.h"
#include "ops/global.h"

typedef struct {
    int changed; /* some voxel changed in the pass */
} vor_part_t;

static lapse_status_t launch_nd(lapse_dev_t *d, cl_kernel k, size_t n)
{
    return lapse_dev_launch_1d(d, k, n);
}

/* mat = labels inside the mask, labels - 1 outside, over the buffer. */
static lapse_status_t vor_init(lapse_dev_t *d, const lapse_dvol_t *in, cl_mem mat)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_ulong n = lapse_dvol_voxels(&in[0]);
    LAPSE_TRY(lapse_dev_kernel(d, "voronoi.cl", "lapse_vor_init", &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, in[1].mem);
    LAPSE_ARG(k, 2, mat);
    LAPSE_ARG(k, 3, n);
    LAPSE_TRY(launch_nd(d, k, (size_t)n));
cleanup:
    return st;
}

/* One iteration (box when it is even) from src into dst, the flag cleared first; when changed is
 * not NULL the flag is read back: *changed = a core voxel changed. */
static lapse_status_t vor_step(lapse_dev_t *d, const lapse_dvol_t *in, const lapse_gtile_t *t,
                               int iteration, cl_mem src, cl_mem dst, cl_mem flag, int *changed)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_int zero = 0, box = iteration % 2 == 0, nx = (cl_int)in->dim[2], ny = (cl_int)in->dim[1],
           nz = (cl_int)in->dim[0];
    cl_int4 co = {
        {(cl_int)t->core_rel.off[2], (cl_int)t->core_rel.off[1], (cl_int)t->core_rel.off[0], 0}};
    cl_int4 cd = {
        {(cl_int)t->core_rel.dim[2], (cl_int)t->core_rel.dim[1], (cl_int)t->core_rel.dim[0], 0}};
    LAPSE_CL(
        clEnqueueWriteBuffer(d->cl->queue, flag, CL_TRUE, 0, sizeof zero, &zero, 0, NULL, NULL));
    LAPSE_TRY(lapse_dev_kernel(d, "voronoi.cl", "lapse_vor_step", &k, NULL));
    LAPSE_ARG(k, 0, src);
    LAPSE_ARG(k, 1, dst);
    LAPSE_ARG(k, 2, nx);
    LAPSE_ARG(k, 3, ny);
    LAPSE_ARG(k, 4, nz);
    LAPSE_ARG(k, 5, box);
    LAPSE_ARG(k, 6, co);
    LAPSE_ARG(k, 7, cd);
    LAPSE_ARG(k, 8, flag);
    LAPSE_TRY(lapse_dev_launch_3d(d, k, (size_t)nx, (size_t)ny, (size_t)nz));
    if (changed) {
        cl_int f = 0;
        LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, flag, CL_TRUE, 0, sizeof f, &f, 0, NULL, NULL));
        *changed = f != 0;
    }
cleanup:
    return st;
}

#define VB_X  32 /* voronoi.cl's work-group LAPSE_VB_X, _Y, _Z */
#define VB_Y  4
#define VB_Z  2
#define VB_RY 2 /* and its block: VB_X x (VB_Y VB_RY) x (VB_Z VB_RZ) voxels */
#define VB_RZ 2

/* Grow the whole timepoint from the seed labels in[0] inside the mask in[1] into mat, with
 * lapse_vor_step_blocks (blocks that cannot change are skipped), in (box, diamond) pairs from
 * mat to work and back, both iterations' flags read after the pair: a box iteration that changes
 * nothing is a fixed point (no background voxel has a labelled box neighbour, so no diamond one
 * either), and a pair whose diamond iteration changes nothing ends where clesperanto stops. The
 * state ends in mat; *iterations = the iterations run. flag: two cl_int. The start goes into both
 * mat and work (lapse_vor_init_blocks), which also flags the blocks with something to spread as
 * the changes of the two iterations before the first. */
static lapse_status_t grow_whole(lapse_dev_t *d, const lapse_dvol_t *in, cl_mem mat, cl_mem work,
                                 cl_mem flag, int *iterations)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_mem chg[3] = {NULL, NULL, NULL};
    cl_kernel k;
    const cl_int nx = (cl_int)in->dim[2], ny = (cl_int)in->dim[1], nz = (cl_int)in->dim[0];
    const size_t gx = ((size_t)nx + VB_X - 1) / VB_X,
                 gy = ((size_t)ny + VB_Y * VB_RY - 1) / (VB_Y * VB_RY),
                 gz = ((size_t)nz + VB_Z * VB_RZ - 1) / (VB_Z * VB_RZ), nblocks = gx * gy * gz;
    const size_t global[3] = {gx * VB_X, gy * VB_Y, gz * VB_Z}, local[3] = {VB_X, VB_Y, VB_Z};
    for (int i = 0; i < 3; i++) {
        chg[i] = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, nblocks, NULL, &e);
        LAPSE_CL(e);
    }
    LAPSE_TRY(lapse_dev_kernel(d, "voronoi.cl", "lapse_vor_init_blocks", &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, in[1].mem);
    LAPSE_ARG(k, 2, mat);
    LAPSE_ARG(k, 3, work);
    LAPSE_ARG(k, 4, nx);
    LAPSE_ARG(k, 5, ny);
    LAPSE_ARG(k, 6, nz);
    LAPSE_ARG(k, 7, chg[1]);
    LAPSE_ARG(k, 8, chg[2]);
    LAPSE_TRY(lapse_dev_enqueue(d, k, 3, global, local));
    LAPSE_TRY(lapse_dev_kernel(d, "voronoi.cl", "lapse_vor_step_blocks", &k, NULL));
    LAPSE_ARG(k, 2, nx);
    LAPSE_ARG(k, 3, ny);
    LAPSE_ARG(k, 4, nz);
    int j = 0;
    for (;;) {
        const cl_int zeros[2] = {0, 0};
        cl_int f[2] = {0, 0};
        /* flag[0]: the box iteration changed something, flag[1]: the diamond one */
        LAPSE_CL(clEnqueueFillBuffer(d->cl->queue, flag, zeros, sizeof zeros, 0, sizeof zeros, 0,
                                     NULL, NULL));
        for (int h = 0; h < 2; h++, j++) { /* box (from mat), then diamond (back into mat) */
            cl_int box = h == 0;
            cl_mem src = h == 0 ? mat : work, dst = h == 0 ? work : mat;
            cl_mem c1 = chg[(j + 2) % 3], c2 = chg[(j + 1) % 3], co = chg[j % 3];
            LAPSE_ARG(k, 0, src);
            LAPSE_ARG(k, 1, dst);
            LAPSE_ARG(k, 5, box);
            LAPSE_ARG(k, 6, c1);
            LAPSE_ARG(k, 7, c2);
            LAPSE_ARG(k, 8, co);
            LAPSE_ARG(k, 9, flag);
            LAPSE_TRY(lapse_dev_enqueue(d, k, 3, global, local));
        }
        LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, flag, CL_TRUE, 0, sizeof f, f, 0, NULL, NULL));
        if (!f[0] || !f[1])
            break;
    }
    *iterations = j;
cleanup:
    for (int i = 0; i < 3; i++)
        if (chg[i])
            clReleaseMemObject(chg[i]);
    return st;
}

static int whole(const lapse_gtile_t *t)
{
    for (int a = 0; a < 3; a++)
        if (t->core.off[a] != 0 || t->core.dim[a] != t->img[a])
            return 0;
    return 1;
}

static lapse_status_t vor_partial(lapse_dev_t *d, const lapse_step_t *s, int pass,
                                  const lapse_blob_t *prev, const lapse_gtile_t *t,
                                  const lapse_dvol_t *in, cl_mem mat, cl_mem work,
                                  lapse_blob_t *part)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_mem flag = NULL, flag2 = NULL;
    (void)s;
    (void)prev;
    int changed = 0, iterations = 0;
    flag = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, sizeof(cl_int), NULL, &e);
    LAPSE_CL(e);
    flag2 = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, 2 * sizeof(cl_int), NULL, &e);
    LAPSE_CL(e);
    if (pass == 0 && !whole(t))
        LAPSE_TRY(vor_init(d, in, mat));
    if (whole(t)) { /* the whole timepoint: iterate here until nothing changes (grow_whole) */
        LAPSE_TRY(grow_whole(d, in, mat, work, flag2, &iterations));
        const char *profile = getenv("LAPSE_PROFILE");
        if (profile && strcmp(profile, "1") == 0)
            fprintf(stderr, "lapse: masked_voronoi_labeling: %d iterations\n", iterations);
        changed = 0;
    } else {
        LAPSE_TRY(vor_step(d, in, t, pass, mat, work, flag, &changed));
        LAPSE_TRY(lapse_dev_copy(d, work, mat, lapse_dvol_voxels(in)));
    }
    part->data = calloc(1, sizeof(vor_part_t));
    LAPSE_ALLOC(part->data);
    part->size = sizeof(vor_part_t);
    ((vor_part_t *)part->data)->changed = changed;
cleanup:
    if (flag)
        clReleaseMemObject(flag);
    if (flag2)
        clReleaseMemObject(flag2);
    return st;
}

static lapse_status_t vor_reduce(const lapse_step_t *s, int pass, const lapse_blob_t *prev,
                                 const lapse_gtile_t *tiles, const lapse_blob_t *parts, int64_t n,
                                 lapse_blob_t *res)
{
    (void)s;
    (void)pass;
    (void)prev;
    (void)tiles;
    res->data = calloc(1, sizeof(vor_part_t));
    if (res->data == NULL)
        return lapse_fail(LAPSE_ENOMEM, "out of memory");
    res->size = sizeof(vor_part_t);
    for (int64_t i = 0; i < n; i++)
        ((vor_part_t *)res->data)->changed |= ((const vor_part_t *)parts[i].data)->changed;
    return LAPSE_OK;
}

static int vor_done(const lapse_blob_t *res)
{
    return !((const vor_part_t *)res->data)->changed;
}

static lapse_status_t vor_apply(lapse_dev_t *d, const lapse_step_t *s, const lapse_blob_t *res,
                                const lapse_dvol_t *in, cl_mem mat, const lapse_dvol_t *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_ulong n = lapse_dvol_voxels(out);
    (void)s;
    (void)res;
    LAPSE_TRY(lapse_dev_kernel(d, "voronoi.cl", "lapse_vor_mask", &k, NULL));
    LAPSE_ARG(k, 0, mat);
    LAPSE_ARG(k, 1, in[1].mem);
    LAPSE_ARG(k, 2, out->mem);
    LAPSE_ARG(k, 3, n);
    LAPSE_TRY(launch_nd(d, k, (size_t)n));
cleanup:
    return st;
}

static void vor_reach(const lapse_step_t *s, int64_t r[3])
{
    (void)s;
    r[0] = r[1] = r[2] = 1; /* one iteration per pass in tiles */
}

/* Reference: the same growth in double on the whole image. */
static void vor_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    (void)s;
    const int64_t nz = in[0].dim[0], ny = in[0].dim[1], nx = in[0].dim[2];
    size_t n = lapse_ref_voxels(in[0].dim);
    double *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
    if (!a || !b)
        abort();
    for (size_t i = 0; i < n; i++)
        a[i] = (double)(float)in[0].v[i] + ((float)in[1].v[i] != 0.0f ? 0.0 : -1.0);
    for (int it = 0, changed = 1; changed; it++) {
        changed = 0;
        for (int64_t z = 0; z < nz; z++)
            for (int64_t y = 0; y < ny; y++)
                for (int64_t x = 0; x < nx; x++) {
                    size_t i = (size_t)((z * ny + y) * nx + x);
                    double m = a[i];
                    if (m == 0.0)
                        for (int dz = -1; dz <= 1; dz++)
                            for (int dy = -1; dy <= 1; dy++)
                                for (int dx = -1; dx <= 1; dx++) {
                                    int64_t zz = z + dz, yy = y + dy, xx = x + dx;
                                    if (zz < 0 || yy < 0 || xx < 0 || zz >= nz || yy >= ny ||
                                        xx >= nx)
                                        continue;
                                    if (it % 2 && abs(dx) + abs(dy) + abs(dz) > 1)
                                        continue;
                                    double u = a[(size_t)((zz * ny + yy) * nx + xx)];
                                    m = u > m ? u : m;
                                }
                    b[i] = m;
                    changed |= m != a[i];
                }
        double *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n; i++)
        out->v[i] = (float)in[1].v[i] != 0.0f ? a[i] : 0.0;
    free(a);
    free(b);
}

static const lapse_global_t vor_global = {
    .npass = 1,
    .mat_bytes = sizeof(cl_float),
    .work_bytes = sizeof(cl_float),
    .iterate = 1,
    .done = vor_done,
    .partial = vor_partial,
    .reduce = vor_reduce,
    .apply = vor_apply,
};

const lapse_op_t lapse_op_masked_voronoi_labeling = {
    .name = "masked_voronoi_labeling",
    .help = "grow the seed labels (from:) inside the mask (with:) until they touch: every mask "
            "voxel reached gets a seed's label, voxels outside the mask 0",
    .family = "voronoi",
    .convention = "clesperanto masked_voronoi_labeling: background voxels take the largest "
                  "neighbouring label, box (26 / 8) and diamond (6 / 4) neighbourhoods "
                  "alternating from box, until an iteration changes nothing (ties: the larger "
                  "label); seeds are labels (label a binary seed image with "
                  "connected_components_labeling first); the mask is voxels != 0",
    .version = 1,
    .ninputs = 2,
    .nparams = 0,
    .out_rule = LAPSE_OUT_U32,
    .footprint = LAPSE_FP_GLOBAL,
    .inplace = 1,
    .kernels = "voronoi.cl",
    .reach_doc = "1 per iteration (tiles: one iteration per pass)",
    .reach = vor_reach,
    .reference = vor_ref,
    .global = &vor_global,
};

/* ---------------------------------------------------------------- voronoi_otsu_labeling */

/* One expanded step of op `name` reading `from` (and `with`), called _<id>_<tag>. */
static void make_step(lapse_step_t *e, const char *name, const char *from, const char *with, int id,
                      const char *tag)
{
    lapse_step_init(e, lapse_op_find(name));
    if (from)
        snprintf(e->from, sizeof e->from, "%s", from);
    if (with)
        snprintf(e->with, sizeof e->with, "%s", with);
    if (tag)
        snprintf(e->name, sizeof e->name, "_%d_%s", id, tag);
}

/* blur (spot_sigma) -> maxima; blur (outline_sigma) -> Otsu mask; maxima in the mask labelled
 * -> grown in the mask: clesperanto's voronoi_otsu_labeling from lapse's steps. */
static int vol_expand(const lapse_step_t *s, const char *src, int id, lapse_step_t *out, int max)
{
    char n[6][LAPSE_STEP_NAME_MAX];
    const char *tags[6] = {"spots", "maxima", "outline", "mask", "seedmask", "seeds"};
    if (max < 7)
        return -1;
    for (int i = 0; i < 6; i++)
        snprintf(n[i], sizeof n[i], "_%d_%s", id, tags[i]);
    make_step(&out[0], "gaussian_blur", src, NULL, id, tags[0]);
    memcpy(out[0].p[0].v, s->p[0].v, sizeof out[0].p[0].v);
    make_step(&out[1], "detect_maxima_box", n[0], NULL, id, tags[1]); /* radius 0: 3x3(x3) */
    make_step(&out[2], "gaussian_blur", src, NULL, id, tags[2]);
    memcpy(out[2].p[0].v, s->p[1].v, sizeof out[2].p[0].v);
    make_step(&out[3], "threshold_otsu", n[2], NULL, id, tags[3]);
    out[3].p[0].v[0] = 1; /* bins: clesperanto, as clesperanto's voronoi_otsu_labeling */
    make_step(&out[4], "binary_and", n[1], n[3], id, tags[4]);
    make_step(&out[5], "connected_components_labeling", n[4], NULL, id, tags[5]);
    make_step(&out[6], "masked_voronoi_labeling", n[5], n[3], id, NULL);
    snprintf(out[6].name, sizeof out[6].name, "%s", s->name);
    snprintf(out[6].save, sizeof out[6].save, "%s", s->save);
    return 7;
}

const lapse_op_t lapse_op_voronoi_otsu_labeling = {
    .name = "voronoi_otsu_labeling",
    .help = "label nuclei: Gaussian blur (spot_sigma) and local maxima as seeds, Gaussian blur "
            "(outline_sigma) and Otsu's threshold of the timepoint as mask, the seeds in the "
            "mask labelled and grown inside it (uint32 labels); expands into 7 steps",
    .family = "voronoi",
    .convention = "clesperanto voronoi_otsu_labeling composed of lapse's gaussian_blur (SciPy's "
                  "Gaussian), detect_maxima_box (radius 0), threshold_otsu (bins: "
                  "clesperanto), binary_and, "
                  "connected_components_labeling (box) and masked_voronoi_labeling",
    .version = 1,
    .ninputs = 1,
    .nparams = 2,
    .params = {LAPSE_P_VEC3F("spot_sigma", 0, 100, "Gaussian sigma before the maxima (z, y, x)"),
               LAPSE_P_VEC3F("outline_sigma", 0, 100,
                             "Gaussian sigma before the threshold (z, y, x)")},
    .out_rule = LAPSE_OUT_U32,
    .footprint = LAPSE_FP_GLOBAL,
    .kernels = "(its steps')",
    .expand = vol_expand,
};
