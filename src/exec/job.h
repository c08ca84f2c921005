/*
 * job.h - phases 1 and 2 of a run: the job every rank knows after validation.
 *
 * Rank 0 reads the config file and broadcasts its text; every rank parses it. Rank 0 reads the
 * kernel files of custom_kernel steps and broadcasts their bytes (the same text on every rank).
 * Rank 0 then validates it against the input (dataset, timepoints, halo) and the output (what to do
 * with an existing file, lock.h) and broadcasts the verdict and the facts it found, so that every
 * rank ends with the same lapse_job_t, or with the same failure before anything is written.
 */
#ifndef LAPSE_EXEC_JOB_H
#define LAPSE_EXEC_JOB_H

#include <stdint.h>

#include "config.h"
#include "exec/ranks.h"
#include "io/reader.h"
#include "h5out.h"
#include "lock.h"
#include "ops/graph.h"
#include "plan.h"
#include "run.h"

/* Everything every rank knows about the job after validation. */
typedef struct {
    lapse_config_t cfg;
    lapse_input_info_t in;
    int64_t *tps;
    int64_t ntps;
    int64_t reach[3];
    int64_t halo[3];
    int keep_z;           /* 1: the pipeline needs whole z columns (a projection) */
    lapse_graph_t graph;  /* the pipeline compiled for the input (its steps: cfg.steps) */
    lapse_mode_t mode;    /* how the output file is opened */
    int recompute;        /* 1: run every selected task; 0: only those not done */
    int updating;         /* rank 0: an update (output.mode, or implied by --timepoints) */
    int config_differs;   /* rank 0: an update whose config is not the one that made the output or
                           * not its last run's */
    char fingerprint[24]; /* of this config (fingerprint.h), with the input path canonical */
    /* rank 0: the same with the input path as spelled in the config, as lapse computed it before
     * 2026-12-03; an output made then records this one, and keeps it (decide_output) */
    char fingerprint_spelled[24];
    char input_identity[96]; /* of the input at validation (io/input_id.h) */
    char input_unread[512];  /* its first sample box that could not be read then and why, or "" */
    /* rank 0: the parts token of the lapse output this run replaces (output.mode: overwrite), ""
     * when it had no parts (io/h5parts.h) */
    char replaced_parts[40];
    int64_t file_tile[3]; /* tile of an existing output ([0,0,0]: a new file) */
    int64_t file_ntiles;  /* tiles per timepoint of an existing output */
    unsigned char *done;  /* its task marks [ntp * file_ntiles], or NULL */
    /* the output's number of timepoints when this run grows it to in.ntp (an update of an
     * output.parts or Zarr output onto an input that has more timepoints: h5out.h, "Growing"); 0
     * when it does not grow. done then holds the old marks in its first grow_from rows, zeros after
     */
    int64_t grow_from;
    /* rank 0, an update of an output.parts output: per timepoint, 1 where the part is missing
     * and this update makes it anew (lapse_job_remake_parts); NULL when none is */
    unsigned char *lost_parts;
    lapse_lock_t lock; /* rank 0: the output's writer lock */
    int nout;
    lapse_dset_spec_t out[3 * LAPSE_MAX_STEPS + 1]; /* the outputs, then the scratch datasets */
    int out_step[LAPSE_MAX_STEPS + 1];
    int nscratch; /* scratch datasets (out[nout + i]): tile data of global steps between phases */
    int scratch_step[2 * LAPSE_MAX_STEPS]; /* the global step of scratch dataset i */
} lapse_job_t;

/* Collective over r->world: phases 1 and 2. Zeroes *job, then fills it identically on every
 * rank (rank 0 also holds the output's lock unless o->dry_run). Returns the same status on
 * every rank: LAPSE_ECONFIG/EINPUT/EUSAGE for a bad config or input (the message is recorded
 * on rank 0 only, with the config's file:line:column), another failure when any rank failed.
 * On failure *job may be partly filled: release it with lapse_job_free in every case. */
lapse_status_t lapse_job_prepare(const lapse_ranks_t *r, const lapse_run_opts_t *o,
                                 lapse_job_t *job);

/* Local. Chunk every output dataset as [1, tile] (z dropped for a 3-D dataset). */
void lapse_job_set_chunks(lapse_job_t *job, const lapse_plan_t *plan);

/* Rank 0, once the done marks of the selected timepoints are reset (an update): make the
 * missing parts job->lost_parts names anew, empty, with the output's parts token (the main
 * file's virtual datasets find them by name). Nothing when there are none. LAPSE_EH5/EIO with
 * a message on failure. */
lapse_status_t lapse_job_remake_parts(const lapse_job_t *job, const char *token);

/* Local. Release what *job owns (the lock, the task marks, the timepoints, the config). A
 * zeroed job is accepted (its lock.fd must be -1 or a held lock). */
void lapse_job_free(lapse_job_t *job);

/* The bytes the result datasets of job hold uncompressed (sum over job->out[0..nout) of the
 * voxels times the dtype size, each axis rounded up to whole chunks where the chunks are set; with
 * output.parts the same bytes are in the parts files, with output.format: zarr in the store; the
 * scratch datasets of global steps are not counted). */
unsigned long long lapse_job_output_bytes(const lapse_job_t *job);

/* Rank 0, for an output made anew (create, overwrite): LAPSE_ECONFIG at output.file (nothing
 * written) when its uncompressed result datasets (lapse_job_output_bytes: with their edge
 * chunks once lapse_job_set_chunks ran) do not fit the free space of its file system; else
 * LAPSE_OK (also for compressed outputs, an unreadable file system, LAPSE_SPACE_CHECK=0). */
lapse_status_t lapse_job_check_space(const lapse_job_t *job);

/* The directory of cfg's output file into dir, and the bytes free for this user on its file
 * system (statvfs f_bavail * f_frsize) into *avail: 0, or -1 when statvfs fails. */
int lapse_job_output_free(const lapse_config_t *cfg, char *dir, size_t len,
                          unsigned long long *avail);

/* bytes in human units ("4.2 TiB", "812 KiB", "17 bytes") into buf. */
void lapse_human_bytes(unsigned long long bytes, char *buf, size_t len);

#endif
