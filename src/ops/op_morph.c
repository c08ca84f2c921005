/*
 * op_morph.c - binary morphology on 0 / non-zero images with a (2r+1)^3 box: erode_box,
 * dilate_box, opening_box, closing_box. Non-zero (NaN included) is foreground; results are 0/1
 * uint8 masks. The image is binarized (x != 0) and then run through the separable minimum /
 * maximum machinery of sep.c, which clamps to the edge: at the image edge this is SciPy's
 * binary_erosion(border_value=1) and binary_dilation(border_value=0), i.e. grey_erosion /
 * grey_dilation with mode='nearest' of the 0/1 image. Opening = dilate(erode(x)), closing =
 * erode(dilate(x)), each step with that edge rule (SciPy's binary_opening / binary_closing use
 * one border_value for both steps and so differ at the edge; grey_opening / grey_closing with
 * mode='nearest' of the 0/1 image are equal).
 */
#include "ops/family.h"
#include "ops/minmax.h"
#include "ops/sep.h"

static void morph_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = (int64_t)s->p[0].v[a];
}

static void morph2_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = 2 * (int64_t)s->p[0].v[a];
}

/* out = (in[0] != 0), then the separable passes kinds[0..nk-1] (each a minimum or maximum over
 * the box); the data moves between out->mem and scratch[0] (src == dst calls of sep.c). The
 * tiled variant runs it all as one kernel where it can (minmax.h), into out or, in place, into
 * scratch[0]. */
static lapse_status_t morph_launch(lapse_dev_t *d, const lapse_step_t *s,
                                   const lapse_sep_kind_t *kinds, int nk, const lapse_dvol_t *in,
                                   const lapse_dvol_t *out, const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    int r[3], ran = 0;
    cl_mem cur = out->mem, other = scratch[0];
    lapse_step_radii(s, r);
    /* the tiled variant: binarization, one or both filters in one kernel, out of place */
    const lapse_mm_t f = {kinds[0], nk == 2, 1, 0};
    if (nk == 2) {
        LAPSE_TRY(lapse_mm_pair(d, &f, r, in[0].mem, out->mem, scratch[0], in[0].dim, &ran, res));
    } else {
        cl_mem dst = in[0].mem == out->mem ? scratch[0] : out->mem;
        LAPSE_TRY(lapse_mm_run(d, &f, r, in[0].mem, dst, in[0].dim, &ran));
        *res = dst == out->mem ? 0 : 1;
    }
    if (ran)
        goto cleanup;
    /* x || x: 1 where x is non-zero (NaN too), else 0; in place when out aliases in[0]. */
    LAPSE_TRY(lapse_img_launch(d, "lapse_img_or", in, 1, out, 0.0, 0.0));
    for (int k = 0; k < nk; k++) {
        int where = 0;
        LAPSE_TRY(lapse_sep_filter(d, kinds[k], r, NULL, cur, cur, other, in[0].dim, &where));
        if (where) {
            cl_mem t = cur;
            cur = other;
            other = t;
        }
    }
    *res = cur == out->mem ? 0 : 1;
cleanup:
    return st;
}

static void morph_ref(const lapse_step_t *s, const lapse_ref_kind_t *kinds, int nk,
                      const lapse_refvol_t *in, lapse_refvol_t *out)
{
    size_t n = lapse_ref_voxels(in[0].dim);
    double *a = malloc((n ? n : 1) * sizeof *a), *b = malloc((n ? n : 1) * sizeof *b);
    if (a == NULL || b == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        a[i] = in[0].v[i] != 0.0 ? 1.0 : 0.0; /* NaN != 0 */
    for (int k = 0; k < nk; k++) {
        lapse_ref_separable(kinds[k], a, b, in[0].dim, s->p[0].v);
        double *t = a;
        a = b;
        b = t;
    }
    memcpy(out->v, a, n * sizeof *a);
    free(a);
    free(b);
}

#define MORPH_OP(fn, n, ...)                                                                       \
    static lapse_status_t fn##_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,          \
                                      const lapse_dvol_t *in, const lapse_dvol_t *out,             \
                                      const cl_mem *scratch, int *res)                             \
    {                                                                                              \
        static const lapse_sep_kind_t kinds[n] = {__VA_ARGS__};                                    \
        (void)state;                                                                               \
        return morph_launch(d, s, kinds, n, in, out, scratch, res);                                \
    }
