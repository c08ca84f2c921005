/*
 * test_sched.c - how dynamic scheduling hands out tasks on rank 0 (lapse_sched_hand_out,
 * src/exec/sched_msg.c), without MPI: every task exactly once, whatever order the ranks ask
 * in; a rank gets its own share (the tasks static scheduling gives it: t mod ranks == rank, in
 * order, or those the deal gives it) while any of it is left, then the last task of the share
 * with the most left; nothing after an abort. And the deal (src/exec/deal.c): round-robin over
 * pending tasks, or whole timepoints per rank, also in a resumed run with some tasks done.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/deal.h"
#include "exec/sched_impl.h"

enum { MAXT = 128 };

/* A scheduler state as rank 0 of nranks holds it for ntasks tasks (shares only), dealt by deal
 * (NULL: round-robin). */
static void init(lapse_scheduler_t *s, int64_t *share, int64_t *order, int nranks, int64_t ntasks,
                 const int *deal)
{
    memset(s, 0, sizeof *s);
    s->nranks = nranks;
    s->ntasks = ntasks;
    s->share = share;
    s->order = order;
    lapse_sched_shares_init(share, order, nranks, ntasks, deal);
}

/* Hand out every task to the ranks asking in the order pick() gives; check each task comes
 * once, own shares first and in order, steals from the end of the largest share left (ties:
 * the lowest rank's). The expectation keeps each rank's share as a plain list of the tasks
 * dealt to it (deal[t], or t mod nranks when deal is NULL). */
static void drain(int nranks, int64_t ntasks, int (*pick)(int64_t i, int nranks, uint64_t *st),
                  uint64_t seed, const int *deal)
{
    lapse_scheduler_t s;
    int64_t share[2 * 8], order[MAXT];
    int64_t list[8][MAXT], lo[8] = {0}, hi[8] = {0}; /* each rank's share left: [lo, hi) */
    char seen[MAXT + 1] = {0};
    ck_assert(nranks <= 8 && ntasks <= MAXT);
    for (int64_t t = 0; t < ntasks; t++) {
        const int k = deal ? deal[t] : (int)(t % nranks);
        list[k][hi[k]++] = t;
    }
    init(&s, share, order, nranks, ntasks, deal);
    uint64_t st = seed;
    for (int64_t i = 0; i < ntasks; i++) {
        int r = pick(i, nranks, &st);
        int64_t want = -1; /* what the rule says: own next, else the last of the largest left */
        if (lo[r] < hi[r]) {
            want = list[r][lo[r]++];
        } else {
            int best = -1;
            for (int v = 0; v < nranks; v++)
                if (hi[v] - lo[v] > 0 && (best < 0 || hi[v] - lo[v] > hi[best] - lo[best]))
                    best = v;
            ck_assert(best >= 0);
            want = list[best][--hi[best]];
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
            int deal[MAXT]; /* whole timepoints of 4 tasks, cyclic over the ranks */
            for (int64_t t = 0; t < tasks[b]; t++)
                deal[t] = (int)(t / 4 % ranks[a]);
            drain(ranks[a], tasks[b], round_robin, 1, NULL);
            drain(ranks[a], tasks[b], only_last, 1, NULL);
            drain(ranks[a], tasks[b], round_robin, 1, deal);
            drain(ranks[a], tasks[b], only_last, 1, deal);
            for (uint64_t seed = 1; seed <= 5; seed++) {
                drain(ranks[a], tasks[b], random_rank, seed, NULL);
                drain(ranks[a], tasks[b], random_rank, seed, deal);
            }
        }
}
END_TEST

/* Ranks asking in turn get exactly static scheduling's tasks; a rank alone takes its own share
 * in order, then the others' from their ends (largest share first). */
START_TEST(test_shares_and_steals)
{
    lapse_scheduler_t s;
    int64_t share[2 * 3], order[10];
    init(&s, share, order, 3, 10, NULL); /* shares: 0 3 6 9 | 1 4 7 | 2 5 8 */
    for (int64_t t = 0; t < 10; t++)
        ck_assert_int_eq(lapse_sched_hand_out(&s, (int)(t % 3)), t);
    init(&s, share, order, 3, 10, NULL);
    static const int64_t alone[] = {2, 5, 8, 9, 6, 7, 3, 4, 0, 1}; /* ties: the lower rank */
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(lapse_sched_hand_out(&s, 2), alone[i]);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 2), 10);
    /* whole timepoints of 3 tasks on 2 ranks: 0 1 2 6 7 8 | 3 4 5 9 */
    static const int tp_deal[] = {0, 0, 0, 1, 1, 1, 0, 0, 0, 1};
    init(&s, share, order, 2, 10, tp_deal);
    static const int64_t r1[] = {3, 4, 5, 9, 8, 7, 6}, r0[] = {0, 1, 2};
    for (int i = 0; i < 7; i++) /* rank 1 alone: its share, then rank 0's from the end */
        ck_assert_int_eq(lapse_sched_hand_out(&s, 1), r1[i]);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(lapse_sched_hand_out(&s, 0), r0[i]);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 0), 10);
    init(&s, share, order, 3, 10, NULL);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 1), 1);
    s.aborted = 1;
    for (int r = 0; r < 3; r++)
        ck_assert_int_eq(lapse_sched_hand_out(&s, r), 10);
}
END_TEST

