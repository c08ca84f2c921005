/*
 * io_floor.c - the I/O floor of a lapse run (issue 12): the same number of MPI processes read the
 * same input boxes and write the same output bytes through HDF5 as `lapse run` does, with no
 * device work, so that lapse's run time can be set against the storage's.
 *
 *   mpirun -n N io_floor IN.h5 DATASET OUT.h5 [--tile Z,Y,X] [--halo Z,Y,X] [--dtype D]
 *          [--collective] [--chunk Z,Y,X] [--align BYTES] [--gzip LEVEL] [--blosc lz4|zstd]
 *          [--timepoints T] [--parts]
 *
 * Tasks are (timepoint, tile) in lapse's order (tiles z-major over the grid of --tile, default the
 * whole image); rank r takes tasks r, r + N, ... (lapse's static scheduling). A task reads its
 * read box (the core grown by --halo, clipped; the input opened per rank with HDF5's default
 * driver, as lapse's reader does) with one H5Dread and writes a core of output bytes (D: uint8
 * (default), uint16 or float32; uint8 is the input > 20, the threshold of bench/e2e.yaml.in;
 * made before the timed loop, so that the loop holds no CPU work: a constant, or for a
 * compressed output a whole tile of real data; until 2026-11-30 every task converted its own
 * core in the loop, up to 63% of the loop)
 * into the one output file (MPI-IO driver, dataset /result [T, Z, Y, X] chunked [1,
 * tile] or --chunk, allocated at creation, no fill), then a one-byte done mark into /done, as
 * lapse does. --collective: every data write is a collective H5Dwrite in lockstep rounds (an
 * empty selection for a rank without a task), as lapse's LAPSE_H5_WRITE=collective and
 * compressed outputs; --gzip LEVEL adds deflate, --blosc lz4|zstd lapse's Blosc filter at level 5
 * (then collective, with a flush per round, as lapse).
 * --align sets H5Pset_alignment(BYTES, BYTES) on the output file.
 *
 * --parts: the floor of lapse's output.parts: timepoints. OUT.h5 holds /done only (no /result);
 * the voxels of timepoint t go to their own serial HDF5 file OUT.h5.parts/tNNNNNN.h5 (rank 0
 * makes the directory; rank r creates the parts t = r mod N of all T timepoints with the sec2
 * driver and lapse's libver bounds: /result [1, Z, Y, X], the chunk shape above, of the same
 * file type, allocated early, never filled; then fallocate(FALLOC_FL_KEEP_SIZE) of the whole
 * file unless LAPSE_FALLOCATE=0, as lapse; all in create=). A task's write goes through HDF5's
 * addresses + pwrite as lapse's: the part of its timepoint opened read-only with H5Fopen (kept
 * open, with an O_WRONLY descriptor, while consecutive tasks of the rank share the timepoint),
 * H5Dget_chunk_info_by_coord for every chunk the core touches, and one pwrite per run of the
 * core's rows contiguous in both the file and the buffer (a whole-tile core in one chunk: one
 * pwrite; lapse splits a run into pwrites of at most 4 MiB, io/rawwrite.c); then the done mark
 * into OUT.h5's /done as above. Not with --collective, --gzip or --blosc.
 *
 * Prints one line per rank ("io_floor rank=R tasks=K read=S write=S") and on rank 0 the
 * summary: "io_floor ranks=N tasks=K wall=S create=S read_bytes=B write_bytes=B read_GBps=X
 * write_GBps=Y io_mode=M writes=independent|collective" where wall is the task loop (after the
 * output exists, between barriers) and io_mode the H5Pget_mpio_actual_io_mode of rank 0's last
 * data write (none with --parts, whose data writes are pwrite); --parts appends " parts=1" to
 * the summary and " pwrites=P" (the rank's pwrite calls, short writes aside) to the rank lines.
 */
#define _GNU_SOURCE /* fallocate */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/h5blosc.h"
#include "status.h"

typedef struct {
    int64_t off[3], dim[3];
} box_t;

