/*
 * stencil.cl - the fixed 3x3x3 derivative filters of lapse (src/ops/op_stencil.c): Sobel
 * gradient magnitude, the box and diamond Laplacians and the central differences along one
 * axis. Float32 volume, dims z, y, x (C order); neighbours beyond the buffer edge clamp to the
 * edge (SciPy's mode='nearest'). An axis along which the buffer has extent 1 (z of 2-D data) is
 * not part of the stencil (its reach is 1 on every axis, so a buffer has extent 1 only where the
 * image has: the rule does not depend on the tiling). One work-item per voxel, x fastest; every
 * voxel's arithmetic is in a fixed order, so tiled == untiled bit for bit.
 */
#pragma OPENCL FP_CONTRACT OFF

#define LAPSE_ST_SETUP()                                                                           \
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);     \
    if (x >= nx || y >= ny || z >= nz)                                                             \
        return;                                                                                    \
    const size_t idx = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + (size_t)x;              \
    const int az = nz > 1, ay = ny > 1, ax = nx > 1

/* Value at (z + dz, y + dy, x + dx), clamped to the buffer. */
#define LAPSE_ST_AT(dz, dy, dx)                                                                    \
    src[((size_t)clamp(z + (dz), 0, nz - 1) * (size_t)ny + (size_t)clamp(y + (dy), 0, ny - 1)) *   \
            (size_t)nx +                                                                           \
        (size_t)clamp(x + (dx), 0, nx - 1)]

/* Sobel gradient magnitude sqrt(gx^2 + gy^2 + gz^2): g along an axis is the correlation with
 * [-1, 0, 1] along it and the smoothing [1, 2, 1] along each other axis of the stencil (SciPy's
 * sobel per axis), accumulated over the window in the order dz, dy, dx (zero weights skipped).
 * az, ay, ax: whether each axis is part of the stencil; compile-time constants at the calls
 * below (the common cases), so that the loops unroll. */
static inline __attribute__((always_inline)) float
lapse_sobel_at(__global const float *src, int nx, int ny, int nz, int x, int y, int z,
               const int az, const int ay, const int ax)
{
    float gx = 0.0f, gy = 0.0f, gz = 0.0f;
#pragma unroll
    for (int dz = -az; dz <= az; dz++) {
        const int wz = az ? 2 - abs(dz) : 1; /* smoothing weight along z */
#pragma unroll
        for (int dy = -ay; dy <= ay; dy++) {
            const int wy = ay ? 2 - abs(dy) : 1;
#pragma unroll
            for (int dx = -ax; dx <= ax; dx++) {
                const int wx = ax ? 2 - abs(dx) : 1;
                const float v = LAPSE_ST_AT(dz, dy, dx);
                if (dx != 0)
                    gx += (float)(dx * wy * wz) * v;
                if (dy != 0)
                    gy += (float)(wx * dy * wz) * v;
                if (dz != 0)
                    gz += (float)(wx * wy * dz) * v;
            }
        }
    }
    return sqrt(gx * gx + gy * gy + gz * gz);
}

__kernel void lapse_sobel(__global const float *src, __global float *dst, int nx, int ny, int nz)
{
    LAPSE_ST_SETUP();
    if (az && ay && ax) /* uniform branches: 3-D and 2-D data run unrolled bodies */
        dst[idx] = lapse_sobel_at(src, nx, ny, nz, x, y, z, 1, 1, 1);
    else if (!az && ay && ax)
        dst[idx] = lapse_sobel_at(src, nx, ny, nz, x, y, z, 0, 1, 1);
    else
        dst[idx] = lapse_sobel_at(src, nx, ny, nz, x, y, z, az, ay, ax);
}

/* Box Laplacian: the sum over the 3^k - 1 neighbours of the box (k = axes of the stencil) of
 * (neighbour - centre), in the order dz, dy, dx (axis flags as for the Sobel). */
static inline __attribute__((always_inline)) float
lapse_laplace_box_at(__global const float *src, int nx, int ny, int nz, int x, int y, int z,
                     const int az, const int ay, const int ax, const float c)
{
    float s = 0.0f;
#pragma unroll
    for (int dz = -az; dz <= az; dz++)
#pragma unroll
        for (int dy = -ay; dy <= ay; dy++)
#pragma unroll
            for (int dx = -ax; dx <= ax; dx++)
                if (dz != 0 || dy != 0 || dx != 0)
                    s += LAPSE_ST_AT(dz, dy, dx) - c;
    return s;
}

__kernel void lapse_laplace_box(__global const float *src, __global float *dst, int nx, int ny,
                                int nz)
{
    LAPSE_ST_SETUP();
    const float c = src[idx];
    if (az && ay && ax)
        dst[idx] = lapse_laplace_box_at(src, nx, ny, nz, x, y, z, 1, 1, 1, c);
    else if (!az && ay && ax)
        dst[idx] = lapse_laplace_box_at(src, nx, ny, nz, x, y, z, 0, 1, 1, c);
    else
        dst[idx] = lapse_laplace_box_at(src, nx, ny, nz, x, y, z, az, ay, ax, c);
}

/* Diamond Laplacian: the sum over the axes of the stencil, z, y, x, of the second difference
 * (previous + next) - 2 centre (SciPy's laplace). */
__kernel void lapse_laplace_diamond(__global const float *src, __global float *dst, int nx,
                                    int ny, int nz)
{
    LAPSE_ST_SETUP();
    const float c2 = 2.0f * src[idx];
    float s = 0.0f;
    if (az)
        s += (LAPSE_ST_AT(-1, 0, 0) + LAPSE_ST_AT(1, 0, 0)) - c2;
    if (ay)
        s += (LAPSE_ST_AT(0, -1, 0) + LAPSE_ST_AT(0, 1, 0)) - c2;
    if (ax)
        s += (LAPSE_ST_AT(0, 0, -1) + LAPSE_ST_AT(0, 0, 1)) - c2;
    dst[idx] = s;
}

/* Central difference along axis (0 = x, 1 = y, 2 = z): next - previous, clamped (0 on an axis
 * of extent 1). */
__kernel void lapse_gradient(__global const float *src, __global float *dst, int nx, int ny,
                             int nz, int axis)
{
    LAPSE_ST_SETUP();
    (void)az;
    (void)ay;
    (void)ax;
    const int ox = axis == 0, oy = axis == 1, oz = axis == 2;
    dst[idx] = LAPSE_ST_AT(oz, oy, ox) - LAPSE_ST_AT(-oz, -oy, -ox);
}
