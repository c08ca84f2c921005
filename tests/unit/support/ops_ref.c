/*
 * ops_ref.c - double-precision CPU references of the pipeline operations (see ops_ref.h).
 * Neighbourhood filters are computed as 1D passes along x, y, z with clamp-to-edge indexing;
 * Gaussian weights follow SciPy's recipe (truncate 4.0) computed here, not taken from ops.c.
 */
#include "ops_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { PASS_GAUSS, PASS_MEAN, PASS_MIN, PASS_MAX } pass_t;

static int64_t clampi(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* One 1D pass along axis a (0 = z, 1 = y, 2 = x) with radius r; w: 2r+1 weights for PASS_GAUSS. */
static void pass(pass_t kind, const double *in, double *out, const int64_t dim[3], int a, int r,
                 const double *w)
{
    const int64_t stride[3] = {dim[1] * dim[2], dim[2], 1};
    for (int64_t z = 0; z < dim[0]; z++)
        for (int64_t y = 0; y < dim[1]; y++)
            for (int64_t x = 0; x < dim[2]; x++) {
                const int64_t p[3] = {z, y, x};
                const int64_t idx = z * stride[0] + y * stride[1] + x;
                const int64_t base = idx - p[a] * stride[a];
                double acc = kind == PASS_MIN ? INFINITY : kind == PASS_MAX ? -INFINITY : 0.0;
                for (int i = -r; i <= r; i++) {
                    double v = in[base + clampi(p[a] + i, 0, dim[a] - 1) * stride[a]];
                    if (kind == PASS_GAUSS)
                        acc += w[i + r] * v;
                    else if (kind == PASS_MEAN)
                        acc += v;
                    else if (kind == PASS_MIN)
                        acc = v < acc ? v : acc;
                    else
                        acc = v > acc ? v : acc;
                }
                out[idx] = kind == PASS_MEAN ? acc / (2.0 * r + 1.0) : acc;
            }
}

/* Separable filter: passes along z, y, x in turn (order is immaterial in exact arithmetic).
 * radius[a] per axis; for PASS_GAUSS sigma[a] gives the weights. Result in out. */
static void separable(pass_t kind, const double *in, double *out, const int64_t dim[3],
                      const double par[3])
{
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    double *tmp = malloc(n * sizeof *tmp);
    memcpy(out, in, n * sizeof *out);
    for (int a = 0; a < 3; a++) {
        int r;
        double *w = NULL;
        if (kind == PASS_GAUSS) {
            double s = par[a];
            r = (int)(4.0 * s + 0.5);
            w = malloc((2 * (size_t)r + 1) * sizeof *w);
            double sum = 0.0;
            for (int i = -r; i <= r; i++)
                sum += w[i + r] = r ? exp(-0.5 * i * i / (s * s)) : 1.0;
            for (int i = 0; i <= 2 * r; i++)
                w[i] /= sum;
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

void ops_ref_step(const lapse_step_t *s, const double *in, const int64_t dim[3], double *out,
                  int64_t odim[3])
{
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    const double *par = s->p[0].v, v = s->p[0].v[0];
    for (int a = 0; a < 3; a++)
        odim[a] = dim[a];
    switch (s->op->id) {
    case LAPSE_OP_GAUSSIAN_BLUR:
        separable(PASS_GAUSS, in, out, dim, par);
        break;
    case LAPSE_OP_MEAN_BOX:
        separable(PASS_MEAN, in, out, dim, par);
        break;
    case LAPSE_OP_MINIMUM_BOX:
        separable(PASS_MIN, in, out, dim, par);
        break;
    case LAPSE_OP_MAXIMUM_BOX:
        separable(PASS_MAX, in, out, dim, par);
        break;
    case LAPSE_OP_TOP_HAT_BOX: {
        double *open = malloc(n * sizeof *open);
        separable(PASS_MIN, in, open, dim, par);
        separable(PASS_MAX, open, out, dim, par);
        for (size_t i = 0; i < n; i++)
            out[i] = in[i] - out[i];
        free(open);
        break;
    }
    case LAPSE_OP_ADD_SCALAR:
        for (size_t i = 0; i < n; i++)
            out[i] = in[i] + v;
        break;
    case LAPSE_OP_MULTIPLY_SCALAR:
        for (size_t i = 0; i < n; i++)
            out[i] = in[i] * v;
        break;
    case LAPSE_OP_THRESHOLD_FIXED:
        for (size_t i = 0; i < n; i++)
            out[i] = in[i] > v ? 1.0 : 0.0;
        break;
    case LAPSE_OP_MAXIMUM_Z_PROJECTION: {
        size_t plane = (size_t)(dim[1] * dim[2]);
        for (size_t i = 0; i < plane; i++) {
            double m = in[i];
            for (int64_t z = 1; z < dim[0]; z++)
                m = in[(size_t)z * plane + i] > m ? in[(size_t)z * plane + i] : m;
            out[i] = m;
        }
        odim[0] = 1;
        break;
    }
    default:
        abort();
    }
}

double *ops_ref_chain(const lapse_step_t *steps, int last, const double *in, const int64_t dim[3],
                      int64_t odim[3])
{
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    double *cur = malloc(n * sizeof *cur), *next = malloc(n * sizeof *next);
    if (cur == NULL || next == NULL) {
        free(cur);
        free(next);
        return NULL;
    }
    memcpy(cur, in, n * sizeof *cur);
    for (int a = 0; a < 3; a++)
        odim[a] = dim[a];
    for (int k = 0; k <= last; k++) {
        int64_t d[3] = {odim[0], odim[1], odim[2]};
        ops_ref_step(&steps[k], cur, d, next, odim);
        double *t = cur;
        cur = next;
        next = t;
    }
    free(next);
    return cur;
}

double ops_ref_pack(double v, lapse_dtype_t dt)
{
    double hi = dt == LAPSE_DT_U8 ? 255.0 : 65535.0;
    if (dt == LAPSE_DT_F32)
        return (double)(float)v;
    if (isnan(v))
        return 0.0;
    double r = nearbyint(v); /* default rounding mode: half to even */
    return r < 0.0 ? 0.0 : r > hi ? hi : r;
}

double ops_ref_relerr(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i]))
            return INFINITY;
        double d = fabs(a[i] - b[i]);
        num = d > num ? d : num;
        den = fabs(b[i]) > den ? fabs(b[i]) : den;
    }
    return den > 0.0 ? num / den : num;
}
