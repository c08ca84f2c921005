/*
 * dev.h - the device state of one rank's pipeline and the helpers every operation launcher
 * uses: kernels fetched by file and name (built on first use), work-group shapes, enqueueing
 * with optional profiling, and the two conversions at the ends of a pipeline (input dtype to
 * float32, float32 result core to the output dtype). Launchers live with their operations in
 * src/ops/op_*.c; this module knows no operation.
 *
 * Kernel variants: "tiled" (default: the local-memory filters of filters_tiled.cl and the
 * vector voxel-wise kernels) and "simple" (one work-item per voxel; LAPSE_KERNELS=simple at
 * lapse_dev_create). Both give the same bits.
 */
#ifndef LAPSE_DEV_H
#define LAPSE_DEV_H

#include "clrt.h"
#include "ops/op.h"
#include "status.h"
#include "types.h"

#define LAPSE_DEV_GEOM_MAX  32 /* geometry values of filters_tiled.cl held for src/ops/sep.c */
#define LAPSE_DEV_SGEOM_MAX 16 /* geometry values of stencil.cl held for src/ops/op_stencil.c */

struct lapse_dev {
    lapse_cl_t *cl;
    int simple;         /* 1: LAPSE_KERNELS=simple */
    int use_local;      /* 1: the device takes our fixed work-group shapes */
    cl_ulong local_mem; /* CL_DEVICE_LOCAL_MEM_SIZE */
    int maxrreg; /* register cap of the heavy tiled kernels (cl_nv_compiler_options), 0 none */
    int filters_state; /* src/ops/sep.c: 0 not yet probed, 1 tiled filters, -1 simple ones */
    cl_int geom[LAPSE_DEV_GEOM_MAX]; /* src/ops/sep.c: geometry of filters_tiled.cl */
    int stencil_state; /* src/ops/op_stencil.c: 0 not yet read, 1 stencil_geom holds it */
    cl_int stencil_geom[LAPSE_DEV_SGEOM_MAX]; /* src/ops/op_stencil.c: geometry of stencil.cl */
    struct lapse_dev_prof *prof;              /* profiling state (dev.c) */
    struct lapse_dev_kcache *kc;              /* kernel cache (dev.c) */
};

/* Make the device state for an open device. Builds nothing yet: kernel programs are built when
 * a kernel of their file is first asked for. *out set only on success. */
lapse_status_t lapse_dev_create(lapse_cl_t *cl, lapse_dev_t **out);

/* LAPSE_OK when the device has each of the n OpenCL extensions ext (CL_DEVICE_EXTENSIONS, whole
 * words); else LAPSE_ECL with a message naming `what` (e.g. an operation), `why` it needs them
 * and the device. */
lapse_status_t lapse_dev_require(lapse_dev_t *d, const char *what, const char *why,
                                 const char *const *ext, int n);

/* Release; NULL is accepted. Waits for profiled events. */
void lapse_dev_destroy(lapse_dev_t *d);

/* "tiled" or "simple": the variant the filters run (probes the device on first call). */
const char *lapse_dev_variant(lapse_dev_t *d);

/* Kernel `name` of kernels/`file`, its program built on first use (lapse_cl_kernel; owned by
 * the cl: do not release), cached here with its work-group size.
 * *kwg receives its CL_KERNEL_WORK_GROUP_SIZE when kwg != NULL. */
lapse_status_t lapse_dev_kernel(lapse_dev_t *d, const char *file, const char *name, cl_kernel *out,
                                size_t *kwg);

/* As lapse_dev_kernel, for the program of `file` built with the extra `defines` (NULL: none;
 * lapse_cl_kernel_with). The cache is keyed by name: kernels of different defines must have
 * different names. */
lapse_status_t lapse_dev_kernel_with(lapse_dev_t *d, const char *file, const char *defines,
                                     const char *name, cl_kernel *out, size_t *kwg);

