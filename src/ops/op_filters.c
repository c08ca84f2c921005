/*
 * op_filters.c - filters composed of the separable passes of sep.c and one subtraction:
 * difference_of_gaussian (gaussian(sigma1) - gaussian(sigma2)), subtract_gaussian_background
 * (x - gaussian(sigma)) and the black top-hat bottom_hat_box (minimum_box(maximum_box(x)) - x).
 * The Gaussians are gaussian_blur's (SciPy's gaussian_filter, truncate 4, weights made once per
 * pipeline); the subtraction is pointwise.cl's lapse_sub, written over the last filter's result
 * so that no extra buffer is needed. References in double from the shared separable passes.
 */
#include "ops/family.h"
#include "ops/minmax.h"
#include "ops/sep.h"

/* dst = a - b over n voxels (dst may be a or b). */
static lapse_status_t sub_run(lapse_dev_t *d, cl_mem a, cl_mem b, cl_mem dst, const int64_t dim[3])
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_ulong n = (cl_ulong)(dim[0] * dim[1] * dim[2]);
    LAPSE_TRY(
        lapse_dev_kernel(d, "pointwise.cl", d->simple ? "lapse_sub" : "lapse_sub4", &k, NULL));
    LAPSE_ARG(k, 0, a);
    LAPSE_ARG(k, 1, b);
    LAPSE_ARG(k, 2, dst);
    LAPSE_ARG(k, 3, n);
    LAPSE_TRY(lapse_dev_launch_voxels(d, k, (size_t)n, !d->simple));
cleanup:
    return st;
}

/* ---------------------------------------------------------------- difference_of_gaussian */

typedef struct {
    lapse_sep_weights_t *w[2];
} dog_state_t;

static void dog_release(void *p)
{
    dog_state_t *s = p;
    if (s == NULL)
        return;
    lapse_sep_weights_release(s->w[0]);
    lapse_sep_weights_release(s->w[1]);
    free(s);
}

static lapse_status_t dog_prepare(lapse_dev_t *d, const lapse_step_t *s, void **state)
{
    lapse_status_t st = LAPSE_OK;
    dog_state_t *g = calloc(1, sizeof *g);
    LAPSE_ALLOC(g);
    LAPSE_TRY(lapse_sep_weights_create(d, s->p[0].v, &g->w[0]));
    LAPSE_TRY(lapse_sep_weights_create(d, s->p[1].v, &g->w[1]));
    *state = g;
    g = NULL;
cleanup:
    dog_release(g);
    return st;
}

/* g1 = gaussian(sigma1) into out or scratch[0]; g2 = gaussian(sigma2) into the two buffers left;
 * then g2's buffer = g1 - g2. The input is only read. */
static lapse_status_t dog_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                 const lapse_dvol_t *in, const lapse_dvol_t *out,
                                 const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    static const int none[3] = {0, 0, 0};
    const dog_state_t *g = state;
    int w1 = 0, w2 = 0;
    (void)s;
    LAPSE_TRY(lapse_sep_filter(d, LAPSE_SEP_GAUSS, none, g->w[0], in[0].mem, out->mem, scratch[0],
                               in[0].dim, &w1));
    cl_mem a = w1 ? scratch[0] : out->mem;
    cl_mem b = w1 ? out->mem : scratch[0], c = scratch[1];
    LAPSE_TRY(lapse_sep_filter(d, LAPSE_SEP_GAUSS, none, g->w[1], in[0].mem, b, c, in[0].dim, &w2));
    cl_mem r = w2 ? c : b;
    LAPSE_TRY(sub_run(d, a, r, r, in[0].dim));
    *res = r == out->mem ? 0 : r == scratch[0] ? 1 : 2;
cleanup:
    return st;
}

static void dog_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    size_t n = lapse_ref_voxels(in[0].dim);
    double *g2 = malloc((n ? n : 1) * sizeof *g2);
    if (g2 == NULL)
        abort(); /* references run in tests only */
    lapse_ref_separable(LAPSE_REF_GAUSS, in[0].v, out->v, in[0].dim, s->p[0].v);
    lapse_ref_separable(LAPSE_REF_GAUSS, in[0].v, g2, in[0].dim, s->p[1].v);
    for (size_t i = 0; i < n; i++)
        out->v[i] -= g2[i];
    free(g2);
}

static void dog_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++) {
        int64_t r1 = lapse_gauss_radius(s->p[0].v[a]), r2 = lapse_gauss_radius(s->p[1].v[a]);
        reach[a] = r1 > r2 ? r1 : r2;
    }
}

/* ---------------------------------------------------------------- subtract_gaussian_background */

static lapse_status_t bg_prepare(lapse_dev_t *d, const lapse_step_t *s, void **state)
{
    return lapse_sep_weights_create(d, s->p[0].v, (lapse_sep_weights_t **)state);
}

static lapse_status_t bg_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                const lapse_dvol_t *in, const lapse_dvol_t *out,
                                const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    static const int none[3] = {0, 0, 0};
    int w = 0;
    (void)s;
    LAPSE_TRY(lapse_sep_filter(d, LAPSE_SEP_GAUSS, none, state, in[0].mem, out->mem, scratch[0],
                               in[0].dim, &w));
    cl_mem g = w ? scratch[0] : out->mem;
    LAPSE_TRY(sub_run(d, in[0].mem, g, g, in[0].dim));
    *res = w;
cleanup:
    return st;
}

static void bg_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    size_t n = lapse_ref_voxels(in[0].dim);
    lapse_ref_separable(LAPSE_REF_GAUSS, in[0].v, out->v, in[0].dim, s->p[0].v);
    for (size_t i = 0; i < n; i++)
        out->v[i] = in[0].v[i] - out->v[i];
}

