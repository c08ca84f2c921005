/*
 * lock.c - the output's writer lock (see lock.h): flock on a marker file holding who took it.
 */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "types.h"

lapse_status_t lapse_lock_acquire(const char *output, lapse_lock_t *lock)
{
    char who[512] = "";
    char host[128] = "unknown";
    lock->fd = -1;
    snprintf(lock->path, sizeof lock->path, "%s.lock", output);
    int fd;
    struct stat held, named;
again:
    fd = open(lock->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return lapse_fail(LAPSE_EIO, "cannot create the lock marker %s: %s", lock->path,
                          strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        (fstat(fd, &held) != 0 || stat(lock->path, &named) != 0 || held.st_ino != named.st_ino ||
         held.st_dev != named.st_dev)) {
        /* We locked a marker that its holder removed meanwhile (lapse_lock_release): the lock
         * of that orphaned file protects nothing; take the one now at the path. */
        close(fd);
        goto again;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ssize_t n = pread(fd, who, sizeof who - 1, 0);
        who[n > 0 ? n : 0] = '\0';
        who[strcspn(who, "\n")] = '\0';
        close(fd);
        if (err == EWOULDBLOCK)
            return lapse_fail(LAPSE_ECONFIG,
                              "another lapse run is writing %s (%s); wait for it to finish or "
                              "stop it, then run again to continue",
                              output, who[0] ? who : "holder unknown");
        return lapse_fail(LAPSE_EIO, "flock(%s) failed: %s", lock->path, strerror(err));
    }
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    char stamp[32];
    lapse_iso_now(stamp, sizeof stamp);
    int len =
        snprintf(who, sizeof who, "host %s, pid %ld, since %s\n", host, (long)getpid(), stamp);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, who, (size_t)len, 0) != len) {
        int err = errno;
        close(fd);
        return lapse_fail(LAPSE_EIO, "cannot write the lock marker %s: %s", lock->path,
                          strerror(err));
    }
    lock->fd = fd;
    return LAPSE_OK;
}

void lapse_lock_release(lapse_lock_t *lock)
{
    if (lock->fd < 0)
        return;
    unlink(lock->path); /* while still holding the lock: no one else can be between */
    close(lock->fd);
    lock->fd = -1;
}
