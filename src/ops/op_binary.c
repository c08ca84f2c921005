/*
 * op_binary.c - the binary family on 0 / non-zero images: binary_and, binary_or, binary_xor
 * (two images, the second from `with:`) and binary_not (one image). Non-zero (NaN included) is
 * true; results are 0/1 uint8 masks, like clesperanto's binary_* (images.cl).
 */
#include "ops/family.h"

#define BIN_OP(fn, kernel, nin, EXPR)                                                              \
    static lapse_status_t fn##_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,          \
                                      const lapse_dvol_t *in, const lapse_dvol_t *out,             \
                                      const cl_mem *scratch, int *res)                             \
    {                                                                                              \
        (void)s;                                                                                   \
        (void)state;                                                                               \
        (void)scratch;                                                                             \
        *res = 0;                                                                                  \
        return lapse_img_launch(d, kernel, in, nin, out, 0.0, 0.0);                                \
    }                                                                                              \
    static void fn##_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)     \
    {                                                                                              \
        (void)s;                                                                                   \
        for (size_t i = 0, n = lapse_ref_voxels(in[0].dim); i < n; i++) {                          \
            const int a = in[0].v[i] != 0.0, b = nin > 1 ? in[nin - 1].v[i] != 0.0 : 0;            \
            (void)b;                                                                               \
            out->v[i] = (EXPR) ? 1.0 : 0.0;                                                        \
        }                                                                                          \
    }
BIN_OP(and, "lapse_img_and", 2, a &&b)
BIN_OP(or, "lapse_img_or", 2, a || b)
BIN_OP(xor, "lapse_img_xor", 2, a != b)
BIN_OP(not, "lapse_img_not", 1, !a)

#define BIN_COMMON                                                                                 \
    .family = "binary", .version = 1, .footprint = LAPSE_FP_POINT, .inplace = 1,                   \
    .out_rule = LAPSE_OUT_U8, .kernels = "images.cl"

const lapse_op_t lapse_op_binary_and = {
    .name = "binary_and",
    .help = "1 where x and with are both non-zero, else 0 (uint8)",
    .convention = "clesperanto binary_and (non-zero is true)",
    BIN_COMMON,
    .ninputs = 2,
    .launch = and_launch,
    .reference = and_ref,
};

const lapse_op_t lapse_op_binary_or = {
    .name = "binary_or",
    .help = "1 where x or with is non-zero, else 0 (uint8)",
    .convention = "clesperanto binary_or (non-zero is true)",
    BIN_COMMON,
    .ninputs = 2,
    .launch = or_launch,
    .reference = or_ref,
};

const lapse_op_t lapse_op_binary_xor = {
    .name = "binary_xor",
    .help = "1 where exactly one of x and with is non-zero, else 0 (uint8)",
    .convention = "clesperanto binary_xor (non-zero is true)",
    BIN_COMMON,
    .ninputs = 2,
    .launch = xor_launch,
    .reference = xor_ref,
};

const lapse_op_t lapse_op_binary_not = {
    .name = "binary_not",
    .help = "1 where x is 0, else 0 (uint8)",
    .convention = "clesperanto binary_not (non-zero is true)",
    BIN_COMMON,
    .ninputs = 1,
    .launch = not_launch,
    .reference = not_ref,
};
