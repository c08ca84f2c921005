/*
 * worker.h - phase 5 of a run on one rank: the input, the pipeline on the device, and the loop
 * that takes tasks from the scheduler and runs each one (read, pipeline, write, mark done).
 *
 * A task's row (timings, bytes, status) is kept for /lapse/tasks, also for a failed or
 * interrupted task. With overlap (the default; LAPSE_OVERLAP=0 turns it off) the device runs
 * task i while the rank reads task i+1 and writes task i-1 (for an unfiltered HDF5 output the
 * data of task i-1 is written by a background thread during the read of task i+1, its done mark
 * after that, before task i+1's device work reuses its slot), so a row's times overlap other
 * rows': t_read and t_write are the host's seconds in the reader and in the data writes plus
 * the done mark; t_upload, t_compute and t_download are device seconds from the queue's event
 * profiling (pipeline.h); t_wait the host's seconds blocked waiting for the task's device work;
 * t_start the start of its read from the start of the loop, t_total the span from there to its
 * done mark (it contains other tasks' work). Device busy = sum of the device seconds / wall. Rank 0
 * also reports progress from the scheduler's shared counters. The output (h5out.h) and the
 * scheduler are opened by the driver (run.c) and only used here.
 */
#ifndef LAPSE_EXEC_WORKER_H
#define LAPSE_EXEC_WORKER_H

#include <stdint.h>

#include "clrt.h"
#include "exec/deal.h"
#include "exec/job.h"
#include "exec/ranks.h"
#include "exec/sched.h"
#include "io/reader.h"
#include "h5out.h"
#include "pipeline.h"
#include "plan.h"

/* What one rank holds while it runs tasks. Zero it, then set r, job, plan and cl. */
typedef struct {
    const lapse_ranks_t *r;
    const lapse_job_t *job;
    const lapse_plan_t *plan;
    const lapse_cl_t *cl;
    lapse_reader_t *in;       /* lapse_worker_open */
    int64_t sum_tile;         /* lapse_worker_open: lapse_plan_centre_tile */
    lapse_h5out_t *out;       /* set by the driver */
    lapse_pipeline_t *pipe;   /* lapse_worker_open */
    lapse_scheduler_t *sched; /* set by the driver */
    /* The rank of each pending task's share and how it was dealt (exec/deal.h; owned), set by
     * the driver before the scheduler. */
    lapse_deal_t deal;
    int64_t run_id;         /* set by the driver */
    lapse_task_row_t *rows; /* this rank's task rows (owned) */
    int64_t nrows, caprows;
    int64_t nfailed; /* tasks of this rank that failed and were skipped (on_error: skip) */
    /* Per output: voxels its dtype could not hold (lapse_pipeline_clipped) in this rank's done
     * tasks of this run. */
    int64_t clipped[LAPSE_MAX_STEPS + 1];
    int64_t clipped_tasks[LAPSE_MAX_STEPS + 1]; /* and the done tasks that had any */
    struct lapse_phases *phases;  /* results of global steps (exec/phases.h), or NULL */
    unsigned long long dev_share; /* device bytes this rank may use (exec/sizing.h share) */
    double t_loop; /* MPI_Wtime at the start of the task loop, less the earlier waves' loops
                    * (a row's t_start counts the seconds of task loops before it) */
    /* The wave running (exec/deal.h): its first pending task (w->sched hands out its tasks
     * from 0), and on rank 0 the tasks and core voxels the earlier waves' schedulers counted. */
    int64_t task0, done0, vox0;
    double t_tasks, t_between; /* seconds in the waves' task loops, and between the waves */
    /* The background writer (io/rawwrite.h) of an unfiltered HDF5 output and the task whose
     * data it is writing (worker.c; NULL: none yet). LAPSE_RAW_WRITE=0 keeps every data write on
     * the main thread (HDF5). */
    struct lapse_raw *raw;
    struct worker_pending *pend;
} lapse_worker_t;

/* 1 unless LAPSE_OVERLAP=0: the task loop overlaps a task's device work with the reading of
 * the next task and the writing of the previous one (two staging slots). */
int lapse_worker_overlap(void);

/* Collective over w->r->world. Open the input (w->in) and build the pipeline for the plan's
 * largest task on device cl (w->pipe) on every rank; a rank that fails prints its own
 * message. Returns the status agreed by all ranks; on failure what was opened stays in *w for
 * lapse_worker_close. */
lapse_status_t lapse_worker_open(lapse_worker_t *w, lapse_cl_t *cl);

/* Collective. The run's waves (w->deal: the rounds' waves of global steps, else one), each in
 * turn: its rounds of global steps (exec/phases.h), then its tasks, taken from the scheduler
 * (the driver's w->sched for wave 0, a new one for each later wave) and run until none is
 * left, a task fails or a stop signal arrives (then the other ranks are told through the
 * scheduler); then (rank 0) wait for every rank to finish the wave, reporting progress. The
 * ranks agree between waves, so a failure or stop in one wave ends the run after it on every
 * rank, with the earlier waves' tasks done. A failure is printed here by the rank that saw it,
 * naming the rank and the task (an interruption by rank 0 only). With on_error: skip, a task
 * whose input read or computation failed (LAPSE_EREAD, LAPSE_ECL, LAPSE_ERUNTIME) is printed,
 * kept as a failed row and counted in w->nfailed, and the run goes on; the status is then
 * LAPSE_ESKIPPED. Returns this rank's own status (not agreed: a rank whose run another rank's
 * failure cut short returns LAPSE_OK). */
lapse_status_t lapse_worker_work(lapse_worker_t *w);

/* Whether st, the status of a failed task, is the task's own failure: of reading its input or
 * computing it (LAPSE_EREAD, LAPSE_ECL, LAPSE_ERUNTIME), not of writing the output or of MPI. */
int lapse_worker_task_failure(lapse_status_t st);

/* Whether a task's failure st lets the run go on without the task (on_error: skip, and
 * lapse_worker_task_failure). The task loop and the rounds of global steps (exec/phases.c) skip
 * by this one rule. */
int lapse_worker_skippable(const lapse_worker_t *w, lapse_status_t st);

/* Keep a failed row for task t, which failed before the task loop (in the rounds of global
 * steps, on_error: stop): it is written with the others when the run ends. */
lapse_status_t lapse_worker_failed_row(lapse_worker_t *w, const lapse_task_t *t);

/* Collective where w->sched or w->out is set (their destruction is). Release everything *w
 * holds; returns st, or when st is LAPSE_OK the first failure of the scheduler or output
 * close. */
lapse_status_t lapse_worker_close(lapse_worker_t *w, lapse_status_t st);

#endif
