/*
 * test_hostmem.c - the host copies of tile data split over threads (src/exec/hostmem.c) and the
 * box copy of the rounds (ph_copy_box, src/exec/phases_data.c) give the bytes of one plain copy:
 * a 48 MiB memcpy and a 49 MiB box of 8-byte voxels at odd offsets, with 1, 2 and 3 threads
 * (LAPSE_COPY_THREADS), where the split really happens (more than one part when the process
 * has two CPUs). And the huge-page allocation is plain memory: writable end to end, freed with
 * free(). And the memory limit is read from the cgroups above the process's own (Slurm's).
 */
#define _GNU_SOURCE
#include <check.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exec/hostmem.h"
#include "exec/phases_int.h"

static int cpus(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
}

/* A byte pattern that differs between neighbouring bytes and 4 KiB pages. */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 2654435761u >> 7) ^ (i >> 12) ^ seed);
}

START_TEST(test_copy_threads)
{
    const size_t n = (size_t)48 << 20;
    unsigned char *src = lapse_hostmem_alloc(n), *dst = lapse_hostmem_alloc(n);
    ck_assert(src != NULL && dst != NULL);
    fill(src, n, 7);
    static const char *const threads[] = {"1", "2", "3"};
    for (int t = 0; t < 3; t++) {
        ck_assert_int_eq(setenv("LAPSE_COPY_THREADS", threads[t], 1), 0);
        const int parts = lapse_hostmem_parts(n), want = atoi(threads[t]);
        ck_assert_int_eq(parts, want < cpus() ? want : cpus());
        memset(dst, 0, n);
        lapse_hostmem_copy(dst, src, n);
        ck_assert_msg(memcmp(dst, src, n) == 0, "%s threads: the copy differs", threads[t]);
    }
    ck_assert_int_eq(lapse_hostmem_parts((size_t)1 << 20), 1); /* small: one thread */
    unsetenv("LAPSE_COPY_THREADS");
    free(src);
    free(dst);
}
END_TEST

START_TEST(test_copy_box_threads)
{
    const size_t e = 8;
    const lapse_box_t sb = {{1, 2, 3}, {27, 301, 1103}}, db = {{2, 5, 5}, {25, 290, 1010}};
    const lapse_box_t b = {{3, 10, 7}, {23, 280, 1000}}; /* inside both, 49 MiB */
    const size_t ns = (size_t)(sb.dim[0] * sb.dim[1] * sb.dim[2]) * e;
    const size_t nd = (size_t)(db.dim[0] * db.dim[1] * db.dim[2]) * e;
    unsigned char *src = malloc(ns), *dst = malloc(nd), *want = malloc(nd);
    ck_assert(src && dst && want);
    fill(src, ns, 3);
    memset(want, 0xA5, nd);
    for (int64_t z = 0; z < b.dim[0]; z++) /* the plain copy, voxel row by voxel row */
        for (int64_t y = 0; y < b.dim[1]; y++) {
            const int64_t gz = b.off[0] + z, gy = b.off[1] + y, gx = b.off[2];
            const size_t di = (size_t)(((gz - db.off[0]) * db.dim[1] + gy - db.off[1]) * db.dim[2] +
                                       gx - db.off[2]);
            const size_t si = (size_t)(((gz - sb.off[0]) * sb.dim[1] + gy - sb.off[1]) * sb.dim[2] +
                                       gx - sb.off[2]);
            memcpy(want + di * e, src + si * e, (size_t)b.dim[2] * e);
        }
    static const char *const threads[] = {"1", "2", "3"};
    for (int t = 0; t < 3; t++) {
        ck_assert_int_eq(setenv("LAPSE_COPY_THREADS", threads[t], 1), 0);
        const int want_parts = atoi(threads[t]) < cpus() ? atoi(threads[t]) : cpus();
        ck_assert_int_eq(lapse_hostmem_parts((size_t)(b.dim[0] * b.dim[1] * b.dim[2]) * e),
                         want_parts);
        memset(dst, 0xA5, nd);
        ph_copy_box((char *)dst, &db, (const char *)src, &sb, &b, e);
        ck_assert_msg(memcmp(dst, want, nd) == 0, "%s threads: the box copy differs", threads[t]);
    }
    unsetenv("LAPSE_COPY_THREADS");
    free(src);
    free(dst);
    free(want);
}
END_TEST

