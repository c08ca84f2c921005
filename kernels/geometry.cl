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

/* The scatter sampler: the same outputs for maps that mix x with one other axis v (y: axv 1, or
 * z: axv 2) and copy the third axis w voxel for voxel (rotations about z or y; the host checks
 * that w's row of the matrix is exactly the identity and that x's and v's rows have no w term).
 * The gathers of lapse_geom_affine_b touch ~8 cache lines per warp load, 4 loads per output (L1
 * bound); staging the input box of a tile of outputs in local memory moves (cos + sin)^2 = 1.87
 * times the input through L2 at 30 degrees (lapse_geom_planar, reverted). Here a work-group owns
 * a block of the INPUT instead: B x B voxels of the (x, v) plane, and computes every output whose
 * source lies in it. Its tile (the block and its upper neighbours, B + 1 squared) is staged once
 * per w with coalesced loads, so each input value crosses L2 about once; the outputs it owns form
 * a rotated square, one interval per output row, written with coalesced stores (whole rows
 * meet at the interval ends).
 *
 * Ownership: output g belongs to the block holding k = floor(s) per axis, s its source position
 * (after the sampler's clamp in mode 'nearest'), k clamped into the input box: exactly one block
 * of the box's grid per output, positions outside the image in mode 'constant' (0) included. The
 * output rows' intervals are found from the rows' linear positions, widened by a margin far above
 * float32's rounding; every output in them is then tested exactly, with the positions the other
 * kernels compute, so the intervals need only contain the owned outputs. Values: the
 * interpolation of geom_affine_eval (x, then v; w's fraction is 0) from the tile, whose entries are
 * the box-clamped voxels geom_affine_eval reads: the same bits.
 *
 * A group of LAPSE_GS_WG work-items lists its nonempty rows (at most LAPSE_GS_CAP at a time,
 * in row order; more take further passes), then walks wc consecutive w of the output,
 * LAPSE_GS_S at a time: their tiles are staged together and each position (the same in every
 * plane of w) serves S outputs (a warp per row interval). NDRange (ceil(sdim.x / B) WG,
 * ceil(sdim_v / B), ceil(ddim_w / wc)), local (WG, 1, 1). */
#ifndef LAPSE_GS_B
#define LAPSE_GS_B 32 /* block side, input voxels (the host passes B, WG and S) */
#endif
#ifndef LAPSE_GS_WG
#define LAPSE_GS_WG 256 /* work-items per group */
#endif
#ifndef LAPSE_GS_S
#define LAPSE_GS_S 4 /* planes of w staged together: a position serves S outputs */
#endif
#define LAPSE_GS_P   (LAPSE_GS_B + 1)
#define LAPSE_GS_CAP 256
#define LAPSE_GS_R   ((LAPSE_GS_P * LAPSE_GS_P + LAPSE_GS_WG - 1) / LAPSE_GS_WG) /* loads/item */

/* Narrow the output x range [*lo, *hi] (relative to the row's first x) to where s0 + a t >= lim
 * (upper 0) or s0 + a t < lim (upper 1), widened by one voxel; empty: *hi = -2. */
static inline void geom_cut(float s0, float a, float lim, int upper, float *lo, float *hi)
{
    const float d = lim - s0;
    if (a == 0.0f) {
        if (upper ? !(d > 0.0f) : !(d <= 0.0f))
            *hi = -2.0f;
        return;
    }
    const float q = d / a;
    if ((a > 0.0f) == (upper != 0))
        *hi = fmin(*hi, q + 1.0f); /* a < 0, s >= lim; a > 0, s < lim: t <= q */
    else
        *lo = fmax(*lo, q - 1.0f); /* t >= q */
}

