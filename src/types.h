/*
 * types.h - small value types shared by every module: voxel data types and boxes, and the
 * ISO 8601 timestamp used in run records and lock markers.
 * All 3-vectors are ordered z, y, x (slowest to fastest), like the HDF5 datasets.
 */
#ifndef LAPSE_TYPES_H
#define LAPSE_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    LAPSE_DT_U8 = 0,
    LAPSE_DT_U16 = 1,
    LAPSE_DT_F32 = 2,
    LAPSE_DT_AUTO = 3, /* only in output.dtype: the pipeline's natural type */
    LAPSE_DT_U32 = 4,  /* labels */
    LAPSE_DT_U64 = 5,  /* provisional labels between phases (exec/phases.c), never an output */
    LAPSE_DT_I16 = 6,  /* input (read as float32, io/reader.c) and output.dtype */
    LAPSE_DT_F64 = 7   /* input files only: read as float32 (io/reader.c) */
} lapse_dtype_t;

/* Bytes per voxel of a concrete dtype (1, 2, 4, 8); 0 for LAPSE_DT_AUTO. */
size_t lapse_dtype_size(lapse_dtype_t dt);
/* "uint8", "uint16", "float32", "auto", "uint32", "uint64", "int16", "float64". */
const char *lapse_dtype_name(lapse_dtype_t dt);
/* Parse a name as above; returns 0 on success, -1 if unknown (out unchanged). */
int lapse_dtype_parse(const char *name, lapse_dtype_t *out);

/* The current time as an ISO 8601 UTC stamp, "2024-01-02T03:04:05Z" (20 characters), into buf
 * (len >= 21 for the whole stamp; on a shorter buffer buf's content is unspecified). */
void lapse_iso_now(char *buf, size_t len);

/* An axis-aligned box of voxels: offset and extent per axis (z, y, x). */
typedef struct {
    int64_t off[3];
    int64_t dim[3];
} lapse_box_t;

/* Number of voxels in a box. */
static inline int64_t lapse_box_voxels(const lapse_box_t *b)
{
    return b->dim[0] * b->dim[1] * b->dim[2];
}

#define LAPSE_MAX_STEPS 32
#define LAPSE_NAME_MAX  256

#endif
