/*
 * bench_kernels.c - device-side benchmark of lapse's OpenCL kernels. On one float32 volume
 * (default 256 x 1024 x 1024 = 1 GiB, random values in [1, 1000)) held in device buffers, each
 * operation is launched through its descriptor's launcher (op->launch, src/ops/op_*.c) on a
 * lapse_dev_t (src/device/dev.h) and timed with the device's profiling (lapse_dev_profile: summed
 * kernel time; no host transfer in the timed region), after warm-up runs, for the kernel variants
 * "simple" and "tiled": one lapse_dev_t per variant, created with LAPSE_KERNELS set accordingly
 * (it is read at lapse_dev_create). Each run starts from the pristine input in the input buffer
 * and runs the step as the executor runs a one-step pipeline: in place (the output in the
 * input's buffer) when the op allows it (op->inplace), else into a second buffer, with op->nscratch
 * scratch buffers; the result is read where the launcher says. A two-image operation gets the
 * pristine input (read only) as its second operand. A plain clEnqueueCopyBuffer of the
 * volume is the measured bandwidth ceiling. Prints a table and one "csv," line per row; the check
 * (the default) also compares every tiled result with the simple one bit for bit.
 * Tuning: each --defines "OPTS" adds a tiled variant whose program is built from the embedded
 * kernel sources with OPTS appended to the build options (e.g. "-DLAPSE_BOX_IMPL=1
 * -DLAPSE_BKZ=64", see the tunables of kernels/filters_tiled.cl, or "-DLAPSE_SW_IMPL=1
 * -DLAPSE_SW_YS=4", those of kernels/stencil.cl); its lapse_dev_t is created on a copy of the
 * open device (same context and queue) and OPTS are in force while its operations run, so its
 * kernels (fetched on first use) and the tiled geometries it reads back come from that build. A
 * variant whose build fails, or whose tiled filters cannot run (the geometry probe of src/ops/sep.c
 * fails), is reported and skipped. Every variant is timed and checked against the simple kernels,
 * whose result is computed once per operation.
 *
 * usage: bench_kernels [--shape Z,Y,X] [--reps N] [--warmup N] [--device-kind gpu|cpu|any]
 *                      [--device I] [--variant both|tiled|simple] [--no-check]
 *                      [--ops KEY,KEY,...] [--defines OPTS]...
 */
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clrt.h"
#include "device/dev.h"
#include "ops/graph.h"
#include "ops/op.h"

/* One benchmarked operation: a pipeline step with up to three values of its first parameter and
 * one of its second. */
typedef struct {
    const char *key; /* short name for --ops */
    const char *label;
    const char *op; /* operation name (ops/op.h); NULL: the uint16 -> float32 conversion */
    double v[3];
    double p1; /* the second parameter (clip's maximum, every component of difference_of_gaussian's
                  sigma2), when the op has one */
    double p2; /* the third parameter (rotate's angle_z), when the op has one */
    const double *m; /* when not NULL: the 12 values of a matrix first parameter (replaces v) */
    const char *src; /* custom_kernel: the OpenCL C file (relative to the working directory, run
                        from the repository root); its reach is p1, its params [1/3] */
} bench_op_t;

/* affine_transform's example of docs/config.md: a small rotation in y-x with an offset. */
static const double bench_affine[12] = {1, 0, 0, 0, 0, 0.9, 0.1, 3, 0, -0.1, 0.9, 5};

