/*
 * progress.c - progress line / log lines of rank 0 (see progress.h).
 */
#include "progress.h"

#include <stdlib.h>
#include <unistd.h>

void lapse_progress_init(lapse_progress_t *p, FILE *f, int64_t total_tasks, double now)
{
    const char *iv = getenv("LAPSE_PROGRESS_INTERVAL");
    p->f = f;
    p->live = isatty(fileno(f));
    p->interval = iv ? atof(iv) : 5.0;
    if (p->interval <= 0)
        p->interval = 5.0;
    p->start = now;
    p->last = now;
    p->total_tasks = total_tasks;
    p->printed_live = 0;
    p->last_done = -1;
    p->paused_at = -1;
    p->other = 0;
    p->nphases = p->phases_done = 0;
}

void lapse_progress_waves(lapse_progress_t *p, int64_t nphases)
{
    p->nphases = nphases;
}

void lapse_progress_pause(lapse_progress_t *p, double now)
{
    if (p->paused_at < 0)
        p->paused_at = now;
}

void lapse_progress_resume(lapse_progress_t *p, double now, int rounds)
{
    if (p->paused_at >= 0)
        p->other += now - p->paused_at;
    p->paused_at = -1;
    p->phases_done += rounds != 0;
}

/* Seconds outside the task loops up to now, the current interval included. */
static double other_secs(const lapse_progress_t *p, double now)
{
    return p->other + (p->paused_at >= 0 ? now - p->paused_at : 0);
}

static void fmt_duration(double s, char *buf, size_t len)
{
    long v = (long)(s + 0.5);
    snprintf(buf, len, "%ld:%02ld:%02ld", v / 3600, (v / 60) % 60, v % 60);
}

void lapse_progress_update(lapse_progress_t *p, int64_t done, int64_t voxels, double now, int force)
{
    double due = p->live ? 0.25 : p->interval;
    if (!force && now - p->last < due)
        return;
    p->last = now;
    double el = now - p->start;
    double vps = el > 0 ? (double)voxels / el : 0.0;
    char eta[32] = "?";
    if (done > 0 && done < p->total_tasks) {
        /* the task loops' rate over the tasks left, and the rounds of the waves left at the
         * mean of those that ended (the time in a wave's rounds is no task's) */
        double tasks_el = el - other_secs(p, now), left = 0;
        if (tasks_el < 0)
            tasks_el = 0;
        if (p->phases_done > 0 && p->nphases > p->phases_done)
            left = p->other / (double)p->phases_done * (double)(p->nphases - p->phases_done);
        fmt_duration(tasks_el * (double)(p->total_tasks - done) / (double)done + left, eta,
                     sizeof eta);
    } else if (done >= p->total_tasks) {
        fmt_duration(0, eta, sizeof eta);
    }
    char elapsed[32];
    fmt_duration(el, elapsed, sizeof elapsed);
    double pct = p->total_tasks ? 100.0 * (double)done / (double)p->total_tasks : 100.0;
    if (p->live) {
        fprintf(p->f, "\rlapse: %lld/%lld tasks (%5.1f%%), %.3g Mvoxel/s, elapsed %s, ETA %s\033[K",
                (long long)done, (long long)p->total_tasks, pct, vps / 1e6, elapsed, eta);
        p->printed_live = 1;
    } else {
        fprintf(p->f,
                "lapse: progress %lld/%lld tasks (%.1f%%), %.3g Mvoxel/s, elapsed %s, ETA %s\n",
                (long long)done, (long long)p->total_tasks, pct, vps / 1e6, elapsed, eta);
        p->last_done = done;
    }
    fflush(p->f);
}

void lapse_progress_round(lapse_progress_t *p, int64_t wave, int64_t round, const char *step,
                          int64_t done, double now)
{
    double due = p->live ? 0.25 : p->interval;
    if (!(wave == 1 && round == 1) && now - p->last < due) /* the first: the rounds began */
        return;
    p->last = now;
    char elapsed[32];
    fmt_duration(now - p->start, elapsed, sizeof elapsed);
    char waves[48] = "";
    if (p->nphases > 1)
        snprintf(waves, sizeof waves, " of wave %lld/%lld", (long long)wave, (long long)p->nphases);
    if (p->live) {
        fprintf(p->f, "\rlapse: %lld/%lld tasks, global steps%s: round %lld (%s), elapsed %s\033[K",
                (long long)done, (long long)p->total_tasks, waves, (long long)round, step, elapsed);
        p->printed_live = 1;
    } else {
        fprintf(p->f,
                "lapse: progress %lld/%lld tasks, global steps%s: round %lld (%s), elapsed %s\n",
                (long long)done, (long long)p->total_tasks, waves, (long long)round, step, elapsed);
    }
    fflush(p->f);
}

void lapse_progress_finish(lapse_progress_t *p, int64_t done, int64_t voxels, double now)
{
    if (p->live || done != p->last_done)
        lapse_progress_update(p, done, voxels, now, 1);
    if (p->printed_live) {
        fputc('\n', p->f);
        fflush(p->f);
        p->printed_live = 0;
    }
}
