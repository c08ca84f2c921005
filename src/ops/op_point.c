/*
 * op_point.c - the voxel-wise family with a scalar: add_scalar, multiply_scalar and
 * threshold_fixed (1 where x > threshold, else 0, as a uint8 mask; NaN gives 0). float32
 * arithmetic on the device (pointwise.cl), in place when the graph allows it.
 */
#include "ops/family.h"

/* Launch kernel `base` (or its vector form base4) of pointwise.cl: dst = f(src, v). */
static lapse_status_t scalar_launch(lapse_dev_t *d, const char *base, double v,
                                    const lapse_dvol_t *in, const lapse_dvol_t *out)
{
    lapse_status_t st = LAPSE_OK;
    char name[64];
    cl_kernel k;
    cl_ulong n = lapse_dvol_voxels(in);
    cl_float fv = (cl_float)v;
    snprintf(name, sizeof name, "%s%s", base, d->simple ? "" : "4");
    LAPSE_TRY(lapse_dev_kernel(d, "pointwise.cl", name, &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, out->mem);
    LAPSE_ARG(k, 2, n);
    LAPSE_ARG(k, 3, fv);
    LAPSE_TRY(lapse_dev_launch_voxels(d, k, (size_t)n, !d->simple));
cleanup:
    return st;
}

#define SCALAR_OP(fn, kernel, EXPR)                                                                \
    static lapse_status_t fn##_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,          \
                                      const lapse_dvol_t *in, const lapse_dvol_t *out,             \
                                      const cl_mem *scratch, int *res)                             \
    {                                                                                              \
        (void)state;                                                                               \
        (void)scratch;                                                                             \
        *res = 0;                                                                                  \
        return scalar_launch(d, kernel, s->p[0].v[0], in, out);                                    \
    }                                                                                              \
    static void fn##_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)     \
    {                                                                                              \
        const double v = s->p[0].v[0];                                                             \
        for (size_t i = 0, n = lapse_ref_voxels(in[0].dim); i < n; i++) {                          \
            const double x = in[0].v[i];                                                           \
            out->v[i] = (EXPR);                                                                    \
        }                                                                                          \
    }
SCALAR_OP(add, "lapse_add_scalar", x + v)
SCALAR_OP(mul, "lapse_mul_scalar", x *v)
SCALAR_OP(thresh, "lapse_threshold", x > v ? 1.0 : 0.0)

#define POINT_COMMON                                                                               \
    .family = "point", .version = 1, .ninputs = 1, .nparams = 1, .footprint = LAPSE_FP_POINT,      \
    .inplace = 1, .kernels = "pointwise.cl"

const lapse_op_t lapse_op_add_scalar = {
    .name = "add_scalar",
    .help = "x + value",
    .convention = "NumPy float32 x + value; clesperanto add_image_and_scalar on float32 images "
                  "(on integer images it keeps their type; lapse returns float32)",
    POINT_COMMON,
    .params = {LAPSE_P_FLOAT("value", "number added to every voxel")},
    .out_rule = LAPSE_OUT_F32,
    .launch = add_launch,
    .reference = add_ref,
};

const lapse_op_t lapse_op_multiply_scalar = {
    .name = "multiply_scalar",
    .help = "x * value",
    .convention = "NumPy float32 x * value; clesperanto multiply_image_and_scalar on float32 "
                  "images (on integer images it keeps their type; lapse returns float32)",
    POINT_COMMON,
    .params = {LAPSE_P_FLOAT("value", "factor applied to every voxel")},
    .out_rule = LAPSE_OUT_F32,
    .launch = mul_launch,
    .reference = mul_ref,
};

const lapse_op_t lapse_op_threshold_fixed = {
    .name = "threshold_fixed",
    .help = "1 where x > threshold, else 0 (uint8 mask)",
    .convention = "strictly greater, like clesperanto greater_constant; NaN gives 0",
    POINT_COMMON,
    .params = {LAPSE_P_FLOAT("threshold", "voxels above it become 1")},
    .out_rule = LAPSE_OUT_U8,
    .launch = thresh_launch,
    .reference = thresh_ref,
};
