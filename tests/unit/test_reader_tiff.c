/*
 * test_reader_tiff.c - the TIFF input backend (io/reader_tiff.c): files written by Python
 * tifffile (tests/py/tiff_fixtures.py: multi-page strips, ImageJ TZYX and TYX hyperstacks, a
 * tiled zlib BigTIFF, OME-TIFF in two dimension orders, big-endian, a TIFF under another
 * suffix, tifffile's default JSON description with and without "axes") probed for their axes
 * and read box by box against the fixtures' value formula; and the unusable ones (channels
 * without input.channel, int8, RGB, plane counts that do not match the axes, an unknown codec,
 * a compressed strip that claims to decode to 2 GiB, mixed page sizes, truncated, not a TIFF,
 * JSON descriptions whose shape or axes lapse cannot use, ImageJ and OME sizes whose product
 * wraps round to the page count) refused with LAPSE_EINPUT saying why.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The fixtures' value of voxel (t, z, y, x) (tiff_fixtures.py's v). */
static double val(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return (double)((t * 7 + z * 5 + y * 3 + x) % 251);
}

/* Probe file and check its axes, dtype and number of dimensions. */
static void expect_info(const char *name, const char *dset, int ndims, int64_t ntp, int64_t z,
                        lapse_dtype_t dt)
{
    lapse_input_info_t info;
    lapse_err_clear();
    lapse_status_t st = lapse_reader_probe(path_in(name), dset, &info);
    ck_assert_msg(st == LAPSE_OK, "%s: %s", name, lapse_errmsg());
    ck_assert_int_eq(info.ndims, ndims);
    ck_assert_int_eq(info.ntp, ntp);
    ck_assert_int_eq(info.shape[0], z);
    ck_assert_int_eq(info.shape[1], 37);
    ck_assert_int_eq(info.shape[2], 45);
    ck_assert_int_eq(info.dtype, dt);
    ck_assert_int_eq(info.failed_part, 0);
}

/* Probe name with selection dset: its axes_assumed flag is want (1: a multi-page file without
 * ImageJ or OME axes). */
static void expect_axes_assumed_sel(const char *name, const char *dset, int want)
{
    lapse_input_info_t info;
    lapse_err_clear();
    ck_assert_msg(lapse_reader_probe(path_in(name), dset, &info) == LAPSE_OK, "%s: %s", name,
                  lapse_errmsg());
    ck_assert_msg(info.axes_assumed == want, "%s: axes_assumed %d, want %d", name,
                  info.axes_assumed, want);
}

static void expect_axes_assumed(const char *name, int want)
{
    expect_axes_assumed_sel(name, "", want);
}

/* Read every timepoint of name (selection dset) in a few boxes (whole, inner odd, one voxel,
 * crossing strips and tiles) and compare with val + add (float32 files: val / 4 + 0.25). */
static void expect_values_sel(const char *name, const char *dset, double add)
{
    lapse_reader_t *r = NULL;
    lapse_err_clear();
    ck_assert_msg(lapse_reader_open(path_in(name), dset, &r) == LAPSE_OK, "%s: %s", name,
                  lapse_errmsg());
    const lapse_input_info_t *in = lapse_reader_info(r);
    const lapse_box_t boxes[] = {
        {{0, 0, 0}, {in->shape[0], in->shape[1], in->shape[2]}},
        {{in->shape[0] > 1 ? 1 : 0, 3, 7}, {in->shape[0] > 1 ? in->shape[0] - 1 : 1, 19, 21}},
        {{in->shape[0] - 1, 36, 44}, {1, 1, 1}},
        {{0, 14, 15}, {1, 5, 2}},
    };
    size_t es = lapse_dtype_size(in->dtype);
    void *buf = malloc((size_t)in->shape[0] * 37 * 45 * es);
    ck_assert_ptr_nonnull(buf);
    for (int64_t t = 0; t < in->ntp; t++)
        for (size_t b = 0; b < sizeof boxes / sizeof boxes[0]; b++) {
            const lapse_box_t *bx = &boxes[b];
            ck_assert_msg(lapse_reader_read(r, t, bx, buf) == LAPSE_OK, "%s: %s", name,
                          lapse_errmsg());
            size_t i = 0;
            for (int64_t z = bx->off[0]; z < bx->off[0] + bx->dim[0]; z++)
                for (int64_t y = bx->off[1]; y < bx->off[1] + bx->dim[1]; y++)
                    for (int64_t x = bx->off[2]; x < bx->off[2] + bx->dim[2]; x++, i++) {
                        double want = val(t, z, y, x) + add, got;
                        if (in->dtype == LAPSE_DT_U8)
                            got = ((unsigned char *)buf)[i];
                        else if (in->dtype == LAPSE_DT_U16)
                            got = ((uint16_t *)buf)[i];
                        else
                            got = ((float *)buf)[i], want = (double)(float)(want / 4 + 0.25);
                        ck_assert_msg(got == want, "%s t=%lld (%lld,%lld,%lld): %g, want %g", name,
                                      (long long)t, (long long)z, (long long)y, (long long)x, got,
                                      want);
                    }
        }
    free(buf);
    lapse_reader_close(r);
}

