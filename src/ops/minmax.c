/*
 * minmax.c - the fused minimum / maximum box kernel of the tiled variant (see minmax.h): picks
 * the geometry, builds kernels/minmax_fused.cl for the configuration (lapse_dev_kernel_with,
 * one program per configuration, cached) and launches it; a pair (opening, closing, top-hats) as
 * two one-filter launches unless LAPSE_MM_FUSE2=1 asks for the one kernel. The simple variant,
 * radii above LAPSE_MM_RMAX and devices that do not take the work-group leave it to the callers'
 * separable passes.
 */
#include "ops/minmax.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MM_FILE "minmax_fused.cl"

/* Geometry of the kernel: outputs per work-group along x (a multiple of 4) and y, output
 * planes per work-group (>= LAPSE_MM_RMAX), work-items per work-group (1-D). */
typedef struct {
    int tx, ty, kz, nt;
} mm_geom_t;

/* Defaults measured on an H200 (bench/sweep_small.sh, docs/benchmarks.md runs I and J): one
 * filter 64 x 8, 64 planes, 128 work-items (erode r = 1: 0.756 ms against 1.17 with 64 x 32 x 32 /
 * 256, 0.766 with 32 planes);
 * two filters with x and y radii <= 1 32 x 16, 32 planes, 128 work-items (opening r = 1: 2.01
 * against 2.91 ms with 64 x 16 / 256), else 64 x 32, 32 planes, 256 work-items (top-hat r = (1,
 * 3, 3): 2.39 against 2.80 ms). Tuning: LAPSE_MM_GEOM1 / LAPSE_MM_GEOM2 = "TX,TY,KZ,NT" override
 * them for one / two filters. */
static lapse_status_t mm_geom(const lapse_mm_t *f, const int r[3], mm_geom_t *g)
{
    lapse_status_t st = LAPSE_OK;
    const char *var = f->two ? "LAPSE_MM_GEOM2" : "LAPSE_MM_GEOM1", *env = getenv(var);
    if (!f->two)
        *g = (mm_geom_t){64, 8, 64, 128};
    else if (r[1] <= 1 && r[2] <= 1)
        *g = (mm_geom_t){32, 16, 32, 128};
    else
        *g = (mm_geom_t){64, 32, 32, 256};
    if (env == NULL || env[0] == '\0')
        goto cleanup;
    mm_geom_t e;
    char tail;
    if (sscanf(env, "%d,%d,%d,%d%c", &e.tx, &e.ty, &e.kz, &e.nt, &tail) != 4 || e.tx < 4 ||
        e.tx > 512 || e.tx % 4 != 0 || e.ty < 1 || e.ty > 128 || e.kz < LAPSE_MM_RMAX ||
        e.kz > 1024 || e.nt < 32 || e.nt > 1024)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "%s=\"%s\": expected TX,TY,KZ,NT (TX a multiple of 4 in 4..512, TY 1..128, KZ "
                   "%d..1024, NT 32..1024)",
                   var, env, LAPSE_MM_RMAX);
    *g = e;
cleanup:
    return st;
}

/* Local memory the kernel declares (bytes), as minmax_fused.cl sizes its tiles. */
static size_t mm_local_bytes(const lapse_mm_t *f, const mm_geom_t *g, const int r[3])
{
    int two = f->two != 0;
    int h0 = g->ty + 2 * r[1] * (1 + two), w1 = g->tx + 2 * r[2] * two;
    int q1 = (w1 + 3) / 4, nq = (3 + 2 * r[2]) / 4 + 1;
    return (size_t)(h0 * (q1 + nq - 1) + h0 * q1) * 16;
}

/* The kernel for f (radii r, dims dim) into *k with its geometry *g; *k = NULL (nothing built
 * or enqueued) where the fused kernel does not take the work: the simple variant, a device without
 * usable local memory or with too little of it, radii outside 0..LAPSE_MM_RMAX or all 0, a plane
 * of 2^31 voxels or more, a device whose work-group limit for the kernel is below g->nt. */
