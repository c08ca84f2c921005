/*
 * op_box.c - the box filter family: mean_box, minimum_box, maximum_box over a (2r+1)^3 box and
 * the white top_hat_box = x - maximum_box(minimum_box(x)). SciPy's uniform_filter /
 * minimum_filter / maximum_filter with mode='nearest'; the mean is float32 (clesperanto returns
 * integer means for integer input). Device: separable passes or the fused kernels of sep.c;
 * the minimum, maximum and top-hat in one kernel (minmax.h) in the tiled variant where it can.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/family.h"
#include "ops/minmax.h"
#include "ops/sep.h"

static void box_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = (int64_t)s->p[0].v[a];
}

static void top_hat_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = 2 * (int64_t)s->p[0].v[a];
}

/* The minimum and maximum run in the one-pass kernel of minmax.h where it takes them (into
 * scratch[0] when the step runs in place: that kernel reads around each output); everything else,
 * and LAPSE_MM_BOX=0 (the comparison in bench/sweep_small.sh), in sep.c's kernels. Same bits. */
static lapse_status_t box_launch(lapse_dev_t *d, lapse_sep_kind_t kind, const lapse_step_t *s,
                                 const lapse_dvol_t *in, const lapse_dvol_t *out,
                                 const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    int r[3], ran = 0;
    const char *env = getenv("LAPSE_MM_BOX");
    lapse_step_radii(s, r);
    if ((kind == LAPSE_SEP_MIN || kind == LAPSE_SEP_MAX) && !(env && strcmp(env, "0") == 0)) {
        const lapse_mm_t f = {kind, 0, 0, 0};
        const int alias = out->mem == in[0].mem;
        LAPSE_TRY(
            lapse_mm_run(d, &f, r, in[0].mem, alias ? scratch[0] : out->mem, in[0].dim, &ran));
        if (ran) {
            *res = alias ? 1 : 0;
            goto cleanup;
        }
    }
    LAPSE_TRY(lapse_sep_filter(d, kind, r, NULL, in[0].mem, out->mem, scratch[0], in[0].dim, res));
cleanup:
    return st;
}

#define BOX_OP(fn, kind, refkind)                                                                  \
    static lapse_status_t fn##_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,          \
                                      const lapse_dvol_t *in, const lapse_dvol_t *out,             \
                                      const cl_mem *scratch, int *res)                             \
    {                                                                                              \
        (void)state;                                                                               \
        return box_launch(d, kind, s, in, out, scratch, res);                                      \
    }                                                                                              \
    static void fn##_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)     \
    {                                                                                              \
        lapse_ref_separable(refkind, in[0].v, out->v, in[0].dim, s->p[0].v);                       \
    }
BOX_OP(mean, LAPSE_SEP_MEAN_D, LAPSE_REF_MEAN)

/* 1 when a radius of mean_box step s exceeds LAPSE_SEP_MEAN_DOUBLE_R (that pass sums in
 * double). */
static int mean_long(const lapse_step_t *s)
{
    int r[3];
    lapse_step_radii(s, r);
    return r[0] > LAPSE_SEP_MEAN_DOUBLE_R || r[1] > LAPSE_SEP_MEAN_DOUBLE_R ||
           r[2] > LAPSE_SEP_MEAN_DOUBLE_R;
}

/* Version 2 for the long windows, summed in double since 2026-12-03 (float32 before); the
 * others keep version 1 (same results, same fingerprint). */
static int mean_version(const lapse_step_t *s)
{
    return mean_long(s) ? 2 : 1;
}

static const char *mean_extensions(const lapse_step_t *s)
{
    return mean_long(s) ? "cl_khr_fp64" : NULL;
}
BOX_OP(minimum, LAPSE_SEP_MIN, LAPSE_REF_MIN)
BOX_OP(maximum, LAPSE_SEP_MAX, LAPSE_REF_MAX)

static lapse_status_t top_hat_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                     const lapse_dvol_t *in, const lapse_dvol_t *out,
                                     const cl_mem *scratch, int *res)
{
    int r[3];
    (void)state;
    lapse_status_t st = LAPSE_OK;
    const lapse_mm_t f = {LAPSE_SEP_MIN, 1, 0, 1}; /* src - maximum(minimum(src)) */
    int ran = 0;
    lapse_step_radii(s, r);
    *res = 0;
    LAPSE_TRY(lapse_mm_pair(d, &f, r, in[0].mem, out->mem, scratch[0], in[0].dim, &ran, res));
    if (!ran)
        LAPSE_TRY(lapse_sep_top_hat(d, r, in[0].mem, out->mem, scratch[0], in[0].dim));
cleanup:
    return st;
}

