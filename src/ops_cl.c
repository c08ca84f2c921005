/*
 * ops_cl.c - device launchers of the pipeline operations (see ops_cl.h). Neighbourhood filters
 * run as separable passes x, then y, then z, each pass writing a buffer other than its input;
 * voxel-wise steps run in place. Two kernel variants: "tiled" (default: filters_tiled.cl, the
 * vector voxel-wise kernels, small box filters fused into one 3D kernel) and "simple" (one
 * work-item per voxel and pass; LAPSE_KERNELS=simple at lapse_opcl_create). Both give the same
 * bits. Work sizes are rounded up to whole work-groups (the kernels ignore the extra
 * work-items) so that odd volume sizes keep efficient work-group shapes.
 */
#include "ops_cl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Kernel names, in the order of the kernels[] array of lapse_opcl_t. The four filters of each
 * family (simple, x tile, column) are in the order Gaussian, mean, minimum, maximum, the order of
 * the LAPSE_F_* kinds of filters_tiled.cl. */
enum {
    K_GAUSS,
    K_MEAN,
    K_MIN,
    K_MAX,
    K_ADD,
    K_MUL,
    K_THRESH,
    K_SUB,
    K_ZMAX,
    K_U8F,
    K_U16F,
    K_PACK_F32,
    K_PACK_U8,
    K_PACK_U16,
    K_XT_GAUSS, /* filters_tiled.cl and the vector kernels: the "tiled" variant */
    K_XT_MEAN,
    K_XT_MIN,
    K_XT_MAX,
    K_COL_GAUSS,
    K_COL_MEAN,
    K_COL_MIN,
    K_COL_MAX,
    K_BOX_MEAN,
    K_BOX_MIN,
    K_BOX_MAX,
    K_BOX1_MEAN, /* default fused box kernels: radii (1, 1, 1) */
    K_BOX1_MIN,
    K_BOX1_MAX,
    K_BOXG_MEAN, /* default fused box kernels: other radii */
    K_BOXG_MIN,
    K_BOXG_MAX,
    K_ADD4,
    K_MUL4,
    K_THRESH4,
    K_SUB4,
    K_U8F4,
    K_U16F4,
    K_GEOM,
    K_COUNT
};
static const char *const kernel_names[K_COUNT] = {
    [K_GAUSS] = "lapse_sep_gauss",     [K_MEAN] = "lapse_sep_mean",
    [K_MIN] = "lapse_sep_min",         [K_MAX] = "lapse_sep_max",
    [K_ADD] = "lapse_add_scalar",      [K_MUL] = "lapse_mul_scalar",
    [K_THRESH] = "lapse_threshold",    [K_SUB] = "lapse_sub",
    [K_ZMAX] = "lapse_zmax",           [K_U8F] = "lapse_u8_to_f32",
    [K_U16F] = "lapse_u16_to_f32",     [K_PACK_F32] = "lapse_pack_f32",
    [K_PACK_U8] = "lapse_pack_u8",     [K_PACK_U16] = "lapse_pack_u16",
    [K_XT_GAUSS] = "lapse_xt_gauss",   [K_XT_MEAN] = "lapse_xt_mean",
    [K_XT_MIN] = "lapse_xt_min",       [K_XT_MAX] = "lapse_xt_max",
    [K_COL_GAUSS] = "lapse_col_gauss", [K_COL_MEAN] = "lapse_col_mean",
    [K_COL_MIN] = "lapse_col_min",     [K_COL_MAX] = "lapse_col_max",
    [K_BOX_MEAN] = "lapse_box3d_mean", [K_BOX_MIN] = "lapse_box3d_min",
    [K_BOX_MAX] = "lapse_box3d_max",   [K_BOX1_MEAN] = "lapse_box1_mean",
    [K_BOX1_MIN] = "lapse_box1_min",   [K_BOX1_MAX] = "lapse_box1_max",
    [K_BOXG_MEAN] = "lapse_boxg_mean", [K_BOXG_MIN] = "lapse_boxg_min",
    [K_BOXG_MAX] = "lapse_boxg_max",   [K_ADD4] = "lapse_add_scalar4",
    [K_MUL4] = "lapse_mul_scalar4",    [K_THRESH4] = "lapse_threshold4",
    [K_SUB4] = "lapse_sub4",           [K_U8F4] = "lapse_u8_to_f32_4",
    [K_U16F4] = "lapse_u16_to_f32_4",  [K_GEOM] = "lapse_tiled_geometry",
};
/* The kernel file (kernels/NAME.cl) of each kernel, for lapse_cl_kernel. */
#define F_FILT  "filters.cl"
#define F_TILED "filters_tiled.cl"
#define F_POINT "pointwise.cl"
#define F_CONV  "convert.cl"
static const char *const kernel_files[K_COUNT] = {
    [K_GAUSS] = F_FILT,      [K_MEAN] = F_FILT,       [K_MIN] = F_FILT,
    [K_MAX] = F_FILT,        [K_ADD] = F_POINT,       [K_MUL] = F_POINT,
    [K_THRESH] = F_POINT,    [K_SUB] = F_POINT,       [K_ZMAX] = F_POINT,
    [K_U8F] = F_CONV,        [K_U16F] = F_CONV,       [K_PACK_F32] = F_CONV,
    [K_PACK_U8] = F_CONV,    [K_PACK_U16] = F_CONV,   [K_XT_GAUSS] = F_TILED,
    [K_XT_MEAN] = F_TILED,   [K_XT_MIN] = F_TILED,    [K_XT_MAX] = F_TILED,
    [K_COL_GAUSS] = F_TILED, [K_COL_MEAN] = F_TILED,  [K_COL_MIN] = F_TILED,
    [K_COL_MAX] = F_TILED,   [K_BOX_MEAN] = F_TILED,  [K_BOX_MIN] = F_TILED,
    [K_BOX_MAX] = F_TILED,   [K_BOX1_MEAN] = F_TILED, [K_BOX1_MIN] = F_TILED,
    [K_BOX1_MAX] = F_TILED,  [K_BOXG_MEAN] = F_TILED, [K_BOXG_MIN] = F_TILED,
    [K_BOXG_MAX] = F_TILED,  [K_ADD4] = F_POINT,      [K_MUL4] = F_POINT,
    [K_THRESH4] = F_POINT,   [K_SUB4] = F_POINT,      [K_U8F4] = F_CONV,
    [K_U16F4] = F_CONV,      [K_GEOM] = F_TILED,
};

