/*
 * op_window.c - the window family: filters that visit every voxel's whole window (box or
 * ellipsoid) on the device, kernels/window.cl: median_box, median_sphere, mean_sphere,
 * minimum_sphere, maximum_sphere, variance_box, standard_deviation_box, top_hat_sphere,
 * erode_sphere, dilate_sphere.
 *
 * The sphere footprint of radii (rz, ry, rx) is the ellipsoid sum over the axes with r > 0 of
 * (d / r)^2 <= 1 (d = 0 on axes with r = 0), decided exactly in integers. This is the rule of
 * clesperanto's *_sphere kernels (which evaluate it in float32: the footprints are the same for
 * every radius 0..16 on each axis, checked) and of skimage.morphology.ball / disk for equal
 * radii. An axis along which the image has extent 1 (z of [t, y, x] data) is dropped, so a z
 * radius on 2-D data changes nothing, as in clesperanto (SciPy with mode='nearest' would repeat
 * the plane and weight it for the mean, variance and median; for boxes, minima and maxima the
 * two agree). The CPU references here visit the window with their own inclusion test and
 * compute in double. The tiled variant runs windows with radii <= 4 through
 * kernels/window_tiled.cl (same arithmetic, values read once through local memory).
 */
#include "ops/family.h"

#include <assert.h>

/* Largest median window: must match LAPSE_MEDIAN_MAX of kernels/window.cl. The radius limits of
 * median_box (4: 9^3 = 729 values) and median_sphere (5: 515 values) keep every window below. */
#define MEDIAN_MAX_WINDOW   729
#define MEDIAN_BOX_MAX_R    4
#define MEDIAN_SPHERE_MAX_R 5
#define SPHERE_MAX_R        50 /* the other sphere filters: cost grows as r^3 per voxel */
#define VAR_MAX_R           50 /* variance_box: two direct passes over the window */

/* ---------------------------------------------------------------- footprints */

/* Whether offset d[z, y, x] lies in the ellipsoid of radii r (exact: cross-multiplied in 64-bit
 * integers; radii <= 1000 keep every product below 2^63). */
static int in_ellipsoid(const int r[3], const int d[3])
{
    int64_t p = 1, sum = 0;
    for (int a = 0; a < 3; a++) {
        if (r[a] == 0 && d[a] != 0)
            return 0;
        if (r[a] > 0)
            p *= (int64_t)r[a] * r[a];
    }
    for (int a = 0; a < 3; a++)
        if (r[a] > 0)
            sum += (int64_t)d[a] * d[a] * (p / ((int64_t)r[a] * r[a]));
    return sum <= p;
}

/* Half-width along x of row (dz, dy) of the window of radii r: rx for a box; for an ellipsoid
 * the largest |dx| <= rx inside it, -1 when none is. */
static int row_halfwidth(const int r[3], int sphere, int dz, int dy)
{
    if (!sphere)
        return r[2];
    int w = r[2];
    while (w >= 0 && !in_ellipsoid(r, (const int[3]){dz, dy, w}))
        w--;
    return w;
}

/* Device state of a window step: the row table of kernels/window.cl. */
typedef struct {
    cl_mem rows;
    int r[3];
    int64_t count; /* voxels in the window (no axis dropped) */
    int sphere;    /* 1: ellipsoid, 0: box */
} win_state_t;

static void win_release(void *p)
{
    win_state_t *w = p;
    if (w == NULL)
        return;
    if (w->rows)
        clReleaseMemObject(w->rows);
    free(w);
}

static lapse_status_t win_prepare_shape(lapse_dev_t *d, const lapse_step_t *s, int sphere,
                                        void **state)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_int *host = NULL;
    win_state_t *w = calloc(1, sizeof *w);
    LAPSE_ALLOC(w);
    lapse_step_radii(s, w->r);
    w->sphere = sphere;
    size_t nrows = (2 * (size_t)w->r[0] + 1) * (2 * (size_t)w->r[1] + 1);
    host = malloc(nrows * sizeof *host);
    LAPSE_ALLOC(host);
    for (int dz = -w->r[0]; dz <= w->r[0]; dz++)
        for (int dy = -w->r[1]; dy <= w->r[1]; dy++) {
            int hw = row_halfwidth(w->r, sphere, dz, dy);
            host[(size_t)(dz + w->r[0]) * (2 * (size_t)w->r[1] + 1) + (size_t)(dy + w->r[1])] = hw;
            w->count += hw >= 0 ? 2 * (int64_t)hw + 1 : 0;
        }
    w->rows = clCreateBuffer(d->cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                             nrows * sizeof *host, host, &e);
    LAPSE_CL(e);
    *state = w;
    w = NULL;
cleanup:
    win_release(w);
    free(host);
    return st;
}

static lapse_status_t box_prepare(lapse_dev_t *d, const lapse_step_t *s, void **state)
{
    return win_prepare_shape(d, s, 0, state);
}

static lapse_status_t sphere_prepare(lapse_dev_t *d, const lapse_step_t *s, void **state)
{
    return win_prepare_shape(d, s, 1, state);
}

/* ---------------------------------------------------------------- launchers */

