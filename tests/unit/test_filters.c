/*
 * test_filters.c - issue 11's filters (src/ops/op_window.c, op_stencil.c, op_filters.c) beyond the
 * generic checks of test_registry.c: every operation's device launcher against SciPy
 * (tests/py/filters_ref.py, run once for all cases with $LAPSE_PY) and against its C reference,
 * on 3-D volumes and on 2-D ones (z = 1) with a z radius; medians, minima, maxima and the binary
 * morphology exactly, float results within 1e-5 of the range. Plus the definitions: the sphere
 * footprint of a single bright voxel has skimage's ball / disk counts, the Laplacians' and
 * gradient's signs and weights on a delta and a ramp, the median limits at config time, a z
 * radius that changes nothing on 2-D data, the composed filters bit for bit equal to their
 * parts, and configs/filters.yaml parses. Random inputs with a fresh seed per run
 * (LAPSE_TEST_SEED=n repeats a run).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clrt.h"
#include "config.h"
#include "device/dev.h"
#include "ops/graph.h"
#include "ops/op.h"
#include "ops_ref.h"
#include "testutil.h"

static uint64_t seed_base;

static lapse_step_t make_step(const char *op, const double p0[3], const double p1[3])
{
    lapse_step_t s;
    const lapse_op_t *o = lapse_op_find(op);
    ck_assert_msg(o != NULL, "no operation %s", op);
    lapse_step_init(&s, o);
    for (int a = 0; a < 3; a++) {
        s.p[0].v[a] = p0 ? p0[a] : 0.0;
        s.p[1].v[a] = p1 ? p1[a] : 0.0;
    }
    return s;
}

static cl_mem buffer(lapse_cl_t *cl, size_t n, const float *init)
{
    const cl_float nan = NAN;
    cl_int e;
    cl_mem m = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    if (init)
        e = clEnqueueWriteBuffer(cl->queue, m, CL_TRUE, 0, n * sizeof(float), init, 0, NULL, NULL);
    else
        e = clEnqueueFillBuffer(cl->queue, m, &nan, sizeof nan, 0, n * sizeof(float), 0, NULL,
                                NULL);
    ck_assert_int_eq(e, CL_SUCCESS);
    return m;
}

/* Run step s through its launcher on in (dims dim) into res (float); output and scratch start as
 * NaN, the input must come back unchanged. */
static void device_run(lapse_cl_t *cl, lapse_dev_t *d, const lapse_step_t *s, const float *in,
                       const int64_t dim[3], float *res)
{
    const lapse_op_t *op = s->op;
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    void *state = NULL;
    cl_mem scratch[LAPSE_GRAPH_SCRATCH];
    if (op->prepare)
        ck_assert_msg(op->prepare(d, s, &state) == LAPSE_OK, "%s", lapse_errmsg());
    lapse_dvol_t vin = {buffer(cl, n, in), {dim[0], dim[1], dim[2]}, {0, 0, 0}, {0, 0, 0}};
    lapse_dvol_t vout = {buffer(cl, n, NULL), {dim[0], dim[1], dim[2]}, {0, 0, 0}, {0, 0, 0}};
    for (int i = 0; i < op->nscratch; i++)
        scratch[i] = buffer(cl, n, NULL);
    int where = -1;
    ck_assert_msg(op->launch(d, s, state, &vin, &vout, scratch, &where) == LAPSE_OK, "%s: %s",
                  op->name, lapse_errmsg());
    ck_assert_msg(where >= 0 && where <= op->nscratch, "%s: result in %d", op->name, where);
    ck_assert_int_eq(clEnqueueReadBuffer(cl->queue, where ? scratch[where - 1] : vout.mem, CL_TRUE,
                                         0, n * sizeof(float), res, 0, NULL, NULL),
                     CL_SUCCESS);
    float *back = malloc(n * sizeof *back);
    ck_assert_int_eq(
        clEnqueueReadBuffer(cl->queue, vin.mem, CL_TRUE, 0, n * sizeof(float), back, 0, NULL, NULL),
        CL_SUCCESS);
    ck_assert_msg(memcmp(back, in, n * sizeof *in) == 0, "%s wrote its input", op->name);
    free(back);
    clReleaseMemObject(vin.mem);
    clReleaseMemObject(vout.mem);
    for (int i = 0; i < op->nscratch; i++)
        clReleaseMemObject(scratch[i]);
    if (op->release)
        op->release(state);
}

