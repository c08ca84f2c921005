/*
 * phases.c - per-timepoint reductions of global steps over tiles and ranks (see phases.h).
 *
 * Results are kept per (timepoint, step) as blobs on every rank. A round computes one pass of
 * one global step: the ranks deal the tiles of the active timepoints round-robin, run the
 * pipeline of each up to the step (lapse_pipeline_run ends there: the callback sets *stop) and
 * keep its partial; then all partials go to every rank (MPI_Allgatherv of records
 * [index, size, bytes]) and each rank reduces every timepoint in tile order. Where tile data
 * lives between phases is phases_data.c; the input boxes and operands kept between rounds
 * (host and device caches) are here.
 */
#include "exec/phases_int.h"

#include <limits.h>
#include <math.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/dev.h"
#include "exec/hostmem.h"
#include "exec/sizing.h"
#include "io/input_id.h"
#include "io/table.h"
#include "ops/global.h"

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
void ph_current_tile(const lapse_phases_t *ph, int k, const lapse_box_t *core_rel,
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

/* Release input boxes kept on the device (the current task's aside, which is not counted yet)
 * until bytes more fit the device cache; nothing when releasing them all would not make room.
 * Their tasks read them again (from the host cache, where there is room for them). */
static void box_evict(lapse_phases_t *ph, size_t bytes)
{
    int64_t cur = ph->cur_tpi * ph->ntiles + ph->cur.tile;
    size_t dsize = lapse_dtype_size(ph->w->job->in.dtype);
    if (ph->dcached - ph->dboxes + bytes > ph->dcache_max)
        return;
    for (; ph->dcached + bytes > ph->dcache_max && ph->evict < ph->ntps * ph->ntiles; ph->evict++) {
        if (ph->evict == cur || ph->dcache[ph->evict] == NULL)
            continue;
        lapse_task_t t;
        lapse_plan_task(&ph->full, ph->evict, &t);
        clReleaseMemObject(ph->dcache[ph->evict]);
        ph->dcache[ph->evict] = NULL;
        ph->dcached -= (size_t)lapse_box_voxels(&t.read) * dsize;
        ph->dboxes -= (size_t)lapse_box_voxels(&t.read) * dsize;
    }
}

/* Keep device copies of the current task's operands in[] of global step k (and its tile and the
 * pipeline's mat and work buffers) for the step's later passes, while the device cache has
 * room; else nothing (the later passes run the pipeline again). A device that refuses the
 * memory (its share is not all free: other processes, a lazy allocator) is not a failure:
 * slower, not wrong, and this rank keeps no more operands (a note says so). */
static void opcache_drop(lapse_phases_t *ph, opcache_t *c);

/* opcache_keep's entry c could not get its device memory (clCreateBuffer said e): dropped, and
 * no more kept on this rank. */
static void refused(lapse_phases_t *ph, opcache_t *c, cl_int e)
{
    opcache_drop(ph, c); /* (the buffer refused is NULL, those after it not made yet) */
    ph->oc_off = 1;
    lapse_err_clear(); /* an injected fault's message (the tests) */
    fprintf(stderr,
            "lapse: rank %d: no more operands of global steps kept on the device (%s): their "
            "later passes run the pipeline again\n",
            ph->w->r->rank, lapse_cl_strerror(e));
    fflush(stderr);
}

/* A device buffer of bytes for opcache_keep, or NULL with *e set; LAPSE_FAULT=fail:opcache[@R]
 * (the tests) makes it refused. */
static cl_mem kept_buffer(lapse_phases_t *ph, size_t bytes, cl_int *e)
{
    if (lapse_fault_fail("opcache") != LAPSE_OK) {
        *e = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        return NULL;
    }
    return clCreateBuffer(ph->w->cl->ctx, CL_MEM_READ_WRITE, bytes, NULL, e);
}

static lapse_status_t opcache_keep(lapse_phases_t *ph, int k, const lapse_dvol_t *in,
                                   const lapse_gtile_t *tile, cl_mem mat, cl_mem work)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_gnode_t *nd = &ph->g->node[k];
    opcache_t *c = &ph->ocache[ph->cur_tpi * ph->ntiles + ph->cur.tile];
    cl_int e = CL_SUCCESS;
    cl_command_queue q = ph->w->cl->queue;
    const lapse_global_t *gl = nd->step->op->global;
    const size_t sbytes = gl->iterate && ph->tmem
                              ? (size_t)(in[0].dim[0] * in[0].dim[1] * in[0].dim[2]) * gl->mat_bytes
                              : 0;
    /* the operands are the values of the tile's checkpoint before step k, where it has one */
    const lapse_pipe_ckpt_t *ck = ph->ckpt[ph->cur_tpi * ph->ntiles + ph->cur.tile];
    int borrow = lapse_pipeline_ckpt_step(ck) == k;
    for (int i = 0; borrow && i < nd->nin; i++)
        borrow = lapse_pipeline_ckpt_value(ck, nd->in[i]) != NULL;
    size_t bytes = sbytes;
    for (int i = 0; !borrow && i < nd->nin; i++)
        bytes += (size_t)(in[i].dim[0] * in[i].dim[1] * in[i].dim[2]) * sizeof(cl_float);
    if (c->used || ph->oc_off)
        return LAPSE_OK;
    if (ph->g->node[k].step->op->global->iterate) /* its many passes need them more */
        box_evict(ph, bytes);
    if (ph->dcached + bytes > ph->dcache_max)
        return LAPSE_OK;
    memset(c, 0, sizeof *c);
    c->used = 1;
    c->nin = nd->nin;
    c->tile = *tile;
    c->mat = mat;
    c->work = work;
    c->bytes = bytes;
    c->borrowed = borrow;
    ph->dcached += bytes;
    ph->n_kept++;
    for (int i = 0; i < nd->nin; i++) {
        size_t b = (size_t)(in[i].dim[0] * in[i].dim[1] * in[i].dim[2]) * sizeof(cl_float);
        c->in[i] = in[i];
        if (borrow) {
            c->in[i].mem = lapse_pipeline_ckpt_value(ck, nd->in[i]);
            continue;
        }
        c->in[i].mem = kept_buffer(ph, b, &e);
        if (e != CL_SUCCESS) {
            refused(ph, c, e);
            return LAPSE_OK;
        }
        LAPSE_CL(clEnqueueCopyBuffer(q, in[i].mem, c->in[i].mem, 0, 0, b, 0, NULL, NULL));
    }
    if (sbytes) { /* the state this pass left in mat stays on the device too */
        c->state = kept_buffer(ph, sbytes, &e);
        if (e != CL_SUCCESS) {
            refused(ph, c, e);
            return LAPSE_OK;
        }
        LAPSE_CL(clEnqueueCopyBuffer(q, mat, c->state, 0, 0, sbytes, 0, NULL, NULL));
        ph->n_state++;
    }
cleanup:
    return st;
}

/* Release the operands (and state) kept in c. */
static void opcache_drop(lapse_phases_t *ph, opcache_t *c)
{
    for (int j = 0; j < c->nin && !c->borrowed; j++)
        if (c->in[j].mem)
            clReleaseMemObject(c->in[j].mem);
    if (c->state)
        clReleaseMemObject(c->state);
    ph->dcached -= c->bytes;
    memset(c, 0, sizeof *c);
}

/* Release the kept operands (at the end of a step's passes). */
static void opcache_clear(lapse_phases_t *ph)
{
    for (int64_t i = 0; ph->ocache && i < ph->ntps * ph->ntiles; i++) {
        opcache_t *c = &ph->ocache[i];
        if (!c->used)
            continue;
        opcache_drop(ph, c);
    }
}

/* A converged timepoint (index tpi) of iterative step k: the states this
 * rank kept on the device for its tiles into host memory (ph_tmem_down), and its kept operands
 * released. */
static lapse_status_t opcache_down(lapse_phases_t *ph, int k, int64_t tpi)
{
    lapse_status_t st = LAPSE_OK;
    for (int64_t tl = 0; tl < ph->ntiles; tl++) {
        opcache_t *c = &ph->ocache[tpi * ph->ntiles + tl];
        if (!ph_owns(ph, tpi, tl) || !c->used)
            continue;
        if (c->state) {
            lapse_task_t t;
            lapse_plan_task(&ph->full, tpi * ph->ntiles + tl, &t);
            LAPSE_TRY(ph_tmem_down(ph, lapse_pipeline_dev(ph->w->pipe), k, tpi, &t, c->state));
        }
        opcache_drop(ph, c);
    }
cleanup:
    return st;
}

