/*
 * pipeline.c - one task's pipeline graph on the device (see pipeline.h). Create allocates, once:
 * the pinned input staging (CL_MEM_ALLOC_HOST_PTR, mapped for the pipeline's lifetime), the
 * device input buffer in the input dtype (uint8/uint16; float32 input is uploaded straight into
 * the input's work buffer), the graph's float32 work buffer slots, each step's device state
 * (e.g. Gaussian weights), and per output a device buffer and a pinned mapped host buffer. Run:
 * upload, widen, the steps in order (each op's launcher, src/ops/), pack each output right after
 * its step, download the cores. A launcher may leave its result in a scratch buffer: the slots'
 * buffers are then swapped, so slots are roles and buffers move between them. The packing of an
 * integer output counts its saturated and NaN voxels on the device (one 64-bit counter per
 * output, zeroed per task, kept in checkpoints), downloaded with the cores.
 */
#include "pipeline.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device/dev.h"
#include "ops/global.h"

typedef struct {
    lapse_dtype_t dt; /* packed dtype */
    int away;         /* integers: halves rounded away from zero (its step's op), else to even */
    cl_mem dev;       /* packed core on the device */
    size_t bytes;     /* bytes of the last enqueued run's core */
} output_t;

/* One staging slot: the pinned host memory of one task in flight (its read box, its downloaded
 * cores) and the events that time it. Slots let the host fill slot s + 1 and drain slot s - 1
 * while the device runs the task of slot s; the device buffers are shared (the in-order queue
 * runs the tasks one after the other). */
typedef struct {
    lapse_cl_pinned_t in;
    lapse_cl_pinned_t out[LAPSE_MAX_STEPS + 1];
    cl_event up;                      /* the upload of the read box */
    cl_event comp;                    /* marker: the steps are done */
    cl_event dl[LAPSE_MAX_STEPS + 1]; /* the downloads of the cores */
    int ndl;
    cl_event end;                            /* marker: everything of the task is done */
    cl_uint clip[2 * (LAPSE_MAX_STEPS + 1)]; /* the outputs' counters (lapse_pipeline_clipped) */
    double t_enq;                            /* host clock when the task was enqueued */
    int busy;                                /* enqueued and not yet waited for */
    int stopped;                             /* the task ended at a global step */
} slot_t;

struct lapse_pipeline {
    lapse_cl_t *cl;
    const lapse_graph_t *g;
    long long max_read, max_core;
    lapse_dev_t *dev;
    void *state[LAPSE_MAX_STEPS]; /* per-step device state (op->prepare) */
    slot_t slot[LAPSE_PIPE_MAX_SLOTS];
    int nslots;
    cl_mem in_dev; /* NULL for float32 input */
    int nbuf;
    cl_mem bufs[LAPSE_MAX_STEPS * (LAPSE_GRAPH_SCRATCH + 2) + 2]; /* by slot; permuted by runs */
    output_t out[LAPSE_MAX_STEPS + 1];
    cl_mem clip; /* per output, 2 cl_uint: its saturated / NaN voxel count (lapse_dev_pack) */
    lapse_segment_hook_t hook; /* between segments, or NULL */
    void *hook_ctx;
    lapse_global_fn gfn; /* global steps, or NULL: whole timepoint */
    void *gfn_ctx;
    cl_mem gmat[LAPSE_MAX_STEPS];   /* per global step with mat_bytes: read-box voxels */
    cl_mem gwork;                   /* the largest work_bytes per read-box voxel */
    int stopped;                    /* the last run ended at a global step */
    int profile;                    /* LAPSE_PROFILE=1: each step timed to a finished queue */
    double prof_s[LAPSE_MAX_STEPS]; /* seconds per step over all runs (profile) */
    long prof_n[LAPSE_MAX_STEPS];   /* runs per step (profile) */
    /* The task being enqueued (enqueue_boxes), for lapse_pipeline_ckpt_save; NULL between. */
    const lapse_box_t *cur_read, *cur_core, *cur_box;
    int cur_step; /* the step being enqueued (-1 between) */
};

#define CKPT_MAX (LAPSE_MAX_STEPS + 1)

/* A checkpoint (pipeline.h): copies of the live values and of the packed outputs so far. */
struct lapse_pipe_ckpt {
    int step;               /* the step a resumed run starts at */
    lapse_box_t read, core; /* the task it belongs to */
    int nval;
    int node[CKPT_MAX]; /* whose value: a step, or LAPSE_GRAPH_INPUT */
    cl_mem val[CKPT_MAX];
    size_t vbytes[CKPT_MAX];
    int nout;
    int out[CKPT_MAX]; /* output index */
    cl_mem outm[CKPT_MAX];
    size_t obytes[CKPT_MAX];
    cl_mem clip;  /* the outputs' counters */
    size_t bytes; /* device bytes in all */
};

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

/* Bytes of the outputs' counters. */
static size_t clip_bytes(const lapse_graph_t *g)
{
    return 2 * sizeof(cl_uint) * (size_t)(g->nout > 0 ? g->nout : 1);
}

