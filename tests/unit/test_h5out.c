/*
 * test_h5out.c - the parallel output file on one rank: create with specs, write core boxes,
 * append task rows, record a run, then read everything back with plain serial HDF5; update mode
 * keeps untouched timepoints bit-identical; lapse_h5out_check refuses what it must.
 * Calls MPI_Init, so the suite runs with CK_NOFORK.
 */
#include <check.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "h5out.h"
#include "io/table.h"
#include "testutil.h"

static char dir[512];
static char file[700];
static lapse_config_t cfg;
static char cfg_text[] = "input:\n  file: in.h5\n  dataset: /raw\n";

/* Two datasets: /result [4, 3, 8, 10] float32 chunked [1, 3, 4, 5], /seg/mask [4, 8, 10] u8. */
static lapse_dset_spec_t specs[2];

static void setup(void)
{
    const char *d = tu_tmpdir();
    ck_assert_ptr_nonnull(d);
    snprintf(dir, sizeof dir, "%s", d);
    snprintf(file, sizeof file, "%s/out.h5", dir);
    memset(&cfg, 0, sizeof cfg);
    cfg.text = cfg_text;
    snprintf(cfg.input_file, sizeof cfg.input_file, "in.h5");
    snprintf(cfg.input_dataset, sizeof cfg.input_dataset, "/raw");
    memset(specs, 0, sizeof specs);
    snprintf(specs[0].path, sizeof specs[0].path, "/result");
    specs[0].ndims = 4;
    int64_t d0[4] = {4, 3, 8, 10}, c0[4] = {1, 3, 4, 5};
    memcpy(specs[0].dims, d0, sizeof d0);
    memcpy(specs[0].chunk, c0, sizeof c0);
    specs[0].dtype = LAPSE_DT_F32;
    snprintf(specs[1].path, sizeof specs[1].path, "/seg/mask");
    specs[1].ndims = 3;
    int64_t d1[4] = {4, 8, 10, 0}, c1[4] = {1, 4, 5, 0};
    memcpy(specs[1].dims, d1, sizeof d1);
    memcpy(specs[1].chunk, c1, sizeof c1);
    specs[1].dtype = LAPSE_DT_U8;
    lapse_err_clear();
}

static void teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static float fval(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return (float)(1000 * t + 100 * z + 10 * y + x) + 0.5f;
}

/* Write the core box of timepoint t in both datasets (values from fval). */
static void write_box(lapse_h5out_t *o, int64_t t, lapse_box_t box)
{
    float *buf = malloc((size_t)lapse_box_voxels(&box) * sizeof *buf);
    uint8_t *mask = malloc((size_t)(box.dim[1] * box.dim[2]));
    ck_assert_ptr_nonnull(buf);
    ck_assert_ptr_nonnull(mask);
    int64_t i = 0;
    for (int64_t z = 0; z < box.dim[0]; z++)
        for (int64_t y = 0; y < box.dim[1]; y++)
            for (int64_t x = 0; x < box.dim[2]; x++)
                buf[i++] = fval(t, box.off[0] + z, box.off[1] + y, box.off[2] + x);
    for (i = 0; i < box.dim[1] * box.dim[2]; i++)
        mask[i] = (uint8_t)(1 + t);
    ck_assert_int_eq(lapse_h5out_write(o, 0, t, &box, buf), LAPSE_OK);
    lapse_box_t flat = {{0, box.off[1], box.off[2]}, {1, box.dim[1], box.dim[2]}};
    ck_assert_int_eq(lapse_h5out_write(o, 1, t, &flat, mask), LAPSE_OK);
    free(buf);
    free(mask);
}

static lapse_task_row_t make_row(int64_t run, int64_t task, int64_t t, int64_t tile, lapse_box_t b)
{
    lapse_task_row_t r;
    memset(&r, 0, sizeof r);
    r.run_id = run;
    r.task_id = task;
    r.timepoint = t;
    r.tile = tile;
    memcpy(r.core_offset, b.off, sizeof b.off);
    memcpy(r.core_shape, b.dim, sizeof b.dim);
    snprintf(r.host, sizeof r.host, "node%02d", (int)task);
    snprintf(r.device, sizeof r.device, "Test Device %d", (int)tile);
    r.t_read = 0.25 * (double)(task + 1);
    r.t_total = 1.5 * (double)(task + 1);
    r.bytes_in = 1000 + task;
    r.bytes_out = 2000 + task;
    r.status = (int32_t)(task % 2);
    return r;
}

