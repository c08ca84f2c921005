/*
 * test_info.c - `lapse info` reports the task state of an output: per timepoint the tasks done
 * (marked in /lapse/done), failed (latest row status 1, not marked) and pending (the rest),
 * consecutive timepoints with identical counts merged into ranges, and totals; outputs without
 * /lapse/done fall back to the rows. Outputs are built with h5out on one rank, so the suite calls
 * MPI_Init and runs with CK_NOFORK.
 */
#include <check.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "h5out.h"
#include "info.h"
#include "testutil.h"

static char dir[512];
static char file[700];
static lapse_config_t cfg;
static char cfg_text[] = "input:\n  file: in.h5\n  dataset: /raw\n";

/* /result [6, 4, 8, 10] float32 in 4 tiles of [4, 4, 5]. */
static lapse_dset_spec_t spec;
static const lapse_state_spec_t state = {{4, 4, 5}, 4, "0123456789abcdef", "", {0, 0, 0}, 0};

static void setup(void)
{
    const char *d = tu_tmpdir();
    ck_assert_ptr_nonnull(d);
    snprintf(dir, sizeof dir, "%s", d);
    snprintf(file, sizeof file, "%s/out.h5", dir);
    memset(&cfg, 0, sizeof cfg);
    cfg.text = cfg_text;
    snprintf(cfg.input_file, sizeof cfg.input_file, "in.h5");
    snprintf(cfg.input_dataset, sizeof cfg.input_dataset, "/raw");
    memset(&spec, 0, sizeof spec);
    snprintf(spec.path, sizeof spec.path, "/result");
    spec.ndims = 4;
    int64_t dims[4] = {6, 4, 8, 10}, chunk[4] = {1, 4, 4, 5};
    memcpy(spec.dims, dims, sizeof dims);
    memcpy(spec.chunk, chunk, sizeof chunk);
    spec.dtype = LAPSE_DT_F32;
    lapse_err_clear();
}

static void teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* A row of task (t, tile) in run with status; the core box of tile k is quadrant k. */
static lapse_task_row_t row(int64_t run, int64_t t, int64_t tile, int32_t status)
{
    lapse_task_row_t r;
    memset(&r, 0, sizeof r);
    r.run_id = run;
    r.task_id = t * 4 + tile;
    r.timepoint = t;
    r.tile = tile;
    r.core_offset[1] = 4 * (tile / 2);
    r.core_offset[2] = 5 * (tile % 2);
    r.core_shape[0] = 4;
    r.core_shape[1] = 4;
    r.core_shape[2] = 5;
    snprintf(r.host, sizeof r.host, "node");
    snprintf(r.device, sizeof r.device, "dev");
    r.t_total = 1.0;
    r.status = status;
    return r;
}

static const char *g_run_tps = "0-5"; /* the timepoints put_run records */

static void put_run(lapse_h5out_t *o, int64_t id, const char *status)
{
    lapse_run_info_t run;
    memset(&run, 0, sizeof run);
    run.run_id = id;
    snprintf(run.start, sizeof run.start, "2024-01-02T03:04:05Z");
    snprintf(run.end, sizeof run.end, "2024-01-02T03:04:09Z");
    run.config_text = cfg_text;
    run.config_path = "cfg.yaml";
    run.input_file = "in.h5";
    run.input_dataset = "/raw";
    run.timepoints = g_run_tps;
    run.nranks = 1;
    run.status = status;
    run.fingerprint = state.fingerprint;
    ck_assert_int_eq(lapse_h5out_put_run(o, &run), LAPSE_OK);
}

/* Marks and rows of the scenario (two runs):
 *   t 0-2: every tile marked done (rows of run 1, status 0);
 *   t 3:   tiles 0, 1 done; tile 2 failed in run 1 (not marked) -> failed; tile 3 failed in
 *          run 1, abandoned (status 2) in run 2 -> pending;
 *   t 4:   tile 0 failed in run 1, done and marked in run 2 -> done; tile 1 failed in run 1,
 *          a status-0 row in run 2 but no mark -> pending; tiles 2, 3 never ran -> pending;
 *   t 5:   nothing ran -> 4 pending. */