/* The device buffers: input, work slots, outputs (device and pinned host). */
static lapse_status_t alloc_buffers(lapse_pipeline_t *p)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_graph_t *g = p->g;
    size_t nread = (size_t)p->max_read, ncore = (size_t)p->max_core;
    size_t insz = lapse_dtype_size(g->in_dtype);
    LAPSE_TRY(lapse_cl_pinned_alloc(p->cl, nread * insz, &p->slot[0].in));
    p->nslots = 1;
    if (g->in_dtype != LAPSE_DT_F32)
        LAPSE_TRY(dev_buffer(p->cl, nread * insz, "the input buffer", &p->in_dev));
    if (g->nbuf > (int)(sizeof p->bufs / sizeof *p->bufs))
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: %d work buffers", g->nbuf);
    p->nbuf = g->nbuf;
    for (int i = 0; i < p->nbuf; i++)
        LAPSE_TRY(dev_buffer(p->cl, nread * sizeof(float), "a float32 work buffer", &p->bufs[i]));
    size_t work = 0;
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_global_t *gl = g->node[k].step->op->global;
        if (gl == NULL)
            continue;
        if (gl->mat_bytes)
            LAPSE_TRY(
                dev_buffer(p->cl, nread * gl->mat_bytes, "a global step's tile data", &p->gmat[k]));
        if (gl->work_bytes * nread > work)
            work = gl->work_bytes * nread;
    }
    if (work)
        LAPSE_TRY(dev_buffer(p->cl, work, "a global step's work buffer", &p->gwork));
    for (int k = 0; k < g->nout; k++) {
        output_t *o = &p->out[k];
        o->dt = g->out[k].dtype;
        o->away = g->node[g->out[k].node].step->op->round_away;
        size_t bytes = ncore * lapse_dtype_size(o->dt);
        LAPSE_TRY(dev_buffer(p->cl, bytes, "an output buffer", &o->dev));
        LAPSE_TRY(lapse_cl_pinned_alloc(p->cl, bytes, &p->slot[0].out[k]));
    }
    LAPSE_TRY(dev_buffer(p->cl, clip_bytes(g), "the outputs' counters", &p->clip));
cleanup:
    return st;
}

/* Release the events of slot s's last task. */
static void slot_events_release(slot_t *s)
{
    cl_event *ev[] = {&s->up, &s->comp, &s->end};
    for (size_t i = 0; i < sizeof ev / sizeof *ev; i++)
        if (*ev[i]) {
            clReleaseEvent(*ev[i]);
            *ev[i] = NULL;
        }
    for (int i = 0; i < s->ndl; i++)
        if (s->dl[i])
            clReleaseEvent(s->dl[i]);
    s->ndl = 0;
}

static lapse_status_t enqueue_boxes(lapse_pipeline_t *p, int s, const lapse_box_t *read,
                                    const lapse_box_t *core, const lapse_box_t *box, cl_mem from,
                                    cl_mem *keep, const lapse_pipe_ckpt_t *ck);

/* Run every step once on a one-voxel task (zeros; every node's box the voxel at the origin):
 * builds the kernel programs and creates the kernels the graph uses (each on first use,
 * clrt.c), so that this start-up cost is paid here and not inside the first task's compute
 * time. */
static lapse_status_t warm_up(lapse_pipeline_t *p)
{
    static const lapse_box_t one = {{0, 0, 0}, {1, 1, 1}};
    lapse_box_t box[LAPSE_MAX_STEPS];
    for (int k = 0; k < p->g->nsteps; k++)
        box[k] = one;
    memset(p->slot[0].in.host, 0, lapse_dtype_size(p->g->in_dtype));
    lapse_status_t st = enqueue_boxes(p, 0, &one, &one, box, NULL, NULL, NULL);
    if (st == LAPSE_OK)
        st = lapse_pipeline_wait(p, 0, NULL);
    return st;
}

lapse_status_t lapse_pipeline_create(lapse_cl_t *cl, const lapse_graph_t *g,
                                     long long max_read_voxels, long long max_core_voxels,
                                     lapse_pipeline_t **out)
{
    lapse_status_t st = LAPSE_OK;
    lapse_pipeline_t *p = NULL;
    if (g == NULL || g->nsteps < 1 || max_read_voxels <= 0 || max_core_voxels <= 0 ||
        lapse_dtype_size(g->in_dtype) == 0)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "lapse_pipeline_create: bad arguments (%lld read voxels, %lld core voxels)",
                   max_read_voxels, max_core_voxels);
    p = calloc(1, sizeof *p);
    LAPSE_ALLOC(p);
    p->cl = cl;
    p->g = g;
    p->max_read = max_read_voxels;
    p->max_core = max_core_voxels;
    p->cur_step = -1;
    const char *profile = getenv("LAPSE_PROFILE");
    p->profile = profile != NULL && strcmp(profile, "1") == 0;
    LAPSE_TRY(lapse_dev_create(cl, &p->dev));
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_step_t *s = g->node[k].step;
        if (s->op->prepare)
            LAPSE_TRY(s->op->prepare(p->dev, s, &p->state[k]));
        if (s->op->selftest) { /* on the image of its (first) operand */
            const int in = g->node[k].in[0];
            LAPSE_TRY(s->op->selftest(p->dev, s, p->state[k],
                                      in == LAPSE_GRAPH_INPUT ? g->in_shape : g->node[in].dims));
        }
    }
    LAPSE_TRY(alloc_buffers(p));
    LAPSE_TRY(warm_up(p));
    *out = p;
    p = NULL;
