/*
 * op_stencil.c - the stencil family: fixed 3x3x3 derivative filters, one kernel each
 * (kernels/stencil.cl): sobel (gradient magnitude), laplace_box, laplace_diamond and the central
 * differences gradient_x, gradient_y, gradient_z. Float32 results. An axis along which the image
 * has extent 1 (z of [t, y, x] data) is not part of the stencil, as in clesperanto, so 2-D data
 * gets the 2-D filter (SciPy's filter of the 2-D array). The CPU references below compute in
 * double from the definitions, independently of the kernels. The tiled variant runs the same
 * arithmetic in a formulation chosen at build time (stencil.cl, *_t: the local-memory walk or
 * the strip), whose geometry is read back from the program (lapse_stencil_geometry).
 */
#include "ops/family.h"

#include <stdio.h>

/* ---------------------------------------------------------------- launchers */

/* The central differences (stencil.cl, lapse_gradient_t): LAPSE_GR_W x LAPSE_GR_K outputs of a
 * row per LAPSE_GR_W work-items. */
#define GR_W 32
#define GR_K 8

/* The tiled stencils' geometry, in the order lapse_stencil_geometry (stencil.cl) writes it. */
enum {
    SG_COUNT,
    SG_IMPL, /* 0: the local-memory walk, 1: the strip */
    SG_TX,   /* walk: outputs per work-group along x (work-items per row) */
    SG_RY,   /* walk: outputs per work-item along y */
    SG_WY,   /* walk: rows of work-items */
    SG_KZ,   /* walk: output planes per work-group */
    SG_STX,  /* strip: local size 0 */
    SG_STY,  /* strip: local size 1 */
    SG_YS,   /* strip: outputs per work-item along y */
    SG_SKZ,  /* strip: output planes per work-item */
    SG_CAP,  /* 1: the kernels come from the register-capped program (lapse_dev_kernel_heavy) */
    SG_N
};

/* Read the tiled stencils' geometry into d->stencil_geom, once per device state, from the
 * program of stencil.cl built with the build options in force (one work-item writes it), so
 * that build options overriding it (bench_kernels --defines) reach the launch. Read from the
 * plain program, which the default geometry's kernels (the strip, LAPSE_SW_CAP 0) come from: the
 * capped and the plain program report the same values, and the capped one is then built only
 * for a geometry that asks for it. Fails with LAPSE_ECL when the program does not build or
 * reports values out of range. */
static lapse_status_t stencil_geometry(lapse_dev_t *d)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS, *g = d->stencil_geom;
    size_t one = 1;
    cl_kernel k = NULL;
    cl_mem buf = NULL;
    if (d->stencil_state == 1)
        return LAPSE_OK;
    LAPSE_TRY(lapse_dev_kernel(d, "stencil.cl", "lapse_stencil_geometry", &k, NULL));
    buf = clCreateBuffer(d->cl->ctx, CL_MEM_WRITE_ONLY, SG_N * sizeof(cl_int), NULL, &e);
    LAPSE_CL(e);
    LAPSE_ARG(k, 0, buf);
    LAPSE_CL(clEnqueueNDRangeKernel(d->cl->queue, k, 1, NULL, &one, NULL, 0, NULL, NULL));
    LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, buf, CL_TRUE, 0, SG_N * sizeof(cl_int), g, 0, NULL,
                                 NULL));
    if (g[SG_COUNT] != SG_N)
        LAPSE_FAIL(LAPSE_ECL, "stencil.cl reports %d geometry values, op_stencil.c expects %d",
                   (int)g[SG_COUNT], SG_N);
    for (int i = 1; i < SG_N; i++) {
        int flag = i == SG_IMPL || i == SG_CAP;
        if (g[i] < (flag ? 0 : 1) || g[i] > (flag ? 1 : 4096))
            LAPSE_FAIL(LAPSE_ECL, "stencil.cl geometry value %d is %d", i, (int)g[i]);
    }
    d->stencil_state = 1;