/* The current task's partial of pass ph->pass of the target step (into ph->part) from its
 * operands in[] on tile, with mat and work the pipeline's buffers: an iterative step's state of
 * the previous pass is loaded into mat first and its new state stored after; a step's tile data
 * is stored after pass 0 (unless recomputed later). resident: mat is the state kept on the
 * device (opcache_t state), where only the neighbours' rings are loaded and from where only the
 * rings for them are stored. */
static lapse_status_t target_partial(lapse_phases_t *ph, lapse_dev_t *d, const lapse_gtile_t *tile,
                                     const lapse_dvol_t *in, cl_mem mat, cl_mem work, int resident)
{
    lapse_status_t st = LAPSE_OK;
    const int k = ph->target;
    const lapse_step_t *s = ph->g->node[k].step;
    const lapse_global_t *gl = s->op->global;
    lapse_blob_free(&ph->part);
    double t0 = MPI_Wtime(), t1 = t0;
    if (resident && ph->pass > 0) {
        LAPSE_TRY(ph_tmem_load_dev(ph, d, k, mat, (size_t)(in->dim[0] * in->dim[1] * in->dim[2])));
        t1 = MPI_Wtime();
        ph->t_kept_in += t1 - t0;
    } else if (gl->iterate && ph->pass > 0 && ph->tmem) /* the state the previous pass left */
        LAPSE_TRY(ph_tmem_load(ph, d, k, mat, in));
    else if (gl->iterate && ph->pass > 0)
        LAPSE_TRY(ph_mat_load(ph, d, k, ph->pass - 1, mat,
                              (size_t)(in->dim[0] * in->dim[1] * in->dim[2])));
    LAPSE_TRY(gl->partial(d, s, ph->pass, ph->pass ? &ph->prev[ph->cur_tpi] : NULL, tile, in, mat,
                          work, &ph->part));
    if (resident) {
        const double t2 = MPI_Wtime();
        ph->t_kept_step += t2 - t1;
        LAPSE_TRY(
            ph_tmem_rings_down(ph, d, k, mat, (size_t)(in->dim[0] * in->dim[1] * in->dim[2])));
        ph->t_kept_out += MPI_Wtime() - t2;
    } else if (gl->iterate && ph->tmem)
        LAPSE_TRY(ph_tmem_store(ph, d, k, mat, in->dim, &tile->core_rel));
    else if (gl->mat_bytes && (ph->pass == 0 || gl->iterate) && !ph_recomputed(ph->g, k))
        LAPSE_TRY(ph_mat_store(ph, d, k, ph->pass, mat, in->dim, &tile->core_rel));
cleanup:
    return st;
}

/* The current task's input box kept on the device, released (a checkpoint replaces it). */
static void box_drop(lapse_phases_t *ph)
{
    cl_mem *slot = &ph->dcache[ph->cur_tpi * ph->ntiles + ph->cur.tile];
    if (*slot == NULL)
        return;
    clReleaseMemObject(*slot);
    *slot = NULL;
    /* counted once the run that kept it has ended (run_round_task); until then it is not */
    if (!ph->box_pending) {
        size_t b = (size_t)lapse_box_voxels(&ph->cur.read) * lapse_dtype_size(ph->w->job->in.dtype);
        ph->dcached -= b;
        ph->dboxes -= b;
    }
}

/* Pass 0 of global step k (the pipeline p stands before it): keep a checkpoint of the current
 * task there in place of its earlier one and of its input box, while the device cache has room
 * for it; else (or when the device refuses the memory) the task keeps what it had. Later rounds and
 * the task itself resume from it (run_round_task, lapse_phases_ckpt) instead of running the steps
 * before k again. */