/* Kernel `name` of window.cl with its common arguments (src, dst, dims, radii, rows) set; the
 * kernel's own arguments follow from index 9. */
static lapse_status_t win_kernel(lapse_dev_t *d, const char *name, const win_state_t *w, cl_mem src,
                                 cl_mem dst, const int64_t dim[3], cl_kernel *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    cl_int rz = w->r[0], ry = w->r[1], rx = w->r[2];
    LAPSE_TRY(lapse_dev_kernel(d, "window.cl", name, &k, NULL));
    LAPSE_ARG(k, 0, src);
    LAPSE_ARG(k, 1, dst);
    LAPSE_ARG(k, 2, nx);
    LAPSE_ARG(k, 3, ny);
    LAPSE_ARG(k, 4, nz);
    LAPSE_ARG(k, 5, rz);
    LAPSE_ARG(k, 6, ry);
    LAPSE_ARG(k, 7, rx);
    LAPSE_ARG(k, 8, w->rows);
    *out = k;
cleanup:
    return st;
}

static lapse_status_t win_launch3d(lapse_dev_t *d, cl_kernel k, const int64_t dim[3])
{
    return lapse_dev_launch_3d(d, k, (size_t)dim[2], (size_t)dim[1], (size_t)dim[0]);
}

/* ---------------------------------------------------------------- the tiled variant */

/* Statistics of window_tiled.cl (LAPSE_WT_KIND). */
typedef enum { WT_MIN, WT_MAX, WT_MEAN, WT_VAR, WT_STD, WT_MEDIAN } wt_kind_t;

#define WT_RMAX 4  /* largest radius the tiled kernels take */
#define WT_NMAX 81 /* largest median window they take (its network unrolled, in registers) */
/* Geometry of window_tiled.cl: outputs per work-group along x (= work-items per row), outputs
 * per work-item along y, rows of work-items, output planes per work-group. Default 32, 4, 4, 32
 * (128 work-items, 32 x 16 outputs per plane: on an H200, run J of docs/benchmarks.md,
 * median_sphere r (1, 2, 2) 4.21 ms, variance_box r 1 1.59 ms against 4.28 and 1.65 with 64, 4,
 * 4, 32); LAPSE_WT_GEOM="TX,RO,WY,KZ" overrides it (the sweep of bench/sweep_small.sh). */
typedef struct {
    int tx, ro, wy, kz;
} wt_geom_t;

static lapse_status_t wt_geom(wt_geom_t *g)
{
    lapse_status_t st = LAPSE_OK;
    const char *env = getenv("LAPSE_WT_GEOM");
    *g = (wt_geom_t){32, 4, 4, 32};
    if (env == NULL || env[0] == '\0')
        goto cleanup;
    wt_geom_t e;
    char tail;
    if (sscanf(env, "%d,%d,%d,%d%c", &e.tx, &e.ro, &e.wy, &e.kz, &tail) != 4 || e.tx < 8 ||
        e.tx > 256 || e.ro < 1 || e.ro > 8 || e.wy < 1 || e.wy > 32 || e.tx * e.wy > 1024 ||
        e.kz < 1 || e.kz > 1024)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "LAPSE_WT_GEOM=\"%s\": expected TX,RO,WY,KZ (TX 8..256, RO 1..8, WY 1..32, "
                   "TX * WY <= 1024, KZ 1..1024)",
                   env);
    *g = e;
cleanup:
    return st;
}

#define WT_NET_MIN   13  /* smallest median window given a pruned sorting network (below) */
#define WT_NET_MAX   15  /* largest: measured on an H200 (docs/benchmarks.md, run Q) */
#define WT_NET_PART  400 /* characters per -D macro */
#define WT_NET_NPART 8   /* macros LAPSE_WT_NET0..7 (window_tiled.cl) */

/* The median of n values (n odd, WT_NET_MIN <= n <= WT_NET_MAX) as a comparator network for
 * window_tiled.cl (LAPSE_WT_NET0..7): Batcher's odd-even merge sort of the next power of two,
 * the comparators that reach wires >= n dropped (those hold +inf), then pruned backwards from
 * the output wire n / 2: a comparator whose two outputs the median does not need is left out,
 * one whose minimum (maximum) alone is needed becomes WL (WH), the others are WC
 * (compare-exchange). The median of 13 values takes 66 fmin / fmax against 84 for the forgetful
 * selection, of 15 values 84 against 112; below 13 values there is no gain. On an H200 the
 * 15-value network took median_sphere r (1, 2, 2) from 4.21 to 3.75 ms, but the 27-value one
 * (226 against 364) made median_box r 1 slower, 7.88 against 6.28 ms (its 27 values, the
 * NaN / -0 check and the fallback's copy in registers at once), so larger windows keep the
 * forgetful selection. Any correct selection network returns the same value, with the same
 * bits, on values without NaN and -0 (the kernel uses it only for those). Writes the -D options
 * into buf (one macro per ~400 characters); 0, or -1 when they do not fit. */
