/*
 * geometry.cl - the geometric operations of lapse (src/ops/op_geometry.c): flip and crop (an
 * index map), downsample_bin (block means), and rotate, affine_transform and resample (one
 * affine sampler, linear or nearest). 3D NDRange (x, y, z) over the task's box of the result.
 *
 * Tiling: every kernel computes an output voxel from its GLOBAL index g = dorg + local index in
 * the result's image, never from offsets accumulated inside the tile, so a voxel gets the same
 * bits in every tiling. The input box's origin sorg only turns a global input index into a
 * buffer index (an exact integer subtraction). Vectors are int4 / float4 with x, y, z in
 * components 0, 1, 2 (s0 x is the fastest axis); dims of the box (sdim, ddim), its origin
 * (sorg, dorg) and the whole image (simg).
 *
 * The sampler's coordinate of axis a is s_a = fma(m_a.x, gz, fma(m_a.y, gy, fma(m_a.z, gx,
 * m_a.w))) in float32 (fma is correctly rounded, so the CPU reference computes the same bits with
 * fmaf). FP_CONTRACT is off, so every other step rounds as written.
 */
#pragma OPENCL FP_CONTRACT OFF

#define LAPSE_GEOM_VOXEL                                                                           \
    const int lx = (int)get_global_id(0), ly = (int)get_global_id(1), lz = (int)get_global_id(2); \
    if (lx >= ddim.x || ly >= ddim.y || lz >= ddim.z)                                              \
        return;                                                                                    \
    const size_t di = ((size_t)lz * (size_t)ddim.y + (size_t)ly) * (size_t)ddim.x + (size_t)lx;   \
    const int gx = dorg.x + lx, gy = dorg.y + ly, gz = dorg.z + lz

/* The buffer voxel of global input index (x, y, z), clamped into the box (a correct plan never
 * needs the clamp; it keeps a wrong one inside the buffer). */
static inline float geom_at(__global const float *src, int4 sdim, int4 sorg, int x, int y, int z)
{
    x = clamp(x - sorg.x, 0, sdim.x - 1);
    y = clamp(y - sorg.y, 0, sdim.y - 1);
    z = clamp(z - sorg.z, 0, sdim.z - 1);
    return src[((size_t)z * (size_t)sdim.y + (size_t)y) * (size_t)sdim.x + (size_t)x];
}

/* dst[g] = src[sgn * g + off] per axis (flip: sgn -1, off n - 1; crop: sgn 1, off start). */
__kernel void lapse_geom_index(__global const float *src, __global float *dst, int4 sdim, int4 sorg,
                               int4 ddim, int4 dorg, int4 sgn, int4 off)
{
    LAPSE_GEOM_VOXEL;
    dst[di] = geom_at(src, sdim, sorg, sgn.x * gx + off.x, sgn.y * gy + off.y, sgn.z * gz + off.z);
}

/* The tiled variant of lapse_geom_index (same values: a copy through the same clamped map). A
 * one-voxel work-item keeps one 4-byte load in flight, too few to cover DRAM latency (a GPU
 * needs ~16-32 KB in flight per SM); here each work-item copies LAPSE_GX_K voxels of one output
 * row, LAPSE_GX_W apart, all loads issued before the stores: work-items g, g + 1 of a warp read
 * and write consecutive voxels (coalesced lines, reversed order for a flipped x), the row
 * offsets are computed once per row and the in-row indices are 32-bit. Any work-group shape.
 * NDRange (ceil(ddim.x / (W K)) W, ddim.y, ddim.z). */
