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

/* a + t (b - a) */
static inline float geom_lerp(float a, float b, float t)
{
    return a + t * (b - a);
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

/* The tiled affine sampler through local memory: the same outputs again (bit for bit), with the
 * trilinear neighbours read from a copy of the input box the work-group's tile needs. The kernels
 * above gather from global memory: a warp's 32 outputs of a rotated row touch ~9-25 sectors per
 * load instruction, and they are bound by L1 transactions (about y 30 degrees 1.00 ms, about z
 * 1.19 ms on an H200 against 0.51 ms for a copy). Here a work-group of LAPSE_GL_X x LAPSE_GL_H
 * work-items computes a tile of 32 outputs along x, 32 along the axis ax2 (1: y, 2: z; the host
 * picks the axis x turns into, so the tile is square in the plane of the rotation and its box is
 * about (cos + sin)^2 = 1.9 times the tile at 30 degrees) and LAPSE_GL_K3 = 4 along the third:
 * 4096 outputs; each work-item computes 16 of them (4 rows along ax2, 8 apart, times 4 along the
 * third axis) at one x, so a warp is one output row (128-byte stores) and the part of the
 * position that depends on x (y) is computed once per work-item (row).
 *
 * Staging: every work-item maps the 8 corners of the tile (clipped to the result's box) with the
 * kernel's own fma formula; per input axis the box is [floor(min), ceil(max)] clipped to the
 * image [0, n - 1] (constant mode fetches nothing outside it, nearest mode clamps into it) and
 * then to the input buffer (sdim, sorg). Where it holds at most LAPSE_GL_CAP floats (36 KB) the
 * group copies it into local memory row by row (warps along x: coalesced loads), one barrier.
 * Each output then computes its position, clamping, floor and fractions exactly as
 * geom_affine_eval and reads its neighbours from the local box when they lie in it; a neighbour
 * whose fraction is 0 is not needed (GEOM_AXIS does not use it). An output whose neighbours are
 * not all in the box (float32 rounding of an interior position past a corner's, by a few ulps,
 * across an integer) and every output of a group whose box is empty or too large (scaling, big
 * angles on all three axes) reads global memory through geom_affine_eval: correct for any
 * matrix. The indices are checked before the buffer's clamp: an index in the box is inside the
 * buffer, where that clamp does nothing, so the local value is the one geom_affine_eval reads.
 * NDRange (ceil(ddim.x / X) X, ceil(n2 / (H K2)) H, ceil(n3 / K3)), n2 / n3 the extents of ax2 /
 * the third axis, local (X, H, 1). */
#define LAPSE_GL_X   32    /* work-items along x: outputs of a tile along x */
#define LAPSE_GL_H   8     /* work-items along ax2 */
#define LAPSE_GL_K2  4     /* outputs per work-item along ax2, LAPSE_GL_H apart */
#define LAPSE_GL_K3  4     /* outputs per work-item along the third axis, consecutive */
#ifndef LAPSE_GL_CAP
#define LAPSE_GL_CAP 9216 /* floats of the local box (36 KB: 6 groups per H200 SM) */
#endif
#ifndef LAPSE_GL_TRIM
#define LAPSE_GL_TRIM 0 /* tests only: voxels cut off each side of the box (global reads) */
#endif

/* One output from the local box (origin bo in global input indices, dims bd, plane bd.x bd.y):
 * 1 and *v the value geom_affine_eval gives for position (sz, sy, sx) (computed as it does), or
 * 0 (*v unset) when a neighbour it needs is not in the box (or staged is 0): the caller then
 * calls geom_affine_eval, out of its unrolled loop (the kernel's code stays small). */
static inline __attribute__((always_inline)) int
geom_local_try(__local const float *box, int staged, int4 bo, int4 bd, int bplane, int4 simg,
               float sz, float sy, float sx, int order, int clamp_mode, float *v)
{
    const float nz = (float)(simg.z - 1), ny = (float)(simg.y - 1), nx = (float)(simg.x - 1);
    if (clamp_mode) {
        sz = fmin(fmax(sz, 0.0f), nz);
        sy = fmin(fmax(sy, 0.0f), ny);
        sx = fmin(fmax(sx, 0.0f), nx);
    } else if (!(sz >= 0.0f && sz <= nz && sy >= 0.0f && sy <= ny && sx >= 0.0f && sx <= nx)) {
        *v = 0.0f;
        return 1;
    }
    const float flz = floor(sz), fly = floor(sy), flx = floor(sx);
    const float tz = sz - flz, ty = sy - fly, tx = sx - flx; /* exact */
    int z0 = (int)flz, y0 = (int)fly, x0 = (int)flx;
    if (order == 0) {
        z0 += tz >= 0.5f;
        y0 += ty >= 0.5f;
        x0 += tx >= 0.5f;
        const int lz = z0 - bo.z, ly = y0 - bo.y, lx = x0 - bo.x;
        if (!(staged && (uint)lz < (uint)bd.z && (uint)ly < (uint)bd.y && (uint)lx < (uint)bd.x))
            return 0;
        *v = box[lz * bplane + ly * bd.x + lx];
        return 1;
    }
    /* the second neighbour is index + 1 where the fraction is not 0 (the position is then below
     * n - 1, so geom_affine_eval's min(i + 1, n - 1) is i + 1), else unused */
    const int ez = tz != 0.0f, ey = ty != 0.0f, ex = tx != 0.0f;
    const int lz = z0 - bo.z, ly = y0 - bo.y, lx = x0 - bo.x;
    if (!(staged && (uint)lz < (uint)(bd.z - ez) && (uint)ly < (uint)(bd.y - ey) &&
          (uint)lx < (uint)(bd.x - ex)))
        return 0;
    __local const float *p0 = box + (lz * bplane + ly * bd.x + lx);
    __local const float *p1 = p0 + ez * bplane;
    const int dy = ey * bd.x;
#define GEOM_L_ROW(p)   GEOM_AXIS((p)[0], (p)[ex], tx)
#define GEOM_L_PLANE(p) GEOM_AXIS(GEOM_L_ROW(p), GEOM_L_ROW((p) + dy), ty)
    *v = GEOM_AXIS(GEOM_L_PLANE(p0), GEOM_L_PLANE(p1), tz);
#undef GEOM_L_PLANE
#undef GEOM_L_ROW
    return 1;
}

__kernel __attribute__((reqd_work_group_size(LAPSE_GL_X, LAPSE_GL_H, 1))) void
lapse_geom_affine_l(__global const float *restrict src, __global float *restrict dst, int4 sdim,
                    int4 sorg, int4 simg, int4 ddim, int4 dorg, float4 mz, float4 my, float4 mx,
                    int order, int clamp_mode, int ax2, __local float *box)
{
    /* box: LAPSE_GL_CAP floats of local memory, a kernel argument (the host's clSetKernelArg
     * size) so that the program of every geometry kernel builds on a device with less */
    const int lid0 = (int)get_local_id(0), lid1 = (int)get_local_id(1);
    /* the tile: first local output index t0 and last t1 per axis (clipped to the result) */
    const int n2 = LAPSE_GL_H * LAPSE_GL_K2;
    const int a2 = (int)get_group_id(1) * n2, a3 = (int)get_group_id(2) * LAPSE_GL_K3;
    const int4 t0 = (int4)((int)get_group_id(0) * LAPSE_GL_X, ax2 == 1 ? a2 : a3,
                           ax2 == 1 ? a3 : a2, 0);
    const int4 t1 = min(t0 + (int4)(LAPSE_GL_X, ax2 == 1 ? n2 : LAPSE_GL_K3,
                                    ax2 == 1 ? LAPSE_GL_K3 : n2, 1),
                        ddim) -
                    1;
    /* the box its corners' positions span, clipped to the image, then to the buffer */
    float4 lo = (float4)(INFINITY), hi = (float4)(-INFINITY);
    for (int c = 0; c < 8; c++) {
        const float fx = (float)(dorg.x + (c & 1 ? t1.x : t0.x));
        const float fy = (float)(dorg.y + (c & 2 ? t1.y : t0.y));
        const float fz = (float)(dorg.z + (c & 4 ? t1.z : t0.z));
        const float4 s = (float4)(fma(mx.x, fz, fma(mx.y, fy, fma(mx.z, fx, mx.w))),
                                  fma(my.x, fz, fma(my.y, fy, fma(my.z, fx, my.w))),
                                  fma(mz.x, fz, fma(mz.y, fy, fma(mz.z, fx, mz.w))), 0.0f);
        lo = fmin(lo, s);
        hi = fmax(hi, s);
    }
    const float4 top = convert_float4(simg - 1);
    lo = fmax(lo, 0.0f);
    hi = fmin(hi, top);
#if LAPSE_GL_TRIM
    lo += (float)LAPSE_GL_TRIM;
    hi -= (float)LAPSE_GL_TRIM;
#endif
    int staged = lo.x <= hi.x && lo.y <= hi.y && lo.z <= hi.z; /* false when empty or NaN */
    int4 bo = (int4)(0), bd = (int4)(0);
    if (staged) {
        const int4 last = (int4)(sdim.x - 1, sdim.y - 1, sdim.z - 1, 0);
        const int4 b0 = clamp(convert_int4(floor(lo)) - sorg, (int4)(0), last);
        const int4 b1 = clamp(convert_int4(ceil(hi)) - sorg, (int4)(0), last);
        bd = b1 - b0 + 1;
        bo = b0 + sorg;
        staged = bd.x <= LAPSE_GL_CAP && bd.y <= LAPSE_GL_CAP && bd.z <= LAPSE_GL_CAP &&
                 bd.x * bd.y <= LAPSE_GL_CAP && bd.x * bd.y * bd.z <= LAPSE_GL_CAP;
        if (staged) { /* the box, row by row: a warp along x */
            const int nrows = bd.y * bd.z;
            for (int row = lid1; row < nrows; row += LAPSE_GL_H) {
                const int bz = row / bd.y, by = row - bz * bd.y;
                __global const float *s =
                    src + ((size_t)(b0.z + bz) * (size_t)sdim.y + (size_t)(b0.y + by)) *
                              (size_t)sdim.x +
                    (size_t)b0.x;
                __local float *l = box + row * bd.x;
                for (int x = lid0; x < bd.x; x += LAPSE_GL_X)
                    l[x] = s[x];
            }
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const int lx = t0.x + lid0;
    if (lx >= ddim.x)
        return;
    const int bplane = bd.x * bd.y;
    /* y outer, z inner: the position's x and y parts once per work-item and row */
    const int yo = ax2 == 1 ? lid1 : 0, ys = ax2 == 1 ? LAPSE_GL_H : 1;
    const int zo = ax2 == 1 ? 0 : lid1, zs = ax2 == 1 ? 1 : LAPSE_GL_H;
    const float fx = (float)(dorg.x + lx);
    const float ux = fma(mx.z, fx, mx.w), uy = fma(my.z, fx, my.w), uz = fma(mz.z, fx, mz.w);
    uint miss = 0; /* bit i K3 + j: output (i, j) needs geom_affine_eval */
#pragma unroll
    for (int i = 0; i < LAPSE_GL_K2; i++) { /* K2 == K3: the same count either way */
        const int ly = t0.y + yo + ys * i;
        const float fy = (float)(dorg.y + ly);
        const float vx = fma(mx.y, fy, ux), vy = fma(my.y, fy, uy), vz = fma(mz.y, fy, uz);
#pragma unroll
        for (int j = 0; j < LAPSE_GL_K3; j++) {
            const int lz = t0.z + zo + zs * j;
            if (ly > t1.y || lz > t1.z)
                continue;
            const float fz = (float)(dorg.z + lz);
            float v;
            if (geom_local_try(box, staged, bo, bd, bplane, simg, fma(mz.x, fz, vz),
                               fma(my.x, fz, vy), fma(mx.x, fz, vx), order, clamp_mode, &v))
                dst[((size_t)lz * (size_t)ddim.y + (size_t)ly) * (size_t)ddim.x + (size_t)lx] = v;
            else
                miss |= 1u << (i * LAPSE_GL_K3 + j);
        }
    }
    if (miss == 0)
        return;
    const size_t plane = (size_t)sdim.x * (size_t)sdim.y;
#pragma unroll 1
    for (int b = 0; b < LAPSE_GL_K2 * LAPSE_GL_K3; b++) {
        if (!(miss >> b & 1))
            continue;
        const int ly = t0.y + yo + ys * (b / LAPSE_GL_K3), lz = t0.z + zo + zs * (b % LAPSE_GL_K3);
        dst[((size_t)lz * (size_t)ddim.y + (size_t)ly) * (size_t)ddim.x + (size_t)lx] =
            geom_affine_eval(src, sdim, sorg, simg, plane, (float)(dorg.z + lz),
                             (float)(dorg.y + ly), fx, mz, my, mx, order, clamp_mode);
    }
}
#if LAPSE_GL_K2 != LAPSE_GL_K3
#error "lapse_geom_affine_l: its loops take LAPSE_GL_K2 == LAPSE_GL_K3"
#endif

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
