/*
 * phases.c - per-timepoint reductions of global steps over tiles and ranks (see phases.h).
 *
 * Results are kept per (timepoint, step) as blobs on every rank. A round computes one pass of
 * one global step: the ranks deal the tiles of the active timepoints round-robin, run the
 * pipeline of each up to the step (lapse_pipeline_run ends there: the callback sets *stop) and
 * keep its partial; then all partials go to every rank (MPI_Allgatherv of records
 * [index, size, bytes]) and each rank reduces every timepoint in tile order.
 */
#include "exec/phases.h"

#include <limits.h>
#include <math.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/dev.h"
#include "exec/sizing.h"
#include "io/table.h"
#include "ops/global.h"

enum { MODE_WHOLE, MODE_PARTIAL, MODE_FINAL };

/* A task's operands of a multi-pass global step, copied on the device after its pass 0. */
typedef struct {
    int used;
    lapse_dvol_t in[LAPSE_OP_MAX_INPUTS];
    int nin;
    lapse_gtile_t tile;
    cl_mem mat, work; /* the pipeline's buffers of the step (not owned) */
    size_t bytes;
} opcache_t;

struct lapse_phases {
    lapse_worker_t *w;
    const lapse_graph_t *g;
    lapse_plan_t full; /* the plan's geometry with every task (todo NULL; tps borrowed) */
    int64_t ntps, ntiles;
    lapse_blob_t *res; /* [ntps * nsteps]: the result of global step k for timepoint index i */
    int mode;
    int target, pass;   /* MODE_PARTIAL: the step and pass being computed */
    lapse_blob_t *prev; /* [ntps]: the previous pass's result of the target step */
    lapse_blob_t part;  /* the partial of the task just run */
    int64_t cur_tpi;    /* timepoint index of the current task */
    lapse_task_t cur;
    int scratch[LAPSE_MAX_STEPS]; /* output dataset index of step k's tile data, or -1 (an
                                   * iterative step has two: passes alternate between them) */
    int *last;                    /* [ntps * nsteps]: an iterative step's last pass */
    void **cache; /* [ntps * ntiles]: a task's input read box kept between rounds, or NULL */
    size_t cached, cache_max; /* bytes kept, and at most (LAPSE_PHASE_CACHE, default 1/4 of RAM) */
    void *mat_host;           /* host copy of tile data: the largest read box x 8 bytes */
    cl_mem *dcache; /* [ntps * ntiles]: a task's input read box kept on the device, or NULL */
    size_t dcached, dcache_max; /* device bytes kept, and at most (the rank's device share
                                 * less a task's bytes, halved) */
    opcache_t *ocache; /* [ntps * ntiles]: the target step's operands kept after its pass 0, so
                        * that its later passes skip the pipeline (opcache_keep) */
    int tdmem[LAPSE_MAX_STEPS];           /* 1: step k's tile data lives in host memory (tdata) */
    lapse_blob_t *tdata[LAPSE_MAX_STEPS]; /* [ntps * ntiles]: every tile's core data, shared */
    lapse_blob_t *tdown;  /* [ntps * ntiles]: this rank's new tile data, until shared */
    int tmem;             /* 1 while an iterative step's tile state is in host memory (tmem_*) */
    void **tstate;        /* [ntps * ntiles]: this rank's tiles' core state (tmem), or NULL */
    lapse_blob_t *shells; /* [ntps * ntiles]: every tile's rings for its neighbours (tmem) */
    cl_mem relay; /* recomputed tile data laid out as the read box (recomputed()), or NULL */
    size_t relay_bytes;
    int profile; /* LAPSE_PROFILE=1: where the rounds' time goes (printed) */
    double t_input, t_run, t_wait, t_exchange, t_reduce; /* seconds, this rank (profile) */
};

int lapse_phases_needed(const lapse_job_t *job)
{
    for (int k = 0; k < job->graph.nsteps; k++)
        if (job->graph.node[k].step->op->global)
            return 1;
    return 0;
}

/* Index of timepoint t in the plan's sorted selection (-1 when absent). */
static int64_t tp_index(const lapse_plan_t *plan, int64_t t)
{
    int64_t a = 0, b = plan->ntps;
    while (a < b) {
        int64_t m = a + (b - a) / 2;
        if (plan->tps[m] < t)
            a = m + 1;
        else
            b = m;
    }
    return a < plan->ntps && plan->tps[a] == t ? a : -1;
}

void lapse_phases_task(lapse_phases_t *ph, const lapse_task_t *t)
{
    ph->cur = *t;
    ph->cur_tpi = tp_index(&ph->full, t->t);
}

/* The tile of the current task for global step k's operand: its whole-image dims and the
 * core (a one-plane operand, after a projection, keeps plane 0). */
static void current_tile(const lapse_phases_t *ph, int k, const lapse_box_t *core_rel,
                         lapse_gtile_t *tile)
{
    const lapse_gnode_t *nd = &ph->g->node[k];
    const int64_t *dims =
        nd->in[0] == LAPSE_GRAPH_INPUT ? ph->g->in_shape : ph->g->node[nd->in[0]].dims;
    memset(tile, 0, sizeof *tile);
    tile->core = ph->cur.core;
    tile->core_rel = *core_rel;
    for (int a = 0; a < 3; a++)
        tile->img[a] = dims[a];
    if (dims[0] == 1) {
        tile->core.off[0] = tile->core_rel.off[0] = 0;
        tile->core.dim[0] = tile->core_rel.dim[0] = 1;
    }
}

/* The current task's box of tile data for step k: its core (pass 0 writes it) or its read box
 * (later phases read it); one plane for a one-plane operand. */
static void mat_box(const lapse_phases_t *ph, int k, int core, lapse_box_t *box)
{
    const lapse_gnode_t *nd = &ph->g->node[k];
    const int64_t *dims =
        nd->in[0] == LAPSE_GRAPH_INPUT ? ph->g->in_shape : ph->g->node[nd->in[0]].dims;
    *box = core ? ph->cur.core : ph->cur.read;
    if (dims[0] == 1) {
        box->off[0] = 0;
        box->dim[0] = 1;
    }
}

/* The scratch dataset step k's pass `pass` writes (and pass + 1 reads). */
static int scratch_of(const lapse_phases_t *ph, int k, int pass)
{
    return ph->scratch[k] + (ph->g->node[k].step->op->global->iterate ? pass % 2 : 0);
}

static void tile_core(const lapse_phases_t *ph, int k, const lapse_task_t *t, lapse_box_t *box);
static void copy_box(char *dst, const lapse_box_t *db, const char *src, const lapse_box_t *sb,
                     const lapse_box_t *b, size_t e);

/* Tile data in host memory (tdmem): ph->mat_host = box (the current task's read box) of step
 * k's data, from the cores of the current timepoint's tiles that box overlaps (tdata). */
static lapse_status_t tdata_box(lapse_phases_t *ph, int k, const lapse_box_t *box)
{
    lapse_status_t st = LAPSE_OK;
    const size_t e = ph->g->node[k].step->op->global->mat_bytes;
    for (int64_t tl = 0; tl < ph->ntiles; tl++) {
        lapse_task_t t;
        lapse_box_t core, b;
        lapse_plan_task(&ph->full, ph->cur_tpi * ph->ntiles + tl, &t);
        tile_core(ph, k, &t, &core);
        int empty = 0;
        for (int a = 0; a < 3; a++) {
            int64_t lo = box->off[a] > core.off[a] ? box->off[a] : core.off[a];
            int64_t hi = box->off[a] + box->dim[a] < core.off[a] + core.dim[a]
                             ? box->off[a] + box->dim[a]
                             : core.off[a] + core.dim[a];
            b.off[a] = lo;
            b.dim[a] = hi - lo;
            empty |= hi <= lo;
        }
        if (empty)
            continue;
        const lapse_blob_t *src = &ph->tdata[k][ph->cur_tpi * ph->ntiles + tl];
        if (src->data == NULL || src->size != (size_t)lapse_box_voxels(&core) * e)
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: no tile data of step %d for tile %lld",
                       k + 1, (long long)tl);
        copy_box(ph->mat_host, box, src->data, &core, &b, e);
    }
cleanup:
    return st;
}

/* Pass `pass` of a step with tile data: store the core's tile data (mat, on the device: the
 * core's voxels, or for an iterative step the whole buffer of dims bdim, whose core is at
 * core_rel) in the output's scratch dataset. */