static void ckpt_keep(lapse_phases_t *ph, lapse_pipeline_t *p, int k)
{
    lapse_pipe_ckpt_t **slot = &ph->ckpt[ph->cur_tpi * ph->ntiles + ph->cur.tile];
    if (lapse_pipeline_ckpt_step(*slot) >= k)
        return;
    /* (the old checkpoint and input box go after the new one exists: the peak is one
     * checkpoint more, within the other half of the rank's device share, lapse_phases_prepare) */
    const size_t need = lapse_pipeline_ckpt_bytes(p, k, &ph->cur.read, &ph->cur.core);
    size_t freed = lapse_pipeline_ckpt_size(*slot);
    if (ph->dcache[ph->cur_tpi * ph->ntiles + ph->cur.tile] && !ph->box_pending)
        freed += (size_t)lapse_box_voxels(&ph->cur.read) * lapse_dtype_size(ph->w->job->in.dtype);
    if (ph->ck_off || ph->dcached - freed + need > ph->dcache_max)
        return;
    lapse_pipe_ckpt_t *c = NULL;
    if (lapse_pipeline_ckpt_save(p, k, &c) != LAPSE_OK) {
        /* the device has less room than its share says (other processes, a lazy allocator):
         * slower, not wrong; this rank keeps no more checkpoints */
        fprintf(stderr, "lapse: rank %d: no more checkpoints kept on the device: %s\n",
                ph->w->r->rank, lapse_errmsg());
        lapse_err_clear();
        ph->ck_off = 1;
        return;
    }
    ph->dcached -= lapse_pipeline_ckpt_size(*slot);
    lapse_pipeline_ckpt_free(*slot); /* (a run resumed from it has its copies enqueued) */
    *slot = c;
    ph->dcached += lapse_pipeline_ckpt_size(c);
    box_drop(ph);
    ph->n_ck_saved++;
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
        if (ph->capturing) /* the task resumes here: its steps before k run once */
            ckpt_keep(ph, p, k);
        lapse_blob_free(res);
        return lapse_global_whole(d, s, in, out, mat, work, res);
    }
    const int local = ph_recomputed(ph->g, k);
    if (ph->mode == MODE_PARTIAL && k == ph->target) {
        lapse_gtile_t tile;
        ph_current_tile(ph, k, core, &tile);
        if (ph->pass == 0)
            ckpt_keep(ph, p, k);
        LAPSE_TRY(target_partial(ph, d, &tile, in, mat, work, 0));
        /* Later passes of a multi-pass step without tile data, and every pass of an iterative
         * step (its state is loaded apart), read the same operands: keep them on the device. */
        if (ph->pass == 0 && (gl->iterate || (gl->npass > 1 && !gl->mat_bytes)))
            LAPSE_TRY(opcache_keep(ph, k, in, &tile, mat, work));
        *stop = 1;
        goto cleanup;
    }
    if (res->data == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: no result of global step %s for t=%lld",
                   s->op->name, (long long)ph->cur.t);
    if (local) { /* the tile data again, from the operand */
        LAPSE_TRY(ph_recompute(ph, d, k, in, mat, work, core));
        mat = ph->relay;
    } else if (gl->mat_bytes)
        LAPSE_TRY(ph_mat_load(ph, d, k, gl->iterate ? ph->last[ph->cur_tpi * ph->g->nsteps + k] : 0,
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

/* The unit (bytes, a power of two >= 8) in which ph_exchange counts: the smallest for which
 * the ranks' sizes[0..n) rounded up to it count at most `limit` units together (MPI counts are
 * ints). 0 when even 1 GiB units do not do. */
size_t ph_exchange_unit(const long long *sizes, int n, long long limit)
{
    for (size_t unit = 8; unit <= ((size_t)1 << 30); unit *= 2) {
        long long units = 0;
        for (int r = 0; r < n && units <= limit; r++)
            units += (sizes[r] + (long long)unit - 1) / (long long)unit;
        if (units <= limit)
            return unit;
    }
    return 0;
}

/* The largest MPI count ph_exchange uses on this rank: INT_MAX, or LAPSE_EXCHANGE_UNITS (tests:
 * forces larger units on small data); the ranks take the smallest of theirs, at least nranks. */
static long long exchange_limit(void)
{
    const char *env = getenv("LAPSE_EXCHANGE_UNITS");
    long long v = env && *env ? atoll(env) : 0;
    return v > 0 && v < INT_MAX ? v : INT_MAX;
}

/* Collective: every rank's records (index j, blob) to every rank: all[j] receives the blob of
 * index j (0 <= j < nall). mine[0..nmine) with indices idx[]. With move 1, this rank's own
 * records are moved into all[], not copied, and mine[i] receives the blob all[idx[i]] held
 * before (empty if none: the caller may reuse it or free it; on failure mine keeps its own):
 * one rank copies nothing, and several copy only what travels. A received record lands in the
 * blob all[j] already holds where the sizes match (no fresh pages). Each rank's records are padded
 * to a whole number of units (ph_exchange_unit), so any total size travels in one
 * MPI_Allgatherv (in place: packed straight into the receive buffer). */
lapse_status_t ph_exchange(MPI_Comm comm, int nranks, const int64_t *idx, lapse_blob_t *mine,
                           int64_t nmine, lapse_blob_t *all, int64_t nall, int move)
{
    lapse_status_t st = LAPSE_OK;
    char *rbuf = NULL;
    long long *sizes = NULL, *pairs = NULL;
    int *counts = NULL, *displs = NULL, rank = 0;
    MPI_Datatype unit_t = MPI_DATATYPE_NULL;
    size_t bytes = 0;
    for (int64_t i = 0; i < nmine; i++)
        bytes += sizeof(rec_head_t) + pad8(mine[i].size);
    LAPSE_MPI(MPI_Comm_rank(comm, &rank));
    sizes = malloc((size_t)nranks * sizeof *sizes);
    counts = malloc((size_t)nranks * sizeof *counts);
    displs = malloc((size_t)nranks * sizeof *displs);
    LAPSE_ALLOC(sizes);
    LAPSE_ALLOC(counts);
    LAPSE_ALLOC(displs);
    long long my[2] = {(long long)bytes, exchange_limit()}, units = 0, limit = INT_MAX;
    pairs = malloc((size_t)nranks * sizeof my);
    LAPSE_ALLOC(pairs);
    LAPSE_MPI(MPI_Allgather(my, 2, MPI_LONG_LONG, pairs, 2, MPI_LONG_LONG, comm));
    for (int r = 0; r < nranks; r++) { /* the same sizes and limit on every rank */
        sizes[r] = pairs[2 * r];
        limit = pairs[2 * r + 1] < limit ? pairs[2 * r + 1] : limit;
    }
    limit = limit > nranks ? limit : nranks;
    const size_t unit = ph_exchange_unit(sizes, nranks, limit);
    if (unit == 0)
        LAPSE_FAIL(LAPSE_ENOMEM, "the results of one round of a global step are too large to "
                                 "exchange: use larger tiles or fewer timepoints per run");
    for (int r = 0; r < nranks; r++) {
        counts[r] = (int)((sizes[r] + (long long)unit - 1) / (long long)unit);
        displs[r] = (int)units;
        units += counts[r];
    }
    const int travel = nranks > 1 || !move; /* else all records are this rank's, moved */
    if (travel) {
        rbuf = lapse_hostmem_alloc((size_t)units * unit + 1);
        LAPSE_ALLOC(rbuf);
        char *sbuf = rbuf + (size_t)displs[rank] * unit;
        size_t o = 0;
        for (int64_t i = 0; i < nmine; i++) {
            rec_head_t h = {idx[i], (int64_t)mine[i].size};
            memcpy(sbuf + o, &h, sizeof h);
            o += sizeof h;
            if (mine[i].size)
                memcpy(sbuf + o, mine[i].data, mine[i].size);
            memset(sbuf + o + mine[i].size, 0, pad8(mine[i].size) - mine[i].size);
            o += pad8(mine[i].size);
        }
        memset(sbuf + o, 0, (size_t)counts[rank] * unit - o); /* the unit padding */
        LAPSE_MPI(MPI_Type_contiguous((int)unit, MPI_BYTE, &unit_t));
        LAPSE_MPI(MPI_Type_commit(&unit_t));
        LAPSE_MPI(
            MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, rbuf, counts, displs, unit_t, comm));
    }
    for (int r = 0; travel && r < nranks; r++) { /* each rank's records, up to its padding */
        if (r == rank && move)
            continue;
        const size_t end = (size_t)displs[r] * unit + (size_t)sizes[r];
        for (size_t at = (size_t)displs[r] * unit; at < end;) {
            rec_head_t h;
            memcpy(&h, rbuf + at, sizeof h);
            at += sizeof h;
            if (h.index < 0 || h.index >= nall || h.size < 0 || at + (size_t)h.size > end)
                LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: a bad partial-result record");
            if (all[h.index].data == NULL || all[h.index].size != (size_t)h.size) {
                lapse_blob_free(&all[h.index]);
                all[h.index].data = lapse_hostmem_alloc((size_t)h.size);
                LAPSE_ALLOC(all[h.index].data);
                all[h.index].size = (size_t)h.size;
            }
            lapse_hostmem_copy(all[h.index].data, rbuf + at, (size_t)h.size);
            at += pad8((size_t)h.size);
        }
    }
    for (int64_t i = 0; move && i < nmine; i++) { /* checked before anything moves */
        if (idx[i] < 0 || idx[i] >= nall)
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: a bad partial-result record");
        if (mine[i].data == NULL) { /* an empty record is still there (as received) */
            mine[i].data = malloc(1);
            LAPSE_ALLOC(mine[i].data);
        }
    }
    for (int64_t i = 0; move && i < nmine; i++) { /* this rank's own, moved; the old ones back */
        const lapse_blob_t old = all[idx[i]];
        all[idx[i]] = mine[i];
        mine[i] = old;
    }
cleanup:
    if (unit_t != MPI_DATATYPE_NULL)
        MPI_Type_free(&unit_t);
    free(rbuf);
    free(sizes);
    free(pairs);
    free(counts);
    free(displs);
    return st;
}

/* ---------------------------------------------------------------- rounds */

/* The active timepoints of a wave: those with a pending task among the plan's pending tasks
 * lo .. hi - 1, less those left out after a failure (ph->fail). */
static lapse_status_t find_active(const lapse_phases_t *ph, const lapse_plan_t *plan, int64_t lo,
                                  int64_t hi, active_t *a)
{
    lapse_status_t st = LAPSE_OK;
    a->n = 0;
    a->tpi = malloc((size_t)(plan->ntps ? plan->ntps : 1) * sizeof *a->tpi);
    LAPSE_ALLOC(a->tpi);
    for (int64_t i = lo; i < hi && i < plan->ntasks; i++) {
        int64_t tpi = plan->todo ? plan->todo[i] / plan->ntiles : i / plan->ntiles;
        if (!ph->fail[tpi].agreed && (a->n == 0 || a->tpi[a->n - 1] != tpi))
            a->tpi[a->n++] = tpi;
    }
cleanup:
    return st;
}

/* Deal the tiles of the active timepoints of a to the ranks for every round (ph->owner): the
 * tile of a pending task to the rank whose share holds that task (w->deal, exec/deal.h: the
 * task static scheduling gives it, and dynamic scheduling's own share), so that the task runs
 * where its round kept the checkpoint and the input box, also in a resumed run where some
 * tiles are done. The tiles of done tasks (of a timepoint that still has pending ones) go, with
 * timepoints per rank, to the rank of the timepoint's nearest pending tile before them (else
 * after them), else round-robin after the others. */
static void owners_deal(lapse_phases_t *ph, const lapse_plan_t *plan, const active_t *a)
{
    const int n = ph->w->r->nranks;
    const int bytp = ph->w->deal.kind != LAPSE_DEAL_TASKS;
    for (int64_t i = 0; i < ph->ntps * ph->ntiles; i++)
        ph->owner[i] = -1;
    for (int64_t q = 0; q < plan->ntasks; q++)
        ph->owner[plan->todo ? plan->todo[q] : q] =
            ph->w->deal.rank ? ph->w->deal.rank[q] : (int)(q % n);
    int64_t next = plan->ntasks;
    for (int64_t i = 0; i < a->n; i++) {
        int *own = &ph->owner[a->tpi[i] * ph->ntiles];
        int near = -1; /* the rank of the nearest pending tile before (timepoints per rank) */
        for (int64_t tl = 0; bytp && tl < ph->ntiles && near < 0; tl++)
            near = own[tl];
        for (int64_t tl = 0; tl < ph->ntiles; tl++) {
            if (own[tl] < 0)
                own[tl] = near >= 0 ? near : (int)(next++ % n);
            else if (bytp)
                near = own[tl];
        }
    }
}

/* The input read box of task t into the pipeline's staging: from the rounds' cache when an
 * earlier round kept it, else from the input (then kept while the cache has room, unless
 * host is 0: every round of a wave reads the same boxes). The boxes give the parts of their
 * timepoint's input sample (ph->sample), whose sum (ph->tp_sum) the centre tile's task then
 * takes without reading again, once the sample came whole on this rank. */
static lapse_status_t read_input(lapse_phases_t *ph, int64_t tpi, const lapse_task_t *t, int host)
{
    lapse_status_t st = LAPSE_OK;
    lapse_worker_t *w = ph->w;
    void *dst = lapse_pipeline_input(w->pipe);
    size_t bytes = (size_t)lapse_box_voxels(&t->read) * lapse_dtype_size(w->job->in.dtype);
    void **slot = &ph->cache[tpi * ph->ntiles + t->tile];
    if (*slot) {
        lapse_hostmem_copy(dst, *slot, bytes);
        goto cleanup;
    }
    LAPSE_TRY(lapse_reader_read(w->in, t->t, &t->read, dst));
    if (host && ph->cached + bytes <= ph->cache_max &&
        (*slot = lapse_hostmem_alloc(bytes)) != NULL) {
        lapse_hostmem_copy(*slot, dst, bytes);
        ph->cached += bytes;
    }
cleanup:
    if (st == LAPSE_OK && ph->tp_sum[tpi] == 0)
        lapse_input_sample_take(&ph->sample[tpi], &w->job->in, &t->read, dst, &ph->tp_sum[tpi]);
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
    const lapse_pipe_ckpt_t *ck = ph->ckpt[tpi * ph->ntiles + t->tile];
    double t0 = MPI_Wtime(), t1;
    if (ck) {
        st = lapse_pipeline_resume(w->pipe, 0, &t->read, &t->core, ck);
        if (st == LAPSE_OK)
            st = lapse_pipeline_wait(w->pipe, 0, NULL);
        ph->t_run += MPI_Wtime() - t0;
        ph->n_ck_rounds++;
        return st;
    }
    if (*dslot) {
        st = lapse_pipeline_run_dev(w->pipe, &t->read, &t->core, NULL, *dslot, NULL);
        ph->t_run += MPI_Wtime() - t0;
        return st;
    }
    int dev = ph->dcached + bytes <= ph->dcache_max;
    LAPSE_TRY(read_input(ph, tpi, t, !dev));
    t1 = MPI_Wtime();
    ph->t_input += t1 - t0;
    ph->box_pending = 1; /* the box the run keeps is not counted in dcached yet */
    st = lapse_pipeline_run_dev(w->pipe, &t->read, &t->core, NULL, NULL, dev ? dslot : NULL);
    ph->box_pending = 0;
    LAPSE_TRY(st);
    ph->t_run += MPI_Wtime() - t1;
    if (*dslot && ph->dcached + bytes <= ph->dcache_max) { /* (the run's kept operands first) */
        ph->dcached += bytes;
        ph->dboxes += bytes;
    } else if (*dslot) { /* in the host cache instead, where it has room */
        void **slot = &ph->cache[tpi * ph->ntiles + t->tile];
        clReleaseMemObject(*dslot);
        *dslot = NULL;
        if (*slot == NULL && ph->cached + bytes <= ph->cache_max &&
            (*slot = lapse_hostmem_alloc(bytes))) {
            lapse_hostmem_copy(*slot, lapse_pipeline_input(w->pipe), bytes);
            ph->cached += bytes;
        }
    }
cleanup:
    return st;
}

/* Forget the input boxes cached on the host, and those on the device and the checkpoints when
 * dev is 1 (at the end of a wave). */
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
    for (int64_t i = 0; ph->ckpt && i < ph->ntps * ph->ntiles; i++) {
        lapse_pipeline_ckpt_free(ph->ckpt[i]);
        ph->ckpt[i] = NULL;
    }
    ph->dcached = 0;
    ph->dboxes = 0;
}

