/*
 * images.cl - voxel-wise operations of two images (and binary_not) of lapse, on float32 buffers
 * of n voxels: arithmetic (add_images_weighted, multiply_images, divide_images; maximum_images
 * and minimum_images with NumPy's NaN-propagating maximum / minimum), binary logic on 0/non-0
 * (binary_and / or / xor / not, giving 0/1) and mask. subtract_images uses lapse_sub of
 * pointwise.cl. Two forms of each: one voxel per work-item (the "simple" variant) and 4 voxels
 * per work-item with 16-byte loads (default; NDRange ceil(n / 4), the last work-item finishes the
 * tail one by one). Each voxel gets the same single expression in both. In-place use (dst == a)
 * is allowed. FP_CONTRACT is off, so a weighted sum is two roundings and an add, as in NumPy.
 */
#pragma OPENCL FP_CONTRACT OFF

#define LAPSE_IMG_KERNELS(name, EXPR)                                                              \
    __kernel void name(__global const float *a, __global const float *b, __global float *dst,      \
                       ulong n, float f1, float f2)                                                \
    {                                                                                              \
        const size_t i = get_global_id(0);                                                         \
        if (i < n)                                                                                 \
            dst[i] = EXPR(a[i], b[i], f1, f2);                                                     \
    }                                                                                              \
    __kernel void name##4(__global const float *a, __global const float *b, __global float *dst,   \
                          ulong n, float f1, float f2)                                             \
    {                                                                                              \
        const size_t g = get_global_id(0), i = g * 4;                                              \
        if (i + 4 <= n) {                                                                          \
            const float4 x = ((__global const float4 *)a)[g];                                      \
            const float4 y = ((__global const float4 *)b)[g];                                      \
            float4 d;                                                                              \
            d.x = EXPR(x.x, y.x, f1, f2);                                                          \
            d.y = EXPR(x.y, y.y, f1, f2);                                                          \
            d.z = EXPR(x.z, y.z, f1, f2);                                                          \
            d.w = EXPR(x.w, y.w, f1, f2);                                                          \
            ((__global float4 *)dst)[g] = d;                                                       \
        } else {                                                                                   \
            for (size_t j = i; j < n; j++)                                                         \
                dst[j] = EXPR(a[j], b[j], f1, f2);                                                 \
        }                                                                                          \
    }

/* Non-zero is true (NaN too); results are exactly 0.0f or 1.0f. */
#define LAPSE_WSUM(x, y, f1, f2) ((f1) * (x) + (f2) * (y))
#define LAPSE_MULI(x, y, f1, f2) ((x) * (y))
#define LAPSE_AND(x, y, f1, f2)  (((x) != 0.0f && (y) != 0.0f) ? 1.0f : 0.0f)
#define LAPSE_OR(x, y, f1, f2)   (((x) != 0.0f || (y) != 0.0f) ? 1.0f : 0.0f)
#define LAPSE_XOR(x, y, f1, f2)  ((((x) != 0.0f) != ((y) != 0.0f)) ? 1.0f : 0.0f)
#define LAPSE_NOT(x, y, f1, f2)  ((x) == 0.0f ? 1.0f : 0.0f)
#define LAPSE_MASK(x, y, f1, f2) ((y) != 0.0f ? (x) : 0.0f)
/* IEEE division: x / 0 is +-inf, 0 / 0 NaN, as NumPy float32. */
#define LAPSE_DIVI(x, y, f1, f2) ((x) / (y))
/* NumPy's float maximum / minimum: NaN in either propagates, and of equal values (+0 and -0)
 * the second is taken, as NumPy's vector loops do: (a > b || isnan(a)) ? a : b. */
#define LAPSE_MAXI(x, y, f1, f2) (((x) > (y) || isnan(x)) ? (x) : (y))
#define LAPSE_MINI(x, y, f1, f2) (((x) < (y) || isnan(x)) ? (x) : (y))

LAPSE_IMG_KERNELS(lapse_img_wsum, LAPSE_WSUM)
LAPSE_IMG_KERNELS(lapse_img_mul, LAPSE_MULI)
LAPSE_IMG_KERNELS(lapse_img_and, LAPSE_AND)
LAPSE_IMG_KERNELS(lapse_img_or, LAPSE_OR)
LAPSE_IMG_KERNELS(lapse_img_xor, LAPSE_XOR)
LAPSE_IMG_KERNELS(lapse_img_not, LAPSE_NOT)
LAPSE_IMG_KERNELS(lapse_img_mask, LAPSE_MASK)
LAPSE_IMG_KERNELS(lapse_img_div, LAPSE_DIVI)
LAPSE_IMG_KERNELS(lapse_img_max, LAPSE_MAXI)
LAPSE_IMG_KERNELS(lapse_img_min, LAPSE_MINI)
