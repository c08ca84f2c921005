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

/* Population variance (ddof 0) in two passes over the window: the mean as lapse_win_mean, then
 * the sum of (v - mean)^2 in window order divided by n; with take_sqrt its square root. */
__kernel void lapse_win_var(LAPSE_WIN_ARGS, int take_sqrt)
{
    LAPSE_WIN_SETUP();
    float s = 0.0f;
    int n = 0;
    LAPSE_WIN_FOR(s += v; n++);
    const float mean = s / (float)n;
    float q = 0.0f;
    LAPSE_WIN_FOR(const float d = v - mean; q += d * d);
    const float var = q / (float)n;
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
 * left is the median. n <= LAPSE_MEDIAN_MAX (checked by the host through the radius limits).
 * With a NaN in the window the result is one of the window's values, unspecified. */
__kernel void lapse_win_median(LAPSE_WIN_ARGS)
{
    LAPSE_WIN_SETUP();
    int n = 0;
    LAPSE_WIN_FOR(n++);
    const int load = (n + 3) / 2;
    float set[LAPSE_MEDIAN_SET];
    int m = 0, seen = 0;
    LAPSE_WIN_FOR({
        set[m++] = v;
        seen++;
        if (seen >= load)
            lapse_drop_extremes(set, &m);
    });
    dst[idx] = set[0];
}
