/*
 * op.h - what an operation is: one const descriptor (lapse_op_t) that carries everything about
 * it - name, help, parameters, numerics version, inputs, footprint and box rule, output shape
 * and dtype rules, device buffers, kernel file, device launcher and double-precision CPU
 * reference. Descriptors live by family in src/ops/op_*.c and are listed once in
 * src/ops/registry.c; nothing outside the registry switches on an operation.
 *
 * Conventions for every operation:
 * - all computation is float32 on the device; a pipeline's input is converted to float32 once;
 * - at a buffer edge, neighbourhoods clamp to the edge (SciPy's mode='nearest'); the planner
 *   makes the buffer edge coincide with the image edge wherever a core voxel can see it, so
 *   tiled == untiled;
 * - 3-vectors are z, y, x.
 */
#ifndef LAPSE_OP_H
#define LAPSE_OP_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "status.h"
#include "types.h"

/* Parameter kinds. VEC3 kinds accept a scalar (same on all axes) or [z, y, x]. */
typedef enum {
    LAPSE_PARAM_VEC3_FLOAT, /* e.g. sigma: v[0..2] */
    LAPSE_PARAM_VEC3_INT,   /* e.g. radius: v[0..2], whole numbers */
    LAPSE_PARAM_FLOAT,      /* e.g. value: v[0] */
    LAPSE_PARAM_INT,        /* a whole number: v[0] */
    LAPSE_PARAM_ENUM,       /* one word of choices: v[0] = its index */
    LAPSE_PARAM_BOOL3,      /* per-axis booleans {z: true, x: false}: v[0..2] in {0, 1} */
    LAPSE_PARAM_MATRIX,     /* a 3x4 matrix, rows z, y, x: v[0..11] row-major */
    LAPSE_PARAM_LIST,       /* up to LAPSE_PARAM_LIST_MAX numbers: v[0..7], missing ones 0 */
    LAPSE_PARAM_SOURCE      /* an OpenCL C file (custom_kernel): its text in the step's source */
} lapse_param_kind_t;

#define LAPSE_PARAM_VALUES   12 /* doubles per parameter value (the matrix is the largest) */
#define LAPSE_PARAM_LIST_MAX 8  /* numbers in a LAPSE_PARAM_LIST value */

typedef struct {
    const char *key;            /* YAML key */
    lapse_param_kind_t kind;    /* see above */
    int required;               /* 1: must be given */
    double def;                 /* default (every component) when not required */
    double min, max;            /* inclusive valid range of each numeric component */
    const char *help;           /* one line for docs and messages */
    const char *const *choices; /* ENUM: the words, NULL-terminated */
} lapse_param_spec_t;

/* How a step's natural output dtype follows from its (first) input's dtype. */
typedef enum {
    LAPSE_OUT_SAME, /* as the first input (minimum, maximum, top-hat, projection, mask) */
    LAPSE_OUT_F32,  /* float32 (gaussian, mean, arithmetic) */
    LAPSE_OUT_U8,   /* 0/1 mask (threshold, binary operations) */
    LAPSE_OUT_U32,  /* labels (connected components) */
    LAPSE_OUT_PARAM /* chosen per step by a parameter (custom_kernel's dtype): op->out_dtype */
} lapse_out_rule_t;

/* Which input voxels an output voxel depends on. */
typedef enum {
    LAPSE_FP_POINT,      /* the same voxel */
    LAPSE_FP_LOCAL,      /* a neighbourhood of bounded reach */
    LAPSE_FP_TRANSFORM,  /* another place (flip, rotate): in_box maps boxes */
    LAPSE_FP_PROJECTION, /* a whole z column; the plan keeps whole z columns in one task */
    LAPSE_FP_GLOBAL      /* the whole timepoint: cuts the graph into segments */
} lapse_footprint_t;

#define LAPSE_OP_MAX_PARAMS 4
#define LAPSE_OP_MAX_INPUTS 2
#define LAPSE_STEP_NAME_MAX 64

typedef struct lapse_op lapse_op_t;

