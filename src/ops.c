/*
 * ops.c - the host-side table of pipeline operations (see ops.h): names, parameter specs,
 * reach (halo) rules, output dtype rules and the Gaussian weights shared with the device code.
 * Pure functions over a static table; no OpenCL, no allocation.
 */
#include "ops.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define VEC3F(k, lo, hi, h)                                                                        \
    {                                                                                              \
        (k), LAPSE_PARAM_VEC3_FLOAT, 1, 0.0, (lo), (hi), (h)                                       \
    }
#define VEC3I(k, lo, hi, h)                                                                        \
    {                                                                                              \
        (k), LAPSE_PARAM_VEC3_INT, 1, 0.0, (lo), (hi), (h)                                         \
    }
#define FLT(k, h)                                                                                  \
    {                                                                                              \
        (k), LAPSE_PARAM_FLOAT, 1, 0.0, -DBL_MAX, DBL_MAX, (h)                                     \
    }

static const lapse_op_t op_table[LAPSE_OP_COUNT] = {
    [LAPSE_OP_GAUSSIAN_BLUR] = {.id = LAPSE_OP_GAUSSIAN_BLUR,
                                .name = "gaussian_blur",
                                .help = "Gaussian smoothing (SciPy gaussian_filter, truncate 4)",
                                .nparams = 1,
                                .params = {VEC3F("sigma", 0.0, 100.0,
                                                 "standard deviation in voxels, z y x")},
                                .out_rule = LAPSE_OUT_F32},
    [LAPSE_OP_MEAN_BOX] = {.id = LAPSE_OP_MEAN_BOX,
                           .name = "mean_box",
                           .help = "mean over a (2r+1)^3 box",
                           .nparams = 1,
                           .params = {VEC3I("radius", 0.0, 1000.0, "box radius in voxels, z y x")},
                           .out_rule = LAPSE_OUT_F32},
    [LAPSE_OP_MINIMUM_BOX] = {.id = LAPSE_OP_MINIMUM_BOX,
                              .name = "minimum_box",
                              .help = "minimum over a (2r+1)^3 box (grey erosion)",
                              .nparams = 1,
                              .params = {VEC3I("radius", 0.0, 1000.0,
                                               "box radius in voxels, z y x")},
                              .out_rule = LAPSE_OUT_SAME},
    [LAPSE_OP_MAXIMUM_BOX] = {.id = LAPSE_OP_MAXIMUM_BOX,
                              .name = "maximum_box",
                              .help = "maximum over a (2r+1)^3 box (grey dilation)",
                              .nparams = 1,
                              .params = {VEC3I("radius", 0.0, 1000.0,
                                               "box radius in voxels, z y x")},
                              .out_rule = LAPSE_OUT_SAME},
    [LAPSE_OP_TOP_HAT_BOX] = {.id = LAPSE_OP_TOP_HAT_BOX,
                              .name = "top_hat_box",
                              .help = "white top-hat: x - maximum_box(minimum_box(x))",
                              .nparams = 1,
                              .params = {VEC3I("radius", 0.0, 1000.0,
                                               "box radius in voxels, z y x")},
                              .out_rule = LAPSE_OUT_SAME},
    [LAPSE_OP_ADD_SCALAR] = {.id = LAPSE_OP_ADD_SCALAR,
                             .name = "add_scalar",
                             .help = "x + value",
                             .nparams = 1,
                             .params = {FLT("value", "number added to every voxel")},
                             .out_rule = LAPSE_OUT_F32},
    [LAPSE_OP_MULTIPLY_SCALAR] = {.id = LAPSE_OP_MULTIPLY_SCALAR,
                                  .name = "multiply_scalar",
                                  .help = "x * value",
                                  .nparams = 1,
                                  .params = {FLT("value", "factor applied to every voxel")},
                                  .out_rule = LAPSE_OUT_F32},
    [LAPSE_OP_THRESHOLD_FIXED] = {.id = LAPSE_OP_THRESHOLD_FIXED,
                                  .name = "threshold_fixed",
                                  .help = "1 where x > threshold, else 0 (uint8 mask)",
                                  .nparams = 1,
                                  .params = {FLT("threshold", "voxels above it become 1")},
                                  .out_rule = LAPSE_OUT_U8},
    [LAPSE_OP_MAXIMUM_Z_PROJECTION] = {.id = LAPSE_OP_MAXIMUM_Z_PROJECTION,
                                       .name = "maximum_z_projection",
                                       .help = "maximum over z (one output plane)",
                                       .nparams = 0,
                                       .out_rule = LAPSE_OUT_SAME,
                                       .projects_z = 1},
};