static void make_scenario(void)
{
    lapse_h5out_t *o = NULL;
    lapse_task_row_t rows[32];
    int n = 0;
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_CREATE, &spec, 1, &cfg, &state, &o),
        LAPSE_OK);
    for (int64_t t = 0; t < 3; t++)
        for (int64_t k = 0; k < 4; k++) {
            ck_assert_int_eq(lapse_h5out_mark_done(o, t, k), LAPSE_OK);
            rows[n++] = row(1, t, k, 0);
        }
    ck_assert_int_eq(lapse_h5out_mark_done(o, 3, 0), LAPSE_OK);
    ck_assert_int_eq(lapse_h5out_mark_done(o, 3, 1), LAPSE_OK);
    rows[n++] = row(1, 3, 0, 0);
    rows[n++] = row(1, 3, 1, 0);
    rows[n++] = row(1, 3, 2, 1);
    rows[n++] = row(1, 3, 3, 1);
    rows[n++] = row(1, 4, 0, 1);
    rows[n++] = row(1, 4, 1, 1);
    ck_assert_int_eq(lapse_h5out_append_rows(o, rows, n), LAPSE_OK);
    put_run(o, 1, "interrupted");
    n = 0;
    ck_assert_int_eq(lapse_h5out_mark_done(o, 4, 0), LAPSE_OK);
    rows[n++] = row(2, 3, 3, 2);
    rows[n++] = row(2, 4, 0, 0);
    rows[n++] = row(2, 4, 1, 0);
    ck_assert_int_eq(lapse_h5out_append_rows(o, rows, n), LAPSE_OK);
    put_run(o, 2, "failed");
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
}

/* lapse info's output for file (malloc'ed). */
static char *info_text(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    lapse_status_t st = lapse_info_print(file, f);
    fclose(f);
    ck_assert_msg(st == LAPSE_OK, "lapse_info_print failed: %s", lapse_errmsg());
    return buf;
}

#define ASSERT_HAS(text, want)                                                                     \
    ck_assert_msg(strstr((text), (want)) != NULL, "missing \"%s\" in:\n%s", (want), (text))

START_TEST(counts_per_timepoint)
{
    make_scenario();
    char *out = info_text();
    ASSERT_HAS(out, "\ntimepoints done: 0-2 (3 of 6)\n");
    ASSERT_HAS(out, "\ntasks per timepoint (4 tiles of [4, 4, 5] each):\n"
                    "  0-2: 4 done\n"
                    "  3: 2 done, 1 pending, 1 failed\n"
                    "  4: 1 done, 3 pending\n"
                    "  5: 4 pending\n"
                    "  total: 15 done, 8 pending, 1 failed (of 24 tasks)\n");
    /* The rest of the summary is still there. */
    ASSERT_HAS(out, "\n  /result                  [6, 4, 8, 10] float32\n");
    ASSERT_HAS(out, "\n  run 1: interrupted, ");
    ASSERT_HAS(out, "\n  run 2: failed, ");
    ASSERT_HAS(out, "\ntasks: 21 rows\n");
    ASSERT_HAS(out, "\nrun 2 seconds per phase:\n");
    free(out);
}
END_TEST

/* Identical counts that are not consecutive stay separate lines; a fresh file is all pending. */
/* Device busy per rank: device seconds (upload + compute + download) over the end of the
 * rank's loop (the latest t_start + t_total); rows without t_start: over summed t_total. */
