/*
 * h5out.h - the one parallel HDF5 output file (MPI-IO driver), written by all ranks.
 *
 * Layout:
 *   /<result datasets>   [t, z, y, x] (or [t, y, x] after a z-projection), the input's full
 *                        time axis, chunked [1, tile], created up front; each task writes its
 *                        core hyperslab (independent I/O).
 *   /lapse/tasks         one row per task and run (lapse_task_row_t), extendible compound table.
 *   /lapse/runs/<id>     a group per run with attributes: start, end, config, config_path,
 *                        timepoints, nranks, status.
 *   root attributes      lapse_version, config (latest run), input_file, input_dataset.
 *
 * All functions marked collective must be called by every rank of the communicator with the
 * same arguments (except rows in lapse_h5out_append_rows).
 */
#ifndef LAPSE_H5OUT_H
#define LAPSE_H5OUT_H

#include <mpi.h>

#include "config.h"
#include "status.h"
#include "types.h"

/* One result dataset to create (or find, in update mode). */
typedef struct {
    char path[LAPSE_NAME_MAX]; /* "/result" */
    int ndims;                 /* 4: [t,z,y,x], 3: [t,y,x] */
    int64_t dims[4];           /* t, then z, y, x (or y, x) */
    int64_t chunk[4];          /* 1, then the tile (clipped to dims) */
    lapse_dtype_t dtype;
} lapse_dset_spec_t;

/* One row of /lapse/tasks. */
typedef struct {
    int64_t run_id, task_id, timepoint, tile;
    int64_t core_offset[3], core_shape[3];
    int32_t rank;
    char host[64];
    char device[128];
    double t_read, t_upload, t_compute, t_download, t_write, t_total;
    int64_t bytes_in, bytes_out;
    int32_t status; /* 0 done, 1 failed */
} lapse_task_row_t;

/* Facts about a run, stored in /lapse/runs/<id>. Strings must be identical on all ranks. */
typedef struct {
    int64_t run_id;
    char start[32], end[32]; /* ISO 8601 UTC */
    const char *config_text, *config_path, *input_file, *input_dataset, *timepoints;
    int nranks;
    const char *status; /* "running", "done", "failed" */
} lapse_run_info_t;

typedef struct lapse_h5out lapse_h5out_t;

/* Decide, on one rank before any output is touched, whether the output may be opened in mode:
 * create: file must not exist (LAPSE_ECONFIG "output exists; set output.mode: update or
 * overwrite"); update: file must exist, be a lapse output and hold datasets matching specs
 * (same dims and dtype); overwrite: parent directory writable. Also checks that the output
 * directory is writable. Returns LAPSE_OK or LAPSE_ECONFIG/LAPSE_EINPUT with a message. */
lapse_status_t lapse_h5out_check(const char *file, lapse_mode_t mode,
                                 const lapse_dset_spec_t *specs, int nspecs);

/* Collective. Open (update) or create (create, overwrite: truncates) the file with the MPI-IO
 * driver, create or open every dataset in specs (in update mode they must match), create
 * /lapse/tasks if missing, write the root attributes, flush. *out set only on success. */
lapse_status_t lapse_h5out_open(MPI_Comm comm, const char *file, lapse_mode_t mode,
                                const lapse_dset_spec_t *specs, int nspecs,
                                const lapse_config_t *cfg, lapse_h5out_t **out);

/* Collective. The next run id: 1 + the largest run id in /lapse/runs (1 for a new file). */
lapse_status_t lapse_h5out_next_run_id(lapse_h5out_t *o, int64_t *run_id);

/* Collective. Create or update /lapse/runs/<run_id> with the attributes of info. */
lapse_status_t lapse_h5out_put_run(lapse_h5out_t *o, const lapse_run_info_t *info);

/* Independent. Write the core box of timepoint t of dataset k (index into specs): buf holds
 * core->dim voxels of that dataset's dtype in C order (core->dim[0] must be 1 for a 3-D
 * dataset, whose z is ignored). */
lapse_status_t lapse_h5out_write(lapse_h5out_t *o, int k, int64_t t, const lapse_box_t *core,
                                 const void *buf);

/* Collective. Append this rank's n rows (n may differ between ranks, also 0) to /lapse/tasks;
 * the rows of rank 0 come first, then rank 1, ... */
lapse_status_t lapse_h5out_append_rows(lapse_h5out_t *o, const lapse_task_row_t *rows, int64_t n);

/* Collective. Flush the whole file to disk. */
lapse_status_t lapse_h5out_flush(lapse_h5out_t *o);

/* Collective. Close; NULL is accepted (then it does nothing and is not collective). */
lapse_status_t lapse_h5out_close(lapse_h5out_t *o);

#endif