static lapse_status_t mat_store(lapse_phases_t *ph, lapse_dev_t *d, int k, int pass, cl_mem mat,
                                const int64_t bdim[3], const lapse_box_t *core_rel)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_global_t *gl = ph->g->node[k].step->op->global;
    lapse_box_t box;
    mat_box(ph, k, 1, &box);
    size_t bytes = (size_t)lapse_box_voxels(&box) * gl->mat_bytes, e = gl->mat_bytes;
    void *host = ph->mat_host;
    lapse_blob_t *mine = NULL;
    if (ph->tdmem[k]) { /* into this rank's pending tile data (tdata_share) */
        mine = &ph->tdown[ph->cur_tpi * ph->ntiles + ph->cur.tile];
        lapse_blob_free(mine);
        mine->data = malloc(bytes ? bytes : 1);
        LAPSE_ALLOC(mine->data);
        mine->size = bytes;
        host = mine->data;
    }
    if (gl->iterate) { /* the core out of the buffer */
        size_t origin[3] = {(size_t)core_rel->off[2] * e, (size_t)core_rel->off[1],
                            (size_t)core_rel->off[0]};
        size_t hostorg[3] = {0, 0, 0};
        size_t region[3] = {(size_t)core_rel->dim[2] * e, (size_t)core_rel->dim[1],
                            (size_t)core_rel->dim[0]};
        LAPSE_CL(clEnqueueReadBufferRect(d->cl->queue, mat, CL_TRUE, origin, hostorg, region,
                                         (size_t)bdim[2] * e, (size_t)(bdim[1] * bdim[2]) * e,
                                         region[0], region[0] * region[1], host, 0, NULL, NULL));
    } else {
        LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, mat, CL_TRUE, 0, bytes, host, 0, NULL, NULL));
    }
    if (mine)
        goto cleanup;
    st = lapse_h5out_write(ph->w->out, scratch_of(ph, k, pass), ph->cur.t, &box, ph->mat_host);
    if (st != LAPSE_OK)
        st = lapse_fail_wrap(st, "writing the tile data of step %d to %s failed", k + 1,
                             ph->w->job->cfg.output_file);
cleanup:
    return st;
}

/* Later phases: load the read box's tile data of step k that pass `pass` stored from the
 * scratch dataset into mat, which must match the operand's buffer (n voxels). */
static lapse_status_t mat_load(lapse_phases_t *ph, lapse_dev_t *d, int k, int pass, cl_mem mat,
                               size_t n)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_global_t *gl = ph->g->node[k].step->op->global;
    lapse_box_t box;
    mat_box(ph, k, 0, &box);
    if ((size_t)lapse_box_voxels(&box) != n)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "internal error: step %d reads %lld voxels of tile data for a buffer of %zu",
                   k + 1, (long long)lapse_box_voxels(&box), n);
    if (ph->tdmem[k]) { /* the read box from every tile's shared core data */
        LAPSE_TRY(tdata_box(ph, k, &box));
        goto upload;
    }
    st = lapse_h5out_read(ph->w->out, scratch_of(ph, k, pass), ph->cur.t, &box, ph->mat_host);
    if (st != LAPSE_OK) {
        st = lapse_fail_wrap(st, "reading the tile data of step %d from %s failed", k + 1,
                             ph->w->job->cfg.output_file);
        goto cleanup;
    }
upload:
    LAPSE_CL(clEnqueueWriteBuffer(d->cl->queue, mat, CL_TRUE, 0, n * gl->mat_bytes, ph->mat_host, 0,
                                  NULL, NULL));
cleanup:
    return st;
}

static lapse_status_t tmem_store(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem mat,
                                 const int64_t bdim[3], const lapse_box_t *core_rel);
static lapse_status_t tmem_load(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem mat,
                                const lapse_dvol_t *in);

/* Keep device copies of the current task's operands in[] of global step k (and its tile and the
 * pipeline's mat and work buffers) for the step's later passes, while the device cache has
 * room; else nothing (the later passes run the pipeline again). */
static lapse_status_t opcache_keep(lapse_phases_t *ph, int k, const lapse_dvol_t *in,
                                   const lapse_gtile_t *tile, cl_mem mat, cl_mem work)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_gnode_t *nd = &ph->g->node[k];
    opcache_t *c = &ph->ocache[ph->cur_tpi * ph->ntiles + ph->cur.tile];
    cl_int e = CL_SUCCESS;
    cl_command_queue q = ph->w->cl->queue;
    size_t bytes = 0;
    for (int i = 0; i < nd->nin; i++)
        bytes += (size_t)(in[i].dim[0] * in[i].dim[1] * in[i].dim[2]) * sizeof(cl_float);
    if (c->used || ph->dcached + bytes > ph->dcache_max)
        return LAPSE_OK;
    memset(c, 0, sizeof *c);
    c->used = 1;
    c->nin = nd->nin;
    c->tile = *tile;
    c->mat = mat;
    c->work = work;
    c->bytes = bytes;
    ph->dcached += bytes;
    for (int i = 0; i < nd->nin; i++) {
        size_t b = (size_t)(in[i].dim[0] * in[i].dim[1] * in[i].dim[2]) * sizeof(cl_float);
        c->in[i] = in[i];
        c->in[i].mem = clCreateBuffer(ph->w->cl->ctx, CL_MEM_READ_WRITE, b, NULL, &e);
        LAPSE_CL(e);
        LAPSE_CL(clEnqueueCopyBuffer(q, in[i].mem, c->in[i].mem, 0, 0, b, 0, NULL, NULL));
    }
cleanup:
    return st;
}

/* Release the kept operands (at the end of a step's passes). */
static void opcache_clear(lapse_phases_t *ph)
{
    for (int64_t i = 0; ph->ocache && i < ph->ntps * ph->ntiles; i++) {
        opcache_t *c = &ph->ocache[i];
        if (!c->used)
            continue;
        for (int j = 0; j < c->nin; j++)
            if (c->in[j].mem)
                clReleaseMemObject(c->in[j].mem);
        ph->dcached -= c->bytes;
        memset(c, 0, sizeof *c);
    }
}

/* Whether global step k's tile data is recomputed rather than stored (op.h, mat_local): no
 * later step needs its result beyond the core (graph.h, need). */
static int recomputed(const lapse_graph_t *g, int k)
{
    const lapse_global_t *gl = g->node[k].step->op->global;
    if (!gl->mat_bytes || !gl->mat_local || gl->iterate)
        return 0;
    for (int a = 0; a < 3; a++)
        if (g->node[k].need[a] != 0)
            return 0;
    return 1;
}

/* Recompute global step k's tile data (pass 0's partial, into mat: the core's voxels in C order)
 * and lay it out as the read box in ph->relay (the halo zero: no later step reads it there), as
 * mat_load would have from the scratch area. core: relative to the operand in. */
static lapse_status_t recompute(lapse_phases_t *ph, lapse_dev_t *d, int k, const lapse_dvol_t *in,
                                cl_mem mat, cl_mem work, const lapse_box_t *core)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_step_t *s = ph->g->node[k].step;
    const lapse_global_t *gl = s->op->global;
    lapse_gtile_t tile;
    lapse_blob_t tmp = {NULL, 0};
    cl_int e = CL_SUCCESS;
    const size_t eb = gl->mat_bytes, bytes = (size_t)(in->dim[0] * in->dim[1] * in->dim[2]) * eb;
    const cl_uchar zero = 0;
    current_tile(ph, k, core, &tile);
    st = gl->partial(d, s, 0, NULL, &tile, in, mat, work, &tmp);
    lapse_blob_free(&tmp);
    LAPSE_TRY(st);
    if (ph->relay_bytes < bytes) {
        if (ph->relay)
            clReleaseMemObject(ph->relay);
        ph->relay_bytes = 0;
        ph->relay = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
        LAPSE_CL(e);
        ph->relay_bytes = bytes;
    }
    LAPSE_CL(clEnqueueFillBuffer(d->cl->queue, ph->relay, &zero, 1, 0, bytes, 0, NULL, NULL));
    const lapse_box_t *c = &tile.core_rel;
    size_t so[3] = {0, 0, 0};
    size_t dor[3] = {(size_t)c->off[2] * eb, (size_t)c->off[1], (size_t)c->off[0]};
    size_t region[3] = {(size_t)c->dim[2] * eb, (size_t)c->dim[1], (size_t)c->dim[0]};
    LAPSE_CL(clEnqueueCopyBufferRect(d->cl->queue, mat, ph->relay, so, dor, region, region[0],
                                     region[0] * region[1], (size_t)in->dim[2] * eb,
                                     (size_t)(in->dim[1] * in->dim[2]) * eb, 0, NULL, NULL));
cleanup:
    return st;
}

