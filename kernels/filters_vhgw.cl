/*
 * filters_vhgw.cl - minimum / maximum passes along one axis in time independent of the radius
 * (van Herk / Gil-Werman), for the large radii where the direct passes of filters.cl and
 * filters_tiled.cl cost O(r) per voxel. Float32 volume, dims z, y, x (C order); neighbours
 * beyond the buffer edge clamp to the edge, as in filters.cl.
 *
 * The outputs of a line are cut into segments of B = 2r+1 voxels. Every window [c-r, c+r] of a
 * segment starting at s holds the voxel p = s+r (p = n-1 when the line ends first), so its
 * extreme is op(L[c], R[c]) with L[c] the extreme of [c-r, p] (a suffix scan from p down) and
 * R[c] that of [p, c+r] (a prefix scan from p up); clamping only repeats edge voxels, which
 * changes no minimum or maximum, so the scans just stop at the edges. One work-item per
 * (segment, line): L is written into dst, then combined with R in place; about 3 operations
 * per voxel whatever r is. fmin / fmax are exact and ignore a NaN unless all are NaN, so the
 * result equals the direct passes' for every voxel (docs/kernels.md), up to the sign of a zero:
 * segments start at multiples of B in the task's buffer, so where a tile starts changes the
 * order of the folds, and fmin / fmax of -0.0 and +0.0 may return either (PoCL does: a tiled
 * result differed from the untiled one, found by review 2026-12-05). The folds here take -0.0
 * as the minimum and +0.0 as the maximum of the two zeros (lapse_vhgw_min0 / max0), whatever
 * the order.
 *
 * Work-item dimension `axis` indexes segments, the other two the line (x stays dimension 0
 * for the y and z passes, so neighbouring work-items touch neighbouring voxels).
 * axis: 0 = x, 1 = y, 2 = z. Arguments nx, ny, nz are the buffer dims.
 */
#pragma OPENCL FP_CONTRACT OFF

/* The line of this work-item, its length n, the stride between neighbours and the segment
 * [s, e) with its pivot p; returns from the kernel when the work-item is outside. */
#define LAPSE_VHGW_SETUP()                                                                         \
    const int gx = (int)get_global_id(0), gy = (int)get_global_id(1), gz = (int)get_global_id(2); \
    const int n = axis == 0 ? nx : axis == 1 ? ny : nz;                                            \
    const int seg = axis == 0 ? gx : axis == 1 ? gy : gz;                                          \
    const int x = axis == 0 ? 0 : gx, y = axis == 1 ? 0 : gy, z = axis == 2 ? 0 : gz;              \
    const int b = 2 * r + 1;                                                                       \
    if (x >= nx || y >= ny || z >= nz || seg > (n - 1) / b)                                        \
        return;                                                                                    \
    const size_t base = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + (size_t)x;             \
    const size_t stride = axis == 0 ? 1 : axis == 1 ? (size_t)nx : (size_t)nx * (size_t)ny;        \
    __global const float *in = src + base;                                                         \
    __global float *out = dst + base;                                                              \
    const int s = seg * b, e = min(s + b, n), p = min(s + r, n - 1)

/* fmin / fmax, except that of -0.0 and +0.0 the minimum is -0.0 and the maximum +0.0 (equal
 * values: their sign bits or-ed, and-ed), so a fold's result does not depend on its order. */
static inline float lapse_vhgw_min0(float a, float b)
{
    return a == b ? as_float(as_uint(a) | as_uint(b)) : fmin(a, b);
}
static inline float lapse_vhgw_max0(float a, float b)
{
    return a == b ? as_float(as_uint(a) & as_uint(b)) : fmax(a, b);
}

/* One pass: OP is lapse_vhgw_min0 or lapse_vhgw_max0. */
#define LAPSE_VHGW_BODY(OP)                                                                        \
    float m = in[(size_t)p * stride];                                                              \
    for (int j = p; j >= max(s - r, 0); j--) { /* L[c], c = j + r */                               \
        m = OP(m, in[(size_t)j * stride]);                                                         \
        if (j + r >= s && j + r < e)                                                               \
            out[(size_t)(j + r) * stride] = m;                                                     \
    }                                                                                              \
    for (int c = s; c < min(e, r); c++) /* windows clamped at 0: L[c] = extreme of [0, p] */       \
        out[(size_t)c * stride] = m;                                                               \
    m = in[(size_t)p * stride];                                                                    \
    for (int j = p; j <= min(e - 1 + r, n - 1); j++) { /* R[c], c = j - r */                       \
        m = OP(m, in[(size_t)j * stride]);                                                         \
        if (j - r >= s && j - r < e)                                                               \
            out[(size_t)(j - r) * stride] = OP(out[(size_t)(j - r) * stride], m);                  \
    }                                                                                              \
    for (int c = max(s, n - r); c < e; c++) /* windows clamped at n-1: R[c] = [p, n-1] */          \
        out[(size_t)c * stride] = OP(out[(size_t)c * stride], m)

/* Minimum pass: dst = min_{i=-r..r} src[clamp(c+i)]; src != dst. */
__kernel void lapse_vhgw_min(__global const float *src, __global float *dst, int nx, int ny,
                             int nz, int axis, int r)
{
    LAPSE_VHGW_SETUP();
    LAPSE_VHGW_BODY(lapse_vhgw_min0);
}

/* Maximum pass: dst = max_{i=-r..r} src[clamp(c+i)]; src != dst. */
__kernel void lapse_vhgw_max(__global const float *src, __global float *dst, int nx, int ny,
                             int nz, int axis, int r)
{
    LAPSE_VHGW_SETUP();
    LAPSE_VHGW_BODY(lapse_vhgw_max0);
}
