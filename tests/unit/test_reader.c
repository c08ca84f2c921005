/*
 * test_reader.c - the input reader (io/reader.h) and its HDF5 backend: probe messages for every
 * kind of unusable file (missing, not HDF5, truncated, missing dataset, bad rank, bad type, a
 * shape beyond int coordinates or 2^60 bytes), box
 * reads compared with values written here with the serial HDF5 API, the choice of backend and
 * the dataset-name check used by the config; external links and virtual dataset sources that are
 * FIFOs, and a virtual dataset that maps onto itself, refused rather than hung or crashed on.
 */
#include <check.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5util.h"
#include "io/input_id.h"
#include "io/reader.h"
#include "testutil.h"

static char dir[512];

static const char *path_in(const char *name)
{
    static char p[8][700];
    static int i = 0;
    i = (i + 1) % 8;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

/* Value of voxel (t, z, y, x) in the test files. */
static double val(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return (double)((t * 7 + z * 5 + y * 3 + x) % 251);
}

/* Write dataset name of rank nd with dims and file type ftype, values from val(). */
static void write_dset(const char *file, const char *name, int nd, const hsize_t *dims, hid_t ftype)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0)
        f = H5Fcreate(file, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hsize_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= dims[i];
    double *v = malloc(n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    hsize_t nz = nd == 4 ? dims[1] : 1, ny = dims[nd - 2], nx = dims[nd - 1];
    for (hsize_t i = 0; i < n; i++) {
        hsize_t x = i % nx, y = (i / nx) % ny, z = (i / nx / ny) % nz, t = i / nx / ny / nz;
        v[i] = nd == 5 ? 1.0 : val((int64_t)t, (int64_t)z, (int64_t)y, (int64_t)x);
    }
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t s = H5Screate_simple(nd, dims, NULL);
    hid_t d = H5Dcreate2(f, name, ftype, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(d);
    H5Sclose(s);
    H5Pclose(lcpl);
    H5Fclose(f);
    free(v);
}

static void setup(void)
{
    const char *d = tu_tmpdir();
    ck_assert_ptr_nonnull(d);
    snprintf(dir, sizeof dir, "%s", d);
    lapse_h5_init();
    lapse_err_clear();
}

static void teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* Probe must fail with LAPSE_EINPUT and a message containing every word in words. */
static void expect_fail(const char *file, const char *dset, const char *const *words)
{
    lapse_input_info_t info;
    lapse_err_clear();
    lapse_status_t st = lapse_reader_probe(file, dset, &info);
    ck_assert_int_eq(st, LAPSE_EINPUT);
    for (int i = 0; words[i]; i++)
        ck_assert_msg(strstr(lapse_errmsg(), words[i]) != NULL, "message '%s' lacks '%s'",
                      lapse_errmsg(), words[i]);
}

/* uint32 reads as float32: exact up to 2^24, rounded above, and no value above 2^24 reads as
 * 2^24 itself (the largest label): 2^24 + 1, a tie that rounds to even, goes up to 2^24 + 2, so
 * that the label steps refuse it rather than merge it with label 2^24. */
START_TEST(uint32_to_float32)
{
    const uint32_t in[7] = {0, 1, 16777215u, 16777216u, 16777217u, 16777219u, 4294967295u};
    float out[7];
    lapse_reader_to_f32(LAPSE_DT_U32, in, out, 7);
    ck_assert_float_eq(out[0], 0.0f);
    ck_assert_float_eq(out[1], 1.0f);
    ck_assert_float_eq(out[2], 16777215.0f);
    ck_assert_float_eq(out[3], 16777216.0f);
    ck_assert_float_eq(out[4], 16777218.0f);
    ck_assert_float_eq(out[5], 16777220.0f);
    ck_assert_float_eq(out[6], 4294967296.0f);
    for (int i = 4; i < 7; i++)
        ck_assert(out[i] > 16777216.0f);
}
END_TEST

START_TEST(probe_good_4d_uint16)
{
    hsize_t dims[4] = {3, 4, 5, 6};
    const char *f = path_in("a.h5");
    write_dset(f, "/raw", 4, dims, H5T_STD_U16BE);
    lapse_input_info_t info;
    ck_assert_int_eq(lapse_reader_probe(f, "/raw", &info), LAPSE_OK);
    ck_assert_int_eq(info.ndims, 4);
    ck_assert_int_eq(info.ntp, 3);
    ck_assert_int_eq(info.shape[0], 4);
    ck_assert_int_eq(info.shape[1], 5);
    ck_assert_int_eq(info.shape[2], 6);
    ck_assert_int_eq(info.dtype, LAPSE_DT_U16);
}
END_TEST

START_TEST(probe_good_3d_uint8_and_f32)
{
    hsize_t dims[3] = {2, 7, 9};
    const char *f = path_in("b.h5");
    write_dset(f, "/g/u8", 3, dims, H5T_STD_U8LE);
    write_dset(f, "/g/f32", 3, dims, H5T_IEEE_F32LE);
    lapse_input_info_t info;
    ck_assert_int_eq(lapse_reader_probe(f, "/g/u8", &info), LAPSE_OK);
    ck_assert_int_eq(info.ndims, 3);
    ck_assert_int_eq(info.ntp, 2);
    ck_assert_int_eq(info.shape[0], 1);
    ck_assert_int_eq(info.shape[1], 7);
    ck_assert_int_eq(info.shape[2], 9);
    ck_assert_int_eq(info.dtype, LAPSE_DT_U8);
    ck_assert_int_eq(lapse_reader_probe(f, "g/f32", &info), LAPSE_OK);
    ck_assert_int_eq(info.dtype, LAPSE_DT_F32);
}
END_TEST

START_TEST(probe_missing_file)
{
    const char *w[] = {"no such file", NULL};
    expect_fail(path_in("nope.h5"), "/raw", w);
}
END_TEST

START_TEST(probe_text_file)
{
    const char *f = path_in("text.h5");
    FILE *fp = fopen(f, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("this is not an HDF5 file\n", fp);
    fclose(fp);
    const char *w[] = {"not an HDF5 file", NULL};
    expect_fail(f, "/raw", w);
}
END_TEST

START_TEST(probe_truncated_file)
{
    hsize_t dims[4] = {4, 8, 16, 16};
    const char *f = path_in("full.h5"), *t = path_in("trunc.h5");
    write_dset(f, "/raw", 4, dims, H5T_STD_U16LE);
    FILE *in = fopen(f, "rb"), *out = fopen(t, "wb");
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    char *buf = malloc((size_t)size);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)size, in), (size_t)size);
    fwrite(buf, 1, (size_t)size / 2, out);
    fclose(in);
    fclose(out);
    free(buf);
    const char *w[] = {"trunc.h5", "truncated", NULL};
    expect_fail(t, "/raw", w);
}
END_TEST