/* Steals by group (a timepoint's tiles, whose decoded input one rank should read): a thief
 * goes on with the group it took, prefers a share that ends in a group neither its owner has
 * started nor another thief takes over a larger one that does, and takes from the largest
 * share only where none is left; every task still once. Shares: rank 0 {0 1 | 3 4}, rank 1
 * {2 | 5 6 7 8 9 10}, rank 2 none; groups 0 0 1 2 2 3 3 3 3 3 3. */
START_TEST(test_group_steals)
{
    lapse_scheduler_t s;
    int64_t share[2 * 3], order[11];
    static const int deal[11] = {0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1};
    static const int64_t group[11] = {0, 0, 1, 2, 2, 3, 3, 3, 3, 3, 3};
    init(&s, share, order, 3, 11, deal);
    ck_assert_int_eq(lapse_sched_groups_init(&s, group), LAPSE_OK);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 1), 2);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 1), 5); /* rank 1 has started group 3 */
    /* rank 2: rank 1's share is larger (5 left) but ends in its started group 3; rank 0's ends
     * in group 2, which nobody started: that group, from its end */
    ck_assert_int_eq(lapse_sched_hand_out(&s, 2), 4);
    /* rank 0 starts its share: 0 (group 0); then rank 2 goes on with group 2 */
    ck_assert_int_eq(lapse_sched_hand_out(&s, 0), 0);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 2), 3);
    /* rank 0's share now ends in group 0, which it started; rank 1's in group 3, started:
     * none untouched, so the largest share's last task */
    ck_assert_int_eq(lapse_sched_hand_out(&s, 2), 10);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 2), 9); /* and on with that group */
    ck_assert_int_eq(lapse_sched_hand_out(&s, 0), 1);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 1), 6);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 2), 8);
    ck_assert_int_eq(lapse_sched_hand_out(&s, 0), 7); /* rank 0 steals the last one */
    for (int r = 0; r < 3; r++)
        ck_assert_int_eq(lapse_sched_hand_out(&s, r), 11);
    free(s.group);
    free(s.first);
    free(s.cont_v);
    free(s.cont_g);
    /* random orders with groups of 4: every task once, own shares first and in order */
    for (uint64_t seed = 1; seed <= 20; seed++)
        for (int nr = 1; nr <= 5; nr++) {
            int64_t sh[2 * 5], ord[MAXT], g[MAXT];
            int d[MAXT];
            const int64_t n = 37;
            for (int64_t t = 0; t < n; t++) {
                g[t] = t / 4;
                d[t] = (int)(g[t] % nr);
            }
            init(&s, sh, ord, nr, n, d);
            ck_assert_int_eq(lapse_sched_groups_init(&s, g), LAPSE_OK);
            char seen[MAXT] = {0};
            uint64_t st = seed;
            for (int64_t i = 0; i < n; i++) {
                int r = random_rank(i, nr, &st);
                int64_t own = 0; /* its first own task not handed out: it must come first */
                while (own < n && (d[own] != r || seen[own]))
                    own++;
                int64_t t = lapse_sched_hand_out(&s, r);
                ck_assert(t >= 0 && t < n && !seen[t]);
                ck_assert_msg(own == n || t == own, "rank %d got %lld before its own %lld", r,
                              (long long)t, (long long)own);
                seen[t] = 1;
            }
            for (int r = 0; r < nr; r++)
                ck_assert_int_eq(lapse_sched_hand_out(&s, r), n);
            free(s.group);
            free(s.first);
            free(s.cont_v);
            free(s.cont_g);
        }
}
END_TEST

/* Each pending task's rank and group in d: want_rank[q] and want_group[q] (NULL: the groups are
 * not checked). */
static void check_deal(const lapse_deal_t *d, int64_t n, const int *want_rank,
                       const int64_t *want_group)
{
    for (int64_t q = 0; q < n; q++)
        ck_assert_int_eq(d->rank[q], want_rank[q]);
    for (int64_t q = 0; want_group && q < n; q++)
        ck_assert_int_eq(d->group[q], want_group[q]);
}

