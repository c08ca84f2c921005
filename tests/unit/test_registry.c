/*
 * test_registry.c - every registered operation, found by iterating the registry (so a new
 * operation is covered without touching this file): (1) its device launcher against its
 * double-precision CPU reference on random data, out of place and, where the op allows it, in
 * place; (2) tiled == untiled: the operation in a pipeline (two-input operations get a second
 * image from an earlier step) run over a volume in one task and in small tiles whose read boxes
 * come from the graph, bit for bit. Parameters are generic per kind (a mid value of the range);
 * the family tests (test_ops.c) cover the special cases. custom_kernel (a user's OpenCL C file,
 * no CPU reference) is skipped here and tested in test_custom.c. LAPSE_TEST_SEED=n repeats a run.
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
#include "ops_ref.h"
#include "pipeline.h"
#include "testutil.h"

static uint64_t seed_base;

/* A step of op with generic parameter values of each kind, inside the spec's range. */
static lapse_step_t generic_step(const lapse_op_t *op)
{
    static const double vec[3] = {1.0, 2.0, 1.5}, ivec[3] = {1, 2, 3};
    lapse_step_t s;
    lapse_step_init(&s, op);
    for (int k = 0; k < op->nparams; k++) {
        const lapse_param_spec_t *p = &op->params[k];
        double *v = s.p[k].v;
        for (int a = 0; a < LAPSE_PARAM_VALUES; a++) {
            double x = p->kind == LAPSE_PARAM_VEC3_FLOAT ? vec[a % 3] * (1.0 + k)
                       : p->kind == LAPSE_PARAM_VEC3_INT ? ivec[a % 3]
                       : p->kind == LAPSE_PARAM_BOOL3    ? (double)(a % 2 == 0)
                       : p->kind == LAPSE_PARAM_ENUM     ? 0.0
                       : p->kind == LAPSE_PARAM_MATRIX   ? (a % 5 == 0   ? 1.0
                                                            : a % 4 == 3 ? 0.375
                                                                         : 0.0)
                       : p->kind == LAPSE_PARAM_INT      ? 2.0
                                                         : 37.0 + 20.0 * k;
            v[a] = x < p->min ? p->min : x > p->max ? p->max : x;
        }
    }
    return s;
}

/* Random float input over dims dim: rows y < 3 of every plane 0 (so that a dilation is not 1
 * everywhere), elsewhere in the first half (along z) about a third of the voxels with x + y even
 * exact zeros (binary operations see both values; a voxel with x + y odd is never 0, so that a
 * small box such as crop's generic one is never all 0), none in the second half (so that a
 * minimum over a box is not 0 everywhere); about half of the rest whole numbers in [20, 60) (so
 * that equal_constant's generic 37 and plateaus occur). */
static void fill(float *v, const int64_t dim[3], uint64_t seed)
{
    const size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        const int64_t y = (int64_t)(i / (size_t)dim[2]) % dim[1], x = (int64_t)i % dim[2];
        double u = tu_uniform(&st, i < n / 2 && (x + y) % 2 == 0 ? -20.0 : 20.0, 100.0);
        v[i] = u < 20.0 || y < 3 ? 0.0f : u < 60.0 ? (float)floor(u) : (float)u;
    }
    v[n - 1] = 37.0f; /* equal_constant's generic 37 at least once (else 1 run in 128,000) */
}

static cl_mem upload(lapse_cl_t *cl, const float *v, size_t n)
{
    cl_int e;
    cl_mem m = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * sizeof *v,
                              (void *)v, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    return m;
}

/* Launch s on in[0..ninputs-1] (host floats, dims dim) with out in place when inplace; result
 * (dims odim) into res. */
