/*
 * op_math.c - the voxel-wise math family of one image: absolute, power (exponent), sqrt, clip
 * (minimum, maximum) and subtract_scalar (value). float32 on the device (math.cl), in place when
 * the graph allows it, with NumPy's float32 semantics at the edges: the square root or a
 * non-integer power of a negative number is NaN, NaN stays NaN (clip included), and clip with
 * minimum > maximum follows NumPy's rule min(max(x, minimum), maximum): every voxel becomes
 * maximum. Parameters are rounded to float32 first, as NumPy does for a float32 array.
 */
#include "ops/family.h"

lapse_status_t lapse_math_launch(lapse_dev_t *d, const char *base, const lapse_dvol_t *in,
                                 const lapse_dvol_t *out, double p, double q)
{
    lapse_status_t st = LAPSE_OK;
    char name[64];
    cl_kernel k;
    cl_ulong n = lapse_dvol_voxels(&in[0]);
    cl_float fp = (cl_float)p, fq = (cl_float)q;
    snprintf(name, sizeof name, "%s%s", base, d->simple ? "" : "4");
    LAPSE_TRY(lapse_dev_kernel(d, "math.cl", name, &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, out->mem);
    LAPSE_ARG(k, 2, n);
    LAPSE_ARG(k, 3, fp);
    LAPSE_ARG(k, 4, fq);
    LAPSE_TRY(lapse_dev_launch_voxels(d, k, (size_t)n, !d->simple));
cleanup:
    return st;
}

/* NumPy's _NPY_MAX / _NPY_MIN of clip (NaN in a propagates). */
static double np_max(double a, double b)
{
    return isnan(a) ? a : a > b ? a : b;
}

static double np_min(double a, double b)
{
    return isnan(a) ? a : a < b ? a : b;
}

/* Launcher and reference of one operation: kernel base of math.cl, EXPR of x and the step's
 * parameters p, q (each rounded to float32, as the device gets them). */
#define MATH_OP(fn, kernel, EXPR)                                                                  \
    static lapse_status_t fn##_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,          \
                                      const lapse_dvol_t *in, const lapse_dvol_t *out,             \
                                      const cl_mem *scratch, int *res)                             \
    {                                                                                              \
        (void)state;                                                                               \
        (void)scratch;                                                                             \
        *res = 0;                                                                                  \
        return lapse_math_launch(d, kernel, in, out, s->p[0].v[0], s->p[1].v[0]);                  \
    }                                                                                              \
    static void fn##_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)     \
    {                                                                                              \
        const double p = (float)s->p[0].v[0], q = (float)s->p[1].v[0];                             \
        (void)p;                                                                                   \
        (void)q;                                                                                   \
        for (size_t i = 0, n = lapse_ref_voxels(in[0].dim); i < n; i++) {                          \
            const double x = in[0].v[i];                                                           \
            out->v[i] = (EXPR);                                                                    \
        }                                                                                          \
    }
MATH_OP(abs, "lapse_abs", fabs(x))
MATH_OP(pow, "lapse_pow", pow(x, p))
MATH_OP(sqrt, "lapse_sqrt", sqrt(x))
MATH_OP(clip, "lapse_clip", np_min(np_max(x, p), q))
MATH_OP(subs, "lapse_sub_scalar", x - p)

#define MATH_COMMON                                                                                \
    .family = "math", .ninputs = 1, .footprint = LAPSE_FP_POINT, .inplace = 1,                     \
    .kernels = "math.cl", .out_rule = LAPSE_OUT_F32

const lapse_op_t lapse_op_absolute = {
    .name = "absolute",
    .help = "the absolute value of x (float32)",
    .convention = "NumPy float32 abs (NaN stays NaN); clesperanto absolute",
    MATH_COMMON,
    .version = 1,
    .nparams = 0,
    .launch = abs_launch,
    .reference = abs_ref,
};

const lapse_op_t lapse_op_power = {
    .name = "power",
    .help = "x ** exponent (float32)",
    .convention = "NumPy float32 power (OpenCL pow, within 1e-5 relative: not bit for bit; "
                  "exponents 0, +-1, 2, 3, 4, 0.5, 1.5, -0.5 by multiplications and sqrt, as "
                  "NumPy's array ** scalar does for some): a finite negative x to a non-integer "
                  "exponent is NaN, -inf to a positive one +inf and to a negative one 0 (as "
                  "np.power; NumPy's array ** 0.5 is sqrt, NaN there), 0 to a negative one inf; "
                  "clesperanto power",
    MATH_COMMON,
    .version = 2,
    .nparams = 1,
    .params = {{.key = "exponent",
                .kind = LAPSE_PARAM_FLOAT,
                .required = 1,
                .min = -16.0,
                .max = 16.0,
                .help = "the power, in [-16, 16] (beyond it float32 overflows for most data)"}},
    .launch = pow_launch,
    .reference = pow_ref,
};

const lapse_op_t lapse_op_sqrt = {
    .name = "sqrt",
    .help = "square root of x (float32; NaN for x < 0)",
    .convention = "NumPy float32 sqrt (NaN for negative x); bit for bit where the device's sqrt "
                  "is correctly rounded (CPUs, PoCL), else within 3 ulp (OpenCL 1.2); "
                  "clesperanto square_root computes the same OpenCL sqrt",
    MATH_COMMON,
    .version = 1,
    .nparams = 0,
    .launch = sqrt_launch,
    .reference = sqrt_ref,
};

const lapse_op_t lapse_op_clip = {
    .name = "clip",
    .help = "x limited to [minimum, maximum] (float32)",
    .convention = "NumPy float32 clip = min(max(x, minimum), maximum): NaN stays NaN, and with "
                  "minimum > maximum every voxel becomes maximum (NumPy's rule, not an error); "
                  "clesperanto clip",
    MATH_COMMON,
    .version = 1,
    .nparams = 2,
    .params = {LAPSE_P_FLOAT("minimum", "lower limit"),
               LAPSE_P_FLOAT("maximum", "upper limit (wins over minimum when smaller)")},
    .launch = clip_launch,
    .reference = clip_ref,
};

const lapse_op_t lapse_op_subtract_scalar = {
    .name = "subtract_scalar",
    .help = "x - value (float32)",
    .convention = "NumPy float32 x - float32(value); clesperanto add_image_and_scalar with "
                  "-value",
    MATH_COMMON,
    .version = 1,
    .nparams = 1,
    .params = {LAPSE_P_FLOAT("value", "number subtracted from every voxel")},
    .launch = subs_launch,
    .reference = subs_ref,
};
