/*
 * op_images.c - the family of voxel-wise operations of two images (the second from `with:`):
 * subtract_images (a - b), add_images_weighted (factor1 a + factor2 b), multiply_images (a b),
 * mask (a where b is non-zero, else 0), divide_images (a / b: inf or NaN where b is 0, as NumPy
 * float32), maximum_images and minimum_images (NumPy's maximum / minimum: NaN in either
 * propagates; of +0 and -0 the second operand, as NumPy's vector loops). float32 on the device
 * (images.cl; subtract_images uses pointwise.cl's lapse_sub, the top-hat's subtraction), NumPy
 * float32 conventions.
 */
#include "ops/family.h"

lapse_status_t lapse_img_launch(lapse_dev_t *d, const char *base, const lapse_dvol_t *in, int nin,
                                const lapse_dvol_t *out, double f1, double f2)
{
    lapse_status_t st = LAPSE_OK;
    char name[64];
    cl_kernel k;
    cl_ulong n = lapse_dvol_voxels(&in[0]);
    cl_float g1 = (cl_float)f1, g2 = (cl_float)f2;
    cl_mem b = nin > 1 ? in[1].mem : in[0].mem;
    snprintf(name, sizeof name, "%s%s", base, d->simple ? "" : "4");
    LAPSE_TRY(lapse_dev_kernel(d, "images.cl", name, &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, b);
    LAPSE_ARG(k, 2, out->mem);
    LAPSE_ARG(k, 3, n);
    LAPSE_ARG(k, 4, g1);
    LAPSE_ARG(k, 5, g2);
    LAPSE_TRY(lapse_dev_launch_voxels(d, k, (size_t)n, !d->simple));
cleanup:
    return st;
}

static lapse_status_t sub_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                 const lapse_dvol_t *in, const lapse_dvol_t *out,
                                 const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_ulong n = lapse_dvol_voxels(&in[0]);
    (void)s;
    (void)state;
    (void)scratch;
    *res = 0;
    LAPSE_TRY(
        lapse_dev_kernel(d, "pointwise.cl", d->simple ? "lapse_sub" : "lapse_sub4", &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, in[1].mem);
    LAPSE_ARG(k, 2, out->mem);
    LAPSE_ARG(k, 3, n);
    LAPSE_TRY(lapse_dev_launch_voxels(d, k, (size_t)n, !d->simple));
cleanup:
    return st;
}

static lapse_status_t wsum_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                  const lapse_dvol_t *in, const lapse_dvol_t *out,
                                  const cl_mem *scratch, int *res)
{
    (void)state;
    (void)scratch;
    *res = 0;
    return lapse_img_launch(d, "lapse_img_wsum", in, 2, out, s->p[0].v[0], s->p[1].v[0]);
}

static lapse_status_t mul_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                 const lapse_dvol_t *in, const lapse_dvol_t *out,
                                 const cl_mem *scratch, int *res)
{
    (void)s;
    (void)state;
    (void)scratch;
    *res = 0;
    return lapse_img_launch(d, "lapse_img_mul", in, 2, out, 0.0, 0.0);
}

static lapse_status_t mask_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                  const lapse_dvol_t *in, const lapse_dvol_t *out,
                                  const cl_mem *scratch, int *res)
{
    (void)s;
    (void)state;
    (void)scratch;
    *res = 0;
    return lapse_img_launch(d, "lapse_img_mask", in, 2, out, 0.0, 0.0);
}

/* The two-image kernels without parameters: divide, maximum, minimum. */
#define IMG_PLAIN(fn, kernel)                                                                      \
    static lapse_status_t fn##_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,          \
                                      const lapse_dvol_t *in, const lapse_dvol_t *out,             \
                                      const cl_mem *scratch, int *res)                             \
    {                                                                                              \
        (void)s;                                                                                   \
        (void)state;                                                                               \
        (void)scratch;                                                                             \
        *res = 0;                                                                                  \
        return lapse_img_launch(d, kernel, in, 2, out, 0.0, 0.0);                                  \
    }
IMG_PLAIN(div, "lapse_img_div")
IMG_PLAIN(max, "lapse_img_max")
IMG_PLAIN(min, "lapse_img_min")