/* Geometry of filters_tiled.cl, read from the program (lapse_tiled_geometry) at create time:
 * the kernels' LAPSE_* tunables may be overridden in the build options. */
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

#define PROF_MAX 64 /* events held before they are folded into the running sum */

struct lapse_opcl {
    lapse_cl_t *cl;
    cl_kernel k[K_COUNT];
    int use_local;      /* 1: the device takes our fixed work-group shapes */
    int tiled;          /* 1: filters_tiled.cl and the vector kernels (not LAPSE_KERNELS=simple) */
    cl_ulong local_mem; /* CL_DEVICE_LOCAL_MEM_SIZE */
    cl_int g[G_N];      /* geometry of the tiled kernels (G_*) */
    int prof;           /* 1: record an event per launch (lapse_opcl_profile) */
    cl_event ev[PROF_MAX];
    int nev;        /* events held */
    int nkern;      /* kernels launched since the last take */
    double prof_ms; /* device time of the events already folded */
};

#define LOCAL_1D 256
static const size_t local_3d[3] = {32, 4, 1};

/* Whether kernel ki is one of the tiled filters, launched with its own work-group shape. */
static int is_tiled_filter(int ki)
{
    return ki >= K_XT_GAUSS && ki <= K_BOXG_MAX;
}

/* Work-group shape of tiled filter ki (from the geometry). */
static void tiled_local(const lapse_opcl_t *k, int ki, size_t local[3])
{
    int a = ki <= K_XT_MAX      ? G_XG
            : ki <= K_COL_MAX   ? G_COLWX
            : ki <= K_BOX_MAX   ? G_BTX
            : ki == K_BOX1_MEAN ? G_B1M_TX
            : ki <= K_BOX1_MAX  ? G_B1X_TX
                                : G_BG_TX;
    local[0] = (size_t)k->g[a];
    local[1] = (size_t)k->g[a + 1];
    local[2] = 1;
}