/* The pipeline's callback at global step k (lapse_global_fn). */
static lapse_status_t gstep(void *ctx, lapse_pipeline_t *p, int k, const lapse_dvol_t *in,
                            const lapse_dvol_t *out, cl_mem mat, cl_mem work,
                            const lapse_box_t *core, int *stop)
{
    lapse_status_t st = LAPSE_OK;
    lapse_phases_t *ph = ctx;
    const lapse_step_t *s = ph->g->node[k].step;
    const lapse_global_t *gl = s->op->global;
    lapse_dev_t *d = lapse_pipeline_dev(p);
    if (ph->cur_tpi < 0)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: global step %s of an unplanned timepoint",
                   s->op->name);
    lapse_blob_t *res = &ph->res[ph->cur_tpi * ph->g->nsteps + k];
    if (ph->mode == MODE_WHOLE) {
        lapse_blob_free(res);
        return lapse_global_whole(d, s, in, out, mat, work, res);
    }
    const int local = recomputed(ph->g, k);
    if (ph->mode == MODE_PARTIAL && k == ph->target) {
        lapse_gtile_t tile;
        current_tile(ph, k, core, &tile);
        lapse_blob_free(&ph->part);
        if (gl->iterate && ph->pass > 0 && ph->tmem) /* the state the previous pass left */
            LAPSE_TRY(tmem_load(ph, d, k, mat, in));
        else if (gl->iterate && ph->pass > 0)
            LAPSE_TRY(mat_load(ph, d, k, ph->pass - 1, mat,
                               (size_t)(in->dim[0] * in->dim[1] * in->dim[2])));
        LAPSE_TRY(gl->partial(d, s, ph->pass, ph->pass ? &ph->prev[ph->cur_tpi] : NULL, &tile, in,
                              mat, work, &ph->part));
        if (gl->iterate && ph->tmem)
            LAPSE_TRY(tmem_store(ph, d, k, mat, in->dim, &tile.core_rel));
        else if (gl->mat_bytes && (ph->pass == 0 || gl->iterate) && !local)
            LAPSE_TRY(mat_store(ph, d, k, ph->pass, mat, in->dim, &tile.core_rel));
        if (ph->pass == 0 && gl->npass > 1 && !gl->mat_bytes && !gl->iterate)
            LAPSE_TRY(opcache_keep(ph, k, in, &tile, mat, work));
        *stop = 1;
        goto cleanup;
    }
    if (res->data == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: no result of global step %s for t=%lld",
                   s->op->name, (long long)ph->cur.t);
    if (local) { /* the tile data again, from the operand */
        LAPSE_TRY(recompute(ph, d, k, in, mat, work, core));
        mat = ph->relay;
    } else if (gl->mat_bytes)
        LAPSE_TRY(mat_load(ph, d, k, gl->iterate ? ph->last[ph->cur_tpi * ph->g->nsteps + k] : 0,
                           mat, (size_t)(in->dim[0] * in->dim[1] * in->dim[2])));
    LAPSE_TRY(gl->apply(d, s, res, in, mat, out));
cleanup:
    return st;
}

/* ---------------------------------------------------------------- exchange */

typedef struct {
    int64_t index, size;
} rec_head_t;

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Collective: every rank's records (index j, blob) to every rank: all[j] receives a copy of the
 * blob of index j (0 <= j < nall). mine[0..nmine) with indices idx[]. */
static lapse_status_t exchange(MPI_Comm comm, int nranks, const int64_t *idx,
                               const lapse_blob_t *mine, int64_t nmine, lapse_blob_t *all,
                               int64_t nall)
{
    lapse_status_t st = LAPSE_OK;
    char *sbuf = NULL, *rbuf = NULL;
    long long *sizes = NULL;
    int *counts = NULL, *displs = NULL;
    size_t bytes = 0;
    for (int64_t i = 0; i < nmine; i++)
        bytes += sizeof(rec_head_t) + pad8(mine[i].size);
    sbuf = malloc(bytes ? bytes : 1);
    LAPSE_ALLOC(sbuf);
    size_t o = 0;
    for (int64_t i = 0; i < nmine; i++) {
        rec_head_t h = {idx[i], (int64_t)mine[i].size};
        memcpy(sbuf + o, &h, sizeof h);
        o += sizeof h;
        if (mine[i].size)
            memcpy(sbuf + o, mine[i].data, mine[i].size);
        o += pad8(mine[i].size);
    }
    sizes = malloc((size_t)nranks * sizeof *sizes);
    counts = malloc((size_t)nranks * sizeof *counts);
    displs = malloc((size_t)nranks * sizeof *displs);
    LAPSE_ALLOC(sizes);
    LAPSE_ALLOC(counts);
    LAPSE_ALLOC(displs);
    long long my = (long long)bytes, total = 0;
    LAPSE_MPI(MPI_Allgather(&my, 1, MPI_LONG_LONG, sizes, 1, MPI_LONG_LONG, comm));
    for (int r = 0; r < nranks; r++) {
        if (total + sizes[r] > INT_MAX)
            LAPSE_FAIL(LAPSE_ENOMEM,
                       "the partial results of one round of a global step exceed 2 GiB: use "
                       "larger tiles or fewer timepoints per run");
        counts[r] = (int)sizes[r];
        displs[r] = (int)total;
        total += sizes[r];
    }
    rbuf = malloc(total ? (size_t)total : 1);
    LAPSE_ALLOC(rbuf);
    LAPSE_MPI(MPI_Allgatherv(sbuf, (int)bytes, MPI_BYTE, rbuf, counts, displs, MPI_BYTE, comm));
    for (size_t at = 0; at < (size_t)total;) {
        rec_head_t h;
        memcpy(&h, rbuf + at, sizeof h);
        at += sizeof h;
        if (h.index < 0 || h.index >= nall || h.size < 0 || at + (size_t)h.size > (size_t)total)
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: a bad partial-result record");
        lapse_blob_free(&all[h.index]);
        all[h.index].data = malloc(h.size ? (size_t)h.size : 1);
        LAPSE_ALLOC(all[h.index].data);
        all[h.index].size = (size_t)h.size;
        memcpy(all[h.index].data, rbuf + at, (size_t)h.size);
        at += pad8((size_t)h.size);
    }
cleanup:
    free(sbuf);
    free(rbuf);
    free(sizes);
    free(counts);
    free(displs);
    return st;
}

/* ---------------------------------------------------------------- rounds */

typedef struct {
    int64_t *tpi; /* active timepoint indices (with a pending task), ascending */
    int64_t n;
    int64_t *pos; /* NULL, or each one's position in its wave: tile tl of active timepoint i
                   * then belongs to rank (pos[i] ntiles + tl) mod nranks in every pass, so an
                   * iterative step's tile state stays where it is while timepoints converge */
} active_t;

static lapse_status_t find_active(const lapse_plan_t *plan, active_t *a)
{
    lapse_status_t st = LAPSE_OK;
    a->n = 0;
    a->tpi = malloc((size_t)(plan->ntps ? plan->ntps : 1) * sizeof *a->tpi);
    LAPSE_ALLOC(a->tpi);
    for (int64_t i = 0; i < plan->ntasks; i++) {
        int64_t tpi = plan->todo ? plan->todo[i] / plan->ntiles : i / plan->ntiles;
        if (a->n == 0 || a->tpi[a->n - 1] != tpi)
            a->tpi[a->n++] = tpi;
    }
cleanup:
    return st;
}

/* The input read box of task t into the pipeline's staging: from the rounds' cache when an
 * earlier round kept it, else from the input (then kept while the cache has room, unless
 * host is 0: every round of a wave reads the same boxes). */
static lapse_status_t read_input(lapse_phases_t *ph, int64_t tpi, const lapse_task_t *t, int host)
{
    lapse_status_t st = LAPSE_OK;
    lapse_worker_t *w = ph->w;
    void *dst = lapse_pipeline_input(w->pipe);
    size_t bytes = (size_t)lapse_box_voxels(&t->read) * lapse_dtype_size(w->job->in.dtype);
    void **slot = &ph->cache[tpi * ph->ntiles + t->tile];
    if (*slot) {
        memcpy(dst, *slot, bytes);
        goto cleanup;
    }
    LAPSE_TRY(lapse_reader_read(w->in, t->t, &t->read, dst));
    if (host && ph->cached + bytes <= ph->cache_max && (*slot = malloc(bytes)) != NULL) {
        memcpy(*slot, dst, bytes);
        ph->cached += bytes;
    }
cleanup:
    return st;
}

/* Run the pipeline of task t (timepoint index tpi) in a round: its input from the device cache
 * when an earlier round kept it there, else read (read_input) and uploaded, and then kept on
 * the device while the device cache has room (else on the host). */
static lapse_status_t run_round_task(lapse_phases_t *ph, int64_t tpi, const lapse_task_t *t)
{
    lapse_status_t st = LAPSE_OK;
    lapse_worker_t *w = ph->w;
    cl_mem *dslot = &ph->dcache[tpi * ph->ntiles + t->tile];
    size_t bytes = (size_t)lapse_box_voxels(&t->read) * lapse_dtype_size(w->job->in.dtype);
    double t0 = MPI_Wtime(), t1 = t0;
    if (*dslot) {
        st = lapse_pipeline_run_dev(w->pipe, &t->read, &t->core, NULL, *dslot, NULL);
        ph->t_run += MPI_Wtime() - t0;
        return st;
    }
    int dev = ph->dcached + bytes <= ph->dcache_max;
    LAPSE_TRY(read_input(ph, tpi, t, !dev));
    t1 = MPI_Wtime();
    ph->t_input += t1 - t0;
    LAPSE_TRY(lapse_pipeline_run_dev(w->pipe, &t->read, &t->core, NULL, NULL, dev ? dslot : NULL));
    ph->t_run += MPI_Wtime() - t1;
    if (*dslot)
        ph->dcached += bytes;
cleanup:
    return st;
}

