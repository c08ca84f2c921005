/*
 * h5out.c - the parallel HDF5 output file (MPI-IO driver, collective metadata writes), written by
 * all ranks: result datasets created up front (chunked, allocated early, fill 0, no filters, so
 * that independent writes of core boxes are allowed), the /lapse/tasks table (a compound row per
 * task, appended collectively), one /lapse/runs/<id> group per run, and root attributes.
 *
 * Only fixed-length strings are used: parallel HDF5 cannot write variable-length data.
 * lapse_h5out_check runs serially on one rank before anything is written; reading an existing
 * output's state before a run is io/outstate.c.
 */
#define _GNU_SOURCE /* fallocate */
#include "h5out.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/falloc.h>
#endif

#include "h5util.h"
#include "io/chunkmap.h"
#include "io/h5blosc.h"
#include "io/h5parts.h"
#include "io/layout.h"
#include "io/zarr_out.h"
#include "lock.h"

#define TASKS_PATH  LAPSE_LAYOUT_TASKS
#define DONE_PATH   LAPSE_LAYOUT_DONE
#define SUMS_PATH   LAPSE_LAYOUT_INPUT_SUMS
#define RUNS_PATH   LAPSE_LAYOUT_RUNS
#define TASKS_CHUNK 256

struct lapse_h5out {
    MPI_Comm comm;
    int rank, size;
    hid_t file;
    int nspecs;
    lapse_dset_spec_t *specs;
    hid_t *dsets;
    hid_t tasks;
    hid_t done; /* /lapse/done */
    hid_t sums; /* /lapse/input_sums, or -1 (an output made before it existed) */
    hid_t row_type;
    hid_t dxpl_ind, dxpl_coll;
    int broken;       /* an HDF5 failure left ranks out of step: do not close collectively */
    int sync_fd;      /* LAPSE_SYNC_MARKS=1: a descriptor of the file for fdatasync, else -1 */
    int id_fd;        /* rank 0, a file made by this open: its identity-locked descriptor, until
                         taken (lapse_h5out_take_lock); else -1 */
    int resv_fd;      /* rank 0: a write descriptor of the file for reserve_ahead, else -1 */
    off_t reserved;   /* rank 0: the blocks of the file below this offset are reserved */
    off_t ahead;      /* bytes reserve_ahead keeps reserved after the end of allocation */
    off_t eoa0;       /* rank 0: the end of allocation the file recorded when opened */
    off_t result_end; /* a new file (create_alone): its size once the result datasets were
                         made, before the scratch ones: every result chunk lies below; else 0 */
    int filtered;     /* some dataset has a filter: data writes collective */
    int coll_write;   /* data writes collective (filtered, or LAPSE_H5_WRITE=collective) */
    int io_mode;      /* H5Pget_mpio_actual_io_mode of the latest data write, -1 none */
    int *raw_ok;      /* per dataset: -1 not yet known, 0 / 1 whether raw segments apply */
    hsize_t (*raw_chunk)[4]; /* per dataset: its chunk dims where raw_ok is 1 */
    lapse_chunkmap_t **cmap; /* per dataset where raw_ok is 1 (not in parts): its chunks'
                                addresses (io/chunkmap.h), or NULL: a lookup per chunk */
    char path[4096];         /* the file's name (output.file's size) */
    /* output.parts: timepoints (io/h5parts.h): the result datasets are virtual datasets over
     * one part file per timepoint, written with raw segments into the parts */
    int parts;
    char token[LAPSE_PARTS_TOKEN_LEN]; /* the parts token ("" without parts) */
    int *is_result;                    /* per dataset: 1 a result dataset, 0 a scratch one */
    hid_t pfile;                       /* the part last used for segments (read-only), or -1 */
    int64_t pfile_t;                   /* its timepoint */
    hid_t *pdsets;                     /* per dataset: opened in pfile, or -1 */
    char data_path[4400];              /* lapse_h5out_data_file's answer */
    lapse_h5out_fatal_fn fatal;        /* lapse_h5out_on_fatal's handler, or NULL */
    void *fatal_ctx;
};

/* lapse_h5out_on_fatal(NULL, ...): the handler of the outputs opened from then on */
static lapse_h5out_fatal_fn default_fatal;
static void *default_fatal_ctx;

void lapse_h5out_on_fatal(lapse_h5out_t *o, lapse_h5out_fatal_fn fn, void *ctx)
{
    if (o == NULL) {
        default_fatal = fn;
        default_fatal_ctx = ctx;
        return;
    }
    o->fatal = fn;
    o->fatal_ctx = ctx;
}

void lapse_h5out_collective_failed(lapse_h5out_t *o, lapse_status_t st)
{
    o->broken = 1;
    if (o->fatal)
        o->fatal(o->fatal_ctx, st);
}

/* A collective HDF5 call: on failure, record it (st, as LAPSE_H5) and hand it to
 * lapse_h5out_collective_failed: the other ranks may still be inside the call. */
#define LAPSE_H5_COLL(o, call)                                                                     \
    do {                                                                                           \
        if ((long long)(call) < 0) {                                                               \
            st = lapse_h5_fail(#call, __FILE__, __LINE__);                                         \
            lapse_h5out_collective_failed(o, st);                                                  \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* Does dataset k's data live in the parts? */
static int in_parts(const lapse_h5out_t *o, int k)
{
    return o->parts && o->is_result[k];
}

/* ------------------------------------------------------------------ types */

/* ------------------------------------------------------------------ attributes */

/* Replace attribute name of obj by a fixed-length string (NULL is written as ""). Collective
 * in parallel: every rank passes the same value. */
static lapse_status_t put_str_attr(hid_t obj, const char *name, const char *value)
{
    lapse_status_t st = LAPSE_OK;
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    const char *v = value ? value : "";

    htri_t e = H5Aexists(obj, name);
    LAPSE_H5(e);
    if (e > 0)
        LAPSE_H5(H5Adelete(obj, name));
    LAPSE_H5ID(type, lapse_h5_str_type(strlen(v) + 1));
    LAPSE_H5ID(space, H5Screate(H5S_SCALAR));
    LAPSE_H5ID(attr, H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
    LAPSE_H5(H5Awrite(attr, type, v));
cleanup:
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return st;
}

/* Replace a scalar numeric attribute: ftype in the file, mtype/value in memory. */
static lapse_status_t put_num_attr(hid_t obj, const char *name, hid_t ftype, hid_t mtype,
                                   const void *value)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;

    htri_t e = H5Aexists(obj, name);
    LAPSE_H5(e);
    if (e > 0)
        LAPSE_H5(H5Adelete(obj, name));
    LAPSE_H5ID(space, H5Screate(H5S_SCALAR));
    LAPSE_H5ID(attr, H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT));
    LAPSE_H5(H5Awrite(attr, mtype, value));
cleanup:
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* ------------------------------------------------------------------ check */

/* Parent directory of path into dir ("." when none). */
static void parent_dir(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

static void dims_text(int nd, const int64_t *dims, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < nd && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%" PRId64, i ? ", " : "", dims[i]);
    if (n < len)
        snprintf(buf + n, len - n, "]");
}

/* Does open file f hold a dataset matching spec s? LAPSE_EINPUT with a message when not. */
static lapse_status_t match_spec(hid_t f, const char *file, const lapse_dset_spec_t *s)
{
    lapse_status_t st = LAPSE_OK;
    hid_t d = H5I_INVALID_HID, space = H5I_INVALID_HID, type = H5I_INVALID_HID;
    hsize_t hd[H5S_MAX_RANK];
    int64_t got[H5S_MAX_RANK];
    char want_txt[128], got_txt[128];
    const char *hint = "use output.mode: overwrite or another output file";

    H5O_info_t oi;
    if (H5Oget_info_by_name2(f, s->path, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
        oi.type != H5O_TYPE_DATASET) {
        H5Eclear2(H5E_DEFAULT);
        if (strncmp(s->path, LAPSE_LAYOUT_SCRATCH "/", strlen(LAPSE_LAYOUT_SCRATCH) + 1) == 0)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s was made without a step over whole timepoints (threshold_otsu, "
                       "labeling, measure_labels...) where this config has one (its tile data "
                       "would go to %s, which the output lacks); %s",
                       file, s->path, hint);
        LAPSE_FAIL(LAPSE_EINPUT, "%s has no dataset %s, which this run writes; %s", file, s->path,
                   hint);
    }
    LAPSE_H5ID(d, H5Dopen2(f, s->path, H5P_DEFAULT));
    LAPSE_H5ID(space, H5Dget_space(d));
    LAPSE_H5ID(type, H5Dget_type(d));
    int nd = H5Sget_simple_extent_ndims(space);
    LAPSE_H5(nd);
    LAPSE_H5(H5Sget_simple_extent_dims(space, hd, NULL));
    for (int i = 0; i < nd; i++)
        got[i] = (int64_t)hd[i];
    lapse_dtype_t dt = LAPSE_DT_AUTO;
    int known = lapse_h5_dtype(type, &dt) == 0;
    int same = nd == s->ndims && known && dt == s->dtype;
    for (int i = 0; same && i < nd; i++)
        same = got[i] == s->dims[i];
    if (!same) {
        dims_text(s->ndims, s->dims, want_txt, sizeof want_txt);
        dims_text(nd, got, got_txt, sizeof got_txt);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: dataset %s is %s %s, but this run writes %s %s; %s", file,
                   s->path, got_txt, known ? lapse_dtype_name(dt) : "(unsupported type)", want_txt,
                   lapse_dtype_name(s->dtype), hint);
    }
cleanup:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (d >= 0)
        H5Dclose(d);
    return st;
}

/* Update mode: file must be an HDF5 lapse output with datasets matching specs. */
static lapse_status_t check_update(const char *file, const lapse_dset_spec_t *specs, int nspecs,
                                   const unsigned char *absent_ok)
{
    lapse_status_t st = LAPSE_OK;
    hid_t f = H5I_INVALID_HID;

    htri_t is = H5Fis_hdf5(file);
    H5Eclear2(H5E_DEFAULT);
    if (is <= 0)
        LAPSE_FAIL(LAPSE_EINPUT, "output %s exists but is not an HDF5 file", file);
    f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        LAPSE_FAIL(LAPSE_EINPUT, "output %s cannot be opened as HDF5 (truncated or damaged?)",
                   file);
    }
    htri_t e = H5Lexists(f, LAPSE_LAYOUT_GROUP, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    if (e <= 0)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "output %s is not a lapse output (no " LAPSE_LAYOUT_GROUP " group)", file);
    for (int k = 0; k < nspecs; k++)
        LAPSE_TRY(match_spec(f, file, &specs[k]));
    char token[LAPSE_PARTS_TOKEN_LEN];
    lapse_h5_read_str_attr(f, LAPSE_PARTS_TOKEN_ATTR, token, sizeof token);
    if (token[0] && nspecs > 0) {
        hid_t d = H5Dopen2(f, specs[0].path, H5P_DEFAULT), dcpl = H5I_INVALID_HID;
        int virt =
            d >= 0 && (dcpl = H5Dget_create_plist(d)) >= 0 && H5Pget_layout(dcpl) == H5D_VIRTUAL;
        if (dcpl >= 0)
            H5Pclose(dcpl);
        if (d >= 0)
            H5Dclose(d);
        if (!virt)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "output %s is a packed copy of an output made with output.parts (its "
                       "voxels are in the file, not in parts): lapse reads it but does not "
                       "continue or update it; work on the original, or use output.mode: "
                       "overwrite",
                       file);
        LAPSE_TRY(lapse_parts_check(file, token, specs[0].dims[0], absent_ok));
    }
cleanup:
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

lapse_status_t lapse_h5out_check(const char *file, lapse_mode_t mode,
                                 const lapse_dset_spec_t *specs, int nspecs,
                                 const unsigned char *absent_ok)
{
    lapse_status_t st = LAPSE_OK;
    char dir[4096];
    struct stat sb;

    lapse_h5_init();
    if (file == NULL || file[0] == '\0')
        LAPSE_FAIL(LAPSE_ECONFIG, "no output file given");
    parent_dir(file, dir, sizeof dir);
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        LAPSE_FAIL(LAPSE_ECONFIG, "output directory %s does not exist", dir);
    if (access(dir, W_OK) != 0)
        LAPSE_FAIL(LAPSE_ECONFIG, "output directory %s is not writable: %s", dir, strerror(errno));
    int exists = stat(file, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode))
        LAPSE_FAIL(LAPSE_ECONFIG, "output %s is a directory", file);
    switch (mode) {
    case LAPSE_MODE_CREATE:
        break;
    case LAPSE_MODE_UPDATE:
        if (!exists)
            LAPSE_FAIL(LAPSE_ECONFIG,
                       "output %s does not exist; output.mode: update needs an existing lapse "
                       "output (use create)",
                       file);
        if (access(file, W_OK) != 0)
            LAPSE_FAIL(LAPSE_ECONFIG, "output %s is not writable: %s", file, strerror(errno));
        LAPSE_TRY(check_update(file, specs, nspecs, absent_ok));
        break;
    case LAPSE_MODE_OVERWRITE:
        if (exists && access(file, W_OK) != 0)
            LAPSE_FAIL(LAPSE_ECONFIG, "output %s is not writable: %s", file, strerror(errno));
        break;
    default:
        LAPSE_FAIL(LAPSE_ECONFIG, "unknown output mode %d", (int)mode);
    }
cleanup:
    return st;
}

/* ------------------------------------------------------------------ open */

/* LAPSE_H5_CHUNK=z,y,x: the chunk shape of the result datasets instead of the tile (for
 * benchmarks; clipped to the dataset); 0 and *chunk unchanged otherwise. */
static void env_chunk(const lapse_dset_spec_t *s, hsize_t *chunk)
{
    const char *v = getenv("LAPSE_H5_CHUNK");
    long long c[3];
    if (v == NULL || sscanf(v, "%lld,%lld,%lld", &c[0], &c[1], &c[2]) != 3 || c[0] < 1 ||
        c[1] < 1 || c[2] < 1 ||
        strncmp(s->path, LAPSE_LAYOUT_GROUP, strlen(LAPSE_LAYOUT_GROUP)) == 0)
        return;
    for (int a = 4 - s->ndims; a < 3; a++) {
        int i = a - (4 - s->ndims) + 1;
        chunk[i] = (hsize_t)c[a] < (hsize_t)s->dims[i] ? (hsize_t)c[a] : (hsize_t)s->dims[i];
    }
}

/* Create dataset s (intermediate groups too): chunked. Without a filter: early allocation and
 * no fill write. With a filter (s->comp): the filter (byte shuffle first for dtypes wider than
 * a byte), early allocation with the fill value written at creation (parallel HDF5 allocates
 * filtered chunks at creation too; a filter does not allow H5D_FILL_TIME_NEVER). */
static lapse_status_t create_dset(hid_t f, const lapse_dset_spec_t *s, hid_t *out)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, lcpl = H5I_INVALID_HID;
    hsize_t dims[4], chunk[4];
    double zero = 0;

    if (s->ndims != 3 && s->ndims != 4)
        LAPSE_FAIL(LAPSE_ERUNTIME, "dataset %s: %d dimensions (expected 3 or 4)", s->path,
                   s->ndims);
    for (int i = 0; i < s->ndims; i++) {
        dims[i] = (hsize_t)s->dims[i];
        chunk[i] = (hsize_t)(s->chunk[i] < 1 ? 1 : s->chunk[i]);
        if (chunk[i] > dims[i] && dims[i] > 0)
            chunk[i] = dims[i];
    }
    env_chunk(s, chunk);
    LAPSE_H5ID(space, H5Screate_simple(s->ndims, dims, NULL));
    LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    LAPSE_H5(H5Pset_chunk(dcpl, s->ndims, chunk));
    LAPSE_H5(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    LAPSE_H5(H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &zero));
    if (s->comp != LAPSE_COMP_NONE) {
        if (s->comp == LAPSE_COMP_GZIP && lapse_dtype_size(s->dtype) > 1)
            LAPSE_H5(H5Pset_shuffle(dcpl));
        if (s->comp == LAPSE_COMP_GZIP)
            LAPSE_H5(H5Pset_deflate(dcpl, (unsigned)s->level));
        else /* blosc shuffles inside */
            LAPSE_TRY(lapse_h5blosc_set(dcpl, s->comp == LAPSE_COMP_BLOSC_ZSTD, s->level));
        LAPSE_H5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC));
    } else {
        /* No fill write at creation (it would cost a full extra pass over the output): space
         * allocated but never written reads back as zeros on the file systems we know (holes),
         * and /lapse/tasks says which timepoints hold results. */
        LAPSE_H5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
    }
    LAPSE_H5ID(lcpl, H5Pcreate(H5P_LINK_CREATE));
    LAPSE_H5(H5Pset_create_intermediate_group(lcpl, 1));
    LAPSE_H5ID(
        *out, H5Dcreate2(f, s->path, lapse_h5_file_type(s->dtype), space, lcpl, dcpl, H5P_DEFAULT));
    if (s->comp == LAPSE_COMP_NONE) /* a new file, early allocation: io/layout.h */
        LAPSE_TRY(put_str_attr(*out, LAPSE_ATTR_CHUNK_ORDER, "C"));