/* As lapse_dev_kernel_with, for the tiled variant's heavy kernels (local-memory walks): on a
 * device with cl_nv_compiler_options the program is built with -cl-nv-maxrregcount=d->maxrreg
 * added (LAPSE_NV_MAXRREG, default 128: two work-groups of 256 per SM instead of one; the
 * compiler otherwise takes up to 255 registers under reqd_work_group_size(256)). defines may be
 * "" (the file's own program where no cap applies). */
lapse_status_t lapse_dev_kernel_heavy(lapse_dev_t *d, const char *file, const char *defines,
                                      const char *name, cl_kernel *out, size_t *kwg);

/* Set kernel argument i to the bytes of v (macro: checks, jumps to cleanup on failure). */
#define LAPSE_ARG(kern, i, v) LAPSE_CL(clSetKernelArg((kern), (i), sizeof(v), &(v)))

/* Enqueue kern over global (dims entries; each rounded up to local when local != NULL);
 * records an event while profiling. A zero global extent enqueues nothing. */
lapse_status_t lapse_dev_enqueue(lapse_dev_t *d, cl_kernel kern, cl_uint dims, const size_t *global,
                                 const size_t *local);

/* Enqueue over n work-items (1-D), in work-groups of 256 when the kernel allows it. */
lapse_status_t lapse_dev_launch_1d(lapse_dev_t *d, cl_kernel kern, size_t n);

/* Enqueue over (nx, ny, nz) work-items, x fastest, in work-groups of 32x4x1 when allowed. */
lapse_status_t lapse_dev_launch_3d(lapse_dev_t *d, cl_kernel kern, size_t nx, size_t ny, size_t nz);

/* Enqueue voxel-wise kernel k (arguments set) over n voxels; vec4: it handles 4 voxels per
 * work-item (ceil(n / 4) work-items). */
lapse_status_t lapse_dev_launch_voxels(lapse_dev_t *d, cl_kernel k, size_t n, int vec4);

/* Copy n float32 voxels from src to dst on the device. */
lapse_status_t lapse_dev_copy(lapse_dev_t *d, cl_mem src, cl_mem dst, size_t n);

/* Widen n voxels of dtype dt (uint8, uint16) in src to float32 in dst. */
lapse_status_t lapse_dev_to_f32(lapse_dev_t *d, lapse_dtype_t dt, cl_mem src, cl_mem dst, size_t n);

/* Pack the core box (relative to src's dims dim) of float32 src into dst as dtype: float32 as
 * is, integers rounded (halves to even, or away from zero when away is 1: scipy.ndimage's rule
 * for its transforms) and saturated, NaN to 0. For an integer dtype, the number of voxels
 * saturated or NaN is added to the 64-bit counter at cl_uint index 2 ci (low word) and 2 ci + 1
 * (high word) of clip (the caller zeroes it; clip and ci are not used for float32). */
lapse_status_t lapse_dev_pack(lapse_dev_t *d, lapse_dtype_t dtype, int away, cl_mem src,
                              const int64_t dim[3], const lapse_box_t *core, cl_mem dst,
                              cl_mem clip, int ci);

/* Float32 boxes in and out of a buffer of dims dim (box relative to it): get copies the box of
 * buf into flat from element at on, C order; put copies it back from there into buf. */
lapse_status_t lapse_dev_box_get(lapse_dev_t *d, cl_mem buf, const int64_t dim[3],
                                 const lapse_box_t *box, cl_mem flat, size_t at);
lapse_status_t lapse_dev_box_put(lapse_dev_t *d, cl_mem flat, size_t at, cl_mem buf,
                                 const int64_t dim[3], const lapse_box_t *box);

/* Profiling: when on, every launch records an event; take returns the device milliseconds and
 * the kernel count since the last take (waits for them) and resets both. */
void lapse_dev_profile(lapse_dev_t *d, int on);
lapse_status_t lapse_dev_profile_take(lapse_dev_t *d, double *ms, int *nkernels);

#endif
