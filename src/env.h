/*
 * env.h - the LAPSE_* environment variables lapse reads, checked once at the start of a run or
 * plan: a set but malformed value is a usage error (exit 2) naming the variable, never silently
 * ignored. An empty value counts as unset.
 *
 *   LAPSE_DEVICE             device index: an integer >= 0 (src/clrt.c)
 *   LAPSE_PROGRESS_INTERVAL  seconds between progress lines: a finite number > 0 (progress.c)
 *   LAPSE_DEVICE_MEM_LIMIT   device bytes a run may plan with: an integer > 0 (exec/sizing.c)
 *   LAPSE_KERNELS            "simple" or "default" (device/dev.c)
 *   LAPSE_SYNC_MARKS         "0" or "1" (h5out.c)
 *   LAPSE_OVERLAP            "0" or "1": "0" runs each task's read, device work and write one
 *                            after the other (exec/worker.c); default overlapped
 *   LAPSE_IO_STATS           "0" or "1": each rank prints its I/O summary line (worker.c)
 *   LAPSE_H5_WRITE           "independent" (default) or "collective" data writes (h5out.c)
 *   LAPSE_H5_CHUNK           z,y,x: chunk shape of new result datasets instead of the tile
 *   LAPSE_H5_ALIGN           bytes: H5Pset_alignment of the output file (threshold = alignment)
 *   LAPSE_H5_MDC             bytes: the metadata cache's initial size (docs/io.md)
 *   LAPSE_DEAL               "tasks" or "timepoints": how pending tasks are dealt to ranks,
 *                            instead of the rule of exec/deal.h
 * and the kernel tuning variables (docs/kernels.md: LAPSE_MM_*, LAPSE_WT_*,
 * LAPSE_GEOM_XY, LAPSE_BG_FIX, LAPSE_NV_MAXRREG), the phase budgets (LAPSE_PHASE_*), LAPSE_PROFILE,
 * LAPSE_RAW_WRITE, LAPSE_FALLOCATE and the scheduler's LAPSE_SCHED_HELPER / _STATS: env.c's table
 * is the list (tests/unit/env_vars.sh checks that every LAPSE_* name in src/ is in it, apart from
 * the test hook LAPSE_FAULT and the tools' paths LAPSE_TOOLS and LAPSE_PYTHON).
 */
#ifndef LAPSE_ENV_H
#define LAPSE_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* LAPSE_OK when every variable above is unset, empty or well formed; otherwise LAPSE_EUSAGE
 * with "LAPSE_X=value: expected ..." recorded. Reads the environment only. */
lapse_status_t lapse_env_check(void);

/* The variables of the table, for comparing them between ranks: lapse_env_count() entries,
 * lapse_env_name(i) the name of entry i (NULL past the end). lapse_env_digest(i) is a hash of
 * this process's value of entry i, 0 when it is unset or empty or when ranks may differ in it
 * (LAPSE_DEVICE, LAPSE_PROGRESS_INTERVAL, LAPSE_COPY_THREADS and the statistics switches);
 * every other variable must hash the same on every rank (run.c refuses a run where it does not:
 * a chunk shape or write mode seen by some ranks only hangs or corrupts the output). */
size_t lapse_env_count(void);
const char *lapse_env_name(size_t i);
uint64_t lapse_env_digest(size_t i);

#endif
