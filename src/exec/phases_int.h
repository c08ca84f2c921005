/*
 * phases_int.h - the state of the per-timepoint reductions (exec/phases.c) and what its two
 * files share: phases.c runs the rounds and the exchange; phases_data.c keeps the tile data
 * between phases (recomputed, in host memory, or in the output's scratch area). Not for use
 * outside src/exec/phases*.c.
 */
#ifndef LAPSE_EXEC_PHASES_INT_H
#define LAPSE_EXEC_PHASES_INT_H

#include "device/dev.h"
#include "exec/phases.h"
#include "io/input_id.h"
#include "ops/global.h"

enum { MODE_WHOLE, MODE_PARTIAL, MODE_FINAL };

/* A task's operands of a multi-pass global step, copied on the device after its pass 0. */
typedef struct {
    int used;
    lapse_dvol_t in[LAPSE_OP_MAX_INPUTS];
    int nin;
    lapse_gtile_t tile;
    cl_mem mat, work; /* the pipeline's buffers of the step (not owned) */
    cl_mem state;     /* an iterative step's state between passes (tmem): the buffer as the
                       * last pass left it (its own core current), or NULL (host memory only) */
    int borrowed;     /* 1: in[].mem are the buffers of the tile's checkpoint (not owned) */
    size_t bytes;
} opcache_t;

/* A timepoint the rounds left out (on_error: skip): the first failure of one of its tasks. */
typedef struct {
    char *msg;         /* its message (as printed by the rank that saw it), or NULL: none */
    lapse_status_t st; /* its status */
    int agreed;        /* 1 once every rank knows it (fail_agree): the rounds leave it out */
} tp_fail_t;

