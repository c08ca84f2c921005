/*
 * io/zarr_out.h - output.format: zarr: the result voxels as OME-Zarr (NGFF 0.4, Zarr v2
 * directory store) beside the HDF5 output file, which keeps the task state (h5out.h).
 *
 * Layout, for output file OUT.h5 (OUT.zarr for a name without .h5/.hdf5/.he5: OUT + ".zarr"):
 *   OUT.zarr/.zgroup               the root group
 *   OUT.zarr/.zattrs               {"lapse": {"for": "OUT.h5", "arrays": [...]}}: the output
 *                                  file's name (lapse_zarr_owner) and its datasets' groups
 *   OUT.zarr/<dataset>/.zgroup     one image group per result dataset ("/result" -> result;
 *   OUT.zarr/<dataset>/.zattrs     intermediate groups of a nested name get a .zgroup too),
 *                                  multiscales[0]: version 0.4, axes t (time), z, y, x (space,
 *                                  unit micrometer when the voxel size is known), one dataset
 *                                  "0" with a scale transformation [1, dz, dy, dx]
 *   OUT.zarr/<dataset>/0/.zarray   the array [t, z, y, x] (or [t, y, x]), chunks [1, tile]
 *                                  (the HDF5 chunk shape), fill value 0, C order, "/" keys
 *                                  (OME-NGFF; a store continued from before 2026-12-02 keeps
 *                                  its "." keys: T.Z.Y.X files)
 *   OUT.zarr/<dataset>/0/T/Z/Y/X   one chunk per task: its core box at timepoint T, padded to
 *                                  the full chunk shape with the fill value
 * Compression (output.compression): none -> raw chunks (compressor null); blosc:zstd[:L] and
 * blosc:lz4[:L] -> blosc with that codec; gzip[:L] -> blosc with its zlib codec (level L),
 * all with byte shuffle and one blosc thread, as numcodecs' Blosc reads them.
 *
 * Every file is written to a temporary name in its directory, fsync'ed and renamed into place
 * (then the directory is fsync'ed), so a reader or a killed run never leaves a partial file at
 * a final name. No MPI: each rank writes the chunks of its own tasks.
 */
#ifndef LAPSE_IO_ZARR_OUT_H
#define LAPSE_IO_ZARR_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "h5out.h"
#include "io/layout.h" /* lapse_zarr_root */
#include "status.h"
#include "types.h"

/* The chunk key separator of the array in directory adir into *sep: what its .zarray says
 * ('.' for a store lapse wrote before 2026-12-02; '.' when it names none, Zarr v2's default),
 * '/' when there is no .zarray yet (a new array). LAPSE_EIO when the .zarray cannot be read or
 * parsed: guessing then could write chunks under keys no reader looks at. */
lapse_status_t lapse_zarr_separator(const char *adir, char *sep);

/* Serial. The compressor of the array of dataset s in the store of output file out, as its
 * .zarray says (null: LAPSE_COMP_NONE; blosc lz4, zstd or zlib with its clevel), into *comp and
 * *level, *found 1; *found 0 when the array has no .zarray yet. A continued store keeps it: its
 * chunks are read with the .zarray's compressor, so a config's other output.compression must
 * not rewrite it (every earlier chunk would become unreadable). LAPSE_EIO when the .zarray
 * cannot be read or parsed, LAPSE_EINPUT for a compressor lapse does not write. */
lapse_status_t lapse_zarr_kept_compression(const char *out, const lapse_dset_spec_t *s,
                                           lapse_comp_t *comp, int *level, int *found);

/* Serial. Is the store of output file out absent or this output's? 1 when absent, when its
 * root's .zattrs names out's file name ("lapse": {"for": ...}), when it is a store of lapse
 * from before 2026-12-05 (a list of arrays, no name), or when it is an empty directory (or holds
 * only .zgroup: a creation stopped before its list); else 0: a store of another output whose
 * name makes the same store (run.h5, run.hdf5 and run all make run.zarr), with its name in
 * whose[len] (else ""), or something lapse did not write. Making or continuing out's store
 * there would replace its chunks, so the run is refused (exec/job.c). */
int lapse_zarr_owner(const char *out, char *whose, size_t len);

/* The key of the chunk of timepoint t and spatial chunk
 * indices idx[0..n) into buf: "T.Z.Y.X" or "T/Z/Y/X" by sep. 0 when it fits. */
int lapse_zarr_chunk_key(char *buf, size_t len, char sep, int64_t t, const int64_t *idx, int n);

/* Serial, one rank. Create (or rewrite, identically for the same job) the store of output file
 * out for the result datasets specs[0..n) (chunks set): directories, .zgroup files, each
 * dataset's .zattrs (vox: z, y, x voxel size; unit "micrometer" when known, NULL or "" when not)
 * and .zarray (compressor from comp/level as above). fresh: the HDF5 file was just made (no
 * task done yet): chunk files (names of digits and dots) and temporary files already in each
 * array's directory are removed first, so a store left by an earlier output of that name never
 * shows through, and the arrays the root's list names that specs does not are removed (their
 * chunk, temporary and metadata files and directories; other files stay). LAPSE_EIO with a
 * message on failure. */
lapse_status_t lapse_zarr_create(const char *out, const lapse_dset_spec_t *specs, int n,
                                 const double vox[3], const char *unit, lapse_comp_t comp,
                                 int level, int fresh);

/* Independent. Write the chunk holding core box core of timepoint t of dataset s (buf: core->dim
 * voxels of s->dtype in C order; z ignored for a 3-D dataset). The core must start on the chunk
 * grid and fit one chunk (a plan tile does). Returns only once the chunk file is durable at
 * its final name. */
lapse_status_t lapse_zarr_write(const char *out, const lapse_dset_spec_t *s, int64_t t,
                                const lapse_box_t *core, const void *buf, lapse_comp_t comp,
                                int level);

#endif