#define LAPSE_GX_W 32 /* outputs of a work-item lie W apart: a warp covers W consecutive x */
#define LAPSE_GX_K 8  /* outputs per work-item (loads in flight) */
__kernel void lapse_geom_index_t(__global const float *restrict src, __global float *restrict dst,
                                 int4 sdim, int4 sorg, int4 ddim, int4 dorg, int4 sgn, int4 off)
{
    const int g0 = (int)get_global_id(0), ly = (int)get_global_id(1), lz = (int)get_global_id(2);
    if (ly >= ddim.y || lz >= ddim.z)
        return;
    const int lx0 = (g0 / LAPSE_GX_W) * (LAPSE_GX_W * LAPSE_GX_K) + g0 % LAPSE_GX_W;
    const int iy = clamp(sgn.y * (dorg.y + ly) + off.y - sorg.y, 0, sdim.y - 1);
    const int iz = clamp(sgn.z * (dorg.z + lz) + off.z - sorg.z, 0, sdim.z - 1);
    __global const float *srow = src + ((size_t)iz * (size_t)sdim.y + (size_t)iy) * (size_t)sdim.x;
    __global float *drow = dst + ((size_t)lz * (size_t)ddim.y + (size_t)ly) * (size_t)ddim.x;
    const int xa = sgn.x * dorg.x + off.x - sorg.x; /* input x of output x lx: sgn.x lx + xa */
    float v[LAPSE_GX_K];
#pragma unroll
    for (int k = 0; k < LAPSE_GX_K; k++) {
        const int lx = lx0 + k * LAPSE_GX_W;
        v[k] = lx < ddim.x ? srow[clamp(sgn.x * lx + xa, 0, sdim.x - 1)] : 0.0f;
    }
#pragma unroll
    for (int k = 0; k < LAPSE_GX_K; k++) {
        const int lx = lx0 + k * LAPSE_GX_W;
        if (lx < ddim.x)
            drow[lx] = v[k];
    }
}

/* dst[g] = mean of the block [g * f, min(g * f + f, simg)) per axis: a float32 sum in z, y, x
 * order divided by the block's voxel count (a partial last block averages the voxels it has). */
__kernel void lapse_geom_bin(__global const float *src, __global float *dst, int4 sdim, int4 sorg,
                             int4 simg, int4 ddim, int4 dorg, int4 f)
{
    LAPSE_GEOM_VOXEL;
    const int x0 = gx * f.x, y0 = gy * f.y, z0 = gz * f.z;
    const int x1 = min(x0 + f.x, simg.x), y1 = min(y0 + f.y, simg.y), z1 = min(z0 + f.z, simg.z);
    float acc = 0.0f;
    for (int z = z0; z < z1; z++)
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                acc += geom_at(src, sdim, sorg, x, y, z);
    dst[di] = acc / (float)((x1 - x0) * (y1 - y0) * (z1 - z0));
}

/* a + t (b - a); where a is infinite, (1 - t) a + t b, SciPy's weighted sum: a + t (b - a) is
 * NaN there (inf - inf), where SciPy interpolates a's infinity (NaN only with the opposite
 * infinity or a NaN). Finite a: the same bits as before. */
static inline float geom_lerp(float a, float b, float t)
{
    return isinf(a) ? (1.0f - t) * a + t * b : a + t * (b - a);
}

/* Linear interpolation along one axis of the affine samplers: a where the fraction t is 0 (b is
 * then neither loaded nor used: a rotation about z reads one input plane per output, not two;
 * and a neighbour's inf or NaN cannot leak in through 0 * (b - a)), else geom_lerp. The simple
 * and the tiled kernels both use it: the same bits. */
#define GEOM_AXIS(a, b, t) ((t) == 0.0f ? (a) : geom_lerp((a), (b), (t)))

/* The affine sampler: dst[g] = input at s = M (gz, gy, gx, 1), rows mz, my, mx (coefficients
 * of z, y, x and the constant in x, y, z, w). clamp_mode 0: SciPy mode 'constant' (cval 0): a
 * coordinate outside [0, n - 1] on any axis gives 0; 1: mode 'nearest': coordinates clamped to
 * [0, n - 1]. order 1: trilinear (x, then y, then z); order 0: the nearest voxel, halves up
 * (SciPy's order 0). */