static int median_net(int n, char *buf, size_t len)
{
    enum { MAXC = 256 };
    int ca[MAXC], cb[MAXC], use[MAXC], nc = 0, p2 = 1, part = 0;
    unsigned need = 1u << (n / 2); /* the wires still needed, from the output backwards */
    while (p2 < n)
        p2 *= 2;
    for (int p = 1; p < p2; p *= 2)
        for (int k = p; k >= 1; k /= 2)
            for (int j = k % p; j + k < p2; j += 2 * k)
                for (int i = 0; i < k && i + j + k < p2; i++)
                    if ((i + j) / (2 * p) == (i + j + k) / (2 * p) && i + j + k < n) {
                        if (nc == MAXC)
                            return -1;
                        ca[nc] = i + j;
                        cb[nc++] = i + j + k;
                    }
    for (int c = nc - 1; c >= 0; c--) {
        const int lo = (need >> ca[c]) & 1u, hi = (need >> cb[c]) & 1u;
        use[c] = lo | hi << 1; /* 1: the minimum, 2: the maximum, 3: both */
        if (use[c])
            need |= 1u << ca[c] | 1u << cb[c];
    }
    static const char *const step[4] = {"", "WL", "WH", "WC"};
    size_t at = 0, start = 0;
    buf[0] = '\0';
    for (int c = 0; c < nc; c++) {
        if (!use[c])
            continue;
        if (at == 0 || at - start > WT_NET_PART) { /* a new macro */
            if (part == WT_NET_NPART || at >= len)
                return -1;
            at += (size_t)snprintf(buf + at, len - at, " -DLAPSE_WT_NET%d=", part++);
            start = at;
        }
        if (at >= len)
            return -1;
        at += (size_t)snprintf(buf + at, len - at, "%s(%d,%d);", step[use[c]], ca[c], cb[c]);
    }
    return at < len ? 0 : -1;
}

/* Run statistic kind of window w from src (orig: the subtraction's input, or NULL) into dst
 * with the tiled variant's kernel (window_tiled.cl, one program per window and statistic) when
 * it applies: the tiled variant, every radius <= WT_RMAX, a median window of <= WT_NMAX values,
 * its ring of plane tiles in local memory, a plane of < 2^31 voxels, the device takes its
 * work-group. *ran = 1 when enqueued, else 0 (nothing enqueued). */
static lapse_status_t wt_run(lapse_dev_t *d, const win_state_t *w, wt_kind_t kind, int binarize,
                             cl_mem src, cl_mem orig, cl_mem dst, const int64_t dim[3], int *ran)
{
    lapse_status_t st = LAPSE_OK;
    char name[96], defs[600], net[4096] = "";
    cl_kernel k;
    size_t kwg = 0;
    int e[3];
    int64_t n = 0;
    *ran = 0;
    if (d->simple || !d->use_local || dim[1] * dim[2] >= ((int64_t)1 << 31))
        return LAPSE_OK;
    for (int a = 0; a < 3; a++) {
        if (w->r[a] > WT_RMAX)
            return LAPSE_OK;
        e[a] = dim[a] > 1 ? w->r[a] : 0; /* window.cl drops an axis of extent 1 */
    }
    for (int dz = -e[0]; dz <= e[0]; dz++)
        for (int dy = -e[1]; dy <= e[1]; dy++) {
            int hw = row_halfwidth(w->r, w->sphere, dz, dy);
            n += hw < 0 ? 0 : 2 * (int64_t)(hw < e[2] ? hw : e[2]) + 1;
        }
    if (kind == WT_MEDIAN && n > WT_NMAX)
        return LAPSE_OK;
    wt_geom_t g;
    LAPSE_TRY(wt_geom(&g));
    const int nt = g.tx * g.wy, ty = g.ro * g.wy;
    size_t ring = (2 * (size_t)e[0] + 2) * (size_t)(ty + 2 * e[1]) * (size_t)(g.tx + 2 * e[2]) *
                  sizeof(cl_float);
    if (ring + 1024 > d->local_mem)
        return LAPSE_OK;
    int mfix = kind == WT_MEDIAN && e[1] == 1 && e[2] == 1 && e[0] <= 1; /* median_fixed's */
    const char *nv = getenv("LAPSE_WT_NET"); /* 0: the forgetful selection (comparisons) */
    if (kind == WT_MEDIAN && n >= WT_NET_MIN && n <= WT_NET_MAX && n % 2 == 1 &&
        !(nv && strcmp(nv, "0") == 0) && median_net((int)n, net, sizeof net) != 0)
        net[0] = '\0'; /* it did not fit: the forgetful selection */
    snprintf(name, sizeof name, "lapse_wt_k%d_b%d_r%d%d%d_e%d%d%d_s%d_%dx%dx%dx%d%s", (int)kind,
             binarize != 0, w->r[0], w->r[1], w->r[2], e[0], e[1], e[2], w->sphere, g.tx, g.ro,
             g.wy, g.kz, net[0] ? "_net" : "");
    snprintf(defs, sizeof defs,
             "-DLAPSE_WT_NAME=%s -DLAPSE_WT_KIND=%d -DLAPSE_WT_BIN=%d -DLAPSE_WT_RZ=%d "
             "-DLAPSE_WT_RY=%d -DLAPSE_WT_RX=%d -DLAPSE_WT_EZ=%d -DLAPSE_WT_EY=%d "
             "-DLAPSE_WT_EX=%d -DLAPSE_WT_SPHERE=%d -DLAPSE_WT_N=%lld -DLAPSE_WT_MFIX=%d "
             "-DLAPSE_WT_TX=%d -DLAPSE_WT_RO=%d -DLAPSE_WT_WY=%d -DLAPSE_WT_KZ=%d",
             name, (int)kind, binarize != 0, w->r[0], w->r[1], w->r[2], e[0], e[1], e[2], w->sphere,
             (long long)n, mfix, g.tx, g.ro, g.wy, g.kz);
    char *opts = malloc(strlen(defs) + strlen(net) + 1);
    LAPSE_ALLOC(opts);
    strcat(strcpy(opts, defs), net);
    st = lapse_dev_kernel_heavy(d, "window_tiled.cl", opts, name, &k, &kwg);
    free(opts);
    LAPSE_TRY(st);
    if (kwg < (size_t)nt)
        goto cleanup;
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0], sub = orig != NULL;
    cl_mem o = orig ? orig : src;
    LAPSE_ARG(k, 0, src);
    LAPSE_ARG(k, 1, o);
    LAPSE_ARG(k, 2, dst);
    LAPSE_ARG(k, 3, nx);
    LAPSE_ARG(k, 4, ny);
    LAPSE_ARG(k, 5, nz);
    LAPSE_ARG(k, 6, sub);
    size_t l[3] = {(size_t)nt, 1, 1};
    size_t gs[3] = {((size_t)nx + g.tx - 1) / g.tx * nt, ((size_t)ny + ty - 1) / ty,
                    ((size_t)nz + g.kz - 1) / g.kz};
    LAPSE_TRY(lapse_dev_enqueue(d, k, 3, gs, l));
    *ran = 1;
