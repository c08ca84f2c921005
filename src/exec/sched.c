/*
 * sched.c - the scheduler kinds and the lapse_sched_* facade (see sched.h).
 *
 * The counters live on rank 0 and travel by point-to-point messages for every kind
 * (sched_msg.c); what differs between kinds is how a rank gets its next task: one descriptor
 * per kind, collected in the registry below. rma's window is checked when it is made: where the
 * MPI library refuses it (MPI_ERR_WIN from Open MPI's osc/rdma over TCP) every rank falls back
 * to dynamic together, with a note on rank 0.
 */
#include "exec/sched_impl.h"

#include "exec/ranks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ the kinds */

/* static: this rank's own share in order (lapse_sched_create's deal: block-cyclic with block 1
 * by default); local, no communication to hand out a task. */
static lapse_status_t static_next(lapse_scheduler_t *s, int64_t *task)
{
    int64_t *own = &s->share[2 * s->rank];
    *task = own[0] < own[1] ? s->order[own[0]++] : s->ntasks;
    return LAPSE_OK;
}

/* dynamic: rank 0 hands out the tasks (lapse_sched_hand_out: a rank's own share first, then
 * the others' last tasks) and serves the others, who ask one task ahead: the answer to the next
 * request arrives while this task runs. */
static lapse_status_t dynamic_next(lapse_scheduler_t *s, int64_t *task)
{
    lapse_status_t st = LAPSE_OK;
    if (s->rank == 0) {
        *task = lapse_sched_hand_out(s, 0);
        return LAPSE_OK;
    }
    if (!s->asking)
        LAPSE_TRY(lapse_sched_ask(s));
    LAPSE_MPI(MPI_Wait(&s->got_req, MPI_STATUS_IGNORE));
    s->asking = 0;
    *task = s->got;
    if (s->got < s->ntasks)
        LAPSE_TRY(lapse_sched_ask(s));
cleanup:
    return st;
}

static const lapse_sched_ops_t sched_static = {
    .name = "static",
    .kind = LAPSE_SCHED_STATIC,
    .start = NULL,
    .next = static_next,
};

static const lapse_sched_ops_t sched_dynamic = {
    .name = "dynamic",
    .kind = LAPSE_SCHED_DYNAMIC,
    .start = NULL,
    .next = dynamic_next,
};

/* rma: make the counter window; 0 in *all unless every rank has it (then none keeps one). */
static lapse_status_t rma_window(lapse_scheduler_t *s, int *all)
{
    lapse_status_t st = LAPSE_OK;
    MPI_Aint bytes = s->rank == 0 ? (MPI_Aint)sizeof(int64_t) : 0;
    int rc = MPI_Win_allocate(bytes, sizeof(int64_t), MPI_INFO_NULL, s->comm, &s->base, &s->win);
    int ok = rc == MPI_SUCCESS;
    LAPSE_MPI(MPI_Allreduce(&ok, all, 1, MPI_INT, MPI_MIN, s->comm));
    if (!*all && s->rank == 0) {
        char msg[MPI_MAX_ERROR_STRING] = "another rank failed";
        int len = 0;
        if (!ok)
            MPI_Error_string(rc, msg, &len);
        printf("lapse: rma scheduling: MPI_Win_allocate failed (%s); using dynamic "
               "(point-to-point) scheduling instead\n",
               msg);
        fflush(stdout);
    }
    if (!*all && ok)
        LAPSE_MPI(MPI_Win_free(&s->win));
    if (!*all)
        s->win = MPI_WIN_NULL;
cleanup:
    return st;
}

static lapse_status_t rma_start(lapse_scheduler_t *s)
{
    lapse_status_t st = LAPSE_OK;
    int all = 0;
    LAPSE_TRY(rma_window(s, &all));
    if (!all) {
        s->ops = &sched_dynamic;
        goto cleanup;
    }
    LAPSE_MPI(MPI_Win_set_errhandler(s->win, MPI_ERRORS_RETURN));
    if (s->rank == 0)
        s->base[0] = 0;
    LAPSE_MPI(MPI_Barrier(s->comm)); /* the counter is zero before anyone uses it */
    LAPSE_MPI(MPI_Win_lock_all(0, s->win));
    s->locked = 1;
cleanup:
    return st;
}

