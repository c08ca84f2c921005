/*
 * dev.c - device state, kernel cache, launch helpers and the input/output conversions (see
 * dev.h). Work sizes are rounded up to whole work-groups (the kernels ignore the extra
 * work-items) so that odd volume sizes keep efficient work-group shapes.
 */
#include "device/dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCAL_1D   256
#define PROF_MAX   64 /* events held before they are folded into the running sum */
#define KCACHE_MAX 192

static const size_t local_3d[3] = {32, 4, 1};

struct lapse_dev_prof {
    int on;
    cl_event ev[PROF_MAX];
    int nev;        /* events held */
    int nkern;      /* kernels launched since the last take */
    double prof_ms; /* device time of the events already folded */
};

struct lapse_dev_kcache {
    int n;
    struct {
        char name[64];
        cl_kernel k;
        size_t kwg;
    } e[KCACHE_MAX];
};

/* The register cap of the heavy tiled kernels: LAPSE_NV_MAXRREG (0 = none) or 128, on devices
 * with the cl_nv_compiler_options extension; 0 elsewhere. */
static lapse_status_t max_registers(lapse_cl_t *cl, int *out)
{
    lapse_status_t st = LAPSE_OK;
    size_t len = 0;
    char *ext = NULL;
    *out = 0;
    LAPSE_CL(clGetDeviceInfo(cl->dev.device, CL_DEVICE_EXTENSIONS, 0, NULL, &len));
    ext = calloc(len + 1, 1);
    LAPSE_ALLOC(ext);
    LAPSE_CL(clGetDeviceInfo(cl->dev.device, CL_DEVICE_EXTENSIONS, len, ext, NULL));
    if (strstr(ext, "cl_nv_compiler_options") == NULL)
        goto cleanup;
    const char *env = getenv("LAPSE_NV_MAXRREG");
    char *end = NULL;
    long v = env && env[0] ? strtol(env, &end, 10) : 128;
    if (env && env[0] && (*end != '\0' || v < 0 || v > 255))
        LAPSE_FAIL(LAPSE_ERUNTIME, "LAPSE_NV_MAXRREG=\"%s\": expected 0 (no cap) or 1..255", env);
    *out = (int)v;
cleanup:
    free(ext);
    return st;
}

lapse_status_t lapse_dev_require(lapse_dev_t *d, const char *what, const char *why,
                                 const char *const *ext, int n)
{
    lapse_status_t st = LAPSE_OK;
    for (int i = 0; i < n; i++) {
        int has = 0;
        LAPSE_TRY(lapse_cl_has_extension(d->cl, ext[i], &has));
        if (!has) {
            char all[256] = "";
            for (int j = 0; j < n; j++)
                snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", j ? " and " : "",
                         ext[j]);
            LAPSE_FAIL(LAPSE_ECL,
                       "%s needs the OpenCL extension%s %s (%s); the device \"%s\" lacks %s", what,
                       n > 1 ? "s" : "", all, why, d->cl->dev.name, ext[i]);
        }
    }
cleanup:
    return st;
}

lapse_status_t lapse_dev_create(lapse_cl_t *cl, lapse_dev_t **out)
{
    lapse_status_t st = LAPSE_OK;
    size_t maxwg = 0, maxitems[3] = {0, 0, 0};
    lapse_dev_t *d = calloc(1, sizeof *d);
    LAPSE_ALLOC(d);
    d->prof = calloc(1, sizeof *d->prof);
    LAPSE_ALLOC(d->prof);
    d->kc = calloc(1, sizeof *d->kc);
    LAPSE_ALLOC(d->kc);
    d->cl = cl;
    LAPSE_CL(
        clGetDeviceInfo(cl->dev.device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof maxwg, &maxwg, NULL));
    LAPSE_CL(clGetDeviceInfo(cl->dev.device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof maxitems,
                             maxitems, NULL));
    LAPSE_CL(clGetDeviceInfo(cl->dev.device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof d->local_mem,
                             &d->local_mem, NULL));
    d->use_local = maxwg >= LOCAL_1D && maxitems[0] >= LOCAL_1D && maxitems[1] >= local_3d[1];
    LAPSE_TRY(max_registers(cl, &d->maxrreg));
    const char *env = getenv("LAPSE_KERNELS");
    d->simple = env && strcmp(env, "simple") == 0;
    *out = d;
    d = NULL;
cleanup:
    lapse_dev_destroy(d);
    return st;
}