/* Read a whole dataset as float (serial HDF5); caller frees. */
static float *read_all_f(const char *path, hsize_t *n)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    hid_t s = H5Dget_space(d);
    *n = (hsize_t)H5Sget_simple_extent_npoints(s);
    float *v = malloc(*n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

/* Read a scalar string attribute of obj path into buf. */
static void read_str_attr(hid_t f, const char *obj, const char *name, char *buf, size_t len)
{
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "attribute %s of %s missing", name, obj);
    hid_t t = H5Aget_type(a);
    ck_assert_int_eq(H5Tget_class(t), H5T_STRING);
    ck_assert_int_eq(H5Tis_variable_str(t), 0);
    size_t n = H5Tget_size(t);
    ck_assert_uint_lt(n, len);
    ck_assert_int_ge(H5Aread(a, t, buf), 0);
    buf[n] = '\0';
    H5Tclose(t);
    H5Aclose(a);
}

static const lapse_state_spec_t state = {{3, 4, 5}, 4, "0123456789abcdef", "", {0, 0, 0}, 0};
static const lapse_box_t box_a = {{0, 0, 0}, {3, 4, 5}};
static const lapse_box_t box_b = {{0, 4, 5}, {3, 4, 5}};

/* Create the file, write boxes a and b of timepoint 1, two rows, one run. */
static void make_file(void)
{
    lapse_h5out_t *o = NULL;
    ck_assert_int_eq(lapse_h5out_check(file, LAPSE_MODE_CREATE, specs, 2, NULL), LAPSE_OK);
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_CREATE, specs, 2, &cfg, &state, &o),
        LAPSE_OK);
    int64_t id = 0;
    ck_assert_int_eq(lapse_h5out_next_run_id(o, &id), LAPSE_OK);
    ck_assert_int_eq(id, 1);
    write_box(o, 1, box_a);
    write_box(o, 1, box_b);
    ck_assert_int_eq(lapse_h5out_mark_done(o, 1, 2), LAPSE_OK);
    lapse_task_row_t rows[2] = {make_row(1, 0, 1, 0, box_a), make_row(1, 1, 1, 3, box_b)};
    ck_assert_int_eq(lapse_h5out_append_rows(o, rows, 2), LAPSE_OK);
    ck_assert_int_eq(lapse_h5out_append_rows(o, NULL, 0), LAPSE_OK);
    lapse_run_info_t run = {.run_id = 1,
                            .start = "2024-01-02T03:04:05Z",
                            .end = "2024-01-02T03:04:15Z",
                            .config_text = cfg_text,
                            .config_path = "c.yaml",
                            .input_file = "in.h5",
                            .input_dataset = "/raw",
                            .timepoints = "1",
                            .nranks = 1,
                            .status = "done",
                            .fingerprint = "0123456789abcdef"};
    ck_assert_int_eq(lapse_h5out_put_run(o, &run), LAPSE_OK);
    ck_assert_int_eq(lapse_h5out_next_run_id(o, &id), LAPSE_OK);
    ck_assert_int_eq(id, 2);
    ck_assert_int_eq(lapse_h5out_flush(o), LAPSE_OK);
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
}