START_TEST(device_busy)
{
    lapse_h5out_t *o = NULL;
    lapse_task_row_t rows[4];
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_CREATE, &spec, 1, &cfg, &state, &o),
        LAPSE_OK);
    /* rank 0: two overlapping tasks, [0.5, 2.5] and [1.5, 4.0]: wall 4 s, device 0.5 + 1.5 */
    rows[0] = row(1, 0, 0, 0);
    rows[0].t_start = 0.5;
    rows[0].t_total = 2.0;
    rows[0].t_upload = 0.25;
    rows[0].t_compute = 0.25;
    rows[0].t_wait = 0.125;
    rows[1] = row(1, 0, 1, 0);
    rows[1].t_start = 1.5;
    rows[1].t_total = 2.5;
    rows[1].t_compute = 1.0;
    rows[1].t_download = 0.5;
    rows[1].t_wait = 0.25;
    /* rank 1: rows of an older output (no t_start): wall = summed t_total = 2 s, device 1 s */
    rows[2] = row(1, 0, 2, 0);
    rows[2].rank = 1;
    rows[2].t_compute = 0.75;
    rows[3] = row(1, 0, 3, 0);
    rows[3].rank = 1;
    rows[3].t_compute = 0.25;
    ck_assert_int_eq(lapse_h5out_append_rows(o, rows, 4), LAPSE_OK);
    put_run(o, 1, "done");
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
    char *out = info_text();
    ASSERT_HAS(out, "\nrun 1 device busy (device seconds / wall seconds of the task loop):\n"
                    "  rank 0: 2.000 s device / 4.000 s wall = 50.0% busy; host waited 0.375 s "
                    "for the device\n"
                    "  rank 1: 1.000 s device / 2.000 s wall = 50.0% busy; host waited 0.000 s "
                    "for the device (wall: summed task seconds)\n");
    /* voxels per second over the same walls, not the overlapping tasks' summed totals (4.5 s
     * on rank 0): 160 / 4 and 160 / 2; all ranks 320 / 6 */
    ASSERT_HAS(out, " 4.500          40\n");
    ASSERT_HAS(out, " 2.000          80\n");
    ASSERT_HAS(out, " 6.500       53.33\n");
    ASSERT_HAS(out, "core voxels done: 320; 53.33 voxels/s per rank (over each rank's task loop)");
    free(out);
}
END_TEST

START_TEST(ranges_only_for_consecutive_timepoints)
{
    lapse_h5out_t *o = NULL;
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_CREATE, &spec, 1, &cfg, &state, &o),
        LAPSE_OK);
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
    char *out0 = info_text();
    ASSERT_HAS(out0, "\ntimepoints done: none (0 of 6)\n");
    ASSERT_HAS(out0, "  0-5: 4 pending\n  total: 24 pending (of 24 tasks)\n");
    free(out0);
    o = NULL;
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_UPDATE, &spec, 1, &cfg, &state, &o),
        LAPSE_OK);
    for (int64_t t = 0; t < 6; t += 2)
        for (int64_t k = 0; k < 4; k++)
            ck_assert_int_eq(lapse_h5out_mark_done(o, t, k), LAPSE_OK);
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
    char *out = info_text();
    ASSERT_HAS(out, "\ntimepoints done: 0-4:2 (3 of 6)\n");
    ASSERT_HAS(out, "  0: 4 done\n  1: 4 pending\n  2: 4 done\n  3: 4 pending\n  4: 4 done\n"
                    "  5: 4 pending\n  total: 12 done, 12 pending (of 24 tasks)\n");
    free(out);
}
END_TEST

/* An output without /lapse/done (older lapse): the timepoints done come from the rows. */
START_TEST(without_marks_uses_rows)
{
    make_scenario();
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    ck_assert_int_ge(H5Ldelete(f, "/lapse/done", H5P_DEFAULT), 0);
    H5Fclose(f);
    char *out = info_text();
    ASSERT_HAS(out, "\ntimepoints done: 0-2 (3 of 6)\n");
    ASSERT_HAS(out, "\ntimepoints started but not done: 3-4\n");
    ck_assert_ptr_null(strstr(out, "tasks per timepoint"));
    free(out);
}
END_TEST

/* A run left "running" (killed): an earlier one is said to be killed, the latest one may still
 * run; runs that ended say neither. */