/* Fold the held events' device time into prof_ms and release them (waits for them). */
static lapse_status_t prof_drain(struct lapse_dev_prof *p)
{
    lapse_status_t st = LAPSE_OK;
    if (p->nev > 0)
        LAPSE_CL(clWaitForEvents((cl_uint)p->nev, p->ev));
    for (int i = 0; i < p->nev; i++) {
        cl_ulong t0 = 0, t1 = 0;
        LAPSE_CL(
            clGetEventProfilingInfo(p->ev[i], CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL));
        LAPSE_CL(clGetEventProfilingInfo(p->ev[i], CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL));
        p->prof_ms += (double)(t1 - t0) * 1e-6;
    }
cleanup:
    for (int i = 0; i < p->nev; i++)
        clReleaseEvent(p->ev[i]);
    p->nev = 0;
    return st;
}

void lapse_dev_destroy(lapse_dev_t *d)
{
    if (d == NULL)
        return;
    if (d->prof)
        prof_drain(d->prof);
    free(d->kc); /* the kernels belong to the cl (lapse_cl_kernel) */
    free(d->prof);
    free(d);
}

lapse_status_t lapse_dev_kernel(lapse_dev_t *d, const char *file, const char *name, cl_kernel *out,
                                size_t *kwg)
{
    return lapse_dev_kernel_with(d, file, NULL, name, out, kwg);
}

lapse_status_t lapse_dev_kernel_with(lapse_dev_t *d, const char *file, const char *defines,
                                     const char *name, cl_kernel *out, size_t *kwg)
{
    lapse_status_t st = LAPSE_OK;
    struct lapse_dev_kcache *kc = d->kc;
    cl_kernel k = NULL;
    size_t wg = 0;
    for (int i = 0; i < kc->n; i++)
        if (strcmp(kc->e[i].name, name) == 0) {
            *out = kc->e[i].k;
            if (kwg)
                *kwg = kc->e[i].kwg;
            return LAPSE_OK;
        }
    if (kc->n == KCACHE_MAX || strlen(name) >= sizeof kc->e[0].name)
        LAPSE_FAIL(LAPSE_ERUNTIME, "kernel cache: cannot hold kernel %s of %s", name, file);
    if (defines)
        LAPSE_TRY(lapse_cl_kernel_with(d->cl, file, defines, name, &k));
    else
        LAPSE_TRY(lapse_cl_kernel(d->cl, file, name, &k));
    LAPSE_CL(clGetKernelWorkGroupInfo(k, d->cl->dev.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg,
                                      &wg, NULL));
    snprintf(kc->e[kc->n].name, sizeof kc->e[0].name, "%s", name);
    kc->e[kc->n].k = k;
    kc->e[kc->n].kwg = wg;
    kc->n++;
    *out = k;
    if (kwg)
        *kwg = wg;
cleanup:
    return st;
}

lapse_status_t lapse_dev_kernel_heavy(lapse_dev_t *d, const char *file, const char *defines,
                                      const char *name, cl_kernel *out, size_t *kwg)
{
    if (d->maxrreg <= 0)
        return lapse_dev_kernel_with(d, file, defines, name, out, kwg);
    /* sized to fit: a fixed buffer here once cut a long network's -D options short */
    const size_t len = strlen(defines) + 64;
    char *opts = malloc(len);
    if (opts == NULL)
        return lapse_fail(LAPSE_ENOMEM, "out of memory for the build options of %s", name);
    snprintf(opts, len, "%s%s-cl-nv-maxrregcount=%d", defines, defines[0] ? " " : "", d->maxrreg);
    lapse_status_t st = lapse_dev_kernel_with(d, file, opts, name, out, kwg);
    free(opts);
    return st;
}

void lapse_dev_profile(lapse_dev_t *d, int on)
{
    d->prof->on = on != 0;
}

