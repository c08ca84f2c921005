/*
 * op_seeds.c - seeds and label growth, local operations with clesperanto's rules (CLIc
 * tier2::detect_maxima_func and tier6::dilate_labels_func, kernels of clij-opencl-kernels):
 * detect_maxima_box (a box mean of radius r, then 1 at strict local maxima of the mean over the
 * 3x3x3 neighbourhood: a plateau is no maximum) and dilate_labels (radius steps of growth into
 * the background, alternating the box and the diamond neighbourhoods; labels never overwrite
 * each other). Device: the mean passes of sep.c, then kernels/seeds.cl; only comparisons after
 * the mean, so the results are exact. The references emulate the float32 mean (the maxima are a
 * strict comparison of it) and run the growth in double.
 */
#include <math.h>
#include <string.h>

#include "ops/family.h"
#include "ops/sep.h"

/* ---------------------------------------------------------------- detect_maxima_box */

/* The mean's radius per axis (z, y, x): the parameter, 0 where the volume has extent 1 there
 * (clesperanto skips a pass along an axis of extent 1). The buffer has extent 1 exactly where the
 * timepoint has: the reach is at least 1 on every axis. */
static void maxima_radii(const lapse_step_t *s, const int64_t dim[3], int r[3])
{
    lapse_step_radii(s, r);
    for (int a = 0; a < 3; a++)
        if (dim[a] < 2)
            r[a] = 0;
}

static void maxima_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = (int64_t)s->p[0].v[a] + 1;
}

/* Run kernel `name` of seeds.cl from src into dst over dims dim. */
/* Planes per work-item of lapse_maxima_walk: seeds.cl's LAPSE_MAXIMA_ZC. */
#define MAXIMA_ZC 16

static lapse_status_t seeds_pass(lapse_dev_t *d, const char *name, cl_mem src, cl_mem dst,
                                 const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    /* lapse_maxima_walk: a work-item per column of MAXIMA_ZC planes (seeds.cl) */
    const int walk = strcmp(name, "lapse_maxima_walk") == 0;
    LAPSE_TRY(lapse_dev_kernel(d, "seeds.cl", name, &k, NULL));
    LAPSE_ARG(k, 0, src);
    LAPSE_ARG(k, 1, dst);
    LAPSE_ARG(k, 2, nx);
    LAPSE_ARG(k, 3, ny);
    LAPSE_ARG(k, 4, nz);
    LAPSE_TRY(lapse_dev_launch_3d(d, k, (size_t)nx, (size_t)ny,
                                  walk ? (size_t)(nz + MAXIMA_ZC - 1) / MAXIMA_ZC : (size_t)nz));
cleanup:
    return st;
}

/* The mean (sep.c: passes x, y, z, float32 sums times (float)(1 / (2r + 1))) into out or
 * scratch[0], then the maxima into the other buffer. With every radius 0 the maxima read the
 * input directly. */
static lapse_status_t maxima_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                    const lapse_dvol_t *in, const lapse_dvol_t *out,
                                    const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    int r[3], where = 0;
    cl_mem mean = in[0].mem;
    (void)state;
    maxima_radii(s, in[0].dim, r);
    if (r[0] || r[1] || r[2]) {
        LAPSE_TRY(lapse_sep_filter(d, LAPSE_SEP_MEAN, r, NULL, in[0].mem, out->mem, scratch[0],
                                   in[0].dim, &where));
        mean = where ? scratch[0] : out->mem;
    }
    *res = mean == out->mem ? 1 : 0;
    LAPSE_TRY(seeds_pass(d, d->simple ? "lapse_maxima" : "lapse_maxima_walk", mean,
                         *res ? scratch[0] : out->mem, in[0].dim));
cleanup:
    return st;
}

/* One float32 mean pass along axis a (0 = z) with radius r, clamped at the edges, as filters.cl's
 * lapse_sep_mean: the sum from 0.0f in the order -r..r, times (float)(1 / (2r + 1)). */