cleanup:
    return st;
}

/* dst = minimum / maximum of src (of src != 0 when binarize) over the window; with orig,
 * dst = orig - that. */
static lapse_status_t minmax_run(lapse_dev_t *d, const win_state_t *w, cl_mem src, cl_mem orig,
                                 cl_mem dst, const int64_t dim[3], int is_max, int binarize)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_int mx = is_max, bin = binarize, sub = orig != NULL;
    cl_mem o = orig ? orig : src;
    int ran = 0;
    LAPSE_TRY(wt_run(d, w, is_max ? WT_MAX : WT_MIN, binarize, src, orig, dst, dim, &ran));
    if (ran)
        goto cleanup;
    LAPSE_TRY(win_kernel(d, "lapse_win_minmax", w, src, dst, dim, &k));
    LAPSE_ARG(k, 9, o);
    LAPSE_ARG(k, 10, mx);
    LAPSE_ARG(k, 11, bin);
    LAPSE_ARG(k, 12, sub);
    LAPSE_TRY(win_launch3d(d, k, dim));
cleanup:
    return st;
}

#define WIN_LAUNCHER(fn)                                                                           \
    static lapse_status_t fn(lapse_dev_t *d, const lapse_step_t *s, void *state,                   \
                             const lapse_dvol_t *in, const lapse_dvol_t *out,                      \
                             const cl_mem *scratch, int *res)

#define MINMAX_OP(fn, is_max, binarize)                                                            \
    WIN_LAUNCHER(fn)                                                                               \
    {                                                                                              \
        (void)s;                                                                                   \
        (void)scratch;                                                                             \
        *res = 0;                                                                                  \
        return minmax_run(d, state, in[0].mem, NULL, out->mem, in[0].dim, is_max, binarize);       \
    }
MINMAX_OP(min_sphere_launch, 0, 0)
MINMAX_OP(max_sphere_launch, 1, 0)
MINMAX_OP(erode_sphere_launch, 0, 1)
MINMAX_OP(dilate_sphere_launch, 1, 1)

/* x - maximum_sphere(minimum_sphere(x)): the minimum into scratch[0], then the maximum with the
 * subtraction fused. */
WIN_LAUNCHER(top_hat_sphere_launch)
{
    lapse_status_t st = LAPSE_OK;
    (void)s;
    *res = 0;
    LAPSE_TRY(minmax_run(d, state, in[0].mem, NULL, scratch[0], in[0].dim, 0, 0));
    LAPSE_TRY(minmax_run(d, state, scratch[0], in[0].mem, out->mem, in[0].dim, 1, 0));
cleanup:
    return st;
}

/* Windows of more voxels than this (all axes counted) sum their mean in double (window.cl
 * lapse_win_mean_d): a float32 sum drifted from SciPy by 4.8e-6 relative over the 1257 voxels
 * of a disk of radius 20 and by 5.7e-5 over the 7845 of radius 50 (uint16 nuclei, 2026-12-03).
 * The tiled kernels (every radius <= WT_RMAX) never reach it. */
#define WIN_MEAN_DOUBLE_N 1024

