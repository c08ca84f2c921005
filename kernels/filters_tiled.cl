/*
 * filters_tiled.cl - GPU-shaped versions of the separable filters of filters.cl (Gaussian, mean,
 * minimum, maximum), chosen by ops_cl.c unless LAPSE_KERNELS=simple. Every output voxel is
 * computed with exactly the same operations in the same order as in filters.cl (sum / fold over
 * i = -r..r, the minimum and maximum starting from the centre, edges clamped), so that results
 * are bit for bit those of the simple kernels; only the memory access pattern differs:
 *  - x pass (lapse_xt_*): a work-group row loads LAPSE_XG * LAPSE_XK outputs' worth of the row
 *    plus the halo into local memory once (coalesced), then each work-item computes LAPSE_XK
 *    outputs, LAPSE_XG apart, from local memory.
 *  - y and z passes (lapse_col_*): each work-item walks LAPSE_K consecutive outputs along the
 *    axis with a sliding window of LAPSE_K registers: one global load per step serves LAPSE_K
 *    outputs (a warp's loads are 32 consecutive x: coalesced).
 *  - small box filters (lapse_box3d_*): all three passes fused; a work-group owns a 32 x 8 (x,
 *    y) column and walks LAPSE_BKZ output planes along z: per input plane it loads the tile and
 *    halo into local memory, runs the x pass and the y pass in local memory and keeps the last
 *    2 rz + 1 y-pass results in registers for the z pass (LAPSE_BOX_IMPL 0), or, without local
 *    memory, each work-item computes LAPSE_BYS outputs along y for its x and walks z, reading the
 *    (LAPSE_BYS + 2 ry) x (2 rx + 1) neighbourhood of each input plane through L1 with many loads
 *    in flight (LAPSE_BOX_IMPL 1). One DRAM read and one write per voxel (plus halos) instead of
 *    three of each. The top-hat's final subtraction can be fused in. The host uses, per call,
 *    the formulation that measured best on the H100: lapse_box1_mean (impl 1) and lapse_box1_min
 *    / max (impl 0) for radii (1, 1, 1), lapse_boxg_* (the tile kernel as it was before the
 *    tunables) for other radii; lapse_box3d_* (the tunable kernel) only with LAPSE_BOX_TUNE=1.
 * Every geometry constant below is a tunable: define it in the program's build options to
 * override (bench_kernels --defines, bench/tune_box.sh); the host reads the values in use back
 * through lapse_tiled_geometry, so host and kernels never disagree.
 */
#pragma OPENCL FP_CONTRACT OFF

/* Filter kinds; kernels pass them as literals so that the compiler folds the branches. */
#define LAPSE_F_GAUSS 0
#define LAPSE_F_MEAN  1
#define LAPSE_F_MIN   2
#define LAPSE_F_MAX   3

#ifndef LAPSE_XG
#define LAPSE_XG 64 /* x pass: work-items per row (local size 0) */
#endif
#ifndef LAPSE_XROWS
#define LAPSE_XROWS 4 /* x pass: rows per work-group (local size 1) */
#endif
#ifndef LAPSE_XK
#define LAPSE_XK 8 /* x pass: outputs per work-item, LAPSE_XG apart */
#endif
#ifndef LAPSE_K
#define LAPSE_K 16 /* y / z pass: consecutive outputs per work-item along the axis */
#endif
#ifndef LAPSE_COL_WX
#define LAPSE_COL_WX 32 /* y / z pass: local size 0 (x) */
#endif
#ifndef LAPSE_COL_WY
#define LAPSE_COL_WY 8 /* y / z pass: local size 1 */
#endif
#ifndef LAPSE_COL_U
#define LAPSE_COL_U 4 /* y / z pass: steps of the fold whose loads are issued together */
#endif
#ifndef LAPSE_BOX_TUNE
#define LAPSE_BOX_TUNE 0 /* 1: the host runs every fused box filter with lapse_box3d_* (sweep) */
#endif
/* The tunable fused box kernels lapse_box3d_* (used only with LAPSE_BOX_TUNE=1): */
#ifndef LAPSE_BOX_IMPL
#define LAPSE_BOX_IMPL 0 /* fused box: 0 local-memory tile, 1 registers + L1 (no local memory) */
#endif
#ifndef LAPSE_BTX
#define LAPSE_BTX 32 /* fused box: local size 0 (x) */
#endif
#ifndef LAPSE_BTY
#define LAPSE_BTY 8 /* fused box: local size 1 (y) */
#endif
#ifndef LAPSE_BKZ
#define LAPSE_BKZ 32 /* fused box: output planes per work-item (z walk) */
#endif
#ifndef LAPSE_BYS
#define LAPSE_BYS 1 /* fused box, impl 1: outputs per work-item along y */
#endif
#ifndef LAPSE_BOX_SPEC
#define LAPSE_BOX_SPEC 1 /* fused box: 1 adds a code path specialised for radii (1, 1, 1) */
#endif
/* The default fused box kernels (the sweep's winners on the H100): mean r = 1 (lapse_box1_mean,
 * impl 1), minimum / maximum r = 1 (lapse_box1_min / max, impl 0), other radii and the top-hat
 * (lapse_boxg_*, the tile formulation before the tunables). */