cleanup:
    lapse_pipeline_destroy(p);
    return st;
}

lapse_status_t lapse_pipeline_set_slots(lapse_pipeline_t *p, int nslots)
{
    lapse_status_t st = LAPSE_OK;
    if (nslots < 1 || nslots > LAPSE_PIPE_MAX_SLOTS)
        LAPSE_FAIL(LAPSE_ERUNTIME, "lapse_pipeline_set_slots: %d slots (1 to %d)", nslots,
                   LAPSE_PIPE_MAX_SLOTS);
    size_t nread = (size_t)p->max_read, ncore = (size_t)p->max_core;
    for (int s = p->nslots; s < nslots; s++) {
        LAPSE_TRY(
            lapse_cl_pinned_alloc(p->cl, nread * lapse_dtype_size(p->g->in_dtype), &p->slot[s].in));
        for (int k = 0; k < p->g->nout; k++)
            LAPSE_TRY(lapse_cl_pinned_alloc(p->cl, ncore * lapse_dtype_size(p->out[k].dt),
                                            &p->slot[s].out[k]));
        p->nslots = s + 1;
    }
cleanup:
    return st;
}

int lapse_pipeline_slots(const lapse_pipeline_t *p)
{
    return p->nslots;
}

void *lapse_pipeline_input_slot(lapse_pipeline_t *p, int s)
{
    if (s < 0 || s >= p->nslots)
        return NULL;
    return p->slot[s].in.host;
}

int64_t lapse_pipeline_clipped(const lapse_pipeline_t *p, int s, int k)
{
    if (k < 0 || k >= p->g->nout || s < 0 || s >= p->nslots)
        return 0;
    return (int64_t)(((uint64_t)p->slot[s].clip[2 * k + 1] << 32) | p->slot[s].clip[2 * k]);
}

const void *lapse_pipeline_output_slot(lapse_pipeline_t *p, int s, int k)
{
    if (k < 0 || k >= p->g->nout || s < 0 || s >= p->nslots)
        return NULL;
    return p->slot[s].out[k].host;
}

void *lapse_pipeline_input(lapse_pipeline_t *p)
{
    return lapse_pipeline_input_slot(p, 0);
}

const void *lapse_pipeline_output(lapse_pipeline_t *p, int k)
{
    return lapse_pipeline_output_slot(p, 0, k);
}

void lapse_pipeline_set_hook(lapse_pipeline_t *p, lapse_segment_hook_t hook, void *ctx)
{
    p->hook = hook;
    p->hook_ctx = ctx;
}

int lapse_pipeline_stopped(const lapse_pipeline_t *p)
{
    return p->stopped;
}

void lapse_pipeline_set_global(lapse_pipeline_t *p, lapse_global_fn fn, void *ctx)
{
    p->gfn = fn;
    p->gfn_ctx = ctx;
}

struct lapse_dev *lapse_pipeline_dev(lapse_pipeline_t *p)
{
    return p->dev;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Check the task's geometry: read in the input image, core in the output image, every box
 * within the sizes the pipeline was created for, each output's core inside its node's box, and
 * each geometric step's operand box holding what its box rule says it reads. */
static lapse_status_t check_task(const lapse_pipeline_t *p, const lapse_box_t *read,
                                 const lapse_box_t *core, const lapse_box_t *box, int64_t most)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_graph_t *g = p->g;
    for (int a = 0; a < 3; a++) {
        if (read->dim[a] <= 0 || read->off[a] < 0 || read->off[a] + read->dim[a] > g->in_shape[a] ||
            read->dim[a] > INT32_MAX)
            LAPSE_FAIL(LAPSE_ERUNTIME,
                       "pipeline task: read box axis %d [%lld, +%lld) does not fit the input "
                       "(extent %lld)",
                       a, (long long)read->off[a], (long long)read->dim[a],
                       (long long)g->in_shape[a]);
        if (core->dim[a] <= 0 || core->off[a] < 0 || core->off[a] + core->dim[a] > g->out_shape[a])
            LAPSE_FAIL(LAPSE_ERUNTIME,
                       "pipeline task: core box axis %d [%lld, +%lld) does not fit the output "
                       "(extent %lld)",
                       a, (long long)core->off[a], (long long)core->dim[a],
                       (long long)g->out_shape[a]);
    }
    if (most > p->max_read || lapse_box_voxels(core) > p->max_core)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "pipeline task: %lld buffer / %lld core voxels exceed the %lld / %lld the "
                   "pipeline was created for",
                   (long long)most, (long long)lapse_box_voxels(core), p->max_read, p->max_core);
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_gnode_t *nd = &g->node[k];
        const lapse_box_t *b = &box[k];
        for (int a = 0; a < 3 && nd->output >= 0; a++) {
            int64_t lo = nd->dims[0] == 1 && a == 0 ? 0 : core->off[a];
            int64_t hi = nd->dims[0] == 1 && a == 0 ? 1 : core->off[a] + core->dim[a];
            if (lo < b->off[a] || hi > b->off[a] + b->dim[a])
                LAPSE_FAIL(LAPSE_ERUNTIME,
                           "pipeline task: the core does not fit step %d's box (axis %d: "
                           "[%lld, %lld) outside [%lld, +%lld)): the read box is too small",
                           k, a, (long long)lo, (long long)hi, (long long)b->off[a],
                           (long long)b->dim[a]);
        }
        if (nd->step->op->footprint != LAPSE_FP_TRANSFORM)
            continue;
        int j = nd->in[0];
        const lapse_box_t *have = j == LAPSE_GRAPH_INPUT ? read : &box[j];
        lapse_box_t need;
        lapse_step_in_box(nd->step, b, j == LAPSE_GRAPH_INPUT ? g->in_shape : g->node[j].dims,
                          &need);
        for (int a = 0; a < 3; a++)
            if (need.off[a] < have->off[a] ||
                need.off[a] + need.dim[a] > have->off[a] + have->dim[a])
                LAPSE_FAIL(LAPSE_ERUNTIME,
                           "pipeline task: step %d (%s) needs [%lld, +%lld) of its input on axis "
                           "%d but the task holds [%lld, +%lld): the read box is too small",
                           k, nd->step->op->name, (long long)need.off[a], (long long)need.dim[a], a,
                           (long long)have->off[a], (long long)have->dim[a]);
    }
