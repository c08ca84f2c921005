/*
 * op_project.c - the projection family, one output plane each: maximum_z_projection and
 * minimum_z_projection (NaN is ignored unless a whole column is NaN, as fmax / fmin do; dtype of
 * the input), sum_z_projection and mean_z_projection (NumPy's float64 sum / mean along axis 0 of
 * the float32 input, same operations in the same order, sequential in z, rounded to float32),
 * standard_deviation_z_projection (std(ddof=0) in double, one pass, rounded to float32 once;
 * these three need cl_khr_fp64) and argmax_z_projection (NumPy
 * argmax along axis 0: the first maximum, the first NaN if any; float32 out, an exact integer
 * for any z extent below 2^24, and no extra dtype rule where uint16 would cap z at 65535). The
 * plan keeps whole z columns in one task for a projection (footprint LAPSE_FP_PROJECTION).
 * Kernels: pointwise.cl (maximum) and project.cl (the others).
 */
#include "ops/family.h"

static void zproj_dims(const lapse_step_t *s, const int64_t in[3], int64_t out[3])
{
    (void)s;
    out[0] = 1;
    out[1] = in[1];
    out[2] = in[2];
}

/* Launch projection kernel name of file: one work-item per (x, y) column of in[0] into out. */
static lapse_status_t zproj_launch(lapse_dev_t *d, const char *file, const char *name,
                                   const lapse_dvol_t *in, const lapse_dvol_t *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_int nx = (cl_int)in[0].dim[2], ny = (cl_int)in[0].dim[1], nz = (cl_int)in[0].dim[0];
    LAPSE_TRY(lapse_dev_kernel(d, file, name, &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, out->mem);
    LAPSE_ARG(k, 2, nx);
    LAPSE_ARG(k, 3, ny);
    LAPSE_ARG(k, 4, nz);
    LAPSE_TRY(lapse_dev_launch_3d(d, k, (size_t)nx, (size_t)ny, 1));
cleanup:
    return st;
}

/* The double-precision projections need cl_khr_fp64: LAPSE_OK, or an error naming the step's
 * operation and the device. */
static lapse_status_t need_fp64(lapse_dev_t *d, const lapse_step_t *s)
{
    static const char *const need[] = {"cl_khr_fp64"};
    return lapse_dev_require(d, s->op->name, "double precision", need, 1);
}

/* fn_launch: kernel `kernel` of `file`; fp64: needs cl_khr_fp64 first. */
#define ZPROJ_LAUNCH(fn, file, kernel, fp64)                                                       \
    static lapse_status_t fn##_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,          \
                                      const lapse_dvol_t *in, const lapse_dvol_t *out,             \
                                      const cl_mem *scratch, int *res)                             \
    {                                                                                              \
        (void)state;                                                                               \
        (void)scratch;                                                                             \
        *res = 0;                                                                                  \
        lapse_status_t st = fp64 ? need_fp64(d, s) : LAPSE_OK;                                     \
        return st != LAPSE_OK ? st : zproj_launch(d, file, kernel, in, out);                       \
    }
ZPROJ_LAUNCH(zmax, "pointwise.cl", "lapse_zmax", 0)
ZPROJ_LAUNCH(zmin, "project.cl", "lapse_zmin", 0)
ZPROJ_LAUNCH(zsum, "project.cl", "lapse_zsum", 1)
ZPROJ_LAUNCH(zmean, "project.cl", "lapse_zmean", 1)
ZPROJ_LAUNCH(zstd, "project.cl", "lapse_zstd", 1)
ZPROJ_LAUNCH(zargmax, "project.cl", "lapse_zargmax", 0)

static void zmax_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    size_t plane = (size_t)(in[0].dim[1] * in[0].dim[2]);
    (void)s;
    for (size_t i = 0; i < plane; i++) {
        double m = in[0].v[i];
        for (int64_t z = 1; z < in[0].dim[0]; z++)
            m = in[0].v[(size_t)z * plane + i] > m ? in[0].v[(size_t)z * plane + i] : m;
        out->v[i] = m;
    }
}

/* References in double: v(z) is voxel i of plane z. */
#define ZV(z) in[0].v[(size_t)(z)*plane + i]

static void zmin_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    size_t plane = (size_t)(in[0].dim[1] * in[0].dim[2]);
    (void)s;
    for (size_t i = 0; i < plane; i++) {
        double m = ZV(0);
        for (int64_t z = 1; z < in[0].dim[0]; z++)
            m = fmin(m, ZV(z));
        out->v[i] = m;
    }
}

/* Sum, mean or (kind 2) population standard deviation over z, in double. */
static void zmoments(const lapse_refvol_t *in, lapse_refvol_t *out, int kind)
{
    size_t plane = (size_t)(in[0].dim[1] * in[0].dim[2]);
    double nz = (double)in[0].dim[0];
    for (size_t i = 0; i < plane; i++) {
        double sum = 0.0, ss = 0.0;
        for (int64_t z = 0; z < in[0].dim[0]; z++)
            sum += ZV(z);
        for (int64_t z = 0; z < in[0].dim[0]; z++)
            ss += (ZV(z) - sum / nz) * (ZV(z) - sum / nz);
        out->v[i] = kind == 0 ? sum : kind == 1 ? sum / nz : sqrt(ss / nz);
    }
}