#ifndef LAPSE_B1M_TX
#define LAPSE_B1M_TX 32 /* mean r = 1: local size 0 */
#endif
#ifndef LAPSE_B1M_TY
#define LAPSE_B1M_TY 2 /* mean r = 1: local size 1 */
#endif
#ifndef LAPSE_B1M_YS
#define LAPSE_B1M_YS 8 /* mean r = 1: outputs per work-item along y */
#endif
#ifndef LAPSE_B1M_KZ
#define LAPSE_B1M_KZ 32 /* mean r = 1: output planes per work-item */
#endif
#ifndef LAPSE_B1X_TX
#define LAPSE_B1X_TX 64 /* min / max r = 1: local size 0 */
#endif
#ifndef LAPSE_B1X_TY
#define LAPSE_B1X_TY 4 /* min / max r = 1: local size 1 */
#endif
#ifndef LAPSE_B1X_KZ
#define LAPSE_B1X_KZ 64 /* min / max r = 1: output planes per work-group */
#endif
#ifndef LAPSE_BG_TX
#define LAPSE_BG_TX 32 /* other radii: local size 0 (>= 2 BRMAX) */
#endif
#ifndef LAPSE_BG_TY
#define LAPSE_BG_TY 8 /* other radii: local size 1 (>= 2 BRMAX) */
#endif
#ifndef LAPSE_BG_KZ
#define LAPSE_BG_KZ 32 /* other radii: output planes per work-group */
#endif
#define LAPSE_BRMAX 4 /* fused box: largest radius along any axis */
#define LAPSE_BW    (2 * LAPSE_BRMAX + 1)
#if LAPSE_BOX_IMPL == 0
#define LAPSE_BYS_USED 1 /* the tile kernel computes one output per work-item and plane */
#else
#define LAPSE_BYS_USED LAPSE_BYS
#endif
#if LAPSE_BG_TX < 2 * LAPSE_BRMAX || LAPSE_BG_TY < 2 * LAPSE_BRMAX || LAPSE_B1M_YS > 8
#error "fused box geometry out of range (LAPSE_BG_TX, LAPSE_BG_TY >= 8, LAPSE_B1M_YS <= 8)"
#endif

/* The geometry in use, for the host (ops_cl.c reads it once): g[0] = number of entries, then
 * XG, XROWS, XK, K, COL_WX, COL_WY, BTX, BTY, BKZ, BYS (used), BRMAX, BOX_IMPL, BOX_TUNE,
 * B1M_TX, B1M_TY, B1M_YS, B1M_KZ, B1X_TX, B1X_TY, B1X_KZ, BG_TX, BG_TY, BG_KZ. */
__kernel void lapse_tiled_geometry(__global int *g)
{
    if (get_global_id(0) != 0)
        return;
    g[0] = 24;
    g[1] = LAPSE_XG;
    g[2] = LAPSE_XROWS;
    g[3] = LAPSE_XK;
    g[4] = LAPSE_K;
    g[5] = LAPSE_COL_WX;
    g[6] = LAPSE_COL_WY;
    g[7] = LAPSE_BTX;
    g[8] = LAPSE_BTY;
    g[9] = LAPSE_BKZ;
    g[10] = LAPSE_BYS_USED;
    g[11] = LAPSE_BRMAX;
    g[12] = LAPSE_BOX_IMPL;
    g[13] = LAPSE_BOX_TUNE;
    g[14] = LAPSE_B1M_TX;
    g[15] = LAPSE_B1M_TY;
    g[16] = LAPSE_B1M_YS;
    g[17] = LAPSE_B1M_KZ;
    g[18] = LAPSE_B1X_TX;
    g[19] = LAPSE_B1X_TY;
    g[20] = LAPSE_B1X_KZ;
    g[21] = LAPSE_BG_TX;
    g[22] = LAPSE_BG_TY;
    g[23] = LAPSE_BG_KZ;
}

/* One step of the fold of filters.cl: acc combined with neighbour v (weight w: Gaussian). */
static inline float lapse_fold(const int kind, float acc, float v, float w)
{
    if (kind == LAPSE_F_GAUSS)
        return fma(w, v, acc);
    if (kind == LAPSE_F_MEAN)
        return acc + v;
    if (kind == LAPSE_F_MIN)
        return fmin(acc, v);
    return fmax(acc, v);
}

/* Start value: 0 for the sums, the centre voxel for the minimum and maximum. */
static inline float lapse_init(const int kind, float centre)
{
    return kind == LAPSE_F_GAUSS || kind == LAPSE_F_MEAN ? 0.0f : centre;
}

/* End of the fold: the mean scales its sum. */
static inline float lapse_finish(const int kind, float acc, float scale)
{
    return kind == LAPSE_F_MEAN ? acc * scale : acc;
}

/* ---------------------------------------------------------------- x pass, local-memory tile */

/* NDRange (ceil(nx / (XG*XK)) * XG, ny rounded up to XROWS, nz), local (XG, XROWS, 1); tile:
 * XROWS * (XG*XK + 2r) floats of local memory. */
static inline void lapse_xtile(const int kind, __global const float *restrict src,
                               __global float *restrict dst, int nx, int ny, int nz, int r,
                               __constant float *w, int woff, float scale, __local float *tile)
{
    if (kind == LAPSE_F_GAUSS)
        w += woff;
    const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);
    const int y = (int)get_global_id(1), z = (int)get_global_id(2);
    const int x0 = (int)get_group_id(0) * (LAPSE_XG * LAPSE_XK); /* first output of the row */
    const int tw = LAPSE_XG * LAPSE_XK + 2 * r;
    const int active = y < ny && z < nz;
    const size_t base = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx;
    __local float *row = tile + ly * tw; /* row[t] = src[clamp(x0 - r + t)] */
    if (active)
        for (int t = lx; t < tw; t += LAPSE_XG)
            row[t] = src[base + (size_t)clamp(x0 - r + t, 0, nx - 1)];
    barrier(CLK_LOCAL_MEM_FENCE);
    if (!active)
        return;
    float acc[LAPSE_XK];
#pragma unroll
    for (int o = 0; o < LAPSE_XK; o++)
        acc[o] = lapse_init(kind, row[lx + o * LAPSE_XG + r]);
    for (int i = -r; i <= r; i++) { /* one weight load serves XK outputs */
        const float wi = kind == LAPSE_F_GAUSS ? w[i + r] : 0.0f;
#pragma unroll
        for (int o = 0; o < LAPSE_XK; o++)
            acc[o] = lapse_fold(kind, acc[o], row[lx + o * LAPSE_XG + r + i], wi);
    }
#pragma unroll
    for (int o = 0; o < LAPSE_XK; o++) {
        const int x = x0 + lx + o * LAPSE_XG;
        if (x < nx)
            dst[base + (size_t)x] = lapse_finish(kind, acc[o], scale);
    }
}