cleanup:
    return st;
}

/* Pack node k's result (in mem, over box b) into its output's device buffer: the core, or for
 * a one-plane result the core's y, x on its one plane. */
static lapse_status_t pack_output(lapse_pipeline_t *p, int o, cl_mem mem, const lapse_box_t *b,
                                  const lapse_box_t *core)
{
    lapse_box_t c = *core;
    if (b->dim[0] == 1 && p->g->node[p->g->out[o].node].dims[0] == 1) {
        c.off[0] = 0;
        c.dim[0] = 1;
    }
    for (int a = 0; a < 3; a++)
        c.off[a] -= b->off[a];
    p->out[o].bytes = (size_t)lapse_box_voxels(&c) * lapse_dtype_size(p->out[o].dt);
    return lapse_dev_pack(p->dev, p->out[o].dt, p->out[o].away, mem, b->dim, &c, p->out[o].dev,
                          p->clip, o);
}

/* Copy the part w of float32 volume src (over box b) into dst, packed as w's dims. */
static lapse_status_t copy_window(lapse_pipeline_t *p, cl_mem src, const lapse_box_t *b,
                                  const lapse_box_t *w, cl_mem dst)
{
    lapse_status_t st = LAPSE_OK;
    const size_t fs = sizeof(float);
    size_t so[3] = {(size_t)(w->off[2] - b->off[2]) * fs, (size_t)(w->off[1] - b->off[1]),
                    (size_t)(w->off[0] - b->off[0])};
    size_t doff[3] = {0, 0, 0};
    size_t region[3] = {(size_t)w->dim[2] * fs, (size_t)w->dim[1], (size_t)w->dim[0]};
    LAPSE_CL(clEnqueueCopyBufferRect(p->cl->queue, src, dst, so, doff, region,
                                     (size_t)b->dim[2] * fs, (size_t)(b->dim[1] * b->dim[2]) * fs,
                                     (size_t)w->dim[2] * fs, (size_t)(w->dim[1] * w->dim[2]) * fs,
                                     0, NULL, NULL));
cleanup:
    return st;
}

/* A device volume over box b of an image of dims img. */
static lapse_dvol_t dvol(cl_mem mem, const lapse_box_t *b, const int64_t img[3])
{
    lapse_dvol_t v;
    v.mem = mem;
    for (int a = 0; a < 3; a++) {
        v.dim[a] = b->dim[a];
        v.org[a] = b->off[a];
        v.img[a] = img[a];
    }
    return v;
}

/* Enqueue step k, its operands over their boxes (box[], the input's read); packs its output
 * if any. A windowed step first copies the common box of its operands where they differ. A
 * global step gets the core relative to its operand's box; it may set *stop. */
