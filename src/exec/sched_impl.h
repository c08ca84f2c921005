/*
 * sched_impl.h - the scheduler's state and the point-to-point channel to rank 0, shared by
 * sched.c (facade, kinds) and sched_msg.c (the channel). Private to src/exec/sched*.c.
 *
 * Every kind keeps its counters (tasks done, voxels, ranks finished, abort) on rank 0 and
 * reaches it with point-to-point messages on a duplicate of the run's communicator, so no
 * kind needs a shared window. Rank 0 serves the messages whenever it enters the scheduler
 * (lapse_sched_next, _done, _poll, _wait, _counts, _destroy): between its own tasks and while
 * it waits for the others at the end.
 */
#ifndef LAPSE_EXEC_SCHED_IMPL_H
#define LAPSE_EXEC_SCHED_IMPL_H

#include "exec/sched.h"

#include <pthread.h>

/* A message to rank 0 (tag SCHED_TAG_UP): {op, tasks done since the last one, their voxels}. */
enum { SCHED_OP_REPORT, SCHED_OP_NEXT, SCHED_OP_FINISH, SCHED_OP_ABORT };
enum { SCHED_MSG_LEN = 3 };
/* Tags on the scheduler's own communicator: to rank 0; a task index from it; an abort notice. */
enum { SCHED_TAG_UP = 1, SCHED_TAG_TASK = 2, SCHED_TAG_ABORT = 3 };

struct lapse_scheduler {
    const lapse_sched_ops_t *ops;
    MPI_Comm comm; /* our duplicate: no message of ours meets anyone else's */
    int rank, nranks;
    int64_t ntasks;
    /* The shares (lapse_sched_shares_init), held by every rank: order lists the task indices
     * rank by rank, each rank's share in increasing order; the tasks of rank r's share not yet
     * handed out are order[share[2 r]] .. order[share[2 r + 1] - 1]. static takes its own from
     * the front; dynamic's rank 0 hands out every share (lapse_sched_hand_out). */
    int64_t *order;
    int64_t *share;
    /* dynamic, rank 0, where tasks come in groups that share their input (a timepoint's tiles
     * under whole timepoints per rank: lapse_sched_create's group), else NULL: the group of
     * each task; where each rank's share starts in order; and for each rank that steals, the
     * rank it steals from and the group it takes (cont_v -1: none) */
    int64_t *group;
    int64_t *first;
    int *cont_v;
    int64_t *cont_g;
    int aborted; /* rank 0: an abort was asked for; others: rank 0's notice arrived */
    int quit;    /* this rank asked for the abort */
    /* rank 0 only: the counters and the channel's bookkeeping */
    int64_t done, voxels, finished;
    int64_t *recvd;          /* messages received from each rank */
    int64_t *dsent;          /* lapse_sched_drain: the messages each rank sent (made at create:
                              * no allocation between drain's collectives) */
    int *dflags;             /* lapse_sched_drain: the abort flag scattered to each rank */
    MPI_Request *abort_reqs; /* abort notices sent to each rank (MPI_REQUEST_NULL: none) */
    /* other ranks: the one message in flight to rank 0 and what is not sent yet */
    int64_t up[SCHED_MSG_LEN];
    MPI_Request up_req;
    int64_t sent; /* messages sent to rank 0 */
    int64_t pend_done, pend_voxels;
    int asking; /* dynamic: a NEXT is out; its answer arrives in got via got_req */
    int64_t got;
    MPI_Request got_req;
    /* rma: the task counter in a window on rank 0 */
    MPI_Win win;
    int64_t *base;
    int locked;
    /* time this rank spent getting its next task (ops->next) and how many times: printed at
     * the end when LAPSE_SCHED_STATS is set (bench/sched_cluster.sh) */
    double t_next;
    int64_t n_next;
    /* rank 0's server thread (see lapse_sched_away): answers the others while the main thread
     * is away from MPI. Under hm: away, stop, helper_st and, while away, the whole state. */
    int helper_on;
    pthread_t helper;
    pthread_mutex_t hm;
    pthread_cond_t hc;
    int away, stop;
    lapse_status_t helper_st;
};

/* Rank 0, dynamic: the next task for rank r, ntasks when none is left or after an abort. A
 * rank gets its own share first, in order: the tasks static scheduling would give it, which are
 * those whose tiles it ran in the rounds of global steps (exec/phases.c), so that it resumes
 * them from what it kept (input boxes, checkpoints). When its share is done, it takes the last
 * task of the share with the most left (ties: the lowest rank's), from the end, so that share's
 * next tasks stay its owner's. With groups (s->group), a rank that steals keeps to one group:
 * it goes on with the group it took while that share still ends in it; else it takes the last
 * task of the share with the most left among those whose last group neither its owner has
 * started (its last task handed out is of another group) nor another rank is taking, so that a
 * group's input (a timepoint's decoded chunks) is read by one rank; only where no share ends
 * in such a group does it take from the share with the most left. */
int64_t lapse_sched_hand_out(lapse_scheduler_t *s, int r);

/* Rank 0: keep group[ntasks] (copied) for hand-outs by group, after lapse_sched_shares_init.
 * LAPSE_ENOMEM when out of memory (s unchanged). */
lapse_status_t lapse_sched_groups_init(lapse_scheduler_t *s, const int64_t *group);

/* The shares of nranks ranks over ntasks tasks, none handed out yet: task i is in the share of
 * rank deal[i] (0 <= deal[i] < nranks; deal NULL: rank i mod nranks). Fills order[ntasks] and
 * share[2 nranks] as struct lapse_scheduler describes them. */
void lapse_sched_shares_init(int64_t *share, int64_t *order, int nranks, int64_t ntasks,
                             const int *deal);

/* Rank 0: handle every message that has arrived (replies to task requests, counts reports,
 * notes finishes and aborts). Others: let MPI progress the message in flight. */
lapse_status_t lapse_sched_serve(lapse_scheduler_t *s);

/* Not rank 0: send op with the pending counts. A REPORT is held back (and merged into the
 * next message) while the previous message is still in flight; other ops wait for it. */
lapse_status_t lapse_sched_send_up(lapse_scheduler_t *s, int op);

/* Rank 0: note an abort and send a notice to every other rank (once). */
lapse_status_t lapse_sched_abort_all(lapse_scheduler_t *s);

/* Not rank 0: 1 in *seen when rank 0's abort notice has arrived (received here). */
lapse_status_t lapse_sched_check_abort(lapse_scheduler_t *s, int *seen);

/* Dynamic, not rank 0: send a NEXT (the answer arrives later into s->got). */
lapse_status_t lapse_sched_ask(lapse_scheduler_t *s);

/* Collective: receive every message still on its way, complete every request. */
lapse_status_t lapse_sched_drain(lapse_scheduler_t *s);

#endif