/* Forget the input boxes cached on the host, and those on the device when dev is 1 (at the end
 * of a wave). */
static void cache_clear(lapse_phases_t *ph, int dev)
{
    for (int64_t i = 0; ph->cache && i < ph->ntps * ph->ntiles; i++) {
        free(ph->cache[i]);
        ph->cache[i] = NULL;
    }
    ph->cached = 0;
    if (!dev)
        return;
    for (int64_t i = 0; ph->dcache && i < ph->ntps * ph->ntiles; i++)
        if (ph->dcache[i]) {
            clReleaseMemObject(ph->dcache[i]);
            ph->dcache[i] = NULL;
        }
    ph->dcached = 0;
}

/* Run this rank's share of the tiles of the active timepoints up to step k, pass pass; keep the
 * partials in mine[] with their indices (active position * ntiles + tile). */
static lapse_status_t run_share(lapse_phases_t *ph, const active_t *a, int64_t *idx,
                                lapse_blob_t *mine, int64_t *nmine)
{
    lapse_status_t st = LAPSE_OK;
    lapse_worker_t *w = ph->w;
    int64_t n = a->n * ph->ntiles;
    *nmine = 0;
    for (int64_t j = 0; j < n; j++) {
        int64_t owner = a->pos ? a->pos[j / ph->ntiles] * ph->ntiles + j % ph->ntiles : j;
        if (owner % w->r->nranks != w->r->rank)
            continue;
        lapse_task_t t;
        lapse_plan_task(&ph->full, a->tpi[j / ph->ntiles] * ph->ntiles + j % ph->ntiles, &t);
        lapse_err_context("rank %d, global step %d (%s) pass %d, task %lld (t=%lld, tile %lld)",
                          w->r->rank, ph->target + 1, ph->g->node[ph->target].step->op->name,
                          ph->pass, (long long)t.id, (long long)t.t, (long long)t.tile);
        if (lapse_stop_requested())
            LAPSE_TRY(lapse_interrupted());
        lapse_phases_task(ph, &t);
        const opcache_t *c = &ph->ocache[ph->cur_tpi * ph->ntiles + t.tile];
        if (ph->pass > 0 && c->used) { /* the operands kept after pass 0: no pipeline */
            const lapse_step_t *s = ph->g->node[ph->target].step;
            double t0 = MPI_Wtime();
            lapse_blob_free(&ph->part);
            LAPSE_TRY(s->op->global->partial(lapse_pipeline_dev(w->pipe), s, ph->pass,
                                             &ph->prev[ph->cur_tpi], &c->tile, c->in, c->mat,
                                             c->work, &ph->part));
            ph->t_run += MPI_Wtime() - t0;
        } else {
            LAPSE_TRY(run_round_task(ph, a->tpi[j / ph->ntiles], &t));
            if (!lapse_pipeline_stopped(w->pipe))
                LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: the pipeline did not stop at step %d",
                           ph->target + 1);
        }
        lapse_fault_point("phase"); /* the crash tests: a kill during a reduction round */
        idx[*nmine] = j;
        mine[*nmine] = ph->part;
        ph->part.data = NULL;
        ph->part.size = 0;
        (*nmine)++;
    }
cleanup:
    return st;
}

/* Reduce every active timepoint's partials all[] (active position * ntiles + tile) of step k,
 * pass pass: into prev[] (more passes follow) or the results. */
static lapse_status_t reduce_all(lapse_phases_t *ph, const active_t *a, lapse_blob_t *all)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_step_t *s = ph->g->node[ph->target].step;
    const lapse_global_t *gl = s->op->global;
    int last = gl->iterate || ph->pass == gl->npass - 1;
    lapse_gtile_t *tiles = calloc((size_t)ph->ntiles, sizeof *tiles);
    LAPSE_ALLOC(tiles);
    for (int64_t i = 0; i < a->n; i++) {
        int64_t tpi = a->tpi[i];
        for (int64_t tl = 0; tl < ph->ntiles; tl++) {
            lapse_task_t t;
            lapse_plan_task(&ph->full, tpi * ph->ntiles + tl, &t);
            ph->cur = t;
            lapse_box_t rel = t.core;
            for (int ax = 0; ax < 3; ax++)
                rel.off[ax] -= t.read.off[ax];
            current_tile(ph, ph->target, &rel, &tiles[tl]);
            if (all[i * ph->ntiles + tl].data == NULL)
                LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: tile %lld of t=%lld has no partial",
                           (long long)tl, (long long)t.t);
        }
        lapse_blob_t out = {NULL, 0};
        LAPSE_TRY(gl->reduce(s, ph->pass, ph->pass ? &ph->prev[tpi] : NULL, tiles,
                             &all[i * ph->ntiles], ph->ntiles, &out));
        lapse_blob_t *dst = last ? &ph->res[tpi * ph->g->nsteps + ph->target] : &ph->prev[tpi];
        if (last)
            lapse_blob_free(&ph->prev[tpi]);
        lapse_blob_free(dst);
        *dst = out;
        if (gl->iterate) /* the pass that stored the state the apply reads */
            ph->last[tpi * ph->g->nsteps + ph->target] = ph->pass;
    }
cleanup:
    free(tiles);
    return st;
}

/* Collective: one round (step ph->target, pass ph->pass). *idle: seconds this rank waited for
 * the others at its end. */
static lapse_status_t round_run(lapse_phases_t *ph, const active_t *a, double *idle)
{
    lapse_status_t st = LAPSE_OK;
    lapse_worker_t *w = ph->w;
    int64_t n = a->n * ph->ntiles, share = n + 1, nmine = 0;
    int64_t *idx = malloc((size_t)share * sizeof *idx);
    lapse_blob_t *mine = calloc((size_t)share, sizeof *mine);
    lapse_blob_t *all = calloc((size_t)(n ? n : 1), sizeof *all);
    lapse_status_t lst = LAPSE_OK;
    if (!idx || !mine || !all)
        lst =
            lapse_fail(LAPSE_ENOMEM, "out of memory for the partials of %lld tiles", (long long)n);
    if (lst == LAPSE_OK)
        lst = run_share(ph, a, idx, mine, &nmine);
    if (lst != LAPSE_OK && (lst != LAPSE_EINTERRUPTED || w->r->rank == 0))
        lapse_err_print(lst);
    lapse_err_context("rank %d", w->r->rank);
    double t0 = MPI_Wtime();
    LAPSE_TRY(lapse_agree(w->r->world, lst));
    double t1 = MPI_Wtime();
    *idle += t1 - t0;
    ph->t_wait += t1 - t0;
    st = exchange(w->r->world, w->r->nranks, idx, mine, nmine, all, n);
    double t2 = MPI_Wtime();
    ph->t_exchange += t2 - t1;
    if (st == LAPSE_OK)
        st = reduce_all(ph, a, all);
    ph->t_reduce += MPI_Wtime() - t2;
    if (st != LAPSE_OK)
        lapse_err_print(st);
    st = lapse_agree(w->r->world, st);
cleanup:
    for (int64_t i = 0; i < nmine; i++)
        lapse_blob_free(&mine[i]);
    for (int64_t i = 0; all && i < n; i++)
        lapse_blob_free(&all[i]);
    free(idx);
    free(mine);
    free(all);
    return st;
}

/* ---------------------------------------------------------------- tables */

static const lapse_col_t summary_cols[] = {
    {"timepoint", 0}, {"label_count", 0}, {"foreground_voxels", 0}, {"threshold", 1}};
static const lapse_table_desc_t summary_desc = {4, summary_cols};

/* The per-timepoint value of the first global step that records one (a threshold), NaN when
 * none ran. */
static double threshold_of(const lapse_phases_t *ph, int64_t tpi)
{
    for (int k = 0; k < ph->g->nsteps; k++) {
        const lapse_global_t *gl = ph->g->node[k].step->op->global;
        const lapse_blob_t *r = &ph->res[tpi * ph->g->nsteps + k];
        if (gl && gl->summary && r->data)
            return gl->summary(ph->g->node[k].step, r);
    }
    return NAN;
}

/* Collective: write the table of measuring step k (/<name>) and its summary (/<name>_summary)
 * for the active timepoints, replacing their earlier rows. */
