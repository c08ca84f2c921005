/*
 * run.h - the `lapse run`, `lapse plan` and `lapse devices` commands: the MPI driver.
 *
 * Phases of a run (every rank, MPI already initialised):
 *   1. rank 0 reads the config file and broadcasts its text; every rank parses it;
 *   2. rank 0 validates against the input (dataset, timepoints, halo) and the output (mode)
 *      and broadcasts the verdict: a bad config or input ends every rank with exit code 2
 *      before anything is written;
 *   3. each rank takes its GPU (node-local rank % visible devices) and builds the kernels;
 *   4. every rank computes the same plan (tiles: auto uses the smallest share of a device's
 *      memory: ranks of one host on the same device divide it, exec/sizing.h);
 *   5. the output file is opened collectively, tasks are handed out (exec/sched.h) and each task is
 *      read, run on the device and written; rank 0 reports progress;
 *   6. the task rows are appended to /lapse/tasks and the run's record is closed.
 */
#ifndef LAPSE_RUN_H
#define LAPSE_RUN_H

typedef struct {
    const char *config;     /* config file path */
    const char *timepoints; /* --timepoints override, or NULL */
    int dry_run;            /* 1: validate and print the plan, write nothing */
    int probe;              /* 1 (plan only): run one task and predict the run (exec/probe.h) */
    int json;               /* 1 (with probe): the prediction as one JSON object on stdout */
    int nranks;             /* -n (with probe): ranks of the predicted run; 0: the MPI size */
    int ranks_per_gpu;      /* --ranks-per-gpu (with probe); 0: as this launch */
} lapse_run_opts_t;

/* Run (or, with dry_run, plan) a config. Collective over MPI_COMM_WORLD. Returns the process
 * exit code (0, 1, 2, 3 = failed tasks skipped, or 75 = interrupted, resumable), the same on
 * every rank; errors are printed by the rank that saw them. */
int lapse_cmd_run(const lapse_run_opts_t *opts);

/* List OpenCL platforms and devices (rank 0) and the device each rank would take for kind
 * ("gpu", "cpu" or "any"). Collective. Returns an exit code. */
int lapse_cmd_devices(const char *kind);

#endif
