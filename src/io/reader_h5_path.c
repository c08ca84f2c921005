/*
 * io/reader_h5_path.c - the HDF5 backend's check of a dataset name given in the config
 * (input.dataset): an absolute HDF5 path without empty components.
 *
 * Kept apart from reader_h5.c because it makes no HDF5 call: config validation, and with it the
 * fuzz build (tests/fuzz, LAPSE_FUZZ_MODULES), use it without touching any file.
 */
#include "io/reader.h"

#include <stdio.h>
#include <string.h>

int lapse_reader_h5_check_dataset(const char *dataset, char *err, size_t errlen)
{
    size_t l = strlen(dataset);
    if (dataset[0] != '/' || l < 2) {
        snprintf(err, errlen, "dataset path must be absolute, like /name (got '%.60s')", dataset);
        return -1;
    }
    if (strstr(dataset, "//") != NULL || dataset[l - 1] == '/') {
        snprintf(err, errlen, "dataset path has an empty component (got '%.60s')", dataset);
        return -1;
    }
    return 0;
}
