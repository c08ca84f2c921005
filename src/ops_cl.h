/*
 * ops_cl.h - the device side of the pipeline operations: kernel objects created once per
 * pipeline and launchers that enqueue one operation on float32 device buffers of dims (z, y, x)
 * (kernels in kernels/filters.cl, pointwise.cl, convert.cl). Launchers only enqueue on the
 * in-order queue; nothing is read back and nothing waits.
 */
#ifndef LAPSE_OPS_CL_H
#define LAPSE_OPS_CL_H

#include "clrt.h"
#include "ops.h"
#include "status.h"
#include "types.h"

typedef struct lapse_opcl lapse_opcl_t;

/* Number of float32 work buffers (each as large as the volume) that lapse_opcl_step needs. */
#define LAPSE_OPCL_NBUF 3

/* Gaussian weights of a pipeline on the device: one float buffer, and for step k and axis a
 * (z, y, x) the radius r and the offset of its 2r+1 weights (-1 when the step is no Gaussian). */
typedef struct {
    cl_mem buf;
    int r[LAPSE_MAX_STEPS][3];
    int off[LAPSE_MAX_STEPS][3];
} lapse_opcl_weights_t;

/* Create the kernels of cl's program. *out is set only on success. */
lapse_status_t lapse_opcl_create(lapse_cl_t *cl, lapse_opcl_t **out);
/* Release the kernels; NULL is accepted. */
void lapse_opcl_destroy(lapse_opcl_t *k);

/* Kernel variant in use: "tiled" (GPU-shaped kernels, the default) or "simple" (one work-item
 * per voxel and pass), chosen at create time: the environment variable LAPSE_KERNELS=simple
 * selects "simple"; devices without the needed work-group sizes / local memory also get it. Both
 * variants give bit-identical results. The tiled kernels' geometry (work-group shapes, outputs
 * per work-item, fused-box formulation) is that of the LAPSE_* macros the program was built with
 * (kernels/filters_tiled.cl), read back from the program at create time. */
const char *lapse_opcl_variant(const lapse_opcl_t *k);

/* Benchmark support. While on, every kernel k enqueues records an event; the queue must have
 * been created with CL_QUEUE_PROFILING_ENABLE. lapse_opcl_profile_take waits for the kernels
 * enqueued since the previous take and returns their summed device time (ms, END - START of each
 * kernel) and their number. */
void lapse_opcl_profile(lapse_opcl_t *k, int on);
lapse_status_t lapse_opcl_profile_take(lapse_opcl_t *k, double *ms, int *nkernels);

/* Compute every Gaussian step's weights in double (lapse_gauss_weights), round them to float and
 * upload them (blocking). w->buf is NULL when there is no Gaussian step. n <= LAPSE_MAX_STEPS. */
lapse_status_t lapse_opcl_weights_create(lapse_cl_t *cl, const lapse_step_t *steps, int n,
                                         lapse_opcl_weights_t *w);
/* Release w->buf; accepts a zeroed struct. */
void lapse_opcl_weights_release(lapse_opcl_weights_t *w);

/* Number of work buffers step s needs: 3 for top_hat_box, 2 for the other neighbourhood
 * filters and the projection, 1 for voxel-wise steps. */
int lapse_opcl_step_buffers(const lapse_step_t *s);

/* Widen n voxels of dtype dt (uint8 or uint16) in src to float32 in dst. */
lapse_status_t lapse_opcl_to_f32(lapse_opcl_t *k, lapse_dtype_t dt, cl_mem src, cl_mem dst,
                                 size_t n);

/* Apply steps[index] to the volume held in bufs[*cur], of dims dim (z, y, x). bufs holds
 * LAPSE_OPCL_NBUF float buffers of at least dim's voxel count; the others are scratch. On
 * return *cur is the buffer holding the result and dim its dims (z = 1 after a projection).
 * Neighbourhoods clamp to the buffer edge; axes of radius 0 skip their pass. */
lapse_status_t lapse_opcl_step(lapse_opcl_t *k, const lapse_step_t *steps, int index,
                               const lapse_opcl_weights_t *w, cl_mem bufs[LAPSE_OPCL_NBUF],
                               int *cur, int64_t dim[3]);

/* Extract the box core (relative to src, of dims dim) from float32 src and convert it to dtype
 * into dst, C order, core->dim voxels. Integers: rint, saturation, NaN -> 0. */
lapse_status_t lapse_opcl_pack(lapse_opcl_t *k, lapse_dtype_t dtype, cl_mem src,
                               const int64_t dim[3], const lapse_box_t *core, cl_mem dst);

#endif
