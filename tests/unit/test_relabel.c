/*
 * test_relabel.c - the per-timepoint label remaps (src/ops/op_relabel.c, kernels/relabel.cl):
 * exclude_labels_on_edges, exclude_labels_outside_size_range and relabel_sequential. (1) Small
 * label images whose results are written out here by hand, against the CPU reference and the
 * device. (2) Tiled == whole: random label images (boxes of random labels, labels with gaps,
 * reused labels, fractional values, negative and NaN background) cut into odd tiles with a halo
 * as src/exec/phases.c cuts them: partial on every tile, reduce in tile order (and in reverse
 * order: the same result bytes), apply on every tile's buffer, the cores assembled, bit for bit
 * equal to lapse_global_whole and equal to the CPU reference. (3) Edge cases: an empty image, a
 * label of exactly 2^24, and a value above 2^24, which is an error. LAPSE_TEST_SEED=n repeats a
 * run.
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
#include "ops/global.h"
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
    cl_mem m = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              (n ? n : 1) * sizeof *v, (void *)v, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    return m;
}

static void download(cl_mem m, float *v, size_t n)
{
    if (n)
        ck_assert_int_eq(
            clEnqueueReadBuffer(cl->queue, m, CL_TRUE, 0, n * sizeof *v, v, 0, NULL, NULL),
            CL_SUCCESS);
}

/* A step of the operation called name; p0, p1: its parameters (axes: z, y, x flags in p0). */
static lapse_step_t step(const char *name, const double *p0, const double *p1)
{
    lapse_step_t s;
    const lapse_op_t *op = lapse_op_find(name);
    ck_assert_msg(op != NULL && op->global != NULL, "%s is not a global operation", name);
    lapse_step_init(&s, op);
    if (p0)
        memcpy(s.p[0].v, p0, 3 * sizeof *p0);
    if (p1)
        memcpy(s.p[1].v, p1, 3 * sizeof *p1);
    return s;
}

/* The step on the whole image on the device (lapse_global_whole, out of place): out. */
static lapse_status_t run_whole(const lapse_step_t *s, const float *img, const int64_t dim[3],
                                float *out)
{
    size_t n = vox(dim);
    lapse_dvol_t in = {.mem = upload(img, n), .dim = {dim[0], dim[1], dim[2]}};
    lapse_dvol_t o = {.mem = upload(img, n), .dim = {dim[0], dim[1], dim[2]}};
    lapse_status_t st = lapse_global_whole(dev, s, &in, &o, NULL, NULL, NULL);
    if (st == LAPSE_OK)
        download(o.mem, out, n);
    clReleaseMemObject(in.mem);
    clReleaseMemObject(o.mem);
    return st;
}

/* The CPU reference on the whole image: out. */
static void run_ref(const lapse_step_t *s, const float *img, const int64_t dim[3], float *out)
{
    size_t n = vox(dim);
    double *a = malloc((n ? n : 1) * sizeof *a), *b = malloc((n ? n : 1) * sizeof *b);
    for (size_t i = 0; i < n; i++)
        a[i] = img[i];
    lapse_refvol_t rin = {a, {dim[0], dim[1], dim[2]}}, rout = {b, {dim[0], dim[1], dim[2]}};
    s->op->reference(s, &rin, &rout);
    for (size_t i = 0; i < n; i++)
        out[i] = (float)b[i];
    free(a);
    free(b);
}

/* One tile as phases.c has it: its core, its read box (the core grown by halo, clipped), the
 * gtile and the buffer of the read box. */
typedef struct {
    lapse_box_t core, read;
    lapse_gtile_t g;
    lapse_dvol_t buf;
} tile_t;

