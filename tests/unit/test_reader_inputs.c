/*
 * test_reader_inputs.c - the input layouts beyond one plain image (io/reader.c and its
 * backends): channel axes (ImageJ ZCYX / TZCYX hyperstacks, OME-TIFF TCZYX, HDF5 [t,c,z,y,x])
 * read one channel at a time, int16 / uint32 / float64 files converted to float32 as they are
 * read, BigDataViewer HDF5 (setups, int16 cells as uint16 bits), one file per timepoint (natural
 * order; missing, extra, repeated and mismatched files and timepoint numbers of more than 18
 * digits refused naming them), the voxel size from the files' metadata, and the identity of a
 * many-file input. Files written by tifffile /
 * h5py (tests/py/input_fixtures.py); every voxel compared with the fixtures' formula.
 */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* The fixtures' v(t, c, z, y, x). */
static double v5(int64_t t, int64_t c, int64_t z, int64_t y, int64_t x)
{
    return (double)((t * 7 + c * 11 + z * 5 + y * 3 + x) % 251);
}

/* What a read must deliver for voxel (t, z, y, x), as a double. */
typedef double (*want_fn)(int64_t t, int64_t z, int64_t y, int64_t x);

static int64_t g_c; /* the channel / setup the want functions use */

static double want_c(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return v5(t, g_c, z, y, x);
}
static double want_i16(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return (double)(float)(v5(t, 0, z, y, x) - 100);
}
static double want_i16_stored(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return want_i16(t, z, y, x) + 32768; /* ij_cal.tif: the stored uint16 values */
}
static double want_quarter(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return (double)(float)(v5(t, 0, z, y, x) / 4); /* ij_one_be.tif: float32 v / 4 */
}
static double want_u32(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return (double)(float)(v5(t, 0, z, y, x) * 100000 + 7); /* rounded: beyond 2^24 */
}
static double want_f64(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return (double)(float)(v5(t, 0, z, y, x) / 3 + 1e-12);
}
static double want_bdv(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return v5(t, g_c, z, y, x) * 200 + 5; /* uint16 bits of the int16 cells */
}
static double want_bdv_i16(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return v5(t, 0, z, y, x) * 200 - 20000; /* signed: the setup's dataType says int16 */
}
static double want_tp(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return v5(t, 0, z, y, x);
}

/* Probe file:ds and check its info. */
static lapse_input_info_t expect_info(const char *file, const char *ds, int64_t ntp,
                                      lapse_dtype_t dt, lapse_dtype_t file_dt, int64_t nc)
{
    lapse_input_info_t info;
    memset(&info, 0, sizeof info);
    lapse_err_clear();
    lapse_status_t st = lapse_reader_probe(file, ds, &info);
    ck_assert_msg(st == LAPSE_OK, "%s %s: %s", file, ds, lapse_errmsg());
    ck_assert_int_eq(info.ntp, ntp);
    ck_assert_int_eq(info.shape[0], 4);
    ck_assert_int_eq(info.shape[1], 37);
    ck_assert_int_eq(info.shape[2], 45);
    ck_assert_int_eq(info.dtype, dt);
    ck_assert_int_eq(info.file_dtype, file_dt);
    ck_assert_int_eq(info.nchannels, nc);
    return info;
}

/* Read every timepoint of file:ds in a whole and an inner box; compare with want. */
static void expect_values(const char *file, const char *ds, want_fn want)
{
    lapse_reader_t *r = NULL;
    lapse_err_clear();
    ck_assert_msg(lapse_reader_open(file, ds, &r) == LAPSE_OK, "%s %s: %s", file, ds,
                  lapse_errmsg());
    const lapse_input_info_t *in = lapse_reader_info(r);
    const lapse_box_t boxes[] = {{{0, 0, 0}, {4, 37, 45}}, {{1, 3, 7}, {2, 19, 21}}};
    size_t es = lapse_dtype_size(in->dtype);
    void *buf = malloc(4 * 37 * 45 * es);
    ck_assert_ptr_nonnull(buf);
    for (int64_t t = in->ntp - 1; t >= 0; t--) /* backwards: a many-file input reopens */
        for (size_t b = 0; b < 2; b++) {
            const lapse_box_t *bx = &boxes[b];
            ck_assert_msg(lapse_reader_read(r, t, bx, buf) == LAPSE_OK, "%s: %s", file,
                          lapse_errmsg());
            size_t i = 0;
            for (int64_t z = bx->off[0]; z < bx->off[0] + bx->dim[0]; z++)
                for (int64_t y = bx->off[1]; y < bx->off[1] + bx->dim[1]; y++)
                    for (int64_t x = bx->off[2]; x < bx->off[2] + bx->dim[2]; x++, i++) {
                        double got = in->dtype == LAPSE_DT_U8    ? ((uint8_t *)buf)[i]
                                     : in->dtype == LAPSE_DT_U16 ? ((uint16_t *)buf)[i]
                                                                 : ((float *)buf)[i];
                        double w = want(t, z, y, x);
                        ck_assert_msg(got == w, "%s %s t=%lld (%lld,%lld,%lld): %.9g, want %.9g",
                                      file, ds, (long long)t, (long long)z, (long long)y,
                                      (long long)x, got, w);
                    }
        }
    free(buf);
    lapse_reader_close(r);
}