/* rma: the next task from the counter on rank 0, by atomic fetch-and-add. */
static lapse_status_t rma_next(lapse_scheduler_t *s, int64_t *task)
{
    lapse_status_t st = LAPSE_OK;
    int64_t one = 1;
    LAPSE_MPI(MPI_Fetch_and_op(&one, task, MPI_INT64_T, 0, 0, MPI_SUM, s->win));
    LAPSE_MPI(MPI_Win_flush(0, s->win));
cleanup:
    return st;
}

static const lapse_sched_ops_t sched_rma = {
    .name = "rma",
    .kind = LAPSE_SCHED_RMA,
    .start = rma_start,
    .next = rma_next,
};

/* The registry: every scheduler kind lapse knows. */
static const lapse_sched_ops_t *const sched_registry[] = {&sched_static, &sched_dynamic,
                                                          &sched_rma};

#define SCHED_NKINDS (sizeof sched_registry / sizeof *sched_registry)

const lapse_sched_ops_t *lapse_sched_lookup(lapse_sched_t kind)
{
    for (size_t i = 0; i < SCHED_NKINDS; i++)
        if (sched_registry[i]->kind == kind)
            return sched_registry[i];
    return NULL;
}

const lapse_sched_ops_t *lapse_sched_by_name(const char *name)
{
    for (size_t i = 0; name && i < SCHED_NKINDS; i++)
        if (strcmp(sched_registry[i]->name, name) == 0)
            return sched_registry[i];
    return NULL;
}

const char *lapse_sched_name(lapse_sched_t kind)
{
    const lapse_sched_ops_t *ops = lapse_sched_lookup(kind);
    return ops ? ops->name : "unknown";
}

/* ------------------------------------------------------------------ rank 0's server thread */

/* Serve while the main thread is away, every 0.5 ms; after a failure, stop serving (the main
 * thread sees the failure at lapse_sched_away_end). */
static void *helper_main(void *arg)
{
    lapse_scheduler_t *s = arg;
    pthread_mutex_lock(&s->hm);
    while (!s->stop) {
        if (s->away && s->helper_st == LAPSE_OK) {
            s->helper_st = lapse_sched_serve(s);
            pthread_mutex_unlock(&s->hm);
            nanosleep(&(struct timespec){0, 500000L}, NULL);
            pthread_mutex_lock(&s->hm);
        } else {
            pthread_cond_wait(&s->hc, &s->hm);
        }
    }
    pthread_mutex_unlock(&s->hm);
    return NULL;
}

/* Rank 0, after the kind started: start the server thread where it can run (see sched.h). */
static void helper_start(lapse_scheduler_t *s)
{
    int level = MPI_THREAD_SINGLE;
    const char *env = getenv("LAPSE_SCHED_HELPER");
    if (s->rank != 0 || s->nranks < 2 || s->ops->kind == LAPSE_SCHED_STATIC ||
        (env && strcmp(env, "0") == 0) || MPI_Query_thread(&level) != MPI_SUCCESS ||
        level < MPI_THREAD_SERIALIZED)
        return;
    if (pthread_mutex_init(&s->hm, NULL) != 0)
        return;
    if (pthread_cond_init(&s->hc, NULL) != 0) {
        pthread_mutex_destroy(&s->hm);
        return;
    }
    if (pthread_create(&s->helper, NULL, helper_main, s) != 0) {
        pthread_cond_destroy(&s->hc);
        pthread_mutex_destroy(&s->hm);
        return;
    }
    s->helper_on = 1;
}

static void helper_stop(lapse_scheduler_t *s)
{
    if (!s->helper_on)
        return;
    pthread_mutex_lock(&s->hm);
    s->stop = 1;
    pthread_cond_signal(&s->hc);
    pthread_mutex_unlock(&s->hm);
    pthread_join(s->helper, NULL);
    pthread_cond_destroy(&s->hc);
    pthread_mutex_destroy(&s->hm);
    s->helper_on = 0;
}

void lapse_sched_away_begin(lapse_scheduler_t *s)
{
    if (!s->helper_on)
        return;
    pthread_mutex_lock(&s->hm);
    s->away = 1;
    pthread_cond_signal(&s->hc);
    pthread_mutex_unlock(&s->hm);
}

