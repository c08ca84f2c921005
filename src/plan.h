/*
 * plan.h - partition the selected timepoints of an image into tasks = (timepoint, tile).
 *
 * Each tile has a core box (the tiles of a timepoint cover the image exactly once) and a read
 * box: the core grown by the halo on every side, clipped to the image. With halo >= the
 * pipeline's reach, every core voxel sees the same data as in an untiled run, so results do
 * not depend on the tiling. Every rank computes the same plan from the same inputs; tasks are
 * numbered timepoint-major (all tiles of the first selected timepoint, then the next, ...).
 */
#ifndef LAPSE_PLAN_H
#define LAPSE_PLAN_H

#include "ops/op.h"
#include "status.h"
#include "types.h"

typedef struct {
    int64_t id;   /* stable task id: t * ntiles + tile (the same in every run of an output) */
    int64_t t;    /* timepoint index in the input */
    int64_t tile; /* tile index within the timepoint, 0 .. ntiles-1 */
    lapse_box_t core;
    lapse_box_t read; /* contains core; clipped to the image */
} lapse_task_t;

/* The read box (in the input image) that a task with core box core needs, e.g.
 * lapse_graph_read_box of the pipeline's graph; returns the voxels of the largest work buffer
 * the task needs (at least the read box's: lapse_graph_node_boxes). */
typedef int64_t (*lapse_plan_box_fn)(const void *ctx, const lapse_box_t *core, lapse_box_t *read);

typedef struct {
    int64_t shape[3];    /* the image the tiles cover (the outputs' z, y, x) */
    int64_t in_shape[3]; /* the input image read boxes lie in (shape unless set_read_box) */
    int64_t tile[3];     /* core tile extent (the last tile of an axis may be smaller) */
    int64_t halo[3];
    int64_t grid[3]; /* tiles per axis */
    int64_t ntiles;  /* tiles per timepoint */
    int64_t *tps;    /* selected timepoints, sorted (owned) */
    int64_t ntps;
    int64_t ntasks; /* tasks to run: all selected, or the pending ones (lapse_plan_select) */
    int64_t *todo;  /* NULL: all; else indices (timepoint index * ntiles + tile) of tasks to run */
    /* over all tasks: the largest work buffer (the read box, or with a box function the
     * largest box it reports) and the largest core */
    int64_t max_read_voxels, max_core_voxels;
    lapse_plan_box_fn box_fn; /* read boxes: NULL = core grown by halo, clipped */
    const void *box_ctx;
} lapse_plan_t;

/* Build a plan. tile[] is clipped to the shape; every entry of shape and tile must be >= 1 and
 * halo >= 0, else LAPSE_ECONFIG. tps (ntps entries, sorted unique) is copied. On failure *plan
 * is left zeroed. */
lapse_status_t lapse_plan_make(const int64_t shape[3], const int64_t tile[3], const int64_t halo[3],
                               const int64_t *tps, int64_t ntps, lapse_plan_t *plan);

/* Take every task's read box from fn(ctx, core, read) instead of the core grown by the halo,
 * and make max_read_voxels the largest buffer fn reports over the tiles (the same for every
 * timepoint). in_shape NULL: the read boxes lie in the image the tiles cover and must contain
 * their cores; else they lie in an input image of dims in_shape whose voxels are not the
 * cores' (a pipeline with geometric steps). Boxes that break this are refused (LAPSE_ERUNTIME,
 * plan unchanged). fn and ctx must outlive the plan. */
lapse_status_t lapse_plan_set_read_box(lapse_plan_t *plan, const int64_t in_shape[3],
                                       lapse_plan_box_fn fn, const void *ctx);

/* Keep only the tasks not yet done: done[t * ntiles + tile] != 0 marks a done task, for the
 * input's timepoints t. done must have exactly plan->ntiles columns (the marks of an output
 * written with the same tiling) and cover every selected timepoint: the caller checks both.
 * Sets plan->todo and plan->ntasks (possibly 0). On failure (LAPSE_ENOMEM) the plan is
 * unchanged. */
lapse_status_t lapse_plan_select(lapse_plan_t *plan, const unsigned char *done);

/* Task i (0 <= i < ntasks) of the plan. */
void lapse_plan_task(const lapse_plan_t *plan, int64_t i, lapse_task_t *task);

/* The index of the tile whose core holds the image's centre voxel (shape / 2 on each axis):
 * the one tile of each timepoint whose task records the timepoint's input sum (worker.c). */
int64_t lapse_plan_centre_tile(const lapse_plan_t *plan);

/* Release what the plan owns; a zeroed plan is accepted. */
void lapse_plan_free(lapse_plan_t *plan);

/* Bytes a tile needs on the device (see lapse_pipeline_device_bytes), for the largest task of
 * a plan with this tile. */
typedef unsigned long long (*lapse_plan_cost_fn)(const void *ctx, long long read_voxels,
                                                 long long core_voxels);

/* Choose the largest tile for tiles: auto: start from the whole image and halve the longest
 * splittable axis until cost(...) <= budget and the float32 work buffer of the read box is
 * <= max_alloc bytes. The read voxels of a tile are those of the largest read box (tile grown by
 * halo, clipped to shape) or, when box is not NULL, the largest buffer box(box_ctx, core, read)
 * reports over the tiles of that grid. keep_z: never split z (z-projection pipelines).
 * LAPSE_ECONFIG when even a 1-voxel-thick tile does not fit (the message says the budget and
 * what to change). */
lapse_status_t lapse_plan_auto_tile(const int64_t shape[3], const int64_t halo[3], int keep_z,
                                    unsigned long long budget, unsigned long long max_alloc,
                                    lapse_plan_cost_fn cost, const void *ctx, lapse_plan_box_fn box,
                                    const void *box_ctx, int64_t tile[3]);

#endif