START_TEST(probe_missing_dataset_lists_present)
{
    hsize_t dims[3] = {2, 3, 3};
    const char *f = path_in("c.h5");
    write_dset(f, "/one", 3, dims, H5T_STD_U8LE);
    write_dset(f, "/grp/two", 3, dims, H5T_STD_U8LE);
    const char *w[] = {"/raw", "not found", "/one", "/grp/two", NULL};
    expect_fail(f, "/raw", w);
    const char *w2[] = {"/grp/nothing", "not found", NULL};
    expect_fail(f, "/grp/nothing", w2);
    const char *w3[] = {"/grp", "group", NULL};
    expect_fail(f, "/grp", w3);
}
END_TEST

START_TEST(probe_wrong_rank)
{
    hsize_t dims5[5] = {2, 2, 2, 2, 2}, dims6[6] = {2, 2, 2, 2, 2, 2}, dims2[2] = {4, 4};
    const char *f = path_in("d.h5");
    write_dset(f, "/five", 5, dims5, H5T_STD_U8LE);
    write_dset(f, "/six", 6, dims6, H5T_STD_U8LE);
    write_dset(f, "/two", 2, dims2, H5T_STD_U8LE);
    const char *w[] = {"6 dimensions", NULL};
    expect_fail(f, "/six", w);
    const char *w5[] = {"[t,c,z,y,x]", "2 channels", "input.channel", NULL};
    expect_fail(f, "/five", w5); /* a channel axis needs input.channel */
    const char *w2[] = {"2 dimensions", NULL};
    expect_fail(f, "/two", w2);
}
END_TEST

START_TEST(probe_unsupported_types)
{
    hsize_t dims[3] = {2, 3, 3};
    const char *f = path_in("e.h5");
    write_dset(f, "/i32", 3, dims, H5T_STD_I32LE);
    write_dset(f, "/u64", 3, dims, H5T_STD_U64LE);
    write_dset(f, "/i8", 3, dims, H5T_STD_I8LE);
    const char *w[] = {"int32", "not supported", NULL};
    expect_fail(f, "/i32", w);
    const char *w2[] = {"uint64", "not supported", NULL};
    expect_fail(f, "/u64", w2);
    const char *w3[] = {"int8", "not supported", NULL};
    expect_fail(f, "/i8", w3);
}
END_TEST

/* Read a box with each dtype and compare voxel by voxel with val(). */
START_TEST(read_boxes)
{
    hsize_t d4[4] = {3, 6, 10, 12}, d3[3] = {3, 10, 12};
    const char *f = path_in("r.h5");
    write_dset(f, "/u16", 4, d4, H5T_STD_U16BE);
    write_dset(f, "/f32", 4, d4, H5T_IEEE_F32LE);
    write_dset(f, "/u8", 3, d3, H5T_STD_U8LE);
    const char *names[3] = {"/u16", "/f32", "/u8"};
    for (int k = 0; k < 3; k++) {
        lapse_reader_t *in = NULL;
        ck_assert_int_eq(lapse_reader_open(f, names[k], &in), LAPSE_OK);
        const lapse_input_info_t *info = lapse_reader_info(in);
        lapse_box_t box = {{1, 2, 3}, {4, 5, 7}};
        if (info->ndims == 3)
            box = (lapse_box_t){{0, 2, 3}, {1, 5, 7}};
        float buf[4 * 5 * 7];
        ck_assert_int_eq(lapse_reader_read(in, 2, &box, buf), LAPSE_OK);
        for (int64_t z = 0; z < box.dim[0]; z++)
            for (int64_t y = 0; y < box.dim[1]; y++)
                for (int64_t x = 0; x < box.dim[2]; x++) {
                    int64_t i = (z * box.dim[1] + y) * box.dim[2] + x;
                    double got = info->dtype == LAPSE_DT_U16  ? ((uint16_t *)buf)[i]
                                 : info->dtype == LAPSE_DT_U8 ? ((uint8_t *)buf)[i]
                                                              : buf[i];
                    double want = val(2, info->ndims == 4 ? box.off[0] + z : 0, box.off[1] + y,
                                      box.off[2] + x);
                    ck_assert_msg(got == want, "%s at %lld: %g != %g", names[k], (long long)i, got,
                                  want);
                }
        /* Out of range boxes and timepoints are refused, not read. */
        lapse_box_t bad = box;
        bad.dim[2] = 100;
        ck_assert_int_ne(lapse_reader_read(in, 2, &bad, buf), LAPSE_OK);
        ck_assert_int_ne(lapse_reader_read(in, 3, &box, buf), LAPSE_OK);
        ck_assert_ptr_eq(lapse_reader_backend(in), &lapse_reader_hdf5);
        lapse_reader_close(in);
    }
    lapse_reader_close(NULL);
}
END_TEST