static lapse_status_t write_table(lapse_phases_t *ph, const active_t *a, int k)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_step_t *s = ph->g->node[k].step;
    const lapse_table_desc_t *desc = s->op->global->table;
    size_t rb = (size_t)desc->ncols * 8;
    int64_t nrows = 0, *tps = NULL;
    char *rows = NULL, path[LAPSE_STEP_NAME_MAX + 16];
    int64_t(*sum)[4] = NULL;
    lapse_status_t lst = LAPSE_OK;
    for (int64_t i = 0; i < a->n; i++) {
        const lapse_blob_t *r = &ph->res[a->tpi[i] * ph->g->nsteps + k];
        int64_t n = 0;
        if (r->data)
            memcpy(&n, r->data, sizeof n);
        nrows += n;
    }
    rows = malloc((size_t)(nrows + 1) * rb);
    tps = malloc((size_t)(a->n + 1) * sizeof *tps);
    sum = malloc((size_t)(a->n + 1) * sizeof *sum);
    if (!rows || !tps || !sum)
        lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the %lld rows of table /%s",
                         (long long)nrows, s->name);
    int64_t at = 0;
    for (int64_t i = 0; lst == LAPSE_OK && i < a->n; i++) {
        int64_t t = ph->full.tps[a->tpi[i]], n = 0, fg = 0;
        const lapse_blob_t *r = &ph->res[a->tpi[i] * ph->g->nsteps + k];
        if (r->data)
            memcpy(&n, r->data, sizeof n);
        if (r->data == NULL || r->size != sizeof n + (size_t)n * rb) {
            lst = lapse_fail(LAPSE_ERUNTIME, "internal error: table /%s of t=%lld", s->name,
                             (long long)t);
            break;
        }
        memcpy(rows + (size_t)at * rb, (const char *)r->data + sizeof n, (size_t)n * rb);
        for (int64_t j = 0; j < n; j++) {
            int64_t area;
            memcpy(rows + (size_t)(at + j) * rb, &t, sizeof t);
            memcpy(&area, rows + (size_t)(at + j) * rb + 2 * 8, sizeof area);
            fg += area;
        }
        at += n;
        tps[i] = t;
        double thr = threshold_of(ph, a->tpi[i]);
        sum[i][0] = t;
        sum[i][1] = n;
        sum[i][2] = fg;
        memcpy(&sum[i][3], &thr, sizeof thr);
    }
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(ph->w->r->world, lst));
    snprintf(path, sizeof path, "/%s", s->name);
    st = lapse_table_put(ph->w->out, path, desc, tps, a->n, rows, nrows);
    if (st == LAPSE_OK) {
        snprintf(path, sizeof path, "/%s_summary", s->name);
        st = lapse_table_put(ph->w->out, path, &summary_desc, tps, a->n, sum, a->n);
    }
    if (st == LAPSE_OK)
        st = lapse_h5out_flush(ph->w->out);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    st = lapse_agree(ph->w->r->world, st);
cleanup:
    free(rows);
    free(tps);
    free(sum);
    return st;
}

/* Timepoints per wave: the partials of one round of a wave (held on every rank, and sent in
 * one MPI_Allgatherv) stay within LAPSE_PHASE_MEM bytes (default 512 MiB), estimating a
 * tile's partial as its six faces of 8-byte values (labels) plus 64 KiB. */
static int64_t wave_size(const lapse_phases_t *ph)
{
    const lapse_plan_t *p = &ph->full;
    double budget = 512.0 * 1048576.0;
    const char *env = getenv("LAPSE_PHASE_MEM");
    if (env && atof(env) > 0)
        budget = atof(env);
    double faces = 2.0 * 8.0 *
                   ((double)p->tile[1] * p->tile[2] + (double)p->tile[0] * p->tile[2] +
                    (double)p->tile[0] * p->tile[1]);
    double per_tp = (faces + 65536.0) * (double)ph->ntiles;
    int64_t w = (int64_t)(budget / per_tp);
    return w < 1 ? 1 : w;
}

/* ---------------------------------------------------------------- tile state in memory */

/* An iterative step whose result no later step needs beyond the core (graph need 0) keeps its
 * tile state between passes in host memory when this rank's tiles fit (tmem): each rank keeps
 * the cores of its own tiles (the ranks keep their tiles in every pass: active_t pos), and
 * after each pass every tile's ring of width reach around each neighbour's core travels to all
 * ranks (exchange); a pass then starts from its own core and its neighbours' rings (an
 * iteration reads no further). When a timepoint converged, its final state goes to the scratch
 * area once, for the tasks, which may run on any rank. */

typedef struct {
    int64_t dst;            /* the tile the ring is for */
    int64_t off[3], dim[3]; /* the box, in timepoint coordinates */
} ring_head_t;

/* Step k's core box of task t in its operand's image (one plane for a one-plane operand). */
static void tile_core(const lapse_phases_t *ph, int k, const lapse_task_t *t, lapse_box_t *box)
{
    const lapse_gnode_t *nd = &ph->g->node[k];
    const int64_t *dims =
        nd->in[0] == LAPSE_GRAPH_INPUT ? ph->g->in_shape : ph->g->node[nd->in[0]].dims;
    *box = t->core;
    if (dims[0] == 1) {
        box->off[0] = 0;
        box->dim[0] = 1;
    }
}

/* The current task's core (core_rel in the buffer of dims bdim) out of mat into its state. */
static lapse_status_t tmem_store(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem mat,
                                 const int64_t bdim[3], const lapse_box_t *core_rel)
{
    lapse_status_t st = LAPSE_OK;
    const size_t e = ph->g->node[k].step->op->global->mat_bytes;
    void **slot = &ph->tstate[ph->cur_tpi * ph->ntiles + ph->cur.tile];
    size_t origin[3] = {(size_t)core_rel->off[2] * e, (size_t)core_rel->off[1],
                        (size_t)core_rel->off[0]};
    size_t host[3] = {0, 0, 0};
    size_t region[3] = {(size_t)core_rel->dim[2] * e, (size_t)core_rel->dim[1],
                        (size_t)core_rel->dim[0]};
    if (*slot == NULL) {
        *slot = malloc(region[0] * region[1] * region[2]);
        LAPSE_ALLOC(*slot);
    }
    LAPSE_CL(clEnqueueReadBufferRect(d->cl->queue, mat, CL_TRUE, origin, host, region,
                                     (size_t)bdim[2] * e, (size_t)(bdim[1] * bdim[2]) * e,
                                     region[0], region[0] * region[1], *slot, 0, NULL, NULL));
cleanup:
    return st;
}

/* Copy box b (timepoint coordinates) of the C-order array src (box sb) into dst (box db),
 * e bytes per voxel; b must lie inside both. */
static void copy_box(char *dst, const lapse_box_t *db, const char *src, const lapse_box_t *sb,
                     const lapse_box_t *b, size_t e)
{
    size_t row = (size_t)b->dim[2] * e;
    for (int64_t z = 0; z < b->dim[0]; z++)
        for (int64_t y = 0; y < b->dim[1]; y++) {
            int64_t gz = b->off[0] + z, gy = b->off[1] + y, gx = b->off[2];
            size_t di = (size_t)(((gz - db->off[0]) * db->dim[1] + gy - db->off[1]) * db->dim[2] +
                                 gx - db->off[2]);
            size_t si = (size_t)(((gz - sb->off[0]) * sb->dim[1] + gy - sb->off[1]) * sb->dim[2] +
                                 gx - sb->off[2]);
            memcpy(dst + di * e, src + si * e, row);
        }
}

/* The state the last pass left for the current task's buffer (its read box, n voxels): its own
 * core and its neighbours' rings, the rest zero (no voxel of the core reads it). */
static lapse_status_t tmem_load(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem mat,
                                const lapse_dvol_t *in)
{
    lapse_status_t st = LAPSE_OK;
    const size_t e = ph->g->node[k].step->op->global->mat_bytes;
    const size_t n = (size_t)(in->dim[0] * in->dim[1] * in->dim[2]);
    lapse_box_t rbox, core;
    mat_box(ph, k, 0, &rbox);
    tile_core(ph, k, &ph->cur, &core);
    const void *own = ph->tstate[ph->cur_tpi * ph->ntiles + ph->cur.tile];
    if ((size_t)lapse_box_voxels(&rbox) != n || own == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: no tile state of step %d for tile %lld", k + 1,
                   (long long)ph->cur.tile);
    memset(ph->mat_host, 0, n * e);
    copy_box(ph->mat_host, &rbox, own, &core, &core, e);
    for (int64_t tl = 0; tl < ph->ntiles; tl++) {
        const lapse_blob_t *b = &ph->shells[ph->cur_tpi * ph->ntiles + tl];
        for (size_t at = 0; tl != ph->cur.tile && b->data && at < b->size;) {
            ring_head_t h;
            memcpy(&h, (const char *)b->data + at, sizeof h);
            at += sizeof h;
            lapse_box_t rb;
            memcpy(rb.off, h.off, sizeof rb.off);
            memcpy(rb.dim, h.dim, sizeof rb.dim);
            size_t bytes = (size_t)lapse_box_voxels(&rb) * e;
            if (h.dst == ph->cur.tile)
                copy_box(ph->mat_host, &rbox, (const char *)b->data + at, &rb, &rb, e);
            at += (bytes + 7) & ~(size_t)7;
        }
    }
    LAPSE_CL(
        clEnqueueWriteBuffer(d->cl->queue, mat, CL_TRUE, 0, n * e, ph->mat_host, 0, NULL, NULL));
cleanup:
    return st;
}

