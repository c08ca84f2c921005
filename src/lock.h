/*
 * lock.h - one writer per output: rank 0 holds an exclusive flock on <output>.lock for the
 * whole run. A second run on the same output is refused with the holder's host, pid and start
 * time. The kernel drops the flock when its process dies, so the marker file a killed run leaves
 * behind does not block the next run (it resumes).
 */
#ifndef LAPSE_LOCK_H
#define LAPSE_LOCK_H

#include "status.h"

typedef struct {
    int fd;
    char path[4200];
} lapse_lock_t;

/* Take the lock of output file path. On success *lock holds it; LAPSE_ECONFIG with a message
 * naming the other run when another process holds it; LAPSE_EIO when the marker cannot be made. */
lapse_status_t lapse_lock_acquire(const char *output, lapse_lock_t *lock);

/* Release and remove the marker; a lock that was never taken (fd < 0) is accepted. */
void lapse_lock_release(lapse_lock_t *lock);

#endif
