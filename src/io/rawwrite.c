/*
 * rawwrite.c - the background writer of rawwrite.h: a thread that waits for a job (a list of
 * segments), pwrites each one completely (retrying short writes and EINTR), records the first
 * failure, and signals the job done. Mutex + condition variable; no HDF5, no MPI.
 */
#include "io/rawwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct lapse_raw {
    int fd;
    char path[4400];
    pthread_t thread;
    pthread_mutex_t m;
    pthread_cond_t c;
    int started, quit;
    /* the job: posted (waiting or running) until done */
    int posted, done;
    char next[4400]; /* the job's file ("" = the one held) */
    lapse_raw_seg_t *seg;
    int nseg, capseg;
    char what[256];
    /* its result */
    int err;         /* errno of the first failure, 0 if none */
    int64_t err_off; /* file offset of that failure */
    double seconds;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The largest single pwrite. A buffered write holds the file's inode lock for its whole length
 * on Linux's local file systems, and every rank writes into the one output file: a 128 MiB
 * segment in one call (~35 ms at 3.8 GB/s) would keep the other ranks' done marks and HDF5
 * metadata writes waiting that long. Pieces of 4 MiB cost nothing in throughput
 * (bench/write_modes.c: 1 MiB and 128 MiB pieces wrote at the same rate). */
#define WRITE_PIECE ((size_t)4 << 20)

/* Write one segment completely, in pieces of at most WRITE_PIECE bytes; 0 or an errno value
 * (*at: the offset that failed). */
static int write_seg(int fd, const lapse_raw_seg_t *s, int64_t *at)
{
    const char *p = s->mem;
    size_t left = s->len;
    int64_t off = s->off;
    while (left > 0) {
        ssize_t n = pwrite(fd, p, left < WRITE_PIECE ? left : WRITE_PIECE, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *at = off;
            return n < 0 ? errno : EIO;
        }
        p += n;
        off += n;
        left -= (size_t)n;
    }
    return 0;
}

