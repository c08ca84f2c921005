/*
 * sizing.h - phase 4 of a run: the plan, sized to the device memory each rank may use.
 *
 * Ranks of one host that chose the same OpenCL device share its memory: each rank's share is
 * the device's memory (capped by LAPSE_DEVICE_MEM_LIMIT=BYTES) divided by the number of ranks
 * on that device. tiles: auto takes the largest tile whose task fits a fraction of the smallest
 * share over all ranks; an explicit tile must fit that share. Every rank computes the same plan.
 */
#ifndef LAPSE_EXEC_SIZING_H
#define LAPSE_EXEC_SIZING_H

#include "clrt.h"
#include "exec/job.h"
#include "exec/ranks.h"
#include "plan.h"

/* The device memory a plan is sized to, the same on every rank. */
typedef struct {
    unsigned long long share;     /* smallest over all ranks of device memory / ranks on it */
    unsigned long long max_alloc; /* smallest largest-buffer size, at most 4 GiB - 1 */
    unsigned long long device;    /* memory of the device that gave share (capped) */
    int nshare;                   /* ranks sharing that device */
    int host_ranks;               /* ranks on this rank's host */
    int host_backed;              /* 1: a CPU device, whose memory is the host's: device is at
                                     most half of what the process may use (its cgroup's) */
} lapse_devmem_t;

/* Local. Device bytes one task with these read and core voxel counts needs for the job's
 * pipeline (lapse_pipeline_device_bytes). Never fails. */
unsigned long long lapse_sizing_task_bytes(const lapse_job_t *job, long long read_voxels,
                                           long long core_voxels);

/* Local. LAPSE_ECONFIG (at tiles.shape) when the config's explicit tile differs from the
 * existing output's (job->file_tile; its task marks are per tile), else LAPSE_OK (also for
 * tiles: auto and a new output). decide_output checks it before it says what the run will do. */
lapse_status_t lapse_sizing_file_tile(const lapse_job_t *job);

/* Collective over r->world: measure the device memory (*mem) and make the plan (*plan, to be
 * released with lapse_plan_free) for the job on device dev: the existing output's tiling,
 * tiles: auto, or the configured tile; then keep only the tasks not done when continuing.
 * Returns LAPSE_ECONFIG (with the config position) when the tile does not fit or differs from
 * an existing output's, LAPSE_EINPUT when the output's task state does not match, LAPSE_EMPI on
 * an MPI failure. The status is this rank's (every rank fails alike on the same inputs, but the
 * caller agrees). On failure *plan is left zeroed or must still be freed. */
lapse_status_t lapse_sizing_plan(const lapse_ranks_t *r, const lapse_job_t *job,
                                 const lapse_cl_choice_t *dev, lapse_devmem_t *mem,
                                 lapse_plan_t *plan);

#endif
