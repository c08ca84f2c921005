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

static int64_t gcd(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

lapse_deal_kind_t lapse_deal_choose(const lapse_input_info_t *in, const lapse_plan_t *plan,
                                    int nranks)
{
    const char *env = getenv("LAPSE_DEAL");
    if (env && strcmp(env, "tasks") == 0)
        return LAPSE_DEAL_TASKS;
    if (env && strcmp(env, "timepoints") == 0)
        return LAPSE_DEAL_TIMEPOINTS;
    if (env && strcmp(env, "whole") == 0)
        return LAPSE_DEAL_WHOLE;
    if (nranks > 1 && in->compressed_chunks && plan->ntiles > 1)
        return LAPSE_DEAL_TIMEPOINTS;
    return LAPSE_DEAL_TASKS;
}

const char *lapse_deal_name(lapse_deal_kind_t kind)
{
    return kind == LAPSE_DEAL_TASKS ? "tasks round-robin" : "whole timepoints";
}

void lapse_deal_free(lapse_deal_t *d)
{
    free(d->rank);
    free(d->group);
    free(d->wave_end);
    memset(d, 0, sizeof *d);
}

lapse_status_t lapse_deal_make(const lapse_plan_t *plan, int nranks, lapse_deal_kind_t kind,
                               int64_t wave, lapse_deal_t *d)
{
    memset(d, 0, sizeof *d);
    d->kind = kind;
    const size_t n = (size_t)(plan->ntasks > 0 ? plan->ntasks : 1);
    d->rank = malloc(n * sizeof *d->rank);
    if (kind != LAPSE_DEAL_TASKS)
        d->group = malloc(n * sizeof *d->group);
    int64_t ntps = 0; /* timepoints with a pending task (tasks are in timepoint order) */
    for (int64_t q = 0; q < plan->ntasks; q++)
        ntps += q == 0 || task_tp(plan, q) != task_tp(plan, q - 1);
    const int64_t w = wave > 0 ? wave : (ntps > 0 ? ntps : 1);
    d->wave_end = malloc((size_t)((ntps + w - 1) / w + 1) * sizeof *d->wave_end);
    if (d->rank == NULL || (kind != LAPSE_DEAL_TASKS && d->group == NULL) || d->wave_end == NULL) {
        lapse_deal_free(d);
        return lapse_fail(LAPSE_ENOMEM, "out of memory for the deal of %lld tasks",
                          (long long)plan->ntasks);
    }
    d->nwaves = 1; /* one wave, empty when nothing is pending */
    d->wave_end[0] = 0;
    for (int64_t q = 0, j = 0; q < plan->ntasks; q++) { /* j: the timepoint of task q */
        if (q > 0 && task_tp(plan, q) != task_tp(plan, q - 1) && ++j % w == 0)
            d->nwaves++;
        d->wave_end[d->nwaves - 1] = q + 1;
    }
    if (kind == LAPSE_DEAL_TASKS) {
        for (int64_t q = 0; q < plan->ntasks; q++)
            d->rank[q] = (int)(q % nranks);
        return LAPSE_OK;
    }
    int64_t g = 0; /* the next group: a whole timepoint or a block */
    for (int64_t q = 0, j = 0; q < plan->ntasks; j++) { /* timepoint j's tasks q..e-1 */
        int64_t e = q + 1;
        while (e < plan->ntasks && task_tp(plan, e) == task_tp(plan, q))
            e++;
        const int64_t first = j / w * w; /* its wave: first .. first + in - 1 */
        const int64_t in = ntps - first < w ? ntps - first : w, rem = in % nranks;
        int64_t b = 1;
        if (kind == LAPSE_DEAL_TIMEPOINTS && j >= first + in - rem)
            b = nranks / gcd(rem, nranks);
        if (b > e - q)
            b = e - q;
        d->ncut += b > 1;
        for (int64_t i = q; i < e; i++) {
            d->group[i] = g + (i - q) * b / (e - q);
            d->rank[i] = (int)(d->group[i] % nranks);
        }
        g += b;
        q = e;
    }
    return LAPSE_OK;
}
