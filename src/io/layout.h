/*
 * io/layout.h - the schema of a lapse output file, owned here and nowhere else: the paths of
 * lapse's own group and datasets, the attribute names, the /lapse/tasks row (C struct and HDF5
 * compound type), the encoding of the done marks and the run record's fields and states.
 * h5out.c writes this layout and info.c reads it; both spell names only through this header.
 * tests/py/lapse_layout.py is the Python copy; `lapse info --schema` prints this one as JSON
 * and the unit_schema test (tests/py/check_schema.py) fails when the two disagree.
 */
#ifndef LAPSE_IO_LAYOUT_H
#define LAPSE_IO_LAYOUT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "status.h"

/* ---------------------------------------------------------------- paths */

#define LAPSE_LAYOUT_GROUP   "/lapse"         /* lapse's own metadata; reserved for results */
#define LAPSE_LAYOUT_TASKS   "/lapse/tasks"   /* 1-D extendible table of lapse_task_row_t */
#define LAPSE_LAYOUT_SCRATCH "/lapse/scratch" /* tile data of global steps between phases */
#define LAPSE_LAYOUT_DONE    "/lapse/done"    /* uint8 [timepoints, tiles] of done marks */
#define LAPSE_LAYOUT_RUNS    "/lapse/runs"    /* one group per run, named by its decimal run id */
/* uint64 [timepoints]: per timepoint, the sample checksum (io/input_id.h lapse_input_tp_sums)
 * of the input data its results were last computed from; 0 = not recorded. Absent in outputs
 * made before 2026-12-05. */
#define LAPSE_LAYOUT_INPUT_SUMS "/lapse/input_sums"

/* 1 when path (absolute, or relative to the root) is LAPSE_LAYOUT_GROUP or inside it. */
int lapse_layout_reserved(const char *path);

/* The OME-Zarr store directory of output file out (output.format: zarr, io/zarr_out.h): out
 * less a .h5 / .hdf5 / .he5 suffix (any case) plus ".zarr", into buf[len]; 0 when it fits, -1
 * when not. The store always lies beside its HDF5 file, so this names it from wherever the
 * file is named. */
int lapse_zarr_root(const char *out, char *buf, size_t len);

/* Write the path of run run_id's group ("/lapse/runs/7") into buf[len]. Returns buf. */
char *lapse_layout_run_path(int64_t run_id, char *buf, size_t len);

/* The run id of a member name of LAPSE_LAYOUT_RUNS: 0 and *id set when name is a decimal
 * integer; -1 (*id unchanged) for any other name, which is not a run group. */
int lapse_layout_run_id(const char *name, int64_t *id);

/* H5Literate callback over the runs group: raises *(int64_t *)data to the run id a link names
 * (links that name none are skipped). Always 0 (go on). */
herr_t lapse_layout_max_run_cb(hid_t g, const char *name, const H5L_info_t *info, void *data);

/* ---------------------------------------------------------------- done marks */

/* Attribute of LAPSE_LAYOUT_DONE: int64 [3], the core tile shape (z, y, x) of the plan. Tiles
 * are numbered z-major, then y, then x, over the grid of that shape clipped to the image. */
#define LAPSE_LAYOUT_DONE_TILE "tile"

/* Values of a mark (file type uint8): a task's mark is written only after its data. */
enum { LAPSE_MARK_PENDING = 0, LAPSE_MARK_DONE = 1 };

/* ---------------------------------------------------------------- attributes */

/* Root attributes (strings). */
#define LAPSE_ATTR_VERSION       "lapse_version"
#define LAPSE_ATTR_CONFIG        "config"        /* text of the latest run's config */
#define LAPSE_ATTR_INPUT_FILE    "input_file"    /* also a run attribute */
#define LAPSE_ATTR_INPUT_DATASET "input_dataset" /* also a run attribute */
#define LAPSE_ATTR_FINGERPRINT   "fingerprint"   /* also a run attribute (that run's config) */
/* The input's identity at the latest run's start (io/input_id.h: "size=N mtime=S.NS sum=HEX");
 * also a run attribute (at that run's start). Absent in outputs made before it existed. */
#define LAPSE_ATTR_INPUT_IDENTITY "input_identity"
/* Result-dataset attribute (string) of an output.format: zarr output: the OME-Zarr image group
 * that holds the dataset's voxels ("out/run.zarr/result"); the HDF5 dataset holds none, and
 * lapse's HDF5 reader refuses it, naming the group. */
#define LAPSE_ATTR_ZARR_ARRAY "lapse_zarr_array"
/* On a chunked dataset without a filter that lapse made with early allocation in a new file
 * (h5out.c create_dset): its chunks lie in index order at increasing addresses, which the chunk
 * map (io/chunkmap.h) relies on; a dataset without it gets an HDF5 lookup per chunk. */