/* ---------------------------------------------------------------- against SciPy */

typedef struct {
    const char *op;
    double p0[3], p1[3];
    int64_t dim[3];
    double tol; /* relative error allowed against SciPy (0: exact) */
} scipy_case_t;

#define F32 1e-5
static const scipy_case_t cases[] = {
    {"median_box", {1, 1, 1}, {0}, {7, 12, 15}, 0},
    {"median_box", {1, 2, 2}, {0}, {6, 11, 13}, 0},
    {"median_box", {0, 1, 3}, {0}, {5, 9, 17}, 0},
    {"median_box", {4, 4, 4}, {0}, {9, 10, 11}, 0}, /* the largest window: 729 values */
    {"median_box", {2, 1, 1}, {0}, {1, 14, 19}, 0}, /* 2-D data with a z radius */
    {"median_box", {0, 1, 1}, {0}, {6, 13, 11}, 0}, /* the 3x3 register kernel on 3-D data */
    {"median_box", {1, 1, 1}, {0}, {5, 1, 16}, 0},  /* y of extent 1: the generic kernel */
    {"median_sphere", {1, 1, 1}, {0}, {7, 12, 15}, 0},
    {"median_sphere", {1, 2, 3}, {0}, {6, 11, 13}, 0},
    {"median_sphere", {5, 5, 5}, {0}, {11, 12, 12}, 0}, /* the largest: 515 values */
    {"median_sphere", {3, 2, 2}, {0}, {1, 14, 19}, 0},
    {"median_sphere", {1, 1, 1}, {0}, {1, 14, 19}, 0}, /* the 2-D cross */
    {"mean_sphere", {1, 1, 1}, {0}, {7, 12, 15}, F32},
    {"mean_sphere", {2, 3, 1}, {0}, {8, 11, 13}, F32},
    {"mean_sphere", {2, 2, 2}, {0}, {1, 14, 19}, F32},
    /* windows summed in double (over 1024 voxels; over radius 64 per box axis): within 1e-6,
     * where float32 sums drift by more than 1e-5 */
    {"mean_sphere", {0, 40, 40}, {0}, {2, 90, 85}, 1e-6},
    {"mean_sphere", {7, 8, 9}, {0}, {16, 18, 21}, 1e-6},
    {"mean_box", {0, 80, 300}, {0}, {2, 200, 700}, 1e-6},
    {"minimum_sphere", {1, 2, 2}, {0}, {7, 12, 15}, 0},
    {"minimum_sphere", {3, 3, 3}, {0}, {1, 14, 19}, 0},
    {"maximum_sphere", {2, 1, 3}, {0}, {7, 12, 15}, 0},
    {"maximum_sphere", {1, 2, 2}, {0}, {1, 14, 19}, 0},
    {"top_hat_sphere", {1, 2, 2}, {0}, {7, 12, 15}, 1e-6},
    {"top_hat_sphere", {1, 1, 1}, {0}, {1, 14, 19}, 1e-6},
    {"erode_sphere", {1, 1, 1}, {0}, {7, 12, 15}, 0},
    {"erode_sphere", {1, 2, 3}, {0}, {6, 14, 16}, 0},
    {"erode_sphere", {2, 2, 2}, {0}, {1, 14, 19}, 0},
    {"dilate_sphere", {1, 1, 1}, {0}, {7, 12, 15}, 0},
    {"dilate_sphere", {2, 1, 2}, {0}, {1, 14, 19}, 0},
    {"variance_box", {1, 1, 1}, {0}, {7, 12, 15}, F32},
    {"variance_box", {0, 2, 3}, {0}, {5, 11, 13}, F32},
    {"variance_box", {2, 1, 1}, {0}, {1, 14, 19}, F32},
    {"standard_deviation_box", {1, 2, 2}, {0}, {7, 12, 15}, F32},
    {"standard_deviation_box", {1, 1, 1}, {0}, {1, 14, 19}, F32},
    {"sobel", {0}, {0}, {7, 12, 15}, F32},
    {"sobel", {0}, {0}, {1, 14, 19}, F32},
    {"sobel", {0}, {0}, {6, 1, 19}, F32}, /* y of extent 1 */
    {"laplace_box", {0}, {0}, {7, 12, 15}, F32},
    {"laplace_box", {0}, {0}, {1, 14, 19}, F32},
    {"laplace_diamond", {0}, {0}, {7, 12, 15}, F32},
    {"laplace_diamond", {0}, {0}, {1, 14, 19}, F32},
    {"gradient_x", {0}, {0}, {7, 12, 15}, F32},
    {"gradient_y", {0}, {0}, {7, 12, 15}, F32},
    {"gradient_z", {0}, {0}, {7, 12, 15}, F32},
    {"gradient_z", {0}, {0}, {1, 14, 19}, F32},
    {"gradient_x", {0}, {0}, {1, 14, 19}, F32},
    {"difference_of_gaussian", {1, 1, 1}, {2, 2.5, 2.5}, {7, 12, 15}, F32},
    {"difference_of_gaussian", {0, 1.5, 0.8}, {1, 3, 3}, {1, 14, 19}, F32},
    {"subtract_gaussian_background", {1, 2, 2}, {0}, {7, 12, 15}, F32},
    {"subtract_gaussian_background", {3, 1.5, 1.5}, {0}, {1, 14, 19}, F32},
    {"bottom_hat_box", {1, 1, 1}, {0}, {7, 12, 15}, 1e-6},
    {"bottom_hat_box", {1, 3, 3}, {0}, {7, 12, 15}, 1e-6},
    {"bottom_hat_box", {0, 7, 6}, {0}, {5, 20, 23}, 1e-6}, /* van Herk passes on CPUs */
    {"bottom_hat_box", {2, 1, 2}, {0}, {1, 14, 19}, 1e-6},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* Random input for case i: integers in [0, 40) (ties for the medians, exact zeros for the
 * morphology) plus a fraction, so that float and integer-like values both occur. */
static void case_input(int i, float *v, size_t n)
{
    uint64_t st = seed_base + 7919u * (uint64_t)i;
    for (size_t k = 0; k < n; k++) {
        double u = tu_uniform(&st, 0.0, 1.0);
        double w = floor(tu_uniform(&st, 0.0, 40.0));
        v[k] = (float)(u < 0.5 ? w : w + tu_uniform(&st, 0.0, 1.0) - 5.0);
    }
}

static void write_f64(const char *path, const double *v, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(v, sizeof *v, n, f), n);
    fclose(f);
}

