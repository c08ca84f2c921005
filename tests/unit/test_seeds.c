/*
 * test_seeds.c - detect_maxima_box and dilate_labels (src/ops/op_seeds.c, kernels/seeds.cl):
 * (1) small images whose results are written out here by hand from clesperanto's rules (CLIc's
 * own boundary test of detect_maxima, plateaus, a NaN; labels growing towards each other), for
 * the CPU reference and the device; (2) device against reference on random data full of ties
 * (small integers) for several radii, 3-D and 2-D, in place and not; (3) tiled == whole: each
 * tile's read box (its core grown by the step's reach, clipped to the image) run alone and its
 * core compared with the whole image's, bit for bit. LAPSE_TEST_SEED=n repeats a run.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clrt.h"
#include "device/dev.h"
#include "testutil.h"

static uint64_t seed_base;
static lapse_cl_t *cl;
static lapse_dev_t *dev;

static void setup(void)
{
    cl = tu_open_cl();
    ck_assert_msg(lapse_dev_create(cl, &dev) == LAPSE_OK, "%s", lapse_errmsg());
}

static void teardown(void)
{
    lapse_dev_destroy(dev);
    lapse_cl_close(cl);
    dev = NULL;
    cl = NULL;
}

static size_t vox(const int64_t d[3])
{
    return (size_t)(d[0] * d[1] * d[2]);
}

static cl_mem upload(const float *v, size_t n)
{
    cl_int e;
    cl_mem m = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * sizeof *v,
                              (void *)v, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    return m;
}

/* detect_maxima_box with radii r (z, y, x), or dilate_labels with radius r[0]. */
static lapse_step_t step(const char *name, const int r[3])
{
    lapse_step_t s;
    lapse_step_init(&s, lapse_op_find(name));
    ck_assert(s.op != NULL);
    for (int a = 0; a < 3; a++)
        s.p[0].v[a] = r[a];
    return s;
}

/* The step's launcher on img (dims dim) into out; inplace: out is the input's buffer. The input
 * must come back unchanged when not in place. */
static void run_dev(const lapse_step_t *s, const float *img, const int64_t dim[3], int inplace,
                    float *out)
{
    size_t n = vox(dim);
    float *poison = malloc(n * sizeof *poison);
    for (size_t i = 0; i < n; i++)
        poison[i] = -12345.0f;
    lapse_dvol_t in = {.mem = upload(img, n), .dim = {dim[0], dim[1], dim[2]}};
    lapse_dvol_t o = {.mem = inplace ? in.mem : upload(poison, n), .dim = {dim[0], dim[1], dim[2]}};
    cl_mem scratch[1] = {upload(poison, n)};
    int where = -1;
    ck_assert_msg(s->op->launch(dev, s, NULL, &in, &o, scratch, &where) == LAPSE_OK, "%s",
                  lapse_errmsg());
    ck_assert(where == 0 || where == 1);
    ck_assert_int_eq(clEnqueueReadBuffer(cl->queue, where ? scratch[0] : o.mem, CL_TRUE, 0,
                                         n * sizeof *out, out, 0, NULL, NULL),
                     CL_SUCCESS);
    if (!inplace) {
        ck_assert_int_eq(clEnqueueReadBuffer(cl->queue, in.mem, CL_TRUE, 0, n * sizeof *poison,
                                             poison, 0, NULL, NULL),
                         CL_SUCCESS);
        ck_assert_msg(memcmp(poison, img, n * sizeof *img) == 0, "%s wrote its input", s->op->name);
        clReleaseMemObject(o.mem);
    }
    clReleaseMemObject(in.mem);
    clReleaseMemObject(scratch[0]);
    free(poison);
}

static void run_ref(const lapse_step_t *s, const float *img, const int64_t dim[3], float *out)
{
    size_t n = vox(dim);
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++)
        a[i] = img[i];
    lapse_refvol_t rin = {a, {dim[0], dim[1], dim[2]}}, rout = {b, {dim[0], dim[1], dim[2]}};
    s->op->reference(s, &rin, &rout);
    for (size_t i = 0; i < n; i++)
        out[i] = (float)b[i];
    free(a);
    free(b);
}

/* Equal as numbers (the reference has no -0 / NaN bit patterns to compare). */
static int equal(const float *a, const float *b, size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++)
        if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i])))) {
            *at = i;
            return 0;
        }
    return 1;
}