cleanup:
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* Create result dataset s as a virtual dataset over the parts of o (io/h5parts.h). */
static lapse_status_t create_vds(lapse_h5out_t *o, const lapse_dset_spec_t *s, hid_t *out)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, lcpl = H5I_INVALID_HID;
    hsize_t dims[4];
    double zero = 0;
    for (int i = 0; i < s->ndims; i++)
        dims[i] = (hsize_t)s->dims[i];
    LAPSE_H5ID(space, H5Screate_simple(s->ndims, dims, NULL));
    LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    LAPSE_H5(H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &zero));
    LAPSE_TRY(lapse_parts_vds_dcpl(dcpl, o->path, s));
    LAPSE_H5ID(lcpl, H5Pcreate(H5P_LINK_CREATE));
    LAPSE_H5(H5Pset_create_intermediate_group(lcpl, 1));
    LAPSE_H5ID(*out, H5Dcreate2(o->file, s->path, lapse_h5_file_type(s->dtype), space, lcpl, dcpl,
                                H5P_DEFAULT));
cleanup:
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* Create /lapse/tasks (1-D, unlimited, chunked) with o->row_type. */
static lapse_status_t create_tasks(lapse_h5out_t *o)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, lcpl = H5I_INVALID_HID;
    hsize_t dim = 0, maxdim = H5S_UNLIMITED, chunk = TASKS_CHUNK;

    LAPSE_H5ID(space, H5Screate_simple(1, &dim, &maxdim));
    LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    LAPSE_H5(H5Pset_chunk(dcpl, 1, &chunk));
    LAPSE_H5(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    LAPSE_H5ID(lcpl, H5Pcreate(H5P_LINK_CREATE));
    LAPSE_H5(H5Pset_create_intermediate_group(lcpl, 1));
    LAPSE_H5ID(o->tasks,
               H5Dcreate2(o->file, TASKS_PATH, o->row_type, space, lcpl, dcpl, H5P_DEFAULT));
cleanup:
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* Rank 0, before an existing output is opened for update: make its end of allocation (EOA)
 * cover every byte the file holds. A run killed while its ranks were writing a compressed
 * round's metadata can leave chunk-index entries of that round in the file while the superblock
 * still records the previous round's EOA. HDF5 would allocate from that EOA again: its next
 * metadata or chunks land on chunks the index locates, and a chunk rewritten with its old size
 * stays where it is, beyond the EOA, so the file is cut there when closed ("inflate() failed"
 * on reading; tests/py/stale_eoa.py makes such a file). HDF5 writes a round's chunks before the
 * index takes them, so after a killed process they lie below the file's end: the EOA becomes
 * max(EOA, EOF). (After a crash of the node the index may have reached the disk without them;
 * finding those would take a lookup per chunk, each O(chunks) in HDF5 1.10: not done, see
 * docs/reliability.md.) H5Fincrement_filesize needs a SWMR-capable driver, hence a serial open
 * here, before the collective one; nothing is written when the EOA is already the file's end. */
static lapse_status_t claim_file_end(const char *file)
{
    lapse_status_t st = LAPSE_OK;
    hid_t f = H5I_INVALID_HID;
    haddr_t eoa = HADDR_UNDEF;
    herr_t closed;
    struct stat sb;

    LAPSE_H5ID(f, H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT));
    LAPSE_H5(H5Fget_eoa(f, &eoa));
    closed = H5Fclose(f);
    f = H5I_INVALID_HID; /* closed or not, never again */
    LAPSE_H5(closed);
    if (stat(file, &sb) != 0)
        LAPSE_FAIL(LAPSE_EIO, "stat(%s) failed: %s", file, strerror(errno));
    if ((haddr_t)sb.st_size <= eoa)
        goto cleanup;
    LAPSE_H5ID(f, H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT));
    LAPSE_H5(H5Fincrement_filesize(f, 0)); /* EOA := max(EOA, file size) */
    closed = H5Fclose(f);
    f = H5I_INVALID_HID;
    LAPSE_H5(closed);
    printf("lapse: %s: the file goes on %llu bytes after the end of allocation its superblock "
           "records (a run ended during a write); new space starts after them\n",
           file, (unsigned long long)((haddr_t)sb.st_size - eoa));
    fflush(stdout);
cleanup:
    if (f >= 0)
        H5Fclose(f);
    return st;
}

/* Open (update) path with the MPI-IO driver and collective metadata writes, or create
 * (truncating) it with the serial driver (create_alone: rank 0 alone). Metadata reads stay
 * independent (no H5Pset_all_coll_metadata_ops): every rank looks up the chunks of its own tasks
 * (lapse_h5out_raw_segments: H5Dget_chunk_info_by_coord) when it writes one, and HDF5's reference
 * calls an independent metadata read undefined behaviour while collective metadata reads are on. */
static lapse_status_t open_file(lapse_h5out_t *o, const char *file, lapse_mode_t mode)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fapl = H5I_INVALID_HID, fcpl = H5I_INVALID_HID;

    LAPSE_H5ID(fapl, H5Pcreate(H5P_FILE_ACCESS));
    if (mode == LAPSE_MODE_UPDATE) {
        LAPSE_H5(H5Pset_fapl_mpio(fapl, o->comm, MPI_INFO_NULL));
        LAPSE_H5(H5Pset_coll_metadata_write(fapl, 1));
    } /* else rank 0 alone (create_alone): the serial driver, whose metadata cache has no sync
       * points (with MPI-IO, even on one process, each one rewrote the chunk index's large node
       * while the chunks were allocated: 65 s for 65536 chunks) */
    /* 1.8 format or later: dense attribute storage, so a long config text fits. */
    LAPSE_H5(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST));
    /* Benchmark knobs (docs/io.md): LAPSE_H5_ALIGN=BYTES aligns every object of at least
     * BYTES to BYTES (applies to the datasets a run creates); LAPSE_H5_MDC=BYTES sets the
     * metadata cache's initial and maximum size. */
    const char *al = getenv("LAPSE_H5_ALIGN"), *mdc = getenv("LAPSE_H5_MDC");
    if (al && atoll(al) > 0)
        LAPSE_H5(H5Pset_alignment(fapl, (hsize_t)atoll(al), (hsize_t)atoll(al)));
    if (mdc && atoll(mdc) > 0) {
        H5AC_cache_config_t cc;
        cc.version = H5AC__CURR_CACHE_CONFIG_VERSION;
        LAPSE_H5(H5Pget_mdc_config(fapl, &cc));
        cc.set_initial_size = 1;
        cc.initial_size = (size_t)atoll(mdc);
        if (cc.max_size < cc.initial_size)
            cc.max_size = cc.initial_size;
        if (cc.min_size > cc.initial_size)
            cc.min_size = cc.initial_size;
        LAPSE_H5(H5Pset_mdc_config(fapl, &cc));
    }
    if (mode == LAPSE_MODE_UPDATE) {
        LAPSE_H5ID(o->file, H5Fopen(file, H5F_ACC_RDWR, fapl));
    } else {
        /* chunk index nodes that hold every chunk of the largest unfiltered result dataset, so
         * that its chunks lie one after another (io/chunkmap.h: no lookup per task) */
        int64_t most = 0;
        for (int k = 0; k < o->nspecs; k++) {
            const lapse_dset_spec_t *sp = &o->specs[k];
            hsize_t c[4] = {1, 1, 1, 1};
            for (int i = 0; i < sp->ndims && i < 4; i++)
                c[i] = (hsize_t)(sp->chunk[i] < 1 ? 1 : sp->chunk[i]);
            env_chunk(sp, c); /* LAPSE_H5_CHUNK, as create_dset */
            int64_t n = 1;
            for (int i = 0; i < sp->ndims && i < 4; i++)
                n *= (sp->dims[i] + (int64_t)c[i] - 1) / (int64_t)c[i];
            if (sp->comp == LAPSE_COMP_NONE && !in_parts(o, k) && n > most)
                most = n;
        }
        LAPSE_H5ID(fcpl, H5Pcreate(H5P_FILE_CREATE));
        LAPSE_H5(H5Pset_istore_k(fcpl, lapse_chunkmap_istore_k(most)));
        LAPSE_H5ID(o->file, H5Fcreate(file, H5F_ACC_TRUNC, fcpl, fapl));
    }
cleanup:
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    return st;
}

/* Create or (update mode) open and match every dataset of o->specs, then /lapse/tasks. */
static lapse_status_t open_datasets(lapse_h5out_t *o, const char *file, lapse_mode_t mode)
{
    lapse_status_t st = LAPSE_OK;

    const size_t ns = strlen(LAPSE_LAYOUT_SCRATCH);
    /* A new file: the result datasets first, then the scratch ones, so that the result chunks
     * (allocated early) all lie below the file's end between the two passes (reserve_space
     * reserves up to there: one range instead of a lookup per chunk, each O(chunks)). */
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < o->nspecs; k++) {
            const int scratch = strncmp(o->specs[k].path, LAPSE_LAYOUT_SCRATCH, ns) == 0;
            if (scratch != pass)
                continue;
            if (mode == LAPSE_MODE_UPDATE) {
                LAPSE_TRY(match_spec(o->file, file, &o->specs[k]));
                LAPSE_H5ID(o->dsets[k], H5Dopen2(o->file, o->specs[k].path, H5P_DEFAULT));
            } else if (in_parts(o, k)) {
                LAPSE_TRY(create_vds(o, &o->specs[k], &o->dsets[k]));
            } else {
                LAPSE_TRY(create_dset(o->file, &o->specs[k], &o->dsets[k]));
            }
        }
        if (pass == 0 && mode != LAPSE_MODE_UPDATE) {
            /* A flush makes the file as long as its end of allocation (the MPI-IO driver
             * extends it; H5Fget_filesize and H5Fget_eoa fail with that driver). */
            struct stat sb;
            LAPSE_H5(H5Fflush(o->file, H5F_SCOPE_LOCAL));
            o->result_end = stat(file, &sb) == 0 ? sb.st_size : 0;
        }
    }
    htri_t e = H5Lexists(o->file, LAPSE_LAYOUT_GROUP, H5P_DEFAULT);
    LAPSE_H5(e);
    if (e > 0) {
        e = H5Lexists(o->file, TASKS_PATH, H5P_DEFAULT);
        LAPSE_H5(e);
    }
    if (e > 0)
        LAPSE_H5ID(o->tasks, H5Dopen2(o->file, TASKS_PATH, H5P_DEFAULT));
    else
        LAPSE_TRY(create_tasks(o));
    if (mode == LAPSE_MODE_UPDATE) {
        e = H5Lexists(o->file, DONE_PATH, H5P_DEFAULT);
        LAPSE_H5(e);
        if (e <= 0)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s has no task state (" DONE_PATH "): not a complete lapse "
                       "output; use output.mode: overwrite",
                       file);
        LAPSE_H5ID(o->done, H5Dopen2(o->file, DONE_PATH, H5P_DEFAULT));
        e = H5Lexists(o->file, SUMS_PATH, H5P_DEFAULT);
        LAPSE_H5(e);
        if (e > 0)
            LAPSE_H5ID(o->sums, H5Dopen2(o->file, SUMS_PATH, H5P_DEFAULT));
    }
cleanup:
    return st;
}

/* Create /lapse/done [ntp, ntiles] uint8, contiguous and allocated early (marks are raw-data
 * writes: no metadata changes during a run), all zero (written by rank 0), with its tile
 * attribute. Rank 0 (create_alone). */