static void read_f64(const char *path, double *v, size_t n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "no SciPy result %s", path);
    ck_assert_uint_eq(fread(v, sizeof *v, n, f), n);
    fclose(f);
}

/* A NaN and an infinity in the input: sobel and the gradients are NaN, infinite or finite where
 * the double reference (SciPy's arithmetic: 0 x the centre of each difference) is, on 3-D and
 * 2-D data, and the finite values agree within 1e-5 relative. */
START_TEST(test_stencils_nonfinite)
{
    static const char *const ops[] = {"sobel", "gradient_x", "gradient_y", "gradient_z"};
    static const int64_t dims[2][3] = {{6, 9, 11}, {1, 9, 11}};
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    for (int di = 0; di < 2; di++) {
        const int64_t *dim = dims[di];
        const size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
        float *in = malloc(n * sizeof *in), *res = malloc(n * sizeof *res);
        double *ind = malloc(n * sizeof *ind), *ref = malloc(n * sizeof *ref);
        case_input(100 + di, in, n);
        const size_t nan_at = ((size_t)(dim[0] / 2) * 9 + 4) * 11 + 5, inf_at = 2 * 11 + 8;
        in[nan_at] = NAN;
        in[inf_at] = INFINITY;
        for (size_t k = 0; k < n; k++)
            ind[k] = in[k];
        for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
            lapse_step_t s = make_step(ops[o], NULL, NULL);
            device_run(cl, d, &s, in, dim, res);
            int64_t rdim[3];
            ops_ref_step(&s, ind, dim, ref, rdim);
            ck_assert_msg(isnan(res[nan_at]), "%s: %g at the NaN voxel", ops[o], res[nan_at]);
            ck_assert_msg(isnan(res[inf_at]), "%s: %g at the infinite voxel", ops[o], res[inf_at]);
            for (size_t k = 0; k < n; k++) {
                const int rn = isnan(ref[k]) != 0, ri = isinf(ref[k]) != 0;
                ck_assert_msg((isnan(res[k]) != 0) == rn && (isinf(res[k]) != 0) == ri,
                              "%s on %lldx%lldx%lld at %zu: device %g, reference %g", ops[o],
                              (long long)dim[0], (long long)dim[1], (long long)dim[2], k, res[k],
                              ref[k]);
                if (!rn && !ri)
                    ck_assert_msg(fabs(res[k] - ref[k]) <= 1e-5 * fmax(fabs(ref[k]), 1.0),
                                  "%s at %zu: device %g, reference %g", ops[o], k, res[k], ref[k]);
            }
        }
        free(in);
        free(res);
        free(ind);
        free(ref);
    }
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

