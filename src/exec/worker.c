/*
 * worker.c - phase 5 on one rank (see worker.h): open the input and the pipeline, run tasks
 * from the scheduler, keep their rows, report progress (rank 0), release it all.
 *
 * The pipeline is created in lapse_worker_open, run in run_task and destroyed in
 * lapse_worker_close; nothing else here touches it.
 */
#include "exec/worker.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec/phases.h"
#include "io/input_id.h"
#include "io/rawwrite.h"
#include "io/zarr_out.h"
#include "progress.h"

/* The NaN and Inf voxels of the core box core (relative to the read box of dims read_dim) in the
 * float32 read box v: one pass over the core, no allocation. A float is not finite exactly when
 * its exponent bits are all ones; testing the bits holds under any floating-point flags. */
static int64_t count_nonfinite(const float *v, const int64_t read_dim[3], const lapse_box_t *core)
{
    int64_t n = 0;
    for (int64_t z = core->off[0]; z < core->off[0] + core->dim[0]; z++)
        for (int64_t y = core->off[1]; y < core->off[1] + core->dim[1]; y++) {
            const float *row = v + (z * read_dim[1] + y) * read_dim[2] + core->off[2];
            for (int64_t x = 0; x < core->dim[2]; x++) {
                uint32_t b;
                memcpy(&b, &row[x], sizeof b);
                n += (b & 0x7f800000u) == 0x7f800000u;
            }
        }
    return n;
}

/* One task of the loop: the task, its row, its staging slot and its start. */
typedef struct {
    lapse_task_t t;
    lapse_task_row_t row;
    int slot;
    double t0;
    int64_t clipped[LAPSE_MAX_STEPS + 1]; /* per output (lapse_pipeline_clipped) */
    int has_sum;  /* the centre tile's task: sum is its timepoint's input sum, taken after */
    uint64_t sum; /* its read (task_read) and recorded before its mark (task_mark) */
} flight_t;

/* The task whose data the background writer is writing (posted by task_finish, completed by
 * drain): a copy of its flight (its slot's outputs stay untouched until then) and when its
 * writes were handed over. */
struct worker_pending {
    int active;
    flight_t f;
    double t2;
    lapse_raw_seg_t *seg; /* segment buffer, reused */
    int cap;
};

/* Name the task in later error messages. */
static void task_context(const lapse_worker_t *w, const lapse_task_t *t)
{
    lapse_err_context("rank %d, task %lld (t=%lld, tile %lld)", w->r->rank, (long long)t->id,
                      (long long)t->t, (long long)t->tile);
}

/* Take task i on staging slot `slot`: fill its row's identity (status failed until it is done). */
/* Row of task t, as it starts: failed until it is done (t_start stays 0). */
static void row_init(const lapse_worker_t *w, const lapse_task_t *t, lapse_task_row_t *row)
{
    memset(row, 0, sizeof *row);
    row->run_id = w->run_id;
    row->task_id = t->id;
    row->timepoint = t->t;
    row->tile = t->tile;
    for (int a = 0; a < 3; a++) {
        row->core_offset[a] = t->core.off[a];
        row->core_shape[a] = t->core.dim[a];
    }
    row->rank = w->r->rank;
    snprintf(row->host, sizeof row->host, "%s", w->r->host);
    snprintf(row->device, sizeof row->device, "%s", w->cl->dev.name);
    row->status = LAPSE_ROW_FAILED;
}

static void task_begin(lapse_worker_t *w, flight_t *f, int64_t i, int slot)
{
    const lapse_task_t *t = &f->t;
    lapse_plan_task(w->plan, w->task0 + i, &f->t);
    f->slot = slot;
    f->has_sum = 0;
    f->t0 = MPI_Wtime();
    row_init(w, t, &f->row);
    f->row.t_start = f->t0 - w->t_loop;
    lapse_err_clear(); /* a task starts with no message: a stale one must not be blamed */
    task_context(w, t);
}

/* The first half of a task: read its input into its slot (host, HDF5) and count the
 * non-finite voxels; task_enqueue then enqueues its device work. */