lapse_status_t lapse_dev_profile_take(lapse_dev_t *d, double *ms, int *nkernels)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_TRY(prof_drain(d->prof));
    *ms = d->prof->prof_ms;
    *nkernels = d->prof->nkern;
cleanup:
    d->prof->prof_ms = 0.0;
    d->prof->nkern = 0;
    return st;
}

static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

lapse_status_t lapse_dev_enqueue(lapse_dev_t *d, cl_kernel kern, cl_uint dims,
                                 const size_t *global_in, const size_t *local)
{
    lapse_status_t st = LAPSE_OK;
    struct lapse_dev_prof *p = d->prof;
    size_t global[3];
    for (cl_uint a = 0; a < dims; a++) {
        if (global_in[a] == 0)
            return LAPSE_OK;
        global[a] = local ? round_up(global_in[a], local[a]) : global_in[a];
    }
    if (p->on && p->nev == PROF_MAX)
        LAPSE_TRY(prof_drain(p));
    LAPSE_CL(clEnqueueNDRangeKernel(d->cl->queue, kern, dims, NULL, global, local, 0, NULL,
                                    p->on ? &p->ev[p->nev] : NULL));
    if (p->on) {
        p->nev++;
        p->nkern++;
    }
cleanup:
    return st;
}

/* Whether kern takes a work-group of n items (looked up in the cache). */
static int takes_local(const lapse_dev_t *d, cl_kernel kern, size_t n)
{
    if (!d->use_local)
        return 0;
    for (int i = 0; i < d->kc->n; i++)
        if (d->kc->e[i].k == kern)
            return d->kc->e[i].kwg >= n;
    return 0;
}

lapse_status_t lapse_dev_launch_1d(lapse_dev_t *d, cl_kernel kern, size_t n)
{
    size_t local = LOCAL_1D;
    return lapse_dev_enqueue(d, kern, 1, &n, takes_local(d, kern, LOCAL_1D) ? &local : NULL);
}

lapse_status_t lapse_dev_launch_3d(lapse_dev_t *d, cl_kernel kern, size_t nx, size_t ny, size_t nz)
{
    size_t global[3] = {nx, ny, nz};
    return lapse_dev_enqueue(d, kern, 3, global,
                             takes_local(d, kern, local_3d[0] * local_3d[1]) ? local_3d : NULL);
}

lapse_status_t lapse_dev_launch_voxels(lapse_dev_t *d, cl_kernel k, size_t n, int vec4)
{
    return lapse_dev_launch_1d(d, k, vec4 ? (n + 3) / 4 : n);
}

lapse_status_t lapse_dev_copy(lapse_dev_t *d, cl_mem src, cl_mem dst, size_t n)
{
    lapse_status_t st = LAPSE_OK;
    if (n > 0 && src != dst)
        LAPSE_CL(
            clEnqueueCopyBuffer(d->cl->queue, src, dst, 0, 0, n * sizeof(cl_float), 0, NULL, NULL));
cleanup:
    return st;
}

lapse_status_t lapse_dev_to_f32(lapse_dev_t *d, lapse_dtype_t dt, cl_mem src, cl_mem dst, size_t n)
{
    lapse_status_t st = LAPSE_OK;
    cl_ulong nn = n;
    cl_kernel k = NULL;
    if (dt != LAPSE_DT_U8 && dt != LAPSE_DT_U16)
        LAPSE_FAIL(LAPSE_ERUNTIME, "lapse_dev_to_f32: no conversion from %s", lapse_dtype_name(dt));
    const char *name = dt == LAPSE_DT_U8 ? (d->simple ? "lapse_u8_to_f32" : "lapse_u8_to_f32_4")
                                         : (d->simple ? "lapse_u16_to_f32" : "lapse_u16_to_f32_4");
    LAPSE_TRY(lapse_dev_kernel(d, "convert.cl", name, &k, NULL));
    LAPSE_ARG(k, 0, src);
    LAPSE_ARG(k, 1, dst);
    LAPSE_ARG(k, 2, nn);
    LAPSE_TRY(lapse_dev_launch_1d(d, k, d->simple ? n : (n + 3) / 4));
cleanup:
    return st;
}

