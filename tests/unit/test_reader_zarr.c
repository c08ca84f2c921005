/*
 * test_reader_zarr.c - the Zarr v2 / OME-Zarr input backend (io/reader_zarr.c) against stores
 * written by Python zarr and numcodecs (tests/py/zarr_fixtures.py): raw, blosc (lz4, zstd,
 * blosclz), zlib and gzip chunks, partial edge chunks, a timepoint inside a chunk, "/" chunk
 * keys, big-endian data, missing chunks read as the fill value, OME-NGFF multiscales (level 0,
 * axes, voxel size in micrometres), an array inside a group; every store read box by box
 * against the fixtures' value formula. Then the stores that must be refused at the probe
 * (LAPSE_EINPUT naming the store and the reason) and the damaged chunks that must fail a read
 * (LAPSE_EREAD naming the chunk file); a FIFO as the .zarray or a chunk file fails at once.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

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

/* The fixtures' value of voxel (t, z, y, x) (zarr_fixtures.py's vol). */
static double val(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return (double)((t * 7 + z * 5 + y * 3 + x) % 251);
}

static void expect_info(const char *name, const char *dset, int ndims, int64_t z, lapse_dtype_t dt)
{
    lapse_input_info_t info;
    lapse_err_clear();
    lapse_status_t st = lapse_reader_probe(path_in(name), dset, &info);
    ck_assert_msg(st == LAPSE_OK, "%s: %s", name, lapse_errmsg());
    ck_assert_int_eq(info.ndims, ndims);
    ck_assert_int_eq(info.ntp, 3);
    ck_assert_int_eq(info.shape[0], z);
    ck_assert_int_eq(info.shape[1], 37);
    ck_assert_int_eq(info.shape[2], 45);
    ck_assert_int_eq(info.dtype, dt);
    ck_assert_int_eq(info.failed_part, 0);
}

/* Read every timepoint of name (dataset dset) in boxes (whole, inner odd, one voxel at the far
 * corner, one crossing chunk edges) and compare with val (float32: val / 4 + 0.25); the voxels
 * of missing chunks (missing: t = 1, z in [2, 4)) must be the fill value 7. */
static void expect_values(const char *name, const char *dset, int missing)
{
    lapse_reader_t *r = NULL;
    lapse_err_clear();
    ck_assert_msg(lapse_reader_open(path_in(name), dset, &r) == LAPSE_OK, "%s: %s", name,
                  lapse_errmsg());
    ck_assert_str_eq(lapse_reader_backend(r)->name, "zarr");
    const lapse_input_info_t *in = lapse_reader_info(r);
    int64_t nz = in->shape[0];
    const lapse_box_t boxes[] = {
        {{0, 0, 0}, {nz, 37, 45}},
        {{nz > 1 ? 1 : 0, 3, 7}, {nz > 1 ? nz - 1 : 1, 19, 21}},
        {{nz - 1, 36, 44}, {1, 1, 1}},
        {{nz > 2 ? 1 : 0, 7, 15}, {nz > 2 ? 2 : 1, 2, 2}},
    };
    size_t es = lapse_dtype_size(in->dtype);
    void *buf = malloc((size_t)nz * 37 * 45 * es);
    ck_assert_ptr_nonnull(buf);
    for (int64_t t = 0; t < in->ntp; t++)
        for (size_t b = 0; b < sizeof boxes / sizeof boxes[0]; b++) {
            const lapse_box_t *bx = &boxes[b];
            memset(buf, 0xAB, (size_t)nz * 37 * 45 * es);
            ck_assert_msg(lapse_reader_read(r, t, bx, buf) == LAPSE_OK, "%s: %s", name,
                          lapse_errmsg());
            size_t i = 0;
            for (int64_t z = bx->off[0]; z < bx->off[0] + bx->dim[0]; z++)
                for (int64_t y = bx->off[1]; y < bx->off[1] + bx->dim[1]; y++)
                    for (int64_t x = bx->off[2]; x < bx->off[2] + bx->dim[2]; x++, i++) {
                        double want = val(t, z, y, x), got;
                        if (in->dtype == LAPSE_DT_U8) {
                            got = ((unsigned char *)buf)[i];
                        } else if (in->dtype == LAPSE_DT_U16) {
                            got = ((uint16_t *)buf)[i];
                        } else { /* float32, or uint32 / int16 read as float32 */
                            got = ((float *)buf)[i];
                            if (in->file_dtype == LAPSE_DT_F32)
                                want = want / 4 + 0.25;
                        }
                        if (missing && t == 1 && z >= 2 && z < 4)
                            want = 7;
                        ck_assert_msg(got == want, "%s t=%lld (%lld,%lld,%lld): %g, expected %g",
                                      name, (long long)t, (long long)z, (long long)y, (long long)x,
                                      got, want);
                    }
        }
    free(buf);
    lapse_reader_close(r);
}

