/*
 * sched.h - handing out tasks to ranks, and the counters behind progress reports.
 *
 * How tasks are handed out is one scheduler kind, a lapse_sched_ops_t descriptor in a registry
 * (sched.c): static gives each rank its own share (no communication): the tasks dealt to it,
 * by default block-cyclic with block 1 (task i to rank i mod nranks), or whole timepoints per
 * rank (exec/deal.h); dynamic (the default) lets every rank take the next task when it is free:
 * rank 0 hands tasks out by point-to-point messages, served whenever it enters the scheduler
 * (between its own tasks, between a task's phases, while it waits at the end), and every other
 * rank asks for its next task one task ahead, and while rank 0 reads or computes a server
 * thread answers for it (lapse_sched_away_begin), so rank 0's own work rarely delays anyone;
 * a rank gets its own share first (the static one), then steals from the others'; rma
 * takes the next task with an MPI-3 atomic fetch-and-add on a window on rank 0, and falls back
 * to dynamic when the MPI library cannot make that window (Open MPI's osc/rdma over TCP).
 * The counters (tasks done, voxels, ranks finished, abort) travel to rank 0 by point-to-point
 * messages for every kind (sched_msg.c), so nothing needs one-sided communication and any
 * network MPI runs on works. All kinds give identical output, because a task's result does not
 * depend on which rank computes it. The lapse_sched_* functions are the facade: they dispatch
 * to the kind's descriptor.
 */
#ifndef LAPSE_EXEC_SCHED_H
#define LAPSE_EXEC_SCHED_H

#include <mpi.h>
#include <stdint.h>

#include "config.h"
#include "status.h"

typedef struct lapse_scheduler lapse_scheduler_t;

/* One scheduler kind. A new kind is one more descriptor in the registry of sched.c. */
typedef struct {
    const char *name;   /* as in the config's scheduling: key, e.g. "dynamic" */
    lapse_sched_t kind; /* the config's enum value */
    /* Collective, once, after the channel to rank 0 exists: set up the kind's own state in s
     * (it may replace s->ops by a fallback kind's descriptor and start that). NULL: nothing to
     * set up. Returns a failure on this rank only. */
    lapse_status_t (*start)(lapse_scheduler_t *s);
    /* Local: this rank's next task index into *task; any value >= ntasks means none is left for
     * this rank. Called only while no abort was seen. */
    lapse_status_t (*next)(lapse_scheduler_t *s, int64_t *task);
} lapse_sched_ops_t;

/* The descriptor of a kind, or NULL when none is registered. */
const lapse_sched_ops_t *lapse_sched_lookup(lapse_sched_t kind);

/* The descriptor named name ("static", "dynamic", "rma"), or NULL. */
const lapse_sched_ops_t *lapse_sched_by_name(const char *name);

/* The name of a kind ("static"), or "unknown". Never NULL. */
const char *lapse_sched_name(lapse_sched_t kind);

/* Collective: create the scheduler of this kind for ntasks tasks, task i in the share of rank
 * deal[i] (static and dynamic; rma ignores it): deal NULL is rank i mod nranks, else it must
 * hold ntasks ranks of comm, the same on every rank. group (NULL: none; read on rank 0, copied)
 * puts tasks that share their input in one group (a timepoint's tiles, or a block of them, under
 * timepoints per rank): dynamic then steals whole groups where it can (sched_impl.h). *out set only
 * on success; LAPSE_EUSAGE for an unregistered kind (on every rank), LAPSE_EMPI/ENOMEM otherwise (a
 * rank without the memory for its shares, or an injected fault "sched-create": agreed, every rank
 * fails). */
lapse_status_t lapse_sched_create(MPI_Comm comm, lapse_sched_t kind, int64_t ntasks,
                                  const int *deal, const int64_t *group, lapse_scheduler_t **out);

/* The kind s runs: the one it was created with, or dynamic where rma fell back to it. */
lapse_sched_t lapse_sched_kind(const lapse_scheduler_t *s);

/* Local (a dynamic rank other than 0 waits for rank 0's answer): this rank's next task:
 * *have = 1 and *task set, or *have = 0 when no task is left for it or a rank aborted. */
lapse_status_t lapse_sched_next(lapse_scheduler_t *s, int64_t *task, int *have);

/* Local: count one finished task of voxels core voxels. */
lapse_status_t lapse_sched_done(lapse_scheduler_t *s, int64_t voxels);

/* Local: ask every rank to stop taking tasks (after a failure). */
lapse_status_t lapse_sched_abort(lapse_scheduler_t *s);

/* Local: this rank takes no more tasks (counted in *finished of lapse_sched_counts). */
lapse_status_t lapse_sched_finish(lapse_scheduler_t *s);

/* Local: rank 0 serves what has arrived, then reads the counters: tasks done, their core
 * voxels, and ranks that called lapse_sched_finish. With static scheduling the counts of other
 * ranks arrive when rank 0 is between tasks (progress is approximate until the end). Other
 * ranks get zeros. On failure (LAPSE_EMPI) the outputs may be partly set. */
lapse_status_t lapse_sched_counts(lapse_scheduler_t *s, int64_t *done, int64_t *voxels,
                                  int64_t *finished);

/* Local: rank 0 answers the requests that have arrived (call it between long steps of a task);
 * other ranks let MPI progress their messages. */
lapse_status_t lapse_sched_poll(lapse_scheduler_t *s);

/* Local: the calling rank's main thread is away from MPI for a long step that makes no MPI
 * call (reading the input, running the pipeline: a long H5Dread or clFinish). On rank 0 with
 * dynamic or rma scheduling, when MPI gives MPI_THREAD_SERIALIZED and LAPSE_SCHED_HELPER is not
 * "0", a server thread answers the other ranks' task requests meanwhile (every 0.5 ms), so a
 * long step of rank 0 does not stall them; it never calls MPI while the main thread may.
 * Elsewhere a no-op. Every lapse_sched_away_begin is followed by lapse_sched_away_end before
 * any other call of this API; _end returns a failure of the server thread's answers. */
void lapse_sched_away_begin(lapse_scheduler_t *s);
lapse_status_t lapse_sched_away_end(lapse_scheduler_t *s);

/* Local: rank 0 serves requests for up to seconds, returning early once every rank has
 * finished; other ranks just poll. Use instead of sleeping while rank 0 waits. */
lapse_status_t lapse_sched_wait(lapse_scheduler_t *s, double seconds);

/* Collective: receive every message still on its way, free the window and the communicator;
 * NULL is accepted (then not collective). With LAPSE_SCHED_STATS set in the environment, every
 * rank first prints to stderr the time it waited in lapse_sched_next for its next task. */
lapse_status_t lapse_sched_destroy(lapse_scheduler_t *s);

#endif
