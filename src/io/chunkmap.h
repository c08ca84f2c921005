/*
 * io/chunkmap.h - the file address of every chunk of a chunked, unfiltered, fully allocated
 * HDF5 dataset, without an HDF5 lookup per chunk.
 *
 * Why: HDF5 1.10's H5Dget_chunk_info_by_coord walks the chunk index from its start to the chunk
 * (an iteration, not a B-tree search), so one lookup per task made a run O(tasks^2): 2.6 ms per
 * task at the end of a 65536-task run. HDF5 allocates an early-allocated dataset's chunks one
 * after another in the index's order (C order of the chunk coordinates), at increasing
 * addresses; the index's own nodes, allocated when a node splits, are the only things between
 * them. So the addresses are a few runs of equally spaced chunks. lapse_chunkmap_build finds the
 * runs with a bisection over the index (a run is proven where the address span of its two ends
 * is exactly its chunk count times the chunk size: increasing, disjoint chunks leave no room for
 * anything else), checks samples against HDF5, and gives up (no map, not an error) where the
 * pattern does not hold or needs too many lookups. Chunks swapped inside a run are not seen:
 * the caller builds maps only for datasets whose chunks were allocated in index order (h5out.c:
 * lapse's own, early allocation in a new file, marked LAPSE_ATTR_CHUNK_ORDER). A new output sets
 * its index nodes large enough (lapse_chunkmap_istore_k) that the chunks are one run or a few.
 */
#ifndef LAPSE_IO_CHUNKMAP_H
#define LAPSE_IO_CHUNKMAP_H

#include <hdf5.h>
#include <stdint.h>

#include "status.h"

typedef struct lapse_chunkmap lapse_chunkmap_t;

/* Build the map of dset: nd dimensions (<= 4), chunk dims cd, unfiltered chunks of chunk_bytes
 * bytes each. *out is NULL where no map applies (some chunk not allocated, addresses not in runs,
 * more than the lookup budget needed); that is LAPSE_OK. Errors: HDF5 failures, memory. Local
 * (no other rank takes part). */
lapse_status_t lapse_chunkmap_build(hid_t dset, int nd, const hsize_t *cd, hsize_t chunk_bytes,
                                    lapse_chunkmap_t **out);

/* The file address of the chunk whose first element is at off (multiples of the chunk dims,
 * inside the dataset): 0, or -1 when off is not such a chunk origin of the map's dataset. */
int lapse_chunkmap_addr(const lapse_chunkmap_t *m, const hsize_t *off, haddr_t *addr);

/* The number of equally spaced runs the chunks lie in (1 for a new lapse output of up to 65534
 * chunks per dataset), and the HDF5 lookups the build made. */
int lapse_chunkmap_runs(const lapse_chunkmap_t *m);
int lapse_chunkmap_lookups(const lapse_chunkmap_t *m);

void lapse_chunkmap_free(lapse_chunkmap_t *m);

/* The chunk B-tree's half node size (H5Pset_istore_k) for a new file whose largest unfiltered
 * dataset has nchunks chunks: a node holds up to 2 * ik chunks, so up to 65534 chunks lie in
 * one run; HDF5's default 32 where that is larger. (A node takes about 64 bytes per entry, 3.7
 * MiB at most; unfiltered chunk indexes are written once, at creation.) */
unsigned lapse_chunkmap_istore_k(int64_t nchunks);

#endif