#define LAPSE_XTILE_KERNEL(name, kind)                                                             \
    __kernel __attribute__((reqd_work_group_size(LAPSE_XG, LAPSE_XROWS, 1))) void name(            \
        __global const float *restrict src, __global float *restrict dst, int nx, int ny, int nz,  \
        int r, __constant float *w, int woff, float scale, __local float *tile)                    \
    {                                                                                              \
        lapse_xtile(kind, src, dst, nx, ny, nz, r, w, woff, scale, tile);                          \
    }
LAPSE_XTILE_KERNEL(lapse_xt_gauss, LAPSE_F_GAUSS)
LAPSE_XTILE_KERNEL(lapse_xt_mean, LAPSE_F_MEAN)
LAPSE_XTILE_KERNEL(lapse_xt_min, LAPSE_F_MIN)
LAPSE_XTILE_KERNEL(lapse_xt_max, LAPSE_F_MAX)

/* ------------------------------------------------------ y / z pass, register sliding window */

/* axis 1 (y): NDRange (nx, ceil(ny / K), nz); axis 2 (z): NDRange (nx, ny, ceil(nz / K)).
 * Work-item outputs c0 .. c0+K-1 along the axis. v[o] holds src[clamp(c0 + i + o)] during step
 * i, so that output o folds its neighbours in the order i = -r..r as in filters.cl. */
static inline void lapse_column(const int kind, __global const float *restrict src,
                                __global float *restrict dst, int nx, int ny, int nz, int axis,
                                int r, __constant float *w, int woff, float scale)
{
    if (kind == LAPSE_F_GAUSS)
        w += woff;
    const int x = (int)get_global_id(0), g1 = (int)get_global_id(1), g2 = (int)get_global_id(2);
    int y, z, c0, n;
    size_t stride;
    if (axis == 1) {
        y = 0;
        z = g2;
        c0 = g1 * LAPSE_K;
        n = ny;
        stride = (size_t)nx;
    } else {
        y = g1;
        z = 0;
        c0 = g2 * LAPSE_K;
        n = nz;
        stride = (size_t)nx * (size_t)ny;
    }
    if (x >= nx || c0 >= n || (axis == 1 ? z >= nz : y >= ny))
        return;
    /* the line through (x, y, z) along the axis, coordinate 0 */
    __global const float *line = src + ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + x;
    __global float *out = dst + ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + x;
    float v[LAPSE_K], acc[LAPSE_K];
#pragma unroll
    for (int o = 0; o < LAPSE_K; o++)
        acc[o] = lapse_init(kind, line[(size_t)clamp(c0 + o, 0, n - 1) * stride]);
#pragma unroll
    for (int o = 0; o < LAPSE_K - 1; o++) /* v[o + 1] = src[clamp(c0 - r + o)] */
        v[o + 1] = line[(size_t)clamp(c0 - r + o, 0, n - 1) * stride];
    int i = -r;
    /* LAPSE_COL_U steps at a time: their loads are issued before the folds that need them (more
     * loads in flight per work-item); the fold order per output is unchanged */
    for (; i + LAPSE_COL_U - 1 <= r; i += LAPSE_COL_U) {
        float nv[LAPSE_COL_U];
#pragma unroll
        for (int u = 0; u < LAPSE_COL_U; u++)
            nv[u] = line[(size_t)clamp(c0 + i + u + LAPSE_K - 1, 0, n - 1) * stride];
#pragma unroll
        for (int u = 0; u < LAPSE_COL_U; u++) {
#pragma unroll
            for (int o = 0; o < LAPSE_K - 1; o++)
                v[o] = v[o + 1];
            v[LAPSE_K - 1] = nv[u];
            const float wi = kind == LAPSE_F_GAUSS ? w[i + u + r] : 0.0f;
#pragma unroll
            for (int o = 0; o < LAPSE_K; o++)
                acc[o] = lapse_fold(kind, acc[o], v[o], wi);
        }
    }
    for (; i <= r; i++) {
#pragma unroll
        for (int o = 0; o < LAPSE_K - 1; o++)
            v[o] = v[o + 1];
        v[LAPSE_K - 1] = line[(size_t)clamp(c0 + i + LAPSE_K - 1, 0, n - 1) * stride];
        const float wi = kind == LAPSE_F_GAUSS ? w[i + r] : 0.0f;
#pragma unroll
        for (int o = 0; o < LAPSE_K; o++)
            acc[o] = lapse_fold(kind, acc[o], v[o], wi);
    }
#pragma unroll
    for (int o = 0; o < LAPSE_K; o++)
        if (c0 + o < n)
            out[(size_t)(c0 + o) * stride] = lapse_finish(kind, acc[o], scale);
}

#define LAPSE_COLUMN_KERNEL(name, kind)                                                            \
    __kernel __attribute__((reqd_work_group_size(LAPSE_COL_WX, LAPSE_COL_WY, 1))) void name(       \
        __global const float *restrict src, __global float *restrict dst, int nx, int ny, int nz,  \
        int axis, int r, __constant float *w, int woff, float scale)                               \
    {                                                                                              \
        lapse_column(kind, src, dst, nx, ny, nz, axis, r, w, woff, scale);                         \
    }
LAPSE_COLUMN_KERNEL(lapse_col_gauss, LAPSE_F_GAUSS)
LAPSE_COLUMN_KERNEL(lapse_col_mean, LAPSE_F_MEAN)
LAPSE_COLUMN_KERNEL(lapse_col_min, LAPSE_F_MIN)
LAPSE_COLUMN_KERNEL(lapse_col_max, LAPSE_F_MAX)

/* ------------------------------------------------- the mean's long passes, summed in double */

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
/* The mean passes of a radius above LAPSE_SEP_MEAN_DOUBLE_R (src/ops/sep.h): lapse_xtile's and
 * lapse_column's data paths, each output's sum in double in the order i = -r..r, divided by 2r+1
 * in double and rounded once to float32: the bits of filters.cl lapse_sep_mean_d. Same
 * arguments as their float32 siblings (w, woff and scale unused). The host checks cl_khr_fp64. */