/* The voxels of mean_sphere step s's ellipsoid, every axis counted. */
static int64_t sphere_count(const lapse_step_t *s)
{
    int r[3];
    int64_t n = 0;
    lapse_step_radii(s, r);
    for (int dz = -r[0]; dz <= r[0]; dz++)
        for (int dy = -r[1]; dy <= r[1]; dy++) {
            int hw = row_halfwidth(r, 1, dz, dy);
            n += hw >= 0 ? 2 * (int64_t)hw + 1 : 0;
        }
    return n;
}

/* Version 2 for the windows summed in double since 2026-12-03 (float32 before); the others
 * keep version 1 (same results, same fingerprint). */
static int mean_sphere_version(const lapse_step_t *s)
{
    return sphere_count(s) > WIN_MEAN_DOUBLE_N ? 2 : 1;
}

static const char *mean_sphere_extensions(const lapse_step_t *s)
{
    return sphere_count(s) > WIN_MEAN_DOUBLE_N ? "cl_khr_fp64" : NULL;
}

WIN_LAUNCHER(mean_sphere_launch)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    int ran = 0;
    (void)s;
    (void)scratch;
    *res = 0;
    if (((const win_state_t *)state)->count > WIN_MEAN_DOUBLE_N) {
        LAPSE_TRY(win_kernel(d, "lapse_win_mean_d", state, in[0].mem, out->mem, in[0].dim, &k));
        LAPSE_TRY(win_launch3d(d, k, in[0].dim));
        goto cleanup;
    }
    LAPSE_TRY(wt_run(d, state, WT_MEAN, 0, in[0].mem, NULL, out->mem, in[0].dim, &ran));
    if (ran)
        goto cleanup;
    LAPSE_TRY(win_kernel(d, "lapse_win_mean", state, in[0].mem, out->mem, in[0].dim, &k));
    LAPSE_TRY(win_launch3d(d, k, in[0].dim));
cleanup:
    return st;
}

static lapse_status_t var_run(lapse_dev_t *d, const win_state_t *w, const lapse_dvol_t *in,
                              const lapse_dvol_t *out, int take_sqrt)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_int sq = take_sqrt;
    int ran = 0;
    LAPSE_TRY(
        wt_run(d, w, take_sqrt ? WT_STD : WT_VAR, 0, in[0].mem, NULL, out->mem, in[0].dim, &ran));
    if (ran)
        goto cleanup;
    LAPSE_TRY(win_kernel(d, "lapse_win_var", w, in[0].mem, out->mem, in[0].dim, &k));
    LAPSE_ARG(k, 9, sq);
    LAPSE_TRY(win_launch3d(d, k, in[0].dim));
cleanup:
    return st;
}

/* Version 3 for the windows of more than 125 values (window.cl LAPSE_VAR_PLAIN_N), whose sums of
 * x and of the deviations are compensated since 2026-12-03 (plain float32 before: off by up to 100%
 * on 30000 + U(0, 1) at radius [10, 30, 30]); the smaller ones keep version 2 (same results). */
static int variance_version(const lapse_step_t *s)
{
    int r[3];
    lapse_step_radii(s, r);
    return (2 * r[0] + 1) * (2 * r[1] + 1) * (2 * r[2] + 1) > 125 ? 3 : 2;
}

WIN_LAUNCHER(variance_launch)
{
    (void)s;
    (void)scratch;
    *res = 0;
    return var_run(d, state, in, out, 0);
}

WIN_LAUNCHER(std_launch)
{
    (void)s;
    (void)scratch;
    *res = 0;
    return var_run(d, state, in, out, 1);
}

/* The kernel of window.cl that runs the median of w on a buffer of dims dim: the register
 * kernels for the effective radii (axes of extent 1 dropped) (1, 1, 1) and (0, 1, 1), else NULL:
 * a generic one (its working set sized by the window: up to 125 values, or up to 729). */
static const char *median_fixed(const win_state_t *w, const int64_t dim[3])
{
    int e[3];
    for (int a = 0; a < 3; a++)
        e[a] = dim[a] > 1 ? w->r[a] : 0;
    if (e[1] != 1 || e[2] != 1 || e[0] > 1)
        return NULL;
    if (e[0] == 1)
        return w->sphere ? "lapse_win_median_cross7" : "lapse_win_median_box27";
    return w->sphere ? "lapse_win_median_cross5" : "lapse_win_median_box9";
}

WIN_LAUNCHER(median_launch)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    const win_state_t *w = state;
    const char *fixed = median_fixed(w, in[0].dim);
    int ran = 0;
    (void)s;
    (void)scratch;
    *res = 0;
    LAPSE_TRY(wt_run(d, w, WT_MEDIAN, 0, in[0].mem, NULL, out->mem, in[0].dim, &ran));
    if (ran)
        goto cleanup;
    if (fixed) {
        cl_int nx = (cl_int)in[0].dim[2], ny = (cl_int)in[0].dim[1], nz = (cl_int)in[0].dim[0];
        LAPSE_TRY(lapse_dev_kernel(d, "window.cl", fixed, &k, NULL));
        LAPSE_ARG(k, 0, in[0].mem);
        LAPSE_ARG(k, 1, out->mem);
        LAPSE_ARG(k, 2, nx);
        LAPSE_ARG(k, 3, ny);
        LAPSE_ARG(k, 4, nz);
        LAPSE_TRY(win_launch3d(d, k, in[0].dim));
        goto cleanup;
    }
    if (w->count > MEDIAN_MAX_WINDOW) /* the parameter ranges prevent this */
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "median window of radii [%d, %d, %d] holds %lld values, more "
                   "than %d",
                   w->r[0], w->r[1], w->r[2], (long long)w->count, MEDIAN_MAX_WINDOW);
    LAPSE_TRY(win_kernel(d, w->count <= 125 ? "lapse_win_median_125" : "lapse_win_median", state,
                         in[0].mem, out->mem, in[0].dim, &k));
    LAPSE_TRY(win_launch3d(d, k, in[0].dim));