static const bench_op_t bench_ops[] = {
    {"gauss2", "gaussian_blur sigma=2", "gaussian_blur", {2, 2, 2}, 0, 0, NULL, NULL},
    {"gauss122", "gaussian_blur sigma=[1,2,2]", "gaussian_blur", {1, 2, 2}, 0, 0, NULL, NULL},
    {"mean1", "mean_box r=1", "mean_box", {1, 1, 1}, 0, 0, NULL, NULL},
    {"min1", "minimum_box r=1", "minimum_box", {1, 1, 1}, 0, 0, NULL, NULL},
    {"max1", "maximum_box r=1", "maximum_box", {1, 1, 1}, 0, 0, NULL, NULL},
    {"min133", "minimum_box r=[1,3,3]", "minimum_box", {1, 3, 3}, 0, 0, NULL, NULL},
    {"min5", "minimum_box r=5 (separable)", "minimum_box", {5, 5, 5}, 0, 0, NULL, NULL},
    {"min6", "minimum_box r=6 (van Herk)", "minimum_box", {6, 6, 6}, 0, 0, NULL, NULL},
    {"min16", "minimum_box r=16 (van Herk)", "minimum_box", {16, 16, 16}, 0, 0, NULL, NULL},
    {"max50", "maximum_box r=[0,50,50] (van Herk)", "maximum_box", {0, 50, 50}, 0, 0, NULL, NULL},
    {"tophat", "top_hat_box r=[1,3,3]", "top_hat_box", {1, 3, 3}, 0, 0, NULL, NULL},
    {"mean2", "mean_box r=[2,1,3]", "mean_box", {2, 1, 3}, 0, 0, NULL, NULL},
    {"add", "add_scalar", "add_scalar", {1.5, 0, 0}, 0, 0, NULL, NULL},
    {"thresh", "threshold_fixed", "threshold_fixed", {500, 0, 0}, 0, 0, NULL, NULL},
    {"zmax", "maximum_z_projection", "maximum_z_projection", {0, 0, 0}, 0, 0, NULL, NULL},
    {"sub", "subtract_scalar", "subtract_scalar", {1.5, 0, 0}, 0, 0, NULL, NULL},
    {"abs", "absolute", "absolute", {0, 0, 0}, 0, 0, NULL, NULL},
    {"pow", "power exponent=1.5", "power", {1.5, 0, 0}, 0, 0, NULL, NULL},
    {"sqrt", "sqrt", "sqrt", {0, 0, 0}, 0, 0, NULL, NULL},
    {"clip", "clip [100, 900]", "clip", {100, 0, 0}, 900, 0, NULL, NULL},
    {"gt", "greater_constant", "greater_constant", {500, 0, 0}, 0, 0, NULL, NULL},
    {"lt", "smaller_constant", "smaller_constant", {500, 0, 0}, 0, 0, NULL, NULL},
    {"eq", "equal_constant", "equal_constant", {500, 0, 0}, 0, 0, NULL, NULL},
    {"div", "divide_images", "divide_images", {0, 0, 0}, 0, 0, NULL, NULL},
    {"maxi", "maximum_images", "maximum_images", {0, 0, 0}, 0, 0, NULL, NULL},
    {"mini", "minimum_images", "minimum_images", {0, 0, 0}, 0, 0, NULL, NULL},
    {"zmin", "minimum_z_projection", "minimum_z_projection", {0, 0, 0}, 0, 0, NULL, NULL},
    {"zsum", "sum_z_projection", "sum_z_projection", {0, 0, 0}, 0, 0, NULL, NULL},
    {"zmean", "mean_z_projection", "mean_z_projection", {0, 0, 0}, 0, 0, NULL, NULL},
    {"zstd", "stddev_z_projection", "standard_deviation_z_projection", {0, 0, 0}, 0, 0, NULL, NULL},
    {"zargmax", "argmax_z_projection", "argmax_z_projection", {0, 0, 0}, 0, 0, NULL, NULL},
    {"erode1", "erode_box r=1", "erode_box", {1, 1, 1}, 0, 0, NULL, NULL},
    {"dilate1", "dilate_box r=1", "dilate_box", {1, 1, 1}, 0, 0, NULL, NULL},
    {"open1", "opening_box r=1", "opening_box", {1, 1, 1}, 0, 0, NULL, NULL},
    {"close133", "closing_box r=[1,3,3]", "closing_box", {1, 3, 3}, 0, 0, NULL, NULL},
    {"median1", "median_box r=1", "median_box", {1, 1, 1}, 0, 0, NULL, NULL},
    {"median122", "median_box r=[1,2,2]", "median_box", {1, 2, 2}, 0, 0, NULL, NULL},
    {"medsph1", "median_sphere r=1", "median_sphere", {1, 1, 1}, 0, 0, NULL, NULL},
    {"medsph122", "median_sphere r=[1,2,2]", "median_sphere", {1, 2, 2}, 0, 0, NULL, NULL},
    {"meansph2", "mean_sphere r=2", "mean_sphere", {2, 2, 2}, 0, 0, NULL, NULL},
    /* the smallest windows whose means sum in double (since 2026-12-03) */
    {"mean65x", "mean_box r=[0,0,65]", "mean_box", {0, 0, 65}, 0, 0, NULL, NULL},
    {"msph19", "mean_sphere r=[0,19,19]", "mean_sphere", {0, 19, 19}, 0, 0, NULL, NULL},
    {"minsph1", "minimum_sphere r=1", "minimum_sphere", {1, 1, 1}, 0, 0, NULL, NULL},
    {"maxsph2", "maximum_sphere r=2", "maximum_sphere", {2, 2, 2}, 0, 0, NULL, NULL},
    {"thsph", "top_hat_sphere r=[1,3,3]", "top_hat_sphere", {1, 3, 3}, 0, 0, NULL, NULL},
    {"bothat", "bottom_hat_box r=[1,3,3]", "bottom_hat_box", {1, 3, 3}, 0, 0, NULL, NULL},
    {"var1", "variance_box r=1", "variance_box", {1, 1, 1}, 0, 0, NULL, NULL},
    {"std1", "standard_deviation_box r=1", "standard_deviation_box", {1, 1, 1}, 0, 0, NULL, NULL},
    {"sobel", "sobel", "sobel", {0, 0, 0}, 0, 0, NULL, NULL},
    {"lapbox", "laplace_box", "laplace_box", {0, 0, 0}, 0, 0, NULL, NULL},
    {"lapdia", "laplace_diamond", "laplace_diamond", {0, 0, 0}, 0, 0, NULL, NULL},
    {"gradx", "gradient_x", "gradient_x", {0, 0, 0}, 0, 0, NULL, NULL},
    {"grady", "gradient_y", "gradient_y", {0, 0, 0}, 0, 0, NULL, NULL},
    {"gradz", "gradient_z", "gradient_z", {0, 0, 0}, 0, 0, NULL, NULL},
    {"dog", "difference_of_gaussian 1, 2", "difference_of_gaussian", {1, 1, 1}, 2, 0, NULL, NULL},
    {"sgb",
     "subtract_gaussian_bg sigma=2",
     "subtract_gaussian_background",
     {2, 2, 2},
     0,
     0,
     NULL,
     NULL},
    {"erodesph1", "erode_sphere r=1", "erode_sphere", {1, 1, 1}, 0, 0, NULL, NULL},
    {"dilatesph1", "dilate_sphere r=1", "dilate_sphere", {1, 1, 1}, 0, 0, NULL, NULL},
    {"flip", "flip z, y, x", "flip", {1, 1, 1}, 0, 0, NULL, NULL},
    {"roty30", "rotate angle_y=30 linear", "rotate", {0, 0, 0}, 30, 0, NULL, NULL},
    {"rotz30", "rotate angle_z=30 linear", "rotate", {0, 0, 0}, 0, 30, NULL, NULL},
    {"flipx", "flip x", "flip", {0, 0, 1}, 0, 0, NULL, NULL},
    {"tophat5", "top_hat_box r=5", "top_hat_box", {5, 5, 5}, 0, 0, NULL, NULL},
    {"weighted", "add_images_weighted", "add_images_weighted", {1.5, 0, 0}, 0.5, 0, NULL, NULL},
    {"mul", "multiply_scalar", "multiply_scalar", {1.5, 0, 0}, 0, 0, NULL, NULL},
    {"and", "binary_and", "binary_and", {0, 0, 0}, 0, 0, NULL, NULL},
    {"or", "binary_or", "binary_or", {0, 0, 0}, 0, 0, NULL, NULL},
    {"xor", "binary_xor", "binary_xor", {0, 0, 0}, 0, 0, NULL, NULL},
    {"not", "binary_not", "binary_not", {0, 0, 0}, 0, 0, NULL, NULL},
    {"subi", "subtract_images", "subtract_images", {0, 0, 0}, 0, 0, NULL, NULL},
    {"muli", "multiply_images", "multiply_images", {0, 0, 0}, 0, 0, NULL, NULL},
    {"mask", "mask", "mask", {0, 0, 0}, 0, 0, NULL, NULL},
    {"maxima0", "detect_maxima_box r=0", "detect_maxima_box", {0, 0, 0}, 0, 0, NULL, NULL},
    {"maxima2", "detect_maxima_box r=2", "detect_maxima_box", {2, 2, 2}, 0, 0, NULL, NULL},
    {"bin2", "downsample_bin 2", "downsample_bin", {2, 2, 2}, 0, 0, NULL, NULL},
    {"resample05", "resample 0.5 linear", "resample", {0.5, 0.5, 0.5}, 0, 0, NULL, NULL},
    {"crop", "crop [64,256,256] + 512", "crop", {64, 256, 256}, 512, 0, NULL, NULL},
    {"affine",
     "affine_transform (docs example)",
     "affine_transform",
     {0, 0, 0},
     0,
     0,
     bench_affine,
     NULL},
    {"radial1", "radial_reslice angle_step=1", "radial_reslice", {1, 0, 0}, 0, -1, NULL, NULL},
    {"u16", "u16_to_f32", NULL, {0, 0, 0}, 0, 0, NULL, NULL},
    {"custom",
     "custom_kernel 3x3x3 mean (configs/custom_mean.cl)",
     "custom_kernel",
     {0, 0, 0},
     1,
     0,
     NULL,
     "configs/custom_mean.cl"},
};
#define NOPS ((int)(sizeof bench_ops / sizeof bench_ops[0]))

