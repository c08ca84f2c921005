/*
 * test_exchange.c - the unit in which the reduction rounds' exchange (ph_exchange in
 * src/exec/phases.c) counts its MPI_Allgatherv, whose counts are ints: 8 bytes while the ranks'
 * data rounded up to 8 bytes count at most INT_MAX units together (up to 16 GiB), then the
 * smallest power of two that keeps the count within the limit, up to 1 GiB; 0 beyond. Checked
 * against a brute-force search over the powers of two, on sizes around every boundary.
 */
#include <check.h>
#include <limits.h>
#include <stdlib.h>

#include "exec/phases_int.h"

/* Units of `unit` bytes the sizes need together. */
static long long units_of(const long long *sizes, int n, long long unit)
{
    long long u = 0;
    for (int r = 0; r < n; r++)
        u += (sizes[r] + unit - 1) / unit;
    return u;
}

/* The answer by search: the first power of two from 8 to 1 GiB within the limit, else 0. */
static size_t brute(const long long *sizes, int n, long long limit)
{
    for (long long unit = 8; unit <= (1LL << 30); unit *= 2)
        if (units_of(sizes, n, unit) <= limit)
            return (size_t)unit;
    return 0;
}

START_TEST(test_small_data_in_bytes8)
{
    const long long sizes[3] = {0, 24, 4096};
    ck_assert_uint_eq(ph_exchange_unit(sizes, 3, INT_MAX), 8);
    const long long none[2] = {0, 0};
    ck_assert_uint_eq(ph_exchange_unit(none, 2, INT_MAX), 8);
}
END_TEST

/* Over 2 GiB (the old limit in bytes) still travels in 8-byte units up to 16 GiB of counts;
 * beyond that the unit doubles exactly when the count would pass INT_MAX. */
START_TEST(test_large_data)
{
    const long long gib = 1LL << 30;
    long long sizes[2] = {3 * gib, 3 * gib}; /* 6 GiB: 805306368 units of 8 bytes */
    ck_assert_uint_eq(ph_exchange_unit(sizes, 2, INT_MAX), 8);
    sizes[0] = 8LL * (INT_MAX / 2); /* with the next: exactly INT_MAX units of 8 bytes */
    sizes[1] = 8LL * (INT_MAX / 2 + 1);
    ck_assert_uint_eq(ph_exchange_unit(sizes, 2, INT_MAX), 8);
    sizes[1] += 1; /* one byte more is one unit more: over */
    ck_assert_uint_eq(ph_exchange_unit(sizes, 2, INT_MAX), 16);
    const long long huge[1] = {(1LL << 30) * (long long)INT_MAX + 1}; /* even 1 GiB units fail */
    ck_assert_uint_eq(ph_exchange_unit(huge, 1, INT_MAX), 0);
}
END_TEST

/* A small limit (LAPSE_EXCHANGE_UNITS in the tests) against the search, over many sizes. */
START_TEST(test_against_search)
{
    unsigned seed = 12345;
    for (int trial = 0; trial < 2000; trial++) {
        long long sizes[5];
        int n = 1 + trial % 5;
        for (int r = 0; r < n; r++) {
            seed = seed * 1103515245u + 12345u;
            sizes[r] = (long long)(seed >> 8) % (trial % 2 ? 100000 : 1000);
            if (seed % 7 == 0)
                sizes[r] = 0;
        }
        long long limit = n + (long long)(seed % 200);
        size_t want = brute(sizes, n, limit), got = ph_exchange_unit(sizes, n, limit);
        ck_assert_msg(got == want, "trial %d: unit %zu, expected %zu", trial, got, want);
        ck_assert_msg(got > 0 && units_of(sizes, n, (long long)got) <= limit, "trial %d", trial);
        if (got > 8)
            ck_assert_msg(units_of(sizes, n, (long long)got / 2) > limit, "trial %d: not smallest",
                          trial);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("exchange");
    TCase *tc = tcase_create("exchange");
    tcase_add_test(tc, test_small_data_in_bytes8);
    tcase_add_test(tc, test_large_data);
    tcase_add_test(tc, test_against_search);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
