/*
 * report.h - what a run prints for people: the plan (`lapse plan`, `lapse run --dry-run`) and
 * the summary of a finished run. Local, no MPI; the driver calls them on rank 0.
 */
#ifndef LAPSE_EXEC_REPORT_H
#define LAPSE_EXEC_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "exec/job.h"
#include "exec/sizing.h"
#include "plan.h"

/* Print the plan of job p to f: input, timepoints, tile, halo, device memory per task and how
 * many ranks share the device (mem), output datasets, the measurement tables and which
 * timepoints' rows the run writes (in an update: replaces), the waves of global steps on nranks
 * ranks, and the task table (at most 2000 rows).
 * Never fails (write errors are f's). */
void lapse_report_plan(const lapse_job_t *job, const lapse_plan_t *p, const lapse_devmem_t *mem,
                       int nranks, FILE *f);

/* Print the one-line summary of run run_id of plan, which took el seconds, to stdout. */
void lapse_report_summary(int64_t run_id, const lapse_plan_t *plan, const char *output_file,
                          double el);

#endif