static lapse_status_t task_read(lapse_worker_t *w, flight_t *f, cl_mem *from_out)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_job_t *job = w->job;
    const lapse_task_t *t = &f->t;
    lapse_task_row_t *row = &f->row;
    void *in = lapse_pipeline_input_slot(w->pipe, f->slot);

    /* The read and the enqueue make no MPI call: rank 0's server thread (if any) answers the
     * other ranks meanwhile. Away always ends before anything else can happen. */
    /* An integer input box the rounds of global steps kept on this device is not read again
     * (a float one is, to count its non-finite voxels); bytes_in then stays 0. */
    /* Nor is one whose pipeline state the rounds kept here (a checkpoint): the task resumes
     * from it (task_enqueue). */
    /* A task of a timepoint the rounds left out (on_error: skip) fails at once, as a read. */
    const char *why = NULL;
    const lapse_status_t fst = w->phases ? lapse_phases_failed(w->phases, t->t, &why) : LAPSE_OK;
    if (fst != LAPSE_OK)
        LAPSE_FAIL(fst,
                   "timepoint %lld was left out of the global steps, where a task of it "
                   "failed: %s",
                   (long long)t->t, why);
    cl_mem from =
        w->phases && job->in.dtype != LAPSE_DT_F32 ? lapse_phases_input(w->phases, t) : NULL;
    const int skip = job->in.dtype != LAPSE_DT_F32 &&
                     (from || (w->phases && lapse_phases_ckpt(w->phases, t, 0)));
    lapse_sched_away_begin(w->sched);
    lapse_status_t rst = skip ? LAPSE_OK : lapse_reader_read(w->in, t->t, &t->read, in);
    /* the centre tile's task takes its timepoint's input sum now (io/input_id.h): from the box
     * it read, or the rounds read, where that holds the sample box, else through the input's
     * cache, which holds what it read (the next task's read may replace it before the mark) */
    if (rst == LAPSE_OK && t->tile == w->sum_tile && lapse_h5out_has_input_sums(w->out)) {
        lapse_sample_t own = {0}; /* the task's own box, where it holds the whole sample */
        f->has_sum = skip ? lapse_phases_input_sum(w->phases, t->t, &f->sum)
                          : lapse_input_sample_take(&own, &job->in, &t->read, in, &f->sum);
        lapse_input_sample_free(&own);
        if (!f->has_sum) {
            rst = lapse_input_tp_sums(w->in, &job->in, &t->t, 1, &f->sum);
            f->has_sum = rst == LAPSE_OK;
        }
    }
    lapse_status_t ast = lapse_sched_away_end(w->sched);
    LAPSE_TRY(rst);
    LAPSE_TRY(ast);
    row->t_read = MPI_Wtime() - f->t0;
    if (!skip)
        row->bytes_in = lapse_box_voxels(&t->read) * (int64_t)lapse_dtype_size(job->in.dtype);
    /* the input voxels of the core; with geometric steps the core is in another image: all
     * the voxels read (neighbouring tasks may then count a voxel each) */
    lapse_box_t core_rel = t->core;
    for (int a = 0; a < 3; a++)
        core_rel.off[a] = t->core.off[a] - t->read.off[a];
    if (job->graph.transform)
        core_rel = (lapse_box_t){{0, 0, 0}, {t->read.dim[0], t->read.dim[1], t->read.dim[2]}};
    if (job->in.dtype == LAPSE_DT_F32) /* integer input cannot hold NaN or Inf */
        row->nonfinite = count_nonfinite(in, t->read.dim, &core_rel);
    LAPSE_TRY(lapse_sched_poll(w->sched)); /* rank 0 answers task requests between steps */
    if (lapse_stop_requested())
        LAPSE_TRY(lapse_interrupted());
    *from_out = from;
cleanup:
    return st;
}

/* The device work of task f read by task_read (from: its kept input box, or NULL), enqueued and
 * not waited for. */
static lapse_status_t task_enqueue(lapse_worker_t *w, flight_t *f, cl_mem from)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_task_t *t = &f->t;
    lapse_sched_away_begin(w->sched);
    lapse_fault_point("compute"); /* "compute~S": a slow compute step, for measurements */
    const lapse_pipe_ckpt_t *ck = NULL;
    if (w->phases) {
        lapse_phases_task(w->phases, t);
        ck = lapse_phases_ckpt(w->phases, t, 1);
    }
    lapse_status_t rst = ck ? lapse_pipeline_resume(w->pipe, f->slot, &t->read, &t->core, ck)
                            : lapse_pipeline_enqueue(w->pipe, f->slot, &t->read, &t->core, from);
    if (ck) /* used: its device memory goes back once the copies have run */
        lapse_phases_ckpt_release(w->phases, t);
    lapse_status_t ast = lapse_sched_away_end(w->sched);
    LAPSE_TRY(rst);
    LAPSE_TRY(ast);
cleanup:
    return st;
}

/* Both halves at once (the lockstep rounds, where no background writer runs). */
static lapse_status_t task_start(lapse_worker_t *w, flight_t *f)
{
    cl_mem from = NULL;
    lapse_status_t st = task_read(w, f, &from);
    return st == LAPSE_OK ? task_enqueue(w, f, from) : st;
}

/* Wait for the device work of task f (started by task_start); its times go to its row. */
static lapse_status_t task_wait(lapse_worker_t *w, flight_t *f)
{
    lapse_status_t st = LAPSE_OK;
    lapse_task_row_t *row = &f->row;
    task_context(w, &f->t);
    lapse_pipe_times_t pt = {0, 0, 0, 0};
    lapse_sched_away_begin(w->sched);
    lapse_status_t rst = lapse_pipeline_wait(w->pipe, f->slot, &pt);
    lapse_status_t ast = lapse_sched_away_end(w->sched);
    LAPSE_TRY(rst);
    LAPSE_TRY(ast);
    row->t_upload = pt.upload;
    row->t_compute = pt.compute;
    row->t_download = pt.download;
    row->t_wait = pt.wait;
    row->clipped = 0;
    for (int k = 0; k < w->job->nout; k++) {
        f->clipped[k] = lapse_pipeline_clipped(w->pipe, f->slot, k);
        row->clipped += f->clipped[k];
    }
    LAPSE_TRY(lapse_sched_poll(w->sched));
    /* no stop check here: a computed task is written and marked even when a stop signal came
     * (at most one write's time), so an interruption abandons only the task being read */
cleanup:
    return st;
}

/* The box of output k that task t writes: its core (one plane for a [t, y, x] dataset). */
static lapse_box_t out_box(const lapse_job_t *job, int k, const lapse_task_t *t)
{
    lapse_box_t box = t->core;
    if (job->out[k].ndims == 3) {
        box.off[0] = 0;
        box.dim[0] = 1;
    }
    return box;
}

/* The done mark of task f after its data (the data writes have returned: raw data goes straight
 * to the file, and a filtered dataset's chunk index was flushed), then its row is done. */
