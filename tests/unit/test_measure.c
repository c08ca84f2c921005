/*
 * test_measure.c - measure_labels (src/ops/op_measure.c, kernels/measure.cl) on the OpenCL device
 * chosen with LAPSE_DEV_ANY (PoCL's CPU device on machines without a GPU): (1) a whole timepoint
 * through lapse_global_whole against a double-precision CPU reference written here (area,
 * centroid, bounding box, intensity sum / mean / min / max / population standard deviation, to
 * 1e-9 relative; integer sums exactly) on random label images: a few blobs, many labels, labels
 * with gaps (3, 17, 40000), rows of several work-group chunks, fractional and negative label
 * values, an all-background image, a 2-D (z = 1) image, uint16-like and floating intensities, a
 * large mean with a tiny spread; non-finite intensities against NumPy's rules; a label above 2^24
 * refused; (2) tiled: the same images cut into odd tiles whose buffers hold the core plus a halo,
 * every pass's partials reduced in tile order (and in a shuffled order) -> the very bytes of the
 * whole-timepoint table. Random inputs use a fresh seed per run (LAPSE_TEST_SEED=n repeats a run).
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

#define NCOLS 17

static uint64_t seed_base;
static lapse_cl_t *cl;
static lapse_dev_t *dev;
static lapse_step_t step;

static void setup(void)
{
    cl = tu_open_cl();
    ck_assert_msg(lapse_dev_create(cl, &dev) == LAPSE_OK, "%s", lapse_errmsg());
    const lapse_op_t *op = lapse_op_find("measure_labels");
    ck_assert_ptr_nonnull(op);
    lapse_step_init(&step, op);
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

/* ---------------------------------------------------------------- the CPU reference */

/* One label's row, by the definition (skimage regionprops / NumPy), in long double. */
typedef struct {
    int64_t label, area, bb[6];
    double cen[3], sum, mean, min, max, std;
} row_t;

/* The rows of every label of lab (dims dim) with intensities img, sorted by label; returns the
 * count. Labels: the value truncated, below 1 or NaN = background. */
static int64_t reference(const float *lab, const float *img, const int64_t dim[3], row_t **out)
{
    size_t n = vox(dim);
    int64_t maxl = 0;
    for (size_t i = 0; i < n; i++)
        if (lab[i] >= 1.0f && (int64_t)lab[i] > maxl)
            maxl = (int64_t)lab[i];
    long double *s = calloc((size_t)maxl + 1, sizeof *s), *c[3];
    int64_t *cnt = calloc((size_t)maxl + 1, sizeof *cnt);
    row_t *r = calloc((size_t)maxl + 1, sizeof *r);
    for (int a = 0; a < 3; a++)
        c[a] = calloc((size_t)maxl + 1, sizeof *c[a]);
    ck_assert(s && cnt && r && c[0] && c[1] && c[2]);
    for (int64_t l = 0; l <= maxl; l++) {
        r[l].bb[0] = r[l].bb[1] = r[l].bb[2] = INT64_MAX;
        r[l].bb[3] = r[l].bb[4] = r[l].bb[5] = INT64_MIN;
        r[l].min = INFINITY;
        r[l].max = -INFINITY;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(lab[i] >= 1.0f))
            continue;
        int64_t l = (int64_t)lab[i], p[3] = {(int64_t)i / (dim[1] * dim[2]),
                                             ((int64_t)i / dim[2]) % dim[1], (int64_t)i % dim[2]};
        cnt[l]++;
        s[l] += img[i];
        for (int a = 0; a < 3; a++) {
            c[a][l] += p[a];
            r[l].bb[a] = p[a] < r[l].bb[a] ? p[a] : r[l].bb[a];
            r[l].bb[3 + a] = p[a] + 1 > r[l].bb[3 + a] ? p[a] + 1 : r[l].bb[3 + a];
        }
        r[l].min = fmin(r[l].min, img[i]);
        r[l].max = fmax(r[l].max, img[i]);
    }
    long double *ss = calloc((size_t)maxl + 1, sizeof *ss);
    ck_assert_ptr_nonnull(ss);
    for (size_t i = 0; i < n; i++)
        if (lab[i] >= 1.0f) {
            int64_t l = (int64_t)lab[i];
            long double d = (long double)img[i] - s[l] / cnt[l];
            ss[l] += d * d;
        }
    int64_t k = 0;
    for (int64_t l = 1; l <= maxl; l++) {
        if (cnt[l] == 0)
            continue;
        row_t *o = &r[k++];
        *o = r[l];
        o->label = l;
        o->area = cnt[l];
        for (int a = 0; a < 3; a++)
            o->cen[a] = (double)(c[a][l] / cnt[l]);
        o->sum = (double)s[l];
        o->mean = (double)(s[l] / cnt[l]);
        o->std = (double)sqrtl(ss[l] / cnt[l]);
    }
    free(s);
    free(ss);
    free(cnt);
    for (int a = 0; a < 3; a++)
        free(c[a]);
    *out = r;
    return k;
}

