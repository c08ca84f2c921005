/*
 * io/outstate.h - what an existing output holds before a run, read serially by rank 0 (no MPI):
 * whether it is a lapse output, its fingerprint, tiles, done marks and runs, which run computed
 * each done task and with which config and input, the datasets a config no longer writes, and a
 * dataset's voxel size. exec/job.c decides from it whether and how a run continues the output;
 * h5out.c writes what is read here (io/layout.h names it).
 */
#ifndef LAPSE_IO_OUTSTATE_H
#define LAPSE_IO_OUTSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* What is at an output path before a run (read serially by rank 0). */
typedef struct {
    int exists;           /* something is at the path */
    int is_lapse;         /* a complete lapse output with task state */
    char fingerprint[24]; /* root attribute */
    int64_t tile[3], ntiles, ntp;
    unsigned char *done; /* [ntp * ntiles] marks, malloc'ed; NULL when !is_lapse */
    int64_t last_run;    /* latest run id, 0 when none */
    char last_status[32];
    char last_timepoints[1024];
    char last_tps_hash[24]; /* lapse_tpsel_hash of the latest run's selection */
    char last_fingerprint[24];
    char input_identity[96]; /* root attribute; "" in outputs made before it existed */
    char parts_token[40];    /* root attribute of an output with parts (io/h5parts.h), else "" */
    char other_runs[512];    /* the runs whose config differs from the root's fingerprint (updates
                              * with another config) and that still hold a task, with the
                              * timepoints of those tasks, "run N (timepoints S), ...", or "" */
    int64_t *holder;         /* [ntp * ntiles]: the run that computed the result a done task
                              * holds (0: not done, or not known); NULL when the task rows
                              * cannot be read. From the task rows, which a run appends at its
                              * end, and for a run that left none (killed) from its selection
                              * and whether it recomputed it (read_holders) */
    char (*run_fp)[24];      /* [last_run + 1], by run id: its fingerprint ("" not recorded) */
    char (*run_input)[96];   /* by run id: the input's identity at its start */
    char (*run_tps)[1024];   /* by run id: its selection as recorded */
    int *run_recompute;      /* by run id: LAPSE_RUN_ATTR_RECOMPUTE, -1 not recorded */
    uint64_t *input_sums;    /* [ntp]: LAPSE_LAYOUT_INPUT_SUMS (0: not recorded); NULL when the
                              * output has none (made before they existed) */
} lapse_outstate_t;

/* The runs of os whose `field` ("config": fingerprint, "input": input identity at its start)
 * is recorded and differs from want, and that hold a task (os->holder) of a timepoint outside
 * skip[0..nskip) (sorted; NULL when none), as "run N (timepoints S), ..." with the timepoints
 * they hold, into buf[len] ("" when none; cut with " ..."). Without task rows, each such run
 * with its recorded selection. */
void lapse_outstate_held(const lapse_outstate_t *os, const char *field, const char *want,
                         const int64_t *skip, int64_t nskip, char *buf, size_t len);

/* Inspect file: fills *os (zeroed first). A missing file is not an error (exists = 0); a file
 * that is not HDF5 or not a lapse output gives exists = 1, is_lapse = 0. Errors only for
 * unexpected HDF5 failures. */
lapse_status_t lapse_h5out_inspect(const char *file, lapse_outstate_t *os);

/* Serial, one rank: the datasets of output file outside /lapse whose paths are not among
 * keep[0..nkeep) (absolute paths), as "/a, /b/c" into buf[len] ("" when none, or when the file
 * cannot be read; cut with " ..."). */
void lapse_h5out_unwritten(const char *file, const char *const *keep, int nkeep, char *buf,
                           size_t len);

/* The element_size_um attribute (z, y, x) of dataset dset of file into vox: 1 when read, 0 when
 * the file, the dataset or a 3-value attribute is not there (HDF5's errors cleared). */
int lapse_h5out_element_size(const char *file, const char *dset, double vox[3]);

/* Release what *os owns. */
void lapse_outstate_free(lapse_outstate_t *os);

#endif