static void launch(lapse_cl_t *cl, lapse_dev_t *d, const lapse_step_t *s, void *state,
                   float *const *in, const int64_t dim[3], const int64_t odim[3], int inplace,
                   float *res)
{
    const lapse_op_t *op = s->op;
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]), on = (size_t)(odim[0] * odim[1] * odim[2]);
    lapse_dvol_t vin[LAPSE_OP_MAX_INPUTS], vout;
    cl_mem scratch[LAPSE_GRAPH_SCRATCH];
    size_t m = on > n ? on : n;
    float *nans = malloc(m * sizeof *nans);
    for (size_t i = 0; i < m; i++)
        nans[i] = NAN;
    memset(vin, 0, sizeof vin); /* whole images: org 0, img = dim */
    memset(&vout, 0, sizeof vout);
    for (int i = 0; i < op->ninputs; i++) {
        vin[i].mem = upload(cl, in[i], n);
        memcpy(vin[i].dim, dim, sizeof vin[i].dim);
    }
    vout.mem = inplace ? vin[0].mem : upload(cl, nans, on);
    memcpy(vout.dim, odim, sizeof vout.dim);
    for (int i = 0; i < op->nscratch; i++)
        scratch[i] = upload(cl, nans, n);
    int where = -1;
    if (op->global) { /* the whole buffer is the timepoint (ops/global.h) */
        const lapse_global_t *gl = op->global;
        cl_mem mat = NULL, work = NULL;
        cl_int e = CL_SUCCESS;
        if (gl->mat_bytes)
            mat = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, n * gl->mat_bytes, NULL, &e);
        ck_assert_int_eq(e, CL_SUCCESS);
        if (gl->work_bytes)
            work = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, n * gl->work_bytes, NULL, &e);
        ck_assert_int_eq(e, CL_SUCCESS);
        ck_assert_msg(lapse_global_whole(d, s, vin, &vout, mat, work, NULL) == LAPSE_OK, "%s: %s",
                      op->name, lapse_errmsg());
        where = 0;
        if (mat)
            clReleaseMemObject(mat);
        if (work)
            clReleaseMemObject(work);
    } else
        ck_assert_msg(op->launch(d, s, state, vin, &vout, scratch, &where) == LAPSE_OK, "%s: %s",
                      op->name, lapse_errmsg());
    ck_assert_msg(where >= 0 && where <= op->nscratch, "%s: result in %d", op->name, where);
    ck_assert_int_eq(clEnqueueReadBuffer(cl->queue, where ? scratch[where - 1] : vout.mem, CL_TRUE,
                                         0, on * sizeof(float), res, 0, NULL, NULL),
                     CL_SUCCESS);
    for (int i = 0; i < op->ninputs; i++)
        clReleaseMemObject(vin[i].mem);
    if (!inplace)
        clReleaseMemObject(vout.mem);
    for (int i = 0; i < op->nscratch; i++)
        clReleaseMemObject(scratch[i]);
    free(nans);
}

