/*
 * bench_kernels.c - device-side benchmark of lapse's OpenCL kernels. On one float32 volume
 * (default 256 x 1024 x 1024 = 1 GiB, random values in [1, 1000)) held in device buffers, each
 * operation is launched through the op launchers of ops_cl.h and timed with OpenCL profiling
 * events (summed kernel time; no host transfer in the timed region), after warm-up runs, for the
 * kernel variants "simple" and "tiled" (LAPSE_KERNELS). A plain clEnqueueCopyBuffer of the volume
 * is the measured bandwidth ceiling. Prints a table and one "csv," line per row; the check (the
 * default) also compares every tiled result with the simple one bit for bit.
 * Tuning: each --defines "OPTS" adds a tiled variant whose programs are built from the embedded
 * kernel sources with OPTS appended to the build options (lapse_cl_set_build_options; e.g.
 * "-DLAPSE_BOX_IMPL=1 -DLAPSE_BKZ=64", see the tunables of kernels/filters_tiled.cl); every
 * variant is timed and checked against the simple kernels, whose result is computed once per
 * operation.
 *
 * usage: bench_kernels [--shape Z,Y,X] [--reps N] [--warmup N] [--device-kind gpu|cpu|any]
 *                      [--device I] [--variant both|tiled|simple] [--no-check]
 *                      [--ops KEY,KEY,...] [--defines OPTS]...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clrt.h"
#include "ops.h"
#include "ops_cl.h"

/* One benchmarked operation: a pipeline step with up to three parameter values. */
typedef struct {
    const char *key; /* short name for --ops */
    const char *label;
    const char *op; /* operation name (ops.h); NULL: the uint16 -> float32 conversion */
    double v[3];
} bench_op_t;

static const bench_op_t bench_ops[] = {
    {"gauss2", "gaussian_blur sigma=2", "gaussian_blur", {2, 2, 2}},
    {"gauss122", "gaussian_blur sigma=[1,2,2]", "gaussian_blur", {1, 2, 2}},
    {"mean1", "mean_box r=1", "mean_box", {1, 1, 1}},
    {"min1", "minimum_box r=1", "minimum_box", {1, 1, 1}},
    {"max1", "maximum_box r=1", "maximum_box", {1, 1, 1}},
    {"min5", "minimum_box r=5 (separable)", "minimum_box", {5, 5, 5}},
    {"tophat", "top_hat_box r=[1,3,3]", "top_hat_box", {1, 3, 3}},
    {"mean2", "mean_box r=[2,1,3]", "mean_box", {2, 1, 3}},
    {"add", "add_scalar", "add_scalar", {1.5, 0, 0}},
    {"thresh", "threshold_fixed", "threshold_fixed", {500, 0, 0}},
    {"zmax", "maximum_z_projection", "maximum_z_projection", {0, 0, 0}},
    {"u16", "u16_to_f32", NULL, {0, 0, 0}},
};
#define NOPS ((int)(sizeof bench_ops / sizeof bench_ops[0]))

#define MAX_DEFINES 64

typedef struct {
    int64_t dim[3]; /* z, y, x */
    int reps, warmup, device, check;
    lapse_devkind_t kind;
    int variants[2]; /* run simple, run tiled */
    int ops[NOPS];   /* 1: benchmark bench_ops[i] */
    int ndefines;    /* tiled variants built with extra options (0: the default program) */
    const char *defines[MAX_DEFINES];
} bench_args_t;