static void expect_values(const char *name)
{
    expect_values_sel(name, "", 0);
}

/* Probe with selection dset must fail with LAPSE_EINPUT, failed_part part, and a message with
 * every word in words. */
static void expect_fail_sel(const char *name, const char *dset, int part, const char *const *words)
{
    lapse_input_info_t info = {0};
    lapse_err_clear();
    ck_assert_int_eq(lapse_reader_probe(path_in(name), dset, &info), LAPSE_EINPUT);
    ck_assert_int_eq(info.failed_part, part);
    ck_assert_msg(strstr(lapse_errmsg(), name) != NULL, "'%s' lacks the file", lapse_errmsg());
    for (int i = 0; words[i]; i++)
        ck_assert_msg(strstr(lapse_errmsg(), words[i]) != NULL, "message '%s' lacks '%s'",
                      lapse_errmsg(), words[i]);
    lapse_reader_t *r = (lapse_reader_t *)&info;
    ck_assert_int_eq(lapse_reader_open(path_in(name), dset, &r), LAPSE_EINPUT);
    ck_assert_ptr_eq(r, (lapse_reader_t *)&info); /* untouched on failure */
}

/* Probe must fail with LAPSE_EINPUT, failed_part 1, and a message with every word in words. */
static void expect_fail(const char *name, const char *const *words)
{
    expect_fail_sel(name, "", 1, words);
}

/* Probe name with selection dset: it has nchannels channels. */
static void expect_channels(const char *name, const char *dset, int64_t nchannels)
{
    lapse_input_info_t info;
    lapse_err_clear();
    ck_assert_msg(lapse_reader_probe(path_in(name), dset, &info) == LAPSE_OK, "%s: %s", name,
                  lapse_errmsg());
    ck_assert_int_eq(info.nchannels, nchannels);
}

START_TEST(multipage_strips)
{
    expect_info("plain.tif", "", 4, 1, 4, LAPSE_DT_U16);
    expect_values("plain.tif");
    expect_info("bigendian.tif", "", 4, 1, 2, LAPSE_DT_U16);
    expect_values("bigendian.tif");
    expect_axes_assumed("plain.tif", 1); /* no description: pages taken as z, said so */
    expect_axes_assumed("bigendian.tif", 1);
}
END_TEST

START_TEST(imagej)
{
    expect_info("ij_tzyx.tif", "", 4, 3, 4, LAPSE_DT_U16);
    expect_values("ij_tzyx.tif");
    expect_info("ij_tyx.tif", "", 3, 5, 1, LAPSE_DT_U8);
    expect_values("ij_tyx.tif");
    expect_axes_assumed("ij_tzyx.tif", 0);
    expect_axes_assumed("ij_tyx.tif", 0);
}
END_TEST

START_TEST(bigtiff_tiled_zlib_float)
{
    expect_info("big.tif", "", 4, 1, 3, LAPSE_DT_F32);
    expect_values("big.tif");
    expect_axes_assumed("big.tif", 1);
}
END_TEST

