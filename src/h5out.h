/*
 * h5out.h - the one parallel HDF5 output file (MPI-IO driver), written by all ranks. With
 * output.parts: timepoints its result datasets are virtual datasets over one serial part file
 * per timepoint, which ranks write with raw segments (io/h5parts.h); the rest is unchanged.
 *
 * Layout (names and encodings: io/layout.h, which owns them):
 *   result datasets      [t, z, y, x] (or [t, y, x] after a z-projection), the input's full
 *                        time axis, chunked [1, tile], created up front; each task writes its
 *                        core hyperslab (independent I/O; collective for a filtered dataset,
 *                        output.compression, whose chunk index is flushed before the marks).
 *   task table           one row per task and run (lapse_task_row_t), extendible compound table.
 *   done marks           uint8 [t, tiles]: LAPSE_MARK_DONE where the task (timepoint, tile) is
 *                        done, durably: a task's data is written before its mark, and both are
 *                        raw-data writes (no HDF5 metadata changes after the file is created), so
 *                        a killed run leaves a readable file in which no mark exists without its
 *                        data. Its tile attribute is the core tile shape [z, y, x] of the plan.
 *   run groups           a group per run with the run record's attributes (lapse_run_info_t).
 *   root attributes      version, config (latest run), input file and dataset, fingerprint (of
 *                        the config that created the file, see lapse_fingerprint).
 *   element_size_um      float32 [3] (z, y, x) on every result dataset: the voxel size, as
 *                        Fiji's HDF5 plugin and BigDataViewer read it (rewritten by every open).
 *
 * A new file is created under the name <file>.creating and renamed once all its datasets exist
 * and are flushed, so a run killed during creation never leaves a half-made file at <file>.
 *
 * Growing (lapse_state_spec_t.grow_from, an output made with parts or in Zarr format): the new
 * timepoints' parts (none for Zarr) are made under staged names, then rank 0 builds the grown
 * file under <file>.creating from the old one (read, never written) and renames it onto <file>:
 * a kill before that rename leaves the old output as it was (docs/architecture.md, "Growing an
 * output with its input").
 *
 * All functions marked collective must be called by every rank of the communicator with the
 * same arguments (except rows in lapse_h5out_append_rows).
 */
#ifndef LAPSE_H5OUT_H
#define LAPSE_H5OUT_H

#include <hdf5.h>
#include <mpi.h>

#include "config.h"
#include "io/layout.h"
#include "io/outstate.h" /* lapse_outstate_t, lapse_h5out_inspect */
#include "io/rawwrite.h"
#include "status.h"
#include "types.h"

/* One result dataset to create (or find, in update mode). */
typedef struct {
    char path[LAPSE_NAME_MAX]; /* "/result" */
    int ndims;                 /* 4: [t,z,y,x], 3: [t,y,x] */
    int64_t dims[4];           /* t, then z, y, x (or y, x) */
    int64_t chunk[4];          /* 1, then the tile (clipped to dims) */
    lapse_dtype_t dtype;
    lapse_comp_t comp; /* filter of a created dataset (output.compression); scratch: none */
    int level;         /* its level */
    double vox[3];     /* voxel size z, y, x of its result (job.c, through the geometric steps); 0
                          on an axis that is not spatial: no element_size_um; all 0: not known;
                          negative: an axis whose size is not known (z of a TIFF that gives only
                          its pixel size), written as its magnitude, without a unit in Zarr */
    double org[3];     /* the centre of its voxel 0 in the input's frame (units of vox), relative to
                          the input's voxel 0: moved by crop, downsample_bin, resample (job.c) */
} lapse_dset_spec_t;

/* Facts about a run, stored in its run group (io/layout.h). Strings must be identical on all ranks.
 */
typedef struct {
    int64_t run_id;
    char start[32], end[32]; /* ISO 8601 UTC */
    const char *config_text, *config_path, *input_file, *input_dataset, *timepoints;
    int nranks;
    const char *status;             /* LAPSE_RUN_RUNNING, _DONE, _FAILED, _INTERRUPTED */
    const char *fingerprint;        /* of this run's config */
    const char *tps_hash;           /* lapse_tpsel_hash of the selection */
    const char *input_identity;     /* at the run's start (io/input_id.h) */
    const char *input_identity_end; /* at its end; "" or NULL while running */
    int input_changed;              /* 1: the input changed during the run */
    int recompute;                  /* 1: an update recomputing its selection (marks reset) */
} lapse_run_info_t;