START_TEST(test_every_op_vs_reference)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    const int64_t dim[3] = {6, 13, 17};
    size_t n = 6 * 13 * 17;
    for (int i = 0; i < lapse_op_count(); i++) {
        const lapse_op_t *op = lapse_op_at(i);
        if (op->expand) /* a composition: its steps are tested, it has no kernel of its own */
            continue;
        if (strcmp(op->name, "custom_kernel") == 0) /* the user's OpenCL C: no generic source, */
            continue;                               /* no CPU reference (test_custom.c) */
        lapse_step_t s = generic_step(op);
        uint64_t seed = seed_base + 977u * (uint64_t)i;
        int64_t odim[3];
        lapse_step_out_dims(&s, dim, odim);
        size_t on = (size_t)(odim[0] * odim[1] * odim[2]), m = on > n ? on : n;
        float *in[2] = {malloc(n * sizeof(float)), malloc(n * sizeof(float))};
        double *ind[2] = {malloc(n * sizeof(double)), malloc(n * sizeof(double))};
        float *res = malloc(m * sizeof(float)), *res2 = malloc(m * sizeof(float));
        double *dev = malloc(m * sizeof(double)), *ref = malloc(m * sizeof(double));
        fill(in[0], dim, seed);
        fill(in[1], dim, seed ^ 0x5bd1e995u);
        for (int k = 0; k < 2; k++)
            for (size_t j = 0; j < n; j++)
                ind[k][j] = in[k][j];
        void *state = NULL;
        if (op->prepare)
            ck_assert_msg(op->prepare(d, &s, &state) == LAPSE_OK, "%s", lapse_errmsg());
        launch(cl, d, &s, state, in, dim, odim, 0, res);
        if (op->inplace) {
            launch(cl, d, &s, state, in, dim, odim, 1, res2);
            ck_assert_msg(memcmp(res, res2, on * sizeof *res) == 0, "%s: in place differs",
                          op->name);
        }
        if (op->release)
            op->release(state);
        lapse_refvol_t rin[2] = {{ind[0], {dim[0], dim[1], dim[2]}},
                                 {ind[1], {dim[0], dim[1], dim[2]}}};
        lapse_refvol_t rout = {ref, {odim[0], odim[1], odim[2]}};
        op->reference(&s, rin, &rout);
        for (size_t j = 0; j < on; j++)
            dev[j] = res[j];
        /* the generic step must do something visible: a varying result (not for the relabel
         * family, whose random input is no label image: test_labels.sh feeds them labels) */
        size_t diff = 1, finite = 0; /* NaN equals NaN here; at least one finite value */
        while (diff < on && (ref[diff] == ref[0] || (isnan(ref[diff]) && isnan(ref[0]))))
            diff++;
        for (size_t j = 0; j < on && !finite; j++)
            finite = isfinite(ref[j]);
        ck_assert_msg(finite || strcmp(op->family, "relabel") == 0,
                      "%s: the generic step's reference result has no finite value", op->name);
        ck_assert_msg(diff < on || strcmp(op->family, "relabel") == 0,
                      "%s: the generic step's reference result is constant (%g)", op->name, ref[0]);
        double tol = op->out_rule == LAPSE_OUT_U8 ? 0.0 : 1e-5;
        double err = ops_ref_relerr(dev, ref, on);
        ck_assert_msg(err <= tol, "%s: relative error %g > %g (LAPSE_TEST_SEED=%llu)", op->name,
                      err, tol, (unsigned long long)seed_base);
        for (int k = 0; k < 2; k++) {
            free(in[k]);
            free(ind[k]);
        }
        free(res);
        free(res2);
        free(dev);
        free(ref);
    }
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

/* Core box i of a grid of tiles t over shape, or 0 past the last. */
static int grid_core(const int64_t shape[3], const int64_t t[3], int64_t i, lapse_box_t *core)
{
    int64_t grid[3];
    for (int a = 0; a < 3; a++)
        grid[a] = (shape[a] + t[a] - 1) / t[a];
    if (i >= grid[0] * grid[1] * grid[2])
        return 0;
    int64_t idx[3] = {i / (grid[1] * grid[2]), (i / grid[2]) % grid[1], i % grid[2]};
    for (int a = 0; a < 3; a++) {
        core->off[a] = idx[a] * t[a];
        core->dim[a] = shape[a] - core->off[a] < t[a] ? shape[a] - core->off[a] : t[a];
    }
    return 1;
}

/* Run graph g over img (g->in_shape, float32) with core tiles of tile (clipped) over the output
 * image g->out_shape, as the planner does: read boxes from the graph, buffers as large as the
 * largest node box; the final output (float32) assembled into out (out_shape, or one plane of
 * it for a flat result). */
