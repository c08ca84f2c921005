/*
 * sep.c - separable and fused box filters on the device (see sep.h). The tiled variant runs
 * the x pass through a local-memory row tile and the y / z passes with several outputs per
 * work-item (filters_tiled.cl); small box filters run as one fused 3-D kernel. The simple
 * variant (filters.cl) runs one work-item per voxel and pass. Minimum / maximum passes of large
 * radii run as van Herk / Gil-Werman passes (filters_vhgw.cl) in both variants. The geometry of
 * the tiled kernels is read back from the program (lapse_tiled_geometry), since build options
 * may override it.
 */
#include "ops/sep.h"

#include <stdlib.h>
#include <string.h>

#define TILED "filters_tiled.cl"

/* Minimum / maximum passes of at least this radius run as van Herk / Gil-Werman passes
 * (filters_vhgw.cl), whose cost does not grow with the radius; below it the direct passes are
 * faster (on PoCL from 6 on, on the H200 tiled passes up to 32 at least: docs/benchmarks.md). */
#define VHGW_MIN_RADIUS_CPU 6  /* PoCL: measured crossover (docs/benchmarks.md) */
#define VHGW_MIN_RADIUS_GPU 64 /* H200: the tiled direct passes win up to r = 32 at least */

/* Geometry values of filters_tiled.cl, in the order lapse_tiled_geometry writes them. */
enum {
    G_COUNT,
    G_XG,     /* x tile: work-items per row */
    G_XROWS,  /* x tile: rows per work-group */
    G_XK,     /* x tile: outputs per work-item */
    G_COLK,   /* column pass: outputs per work-item */
    G_COLWX,  /* column pass: local size 0 */
    G_COLWY,  /* column pass: local size 1 */
    G_BTX,    /* fused box: local size 0 */
    G_BTY,    /* fused box: local size 1 */
    G_BKZ,    /* fused box: output planes per work-item */
    G_BYS,    /* fused box: outputs per work-item along y */
    G_BRMAX,  /* fused box: largest radius */
    G_IMPL,   /* fused box: formulation */
    G_TUNE,   /* 1: every fused box filter runs lapse_box3d_* (the tunable kernels) */
    G_B1M_TX, /* lapse_box1_mean: local size 0, 1, outputs along y, planes per work-item */
    G_B1M_TY,
    G_B1M_YS,
    G_B1M_KZ,
    G_B1X_TX, /* lapse_box1_min / max: local size 0, 1, planes per work-group */
    G_B1X_TY,
    G_B1X_KZ,
    G_BG_TX, /* lapse_boxg_*: local size 0, 1, planes per work-group */
    G_BG_TY,
    G_BG_KZ,
    G_N
};

static const char *const kind_name[4] = {"gauss", "mean", "min", "max"};

/* Tiled kernel families and the geometry index of their local size 0 (size 1 follows). */
typedef enum { F_XT, F_COL, F_BOX3D, F_BOX1, F_BOXG } family_t;

static void family_kernel(family_t f, lapse_sep_kind_t kind, char *name, size_t len)
{
    static const char *const prefix[] = {"lapse_xt_", "lapse_col_", "lapse_box3d_", "lapse_box1_",
                                         "lapse_boxg_"};
    snprintf(name, len, "%s%s", prefix[f], kind_name[kind]);
}

static void family_local(const lapse_dev_t *d, family_t f, lapse_sep_kind_t kind, size_t l[3])
{
    int a = f == F_XT      ? G_XG
            : f == F_COL   ? G_COLWX
            : f == F_BOX3D ? G_BTX
            : f == F_BOX1  ? (kind == LAPSE_SEP_MEAN ? G_B1M_TX : G_B1X_TX)
                           : G_BG_TX;
    l[0] = (size_t)d->geom[a];
    l[1] = (size_t)d->geom[a + 1];
    l[2] = 1;
}