static lapse_status_t task_mark(lapse_worker_t *w, flight_t *f, double t2)
{
    lapse_status_t st = LAPSE_OK;
    lapse_fault_point("before-mark");
    /* The centre tile's task records its timepoint's input sum (io/input_id.h) before its mark,
     * so a timepoint done holds the sum of the data its results come from. */
    if (f->has_sum) {
        st = lapse_h5out_put_input_sums(w->out, &f->t.t, &f->sum, 1);
        if (st != LAPSE_OK)
            return lapse_fail_wrap(st, "recording the input sum of timepoint %lld in %s failed",
                                   (long long)f->t.t, w->job->cfg.output_file);
    }
    st = lapse_h5out_mark_done(w->out, f->t.t, f->t.tile);
    if (st != LAPSE_OK)
        return lapse_fail_wrap(st, "writing the done mark to %s failed", w->job->cfg.output_file);
    f->row.t_write += MPI_Wtime() - t2;
    f->row.status = LAPSE_ROW_DONE;
    for (int k = 0; k < w->job->nout; k++) {
        w->clipped[k] += f->clipped[k];
        w->clipped_tasks[k] += f->clipped[k] > 0;
    }
    lapse_fault_point("after-task");
    return LAPSE_OK;
}

/* Segments of one task's outputs at most (after merging; a ragged edge tile of small chunks
 * needs one per row and goes through HDF5 instead). */
#define RAW_MAX_SEG 4096

/* Hand task f's outputs to the background writer when every output takes raw segments
 * (h5out.h lapse_h5out_raw_segments): *posted = 1 and f becomes the pending task, marked by
 * drain. *posted = 0: nothing was posted, the caller writes through HDF5. */
static lapse_status_t post_raw(lapse_worker_t *w, flight_t *f, double t2, int *posted)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_job_t *job = w->job;
    struct worker_pending *p = w->pend;
    char what[192];
    int n = 0;
    *posted = 0;
    if (p == NULL)
        return LAPSE_OK;
    if (p->active)
        LAPSE_FAIL(LAPSE_ERUNTIME, "the writer still holds task %lld", (long long)p->f.t.id);
    for (int k = 0; k < job->nout; k++) {
        lapse_box_t box = out_box(job, k, &f->t);
        const void *data = lapse_pipeline_output_slot(w->pipe, f->slot, k);
        int ok = 0;
        LAPSE_TRY(lapse_h5out_raw_segments(w->out, k, f->t.t, &box, data, &p->seg, &n, &p->cap,
                                           RAW_MAX_SEG, &ok));
        if (!ok)
            return LAPSE_OK;
    }
    if (w->raw == NULL)
        LAPSE_TRY(lapse_raw_open(lapse_h5out_path(w->out), &w->raw));
    snprintf(what, sizeof what, "the outputs of task %lld (t=%lld, tile %lld)", (long long)f->t.id,
             (long long)f->t.t, (long long)f->t.tile);
    LAPSE_TRY(lapse_raw_post(w->raw, lapse_h5out_data_file(w->out, 0, f->t.t), p->seg, n, what));
    p->f = *f;
    p->t2 = t2;
    p->active = 1;
    *posted = 1;
cleanup:
    return st;
}

/* The second half of a task started by task_start: wait for its device work, then write each
 * output's core and its done mark, or hand the cores to the background writer (*posted = 1:
 * drain marks it). */
static lapse_status_t task_finish(lapse_worker_t *w, flight_t *f, int *posted)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_job_t *job = w->job;
    const lapse_task_t *t = &f->t;
    lapse_task_row_t *row = &f->row;
    *posted = 0;
    LAPSE_TRY(task_wait(w, f));

    double t2 = MPI_Wtime();
    for (int k = 0; k < job->nout; k++) {
        lapse_box_t box = out_box(job, k, t);
        row->bytes_out += lapse_box_voxels(&box) * (int64_t)lapse_dtype_size(job->out[k].dtype);
    }
    if (job->cfg.output_format != LAPSE_FMT_ZARR) {
        LAPSE_TRY(post_raw(w, f, t2, posted));
        if (*posted)
            goto cleanup;
    }
    for (int k = 0; k < job->nout; k++) {
        lapse_box_t box = out_box(job, k, t);
        const void *data = lapse_pipeline_output_slot(w->pipe, f->slot, k);
        if (job->cfg.output_format == LAPSE_FMT_ZARR) /* its chunk file, durable on return */
            st = lapse_zarr_write(job->cfg.output_file, &job->out[k], t->t, &box, data,
                                  job->cfg.compression, job->cfg.compression_level);
        else
            st = lapse_h5out_write(w->out, k, t->t, &box, data);
        if (st != LAPSE_OK) {
            st = lapse_fail_wrap(st, "writing the output %s:%s failed", job->cfg.output_file,
                                 job->out[k].path);
            goto cleanup;
        }
    }
    /* a done mark never exists without its data */
    st = task_mark(w, f, t2);
cleanup:
    return st;
}

/* Close task f's row after status st (its last phase). */
static void task_end(flight_t *f, lapse_status_t st)
{
    if (st == LAPSE_EINTERRUPTED)
        f->row.status = LAPSE_ROW_ABANDONED;
    f->row.t_total = MPI_Wtime() - f->t0;
}

int lapse_worker_overlap(void)
{
    const char *v = getenv("LAPSE_OVERLAP");
    return v == NULL || strcmp(v, "0") != 0;
}

