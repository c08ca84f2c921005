/*
 * ops_cl.c - device launchers of the pipeline operations (see ops_cl.h). Neighbourhood filters
 * run as separable passes x, then y, then z, each pass writing a buffer other than its input;
 * voxel-wise steps run in place. Work sizes are rounded up to whole work-groups (the kernels
 * ignore the extra work-items) so that odd volume sizes keep efficient work-group shapes.
 */
#include "ops_cl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Kernel names, in the order of the kernels[] array of lapse_opcl_t. */
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
    K_COUNT
};
static const char *const kernel_names[K_COUNT] = {
    [K_GAUSS] = "lapse_sep_gauss",  [K_MEAN] = "lapse_sep_mean",
    [K_MIN] = "lapse_sep_min",      [K_MAX] = "lapse_sep_max",
    [K_ADD] = "lapse_add_scalar",   [K_MUL] = "lapse_mul_scalar",
    [K_THRESH] = "lapse_threshold", [K_SUB] = "lapse_sub",
    [K_ZMAX] = "lapse_zmax",        [K_U8F] = "lapse_u8_to_f32",
    [K_U16F] = "lapse_u16_to_f32",  [K_PACK_F32] = "lapse_pack_f32",
    [K_PACK_U8] = "lapse_pack_u8",  [K_PACK_U16] = "lapse_pack_u16",
};

struct lapse_opcl {
    lapse_cl_t *cl;
    cl_kernel k[K_COUNT];
    int use_local; /* 1: the device takes our fixed work-group shapes */
};

#define LOCAL_1D 256
static const size_t local_3d[3] = {32, 4, 1};

lapse_status_t lapse_opcl_create(lapse_cl_t *cl, lapse_opcl_t **out)
{
    lapse_status_t st = LAPSE_OK;
    size_t maxwg = 0, maxitems[3] = {0, 0, 0};
    lapse_opcl_t *k = calloc(1, sizeof *k);
    LAPSE_ALLOC(k);
    k->cl = cl;
    for (int i = 0; i < K_COUNT; i++)
        LAPSE_TRY(lapse_cl_kernel(cl, kernel_names[i], &k->k[i]));
    LAPSE_CL(
        clGetDeviceInfo(cl->dev.device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof maxwg, &maxwg, NULL));
    LAPSE_CL(clGetDeviceInfo(cl->dev.device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof maxitems,
                             maxitems, NULL));
    k->use_local = maxwg >= LOCAL_1D && maxitems[0] >= LOCAL_1D && maxitems[1] >= local_3d[1];
    for (int i = 0; i < K_COUNT && k->use_local; i++) {
        size_t kwg = 0;
        LAPSE_CL(clGetKernelWorkGroupInfo(k->k[i], cl->dev.device, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof kwg, &kwg, NULL));
        if (kwg < LOCAL_1D)
            k->use_local = 0;
    }
    *out = k;
    k = NULL;
cleanup:
    lapse_opcl_destroy(k);
    return st;
}

void lapse_opcl_destroy(lapse_opcl_t *k)
{
    if (k == NULL)
        return;
    for (int i = 0; i < K_COUNT; i++)
        if (k->k[i])
            clReleaseKernel(k->k[i]);
    free(k);
}

static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

/* Enqueue kernel over n work-items (1D). */
static lapse_status_t launch_1d(lapse_opcl_t *k, int ki, size_t n)
{
    lapse_status_t st = LAPSE_OK;
    size_t local = LOCAL_1D, global = round_up(n, LOCAL_1D);
    if (n == 0)
        return LAPSE_OK;
    LAPSE_CL(clEnqueueNDRangeKernel(k->cl->queue, k->k[ki], 1, NULL, &global,
                                    k->use_local ? &local : NULL, 0, NULL, NULL));
cleanup:
    return st;
}

