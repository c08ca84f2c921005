/*
 * window_tiled.cl - the tiled variant of window.cl (src/ops/op_window.c): minimum / maximum (of
 * x or of x != 0, with the top-hat's subtraction), mean, variance / standard deviation and
 * median over a box or ellipsoid window with every radius <= 4, one program per window and
 * statistic (built on first use with -D, src/ops/op_window.c), so that the window is known at
 * compile time: its loops unroll, its values stay in registers, no row table is read.
 *
 * Bits: every statistic is window.cl's arithmetic in its order. The window is visited in the
 * order dz, dy, dx ascending with the row half-widths of op_window.c (the same exact integer
 * ellipsoid rule, here folded at compile time) and the same clamping and dropped axes, so the
 * minimum / maximum folds, the sums of the mean and the two passes of the variance are the same
 * operations in the same order. The median: for the effective radii (1, 1, 1) and (0, 1, 1) the
 * same compare-exchange network as lapse_win_median_box27 / box9 / cross7 / cross5 on the values
 * in the same order; for other windows window.cl runs the forgetful selection with index-based
 * drops (lapse_win_median_125), whose result can depend on the order only where values compare
 * equal with different bits (+0 and -0) or where a NaN is in the window. So here the
 * compare-exchange network runs on windows without NaN or -0 (its median is then the same value,
 * with the same bits), and the other windows run lapse_win_median_125's selection itself (a
 * private array, slow but rare). For windows of 13 or 15 values the network on plain windows
 * is the host's pruned sorting network (LAPSE_WT_NET0..7: 84 fmin / fmax for 15 values against
 * 112); LAPSE_WT_NET=0 in the environment keeps the forgetful selection.
 *
 * Data flow: a work-group of TX x WY work-items (default 32 x 4 = 128, LAPSE_WT_TX / _WY) owns a
 * column of TX x (RO WY) outputs (default 32 x 16) and walks KZ output planes (default 32) along
 * z. Per input plane the clamped (RO WY + 2 ey) x (TX + 2 ex) tile goes to local memory once
 * (loads prefetched one plane ahead), into a ring of 2 ez + 2 plane tiles (one more than a window
 * needs, so that one barrier per plane suffices); each work-item computes RO outputs (rows) of
 * column x of the plane ez behind from the ring. DRAM: each input voxel read
 * once (halos from L2), each output written once.
 *
 * Configuration (-D, all required but for the defaults that make the file compile alone):
 *   LAPSE_WT_NAME             the kernel's name
 *   LAPSE_WT_KIND             0 minimum, 1 maximum, 2 mean, 3 variance, 4 standard deviation,
 *                             5 median
 *   LAPSE_WT_BIN              minimum / maximum of (x != 0 ? 1 : 0)
 *   LAPSE_WT_RZ, _RY, _RX     the radii (the ellipsoid rule uses them)
 *   LAPSE_WT_EZ, _EY, _EX     the effective radii: the radius, or 0 for an axis of extent 1
 *   LAPSE_WT_SPHERE           1 ellipsoid, 0 box
 *   LAPSE_WT_N                values in the effective window
 *   LAPSE_WT_MFIX             median: 1 for the effective radii (1, 1, 1) and (0, 1, 1)
 *   LAPSE_WT_NET0..7          median (optional): the host's comparator network for N values
 *   LAPSE_WT_TX, _RO, _WY, _KZ the geometry above (src/ops/op_window.c wt_geom)
 * NDRange (ceil(nx / TX) TX WY, ceil(ny / (RO WY)), ceil(nz / KZ)), local (TX WY, 1, 1).
 */
#pragma OPENCL FP_CONTRACT OFF

/* The variance (lapse_win_var here, KIND 3 and 4 in window_tiled.cl; the two must give the same
 * bits): the mean m' of the window in float32, then the deviations d = x - m' (exact where x is
 * near m'), var = (sum d^2 - (sum d)^2 / n) / n: the corrected two-pass algorithm, whose second
 * term removes a small error of m', and for windows of more than LAPSE_VAR_PLAIN_N values all
 * three sums compensated (LAPSE_KAHAN): a plain float32 sum of d^2 drifted by 3e-5 relative
 * (2197 values of 30000 + U(0, 1)), and plain sums of x and d by up to 100% (78141 values of
 * 30000 + U(0, 1): m' off by far more than the spread, sum d no longer cancelling it). */