/* Read the tiled kernels' geometry from the program (one work-item writes it). */
static lapse_status_t read_geometry(lapse_dev_t *d)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    size_t one = 1;
    cl_kernel k = NULL;
    cl_mem buf = NULL;
    LAPSE_TRY(lapse_dev_kernel(d, TILED, "lapse_tiled_geometry", &k, NULL));
    buf = clCreateBuffer(d->cl->ctx, CL_MEM_WRITE_ONLY, G_N * sizeof(cl_int), NULL, &e);
    LAPSE_CL(e);
    LAPSE_ARG(k, 0, buf);
    LAPSE_CL(clEnqueueNDRangeKernel(d->cl->queue, k, 1, NULL, &one, NULL, 0, NULL, NULL));
    LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, buf, CL_TRUE, 0, G_N * sizeof(cl_int), d->geom, 0,
                                 NULL, NULL));
    if (d->geom[G_COUNT] != G_N)
        LAPSE_FAIL(LAPSE_ECL, "filters_tiled.cl reports %d geometry values, sep.c expects %d",
                   (int)d->geom[G_COUNT], G_N);
    for (int i = 1; i < G_N; i++)
        if (d->geom[i] < (i == G_IMPL || i == G_TUNE ? 0 : 1) || d->geom[i] > 4096)
            LAPSE_FAIL(LAPSE_ECL, "filters_tiled.cl geometry value %d is %d", i, (int)d->geom[i]);
cleanup:
    if (buf)
        clReleaseMemObject(buf);
    return st;
}

/* Whether the tiled filters run on this device (decided once): not LAPSE_KERNELS=simple, our
 * work-group shapes and local tiles fit, and every tiled kernel takes its work-group shape. */
static lapse_status_t tiled(lapse_dev_t *d, int *yes)
{
    lapse_status_t st = LAPSE_OK;
    if (d->filters_state == 0) {
        int fits = !d->simple && d->use_local && d->local_mem >= 16384;
        if (fits)
            LAPSE_TRY(read_geometry(d));
        for (int f = F_XT; f <= F_BOXG && fits; f++)
            for (int kind = f <= F_COL ? 0 : 1; kind < 4 && fits; kind++) {
                char name[64];
                size_t kwg = 0, l[3];
                cl_kernel k;
                family_kernel((family_t)f, (lapse_sep_kind_t)kind, name, sizeof name);
                LAPSE_TRY(lapse_dev_kernel(d, TILED, name, &k, &kwg));
                family_local(d, (family_t)f, (lapse_sep_kind_t)kind, l);
                if (l[0] * l[1] == 0 || kwg < l[0] * l[1])
                    fits = 0;
            }
        d->filters_state = fits ? 1 : -1;
    }
    *yes = d->filters_state == 1;
cleanup:
    return st;
}

const char *lapse_dev_variant(lapse_dev_t *d)
{
    int yes = 0;
    if (tiled(d, &yes) != LAPSE_OK)
        lapse_err_clear();
    return yes ? "tiled" : "simple";
}

lapse_status_t lapse_sep_weights_create(lapse_dev_t *d, const double sigma[3],
                                        lapse_sep_weights_t **out)
{
    lapse_status_t st = LAPSE_OK;
    float *host = NULL;
    double *wd = NULL;
    size_t total = 0;
    cl_int e = CL_SUCCESS;
    lapse_sep_weights_t *w = calloc(1, sizeof *w);
    LAPSE_ALLOC(w);
    for (int a = 0; a < 3; a++) {
        w->r[a] = (int)lapse_gauss_radius(sigma[a]);
        w->off[a] = (int)total;
        total += 2 * (size_t)w->r[a] + 1;
    }
    host = malloc(total * sizeof *host);
    wd = malloc(total * sizeof *wd);
    LAPSE_ALLOC(host);
    LAPSE_ALLOC(wd);
    for (int a = 0; a < 3; a++) {
        int r = lapse_gauss_weights(sigma[a], wd + w->off[a]);
        if (r != w->r[a])
            LAPSE_FAIL(LAPSE_ERUNTIME, "Gaussian radius %d differs from reach %d", r, w->r[a]);
    }
    for (size_t i = 0; i < total; i++)
        host[i] = (float)wd[i];
    w->buf = clCreateBuffer(d->cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                            total * sizeof *host, host, &e);
    LAPSE_CL(e);
    *out = w;
    w = NULL;
cleanup:
    lapse_sep_weights_release(w);
    free(wd);
    free(host);
    return st;
}

void lapse_sep_weights_release(void *p)
{
    lapse_sep_weights_t *w = p;
    if (w == NULL)
        return;
    if (w->buf)
        clReleaseMemObject(w->buf);
    free(w);
}

