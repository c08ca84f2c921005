/*
 * ref.h - helpers of the double-precision CPU references of the operations (each family file
 * holds its operations' references; these are the shared pieces): separable 1-D passes with
 * clamp-to-edge indexing, and voxel-wise maps. Written independently of the device code:
 * Gaussian weights are computed here with SciPy's recipe, not taken from lapse_gauss_weights.
 */
#ifndef LAPSE_REF_H
#define LAPSE_REF_H

#include "ops/op.h"

typedef enum { LAPSE_REF_GAUSS, LAPSE_REF_MEAN, LAPSE_REF_MIN, LAPSE_REF_MAX } lapse_ref_kind_t;

/* out = separable filter of in (dims dim): passes along z, y, x; par[a] is sigma (Gaussian,
 * truncate 4) or the radius of axis a. in and out may not overlap. */
void lapse_ref_separable(lapse_ref_kind_t kind, const double *in, double *out, const int64_t dim[3],
                         const double par[3]);

/* Voxels of a volume's dims. */
static inline size_t lapse_ref_voxels(const int64_t dim[3])
{
    return (size_t)(dim[0] * dim[1] * dim[2]);
}

#endif
