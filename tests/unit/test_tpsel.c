/*
 * test_tpsel.c - timepoint selections: valid strings give the index lists the grammar in
 * tpsel.h defines (expected lists written out by hand), invalid ones are refused with a
 * message naming the item and its position, indices are range-checked against the image's
 * timepoint count, and formatting gives compact strings that parse back to the same list.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tpsel.h"

/* Parse sel against ntp and compare with the expected list. */
static void expect_list(const char *sel, int64_t ntp, const int64_t *want, int64_t nwant)
{
    int64_t *got = NULL, n = -1;
    char err[256] = "";
    int rc = lapse_tpsel_parse(sel, ntp, &got, &n, err, sizeof err);
    ck_assert_msg(rc == 0, "'%s' refused: %s", sel, err);
    ck_assert_ptr_nonnull(got);
    ck_assert_msg(n == nwant, "'%s': %lld indices, expected %lld", sel, (long long)n,
                  (long long)nwant);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "'%s': index %lld is %lld, expected %lld", sel,
                      (long long)i, (long long)got[i], (long long)want[i]);
    free(got);
}

/* Parse must fail; the message must contain every one of the NULL-terminated words, and the
 * outputs must be left unchanged. */
static void expect_error(const char *sel, int64_t ntp, const char *const *words)
{
    int64_t sentinel = 12345;
    int64_t *out = &sentinel, n = 777;
    char err[256] = "";
    int rc = lapse_tpsel_parse(sel, ntp, &out, &n, err, sizeof err);
    ck_assert_msg(rc == -1, "'%s' was accepted", sel);
    ck_assert_ptr_eq(out, &sentinel);
    ck_assert_int_eq(n, 777);
    for (int i = 0; words[i] != NULL; i++)
        ck_assert_msg(strstr(err, words[i]) != NULL, "'%s': message '%s' lacks '%s'", sel, err,
                      words[i]);
    /* The syntax-only mode refuses syntax errors the same way. */
    if (ntp < 0)
        ck_assert_int_eq(lapse_tpsel_parse(sel, -1, NULL, NULL, err, sizeof err), -1);
}

#define ERR(sel, ntp, ...)                                                                         \
    do {                                                                                           \
        static const char *const w_[] = {__VA_ARGS__, NULL};                                       \
        expect_error((sel), (ntp), w_);                                                            \
    } while (0)

START_TEST(test_single_and_ranges)
{
    expect_list("7", 10, (int64_t[]){7}, 1);
    expect_list("0-4", 10, (int64_t[]){0, 1, 2, 3, 4}, 5);
    expect_list("0-9:3", 10, (int64_t[]){0, 3, 6, 9}, 4);
    expect_list("2-9:3", 10, (int64_t[]){2, 5, 8}, 3);
    expect_list("4-4", 10, (int64_t[]){4}, 1);
    expect_list("4-4:5", 10, (int64_t[]){4}, 1);
    expect_list("0-99:50", 100, (int64_t[]){0, 50}, 2);
}
END_TEST

START_TEST(test_sorted_unique_and_spaces)
{
    expect_list("5, 1, 3, 1", 10, (int64_t[]){1, 3, 5}, 3);
    expect_list("2-4,3-6", 10, (int64_t[]){2, 3, 4, 5, 6}, 5);
    expect_list("  1 ,2\t, 0-8:4 ", 10, (int64_t[]){0, 1, 2, 4, 8}, 5);
    expect_list("9, 0-9:9", 10, (int64_t[]){0, 9}, 2);
    expect_list("1 - 3 : 2", 10, (int64_t[]){1, 3}, 2);
}
END_TEST

START_TEST(test_mixed_example)
{
    /* "0-99:2, 120": the even numbers 0..98 (50 of them), then 120. */
    int64_t want[51];
    for (int i = 0; i < 50; i++)
        want[i] = 2 * i;
    want[50] = 120;
    expect_list("0-99:2, 120", 121, want, 51);
    expect_list("120, 0-99:2", 200, want, 51);
}
END_TEST

START_TEST(test_all)
{
    expect_list("all", 4, (int64_t[]){0, 1, 2, 3}, 4);
    expect_list("", 3, (int64_t[]){0, 1, 2}, 3);
    expect_list("  all ", 2, (int64_t[]){0, 1}, 2);
    expect_list(NULL, 1, (int64_t[]){0}, 1);
    expect_list("all", 0, NULL, 0);
}
END_TEST

START_TEST(test_syntax_only)
{
    char err[128];
    ck_assert_int_eq(lapse_tpsel_parse("0-99:2, 120", -1, NULL, NULL, err, sizeof err), 0);
    ck_assert_int_eq(lapse_tpsel_parse("all", -1, NULL, NULL, err, sizeof err), 0);
    /* huge indices are fine without an image to check them against */
    ck_assert_int_eq(
        lapse_tpsel_parse("9223372036854775806-9223372036854775807", -1, NULL, NULL, err, 128), 0);
}
END_TEST