/* Read the tiled kernels' geometry from the program (one work-item writes it). */
static lapse_status_t read_geometry(lapse_opcl_t *k)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    size_t one = 1;
    cl_mem buf = clCreateBuffer(k->cl->ctx, CL_MEM_WRITE_ONLY, sizeof k->g, NULL, &e);
    LAPSE_CL(e);
    LAPSE_CL(clSetKernelArg(k->k[K_GEOM], 0, sizeof buf, &buf));
    LAPSE_CL(
        clEnqueueNDRangeKernel(k->cl->queue, k->k[K_GEOM], 1, NULL, &one, NULL, 0, NULL, NULL));
    LAPSE_CL(clEnqueueReadBuffer(k->cl->queue, buf, CL_TRUE, 0, sizeof k->g, k->g, 0, NULL, NULL));
    if (k->g[G_COUNT] != G_N)
        LAPSE_FAIL(LAPSE_ECL, "filters_tiled.cl reports %d geometry values, ops_cl.c expects %d",
                   (int)k->g[G_COUNT], G_N);
    for (int i = 1; i < G_N; i++)
        if (k->g[i] < (i == G_IMPL || i == G_TUNE ? 0 : 1) || k->g[i] > 4096)
            LAPSE_FAIL(LAPSE_ECL, "filters_tiled.cl geometry value %d is %d", i, (int)k->g[i]);
cleanup:
    if (buf)
        clReleaseMemObject(buf);
    return st;
}

/* Whether the device runs every tiled filter with its work-group shape and local tiles. */
static lapse_status_t tiled_fits(lapse_opcl_t *k, int *fits)
{
    lapse_status_t st = LAPSE_OK;
    *fits = k->local_mem >= 16384;
    for (int i = K_XT_GAUSS; i <= K_BOXG_MAX && *fits; i++) {
        size_t kwg = 0, l[3];
        tiled_local(k, i, l);
        LAPSE_CL(clGetKernelWorkGroupInfo(k->k[i], k->cl->dev.device, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof kwg, &kwg, NULL));
        if (l[0] * l[1] == 0 || kwg < l[0] * l[1])
            *fits = 0;
    }
cleanup:
    return st;
}

lapse_status_t lapse_opcl_create(lapse_cl_t *cl, lapse_opcl_t **out)
{
    lapse_status_t st = LAPSE_OK;
    size_t maxwg = 0, maxitems[3] = {0, 0, 0};
    lapse_opcl_t *k = calloc(1, sizeof *k);
    LAPSE_ALLOC(k);
    k->cl = cl;
    for (int i = 0; i < K_COUNT; i++)
        LAPSE_TRY(lapse_cl_kernel(cl, kernel_files[i], kernel_names[i], &k->k[i]));
    LAPSE_CL(
        clGetDeviceInfo(cl->dev.device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof maxwg, &maxwg, NULL));
    LAPSE_CL(clGetDeviceInfo(cl->dev.device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof maxitems,
                             maxitems, NULL));
    LAPSE_CL(clGetDeviceInfo(cl->dev.device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof k->local_mem,
                             &k->local_mem, NULL));
    LAPSE_TRY(read_geometry(k));
    k->use_local = maxwg >= LOCAL_1D && maxitems[0] >= LOCAL_1D && maxitems[1] >= local_3d[1];
    for (int i = 0; i < K_COUNT && k->use_local; i++) {
        size_t kwg = 0;
        if (is_tiled_filter(i) || i == K_GEOM)
            continue; /* own shapes: tiled_fits */
        LAPSE_CL(clGetKernelWorkGroupInfo(k->k[i], cl->dev.device, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof kwg, &kwg, NULL));
        if (kwg < LOCAL_1D)
            k->use_local = 0;
    }
    /* the tiled kernels need their work-group shapes and the fused box its local tiles */
    const char *env = getenv("LAPSE_KERNELS");
    int fits = 0;
    if (k->use_local)
        LAPSE_TRY(tiled_fits(k, &fits));
    k->tiled = fits && !(env && strcmp(env, "simple") == 0);
    *out = k;
    k = NULL;
cleanup:
    lapse_opcl_destroy(k);
    return st;
}

/* Fold the held events' device time into prof_ms and release them (waits for them). */
static lapse_status_t prof_drain(lapse_opcl_t *k)
{
    lapse_status_t st = LAPSE_OK;
    if (k->nev > 0)
        LAPSE_CL(clWaitForEvents((cl_uint)k->nev, k->ev));
    for (int i = 0; i < k->nev; i++) {
        cl_ulong t0 = 0, t1 = 0;
        LAPSE_CL(
            clGetEventProfilingInfo(k->ev[i], CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL));
        LAPSE_CL(clGetEventProfilingInfo(k->ev[i], CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL));
        k->prof_ms += (double)(t1 - t0) * 1e-6;
    }
cleanup:
    for (int i = 0; i < k->nev; i++)
        clReleaseEvent(k->ev[i]);
    k->nev = 0;
    return st;
}