/* ---------------------------------------------------------------- the device */

/* The table of a whole timepoint (lapse_global_whole); the image result must be the labels. */
static void run_whole(const float *lab, const float *img, const int64_t dim[3], lapse_blob_t *res)
{
    size_t n = vox(dim);
    lapse_dvol_t in[2] = {{upload(lab, n), {dim[0], dim[1], dim[2]}, {0, 0, 0}, {0, 0, 0}},
                          {upload(img, n), {dim[0], dim[1], dim[2]}, {0, 0, 0}, {0, 0, 0}}};
    float *poison = malloc((n ? n : 1) * sizeof *poison),
          *back = malloc((n ? n : 1) * sizeof *back);
    ck_assert(poison && back);
    for (size_t i = 0; i < n; i++)
        poison[i] = -7.5f;
    lapse_dvol_t out = {upload(poison, n), {dim[0], dim[1], dim[2]}, {0, 0, 0}, {0, 0, 0}};
    ck_assert_msg(lapse_global_whole(dev, &step, in, &out, NULL, NULL, res) == LAPSE_OK, "%s",
                  lapse_errmsg());
    if (n) {
        ck_assert_int_eq(clEnqueueReadBuffer(cl->queue, out.mem, CL_TRUE, 0, n * sizeof *back, back,
                                             0, NULL, NULL),
                         CL_SUCCESS);
        ck_assert_msg(memcmp(back, lab, n * sizeof *lab) == 0,
                      "the image result is not the labels");
    }
    clReleaseMemObject(in[0].mem);
    clReleaseMemObject(in[1].mem);
    clReleaseMemObject(out.mem);
    free(poison);
    free(back);
}

/* The table of a timepoint cut into tiles of dims tile, each tile's buffer its core grown by
 * halo voxels (clipped to the image); partials reduced in tile order, or in a shuffled order
 * when shuffle != 0 (seeded by it). */