static void run_tiles(lapse_cl_t *cl, const lapse_graph_t *g, const float *img,
                      const int64_t tile[3], float *out)
{
    const int64_t *dim = g->in_shape, *od = g->out_shape;
    int64_t t[3];
    for (int a = 0; a < 3; a++) {
        t[a] = g->keep_z && a == 0 ? od[0] : tile[a];
        t[a] = t[a] < od[a] ? t[a] : od[a];
    }
    lapse_box_t core, read, box[LAPSE_MAX_STEPS];
    long long most = 1, most_core = 1;
    for (int64_t i = 0; grid_core(od, t, i, &core); i++) {
        lapse_graph_read_box(g, &core, &read);
        long long v = (long long)lapse_graph_node_boxes(g, &read, &core, box);
        most = v > most ? v : most;
        v = (long long)lapse_box_voxels(&core);
        most_core = v > most_core ? v : most_core;
    }
    lapse_pipeline_t *p = NULL;
    ck_assert_msg(lapse_pipeline_create(cl, g, most, most_core, &p) == LAPSE_OK, "%s",
                  lapse_errmsg());
    const lapse_goutput_t *o = &g->out[g->nout - 1];
    for (int64_t i = 0; grid_core(od, t, i, &core); i++) {
        lapse_graph_read_box(g, &core, &read);
        float *in = lapse_pipeline_input(p);
        for (int64_t z = 0; z < read.dim[0]; z++)
            for (int64_t y = 0; y < read.dim[1]; y++)
                memcpy(in + (z * read.dim[1] + y) * read.dim[2],
                       img + ((read.off[0] + z) * dim[1] + read.off[1] + y) * dim[2] + read.off[2],
                       (size_t)read.dim[2] * sizeof *in);
        ck_assert_msg(lapse_pipeline_run(p, &read, &core, NULL) == LAPSE_OK, "%s", lapse_errmsg());
        const float *res = lapse_pipeline_output(p, g->nout - 1);
        int64_t cz = o->flat ? 1 : core.dim[0], z0 = o->flat ? 0 : core.off[0];
        for (int64_t z = 0; z < cz; z++)
            for (int64_t y = 0; y < core.dim[1]; y++)
                memcpy(out + ((z0 + z) * od[1] + core.off[1] + y) * od[2] + core.off[2],
                       res + (z * core.dim[1] + y) * core.dim[2],
                       (size_t)core.dim[2] * sizeof *out);
    }
    lapse_pipeline_destroy(p);
}

START_TEST(test_every_op_tiled_equals_untiled)
{
    lapse_cl_t *cl = tu_open_cl();
    const int64_t dim[3] = {11, 16, 19}, whole[3] = {1 << 20, 1 << 20, 1 << 20},
                  tile[3] = {4, 7, 6};
    size_t n = 11 * 16 * 19;
    float *img = malloc(n * sizeof *img);
    fill(img, dim, seed_base);
    for (int i = 0; i < lapse_op_count(); i++) {
        const lapse_op_t *op = lapse_op_at(i);
        if (op->global || op->expand) /* tiles need the phase engine: tests/mpi/test_segment*.sh */
            continue;
        if (strcmp(op->name, "custom_kernel") == 0) /* needs a user's file: test_custom.c */
            continue;
        /* a blur first, so that the tiles need a halo even for pointwise operations; a second
         * image (two-input operations) from a top-hat of the input */
        lapse_step_t s[3];
        int ns = 0;
        lapse_step_init(&s[ns++], lapse_op_find("gaussian_blur"));
        for (int v = 0; v < 3; v++)
            s[0].p[0].v[v] = 1.0;
        snprintf(s[0].name, sizeof s[0].name, "blur");
        if (op->ninputs == 2) {
            lapse_step_init(&s[ns], lapse_op_find("top_hat_box"));
            for (int v = 0; v < 3; v++)
                s[ns].p[0].v[v] = 1.0;
            snprintf(s[ns].from, sizeof s[ns].from, "input");
            snprintf(s[ns++].name, sizeof s[0].name, "second");
        }
        s[ns] = generic_step(op);
        snprintf(s[ns].from, sizeof s[ns].from, "blur");
        if (op->ninputs == 2)
            snprintf(s[ns].with, sizeof s[ns].with, "second");
        ns++;
        lapse_graph_t g;
        lapse_graph_err_t err;
        ck_assert_msg(lapse_graph_compile(s, ns, dim, LAPSE_DT_F32, LAPSE_DT_F32, &g, &err) ==
                          LAPSE_OK,
                      "%s: %s", op->name, lapse_errmsg());
        const int64_t *od = g.out_shape;
        size_t on = (size_t)((g.out[g.nout - 1].flat ? 1 : od[0]) * od[1] * od[2]);
        float *a = malloc(on * sizeof *a), *b = malloc(on * sizeof *b);
        memset(a, 0xA5, on * sizeof *a);
        memset(b, 0x5A, on * sizeof *b);
        run_tiles(cl, &g, img, whole, a);
        run_tiles(cl, &g, img, tile, b);
        ck_assert_msg(memcmp(a, b, on * sizeof *a) == 0, "%s: tiled differs from untiled",
                      op->name);
        free(a);
        free(b);
    }
    free(img);
    lapse_cl_close(cl);
}
END_TEST