/* Simple kernel of one pass (filters.cl): one work-item per voxel. axis 0 = x, 1 = y, 2 = z. */
static lapse_status_t pass_simple(lapse_dev_t *d, lapse_sep_kind_t kind, cl_mem src, cl_mem dst,
                                  cl_int axis, cl_int ra, cl_mem w, cl_int woff,
                                  const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel kern;
    char name[64];
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    snprintf(name, sizeof name, "lapse_sep_%s", kind_name[kind]);
    LAPSE_TRY(lapse_dev_kernel(d, "filters.cl", name, &kern, NULL));
    LAPSE_ARG(kern, 0, src);
    LAPSE_ARG(kern, 1, dst);
    LAPSE_ARG(kern, 2, nx);
    LAPSE_ARG(kern, 3, ny);
    LAPSE_ARG(kern, 4, nz);
    LAPSE_ARG(kern, 5, axis);
    LAPSE_ARG(kern, 6, ra);
    if (kind == LAPSE_SEP_GAUSS) {
        LAPSE_ARG(kern, 7, w);
        LAPSE_ARG(kern, 8, woff);
    } else if (kind == LAPSE_SEP_MEAN) {
        cl_float scale = (cl_float)(1.0 / (2.0 * ra + 1.0));
        LAPSE_ARG(kern, 7, scale);
    }
    LAPSE_TRY(lapse_dev_launch_3d(d, kern, (size_t)nx, (size_t)ny, (size_t)nz));
cleanup:
    return st;
}

static lapse_status_t pass_mean_double(lapse_dev_t *d, cl_mem src, cl_mem dst, cl_int axis,
                                       cl_int ra, const int64_t dim[3]);

/* Tiled kernel of one pass (filters_tiled.cl): the x pass through a local-memory row tile, the
 * y and z passes with G_COLK outputs per work-item; dbl: the mean summed in double
 * (lapse_xt_meand, lapse_col_meand). Falls back to the simple kernel when the x tile does not fit
 * in local memory. */
static lapse_status_t pass_tiled(lapse_dev_t *d, lapse_sep_kind_t kind, int dbl, cl_mem src,
                                 cl_mem dst, cl_int axis, cl_int ra, cl_mem w, cl_int woff,
                                 const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    cl_float scale = (cl_float)(1.0 / (2.0 * ra + 1.0));
    cl_mem wbuf = kind == LAPSE_SEP_GAUSS ? w : NULL;
    const size_t xg = (size_t)d->geom[G_XG], xk = (size_t)d->geom[G_XK];
    const size_t colk = (size_t)d->geom[G_COLK];
    size_t tile = (size_t)d->geom[G_XROWS] * (xg * xk + 2 * (size_t)ra) *
                  (dbl ? sizeof(cl_double) : sizeof(cl_float)),
           l[3]; /* lapse_xt_meand's tile holds doubles */
    if (axis == 0 && tile + 1024 > d->local_mem)
        return dbl ? pass_mean_double(d, src, dst, axis, ra, dim)
                   : pass_simple(d, kind, src, dst, axis, ra, w, woff, dim);
    family_t f = axis == 0 ? F_XT : F_COL;
    char name[64];
    cl_kernel kern;
    family_kernel(f, kind, name, sizeof name);
    if (dbl)
        strncat(name, "d", sizeof name - strlen(name) - 1);
    LAPSE_TRY(lapse_dev_kernel(d, TILED, name, &kern, NULL));
    family_local(d, f, kind, l);
    cl_uint a = 0;
    LAPSE_ARG(kern, a++, src);
    LAPSE_ARG(kern, a++, dst);
    LAPSE_ARG(kern, a++, nx);
    LAPSE_ARG(kern, a++, ny);
    LAPSE_ARG(kern, a++, nz);
    if (axis != 0)
        LAPSE_ARG(kern, a++, axis);
    LAPSE_ARG(kern, a++, ra);
    LAPSE_ARG(kern, a++, wbuf);
    LAPSE_ARG(kern, a++, woff);
    LAPSE_ARG(kern, a++, scale);
    if (axis == 0) {
        LAPSE_CL(clSetKernelArg(kern, a++, tile, NULL));
        size_t g[3] = {((size_t)nx + xg * xk - 1) / (xg * xk) * xg, (size_t)ny, (size_t)nz};
        LAPSE_TRY(lapse_dev_enqueue(d, kern, 3, g, l));
    } else {
        size_t g[3] = {(size_t)nx, (size_t)ny, (size_t)nz};
        g[axis] = (g[axis] + colk - 1) / colk;
        LAPSE_TRY(lapse_dev_enqueue(d, kern, 3, g, l));
    }
cleanup:
    return st;
}