static void *writer(void *arg)
{
    lapse_raw_t *r = arg;
    pthread_mutex_lock(&r->m);
    for (;;) {
        while (!r->quit && !(r->posted && !r->done))
            pthread_cond_wait(&r->c, &r->m);
        if (r->quit)
            break;
        pthread_mutex_unlock(&r->m);
        double t0 = now();
        int err = 0;
        int64_t at = 0;
        if (r->next[0] && (r->fd < 0 || strcmp(r->next, r->path) != 0)) { /* output.parts */
            if (r->fd >= 0)
                close(r->fd);
            snprintf(r->path, sizeof r->path, "%s", r->next);
            if ((r->fd = open(r->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
                err = errno, at = -1;
        }
        for (int i = 0; i < r->nseg && err == 0; i++)
            err = write_seg(r->fd, &r->seg[i], &at);
        double dt = now() - t0;
        pthread_mutex_lock(&r->m);
        r->err = err;
        r->err_off = at;
        r->seconds = dt;
        r->done = 1;
        pthread_cond_broadcast(&r->c);
    }
    pthread_mutex_unlock(&r->m);
    return NULL;
}

lapse_status_t lapse_raw_open(const char *path, lapse_raw_t **out)
{
    lapse_status_t st = LAPSE_OK;
    lapse_raw_t *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return lapse_fail(LAPSE_ENOMEM, "out of memory for the output writer");
    r->fd = -1;
    snprintf(r->path, sizeof r->path, "%s", path);
    pthread_mutex_init(&r->m, NULL);
    pthread_cond_init(&r->c, NULL);
    if ((r->fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
        LAPSE_FAIL(LAPSE_EIO, "cannot open %s for the output writer: %s", path, strerror(errno));
    int e = pthread_create(&r->thread, NULL, writer, r);
    if (e != 0)
        LAPSE_FAIL(LAPSE_ERUNTIME, "cannot start the output writer thread: %s", strerror(e));
    r->started = 1;
    *out = r;
    r = NULL;
cleanup:
    lapse_raw_close(r);
    return st;
}

lapse_status_t lapse_raw_write_now(const char *path, const lapse_raw_seg_t *seg, int n,
                                   const char *what)
{
    int64_t at = -1;
    int err = 0, fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        err = errno;
    for (int i = 0; i < n && err == 0; i++)
        err = write_seg(fd, &seg[i], &at);
    if (fd >= 0 && close(fd) != 0 && err == 0)
        err = errno;
    if (err != 0 && at < 0)
        return lapse_fail(LAPSE_EIO, "open of %s for %s failed: %s", path, what, strerror(err));
    if (err != 0)
        return lapse_fail(LAPSE_EIO, "pwrite of %s into %s failed at byte offset %lld: %s", what,
                          path, (long long)at, strerror(err));
    return LAPSE_OK;
}

lapse_status_t lapse_raw_post(lapse_raw_t *r, const char *file, const lapse_raw_seg_t *seg, int n,
                              const char *what)
{
    if (r->posted)
        return lapse_fail(LAPSE_ERUNTIME, "output writer: a job is still pending (%s)", r->what);
    if (n > r->capseg) {
        lapse_raw_seg_t *s = realloc(r->seg, (size_t)n * sizeof *s);
        if (!s)
            return lapse_fail(LAPSE_ENOMEM, "out of memory for %d output segments", n);
        r->seg = s;
        r->capseg = n;
    }
    pthread_mutex_lock(&r->m);
    memcpy(r->seg, seg, (size_t)n * sizeof *seg);
    r->nseg = n;
    snprintf(r->next, sizeof r->next, "%s", file ? file : "");
    snprintf(r->what, sizeof r->what, "%s", what);
    r->posted = 1;
    r->done = 0;
    r->err = 0;
    pthread_cond_broadcast(&r->c);
    pthread_mutex_unlock(&r->m);
    return LAPSE_OK;
}

int lapse_raw_pending(const lapse_raw_t *r)
{
    return r != NULL && r->posted;
}

/* Wait for the posted job to be done and clear it; its errno (0: written). */
static int wait_done(lapse_raw_t *r, int64_t *at, double *seconds)
{
    pthread_mutex_lock(&r->m);
    while (!r->done)
        pthread_cond_wait(&r->c, &r->m);
    int err = r->err;
    *at = r->err_off;
    if (seconds)
        *seconds = r->seconds;
    r->posted = 0;
    pthread_mutex_unlock(&r->m);
    return err;
}

lapse_status_t lapse_raw_wait(lapse_raw_t *r, double *seconds)
{
    int64_t at = 0;
    if (seconds)
        *seconds = 0;
    if (r == NULL || !r->posted)
        return LAPSE_OK;
    int err = wait_done(r, &at, seconds);
    if (err != 0 && at < 0)
        return lapse_fail(LAPSE_EIO, "open of %s for %s failed: %s", r->path, r->what,
                          strerror(err));
    if (err != 0)
        return lapse_fail(LAPSE_EIO, "pwrite of %s into %s failed at byte offset %lld: %s", r->what,
                          r->path, (long long)at, strerror(err));
    return LAPSE_OK;
}

void lapse_raw_close(lapse_raw_t *r)
{
    if (r == NULL)
        return;
    if (r->started) {
        int64_t at;
        if (r->posted)
            (void)wait_done(r, &at, NULL);
        pthread_mutex_lock(&r->m);
        r->quit = 1;
        pthread_cond_broadcast(&r->c);
        pthread_mutex_unlock(&r->m);
        pthread_join(r->thread, NULL);
    }
    if (r->fd >= 0)
        close(r->fd);
    pthread_mutex_destroy(&r->m);
    pthread_cond_destroy(&r->c);
    free(r->seg);
    free(r);
}