/* The deal of a plan of 5 timepoints x 3 tiles: round-robin over the pending tasks; or
 * timepoints per rank: whole, cyclic over the timepoints that have a pending task, with the
 * timepoints a wave has over a multiple of the ranks cut into blocks of tiles (LAPSE_DEAL=whole:
 * never cut); with some tasks done (a resumed run), a timepoint with none pending takes no turn. */
START_TEST(test_deal)
{
    const int64_t shape[3] = {4, 6, 6}, tile[3] = {4, 2, 6}, halo[3] = {0, 0, 0};
    const int64_t tps[5] = {0, 1, 2, 3, 4};
    lapse_plan_t plan;
    ck_assert_int_eq(lapse_plan_make(shape, tile, halo, tps, 5, &plan), LAPSE_OK);
    ck_assert_int_eq(plan.ntiles, 3);
    lapse_deal_t d;
    ck_assert_int_eq(lapse_deal_make(&plan, 2, LAPSE_DEAL_TASKS, 0, &d), LAPSE_OK);
    static const int rr[15] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0};
    check_deal(&d, 15, rr, NULL);
    ck_assert_ptr_null(d.group); /* no groups to steal together */
    lapse_deal_free(&d);
    /* 2 ranks, one wave: t0-t3 whole, t4 (one over 4) in 2 blocks: tiles 0-1 and 2 */
    ck_assert_int_eq(lapse_deal_make(&plan, 2, LAPSE_DEAL_TIMEPOINTS, 0, &d), LAPSE_OK);
    static const int r2[15] = {0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1};
    static const int64_t g2[15] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5};
    check_deal(&d, 15, r2, g2);
    ck_assert_int_eq(d.ncut, 1);
    lapse_deal_free(&d);
    /* the same, never cut */
    ck_assert_int_eq(lapse_deal_make(&plan, 2, LAPSE_DEAL_WHOLE, 0, &d), LAPSE_OK);
    static const int rw[15] = {0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0};
    static const int64_t gw[15] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4};
    check_deal(&d, 15, rw, gw);
    ck_assert_int_eq(d.ncut, 0);
    lapse_deal_free(&d);
    /* rounds in waves of one timepoint on 2 ranks: every timepoint in 2 blocks */
    ck_assert_int_eq(lapse_deal_make(&plan, 2, LAPSE_DEAL_TIMEPOINTS, 1, &d), LAPSE_OK);
    static const int r1[15] = {0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1};
    static const int64_t g1[15] = {0, 0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 8, 9};
    check_deal(&d, 15, r1, g1);
    ck_assert_int_eq(d.ncut, 5);
    ck_assert_int_eq(d.nwaves, 5); /* a timepoint's 3 tasks a wave */
    for (int v = 0; v < 5; v++)
        ck_assert_int_eq(d.wave_end[v], 3 * (v + 1));
    lapse_deal_free(&d);
    /* 4 ranks, one wave: t0-t3 whole on ranks 0-3, t4 in blocks of one tile (4 wanted, 3 tiles) */
    ck_assert_int_eq(lapse_deal_make(&plan, 4, LAPSE_DEAL_TIMEPOINTS, 0, &d), LAPSE_OK);
    static const int r4[15] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 1, 2};
    check_deal(&d, 15, r4, NULL);
    lapse_deal_free(&d);
    unsigned char done[15] = {0}; /* timepoint 1 done, and tiles 0, 1 of timepoint 3 */
    done[3] = done[4] = done[5] = done[9] = done[10] = 1;
    ck_assert_int_eq(lapse_plan_select(&plan, done), LAPSE_OK);
    ck_assert_int_eq(plan.ntasks, 10);
    ck_assert_int_eq(lapse_deal_make(&plan, 2, LAPSE_DEAL_TIMEPOINTS, 0, &d), LAPSE_OK);
    /* pending: t0 (3 tiles) t2 (3) t3 (tile 2) t4 (3) -> ranks 0 1 0 1 */
    static const int want[10] = {0, 0, 0, 1, 1, 1, 0, 1, 1, 1};
    check_deal(&d, 10, want, NULL);
    ck_assert_int_eq(d.ncut, 0);
    ck_assert_int_eq(d.nwaves, 1);
    ck_assert_int_eq(d.wave_end[0], 10);
    lapse_deal_free(&d);
    /* waves of 2 pending timepoints: t0 t2 | t3 (one tile) t4, round-robin or not */
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(
            lapse_deal_make(&plan, 2, k ? LAPSE_DEAL_TASKS : LAPSE_DEAL_TIMEPOINTS, 2, &d),
            LAPSE_OK);
        ck_assert_int_eq(d.nwaves, 2);
        ck_assert_int_eq(d.wave_end[0], 6);
        ck_assert_int_eq(d.wave_end[1], 10);
        lapse_deal_free(&d);
    }
    /* the rule: timepoints per rank for a compressed input, several tiles and ranks (however
     * few timepoints); LAPSE_DEAL overrides it */
    lapse_input_info_t in = {0};
    unsetenv("LAPSE_DEAL");
    ck_assert_int_eq(lapse_deal_choose(&in, &plan, 2), LAPSE_DEAL_TASKS);
    in.compressed_chunks = 1;
    ck_assert_int_eq(lapse_deal_choose(&in, &plan, 2), LAPSE_DEAL_TIMEPOINTS);
    ck_assert_int_eq(lapse_deal_choose(&in, &plan, 5), LAPSE_DEAL_TIMEPOINTS);
    ck_assert_int_eq(lapse_deal_choose(&in, &plan, 1), LAPSE_DEAL_TASKS);
    setenv("LAPSE_DEAL", "tasks", 1);
    ck_assert_int_eq(lapse_deal_choose(&in, &plan, 2), LAPSE_DEAL_TASKS);
    setenv("LAPSE_DEAL", "whole", 1);
    ck_assert_int_eq(lapse_deal_choose(&in, &plan, 2), LAPSE_DEAL_WHOLE);
    in.compressed_chunks = 0;
    setenv("LAPSE_DEAL", "timepoints", 1);
    ck_assert_int_eq(lapse_deal_choose(&in, &plan, 2), LAPSE_DEAL_TIMEPOINTS);
    unsetenv("LAPSE_DEAL");
    lapse_plan_free(&plan);
}
END_TEST