/* Position of a value in the config file (1-based; 0 = not given). */
typedef struct {
    int line, column;
} lapse_mark_t;

/* The file of a LAPSE_PARAM_SOURCE parameter (custom_kernel's OpenCL C). The config loader
 * makes it when it parses the step (path, where); the text is read once, by rank 0, at
 * lapse_config_load_sources, and the same bytes reach every rank (src/exec/job.c). Owned by the
 * config (lapse_config_free frees it and its text). */
typedef struct lapse_source {
    char path[4200];   /* the file as opened: a relative path joined to the config's directory */
    char where[4400];  /* "<config>:<line>:<column>: pipeline[k].<key>", for messages */
    char config[4096]; /* the config file's path, for messages about the step's other keys */
    char *text;        /* its bytes, NUL-terminated (no NUL inside, UTF-8); NULL until read */
    size_t len;        /* bytes of text */
} lapse_source_t;

/* One configured pipeline step. p[k] holds parameter k of the op's spec (see the kinds). */
typedef struct {
    const lapse_op_t *op;
    lapse_source_t *source; /* its LAPSE_PARAM_SOURCE parameter's file, or NULL (config-owned) */
    struct {
        double v[LAPSE_PARAM_VALUES];
    } p[LAPSE_OP_MAX_PARAMS];
    char save[LAPSE_NAME_MAX];      /* dataset path to save this step's result, "" = none */
    char name[LAPSE_STEP_NAME_MAX]; /* name: of the step, "" = none */
    char from[LAPSE_STEP_NAME_MAX]; /* from: "" = the previous step (or the input) */
    char with[LAPSE_STEP_NAME_MAX]; /* with: the second operand, "" = none */
    int line, column;               /* 1-based position of the step in the config file */
    int item; /* its item in the config's pipeline list (several steps share the item of a
               * composition they came from): messages say pipeline[item] */
    lapse_mark_t name_mark, from_mark, with_mark;
    lapse_mark_t param_mark[LAPSE_OP_MAX_PARAMS]; /* of p[k]'s value; {0, 0}: not given */
} lapse_step_t;

/* A volume on the host in double precision (CPU references): C order, dims z, y, x. */
typedef struct {
    double *v;
    int64_t dim[3];
} lapse_refvol_t;

/* A float32 volume on the device: C order, dims z, y, x. A task's volume is a box of a whole
 * image: org is the box's offset in that image and img the image's dims (the image of this
 * step's operand or result: a geometric step's result has its own). Only geometric operations
 * (LAPSE_FP_TRANSFORM) read org and img, to compute each voxel's source from its global index;
 * img = {0, 0, 0} means the volume is the whole image (org 0, img = dim). */
typedef struct {
    cl_mem mem;
    int64_t dim[3];
    int64_t org[3];
    int64_t img[3];
} lapse_dvol_t;

typedef struct lapse_dev lapse_dev_t; /* device state of one rank (src/device/dev.h) */

/* ---------------------------------------------------------------- global operations */

/* A block of host bytes owned by whoever holds it (free with lapse_blob_free). */
typedef struct {
    void *data;
    size_t size;
} lapse_blob_t;

/* Where one tile of a timepoint lies, for the hooks of a global operation. */
typedef struct {
    int64_t img[3];       /* the timepoint's dims (z, y, x) */
    lapse_box_t core;     /* the tile's core box in the timepoint */
    lapse_box_t core_rel; /* the same box relative to the device buffers of this task */
} lapse_gtile_t;

#define LAPSE_GLOBAL_MAX_PASS 4

/* The per-timepoint hooks of a global operation (footprint LAPSE_FP_GLOBAL). A global step's
 * result depends on the whole timepoint: every tile computes a small partial result from its
 * core (partial), the partials of all tiles of a timepoint are combined on the host in tile
 * order (reduce), npass times (each pass may use the previous pass's result), and then every
 * voxel is mapped (apply) with the last result. Reduce must not depend on how the timepoint was
 * cut into tiles (tiled == untiled, bit for bit). Executed by src/ops/global.c (a timepoint in
 * one task, all on the device) and src/exec/phases.c (tiles over ranks). */
