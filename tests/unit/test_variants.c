/*
 * test_variants.c - the tiled variant's own kernels (the default: fused minimum / maximum
 * chains of minmax_fused.cl, flip and crop's coalesced copy, and the others docs/kernels.md
 * lists) against the simple variant's plain kernels (LAPSE_KERNELS=simple), bit for bit: each
 * case runs an operation's launcher on both device states, out of place and, where the
 * operation allows it, in place, on shapes that cut the kernels' work-groups unevenly (several
 * groups along each axis, extents below and just above a group, x not a multiple of 4, 2-D
 * data), with radii from 0 to the fused kernels' largest, and inputs that hold the values where
 * an order of operations could show: +0 and -0, NaN, +-inf and long runs of equal values. Equal
 * means the same bits, except that any two NaNs are equal: a CPU (PoCL) propagates an operand's
 * NaN payload and its compiler may swap the operands of an addition (a GPU gives one canonical
 * NaN), so the payload of a NaN result is not part of the contract (docs/kernels.md). Random
 * inputs with a fresh seed per run (LAPSE_TEST_SEED=n repeats a run).
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
#include "ops/minmax.h"
#include "ops/op.h"
#include "testutil.h"

static uint64_t seed_base;

/* 1: fill_special's finite values are not quantized (sums round, so that a different order of
 * operations shows). */
static int fill_fine;

/* 1: fill_special gives finite values only (a long sum over values that include an infinity or
 * a NaN is one whatever the order of its additions). */
static int fill_plain;

/* Random input: values in [-20, 100) quantized to steps of 4 (ties; fill_fine: not quantized),
 * with about 8 % +0, 4 % -0, 2 % NaN and 2 % each of +inf and -inf (fill_plain: none of them). */
static void fill_special(float *v, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        double u = fill_plain ? 1.0 : tu_uniform(&st, 0.0, 1.0);
        v[i] = u < 0.08    ? 0.0f
               : u < 0.12  ? -0.0f
               : u < 0.14  ? NAN
               : u < 0.16  ? INFINITY
               : u < 0.18  ? -INFINITY
               : fill_fine ? (float)tu_uniform(&st, -20.0, 100.0)
                           : (float)(4.0 * floor(tu_uniform(&st, -5.0, 25.0)));
    }
}

/* A device state of the given variant (LAPSE_KERNELS is read when it is made). */
static lapse_dev_t *make_dev(lapse_cl_t *cl, int simple)
{
    lapse_dev_t *d = NULL;
    ck_assert_int_eq(setenv("LAPSE_KERNELS", simple ? "simple" : "tiled", 1), 0);
    ck_assert_msg(lapse_dev_create(cl, &d) == LAPSE_OK, "%s", lapse_errmsg());
    unsetenv("LAPSE_KERNELS");
    return d;
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

/* Run step s on device state d over in (dims dim, whole image), in place or not; the result
 * (dims odim) into res. Buffers start as NaN. */
static void run_on(lapse_cl_t *cl, lapse_dev_t *d, const lapse_step_t *s, const float *in,
                   const int64_t dim[3], const int64_t odim[3], int inplace, float *res)
{
    const lapse_op_t *op = s->op;
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]), on = (size_t)(odim[0] * odim[1] * odim[2]);
    size_t m = on > n ? on : n;
    void *state = NULL;
    cl_mem scratch[LAPSE_GRAPH_SCRATCH];
    if (op->prepare)
        ck_assert_msg(op->prepare(d, s, &state) == LAPSE_OK, "%s", lapse_errmsg());
    lapse_dvol_t vin = {buffer(cl, n, in), {dim[0], dim[1], dim[2]}, {0, 0, 0}, {0, 0, 0}};
    lapse_dvol_t vout = {inplace ? vin.mem : buffer(cl, on, NULL),
                         {odim[0], odim[1], odim[2]},
                         {0, 0, 0},
                         {0, 0, 0}};
    for (int i = 0; i < op->nscratch; i++)
        scratch[i] = buffer(cl, m, NULL);
    int where = -1;
    ck_assert_msg(op->launch(d, s, state, &vin, &vout, scratch, &where) == LAPSE_OK, "%s",
                  lapse_errmsg());
    ck_assert_msg(where >= 0 && where <= op->nscratch, "%s: result in buffer %d", op->name, where);
    cl_int e = clEnqueueReadBuffer(cl->queue, where ? scratch[where - 1] : vout.mem, CL_TRUE, 0,
                                   on * sizeof(float), res, 0, NULL, NULL);
    ck_assert_int_eq(e, CL_SUCCESS);
    clReleaseMemObject(vin.mem);
    if (!inplace)
        clReleaseMemObject(vout.mem);
    for (int i = 0; i < op->nscratch; i++)
        clReleaseMemObject(scratch[i]);
    if (op->release)
        op->release(state);
}

