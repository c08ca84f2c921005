/*
 * h5in.h - compatibility header: the former HDF5 input reader, now io/reader.h (a facade over
 * format backends, HDF5 being one). The lapse_h5in_* names below are thin inline wrappers kept
 * for callers not yet moved to lapse_reader_*; new code includes "io/reader.h".
 */
#ifndef LAPSE_H5IN_H
#define LAPSE_H5IN_H

#include "h5util.h" /* lapse_h5_init */
#include "io/reader.h"

typedef lapse_reader_t lapse_h5in_t;

/* See lapse_reader_probe. */
static inline lapse_status_t lapse_h5in_probe(const char *file, const char *dset,
                                              lapse_input_info_t *info)
{
    return lapse_reader_probe(file, dset, info);
}

/* See lapse_reader_open. */
static inline lapse_status_t lapse_h5in_open(const char *file, const char *dset, lapse_h5in_t **out)
{
    return lapse_reader_open(file, dset, out);
}

/* See lapse_reader_info. */
static inline const lapse_input_info_t *lapse_h5in_info(const lapse_h5in_t *in)
{
    return lapse_reader_info(in);
}

/* See lapse_reader_read. */
static inline lapse_status_t lapse_h5in_read(lapse_h5in_t *in, int64_t t, const lapse_box_t *box,
                                             void *dst)
{
    return lapse_reader_read(in, t, box, dst);
}

/* See lapse_reader_close. */
static inline void lapse_h5in_close(lapse_h5in_t *in)
{
    lapse_reader_close(in);
}

#endif
