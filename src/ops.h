/*
 * ops.h - the table of pipeline operations, host side: names, parameters, halo (reach) rules
 * and output data types. Pure functions, no OpenCL: used by the config loader to validate a
 * pipeline and by the planner to size halos, tiles and outputs. The device side of each
 * operation lives in ops_cl.c (kernels in kernels/NAME.cl); the double-precision CPU reference of
 * each operation lives in tests/ (ops_ref).
 *
 * Conventions for every operation:
 * - all computation is float32 on the device; the pipeline's first step reads the input
 *   converted to float32;
 * - at the buffer edge, neighbourhoods clamp to the edge (nearest); the planner makes the buffer
 *   edge coincide with the image edge wherever a core voxel can see it, so tiled == untiled;
 * - reach[] is how many voxels on each side (z, y, x) an output voxel depends on.
 */
#ifndef LAPSE_OPS_H
#define LAPSE_OPS_H

#include "types.h"

typedef enum {
    LAPSE_OP_GAUSSIAN_BLUR,
    LAPSE_OP_MEAN_BOX,
    LAPSE_OP_MINIMUM_BOX,
    LAPSE_OP_MAXIMUM_BOX,
    LAPSE_OP_TOP_HAT_BOX,
    LAPSE_OP_ADD_SCALAR,
    LAPSE_OP_MULTIPLY_SCALAR,
    LAPSE_OP_THRESHOLD_FIXED,
    LAPSE_OP_MAXIMUM_Z_PROJECTION,
    LAPSE_OP_COUNT
} lapse_op_id_t;

/* Parameter kinds. A VEC3 parameter accepts a scalar (same on all axes) or [z, y, x]. */
typedef enum {
    LAPSE_PARAM_VEC3_FLOAT, /* e.g. sigma */
    LAPSE_PARAM_VEC3_INT,   /* e.g. radius */
    LAPSE_PARAM_FLOAT       /* e.g. value, threshold */
} lapse_param_kind_t;

typedef struct {
    const char *key;         /* YAML key */
    lapse_param_kind_t kind; /* see above */
    int required;            /* 1: must be given */
    double def;              /* default (all axes) when not required */
    double min, max;         /* inclusive valid range of each component */
    const char *help;        /* one line for docs and messages */
} lapse_param_spec_t;

/* How a step's natural output dtype follows from its input dtype. */
typedef enum {
    LAPSE_OUT_SAME, /* same as the step's input (min, max, top-hat, projection) */
    LAPSE_OUT_F32,  /* float32 (gaussian, mean, scalar arithmetic) */
    LAPSE_OUT_U8    /* 0/1 mask (threshold) */
} lapse_out_rule_t;

#define LAPSE_OP_MAX_PARAMS 2

typedef struct {
    lapse_op_id_t id;
    const char *name;
    const char *help;
    int nparams;
    lapse_param_spec_t params[LAPSE_OP_MAX_PARAMS];
    lapse_out_rule_t out_rule;
    int projects_z; /* 1: the output has one z plane (the plan then keeps whole z columns) */
} lapse_op_t;

/* One configured pipeline step. p[k] holds parameter k of the op's spec: VEC3 kinds use
 * p[k].v[0..2] (z, y, x), FLOAT uses p[k].v[0]. */
typedef struct {
    const lapse_op_t *op;
    struct {
        double v[3];
    } p[LAPSE_OP_MAX_PARAMS];
    char save[LAPSE_NAME_MAX]; /* dataset path to save this step's result, "" = none */
    int line, column;          /* 1-based position of the step in the config file */
} lapse_step_t;

/* The operation called name, or NULL. */
const lapse_op_t *lapse_op_find(const char *name);
/* Operation by id (id < LAPSE_OP_COUNT). */
const lapse_op_t *lapse_op_get(lapse_op_id_t id);

/* Fill a step with op and its defaults (save = "", position 0). */
void lapse_step_init(lapse_step_t *s, const lapse_op_t *op);

/* Reach of one step (voxels each side, z, y, x). gaussian: int(4*sigma + 0.5) per axis (SciPy's
 * truncate=4.0); box filters: radius; top_hat_box: 2*radius; pointwise and projection: 0. */
void lapse_step_reach(const lapse_step_t *s, int64_t reach[3]);

/* Total reach of a pipeline: the sum of the steps' reaches; z counts only up to and including
 * the first z-projection (after it, the data has one plane). */
void lapse_pipeline_reach(const lapse_step_t *steps, int n, int64_t reach[3]);

/* Index of the first step that projects z, or -1. */
int lapse_pipeline_projection(const lapse_step_t *steps, int n);

/* Natural dtype of step k's result given the pipeline input dtype (rules above). */
lapse_dtype_t lapse_step_dtype(const lapse_step_t *steps, int k, lapse_dtype_t in_dtype);

/* Gaussian weights for one axis, SciPy's recipe in double: w[i] = exp(-0.5 (i-r)^2 / s^2)
 * normalised to sum 1, i = 0..2r, r = int(4 s + 0.5). w must hold 2r+1 entries. sigma == 0
 * gives r = 0, w = {1}. Returns r. */
int lapse_gauss_weights(double sigma, double *w);

#endif
