/*
 * test_ops.c - the device operations (each descriptor's launcher, src/ops/op_*.c, on a
 * lapse_dev_t, with the kernels built by clrt.c) against their double-precision CPU references
 * (op->reference through support/ops_ref.c), on the OpenCL device chosen with LAPSE_DEV_ANY
 * (PoCL's CPU device on machines without a GPU); the Gaussian also against SciPy. Inputs are
 * random with a fresh seed per run (printed on failure; LAPSE_TEST_SEED=n repeats a run); device
 * buffers are poisoned with NaN / 0xA5 before each operation so that unwritten voxels are caught.
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
#include "ops/graph.h"
#include "ops/op.h"
#include "ops_ref.h"
#include "pipeline.h"
#include "testutil.h"

static uint64_t seed_base;

static uint64_t fresh_seed(int salt)
{
    return seed_base + (uint64_t)salt * 0x9e3779b97f4a7c15ULL;
}

static lapse_step_t make_step(const char *op, double a, double b, double c)
{
    lapse_step_t s;
    const lapse_op_t *o = lapse_op_find(op);
    ck_assert_ptr_nonnull(o);
    lapse_step_init(&s, o);
    s.p[0].v[0] = a;
    s.p[0].v[1] = b;
    s.p[0].v[2] = c;
    return s;
}

/* A device buffer of n float32 voxels filled with NaN. */
static cl_mem nan_buffer(lapse_cl_t *cl, size_t n)
{
    const cl_float nan = NAN;
    cl_int e;
    cl_mem m = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    e = clEnqueueFillBuffer(cl->queue, m, &nan, sizeof nan, 0, n * sizeof(float), 0, NULL, NULL);
    ck_assert_int_eq(e, CL_SUCCESS);
    return m;
}

/* Run one step on the device through its descriptor's launcher on float input in (dims dim);
 * out receives the result as double, odim its dims. The input, output and op->nscratch scratch
 * buffers start as NaN (the input then gets in), so unwritten voxels are caught; the result is
 * read from out or scratch as the launcher reports, and the input must come back unchanged.
 * Operations that may run in place (op->inplace) run a second time with the output in the
 * input's buffer and must give the same bits. */
static void device_step(lapse_cl_t *cl, const lapse_step_t *s, const float *in,
                        const int64_t dim[3], double *out, int64_t odim[3])
{
    const lapse_op_t *op = s->op;
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    lapse_dev_t *d = NULL;
    void *state = NULL;
    cl_int e;
    ck_assert_int_eq(op->ninputs, 1);
    ck_assert_int_le(op->nscratch, LAPSE_GRAPH_SCRATCH);
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    if (op->prepare)
        ck_assert_msg(op->prepare(d, s, &state) == LAPSE_OK, "%s", lapse_errmsg());
    lapse_step_out_dims(s, dim, odim);
    size_t on = (size_t)(odim[0] * odim[1] * odim[2]);
    ck_assert_uint_le(on, n);
    float *res = malloc(on * sizeof *res), *first = malloc(on * sizeof *first),
          *back = malloc(n * sizeof *back);
    ck_assert(res && first && back);
    for (int pass = 0; pass < 1 + (op->inplace != 0); pass++) {
        cl_mem scratch[LAPSE_GRAPH_SCRATCH];
        lapse_dvol_t vin = {nan_buffer(cl, n), {dim[0], dim[1], dim[2]}, {0, 0, 0}, {0, 0, 0}};
        lapse_dvol_t vout = {
            pass ? vin.mem : nan_buffer(cl, on), {odim[0], odim[1], odim[2]}, {0, 0, 0}, {0, 0, 0}};
        for (int i = 0; i < op->nscratch; i++)
            scratch[i] = nan_buffer(cl, n);
        e = clEnqueueWriteBuffer(cl->queue, vin.mem, CL_TRUE, 0, n * sizeof(float), in, 0, NULL,
                                 NULL);
        ck_assert_int_eq(e, CL_SUCCESS);
        int where = -1;
        ck_assert_msg(op->launch(d, s, state, &vin, &vout, scratch, &where) == LAPSE_OK, "%s",
                      lapse_errmsg());
        ck_assert_msg(where >= 0 && where <= op->nscratch, "%s: result in buffer %d", op->name,
                      where);
        e = clEnqueueReadBuffer(cl->queue, where ? scratch[where - 1] : vout.mem, CL_TRUE, 0,
                                on * sizeof(float), res, 0, NULL, NULL);
        ck_assert_int_eq(e, CL_SUCCESS);
        if (pass == 0) {
            e = clEnqueueReadBuffer(cl->queue, vin.mem, CL_TRUE, 0, n * sizeof(float), back, 0,
                                    NULL, NULL);
            ck_assert_int_eq(e, CL_SUCCESS);
            ck_assert_msg(memcmp(back, in, n * sizeof *in) == 0, "%s wrote its input", op->name);
            memcpy(first, res, on * sizeof *res);
        } else {
            ck_assert_msg(memcmp(first, res, on * sizeof *res) == 0,
                          "%s in place differs from out of place", op->name);
        }
        clReleaseMemObject(vin.mem);
        if (vout.mem != vin.mem)
            clReleaseMemObject(vout.mem);
        for (int i = 0; i < op->nscratch; i++)
            clReleaseMemObject(scratch[i]);
    }
    for (size_t i = 0; i < on; i++)
        out[i] = first[i];
    if (op->release)
        op->release(state);
    lapse_dev_destroy(d);
    free(res);
    free(first);
    free(back);
}

