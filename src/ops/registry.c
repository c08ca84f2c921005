/*
 * registry.c - the one list of operations, and the rules every step follows through its
 * descriptor (op.h). Adding an operation: its descriptor, launcher and reference in its family
 * file (src/ops/op_<family>.c), its kernels in kernels/, and one line in LAPSE_OPS below
 * (docs/architecture.md has the whole recipe). The order here is the order of `lapse ops`.
 */
#include <string.h>

#include "ops/op.h"

#include <math.h>

#define LAPSE_OPS(X)                                                                               \
    X(gaussian_blur)                                                                               \
    X(mean_box)                                                                                    \
    X(minimum_box)                                                                                 \
    X(maximum_box)                                                                                 \
    X(top_hat_box)                                                                                 \
    X(bottom_hat_box)                                                                              \
    X(difference_of_gaussian)                                                                      \
    X(subtract_gaussian_background)                                                                \
    X(median_box)                                                                                  \
    X(median_sphere)                                                                               \
    X(mean_sphere)                                                                                 \
    X(minimum_sphere)                                                                              \
    X(maximum_sphere)                                                                              \
    X(top_hat_sphere)                                                                              \
    X(variance_box)                                                                                \
    X(standard_deviation_box)                                                                      \
    X(sobel)                                                                                       \
    X(laplace_box)                                                                                 \
    X(laplace_diamond)                                                                             \
    X(gradient_x)                                                                                  \
    X(gradient_y)                                                                                  \
    X(gradient_z)                                                                                  \
    X(add_scalar)                                                                                  \
    X(multiply_scalar)                                                                             \
    X(subtract_scalar)                                                                             \
    X(absolute)                                                                                    \
    X(power)                                                                                       \
    X(sqrt)                                                                                        \
    X(clip)                                                                                        \
    X(threshold_fixed)                                                                             \
    X(threshold_otsu)                                                                              \
    X(threshold_mean)                                                                              \
    X(threshold_percentile)                                                                        \
    X(connected_components_labeling)                                                               \
    X(measure_labels)                                                                              \
    X(masked_voronoi_labeling)                                                                     \
    X(voronoi_otsu_labeling)                                                                       \
    X(exclude_labels_on_edges)                                                                     \
    X(exclude_labels_outside_size_range)                                                           \
    X(relabel_sequential)                                                                          \
    X(detect_maxima_box)                                                                           \
    X(dilate_labels)                                                                               \
    X(greater_constant)                                                                            \
    X(smaller_constant)                                                                            \
    X(equal_constant)                                                                              \
    X(maximum_z_projection)                                                                        \
    X(minimum_z_projection)                                                                        \
    X(sum_z_projection)                                                                            \
    X(mean_z_projection)                                                                           \
    X(standard_deviation_z_projection)                                                             \
    X(argmax_z_projection)                                                                         \
    X(subtract_images)                                                                             \
    X(add_images_weighted)                                                                         \
    X(multiply_images)                                                                             \
    X(divide_images)                                                                               \
    X(maximum_images)                                                                              \
    X(minimum_images)                                                                              \
    X(mask)                                                                                        \
    X(binary_and)                                                                                  \
    X(binary_or)                                                                                   \
    X(binary_xor)                                                                                  \
    X(binary_not)                                                                                  \
    X(erode_box)                                                                                   \
    X(dilate_box)                                                                                  \
    X(opening_box)                                                                                 \
    X(closing_box)                                                                                 \
    X(erode_sphere)                                                                                \
    X(dilate_sphere)                                                                               \
    X(flip)                                                                                        \
    X(crop)                                                                                        \
    X(downsample_bin)                                                                              \
    X(resample)                                                                                    \
    X(rotate)                                                                                      \
    X(affine_transform)                                                                            \
    X(radial_reslice)                                                                              \
    X(custom_kernel)

#define DECLARE(n) extern const lapse_op_t lapse_op_##n;
LAPSE_OPS(DECLARE)
#undef DECLARE

#define ENTRY(n) &lapse_op_##n,
static const lapse_op_t *const registry[] = {LAPSE_OPS(ENTRY)};
#undef ENTRY

int lapse_op_count(void)
{
    return (int)(sizeof registry / sizeof *registry);
}

const lapse_op_t *lapse_op_at(int i)
{
    return i >= 0 && i < lapse_op_count() ? registry[i] : NULL;
}

const lapse_op_t *lapse_op_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (int i = 0; i < lapse_op_count(); i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

void lapse_step_init(lapse_step_t *s, const lapse_op_t *op)
{
    memset(s, 0, sizeof *s);
    s->op = op;
    if (op == NULL)
        return;
    for (int k = 0; k < op->nparams; k++)
        for (int a = 0; a < LAPSE_PARAM_VALUES; a++)
            s->p[k].v[a] = op->params[k].def;
}

void lapse_step_reach(const lapse_step_t *s, int64_t reach[3])
{
    reach[0] = reach[1] = reach[2] = 0;
    if (s != NULL && s->op != NULL && s->op->reach != NULL)
        s->op->reach(s, reach);
}

void lapse_step_in_box(const lapse_step_t *s, const lapse_box_t *out, const int64_t in_dims[3],
                       lapse_box_t *in)
{
    if (s->op->in_box) {
        s->op->in_box(s, out, in_dims, in);
        return;
    }
    int64_t r[3];
    lapse_step_reach(s, r);
    for (int a = 0; a < 3; a++) {
        int64_t lo = out->off[a] - r[a], hi = out->off[a] + out->dim[a] + r[a];
        if (a == 0 && s->op->footprint == LAPSE_FP_PROJECTION) {
            lo = 0;
            hi = in_dims[0];
        }
        lo = lo < 0 ? 0 : lo;
        hi = hi > in_dims[a] ? in_dims[a] : hi;
        in->off[a] = lo;
        in->dim[a] = hi > lo ? hi - lo : 0;
    }
}

void lapse_step_out_dims(const lapse_step_t *s, const int64_t in[3], int64_t out[3])
{
    if (s->op->out_dims) {
        s->op->out_dims(s, in, out);
        return;
    }
    for (int a = 0; a < 3; a++)
        out[a] = in[a];
}

lapse_dtype_t lapse_step_out_dtype(const lapse_step_t *s, lapse_dtype_t in)
{
    switch (s->op->out_rule) {
    case LAPSE_OUT_F32:
        return LAPSE_DT_F32;
    case LAPSE_OUT_U8:
        return LAPSE_DT_U8;
    case LAPSE_OUT_U32:
        return LAPSE_DT_U32;
    case LAPSE_OUT_PARAM:
        return s->op->out_dtype ? s->op->out_dtype(s, in) : in;
    case LAPSE_OUT_SAME:
        break;
    }
    return in;
}

int64_t lapse_gauss_radius(double sigma)
{
    if (!(sigma > 0.0))
        return 0;
    return (int64_t)(4.0 * sigma + 0.5);
}

int lapse_gauss_weights(double sigma, double *w)
{
    int r = (int)lapse_gauss_radius(sigma);
    if (r == 0) {
        w[0] = 1.0;
        return 0;
    }
    /* Same operation order as scipy.ndimage._gaussian_kernel1d: exp(-0.5 / sigma2 * x**2). */
    double c = -0.5 / (sigma * sigma), sum = 0.0;
    for (int i = 0; i <= 2 * r; i++) {
        double x = (double)(i - r);
        w[i] = exp(c * (x * x));
        sum += w[i];
    }
    for (int i = 0; i <= 2 * r; i++)
        w[i] /= sum;
    return r;
}
