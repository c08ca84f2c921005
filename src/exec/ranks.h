/*
 * ranks.h - who this process is among the MPI ranks, and how the ranks stay together.
 *
 * lapse_ranks_init() fills the rank, size, node-local rank and host name; lapse_agree() is the
 * one reduction by which every collective phase of a run ends (all ranks leave with the same
 * status). The stop signals (SIGTERM, SIGUSR2, SIGINT) only set a flag, read with
 * lapse_stop_requested(); a rank polls it between steps and stops with lapse_interrupted().
 */
#ifndef LAPSE_EXEC_RANKS_H
#define LAPSE_EXEC_RANKS_H

#include <mpi.h>

#include "status.h"

typedef struct {
    MPI_Comm world; /* MPI_COMM_WORLD, with MPI_ERRORS_RETURN */
    int rank, nranks;
    int local_rank; /* rank among the ranks of this host */
    int local_size; /* ranks on this host */
    char host[64];
} lapse_ranks_t;

/* Collective over MPI_COMM_WORLD (MPI already initialised): set MPI_ERRORS_RETURN on it and
 * fill *r; sets the error context to "rank N". Returns LAPSE_EMPI on an MPI failure (then *r
 * may be partly set). */
lapse_status_t lapse_ranks_init(lapse_ranks_t *r);

/* Collective over comm: every rank returns the same status, the worst of all ranks' st. A
 * failure outranks a bad config, which outranks an interruption, which outranks finished with
 * skipped tasks (LAPSE_ESKIPPED), which outranks success. Returns LAPSE_EMPI when the reduction
 * itself fails. Records no message; when all ranks agree on success it clears the recorded one
 * (left by a failure that was handled: stale, it must not be printed for a later one).
 * Implemented by lapse_agree_worst() (ranks.c); this inline wrapper states, where every caller
 * (and the static analyzer) sees it, that a rank's own failure never comes back as LAPSE_OK. */
lapse_status_t lapse_agree_worst(MPI_Comm comm, lapse_status_t st);
static inline lapse_status_t lapse_agree(MPI_Comm comm, lapse_status_t st)
{
    const lapse_status_t all = lapse_agree_worst(comm, st);
    return all == LAPSE_OK ? st : all;
}

/* Local. Install the handlers of SIGTERM, SIGUSR2 and SIGINT (a second SIGINT kills at once),
 * once: later calls do nothing (main.c installs them before MPI_Init, run.c again).
 * Returns LAPSE_ERUNTIME, with a message, when sigaction fails. */
lapse_status_t lapse_signals_install(void);

/* Local, async-signal-safe to read: the first stop signal received, or 0 when none. */
int lapse_stop_requested(void);

/* Local. Record the "stopped by signal N" message and return LAPSE_EINTERRUPTED; call only
 * when lapse_stop_requested() is non-zero. */
lapse_status_t lapse_interrupted(void);

#endif
