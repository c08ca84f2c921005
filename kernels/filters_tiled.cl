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
 *    2 rz + 1 y-pass results in registers for the z pass. One read and one write per voxel
 *    (plus halos) instead of three of each. The top-hat's final subtraction can be fused in.
 */
#pragma OPENCL FP_CONTRACT OFF

/* Filter kinds; kernels pass them as literals so that the compiler folds the branches. */
#define LAPSE_F_GAUSS 0
#define LAPSE_F_MEAN  1
#define LAPSE_F_MIN   2
#define LAPSE_F_MAX   3

#define LAPSE_XG    64 /* x pass: work-items per row (local size 0) */
#define LAPSE_XROWS 4  /* x pass: rows per work-group (local size 1) */
#define LAPSE_XK    4  /* x pass: outputs per work-item, LAPSE_XG apart */
#define LAPSE_K     16 /* y / z pass: consecutive outputs per work-item along the axis */
#define LAPSE_BTX   32 /* fused box: work-group tile along x (local size 0) */
#define LAPSE_BTY   8  /* fused box: work-group tile along y (local size 1) */
#define LAPSE_BKZ   32 /* fused box: output planes per work-group */
#define LAPSE_BRMAX 4  /* fused box: largest radius along any axis */
#define LAPSE_BW    (2 * LAPSE_BRMAX + 1)

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
    __kernel void name(__global const float *restrict src, __global float *restrict dst, int nx,   \
                       int ny, int nz, int r, __constant float *w, int woff, float scale,          \
                       __local float *tile)                                                        \
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
    for (int i = -r; i <= r; i++) {
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
    __kernel void name(__global const float *restrict src, __global float *restrict dst, int nx,   \
                       int ny, int nz, int axis, int r, __constant float *w, int woff,             \
                       float scale)                                                                \
    {                                                                                              \
        lapse_column(kind, src, dst, nx, ny, nz, axis, r, w, woff, scale);                         \
    }
LAPSE_COLUMN_KERNEL(lapse_col_gauss, LAPSE_F_GAUSS)
LAPSE_COLUMN_KERNEL(lapse_col_mean, LAPSE_F_MEAN)
LAPSE_COLUMN_KERNEL(lapse_col_min, LAPSE_F_MIN)
LAPSE_COLUMN_KERNEL(lapse_col_max, LAPSE_F_MAX)

/* ------------------------------------------------------------- fused 3D box (mean, min, max) */

/* Fold of one axis over 2r+1 values p(0..2r) (p(r) is the centre), as one pass of filters.cl;
 * radius 0 leaves the value untouched (the simple path skips such a pass). */
#define LAPSE_BOX_FOLD(kind, r, scale, P, res)                                                     \
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

/* Load this work-item's values of input plane zp (clamped) into pre[] (see lapse_box3d). */
#define LAPSE_BOX_FETCH(zp)                                                                        \
    do {                                                                                           \
        __global const float *s_ = src + (size_t)clamp((zp), 0, nz - 1) * plane;                   \
        for (int j_ = 0; j_ < 4; j_++) { /* constant trip count: unrolled, pre[] in registers */   \
            const int ty_ = ly + (j_ >> 1) * LAPSE_BTY, tx_ = lx + (j_ & 1) * LAPSE_BTX;           \
            if (ty_ < th && tx_ < tw)                                                              \
                pre[j_] = s_[(size_t)clamp(y0 - ry + ty_, 0, ny - 1) * (size_t)nx +                \
                             (size_t)clamp(x0 - rx + tx_, 0, nx - 1)];                             \
        }                                                                                          \
    } while (0)

/* NDRange (nx rounded up to BTX, ny rounded up to BTY, ceil(nz / BKZ)), local (BTX, BTY, 1);
 * rx, ry, rz <= BRMAX. a: (BTY + 2 BRMAX) rows of (BTX + 2 BRMAX) input floats; b: the x pass
 * of those rows. sub != 0: dst = orig - result (top-hat), else dst = result. */
static inline void lapse_box3d(const int kind, __global const float *restrict src,
                               __global const float *restrict orig, __global float *restrict dst,
                               int nx, int ny, int nz, int rx, int ry, int rz, float sx, float sy,
                               float sz, int sub, __local float (*a)[LAPSE_BTX + 2 * LAPSE_BRMAX],
                               __local float (*b)[LAPSE_BTX])
{
    const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);
    const int x0 = (int)get_group_id(0) * LAPSE_BTX, y0 = (int)get_group_id(1) * LAPSE_BTY;
    const int z0 = (int)get_group_id(2) * LAPSE_BKZ;
    const int x = x0 + lx, y = y0 + ly;
    const int tw = LAPSE_BTX + 2 * rx, th = LAPSE_BTY + 2 * ry;
    const size_t plane = (size_t)nx * (size_t)ny;
    float win[LAPSE_BW]; /* y-pass results of the last planes, the newest in win[BW - 1] */
#pragma unroll
    for (int k = 0; k < LAPSE_BW; k++)
        win[k] = 0.0f;
    const int nplanes = LAPSE_BKZ + 2 * rz;
    /* Each work-item moves up to 2 x 2 tile values (th <= 2 BTY, tw <= 2 BTX as BRMAX <= 4):
     * pre[] holds the next plane's values, loaded one plane ahead so that the global loads
     * overlap the x, y and z passes of the current plane. */
    float pre[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    LAPSE_BOX_FETCH(z0 - rz);
    for (int p = 0; p < nplanes; p++) {
        const int zp = z0 - rz + p; /* input plane (before clamping) */
        if (zp - rz >= nz)          /* every remaining output plane is beyond the volume */
            break;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int ty = ly + (j >> 1) * LAPSE_BTY, tx = lx + (j & 1) * LAPSE_BTX;
            if (ty < th && tx < tw)
                a[ty][tx] = pre[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (p + 1 < nplanes)
            LAPSE_BOX_FETCH(zp + 1);
        for (int ty = ly; ty < th; ty += LAPSE_BTY) { /* x pass of every row of the tile */
#define LAPSE_PX(t) a[ty][lx + (t)]
            LAPSE_BOX_FOLD(kind, rx, sx, LAPSE_PX, b[ty][lx]);
#undef LAPSE_PX
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float vy;
#define LAPSE_PY(t) b[ly + (t)][lx]
        LAPSE_BOX_FOLD(kind, ry, sy, LAPSE_PY, vy);
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
            float cz = 0.0f;
#pragma unroll
            for (int k = 0; k < LAPSE_BW; k++)
                if (k == k0 + rz)
                    cz = win[k];
            float acc = lapse_init(kind, cz);
#pragma unroll
            for (int k = 0; k < LAPSE_BW; k++)
                if (k >= k0)
                    acc = lapse_fold(kind, acc, win[k], 0.0f);
            res = lapse_finish(kind, acc, sz);
        }
        const size_t idx = (size_t)z * plane + (size_t)y * (size_t)nx + (size_t)x;
        dst[idx] = sub ? orig[idx] - res : res;
    }
}

#define LAPSE_BOX3D_KERNEL(name, kind)                                                             \
    __kernel void name(__global const float *restrict src, __global const float *restrict orig,    \
                       __global float *restrict dst, int nx, int ny, int nz, int rx, int ry,       \
                       int rz, float sx, float sy, float sz, int sub)                              \
    {                                                                                              \
        __local float a[LAPSE_BTY + 2 * LAPSE_BRMAX][LAPSE_BTX + 2 * LAPSE_BRMAX];                 \
        __local float b[LAPSE_BTY + 2 * LAPSE_BRMAX][LAPSE_BTX];                                   \
        lapse_box3d(kind, src, orig, dst, nx, ny, nz, rx, ry, rz, sx, sy, sz, sub, a, b);          \
    }
LAPSE_BOX3D_KERNEL(lapse_box3d_mean, LAPSE_F_MEAN)
LAPSE_BOX3D_KERNEL(lapse_box3d_min, LAPSE_F_MIN)
LAPSE_BOX3D_KERNEL(lapse_box3d_max, LAPSE_F_MAX)