START_TEST(codecs)
{
    expect_info("raw_u2.zarr", "", 4, 5, LAPSE_DT_U16);
    expect_values("raw_u2.zarr", "", 0);
    expect_values("lz4_u2.zarr", "", 0);
    expect_info("zstd_f4.zarr", "", 4, 5, LAPSE_DT_F32);
    expect_values("zstd_f4.zarr", "", 0);
    expect_info("blosclz_u1.zarr", "", 4, 5, LAPSE_DT_U8);
    expect_values("blosclz_u1.zarr", "", 0);
    expect_values("zlib_u1.zarr", "", 0);
    expect_values("gzip_u2.zarr", "", 0);
}
END_TEST

/* The decoded-chunk cache of a compressed store: its size (one timepoint's chunks by default,
 * what LAPSE_H5_INPUT_CACHE leaves room for, none for raw chunks or room for one), and the values
 * of every store read box by box with 2 slots (chunks replaced between and within reads),
 * with none, and with the default. */
static double cache_bytes(const char *name)
{
    lapse_input_info_t info;
    lapse_err_clear();
    ck_assert_msg(lapse_reader_probe(path_in(name), "", &info) == LAPSE_OK, "%s: %s", name,
                  lapse_errmsg());
    return info.chunk_cache_bytes;
}

START_TEST(chunk_cache)
{
    unsetenv("LAPSE_H5_INPUT_CACHE");
    lapse_input_info_t info;
    ck_assert_int_eq(lapse_reader_probe(path_in("lz4_u2.zarr"), "", &info), LAPSE_OK);
    ck_assert_int_eq(info.compressed_chunks, 1);
    /* chunks of 2 x 2 x 8 x 16 uint16 (1024 bytes) over 5 x 37 x 45: 3 x 5 x 3 a timepoint */
    ck_assert_double_eq(info.chunk_cache_bytes, 45 * 1024);
    /* the reader's own buffers, which lapse plan counts: a chunk's file bytes and decoded */
    ck_assert_double_eq(info.reader_buf_bytes, 2 * 1024);
    ck_assert_int_eq(lapse_reader_probe(path_in("raw_u2.zarr"), "", &info), LAPSE_OK);
    ck_assert_int_eq(info.compressed_chunks, 0);
    ck_assert_double_eq(info.chunk_cache_bytes, 0);
    ck_assert_double_eq(info.reader_buf_bytes, 2 * 1024); /* raw chunks: read, then copied */
    static const char *const stores[] = {"lz4_u2.zarr", "zstd_f4.zarr", "gzip_u2.zarr",
                                         "zlib_u1.zarr", "nested_f4.zarr"};
    static const char *const budgets[] = {"2600", "1", "1500000"};
    for (size_t b = 0; b < 3; b++) {
        setenv("LAPSE_H5_INPUT_CACHE", budgets[b], 1);
        if (b == 0)
            ck_assert_double_eq(cache_bytes("lz4_u2.zarr"), 2 * 1024);
        if (b == 1)
            ck_assert_double_eq(cache_bytes("lz4_u2.zarr"), 0);
        for (size_t i = 0; i < sizeof stores / sizeof *stores; i++)
            expect_values(stores[i], "", 0);
        expect_values("missing_u2.zarr", "", 1);
    }
    unsetenv("LAPSE_H5_INPUT_CACHE");
}
END_TEST