typedef struct {
    int npass;         /* 1 .. LAPSE_GLOBAL_MAX_PASS */
    size_t mat_bytes;  /* 0: apply reads the operand (recomputed in later phases); else bytes per
                        * voxel of the tile data that pass 0 writes into mat (core voxels, C
                        * order) and that apply later reads instead, over any box (e.g.
                        * provisional labels) */
    size_t work_bytes; /* device scratch per buffer (read-box) voxel that partial may use */
    /* Iterative steps (masked_voronoi_labeling): 1 = the passes repeat until done(res) says
     * the timepoint converged (npass is then 1, for a whole timepoint, which iterates inside
     * its one pass); pass p >= 1 finds in mat the tile data pass p - 1 left over the whole
     * task buffer (mat covers the buffer, not the core: its core is what a pass stores) and
     * leaves the next state there. The apply reads the last pass's tile data. */
    int iterate;
    /* 1 when pass 0's tile data over the core is a function of the operand's buffer alone
     * (not of the other tiles): when no later step needs this step's result outside the core,
     * later phases then recompute it (partial, pass 0) instead of storing it in the output's
     * scratch area. Not for iterative steps. */
    int mat_local;
    int (*done)(const lapse_blob_t *res);
    /* Partial of pass `pass` of the tile: in[0..ninputs) are the operands over the task's
     * buffers (core inside at tile->core_rel); prev the result of pass - 1 (NULL for pass 0);
     * mat (pass 0, when mat_bytes) receives the tile data (the core's voxels in C order; the
     * whole buffer for iterative steps); work has work_bytes per buffer voxel. *part receives
     * a malloc'ed blob (may be empty). */
    lapse_status_t (*partial)(lapse_dev_t *d, const lapse_step_t *s, int pass,
                              const lapse_blob_t *prev, const lapse_gtile_t *tile,
                              const lapse_dvol_t *in, cl_mem mat, cl_mem work, lapse_blob_t *part);
    /* Combine the partials parts[0..ntiles) of one timepoint's tiles (tile order) into *res
     * (malloc'ed). prev: the result of pass - 1 or NULL. Deterministic. */
    lapse_status_t (*reduce)(const lapse_step_t *s, int pass, const lapse_blob_t *prev,
                             const lapse_gtile_t *tiles, const lapse_blob_t *parts, int64_t ntiles,
                             lapse_blob_t *res);
    /* Map every voxel of out (dims out->dim) with res, the last pass's result: from in[] (the
     * operands, same dims) when mat_bytes == 0, else from mat (mat_bytes per voxel, same
     * dims). */
    lapse_status_t (*apply)(lapse_dev_t *d, const lapse_step_t *s, const lapse_blob_t *res,
                            const lapse_dvol_t *in, cl_mem mat, const lapse_dvol_t *out);
    /* The value recorded per timepoint in the summary table (e.g. the threshold), from res;
     * NULL: none. */
    double (*summary)(const lapse_step_t *s, const lapse_blob_t *res);
    /* Steps that measure (measure_labels): the columns of the table their last pass's result
     * holds, NULL otherwise. Such a result is: int64 nrows, then nrows rows of ncols 8-byte
     * values (int64 or double by column), column 0 being the timepoint (the executor fills
     * it). The table is written to the output as dataset /<step name> (exec/phases.c). */
    const struct lapse_table_desc *table;
    /* Steps with a table: a warning about one timepoint's last-pass result res (e.g. values
     * that lost precision) into msg (len bytes), or msg[0] = 0 when there is none. Rank 0 prints
     * it when the table is written (exec/phases.c). NULL: never. */
    void (*warn)(const lapse_step_t *s, const lapse_blob_t *res, char *msg, size_t len);
} lapse_global_t;

/* A table column: its name (pandas/napari style) and kind. */
typedef struct {
    const char *name;
    int is_double; /* 0: int64, 1: double */
} lapse_col_t;

typedef struct lapse_table_desc {
    int ncols;
    const lapse_col_t *cols; /* cols[0] is {"timepoint", 0} */
} lapse_table_desc_t;