/* Device state shared by all runs. */
typedef struct {
    lapse_cl_t *cl;
    cl_mem pristine; /* the random input, never written after upload */
    cl_mem u16;      /* the input as uint16 (for u16_to_f32) */
    cl_mem bufs[LAPSE_OPCL_NBUF];
    size_t n;
    double copy_gbps;
} bench_dev_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* --ops: comma-separated keys of bench_ops; sets ops[] to exactly those. */
static lapse_status_t parse_ops(const char *v, int ops[NOPS])
{
    lapse_status_t st = LAPSE_OK;
    for (int o = 0; o < NOPS; o++)
        ops[o] = 0;
    while (*v) {
        size_t len = strcspn(v, ",");
        int found = 0;
        for (int o = 0; o < NOPS; o++)
            if (strlen(bench_ops[o].key) == len && strncmp(v, bench_ops[o].key, len) == 0)
                ops[o] = found = 1;
        if (!found) {
            char keys[256] = "";
            for (int o = 0; o < NOPS; o++) {
                size_t n = strlen(keys);
                snprintf(keys + n, sizeof keys - n, "%s%s", o ? "," : "", bench_ops[o].key);
            }
            LAPSE_FAIL(LAPSE_EUSAGE, "--ops: unknown operation \"%.*s\" (known: %s)", (int)len, v,
                       keys);
        }
        v += len + (v[len] == ',');
    }
cleanup:
    return st;
}

static lapse_status_t parse_args(int argc, char **argv, bench_args_t *a)
{
    lapse_status_t st = LAPSE_OK;
    *a = (bench_args_t){{256, 1024, 1024}, 20, 3, -1, 1, LAPSE_DEV_ANY, {1, 1}, {0}, 0, {NULL}};
    for (int o = 0; o < NOPS; o++)
        a->ops[o] = 1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long z, y, x;
        if (strcmp(s, "--no-check") == 0) {
            a->check = 0;
            continue;
        }
        if (v == NULL)
            LAPSE_FAIL(LAPSE_EUSAGE, "option %s needs a value", s);
        i++;
        if (strcmp(s, "--shape") == 0 && sscanf(v, "%lld,%lld,%lld", &z, &y, &x) == 3 && z > 0 &&
            y > 0 && x > 0 && y * x <= INT32_MAX && z <= INT32_MAX) {
            a->dim[0] = z;
            a->dim[1] = y;
            a->dim[2] = x;
        } else if (strcmp(s, "--reps") == 0 && atoi(v) > 0) {
            a->reps = atoi(v);
        } else if (strcmp(s, "--warmup") == 0 && atoi(v) >= 0) {
            a->warmup = atoi(v);
        } else if (strcmp(s, "--device") == 0) {
            a->device = atoi(v);
        } else if (strcmp(s, "--device-kind") == 0 &&
                   (!strcmp(v, "gpu") || !strcmp(v, "cpu") || !strcmp(v, "any"))) {
            a->kind = !strcmp(v, "gpu")   ? LAPSE_DEV_GPU
                      : !strcmp(v, "cpu") ? LAPSE_DEV_CPU
                                          : LAPSE_DEV_ANY;
        } else if (strcmp(s, "--variant") == 0 &&
                   (!strcmp(v, "both") || !strcmp(v, "tiled") || !strcmp(v, "simple"))) {
            a->variants[0] = strcmp(v, "tiled") != 0;
            a->variants[1] = strcmp(v, "simple") != 0;
        } else if (strcmp(s, "--ops") == 0) {
            LAPSE_TRY(parse_ops(v, a->ops));
        } else if (strcmp(s, "--defines") == 0 && a->ndefines < MAX_DEFINES &&
                   strchr(v, ',') == NULL && strchr(v, '"') == NULL) {
            a->defines[a->ndefines++] = v;
        } else {
            LAPSE_FAIL(LAPSE_EUSAGE,
                       "bad option %s %s\nusage: bench_kernels [--shape Z,Y,X] [--reps N] "
                       "[--warmup N] [--device-kind gpu|cpu|any] [--device I] "
                       "[--variant both|tiled|simple] [--no-check] [--ops KEY,...] "
                       "[--defines OPTS]... (OPTS without commas or quotes, at most %d)",
                       s, v, MAX_DEFINES);
        }
    }
cleanup:
    return st;
}

/* xorshift64* */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* Allocate the device buffers and upload random input (float in [1, 1000), uint16 in
 * [1, 65535]). */