static void zsum_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    (void)s;
    zmoments(in, out, 0);
}

static void zmean_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    (void)s;
    zmoments(in, out, 1);
}

static void zstd_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    (void)s;
    zmoments(in, out, 2);
}

static void zargmax_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    size_t plane = (size_t)(in[0].dim[1] * in[0].dim[2]);
    (void)s;
    for (size_t i = 0; i < plane; i++) {
        int64_t k = 0;
        for (int64_t z = 1; z < in[0].dim[0] && !isnan(ZV(k)); z++)
            if (ZV(z) > ZV(k) || isnan(ZV(z)))
                k = z;
        out->v[i] = (double)k;
    }
}
#undef ZV

#define ZPROJ_COMMON                                                                               \
    .family = "project", .ninputs = 1, .nparams = 0, .footprint = LAPSE_FP_PROJECTION,             \
    .out_dims = zproj_dims, .reach_doc = "whole z column (one plane out)"

const lapse_op_t lapse_op_maximum_z_projection = {
    .name = "maximum_z_projection",
    .help = "maximum over z (one output plane)",
    .family = "project",
    .convention = "NumPy nanmax(axis=0): NaN is ignored unless the whole column is NaN (NumPy's "
                  "max would return NaN); clesperanto maximum_z_projection",
    .version = 1,
    .ninputs = 1,
    .nparams = 0,
    .out_rule = LAPSE_OUT_SAME,
    .footprint = LAPSE_FP_PROJECTION,
    .kernels = "pointwise.cl",
    .out_dims = zproj_dims,
    .reach_doc = "whole z column (one plane out)",
    .launch = zmax_launch,
    .reference = zmax_ref,
};

const lapse_op_t lapse_op_minimum_z_projection = {
    .name = "minimum_z_projection",
    .help = "minimum over z (one output plane)",
    .convention = "NumPy nanmin(axis=0) (fmin: NaN ignored unless the whole column is NaN, as "
                  "maximum_z_projection); clesperanto minimum_z_projection",
    ZPROJ_COMMON,
    .version = 1,
    .out_rule = LAPSE_OUT_SAME,
    .kernels = "project.cl",
    .launch = zmin_launch,
    .reference = zmin_ref,
};

const lapse_op_t lapse_op_sum_z_projection = {
    .name = "sum_z_projection",
    .help = "sum over z (one output plane, float32)",
    .convention = "NumPy sum(axis=0) of the values as float64, rounded to float32, bit for bit: "
                  "double accumulation from +0 in z order 0..nz-1 (a column of -0 sums to +0; "
                  "NumPy's own float32 sum accumulates in float32 and is less exact; on planes "
                  "of one voxel NumPy sums pairwise instead); needs cl_khr_fp64; clesperanto "
                  "sum_z_projection",
    ZPROJ_COMMON,
    .version = 3,
    .out_rule = LAPSE_OUT_F32,
    .kernels = "project.cl",
    .extensions = "cl_khr_fp64",
    .launch = zsum_launch,
    .reference = zsum_ref,
};

const lapse_op_t lapse_op_mean_z_projection = {
    .name = "mean_z_projection",
    .help = "mean over z (one output plane, float32)",
    .convention = "NumPy mean(axis=0) of the values as float64 (as NumPy's mean of a uint8 or "
                  "uint16 image), rounded to float32, bit for bit (as sum_z_projection): the "
                  "double sum divided by nz; needs cl_khr_fp64; clesperanto mean_z_projection",
    ZPROJ_COMMON,
    .version = 3,
    .out_rule = LAPSE_OUT_F32,
    .kernels = "project.cl",
    .extensions = "cl_khr_fp64",
    .launch = zmean_launch,
    .reference = zmean_ref,
};

const lapse_op_t lapse_op_standard_deviation_z_projection = {
    .name = "standard_deviation_z_projection",
    .help = "population standard deviation over z (one output plane, float32)",
    .convention = "NumPy std(axis=0, ddof=0) of the values as float64, rounded to float32 (within "
                  "one float32 unit of it; NumPy's own float32 std sums in float32 and is less "
                  "exact); double precision, one pass shifted by the column's first value; "
                  "needs cl_khr_fp64; clesperanto standard_deviation_z_projection",
    ZPROJ_COMMON,
    .version = 2,
    .out_rule = LAPSE_OUT_F32,
    .kernels = "project.cl",
    .extensions = "cl_khr_fp64",
    .launch = zstd_launch,
    .reference = zstd_ref,
};

const lapse_op_t lapse_op_argmax_z_projection = {
    .name = "argmax_z_projection",
    .help = "z index of the maximum (one output plane, float32 index)",
    .convention = "NumPy argmax(axis=0): the first maximum; the first NaN if the column has one; "
                  "float32 index (exact below 2^24 planes); clesperanto z_position_of_maximum_"
                  "z_projection",
    ZPROJ_COMMON,
    .version = 1,
    .out_rule = LAPSE_OUT_F32,
    .kernels = "project.cl",
    .launch = zargmax_launch,
    .reference = zargmax_ref,
};