/* Whether a box filter of radii r runs as one fused 3D kernel: tiled variant, a box filter,
 * some radius > 0 and every radius <= the kernels' largest (G_BRMAX). */
static lapse_status_t box_fused(lapse_dev_t *d, lapse_sep_kind_t kind, const int r[3], int *yes)
{
    lapse_status_t st = LAPSE_OK;
    int t = 0;
    *yes = 0;
    if (kind == LAPSE_SEP_GAUSS)
        return LAPSE_OK;
    LAPSE_TRY(tiled(d, &t));
    if (!t)
        goto cleanup;
    for (int a = 0; a < 3; a++)
        if (r[a] < 0 || r[a] > d->geom[G_BRMAX])
            goto cleanup;
    *yes = r[0] > 0 || r[1] > 0 || r[2] > 0;
cleanup:
    return st;
}

/* Whether lapse_boxg_mean runs from a program built for its radii (LAPSE_BG_FIX=0: the one
 * program for every radius, for comparison). */
static int fix_radius(void)
{
    const char *v = getenv("LAPSE_BG_FIX");
    return !(v && strcmp(v, "0") == 0);
}

/* lapse_boxg_* of kind for the radii r alone: filters_tiled.cl built with LAPSE_BG_FIX (its
 * folds over constant radii unroll; the same operations in the same order, the same bits), the
 * kernel named "<name>_r<z>_<y>_<x>". *k stays NULL when the device cannot run it with the
 * work-group size of the general kernel (the caller then takes that one). */
static lapse_status_t boxg_fixed(lapse_dev_t *d, lapse_sep_kind_t kind, const int r[3],
                                 const char *base, cl_kernel *k)
{
    lapse_status_t st = LAPSE_OK;
    char defs[256], name[96];
    size_t kwg = 0, l[3];
    cl_kernel kern = NULL;
    *k = NULL;
    snprintf(name, sizeof name, "%.40s_r%d_%d_%d", base, r[0], r[1], r[2]);
    snprintf(defs, sizeof defs,
             "-DLAPSE_BG_FIX=1 -DLAPSE_BG_FIX_Z=%d -DLAPSE_BG_FIX_Y=%d -DLAPSE_BG_FIX_X=%d "
             "-DLAPSE_BG_FIX_NAME=%s -DLAPSE_BG_FIX_KIND=%d",
             r[0], r[1], r[2], name, (int)kind);
    LAPSE_TRY(lapse_dev_kernel_with(d, TILED, defs, name, &kern, &kwg));
    family_local(d, F_BOXG, kind, l);
    if (kwg >= l[0] * l[1])
        *k = kern;
cleanup:
    return st;
}

/* Fused 3D box filter of radii r: dst = box(src), or, with orig != NULL, dst = orig - box(src)
 * (top-hat). Kernel: radii (1, 1, 1) lapse_box1_*, other radii lapse_boxg_* (the formulations
 * that measured best per operation, filters_tiled.cl); every radius lapse_box3d_* in a program
 * built with LAPSE_BOX_TUNE=1 (the tuning sweep). */
