/*
 * window.cl - neighbourhood filters of lapse over a window given row by row (src/ops/op_window.c):
 * minimum / maximum (also of the 0/1 image x != 0, and the top-hat's subtraction), mean,
 * variance / standard deviation and median, for box and ellipsoid ("sphere") windows.
 *
 * The window of radii (rz, ry, rx) is the set of offsets (dz, dy, dx) with |dz| <= rz,
 * |dy| <= ry and |dx| <= w, where w = rows[(dz + rz) * (2 ry + 1) + (dy + ry)] is the half-width
 * of the row (dz, dy), or -1 when the row is empty: rx for every row of a box, the exact
 * ellipsoid rule for a sphere (made on the host). An axis along which the buffer has extent 1
 * (z of 2-D data) is dropped: only offset 0 is visited along it, i.e. the window is the slice
 * through the centre (a z radius on 2-D data changes nothing). Since the planner grows every
 * buffer by the reach, a buffer has extent 1 along an axis with a non-zero radius only when the
 * image has, so this rule does not depend on the tiling.
 *
 * Neighbours beyond the buffer edge clamp to the edge (SciPy's mode='nearest'). Every voxel
 * visits its window in the fixed order dz, dy, dx ascending, so its arithmetic does not depend
 * on the buffer's size: a tiled run equals an untiled one bit for bit. One work-item per voxel,
 * x fastest. Arguments nx, ny, nz are the buffer dims.
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

/* Largest window of the median (values): box radius <= 4 on every axis (9^3), sphere <= 5 (515).
 * The working set of the forgetful selection holds (n + 3) / 2 values. Must match
 * LAPSE_MEDIAN_MAX_WINDOW of src/ops/op_window.c. */
#define LAPSE_MEDIAN_MAX 729
#define LAPSE_MEDIAN_SET ((LAPSE_MEDIAN_MAX + 3) / 2)

/* The voxel of this work-item (returns when outside) and its effective radii. */
#define LAPSE_WIN_SETUP()                                                                          \
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);     \
    if (x >= nx || y >= ny || z >= nz)                                                             \
        return;                                                                                    \
    const size_t idx = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + (size_t)x;              \
    const int ez = nz > 1 ? rz : 0, ey = ny > 1 ? ry : 0, ex = nx > 1 ? rx : 0

/* Visit the window: BODY runs with float v = the neighbour's value, in the order dz, dy, dx. */
#define LAPSE_WIN_FOR(BODY)                                                                        \
    for (int dz = -ez; dz <= ez; dz++) {                                                           \
        const size_t zz = (size_t)clamp(z + dz, 0, nz - 1);                                        \
        for (int dy = -ey; dy <= ey; dy++) {                                                       \
            int w = rows[(dz + rz) * (2 * ry + 1) + (dy + ry)];                                    \
            if (w < 0)                                                                             \
                continue;                                                                          \
            w = min(w, ex);                                                                        \
            __global const float *line =                                                           \
                src + (zz * (size_t)ny + (size_t)clamp(y + dy, 0, ny - 1)) * (size_t)nx;           \
            for (int dx = -w; dx <= w; dx++) {                                                     \
                const float v = line[clamp(x + dx, 0, nx - 1)];                                    \
                BODY;                                                                              \
            }                                                                                      \
        }                                                                                          \
    }

#define LAPSE_WIN_ARGS                                                                             \
    __global const float *src, __global float *dst, int nx, int ny, int nz, int rz, int ry,        \
        int rx, __global const int *rows

/* Minimum (is_max = 0) or maximum (1) over the window with fmin / fmax from the centre value (a
 * NaN neighbour is ignored unless all are NaN, as the box filters). binarize: of (v != 0 ? 1 : 0)
 * instead of v (NaN is non-zero). sub: dst = orig - extreme (the top-hat), else dst = extreme. */
__kernel void lapse_win_minmax(LAPSE_WIN_ARGS, __global const float *orig, int is_max,
                               int binarize, int sub)
{
    LAPSE_WIN_SETUP();
    float c = src[idx];
    float m = binarize ? (c != 0.0f ? 1.0f : 0.0f) : c;
    if (is_max) {
        LAPSE_WIN_FOR(m = fmax(m, binarize ? (v != 0.0f ? 1.0f : 0.0f) : v));
    } else {
        LAPSE_WIN_FOR(m = fmin(m, binarize ? (v != 0.0f ? 1.0f : 0.0f) : v));
    }
    dst[idx] = sub ? orig[idx] - m : m;
}