/* The probe and the open fail with LAPSE_EINPUT, failed_part part, every word in the message. */
static void expect_fail(const char *file, const char *ds, int part, const char *const *words)
{
    lapse_input_info_t info;
    memset(&info, 0, sizeof info);
    lapse_err_clear();
    ck_assert_msg(lapse_reader_probe(file, ds, &info) == LAPSE_EINPUT, "%s %s: not refused", file,
                  ds);
    ck_assert_int_eq(info.failed_part, part);
    for (int i = 0; words[i]; i++)
        ck_assert_msg(strstr(lapse_errmsg(), words[i]) != NULL, "message '%s' lacks '%s'",
                      lapse_errmsg(), words[i]);
    lapse_reader_t *r = NULL;
    lapse_err_clear();
    ck_assert_int_eq(lapse_reader_open(file, ds, &r), LAPSE_EINPUT);
    ck_assert_ptr_null(r);
}

static void expect_voxel(const lapse_input_info_t *in, double z, double y, double x)
{
    ck_assert_msg(fabs(in->voxel_size_um[0] - z) < 1e-9 && fabs(in->voxel_size_um[1] - y) < 1e-6 &&
                      fabs(in->voxel_size_um[2] - x) < 1e-6,
                  "voxel size [%g, %g, %g], want [%g, %g, %g]", in->voxel_size_um[0],
                  in->voxel_size_um[1], in->voxel_size_um[2], z, y, x);
}

START_TEST(tiff_channels)
{
    const char *f = path_in("ij_zcyx.tif");
    expect_fail(f, "", 1, (const char *[]){"3 channels", "input.channel (0 to 2)", NULL});
    for (g_c = 0; g_c < 3; g_c++) {
        char ds[32];
        snprintf(ds, sizeof ds, "#channel=%lld", (long long)g_c);
        expect_info(f, ds, 1, LAPSE_DT_U16, LAPSE_DT_U16, 3);
        expect_values(f, ds, want_c);
    }
    expect_fail(f, "#channel=3", 3, (const char *[]){"input.channel 3 is out of range", NULL});
    g_c = 1;
    expect_info(path_in("ij_tzcyx.tif"), "#channel=1", 2, LAPSE_DT_U8, LAPSE_DT_U8, 2);
    expect_values(path_in("ij_tzcyx.tif"), "#channel=1", want_c);
    g_c = 2;
    lapse_input_info_t in =
        expect_info(path_in("ome_tczyx.ome.tif"), "#channel=2", 2, LAPSE_DT_U16, LAPSE_DT_U16, 3);
    expect_values(path_in("ome_tczyx.ome.tif"), "#channel=2", want_c);
    expect_voxel(&in, 2.0, 0.25, 0.25);
    expect_fail(path_in("i16.tif"), "#channel=0", 3, (const char *[]){"no channel axis", NULL});
}
END_TEST