cleanup:
    if (buf)
        clReleaseMemObject(buf);
    return st;
}

/* The tiled stencil walk's work-group and NDRange for an nx x ny x nz buffer (geometry read). */
static void stencil_shape(const lapse_dev_t *d, cl_int nx, cl_int ny, cl_int nz, size_t l[3],
                          size_t g[3])
{
    const cl_int *s = d->stencil_geom;
    if (s[SG_IMPL] == 0) { /* work-groups of TX x WY work-items (1-D), TX x (RY WY) outputs */
        size_t tx = (size_t)s[SG_TX], ty = (size_t)(s[SG_RY] * s[SG_WY]);
        l[0] = tx * (size_t)s[SG_WY];
        l[1] = l[2] = 1;
        g[0] = ((size_t)nx + tx - 1) / tx * l[0];
        g[1] = ((size_t)ny + ty - 1) / ty;
        g[2] = ((size_t)nz + (size_t)s[SG_KZ] - 1) / (size_t)s[SG_KZ];
    } else { /* one work-item per x and YS outputs along y (lapse_dev_enqueue rounds up) */
        l[0] = (size_t)s[SG_STX];
        l[1] = (size_t)s[SG_STY];
        l[2] = 1;
        g[0] = (size_t)nx;
        g[1] = ((size_t)ny + (size_t)s[SG_YS] - 1) / (size_t)s[SG_YS];
        g[2] = ((size_t)nz + (size_t)s[SG_SKZ] - 1) / (size_t)s[SG_SKZ];
    }
}

/* Run stencil kernel `name` (axis: the central difference's axis, -1 for none): the tiled
 * variant's kernel name_t where it applies (x and y in the stencil, planes of fewer than 2^31
 * voxels, the device takes the work-group), else the simple one. */
static lapse_status_t stencil_run(lapse_dev_t *d, const char *name, const lapse_dvol_t *in,
                                  const lapse_dvol_t *out, int axis)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    char tname[64];
    size_t kwg = 0, l[3] = {1, 1, 1}, g[3] = {1, 1, 1};
    cl_int nx = (cl_int)in[0].dim[2], ny = (cl_int)in[0].dim[1], nz = (cl_int)in[0].dim[0];
    cl_int ax = axis;
    int tiled = !d->simple && (axis >= 0 || (d->use_local && nx > 1 && ny > 1 &&
                                             in[0].dim[1] * in[0].dim[2] < ((int64_t)1 << 31)));
    if (tiled) {
        snprintf(tname, sizeof tname, "%s_t", name);
        if (axis >= 0) {
            LAPSE_TRY(lapse_dev_kernel(d, "stencil.cl", tname, &k, &kwg));
        } else {
            LAPSE_TRY(stencil_geometry(d));
            if (d->stencil_geom[SG_CAP])
                LAPSE_TRY(lapse_dev_kernel_heavy(d, "stencil.cl", "", tname, &k, &kwg));
            else
                LAPSE_TRY(lapse_dev_kernel(d, "stencil.cl", tname, &k, &kwg));
            stencil_shape(d, nx, ny, nz, l, g);
            tiled = kwg >= l[0] * l[1] * l[2];
        }
    }
    if (!tiled)
        LAPSE_TRY(lapse_dev_kernel(d, "stencil.cl", name, &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, out->mem);
    LAPSE_ARG(k, 2, nx);
    LAPSE_ARG(k, 3, ny);
    LAPSE_ARG(k, 4, nz);
    if (axis >= 0)
        LAPSE_ARG(k, 5, ax);
    if (tiled && axis >= 0) {
        size_t gx = ((size_t)nx + GR_W * GR_K - 1) / (GR_W * GR_K) * GR_W;
        LAPSE_TRY(lapse_dev_launch_3d(d, k, gx, (size_t)ny, (size_t)nz));
    } else if (tiled) {
        LAPSE_TRY(lapse_dev_enqueue(d, k, 3, g, l));
    } else {
        LAPSE_TRY(lapse_dev_launch_3d(d, k, (size_t)nx, (size_t)ny, (size_t)nz));
    }
cleanup:
    return st;
}