static lapse_status_t create_done(lapse_h5out_t *o, int64_t ntp, const lapse_state_spec_t *state)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, aspace = H5I_INVALID_HID,
          attr = H5I_INVALID_HID;
    hsize_t dims[2] = {(hsize_t)ntp, (hsize_t)state->ntiles}, three = 3;
    unsigned char *zeros = NULL;

    LAPSE_H5ID(space, H5Screate_simple(2, dims, NULL));
    LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    LAPSE_H5(H5Pset_layout(dcpl, H5D_CONTIGUOUS));
    LAPSE_H5(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    LAPSE_H5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
    LAPSE_H5ID(o->done,
               H5Dcreate2(o->file, DONE_PATH, H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    LAPSE_H5ID(aspace, H5Screate_simple(1, &three, NULL));
    LAPSE_H5ID(attr, H5Acreate2(o->done, LAPSE_LAYOUT_DONE_TILE, H5T_STD_I64LE, aspace, H5P_DEFAULT,
                                H5P_DEFAULT));
    LAPSE_H5(H5Awrite(attr, H5T_NATIVE_INT64, state->tile));
    if (o->rank == 0) {
        zeros = calloc((size_t)(ntp * state->ntiles), 1); /* LAPSE_MARK_PENDING */
        LAPSE_ALLOC(zeros);
        LAPSE_H5(H5Dwrite(o->done, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, o->dxpl_ind, zeros));
    }
cleanup:
    free(zeros);
    if (attr >= 0)
        H5Aclose(attr);
    if (aspace >= 0)
        H5Sclose(aspace);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* Create /lapse/input_sums [ntp] uint64 (LAPSE_LAYOUT_INPUT_SUMS), contiguous and allocated
 * early like the marks (its writes are raw-data writes), all 0 ("not recorded") but the first
 * nkeep, which are keep[0..nkeep) (a grown output's old ones). Rank 0 alone (create_alone,
 * grow_alone). */
static lapse_status_t create_sums(lapse_h5out_t *o, int64_t ntp, const uint64_t *keep,
                                  int64_t nkeep)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hsize_t dims[1] = {(hsize_t)ntp};
    uint64_t *sums = NULL;

    LAPSE_H5ID(space, H5Screate_simple(1, dims, NULL));
    LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    LAPSE_H5(H5Pset_layout(dcpl, H5D_CONTIGUOUS));
    LAPSE_H5(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    LAPSE_H5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
    LAPSE_H5ID(o->sums, H5Dcreate2(o->file, SUMS_PATH, H5T_STD_U64LE, space, H5P_DEFAULT, dcpl,
                                   H5P_DEFAULT));
    if (ntp > 0) {
        sums = calloc((size_t)ntp, sizeof *sums);
        LAPSE_ALLOC(sums);
        if (keep != NULL && nkeep > 0)
            memcpy(sums, keep, (size_t)(nkeep < ntp ? nkeep : ntp) * sizeof *sums);
        LAPSE_H5(H5Dwrite(o->sums, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, o->dxpl_ind, sums));
    }
cleanup:
    free(sums);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

static lapse_status_t put_root_attrs(lapse_h5out_t *o, const lapse_config_t *cfg,
                                     const lapse_state_spec_t *state)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_TRY(put_str_attr(o->file, LAPSE_ATTR_INPUT_IDENTITY, state->input_identity));
    LAPSE_TRY(put_str_attr(o->file, LAPSE_ATTR_VERSION, LAPSE_VERSION));
    LAPSE_TRY(put_str_attr(o->file, LAPSE_ATTR_CONFIG, cfg ? cfg->text : ""));
    LAPSE_TRY(put_str_attr(o->file, LAPSE_ATTR_INPUT_FILE, cfg ? cfg->input_file : ""));
    LAPSE_TRY(put_str_attr(o->file, LAPSE_ATTR_INPUT_DATASET, cfg ? cfg->input_dataset : ""));
cleanup:
    return st;
}

/* Collective. The voxel size of each result dataset outside /lapse as its float32 attribute
 * element_size_um: [z, y, x], also on a [t, y, x] dataset (z there: the z voxel size the
 * dataset's planes come from, 1 where none is known), since Fiji's HDF5 plugin reads three
 * values whatever the dataset's rank; from the spec's vox (its geometry, job.c), or
 * state->element_size_um where the spec has none; no attribute (an old one removed) where an
 * axis of it is not spatial (vox 0) or nothing is known. And the string attribute axes, "tzyx"
 * or "tyx", which tells lapse's reader (io/reader_h5.c) that a 3-D dataset with three values is
 * [t, y, x] indeed. */
static lapse_status_t put_element_size(lapse_h5out_t *o, const lapse_state_spec_t *state,
                                       const lapse_config_t *cfg)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    for (int k = 0; k < o->nspecs; k++) {
        const lapse_dset_spec_t *sp = &o->specs[k];
        if (strncmp(sp->path, LAPSE_LAYOUT_GROUP "/", strlen(LAPSE_LAYOUT_GROUP) + 1) == 0)
            continue;
        const double *vox = sp->vox[0] != 0 || sp->vox[1] != 0 || sp->vox[2] != 0
                                ? sp->vox
                                : state->element_size_um;
        const int flat = sp->ndims == 3;
        const float v[3] = {flat && vox[0] == 0 ? 1.0f : (float)fabs(vox[0]), (float)fabs(vox[1]),
                            (float)fabs(vox[2])}; /* < 0: not known */
        const hsize_t n = 3;
        const int ok = v[0] > 0 && v[1] > 0 && v[2] > 0;
        LAPSE_TRY(put_str_attr(o->dsets[k], "axes", flat ? "tyx" : "tzyx"));
        char zgroup[4300];
        if (cfg != NULL && cfg->output_format == LAPSE_FMT_ZARR &&
            lapse_zarr_root(cfg->output_file, zgroup, sizeof zgroup - strlen(sp->path) - 2) == 0) {
            /* a placeholder: lapse's reader refuses it, naming the array (io/reader_h5.c) */
            strcat(zgroup, sp->path[0] == '/' ? "" : "/");
            strcat(zgroup, sp->path);
            LAPSE_TRY(put_str_attr(o->dsets[k], LAPSE_ATTR_ZARR_ARRAY, zgroup));
        }
        htri_t e = H5Aexists(o->dsets[k], "element_size_um");
        LAPSE_H5(e);
        if (e > 0)
            LAPSE_H5(H5Adelete(o->dsets[k], "element_size_um"));
        if (!ok)
            continue;
        LAPSE_H5ID(space, H5Screate_simple(1, &n, NULL));
        LAPSE_H5ID(attr, H5Acreate2(o->dsets[k], "element_size_um", H5T_IEEE_F32LE, space,
                                    H5P_DEFAULT, H5P_DEFAULT));
        LAPSE_H5(H5Awrite(attr, H5T_NATIVE_FLOAT, v));
        H5Aclose(attr);
        attr = H5I_INVALID_HID;
        H5Sclose(space);
        space = H5I_INVALID_HID;
    }
cleanup:
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* Collective, at the end of lapse_h5out_open: all ranks agree on a status: the worst (largest)
 * one wins; a rank that did not fail itself records a message naming the failure elsewhere.
 * (Not run.c's agree, which ranks statuses by severity.) */
static lapse_status_t open_agree(MPI_Comm comm, lapse_status_t mine)
{
    int in = (int)mine, out = 0;
    if (MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
        return lapse_fail(LAPSE_EMPI, "MPI_Allreduce of the output status failed");
    if (out != LAPSE_OK && mine == LAPSE_OK)
        return lapse_fail((lapse_status_t)out, "opening the output failed on another rank");
    return mine != LAPSE_OK ? mine : (lapse_status_t)out;
}

/* fallocate(FALLOC_FL_KEEP_SIZE) of [at, at + len) of fd, retrying EINTR: 0 or the errno. */
static int reserve_range(int fd, off_t at, off_t len)
{
#ifdef FALLOC_FL_KEEP_SIZE
    while (fallocate(fd, FALLOC_FL_KEEP_SIZE, at, len) != 0)
        if (errno != EINTR)
            return errno;
    return 0;
#else
    (void)fd, (void)at, (void)len;
    return EOPNOTSUPP;
#endif
}

/* Rank 0 (the others return LAPSE_OK): keep the file's blocks reserved (fallocate with
 * FALLOC_FL_KEEP_SIZE) up to o->ahead bytes past the file's end or its end of allocation when
 * opened (o->eoa0), whichever is larger. (HDF5's present end of allocation is not to be had
 * with the MPI-IO driver; it exceeds that bound only by the metadata and chunks allocated since
 * the last flush, which the margin covers.) HDF5 gives new
 * metadata addresses past the file's end and writes them only when it flushes, after it has
 * rewritten older metadata in place to point at them: on a full disk the flush then failed half
 * way, and the file was left with links to object headers that were never written ("bad object
 * header version number": a rerun on a full disk made the output unreadable). With the blocks
 * reserved beforehand, a flush writes only into blocks the file system has given, and a full
 * disk fails here, before anything is written, leaving the file as of its last flush. A file
 * system without fallocate keeps the old behaviour. */
static lapse_status_t reserve_ahead(lapse_h5out_t *o)
{
    struct stat sb;
    if (o->rank != 0 || o->resv_fd < 0)
        return LAPSE_OK;
    if (fstat(o->resv_fd, &sb) != 0)
        return lapse_fail(LAPSE_EIO, "fstat of the output %s failed: %s", o->path, strerror(errno));
    const off_t want = (sb.st_size > o->eoa0 ? sb.st_size : o->eoa0) + o->ahead;
    if (want <= o->reserved)
        return LAPSE_OK;
    struct statvfs vfs;
    long long before = -1;
    if (fstatvfs(o->resv_fd, &vfs) == 0)
        before = (long long)(vfs.f_bavail * vfs.f_frsize);
    const int err = reserve_range(o->resv_fd, o->reserved, want - o->reserved);
    if (err == EOPNOTSUPP || err == ENOSYS || err == EINVAL) {
        close(o->resv_fd); /* the file system cannot reserve */
        o->resv_fd = -1;
        return LAPSE_OK;
    }
    if (err != 0)
        return lapse_fail(LAPSE_EIO,
                          "fallocate of the next %lld bytes of the output %s failed: %s (%lld "
                          "bytes were free); nothing more was written to it",
                          (long long)(want - o->reserved), o->path, strerror(err), before);
    o->reserved = want;
    return LAPSE_OK;
}

/* Collective: reserve_ahead with extra bytes more than its margin, agreed; before a collective
 * call that allocates and fills that much after the file's end (H5Dset_extent of a table with
 * early allocation: its fill writes are parallel, and a full disk failed them on one rank while
 * the others waited in the call for ever). */
static lapse_status_t step_agree(lapse_h5out_t *o, lapse_status_t st);

static lapse_status_t reserve_more(lapse_h5out_t *o, int64_t extra)
{
    const off_t ahead = o->ahead;
    o->ahead += extra > 0 ? (off_t)extra : 0;
    lapse_status_t st = reserve_ahead(o);
    o->ahead = ahead;
    return step_agree(o, st);
}

lapse_status_t lapse_h5out_reserve(lapse_h5out_t *o, int64_t extra)
{
    return reserve_more(o, extra);
}

/* Rank 0, after the file is closed (every rank's writes are over: lapse_h5out_close agrees
 * first): give back the blocks reserve_ahead reserved after the file's end (HDF5's MPI-IO
 * driver never shrinks a file, so they would stay allocated, unseen by ls). A hole punched at
 * or after the end of the file frees nothing on ext4 (ext4_punch_hole stops at i_size and
 * returns 0), so the blocks are given back by an ftruncate to the file's own size, which frees
 * every block after the end on ext4, XFS and tmpfs alike; this also drops what an earlier,
 * failed run reserved further out. After a failure they stay until a later run on the file
 * closes it. */
static void release_reserve(lapse_h5out_t *o)
{
    struct stat sb;
    if (o->broken || fstat(o->resv_fd, &sb) != 0 || o->reserved <= sb.st_size)
        return;
    int rc;
    while ((rc = ftruncate(o->resv_fd, sb.st_size)) != 0 && errno == EINTR)
        ;
    if (rc != 0)
        fprintf(stderr,
                "lapse: warning: %s: the %lld bytes reserved after its end were not given "
                "back: %s\n",
                o->path, (long long)(o->reserved - sb.st_size), strerror(errno));
}

/* Collective, before the collective open of file: reserve_ahead's margin (o->filtered not yet
 * known: set_margin completes it), and on rank 0 its descriptor, the reserved end (the file's
 * size) and the end of allocation that the file records (a serial open, as in claim_file_end:
 * H5Fget_eoa needs a SWMR-capable driver). */
static lapse_status_t reserve_start(lapse_h5out_t *o, const char *file)
{
    lapse_status_t st = LAPSE_OK;
    hid_t f = H5I_INVALID_HID;
    haddr_t eoa = HADDR_UNDEF;
    struct stat sb;
    o->ahead = 1 << 20; /* metadata */
    if (o->rank != 0)
        return LAPSE_OK;
    o->resv_fd = open(file, O_WRONLY | O_CLOEXEC);
    if (o->resv_fd < 0 || fstat(o->resv_fd, &sb) != 0)
        LAPSE_FAIL(LAPSE_EIO, "open(%s) for the reservation of its blocks failed: %s", file,
                   strerror(errno));
    o->reserved = sb.st_size;
    LAPSE_H5ID(f, H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT));
    LAPSE_H5(H5Fget_eoa(f, &eoa));
    o->eoa0 = (off_t)eoa;
cleanup:
    if (f >= 0 && H5Fclose(f) < 0 && st == LAPSE_OK)
        st = lapse_h5_fail("H5Fclose(output, serial)", __FILE__, __LINE__);
    return st;
}

/* reserve_ahead's margin of a filtered output grows by one round's uncompressed chunks, per rank
 * and result dataset: the next round writes them after the end of allocation. A task writes its
 * tile (the spec's chunk) or, where the dataset's chunks are larger (LAPSE_H5_CHUNK), the whole
 * chunks it touches: the larger of the two is counted. */
static void set_margin(lapse_h5out_t *o)
{
    for (int k = 0; o->filtered && k < o->nspecs; k++) {
        if (!o->is_result[k] || in_parts(o, k))
            continue;
        hsize_t chunk[4] = {1, 1, 1, 1};
        hid_t dcpl = H5Dget_create_plist(o->dsets[k]);
        if (dcpl >= 0) {
            if (H5Pget_layout(dcpl) != H5D_CHUNKED || H5Pget_chunk(dcpl, 4, chunk) < 0)
                chunk[0] = chunk[1] = chunk[2] = chunk[3] = 1;
            H5Pclose(dcpl);
        }
        off_t tile = (off_t)lapse_dtype_size(o->specs[k].dtype), whole = tile;
        for (int i = 1; i < o->specs[k].ndims && i < 4; i++) {
            tile *= o->specs[k].chunk[i] < 1 ? 1 : o->specs[k].chunk[i];
            whole *= (off_t)chunk[i];
        }
        o->ahead += (tile > whole ? tile : whole) * o->size;
    }
}

static lapse_status_t close_handles(lapse_h5out_t *o);

/* Collective: agree on a step's status. When any rank failed, the file is marked broken (its
 * HDF5 handles are abandoned, not closed: a collective close after a failure on some ranks can
 * hang; the caller ends the job) and every rank returns a failure. */
static lapse_status_t step_agree(lapse_h5out_t *o, lapse_status_t st)
{
    int ok = st == LAPSE_OK, all = 0;
    if (MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, o->comm) != MPI_SUCCESS) {
        o->broken = 1;
        return lapse_fail(LAPSE_EMPI, "MPI_Allreduce of the output status failed");
    }
    if (all)
        return LAPSE_OK;
    o->broken = 1;
    return st != LAPSE_OK ? st : lapse_fail(LAPSE_EH5, "writing the output failed on another rank");
}

/* Is what is at staging path tmp, if anything, a regular file of ours with one link? */
static lapse_status_t check_staging(const char *tmp)
{
    struct stat sb;
    if (lstat(tmp, &sb) != 0)
        return LAPSE_OK;
    if (S_ISLNK(sb.st_mode))
        return lapse_fail(LAPSE_ECONFIG,
                          "the staging file %s is a symbolic link; refusing to follow it (remove "
                          "it if it is not yours)",
                          tmp);
    if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || sb.st_nlink != 1)
        return lapse_fail(LAPSE_ECONFIG,
                          "the staging file %s exists and is not a regular file of this user "
                          "with one link; refusing to use it (remove it if it is not another "
                          "user's)",
                          tmp);
    return LAPSE_OK;
}

lapse_status_t lapse_h5out_check_staging(const char *file)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.creating", file);
    return check_staging(tmp);
}

/* Rank 0, before the collective create: remove a stale staging file left by a killed run (a
 * regular file of ours, see lapse_h5out_check_staging), make a new empty one that no link can
 * redirect (O_CREAT | O_EXCL | O_NOFOLLOW) and take its identity lock (lock.h) before anything is
 * written to it: *fd (the locked descriptor) is set only on success. H5Fcreate then truncates
 * that file; the lock follows it through the rename into place. */
static lapse_status_t make_staging(const char *tmp, int *fd)
{
    lapse_status_t st = check_staging(tmp);
    if (st != LAPSE_OK)
        return st;
    if (unlink(tmp) != 0 && errno != ENOENT)
        return lapse_fail(LAPSE_EIO, "cannot remove the stale staging file %s: %s", tmp,
                          strerror(errno));
    int nfd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (nfd < 0)
        return lapse_fail(errno == EEXIST || errno == ELOOP ? LAPSE_ECONFIG : LAPSE_EIO,
                          "cannot create the staging file %s: %s", tmp, strerror(errno));
    if ((st = lapse_lock_identity_fd(nfd, tmp)) != LAPSE_OK) {
        close(nfd); /* someone linked the new file already and holds its lock: leave it */
        return st;
    }
    *fd = nfd;
    return LAPSE_OK;
}

/* Rank 0 (create_alone), a new
 * unfiltered HDF5 output whose chunks are all allocated: reserve the blocks of the result
 * datasets' chunks with fallocate(FALLOC_FL_KEEP_SIZE) on fd (rank 0's staging file). Two
 * reasons (docs/io.md): an output the file system cannot hold fails here, before any task runs,
 * with ENOSPC, instead of hours later; and writes into reserved blocks are faster than into a
 * sparse file (bench/write_modes.c: 3.8 against 3.0-3.4 GB/s for 4 writers into one file on the
 * lent H200 machine's ext4). Not reserved: the scratch datasets of global steps (written only
 * when tiles do not fit in host memory), a Zarr output's HDF5 datasets (never written) and
 * compressed outputs (their chunks are smaller than allocated). A file system without fallocate
 * (EOPNOTSUPP; NFS before 4.2, some parallel file systems) keeps the sparse file.
 * LAPSE_FALLOCATE=0 skips it. */
static lapse_status_t reserve_space(lapse_h5out_t *o, int fd, const lapse_config_t *cfg)
{
    lapse_status_t st = LAPSE_OK;
    const char *env = getenv("LAPSE_FALLOCATE");
    const size_t ns = strlen(LAPSE_LAYOUT_SCRATCH);
    hid_t space = H5I_INVALID_HID;
    off_t(*rg)[2] = NULL; /* merged [start, end) byte ranges of the chunks */
    size_t nr = 0, cap = 0;
    if (cfg->compression != LAPSE_COMP_NONE || cfg->output_format == LAPSE_FMT_ZARR ||
        (env && strcmp(env, "0") == 0))
        return LAPSE_OK;
    int any = 0, whole = 0;
    for (int k = 0; k < o->nspecs; k++)
        any |= strncmp(o->specs[k].path, LAPSE_LAYOUT_SCRATCH, ns) != 0 && !in_parts(o, k);
    if (any && o->result_end > 0) {
        /* The whole file below result_end: every result chunk, and metadata that is written
         * anyway (open_datasets). A lookup per chunk (H5Dget_chunk_info, which walks the chunk
         * index from its start in HDF5 1.10) made this O(chunks^2): 50 s for 65536 chunks. */
        rg = malloc(sizeof *rg);
        LAPSE_ALLOC(rg);
        rg[0][0] = 0;
        rg[0][1] = o->result_end;
        nr = 1;
        whole = 1;
    }
    for (int k = 0; !whole && k < o->nspecs; k++) {
        if (strncmp(o->specs[k].path, LAPSE_LAYOUT_SCRATCH, ns) == 0 || in_parts(o, k))
            continue; /* parts reserve their own blocks (lapse_parts_create) */
        hsize_t n = 0;
        if (space >= 0)
            H5Sclose(space);
        LAPSE_H5ID(space, H5Dget_space(o->dsets[k]));
        LAPSE_H5(H5Dget_num_chunks(o->dsets[k], space, &n));
        for (hsize_t i = 0; i < n; i++) {
            haddr_t addr = HADDR_UNDEF;
            hsize_t size = 0;
            unsigned fmask = 0;
            LAPSE_H5(H5Dget_chunk_info(o->dsets[k], space, i, NULL, &fmask, &addr, &size));
            if (addr == HADDR_UNDEF || size == 0)
                continue;
            if (nr > 0 && rg[nr - 1][1] == (off_t)addr) { /* contiguous: one range */
                rg[nr - 1][1] += (off_t)size;
                continue;
            }
            if (nr == cap) {
                size_t c2 = cap ? 2 * cap : 64;
                off_t(*r2)[2] = realloc(rg, c2 * sizeof *rg);
                LAPSE_ALLOC(r2);
                rg = r2;
                cap = c2;
            }
            rg[nr][0] = (off_t)addr;
            rg[nr][1] = (off_t)(addr + size);
            nr++;
        }
    }
    if (o->rank != 0 || fd < 0)
        goto cleanup;
    off_t total = 0;
    for (size_t i = 0; i < nr; i++)
        total += rg[i][1] - rg[i][0];
    /* the free space before the attempt: a failed fallocate may have taken all of it */
    struct statvfs vfs;
    long long before = -1;
    if (fstatvfs(fd, &vfs) == 0)
        before = (long long)(vfs.f_bavail * vfs.f_frsize);
    for (size_t i = 0; i < nr; i++) {
        int err = reserve_range(fd, rg[i][0], rg[i][1] - rg[i][0]);
        if (err == EOPNOTSUPP || err == ENOSYS || err == EINVAL)
            break; /* the file system cannot reserve: the file stays sparse */
        if (err != 0) {
            char free_msg[96] = "";
#ifdef FALLOC_FL_PUNCH_HOLE
            /* give back what was reserved at once (the file is removed later): other writers
             * of the file system must not meet a full disk meanwhile */
            for (size_t j = 0; j <= i; j++)
                (void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, rg[j][0],
                                rg[j][1] - rg[j][0]);
#endif
            if (before >= 0)
                snprintf(free_msg, sizeof free_msg, "; %lld bytes were free before the attempt",
                         before);
            LAPSE_FAIL(LAPSE_EIO, "fallocate of %lld bytes for the output %s failed: %s%s%s",
                       (long long)total, o->path, strerror(err),
                       err == ENOSPC || err == EDQUOT ? " (the file system cannot hold the output)"
                                                      : "",
                       free_msg);
        }
    }
cleanup:
    if (space >= 0)
        H5Sclose(space);
    free(rg);
    return st;
}

/* Collective: the parts of a new output (io/h5parts.h) in OUT.parts.creating: rank 0 makes the
 * directory and the token, every rank makes the parts of the timepoints t = rank (mod size). */
static lapse_status_t make_parts(lapse_h5out_t *o, const char *file)
{
    lapse_status_t st = LAPSE_OK;
    char dir[4200];
    if (o->rank == 0) {
        st = lapse_parts_stage(file);
        if (st == LAPSE_OK)
            st = lapse_parts_new_token(o->token);
    }
    if ((st = step_agree(o, st)) != LAPSE_OK)
        return st;
    if (MPI_Bcast(o->token, LAPSE_PARTS_TOKEN_LEN, MPI_CHAR, 0, o->comm) != MPI_SUCCESS) {
        o->broken = 1;
        return lapse_fail(LAPSE_EMPI, "MPI_Bcast of the parts token failed");
    }
    lapse_parts_dir(file, 0, dir, sizeof dir);
    const int64_t ntp = o->nspecs > 0 ? o->specs[0].dims[0] : 0;
    for (int64_t t = o->rank; t < ntp && st == LAPSE_OK; t += o->size)
        st = lapse_parts_create(dir, t, o->specs, o->is_result, o->nspecs, o->token);
    return step_agree(o, st);
}

/* Rank 0 alone, with HDF5's serial driver (open_file): the complete new file under tmp (datasets,
 * task state, attributes, the reservation of reserve_space), flushed and closed; on failure its
 * handles are left open (o->broken: the job ends). Made by one process so that a failure (a full
 * disk, an injected fault) is that process's alone: in a collective creation, a rank whose fill
 * write of a compressed dataset failed left H5Dcreate2 while the others waited in its barrier
 * forever. */
static lapse_status_t create_alone(lapse_h5out_t *o, const char *tmp, int fd,
                                   const lapse_config_t *cfg, const lapse_state_spec_t *state)
{
    MPI_Comm comm = o->comm;
    o->comm = MPI_COMM_SELF; /* no other rank takes part in anything below */
    lapse_status_t st = open_file(o, tmp, LAPSE_MODE_OVERWRITE);
    if (st == LAPSE_OK)
        st = open_datasets(o, tmp, LAPSE_MODE_OVERWRITE);
    if (st == LAPSE_OK)
        st = create_done(o, o->nspecs > 0 ? o->specs[0].dims[0] : 0, state);
    if (st == LAPSE_OK)
        st = create_sums(o, o->nspecs > 0 ? o->specs[0].dims[0] : 0, NULL, 0);
    lapse_fault_point("create");
    if (st == LAPSE_OK)
        st = lapse_fault_fail("create-attrs");
    if (st == LAPSE_OK)
        st = put_str_attr(o->file, LAPSE_ATTR_FINGERPRINT, state->fingerprint);
    if (st == LAPSE_OK && o->parts)
        st = put_str_attr(o->file, LAPSE_PARTS_TOKEN_ATTR, o->token);
    if (st == LAPSE_OK)
        st = put_root_attrs(o, cfg, state);
    if (st == LAPSE_OK && H5Fflush(o->file, H5F_SCOPE_GLOBAL) < 0)
        st = lapse_h5_fail("H5Fflush(new output)", __FILE__, __LINE__);
    if (st == LAPSE_OK)
        st = reserve_space(o, fd, cfg);
    if (st == LAPSE_OK)
        st = close_handles(o);
    else
        o->broken = 1;
    o->comm = comm;
    return st;
}

/* Collective. Create the complete file under tmp (create_alone on rank 0, the parts on every
 * rank), then rank 0 renames it to file. The other ranks wait for rank 0 in lapse's own
 * agreement, never inside an HDF5 call. */
static lapse_status_t create_complete(lapse_h5out_t *o, const char *tmp, const char *file,
                                      const lapse_config_t *cfg, const lapse_state_spec_t *state)
{
    lapse_status_t st = LAPSE_OK;
    int fd = -1; /* rank 0: the staging file, identity-locked */
    st = step_agree(o, o->rank == 0 ? make_staging(tmp, &fd) : LAPSE_OK);
    if (st != LAPSE_OK)
        return st; /* nothing was made, and what is at tmp is not ours to remove */
    if (o->parts)
        st = make_parts(o, file);
    if (st == LAPSE_OK)
        st = step_agree(o, o->rank == 0 ? create_alone(o, tmp, fd, cfg, state) : LAPSE_OK);
    if (st != LAPSE_OK) {
        if (o->rank == 0) {
            unlink(tmp); /* a half-made file only takes space (it may fill the disk) */
            close(fd);
            if (o->parts)
                lapse_parts_discard(file);
        }
        return st;
    }
    if (o->rank == 0) {
        lapse_fault_point("rename"); /* "rename~S": the hostile tests' window before the rename */
        if (rename(tmp, file) != 0) {
            st = lapse_fail(LAPSE_EIO, "rename(%s, %s) failed: %s", tmp, file, strerror(errno));
            close(fd);
        } else {
            o->id_fd = fd; /* still locked: no instant without the lock on the new file */
            lapse_fault_point("parts-commit"); /* the kill between the two renames */
            if (o->parts) /* the new file maps its parts by their final name: put them there */
                st = lapse_parts_commit(file);
        }
    }
    int code = (int)st;
    if (MPI_Bcast(&code, 1, MPI_INT, 0, o->comm) != MPI_SUCCESS)
        return lapse_fail(LAPSE_EMPI, "MPI_Bcast of the rename status failed");
    return (lapse_status_t)code;
}

/* ------------------------------------------------------------------ growing */

/* Rank 0 alone (grow_alone): copy every attribute of src onto dst, replacing one of the same
 * name (the file types as they are; variable-length values are copied and reclaimed). */
static herr_t copy_attr_cb(hid_t src, const char *name, const H5A_info_t *info, void *data)
{
    hid_t dst = *(hid_t *)data, a = H5I_INVALID_HID, b = H5I_INVALID_HID, type = H5I_INVALID_HID,
          space = H5I_INVALID_HID;
    void *buf = NULL;
    herr_t ret = -1;
    (void)info;
    if ((a = H5Aopen(src, name, H5P_DEFAULT)) < 0 || (type = H5Aget_type(a)) < 0 ||
        (space = H5Aget_space(a)) < 0)
        goto cleanup;
    hssize_t n = H5Sget_simple_extent_npoints(space);
    size_t size = H5Tget_size(type);
    if (n < 0 || size == 0 || (buf = calloc((size_t)(n > 0 ? n : 1), size)) == NULL)
        goto cleanup;
    const int vlen = H5Tdetect_class(type, H5T_VLEN) > 0 || H5Tis_variable_str(type) > 0;
    if (H5Aread(a, type, buf) < 0)
        goto cleanup;
    htri_t e = H5Aexists(dst, name);
    if (e < 0 || (e > 0 && H5Adelete(dst, name) < 0) ||
        (b = H5Acreate2(dst, name, type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(b, type, buf) < 0)
        ret = -1;
    else
        ret = 0;
    if (vlen && H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf) < 0)
        ret = -1;
cleanup:
    free(buf);
    if (b >= 0)
        H5Aclose(b);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (a >= 0)
        H5Aclose(a);
    return ret;
}

static lapse_status_t copy_attrs(hid_t src, hid_t dst)
{
    lapse_status_t st = LAPSE_OK;
    hsize_t idx = 0;
    LAPSE_H5(H5Aiterate2(src, H5_INDEX_NAME, H5_ITER_INC, &idx, copy_attr_cb, &dst));
cleanup:
    return st;
}

/* The walk of grow_alone's copy: the objects of the old file (src) into the new one (dst), all
 * but those the growth makes anew (rebuilt: the output's datasets and /lapse/done). */
typedef struct {
    hid_t src, dst;
    const lapse_h5out_t *o;
} grow_copy_t;

/* Is path one the growth makes anew (1), a group above one (2), or neither (0)? */
static int grow_rebuilt(const lapse_h5out_t *o, const char *path)
{
    const size_t n = strlen(path);
    int above = strncmp(DONE_PATH, path, n) == 0 && DONE_PATH[n] == '/';
    if (strcmp(path, DONE_PATH) == 0 || strcmp(path, SUMS_PATH) == 0)
        return 1;
    for (int k = 0; k < o->nspecs; k++) {
        const char *p = o->specs[k].path;
        if (strcmp(p, path) == 0)
            return 1;
        above |= strncmp(p, path, n) == 0 && p[n] == '/';
    }
    return above ? 2 : 0;
}

static lapse_status_t grow_copy_group(grow_copy_t *c, const char *group);

/* The link at absolute path of the old file (info: its kind) into the new one: skipped when the
 * growth makes it anew, a group above such one walked (grow_copy_group), an object copied
 * (H5Ocopy, with what it holds), a soft or external link made again with its value. */
static lapse_status_t grow_copy_link(grow_copy_t *c, const char *path, const H5L_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    char *val = NULL;
    const int what = grow_rebuilt(c->o, path);
    if (what == 1)
        return LAPSE_OK;
    if (what == 2) /* a group above what is made anew: the group, its attributes, then inside */
        return grow_copy_group(c, path);
    if (info->type == H5L_TYPE_HARD) {
        LAPSE_H5(H5Ocopy(c->src, path, c->dst, path, H5P_DEFAULT, H5P_DEFAULT));
    } else if (info->type == H5L_TYPE_SOFT || info->type == H5L_TYPE_EXTERNAL) {
        val = malloc(info->u.val_size + 1);
        LAPSE_ALLOC(val);
        LAPSE_H5(H5Lget_val(c->src, path, val, info->u.val_size, H5P_DEFAULT));
        if (info->type == H5L_TYPE_SOFT) {
            val[info->u.val_size] = '\0';
            LAPSE_H5(H5Lcreate_soft(val, c->dst, path, H5P_DEFAULT, H5P_DEFAULT));
        } else {
            const char *file = NULL, *obj = NULL;
            unsigned flags = 0;
            LAPSE_H5(H5Lunpack_elink_val(val, info->u.val_size, &flags, &file, &obj));
            LAPSE_H5(H5Lcreate_external(file, obj, c->dst, path, H5P_DEFAULT, H5P_DEFAULT));
        }
    } else {
        LAPSE_FAIL(LAPSE_EINPUT, "the output holds a link of a kind lapse does not copy: %s", path);
    }
cleanup:
    free(val);
    return st;
}

/* Group path ("" the root) of the old file into the new one: made there (but the root) with its
 * attributes, then each of its links (grow_copy_cb), by absolute path. */
static lapse_status_t grow_copy_group(grow_copy_t *c, const char *group)
{
    lapse_status_t st = LAPSE_OK;
    hid_t s = H5I_INVALID_HID, d = H5I_INVALID_HID;
    char *path = NULL;
    const char *at = group[0] ? group : "/";
    LAPSE_H5ID(s, H5Gopen2(c->src, at, H5P_DEFAULT));
    if (group[0])
        LAPSE_H5ID(d, H5Gcreate2(c->dst, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    else
        LAPSE_H5ID(d, H5Gopen2(c->dst, "/", H5P_DEFAULT));
    LAPSE_TRY(copy_attrs(s, d));
    /* the links by absolute path, so that the callback's names are whole paths */
    hsize_t n = 0;
    H5G_info_t gi;
    LAPSE_H5(H5Gget_info(s, &gi));
    n = gi.nlinks;
    for (hsize_t i = 0; i < n; i++) { /* names of any length (a user's own objects) */
        H5L_info_t li;
        ssize_t len =
            H5Lget_name_by_idx(s, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL, 0, H5P_DEFAULT);
        LAPSE_H5(len);
        free(path);
        path = malloc(strlen(group) + (size_t)len + 2);
        LAPSE_ALLOC(path);
        const int w = sprintf(path, "%s/", group);
        LAPSE_H5(H5Lget_name_by_idx(s, ".", H5_INDEX_NAME, H5_ITER_INC, i, path + w,
                                    (size_t)len + 1, H5P_DEFAULT));
        LAPSE_H5(H5Lget_info(c->src, path, &li, H5P_DEFAULT));
        LAPSE_TRY(grow_copy_link(c, path, &li));
    }
cleanup:
    free(path);
    if (d >= 0)
        H5Gclose(d);
    if (s >= 0)
        H5Gclose(s);
    return st;
}

/* Rank 0 (grow_alone): in the new file, each run record that names the output's old fingerprint
 * or input identity (old_fp, old_id: the old file's root attributes) names the new ones
 * (state): the growth checked that the config is the same and the old timepoints' data too
 * (exec/job.c), so their results are this config's and this input's. What a record said first
 * is kept as fingerprint_before_growth / input_identity_before_growth. */
static lapse_status_t grow_runs(lapse_h5out_t *o, const lapse_state_spec_t *state,
                                const char *old_fp, const char *old_id)
{
    lapse_status_t st = LAPSE_OK;
    hid_t g = H5I_INVALID_HID, r = H5I_INVALID_HID;
    H5G_info_t gi;
    htri_t e = H5Lexists(o->file, RUNS_PATH, H5P_DEFAULT);
    LAPSE_H5(e);
    if (e <= 0)
        goto cleanup;
    LAPSE_H5ID(g, H5Gopen2(o->file, RUNS_PATH, H5P_DEFAULT));
    LAPSE_H5(H5Gget_info(g, &gi));
    for (hsize_t i = 0; i < gi.nlinks; i++) {
        char name[64], val[96];
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                         H5P_DEFAULT);
        LAPSE_H5(len);
        int64_t id;
        if ((size_t)len >= sizeof name || lapse_layout_run_id(name, &id) != 0)
            continue;
        LAPSE_H5ID(r, H5Gopen2(g, name, H5P_DEFAULT));
        static const char *const attr[2] = {LAPSE_ATTR_FINGERPRINT, LAPSE_ATTR_INPUT_IDENTITY};
        static const char *const keep[2] = {"fingerprint_before_growth",
                                            "input_identity_before_growth"};
        const char *old[2] = {old_fp, old_id},
                   *now[2] = {state->fingerprint, state->input_identity};
        for (int a = 0; a < 2; a++) {
            val[0] = '\0';
            lapse_h5_read_str_attr(r, attr[a], val, sizeof val);
            H5Eclear2(H5E_DEFAULT);
            if (val[0] == '\0' || strcmp(val, old[a]) != 0)
                continue;
            e = H5Aexists(r, keep[a]);
            LAPSE_H5(e);
            if (e == 0)
                LAPSE_TRY(put_str_attr(r, keep[a], val));
            LAPSE_TRY(put_str_attr(r, attr[a], now[a]));
        }
        LAPSE_H5(H5Gclose(r));
        r = H5I_INVALID_HID;
    }
cleanup:
    if (r >= 0)
        H5Gclose(r);
    if (g >= 0)
        H5Gclose(g);
    return st;
}

/* Rank 0 (grow_alone): the run record of the growth in the new file: the next run id, status
 * done, the new timepoints as its selection, and the attributes grown_from / grown_to (the
 * counts of timepoints before and after). Its tasks are not its own: the run that follows
 * computes them. */
static lapse_status_t grow_record(lapse_h5out_t *o, int nranks, const lapse_config_t *cfg,
                                  const lapse_state_spec_t *state, int64_t from, int64_t to)
{
    lapse_status_t st = LAPSE_OK;
    hid_t g = H5I_INVALID_HID;
    int64_t max = 0;
    char sel[64], path[64];
    lapse_run_info_t info;
    htri_t e = H5Lexists(o->file, RUNS_PATH, H5P_DEFAULT);
    LAPSE_H5(e);
    if (e > 0) {
        LAPSE_H5ID(g, H5Gopen2(o->file, RUNS_PATH, H5P_DEFAULT));
        LAPSE_H5(H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, lapse_layout_max_run_cb, &max));
        LAPSE_H5(H5Gclose(g));
        g = H5I_INVALID_HID;
    }
    if (to - from == 1)
        snprintf(sel, sizeof sel, "%lld", (long long)from);
    else
        snprintf(sel, sizeof sel, "%lld-%lld", (long long)from, (long long)to - 1);
    memset(&info, 0, sizeof info);
    info.run_id = max + 1;
    lapse_iso_now(info.start, sizeof info.start);
    memcpy(info.end, info.start, sizeof info.end);
    info.config_text = cfg->text;
    info.config_path = cfg->path;
    info.input_file = cfg->input_file;
    info.input_dataset = cfg->input_dataset;
    info.timepoints = sel;
    info.nranks = nranks;
    info.status = LAPSE_RUN_DONE;
    info.fingerprint = state->fingerprint;
    info.tps_hash = "";
    info.input_identity = state->input_identity;
    info.input_identity_end = state->input_identity;
    LAPSE_TRY(lapse_h5out_put_run(o, &info));
    lapse_layout_run_path(info.run_id, path, sizeof path);
    LAPSE_H5ID(g, H5Gopen2(o->file, path, H5P_DEFAULT));
    LAPSE_TRY(put_num_attr(g, LAPSE_RUN_ATTR_GROWN_FROM, H5T_STD_I64LE, H5T_NATIVE_INT64, &from));
    LAPSE_TRY(put_num_attr(g, LAPSE_RUN_ATTR_GROWN_TO, H5T_STD_I64LE, H5T_NATIVE_INT64, &to));
cleanup:
    if (g >= 0)
        H5Gclose(g);
    return st;
}

/* Rank 0 alone, with HDF5's serial driver (as create_alone): the grown main file under tmp from
 * the old one at file (read-only, never written): its root attributes and every object but the
 * ones made anew (H5Ocopy: /lapse/tasks, /lapse/runs, tables), the result datasets as virtual
 * datasets over the new count of parts (with the old ones' attributes), new scratch datasets
 * (they hold nothing between runs), a /lapse/done of the new size with the old marks, the run
 * records moved to the new fingerprint and identity (grow_runs), the growth's run record, the new
 * fingerprint and root attributes; flushed and closed. On failure its handles are left open
 * (o->broken: the job ends); the old file is as it was. */
static lapse_status_t grow_alone(lapse_h5out_t *o, const char *tmp, const char *file,
                                 const lapse_config_t *cfg, const lapse_state_spec_t *state)
{
    lapse_status_t st = LAPSE_OK;
    MPI_Comm comm = o->comm;
    const int nranks = o->size;
    hid_t src = H5I_INVALID_HID, od = H5I_INVALID_HID, fspace = H5I_INVALID_HID,
          nspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID; /* old, new marks; memory */
    hid_t sd = H5I_INVALID_HID, sspace = H5I_INVALID_HID;     /* the old input sums */
    unsigned char *marks = NULL;
    uint64_t *old_sums = NULL;
    char old_fp[24] = "", old_id[96] = "";
    const int64_t from = state->grow_from, to = o->nspecs > 0 ? o->specs[0].dims[0] : 0;
    o->comm = MPI_COMM_SELF; /* no other rank takes part in anything below */
    LAPSE_H5ID(src, H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT));
    lapse_h5_read_str_attr(src, LAPSE_ATTR_FINGERPRINT, old_fp, sizeof old_fp);
    lapse_h5_read_str_attr(src, LAPSE_ATTR_INPUT_IDENTITY, old_id, sizeof old_id);
    H5Eclear2(H5E_DEFAULT);
    LAPSE_TRY(open_file(o, tmp, LAPSE_MODE_OVERWRITE));
    grow_copy_t c = {.src = src, .dst = o->file, .o = o};
    LAPSE_TRY(grow_copy_group(&c, ""));
    for (int k = 0; k < o->nspecs; k++) {
        if (in_parts(o, k))
            LAPSE_TRY(create_vds(o, &o->specs[k], &o->dsets[k]));
        else
            LAPSE_TRY(create_dset(o->file, &o->specs[k], &o->dsets[k]));
        /* a result dataset's attributes (axes, voxel size, a user's own) from the old one;
         * H5Lexists fails (< 0) where a group on the path is missing: none there either */
        htri_t e = o->is_result[k] ? H5Lexists(src, o->specs[k].path, H5P_DEFAULT) : 0;
        H5Eclear2(H5E_DEFAULT);
        if (e > 0) {
            hid_t d = H5Dopen2(src, o->specs[k].path, H5P_DEFAULT);
            LAPSE_H5(d);
            st = copy_attrs(d, o->dsets[k]);
            if (H5Dclose(d) < 0 && st == LAPSE_OK)
                st = lapse_h5_fail("H5Dclose(old result dataset)", __FILE__, __LINE__);
            LAPSE_TRY(st);
        }
    }
    lapse_fault_point("grow-copy"); /* a kill with the new main file half made */
    /* the marks: the old ones in the first rows, the new timepoints' not done */
    LAPSE_TRY(create_done(o, to, state));
    hsize_t dims[2], count[2], start[2] = {0, 0};
    LAPSE_H5ID(od, H5Dopen2(src, DONE_PATH, H5P_DEFAULT));
    LAPSE_H5ID(fspace, H5Dget_space(od));
    if (H5Sget_simple_extent_ndims(fspace) != 2)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: " DONE_PATH " is not 2-D", file);
    LAPSE_H5(H5Sget_simple_extent_dims(fspace, dims, NULL));
    if ((int64_t)dims[0] != from || (int64_t)dims[1] != state->ntiles)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: " DONE_PATH " is [%llu, %llu], not [%lld, %lld] as the output's tiling "
                   "and count of timepoints say",
                   file, (unsigned long long)dims[0], (unsigned long long)dims[1], (long long)from,
                   (long long)state->ntiles);
    marks = malloc((size_t)(dims[0] * dims[1]) + 1);
    LAPSE_ALLOC(marks);
    if (dims[0] * dims[1] > 0) {
        LAPSE_H5(H5Dread(od, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, marks));
        LAPSE_H5ID(nspace, H5Dget_space(o->done));
        count[0] = dims[0];
        count[1] = dims[1];
        LAPSE_H5(H5Sselect_hyperslab(nspace, H5S_SELECT_SET, start, NULL, count, NULL));
        LAPSE_H5ID(mspace, H5Screate_simple(2, count, NULL));
        LAPSE_H5(H5Dwrite(o->done, H5T_NATIVE_UINT8, mspace, nspace, H5P_DEFAULT, marks));
    }
    /* the old timepoints' input sums (none in an output made before they existed) */
    htri_t had = H5Lexists(src, SUMS_PATH, H5P_DEFAULT);
    LAPSE_H5(had);
    if (had > 0) {
        hsize_t n = 0;
        LAPSE_H5ID(sd, H5Dopen2(src, SUMS_PATH, H5P_DEFAULT));
        LAPSE_H5ID(sspace, H5Dget_space(sd));
        if (H5Sget_simple_extent_ndims(sspace) != 1 ||
            H5Sget_simple_extent_dims(sspace, &n, NULL) < 0 || (int64_t)n != from)
            LAPSE_FAIL(LAPSE_EINPUT, "%s: " SUMS_PATH " is not [%lld] as its marks are", file,
                       (long long)from);
        old_sums = malloc((size_t)n * sizeof *old_sums + 1);
        LAPSE_ALLOC(old_sums);
        if (n > 0)
            LAPSE_H5(H5Dread(sd, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, old_sums));
    }
    LAPSE_TRY(create_sums(o, to, old_sums, had > 0 ? from : 0));
    LAPSE_TRY(grow_runs(o, state, old_fp, old_id));
    LAPSE_TRY(grow_record(o, nranks, cfg, state, from, to));
    LAPSE_TRY(put_str_attr(o->file, LAPSE_ATTR_FINGERPRINT, state->fingerprint));
    LAPSE_TRY(put_root_attrs(o, cfg, state));
    LAPSE_TRY(lapse_fault_fail("grow-main"));
    if (H5Fflush(o->file, H5F_SCOPE_GLOBAL) < 0)
        LAPSE_TRY(lapse_h5_fail("H5Fflush(grown output)", __FILE__, __LINE__));
    st = close_handles(o);
cleanup:
    free(marks);
    free(old_sums);
    if (sspace >= 0)
        H5Sclose(sspace);
    if (sd >= 0)
        H5Dclose(sd);
    if (mspace >= 0)
        H5Sclose(mspace);
    if (nspace >= 0)
        H5Sclose(nspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (od >= 0)
        H5Dclose(od);
    if (src >= 0)
        H5Fclose(src);
    if (st != LAPSE_OK)
        o->broken = 1;
    o->comm = comm;
    return st;
}

/* Collective: grow the existing output file, made with output.parts (or output.format: zarr,
 * whose store the run's zarr_meta then rewrites: no parts here), from state->grow_from
 * timepoints to o->specs' count (docs/architecture.md, "Growing an output with its input"):
 * rank 0 makes the staging file tmp (identity-locked, as create_complete), every rank makes the
 * new timepoints' parts t = grow_from + rank (mod size) under staged names (lapse_parts_grow),
 * rank 0 builds the grown main file under tmp (grow_alone) and renames it onto file, keeping its
 * lock for lapse_h5out_take_lock. Until that rename the old output is intact (a kill leaves it
 * and, at most, new parts its virtual datasets do not map); after it the grown output is
 * complete, its new timepoints not done. Returns the same status on every rank. */
static lapse_status_t grow_complete(lapse_h5out_t *o, const char *tmp, const char *file,
                                    const lapse_config_t *cfg, const lapse_state_spec_t *state)
{
    lapse_status_t st = LAPSE_OK;
    int fd = -1; /* rank 0: the staging file, identity-locked */
    hid_t f = H5I_INVALID_HID;
    const int64_t to = o->nspecs > 0 ? o->specs[0].dims[0] : 0;
    st = step_agree(o, o->rank == 0 ? make_staging(tmp, &fd) : LAPSE_OK);
    if (st != LAPSE_OK)
        return st;      /* nothing was made, and what is at tmp is not ours to remove */
    if (o->rank == 0) { /* the output's parts token, which the new parts carry */
        f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f < 0)
            st = lapse_h5_fail("H5Fopen(output, read-only)", __FILE__, __LINE__);
        else
            lapse_h5_read_str_attr(f, LAPSE_PARTS_TOKEN_ATTR, o->token, sizeof o->token);
        if (f >= 0 && H5Fclose(f) < 0 && st == LAPSE_OK)
            st = lapse_h5_fail("H5Fclose(output)", __FILE__, __LINE__);
        if (st == LAPSE_OK && o->token[0] == '\0' && cfg->output_format != LAPSE_FMT_ZARR)
            st = lapse_fail(LAPSE_EINPUT, "output %s has no parts token: it cannot grow", file);
    }
    st = step_agree(o, st);
    if (st == LAPSE_OK &&
        MPI_Bcast(o->token, LAPSE_PARTS_TOKEN_LEN, MPI_CHAR, 0, o->comm) != MPI_SUCCESS) {
        o->broken = 1;
        st = lapse_fail(LAPSE_EMPI, "MPI_Bcast of the parts token failed");
    }
    o->parts = o->token[0] != '\0'; /* else Zarr: its voxels are in the store, its datasets here
                                       are placeholders (h5out.h), made anew by grow_alone */
    if (st == LAPSE_OK && o->parts) {
        for (int64_t t = state->grow_from + o->rank; t < to && st == LAPSE_OK; t += o->size)
            st = lapse_parts_grow(file, t, o->specs, o->is_result, o->nspecs, o->token);
        st = step_agree(o, st);
        if (st == LAPSE_OK) { /* the new parts' names on the disk before the file mapping them */
            char dir[4200];
            lapse_parts_dir(file, 1, dir, sizeof dir);
            st = step_agree(o, o->rank == 0 ? lapse_parts_sync(dir, 1) : LAPSE_OK);
        }
    }
    if (st == LAPSE_OK)
        st = step_agree(o, o->rank == 0 ? grow_alone(o, tmp, file, cfg, state) : LAPSE_OK);
    if (st != LAPSE_OK) {
        if (o->rank == 0) {
            unlink(tmp); /* the old output is as it was; the new parts do no harm */
            close(fd);
        }
        /* new parts may be made: exit 2 says nothing was written (and a failure here is no bad
         * config or input: check_growth accepted them) */
        return st == LAPSE_ECONFIG || st == LAPSE_EINPUT ? LAPSE_ERUNTIME : st;
    }
    if (o->rank == 0) {
        lapse_fault_point("grow-rename"); /* the grown file complete, not yet in place */
        /* the grown file on the disk before it replaces the old one: after a crash of the node
         * OUT.h5 is the old file or the whole new one, never a new name over lost contents */
        int rc;
        while ((rc = fsync(fd)) != 0 && errno == EINTR)
            ;
        if (rc != 0) {
            st = lapse_fail(LAPSE_EIO, "fsync(%s) failed: %s", tmp, strerror(errno));
            unlink(tmp);
            close(fd);
        } else if (rename(tmp, file) != 0) {
            st = lapse_fail(LAPSE_EIO, "rename(%s, %s) failed: %s", tmp, file, strerror(errno));
            unlink(tmp);
            close(fd);
        } else {
            o->id_fd = fd; /* still locked: no instant without the lock on the new file */
            /* the rename itself on the disk; the grown output is in place either way */
            char parent[4200];
            const char *slash = strrchr(file, '/');
            snprintf(parent, sizeof parent, "%.*s",
                     slash ? (int)(slash - file) + (slash == file) : 1, slash ? file : ".");
            if (lapse_parts_sync(parent, 1) != LAPSE_OK) {
                fprintf(stderr, "lapse: warning: %s\n", lapse_errmsg());
                lapse_err_clear();
            }
            lapse_fault_point("grow-renamed"); /* grown; no BigDataViewer files or run yet */
        }
    }
    int code = (int)st;
    if (MPI_Bcast(&code, 1, MPI_INT, 0, o->comm) != MPI_SUCCESS)
        return lapse_fail(LAPSE_EMPI, "MPI_Bcast of the rename status failed");
    return (lapse_status_t)code;
}