#define LAPSE_VAR_PLAIN_N 125

/* Compensated (Kahan) summation: s += x with the rounding error of each add carried in c, so
 * that a sum of thousands of values stays within a few float32 units (FP_CONTRACT is off, so
 * each step rounds as written). */
#define LAPSE_KAHAN(s, c, x)                                                                       \
    do {                                                                                           \
        const float y_ = (x) - (c);                                                                \
        const float t_ = (s) + y_;                                                                 \
        (c) = (t_ - (s)) - y_;                                                                     \
        (s) = t_;                                                                                  \
    } while (0)

#ifndef LAPSE_WT_NAME
#define LAPSE_WT_NAME   lapse_wt_default
#define LAPSE_WT_KIND   3
#define LAPSE_WT_BIN    0
#define LAPSE_WT_RZ     1
#define LAPSE_WT_RY     1
#define LAPSE_WT_RX     1
#define LAPSE_WT_EZ     1
#define LAPSE_WT_EY     1
#define LAPSE_WT_EX     1
#define LAPSE_WT_SPHERE 0
#define LAPSE_WT_N      27
#define LAPSE_WT_MFIX   0
#endif

#define KIND LAPSE_WT_KIND
#define EZ   LAPSE_WT_EZ
#define EY   LAPSE_WT_EY
#define EX   LAPSE_WT_EX
#define N    LAPSE_WT_N

/* Geometry: the host passes LAPSE_WT_TX, _RO, _WY, _KZ (src/ops/op_window.c, LAPSE_WT_GEOM);
 * the defaults below only make the file compile on its own. */
#ifndef LAPSE_WT_TX
#define LAPSE_WT_TX 64
#define LAPSE_WT_RO 4
#define LAPSE_WT_WY 4
#define LAPSE_WT_KZ 32
#endif
#define WT_TX LAPSE_WT_TX /* outputs per work-group along x = work-items per row */
#define WT_RO LAPSE_WT_RO /* outputs per work-item along y */
#define WT_WY LAPSE_WT_WY /* rows of work-items */
#define WT_KZ LAPSE_WT_KZ /* output planes per work-group */
#define WT_TY (WT_RO * WT_WY)
#define WT_NT (WT_TX * WT_WY)
#define WT_W  (WT_TX + 2 * EX) /* tile row (local memory pitch) */
#define WT_H  (WT_TY + 2 * EY)
#define WT_NS (2 * EZ + 2) /* planes in the ring */
#define WT_NL ((WT_W * WT_H + WT_NT - 1) / WT_NT)
/* values kept in registers: the variance's window (two passes) and the median's */
#define WT_REGS (KIND == 5 || ((KIND == 3 || KIND == 4) && N <= 125))

#if LAPSE_WT_SPHERE
/* Whether offset (dz, dy, dx) lies in the ellipsoid of radii (RZ, RY, RX): op_window.c's
 * in_ellipsoid, in 64-bit integers (folded at compile time). */
static inline __attribute__((always_inline)) int wt_in_ellipsoid(int dz, int dy, int dx)
{
    const int r[3] = {LAPSE_WT_RZ, LAPSE_WT_RY, LAPSE_WT_RX}, d[3] = {dz, dy, dx};
    long p = 1, sum = 0;
#pragma unroll
    for (int a = 0; a < 3; a++) {
        if (r[a] == 0 && d[a] != 0)
            return 0;
        if (r[a] > 0)
            p *= (long)r[a] * r[a];
    }
#pragma unroll
    for (int a = 0; a < 3; a++)
        if (r[a] > 0)
            sum += (long)d[a] * d[a] * (p / ((long)r[a] * r[a]));
    return sum <= p;
}
#endif