void lapse_opcl_destroy(lapse_opcl_t *k)
{
    if (k == NULL)
        return;
    prof_drain(k); /* the kernels belong to k->cl (lapse_cl_kernel) */
    free(k);
}

const char *lapse_opcl_variant(const lapse_opcl_t *k)
{
    return k->tiled ? "tiled" : "simple";
}

void lapse_opcl_profile(lapse_opcl_t *k, int on)
{
    k->prof = on != 0;
}

lapse_status_t lapse_opcl_profile_take(lapse_opcl_t *k, double *ms, int *nkernels)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_TRY(prof_drain(k));
    *ms = k->prof_ms;
    *nkernels = k->nkern;
cleanup:
    k->prof_ms = 0.0;
    k->nkern = 0;
    return st;
}

static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

/* Enqueue kernel ki over global (rounded up to local when local is given); records an event
 * while profiling. */
static lapse_status_t enqueue(lapse_opcl_t *k, int ki, cl_uint dims, const size_t *global_in,
                              const size_t *local)
{
    lapse_status_t st = LAPSE_OK;
    size_t global[3];
    for (cl_uint a = 0; a < dims; a++) {
        if (global_in[a] == 0)
            return LAPSE_OK;
        global[a] = local ? round_up(global_in[a], local[a]) : global_in[a];
    }
    if (k->prof && k->nev == PROF_MAX)
        LAPSE_TRY(prof_drain(k));
    LAPSE_CL(clEnqueueNDRangeKernel(k->cl->queue, k->k[ki], dims, NULL, global, local, 0, NULL,
                                    k->prof ? &k->ev[k->nev] : NULL));
    if (k->prof) {
        k->nev++;
        k->nkern++;
    }
cleanup:
    return st;
}

/* Enqueue kernel over n work-items (1D). */
static lapse_status_t launch_1d(lapse_opcl_t *k, int ki, size_t n)
{
    size_t local = LOCAL_1D;
    return enqueue(k, ki, 1, &n, k->use_local ? &local : NULL);
}

/* Enqueue kernel over (nx, ny, nz) work-items, x fastest. */
static lapse_status_t launch_3d(lapse_opcl_t *k, int ki, size_t nx, size_t ny, size_t nz)
{
    size_t global[3] = {nx, ny, nz};
    return enqueue(k, ki, 3, global, k->use_local ? local_3d : NULL);
}

#define ARG(kern, i, v) LAPSE_CL(clSetKernelArg((kern), (i), sizeof(v), &(v)))

lapse_status_t lapse_opcl_weights_create(lapse_cl_t *cl, const lapse_step_t *steps, int n,
                                         lapse_opcl_weights_t *w)
{
    lapse_status_t st = LAPSE_OK;
    float *host = NULL;
    double *wd = NULL;
    size_t total = 0;
    cl_int e = CL_SUCCESS;
    memset(w, 0, sizeof *w);
    if (n > LAPSE_MAX_STEPS)
        LAPSE_FAIL(LAPSE_ECONFIG, "too many pipeline steps (%d, at most %d)", n, LAPSE_MAX_STEPS);
    for (int s = 0; s < n; s++)
        for (int a = 0; a < 3; a++) {
            w->off[s][a] = -1;
            if (steps[s].op->id != LAPSE_OP_GAUSSIAN_BLUR)
                continue;
            int64_t reach[3];
            lapse_step_reach(&steps[s], reach);
            w->r[s][a] = (int)reach[a];
            w->off[s][a] = (int)total;
            total += 2 * (size_t)reach[a] + 1;
        }
    if (total == 0)
        goto cleanup;
    host = malloc(total * sizeof *host);
    LAPSE_ALLOC(host);
    for (int s = 0; s < n; s++)
        for (int a = 0; a < 3 && w->off[s][a] >= 0; a++) {
            int len = 2 * w->r[s][a] + 1;
            wd = malloc((size_t)len * sizeof *wd);
            LAPSE_ALLOC(wd);
            int r = lapse_gauss_weights(steps[s].p[0].v[a], wd);
            if (r != w->r[s][a])
                LAPSE_FAIL(LAPSE_ERUNTIME, "step %d: Gaussian radius %d differs from reach %d",
                           s + 1, r, w->r[s][a]);
            for (int i = 0; i < len; i++)
                host[w->off[s][a] + i] = (float)wd[i];
            free(wd);
            wd = NULL;
        }
    w->buf = clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, total * sizeof *host,
                            host, &e);
    LAPSE_CL(e);