/* The means summed in double are numerics version 2 and need cl_khr_fp64; the others keep version
 * 1 (and so their outputs' fingerprints) and need nothing. */
START_TEST(test_mean_double_version)
{
    static const struct {
        const char *op;
        double r[3];
        int version;
    } c[] = {
        {"mean_box", {1, 2, 3}, 1},      {"mean_box", {0, 64, 64}, 1},
        {"mean_box", {0, 0, 65}, 2},     {"mean_sphere", {2, 2, 2}, 1},
        {"mean_sphere", {0, 18, 18}, 1}, /* a disk of 1009 voxels */
        {"mean_sphere", {0, 19, 19}, 2}, /* 1129 voxels */
        {"mean_sphere", {6, 6, 6}, 1},   /* 925 */
        {"mean_sphere", {7, 7, 7}, 2},   /* 1419 */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        lapse_step_t s = make_step(c[i].op, c[i].r, NULL);
        ck_assert(s.op->version_of != NULL);
        ck_assert_msg(s.op->version_of(&s) == c[i].version, "%s [%g %g %g]: version %d, want %d",
                      c[i].op, c[i].r[0], c[i].r[1], c[i].r[2], s.op->version_of(&s), c[i].version);
        const char *ext = s.op->extensions_of(&s);
        ck_assert_msg((ext != NULL && strcmp(ext, "cl_khr_fp64") == 0) == (c[i].version == 2),
                      "%s [%g %g %g]: extensions %s", c[i].op, c[i].r[0], c[i].r[1], c[i].r[2],
                      ext ? ext : "(none)");
    }
}
END_TEST

/* variance_box and standard_deviation_box on data with a large offset and a small spread (the
 * worst case of float32 sums: a flat background of a 16-bit camera), small and large windows:
 * every voxel within 2e-6 relative of the double reference (each voxel's own value, not the
 * range). Plain float32 sums were off by 5e-4 at radius 1 on 30000 + U(0, 1). */
