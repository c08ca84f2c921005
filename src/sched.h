/*
 * sched.h - handing out tasks to ranks, and the shared counters behind progress reports.
 *
 * A small MPI-3 window on rank 0 holds: the next task index (dynamic scheduling), tasks done,
 * voxels done, ranks finished, and an abort flag. Dynamic: every rank, rank 0 included, takes
 * the next task with an atomic fetch-and-add when it is free. Static: block-cyclic with block 1
 * (task i goes to rank i mod nranks). Both give identical output, because a task's result does
 * not depend on which rank computes it.
 */
#ifndef LAPSE_SCHED_H
#define LAPSE_SCHED_H

#include <mpi.h>
#include <stdint.h>

#include "config.h"
#include "status.h"

typedef struct lapse_scheduler lapse_scheduler_t;

/* Collective: create the scheduler for ntasks tasks. *out set only on success. */
lapse_status_t lapse_sched_create(MPI_Comm comm, lapse_sched_t kind, int64_t ntasks,
                                  lapse_scheduler_t **out);

/* This rank's next task: *have = 1 and *task set, or *have = 0 when no task is left for it or
 * another rank aborted. */
lapse_status_t lapse_sched_next(lapse_scheduler_t *s, int64_t *task, int *have);

/* Count one finished task of voxels core voxels. */
lapse_status_t lapse_sched_done(lapse_scheduler_t *s, int64_t voxels);

/* Ask every rank to stop taking tasks (after a failure). */
lapse_status_t lapse_sched_abort(lapse_scheduler_t *s);

/* This rank takes no more tasks (counted in *finished of lapse_sched_counts). */
lapse_status_t lapse_sched_finish(lapse_scheduler_t *s);

/* Read the shared counters (any rank): tasks done, their core voxels, and ranks that called
 * lapse_sched_finish. On failure (LAPSE_EMPI) the outputs may be partly set. */
lapse_status_t lapse_sched_counts(lapse_scheduler_t *s, int64_t *done, int64_t *voxels,
                                  int64_t *finished);

/* Collective: free the window; NULL is accepted (then not collective). */
lapse_status_t lapse_sched_destroy(lapse_scheduler_t *s);

#endif
