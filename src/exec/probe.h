/*
 * probe.h - `lapse plan CONFIG --probe`: run one real task of the job on this rank's device and
 * predict the whole run from it (time per phase, total time at a rank count, device memory per
 * task, what bounds the run, and how many ranks per GPU or GPUs would help).
 *
 * The probe is read-only: the output file is neither created nor locked (the plan's job is
 * prepared as for a dry run), the task's results stay in memory, and the write phase is timed
 * by writing the same bytes with HDF5 (MPI-IO driver, independent I/O, chunked like the output)
 * into a temporary file in the output's directory, removed before returning. Only rank 0
 * probes; the other ranks wait.
 *
 * The model (printed with the numbers): the phases of the probe task are scaled to the average
 * pending task (read, upload, compute by read-box voxels; download, write by core voxels). Each
 * of N ranks spends rank-task seconds per task: max(read + write, upload + compute + download)
 * when its loop overlaps I/O with the device (lapse_worker_overlap), else their sum; the ranks
 * share the storage (its bandwidth is what the one probing rank measured: reads and writes of
 * all ranks queue behind each other), and the ranks of one GPU share it (their uploads, kernels
 * and downloads queue). Tasks then take
 *   max(tasks x rank-task / N, tasks x (read + write), tasks x (upload + compute + download) / G)
 * for G = ceil(N / ranks per GPU) GPUs, plus the setup (device open and kernel builds, measured)
 * and, for global steps over several tiles, the rounds (an estimate: passes x (upload +
 * compute) per task).
 */
#ifndef LAPSE_EXEC_PROBE_H
#define LAPSE_EXEC_PROBE_H

#include "clrt.h"
#include "exec/job.h"
#include "exec/ranks.h"
#include "exec/sizing.h"
#include "plan.h"

/* What the caller asks of the probe. */
typedef struct {
    int json;          /* 1: one JSON object on stdout instead of the text report */
    int nranks;        /* ranks of the predicted run; 0: the MPI size */
    int ranks_per_gpu; /* ranks sharing one GPU in the predicted run; 0: as this launch (mem) */
} lapse_probe_opts_t;

/* Collective over r->world. Rank 0 runs the probe task of plan (the middle selected timepoint,
 * its first tile, whose core is a full tile) twice on cl's device and prints the report to
 * stdout; the other ranks wait. Writes nothing but the temporary file it removes. Returns the
 * status agreed by all ranks; a failure is printed by rank 0 (LAPSE_EIO when the temporary
 * file cannot be written, LAPSE_EREAD when the input cannot be read). */
lapse_status_t lapse_probe_run(const lapse_ranks_t *r, const lapse_job_t *job, lapse_cl_t *cl,
                               const lapse_plan_t *plan, const lapse_devmem_t *mem,
                               const lapse_probe_opts_t *o);

#endif
