/*
 * verify.c - `lapse verify OUT.h5 [--repair]` (verify.h): read back the core of every task
 * marked done in every result dataset ([t,z,y,x], or [t,y,x] for 2-D data and projections),
 * through HDF5, so that a chunk HDF5 cannot read (a compressed chunk that fails to decode, one
 * its index locates beyond the file's end of allocation) is found before anyone relies on it.
 * What HDF5 reads without an error is taken as written: a chunk overwritten by other valid data
 * is not found here (docs/reliability.md).
 *
 * --repair also reads the tasks not marked done (a chunk the index locates beyond the file's
 * end is unreadable there too, and the next run would rewrite it in place), takes the output's
 * lock (lock.h: no run may be writing it), then opens the file read-write serially, makes its
 * end of allocation cover the file and every chunk the unreadable tasks' index entries locate (so
 * that the next run neither truncates nor hands out that space again while the index still points
 * there), and marks those tasks not done. The next `lapse run` of the same config recomputes them.
 *
 * A dataset whose voxels are in the OME-Zarr store beside the file (output.format: zarr,
 * io/zarr_out.h: <store><dataset>/0/.zarray exists) is checked there instead: each marked task's
 * chunk file must exist (a missing one reads as the fill value in Zarr readers) and decode through
 * lapse's Zarr reader (io/reader.h); --repair then only marks the failing tasks not done.
 *
 * An output made with output.parts reads its voxels through virtual datasets onto one part file
 * per timepoint, and a missing or foreign part reads as fill values without an error: each
 * marked task's part must be there, a regular HDF5 file with the output's parts token, before
 * its cores are read. The parts' data is raw (no chunk index to outrun), so --repair does not
 * apply: an update of the timepoints named makes their parts anew (exec/job.c).
 */
#include "verify.h"

#include <assert.h>
#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "h5util.h"
#include "io/h5parts.h"
#include "io/layout.h"
#include "io/reader.h"
#include "io/zarr_out.h"
#include "lock.h"
#include "tpsel.h"

#define LIST_MAX 20 /* unreadable tasks named one by one */

typedef struct {
    char path[LAPSE_NAME_MAX];
    int ndims;          /* 3: [t,y,x], 4: [t,z,y,x] */
    size_t esize;       /* bytes per voxel in memory (native type) */
    hsize_t dims[4];    /* t first */
    int64_t grid[3];    /* tiles along z, y, x */
    lapse_reader_t *zr; /* its voxels in a Zarr array (the reader of it), or NULL */
    char zdir[4096];    /* that array's directory */
    int zmiss;          /* 1: its voxels are in a Zarr array that is missing or unusable */
    char zwhy[512];     /* why (every marked task of it is unreadable) */
} vdset_t;

typedef struct {
    vdset_t *d;
    int n, cap;
    int64_t nt, ntiles, tile[3];
    int skipped;  /* datasets not on the task grid */
    size_t esize; /* the largest of the datasets' */
} vctx_t;

/* The grid of tiles over dataset d's spatial dims; 0 when it is not the marks' grid. */
static int on_grid(vctx_t *c, vdset_t *d)
{
    const int sp = d->ndims - 1; /* spatial dims: 2 or 3 */
    int64_t prod = 1;
    for (int i = 0; i < 3; i++) {
        d->grid[i] = 1;
        if (i >= 3 - sp) {
            int64_t n = (int64_t)d->dims[1 + i - (3 - sp)];
            d->grid[i] = (n + c->tile[i] - 1) / c->tile[i];
        }
        prod *= d->grid[i];
    }
    if (sp == 2 && prod > 0 && c->ntiles % prod == 0) { /* 2-D data, or a projection of 3-D */
        d->grid[0] = c->ntiles / prod;
        prod = c->ntiles;
    }
    return d->dims[0] == (hsize_t)c->nt && prod == c->ntiles;
}

