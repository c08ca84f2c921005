/*
 * sched_msg.c - the scheduler's point-to-point channel to rank 0 (see sched_impl.h).
 *
 * Other ranks send small messages to rank 0 (task requests, done counts, finish, abort) and
 * keep at most one report in flight; rank 0 answers task requests at once and sends an abort
 * notice to every rank when any rank aborts. Nothing here needs one-sided communication, so it
 * works on any network MPI runs on (TCP included). Every message sent is received: rank 0
 * counts what it got from each rank and lapse_sched_drain collects the rest.
 */
#include "exec/sched_impl.h"

#include <stdlib.h>
#include <string.h>

void lapse_sched_shares_init(int64_t *share, int64_t *order, int nranks, int64_t ntasks,
                             const int *deal)
{
    for (int k = 0; k < nranks; k++)
        share[2 * k] = share[2 * k + 1] = 0;
    for (int64_t i = 0; i < ntasks; i++) /* the size of each share, in share[2 k + 1] */
        share[2 * (deal ? deal[i] : (int)(i % nranks)) + 1]++;
    int64_t at = 0;
    for (int k = 0; k < nranks; k++) { /* the shares' starts, then fill them in task order */
        share[2 * k] = at;
        at += share[2 * k + 1];
        share[2 * k + 1] = share[2 * k];
    }
    for (int64_t i = 0; i < ntasks; i++) {
        const int k = deal ? deal[i] : (int)(i % nranks);
        order[share[2 * k + 1]++] = i;
    }
}

lapse_status_t lapse_sched_groups_init(lapse_scheduler_t *s, const int64_t *group)
{
    const size_t n = (size_t)s->nranks;
    int64_t *g = malloc((size_t)(s->ntasks > 0 ? s->ntasks : 1) * sizeof *g);
    int64_t *first = malloc(n * sizeof *first), *cont_g = malloc(n * sizeof *cont_g);
    int *cont_v = malloc(n * sizeof *cont_v);
    if (g == NULL || first == NULL || cont_g == NULL || cont_v == NULL) {
        free(g);
        free(first);
        free(cont_g);
        free(cont_v);
        return lapse_fail(LAPSE_ENOMEM, "out of memory for the scheduler's groups");
    }
    memcpy(g, group, (size_t)s->ntasks * sizeof *g);
    for (size_t k = 0; k < n; k++) {
        first[k] = s->share[2 * k];
        cont_v[k] = -1;
        cont_g[k] = -1;
    }
    s->group = g;
    s->first = first;
    s->cont_v = cont_v;
    s->cont_g = cont_g;
    return LAPSE_OK;
}

/* The group of the last task left in rank v's share (-1 when none is left). */
static int64_t last_group(const lapse_scheduler_t *s, int v)
{
    const int64_t *sh = &s->share[2 * v];
    return sh[0] < sh[1] ? s->group[s->order[sh[1] - 1]] : -1;
}

/* Whether the group that rank v's share ends in may be taken whole by rank r: its owner has
 * not started it and no other rank is taking it. */
static int untouched(const lapse_scheduler_t *s, int v, int r)
{
    const int64_t g = last_group(s, v), *sh = &s->share[2 * v];
    if (g < 0 || (sh[0] > s->first[v] && s->group[s->order[sh[0] - 1]] == g))
        return 0;
    for (int x = 0; x < s->nranks; x++)
        if (x != r && s->cont_v[x] == v && s->cont_g[x] == g)
            return 0;
    return 1;
}

int64_t lapse_sched_hand_out(lapse_scheduler_t *s, int r)
{
    int64_t *own = &s->share[2 * r];
    if (s->aborted)
        return s->ntasks;
    if (own[0] < own[1]) /* the next of its own share */
        return s->order[own[0]++];
    if (s->group && s->cont_v[r] >= 0 && last_group(s, s->cont_v[r]) == s->cont_g[r])
        return s->order[--s->share[2 * s->cont_v[r] + 1]]; /* the rest of the group it took */
    int best = -1;    /* else the last task of the share with the most left (by group: first */
    int64_t most = 0; /* among the shares that end in a group nobody has started) */
    for (int pass = s->group ? 0 : 1; pass < 2 && best < 0; pass++)
        for (int v = 0; v < s->nranks; v++) {
            const int64_t left = s->share[2 * v + 1] - s->share[2 * v];
            if (left > most && (pass == 1 || untouched(s, v, r))) {
                most = left;
                best = v;
            }
        }
    if (best < 0)
        return s->ntasks;
    if (s->group) {
        s->cont_v[r] = best;
        s->cont_g[r] = last_group(s, best);
    }
    return s->order[--s->share[2 * best + 1]];
}

/* Rank 0: act on one message from rank src. */
static lapse_status_t handle(lapse_scheduler_t *s, const int64_t *msg, int src)
{
    lapse_status_t st = LAPSE_OK;
    s->recvd[src]++;
    s->done += msg[1];
    s->voxels += msg[2];
    if (msg[0] == SCHED_OP_NEXT) {
        int64_t t = lapse_sched_hand_out(s, src);
        LAPSE_MPI(MPI_Send(&t, 1, MPI_INT64_T, src, SCHED_TAG_TASK, s->comm));
    } else if (msg[0] == SCHED_OP_FINISH) {
        s->finished++;
    } else if (msg[0] == SCHED_OP_ABORT) {
        LAPSE_TRY(lapse_sched_abort_all(s));
    }
cleanup:
    return st;
}