static lapse_status_t run_box3d(lapse_dev_t *d, lapse_sep_kind_t kind, const int r[3], cl_mem src,
                                cl_mem orig, cl_mem dst, const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    size_t bys = 1, bkz = (size_t)d->geom[G_BG_KZ];
    family_t f = F_BOXG;
    if (d->geom[G_TUNE]) {
        f = F_BOX3D;
        bys = (size_t)d->geom[G_BYS];
        bkz = (size_t)d->geom[G_BKZ];
    } else if (r[0] == 1 && r[1] == 1 && r[2] == 1) {
        f = F_BOX1;
        bys = kind == LAPSE_SEP_MEAN ? (size_t)d->geom[G_B1M_YS] : 1;
        bkz = (size_t)d->geom[kind == LAPSE_SEP_MEAN ? G_B1M_KZ : G_B1X_KZ];
    }
    char name[64];
    cl_kernel kern;
    family_kernel(f, kind, name, sizeof name);
    kern = NULL;
    if (f == F_BOXG && kind == LAPSE_SEP_MEAN && fix_radius())
        LAPSE_TRY(boxg_fixed(d, kind, r, name, &kern));
    if (kern == NULL)
        LAPSE_TRY(lapse_dev_kernel(d, TILED, name, &kern, NULL));
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    cl_int rx = r[2], ry = r[1], rz = r[0], sub = orig != NULL;
    cl_float sx = (cl_float)(1.0 / (2.0 * rx + 1.0)), sy = (cl_float)(1.0 / (2.0 * ry + 1.0)),
             sz = (cl_float)(1.0 / (2.0 * rz + 1.0));
    cl_mem o = orig ? orig : src;
    LAPSE_ARG(kern, 0, src);
    LAPSE_ARG(kern, 1, o);
    LAPSE_ARG(kern, 2, dst);
    LAPSE_ARG(kern, 3, nx);
    LAPSE_ARG(kern, 4, ny);
    LAPSE_ARG(kern, 5, nz);
    LAPSE_ARG(kern, 6, rx);
    LAPSE_ARG(kern, 7, ry);
    LAPSE_ARG(kern, 8, rz);
    LAPSE_ARG(kern, 9, sx);
    LAPSE_ARG(kern, 10, sy);
    LAPSE_ARG(kern, 11, sz);
    LAPSE_ARG(kern, 12, sub);
    size_t l[3], g[3] = {(size_t)nx, ((size_t)ny + bys - 1) / bys, ((size_t)nz + bkz - 1) / bkz};
    family_local(d, f, kind, l);
    LAPSE_TRY(lapse_dev_enqueue(d, kern, 3, g, l)); /* z: one work-item (group) per BKZ planes */
cleanup:
    return st;
}

/* Minimum / maximum pass of radius ra along axis in time independent of ra (filters_vhgw.cl,
 * van Herk / Gil-Werman): one work-item per segment of 2ra+1 outputs of a line. src != dst. */
static lapse_status_t pass_vhgw(lapse_dev_t *d, lapse_sep_kind_t kind, cl_mem src, cl_mem dst,
                                cl_int axis, cl_int ra, const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel kern;
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    size_t g[3] = {(size_t)nx, (size_t)ny, (size_t)nz};
    g[axis] = (g[axis] + 2 * (size_t)ra) / (2 * (size_t)ra + 1); /* segments per line */
    LAPSE_TRY(lapse_dev_kernel(d, "filters_vhgw.cl",
                               kind == LAPSE_SEP_MIN ? "lapse_vhgw_min" : "lapse_vhgw_max", &kern,
                               NULL));
    LAPSE_ARG(kern, 0, src);
    LAPSE_ARG(kern, 1, dst);
    LAPSE_ARG(kern, 2, nx);
    LAPSE_ARG(kern, 3, ny);
    LAPSE_ARG(kern, 4, nz);
    LAPSE_ARG(kern, 5, axis);
    LAPSE_ARG(kern, 6, ra);
    LAPSE_TRY(lapse_dev_launch_3d(d, kern, g[0], g[1], g[2]));
cleanup:
    return st;
}

/* The separable passes x, y, z (radius 0 skipped) from src; each pass writes whichever of a, b
 * is not its source (the first writes a). *res: where the result is (src when every radius is
 * 0). */
/* The mean pass along axis in double, the simple kernel (filters.cl lapse_sep_mean_d). */
static lapse_status_t pass_mean_double(lapse_dev_t *d, cl_mem src, cl_mem dst, cl_int axis,
                                       cl_int ra, const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel kern;
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    LAPSE_TRY(lapse_dev_kernel(d, "filters.cl", "lapse_sep_mean_d", &kern, NULL));
    LAPSE_ARG(kern, 0, src);
    LAPSE_ARG(kern, 1, dst);
    LAPSE_ARG(kern, 2, nx);
    LAPSE_ARG(kern, 3, ny);
    LAPSE_ARG(kern, 4, nz);
    LAPSE_ARG(kern, 5, axis);
    LAPSE_ARG(kern, 6, ra);
    LAPSE_TRY(lapse_dev_launch_3d(d, kern, (size_t)nx, (size_t)ny, (size_t)nz));
cleanup:
    return st;
}

/* The separable passes x, y, z; dbl: a mean pass of a radius above LAPSE_SEP_MEAN_DOUBLE_R sums
 * in double. */
