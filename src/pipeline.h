/*
 * pipeline.h - runs a compiled pipeline graph (ops/graph.h) for one task entirely on the device.
 *
 * Per task: the caller fills the pinned input staging area (lapse_pipeline_input) with the read
 * box in the input dtype; lapse_pipeline_run uploads it once, converts to float32 on the device,
 * runs every step on device buffers (no host round trip; buffers assigned by the graph's
 * liveness), packs the core of each output (saved steps in order, then the final result) into
 * its dtype on the device right after its step, and downloads only those cores into pinned host
 * memory (lapse_pipeline_output). Integer outputs are rounded to nearest and saturated (the
 * voxels saturated or NaN counted: lapse_pipeline_clipped).
 * Buffers are allocated once at create time for the largest task and reused.
 */
#ifndef LAPSE_PIPELINE_H
#define LAPSE_PIPELINE_H

#include <stdio.h>

#include "clrt.h"
#include "ops/graph.h"
#include "status.h"
#include "types.h"

typedef struct lapse_pipeline lapse_pipeline_t;

/* Seconds of one task on the device, from the queue's profiling: upload (the read box's
 * transfer), compute (from the end of the upload to the end of the last step: the widening, the
 * steps and the packing of the outputs) and download (the cores' transfers); wait: the host's
 * seconds blocked in lapse_pipeline_wait. Where the device gives no profiling, upload and
 * download are 0 and compute is the host's span from the enqueue to the completion. */
typedef struct {
    double upload, compute, download, wait;
} lapse_pipe_times_t;

/* The most staging slots a pipeline can have (lapse_pipeline_set_slots). */
#define LAPSE_PIPE_MAX_SLOTS 3

/* Allocate device buffers, per-step device state and pinned host staging for tasks of at most
 * max_read_voxels voxels in any work buffer (the read box, or a larger box of a geometric
 * step's result: lapse_graph_node_boxes) and max_core_voxels core voxels, and run the graph once
 * on one voxel so that every kernel program it needs is built now, not in the first task. g (and
 * its steps) must outlive the pipeline. *out set only on success. */
lapse_status_t lapse_pipeline_create(lapse_cl_t *cl, const lapse_graph_t *g,
                                     long long max_read_voxels, long long max_core_voxels,
                                     lapse_pipeline_t **out);

/* Called between two segments of the graph (after the steps of segment seg, before those of
 * seg + 1; see lapse_graph_segments), with the device work so far enqueued. A non-OK status
 * stops the task with it. */
typedef lapse_status_t (*lapse_segment_hook_t)(void *ctx, lapse_pipeline_t *p, int seg);

/* Install the hook (NULL: none) for every later lapse_pipeline_run. */
void lapse_pipeline_set_hook(lapse_pipeline_t *p, lapse_segment_hook_t hook, void *ctx);

/* Runs global step k (an op with global hooks, op.h) inside lapse_pipeline_run: in is its
 * operand and out its result over the task's buffers (dims of the read box), core the core box
 * relative to them; mat (the op's mat_bytes per read-box voxel, or NULL) and work (work_bytes
 * per read-box voxel, or NULL) are the pipeline's buffers for it. Setting *stop ends the run after
 * this step (no later step runs, no output is downloaded): a phase that only needs a partial.
 * Without one installed, global steps run on the task's buffer as a whole timepoint
 * (lapse_global_whole). */
typedef lapse_status_t (*lapse_global_fn)(void *ctx, lapse_pipeline_t *p, int k,
                                          const lapse_dvol_t *in, const lapse_dvol_t *out,
                                          cl_mem mat, cl_mem work, const lapse_box_t *core,
                                          int *stop);

/* Install fn (NULL: the whole-timepoint default) for every later lapse_pipeline_run. */
void lapse_pipeline_set_global(lapse_pipeline_t *p, lapse_global_fn fn, void *ctx);

/* Pinned host memory for the input read box (max_read_voxels voxels of the input dtype) of
 * slot 0. */
void *lapse_pipeline_input(lapse_pipeline_t *p);

/* Give the pipeline nslots (1 to LAPSE_PIPE_MAX_SLOTS) staging slots: each its own pinned input
 * and outputs, so that tasks overlap (lapse_pipeline_enqueue / _wait). A new pipeline has one;
 * existing slots are kept. The device buffers are shared by all slots. */
lapse_status_t lapse_pipeline_set_slots(lapse_pipeline_t *p, int nslots);

/* The number of staging slots. */
int lapse_pipeline_slots(const lapse_pipeline_t *p);

/* Pinned input of slot s (NULL for a bad s). The caller may fill it only while the slot has no
 * task in flight (before lapse_pipeline_enqueue, after lapse_pipeline_wait). */
void *lapse_pipeline_input_slot(lapse_pipeline_t *p, int s);

/* Pinned output k of slot s (NULL for a bad s or k): valid after lapse_pipeline_wait(s) until
 * the slot's next enqueue. */
const void *lapse_pipeline_output_slot(lapse_pipeline_t *p, int s, int k);

/* The voxels of output k of the task last waited for on slot s that its integer dtype could
 * not hold: NaN (written as 0) or rounded outside the dtype's range (saturated); 0 for a float32
 * output, a bad s or k. Valid as lapse_pipeline_output_slot. */
int64_t lapse_pipeline_clipped(const lapse_pipeline_t *p, int s, int k);

/* Enqueue one task on slot s (as lapse_pipeline_run: its read box in the slot's input, or,
 * when from is not NULL, copied on the device from `from` as lapse_pipeline_run_dev) and flush
 * the queue without waiting: the device runs it while the host does other work. Tasks
 * run in the order they are enqueued (one in-order queue). The slot must have no task in
 * flight. A global step's callback runs inside (it may wait on the queue). On failure nothing
 * of the task is left running. */