lapse_status_t lapse_sched_away_end(lapse_scheduler_t *s)
{
    lapse_status_t st;
    if (!s->helper_on)
        return LAPSE_OK;
    pthread_mutex_lock(&s->hm); /* waits for an answer in progress: then MPI is ours again */
    s->away = 0;
    st = s->helper_st;
    s->helper_st = LAPSE_OK;
    pthread_mutex_unlock(&s->hm);
    return st;
}

/* ------------------------------------------------------------------ the facade */

/* Free s and what it holds, without communication (after a failed create). */
static void sched_free(lapse_scheduler_t *s)
{
    helper_stop(s);
    if (s->locked)
        MPI_Win_unlock_all(s->win);
    if (s->win != MPI_WIN_NULL)
        MPI_Win_free(&s->win);
    if (s->comm != MPI_COMM_NULL)
        MPI_Comm_free(&s->comm);
    free(s->recvd);
    free(s->abort_reqs);
    free(s->share);
    free(s->order);
    free(s->group);
    free(s->first);
    free(s->cont_v);
    free(s->cont_g);
    free(s->dsent);
    free(s->dflags);
    free(s);
}

lapse_status_t lapse_sched_create(MPI_Comm comm, lapse_sched_t kind, int64_t ntasks,
                                  const int *deal, const int64_t *group, lapse_scheduler_t **out)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_sched_ops_t *ops = lapse_sched_lookup(kind);
    if (!ops)
        return lapse_fail(LAPSE_EUSAGE, "unknown scheduling kind %d", (int)kind);
    lapse_scheduler_t *s = calloc(1, sizeof *s);
    LAPSE_ALLOC(s);
    s->ops = ops;
    s->ntasks = ntasks;
    s->comm = MPI_COMM_NULL;
    s->win = MPI_WIN_NULL;
    s->up_req = s->got_req = MPI_REQUEST_NULL;
    LAPSE_MPI(MPI_Comm_dup(comm, &s->comm));
    LAPSE_MPI(MPI_Comm_set_errhandler(s->comm, MPI_ERRORS_RETURN));
    LAPSE_MPI(MPI_Comm_rank(s->comm, &s->rank));
    LAPSE_MPI(MPI_Comm_size(s->comm, &s->nranks));
    if (s->rank == 0) {
        s->recvd = calloc((size_t)s->nranks, sizeof *s->recvd);
        s->dsent = calloc((size_t)s->nranks, sizeof *s->dsent);
        s->dflags = calloc((size_t)s->nranks, sizeof *s->dflags);
        s->abort_reqs = malloc((size_t)s->nranks * sizeof *s->abort_reqs);
        for (int k = 0; s->abort_reqs && k < s->nranks; k++)
            s->abort_reqs[k] = MPI_REQUEST_NULL;
    }
    s->share = malloc((size_t)s->nranks * 2 * sizeof *s->share);
    s->order = malloc((size_t)(ntasks > 0 ? ntasks : 1) * sizeof *s->order);
    /* Agreed before the kind's start, which is collective (rma's window): a rank without its
     * memory must not leave the others waiting there. */
    lapse_status_t lst = lapse_fault_fail("sched-create");
    if (lst == LAPSE_OK && (s->share == NULL || s->order == NULL ||
                            (s->rank == 0 && (s->recvd == NULL || s->abort_reqs == NULL ||
                                              s->dsent == NULL || s->dflags == NULL))))
        lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the scheduler of %lld tasks",
                         (long long)ntasks);
    if (lst == LAPSE_OK)
        lapse_sched_shares_init(s->share, s->order, s->nranks, ntasks, deal);
    if (lst == LAPSE_OK && s->rank == 0 && group && ops->kind == LAPSE_SCHED_DYNAMIC)
        lst = lapse_sched_groups_init(s, group);
    st = lapse_agree(s->comm, lst);
    if (st != LAPSE_OK && lst == LAPSE_OK)
        lapse_fail(st, "another rank could not make its scheduler");
    if (st != LAPSE_OK)
        goto cleanup;
    if (ops->start)
        LAPSE_TRY(ops->start(s));
    helper_start(s);
    *out = s;
    s = NULL;