struct lapse_phases {
    lapse_worker_t *w;
    const lapse_graph_t *g;
    lapse_plan_t full; /* the plan's geometry with every task (todo NULL; tps borrowed) */
    int64_t ntps, ntiles;
    lapse_blob_t *res; /* [ntps * nsteps]: the result of global step k for timepoint index i */
    int mode;
    int capturing;      /* 1 while capture_whole runs the pipelines (MODE_WHOLE) */
    int target, pass;   /* MODE_PARTIAL: the step and pass being computed */
    lapse_blob_t *prev; /* [ntps]: the previous pass's result of the target step */
    lapse_blob_t part;  /* the partial of the task just run */
    int64_t cur_tpi;    /* timepoint index of the current task */
    lapse_task_t cur;
    int scratch[LAPSE_MAX_STEPS]; /* output dataset index of step k's tile data, or -1 (an
                                   * iterative step has two: passes alternate between them) */
    int *last;                    /* [ntps * nsteps]: an iterative step's last pass */
    void **cache; /* [ntps * ntiles]: a task's input read box kept between rounds, or NULL */
    size_t cached, cache_max; /* bytes kept, and at most (cache_budget) */
    void *mat_host; /* host copy of tile data: the largest read box x 8 bytes (mat_pin's memory,
                     * or malloc's where pinned memory could not be had) */
    lapse_cl_pinned_t mat_pin;
    cl_mem *dcache; /* [ntps * ntiles]: a task's input read box kept on the device, or NULL */
    size_t dcached, dcache_max; /* device bytes kept, and at most (the rank's device share
                                 * less a task's bytes, halved) */
    opcache_t *ocache; /* [ntps * ntiles]: the target step's operands kept after its pass 0, so
                        * that its later passes skip the pipeline (opcache_keep) */
    lapse_pipe_ckpt_t **ckpt; /* [ntps * ntiles]: a task's pipeline state before the last global
                               * step whose rounds it ran here (ckpt_keep), or NULL: later
                               * rounds and the task resume from it */
    int ck_off;       /* 1 after a checkpoint could not be allocated: no more on this rank */
    int oc_off;       /* 1 after kept operands could not be allocated: no more on this rank */
    int *owner;       /* [ntps * ntiles]: the rank that runs the tile in every round (owners_deal),
                       * -1 outside the active timepoints */
    uint64_t *tp_sum; /* [ntps]: the input sum of a timepoint whose sample box came whole in the
                       * boxes this rank's rounds read (read_input), 0: none (io/input_id.h) */
    lapse_sample_t *sample; /* [ntps]: the parts of each sample that came so far */
    long long n_ck_saved, n_ck_rounds, n_ck_tasks; /* checkpoints kept, round runs and tasks
                                                    * resumed from one (profile) */
    long long n_sums;                              /* input sums tasks took from tp_sum (profile) */
    int64_t evict;   /* the next dcache slot box_evict looks at (an iterative step's rounds) */
    size_t dboxes;   /* of dcached, the bytes of input boxes (the rest: kept operands) */
    int box_pending; /* 1 while a round's run keeps its input box (not yet in dcached) */
    int tdmem[LAPSE_MAX_STEPS];           /* 1: step k's tile data lives in host memory (tdata) */
    lapse_blob_t *tdata[LAPSE_MAX_STEPS]; /* [ntps * ntiles]: every tile's core data, shared */
    lapse_blob_t *tdown; /* [ntps * ntiles]: this rank's new tile data, until shared */
    lapse_blob_t *tspare[LAPSE_MAX_STEPS]; /* [ntps * ntiles]: the blobs a share replaced in
                                            * tdata[k], for the tile's next store (no fresh
                                            * pages); freed when the rounds end */
    int tmem;             /* 1 while an iterative step's tile state is in host memory (tmem_*) */
    void **tstate;        /* [ntps * ntiles]: this rank's tiles' core state (tmem), or NULL */
    lapse_blob_t *shells; /* [ntps * ntiles]: every tile's rings for its neighbours (tmem) */
    cl_mem relay; /* recomputed tile data laid out as the read box (recomputed()), or NULL */
    size_t relay_bytes;
    tp_fail_t *fail;   /* [ntps]: the timepoints left out after a failure (on_error: skip) */
    size_t cache_max0; /* cache_max before ph_tdata_decide took the tile data's share */
    int profile;       /* LAPSE_PROFILE=1: where the rounds' time goes (printed) */
    int rounds;        /* 1: the tasks need the waves' rounds (lapse_phases_run_wave) */
    int64_t n_calls;   /* waves run so far (lapse_phases_run_wave) */
    lapse_phases_round_fn on_round; /* told of each round as it begins, or NULL */
    void *on_round_ctx;
    int64_t wave_rounds; /* rounds begun in the current wave */
    unsigned tdata_told; /* where the tile data lives as rank 0 last printed it (ph_tdata_decide:
                          * 1 + the steps' tdmem as bits), 0: not yet */
    int tmem_told;       /* rank 0: 1 + tmem as it last printed it (iterate_rounds), 0: not yet */
    int n_rounds;        /* the run's rounds, over n_active timepoints in n_waves waves */
    int64_t n_active, n_waves;
    double t_rounds, t_idle; /* seconds in the rounds, and this rank's idle at their ends */
    int reported; /* 1 once the rounds' line is printed (after the last wave, or at the end) */
    double t_input, t_run, t_wait, t_exchange, t_reduce; /* seconds, this rank (profile) */
    double t_share, t_rings;    /* tile data shared (tdata_share), rings and final states (tmem) */
    double t_tables;            /* the waves' tables written (write_table) */
    double t_mat_box, t_mat_up; /* of t_run: read boxes of tile data put together, uploaded */
    double t_mat_down, t_mat_out; /* of t_run: cores downloaded, copied out of the staging */
    double t_kept_in, t_kept_step, t_kept_out; /* of t_run, the passes on a state kept on the
                                                * device: rings in, the step, rings out */
    long long n_kept, n_state, n_reused;       /* operand sets kept (opcache_keep), of them with the
                                                * growth's state, and passes run from them (profile) */
    cl_mem ring_dev; /* staging of rings and states kept on the device (tmem), or NULL */
    size_t ring_dev_bytes;
    char *ring_host;
    size_t ring_host_bytes;
};

typedef struct {
    int64_t *tpi; /* active timepoint indices (with a pending task), ascending */
    int64_t n;
} active_t;

/* ---- shared between phases.c (the rounds) and phases_data.c (where tile data lives) ---- */

/* Whether this rank runs tile tl of timepoint index tpi in the rounds (and keeps its state). */
static inline int ph_owns(const lapse_phases_t *ph, int64_t tpi, int64_t tl)
{
    return ph->owner[tpi * ph->ntiles + tl] == ph->w->r->rank;
}

/* The current task's box of tile data for step k: its core (core 1) or its read box (core 0);
 * one plane for a one-plane operand. */
void ph_mat_box(const lapse_phases_t *ph, int k, int core, lapse_box_t *box);
/* The scratch dataset step k's pass `pass` writes (and pass + 1 reads). */
int ph_scratch_of(const lapse_phases_t *ph, int k, int pass);
/* The current task's tile for global step k's operand (core_rel: relative to the buffer). */
void ph_current_tile(const lapse_phases_t *ph, int k, const lapse_box_t *core_rel,
                     lapse_gtile_t *tile);
