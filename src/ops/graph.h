/*
 * graph.h - a pipeline compiled once, on the host and without OpenCL: which results every step
 * reads (the previous step, `from: NAME`, `from: input`, and a second operand `with: NAME`),
 * per-step shapes and dtypes at the image's size, the work buffers assigned by liveness, the
 * reach (the union of the input boxes along every path to an output), device bytes per task,
 * the outputs (saved steps, then the final result) and the segments between global steps. The
 * config loader, the planner, the driver and the device executor (pipeline.c) all use this one
 * result instead of recomputing it.
 */
#ifndef LAPSE_GRAPH_H
#define LAPSE_GRAPH_H

#include "ops/op.h"
#include "status.h"
#include "types.h"

#define LAPSE_GRAPH_INPUT   (-1) /* operand: the pipeline's input (converted to float32) */
#define LAPSE_GRAPH_SCRATCH 4    /* most scratch buffers of one step */

typedef struct {
    const lapse_step_t *step;
    int nin;
    int in[LAPSE_OP_MAX_INPUTS]; /* operand nodes: LAPSE_GRAPH_INPUT or an earlier step index */
    int64_t dims[3];             /* result dims for the whole image */
    lapse_dtype_t dtype;         /* natural dtype of the result */
    int last_use;                /* last step that reads it (-1: none; then it is an output) */
    int buf;                     /* work buffer slot of the result */
    int scratch[LAPSE_GRAPH_SCRATCH];
    int output; /* index of its output, or -1 */
    /* 1: a two-input step whose operands reach it through different geometric steps, so that
     * their boxes in a task differ: the executor first copies the common box of each operand
     * whose box is larger into slot win[i]. */
    int window;
    int win[LAPSE_OP_MAX_INPUTS];
    int64_t need[3]; /* voxels each side of an output core its result is needed (later steps'
                      * reach along the paths to the outputs; 0: the core only) */
} lapse_gnode_t;

typedef struct {
    int node;            /* step whose result it is */
    lapse_dtype_t dtype; /* dtype written (the final result: output.dtype unless auto) */
    int flat;            /* 1: a [t, y, x] dataset (the result has one z plane) */
} lapse_goutput_t;

typedef struct lapse_graph {
    int nsteps;
    lapse_gnode_t node[LAPSE_MAX_STEPS];
    int64_t in_shape[3];
    lapse_dtype_t in_dtype;
    int input_buf;  /* slot of the converted input */
    int input_last; /* last step that reads the input */
    int nbuf;       /* float32 work buffer slots, each as large as the read box */
    int nout;
    lapse_goutput_t out[LAPSE_MAX_STEPS + 1]; /* saved steps in order, the final result last */
    int64_t reach[3]; /* voxels each side an output voxel depends on (the halo: auto) */
    int keep_z;       /* 1: a task's core must hold whole z columns (a projection, or a
                         one-plane output of an image with more planes) */
    int transform;    /* 1: some step is geometric (LAPSE_FP_TRANSFORM) */
    /* The image the tiles cover: the outputs' shape (z, y, x). Every output has it, except that
     * a one-plane (flat) output has z = 1; when all outputs are flat, z is the input's when
     * keep_z (a projection: whole columns), else 1. Without geometric steps it is in_shape. */
    int64_t out_shape[3];
    int nseg; /* segments: steps [seg[i], seg[i+1]) run without a global step inside */
    int seg[LAPSE_MAX_STEPS + 1];
} lapse_graph_t;

/* Where a graph error is: the step and its key ("from", "with", "name", "op"). */
typedef struct {
    int step;
    const char *key;
    lapse_mark_t mark;
} lapse_graph_err_t;

/* The input-independent part of compile: operands resolved (from:, with:, names) and every
 * result used. Errors as for compile. For the config loader, before the input is known. */
lapse_status_t lapse_graph_link(const lapse_step_t *steps, int n, lapse_graph_t *g,
                                lapse_graph_err_t *err);

/* Compile steps[0..n-1] for an input of shape (z, y, x) and dtype; out_dtype is output.dtype
 * (LAPSE_DT_AUTO: natural). On a bad graph returns LAPSE_ECONFIG with the message recorded
 * (lapse_errmsg) and *err saying where; g is then unspecified. steps must outlive g. */
lapse_status_t lapse_graph_compile(const lapse_step_t *steps, int n, const int64_t shape[3],
                                   lapse_dtype_t in_dtype, lapse_dtype_t out_dtype,
                                   lapse_graph_t *g, lapse_graph_err_t *err);

/* The read box (clipped to the input image) a task with core box core (in out_shape) needs so
 * that every output voxel of the core equals the untiled result: the union of the steps' input
 * boxes along every path from the outputs back to the input. */
void lapse_graph_read_box(const lapse_graph_t *g, const lapse_box_t *core, lapse_box_t *read);

/* The box of its own image that every node's result covers in a task whose input buffer holds
 * read (the input's image) and whose outputs take core (out_shape), into box[node]; returns the
 * voxels of the largest of read and the boxes (the work buffer the task needs). A step that is
 * not geometric computes its result over its first operand's box (a projection: one plane),
 * or over the common box of its two operands; a geometric step over the part of its result
 * that later steps and the outputs need (its want box, from the box rules). */
int64_t lapse_graph_node_boxes(const lapse_graph_t *g, const lapse_box_t *read,
                               const lapse_box_t *core, lapse_box_t box[]);

/* The dims every node's result has for a read box of dims read (z, y, x), into dims[node][3]
 * (graphs without geometric steps). */
void lapse_graph_dims(const lapse_graph_t *g, const int64_t read[3], int64_t dims[][3]);

/* Device bytes of a task: the input staging (non-float input), the work buffers, global
 * steps' tile data and the largest global work buffer for read_voxels, plus the packed outputs
 * for core_voxels. */
unsigned long long lapse_graph_device_bytes(const lapse_graph_t *g, long long read_voxels,
                                            long long core_voxels);

/* Cut the steps into segments at global steps (footprint LAPSE_FP_GLOBAL): a global step
 * starts a new segment. Fills g->nseg and g->seg (done by compile; exposed for tests). */
void lapse_graph_segments(lapse_graph_t *g);

/* Whether step k's op is global (ends the segment before it). */
int lapse_graph_is_global(const lapse_graph_t *g, int k);

#endif