/* The decoded-strip cache of a compressed file: its size (one timepoint's strips by default,
 * what LAPSE_H5_INPUT_CACHE leaves room for, none for an uncompressed file or room for one); the
 * values of zlib strips and tiles read box by box with 2 slots (strips replaced between and
 * within reads), none and the default; a strip that fails to decode fails again after a good
 * read (it was not kept). */
static double cache_bytes(const char *name, int *compressed)
{
    lapse_input_info_t info;
    lapse_err_clear();
    ck_assert_msg(lapse_reader_probe(path_in(name), "", &info) == LAPSE_OK, "%s: %s", name,
                  lapse_errmsg());
    *compressed = info.compressed_chunks;
    return info.chunk_cache_bytes;
}

START_TEST(strip_cache)
{
    int comp = -1;
    unsetenv("LAPSE_H5_INPUT_CACHE");
    /* 4 pages a timepoint of 8 strips of 5 rows x 45 uint16 (450 bytes) */
    ck_assert_double_eq(cache_bytes("zlib_tzyx.tif", &comp), 4 * 8 * 450);
    ck_assert_int_eq(comp, 1);
    ck_assert_double_eq(cache_bytes("plain.tif", &comp), 0);
    ck_assert_int_eq(comp, 0);
    static const char *const budgets[] = {"1000", "1", "1500000"};
    for (size_t b = 0; b < 3; b++) {
        setenv("LAPSE_H5_INPUT_CACHE", budgets[b], 1);
        if (b == 0)
            ck_assert_double_eq(cache_bytes("zlib_tzyx.tif", &comp), 2 * 450);
        if (b == 1)
            ck_assert_double_eq(cache_bytes("zlib_tzyx.tif", &comp), 0);
        expect_values("zlib_tzyx.tif");
        expect_values("big.tif");
        expect_values("plain.tif");
    }
    unsetenv("LAPSE_H5_INPUT_CACHE");
    lapse_reader_t *r = NULL;
    ck_assert_int_eq(lapse_reader_open(path_in("zlib_bad.tif"), "", &r), LAPSE_OK);
    uint16_t buf[37 * 45];
    const lapse_box_t bad = {{1, 10, 0}, {1, 5, 45}}, good = {{1, 20, 0}, {1, 5, 45}};
    char first[600];
    lapse_err_clear();
    ck_assert_int_eq(lapse_reader_read(r, 0, &bad, buf), LAPSE_EREAD);
    ck_assert_msg(strstr(lapse_errmsg(), "strip 2") != NULL, "'%s' lacks the strip",
                  lapse_errmsg());
    snprintf(first, sizeof first, "%s", lapse_errmsg());
    lapse_err_clear();
    ck_assert_msg(lapse_reader_read(r, 0, &good, buf) == LAPSE_OK, "%s", lapse_errmsg());
    lapse_err_clear();
    ck_assert_int_eq(lapse_reader_read(r, 0, &bad, buf), LAPSE_EREAD);
    ck_assert_str_eq(lapse_errmsg(), first); /* decoded again: libtiff names the cause again */
    lapse_reader_close(r);
}
END_TEST

START_TEST(ome)
{
    expect_info("ome_tzyx.ome.tif", "", 4, 2, 3, LAPSE_DT_U16);
    expect_values("ome_tzyx.ome.tif");
    expect_info("ome_ztyx.ome.tif", "", 4, 2, 3, LAPSE_DT_U8); /* XYCTZ: t before z */
    expect_values("ome_ztyx.ome.tif");
    expect_axes_assumed("ome_tzyx.ome.tif", 0);
    expect_axes_assumed("ome_ztyx.ome.tif", 0);
}
END_TEST