static lapse_status_t setup(lapse_cl_t *cl, const bench_args_t *a, bench_dev_t *d)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    float *f = NULL;
    uint16_t *u = NULL;
    d->cl = cl;
    d->n = (size_t)(a->dim[0] * a->dim[1] * a->dim[2]);
    if (d->n * sizeof(float) > cl->dev.max_alloc)
        LAPSE_FAIL(LAPSE_ENOMEM, "the volume (%.1f MiB) exceeds the device's largest allocation",
                   (double)d->n * 4.0 / 1048576.0);
    f = malloc(d->n * sizeof *f);
    u = malloc(d->n * sizeof *u);
    LAPSE_ALLOC(f);
    LAPSE_ALLOC(u);
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < d->n; i++) {
        uint64_t r = rng_next(&s);
        f[i] = 1.0f + (float)(r >> 40) * (999.0f / 16777216.0f);
        u[i] = (uint16_t)(1 + (r & 0xFFFF) % 65535);
    }
    d->pristine =
        clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, d->n * sizeof *f, f, &e);
    LAPSE_CL(e);
    d->u16 =
        clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, d->n * sizeof *u, u, &e);
    LAPSE_CL(e);
    for (int i = 0; i < LAPSE_OPCL_NBUF; i++) {
        d->bufs[i] = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, d->n * sizeof *f, NULL, &e);
        LAPSE_CL(e);
    }
    LAPSE_CL(clFinish(cl->queue));
cleanup:
    free(f);
    free(u);
    return st;
}

static void teardown(bench_dev_t *d)
{
    if (d->pristine)
        clReleaseMemObject(d->pristine);
    if (d->u16)
        clReleaseMemObject(d->u16);
    for (int i = 0; i < LAPSE_OPCL_NBUF; i++)
        if (d->bufs[i])
            clReleaseMemObject(d->bufs[i]);
}

/* Median (and minimum) device time of a copy of the volume: the bandwidth ceiling. */
static lapse_status_t time_copy(bench_dev_t *d, const bench_args_t *a, double *med, double *min)
{
    lapse_status_t st = LAPSE_OK;
    cl_event ev = NULL;
    double *t = calloc((size_t)a->reps, sizeof *t);
    LAPSE_ALLOC(t);
    for (int r = 0; r < a->warmup + a->reps; r++) {
        cl_ulong t0 = 0, t1 = 0;
        LAPSE_CL(clEnqueueCopyBuffer(d->cl->queue, d->pristine, d->bufs[1], 0, 0,
                                     d->n * sizeof(float), 0, NULL, &ev));
        LAPSE_CL(clWaitForEvents(1, &ev));
        LAPSE_CL(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL));
        LAPSE_CL(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL));
        clReleaseEvent(ev);
        ev = NULL;
        if (r >= a->warmup)
            t[r - a->warmup] = (double)(t1 - t0) * 1e-6;
    }
    qsort(t, (size_t)a->reps, sizeof *t, cmp_double);
    *med = t[a->reps / 2];
    *min = t[0];
cleanup:
    if (ev)
        clReleaseEvent(ev);
    free(t);
    return st;
}

/* Run one operation reps + warmup times with kernels k on a volume of dims dim; each run starts
 * from the pristine input (the restoring copy is not timed). times: reps device times (ms);
 * *cur, odim: where the last result lies and its dims. */
static lapse_status_t time_op(bench_dev_t *d, lapse_opcl_t *k, const bench_op_t *b,
                              const int64_t dim[3], int reps, int warmup, double *times, int *nkern,
                              int *cur, int64_t odim[3])
{
    lapse_status_t st = LAPSE_OK;
    lapse_opcl_weights_t w = {0};
    lapse_step_t step;
    if (b->op) {
        const lapse_op_t *op = lapse_op_find(b->op);
        if (op == NULL)
            LAPSE_FAIL(LAPSE_ERUNTIME, "unknown operation %s", b->op);
        lapse_step_init(&step, op);
        for (int i = 0; i < 3; i++)
            step.p[0].v[i] = b->v[i];
        LAPSE_TRY(lapse_opcl_weights_create(d->cl, &step, 1, &w));
    }
    for (int r = 0; r < warmup + reps; r++) {
        double ms = 0.0;
        for (int i = 0; i < 3; i++)
            odim[i] = dim[i];
        *cur = 0;
        LAPSE_CL(clEnqueueCopyBuffer(d->cl->queue, d->pristine, d->bufs[0], 0, 0,
                                     d->n * sizeof(float), 0, NULL, NULL));
        lapse_opcl_profile(k, 1);
        if (b->op)
            LAPSE_TRY(lapse_opcl_step(k, &step, 0, &w, d->bufs, cur, odim));
        else
            LAPSE_TRY(lapse_opcl_to_f32(k, LAPSE_DT_U16, d->u16, d->bufs[0], d->n));
        LAPSE_TRY(lapse_opcl_profile_take(k, &ms, nkern));
        lapse_opcl_profile(k, 0);
        if (r >= warmup)
            times[r - warmup] = ms;
    }
cleanup:
    lapse_opcl_weights_release(&w);
    return st;
}

