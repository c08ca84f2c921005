/*
 * io/reader.h - the input time-lapse, read through a table of backends.
 *
 * The input is a [t, z, y, x] or [t, y, x] (then z = 1) image of uint8, uint16 or float32 as
 * the rest of lapse sees it (info.dtype); files of int16, uint32 or float64 (info.file_dtype)
 * are converted to float32 by the facade as they are read (lapse_reader_read). A
 * backend (lapse_reader_backend_t) knows one file format: HDF5 (reader_h5.c; also
 * BigDataViewer HDF5), TIFF (reader_tiff.c: classic, BigTIFF, ImageJ hyperstacks, OME-TIFF,
 * multi-page) and Zarr v2 / OME-Zarr directory stores (reader_zarr.c); one file per timepoint
 * is reader_files.c. The facade
 * (reader.c) picks the backend of a file, by its name's suffix first, then by asking each
 * backend whether it recognises the file, else the default (first) backend, whose probe then
 * says what is wrong. Adding a format is one descriptor and one line in reader.c's registry.
 * Each rank opens the input on its own; reads are independent and need no collective calls.
 */
#ifndef LAPSE_IO_READER_H
#define LAPSE_IO_READER_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "types.h"

typedef struct lapse_input_info {
    int ndims;               /* 3 ([t,y,x]) or 4 ([t,z,y,x]) */
    int64_t ntp;             /* timepoints */
    int64_t shape[3];        /* z, y, x (z = 1 when ndims == 3) */
    lapse_dtype_t dtype;     /* what reads deliver: uint8, uint16 or float32 */
    int failed_part;         /* after a failed probe: 1 the file is unusable, 2 the dataset, 3 the
                                selection (input.format, .setup, .channel), 4 input.axes; else 0 */
    double voxel_size_um[3]; /* z, y, x in micrometres as the input says; 0 when it does not
                                (the config's input.voxel_size replaces it: exec/job.c) */
    /* Set by a successful probe or open (0 from a backend that does not know them): */
    lapse_dtype_t file_dtype; /* the type in the file: dtype, or int16 / uint32 / float64 that
                                 the facade converts to float32 (dtype) as it reads */
    int64_t nchannels;        /* channels in the file (the one read: input.channel); 1 = none */
    int axes_assumed; /* 1: the file names no axes (a plain multi-page TIFF) and its pages were
                         taken as the z planes of one timepoint; 2: a 3-D HDF5 dataset, read as
                         [t, y, x], whose element_size_um has 3 values (z, y, x) as a z-stack's
                         would; 0 otherwise */
    double chunk_cache_bytes; /* the most host memory a rank's reader keeps of decoded chunks (a
                                 compressed HDF5 input's chunk cache: docs/io.md); 0 when the
                                 library's default serves */
    int compressed_chunks;    /* 1: a chunked, compressed HDF5 dataset: every read decodes the
                                 chunks it touches whole, so the tiles of a timepoint read on
                                 one rank decode each chunk once (exec/deal.h); set by a probe */
    double reader_buf_bytes;  /* a reader's own buffers besides any cache: a compressed chunk
                                 in and decoded (HDF5's filter, Zarr's file bytes and chunk),
                                 one decoded TIFF strip or tile; 0 when none worth counting */
    int signed_stored;        /* 1: int16 values stored as uint16 + 32768 or as uint16 bits
                                 (ImageJ's signed 16-bit TIFF, BigDataViewer dataType int16),
                                 read as int16 since 2026-12-05 (as uint16 before) */
} lapse_input_info_t;

/* What `lapse plan` and `lapse run` say about an input with axes_assumed set (1 or 2). */
#define LAPSE_AXES_ASSUMED_NOTE                                                                    \
    "the TIFF names no axes (no ImageJ, OME-XML or tifffile axes in its description): its pages "  \
    "are read as the z "                                                                           \
    "planes of one timepoint; for a time series of 2-D frames set input.axes: tyx "                \
    "(input.axes: zyx states this reading; docs/config.md)"
#define LAPSE_AXES_H5_NOTE                                                                         \
    "the 3-D dataset is read as [t, y, x], timepoints of one plane, but its element_size_um has "  \
    "3 values (z, y, x) as a z-stack's would: store one z-stack as [1, z, y, x] (h5py: "           \
    "f['/raw'] = stack[None]) to process it as a volume (docs/config.md)"