const lapse_op_t *lapse_op_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (int i = 0; i < LAPSE_OP_COUNT; i++) {
        if (strcmp(op_table[i].name, name) == 0)
            return &op_table[i];
    }
    return NULL;
}

const lapse_op_t *lapse_op_get(lapse_op_id_t id)
{
    if ((int)id < 0 || id >= LAPSE_OP_COUNT)
        return NULL;
    return &op_table[id];
}

void lapse_step_init(lapse_step_t *s, const lapse_op_t *op)
{
    memset(s, 0, sizeof *s);
    s->op = op;
    if (op == NULL)
        return;
    for (int k = 0; k < op->nparams; k++) {
        for (int a = 0; a < 3; a++)
            s->p[k].v[a] = op->params[k].def;
    }
}

/* int(4*sigma + 0.5), as SciPy computes the Gaussian radius (truncate = 4.0). */
static int64_t gauss_radius(double sigma)
{
    if (!(sigma > 0.0))
        return 0;
    return (int64_t)(4.0 * sigma + 0.5);
}

void lapse_step_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = 0;
    if (s == NULL || s->op == NULL)
        return;
    for (int a = 0; a < 3; a++) {
        switch (s->op->id) {
        case LAPSE_OP_GAUSSIAN_BLUR:
            reach[a] = gauss_radius(s->p[0].v[a]);
            break;
        case LAPSE_OP_MEAN_BOX:
        case LAPSE_OP_MINIMUM_BOX:
        case LAPSE_OP_MAXIMUM_BOX:
            reach[a] = (int64_t)s->p[0].v[a];
            break;
        case LAPSE_OP_TOP_HAT_BOX:
            reach[a] = 2 * (int64_t)s->p[0].v[a];
            break;
        default:
            reach[a] = 0;
            break;
        }
    }
}

int lapse_pipeline_projection(const lapse_step_t *steps, int n)
{
    for (int k = 0; k < n; k++) {
        if (steps[k].op != NULL && steps[k].op->projects_z)
            return k;
    }
    return -1;
}

void lapse_pipeline_reach(const lapse_step_t *steps, int n, int64_t reach[3])
{
    int proj = lapse_pipeline_projection(steps, n);
    reach[0] = reach[1] = reach[2] = 0;
    for (int k = 0; k < n; k++) {
        int64_t r[3];
        lapse_step_reach(&steps[k], r);
        if (proj < 0 || k <= proj)
            reach[0] += r[0];
        reach[1] += r[1];
        reach[2] += r[2];
    }
}

lapse_dtype_t lapse_step_dtype(const lapse_step_t *steps, int k, lapse_dtype_t in_dtype)
{
    lapse_dtype_t dt = in_dtype;
    for (int i = 0; i <= k; i++) {
        if (steps[i].op == NULL)
            continue;
        switch (steps[i].op->out_rule) {
        case LAPSE_OUT_F32:
            dt = LAPSE_DT_F32;
            break;
        case LAPSE_OUT_U8:
            dt = LAPSE_DT_U8;
            break;
        case LAPSE_OUT_SAME:
            break;
        }
    }
    return dt;
}

int lapse_gauss_weights(double sigma, double *w)
{
    int r = (int)gauss_radius(sigma);
    if (r == 0) {
        w[0] = 1.0;
        return 0;
    }
    /* Same operation order as scipy.ndimage._gaussian_kernel1d: exp(-0.5 / sigma2 * x**2). */
    double c = -0.5 / (sigma * sigma), sum = 0.0;
    for (int i = 0; i <= 2 * r; i++) {
        double x = (double)(i - r);
        w[i] = exp(c * (x * x));
        sum += w[i];
    }
    for (int i = 0; i <= 2 * r; i++)
        w[i] /= sum;
    return r;
}