__kernel __attribute__((reqd_work_group_size(LAPSE_XG, LAPSE_XROWS, 1))) void lapse_xt_meand(
    __global const float *restrict src, __global float *restrict dst, int nx, int ny, int nz, int r,
    __constant float *w, int woff, float scale, __local double *tile)
{
    (void)w;
    (void)woff;
    (void)scale;
    /* the tile holds doubles (the host sizes it so): each value is converted once, not once per
     * output that reads it (the conversions bounded the first version: 8.7 ms at r 65) */
    const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);
    const int y = (int)get_global_id(1), z = (int)get_global_id(2);
    const int x0 = (int)get_group_id(0) * (LAPSE_XG * LAPSE_XK);
    const int tw = LAPSE_XG * LAPSE_XK + 2 * r;
    const int active = y < ny && z < nz;
    const size_t base = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx;
    __local double *row = tile + ly * tw;
    if (active)
        for (int t = lx; t < tw; t += LAPSE_XG)
            row[t] = (double)src[base + (size_t)clamp(x0 - r + t, 0, nx - 1)];
    barrier(CLK_LOCAL_MEM_FENCE);
    if (!active)
        return;
    double acc[LAPSE_XK];
#pragma unroll
    for (int o = 0; o < LAPSE_XK; o++)
        acc[o] = 0.0;
    for (int i = -r; i <= r; i++)
#pragma unroll
        for (int o = 0; o < LAPSE_XK; o++)
            acc[o] += row[lx + o * LAPSE_XG + r + i];
#pragma unroll
    for (int o = 0; o < LAPSE_XK; o++) {
        const int x = x0 + lx + o * LAPSE_XG;
        if (x < nx)
            dst[base + (size_t)x] = (float)(acc[o] / (double)(2 * r + 1));
    }
}

__kernel __attribute__((reqd_work_group_size(LAPSE_COL_WX, LAPSE_COL_WY, 1))) void lapse_col_meand(
    __global const float *restrict src, __global float *restrict dst, int nx, int ny, int nz,
    int axis, int r, __constant float *w, int woff, float scale)
{
    (void)w;
    (void)woff;
    (void)scale;
    const int x = (int)get_global_id(0), g1 = (int)get_global_id(1), g2 = (int)get_global_id(2);
    const int y = axis == 1 ? 0 : g1, z = axis == 1 ? g2 : 0;
    const int c0 = (axis == 1 ? g1 : g2) * LAPSE_K, n = axis == 1 ? ny : nz;
    const size_t stride = axis == 1 ? (size_t)nx : (size_t)nx * (size_t)ny;
    if (x >= nx || c0 >= n || (axis == 1 ? z >= nz : y >= ny))
        return;
    __global const float *line = src + ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + x;
    __global float *out = dst + ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + x;
    double v[LAPSE_K], acc[LAPSE_K]; /* each value converted once, when loaded */
#pragma unroll
    for (int o = 0; o < LAPSE_K; o++)
        acc[o] = 0.0;
#pragma unroll
    for (int o = 0; o < LAPSE_K - 1; o++) /* v[o + 1] = src[clamp(c0 - r + o)] */
        v[o + 1] = (double)line[(size_t)clamp(c0 - r + o, 0, n - 1) * stride];
    for (int i = -r; i <= r; i++) {
#pragma unroll
        for (int o = 0; o < LAPSE_K - 1; o++)
            v[o] = v[o + 1];
        v[LAPSE_K - 1] = (double)line[(size_t)clamp(c0 + i + LAPSE_K - 1, 0, n - 1) * stride];
#pragma unroll
        for (int o = 0; o < LAPSE_K; o++)
            acc[o] += v[o];
    }
#pragma unroll
    for (int o = 0; o < LAPSE_K; o++)
        if (c0 + o < n)
            out[(size_t)(c0 + o) * stride] = (float)(acc[o] / (double)(2 * r + 1));
}
#endif

/* ------------------------------------------------------------- fused 3D box (mean, min, max) */

/* Fold of one axis over the 2r+1 values v[off .. off+2r] (v[off+r] is the centre), as one pass
 * of filters.cl; radius 0 leaves the centre untouched (the simple path skips such a pass).
 * cap >= r is a compile-time bound (a literal at the call): the loops are unrolled over it with
 * predicates, so that v stays in registers whatever the run-time r and off. */
static inline __attribute__((always_inline)) float
lapse_fold_win(const int kind, const float *v, int off, int r, const int cap, float scale)
{
    float c = v[0];
#pragma unroll
    for (int t = 1; t < LAPSE_BW; t++) /* constant bounds: always unrolled */
        if (t <= 2 * cap && t == off + r)
            c = v[t];
    if (r == 0)
        return c;
    float a = lapse_init(kind, c);
#pragma unroll
    for (int t = 0; t < LAPSE_BW; t++)
        if (t <= 2 * cap && t >= off && t <= off + 2 * r)
            a = lapse_fold(kind, a, v[t], 0.0f);
    return lapse_finish(kind, a, scale);
}

/* Store one output: dst = res, or dst = orig - res for the top-hat (sub != 0). */
#define LAPSE_BOX_STORE(idx, res)                                                                  \
    do {                                                                                           \
        const size_t i_ = (idx);                                                                   \
        dst[i_] = sub ? orig[i_] - (res) : (res);                                                  \
    } while (0)

/* Impl 0 (local-memory tile). Geometry tx, ty (work-group shape), kz (output planes per
 * work-group) are compile-time constants (literals or macros at the call of an always-inlined
 * function), so that every loop over them is unrolled and pre[] stays in registers. Tile values
 * each work-item moves per plane: px x py slots (the tile is at most (tx + 2 BRMAX) x (ty + 2
 * BRMAX)); at most LAPSE_BPRE. */
#define LAPSE_BPRE 16

/* Load this work-item's values of input plane zp (clamped) into pre[] (see lapse_box3d): slot j
 * holds tile column lx + (j % px) tx of row ly + (j / px) ty. */