static lapse_status_t run_step(lapse_pipeline_t *p, int k, const lapse_box_t *read,
                               const lapse_box_t *box, const lapse_box_t *core, int *stop)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_graph_t *g = p->g;
    const lapse_gnode_t *nd = &g->node[k];
    const lapse_op_t *op = nd->step->op;
    lapse_dvol_t in[LAPSE_OP_MAX_INPUTS], out;
    cl_mem scratch[LAPSE_GRAPH_SCRATCH];
    int res = 0;
    assert(nd->nin >= 1 && nd->nin <= LAPSE_OP_MAX_INPUTS); /* op.h: ninputs is 1 or 2 */
    for (int i = 0; i < nd->nin; i++) {
        int j = nd->in[i];
        const lapse_box_t *b = j == LAPSE_GRAPH_INPUT ? read : &box[j];
        cl_mem mem = p->bufs[j == LAPSE_GRAPH_INPUT ? g->input_buf : g->node[j].buf];
        const int64_t *img = j == LAPSE_GRAPH_INPUT ? g->in_shape : g->node[j].dims;
        if (nd->window && memcmp(b, &box[k], sizeof *b) != 0) {
            LAPSE_TRY(copy_window(p, mem, b, &box[k], p->bufs[nd->win[i]]));
            mem = p->bufs[nd->win[i]];
            b = &box[k];
        }
        in[i] = dvol(mem, b, img);
    }
    out = dvol(p->bufs[nd->buf], &box[k], nd->dims);
    for (int i = 0; i < op->nscratch; i++)
        scratch[i] = p->bufs[nd->scratch[i]];
    if (op->global && p->gfn) {
        lapse_box_t rel = *core; /* graph.c: no geometric step shares a graph with a global one */
        for (int a = 0; a < 3; a++)
            rel.off[a] -= in[0].org[a];
        LAPSE_TRY(p->gfn(p->gfn_ctx, p, k, in, &out, p->gmat[k], p->gwork, &rel, stop));
    } else if (op->global)
        LAPSE_TRY(lapse_global_whole(p->dev, nd->step, in, &out, p->gmat[k], p->gwork, NULL));
    else
        LAPSE_TRY(op->launch(p->dev, nd->step, p->state[k], in, &out, scratch, &res));
    if (res < 0 || res > op->nscratch)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: %s reported result buffer %d", op->name, res);
    if (res > 0) { /* the result is in scratch res-1: swap the two slots' buffers */
        cl_mem t = p->bufs[nd->buf];
        p->bufs[nd->buf] = p->bufs[nd->scratch[res - 1]];
        p->bufs[nd->scratch[res - 1]] = t;
    }
    if (nd->output >= 0)
        LAPSE_TRY(pack_output(p, nd->output, p->bufs[nd->buf], &box[k], core));
cleanup:
    return st;
}

/* Enqueue the copies that put checkpoint ck's values and packed outputs back in place (the
 * last copy's event into *ev). */
static lapse_status_t restore(lapse_pipeline_t *p, const lapse_pipe_ckpt_t *ck, cl_event *ev)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_graph_t *g = p->g;
    cl_command_queue q = p->cl->queue;
    for (int i = 0; i < ck->nout; i++) {
        LAPSE_CL(clEnqueueCopyBuffer(q, ck->outm[i], p->out[ck->out[i]].dev, 0, 0, ck->obytes[i], 0,
                                     NULL, NULL));
        p->out[ck->out[i]].bytes = ck->obytes[i];
    }
    LAPSE_CL(clEnqueueCopyBuffer(q, ck->clip, p->clip, 0, 0, clip_bytes(g), 0, NULL, NULL));
    for (int i = 0; i < ck->nval; i++) {
        int n = ck->node[i];
        cl_mem dst = p->bufs[n == LAPSE_GRAPH_INPUT ? g->input_buf : g->node[n].buf];
        LAPSE_CL(clEnqueueCopyBuffer(q, ck->val[i], dst, 0, 0, ck->vbytes[i], 0, NULL,
                                     i == ck->nval - 1 ? ev : NULL));
    }
cleanup:
    return st;
}

/* Enqueue the task whose node boxes are box[] (checked by the caller) on slot s: the upload
 * from the slot's input (or a device copy from `from`, when not NULL), the steps, the downloads
 * into the slot's outputs; flushed, not waited for. keep (not NULL): *keep receives a new device
 * copy of the input as uploaded. ck (not NULL, same task): no upload; its values are copied
 * back and the steps from its step on run. A global step's callback may block on the queue
 * meanwhile (phases.c), and so does LAPSE_PROFILE's per-step timing. */