START_TEST(killed_runs)
{
    lapse_h5out_t *o = NULL;
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_CREATE, &spec, 1, &cfg, &state, &o),
        LAPSE_OK);
    put_run(o, 1, "running");
    put_run(o, 2, "done");
    put_run(o, 3, "running");
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
    char *out = info_text();
    ASSERT_HAS(out, "\n  run 1: running, start 2024-01-02T03:04:05Z, end 2024-01-02T03:04:09Z, 1 "
                    "rank, timepoints 0-5\n    killed before it finished (its done tasks are "
                    "kept)\n  run 2: done, ");
    ASSERT_HAS(out, "\n  run 2: done, start 2024-01-02T03:04:05Z, end 2024-01-02T03:04:09Z, 1 "
                    "rank, timepoints 0-5\n  run 3: running, ");
    ASSERT_HAS(out, "timepoints 0-5\n    still running, or stopped by a failure writing the "
                    "output or a kill before it finished: if no lapse holds the output's .lock, "
                    "run the same command again to continue\n");
    /* no rows: no table of zeros ("core voxels done: 0" for a run that finished tasks) */
    ASSERT_HAS(out, "\nrun 1 seconds per phase: no task rows (still running, or killed, before it "
                    "wrote them; the tasks it finished are counted in the marks above)\n");
    ASSERT_HAS(out, "\nrun 2 seconds per phase: no task rows (none were written)\n");
    ck_assert_ptr_null(strstr(out, "core voxels done: 0"));
    free(out);
}
END_TEST

/* A run's long timepoint selection (beyond what info shows) is cut after a whole item, and
 * says so (before 2026-12-05 it was cut at 255 characters, inside an item, without a word). */
START_TEST(long_selection_cut)
{
    char sel[4000];
    size_t n = 0;
    for (int t = 0; t < 2000 && n + 32 < sizeof sel; t += 7) /* "0-3, 7-10, 14-17, ..." */
        n += (size_t)snprintf(sel + n, sizeof sel - n, "%s%d-%d", t ? ", " : "", t, t + 3);
    g_run_tps = sel;
    lapse_h5out_t *o = NULL;
    ck_assert_int_eq(
        lapse_h5out_open(MPI_COMM_WORLD, file, LAPSE_MODE_CREATE, &spec, 1, &cfg, &state, &o),
        LAPSE_OK);
    put_run(o, 1, "done");
    ck_assert_int_eq(lapse_h5out_close(o), LAPSE_OK);
    g_run_tps = "0-5";
    char *out = info_text();
    const char *at = strstr(out, "timepoints 0-3, 7-10, ");
    ck_assert_ptr_nonnull(at);
    const char *end = strchr(at, '\n');
    ck_assert_ptr_nonnull(end);
    const char *cut = strstr(at, ", ... (cut)");
    ck_assert_msg(cut != NULL && cut < end, "no cut mark in: %.*s", (int)(end - at), at);
    /* the item before the mark is whole: "A-B" with B = A + 3, and where the stored text has it */
    const char *item = cut;
    while (item > at && item[-1] != ' ')
        item--;
    int a = -1, b = -1;
    ck_assert_int_eq(sscanf(item, "%d-%d", &a, &b), 2);
    ck_assert_int_eq(b, a + 3);
    ck_assert_int_eq(a % 7, 0);
    ck_assert_int_le((int)(cut - at), 1000);
    ck_assert_int_ge((int)(cut - at), 900);
    free(out);
}
END_TEST

static Suite *info_suite(void)
{
    Suite *s = suite_create("info");
    TCase *tc = tcase_create("state");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, counts_per_timepoint);
    tcase_add_test(tc, ranges_only_for_consecutive_timepoints);
    tcase_add_test(tc, without_marks_uses_rows);
    tcase_add_test(tc, device_busy);
    tcase_add_test(tc, killed_runs);
    tcase_add_test(tc, long_selection_cut);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    lapse_h5_init();
    SRunner *sr = srunner_create(info_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    MPI_Finalize();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