cleanup:
    free(wd);
    free(host);
    return st;
}

void lapse_opcl_weights_release(lapse_opcl_weights_t *w)
{
    if (w && w->buf) {
        clReleaseMemObject(w->buf);
        w->buf = NULL;
    }
}

int lapse_opcl_step_buffers(const lapse_step_t *s)
{
    switch (s->op->id) {
    case LAPSE_OP_TOP_HAT_BOX:
        return 3;
    case LAPSE_OP_ADD_SCALAR:
    case LAPSE_OP_MULTIPLY_SCALAR:
    case LAPSE_OP_THRESHOLD_FIXED:
        return 1;
    default:
        return 2;
    }
}

/* Vector kernels run over ceil(n / 4) work-items. */
static lapse_status_t launch_vec4(lapse_opcl_t *k, int ki, size_t n)
{
    return launch_1d(k, ki, (n + 3) / 4);
}

lapse_status_t lapse_opcl_to_f32(lapse_opcl_t *k, lapse_dtype_t dt, cl_mem src, cl_mem dst,
                                 size_t n)
{
    lapse_status_t st = LAPSE_OK;
    cl_ulong nn = n;
    int ki = dt == LAPSE_DT_U8 ? K_U8F : K_U16F;
    if (dt != LAPSE_DT_U8 && dt != LAPSE_DT_U16)
        LAPSE_FAIL(LAPSE_ERUNTIME, "lapse_opcl_to_f32: no conversion from %s",
                   lapse_dtype_name(dt));
    if (k->tiled)
        ki = dt == LAPSE_DT_U8 ? K_U8F4 : K_U16F4;
    ARG(k->k[ki], 0, src);
    ARG(k->k[ki], 1, dst);
    ARG(k->k[ki], 2, nn);
    LAPSE_TRY(k->tiled ? launch_vec4(k, ki, n) : launch_1d(k, ki, n));
cleanup:
    return st;
}

/* A buffer index other than a and b. */
static int pick(int a, int b)
{
    for (int i = 0; i < LAPSE_OPCL_NBUF; i++)
        if (i != a && i != b)
            return i;
    return -1;
}

/* Simple kernel of one pass (filters.cl): one work-item per voxel. */
static lapse_status_t pass_simple(lapse_opcl_t *k, int ki, cl_mem src, cl_mem dst, cl_int axis,
                                  cl_int ra, cl_mem w, cl_int woff, const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel kern = k->k[ki];
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    ARG(kern, 0, src);
    ARG(kern, 1, dst);
    ARG(kern, 2, nx);
    ARG(kern, 3, ny);
    ARG(kern, 4, nz);
    ARG(kern, 5, axis);
    ARG(kern, 6, ra);
    if (ki == K_GAUSS) {
        ARG(kern, 7, w);
        ARG(kern, 8, woff);
    } else if (ki == K_MEAN) {
        cl_float scale = (cl_float)(1.0 / (2.0 * ra + 1.0));
        ARG(kern, 7, scale);
    }
    LAPSE_TRY(launch_3d(k, ki, (size_t)nx, (size_t)ny, (size_t)nz));
cleanup:
    return st;
}

/* Tiled kernel of one pass (filters_tiled.cl): the x pass through a local-memory row tile, the
 * y and z passes with G_COLK outputs per work-item. f: filter index (0 Gaussian .. 3 maximum).
 * Falls back to the simple kernel when the x tile does not fit in local memory. */