START_TEST(create_write_read_back)
{
    make_file();
    hsize_t n;
    float *v = read_all_f("/result", &n);
    ck_assert_uint_eq(n, 4 * 3 * 8 * 10);
    for (int64_t t = 0; t < 4; t++)
        for (int64_t z = 0; z < 3; z++)
            for (int64_t y = 0; y < 8; y++)
                for (int64_t x = 0; x < 10; x++) {
                    int in_a = y < 4 && x < 5, in_b = y >= 4 && x >= 5;
                    float want = t == 1 && (in_a || in_b) ? fval(t, z, y, x) : 0.0f;
                    ck_assert_float_eq(v[((t * 3 + z) * 8 + y) * 10 + x], want);
                }
    free(v);
    v = read_all_f("/seg/mask", &n);
    ck_assert_uint_eq(n, 4 * 8 * 10);
    ck_assert_float_eq(v[(1 * 8 + 0) * 10 + 0], 2.0f);
    ck_assert_float_eq(v[(1 * 8 + 7) * 10 + 9], 2.0f);
    ck_assert_float_eq(v[(1 * 8 + 7) * 10 + 0], 0.0f);
    ck_assert_float_eq(v[(0 * 8 + 0) * 10 + 0], 0.0f);
    free(v);

    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    /* Chunking as in the spec. */
    hid_t d = H5Dopen2(f, "/result", H5P_DEFAULT);
    hid_t dcpl = H5Dget_create_plist(d);
    hsize_t chunk[4];
    ck_assert_int_eq(H5Pget_chunk(dcpl, 4, chunk), 4);
    ck_assert_uint_eq(chunk[1], 3);
    ck_assert_uint_eq(chunk[2], 4);
    ck_assert_uint_eq(chunk[3], 5);
    H5Pclose(dcpl);
    H5Dclose(d);

    /* Task rows, read through a type built here from the field names. */
    hid_t td = H5Dopen2(f, "/lapse/tasks", H5P_DEFAULT);
    ck_assert_int_ge(td, 0);
    hid_t ts = H5Dget_space(td);
    ck_assert_int_eq(H5Sget_simple_extent_npoints(ts), 2);
    typedef struct {
        int64_t timepoint, tile, shape[3];
        char host[64];
        double t_total;
        int32_t status;
    } sub_t;
    hsize_t three = 3;
    hid_t a3 = H5Tarray_create2(H5T_NATIVE_INT64, 1, &three);
    hid_t s64 = H5Tcopy(H5T_C_S1);
    H5Tset_size(s64, 64);
    hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(sub_t));
    H5Tinsert(mt, "timepoint", HOFFSET(sub_t, timepoint), H5T_NATIVE_INT64);
    H5Tinsert(mt, "tile", HOFFSET(sub_t, tile), H5T_NATIVE_INT64);
    H5Tinsert(mt, "core_shape", HOFFSET(sub_t, shape), a3);
    H5Tinsert(mt, "host", HOFFSET(sub_t, host), s64);
    H5Tinsert(mt, "t_total", HOFFSET(sub_t, t_total), H5T_NATIVE_DOUBLE);
    H5Tinsert(mt, "status", HOFFSET(sub_t, status), H5T_NATIVE_INT32);
    sub_t rows[2];
    ck_assert_int_ge(H5Dread(td, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows), 0);
    ck_assert_int_eq(rows[0].timepoint, 1);
    ck_assert_int_eq(rows[1].tile, 3);
    ck_assert_int_eq(rows[1].shape[2], 5);
    ck_assert_str_eq(rows[0].host, "node00");
    ck_assert_str_eq(rows[1].host, "node01");
    ck_assert_double_eq(rows[1].t_total, 3.0);
    ck_assert_int_eq(rows[0].status, 0);
    ck_assert_int_eq(rows[1].status, 1);
    H5Tclose(mt);
    H5Tclose(s64);
    H5Tclose(a3);
    H5Sclose(ts);
    H5Dclose(td);

    char buf[256];
    read_str_attr(f, "/", "lapse_version", buf, sizeof buf);
    ck_assert_str_eq(buf, LAPSE_VERSION);
    read_str_attr(f, "/", "config", buf, sizeof buf);
    ck_assert_str_eq(buf, cfg_text);
    read_str_attr(f, "/", "input_dataset", buf, sizeof buf);
    ck_assert_str_eq(buf, "/raw");
    read_str_attr(f, "/lapse/runs/1", "status", buf, sizeof buf);
    ck_assert_str_eq(buf, "done");
    read_str_attr(f, "/lapse/runs/1", "end", buf, sizeof buf);
    ck_assert_str_eq(buf, "2024-01-02T03:04:15Z");
    int64_t rid = 0;
    hid_t a = H5Aopen_by_name(f, "/lapse/runs/1", "run_id", H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    H5Aread(a, H5T_NATIVE_INT64, &rid);
    H5Aclose(a);
    ck_assert_int_eq(rid, 1);
    H5Fclose(f);
}
END_TEST

/* A new output's chunks: one run in the chunk map (io/chunkmap.h), and the raw segments of a box
 * start at HDF5's own address of each chunk (H5Dget_chunk_info_by_coord); a dataset without
 * lapse's mark of chunks in order gets no map. */