static herr_t dset_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    vctx_t *c = data;
    vdset_t d;
    if (info->type != H5O_TYPE_DATASET || lapse_layout_reserved(name))
        return 0;
    memset(&d, 0, sizeof d);
    snprintf(d.path, sizeof d.path, "/%s", name);
    hid_t ds = H5Dopen2(obj, name, H5P_DEFAULT), sp = ds >= 0 ? H5Dget_space(ds) : -1;
    d.ndims = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (d.ndims == 3 || d.ndims == 4) {
        H5Sget_simple_extent_dims(sp, d.dims, NULL);
        hid_t ft = H5Dget_type(ds), mt = ft >= 0 ? H5Tget_native_type(ft, H5T_DIR_ASCEND) : -1;
        d.esize = mt >= 0 ? H5Tget_size(mt) : 0;
        if (mt >= 0)
            H5Tclose(mt);
        if (ft >= 0)
            H5Tclose(ft);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    if ((d.ndims != 3 && d.ndims != 4) || d.esize == 0)
        return 0; /* a table */
    if (!on_grid(c, &d)) {
        c->skipped++;
        return 0;
    }
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 8;
        vdset_t *p = realloc(c->d, (size_t)cap * sizeof *p);
        if (p == NULL)
            return -1;
        c->d = p;
        c->cap = cap;
    }
    c->d[c->n++] = d;
    if (d.esize > c->esize)
        c->esize = d.esize;
    return 0;
}

/* The core box of tile tl of timepoint t in d: start[] and count[] over d's dims. */
static void core_box(const vctx_t *c, const vdset_t *d, int64_t t, int64_t tl, hsize_t *start,
                     hsize_t *count)
{
    assert(d->ndims == 3 || d->ndims == 4); /* dset_cb keeps only these */
    const int64_t idx[3] = {tl / (d->grid[1] * d->grid[2]), (tl / d->grid[2]) % d->grid[1],
                            tl % d->grid[2]};
    start[0] = (hsize_t)t;
    count[0] = 1;
    for (int i = 3 - (d->ndims - 1), j = 1; i < 3; i++, j++) {
        start[j] = (hsize_t)(idx[i] * c->tile[i]);
        count[j] = start[j] + (hsize_t)c->tile[i] <= d->dims[j] ? (hsize_t)c->tile[i]
                                                                : d->dims[j] - start[j];
    }
}

/* The core of task (t, tl) of a Zarr dataset d: its chunk file (the task's tile is one chunk)
 * must exist, and the box decode; LAPSE_EREAD (message recorded) when not. */
static lapse_status_t read_core_zarr(const vctx_t *c, const vdset_t *d, int64_t t, int64_t tl,
                                     void *buf)
{
    hsize_t start[4], count[4];
    char chunk[4200];
    struct stat sb;
    lapse_box_t box = {{0, 0, 0}, {1, 1, 1}};
    int64_t idx[3];
    char key[128];
    core_box(c, d, t, tl, start, count);
    for (int j = 1; j < d->ndims; j++) {
        idx[j - 1] = (int64_t)(start[j] / (hsize_t)c->tile[3 - d->ndims + j]);
        box.off[3 - d->ndims + j] = (int64_t)start[j];
        box.dim[3 - d->ndims + j] = (int64_t)count[j];
    }
    char sep = '/';
    if (lapse_zarr_separator(d->zdir, &sep) != LAPSE_OK)
        return LAPSE_EREAD; /* its message names the .zarray */
    if (lapse_zarr_chunk_key(key, sizeof key, sep, t, idx, d->ndims - 1) != 0 ||
        snprintf(chunk, sizeof chunk, "%s/%s", d->zdir, key) >= (int)sizeof chunk)
        return lapse_fail(LAPSE_EREAD, "zarr chunk path too long in %s", d->zdir);
    if (stat(chunk, &sb) != 0)
        return lapse_fail(LAPSE_EREAD, "chunk file %s: %s (Zarr readers see the fill value)", chunk,
                          strerror(errno));
    return lapse_reader_read(d->zr, t, &box, buf);
}

