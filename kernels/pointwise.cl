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
    for (int z = 1; z < nz; z++)
        m = fmax(m, src[(size_t)z * plane + i]);
    dst[i] = m;
}
