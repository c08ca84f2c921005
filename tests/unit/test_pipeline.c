/*
 * test_pipeline.c - whole pipelines on the device (pipeline.c, running a graph compiled by
 * ops/graph.c): a volume processed tile by tile (each tile's read box from lapse_graph_read_box of
 * its core, core placed relative to the read box, whole z columns when the graph keeps z) must
 * assemble to exactly the bytes of the untiled run, for every output (saved
 * steps and the final result), and the untiled run must match the double-precision chain
 * reference (support/ops_ref.c). Random inputs use a fresh seed per run (LAPSE_TEST_SEED=n
 * repeats one).
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
#include "ops/graph.h"
#include "ops/op.h"
#include "ops_ref.h"
#include "pipeline.h"
#include "testutil.h"

static uint64_t seed_base;

static lapse_step_t make_step(const char *op, double a, double b, double c, const char *save)
{
    lapse_step_t s;
    const lapse_op_t *o = lapse_op_find(op);
    ck_assert_ptr_nonnull(o);
    lapse_step_init(&s, o);
    s.p[0].v[0] = a;
    s.p[0].v[1] = b;
    s.p[0].v[2] = c;
    snprintf(s.save, sizeof s.save, "%s", save);
    return s;
}

/* A pipeline run over an image, its outputs assembled into whole-image arrays. */
typedef struct {
    int nout;
    lapse_dtype_t dt[LAPSE_MAX_STEPS + 1];
    int64_t odim[LAPSE_MAX_STEPS + 1][3];
    unsigned char *out[LAPSE_MAX_STEPS + 1];
} result_t;

static void result_free(result_t *r)
{
    for (int k = 0; k < r->nout; k++)
        free(r->out[k]);
}

/* The tiles of an image of dims dim with core size tile (whole z columns when keep_z), in
 * order: tile i's core box in image coordinates into *core; 0 when there is no tile i. */
static int tile_core(const int64_t dim[3], const int64_t tile[3], int keep_z, int64_t i,
                     lapse_box_t *core)
{
    int64_t size[3] = {keep_z ? dim[0] : tile[0], tile[1], tile[2]}, nt[3];
    for (int a = 0; a < 3; a++)
        nt[a] = (dim[a] + size[a] - 1) / size[a];
    if (i >= nt[0] * nt[1] * nt[2])
        return 0;
    const int64_t t[3] = {i / (nt[1] * nt[2]), (i / nt[2]) % nt[1], i % nt[2]};
    for (int a = 0; a < 3; a++) {
        core->off[a] = t[a] * size[a];
        core->dim[a] = core->off[a] + size[a] < dim[a] ? size[a] : dim[a] - core->off[a];
    }
    return 1;
}

/* Run the compiled graph g (input dims g->in_shape, dtype g->in_dtype) over image img with
 * tiles of core size tile (clipped to the image; whole z columns when g->keep_z); tile == dim is
 * the untiled run. Each tile's read box is lapse_graph_read_box of its core. */