static inline __attribute__((always_inline)) void
lapse_box_fetch(float *pre, __global const float *restrict src, int zp, int nx, int ny, int nz,
                int rx, int ry, int x0, int y0, int lx, int ly, int tw, int th, const int tx,
                const int ty, const int px, const int py)
{
    __global const float *s = src + (size_t)clamp(zp, 0, nz - 1) * (size_t)nx * (size_t)ny;
#pragma unroll
    for (int j = 0; j < LAPSE_BPRE; j++) { /* constant bounds: unrolled, pre[] in registers */
        const int tyj = ly + (j / px) * ty, txj = lx + (j % px) * tx;
        if (j < px * py && tyj < th && txj < tw)
            pre[j] = s[(size_t)clamp(y0 - ry + tyj, 0, ny - 1) * (size_t)nx +
                       (size_t)clamp(x0 - rx + txj, 0, nx - 1)];
    }
}
#define LAPSE_BOX_FETCH(zp)                                                                        \
    lapse_box_fetch(pre, src, (zp), nx, ny, nz, rx, ry, x0, y0, lx, ly, tw, th, tx, ty, px, py)

/* NDRange (nx rounded up to tx, ny rounded up to ty, ceil(nz / kz)), local (tx, ty, 1);
 * rx, ry, rz <= BRMAX. a: (ty + 2 BRMAX) rows of (tx + 2 BRMAX) input floats; b: the x pass of
 * those rows (rows of tx). sub != 0: dst = orig - result (top-hat), else dst = result. */
static inline __attribute__((always_inline)) void
lapse_box3d(const int kind, __global const float *restrict src, __global const float *restrict orig,
            __global float *restrict dst, int nx, int ny, int nz, int rx, int ry, int rz, float sx,
            float sy, float sz, int sub, __local float *a, __local float *b, const int tx,
            const int ty, const int kz)
{
    const int px = (tx + 2 * LAPSE_BRMAX + tx - 1) / tx, py = (ty + 2 * LAPSE_BRMAX + ty - 1) / ty;
    const int ap = tx + 2 * LAPSE_BRMAX; /* row pitch of a */
    const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);
    const int x0 = (int)get_group_id(0) * tx, y0 = (int)get_group_id(1) * ty;
    const int z0 = (int)get_group_id(2) * kz;
    const int x = x0 + lx, y = y0 + ly;
    const int tw = tx + 2 * rx, th = ty + 2 * ry;
    const size_t plane = (size_t)nx * (size_t)ny;
    float win[LAPSE_BW]; /* y-pass results of the last planes, the newest in win[BW - 1] */
#pragma unroll
    for (int k = 0; k < LAPSE_BW; k++)
        win[k] = 0.0f;
    const int nplanes = kz + 2 * rz;
    /* pre[] holds the next plane's tile values of this work-item, loaded one plane ahead so that
     * the global loads overlap the x, y and z passes of the current plane. */
    float pre[LAPSE_BPRE];