static void mean_pass_f32(const float *in, float *out, const int64_t dim[3], int a, int r)
{
    const int64_t stride[3] = {dim[1] * dim[2], dim[2], 1};
    const float scale = (float)(1.0 / (2.0 * r + 1.0));
    for (int64_t z = 0; z < dim[0]; z++)
        for (int64_t y = 0; y < dim[1]; y++)
            for (int64_t x = 0; x < dim[2]; x++) {
                const int64_t p[3] = {z, y, x}, i = z * stride[0] + y * stride[1] + x;
                float acc = 0.0f;
                for (int k = -r; k <= r; k++) {
                    int64_t j = p[a] + k;
                    j = j < 0 ? 0 : j >= dim[a] ? dim[a] - 1 : j;
                    acc += in[i + (j - p[a]) * stride[a]];
                }
                out[i] = acc * scale;
            }
}

/* Reference: the float32 mean on the host (passes x, y, z; the maxima compare it strictly, so it
 * must be the device's bits), then every voxel against its neighbours inside the volume, in
 * double (exact for float32 values). */
static void maxima_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    const int64_t *dim = in[0].dim;
    size_t n = lapse_ref_voxels(dim);
    float *a = calloc(n ? n : 1, sizeof *a), *b = calloc(n ? n : 1, sizeof *b);
    int r[3];
    if (a == NULL || b == NULL)
        abort(); /* references run in tests only */
    for (size_t i = 0; i < n; i++)
        a[i] = (float)in[0].v[i];
    maxima_radii(s, dim, r);
    for (int ax = 2; ax >= 0; ax--)
        if (r[ax] > 0) {
            mean_pass_f32(a, b, dim, ax, r[ax]);
            float *t = a;
            a = b;
            b = t;
        }
    for (int64_t z = 0; z < dim[0]; z++)
        for (int64_t y = 0; y < dim[1]; y++)
            for (int64_t x = 0; x < dim[2]; x++) {
                const size_t i = (size_t)((z * dim[1] + y) * dim[2] + x);
                const double c = a[i];
                int is = 1;
                for (int64_t dz = -1; dz <= 1; dz++)
                    for (int64_t dy = -1; dy <= 1; dy++)
                        for (int64_t dx = -1; dx <= 1; dx++) {
                            const int64_t zz = z + dz, yy = y + dy, xx = x + dx;
                            if ((dz == 0 && dy == 0 && dx == 0) || zz < 0 || yy < 0 || xx < 0 ||
                                zz >= dim[0] || yy >= dim[1] || xx >= dim[2])
                                continue;
                            if ((double)a[(zz * dim[1] + yy) * dim[2] + xx] >= c)
                                is = 0;
                        }
                out->v[i] = is ? 1.0 : 0.0;
            }
    free(a);
    free(b);
}

const lapse_op_t lapse_op_detect_maxima_box = {
    .name = "detect_maxima_box",
    .help = "1 at the strict local maxima (over the 3x3x3 neighbours) of the mean over a "
            "(2r+1)^3 box, else 0 (uint8); radius 0: of the image itself",
    .family = "seeds",
    .convention =
        "clesperanto detect_maxima_box (CLIc 2024): the box mean of radius r (float32 "
        "passes x, y, z, clamped at the edge; an axis with r = 0 or extent 1 is "
        "skipped), then 1 where the mean is greater than each of its neighbours (dz, "
        "dy, dx in -1..1) inside the image: a plateau (an equal neighbour) gives no "
        "maximum; a NaN neighbour is ignored, a NaN voxel is a maximum. The mean is "
        "the sum times float32(1/(2r+1)); clesperanto divides by 2r+1 (the last bit may differ)",
    .version = 1,
    .ninputs = 1,
    .nparams = 1,
    .params = {{.key = "radius",
                .kind = LAPSE_PARAM_VEC3_INT,
                .required = 0,
                .def = 0,
                .min = 0,
                .max = 1000,
                .help = "radius of the box mean before the maxima, z y x (0: none)"}},
    .out_rule = LAPSE_OUT_U8,
    .footprint = LAPSE_FP_LOCAL,
    .inplace = 1,
    .nscratch = 1,
    .kernels = "seeds.cl filters.cl filters_tiled.cl",
    .reach_doc = "radius + 1",
    .reach = maxima_reach,
    .launch = maxima_launch,
    .reference = maxima_ref,
};

/* ---------------------------------------------------------------- dilate_labels */

static void dilate_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = (int64_t)s->p[0].v[0];
}

/* radius growth steps, box first, between out and scratch[0] (the input is read, never
 * written unless it is out); radius 0 writes the input's labels (SEEDS_LABEL) into out. */