cleanup:
    if (s)
        sched_free(s);
    return st;
}

lapse_sched_t lapse_sched_kind(const lapse_scheduler_t *s)
{
    return s->ops->kind;
}

lapse_status_t lapse_sched_next(lapse_scheduler_t *s, int64_t *task, int *have)
{
    lapse_status_t st = LAPSE_OK;
    int64_t t = 0;
    int aborted = 0;
    *have = 0;
    if (s->rank == 0)
        LAPSE_TRY(lapse_sched_serve(s));
    else
        LAPSE_TRY(lapse_sched_check_abort(s, &aborted));
    if (s->aborted || s->quit)
        goto cleanup;
    double t0 = MPI_Wtime();
    LAPSE_TRY(s->ops->next(s, &t));
    s->t_next += MPI_Wtime() - t0;
    s->n_next++;
    if (t < s->ntasks) {
        *task = t;
        *have = 1;
    }
cleanup:
    return st;
}

lapse_status_t lapse_sched_done(lapse_scheduler_t *s, int64_t voxels)
{
    if (s->rank == 0) {
        s->done++;
        s->voxels += voxels;
        return lapse_sched_serve(s);
    }
    s->pend_done++;
    s->pend_voxels += voxels;
    return lapse_sched_send_up(s, SCHED_OP_REPORT);
}

lapse_status_t lapse_sched_abort(lapse_scheduler_t *s)
{
    if (s->quit)
        return LAPSE_OK;
    s->quit = 1;
    if (s->rank == 0)
        return lapse_sched_abort_all(s);
    return lapse_sched_send_up(s, SCHED_OP_ABORT);
}

lapse_status_t lapse_sched_finish(lapse_scheduler_t *s)
{
    lapse_status_t st = LAPSE_OK;
    if (s->rank == 0) {
        s->finished++;
        return lapse_sched_serve(s);
    }
    if (s->asking) /* a task reserved ahead is dropped (only after a stop or an abort) */
        LAPSE_MPI(MPI_Wait(&s->got_req, MPI_STATUS_IGNORE));
    s->asking = 0;
    LAPSE_TRY(lapse_sched_send_up(s, SCHED_OP_FINISH));
cleanup:
    return st;
}

lapse_status_t lapse_sched_counts(lapse_scheduler_t *s, int64_t *done, int64_t *voxels,
                                  int64_t *finished)
{
    lapse_status_t st = lapse_sched_serve(s);
    *done = s->done;
    *voxels = s->voxels;
    *finished = s->finished;
    return st;
}

lapse_status_t lapse_sched_poll(lapse_scheduler_t *s)
{
    return lapse_sched_serve(s);
}

lapse_status_t lapse_sched_wait(lapse_scheduler_t *s, double seconds)
{
    lapse_status_t st = LAPSE_OK;
    double end = MPI_Wtime() + seconds;
    do {
        LAPSE_TRY(lapse_sched_serve(s));
        if (s->rank != 0 || s->finished >= s->nranks)
            break;
        nanosleep(&(struct timespec){0, 100000L}, NULL); /* 0.1 ms: answers stay prompt */
    } while (MPI_Wtime() < end);
cleanup:
    return st;
}

lapse_status_t lapse_sched_destroy(lapse_scheduler_t *s)
{
    lapse_status_t st = LAPSE_OK;
    if (!s)
        return LAPSE_OK;
    const char *stats = getenv("LAPSE_SCHED_STATS");
    if (stats && strcmp(stats, "1") == 0)
        fprintf(stderr,
                "lapse: sched: rank %d (%s%s) waited %.3f s for its next task over %lld "
                "hand-outs\n",
                s->rank, s->ops->name, s->helper_on ? ", server thread" : "", s->t_next,
                (long long)s->n_next);
    helper_stop(s);
    LAPSE_TRY(lapse_sched_drain(s));
    if (s->locked)
        LAPSE_MPI(MPI_Win_unlock_all(s->win));
    s->locked = 0;
    if (s->win != MPI_WIN_NULL)
        LAPSE_MPI(MPI_Win_free(&s->win));
    LAPSE_MPI(MPI_Comm_free(&s->comm));
cleanup:
    sched_free(s);
    return st;
}
