/*
 * test_plan.c - plan invariants: for many shapes, tiles and halos, the cores of a timepoint
 * cover the image exactly once; every read box contains its core grown by the halo wherever
 * the image extends that far, and stays inside the image; tasks are timepoint-major; tiles:
 * auto fits its budget and keeps z whole when asked.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "testutil.h"

static int64_t rnd(uint64_t *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(tu_rand(s) % (uint64_t)(hi - lo + 1));
}

static void check_plan(const int64_t shape[3], const int64_t tile[3], const int64_t halo[3])
{
    int64_t tps[3] = {0, 4, 9};
    lapse_plan_t p;
    ck_assert_int_eq(lapse_plan_make(shape, tile, halo, tps, 3, &p), LAPSE_OK);
    ck_assert_int_eq(p.ntasks, 3 * p.ntiles);
    int64_t nvox = shape[0] * shape[1] * shape[2];
    unsigned char *hits = calloc((size_t)nvox, 1);
    ck_assert_ptr_nonnull(hits);
    for (int64_t i = 0; i < p.ntasks; i++) {
        lapse_task_t t;
        lapse_plan_task(&p, i, &t);
        ck_assert_int_eq(t.id, t.t * p.ntiles + t.tile);
        ck_assert_int_eq(t.t, tps[i / p.ntiles]);
        ck_assert_int_eq(t.tile, i % p.ntiles);
        ck_assert_int_le(lapse_box_voxels(&t.core), p.max_core_voxels);
        ck_assert_int_le(lapse_box_voxels(&t.read), p.max_read_voxels);
        for (int a = 0; a < 3; a++) {
            ck_assert_int_ge(t.core.dim[a], 1);
            /* read box inside the image */
            ck_assert_int_ge(t.read.off[a], 0);
            ck_assert_int_le(t.read.off[a] + t.read.dim[a], shape[a]);
            /* read box reaches halo beyond the core, or the image edge */
            int64_t want_lo = t.core.off[a] - halo[a] < 0 ? 0 : t.core.off[a] - halo[a];
            int64_t end = t.core.off[a] + t.core.dim[a] + halo[a];
            int64_t want_hi = end > shape[a] ? shape[a] : end;
            ck_assert_int_le(t.read.off[a], want_lo);
            ck_assert_int_ge(t.read.off[a] + t.read.dim[a], want_hi);
        }
        if (i / p.ntiles == 1) { /* count coverage on one timepoint */
            for (int64_t z = t.core.off[0]; z < t.core.off[0] + t.core.dim[0]; z++)
                for (int64_t y = t.core.off[1]; y < t.core.off[1] + t.core.dim[1]; y++)
                    for (int64_t x = t.core.off[2]; x < t.core.off[2] + t.core.dim[2]; x++)
                        hits[(z * shape[1] + y) * shape[2] + x]++;
        }
    }
    for (int64_t v = 0; v < nvox; v++)
        ck_assert_msg(hits[v] == 1, "voxel %lld covered %d times", (long long)v, hits[v]);
    free(hits);
    lapse_plan_free(&p);
}

START_TEST(cores_cover_once_and_read_boxes_hold_halo)
{
    uint64_t s = 12345;
    for (int n = 0; n < 300; n++) {
        int64_t shape[3], tile[3], halo[3];
        for (int a = 0; a < 3; a++) {
            shape[a] = rnd(&s, 1, 40);
            tile[a] = rnd(&s, 1, 45); /* sometimes larger than the image */
            halo[a] = rnd(&s, 0, 12);
        }
        check_plan(shape, tile, halo);
    }
}
END_TEST