static lapse_status_t enqueue_boxes(lapse_pipeline_t *p, int s, const lapse_box_t *read,
                                    const lapse_box_t *core, const lapse_box_t *box, cl_mem from,
                                    cl_mem *keep, const lapse_pipe_ckpt_t *ck)
{
    lapse_status_t st = LAPSE_OK;
    int stop = 0, first = 0;
    slot_t *sl = &p->slot[s];
    const lapse_graph_t *g = p->g;
    cl_command_queue q = p->cl->queue;
    size_t n = (size_t)lapse_box_voxels(read);
    if (sl->busy)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: pipeline slot %d is still in flight", s);
    slot_events_release(sl);
    sl->stopped = 0;
    sl->t_enq = now();
    cl_mem in0 = p->bufs[g->input_buf];
    cl_mem up = g->in_dtype == LAPSE_DT_F32 ? in0 : p->in_dev;
    size_t in_bytes = n * lapse_dtype_size(g->in_dtype);
    if (ck) {
        sl->busy = 1;
        LAPSE_TRY(restore(p, ck, &sl->up));
        first = ck->step;
    } else if (from)
        LAPSE_CL(clEnqueueCopyBuffer(q, from, up, 0, 0, in_bytes, 0, NULL, &sl->up));
    else
        LAPSE_CL(clEnqueueWriteBuffer(q, up, CL_FALSE, 0, in_bytes, sl->in.host, 0, NULL, &sl->up));
    sl->busy = 1;      /* from here on the device may read the slot's input */
    if (keep && !ck) { /* a device copy of the input as uploaded, before any step overwrites it */
        cl_int e = CL_SUCCESS;
        *keep = clCreateBuffer(p->cl->ctx, CL_MEM_READ_WRITE, in_bytes, NULL, &e);
        LAPSE_CL(e);
        e = clEnqueueCopyBuffer(q, up, *keep, 0, 0, in_bytes, 0, NULL, NULL);
        if (e != CL_SUCCESS) {
            clReleaseMemObject(*keep);
            *keep = NULL;
            LAPSE_CL(e);
        }
    }
    if (!ck) {
        const cl_uint zero = 0;
        LAPSE_CL(
            clEnqueueFillBuffer(q, p->clip, &zero, sizeof zero, 0, clip_bytes(g), 0, NULL, NULL));
    }
    if (!ck && g->in_dtype != LAPSE_DT_F32)
        LAPSE_TRY(lapse_dev_to_f32(p->dev, g->in_dtype, p->in_dev, in0, n));
    p->cur_read = read;
    p->cur_core = core;
    p->cur_box = box;
    for (int seg = 0; seg < g->nseg; seg++) {
        if (g->seg[seg + 1] <= first) /* before the checkpoint's step: done in its run */
            continue;
        if (seg > 0 && p->hook)
            LAPSE_TRY(p->hook(p->hook_ctx, p, seg - 1));
        for (int k = g->seg[seg] > first ? g->seg[seg] : first; k < g->seg[seg + 1] && !stop; k++) {
            double ts = p->profile ? now() : 0.0;
            p->cur_step = k;
            LAPSE_TRY(run_step(p, k, read, box, core, &stop));
            if (p->profile) { /* the step's own time: the queue drained before and after */
                LAPSE_CL(clFinish(q));
                p->prof_s[k] += now() - ts;
                p->prof_n[k]++;
            }
        }
    }
    LAPSE_CL(clEnqueueMarkerWithWaitList(q, 0, NULL, &sl->comp));
    sl->stopped = stop;
    p->stopped = stop;
    for (int k = 0; k < g->nout && !stop; k++)
        LAPSE_CL(clEnqueueReadBuffer(q, p->out[k].dev, CL_FALSE, 0, p->out[k].bytes,
                                     sl->out[k].host, 0, NULL, &sl->dl[sl->ndl++]));
    if (!stop)
        LAPSE_CL(
            clEnqueueReadBuffer(q, p->clip, CL_FALSE, 0, clip_bytes(g), sl->clip, 0, NULL, NULL));
    LAPSE_CL(clEnqueueMarkerWithWaitList(q, 0, NULL, &sl->end));
    LAPSE_CL(clFlush(q));
cleanup:
    p->cur_read = p->cur_core = p->cur_box = NULL;
    p->cur_step = -1;
    if (st != LAPSE_OK && sl->busy) { /* leave nothing running on the slot's memory */
        clFinish(q);
        sl->busy = 0;
    }
    return st;
}

/* Whether the value of node j (LAPSE_GRAPH_INPUT: the input) is read by step k or later. */
static int live_at(const lapse_graph_t *g, int j, int k)
{
    return (j == LAPSE_GRAPH_INPUT ? g->input_last : g->node[j].last_use) >= k;
}

/* Bytes of node j's value over the task's boxes. */
static size_t value_bytes(const lapse_box_t *read, const lapse_box_t *box, int j)
{
    return (size_t)lapse_box_voxels(j == LAPSE_GRAPH_INPUT ? read : &box[j]) * sizeof(cl_float);
}

/* Bytes of output o's packed core (as pack_output sizes it). */
static size_t output_bytes(const lapse_pipeline_t *p, int o, const lapse_box_t *box,
                           const lapse_box_t *core)
{
    lapse_box_t c = *core;
    if (box[p->g->out[o].node].dim[0] == 1 && p->g->node[p->g->out[o].node].dims[0] == 1)
        c.dim[0] = 1;
    return (size_t)lapse_box_voxels(&c) * lapse_dtype_size(p->out[o].dt);
}

size_t lapse_pipeline_ckpt_bytes(const lapse_pipeline_t *p, int k, const lapse_box_t *read,
                                 const lapse_box_t *core)
{
    const lapse_graph_t *g = p->g;
    lapse_box_t box[LAPSE_MAX_STEPS];
    lapse_graph_node_boxes(g, read, core, box);
    size_t bytes = clip_bytes(g);
    if (live_at(g, LAPSE_GRAPH_INPUT, k))
        bytes += value_bytes(read, box, LAPSE_GRAPH_INPUT);
    for (int j = 0; j < k && j < g->nsteps; j++) {
        if (live_at(g, j, k))
            bytes += value_bytes(read, box, j);
        if (g->node[j].output >= 0)
            bytes += output_bytes(p, g->node[j].output, box, core);
    }
    return bytes;
}