/* Compare the device result of step s with the reference on a random volume of dims dim.
 * tol: largest allowed relative error (0: exact). */
static void check_step(lapse_cl_t *cl, const lapse_step_t *s, int64_t nz, int64_t ny, int64_t nx,
                       int salt, double tol)
{
    const int64_t dim[3] = {nz, ny, nx};
    size_t n = (size_t)(nz * ny * nx);
    uint64_t seed = fresh_seed(salt);
    float *in = malloc(n * sizeof *in);
    double *ind = malloc(n * sizeof *ind), *dev = malloc(n * sizeof *dev),
           *ref = malloc(n * sizeof *ref);
    ck_assert(in && ind && dev && ref);
    tu_fill_f32(in, n, seed, -20.0f, 100.0f);
    for (size_t i = 0; i < n; i++)
        ind[i] = in[i];
    int64_t odim[3], rdim[3];
    device_step(cl, s, in, dim, dev, odim);
    ops_ref_step(s, ind, dim, ref, rdim);
    ck_assert_int_eq(odim[0], rdim[0]);
    ck_assert_int_eq(odim[1], rdim[1]);
    ck_assert_int_eq(odim[2], rdim[2]);
    size_t on = (size_t)(odim[0] * odim[1] * odim[2]);
    double err = ops_ref_relerr(dev, ref, on);
    ck_assert_msg(err <= tol,
                  "%s (%g, %g, %g) on %lldx%lldx%lld: relative error %g > %g (seed %llu)",
                  s->op->name, s->p[0].v[0], s->p[0].v[1], s->p[0].v[2], (long long)nz,
                  (long long)ny, (long long)nx, err, tol, (unsigned long long)seed);
    free(in);
    free(ind);
    free(dev);
    free(ref);
}

START_TEST(test_gaussian_blur)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_step_t s = make_step("gaussian_blur", 1.0, 1.5, 2.0); /* anisotropic */
    check_step(cl, &s, 7, 13, 17, 1, 1e-5);
    s = make_step("gaussian_blur", 0.0, 2.5, 0.7); /* radius 0 along z */
    check_step(cl, &s, 9, 11, 20, 2, 1e-5);
    s = make_step("gaussian_blur", 1.0, 1.0, 1.0); /* 2D volume: z clamps to the one plane */
    check_step(cl, &s, 1, 19, 23, 3, 1e-5);
    s = make_step("gaussian_blur", 3.0, 2.0, 4.0); /* radius larger than the extent */
    check_step(cl, &s, 5, 6, 33, 4, 1e-5);
    lapse_cl_close(cl);
}
END_TEST

/* The device Gaussian against SciPy's gaussian_filter (mode nearest, truncate 4, float64), run
 * through tests/py/scipy_gauss.py with $LAPSE_PY (default /usr/bin/python3). */
