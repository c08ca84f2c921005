/*
 * h5util.h - small HDF5 helpers shared by io/reader_h5, h5out, io/layout, info and sample: the
 * process-wide error-printing switch, the memory type and the recognition of lapse's voxel
 * dtypes, fixed-length string types and reading a string attribute.
 *
 * These helpers hold no state and make no collective calls of their own (creating a datatype
 * is local), so any rank may call them at any time.
 */
#ifndef LAPSE_H5UTIL_H
#define LAPSE_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>

#include "status.h"
#include "types.h"

/* Turn off HDF5's automatic error printing for the whole process (lapse reports HDF5 errors
 * through lapse_h5_fail, which reads the error stack). Idempotent; called by the HDF5 reader,
 * lapse_h5out_check, lapse_h5out_open and info, and callable by anyone else. */
void lapse_h5_init(void);

/* The native memory type of a concrete dtype: H5T_NATIVE_UINT8 (LAPSE_DT_U8),
 * H5T_NATIVE_UINT16 (LAPSE_DT_U16), H5T_NATIVE_UINT32/UINT64, H5T_NATIVE_INT16 (LAPSE_DT_I16),
 * H5T_NATIVE_DOUBLE (LAPSE_DT_F64), H5T_NATIVE_FLOAT (LAPSE_DT_F32 and anything else). A
 * predefined type: never close it. */
hid_t lapse_h5_mem_type(lapse_dtype_t dt);

/* The little-endian file type lapse stores a dtype as: H5T_STD_U8LE, U16LE, U32LE, I16LE,
 * U64LE, and H5T_IEEE_F32LE for LAPSE_DT_F32 and anything else. Predefined: never close it. */
hid_t lapse_h5_file_type(lapse_dtype_t dt);

/* The lapse dtype of an HDF5 datatype: unsigned 8-, 16-, 32- and 64-bit integers (any byte
 * order) are LAPSE_DT_U8 / U16 / U32 / U64, signed 16-bit LAPSE_DT_I16, 32- and 64-bit floats
 * LAPSE_DT_F32 / LAPSE_DT_F64. Returns 0 and sets *dt for those;
 * returns -1 for any other type, *dt unchanged. */
int lapse_h5_dtype(hid_t type, lapse_dtype_t *dt);

/* A new fixed-length, NUL-terminated string type of n bytes (n = 0 is taken as 1). The caller
 * closes it with H5Tclose. Returns a negative id on failure (nothing to close then). */
hid_t lapse_h5_str_type(size_t n);

/* Read the scalar string attribute name of obj (fixed or variable length) into buf, truncated
 * to len - 1 characters and NUL-terminated (len >= 1). buf is "" when the attribute is absent,
 * is not a string or cannot be read: this never fails. Leaves the HDF5 error stack clear. */
void lapse_h5_read_str_attr(hid_t obj, const char *name, char *buf, size_t len);

#endif