static lapse_status_t pass_tiled(lapse_opcl_t *k, int f, cl_mem src, cl_mem dst, cl_int axis,
                                 cl_int ra, cl_mem w, cl_int woff, const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    cl_float scale = (cl_float)(1.0 / (2.0 * ra + 1.0));
    cl_mem wbuf = f == 0 ? w : NULL;
    const size_t xg = (size_t)k->g[G_XG], xk = (size_t)k->g[G_XK], colk = (size_t)k->g[G_COLK];
    size_t tile = (size_t)k->g[G_XROWS] * (xg * xk + 2 * (size_t)ra) * sizeof(cl_float), l[3];
    if (axis == 0 && tile + 1024 > k->local_mem)
        return pass_simple(k, K_GAUSS + f, src, dst, axis, ra, w, woff, dim);
    int ki = (axis == 0 ? K_XT_GAUSS : K_COL_GAUSS) + f;
    cl_kernel kern = k->k[ki];
    tiled_local(k, ki, l);
    cl_uint a = 0;
    ARG(kern, a++, src);
    ARG(kern, a++, dst);
    ARG(kern, a++, nx);
    ARG(kern, a++, ny);
    ARG(kern, a++, nz);
    if (axis != 0)
        ARG(kern, a++, axis);
    ARG(kern, a++, ra);
    ARG(kern, a++, wbuf);
    ARG(kern, a++, woff);
    ARG(kern, a++, scale);
    if (axis == 0) {
        LAPSE_CL(clSetKernelArg(kern, a++, tile, NULL));
        size_t g[3] = {((size_t)nx + xg * xk - 1) / (xg * xk) * xg, (size_t)ny, (size_t)nz};
        LAPSE_TRY(enqueue(k, ki, 3, g, l));
    } else {
        size_t g[3] = {(size_t)nx, (size_t)ny, (size_t)nz};
        g[axis] = (g[axis] + colk - 1) / colk;
        LAPSE_TRY(enqueue(k, ki, 3, g, l));
    }
cleanup:
    return st;
}

/* Whether a box filter of radii r (z, y, x) runs as one fused 3D kernel: tiled variant, a box
 * filter, some radius > 0 and every radius <= the kernels' largest (G_BRMAX). */
static int box_fused(const lapse_opcl_t *k, int ki, const int r[3])
{
    if (!k->tiled || ki == K_GAUSS)
        return 0;
    for (int a = 0; a < 3; a++)
        if (r[a] < 0 || r[a] > k->g[G_BRMAX])
            return 0;
    return r[0] > 0 || r[1] > 0 || r[2] > 0;
}

/* Fused 3D box filter ki (K_MEAN, K_MIN, K_MAX) of radii r (z, y, x): dst = box(src), or, with
 * orig != NULL, dst = orig - box(src) (top-hat). Kernel: radii (1, 1, 1) lapse_box1_*, other
 * radii lapse_boxg_* (the formulations that measured best per operation, filters_tiled.cl);
 * every radius lapse_box3d_* in a program built with LAPSE_BOX_TUNE=1 (the tuning sweep). */
static lapse_status_t run_box3d(lapse_opcl_t *k, int ki, const int r[3], cl_mem src, cl_mem orig,
                                cl_mem dst, const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    size_t bys = 1, bkz = (size_t)k->g[G_BG_KZ];
    int kb = K_BOXG_MEAN + (ki - K_MEAN); /* the default for most radii */
    if (k->g[G_TUNE]) {
        kb = K_BOX_MEAN + (ki - K_MEAN);
        bys = (size_t)k->g[G_BYS];
        bkz = (size_t)k->g[G_BKZ];
    } else if (r[0] == 1 && r[1] == 1 && r[2] == 1) {
        kb = K_BOX1_MEAN + (ki - K_MEAN);
        bys = ki == K_MEAN ? (size_t)k->g[G_B1M_YS] : 1;
        bkz = (size_t)k->g[ki == K_MEAN ? G_B1M_KZ : G_B1X_KZ];
    }
    cl_kernel kern = k->k[kb];
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    cl_int rx = r[2], ry = r[1], rz = r[0], sub = orig != NULL;
    cl_float sx = (cl_float)(1.0 / (2.0 * rx + 1.0)), sy = (cl_float)(1.0 / (2.0 * ry + 1.0)),
             sz = (cl_float)(1.0 / (2.0 * rz + 1.0));
    cl_mem o = orig ? orig : src;
    ARG(kern, 0, src);
    ARG(kern, 1, o);
    ARG(kern, 2, dst);
    ARG(kern, 3, nx);
    ARG(kern, 4, ny);
    ARG(kern, 5, nz);
    ARG(kern, 6, rx);
    ARG(kern, 7, ry);
    ARG(kern, 8, rz);
    ARG(kern, 9, sx);
    ARG(kern, 10, sy);
    ARG(kern, 11, sz);
    ARG(kern, 12, sub);
    size_t l[3], g[3] = {(size_t)nx, ((size_t)ny + bys - 1) / bys, ((size_t)nz + bkz - 1) / bkz};
    tiled_local(k, kb, l);
    LAPSE_TRY(enqueue(k, kb, 3, g, l)); /* z: one work-item (and group) per BKZ planes */
cleanup:
    return st;
}

