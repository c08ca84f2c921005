/*
 * hostmem.h - host memory for the large tile data of global steps (src/exec/phases_data.c):
 * how much the process may use (its cgroup's limit),
 * allocations that fresh pages fill quickly, and copies split over threads.
 */
#ifndef LAPSE_EXEC_HOSTMEM_H
#define LAPSE_EXEC_HOSTMEM_H

#include <stddef.h>

/* malloc(bytes) (at least one byte), released with free(). From 4 MiB on, the 2 MiB-aligned
 * part of the block is advised to transparent huge pages (madvise MADV_HUGEPAGE), so its first
 * touch faults once per 2 MiB instead of once per 4 KiB where the kernel offers them; the advice
 * is only advice (refused: 4 KiB pages). NULL when out of memory. */
void *lapse_hostmem_alloc(size_t bytes);

/* The threads a copy of `bytes` is split over: 1 below 32 MiB, else up to LAPSE_COPY_THREADS
 * (default 8; 1 turns the splitting off), one per 16 MiB, no more than this process's CPUs. */
int lapse_hostmem_parts(size_t bytes);

/* Run fn(arg, p, n) for p = 0 .. n - 1 at once, n = lapse_hostmem_parts(bytes): part 0 on the
 * caller, the others on threads; a part whose thread cannot start runs on the caller. Returns
 * when every part is done. The parts must touch disjoint memory. */
void lapse_hostmem_par(void (*fn)(void *arg, int part, int nparts), void *arg, size_t bytes);

/* memcpy(dst, src, bytes) split over lapse_hostmem_parts(bytes) threads. */
void lapse_hostmem_copy(void *dst, const void *src, size_t bytes);

/* Bytes of memory this process may use: the host's, or less where a cgroup limits it (Slurm's
 * --mem, a container): the least memory.max (cgroup v2) or memory.limit_in_bytes (v1) of the
 * process's cgroup and of every cgroup above it (Slurm limits job_N or step_M; its tasks sit in
 * unlimited task_K cgroups below), and of the mount's root (a container's view). 0 when
 * unknown. */
unsigned long long lapse_hostmem_limit(void);

/* Bytes of memory this process holds now (VmRSS of /proc/self/status); 0 when unknown. */
unsigned long long lapse_hostmem_rss(void);

/* lapse_hostmem_limit with its inputs named, for tests: cgroup_file in the format of
 * /proc/self/cgroup, sys_root the cgroup mount (/sys/fs/cgroup; v1 controllers below it, as
 * sys_root/memory), host the host's memory in bytes. */
unsigned long long lapse_hostmem_limit_at(const char *cgroup_file, const char *sys_root,
                                          unsigned long long host);

#endif