START_TEST(raw_segments_from_chunk_map)
{
    make_file();
    lapse_h5out_t *o = NULL;
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_UPDATE, specs, 2, &cfg, &state, &o),
        LAPSE_OK);
    ck_assert_int_eq(lapse_h5out_chunk_runs(o, 0), 0); /* not asked for yet */
    float buf[3 * 4 * 5] = {0};
    lapse_raw_seg_t *seg = NULL;
    int n = 0, cap = 0, ok = 0;
    hid_t f = H5I_INVALID_HID, dxpl;
    MPI_Comm comm;
    int rank = 0;
    lapse_h5out_handles(o, &f, &dxpl, &comm, &rank);
    hid_t d = H5Dopen2(f, "/result", H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    for (int64_t t = 0; t < 4; t++)
        for (int64_t y = 0; y < 8; y += 4)
            for (int64_t x = 0; x < 10; x += 5) {
                const lapse_box_t box = {{0, y, x}, {3, 4, 5}}; /* one chunk */
                n = 0;
                ck_assert_int_eq(
                    lapse_h5out_raw_segments(o, 0, t, &box, buf, &seg, &n, &cap, 1000, &ok),
                    LAPSE_OK);
                ck_assert_int_eq(ok, 1);
                ck_assert_int_eq(lapse_h5out_chunk_runs(o, 0), 1);
                hsize_t off[4] = {(hsize_t)t, 0, (hsize_t)y, (hsize_t)x}, size = 0;
                haddr_t addr = HADDR_UNDEF;
                unsigned mask = 0;
                ck_assert_int_ge(H5Dget_chunk_info_by_coord(d, off, &mask, &addr, &size), 0);
                ck_assert_int_eq(n, 1); /* the chunk's bytes, in one piece */
                ck_assert_int_eq(seg[0].off, (int64_t)addr);
                ck_assert_uint_eq(seg[0].len, 3 * 4 * 5 * sizeof(float));
            }
    H5Dclose(d);
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);

    /* without lapse's mark of chunks in index order (a dataset made by another tool or
     * rewritten), no map: a lookup per chunk, which cannot be fooled by chunks out of order */
    hid_t sf = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(sf, 0);
    ck_assert_int_gt(H5Aexists_by_name(sf, "/result", "lapse_chunks_in_order", H5P_DEFAULT), 0);
    ck_assert_int_ge(H5Adelete_by_name(sf, "/result", "lapse_chunks_in_order", H5P_DEFAULT), 0);
    H5Fclose(sf);
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_UPDATE, specs, 2, &cfg, &state, &o),
        LAPSE_OK);
    const lapse_box_t box = {{0, 4, 5}, {3, 4, 5}};
    n = 0;
    ck_assert_int_eq(lapse_h5out_raw_segments(o, 0, 2, &box, buf, &seg, &n, &cap, 1000, &ok),
                     LAPSE_OK);
    ck_assert_int_eq(ok, 1);
    ck_assert_int_eq(lapse_h5out_chunk_runs(o, 0), 0);
    free(seg);
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
}
END_TEST

START_TEST(update_keeps_untouched_timepoints)
{
    make_file();
    hsize_t n;
    float *before = read_all_f("/result", &n);
    lapse_h5out_t *o = NULL;
    ck_assert_int_eq(lapse_h5out_check(file, LAPSE_MODE_UPDATE, specs, 2, NULL), LAPSE_OK);
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_UPDATE, specs, 2, &cfg, &state, &o),
        LAPSE_OK);
    int64_t id = 0;
    ck_assert_int_eq(lapse_h5out_next_run_id(o, &id), LAPSE_OK);
    ck_assert_int_eq(id, 2);
    lapse_box_t whole = {{0, 0, 0}, {3, 8, 10}};
    write_box(o, 3, whole);
    lapse_task_row_t row = make_row(2, 0, 3, 0, whole);
    ck_assert_int_eq(lapse_h5out_append_rows(o, &row, 1), LAPSE_OK);
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);

    float *after = read_all_f("/result", &n);
    size_t tp = 3 * 8 * 10;
    ck_assert_int_eq(memcmp(before, after, 3 * tp * sizeof(float)), 0);
    for (size_t i = 0; i < tp; i++)
        ck_assert_float_eq(after[3 * tp + i],
                           fval(3, (int64_t)(i / 80), (int64_t)(i / 10 % 8), (int64_t)(i % 10)));
    free(before);
    free(after);

    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t td = H5Dopen2(f, "/lapse/tasks", H5P_DEFAULT);
    hid_t ts = H5Dget_space(td);
    ck_assert_int_eq(H5Sget_simple_extent_npoints(ts), 3);
    H5Sclose(ts);
    H5Dclose(td);
    ck_assert_int_gt(H5Lexists(f, "/lapse/runs/1", H5P_DEFAULT), 0);
    H5Fclose(f);
}
END_TEST

