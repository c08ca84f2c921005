/*
 * config.h - the YAML run configuration (libyaml), loaded and validated before any work.
 *
 * Every error names file:line:column and the key path, e.g.
 *   configs/x.yaml:7:12: pipeline[1].sigma: must be >= 0 (got -1)
 * and returns LAPSE_ECONFIG (exit code 2). Checks that need the input image (dataset exists,
 * rank, timepoints in range, explicit halo large enough) happen later in the driver, which
 * reports them through lapse_config_fail() with the positions stored in lapse_config_t.
 * The schema is documented in docs/config.md.
 */
#ifndef LAPSE_CONFIG_H
#define LAPSE_CONFIG_H

#include "ops/op.h"
#include "status.h"
#include "types.h"

typedef enum { LAPSE_MODE_CREATE, LAPSE_MODE_UPDATE, LAPSE_MODE_OVERWRITE } lapse_mode_t;
typedef enum { LAPSE_DEV_GPU, LAPSE_DEV_CPU, LAPSE_DEV_ANY } lapse_devkind_t;
typedef enum { LAPSE_SCHED_STATIC, LAPSE_SCHED_DYNAMIC, LAPSE_SCHED_RMA } lapse_sched_t;
/* on_error: what a run does when a task fails (reading its input or computing it): stop the
 * run (exit 1), or record the task as failed, run the others and exit 3 (a rerun retries it). */
typedef enum { LAPSE_ON_ERROR_STOP, LAPSE_ON_ERROR_SKIP } lapse_on_error_t;

/* output.compression: the result datasets' HDF5 filter. none; gzip[:LEVEL] (deflate, LEVEL 1-9,
 * default 4, with byte shuffle for dtypes wider than a byte); blosc:lz4[:LEVEL] and
 * blosc:zstd[:LEVEL] (filter 32001, LEVEL 1-9, default 5, byte shuffle; h5blosc.h). */
typedef enum {
    LAPSE_COMP_NONE,
    LAPSE_COMP_GZIP,
    LAPSE_COMP_BLOSC_LZ4,
    LAPSE_COMP_BLOSC_ZSTD
} lapse_comp_t;

/* Parse a compression value (as above) into *comp and *level; -1 when malformed. */
int lapse_comp_parse(const char *s, lapse_comp_t *comp, int *level);
/* The output.compression name of comp ("none", "gzip", "blosc:lz4", "blosc:zstd"). */
const char *lapse_comp_name(lapse_comp_t comp);

/* output.format: where the result voxels go. hdf5: the output file's datasets; zarr: an
 * OME-Zarr (NGFF 0.4, Zarr v2) store beside it (io/zarr_out.h), the HDF5 file keeping the task
 * state. */
typedef enum { LAPSE_FMT_HDF5, LAPSE_FMT_ZARR } lapse_outfmt_t;