#define LAPSE_ATTR_CHUNK_ORDER "lapse_chunks_in_order"
/* The parts token of an output made with output.parts: timepoints (io/h5parts.h: each part file
 * carries it too); absent in outputs without parts. */
#define LAPSE_ATTR_PARTS_TOKEN "parts_token"

/* Attributes of a run group LAPSE_LAYOUT_RUNS/<id> (strings unless said otherwise). */
#define LAPSE_RUN_ATTR_ID            "run_id" /* int64 */
#define LAPSE_RUN_ATTR_NRANKS        "nranks" /* int32 */
#define LAPSE_RUN_ATTR_START         "start"  /* ISO 8601 UTC */
#define LAPSE_RUN_ATTR_END           "end"
#define LAPSE_RUN_ATTR_STATUS        "status" /* one of LAPSE_RUN_* below */
#define LAPSE_RUN_ATTR_TIMEPOINTS    "timepoints"
#define LAPSE_RUN_ATTR_CONFIG        LAPSE_ATTR_CONFIG
#define LAPSE_RUN_ATTR_CONFIG_PATH   "config_path"
#define LAPSE_RUN_ATTR_TPS_HASH      "timepoints_hash"
#define LAPSE_RUN_ATTR_INPUT_END     "input_identity_end" /* at the run's end ("" while running) */
#define LAPSE_RUN_ATTR_INPUT_CHANGED "input_changed"      /* int32: 1 the input changed during it */
/* int32: 1 an update that recomputes its selection (their done marks reset at its start), 0 a
 * run that computes only tasks not yet done; absent in runs recorded before 2026-12-02 */
#define LAPSE_RUN_ATTR_RECOMPUTE "recompute"
/* int64, only on the record of a growth (h5out.c): the output's count of timepoints before and
 * after it; the records that named the old fingerprint or input identity keep them as
 * fingerprint_before_growth / input_identity_before_growth */
#define LAPSE_RUN_ATTR_GROWN_FROM "grown_from"
#define LAPSE_RUN_ATTR_GROWN_TO   "grown_to"

/* Values of a run's status attribute. */
#define LAPSE_RUN_RUNNING     "running"
#define LAPSE_RUN_DONE        "done"
#define LAPSE_RUN_FAILED      "failed"
#define LAPSE_RUN_INTERRUPTED "interrupted"

/* ---------------------------------------------------------------- task rows */

/* Values of lapse_task_row_t.status. */
enum { LAPSE_ROW_DONE = 0, LAPSE_ROW_FAILED = 1, LAPSE_ROW_ABANDONED = 2 };

/* One row of LAPSE_LAYOUT_TASKS; the compound type's field names are the member names. */
typedef struct {
    int64_t run_id, task_id, timepoint, tile;
    int64_t core_offset[3], core_shape[3];
    int32_t rank;
    char host[64];
    char device[128];
    double t_read, t_upload, t_compute, t_download, t_write, t_total;
    int64_t bytes_in, bytes_out;
    int32_t status; /* LAPSE_ROW_DONE, LAPSE_ROW_FAILED (this task's own failure) or
                     * LAPSE_ROW_ABANDONED (in flight when the run stopped: a signal, or another
                     * task's failure) */
    /* NaN or Inf voxels in the task's core box of a float32 input (0 for integer input). Absent
     * in the tables of outputs made before it existed: read as 0 (rows are calloc'ed and HDF5
     * leaves a member the file lacks untouched). */
    int64_t nonfinite;
    /* Seconds from the start of the rank's task loop to the start of this task's read, and
     * the seconds the rank's host waited for this task's device work (exec/worker.c says what
     * every time means with overlap). Absent in older outputs: read as 0. */
    double t_start, t_wait;
    /* Voxels of the task's integer outputs (all outputs together) that their dtype could not
     * hold: NaN (written as 0) or rounded outside the range (saturated). Absent in older
     * outputs: read as 0. */
    int64_t clipped;
} lapse_task_row_t;

/* Create the compound type of a row (memory layout of lapse_task_row_t; also the file type of
 * the table; fields are matched by name when reading). On success *out is a new type that the
 * caller closes with H5Tclose; on failure LAPSE_EH5 and *out unchanged. */
lapse_status_t lapse_layout_row_type(hid_t *out);

/* Number of fields of a row, and the name of field i (NULL when i is out of range). */
int lapse_layout_row_nfields(void);
const char *lapse_layout_row_field(int i);

/* ---------------------------------------------------------------- export */

/* Print the schema above as one JSON object (the keys of tests/py/lapse_layout.py's SCHEMA)
 * to f: what `lapse info --schema` shows. */
void lapse_layout_print_schema(FILE *f);

#endif