/* Local: the parts of lapse_h5out_open that need no other rank: the dataset specs, the row
 * type and the transfer property lists of o (zeroed, handles invalid). */
static lapse_status_t open_local(lapse_h5out_t *o, const lapse_dset_spec_t *specs, int nspecs)
{
    lapse_status_t st = LAPSE_OK;
    o->nspecs = nspecs;
    o->specs = calloc((size_t)(nspecs > 0 ? nspecs : 1), sizeof *o->specs);
    LAPSE_ALLOC(o->specs);
    o->dsets = malloc((size_t)(nspecs > 0 ? nspecs : 1) * sizeof *o->dsets);
    LAPSE_ALLOC(o->dsets);
    o->raw_ok = malloc((size_t)(nspecs > 0 ? nspecs : 1) * sizeof *o->raw_ok);
    LAPSE_ALLOC(o->raw_ok);
    o->raw_chunk = calloc((size_t)(nspecs > 0 ? nspecs : 1), sizeof *o->raw_chunk);
    LAPSE_ALLOC(o->raw_chunk);
    o->cmap = calloc((size_t)(nspecs > 0 ? nspecs : 1), sizeof *o->cmap);
    LAPSE_ALLOC(o->cmap);
    o->is_result = calloc((size_t)(nspecs > 0 ? nspecs : 1), sizeof *o->is_result);
    LAPSE_ALLOC(o->is_result);
    o->pdsets = malloc((size_t)(nspecs > 0 ? nspecs : 1) * sizeof *o->pdsets);
    LAPSE_ALLOC(o->pdsets);
    for (int k = 0; k < nspecs; k++) {
        o->specs[k] = specs[k];
        o->dsets[k] = H5I_INVALID_HID;
        o->pdsets[k] = H5I_INVALID_HID;
        o->raw_ok[k] = -1;
        o->is_result[k] =
            strncmp(specs[k].path, LAPSE_LAYOUT_SCRATCH, strlen(LAPSE_LAYOUT_SCRATCH)) != 0;
    }
    LAPSE_TRY(lapse_fault_fail("h5out-open"));
    LAPSE_TRY(lapse_layout_row_type(&o->row_type));
    LAPSE_H5ID(o->dxpl_ind, H5Pcreate(H5P_DATASET_XFER));
    LAPSE_H5(H5Pset_dxpl_mpio(o->dxpl_ind, H5FD_MPIO_INDEPENDENT));
    LAPSE_H5ID(o->dxpl_coll, H5Pcreate(H5P_DATASET_XFER));
    LAPSE_H5(H5Pset_dxpl_mpio(o->dxpl_coll, H5FD_MPIO_COLLECTIVE));
cleanup:
    return st;
}