START_TEST(test_alloc)
{
    const size_t n = ((size_t)9 << 20) + 123; /* spans 2 MiB-aligned pages and ragged ends */
    unsigned char *p = lapse_hostmem_alloc(n);
    ck_assert_ptr_nonnull(p);
    memset(p, 0x5A, n);
    ck_assert_uint_eq(p[0], 0x5A);
    ck_assert_uint_eq(p[n - 1], 0x5A);
    free(p);
    void *z = lapse_hostmem_alloc(0);
    ck_assert_ptr_nonnull(z);
    free(z);
}
END_TEST

/* Write text into file dir/rel, making the directories on the way. */
static void put(const char *dir, const char *rel, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    for (char *c = p + strlen(dir) + 1; (c = strchr(c, '/')) != NULL; c++) {
        *c = '\0';
        mkdir(p, 0755);
        *c = '/';
    }
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* The memory a process may use under Slurm's cgroups: the limit sits on the job (v2: job_5, v1:
 * job_7's step) while the task's own cgroup is unlimited ("max", or v1's huge number). Before
 * 2026-12-02 only the process's own cgroup and the mount's root were read, which missed it. */
START_TEST(test_cgroup_limit)
{
    char dir[] = "/tmp/lapse-cgroup-XXXXXX", cg[1100];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const unsigned long long host = 64ULL << 30;
    /* cgroup v2 */
    put(dir, "proc2", "0::/system.slice/slurmstepd.scope/job_5/step_0/user/task_0\n");
    put(dir, "sys/system.slice/slurmstepd.scope/job_5/memory.max", "4294967296\n");
    put(dir, "sys/system.slice/slurmstepd.scope/job_5/step_0/memory.max", "max\n");
    put(dir, "sys/system.slice/slurmstepd.scope/job_5/step_0/user/task_0/memory.max", "max\n");
    put(dir, "sys/memory.max", "max\n");
    snprintf(cg, sizeof cg, "%s/proc2", dir);
    char sys[1100];
    snprintf(sys, sizeof sys, "%s/sys", dir);
    ck_assert_uint_eq(lapse_hostmem_limit_at(cg, sys, host), 4ULL << 30);
    /* cgroup v1 (memory controller), the limit on the step */
    put(dir, "proc1", "4:memory:/slurm/uid_0/job_7/step_batch/task_0\n1:cpu:/\n");
    put(dir, "sys/memory/slurm/uid_0/job_7/step_batch/memory.limit_in_bytes", "2147483648\n");
    put(dir, "sys/memory/slurm/uid_0/job_7/step_batch/task_0/memory.limit_in_bytes",
        "9223372036854771712\n");
    snprintf(cg, sizeof cg, "%s/proc1", dir);
    ck_assert_uint_eq(lapse_hostmem_limit_at(cg, sys, host), 2ULL << 30);
    /* no limit anywhere: the host's memory; a host smaller than the limit wins */
    put(dir, "proc0", "0::/user.slice\n");
    snprintf(cg, sizeof cg, "%s/proc0", dir);
    ck_assert_uint_eq(lapse_hostmem_limit_at(cg, sys, host), host);
    snprintf(cg, sizeof cg, "%s/proc2", dir);
    ck_assert_uint_eq(lapse_hostmem_limit_at(cg, sys, 1ULL << 30), 1ULL << 30);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostmem");
    TCase *tc = tcase_create("hostmem");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_copy_threads);
    tcase_add_test(tc, test_copy_box_threads);
    tcase_add_test(tc, test_alloc);
    tcase_add_test(tc, test_cgroup_limit);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