/* Collective: after a pass of step k over the timepoints of a, every tile's rings for its
 * neighbours (the part of its core within the step's reach of theirs) to every rank. */
static lapse_status_t tmem_exchange(lapse_phases_t *ph, int k, const active_t *a)
{
    lapse_status_t st = LAPSE_OK, lst = LAPSE_OK;
    lapse_worker_t *w = ph->w;
    const size_t e = ph->g->node[k].step->op->global->mat_bytes;
    int64_t r[3], n = a->n * ph->ntiles, nmine = 0;
    lapse_step_reach(ph->g->node[k].step, r);
    int64_t *idx = malloc((size_t)(n + 1) * sizeof *idx);
    lapse_blob_t *mine = calloc((size_t)(n + 1), sizeof *mine);
    if (!idx || !mine)
        lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the rings of step %d", k + 1);
    for (int64_t j = 0; lst == LAPSE_OK && j < n; j++) {
        int64_t i = j / ph->ntiles, tl = j % ph->ntiles, tpi = a->tpi[i];
        if ((a->pos[i] * ph->ntiles + tl) % w->r->nranks != w->r->rank)
            continue;
        const void *own = ph->tstate[tpi * ph->ntiles + tl];
        lapse_task_t t;
        lapse_box_t core;
        lapse_plan_task(&ph->full, tpi * ph->ntiles + tl, &t);
        tile_core(ph, k, &t, &core);
        size_t cap = 0, used = 0;
        char *buf = NULL;
        for (int64_t u = 0; own && u < ph->ntiles; u++) {
            lapse_task_t tu;
            lapse_box_t cu, b;
            if (u == tl)
                continue;
            lapse_plan_task(&ph->full, tpi * ph->ntiles + u, &tu);
            tile_core(ph, k, &tu, &cu);
            int empty = 0;
            for (int ax = 0; ax < 3; ax++) { /* core of tl within reach of u's core */
                int64_t lo = cu.off[ax] - r[ax], hi = cu.off[ax] + cu.dim[ax] + r[ax];
                lo = lo > core.off[ax] ? lo : core.off[ax];
                hi = hi < core.off[ax] + core.dim[ax] ? hi : core.off[ax] + core.dim[ax];
                b.off[ax] = lo;
                b.dim[ax] = hi - lo;
                empty |= hi <= lo;
            }
            if (empty)
                continue;
            size_t bytes = (size_t)lapse_box_voxels(&b) * e,
                   need = sizeof(ring_head_t) + ((bytes + 7) & ~(size_t)7);
            if (used + need > cap) {
                size_t ncap = (used + need) * 2;
                char *nb = realloc(buf, ncap);
                if (nb == NULL) {
                    lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the rings of step %d", k + 1);
                    break;
                }
                buf = nb;
                cap = ncap;
            }
            ring_head_t h = {u, {b.off[0], b.off[1], b.off[2]}, {b.dim[0], b.dim[1], b.dim[2]}};
            memcpy(buf + used, &h, sizeof h);
            memset(buf + used + sizeof h, 0, need - sizeof h);
            copy_box(buf + used + sizeof h, &b, own, &core, &b, e);
            used += need;
        }
        idx[nmine] = tpi * ph->ntiles + tl;
        mine[nmine].data = buf;
        mine[nmine].size = used;
        nmine++;
    }
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(w->r->world, lst));
    st = exchange(w->r->world, w->r->nranks, idx, mine, nmine, ph->shells, ph->ntps * ph->ntiles);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    st = lapse_agree(w->r->world, st);
cleanup:
    for (int64_t i = 0; mine && i < nmine; i++)
        lapse_blob_free(&mine[i]);
    free(idx);
    free(mine);
    return st;
}

/* This rank's tiles of timepoint index tpi (wave position pos): their last state into the
 * scratch dataset of pass `pass` (the tasks' mat_load reads it there). */
static lapse_status_t tmem_final(lapse_phases_t *ph, int k, int64_t tpi, int64_t pos, int pass)
{
    lapse_status_t st = LAPSE_OK;
    for (int64_t tl = 0; tl < ph->ntiles; tl++) {
        if ((pos * ph->ntiles + tl) % ph->w->r->nranks != ph->w->r->rank)
            continue;
        lapse_task_t t;
        lapse_box_t core;
        lapse_plan_task(&ph->full, tpi * ph->ntiles + tl, &t);
        tile_core(ph, k, &t, &core);
        void *own = ph->tstate[tpi * ph->ntiles + tl];
        if (own == NULL)
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: no state of tile %lld", (long long)tl);
        if (ph->tdmem[k]) { /* to the shared tile data at the end of the rounds */
            lapse_blob_t *b = &ph->tdown[tpi * ph->ntiles + tl];
            lapse_blob_free(b);
            b->data = own;
            b->size = (size_t)lapse_box_voxels(&core) * ph->g->node[k].step->op->global->mat_bytes;
            ph->tstate[tpi * ph->ntiles + tl] = NULL;
            continue;
        }
        st = lapse_h5out_write(ph->w->out, scratch_of(ph, k, pass), t.t, &core, own);
        if (st != LAPSE_OK) {
            st = lapse_fail_wrap(st, "writing the tile data of step %d to %s failed", k + 1,
                                 ph->w->job->cfg.output_file);
            goto cleanup;
        }
    }
cleanup:
    return st;
}

/* Forget the tile states and rings. */
static void tmem_clear(lapse_phases_t *ph)
{
    for (int64_t i = 0; i < ph->ntps * ph->ntiles; i++) {
        if (ph->tstate) {
            free(ph->tstate[i]);
            ph->tstate[i] = NULL;
        }
        if (ph->shells)
            lapse_blob_free(&ph->shells[i]);
    }
    ph->tmem = 0;
}

/* Collective: whether step k's tile state over the timepoints of a stays in host memory: no
 * later step needs it beyond the core, and this rank's tiles fit the host budget on every
 * rank. */
static lapse_status_t tmem_decide(lapse_phases_t *ph, int k, const active_t *a, int *on)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_gnode_t *nd = &ph->g->node[k];
    int ok = nd->need[0] == 0 && nd->need[1] == 0 && nd->need[2] == 0 && ph->tstate && ph->shells &&
             ph->mat_host;
    double mine = 0;
    for (int64_t j = 0; j < a->n * ph->ntiles; j++)
        if ((a->pos[j / ph->ntiles] * ph->ntiles + j % ph->ntiles) % ph->w->r->nranks ==
            ph->w->r->rank)
            mine += (double)ph->full.max_core_voxels * (double)nd->step->op->global->mat_bytes;
    ok = ok && mine + (double)ph->cached <= (double)ph->cache_max;
    int all = 0;
    LAPSE_MPI(MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, ph->w->r->world));
    *on = all;
cleanup:
    return st;
}

/* Collective: this rank's pending tile data of step k (tdown) to every rank's tdata[k] (an
 * MPI_Allgatherv of the cores: what fits the host budget, tdata_decide). */
static lapse_status_t tdata_share(lapse_phases_t *ph, int k)
{
    lapse_status_t st = LAPSE_OK, lst = LAPSE_OK;
    int64_t nall = ph->ntps * ph->ntiles, nmine = 0;
    int64_t *idx = malloc((size_t)(nall + 1) * sizeof *idx);
    lapse_blob_t *mine = calloc((size_t)(nall + 1), sizeof *mine);
    if (!idx || !mine)
        lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the tile data of step %d", k + 1);
    for (int64_t i = 0; lst == LAPSE_OK && i < nall; i++)
        if (ph->tdown[i].data) {
            idx[nmine] = i;
            mine[nmine++] = ph->tdown[i];
            ph->tdown[i].data = NULL;
            ph->tdown[i].size = 0;
        }
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(ph->w->r->world, lst));
    st = exchange(ph->w->r->world, ph->w->r->nranks, idx, mine, nmine, ph->tdata[k], nall);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    st = lapse_agree(ph->w->r->world, st);
cleanup:
    for (int64_t i = 0; mine && i < nmine; i++)
        lapse_blob_free(&mine[i]);
    free(idx);
    free(mine);
    return st;
}

/* Collective: whether the tile data of every global step with tile data that is not recomputed
 * stays in host memory for the whole run (tdmem[k]): all active timepoints' tiles of all such
 * steps fit half of the host budget (LAPSE_PHASE_CACHE) on every rank, and one step's fit in one
 * MPI_Allgatherv (2 GiB); the host input cache keeps the rest of the budget. Else every such
 * step uses the output's scratch area. */
