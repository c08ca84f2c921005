/*
 * lock.c - the output's writer lock (see lock.h): flock on a marker file holding who took it,
 * and an OFD byte-range lock on the output file itself (its identity).
 */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "types.h"

/* The identity lock's bytes, far beyond any data (locks past the end of a file are allowed):
 * ID_BYTE is the exclusive lock; ID_PID + pid is held too, so a refused run can name the pid. */
#define ID_BYTE  ((off_t)1 << 60)
#define ID_PID   (ID_BYTE + 4096)
#define ID_NPIDS ((off_t)1 << 32)

lapse_status_t lapse_lock_resolve(const char *output, char *buf, size_t len)
{
    char dir[PATH_MAX], real[PATH_MAX];
    struct stat sb;
    if (realpath(output, real) != NULL) {
        snprintf(buf, len, "%s", real);
        return LAPSE_OK;
    }
    if (lstat(output, &sb) == 0)
        return lapse_fail(LAPSE_ECONFIG,
                          "output %s is a symbolic link to a missing file (or a loop of links); "
                          "refusing to write through it",
                          output);
    const char *slash = strrchr(output, '/');
    const char *base = slash ? slash + 1 : output;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - output) : 1,
             slash ? (slash == output ? "/" : output) : ".");
    if (realpath(dir, real) == NULL)
        return lapse_fail(LAPSE_ECONFIG, "output directory %s: %s", dir, strerror(errno));
    snprintf(buf, len, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base);
    return LAPSE_OK;
}

/* Open (creating) the marker at path without following links into *out; refuse anything but a
 * regular file of this user with one link. */
static lapse_status_t open_marker(const char *path, int *out)
{
    struct stat sb;
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ELOOP)
        return lapse_fail(LAPSE_ECONFIG,
                          "the lock marker %s is a symbolic link; refusing to follow it (remove "
                          "it if it is not yours)",
                          path);
    if (fd < 0)
        return lapse_fail(errno == EACCES || errno == EISDIR ? LAPSE_ECONFIG : LAPSE_EIO,
                          "cannot create the lock marker %s: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || sb.st_nlink != 1) {
        close(fd);
        return lapse_fail(LAPSE_ECONFIG,
                          "the lock marker %s exists and is not a regular file of this user with "
                          "one link; refusing to use it (remove it if it is not another user's)",
                          path);
    }
    *out = fd;
    return LAPSE_OK;
}

/* The marker at lock->path is flock'ed by fd: is it still the file at that path? */
static int marker_current(int fd, const char *path)
{
    struct stat held, named;
    return fstat(fd, &held) == 0 && lstat(path, &named) == 0 && held.st_ino == named.st_ino &&
           held.st_dev == named.st_dev;
}

static lapse_status_t refuse_busy(const char *output, const char *who)
{
    return lapse_fail(LAPSE_ECONFIG,
                      "another lapse run is writing %s (%s); wait for it to finish or "
                      "stop it, then run again to continue",
                      output, who[0] ? who : "holder unknown");
}

static lapse_status_t take_marker(const char *output, lapse_lock_t *lock)
{
    char who[512] = "";
    int fd = -1;
    lapse_status_t st;
again:
    if ((st = open_marker(lock->path, &fd)) != LAPSE_OK)
        return st;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ssize_t n = pread(fd, who, sizeof who - 1, 0);
        who[n > 0 ? n : 0] = '\0';
        who[strcspn(who, "\n")] = '\0';
        close(fd);
        if (err == EWOULDBLOCK)
            return refuse_busy(output, who);
        return lapse_fail(LAPSE_EIO, "flock(%s) failed: %s", lock->path, strerror(err));
    }
    if (!marker_current(fd, lock->path)) {
        /* We locked a marker that its holder removed meanwhile (lapse_lock_release): the lock
         * of that orphaned file protects nothing; take the one now at the path. */
        close(fd);
        goto again;
    }
    lock->fd = fd;
    return LAPSE_OK;
}

static lapse_status_t write_who(lapse_lock_t *lock)
{
    char who[512], host[128] = "unknown", stamp[32];
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    lapse_iso_now(stamp, sizeof stamp);
    int len =
        snprintf(who, sizeof who, "host %s, pid %ld, since %s\n", host, (long)getpid(), stamp);
    if (ftruncate(lock->fd, 0) != 0 || pwrite(lock->fd, who, (size_t)len, 0) != len)
        return lapse_fail(LAPSE_EIO, "cannot write the lock marker %s: %s", lock->path,
                          strerror(errno));
    return LAPSE_OK;
}

