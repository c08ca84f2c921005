/*
 * test_sample.c - the synthetic time-lapse: same seed gives the same bytes, another seed other
 * bytes; blobs stand well above the background and move between timepoints; bad arguments and
 * an existing target are refused without leaving files behind.
 */
#include <check.h>
#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "io/reader.h"
#include "sample.h"
#include "testutil.h"

static char dir[512];
static const int64_t shape[3] = {20, 96, 80};
#define NTP 3

static const char *path_in(const char *name)
{
    static char p[4][700];
    static int i = 0;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
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

/* The whole /raw dataset of file, checked to be uint16 [NTP, shape]. Caller frees. */
static uint16_t *read_raw(const char *file)
{
    lapse_input_info_t info;
    ck_assert_int_eq(lapse_reader_probe(file, "/raw", &info), LAPSE_OK);
    ck_assert_int_eq(info.ndims, 4);
    ck_assert_int_eq(info.ntp, NTP);
    ck_assert_int_eq(info.dtype, LAPSE_DT_U16);
    for (int a = 0; a < 3; a++)
        ck_assert_int_eq(info.shape[a], shape[a]);
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "/raw", H5P_DEFAULT);
    size_t n = (size_t)(NTP * shape[0] * shape[1] * shape[2]);
    uint16_t *v = malloc(n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

static size_t count_files(void)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(same_seed_same_bytes)
{
    const char *a = path_in("a.h5"), *b = path_in("b.h5"), *c = path_in("c.h5");
    ck_assert_int_eq(lapse_sample_write(a, NTP, shape, 42), LAPSE_OK);
    ck_assert_int_eq(lapse_sample_write(b, NTP, shape, 42), LAPSE_OK);
    ck_assert_int_eq(lapse_sample_write(c, NTP, shape, 43), LAPSE_OK);
    size_t n = (size_t)(NTP * shape[0] * shape[1] * shape[2]);
    uint16_t *va = read_raw(a), *vb = read_raw(b), *vc = read_raw(c);
    ck_assert_int_eq(memcmp(va, vb, n * sizeof *va), 0);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++)
        differ += va[i] != vc[i];
    ck_assert_uint_gt(differ, n / 2);
    free(va);
    free(vb);
    free(vc);
    ck_assert_uint_eq(count_files(), 3); /* no temporary files left */
}
END_TEST

START_TEST(blobs_above_background_and_moving)
{
    const char *a = path_in("a.h5");
    ck_assert_int_eq(lapse_sample_write(a, NTP, shape, 7), LAPSE_OK);
    uint16_t *v = read_raw(a);
    size_t tp = (size_t)(shape[0] * shape[1] * shape[2]);
    for (int t = 0; t < NTP; t++) {
        const uint16_t *p = v + (size_t)t * tp;
        uint16_t lo = 65535, hi = 0;
        size_t bright = 0;
        for (size_t i = 0; i < tp; i++) {
            lo = p[i] < lo ? p[i] : lo;
            hi = p[i] > hi ? p[i] : hi;
            bright += p[i] > 600;
        }
        /* Background is 100-300 plus noise; blobs peak at 500-3000 above it. */
        ck_assert_uint_ge(lo, 30);
        ck_assert_uint_le(lo, 300);
        ck_assert_uint_ge(hi, 700);
        /* Blobs are a small part of the volume but more than a few voxels. */
        ck_assert_uint_gt(bright, 20);
        ck_assert_uint_lt(bright, tp / 4);
    }
    /* Movement: bright voxels of timepoint 0 and 2 are not the same set. */
    size_t moved = 0;
    for (size_t i = 0; i < tp; i++)
        moved += (v[i] > 600) != (v[2 * tp + i] > 600);
    ck_assert_uint_gt(moved, 10);
    free(v);
}
END_TEST

START_TEST(refuses_bad_arguments_and_existing_file)
{
    const char *a = path_in("a.h5");
    int64_t bad[3] = {4, 0, 4};
    ck_assert_int_eq(lapse_sample_write(a, NTP, bad, 1), LAPSE_EUSAGE);
    ck_assert_int_eq(lapse_sample_write(a, 0, shape, 1), LAPSE_EUSAGE);
    ck_assert_uint_eq(count_files(), 0);
    int64_t tiny[3] = {1, 8, 8};
    ck_assert_int_eq(lapse_sample_write(a, 1, tiny, 1), LAPSE_OK);
    lapse_err_clear();
    ck_assert_int_eq(lapse_sample_write(a, 1, tiny, 1), LAPSE_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "exists"));
    /* An unwritable location fails without a partial file. */
    ck_assert_int_ne(lapse_sample_write(path_in("nodir/x.h5"), 1, tiny, 1), LAPSE_OK);
    ck_assert_uint_eq(count_files(), 1);
}
END_TEST

static Suite *sample_suite(void)
{
    Suite *s = suite_create("sample");
    TCase *tc = tcase_create("sample");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, same_seed_same_bytes);
    tcase_add_test(tc, blobs_above_background_and_moving);
    tcase_add_test(tc, refuses_bad_arguments_and_existing_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sample_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