/* A measurement table filled as the waves of a run fill it (lapse_table_put: timepoints after
 * the last row's are appended), then a timepoint in the middle replaced by more rows and one by
 * fewer (the rows merged and written back): every time the table is all rows of every
 * timepoint, sorted by timepoint and label, each timepoint's rows as last put. */
static const lapse_col_t tcols[] = {{"timepoint", 0}, {"label", 0}, {"value", 1}};
static const lapse_table_desc_t tdesc = {3, tcols};
typedef struct {
    int64_t t, label;
    double v;
} trow_t;

/* The rows of timepoint t as version `ver` puts them: n rows, labels n..1 (unsorted). */
static int64_t trows(int64_t t, int ver, int64_t n, trow_t *r)
{
    for (int64_t i = 0; i < n; i++)
        r[i] = (trow_t){t, n - i, 100.0 * (double)t + (double)(n - i) + 0.5 * ver};
    return n;
}

static void table_put(lapse_h5out_t *o, const int64_t *tps, int ntps, const int64_t *n, int ver)
{
    trow_t rows[64];
    int64_t nrows = 0;
    for (int i = 0; i < ntps; i++)
        nrows += trows(tps[i], ver, n[i], rows + nrows);
    ck_assert_int_eq(lapse_table_put(o, "/cells", &tdesc, tps, ntps, rows, nrows), LAPSE_OK);
}

/* The table read back equals count[t] rows of version ver[t] for t = 0..ntp-1. */
static void table_check(const int64_t *count, const int *ver, int ntp)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t d = H5Dopen2(f, "/cells", H5P_DEFAULT), sp = H5Dget_space(d);
    hid_t ty = H5Tcreate(H5T_COMPOUND, sizeof(trow_t));
    H5Tinsert(ty, "timepoint", HOFFSET(trow_t, t), H5T_NATIVE_INT64);
    H5Tinsert(ty, "label", HOFFSET(trow_t, label), H5T_NATIVE_INT64);
    H5Tinsert(ty, "value", HOFFSET(trow_t, v), H5T_NATIVE_DOUBLE);
    int64_t want = 0;
    for (int t = 0; t < ntp; t++)
        want += count[t];
    ck_assert_int_eq(H5Sget_simple_extent_npoints(sp), want);
    trow_t got[64], exp[64];
    ck_assert_int_ge(H5Dread(d, ty, H5S_ALL, H5S_ALL, H5P_DEFAULT, got), 0);
    int64_t at = 0;
    for (int t = 0; t < ntp; t++) {
        trow_t r[64];
        int64_t n = trows(t, ver[t], count[t], r);
        for (int64_t i = 0; i < n; i++) /* sorted: labels 1..n */
            exp[at + i] = r[n - 1 - i];
        at += n;
    }
    for (int64_t i = 0; i < want; i++) {
        ck_assert_int_eq(got[i].t, exp[i].t);
        ck_assert_int_eq(got[i].label, exp[i].label);
        ck_assert_double_eq(got[i].v, exp[i].v);
    }
    H5Tclose(ty);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
}

START_TEST(table_waves_then_replaced)
{
    make_file();
    lapse_h5out_t *o = NULL;
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_UPDATE, specs, 2, &cfg, &state, &o),
        LAPSE_OK);
    int64_t count[4] = {3, 2, 4, 1};
    int ver[4] = {0, 0, 0, 0};
    const int64_t w1[2] = {0, 1}, w2[1] = {2}, w3[1] = {3};
    table_put(o, w1, 2, count, 0); /* the waves: appended */
    table_put(o, w2, 1, count + 2, 0);
    table_put(o, w3, 1, count + 3, 0);
    table_put(o, w3, 0, count, 0); /* a wave with no timepoint: nothing changes */
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
    table_check(count, ver, 4);
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_UPDATE, specs, 2, &cfg, &state, &o),
        LAPSE_OK);
    const int64_t u1[1] = {1}, n1[1] = {5}, u2[1] = {2}, n2[1] = {1};
    table_put(o, u1, 1, n1, 1); /* an update of t=1 with more rows: merged */
    count[1] = 5;
    ver[1] = 1;
    table_put(o, u2, 1, n2, 2); /* t=2 with fewer: the table shrinks */
    count[2] = 1;
    ver[2] = 2;
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
    table_check(count, ver, 4);
}
END_TEST