START_TEST(test_gaussian_vs_scipy)
{
    lapse_cl_t *cl = tu_open_cl();
    const int64_t dim[3] = {6, 13, 17};
    size_t n = 6 * 13 * 17;
    lapse_step_t s = make_step("gaussian_blur", 0.9, 1.7, 2.2);
    uint64_t seed = fresh_seed(80);
    float *in = malloc(n * sizeof *in);
    double *ind = malloc(n * sizeof *ind), *dev = malloc(n * sizeof *dev),
           *ref = malloc(n * sizeof *ref);
    tu_fill_f32(in, n, seed, 0.0f, 1000.0f);
    for (size_t i = 0; i < n; i++)
        ind[i] = in[i];
    int64_t odim[3];
    device_step(cl, &s, in, dim, dev, odim);

    const char *dir = tu_tmpdir(), *py = getenv("LAPSE_PY"), *src = getenv("LAPSE_SRC");
    ck_assert_ptr_nonnull(dir);
    char inpath[600], outpath[600], cmd[2048];
    snprintf(inpath, sizeof inpath, "%s/in.f64", dir);
    snprintf(outpath, sizeof outpath, "%s/out.f64", dir);
    FILE *f = fopen(inpath, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(ind, sizeof *ind, n, f), n);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s %s/tests/py/scipy_gauss.py %s %s 6 13 17 0.9 1.7 2.2",
             py && py[0] ? py : "/usr/bin/python3", src && src[0] ? src : ".", inpath, outpath);
    ck_assert_msg(system(cmd) == 0, "reference failed: %s", cmd);
    f = fopen(outpath, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(ref, sizeof *ref, n, f), n);
    fclose(f);
    remove(inpath);
    remove(outpath);
    rmdir(dir);
    double err = ops_ref_relerr(dev, ref, n);
    ck_assert_msg(err < 1e-5, "device vs SciPy: relative error %g (seed %llu)", err,
                  (unsigned long long)seed);
    /* and the C reference agrees with SciPy */
    int64_t rdim[3];
    ops_ref_step(&s, ind, dim, dev, rdim);
    ck_assert_double_lt(ops_ref_relerr(dev, ref, n), 1e-12);
    free(in);
    free(ind);
    free(dev);
    free(ref);
    lapse_cl_close(cl);
}
END_TEST

START_TEST(test_mean_box)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_step_t s = make_step("mean_box", 1, 2, 3);
    check_step(cl, &s, 7, 13, 17, 5, 1e-5);
    s = make_step("mean_box", 0, 1, 2);
    check_step(cl, &s, 6, 9, 31, 6, 1e-5);
    s = make_step("mean_box", 2, 2, 2);
    check_step(cl, &s, 1, 15, 12, 7, 1e-5);
    lapse_cl_close(cl);
}
END_TEST

START_TEST(test_minimum_maximum_box)
{
    lapse_cl_t *cl = tu_open_cl();
    const char *ops[] = {"minimum_box", "maximum_box"};
    for (int i = 0; i < 2; i++) {
        lapse_step_t s = make_step(ops[i], 1, 1, 1);
        check_step(cl, &s, 7, 13, 17, 10 + i, 0.0);
        s = make_step(ops[i], 2, 0, 3);
        check_step(cl, &s, 8, 5, 19, 12 + i, 0.0);
        s = make_step(ops[i], 1, 2, 1);
        check_step(cl, &s, 1, 14, 9, 14 + i, 0.0);
    }
    lapse_cl_close(cl);
}
END_TEST

/* Radii from VHGW_MIN_RADIUS (sep.c) up run as van Herk / Gil-Werman passes: several segments
 * per line, partial last segments, radii beyond the extent, radius 0 mixed in. Exact. */