/* kernel name, axis argument (-1: none; 0 = x, 1 = y, 2 = z) */
#define STENCIL_OP(fn, kname, axis)                                                                \
    static lapse_status_t fn##_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,          \
                                      const lapse_dvol_t *in, const lapse_dvol_t *out,             \
                                      const cl_mem *scratch, int *res)                             \
    {                                                                                              \
        (void)s;                                                                                   \
        (void)state;                                                                               \
        (void)scratch;                                                                             \
        *res = 0;                                                                                  \
        return stencil_run(d, kname, in, out, axis);                                               \
    }
STENCIL_OP(sobel, "lapse_sobel", -1)
STENCIL_OP(laplace_box, "lapse_laplace_box", -1)
STENCIL_OP(laplace_diamond, "lapse_laplace_diamond", -1)
STENCIL_OP(gradient_x, "lapse_gradient", 0)
STENCIL_OP(gradient_y, "lapse_gradient", 1)
STENCIL_OP(gradient_z, "lapse_gradient", 2)

/* ---------------------------------------------------------------- references */

/* Value of in (dims dim) at p + d, clamped to the volume. */
static double at(const double *in, const int64_t dim[3], const int64_t p[3], const int d[3])
{
    int64_t q[3];
    for (int a = 0; a < 3; a++) {
        q[a] = p[a] + d[a];
        q[a] = q[a] < 0 ? 0 : q[a] >= dim[a] ? dim[a] - 1 : q[a];
    }
    return in[(q[0] * dim[1] + q[1]) * dim[2] + q[2]];
}

typedef enum { S_SOBEL, S_LAPLACE_BOX, S_LAPLACE_DIAMOND } stencil_kind_t;

/* One output voxel at p of kind k; r[a] = 1 for the axes of the stencil (extent > 1), else 0. */
static double stencil_voxel(stencil_kind_t k, const double *in, const int64_t dim[3],
                            const int64_t p[3], const int r[3])
{
    const int zero[3] = {0, 0, 0};
    double c = at(in, dim, p, zero), g[3] = {0.0, 0.0, 0.0}, s = 0.0;
    if (k == S_LAPLACE_DIAMOND) {
        for (int a = 0; a < 3; a++)
            if (r[a]) {
                int m[3] = {0, 0, 0}, n[3] = {0, 0, 0};
                m[a] = -1;
                n[a] = 1;
                s += at(in, dim, p, m) - 2.0 * c + at(in, dim, p, n);
            }
        return s;
    }
    int d[3];
    for (d[0] = -r[0]; d[0] <= r[0]; d[0]++)
        for (d[1] = -r[1]; d[1] <= r[1]; d[1]++)
            for (d[2] = -r[2]; d[2] <= r[2]; d[2]++) {
                double v = at(in, dim, p, d);
                if (k == S_LAPLACE_BOX) {
                    s += v - c;
                    continue;
                }
                /* Sobel: derivative [-1, 0, 1] along a, smoothing [1, 2, 1] along the others */
                for (int a = 0; a < 3; a++) {
                    if (!r[a])
                        continue;
                    double w = d[a];
                    for (int b = 0; b < 3; b++)
                        if (b != a && r[b])
                            w *= 2 - abs(d[b]);
                    g[a] += w * v;
                }
            }
    if (k == S_LAPLACE_BOX)
        return s;
    return sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
}

static void stencil_ref(stencil_kind_t k, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    const int64_t *dim = in[0].dim;
    int r[3];
    for (int a = 0; a < 3; a++)
        r[a] = dim[a] > 1;
    int64_t p[3];
    for (p[0] = 0; p[0] < dim[0]; p[0]++)
        for (p[1] = 0; p[1] < dim[1]; p[1]++)
            for (p[2] = 0; p[2] < dim[2]; p[2]++)
                out->v[(p[0] * dim[1] + p[1]) * dim[2] + p[2]] =
                    stencil_voxel(k, in[0].v, dim, p, r);
}