/* A zlib store of 1 x 1024 x 1024 uint8 in chunks of c x c, written here, whose voxel (y, x) is
 * (3 y + x) % 251. */
static void write_store(const char *store, int c)
{
    char p[800];
    unsigned char *raw = malloc((size_t)c * c), *packed = malloc((size_t)c * c + 1024);
    ck_assert(raw && packed);
    ck_assert_int_eq(mkdir(store, 0755), 0);
    snprintf(p, sizeof p, "%s/.zarray", store);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "{\"zarr_format\": 2, \"shape\": [1, 1024, 1024], \"chunks\": [1, %d, %d], \"dtype\": "
            "\"|u1\", \"compressor\": {\"id\": \"zlib\", \"level\": 1}, \"fill_value\": 0, "
            "\"order\": \"C\", \"filters\": null}",
            c, c);
    ck_assert_int_eq(fclose(f), 0);
    for (int cy = 0; cy < 1024 / c; cy++)
        for (int cx = 0; cx < 1024 / c; cx++) {
            for (int k = 0; k < c * c; k++)
                raw[k] = (unsigned char)((3 * (cy * c + k / c) + cx * c + k % c) % 251);
            uLongf n = (uLongf)c * c + 1024;
            ck_assert_int_eq(compress2(packed, &n, raw, (uLong)c * c, 1), Z_OK);
            snprintf(p, sizeof p, "%s/0.%d.%d", store, cy, cx);
            f = fopen(p, "wb");
            ck_assert_ptr_nonnull(f);
            ck_assert_uint_eq(fwrite(packed, 1, n, f), n);
            ck_assert_int_eq(fclose(f), 0);
        }
    free(raw);
    free(packed);
}

/* Read a write_store store in 16 tiles of 256 x 256 with halos of 4, in a tiles' order,
 * npass times (the passes after the first find every chunk kept, where the cache holds them
 * all); the values checked. */
static void read_tiles(const char *store, int npass)
{
    lapse_reader_t *r = NULL;
    unsigned char *buf = malloc(264 * 264); /* uint8, as stored */
    ck_assert_ptr_nonnull(buf);
    lapse_err_clear();
    ck_assert_msg(lapse_reader_open(store, "", &r) == LAPSE_OK, "%s", lapse_errmsg());
    for (int pass = 0; pass < npass; pass++)
        for (int ty = 0; ty < 4; ty++)
            for (int tx = 0; tx < 4; tx++) {
                lapse_box_t box = {{0, ty ? ty * 256 - 4 : 0, tx ? tx * 256 - 4 : 0}, {1, 0, 0}};
                box.dim[1] = (ty < 3 ? ty * 256 + 260 : 1024) - box.off[1];
                box.dim[2] = (tx < 3 ? tx * 256 + 260 : 1024) - box.off[2];
                ck_assert_msg(lapse_reader_read(r, 0, &box, buf) == LAPSE_OK, "%s", lapse_errmsg());
                for (int64_t y = 0; y < box.dim[1]; y += 7)
                    for (int64_t x = 0; x < box.dim[2]; x += 5)
                        ck_assert_int_eq(buf[y * box.dim[2] + x],
                                         (3 * (box.off[1] + y) + box.off[2] + x) % 251);
            }
    lapse_reader_close(r);
    free(buf);
}

/* Many small chunks (16384 of 8 x 8 a timepoint) and fewer large ones: the cache's size, and
 * the values right with the cache holding a timepoint (a second pass finds every chunk kept),
 * none, and too few slots (replacements within a read). How fast a kept chunk is found is a
 * benchmark's question, not this test's (docs/io.md). */
