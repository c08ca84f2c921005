/*
 * info.h - `lapse info FILE.h5`: what a lapse output holds (datasets, runs, timepoints done)
 * and where the time went (seconds per phase, per rank, voxels per second), read serially.
 */
#ifndef LAPSE_INFO_H
#define LAPSE_INFO_H

#include <stdio.h>

#include "status.h"

/* Print the summary of file to f. LAPSE_EINPUT when file is missing or not a lapse output. */
lapse_status_t lapse_info_print(const char *file, FILE *f);

#endif