/* Read the core of task (t, tl) of d into buf; LAPSE_EH5 (message recorded) when HDF5 fails. */
static lapse_status_t read_core(hid_t h, const vctx_t *c, const vdset_t *d, int64_t t, int64_t tl,
                                void *buf)
{
    lapse_status_t st = LAPSE_OK;
    hid_t ds = H5I_INVALID_HID, fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    hid_t ft = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    hsize_t start[4], count[4];

    if (d->zmiss)
        return lapse_fail(LAPSE_EREAD, "%s", d->zwhy);
    if (d->zr)
        return read_core_zarr(c, d, t, tl, buf);
    core_box(c, d, t, tl, start, count);
    LAPSE_H5ID(ds, H5Dopen2(h, d->path, H5P_DEFAULT));
    LAPSE_H5ID(fs, H5Dget_space(ds));
    LAPSE_H5(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL));
    LAPSE_H5ID(ms, H5Screate_simple(d->ndims, count, NULL));
    LAPSE_H5ID(ft, H5Dget_type(ds));
    LAPSE_H5ID(mt, H5Tget_native_type(ft, H5T_DIR_ASCEND));
    LAPSE_H5(H5Dread(ds, mt, ms, fs, H5P_DEFAULT, buf));
cleanup:
    if (mt >= 0)
        H5Tclose(mt);
    if (ft >= 0)
        H5Tclose(ft);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (ds >= 0)
        H5Dclose(ds);
    return st;
}

/* read_core, once more when it fails (a passing I/O error is not damage); the second failure's
 * message stays recorded. */
static lapse_status_t read_core_twice(hid_t h, const vctx_t *c, const vdset_t *d, int64_t t,
                                      int64_t tl, void *buf)
{
    if (read_core(h, c, d, t, tl, buf) == LAPSE_OK)
        return LAPSE_OK;
    lapse_err_clear();
    H5Eclear2(H5E_DEFAULT);
    return read_core(h, c, d, t, tl, buf);
}

/* The end of the last chunk of d (filtered or not) that holds part of task (t, tl), if beyond
 * *end, into *end. One index lookup per chunk (each walks the index in HDF5 1.10): for the few
 * unreadable tasks only. */
static lapse_status_t task_chunks_end(hid_t h, const vctx_t *c, const vdset_t *d, int64_t t,
                                      int64_t tl, haddr_t *end)
{
    lapse_status_t st = LAPSE_OK;
    hid_t ds = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hsize_t start[4], count[4], cd[4], off[4], lo[4];
    unsigned mask;
    haddr_t addr;
    hsize_t size;
    const int nd = d->ndims;

    core_box(c, d, t, tl, start, count);
    LAPSE_H5ID(ds, H5Dopen2(h, d->path, H5P_DEFAULT));
    LAPSE_H5ID(dcpl, H5Dget_create_plist(ds));
    if (H5Pget_layout(dcpl) != H5D_CHUNKED)
        goto cleanup;
    if (H5Pget_chunk(dcpl, nd, cd) != nd)
        LAPSE_FAIL(LAPSE_EH5, "H5Pget_chunk(%s) failed", d->path);
    for (int i = 0; i < nd; i++)
        off[i] = lo[i] = start[i] / cd[i] * cd[i];
    for (;;) { /* every chunk the core touches */
        LAPSE_H5(H5Dget_chunk_info_by_coord(ds, off, &mask, &addr, &size));
        if (addr != HADDR_UNDEF && addr + size > *end)
            *end = addr + size;
        int i = nd - 1;
        for (; i >= 0; i--) {
            off[i] += cd[i];
            if (off[i] < start[i] + count[i])
                break;
            off[i] = lo[i];
        }
        if (i < 0)
            break;
    }
cleanup:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (ds >= 0)
        H5Dclose(ds);
    return st;
}

/* Under the lock: the end of allocation past the file and every chunk of the tasks bad[nbad]
 * and stray[nstray] (indices t * ntiles + tile), then the tasks bad[] marked not done in marks[]
 * and the file. */