static lapse_status_t tdata_decide(lapse_phases_t *ph, const active_t *a)
{
    lapse_status_t st = LAPSE_OK;
    double total = 0, most = 0;
    int any = 0;
    for (int k = 0; k < ph->g->nsteps; k++) {
        const lapse_global_t *gl = ph->g->node[k].step->op->global;
        if (!gl || !gl->mat_bytes || recomputed(ph->g, k))
            continue;
        double b = (double)a->n * (double)ph->ntiles * (double)ph->full.max_core_voxels *
                   (double)gl->mat_bytes;
        total += b;
        most = b > most ? b : most;
        any = 1;
    }
    int ok = any && ph->tdown && ph->mat_host && total <= 0.5 * (double)ph->cache_max &&
             most < 2147483647.0 * 0.9;
    int all = 0;
    LAPSE_MPI(MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, ph->w->r->world));
    for (int k = 0; all && k < ph->g->nsteps; k++) {
        const lapse_global_t *gl = ph->g->node[k].step->op->global;
        if (!gl || !gl->mat_bytes || recomputed(ph->g, k))
            continue;
        ph->tdata[k] = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof(lapse_blob_t));
        ph->tdmem[k] = ph->tdata[k] != NULL;
    }
    if (all) /* the input cache keeps the other half */
        ph->cache_max = ph->cache_max > (size_t)total ? ph->cache_max - (size_t)total : 0;
    /* a rank that could not allocate leaves tdmem 0: every rank must agree */
    for (int k = 0; k < ph->g->nsteps; k++) {
        int mine = ph->tdmem[k], both = 0;
        LAPSE_MPI(MPI_Allreduce(&mine, &both, 1, MPI_INT, MPI_MIN, ph->w->r->world));
        ph->tdmem[k] = both;
    }
    for (int k = 0; k < ph->g->nsteps && ph->w->r->rank == 0; k++) {
        const lapse_global_t *gl = ph->g->node[k].step->op->global;
        if (gl && gl->mat_bytes)
            printf("lapse: global step %d (%s): tile data %s\n", k + 1,
                   ph->g->node[k].step->op->name,
                   recomputed(ph->g, k) ? "recomputed where needed (nothing kept)"
                   : ph->tdmem[k]       ? "shared in host memory between phases"
                                        : "in the output's scratch area");
    }
    fflush(stdout);
cleanup:
    return st;
}

/* Collective: the passes of the iterative step ph->target over the timepoints of a, one
 * iteration each, until every timepoint converged; a converged timepoint leaves the next
 * rounds (a further iteration could change it, and clesperanto stops there too). Every pass's
 * tile data is flushed before the next pass reads it. */
static lapse_status_t iterate_rounds(lapse_phases_t *ph, const active_t *a, double *idle,
                                     int *rounds)
{
    lapse_status_t st = LAPSE_OK;
    const int k = ph->target;
    const lapse_global_t *gl = ph->g->node[k].step->op->global;
    active_t cur = {malloc((size_t)(a->n + 1) * sizeof(int64_t)), a->n,
                    malloc((size_t)(a->n + 1) * sizeof(int64_t))};
    lapse_status_t lst = cur.tpi && cur.pos ? LAPSE_OK : lapse_fail(LAPSE_ENOMEM, "out of memory");
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(ph->w->r->world, lst));
    memcpy(cur.tpi, a->tpi, (size_t)a->n * sizeof(int64_t));
    for (int64_t i = 0; i < a->n; i++)
        cur.pos[i] = i;
    LAPSE_TRY(tmem_decide(ph, k, &cur, &ph->tmem));
    if (ph->w->r->rank == 0) {
        printf("lapse: global step %d (%s): tile state between passes %s\n", k + 1,
               ph->g->node[k].step->op->name,
               ph->tmem ? "in host memory (rings exchanged)" : "in the output's scratch area");
        fflush(stdout);
    }
    for (ph->pass = 0; cur.n > 0; ph->pass++, (*rounds)++) {
        if (ph->pass > 0 && !ph->tmem && !ph->tdmem[k]) { /* the last pass's tile data */
            lapse_status_t fst = lapse_h5out_flush(ph->w->out);
            if (fst != LAPSE_OK)
                lapse_err_print(fst);
            LAPSE_TRY(lapse_agree(ph->w->r->world, fst));
        }
        LAPSE_TRY(round_run(ph, &cur, idle));
        int64_t keep = 0;
        lst = LAPSE_OK;
        for (int64_t i = 0; i < cur.n; i++) {
            if (!gl->done(&ph->res[cur.tpi[i] * ph->g->nsteps + k])) {
                cur.pos[keep] = cur.pos[i];
                cur.tpi[keep++] = cur.tpi[i];
            } else if (ph->tmem && lst == LAPSE_OK) /* converged: its state for the tasks */
                lst = tmem_final(ph, k, cur.tpi[i], cur.pos[i], ph->pass);
        }
        if (lst != LAPSE_OK)
            lapse_err_print(lst);
        LAPSE_TRY(lapse_agree(ph->w->r->world, lst));
        cur.n = keep;
        if (ph->tmem && cur.n > 0)
            LAPSE_TRY(tmem_exchange(ph, k, &cur));
        if (!ph->tmem && ph->tdmem[k]) /* every tile's state of this pass, to all */
            LAPSE_TRY(tdata_share(ph, k));
    }
    if (ph->tmem && ph->tdmem[k]) /* the final states, to all */
        LAPSE_TRY(tdata_share(ph, k));
    else if (ph->tmem) { /* the final states must be seen by every rank */
        lapse_status_t fst = lapse_h5out_flush(ph->w->out);
        if (fst != LAPSE_OK)
            lapse_err_print(fst);
        LAPSE_TRY(lapse_agree(ph->w->r->world, fst));
    }
cleanup:
    tmem_clear(ph);
    free(cur.tpi);
    free(cur.pos);
    return st;
}

/* Collective, timepoints held whole (one tile): each rank runs the whole pipeline of its share
 * of the active timepoints once (MODE_WHOLE records every global step's result), then the
 * results that tables need (measurements, and the thresholds of the summaries) go to every
 * rank. The tasks later run the same pipeline again (same bits). */
static lapse_status_t capture_whole(lapse_phases_t *ph, const active_t *a)
{
    lapse_status_t st = LAPSE_OK, lst = LAPSE_OK;
    lapse_worker_t *w = ph->w;
    int64_t ns = ph->g->nsteps, nall = ph->ntps * ns, nmine = 0;
    int64_t *idx = malloc((size_t)(nall + 1) * sizeof *idx);
    lapse_blob_t *mine = calloc((size_t)(nall + 1), sizeof *mine);
    lapse_blob_t *all = calloc((size_t)(nall + 1), sizeof *all);
    if (!idx || !mine || !all)
        lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the results of global steps");
    ph->mode = MODE_WHOLE;
    for (int64_t j = w->r->rank; lst == LAPSE_OK && j < a->n; j += w->r->nranks) {
        lapse_task_t t;
        lapse_plan_task(&ph->full, a->tpi[j] * ph->ntiles, &t);
        lapse_err_context("rank %d, global steps, task %lld (t=%lld)", w->r->rank, (long long)t.id,
                          (long long)t.t);
        if (lapse_stop_requested()) {
            lst = lapse_interrupted();
            break;
        }
        lapse_phases_task(ph, &t);
        lst = lapse_reader_read(w->in, t.t, &t.read, lapse_pipeline_input(w->pipe));
        if (lst == LAPSE_OK)
            lst = lapse_pipeline_run(w->pipe, &t.read, &t.core, NULL);
        lapse_fault_point("phase");
        for (int k = 0; lst == LAPSE_OK && k < ns; k++) {
            const lapse_global_t *gl = ph->g->node[k].step->op->global;
            if (gl && (gl->table || gl->summary)) {
                idx[nmine] = a->tpi[j] * ns + k;
                mine[nmine++] = ph->res[a->tpi[j] * ns + k];
            }
        }
    }
    if (lst != LAPSE_OK && (lst != LAPSE_EINTERRUPTED || w->r->rank == 0))
        lapse_err_print(lst);
    lapse_err_context("rank %d", w->r->rank);
    LAPSE_TRY(lapse_agree(w->r->world, lst));
    st = exchange(w->r->world, w->r->nranks, idx, mine, nmine, all, nall);
    for (int64_t i = 0; st == LAPSE_OK && i < nall; i++)
        if (all[i].data) {
            lapse_blob_free(&ph->res[i]);
            ph->res[i] = all[i];
            all[i].data = NULL;
        }
    if (st != LAPSE_OK)
        lapse_err_print(st);
    st = lapse_agree(w->r->world, st);
cleanup:
    for (int64_t i = 0; all && i < nall; i++)
        lapse_blob_free(&all[i]);
    free(idx);
    free(mine); /* the blobs stay in ph->res */
    free(all);
    return st;
}