/* Operation name with parameter 0 = (a, b, c) and parameter 1's values = p1 (when it has one). */
static lapse_step_t step_of(const char *name, double a, double b, double c, double p1)
{
    lapse_step_t s;
    const lapse_op_t *o = lapse_op_find(name);
    ck_assert_msg(o != NULL, "no operation %s", name);
    lapse_step_init(&s, o);
    s.p[0].v[0] = a;
    s.p[0].v[1] = b;
    s.p[0].v[2] = c;
    if (o->nparams > 1)
        for (int i = 0; i < 3; i++)
            s.p[1].v[i] = p1;
    return s;
}

/* Extra build options in force while check_same runs the tiled variant (NULL: none): the
 * tunables of a tiled kernel file (e.g. stencil.cl's formulation). */
static const char *tiled_defines;

/* The tiled variant's result of s equals the simple variant's bit for bit on a random volume
 * of dims (nz, ny, nx), out of place and (where allowed) in place; the tiled variant's kernels
 * fetched here come from programs built with tiled_defines. */
static void check_same(lapse_cl_t *cl, lapse_dev_t *simple, lapse_dev_t *tiled,
                       const lapse_step_t *s, int64_t nz, int64_t ny, int64_t nx, int salt)
{
    const int64_t dim[3] = {nz, ny, nx};
    int64_t odim[3];
    lapse_step_out_dims(s, dim, odim);
    size_t n = (size_t)(nz * ny * nx), on = (size_t)(odim[0] * odim[1] * odim[2]);
    uint64_t seed = seed_base + (uint64_t)salt * 0x9e3779b97f4a7c15ULL;
    float *in = malloc(n * sizeof *in), *a = malloc(on * sizeof *a), *b = malloc(on * sizeof *b);
    ck_assert(in && a && b);
    fill_special(in, n, seed);
    run_on(cl, simple, s, in, dim, odim, 0, a);
    for (int inplace = 0; inplace <= (s->op->inplace != 0); inplace++) {
        ck_assert_int_eq(lapse_cl_set_build_options(cl, tiled_defines), LAPSE_OK);
        run_on(cl, tiled, s, in, dim, odim, inplace, b);
        ck_assert_int_eq(lapse_cl_set_build_options(cl, NULL), LAPSE_OK);
        size_t i = 0;
        while (i < on && (memcmp(&a[i], &b[i], sizeof a[i]) == 0 || (isnan(a[i]) && isnan(b[i]))))
            i++;
        ck_assert_msg(i == on,
                      "%s (%g, %g, %g)%s on %lldx%lldx%lld: voxel %zu is %a (tiled) vs %a "
                      "(simple) (seed %llu)",
                      s->op->name, s->p[0].v[0], s->p[0].v[1], s->p[0].v[2],
                      inplace ? " in place" : "", (long long)nz, (long long)ny, (long long)nx, i,
                      i < on ? (double)b[i] : 0.0, i < on ? (double)a[i] : 0.0,
                      (unsigned long long)seed);
    }
    free(in);
    free(a);
    free(b);
}

/* Shapes: several work-groups along every axis with partial last ones, x not a multiple of 4,
 * x a multiple of 4 (16-byte stores), one voxel along an axis, 2-D. */
static const int64_t shapes[][3] = {{40, 37, 131}, {9, 20, 68}, {1, 19, 23}, {3, 1, 5}, {2, 70, 1}};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

/* The fused minimum / maximum chains (minmax_fused.cl) for radii 0 .. LAPSE_MM_RMAX: the pairs
 * both as two one-filter launches (the default) and in one kernel (LAPSE_MM_FUSE2=1). */