typedef struct lapse_h5out lapse_h5out_t;

/* The plan facts stored with the task state. */
typedef struct {
    int64_t tile[3];         /* core tile shape (z, y, x) */
    int64_t ntiles;          /* tiles per timepoint */
    char fingerprint[24];    /* of the result-defining config (hex) */
    char input_identity[96]; /* of the input now (root attribute, io/input_id.h) */
    /* z, y, x: the element_size_um attribute of every result dataset (outside /lapse); not
     * written when all 0 */
    double element_size_um[3];
    /* update mode: the output's count of timepoints when the open grows it to the specs' count
     * (an output made with output.parts or in Zarr format, exec/job.c decided); 0: no growth */
    int64_t grow_from;
} lapse_state_spec_t;

/* Serial, one rank: LAPSE_ECONFIG with a message when <file>.creating (the staging file a new
 * output is made under) exists and is not a regular file of this user with one link (a
 * symbolic link is never followed); LAPSE_OK when it is absent or a stale one of ours. */
lapse_status_t lapse_h5out_check_staging(const char *file);

/* Check, on one rank before any output is touched, that the output may be opened in mode:
 * always: the output directory exists and is writable; create: nothing more (whether an
 * existing file may be continued is the caller's decision, see lapse_h5out_inspect); update
 * (also used to continue a run): the file must exist, be writable, be a lapse output and hold
 * datasets matching specs (same dims and dtype); overwrite: an existing file must be writable.
 * absent_ok (NULL: none): per timepoint, 1 where a missing part of an output.parts output is
 * fine (lapse_parts_check). Returns LAPSE_OK or LAPSE_ECONFIG/LAPSE_EINPUT with a message. */
lapse_status_t lapse_h5out_check(const char *file, lapse_mode_t mode,
                                 const lapse_dset_spec_t *specs, int nspecs,
                                 const unsigned char *absent_ok);

/* Collective. Open (update: the file exists) or create (create, overwrite: via <file>.creating,
 * renamed when complete) the file with the MPI-IO driver; create or open every dataset in specs
 * (in update mode they must match), /lapse/tasks and /lapse/done (all marks 0 in a new file);
 * write the root attributes, flush. A file made here is identity-locked (lock.h) by rank 0 from
 * the moment <file>.creating exists, before anything is written to it: lapse_h5out_take_lock
 * hands that lock on. *out set only on success. */
lapse_status_t lapse_h5out_open(MPI_Comm comm, const char *file, lapse_mode_t mode,
                                const lapse_dset_spec_t *specs, int nspecs,
                                const lapse_config_t *cfg, const lapse_state_spec_t *state,
                                lapse_h5out_t **out);

/* Independent. Mark task (t, tile) done. Call only after its data writes returned. */
lapse_status_t lapse_h5out_mark_done(lapse_h5out_t *o, int64_t t, int64_t tile);

/* Collective. Clear the marks and the input sums (LAPSE_LAYOUT_INPUT_SUMS: 0, not recorded) of
 * timepoints tps[0..n) (an update recomputes them; every tps[i] must be a timepoint of the
 * file): rank 0 alone writes the zeros, then all ranks agree
 * on the outcome and flush the file collectively. When any rank failed, every rank returns a
 * failure and o is broken (lapse_h5out_close then only frees it). */
lapse_status_t lapse_h5out_reset_done(lapse_h5out_t *o, const int64_t *tps, int64_t n);

/* Local: write sums[i] as the input sum (LAPSE_LAYOUT_INPUT_SUMS) of timepoint tps[i], i < n, a
 * raw-data write with independent I/O like a done mark (an output made before the sums existed:
 * nothing, LAPSE_OK). LAPSE_EH5 on an HDF5 failure, LAPSE_ERUNTIME for a timepoint outside the
 * file. */
lapse_status_t lapse_h5out_put_input_sums(lapse_h5out_t *o, const int64_t *tps,
                                          const uint64_t *sums, int64_t n);

/* 1 when the output records input sums (LAPSE_LAYOUT_INPUT_SUMS), 0 for one made before. */
int lapse_h5out_has_input_sums(const lapse_h5out_t *o);

/* Collective. The next run id: 1 + the largest run id in /lapse/runs (1 for a new file). */
lapse_status_t lapse_h5out_next_run_id(lapse_h5out_t *o, int64_t *run_id);