/* A timepoint's input sum (io/input_id.h) put together from boxes already read equals the one
 * read through the reader, for 4-D uint16 and float and 3-D uint8 inputs: from one box that
 * holds the whole sample, and from four overlapping quadrants (tiles with halos, the image's
 * centre at their corner); a box that holds only part of it gives none until the rest came. */
START_TEST(input_sum_from_boxes_read)
{
    hsize_t d4[4] = {2, 5, 80, 100}, d3[3] = {2, 80, 100};
    const char *f = path_in("sums.h5");
    write_dset(f, "/u16", 4, d4, H5T_STD_U16LE);
    write_dset(f, "/f32", 4, d4, H5T_IEEE_F32LE);
    write_dset(f, "/u8", 3, d3, H5T_STD_U8LE);
    const char *names[3] = {"/u16", "/f32", "/u8"};
    static float buf[5 * 80 * 100];
    for (int k = 0; k < 3; k++) {
        lapse_reader_t *in = NULL;
        ck_assert_int_eq(lapse_reader_open(f, names[k], &in), LAPSE_OK);
        const lapse_input_info_t *info = lapse_reader_info(in);
        const int64_t t = 1, nz = info->ndims == 4 ? 5 : 1;
        uint64_t want = 0, got = 0, other = 0;
        ck_assert_int_eq(lapse_input_tp_sums(in, info, &t, 1, &want), LAPSE_OK);
        const int64_t t0 = 0; /* another timepoint's values give another sum */
        ck_assert_int_eq(lapse_input_tp_sums(in, info, &t0, 1, &other), LAPSE_OK);
        ck_assert_uint_ne(other, want);
        /* the sample: the middle plane, rows 8-71, columns 18-81 */
        lapse_sample_t s = {0};
        lapse_box_t box = {{0, 4, 10}, {nz, 74, 88}};
        ck_assert_int_eq(lapse_reader_read(in, t, &box, buf), LAPSE_OK);
        ck_assert_int_eq(lapse_input_sample_take(&s, info, &box, buf, &got), 1);
        ck_assert_msg(got == want, "%s: %llx from the box, %llx read", names[k],
                      (unsigned long long)got, (unsigned long long)want);
        ck_assert_ptr_null(s.buf);
        /* quadrants split at row 40 and column 50, each with a halo of 3 */
        got = 0;
        for (int q = 0; q < 4; q++) {
            const int64_t y0 = q / 2 ? 37 : 0, y1 = q / 2 ? 80 : 43;
            const int64_t x0 = q % 2 ? 47 : 0, x1 = q % 2 ? 100 : 53;
            lapse_box_t b = {{0, y0, x0}, {nz, y1 - y0, x1 - x0}};
            ck_assert_int_eq(lapse_reader_read(in, t, &b, buf), LAPSE_OK);
            ck_assert_int_eq(lapse_input_sample_take(&s, info, &b, buf, &got), q == 3);
        }
        ck_assert_msg(got == want, "%s: %llx from the quadrants, %llx read", names[k],
                      (unsigned long long)got, (unsigned long long)want);
        /* a box without column 18: none, until a box with it comes */
        box.off[2] = 19;
        box.dim[2] = 81;
        ck_assert_int_eq(lapse_reader_read(in, t, &box, buf), LAPSE_OK);
        ck_assert_int_eq(lapse_input_sample_take(&s, info, &box, buf, &got), 0);
        lapse_box_t col = {{0, 0, 18}, {nz, 80, 1}};
        ck_assert_int_eq(lapse_reader_read(in, t, &col, buf), LAPSE_OK);
        ck_assert_int_eq(lapse_input_sample_take(&s, info, &col, buf, &got), 1);
        ck_assert_uint_eq(got, want);
        lapse_input_sample_free(&s);
        lapse_reader_close(in);
    }
}
END_TEST

/* A gzip input whose chunks are whole planes, larger than the tiles (the chunk cache of
 * filtered inputs, reader_h5.c cache_filtered): tile boxes of two timepoints read in an
 * interleaved order give the file's values, with the cache (default, and a budget below one
 * timepoint's chunks) and without it (LAPSE_H5_INPUT_CACHE=1: HDF5's own). */
