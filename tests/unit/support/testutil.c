/*
 * testutil.c - helpers shared by the Check suites (see testutil.h).
 */
#include "testutil.h"

#include <check.h>

#include "clrt.h"

#include <stdio.h>
#include <stdlib.h>

uint64_t tu_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double tu_uniform(uint64_t *state, double lo, double hi)
{
    return lo + (hi - lo) * (double)(tu_rand(state) >> 11) * (1.0 / 9007199254740992.0);
}

void tu_fill_f32(float *v, size_t n, uint64_t seed, float lo, float hi)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        v[i] = (float)tu_uniform(&s, lo, hi);
}

const char *tu_tmpdir(void)
{
    static char path[512];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/lapse-test-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(path) == NULL)
        return NULL;
    return path;
}

struct lapse_cl *tu_open_cl(void)
{
    lapse_cl_choice_t c;
    lapse_cl_t *cl = NULL;
    ck_assert_msg(lapse_cl_choose(LAPSE_DEV_ANY, -1, 0, &c) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_msg(lapse_cl_open(&c, &cl) == LAPSE_OK, "%s", lapse_errmsg());
    return cl;
}