static void run_tiled(const float *lab, const float *img, const int64_t dim[3],
                      const int64_t tile[3], int64_t halo, uint64_t shuffle, lapse_blob_t *res)
{
    const lapse_global_t *g = step.op->global;
    int64_t grid[3];
    for (int a = 0; a < 3; a++)
        grid[a] = (dim[a] + tile[a] - 1) / tile[a];
    int64_t nt = grid[0] * grid[1] * grid[2];
    lapse_gtile_t *tiles = calloc((size_t)nt, sizeof *tiles);
    lapse_box_t *read = calloc((size_t)nt, sizeof *read);
    int64_t *order = malloc((size_t)nt * sizeof *order);
    ck_assert(tiles && read && order);
    for (int64_t i = 0; i < nt; i++) {
        int64_t idx[3] = {i / (grid[1] * grid[2]), (i / grid[2]) % grid[1], i % grid[2]};
        order[i] = i;
        for (int a = 0; a < 3; a++) {
            lapse_box_t *c = &tiles[i].core;
            tiles[i].img[a] = dim[a];
            c->off[a] = idx[a] * tile[a];
            c->dim[a] = dim[a] - c->off[a] < tile[a] ? dim[a] - c->off[a] : tile[a];
            int64_t lo = c->off[a] - halo, hi = c->off[a] + c->dim[a] + halo;
            lo = lo < 0 ? 0 : lo;
            hi = hi > dim[a] ? dim[a] : hi;
            read[i].off[a] = lo;
            read[i].dim[a] = hi - lo;
            tiles[i].core_rel.off[a] = c->off[a] - lo;
            tiles[i].core_rel.dim[a] = c->dim[a];
        }
    }
    if (shuffle) { /* Fisher-Yates */
        uint64_t st = shuffle;
        for (int64_t i = nt - 1; i > 0; i--) {
            int64_t j = (int64_t)(tu_rand(&st) % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
    lapse_gtile_t *otiles = malloc((size_t)nt * sizeof *otiles);
    lapse_blob_t *parts = calloc((size_t)nt, sizeof *parts), prev = {NULL, 0};
    ck_assert(otiles && parts);
    for (int pass = 0; pass < g->npass; pass++) {
        for (int64_t k = 0; k < nt; k++) {
            int64_t i = order[k];
            const lapse_box_t *rb = &read[i];
            size_t rn = vox(rb->dim);
            float *bl = malloc(rn * sizeof *bl), *bi = malloc(rn * sizeof *bi);
            ck_assert(bl && bi);
            for (int64_t z = 0; z < rb->dim[0]; z++)
                for (int64_t y = 0; y < rb->dim[1]; y++) {
                    size_t src = (size_t)(((rb->off[0] + z) * dim[1] + rb->off[1] + y) * dim[2] +
                                          rb->off[2]),
                           dst = (size_t)((z * rb->dim[1] + y) * rb->dim[2]);
                    memcpy(bl + dst, lab + src, (size_t)rb->dim[2] * sizeof *bl);
                    memcpy(bi + dst, img + src, (size_t)rb->dim[2] * sizeof *bi);
                }
            lapse_dvol_t in[2] = {
                {upload(bl, rn), {rb->dim[0], rb->dim[1], rb->dim[2]}, {0, 0, 0}, {0, 0, 0}},
                {upload(bi, rn), {rb->dim[0], rb->dim[1], rb->dim[2]}, {0, 0, 0}, {0, 0, 0}}};
            ck_assert_msg(g->partial(dev, &step, pass, pass ? &prev : NULL, &tiles[i], in, NULL,
                                     NULL, &parts[k]) == LAPSE_OK,
                          "pass %d tile %lld: %s", pass, (long long)i, lapse_errmsg());
            otiles[k] = tiles[i];
            clReleaseMemObject(in[0].mem);
            clReleaseMemObject(in[1].mem);
            free(bl);
            free(bi);
        }
        lapse_blob_t next = {NULL, 0};
        ck_assert_msg(g->reduce(&step, pass, pass ? &prev : NULL, otiles, parts, nt, &next) ==
                          LAPSE_OK,
                      "pass %d: %s", pass, lapse_errmsg());
        for (int64_t k = 0; k < nt; k++)
            lapse_blob_free(&parts[k]);
        lapse_blob_free(&prev);
        prev = next;
    }
    *res = prev;
    free(tiles);
    free(otiles);
    free(read);
    free(order);
    free(parts);
}

/* ---------------------------------------------------------------- checks */

static int64_t col_i(const lapse_blob_t *t, int64_t r, int c)
{
    int64_t v;
    memcpy(&v, (const char *)t->data + 8 + ((size_t)r * NCOLS + (size_t)c) * 8, 8);
    return v;
}

static double col_d(const lapse_blob_t *t, int64_t r, int c)
{
    double v;
    memcpy(&v, (const char *)t->data + 8 + ((size_t)r * NCOLS + (size_t)c) * 8, 8);
    return v;
}

static int64_t nrows(const lapse_blob_t *t)
{
    int64_t n;
    ck_assert_uint_ge(t->size, 8);
    memcpy(&n, t->data, 8);
    ck_assert_uint_eq(t->size, 8 + (size_t)n * NCOLS * 8);
    return n;
}

static void close_to(const char *what, const char *col, int64_t label, double got, double want,
                     double tol)
{
    double err = fabs(got - want), scale = fabs(want);
    ck_assert_msg(err <= tol * scale || (got == want), "%s: label %lld %s = %.17g, want %.17g",
                  what, (long long)label, col, got, want);
}

/* The table t against the reference rows of lab / img; exact: the sums must be exact (integer
 * intensities whose sums fit 2^53). */
static void check_table(const char *what, const lapse_blob_t *t, const float *lab, const float *img,
                        const int64_t dim[3], int exact)
{
    row_t *ref = NULL;
    int64_t n = reference(lab, img, dim, &ref);
    ck_assert_msg(nrows(t) == n, "%s: %lld rows, want %lld", what, (long long)nrows(t),
                  (long long)n);
    static const char *const cen[3] = {"centroid_z", "centroid_y", "centroid_x"};
    for (int64_t r = 0; r < n; r++) {
        const row_t *w = &ref[r];
        ck_assert_int_eq(col_i(t, r, 0), 0);
        ck_assert_msg(col_i(t, r, 1) == w->label, "%s: row %lld label %lld, want %lld", what,
                      (long long)r, (long long)col_i(t, r, 1), (long long)w->label);
        ck_assert_msg(col_i(t, r, 2) == w->area, "%s: label %lld area", what, (long long)w->label);
        for (int a = 0; a < 3; a++)
            close_to(what, cen[a], w->label, col_d(t, r, 3 + a), w->cen[a], 1e-12);
        for (int a = 0; a < 6; a++)
            ck_assert_msg(col_i(t, r, 6 + a) == w->bb[a], "%s: label %lld bbox[%d] %lld, want %lld",
                          what, (long long)w->label, a, (long long)col_i(t, r, 6 + a),
                          (long long)w->bb[a]);
        close_to(what, "intensity_sum", w->label, col_d(t, r, 12), w->sum, exact ? 0 : 1e-12);
        close_to(what, "intensity_mean", w->label, col_d(t, r, 13), w->mean, 1e-12);
        ck_assert_msg(col_d(t, r, 14) == w->min && col_d(t, r, 15) == w->max,
                      "%s: label %lld min/max %g %g, want %g %g", what, (long long)w->label,
                      col_d(t, r, 14), col_d(t, r, 15), w->min, w->max);
        close_to(what, "intensity_std", w->label, col_d(t, r, 16), w->std, 1e-9);
    }
    free(ref);
}

/* Whole against the reference, then several tilings (with halos) against the whole, bytes. */
static void check_all(const char *what, const float *lab, const float *img, const int64_t dim[3],
                      int exact, uint64_t seed)
{
    lapse_blob_t whole = {NULL, 0};
    run_whole(lab, img, dim, &whole);
    check_table(what, &whole, lab, img, dim, exact);
    const int64_t tiles[][3] = {{3, 5, 7}, {2, 9, 4}, {5, 4, 11}, {1, 1, 64}, {64, 64, 3}};
    for (size_t k = 0; k < sizeof tiles / sizeof *tiles; k++)
        for (int64_t halo = 0; halo <= 2; halo += 2) {
            lapse_blob_t t = {NULL, 0};
            run_tiled(lab, img, dim, tiles[k], halo, k == 2 ? seed | 1 : 0, &t);
            ck_assert_msg(t.size == whole.size && memcmp(t.data, whole.data, t.size) == 0,
                          "%s: tiles %lldx%lldx%lld (halo %lld) differ from the whole timepoint "
                          "(LAPSE_TEST_SEED=%llu)",
                          what, (long long)tiles[k][0], (long long)tiles[k][1],
                          (long long)tiles[k][2], (long long)halo, (unsigned long long)seed_base);
            lapse_blob_free(&t);
        }
    lapse_blob_free(&whole);
}

/* ---------------------------------------------------------------- images */

/* Balls of labels from list (nlist) at random places and radii into lab (zero first). */
static void balls(float *lab, const int64_t dim[3], const float *list, int nlist, int nballs,
                  uint64_t *st)
{
    memset(lab, 0, vox(dim) * sizeof *lab);
    for (int b = 0; b < nballs; b++) {
        double c[3], r = tu_uniform(st, 1.0, 5.0);
        for (int a = 0; a < 3; a++)
            c[a] = tu_uniform(st, 0, (double)dim[a]);
        float l = list[tu_rand(st) % (uint64_t)nlist];
        for (int64_t z = 0; z < dim[0]; z++)
            for (int64_t y = 0; y < dim[1]; y++)
                for (int64_t x = 0; x < dim[2]; x++) {
                    double dz = (double)z - c[0], dy = (double)y - c[1], dx = (double)x - c[2];
                    if (dz * dz + dy * dy + dx * dx <= r * r)
                        lab[(z * dim[1] + y) * dim[2] + x] = l;
                }
    }
}

/* Intensities: 0 uint16-like whole numbers, 1 positive floats over 6 decades, 2 signed floats,
 * 3 a large mean (1000) with a spread of 1e-3. */
static void intensities(float *img, size_t n, int kind, uint64_t *st)
{
    for (size_t i = 0; i < n; i++) {
        double u = tu_uniform(st, 0, 1);
        img[i] = kind == 0   ? (float)floor(u * 65536.0)
                 : kind == 1 ? (float)pow(10.0, tu_uniform(st, -3, 3))
                 : kind == 2 ? (float)tu_uniform(st, -500, 700)
                             : (float)(1000.0 + 1e-3 * u);
    }
}

START_TEST(test_few_labels)
{
    const int64_t dim[3] = {13, 22, 19};
    size_t n = vox(dim);
    uint64_t st = seed_base + 11;
    float *lab = malloc(n * sizeof *lab), *img = malloc(n * sizeof *img);
    const float list[] = {1, 2, 3, 4, 5};
    for (int kind = 0; kind < 4; kind++) {
        balls(lab, dim, list, 5, 7, &st);
        intensities(img, n, kind, &st);
        char what[64];
        snprintf(what, sizeof what, "few labels, intensities %d", kind);
        check_all(what, lab, img, dim, kind == 0, st);
    }
    free(lab);
    free(img);
}
END_TEST

START_TEST(test_many_labels)
{
    const int64_t dim[3] = {9, 31, 40};
    size_t n = vox(dim);
    uint64_t st = seed_base + 23;
    float *lab = malloc(n * sizeof *lab), *img = malloc(n * sizeof *img);
    /* every voxel a random label of 1..2000 (scattered labels, every run one voxel long), then
     * runs of 1..40 voxels along x */
    for (size_t i = 0; i < n; i++)
        lab[i] = (float)(1 + tu_rand(&st) % 2000);
    intensities(img, n, 0, &st);
    check_all("many scattered labels", lab, img, dim, 1, st);
    for (size_t i = 0; i < n;) {
        size_t len = 1 + tu_rand(&st) % 40;
        float l = (tu_rand(&st) % 4) ? (float)(1 + tu_rand(&st) % 300) : 0.0f;
        for (size_t j = 0; j < len && i < n; j++)
            lab[i++] = l;
    }
    intensities(img, n, 1, &st);
    check_all("many labels in runs", lab, img, dim, 0, st);
    free(lab);
    free(img);
}
END_TEST

/* Rows longer than a work-group's chunk (1024 voxels): several chunks per row. */
START_TEST(test_wide_rows)
{
    const int64_t dim[3] = {2, 3, 2600};
    size_t n = vox(dim);
    uint64_t st = seed_base + 29;
    float *lab = malloc(n * sizeof *lab), *img = malloc(n * sizeof *img);
    for (size_t i = 0; i < n;) {
        size_t len = 1 + tu_rand(&st) % 700;
        float l = (tu_rand(&st) % 3) ? (float)(1 + tu_rand(&st) % 6) : 0.0f;
        for (size_t j = 0; j < len && i < n; j++)
            lab[i++] = l;
    }
    intensities(img, n, 1, &st);
    check_all("wide rows", lab, img, dim, 0, st);
    const int64_t tile[3] = {1, 2, 1100};
    lapse_blob_t w = {NULL, 0}, t = {NULL, 0};
    run_whole(lab, img, dim, &w);
    run_tiled(lab, img, dim, tile, 3, 0, &t);
    ck_assert(t.size == w.size && memcmp(t.data, w.data, t.size) == 0);
    lapse_blob_free(&w);
    lapse_blob_free(&t);
    free(lab);
    free(img);
}
END_TEST

START_TEST(test_gaps_and_odd_values)
{
    const int64_t dim[3] = {10, 17, 23};
    size_t n = vox(dim);
    uint64_t st = seed_base + 37;
    float *lab = malloc(n * sizeof *lab), *img = malloc(n * sizeof *img);
    const float list[] = {3, 17, 40000};
    balls(lab, dim, list, 3, 9, &st);
    intensities(img, n, 2, &st);
    check_all("labels 3, 17, 40000", lab, img, dim, 0, st);
    /* fractional values are truncated, values below 1 (negative, NaN) are background */
    const float odd[] = {3.7f, 17.2f, 0.9f, -4.0f, NAN, 1.0f, 2.999f, 40000.5f};
    balls(lab, dim, odd, 8, 12, &st);
    intensities(img, n, 0, &st);
    check_all("fractional and negative label values", lab, img, dim, 1, st);
    free(lab);
    free(img);
}
END_TEST

START_TEST(test_background_and_planes)
{
    const int64_t dim[3] = {7, 12, 15}, plane[3] = {1, 33, 29};
    size_t n = vox(dim), np = vox(plane);
    uint64_t st = seed_base + 41;
    float *lab = calloc(n + np, sizeof *lab), *img = malloc((n + np) * sizeof *img);
    intensities(img, n, 1, &st);
    lapse_blob_t t = {NULL, 0};
    run_whole(lab, img, dim, &t);
    ck_assert_int_eq(nrows(&t), 0);
    lapse_blob_free(&t);
    check_all("all background", lab, img, dim, 1, st);
    const float list[] = {1, 2, 5, 9, 11, 12};
    balls(lab, plane, list, 6, 10, &st);
    intensities(img, np, 0, &st);
    check_all("2-D", lab, img, plane, 1, st);
    intensities(img, np, 3, &st);
    check_all("2-D, large mean", lab, img, plane, 0, st);
    free(lab);
    free(img);
}
END_TEST

/* Non-finite intensities follow NumPy: NaN makes sum, mean, min, max and std NaN; +inf makes the
 * sum, mean and max +inf and the std NaN; +inf and -inf together make the sum NaN. */
START_TEST(test_non_finite)
{
    const int64_t dim[3] = {1, 1, 12};
    float lab[12] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4};
    float img[12] = {1, NAN, 3, 1, INFINITY, 3, -INFINITY, INFINITY, 5, 2, 4, 9};
    lapse_blob_t t = {NULL, 0}, u = {NULL, 0};
    run_whole(lab, img, dim, &t);
    ck_assert_int_eq(nrows(&t), 4);
    for (int c = 12; c <= 16; c++)
        ck_assert_msg(isnan(col_d(&t, 0, c)), "NaN label column %d = %g", c, col_d(&t, 0, c));
    ck_assert(col_d(&t, 1, 12) == INFINITY && col_d(&t, 1, 13) == INFINITY);
    ck_assert(col_d(&t, 1, 14) == 1.0 && col_d(&t, 1, 15) == INFINITY && isnan(col_d(&t, 1, 16)));
    ck_assert(isnan(col_d(&t, 2, 12)) && isnan(col_d(&t, 2, 13)) && isnan(col_d(&t, 2, 16)));
    ck_assert(col_d(&t, 2, 14) == -INFINITY && col_d(&t, 2, 15) == INFINITY);
    ck_assert(col_d(&t, 3, 12) == 15.0 && col_d(&t, 3, 13) == 5.0);
    ck_assert(fabs(col_d(&t, 3, 16) - sqrt(26.0 / 3.0)) <= 1e-15 * sqrt(26.0 / 3.0));
    const int64_t tile[3] = {1, 1, 5};
    run_tiled(lab, img, dim, tile, 1, 0, &u);
    ck_assert(u.size == t.size && memcmp(u.data, t.data, t.size) == 0);
    lapse_blob_free(&t);
    lapse_blob_free(&u);
}
END_TEST

START_TEST(test_label_too_large)
{
    const int64_t dim[3] = {1, 2, 3};
    float lab[6] = {1, 2, 16777218.0f, 0, 0, 0}, img[6] = {0};
    lapse_dvol_t in[2] = {{upload(lab, 6), {1, 2, 3}, {0, 0, 0}, {0, 0, 0}},
                          {upload(img, 6), {1, 2, 3}, {0, 0, 0}, {0, 0, 0}}};
    lapse_dvol_t out = {upload(img, 6), {1, 2, 3}, {0, 0, 0}, {0, 0, 0}};
    lapse_err_clear();
    ck_assert_int_ne(lapse_global_whole(dev, &step, in, &out, NULL, NULL, NULL), LAPSE_OK);
    ck_assert_msg(strstr(lapse_errmsg(), "2^24") != NULL, "message: %s", lapse_errmsg());
    lapse_err_clear();
    (void)dim;
    clReleaseMemObject(in[0].mem);
    clReleaseMemObject(in[1].mem);
    clReleaseMemObject(out.mem);
}
END_TEST

/* The descriptor: two inputs, the table's 17 columns in order, timepoint first. */
START_TEST(test_descriptor)
{
    const lapse_op_t *op = step.op;
    static const char *const names[NCOLS] = {
        "timepoint",     "label",        "area",          "centroid_z",     "centroid_y",
        "centroid_x",    "bbox_z0",      "bbox_y0",       "bbox_x0",        "bbox_z1",
        "bbox_y1",       "bbox_x1",      "intensity_sum", "intensity_mean", "intensity_min",
        "intensity_max", "intensity_std"};
    static const int dbl[NCOLS] = {0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
    ck_assert_int_eq(op->ninputs, 2);
    ck_assert_int_eq(op->footprint, LAPSE_FP_GLOBAL);
    ck_assert_ptr_nonnull(op->global->table);
    ck_assert_int_eq(op->global->table->ncols, NCOLS);
    for (int c = 0; c < NCOLS; c++) {
        ck_assert_str_eq(op->global->table->cols[c].name, names[c]);
        ck_assert_int_eq(op->global->table->cols[c].is_double, dbl[c]);
    }
}
END_TEST

static Suite *measure_suite(void)
{
    Suite *s = suite_create("measure");
    TCase *tc = tcase_create("device");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_few_labels);
    tcase_add_test(tc, test_many_labels);
    tcase_add_test(tc, test_wide_rows);
    tcase_add_test(tc, test_gaps_and_odd_values);
    tcase_add_test(tc, test_background_and_planes);
    tcase_add_test(tc, test_non_finite);
    tcase_add_test(tc, test_label_too_large);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *env = getenv("LAPSE_TEST_SEED");
    seed_base = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    SRunner *sr = srunner_create(measure_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "test_measure: LAPSE_TEST_SEED=%llu repeats this run\n",
                (unsigned long long)seed_base);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