static lapse_status_t prologue(lapse_phases_t *ph)
{
    lapse_status_t st = LAPSE_OK;
    lapse_worker_t *w = ph->w;
    active_t a = {NULL, 0, NULL};
    int rounds = 0;
    double t0 = MPI_Wtime(), idle = 0;
    lapse_status_t lst = find_active(w->plan, &a);
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(w->r->world, lst));
    ph->mode = MODE_PARTIAL;
    if (ph->ntiles > 1)
        LAPSE_TRY(tdata_decide(ph, &a));
    int64_t wave = wave_size(ph), nwaves = 0;
    if (ph->ntiles == 1) { /* one round of whole timepoints */
        LAPSE_TRY(capture_whole(ph, &a));
        rounds = 1;
        nwaves = 1;
        wave = a.n;
    }
    for (int64_t w0 = 0; ph->ntiles > 1 && w0 < a.n; w0 += wave, nwaves++) {
        active_t sub = {a.tpi + w0, a.n - w0 < wave ? a.n - w0 : wave, NULL};
        for (int k = 0; k < ph->g->nsteps; k++) {
            const lapse_global_t *gl = ph->g->node[k].step->op->global;
            if (gl == NULL)
                continue;
            ph->target = k;
            if (gl->iterate) {
                LAPSE_TRY(iterate_rounds(ph, &sub, &idle, &rounds));
                continue;
            }
            for (ph->pass = 0; ph->pass < gl->npass; ph->pass++, rounds++)
                LAPSE_TRY(round_run(ph, &sub, &idle));
            opcache_clear(ph);
            if (gl->mat_bytes && ph->tdmem[k])
                LAPSE_TRY(tdata_share(ph, k));
            else if (gl->mat_bytes) { /* the tile data must be seen by every rank from here on */
                lapse_status_t fst = lapse_h5out_flush(w->out);
                if (fst != LAPSE_OK)
                    lapse_err_print(fst);
                LAPSE_TRY(lapse_agree(w->r->world, fst));
            }
        }
        cache_clear(ph, w0 + wave < a.n); /* the last wave's device copies serve the tasks */
    }
    for (int k = 0; k < ph->g->nsteps; k++) {
        const lapse_global_t *gl = ph->g->node[k].step->op->global;
        if (gl && gl->table)
            LAPSE_TRY(write_table(ph, &a, k));
    }
    ph->mode = ph->ntiles == 1 ? MODE_WHOLE : MODE_FINAL;
    double all = 0;
    if (MPI_Reduce(&idle, &all, 1, MPI_DOUBLE, MPI_SUM, 0, w->r->world) == MPI_SUCCESS &&
        w->r->rank == 0) {
        printf("lapse: global steps: %d rounds over %lld timepoints x %lld tiles (%lld waves of "
               "at most %lld timepoints) in %.2f s (ranks idle at round ends: %.3f s on "
               "average)\n",
               rounds, (long long)a.n, (long long)ph->ntiles, (long long)nwaves, (long long)wave,
               MPI_Wtime() - t0, all / w->r->nranks);
        fflush(stdout);
    }
    if (ph->profile)
        fprintf(stderr,
                "lapse: rank %d profile: global-step rounds: input %.3f s, pipeline %.3f s, "
                "waiting %.3f s, exchange %.3f s, reductions %.3f s\n",
                w->r->rank, ph->t_input, ph->t_run, ph->t_wait, ph->t_exchange, ph->t_reduce);
cleanup:
    free(a.tpi);
    return st;
}

/* Bytes of input boxes a rank keeps between rounds: LAPSE_PHASE_CACHE, else 1/32 of
 * the host's memory (every rank of a host keeps its own cache: a quarter of the memory shared
 * by up to 8 ranks). */
static size_t cache_budget(void)
{
    const char *env = getenv("LAPSE_PHASE_CACHE");
    if (env && *env)
        return (size_t)atof(env);
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || size <= 0)
        return 0;
    return (size_t)pages * (size_t)size / 32;
}

lapse_status_t lapse_phases_prepare(lapse_worker_t *w, lapse_phases_t **out)
{
    lapse_status_t st = LAPSE_OK;
    lapse_phases_t *ph = NULL;
    *out = NULL;
    if (!lapse_phases_needed(w->job))
        return LAPSE_OK;
    lapse_status_t lst = LAPSE_OK;
    ph = calloc(1, sizeof *ph);
    if (ph) {
        ph->w = w;
        ph->g = &w->job->graph;
        ph->full = *w->plan;
        ph->full.todo = NULL;
        ph->full.ntasks = w->plan->ntps * w->plan->ntiles;
        ph->ntps = w->plan->ntps;
        ph->ntiles = w->plan->ntiles;
        ph->cur_tpi = -1;
        ph->profile = getenv("LAPSE_PROFILE") && strcmp(getenv("LAPSE_PROFILE"), "1") == 0;
        for (int k = 0; k < LAPSE_MAX_STEPS; k++)
            ph->scratch[k] = -1;
        for (int i = 0; i < w->job->nscratch; i++)
            if (ph->scratch[w->job->scratch_step[i]] < 0) /* the first of its datasets */
                ph->scratch[w->job->scratch_step[i]] = w->job->nout + i;
        if (w->job->nscratch > 0)
            ph->mat_host = malloc((size_t)w->plan->max_read_voxels * 8);
        ph->res = calloc((size_t)(ph->ntps * ph->g->nsteps + 1), sizeof *ph->res);
        ph->prev = calloc((size_t)(ph->ntps + 1), sizeof *ph->prev);
        ph->last = calloc((size_t)(ph->ntps * ph->g->nsteps + 1), sizeof *ph->last);
        ph->cache = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->cache);
        ph->cache_max = cache_budget();
        ph->dcache = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->dcache);
        ph->ocache = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->ocache);
        ph->tstate = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->tstate);
        ph->shells = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->shells);
        ph->tdown = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->tdown);
        unsigned long long task =
            lapse_sizing_task_bytes(w->job, w->plan->max_read_voxels, w->plan->max_core_voxels);
        ph->dcache_max = w->dev_share > task ? (size_t)((w->dev_share - task) / 2) : 0;
    }
    if (!ph || !ph->res || !ph->prev || !ph->last || !ph->cache || !ph->dcache || !ph->ocache ||
        (w->job->nscratch > 0 && !ph->mat_host))
        lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the results of global steps");
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(w->r->world, lst));
    lapse_pipeline_set_global(w->pipe, gstep, ph);
    int tables = 0;
    for (int k = 0; k < ph->g->nsteps; k++)
        tables |= ph->g->node[k].step->op->global && ph->g->node[k].step->op->global->table;
    if (ph->ntiles == 1 && !tables) /* a table is written before the tasks: prologue */
        ph->mode = MODE_WHOLE;
    else
        LAPSE_TRY(prologue(ph));
    *out = ph;
    ph = NULL;
cleanup:
    if (ph && w->pipe)
        lapse_pipeline_set_global(w->pipe, NULL, NULL);
    lapse_phases_free(ph);
    return st;
}

cl_mem lapse_phases_input(lapse_phases_t *ph, const lapse_task_t *t)
{
    int64_t tpi = ph ? tp_index(&ph->full, t->t) : -1;
    if (tpi < 0 || t->tile < 0 || t->tile >= ph->ntiles)
        return NULL;
    return ph->dcache[tpi * ph->ntiles + t->tile];
}

void lapse_phases_free(lapse_phases_t *ph)
{
    if (ph == NULL)
        return;
    for (int64_t i = 0; ph->res && i < ph->ntps * ph->g->nsteps; i++)
        lapse_blob_free(&ph->res[i]);
    for (int64_t i = 0; ph->prev && i < ph->ntps; i++)
        lapse_blob_free(&ph->prev[i]);
    lapse_blob_free(&ph->part);
    free(ph->res);
    free(ph->prev);
    free(ph->mat_host);
    free(ph->last);
    opcache_clear(ph);
    tmem_clear(ph);
    free(ph->tstate);
    free(ph->shells);
    for (int64_t i = 0; i < ph->ntps * ph->ntiles; i++) {
        if (ph->tdown)
            lapse_blob_free(&ph->tdown[i]);
        for (int k = 0; k < ph->g->nsteps; k++)
            if (ph->tdata[k])
                lapse_blob_free(&ph->tdata[k][i]);
    }
    for (int k = 0; k < ph->g->nsteps; k++)
        free(ph->tdata[k]);
    free(ph->tdown);
    cache_clear(ph, 1);
    if (ph->relay)
        clReleaseMemObject(ph->relay);
    free(ph->cache);
    free(ph->dcache);
    free(ph->ocache);
    free(ph);
}
