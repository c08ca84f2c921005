/*
 * stencil.cl - the fixed 3x3x3 derivative filters of lapse (src/ops/op_stencil.c): Sobel
 * gradient magnitude, the box and diamond Laplacians and the central differences along one
 * axis. Float32 volume, dims z, y, x (C order); neighbours beyond the buffer edge clamp to the
 * edge (SciPy's mode='nearest'). An axis along which the buffer has extent 1 (z of 2-D data) is
 * not part of the stencil (its reach is 1 on every axis, so a buffer has extent 1 only where the
 * image has: the rule does not depend on the tiling). One work-item per voxel, x fastest; every
 * voxel's arithmetic is in a fixed order, so tiled == untiled bit for bit.
 *
 * The tiled variant's kernels lapse_sobel_t, lapse_laplace_box_t and lapse_laplace_diamond_t (at
 * the end) run the same arithmetic in the same order as the simple ones (the *_v functions and
 * LAPSE_SOBEL_SEP below), so they give the same bits (NaN payloads aside: see docs/kernels.md),
 * in one of two formulations, chosen at build time by LAPSE_SW_IMPL:
 *  - 0, the local-memory walk: a work-group of LAPSE_SW_TX x LAPSE_SW_WY
 *    work-items owns TX x (RY WY) outputs of a plane and walks LAPSE_SW_KZ planes along z; per
 *    input plane the clamped tile goes to local memory once and each work-item reads the
 *    3 x (RY + 2) values of its column into a register ring of the last three planes, then
 *    evaluates its LAPSE_SW_RY outputs on the 27-value neighbourhood (*_v).
 *  - 1 (the default, with LAPSE_SW_PF=1), the strip (as lapse_box_strip of filters_tiled.cl): no local memory, no barrier; a
 *    work-item computes LAPSE_SW_YS outputs along y for its x and walks LAPSE_SW_SKZ planes
 *    along z; per input plane it issues every load of what the stencil needs first (Sobel and
 *    box: the clamped (YS + 2) x 3 neighbourhood; diamond: the YS + 2 centres and the x
 *    neighbours of the YS rows; the re-reads of neighbours hit L1), runs the x and y parts of
 *    the separable arithmetic in registers and keeps per output the partial results of the
 *    planes that the z part still needs. Work-groups of LAPSE_SW_STX x LAPSE_SW_STY;
 *    LAPSE_SW_PF=1 issues the next plane's loads before this plane's arithmetic.
 * On an H200 (1 GiB float32, docs/benchmarks.md run J) the strip with PF took sobel 0.84,
 * laplace_box 0.76, laplace_diamond 0.75 ms against 1.63, 1.55, 0.95 for the walk.
 * Every geometry constant of the tiled kernels is a tunable: define it in the program's build
 * options to override (bench_kernels --defines "-DLAPSE_SW_IMPL=1 -DLAPSE_SW_YS=4"); the host
 * reads the values in use back through lapse_stencil_geometry, so host and kernels never
 * disagree.
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
 * sobel per axis), computed separably: along x each row's difference (r - l) and smoothing
 * ((l + 2 c) + r), along y each plane's, then along z (axes outside the stencil contribute their
 * centre only, and no gradient). Each difference adds 0 x its centre first, as SciPy's
 * correlate1d does with the weight 0: a NaN or infinity there makes it NaN, as in SciPy (and
 * the double reference). Both variants evaluate this one body (GET reads neighbour
 * (dz, dy, dx)), so their bits agree. az, ay, ax: whether each axis is part of the stencil;
 * compile-time constants at the calls below (the common cases), so that the loops unroll. */