START_TEST(test_minmax_fused)
{
    const char *fuse = _i ? "1" : "0";
    ck_assert_int_eq(setenv("LAPSE_MM_FUSE2", fuse, 1), 0);
    { /* the tiled variant takes the pairs on this device (else the checks below would compare
       * the simple kernels with themselves) */
        lapse_cl_t *c0 = tu_open_cl();
        lapse_dev_t *t0 = make_dev(c0, 0);
        const int64_t dim[3] = {4, 9, 12};
        const int r[3] = {1, 1, 1};
        const lapse_mm_t f = {LAPSE_SEP_MIN, 1, 0, 1};
        cl_mem b[3];
        cl_int e;
        for (int i = 0; i < 3; i++) {
            b[i] = clCreateBuffer(c0->ctx, CL_MEM_READ_WRITE, 4 * 9 * 12 * sizeof(float), NULL, &e);
            ck_assert_int_eq(e, CL_SUCCESS);
        }
        int ran = 0, res = -1;
        ck_assert_int_eq(lapse_mm_pair(t0, &f, r, b[0], b[1], b[2], dim, &ran, &res), LAPSE_OK);
        ck_assert_int_eq(clFinish(c0->queue), CL_SUCCESS);
        ck_assert_msg(ran == 1 && res == 0, "LAPSE_MM_FUSE2=%s: the pair did not run (ran %d)",
                      fuse, ran);
        for (int i = 0; i < 3; i++)
            clReleaseMemObject(b[i]);
        lapse_dev_destroy(t0);
        lapse_cl_close(c0);
    }
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *simple = make_dev(cl, 1), *tiled = make_dev(cl, 0);
    ck_assert_str_eq(lapse_dev_variant(simple), "simple");
    static const char *const ops[] = {"top_hat_box", "bottom_hat_box", "opening_box",
                                      "closing_box", "erode_box",      "dilate_box"};
    static const double radii[][3] = {{1, 3, 3}, {1, 1, 1}, {0, 2, 1}, {2, 0, 3},
                                      {4, 4, 4}, {3, 1, 0}, {1, 2, 3}};
    int salt = 0;
    for (int o = 0; o < 6; o++)
        for (int r = 0; r < 7; r++) {
            if (o >= 2 && r >= 3 && r != 4) /* the binary ones: fewer radii */
                continue;
            lapse_step_t s = step_of(ops[o], radii[r][0], radii[r][1], radii[r][2], 0.0);
            for (int k = 0; k < NSHAPES; k++)
                if ((r + k) % 2 == 0 || k < 2)
                    check_same(cl, simple, tiled, &s, shapes[k][0], shapes[k][1], shapes[k][2],
                               ++salt);
        }
    unsetenv("LAPSE_MM_FUSE2");
    lapse_dev_destroy(simple);
    lapse_dev_destroy(tiled);
    lapse_cl_close(cl);
}
END_TEST

/* flip and crop: the tiled copy kernel (8 voxels per work-item along x); rotate and resample:
 * the tiled affine sampler. */
START_TEST(test_flip_crop)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *simple = make_dev(cl, 1), *tiled = make_dev(cl, 0);
    static const double axes[][3] = {{1, 1, 1}, {0, 0, 1}, {1, 0, 0}, {0, 1, 0}};
    int salt = 100;
    for (int a = 0; a < 4; a++) {
        lapse_step_t s = step_of("flip", axes[a][0], axes[a][1], axes[a][2], 0.0);
        for (int k = 0; k < NSHAPES; k++)
            check_same(cl, simple, tiled, &s, shapes[k][0], shapes[k][1], shapes[k][2], ++salt);
    }
    lapse_step_t s = step_of("crop", 1, 2, 3, 0.0);
    s.p[1].v[0] = 5, s.p[1].v[1] = 30, s.p[1].v[2] = 300; /* reaching past x: clipped */
    check_same(cl, simple, tiled, &s, 9, 40, 131, ++salt);
    /* the affine sampler (rotate: constant mode; resample: clamped), linear and nearest */
    static const double rot[][3] = {{0, 30, 0}, {17, -40, 95}, {0, 0, 45}};
    for (int a = 0; a < 3; a++)
        for (int nearest = 0; nearest <= 1; nearest++) {
            s = step_of("rotate", 0, 0, 0, 0.0);
            s.p[0].v[0] = rot[a][0], s.p[1].v[0] = rot[a][1], s.p[2].v[0] = rot[a][2];
            s.p[3].v[0] = nearest;
            check_same(cl, simple, tiled, &s, shapes[a][0], shapes[a][1], shapes[a][2], ++salt);
        }
    s = step_of("resample", 0.5, 1.7, 0.75, 0.0);
    check_same(cl, simple, tiled, &s, 9, 20, 131, ++salt);
    s.p[1].v[0] = 1; /* nearest */
    check_same(cl, simple, tiled, &s, 9, 20, 131, ++salt);
    lapse_dev_destroy(simple);
    lapse_dev_destroy(tiled);
    lapse_cl_close(cl);
}
END_TEST

