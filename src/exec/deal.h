/*
 * deal.h - which rank's share each pending task of a run is in. The scheduler's shares
 * (exec/sched.h: static's tasks of a rank, dynamic's own share before it steals) and the rounds
 * of global steps (exec/phases.c: which rank runs which tile) follow one deal, so that a task
 * runs where its rounds kept its input box and checkpoint.
 *
 * Tasks are dealt round-robin (pending task q to rank q mod nranks), unless whole timepoints
 * pay: a compressed (chunked, filtered) HDF5 input, whose reads decode whole chunks and keep a
 * timepoint's in a chunk cache (io/reader_h5.c, docs/io.md), cut into several tiles per
 * timepoint. Its chunks then usually span tiles, and round-robin tasks make every rank decode every
 * timepoint's chunks; with whole timepoints per rank (the j-th timepoint that has a pending task to
 * rank j mod nranks: cyclic over time, so that the load stays spread when later timepoints cost
 * more) each chunk is decoded once. Where fewer timepoints than ranks have pending tasks, tasks are
 * dealt round-robin still. LAPSE_DEAL (tasks or timepoints) overrides the rule. Results never
 * depend on the deal.
 */
#ifndef LAPSE_EXEC_DEAL_H
#define LAPSE_EXEC_DEAL_H

#include "io/reader.h"
#include "plan.h"
#include "status.h"

typedef enum { LAPSE_DEAL_TASKS, LAPSE_DEAL_TIMEPOINTS } lapse_deal_kind_t;

/* The deal for a run of plan on nranks ranks reading an input described by in (the same on
 * every rank: job->in as rank 0 probed it), by the rule above or LAPSE_DEAL (its form is checked
 * by src/env.c). */
lapse_deal_kind_t lapse_deal_choose(const lapse_input_info_t *in, const lapse_plan_t *plan,
                                    int nranks);

/* A name for messages: "tasks round-robin" or "whole timepoints". */
const char *lapse_deal_name(lapse_deal_kind_t kind);

/* The rank of each of the plan's pending tasks (plan->ntasks entries, in plan order, into a new
 * array *deal that the caller frees): by kind, as the header says. LAPSE_ENOMEM on failure
 * (*deal NULL). */
lapse_status_t lapse_deal_make(const lapse_plan_t *plan, int nranks, lapse_deal_kind_t kind,
                               int **deal);

/* The group of each of the plan's pending tasks for the scheduler (exec/sched.h): its
 * timepoint's index under whole timepoints per rank, into a new array *group the caller frees;
 * *group NULL for tasks round-robin (no groups). LAPSE_ENOMEM on failure. */
lapse_status_t lapse_deal_groups(const lapse_plan_t *plan, lapse_deal_kind_t kind, int64_t **group);

#endif