#define LAPSE_SOBEL_SEP(GET)                                                                       \
    /* rows along x: the difference d and the smoothing sm; planes along y; then z */          \
    float gx = 0.0f, gy = 0.0f, gz = 0.0f, px[3], py[3], ps[3];                                  \
    _Pragma("unroll") for (int dz = -1; dz <= 1; dz++) {                                          \
        float rd[3], rs[3];                                                                        \
        if (dz != 0 && !az)                                                                        \
            continue;                                                                              \
        _Pragma("unroll") for (int dy = -1; dy <= 1; dy++) {                                      \
            if (dy != 0 && !ay)                                                                    \
                continue;                                                                          \
            const float c0 = GET(dz, dy, 0);                                                       \
            if (ax) {                                                                              \
                const float l = GET(dz, dy, -1), r = GET(dz, dy, 1);                               \
                rd[dy + 1] = 0.0f * c0 + (r - l);                                                  \
                rs[dy + 1] = (l + 2.0f * c0) + r;                                                  \
            } else {                                                                               \
                rd[dy + 1] = 0.0f;                                                                 \
                rs[dy + 1] = c0;                                                                   \
            }                                                                                      \
        }                                                                                          \
        if (ay) {                                                                                  \
            px[dz + 1] = (rd[0] + 2.0f * rd[1]) + rd[2];                                           \
            py[dz + 1] = 0.0f * rs[1] + (rs[2] - rs[0]);                                           \
            ps[dz + 1] = (rs[0] + 2.0f * rs[1]) + rs[2];                                           \
        } else {                                                                                   \
            px[dz + 1] = rd[1];                                                                    \
            py[dz + 1] = 0.0f;                                                                     \
            ps[dz + 1] = rs[1];                                                                    \
        }                                                                                          \
    }                                                                                              \
    if (az) {                                                                                      \
        gx = (px[0] + 2.0f * px[1]) + px[2];                                                       \
        gy = (py[0] + 2.0f * py[1]) + py[2];                                                       \
        gz = 0.0f * ps[1] + (ps[2] - ps[0]);                                                       \
    } else {                                                                                       \
        gx = px[1];                                                                                \
        gy = py[1];                                                                                \
    }                                                                                              \
    return sqrt(gx * gx + gy * gy + gz * gz)


