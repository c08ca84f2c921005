/*
 * bench_startup.c - the OpenCL part of lapse's start-up in one process: choose the device, open
 * it (lapse_cl_open: context and queue, no program), then create the pipeline of
 * bench/startup.sh's tiny run (gaussian_blur sigma 1, threshold_fixed) and run it once on an
 * 8 x 64 x 64 uint16 box, which builds the kernel programs that pipeline needs (one per kernel
 * file, on first use) and nothing else; timed with CLOCK_MONOTONIC. Prints one line
 *   startup,<device>,<open_ms>,<create_ms>,<total_ms>
 * (create_ms: pipeline creation + first run, including the program builds). bench/startup.sh
 * runs it in fresh processes (kernel caches warm or cold) and takes medians; across commits
 * compare its `lapse run` wall times (this file follows the current API).
 *
 * usage: bench_startup [--device-kind gpu|cpu|any]   (default any)
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clrt.h"
#include "ops/graph.h"
#include "pipeline.h"

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
    lapse_pipeline_t *p = NULL;
    lapse_graph_t g;
    lapse_graph_err_t gerr;
    lapse_step_t steps[2];
    const int64_t dim[3] = {8, 64, 64};
    const lapse_box_t core = {{0, 0, 0}, {8, 64, 64}};
    lapse_step_init(&steps[0], lapse_op_find("gaussian_blur"));
    lapse_step_init(&steps[1], lapse_op_find("threshold_fixed"));
    for (int a = 0; a < 3; a++)
        steps[0].p[0].v[a] = 1.0;
    steps[1].p[0].v[0] = 100.0;
    LAPSE_TRY(lapse_graph_compile(steps, 2, dim, LAPSE_DT_U16, LAPSE_DT_AUTO, &g, &gerr));
    double t0 = now_ms();
    LAPSE_TRY(lapse_cl_choose(kind, -1, 0, &c));
    LAPSE_TRY(lapse_cl_open(&c, &cl));
    double t1 = now_ms();
    LAPSE_TRY(lapse_pipeline_create(cl, &g, 8 * 64 * 64, 8 * 64 * 64, &p));
    memset(lapse_pipeline_input(p), 0, 8 * 64 * 64 * sizeof(uint16_t));
    const lapse_box_t read = {{0, 0, 0}, {dim[0], dim[1], dim[2]}};
    LAPSE_TRY(lapse_pipeline_run(p, &read, &core, NULL));
    double t2 = now_ms();
    printf("startup,%s,%.1f,%.1f,%.1f\n", c.name, t1 - t0, t2 - t1, t2 - t0);
cleanup:
    lapse_pipeline_destroy(p);
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