void lapse_blob_free(lapse_blob_t *b);

struct lapse_op {
    const char *name;       /* config name, e.g. "gaussian_blur" */
    const char *help;       /* one line */
    const char *family;     /* the src/ops/op_<family>.c that defines it */
    const char *convention; /* whose numerics it follows (docs), e.g. "SciPy gaussian_filter" */
    int version;            /* numerics version: bump when results change (output fingerprint) */
    /* version_of (NULL: version): the numerics version of a step whose parameters decide (the
     * steps whose results did not change keep the fingerprint of their outputs) */
    int (*version_of)(const lapse_step_t *s);
    int ninputs; /* 1, or 2: the second operand comes from `with:` */
    int nparams;
    lapse_param_spec_t params[LAPSE_OP_MAX_PARAMS];
    lapse_out_rule_t out_rule;
    /* LAPSE_OUT_PARAM only: the step's output dtype from its parameters and its first input's
     * dtype. */
    lapse_dtype_t (*out_dtype)(const lapse_step_t *s, lapse_dtype_t in);
    lapse_footprint_t footprint;
    int inplace;         /* 1: the output may be in[0]'s buffer when in[0] dies at this step */
    int round_away;      /* 1: its result written as integers rounds halves away from zero, as
                          * scipy.ndimage's transforms do; 0: to even (the default rule) */
    int nscratch;        /* float32 scratch buffers of the input's size the launcher needs */
    const char *kernels; /* kernel file(s) it uses, for docs, e.g. "filters.cl filters_tiled.cl" */
    /* OpenCL extensions the device must have, space-separated ("cl_khr_fp64"), NULL: none;
     * checked when the device is opened (a config error naming the step, nothing written).
     * extensions_of (NULL: extensions): the same for a step whose parameters decide. */
    const char *extensions;
    const char *(*extensions_of)(const lapse_step_t *s);
    const char *reach_doc; /* the reach rule in words, for docs ("radius"); NULL: none (0) */

    /* Reach for LAPSE_FP_LOCAL: voxels on each side (z, y, x) an output voxel depends on. NULL
     * means 0 (pointwise). Used by the default in_box. */
    void (*reach)(const lapse_step_t *s, int64_t reach[3]);
    /* The input box (clipped to in_dims) that output box out needs; NULL: out grown by reach,
     * and for LAPSE_FP_PROJECTION the whole z extent. out is in the result's image (dims
     * out_dims(in_dims)) and in in the input's; a geometric op returns a non-empty box even
     * when out samples nothing inside the input. */
    void (*in_box)(const lapse_step_t *s, const lapse_box_t *out, const int64_t in_dims[3],
                   lapse_box_t *in);
    /* Output dims from the first input's dims; NULL: the same dims. */
    void (*out_dims)(const lapse_step_t *s, const int64_t in[3], int64_t out[3]);
    /* The voxel size (z, y, x, in any unit) of the result, from the first input's voxel size
     * vox and dims in, in place: resample and downsample_bin change it; an axis that is no longer
     * spatial gets 0 (radial_reslice's angles). And org, in place: where the centre of the
     * result's voxel 0 lies, in the same units and frame as the input's (crop moves it by its
     * start, downsample_bin to its first block's centre, resample to its first sample);
     * vox[a] < 0 (a size not known) moves it by |vox[a]|. NULL: both unchanged (rotate, flip and
     * affine_transform work in voxel indices on the same grid). */
    void (*voxel)(const lapse_step_t *s, const int64_t in[3], double vox[3], double org[3]);
    /* Refuse parameters that make no sense for an input of dims in (z, y, x), when the graph is
     * compiled (a config error, nothing run): NULL when fine, else the offending parameter's key
     * with the reason in msg (len bytes). NULL hook: every shape is fine. */
    const char *(*check_dims)(const lapse_step_t *s, const int64_t in[3], char *msg, size_t len);