static void run_tiled(lapse_cl_t *cl, const lapse_graph_t *g, const void *img,
                      const int64_t tile[3], result_t *res)
{
    const int64_t *dim = g->in_shape;
    long long maxread = 1, maxcore = 1;
    size_t isz = lapse_dtype_size(g->in_dtype);
    lapse_box_t core, read;
    for (int64_t i = 0; tile_core(dim, tile, g->keep_z, i, &core); i++) {
        lapse_graph_read_box(g, &core, &read);
        long long r = (long long)lapse_box_voxels(&read), c = (long long)lapse_box_voxels(&core);
        maxread = r > maxread ? r : maxread;
        maxcore = c > maxcore ? c : maxcore;
    }
    lapse_pipeline_t *p = NULL;
    ck_assert_msg(lapse_pipeline_create(cl, g, maxread, maxcore, &p) == LAPSE_OK, "%s",
                  lapse_errmsg());
    res->nout = g->nout;
    for (int k = 0; k < res->nout; k++) {
        res->dt[k] = g->out[k].dtype;
        res->odim[k][0] = g->out[k].flat ? 1 : dim[0];
        res->odim[k][1] = dim[1];
        res->odim[k][2] = dim[2];
        size_t bytes = (size_t)(res->odim[k][0] * dim[1] * dim[2]) * lapse_dtype_size(res->dt[k]);
        res->out[k] = malloc(bytes);
        ck_assert_ptr_nonnull(res->out[k]);
        memset(res->out[k], 0xA5, bytes); /* poison: every voxel must be written by some tile */
    }
    for (int64_t i = 0; tile_core(dim, tile, g->keep_z, i, &core); i++) {
        const int64_t *t0 = core.off;
        lapse_graph_read_box(g, &core, &read);
        for (int a = 0; a < 3; a++) {
            ck_assert(read.off[a] >= 0 && read.off[a] + read.dim[a] <= dim[a]);
            ck_assert(read.off[a] <= t0[a] && t0[a] + core.dim[a] <= read.off[a] + read.dim[a]);
        }
        /* fill the read box */
        unsigned char *in = lapse_pipeline_input(p);
        for (int64_t z = 0; z < read.dim[0]; z++)
            for (int64_t y = 0; y < read.dim[1]; y++) {
                size_t src =
                    (size_t)(((z + read.off[0]) * dim[1] + y + read.off[1]) * dim[2] + read.off[2]);
                size_t dst = (size_t)((z * read.dim[1] + y) * read.dim[2]);
                memcpy(in + dst * isz, (const unsigned char *)img + src * isz,
                       (size_t)read.dim[2] * isz);
            }
        ck_assert_msg(lapse_pipeline_run(p, &read, &core, NULL) == LAPSE_OK, "%s", lapse_errmsg());
        for (int k = 0; k < res->nout; k++) {
            size_t osz = lapse_dtype_size(res->dt[k]);
            int64_t cz = res->odim[k][0] == 1 ? 1 : core.dim[0];
            int64_t oz = res->odim[k][0] == 1 ? 0 : t0[0];
            const unsigned char *o = lapse_pipeline_output(p, k);
            for (int64_t z = 0; z < cz; z++)
                for (int64_t y = 0; y < core.dim[1]; y++) {
                    size_t src = (size_t)((z * core.dim[1] + y) * core.dim[2]);
                    size_t dst = (size_t)(((z + oz) * dim[1] + y + t0[1]) * dim[2] + t0[2]);
                    memcpy(res->out[k] + dst * osz, o + src * osz, (size_t)core.dim[2] * osz);
                }
        }
    }
    lapse_pipeline_destroy(p);
}

/* Compile steps[0..n-1] for an input of dims dim and dtype in_dt into *g (must succeed). */
static void compile(const lapse_step_t *steps, int n, const int64_t dim[3], lapse_dtype_t in_dt,
                    lapse_dtype_t out_dt, lapse_graph_t *g)
{
    lapse_graph_err_t err;
    ck_assert_msg(lapse_graph_compile(steps, n, dim, in_dt, out_dt, g, &err) == LAPSE_OK, "%s",
                  lapse_errmsg());
}

/* Tiled and untiled runs give the same bytes for every output. */
static void check_tiled_equals_untiled(const result_t *whole, const result_t *tiled)
{
    ck_assert_int_eq(whole->nout, tiled->nout);
    for (int k = 0; k < whole->nout; k++) {
        size_t n = (size_t)(whole->odim[k][0] * whole->odim[k][1] * whole->odim[k][2]);
        size_t bytes = n * lapse_dtype_size(whole->dt[k]);
        size_t first = bytes;
        for (size_t i = 0; i < bytes && first == bytes; i++)
            if (whole->out[k][i] != tiled->out[k][i])
                first = i;
        ck_assert_msg(first == bytes, "output %d: tiled differs from untiled at byte %zu of %zu", k,
                      first, bytes);
    }
}