cleanup:
    return st;
}

/* ---------------------------------------------------------------- references */

typedef enum { R_MIN, R_MAX, R_MEAN, R_VAR, R_STD, R_MEDIAN } ref_kind_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int64_t clampi(int64_t v, int64_t hi)
{
    return v < 0 ? 0 : v > hi ? hi : v;
}

/* One statistic of the n window values v (v may be reordered); n >= 1: a window holds its
 * centre (radii >= 0). */
static double window_stat(ref_kind_t kind, double *v, size_t n)
{
    double acc = 0.0;
    assert(n > 0);
    switch (kind) {
    case R_MIN:
    case R_MAX:
        acc = v[0];
        for (size_t i = 1; i < n; i++)
            acc = kind == R_MIN ? fmin(acc, v[i]) : fmax(acc, v[i]);
        return acc;
    case R_MEAN:
        for (size_t i = 0; i < n; i++)
            acc += v[i];
        return acc / (double)n;
    case R_VAR:
    case R_STD: {
        double mean = 0.0;
        for (size_t i = 0; i < n; i++)
            mean += v[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            acc += (v[i] - mean) * (v[i] - mean);
        acc /= (double)n;
        return kind == R_STD ? sqrt(acc) : acc;
    }
    case R_MEDIAN:
        qsort(v, n, sizeof *v, cmp_double);
        return v[n / 2];
    }
    return NAN;
}

/* out = statistic of in over the window of radii r (box, or ellipsoid when sphere) at every
 * voxel, neighbours clamped to the edge, axes of extent 1 dropped; binarize: of in != 0. */
static void window_ref(ref_kind_t kind, const int r0[3], int sphere, int binarize, const double *in,
                       double *out, const int64_t dim[3])
{
    int r[3];
    for (int a = 0; a < 3; a++)
        r[a] = dim[a] > 1 ? r0[a] : 0;
    size_t cap = (2 * (size_t)r[0] + 1) * (2 * (size_t)r[1] + 1) * (2 * (size_t)r[2] + 1);
    double *v = malloc(cap * sizeof *v);
    if (v == NULL)
        abort(); /* references run in tests only */
    for (int64_t z = 0; z < dim[0]; z++)
        for (int64_t y = 0; y < dim[1]; y++)
            for (int64_t x = 0; x < dim[2]; x++) {
                size_t n = 0;
                for (int dz = -r[0]; dz <= r[0]; dz++)
                    for (int dy = -r[1]; dy <= r[1]; dy++)
                        for (int dx = -r[2]; dx <= r[2]; dx++) {
                            if (sphere && !in_ellipsoid(r, (const int[3]){dz, dy, dx}))
                                continue;
                            double val = in[(clampi(z + dz, dim[0] - 1) * dim[1] +
                                             clampi(y + dy, dim[1] - 1)) *
                                                dim[2] +
                                            clampi(x + dx, dim[2] - 1)];
                            v[n++] = binarize ? (val != 0.0 ? 1.0 : 0.0) : val;
                        }
                out[(z * dim[1] + y) * dim[2] + x] = window_stat(kind, v, n);
            }
    free(v);
}

#define WIN_REF(fn, kind, sphere, binarize)                                                        \
    static void fn(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)           \
    {                                                                                              \
        int r[3];                                                                                  \
        lapse_step_radii(s, r);                                                                    \
        window_ref(kind, r, sphere, binarize, in[0].v, out->v, in[0].dim);                         \
    }
WIN_REF(median_box_ref, R_MEDIAN, 0, 0)
WIN_REF(median_sphere_ref, R_MEDIAN, 1, 0)
WIN_REF(mean_sphere_ref, R_MEAN, 1, 0)
WIN_REF(min_sphere_ref, R_MIN, 1, 0)
WIN_REF(max_sphere_ref, R_MAX, 1, 0)
WIN_REF(variance_ref, R_VAR, 0, 0)
WIN_REF(std_ref, R_STD, 0, 0)
WIN_REF(erode_sphere_ref, R_MIN, 1, 1)
WIN_REF(dilate_sphere_ref, R_MAX, 1, 1)

static void top_hat_sphere_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    int r[3];
    size_t n = lapse_ref_voxels(in[0].dim);
    double *open = malloc((n ? n : 1) * sizeof *open);
    if (open == NULL)
        abort();
    lapse_step_radii(s, r);
    window_ref(R_MIN, r, 1, 0, in[0].v, open, in[0].dim);
    window_ref(R_MAX, r, 1, 0, open, out->v, in[0].dim);
    for (size_t i = 0; i < n; i++)
        out->v[i] = in[0].v[i] - out->v[i];
    free(open);
}