static lapse_status_t dilate_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                    const lapse_dvol_t *in, const lapse_dvol_t *out,
                                    const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    const int radius = (int)s->p[0].v[0];
    cl_mem cur = in[0].mem;
    (void)state;
    for (int it = 0; it < radius; it++) {
        cl_mem dst = cur == scratch[0] ? out->mem : scratch[0];
        LAPSE_TRY(seeds_pass(d, it % 2 == 0 ? "lapse_grow_box" : "lapse_grow_diamond", cur, dst,
                             in[0].dim));
        cur = dst;
    }
    if (cur == in[0].mem)
        LAPSE_TRY(seeds_pass(d, "lapse_label_values", cur, out->mem, in[0].dim));
    *res = cur == scratch[0] ? 1 : 0;
cleanup:
    return st;
}

/* Reference: the same steps in double over the whole volume, neighbours inside it. */
static void dilate_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    const int64_t *dim = in[0].dim;
    size_t n = lapse_ref_voxels(dim);
    double *a = calloc(n ? n : 1, sizeof *a), *b = calloc(n ? n : 1, sizeof *b);
    if (a == NULL || b == NULL)
        abort();
    for (size_t i = 0; i < n; i++) /* labels: truncated where >= 1, else 0 (NaN too) */
        a[i] = in[0].v[i] >= 1.0 ? trunc(in[0].v[i]) : 0.0;
    for (int it = 0; it < (int)s->p[0].v[0]; it++) {
        const int box = it % 2 == 0;
        for (int64_t z = 0; z < dim[0]; z++)
            for (int64_t y = 0; y < dim[1]; y++)
                for (int64_t x = 0; x < dim[2]; x++) {
                    const size_t i = (size_t)((z * dim[1] + y) * dim[2] + x);
                    double m = a[i];
                    if (m != 0.0) {
                        b[i] = m;
                        continue;
                    }
                    for (int64_t dz = -1; dz <= 1; dz++)
                        for (int64_t dy = -1; dy <= 1; dy++)
                            for (int64_t dx = -1; dx <= 1; dx++) {
                                const int64_t zz = z + dz, yy = y + dy, xx = x + dx;
                                const int64_t far = (dz != 0) + (dy != 0) + (dx != 0);
                                if (zz < 0 || yy < 0 || xx < 0 || zz >= dim[0] || yy >= dim[1] ||
                                    xx >= dim[2] || (!box && far > 1))
                                    continue;
                                const double v = a[(zz * dim[1] + yy) * dim[2] + xx];
                                if (v > m)
                                    m = v;
                            }
                    b[i] = m;
                }
        double *t = a;
        a = b;
        b = t;
    }
    memcpy(out->v, a, n * sizeof *a);
    free(a);
    free(b);
}

const lapse_op_t lapse_op_dilate_labels = {
    .name = "dilate_labels",
    .help = "grow labels into the background (0) by radius steps; a label never overwrites "
            "another (uint32 labels)",
    .family = "seeds",
    .convention = "clesperanto dilate_labels: radius steps of onlyzero_overwrite_maximum, the "
                  "box (26 / 8 neighbours) first, then the diamond (6 / 4), alternating; a "
                  "background voxel takes its largest neighbouring label; clesperanto stops "
                  "early when a step changes nothing, which changes no result; a voxel's label "
                  "is its value truncated where >= 1 (astype(uint32)), else 0 (background), as "
                  "in the other label operations; labels above 2^24 are not exact in float32",
    /* version 2 (2026-12-04): values are labels as in the other label operations (truncated
     * where >= 1, else 0); version 1 grew negative and NaN voxels as they were and rounded a
     * non-integer label at the output (2.7 became 3, connected_components' rule gives 2). */
    .version = 2,
    .ninputs = 1,
    .nparams = 1,
    .params = {{.key = "radius",
                .kind = LAPSE_PARAM_INT,
                .required = 1,
                .min = 0,
                .max = 1000,
                .help = "growth steps (voxels)"}},
    .out_rule = LAPSE_OUT_U32,
    .footprint = LAPSE_FP_LOCAL,
    .inplace = 1,
    .nscratch = 1,
    .kernels = "seeds.cl",
    .reach_doc = "radius",
    .reach = dilate_reach,
    .launch = dilate_launch,
    .reference = dilate_ref,
};