lapse_status_t lapse_h5out_open(MPI_Comm comm, const char *file, lapse_mode_t mode,
                                const lapse_dset_spec_t *specs, int nspecs,
                                const lapse_config_t *cfg, const lapse_state_spec_t *state,
                                lapse_h5out_t **out)
{
    lapse_status_t st = LAPSE_OK;
    lapse_h5out_t *o = NULL;
    char tmp[4200];

    lapse_h5_init();
    o = calloc(1, sizeof *o);
    if (o != NULL) {
        o->comm = MPI_COMM_NULL;
        o->file = o->tasks = o->done = o->row_type = o->dxpl_ind = o->dxpl_coll = H5I_INVALID_HID;
        o->sums = H5I_INVALID_HID;
        o->sync_fd = o->id_fd = o->resv_fd = -1;
        o->fatal = default_fatal; /* from the open's first collective call on */
        o->fatal_ctx = default_fatal_ctx;
        o->io_mode = -1;
        o->pfile = H5I_INVALID_HID;
        o->pfile_t = -1;
    }
    st = o != NULL ? open_local(o, specs, nspecs)
                   : lapse_fail_at(LAPSE_ENOMEM, __FILE__, __LINE__, "out of memory: output");
    /* Agree on the local part before the first collective call (a rank that failed alone would
     * otherwise leave the others waiting in MPI_Comm_dup or H5Fcreate). */
    if ((st = open_agree(comm, st)) != LAPSE_OK) {
        lapse_h5out_close(o);
        return st;
    }
    snprintf(o->path, sizeof o->path, "%s", file);
    o->parts = mode != LAPSE_MODE_UPDATE && cfg->output_parts;
    LAPSE_MPI(MPI_Comm_dup(comm, &o->comm));
    LAPSE_MPI(MPI_Comm_rank(o->comm, &o->rank));
    LAPSE_MPI(MPI_Comm_size(o->comm, &o->size));
    snprintf(tmp, sizeof tmp, "%s.creating", file);
    if (mode != LAPSE_MODE_UPDATE) {
        LAPSE_TRY(create_complete(o, tmp, file, cfg, state));
    } else {
        if (state->grow_from > 0)
            LAPSE_TRY(grow_complete(o, tmp, file, cfg, state));
        LAPSE_TRY(step_agree(o, o->rank == 0 ? claim_file_end(file) : LAPSE_OK));
    }
    LAPSE_TRY(step_agree(o, reserve_start(o, file)));
    LAPSE_TRY(step_agree(o, open_file(o, file, LAPSE_MODE_UPDATE)));
    /* an output has parts when it was made with them, whatever this config says (job.c refuses
     * a config that disagrees before anything is written) */
    lapse_h5_read_str_attr(o->file, LAPSE_PARTS_TOKEN_ATTR, o->token, sizeof o->token);
    o->parts = o->token[0] != '\0';
    const char *sync = getenv("LAPSE_SYNC_MARKS");
    if (sync && strcmp(sync, "1") == 0 && (o->sync_fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
        st = lapse_fail(LAPSE_EIO, "open(%s) for fdatasync failed: %s", file, strerror(errno));
    LAPSE_TRY(step_agree(o, st));
    LAPSE_TRY(step_agree(o, open_datasets(o, file, LAPSE_MODE_UPDATE)));
    for (int k = 0; k < o->nspecs; k++) {
        hid_t dcpl = H5Dget_create_plist(o->dsets[k]);
        if (dcpl >= 0) {
            o->filtered |= H5Pget_nfilters(dcpl) > 0;
            H5Pclose(dcpl);
        }
    }
    const char *wm = getenv("LAPSE_H5_WRITE");
    /* the parts are serial files: no collective writes there */
    o->coll_write = o->filtered || (!o->parts && wm && strcmp(wm, "collective") == 0);
    set_margin(o);
    LAPSE_TRY(step_agree(o, reserve_ahead(o)));
    st = put_root_attrs(o, cfg, state);
    if (st == LAPSE_OK)
        st = put_element_size(o, state, cfg);
    LAPSE_TRY(step_agree(o, st));
    LAPSE_TRY(lapse_h5out_flush(o));
cleanup:
    st = open_agree(comm, st);
    if (st != LAPSE_OK) {
        lapse_h5out_close(o);
        return st;
    }
    *out = o;
    return LAPSE_OK;
}

/* ------------------------------------------------------------------ runs */

lapse_status_t lapse_h5out_next_run_id(lapse_h5out_t *o, int64_t *run_id)
{
    lapse_status_t st = LAPSE_OK;
    hid_t g = H5I_INVALID_HID;
    int64_t max = 0;

    htri_t e = H5Lexists(o->file, LAPSE_LAYOUT_GROUP, H5P_DEFAULT);
    LAPSE_H5(e);
    if (e > 0) {
        e = H5Lexists(o->file, RUNS_PATH, H5P_DEFAULT);
        LAPSE_H5(e);
    }
    if (e > 0) {
        LAPSE_H5ID(g, H5Gopen2(o->file, RUNS_PATH, H5P_DEFAULT));
        LAPSE_H5(H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, lapse_layout_max_run_cb, &max));
    }
    *run_id = max + 1;
cleanup:
    if (g >= 0)
        H5Gclose(g);
    return st;
}

lapse_status_t lapse_h5out_put_run(lapse_h5out_t *o, const lapse_run_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    hid_t g = H5I_INVALID_HID, lcpl = H5I_INVALID_HID;
    char path[64];

    lapse_layout_run_path(info->run_id, path, sizeof path);
    htri_t e = H5Lexists(o->file, RUNS_PATH, H5P_DEFAULT);
    LAPSE_H5(e);
    if (e > 0) {
        e = H5Lexists(o->file, path, H5P_DEFAULT);
        LAPSE_H5(e);
    }
    if (e > 0) {
        LAPSE_H5ID(g, H5Gopen2(o->file, path, H5P_DEFAULT));
    } else {
        LAPSE_H5ID(lcpl, H5Pcreate(H5P_LINK_CREATE));
        LAPSE_H5(H5Pset_create_intermediate_group(lcpl, 1));
        LAPSE_H5ID(g, H5Gcreate2(o->file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT));
    }
    LAPSE_TRY(put_num_attr(g, LAPSE_RUN_ATTR_ID, H5T_STD_I64LE, H5T_NATIVE_INT64, &info->run_id));
    LAPSE_TRY(put_num_attr(g, LAPSE_RUN_ATTR_NRANKS, H5T_STD_I32LE, H5T_NATIVE_INT, &info->nranks));
    LAPSE_TRY(put_str_attr(g, LAPSE_RUN_ATTR_START, info->start));
    LAPSE_TRY(put_str_attr(g, LAPSE_RUN_ATTR_END, info->end));
    LAPSE_TRY(put_str_attr(g, LAPSE_RUN_ATTR_STATUS, info->status));
    LAPSE_TRY(put_str_attr(g, LAPSE_RUN_ATTR_TIMEPOINTS, info->timepoints));
    LAPSE_TRY(put_str_attr(g, LAPSE_RUN_ATTR_CONFIG, info->config_text));
    LAPSE_TRY(put_str_attr(g, LAPSE_RUN_ATTR_CONFIG_PATH, info->config_path));
    LAPSE_TRY(put_str_attr(g, LAPSE_ATTR_INPUT_FILE, info->input_file));
    LAPSE_TRY(put_str_attr(g, LAPSE_ATTR_INPUT_DATASET, info->input_dataset));
    LAPSE_TRY(put_str_attr(g, LAPSE_ATTR_FINGERPRINT, info->fingerprint));
    LAPSE_TRY(put_str_attr(g, LAPSE_RUN_ATTR_TPS_HASH, info->tps_hash));
    LAPSE_TRY(put_str_attr(g, LAPSE_ATTR_INPUT_IDENTITY, info->input_identity));
    LAPSE_TRY(put_str_attr(g, LAPSE_RUN_ATTR_INPUT_END, info->input_identity_end));
    LAPSE_TRY(put_num_attr(g, LAPSE_RUN_ATTR_INPUT_CHANGED, H5T_STD_I32LE, H5T_NATIVE_INT,
                           &info->input_changed));
    LAPSE_TRY(
        put_num_attr(g, LAPSE_RUN_ATTR_RECOMPUTE, H5T_STD_I32LE, H5T_NATIVE_INT, &info->recompute));
cleanup:
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (g >= 0)
        H5Gclose(g);
    return st;
}

/* ------------------------------------------------------------------ data */

/* Select the box core of timepoint t of dataset k in a new file space (*fspace) and make the
 * matching memory space (*mspace). */
static lapse_status_t select_box(lapse_h5out_t *o, int k, int64_t t, const lapse_box_t *core,
                                 hid_t *fspace, hid_t *mspace)
{
    lapse_status_t st = LAPSE_OK;
    hsize_t start[4], count[4];
    if (k < 0 || k >= o->nspecs)
        LAPSE_FAIL(LAPSE_ERUNTIME, "output dataset index %d out of range [0, %d)", k, o->nspecs);
    const lapse_dset_spec_t *s = &o->specs[k];
    int nd = s->ndims;
    if (t < 0 || t >= s->dims[0])
        LAPSE_FAIL(LAPSE_ERUNTIME, "%s: timepoint %" PRId64 " out of range [0, %" PRId64 ")",
                   s->path, t, s->dims[0]);
    start[0] = (hsize_t)t;
    count[0] = 1;
    for (int a = 4 - nd; a < 3; a++) {
        int i = a - (4 - nd) + 1;
        if (core->off[a] < 0 || core->dim[a] < 1 || core->off[a] + core->dim[a] > s->dims[i])
            LAPSE_FAIL(LAPSE_ERUNTIME, "%s: core box outside the dataset on axis %d", s->path, a);
        start[i] = (hsize_t)core->off[a];
        count[i] = (hsize_t)core->dim[a];
    }
    if (nd == 3 && core->dim[0] != 1)
        LAPSE_FAIL(LAPSE_ERUNTIME, "%s: core box of a 3-D dataset must have z extent 1", s->path);
    LAPSE_H5ID(*fspace, H5Dget_space(o->dsets[k]));
    LAPSE_H5(H5Sselect_hyperslab(*fspace, H5S_SELECT_SET, start, NULL, count, NULL));
    LAPSE_H5ID(*mspace, H5Screate_simple(nd, count, NULL));
cleanup:
    return st;
}

/* Whether dataset k takes raw segments (see lapse_h5out_raw_segments); its chunk dims into
 * o->raw_chunk[k]. Decided once per dataset, on dset: o->dsets[k], or with parts the dataset in
 * a part (all parts are made alike). */
static lapse_status_t raw_check(lapse_h5out_t *o, int k, hid_t dset, int *ok)
{
    lapse_status_t st = LAPSE_OK;
    hid_t dcpl = H5I_INVALID_HID, ftype = H5I_INVALID_HID;
    if (o->raw_ok[k] >= 0) {
        *ok = o->raw_ok[k];
        return LAPSE_OK;
    }
    *ok = 0;
    const lapse_dset_spec_t *s = &o->specs[k];
    LAPSE_H5ID(dcpl, H5Dget_create_plist(dset));
    LAPSE_H5ID(ftype, H5Dget_type(dset));
    int nf;
    htri_t same;
    LAPSE_H5(nf = H5Pget_nfilters(dcpl));
    H5D_layout_t lay = H5Pget_layout(dcpl);
    LAPSE_H5(same = H5Tequal(ftype, lapse_h5_mem_type(s->dtype)));
    if (nf == 0 && lay == H5D_CHUNKED && same > 0 && s->ndims <= 4 &&
        H5Pget_chunk(dcpl, s->ndims, o->raw_chunk[k]) == s->ndims)
        *ok = 1;
    htri_t ordered = *ok && !in_parts(o, k) ? H5Aexists(dset, LAPSE_ATTR_CHUNK_ORDER) : 0;
    if (ordered > 0) { /* made so by lapse (a part's few chunks are looked up) */
        hsize_t bytes = lapse_dtype_size(s->dtype);
        for (int i = 0; i < s->ndims; i++)
            bytes *= o->raw_chunk[k][i];
        if (lapse_chunkmap_build(dset, s->ndims, o->raw_chunk[k], bytes, &o->cmap[k]) != LAPSE_OK)
            lapse_err_clear(); /* no map: a lookup per chunk, as before */
    }
    o->raw_ok[k] = *ok;
cleanup:
    if (ftype >= 0)
        H5Tclose(ftype);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return st;
}

/* Close the part held for segments, if any. */
static lapse_status_t part_close(lapse_h5out_t *o)
{
    lapse_status_t st = LAPSE_OK;
    for (int k = 0; k < o->nspecs; k++) {
        if (o->pdsets[k] >= 0 && H5Dclose(o->pdsets[k]) < 0 && st == LAPSE_OK)
            st = lapse_h5_fail("H5Dclose(part dataset)", __FILE__, __LINE__);
        o->pdsets[k] = H5I_INVALID_HID;
    }
    if (o->pfile >= 0 && H5Fclose(o->pfile) < 0 && st == LAPSE_OK)
        st = lapse_h5_fail("H5Fclose(part)", __FILE__, __LINE__);
    o->pfile = H5I_INVALID_HID;
    o->pfile_t = -1;
    return st;
}

/* Dataset k of part t, opened read-only (to find its chunks' file offsets) into *d; the part
 * stays open for the next call. Local. */
static lapse_status_t part_dset(lapse_h5out_t *o, int k, int64_t t, hid_t *d)
{
    lapse_status_t st = LAPSE_OK;
    if (o->pfile_t != t) {
        LAPSE_TRY(part_close(o));
        LAPSE_TRY(lapse_parts_open(o->path, t, &o->pfile));
        o->pfile_t = t;
    }
    if (o->pdsets[k] < 0)
        LAPSE_H5ID(o->pdsets[k], H5Dopen2(o->pfile, o->specs[k].path, H5P_DEFAULT));
    *d = o->pdsets[k];
cleanup:
    return st;
}

const char *lapse_h5out_data_file(lapse_h5out_t *o, int k, int64_t t)
{
    char dir[4200];
    if (k < 0 || k >= o->nspecs || !in_parts(o, k))
        return o->path;
    lapse_parts_dir(o->path, 1, dir, sizeof dir);
    lapse_parts_file(dir, t, o->data_path, sizeof o->data_path);
    return o->data_path;
}

lapse_status_t lapse_h5out_raw_segments(lapse_h5out_t *o, int k, int64_t t, const lapse_box_t *core,
                                        const void *buf, lapse_raw_seg_t **seg, int *n, int *cap,
                                        int max, int *ok)
{
    lapse_status_t st = LAPSE_OK;
    hsize_t start[4], count[4], cd[4], cmin[4], cmax[4], c[4], off[4];
    int n0 = *n;
    *ok = 0;
    if (k < 0 || k >= o->nspecs)
        LAPSE_FAIL(LAPSE_ERUNTIME, "output dataset index %d out of range [0, %d)", k, o->nspecs);
    if (o->filtered || o->coll_write)
        return LAPSE_OK;
    const lapse_dset_spec_t *s = &o->specs[k];
    if (t < 0 || t >= s->dims[0])
        LAPSE_FAIL(LAPSE_ERUNTIME, "%s: timepoint %" PRId64 " out of range [0, %" PRId64 ")",
                   s->path, t, s->dims[0]);
    hid_t dset = o->dsets[k];
    int64_t t_in = t;     /* t's index in dset */
    if (in_parts(o, k)) { /* the only way into a part: no segment limit */
        LAPSE_TRY(part_dset(o, k, t, &dset));
        t_in = 0;
        max = INT_MAX;
    }
    int can = 0;
    LAPSE_TRY(raw_check(o, k, dset, &can));
    if (!can) {
        if (in_parts(o, k))
            LAPSE_FAIL(LAPSE_ERUNTIME,
                       "%s: the part of timepoint %" PRId64 " is not a plain "
                       "chunked dataset of the output's type",
                       s->path, t);
        return LAPSE_OK;
    }
    const int nd = s->ndims;
    if (nd < 3 || nd > 4)
        LAPSE_FAIL(LAPSE_ERUNTIME, "%s: internal error: %d dimensions", s->path, nd);
    const size_t es = lapse_dtype_size(s->dtype);
    start[0] = (hsize_t)t_in;
    count[0] = 1;
    for (int i = 1; i < nd; i++) { /* file axis i, box axis a */
        const int a = i - 1 + (4 - nd);
        if (core->off[a] < 0 || core->dim[a] < 1 || core->off[a] + core->dim[a] > s->dims[i])
            LAPSE_FAIL(LAPSE_ERUNTIME, "%s: core box outside the dataset on axis %d", s->path, a);
        start[i] = (hsize_t)core->off[a];
        count[i] = (hsize_t)core->dim[a];
    }
    for (int i = 0; i < nd; i++) {
        cd[i] = o->raw_chunk[k][i];
        cmin[i] = start[i] / cd[i];
        cmax[i] = (start[i] + count[i] - 1) / cd[i];
        c[i] = cmin[i];
    }
    for (;;) { /* every chunk the box touches, in C order */
        unsigned fmask = 0;
        haddr_t addr = HADDR_UNDEF;
        hsize_t csize = 0, lo[4], hi[4], p[4];
        for (int i = 0; i < nd; i++)
            off[i] = c[i] * cd[i];
        if (o->cmap[k] == NULL || lapse_chunkmap_addr(o->cmap[k], off, &addr) != 0)
            LAPSE_H5(H5Dget_chunk_info_by_coord(dset, off, &fmask, &addr, &csize));
        if (addr == HADDR_UNDEF)
            goto none; /* not allocated: HDF5 must write it */
        for (int i = 0; i < nd; i++) {
            lo[i] = start[i] > off[i] ? start[i] : off[i];
            hi[i] = start[i] + count[i] < off[i] + cd[i] ? start[i] + count[i] : off[i] + cd[i];
            p[i] = lo[i];
        }
        for (;;) { /* every row (along the last axis) of the box within this chunk */
            hsize_t fi = 0, mi = 0;
            for (int i = 0; i < nd; i++) {
                fi = fi * cd[i] + (p[i] - off[i]);
                mi = mi * count[i] + (p[i] - start[i]);
            }
            const int64_t foff = (int64_t)addr + (int64_t)(fi * es);
            const char *mem = (const char *)buf + mi * es;
            const size_t len = (size_t)(hi[nd - 1] - lo[nd - 1]) * es;
            lapse_raw_seg_t *last = *n > n0 ? &(*seg)[*n - 1] : NULL;
            if (last && last->off + (int64_t)last->len == foff &&
                (const char *)last->mem + last->len == mem) {
                last->len += len;
            } else {
                if (*n - n0 >= max)
                    goto none;
                if (*n == *cap) {
                    int nc = *cap ? 2 * *cap : 256;
                    lapse_raw_seg_t *g = realloc(*seg, (size_t)nc * sizeof *g);
                    if (!g)
                        LAPSE_FAIL(LAPSE_ENOMEM, "out of memory for output segments");
                    *seg = g;
                    *cap = nc;
                }
                (*seg)[(*n)++] = (lapse_raw_seg_t){foff, mem, len};
            }
            int i = nd - 2; /* next row: odometer over the axes before the last */
            while (i >= 0 && ++p[i] == hi[i]) {
                p[i] = lo[i];
                i--;
            }
            if (i < 0)
                break;
        }
        int i = nd - 1; /* next chunk */
        while (i >= 0 && ++c[i] > cmax[i]) {
            c[i] = cmin[i];
            i--;
        }
        if (i < 0)
            break;
    }
    *ok = 1;
    return LAPSE_OK;
none:
    *n = n0;
cleanup:
    return st;
}

int lapse_h5out_chunk_runs(const lapse_h5out_t *o, int k)
{
    return k >= 0 && k < o->nspecs ? lapse_chunkmap_runs(o->cmap[k]) : 0;
}

const char *lapse_h5out_path(const lapse_h5out_t *o)
{
    return o->path;
}

const char *lapse_h5out_parts_token(const lapse_h5out_t *o)
{
    return o->token;
}

lapse_status_t lapse_h5out_write(lapse_h5out_t *o, int k, int64_t t, const lapse_box_t *core,
                                 const void *buf)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    if (k >= 0 && k < o->nspecs && in_parts(o, k)) { /* a part: raw segments, written now */
        lapse_raw_seg_t *seg = NULL;
        int n = 0, cap = 0, ok = 0;
        char what[LAPSE_NAME_MAX + 64];
        st = lapse_h5out_raw_segments(o, k, t, core, buf, &seg, &n, &cap, INT_MAX, &ok);
        snprintf(what, sizeof what, "%s of timepoint %" PRId64, o->specs[k].path, t);
        if (st == LAPSE_OK && ok)
            st = lapse_raw_write_now(lapse_h5out_data_file(o, k, t), seg, n, what);
        else if (st == LAPSE_OK)
            st = lapse_fail(LAPSE_ERUNTIME, "%s: no raw segments into its part", what);
        free(seg);
        return st;
    }
    LAPSE_TRY(select_box(o, k, t, core, &fspace, &mspace));
    LAPSE_H5(H5Dwrite(o->dsets[k], lapse_h5_mem_type(o->specs[k].dtype), mspace, fspace,
                      o->dxpl_ind, buf));
    H5D_mpio_actual_io_mode_t m;
    if (H5Pget_mpio_actual_io_mode(o->dxpl_ind, &m) >= 0)
        o->io_mode = (int)m;
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return st;
}