/* A new device buffer in c holding a copy of bytes of src; *out receives it. */
static lapse_status_t ckpt_copy(lapse_pipeline_t *p, lapse_pipe_ckpt_t *c, cl_mem src, size_t bytes,
                                int k, cl_mem *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    *out = clCreateBuffer(p->cl->ctx, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &e);
    if (e == CL_SUCCESS)
        e = clEnqueueCopyBuffer(p->cl->queue, src, *out, 0, 0, bytes, 0, NULL, NULL);
    if (e != CL_SUCCESS) {
        if (*out)
            clReleaseMemObject(*out);
        *out = NULL;
        LAPSE_FAIL(LAPSE_ECL, "a checkpoint buffer of %.1f MiB before step %d on %s: %s (%d)",
                   (double)bytes / 1048576.0, k, p->cl->dev.name, lapse_cl_strerror(e), e);
    }
    c->bytes += bytes;
cleanup:
    return st;
}

lapse_status_t lapse_pipeline_ckpt_save(lapse_pipeline_t *p, int k, lapse_pipe_ckpt_t **out)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_graph_t *g = p->g;
    lapse_pipe_ckpt_t *c = NULL;
    *out = NULL;
    if (p->cur_box == NULL || k != p->cur_step)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "internal error: a checkpoint before step %d outside that step's callback", k);
    c = calloc(1, sizeof *c);
    LAPSE_ALLOC(c);
    c->step = k;
    c->read = *p->cur_read;
    c->core = *p->cur_core;
    LAPSE_TRY(ckpt_copy(p, c, p->clip, clip_bytes(g), k, &c->clip));
    for (int j = LAPSE_GRAPH_INPUT; j < k; j++) {
        if (j >= 0 && g->node[j].output >= 0) {
            const int o = g->node[j].output;
            c->out[c->nout] = o;
            c->obytes[c->nout] = p->out[o].bytes;
            LAPSE_TRY(ckpt_copy(p, c, p->out[o].dev, p->out[o].bytes, k, &c->outm[c->nout]));
            c->nout++;
        }
        if (!live_at(g, j, k))
            continue;
        c->node[c->nval] = j;
        c->vbytes[c->nval] = value_bytes(p->cur_read, p->cur_box, j);
        LAPSE_TRY(ckpt_copy(p, c, p->bufs[j == LAPSE_GRAPH_INPUT ? g->input_buf : g->node[j].buf],
                            c->vbytes[c->nval], k, &c->val[c->nval]));
        c->nval++;
    }
    *out = c;
    c = NULL;
cleanup:
    lapse_pipeline_ckpt_free(c);
    return st;
}

int lapse_pipeline_ckpt_step(const lapse_pipe_ckpt_t *c)
{
    return c ? c->step : -1;
}

size_t lapse_pipeline_ckpt_size(const lapse_pipe_ckpt_t *c)
{
    return c ? c->bytes : 0;
}

cl_mem lapse_pipeline_ckpt_value(const lapse_pipe_ckpt_t *c, int node)
{
    for (int i = 0; c && i < c->nval; i++)
        if (c->node[i] == node)
            return c->val[i];
    return NULL;
}

void lapse_pipeline_ckpt_free(lapse_pipe_ckpt_t *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->nval; i++)
        if (c->val[i])
            clReleaseMemObject(c->val[i]);
    for (int i = 0; i < c->nout; i++)
        if (c->outm[i])
            clReleaseMemObject(c->outm[i]);
    if (c->clip)
        clReleaseMemObject(c->clip);
    free(c);
}

/* Seconds from START/END (which) of a to START/END of b by the queue's profiling: -1 when the
 * profiling is not available. */