static lapse_status_t push_row(lapse_worker_t *w, const lapse_task_row_t *row)
{
    if (w->nrows == w->caprows) {
        int64_t cap = w->caprows ? 2 * w->caprows : 64;
        lapse_task_row_t *n = realloc(w->rows, (size_t)cap * sizeof *n);
        if (!n)
            return lapse_fail(LAPSE_ENOMEM, "out of memory for task rows");
        w->rows = n;
        w->caprows = cap;
    }
    w->rows[w->nrows++] = *row;
    return LAPSE_OK;
}

int lapse_worker_task_failure(lapse_status_t st)
{
    return st == LAPSE_EREAD || st == LAPSE_ECL || st == LAPSE_ERUNTIME;
}

int lapse_worker_skippable(const lapse_worker_t *w, lapse_status_t st)
{
    return w->job->cfg.on_error == LAPSE_ON_ERROR_SKIP && lapse_worker_task_failure(st);
}

lapse_status_t lapse_worker_failed_row(lapse_worker_t *w, const lapse_task_t *t)
{
    lapse_task_row_t row;
    row_init(w, t, &row);
    return push_row(w, &row);
}

/* A task failed with tst (its row is kept): print the failure now, while the error context
 * still names the rank and the task. Returns LAPSE_OK when the run goes on without it
 * (on_error: skip, and a failure of reading its input or computing it: the output is intact),
 * else tst. */
static lapse_status_t task_failed(lapse_worker_t *w, lapse_status_t tst)
{
    if (tst != LAPSE_EINTERRUPTED || w->r->rank == 0)
        lapse_err_print(tst);
    lapse_err_context("rank %d", w->r->rank);
    if (!lapse_worker_skippable(w, tst))
        return tst;
    w->nfailed++;
    fprintf(stderr, "lapse: rank %d: task skipped (on_error: skip); it is recorded as failed\n",
            w->r->rank);
    fflush(stderr);
    return LAPSE_OK;
}

/* Rank 0: report progress from the scheduler's counters. */
static void report(lapse_worker_t *w, lapse_progress_t *pg, int force)
{
    int64_t done = 0, vox = 0, fin = 0;
    if (lapse_sched_counts(w->sched, &done, &vox, &fin) == LAPSE_OK)
        lapse_progress_update(pg, w->done0 + done, w->vox0 + vox, MPI_Wtime(), force);
}

/* A task in flight is given up, unfinished, because the loop stops (the cause already printed: a
 * signal, or another task's failure, whose own row says failed): wait for its device work (so
 * its slot is free), keep its row as abandoned (nothing went wrong with this task itself). */
static void abandon(lapse_worker_t *w, flight_t *f)
{
    lapse_pipeline_wait(w->pipe, f->slot, NULL); /* a failure here adds nothing to the stop's */
    f->row.status = LAPSE_ROW_ABANDONED;
    f->row.t_total = MPI_Wtime() - f->t0;
    push_row(w, &f->row);
}

/* Close task f after its last phase ended with tst: its row, a failure printed by
 * task_failed, the count. Returns LAPSE_OK when the loop may go on (also after a skipped task). */
static lapse_status_t finish_end(lapse_worker_t *w, flight_t *f, lapse_status_t tst,
                                 lapse_progress_t *pg)
{
    lapse_status_t st = LAPSE_OK;
    task_end(f, tst);
    lapse_status_t pst = push_row(w, &f->row);
    if (pst != LAPSE_OK && tst == LAPSE_OK)
        tst = pst;
    if (tst != LAPSE_OK && (st = task_failed(w, tst)) != LAPSE_OK)
        return st;
    if ((st = lapse_sched_done(w->sched, lapse_box_voxels(&f->t.core))) != LAPSE_OK) {
        lapse_err_print(st);
        return st;
    }
    if (w->r->rank == 0)
        report(w, pg, 0);
    return LAPSE_OK;
}

/* The pending task of the background writer (if any): wait for its writes, then its done mark,
 * row and count (finish_end). Returns LAPSE_OK when the loop may go on. */
static lapse_status_t drain(lapse_worker_t *w, lapse_progress_t *pg)
{
    struct worker_pending *p = w->pend;
    if (p == NULL || !p->active)
        return LAPSE_OK;
    p->active = 0;
    flight_t *f = &p->f;
    task_context(w, &f->t);
    double secs = 0;
    lapse_status_t tst = lapse_raw_wait(w->raw, &secs);
    if (tst != LAPSE_OK)
        tst = lapse_fail_wrap(tst, "writing the outputs of %s failed", w->job->cfg.output_file);
    else /* t_write: the writer's seconds and the mark's */
        tst = task_mark(w, f, MPI_Wtime() - secs);
    return finish_end(w, f, tst, pg);
}

/* Finish task f (task_finish) and count it, unless its outputs went to the background writer
 * (then drain does). Returns LAPSE_OK when the loop may go on (also after a skipped task). */
static lapse_status_t finish(lapse_worker_t *w, flight_t *f, lapse_progress_t *pg)
{
    int posted = 0;
    lapse_status_t dst = drain(w, pg); /* a task still with the writer (no read came between) */
    if (dst != LAPSE_OK) {             /* printed */
        abandon(w, f);
        return dst;
    }
    lapse_status_t tst = task_finish(w, f, &posted);
    if (tst == LAPSE_OK && posted)
        return LAPSE_OK;
    return finish_end(w, f, tst, pg);
}

/* The task in flight prev when the loop stops with why (printed): written and marked when the
 * stop is an interruption (it is computed), else abandoned. */
static void wind_down(lapse_worker_t *w, flight_t *prev, lapse_status_t why, lapse_progress_t *pg)
{
    if (prev == NULL)
        return;
    if (why == LAPSE_EINTERRUPTED)
        finish(w, prev, pg);
    else
        abandon(w, prev);
}

