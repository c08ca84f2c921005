/*
 * test_chunkmap.c - io/chunkmap: every chunk's address from the map equals HDF5's own lookup
 * (H5Dget_chunk_info_by_coord) for early-allocated unfiltered datasets whose chunks lie in one
 * run (index nodes sized by lapse_chunkmap_istore_k) or in several (smaller nodes that split);
 * no map where the pattern cannot be proven: a compressed dataset, a dataset with unallocated
 * chunks. Serial HDF5 files in a temporary directory.
 */
#include <check.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/chunkmap.h"
#include "testutil.h"

static char file[700];

/* A [t, z, y, x] int16 dataset of dims with chunks cd in a new file whose chunk index nodes hold
 * 2 * ik chunks; gzip when deflate, chunks allocated when written (none written) when late. */
static hid_t make(hid_t *f, const hsize_t *dims, const hsize_t *cd, unsigned ik, int deflate,
                  int late)
{
    const char *d = tu_tmpdir();
    ck_assert_ptr_nonnull(d);
    snprintf(file, sizeof file, "%s/chunks.h5", d);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS);
    ck_assert_int_ge(H5Pset_istore_k(fcpl, ik), 0);
    ck_assert_int_ge(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST), 0);
    *f = H5Fcreate(file, H5F_ACC_TRUNC, fcpl, fapl);
    ck_assert_int_ge(*f, 0);
    hid_t space = H5Screate_simple(4, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert_int_ge(H5Pset_chunk(dcpl, 4, cd), 0);
    ck_assert_int_ge(H5Pset_alloc_time(dcpl, late ? H5D_ALLOC_TIME_LATE : H5D_ALLOC_TIME_EARLY), 0);
    if (deflate)
        ck_assert_int_ge(H5Pset_deflate(dcpl, 1), 0);
    else
        ck_assert_int_ge(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), 0);
    hid_t dset = H5Dcreate2(*f, "/d", H5T_STD_I16LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert_int_ge(dset, 0);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Pclose(fapl);
    H5Pclose(fcpl);
    return dset;
}

/* Every chunk of dset: the map's address equals HDF5's. Returns the number of chunks. */
static long check_all(hid_t dset, const lapse_chunkmap_t *m, const hsize_t *dims, const hsize_t *cd)
{
    hsize_t off[4];
    long n = 0;
    for (off[0] = 0; off[0] < dims[0]; off[0] += cd[0])
        for (off[1] = 0; off[1] < dims[1]; off[1] += cd[1])
            for (off[2] = 0; off[2] < dims[2]; off[2] += cd[2])
                for (off[3] = 0; off[3] < dims[3]; off[3] += cd[3]) {
                    haddr_t want = HADDR_UNDEF, got = HADDR_UNDEF;
                    unsigned mask = 0;
                    hsize_t size = 0;
                    ck_assert_int_ge(H5Dget_chunk_info_by_coord(dset, off, &mask, &want, &size), 0);
                    ck_assert_int_eq(lapse_chunkmap_addr(m, off, &got), 0);
                    ck_assert_msg(got == want, "chunk (%llu,%llu,%llu,%llu): map %llu, HDF5 %llu",
                                  (unsigned long long)off[0], (unsigned long long)off[1],
                                  (unsigned long long)off[2], (unsigned long long)off[3],
                                  (unsigned long long)got, (unsigned long long)want);
                    n++;
                }
    return n;
}

static const hsize_t dims[4] = {12, 5, 30, 41}, cd[4] = {1, 2, 4, 4}; /* 12*3*8*11 = 3168 */
static const hsize_t nchunks = 3168, bytes = 1 * 2 * 4 * 4 * 2;