/* Run sampler step s (rotate, affine_transform, resample: no scratch, no state) on device state
 * d for the box ob of its result (dims odim) from the box of the input (whole image in, dims
 * dim) that in_box gives it, as a task of a tiling runs it (origins and image dims set); the
 * box's result into res (ob's dims). */
static void run_box(lapse_cl_t *cl, lapse_dev_t *d, const lapse_step_t *s, const float *in,
                    const int64_t dim[3], const int64_t odim[3], const lapse_box_t *ob, float *res)
{
    const lapse_op_t *op = s->op;
    ck_assert(op->nscratch == 0 && op->prepare == NULL && op->in_box != NULL);
    lapse_box_t ib;
    op->in_box(s, ob, dim, &ib);
    size_t n = (size_t)(ib.dim[0] * ib.dim[1] * ib.dim[2]);
    size_t on = (size_t)(ob->dim[0] * ob->dim[1] * ob->dim[2]);
    float *part = malloc(n * sizeof *part);
    ck_assert(part != NULL);
    for (int64_t z = 0; z < ib.dim[0]; z++)
        for (int64_t y = 0; y < ib.dim[1]; y++)
            memcpy(&part[(size_t)((z * ib.dim[1] + y) * ib.dim[2])],
                   &in[((ib.off[0] + z) * dim[1] + ib.off[1] + y) * dim[2] + ib.off[2]],
                   (size_t)ib.dim[2] * sizeof *part);
    lapse_dvol_t vin = {buffer(cl, n, part),
                        {ib.dim[0], ib.dim[1], ib.dim[2]},
                        {ib.off[0], ib.off[1], ib.off[2]},
                        {dim[0], dim[1], dim[2]}};
    lapse_dvol_t vout = {buffer(cl, on, NULL),
                         {ob->dim[0], ob->dim[1], ob->dim[2]},
                         {ob->off[0], ob->off[1], ob->off[2]},
                         {odim[0], odim[1], odim[2]}};
    int where = -1;
    ck_assert_msg(op->launch(d, s, NULL, &vin, &vout, NULL, &where) == LAPSE_OK, "%s",
                  lapse_errmsg());
    ck_assert_int_eq(where, 0);
    cl_int e = clEnqueueReadBuffer(cl->queue, vout.mem, CL_TRUE, 0, on * sizeof(float), res, 0,
                                   NULL, NULL);
    ck_assert_int_eq(e, CL_SUCCESS);
    clReleaseMemObject(vin.mem);
    clReleaseMemObject(vout.mem);
    free(part);
}

/* As check_same for a sampler step, and then task by task: the result cut into 8 boxes at about
 * a third of each axis (origins not on the kernels' tiles), each run by the tiled variant from
 * its own input box, equals the simple variant's whole result there bit for bit. */