/* Cut dim into tiles of shape ts (raster order) with halo h; *n receives their count. */
static tile_t *cut(const float *img, const int64_t dim[3], const int64_t ts[3], int64_t h,
                   int64_t *n)
{
    int64_t grid[3];
    for (int a = 0; a < 3; a++)
        grid[a] = (dim[a] + ts[a] - 1) / ts[a];
    *n = grid[0] * grid[1] * grid[2];
    tile_t *t = calloc((size_t)*n, sizeof *t);
    for (int64_t i = 0; i < *n; i++) {
        int64_t idx[3] = {i / (grid[1] * grid[2]), (i / grid[2]) % grid[1], i % grid[2]};
        tile_t *u = &t[i];
        for (int a = 0; a < 3; a++) {
            u->core.off[a] = idx[a] * ts[a];
            u->core.dim[a] = dim[a] - u->core.off[a] < ts[a] ? dim[a] - u->core.off[a] : ts[a];
            int64_t lo = u->core.off[a] - h, hi = u->core.off[a] + u->core.dim[a] + h;
            lo = lo < 0 ? 0 : lo;
            hi = hi > dim[a] ? dim[a] : hi;
            u->read.off[a] = lo;
            u->read.dim[a] = hi - lo;
            u->g.img[a] = dim[a];
            u->g.core.off[a] = u->core.off[a];
            u->g.core.dim[a] = u->core.dim[a];
            u->g.core_rel.off[a] = u->core.off[a] - lo;
            u->g.core_rel.dim[a] = u->core.dim[a];
            u->buf.dim[a] = u->read.dim[a];
        }
        size_t m = vox(u->read.dim);
        float *b = malloc((m ? m : 1) * sizeof *b);
        for (int64_t z = 0; z < u->read.dim[0]; z++)
            for (int64_t y = 0; y < u->read.dim[1]; y++)
                memcpy(b + (z * u->read.dim[1] + y) * u->read.dim[2],
                       img + ((u->read.off[0] + z) * dim[1] + u->read.off[1] + y) * dim[2] +
                           u->read.off[2],
                       (size_t)u->read.dim[2] * sizeof *b);
        u->buf.mem = upload(b, m);
        free(b);
    }
    return t;
}

/* The step over the tiles of shape ts with halo h, as the phase engine runs it: out. The result
 * blob of the reduction over the reversed tiles must be the same bytes. */