/* Mean: the float32 sum in window order divided by the number of window voxels. */
__kernel void lapse_win_mean(LAPSE_WIN_ARGS)
{
    LAPSE_WIN_SETUP();
    float s = 0.0f;
    int n = 0;
    LAPSE_WIN_FOR(s += v; n++);
    dst[idx] = s / (float)n;
}

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
/* Mean of a large window (more than LAPSE_WIN_MEAN_DOUBLE_N voxels, src/ops/op_window.c): the
 * sum in double in window order divided by the count in double, rounded once to float32. The
 * host checks cl_khr_fp64 first. */
__kernel void lapse_win_mean_d(LAPSE_WIN_ARGS)
{
    LAPSE_WIN_SETUP();
    double s = 0.0;
    int n = 0;
    LAPSE_WIN_FOR(s += (double)v; n++);
    dst[idx] = (float)(s / (double)n);
}
#endif

/* Population variance (ddof 0) in two passes over the window: the mean as lapse_win_mean, then
 * the sum of (v - mean)^2 in window order divided by n; with take_sqrt its square root. */
__kernel void lapse_win_var(LAPSE_WIN_ARGS, int take_sqrt)
{
    LAPSE_WIN_SETUP();
    float s = 0.0f, sc = 0.0f;
    int n = 0;
    LAPSE_WIN_FOR(n++);
    if (n > LAPSE_VAR_PLAIN_N) {
        LAPSE_WIN_FOR(LAPSE_KAHAN(s, sc, v));
    } else {
        LAPSE_WIN_FOR(s += v);
    }
    const float mean = s / (float)n;
    float q = 0.0f, qc = 0.0f, e = 0.0f, ec = 0.0f;
    if (n > LAPSE_VAR_PLAIN_N) {
        LAPSE_WIN_FOR(const float d = v - mean; LAPSE_KAHAN(q, qc, d * d); LAPSE_KAHAN(e, ec, d));
    } else {
        LAPSE_WIN_FOR(const float d = v - mean; q += d * d; e += d);
    }
    float var = (q - e * e / (float)n) / (float)n;
    var = var < 0.0f ? 0.0f : var; /* rounding, where every deviation is ~0; NaN stays */
    dst[idx] = take_sqrt ? sqrt(var) : var;
}

/* Drop the smallest and the largest of set[0..*m-1] (*m >= 2; first the minimum, then the
 * maximum of what is left, each swapped to the end). */
static void lapse_drop_extremes(float *set, int *m)
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

/* Median of the window (its size n is odd: boxes and ellipsoids are symmetric about the
 * centre): the value of rank (n - 1) / 2 in sorted order, exact. Forgetful selection: the first
 * (n + 3) / 2 values are loaded and the smallest and largest dropped (neither can be the
 * median); then each further value is added and again both extremes are dropped; the one value
 * left is the median. The working set is a private array of SET values: n <= 2 SET - 3 (the
 * host picks the kernel by the window's size: lapse_win_median_125 up to 125 values,
 * lapse_win_median up to LAPSE_MEDIAN_MAX). With a NaN in the window the result is one of the
 * window's values, unspecified. */
#define LAPSE_WIN_MEDIAN_KERNEL(name, SET)                                                         \
    __kernel void name(LAPSE_WIN_ARGS)                                                             \
    {                                                                                              \
        LAPSE_WIN_SETUP();                                                                         \
        int n = 0;                                                                                 \
        LAPSE_WIN_FOR(n++);                                                                        \
        const int load = (n + 3) / 2;                                                              \
        float set[SET];                                                                            \
        int m = 0, seen = 0;                                                                       \
        LAPSE_WIN_FOR({                                                                            \
            set[m++] = v;                                                                          \
            seen++;                                                                                \
            if (seen >= load)                                                                      \
                lapse_drop_extremes(set, &m);                                                      \
        });                                                                                        \
        dst[idx] = set[0];                                                                         \
    }
LAPSE_WIN_MEDIAN_KERNEL(lapse_win_median, LAPSE_MEDIAN_SET)
LAPSE_WIN_MEDIAN_KERNEL(lapse_win_median_125, 64)

/* ---------------------------------------------------------------- small medians in registers */

/* The windows of radius 1: the 3x3x3 box (27 values), the 3x3 box in y, x (9), the 3-D cross
 * (7: the sphere of radius 1) and the 2-D one (5). The host picks these for effective radii
 * (1, 1, 1) and (0, 1, 1). Same forgetful selection as lapse_win_median, on a private array
 * whose indices are all compile-time constants (loops unrolled), so that it lives in registers;
 * compare-exchanges with fmin / fmax. The median is the same value as lapse_win_median's (with a
 * NaN in the window also one of the window's values, unspecified). */