static lapse_status_t repair(const char *file, const vctx_t *c, const int64_t *bad, int64_t nbad,
                             const int64_t *stray, int64_t nstray, uint8_t *marks)
{
    lapse_status_t st = LAPSE_OK;
    hid_t h = H5I_INVALID_HID, done = H5I_INVALID_HID;
    haddr_t end = 0, eoa = HADDR_UNDEF;
    struct stat sb;

    LAPSE_H5ID(h, H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT));
    for (int64_t i = 0; i < nbad + nstray; i++) {
        const int64_t j = i < nbad ? bad[i] : stray[i - nbad];
        for (int k = 0; k < c->n; k++)
            LAPSE_TRY(task_chunks_end(h, c, &c->d[k], j / c->ntiles, j % c->ntiles, &end));
    }
    LAPSE_H5(H5Fclose(h));
    h = H5I_INVALID_HID;
    if (stat(file, &sb) != 0)
        LAPSE_FAIL(LAPSE_EIO, "stat(%s) failed: %s", file, strerror(errno));
    LAPSE_H5ID(h, H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT));
    LAPSE_H5(H5Fget_eoa(h, &eoa));
    const haddr_t base = (haddr_t)sb.st_size > eoa ? (haddr_t)sb.st_size : eoa;
    /* EOA := max(EOA, file size) + increment: closing then cuts nothing off */
    LAPSE_H5(H5Fincrement_filesize(h, end > base ? (hsize_t)(end - base) : 0));
    for (int64_t i = 0; i < nbad; i++)
        marks[bad[i]] = LAPSE_MARK_PENDING;
    LAPSE_H5ID(done, H5Dopen2(h, LAPSE_LAYOUT_DONE, H5P_DEFAULT));
    LAPSE_H5(H5Dwrite(done, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, marks));
    LAPSE_H5(H5Dclose(done));
    done = H5I_INVALID_HID;
    herr_t closed = H5Fclose(h);
    h = H5I_INVALID_HID;
    LAPSE_H5(closed);
cleanup:
    if (done >= 0)
        H5Dclose(done);
    if (h >= 0)
        H5Fclose(h);
    return st;
}

/* 1 when the output's config (the root attribute of its latest run's text) says
 * output.format: zarr; 0 when it says otherwise or cannot be parsed. */
static int config_says_zarr(hid_t h)
{
    const size_t cap = 1 << 20;
    char *text = malloc(cap);
    int zarr = 0;
    if (text == NULL)
        return 0;
    text[0] = '\0';
    lapse_h5_read_str_attr(h, LAPSE_ATTR_CONFIG, text, cap);
    lapse_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    if (text[0] &&
        lapse_config_parse("(the output's config)", text, strlen(text), &cfg) == LAPSE_OK)
        zarr = cfg.output_format == LAPSE_FMT_ZARR;
    lapse_err_clear();
    lapse_config_free(&cfg);
    free(text);
    return zarr;
}

/* The datasets of c whose voxels are in the OME-Zarr store beside file (every dataset when the
 * output's config says output.format: zarr, else those whose array exists there): their readers
 * (counted in *n), or, where the array is missing or cannot be opened, d->zmiss with the reason
 * in d->zwhy (every marked task of it then counts as unreadable). */
static lapse_status_t open_zarr(const char *file, hid_t h, vctx_t *c, int *n)
{
    char root[4096], za[8300];
    *n = 0;
    if (lapse_zarr_root(file, root, sizeof root) != 0)
        return LAPSE_OK;
    const int all = config_says_zarr(h);
    for (int k = 0; k < c->n; k++) {
        vdset_t *d = &c->d[k];
        if (snprintf(d->zdir, sizeof d->zdir, "%s%s/0", root, d->path) >= (int)sizeof d->zdir ||
            snprintf(za, sizeof za, "%s/.zarray", d->zdir) >= (int)sizeof za)
            return lapse_fail(LAPSE_EINPUT, "%s: the Zarr path of %s is too long", file, d->path);
        const int there = access(za, F_OK) == 0;
        if (!there && !all)
            continue;
        (*n)++;
        lapse_status_t st =
            !there ? lapse_fail(LAPSE_EREAD, "%s: %s (the store or the array is gone)", za,
                                strerror(errno))
                   : lapse_reader_open(root, d->path + 1 /* its image group */, &d->zr);
        if (st != LAPSE_OK) {
            snprintf(d->zwhy, sizeof d->zwhy, "%s", lapse_errmsg());
            lapse_err_clear();
            d->zmiss = 1;
            continue;
        }
        const size_t es = lapse_dtype_size(lapse_reader_info(d->zr)->dtype); /* as read */
        if (es > c->esize)
            c->esize = es;
    }
    return LAPSE_OK;
}