typedef struct {
    const char *in, *dset, *out;
    int64_t tile[3], halo[3], chunk[3];
    int have_tile, have_chunk, collective, gzip, blosc; /* blosc: 1 lz4, 2 zstd */
    int parts;                                          /* --parts: per-timepoint part files */
    long long align;
    hid_t otype, omem;
    size_t osize;
    int64_t ntp;
} opts_t;

static int parse3(const char *s, int64_t v[3])
{
    long long a, b, c;
    if (s == NULL || sscanf(s, "%lld,%lld,%lld", &a, &b, &c) != 3 || a < 0 || b < 0 || c < 0)
        return -1;
    v[0] = a;
    v[1] = b;
    v[2] = c;
    return 0;
}

static int parse_args(int argc, char **argv, opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->otype = H5T_STD_U8LE;
    o->omem = H5T_NATIVE_UINT8;
    o->osize = 1;
    o->ntp = -1;
    if (argc < 4)
        return -1;
    o->in = argv[1];
    o->dset = argv[2];
    o->out = argv[3];
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--tile") == 0 && parse3(v, o->tile) == 0 && o->tile[0] > 0 &&
            o->tile[1] > 0 && o->tile[2] > 0)
            o->have_tile = 1, i++;
        else if (strcmp(a, "--halo") == 0 && parse3(v, o->halo) == 0)
            i++;
        else if (strcmp(a, "--chunk") == 0 && parse3(v, o->chunk) == 0 && o->chunk[0] > 0 &&
                 o->chunk[1] > 0 && o->chunk[2] > 0)
            o->have_chunk = 1, i++;
        else if (strcmp(a, "--parts") == 0)
            o->parts = 1;
        else if (strcmp(a, "--collective") == 0)
            o->collective = 1;
        else if (strcmp(a, "--gzip") == 0 && v && atoi(v) >= 1 && atoi(v) <= 9)
            o->gzip = atoi(v), o->collective = 1, i++;
        else if (strcmp(a, "--blosc") == 0 && v && (!strcmp(v, "lz4") || !strcmp(v, "zstd")))
            o->blosc = strcmp(v, "lz4") == 0 ? 1 : 2, o->collective = 1, i++;
        else if (strcmp(a, "--align") == 0 && v && atoll(v) > 0)
            o->align = atoll(v), i++;
        else if (strcmp(a, "--timepoints") == 0 && v && atoll(v) > 0)
            o->ntp = atoll(v), i++;
        else if (strcmp(a, "--dtype") == 0 && v) {
            i++;
            if (strcmp(v, "uint8") == 0)
                o->otype = H5T_STD_U8LE, o->omem = H5T_NATIVE_UINT8, o->osize = 1;
            else if (strcmp(v, "uint16") == 0)
                o->otype = H5T_STD_U16LE, o->omem = H5T_NATIVE_UINT16, o->osize = 2;
            else if (strcmp(v, "float32") == 0)
                o->otype = H5T_IEEE_F32LE, o->omem = H5T_NATIVE_FLOAT, o->osize = 4;
            else
                return -1;
        } else
            return -1;
    }
    if (o->parts && o->collective) /* --gzip and --blosc set collective */
        return -1;
    return 0;
}

/* The output value of input voxel x (uint16 input) in dtype size osize. */
static void convert(const uint16_t *in, const int64_t rd[3], const box_t *rel, size_t osize,
                    void *out)
{
    int64_t n = 0;
    for (int64_t z = rel->off[0]; z < rel->off[0] + rel->dim[0]; z++)
        for (int64_t y = rel->off[1]; y < rel->off[1] + rel->dim[1]; y++) {
            const uint16_t *row = in + (z * rd[1] + y) * rd[2] + rel->off[2];
            for (int64_t x = 0; x < rel->dim[2]; x++, n++) {
                if (osize == 1)
                    ((uint8_t *)out)[n] = row[x] > 20;
                else if (osize == 2)
                    ((uint16_t *)out)[n] = row[x];
                else
                    ((float *)out)[n] = (float)row[x];
            }
        }
}

/* The boxes of task i (tile i % ntiles of the grid ng of tile over img): its core, its read box
 * (the core grown by halo, clipped) and the core relative to the read box. */
