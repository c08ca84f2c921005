/*
 * deal.c - which rank's share each pending task is in (see deal.h).
 */
#include "exec/deal.h"

#include <stdlib.h>
#include <string.h>

/* The timepoint index (into plan->tps) of pending task q. */
static int64_t task_tp(const lapse_plan_t *plan, int64_t q)
{
    return (plan->todo ? plan->todo[q] : q) / plan->ntiles;
}

/* Timepoints with a pending task (tasks are in timepoint order). */
static int64_t pending_tps(const lapse_plan_t *plan)
{
    int64_t n = 0;
    for (int64_t q = 0; q < plan->ntasks; q++)
        if (q == 0 || task_tp(plan, q) != task_tp(plan, q - 1))
            n++;
    return n;
}

lapse_deal_kind_t lapse_deal_choose(const lapse_input_info_t *in, const lapse_plan_t *plan,
                                    int nranks)
{
    const char *env = getenv("LAPSE_DEAL");
    if (env && strcmp(env, "tasks") == 0)
        return LAPSE_DEAL_TASKS;
    if (env && strcmp(env, "timepoints") == 0)
        return LAPSE_DEAL_TIMEPOINTS;
    if (nranks > 1 && in->compressed_chunks && plan->ntiles > 1 && pending_tps(plan) >= nranks)
        return LAPSE_DEAL_TIMEPOINTS;
    return LAPSE_DEAL_TASKS;
}

lapse_status_t lapse_deal_groups(const lapse_plan_t *plan, lapse_deal_kind_t kind, int64_t **group)
{
    *group = NULL;
    if (kind != LAPSE_DEAL_TIMEPOINTS)
        return LAPSE_OK;
    *group = malloc((size_t)(plan->ntasks > 0 ? plan->ntasks : 1) * sizeof **group);
    if (*group == NULL)
        return lapse_fail(LAPSE_ENOMEM, "out of memory for the groups of %lld tasks",
                          (long long)plan->ntasks);
    for (int64_t q = 0; q < plan->ntasks; q++)
        (*group)[q] = task_tp(plan, q);
    return LAPSE_OK;
}

const char *lapse_deal_name(lapse_deal_kind_t kind)
{
    return kind == LAPSE_DEAL_TIMEPOINTS ? "whole timepoints" : "tasks round-robin";
}

lapse_status_t lapse_deal_make(const lapse_plan_t *plan, int nranks, lapse_deal_kind_t kind,
                               int **deal)
{
    *deal = malloc((size_t)(plan->ntasks > 0 ? plan->ntasks : 1) * sizeof **deal);
    if (*deal == NULL)
        return lapse_fail(LAPSE_ENOMEM, "out of memory for the deal of %lld tasks",
                          (long long)plan->ntasks);
    int64_t j = -1; /* the pending timepoint of task q, counted from 0 */
    for (int64_t q = 0; q < plan->ntasks; q++) {
        if (q == 0 || task_tp(plan, q) != task_tp(plan, q - 1))
            j++;
        (*deal)[q] = (int)((kind == LAPSE_DEAL_TIMEPOINTS ? j : q) % nranks);
    }
    return LAPSE_OK;
}