START_TEST(one_run_with_lapse_nodes)
{
    hid_t f, dset = make(&f, dims, cd, lapse_chunkmap_istore_k((int64_t)nchunks), 0, 0);
    lapse_chunkmap_t *m = NULL;
    ck_assert_int_eq(lapse_chunkmap_build(dset, 4, cd, bytes, &m), LAPSE_OK);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(lapse_chunkmap_runs(m), 1);
    ck_assert_int_le(lapse_chunkmap_lookups(m), 2 + 16);
    ck_assert_int_eq(check_all(dset, m, dims, cd), (long)nchunks);
    hsize_t bad[4] = {0, 0, 0, 3}, edge[4] = {0, 0, 0, 44}; /* not an origin; past the end */
    haddr_t a;
    ck_assert_int_eq(lapse_chunkmap_addr(m, bad, &a), -1);
    ck_assert_int_eq(lapse_chunkmap_addr(m, edge, &a), -1);
    lapse_chunkmap_free(m);
    H5Dclose(dset);
    H5Fclose(f);
}
END_TEST

START_TEST(several_runs_when_nodes_split)
{
    /* nodes of 2 * 400 chunks: the index splits, its new nodes lie between the chunks */
    hid_t f, dset = make(&f, dims, cd, 400, 0, 0);
    lapse_chunkmap_t *m = NULL;
    ck_assert_int_eq(lapse_chunkmap_build(dset, 4, cd, bytes, &m), LAPSE_OK);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_gt(lapse_chunkmap_runs(m), 1);
    ck_assert_int_eq(check_all(dset, m, dims, cd), (long)nchunks);
    lapse_chunkmap_free(m);
    H5Dclose(dset);
    H5Fclose(f);
}
END_TEST

START_TEST(default_nodes_map_or_none)
{
    /* HDF5's default nodes (32): a run per few dozen chunks, more than the lookup budget */
    hid_t f, dset = make(&f, dims, cd, 32, 0, 0);
    lapse_chunkmap_t *m = NULL;
    ck_assert_int_eq(lapse_chunkmap_build(dset, 4, cd, bytes, &m), LAPSE_OK);
    if (m != NULL) /* had the runs been few, the map must be right */
        ck_assert_int_eq(check_all(dset, m, dims, cd), (long)nchunks);
    lapse_chunkmap_free(m);
    H5Dclose(dset);
    H5Fclose(f);
}
END_TEST

START_TEST(no_map_compressed_or_unallocated)
{
    hid_t f, dset = make(&f, dims, cd, lapse_chunkmap_istore_k((int64_t)nchunks), 1, 0);
    lapse_chunkmap_t *m = NULL;
    ck_assert_int_eq(lapse_chunkmap_build(dset, 4, cd, bytes, &m), LAPSE_OK);
    ck_assert_ptr_null(m); /* compressed chunks are smaller than bytes */
    H5Dclose(dset);
    H5Fclose(f);
    dset = make(&f, dims, cd, lapse_chunkmap_istore_k((int64_t)nchunks), 0, 1);
    ck_assert_int_eq(lapse_chunkmap_build(dset, 4, cd, bytes, &m), LAPSE_OK);
    ck_assert_ptr_null(m); /* no chunk allocated */
    H5Dclose(dset);
    H5Fclose(f);
}
END_TEST

START_TEST(istore_k_bounds)
{
    ck_assert_uint_eq(lapse_chunkmap_istore_k(0), 32);
    ck_assert_uint_eq(lapse_chunkmap_istore_k(63), 32);
    ck_assert_uint_eq(lapse_chunkmap_istore_k(3168), 1585);
    ck_assert_uint_eq(lapse_chunkmap_istore_k(65533), 32767);
    ck_assert_uint_eq(lapse_chunkmap_istore_k(1000000), 32767);
}
END_TEST

static Suite *chunkmap_suite(void)
{
    Suite *s = suite_create("chunkmap");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, one_run_with_lapse_nodes);
    tcase_add_test(tc, several_runs_when_nodes_split);
    tcase_add_test(tc, default_nodes_map_or_none);
    tcase_add_test(tc, no_map_compressed_or_unallocated);
    tcase_add_test(tc, istore_k_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(chunkmap_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