/* Grow /cells by `more` rows without writing them, as a table write stopped between its
 * H5Dset_extent and its H5Dwrite leaves it (a kill, a failure); serial, the output closed. When
 * legacy, the table is first made anew as lapse made it before 2026-12-05 (a fill of zeros),
 * holding the rows it held. Returns the timepoint the unwritten rows read as. */
static int64_t table_grow_unwritten(int more, int legacy)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t d = H5Dopen2(f, "/cells", H5P_DEFAULT), sp = H5Dget_space(d), ty = H5Dget_type(d);
    hsize_t n = (hsize_t)H5Sget_simple_extent_npoints(sp);
    if (legacy) {
        size_t rb = H5Tget_size(ty);
        char *buf = calloc(n + 1, rb);
        ck_assert_ptr_nonnull(buf);
        ck_assert_int_ge(H5Dread(d, ty, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0);
        H5Dclose(d);
        ck_assert_int_ge(H5Ldelete(f, "/cells", H5P_DEFAULT), 0);
        hsize_t maxd = H5S_UNLIMITED, chunk = 1024;
        hid_t nsp = H5Screate_simple(1, &n, &maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 1, &chunk);
        d = H5Dcreate2(f, "/cells", ty, nsp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        ck_assert_int_ge(d, 0);
        ck_assert_int_ge(H5Dwrite(d, ty, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0);
        H5Pclose(dcpl);
        H5Sclose(nsp);
        free(buf);
    }
    hsize_t ext = n + (hsize_t)more;
    ck_assert_int_ge(H5Dset_extent(d, &ext), 0);
    int64_t t = 99;
    hid_t fs = H5Dget_space(d), one = H5Screate_simple(1, (hsize_t[]){1}, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, (hsize_t[]){ext - 1}, NULL, (hsize_t[]){1}, NULL);
    hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof t);
    H5Tinsert(mt, "timepoint", 0, H5T_NATIVE_INT64);
    ck_assert_int_ge(H5Dread(d, mt, one, fs, H5P_DEFAULT, &t), 0);
    H5Tclose(mt);
    H5Sclose(one);
    H5Sclose(fs);
    H5Tclose(ty);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    return t;
}

/* A wave's table write stopped after the table grew: the rerun's next put drops the unwritten
 * rows, whether the table marks them (its fill: LAPSE_TABLE_UNWRITTEN) or is an older table
 * whose fill is zeros; before, the append took them for rows of timepoint 0 and kept them in the
 * middle of the table. Also when the rows before them are all of timepoint 0 (the first wave of
 * one timepoint), where only the marked fill tells them apart. */
START_TEST(table_unwritten_rows_dropped)
{
    make_file();
    lapse_h5out_t *o = NULL;
    int64_t count[4] = {3, 2, 4, 1};
    int ver[4] = {0, 0, 0, 0};
    const int64_t w0[1] = {0}, w1[1] = {1}, w2[1] = {2}, w3[1] = {3};
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_UPDATE, specs, 2, &cfg, &state, &o),
        LAPSE_OK);
    table_put(o, w0, 1, count, 0);
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
    ck_assert_int_eq(table_grow_unwritten(2, 0), LAPSE_TABLE_UNWRITTEN);
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_UPDATE, specs, 2, &cfg, &state, &o),
        LAPSE_OK);
    table_put(o, w1, 1, count + 1, 0); /* the rerun of the stopped wave */
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
    table_check(count, ver, 2);
    /* unwritten rows, then an update of an earlier timepoint (the merge): dropped as well */
    ck_assert_int_eq(table_grow_unwritten(2, 0), LAPSE_TABLE_UNWRITTEN);
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_UPDATE, specs, 2, &cfg, &state, &o),
        LAPSE_OK);
    const int64_t n1[1] = {4};
    table_put(o, w1, 1, n1, 1);
    count[1] = 4;
    ver[1] = 1;
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
    table_check(count, ver, 2);
    /* an older table (zeros fill) with rows of timepoints 0 and 1 before its unwritten rows */
    ck_assert_int_eq(table_grow_unwritten(3, 1), 0);
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_UPDATE, specs, 2, &cfg, &state, &o),
        LAPSE_OK);
    table_put(o, w2, 1, count + 2, 0);
    table_put(o, w3, 1, count + 3, 0);
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
    table_check(count, ver, 4);
}
END_TEST