/* Float32 output k against a reference of the same dims. */
static void check_f32_vs_ref(const result_t *r, int k, const double *ref, double tol, uint64_t seed)
{
    ck_assert_int_eq(r->dt[k], LAPSE_DT_F32);
    size_t n = (size_t)(r->odim[k][0] * r->odim[k][1] * r->odim[k][2]);
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = ((const float *)r->out[k])[i];
    double err = ops_ref_relerr(d, ref, n);
    ck_assert_msg(err < tol, "output %d: relative error %g vs reference (seed %llu)", k, err,
                  (unsigned long long)seed);
    free(d);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* gaussian_blur -> top_hat_box (saved, float32) -> threshold_fixed on uint16 input: a uint8
 * mask. */
START_TEST(test_blur_tophat_threshold)
{
    lapse_cl_t *cl = tu_open_cl();
    const int64_t dim[3] = {9, 37, 41}, tile[3] = {4, 15, 11};
    size_t n = 9 * 37 * 41;
    uint64_t seed = seed_base, st = seed;
    uint16_t *img = malloc(n * sizeof *img);
    double *imgd = malloc(n * sizeof *imgd);
    for (size_t i = 0; i < n; i++)
        imgd[i] = img[i] = (uint16_t)(tu_rand(&st) % 4001);
    lapse_step_t steps[3] = {make_step("gaussian_blur", 1.0, 1.5, 1.2, ""),
                             make_step("top_hat_box", 1, 1, 1, "tophat"),
                             make_step("threshold_fixed", 0, 0, 0, "")};
    /* threshold halfway between two neighbouring reference values near the 70th percentile */
    int64_t rdim[3];
    double *pre = ops_ref_chain(steps, 1, imgd, dim, rdim), *sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, pre, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    double t = 0.5 * (sorted[n * 7 / 10] + sorted[n * 7 / 10 + 1]);
    steps[2].p[0].v[0] = t;

    lapse_graph_t g;
    compile(steps, 3, dim, LAPSE_DT_U16, LAPSE_DT_AUTO, &g);
    ck_assert_int_eq(g.keep_z, 0);
    result_t whole = {0}, tiled = {0};
    run_tiled(cl, &g, img, dim, &whole);
    run_tiled(cl, &g, img, tile, &tiled);
    check_tiled_equals_untiled(&whole, &tiled);

    /* the mask matches the reference except where the reference is within rounding of t */
    ck_assert_int_eq(whole.nout, 2);
    check_f32_vs_ref(&whole, 0, pre, 1e-5, seed);
    ck_assert_int_eq(whole.dt[1], LAPSE_DT_U8);
    double scale = fabs(sorted[n - 1]) > fabs(sorted[0]) ? fabs(sorted[n - 1]) : fabs(sorted[0]);
    size_t ones = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        int want = pre[i] > t, have = whole.out[1][i];
        ones += have == 1;
        if (have != want && fabs(pre[i] - t) > 1e-5 * scale)
            bad++;
        ck_assert_msg(have == 0 || have == 1, "mask voxel %zu is %d", i, have);
    }
    ck_assert_msg(bad == 0, "%zu mask voxels differ from the reference (seed %llu)", bad,
                  (unsigned long long)seed);
    ck_assert_msg(ones > n / 5 && ones < n / 2, "mask has %zu of %zu voxels set", ones, n);
    free(pre);
    free(sorted);
    free(img);
    free(imgd);
    result_free(&whole);
    result_free(&tiled);
    lapse_cl_close(cl);
}
END_TEST

/* gaussian_blur (saved) -> maximum_z_projection -> mean_box on uint8 input, float32 output:
 * tiles keep whole z columns; the saved output is 3D, the final one a single plane. */