/* The virtual datasets' creation properties of an output made with output.parts: of its first
 * result dataset, when that is virtual (a packed copy, h5repack'ed, holds its voxels: < 0). */
static hid_t parts_dcpl(hid_t h, const vctx_t *c)
{
    hid_t d = c->n > 0 ? H5Dopen2(h, c->d[0].path, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t dcpl = d >= 0 ? H5Dget_create_plist(d) : H5I_INVALID_HID;
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0 && H5Pget_layout(dcpl) != H5D_VIRTUAL) {
        H5Pclose(dcpl);
        dcpl = H5I_INVALID_HID;
    }
    H5Eclear2(H5E_DEFAULT);
    return dcpl;
}

/* Part t as the virtual datasets name it (mapping t of dcpl, its "%%" undone; a relative name
 * under the output file's directory, where HDF5 looks for it) into path[len]: 0, or -1. */
static int part_path(const char *file, hid_t dcpl, int64_t t, char *path, size_t len)
{
    char raw[4400], name[4400];
    size_t cnt = 0, k = 0;
    if (H5Pget_virtual_count(dcpl, &cnt) < 0 || t < 0 || (size_t)t >= cnt)
        return -1;
    ssize_t n = H5Pget_virtual_filename(dcpl, (size_t)t, raw, sizeof raw);
    if (n < 0 || (size_t)n >= sizeof raw)
        return -1;
    for (const char *p = raw; *p; p++) {
        if (p[0] == '%' && p[1] == '%')
            p++;
        name[k++] = *p;
    }
    name[k] = '\0';
    const char *slash = strrchr(file, '/');
    int w = name[0] == '/' || slash == NULL
                ? snprintf(path, len, "%s", name)
                : snprintf(path, len, "%.*s/%s", (int)(slash - file), file, name);
    return w >= 0 && (size_t)w < len ? 0 : -1;
}

/* Part t of a parts output (dcpl: its virtual datasets' properties): a regular HDF5 file holding
 * token and timepoint t, else LAPSE_EREAD saying what is wrong with it; *exists: the path is
 * there (a damaged or foreign part, which must be moved away before an update makes it anew). */
static lapse_status_t part_ok(const char *file, hid_t dcpl, const char *token, int64_t t,
                              int *exists)
{
    char path[4400], got[LAPSE_PARTS_TOKEN_LEN + 8] = "";
    int64_t pt = -1;
    struct stat sb;
    *exists = 0;
    if (part_path(file, dcpl, t, path, sizeof path) != 0)
        return lapse_fail(LAPSE_EREAD, "no part of timepoint %lld in its virtual datasets",
                          (long long)t);
    if (lstat(path, &sb) != 0)
        return lapse_fail(LAPSE_EREAD, "its part %s: %s", path, strerror(errno));
    *exists = 1;
    if (!S_ISREG(sb.st_mode))
        return lapse_fail(LAPSE_EREAD, "its part %s is not a regular file", path);
    hid_t p = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (p >= 0) {
        lapse_h5_read_str_attr(p, LAPSE_PARTS_TOKEN_ATTR, got, sizeof got);
        hid_t a = H5Aopen(p, LAPSE_PARTS_T_ATTR, H5P_DEFAULT);
        if (a >= 0) {
            if (H5Aread(a, H5T_NATIVE_INT64, &pt) < 0)
                pt = -1;
            H5Aclose(a);
        }
        H5Fclose(p);
    }
    H5Eclear2(H5E_DEFAULT);
    if (p < 0)
        return lapse_fail(LAPSE_EREAD,
                          "its part %s cannot be opened as HDF5 (truncated or damaged?)", path);
    if (strcmp(got, token) != 0)
        return lapse_fail(LAPSE_EREAD, "its part %s is a part of another output", path);
    if (pt != t)
        return lapse_fail(LAPSE_EREAD, "its part %s holds timepoint %lld, not %lld", path,
                          (long long)pt, (long long)t);
    return LAPSE_OK;
}