/* Enqueue kernel over (nx, ny, nz) work-items, x fastest. */
static lapse_status_t launch_3d(lapse_opcl_t *k, int ki, size_t nx, size_t ny, size_t nz)
{
    lapse_status_t st = LAPSE_OK;
    size_t global[3] = {nx, ny, nz};
    if (nx == 0 || ny == 0 || nz == 0)
        return LAPSE_OK;
    if (k->use_local)
        for (int a = 0; a < 3; a++)
            global[a] = round_up(global[a], local_3d[a]);
    LAPSE_CL(clEnqueueNDRangeKernel(k->cl->queue, k->k[ki], 3, NULL, global,
                                    k->use_local ? local_3d : NULL, 0, NULL, NULL));
cleanup:
    return st;
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

lapse_status_t lapse_opcl_to_f32(lapse_opcl_t *k, lapse_dtype_t dt, cl_mem src, cl_mem dst,
                                 size_t n)
{
    lapse_status_t st = LAPSE_OK;
    cl_ulong nn = n;
    int ki = dt == LAPSE_DT_U8 ? K_U8F : K_U16F;
    if (dt != LAPSE_DT_U8 && dt != LAPSE_DT_U16)
        LAPSE_FAIL(LAPSE_ERUNTIME, "lapse_opcl_to_f32: no conversion from %s",
                   lapse_dtype_name(dt));
    ARG(k->k[ki], 0, src);
    ARG(k->k[ki], 1, dst);
    ARG(k->k[ki], 2, nn);
    LAPSE_TRY(launch_1d(k, ki, n));
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

/* One separable filter (kernel ki) over the axes x, y, z with radii r[z, y, x], reading
 * bufs[in] and never writing bufs[in] nor bufs[keep]; *res receives the result's index
 * (== in when every radius is 0). Gaussian weights: w/woff (z, y, x); mean: scales. */
static lapse_status_t run_separable(lapse_opcl_t *k, int ki, const int r[3], cl_mem w,
                                    const int woff[3], cl_mem bufs[], int in, int keep,
                                    const int64_t dim[3], int *res)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel kern = k->k[ki];
    cl_int nx = (cl_int)dim[2], ny = (cl_int)dim[1], nz = (cl_int)dim[0];
    for (cl_int axis = 0; axis < 3; axis++) { /* 0 = x, 1 = y, 2 = z */
        cl_int ra = r[2 - axis];
        if (ra == 0)
            continue;
        int out = pick(in, keep);
        if (out < 0 || bufs[out] == NULL)
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: too few work buffers for a filter pass");
        ARG(kern, 0, bufs[in]);
        ARG(kern, 1, bufs[out]);
        ARG(kern, 2, nx);
        ARG(kern, 3, ny);
        ARG(kern, 4, nz);
        ARG(kern, 5, axis);
        ARG(kern, 6, ra);
        if (ki == K_GAUSS) {
            cl_int off = woff[2 - axis];
            ARG(kern, 7, w);
            ARG(kern, 8, off);
        } else if (ki == K_MEAN) {
            cl_float scale = (cl_float)(1.0 / (2.0 * ra + 1.0));
            ARG(kern, 7, scale);
        }
        LAPSE_TRY(launch_3d(k, ki, (size_t)nx, (size_t)ny, (size_t)nz));
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
    ARG(k->k[ki], 0, buf);
    ARG(k->k[ki], 1, buf);
    ARG(k->k[ki], 2, nn);
    ARG(k->k[ki], 3, fv);
    LAPSE_TRY(launch_1d(k, ki, n));
cleanup:
    return st;
}

/* White top-hat: bufs[c] - max_box(min_box(bufs[c])), into a third buffer. */
static lapse_status_t run_top_hat(lapse_opcl_t *k, const int r[3], cl_mem bufs[], int *cur,
                                  const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    int c = *cur, m = c, o = c;
    LAPSE_TRY(run_separable(k, K_MIN, r, NULL, NULL, bufs, c, c, dim, &m));
    LAPSE_TRY(run_separable(k, K_MAX, r, NULL, NULL, bufs, m, c, dim, &o));
    int d = pick(c, o);
    if (d < 0 || bufs[d] == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: top_hat_box needs %d work buffers",
                   LAPSE_OPCL_NBUF);
    cl_ulong n = (cl_ulong)(dim[0] * dim[1] * dim[2]);
    ARG(k->k[K_SUB], 0, bufs[c]);
    ARG(k->k[K_SUB], 1, bufs[o]);
    ARG(k->k[K_SUB], 2, bufs[d]);
    ARG(k->k[K_SUB], 3, n);
    LAPSE_TRY(launch_1d(k, K_SUB, (size_t)n));
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