START_TEST(tiff_dtypes_and_voxel_size)
{
    lapse_input_info_t in;
    in = expect_info(path_in("i16.tif"), "", 1, LAPSE_DT_F32, LAPSE_DT_I16, 1);
    expect_voxel(&in, 0, 0, 0); /* tifffile's plain TIFF: resolution 1 without a unit */
    expect_values(path_in("i16.tif"), "", want_i16);
    /* one IFD (ImageJ beyond 4 GiB, tifffile truncate=True): planes by offset, both byte
     * orders; a file cut short is refused at the open */
    g_c = 0;
    expect_info(path_in("ij_one.tif"), "", 3, LAPSE_DT_U16, LAPSE_DT_U16, 1);
    expect_values(path_in("ij_one.tif"), "", want_c);
    expect_info(path_in("ij_one_be.tif"), "", 3, LAPSE_DT_F32, LAPSE_DT_F32, 1);
    expect_values(path_in("ij_one_be.tif"), "", want_quarter);
    expect_fail(path_in("ij_one_cut.tif"), "", 1,
                (const char *[]){"images=12", "hold 11 of them: the file is truncated", NULL});
    expect_fail(path_in("ij_one_ifd.tif"), "", 1,
                (const char *[]){"images=3",
                                 "whose directory (at byte 3338) lies where planes 2 "
                                 "to 3 would be",
                                 NULL});
    expect_fail(path_in("ome_series.ome.tif"), "", 1,
                (const char *[]){"describes 2 images (series)", "save each series", NULL});
    /* ImageJ's signed 16-bit calibration: the values Fiji shows; another calibration: stored */
    ck_assert_int_eq(
        expect_info(path_in("ij_s16.tif"), "", 1, LAPSE_DT_F32, LAPSE_DT_I16, 1).signed_stored,
        1); /* an output made before from it counts as another config's */
    ck_assert_int_eq(
        expect_info(path_in("i16.tif"), "", 1, LAPSE_DT_F32, LAPSE_DT_I16, 1).signed_stored, 0);
    expect_values(path_in("ij_s16.tif"), "", want_i16);
    expect_info(path_in("ij_cal.tif"), "", 1, LAPSE_DT_U16, LAPSE_DT_U16, 1);
    expect_values(path_in("ij_cal.tif"), "", want_i16_stored);
    expect_info(path_in("u32.tif"), "", 1, LAPSE_DT_F32, LAPSE_DT_U32, 1);
    expect_values(path_in("u32.tif"), "", want_u32);
    expect_info(path_in("f64.tif"), "", 1, LAPSE_DT_F32, LAPSE_DT_F64, 1);
    expect_values(path_in("f64.tif"), "", want_f64);
    in = expect_info(path_in("ij_spacing.tif"), "", 1, LAPSE_DT_U16, LAPSE_DT_U16, 1);
    expect_voxel(&in, 1.5, 0.25, 0.25);
}
END_TEST

START_TEST(hdf5_channels_and_dtypes)
{
    const char *f = path_in("d.h5");
    expect_fail(f, "/tczyx", 2, (const char *[]){"[t,c,z,y,x]", "3 channels", NULL});
    expect_fail(f, "/tczyx#channel=5", 3, (const char *[]){"out of range", "3 channels", NULL});
    expect_fail(f, "/i16#channel=0", 3, (const char *[]){"no channel axis", NULL});
    for (g_c = 0; g_c < 3; g_c += 2) {
        char ds[48];
        snprintf(ds, sizeof ds, "/tczyx#channel=%lld", (long long)g_c);
        lapse_input_info_t in = expect_info(f, ds, 2, LAPSE_DT_U16, LAPSE_DT_U16, 3);
        expect_voxel(&in, 2.0, 0.5, 0.25);
        expect_values(f, ds, want_c);
    }
    expect_info(f, "/i16", 2, LAPSE_DT_F32, LAPSE_DT_I16, 1);
    expect_values(f, "/i16", want_i16);
    expect_info(f, "/u32", 2, LAPSE_DT_F32, LAPSE_DT_U32, 1);
    expect_values(f, "/u32", want_u32);
    expect_info(f, "/f64", 2, LAPSE_DT_F32, LAPSE_DT_F64, 1);
    expect_values(f, "/f64", want_f64);
    /* no dataset and not BigDataViewer: the probe lists the datasets */
    expect_fail(f, "", 2, (const char *[]){"not a BigDataViewer file", "/tczyx", NULL});
}
END_TEST