/* Task t of timepoint index tpi failed with st in the rounds (its message recorded). When the
 * run may go on without it (lapse_worker_skippable): print the failure, record it as the
 * timepoint's (its first), and return 1: this rank's rounds go on without the timepoint's
 * other tiles, and end with LAPSE_ESKIPPED, after which lapse_phases_prepare runs them again
 * without the timepoint. Else 0: st ends the run; the task's own failure under on_error: stop
 * still gets its failed row, as in the task loop. */
static int task_failure(lapse_phases_t *ph, int64_t tpi, const lapse_task_t *t, lapse_status_t st)
{
    if (!lapse_worker_skippable(ph->w, st)) {
        if (lapse_worker_task_failure(st)) /* (out of memory for it: st's message stays) */
            (void)lapse_worker_failed_row(ph->w, t);
        return 0;
    }
    tp_fail_t *f = &ph->fail[tpi];
    if (f->msg == NULL) {
        const char *m = lapse_errmsg();
        if ((f->msg = strdup(m[0] ? m : lapse_strstatus(st))) == NULL)
            return 0;
        f->st = st;
    }
    lapse_err_print(st);
    fprintf(stderr,
            "lapse: rank %d: timepoint t=%lld is left out of the global steps (on_error: "
            "skip); its tasks will be recorded as failed\n",
            ph->w->r->rank, (long long)ph->full.tps[tpi]);
    fflush(stderr);
    lapse_blob_free(&ph->part);
    return 1;
}

/* Run this rank's share of the tiles of the active timepoints up to step k, pass pass; keep the
 * partials in mine[] with their indices (active position * ntiles + tile). Returns
 * LAPSE_ESKIPPED (no message) when the share finished without a timepoint whose task failed
 * (task_failure). */
static lapse_status_t run_share(lapse_phases_t *ph, const active_t *a, int64_t *idx,
                                lapse_blob_t *mine, int64_t *nmine)
{
    lapse_status_t st = LAPSE_OK;
    lapse_worker_t *w = ph->w;
    int64_t n = a->n * ph->ntiles, failed = 0;
    *nmine = 0;
    for (int64_t j = 0; j < n; j++) {
        const int64_t tpi = a->tpi[j / ph->ntiles];
        if (!ph_owns(ph, tpi, j % ph->ntiles) || ph->fail[tpi].msg)
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
        const int reused = ph->pass > 0 && c->used;
        lapse_status_t tst;
        if (reused) { /* the operands kept after pass 0: no pipeline */
            double t0 = MPI_Wtime();
            tst = target_partial(ph, lapse_pipeline_dev(w->pipe), &c->tile, c->in,
                                 c->state ? c->state : c->mat, c->work, c->state != NULL);
            ph->t_run += MPI_Wtime() - t0;
            ph->n_reused++;
        } else {
            tst = run_round_task(ph, tpi, &t);
        }
        /* the tests: a task's failure in any round, LAPSE_FAULT=fail:round-STEP-PASS-tT[@R],
         * or a kill there, LAPSE_FAULT=round-STEP-PASS-tT[@R] */
        if (tst == LAPSE_OK && getenv("LAPSE_FAULT")) {
            char fault[64];
            snprintf(fault, sizeof fault, "round-%d-%d-t%lld", ph->target + 1, ph->pass,
                     (long long)t.t);
            tst = lapse_fault_fail(fault);
            lapse_fault_point(fault);
        }
        if (tst != LAPSE_OK && task_failure(ph, tpi, &t, tst)) {
            failed++;
            continue;
        }
        LAPSE_TRY(tst);
        if (!reused && !lapse_pipeline_stopped(w->pipe))
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: the pipeline did not stop at step %d",
                       ph->target + 1);
        lapse_fault_point("phase"); /* the crash tests: a kill during a reduction round */
        idx[*nmine] = j;
        mine[*nmine] = ph->part;
        ph->part.data = NULL;
        ph->part.size = 0;
        (*nmine)++;
    }
    if (failed > 0)
        st = LAPSE_ESKIPPED;
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
            ph_current_tile(ph, ph->target, &rel, &tiles[tl]);
            if (all[i * ph->ntiles + tl].data == NULL)
                LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: tile %lld of t=%lld has no partial",
                           (long long)tl, (long long)t.t);
        }
        lapse_blob_t out = {NULL, 0};
        /* a failure of the reduction names its timepoint (a message of the tiles' merge) */
        lapse_err_context("rank %d, global step %d (%s), t=%lld", ph->w->r->rank, ph->target,
                          s->op->name, (long long)ph->cur.t);
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
    if (ph->on_round != NULL)
        ph->on_round(ph->on_round_ctx, ++ph->wave_rounds, ph->g->node[ph->target].step->op->name);
    if (!idx || !mine || !all)
        lst =
            lapse_fail(LAPSE_ENOMEM, "out of memory for the partials of %lld tiles", (long long)n);
    if (lst == LAPSE_OK)
        lst = run_share(ph, a, idx, mine, &nmine);
    if (lst != LAPSE_OK && lst != LAPSE_ESKIPPED && (lst != LAPSE_EINTERRUPTED || w->r->rank == 0))
        lapse_err_print(lst);
    lapse_err_context("rank %d", w->r->rank);
    double t0 = MPI_Wtime();
    LAPSE_TRY(lapse_agree(w->r->world, lst));
    double t1 = MPI_Wtime();
    *idle += t1 - t0;
    ph->t_wait += t1 - t0;
    st = ph_exchange(w->r->world, w->r->nranks, idx, mine, nmine, all, n, 1);
    double t2 = MPI_Wtime();
    ph->t_exchange += t2 - t1;
    if (st == LAPSE_OK)
        st = reduce_all(ph, a, all);
    ph->t_reduce += MPI_Wtime() - t2;
    if (st != LAPSE_OK)
        lapse_err_print(st);
    lapse_err_context("rank %d", w->r->rank); /* reduce_all's names a timepoint */
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
        char msg[512] = "";
        if (ph->w->r->rank == 0 && s->op->global->warn)
            s->op->global->warn(s, r, msg, sizeof msg);
        if (msg[0])
            fprintf(stderr, "lapse: warning: step %s, timepoint %lld: %s\n", s->name, (long long)t,
                    msg);
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
    /* every rank's metadata cache empty again before the tables change metadata (h5out.h) */
    st = lapse_h5out_reopen(ph->w->out);
    if (st == LAPSE_OK)
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