static void check_sampler(lapse_cl_t *cl, lapse_dev_t *simple, lapse_dev_t *tiled,
                          const lapse_step_t *s, int64_t nz, int64_t ny, int64_t nx, int salt)
{
    check_same(cl, simple, tiled, s, nz, ny, nx, salt);
    const int64_t dim[3] = {nz, ny, nx};
    int64_t odim[3];
    lapse_step_out_dims(s, dim, odim);
    size_t n = (size_t)(nz * ny * nx), on = (size_t)(odim[0] * odim[1] * odim[2]);
    uint64_t seed = seed_base + (uint64_t)salt * 0x9e3779b97f4a7c15ULL;
    float *in = malloc(n * sizeof *in), *a = malloc(on * sizeof *a), *b = malloc(on * sizeof *b);
    ck_assert(in && a && b);
    fill_special(in, n, seed);
    run_on(cl, simple, s, in, dim, odim, 0, a);
    for (int c = 0; c < 8; c++) {
        lapse_box_t ob;
        for (int ax = 0; ax < 3; ax++) {
            int64_t cut = (odim[ax] + 2) / 3; /* the first part: [0, cut) */
            int hi = c >> (2 - ax) & 1;
            ob.off[ax] = hi ? cut : 0;
            ob.dim[ax] = hi ? odim[ax] - cut : cut;
        }
        if (ob.dim[0] <= 0 || ob.dim[1] <= 0 || ob.dim[2] <= 0)
            continue;
        ck_assert_int_eq(lapse_cl_set_build_options(cl, tiled_defines), LAPSE_OK);
        run_box(cl, tiled, s, in, dim, odim, &ob, b);
        ck_assert_int_eq(lapse_cl_set_build_options(cl, NULL), LAPSE_OK);
        for (int64_t z = 0; z < ob.dim[0]; z++)
            for (int64_t y = 0; y < ob.dim[1]; y++)
                for (int64_t x = 0; x < ob.dim[2]; x++) {
                    float u = b[(z * ob.dim[1] + y) * ob.dim[2] + x];
                    float v =
                        a[((ob.off[0] + z) * odim[1] + ob.off[1] + y) * odim[2] + ob.off[2] + x];
                    ck_assert_msg(
                        memcmp(&u, &v, sizeof u) == 0 || (isnan(u) && isnan(v)),
                        "%s (%g, %g, %g; %g, %g) on %lldx%lldx%lld, box at (%lld, %lld, %lld): "
                        "voxel (%lld, %lld, %lld) is %a (tiled) vs %a (simple) "
                        "(seed %llu)",
                        s->op->name, s->p[0].v[0], s->p[0].v[1], s->p[0].v[2], s->p[1].v[0],
                        s->p[2].v[0], (long long)nz, (long long)ny, (long long)nx,
                        (long long)ob.off[0], (long long)ob.off[1], (long long)ob.off[2],
                        (long long)z, (long long)y, (long long)x, (double)u, (double)v,
                        (unsigned long long)seed);
                }
    }
    free(in);
    free(a);
    free(b);
}

/* The tiled affine sampler (lapse_geom_affine_t, and lapse_geom_affine_b where x turns into y
 * or z) against the simple kernel: rotations about x, y, z and oblique ones (linear and
 * nearest), affine_transform with scales and shears, resample, on the file's shapes and odd
 * ones, whole and task by task. */
START_TEST(test_affine_tiled)
{
    static const double rot[][3] = {{0, 30, 0},   {0, 0, 30},    {30, 0, 0},  {0, -40, 0},
                                    {0, 0, 95},   {0, 45, 0},    {0, 0, 180}, {7.3, 0, 0},
                                    {0, 0, -7.3}, {17, -40, 95}, {3, 4, -5},  {0, 0, 45}};
    static const double mat[][12] = {
        {0.9, 0.1, 0, 1.5, 0, 1.1, 0.3, -2, 0.05, -0.2, 0.8, 3}, /* shear and scale */
        {1, 0, 0, 0, 0, 0.5, 0.25, 1, 0, 0, 0.5, 2.5},           /* upscale x, y shears on x */
        {1, 0, 0, 0, 0, 1, 0, 0, 0.4, 0, 1, -3},                 /* x shears along z */
        {2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0},                    /* downscale */
    };
    static const int64_t odd[][3] = {{33, 45, 77}, {5, 70, 97}, {17, 8, 200}};
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *simple = make_dev(cl, 1), *tiled = make_dev(cl, 0);
    int salt = 500;
    for (int r = 0; r < (int)(sizeof rot / sizeof rot[0]); r++)
        for (int nearest = 0; nearest <= 1; nearest++) {
            lapse_step_t s = step_of("rotate", rot[r][0], 0, 0, 0.0);
            s.p[1].v[0] = rot[r][1], s.p[2].v[0] = rot[r][2], s.p[3].v[0] = nearest;
            int k = (r + nearest) % NSHAPES;
            check_same(cl, simple, tiled, &s, shapes[k][0], shapes[k][1], shapes[k][2], ++salt);
            const int64_t *o = odd[(r + nearest) % 3];
            check_sampler(cl, simple, tiled, &s, o[0], o[1], o[2], ++salt);
        }
    for (int t = 0; t < (int)(sizeof mat / sizeof mat[0]); t++)
        for (int nearest = 0; nearest <= 1; nearest++) {
            lapse_step_t s = step_of("affine_transform", 0, 0, 0, 0.0);
            memcpy(s.p[0].v, mat[t], sizeof mat[t]);
            s.p[1].v[0] = nearest;
            check_sampler(cl, simple, tiled, &s, 40, 37, 131, ++salt);
        }
    for (int nearest = 0; nearest <= 1; nearest++) {
        lapse_step_t s = step_of("resample", 0.5, 1.7, 0.75, 0.0);
        s.p[1].v[0] = nearest;
        check_sampler(cl, simple, tiled, &s, 9, 20, 131, ++salt);
        s = step_of("resample", 2, 2, 2, 0.0);
        s.p[1].v[0] = nearest;
        check_sampler(cl, simple, tiled, &s, 5, 19, 45, ++salt);
    }
    lapse_dev_destroy(simple);
    lapse_dev_destroy(tiled);
    lapse_cl_close(cl);
}
END_TEST

