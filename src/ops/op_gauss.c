/*
 * op_gauss.c - the Gaussian family: gaussian_blur (SciPy's gaussian_filter with mode='nearest'
 * and truncate=4.0: per-axis radius int(4 sigma + 0.5), weights normalised in double and used
 * as float32). Device: separable passes of sep.c with the weights made once per pipeline.
 */
#include "ops/family.h"
#include "ops/sep.h"

static void gauss_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = lapse_gauss_radius(s->p[0].v[a]);
}

static lapse_status_t gauss_prepare(lapse_dev_t *d, const lapse_step_t *s, void **state)
{
    return lapse_sep_weights_create(d, s->p[0].v, (lapse_sep_weights_t **)state);
}

static lapse_status_t gauss_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                   const lapse_dvol_t *in, const lapse_dvol_t *out,
                                   const cl_mem *scratch, int *res)
{
    static const int none[3] = {0, 0, 0};
    (void)s;
    return lapse_sep_filter(d, LAPSE_SEP_GAUSS, none, state, in[0].mem, out->mem, scratch[0],
                            in[0].dim, res);
}

static void gauss_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    lapse_ref_separable(LAPSE_REF_GAUSS, in[0].v, out->v, in[0].dim, s->p[0].v);
}

const lapse_op_t lapse_op_gaussian_blur = {
    .name = "gaussian_blur",
    .help = "Gaussian smoothing (SciPy gaussian_filter, truncate 4)",
    .family = "gauss",
    .convention = "SciPy gaussian_filter(mode='nearest', truncate=4.0); clesperanto truncates at "
                  "floor(4 sigma)",
    .version = 1,
    .ninputs = 1,
    .nparams = 1,
    .params = {LAPSE_P_VEC3F("sigma", 0.0, 100.0, "standard deviation in voxels, z y x")},
    .out_rule = LAPSE_OUT_F32,
    .footprint = LAPSE_FP_LOCAL,
    .inplace = 1,
    .nscratch = 1,
    .kernels = "filters.cl filters_tiled.cl",
    .reach = gauss_reach,
    .reach_doc = "int(4 sigma + 0.5) per axis",
    .prepare = gauss_prepare,
    .release = lapse_sep_weights_release,
    .launch = gauss_launch,
    .reference = gauss_ref,
};