static void sobel_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    (void)s;
    stencil_ref(S_SOBEL, in, out);
}

static void laplace_box_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    (void)s;
    stencil_ref(S_LAPLACE_BOX, in, out);
}

static void laplace_diamond_ref(const lapse_step_t *s, const lapse_refvol_t *in,
                                lapse_refvol_t *out)
{
    (void)s;
    stencil_ref(S_LAPLACE_DIAMOND, in, out);
}

/* Central difference along axis a (0 = z, 1 = y, 2 = x), with SciPy's 0 x centre (NaN where the
 * centre is NaN or infinite). */
static void gradient_ref(int a, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    const int64_t *dim = in[0].dim;
    int m[3] = {0, 0, 0}, n[3] = {0, 0, 0};
    m[a] = -1;
    n[a] = 1;
    int64_t p[3];
    for (p[0] = 0; p[0] < dim[0]; p[0]++)
        for (p[1] = 0; p[1] < dim[1]; p[1]++)
            for (p[2] = 0; p[2] < dim[2]; p[2]++)
                out->v[(p[0] * dim[1] + p[1]) * dim[2] + p[2]] =
                    0.0 * at(in[0].v, dim, p, (const int[3]){0, 0, 0}) +
                    (at(in[0].v, dim, p, n) - at(in[0].v, dim, p, m));
}

#define GRADIENT_REF(fn, a)                                                                        \
    static void fn##_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)     \
    {                                                                                              \
        (void)s;                                                                                   \
        gradient_ref(a, in, out);                                                                  \
    }
GRADIENT_REF(gradient_z, 0)
GRADIENT_REF(gradient_y, 1)
GRADIENT_REF(gradient_x, 2)

/* ---------------------------------------------------------------- descriptors */

static void reach1(const lapse_step_t *s, int64_t reach[3])
{
    (void)s;
    reach[0] = reach[1] = reach[2] = 1;
}

#define AXIS_REACH(fn, a)                                                                          \
    static void fn(const lapse_step_t *s, int64_t reach[3])                                        \
    {                                                                                              \
        (void)s;                                                                                   \
        reach[0] = reach[1] = reach[2] = 0;                                                        \
        reach[a] = 1;                                                                              \
    }
AXIS_REACH(reach_z, 0)
AXIS_REACH(reach_y, 1)
AXIS_REACH(reach_x, 2)

#define STENCIL_COMMON                                                                             \
    .family = "stencil", .ninputs = 1, .nparams = 0, .footprint = LAPSE_FP_LOCAL, .inplace = 0,    \
    .nscratch = 0, .out_rule = LAPSE_OUT_F32, .kernels = "stencil.cl"

const lapse_op_t lapse_op_sobel = {
    .name = "sobel",
    .help = "Sobel gradient magnitude sqrt(sum over axes of sobel(x, axis)^2) (float32)",
    .convention = "clesperanto sobel (the magnitude; SciPy's sobel is one axis): "
                  "sqrt(sum over the axes of SciPy sobel(x, axis, mode='nearest')^2); axes of "
                  "extent 1 are not part of the stencil (2-D data: the 3x3 Sobel); each "
                  "difference adds 0 x its centre as SciPy does, so a NaN or infinity makes NaN "
                  "where SciPy's does. In float32 it smooths before it differences (SciPy the "
                  "other way round): on data with a large offset the difference of smoothed "
                  "sums loses up to about 1e-6 of 16 x the offset (1-2 at 1e6 + noise); "
                  "subtract the offset first (subtract_scalar)",
    STENCIL_COMMON,
    /* 2: separable (rows, planes, z) (1: the 27 weighted terms); 3: 0 x the centre of each
     * difference, as SciPy (2026-12-03; a NaN or infinity at a weight 0 was skipped) */
    .version = 3,
    .reach = reach1,
    .reach_doc = "1",
    .launch = sobel_launch,
    .reference = sobel_ref,
};