/* The stencils: the tiled walk (sobel, laplace_box, laplace_diamond: 3-D and 2-D data; the
 * simple kernels where x or y has extent 1) and the central differences. */
START_TEST(test_stencils)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *simple = make_dev(cl, 1), *tiled = make_dev(cl, 0);
    static const char *const ops[] = {"sobel",      "laplace_box", "laplace_diamond",
                                      "gradient_x", "gradient_y",  "gradient_z"};
    int salt = 200;
    for (int o = 0; o < 6; o++) {
        lapse_step_t s = step_of(ops[o], 0, 0, 0, 0.0);
        for (int k = 0; k < NSHAPES; k++)
            check_same(cl, simple, tiled, &s, shapes[k][0], shapes[k][1], shapes[k][2], ++salt);
        check_same(cl, simple, tiled, &s, 70, 17, 64, ++salt); /* nz > 2 groups, whole groups */
    }
    lapse_dev_destroy(simple);
    lapse_dev_destroy(tiled);
    lapse_cl_close(cl);
}
END_TEST

/* mean_box passes of radius above LAPSE_SEP_MEAN_DOUBLE_R sum in double: the tiled kernels
 * (lapse_xt_meand, lapse_col_meand) and the simple one give the same bits, along each axis and
 * mixed with float32 passes. */
START_TEST(test_long_means)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *simple = make_dev(cl, 1), *tiled = make_dev(cl, 0);
    static const double r[][3] = {{0, 0, 70}, {0, 66, 0}, {80, 0, 0}, {67, 3, 90}, {2, 100, 65}};
    int salt = 300;
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        lapse_step_t s = step_of("mean_box", r[i][0], r[i][1], r[i][2], 0.0);
        check_same(cl, simple, tiled, &s, 9, 37, 203, ++salt);
        check_same(cl, simple, tiled, &s, 1, 150, 61, ++salt);
    }
    lapse_dev_destroy(simple);
    lapse_dev_destroy(tiled);
    lapse_cl_close(cl);
}
END_TEST

/* The tiled stencils in other geometries and in the strip formulation (stencil.cl's tunables,
 * read back by op_stencil.c): the default shapes and ones that cut the strip's work-items (YS
 * rows, SKZ planes) unevenly, on quantized and on unquantized values (where the order of the
 * additions shows in the bits); the geometry in use is the one asked for. */