/* Bytes an operation must move at least: its input read once and its output written once. */
static double op_bytes(const bench_op_t *b, const int64_t dim[3])
{
    double n = (double)(dim[0] * dim[1] * dim[2]), plane = (double)(dim[1] * dim[2]);
    if (b->op == NULL)
        return n * 6.0; /* uint16 in, float out */
    if (strcmp(b->op, "maximum_z_projection") == 0)
        return n * 4.0 + plane * 4.0;
    return n * 8.0;
}

static void print_row(const bench_args_t *a, const char *dev, const char *label,
                      const char *variant, double med, double min, double bytes, double copy_gbps,
                      int nkern, const char *same)
{
    double gbps = med > 0 ? bytes / (med * 1e6) : 0.0;
    printf("%-28s %-7s %9.3f %9.3f %8.1f %6.2f %7d %s\n", label, variant, med, min, gbps,
           copy_gbps > 0 ? gbps / copy_gbps : 1.0, nkern, same);
    printf("csv,%s,%lldx%lldx%lld,%s,%s,%.4f,%.4f,%.2f,%.4f,%d,%s\n", dev, (long long)a->dim[0],
           (long long)a->dim[1], (long long)a->dim[2], label, variant, med, min, gbps,
           copy_gbps > 0 ? gbps / copy_gbps : 1.0, nkern, same);
}

/* Kernels of a tiled variant: the default programs (defines NULL) or ones built with defines
 * appended to the build options (lapse_cl_set_build_options; cl caches the programs per options
 * and owns the kernels). With defines, *k stays NULL when a build or the kernels' creation fails
 * (reported with the build log, not an error). */