    /* Optional per-step device state (constants such as Gaussian weights), made once per
     * pipeline: prepare sets *state (may stay NULL); release frees it (NULL accepted). */
    lapse_status_t (*prepare)(lapse_dev_t *d, const lapse_step_t *s, void **state);
    void (*release)(void *state);
    /* Optional test of the prepared step on the device, once per pipeline before any task, for
     * an operand image of dims img (z, y, x): LAPSE_ECONFIG with the reason at the offending
     * key ("<config>:<line>:<column>: pipeline[k].<key>: ...") when the step would not give
     * tiled == untiled results on such images (custom_kernel: a function that reads beyond its
     * reach). NULL: nothing to test. */
    lapse_status_t (*selftest)(lapse_dev_t *d, const lapse_step_t *s, void *state,
                               const int64_t img[3]);
    /* Enqueue the operation: in[0..ninputs-1] (same dims), out (dims from out_dims, or for a
     * geometric op the box of its result the task needs, with org and img set; out->mem
     * is in[0].mem when the graph runs it in place, which it does only for inplace ops whose
     * first input dies here), scratch[0..nscratch-1] (each as large as in[0]). Must not write an
     * input unless out aliases it. *res: where the result is, 0 = out->mem, i + 1 =
     * scratch[i] (the executor then swaps the two buffers' roles). Returns a status. */
    lapse_status_t (*launch)(lapse_dev_t *d, const lapse_step_t *s, void *state,
                             const lapse_dvol_t *in, const lapse_dvol_t *out, const cl_mem *scratch,
                             int *res);
    /* Double-precision CPU reference: in[0..ninputs-1] (same dims) into out, whose v holds
     * the out_dims voxel count and whose dim the caller set. NULL only for custom_kernel (the
     * user's OpenCL C has none). */
    void (*reference)(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out);
    /* Global operations only (footprint LAPSE_FP_GLOBAL): the per-timepoint hooks; launch is
     * then unused. */
    const lapse_global_t *global;
    /* Compositions (voronoi_otsu_labeling): the config loader replaces the step s by the
     * steps this writes into out[0..max) (returns their count, or -1 when more than max would
     * be needed): the first ones read src (a step name or "input"), the last one takes s's
     * name and save; internal names start with "_<id>_" (id unique per step). Such an
     * operation has no launcher, reference or global hooks of its own. */
    int (*expand)(const lapse_step_t *s, const char *src, int id, lapse_step_t *out, int max);
};

/* ---------------------------------------------------------------- the registry */

/* Number of registered operations; lapse_op_at(i) for 0 <= i < count, in registry order. */
int lapse_op_count(void);
const lapse_op_t *lapse_op_at(int i);
/* The operation called name, or NULL. */
const lapse_op_t *lapse_op_find(const char *name);

/* ---------------------------------------------------------------- steps */

/* Fill a step with op and its defaults (names, save empty, position 0). */
void lapse_step_init(lapse_step_t *s, const lapse_op_t *op);

/* Reach of one step (voxels each side, z, y, x); 0 where the op has no reach rule. */
void lapse_step_reach(const lapse_step_t *s, int64_t reach[3]);

/* The input box a step needs for output box out, clipped to [0, in_dims) (see lapse_op_t). */
void lapse_step_in_box(const lapse_step_t *s, const lapse_box_t *out, const int64_t in_dims[3],
                       lapse_box_t *in);

/* Output dims of a step from its first input's dims. */
void lapse_step_out_dims(const lapse_step_t *s, const int64_t in[3], int64_t out[3]);

/* Natural dtype of a step's result given its first input's dtype. */
lapse_dtype_t lapse_step_out_dtype(const lapse_step_t *s, lapse_dtype_t in);

/* Gaussian weights for one axis, SciPy's recipe in double: w[i] = exp(-0.5 (i-r)^2 / s^2)
 * normalised to sum 1, i = 0..2r, r = int(4 s + 0.5). w must hold 2r+1 entries. sigma == 0
 * gives r = 0, w = {1}. Returns r. */
int lapse_gauss_weights(double sigma, double *w);
/* int(4 sigma + 0.5) (SciPy's truncate = 4.0); 0 for sigma <= 0. */
int64_t lapse_gauss_radius(double sigma);

#endif