lapse_status_t lapse_lock_acquire(const char *output, lapse_lock_t *lock)
{
    char real[PATH_MAX];
    lapse_status_t st;
    lock->fd = lock->idfd = -1;
    if ((st = lapse_lock_resolve(output, real, sizeof real)) != LAPSE_OK)
        return st;
    snprintf(lock->path, sizeof lock->path, "%s.lock", real);
    if ((st = take_marker(output, lock)) != LAPSE_OK)
        return st;
    st = write_who(lock);
    if (st == LAPSE_OK && access(real, F_OK) == 0)
        st = lapse_lock_identity(lock, real);
    if (st != LAPSE_OK)
        lapse_lock_release(lock);
    return st;
}

static int ofd_lock(int fd, short type, off_t start, off_t len, int cmd, struct flock *fl)
{
    memset(fl, 0, sizeof *fl);
    fl->l_type = type;
    fl->l_whence = SEEK_SET;
    fl->l_start = start;
    fl->l_len = len;
    return fcntl(fd, cmd, fl);
}

lapse_status_t lapse_lock_identity_fd(int fd, const char *name)
{
    struct flock fl;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return lapse_fail(LAPSE_ECONFIG, "output %s cannot be locked: not a regular file", name);
    if (ofd_lock(fd, F_WRLCK, ID_BYTE, 1, F_OFD_SETLK, &fl) != 0) {
        int err = errno;
        char who[128] = "";
        if ((err == EAGAIN || err == EACCES) &&
            ofd_lock(fd, F_WRLCK, ID_PID, ID_NPIDS, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
            snprintf(who, sizeof who, "pid %lld, through another name of the file",
                     (long long)(fl.l_start - ID_PID));
        if (err == EAGAIN || err == EACCES)
            return refuse_busy(name, who[0] ? who : "through another name of the file");
        return lapse_fail(LAPSE_EIO, "fcntl(F_OFD_SETLK, %s) failed: %s", name, strerror(err));
    }
    ofd_lock(fd, F_WRLCK, ID_PID + (off_t)getpid(), 1, F_OFD_SETLK, &fl); /* best effort */
    return LAPSE_OK;
}

/* 1 when another process holds the identity lock of the file at path (opened read-only, the
 * lock queried), with "pid N" in who[len] where known. */
static int identity_held(const char *path, char *who, size_t len)
{
    struct flock fl;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int busy = ofd_lock(fd, F_WRLCK, ID_BYTE, 1, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    if (busy && ofd_lock(fd, F_WRLCK, ID_PID, ID_NPIDS, F_OFD_GETLK, &fl) == 0 &&
        fl.l_type != F_UNLCK)
        snprintf(who, len, "pid %lld", (long long)(fl.l_start - ID_PID));
    close(fd);
    return busy;
}

int lapse_lock_busy(const char *output, char *who, size_t len)
{
    char real[PATH_MAX], staging[PATH_MAX + 16];
    snprintf(who, len, "%s", "");
    if (lapse_lock_resolve(output, real, sizeof real) != LAPSE_OK) { /* a dangling link */
        lapse_err_clear();
        return 0;
    }
    /* the output, or the staging file of one being made (the lock follows it into place) */
    snprintf(staging, sizeof staging, "%s.creating", real);
    return identity_held(real, who, len) || identity_held(staging, who, len);
}

void lapse_lock_adopt(lapse_lock_t *lock, int fd)
{
    if (fd < 0)
        return;
    if (lock->idfd >= 0)
        close(lock->idfd);
    lock->idfd = fd;
}

lapse_status_t lapse_lock_identity(lapse_lock_t *lock, const char *file)
{
    int fd = open(file, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return lapse_fail(LAPSE_ECONFIG, "output %s cannot be locked: %s", file, strerror(errno));
    lapse_status_t st = lapse_lock_identity_fd(fd, file);
    if (st != LAPSE_OK) {
        close(fd);
        return st;
    }
    lapse_lock_adopt(lock, fd);
    return LAPSE_OK;
}

void lapse_lock_release(lapse_lock_t *lock)
{
    if (lock->idfd >= 0)
        close(lock->idfd);
    lock->idfd = -1;
    if (lock->fd < 0)
        return;
    unlink(lock->path); /* while still holding the lock: no one else can be between */
    close(lock->fd);
    lock->fd = -1;
}