__kernel void lapse_geom_affine(__global const float *src, __global float *dst, int4 sdim,
                                int4 sorg, int4 simg, int4 ddim, int4 dorg, float4 mz, float4 my,
                                float4 mx, int order, int clamp_mode)
{
    LAPSE_GEOM_VOXEL;
    const float fz = (float)gz, fy = (float)gy, fx = (float)gx;
    float sz = fma(mz.x, fz, fma(mz.y, fy, fma(mz.z, fx, mz.w)));
    float sy = fma(my.x, fz, fma(my.y, fy, fma(my.z, fx, my.w)));
    float sx = fma(mx.x, fz, fma(mx.y, fy, fma(mx.z, fx, mx.w)));
    const float nz = (float)(simg.z - 1), ny = (float)(simg.y - 1), nx = (float)(simg.x - 1);
    if (clamp_mode) {
        sz = fmin(fmax(sz, 0.0f), nz);
        sy = fmin(fmax(sy, 0.0f), ny);
        sx = fmin(fmax(sx, 0.0f), nx);
    } else if (!(sz >= 0.0f && sz <= nz && sy >= 0.0f && sy <= ny && sx >= 0.0f && sx <= nx)) {
        dst[di] = 0.0f;
        return;
    }
    const float flz = floor(sz), fly = floor(sy), flx = floor(sx);
    const float tz = sz - flz, ty = sy - fly, tx = sx - flx; /* exact */
    int z0 = (int)flz, y0 = (int)fly, x0 = (int)flx;
    if (order == 0) {
        z0 += tz >= 0.5f;
        y0 += ty >= 0.5f;
        x0 += tx >= 0.5f;
        dst[di] = geom_at(src, sdim, sorg, x0, y0, z0);
        return;
    }
    const int z1 = min(z0 + 1, simg.z - 1), y1 = min(y0 + 1, simg.y - 1),
              x1 = min(x0 + 1, simg.x - 1);
    /* x, then y, then z; an axis whose fraction is 0 takes its first value as it is (GEOM_AXIS) */
#define GEOM_AT_ROW(y, z)                                                                          \
    GEOM_AXIS(geom_at(src, sdim, sorg, x0, y, z), geom_at(src, sdim, sorg, x1, y, z), tx)
#define GEOM_AT_PLANE(z) GEOM_AXIS(GEOM_AT_ROW(y0, z), GEOM_AT_ROW(y1, z), ty)
    dst[di] = GEOM_AXIS(GEOM_AT_PLANE(z0), GEOM_AT_PLANE(z1), tz);
#undef GEOM_AT_PLANE
#undef GEOM_AT_ROW
}

/* The tiled variant of lapse_geom_affine (same positions, same interpolation: the same bits).
 * The simple kernel spends ~200 instructions per voxel (measured 1.6 ms on the H200 for a
 * rotation, issue-bound): 8 calls of geom_at each clamp 3 coordinates and multiply out a 64-bit
 * index. Here the 6 clamped coordinates are computed once per voxel, the offsets within a plane
 * are 32-bit (the host checks sdim.x * sdim.y < 2^31) and each work-item computes LAPSE_GA_K
 * outputs of a row, LAPSE_GX_W apart (coalesced stores, the row's index math once, loads of all
 * of them in flight together). NDRange (ceil(ddim.x / (W K)) W, ddim.y, ddim.z). */
#define LAPSE_GA_K 4 /* outputs per work-item along x, LAPSE_GX_W apart */

/* One output of the tiled affine kernels at (fz, fy, fx) (global coordinates as floats): the
 * positions, clamping and interpolation of lapse_geom_affine, with the clamped coordinates
 * computed once and 32-bit offsets within a plane of the input box (plane = sdim.x sdim.y). */
