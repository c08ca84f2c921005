/*
 * ccl.h - the building blocks of connected-component labelling that is exact across tiles:
 * labelling of one tile's core on the device (union-find, kernels/labels.cl), where every
 * component is named by the timepoint raster id of its first voxel, so ids from different tiles
 * can be joined across faces and renumbered into 1..N by the per-timepoint reduction; the device
 * lookup that turns ids into those final labels; and the CPU reference of the core labelling.
 *
 * Ids: a voxel's id is 0 for background, else 1 + the raster index (z * Y + y) * X + x in the
 * timepoint (dims img_dim = Z, Y, X) of its component's first voxel in raster order within the
 * core. Foreground is "!= 0" (NaN is foreground, -0 background), as scipy.ndimage.label.
 * Connectivity: conn 0 = box (26 neighbours in 3-D, 8 in a plane), 1 = diamond (6 / 4); when
 * the core's z extent is 1 there are no z neighbours, so the same code is the 2-D labelling.
 */
#ifndef LAPSE_CCL_H
#define LAPSE_CCL_H

#include <stdint.h>

#include "device/dev.h"
#include "types.h"

/* Connectivity codes of the conn arguments. */
#define LAPSE_CCL_BOX     0
#define LAPSE_CCL_DIAMOND 1

/* Label the foreground (voxels != 0) of the core box of float32 volume `in` (dims in_dim, z y x,
 * C order) on the device. core: the box relative to `in` (off, dim). img_off: the core's offset
 * in the whole timepoint; img_dim: the timepoint's dims. conn: LAPSE_CCL_BOX or
 * LAPSE_CCL_DIAMOND. Only voxels inside the core are looked at (the halo is ignored).
 * out: a device buffer of core voxels x cl_ulong, C order over core->dim, receiving each voxel's
 * id (see above). work: a device buffer of at least core voxels x cl_uint (union-find parents,
 * then the root list); its content on return is unspecified. `in` is not written.
 * On success *roots (malloc'd, caller frees; NULL when none) holds the sorted distinct non-zero
 * values of out and *nroots their count; the call returns after the roots are read back (out is
 * complete then). The result is the same bits whatever the device or the race order.
 * Errors: LAPSE_EUSAGE for a core outside `in`, a core outside the timepoint or a bad conn;
 * LAPSE_ERUNTIME when the core has more than 2^32 - 1 voxels (32-bit union-find indices: use
 * smaller tiles); LAPSE_ECL / LAPSE_ENOMEM from OpenCL or the host. On failure *roots and
 * *nroots are left unchanged and out's content is unspecified. An empty core succeeds with no
 * roots and launches nothing. */
lapse_status_t lapse_ccl_local(lapse_dev_t *d, cl_mem in, const int64_t in_dim[3],
                               const lapse_box_t *core, const int64_t img_off[3],
                               const int64_t img_dim[3], int conn, cl_mem out, cl_mem work,
                               uint64_t **roots, int64_t *nroots);

/* out[i] (float32, n voxels) = labels[j] where keys[j] == ids[i] (keys sorted ascending, nkeys
 * entries; device buffers: ids and keys of cl_ulong, labels of cl_uint), 0 where ids[i] == 0.
 * Labels convert to float32 rounded to nearest (exact up to 2^24). An id not found among the
 * keys is an internal error: 0 is written there, and the call, which waits for the kernel, fails
 * with LAPSE_ERUNTIME. keys and labels may be NULL when nkeys == 0. n == 0 launches nothing.
 * out must not overlap ids. */
lapse_status_t lapse_ccl_lookup(lapse_dev_t *d, cl_mem ids, size_t n, cl_mem keys, cl_mem labels,
                                size_t nkeys, cl_mem out);

/* CPU reference: the same contract as lapse_ccl_local on a host float array (for tests and the
 * double-precision references): out[core voxels] (uint64, C order over core->dim) receives the
 * ids as above. A sequential union-find over the full half stencil, written independently of the
 * device kernels; allocates nothing (out holds the parents until they become ids). The caller
 * ensures the core lies inside in_dim and the timepoint, and conn is 0 or 1. */
void lapse_ccl_local_ref(const float *in, const int64_t in_dim[3], const lapse_box_t *core,
                         const int64_t img_off[3], const int64_t img_dim[3], int conn,
                         uint64_t *out);

#endif
