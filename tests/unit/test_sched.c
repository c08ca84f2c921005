/*
 * test_sched.c - how dynamic scheduling hands out tasks on rank 0 (lapse_sched_hand_out,
 * src/exec/sched_msg.c), without MPI: every task exactly once, whatever order the ranks ask
 * in; a rank gets its own share (the tasks static scheduling gives it: t mod ranks == rank, in
 * order) while any of it is left, then the last task of the share with the most left; nothing
 * after an abort.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/sched_impl.h"

/* A scheduler state as rank 0 of nranks holds it for ntasks tasks (shares only). */
static void init(lapse_scheduler_t *s, int64_t *share, int nranks, int64_t ntasks)
{
    memset(s, 0, sizeof *s);
    s->nranks = nranks;
    s->ntasks = ntasks;
    s->share = share;
    lapse_sched_shares_init(share, nranks, ntasks);
}

/* Hand out every task to the ranks asking in the order pick() gives; check each task comes
 * once, own shares first and in order, steals from the end of the largest share left. */
static void drain(int nranks, int64_t ntasks, int (*pick)(int64_t i, int nranks, uint64_t *st),
                  uint64_t seed)
{
    lapse_scheduler_t s;
    int64_t share[2 * 8];
    char *seen = calloc((size_t)ntasks + 1, 1);
    int64_t *next_own = calloc((size_t)nranks, sizeof *next_own); /* expected own next */
    ck_assert(seen && next_own && nranks <= 8);
    init(&s, share, nranks, ntasks);
    for (int r = 0; r < nranks; r++)
        next_own[r] = r;
    uint64_t st = seed;
    for (int64_t i = 0; i < ntasks; i++) {
        int r = pick(i, nranks, &st);
        /* what the rule says: own next, else the last of the largest share left */
        int64_t want;
        if (next_own[r] < share[2 * r + 1]) {
            want = next_own[r];
            next_own[r] += nranks;
        } else {
            int64_t most = 0;
            want = -1;
            for (int v = 0; v < nranks; v++) {
                int64_t left = (share[2 * v + 1] - next_own[v]) / nranks;
                if (left > most) {
                    most = left;
                    want = share[2 * v + 1] - nranks;
                }
            }
        }
        int64_t t = lapse_sched_hand_out(&s, r);
        ck_assert_msg(t == want,
                      "ranks %d, tasks %lld, request %lld by rank %d: task %lld, not %lld", nranks,
                      (long long)ntasks, (long long)i, r, (long long)t, (long long)want);
        ck_assert(t >= 0 && t < ntasks && !seen[t]);
        seen[t] = 1;
    }
    for (int r = 0; r < nranks; r++) /* all handed out: every rank is told so */
        ck_assert_int_eq(lapse_sched_hand_out(&s, r), ntasks);
    free(seen);
    free(next_own);
}

static int round_robin(int64_t i, int nranks, uint64_t *st)
{
    (void)st;
    return (int)(i % nranks);
}

static int only_last(int64_t i, int nranks, uint64_t *st)
{
    (void)i;
    (void)st;
    return nranks - 1;
}

static int random_rank(int64_t i, int nranks, uint64_t *st)
{
    (void)i;
    *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int)((*st >> 33) % (uint64_t)nranks);
}

START_TEST(test_every_task_once)
{
    static const int ranks[] = {1, 2, 3, 5, 8};
    static const int64_t tasks[] = {0, 1, 2, 7, 10, 31, 100};
    for (size_t a = 0; a < sizeof ranks / sizeof *ranks; a++)
        for (size_t b = 0; b < sizeof tasks / sizeof *tasks; b++) {
            drain(ranks[a], tasks[b], round_robin, 1);
            drain(ranks[a], tasks[b], only_last, 1);
            for (uint64_t seed = 1; seed <= 5; seed++)
                drain(ranks[a], tasks[b], random_rank, seed);
        }
}
END_TEST

/* Ranks asking in turn get exactly static scheduling's tasks; a rank alone takes its own share
 * in order, then the others' from their ends (largest share first). */
START_TEST(test_shares_and_steals)
{
    lapse_scheduler_t s;
    int64_t share[2 * 3];
    init(&s, share, 3, 10); /* shares: 0 3 6 9 | 1 4 7 | 2 5 8 */
    for (int64_t t = 0; t < 10; t++)
        ck_assert_int_eq(lapse_sched_hand_out(&s, (int)(t % 3)), t);
    init(&s, share, 3, 10);
    static const int64_t alone[] = {2, 5, 8, 9, 6, 7, 3, 4, 0, 1}; /* ties: the lower rank */
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(lapse_sched_hand_out(&s, 2), alone[i]);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 2), 10);
    init(&s, share, 3, 10);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 1), 1);
    s.aborted = 1;
    for (int r = 0; r < 3; r++)
        ck_assert_int_eq(lapse_sched_hand_out(&s, r), 10);
}
END_TEST

static Suite *sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("hand_out");
    tcase_add_test(tc, test_every_task_once);
    tcase_add_test(tc, test_shares_and_steals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sched_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
