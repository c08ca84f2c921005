/*
 * progress.h - rank 0's progress report: tasks done of total, voxels per second, ETA.
 * On a terminal a live line (rewritten with \r); otherwise (Slurm output files, pipes) one log
 * line every interval seconds (LAPSE_PROGRESS_INTERVAL, default 5).
 */
#ifndef LAPSE_PROGRESS_H
#define LAPSE_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    int live;        /* 1: f is a terminal */
    double interval; /* seconds between log lines (non-live) */
    double start, last;
    int64_t total_tasks;
    int printed_live;  /* a live line is on screen */
    int64_t last_done; /* the task count of the latest log line; -1 before the first */
} lapse_progress_t;

/* Start reporting to f for total_tasks tasks; now is the current time in seconds. */
void lapse_progress_init(lapse_progress_t *p, FILE *f, int64_t total_tasks, double now);

/* Report done tasks and voxels at time now; prints only when due, or when force is set. */
void lapse_progress_update(lapse_progress_t *p, int64_t done, int64_t voxels, double now,
                           int force);

/* The final report of done tasks and voxels at time now: always on a live line; as a log line
 * only when the latest log line does not already say done tasks (the run's last task may have
 * been reported by a due update just before, e.g. while the ranks wind down after a stop
 * signal: the final line is printed once). Then ends the live line (newline) if one is on
 * screen. */
void lapse_progress_finish(lapse_progress_t *p, int64_t done, int64_t voxels, double now);

#endif