const lapse_op_t lapse_op_laplace_box = {
    .name = "laplace_box",
    .help = "box Laplacian: sum over the 26 (2-D: 8) neighbours of (neighbour - x) (float32)",
    .convention = "SciPy correlate(x, K, mode='nearest'), K = 1 on the 3x3x3 box and 1 - 3^k at "
                  "the centre (k axes); = -clesperanto laplace_box (centre 3^k - 1, neighbours "
                  "-1): the sign of SciPy's laplace, shared with laplace_diamond; axes of extent "
                  "1 are not part of the stencil, as clesperanto. In float32 it is the box sum "
                  "less 3^k x the centre: on data with a large offset the cancellation loses up "
                  "to about 1e-6 of 27 x the offset (a few units at 1e6 + noise; subtract the "
                  "offset first, subtract_scalar), a value beyond about 1.2e37 overflows the "
                  "sum (NaN where SciPy is finite), and an infinite centre gives NaN where "
                  "SciPy gives -inf",
    STENCIL_COMMON,
    .version = 2, /* 2: the box sum minus 3^k centres (1: the sum of differences) */
    .reach = reach1,
    .reach_doc = "1",
    .launch = laplace_box_launch,
    .reference = laplace_box_ref,
};

const lapse_op_t lapse_op_laplace_diamond = {
    .name = "laplace_diamond",
    .help = "diamond Laplacian: sum over the axes of the second difference (float32)",
    .convention = "SciPy laplace(mode='nearest') (sum of [1, -2, 1] along each axis); = "
                  "-clesperanto laplace_diamond (centre 2k, neighbours -1), whose sign is "
                  "opposite; an axis of extent 1 adds 0",
    STENCIL_COMMON,
    .version = 1,
    .reach = reach1,
    .reach_doc = "1",
    .launch = laplace_diamond_launch,
    .reference = laplace_diamond_ref,
};

const lapse_op_t lapse_op_gradient_x = {
    .name = "gradient_x",
    .help = "central difference along x: x[i+1] - x[i-1] (float32)",
    .convention = "SciPy correlate1d(x, [-1, 0, 1], axis=x, mode='nearest'), as CLIJ's "
                  "gradient_x_3d_x kernel (pyclesperanto_prototype); CLIc's gradient_x has the "
                  "opposite sign (x[i-1] - x[i+1]), NumPy's gradient halves it and is one-sided "
                  "at the edge; a derivative that is positive where x grows, like sobel's; 0 x "
                  "the centre is added as SciPy does, so a NaN or infinite centre gives NaN",
    STENCIL_COMMON,
    .version = 2, /* 2: + 0 x centre, as SciPy (2026-12-03; the centre was skipped) */
    .reach = reach_x,
    .reach_doc = "1 along x only",
    .launch = gradient_x_launch,
    .reference = gradient_x_ref,
};

const lapse_op_t lapse_op_gradient_y = {
    .name = "gradient_y",
    .help = "central difference along y: y[i+1] - y[i-1] (float32)",
    .convention = "SciPy correlate1d(x, [-1, 0, 1], axis=y, mode='nearest'); sign and NaN rule as "
                  "gradient_x",
    STENCIL_COMMON,
    .version = 2,
    .reach = reach_y,
    .reach_doc = "1 along y only",
    .launch = gradient_y_launch,
    .reference = gradient_y_ref,
};

const lapse_op_t lapse_op_gradient_z = {
    .name = "gradient_z",
    .help = "central difference along z: z[i+1] - z[i-1] (float32; 0 on 2-D data)",
    .convention = "SciPy correlate1d(x, [-1, 0, 1], axis=z, mode='nearest'); sign and NaN rule as "
                  "gradient_x",
    STENCIL_COMMON,
    .version = 2,
    .reach = reach_z,
    .reach_doc = "1 along z only",
    .launch = gradient_z_launch,
    .reference = gradient_z_ref,
};
