/*
 * pointwise.cl - voxel-wise operations and the z projection of lapse, on float32 buffers of n
 * voxels (1D NDRange, one work-item per voxel), and the subtraction that ends a top-hat.
 * In-place use (src == dst) is allowed for the voxel-wise kernels.
 */
#pragma OPENCL FP_CONTRACT OFF

/* dst = src + v */
__kernel void lapse_add_scalar(__global const float *src, __global float *dst, ulong n, float v)
{
    const size_t i = get_global_id(0);
    if (i < n)
        dst[i] = src[i] + v;
}

/* dst = src * v */
__kernel void lapse_mul_scalar(__global const float *src, __global float *dst, ulong n, float v)
{
    const size_t i = get_global_id(0);
    if (i < n)
        dst[i] = src[i] * v;
}

/* dst = 1.0f where src > t, else 0.0f (NaN gives 0). */
__kernel void lapse_threshold(__global const float *src, __global float *dst, ulong n, float t)
{
    const size_t i = get_global_id(0);
    if (i < n)
        dst[i] = src[i] > t ? 1.0f : 0.0f;
}

/* dst = a - b (top-hat: a is the step's input, b its opening). */
__kernel void lapse_sub(__global const float *a, __global const float *b, __global float *dst,
                        ulong n)
{
    const size_t i = get_global_id(0);
    if (i < n)
        dst[i] = a[i] - b[i];
}

/* Maximum over z: src dims (nz, ny, nx), dst dims (1, ny, nx); 2D NDRange (x, y). z is visited
 * in order 0..nz-1 with fmax. */
__kernel void lapse_zmax(__global const float *src, __global float *dst, int nx, int ny, int nz)
{
    const int x = (int)get_global_id(0), y = (int)get_global_id(1);
    if (x >= nx || y >= ny)
        return;
    const size_t plane = (size_t)nx * (size_t)ny, i = (size_t)y * (size_t)nx + (size_t)x;
    float m = src[i];
    int z = 1;
    for (; z + 4 <= nz; z += 4) { /* four loads in flight per work-item; fmax still in z order */
        const float a = src[(size_t)z * plane + i], b = src[(size_t)(z + 1) * plane + i];
        const float c = src[(size_t)(z + 2) * plane + i], d = src[(size_t)(z + 3) * plane + i];
        m = fmax(fmax(fmax(fmax(m, a), b), c), d);
    }
    for (; z < nz; z++)
        m = fmax(m, src[(size_t)z * plane + i]);
    dst[i] = m;
}

/* Vector forms of the voxel-wise kernels (ops_cl.c uses them unless LAPSE_KERNELS=simple):
 * work-item i handles voxels 4i .. 4i+3 with one 16-byte load and store (the buffers are at
 * least 16-byte aligned); the last work-item finishes a tail of n % 4 voxels one by one. Each
 * voxel gets the same single operation as above. NDRange: ceil(n / 4). */
#define LAPSE_VEC4_KERNEL(name, EXPR)                                                              \
    __kernel void name(__global const float *src, __global float *dst, ulong n, float v)           \
    {                                                                                              \
        const size_t g = get_global_id(0), i = g * 4;                                              \
        if (i + 4 <= n) {                                                                          \
            const float4 s = ((__global const float4 *)src)[g];                                    \
            float4 d;                                                                              \
            d.x = EXPR(s.x, v);                                                                    \
            d.y = EXPR(s.y, v);                                                                    \
            d.z = EXPR(s.z, v);                                                                    \
            d.w = EXPR(s.w, v);                                                                    \
            ((__global float4 *)dst)[g] = d;                                                       \
        } else {                                                                                   \
            for (size_t j = i; j < n; j++)                                                         \
                dst[j] = EXPR(src[j], v);                                                          \
        }                                                                                          \
    }
#define LAPSE_ADD(a, v)    ((a) + (v))
#define LAPSE_MUL(a, v)    ((a) * (v))
#define LAPSE_THRESH(a, v) ((a) > (v) ? 1.0f : 0.0f)
LAPSE_VEC4_KERNEL(lapse_add_scalar4, LAPSE_ADD)
LAPSE_VEC4_KERNEL(lapse_mul_scalar4, LAPSE_MUL)
LAPSE_VEC4_KERNEL(lapse_threshold4, LAPSE_THRESH)

/* dst = a - b, 4 voxels per work-item as above. */
__kernel void lapse_sub4(__global const float *a, __global const float *b, __global float *dst,
                         ulong n)
{
    const size_t g = get_global_id(0), i = g * 4;
    if (i + 4 <= n) {
        ((__global float4 *)dst)[g] =
            ((__global const float4 *)a)[g] - ((__global const float4 *)b)[g];
    } else {
        for (size_t j = i; j < n; j++)
            dst[j] = a[j] - b[j];
    }
}