/* tifffile's default JSON description with "axes": its axes, not pages as z planes. */
START_TEST(json_axes)
{
    expect_info("json_tzyx.tif", "", 4, 3, 4, LAPSE_DT_U16);
    expect_values("json_tzyx.tif");
    expect_info("json_tyx.tif", "", 3, 5, 1, LAPSE_DT_U8);
    expect_values("json_tyx.tif");
    expect_axes_assumed("json_tzyx.tif", 0);
    expect_axes_assumed("json_tyx.tif", 0);
    /* the file's own word: input.axes only where it agrees, as for ImageJ */
    expect_info("json_tyx.tif", "#axes=tyx", 3, 5, 1, LAPSE_DT_U8);
    expect_fail_sel("json_tzyx.tif", "#axes=tyx", 4,
                    (const char *[]){"input.axes is tyx", "JSON", "3 timepoints of 4", NULL});
    expect_fail_sel("json_tyx.tif", "#axes=zyx", 4, (const char *[]){"input.axes is zyx", NULL});
}
END_TEST

/* A C axis in the JSON description: one channel at a time, with input.channel. */
START_TEST(json_channels)
{
    expect_info("json_zcyx.tif", "#channel=0", 4, 1, 4, LAPSE_DT_U16);
    expect_info("json_zcyx.tif", "#channel=1", 4, 1, 4, LAPSE_DT_U16);
    expect_channels("json_zcyx.tif", "#channel=1", 2);
    expect_values_sel("json_zcyx.tif", "#channel=0", 0);
    expect_values_sel("json_zcyx.tif", "#channel=1", 100);
    expect_axes_assumed_sel("json_zcyx.tif", "#channel=1", 0);
    expect_fail("json_zcyx.tif", (const char *[]){"2 channels", "input.channel", NULL});
    expect_fail_sel("json_zcyx.tif", "#channel=2", 3, (const char *[]){"out of range", NULL});
    /* lower-case axes, C outermost, T before Z */
    expect_info("json_ctzyx.tif", "#channel=1", 4, 2, 3, LAPSE_DT_U16);
    expect_channels("json_ctzyx.tif", "#channel=1", 2);
    expect_values_sel("json_ctzyx.tif", "#channel=0", 0);
    expect_values_sel("json_ctzyx.tif", "#channel=1", 100);
    expect_axes_assumed_sel("json_ctzyx.tif", "#channel=0", 0);
    expect_fail("json_ctzyx.tif", (const char *[]){"2 channels", "input.channel", NULL});
}
END_TEST

/* A JSON description with "shape" only: one page axis of several planes is a plain multi-page
 * file (axes of 1 plane do not count); more are refused (which is t, z or c is unknown). */
START_TEST(json_shape_only)
{
    expect_info("json_shape3.tif", "", 4, 1, 4, LAPSE_DT_U16);
    expect_values("json_shape3.tif");
    expect_axes_assumed("json_shape3.tif", 1);
    expect_info("json_shape3.tif", "#axes=tyx", 3, 4, 1, LAPSE_DT_U16);
    expect_info("json_shape1x4.tif", "", 4, 1, 4, LAPSE_DT_U16); /* a leading 1 is no axis */
    expect_values("json_shape1x4.tif");
    expect_fail("json_shape4.tif",
                (const char *[]){"[3, 4, 37, 45]", "more than one page axis", "no \"axes\"",
                                 "metadata={'axes'", "ImageJ", NULL});
}
END_TEST

/* JSON descriptions whose axes lapse cannot use or whose shape is not the file's. */
START_TEST(json_refused)
{
    expect_fail("json_q.tif", (const char *[]){"[4, 37, 45]", "\"QYX\"", "'Q'", NULL});
    expect_fail("json_dup.tif", (const char *[]){"\"ZZYX\"", "'Z' twice", NULL});
    expect_fail("json_yzx.tif", (const char *[]){"\"YZX\"", "end in YX", NULL});
    expect_fail("json_count.tif",
                (const char *[]){"[3, 5, 37, 45]", "\"TZYX\"", "15 pages", "has 4", NULL});
    expect_fail("json_size.tif",
                (const char *[]){"[4, 45, 37]", "\"ZYX\"", "(Y, X) = (45, 37)", "(37, 45)", NULL});
}
END_TEST

/* By suffix (any case) without opening; by signature when the suffix says nothing; a dataset
 * name is accepted and not used. */
