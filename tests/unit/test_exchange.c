/*
 * test_exchange.c - the unit in which the reduction rounds' exchange (ph_exchange in
 * src/exec/phases.c) counts its MPI_Allgatherv, whose counts are ints: 8 bytes while the ranks'
 * data rounded up to 8 bytes count at most INT_MAX units together (up to 16 GiB), then the
 * smallest power of two that keeps the count within the limit, up to 1 GiB; 0 beyond. Checked
 * against a brute-force search over the powers of two, on sizes around every boundary. And the
 * exchange itself on one rank (MPI_COMM_SELF): with move, the rank's own records land in all[]
 * as the very blobs it gave (no copy: the 6.4 GiB of tile data in run AM of docs/benchmarks.md)
 * and the blobs they replace come back to it (for reuse), without move as equal copies; an empty
 * record arrives as a non-NULL blob of size 0 (the rounds' "no partial" check). Calls MPI_Init, so
 * the suite runs with CK_NOFORK.
 */
#include <check.h>
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

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

/* Three records for indices 4, 1 and 2 of all[6]: 13 bytes, an empty one, 40 bytes; all[4]
 * holds an older blob the exchange must replace (and free, or with move hand back). */
static void records(int64_t idx[3], lapse_blob_t mine[3], lapse_blob_t all[6])
{
    memset(all, 0, 6 * sizeof *all);
    idx[0] = 4;
    idx[1] = 1;
    idx[2] = 2;
    size_t sizes[3] = {13, 0, 40};
    for (int i = 0; i < 3; i++) {
        mine[i].size = sizes[i];
        mine[i].data = sizes[i] ? malloc(sizes[i]) : NULL;
        for (size_t b = 0; b < sizes[i]; b++)
            ((unsigned char *)mine[i].data)[b] = (unsigned char)(17 * i + 3 * b + 1);
    }
    all[4].data = malloc(5);
    all[4].size = 5;
}

/* all[] against the records' bytes; others empty. */
static void check_all(const lapse_blob_t all[6])
{
    size_t sizes[3] = {13, 0, 40};
    int64_t at[3] = {4, 1, 2};
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_nonnull(all[at[i]].data);
        ck_assert_uint_eq(all[at[i]].size, sizes[i]);
        for (size_t b = 0; b < sizes[i]; b++)
            ck_assert_uint_eq(((const unsigned char *)all[at[i]].data)[b],
                              (unsigned char)(17 * i + 3 * b + 1));
    }
    ck_assert_ptr_null(all[0].data);
    ck_assert_ptr_null(all[3].data);
    ck_assert_ptr_null(all[5].data);
}

START_TEST(test_move_on_one_rank)
{
    int64_t idx[3];
    lapse_blob_t mine[3], all[6];
    records(idx, mine, all);
    void *given[3] = {mine[0].data, mine[1].data, mine[2].data}, *old = all[4].data;
    ck_assert_int_eq(ph_exchange(MPI_COMM_SELF, 1, idx, mine, 3, all, 6, 1), LAPSE_OK);
    check_all(all);
    ck_assert_ptr_eq(all[4].data, given[0]); /* the same blobs: nothing copied */
    ck_assert_ptr_eq(all[2].data, given[2]);
    ck_assert_ptr_eq(mine[0].data, old); /* the blob it replaced, back for reuse (not freed) */
    ck_assert_uint_eq(mine[0].size, 5);
    for (int i = 1; i < 3; i++) {
        ck_assert_ptr_null(mine[i].data);
        ck_assert_uint_eq(mine[i].size, 0);
    }
    for (int i = 0; i < 3; i++)
        lapse_blob_free(&mine[i]);
    for (int i = 0; i < 6; i++)
        lapse_blob_free(&all[i]);
}
END_TEST

START_TEST(test_copy_on_one_rank)
{
    int64_t idx[3];
    lapse_blob_t mine[3], all[6];
    records(idx, mine, all);
    ck_assert_int_eq(ph_exchange(MPI_COMM_SELF, 1, idx, mine, 3, all, 6, 0), LAPSE_OK);
    check_all(all);
    ck_assert_ptr_ne(all[4].data, mine[0].data); /* copies: the caller keeps its blobs */
    ck_assert_ptr_ne(all[2].data, mine[2].data);
    ck_assert_uint_eq(mine[2].size, 40);
    ck_assert_int_eq(memcmp(all[2].data, mine[2].data, 40), 0);
    for (int i = 0; i < 3; i++)
        lapse_blob_free(&mine[i]);
    for (int i = 0; i < 6; i++)
        lapse_blob_free(&all[i]);
}
END_TEST

/* Without move, a record lands in the blob all[] already holds where the sizes match (no
 * fresh pages), and replaces one of another size. */
START_TEST(test_copy_into_same_size)
{
    int64_t idx[3];
    lapse_blob_t mine[3], all[6];
    records(idx, mine, all);
    static unsigned char held[13]; /* not from malloc: freeing it instead of reusing it aborts */
    lapse_blob_free(&all[4]);
    all[4].data = held; /* the size of record 0 */
    all[4].size = 13;
    all[2].data = malloc(7); /* not record 2's 40 bytes */
    all[2].size = 7;
    void *same = all[4].data;
    ck_assert_int_eq(ph_exchange(MPI_COMM_SELF, 1, idx, mine, 3, all, 6, 0), LAPSE_OK);
    check_all(all);
    ck_assert_ptr_eq(all[4].data, same);
    all[4].data = NULL;
    for (int i = 0; i < 3; i++)
        lapse_blob_free(&mine[i]);
    for (int i = 0; i < 6; i++)
        lapse_blob_free(&all[i]);
}
END_TEST

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    Suite *s = suite_create("exchange");
    TCase *tc = tcase_create("exchange");
    tcase_add_test(tc, test_small_data_in_bytes8);
    tcase_add_test(tc, test_large_data);
    tcase_add_test(tc, test_against_search);
    tcase_add_test(tc, test_move_on_one_rank);
    tcase_add_test(tc, test_copy_on_one_rank);
    tcase_add_test(tc, test_copy_into_same_size);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    MPI_Finalize();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