START_TEST(test_variance_offset)
{
    static const struct {
        double offset, spread, r[3];
    } c[] = {
        {30000, 1, {1, 1, 1}},   {30000, 1, {3, 3, 3}}, {30000, 1, {1, 6, 6}},
        {1000, 1, {6, 6, 6}},    {100, 20, {2, 2, 2}},  {60000, 0.01, {0, 2, 9}},
        {30000, 1, {8, 20, 20}}, /* 28577 values: the sums of x and d compensated too */
    };
    const char *ops[] = {"variance_box", "standard_deviation_box"};
    const int64_t dim[3] = {9, 20, 24};
    const size_t n = 9 * 20 * 24;
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    float *in = malloc(n * sizeof *in), *res = malloc(n * sizeof *res);
    double *ind = malloc(n * sizeof *ind), *ref = malloc(n * sizeof *ref);
    uint64_t st = seed_base + 4242u;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        for (size_t k = 0; k < n; k++) {
            in[k] = (float)(c[i].offset + c[i].spread * tu_uniform(&st, 0.0, 1.0));
            ind[k] = in[k];
        }
        for (int o = 0; o < 2; o++) {
            lapse_step_t s = make_step(ops[o], c[i].r, NULL);
            device_run(cl, d, &s, in, dim, res);
            int64_t rdim[3];
            ops_ref_step(&s, ind, dim, ref, rdim);
            double worst = 0.0;
            for (size_t k = 0; k < n; k++) {
                double e = fabs(res[k] - ref[k]) / fabs(ref[k]);
                worst = e > worst ? e : worst;
            }
            ck_assert_msg(worst <= 2e-6,
                          "%s [%g %g %g] on %g + %g U(0, 1): relative error %g > 2e-6 "
                          "(LAPSE_TEST_SEED=%llu)",
                          ops[o], c[i].r[0], c[i].r[1], c[i].r[2], c[i].offset, c[i].spread, worst,
                          (unsigned long long)seed_base);
        }
    }
    free(in);
    free(res);
    free(ind);
    free(ref);
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

