/*
 * ops_ref.c - one step or a chain of steps through the operations' CPU references
 * (op->reference), and the packing / error helpers (see ops_ref.h).
 */
#include "ops_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ops_ref_step(const lapse_step_t *s, const double *in, const int64_t dim[3], double *out,
                  int64_t odim[3])
{
    if (s->op->ninputs != 1 || s->op->reference == NULL)
        abort(); /* two-operand steps: call op->reference with both operands */
    lapse_refvol_t vin = {(double *)in, {dim[0], dim[1], dim[2]}}, vout = {out, {0, 0, 0}};
    lapse_step_out_dims(s, dim, odim);
    memcpy(vout.dim, odim, sizeof vout.dim);
    s->op->reference(s, &vin, &vout);
}

double *ops_ref_chain(const lapse_step_t *steps, int last, const double *in, const int64_t dim[3],
                      int64_t odim[3])
{
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    double *cur = malloc(n * sizeof *cur), *next = NULL;
    if (cur == NULL)
        return NULL;
    memcpy(cur, in, n * sizeof *cur);
    memcpy(odim, dim, 3 * sizeof *odim);
    for (int k = 0; k <= last; k++) {
        int64_t d[3] = {odim[0], odim[1], odim[2]}, nd[3];
        lapse_step_out_dims(&steps[k], d, nd);
        next = malloc((size_t)(nd[0] * nd[1] * nd[2]) * sizeof *next);
        if (next == NULL) {
            free(cur);
            return NULL;
        }
        ops_ref_step(&steps[k], cur, d, next, odim);
        free(cur);
        cur = next;
    }
    return cur;
}

double ops_ref_pack(double v, lapse_dtype_t dt)
{
    return ops_ref_pack_away(v, dt, 0);
}

double ops_ref_pack_away(double v, lapse_dtype_t dt, int away)
{
    double lo = dt == LAPSE_DT_I16 ? -32768.0 : 0.0;
    double hi = dt == LAPSE_DT_U8    ? 255.0
                : dt == LAPSE_DT_U16 ? 65535.0
                : dt == LAPSE_DT_U32 ? 4294967295.0
                                     : 32767.0;
    if (dt == LAPSE_DT_F32)
        return (double)(float)v;
    if (isnan(v))
        return 0.0;
    double r = away ? round(v) : nearbyint(v); /* nearbyint: the default mode, half to even */
    return r < lo ? lo : r > hi ? hi : r;
}

double ops_ref_relerr(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        /* NaN and +-inf (division by zero, sqrt of a negative) must match exactly */
        if (isnan(a[i]) || isnan(b[i]) || isinf(a[i]) || isinf(b[i])) {
            if (!(isnan(a[i]) && isnan(b[i])) && a[i] != b[i])
                return INFINITY;
            continue;
        }
        double d = fabs(a[i] - b[i]);
        num = d > num ? d : num;
        den = fabs(b[i]) > den ? fabs(b[i]) : den;
    }
    return den > 0.0 ? num / den : num;
}