static lapse_status_t mm_kernel(lapse_dev_t *d, const lapse_mm_t *f, const int r[3],
                                const int64_t dim[3], cl_kernel *k, mm_geom_t *g)
{
    lapse_status_t st = LAPSE_OK;
    char name[96], defs[512];
    size_t kwg = 0;
    cl_kernel kk;
    *k = NULL;
    if (d->simple || !d->use_local || dim[1] * dim[2] >= ((int64_t)1 << 31))
        return LAPSE_OK;
    if (r[0] == 0 && r[1] == 0 && r[2] == 0)
        return LAPSE_OK;
    for (int a = 0; a < 3; a++)
        if (r[a] < 0 || r[a] > LAPSE_MM_RMAX)
            return LAPSE_OK;
    LAPSE_TRY(mm_geom(f, r, g));
    if (mm_local_bytes(f, g, r) + 1024 > d->local_mem)
        return LAPSE_OK;
    int ka = f->first == LAPSE_SEP_MIN ? 2 : 3, kb = f->two ? 5 - ka : 0;
    snprintf(name, sizeof name, "lapse_mm_%d%d_r%d%d%d_b%d_%dx%dx%dn%d", ka, kb, r[0], r[1], r[2],
             f->binarize != 0, g->tx, g->ty, g->kz, g->nt);
    snprintf(defs, sizeof defs,
             "-DLAPSE_MM_NAME=%s -DLAPSE_MM_KA=%d -DLAPSE_MM_KB=%d -DLAPSE_MM_RZ=%d "
             "-DLAPSE_MM_RY=%d -DLAPSE_MM_RX=%d -DLAPSE_MM_BIN=%d -DLAPSE_MM_TX=%d "
             "-DLAPSE_MM_TY=%d -DLAPSE_MM_KZ=%d -DLAPSE_MM_NT=%d",
             name, ka, kb, r[0], r[1], r[2], f->binarize != 0, g->tx, g->ty, g->kz, g->nt);
    LAPSE_TRY(lapse_dev_kernel_heavy(d, MM_FILE, defs, name, &kk, &kwg));
    if (kwg >= (size_t)g->nt)
        *k = kk;
cleanup:
    return st;
}

/* Enqueue k (geometry g, subtraction sub) over src into dst, orig the subtrahend's buffer. */
static lapse_status_t mm_enqueue(lapse_dev_t *d, cl_kernel k, const mm_geom_t *g, int sub,
                                 cl_mem src, cl_mem orig, cl_mem dst, const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0], s = sub;
    LAPSE_ARG(k, 0, src);
    LAPSE_ARG(k, 1, orig);
    LAPSE_ARG(k, 2, dst);
    LAPSE_ARG(k, 3, nx);
    LAPSE_ARG(k, 4, ny);
    LAPSE_ARG(k, 5, nz);
    LAPSE_ARG(k, 6, s);
    size_t l[3] = {(size_t)g->nt, 1, 1};
    size_t n[3] = {((size_t)nx + (size_t)g->tx - 1) / (size_t)g->tx * (size_t)g->nt,
                   ((size_t)ny + (size_t)g->ty - 1) / (size_t)g->ty,
                   ((size_t)nz + (size_t)g->kz - 1) / (size_t)g->kz};
    LAPSE_TRY(lapse_dev_enqueue(d, k, 3, n, l));
cleanup:
    return st;
}

lapse_status_t lapse_mm_run(lapse_dev_t *d, const lapse_mm_t *f, const int r[3], cl_mem src,
                            cl_mem dst, const int64_t dim[3], int *ran)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    mm_geom_t g;
    *ran = 0;
    LAPSE_TRY(mm_kernel(d, f, r, dim, &k, &g));
    if (k == NULL)
        goto cleanup;
    LAPSE_TRY(mm_enqueue(d, k, &g, f->sub, src, src, dst, dim));
    *ran = 1;
cleanup:
    return st;
}

lapse_status_t lapse_mm_pair(lapse_dev_t *d, const lapse_mm_t *f, const int r[3], cl_mem src,
                             cl_mem dst, cl_mem scratch, const int64_t dim[3], int *ran, int *res)
{
    lapse_status_t st = LAPSE_OK;
    const char *env = getenv("LAPSE_MM_FUSE2");
    *ran = 0;
    *res = 0;
    if (env != NULL && strcmp(env, "1") == 0) { /* both filters in one kernel */
        cl_mem to = dst == src ? scratch : dst;
        LAPSE_TRY(lapse_mm_run(d, f, r, src, to, dim, ran));
        if (*ran)
            *res = to == dst ? 0 : 1;
        goto cleanup;
    }
    /* two one-filter launches: the first filter (binarizing) src -> scratch, the second
     * scratch -> dst with the subtraction of src; both kernels are built before either runs,
     * so that either both run or neither does */
    const lapse_mm_t fa = {f->first, 0, f->binarize, 0};
    const lapse_mm_t fb = {f->first == LAPSE_SEP_MIN ? LAPSE_SEP_MAX : LAPSE_SEP_MIN, 0, 0, f->sub};
    cl_kernel ka, kb;
    mm_geom_t ga, gb;
    LAPSE_TRY(mm_kernel(d, &fa, r, dim, &ka, &ga));
    if (ka == NULL)
        goto cleanup;
    LAPSE_TRY(mm_kernel(d, &fb, r, dim, &kb, &gb));
    if (kb == NULL)
        goto cleanup;
    LAPSE_TRY(mm_enqueue(d, ka, &ga, 0, src, src, scratch, dim));
    LAPSE_TRY(mm_enqueue(d, kb, &gb, f->sub, scratch, src, dst, dim));
    *ran = 1;
cleanup:
    return st;
}