START_TEST(bigdataviewer)
{
    const char *f = path_in("bdv.h5");
    g_c = 0;
    expect_info(f, "", 3, LAPSE_DT_U16, LAPSE_DT_U16, 1); /* found by its layout */
    expect_values(f, "", want_bdv);
    expect_values(f, "#format=bdv", want_bdv);
    g_c = 1;
    expect_info(f, "#format=bdv,setup=1", 3, LAPSE_DT_U16, LAPSE_DT_U16, 1);
    expect_values(f, "#setup=1", want_bdv);
    /* dataType "int16" (BigDataViewer 10.4.6+, lapse's int16 outputs): signed values */
    ck_assert_int_eq(
        expect_info(path_in("bdv_i16.h5"), "", 3, LAPSE_DT_F32, LAPSE_DT_I16, 1).signed_stored, 1);
    expect_values(path_in("bdv_i16.h5"), "", want_bdv_i16);
    expect_fail(path_in("bdv_types.h5"), "", 2,
                (const char *[]){"/t00001/s00/0/cells is not of timepoint 0's type", NULL});
    expect_fail(f, "#setup=2", 3, (const char *[]){"input.setup 2", "setups 0 to 1", NULL});
    expect_fail(f, "#channel=0", 3, (const char *[]){"input.setup", NULL});
    expect_fail(path_in("d.h5"), "#format=bdv", 2,
                (const char *[]){"not a BigDataViewer HDF5 file", NULL});
    expect_fail(path_in("i16.tif"), "#format=bdv", 3, (const char *[]){"BigDataViewer", NULL});
    /* refused at the probe, before any output: a gap in the timepoints, another extent */
    expect_fail(path_in("bdv_gap.h5"), "", 2,
                (const char *[]){"gap", "/t00001 is missing but /t00002 exists", NULL});
    expect_fail(path_in("bdv_extent.h5"), "", 2,
                (const char *[]){"/t00001/s00/0/cells is [4, 36, 45]", "[4, 37, 45]", NULL});
}
END_TEST

START_TEST(files_per_timepoint)
{
    char f[700]; /* path_in's buffers are reused */
    snprintf(f, sizeof f, "%s", path_in("tp/tp_*.tif"));
    lapse_input_info_t in = expect_info(f, "#files", 12, LAPSE_DT_U16, LAPSE_DT_U16, 1);
    expect_values(f, "#files", want_tp); /* tp_10 is timepoint 10: natural order */
    expect_fail(path_in("gap/tp_*.tif"), "#files", 1,
                (const char *[]){"timepoint number 2 is missing", "tp_1.tif", "tp_3.tif", NULL});
    expect_fail(path_in("extra/tp_*.tif"), "#files", 1, (const char *[]){"tp_x.tif", NULL});
    expect_fail(path_in("dup/tp_*.tif"), "#files", 1,
                (const char *[]){"tp_1.tif and", "tp_01.tif", "both", NULL});
    /* a mismatched file: the probe opens them all; an open only the first, the read the rest */
    lapse_input_info_t bad;
    lapse_reader_t *r = NULL;
    uint16_t vox;
    const lapse_box_t one = {{0, 0, 0}, {1, 1, 1}};
    lapse_err_clear();
    ck_assert_int_eq(lapse_reader_probe(path_in("shape/tp_*.tif"), "#files", &bad), LAPSE_EINPUT);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "shape/tp_1.tif"));
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "y=36"));
    lapse_err_clear();
    ck_assert_int_eq(lapse_reader_open(path_in("shape/tp_*.tif"), "#files", &r), LAPSE_OK);
    ck_assert_int_eq(lapse_reader_read(r, 0, &one, &vox), LAPSE_OK);
    ck_assert_int_eq(lapse_reader_read(r, 1, &one, &vox), LAPSE_EREAD);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "must match"));
    lapse_reader_close(r);
    expect_fail(path_in("multi/tp_*.tif"), "#files", 1,
                (const char *[]){"multi/tp_0.tif", "holds 2 timepoints", NULL});
    expect_fail(path_in("none/tp_*.tif"), "#files", 1, (const char *[]){"no file matches", NULL});
    /* a timepoint number at the end of 64 bits: refused, no overflow computing the next one */
    char **names = NULL;
    size_t nn = 0;
    ck_assert_int_eq(mkdir(path_in("huge"), 0700), 0);
    for (int i = 0; i < 2; i++) {
        FILE *e = fopen(path_in(i ? "huge/tp_x5.tif" : "huge/tp_9223372036854775807.tif"), "w");
        ck_assert_ptr_nonnull(e);
        fclose(e);
    }
    lapse_err_clear();
    ck_assert_int_eq(lapse_reader_files_list(path_in("huge/tp_*.tif"), &names, &nn), LAPSE_EINPUT);
    ck_assert_msg(strstr(lapse_errmsg(), "tp_9223372036854775807.tif has a timepoint number of "
                                         "more than 18 digits") != NULL,
                  "%s", lapse_errmsg());

    /* the identity covers every file: a changed time on a file that is not sampled shows */
    char a[LAPSE_INPUT_ID_LEN], b[LAPSE_INPUT_ID_LEN], what[128];
    ck_assert_int_eq(lapse_input_identity(f, "#files", &in, a, sizeof a), LAPSE_OK);
    ck_assert_int_eq(lapse_input_identity(f, "#files", &in, b, sizeof b), LAPSE_OK);
    ck_assert_str_eq(a, b);
    struct timespec ts[2] = {{0, UTIME_OMIT}, {1000000000, 0}}; /* older than the others */
    ck_assert_int_eq(utimensat(AT_FDCWD, path_in("tp/tp_3.tif"), ts, 0), 0);
    ck_assert_int_eq(lapse_input_identity(f, "#files", &in, b, sizeof b), LAPSE_OK);
    ck_assert_str_ne(a, b);
    lapse_input_identity_diff(a, b, what, sizeof what);
    ck_assert_msg(strstr(what, "content") != NULL, "diff '%s'", what);
    /* the alias check looks at every file */
    struct stat sb;
    char why[256];
    ck_assert_int_eq(stat(path_in("tp/tp_7.tif"), &sb), 0);
    ck_assert_int_eq(lapse_input_reads_file(f, "#files", &sb, why, sizeof why), 1);
    ck_assert_int_eq(stat(path_in("d.h5"), &sb), 0);
    ck_assert_int_eq(lapse_input_reads_file(f, "#files", &sb, why, sizeof why), 0);
}
END_TEST