/* References: out = EXPR of a = in[0], b = in[1], the step's parameters p0, p1. */
#define IMG_REF(fn, EXPR)                                                                          \
    static void fn##_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)     \
    {                                                                                              \
        const double p0 = s->p[0].v[0], p1 = s->p[1].v[0];                                         \
        (void)p0;                                                                                  \
        (void)p1;                                                                                  \
        for (size_t i = 0, n = lapse_ref_voxels(in[0].dim); i < n; i++) {                          \
            const double a = in[0].v[i], b = in[1].v[i];                                           \
            out->v[i] = (EXPR);                                                                    \
        }                                                                                          \
    }
IMG_REF(sub, a - b)
IMG_REF(wsum, p0 *a + p1 * b)
IMG_REF(mul, a *b)
IMG_REF(mask, b != 0.0 ? a : 0.0)
IMG_REF(div, a / b)
IMG_REF(max, (a > b || isnan(a)) ? a : b)
IMG_REF(min, (a < b || isnan(a)) ? a : b)

#define IMG_COMMON                                                                                 \
    .family = "images", .version = 1, .ninputs = 2, .footprint = LAPSE_FP_POINT, .inplace = 1

const lapse_op_t lapse_op_subtract_images = {
    .name = "subtract_images",
    .help = "x - with (float32)",
    .convention = "NumPy float32 a - b; clesperanto subtract_images",
    IMG_COMMON,
    .kernels = "pointwise.cl",
    .out_rule = LAPSE_OUT_F32,
    .launch = sub_launch,
    .reference = sub_ref,
};

const lapse_op_t lapse_op_add_images_weighted = {
    .name = "add_images_weighted",
    .kernels = "images.cl",
    .help = "factor1 * x + factor2 * with (float32)",
    .convention = "NumPy float32 f1 * a + f2 * b (two products, one sum, no fused multiply-add); "
                  "clesperanto add_images_weighted",
    IMG_COMMON,
    .nparams = 2,
    .params = {LAPSE_P_FLOAT_DEF("factor1", 1.0, "weight of the step's input"),
               LAPSE_P_FLOAT_DEF("factor2", 1.0, "weight of the with: operand")},
    .out_rule = LAPSE_OUT_F32,
    .launch = wsum_launch,
    .reference = wsum_ref,
};

const lapse_op_t lapse_op_multiply_images = {
    .name = "multiply_images",
    .kernels = "images.cl",
    .help = "x * with (float32)",
    .convention = "NumPy float32 a * b; clesperanto multiply_images",
    IMG_COMMON,
    .out_rule = LAPSE_OUT_F32,
    .launch = mul_launch,
    .reference = mul_ref,
};

const lapse_op_t lapse_op_mask = {
    .name = "mask",
    .kernels = "images.cl",
    .help = "x where with is non-zero, else 0 (dtype of x)",
    .convention = "clesperanto mask: a where b != 0 else 0",
    IMG_COMMON,
    .out_rule = LAPSE_OUT_SAME,
    .launch = mask_launch,
    .reference = mask_ref,
};

const lapse_op_t lapse_op_divide_images = {
    .name = "divide_images",
    .kernels = "images.cl",
    .help = "x / with (float32; inf or NaN where with is 0)",
    .convention = "NumPy float32 a / b (x / 0 is +-inf, 0 / 0 NaN); bit for bit where the "
                  "device's division is correctly rounded (CPUs, PoCL), else within 2.5 ulp "
                  "(OpenCL 1.2); clesperanto divide_images",
    IMG_COMMON,
    .out_rule = LAPSE_OUT_F32,
    .launch = div_launch,
    .reference = div_ref,
};

const lapse_op_t lapse_op_maximum_images = {
    .name = "maximum_images",
    .kernels = "images.cl",
    .help = "the larger of x and with (float32; NaN if either is NaN)",
    .convention = "NumPy float32 maximum(a, b) (NaN propagates, clesperanto's fmax ignores it; of "
                  "+0 and -0 the second, as NumPy's vector loops); "
                  "clesperanto maximum_images",
    IMG_COMMON,
    .out_rule = LAPSE_OUT_F32,
    .launch = max_launch,
    .reference = max_ref,
};

const lapse_op_t lapse_op_minimum_images = {
    .name = "minimum_images",
    .kernels = "images.cl",
    .help = "the smaller of x and with (float32; NaN if either is NaN)",
    .convention = "NumPy float32 minimum(a, b) (NaN propagates, clesperanto's fmin ignores it; of "
                  "+0 and -0 the second, as NumPy's vector loops); "
                  "clesperanto minimum_images",
    IMG_COMMON,
    .out_rule = LAPSE_OUT_F32,
    .launch = min_launch,
    .reference = min_ref,
};