START_TEST(many_slots)
{
    const char *tiny = path_in("tiny_chunks.zarr"), *big = path_in("big_chunks.zarr");
    write_store(tiny, 8);
    write_store(big, 64);
    unsetenv("LAPSE_H5_INPUT_CACHE");
    ck_assert_double_eq(cache_bytes("tiny_chunks.zarr"), 16384 * 64);
    ck_assert_double_eq(cache_bytes("big_chunks.zarr"), 256 * 4096);
    read_tiles(tiny, 2);
    read_tiles(big, 2);
    setenv("LAPSE_H5_INPUT_CACHE", "1", 1);
    ck_assert_double_eq(cache_bytes("tiny_chunks.zarr"), 0);
    read_tiles(tiny, 1);
    setenv("LAPSE_H5_INPUT_CACHE", "100000", 1); /* fewer slots than a tile's chunks */
    ck_assert_double_gt(cache_bytes("tiny_chunks.zarr"), 0);
    read_tiles(tiny, 2);
    unsetenv("LAPSE_H5_INPUT_CACHE");
}
END_TEST

START_TEST(layouts)
{
    expect_values("nested_f4.zarr", "", 0);
    expect_values("nested_nokey_f4.zarr", "", 0);
    expect_values("ome03.zarr", "", 0);
    expect_values("be_u2.zarr", "", 0);
    /* uint32 and int16 (lapse's label and signed outputs) are read as float32 */
    expect_info("u4.zarr", "", 4, 5, LAPSE_DT_F32);
    expect_values("u4.zarr", "", 0);
    expect_values("be_u4.zarr", "", 0);
    expect_info("i2.zarr", "", 4, 5, LAPSE_DT_F32);
    expect_values("i2.zarr", "", 0);
    expect_values("be_f4.zarr", "", 0);
    expect_info("tyx_u2.zarr", "", 3, 1, LAPSE_DT_U16);
    expect_values("tyx_u2.zarr", "", 0);
    expect_values("missing_u2.zarr", "", 1);
    expect_info("group.zarr", "sub/raw", 4, 5, LAPSE_DT_U16);
    expect_values("group.zarr", "/sub/raw", 0);
}
END_TEST

START_TEST(ome)
{
    lapse_input_info_t info;
    expect_info("ome5.ome.zarr", "", 4, 5, LAPSE_DT_U16);
    expect_values("ome5.ome.zarr", "", 0);
    ck_assert_int_eq(lapse_reader_probe(path_in("ome5.ome.zarr"), "", &info), LAPSE_OK);
    ck_assert(info.voxel_size_um[0] == 2.0);
    ck_assert(info.voxel_size_um[1] == 0.5);
    ck_assert(info.voxel_size_um[2] == 0.25);
    expect_info("ome3.ome.zarr", "", 3, 1, LAPSE_DT_U16);
    expect_values("ome3.ome.zarr", "", 0);
    ck_assert_int_eq(lapse_reader_probe(path_in("ome3.ome.zarr"), "", &info), LAPSE_OK);
    ck_assert(fabs(info.voxel_size_um[1] - 0.65) < 1e-12);
    ck_assert(fabs(info.voxel_size_um[2] - 0.65) < 1e-12);
    /* a level chosen by hand: the array itself, axes by rank (5: t,c,z,y,x), no voxel size */
    ck_assert_int_eq(lapse_reader_probe(path_in("ome5.ome.zarr"), "0", &info), LAPSE_OK);
    ck_assert_int_eq(info.shape[0], 5);
    ck_assert(info.voxel_size_um[1] == 0);
    ck_assert_int_eq(lapse_reader_probe(path_in("ome5.ome.zarr"), "1", &info), LAPSE_OK);
    ck_assert_int_eq(info.shape[1], 19);
    ck_assert_int_eq(info.shape[2], 23);
}
END_TEST

