/*
 * test_progress.c - rank 0's progress lines (progress.h) with the clock given by the test: the
 * ETA of a run whose first wave's rounds took long is the task loops' rate over the tasks left
 * (before 2026-12-05 the rounds counted as task time: 13 s of rounds and 1 of 192 tasks done
 * said ETA 0:41:17 for a run that ended 0.2 s later), the rounds of the waves left are added at
 * the finished waves' mean, no ETA is guessed before a task is done, and rounds are reported
 * while they run.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

/* A progress report into a memory stream (not a terminal: log lines every interval). */
typedef struct {
    FILE *f;
    char *text;
    size_t len;
    lapse_progress_t p;
} sink_t;

static void sink_open(sink_t *s, int64_t total, double now)
{
    setenv("LAPSE_PROGRESS_INTERVAL", "5", 1);
    s->text = NULL;
    s->f = open_memstream(&s->text, &s->len);
    ck_assert_ptr_nonnull(s->f);
    lapse_progress_init(&s->p, s->f, total, now);
}

/* The text printed so far (valid until sink_close). */
static const char *sink_text(sink_t *s)
{
    fflush(s->f);
    return s->text;
}

static void sink_close(sink_t *s)
{
    fclose(s->f);
    free(s->text);
}

/* One wave: 13 s of rounds, then one task of 192 in 0.01 s: the ETA is about 1.9 s (191 x
 * 0.01), not 41 minutes. */
START_TEST(rounds_are_not_task_time)
{
    sink_t s;
    sink_open(&s, 192, 100.0);
    lapse_progress_waves(&s.p, 1);
    lapse_progress_pause(&s.p, 100.0);
    lapse_progress_resume(&s.p, 113.0, 1);
    lapse_progress_update(&s.p, 1, 1000, 113.01, 1);
    ck_assert_msg(strstr(sink_text(&s), "progress 1/192 tasks (0.5%)") != NULL, "%s", s.text);
    ck_assert_msg(strstr(s.text, "elapsed 0:00:13, ETA 0:00:02\n") != NULL, "%s", s.text);
    sink_close(&s);
}
END_TEST

/* Four waves of 10 s rounds and 10 s of 25 tasks each: after the first wave's tasks (25 of 100
 * done at 20 s) 75 tasks take 30 s and 3 waves' rounds 30 s more: ETA 0:01:00. During the
 * second wave's rounds (at 25 s, 5 s into them) the same remaining work less nothing: the
 * current rounds are not task time, and the waves left still count 3 (the current one's
 * rounds did not end): 30 + 30 = 60 s. */
START_TEST(waves_left_add_their_rounds)
{
    sink_t s;
    sink_open(&s, 100, 0.0);
    lapse_progress_waves(&s.p, 4);
    lapse_progress_pause(&s.p, 0.0);
    lapse_progress_resume(&s.p, 10.0, 1);
    lapse_progress_update(&s.p, 25, 25000, 20.0, 1);
    ck_assert_msg(strstr(sink_text(&s), "progress 25/100 tasks (25.0%)") != NULL, "%s", s.text);
    ck_assert_msg(strstr(s.text, "elapsed 0:00:20, ETA 0:01:00\n") != NULL, "%s", s.text);
    lapse_progress_pause(&s.p, 20.0);
    lapse_progress_update(&s.p, 25, 25000, 25.0, 1);
    ck_assert_msg(strstr(sink_text(&s), "elapsed 0:00:25, ETA 0:01:00\n") != NULL, "%s", s.text);
    sink_close(&s);
}
END_TEST

/* No task done yet: no ETA is guessed ("?"); a run without global steps keeps the plain rate
 * (10 of 40 tasks in 10 s: ETA 0:00:30); a finished run says 0. */
START_TEST(plain_rate_and_unknown)
{
    sink_t s;
    sink_open(&s, 40, 0.0);
    lapse_progress_update(&s.p, 0, 0, 3.0, 1);
    ck_assert_msg(strstr(sink_text(&s), "progress 0/40 tasks (0.0%), 0 Mvoxel/s, elapsed 0:00:03, "
                                        "ETA ?\n") != NULL,
                  "%s", s.text);
    lapse_progress_update(&s.p, 10, 10, 10.0, 1);
    ck_assert_msg(strstr(sink_text(&s), "elapsed 0:00:10, ETA 0:00:30\n") != NULL, "%s", s.text);
    lapse_progress_finish(&s.p, 40, 40, 20.0);
    ck_assert_msg(strstr(sink_text(&s), "progress 40/40 tasks (100.0%), 2e-06 Mvoxel/s, elapsed "
                                        "0:00:20, ETA 0:00:00\n") != NULL,
                  "%s", s.text);
    sink_close(&s);
}
END_TEST

/* Rounds are reported while they run: the run's first at once (the rounds began), the others
 * once an interval (5 s) has passed since the last line, naming the wave when there are
 * several. */
START_TEST(rounds_reported)
{
    sink_t s;
    sink_open(&s, 64, 0.0);
    lapse_progress_waves(&s.p, 2);
    lapse_progress_pause(&s.p, 0.0);
    lapse_progress_round(&s.p, 1, 1, "threshold_otsu", 0, 1.0);
    ck_assert_msg(strstr(sink_text(&s), "lapse: progress 0/64 tasks, global steps of wave 1/2: "
                                        "round 1 (threshold_otsu), elapsed 0:00:01\n") != NULL,
                  "%s", s.text);
    lapse_progress_round(&s.p, 1, 2, "threshold_otsu", 0, 5.5); /* not due */
    ck_assert_ptr_null(strstr(sink_text(&s), "round 2"));
    lapse_progress_round(&s.p, 1, 7, "connected_components_labeling", 0, 6.5);
    ck_assert_msg(strstr(sink_text(&s), "lapse: progress 0/64 tasks, global steps of wave 1/2: "
                                        "round 7 (connected_components_labeling), elapsed "
                                        "0:00:07\n") != NULL,
                  "%s", s.text);
    lapse_progress_round(&s.p, 1, 8, "connected_components_labeling", 0, 7.5); /* not due */
    ck_assert_ptr_null(strstr(sink_text(&s), "round 8"));
    sink_close(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("progress");
    TCase *tc = tcase_create("progress");
    tcase_add_test(tc, rounds_are_not_task_time);
    tcase_add_test(tc, waves_left_add_their_rounds);
    tcase_add_test(tc, plain_rate_and_unknown);
    tcase_add_test(tc, rounds_reported);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