static void task_boxes(int64_t i, int64_t ntiles, const int64_t ng[3], const int64_t tile[3],
                       const int64_t img[3], const int64_t halo[3], box_t *core, box_t *rd,
                       box_t *rel)
{
    int64_t k = i % ntiles, g[3] = {k / (ng[1] * ng[2]), (k / ng[2]) % ng[1], k % ng[2]};
    for (int a = 0; a < 3; a++) {
        core->off[a] = g[a] * tile[a];
        core->dim[a] = core->off[a] + tile[a] <= img[a] ? tile[a] : img[a] - core->off[a];
        rd->off[a] = core->off[a] - halo[a] > 0 ? core->off[a] - halo[a] : 0;
        int64_t hi = core->off[a] + core->dim[a] + halo[a];
        rd->dim[a] = (hi < img[a] ? hi : img[a]) - rd->off[a];
        rel->off[a] = core->off[a] - rd->off[a];
        rel->dim[a] = core->dim[a];
    }
}

/* Select box b of timepoint t in a copy of dataset d's file space (*fs) with a matching memory
 * space (*ms); b NULL: empty selections. */
static lapse_status_t select4(hid_t d, int64_t t, const box_t *b, hid_t *fs, hid_t *ms)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_H5ID(*fs, H5Dget_space(d));
    if (b == NULL) {
        hsize_t one = 1;
        LAPSE_H5(H5Sselect_none(*fs));
        LAPSE_H5ID(*ms, H5Screate_simple(1, &one, NULL));
        LAPSE_H5(H5Sselect_none(*ms));
    } else {
        hsize_t start[4] = {(hsize_t)t, (hsize_t)b->off[0], (hsize_t)b->off[1], (hsize_t)b->off[2]};
        hsize_t count[4] = {1, (hsize_t)b->dim[0], (hsize_t)b->dim[1], (hsize_t)b->dim[2]};
        LAPSE_H5(H5Sselect_hyperslab(*fs, H5S_SELECT_SET, start, NULL, count, NULL));
        LAPSE_H5ID(*ms, H5Screate_simple(4, count, NULL));
    }
cleanup:
    return st;
}

/* --parts: the path of timepoint t's part of output out (out.parts/tNNNNNN.h5) in buf. */
static void part_path(const char *out, int64_t t, char *buf, size_t len)
{
    snprintf(buf, len, "%s.parts/t%06lld.h5", out, (long long)t);
}

/* Reserve the blocks of the existing file path (fallocate(FALLOC_FL_KEEP_SIZE) of its whole
 * size, as lapse's parts; skipped with LAPSE_FALLOCATE=0; a file system without fallocate keeps
 * the file sparse). */
static lapse_status_t part_reserve(const char *path)
{
    lapse_status_t st = LAPSE_OK;
    const char *env = getenv("LAPSE_FALLOCATE");
    struct stat sb;
    int fd = -1;
    if (env && strcmp(env, "0") == 0)
        return LAPSE_OK;
    if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0)
        LAPSE_FAIL(LAPSE_EIO, "cannot open the part %s to reserve its space: %s", path,
                   strerror(errno));
    while (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, sb.st_size) != 0) {
        int err = errno;
        if (err == EINTR)
            continue;
        if (err == EOPNOTSUPP || err == ENOSYS || err == EINVAL)
            break;
        LAPSE_FAIL(LAPSE_EIO, "fallocate of %lld bytes for the part %s failed: %s",
                   (long long)sb.st_size, path, strerror(err));
    }
cleanup:
    if (fd >= 0 && close(fd) != 0 && st == LAPSE_OK)
        st = lapse_fail(LAPSE_EIO, "close of the part %s failed: %s", path, strerror(errno));
    return st;
}

/* --parts: create timepoint t's part of o->out (which must not be open): a serial HDF5 file with
 * /result [1, img] chunked chunk (chunk[0] = 1) of o->otype, allocated early, never filled, as
 * lapse's; then reserve its blocks. */
