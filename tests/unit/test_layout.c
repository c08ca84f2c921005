/*
 * test_layout.c - the output schema module (io/layout.h): the /lapse/tasks compound type has
 * exactly the table's fields, in order, and round-trips a row through a file; run group names
 * and the reserved /lapse prefix. (The agreement with the Python helpers is unit_schema.)
 */
#include <check.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "io/layout.h"
#include "testutil.h"

START_TEST(row_type_fields)
{
    hid_t t = H5I_INVALID_HID;
    ck_assert_int_eq(lapse_layout_row_type(&t), LAPSE_OK);
    ck_assert_int_eq(H5Tget_size(t), sizeof(lapse_task_row_t));
    int n = H5Tget_nmembers(t);
    ck_assert_int_eq(n, lapse_layout_row_nfields());
    for (int i = 0; i < n; i++) {
        char *name = H5Tget_member_name(t, (unsigned)i);
        ck_assert_str_eq(name, lapse_layout_row_field(i));
        H5free_memory(name);
    }
    ck_assert_ptr_null(lapse_layout_row_field(n));
    ck_assert_ptr_null(lapse_layout_row_field(-1));
    ck_assert_str_eq(lapse_layout_row_field(0), "run_id");
    ck_assert_str_eq(lapse_layout_row_field(n - 5), "status");
    ck_assert_str_eq(lapse_layout_row_field(n - 4), "nonfinite"); /* issue 8 item 10 */
    ck_assert_str_eq(lapse_layout_row_field(n - 3), "t_start");   /* issue 12 */
    ck_assert_str_eq(lapse_layout_row_field(n - 2), "t_wait");
    ck_assert_str_eq(lapse_layout_row_field(n - 1), "clipped");
    H5Tclose(t);
}
END_TEST

START_TEST(row_round_trip)
{
    const char *dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
    char path[600];
    snprintf(path, sizeof path, "%s/rows.h5", dir);
    lapse_task_row_t w, r;
    memset(&w, 0, sizeof w);
    memset(&r, 0, sizeof r);
    w.run_id = 3;
    w.task_id = 17;
    w.core_shape[2] = 9;
    w.rank = 1;
    snprintf(w.host, sizeof w.host, "node-a");
    snprintf(w.device, sizeof w.device, "gpu 0");
    w.t_total = 1.5;
    w.bytes_out = 1234;
    w.status = LAPSE_ROW_ABANDONED;
    hid_t t = H5I_INVALID_HID;
    ck_assert_int_eq(lapse_layout_row_type(&t), LAPSE_OK);
    hsize_t one = 1;
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t s = H5Screate_simple(1, &one, NULL);
    hid_t d = H5Dcreate2(f, "rows", t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    ck_assert_int_ge(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &w), 0);
    ck_assert_int_ge(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &r), 0);
    ck_assert_int_eq(r.task_id, 17);
    ck_assert_int_eq(r.core_shape[2], 9);
    ck_assert_str_eq(r.device, "gpu 0");
    ck_assert_int_eq(r.status, LAPSE_ROW_ABANDONED);
    ck_assert(r.t_total == 1.5);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(f);
    H5Tclose(t);
    remove(path);
    remove(dir);
}
END_TEST

START_TEST(names)
{
    char buf[64];
    ck_assert_str_eq(lapse_layout_run_path(12, buf, sizeof buf), LAPSE_LAYOUT_RUNS "/12");
    int64_t id = -1;
    ck_assert_int_eq(lapse_layout_run_id("12", &id), 0);
    ck_assert_int_eq(id, 12);
    ck_assert_int_eq(lapse_layout_run_id("x12", &id), -1);
    ck_assert_int_eq(lapse_layout_run_id("12x", &id), -1);
    ck_assert_int_eq(lapse_layout_run_id("", &id), -1);
    ck_assert_int_eq(id, 12);
    ck_assert_int_eq(lapse_layout_reserved("/lapse"), 1);
    ck_assert_int_eq(lapse_layout_reserved("/lapse/tasks"), 1);
    ck_assert_int_eq(lapse_layout_reserved("lapse/done"), 1);
    ck_assert_int_eq(lapse_layout_reserved("/lapsed"), 0);
    ck_assert_int_eq(lapse_layout_reserved("/result/lapse"), 0);
    ck_assert_int_eq(lapse_layout_reserved("/"), 0);
}
END_TEST

static Suite *layout_suite(void)
{
    Suite *s = suite_create("layout");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, row_type_fields);
    tcase_add_test(tc, row_round_trip);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    lapse_h5_init();
    SRunner *sr = srunner_create(layout_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