START_TEST(test_invalid_syntax)
{
    ERR("-3", -1, "\"-3\"", "position 1", "negative");
    ERR("0, 2--5", -1, "\"2--5\"", "position 4", "negative");
    ERR("5-3", -1, "\"5-3\"", "position 1", "greater");
    ERR("1, 10-2:2", 100, "\"10-2:2\"", "position 4", "greater");
    ERR("0-10:0", -1, "\"0-10:0\"", "position 1", "step");
    ERR("1, 2,", -1, "trailing comma", "position 5");
    ERR("1, 2, ", -1, "trailing comma");
    ERR("1,,2", -1, "position 3", "empty");
    ERR(", 1", -1, "position 1", "empty");
    ERR("abc", -1, "\"abc\"", "position 1", "expected");
    ERR("1x", -1, "\"1x\"", "'x'");
    ERR("3, 4 5", -1, "\"4 5\"", "position 4", "'5'");
    ERR("1-5:2:3", -1, "\"1-5:2:3\"", "':'");
    ERR("1:2", -1, "\"1:2\"", "':'");
    ERR("0-", -1, "\"0-\"", "end");
    ERR("0-5:", -1, "\"0-5:\"", "step");
    ERR("all, 3", -1, "position 1");
    ERR("1.5", -1, "\"1.5\"", "'.'");
}
END_TEST

START_TEST(test_overflow)
{
    ERR("99999999999999999999", -1, "position 1", "too large");
    ERR("0-99999999999999999999", -1, "too large");
    ERR("0-5:99999999999999999999", -1, "too large");
    /* INT64_MAX itself is a valid number */
    char err[128];
    ck_assert_int_eq(lapse_tpsel_parse("9223372036854775807", -1, NULL, NULL, err, 128), 0);
    ERR("9223372036854775808", -1, "too large");
}
END_TEST

START_TEST(test_range_check)
{
    ERR("3, 10", 10, "\"10\"", "position 4", "out of range", "10 timepoints");
    ERR("0-12:3", 12, "\"0-12:3\"", "out of range", "12");
    ERR("0", 0, "out of range");
    /* the end of a stepped range need not be selected: 0-10:4 is 0, 4, 8 */
    expect_list("0-10:4", 10, (int64_t[]){0, 4, 8}, 3);
    expect_list("9", 10, (int64_t[]){9}, 1);
}
END_TEST

START_TEST(test_small_error_buffer)
{
    char err[8];
    memset(err, 'x', sizeof err);
    ck_assert_int_eq(lapse_tpsel_parse("5-3", -1, NULL, NULL, err, sizeof err), -1);
    ck_assert_int_eq(err[7], '\0');
    ck_assert_int_eq(lapse_tpsel_parse("5-3", -1, NULL, NULL, NULL, 0), -1);
}
END_TEST

START_TEST(test_format)
{
    char buf[128];
    lapse_tpsel_format((int64_t[]){0, 1, 2, 3, 4, 7, 9, 10, 11, 12, 13}, 11, buf, sizeof buf);
    ck_assert_str_eq(buf, "0-4, 7, 9-13");
    lapse_tpsel_format((int64_t[]){0, 2, 4, 6}, 4, buf, sizeof buf);
    ck_assert_str_eq(buf, "0-6:2");
    lapse_tpsel_format((int64_t[]){3}, 1, buf, sizeof buf);
    ck_assert_str_eq(buf, "3");
    lapse_tpsel_format((int64_t[]){3, 8}, 2, buf, sizeof buf);
    ck_assert_str_eq(buf, "3, 8");
    lapse_tpsel_format(NULL, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_format_truncates)
{
    char buf[10];
    lapse_tpsel_format((int64_t[]){100, 200, 301, 402, 503}, 5, buf, sizeof buf);
    ck_assert_uint_lt(strlen(buf), sizeof buf);
    ck_assert_str_eq(buf + strlen(buf) - 3, "...");
}
END_TEST

START_TEST(test_format_roundtrip)
{
    /* Random sorted unique subsets of 0..199 format into strings that parse back to them. */
    uint64_t seed = 42;
    for (int iter = 0; iter < 200; iter++) {
        int64_t list[200], n = 0;
        double p = tu_uniform(&seed, 0.05, 0.95);
        for (int64_t t = 0; t < 200; t++) {
            if (tu_uniform(&seed, 0.0, 1.0) < p)
                list[n++] = t;
        }
        char buf[2048];
        lapse_tpsel_format(list, n, buf, sizeof buf);
        if (n == 0) {
            ck_assert_str_eq(buf, "");
            continue;
        }
        int64_t *got = NULL, m = 0;
        char err[256];
        ck_assert_msg(lapse_tpsel_parse(buf, 200, &got, &m, err, sizeof err) == 0, "%s: %s", buf,
                      err);
        ck_assert_int_eq(m, n);
        ck_assert_mem_eq(got, list, (size_t)n * sizeof *got);
        free(got);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tpsel");
    TCase *tc = tcase_create("tpsel");
    tcase_add_test(tc, test_single_and_ranges);
    tcase_add_test(tc, test_sorted_unique_and_spaces);
    tcase_add_test(tc, test_mixed_example);
    tcase_add_test(tc, test_all);
    tcase_add_test(tc, test_syntax_only);
    tcase_add_test(tc, test_invalid_syntax);
    tcase_add_test(tc, test_overflow);
    tcase_add_test(tc, test_range_check);
    tcase_add_test(tc, test_small_error_buffer);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_format_truncates);
    tcase_add_test(tc, test_format_roundtrip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