int64_t lapse_phases_wave(const lapse_plan_t *p, int nranks)
{
    double budget = 512.0 * 1048576.0;
    const char *env = getenv("LAPSE_PHASE_MEM");
    if (env && atof(env) > 0)
        budget = atof(env);
    double faces = 2.0 * 8.0 *
                   ((double)p->tile[1] * p->tile[2] + (double)p->tile[0] * p->tile[2] +
                    (double)p->tile[0] * p->tile[1]);
    double per_tp = (faces + 65536.0) * (double)p->ntiles;
    double cap = 4.0 * (nranks > 2 ? nranks : 2); /* what a kill may cost: one wave */
    /* small timepoints: as many as hold 64 MiB of float32 voxels, since each wave costs some
     * milliseconds of its own (its tables written, its rounds agreed: 3-5 ms a wave on PoCL,
     * docs/benchmarks.md) and a kill redoes no more than that much data */
    const double tp_bytes =
        4.0 * (double)p->in_shape[0] * (double)p->in_shape[1] * (double)p->in_shape[2];
    if (tp_bytes > 0 && floor(64.0 * 1048576.0 / tp_bytes) > cap)
        cap = floor(64.0 * 1048576.0 / tp_bytes);
    env = getenv("LAPSE_WAVE_TIMEPOINTS");
    if (env && atof(env) >= 1)
        cap = atof(env);
    double w = budget / per_tp < cap ? budget / per_tp : cap;
    if (w > (double)p->ntps) /* no wave holds more; and huge values stay in int64 */
        w = (double)p->ntps;
    return w < 1 ? 1 : (int64_t)w;
}

int lapse_phases_rounds(const lapse_job_t *job, const lapse_plan_t *plan)
{
    int tables = 0;
    for (int k = 0; k < job->graph.nsteps; k++)
        tables |= job->graph.node[k].step->op->global && job->graph.node[k].step->op->global->table;
    return lapse_phases_needed(job) && (plan->ntiles > 1 || tables);
}

/* Collective: the passes of the iterative step ph->target over the timepoints of a, one
 * iteration each, until every timepoint converged; a converged timepoint leaves the next
 * rounds (a further iteration could change it, and clesperanto stops there too). Every pass's
 * tile data is flushed before the next pass reads it. */
/* Free the spare blobs of step k (ph_mat_store): no later store of this wave's tiles follows
 * its rounds, and the next wave's timepoints have other indices. */
static void spares_clear(lapse_phases_t *ph, int k)
{
    for (int64_t i = 0; ph->tspare[k] && i < ph->ntps * ph->ntiles; i++)
        lapse_blob_free(&ph->tspare[k][i]);
}

static lapse_status_t iterate_rounds(lapse_phases_t *ph, const active_t *a, double *idle,
                                     int *rounds)
{
    lapse_status_t st = LAPSE_OK;
    const int k = ph->target;
    const lapse_global_t *gl = ph->g->node[k].step->op->global;
    active_t cur = {malloc((size_t)(a->n + 1) * sizeof(int64_t)), a->n};
    lapse_status_t lst = cur.tpi ? LAPSE_OK : lapse_fail(LAPSE_ENOMEM, "out of memory");
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(ph->w->r->world, lst));
    memcpy(cur.tpi, a->tpi, (size_t)a->n * sizeof(int64_t));
    char why[320];
    LAPSE_TRY(ph_tmem_decide(ph, k, &cur, &ph->tmem, why, sizeof why));
    ph->evict = 0;
    if (ph->w->r->rank == 0 && ph->tmem_told != ph->tmem + 1) { /* once, and when it changes */
        ph->tmem_told = ph->tmem + 1;
        printf("lapse: global step %d (%s): tile state between passes %s%s\n", k + 1,
               ph->g->node[k].step->op->name,
               ph->tmem ? "in host memory (rings exchanged)" : "in the output's scratch area", why);
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
        const double t0 = MPI_Wtime();
        int64_t keep = 0;
        lst = LAPSE_OK;
        for (int64_t i = 0; i < cur.n; i++) {
            if (!gl->done(&ph->res[cur.tpi[i] * ph->g->nsteps + k])) {
                cur.tpi[keep++] = cur.tpi[i];
            } else if (ph->tmem && lst == LAPSE_OK) { /* converged: its state for the tasks */
                lst = opcache_down(ph, k, cur.tpi[i]);
                if (lst == LAPSE_OK)
                    lst = ph_tmem_final(ph, k, cur.tpi[i], ph->pass);
            }
        }
        if (lst != LAPSE_OK)
            lapse_err_print(lst);
        LAPSE_TRY(lapse_agree(ph->w->r->world, lst));
        cur.n = keep;
        if (ph->tmem && cur.n > 0)
            LAPSE_TRY(ph_tmem_exchange(ph, k, &cur));
        ph->t_rings += MPI_Wtime() - t0;
        if (!ph->tmem && ph->tdmem[k]) /* every tile's state of this pass, to all */
            LAPSE_TRY(ph_tdata_share(ph, k));
    }
    if (ph->tmem && ph->tdmem[k]) /* the final states, to all */
        LAPSE_TRY(ph_tdata_share(ph, k));
    else if (ph->tmem) { /* the final states must be seen by every rank */
        lapse_status_t fst = lapse_h5out_flush(ph->w->out);
        if (fst != LAPSE_OK)
            lapse_err_print(fst);
        LAPSE_TRY(lapse_agree(ph->w->r->world, fst));
    }
cleanup:
    opcache_clear(ph);
    ph_tmem_clear(ph);
    free(cur.tpi);
    return st;
}

/* Collective, timepoints held whole (one tile): each rank runs the whole pipeline of its share
 * of the active timepoints once (MODE_WHOLE records every global step's result), then the
 * results that tables need (measurements, and the thresholds of the summaries) go to every
 * rank. The tasks later run the same pipeline again (same bits): on the rank that ran it here,
 * from the checkpoint kept before its last global step where that fitted (ckpt_keep). */
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
    int64_t failed = 0;
    ph->mode = MODE_WHOLE;
    ph->capturing = 1;
    for (int64_t j = 0; lst == LAPSE_OK && j < a->n; j++) {
        if (!ph_owns(ph, a->tpi[j], 0))
            continue;
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
        if (lst != LAPSE_OK && task_failure(ph, a->tpi[j], &t, lst)) {
            failed++;
            lst = LAPSE_OK;
            continue;
        }
        lapse_fault_point("phase");
        if (getenv("LAPSE_FAULT")) { /* the tests: a kill at timepoint T, "whole-tT[@R]" */
            char fault[64];
            snprintf(fault, sizeof fault, "whole-t%lld", (long long)t.t);
            lapse_fault_point(fault);
        }
        for (int k = 0; lst == LAPSE_OK && k < ns; k++) {
            const lapse_global_t *gl = ph->g->node[k].step->op->global;
            if (gl && (gl->table || gl->summary)) {
                idx[nmine] = a->tpi[j] * ns + k;
                mine[nmine++] = ph->res[a->tpi[j] * ns + k];
            }
        }
    }
    ph->capturing = 0;
    if (lst == LAPSE_OK && failed > 0)
        lst = LAPSE_ESKIPPED; /* printed (task_failure) */
    if (lst != LAPSE_OK && lst != LAPSE_ESKIPPED && (lst != LAPSE_EINTERRUPTED || w->r->rank == 0))
        lapse_err_print(lst);
    lapse_err_context("rank %d", w->r->rank);
    LAPSE_TRY(lapse_agree(w->r->world, lst));
    st = ph_exchange(w->r->world, w->r->nranks, idx, mine, nmine, all, nall, 0);
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

