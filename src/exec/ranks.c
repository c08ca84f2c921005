/*
 * ranks.c - the ranks of a run: identity (rank, node-local rank, host), agreement on a status
 * across ranks, and the stop-signal flag (see ranks.h).
 *
 * The flag is the state here (besides whether the handlers are installed): a sig_atomic_t
 * written by the handler and read through lapse_stop_requested(), so no other file shares a
 * global.
 */
#include "exec/ranks.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The first of SIGTERM, SIGUSR2 or SIGINT received (0: none): every rank then finishes or
 * abandons its current task, records what is done and exits with LAPSE_EINTERRUPTED. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    if (!stop_signal)
        stop_signal = sig;
}

lapse_status_t lapse_signals_install(void)
{
    static int installed; /* once: a second install would re-arm SIGINT's SA_RESETHAND */
    if (installed)
        return LAPSE_OK;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    const int sigs[] = {SIGTERM, SIGUSR2, SIGINT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        /* A second Ctrl-C kills at once (the default action), should the clean stop hang. */
        sa.sa_flags = SA_RESTART | (sigs[i] == SIGINT ? SA_RESETHAND : 0);
        if (sigaction(sigs[i], &sa, NULL) != 0)
            return lapse_fail(LAPSE_ERUNTIME, "sigaction(%d) failed: %s", sigs[i], strerror(errno));
    }
    installed = 1;
    return LAPSE_OK;
}

int lapse_stop_requested(void)
{
    return (int)stop_signal;
}

lapse_status_t lapse_interrupted(void)
{
    int sig = (int)stop_signal;
    return lapse_fail(LAPSE_EINTERRUPTED,
                      "stopped by signal %d (%s); the tasks done so far are kept", sig,
                      sig == SIGTERM   ? "SIGTERM"
                      : sig == SIGUSR2 ? "SIGUSR2"
                                       : "SIGINT");
}

lapse_status_t lapse_agree_worst(MPI_Comm comm, lapse_status_t st)
{
    int sev = st == LAPSE_OK             ? 0
              : st == LAPSE_ESKIPPED     ? 1
              : st == LAPSE_EINTERRUPTED ? 2
              : lapse_exit_code(st) == 2 ? 3
                                         : 4;
    int key = sev * 64 + (int)st, worst = key;
    if (MPI_Allreduce(&key, &worst, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
        return LAPSE_EMPI;
    if (worst == 0)
        lapse_err_clear(); /* a message left by an ignored failure is stale now */
    return (lapse_status_t)(worst % 64);
}

lapse_status_t lapse_ranks_init(lapse_ranks_t *r)
{
    lapse_status_t st = LAPSE_OK;
    MPI_Comm node = MPI_COMM_NULL;
    r->world = MPI_COMM_WORLD;
    LAPSE_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    LAPSE_MPI(MPI_Comm_rank(r->world, &r->rank));
    LAPSE_MPI(MPI_Comm_size(r->world, &r->nranks));
    LAPSE_MPI(MPI_Comm_split_type(r->world, MPI_COMM_TYPE_SHARED, r->rank, MPI_INFO_NULL, &node));
    LAPSE_MPI(MPI_Comm_rank(node, &r->local_rank));
    LAPSE_MPI(MPI_Comm_size(node, &r->local_size));
    if (gethostname(r->host, sizeof r->host) != 0)
        snprintf(r->host, sizeof r->host, "unknown");
    r->host[sizeof r->host - 1] = '\0';
    lapse_err_context("rank %d", r->rank);
cleanup:
    if (node != MPI_COMM_NULL)
        MPI_Comm_free(&node);
    return st;
}