/* ---------------------------------------------------------------- descriptors */

static void win_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = (int64_t)s->p[0].v[a];
}

static void win2_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = 2 * (int64_t)s->p[0].v[a];
}

#define SPHERE_NOTE                                                                                \
    "; ellipsoid sum (d/r)^2 <= 1 decided exactly (clesperanto's sphere rule, = "                  \
    "skimage ball/disk for equal radii); an axis of extent 1 (z of 2-D data) is dropped, as "      \
    "clesperanto"
#define WIN_COMMON_ANY_VERSION                                                                     \
    .family = "window", .ninputs = 1, .nparams = 1, .footprint = LAPSE_FP_LOCAL, .inplace = 0,     \
    .kernels = "window.cl window_tiled.cl", .release = win_release
#define WIN_COMMON     WIN_COMMON_ANY_VERSION, .version = 1
#define RADIUS(max, h) LAPSE_P_VEC3I("radius", 0.0, (max), h)

const lapse_op_t lapse_op_median_box = {
    .name = "median_box",
    .help = "median over a (2r+1)^3 box (radius <= 4 per axis: at most 729 values)",
    .convention = "SciPy median_filter(size=2r+1, mode='nearest'), exact; an axis of extent 1 is "
                  "dropped (the same result); NaN in the window gives one of its values, "
                  "unspecified; clesperanto median_box (clamp to edge, the middle of the sorted "
                  "window) gives the same values",
    WIN_COMMON,
    .params = {RADIUS(MEDIAN_BOX_MAX_R, "box radius in voxels, z y x, at most 4")},
    .out_rule = LAPSE_OUT_SAME,
    .nscratch = 0,
    .reach = win_reach,
    .reach_doc = "radius",
    .prepare = box_prepare,
    .launch = median_launch,
    .reference = median_box_ref,
};

const lapse_op_t lapse_op_median_sphere = {
    .name = "median_sphere",
    .help = "median over an ellipsoid of radii r (radius <= 5 per axis: at most 515 values)",
    .convention = "SciPy median_filter(footprint=ellipsoid, mode='nearest'), exact" SPHERE_NOTE,
    WIN_COMMON,
    .params = {RADIUS(MEDIAN_SPHERE_MAX_R, "ellipsoid radius in voxels, z y x, at most 5")},
    .out_rule = LAPSE_OUT_SAME,
    .nscratch = 0,
    .reach = win_reach,
    .reach_doc = "radius",
    .prepare = sphere_prepare,
    .launch = median_launch,
    .reference = median_sphere_ref,
};

const lapse_op_t lapse_op_mean_sphere = {
    .name = "mean_sphere",
    .help = "mean over an ellipsoid of radii r (float32)",
    .convention = "SciPy correlate(footprint / count, mode='nearest'); float32 sum in window "
                  "order, divided by the count; windows of more than 1024 voxels (every axis "
                  "counted) sum in double (numerics version 2 there; needs cl_khr_fp64): a "
                  "float32 sum drifted from SciPy by 4.8e-6 relative at r 20 and 5.7e-5 at r 50 "
                  "(2-D, uint16 nuclei, 2026-12-03)" SPHERE_NOTE,
    WIN_COMMON,
    .version_of = mean_sphere_version,
    .extensions_of = mean_sphere_extensions,
    .params = {RADIUS(SPHERE_MAX_R, "ellipsoid radius in voxels, z y x")},
    .out_rule = LAPSE_OUT_F32,
    .nscratch = 0,
    .reach = win_reach,
    .reach_doc = "radius",
    .prepare = sphere_prepare,
    .launch = mean_sphere_launch,
    .reference = mean_sphere_ref,
};

const lapse_op_t lapse_op_minimum_sphere = {
    .name = "minimum_sphere",
    .help = "minimum over an ellipsoid of radii r (grey erosion)",
    .convention = "SciPy minimum_filter(footprint=ellipsoid, mode='nearest'); NaN neighbours "
                  "skipped as in minimum_box" SPHERE_NOTE,
    WIN_COMMON,
    .params = {RADIUS(SPHERE_MAX_R, "ellipsoid radius in voxels, z y x")},
    .out_rule = LAPSE_OUT_SAME,
    .nscratch = 0,
    .reach = win_reach,
    .reach_doc = "radius",
    .prepare = sphere_prepare,
    .launch = min_sphere_launch,
    .reference = min_sphere_ref,
};

const lapse_op_t lapse_op_maximum_sphere = {
    .name = "maximum_sphere",
    .help = "maximum over an ellipsoid of radii r (grey dilation)",
    .convention = "SciPy maximum_filter(footprint=ellipsoid, mode='nearest'); NaN neighbours "
                  "skipped as in minimum_box" SPHERE_NOTE,
    WIN_COMMON,
    .params = {RADIUS(SPHERE_MAX_R, "ellipsoid radius in voxels, z y x")},
    .out_rule = LAPSE_OUT_SAME,
    .nscratch = 0,
    .reach = win_reach,
    .reach_doc = "radius",
    .prepare = sphere_prepare,
    .launch = max_sphere_launch,
    .reference = max_sphere_ref,
};