START_TEST(select_keeps_pending_tasks_only)
{
    int64_t shape[3] = {4, 10, 10}, tile[3] = {2, 5, 10}, halo[3] = {1, 1, 1}, tps[2] = {1, 3};
    unsigned char done[5 * 4] = {0}; /* 5 timepoints x 4 tiles */
    lapse_plan_t p;
    ck_assert_int_eq(lapse_plan_make(shape, tile, halo, tps, 2, &p), LAPSE_OK);
    ck_assert_int_eq(p.ntiles, 4);
    done[1 * 4 + 0] = done[1 * 4 + 2] = 1; /* t=1: tiles 0, 2 done */
    done[3 * 4 + 3] = 1;                   /* t=3: tile 3 done */
    done[0 * 4 + 1] = 1;                   /* unselected timepoint: irrelevant */
    ck_assert_int_eq(lapse_plan_select(&p, done), LAPSE_OK);
    ck_assert_int_eq(p.ntasks, 5);
    int64_t want[5][2] = {{1, 1}, {1, 3}, {3, 0}, {3, 1}, {3, 2}};
    for (int64_t i = 0; i < p.ntasks; i++) {
        lapse_task_t t;
        lapse_plan_task(&p, i, &t);
        ck_assert_int_eq(t.t, want[i][0]);
        ck_assert_int_eq(t.tile, want[i][1]);
        ck_assert_int_eq(t.id, t.t * 4 + t.tile);
    }
    lapse_plan_free(&p);
}
END_TEST

START_TEST(untiled_plan_reads_whole_image)
{
    int64_t shape[3] = {5, 17, 33}, tile[3] = {5, 17, 33}, halo[3] = {3, 3, 3}, tp = 2;
    lapse_plan_t p;
    ck_assert_int_eq(lapse_plan_make(shape, tile, halo, &tp, 1, &p), LAPSE_OK);
    ck_assert_int_eq(p.ntiles, 1);
    lapse_task_t t;
    lapse_plan_task(&p, 0, &t);
    for (int a = 0; a < 3; a++) {
        ck_assert_int_eq(t.read.off[a], 0);
        ck_assert_int_eq(t.read.dim[a], shape[a]);
        ck_assert_int_eq(t.core.dim[a], shape[a]);
    }
    ck_assert_int_eq(t.t, 2);
    lapse_plan_free(&p);
}
END_TEST

/* The tile that records a timepoint's input sum is the one whose core holds the centre voxel,
 * also on ragged grids (the last tile of an axis smaller) and untiled. */
START_TEST(centre_tile_holds_the_centre_voxel)
{
    int64_t shapes[3][3] = {{24, 70, 90}, {5, 17, 33}, {1, 64, 7}};
    int64_t tiles[3][3] = {{8, 32, 48}, {5, 17, 33}, {1, 5, 2}}, halo[3] = {0, 0, 0}, tp = 0;
    for (int c = 0; c < 3; c++) {
        lapse_plan_t p;
        ck_assert_int_eq(lapse_plan_make(shapes[c], tiles[c], halo, &tp, 1, &p), LAPSE_OK);
        int64_t k = lapse_plan_centre_tile(&p);
        ck_assert_int_ge(k, 0);
        ck_assert_int_lt(k, p.ntiles);
        lapse_task_t t;
        lapse_plan_task(&p, k, &t);
        for (int a = 0; a < 3; a++) {
            ck_assert_int_le(t.core.off[a], shapes[c][a] / 2);
            ck_assert_int_gt(t.core.off[a] + t.core.dim[a], shapes[c][a] / 2);
        }
        lapse_plan_free(&p);
    }
}
END_TEST

START_TEST(bad_plan_is_refused)
{
    int64_t shape[3] = {5, 17, 33}, tile[3] = {0, 17, 33}, halo[3] = {0, 0, 0}, tp = 0;
    lapse_plan_t p;
    lapse_err_clear();
    ck_assert_int_eq(lapse_plan_make(shape, tile, halo, &tp, 1, &p), LAPSE_ECONFIG);
    ck_assert_int_eq(p.ntasks, 0);
    lapse_err_clear();
}
END_TEST

/* Cost: 4 bytes per read voxel, as a float32 work buffer. */
static unsigned long long cost4(const void *ctx, long long rv, long long cv)
{
    (void)ctx;
    (void)cv;
    return (unsigned long long)rv * 4ULL;
}