lapse_status_t lapse_h5out_write_coll(lapse_h5out_t *o, int k, int64_t t, const lapse_box_t *core,
                                      const void *buf, int *mode)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    lapse_status_t sel = LAPSE_OK; /* this rank's selection failed: it still joins the write */
    static const unsigned char none = 0;
    if (k < 0 || k >= o->nspecs) /* the same k on every rank: all stop here alike */
        LAPSE_FAIL(LAPSE_ERUNTIME, "output dataset index %d out of range [0, %d)", k, o->nspecs);
    if (core != NULL) {
        sel = lapse_fault_fail("write-select");
        if (sel != LAPSE_OK) /* as a real one: a failed write, never a task's own failure */
            sel = LAPSE_EH5;
        if (sel == LAPSE_OK)
            sel = select_box(o, k, t, core, &fspace, &mspace);
        if (sel != LAPSE_OK) { /* write nothing, but take part: the others are in the call */
            if (mspace >= 0)
                H5Sclose(mspace);
            if (fspace >= 0)
                H5Sclose(fspace);
            fspace = mspace = H5I_INVALID_HID;
            core = NULL;
        }
    }
    if (core == NULL) { /* failing here, this rank could not join the others' call */
        hsize_t one = 1;
        LAPSE_H5_COLL(o, fspace = H5Dget_space(o->dsets[k]));
        LAPSE_H5_COLL(o, H5Sselect_none(fspace));
        LAPSE_H5_COLL(o, mspace = H5Screate_simple(1, &one, NULL));
        LAPSE_H5_COLL(o, H5Sselect_none(mspace));
        buf = &none;
    }
    /* LAPSE_FAULT=fail:coll-write[@R]: this rank fails as if inside the call, the others in it */
    if (lapse_fault_fail("coll-write") != LAPSE_OK) {
        st = LAPSE_EH5;
        lapse_h5out_collective_failed(o, st);
        goto cleanup;
    }
    LAPSE_H5_COLL(o, H5Dwrite(o->dsets[k], lapse_h5_mem_type(o->specs[k].dtype), mspace, fspace,
                              o->dxpl_coll, buf));
    H5D_mpio_actual_io_mode_t m;
    if (H5Pget_mpio_actual_io_mode(o->dxpl_coll, &m) >= 0) {
        o->io_mode = (int)m;
        if (mode)
            *mode = (int)m;
    }
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return st != LAPSE_OK ? st : sel;
}