START_TEST(backend_choice)
{
    char err[64];
    ck_assert_ptr_eq(lapse_reader_backend_for_name("a/b.TIF"), &lapse_reader_tiff);
    ck_assert_ptr_eq(lapse_reader_backend_for_name("b.ome.tiff"), &lapse_reader_tiff);
    ck_assert_ptr_eq(lapse_reader_backend_for_name("b.btf"), &lapse_reader_tiff);
    ck_assert_int_eq(lapse_reader_tiff.needs_dataset, 0);
    ck_assert_int_eq(lapse_reader_hdf5.needs_dataset, 1);
    ck_assert_int_eq(lapse_reader_check_dataset("b.tif", "anything", err, sizeof err), 0);
    ck_assert_int_eq(lapse_reader_tiff.sniff(path_in("tiff_named.dat")), 1);
    ck_assert_int_eq(lapse_reader_tiff.sniff(path_in("big.tif")), 1);
    ck_assert_int_eq(lapse_reader_tiff.sniff(path_in("text.tif")), 0);
    ck_assert_int_eq(lapse_reader_tiff.sniff(path_in("absent")), 0);
    ck_assert_int_eq(lapse_reader_tiff.sniff(path_in("fifo")), 0); /* not opened: would block */
    expect_fail("fifo", (const char *[]){"not a regular file", NULL});
    expect_info("tiff_named.dat", "/raw", 4, 1, 4, LAPSE_DT_U16);
    expect_values("tiff_named.dat");
}
END_TEST

START_TEST(refused)
{
    expect_fail("channels.tif", (const char *[]){"2 channels", "input.channel", NULL});
    expect_fail("int8.tif", (const char *[]){"int8 is not supported", NULL});
    expect_fail("rgb.tif", (const char *[]){"3 samples per pixel", NULL});
    expect_fail("mismatch.tif", (const char *[]){"ImageJ", "describes 6 planes", "4 pages", NULL});
    expect_fail("ome_mismatch.ome.tif",
                (const char *[]){"OME-TIFF", "describes 3 planes", "2 pages", NULL});
    expect_fail("codec.tif", (const char *[]){"codec 65000", "cannot decode", NULL});
    expect_fail("bomb.tif", (const char *[]){"compressed strip decodes to 2147483648 bytes",
                                             "smaller strips", NULL});
    expect_fail("mixed.tif", (const char *[]){"page 1", "same size", NULL});
    expect_fail("truncated.tif", (const char *[]){"cannot be read", NULL});
    expect_fail("short_data.tif",
                (const char *[]){"strip 7 (bytes", "lies beyond the end of the file", NULL});
    expect_fail("text.tif", (const char *[]){"not a readable TIFF", NULL});
    /* sizes whose product wraps round to the page count (2 modulo 2^64): was accepted as
     * 2 timepoints of 2^63 - 1 planes */
    expect_fail("ij_wrap.tif", (const char *[]){"ImageJ", "images=2",
                                                "9223372036854775807 x "
                                                "9223372036854775807 x 2",
                                                NULL});
    expect_fail(
        "ome_wrap.ome.tif",
        (const char *[]){"OME-TIFF", "at least 9223372036854775807 planes", "2 pages", NULL});
    expect_fail("ome_pixels_first.tif", (const char *[]){"no Pixels element", NULL});
    expect_fail("absent.tif", (const char *[]){"no such file", NULL});
}
END_TEST

static Suite *tiff_suite(void)
{
    Suite *s = suite_create("reader_tiff");
    TCase *tc = tcase_create("tiff");
    tcase_add_test(tc, multipage_strips);
    tcase_add_test(tc, imagej);
    tcase_add_test(tc, bigtiff_tiled_zlib_float);
    tcase_add_test(tc, strip_cache);
    tcase_add_test(tc, ome);
    tcase_add_test(tc, json_axes);
    tcase_add_test(tc, json_channels);
    tcase_add_test(tc, json_shape_only);
    tcase_add_test(tc, json_refused);
    tcase_add_test(tc, backend_choice);
    tcase_add_test(tc, refused);
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
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/tiff_fixtures.py' '%s'",
             py ? py : "/usr/bin/python3", src ? src : ".", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot write the fixtures: %s\n", cmd);
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(tiff_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