/* ---------------------------------------------------------------- by hand */

START_TEST(test_maxima_by_hand)
{
    const int zero[3] = {0, 0, 0};
    lapse_step_t s = step("detect_maxima_box", zero);
    /* CLIc's tests/tier2/test_detect_maxima.cpp "boundaries": peaks on the image edge count */
    const int64_t d5[3] = {1, 5, 5};
    const float b_in[25] = {10, 0,  11, 0, 12, 0, 0, 0,  0, 0,  13, 0, 14,
                            0,  15, 0,  0, 0,  0, 0, 16, 0, 17, 0,  18};
    const float b_want[25] = {1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1,
                              0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1};
    /* a plateau of two equal voxels (no maximum), a strict peak, a NaN voxel (a maximum, as in
     * clesperanto) whose neighbours are not disqualified by it */
    const int64_t d6[3] = {1, 4, 6};
    const float p_in[24] = {0, 5, 5, 0, 0, 0, 0, 0, 0,   0, 7, 0,
                            1, 0, 0, 0, 0, 0, 2, 0, NAN, 4, 0, 3};
    const float p_want[24] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
                              0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1};
    struct {
        const int64_t *dim;
        const float *in, *want;
    } c[] = {{d5, b_in, b_want}, {d6, p_in, p_want}};
    for (size_t k = 0; k < 2; k++) {
        size_t n = vox(c[k].dim), at = 0;
        float got[25];
        run_ref(&s, c[k].in, c[k].dim, got);
        ck_assert_msg(equal(got, c[k].want, n, &at), "case %zu: reference wrong at %zu", k, at);
        for (int inplace = 0; inplace < 2; inplace++) {
            run_dev(&s, c[k].in, c[k].dim, inplace, got);
            ck_assert_msg(equal(got, c[k].want, n, &at), "case %zu: device wrong at %zu", k, at);
        }
    }
    /* 3-D: a single peak in a 3 x 3 x 3 cube is the only maximum; with an equal corner it is
     * none */
    float cube[27], got[27], want[27];
    const int64_t d3[3] = {3, 3, 3};
    for (int i = 0; i < 27; i++)
        cube[i] = (float)(i % 5);
    cube[13] = 9.0f;
    for (int i = 0; i < 27; i++)
        want[i] = 0.0f;
    want[13] = 1.0f;
    /* the other voxels that beat all their neighbours: none, each touches the centre */
    run_dev(&s, cube, d3, 0, got);
    ck_assert(memcmp(got, want, sizeof got) == 0);
    cube[26] = 9.0f;
    want[13] = 0.0f;
    run_dev(&s, cube, d3, 0, got);
    ck_assert(memcmp(got, want, sizeof got) == 0);
}
END_TEST

