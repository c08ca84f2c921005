/*
 * bench_startup.c - the OpenCL part of lapse's start-up in one process: choose the device, open
 * it (lapse_cl_open) and create the pipeline's kernels (lapse_opcl_create, the variant chosen by
 * LAPSE_KERNELS), timed with CLOCK_MONOTONIC. Prints one line
 *   startup,<device>,<open_ms>,<create_ms>,<total_ms>
 * bench/startup.sh runs it in fresh processes (PoCL's and the drivers' kernel caches warm or
 * cold) and takes medians. Uses only lapse_cl_choose / lapse_cl_open / lapse_opcl_create, so
 * that the same file builds against older trees for a before/after comparison.
 *
 * usage: bench_startup [--device-kind gpu|cpu|any]   (default any)
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clrt.h"
#include "ops_cl.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static lapse_status_t run(lapse_devkind_t kind)
{
    lapse_status_t st = LAPSE_OK;
    lapse_cl_choice_t c;
    lapse_cl_t *cl = NULL;
    lapse_opcl_t *k = NULL;
    double t0 = now_ms();
    LAPSE_TRY(lapse_cl_choose(kind, -1, 0, &c));
    LAPSE_TRY(lapse_cl_open(&c, &cl));
    double t1 = now_ms();
    LAPSE_TRY(lapse_opcl_create(cl, &k));
    LAPSE_CL(clFinish(cl->queue));
    double t2 = now_ms();
    printf("startup,%s,%.1f,%.1f,%.1f\n", c.name, t1 - t0, t2 - t1, t2 - t0);
cleanup:
    lapse_opcl_destroy(k);
    lapse_cl_close(cl);
    return st;
}

int main(int argc, char **argv)
{
    lapse_devkind_t kind = LAPSE_DEV_ANY;
    lapse_status_t st = LAPSE_OK;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "--device-kind") == 0 && strcmp(v, "gpu") == 0)
            kind = LAPSE_DEV_GPU;
        else if (strcmp(argv[i], "--device-kind") == 0 && strcmp(v, "cpu") == 0)
            kind = LAPSE_DEV_CPU;
        else if (strcmp(argv[i], "--device-kind") == 0 && strcmp(v, "any") == 0)
            kind = LAPSE_DEV_ANY;
        else {
            fprintf(stderr, "usage: bench_startup [--device-kind gpu|cpu|any]\n");
            return 2;
        }
        i++;
    }
    st = run(kind);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    return lapse_exit_code(st);
}