/* threshold_mean on timepoints with NaN and infinite voxels: NumPy's mean (skimage's
 * threshold_mean) is NaN with a NaN or both infinities and the infinity otherwise, so the mask
 * is empty (NaN, +inf) or every voxel but -inf and NaN (-inf); the device against the expected
 * masks and the double reference. A review found +inf marking every voxel and NaN voxels counted
 * in n but not in the sum. */
START_TEST(test_threshold_mean_nonfinite)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    const lapse_op_t *op = lapse_op_find("threshold_mean");
    ck_assert_ptr_nonnull(op);
    lapse_step_t s = generic_step(op);
    const float I = INFINITY, N = NAN;
    static const struct {
        float v[5];
        float want[5];
    } cases[] = {
        {{I, 0, 1, 2, 3}, {0, 0, 0, 0, 0}},
        {{N, N, 0, 5, 10}, {0, 0, 0, 0, 0}},
        {{-I, 0, 1, N, 2}, {0, 0, 0, 0, 0}},
        {{-I, 0, 1, 2, 3}, {0, 1, 1, 1, 1}},
        {{I, -I, 1, 2, 3}, {0, 0, 0, 0, 0}},
        {{-I, -I, 5, 0, -7}, {0, 0, 1, 1, 1}},
        {{1, 2, 3, 4, 1e30f}, {0, 0, 0, 0, 1}},
        {{-0.0f, 0, 0, 0, 0}, {0, 0, 0, 0, 0}},
        /* huge finite voxels beside an infinity: their sum is not taken (it would overflow) */
        {{I, 3e38f, 3e38f, 3e38f, 1}, {0, 0, 0, 0, 0}},
        {{-I, 3e38f, -3e38f, 3e38f, 1}, {0, 1, 1, 1, 1}},
    };
    const int64_t dim[3] = {1, 1, 5};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float in0[5], res[5];
        double ind[5], ref[5];
        memcpy(in0, cases[c].v, sizeof in0);
        for (int j = 0; j < 5; j++)
            ind[j] = in0[j];
        float *in[2] = {in0, in0};
        launch(cl, d, &s, NULL, in, dim, dim, 0, res);
        lapse_refvol_t rin[1] = {{ind, {1, 1, 5}}}, rout = {ref, {1, 1, 5}};
        op->reference(&s, rin, &rout);
        for (int j = 0; j < 5; j++) {
            ck_assert_msg(res[j] == cases[c].want[j], "case %zu voxel %d (%g): device %g, want %g",
                          c, j, (double)in0[j], (double)res[j], (double)cases[c].want[j]);
            ck_assert_msg(ref[j] == cases[c].want[j], "case %zu voxel %d: reference %g, want %g", c,
                          j, ref[j], (double)cases[c].want[j]);
        }
    }
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