static lapse_status_t part_create(const opts_t *o, int64_t t, const int64_t img[3],
                                  const hsize_t chunk[4])
{
    lapse_status_t st = LAPSE_OK;
    hid_t fapl = H5I_INVALID_HID, f = H5I_INVALID_HID, space = H5I_INVALID_HID,
          dcpl = H5I_INVALID_HID, d = H5I_INVALID_HID;
    hsize_t dims[4] = {1, (hsize_t)img[0], (hsize_t)img[1], (hsize_t)img[2]};
    char path[4400];
    part_path(o->out, t, path, sizeof path);
    LAPSE_H5ID(fapl, H5Pcreate(H5P_FILE_ACCESS));
    LAPSE_H5(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST)); /* lapse's */
    LAPSE_H5ID(f, H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
    LAPSE_H5ID(space, H5Screate_simple(4, dims, NULL));
    LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    LAPSE_H5(H5Pset_chunk(dcpl, 4, chunk));
    LAPSE_H5(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    LAPSE_H5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
    LAPSE_H5ID(d, H5Dcreate2(f, "/result", o->otype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    LAPSE_H5(H5Dclose(d));
    d = H5I_INVALID_HID;
    LAPSE_H5(H5Fclose(f));
    f = H5I_INVALID_HID;
    LAPSE_TRY(part_reserve(path));
cleanup:
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (f >= 0)
        H5Fclose(f);
    if (fapl >= 0)
        H5Pclose(fapl);
    return st;
}

/* --parts: the part a rank has open (t < 0: none): its HDF5 file and /result (read-only, for the
 * chunks' addresses) and a descriptor for pwrite. */
typedef struct {
    int64_t t;
    hid_t f, d;
    int fd;
    char path[4400];
} part_t;

/* Close p's part if one is open; p then holds none. */
static lapse_status_t part_close(part_t *p)
{
    lapse_status_t st = LAPSE_OK;
    hid_t d = p->d, f = p->f;
    int fd = p->fd;
    p->t = -1;
    p->d = p->f = H5I_INVALID_HID;
    p->fd = -1;
    if (fd >= 0 && close(fd) != 0)
        LAPSE_FAIL(LAPSE_EIO, "close of the part %s failed: %s", p->path, strerror(errno));
    if (d >= 0) {
        LAPSE_H5(H5Dclose(d));
        d = H5I_INVALID_HID;
    }
    if (f >= 0) {
        LAPSE_H5(H5Fclose(f));
        f = H5I_INVALID_HID;
    }
cleanup:
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    return st;
}

/* Make p hold timepoint t's part of out (kept when it already does). */
static lapse_status_t part_open(part_t *p, const char *out, int64_t t)
{
    lapse_status_t st = LAPSE_OK;
    if (p->t == t)
        return LAPSE_OK;
    LAPSE_TRY(part_close(p));
    part_path(out, t, p->path, sizeof p->path);
    LAPSE_H5ID(p->f, H5Fopen(p->path, H5F_ACC_RDONLY, H5P_DEFAULT));
    LAPSE_H5ID(p->d, H5Dopen2(p->f, "/result", H5P_DEFAULT));
    if ((p->fd = open(p->path, O_WRONLY | O_CLOEXEC)) < 0)
        LAPSE_FAIL(LAPSE_EIO, "open of the part %s for writing failed: %s", p->path,
                   strerror(errno));
    p->t = t;
cleanup:
    if (st != LAPSE_OK)
        part_close(p);
    return st;
}

/* pwrite len bytes of mem at offset off of p's descriptor, retrying short writes and EINTR. */
static lapse_status_t part_pwrite(const part_t *p, const char *mem, size_t len, int64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(p->fd, mem, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return lapse_fail(LAPSE_EIO,
                              "pwrite of %zu bytes into the part %s at offset %lld "
                              "failed: %s",
                              len, p->path, (long long)off, n < 0 ? strerror(errno) : "wrote 0");
        mem += n;
        off += n;
        len -= (size_t)n;
    }
    return LAPSE_OK;
}

/* Write the core box (buf: its voxels, C order, es bytes each) into p's /result, chunked chunk
 * (chunk[0] = 1), as lapse does: the address of every chunk the core touches (C order) from
 * H5Dget_chunk_info_by_coord, then one pwrite per run of rows contiguous in both the file and
 * buf. *npw (added to) counts the pwrite runs. */
static lapse_status_t part_write(const part_t *p, const hsize_t chunk[4], const box_t *core,
                                 const void *buf, size_t es, int64_t *npw)
{
    lapse_status_t st = LAPSE_OK;
    int64_t cd[3], cmin[3], cmax[3], c[3], run_off = -1;
    const char *run_mem = NULL;
    size_t run_len = 0;
    for (int a = 0; a < 3; a++) {
        cd[a] = (int64_t)chunk[1 + a];
        cmin[a] = core->off[a] / cd[a];
        cmax[a] = (core->off[a] + core->dim[a] - 1) / cd[a];
        c[a] = cmin[a];
    }
    for (;;) { /* every chunk the core touches, in C order */
        hsize_t off[4] = {0, (hsize_t)(c[0] * cd[0]), (hsize_t)(c[1] * cd[1]),
                          (hsize_t)(c[2] * cd[2])},
                csize = 0;
        unsigned fmask = 0;
        haddr_t addr = HADDR_UNDEF;
        int64_t lo[3], hi[3];
        LAPSE_H5(H5Dget_chunk_info_by_coord(p->d, off, &fmask, &addr, &csize));
        if (addr == HADDR_UNDEF)
            LAPSE_FAIL(LAPSE_ERUNTIME, "the part %s: chunk (%lld, %lld, %lld) not allocated",
                       p->path, (long long)c[0], (long long)c[1], (long long)c[2]);
        for (int a = 0; a < 3; a++) {
            int64_t o0 = (int64_t)off[1 + a], e = core->off[a] + core->dim[a];
            lo[a] = core->off[a] > o0 ? core->off[a] : o0;
            hi[a] = e < o0 + cd[a] ? e : o0 + cd[a];
        }
        for (int64_t z = lo[0]; z < hi[0]; z++) /* every row of the core within this chunk */
            for (int64_t y = lo[1]; y < hi[1]; y++) {
                int64_t fi = ((z - (int64_t)off[1]) * cd[1] + (y - (int64_t)off[2])) * cd[2] +
                             (lo[2] - (int64_t)off[3]),
                        mi = ((z - core->off[0]) * core->dim[1] + (y - core->off[1])) *
                                 core->dim[2] +
                             (lo[2] - core->off[2]);
                int64_t foff = (int64_t)addr + fi * (int64_t)es;
                const char *mem = (const char *)buf + mi * (int64_t)es;
                size_t len = (size_t)(hi[2] - lo[2]) * es;
                if (run_len > 0 && run_off + (int64_t)run_len == foff && run_mem + run_len == mem) {
                    run_len += len;
                    continue;
                }
                if (run_len > 0) {
                    LAPSE_TRY(part_pwrite(p, run_mem, run_len, run_off));
                    (*npw)++;
                }
                run_off = foff, run_mem = mem, run_len = len;
            }
        int a = 2; /* next chunk */
        while (a >= 0 && ++c[a] > cmax[a]) {
            c[a] = cmin[a];
            a--;
        }
        if (a < 0)
            break;
    }
    if (run_len > 0) {
        LAPSE_TRY(part_pwrite(p, run_mem, run_len, run_off));
        (*npw)++;
    }
cleanup:
    return st;
}

static lapse_status_t run(const opts_t *o, int rank, int nranks)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fin = H5I_INVALID_HID, din = H5I_INVALID_HID, fapl = H5I_INVALID_HID,
          fout = H5I_INVALID_HID, dout = H5I_INVALID_HID, ddone = H5I_INVALID_HID,
          dcpl = H5I_INVALID_HID, space = H5I_INVALID_HID, xind = H5I_INVALID_HID,
          xcoll = H5I_INVALID_HID, xdata;
    part_t part = {-1, H5I_INVALID_HID, H5I_INVALID_HID, -1, ""};
    uint16_t *in = NULL;
    void *out = NULL;
    hsize_t dims[4];
    LAPSE_H5ID(fin, H5Fopen(o->in, H5F_ACC_RDONLY, H5P_DEFAULT));
    LAPSE_H5ID(din, H5Dopen2(fin, o->dset, H5P_DEFAULT));
    hid_t is = H5Dget_space(din);
    LAPSE_H5(is);
    if (H5Sget_simple_extent_ndims(is) != 4)
        LAPSE_FAIL(LAPSE_EUSAGE, "%s:%s is not 4-D [t, z, y, x]", o->in, o->dset);
    H5Sget_simple_extent_dims(is, dims, NULL);
    H5Sclose(is);
    int64_t img[3] = {(int64_t)dims[1], (int64_t)dims[2], (int64_t)dims[3]}, tile[3], ng[3];
    int64_t ntp = o->ntp > 0 && o->ntp < (int64_t)dims[0] ? o->ntp : (int64_t)dims[0];
    for (int a = 0; a < 3; a++) {
        tile[a] = o->have_tile && o->tile[a] < img[a] ? o->tile[a] : img[a];
        ng[a] = (img[a] + tile[a] - 1) / tile[a];
    }
    int64_t ntiles = ng[0] * ng[1] * ng[2], ntasks = ntp * ntiles;
    size_t maxread = 1;
    for (int a = 0; a < 3; a++)
        maxread *= (size_t)(tile[a] + 2 * o->halo[a] < img[a] ? tile[a] + 2 * o->halo[a] : img[a]);
    in = malloc(maxread * sizeof *in);
    out = malloc((size_t)(tile[0] * tile[1] * tile[2]) * o->osize);
    LAPSE_ALLOC(in);
    LAPSE_ALLOC(out);

    /* the output, as lapse makes it: chunked [1, tile], early allocation, no fill write */
    double c0 = MPI_Wtime();
    LAPSE_H5ID(fapl, H5Pcreate(H5P_FILE_ACCESS));
    LAPSE_H5(H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL));
    LAPSE_H5(H5Pset_all_coll_metadata_ops(fapl, 1));
    LAPSE_H5(H5Pset_coll_metadata_write(fapl, 1));
    LAPSE_H5(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST));
    if (o->align > 0)
        LAPSE_H5(H5Pset_alignment(fapl, (hsize_t)o->align, (hsize_t)o->align));
    LAPSE_H5ID(fout, H5Fcreate(o->out, H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
    hsize_t odims[4] = {(hsize_t)dims[0], dims[1], dims[2], dims[3]}, chunk[4] = {1, 1, 1, 1};
    for (int a = 0; a < 3; a++)
        chunk[1 + a] =
            (hsize_t)(o->have_chunk ? (o->chunk[a] < img[a] ? o->chunk[a] : img[a]) : tile[a]);
    if (o->parts) /* OUT.h5 holds the done marks only */
        goto done_dset;
    LAPSE_H5ID(space, H5Screate_simple(4, odims, NULL));
    LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    LAPSE_H5(H5Pset_chunk(dcpl, 4, chunk));
    LAPSE_H5(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    if (o->gzip || o->blosc) {
        if (o->gzip)
            LAPSE_H5(H5Pset_deflate(dcpl, (unsigned)o->gzip));
        else
            LAPSE_TRY(lapse_h5blosc_set(dcpl, o->blosc == 2, 5));
        LAPSE_H5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC));
    } else
        LAPSE_H5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
    LAPSE_H5ID(dout, H5Dcreate2(fout, "/result", o->otype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5Sclose(space);
    H5Pclose(dcpl);
done_dset:;
    hsize_t ddims[2] = {(hsize_t)dims[0], (hsize_t)ntiles};
    LAPSE_H5ID(space, H5Screate_simple(2, ddims, NULL));
    LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    LAPSE_H5(H5Pset_layout(dcpl, H5D_CONTIGUOUS));
    LAPSE_H5(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    LAPSE_H5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
    LAPSE_H5ID(ddone,
               H5Dcreate2(fout, "/done", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    LAPSE_H5(H5Fflush(fout, H5F_SCOPE_GLOBAL));
    LAPSE_H5ID(xind, H5Pcreate(H5P_DATASET_XFER));
    LAPSE_H5(H5Pset_dxpl_mpio(xind, H5FD_MPIO_INDEPENDENT));
    LAPSE_H5ID(xcoll, H5Pcreate(H5P_DATASET_XFER));
    LAPSE_H5(H5Pset_dxpl_mpio(xcoll, H5FD_MPIO_COLLECTIVE));
    xdata = o->collective ? xcoll : xind;
    if (o->parts) { /* the parts: the directory (rank 0), then rank r's parts t = r mod N */
        char dir[4200];
        struct stat sb;
        snprintf(dir, sizeof dir, "%s.parts", o->out);
        if (rank == 0 && mkdir(dir, 0755) != 0) {
            int err = errno;
            if (err != EEXIST)
                LAPSE_FAIL(LAPSE_EIO, "cannot create the parts directory %s: %s", dir,
                           strerror(err));
            if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
                LAPSE_FAIL(LAPSE_EIO, "%s exists and is not a directory (for the parts)", dir);
        }
        LAPSE_MPI(MPI_Barrier(MPI_COMM_WORLD));
        for (int64_t t = rank; t < (int64_t)dims[0]; t += nranks)
            LAPSE_TRY(part_create(o, t, img, chunk));
    }
    LAPSE_MPI(MPI_Barrier(MPI_COMM_WORLD));
    double create = MPI_Wtime() - c0;

    /* The output bytes written for every task, made before the loop (the loop is I/O only;
     * lapse makes them on the device): for a compressed output, whose cost depends on them,
     * tile 0 (always a whole tile) of this rank's first timepoint turned into the output dtype
     * (the knob runs are warm, so this read favours nothing); else a constant, so that the cold
     * runs' page cache holds nothing of the input before the loop. */
    if (rank < ntasks && (o->gzip || o->blosc)) {
        box_t core, rd, rel;
        hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
        task_boxes(rank / ntiles * ntiles, ntiles, ng, tile, img, o->halo, &core, &rd, &rel);
        LAPSE_TRY(select4(din, rank / ntiles, &rd, &fs, &ms));
        LAPSE_H5(H5Dread(din, H5T_NATIVE_UINT16, ms, fs, H5P_DEFAULT, in));
        H5Sclose(fs);
        H5Sclose(ms);
        convert(in, rd.dim, &rel, o->osize, out);
    } else {
        memset(out, 1, (size_t)(tile[0] * tile[1] * tile[2]) * o->osize);
    }
    LAPSE_MPI(MPI_Barrier(MPI_COMM_WORLD));
    double t0 = MPI_Wtime(), tr = 0, tw = 0;
    int64_t mine = 0, rbytes = 0, wbytes = 0, npw = 0;
    int io_mode = -1;
    int64_t rounds = (ntasks + nranks - 1) / nranks;
    for (int64_t r = 0; r < rounds; r++) {
        int64_t i = r * nranks + rank;
        int have = i < ntasks;
        if (!have && !o->collective)
            break;
        box_t core, rd, rel;
        int64_t t = have ? i / ntiles : 0;
        hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
        if (have) {
            task_boxes(i, ntiles, ng, tile, img, o->halo, &core, &rd, &rel);
            double a0 = MPI_Wtime();
            LAPSE_TRY(select4(din, t, &rd, &fs, &ms));
            LAPSE_H5(H5Dread(din, H5T_NATIVE_UINT16, ms, fs, H5P_DEFAULT, in));
            H5Sclose(fs);
            H5Sclose(ms);
            fs = ms = H5I_INVALID_HID;
            tr += MPI_Wtime() - a0;
            rbytes += rd.dim[0] * rd.dim[1] * rd.dim[2] * 2;
            mine++;
        }
        double b0 = MPI_Wtime();
        if (o->parts) {
            assert(have); /* parts are never collective (options), so a rank without a task
                             left the loop above */
            LAPSE_TRY(part_open(&part, o->out, t));
            LAPSE_TRY(part_write(&part, chunk, &core, out, o->osize, &npw));
        } else {
            LAPSE_TRY(select4(dout, t, have ? &core : NULL, &fs, &ms));
            LAPSE_H5(H5Dwrite(dout, o->omem, ms, fs, xdata, out));
            H5D_mpio_actual_io_mode_t m;
            if (H5Pget_mpio_actual_io_mode(xdata, &m) >= 0)
                io_mode = (int)m;
            H5Sclose(fs);
            H5Sclose(ms);
        }
        if (o->gzip || o->blosc)
            LAPSE_H5(H5Fflush(fout, H5F_SCOPE_GLOBAL));
        if (have) {
            hsize_t st2[2] = {(hsize_t)t, (hsize_t)(i % ntiles)}, c2[2] = {1, 1};
            unsigned char one = 1;
            LAPSE_H5ID(fs, H5Dget_space(ddone));
            LAPSE_H5(H5Sselect_hyperslab(fs, H5S_SELECT_SET, st2, NULL, c2, NULL));
            LAPSE_H5ID(ms, H5Screate_simple(2, c2, NULL));
            LAPSE_H5(H5Dwrite(ddone, H5T_NATIVE_UINT8, ms, fs, xind, &one));
            H5Sclose(fs);
            H5Sclose(ms);
            wbytes += core.dim[0] * core.dim[1] * core.dim[2] * (int64_t)o->osize;
        }
        tw += MPI_Wtime() - b0;
    }
    if (o->parts) { /* the last part's close is part of the writes */
        double b0 = MPI_Wtime();
        LAPSE_TRY(part_close(&part));
        tw += MPI_Wtime() - b0;
    }
    LAPSE_MPI(MPI_Barrier(MPI_COMM_WORLD));
    double wall = MPI_Wtime() - t0;
    if (o->parts)
        printf("io_floor rank=%d tasks=%lld read=%.4f write=%.4f pwrites=%lld\n", rank,
               (long long)mine, tr, tw, (long long)npw);
    else
        printf("io_floor rank=%d tasks=%lld read=%.4f write=%.4f\n", rank, (long long)mine, tr, tw);
    fflush(stdout);
    int64_t sums[2] = {rbytes, wbytes}, tot[2] = {0, 0};
    LAPSE_MPI(MPI_Reduce(sums, tot, 2, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD));
    static const char *const modes[] = {"no-collective", "chunk-independent", "chunk-collective",
                                        "chunk-mixed", "contiguous-collective"};
    if (rank == 0)
        printf("io_floor ranks=%d tasks=%lld wall=%.4f create=%.4f read_bytes=%lld "
               "write_bytes=%lld read_GBps=%.3f write_GBps=%.3f io_mode=%s writes=%s%s\n",
               nranks, (long long)ntasks, wall, create, (long long)tot[0], (long long)tot[1],
               (double)tot[0] / wall / 1e9, (double)tot[1] / wall / 1e9,
               io_mode >= 0 && io_mode <= 4 ? modes[io_mode] : "none",
               o->collective ? "collective" : "independent", o->parts ? " parts=1" : "");
cleanup:
    part_close(&part);
    free(in);
    free(out);
    if (xind >= 0)
        H5Pclose(xind);
    if (xcoll >= 0)
        H5Pclose(xcoll);
    if (ddone >= 0)
        H5Dclose(ddone);
    if (dout >= 0)
        H5Dclose(dout);
    if (fout >= 0)
        H5Fclose(fout);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (din >= 0)
        H5Dclose(din);
    if (fin >= 0)
        H5Fclose(fin);
    return st;
}

int main(int argc, char **argv)
{
    int rank = 0, nranks = 1;
    opts_t o;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (parse_args(argc, argv, &o) != 0) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -n N io_floor IN.h5 DATASET OUT.h5 [--tile Z,Y,X] "
                            "[--halo Z,Y,X] [--dtype uint8|uint16|float32] [--collective] "
                            "[--chunk Z,Y,X] [--align BYTES] [--gzip LEVEL] [--blosc lz4|zstd] "
                            "[--timepoints T] [--parts]\n");
        MPI_Finalize();
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    lapse_status_t st = run(&o, rank, nranks);
    if (st != LAPSE_OK) {
        fprintf(stderr, "io_floor: rank %d: %s\n", rank, lapse_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Finalize();
    return 0;
}