static void gauss_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = lapse_gauss_radius(s->p[0].v[a]);
}

/* ---------------------------------------------------------------- bottom_hat_box */

/* closing = minimum_box(maximum_box(x)): the maximum into out or scratch[0], the minimum in
 * place there (the other buffer as scratch); then closing - x over it. */
static lapse_status_t bottom_hat_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                        const lapse_dvol_t *in, const lapse_dvol_t *out,
                                        const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_mm_t f = {LAPSE_SEP_MAX, 1, 0, 2}; /* minimum(maximum(src)) - src */
    int r[3], w1 = 0, w2 = 0, ran = 0;
    (void)state;
    lapse_step_radii(s, r);
    *res = 0;
    LAPSE_TRY(lapse_mm_pair(d, &f, r, in[0].mem, out->mem, scratch[0], in[0].dim, &ran, res));
    if (ran)
        goto cleanup;
    LAPSE_TRY(lapse_sep_filter(d, LAPSE_SEP_MAX, r, NULL, in[0].mem, out->mem, scratch[0],
                               in[0].dim, &w1));
    cl_mem a = w1 ? scratch[0] : out->mem, other = w1 ? out->mem : scratch[0];
    LAPSE_TRY(lapse_sep_filter(d, LAPSE_SEP_MIN, r, NULL, a, a, other, in[0].dim, &w2));
    cl_mem c = w2 ? other : a;
    LAPSE_TRY(sub_run(d, c, in[0].mem, c, in[0].dim));
    *res = c == out->mem ? 0 : 1;
cleanup:
    return st;
}

static void bottom_hat_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    size_t n = lapse_ref_voxels(in[0].dim);
    double *dil = malloc((n ? n : 1) * sizeof *dil);
    if (dil == NULL)
        abort();
    lapse_ref_separable(LAPSE_REF_MAX, in[0].v, dil, in[0].dim, s->p[0].v);
    lapse_ref_separable(LAPSE_REF_MIN, dil, out->v, in[0].dim, s->p[0].v);
    for (size_t i = 0; i < n; i++)
        out->v[i] -= in[0].v[i];
    free(dil);
}

static void box2_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = 2 * (int64_t)s->p[0].v[a];
}

/* ---------------------------------------------------------------- descriptors */

const lapse_op_t lapse_op_difference_of_gaussian = {
    .name = "difference_of_gaussian",
    .help = "gaussian_blur(sigma1) - gaussian_blur(sigma2) (float32)",
    .family = "filters",
    .convention = "SciPy gaussian_filter(x, sigma1) - gaussian_filter(x, sigma2) (mode='nearest', "
                  "truncate=4.0), each Gaussian as gaussian_blur; clesperanto "
                  "difference_of_gaussian (which truncates its Gaussians at floor(4 sigma))",
    .version = 1,
    .ninputs = 1,
    .nparams = 2,
    .params = {LAPSE_P_VEC3F("sigma1", 0.0, 100.0,
                             "standard deviation of the first (subtracted from) Gaussian, z y x"),
               LAPSE_P_VEC3F("sigma2", 0.0, 100.0,
                             "standard deviation of the second (subtracted) Gaussian, z y x")},
    .out_rule = LAPSE_OUT_F32,
    .footprint = LAPSE_FP_LOCAL,
    .inplace = 0,
    .nscratch = 2,
    .kernels = "filters.cl filters_tiled.cl pointwise.cl",
    .reach = dog_reach,
    .reach_doc = "the larger Gaussian's int(4 sigma + 0.5) per axis",
    .prepare = dog_prepare,
    .release = dog_release,
    .launch = dog_launch,
    .reference = dog_ref,
};

const lapse_op_t lapse_op_subtract_gaussian_background = {
    .name = "subtract_gaussian_background",
    .help = "x - gaussian_blur(sigma) (float32)",
    .family = "filters",
    .convention = "x - SciPy gaussian_filter(x, sigma, mode='nearest', truncate=4.0); clesperanto "
                  "subtract_gaussian_background (which truncates at floor(4 sigma))",
    .version = 1,
    .ninputs = 1,
    .nparams = 1,
    .params = {LAPSE_P_VEC3F("sigma", 0.0, 100.0,
                             "standard deviation of the background's Gaussian, z y x")},
    .out_rule = LAPSE_OUT_F32,
    .footprint = LAPSE_FP_LOCAL,
    .inplace = 0,
    .nscratch = 1,
    .kernels = "filters.cl filters_tiled.cl pointwise.cl",
    .reach = gauss_reach,
    .reach_doc = "int(4 sigma + 0.5) per axis",
    .prepare = bg_prepare,
    .release = lapse_sep_weights_release,
    .launch = bg_launch,
    .reference = bg_ref,
};

const lapse_op_t lapse_op_bottom_hat_box = {
    .name = "bottom_hat_box",
    .help = "black top-hat: minimum_box(maximum_box(x)) - x",
    .family = "filters",
    .convention = "SciPy black_tophat with a box (grey closing minus x), mode='nearest'; "
                  "clesperanto bottom_hat_box",
    .version = 1,
    .ninputs = 1,
    .nparams = 1,
    .params = {LAPSE_P_VEC3I("radius", 0.0, 1000.0, "box radius in voxels, z y x")},
    .out_rule = LAPSE_OUT_SAME,
    .footprint = LAPSE_FP_LOCAL,
    .inplace = 0,
    .nscratch = 1,
    .kernels = "filters.cl filters_tiled.cl filters_vhgw.cl pointwise.cl minmax_fused.cl",
    .reach = box2_reach,
    .reach_doc = "2 radius",
    .launch = bottom_hat_launch,
    .reference = bottom_hat_ref,
};
