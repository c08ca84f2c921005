/*
 * op_compare.c - the comparison family: greater_constant (x > constant), smaller_constant
 * (x < constant) and equal_constant (x == constant), each a 0/1 uint8 mask. The constant is
 * rounded to float32 and compared with the float32 voxel, as NumPy compares a float32 array with
 * a Python number; a comparison with NaN is false (0). Kernels in math.cl (lapse_math_launch).
 */
#include "ops/family.h"

#define CMP_OP(fn, kernel, EXPR)                                                                   \
    static lapse_status_t fn##_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,          \
                                      const lapse_dvol_t *in, const lapse_dvol_t *out,             \
                                      const cl_mem *scratch, int *res)                             \
    {                                                                                              \
        (void)state;                                                                               \
        (void)scratch;                                                                             \
        *res = 0;                                                                                  \
        return lapse_math_launch(d, kernel, in, out, s->p[0].v[0], 0.0);                           \
    }                                                                                              \
    static void fn##_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)     \
    {                                                                                              \
        const double c = (float)s->p[0].v[0];                                                      \
        for (size_t i = 0, n = lapse_ref_voxels(in[0].dim); i < n; i++) {                          \
            const double x = in[0].v[i];                                                           \
            out->v[i] = (EXPR) ? 1.0 : 0.0;                                                        \
        }                                                                                          \
    }
CMP_OP(gt, "lapse_gt_const", x > c)
CMP_OP(lt, "lapse_lt_const", x < c)
CMP_OP(eq, "lapse_eq_const", x == c)

#define CMP_COMMON                                                                                 \
    .family = "compare", .version = 1, .ninputs = 1, .nparams = 1, .footprint = LAPSE_FP_POINT,    \
    .inplace = 1, .kernels = "math.cl", .out_rule = LAPSE_OUT_U8

const lapse_op_t lapse_op_greater_constant = {
    .name = "greater_constant",
    .help = "1 where x > constant, else 0 (uint8 mask)",
    .convention = "NumPy float32 x > float32(constant); NaN gives 0; clesperanto greater_constant",
    CMP_COMMON,
    .params = {LAPSE_P_FLOAT("constant", "voxels above it become 1")},
    .launch = gt_launch,
    .reference = gt_ref,
};

const lapse_op_t lapse_op_smaller_constant = {
    .name = "smaller_constant",
    .help = "1 where x < constant, else 0 (uint8 mask)",
    .convention = "NumPy float32 x < float32(constant); NaN gives 0; clesperanto smaller_constant",
    CMP_COMMON,
    .params = {LAPSE_P_FLOAT("constant", "voxels below it become 1")},
    .launch = lt_launch,
    .reference = lt_ref,
};

const lapse_op_t lapse_op_equal_constant = {
    .name = "equal_constant",
    .help = "1 where x == constant, else 0 (uint8 mask)",
    .convention = "NumPy float32 x == float32(constant); NaN gives 0; clesperanto equal_constant",
    CMP_COMMON,
    .params = {LAPSE_P_FLOAT("constant", "voxels equal to it become 1")},
    .launch = eq_launch,
    .reference = eq_ref,
};
