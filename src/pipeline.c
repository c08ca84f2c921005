/*
 * pipeline.c - one task's pipeline on the device (see pipeline.h). Create allocates, once: the
 * pinned input staging (CL_MEM_ALLOC_HOST_PTR, mapped for the pipeline's lifetime), the device
 * input buffer in the input dtype (uint8/uint16; float32 input is uploaded straight into the
 * first work buffer), up to three float32 work buffers, the Gaussian weights, and per output a
 * device buffer and a pinned mapped host buffer. Run: upload, widen, steps (ops_cl.c), pack
 * each saved step right after it runs and the final result at the end, download the cores.
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops_cl.h"

/* A buffer with pinned host memory, mapped once. */
typedef struct {
    cl_mem mem;
    void *host;
} pinned_t;

typedef struct {
    int step;         /* step index (-1: the input itself, no step) */
    lapse_dtype_t dt; /* packed dtype */
    cl_mem dev;       /* packed core on the device */
    pinned_t pin;     /* downloaded core */
    size_t bytes;     /* bytes of the last run's core */
} output_t;

struct lapse_pipeline {
    lapse_cl_t *cl;
    const lapse_step_t *steps;
    int nsteps;
    lapse_dtype_t in_dtype, out_dtype;
    long long max_read, max_core;
    lapse_opcl_t *ops;
    lapse_opcl_weights_t w;
    pinned_t in;
    cl_mem in_dev; /* NULL for float32 input */
    cl_mem bufs[LAPSE_OPCL_NBUF];
    int nout;
    output_t out[LAPSE_MAX_STEPS + 1];
};

int lapse_pipeline_noutputs(const lapse_step_t *steps, int nsteps)
{
    int n = 1;
    for (int i = 0; i < nsteps; i++)
        if (steps[i].save[0] != '\0')
            n++;
    return n;
}

void lapse_pipeline_output_info(const lapse_step_t *steps, int nsteps, lapse_dtype_t in_dtype,
                                lapse_dtype_t out_dtype, int k, int *step, lapse_dtype_t *dtype)
{
    int seen = 0;
    for (int i = 0; i < nsteps; i++) {
        if (steps[i].save[0] == '\0')
            continue;
        if (seen++ == k) {
            *step = i;
            *dtype = lapse_step_dtype(steps, i, in_dtype);
            return;
        }
    }
    *step = nsteps - 1;
    if (out_dtype != LAPSE_DT_AUTO)
        *dtype = out_dtype;
    else
        *dtype = nsteps > 0 ? lapse_step_dtype(steps, nsteps - 1, in_dtype) : in_dtype;
}

/* Float32 work buffers the steps need (at least 1). */
static int work_buffers(const lapse_step_t *steps, int nsteps)
{
    int n = 1;
    for (int i = 0; i < nsteps; i++) {
        int b = lapse_opcl_step_buffers(&steps[i]);
        if (b > n)
            n = b;
    }
    return n;
}

unsigned long long lapse_pipeline_device_bytes(const lapse_step_t *steps, int nsteps,
                                               lapse_dtype_t in_dtype, lapse_dtype_t out_dtype,
                                               long long read_voxels, long long core_voxels)
{
    unsigned long long r = (unsigned long long)read_voxels, c = (unsigned long long)core_voxels;
    unsigned long long b = (unsigned long long)work_buffers(steps, nsteps) * r * 4ULL;
    if (in_dtype != LAPSE_DT_F32)
        b += r * lapse_dtype_size(in_dtype);
    int nout = lapse_pipeline_noutputs(steps, nsteps);
    for (int k = 0; k < nout; k++) {
        int step;
        lapse_dtype_t dt;
        lapse_pipeline_output_info(steps, nsteps, in_dtype, out_dtype, k, &step, &dt);
        b += c * lapse_dtype_size(dt);
    }
    return b + 64ULL * 1024ULL; /* Gaussian weights and slack */
}

/* A device buffer of bytes, checked against the device's largest allocation. */
static lapse_status_t dev_buffer(lapse_cl_t *cl, size_t bytes, const char *what, cl_mem *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    if (bytes > cl->dev.max_alloc)
        LAPSE_FAIL(LAPSE_ENOMEM,
                   "%s needs %.1f MiB in one buffer, more than the device's largest allocation "
                   "(%.1f MiB on %s): use smaller tiles",
                   what, (double)bytes / 1048576.0, (double)cl->dev.max_alloc / 1048576.0,
                   cl->dev.name);
    *out = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &e);
    if (e != CL_SUCCESS)
        LAPSE_FAIL(LAPSE_ECL, "allocating %s (%.1f MiB) on %s failed: %s (%d)", what,
                   (double)bytes / 1048576.0, cl->dev.name, lapse_cl_strerror(e), e);