/* Launch convert.cl's kernel `name` (the pack addressing, LAPSE_PACK_SETUP) over box, a box of
 * a buffer of dims dim, with arguments src and dst, and *at after them unless at is NULL. */
static lapse_status_t box_launch(lapse_dev_t *d, const char *name, cl_mem src, cl_mem dst,
                                 const int64_t dim[3], const lapse_box_t *core, const cl_ulong *at)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel kern = NULL;
    cl_int v[8] = {(cl_int)dim[2],       (cl_int)dim[1],       (cl_int)core->off[2],
                   (cl_int)core->off[1], (cl_int)core->off[0], (cl_int)core->dim[2],
                   (cl_int)core->dim[1], (cl_int)core->dim[0]};
    for (int a = 0; a < 3; a++)
        if (core->off[a] < 0 || core->dim[a] < 0 || core->off[a] + core->dim[a] > dim[a])
            LAPSE_FAIL(LAPSE_ERUNTIME,
                       "%s: box axis %d [%lld, +%lld) outside the buffer (extent %lld)", name, a,
                       (long long)core->off[a], (long long)core->dim[a], (long long)dim[a]);
    LAPSE_TRY(lapse_dev_kernel(d, "convert.cl", name, &kern, NULL));
    LAPSE_ARG(kern, 0, src);
    LAPSE_ARG(kern, 1, dst);
    for (int i = 0; i < 8; i++)
        LAPSE_ARG(kern, (cl_uint)(2 + i), v[i]);
    if (at)
        LAPSE_ARG(kern, 10, *at);
    LAPSE_TRY(lapse_dev_launch_3d(d, kern, (size_t)core->dim[2], (size_t)core->dim[1],
                                  (size_t)core->dim[0]));
cleanup:
    return st;
}

lapse_status_t lapse_dev_pack(lapse_dev_t *d, lapse_dtype_t dtype, int away, cl_mem src,
                              const int64_t dim[3], const lapse_box_t *core, cl_mem dst,
                              cl_mem clip, int ci)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel kern = NULL;
    const char *name = dtype == LAPSE_DT_U8    ? (away ? "lapse_pack_u8_a" : "lapse_pack_u8")
                       : dtype == LAPSE_DT_U16 ? (away ? "lapse_pack_u16_a" : "lapse_pack_u16")
                       : dtype == LAPSE_DT_U32 ? (away ? "lapse_pack_u32_a" : "lapse_pack_u32")
                       : dtype == LAPSE_DT_I16 ? (away ? "lapse_pack_i16_a" : "lapse_pack_i16")
                                               : "lapse_pack_f32";
    if (dtype == LAPSE_DT_U64 || dtype == LAPSE_DT_AUTO || dtype == LAPSE_DT_F64)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: pack to %s", lapse_dtype_name(dtype));
    if (dtype == LAPSE_DT_F32) {
        LAPSE_TRY(box_launch(d, name, src, dst, dim, core, NULL));
        goto cleanup;
    }
    if (clip == NULL || ci < 0)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: pack to %s without a counter",
                   lapse_dtype_name(dtype));
    LAPSE_TRY(lapse_dev_kernel(d, "convert.cl", name, &kern, NULL));
    LAPSE_ARG(kern, 10, clip);
    LAPSE_ARG(kern, 11, ci);
    LAPSE_TRY(box_launch(d, name, src, dst, dim, core, NULL));
cleanup:
    return st;
}

lapse_status_t lapse_dev_box_get(lapse_dev_t *d, cl_mem buf, const int64_t dim[3],
                                 const lapse_box_t *box, cl_mem flat, size_t at)
{
    cl_ulong a = at;
    return box_launch(d, "lapse_box_get_f32", buf, flat, dim, box, &a);
}

lapse_status_t lapse_dev_box_put(lapse_dev_t *d, cl_mem flat, size_t at, cl_mem buf,
                                 const int64_t dim[3], const lapse_box_t *box)
{
    cl_ulong a = at;
    return box_launch(d, "lapse_box_put_f32", flat, buf, dim, box, &a);
}
