/*
 * ref.c - shared pieces of the double-precision CPU references (see ref.h).
 */
#include "ops/ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t clampi(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* One 1D pass along axis a (0 = z, 1 = y, 2 = x) with radius r; w: 2r+1 weights (Gaussian). */
static void pass(lapse_ref_kind_t kind, const double *in, double *out, const int64_t dim[3], int a,
                 int r, const double *w)
{
    const int64_t stride[3] = {dim[1] * dim[2], dim[2], 1};
    for (int64_t z = 0; z < dim[0]; z++)
        for (int64_t y = 0; y < dim[1]; y++)
            for (int64_t x = 0; x < dim[2]; x++) {
                const int64_t p[3] = {z, y, x};
                const int64_t idx = z * stride[0] + y * stride[1] + x;
                const int64_t base = idx - p[a] * stride[a];
                double acc = kind == LAPSE_REF_MIN   ? INFINITY
                             : kind == LAPSE_REF_MAX ? -INFINITY
                                                     : 0.0;
                for (int i = -r; i <= r; i++) {
                    double v = in[base + clampi(p[a] + i, 0, dim[a] - 1) * stride[a]];
                    if (kind == LAPSE_REF_GAUSS)
                        acc += w[i + r] * v;
                    else if (kind == LAPSE_REF_MEAN)
                        acc += v;
                    else if (kind == LAPSE_REF_MIN)
                        acc = v < acc ? v : acc;
                    else
                        acc = v > acc ? v : acc;
                }
                out[idx] = kind == LAPSE_REF_MEAN ? acc / (2.0 * r + 1.0) : acc;
            }
}

void lapse_ref_separable(lapse_ref_kind_t kind, const double *in, double *out, const int64_t dim[3],
                         const double par[3])
{
    size_t n = lapse_ref_voxels(dim);
    if (n == 0)
        return; /* an empty volume: nothing to filter */
    double *tmp = malloc(n * sizeof *tmp);
    if (tmp == NULL)
        abort(); /* references run in tests only */
    memcpy(out, in, n * sizeof *out);
    for (int a = 0; a < 3; a++) {
        int r;
        double *w = NULL;
        if (kind == LAPSE_REF_GAUSS) {
            double s = par[a];
            r = s > 0.0 ? (int)(4.0 * s + 0.5) : 0;
            w = malloc((2 * (size_t)r + 1) * sizeof *w);
            if (w == NULL)
                abort();
            double sum = 0.0;
            for (int i = -r; i <= r; i++)
                sum += w[i + r] = r ? exp(-0.5 * i * i / (s * s)) : 1.0;
            for (int i = -r; i <= r; i++)
                w[i + r] /= sum;
        } else {
            r = (int)par[a];
        }
        if (r > 0) {
            memcpy(tmp, out, n * sizeof *tmp);
            pass(kind, tmp, out, dim, a, r, w);
        }
        free(w);
    }
    free(tmp);
}