int lapse_h5out_filtered(const lapse_h5out_t *o)
{
    return o->filtered;
}

int lapse_h5out_collective(const lapse_h5out_t *o)
{
    return o->coll_write;
}

int lapse_h5out_last_io_mode(const lapse_h5out_t *o)
{
    return o->io_mode;
}

lapse_status_t lapse_h5out_read(lapse_h5out_t *o, int k, int64_t t, const lapse_box_t *box,
                                void *buf)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    LAPSE_TRY(select_box(o, k, t, box, &fspace, &mspace));
    LAPSE_H5(H5Dread(o->dsets[k], lapse_h5_mem_type(o->specs[k].dtype), mspace, fspace, o->dxpl_ind,
                     buf));
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return st;
}

/* Local: the file and memory selections of n rows of the task table from row start (none when
 * n is 0: a rank with no rows still joins the collective write). */
static lapse_status_t rows_selection(lapse_h5out_t *o, int64_t n, hsize_t start, hid_t *fspace,
                                     hid_t *mspace)
{
    lapse_status_t st = LAPSE_OK;
    hsize_t count = n > 0 ? (hsize_t)n : 1;
    LAPSE_TRY(lapse_fault_fail("rows-select"));
    LAPSE_H5ID(*fspace, H5Dget_space(o->tasks));
    LAPSE_H5ID(*mspace, H5Screate_simple(1, &count, NULL));
    if (n > 0) {
        LAPSE_H5(H5Sselect_hyperslab(*fspace, H5S_SELECT_SET, &start, NULL, &count, NULL));
    } else {
        LAPSE_H5(H5Sselect_none(*fspace));
        LAPSE_H5(H5Sselect_none(*mspace));
    }
cleanup:
    return st;
}