START_TEST(test_minimum_maximum_box_large)
{
    lapse_cl_t *cl = tu_open_cl();
    const char *ops[] = {"minimum_box", "maximum_box"};
    const double r[][3] = {{9, 10, 12}, {0, 8, 20}, {6, 0, 9}, {1000, 1000, 1000}, {2, 9, 1}};
    const int64_t dim[][3] = {{7, 13, 40}, {5, 30, 101}, {40, 6, 61}, {3, 4, 5}, {6, 57, 11}};
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 5; k++) {
            lapse_step_t s = make_step(ops[i], r[k][0], r[k][1], r[k][2]);
            check_step(cl, &s, dim[k][0], dim[k][1], dim[k][2], 30 + 5 * i + k, 0.0);
        }
    lapse_step_t s = make_step("top_hat_box", 1000, 9, 12);
    check_step(cl, &s, 8, 32, 32, 40, 1e-6);
    lapse_cl_close(cl);
}
END_TEST

START_TEST(test_top_hat_box)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_step_t s = make_step("top_hat_box", 1, 1, 1);
    check_step(cl, &s, 7, 13, 17, 20, 1e-6);
    s = make_step("top_hat_box", 0, 2, 1);
    check_step(cl, &s, 5, 12, 21, 21, 1e-6);
    s = make_step("top_hat_box", 0, 0, 0); /* opening of radius 0 is the identity: all 0 */
    check_step(cl, &s, 3, 4, 5, 22, 0.0);
    lapse_cl_close(cl);
}
END_TEST

START_TEST(test_pointwise)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_step_t s = make_step("add_scalar", 3.25, 0, 0);
    check_step(cl, &s, 7, 13, 17, 30, 1e-6);
    s = make_step("multiply_scalar", -1.5, 0, 0);
    check_step(cl, &s, 7, 13, 17, 31, 1e-6);
    s = make_step("threshold_fixed", 40.5, 0, 0);
    check_step(cl, &s, 7, 13, 17, 32, 0.0);
    s = make_step("threshold_fixed", -30.0, 0, 0); /* below every value: all 1 */
    check_step(cl, &s, 1, 3, 5, 33, 0.0);
    lapse_cl_close(cl);
}
END_TEST

/* power: every exponent with a shortcut in math.cl (lapse_pow_f) and two without, on random
 * values of both signs and on the special values: the device result is the C library's powf of
 * the same float32 input to within 1e-5 relative, and of the same class where powf gives NaN, an
 * infinity or a zero (the same infinity, the sign of the zero). */
START_TEST(test_power_exponents)
{
    static const double exps[] = {0, 1, 2, 3, 4, -1, 0.5, 1.5, -0.5, 2.2, -3};
    static const float special[] = {0.0f,  -0.0f,  INFINITY, -INFINITY, NAN,  1.0f,
                                    -1.0f, 1e-30f, -2.0f,    65535.0f,  3e5f, 0.25f};
    const int ns = (int)(sizeof special / sizeof special[0]);
    const int64_t dim[3] = {3, 8, 9};
    const size_t n = 3 * 8 * 9;
    float in[3 * 8 * 9];
    double dev[3 * 8 * 9];
    int64_t odim[3];
    lapse_cl_t *cl = tu_open_cl();
    tu_fill_f32(in, n, fresh_seed(60), -50.0f, 50.0f);
    for (int i = 0; i < ns; i++)
        in[i * 7] = special[i];
    for (size_t e = 0; e < sizeof exps / sizeof exps[0]; e++) {
        lapse_step_t st = make_step("power", exps[e], 0, 0);
        device_step(cl, &st, in, dim, dev, odim);
        for (size_t i = 0; i < n; i++) {
            const float want = powf(in[i], (float)exps[e]), got = (float)dev[i];
            const char *what = "value";
            int ok;
            if (isnan(want) || isinf(want) || want == 0.0f) {
                ok = isnan(want) ? isnan(got) : got == want && signbit(got) == signbit(want);
                what = "special value";
            } else {
                ok = fabs((double)got - want) <= 1e-5 * fabs(want);
            }
            ck_assert_msg(ok, "power %g of %a: %s %a, powf %a", exps[e], (double)in[i], what,
                          (double)got, (double)want);
        }
    }
    lapse_cl_close(cl);
}
END_TEST

START_TEST(test_maximum_z_projection)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_step_t s = make_step("maximum_z_projection", 0, 0, 0);
    check_step(cl, &s, 7, 13, 17, 40, 0.0);
    check_step(cl, &s, 1, 13, 17, 41, 0.0);
    check_step(cl, &s, 30, 2, 3, 42, 0.0);
    lapse_cl_close(cl);
}
END_TEST