/* Step k's core box of task t in its operand's image (one plane for a one-plane operand). */
void ph_tile_core(const lapse_phases_t *ph, int k, const lapse_task_t *t, lapse_box_t *box);
/* Copy box b of the C-order array src (box sb) into dst (box db), e bytes per voxel. */
void ph_copy_box(char *dst, const lapse_box_t *db, const char *src, const lapse_box_t *sb,
                 const lapse_box_t *b, size_t e);
/* Collective: every rank's records (index idx[i], blob mine[i]) to all[index] on every rank;
 * with move 1 this rank's own blobs are moved there (mine[i] receives all[idx[i]]'s old blob,
 * or is emptied), else copied. */
size_t ph_exchange_unit(const long long *sizes, int n, long long limit);
lapse_status_t ph_exchange(MPI_Comm comm, int nranks, const int64_t *idx, lapse_blob_t *mine,
                           int64_t nmine, lapse_blob_t *all, int64_t nall, int move);

/* Whether step k's tile data is recomputed (op.h mat_local, graph need 0) rather than kept. */
int ph_recomputed(const lapse_graph_t *g, int k);
/* Recompute step k's tile data of the current task into mat and lay it out as the read box in
 * ph->relay (core relative to the operand in). */
lapse_status_t ph_recompute(lapse_phases_t *ph, lapse_dev_t *d, int k, const lapse_dvol_t *in,
                            cl_mem mat, cl_mem work, const lapse_box_t *core);
/* Store the current task's tile data of step k after pass `pass` (mat: the core's voxels, or
 * for an iterative step the buffer of dims bdim with the core at core_rel): into this rank's
 * pending data when tdmem[k], else into the scratch dataset. */
lapse_status_t ph_mat_store(lapse_phases_t *ph, lapse_dev_t *d, int k, int pass, cl_mem mat,
                            const int64_t bdim[3], const lapse_box_t *core_rel);
/* Load the current task's read box of step k's tile data (pass `pass`) into mat (n voxels):
 * from the shared tile data when tdmem[k], else from the scratch dataset. */
lapse_status_t ph_mat_load(lapse_phases_t *ph, lapse_dev_t *d, int k, int pass, cl_mem mat,
                           size_t n);
/* ph->mat_host = box of step k's shared tile data (tdmem). */
lapse_status_t ph_tdata_box(lapse_phases_t *ph, int k, const lapse_box_t *box);
/* Collective: this rank's pending tile data of step k to every rank's tdata[k]. */
lapse_status_t ph_tdata_share(lapse_phases_t *ph, int k);
/* Collective: tdmem[] for a wave (the tile data of its active timepoints a fits half the host
 * budget on every rank); prints the choice when it is new. */
lapse_status_t ph_tdata_decide(lapse_phases_t *ph, const active_t *a);

/* The growth's state in host memory between passes (tmem): store the current task's core
 * state, load its buffer from it and the neighbours' rings, exchange the rings (collective),
 * hand a converged timepoint's state on (to the shared data or the scratch dataset), forget it
 * all, and decide (collective) whether it is used for step k over the timepoints of a. */
lapse_status_t ph_tmem_store(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem mat,
                             const int64_t bdim[3], const lapse_box_t *core_rel);
lapse_status_t ph_tmem_load(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem mat,
                            const lapse_dvol_t *in);
lapse_status_t ph_tmem_exchange(lapse_phases_t *ph, int k, const active_t *a);
/* The same with the state kept on the device (opcache_t state, the read box's layout, n voxels):
 * load writes the neighbours' rings into it (the core there is the last pass's already);
 * rings_down reads the current task's rings for its neighbours out of it into its state in host
 * memory (what the exchange sends; the rest of that copy is stale); down reads the whole core of
 * task t (timepoint index tpi) into it (before ph_tmem_final). */
lapse_status_t ph_tmem_load_dev(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem state, size_t n);
lapse_status_t ph_tmem_rings_down(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem state,
                                  size_t n);
lapse_status_t ph_tmem_down(lapse_phases_t *ph, lapse_dev_t *d, int k, int64_t tpi,
                            const lapse_task_t *t, cl_mem state);
lapse_status_t ph_tmem_final(lapse_phases_t *ph, int k, int64_t tpi, int pass);
void ph_tmem_clear(lapse_phases_t *ph);
lapse_status_t ph_tmem_decide(lapse_phases_t *ph, int k, const active_t *a, int *on, char *why,
                              size_t len);

#endif