/* Half-width of row (dz, dy) as the simple kernel uses it: op_window.c's row_halfwidth (-1: an
 * empty row), then at most EX. */
static inline __attribute__((always_inline)) int wt_half(int dz, int dy)
{
    (void)dz, (void)dy;
    int w = LAPSE_WT_SPHERE ? -1 : LAPSE_WT_RX;
#if LAPSE_WT_SPHERE
#pragma unroll
    for (int t = 0; t <= LAPSE_WT_RX; t++) /* the largest t inside */
        if (wt_in_ellipsoid(dz, dy, t))
            w = t;
#endif
    return w < 0 ? -1 : min(w, EX);
}

#if KIND == 5
/* window.cl's lapse_median_fixed: forgetful selection by compare-exchanges on v[0..n-1]. */
#define WT_CSWAP(a, b)                                                                             \
    do {                                                                                           \
        const float lo_ = fmin(a, b);                                                              \
        b = fmax(a, b);                                                                            \
        a = lo_;                                                                                   \
    } while (0)
static inline __attribute__((always_inline)) float wt_median_cswap(float *v)
{
    const int L = (N + 3) / 2;
    /* round r keeps v[r..L-1]; the inner loops run over constant ranges with a condition on
     * r, so that all of them unroll and every index is a constant (v stays in registers) */
#pragma unroll
    for (int r = 0; r < (N - 1) / 2; r++) {
        if (r > 0)
            v[L - 1] = v[L + r - 1];
#pragma unroll
        for (int i = 1; i < L; i++)
            if (i > r)
                WT_CSWAP(v[r], v[i]);
#pragma unroll
        for (int i = 1; i < L - 1; i++)
            if (i > r)
                WT_CSWAP(v[i], v[L - 1]);
    }
    return v[L - 2];
}

#ifdef LAPSE_WT_NET0
/* The median by the pruned sorting network the host wrote for N values (src/ops/op_window.c
 * median_net, in up to 8 macros LAPSE_WT_NET0..7): WC compare-exchanges, WL / WH keep only the
 * minimum / maximum. Used only on windows without NaN and -0, where every selection network
 * gives the same bits. */
#define WT_NET   1
#define WC(a, b) WT_CSWAP(v[a], v[b])
#define WL(a, b) v[a] = fmin(v[a], v[b])
#define WH(a, b) v[b] = fmax(v[a], v[b])
static inline __attribute__((always_inline)) float wt_median_net(float *v)
{
    LAPSE_WT_NET0
#ifdef LAPSE_WT_NET1
    LAPSE_WT_NET1
#endif
#ifdef LAPSE_WT_NET2
    LAPSE_WT_NET2
#endif
#ifdef LAPSE_WT_NET3
    LAPSE_WT_NET3
#endif
#ifdef LAPSE_WT_NET4
    LAPSE_WT_NET4
#endif
#ifdef LAPSE_WT_NET5
    LAPSE_WT_NET5
#endif
#ifdef LAPSE_WT_NET6
    LAPSE_WT_NET6
#endif
#ifdef LAPSE_WT_NET7
    LAPSE_WT_NET7
#endif
    return v[N / 2];
}
#else
#define WT_NET 0
#endif

#if !LAPSE_WT_MFIX
/* window.cl's lapse_drop_extremes and lapse_win_median_125's loop over the values v[0..N-1] in
 * window order: the simple kernel's median, also where values tie in value but not in bits. */
static void wt_drop_extremes(float *set, int *m)
{
    int k = 0;
    for (int i = 1; i < *m; i++)
        if (set[i] < set[k])
            k = i;
    set[k] = set[*m - 1];
    (*m)--;
    k = 0;
    for (int i = 1; i < *m; i++)
        if (set[i] > set[k])
            k = i;
    set[k] = set[*m - 1];
    (*m)--;
}
static float wt_median_simple(const float *v)
{
    float set[64];
    int m = 0;
    for (int i = 0; i < N; i++) {
        set[m++] = v[i];
        if (i + 1 >= (N + 3) / 2)
            wt_drop_extremes(set, &m);
    }
    return set[0];
}
#endif
#endif