START_TEST(test_saved_step_and_projection)
{
    lapse_cl_t *cl = tu_open_cl();
    const int64_t dim[3] = {6, 29, 34}, tile[3] = {6, 12, 16};
    size_t n = 6 * 29 * 34;
    uint64_t seed = seed_base ^ 0x5bd1e995ULL, st = seed;
    uint8_t *img = malloc(n);
    double *imgd = malloc(n * sizeof *imgd);
    for (size_t i = 0; i < n; i++)
        imgd[i] = img[i] = (uint8_t)(tu_rand(&st) % 256);
    lapse_step_t steps[3] = {make_step("gaussian_blur", 0.8, 1.0, 1.3, "blur"),
                             make_step("maximum_z_projection", 0, 0, 0, ""),
                             make_step("mean_box", 0, 1, 2, "")};
    lapse_graph_t g;
    compile(steps, 3, dim, LAPSE_DT_U8, LAPSE_DT_AUTO, &g);
    ck_assert_int_eq(g.nout, 2);
    ck_assert_int_eq(g.keep_z, 1);
    result_t whole = {0}, tiled = {0};
    run_tiled(cl, &g, img, dim, &whole);
    run_tiled(cl, &g, img, tile, &tiled);
    check_tiled_equals_untiled(&whole, &tiled);

    int64_t rdim[3];
    double *blur = ops_ref_chain(steps, 0, imgd, dim, rdim);
    check_f32_vs_ref(&whole, 0, blur, 1e-5, seed);
    double *fin = ops_ref_chain(steps, 2, imgd, dim, rdim);
    ck_assert_int_eq(rdim[0], 1);
    ck_assert_int_eq(whole.odim[1][0], 1);
    check_f32_vs_ref(&whole, 1, fin, 1e-5, seed);
    free(blur);
    free(fin);
    free(img);
    free(imgd);
    result_free(&whole);
    result_free(&tiled);
    lapse_cl_close(cl);
}
END_TEST

/* A global step (none is registered yet: a test descriptor that copies its input) cuts the
 * graph into segments; the hook runs once between two segments, with the index of the segment
 * that ended, and the result is the same as without the cut. */
static lapse_status_t copy_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                  const lapse_dvol_t *in, const lapse_dvol_t *out,
                                  const cl_mem *scratch, int *res)
{
    (void)s;
    (void)state;
    (void)scratch;
    *res = 0;
    return lapse_dev_copy(d, in[0].mem, out->mem,
                          (size_t)(in[0].dim[0] * in[0].dim[1] * in[0].dim[2]));
}

static const lapse_op_t fake_global = {.name = "fake_global",
                                       .help = "test only: a copy that cuts the graph",
                                       .version = 1,
                                       .ninputs = 1,
                                       .out_rule = LAPSE_OUT_SAME,
                                       .footprint = LAPSE_FP_GLOBAL,
                                       .launch = copy_launch};

static lapse_status_t count_hook(void *ctx, lapse_pipeline_t *p, int seg)
{
    int *calls = ctx;
    (void)p;
    calls[calls[0] + 1] = seg;
    calls[0]++;
    return LAPSE_OK;
}