START_TEST(check_refuses)
{
    /* Update of a file that does not exist. */
    ck_assert_int_ne(lapse_h5out_check(file, LAPSE_MODE_UPDATE, specs, 2, NULL), LAPSE_OK);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "does not exist"));
    /* A directory that does not exist. */
    char bad[800];
    snprintf(bad, sizeof bad, "%s/nodir/out.h5", dir);
    lapse_err_clear();
    ck_assert_int_eq(lapse_h5out_check(bad, LAPSE_MODE_OVERWRITE, specs, 2, NULL), LAPSE_ECONFIG);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "nodir"));

    make_file();
    /* An existing lapse output: inspect tells its fingerprint, tiling and task marks. */
    lapse_outstate_t os;
    ck_assert_int_eq(lapse_h5out_inspect(file, &os), LAPSE_OK);
    ck_assert_int_eq(os.exists, 1);
    ck_assert_int_eq(os.is_lapse, 1);
    ck_assert_str_eq(os.fingerprint, state.fingerprint);
    ck_assert_int_eq(os.ntiles, 4);
    ck_assert_int_eq(os.ntp, 4);
    ck_assert_int_eq(os.tile[2], 5);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(os.done[i], i == 1 * 4 + 2 ? 1 : 0);
    ck_assert_int_eq(os.last_run, 1);
    lapse_outstate_free(&os);
    ck_assert_int_eq(lapse_h5out_check(file, LAPSE_MODE_OVERWRITE, specs, 2, NULL), LAPSE_OK);
    /* Update with a mismatching shape, then dtype, then a missing dataset. */
    lapse_dset_spec_t other[2];
    memcpy(other, specs, sizeof other);
    other[0].dims[3] = 11;
    lapse_err_clear();
    ck_assert_int_ne(lapse_h5out_check(file, LAPSE_MODE_UPDATE, other, 2, NULL), LAPSE_OK);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "/result"));
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "[4, 3, 8, 11]"));
    memcpy(other, specs, sizeof other);
    other[1].dtype = LAPSE_DT_U16;
    lapse_err_clear();
    ck_assert_int_ne(lapse_h5out_check(file, LAPSE_MODE_UPDATE, other, 2, NULL), LAPSE_OK);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "uint16"));
    snprintf(other[1].path, sizeof other[1].path, "/other");
    lapse_err_clear();
    ck_assert_int_ne(lapse_h5out_check(file, LAPSE_MODE_UPDATE, other, 2, NULL), LAPSE_OK);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "/other"));
    /* A plain HDF5 file that is not a lapse output. */
    char plain[800];
    snprintf(plain, sizeof plain, "%s/plain.h5", dir);
    hid_t f = H5Fcreate(plain, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    lapse_err_clear();
    ck_assert_int_ne(lapse_h5out_check(plain, LAPSE_MODE_UPDATE, specs, 2, NULL), LAPSE_OK);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "not a lapse output"));
    ck_assert_int_eq(lapse_h5out_inspect(plain, &os), LAPSE_OK);
    ck_assert_int_eq(os.exists, 1);
    ck_assert_int_eq(os.is_lapse, 0);
    lapse_outstate_free(&os);
    ck_assert_int_eq(lapse_h5out_inspect(bad, &os), LAPSE_OK);
    ck_assert_int_eq(os.exists, 0);
    /* The real thing is accepted. */
    lapse_err_clear();
    ck_assert_int_eq(lapse_h5out_check(file, LAPSE_MODE_UPDATE, specs, 2, NULL), LAPSE_OK);
}
END_TEST

static Suite *h5out_suite(void)
{
    Suite *s = suite_create("h5out");
    TCase *tc = tcase_create("file");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, create_write_read_back);
    tcase_add_test(tc, update_keeps_untouched_timepoints);
    tcase_add_test(tc, raw_segments_from_chunk_map);
    tcase_add_test(tc, check_refuses);
    tcase_add_test(tc, table_waves_then_replaced);
    tcase_add_test(tc, table_unwritten_rows_dropped);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    lapse_h5_init();
    SRunner *sr = srunner_create(h5out_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    MPI_Finalize();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