START_TEST(selection_syntax)
{
    lapse_input_sel_t s;
    char err[128], out[64];
    ck_assert_int_eq(lapse_input_sel_parse("/raw", &s, err, sizeof err), 0);
    ck_assert(s.files == 0 && s.bdv == 0 && s.setup == -1 && s.channel == -1);
    ck_assert_str_eq(s.dataset, "/raw");
    ck_assert_int_eq(
        lapse_input_sel_parse("/r#files,format=bdv,setup=3,channel=12", &s, err, sizeof err), 0);
    ck_assert(s.files == 1 && s.bdv == 1 && s.setup == 3 && s.channel == 12);
    ck_assert_int_eq(lapse_input_sel_format(&s, out, sizeof out), 0);
    ck_assert_str_eq(out, "/r#files,format=bdv,setup=3,channel=12");
    ck_assert_int_eq(lapse_input_sel_parse("#channel=", &s, err, sizeof err), -1);
    ck_assert_int_eq(lapse_input_sel_parse("#channel=-1", &s, err, sizeof err), -1);
    ck_assert_int_eq(lapse_input_sel_parse("#bogus", &s, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "bogus"));
    /* input.axes: both words round trip, after the channel; nothing else is an axes word */
    ck_assert_int_eq(lapse_input_sel_parse("#channel=1,axes=tyx", &s, err, sizeof err), 0);
    ck_assert(s.channel == 1 && s.axes == LAPSE_AXES_TYX);
    ck_assert_int_eq(lapse_input_sel_format(&s, out, sizeof out), 0);
    ck_assert_str_eq(out, "#channel=1,axes=tyx");
    ck_assert_int_eq(lapse_input_sel_parse("#axes=zyx", &s, err, sizeof err), 0);
    ck_assert(s.axes == LAPSE_AXES_ZYX && s.channel == -1);
    ck_assert_int_eq(lapse_input_sel_format(&s, out, sizeof out), 0);
    ck_assert_str_eq(out, "#axes=zyx");
    ck_assert_int_eq(lapse_input_sel_parse("#axes=xyz", &s, err, sizeof err), -1);
    ck_assert_int_eq(lapse_input_sel_parse("#axes=", &s, err, sizeof err), -1);
}
END_TEST

static Suite *inputs_suite(void)
{
    Suite *s = suite_create("reader_inputs");
    TCase *tc = tcase_create("inputs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tiff_channels);
    tcase_add_test(tc, tiff_dtypes_and_voxel_size);
    tcase_add_test(tc, hdf5_channels_and_dtypes);
    tcase_add_test(tc, bigdataviewer);
    tcase_add_test(tc, files_per_timepoint);
    tcase_add_test(tc, selection_syntax);
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
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/input_fixtures.py' '%s'",
             py ? py : "/usr/bin/python3", src ? src : ".", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot write the fixtures: %s\n", cmd);
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(inputs_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