/* A box rule other than a symmetric halo (a later flip or transform): read one more plane below
 * in z and two more columns to the right in x, clipped. */
static int64_t lopsided(const void *ctx, const lapse_box_t *core, lapse_box_t *read)
{
    const int64_t *shape = ctx;
    *read = *core;
    if (read->off[0] > 0) {
        read->off[0]--;
        read->dim[0]++;
    }
    read->dim[2] =
        core->off[2] + core->dim[2] + 2 > shape[2] ? shape[2] - core->off[2] : core->dim[2] + 2;
    return lapse_box_voxels(read);
}

static int64_t shrinks(const void *ctx, const lapse_box_t *core, lapse_box_t *read)
{
    (void)ctx;
    *read = *core;
    read->dim[1]--;
    return lapse_box_voxels(read);
}

/* An upsampling by 2 per axis: the read box is the core halved (rounded out), the largest
 * buffer the core itself. */
static int64_t upsampled(const void *ctx, const lapse_box_t *core, lapse_box_t *read)
{
    (void)ctx;
    for (int a = 0; a < 3; a++) {
        read->off[a] = core->off[a] / 2;
        read->dim[a] = (core->off[a] + core->dim[a] + 1) / 2 - read->off[a];
    }
    return lapse_box_voxels(core);
}

/* A geometric rule (a flip of x in an input of 30 columns, tiles over 23): the read box is
 * elsewhere than the core, and the task's largest buffer is twice the read box. */
static int64_t mirrored(const void *ctx, const lapse_box_t *core, lapse_box_t *read)
{
    (void)ctx;
    *read = *core;
    read->off[2] = 30 - (core->off[2] + core->dim[2]);
    return 2 * lapse_box_voxels(read);
}

START_TEST(read_boxes_from_a_box_rule)
{
    const int64_t shape[3] = {9, 10, 23}, tile[3] = {4, 10, 5}, halo[3] = {0, 0, 0};
    const int64_t tp = 0;
    lapse_plan_t p;
    ck_assert_int_eq(lapse_plan_make(shape, tile, halo, &tp, 1, &p), LAPSE_OK);
    ck_assert_int_eq(lapse_plan_set_read_box(&p, NULL, lopsided, shape), LAPSE_OK);
    int64_t most = 0;
    for (int64_t i = 0; i < p.ntasks; i++) {
        lapse_task_t t;
        lapse_plan_task(&p, i, &t);
        int64_t z0 = t.core.off[0] > 0 ? t.core.off[0] - 1 : 0;
        int64_t x1 = t.core.off[2] + t.core.dim[2] + 2;
        ck_assert_int_eq(t.read.off[0], z0);
        ck_assert_int_eq(t.read.off[0] + t.read.dim[0], t.core.off[0] + t.core.dim[0]);
        ck_assert_int_eq(t.read.off[2], t.core.off[2]);
        ck_assert_int_eq(t.read.off[2] + t.read.dim[2], x1 < shape[2] ? x1 : shape[2]);
        most = lapse_box_voxels(&t.read) > most ? lapse_box_voxels(&t.read) : most;
    }
    ck_assert_int_eq(p.max_read_voxels, most);
    ck_assert_int_eq(most, 5 * 10 * 7);
    /* a rule whose box does not hold the core is refused and leaves the plan as it was */
    lapse_err_clear();
    ck_assert_int_eq(lapse_plan_set_read_box(&p, NULL, shrinks, NULL), LAPSE_ERUNTIME);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "does not hold its core"));
    ck_assert_int_eq(p.max_read_voxels, most);
    /* geometric steps: boxes in another image need not hold the core, but must lie in it */
    const int64_t in30[3] = {9, 10, 30}, in20[3] = {9, 10, 20};
    ck_assert_int_eq(lapse_plan_set_read_box(&p, in30, mirrored, NULL), LAPSE_OK);
    ck_assert_int_eq(p.max_read_voxels, 2 * 4 * 10 * 5);
    ck_assert_int_eq(p.in_shape[2], 30);
    lapse_task_t t;
    lapse_plan_task(&p, 0, &t);
    ck_assert_int_eq(t.read.off[2], 25);
    lapse_err_clear();
    ck_assert_int_eq(lapse_plan_set_read_box(&p, in20, mirrored, NULL), LAPSE_ERUNTIME);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "leaves the image"));
    ck_assert_int_eq(p.in_shape[2], 30);
    lapse_plan_free(&p);
}
END_TEST

