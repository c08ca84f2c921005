/*
 * hostmem.c - host memory for the large tile data of global steps, and how much of it the
 * process may use: the host's memory or its cgroup's limit (see hostmem.h). Measured on
 * the lent H200 host (docs/benchmarks.md, run AP): storing 6.4 GiB of fresh tile data took
 * 4.7 s, nearly all of it page faults on first touch (one per 4 KiB); huge pages and copies on
 * several threads take that down.
 */
#define _GNU_SOURCE
#include "exec/hostmem.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_2M   ((size_t)2 << 20)
#define PAR_MIN   ((size_t)32 << 20) /* below this a copy stays on one thread */
#define PAR_CHUNK ((size_t)16 << 20) /* at least this much per thread */
#define PAR_MAX   64

void *lapse_hostmem_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
#ifdef MADV_HUGEPAGE
    if (p && bytes >= 2 * HUGE_2M) {
        uintptr_t lo = ((uintptr_t)p + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1);
        uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)(HUGE_2M - 1);
        /* advice only: refused (no THP in this kernel, EINVAL), the block keeps 4 KiB pages */
        if (hi > lo)
            (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    }
#endif
    return p;
}

int lapse_hostmem_parts(size_t bytes)
{
    if (bytes < PAR_MIN)
        return 1;
    const char *env = getenv("LAPSE_COPY_THREADS");
    long most = env && *env ? strtol(env, NULL, 10) : 8;
    most = most < 1 ? 1 : most > PAR_MAX ? PAR_MAX : most;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) < most)
        most = CPU_COUNT(&set);
    size_t n = bytes / PAR_CHUNK;
    return (int)(n < (size_t)most ? (n < 1 ? 1 : n) : (size_t)most);
}

typedef struct {
    void (*fn)(void *, int, int);
    void *arg;
    int part, nparts;
} par_job_t;

static void *par_main(void *v)
{
    par_job_t *j = v;
    j->fn(j->arg, j->part, j->nparts);
    return NULL;
}

void lapse_hostmem_par(void (*fn)(void *arg, int part, int nparts), void *arg, size_t bytes)
{
    const int n = lapse_hostmem_parts(bytes);
    par_job_t job[PAR_MAX];
    pthread_t th[PAR_MAX];
    int started[PAR_MAX] = {0};
    for (int p = 1; p < n; p++) {
        job[p] = (par_job_t){fn, arg, p, n};
        started[p] = pthread_create(&th[p], NULL, par_main, &job[p]) == 0;
    }
    fn(arg, 0, n);
    for (int p = 1; p < n; p++) {
        if (started[p])
            (void)pthread_join(th[p], NULL); /* cannot fail: a joinable thread of ours */
        else
            fn(arg, p, n); /* its thread did not start: the caller runs the part */
    }
}

typedef struct {
    char *dst;
    const char *src;
    size_t bytes;
} copy_job_t;

static void copy_part(void *v, int part, int nparts)
{
    const copy_job_t *c = v;
    const size_t lo = c->bytes / (size_t)nparts * (size_t)part;
    const size_t hi =
        part == nparts - 1 ? c->bytes : c->bytes / (size_t)nparts * (size_t)(part + 1);
    memcpy(c->dst + lo, c->src + lo, hi - lo);
}

void lapse_hostmem_copy(void *dst, const void *src, size_t bytes)
{
    copy_job_t c = {dst, src, bytes};
    lapse_hostmem_par(copy_part, &c, bytes);
}

/* The value in file `path` (a cgroup's memory limit) when it is a number below *best. */
static void limit_from(const char *path, unsigned long long *best)
{
    char buf[64];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    if (fgets(buf, sizeof buf, f) && buf[0] >= '0' && buf[0] <= '9') {
        unsigned long long v = strtoull(buf, NULL, 10);
        if (v > 0 && v < *best)
            *best = v;
    }
    fclose(f);
}

/* Bytes of memory this process may use: the host's, or less where a cgroup limits it (Slurm's
 * --mem, a container): the least memory.max (v2) or memory.limit_in_bytes (v1) of the process's
 * cgroup and every cgroup above it (Slurm puts the limit on job_N or step_M and the task in an
 * unlimited task_K below), and of the root of the mount (a container's view). The testable
 * core of lapse_hostmem_limit: cgroup_file is /proc/self/cgroup's text, sys_root the cgroup
 * mount (/sys/fs/cgroup), host the host's memory (0: unknown, and so the result). */
unsigned long long lapse_hostmem_limit_at(const char *cgroup_file, const char *sys_root,
                                          unsigned long long host)
{
    unsigned long long best = host;
    char line[512], path[1024], v2[512], v1[512];
    snprintf(v2, sizeof v2, "%s", sys_root);
    snprintf(v1, sizeof v1, "%s/memory", sys_root);
    FILE *f = fopen(cgroup_file, "r");
    while (f && best && fgets(line, sizeof line, f)) { /* "N:controllers:/path" */
        char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;
        if (p == NULL)
            continue;
        p[strcspn(p, "\n")] = '\0';
        const char *dir = p == c + 1 ? v2 : strncmp(c + 1, "memory:", 7) == 0 ? v1 : NULL;
        const char *file = p == c + 1 ? "memory.max" : "memory.limit_in_bytes";
        if (dir == NULL)
            continue;
        char *cg = p + 1; /* the cgroup's path, then each parent's, up to the root */
        for (;;) {
            if (snprintf(path, sizeof path, "%s%s/%s", dir, strcmp(cg, "/") ? cg : "", file) <
                (int)sizeof path)
                limit_from(path, &best);
            char *slash = strrchr(cg, '/');
            if (slash == NULL || slash == cg)
                break;
            *slash = '\0';
        }
        snprintf(path, sizeof path, "%s/%s", dir, file);
        limit_from(path, &best);
    }
    if (f)
        fclose(f);
    return best;
}

unsigned long long lapse_hostmem_limit(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    return lapse_hostmem_limit_at("/proc/self/cgroup", "/sys/fs/cgroup",
                                  pages > 0 && size > 0 ? (unsigned long long)pages * size : 0);
}

unsigned long long lapse_hostmem_rss(void)
{
    unsigned long long kib = 0;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtoull(line + 6, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kib * 1024ULL;
}
