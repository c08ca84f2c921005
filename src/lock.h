/*
 * lock.h - one writer per output file: rank 0 holds, for the whole run,
 *   - an exclusive flock on <output>.lock, where <output> is the output's path with every
 *     symbolic link resolved (a run through a link and one through the target share a marker);
 *   - an OFD write lock (fcntl F_OFD_SETLK) on a byte range far beyond the data of the output
 *     file itself: a lock on the file's identity (device + inode), so a run through a hard link
 *     is refused too. An existing output is locked when the lock is acquired; a new one (also
 *     the new file of an overwrite) is locked on its staging file <output>.creating as soon as
 *     that is made, before anything is written to it, and the lock follows it through its rename
 *     into place (h5out.c hands it over: lapse_lock_identity_fd, lapse_lock_adopt). A second byte,
 * at an offset holding the holder's pid, tells a refused run who holds it. A second run on the same
 * output is refused with the holder's host, pid and start time. The kernel drops both locks when
 * its process dies, so the marker file a killed run leaves behind does not block the next run (it
 * resumes).
 *
 * The marker is never followed through a symbolic link (O_NOFOLLOW) and must be a regular file
 * of this user with one link; anything else at its path (a link, a FIFO, another user's file) is
 * refused, and nothing is written to it.
 */
#ifndef LAPSE_LOCK_H
#define LAPSE_LOCK_H

#include "status.h"

typedef struct {
    int fd;   /* the marker, flock'ed; -1 when not held */
    int idfd; /* the output file, OFD-locked; -1 when not held */
    char path[4200];
} lapse_lock_t;

/* Take the lock of output file path. On success *lock holds it; LAPSE_ECONFIG with a message
 * naming the other run when another process holds it (by any name of the file), or when the
 * marker's path is not a regular file of ours; LAPSE_EIO when the marker cannot be made. */
lapse_status_t lapse_lock_acquire(const char *output, lapse_lock_t *lock);

/* Take (or move to) the identity lock of file, which now exists (opened here by name, never
 * through a symbolic link). Same failures as lapse_lock_acquire; *lock is unchanged on failure. */
lapse_status_t lapse_lock_identity(lapse_lock_t *lock, const char *file);

/* Take the identity lock on the open descriptor fd (opened for writing) of a regular file that
 * name names (for messages). The lock belongs to fd's open file description: it follows the
 * file through renames and lasts until fd is closed. Hand fd to lapse_lock_adopt to keep it for
 * the run: do not lock the same file again through another descriptor in this process (OFD locks
 * of two open file descriptions conflict, even in one process). LAPSE_ECONFIG naming the holder
 * when another process holds it, LAPSE_EIO when the lock call fails otherwise; fd stays open
 * either way (the caller closes it). */
lapse_status_t lapse_lock_identity_fd(int fd, const char *name);

/* Make fd (identity-locked by lapse_lock_identity_fd) the identity lock of *lock, which owns it
 * from now on; the previous one (e.g. on a file that fd's file replaced) is released. fd < 0:
 * nothing changes. */
void lapse_lock_adopt(lapse_lock_t *lock, int fd);

/* Write the path of output with symbolic links resolved into buf[len] (an output that does not
 * exist yet: its directory resolved, plus its name). LAPSE_ECONFIG for a dangling link. */
lapse_status_t lapse_lock_resolve(const char *output, char *buf, size_t len);

/* 1 when another process holds the lock of output file output or of its staging file
 * output.creating (an output being made): their identity locks, queried, never taken, so a run
 * starting meanwhile is not refused because of this; "pid N" in who[len] where known. 0 when
 * none does or neither file exists. For `lapse plan` and --dry-run, which take no lock. */
int lapse_lock_busy(const char *output, char *who, size_t len);

/* Release and remove the marker; a lock that was never taken (fd < 0) is accepted. */
void lapse_lock_release(lapse_lock_t *lock);

#endif