#define LAPSE_AXES_NOTE(code) ((code) == 2 ? LAPSE_AXES_H5_NOTE : LAPSE_AXES_ASSUMED_NOTE)

/*
 * The selection within an input, given in the config (input.files, input.channel, input.setup,
 * input.format, input.axes) and carried after the dataset name in the canonical form
 *     DATASET[#ITEM,ITEM...]    ITEM: files | format=bdv | setup=N | channel=N | axes=tyx|zyx
 *                               (in this order)
 * e.g. "/raw#channel=1", "#files", "#format=bdv,setup=0" (lapse_config_t.input_dataset), so
 * that every place that names the input (messages, the fingerprint, the output's records, the
 * workers' opens) carries it. Without a '#' the string is a plain dataset name.
 */
typedef struct {
    char dataset[LAPSE_NAME_MAX]; /* the part before '#' ("" for none) */
    int files;                    /* 1: the file name is a pattern, one file per timepoint */
    int bdv;                      /* 1: input.format: bdv (BigDataViewer HDF5) */
    int setup;                    /* BigDataViewer setup; -1 = not given (0) */
    int channel;                  /* channel of an input with a channel axis; -1 = not given */
    int axes; /* input.axes of a TIFF without axes: 0 not given, LAPSE_AXES_TYX, LAPSE_AXES_ZYX */
} lapse_input_sel_t;

#define LAPSE_AXES_TYX 1 /* the pages are timepoints of one plane: [t, y, x] */
#define LAPSE_AXES_ZYX 2 /* the pages are the z planes of one timepoint (the default) */

/* Split dataset (may be NULL: as "") into *sel. 0 on success; -1 with a message in err[errlen]
 * for a malformed selection (then *sel is unspecified). */
int lapse_input_sel_parse(const char *dataset, lapse_input_sel_t *sel, char *err, size_t errlen);

/* The canonical string of sel into out[len] (sel->dataset alone when nothing is selected). 0
 * on success, -1 when it does not fit. */
int lapse_input_sel_format(const lapse_input_sel_t *sel, char *out, size_t len);

/* Selections a backend understands (lapse_reader_backend_t.selects). */
#define LAPSE_SELECTS_CHANNEL 1 /* input.channel */
#define LAPSE_SELECTS_BDV     2 /* input.format: bdv, input.setup */
#define LAPSE_SELECTS_AXES    4 /* input.axes */

/*
 * One input format. Every function pointer is set. Contracts:
 *   check_dataset  syntax of the config's input.dataset for this format, without touching any
 *                  file: 0 when acceptable; else -1 and a message (no "input.dataset:" prefix,
 *                  no file:line) in err[errlen]. Records nothing with lapse_fail.
 *   sniff          1 when file looks like this format (may open and read it), else 0; never
 *                  fails, leaves no error recorded.
 *   probe          check that file holds a usable dataset and fill *info; LAPSE_EINPUT with a
 *                  message saying what is wrong, info->failed_part set (other fields unchanged).
 *   open           as probe, and keep the input open: *handle and *info set only on success.
 *   read           box of timepoint t into dst, C order, box->dim voxels of info.dtype. The
 *                  facade has checked t and box against info.
 *   close          release a handle from open; NULL is accepted.
 * The dataset handed to a backend's functions is the full string (with its '#' selection) when
 * the backend's selects is not 0, else only the part before '#'; the facade refuses a
 * selection the backend does not understand ("has no channel axis").
 * needs_dataset: 1 when the format holds named datasets and input.dataset must be given (HDF5);
 * 0 when the file is one image and input.dataset may be left out (TIFF: then it is "").
 * dataset_optional (with needs_dataset 0): input.dataset may be given and is then used (Zarr:
 * a path inside the store; "" when left out).
 * thread_safe: 1 when different handles may be used from different threads at once (0 for
 * HDF5 1.10 without its thread-safe build).
 */
typedef struct {
    const char *name;            /* "hdf5" */
    const char *const *suffixes; /* file name suffixes claimed (".h5"), NULL-terminated */
    int needs_dataset;
    int dataset_optional;
    int thread_safe;
    int selects; /* LAPSE_SELECTS_* it understands; 0: none */
    int (*check_dataset)(const char *dataset, char *err, size_t errlen);
    int (*sniff)(const char *file);
    lapse_status_t (*probe)(const char *file, const char *dataset, lapse_input_info_t *info);
    lapse_status_t (*open)(const char *file, const char *dataset, void **handle,
                           lapse_input_info_t *info);
    lapse_status_t (*read)(void *handle, int64_t t, const lapse_box_t *box, void *dst);
    void (*close)(void *handle);
} lapse_reader_backend_t;