typedef struct {
    char path[4096]; /* config file path as given */
    char *text;      /* the whole config text (owned) */

    /* input: (config.c walk_input). input_file is input.file, or input.files's pattern;
     * input_dataset is input.dataset followed by the selection of input.files, input.format,
     * input.setup and input.channel in the form io/reader.h describes ("/raw#channel=1"). */
    char input_file[4096];
    char input_dataset[LAPSE_NAME_MAX];
    lapse_mark_t input_file_mark, input_dataset_mark;
    lapse_mark_t input_sel_mark;  /* of the last of input.format, .setup, .channel given (where
                                     a probe's failed_part 3 is reported) */
    char input_sel_key[16];       /* "input.format" / "input.setup" / "input.channel"; "" none */
    lapse_mark_t input_axes_mark; /* of input.axes (line 0: not given) */
    double input_voxel_size[3];   /* input.voxel_size: z, y, x micrometres, when given */
    int input_voxel_size_given;   /* 1: input.voxel_size was in the file */

    char timepoints[1024]; /* selection string; "" = all timepoints */
    lapse_mark_t timepoints_mark;

    int tile_auto;   /* 1: tiles.shape: auto (default) */
    int64_t tile[3]; /* z, y, x when !tile_auto */
    int halo_auto;   /* 1: tiles.halo: auto (default) */
    int64_t halo[3]; /* z, y, x when !halo_auto */
    lapse_mark_t tile_mark, halo_mark;

    int nsteps;
    lapse_step_t steps[LAPSE_MAX_STEPS];

    char output_file[4096];
    char output_dataset[LAPSE_NAME_MAX]; /* default "/result" */
    lapse_dtype_t output_dtype;          /* default LAPSE_DT_AUTO */
    lapse_mode_t mode;                   /* default LAPSE_MODE_CREATE */
    int mode_given;                      /* 1 when output.mode was in the file */
    lapse_mark_t mode_mark;              /* where output.mode was given */
    lapse_mark_t output_file_mark;
    lapse_comp_t compression; /* default LAPSE_COMP_NONE (not in the fingerprint) */
    int compression_level;
    lapse_outfmt_t output_format; /* default LAPSE_FMT_HDF5 (zarr joins the fingerprint) */
    /* output.parts: 0 none (default), 1 timepoints: each timepoint's result voxels go to their
     * own file <output>.parts/tNNNNNN.h5, which the output file's result datasets map as virtual
     * datasets (h5out.h); joins the fingerprint when 1 */
    int output_parts;

    lapse_devkind_t devices;        /* default LAPSE_DEV_GPU */
    int device_index;               /* devices may be {kind: gpu, index: N}; -1 = by local rank */
    lapse_mark_t device_index_mark; /* where index was given: checked when the device is chosen */
    lapse_mark_t devices_mark;      /* where the kind was given (line 0: the default) */
    lapse_sched_t sched;            /* default LAPSE_SCHED_DYNAMIC */
    lapse_on_error_t on_error;      /* default LAPSE_ON_ERROR_STOP (not in the fingerprint) */
} lapse_config_t;

/* Parse config text (len bytes) read from path (used in messages). On success fills *cfg and
 * cfg owns a copy of the text; on failure records the message, returns LAPSE_ECONFIG and leaves
 * *cfg freed (safe to call lapse_config_free on it). */
lapse_status_t lapse_config_parse(const char *path, const char *text, size_t len,
                                  lapse_config_t *cfg);

/* Read path and parse it, then read its kernel sources (lapse_config_load_sources). A missing
 * or unreadable file is LAPSE_ECONFIG too. */
lapse_status_t lapse_config_load(const char *path, lapse_config_t *cfg);

#define LAPSE_SOURCE_MAX (1 << 20) /* bytes of a custom kernel's source file */

/* Read the file of every step's kernel source (custom_kernel's source:, a path relative to the
 * config file's directory) that is not read yet: at most LAPSE_SOURCE_MAX bytes of UTF-8 text
 * without NUL bytes. Parsing names the files but does not read them, so that one rank reads
 * them and sends the bytes to the others (src/exec/job.c). A missing, unreadable, too large or
 * non-text file is LAPSE_ECONFIG at the source key's file:line:column. */
lapse_status_t lapse_config_load_sources(lapse_config_t *cfg);

/* Release what cfg owns; cfg may be zeroed or already freed. */
void lapse_config_free(lapse_config_t *cfg);

/* Record "<path>:<line>:<column>: <keypath>: <message>" and return LAPSE_ECONFIG. */
lapse_status_t lapse_config_fail(const lapse_config_t *cfg, lapse_mark_t at, const char *keypath,
                                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct lapse_graph;
struct lapse_input_info;

/* Check the pipeline as a graph and report a bad one as a config error at the offending key
 * (pipeline[k].from, .with, .name or .op). in == NULL: only what needs no input (references,
 * names, unused results; g untouched, may be NULL); else compile it for the input into *g
 * (shapes, dtypes, buffers, reach). Returns LAPSE_OK or LAPSE_ECONFIG. */
lapse_status_t lapse_config_graph(const lapse_config_t *cfg, const struct lapse_input_info *in,
                                  struct lapse_graph *g);

#endif
