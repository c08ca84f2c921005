/*
 * ops_ref.h - the double-precision CPU references of the pipeline operations, for the unit
 * tests. The references themselves live with their operations (op->reference, src/ops/ref.c
 * and the src/ops/op_*.c families) and share no code with the device launchers; these are thin
 * wrappers that run one step or a linear chain of one-input steps on double arrays in C order
 * (z, y, x), plus the packing and error helpers the tests compare with.
 */
#ifndef LAPSE_OPS_REF_H
#define LAPSE_OPS_REF_H

#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"
#include "types.h"

/* Apply one-input step s to in (dims dim) into out, which must hold the result's voxel count; odim
 * receives the result's dims (lapse_step_out_dims: z = 1 after a z-projection). in and out
 * must not overlap. */
void ops_ref_step(const lapse_step_t *s, const double *in, const int64_t dim[3], double *out,
                  int64_t odim[3]);

/* Apply one-input steps[0..last] in order to in (dims dim). Returns a malloc'ed result of dims
 * odim (caller frees), a copy of in when last < 0, or NULL when out of memory. */
double *ops_ref_chain(const lapse_step_t *steps, int last, const double *in, const int64_t dim[3],
                      int64_t odim[3]);

/* A float32 result voxel as stored in dtype: float32 rounding, or for integer types NaN -> 0,
 * round half to even, saturation to [0, 255] / [0, 65535]. */
double ops_ref_pack(double v, lapse_dtype_t dt);

/* The same with halves rounded away from zero when away is 1 (scipy.ndimage's transforms). */
double ops_ref_pack_away(double v, lapse_dtype_t dt, int away);

/* Largest |a - b| over the finite values of n divided by the largest finite |b| (the absolute
 * error when all are 0). NaN and +-inf must be at the same places in a and b (NaN against NaN,
 * an inf against the same inf); any mismatch there gives +inf. */
double ops_ref_relerr(const double *a, const double *b, size_t n);

#endif