START_TEST(read_compressed_tiles)
{
    const hsize_t dims[4] = {3, 8, 256, 512}, chunk[4] = {1, 4, 256, 512};
    const char *f = path_in("gz.h5");
    hid_t fid = H5Fcreate(f, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(fid, 0);
    uint16_t *v = malloc(dims[0] * dims[1] * dims[2] * dims[3] * sizeof *v);
    ck_assert_ptr_nonnull(v);
    size_t i = 0;
    for (hsize_t t = 0; t < dims[0]; t++)
        for (hsize_t z = 0; z < dims[1]; z++)
            for (hsize_t y = 0; y < dims[2]; y++)
                for (hsize_t x = 0; x < dims[3]; x++)
                    v[i++] = (uint16_t)val((int64_t)t, (int64_t)z, (int64_t)y, (int64_t)x);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), sp = H5Screate_simple(4, dims, NULL);
    ck_assert_int_ge(H5Pset_chunk(dcpl, 4, chunk), 0);
    ck_assert_int_ge(H5Pset_deflate(dcpl, 1), 0);
    hid_t d = H5Dcreate2(fid, "/raw", H5T_STD_U16LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Pclose(dcpl);
    H5Fclose(fid);
    free(v);
    const char *budgets[3] = {NULL, "1500000", "1"}; /* default, less than 2 chunks, none */
    const double cache[3] = {2.0 * 1048576.0, 1500000.0, 0};
    const lapse_box_t boxes[4] = {{{0, 0, 0}, {5, 130, 260}},
                                  {{0, 126, 252}, {5, 130, 260}},
                                  {{3, 0, 252}, {5, 130, 260}},
                                  {{3, 126, 0}, {5, 130, 260}}};
    uint16_t *buf = malloc(5 * 130 * 260 * sizeof *buf);
    ck_assert_ptr_nonnull(buf);
    for (int b = 0; b < 3; b++) {
        if (budgets[b])
            setenv("LAPSE_H5_INPUT_CACHE", budgets[b], 1);
        else
            unsetenv("LAPSE_H5_INPUT_CACHE");
        lapse_reader_t *in = NULL;
        lapse_input_info_t pi;
        ck_assert_int_eq(lapse_reader_probe(f, "/raw", &pi), LAPSE_OK);
        ck_assert_int_eq(lapse_reader_open(f, "/raw", &in), LAPSE_OK);
        /* the cache each budget gives (2 chunks of 1 MiB, 1500000 bytes, none), as the probe
         * says it for lapse plan */
        ck_assert(lapse_reader_info(in)->chunk_cache_bytes == cache[b]);
        ck_assert(pi.chunk_cache_bytes == cache[b]);
        for (int k = 0; k < 8; k++) { /* t = 1, 2, 1, 2, ...: each timepoint's chunks again */
            const int64_t t = 1 + k % 2;
            const lapse_box_t *bx = &boxes[k / 2];
            ck_assert_int_eq(lapse_reader_read(in, t, bx, buf), LAPSE_OK);
            int64_t bad = -1; /* the first wrong voxel (one assertion: Check's are slow) */
            for (int64_t j = 0; bad < 0 && j < bx->dim[0] * bx->dim[1] * bx->dim[2]; j++) {
                const int64_t x = j % bx->dim[2], y = j / bx->dim[2] % bx->dim[1],
                              z = j / bx->dim[2] / bx->dim[1];
                if (buf[j] != val(t, bx->off[0] + z, bx->off[1] + y, bx->off[2] + x))
                    bad = j;
            }
            ck_assert_msg(bad < 0, "budget %s, t=%lld, box %d: wrong value at %lld",
                          budgets[b] ? budgets[b] : "default", (long long)t, k / 2, (long long)bad);
        }
        lapse_reader_close(in);
    }
    unsetenv("LAPSE_H5_INPUT_CACHE");
    free(buf);
}
END_TEST

/* This process's resident memory in bytes (/proc/self/statm), -1 when unknown. */
static double resident_bytes(void)
{
    long pages = -1, rss = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss < 0 ? -1 : (double)rss * (double)sysconf(_SC_PAGESIZE);
}

/* A gzip input of 1-byte chunks (none written: the file is a few KiB), 2 MiB a timepoint: the
 * chunk cache of filtered inputs (reader_h5.c cache_filtered) holds 2 MiB of chunks, and its
 * hash table must stay of that order. With 10 slots per chunk that fits, HDF5 allocated and
 * zeroed 21 million slots, 168 MB, at the open (and 2.7e9 slots, 21 GiB, for 1-byte chunks
 * filling the default 256 MiB). The open may grow the process by far less; the fill value
 * reads back. */
START_TEST(read_compressed_tiny_chunks)
{
    const hsize_t dims[4] = {2, 1, 1024, 2048}, chunk[4] = {1, 1, 1, 1};
    const char *f = path_in("tiny.h5");
    hid_t fid = H5Fcreate(f, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(fid, 0);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), sp = H5Screate_simple(4, dims, NULL);
    ck_assert_int_ge(H5Pset_chunk(dcpl, 4, chunk), 0);
    ck_assert_int_ge(H5Pset_deflate(dcpl, 1), 0);
    hid_t d = H5Dcreate2(fid, "/raw", H5T_STD_U8LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Pclose(dcpl);
    H5Fclose(fid);
    unsetenv("LAPSE_H5_INPUT_CACHE");
    lapse_reader_t *in = NULL;
    const double before = resident_bytes();
    ck_assert_int_eq(lapse_reader_open(f, "/raw", &in), LAPSE_OK);
    const double after = resident_bytes();
    ck_assert(lapse_reader_info(in)->chunk_cache_bytes == 2.0 * 1048576.0);
    if (before >= 0 && after >= 0)
        ck_assert_msg(after - before < 32.0 * 1048576.0,
                      "the open of a 2 MiB chunk cache grew the process by %.0f MiB",
                      (after - before) / 1048576.0);
    const lapse_box_t box = {{0, 500, 1000}, {1, 16, 16}};
    uint8_t buf[256];
    memset(buf, 1, sizeof buf);
    ck_assert_int_eq(lapse_reader_read(in, 1, &box, buf), LAPSE_OK);
    for (int j = 0; j < 256; j++)
        ck_assert_int_eq(buf[j], 0);
    lapse_reader_close(in);
}
END_TEST

/* A failed open leaves *out alone; the compatibility names still work. */
START_TEST(open_failure_leaves_out)
{
    lapse_reader_t *in = (lapse_reader_t *)&in;
    ck_assert_int_eq(lapse_reader_open(path_in("none.h5"), "/raw", &in), LAPSE_EINPUT);
    ck_assert_ptr_eq(in, (lapse_reader_t *)&in);
    ck_assert_msg(strstr(lapse_errmsg(), "no such file") != NULL, "%s", lapse_errmsg());
}
END_TEST

/* The backend is chosen by suffix, else by content, else the default (HDF5). */
START_TEST(backend_choice)
{
    ck_assert_ptr_eq(lapse_reader_backend_for_name("a/b.H5"), &lapse_reader_hdf5);
    ck_assert_ptr_eq(lapse_reader_backend_for_name("b.hdf5"), &lapse_reader_hdf5);
    ck_assert_ptr_eq(lapse_reader_backend_for_name("b.tif"), &lapse_reader_tiff);
    ck_assert_ptr_eq(lapse_reader_backend_for_name("b.raw"), &lapse_reader_hdf5); /* default */
    ck_assert_ptr_eq(lapse_reader_backend_for_name(NULL), &lapse_reader_hdf5);
    ck_assert_str_eq(lapse_reader_hdf5.name, "hdf5");
    ck_assert_int_eq(lapse_reader_hdf5.thread_safe, 0);
    /* An HDF5 file without an HDF5 suffix is found by its content. */
    hsize_t dims[3] = {2, 3, 4};
    const char *f = path_in("noext.data");
    write_dset(f, "/raw", 3, dims, H5T_STD_U8LE);
    ck_assert_int_eq(lapse_reader_hdf5.sniff(f), 1);
    ck_assert_int_eq(lapse_reader_hdf5.sniff(path_in("absent")), 0);
    lapse_input_info_t info;
    ck_assert_int_eq(lapse_reader_probe(f, "/raw", &info), LAPSE_OK);
    ck_assert_int_eq(info.ntp, 2);
}
END_TEST

/* A virtual dataset /name of [2, 2, 3, 3] uint8 in file whose whole extent maps onto dataset
 * src of file srcfile ("." for the same file). */
static void write_vds(const char *file, const char *name, const char *srcfile, const char *src)
{
    hsize_t dims[4] = {2, 2, 3, 3};
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t s = H5Screate_simple(4, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert_int_ge(H5Pset_virtual(dcpl, s, srcfile, src, s), 0);
    hid_t d = H5Dcreate2(f, name, H5T_STD_U8LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(s);
    H5Fclose(f);
}

/* Open file:dset and read the box of timepoint 0: LAPSE_EREAD with every word in words. */
static void expect_read_fail(const char *file, const char *dset, const char *const *words)
{
    lapse_reader_t *r = NULL;
    unsigned char buf[2 * 3 * 3];
    lapse_box_t box = {{0, 0, 0}, {2, 3, 3}};
    lapse_err_clear();
    ck_assert_msg(lapse_reader_open(file, dset, &r) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_int_eq(lapse_reader_read(r, 0, &box, buf), LAPSE_EREAD);
    for (int i = 0; words[i]; i++)
        ck_assert_msg(strstr(lapse_errmsg(), words[i]) != NULL, "message '%s' lacks '%s'",
                      lapse_errmsg(), words[i]);
    lapse_reader_close(r);
}

/* Links that HDF5 would follow into a hang or a crash: an external link and a virtual dataset's
 * source that are a FIFO (HDF5 would wait on it for ever) are refused; a virtual dataset that
 * maps onto itself (H5Dread would recurse until the stack overflows) fails its read. An
 * external link to a regular file still reads. */
START_TEST(links_to_fifos_and_loops)
{
    hsize_t dims[4] = {2, 2, 3, 3};
    const char *f = path_in("links.h5"), *fifo = path_in("fifo.h5"), *src = path_in("src.h5");
    lapse_input_info_t info;
    write_dset(src, "/raw", 4, dims, H5T_STD_U8LE);
    write_dset(f, "/raw", 4, dims, H5T_STD_U8LE);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    hid_t h = H5Fopen(f, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(h, 0);
    ck_assert_int_ge(H5Lcreate_external(fifo, "/raw", h, "/to_fifo", H5P_DEFAULT, H5P_DEFAULT), 0);
    ck_assert_int_ge(H5Lcreate_external(src, "/raw", h, "/to_src", H5P_DEFAULT, H5P_DEFAULT), 0);
    H5Fclose(h);
    write_vds(f, "/loop", ".", "/loop");
    write_vds(f, "/vfifo", fifo, "/raw");
    expect_fail(f, "/to_fifo", (const char *[]){"/to_fifo", "fifo.h5", "not a regular file", NULL});
    ck_assert_msg(lapse_reader_probe(f, "/to_src", &info) == LAPSE_OK, "%s", lapse_errmsg());
    expect_read_fail(f, "/loop", (const char *[]){"/loop", "virtual dataset", "itself", NULL});
    expect_read_fail(f, "/vfifo",
                     (const char *[]){"/vfifo", "fifo.h5", "not a regular file", NULL});
}
END_TEST

/* Open file:dset and read timepoint t's whole [2, 3, 3] box: it holds val()'s values. */
static void expect_read_ok(const char *file, const char *dset, int64_t t)
{
    lapse_reader_t *r = NULL;
    unsigned char buf[2 * 3 * 3];
    lapse_box_t box = {{0, 0, 0}, {2, 3, 3}};
    lapse_err_clear();
    ck_assert_msg(lapse_reader_open(file, dset, &r) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_msg(lapse_reader_read(r, t, &box, buf) == LAPSE_OK, "%s", lapse_errmsg());
    for (int i = 0; i < 18; i++)
        ck_assert_int_eq(buf[i], (int)val(t, i / 9, i / 3 % 3, i % 3));
    lapse_reader_close(r);
}

/* Chains of virtual datasets across files: one that comes back to its start (a:/cycle ->
 * b:/back -> a:/cycle; H5Dread recursed until the stack overflowed) and one of more than 8
 * virtual datasets fail their read, naming the chain; a chain of three without a loop
 * (a -> b -> b -> a plain source) reads the source's values. */
START_TEST(virtual_chains)
{
    hsize_t dims[4] = {2, 2, 3, 3};
    const char *a = path_in("chain_a.h5"), *b = path_in("chain_b.h5"),
               *src = path_in("chain_src.h5");
    write_dset(src, "/raw", 4, dims, H5T_STD_U8LE);
    write_dset(a, "/raw", 4, dims, H5T_STD_U8LE);
    write_dset(b, "/raw", 4, dims, H5T_STD_U8LE);
    write_vds(a, "/cycle", b, "/back");
    write_vds(b, "/back", a, "/cycle");
    expect_read_fail(
        a, "/cycle",
        (const char *[]){"/cycle", "timepoint 0 ", "chain_a.h5", "leads back", "itself", NULL});
    expect_read_fail(b, "/back", (const char *[]){"/back", "leads back", "itself", NULL});
    write_vds(b, "/mid2", src, "/raw");
    write_vds(b, "/mid", ".", "/mid2");
    write_vds(a, "/top", b, "/mid");
    expect_read_ok(a, "/top", 1);
    /* /d0 -> /d1 -> ... -> /d8 -> src:/raw: nine virtual datasets */
    write_vds(a, "/d8", src, "/raw");
    for (int k = 7; k >= 0; k--) {
        char name[8], next[8];
        snprintf(name, sizeof name, "/d%d", k);
        snprintf(next, sizeof next, "/d%d", k + 1);
        write_vds(a, name, ".", next);
    }
    expect_read_ok(a, "/d1", 0); /* eight: read */
    expect_read_fail(a, "/d0", (const char *[]){"/d0", "more than 8", NULL});
}
END_TEST

/* HDF5 opens a virtual dataset's source at the first place it looks that opens as HDF5
 * (HDF5_VDS_PREFIX's directories, then the virtual dataset's directory, then the working one):
 * a FIFO under HDF5_VDS_PREFIX is opened, and waited on for ever, before the regular file beside
 * the virtual dataset (the check passed on that file before). */
START_TEST(virtual_source_search_order)
{
    hsize_t dims[4] = {2, 2, 3, 3};
    const char *f = path_in("ord.h5"), *pfx = path_in("pfx"), *fifo = path_in("pfx/ord_src.h5");
    write_dset(path_in("ord_src.h5"), "/raw", 4, dims, H5T_STD_U8LE);
    write_dset(f, "/pad", 4, dims, H5T_STD_U8LE);
    write_vds(f, "/v", "ord_src.h5", "/raw");
    ck_assert_int_eq(mkdir(pfx, 0700), 0);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(setenv("HDF5_VDS_PREFIX", pfx, 1), 0);
    expect_read_fail(f, "/v", (const char *[]){"/v", "pfx/ord_src.h5", "not a regular", NULL});
    ck_assert_int_eq(unlink(fifo), 0);
    expect_read_ok(f, "/v", 1); /* nothing under the prefix: the file beside it */
    ck_assert_int_eq(unsetenv("HDF5_VDS_PREFIX"), 0);
}
END_TEST

/* A virtual dataset /v of [1, 2, 3, 3] uint8 in file, printf-style: block b of its unlimited
 * time axis is dataset "/w%b" of the same file; /w0 maps onto dataset back of the file. */
static void write_printf_vds(const char *file, const char *back)
{
    hsize_t blk[4] = {1, 2, 3, 3}, vmax[4] = {H5S_UNLIMITED, 2, 3, 3}, start[4] = {0};
    hsize_t stride[4] = {1, 1, 1, 1}, count[4] = {H5S_UNLIMITED, 1, 1, 1};
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t vs = H5Screate_simple(4, blk, vmax), ss = H5Screate_simple(4, blk, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), dcpl0 = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert_int_ge(H5Sselect_hyperslab(vs, H5S_SELECT_SET, start, stride, count, blk), 0);
    ck_assert_int_ge(H5Pset_virtual(dcpl, vs, ".", "/w%b", ss), 0);
    ck_assert_int_ge(H5Pset_virtual(dcpl0, ss, ".", back, ss), 0);
    hid_t d = H5Dcreate2(f, "/v", H5T_STD_U8LE, vs, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    hid_t d0 = H5Dcreate2(f, "/w0", H5T_STD_U8LE, ss, H5P_DEFAULT, dcpl0, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    ck_assert_int_ge(d0, 0);
    H5Dclose(d0);
    H5Dclose(d);
    H5Pclose(dcpl0);
    H5Pclose(dcpl);
    H5Sclose(ss);
    H5Sclose(vs);
    H5Fclose(f);
}

/* Source names are patterns ("%b" a block number, "%%" a '%'): a chain that comes back to
 * itself through a dataset whose name holds a '%' (a:/x%y -> b:/back -> a:"/x%%y") or through
 * a printf-style mapping (/v -> /w%b, /w0 -> /v) was not checked and crashed H5Dread with a
 * stack overflow; such chains without a loop read. */
START_TEST(virtual_name_patterns)
{
    hsize_t dims[4] = {2, 2, 3, 3}, one[4] = {1, 2, 3, 3};
    const char *a = path_in("pct_a.h5"), *b = path_in("pct_b.h5"), *p = path_in("printf.h5"),
               *q = path_in("printf_ok.h5");
    write_dset(a, "/raw", 4, dims, H5T_STD_U8LE);
    write_dset(b, "/raw", 4, dims, H5T_STD_U8LE);
    write_vds(a, "/x%y", b, "/back");
    write_vds(b, "/back", a, "/x%%y");
    expect_read_fail(a, "/x%y", (const char *[]){"/x%y", "leads back", NULL});
    write_vds(b, "/ok", a, "/r%%aw");
    write_dset(a, "/r%aw", 4, dims, H5T_STD_U8LE);
    expect_read_ok(b, "/ok", 1);
    write_dset(p, "/pad", 4, dims, H5T_STD_U8LE);
    write_printf_vds(p, "/v");
    expect_read_fail(p, "/v", (const char *[]){"/v", "leads back", NULL});
    write_dset(q, "/raw0", 4, one, H5T_STD_U8LE);
    write_printf_vds(q, "/raw0");
    expect_read_ok(q, "/v", 0);
}
END_TEST

/* A virtual dataset reached through an external link: its "." sources are those of the file the
 * link leads to. It read as "object doesn't exist" before (the dataset was reopened by its name
 * inside the target file, in the linking file), and a loop inside the target file was looked
 * for in the linking file (review session). */
START_TEST(virtual_through_external_link)
{
    hsize_t dims[4] = {2, 2, 3, 3};
    const char *m = path_in("master.h5"), *v = path_in("vtarget.h5");
    write_dset(v, "/data", 4, dims, H5T_STD_U8LE);
    write_vds(v, "/v", ".", "/data");
    write_vds(v, "/w", ".", "/loop2");
    write_vds(v, "/loop2", ".", "/w");
    write_dset(m, "/w", 4, dims, H5T_STD_U8LE); /* a plain /w in the linking file */
    hid_t h = H5Fopen(m, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(h, 0);
    ck_assert_int_ge(H5Lcreate_external(v, "/v", h, "/lnk", H5P_DEFAULT, H5P_DEFAULT), 0);
    ck_assert_int_ge(H5Lcreate_external(v, "/w", h, "/lnkloop", H5P_DEFAULT, H5P_DEFAULT), 0);
    H5Fclose(h);
    expect_read_ok(m, "/lnk", 1);
    expect_read_fail(m, "/lnkloop", (const char *[]){"/lnkloop", "leads back", NULL});
}
END_TEST

/* A dataset of [2, 2, 3, 3] uint8 whose raw data is in the external file raw (H5Pset_external,
 * size bytes from offset 0). */
static void write_external(const char *file, const char *name, const char *raw, hsize_t size)
{
    hsize_t dims[4] = {2, 2, 3, 3};
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0)
        f = H5Fcreate(file, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t s = H5Screate_simple(4, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert_int_ge(H5Pset_external(dcpl, raw, 0, size), 0);
    hid_t d = H5Dcreate2(f, name, H5T_STD_U8LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(s);
    H5Fclose(f);
}

/* External raw storage (H5Pset_external) names any file: a FIFO (HDF5 would wait on it for
 * ever), a file shorter than the data (HDF5 reads zeros past its end) and a missing file are
 * refused at the probe; a complete external file reads. */
START_TEST(external_raw_storage)
{
    const char *f = path_in("ext.h5"), *raw = path_in("ext.raw"), *fifo = path_in("ext.fifo"),
               *shortf = path_in("short.raw");
    unsigned char v[36];
    for (int i = 0; i < 36; i++)
        v[i] = (unsigned char)val(i / 18, i / 9 % 2, i / 3 % 3, i % 3);
    FILE *fp = fopen(raw, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fwrite(v, 1, 36, fp), 36);
    fclose(fp);
    fp = fopen(shortf, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fwrite(v, 1, 10, fp), 10);
    fclose(fp);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    write_external(f, "/good", raw, 36);
    write_external(f, "/fifo", fifo, 36);
    write_external(f, "/short", shortf, 36);
    write_external(f, "/missing", "no_such_lapse_file.raw", 36);
    expect_read_ok(f, "/good", 1);
    expect_fail(f, "/fifo", (const char *[]){"/fifo", "ext.fifo", "not a regular file", NULL});
    expect_fail(f, "/short", (const char *[]){"/short", "short.raw", "only 10 bytes", NULL});
    expect_fail(f, "/missing",
                (const char *[]){"/missing", "no_such_lapse_file.raw", "missing", NULL});
    /* a name longer than any path (H5Pget_external strncpy's it unterminated into 4096 bytes) */
    char *longname = malloc(5001);
    ck_assert_ptr_nonnull(longname);
    memset(longname, 'a', 5000);
    longname[5000] = '\0';
    write_external(f, "/long", longname, 36);
    free(longname);
    expect_fail(f, "/long", (const char *[]){"/long", "4095 characters or more", NULL});
}
END_TEST

/* input.dataset syntax for HDF5: absolute, no empty component (config.c reports these). */
START_TEST(check_dataset)
{
    char err[128];
    ck_assert_int_eq(lapse_reader_check_dataset("in.h5", "/raw", err, sizeof err), 0);
    ck_assert_int_eq(lapse_reader_check_dataset("in.h5", "/a/b", err, sizeof err), 0);
    ck_assert_int_eq(lapse_reader_check_dataset("in.h5", "raw", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "must be absolute") && strstr(err, "'raw'"), "%s", err);
    ck_assert_int_eq(lapse_reader_check_dataset("in.h5", "/", err, sizeof err), -1);
    ck_assert_int_eq(lapse_reader_check_dataset("in.h5", "/a//b", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "empty component") != NULL, "%s", err);
    ck_assert_int_eq(lapse_reader_check_dataset(NULL, "/a/", err, sizeof err), -1);
    ck_assert_int_eq(lapse_reader_check_dataset("in.h5", NULL, err, sizeof err), -1);
}
END_TEST

/* A chunked dataset of dims (no chunk written: a few bytes whatever the size claimed). */
static void write_empty_chunked(const char *file, const char *name, const hsize_t dims[4])
{
    hid_t f = H5Fcreate(file, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hsize_t chunk[4] = {1, 1, 16, 16};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert_int_ge(H5Pset_chunk(dcpl, 4, chunk), 0);
    hid_t s = H5Screate_simple(4, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_STD_U16LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    H5Sclose(s);
    H5Pclose(dcpl);
    H5Fclose(f);
}

/* A shape beyond int coordinates or 2^60 bytes is refused at the probe and the open (exit 2),
 * before any size is computed from it; it used to overflow the voxel counts (a run with
 * LAPSE_SPACE_CHECK=0 failed in lapse_pipeline_create with "0 core voxels", exit 1). */
START_TEST(probe_huge_shape)
{
    const hsize_t axis[4] = {2, (hsize_t)1 << 40, 16, 16},
                  bytes[4] = {2, 1 << 20, 1 << 20, 1 << 20};
    const hsize_t limit[4] = {2, 16, 16, ((hsize_t)1 << 31) - 1}; /* at the axis limit: read */
    const char *fa = path_in("axis.h5"), *fb = path_in("bytes.h5"), *fl = path_in("limit.h5");
    write_empty_chunked(fa, "/raw", axis);
    write_empty_chunked(fb, "/raw", bytes);
    write_empty_chunked(fl, "/raw", limit);
    const char *w[] = {"[2, 1099511627776, 16, 16]", "at most 2147483647 along each axis", NULL};
    expect_fail(fa, "/raw", w);
    const char *wb[] = {"[2, 1048576, 1048576, 1048576]", "2^60 bytes", NULL};
    expect_fail(fb, "/raw", wb);
    lapse_input_info_t info = {0};
    ck_assert_int_eq(lapse_reader_probe(fb, "/raw", &info), LAPSE_EINPUT);
    ck_assert_int_eq(info.failed_part, 2);
    ck_assert_int_eq(info.ntp, 0); /* only failed_part changes on failure */
    lapse_reader_t *r = NULL;
    ck_assert_int_eq(lapse_reader_open(fa, "/raw", &r), LAPSE_EINPUT);
    ck_assert_ptr_null(r);
    ck_assert_msg(lapse_reader_probe(fl, "/raw", &info) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_int_eq(info.shape[2], ((int64_t)1 << 31) - 1);
}
END_TEST

static Suite *reader_suite(void)
{
    Suite *s = suite_create("reader");
    TCase *tc = tcase_create("probe");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, probe_good_4d_uint16);
    tcase_add_test(tc, probe_good_3d_uint8_and_f32);
    tcase_add_test(tc, probe_missing_file);
    tcase_add_test(tc, probe_text_file);
    tcase_add_test(tc, probe_truncated_file);
    tcase_add_test(tc, probe_missing_dataset_lists_present);
    tcase_add_test(tc, probe_wrong_rank);
    tcase_add_test(tc, probe_unsupported_types);
    tcase_add_test(tc, probe_huge_shape);
    tcase_add_test(tc, read_boxes);
    tcase_add_test(tc, input_sum_from_boxes_read);
    tcase_add_test(tc, read_compressed_tiles);
    tcase_add_test(tc, read_compressed_tiny_chunks);
    tcase_add_test(tc, open_failure_leaves_out);
    tcase_add_test(tc, backend_choice);
    tcase_add_test(tc, check_dataset);
    tcase_add_test(tc, links_to_fifos_and_loops);
    tcase_add_test(tc, virtual_chains);
    tcase_add_test(tc, virtual_through_external_link);
    tcase_add_test(tc, virtual_source_search_order);
    tcase_add_test(tc, virtual_name_patterns);
    tcase_add_test(tc, external_raw_storage);
    tcase_add_test(tc, uint32_to_float32);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reader_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
