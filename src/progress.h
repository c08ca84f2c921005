/*
 * progress.h - rank 0's progress report: tasks done of total, voxels per second, ETA.
 * On a terminal a live line (rewritten with \r); otherwise (Slurm output files, pipes) one log
 * line every interval seconds (LAPSE_PROGRESS_INTERVAL, default 5).
 * A run with global steps spends time outside its task loops (each wave's rounds, between
 * the waves): the caller brackets it (lapse_progress_pause / _resume), rounds are reported as
 * they go (lapse_progress_round), and the ETA is the task loops' rate over the tasks left plus
 * the mean of the finished waves' rounds times the waves left, "?" before any task is done.
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
    double paused_at;  /* when the time outside the task loops began; < 0: in a task loop */
    double other;      /* seconds outside the task loops, of the intervals that ended */
    int64_t nphases, phases_done; /* waves with rounds, and those whose rounds ended */
} lapse_progress_t;

/* Start reporting to f for total_tasks tasks; now is the current time in seconds. */
void lapse_progress_init(lapse_progress_t *p, FILE *f, int64_t total_tasks, double now);

/* The run has nphases waves whose rounds come before their tasks (0: none). */
void lapse_progress_waves(lapse_progress_t *p, int64_t nphases);

/* Time outside the task loops begins (a wave's rounds) / ends at now; rounds: 1 when the
 * interval held a wave's rounds (their mean predicts the waves left). */
void lapse_progress_pause(lapse_progress_t *p, double now);
void lapse_progress_resume(lapse_progress_t *p, double now, int rounds);

/* A round of the global steps begins at now: round (1-based, of the current wave) of the step
 * named step, in wave wave (1-based) of the run's p->nphases; prints the run's first round, and
 * later ones only when due. */
void lapse_progress_round(lapse_progress_t *p, int64_t wave, int64_t round, const char *step,
                          int64_t done, double now);

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