static double ev_span(cl_event a, cl_profiling_info wa, cl_event b, cl_profiling_info wb)
{
    cl_ulong ta = 0, tb = 0;
    if (a == NULL || b == NULL ||
        clGetEventProfilingInfo(a, wa, sizeof ta, &ta, NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(b, wb, sizeof tb, &tb, NULL) != CL_SUCCESS || tb < ta)
        return -1;
    return (double)(tb - ta) * 1e-9;
}

lapse_status_t lapse_pipeline_enqueue(lapse_pipeline_t *p, int s, const lapse_box_t *read,
                                      const lapse_box_t *core, cl_mem from)
{
    lapse_status_t st = LAPSE_OK;
    lapse_box_t box[LAPSE_MAX_STEPS];
    if (s < 0 || s >= p->nslots)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: pipeline slot %d of %d", s, p->nslots);
    int64_t most = lapse_graph_node_boxes(p->g, read, core, box);
    LAPSE_TRY(check_task(p, read, core, box, most));
    LAPSE_TRY(enqueue_boxes(p, s, read, core, box, from, NULL, NULL));
cleanup:
    return st;
}

lapse_status_t lapse_pipeline_resume(lapse_pipeline_t *p, int s, const lapse_box_t *read,
                                     const lapse_box_t *core, const lapse_pipe_ckpt_t *c)
{
    lapse_status_t st = LAPSE_OK;
    lapse_box_t box[LAPSE_MAX_STEPS];
    if (s < 0 || s >= p->nslots)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: pipeline slot %d of %d", s, p->nslots);
    if (c == NULL || memcmp(&c->read, read, sizeof *read) != 0 ||
        memcmp(&c->core, core, sizeof *core) != 0)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: a checkpoint resumed for another task");
    int64_t most = lapse_graph_node_boxes(p->g, read, core, box);
    LAPSE_TRY(check_task(p, read, core, box, most));
    LAPSE_TRY(enqueue_boxes(p, s, read, core, box, NULL, NULL, c));
cleanup:
    return st;
}

lapse_status_t lapse_pipeline_wait(lapse_pipeline_t *p, int s, lapse_pipe_times_t *times)
{
    lapse_status_t st = LAPSE_OK;
    if (s < 0 || s >= p->nslots || !p->slot[s].busy)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: pipeline slot %d has no task in flight", s);
    slot_t *sl = &p->slot[s];
    double w0 = now();
    cl_int e = clWaitForEvents(1, &sl->end);
    sl->busy = 0;
    LAPSE_CL(e);
    double w1 = now();
    if (times) {
        times->wait = w1 - w0;
        /* device seconds by the queue's profiling: upload, steps (from the end of the upload
         * to the end of the last step), downloads (from the start of the first) */
        times->upload =
            ev_span(sl->up, CL_PROFILING_COMMAND_START, sl->up, CL_PROFILING_COMMAND_END);
        times->compute =
            ev_span(sl->up, CL_PROFILING_COMMAND_END, sl->comp, CL_PROFILING_COMMAND_END);
        times->download = sl->ndl == 0 ? 0
                                       : ev_span(sl->dl[0], CL_PROFILING_COMMAND_START,
                                                 sl->dl[sl->ndl - 1], CL_PROFILING_COMMAND_END);
        if (times->upload < 0 || times->compute < 0 || times->download < 0) {
            /* no profiling: the host's span from enqueue to completion, as compute */
            times->upload = times->download = 0;
            times->compute = w1 - sl->t_enq;
        }
    }
cleanup:
    return st;
}

lapse_status_t lapse_pipeline_run(lapse_pipeline_t *p, const lapse_box_t *read,
                                  const lapse_box_t *core, lapse_pipe_times_t *times)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_TRY(lapse_pipeline_enqueue(p, 0, read, core, NULL));
    LAPSE_TRY(lapse_pipeline_wait(p, 0, times));
cleanup:
    return st;
}

lapse_status_t lapse_pipeline_run_dev(lapse_pipeline_t *p, const lapse_box_t *read,
                                      const lapse_box_t *core, lapse_pipe_times_t *times,
                                      cl_mem from, cl_mem *keep)
{
    lapse_status_t st = LAPSE_OK;
    lapse_box_t box[LAPSE_MAX_STEPS];
    if (keep)
        *keep = NULL;
    int64_t most = lapse_graph_node_boxes(p->g, read, core, box);
    LAPSE_TRY(check_task(p, read, core, box, most));
    st = enqueue_boxes(p, 0, read, core, box, from, from ? NULL : keep, NULL);
    if (st == LAPSE_OK)
        st = lapse_pipeline_wait(p, 0, times);
    if (st != LAPSE_OK && keep && *keep) { /* nothing is kept from a failed run */
        clReleaseMemObject(*keep);
        *keep = NULL;
    }
cleanup:
    return st;
}

void lapse_pipeline_profile(const lapse_pipeline_t *p, FILE *f, const char *prefix)
{
    if (p == NULL || !p->profile)
        return;
    for (int k = 0; k < p->g->nsteps; k++) {
        const lapse_step_t *s = p->g->node[k].step;
        if (p->prof_n[k] > 0)
            fprintf(f, "%sstep %d %s (%s): %ld runs, %.3f s, %.3f ms per run\n", prefix, k,
                    s->name[0] ? s->name : "-", s->op->name, p->prof_n[k], p->prof_s[k],
                    1e3 * p->prof_s[k] / (double)p->prof_n[k]);
    }
}

void lapse_pipeline_destroy(lapse_pipeline_t *p)
{
    if (p == NULL)
        return;
    if (p->cl->queue)
        clFinish(p->cl->queue);
    for (int s = 0; s < LAPSE_PIPE_MAX_SLOTS; s++) {
        slot_events_release(&p->slot[s]);
        for (int k = 0; k < p->g->nout; k++)
            lapse_cl_pinned_release(p->cl, &p->slot[s].out[k]);
        lapse_cl_pinned_release(p->cl, &p->slot[s].in);
    }
    for (int k = 0; k < p->g->nout; k++)
        if (p->out[k].dev)
            clReleaseMemObject(p->out[k].dev);
    for (int i = 0; i < p->nbuf; i++)
        if (p->bufs[i])
            clReleaseMemObject(p->bufs[i]);
    for (int k = 0; k < p->g->nsteps; k++)
        if (p->gmat[k])
            clReleaseMemObject(p->gmat[k]);
    if (p->gwork)
        clReleaseMemObject(p->gwork);
    if (p->in_dev)
        clReleaseMemObject(p->in_dev);
    if (p->clip)
        clReleaseMemObject(p->clip);
    for (int k = 0; k < p->g->nsteps; k++)
        if (p->state[k] && p->g->node[k].step->op->release)
            p->g->node[k].step->op->release(p->state[k]);
    lapse_dev_destroy(p->dev);
    free(p);
}