START_TEST(test_segments_and_hook)
{
    lapse_cl_t *cl = tu_open_cl();
    const int64_t dim[3] = {4, 9, 11};
    const lapse_box_t core = {{0, 0, 0}, {4, 9, 11}};
    size_t n = 4 * 9 * 11;
    lapse_step_t steps[3] = {make_step("add_scalar", 2, 0, 0, ""),
                             make_step("add_scalar", 0, 0, 0, ""),
                             make_step("multiply_scalar", 3, 0, 0, "")};
    steps[1].op = &fake_global;
    lapse_graph_t g;
    compile(steps, 3, dim, LAPSE_DT_F32, LAPSE_DT_F32, &g);
    ck_assert_int_eq(g.nseg, 2);
    lapse_pipeline_t *p = NULL;
    ck_assert_msg(lapse_pipeline_create(cl, &g, (long long)n, (long long)n, &p) == LAPSE_OK, "%s",
                  lapse_errmsg());
    int calls[4] = {0, -1, -1, -1};
    lapse_pipeline_set_hook(p, count_hook, calls);
    float *in = lapse_pipeline_input(p);
    for (size_t i = 0; i < n; i++)
        in[i] = (float)i;
    ck_assert_msg(lapse_pipeline_run(p, &core, &core, NULL) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_int_eq(calls[0], 1);
    ck_assert_int_eq(calls[1], 0);
    const float *out = lapse_pipeline_output(p, 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_float_eq(out[i], ((float)i + 2.0f) * 3.0f);
    lapse_pipeline_destroy(p);
    lapse_cl_close(cl);
}
END_TEST

/* The global callback of test_checkpoint_resume: the step whole (lapse_global_whole); before it,
 * a checkpoint when asked. */
typedef struct {
    const lapse_graph_t *g;
    int save;
    lapse_pipe_ckpt_t *ck;
    int calls;
} ckpt_ctx_t;

static lapse_status_t ckpt_gfn(void *ctx, lapse_pipeline_t *p, int k, const lapse_dvol_t *in,
                               const lapse_dvol_t *out, cl_mem mat, cl_mem work,
                               const lapse_box_t *core, int *stop)
{
    ckpt_ctx_t *c = ctx;
    lapse_status_t st = LAPSE_OK;
    (void)core;
    (void)stop;
    c->calls++;
    if (c->save && c->ck == NULL)
        st = lapse_pipeline_ckpt_save(p, k, &c->ck);
    if (st == LAPSE_OK)
        st =
            lapse_global_whole(lapse_pipeline_dev(p), c->g->node[k].step, in, out, mat, work, NULL);
    return st;
}

/* Runs of each step so far, from lapse_pipeline_profile's lines (LAPSE_PROFILE=1). */
static void step_runs(const lapse_pipeline_t *p, int nsteps, long runs[])
{
    char line[512];
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    lapse_pipeline_profile(p, f, "");
    rewind(f);
    for (int k = 0; k < nsteps; k++)
        runs[k] = 0;
    while (fgets(line, sizeof line, f)) {
        int k = -1;
        long n = 0;
        const char *c = strstr(line, "): ");
        ck_assert_msg(sscanf(line, "step %d", &k) == 1 && c && sscanf(c, "): %ld runs", &n) == 1,
                      "profile line: %s", line);
        ck_assert_int_lt(k, nsteps);
        runs[k] = n;
    }
    fclose(f);
}

/* A run resumed from a checkpoint taken before a global step gives every output's bytes of the
 * run it was taken in, on another slot, after a smaller task has overwritten the device buffers
 * and the outputs: the saved step before the checkpoint (its packed core and size) comes from
 * it, and so do the values the global step and later steps read (the global step's operand,
 * whose last reader it is; the input; a blur read after it); the steps before it do not run
 * again, nor is the input read. A checkpoint of another task, or one asked for outside its
 * step's callback, is refused. */
START_TEST(test_checkpoint_resume)
{
    ck_assert_int_eq(setenv("LAPSE_PROFILE", "1", 1), 0); /* to count each step's runs */
    lapse_cl_t *cl = tu_open_cl();
    const int64_t dim[3] = {5, 17, 19};
    const lapse_box_t core = {{0, 0, 0}, {5, 17, 19}}, small = {{0, 0, 0}, {5, 10, 11}};
    const size_t n = 5 * 17 * 19;
    uint64_t st = seed_base ^ 0x9e3779b9ULL;
    /* 0 blur (saved) <- input; 1 mx = max(input, blur); 2 Otsu of mx (global, saved; the last
     * reader of mx); 3 max(input, blur) */
    lapse_step_t steps[4] = {
        make_step("gaussian_blur", 0.8, 1.0, 1.2, "blur"), make_step("maximum_images", 0, 0, 0, ""),
        make_step("gaussian_blur", 0, 0, 0, ""), make_step("maximum_images", 0, 0, 0, "")};
    lapse_step_init(&steps[2], lapse_op_find("threshold_otsu"));
    snprintf(steps[2].save, sizeof steps[2].save, "mask");
    snprintf(steps[0].name, sizeof steps[0].name, "blur");
    snprintf(steps[1].name, sizeof steps[1].name, "mx");
    snprintf(steps[1].from, sizeof steps[1].from, "input");
    snprintf(steps[1].with, sizeof steps[1].with, "blur");
    snprintf(steps[2].from, sizeof steps[2].from, "mx");
    snprintf(steps[3].from, sizeof steps[3].from, "input");
    snprintf(steps[3].with, sizeof steps[3].with, "blur");
    lapse_graph_t g;
    compile(steps, 4, dim, LAPSE_DT_U16, LAPSE_DT_F32, &g);
    ck_assert_int_eq(g.nout, 3);
    ck_assert_int_eq(g.node[1].last_use, 2);
    lapse_pipeline_t *p = NULL;
    ck_assert_msg(lapse_pipeline_create(cl, &g, (long long)n, (long long)n, &p) == LAPSE_OK, "%s",
                  lapse_errmsg());
    ck_assert_msg(lapse_pipeline_set_slots(p, 2) == LAPSE_OK, "%s", lapse_errmsg());
    ckpt_ctx_t ctx = {&g, 1, NULL, 0};
    lapse_pipeline_set_global(p, ckpt_gfn, &ctx);
    uint16_t *in = lapse_pipeline_input(p);
    for (size_t i = 0; i < n; i++)
        in[i] = (uint16_t)(tu_rand(&st) % 4096);
    ck_assert_msg(lapse_pipeline_run(p, &core, &core, NULL) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_ptr_nonnull(ctx.ck);
    ck_assert_int_eq(lapse_pipeline_ckpt_step(ctx.ck), 2);
    ck_assert_uint_eq(lapse_pipeline_ckpt_size(ctx.ck),
                      lapse_pipeline_ckpt_bytes(p, 2, &core, &core));
    /* input, blur, mx; blur's packed core; the outputs' saturation counters (8 bytes each) */
    ck_assert_uint_eq(lapse_pipeline_ckpt_size(ctx.ck), 3 * n * 4 + n * 4 + 8 * (size_t)g.nout);
    ck_assert_ptr_nonnull(lapse_pipeline_ckpt_value(ctx.ck, LAPSE_GRAPH_INPUT));
    ck_assert_ptr_nonnull(lapse_pipeline_ckpt_value(ctx.ck, 0));
    ck_assert_ptr_nonnull(lapse_pipeline_ckpt_value(ctx.ck, 1));
    ck_assert_ptr_null(lapse_pipeline_ckpt_value(ctx.ck, 2));
    unsigned char *first[3];
    size_t bytes[3];
    for (int o = 0; o < 3; o++) {
        bytes[o] = n * lapse_dtype_size(g.out[o].dtype);
        first[o] = malloc(bytes[o]);
        memcpy(first[o], lapse_pipeline_output(p, o), bytes[o]);
    }
    /* a smaller task with other data through every buffer */
    ctx.save = 0;
    for (size_t i = 0; i < n; i++)
        in[i] = (uint16_t)(tu_rand(&st) % 60000);
    ck_assert_msg(lapse_pipeline_run(p, &small, &small, NULL) == LAPSE_OK, "%s", lapse_errmsg());
    long before[4], after[4];
    step_runs(p, 4, before);
    /* resumed on slot 1, whose input is zeros and whose outputs are garbage */
    memset(lapse_pipeline_input_slot(p, 1), 0, n * sizeof *in);
    for (int o = 0; o < 3; o++)
        memset((void *)lapse_pipeline_output_slot(p, 1, o), 0xa5, bytes[o]);
    ck_assert_msg(lapse_pipeline_resume(p, 1, &core, &core, ctx.ck) == LAPSE_OK, "%s",
                  lapse_errmsg());
    ck_assert_msg(lapse_pipeline_wait(p, 1, NULL) == LAPSE_OK, "%s", lapse_errmsg());
    step_runs(p, 4, after);
    for (int k = 0; k < 4; k++) /* steps 0 and 1 not again; 2 and 3 once more */
        ck_assert_int_eq(after[k] - before[k], k < 2 ? 0 : 1);
    for (int o = 0; o < 3; o++)
        ck_assert_msg(memcmp(lapse_pipeline_output_slot(p, 1, o), first[o], bytes[o]) == 0,
                      "output %d of the resumed run differs (seed %llu)", o,
                      (unsigned long long)seed_base);
    const lapse_box_t other = {{0, 0, 0}, {5, 17, 18}};
    lapse_err_clear();
    ck_assert_int_ne(lapse_pipeline_resume(p, 0, &core, &other, ctx.ck), LAPSE_OK);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "another task"));
    lapse_pipe_ckpt_t *none = NULL;
    lapse_err_clear();
    ck_assert_int_ne(lapse_pipeline_ckpt_save(p, 2, &none), LAPSE_OK);
    ck_assert_ptr_null(none);
    for (int o = 0; o < 3; o++)
        free(first[o]);
    lapse_pipeline_ckpt_free(ctx.ck);
    lapse_pipeline_destroy(p);
    lapse_cl_close(cl);
    unsetenv("LAPSE_PROFILE");
}
END_TEST

/* Task geometry outside what the pipeline was created for is refused with a message. */
START_TEST(test_rejects_oversized_task)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_step_t steps[1] = {make_step("add_scalar", 1, 0, 0, "")};
    const int64_t shape[3] = {1, 10, 11};
    lapse_graph_t g;
    compile(steps, 1, shape, LAPSE_DT_F32, LAPSE_DT_AUTO, &g);
    lapse_pipeline_t *p = NULL;
    ck_assert_msg(lapse_pipeline_create(cl, &g, 100, 50, &p) == LAPSE_OK, "%s", lapse_errmsg());
    const lapse_box_t big = {{0, 0, 0}, {1, 10, 11}};
    const lapse_box_t core = {{0, 0, 0}, {1, 5, 5}};
    lapse_err_clear();
    ck_assert_int_ne(lapse_pipeline_run(p, &big, &core, NULL), LAPSE_OK);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "exceed"));
    const lapse_box_t ok = {{0, 0, 0}, {1, 10, 10}};
    const lapse_box_t outside = {{0, 6, 0}, {1, 5, 5}};
    lapse_err_clear();
    ck_assert_int_ne(lapse_pipeline_run(p, &ok, &outside, NULL), LAPSE_OK);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "does not fit"));
    /* a read box that does not hold the core (the core would come from outside it) */
    const lapse_box_t left = {{0, 0, 0}, {1, 10, 5}}, right = {{0, 0, 6}, {1, 5, 5}};
    lapse_err_clear();
    ck_assert_int_ne(lapse_pipeline_run(p, &left, &right, NULL), LAPSE_OK);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "read box is too small"));
    lapse_pipeline_destroy(p);
    lapse_cl_close(cl);
}
END_TEST

static Suite *pipeline_suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("device");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_blur_tophat_threshold);
    tcase_add_test(tc, test_saved_step_and_projection);
    tcase_add_test(tc, test_rejects_oversized_task);
    tcase_add_test(tc, test_segments_and_hook);
    tcase_add_test(tc, test_checkpoint_resume);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *env = getenv("LAPSE_TEST_SEED");
    seed_base = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    SRunner *sr = srunner_create(pipeline_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "test_pipeline: LAPSE_TEST_SEED=%llu repeats this run\n",
                (unsigned long long)seed_base);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