/* Collective, after the last wave's rounds: rank 0 prints the rounds' line; with
 * LAPSE_PROFILE=1 every rank prints where its rounds' time went. */
static void rounds_report(lapse_phases_t *ph, int stopped)
{
    const lapse_worker_t *w = ph->w;
    ph->reported = 1;
    const int64_t wave = lapse_phases_wave(&ph->full, w->r->nranks);
    double all = 0;
    const double elapsed = ph->t_rounds;
    if (MPI_Reduce(&ph->t_idle, &all, 1, MPI_DOUBLE, MPI_SUM, 0, w->r->world) == MPI_SUCCESS &&
        w->r->rank == 0) {
        printf("lapse: global steps: %d round%s over %lld timepoint%s x %lld tile%s (%lld "
               "wave%s of at most %lld timepoint%s%s) in %.2f s (ranks idle at round ends: %.3f s "
               "on average)\n",
               ph->n_rounds, ph->n_rounds == 1 ? "" : "s", (long long)ph->n_active,
               ph->n_active == 1 ? "" : "s", (long long)ph->ntiles, ph->ntiles == 1 ? "" : "s",
               (long long)ph->n_waves, ph->n_waves == 1 ? "" : "s", (long long)wave,
               wave == 1 ? "" : "s", stopped ? "; not every wave finished" : "", elapsed,
               all / w->r->nranks);
        fflush(stdout);
    }
    if (ph->profile)
        fprintf(
            stderr,
            "lapse: rank %d profile: global-step rounds: input %.3f s, pipeline %.3f s, "
            "waiting %.3f s, exchange %.3f s, reductions %.3f s, tile data shared %.3f s, rings "
            "and states %.3f s, tables written %.3f s, the rest %.3f s; operands kept on the "
            "device for %lld tiles "
            "(with the growth's state for %lld), %lld passes run from them; of the pipeline, "
            "tile data: read boxes put together %.3f s, uploaded %.3f s, cores downloaded "
            "%.3f s, copied out %.3f s; passes on a state kept on the device: rings in %.3f s, "
            "the step %.3f s, rings out %.3f s; checkpoints kept %lld, round runs resumed from "
            "one %lld\n",
            w->r->rank, ph->t_input, ph->t_run, ph->t_wait, ph->t_exchange, ph->t_reduce,
            ph->t_share, ph->t_rings, ph->t_tables,
            elapsed - (ph->t_input + ph->t_run + ph->t_wait + ph->t_exchange + ph->t_reduce +
                       ph->t_share + ph->t_rings + ph->t_tables),
            ph->n_kept, ph->n_state, ph->n_reused, ph->t_mat_box, ph->t_mat_up, ph->t_mat_down,
            ph->t_mat_out, ph->t_kept_in, ph->t_kept_step, ph->t_kept_out, ph->n_ck_saved,
            ph->n_ck_rounds);
}

/* Collective: the rounds of the active timepoints among the plan's pending tasks lo .. hi - 1
 * (one wave of exec/deal.h), then their tables; the tasks then apply the results (MODE_FINAL,
 * or MODE_WHOLE for timepoints held whole). The wave's counts and times add to the run's,
 * which rank 0 prints after the last wave (last 1), with the profile lines. */
static lapse_status_t prologue(lapse_phases_t *ph, int64_t lo, int64_t hi, int last)
{
    lapse_status_t st = LAPSE_OK;
    lapse_worker_t *w = ph->w;
    active_t a = {NULL, 0};
    int rounds = 0;
    double t0 = MPI_Wtime(), idle = 0;
    lapse_status_t lst = find_active(ph, w->plan, lo, hi, &a);
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(w->r->world, lst));
    owners_deal(ph, w->plan, &a);
    ph->mode = MODE_PARTIAL;
    if (ph->ntiles > 1)
        LAPSE_TRY(ph_tdata_decide(ph, &a));
    int scratch = 0; /* a step of the wave's rounds uses the output's scratch area */
    for (int k = 0; ph->ntiles > 1 && k < ph->g->nsteps; k++) {
        const lapse_global_t *gl = ph->g->node[k].step->op->global;
        scratch |= gl && gl->mat_bytes && !ph_recomputed(ph->g, k) && !ph->tdmem[k];
    }
    if (scratch && ph->n_calls > 1) {
        /* an earlier wave's tasks made independent HDF5 calls (chunk lookups, done marks):
         * every rank's metadata cache empty again before the scratch area's calls (h5out.h) */
        lst = lapse_h5out_reopen(w->out);
        if (lst != LAPSE_OK)
            lapse_err_print(lst);
        LAPSE_TRY(lapse_agree(w->r->world, lst));
    }
    if (ph->ntiles == 1) { /* one round of whole timepoints */
        LAPSE_TRY(capture_whole(ph, &a));
        rounds = a.n > 0; /* none when every timepoint was left out (on_error: skip) */
    }
    for (int k = 0; ph->ntiles > 1 && a.n > 0 && k < ph->g->nsteps; k++) {
        const lapse_global_t *gl = ph->g->node[k].step->op->global;
        if (gl == NULL)
            continue;
        ph->target = k;
        if (gl->iterate) {
            LAPSE_TRY(iterate_rounds(ph, &a, &idle, &rounds));
            spares_clear(ph, k);
            continue;
        }
        for (ph->pass = 0; ph->pass < gl->npass; ph->pass++, rounds++)
            LAPSE_TRY(round_run(ph, &a, &idle));
        opcache_clear(ph);
        if (gl->mat_bytes && ph->tdmem[k])
            LAPSE_TRY(ph_tdata_share(ph, k));
        else if (gl->mat_bytes) { /* the tile data must be seen by every rank from here on */
            lapse_status_t fst = lapse_h5out_flush(w->out);
            if (fst != LAPSE_OK)
                lapse_err_print(fst);
            LAPSE_TRY(lapse_agree(w->r->world, fst));
        }
        spares_clear(ph, k);
    }
    cache_clear(ph, 0); /* the device copies serve the wave's tasks */
    const double t1 = MPI_Wtime();
    for (int k = 0; k < ph->g->nsteps; k++) {
        const lapse_global_t *gl = ph->g->node[k].step->op->global;
        if (gl && gl->table)
            LAPSE_TRY(write_table(ph, &a, k));
    }
    ph->t_tables += MPI_Wtime() - t1;
    ph->mode = ph->ntiles == 1 ? MODE_WHOLE : MODE_FINAL;
    ph->n_rounds += rounds;
    ph->n_active += a.n;
    ph->n_waves += a.n > 0;
    ph->t_idle += idle;
    ph->t_rounds += MPI_Wtime() - t0;
    if (last)
        rounds_report(ph, 0);
cleanup:
    free(a.tpi);
    return st;
}

/* ---------------------------------------------------------------- on_error: skip */

/* Collective, after the rounds ended with LAPSE_ESKIPPED on every rank: every rank learns the
 * timepoints whose tasks failed on any rank (each with the message of the lowest such rank)
 * and marks them agreed; *added counts those not agreed before. */