__kernel __attribute__((reqd_work_group_size(LAPSE_GS_WG, 1, 1))) void
lapse_geom_affine_s(__global const float *restrict src, __global float *restrict dst, int4 sdim,
                    int4 sorg, int4 simg, int4 ddim, int4 dorg, float4 mz, float4 my, float4 mx,
                    int order, int clamp_mode, int axv, int wc)
{
    __local float tile[LAPSE_GS_S * LAPSE_GS_P * LAPSE_GS_P];
    __local int lrow[LAPSE_GS_CAP], la[LAPSE_GS_CAP], lb[LAPSE_GS_CAP];
    __local int cnt[LAPSE_GS_WG];
    __local int nlist, lnext;
    const int lid = (int)get_local_id(0), warp = lid / 32, lane = lid % 32;
    const int bu = (int)get_group_id(0), bv = (int)get_group_id(1);
    /* the axes: u = x, v = y or z, w the other */
    const int sdv = axv == 1 ? sdim.y : sdim.z, sov = axv == 1 ? sorg.y : sorg.z;
    const int nv = axv == 1 ? simg.y : simg.z;
    const int sdw = axv == 1 ? sdim.z : sdim.y, sow = axv == 1 ? sorg.z : sorg.y;
    const int ddv = axv == 1 ? ddim.y : ddim.z, dov = axv == 1 ? dorg.y : dorg.z;
    const int ddw = axv == 1 ? ddim.z : ddim.y, dow = axv == 1 ? dorg.z : dorg.y;
    const float4 mv = axv == 1 ? my : mz;
    const size_t stv = axv == 1 ? (size_t)sdim.x : (size_t)sdim.x * (size_t)sdim.y;
    const size_t stw = axv == 1 ? (size_t)sdim.x * (size_t)sdim.y : (size_t)sdim.x;
    const size_t dtv = axv == 1 ? (size_t)ddim.x : (size_t)ddim.x * (size_t)ddim.y;
    const size_t dtw = axv == 1 ? (size_t)ddim.x * (size_t)ddim.y : (size_t)ddim.x;
    /* the block: global input voxels [k0, k1) per axis, inside the box */
    const int k0u = sorg.x + bu * LAPSE_GS_B, k1u = min(k0u + LAPSE_GS_B, sorg.x + sdim.x);
    const int k0v = sov + bv * LAPSE_GS_B, k1v = min(k0v + LAPSE_GS_B, sov + sdv);
    const float blou = (float)sorg.x, bhiu = (float)(sorg.x + sdim.x - 1);
    const float blov = (float)sov, bhiv = (float)(sov + sdv - 1);
    const float nxf = (float)(simg.x - 1), nvf = (float)(nv - 1);
    const int w0 = (int)get_group_id(2) * wc, w1 = min(w0 + wc, ddw);
    const float fw0 = (float)(dow + w0), fx0 = (float)dorg.x;

    for (int start = 0; start < ddv;) {
        /* the rows [start, ddv) in row order, a contiguous run of them per work-item */
        const int per = (ddv - start + LAPSE_GS_WG - 1) / LAPSE_GS_WG;
        const int r0 = start + lid * per, r1 = min(r0 + per, ddv);
        int c = 0;
        for (int pass = 0; pass < 2; pass++) {
            int slot = pass ? cnt[lid] - c : 0; /* exclusive prefix of the counts */
            for (int r = r0; r < r1; r++) {
                const float fv = (float)(dov + r);
                const float fz = axv == 1 ? fw0 : fv, fy = axv == 1 ? fv : fw0;
                const float su = fma(mx.x, fz, fma(mx.y, fy, fma(mx.z, fx0, mx.w)));
                const float sv = fma(mv.x, fz, fma(mv.y, fy, fma(mv.z, fx0, mv.w)));
                float lo = 0.0f, hi = (float)(ddim.x - 1);
                const float eu = 0.01f + 1e-5f * (fabs(su) + fabs(mx.z) * (float)ddim.x);
                const float ev = 0.01f + 1e-5f * (fabs(sv) + fabs(mv.z) * (float)ddim.x);
                if (k0u > sorg.x)
                    geom_cut(su, mx.z, (float)k0u - eu, 0, &lo, &hi);
                if (k1u < sorg.x + sdim.x)
                    geom_cut(su, mx.z, (float)k1u + eu, 1, &lo, &hi);
                if (k0v > sov)
                    geom_cut(sv, mv.z, (float)k0v - ev, 0, &lo, &hi);
                if (k1v < sov + sdv)
                    geom_cut(sv, mv.z, (float)k1v + ev, 1, &lo, &hi);
                const int a = (int)ceil(fmax(lo, 0.0f));
                const int b = (int)floor(fmin(hi, (float)(ddim.x - 1))) + 1;
                if (b <= a)
                    continue;
                if (!pass) {
                    c++;
                } else {
                    if (slot < LAPSE_GS_CAP) {
                        lrow[slot] = r;
                        la[slot] = a;
                        lb[slot] = b;
                    } else if (slot == LAPSE_GS_CAP) {
                        lnext = r; /* the first row left for the next round */
                    }
                    slot++;
                }
            }
            if (!pass) {
                cnt[lid] = c;
                barrier(CLK_LOCAL_MEM_FENCE);
                for (int off = 1; off < LAPSE_GS_WG; off <<= 1) { /* inclusive scan */
                    const int add = lid >= off ? cnt[lid - off] : 0;
                    barrier(CLK_LOCAL_MEM_FENCE);
                    cnt[lid] += add;
                    barrier(CLK_LOCAL_MEM_FENCE);
                }
                if (lid == LAPSE_GS_WG - 1) {
                    nlist = min(cnt[lid], LAPSE_GS_CAP);
                    lnext = ddv;
                }
                barrier(CLK_LOCAL_MEM_FENCE);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const int n = nlist, next = lnext;
        for (int lw0 = w0; n > 0 && lw0 < w1; lw0 += LAPSE_GS_S) {
            /* the block's tiles of LAPSE_GS_S planes of w, box-clamped as geom_affine_eval
             * reads them (all loads issued before the stores) */
            const int ns = min(LAPSE_GS_S, w1 - lw0);
            float reg[LAPSE_GS_S][LAPSE_GS_R];
#pragma unroll
            for (int p = 0; p < LAPSE_GS_S; p++) {
                const size_t pw = (size_t)clamp(dow + lw0 + p - sow, 0, sdw - 1) * stw;
#pragma unroll
                for (int q = 0; q < LAPSE_GS_R; q++) {
                    const int i = lid + q * LAPSE_GS_WG;
                    const int iv = i / LAPSE_GS_P, iu = i - iv * LAPSE_GS_P;
                    reg[p][q] = p < ns && i < LAPSE_GS_P * LAPSE_GS_P
                                    ? src[pw + (size_t)clamp(k0v - sov + iv, 0, sdv - 1) * stv +
                                          (size_t)clamp(k0u - sorg.x + iu, 0, sdim.x - 1)]
                                    : 0.0f;
                }
            }
#pragma unroll
            for (int p = 0; p < LAPSE_GS_S; p++)
#pragma unroll
                for (int q = 0; q < LAPSE_GS_R; q++) {
                    const int i = lid + q * LAPSE_GS_WG;
                    if (i < LAPSE_GS_P * LAPSE_GS_P)
                        tile[p * LAPSE_GS_P * LAPSE_GS_P + i] = reg[p][q];
                }
            barrier(CLK_LOCAL_MEM_FENCE);
            /* a warp per row interval; a position (the same in every plane of w) serves
             * LAPSE_GS_S outputs */
            const float fw = (float)(dow + lw0);
            for (int e = warp; e < n; e += LAPSE_GS_WG / 32) {
                const int r = lrow[e], b = lb[e];
                const float fv = (float)(dov + r);
                const float fz = axv == 1 ? fw : fv, fy = axv == 1 ? fv : fw;
                __global float *drow = dst + (size_t)lw0 * dtw + (size_t)r * dtv;
                for (int t = la[e] + lane; t < b; t += 32) {
                    const float fx = (float)(dorg.x + t);
                    float su = fma(mx.x, fz, fma(mx.y, fy, fma(mx.z, fx, mx.w)));
                    float sv = fma(mv.x, fz, fma(mv.y, fy, fma(mv.z, fx, mv.w)));
                    int inside = 1;
                    if (clamp_mode) {
                        su = fmin(fmax(su, 0.0f), nxf);
                        sv = fmin(fmax(sv, 0.0f), nvf);
                    } else {
                        inside = su >= 0.0f && su <= nxf && sv >= 0.0f && sv <= nvf;
                    }
                    const float flu = floor(su), flv = floor(sv);
                    const int ku = (int)fmin(fmax(flu, blou), bhiu);
                    const int kv = (int)fmin(fmax(flv, blov), bhiv);
                    if (ku < k0u || ku >= k1u || kv < k0v || kv >= k1v)
                        continue;                             /* another block's */
                    const float tu = su - flu, tv = sv - flv; /* exact */
                    int u0 = (int)flu - k0u, v0 = (int)flv - k0v, u1 = u0, v1 = v0;
                    if (order == 0) {
                        u0 += tu >= 0.5f;
                        v0 += tv >= 0.5f;
                    } else {
                        u1 = min((int)flu + 1, simg.x - 1) - k0u;
                        v1 = min((int)flv + 1, nv - 1) - k0v;
                    }
                    const int o00 =
                        clamp(v0, 0, LAPSE_GS_B) * LAPSE_GS_P + clamp(u0, 0, LAPSE_GS_B);
                    const int o01 =
                        clamp(v0, 0, LAPSE_GS_B) * LAPSE_GS_P + clamp(u1, 0, LAPSE_GS_B);
                    const int o10 =
                        clamp(v1, 0, LAPSE_GS_B) * LAPSE_GS_P + clamp(u0, 0, LAPSE_GS_B);
                    const int o11 =
                        clamp(v1, 0, LAPSE_GS_B) * LAPSE_GS_P + clamp(u1, 0, LAPSE_GS_B);
#pragma unroll
                    for (int p = 0; p < LAPSE_GS_S; p++) {
                        if (p < ns) {
                            __local const float *tp = tile + p * LAPSE_GS_P * LAPSE_GS_P;
                            float val = 0.0f;
                            if (inside)
                                val = order == 0 ? tp[o00]
                                                 : GEOM_AXIS(GEOM_AXIS(tp[o00], tp[o01], tu),
                                                             GEOM_AXIS(tp[o10], tp[o11], tu), tv);
                            drow[(size_t)p * dtw + t] = val;
                        }
                    }
                }
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        start = next;
        barrier(CLK_LOCAL_MEM_FENCE); /* the list is rebuilt next round */
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