#define MAX_DEFINES 64
#define MAX_BUFS    (2 + LAPSE_GRAPH_SCRATCH) /* input, output, scratch */

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
    cl_mem pristine;       /* the random input, never written after upload */
    cl_mem u16;            /* the input as uint16 (for u16_to_f32) */
    cl_mem bufs[MAX_BUFS]; /* bufs[0]: the input; then the output (unless in place), scratch */
    int nbufs;
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
            char keys[1024] = "";
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

/* The operation of b (NULL for the conversion); fails for an unknown or two-input one. */
static lapse_status_t bench_op(const bench_op_t *b, const lapse_op_t **op)
{
    lapse_status_t st = LAPSE_OK;
    *op = NULL;
    if (b->op == NULL)
        goto cleanup;
    *op = lapse_op_find(b->op);
    if (*op == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "unknown operation %s", b->op);
    if ((*op)->nscratch > LAPSE_GRAPH_SCRATCH)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "%s: only operations with at most %d scratch buffers are benchmarked", b->op,
                   LAPSE_GRAPH_SCRATCH);
cleanup:
    return st;
}

/* Work buffers operation b needs: the input, the output unless in place, its scratch. */
static int op_nbufs(const bench_op_t *b)
{
    const lapse_op_t *op = NULL;
    if (bench_op(b, &op) != LAPSE_OK) {
        lapse_err_clear(); /* reported when it runs */
        return 1;
    }
    return op ? 1 + !op->inplace + op->nscratch : 1;
}