/* Collective. Create or update /lapse/runs/<run_id> with the attributes of info. */
lapse_status_t lapse_h5out_put_run(lapse_h5out_t *o, const lapse_run_info_t *info);

/* Independent. The file segments that write the core box of timepoint t of dataset k from buf
 * (as for lapse_h5out_write) with plain pwrite (io/rawwrite.h), when the dataset allows it: no
 * filter, chunked, every chunk the box touches allocated (they are, from creation), and the file
 * type's bytes are the memory type's (little-endian host). Segments contiguous in both the file
 * and buf are merged. They are appended to *seg (capacity *cap, grown with realloc) from index
 * *n; *ok = 1 then. *ok = 0 and *n unchanged when the dataset does not allow it or the box needs
 * more than max segments (ragged edge tiles of small chunks): the caller uses lapse_h5out_write.
 * The bytes written this way are what lapse_h5out_write writes. With output.parts the segments
 * are offsets in the part of timepoint t (lapse_h5out_data_file), max does not apply and *ok is
 * always 1 on success. */
lapse_status_t lapse_h5out_raw_segments(lapse_h5out_t *o, int k, int64_t t, const lapse_box_t *core,
                                        const void *buf, lapse_raw_seg_t **seg, int *n, int *cap,
                                        int max, int *ok);

/* Local. The runs of equally spaced chunks dataset k's chunk map has (io/chunkmap.h: 1 for a
 * new output of up to 65534 chunks per dataset), once lapse_h5out_raw_segments has been asked
 * for it; 0 where there is no map (an HDF5 lookup per chunk instead). For tests. */
int lapse_h5out_chunk_runs(const lapse_h5out_t *o, int k);

/* The output file's name as opened (for a descriptor of one's own: io/rawwrite.h). */
const char *lapse_h5out_path(const lapse_h5out_t *o);

/* The parts token of an output made with output.parts ("" without parts). Local. */
const char *lapse_h5out_parts_token(const lapse_h5out_t *o);

/* The file that holds timepoint t of dataset k: the output file, or with output.parts the part
 * of timepoint t (io/h5parts.h). The string is o's, valid until the next call. Local. */
const char *lapse_h5out_data_file(lapse_h5out_t *o, int k, int64_t t);

/* Independent. Write the core box of timepoint t of dataset k (index into specs): buf holds
 * core->dim voxels of that dataset's dtype in C order (core->dim[0] must be 1 for a 3-D
 * dataset, whose z is ignored). */
lapse_status_t lapse_h5out_write(lapse_h5out_t *o, int k, int64_t t, const lapse_box_t *core,
                                 const void *buf);

/* Independent. Read box of timepoint t of dataset k into buf (box->dim voxels of its dtype, C
 * order; z ignored for a 3-D dataset as in lapse_h5out_write). Data other ranks wrote is seen
 * once they flushed (lapse_h5out_flush, collective). */
lapse_status_t lapse_h5out_read(lapse_h5out_t *o, int k, int64_t t, const lapse_box_t *box,
                                void *buf);

/* Collective. Append this rank's n rows (n may differ between ranks, also 0) to /lapse/tasks;
 * the rows of rank 0 come first, then rank 1, ... */
lapse_status_t lapse_h5out_append_rows(lapse_h5out_t *o, const lapse_task_row_t *rows, int64_t n);

/* The open file, its communicator and its collective transfer list (for io/table.c). */
void lapse_h5out_handles(const lapse_h5out_t *o, hid_t *file, hid_t *dxpl_coll, MPI_Comm *comm,
                         int *rank);

/* Collective. Flush the whole file to disk. */
lapse_status_t lapse_h5out_flush(lapse_h5out_t *o);

/* Collective: before a collective call that will allocate and write up to extra bytes after the
 * file's end, reserve them (and the flush margin) on rank 0, agreed: a full disk fails here on
 * every rank alike, before anything is written. */
lapse_status_t lapse_h5out_reserve(lapse_h5out_t *o, int64_t extra);