#define LAPSE_CSWAP(a, b)                                                                          \
    do {                                                                                           \
        const float lo_ = fmin(a, b);                                                              \
        b = fmax(a, b);                                                                            \
        a = lo_;                                                                                   \
    } while (0)

/* Median of v[0..n-1] (n odd; a compile-time constant at every call of this always-inlined
 * function, so that the loops unroll and v[] stays in registers): round r keeps the set
 * v[r..L-1], L = (n + 3) / 2; from round 1 on the next value enters at v[L-1] (where the last
 * maximum was dropped); the minimum is swapped to v[r] and the maximum to v[L-1]; after the last
 * round the median is v[L-2]. */
static inline __attribute__((always_inline)) float lapse_median_fixed(float *v, const int n)
{
    const int L = (n + 3) / 2;
#pragma unroll
    for (int r = 0; r < (n - 1) / 2; r++) {
        if (r > 0)
            v[L - 1] = v[L + r - 1];
#pragma unroll
        for (int i = r + 1; i < L; i++)
            LAPSE_CSWAP(v[r], v[i]);
#pragma unroll
        for (int i = r + 1; i < L - 1; i++)
            LAPSE_CSWAP(v[i], v[L - 1]);
    }
    return v[L - 2];
}

#define LAPSE_FIXED_SETUP()                                                                        \
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);     \
    if (x >= nx || y >= ny || z >= nz)                                                             \
        return;                                                                                    \
    const size_t idx = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + (size_t)x;              \
    const int xm = max(x - 1, 0), xp = min(x + 1, nx - 1);                                         \
    const size_t r0 = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx

/* Row of (z + dz, y + dy), clamped. */
#define LAPSE_ROW(dz, dy)                                                                          \
    (((size_t)clamp(z + (dz), 0, nz - 1) * (size_t)ny + (size_t)clamp(y + (dy), 0, ny - 1)) *      \
     (size_t)nx)

__kernel void lapse_win_median_box27(__global const float *src, __global float *dst, int nx,
                                     int ny, int nz)
{
    LAPSE_FIXED_SETUP();
    (void)r0;
    float v[27];
#pragma unroll
    for (int dz = -1; dz <= 1; dz++)
#pragma unroll
        for (int dy = -1; dy <= 1; dy++) {
            const size_t row = LAPSE_ROW(dz, dy);
            const int k = ((dz + 1) * 3 + (dy + 1)) * 3;
            v[k] = src[row + (size_t)xm];
            v[k + 1] = src[row + (size_t)x];
            v[k + 2] = src[row + (size_t)xp];
        }
    dst[idx] = lapse_median_fixed(v, 27);
}

__kernel void lapse_win_median_box9(__global const float *src, __global float *dst, int nx, int ny,
                                    int nz)
{
    LAPSE_FIXED_SETUP();
    (void)r0;
    float v[9];
#pragma unroll
    for (int dy = -1; dy <= 1; dy++) {
        const size_t row = LAPSE_ROW(0, dy);
        v[(dy + 1) * 3] = src[row + (size_t)xm];
        v[(dy + 1) * 3 + 1] = src[row + (size_t)x];
        v[(dy + 1) * 3 + 2] = src[row + (size_t)xp];
    }
    dst[idx] = lapse_median_fixed(v, 9);
}

__kernel void lapse_win_median_cross7(__global const float *src, __global float *dst, int nx,
                                      int ny, int nz)
{
    LAPSE_FIXED_SETUP();
    float v[7] = {src[LAPSE_ROW(-1, 0) + (size_t)x], src[LAPSE_ROW(0, -1) + (size_t)x],
                  src[r0 + (size_t)xm],              src[idx],
                  src[r0 + (size_t)xp],              src[LAPSE_ROW(0, 1) + (size_t)x],
                  src[LAPSE_ROW(1, 0) + (size_t)x]};
    dst[idx] = lapse_median_fixed(v, 7);
}

__kernel void lapse_win_median_cross5(__global const float *src, __global float *dst, int nx,
                                      int ny, int nz)
{
    LAPSE_FIXED_SETUP();
    float v[5] = {src[LAPSE_ROW(0, -1) + (size_t)x], src[r0 + (size_t)xm], src[idx],
                  src[r0 + (size_t)xp], src[LAPSE_ROW(0, 1) + (size_t)x]};
    dst[idx] = lapse_median_fixed(v, 5);
}