START_TEST(test_stencil_geometries)
{
    static const struct {
        const char *defines;
        int impl, ys; /* expected LAPSE_SW_IMPL, LAPSE_SW_YS */
    } g[] = {
        {"-DLAPSE_SW_IMPL=1", 1, 8},
        {"-DLAPSE_SW_IMPL=1 -DLAPSE_SW_PF=0 -DLAPSE_SW_YS=3 -DLAPSE_SW_SKZ=5 -DLAPSE_SW_STX=16 "
         "-DLAPSE_SW_STY=4",
         1, 3},
        {"-DLAPSE_SW_IMPL=1 -DLAPSE_SW_YS=1 -DLAPSE_SW_SKZ=1 -DLAPSE_SW_CAP=1", 1, 1},
        {"-DLAPSE_SW_IMPL=1 -DLAPSE_SW_YS=5 -DLAPSE_SW_SKZ=3 -DLAPSE_SW_PF=1", 1, 5},
        {"-DLAPSE_SW_IMPL=0 -DLAPSE_SW_TX=32 -DLAPSE_SW_RY=3 -DLAPSE_SW_WY=2 -DLAPSE_SW_KZ=5", 0,
         8},
        {"-DLAPSE_SW_IMPL=0", 0, 8},
    };
    static const char *const ops[] = {"sobel", "laplace_box", "laplace_diamond"};
    static const int64_t more[][3] = {{70, 17, 64}, {11, 9, 33}, {1, 26, 40}};
    lapse_cl_t *cl = tu_open_cl();
    int salt = 250;
    for (size_t v = 0; v < sizeof g / sizeof g[0]; v++) {
        lapse_dev_t *simple = make_dev(cl, 1), *tiled = make_dev(cl, 0);
        tiled_defines = g[v].defines;
        for (int o = 0; o < 3; o++) {
            lapse_step_t s = step_of(ops[o], 0, 0, 0, 0.0);
            for (fill_fine = 0; fill_fine <= 1; fill_fine++) {
                for (int k = 0; k < NSHAPES; k++)
                    check_same(cl, simple, tiled, &s, shapes[k][0], shapes[k][1], shapes[k][2],
                               ++salt);
                for (int k = 0; k < 3; k++)
                    check_same(cl, simple, tiled, &s, more[k][0], more[k][1], more[k][2], ++salt);
            }
        }
        fill_fine = 0;
        tiled_defines = NULL;
        ck_assert_msg(tiled->stencil_state == 1 && tiled->stencil_geom[1] == g[v].impl &&
                          tiled->stencil_geom[8] == g[v].ys,
                      "%s: the geometry read back is impl %d, ys %d", g[v].defines,
                      (int)tiled->stencil_geom[1], (int)tiled->stencil_geom[8]);
        lapse_dev_destroy(simple);
        lapse_dev_destroy(tiled);
    }
    lapse_cl_close(cl);
}
END_TEST

/* The window filters with radii <= 4 (window_tiled.cl, one program per window and statistic):
 * boxes and ellipsoids, radius 0 on an axis, an axis of extent 1 dropped, medians on the
 * compare-exchange path and, where a NaN or -0 is in the window, on the simple kernel's one. */
START_TEST(test_windows)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_dev_t *simple = make_dev(cl, 1), *tiled = make_dev(cl, 0);
    static const char *const ops[] = {"median_box",
                                      "median_sphere",
                                      "mean_sphere",
                                      "minimum_sphere",
                                      "maximum_sphere",
                                      "variance_box",
                                      "standard_deviation_box",
                                      "top_hat_sphere",
                                      "erode_sphere",
                                      "dilate_sphere"};
    static const double radii[][3] = {{1, 1, 1}, {1, 2, 2}, {0, 1, 1},
                                      {2, 0, 1}, {2, 2, 2}, {3, 4, 2}};
    int salt = 300;
    for (int o = 0; o < 10; o++)
        for (int r = 0; r < 6; r++) {
            if (r == 5 && o == 0) /* 315 values: the simple kernel in both variants */
                continue;
            lapse_step_t s = step_of(ops[o], radii[r][0], radii[r][1], radii[r][2], 0.0);
            for (int k = 0; k < NSHAPES; k++)
                if (k == (r + o) % NSHAPES || (k == 1 && r < 2))
                    check_same(cl, simple, tiled, &s, shapes[k][0], shapes[k][1], shapes[k][2],
                               ++salt);
        }
    unsetenv("LAPSE_MM_FUSE2");
    lapse_dev_destroy(simple);
    lapse_dev_destroy(tiled);
    lapse_cl_close(cl);
}
END_TEST

static Suite *variants_suite(void)
{
    Suite *s = suite_create("variants");
    TCase *tc = tcase_create("tiled_vs_simple");
    tcase_set_timeout(tc, 1500); /* a cold PoCL kernel cache compiles every variant first */
    tcase_add_loop_test(tc, test_minmax_fused, 0, 2);
    tcase_add_test(tc, test_flip_crop);
    tcase_add_test(tc, test_affine_tiled);
    tcase_add_test(tc, test_stencils);
    tcase_add_test(tc, test_long_means);
    tcase_add_test(tc, test_stencil_geometries);
    tcase_add_test(tc, test_windows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *env = getenv("LAPSE_TEST_SEED");
    seed_base = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    SRunner *sr = srunner_create(variants_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "test_variants: LAPSE_TEST_SEED=%llu repeats this run\n",
                (unsigned long long)seed_base);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