/* Collective: lapse_h5out_flush, then every rank's status agreed (an MPI_Allreduce): when it
 * returns, every rank's flush has returned, so rank 0's metadata writes (the chunk index of a
 * filtered dataset, the end of allocation) are done before any rank goes on to a done mark.
 * (H5Fflush alone let a rank mark its task while rank 0 was still writing the metadata: a kill
 * of rank 0 then left a mark whose compressed data could not be read: addr overflow.) mine is
 * this rank's status of the round's writes before the flush: a failure there on any rank fails
 * the agreement on every rank (the round's collective writes and chunk index are then not to be
 * trusted on any rank: with a full disk on rank 1 alone, rank 0's H5Dwrite returned success
 * while its chunk never reached the index, and rank 0 marked the task done). */
lapse_status_t lapse_h5out_flush_agreed(lapse_h5out_t *o, lapse_status_t mine);

/* A handler for a collective HDF5 call that failed on this rank (lapse_h5out_collective_failed):
 * the other ranks may still be inside that call, so this rank must not make another collective
 * call; the handler ends the job (run.c: the message, then MPI_Abort) and does not return. */
typedef void (*lapse_h5out_fatal_fn)(void *ctx, lapse_status_t st);

/* Local: call fn(ctx, st) when a collective HDF5 call on o fails on this rank (the data writes
 * of lapse_h5out_write_coll, the flushes, the task table's rows, the measurement tables). With
 * no handler (NULL, the default) the call returns its failure as before. o NULL: the handler of
 * every output lapse_h5out_open opens from now on (its own flushes included); fn NULL: none. */
void lapse_h5out_on_fatal(lapse_h5out_t *o, lapse_h5out_fatal_fn fn, void *ctx);

/* Local: a collective HDF5 call on o failed on this rank with st (already recorded): o is marked
 * broken (no collective close), then the handler of lapse_h5out_on_fatal runs, if any. */
void lapse_h5out_collective_failed(lapse_h5out_t *o, lapse_status_t st);

/* Collective: close the file and open it again, with the same datasets, so that every rank's
 * HDF5 metadata cache starts empty. Call it after independent HDF5 calls (the task loop: each
 * rank's chunk lookups and done marks) and before calls that change metadata (appending rows,
 * recording the run, tables). HDF5 1.10 reads the metadata such a call needs and a rank's cache
 * lacks collectively: rank 0 reads it and broadcasts it to the ranks that lack it. When the
 * caches differ (an entry aged out on one rank only, or loaded by an independent call), ranks
 * receive broadcasts meant for other entries, the call fails on some ranks only, and the next
 * collective call (at the latest the close) hangs (docs/testing.md, "Findings"). NULL is
 * accepted (then it does nothing and is not collective). On failure the output is unusable. */
lapse_status_t lapse_h5out_reopen(lapse_h5out_t *o);

/* Collective. Close; NULL is accepted (then it does nothing and is not collective). */
lapse_status_t lapse_h5out_close(lapse_h5out_t *o);

/* Rank 0, after lapse_h5out_open made a new file (create, overwrite): the descriptor of that
 * file holding its identity lock (lock.h), taken on <file>.creating before anything was written
 * and kept through the rename; the caller owns it from now on (lapse_lock_adopt). -1 when the
 * open made no file (update), on other ranks, and on a second call. */
int lapse_h5out_take_lock(lapse_h5out_t *o);

/* Collective. Write the core box of timepoint t of dataset k from buf with one collective
 * H5Dwrite, as every rank of the communicator must in the same order (filtered datasets are
 * written only collectively in parallel HDF5): a rank with nothing to write passes core NULL
 * (an empty selection). A rank whose selection fails (a core box outside the dataset) still
 * takes part with an empty selection and returns that failure, so the others never wait for
 * it; the caller then agrees to stop. When mode is not NULL it receives
 * H5Pget_mpio_actual_io_mode. */
lapse_status_t lapse_h5out_write_coll(lapse_h5out_t *o, int k, int64_t t, const lapse_box_t *core,
                                      const void *buf, int *mode);

/* Local: 1 when some dataset of o has an HDF5 filter (then its writes must be collective:
 * lapse_h5out_write_coll), else 0. The same on every rank (the file's own datasets). */
int lapse_h5out_filtered(const lapse_h5out_t *o);

/* Local: 1 when the data writes are to be collective (filtered datasets, or
 * LAPSE_H5_WRITE=collective), else 0. */
int lapse_h5out_collective(const lapse_h5out_t *o);

/* Local: H5Pget_mpio_actual_io_mode of the latest independent data write
 * (lapse_h5out_write), or -1 when none was made. */
int lapse_h5out_last_io_mode(const lapse_h5out_t *o);

#endif