/* Pack a float buffer's core box to each dtype, halves rounded to even and (scipy.ndimage's
 * transforms) away from zero; the output buffer is poisoned with 0xA5. The integer packs count
 * the voxels NaN or saturated (what the run's warning reports) into their 64-bit counter, the
 * low word's carry included (a counter started 3 below 2^32). */
START_TEST(test_pack_saturation_rounding)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *d = NULL;
    const int64_t dim[3] = {4, 6, 9};
    const lapse_box_t core = {{1, 2, 3}, {2, 3, 5}};
    size_t n = 4 * 6 * 9, nc = 2 * 3 * 5;
    float v[4 * 6 * 9];
    const float special[] = {
        NAN,      -INFINITY,    INFINITY,     -3.0f,  -0.5f,    0.5f,      1.5f,
        2.5f,     2.49f,        254.5f,       255.5f, 255.49f,  300.f,     65534.5f,
        65535.5f, 65535.4f,     70000.0f,     1e9f,   -32768.f, -32768.5f, -32769.5f,
        32767.5f, 4294967040.f, 4294967296.f, 5e9f,   1e38f,    -1e38f,    -2147483648.f};
    uint64_t seed = fresh_seed(50);
    tu_fill_f32(v, n, seed, -100.0f, 70000.0f);
    /* put the special values inside the core */
    for (size_t i = 0; i < sizeof special / sizeof *special; i++) {
        size_t c = i % nc, x = c % 5, y = (c / 5) % 3, z = c / 15;
        v[((z + 1) * 6 + (y + 2)) * 9 + (x + 3)] = special[i];
    }
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    cl_int e;
    cl_mem src = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof v, v, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    cl_mem dst = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, nc * 4, NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    cl_mem clip = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, 4 * sizeof(cl_uint), NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    const lapse_dtype_t dts[] = {LAPSE_DT_U8, LAPSE_DT_U16, LAPSE_DT_F32, LAPSE_DT_U32,
                                 LAPSE_DT_I16};
    for (int ta = 0; ta < 10; ta++) {
        const int t = ta % 5, away = ta / 5; /* halves to even, then away from zero */
        const cl_uchar poison = 0xA5;
        unsigned char got[2 * 3 * 5 * 4];
        size_t sz = lapse_dtype_size(dts[t]);
        ck_assert_int_eq(clEnqueueFillBuffer(cl->queue, dst, &poison, 1, 0, nc * 4, 0, NULL, NULL),
                         CL_SUCCESS);
        const cl_uint c0[4] = {7, 7, 0xFFFFFFFDu, 0}; /* counter 1 starts 3 below 2^32 */
        ck_assert_int_eq(
            clEnqueueWriteBuffer(cl->queue, clip, CL_TRUE, 0, sizeof c0, c0, 0, NULL, NULL),
            CL_SUCCESS);
        ck_assert_msg(lapse_dev_pack(d, dts[t], away, src, dim, &core, dst, clip, 1) == LAPSE_OK,
                      "%s", lapse_errmsg());
        cl_uint c1[4];
        ck_assert_int_eq(
            clEnqueueReadBuffer(cl->queue, clip, CL_TRUE, 0, sizeof c1, c1, 0, NULL, NULL),
            CL_SUCCESS);
        ck_assert_msg(c1[0] == 7 && c1[1] == 7, "pack to %s touched another output's counter",
                      lapse_dtype_name(dts[t]));
        uint64_t nbad = 0;
        ck_assert_int_eq(
            clEnqueueReadBuffer(cl->queue, dst, CL_TRUE, 0, nc * sz, got, 0, NULL, NULL),
            CL_SUCCESS);
        for (size_t c = 0; c < nc; c++) {
            size_t x = c % 5, y = (c / 5) % 3, z = c / 15;
            double in = v[((z + 1) * 6 + (y + 2)) * 9 + (x + 3)],
                   want = ops_ref_pack_away(in, dts[t], away);
            /* each branch as double: the conditional's common type would be float */
            double have = dts[t] == LAPSE_DT_U8    ? (double)((uint8_t *)got)[c]
                          : dts[t] == LAPSE_DT_U16 ? (double)((uint16_t *)got)[c]
                          : dts[t] == LAPSE_DT_U32 ? (double)((uint32_t *)got)[c]
                          : dts[t] == LAPSE_DT_I16 ? (double)((int16_t *)got)[c]
                                                   : (double)((float *)got)[c];
            int same = have == want || (isnan(have) && isnan(want));
            if (dts[t] != LAPSE_DT_F32) { /* NaN, or rounded outside the dtype's range */
                double r = away ? round(in) : nearbyint(in);
                double lo = dts[t] == LAPSE_DT_I16 ? -32768.0 : 0.0;
                double hi = dts[t] == LAPSE_DT_U8    ? 255.0
                            : dts[t] == LAPSE_DT_U16 ? 65535.0
                            : dts[t] == LAPSE_DT_I16 ? 32767.0
                                                     : 4294967295.0;
                nbad += !(r >= lo && r <= hi);
            }
            ck_assert_msg(same, "pack to %s (halves %s) of %.9g: got %.17g, want %.17g (seed %llu)",
                          lapse_dtype_name(dts[t]), away ? "away from 0" : "to even", in, have,
                          want, (unsigned long long)seed);
        }
        uint64_t cnt = ((uint64_t)c1[3] << 32 | c1[2]) - 0xFFFFFFFDu;
        if (dts[t] == LAPSE_DT_F32)
            nbad = 0; /* float32 packs leave the counter alone */
        ck_assert_msg(cnt == nbad,
                      "pack to %s (halves %s) counted %llu voxels NaN or saturated, "
                      "want %llu (seed %llu)",
                      lapse_dtype_name(dts[t]), away ? "away" : "even", (unsigned long long)cnt,
                      (unsigned long long)nbad, (unsigned long long)seed);
        if (dts[t] == LAPSE_DT_U16)
            ck_assert_msg(nbad > 3, "the u16 case must carry into the counter's high word");
    }
    clReleaseMemObject(clip);
    clReleaseMemObject(src);
    clReleaseMemObject(dst);
    lapse_dev_destroy(d);
    lapse_cl_close(cl);
}
END_TEST