lapse_status_t lapse_pipeline_enqueue(lapse_pipeline_t *p, int s, const lapse_box_t *read,
                                      const lapse_box_t *core, cl_mem from);

/* Wait for the task in flight on slot s; then its outputs are in the slot's output memory.
 * times (may be NULL): its device seconds (lapse_pipe_times_t). */
lapse_status_t lapse_pipeline_wait(lapse_pipeline_t *p, int s, lapse_pipe_times_t *times);

/* Run one task on slot 0 (enqueue, then wait). read: the read box in the input image (g->in_shape),
 * whose voxels are in lapse_pipeline_input() in C order; core: the core box in the output image
 * (g->out_shape). Every node's box comes from lapse_graph_node_boxes. On return output k holds the
 * core of result k, C order, shape core->dim (z = 1 for a one-plane result). Returns
 * LAPSE_ERUNTIME, without running anything, when the boxes do not fit the images or the sizes the
 * pipeline was made for, or when read lacks what a geometric step's box rule needs. times may be
 * NULL. When a global step ended the run early (lapse_global_fn sets *stop),
 * lapse_pipeline_stopped() says so and the outputs are not downloaded. */
lapse_status_t lapse_pipeline_run(lapse_pipeline_t *p, const lapse_box_t *read,
                                  const lapse_box_t *core, lapse_pipe_times_t *times);

/* lapse_pipeline_run with the input on the device: from (not NULL) holds the read box's voxels
 * as a keep of an earlier run of the same read box made them (the input dtype, C order), and
 * is copied on the device instead of uploading lapse_pipeline_input() (times->upload is that
 * copy); else the input is
 * uploaded and, when keep is not NULL, *keep receives a new device buffer with a copy of it
 * (the caller releases it; NULL when from was given). Same errors as lapse_pipeline_run. */
lapse_status_t lapse_pipeline_run_dev(lapse_pipeline_t *p, const lapse_box_t *read,
                                      const lapse_box_t *core, lapse_pipe_times_t *times,
                                      cl_mem from, cl_mem *keep);

/* A task's state just before global step k, kept on the device (a checkpoint): copies of the
 * results that step k and the later steps read (the input as float32, when they read it), each
 * over its box, and of the packed cores of the outputs before step k. A run resumed from it
 * (lapse_pipeline_resume) runs steps k, k + 1, ... only and gives the bits of a whole run,
 * provided the global steps before k would give the same results again. */
typedef struct lapse_pipe_ckpt lapse_pipe_ckpt_t;

/* Device bytes a checkpoint before step k of the task (read, core) holds. */
size_t lapse_pipeline_ckpt_bytes(const lapse_pipeline_t *p, int k, const lapse_box_t *read,
                                 const lapse_box_t *core);

/* Only from the global callback of step k (lapse_global_fn), before it changes anything: a
 * checkpoint of the running task before step k into *out (new device buffers; the copies are
 * enqueued on the pipeline's queue, so later work cannot overtake them). On failure *out is
 * NULL and nothing is kept. */
lapse_status_t lapse_pipeline_ckpt_save(lapse_pipeline_t *p, int k, lapse_pipe_ckpt_t **out);

/* The step a run resumed from c starts at (-1 for NULL), and c's device bytes (0 for NULL). */
int lapse_pipeline_ckpt_step(const lapse_pipe_ckpt_t *c);
size_t lapse_pipeline_ckpt_size(const lapse_pipe_ckpt_t *c);

/* The buffer of c holding node's result (LAPSE_GRAPH_INPUT: the input as float32) over the
 * node's box of the task, or NULL when c does not hold it. Owned by c. */
cl_mem lapse_pipeline_ckpt_value(const lapse_pipe_ckpt_t *c, int node);

/* Release c's buffers (commands already enqueued that use them still complete); NULL is
 * accepted. */
void lapse_pipeline_ckpt_free(lapse_pipe_ckpt_t *c);

/* lapse_pipeline_enqueue resumed from checkpoint c of the same task (read and core as when it
 * was saved; else LAPSE_ERUNTIME and nothing runs): c's copies are put back on the device
 * (times->upload: the last of those copies) and the steps from c's step on run; the slot's
 * input memory is not read. c is only read before the first step runs: a step's callback may
 * free it (OpenCL keeps its buffers until the copies have run). */
lapse_status_t lapse_pipeline_resume(lapse_pipeline_t *p, int s, const lapse_box_t *read,
                                     const lapse_box_t *core, const lapse_pipe_ckpt_t *c);

/* 1 when the last lapse_pipeline_run was ended early by a global step, else 0. */
int lapse_pipeline_stopped(const lapse_pipeline_t *p);

/* Pinned host memory holding output k of slot 0 after lapse_pipeline_run (NULL for a bad k). */
const void *lapse_pipeline_output(lapse_pipeline_t *p, int k);

/* The device state (kernels, profiling) the pipeline runs on. */
struct lapse_dev *lapse_pipeline_dev(lapse_pipeline_t *p);

/* With LAPSE_PROFILE=1 in the environment at lapse_pipeline_create, every step of every run is
 * timed from a drained queue to a drained queue (which serialises the steps): print one line
 * per step (runs, seconds, milliseconds per run) to f, each line starting with prefix. Prints
 * nothing without LAPSE_PROFILE=1; p may be NULL. */
void lapse_pipeline_profile(const lapse_pipeline_t *p, FILE *f, const char *prefix);

/* Release device and host memory; NULL is accepted. */
void lapse_pipeline_destroy(lapse_pipeline_t *p);

#endif