/* sum_z_projection and mean_z_projection start from NumPy's identity +0: a column of -0 gives
 * +0 (the sign bit checked), as NumPy's float32 sum(axis=0) and mean do; a review found -0. */
START_TEST(test_zsum_negative_zero)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    const char *names[] = {"sum_z_projection", "mean_z_projection"};
    /* columns (z = 0, 1, 2) of a 3 x 1 x 3 image: all -0; -0, 1, -1; -0, -2, -0 */
    float in0[9] = {-0.0f, -0.0f, -0.0f, -0.0f, 1.0f, -2.0f, -0.0f, -1.0f, -0.0f};
    const float want[2][3] = {{0.0f, 0.0f, -2.0f}, {0.0f, 0.0f, -2.0f / 3.0f}};
    const int64_t dim[3] = {3, 1, 3}, odim[3] = {1, 1, 3};
    for (int k = 0; k < 2; k++) {
        const lapse_op_t *op = lapse_op_find(names[k]);
        ck_assert_ptr_nonnull(op);
        lapse_step_t s = generic_step(op);
        float res[9];
        float *in[2] = {in0, in0};
        launch(cl, d, &s, NULL, in, dim, odim, 0, res);
        for (int j = 0; j < 3; j++)
            ck_assert_msg(res[j] == want[k][j] && !signbit(res[j]) == !signbit(want[k][j]),
                          "%s column %d: %g (sign %d), want %g", names[k], j, (double)res[j],
                          signbit(res[j]) != 0, (double)want[k][j]);
    }
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

/* The z sum and mean in double precision (op version 3: the float32 sums of version 2 drift on
 * long columns: 60000 + steps of 0.25 over 1000 planes), then the z standard deviation in double
 * precision (op version 2), per column against a two-pass sum in long double here:
 * - 1000 planes (more than the old local-memory kernel took) of 60000 plus small steps, and of
 *   noise around -3e5: each column within one float32 unit of the reference;
 * - 1e6 + {0, 1/16} alternating: exactly 1/32 (NumPy's float32 std, summing to 1e9 in float32
 *   whose unit there is 64, is far off);
 * - a constant column: +0; one plane: +0; a NaN: NaN; one +inf, or all +inf: NaN (NumPy: the
 *   mean is inf, inf - inf is NaN), also of one plane. */
