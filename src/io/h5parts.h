/*
 * h5parts.h - output.parts: timepoints (docs/io.md "Per-timepoint parts"): the result voxels of
 * timepoint t live in their own serial HDF5 file OUT.parts/tNNNNNN.h5, and the output file's
 * result datasets are virtual datasets (VDS) that map timepoint t onto that file. Several ranks
 * then write different files instead of contending for the one output file's inode lock, while
 * readers (h5py, Fiji, lapse's tools) still open OUT.h5 alone and see whole [t, z, y, x] datasets.
 *
 * A part file holds, for every result dataset of the output, a dataset at the same path shaped
 * [1, z, y, x] (or [1, y, x]), chunked [1, tile], allocated at creation with no fill write (so
 * that lapse's raw writes apply, h5out.h), and two root attributes: the output's parts token
 * (random, also a root attribute of OUT.h5) and its timepoint. The token ties parts to their
 * output: a part of another output (or a missing part) is refused before a run continues one.
 *
 * Creation is staged like the output file's: the parts are made in OUT.parts.creating, and
 * after OUT.h5.creating was renamed into place, lapse_parts_commit swaps the directories. Only
 * names of the form tNNNNNN.h5 (digits), and tNNNNNN.h5.creating (a part a growth stages,
 * lapse_parts_grow), are ever removed from a parts directory.
 */
#ifndef LAPSE_H5PARTS_H
#define LAPSE_H5PARTS_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "h5out.h"
#include "io/layout.h"
#include "status.h"

#define LAPSE_PARTS_TOKEN_ATTR LAPSE_ATTR_PARTS_TOKEN /* root attribute of OUT.h5 and each part */
#define LAPSE_PARTS_T_ATTR     "timepoint"            /* int64 root attribute of a part */
#define LAPSE_PARTS_TOKEN_LEN  33                     /* 32 hex digits and the terminator */

/* "<file>.parts" (final = 1) or "<file>.parts.creating" (final = 0) into buf. */
void lapse_parts_dir(const char *file, int final, char *buf, size_t len);

/* "<dir>/t%06lld.h5" into buf. */
void lapse_parts_file(const char *dir, int64_t t, char *buf, size_t len);

/* A new random token (LAPSE_PARTS_TOKEN_LEN - 1 hex digits) into tok. */
lapse_status_t lapse_parts_new_token(char tok[LAPSE_PARTS_TOKEN_LEN]);

/* Rank 0, before the parts are made: an empty staging directory OUT.parts.creating (a stale
 * one left by a killed run is emptied of its parts and removed first; a symbolic link there is
 * refused, LAPSE_ECONFIG). */
lapse_status_t lapse_parts_stage(const char *file);

/* Make part t in directory dir: for each spec with results[k] != 0, its dataset (see above);
 * then the token and timepoint attributes. The file's blocks are reserved with
 * fallocate(FALLOC_FL_KEEP_SIZE) unless LAPSE_FALLOCATE=0 (ENOSPC fails here, before any task
 * runs; a file system without fallocate keeps the sparse file). Serial (sec2 driver). */
lapse_status_t lapse_parts_create(const char *dir, int64_t t, const lapse_dset_spec_t *specs,
                                  const int *results, int nspecs, const char *token);

/* fsync the file (dir = 0) or directory (dir = 1) at path: LAPSE_EIO when it fails (a directory
 * whose file system cannot sync it is fine). For growing an output (h5out.c): what replaces or
 * joins a finished output reaches the disk before its new name does. */
lapse_status_t lapse_parts_sync(const char *path, int dir);

/* Rank-local, while an output with parts grows (h5out.h): make part t (a timepoint at or past
 * the output's old count, which its virtual datasets do not map yet) in OUT.parts under the
 * staging name tNNNNNN.h5.creating (a stale one, left by a killed growth, is removed first),
 * then rename it to tNNNNNN.h5, replacing what a killed growth left there. Errors: LAPSE_EH5 /
 * LAPSE_EIO, LAPSE_ECONFIG when something other than a regular file is at the staging name. */
lapse_status_t lapse_parts_grow(const char *file, int64_t t, const lapse_dset_spec_t *specs,
                                const int *results, int nspecs, const char *token);

/* Add to dcpl (a new dataset creation property list) the mappings of result dataset s of
 * output file: timepoint t of s onto the whole dataset s->path of part t, named relative to the
 * output's directory (HDF5 looks a relative source name up under HDF5_VDS_PREFIX when set, then
 * in the virtual file's directory, then in the current directory; docs/io.md). */
lapse_status_t lapse_parts_vds_dcpl(hid_t dcpl, const char *file, const lapse_dset_spec_t *s);

/* Rank 0, after OUT.h5.creating became OUT.h5: OUT.parts (the replaced output's parts, if
 * any: lapse_parts_precheck made sure) moves aside to OUT.parts.old, OUT.parts.creating becomes
 * OUT.parts, and OUT.parts.old is removed (a failure to remove it is only a warning). */
lapse_status_t lapse_parts_commit(const char *file);

/* Serial, before a new output is made at file (nothing written yet): with want_parts, refuse
 * (LAPSE_ECONFIG) a symbolic link or non-directory at OUT.parts, OUT.parts.old or
 * OUT.parts.creating, and an OUT.parts that does not hold the parts of the output being
 * replaced (replaced_token: that output's token, "" or NULL when none): such parts may belong to
 * an output renamed since, which still reads them. */
lapse_status_t lapse_parts_precheck(const char *file, const char *replaced_token, int want_parts);

/* Serial, before continuing the output at file whose token is token: when a creation was killed
 * after OUT.h5 got its name and before its parts did (OUT.parts.creating holds parts of token),
 * finish it (lapse_parts_commit): *done = 1 then. */
lapse_status_t lapse_parts_resume(const char *file, const char *token, int *done);

/* Serial, after an output with parts (token) was replaced by one without: remove OUT.parts when
 * it holds parts of token (otherwise it is not the replaced output's and stays). */
lapse_status_t lapse_parts_remove_replaced(const char *file, const char *token);

/* Rank 0, after a failed creation: remove OUT.parts.creating's parts and the directory.
 * Errors are ignored (the next creation removes what is left). */
void lapse_parts_discard(const char *file);

/* Serial: is every part t in [0, ntp) of output file present, an HDF5 file, and holding token?
 * LAPSE_EINPUT naming the first part that is not. absent_ok (NULL: none): per timepoint, 1
 * where a missing part is fine (an update that makes it anew, exec/job.c). */
lapse_status_t lapse_parts_check(const char *file, const char *token, int64_t ntp,
                                 const unsigned char *absent_ok);

/* Open part t of output file read-only (serial driver) into *fid. */
lapse_status_t lapse_parts_open(const char *file, int64_t t, hid_t *fid);

#endif
