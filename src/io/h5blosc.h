/*
 * io/h5blosc.h - the Blosc HDF5 filter (id 32001) on Debian's libblosc, registered with
 * H5Zregister, in the hdf5-blosc convention that h5py's hdf5plugin and the HDF5 plugin of
 * PyTables read: cd_values [0] filter revision 2, [1] Blosc format version, [2] type size,
 * [3] chunk bytes, [4] level 0-9, [5] shuffle (0 none, 1 byte, 2 bit), [6] compressor code
 * (blosc_compname_to_compcode: lz4 1, zstd 5). The same source built with
 * LAPSE_H5BLOSC_PLUGIN is liblapse_h5blosc.so, a dynamic HDF5 filter plugin: a reader without
 * hdf5plugin sets HDF5_PLUGIN_PATH to its directory (docs/io.md).
 */
#ifndef LAPSE_IO_H5BLOSC_H
#define LAPSE_IO_H5BLOSC_H

#include <hdf5.h>

#include "status.h"

#define LAPSE_H5BLOSC_ID 32001

/* Register the filter with HDF5 (once; later calls do nothing). LAPSE_EH5 on failure. */
lapse_status_t lapse_h5blosc_register(void);

/* Add the filter to dcpl (a chunked dataset creation list): zstd (1) or lz4 (0) at level 1-9
 * with byte shuffle; registers it first. LAPSE_EH5 on failure. */
lapse_status_t lapse_h5blosc_set(hid_t dcpl, int zstd, int level);

#endif
