/*
 * io/bdv_xml.h - the voxel size of a run, and the BigDataViewer files beside an HDF5 output,
 * so that Fiji (Plugins > BigDataViewer > Open XML/HDF5) opens the result and its saved steps
 * as a time-lapse with the right voxel size.
 *
 * BigDataViewer's HDF5 loader ("bdv.hdf5", bigdataviewer-core Hdf5ImageLoader) reads its own
 * layout: per setup s, /sSS/resolutions (float64 [levels][3], x y z) and /sSS/subdivisions
 * (int32 [levels][3], block size x y z) and the string attribute /sSS dataType ("uint8",
 * "uint16", "uint32", "float32"; read by BDV 10.4.6 and later; without it, or in an older BDV,
 * every cell is read as int16); per timepoint t, /tTTTTT/sSS/0/cells, a 3-D [z, y, x] dataset.
 * lapse's outputs are [t, z, y, x] (or [t, y, x]) datasets, so the layout goes into a small file of
 * its own, OUT.bdv.h5, whose cells are HDF5 virtual datasets mapping one timepoint of lapse's
 * dataset (source file named relative to it: OUT.h5, found in the same directory). No voxel is
 * copied. OUT.xml (SpimData 0.2) names OUT.bdv.h5, one ViewSetup per output dataset (saved steps,
 * then the result: setup k is the k-th output) with its size and voxel size, the timepoints
 * 0..ntp-1 and one ViewRegistration per (timepoint, setup) scaling voxels to the voxel size. OUT is
 * the output file's name without its .h5/.hdf5/.he5 suffix.
 */
#ifndef LAPSE_IO_BDV_XML_H
#define LAPSE_IO_BDV_XML_H

#include <stddef.h>

#include "config.h"
#include "h5out.h"
#include "io/reader.h"
#include "status.h"

/* The voxel size of a run: input.voxel_size when given, else the input's (in->voxel_size_um,
 * when all of y and x are known; z then 1 for a 2-D input), else 1, 1, 1. vox: z, y, x;
 * *unit: "µm" (UTF-8), or "pixel" for the fallback. */
void lapse_voxel_size(const lapse_config_t *cfg, const lapse_input_info_t *in, double vox[3],
                      const char **unit);

/* The BigDataViewer file names for output file out: OUT.xml and OUT.bdv.h5. 0 when they fit. */
int lapse_bdv_paths(const char *out, char *xml, size_t xml_len, char *h5, size_t h5_len);

/* Serial, one rank (no MPI). Write OUT.bdv.h5 then OUT.xml for output file out holding the
 * datasets specs[0..n) (all with the same time axis), each through a temporary file renamed
 * into place, so a reader never sees a half-written one. An existing OUT.xml or OUT.bdv.h5
 * that lapse did not write (no lapse marker) is left alone: LAPSE_EIO saying so. Other
 * failures: LAPSE_EIO / LAPSE_EH5 with a message; then no temporary file is left. */
lapse_status_t lapse_bdv_write(const char *out, const lapse_dset_spec_t *specs, int n,
                               const double vox[3], const char *unit);

/* Serial, one rank. Remove OUT.xml and OUT.bdv.h5 of output file out where lapse wrote them (its
 * marker; files of others are left alone): an output made in another format (output.format:
 * zarr) leaves its HDF5 datasets empty, and an earlier HDF5 output's BigDataViewer files would
 * show them as black images. *removed: how many files went. LAPSE_EIO when one cannot be
 * removed. */
lapse_status_t lapse_bdv_remove(const char *out, int *removed);

#endif
