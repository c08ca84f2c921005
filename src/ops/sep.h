/*
 * sep.h - the device machinery shared by the neighbourhood filter families (op_gauss.c,
 * op_box.c): separable Gaussian / mean / minimum / maximum filters as passes x, then y, then z,
 * and the fused 3-D box kernels of filters_tiled.cl for small radii. Every formulation gives the
 * same bits (docs/kernels.md); which one runs depends on the device and the variant (dev.h).
 */
#ifndef LAPSE_SEP_H
#define LAPSE_SEP_H

#include "device/dev.h"

/* Filter kinds, in the order of the LAPSE_F_* kinds of filters_tiled.cl. */
/* LAPSE_SEP_MEAN_D: the mean with each pass of a radius above LAPSE_SEP_MEAN_DOUBLE_R summed in
 * double (filters.cl lapse_sep_mean_d; the device must have cl_khr_fp64): mean_box's. The
 * plain LAPSE_SEP_MEAN sums in float32 throughout, as clesperanto (detect_maxima_box). */
typedef enum {
    LAPSE_SEP_GAUSS,
    LAPSE_SEP_MEAN,
    LAPSE_SEP_MIN,
    LAPSE_SEP_MAX,
    LAPSE_SEP_MEAN_D
} lapse_sep_kind_t;

/* Radius above which a LAPSE_SEP_MEAN_D pass sums in double: a float32 sum of 2r+1 values of
 * uint16 nuclei drifted 2.8e-6 relative at r 50 and 1.3e-5 at r 200 (2026-12-03). */
#define LAPSE_SEP_MEAN_DOUBLE_R 64

/* Gaussian weights of one step on the device: radius and offset per axis (z, y, x) into buf. */
typedef struct {
    cl_mem buf;
    int r[3], off[3];
} lapse_sep_weights_t;

/* Make the weights of sigma[z, y, x] (SciPy's recipe, lapse_gauss_weights) on the device. */
lapse_status_t lapse_sep_weights_create(lapse_dev_t *d, const double sigma[3],
                                        lapse_sep_weights_t **out);
/* Release; NULL accepted. */
void lapse_sep_weights_release(void *w);

/* filter(src) with radii r[z, y, x] (Gaussian: w's radii and weights, r ignored) into dst or
 * scratch (as large as src): *res = 0 when the result is in dst, 1 when in scratch. src is
 * written only when it is dst (in place). All radii 0: a copy (nothing when src == dst). dim:
 * the volume's dims. */
lapse_status_t lapse_sep_filter(lapse_dev_t *d, lapse_sep_kind_t kind, const int r[3],
                                const lapse_sep_weights_t *w, cl_mem src, cl_mem dst,
                                cl_mem scratch, const int64_t dim[3], int *res);

/* White top-hat dst = src - maximum_box(minimum_box(src)) with radii r; src (!= dst) never
 * written, scratch as above. The tiled variant fuses the subtraction into the maximum. */
lapse_status_t lapse_sep_top_hat(lapse_dev_t *d, const int r[3], cl_mem src, cl_mem dst,
                                 cl_mem scratch, const int64_t dim[3]);

#endif