lapse_status_t lapse_h5out_append_rows(lapse_h5out_t *o, const lapse_task_row_t *rows, int64_t n)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    int64_t *counts = NULL;
    hsize_t old, total = 0, mine = 0, ext;
    lapse_task_row_t dummy;

    counts = malloc((size_t)o->size * sizeof *counts);
    LAPSE_ALLOC(counts);
    LAPSE_MPI(MPI_Allgather(&n, 1, MPI_INT64_T, counts, 1, MPI_INT64_T, o->comm));
    for (int r = 0; r < o->size; r++) {
        if (r < o->rank)
            mine += (hsize_t)counts[r];
        total += (hsize_t)counts[r];
    }
    if (total == 0)
        goto cleanup;
    LAPSE_H5ID(fspace, H5Dget_space(o->tasks));
    LAPSE_H5(H5Sget_simple_extent_dims(fspace, &old, NULL));
    H5Sclose(fspace);
    fspace = H5I_INVALID_HID;
    ext = old + total;
    /* the new chunks (allocated and filled by H5Dset_extent) into reserved blocks */
    LAPSE_TRY(reserve_more(o, (int64_t)((total + TASKS_CHUNK) / TASKS_CHUNK * TASKS_CHUNK *
                                        H5Tget_size(o->row_type))));
    LAPSE_H5_COLL(o, H5Dset_extent(o->tasks, &ext));
    lapse_fault_point("tasks");
    /* The local steps between the two collective calls are agreed: a rank failing here alone
     * would leave the others in H5Dwrite. */
    LAPSE_TRY(step_agree(o, rows_selection(o, n, old + mine, &fspace, &mspace)));
    if (n == 0) {
        memset(&dummy, 0, sizeof dummy);
        rows = &dummy;
    }
    LAPSE_H5_COLL(o, H5Dwrite(o->tasks, o->row_type, mspace, fspace, o->dxpl_coll, rows));
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    free(counts);
    return st;
}

void lapse_h5out_handles(const lapse_h5out_t *o, hid_t *file, hid_t *dxpl_coll, MPI_Comm *comm,
                         int *rank)
{
    *file = o->file;
    *dxpl_coll = o->dxpl_coll;
    *comm = o->comm;
    *rank = o->rank;
}

/* Collective: reserve_ahead, agreed, then the flush. */
lapse_status_t lapse_h5out_flush(lapse_h5out_t *o)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_TRY(step_agree(o, reserve_ahead(o)));
    if (lapse_fault_fail("coll-flush") != LAPSE_OK) { /* as if failed inside the flush */
        st = LAPSE_EH5;
        lapse_h5out_collective_failed(o, st);
        goto cleanup;
    }
    LAPSE_H5_COLL(o, H5Fflush(o->file, H5F_SCOPE_GLOBAL));
cleanup:
    return st;
}

lapse_status_t lapse_h5out_flush_agreed(lapse_h5out_t *o, lapse_status_t mine)
{
    lapse_status_t fst = lapse_h5out_flush(o); /* collective: every rank takes part */
    return step_agree(o, mine != LAPSE_OK ? mine : fst);
}

/* Close the file and its datasets (collective), keeping the rest of o. */
static lapse_status_t close_handles(lapse_h5out_t *o)
{
    lapse_status_t st = o->pdsets ? part_close(o) : LAPSE_OK;
    for (int k = 0; o->dsets && k < o->nspecs; k++) {
        if (o->dsets[k] >= 0 && H5Dclose(o->dsets[k]) < 0 && st == LAPSE_OK)
            st = lapse_h5_fail("H5Dclose(result dataset)", __FILE__, __LINE__);
        o->dsets[k] = H5I_INVALID_HID;
    }
    if (o->tasks >= 0 && H5Dclose(o->tasks) < 0 && st == LAPSE_OK)
        st = lapse_h5_fail("H5Dclose(" TASKS_PATH ")", __FILE__, __LINE__);
    if (o->done >= 0 && H5Dclose(o->done) < 0 && st == LAPSE_OK)
        st = lapse_h5_fail("H5Dclose(" DONE_PATH ")", __FILE__, __LINE__);
    if (o->sums >= 0 && H5Dclose(o->sums) < 0 && st == LAPSE_OK)
        st = lapse_h5_fail("H5Dclose(" SUMS_PATH ")", __FILE__, __LINE__);
    if (o->file >= 0 && H5Fclose(o->file) < 0 && st == LAPSE_OK)
        st = lapse_h5_fail("H5Fclose(output)", __FILE__, __LINE__);
    o->tasks = o->done = o->sums = o->file = H5I_INVALID_HID;
    return st;
}

lapse_status_t lapse_h5out_reopen(lapse_h5out_t *o)
{
    lapse_status_t st = LAPSE_OK;
    if (o == NULL)
        return LAPSE_OK;
    if (o->broken)
        return lapse_fail(LAPSE_EH5, "%s: the output is not usable after an earlier failure",
                          o->path);
    LAPSE_TRY(step_agree(o, close_handles(o)));
    LAPSE_TRY(step_agree(o, open_file(o, o->path, LAPSE_MODE_UPDATE)));
    LAPSE_TRY(step_agree(o, open_datasets(o, o->path, LAPSE_MODE_UPDATE)));
cleanup:
    return st;
}

lapse_status_t lapse_h5out_close(lapse_h5out_t *o)
{
    lapse_status_t st = LAPSE_OK;
    if (o == NULL)
        return LAPSE_OK;
    if (!o->broken && o->file >= 0) /* the close flushes: reserve first */
        st = step_agree(o, reserve_ahead(o));
    if (!o->broken)
        st = close_handles(o);
    /* every rank out of its close (no write of any rank after the file's end follows) before
     * rank 0 cuts the blocks after the end */
    if (!o->broken && o->comm != MPI_COMM_NULL)
        st = step_agree(o, st);
    if (o->resv_fd >= 0) {
        release_reserve(o);
        close(o->resv_fd);
    }
    if (o->row_type >= 0)
        H5Tclose(o->row_type);
    if (o->dxpl_ind >= 0)
        H5Pclose(o->dxpl_ind);
    if (o->dxpl_coll >= 0)
        H5Pclose(o->dxpl_coll);
    if (o->sync_fd >= 0)
        close(o->sync_fd);
    if (o->id_fd >= 0)
        close(o->id_fd);
    if (o->comm != MPI_COMM_NULL)
        MPI_Comm_free(&o->comm);
    free(o->dsets);
    free(o->raw_ok);
    free(o->raw_chunk);
    for (int k = 0; o->cmap && k < o->nspecs; k++)
        lapse_chunkmap_free(o->cmap[k]);
    free(o->cmap);
    free(o->is_result);
    free(o->pdsets);
    free(o->specs);
    free(o);
    return st;
}

int lapse_h5out_take_lock(lapse_h5out_t *o)
{
    int fd = o->id_fd;
    o->id_fd = -1;
    return fd;
}

/* ------------------------------------------------------------------ task state */

lapse_status_t lapse_h5out_mark_done(lapse_h5out_t *o, int64_t t, int64_t tile)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    hsize_t start[2] = {(hsize_t)t, (hsize_t)tile}, count[2] = {1, 1};
    unsigned char one = LAPSE_MARK_DONE;

    /* LAPSE_SYNC_MARKS=1: force the task's data to stable storage first, so that even a node
     * crash or power loss cannot leave a mark without its data (costs a disk flush per task). */
    if (o->sync_fd >= 0 && fdatasync(o->sync_fd) != 0)
        LAPSE_FAIL(LAPSE_EIO,
                   "fdatasync(output) failed before marking task (t=%lld, tile %lld): %s",
                   (long long)t, (long long)tile, strerror(errno));
    if (o->sync_fd >= 0 && o->parts) { /* the task's data went to its part */
        const char *pp = lapse_h5out_data_file(o, 0, t);
        int pfd = open(pp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        int bad = pfd < 0 || fdatasync(pfd) != 0;
        int err = errno;
        if (pfd >= 0)
            close(pfd);
        if (bad)
            LAPSE_FAIL(LAPSE_EIO,
                       "fdatasync(%s) failed before marking task (t=%lld, tile %lld): %s", pp,
                       (long long)t, (long long)tile, strerror(err));
    }

    LAPSE_H5ID(fspace, H5Dget_space(o->done));
    LAPSE_H5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL));
    LAPSE_H5ID(mspace, H5Screate_simple(2, count, NULL));
    LAPSE_H5(H5Dwrite(o->done, H5T_NATIVE_UINT8, mspace, fspace, o->dxpl_ind, &one));
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return st;
}

lapse_status_t lapse_h5out_reset_done(lapse_h5out_t *o, const int64_t *tps, int64_t n)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    hsize_t dims[2], count[2];
    unsigned char *zeros = NULL;
    uint64_t *unrecorded = NULL; /* 0: no input sum recorded */

    LAPSE_H5ID(fspace, H5Dget_space(o->done));
    LAPSE_H5(H5Sget_simple_extent_dims(fspace, dims, NULL));
    if (o->rank == 0 && n > 0) {
        zeros = calloc((size_t)dims[1], 1); /* LAPSE_MARK_PENDING */
        LAPSE_ALLOC(zeros);
        count[0] = 1;
        count[1] = dims[1];
        LAPSE_H5ID(mspace, H5Screate_simple(2, count, NULL));
        for (int64_t i = 0; i < n; i++) {
            hsize_t start[2] = {(hsize_t)tps[i], 0};
            LAPSE_H5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL));
            LAPSE_H5(H5Dwrite(o->done, H5T_NATIVE_UINT8, mspace, fspace, o->dxpl_ind, zeros));
        }
        /* their input sums too: "not recorded" until the centre tile's task recomputes them (a
         * sum of the data the old results came from must not outlive them) */
        unrecorded = calloc((size_t)n, sizeof *unrecorded);
        LAPSE_ALLOC(unrecorded);
        LAPSE_TRY(lapse_h5out_put_input_sums(o, tps, unrecorded, n));
    }
cleanup:
    free(zeros);
    free(unrecorded);
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    /* only rank 0 wrote: agree before the collective flush */
    st = step_agree(o, st);
    if (st != LAPSE_OK)
        return st;
    return step_agree(o, lapse_h5out_flush(o));
}

int lapse_h5out_has_input_sums(const lapse_h5out_t *o)
{
    return o != NULL && o->sums >= 0;
}

lapse_status_t lapse_h5out_put_input_sums(lapse_h5out_t *o, const int64_t *tps,
                                          const uint64_t *sums, int64_t n)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    hsize_t *coord = NULL, count = (hsize_t)n, dims = 0;

    if (o->sums < 0 || n <= 0)
        return LAPSE_OK;
    LAPSE_H5ID(fspace, H5Dget_space(o->sums));
    LAPSE_H5(H5Sget_simple_extent_dims(fspace, &dims, NULL));
    coord = malloc((size_t)n * sizeof *coord);
    LAPSE_ALLOC(coord);
    for (int64_t i = 0; i < n; i++) {
        if (tps[i] < 0 || (hsize_t)tps[i] >= dims)
            LAPSE_FAIL(LAPSE_ERUNTIME, "%s: timepoint %lld is outside " SUMS_PATH " [%llu]",
                       o->path, (long long)tps[i], (unsigned long long)dims);
        coord[i] = (hsize_t)tps[i];
    }
    LAPSE_H5(H5Sselect_elements(fspace, H5S_SELECT_SET, (size_t)n, coord));
    LAPSE_H5ID(mspace, H5Screate_simple(1, &count, NULL));
    LAPSE_H5(H5Dwrite(o->sums, H5T_NATIVE_UINT64, mspace, fspace, o->dxpl_ind, sums));
cleanup:
    free(coord);
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return st;
}