static inline __attribute__((always_inline)) float
geom_affine_eval(__global const float *restrict src, int4 sdim, int4 sorg, int4 simg, size_t plane,
                 float fz, float fy, float fx, float4 mz, float4 my, float4 mx, int order,
                 int clamp_mode)
{
    const float nz = (float)(simg.z - 1), ny = (float)(simg.y - 1), nx = (float)(simg.x - 1);
    float sz = fma(mz.x, fz, fma(mz.y, fy, fma(mz.z, fx, mz.w)));
    float sy = fma(my.x, fz, fma(my.y, fy, fma(my.z, fx, my.w)));
    float sx = fma(mx.x, fz, fma(mx.y, fy, fma(mx.z, fx, mx.w)));
    if (clamp_mode) {
        sz = fmin(fmax(sz, 0.0f), nz);
        sy = fmin(fmax(sy, 0.0f), ny);
        sx = fmin(fmax(sx, 0.0f), nx);
    } else if (!(sz >= 0.0f && sz <= nz && sy >= 0.0f && sy <= ny && sx >= 0.0f && sx <= nx)) {
        return 0.0f;
    }
    const float flz = floor(sz), fly = floor(sy), flx = floor(sx);
    const float tz = sz - flz, ty = sy - fly, tx = sx - flx; /* exact */
    int z0 = (int)flz, y0 = (int)fly, x0 = (int)flx;
    if (order == 0) {
        z0 += tz >= 0.5f;
        y0 += ty >= 0.5f;
        x0 += tx >= 0.5f;
        return src[(size_t)clamp(z0 - sorg.z, 0, sdim.z - 1) * plane +
                   (size_t)(clamp(y0 - sorg.y, 0, sdim.y - 1) * sdim.x +
                            clamp(x0 - sorg.x, 0, sdim.x - 1))];
    }
    const int z1 = min(z0 + 1, simg.z - 1), y1 = min(y0 + 1, simg.y - 1),
              x1 = min(x0 + 1, simg.x - 1);
    __global const float *p0 = src + (size_t)clamp(z0 - sorg.z, 0, sdim.z - 1) * plane;
    __global const float *p1 = src + (size_t)clamp(z1 - sorg.z, 0, sdim.z - 1) * plane;
    const int r0 = clamp(y0 - sorg.y, 0, sdim.y - 1) * sdim.x;
    const int r1 = clamp(y1 - sorg.y, 0, sdim.y - 1) * sdim.x;
    const int c0 = clamp(x0 - sorg.x, 0, sdim.x - 1), c1 = clamp(x1 - sorg.x, 0, sdim.x - 1);
#define GEOM_P_ROW(p, r)   GEOM_AXIS(p[(r) + c0], p[(r) + c1], tx)
#define GEOM_P_PLANE(p)    GEOM_AXIS(GEOM_P_ROW(p, r0), GEOM_P_ROW(p, r1), ty)
    return GEOM_AXIS(GEOM_P_PLANE(p0), GEOM_P_PLANE(p1), tz);
#undef GEOM_P_PLANE
#undef GEOM_P_ROW
}

__kernel void lapse_geom_affine_t(__global const float *restrict src, __global float *restrict dst,
                                  int4 sdim, int4 sorg, int4 simg, int4 ddim, int4 dorg, float4 mz,
                                  float4 my, float4 mx, int order, int clamp_mode)
{
    const int g0 = (int)get_global_id(0), ly = (int)get_global_id(1), lz = (int)get_global_id(2);
    if (ly >= ddim.y || lz >= ddim.z)
        return;
    const int lx0 = (g0 / LAPSE_GX_W) * (LAPSE_GX_W * LAPSE_GA_K) + g0 % LAPSE_GX_W;
    const float fz = (float)(dorg.z + lz), fy = (float)(dorg.y + ly);
    const size_t plane = (size_t)sdim.x * (size_t)sdim.y;
    __global float *drow = dst + ((size_t)lz * (size_t)ddim.y + (size_t)ly) * (size_t)ddim.x;
    float res[LAPSE_GA_K];
#pragma unroll
    for (int k = 0; k < LAPSE_GA_K; k++) {
        const int lx = lx0 + k * LAPSE_GX_W;
        res[k] = lx < ddim.x ? geom_affine_eval(src, sdim, sorg, simg, plane, fz, fy,
                                                (float)(dorg.x + lx), mz, my, mx, order, clamp_mode)
                             : 0.0f;
    }
#pragma unroll
    for (int k = 0; k < LAPSE_GA_K; k++) {
        const int lx = lx0 + k * LAPSE_GX_W;
        if (lx < ddim.x)
            drow[lx] = res[k];
    }
}