static lapse_status_t create_variant(lapse_cl_t *cl, const char *defines, lapse_opcl_t **k)
{
    lapse_status_t st = LAPSE_OK;
    struct timespec t0, t1;
    *k = NULL;
    if (setenv("LAPSE_KERNELS", "tiled", 1) != 0)
        LAPSE_FAIL(LAPSE_ERUNTIME, "setenv LAPSE_KERNELS failed");
    LAPSE_TRY(lapse_cl_set_build_options(cl, defines));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = lapse_opcl_create(cl, k);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != LAPSE_OK && defines) { /* e.g. a geometry the device cannot run: skip it */
        fprintf(stderr, "bench_kernels: variant \"%s\" skipped: ", defines);
        lapse_err_print(st);
        lapse_err_clear();
        st = LAPSE_OK;
    } else if (st == LAPSE_OK && defines) {
        fprintf(stderr, "bench_kernels: programs with \"%s\" built in %.2f s\n", defines,
                (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    }
cleanup:
    if (lapse_cl_set_build_options(cl, NULL) != LAPSE_OK && st == LAPSE_OK)
        st = LAPSE_ENOMEM;
    return st;
}

/* Compare n floats bit for bit; writes "yes" or "NO(<count> differ)". */
static void compare(const float *ref, const float *res, size_t n, char *same, size_t len)
{
    size_t diff = 0;
    if (memcmp(ref, res, n * sizeof *ref) != 0)
        for (size_t i = 0; i < n; i++)
            diff += memcmp(&ref[i], &res[i], sizeof *ref) != 0;
    if (diff == 0)
        snprintf(same, len, "yes");
    else
        snprintf(same, len, "NO(%zu differ)", diff);
}

/* Everything a run holds. */
typedef struct {
    lapse_cl_t *cl;
    bench_dev_t d;
    lapse_opcl_t *simple;
    lapse_opcl_t *tiled[MAX_DEFINES];
    char label[MAX_DEFINES][300]; /* "tiled" or "tiled[-D...]" */
    int ntiled;
    double *times;
    float *ref, *res;
    double cgbps;
} bench_run_t;

/* Benchmark operation b with kernels k (reps from a) and print its row; unless k is the simple
 * variant, compare the result with R->ref (when held). *cur, odim: where the result lies and its
 * dims (*cur = -1 after a failure). A failing launch is reported in the row (ERR), not fatal. */
static lapse_status_t bench_one(bench_run_t *R, const bench_args_t *a, const bench_op_t *b,
                                lapse_opcl_t *k, const char *label, int *cur, int64_t odim[3])
{
    lapse_status_t st = LAPSE_OK;
    int nkern = 0;
    char same[40] = "-";
    lapse_status_t ost =
        time_op(&R->d, k, b, a->dim, a->reps, a->warmup, R->times, &nkern, cur, odim);
    if (ost != LAPSE_OK) {
        fprintf(stderr, "bench_kernels: %s with %s: ", b->label, label);
        lapse_err_print(ost);
        lapse_err_clear();
        clFinish(R->cl->queue);
        print_row(a, R->cl->dev.name, b->label, label, 0.0, 0.0, 1.0, R->cgbps, 0, "ERR");
        *cur = -1;
        return LAPSE_OK;
    }
    qsort(R->times, (size_t)a->reps, sizeof *R->times, cmp_double);
    if (R->ref && k != R->simple) {
        size_t on = (size_t)(odim[0] * odim[1] * odim[2]);
        LAPSE_CL(clEnqueueReadBuffer(R->cl->queue, R->d.bufs[*cur], CL_TRUE, 0, on * sizeof(float),
                                     R->res, 0, NULL, NULL));
        compare(R->ref, R->res, on, same, sizeof same);
    }
    print_row(a, R->cl->dev.name, b->label, label, R->times[a->reps / 2], R->times[0],
              op_bytes(b, a->dim), R->cgbps, nkern, same);
    fflush(stdout);
cleanup:
    return st;
}

/* The simple kernels' result of b into R->ref (one untimed run, or the timed runs when the
 * simple variant is benchmarked). */
static lapse_status_t reference(bench_run_t *R, const bench_args_t *a, const bench_op_t *b)
{
    lapse_status_t st = LAPSE_OK;
    int nkern = 0, cur = 0;
    int64_t odim[3];
    if (a->variants[0])
        LAPSE_TRY(bench_one(R, a, b, R->simple, "simple", &cur, odim));
    else
        LAPSE_TRY(time_op(&R->d, R->simple, b, a->dim, 1, 0, R->times, &nkern, &cur, odim));
    if (cur < 0)
        LAPSE_FAIL(LAPSE_ECL, "the simple kernels failed on %s: no reference", b->label);
    if (R->ref == NULL)
        goto cleanup;
    LAPSE_CL(clEnqueueReadBuffer(R->cl->queue, R->d.bufs[cur], CL_TRUE, 0,
                                 (size_t)(odim[0] * odim[1] * odim[2]) * sizeof(float), R->ref, 0,
                                 NULL, NULL));
cleanup:
    return st;
}

static lapse_status_t run(const bench_args_t *a)
{
    lapse_status_t st = LAPSE_OK;
    lapse_cl_choice_t choice;
    bench_run_t R = {0};
    cl_command_queue own = NULL, orig = NULL;
    cl_int e = CL_SUCCESS;
    LAPSE_TRY(lapse_cl_choose(a->kind, a->device, 0, &choice));
    LAPSE_TRY(lapse_cl_open(&choice, &R.cl));
    lapse_cl_t *cl = R.cl;
    /* the launchers enqueue on cl->queue: swap in a profiling queue for the benchmark */
    own = clCreateCommandQueue(cl->ctx, cl->dev.device, CL_QUEUE_PROFILING_ENABLE, &e);
    LAPSE_CL(e);
    orig = cl->queue;
    cl->queue = own;
    int check = a->check && a->variants[1];
    if (a->variants[0] || check) {
        if (setenv("LAPSE_KERNELS", "simple", 1) != 0)
            LAPSE_FAIL(LAPSE_ERUNTIME, "setenv LAPSE_KERNELS failed");
        LAPSE_TRY(lapse_opcl_create(cl, &R.simple));
    }
    if (a->variants[1]) {
        R.ntiled = a->ndefines > 0 ? a->ndefines : 1;
        for (int v = 0; v < R.ntiled; v++) {
            const char *defs = a->ndefines > 0 ? a->defines[v] : NULL;
            LAPSE_TRY(create_variant(cl, defs, &R.tiled[v]));
            const char *name = R.tiled[v] ? lapse_opcl_variant(R.tiled[v]) : "build_failed";
            if (defs)
                snprintf(R.label[v], sizeof R.label[v], "%s[%s]", name, defs);
            else
                snprintf(R.label[v], sizeof R.label[v], "%s", name);
        }
    }
    LAPSE_TRY(setup(cl, a, &R.d));
    R.times = calloc((size_t)a->reps, sizeof *R.times);
    LAPSE_ALLOC(R.times);
    if (check) {
        R.ref = malloc(R.d.n * sizeof *R.ref);
        R.res = malloc(R.d.n * sizeof *R.res);
        LAPSE_ALLOC(R.ref);
        LAPSE_ALLOC(R.res);
    }
    double cmed = 0, cmin = 0;
    LAPSE_TRY(time_copy(&R.d, a, &cmed, &cmin));
    double cbytes = (double)R.d.n * 8.0;
    R.cgbps = cbytes / (cmed * 1e6);
    printf("device: %s (%s), volume %lld x %lld x %lld float32 (%.1f MiB), %d reps after %d "
           "warm-up, median device time\n",
           cl->dev.name, cl->dev.platform_name, (long long)a->dim[0], (long long)a->dim[1],
           (long long)a->dim[2], (double)R.d.n * 4.0 / 1048576.0, a->reps, a->warmup);
    printf("GB/s: bytes that must move (input read once + output written once) / time; "
           "vs copy: that over the copy's GB/s\n\n");
    printf("%-28s %-7s %9s %9s %8s %6s %7s %s\n", "operation", "variant", "median_ms", "min_ms",
           "GB/s", "vscopy", "launches", "same_bits_as_simple");
    printf("csv,device,shape,operation,variant,median_ms,min_ms,gbps,ratio_to_copy,launches,"
           "same_bits\n");
    print_row(a, cl->dev.name, "copy (clEnqueueCopyBuffer)", "-", cmed, cmin, cbytes, R.cgbps, 1,
              "-");
    for (int o = 0; o < NOPS; o++) {
        if (!a->ops[o])
            continue;
        if (R.simple)
            LAPSE_TRY(reference(&R, a, &bench_ops[o]));
        for (int v = 0; v < R.ntiled; v++) {
            int cur = 0;
            int64_t odim[3];
            if (R.tiled[v])
                LAPSE_TRY(bench_one(&R, a, &bench_ops[o], R.tiled[v], R.label[v], &cur, odim));
            else
                print_row(a, cl->dev.name, bench_ops[o].label, R.label[v], 0.0, 0.0, 1.0, R.cgbps,
                          0, "ERR");
        }
    }
cleanup:
    free(R.times);
    free(R.ref);
    free(R.res);
    lapse_opcl_destroy(R.simple);
    for (int v = 0; v < R.ntiled; v++)
        lapse_opcl_destroy(R.tiled[v]);
    teardown(&R.d);
    if (R.cl && orig) {
        clFinish(own);
        R.cl->queue = orig;
    }
    if (own)
        clReleaseCommandQueue(own);
    lapse_cl_close(R.cl);
    return st;
}

int main(int argc, char **argv)
{
    bench_args_t a;
    lapse_status_t st = parse_args(argc, argv, &a);
    if (st == LAPSE_OK)
        st = run(&a);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    return lapse_exit_code(st);
}