cleanup:
    return st;
}

/* Pinned host memory of bytes, mapped for reading and writing until pinned_release. */
static lapse_status_t pinned_alloc(lapse_cl_t *cl, size_t bytes, pinned_t *p)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    if (bytes == 0)
        bytes = 1;
    p->mem = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes, NULL, &e);
    LAPSE_CL(e);
    p->host = clEnqueueMapBuffer(cl->queue, p->mem, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes,
                                 0, NULL, NULL, &e);
    LAPSE_CL(e);
cleanup:
    return st;
}

static void pinned_release(lapse_cl_t *cl, pinned_t *p)
{
    if (p->mem && p->host)
        clEnqueueUnmapMemObject(cl->queue, p->mem, p->host, 0, NULL, NULL);
    if (p->mem) {
        clFinish(cl->queue);
        clReleaseMemObject(p->mem);
    }
    p->mem = NULL;
    p->host = NULL;
}

lapse_status_t lapse_pipeline_create(lapse_cl_t *cl, const lapse_step_t *steps, int nsteps,
                                     lapse_dtype_t in_dtype, lapse_dtype_t out_dtype,
                                     long long max_read_voxels, long long max_core_voxels,
                                     lapse_pipeline_t **out)
{
    lapse_status_t st = LAPSE_OK;
    lapse_pipeline_t *p = NULL;
    if (nsteps < 0 || nsteps > LAPSE_MAX_STEPS || max_read_voxels <= 0 || max_core_voxels <= 0 ||
        max_core_voxels > max_read_voxels || lapse_dtype_size(in_dtype) == 0)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "lapse_pipeline_create: bad arguments (%d steps, %lld read voxels, %lld core "
                   "voxels, input %s)",
                   nsteps, max_read_voxels, max_core_voxels, lapse_dtype_name(in_dtype));
    p = calloc(1, sizeof *p);
    LAPSE_ALLOC(p);
    p->cl = cl;
    p->steps = steps;
    p->nsteps = nsteps;
    p->in_dtype = in_dtype;
    p->out_dtype = out_dtype;
    p->max_read = max_read_voxels;
    p->max_core = max_core_voxels;
    size_t nread = (size_t)max_read_voxels, ncore = (size_t)max_core_voxels;
    LAPSE_TRY(lapse_opcl_create(cl, &p->ops));
    LAPSE_TRY(lapse_opcl_weights_create(cl, steps, nsteps, &p->w));
    LAPSE_TRY(pinned_alloc(cl, nread * lapse_dtype_size(in_dtype), &p->in));
    if (in_dtype != LAPSE_DT_F32)
        LAPSE_TRY(
            dev_buffer(cl, nread * lapse_dtype_size(in_dtype), "the input buffer", &p->in_dev));
    int nbuf = work_buffers(steps, nsteps);
    for (int i = 0; i < nbuf; i++)
        LAPSE_TRY(dev_buffer(cl, nread * sizeof(float), "a float32 work buffer", &p->bufs[i]));
    p->nout = lapse_pipeline_noutputs(steps, nsteps);
    for (int k = 0; k < p->nout; k++) {
        output_t *o = &p->out[k];
        lapse_pipeline_output_info(steps, nsteps, in_dtype, out_dtype, k, &o->step, &o->dt);
        size_t bytes = ncore * lapse_dtype_size(o->dt);
        LAPSE_TRY(dev_buffer(cl, bytes, "an output buffer", &o->dev));
        LAPSE_TRY(pinned_alloc(cl, bytes, &o->pin));
    }
    *out = p;
    p = NULL;
cleanup:
    lapse_pipeline_destroy(p);
    return st;
}

void *lapse_pipeline_input(lapse_pipeline_t *p)
{
    return p->in.host;
}