/* Timepoints per rank keep every rank equally busy in every wave: with 4 tiles per timepoint
 * on 2 or 4 ranks, 1 to 9 timepoints and waves of 1 to 5 timepoints (or one wave), each rank
 * gets the same number of each wave's tasks; each group is consecutive tiles of one timepoint
 * on one rank. */
START_TEST(test_deal_waves_even)
{
    const int64_t shape[3] = {4, 8, 8}, tile[3] = {4, 4, 4}, halo[3] = {0, 0, 0};
    int64_t tps[9];
    for (int i = 0; i < 9; i++)
        tps[i] = i;
    for (int nranks = 2; nranks <= 4; nranks += 2)
        for (int64_t ntps = 1; ntps <= 9; ntps++)
            for (int64_t wave = 0; wave <= 5; wave++) {
                lapse_plan_t plan;
                ck_assert_int_eq(lapse_plan_make(shape, tile, halo, tps, ntps, &plan), LAPSE_OK);
                ck_assert_int_eq(plan.ntiles, 4);
                lapse_deal_t d;
                ck_assert_int_eq(lapse_deal_make(&plan, nranks, LAPSE_DEAL_TIMEPOINTS, wave, &d),
                                 LAPSE_OK);
                const int64_t w = wave > 0 ? wave : ntps;
                ck_assert_int_eq(d.nwaves, (ntps + w - 1) / w);
                for (int64_t v = 0; v < d.nwaves; v++) /* whole waves of w timepoints */
                    ck_assert_int_eq(d.wave_end[v], 4 * (ntps < (v + 1) * w ? ntps : (v + 1) * w));
                for (int64_t first = 0; first < ntps; first += w) {
                    int count[4] = {0};
                    for (int64_t q = first * 4; q < (first + w) * 4 && q < ntps * 4; q++)
                        count[d.rank[q]]++;
                    for (int r = 1; r < nranks; r++)
                        ck_assert_msg(count[r] == count[0],
                                      "%d ranks, %lld timepoints, waves of %lld: wave at %lld "
                                      "gives rank %d %d tasks, rank 0 %d",
                                      nranks, (long long)ntps, (long long)wave, (long long)first, r,
                                      count[r], count[0]);
                }
                for (int64_t q = 1; q < ntps * 4; q++)
                    if (d.group[q] == d.group[q - 1]) {
                        ck_assert_int_eq(d.rank[q], d.rank[q - 1]);
                        ck_assert_int_eq(q / 4, (q - 1) / 4);
                    } else
                        ck_assert_int_gt(d.group[q], d.group[q - 1]);
                lapse_deal_free(&d);
                lapse_plan_free(&plan);
            }
}
END_TEST

static Suite *sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("hand_out");
    tcase_add_test(tc, test_every_task_once);
    tcase_add_test(tc, test_shares_and_steals);
    tcase_add_test(tc, test_group_steals);
    tcase_add_test(tc, test_deal);
    tcase_add_test(tc, test_deal_waves_even);
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