#define MORPH_REF(fn, n, ...)                                                                      \
    static void fn##_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)     \
    {                                                                                              \
        static const lapse_ref_kind_t kinds[n] = {__VA_ARGS__};                                    \
        morph_ref(s, kinds, n, in, out);                                                           \
    }
MORPH_OP(erode, 1, LAPSE_SEP_MIN)
MORPH_OP(dilate, 1, LAPSE_SEP_MAX)
MORPH_OP(opening, 2, LAPSE_SEP_MIN, LAPSE_SEP_MAX)
MORPH_OP(closing, 2, LAPSE_SEP_MAX, LAPSE_SEP_MIN)
MORPH_REF(erode, 1, LAPSE_REF_MIN)
MORPH_REF(dilate, 1, LAPSE_REF_MAX)
MORPH_REF(opening, 2, LAPSE_REF_MIN, LAPSE_REF_MAX)
MORPH_REF(closing, 2, LAPSE_REF_MAX, LAPSE_REF_MIN)

#define RADIUS LAPSE_P_VEC3I("radius", 0.0, 1000.0, "box radius in voxels, z y x")
#define MORPH_COMMON                                                                               \
    .family = "morph", .version = 1, .ninputs = 1, .nparams = 1, .params = {RADIUS},               \
    .footprint = LAPSE_FP_LOCAL, .inplace = 1, .nscratch = 1, .out_rule = LAPSE_OUT_U8,            \
    .kernels = "images.cl filters.cl filters_tiled.cl filters_vhgw.cl minmax_fused.cl"

const lapse_op_t lapse_op_erode_box = {
    .name = "erode_box",
    .help = "binary erosion of x != 0 by a (2r+1)^3 box (uint8 0/1)",
    .convention = "SciPy binary_erosion(x != 0, box, border_value=1) = grey_erosion of the 0/1 "
                  "image with mode='nearest' (clamp to edge)",
    MORPH_COMMON,
    .reach = morph_reach,
    .reach_doc = "radius",
    .launch = erode_launch,
    .reference = erode_ref,
};

const lapse_op_t lapse_op_dilate_box = {
    .name = "dilate_box",
    .help = "binary dilation of x != 0 by a (2r+1)^3 box (uint8 0/1)",
    .convention = "SciPy binary_dilation(x != 0, box, border_value=0) = grey_dilation of the 0/1 "
                  "image with mode='nearest' (clamp to edge)",
    MORPH_COMMON,
    .reach = morph_reach,
    .reach_doc = "radius",
    .launch = dilate_launch,
    .reference = dilate_ref,
};

const lapse_op_t lapse_op_opening_box = {
    .name = "opening_box",
    .help = "binary opening of x != 0 by a (2r+1)^3 box: dilate_box(erode_box(x)) (uint8 0/1)",
    .convention = "SciPy binary_dilation(binary_erosion(x != 0, box, border_value=1), box, "
                  "border_value=0) = grey_opening of the 0/1 image with mode='nearest' (not "
                  "binary_opening, whose single border_value differs at the edge)",
    MORPH_COMMON,
    .reach = morph2_reach,
    .reach_doc = "2 radius",
    .launch = opening_launch,
    .reference = opening_ref,
};

const lapse_op_t lapse_op_closing_box = {
    .name = "closing_box",
    .help = "binary closing of x != 0 by a (2r+1)^3 box: erode_box(dilate_box(x)) (uint8 0/1)",
    .convention = "SciPy binary_erosion(binary_dilation(x != 0, box, border_value=0), box, "
                  "border_value=1) = grey_closing of the 0/1 image with mode='nearest' (not "
                  "binary_closing, whose single border_value differs at the edge)",
    MORPH_COMMON,
    .reach = morph2_reach,
    .reach_doc = "2 radius",
    .launch = closing_launch,
    .reference = closing_ref,
};