START_TEST(test_vs_scipy)
{
    const char *dir = tu_tmpdir(), *py = getenv("LAPSE_PY"), *src = getenv("LAPSE_SRC");
    ck_assert_ptr_nonnull(dir);
    char manifest[600], path[700], cmd[2048];
    snprintf(manifest, sizeof manifest, "%s/manifest", dir);
    FILE *mf = fopen(manifest, "w");
    ck_assert_ptr_nonnull(mf);
    for (int i = 0; i < NCASES; i++) {
        const scipy_case_t *c = &cases[i];
        size_t n = (size_t)(c->dim[0] * c->dim[1] * c->dim[2]);
        float *in = malloc(n * sizeof *in);
        double *ind = malloc(n * sizeof *ind);
        case_input(i, in, n);
        for (size_t k = 0; k < n; k++)
            ind[k] = in[k];
        snprintf(path, sizeof path, "%s/in%d.f64", dir, i);
        write_f64(path, ind, n);
        fprintf(mf,
                "%s %lld %lld %lld %.17g %.17g %.17g %.17g %.17g %.17g %s/in%d.f64 %s/out%d.f64\n",
                c->op, (long long)c->dim[0], (long long)c->dim[1], (long long)c->dim[2], c->p0[0],
                c->p0[1], c->p0[2], c->p1[0], c->p1[1], c->p1[2], dir, i, dir, i);
        free(in);
        free(ind);
    }
    fclose(mf);
    snprintf(cmd, sizeof cmd, "%s %s/tests/py/filters_ref.py %s",
             py && py[0] ? py : "/usr/bin/python3", src && src[0] ? src : ".", manifest);
    ck_assert_msg(system(cmd) == 0, "SciPy reference failed: %s", cmd);

    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    for (int i = 0; i < NCASES; i++) {
        const scipy_case_t *c = &cases[i];
        size_t n = (size_t)(c->dim[0] * c->dim[1] * c->dim[2]);
        float *in = malloc(n * sizeof *in), *res = malloc(n * sizeof *res);
        double *ind = malloc(n * sizeof *ind), *dev = malloc(n * sizeof *dev),
               *sp = malloc(n * sizeof *sp), *ref = malloc(n * sizeof *ref);
        case_input(i, in, n);
        for (size_t k = 0; k < n; k++)
            ind[k] = in[k];
        snprintf(path, sizeof path, "%s/out%d.f64", dir, i);
        read_f64(path, sp, n);
        remove(path);
        snprintf(path, sizeof path, "%s/in%d.f64", dir, i);
        remove(path);
        lapse_step_t s = make_step(c->op, c->p0, c->p1);
        device_run(cl, d, &s, in, c->dim, res);
        for (size_t k = 0; k < n; k++)
            dev[k] = res[k];
        int64_t rdim[3];
        ops_ref_step(&s, ind, c->dim, ref, rdim);
        double e_dev = ops_ref_relerr(dev, sp, n), e_ref = ops_ref_relerr(ref, sp, n);
        ck_assert_msg(e_dev <= c->tol,
                      "%s [%g %g %g] on %lldx%lldx%lld: device vs SciPy relative error %g > %g "
                      "(LAPSE_TEST_SEED=%llu)",
                      c->op, c->p0[0], c->p0[1], c->p0[2], (long long)c->dim[0],
                      (long long)c->dim[1], (long long)c->dim[2], e_dev, c->tol,
                      (unsigned long long)seed_base);
        ck_assert_msg(e_ref <= (c->tol == 0 ? 0 : 1e-12),
                      "%s [%g %g %g]: C reference vs SciPy relative error %g", c->op, c->p0[0],
                      c->p0[1], c->p0[2], e_ref);
        free(in);
        free(res);
        free(ind);
        free(dev);
        free(sp);
        free(ref);
    }
    remove(manifest);
    rmdir(dir);
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

/* ---------------------------------------------------------------- definitions */

/* Result of op (p0) on an image of dims dim that is 0 except for value v at the centre. */
static void on_delta(lapse_cl_t *cl, lapse_dev_t *d, const char *op, const double p0[3],
                     const int64_t dim[3], float v, float *res)
{
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    float *in = calloc(n, sizeof *in);
    in[((dim[0] / 2) * dim[1] + dim[1] / 2) * dim[2] + dim[2] / 2] = v;
    lapse_step_t s = make_step(op, p0, NULL);
    device_run(cl, d, &s, in, dim, res);
    free(in);
}

static size_t count_nonzero(const float *v, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += v[i] != 0.0f;
    return c;
}

/* maximum_sphere and dilate_sphere of a single voxel draw the footprint: skimage's ball(r) has
 * 7, 33, 123 voxels for r = 1, 2, 3 and disk(r) 5, 13, 29 (also with a z radius on 2-D data);
 * mean_sphere of it is 1 / count at the centre. */
START_TEST(test_sphere_footprint)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    static const size_t ball[] = {7, 33, 123}, disk[] = {5, 13, 29};
    const int64_t d3[3] = {9, 9, 9}, d2[3] = {1, 9, 9};
    float *res = malloc(9 * 9 * 9 * sizeof *res);
    for (int r = 1; r <= 3; r++) {
        const double rr[3] = {r, r, r};
        on_delta(cl, d, "maximum_sphere", rr, d3, 5.0f, res);
        ck_assert_uint_eq(count_nonzero(res, 729), ball[r - 1]);
        on_delta(cl, d, "dilate_sphere", rr, d3, 5.0f, res);
        ck_assert_uint_eq(count_nonzero(res, 729), ball[r - 1]);
        on_delta(cl, d, "mean_sphere", rr, d3, 1.0f, res);
        ck_assert_float_eq_tol(res[364], 1.0f / (float)ball[r - 1], 1e-7f);
        on_delta(cl, d, "maximum_sphere", rr, d2, 5.0f, res);
        ck_assert_uint_eq(count_nonzero(res, 81), disk[r - 1]);
        on_delta(cl, d, "mean_sphere", rr, d2, 1.0f, res);
        ck_assert_float_eq_tol(res[40], 1.0f / (float)disk[r - 1], 1e-7f);
    }
    /* radius 1 is clesperanto's erode_sphere: the 6-neighbourhood; [0, 1, 2]: the ellipse */
    const double r1[3] = {1, 1, 1}, r012[3] = {0, 1, 2};
    on_delta(cl, d, "dilate_sphere", r1, d3, 1.0f, res);
    ck_assert(res[364] == 1 && res[364 + 1] == 1 && res[364 - 9] == 1 && res[364 + 81] == 1 &&
              res[364 + 1 + 9] == 0 && res[364 + 81 + 1] == 0);
    on_delta(cl, d, "maximum_sphere", r012, d3, 1.0f, res);
    ck_assert_uint_eq(count_nonzero(res, 729), 7); /* dy = 0: 5; dy = +-1: dx = 0 */
    free(res);
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

/* Signs and weights: on a delta of 1, laplace_diamond is -6 (2-D: -4) at the centre and
 * laplace_box -26 (-8) (SciPy's sign); on the ramp f = x, gradient_x is 2 inside and 1 at the
 * two edges, sobel is 32 inside (2-D: 8) and gradient_y, gradient_z are 0. */
START_TEST(test_stencil_definitions)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    const int64_t d3[3] = {5, 5, 5}, d2[3] = {1, 5, 5};
    float res[125], ramp[125];
    on_delta(cl, d, "laplace_diamond", NULL, d3, 1.0f, res);
    ck_assert_float_eq(res[62], -6.0f);
    ck_assert_float_eq(res[63], 1.0f);
    on_delta(cl, d, "laplace_diamond", NULL, d2, 1.0f, res);
    ck_assert_float_eq(res[12], -4.0f);
    on_delta(cl, d, "laplace_box", NULL, d3, 1.0f, res);
    ck_assert_float_eq(res[62], -26.0f);
    ck_assert_float_eq(res[62 + 25 + 5 + 1], 1.0f);
    on_delta(cl, d, "laplace_box", NULL, d2, 1.0f, res);
    ck_assert_float_eq(res[12], -8.0f);
    for (int i = 0; i < 125; i++)
        ramp[i] = (float)(i % 5);
    const char *ops[] = {"gradient_x", "gradient_y", "gradient_z", "sobel"};
    for (int k = 0; k < 4; k++) {
        lapse_step_t s = make_step(ops[k], NULL, NULL);
        device_run(cl, d, &s, ramp, d3, res);
        for (int i = 0; i < 125; i++) {
            int x = i % 5;
            float want = k == 0   ? (x == 0 || x == 4 ? 1.0f : 2.0f)
                         : k == 3 ? (x == 0 || x == 4 ? 16.0f : 32.0f)
                                  : 0.0f;
            ck_assert_msg(res[i] == want, "%s at %d: %g, want %g", ops[k], i, res[i], want);
        }
        device_run(cl, d, &s, ramp, d2, res);
        ck_assert_float_eq(res[12], k == 0 ? 2.0f : k == 3 ? 8.0f : 0.0f);
    }
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

/* On 2-D data (z = 1) a z radius changes nothing: the same bits as radius 0 along z. */
START_TEST(test_z_radius_on_2d)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    const char *ops[] = {
        "median_box",     "median_sphere",         "mean_sphere",  "minimum_sphere",
        "maximum_sphere", "top_hat_sphere",        "erode_sphere", "dilate_sphere",
        "variance_box",   "standard_deviation_box"};
    const int64_t dim[3] = {1, 21, 18};
    size_t n = 21 * 18;
    float *in = malloc(n * sizeof *in), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    case_input(99, in, n);
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        const double rz[3] = {3, 2, 1}, r0[3] = {0, 2, 1};
        lapse_step_t s = make_step(ops[i], rz, NULL), t = make_step(ops[i], r0, NULL);
        device_run(cl, d, &s, in, dim, a);
        device_run(cl, d, &t, in, dim, b);
        ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "%s: the z radius changed 2-D data",
                      ops[i]);
    }
    free(in);
    free(a);
    free(b);
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