START_TEST(test_zproj_double)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    const lapse_op_t *op = lapse_op_find("standard_deviation_z_projection");
    ck_assert_ptr_nonnull(op);
    lapse_step_t s = generic_step(op);
    enum { NZ = 1000, NC = 8 };
    float *in0 = malloc((size_t)NZ * NC * sizeof *in0), res[NC];
    uint64_t st = seed_base ^ 0x5a5aULL;
    for (int z = 0; z < NZ; z++) {
        float *p = in0 + (size_t)z * NC;
        p[0] = 60000.0f + (float)(z % 7) * 0.25f;
        p[1] = (float)tu_uniform(&st, -3.1e5, -2.9e5);
        p[2] = z % 2 ? 1e6f + 0.0625f : 1e6f;
        p[3] = 1234.5f;
        p[4] = z == 500 ? NAN : 1.0f;
        p[5] = z == 999 ? INFINITY : (float)z;
        p[6] = INFINITY;
        p[7] = (float)tu_uniform(&st, 0.0, 1.0) * 1e-30f;
    }
    const int64_t dim[3] = {NZ, 1, NC}, odim[3] = {1, 1, NC};
    float *in[2] = {in0, in0};
    /* the sum and the mean: NumPy's float64 ones (sequential from +0) rounded to float32, bit for
     * bit; inf and NaN as IEEE addition gives them */
    for (int k = 0; k < 2; k++) {
        const lapse_op_t *sop = lapse_op_find(k ? "mean_z_projection" : "sum_z_projection");
        lapse_step_t ss = generic_step(sop);
        launch(cl, d, &ss, NULL, in, dim, odim, 0, res);
        for (int c = 0; c < NC; c++) {
            double acc = 0.0;
            for (int z = 0; z < NZ; z++)
                acc += (double)in0[(size_t)z * NC + c];
            const float want = (float)(k ? acc / NZ : acc);
            ck_assert_msg(isnan(want) ? isnan(res[c]) : res[c] == want,
                          "%s column %d: %.9g, want %.9g", sop->name, c, (double)res[c],
                          (double)want);
        }
    }
    launch(cl, d, &s, NULL, in, dim, odim, 0, res);
    for (int c = 0; c < NC; c++) {
        long double m = 0.0L, ss = 0.0L;
        for (int z = 0; z < NZ; z++)
            m += in0[(size_t)z * NC + c];
        m /= NZ;
        for (int z = 0; z < NZ; z++)
            ss += (in0[(size_t)z * NC + c] - m) * (in0[(size_t)z * NC + c] - m);
        const float want = (float)sqrtl(ss / NZ);
        if (c == 4 || c == 5 || c == 6) {
            ck_assert_msg(isnan(res[c]), "column %d: %g, want NaN", c, (double)res[c]);
        } else if (c == 2) {
            ck_assert_msg(res[c] == 0.03125f, "column 2: %.9g, want 0.03125", (double)res[c]);
        } else if (c == 3) {
            ck_assert_msg(res[c] == 0.0f && !signbit(res[c]), "constant column: %g",
                          (double)res[c]);
        } else {
            const float ulp = nextafterf(want, INFINITY) - want;
            ck_assert_msg(fabsf(res[c] - want) <= ulp, "column %d: %.9g, want %.9g (unit %g)", c,
                          (double)res[c], (double)want, (double)ulp);
        }
    }
    const int64_t one[3] = {1, 1, NC};
    launch(cl, d, &s, NULL, in, one, odim, 0, res);
    for (int c = 0; c < NC; c++) /* column 6 is +inf: inf - inf, as NumPy */
        ck_assert_msg(c == 6 ? isnan(res[c]) : res[c] == 0.0f, "one plane, column %d: %g", c,
                      (double)res[c]);
    free(in0);
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

/* lapse_dev_require: the device has cl_khr_fp64 (every device lapse is tested on); an extension
 * it lacks, or only a prefix of a real one, is refused with a message naming the operation, the
 * extension and the device. */
START_TEST(test_dev_require)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    static const char *const fp64[] = {"cl_khr_fp64"};
    ck_assert_msg(lapse_dev_require(d, "op", "why", fp64, 1) == LAPSE_OK, "%s", lapse_errmsg());
    static const char *const bad[][2] = {{"cl_khr_fp64", "cl_lapse_no_such_extension"},
                                         {"cl_khr_fp", "cl_khr_fp64"}};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(lapse_dev_require(d, "some_op", "a reason", bad[k], 2), LAPSE_ECL);
        const char *want[] = {"some_op", "a reason", bad[k][k == 0 ? 1 : 0], cl->dev.name};
        for (int w = 0; w < 4; w++)
            ck_assert_msg(strstr(lapse_errmsg(), want[w]), "'%s' lacks '%s'", lapse_errmsg(),
                          want[w]);
    }
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

int main(void)
{
    const char *env = getenv("LAPSE_TEST_SEED");
    seed_base = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    Suite *su = suite_create("registry");
    TCase *tc = tcase_create("every op");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_every_op_vs_reference);
    tcase_add_test(tc, test_every_op_tiled_equals_untiled);
    tcase_add_test(tc, test_threshold_mean_nonfinite);
    tcase_add_test(tc, test_zsum_negative_zero);
    tcase_add_test(tc, test_zproj_double);
    tcase_add_test(tc, test_dev_require);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "test_registry: LAPSE_TEST_SEED=%llu repeats this run\n",
                (unsigned long long)seed_base);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
