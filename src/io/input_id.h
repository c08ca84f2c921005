/*
 * io/input_id.h - which files an input dataset reads, and the input's identity.
 *
 * Aliasing: an HDF5 input dataset may read other files than the one named in the config: the
 * file an external link on its path leads to, the source files of a virtual dataset, the files
 * of external storage. lapse_input_reads_file finds whether one of them is a given file (by
 * device + inode), so that a run never writes the file it reads.
 *
 * Identity: the input file's size and modification time and a checksum of a few boxes of the
 * dataset (origin box of the first, middle and last timepoint), as one short text. With one
 * file per timepoint (input.files) the size is the files' total, the time the latest, and the
 * checksum also covers every file's name, size and time, so a change to any file is seen. Recorded
 * with the output (io/layout.h LAPSE_ATTR_INPUT_IDENTITY); a continuation onto an input whose
 * identity differs is refused, and a change during a run is detected at its end.
 */
#ifndef LAPSE_IO_INPUT_ID_H
#define LAPSE_IO_INPUT_ID_H

#include <stddef.h>
#include <sys/stat.h>

#include "io/reader.h"
#include "status.h"

#define LAPSE_INPUT_ID_LEN 96

/* 1 when dataset of HDF5 file file (already probed) reads the file whose stat is target: the
 * file itself, the file an external link leads to, a virtual dataset's source file, an external
 * storage file, and on through what those read (up to 8 levels, 1024 files; beyond, 1). Then
 * why[len] says how. 0 otherwise (also when the file cannot be opened: the probe reports that).
 * Names are resolved as HDF5 resolves them: virtual dataset source names expanded ("%b" = the
 * block number of a printf-style mapping, "%%", "." = the same file), linked and source files
 * searched for as H5F_prefix_open_file does (HDF5_EXT_PREFIX / HDF5_VDS_PREFIX, the VDS prefix,
 * the referring file's directory, the working directory), external storage joined to its
 * prefix (HDF5_EXTFILE_PREFIX, "${ORIGIN}"; none: the working directory). Non-HDF5 inputs:
 * only the file itself. */
int lapse_input_reads_file(const char *file, const char *dataset, const struct stat *target,
                           char *why, size_t len);

/* The identity of an input (after a successful probe; in describes it) into out[len] (len >=
 * LAPSE_INPUT_ID_LEN): "size=N mtime=S.NS sum=HEX". LAPSE_EINPUT when it cannot be read. */
lapse_status_t lapse_input_identity(const char *file, const char *dataset,
                                    const lapse_input_info_t *in, char *out, size_t len);

/* The identity the input had when it held only its first ntp timepoints (0 <= ntp <= in->ntp),
 * computed on the input as it is now: the checksum covers the boxes of timepoints 0, ntp / 2 and
 * ntp - 1 (and with input.files the names, sizes and times of the first ntp files), so its
 * "sum=" equals the one recorded then when those timepoints hold the same data; size and
 * modification time are the whole input's now. For growing an output (exec/job.c). A box
 * that cannot be read counts as the text "unreadable" (a damaged chunk stays so); unread
 * (NULL: not wanted) gets the first such box's timepoint and read error, "" when none. */
lapse_status_t lapse_input_identity_first(const char *file, const char *dataset,
                                          const lapse_input_info_t *in, int64_t ntp, char *out,
                                          size_t len, char *unread, size_t unread_len);

/* The sample checksum of each timepoint tps[i] (i < n, each in [0, in->ntp)) into out[i],
 * read through the open input r (its own caches: a chunk the caller just read is not decoded
 * again), in describing it: a 64-bit FNV-1a over the voxels of the 1 x 64 x 64 box (clipped to
 * the image) centred in the middle plane, as read (in->dtype). Never 0 (0 stands for "not
 * recorded" in the output's LAPSE_LAYOUT_INPUT_SUMS); a box that cannot be read (a damaged
 * chunk) gets the checksum of the text "unreadable". Recorded for each timepoint a run computes
 * (exec/worker.c), so that one whose data changed since (an acquisition rewrote it) is named:
 * growing an output checks every timepoint it has (exec/job.c). An out-of-memory or
 * interrupted read fails as such. */
lapse_status_t lapse_input_tp_sums(lapse_reader_t *r, const lapse_input_info_t *in,
                                   const int64_t *tps, int64_t n, uint64_t *out);

/* The sample box of lapse_input_tp_sums for an input described by in (one timepoint's). */
lapse_box_t lapse_input_sample_box(const lapse_input_info_t *in);

/* The sample checksum of the sample box's voxels already read: bytes bytes of them in
 * in->dtype, z y x order, x fastest (the same value lapse_input_tp_sums gives for them). */
uint64_t lapse_input_sample_sum(const void *data, size_t bytes);

/* A timepoint's sample put together from boxes read (tiles: each may hold a part of it). A
 * zeroed one is empty. */
typedef struct {
    unsigned char *buf; /* the sample's voxels, then one byte per voxel: 1 once it came */
    int64_t have;       /* voxels that came */
} lapse_sample_t;

/* Copy into s the part of the sample box (lapse_input_sample_box) that box have holds (data: its
 * voxels, in->dtype, z y x order, x fastest). 1 with *out set to the sample checksum once every
 * voxel of the sample came (s is then freed), else 0; also 0 without the memory for s (the
 * caller then reads the sample: lapse_input_tp_sums). */
int lapse_input_sample_take(lapse_sample_t *s, const lapse_input_info_t *in,
                            const lapse_box_t *have, const void *data, uint64_t *out);

/* Release s (and empty it). */
void lapse_input_sample_free(lapse_sample_t *s);

/* 1 when identities a and b have the same checksum ("sum="), whatever their size and time. */
int lapse_input_identity_same_sum(const char *a, const char *b);

/* Describe what differs between identities a (recorded) and b (now) into buf[len]. */
void lapse_input_identity_diff(const char *a, const char *b, char *buf, size_t len);

#endif