/* The HDF5 backend (reader_h5.c). */
extern const lapse_reader_backend_t lapse_reader_hdf5;

/* The TIFF backend (reader_tiff.c). */
extern const lapse_reader_backend_t lapse_reader_tiff;

/* The Zarr v2 / OME-Zarr backend (reader_zarr.c). */
extern const lapse_reader_backend_t lapse_reader_zarr;

/* One file per timepoint (reader_files.c): the file name is a glob pattern (input.files), each
 * file a z-stack read through the facade (any format, the same selection). Chosen by the
 * selection's "files", never by suffix or sniffing. */
extern const lapse_reader_backend_t lapse_reader_files;

/* The files matching pattern (glob(3)), sorted naturally (tp_2 before tp_10), into *names (n
 * strings; the caller frees each and the array). Each name's timepoint number (the first digit
 * run at or after the pattern's first wildcard) must follow the previous one's: else
 * LAPSE_EINPUT naming the extra, repeated or missing file; no match is LAPSE_EINPUT too. */
lapse_status_t lapse_reader_files_list(const char *pattern, char ***names, size_t *n);

/* The backend for a single file (not a pattern), as lapse_reader_probe chooses it: by suffix,
 * else by content, else the default. Never NULL. */
const lapse_reader_backend_t *lapse_reader_backend_for_file(const char *file);

/* Convert n voxels of file dtype from (int16, uint32 or float64; also uint8, uint16, float32)
 * at src into float32 at dst. dst may equal src only when from's size is at most 4 bytes. */
void lapse_reader_to_f32(lapse_dtype_t from, const void *src, float *dst, size_t n);

/* The HDF5 backend's check_dataset (reader_h5_path.c, no HDF5 calls): dataset must be an
 * absolute path ("/raw", "/a/b") without empty components or a trailing slash. */
int lapse_reader_h5_check_dataset(const char *dataset, char *err, size_t errlen);

/* The backend for file without opening it: the one claiming its suffix (case-insensitive),
 * else the default backend. file may be NULL (then the default). Never NULL. */
const lapse_reader_backend_t *lapse_reader_backend_for_name(const char *file);

/* Check the config's dataset name for the backend of file (chosen by lapse_reader_backend_for_name:
 * no file is opened). 0 when acceptable; else -1 with a message in err[errlen] (errlen >= 1). */
int lapse_reader_check_dataset(const char *file, const char *dataset, char *err, size_t errlen);

/* Check that file holds a usable dataset and fill *info. Failures are LAPSE_EINPUT with a
 * message saying what is wrong ("no such file", "not an HDF5 file", "dataset /x not found;
 * datasets in the file: /a, /b", "has 5 dimensions, expected [t,z,y,x] or [t,y,x]", "type
 * int32 is not supported"...); then only info->failed_part is set. */
lapse_status_t lapse_reader_probe(const char *file, const char *dataset, lapse_input_info_t *info);

typedef struct lapse_reader lapse_reader_t;

/* Open file's dataset for reading (after a successful probe; the same checks are made again).
 * *out is set only on success; the caller closes it with lapse_reader_close. */
lapse_status_t lapse_reader_open(const char *file, const char *dataset, lapse_reader_t **out);

/* Info of an open input; valid until lapse_reader_close. */
const lapse_input_info_t *lapse_reader_info(const lapse_reader_t *r);

/* The backend an open input is read with (e.g. to look at its thread_safe flag). */
const lapse_reader_backend_t *lapse_reader_backend(const lapse_reader_t *r);

/* Read box of timepoint t into dst: C order, box->dim voxels of the input dtype. A timepoint or
 * box outside the input is LAPSE_ERUNTIME and nothing is read. A failure of the backend's read
 * (a damaged chunk, an I/O error on the input) is LAPSE_EREAD, its message naming the input,
 * the timepoint and the box before the backend's cause. Not thread-safe unless the backend's
 * thread_safe flag says so. */
lapse_status_t lapse_reader_read(lapse_reader_t *r, int64_t t, const lapse_box_t *box, void *dst);

/* Close; NULL is accepted. */
void lapse_reader_close(lapse_reader_t *r);

#endif