/* The pipeline's upload + conversion of each input dtype, with a mean_box step and the core box
 * of an interior region, against the reference; run twice so stale outputs would be caught. */
START_TEST(test_input_dtypes)
{
    lapse_cl_t *cl = tu_open_cl();
    const lapse_dtype_t dts[] = {LAPSE_DT_U8, LAPSE_DT_U16, LAPSE_DT_F32};
    const double hi[] = {255.0, 65535.0, 1000.0};
    const int64_t dim[3] = {6, 11, 14};
    const lapse_box_t core = {{1, 2, 3}, {4, 7, 9}};
    size_t n = 6 * 11 * 14, nc = 4 * 7 * 9;
    lapse_step_t steps[1] = {make_step("mean_box", 1, 1, 2)};
    for (int t = 0; t < 3; t++) {
        lapse_pipeline_t *p = NULL;
        lapse_graph_t g;
        lapse_graph_err_t gerr;
        ck_assert_msg(lapse_graph_compile(steps, 1, dim, dts[t], LAPSE_DT_F32, &g, &gerr) ==
                          LAPSE_OK,
                      "%s", lapse_errmsg());
        ck_assert_int_eq(g.nout, 1);
        ck_assert_int_eq(g.out[0].dtype, LAPSE_DT_F32);
        ck_assert_msg(lapse_pipeline_create(cl, &g, (long long)n, (long long)nc, &p) == LAPSE_OK,
                      "%s", lapse_errmsg());
        double *ind = malloc(n * sizeof *ind), *dev = malloc(nc * sizeof *dev);
        for (int run = 0; run < 2; run++) {
            uint64_t seed = fresh_seed(60 + 2 * t + run), st = seed;
            void *in = lapse_pipeline_input(p);
            for (size_t i = 0; i < n; i++) {
                double v = floor(tu_uniform(&st, 0.0, hi[t] + 1.0));
                if (dts[t] == LAPSE_DT_F32)
                    v = tu_uniform(&st, -hi[t], hi[t]);
                if (dts[t] == LAPSE_DT_U8)
                    ((uint8_t *)in)[i] = (uint8_t)v;
                else if (dts[t] == LAPSE_DT_U16)
                    ((uint16_t *)in)[i] = (uint16_t)v;
                else
                    ((float *)in)[i] = (float)v;
                ind[i] = dts[t] == LAPSE_DT_F32 ? (double)(float)v : v;
            }
            memset((void *)lapse_pipeline_output(p, 0), 0xff, nc * 4);
            lapse_pipe_times_t tm;
            const lapse_box_t whole = {{0, 0, 0}, {dim[0], dim[1], dim[2]}};
            ck_assert_msg(lapse_pipeline_run(p, &whole, &core, &tm) == LAPSE_OK, "%s",
                          lapse_errmsg());
            ck_assert(tm.upload >= 0 && tm.compute >= 0 && tm.download >= 0);
            int64_t rdim[3];
            double *ref = ops_ref_chain(steps, 0, ind, dim, rdim),
                   *refc = malloc(nc * sizeof *refc);
            const float *out = lapse_pipeline_output(p, 0);
            for (size_t c = 0; c < nc; c++) {
                size_t x = c % 9, y = (c / 9) % 7, z = c / 63;
                refc[c] = ref[((z + 1) * 11 + (y + 2)) * 14 + (x + 3)];
                dev[c] = out[c];
            }
            double err = ops_ref_relerr(dev, refc, nc);
            ck_assert_msg(err < 1e-5, "input %s: relative error %g (seed %llu)",
                          lapse_dtype_name(dts[t]), err, (unsigned long long)seed);
            free(ref);
            free(refc);
        }
        free(ind);
        free(dev);
        lapse_pipeline_destroy(p);
    }
    lapse_cl_close(cl);
}
END_TEST