static void top_hat_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    size_t n = lapse_ref_voxels(in[0].dim);
    double *open = malloc((n ? n : 1) * sizeof *open);
    if (open == NULL)
        abort();
    lapse_ref_separable(LAPSE_REF_MIN, in[0].v, open, in[0].dim, s->p[0].v);
    lapse_ref_separable(LAPSE_REF_MAX, open, out->v, in[0].dim, s->p[0].v);
    for (size_t i = 0; i < n; i++)
        out->v[i] = in[0].v[i] - out->v[i];
    free(open);
}

#define RADIUS LAPSE_P_VEC3I("radius", 0.0, 1000.0, "box radius in voxels, z y x")
#define BOX_COMMON                                                                                 \
    .family = "box", .version = 1, .ninputs = 1, .nparams = 1, .params = {RADIUS},                 \
    .footprint = LAPSE_FP_LOCAL, .nscratch = 1

const lapse_op_t lapse_op_mean_box = {
    .name = "mean_box",
    .help = "mean over a (2r+1)^3 box",
    .convention = "SciPy uniform_filter(mode='nearest'), float32 result; a NaN or infinity "
                  "affects only the windows that hold it (SciPy's running sums carry it along "
                  "the rest of the line); each axis sums its 2r+1 values in float32 up to r 64 "
                  "and in double above (numerics version 2 there; needs cl_khr_fp64): a float32 "
                  "sum drifted from SciPy by 2.8e-6 relative at r 50 and 1.3e-5 at r 200 "
                  "(uint16 nuclei, 2026-12-03). clesperanto mean_box also clamps to the edge "
                  "and sums in float32, but returns integer means for integer images (lapse: "
                  "float32, as SciPy on float input)",
    BOX_COMMON,
    .version_of = mean_version,
    .extensions_of = mean_extensions,
    .kernels = "filters.cl filters_tiled.cl",
    .inplace = 1,
    .out_rule = LAPSE_OUT_F32,
    .reach = box_reach,
    .reach_doc = "radius",
    .launch = mean_launch,
    .reference = mean_ref,
};

const lapse_op_t lapse_op_minimum_box = {
    .name = "minimum_box",
    .help = "minimum over a (2r+1)^3 box (grey erosion)",
    .convention = "SciPy minimum_filter(mode='nearest'); NaN neighbours are skipped (fmin: "
                  "NaN only where the whole window is NaN), where SciPy's result depends on "
                  "the order it meets them; clesperanto minimum_box (clamp to edge) gives the "
                  "same values",
    BOX_COMMON,
    .kernels = "filters.cl filters_tiled.cl",
    .inplace = 1,
    .out_rule = LAPSE_OUT_SAME,
    .reach = box_reach,
    .reach_doc = "radius",
    .launch = minimum_launch,
    .reference = minimum_ref,
};

const lapse_op_t lapse_op_maximum_box = {
    .name = "maximum_box",
    .help = "maximum over a (2r+1)^3 box (grey dilation)",
    .convention = "SciPy maximum_filter(mode='nearest'); NaN neighbours are skipped as in "
                  "minimum_box; clesperanto maximum_box (clamp to edge) gives the same values",
    BOX_COMMON,
    .kernels = "filters.cl filters_tiled.cl",
    .inplace = 1,
    .out_rule = LAPSE_OUT_SAME,
    .reach = box_reach,
    .reach_doc = "radius",
    .launch = maximum_launch,
    .reference = maximum_ref,
};

const lapse_op_t lapse_op_top_hat_box = {
    .name = "top_hat_box",
    .help = "white top-hat: x - maximum_box(minimum_box(x))",
    .convention = "SciPy white_tophat with a box (grey opening subtracted), mode='nearest'; "
                  "clesperanto top_hat_box is the same definition (x - maximum_box(minimum_box))",
    BOX_COMMON,
    .kernels = "filters.cl filters_tiled.cl minmax_fused.cl",
    .out_rule = LAPSE_OUT_SAME,
    .reach = top_hat_reach,
    .reach_doc = "2 radius",
    .launch = top_hat_launch,
    .reference = top_hat_ref,
};