static lapse_status_t fail_agree(lapse_phases_t *ph, int64_t *added)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_ranks_t *r = ph->w->r;
    const int64_t n = ph->ntps;
    int *who = malloc((size_t)(n + 1) * sizeof *who),
        *first = malloc((size_t)(n + 1) * sizeof *first);
    int64_t *idx = malloc((size_t)(n + 1) * sizeof *idx), nmine = 0;
    lapse_blob_t *mine = calloc((size_t)(n + 1), sizeof *mine);
    lapse_blob_t *all = calloc((size_t)(n + 1), sizeof *all);
    lapse_status_t lst = who && first && idx && mine && all
                             ? LAPSE_OK
                             : lapse_fail(LAPSE_ENOMEM, "out of memory for the failed timepoints");
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(r->world, lst));
    for (int64_t i = 0; i < n; i++)
        who[i] = ph->fail[i].msg ? r->rank : INT_MAX;
    LAPSE_MPI(MPI_Allreduce(who, first, (int)n, MPI_INT, MPI_MIN, r->world));
    for (int64_t i = 0; lst == LAPSE_OK && i < n; i++) {
        if (first[i] != r->rank || ph->fail[i].msg == NULL) /* (the latter: never, as who[]) */
            continue;
        const size_t len = strlen(ph->fail[i].msg) + 1; /* [status][message with its NUL] */
        mine[nmine].data = malloc(sizeof(int32_t) + len);
        if (mine[nmine].data == NULL) {
            lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the failed timepoints");
            break;
        }
        const int32_t code = (int32_t)ph->fail[i].st;
        memcpy(mine[nmine].data, &code, sizeof code);
        memcpy((char *)mine[nmine].data + sizeof code, ph->fail[i].msg, len);
        mine[nmine].size = sizeof code + len;
        idx[nmine++] = i;
    }
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(r->world, lst));
    st = ph_exchange(r->world, r->nranks, idx, mine, nmine, all, n, 0);
    *added = 0;
    for (int64_t i = 0; st == LAPSE_OK && i < n; i++) {
        if (first[i] == INT_MAX)
            continue;
        const lapse_blob_t *b = &all[i];
        int32_t code = 0;
        if (b->data == NULL || b->size <= sizeof code ||
            ((const char *)b->data)[b->size - 1] != '\0') {
            st = lapse_fail(LAPSE_ERUNTIME, "internal error: the record of failed t=%lld",
                            (long long)ph->full.tps[i]);
            break;
        }
        memcpy(&code, b->data, sizeof code);
        char *m = strdup((const char *)b->data + sizeof code);
        if (m == NULL) {
            st = lapse_fail(LAPSE_ENOMEM, "out of memory for the failed timepoints");
            break;
        }
        free(ph->fail[i].msg);
        ph->fail[i].msg = m;
        ph->fail[i].st = (lapse_status_t)code;
        if (!ph->fail[i].agreed)
            (*added)++;
        ph->fail[i].agreed = 1;
    }
    if (st != LAPSE_OK)
        lapse_err_print(st);
    st = lapse_agree(r->world, st);
cleanup:
    for (int64_t i = 0; mine && i < nmine; i++)
        lapse_blob_free(&mine[i]);
    for (int64_t i = 0; all && i < n; i++)
        lapse_blob_free(&all[i]);
    free(who);
    free(first);
    free(idx);
    free(mine);
    free(all);
    return st;
}

/* Forget what the rounds computed (results, checkpoints past the first global step, tile data)
 * and everything kept of the timepoints left out, so that prologue can run the rounds again
 * from the start without them. What is kept of the others is their input as the first round
 * reads it: input boxes in the host and device caches, and checkpoints before the first global
 * step (the local steps' result, which no global result enters), so that the new rounds do not
 * read the input again (a failed read is found in that round). */
static void rounds_reset(lapse_phases_t *ph)
{
    opcache_clear(ph); /* before the checkpoints whose buffers it may borrow */
    ph_tmem_clear(ph);
    int first = 0;
    while (first < ph->g->nsteps && ph->g->node[first].step->op->global == NULL)
        first++;
    const size_t dsize = lapse_dtype_size(ph->w->job->in.dtype);
    for (int64_t i = 0; i < ph->ntps * ph->ntiles; i++) {
        const int gone = ph->fail[i / ph->ntiles].agreed;
        lapse_task_t t;
        lapse_plan_task(&ph->full, i, &t);
        const size_t bytes = (size_t)lapse_box_voxels(&t.read) * dsize;
        if (ph->cache[i] && gone) {
            free(ph->cache[i]);
            ph->cache[i] = NULL;
            ph->cached -= bytes;
        }
        if (ph->dcache[i] && gone) {
            clReleaseMemObject(ph->dcache[i]);
            ph->dcache[i] = NULL;
            ph->dcached -= bytes;
            ph->dboxes -= bytes;
        }
        if (ph->ckpt[i] && (gone || lapse_pipeline_ckpt_step(ph->ckpt[i]) != first)) {
            ph->dcached -= lapse_pipeline_ckpt_size(ph->ckpt[i]);
            lapse_pipeline_ckpt_free(ph->ckpt[i]);
            ph->ckpt[i] = NULL;
        }
    }
    for (int64_t i = 0; i < ph->ntps * ph->g->nsteps; i++) {
        lapse_blob_free(&ph->res[i]);
        ph->last[i] = 0;
    }
    for (int64_t i = 0; i < ph->ntps; i++)
        lapse_blob_free(&ph->prev[i]);
    lapse_blob_free(&ph->part);
    for (int64_t i = 0; i < ph->ntps * ph->ntiles; i++)
        lapse_blob_free(&ph->tdown[i]);
    for (int k = 0; k < ph->g->nsteps; k++) {
        for (int64_t i = 0; i < ph->ntps * ph->ntiles; i++) {
            if (ph->tdata[k])
                lapse_blob_free(&ph->tdata[k][i]);
            if (ph->tspare[k])
                lapse_blob_free(&ph->tspare[k][i]);
        }
        free(ph->tdata[k]);
        free(ph->tspare[k]);
        ph->tdata[k] = NULL;
        ph->tspare[k] = NULL;
        ph->tdmem[k] = 0;
    }
    ph->cache_max = ph->cache_max0;
    ph->ck_off = 0;
    ph->oc_off = 0;
    ph->evict = 0;
    ph->cur_tpi = -1;
    ph->mode = MODE_PARTIAL;
}

/* Collective: prologue of the wave lo .. hi - 1, run again without the timepoints left out
 * while a run of it ends with tasks that failed there (on_error: skip); rank 0 says which were
 * left out. */
static lapse_status_t prologue_skipping(lapse_phases_t *ph, int64_t lo, int64_t hi, int last)
{
    lapse_status_t st = LAPSE_OK;
    double t0 = MPI_Wtime();
    while ((st = prologue(ph, lo, hi, last)) == LAPSE_ESKIPPED) {
        int64_t added = 0;
        LAPSE_TRY(fail_agree(ph, &added));
        if (added == 0)
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: the rounds of the global steps failed "
                                       "without a failed timepoint");
        rounds_reset(ph);
        if (ph->w->r->rank == 0) { /* (the time: rank 0's, to the agreement) */
            char list[256] = "";
            size_t at = 0;
            int64_t shown = 0, total = 0;
            for (int64_t i = 0; i < ph->ntps; i++) {
                if (!ph->fail[i].agreed)
                    continue;
                total++;
                if (shown < 16 && at < sizeof list) /* the first 16 */
                    at += (size_t)snprintf(list + at, sizeof list - at, "%s%lld", shown ? ", " : "",
                                           (long long)ph->full.tps[i]);
                if (shown < 16)
                    shown++;
            }
            printf("lapse: global steps: %lld timepoint%s left out after a failure (on_error: "
                   "skip): t=%s%s; the rounds run again without %s (that attempt "
                   "took %.2f s)\n",
                   (long long)total, total == 1 ? "" : "s", list, total > shown ? ", ..." : "",
                   total == 1 ? "it" : "them", MPI_Wtime() - t0);
            fflush(stdout);
        }
        t0 = MPI_Wtime();
    }
cleanup:
    return st;
}

lapse_status_t lapse_phases_failed(const lapse_phases_t *ph, int64_t t, const char **why)
{
    const int64_t tpi = ph ? tp_index(&ph->full, t) : -1;
    if (tpi < 0 || !ph->fail[tpi].agreed)
        return LAPSE_OK;
    *why = ph->fail[tpi].msg;
    return ph->fail[tpi].st;
}