/* The composed filters equal their parts run as separate steps, bit for bit:
 * difference_of_gaussian = gaussian_blur(sigma1) - gaussian_blur(sigma2) (subtract_images),
 * subtract_gaussian_background = x - gaussian_blur, bottom_hat_box = minimum_box(maximum_box(x))
 * - x. */
START_TEST(test_composed_equal_parts)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    const int64_t dim[3] = {6, 17, 22};
    size_t n = 6 * 17 * 22;
    float *in = malloc(n * sizeof *in), *g1 = malloc(n * sizeof *g1), *g2 = malloc(n * sizeof *g2),
          *res = malloc(n * sizeof *res);
    case_input(77, in, n);
    const double s1[3] = {0.8, 1.2, 1.6}, s2[3] = {1.5, 3, 2.5}, r[3] = {1, 2, 3};
    lapse_step_t s = make_step("difference_of_gaussian", s1, s2);
    device_run(cl, d, &s, in, dim, res);
    s = make_step("gaussian_blur", s1, NULL);
    device_run(cl, d, &s, in, dim, g1);
    s = make_step("gaussian_blur", s2, NULL);
    device_run(cl, d, &s, in, dim, g2);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(res[i] == g1[i] - g2[i], "difference_of_gaussian at %zu", i);
    s = make_step("subtract_gaussian_background", s2, NULL);
    device_run(cl, d, &s, in, dim, res);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(res[i] == in[i] - g2[i], "subtract_gaussian_background at %zu", i);
    s = make_step("maximum_box", r, NULL);
    device_run(cl, d, &s, in, dim, g1);
    s = make_step("minimum_box", r, NULL);
    device_run(cl, d, &s, g1, dim, g2);
    s = make_step("bottom_hat_box", r, NULL);
    device_run(cl, d, &s, in, dim, res);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(res[i] == g2[i] - in[i], "bottom_hat_box at %zu", i);
    free(in);
    free(g1);
    free(g2);
    free(res);
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