static void run_tiled(const lapse_step_t *s, const float *img, const int64_t dim[3],
                      const int64_t ts[3], int64_t h, float *out)
{
    const lapse_global_t *g = s->op->global;
    int64_t n;
    tile_t *t = cut(img, dim, ts, h, &n);
    lapse_blob_t *parts = calloc((size_t)n, sizeof *parts),
                 *rparts = calloc((size_t)n, sizeof *rparts);
    lapse_gtile_t *gt = calloc((size_t)n, sizeof *gt), *rgt = calloc((size_t)n, sizeof *rgt);
    lapse_blob_t res = {NULL, 0}, rres = {NULL, 0};
    ck_assert_int_eq(g->npass, 1);
    for (int64_t i = 0; i < n; i++) {
        ck_assert_msg(g->partial(dev, s, 0, NULL, &t[i].g, &t[i].buf, NULL, NULL, &parts[i]) ==
                          LAPSE_OK,
                      "%s", lapse_errmsg());
        gt[i] = t[i].g;
        rgt[n - 1 - i] = t[i].g;
        rparts[n - 1 - i] = parts[i];
    }
    ck_assert_msg(g->reduce(s, 0, NULL, gt, parts, n, &res) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_msg(g->reduce(s, 0, NULL, rgt, rparts, n, &rres) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_msg(res.size == rres.size && memcmp(res.data, rres.data, res.size) == 0,
                  "%s: the reduction depends on the tile order", s->op->name);
    for (int64_t i = 0; i < n; i++) {
        tile_t *u = &t[i];
        size_t m = vox(u->read.dim);
        float *b = malloc((m ? m : 1) * sizeof *b);
        for (size_t j = 0; j < m; j++)
            b[j] = NAN;
        lapse_dvol_t o = {.mem = upload(b, m),
                          .dim = {u->read.dim[0], u->read.dim[1], u->read.dim[2]}};
        ck_assert_msg(g->apply(dev, s, &res, &u->buf, NULL, &o) == LAPSE_OK, "%s", lapse_errmsg());
        download(o.mem, b, m);
        for (int64_t z = 0; z < u->core.dim[0]; z++)
            for (int64_t y = 0; y < u->core.dim[1]; y++)
                memcpy(
                    out + ((u->core.off[0] + z) * dim[1] + u->core.off[1] + y) * dim[2] +
                        u->core.off[2],
                    b +
                        ((u->g.core_rel.off[0] + z) * u->read.dim[1] + u->g.core_rel.off[1] + y) *
                            u->read.dim[2] +
                        u->g.core_rel.off[2],
                    (size_t)u->core.dim[2] * sizeof *b);
        clReleaseMemObject(o.mem);
        clReleaseMemObject(u->buf.mem);
        free(b);
        lapse_blob_free(&parts[i]);
    }
    lapse_blob_free(&res);
    lapse_blob_free(&rres);
    free(parts);
    free(rparts);
    free(gt);
    free(rgt);
    free(t);
}

/* Whether a and b hold the same bits. */
static int same(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* ---------------------------------------------------------------- by hand */

/* A 2-D 6 x 7 timepoint ([1, 6, 7]):
 *   9 9 0 0 0 0 0      label 9: 3 voxels at the top left corner (border)
 *   9 0 0 4 4 0 0      label 4: 5 voxels inside, first at (1, 3)
 *   0 0 0 4 4 4 0      label 2: 2 voxels inside, first at (3, 1)
 *   0 2 2 0 0 0 0      label 7: 1 voxel inside, at (4, 5)
 *   0 0 0 0 0 7 0      label 3: 2 voxels on the bottom face
 *   0 0 0 3 3 0 0      (and 0.5 and -2 are background, 4.75 is label 4) */
static const float hand[42] = {9, 9, 0, 0, 0, 0,    0, 9, 0, 0, 4,    4, 0, 0,
                               0, 0, 0, 4, 4, 4.75, 0, 0, 2, 2, 0.5f, 0, 0, -2,
                               0, 0, 0, 0, 0, 7,    0, 0, 0, 0, 3,    3, 0, 0};
static const int64_t hand_dim[3] = {1, 6, 7};

START_TEST(test_by_hand)
{
    /* first voxels in raster order: 9 (0,0), 4 (1,3), 2 (3,1), 7 (4,5), 3 (5,3) */
    static const float seq[42] = {1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 2, 2, 0, 0, 0, 0, 0, 2, 2, 2, 0,
                                  0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 5, 5, 0, 0};
    /* on edges: 9 and 3 touch the border; 4, 2, 7 become 1, 2, 3 */
    static const float edges[42] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0,
                                    0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0};
    /* only the x faces count: 9 touches x = 0; 3 lies on y = 5 only, so it stays */
    static const float edges_x[42] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0,
                                      0, 0, 0, 1, 1, 1, 0, 0, 2, 2, 0, 0, 0, 0,
                                      0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 4, 4, 0, 0};
    /* sizes 2..3: 9 (3), 2 (2), 3 (2) stay, 4 (5) and 7 (1) go */
    static const float size[42] = {1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0};
    const double all[3] = {1, 1, 1}, xonly[3] = {0, 0, 1}, lo[3] = {2, 2, 2}, hi[3] = {3, 3, 3};
    struct {
        lapse_step_t s;
        const float *want;
    } c[] = {
        {step("relabel_sequential", NULL, NULL), seq},
        {step("exclude_labels_on_edges", all, NULL), edges},
        {step("exclude_labels_on_edges", xonly, NULL), edges_x},
        {step("exclude_labels_outside_size_range", lo, hi), size},
    };
    const int64_t tiles[2][3] = {{1, 4, 3}, {1, 6, 7}};
    for (size_t k = 0; k < sizeof c / sizeof *c; k++) {
        float ref[42], got[42], tiled[42];
        run_ref(&c[k].s, hand, hand_dim, ref);
        ck_assert_msg(same(ref, c[k].want, 42), "case %zu: the reference is wrong", k);
        ck_assert_msg(run_whole(&c[k].s, hand, hand_dim, got) == LAPSE_OK, "%s", lapse_errmsg());
        ck_assert_msg(same(got, c[k].want, 42), "case %zu: the device is wrong", k);
        for (int j = 0; j < 2; j++) {
            run_tiled(&c[k].s, hand, hand_dim, tiles[j], 1, tiled);
            ck_assert_msg(same(tiled, c[k].want, 42), "case %zu: tiles %d wrong", k, j);
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- random */

/* A random label image: nbox boxes (sides 1..maxside) of labels drawn from 1..nlab times a gap
 * factor (so labels have gaps; a label may be drawn twice and lie in two places), a few voxels
 * of label + 0.6 (truncated to the label), a few of -3 and NaN (background). */
static void random_labels(float *v, const int64_t dim[3], uint64_t seed, int nbox, int maxside,
                          int nlab, int gap)
{
    uint64_t st = seed;
    size_t n = vox(dim);
    for (size_t i = 0; i < n; i++)
        v[i] = 0.0f;
    for (int b = 0; b < nbox; b++) {
        int64_t off[3], len[3];
        for (int a = 0; a < 3; a++) {
            len[a] = 1 + (int64_t)(tu_rand(&st) % (uint64_t)maxside);
            len[a] = len[a] > dim[a] ? dim[a] : len[a];
            off[a] = (int64_t)(tu_rand(&st) % (uint64_t)(dim[a] - len[a] + 1));
        }
        float lab = (float)(1 + (int64_t)(tu_rand(&st) % (uint64_t)nlab) * gap);
        for (int64_t z = off[0]; z < off[0] + len[0]; z++)
            for (int64_t y = off[1]; y < off[1] + len[1]; y++)
                for (int64_t x = off[2]; x < off[2] + len[2]; x++)
                    v[(z * dim[1] + y) * dim[2] + x] = lab;
    }
    for (size_t k = 0; k < n / 50; k++) {
        size_t i = (size_t)(tu_rand(&st) % n);
        int what = (int)(tu_rand(&st) % 3);
        v[i] = what == 0 ? (v[i] >= 1.0f ? v[i] + 0.6f : v[i]) : what == 1 ? -3.0f : NAN;
    }
}

START_TEST(test_tiled_equals_whole)
{
    const int64_t dims[][3] = {{9, 23, 31}, {1, 40, 37}, {4, 1, 45}};
    const int64_t tiles[][3] = {{4, 7, 6}, {3, 11, 5}, {2, 5, 40}, {9, 40, 45}, {1, 1, 7}};
    const double all[3] = {1, 1, 1}, yx[3] = {0, 1, 1}, z[3] = {1, 0, 0};
    const double mn[3] = {4, 4, 4}, mx[3] = {60, 60, 60}, zero[3] = {0, 0, 0},
                 big[3] = {1e15, 1e15, 1e15}, one[3] = {1, 1, 1};
    lapse_step_t s[] = {
        step("relabel_sequential", NULL, NULL),
        step("exclude_labels_on_edges", all, NULL),
        step("exclude_labels_on_edges", yx, NULL),
        step("exclude_labels_on_edges", z, NULL),
        step("exclude_labels_outside_size_range", mn, mx),
        step("exclude_labels_outside_size_range", zero, big),
        step("exclude_labels_outside_size_range", zero, one),
    };
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++) {
        const int64_t *dim = dims[di];
        size_t n = vox(dim);
        float *img = malloc(n * sizeof *img), *whole = malloc(n * sizeof *whole),
              *ref = malloc(n * sizeof *ref), *tiled = malloc(n * sizeof *tiled);
        for (int variant = 0; variant < 2; variant++) {
            uint64_t seed = seed_base + 131u * di + (uint64_t)variant;
            /* variant 0: many small labels with gaps; 1: few large ones crossing tiles */
            if (variant == 0)
                random_labels(img, dim, seed, 120, 5, 90, 7);
            else
                random_labels(img, dim, seed, 12, 30, 6, 1000);
            for (size_t k = 0; k < sizeof s / sizeof *s; k++) {
                ck_assert_msg(run_whole(&s[k], img, dim, whole) == LAPSE_OK, "%s", lapse_errmsg());
                run_ref(&s[k], img, dim, ref);
                ck_assert_msg(same(whole, ref, n),
                              "%s case %zu dims %lld %lld %lld: device differs from the "
                              "reference (LAPSE_TEST_SEED=%llu)",
                              s[k].op->name, k, (long long)dim[0], (long long)dim[1],
                              (long long)dim[2], (unsigned long long)seed_base);
                for (size_t ti = 0; ti < sizeof tiles / sizeof *tiles; ti++)
                    for (int64_t h = 0; h <= 2; h += 2) {
                        memset(tiled, 0xA5, n * sizeof *tiled);
                        run_tiled(&s[k], img, dim, tiles[ti], h, tiled);
                        ck_assert_msg(same(tiled, whole, n),
                                      "%s case %zu: tiles %lld %lld %lld halo %lld differ from "
                                      "whole (LAPSE_TEST_SEED=%llu)",
                                      s[k].op->name, k, (long long)tiles[ti][0],
                                      (long long)tiles[ti][1], (long long)tiles[ti][2],
                                      (long long)h, (unsigned long long)seed_base);
                    }
            }
        }
        free(img);
        free(whole);
        free(ref);
        free(tiled);
    }
}
END_TEST

/* The results of the random test are not trivial: some labels are kept and some removed. */
START_TEST(test_random_cases_decide)
{
    const int64_t dim[3] = {9, 23, 31};
    size_t n = vox(dim);
    float *img = malloc(n * sizeof *img), *out = malloc(n * sizeof *out);
    const double all[3] = {1, 1, 1}, mn[3] = {4, 4, 4}, mx[3] = {60, 60, 60};
    lapse_step_t s[] = {step("exclude_labels_on_edges", all, NULL),
                        step("exclude_labels_outside_size_range", mn, mx)};
    random_labels(img, dim, seed_base, 120, 5, 90, 7);
    for (size_t k = 0; k < 2; k++) {
        run_ref(&s[k], img, dim, out);
        size_t removed = 0, kept = 0;
        for (size_t i = 0; i < n; i++) {
            removed += img[i] >= 1.0f && out[i] == 0.0f;
            kept += out[i] > 0.0f;
        }
        ck_assert_msg(removed > 0 && kept > 0, "%s: %zu removed, %zu kept voxels", s[k].op->name,
                      removed, kept);
    }
    free(img);
    free(out);
}
END_TEST

/* ---------------------------------------------------------------- edge cases */

START_TEST(test_empty_and_limits)
{
    const int64_t dim[3] = {2, 5, 6};
    float img[60], out[60], tiled[60];
    const int64_t ts[3] = {1, 2, 4};
    lapse_step_t s = step("relabel_sequential", NULL, NULL);
    /* no label at all (background, negative, NaN) */
    for (int i = 0; i < 60; i++)
        img[i] = i % 3 == 0 ? 0.0f : i % 3 == 1 ? -1.0f : NAN;
    ck_assert_msg(run_whole(&s, img, dim, out) == LAPSE_OK, "%s", lapse_errmsg());
    run_tiled(&s, img, dim, ts, 1, tiled);
    for (int i = 0; i < 60; i++)
        ck_assert(out[i] == 0.0f && tiled[i] == 0.0f);
    /* 2^24 is the largest label: it becomes 2 (its first voxel follows label 5's) */
    for (int i = 0; i < 60; i++)
        img[i] = 0.0f;
    img[7] = 5.0f;
    img[33] = 16777216.0f;
    img[59] = 16777216.0f;
    ck_assert_msg(run_whole(&s, img, dim, out) == LAPSE_OK, "%s", lapse_errmsg());
    run_tiled(&s, img, dim, ts, 0, tiled);
    ck_assert(out[7] == 1.0f && out[33] == 2.0f && out[59] == 2.0f && same(out, tiled, 60));
    /* above 2^24: an error naming the step */
    img[40] = 16777218.0f;
    ck_assert_int_eq(run_whole(&s, img, dim, out), LAPSE_EUSAGE);
    ck_assert_msg(strstr(lapse_errmsg(), "relabel_sequential") != NULL, "%s", lapse_errmsg());
    img[40] = INFINITY;
    ck_assert_int_eq(run_whole(&s, img, dim, out), LAPSE_EUSAGE);
}
END_TEST

int main(void)
{
    const char *env = getenv("LAPSE_TEST_SEED");
    seed_base = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    Suite *su = suite_create("relabel");
    TCase *tc = tcase_create("relabel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_by_hand);
    tcase_add_test(tc, test_tiled_equals_whole);
    tcase_add_test(tc, test_random_cases_decide);
    tcase_add_test(tc, test_empty_and_limits);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "test_relabel: LAPSE_TEST_SEED=%llu repeats this run\n",
                (unsigned long long)seed_base);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