lapse_status_t lapse_verify(const char *file, int repair_it, FILE *f, long long *unreadable)
{
    lapse_status_t st = LAPSE_OK;
    lapse_lock_t lock = {.fd = -1, .idfd = -1};
    hid_t h = H5I_INVALID_HID, done = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hid_t attr = H5I_INVALID_HID;
    vctx_t c;
    uint8_t *marks = NULL;
    unsigned char *buf = NULL;
    int64_t *bad = NULL, nbad = 0, nmarked = 0, *stray = NULL, nstray = 0;
    int nzarr = 0;
    hsize_t md[2];
    struct stat sb;
    char token[LAPSE_PARTS_TOKEN_LEN];
    int64_t part_t = -1; /* the timepoint whose part was checked last, and why it is bad ("") */
    char part_why[4600] = "";
    hid_t vdcpl = H5I_INVALID_HID;                    /* parts: the virtual datasets' properties */
    int64_t *badtp = NULL, nbadtp = 0, nbadexist = 0; /* timepoints of bad parts */

    memset(&c, 0, sizeof c);
    *unreadable = 0;
    lapse_h5_init(); /* no HDF5 error printing; the blosc filter registered */
    if (stat(file, &sb) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", file, strerror(errno));
    if (!S_ISREG(sb.st_mode)) /* a FIFO or device would block or mislead H5Fis_hdf5 */
        LAPSE_FAIL(LAPSE_EINPUT, "%s: not a regular file", file);
    htri_t is = H5Fis_hdf5(file);
    H5Eclear2(H5E_DEFAULT);
    if (is <= 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s is not an HDF5 file", file);
    if ((h = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        /* HDF5's own file lock (another process has it open for writing: h5py "r+", a run, a
         * verify --repair) also fails the open: tell that apart from damage */
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        hid_t h2 = fapl >= 0 && H5Pset_file_locking(fapl, 0, 1) >= 0
                       ? H5Fopen(file, H5F_ACC_RDONLY, fapl)
                       : H5I_INVALID_HID;
        if (fapl >= 0)
            H5Pclose(fapl);
        H5Eclear2(H5E_DEFAULT);
        if (h2 >= 0) {
            H5Fclose(h2);
            LAPSE_FAIL(LAPSE_EUSAGE,
                       "%s is held open by another process (HDF5's file lock: a run, a verify "
                       "--repair, or a program that opened it for writing): nothing checked; "
                       "run verify when no process holds it",
                       file);
        }
        LAPSE_FAIL(LAPSE_EREAD,
                   "%s is an HDF5 file that cannot be opened (truncated or damaged): nothing in "
                   "it reads back, and --repair cannot mend it; restore a copy if there is one, "
                   "else make the output again (output.mode: overwrite)",
                   file);
    }
    htri_t e = H5Lexists(h, LAPSE_LAYOUT_GROUP, H5P_DEFAULT) > 0 &&
               H5Lexists(h, LAPSE_LAYOUT_DONE, H5P_DEFAULT) > 0 &&
               H5Aexists_by_name(h, LAPSE_LAYOUT_DONE, LAPSE_LAYOUT_DONE_TILE, H5P_DEFAULT) > 0;
    H5Eclear2(H5E_DEFAULT);
    if (!e)
        LAPSE_FAIL(LAPSE_EINPUT, "%s has no " LAPSE_LAYOUT_DONE " marks (not a lapse output)",
                   file);
    lapse_h5_read_str_attr(h, LAPSE_ATTR_PARTS_TOKEN, token, sizeof token);
    LAPSE_H5ID(done, H5Dopen2(h, LAPSE_LAYOUT_DONE, H5P_DEFAULT));
    LAPSE_H5ID(sp, H5Dget_space(done));
    if (H5Sget_simple_extent_ndims(sp) != 2)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: " LAPSE_LAYOUT_DONE " is not 2-D", file);
    LAPSE_H5(H5Sget_simple_extent_dims(sp, md, NULL));
    LAPSE_H5(H5Sclose(sp));
    sp = H5I_INVALID_HID;
    LAPSE_H5ID(attr, H5Aopen(done, LAPSE_LAYOUT_DONE_TILE, H5P_DEFAULT));
    LAPSE_H5ID(sp, H5Aget_space(attr));
    if (H5Sget_simple_extent_npoints(sp) != 3)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: the tile attribute of " LAPSE_LAYOUT_DONE " is not 3 values",
                   file);
    LAPSE_H5(H5Aread(attr, H5T_NATIVE_INT64, c.tile));
    for (int i = 0; i < 3; i++)
        if (c.tile[i] < 1 || c.tile[i] > (1 << 24))
            LAPSE_FAIL(LAPSE_EINPUT, "%s: bad tile attribute of " LAPSE_LAYOUT_DONE, file);
    if (repair_it) /* before the marks are read: no run may be writing them */
        LAPSE_TRY(lapse_lock_acquire(file, &lock));
    c.nt = (int64_t)md[0];
    c.ntiles = (int64_t)md[1];
    marks = malloc(md[0] * md[1] + 1);
    LAPSE_ALLOC(marks);
    LAPSE_H5(H5Dread(done, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, marks));
    LAPSE_H5(H5Ovisit2(h, H5_INDEX_NAME, H5_ITER_INC, dset_cb, &c, H5O_INFO_BASIC));
    /* parts: the virtual datasets' (a packed copy has the token, and its voxels inside) */
    if (token[0] && (vdcpl = parts_dcpl(h, &c)) >= 0 && repair_it)
        LAPSE_FAIL(LAPSE_EUSAGE,
                   "%s has per-timepoint parts (output.parts): their data is written raw, with no "
                   "chunk index to mend, so --repair does not apply; `lapse verify %s` names "
                   "the parts that are missing or damaged, and an update of those timepoints "
                   "(output.mode: update with --timepoints) makes them anew",
                   file, file);
    if (vdcpl >= 0) {
        badtp = malloc((size_t)(c.nt + 1) * sizeof *badtp);
        LAPSE_ALLOC(badtp);
    }
    LAPSE_TRY(open_zarr(file, h, &c, &nzarr));
    buf = malloc((size_t)(c.tile[0] * c.tile[1] * c.tile[2]) * (c.esize ? c.esize : 1));
    bad = malloc((c.nt * c.ntiles + 1) * sizeof *bad);
    LAPSE_ALLOC(buf);
    stray = malloc((c.nt * c.ntiles + 1) * sizeof *stray);
    LAPSE_ALLOC(bad);
    LAPSE_ALLOC(stray);

    for (int64_t i = 0; i < c.nt * c.ntiles; i++) {
        if (marks[i] != LAPSE_MARK_DONE) { /* with repair: whether its chunks can be located */
            for (int k = 0; repair_it && k < c.n; k++) /* (a Zarr chunk may be missing) */
                if (c.d[k].zr == NULL && !c.d[k].zmiss &&
                    read_core_twice(h, &c, &c.d[k], i / c.ntiles, i % c.ntiles, buf) != LAPSE_OK) {
                    lapse_err_clear();
                    H5Eclear2(H5E_DEFAULT);
                    stray[nstray++] = i;
                    break;
                }
            continue;
        }
        nmarked++;
        if (vdcpl >= 0 && i / c.ntiles != part_t) { /* once per timepoint (t-major tasks) */
            int exists = 0;
            part_t = i / c.ntiles;
            part_why[0] = '\0';
            if (part_ok(file, vdcpl, token, part_t, &exists) != LAPSE_OK) {
                /* the virtual datasets would read fill values for it without an error */
                snprintf(part_why, sizeof part_why, "%s", lapse_errmsg());
                badtp[nbadtp++] = part_t;
                nbadexist += exists;
                fprintf(f, "verify: t=%" PRId64 ": its marked tasks are unreadable: %s\n", part_t,
                        part_why);
            }
            lapse_err_clear();
        }
        if (vdcpl >= 0 && part_why[0]) {
            bad[nbad++] = i;
            continue;
        }
        for (int k = 0; k < c.n; k++) {
            if (read_core_twice(h, &c, &c.d[k], i / c.ntiles, i % c.ntiles, buf) == LAPSE_OK)
                continue;
            if (nbad < LIST_MAX)
                fprintf(f, "verify: t=%" PRId64 " tile %" PRId64 ": %s unreadable: %s\n",
                        i / c.ntiles, i % c.ntiles, c.d[k].path, lapse_errmsg());
            lapse_err_clear();
            H5Eclear2(H5E_DEFAULT);
            bad[nbad++] = i;
            break;
        }
    }
    if (nbad > LIST_MAX)
        fprintf(f, "verify: ... and %" PRId64 " more unreadable tasks\n", nbad - LIST_MAX);
    fprintf(f,
            "verify: %s: %" PRId64 " of %" PRId64 " tasks marked done; %" PRId64
            " read back in %d dataset%s, %" PRId64 " unreadable\n",
            file, nmarked, c.nt * c.ntiles, nmarked - nbad, c.n, c.n == 1 ? "" : "s", nbad);
    if (nzarr)
        fprintf(f, "verify: %d of them in the OME-Zarr store beside it (chunk files read)\n",
                nzarr);
    if (c.skipped)
        fprintf(f, "verify: %d dataset%s not on the task grid (tables, other shapes) not read\n",
                c.skipped, c.skipped == 1 ? "" : "s");
    if (nstray)
        fprintf(f,
                "verify: %" PRId64 " task%s not marked done cannot be read either (the next run "
                "recomputes them)\n",
                nstray, nstray == 1 ? "" : "s");
    if (repair_it && nbad == nmarked && nmarked > 1)
        LAPSE_FAIL(LAPSE_EIO,
                   "%s: not one marked task read back: a filter missing, or the file system "
                   "failing? nothing repaired",
                   file);
    if ((nbad || nstray) && repair_it) {
        LAPSE_H5(H5Aclose(attr)); /* every object closed, or the file stays open read-only */
        attr = H5I_INVALID_HID;
        LAPSE_H5(H5Sclose(sp));
        sp = H5I_INVALID_HID;
        LAPSE_H5(H5Dclose(done));
        done = H5I_INVALID_HID;
        LAPSE_H5(H5Fclose(h));
        h = H5I_INVALID_HID;
        LAPSE_TRY(repair(file, &c, bad, nbad, stray, nstray, marks));
        if (nbad)
            fprintf(f,
                    "verify: %" PRId64 " task%s marked not done: run the same config again to "
                    "recompute %s\n",
                    nbad, nbad == 1 ? "" : "s", nbad == 1 ? "it" : "them");
    } else if (nbadtp) {
        char sel[256];
        lapse_tpsel_format(badtp, nbadtp, sel, sizeof sel);
        fprintf(f,
                "verify: %s`lapse run CONFIG --timepoints \"%s\"` with output.mode: update makes "
                "the parts of those timepoints anew and recomputes them\n",
                nbadexist ? "move the damaged or foreign parts named above away (they are kept "
                            "there), then "
                          : "",
                sel);
    } else if (nbad && vdcpl < 0)
        fprintf(f,
                "verify: `lapse verify --repair %s` marks them not done, so that the next run "
                "recomputes them\n",
                file);
    *unreadable = nbad;
cleanup:
    if (attr >= 0)
        H5Aclose(attr);
    if (sp >= 0)
        H5Sclose(sp);
    if (done >= 0)
        H5Dclose(done);
    if (h >= 0)
        H5Fclose(h);
    if (repair_it)
        lapse_lock_release(&lock);
    if (vdcpl >= 0)
        H5Pclose(vdcpl);
    free(badtp);
    for (int k = 0; k < c.n; k++)
        lapse_reader_close(c.d[k].zr);
    free(c.d);
    free(marks);
    free(buf);
    free(bad);
    free(stray);
    return st;
}
