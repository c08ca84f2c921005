/*
 * sample.h - a deterministic synthetic nuclei time-lapse for demos, tests and benchmarks:
 * blurred ellipsoidal blobs that drift over time, on an uneven (smooth gradient) background,
 * with noise, as uint16 [t, z, y, x] in dataset /raw. The same arguments always give the same
 * bytes.
 */
#ifndef LAPSE_SAMPLE_H
#define LAPSE_SAMPLE_H

#include <stdint.h>

#include "status.h"

/* Write path (must not exist unless overwrite) with ntp timepoints of shape[3] (z, y, x).
 * Serial (no MPI). Failures: LAPSE_EUSAGE for bad arguments, LAPSE_EIO/LAPSE_EH5 otherwise; no
 * partial file is left behind on failure. */
lapse_status_t lapse_sample_write(const char *path, int64_t ntp, const int64_t shape[3],
                                  uint64_t seed);

#endif
