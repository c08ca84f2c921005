/*
 * math.cl - voxel-wise operations of one image with up to two scalar parameters p, q (op_math.c
 * and op_compare.c): absolute, power, sqrt, clip, subtract_scalar and the comparisons with a
 * constant (0/1 results), on float32 buffers of n voxels. Two forms of each, as in images.cl:
 * one voxel per work-item (the "simple" variant) and 4 voxels per work-item with one 16-byte load
 * and store (default; NDRange ceil(n / 4), the last work-item finishes a tail of n % 4 voxels one
 * by one); each voxel gets the same single expression in both. In-place use (dst == src) is
 * allowed. FP_CONTRACT is off; the expressions are NumPy's float32 ones (clip: NumPy's
 * min(max(x, lo), hi) with NaN propagating, comparisons false on NaN).
 */
#pragma OPENCL FP_CONTRACT OFF

#define LAPSE_MATH_KERNELS(name, EXPR)                                                             \
    __kernel void name(__global const float *src, __global float *dst, ulong n, float p, float q)  \
    {                                                                                              \
        const size_t i = get_global_id(0);                                                         \
        if (i < n)                                                                                 \
            dst[i] = EXPR(src[i], p, q);                                                           \
    }                                                                                              \
    __kernel void name##4(__global const float *src, __global float *dst, ulong n, float p,        \
                          float q)                                                                 \
    {                                                                                              \
        const size_t g = get_global_id(0), i = g * 4;                                              \
        if (i + 4 <= n) {                                                                          \
            const float4 s = ((__global const float4 *)src)[g];                                    \
            float4 d;                                                                              \
            d.x = EXPR(s.x, p, q);                                                                 \
            d.y = EXPR(s.y, p, q);                                                                 \
            d.z = EXPR(s.z, p, q);                                                                 \
            d.w = EXPR(s.w, p, q);                                                                 \
            ((__global float4 *)dst)[g] = d;                                                       \
        } else {                                                                                   \
            for (size_t j = i; j < n; j++)                                                         \
                dst[j] = EXPR(src[j], p, q);                                                       \
        }                                                                                          \
    }

/* x ** p: pow, except for the exponents that multiplications and one square root give to within
 * a few ulp at a fraction of pow's cost (pow is compute-bound: 0.61 of the copy rate on an H200,
 * where the other voxel-wise kernels run at 1.0): 0, 1, 2, 3, 4 and -1 for every x (the same
 * special values as pow: -0, +-inf, NaN), 0.5, 1.5 and -0.5 for x > 0 (pow for the rest, whose
 * special values sqrt does not share: pow(-0, 0.5) = +0, pow(-inf, 0.5) = +inf). p is the same
 * for every work-item, so the branches do not diverge. NumPy's array ** scalar takes shortcuts
 * for -1, 0, 0.5, 1 and 2 too (its 0.5 is sqrt for every x: (-0) ** 0.5 = -0 there, +0 here,
 * as np.power and powf give). */
static inline float lapse_pow_f(float x, float p)
{
    if (p == 2.0f)
        return x * x;
    if (p == 1.0f)
        return x;
    if (p == 0.0f)
        return 1.0f;
    if (p == 3.0f)
        return (x * x) * x;
    if (p == 4.0f) {
        const float x2 = x * x;
        return x2 * x2;
    }
    if (p == -1.0f)
        return 1.0f / x;
    if (x > 0.0f) { /* +inf included: sqrt(inf) = inf */
        if (p == 0.5f)
            return sqrt(x);
        if (p == 1.5f)
            return x * sqrt(x);
        if (p == -0.5f)
            return 1.0f / sqrt(x);
    }
    return pow(x, p);
}

/* NumPy's _NPY_MAX / _NPY_MIN of clip: NaN in x propagates. */
#define LAPSE_NPMAX(a, b) (isnan(a) ? (a) : (a) > (b) ? (a) : (b))
#define LAPSE_NPMIN(a, b) (isnan(a) ? (a) : (a) < (b) ? (a) : (b))

#define LAPSE_ABS(x, p, q)  fabs(x)
#define LAPSE_POW(x, p, q)  lapse_pow_f((x), (p))
#define LAPSE_SQRT(x, p, q) sqrt(x)
#define LAPSE_CLIP(x, p, q) LAPSE_NPMIN(LAPSE_NPMAX((x), (p)), (q))
#define LAPSE_SUBS(x, p, q) ((x) - (p))
#define LAPSE_GT(x, p, q)   ((x) > (p) ? 1.0f : 0.0f)
#define LAPSE_LT(x, p, q)   ((x) < (p) ? 1.0f : 0.0f)
#define LAPSE_EQ(x, p, q)   ((x) == (p) ? 1.0f : 0.0f)

LAPSE_MATH_KERNELS(lapse_abs, LAPSE_ABS)
LAPSE_MATH_KERNELS(lapse_pow, LAPSE_POW)
LAPSE_MATH_KERNELS(lapse_sqrt, LAPSE_SQRT)
LAPSE_MATH_KERNELS(lapse_clip, LAPSE_CLIP)
LAPSE_MATH_KERNELS(lapse_sub_scalar, LAPSE_SUBS)
LAPSE_MATH_KERNELS(lapse_gt_const, LAPSE_GT)
LAPSE_MATH_KERNELS(lapse_lt_const, LAPSE_LT)
LAPSE_MATH_KERNELS(lapse_eq_const, LAPSE_EQ)