/* One separable filter (kernel ki) over the axes x, y, z with radii r[z, y, x], reading
 * bufs[in] and never writing bufs[in] nor bufs[keep]; *res receives the result's index
 * (== in when every radius is 0). Gaussian weights: w/woff (z, y, x); mean: scales. The tiled
 * variant runs small box filters as one fused kernel. */
static lapse_status_t run_separable(lapse_opcl_t *k, int ki, const int r[3], cl_mem w,
                                    const int woff[3], cl_mem bufs[], int in, int keep,
                                    const int64_t dim[3], int *res)
{
    lapse_status_t st = LAPSE_OK;
    if (box_fused(k, ki, r)) {
        int out = pick(in, keep);
        if (out < 0 || bufs[out] == NULL)
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: too few work buffers for a box filter");
        LAPSE_TRY(run_box3d(k, ki, r, bufs[in], NULL, bufs[out], dim));
        *res = out;
        goto cleanup;
    }
    for (cl_int axis = 0; axis < 3; axis++) { /* 0 = x, 1 = y, 2 = z */
        cl_int ra = r[2 - axis];
        if (ra == 0)
            continue;
        int out = pick(in, keep);
        if (out < 0 || bufs[out] == NULL)
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: too few work buffers for a filter pass");
        cl_int off = ki == K_GAUSS ? woff[2 - axis] : 0;
        if (k->tiled)
            LAPSE_TRY(pass_tiled(k, ki - K_GAUSS, bufs[in], bufs[out], axis, ra, w, off, dim));
        else
            LAPSE_TRY(pass_simple(k, ki, bufs[in], bufs[out], axis, ra, w, off, dim));
        in = out;
    }
    *res = in;
cleanup:
    return st;
}

/* Voxel-wise kernel ki in place on buf with scalar v. */
static lapse_status_t run_pointwise(lapse_opcl_t *k, int ki, cl_mem buf, size_t n, double v)
{
    lapse_status_t st = LAPSE_OK;
    cl_ulong nn = n;
    cl_float fv = (cl_float)v;
    if (k->tiled)
        ki = ki == K_ADD ? K_ADD4 : ki == K_MUL ? K_MUL4 : K_THRESH4;
    ARG(k->k[ki], 0, buf);
    ARG(k->k[ki], 1, buf);
    ARG(k->k[ki], 2, nn);
    ARG(k->k[ki], 3, fv);
    LAPSE_TRY(k->tiled ? launch_vec4(k, ki, n) : launch_1d(k, ki, n));
cleanup:
    return st;
}

/* White top-hat: bufs[c] - max_box(min_box(bufs[c])), into a third buffer. The tiled variant
 * fuses the subtraction into the fused maximum. */
static lapse_status_t run_top_hat(lapse_opcl_t *k, const int r[3], cl_mem bufs[], int *cur,
                                  const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    int c = *cur, m = c, o = c;
    if (box_fused(k, K_MIN, r)) {
        m = pick(c, c);
        int d = pick(c, m);
        if (m < 0 || d < 0 || bufs[m] == NULL || bufs[d] == NULL)
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: top_hat_box needs %d work buffers",
                       LAPSE_OPCL_NBUF);
        LAPSE_TRY(run_box3d(k, K_MIN, r, bufs[c], NULL, bufs[m], dim));
        LAPSE_TRY(run_box3d(k, K_MAX, r, bufs[m], bufs[c], bufs[d], dim));
        *cur = d;
        goto cleanup;
    }
    LAPSE_TRY(run_separable(k, K_MIN, r, NULL, NULL, bufs, c, c, dim, &m));
    LAPSE_TRY(run_separable(k, K_MAX, r, NULL, NULL, bufs, m, c, dim, &o));
    int d = pick(c, o);
    if (d < 0 || bufs[d] == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: top_hat_box needs %d work buffers",
                   LAPSE_OPCL_NBUF);
    cl_ulong n = (cl_ulong)(dim[0] * dim[1] * dim[2]);
    int ks = k->tiled ? K_SUB4 : K_SUB;
    ARG(k->k[ks], 0, bufs[c]);
    ARG(k->k[ks], 1, bufs[o]);
    ARG(k->k[ks], 2, bufs[d]);
    ARG(k->k[ks], 3, n);
    LAPSE_TRY(k->tiled ? launch_vec4(k, ks, (size_t)n) : launch_1d(k, ks, (size_t)n));
    *cur = d;
cleanup:
    return st;
}