/* uint16 input, minimum_box (natural dtype uint16) and uint8 output: exact saturation. */
START_TEST(test_integer_outputs)
{
    lapse_cl_t *cl = tu_open_cl();
    const int64_t dim[3] = {3, 8, 10};
    const lapse_box_t core = {{0, 1, 1}, {3, 6, 8}};
    size_t n = 3 * 8 * 10, nc = 3 * 6 * 8;
    lapse_step_t steps[1] = {make_step("minimum_box", 1, 1, 1)};
    const lapse_dtype_t outs[] = {LAPSE_DT_AUTO, LAPSE_DT_U8};
    for (int t = 0; t < 2; t++) {
        lapse_pipeline_t *p = NULL;
        lapse_graph_t g;
        lapse_graph_err_t gerr;
        ck_assert_msg(lapse_graph_compile(steps, 1, dim, LAPSE_DT_U16, outs[t], &g, &gerr) ==
                          LAPSE_OK,
                      "%s", lapse_errmsg());
        ck_assert_int_eq(g.nout, 1);
        ck_assert_int_eq(g.out[0].node, 0);
        lapse_dtype_t odt = g.out[0].dtype;
        ck_assert_int_eq(odt, t == 0 ? LAPSE_DT_U16 : LAPSE_DT_U8);
        ck_assert_msg(lapse_pipeline_create(cl, &g, (long long)n, (long long)nc, &p) == LAPSE_OK,
                      "%s", lapse_errmsg());
        uint64_t seed = fresh_seed(70 + t), st = seed;
        uint16_t *in = lapse_pipeline_input(p);
        double *ind = malloc(n * sizeof *ind);
        for (size_t i = 0; i < n; i++)
            ind[i] = in[i] = (uint16_t)(tu_rand(&st) % 65536);
        memset((void *)lapse_pipeline_output(p, 0), 0xA5, nc * lapse_dtype_size(odt));
        const lapse_box_t whole = {{0, 0, 0}, {dim[0], dim[1], dim[2]}};
        ck_assert_msg(lapse_pipeline_run(p, &whole, &core, NULL) == LAPSE_OK, "%s", lapse_errmsg());
        int64_t rdim[3];
        double *ref = ops_ref_chain(steps, 0, ind, dim, rdim);
        const void *out = lapse_pipeline_output(p, 0);
        for (size_t c = 0; c < nc; c++) {
            size_t x = c % 8, y = (c / 8) % 6, z = c / 48;
            double want = ops_ref_pack(ref[(z * 8 + (y + 1)) * 10 + (x + 1)], odt);
            double have =
                odt == LAPSE_DT_U8 ? ((const uint8_t *)out)[c] : ((const uint16_t *)out)[c];
            ck_assert_msg(have == want, "output %s voxel %zu: got %g want %g (seed %llu)",
                          lapse_dtype_name(odt), c, have, want, (unsigned long long)seed);
        }
        free(ind);
        free(ref);
        lapse_pipeline_destroy(p);
    }
    lapse_cl_close(cl);
}
END_TEST