/* Output (row j of this work-item) of plane z: the window from the ring (slot of plane z + dz
 * at slot[dz + EZ]), the statistic, the store. */
static inline __attribute__((always_inline)) void
wt_output(__local const float *ring, const int *slot, int lx, int ry, __global const float *orig,
          __global float *dst, size_t idx, int sub)
{
    (void)orig, (void)sub;
#if KIND == 0 || KIND == 1
    float m = ring[slot[EZ] * (WT_W * WT_H) + (ry + EY) * WT_W + lx + EX]; /* the centre */
#elif KIND == 2 || (KIND == 3 || KIND == 4) && !WT_REGS
    float s = 0.0f, sc = 0.0f; /* sc: the variance's compensation (N > LAPSE_VAR_PLAIN_N) */
    (void)sc;
#endif
#if WT_REGS
    float v[N];
#endif
    int n = 0;
#pragma unroll
    for (int dz = -EZ; dz <= EZ; dz++)
#pragma unroll
        for (int dy = -EY; dy <= EY; dy++) {
            const int w = wt_half(dz, dy);
            const int row = slot[dz + EZ] * (WT_W * WT_H) + (ry + EY + dy) * WT_W + lx + EX;
#pragma unroll
            for (int dx = -EX; dx <= EX; dx++)
                if (dx >= -w && dx <= w) {
                    const float val = ring[row + dx];
#if KIND == 0
                    m = fmin(m, val);
#elif KIND == 1
                    m = fmax(m, val);
#elif WT_REGS
                    v[n] = val;
#elif (KIND == 3 || KIND == 4) && N > LAPSE_VAR_PLAIN_N
                    LAPSE_KAHAN(s, sc, val);
#else
                    s += val;
#endif
                    n++;
                }
        }
    (void)n;
    float res;
#if KIND == 0 || KIND == 1
    res = sub ? orig[idx] - m : m;
#elif KIND == 2
    res = s / (float)n;
#elif KIND == 3 || KIND == 4
#if WT_REGS
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < N; i++)
        s += v[i];
#endif
    const float mean = s / (float)n;
    float q = 0.0f, qc = 0.0f, e = 0.0f, ec = 0.0f; /* e: the deviations' sum (lapse_win_var) */
    (void)qc, (void)ec;
#if WT_REGS
#pragma unroll
    for (int i = 0; i < N; i++) {
        const float d = v[i] - mean;
        q += d * d; /* N <= 125 here: plain (LAPSE_VAR_PLAIN_N) */
        e += d;
    }
#else
#pragma unroll
    for (int dz = -EZ; dz <= EZ; dz++)
#pragma unroll
        for (int dy = -EY; dy <= EY; dy++) {
            const int w = wt_half(dz, dy);
            const int row = slot[dz + EZ] * (WT_W * WT_H) + (ry + EY + dy) * WT_W + lx + EX;
#pragma unroll
            for (int dx = -EX; dx <= EX; dx++)
                if (dx >= -w && dx <= w) {
                    const float d = ring[row + dx] - mean;
#if N > LAPSE_VAR_PLAIN_N
                    LAPSE_KAHAN(q, qc, d * d);
                    LAPSE_KAHAN(e, ec, d);
#else
                    q += d * d;
                    e += d;
#endif
                }
        }
#endif
    float var = (q - e * e / (float)n) / (float)n;
    var = var < 0.0f ? 0.0f : var; /* rounding, where every deviation is ~0; NaN stays */
    res = KIND == 4 ? sqrt(var) : var;
#else /* median */
#if WT_NET
    int plain = 1; /* no NaN and no -0 in the window */
#pragma unroll
    for (int i = 0; i < N; i++)
        plain &= !isnan(v[i]) && !(v[i] == 0.0f && signbit(v[i]));
    if (plain) {
        res = wt_median_net(v);
    } else { /* the simple kernel's own selection, on a copy (v stays in registers) */
        float c[N];
#pragma unroll
        for (int i = 0; i < N; i++)
            c[i] = v[i];
#if LAPSE_WT_MFIX
        res = wt_median_cswap(c);
#else
        res = wt_median_simple(c);
#endif
    }
