/*
 * sched.c - task hand-out and shared counters in an MPI-3 window on rank 0 (see sched.h).
 *
 * The window is locked once for the whole run (MPI_Win_lock_all) and every access is an
 * atomic MPI_Fetch_and_op followed by MPI_Win_flush, so no rank waits for another. The
 * counters (done, voxels, finished, abort) are common to every kind; what differs is how a
 * rank gets its next task: one descriptor per kind, collected in the registry below.
 */
#include "exec/sched.h"

#include <stdlib.h>
#include <string.h>

enum { SLOT_NEXT, SLOT_DONE, SLOT_VOXELS, SLOT_FINISHED, SLOT_ABORT, SLOT_COUNT };

struct lapse_scheduler {
    const lapse_sched_ops_t *ops;
    MPI_Comm comm;
    MPI_Win win;
    int64_t *base;
    int rank, nranks;
    int64_t ntasks;
    int64_t cursor; /* a kind's own position (static: this rank's next task) */
    int locked;
};

/* Atomically add v to slot and return the old value. v = 0 with MPI_NO_OP reads. */
static lapse_status_t slot_op(lapse_scheduler_t *s, int slot, int64_t v, MPI_Op op, int64_t *old)
{
    lapse_status_t st = LAPSE_OK;
    int64_t res = 0;
    LAPSE_MPI(MPI_Fetch_and_op(&v, &res, MPI_INT64_T, 0, slot, op, s->win));
    LAPSE_MPI(MPI_Win_flush(0, s->win));
    if (old)
        *old = res;
cleanup:
    return st;
}

/* ------------------------------------------------------------------ the kinds */

/* static: block-cyclic with block 1; local, no communication to hand out a task. */
static lapse_status_t static_start(lapse_scheduler_t *s)
{
    s->cursor = s->rank;
    return LAPSE_OK;
}

static lapse_status_t static_next(lapse_scheduler_t *s, int64_t *task)
{
    *task = s->cursor;
    s->cursor += s->nranks;
    return LAPSE_OK;
}

/* dynamic: the next task from the shared counter, by atomic fetch-and-add. */
static lapse_status_t dynamic_next(lapse_scheduler_t *s, int64_t *task)
{
    return slot_op(s, SLOT_NEXT, 1, MPI_SUM, task);
}

static const lapse_sched_ops_t sched_static = {
    .name = "static",
    .kind = LAPSE_SCHED_STATIC,
    .start = static_start,
    .next = static_next,
};

static const lapse_sched_ops_t sched_dynamic = {
    .name = "dynamic",
    .kind = LAPSE_SCHED_DYNAMIC,
    .start = NULL,
    .next = dynamic_next,
};

/* The registry: every scheduler kind lapse knows. */
static const lapse_sched_ops_t *const sched_registry[] = {&sched_static, &sched_dynamic};

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

/* ------------------------------------------------------------------ the facade */

lapse_status_t lapse_sched_create(MPI_Comm comm, lapse_sched_t kind, int64_t ntasks,
                                  lapse_scheduler_t **out)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_sched_ops_t *ops = lapse_sched_lookup(kind);
    if (!ops)
        return lapse_fail(LAPSE_EUSAGE, "unknown scheduling kind %d", (int)kind);
    lapse_scheduler_t *s = calloc(1, sizeof *s);
    LAPSE_ALLOC(s);
    s->ops = ops;
    s->comm = comm;
    s->ntasks = ntasks;
    s->win = MPI_WIN_NULL;
    LAPSE_MPI(MPI_Comm_rank(comm, &s->rank));
    LAPSE_MPI(MPI_Comm_size(comm, &s->nranks));
    MPI_Aint bytes = s->rank == 0 ? (MPI_Aint)(SLOT_COUNT * sizeof(int64_t)) : 0;
    LAPSE_MPI(MPI_Win_allocate(bytes, sizeof(int64_t), MPI_INFO_NULL, comm, &s->base, &s->win));
    if (s->rank == 0)
        for (int i = 0; i < SLOT_COUNT; i++)
            s->base[i] = 0;
    LAPSE_MPI(MPI_Barrier(comm)); /* counters are zero before anyone uses them */
    LAPSE_MPI(MPI_Win_lock_all(0, s->win));
    s->locked = 1;
    if (ops->start)
        LAPSE_TRY(ops->start(s));
    *out = s;
    s = NULL;
cleanup:
    if (s) {
        if (s->locked)
            MPI_Win_unlock_all(s->win);
        if (s->win != MPI_WIN_NULL)
            MPI_Win_free(&s->win);
        free(s);
    }
    return st;
}

lapse_status_t lapse_sched_next(lapse_scheduler_t *s, int64_t *task, int *have)
{
    lapse_status_t st = LAPSE_OK;
    int64_t aborted = 0, t = 0;
    *have = 0;
    LAPSE_TRY(slot_op(s, SLOT_ABORT, 0, MPI_NO_OP, &aborted));
    if (aborted)
        goto cleanup;
    LAPSE_TRY(s->ops->next(s, &t));
    if (t < s->ntasks) {
        *task = t;
        *have = 1;
    }
cleanup:
    return st;
}

lapse_status_t lapse_sched_done(lapse_scheduler_t *s, int64_t voxels)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_TRY(slot_op(s, SLOT_DONE, 1, MPI_SUM, NULL));
    LAPSE_TRY(slot_op(s, SLOT_VOXELS, voxels, MPI_SUM, NULL));
cleanup:
    return st;
}

lapse_status_t lapse_sched_abort(lapse_scheduler_t *s)
{
    return slot_op(s, SLOT_ABORT, 1, MPI_SUM, NULL);
}

lapse_status_t lapse_sched_finish(lapse_scheduler_t *s)
{
    return slot_op(s, SLOT_FINISHED, 1, MPI_SUM, NULL);
}

lapse_status_t lapse_sched_counts(lapse_scheduler_t *s, int64_t *done, int64_t *voxels,
                                  int64_t *finished)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_TRY(slot_op(s, SLOT_DONE, 0, MPI_NO_OP, done));
    LAPSE_TRY(slot_op(s, SLOT_VOXELS, 0, MPI_NO_OP, voxels));
    LAPSE_TRY(slot_op(s, SLOT_FINISHED, 0, MPI_NO_OP, finished));
cleanup:
    return st;
}

lapse_status_t lapse_sched_destroy(lapse_scheduler_t *s)
{
    lapse_status_t st = LAPSE_OK;
    if (!s)
        return LAPSE_OK;
    if (s->locked)
        LAPSE_MPI(MPI_Win_unlock_all(s->win));
    LAPSE_MPI(MPI_Win_free(&s->win));
cleanup:
    free(s);
    return st;
}