START_TEST(test_dilate_by_hand)
{
    /* labels 1 and 2 three voxels apart in a row of a 2-D image, and 3 in a corner */
    const int64_t dim[3] = {1, 5, 7};
    const float in[35] = {0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
                          0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    /* radius 1 (box): each label fills its 3 x 3 square where it was 0; where the squares of
     * 2 and 3 meet the larger, 3, wins (clesperanto's maximum); column 3 is still 0 */
    const float r1[35] = {0, 0, 0, 0, 0, 3, 3, 1, 1, 1, 0, 2, 3, 3, 1, 1, 1, 0,
                          2, 2, 2, 1, 1, 1, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0};
    /* radius 2: then a diamond step: a 0 with a labelled face neighbour takes the largest (the
     * gap between 1 and 2 takes 2); (0, 3) and (4, 3) touch labels only diagonally and stay 0 */
    const float r2[35] = {1, 1, 1, 0, 3, 3, 3, 1, 1, 1, 2, 2, 3, 3, 1, 1, 1, 2,
                          2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 0, 2, 2, 2};
    const int one[3] = {1, 0, 0}, two[3] = {2, 0, 0}, zero[3] = {0, 0, 0};
    float got[35];
    size_t at = 0;
    struct {
        lapse_step_t s;
        const float *want;
    } c[] = {{step("dilate_labels", zero), in},
             {step("dilate_labels", one), r1},
             {step("dilate_labels", two), r2}};
    for (size_t k = 0; k < 3; k++) {
        run_ref(&c[k].s, in, dim, got);
        ck_assert_msg(equal(got, c[k].want, 35, &at), "radius %zu: reference wrong at %zu", k, at);
        for (int inplace = 0; inplace < 2; inplace++) {
            run_dev(&c[k].s, in, dim, inplace, got);
            ck_assert_msg(equal(got, c[k].want, 35, &at), "radius %zu: device wrong at %zu", k, at);
        }
    }
}
END_TEST

/* Values are labels as in the other label operations (connected_components, relabel_sequential,
 * measure_labels): truncated where >= 1, else background. 2.7 is label 2 (version 1 kept 2.7 and
 * the uint32 output rounded it to 3); 0.5, -3 and NaN are background, grown into (version 1 kept
 * them: -3 and NaN blocked the growth and came out as 0). Radius 0 gives the labels alone. */
START_TEST(test_dilate_label_values)
{
    const int64_t dim[3] = {1, 1, 7};
    const float in[7] = {2.7f, 0.5f, 0, -3.0f, NAN, 0, 5.99f};
    const float r0[7] = {2, 0, 0, 0, 0, 0, 5};
    const float r1[7] = {2, 2, 0, 0, 0, 5, 5}; /* the box step: one voxel each way */
    const float r2[7] = {2, 2, 2, 0, 5, 5, 5};
    const int zero[3] = {0, 0, 0}, one[3] = {1, 0, 0}, two[3] = {2, 0, 0};
    struct {
        lapse_step_t s;
        const float *want;
    } c[] = {{step("dilate_labels", zero), r0},
             {step("dilate_labels", one), r1},
             {step("dilate_labels", two), r2}};
    float got[7];
    size_t at = 0;
    for (size_t k = 0; k < 3; k++) {
        run_ref(&c[k].s, in, dim, got);
        ck_assert_msg(equal(got, c[k].want, 7, &at), "radius %zu: reference wrong at %zu", k, at);
        for (int inplace = 0; inplace < 2; inplace++) {
            run_dev(&c[k].s, in, dim, inplace, got);
            ck_assert_msg(equal(got, c[k].want, 7, &at), "radius %zu: device wrong at %zu (%g)", k,
                          at, (double)got[at]);
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- random */

/* Small integers 0..top (ties everywhere) for the maxima; sparse labels 1..40 on zeros, with a
 * few negative, NaN and non-integer (7.5: label 7) voxels, for the growth. */
static void fill_ints(float *v, size_t n, uint64_t seed, int top)
{
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(tu_rand(&st) % (uint64_t)(top + 1));
}

static void fill_labels(float *v, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t u = tu_rand(&st) % 1000;
        v[i] = u < 15    ? (float)(1 + u % 40) * 3.0f
               : u == 15 ? -2.0f
               : u == 16 ? NAN
               : u == 17 ? 7.5f /* label 7 */
                         : 0.0f;
    }
}

/* The step's reach; each tile's read box run alone; the cores against whole. */
static void check_tiles(const lapse_step_t *s, const float *img, const int64_t dim[3],
                        const int64_t ts[3], const float *whole)
{
    int64_t reach[3], grid[3];
    lapse_step_reach(s, reach);
    for (int a = 0; a < 3; a++)
        grid[a] = (dim[a] + ts[a] - 1) / ts[a];
    for (int64_t i = 0; i < grid[0] * grid[1] * grid[2]; i++) {
        int64_t idx[3] = {i / (grid[1] * grid[2]), (i / grid[2]) % grid[1], i % grid[2]};
        lapse_box_t core, rd;
        for (int a = 0; a < 3; a++) {
            core.off[a] = idx[a] * ts[a];
            core.dim[a] = dim[a] - core.off[a] < ts[a] ? dim[a] - core.off[a] : ts[a];
        }
        lapse_step_in_box(s, &core, dim, &rd);
        size_t m = vox(rd.dim);
        float *b = malloc(m * sizeof *b), *o = malloc(m * sizeof *o);
        for (int64_t z = 0; z < rd.dim[0]; z++)
            for (int64_t y = 0; y < rd.dim[1]; y++)
                memcpy(b + (z * rd.dim[1] + y) * rd.dim[2],
                       img + ((rd.off[0] + z) * dim[1] + rd.off[1] + y) * dim[2] + rd.off[2],
                       (size_t)rd.dim[2] * sizeof *b);
        run_dev(s, b, rd.dim, 0, o);
        for (int64_t z = 0; z < core.dim[0]; z++)
            for (int64_t y = 0; y < core.dim[1]; y++) {
                const float *got =
                    o +
                    ((core.off[0] - rd.off[0] + z) * rd.dim[1] + core.off[1] - rd.off[1] + y) *
                        rd.dim[2] +
                    core.off[2] - rd.off[2];
                const float *want =
                    whole + ((core.off[0] + z) * dim[1] + core.off[1] + y) * dim[2] + core.off[2];
                ck_assert_msg(memcmp(got, want, (size_t)core.dim[2] * sizeof *got) == 0,
                              "%s: tile %lld differs from the whole (LAPSE_TEST_SEED=%llu)",
                              s->op->name, (long long)i, (unsigned long long)seed_base);
            }
        free(b);
        free(o);
    }
}

START_TEST(test_random)
{
    /* 37 planes: lapse_maxima_walk's columns of 16 planes end inside the image */
    const int64_t dims[][3] = {{7, 19, 23}, {1, 31, 29}, {37, 9, 11}};
    const int64_t tiles[][3] = {{3, 5, 7}, {2, 8, 4}, {1, 31, 3}};
    const int radii[][3] = {{0, 0, 0}, {1, 1, 1}, {0, 1, 2}, {2, 0, 1}, {3, 3, 3}};
    const int grow[] = {0, 1, 2, 3, 6};
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        const int64_t *dim = dims[di];
        size_t n = vox(dim), at = 0;
        float *img = malloc(n * sizeof *img), *ref = malloc(n * sizeof *ref),
              *got = malloc(n * sizeof *got), *got2 = malloc(n * sizeof *got2);
        for (size_t k = 0; k < 10; k++) {
            int maxima = k < 5;
            const int g3[3] = {grow[k % 5], 0, 0};
            lapse_step_t s =
                maxima ? step("detect_maxima_box", radii[k]) : step("dilate_labels", g3);
            uint64_t seed = seed_base + 7919u * k + di;
            if (maxima)
                fill_ints(img, n, seed, k % 2 ? 3 : 1000);
            else
                fill_labels(img, n, seed);
            run_ref(&s, img, dim, ref);
            run_dev(&s, img, dim, 0, got);
            run_dev(&s, img, dim, 1, got2);
            ck_assert_msg(equal(got, ref, n, &at),
                          "%s case %zu dims %lld: device %g, reference %g at %zu "
                          "(LAPSE_TEST_SEED=%llu)",
                          s.op->name, k, (long long)dim[0], got[at], ref[at], at,
                          (unsigned long long)seed_base);
            ck_assert_msg(memcmp(got, got2, n * sizeof *got) == 0, "%s: in place differs",
                          s.op->name);
            size_t ones = 0, changed = 0;
            for (size_t i = 0; i < n; i++) {
                ones += got[i] == 1.0f;
                /* dilate_labels: against the input's labels (truncated where >= 1, else 0) */
                const float lab = img[i] >= 1.0f ? truncf(img[i]) : 0.0f;
                changed += maxima ? !(got[i] == img[i] || (isnan(got[i]) && isnan(img[i])))
                                  : got[i] != lab;
            }
            ck_assert_msg(maxima ? ones > 0 && ones < n : (grow[k % 5] == 0) == (changed == 0),
                          "%s case %zu: a trivial result", s.op->name, k);
            for (size_t ti = 0; ti < 3; ti++)
                check_tiles(&s, img, dim, tiles[ti], got);
        }
        free(img);
        free(ref);
        free(got);
        free(got2);
    }
}
END_TEST

int main(void)
{
    const char *env = getenv("LAPSE_TEST_SEED");
    seed_base = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    Suite *su = suite_create("seeds");
    TCase *tc = tcase_create("seeds");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_maxima_by_hand);
    tcase_add_test(tc, test_dilate_by_hand);
    tcase_add_test(tc, test_dilate_label_values);
    tcase_add_test(tc, test_random);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "test_seeds: LAPSE_TEST_SEED=%llu repeats this run\n",
                (unsigned long long)seed_base);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
