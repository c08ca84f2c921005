/*
 * deal.h - which rank's share each pending task of a run is in. The scheduler's shares
 * (exec/sched.h: static's tasks of a rank, dynamic's own share before it steals) and the rounds
 * of global steps (exec/phases.c: which rank runs which tile) follow one deal, so that a task
 * runs where its rounds kept its input box and checkpoint.
 *
 * Tasks are dealt round-robin (pending task q to rank q mod nranks), unless timepoints per rank
 * pay: a compressed (chunked, filtered) input, whose reads decode whole chunks and keep a
 * timepoint's in a chunk cache (docs/io.md), cut into several tiles per timepoint. Its chunks
 * then usually span tiles, and round-robin tasks make every rank decode every timepoint's
 * chunks. Timepoints per rank deal the pending timepoints in waves (the rounds' waves of
 * global steps, exec/phases.h, else all of them at once): of a wave's E timepoints, the first
 * E - E mod nranks whole, cyclic over the ranks (cyclic over time, so that the load stays spread
 * when later timepoints cost more), and each of the last E mod nranks cut into b blocks of
 * consecutive tiles (b = nranks / gcd(E mod nranks, nranks), at most its pending tiles), dealt
 * cyclic on, so that every rank gets the same share of each wave: no rank idles in a wave's
 * rounds, and a timepoint is decoded by one rank, or by its blocks' ranks where the wave has
 * fewer timepoints than the ranks could take whole. A block is a group for dynamic's steals.
 * LAPSE_DEAL (tasks, timepoints, or whole: timepoints never cut, for benchmarks) overrides the
 * rule. Results never depend on the deal.
 */
#ifndef LAPSE_EXEC_DEAL_H
#define LAPSE_EXEC_DEAL_H

#include "io/reader.h"
#include "plan.h"
#include "status.h"

typedef enum { LAPSE_DEAL_TASKS, LAPSE_DEAL_TIMEPOINTS, LAPSE_DEAL_WHOLE } lapse_deal_kind_t;

/* A deal of a plan's pending tasks. */
typedef struct {
    lapse_deal_kind_t kind;
    int *rank;      /* the rank of each pending task (plan->ntasks entries, plan order) */
    int64_t *group; /* its group (a whole timepoint or a block), NULL for tasks round-robin */
    int64_t ncut;   /* timepoints cut into blocks */
    /* The waves (the rounds' waves of global steps, else one): wave v is the pending tasks
     * wave_end[v - 1] .. wave_end[v] - 1 (wave_end[-1] read as 0), whole timepoints each. A run
     * takes its waves one after the other: the rounds of a wave, then its tasks (exec/worker.h),
     * so that a finished wave's timepoints are done when a later one is interrupted. */
    int64_t nwaves;
    int64_t *wave_end;
} lapse_deal_t;

/* The kind of deal for a run of plan on nranks ranks reading an input described by in (the
 * same on every rank: job->in as rank 0 probed it), by the rule above or LAPSE_DEAL (its form
 * is checked by src/env.c). */
lapse_deal_kind_t lapse_deal_choose(const lapse_input_info_t *in, const lapse_plan_t *plan,
                                    int nranks);

/* A name for messages: "tasks round-robin" or "whole timepoints". */
const char *lapse_deal_name(lapse_deal_kind_t kind);

/* Deal the plan's pending tasks to nranks ranks by kind into *d (freed by lapse_deal_free),
 * where the rounds of global steps take wave timepoints at a time (0: there are no rounds; the
 * timepoints form one wave), and cut them into those waves (d->wave_end; at least one wave,
 * empty when the plan has no pending task). The same on every rank for the same arguments.
 * LAPSE_ENOMEM on failure (*d then holds nothing). */
lapse_status_t lapse_deal_make(const lapse_plan_t *plan, int nranks, lapse_deal_kind_t kind,
                               int64_t wave, lapse_deal_t *d);

/* Release what d holds (and zero it); a zeroed deal is accepted. */
void lapse_deal_free(lapse_deal_t *d);

#endif
