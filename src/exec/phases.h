/*
 * phases.h - per-timepoint reductions of global steps (op.h, lapse_global_t) when the plan cuts
 * a timepoint into several tiles.
 *
 * Before the tasks run, one round per pass of every global step (in graph order): each tile of
 * every timepoint that has a pending task runs the pipeline up to the global step (earlier
 * global steps applied with their known results) and computes its partial on the device; the
 * partials of all ranks are exchanged (MPI_Allgatherv) and every rank reduces each timepoint's
 * partials in tile order, so every rank holds the same result. Tiles are dealt to ranks as
 * their tasks are (exec/deal.h: round-robin, or timepoints per rank for a compressed input,
 * dealt wave by wave so that every rank has tiles in each wave); a round ends for all ranks
 * together (the idle time at its end is measured). The rounds go in waves of timepoints (as
 * many as keep a round's partials within LAPSE_PHASE_MEM); after each wave's rounds its
 * ordinary tasks run (exec/worker.c), and each applies its timepoint's results at the global
 * steps, so the timepoints of a finished wave are done (marked) before the next wave starts. When a
 * timepoint is one task (one tile), nothing is exchanged: the task runs its global steps whole on
 * the device (ops/global.h), and the results are only recorded.
 */
#ifndef LAPSE_EXEC_PHASES_H
#define LAPSE_EXEC_PHASES_H

#include "exec/worker.h"

typedef struct lapse_phases lapse_phases_t;

/* 1 when the job's graph has a global step. */
int lapse_phases_needed(const lapse_job_t *job);

/* Timepoints per wave of the rounds for plan (its tile shape and tiles per timepoint) on
 * nranks ranks: the partials of one round of a wave (held on every rank, and sent in one
 * MPI_Allgatherv) stay within LAPSE_PHASE_MEM bytes (default 512 MiB), estimating a tile's
 * partial as its six faces of 8-byte values (labels) plus 64 KiB; and a wave holds at most
 * LAPSE_WAVE_TIMEPOINTS timepoints (default 4 per rank, at least 8, or as many as hold 64 MiB
 * of float32 voxels where that is more), since a run stopped or
 * killed in a wave redoes that wave. At least 1. */
int64_t lapse_phases_wave(const lapse_plan_t *plan, int nranks);

/* 1 when the tasks of job's plan need rounds of global steps before them (lapse_phases_run_wave
 * does something): a global step, and several tiles per timepoint or a table (written before
 * the tasks mark their timepoints done). */
int lapse_phases_rounds(const lapse_job_t *job, const lapse_plan_t *plan);

/* Bytes of host memory a rank may keep between the rounds of global steps (input boxes, tile
 * data, the growth's state): LAPSE_PHASE_CACHE, else a quarter of the memory the process may
 * use (lapse_hostmem_limit: the host's or its cgroup's) shared by the local_ranks ranks on the
 * host (every rank keeps its own). */
size_t lapse_phases_host_budget(int local_ranks);

/* Collective over w->r->world. When the graph has global steps: set up *out (owned by the
 * caller, lapse_phases_free; NULL when there are none) and install the pipeline's global
 * callback (w->pipe) that the tasks use. The results come wave by wave, from
 * lapse_phases_run_wave. A rank that fails prints its message; every rank returns the agreed
 * status. */
lapse_status_t lapse_phases_prepare(lapse_worker_t *w, lapse_phases_t **out);

/* Collective over ph->w->r->world: compute the results of every global step for the timepoints
 * of the pending tasks lo .. hi - 1 of the plan (one wave, exec/deal.h, whole timepoints), by
 * rounds where they are tiled, and write their tables' rows; then the tasks of the wave apply
 * them. Call it for each wave in order, each after the tasks of the one before are done (what
 * the earlier wave kept, its input boxes, checkpoints, tile data and results, is released
 * here). last 1: the run's last wave (rank 0 then prints the rounds' line). ph NULL, or no
 * rounds needed (timepoints held whole, no table): nothing. A rank that fails prints its
 * message; every rank returns the agreed status. With on_error: skip, a timepoint one of whose
 * tasks fails in the rounds (lapse_worker_skippable) is left out: the wave's rounds run again
 * from the start without it (their state is cleared), and lapse_phases_failed names it to the
 * tasks. */
lapse_status_t lapse_phases_run_wave(lapse_phases_t *ph, int64_t lo, int64_t hi, int last);

/* Collective over ph->w->r->world, after the waves: when some wave's rounds ran but the line
 * of the rounds was not printed (the run ended before or in its last wave: a failure or a stop),
 * rank 0 prints it now, saying so (and, with LAPSE_PROFILE=1, every rank its profile). Every
 * rank must call it at the same point; ph NULL: nothing. */
void lapse_phases_report(lapse_phases_t *ph);

/* Whether the rounds left timepoint t out (on_error: skip, and one of its tasks failed to read
 * its input or to compute there: lapse_worker_skippable): then *why is that failure's message,
 * as the rank that saw it printed it, and its status is returned; else LAPSE_OK. A task of
 * such a timepoint cannot run (the results of its global steps are missing): it fails. */
lapse_status_t lapse_phases_failed(const lapse_phases_t *ph, int64_t t, const char **why);

/* Called as each round of a wave's global steps begins: round (1-based, of the wave) of the
 * step whose operation is named step. */
typedef void (*lapse_phases_round_fn)(void *ctx, int64_t round, const char *step);

/* Have fn(ctx, ...) called as each round begins (rank 0's progress report); NULL: none. */
void lapse_phases_on_round(lapse_phases_t *ph, lapse_phases_round_fn fn, void *ctx);

/* Tell the callback which task the next lapse_pipeline_run is for. */
void lapse_phases_task(lapse_phases_t *ph, const lapse_task_t *t);

/* Release; NULL is accepted. */
void lapse_phases_free(lapse_phases_t *ph);

/* Timepoint t's input sum (io/input_id.h) as this rank's rounds took it from the boxes they
 * read: 1 with *sum set, else 0 (ph NULL, or the sample box did not come whole in this rank's
 * boxes). The task of that tile may record it instead of reading again; counted
 * for LAPSE_PROFILE=1. */
int lapse_phases_input_sum(lapse_phases_t *ph, int64_t t, uint64_t *sum);

/* The input read box of task t kept on this rank's device by the rounds (the input dtype, as
 * lapse_pipeline_run_dev takes it), or NULL: the task may run from it instead of reading. */
cl_mem lapse_phases_input(lapse_phases_t *ph, const lapse_task_t *t);

/* The checkpoint the rounds kept on this rank's device for task t (pipeline.h: its state before
 * a global step), or NULL: the task may resume from it (lapse_pipeline_resume) instead of
 * running from its input; resume 1: it will (counted for LAPSE_PROFILE=1's line). Valid until
 * lapse_phases_free. */
const lapse_pipe_ckpt_t *lapse_phases_ckpt(lapse_phases_t *ph, const lapse_task_t *t, int resume);

/* Release task t's checkpoint (its task has resumed from it: the copies already enqueued still
 * run); nothing when it has none. */
void lapse_phases_ckpt_release(lapse_phases_t *ph, const lapse_task_t *t);

#endif