const lapse_op_t lapse_op_variance_box = {
    .name = "variance_box",
    .help = "population variance over a (2r+1)^3 box (float32)",
    .convention =
        "SciPy uniform_filter(x^2) - uniform_filter(x)^2 (mode='nearest'), computed in "
        "two passes over the window in float32: the mean m, then with d = x - m the corrected "
        "two-pass (sum d^2 - (sum d)^2 / n) / n, whose second term cancels the error of m, the "
        "sums of x, d and d^2 compensated (Kahan) for windows of more than 125 values: within "
        "2e-6 relative of the double result also on data with a large offset (numerics version "
        "2; the plain two passes were off by 2e-3 at radius 1 on 30000 + U(0, 1) and 1.8e-4 at "
        "radius 6 on 1000 + U(0, 1); version 3 for windows of more than 125 values, whose plain "
        "sums of x and d were off by up to 100% at radius [10, 30, 30] on 30000 + U(0, 1)); "
        "a NaN or infinity makes NaN in exactly the windows that hold it (SciPy's running sums "
        "carry it along the rest of the line), as mean_box; clesperanto variance_box (plain "
        "float32 sums)",
    WIN_COMMON_ANY_VERSION,
    .version = 2,
    .version_of = variance_version,
    .params = {RADIUS(VAR_MAX_R, "box radius in voxels, z y x")},
    .out_rule = LAPSE_OUT_F32,
    .nscratch = 0,
    .reach = win_reach,
    .reach_doc = "radius",
    .prepare = box_prepare,
    .launch = variance_launch,
    .reference = variance_ref,
};

const lapse_op_t lapse_op_standard_deviation_box = {
    .name = "standard_deviation_box",
    .help = "population standard deviation over a (2r+1)^3 box (float32)",
    .convention = "sqrt of variance_box (SciPy uniform filters, mode='nearest'; the corrected "
                  "two passes, numerics version 2, 3 for windows of more than 125 values); "
                  "clesperanto standard_deviation_box",
    WIN_COMMON_ANY_VERSION,
    .version = 2,
    .version_of = variance_version,
    .params = {RADIUS(VAR_MAX_R, "box radius in voxels, z y x")},
    .out_rule = LAPSE_OUT_F32,
    .nscratch = 0,
    .reach = win_reach,
    .reach_doc = "radius",
    .prepare = box_prepare,
    .launch = std_launch,
    .reference = std_ref,
};

const lapse_op_t lapse_op_top_hat_sphere = {
    .name = "top_hat_sphere",
    .help = "white top-hat: x - maximum_sphere(minimum_sphere(x))",
    .convention = "SciPy white_tophat(footprint=ellipsoid, mode='nearest'); clesperanto "
                  "top_hat_sphere" SPHERE_NOTE,
    WIN_COMMON,
    .params = {RADIUS(SPHERE_MAX_R, "ellipsoid radius in voxels, z y x")},
    .out_rule = LAPSE_OUT_SAME,
    .nscratch = 1,
    .reach = win2_reach,
    .reach_doc = "2 radius",
    .prepare = sphere_prepare,
    .launch = top_hat_sphere_launch,
    .reference = top_hat_sphere_ref,
};

const lapse_op_t lapse_op_erode_sphere = {
    .name = "erode_sphere",
    .help = "binary erosion of x != 0 by an ellipsoid of radii r (uint8 0/1)",
    .convention = "SciPy binary_erosion(x != 0, ellipsoid, border_value=1) = grey_erosion of the "
                  "0/1 image with mode='nearest'; radius 1 is clesperanto erode_sphere (the 6- or "
                  "4-neighbourhood)" SPHERE_NOTE,
    WIN_COMMON,
    .params = {RADIUS(SPHERE_MAX_R, "ellipsoid radius in voxels, z y x")},
    .out_rule = LAPSE_OUT_U8,
    .nscratch = 0,
    .reach = win_reach,
    .reach_doc = "radius",
    .prepare = sphere_prepare,
    .launch = erode_sphere_launch,
    .reference = erode_sphere_ref,
};

const lapse_op_t lapse_op_dilate_sphere = {
    .name = "dilate_sphere",
    .help = "binary dilation of x != 0 by an ellipsoid of radii r (uint8 0/1)",
    .convention = "SciPy binary_dilation(x != 0, ellipsoid, border_value=0) = grey_dilation of the "
                  "0/1 image with mode='nearest'; radius 1 is clesperanto dilate_sphere (the 6- or "
                  "4-neighbourhood)" SPHERE_NOTE,
    WIN_COMMON,
    .params = {RADIUS(SPHERE_MAX_R, "ellipsoid radius in voxels, z y x")},
    .out_rule = LAPSE_OUT_U8,
    .nscratch = 0,
    .reach = win_reach,
    .reach_doc = "radius",
    .prepare = sphere_prepare,
    .launch = dilate_sphere_launch,
    .reference = dilate_sphere_ref,
};