lapse_status_t lapse_sched_serve(lapse_scheduler_t *s)
{
    lapse_status_t st = LAPSE_OK;
    if (s->rank != 0) {
        int flag = 0;
        if (s->up_req != MPI_REQUEST_NULL)
            LAPSE_MPI(MPI_Test(&s->up_req, &flag, MPI_STATUS_IGNORE));
        goto cleanup;
    }
    for (;;) {
        int flag = 0;
        MPI_Status stat;
        int64_t msg[SCHED_MSG_LEN];
        LAPSE_MPI(MPI_Iprobe(MPI_ANY_SOURCE, SCHED_TAG_UP, s->comm, &flag, &stat));
        if (!flag)
            break;
        LAPSE_MPI(MPI_Recv(msg, SCHED_MSG_LEN, MPI_INT64_T, stat.MPI_SOURCE, SCHED_TAG_UP, s->comm,
                           MPI_STATUS_IGNORE));
        LAPSE_TRY(handle(s, msg, stat.MPI_SOURCE));
    }
cleanup:
    return st;
}

lapse_status_t lapse_sched_send_up(lapse_scheduler_t *s, int op)
{
    lapse_status_t st = LAPSE_OK;
    if (s->up_req != MPI_REQUEST_NULL) {
        int flag = 0;
        LAPSE_MPI(MPI_Test(&s->up_req, &flag, MPI_STATUS_IGNORE));
        if (!flag && op == SCHED_OP_REPORT)
            goto cleanup; /* merged into the next message */
        if (!flag)
            LAPSE_MPI(MPI_Wait(&s->up_req, MPI_STATUS_IGNORE));
    }
    s->up[0] = op;
    s->up[1] = s->pend_done;
    s->up[2] = s->pend_voxels;
    s->pend_done = s->pend_voxels = 0;
    LAPSE_MPI(MPI_Isend(s->up, SCHED_MSG_LEN, MPI_INT64_T, 0, SCHED_TAG_UP, s->comm, &s->up_req));
    s->sent++;
cleanup:
    return st;
}

lapse_status_t lapse_sched_abort_all(lapse_scheduler_t *s)
{
    lapse_status_t st = LAPSE_OK;
    static const int64_t notice = 1;
    if (s->aborted)
        return LAPSE_OK;
    s->aborted = 1;
    for (int k = 1; k < s->nranks; k++)
        LAPSE_MPI(
            MPI_Isend(&notice, 1, MPI_INT64_T, k, SCHED_TAG_ABORT, s->comm, &s->abort_reqs[k]));
cleanup:
    return st;
}

lapse_status_t lapse_sched_check_abort(lapse_scheduler_t *s, int *seen)
{
    lapse_status_t st = LAPSE_OK;
    int flag = 0;
    int64_t notice = 0;
    if (!s->aborted) {
        LAPSE_MPI(MPI_Iprobe(0, SCHED_TAG_ABORT, s->comm, &flag, MPI_STATUS_IGNORE));
        if (flag) {
            LAPSE_MPI(
                MPI_Recv(&notice, 1, MPI_INT64_T, 0, SCHED_TAG_ABORT, s->comm, MPI_STATUS_IGNORE));
            s->aborted = 1;
        }
    }
cleanup:
    *seen = s->aborted;
    return st;
}

lapse_status_t lapse_sched_ask(lapse_scheduler_t *s)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_MPI(MPI_Irecv(&s->got, 1, MPI_INT64_T, 0, SCHED_TAG_TASK, s->comm, &s->got_req));
    s->asking = 1;
    LAPSE_TRY(lapse_sched_send_up(s, SCHED_OP_NEXT));
cleanup:
    return st;
}

/* Rank 0: receive what each rank sent and was not received yet (counts gathered). */
static lapse_status_t drain_root(lapse_scheduler_t *s, const int64_t *sent)
{
    lapse_status_t st = LAPSE_OK;
    for (int k = 1; k < s->nranks; k++) {
        while (s->recvd[k] < sent[k]) {
            int64_t msg[SCHED_MSG_LEN];
            LAPSE_MPI(MPI_Recv(msg, SCHED_MSG_LEN, MPI_INT64_T, k, SCHED_TAG_UP, s->comm,
                               MPI_STATUS_IGNORE));
            LAPSE_TRY(handle(s, msg, k));
        }
    }
cleanup:
    return st;
}

lapse_status_t lapse_sched_drain(lapse_scheduler_t *s)
{
    lapse_status_t st = LAPSE_OK;
    int64_t *sent = s->dsent; /* rank 0's, made with s: no allocation may fail here alone */
    int *flags = s->dflags, flag = 0;
    LAPSE_MPI(MPI_Gather(&s->sent, 1, MPI_INT64_T, sent, 1, MPI_INT64_T, 0, s->comm));
    if (s->rank == 0) {
        LAPSE_TRY(drain_root(s, sent)); /* may send abort notices: flags after it */
        for (int k = 1; k < s->nranks; k++)
            flags[k] = s->aborted;
    }
    LAPSE_MPI(MPI_Scatter(flags, 1, MPI_INT, &flag, 1, MPI_INT, 0, s->comm));
    if (s->rank != 0) {
        int64_t notice = 0;
        if (flag && !s->aborted)
            LAPSE_MPI(
                MPI_Recv(&notice, 1, MPI_INT64_T, 0, SCHED_TAG_ABORT, s->comm, MPI_STATUS_IGNORE));
        LAPSE_MPI(MPI_Wait(&s->up_req, MPI_STATUS_IGNORE));
        if (s->asking)
            LAPSE_MPI(MPI_Wait(&s->got_req, MPI_STATUS_IGNORE));
        s->asking = 0;
    } else {
        for (int k = 1; k < s->nranks; k++) /* after the scatter: the notices are received */
            LAPSE_MPI(MPI_Wait(&s->abort_reqs[k], MPI_STATUS_IGNORE));
    }
cleanup:
    return st;
}