START_TEST(auto_tile_fits_budget)
{
    int64_t shape[3] = {64, 512, 300}, halo[3] = {2, 4, 4}, tile[3];
    unsigned long long budget = 4ULL * 1000 * 1000;
    ck_assert_int_eq(
        lapse_plan_auto_tile(shape, halo, 0, budget, budget, cost4, NULL, NULL, NULL, tile),
        LAPSE_OK);
    long long rv = 1;
    for (int a = 0; a < 3; a++) {
        ck_assert_int_ge(tile[a], 1);
        ck_assert_int_le(tile[a], shape[a]);
        int64_t r = tile[a] + 2 * halo[a];
        rv *= r < shape[a] ? r : shape[a];
    }
    ck_assert_uint_le((unsigned long long)rv * 4ULL, budget);
    /* a whole image that fits is one tile */
    ck_assert_int_eq(
        lapse_plan_auto_tile(shape, halo, 0, 1ULL << 40, 1ULL << 40, cost4, NULL, NULL, NULL, tile),
        LAPSE_OK);
    ck_assert_int_eq(tile[0] * tile[1] * tile[2], shape[0] * shape[1] * shape[2]);
    /* keep_z never splits z */
    ck_assert_int_eq(
        lapse_plan_auto_tile(shape, halo, 1, budget * 4, budget * 4, cost4, NULL, NULL, NULL, tile),
        LAPSE_OK);
    ck_assert_int_eq(tile[0], shape[0]);
    /* impossible budget: a clear config error */
    lapse_err_clear();
    ck_assert_int_eq(lapse_plan_auto_tile(shape, halo, 1, 100, 100, cost4, NULL, NULL, NULL, tile),
                     LAPSE_ECONFIG);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "no tile fits"));
    lapse_err_clear();
    /* a box rule (a 2x upsampling: the read box is half the core per axis, the largest buffer
     * the core) sizes the tile by what it reports, not by the halo */
    int64_t zero[3] = {0, 0, 0};
    ck_assert_int_eq(
        lapse_plan_auto_tile(shape, zero, 0, budget, budget, cost4, NULL, upsampled, NULL, tile),
        LAPSE_OK);
    long long most = 0;
    for (int64_t z = 0; z < shape[0]; z += tile[0])
        for (int64_t y = 0; y < shape[1]; y += tile[1])
            for (int64_t x = 0; x < shape[2]; x += tile[2]) {
                lapse_box_t c = {{z, y, x}, {tile[0], tile[1], tile[2]}}, r;
                for (int a = 0; a < 3; a++)
                    c.dim[a] = c.off[a] + tile[a] > shape[a] ? shape[a] - c.off[a] : tile[a];
                long long v = (long long)upsampled(NULL, &c, &r);
                most = v > most ? v : most;
            }
    ck_assert_uint_le((unsigned long long)most * 4ULL, budget);
    ck_assert_uint_gt((unsigned long long)most * 4ULL * 2ULL, budget); /* the largest that fits */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cores_cover_once_and_read_boxes_hold_halo);
    tcase_add_test(tc, untiled_plan_reads_whole_image);
    tcase_add_test(tc, select_keeps_pending_tasks_only);
    tcase_add_test(tc, bad_plan_is_refused);
    tcase_add_test(tc, centre_tile_holds_the_centre_voxel);
    tcase_add_test(tc, auto_tile_fits_budget);
    tcase_add_test(tc, read_boxes_from_a_box_rule);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