#pragma unroll
    for (int j = 0; j < LAPSE_BPRE; j++)
        pre[j] = 0.0f;
    LAPSE_BOX_FETCH(z0 - rz);
    for (int p = 0; p < nplanes; p++) {
        const int zp = z0 - rz + p; /* input plane (before clamping) */
        if (zp - rz >= nz)          /* every remaining output plane is beyond the volume */
            break;
#pragma unroll
        for (int j = 0; j < LAPSE_BPRE; j++) {
            const int tyj = ly + (j / px) * ty, txj = lx + (j % px) * tx;
            if (j < px * py && tyj < th && txj < tw)
                a[tyj * ap + txj] = pre[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (p + 1 < nplanes)
            LAPSE_BOX_FETCH(zp + 1);
        for (int r_ = ly; r_ < th; r_ += ty) { /* x pass of every row of the tile */
            float v[LAPSE_BW];
#pragma unroll
            for (int t = 0; t < LAPSE_BW; t++)
                v[t] = t <= 2 * rx ? a[r_ * ap + lx + t] : 0.0f;
            b[r_ * tx + lx] = lapse_fold_win(kind, v, 0, rx, LAPSE_BRMAX, sx);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float vyw[LAPSE_BW];
#pragma unroll
        for (int t = 0; t < LAPSE_BW; t++)
            vyw[t] = t <= 2 * ry ? b[(ly + t) * tx + lx] : 0.0f;
        const float vy = lapse_fold_win(kind, vyw, 0, ry, LAPSE_BRMAX, sy);
#pragma unroll
        for (int k = 0; k < LAPSE_BW - 1; k++)
            win[k] = win[k + 1];
        win[LAPSE_BW - 1] = vy;
        const int z = zp - rz; /* output plane completed by this input plane */
        if (p < 2 * rz || z >= nz || x >= nx || y >= ny)
            continue;
        /* z pass over win[BW-1-2rz .. BW-1] (planes z-rz .. z+rz), oldest first */
        const float res = lapse_fold_win(kind, win, LAPSE_BW - 1 - 2 * rz, rz, LAPSE_BRMAX, sz);
        LAPSE_BOX_STORE((size_t)z * plane + (size_t)y * (size_t)nx + (size_t)x, res);
    }
}

/* Impl 1: no local memory, no barrier. NDRange (nx rounded up to tx, ceil(ny / ys) rounded up
 * to ty, ceil(nz / kz)), local (tx, ty, 1). The work-item (x, y0) computes the outputs (x, y0 ..
 * y0+ys-1) of kz planes: per input plane it loads the (ys + 2 ry) x (2 rx + 1) clamped
 * neighbourhood (all loads independent: many in flight; the re-reads of neighbours are L1 hits),
 * runs the x pass of each row and the y pass of each output in registers, and keeps the last
 * 2 rz + 1 y-pass results per output in registers for the z pass. ys (<= LAPSE_BYS_MAX), kz and
 * cx, cy, cz (compile-time bounds of rx, ry, rz) are literals at the call: they size the
 * unrolled loops. */
#define LAPSE_BYS_MAX 8
static inline __attribute__((always_inline)) void
lapse_box_strip(const int kind, __global const float *restrict src,
                __global const float *restrict orig, __global float *restrict dst, int nx, int ny,
                int nz, int rx, int ry, int rz, float sx, float sy, float sz, int sub, const int ys,
                const int kz, const int cx, const int cy, const int cz)
{
    const int x = (int)get_global_id(0), y0 = (int)get_global_id(1) * ys;
    const int z0 = (int)get_group_id(2) * kz;
    if (x >= nx || y0 >= ny)
        return;
    const size_t plane = (size_t)nx * (size_t)ny;
    int xo[LAPSE_BW]; /* clamped x of the neighbours x - rx .. x + rx */
#pragma unroll
    for (int t = 0; t < LAPSE_BW; t++)
        xo[t] = t <= 2 * cx ? clamp(x - rx + t, 0, nx - 1) : 0;
    float win[LAPSE_BYS_MAX][LAPSE_BW]; /* per output: y-pass results, the newest in [o][2cz] */
#pragma unroll
    for (int o = 0; o < LAPSE_BYS_MAX; o++)
#pragma unroll
        for (int k = 0; k < LAPSE_BW; k++)
            win[o][k] = 0.0f;
    const int nplanes = kz + 2 * rz;
    for (int p = 0; p < nplanes; p++) {
        const int zp = z0 - rz + p; /* input plane (before clamping) */
        if (zp - rz >= nz)          /* every remaining output plane is beyond the volume */
            break;
        __global const float *s = src + (size_t)clamp(zp, 0, nz - 1) * plane;
        float hx[LAPSE_BYS_MAX + 2 * LAPSE_BRMAX]; /* x pass of rows y0 - ry .. y0 + ys - 1 + ry */
        float v[LAPSE_BYS_MAX + 2 * LAPSE_BRMAX][LAPSE_BW];
#pragma unroll
        for (int t = 0; t < LAPSE_BYS_MAX + 2 * LAPSE_BRMAX; t++) { /* every load first */
            __global const float *row = s + (size_t)clamp(y0 - ry + t, 0, ny - 1) * (size_t)nx;
#pragma unroll
            for (int i = 0; i < LAPSE_BW; i++)
                v[t][i] = t < ys + 2 * cy && t < ys + 2 * ry && i <= 2 * cx && i <= 2 * rx
                              ? row[xo[i]]
                              : 0.0f;
        }
#pragma unroll
        for (int t = 0; t < LAPSE_BYS_MAX + 2 * LAPSE_BRMAX; t++)
            hx[t] = t < ys + 2 * cy ? lapse_fold_win(kind, v[t], 0, rx, cx, sx) : 0.0f;
        const int z = zp - rz; /* output plane completed by this input plane */
        const int out = p >= 2 * rz && z < nz;
#pragma unroll
        for (int o = 0; o < LAPSE_BYS_MAX; o++) {
            if (o >= ys)
                break;
            const float vy = lapse_fold_win(kind, hx + o, 0, ry, cy, sy);
#pragma unroll
            for (int k = 0; k < LAPSE_BW - 1; k++)
                if (k < 2 * cz)
                    win[o][k] = win[o][k + 1];
#pragma unroll
            for (int k = 0; k < LAPSE_BW; k++)
                if (k == 2 * cz)
                    win[o][k] = vy;
            if (out && y0 + o < ny) {
                const float res = lapse_fold_win(kind, win[o], 2 * cz - 2 * rz, rz, cz, sz);
                LAPSE_BOX_STORE((size_t)z * plane + (size_t)(y0 + o) * (size_t)nx + (size_t)x, res);
            }
        }
    }
}

/* --- the tunable fused box kernels lapse_box3d_* (LAPSE_BOX_IMPL, LAPSE_BTX, ...): every radius
 * <= BRMAX; used for every box filter when the program is built with -DLAPSE_BOX_TUNE=1 (the
 * tuning sweep), else not at all. Uniform branches pick a body specialised for radii (1, 1, 1)
 * (LAPSE_BOX_SPEC) and, in impl 1, a z window of 3 registers when rz <= 1. */
#if LAPSE_BOX_IMPL == 0
#define LAPSE_BOX_BODY(kind, rx, ry, rz)                                                           \
    lapse_box3d(kind, src, orig, dst, nx, ny, nz, rx, ry, rz, sx, sy, sz, sub, &a[0][0], &b[0][0], \
                LAPSE_BTX, LAPSE_BTY, LAPSE_BKZ)
#define LAPSE_BOX_LOCALS                                                                           \
    __local float a[LAPSE_BTY + 2 * LAPSE_BRMAX][LAPSE_BTX + 2 * LAPSE_BRMAX];                     \
    __local float b[LAPSE_BTY + 2 * LAPSE_BRMAX][LAPSE_BTX];
#define LAPSE_BOX_DISPATCH(kind)                                                                   \
    if (LAPSE_BOX_SPEC && rx == 1 && ry == 1 && rz == 1)                                           \
        LAPSE_BOX_BODY(kind, 1, 1, 1);                                                             \
    else                                                                                           \
        LAPSE_BOX_BODY(kind, rx, ry, rz)
#else
#if LAPSE_BYS > LAPSE_BYS_MAX
#error "LAPSE_BYS is larger than LAPSE_BYS_MAX"
#endif
#define LAPSE_BOX_BODY(kind, rx, ry, rz, cx, cy, cz)                                               \
    lapse_box_strip(kind, src, orig, dst, nx, ny, nz, rx, ry, rz, sx, sy, sz, sub, LAPSE_BYS,      \
                    LAPSE_BKZ, cx, cy, cz)
#define LAPSE_BOX_LOCALS
#define LAPSE_BOX_DISPATCH(kind)                                                                   \
    if (LAPSE_BOX_SPEC && rx == 1 && ry == 1 && rz == 1)                                           \
        LAPSE_BOX_BODY(kind, 1, 1, 1, 1, 1, 1);                                                    \
    else if (rz <= 1)                                                                              \
        LAPSE_BOX_BODY(kind, rx, ry, rz, LAPSE_BRMAX, LAPSE_BRMAX, 1);                             \
    else                                                                                           \
        LAPSE_BOX_BODY(kind, rx, ry, rz, LAPSE_BRMAX, LAPSE_BRMAX, LAPSE_BRMAX)
#endif

#define LAPSE_BOX3D_KERNEL(name, kind)                                                             \
    __kernel __attribute__((reqd_work_group_size(LAPSE_BTX, LAPSE_BTY, 1))) void name(             \
        __global const float *restrict src, __global const float *restrict orig,                   \
        __global float *restrict dst, int nx, int ny, int nz, int rx, int ry, int rz, float sx,    \
        float sy, float sz, int sub)                                                               \
    {                                                                                              \
        LAPSE_BOX_LOCALS                                                                           \
        LAPSE_BOX_DISPATCH(kind);                                                                  \
    }
LAPSE_BOX3D_KERNEL(lapse_box3d_mean, LAPSE_F_MEAN)
LAPSE_BOX3D_KERNEL(lapse_box3d_min, LAPSE_F_MIN)
LAPSE_BOX3D_KERNEL(lapse_box3d_max, LAPSE_F_MAX)

/* --- the default fused box kernels, radii (1, 1, 1) only: each has only the body for those
 * radii (its register count is not that of a general body), with the geometry that measured
 * best for it on the H100 (bench/tune_box.sh): the mean in impl 1 (registers + L1), the
 * minimum and maximum in impl 0 (local-memory tile). The radius arguments are ignored. */
#define LAPSE_BOX1_MEAN_KERNEL(name, kind)                                                         \
    __kernel __attribute__((reqd_work_group_size(LAPSE_B1M_TX, LAPSE_B1M_TY, 1))) void name(       \
        __global const float *restrict src, __global const float *restrict orig,                   \
        __global float *restrict dst, int nx, int ny, int nz, int rx, int ry, int rz, float sx,    \
        float sy, float sz, int sub)                                                               \
    {                                                                                              \
        (void)rx, (void)ry, (void)rz;                                                              \
        lapse_box_strip(kind, src, orig, dst, nx, ny, nz, 1, 1, 1, sx, sy, sz, sub, LAPSE_B1M_YS,  \
                        LAPSE_B1M_KZ, 1, 1, 1);                                                    \
    }
#define LAPSE_BOX1_TILE_KERNEL(name, kind)                                                         \
    __kernel __attribute__((reqd_work_group_size(LAPSE_B1X_TX, LAPSE_B1X_TY, 1))) void name(       \
        __global const float *restrict src, __global const float *restrict orig,                   \
        __global float *restrict dst, int nx, int ny, int nz, int rx, int ry, int rz, float sx,    \
        float sy, float sz, int sub)                                                               \
    {                                                                                              \
        __local float a[LAPSE_B1X_TY + 2 * LAPSE_BRMAX][LAPSE_B1X_TX + 2 * LAPSE_BRMAX];           \
        __local float b[LAPSE_B1X_TY + 2 * LAPSE_BRMAX][LAPSE_B1X_TX];                             \
        (void)rx, (void)ry, (void)rz;                                                              \
        lapse_box3d(kind, src, orig, dst, nx, ny, nz, 1, 1, 1, sx, sy, sz, sub, &a[0][0],          \
                    &b[0][0], LAPSE_B1X_TX, LAPSE_B1X_TY, LAPSE_B1X_KZ);                           \
    }
LAPSE_BOX1_MEAN_KERNEL(lapse_box1_mean, LAPSE_F_MEAN)
LAPSE_BOX1_TILE_KERNEL(lapse_box1_min, LAPSE_F_MIN)
LAPSE_BOX1_TILE_KERNEL(lapse_box1_max, LAPSE_F_MAX)

/* --- the default fused box kernels for every other radius (<= BRMAX; also the top-hat): the
 * tile formulation as it was before the tunables (commit 2cedec2), which measured faster for
 * general radii on the H100 than lapse_box3d (top-hat r = [1, 3, 3]: 6.2 ms against 7.3-7.5;
 * mean r = 1 through the general path: 1.85 ms against 2.64): the folds are loops with run-time
 * bounds reading local memory directly (2r + 1 loads per fold instead of BRMAX-sized predicated
 * windows), and the kernels carry no reqd_work_group_size (the compiler keeps its default
 * register budget) and no specialised body. Same operations in the same order. */

/* Fold of one axis over 2r+1 values p(0..2r) (p(r) is the centre), as one pass of filters.cl;
 * radius 0 leaves the value untouched (the simple path skips such a pass). */
#define LAPSE_BOXG_FOLD(kind, r, scale, P, res)                                                    \
    do {                                                                                           \
        if ((r) == 0) {                                                                            \
            res = P(0);                                                                            \
        } else {                                                                                   \
            float a_ = lapse_init(kind, P(r));                                                     \
            for (int t_ = 0; t_ <= 2 * (r); t_++)                                                  \
                a_ = lapse_fold(kind, a_, P(t_), 0.0f);                                            \
            res = lapse_finish(kind, a_, scale);                                                   \
        }                                                                                          \
    } while (0)

/* Load this work-item's values of input plane zp (clamped) into pre[] (see lapse_boxg). */
#define LAPSE_BOXG_FETCH(zp)                                                                       \
    do {                                                                                           \
        __global const float *s_ = src + (size_t)clamp((zp), 0, nz - 1) * plane;                   \
        for (int j_ = 0; j_ < 4; j_++) { /* constant trip count: unrolled, pre[] in registers */   \
            const int ty_ = ly + (j_ >> 1) * LAPSE_BG_TY, tx_ = lx + (j_ & 1) * LAPSE_BG_TX;       \
            if (ty_ < th && tx_ < tw)                                                              \
                pre[j_] = s_[(size_t)clamp(y0 - ry + ty_, 0, ny - 1) * (size_t)nx +                \
                             (size_t)clamp(x0 - rx + tx_, 0, nx - 1)];                             \
        }                                                                                          \
    } while (0)

/* NDRange (nx rounded up to BG_TX, ny rounded up to BG_TY, ceil(nz / BG_KZ)), local (BG_TX,
 * BG_TY, 1); rx, ry, rz <= BRMAX <= BG_TX / 2, BG_TY / 2. a: (BG_TY + 2 BRMAX) rows of (BG_TX +
 * 2 BRMAX) input floats; b: the x pass of those rows. sub != 0: dst = orig - result (top-hat),
 * else dst = result. */
static inline void lapse_boxg(const int kind, __global const float *restrict src,
                              __global const float *restrict orig, __global float *restrict dst,
                              int nx, int ny, int nz, int rx, int ry, int rz, float sx, float sy,
                              float sz, int sub, __local float (*a)[LAPSE_BG_TX + 2 * LAPSE_BRMAX],
                              __local float (*b)[LAPSE_BG_TX])
{
#ifdef LAPSE_BG_FIX /* a program for one radius (src/ops/sep.c): the folds unroll */
    rx = LAPSE_BG_FIX_X;
    ry = LAPSE_BG_FIX_Y;
    rz = LAPSE_BG_FIX_Z;
#endif
    const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);
    const int x0 = (int)get_group_id(0) * LAPSE_BG_TX, y0 = (int)get_group_id(1) * LAPSE_BG_TY;
    const int z0 = (int)get_group_id(2) * LAPSE_BG_KZ;
    const int x = x0 + lx, y = y0 + ly;
    const int tw = LAPSE_BG_TX + 2 * rx, th = LAPSE_BG_TY + 2 * ry;
    const size_t plane = (size_t)nx * (size_t)ny;
    float win[LAPSE_BW]; /* y-pass results of the last planes, the newest in win[BW - 1] */
#pragma unroll
    for (int k = 0; k < LAPSE_BW; k++)
        win[k] = 0.0f;
    const int nplanes = LAPSE_BG_KZ + 2 * rz;
    /* Each work-item moves up to 2 x 2 tile values (th <= 2 BG_TY, tw <= 2 BG_TX): pre[] holds
     * the next plane's values, loaded one plane ahead so that the global loads overlap the x, y
     * and z passes of the current plane. */
    float pre[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    LAPSE_BOXG_FETCH(z0 - rz);
    for (int p = 0; p < nplanes; p++) {
        const int zp = z0 - rz + p; /* input plane (before clamping) */
        if (zp - rz >= nz)          /* every remaining output plane is beyond the volume */
            break;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int ty = ly + (j >> 1) * LAPSE_BG_TY, tx = lx + (j & 1) * LAPSE_BG_TX;
            if (ty < th && tx < tw)
                a[ty][tx] = pre[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (p + 1 < nplanes)
            LAPSE_BOXG_FETCH(zp + 1);
        for (int ty = ly; ty < th; ty += LAPSE_BG_TY) { /* x pass of every row of the tile */
#define LAPSE_PX(t) a[ty][lx + (t)]
            LAPSE_BOXG_FOLD(kind, rx, sx, LAPSE_PX, b[ty][lx]);
#undef LAPSE_PX
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float vy;
#define LAPSE_PY(t) b[ly + (t)][lx]
        LAPSE_BOXG_FOLD(kind, ry, sy, LAPSE_PY, vy);
#undef LAPSE_PY
#pragma unroll
        for (int k = 0; k < LAPSE_BW - 1; k++)
            win[k] = win[k + 1];
        win[LAPSE_BW - 1] = vy;
        const int z = zp - rz; /* output plane completed by this input plane */
        if (p < 2 * rz || z >= nz || x >= nx || y >= ny)
            continue;
        /* z pass over win[BW-1-2rz .. BW-1] (planes z-rz .. z+rz), oldest first; the static
         * loop with a predicate keeps win in registers */
        const int k0 = LAPSE_BW - 1 - 2 * rz;
        float res;
        if (rz == 0) {
            res = vy;
        } else {
            float c = 0.0f;
#pragma unroll
            for (int k = 0; k < LAPSE_BW; k++)
                if (k == k0 + rz)
                    c = win[k];
            float acc = lapse_init(kind, c);
#pragma unroll
            for (int k = 0; k < LAPSE_BW; k++)
                if (k >= k0)
                    acc = lapse_fold(kind, acc, win[k], 0.0f);
            res = lapse_finish(kind, acc, sz);
        }
        LAPSE_BOX_STORE((size_t)z * plane + (size_t)y * (size_t)nx + (size_t)x, res);
    }
}

#define LAPSE_BOXG_KERNEL(name, kind)                                                              \
    __kernel void name(__global const float *restrict src, __global const float *restrict orig,    \
                       __global float *restrict dst, int nx, int ny, int nz, int rx, int ry,       \
                       int rz, float sx, float sy, float sz, int sub)                              \
    {                                                                                              \
        __local float a[LAPSE_BG_TY + 2 * LAPSE_BRMAX][LAPSE_BG_TX + 2 * LAPSE_BRMAX];             \
        __local float b[LAPSE_BG_TY + 2 * LAPSE_BRMAX][LAPSE_BG_TX];                               \
        lapse_boxg(kind, src, orig, dst, nx, ny, nz, rx, ry, rz, sx, sy, sz, sub, a, b);           \
    }
LAPSE_BOXG_KERNEL(lapse_boxg_mean, LAPSE_F_MEAN)
LAPSE_BOXG_KERNEL(lapse_boxg_min, LAPSE_F_MIN)
LAPSE_BOXG_KERNEL(lapse_boxg_max, LAPSE_F_MAX)
#ifdef LAPSE_BG_FIX
/* The same kernel for the radii LAPSE_BG_FIX_Z, _Y, _X only (the rx, ry, rz arguments are
 * ignored), named by the host (LAPSE_BG_FIX_NAME) so that it does not shadow the others. */
LAPSE_BOXG_KERNEL(LAPSE_BG_FIX_NAME, LAPSE_BG_FIX_KIND)
#endif