/* Allocate the device buffers (as many as the selected operations need, at least two for the
 * copy) and upload random input (float in [1, 1000), uint16 in [1, 65535]). */
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
    d->nbufs = 2;
    for (int o = 0; o < NOPS; o++)
        if (a->ops[o] && op_nbufs(&bench_ops[o]) > d->nbufs)
            d->nbufs = op_nbufs(&bench_ops[o]);
    for (int i = 0; i < d->nbufs; i++) {
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
    for (int i = 0; i < d->nbufs; i++)
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

/* The text of the OpenCL C file path into src (custom_kernel's source, as the config loader
 * reads it). */
static lapse_status_t read_source(const char *path, lapse_source_t *src)
{
    lapse_status_t st = LAPSE_OK;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        LAPSE_FAIL(LAPSE_EUSAGE, "%s: cannot open (%s); run from the repository root", path,
                   strerror(errno));
    snprintf(src->path, sizeof src->path, "%s", path);
    snprintf(src->where, sizeof src->where, "bench_kernels: %s", path);
    src->text = malloc(1 << 20);
    LAPSE_ALLOC(src->text);
    src->len = fread(src->text, 1, (1 << 20) - 1, f);
    if (ferror(f))
        LAPSE_FAIL(LAPSE_EUSAGE, "%s: read error", path);
    src->text[src->len] = '\0';
cleanup:
    if (f)
        fclose(f);
    return st;
}

/* Run one operation reps + warmup times on device state dev, on a volume of dims dim; each run
 * starts from the pristine input in bufs[0] (the restoring copy is not timed). times: reps
 * device times (ms); *cur, odim: the buffer holding the last result and its dims. */
static lapse_status_t time_op(bench_dev_t *d, lapse_dev_t *dev, const bench_op_t *b,
                              const int64_t dim[3], int reps, int warmup, double *times, int *nkern,
                              int *cur, int64_t odim[3])
{
    lapse_status_t st = LAPSE_OK;
    const lapse_op_t *op = NULL;
    void *state = NULL;
    lapse_step_t step;
    lapse_source_t *src = NULL;
    LAPSE_TRY(bench_op(b, &op));
    for (int i = 0; i < 3; i++)
        odim[i] = dim[i];
    if (op) {
        lapse_step_init(&step, op);
        for (int i = 0; i < 3; i++)
            step.p[0].v[i] = b->v[i];
        for (int i = 0; b->m && i < 12; i++)
            step.p[0].v[i] = b->m[i];
        if (op->nparams > 1)
            for (int i = 0; i < 3; i++) /* numbers use v[0] only */
                step.p[1].v[i] = b->p1;
        if (op->nparams > 2)
            for (int i = 0; i < 3; i++)
                step.p[2].v[i] = b->p2;
        if (b->src) { /* custom_kernel: its file, reach p1 (set above), dtype float32, [1/3] */
            src = calloc(1, sizeof *src);
            LAPSE_ALLOC(src);
            LAPSE_TRY(read_source(b->src, src));
            step.source = src;
            step.p[2].v[0] = 0.0;
            step.p[3].v[0] = 1.0 / 3.0;
        }
        lapse_step_out_dims(&step, dim, odim);
        if ((size_t)(odim[0] * odim[1] * odim[2]) > d->n)
            LAPSE_FAIL(LAPSE_EUSAGE,
                       "%s: its result (%lldx%lldx%lld) is larger than the input's "
                       "buffers: use a larger --shape",
                       op->name, (long long)odim[0], (long long)odim[1], (long long)odim[2]);
        if (1 + !op->inplace + op->nscratch > d->nbufs)
            LAPSE_FAIL(LAPSE_ERUNTIME, "%s needs more work buffers than allocated", op->name);
        if (op->prepare)
            LAPSE_TRY(op->prepare(dev, &step, &state));
    }
    for (int r = 0; r < warmup + reps; r++) {
        double ms = 0.0;
        *cur = 0;
        LAPSE_CL(clEnqueueCopyBuffer(d->cl->queue, d->pristine, d->bufs[0], 0, 0,
                                     d->n * sizeof(float), 0, NULL, NULL));
        lapse_dev_profile(dev, 1);
        if (op) {
            int o = op->inplace ? 0 : 1, res = -1;
            const lapse_dvol_t in[2] = {
                {d->bufs[0], {dim[0], dim[1], dim[2]}, {0, 0, 0}, {0, 0, 0}},
                {d->pristine, {dim[0], dim[1], dim[2]}, {0, 0, 0}, {0, 0, 0}}};
            const lapse_dvol_t out = {
                d->bufs[o], {odim[0], odim[1], odim[2]}, {0, 0, 0}, {0, 0, 0}};
            LAPSE_TRY(op->launch(dev, &step, state, in, &out, &d->bufs[o + 1], &res));
            if (res < 0 || res > op->nscratch)
                LAPSE_FAIL(LAPSE_ERUNTIME, "%s reported result buffer %d", op->name, res);
            *cur = res ? o + res : o;
        } else {
            LAPSE_TRY(lapse_dev_to_f32(dev, LAPSE_DT_U16, d->u16, d->bufs[0], d->n));
        }
        LAPSE_TRY(lapse_dev_profile_take(dev, &ms, nkern));
        lapse_dev_profile(dev, 0);
        if (r >= warmup)
            times[r - warmup] = ms;
    }
cleanup:
    lapse_dev_profile(dev, 0);
    if (state && op->release)
        op->release(state);
    if (src)
        free(src->text);
    free(src);
    return st;
}

/* Bytes an operation must move at least: its inputs read once and its output written once. */
static double op_bytes(const bench_op_t *b, const int64_t dim[3])
{
    double n = (double)(dim[0] * dim[1] * dim[2]), plane = (double)(dim[1] * dim[2]);
    const lapse_op_t *op = b->op ? lapse_op_find(b->op) : NULL;
    if (op == NULL)
        return n * 6.0; /* uint16 in, float out */
    if (op->footprint == LAPSE_FP_PROJECTION)
        return n * 4.0 + plane * 4.0;
    return n * 4.0 * (double)op->ninputs + n * 4.0;
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

/* One kernel variant and its device state. */
typedef struct {
    lapse_dev_t *dev;    /* NULL: skipped (build or probe failed) */
    char label[300];     /* "simple", "tiled" or "tiled[-D...]" */
    const char *defines; /* the extra build options of its programs (NULL: none) */
} bench_variant_t;

static void variant_release(bench_variant_t *v)
{
    lapse_dev_destroy(v->dev);
    v->dev = NULL;
}

/* The device state of a variant: simple (LAPSE_KERNELS=simple), tiled with the default build
 * options (defines NULL), or tiled with programs built with defines appended to the options
 * (lapse_cl_set_build_options: the cl caches programs per file and options). The probe of the
 * tiled filters fetches every tiled kernel while the options are in force, so the variant's
 * device state holds kernels of its own build; the kernels an operation fetches at its first
 * launch (the stencils, the window filters, ...) come from its build because run() puts the
 * variant's options in force while the variant's operations run. v->dev stays NULL when the build
 * fails or the tiled filters cannot run with it (reported, not an error). */
static lapse_status_t create_variant(lapse_cl_t *cl, int simple, const char *defines,
                                     bench_variant_t *v)
{
    lapse_status_t st = LAPSE_OK;
    *v = (bench_variant_t){NULL, "", defines};
    if (setenv("LAPSE_KERNELS", simple ? "simple" : "tiled", 1) != 0)
        LAPSE_FAIL(LAPSE_ERUNTIME, "setenv LAPSE_KERNELS failed");
    LAPSE_TRY(lapse_cl_set_build_options(cl, defines));
    LAPSE_TRY(lapse_dev_create(cl, &v->dev));
    const char *name = lapse_dev_variant(v->dev); /* probes (builds) the tiled filters */
    if (defines && v->dev->filters_state == 0) {  /* the build or probe failed */
        fprintf(stderr,
                "bench_kernels: variant \"%s\" skipped: its tiled filters do not build or run "
                "(%s)\n",
                defines, lapse_errmsg());
        lapse_err_clear();
        variant_release(v);
        snprintf(v->label, sizeof v->label, "probe_failed[%s]", defines);
        goto cleanup;
    }
    if (defines)
        snprintf(v->label, sizeof v->label, "%s[%s]", name, defines);
    else
        snprintf(v->label, sizeof v->label, "%s", simple ? "simple" : name);
cleanup:
    if (lapse_cl_set_build_options(cl, NULL) != LAPSE_OK && st == LAPSE_OK)
        st = LAPSE_ERUNTIME;
    if (st != LAPSE_OK)
        variant_release(v);
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
    bench_variant_t simple;             /* simple.dev NULL: not needed */
    bench_variant_t tiled[MAX_DEFINES]; /* default program, or one per --defines */
    int ntiled;
    double *times;
    float *ref, *res;
    double cgbps;
} bench_run_t;

/* Benchmark operation b on device state k (reps from a) and print its row; unless k is the
 * simple variant, compare the result with R->ref (when held). *cur, odim: where the result lies and
 * its dims (*cur = -1 after a failure). A failing launch is reported in the row (ERR), not fatal.
 */
static lapse_status_t bench_one(bench_run_t *R, const bench_args_t *a, const bench_op_t *b,
                                lapse_dev_t *k, const char *label, int *cur, int64_t odim[3])
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
    if (R->ref && k != R->simple.dev) {
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
        LAPSE_TRY(bench_one(R, a, b, R->simple.dev, R->simple.label, &cur, odim));
    else
        LAPSE_TRY(time_op(&R->d, R->simple.dev, b, a->dim, 1, 0, R->times, &nkern, &cur, odim));
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
    /* the launchers enqueue on cl->queue (dev->cl->queue): swap in a profiling queue for the
     * benchmark before any variant's device state is made */
    own = clCreateCommandQueue(cl->ctx, cl->dev.device, CL_QUEUE_PROFILING_ENABLE, &e);
    LAPSE_CL(e);
    orig = cl->queue;
    cl->queue = own;
    int check = a->check && a->variants[1];
    if (a->variants[0] || check)
        LAPSE_TRY(create_variant(cl, 1, NULL, &R.simple));
    if (a->variants[1]) {
        R.ntiled = a->ndefines > 0 ? a->ndefines : 1;
        for (int v = 0; v < R.ntiled; v++)
            LAPSE_TRY(create_variant(cl, 0, a->ndefines > 0 ? a->defines[v] : NULL, &R.tiled[v]));
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
        if (R.simple.dev)
            LAPSE_TRY(reference(&R, a, &bench_ops[o]));
        for (int v = 0; v < R.ntiled; v++) {
            int cur = 0;
            int64_t odim[3];
            if (R.tiled[v].dev) { /* kernels fetched now: from the variant's own build */
                LAPSE_TRY(lapse_cl_set_build_options(cl, R.tiled[v].defines));
                st = bench_one(&R, a, &bench_ops[o], R.tiled[v].dev, R.tiled[v].label, &cur, odim);
                if (lapse_cl_set_build_options(cl, NULL) != LAPSE_OK && st == LAPSE_OK)
                    st = LAPSE_ERUNTIME;
                if (st != LAPSE_OK)
                    goto cleanup;
            } else
                print_row(a, cl->dev.name, bench_ops[o].label, R.tiled[v].label, 0.0, 0.0, 1.0,
                          R.cgbps, 0, "ERR");
        }
    }
cleanup:
    free(R.times);
    free(R.ref);
    free(R.res);
    variant_release(&R.simple);
    for (int v = 0; v < R.ntiled; v++)
        variant_release(&R.tiled[v]);
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