#define LAPSE_ST_GET_G(dz, dy, dx) LAPSE_ST_AT(dz, dy, dx)
static inline __attribute__((always_inline)) float
lapse_sobel_at(__global const float *src, int nx, int ny, int nz, int x, int y, int z,
               const int az, const int ay, const int ax)
{
    LAPSE_SOBEL_SEP(LAPSE_ST_GET_G);
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
 * (neighbour - centre), computed as the box sum minus 3^k centres: the rows along x summed
 * first ((l + c) + r), then the rows of a plane in y order, then the planes in z order (axis
 * flags as for the Sobel; the tiled variant sums in the same order, so the bits agree and the
 * rows shared by neighbouring outputs are summed once). */
static inline __attribute__((always_inline)) float
lapse_laplace_box_at(__global const float *src, int nx, int ny, int nz, int x, int y, int z,
                     const int az, const int ay, const int ax, const float c)
{
    float s = 0.0f;
    int k = 1;
#pragma unroll
    for (int dz = -az; dz <= az; dz++) {
        float p = 0.0f;
#pragma unroll
        for (int dy = -ay; dy <= ay; dy++) {
            float r = ax ? (LAPSE_ST_AT(dz, dy, -1) + LAPSE_ST_AT(dz, dy, 0)) + LAPSE_ST_AT(dz, dy, 1)
                         : LAPSE_ST_AT(dz, dy, 0);
            p = dy == -ay ? r : p + r;
        }
        s = dz == -az ? p : s + p;
    }
    k = (az ? 3 : 1) * (ay ? 3 : 1) * (ax ? 3 : 1);
    return s - (float)k * c;
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

/* Central difference along axis (0 = x, 1 = y, 2 = z): 0 x centre + (next - previous), clamped (0
 * on an axis of extent 1): SciPy's correlate1d with [-1, 0, 1], whose 0 x NaN or 0 x infinity at
 * the centre is NaN. */
__kernel void lapse_gradient(__global const float *src, __global float *dst, int nx, int ny,
                             int nz, int axis)
{
    LAPSE_ST_SETUP();
    (void)az;
    (void)ay;
    (void)ax;
    const int ox = axis == 0, oy = axis == 1, oz = axis == 2;
    dst[idx] = 0.0f * LAPSE_ST_AT(0, 0, 0) + (LAPSE_ST_AT(oz, oy, ox) - LAPSE_ST_AT(-oz, -oy, -ox));
}

/* ------------------------------------------------------------------------------ tiled variant */

/* Index of neighbour (dz, dy, dx) in v[27]. */
#define LAPSE_ST_I(dz, dy, dx) (((dz) + 1) * 9 + ((dy) + 1) * 3 + (dx) + 1)

/* The tiled variant's arithmetic of lapse_sobel_at, lapse_laplace_box_at and
 * lapse_laplace_diamond on the neighbourhood v[27] (index (dz + 1) 9 + (dy + 1) 3 + dx + 1;
 * neighbours of axes outside the stencil are not read): the same operations in the same order.
 * The loops have literal bounds (unrolled before inlining) and skip what is not in the stencil. */
#define LAPSE_ST_GET_V(dz, dy, dx) v[LAPSE_ST_I(dz, dy, dx)]
static inline __attribute__((always_inline)) float lapse_sobel_v(const float *v, const int az,
                                                                 const int ay, const int ax)
{
    LAPSE_SOBEL_SEP(LAPSE_ST_GET_V);
}

static inline __attribute__((always_inline)) float
lapse_laplace_box_v(const float *v, const int az, const int ay, const int ax)
{
    const float c = v[LAPSE_ST_I(0, 0, 0)];
    float s = 0.0f;
#pragma unroll
    for (int dz = -1; dz <= 1; dz++) {
        if (dz != 0 && !az)
            continue;
        float p = 0.0f;
#pragma unroll
        for (int dy = -1; dy <= 1; dy++) {
            if (dy != 0 && !ay)
                continue;
            float r = ax ? (v[LAPSE_ST_I(dz, dy, -1)] + v[LAPSE_ST_I(dz, dy, 0)]) +
                               v[LAPSE_ST_I(dz, dy, 1)]
                         : v[LAPSE_ST_I(dz, dy, 0)];
            p = dy == -ay ? r : p + r;
        }
        s = dz == -az ? p : s + p;
    }
    const int k = (az ? 3 : 1) * (ay ? 3 : 1) * (ax ? 3 : 1);
    return s - (float)k * c;
}

static inline __attribute__((always_inline)) float
lapse_laplace_diamond_v(const float *v, const int az, const int ay, const int ax)
{
    const float c2 = 2.0f * v[LAPSE_ST_I(0, 0, 0)];
    float s = 0.0f;
    if (az)
        s += (v[LAPSE_ST_I(-1, 0, 0)] + v[LAPSE_ST_I(1, 0, 0)]) - c2;
    if (ay)
        s += (v[LAPSE_ST_I(0, -1, 0)] + v[LAPSE_ST_I(0, 1, 0)]) - c2;
    if (ax)
        s += (v[LAPSE_ST_I(0, 0, -1)] + v[LAPSE_ST_I(0, 0, 1)]) - c2;
    return s;
}

/* Stencil kind k (0 Sobel, 1 box Laplacian, 2 diamond Laplacian) of v. */
static inline __attribute__((always_inline)) float lapse_st_eval(const int k, const float *v,
                                                                 const int az, const int ay,
                                                                 const int ax)
{
    return k == 0   ? lapse_sobel_v(v, az, ay, ax)
           : k == 1 ? lapse_laplace_box_v(v, az, ay, ax)
                    : lapse_laplace_diamond_v(v, az, ay, ax);
}

/* A work-group of LAPSE_SW_NT work-items owns a column of TX x TY outputs and walks LAPSE_SW_KZ
 * output planes along z. Per input plane the clamped (TY + 2) x (TX + 2) tile goes to local
 * memory once (double buffered: one barrier per plane; the global loads run two planes ahead,
 * so that every work-item keeps about 2 x 5 loads in flight); each work-item reads the 3 x (RY +
 * 2) values of its column x and rows from it into a register ring of the last three planes and
 * evaluates its RY outputs of the plane behind. The central differences run 8 outputs per
 * work-item, 32 apart along x (coalesced, 16 loads in flight; the neighbours' re-reads hit L1 /
 * L2). The tiled stencils need x and y in the stencil (nx, ny > 1: the host checks). */
#ifndef LAPSE_SW_IMPL
#define LAPSE_SW_IMPL 1 /* 0: the local-memory walk, 1: the strip (registers + L1) */
#endif
#ifndef LAPSE_SW_TX
#define LAPSE_SW_TX 64 /* outputs per work-group along x = work-items per row */
#endif
#ifndef LAPSE_SW_RY
#define LAPSE_SW_RY 2 /* outputs per work-item along y (registers: 4 took ~160) */
#endif
#ifndef LAPSE_SW_WY
#define LAPSE_SW_WY 4 /* rows of work-items */
#endif
#ifndef LAPSE_SW_KZ
#define LAPSE_SW_KZ 32 /* output planes per work-group */
#endif
#define LAPSE_SW_TY (LAPSE_SW_RY * LAPSE_SW_WY)
#define LAPSE_SW_NT (LAPSE_SW_TX * LAPSE_SW_WY)
#define LAPSE_SW_W  (LAPSE_SW_TX + 2) /* tile row (local memory pitch) */
#define LAPSE_SW_H  (LAPSE_SW_TY + 2)
#define LAPSE_SW_NL ((LAPSE_SW_W * LAPSE_SW_H + LAPSE_SW_NT - 1) / LAPSE_SW_NT)

/* This work-item's tile values of plane zc into pre (plane offsets goff, -1 for none). */
static inline __attribute__((always_inline)) void
lapse_sw_fetch(float *pre, const int *goff, __global const float *restrict src, int zc,
               size_t plane)
{
    __global const float *s = src + (size_t)zc * plane;
#pragma unroll
    for (int j = 0; j < LAPSE_SW_NL; j++)
        if (goff[j] >= 0)
            pre[j] = s[goff[j]];
}

/* One step of the walk of lapse_sw_walk: plane p0 + s (its values in pre) into the tile buffer
 * t, the fetch of plane p0 + s + 2 into pre, the ring w advanced, and once it holds three
 * planes (az = 1; one for az = 0) this work-item's outputs of plane p0 + s - az. */
static inline __attribute__((always_inline)) void
lapse_sw_step(__global const float *restrict src, __global float *restrict dst, int nx, int ny,
              int nz, const int kind, const int az, int s, int nsteps, int p0, int x0, int y0,
              int z0, int lx, int ly, size_t plane, const int *goff, float *pre, __local float *t,
              float (*w)[LAPSE_SW_RY + 2][3])
{
    const int p = p0 + s, x = x0 + lx;
    const int live = s < nsteps && p - az < nz; /* uniform */
    if (live) {
#pragma unroll
        for (int j = 0; j < LAPSE_SW_NL; j++)
            if (goff[j] >= 0)
                t[(int)get_local_id(0) + LAPSE_SW_NT * j] = pre[j];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (live && s + 2 < nsteps)
        lapse_sw_fetch(pre, goff, src, clamp(p + 2, 0, nz - 1), plane);
    if (live) {
#pragma unroll
        for (int r = 0; r < LAPSE_SW_RY + 2; r++)
#pragma unroll
            for (int c = 0; c < 3; c++) {
                w[0][r][c] = w[1][r][c];
                w[1][r][c] = w[2][r][c];
                w[2][r][c] = t[(ly * LAPSE_SW_RY + r) * LAPSE_SW_W + lx + c];
            }
    }
    const int z = p - az;
    if (live && s >= 2 * az && z >= z0 && z < nz && x < nx) {
#pragma unroll
        for (int j = 0; j < LAPSE_SW_RY; j++) {
            const int y = y0 + ly * LAPSE_SW_RY + j;
            float v[27];
#pragma unroll
            for (int dz = -1; dz <= 1; dz++)
#pragma unroll
                for (int dy = -1; dy <= 1; dy++)
#pragma unroll
                    for (int dx = -1; dx <= 1; dx++)
                        v[LAPSE_ST_I(dz, dy, dx)] =
                            dz == 0 || az ? w[dz + 2 - az][j + dy + 1][dx + 1] : 0.0f;
            if (y < ny)
                dst[(size_t)z * plane + (size_t)y * (size_t)nx + (size_t)x] =
                    lapse_st_eval(kind, v, az, 1, 1);
        }
    }
}

/* The walk of one work-group for stencil kind with the z axis in the stencil (az = 1) or not
 * (az = 0: nz == 1); kind and az are literals at the calls. NDRange (ceil(nx / TX) NT,
 * ceil(ny / TY), ceil(nz / KZ)), local (NT, 1, 1). */
static inline __attribute__((always_inline)) void
lapse_sw_walk(__global const float *restrict src, __global float *restrict dst, int nx, int ny,
              int nz, const int kind, const int az, __local float *t0, __local float *t1)
{
    const int tid = (int)get_local_id(0), lx = tid % LAPSE_SW_TX, ly = tid / LAPSE_SW_TX;
    const int x0 = (int)get_group_id(0) * LAPSE_SW_TX, y0 = (int)get_group_id(1) * LAPSE_SW_TY;
    const int z0 = (int)get_group_id(2) * LAPSE_SW_KZ;
    const size_t plane = (size_t)nx * (size_t)ny;
    int goff[LAPSE_SW_NL];
#pragma unroll
    for (int j = 0; j < LAPSE_SW_NL; j++) {
        const int e = tid + LAPSE_SW_NT * j, r = e / LAPSE_SW_W, c = e % LAPSE_SW_W;
        goff[j] = e < LAPSE_SW_W * LAPSE_SW_H
                      ? clamp(y0 - 1 + r, 0, ny - 1) * nx + clamp(x0 - 1 + c, 0, nx - 1)
                      : -1;
    }
    float pre0[LAPSE_SW_NL], pre1[LAPSE_SW_NL];
    float w[3][LAPSE_SW_RY + 2][3]; /* this work-item's column of the last three planes */
    const int nsteps = LAPSE_SW_KZ + 2 * az, p0 = z0 - az;
    lapse_sw_fetch(pre0, goff, src, clamp(p0, 0, nz - 1), plane);
    lapse_sw_fetch(pre1, goff, src, clamp(p0 + 1, 0, nz - 1), plane);
    for (int s = 0; s < nsteps; s += 2) { /* two steps per trip: the buffers are literals */
        lapse_sw_step(src, dst, nx, ny, nz, kind, az, s, nsteps, p0, x0, y0, z0, lx, ly, plane,
                      goff, pre0, t0, w);
        lapse_sw_step(src, dst, nx, ny, nz, kind, az, s + 1, nsteps, p0, x0, y0, z0, lx, ly, plane,
                      goff, pre1, t1, w);
    }
}

#define LAPSE_SW_KERNEL(name, kind)                                                                \
    __kernel __attribute__((reqd_work_group_size(LAPSE_SW_NT, 1, 1))) void name(                   \
        __global const float *restrict src, __global float *restrict dst, int nx, int ny, int nz)  \
    {                                                                                              \
        __local float t0[LAPSE_SW_W * LAPSE_SW_H], t1[LAPSE_SW_W * LAPSE_SW_H];                    \
        if (nz > 1) /* uniform */                                                                  \
            lapse_sw_walk(src, dst, nx, ny, nz, kind, 1, t0, t1);                                  \
        else                                                                                       \
            lapse_sw_walk(src, dst, nx, ny, nz, kind, 0, t0, t1);                                  \
    }

/* The strip (LAPSE_SW_IMPL 1): tunables, then the walk. */
#ifndef LAPSE_SW_YS
#define LAPSE_SW_YS 8 /* strip: outputs per work-item along y */
#endif
#ifndef LAPSE_SW_SKZ
#define LAPSE_SW_SKZ 32 /* strip: output planes per work-item */
#endif
#ifndef LAPSE_SW_STX
#define LAPSE_SW_STX 32 /* strip: local size 0 (x) */
#endif
#ifndef LAPSE_SW_STY
#define LAPSE_SW_STY 2 /* strip: local size 1 (y) */
#endif
#ifndef LAPSE_SW_PF
#define LAPSE_SW_PF 1 /* strip: 1 = the next plane's loads issued before this plane's arithmetic */
#endif
/* Either formulation: 1 = the host fetches the tiled stencils from the program built with the
 * register cap (lapse_dev_kernel_heavy: -cl-nv-maxrregcount on NVIDIA), 0 = from the one
 * without (as the strip lapse_box1_mean of filters_tiled.cl). */
#ifndef LAPSE_SW_CAP
#define LAPSE_SW_CAP (LAPSE_SW_IMPL == 0)
#endif
#if LAPSE_SW_IMPL < 0 || LAPSE_SW_IMPL > 1 || LAPSE_SW_CAP < 0 || LAPSE_SW_CAP > 1 ||           \
    LAPSE_SW_PF < 0 || LAPSE_SW_PF > 1 || LAPSE_SW_TX < 1 || LAPSE_SW_RY < 1 ||                    \
    LAPSE_SW_WY < 1 || LAPSE_SW_KZ < 1 || LAPSE_SW_YS < 1 || LAPSE_SW_YS > 16 ||                   \
    LAPSE_SW_SKZ < 1 || LAPSE_SW_STX < 1 || LAPSE_SW_STY < 1
#error "stencil geometry out of range (LAPSE_SW_IMPL, _CAP, _PF 0 or 1, _YS 1..16, others >= 1)"
#endif

/* The strip's loads of input plane zc (clamped) for stencil kind: the YS + 2 rows (offsets ro)
 * at x into vc and, where the stencil needs them (diamond: the YS output rows only), at the
 * clamped xl and xr into vl and vr; every load issued before any use. */
static inline __attribute__((always_inline)) void
lapse_ss_load(const int kind, __global const float *restrict src, size_t plane, int zc, int xl,
              int x, int xr, const int *ro, float *vl, float *vc, float *vr)
{
    __global const float *s = src + (size_t)zc * plane;
    __global const float *sl = s + xl, *sc = s + x, *sr = s + xr;
#pragma unroll
    for (int t = 0; t < LAPSE_SW_YS + 2; t++) {
        const int side = kind != 2 || (t > 0 && t <= LAPSE_SW_YS);
        vl[t] = side ? sl[ro[t]] : 0.0f;
        vc[t] = sc[ro[t]];
        vr[t] = side ? sr[ro[t]] : 0.0f;
    }
}

/* The strip's walk for stencil kind (0 Sobel, 1 box Laplacian, 2 diamond Laplacian) with the z
 * axis in the stencil (az = 1) or not (az = 0: nz == 1); kind and az are literals at the calls.
 * NDRange (nx rounded up to STX, ceil(ny / YS) rounded up to STY, ceil(nz / SKZ)), local (STX,
 * STY, 1). The work-item (x, y0) computes the outputs (x, y0 .. y0 + YS - 1) of SKZ planes from
 * z0 on: input plane z0 - az + p (clamped) completes output plane z0 + p - 2 az. Per input plane
 * the x part of each of the YS + 2 rows y0 - 1 .. y0 + YS and the y part of each output run in
 * registers; per output the z part keeps, in the same order as the simple kernels:
 *  - Sobel: px, py, ps of the last plane read (dz = -1 of the output two planes on) and, for
 *    the output the next plane completes, gx' = px0 + 2 px1, gy' = py0 + 2 py1 and ps0; then
 *    gx = gx' + px2, gy = gy' + py2, gz = ps2 - ps0 (LAPSE_SOBEL_SEP).
 *  - box: the plane sum p0 of the last plane, the running sum p0 + p1 and the centre of the
 *    output completed next; then (p0 + p1) + p2 - 27 centre (lapse_laplace_box_v).
 *  - diamond: the centres of the last two planes and the y and x second differences of the
 *    last one; then 0 + ((zm + zp) - 2c) + y part + x part (lapse_laplace_diamond_v).
 * With az = 0 every plane is an output plane and no partial result is kept. */
static inline __attribute__((always_inline)) void
lapse_ss_walk(__global const float *restrict src, __global float *restrict dst, int nx, int ny,
              int nz, const int kind, const int az)
{
    const int x = (int)get_global_id(0), y0 = (int)get_global_id(1) * LAPSE_SW_YS;
    const int z0 = (int)get_group_id(2) * LAPSE_SW_SKZ;
    if (x >= nx || y0 >= ny)
        return;
    const size_t plane = (size_t)nx * (size_t)ny;
    const int xl = max(x - 1, 0), xr = min(x + 1, nx - 1);
    int ro[LAPSE_SW_YS + 2]; /* offsets of the clamped rows y0 - 1 .. y0 + YS in a plane */
#pragma unroll
    for (int t = 0; t < LAPSE_SW_YS + 2; t++)
        ro[t] = clamp(y0 - 1 + t, 0, ny - 1) * nx;
    /* per output o, the partial results of the z part (see above; a kind's unused ones are
     * dropped by the compiler):
     *   Sobel:   a0, a1, a2 = px, py, ps of the last plane; b0, b1, b2 = gx', gy', ps0
     *   box:     b0 = p0 + p1, b1 = centre, b2 = p0 (of the last plane)
     *   diamond: b0 = zm, b1 = centre (of the last plane), b2 = its y part, b3 = its x part */
    float a0[LAPSE_SW_YS], a1[LAPSE_SW_YS], a2[LAPSE_SW_YS];
    float b0[LAPSE_SW_YS], b1[LAPSE_SW_YS], b2[LAPSE_SW_YS], b3[LAPSE_SW_YS];
#pragma unroll
    for (int o = 0; o < LAPSE_SW_YS; o++)
        a0[o] = a1[o] = a2[o] = b0[o] = b1[o] = b2[o] = b3[o] = 0.0f;
    const int nplanes = LAPSE_SW_SKZ + 2 * az;
    float vl[LAPSE_SW_YS + 2], vc[LAPSE_SW_YS + 2], vr[LAPSE_SW_YS + 2]; /* this input plane */
#if LAPSE_SW_PF
    float nl[LAPSE_SW_YS + 2], nc[LAPSE_SW_YS + 2], nr[LAPSE_SW_YS + 2]; /* the next one */
    lapse_ss_load(kind, src, plane, clamp(z0 - az, 0, nz - 1), xl, x, xr, ro, nl, nc, nr);
#endif
    for (int p = 0; p < nplanes; p++) {
        const int zp = z0 - az + p; /* input plane (before clamping) */
        if (zp - az >= nz)          /* every remaining output plane is beyond the volume */
            break;
        const int z = zp - az, out = p >= 2 * az; /* the output plane this input completes */
        /* output row y0 + o (< ny) of plane z at d[ro[o + 1]] (stored only if out) */
        __global float *d = dst + (size_t)max(z, 0) * plane + (size_t)x;
#if LAPSE_SW_PF
#pragma unroll
        for (int t = 0; t < LAPSE_SW_YS + 2; t++) {
            vl[t] = nl[t];
            vc[t] = nc[t];
            vr[t] = nr[t];
        }
        if (p + 1 < nplanes) /* the next plane's loads in flight during this plane's arithmetic */
            lapse_ss_load(kind, src, plane, clamp(zp + 1, 0, nz - 1), xl, x, xr, ro, nl, nc, nr);
#else
        lapse_ss_load(kind, src, plane, clamp(zp, 0, nz - 1), xl, x, xr, ro, vl, vc, vr);
#endif
        if (kind == 0) { /* Sobel: rows along x, then each output's plane along y, then z */
            float rd[LAPSE_SW_YS + 2], rs[LAPSE_SW_YS + 2];
#pragma unroll
            for (int t = 0; t < LAPSE_SW_YS + 2; t++) {
                rd[t] = 0.0f * vc[t] + (vr[t] - vl[t]); /* + 0 x centre: LAPSE_SOBEL_SEP */
                rs[t] = (vl[t] + 2.0f * vc[t]) + vr[t];
            }
#pragma unroll
            for (int o = 0; o < LAPSE_SW_YS; o++) {
                const float px = (rd[o] + 2.0f * rd[o + 1]) + rd[o + 2];
                const float py = 0.0f * rs[o + 1] + (rs[o + 2] - rs[o]);
                const float ps = (rs[o] + 2.0f * rs[o + 1]) + rs[o + 2];
                float gx, gy, gz = 0.0f;
                if (az) {
                    gx = b0[o] + px;
                    gy = b1[o] + py;
                    gz = 0.0f * a2[o] + (ps - b2[o]); /* a2: ps of the middle plane */
                    b0[o] = a0[o] + 2.0f * px;
                    b1[o] = a1[o] + 2.0f * py;
                    b2[o] = a2[o];
                    a0[o] = px;
                    a1[o] = py;
                    a2[o] = ps;
                } else {
                    gx = px;
                    gy = py;
                }
                if (out && y0 + o < ny)
                    d[ro[o + 1]] = sqrt(gx * gx + gy * gy + gz * gz);
            }
        } else if (kind == 1) { /* box: rows along x, each output's plane along y, then z */
            float r[LAPSE_SW_YS + 2];
#pragma unroll
            for (int t = 0; t < LAPSE_SW_YS + 2; t++)
                r[t] = (vl[t] + vc[t]) + vr[t];
#pragma unroll
            for (int o = 0; o < LAPSE_SW_YS; o++) {
                const float pp = (r[o] + r[o + 1]) + r[o + 2];
                float res;
                if (az) {
                    res = (b0[o] + pp) - 27.0f * b1[o];
                    b0[o] = b2[o] + pp;
                    b1[o] = vc[o + 1];
                    b2[o] = pp;
                } else {
                    res = pp - 9.0f * vc[o + 1];
                }
                if (out && y0 + o < ny)
                    d[ro[o + 1]] = res;
            }
        } else { /* diamond: z, y, x second differences */
#pragma unroll
            for (int o = 0; o < LAPSE_SW_YS; o++) {
                const float c = vc[o + 1];
                const float c2 = 2.0f * c;
                const float sy = (vc[o] + vc[o + 2]) - c2, sx = (vl[o + 1] + vr[o + 1]) - c2;
                float res = 0.0f;
                if (az) {
                    const float bc2 = 2.0f * b1[o];
                    res += (b0[o] + c) - bc2;
                    res += b2[o];
                    res += b3[o];
                    b0[o] = b1[o];
                    b1[o] = c;
                    b2[o] = sy;
                    b3[o] = sx;
                } else {
                    res += sy;
                    res += sx;
                }
                if (out && y0 + o < ny)
                    d[ro[o + 1]] = res;
            }
        }
    }
}

#define LAPSE_SS_KERNEL(name, kind)                                                                \
    __kernel __attribute__((reqd_work_group_size(LAPSE_SW_STX, LAPSE_SW_STY, 1))) void name(       \
        __global const float *restrict src, __global float *restrict dst, int nx, int ny, int nz)  \
    {                                                                                              \
        if (nz > 1) /* uniform */                                                                  \
            lapse_ss_walk(src, dst, nx, ny, nz, kind, 1);                                          \
        else                                                                                       \
            lapse_ss_walk(src, dst, nx, ny, nz, kind, 0);                                          \
    }

#if LAPSE_SW_IMPL == 0
LAPSE_SW_KERNEL(lapse_sobel_t, 0)
LAPSE_SW_KERNEL(lapse_laplace_box_t, 1)
LAPSE_SW_KERNEL(lapse_laplace_diamond_t, 2)
#else
LAPSE_SS_KERNEL(lapse_sobel_t, 0)
LAPSE_SS_KERNEL(lapse_laplace_box_t, 1)
LAPSE_SS_KERNEL(lapse_laplace_diamond_t, 2)
#endif

/* The geometry of the tiled stencils in use, for the host (op_stencil.c reads it once per
 * device state): g[0] = number of entries (11), then LAPSE_SW_IMPL, TX, RY, WY, KZ (impl 0),
 * STX, STY, YS, SKZ (impl 1), CAP. */
__kernel void lapse_stencil_geometry(__global int *g)
{
    if (get_global_id(0) != 0)
        return;
    g[0] = 11;
    g[1] = LAPSE_SW_IMPL;
    g[2] = LAPSE_SW_TX;
    g[3] = LAPSE_SW_RY;
    g[4] = LAPSE_SW_WY;
    g[5] = LAPSE_SW_KZ;
    g[6] = LAPSE_SW_STX;
    g[7] = LAPSE_SW_STY;
    g[8] = LAPSE_SW_YS;
    g[9] = LAPSE_SW_SKZ;
    g[10] = LAPSE_SW_CAP;
}

/* Central difference along axis (0 = x, 1 = y, 2 = z), tiled: 8 outputs per work-item, 32
 * apart along x, the loads of all of them issued before the stores; the same clamped
 * neighbours and subtraction as lapse_gradient. NDRange (ceil(nx / 256) 32, ny, nz). */
#define LAPSE_GR_W 32
#define LAPSE_GR_K 8
__kernel void lapse_gradient_t(__global const float *restrict src, __global float *restrict dst,
                               int nx, int ny, int nz, int axis)
{
    const int g0 = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);
    if (y >= ny || z >= nz)
        return;
    const int x0 = (g0 / LAPSE_GR_W) * (LAPSE_GR_W * LAPSE_GR_K) + g0 % LAPSE_GR_W;
    const int ox = axis == 0, oy = axis == 1, oz = axis == 2;
    const size_t rowp =
        ((size_t)clamp(z + oz, 0, nz - 1) * (size_t)ny + (size_t)clamp(y + oy, 0, ny - 1)) *
        (size_t)nx;
    const size_t rowm =
        ((size_t)clamp(z - oz, 0, nz - 1) * (size_t)ny + (size_t)clamp(y - oy, 0, ny - 1)) *
        (size_t)nx;
    const size_t row = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx;
    float a[LAPSE_GR_K], b[LAPSE_GR_K], c[LAPSE_GR_K];
#pragma unroll
    for (int k = 0; k < LAPSE_GR_K; k++) {
        const int x = x0 + k * LAPSE_GR_W;
        a[k] = x < nx ? src[rowp + (size_t)clamp(x + ox, 0, nx - 1)] : 0.0f;
        b[k] = x < nx ? src[rowm + (size_t)clamp(x - ox, 0, nx - 1)] : 0.0f;
        c[k] = x < nx ? src[row + (size_t)x] : 0.0f;
    }
#pragma unroll
    for (int k = 0; k < LAPSE_GR_K; k++) {
        const int x = x0 + k * LAPSE_GR_W;
        if (x < nx)
            dst[row + (size_t)x] = 0.0f * c[k] + (a[k] - b[k]);
    }
}