static lapse_status_t passes(lapse_dev_t *d, lapse_sep_kind_t kind, int dbl, const int r[3],
                             const lapse_sep_weights_t *w, cl_mem src, cl_mem a, cl_mem b,
                             const int64_t dim[3], cl_mem *res)
{
    lapse_status_t st = LAPSE_OK;
    int t = 0;
    LAPSE_TRY(tiled(d, &t));
    for (cl_int axis = 0; axis < 3; axis++) { /* 0 = x, 1 = y, 2 = z */
        cl_int ra = kind == LAPSE_SEP_GAUSS ? w->r[2 - axis] : r[2 - axis];
        if (ra == 0)
            continue;
        cl_mem out = src == a ? b : a;
        cl_mem wb = kind == LAPSE_SEP_GAUSS ? w->buf : NULL;
        cl_int off = kind == LAPSE_SEP_GAUSS ? w->off[2 - axis] : 0;
        const int long_mean = dbl && kind == LAPSE_SEP_MEAN && ra > LAPSE_SEP_MEAN_DOUBLE_R;
        if (long_mean && t)
            LAPSE_TRY(pass_tiled(d, kind, 1, src, out, axis, ra, wb, off, dim));
        else if (long_mean)
            LAPSE_TRY(pass_mean_double(d, src, out, axis, ra, dim));
        else if ((kind == LAPSE_SEP_MIN || kind == LAPSE_SEP_MAX) &&
                 ra >= (d->cl->dev.is_gpu ? VHGW_MIN_RADIUS_GPU : VHGW_MIN_RADIUS_CPU))
            LAPSE_TRY(pass_vhgw(d, kind, src, out, axis, ra, dim));
        else if (t)
            LAPSE_TRY(pass_tiled(d, kind, 0, src, out, axis, ra, wb, off, dim));
        else
            LAPSE_TRY(pass_simple(d, kind, src, out, axis, ra, wb, off, dim));
        src = out;
    }
    *res = src;
cleanup:
    return st;
}

lapse_status_t lapse_sep_filter(lapse_dev_t *d, lapse_sep_kind_t kind, const int r[3],
                                const lapse_sep_weights_t *w, cl_mem src, cl_mem dst,
                                cl_mem scratch, const int64_t dim[3], int *res)
{
    lapse_status_t st = LAPSE_OK;
    int fused = 0;
    cl_mem out = dst;
    const int dbl = kind == LAPSE_SEP_MEAN_D;
    if (dbl)
        kind = LAPSE_SEP_MEAN;
    LAPSE_TRY(box_fused(d, kind, r, &fused));
    if (fused) {
        out = src == dst ? scratch : dst;
        LAPSE_TRY(run_box3d(d, kind, r, src, NULL, out, dim));
    } else {
        LAPSE_TRY(passes(d, kind, dbl, r, w, src, dst, scratch, dim, &out));
        if (out == src && src != dst) /* every radius 0 */
            LAPSE_TRY(lapse_dev_copy(d, src, dst, (size_t)(dim[0] * dim[1] * dim[2])));
        out = out == src ? dst : out;
    }
    *res = out == dst ? 0 : 1;
cleanup:
    return st;
}

lapse_status_t lapse_sep_top_hat(lapse_dev_t *d, const int r[3], cl_mem src, cl_mem dst,
                                 cl_mem scratch, const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    int fused = 0;
    cl_mem m = NULL, o = NULL;
    cl_kernel ks;
    LAPSE_TRY(box_fused(d, LAPSE_SEP_MIN, r, &fused));
    if (fused) {
        LAPSE_TRY(run_box3d(d, LAPSE_SEP_MIN, r, src, NULL, scratch, dim));
        LAPSE_TRY(run_box3d(d, LAPSE_SEP_MAX, r, scratch, src, dst, dim));
        goto cleanup;
    }
    LAPSE_TRY(passes(d, LAPSE_SEP_MIN, 0, r, NULL, src, scratch, dst, dim, &m));
    LAPSE_TRY(passes(d, LAPSE_SEP_MAX, 0, r, NULL, m, scratch, dst, dim, &o));
    cl_ulong n = (cl_ulong)(dim[0] * dim[1] * dim[2]);
    LAPSE_TRY(
        lapse_dev_kernel(d, "pointwise.cl", d->simple ? "lapse_sub" : "lapse_sub4", &ks, NULL));
    LAPSE_ARG(ks, 0, src);
    LAPSE_ARG(ks, 1, o);
    LAPSE_ARG(ks, 2, dst);
    LAPSE_ARG(ks, 3, n);
    LAPSE_TRY(lapse_dev_launch_1d(d, ks, d->simple ? (size_t)n : ((size_t)n + 3) / 4));
cleanup:
    return st;
}
