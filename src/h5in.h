/*
 * h5in.h - reading the input time-lapse from HDF5.
 *
 * The input dataset is [t, z, y, x] or [t, y, x] (then z = 1) of uint8, uint16 or float32.
 * Each rank opens the input on its own, read-only, with the default (sec2) driver: reads are
 * independent and need no collective calls.
 */
#ifndef LAPSE_H5IN_H
#define LAPSE_H5IN_H

#include "status.h"
#include "types.h"

typedef struct lapse_input_info {
    int ndims;        /* 3 ([t,y,x]) or 4 ([t,z,y,x]) */
    int64_t ntp;      /* timepoints */
    int64_t shape[3]; /* z, y, x (z = 1 when ndims == 3) */
    lapse_dtype_t dtype;
    int failed_part; /* after a failed probe: 1 the file is unusable, 2 the dataset; else 0 */
} lapse_input_info_t;

/* Check that file is an HDF5 file holding dataset dset of a supported rank and type and fill
 * *info. Failures are LAPSE_EINPUT with a message saying what is wrong ("no such file",
 * "not an HDF5 file", "dataset /x not found; datasets in the file: /a, /b", "has 5
 * dimensions, expected [t,z,y,x] or [t,y,x]", "type int32 is not supported"...). */
lapse_status_t lapse_h5in_probe(const char *file, const char *dset, lapse_input_info_t *info);

/* Turn off HDF5's automatic error printing for the whole process (lapse reports HDF5 errors
 * through lapse_h5_fail, which reads the error stack). Idempotent; called by lapse_h5in_probe,
 * lapse_h5in_open, lapse_h5out_check and lapse_h5out_open, and callable by anyone else. */
void lapse_h5_init(void);

typedef struct lapse_h5in lapse_h5in_t;

/* Open for reading (after a successful probe). *out set only on success. */
lapse_status_t lapse_h5in_open(const char *file, const char *dset, lapse_h5in_t **out);

/* Info of an open input. */
const lapse_input_info_t *lapse_h5in_info(const lapse_h5in_t *in);

/* Read box of timepoint t into dst: C order, box->dim voxels of the input dtype. */
lapse_status_t lapse_h5in_read(lapse_h5in_t *in, int64_t t, const lapse_box_t *box, void *dst);

/* Close; NULL is accepted. */
void lapse_h5in_close(lapse_h5in_t *in);

#endif
