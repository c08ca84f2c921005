/*
 * write_modes.c - how fast can N processes write disjoint regions of ONE file, by each way the
 * background writer (src/io/rawwrite.c) could write them? The question behind issue 12's
 * 4-rank gap: buffered pwrite()s of several processes into one file take the file's inode lock
 * in turn on Linux's local file systems, so their rates do not add up; writes through a shared
 * mapping fault pages in under shared locks only. Modes:
 *   pwrite      pwrite() of each segment into the one file (lapse's writer before)
 *   mmap        the segment's pages mapped MAP_SHARED, filled by memcpy, unmapped
 *   mmap-pop    the same, with madvise(MADV_POPULATE_WRITE) before the copy
 *   files       pwrite() into one file per process (what the peer loop does)
 *   direct      pwrite() with O_DIRECT (page-aligned buffer and offsets) into the one file
 * A mode prefixed "falloc-" first reserves the file's blocks with fallocate() (unwritten
 * extents) instead of leaving it sparse.
 * Usage: write_modes DIR NPROC TASKS TASK_MIB SEG_MIB MODE...
 * The file is created sparse at its full size (as HDF5's early allocation leaves it); task i is
 * written by process i % NPROC in SEG_MIB pieces. Prints one line per mode: seconds (slowest
 * process, between two pipe barriers), aggregate GB/s, and summed write seconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* Write [off, off+len) of fd from buf by the given mode; 0 or -1. */
static int put(int fd, const char *mode, const char *buf, size_t len, off_t off)
{
    if (strncmp(mode, "falloc-", 7) == 0)
        mode += 7;
    if (strcmp(mode, "pwrite") == 0 || strcmp(mode, "files") == 0 || strcmp(mode, "direct") == 0) {
        size_t done = 0;
        while (done < len) {
            ssize_t n = pwrite(fd, buf + done, len - done, off + (off_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return -1;
            done += (size_t)n;
        }
        return 0;
    }
    long pg = sysconf(_SC_PAGESIZE);
    off_t base = off - off % pg;
    size_t maplen = len + (size_t)(off - base);
    char *m = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, base);
    if (m == MAP_FAILED)
        return -1;
    if (strcmp(mode, "mmap-pop") == 0 && madvise(m, maplen, MADV_POPULATE_WRITE) != 0)
        return -1;
    memcpy(m + (off - base), buf, len);
    return munmap(m, maplen);
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s DIR NPROC TASKS TASK_MIB SEG_MIB MODE...\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int np = atoi(argv[2]), tasks = atoi(argv[3]);
    size_t task = (size_t)atol(argv[4]) << 20, seg = (size_t)atol(argv[5]) << 20;
    char *buf = NULL;
    if (posix_memalign((void **)&buf, 4096, task))
        die("posix_memalign");
    for (size_t i = 0; i < task; i++)
        buf[i] = (char)(i * 2654435761u >> 13);
    for (int mi = 6; mi < argc; mi++) {
        const char *mode = argv[mi];
        char path[4096];
        int files = strstr(mode, "files") != NULL; /* files or falloc-files */
        for (int p = 0; p < (files ? np : 1); p++) {
            snprintf(path, sizeof path, "%s/wm-%d.bin", dir, p);
            unlink(path);
            int fd = open(path, O_CREAT | O_RDWR, 0644);
            off_t size = (off_t)(files ? (tasks + np - 1) / np : tasks) * (off_t)task;
            if (fd < 0 || ftruncate(fd, size))
                die(path);
            if (strncmp(mode, "falloc-", 7) == 0 && fallocate(fd, 0, 0, size))
                die("fallocate");
            close(fd);
        }
        int go[2], res[2];
        if (pipe(go) || pipe(res))
            die("pipe");
        for (int p = 0; p < np; p++) {
            if (fork() == 0) {
                snprintf(path, sizeof path, "%s/wm-%d.bin", dir, files ? p : 0);
                int direct = strstr(mode, "direct") != NULL;
                int fd = open(path, O_RDWR | (direct ? O_DIRECT : 0));
                char c;
                if (fd < 0 || read(go[0], &c, 1) != 1)
                    die("child");
                double t0 = now(), tw = 0;
                for (int t = p, k = 0; t < tasks; t += np, k++) {
                    off_t at = (off_t)(files ? k : t) * (off_t)task;
                    for (size_t s = 0; s < task; s += seg) {
                        double a = now();
                        if (put(fd, mode, buf + s, seg < task - s ? seg : task - s, at + (off_t)s))
                            die(mode);
                        tw += now() - a;
                    }
                }
                double r[2] = {now() - t0, tw};
                if (write(res[1], r, sizeof r) != sizeof r)
                    die("write");
                _exit(0);
            }
        }
        sync();
        double t0 = now(), slow = 0, sum = 0;
        for (int p = 0; p < np; p++)
            if (write(go[1], "g", 1) != 1)
                die("go");
        for (int p = 0; p < np; p++) {
            double r[2];
            if (read(res[0], r, sizeof r) != sizeof r)
                die("result");
            slow = r[0] > slow ? r[0] : slow;
            sum += r[1];
        }
        double wall = now() - t0;
        while (wait(NULL) > 0)
            ;
        printf("write_modes mode=%s procs=%d bytes=%zu wall=%.4f slowest=%.4f GBps=%.2f "
               "summed_write=%.4f\n",
               mode, np, (size_t)tasks * task, wall, slow,
               (double)tasks * (double)task / wall / 1e9, sum);
        fflush(stdout);
        close(go[0]), close(go[1]), close(res[0]), close(res[1]);
        for (int p = 0; p < (files ? np : 1); p++) {
            snprintf(path, sizeof path, "%s/wm-%d.bin", dir, p);
            unlink(path);
        }
    }
    free(buf);
    return 0;
}
