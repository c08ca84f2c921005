/*
 * rawwrite.h - one background thread per rank that writes a task's result bytes with pwrite at
 * file offsets the caller computed (h5out.c: the file addresses of an unfiltered dataset's
 * chunks, allocated when the file was created), so that the main thread can read the next
 * task's input through HDF5 meanwhile. It makes no HDF5 or MPI call (Debian's parallel HDF5 is
 * not thread-safe): only pwrite on its own descriptor of the output file. One job at a time:
 * lapse_raw_post hands over a list of segments, lapse_raw_wait waits for it; the memory the
 * segments point at must stay untouched until the wait returns. The caller writes a task's done
 * mark only after lapse_raw_wait returned LAPSE_OK (data before mark, docs/reliability.md).
 */
#ifndef LAPSE_RAWWRITE_H
#define LAPSE_RAWWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* A run of bytes: len bytes at mem go to file offset off. */
typedef struct {
    int64_t off;
    const void *mem;
    size_t len;
} lapse_raw_seg_t;

typedef struct lapse_raw lapse_raw_t;

/* Open path for writing (it must exist) and start the thread. *out = NULL on failure. */
lapse_status_t lapse_raw_open(const char *path, lapse_raw_t **out);

/* Hand over n segments (copied) to the thread; a job must not be pending. file: the file they
 * go to (an existing file; the thread opens it in place of the one it holds when it differs:
 * output.parts), or NULL for the file given to lapse_raw_open. what names the job in an error
 * message ("output /result of task 7"). */
lapse_status_t lapse_raw_post(lapse_raw_t *r, const char *file, const lapse_raw_seg_t *seg, int n,
                              const char *what);

/* Write n segments into the existing file at path now, on the calling thread (open, pwrite in
 * the same pieces as the thread, close): LAPSE_OK, or LAPSE_EIO naming path, what, the offset
 * and the system's error. */
lapse_status_t lapse_raw_write_now(const char *path, const lapse_raw_seg_t *seg, int n,
                                   const char *what);

/* 1 while a posted job has not been waited for. */
int lapse_raw_pending(const lapse_raw_t *r);

/* Wait for the posted job (none: returns at once). Returns LAPSE_OK when every byte was
 * written, else LAPSE_EIO naming pwrite, the job, the file offset and the system's error. *seconds
 * (may be NULL) receives the time the thread spent writing. */
lapse_status_t lapse_raw_wait(lapse_raw_t *r, double *seconds);

/* Wait for a pending job (its result is dropped), stop the thread, close the descriptor.
 * NULL accepted. */
void lapse_raw_close(lapse_raw_t *r);

#endif