const void *lapse_pipeline_output(lapse_pipeline_t *p, int k)
{
    if (k < 0 || k >= p->nout)
        return NULL;
    return p->out[k].pin.host;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Check the task's geometry against the sizes the pipeline was created for. */
static lapse_status_t check_task(const lapse_pipeline_t *p, const int64_t read_dim[3],
                                 const lapse_box_t *core)
{
    lapse_status_t st = LAPSE_OK;
    for (int a = 0; a < 3; a++)
        if (read_dim[a] <= 0 || core->dim[a] <= 0 || core->off[a] < 0 ||
            core->off[a] + core->dim[a] > read_dim[a] || read_dim[a] > INT32_MAX)
            LAPSE_FAIL(LAPSE_ERUNTIME,
                       "pipeline task: core box axis %d [%lld, +%lld) does not fit the read box "
                       "(extent %lld)",
                       a, (long long)core->off[a], (long long)core->dim[a], (long long)read_dim[a]);
    if (read_dim[0] * read_dim[1] * read_dim[2] > p->max_read ||
        lapse_box_voxels(core) > p->max_core)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "pipeline task: %lld read / %lld core voxels exceed the %lld / %lld the "
                   "pipeline was created for",
                   (long long)(read_dim[0] * read_dim[1] * read_dim[2]),
                   (long long)lapse_box_voxels(core), p->max_read, p->max_core);
cleanup:
    return st;
}

/* Pack the result in bufs[cur] (dims dim) into output k's device buffer. After a projection
 * (dim z == 1) the core keeps its y, x and has one plane. */
static lapse_status_t pack_output(lapse_pipeline_t *p, int k, int cur, const int64_t dim[3],
                                  const lapse_box_t *core)
{
    lapse_box_t c = *core;
    if (dim[0] == 1) {
        c.off[0] = 0;
        c.dim[0] = 1;
    }
    p->out[k].bytes = (size_t)lapse_box_voxels(&c) * lapse_dtype_size(p->out[k].dt);
    return lapse_opcl_pack(p->ops, p->out[k].dt, p->bufs[cur], dim, &c, p->out[k].dev);
}

lapse_status_t lapse_pipeline_run(lapse_pipeline_t *p, const int64_t read_dim[3],
                                  const lapse_box_t *core, lapse_pipe_times_t *times)
{
    lapse_status_t st = LAPSE_OK;
    cl_command_queue q = p->cl->queue;
    int64_t dim[3] = {read_dim[0], read_dim[1], read_dim[2]};
    int cur = 0, k = 0;
    LAPSE_TRY(check_task(p, read_dim, core));
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    double t0 = now();
    cl_mem up = p->in_dtype == LAPSE_DT_F32 ? p->bufs[0] : p->in_dev;
    LAPSE_CL(clEnqueueWriteBuffer(q, up, CL_FALSE, 0, n * lapse_dtype_size(p->in_dtype), p->in.host,
                                  0, NULL, NULL));
    LAPSE_CL(clFinish(q));
    double t1 = now();
    if (p->in_dtype != LAPSE_DT_F32)
        LAPSE_TRY(lapse_opcl_to_f32(p->ops, p->in_dtype, p->in_dev, p->bufs[0], n));
    for (int i = 0; i < p->nsteps; i++) {
        LAPSE_TRY(lapse_opcl_step(p->ops, p->steps, i, &p->w, p->bufs, &cur, dim));
        if (p->steps[i].save[0] != '\0')
            LAPSE_TRY(pack_output(p, k++, cur, dim, core));
    }
    LAPSE_TRY(pack_output(p, k, cur, dim, core));
    LAPSE_CL(clFinish(q));
    double t2 = now();
    for (k = 0; k < p->nout; k++)
        LAPSE_CL(clEnqueueReadBuffer(q, p->out[k].dev, CL_FALSE, 0, p->out[k].bytes,
                                     p->out[k].pin.host, 0, NULL, NULL));
    LAPSE_CL(clFinish(q));
    double t3 = now();
    if (times) {
        times->upload = t1 - t0;
        times->compute = t2 - t1;
        times->download = t3 - t2;
    }
cleanup:
    return st;
}

void lapse_pipeline_destroy(lapse_pipeline_t *p)
{
    if (p == NULL)
        return;
    if (p->cl->queue)
        clFinish(p->cl->queue);
    for (int k = 0; k < p->nout; k++) {
        pinned_release(p->cl, &p->out[k].pin);
        if (p->out[k].dev)
            clReleaseMemObject(p->out[k].dev);
    }
    for (int i = 0; i < LAPSE_OPCL_NBUF; i++)
        if (p->bufs[i])
            clReleaseMemObject(p->bufs[i]);
    if (p->in_dev)
        clReleaseMemObject(p->in_dev);
    pinned_release(p->cl, &p->in);
    lapse_opcl_weights_release(&p->w);
    lapse_opcl_destroy(p->ops);
    free(p);
}
