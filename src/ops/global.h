/*
 * global.h - running a global operation (op.h, lapse_global_t) over a timepoint held whole by
 * one task: every pass's partial on the device, its reduction on the host over the one tile,
 * then the apply. The tiled, multi-rank execution is src/exec/phases.c; both use the same
 * hooks, so a tiled run and a whole-timepoint run give the same bits.
 */
#ifndef LAPSE_GLOBAL_H
#define LAPSE_GLOBAL_H

#include "ops/op.h"

/* Run global step s on a buffer that holds the whole timepoint: in (the operand, dims = the
 * timepoint), out (same dims), mat (mat_bytes per voxel, or NULL when the op has none), work
 * (work_bytes per voxel, or NULL when none). res: when not NULL, receives the last pass's
 * result (caller frees with lapse_blob_free); else it is freed here. */
lapse_status_t lapse_global_whole(lapse_dev_t *d, const lapse_step_t *s, const lapse_dvol_t *in,
                                  const lapse_dvol_t *out, cl_mem mat, cl_mem work,
                                  lapse_blob_t *res);

/* The tile of a whole timepoint of dims dim. */
void lapse_gtile_whole(const int64_t dim[3], lapse_gtile_t *t);

/* Otsu's pieces (op_threshold.c), for the tests: NumPy's float32 edges of a 256-bin histogram
 * from lo to hi (lo < hi) and its scale; the threshold (a bin centre) from the counts. */
void lapse_otsu_edges(float lo, float hi, float e[257], float *norm);
float lapse_otsu_from_hist(const uint64_t *count, const float e[257]);
/* The same with clesperanto's bin centres lo + i (hi - lo) / 255 (bins: clesperanto). */
float lapse_otsu_cle_from_hist(const uint64_t *count, float lo, float hi);

#endif