#elif LAPSE_WT_MFIX
    res = wt_median_cswap(v);
#else
    int plain = 1; /* no NaN and no -0 in the window */
#pragma unroll
    for (int i = 0; i < N; i++)
        plain &= !isnan(v[i]) && !(v[i] == 0.0f && signbit(v[i]));
    if (plain) {
        res = wt_median_cswap(v);
    } else { /* a copy: v itself never has its address taken, so it stays in registers */
        float c[N];
#pragma unroll
        for (int i = 0; i < N; i++)
            c[i] = v[i];
        res = wt_median_simple(c);
    }
#endif
#endif
    dst[idx] = res;
}

__kernel __attribute__((reqd_work_group_size(WT_NT, 1, 1))) void
LAPSE_WT_NAME(__global const float *restrict src, __global const float *restrict orig,
              __global float *restrict dst, int nx, int ny, int nz, int sub)
{
    __local float ring[WT_NS * WT_W * WT_H];
    const int tid = (int)get_local_id(0), lx = tid % WT_TX, ly = tid / WT_TX;
    const int x0 = (int)get_group_id(0) * WT_TX, y0 = (int)get_group_id(1) * WT_TY;
    const int z0 = (int)get_group_id(2) * WT_KZ, x = x0 + lx;
    const size_t plane = (size_t)nx * (size_t)ny;
    int goff[WT_NL];
#pragma unroll
    for (int j = 0; j < WT_NL; j++) {
        const int e = tid + WT_NT * j, r = e / WT_W, c = e % WT_W;
        goff[j] = e < WT_W * WT_H
                      ? clamp(y0 - EY + r, 0, ny - 1) * nx + clamp(x0 - EX + c, 0, nx - 1)
                      : -1;
    }
    float pre[WT_NL];
#define WT_FETCH(zc)                                                                               \
    do {                                                                                           \
        __global const float *s_ = src + (size_t)(zc) * plane;                                     \
        for (int j_ = 0; j_ < WT_NL; j_++)                                                         \
            if (goff[j_] >= 0) {                                                                   \
                const float v_ = s_[goff[j_]];                                                     \
                pre[j_] = LAPSE_WT_BIN ? (v_ != 0.0f ? 1.0f : 0.0f) : v_;                          \
            }                                                                                      \
    } while (0)
    const int nsteps = WT_KZ + 2 * EZ, p0 = z0 - EZ;
    WT_FETCH(clamp(p0, 0, nz - 1));
    /* uniform control flow; every barrier reached by all work-items in every step */
    for (int s = 0; s < nsteps; s++) {
        const int p = p0 + s, live = p - EZ < nz;
        __local float *t = ring + (s % WT_NS) * (WT_W * WT_H);
        if (live) {
#pragma unroll
            for (int j = 0; j < WT_NL; j++)
                if (goff[j] >= 0)
                    t[tid + WT_NT * j] = pre[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (live && s + 1 < nsteps)
            WT_FETCH(clamp(p + 1, 0, nz - 1));
        const int z = p - EZ;
        if (live && s >= 2 * EZ && z >= z0 && z < nz && x < nx) {
            int slot[2 * EZ + 1]; /* ring slot of plane z + dz */
#pragma unroll
            for (int k = 0; k <= 2 * EZ; k++)
                slot[k] = (s - 2 * EZ + k) % WT_NS;
#if KIND == 5 && N > 27 /* one copy of a large selection network (code size) */
#pragma unroll 1
#else
#pragma unroll
#endif
            for (int j = 0; j < WT_RO; j++) {
                const int ry = ly * WT_RO + j, y = y0 + ry;
                if (y < ny)
                    wt_output(ring, slot, lx, ry, orig, dst,
                              (size_t)z * plane + (size_t)y * (size_t)nx + (size_t)x, sub);
            }
        }
    }
}