size_t lapse_phases_host_budget(int local_ranks)
{
    const char *env = getenv("LAPSE_PHASE_CACHE");
    if (env && *env)
        return (size_t)atof(env);
    return (size_t)(lapse_hostmem_limit() / 4 /
                    (unsigned long long)(local_ranks > 0 ? local_ranks : 1));
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
        const char *profile = getenv("LAPSE_PROFILE");
        ph->profile = profile && strcmp(profile, "1") == 0;
        for (int k = 0; k < LAPSE_MAX_STEPS; k++)
            ph->scratch[k] = -1;
        for (int i = 0; i < w->job->nscratch; i++)
            if (ph->scratch[w->job->scratch_step[i]] < 0) /* the first of its datasets */
                ph->scratch[w->job->scratch_step[i]] = w->job->nout + i;
        if (w->job->nscratch > 0) { /* pinned: the tile data crosses to the device at speed */
            const size_t mb = (size_t)w->plan->max_read_voxels * 8;
            if (lapse_cl_pinned_alloc(w->cl, mb, &ph->mat_pin) == LAPSE_OK)
                ph->mat_host = ph->mat_pin.host;
            else { /* slower, not wrong: its error is dropped */
                lapse_err_clear();
                lapse_cl_pinned_release(w->cl, &ph->mat_pin);
                ph->mat_host = malloc(mb);
            }
        }
        ph->res = calloc((size_t)(ph->ntps * ph->g->nsteps + 1), sizeof *ph->res);
        ph->prev = calloc((size_t)(ph->ntps + 1), sizeof *ph->prev);
        ph->last = calloc((size_t)(ph->ntps * ph->g->nsteps + 1), sizeof *ph->last);
        ph->cache = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->cache);
        ph->cache_max = lapse_phases_host_budget(w->r->local_size);
        ph->dcache = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->dcache);
        ph->ocache = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->ocache);
        ph->ckpt = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->ckpt);
        ph->owner = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->owner);
        ph->tp_sum = calloc((size_t)(ph->ntps + 1), sizeof *ph->tp_sum);
        ph->sample = calloc((size_t)(ph->ntps + 1), sizeof *ph->sample);
        ph->tstate = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->tstate);
        ph->shells = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->shells);
        ph->tdown = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof *ph->tdown);
        unsigned long long task =
            lapse_sizing_task_bytes(w->job, w->plan->max_read_voxels, w->plan->max_core_voxels);
        ph->dcache_max = w->dev_share > task ? (size_t)((w->dev_share - task) / 2) : 0;
        ph->cache_max0 = ph->cache_max;
        ph->fail = calloc((size_t)(ph->ntps + 1), sizeof *ph->fail);
    }
    if (!ph || !ph->res || !ph->prev || !ph->last || !ph->cache || !ph->dcache || !ph->ocache ||
        !ph->ckpt || !ph->owner || !ph->tp_sum || !ph->sample || !ph->tstate || !ph->shells ||
        !ph->tdown || !ph->fail || (w->job->nscratch > 0 && !ph->mat_host))
        lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the results of global steps");
    if (lst == LAPSE_OK) /* the hang tests: this rank alone fails here */
        lst = lapse_fault_fail("phases-prepare");
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(w->r->world, lst));
    lapse_pipeline_set_global(w->pipe, gstep, ph);
    /* a table is written before the tasks: the waves' rounds (lapse_phases_run_wave) */
    ph->rounds = lapse_phases_rounds(w->job, w->plan);
    ph->mode = ph->rounds ? MODE_PARTIAL : MODE_WHOLE;
    *out = ph;
    ph = NULL;
cleanup:
    if (ph && w->pipe)
        lapse_pipeline_set_global(w->pipe, NULL, NULL);
    lapse_phases_free(ph);
    return st;
}

void lapse_phases_report(lapse_phases_t *ph)
{
    if (ph && ph->rounds && ph->n_calls > 0 && !ph->reported)
        rounds_report(ph, 1);
}

void lapse_phases_on_round(lapse_phases_t *ph, lapse_phases_round_fn fn, void *ctx)
{
    if (ph == NULL)
        return;
    ph->on_round = fn;
    ph->on_round_ctx = ctx;
}

lapse_status_t lapse_phases_run_wave(lapse_phases_t *ph, int64_t lo, int64_t hi, int last)
{
    if (ph == NULL || !ph->rounds)
        return LAPSE_OK;
    ph->wave_rounds = 0;
    if (ph->n_calls++ > 0) { /* the earlier waves' tasks are done: what they kept goes */
        cache_clear(ph, 1);
        rounds_reset(ph);
    }
    return prologue_skipping(ph, lo, hi, last);
}

int lapse_phases_input_sum(lapse_phases_t *ph, int64_t t, uint64_t *sum)
{
    int64_t tpi = ph && ph->tp_sum ? tp_index(&ph->full, t) : -1;
    if (tpi < 0 || ph->tp_sum[tpi] == 0)
        return 0;
    *sum = ph->tp_sum[tpi];
    ph->n_sums++;
    return 1;
}

cl_mem lapse_phases_input(lapse_phases_t *ph, const lapse_task_t *t)
{
    int64_t tpi = ph ? tp_index(&ph->full, t->t) : -1;
    if (tpi < 0 || t->tile < 0 || t->tile >= ph->ntiles)
        return NULL;
    return ph->dcache[tpi * ph->ntiles + t->tile];
}

const lapse_pipe_ckpt_t *lapse_phases_ckpt(lapse_phases_t *ph, const lapse_task_t *t, int resume)
{
    int64_t tpi = ph && ph->mode != MODE_PARTIAL ? tp_index(&ph->full, t->t) : -1;
    if (tpi < 0 || t->tile < 0 || t->tile >= ph->ntiles)
        return NULL;
    const lapse_pipe_ckpt_t *c = ph->ckpt[tpi * ph->ntiles + t->tile];
    if (c && resume)
        ph->n_ck_tasks++;
    return c;
}

void lapse_phases_ckpt_release(lapse_phases_t *ph, const lapse_task_t *t)
{
    int64_t tpi = ph ? tp_index(&ph->full, t->t) : -1;
    if (tpi < 0 || t->tile < 0 || t->tile >= ph->ntiles || !ph->ckpt[tpi * ph->ntiles + t->tile])
        return;
    lapse_pipe_ckpt_t **slot = &ph->ckpt[tpi * ph->ntiles + t->tile];
    ph->dcached -= lapse_pipeline_ckpt_size(*slot);
    lapse_pipeline_ckpt_free(*slot);
    *slot = NULL;
}

void lapse_phases_free(lapse_phases_t *ph)
{
    if (ph == NULL)
        return;
    if (ph->profile && ph->n_ck_saved > 0)
        fprintf(stderr,
                "lapse: rank %d profile: tasks resumed from a checkpoint: %lld; input sums "
                "taken from the rounds' reads: %lld\n",
                ph->w->r->rank, ph->n_ck_tasks, ph->n_sums);
    for (int64_t i = 0; ph->res && i < ph->ntps * ph->g->nsteps; i++)
        lapse_blob_free(&ph->res[i]);
    for (int64_t i = 0; ph->prev && i < ph->ntps; i++)
        lapse_blob_free(&ph->prev[i]);
    lapse_blob_free(&ph->part);
    free(ph->res);
    free(ph->prev);
    if (ph->mat_pin.mem)
        lapse_cl_pinned_release(ph->w->cl, &ph->mat_pin);
    else
        free(ph->mat_host);
    free(ph->last);
    opcache_clear(ph);
    ph_tmem_clear(ph);
    free(ph->tstate);
    free(ph->shells);
    for (int64_t i = 0; i < ph->ntps * ph->ntiles; i++) {
        if (ph->tdown)
            lapse_blob_free(&ph->tdown[i]);
        for (int k = 0; k < ph->g->nsteps; k++) {
            if (ph->tdata[k])
                lapse_blob_free(&ph->tdata[k][i]);
            if (ph->tspare[k])
                lapse_blob_free(&ph->tspare[k][i]);
        }
    }
    for (int k = 0; k < ph->g->nsteps; k++) {
        free(ph->tdata[k]);
        free(ph->tspare[k]);
    }
    free(ph->tdown);
    cache_clear(ph, 1);
    if (ph->relay)
        clReleaseMemObject(ph->relay);
    free(ph->cache);
    free(ph->dcache);
    free(ph->ocache);
    free(ph->ckpt);
    free(ph->owner);
    free(ph->tp_sum);
    for (int64_t i = 0; ph->sample && i < ph->ntps; i++)
        lapse_input_sample_free(&ph->sample[i]);
    free(ph->sample);
    for (int64_t i = 0; ph->fail && i < ph->ntps; i++)
        free(ph->fail[i].msg);
    free(ph->fail);
    free(ph);
}