START_TEST(test_device_choice)
{
    lapse_cl_choice_t c;
    unsetenv("LAPSE_DEVICE");
    ck_assert_msg(lapse_cl_choose(LAPSE_DEV_ANY, -1, 5, &c) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_int_ge(c.count, 1);
    int nany = c.count;
    ck_assert_int_eq(c.index, 5 % c.count);
    ck_assert(c.global_mem > 0 && c.max_alloc > 0 && c.name[0] != '\0');
    /* GPU: either a GPU is chosen, or the message says how to allow a CPU device */
    lapse_err_clear();
    if (lapse_cl_choose(LAPSE_DEV_GPU, -1, 0, &c) == LAPSE_OK) {
        ck_assert_int_eq(c.is_gpu, 1);
    } else {
        ck_assert_msg(strstr(lapse_errmsg(), "no OpenCL GPU device found") &&
                          strstr(lapse_errmsg(), "devices: cpu"),
                      "unhelpful message: %s", lapse_errmsg());
    }
    /* an index out of range fails: the config's is a config error (run.c reports it at
     * devices.index), LAPSE_DEVICE's a usage error naming the variable */
    lapse_err_clear();
    ck_assert_int_eq(lapse_cl_choose(LAPSE_DEV_ANY, 1000, 0, &c), LAPSE_ECONFIG);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "out of range"));
    setenv("LAPSE_DEVICE", "999", 1);
    lapse_err_clear();
    ck_assert_int_eq(lapse_cl_choose(LAPSE_DEV_ANY, 0, 0, &c), LAPSE_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "LAPSE_DEVICE=999"));
    { /* the message counts the devices it could take */
        char want[64];
        snprintf(want, sizeof want, "below %d (%d usable device(s) visible)", nany, nany);
        ck_assert_msg(strstr(lapse_errmsg(), want) != NULL, "'%s' lacks '%s'", lapse_errmsg(),
                      want);
    }
    setenv("LAPSE_DEVICE", "0", 1);
    ck_assert_int_eq(lapse_cl_choose(LAPSE_DEV_ANY, 1000, 0, &c), LAPSE_OK);
    ck_assert_int_eq(c.index, 0);
    unsetenv("LAPSE_DEVICE");
    /* the listing names the chosen device */
    char buf[8192] = "";
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    ck_assert_int_eq(lapse_cl_list(f), LAPSE_OK);
    fclose(f);
    ck_assert_msg(strstr(buf, c.name) && strstr(buf, "compute units"), "listing: %s", buf);
}
END_TEST

static Suite *ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("device");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_gaussian_blur);
    tcase_add_test(tc, test_gaussian_vs_scipy);
    tcase_add_test(tc, test_mean_box);
    tcase_add_test(tc, test_minimum_maximum_box);
    tcase_add_test(tc, test_top_hat_box);
    tcase_add_test(tc, test_minimum_maximum_box_large);
    tcase_add_test(tc, test_pointwise);
    tcase_add_test(tc, test_power_exponents);
    tcase_add_test(tc, test_maximum_z_projection);
    tcase_add_test(tc, test_pack_saturation_rounding);
    tcase_add_test(tc, test_input_dtypes);
    tcase_add_test(tc, test_integer_outputs);
    tcase_add_test(tc, test_device_choice);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *env = getenv("LAPSE_TEST_SEED");
    seed_base = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    SRunner *sr = srunner_create(ops_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "test_ops: LAPSE_TEST_SEED=%llu repeats this run\n",
                (unsigned long long)seed_base);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
