/*
 * pipeline.h - runs a configured pipeline for one task entirely on the device.
 *
 * Per task: the caller fills the pinned input staging area (lapse_pipeline_input) with the read
 * box in the input dtype; lapse_pipeline_run uploads it once, converts to float32 on the device,
 * runs every step on device buffers (no host round trip), packs the core of each requested
 * result (saved steps in pipeline order, then the final result) into its output dtype on the
 * device, and downloads only those cores into pinned host memory (lapse_pipeline_output).
 * Integer outputs are rounded to nearest and saturated to the type's range.
 * Buffers are allocated once at create time for the largest task and reused.
 */
#ifndef LAPSE_PIPELINE_H
#define LAPSE_PIPELINE_H

#include "clrt.h"
#include "ops.h"
#include "status.h"
#include "types.h"

typedef struct lapse_pipeline lapse_pipeline_t;

/* Seconds spent per phase of one lapse_pipeline_run (each phase ends with clFinish). */
typedef struct {
    double upload, compute, download;
} lapse_pipe_times_t;

/* Number of results a pipeline produces: one per step with save != "", plus the final one. */
int lapse_pipeline_noutputs(const lapse_step_t *steps, int nsteps);

/* For output k (saved steps in order, the final result last): its step index and dtype.
 * out_dtype is the config's output.dtype for the final result (LAPSE_DT_AUTO = natural). */
void lapse_pipeline_output_info(const lapse_step_t *steps, int nsteps, lapse_dtype_t in_dtype,
                                lapse_dtype_t out_dtype, int k, int *step, lapse_dtype_t *dtype);

/* Device bytes a task needs: input staging + float32 work buffers for read_voxels, plus the
 * packed output buffers for core_voxels. Used by the planner for tiles: auto. */
unsigned long long lapse_pipeline_device_bytes(const lapse_step_t *steps, int nsteps,
                                               lapse_dtype_t in_dtype, lapse_dtype_t out_dtype,
                                               long long read_voxels, long long core_voxels);

/* Allocate device buffers and pinned host staging for tasks of at most max_read_voxels read
 * voxels and max_core_voxels core voxels. steps must outlive the pipeline. */
lapse_status_t lapse_pipeline_create(lapse_cl_t *cl, const lapse_step_t *steps, int nsteps,
                                     lapse_dtype_t in_dtype, lapse_dtype_t out_dtype,
                                     long long max_read_voxels, long long max_core_voxels,
                                     lapse_pipeline_t **out);

/* Pinned host memory for the input read box (max_read_voxels voxels of in_dtype). */
void *lapse_pipeline_input(lapse_pipeline_t *p);

/* Run one task. read_dim: the read box extent (z, y, x), whose voxels are in
 * lapse_pipeline_input() in C order; core: the core box relative to the read box. On return
 * output k holds the core of result k, C order, shape core->dim (z = 1 after a z-projection).
 * times may be NULL. */
lapse_status_t lapse_pipeline_run(lapse_pipeline_t *p, const int64_t read_dim[3],
                                  const lapse_box_t *core, lapse_pipe_times_t *times);

/* Pinned host memory holding output k after lapse_pipeline_run. */
const void *lapse_pipeline_output(lapse_pipeline_t *p, int k);

/* Release device and host memory; NULL is accepted. */
void lapse_pipeline_destroy(lapse_pipeline_t *p);

#endif