/* ---------------------------------------------------------------- config */

static void parse_text(const char *text, lapse_status_t want, const char *word)
{
    lapse_config_t cfg;
    lapse_err_clear();
    lapse_status_t st = lapse_config_parse("mem.yaml", text, strlen(text), &cfg);
    ck_assert_msg(st == want, "status %d (%s), expected %d", (int)st, lapse_errmsg(), (int)want);
    if (word)
        ck_assert_msg(strstr(lapse_errmsg(), word) != NULL, "message '%s' lacks '%s'",
                      lapse_errmsg(), word);
    lapse_config_free(&cfg);
}

/* The median limits are refused when the config is read, naming the key; the largest
 * windows and the example configs/filters.yaml are accepted. */
START_TEST(test_config_limits)
{
    static const char head[] = "input: {file: in.h5, dataset: /raw}\n"
                               "output: {file: out.h5}\npipeline:\n";
    char text[512];
    snprintf(text, sizeof text, "%s  - {op: median_box, radius: [1, 5, 1]}\n", head);
    parse_text(text, LAPSE_ECONFIG, "pipeline[0].radius");
    snprintf(text, sizeof text, "%s  - {op: median_sphere, radius: 6}\n", head);
    parse_text(text, LAPSE_ECONFIG, "pipeline[0].radius");
    snprintf(text, sizeof text, "%s  - {op: median_box, radius: 4}\n", head);
    parse_text(text, LAPSE_OK, NULL);
    snprintf(text, sizeof text, "%s  - {op: median_sphere, radius: [5, 5, 5]}\n", head);
    parse_text(text, LAPSE_OK, NULL);
    snprintf(text, sizeof text, "%s  - {op: difference_of_gaussian, sigma1: 1}\n", head);
    parse_text(text, LAPSE_ECONFIG, "sigma2");

    const char *src = getenv("LAPSE_SRC");
    char path[1024];
    snprintf(path, sizeof path, "%s/configs/filters.yaml", src && src[0] ? src : ".");
    lapse_config_t cfg;
    lapse_err_clear();
    ck_assert_msg(lapse_config_load(path, &cfg) == LAPSE_OK, "%s: %s", path, lapse_errmsg());
    ck_assert_int_ge(cfg.nsteps, 8);
    lapse_config_free(&cfg);
}
END_TEST

int main(void)
{
    const char *env = getenv("LAPSE_TEST_SEED");
    seed_base = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    Suite *su = suite_create("filters");
    TCase *tc = tcase_create("filters");
    tcase_set_timeout(tc, 900); /* a cold PoCL kernel cache compiles every kernel first */
    tcase_add_test(tc, test_mean_double_version);
    tcase_add_test(tc, test_stencils_nonfinite);
    tcase_add_test(tc, test_vs_scipy);
    tcase_add_test(tc, test_variance_offset);
    tcase_add_test(tc, test_sphere_footprint);
    tcase_add_test(tc, test_stencil_definitions);
    tcase_add_test(tc, test_z_radius_on_2d);
    tcase_add_test(tc, test_composed_equal_parts);
    tcase_add_test(tc, test_config_limits);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "test_filters: LAPSE_TEST_SEED=%llu repeats this run\n",
                (unsigned long long)seed_base);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
