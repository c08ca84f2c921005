/*
 * minmax.h - minimum / maximum box filters and their pairs (opening, closing) with an optional
 * subtraction of the input (white and black top-hat) in one pass over the data, for the tiled
 * variant: kernels/minmax_fused.cl, one program per configuration (filters, radii, geometry)
 * built on first use; a pair runs as two one-filter launches unless LAPSE_MM_FUSE2=1. Same bits as
 * the separable passes of sep.c (docs/kernels.md).
 */
#ifndef LAPSE_MINMAX_H
#define LAPSE_MINMAX_H

#include "ops/sep.h"

/* What to run: first filter (LAPSE_SEP_MIN or LAPSE_SEP_MAX); two != 0: the other one follows
 * with the same radii (opening after a minimum, closing after a maximum); binarize: filter
 * (x != 0 ? 1 : 0) instead of x (NaN is non-zero); sub: 0 dst = result, 1 dst = src - result,
 * 2 dst = result - src. */
typedef struct {
    lapse_sep_kind_t first;
    int two, binarize, sub;
} lapse_mm_t;

/* Largest radius per axis the fused kernel takes. */
#define LAPSE_MM_RMAX 4

/* Run f with radii r[z, y, x] from src into dst (src != dst, both of dims dim; src unchanged)
 * when the fused kernel can: tiled variant, a device that takes its work-group, radii 0..
 * LAPSE_MM_RMAX not all 0, a plane of fewer than 2^31 voxels. *ran = 1 when it was enqueued, 0
 * when not (nothing enqueued: the caller runs its separable passes). Fails only on OpenCL
 * errors (build, launch). */
lapse_status_t lapse_mm_run(lapse_dev_t *d, const lapse_mm_t *f, const int r[3], cl_mem src,
                            cl_mem dst, const int64_t dim[3], int *ran);

/* The pair f (f->two != 0: the first filter, then the other one, then the subtraction f->sub of
 * src) with radii r[z, y, x] from src into dst, the way measured fastest (docs/kernels.md): by
 * default two one-filter launches, src -> scratch -> dst; with LAPSE_MM_FUSE2=1 the one kernel of
 * lapse_mm_run, into dst or, where dst == src, into scratch. scratch differs from src and dst
 * (all of dims dim); dst == src only without a subtraction. *ran as for lapse_mm_run (nothing
 * enqueued when 0); *res: 0 the result is in dst, 1 in scratch. Fails only on OpenCL errors. */
lapse_status_t lapse_mm_pair(lapse_dev_t *d, const lapse_mm_t *f, const int r[3], cl_mem src,
                             cl_mem dst, cl_mem scratch, const int64_t dim[3], int *ran, int *res);

#endif