/* LAPSE_IO_STATS=1: print this rank's summed row times, its task loops' wall (every wave's), the
 * MPI-IO mode of its latest data write (H5Pget_mpio_actual_io_mode), and the waves with the
 * seconds between them (a wave's hand-out ended, the ranks agreed, the next scheduler made) to
 * stderr, one line (bench/gpu_io.sh). */
static void io_stats(const lapse_worker_t *w)
{
    const char *v = getenv("LAPSE_IO_STATS");
    if (v == NULL || strcmp(v, "1") != 0)
        return;
    double t[6] = {0, 0, 0, 0, 0, 0};
    for (int64_t i = 0; i < w->nrows; i++) {
        const lapse_task_row_t *r = &w->rows[i];
        double x[6] = {r->t_read, r->t_upload, r->t_compute, r->t_download, r->t_write, r->t_wait};
        for (int k = 0; k < 6; k++)
            t[k] += x[k];
    }
    static const char *const modes[] = {"no-collective", "chunk-independent", "chunk-collective",
                                        "chunk-mixed", "contiguous-collective"};
    int m = lapse_h5out_last_io_mode(w->out);
    const char *mode = m >= 0 && m <= 4 ? modes[m] : "no-write";
    fprintf(stderr,
            "lapse: io_stats rank=%d tasks=%lld wall=%.4f read=%.4f upload=%.4f compute=%.4f "
            "download=%.4f write=%.4f wait=%.4f io_mode=%s writes=%s overlap=%d waves=%lld "
            "between_waves=%.4f\n",
            w->r->rank, (long long)w->nrows, w->t_tasks, t[0], t[1], t[2], t[3], t[4], t[5], mode,
            lapse_h5out_collective(w->out) ? "collective"
            : w->raw                       ? "background" /* io/rawwrite.h: no HDF5 data write */
                                           : "independent",
            lapse_pipeline_slots(w->pipe) > 1, (long long)w->deal.nwaves, w->t_between);
    fflush(stderr);
}

/* Agree on a round of the lockstep loop: v[0] this rank may go on (no failure, no stop), v[1]
 * it has a task to write now, v[2] it has work after this round; on return v[0] is the minimum
 * over the ranks, v[1] and v[2] the maxima. While the reduction runs, rank 0 answers task
 * requests (a rank waiting for its next task must not wait for rank 0's reduction). */