START_TEST(backend_choice)
{
    ck_assert_str_eq(lapse_reader_backend_for_name("a/b.zarr")->name, "zarr");
    ck_assert_str_eq(lapse_reader_backend_for_name("a/b.ome.zarr/")->name, "zarr");
    ck_assert_str_eq(lapse_reader_backend_for_name("a/b.ZARR")->name, "zarr");
    char err[256];
    ck_assert_int_eq(lapse_reader_check_dataset("x.zarr", "", err, sizeof err), 0);
    ck_assert_int_eq(lapse_reader_check_dataset("x.zarr", "a/b_1.c-d", err, sizeof err), 0);
    ck_assert_int_eq(lapse_reader_check_dataset("x.zarr", "/0", err, sizeof err), 0);
    ck_assert_int_eq(lapse_reader_check_dataset("x.zarr", "../x", err, sizeof err), -1);
    ck_assert_int_eq(lapse_reader_check_dataset("x.zarr", "a//b", err, sizeof err), -1);
    ck_assert_int_eq(lapse_reader_check_dataset("x.zarr", "a/./b", err, sizeof err), -1);
    ck_assert_int_eq(lapse_reader_check_dataset("x.zarr", "a/", err, sizeof err), -1);
    ck_assert_int_eq(lapse_reader_check_dataset("x.zarr", "a b", err, sizeof err), -1);
    ck_assert_int_eq(lapse_reader_check_dataset("x.zarr", "a\\b", err, sizeof err), -1);
    /* a store without the suffix is found by its metadata */
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", path_in("raw_u2.zarr"), path_in("store_nosuffix"));
    ck_assert_int_eq(system(cmd), 0);
    expect_values("store_nosuffix", "", 0);
}
END_TEST

/* name (dataset dset) is refused by the probe and the open with LAPSE_EINPUT, a message naming
 * the store and every word of words, and info->failed_part part. */
static void expect_refused(const char *name, const char *dset, int part, const char *const *words)
{
    lapse_input_info_t info = {0};
    lapse_err_clear();
    ck_assert_int_eq(lapse_reader_probe(path_in(name), dset, &info), LAPSE_EINPUT);
    ck_assert_int_eq(info.failed_part, part);
    ck_assert_msg(strstr(lapse_errmsg(), name) != NULL, "'%s' lacks the store", lapse_errmsg());
    for (int i = 0; words[i]; i++)
        ck_assert_msg(strstr(lapse_errmsg(), words[i]) != NULL, "%s: message '%s' lacks '%s'", name,
                      lapse_errmsg(), words[i]);
    lapse_reader_t *r = (lapse_reader_t *)&info;
    lapse_err_clear();
    ck_assert_int_eq(lapse_reader_open(path_in(name), dset, &r), LAPSE_EINPUT);
    ck_assert_ptr_eq(r, (lapse_reader_t *)&info); /* untouched on failure */
}

#define W(...) ((const char *const[]){__VA_ARGS__, NULL})

START_TEST(refused)
{
    expect_refused("forder.zarr", "", 1, W("Fortran order"));
    expect_refused("i4.zarr", "", 1, W("<i4", "not supported"));
    expect_refused("f8.zarr", "", 1, W("<f8", "not supported"));
    expect_refused("filters.zarr", "", 1, W("filters"));
    expect_refused("lzma.zarr", "", 1, W("lzma", "not supported"));
    expect_refused("chan.zarr", "", 1, W("2 channels: choose one with input.channel"));
    expect_refused("badjson.zarr", "", 1, W(".zarray", "not valid JSON", "line"));
    expect_refused("v3.zarr", "", 1, W("zarr_format"));
    expect_refused("zarr3.zarr", "", 1, W("Zarr v3", "zarr.json", "Zarr v2"));
    expect_refused("neg.zarr", "", 1, W("shape"));
    expect_refused("rank.zarr", "", 1, W("chunks"));
    expect_refused("sep.zarr", "", 1, W("dimension_separator"));
    expect_refused("fill.zarr", "", 1, W("fill_value"));
    expect_refused("huge.zarr", "", 1, W("chunk"));
    expect_refused("empty.zarr", "", 1, W("no Zarr array"));
    expect_refused("nomulti.zarr", "", 1, W("no OME-NGFF multiscales"));
    expect_refused("omebad.zarr", "", 1, W("datasets[0].path"));
    expect_refused("omeorder.zarr", "", 1, W("t, c, z, y, x"));
    expect_refused("group.zarr", "sub/none", 2, W("no Zarr array"));
    expect_refused("group.zarr", "../raw_u2.zarr", 1, W("\"..\""));
    expect_refused("no_such.zarr", "", 1, W("no such file"));
    expect_refused("fifo_meta.zarr", "", 1, W(".zarray", "not a regular file")); /* not waited on */
}
END_TEST