/* The same outputs with two-dimensional warps, for maps that turn x into y or z (rotations
 * about z or y): a row-wise warp of lapse_geom_affine_t reads its 32 outputs' neighbours along a
 * slanted line across ~17 input rows (30 degrees), so a load instruction touches ~25 sectors and
 * the kernel is bound by L1 transactions (0.31 of the copy rate on an H200). Here a work-group
 * is LAPSE_GB_X x LAPSE_GB_H work-items over x and the axis ax2 (1: y, 2: z) of the output; a
 * warp is an 8 x 4 patch, whose neighbours lie in ~9 input rows. Each work-item computes
 * LAPSE_GA_K outputs along x, LAPSE_GB_X apart. NDRange (ceil(ddim.x / (X K)) X, extent of ax2
 * rounded up to H, extent of the other axis), local (X, H, 1). */
#define LAPSE_GB_X 8
#define LAPSE_GB_H 16
__kernel __attribute__((reqd_work_group_size(LAPSE_GB_X, LAPSE_GB_H, 1))) void
lapse_geom_affine_b(__global const float *restrict src, __global float *restrict dst, int4 sdim,
                    int4 sorg, int4 simg, int4 ddim, int4 dorg, float4 mz, float4 my, float4 mx,
                    int order, int clamp_mode, int ax2)
{
    const int a2 = (int)get_global_id(1), a3 = (int)get_global_id(2);
    const int ly = ax2 == 1 ? a2 : a3, lz = ax2 == 1 ? a3 : a2;
    if (ly >= ddim.y || lz >= ddim.z)
        return;
    const int lx0 = (int)get_group_id(0) * (LAPSE_GB_X * LAPSE_GA_K) + (int)get_local_id(0);
    const float fz = (float)(dorg.z + lz), fy = (float)(dorg.y + ly);
    const size_t plane = (size_t)sdim.x * (size_t)sdim.y;
    __global float *drow = dst + ((size_t)lz * (size_t)ddim.y + (size_t)ly) * (size_t)ddim.x;
    float res[LAPSE_GA_K];
#pragma unroll
    for (int k = 0; k < LAPSE_GA_K; k++) {
        const int lx = lx0 + k * LAPSE_GB_X;
        res[k] = lx < ddim.x ? geom_affine_eval(src, sdim, sorg, simg, plane, fz, fy,
                                                (float)(dorg.x + lx), mz, my, mx, order, clamp_mode)
                             : 0.0f;
    }
#pragma unroll
    for (int k = 0; k < LAPSE_GA_K; k++) {
        const int lx = lx0 + k * LAPSE_GB_X;
        if (lx < ddim.x)
            drow[lx] = res[k];
    }
}

/* Radial reslice: dst[a, z, r] = input plane z at (y, x) = (cy + cos(a) r, cx + sin(a) r), cs[a]
 * = (cos, sin) of angle a (float32, from the host's double), positions fma(cos, r, cy) and
 * fma(sin, r, cx); bilinear in the plane (x, then y), 0 where a position leaves the plane
 * (mode 'constant'). */
__kernel void lapse_geom_radial(__global const float *src, __global float *dst, int4 sdim,
                                int4 sorg, int4 simg, int4 ddim, int4 dorg,
                                __global const float2 *cs, float cy, float cx)
{
    LAPSE_GEOM_VOXEL;
    const float2 t = cs[gz];
    const float fr = (float)gx;
    const float py = fma(t.x, fr, cy), px = fma(t.y, fr, cx);
    if (!(py >= 0.0f && py <= (float)(simg.y - 1) && px >= 0.0f && px <= (float)(simg.x - 1))) {
        dst[di] = 0.0f;
        return;
    }
    const float fly = floor(py), flx = floor(px);
    const float ty = py - fly, tx = px - flx;
    const int y0 = (int)fly, x0 = (int)flx;
    const int y1 = min(y0 + 1, simg.y - 1), x1 = min(x0 + 1, simg.x - 1);
    const float c0 = geom_lerp(geom_at(src, sdim, sorg, x0, y0, gy),
                               geom_at(src, sdim, sorg, x1, y0, gy), tx);
    const float c1 = geom_lerp(geom_at(src, sdim, sorg, x0, y1, gy),
                               geom_at(src, sdim, sorg, x1, y1, gy), tx);
    dst[di] = geom_lerp(c0, c1, ty);
}