static lapse_status_t agree_round(lapse_worker_t *w, int v[3])
{
    lapse_status_t st = LAPSE_OK;
    int in[3] = {v[0], -v[1], -v[2]}, out[3] = {0, 0, 0}, done = 0;
    MPI_Request rq;
    LAPSE_MPI(MPI_Iallreduce(in, out, 3, MPI_INT, MPI_MIN, w->r->world, &rq));
    for (;;) {
        LAPSE_MPI(MPI_Test(&rq, &done, MPI_STATUS_IGNORE));
        if (done)
            break;
        LAPSE_TRY(lapse_sched_poll(w->sched));
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
    v[0] = out[0];
    v[1] = -out[1];
    v[2] = -out[2];
cleanup:
    return st;
}

/* One collective write round: every output's core of task f (NULL: this rank writes nothing
 * this round, an empty selection), a flush of the file (the chunk index of a filtered dataset
 * is metadata: it reaches the file before any mark), then f's done mark. Collective. */
static lapse_status_t write_round(lapse_worker_t *w, flight_t *f)
{
    lapse_status_t st = LAPSE_OK, fst;
    const lapse_job_t *job = w->job;
    double t2 = MPI_Wtime();
    if (f)
        task_context(w, &f->t);
    for (int k = 0; k < job->nout; k++) {
        lapse_box_t box;
        if (f)
            box = out_box(job, k, &f->t);
        int mode = -1;
        lapse_status_t wst = LAPSE_OK;
        if (job->cfg.output_format == LAPSE_FMT_ZARR) /* the chunk file; no HDF5 data write */
            wst = f ? lapse_zarr_write(job->cfg.output_file, &job->out[k], f->t.t, &box,
                                       lapse_pipeline_output_slot(w->pipe, f->slot, k),
                                       job->cfg.compression, job->cfg.compression_level)
                    : LAPSE_OK;
        else
            wst = lapse_h5out_write_coll(w->out, k, f ? f->t.t : 0, f ? &box : NULL,
                                         f ? lapse_pipeline_output_slot(w->pipe, f->slot, k) : NULL,
                                         &mode);
        if (wst != LAPSE_OK && st == LAPSE_OK) /* the others still take part in the round */
            st = lapse_fail_wrap(wst, "writing the output %s:%s failed", job->cfg.output_file,
                                 job->out[k].path);
        if (f && wst == LAPSE_OK)
            f->row.bytes_out +=
                lapse_box_voxels(&box) * (int64_t)lapse_dtype_size(job->out[k].dtype);
    }
    if (lapse_h5out_filtered(w->out)) { /* unfiltered data needs no metadata change */
        /* every rank's writes and flush done before a mark: a write that failed on any rank
         * stops every rank's mark of this round */
        fst = lapse_h5out_flush_agreed(w->out, st);
        if (st == LAPSE_OK)
            st = fst;
    }
    if (st == LAPSE_OK && f)
        st = task_mark(w, f, t2);
    return st;
}

/* The task loop when the data writes are collective (output.compression, or
 * LAPSE_H5_WRITE=collective): rounds in lockstep over all ranks. In a round a rank takes, reads
 * and enqueues its next task (as the overlapped loop), waits for the previous one's device work,
 * then every rank agrees (agree_round) and takes part in one collective write per output (an
 * empty selection when it has no task to write), a flush, and marks its task done. A failure
 * or stop on one rank is seen by all at the next agreement: the tasks in flight are then given
 * up (abandoned rows) and the loop ends on every rank. */
static lapse_status_t work_lockstep(lapse_worker_t *w, lapse_progress_t *pg)
{
    lapse_status_t st = LAPSE_OK, mine = LAPSE_OK; /* mine: this rank's failure, printed */
    flight_t fl[LAPSE_PIPE_MAX_SLOTS], *prev = NULL;
    int nslots = lapse_pipeline_slots(w->pipe), next_slot = 0, more = 1;
    for (;;) {
        flight_t *cur = NULL;
        if (more && mine == LAPSE_OK) {
            int64_t i = 0;
            int have = 0;
            if (lapse_stop_requested()) {
                lapse_err_context("rank %d", w->r->rank);
                mine = lapse_interrupted();
                if (w->r->rank == 0)
                    lapse_err_print(mine);
            } else if ((mine = lapse_sched_next(w->sched, &i, &have)) != LAPSE_OK) {
                lapse_err_print(mine);
            } else if ((more = have) != 0) {
                cur = &fl[next_slot];
                task_begin(w, cur, i, next_slot);
                next_slot = (next_slot + 1) % nslots;
                lapse_status_t tst = task_start(w, cur);
                if (tst != LAPSE_OK) {
                    task_end(cur, tst);
                    lapse_status_t pst = push_row(w, &cur->row);
                    if ((mine = task_failed(w, tst)) == LAPSE_OK)
                        mine = pst;
                    if (mine == LAPSE_OK)
                        mine = lapse_sched_done(w->sched, lapse_box_voxels(&cur->t.core));
                    cur = NULL;
                }
            }
        }
        if (nslots == 1) { /* no overlap: this round writes the task just started */
            prev = cur;
            cur = NULL;
        }
        if (prev && mine == LAPSE_OK) {
            lapse_status_t tst = task_wait(w, prev);
            if (tst != LAPSE_OK) {
                task_end(prev, tst);
                lapse_status_t pst = push_row(w, &prev->row);
                if ((mine = task_failed(w, tst)) == LAPSE_OK)
                    mine = pst;
                prev = NULL;
            }
        }
        int v[3] = {mine == LAPSE_OK, prev != NULL, more || cur != NULL};
        if ((st = agree_round(w, v)) != LAPSE_OK) {
            lapse_err_print(st);
            break;
        }
        if (!v[0]) { /* some rank failed or was stopped: give up what is in flight */
            if (mine != LAPSE_OK)
                lapse_sched_abort(w->sched);
            if (prev && prev != cur)
                abandon(w, prev);
            if (cur)
                abandon(w, cur);
            st = mine;
            break;
        }
        if (v[1]) {
            lapse_status_t tst = write_round(w, prev);
            if (prev) {
                task_end(prev, tst);
                lapse_status_t pst = push_row(w, &prev->row);
                if (tst == LAPSE_OK)
                    tst = pst;
                if (tst != LAPSE_OK)
                    mine = task_failed(w, tst); /* not skippable: stops all next round */
                else if ((mine = lapse_sched_done(w->sched, lapse_box_voxels(&prev->t.core))) ==
                             LAPSE_OK &&
                         w->r->rank == 0)
                    report(w, pg, 0);
            }
        }
        prev = cur;
        if (!v[2]) { /* agreed: no rank has work left (a failure of this round is returned) */
            st = mine;
            break;
        }
    }
    return st;
}

/* The tasks of one wave (w->sched's: the plan's pending tasks w->task0 ...), one at a time:
 * with two staging slots (overlap), task i is read and enqueued while the device still runs
 * task i - 1; then task i - 1 is waited for and written while the device runs task i. HDF5 and
 * MPI stay on this thread. With one slot each task is finished before the next is taken.
 * Returns this rank's status, printed where it failed (unless LAPSE_EINTERRUPTED off rank 0). */
static lapse_status_t work_tasks(lapse_worker_t *w, lapse_progress_t *pg)
{
    lapse_status_t st = LAPSE_OK;
    flight_t fl[LAPSE_PIPE_MAX_SLOTS];
    flight_t *prev = NULL; /* started, not yet finished */
    int nslots = lapse_pipeline_slots(w->pipe), next_slot = 0, more = 1;
    for (;;) {
        flight_t *cur = NULL;
        if (more) {
            int64_t i = 0;
            int have = 0;
            if (lapse_stop_requested()) {
                wind_down(w, prev, LAPSE_EINTERRUPTED, pg);
                if ((st = drain(w, pg)) != LAPSE_OK) { /* printed */
                    lapse_sched_abort(w->sched);
                    goto printed;
                }
                lapse_err_context("rank %d", w->r->rank);
                st = lapse_interrupted();
                lapse_sched_abort(w->sched);
                goto cleanup;
            }
            if ((st = lapse_sched_next(w->sched, &i, &have)) != LAPSE_OK) {
                if (prev)
                    abandon(w, prev);
                drain(w, pg);
                goto cleanup;
            }
            more = have;
            if (have) {
                cur = &fl[next_slot];
                task_begin(w, cur, i, next_slot);
                next_slot = (next_slot + 1) % nslots;
                cl_mem from = NULL;
                lapse_status_t tst = task_read(w, cur, &from);
                /* the writer wrote the pending task during this read: its mark now, before this
                 * task's device work reuses that task's slot */
                if (tst == LAPSE_OK && (st = drain(w, pg)) != LAPSE_OK) { /* printed */
                    task_end(cur, st); /* the drained task failed, not this one */
                    cur->row.status = LAPSE_ROW_ABANDONED;
                    push_row(w, &cur->row);
                    wind_down(w, prev, st, pg);
                    lapse_sched_abort(w->sched);
                    goto printed;
                }
                if (tst == LAPSE_OK) {
                    task_context(w, &cur->t); /* drain named the task it marked */
                    tst = task_enqueue(w, cur, from);
                }
                if (tst != LAPSE_OK) {
                    task_end(cur, tst);
                    lapse_status_t pst = push_row(w, &cur->row);
                    if ((st = task_failed(w, tst)) == LAPSE_OK)
                        st = pst;
                    if (st != LAPSE_OK) {
                        wind_down(w, prev, st, pg);
                        drain(w, pg);
                        lapse_sched_abort(w->sched);
                        goto printed;
                    }
                    st = lapse_sched_done(w->sched, lapse_box_voxels(&cur->t.core)); /* skipped */
                    cur = NULL;
                    if (st != LAPSE_OK) {
                        if (prev)
                            abandon(w, prev);
                        drain(w, pg);
                        goto cleanup;
                    }
                }
            }
        }
        if (nslots == 1) { /* no overlap: finish the task now */
            prev = cur;
            cur = NULL;
        }
        if (prev && (st = finish(w, prev, pg)) != LAPSE_OK) {
            if (cur)
                abandon(w, cur);
            drain(w, pg);
            lapse_sched_abort(w->sched);
            goto printed;
        }
        prev = cur;
        if (!more && !prev)
            break;
    }
    if ((st = drain(w, pg)) != LAPSE_OK) { /* the last task's writes; printed */
        lapse_sched_abort(w->sched);
        goto printed;
    }
cleanup:
    lapse_err_context("rank %d", w->r->rank);
    if (st != LAPSE_OK && (st != LAPSE_EINTERRUPTED || w->r->rank == 0))
        lapse_err_print(st);
printed:;
    lapse_status_t dst = drain(w, pg); /* none is pending on any path above: a safety net */
    return st == LAPSE_OK ? dst : st;
}

/* Collective: the end of a wave's hand-out: this rank takes no more tasks of w->sched; rank 0
 * waits for every rank to finish it, reporting progress, and adds its counts to the run's
 * (w->done0, w->vox0). Returns st, or when st is LAPSE_OK a failure of the scheduler. */
static lapse_status_t wave_end(lapse_worker_t *w, lapse_progress_t *pg, lapse_status_t st)
{
    lapse_status_t fst = lapse_sched_finish(w->sched);
    if (st == LAPSE_OK)
        st = fst;
    if (w->r->rank == 0) {
        int64_t done = 0, vox = 0, fin = 0;
        while (lapse_sched_counts(w->sched, &done, &vox, &fin) == LAPSE_OK && fin < w->r->nranks) {
            lapse_progress_update(pg, w->done0 + done, w->vox0 + vox, MPI_Wtime(), 0);
            if (lapse_sched_wait(w->sched, 0.02) != LAPSE_OK) /* serves the others meanwhile */
                break;
        }
        w->done0 += done;
        w->vox0 += vox;
    }
    return st;
}

/* Collective: replace the scheduler of the wave before (w->sched) by one of wave v's tasks, of
 * the kind that ran (rma's fallback to dynamic is not tried again). Agreed. */
static lapse_status_t next_wave_sched(lapse_worker_t *w, int64_t v)
{
    const lapse_sched_t kind = lapse_sched_kind(w->sched);
    lapse_status_t st = lapse_sched_destroy(w->sched);
    w->sched = NULL;
    if (st != LAPSE_OK)
        lapse_err_print(st);
    LAPSE_TRY(lapse_agree(w->r->world, st));
    w->task0 = w->deal.wave_end[v - 1];
    st = lapse_sched_create(w->r->world, kind, w->deal.wave_end[v] - w->task0,
                            w->deal.rank + w->task0,
                            w->deal.group ? w->deal.group + w->task0 : NULL, &w->sched);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    st = lapse_agree(w->r->world, st);
cleanup:
    return st;
}

/* Rank 0's progress during the rounds (lapse_phases_on_round's callback). */
typedef struct {
    lapse_progress_t *pg;
    const lapse_worker_t *w;
    int64_t wave; /* 0-based */
} round_tick_t;

static void on_round(void *ctx, int64_t round, const char *step)
{
    const round_tick_t *rt = ctx;
    lapse_progress_round(rt->pg, rt->wave + 1, round, step, rt->w->done0, MPI_Wtime());
}

lapse_status_t lapse_worker_work(lapse_worker_t *w)
{
    lapse_status_t st = LAPSE_OK;
    lapse_progress_t pg;
    round_tick_t tick = {&pg, w, 0};
    const int rounds = lapse_phases_rounds(w->job, w->plan);
    if (w->r->rank == 0) {
        lapse_progress_init(&pg, stderr, w->plan->ntasks, MPI_Wtime());
        lapse_progress_waves(&pg, rounds ? w->deal.nwaves : 0);
        lapse_progress_pause(&pg, MPI_Wtime()); /* the global steps' set-up is no task's */
    }
    /* Global steps: set up (collective; printed by the ranks that failed) */
    if ((st = lapse_phases_prepare(w, &w->phases)) != LAPSE_OK) {
        lapse_sched_abort(w->sched);
        st = wave_end(w, &pg, st);
        goto done;
    }
    /* The background writer: with overlap, for an HDF5 output (unless LAPSE_RAW_WRITE=0). */
    const char *rw = getenv("LAPSE_RAW_WRITE");
    const int collective = lapse_h5out_collective(w->out);
    if (!collective && lapse_pipeline_slots(w->pipe) >= 2 &&
        w->job->cfg.output_format != LAPSE_FMT_ZARR && !(rw && strcmp(rw, "0") == 0)) {
        w->pend = calloc(1, sizeof *w->pend);
        if (w->pend == NULL)
            st = lapse_fail(LAPSE_ENOMEM, "out of memory for the output writer");
        if (st != LAPSE_OK)
            lapse_err_print(st);
    }
    st = lapse_agree(w->r->world, st); /* the rounds are collective */
    if (w->r->rank == 0)
        lapse_phases_on_round(w->phases, on_round, &tick);
    /* The waves (exec/deal.h), each its rounds of global steps (collective: the results of its
     * timepoints), then its tasks: a later wave's interruption leaves the earlier done. The
     * driver made the scheduler of wave 0. */
    for (int64_t v = 0; v < w->deal.nwaves; v++) {
        const double tn = MPI_Wtime();
        tick.wave = v;
        if (w->r->rank == 0) /* the time to the wave's task loop is no task's (the ETA) */
            lapse_progress_pause(&pg, tn);
        if (st == LAPSE_OK && v > 0 && (st = next_wave_sched(w, v)) != LAPSE_OK)
            break; /* agreed, printed: no scheduler is left */
        w->t_between += MPI_Wtime() - tn;
        if (st == LAPSE_OK)
            st = lapse_phases_run_wave(w->phases, w->task0, w->deal.wave_end[v],
                                       v == w->deal.nwaves - 1);
        const double t0 = MPI_Wtime();
        if (w->r->rank == 0)
            lapse_progress_resume(&pg, t0, rounds);
        if (st == LAPSE_OK) {
            w->t_loop = t0 - w->t_tasks; /* rows' t_start: seconds of task loops before them */
            /* (they tell the others through the scheduler when they stop early) */
            st = collective ? work_lockstep(w, &pg) : work_tasks(w, &pg);
        } else {
            lapse_sched_abort(w->sched);
        }
        const double t1 = MPI_Wtime();
        w->t_tasks += t1 - t0;
        st = wave_end(w, &pg, st);
        /* every rank goes on, or none (a failure is printed); a rank that did not fail keeps its
         * own status, as without waves (run.c agrees) */
        if (v + 1 < w->deal.nwaves && lapse_agree(w->r->world, st) != LAPSE_OK)
            break;
        w->t_between += MPI_Wtime() - t1;
    }
    lapse_phases_report(w->phases); /* the rounds' line, where the waves ended early */
    if (st == LAPSE_OK)
        io_stats(w);
done:
    if (st == LAPSE_OK && w->nfailed > 0)
        st = lapse_fail(LAPSE_ESKIPPED, "%lld task(s) failed on rank %d and were skipped",
                        (long long)w->nfailed, w->r->rank);
    if (w->r->rank == 0) /* once: not after a line of done */
        lapse_progress_finish(&pg, w->done0, w->vox0, MPI_Wtime());
    return st;
}

lapse_status_t lapse_worker_open(lapse_worker_t *w, lapse_cl_t *cl)
{
    const lapse_config_t *cfg = &w->job->cfg;
    w->sum_tile = lapse_plan_centre_tile(w->plan);
    lapse_status_t st = lapse_reader_open(cfg->input_file, cfg->input_dataset, &w->in);
    if (st == LAPSE_OK)
        st = lapse_pipeline_create(cl, &w->job->graph, w->plan->max_read_voxels,
                                   w->plan->max_core_voxels, &w->pipe);
    if (st == LAPSE_OK && lapse_worker_overlap())
        st = lapse_pipeline_set_slots(w->pipe, 2);
    /* A config error here is a custom kernel that does not build or fails its reach test
     * (src/ops/op_custom.c): the same message on every
     * rank of a kind of device, so only the first rank that has it prints it (with the config's
     * file:line:column and the build log instead of a rank context). */
    int mine = st == LAPSE_ECONFIG ? w->r->rank : INT_MAX, first = mine;
    if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, w->r->world) != MPI_SUCCESS)
        first = mine;
    if (st == LAPSE_ECONFIG && first == w->r->rank)
        lapse_err_context("%s", "");
    if (st != LAPSE_OK && (st != LAPSE_ECONFIG || first == w->r->rank))
        lapse_err_print(st);
    else
        lapse_err_clear(); /* printed by the first rank */
    lapse_err_context("rank %d", w->r->rank);
    return lapse_agree(w->r->world, st);
}

lapse_status_t lapse_worker_close(lapse_worker_t *w, lapse_status_t st)
{
    if (w->sched) {
        lapse_status_t dst = lapse_sched_destroy(w->sched);
        if (st == LAPSE_OK)
            st = dst;
    }
    if (w->out) {
        lapse_status_t cst = lapse_h5out_close(w->out);
        if (st == LAPSE_OK)
            st = cst;
    }
    {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "lapse: rank %d profile: ", w->r->rank);
        lapse_pipeline_profile(w->pipe, stderr, prefix);
    }
    lapse_raw_close(w->raw); /* idle: the loop drained it */
    if (w->pend)
        free(w->pend->seg);
    free(w->pend);
    lapse_pipeline_destroy(w->pipe);
    lapse_phases_free(w->phases);
    lapse_reader_close(w->in);
    free(w->rows);
    lapse_deal_free(&w->deal);
    return st;
}