/* The probe of name passes; reading the box of the first chunk at t = 0 fails with LAPSE_EREAD
 * naming the chunk file and every word of words; a box of other chunks still reads. */
static void expect_bad_chunk(const char *name, const char *const *words)
{
    lapse_reader_t *r = NULL;
    lapse_err_clear();
    ck_assert_msg(lapse_reader_open(path_in(name), "", &r) == LAPSE_OK, "%s: %s", name,
                  lapse_errmsg());
    uint16_t buf[2 * 8 * 16 * 2];
    lapse_box_t first = {{0, 0, 0}, {2, 8, 16}}, other = {{2, 8, 16}, {2, 8, 16}};
    lapse_err_clear();
    ck_assert_int_eq(lapse_reader_read(r, 0, &first, buf), LAPSE_EREAD);
    char chunk[800];
    snprintf(chunk, sizeof chunk, "%s/0.0.0.0", path_in(name));
    ck_assert_msg(strstr(lapse_errmsg(), chunk) != NULL, "'%s' lacks the chunk file %s",
                  lapse_errmsg(), chunk);
    for (int i = 0; words[i]; i++)
        ck_assert_msg(strstr(lapse_errmsg(), words[i]) != NULL, "%s: message '%s' lacks '%s'", name,
                      lapse_errmsg(), words[i]);
    lapse_err_clear();
    ck_assert_msg(lapse_reader_read(r, 0, &other, buf) == LAPSE_OK, "%s: %s", name, lapse_errmsg());
    /* again, after a good read: a chunk that failed to decode was not kept (the cache) */
    lapse_err_clear();
    ck_assert_int_eq(lapse_reader_read(r, 0, &first, buf), LAPSE_EREAD);
    ck_assert_msg(strstr(lapse_errmsg(), chunk) != NULL, "again: '%s' lacks the chunk file %s",
                  lapse_errmsg(), chunk);
    lapse_reader_close(r);
}

START_TEST(damaged_chunks)
{
    expect_bad_chunk("short_raw.zarr", W("too short"));
    expect_bad_chunk("long_raw.zarr", W("too long"));
    expect_bad_chunk("short_lz4.zarr", W("blosc"));
    expect_bad_chunk("long_lz4.zarr", W("too long"));
    expect_bad_chunk("bad_lz4.zarr", W("blosc"));
    expect_bad_chunk("short_zlib.zarr", W("zlib"));
    expect_bad_chunk("long_zlib.zarr", W("too long"));
    expect_bad_chunk("bad_zlib.zarr", W("zlib"));
    expect_bad_chunk("fifo_chunk.zarr", W("not a regular file")); /* not waited on */
}
END_TEST

static Suite *zarr_suite(void)
{
    Suite *s = suite_create("reader_zarr");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, codecs);
    tcase_add_test(tc, chunk_cache);
    tcase_add_test(tc, many_slots);
    tcase_add_test(tc, layouts);
    tcase_add_test(tc, ome);
    tcase_add_test(tc, backend_choice);
    tcase_add_test(tc, refused);
    tcase_add_test(tc, damaged_chunks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *d = tu_tmpdir(), *py = getenv("LAPSE_PY"), *src = getenv("LAPSE_SRC");
    char cmd[2048];
    if (d == NULL)
        return EXIT_FAILURE;
    snprintf(dir, sizeof dir, "%s", d);
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/zarr_fixtures.py' '%s'",
             py ? py : "/usr/bin/python3", src ? src : ".", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot write the fixtures: %s\n", cmd);
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(zarr_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
