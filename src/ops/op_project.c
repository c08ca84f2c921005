/*
 * op_project.c - the projection family: maximum_z_projection (maximum over z, one output
 * plane; NaN is ignored unless a whole column is NaN, as fmax does). The plan keeps whole z
 * columns in one task for a projection (footprint LAPSE_FP_PROJECTION).
 */
#include "ops/family.h"

static void zproj_dims(const lapse_step_t *s, const int64_t in[3], int64_t out[3])
{
    (void)s;
    out[0] = 1;
    out[1] = in[1];
    out[2] = in[2];
}

static lapse_status_t zmax_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                  const lapse_dvol_t *in, const lapse_dvol_t *out,
                                  const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_int nx = (cl_int)in[0].dim[2], ny = (cl_int)in[0].dim[1], nz = (cl_int)in[0].dim[0];
    (void)s;
    (void)state;
    (void)scratch;
    *res = 0;
    LAPSE_TRY(lapse_dev_kernel(d, "pointwise.cl", "lapse_zmax", &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, out->mem);
    LAPSE_ARG(k, 2, nx);
    LAPSE_ARG(k, 3, ny);
    LAPSE_ARG(k, 4, nz);
    LAPSE_TRY(lapse_dev_launch_3d(d, k, (size_t)nx, (size_t)ny, 1));
cleanup:
    return st;
}

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

const lapse_op_t lapse_op_maximum_z_projection = {
    .name = "maximum_z_projection",
    .help = "maximum over z (one output plane)",
    .family = "project",
    .convention = "NumPy max(axis=0); clesperanto maximum_z_projection",
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