static lapse_status_t run_zmax(lapse_opcl_t *k, cl_mem bufs[], int *cur, int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    int d = pick(*cur, *cur);
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    ARG(k->k[K_ZMAX], 0, bufs[*cur]);
    ARG(k->k[K_ZMAX], 1, bufs[d]);
    ARG(k->k[K_ZMAX], 2, nx);
    ARG(k->k[K_ZMAX], 3, ny);
    ARG(k->k[K_ZMAX], 4, nz);
    LAPSE_TRY(launch_3d(k, K_ZMAX, (size_t)nx, (size_t)ny, 1));
    *cur = d;
    dim[0] = 1;
cleanup:
    return st;
}

lapse_status_t lapse_opcl_step(lapse_opcl_t *k, const lapse_step_t *steps, int index,
                               const lapse_opcl_weights_t *w, cl_mem bufs[LAPSE_OPCL_NBUF],
                               int *cur, int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    const lapse_step_t *s = &steps[index];
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    int r[3];
    for (int a = 0; a < 3; a++)
        r[a] = (int)s->p[0].v[a];
    switch (s->op->id) {
    case LAPSE_OP_GAUSSIAN_BLUR:
        LAPSE_TRY(run_separable(k, K_GAUSS, w->r[index], w->buf, w->off[index], bufs, *cur, -1, dim,
                                cur));
        break;
    case LAPSE_OP_MEAN_BOX:
        LAPSE_TRY(run_separable(k, K_MEAN, r, NULL, NULL, bufs, *cur, -1, dim, cur));
        break;
    case LAPSE_OP_MINIMUM_BOX:
        LAPSE_TRY(run_separable(k, K_MIN, r, NULL, NULL, bufs, *cur, -1, dim, cur));
        break;
    case LAPSE_OP_MAXIMUM_BOX:
        LAPSE_TRY(run_separable(k, K_MAX, r, NULL, NULL, bufs, *cur, -1, dim, cur));
        break;
    case LAPSE_OP_TOP_HAT_BOX:
        LAPSE_TRY(run_top_hat(k, r, bufs, cur, dim));
        break;
    case LAPSE_OP_ADD_SCALAR:
        LAPSE_TRY(run_pointwise(k, K_ADD, bufs[*cur], n, s->p[0].v[0]));
        break;
    case LAPSE_OP_MULTIPLY_SCALAR:
        LAPSE_TRY(run_pointwise(k, K_MUL, bufs[*cur], n, s->p[0].v[0]));
        break;
    case LAPSE_OP_THRESHOLD_FIXED:
        LAPSE_TRY(run_pointwise(k, K_THRESH, bufs[*cur], n, s->p[0].v[0]));
        break;
    case LAPSE_OP_MAXIMUM_Z_PROJECTION:
        LAPSE_TRY(run_zmax(k, bufs, cur, dim));
        break;
    default:
        LAPSE_FAIL(LAPSE_ERUNTIME, "step %d: operation %s has no device implementation", index + 1,
                   s->op->name);
    }
cleanup:
    return st;
}

lapse_status_t lapse_opcl_pack(lapse_opcl_t *k, lapse_dtype_t dtype, cl_mem src,
                               const int64_t dim[3], const lapse_box_t *core, cl_mem dst)
{
    lapse_status_t st = LAPSE_OK;
    int ki = dtype == LAPSE_DT_U8 ? K_PACK_U8 : dtype == LAPSE_DT_U16 ? K_PACK_U16 : K_PACK_F32;
    cl_kernel kern = k->k[ki];
    cl_int v[8] = {(cl_int)dim[2],       (cl_int)dim[1],       (cl_int)core->off[2],
                   (cl_int)core->off[1], (cl_int)core->off[0], (cl_int)core->dim[2],
                   (cl_int)core->dim[1], (cl_int)core->dim[0]};
    for (int a = 0; a < 3; a++)
        if (core->off[a] < 0 || core->dim[a] < 0 || core->off[a] + core->dim[a] > dim[a])
            LAPSE_FAIL(LAPSE_ERUNTIME,
                       "pack: core box axis %d [%lld, +%lld) outside the buffer (extent %lld)", a,
                       (long long)core->off[a], (long long)core->dim[a], (long long)dim[a]);
    ARG(kern, 0, src);
    ARG(kern, 1, dst);
    for (int i = 0; i < 8; i++)
        ARG(kern, (cl_uint)(2 + i), v[i]);
    LAPSE_TRY(launch_3d(k, ki, (size_t)core->dim[2], (size_t)core->dim[1], (size_t)core->dim[0]));
cleanup:
    return st;
}
