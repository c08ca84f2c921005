/*
 * bench_segment.c - device benchmark of the per-timepoint operations of issue 9 on one
 * realistic timepoint held whole on the device (the usual case on a big GPU): threshold_otsu
 * (and threshold_mean, threshold_percentile 99),
 * connected_components_labeling (box) of the Otsu mask, the two together (as clesperanto's
 * connected_components_labeling(threshold_otsu(x)) in ../shared/bench/peer_ops.py label_real),
 * and measure_labels of those labels against the intensities, and voronoi_otsu_labeling
 * (spot and outline sigma 2) as a pipeline of its seven steps (lapse_pipeline_run's compute
 * time: from the uploaded input to the packed labels, on the device). Each is run through its
 * global hooks exactly as a task runs it (lapse_global_whole: partials, host reduction, apply),
 * timed on the wall clock from a finished queue to a finished queue, median of N after warm-up (the
 * peers' method). The volume is the first timepoint of /raw of an HDF5 file (`lapse sample
 * --shape 128,1024,1024`), as float32. Prints "lapse OP MS" lines and the label count.
 *
 * usage: bench_segment FILE.h5 [--reps N] [--device-kind gpu|cpu|any]
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clrt.h"
#include "device/dev.h"
#include "ops/global.h"
#include "ops/graph.h"
#include "ops/op.h"
#include "pipeline.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The first timepoint of /raw as float32 (dims into dim). */
static float *load(const char *file, int64_t dim[3])
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, "/raw", H5P_DEFAULT) : -1;
    hid_t s = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t dims[4] = {0, 1, 1, 1};
    float *v = NULL;
    int nd = s >= 0 ? H5Sget_simple_extent_dims(s, dims, NULL) : -1;
    if (nd == 4 || nd == 3) {
        hsize_t start[4] = {0, 0, 0, 0}, count[4] = {1, dims[1], dims[2], nd == 4 ? dims[3] : 1};
        dim[0] = nd == 4 ? (int64_t)dims[1] : 1;
        dim[1] = nd == 4 ? (int64_t)dims[2] : (int64_t)dims[1];
        dim[2] = nd == 4 ? (int64_t)dims[3] : (int64_t)dims[2];
        size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
        v = malloc(n * sizeof *v);
        hid_t m = H5Screate_simple(1, (hsize_t[]){n}, NULL);
        if (nd == 3)
            count[2] = dims[2], count[3] = 1;
        if (v == NULL || H5Sselect_hyperslab(s, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(d, H5T_NATIVE_FLOAT, m, s, H5P_DEFAULT, v) < 0) {
            free(v);
            v = NULL;
        }
        H5Sclose(m);
    }
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    return v;
}

typedef struct {
    lapse_dev_t *d;
    lapse_dvol_t in[2], out;
    cl_mem mat, work;
} ctx_t;

/* Run step s whole: in[0] (and in[1]) into out. */
static lapse_status_t run(ctx_t *c, const lapse_step_t *s)
{
    return lapse_global_whole(c->d, s, c->in, &c->out, c->mat, c->work, NULL);
}

/* Median wall time of reps runs of s after one warm-up. */
static lapse_status_t time_step(ctx_t *c, const lapse_step_t *s, int reps, double *ms)
{
    lapse_status_t st = LAPSE_OK;
    double t[64];
    LAPSE_TRY(run(c, s));
    LAPSE_CL(clFinish(c->d->cl->queue));
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        LAPSE_TRY(run(c, s));
        LAPSE_CL(clFinish(c->d->cl->queue));
        t[r] = (now() - t0) * 1e3;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    *ms = t[reps / 2];
cleanup:
    return st;
}

/* The median over reps runs of each pass's partial (to a finished queue) and of the apply of
 * global step s, printed as "lapse NAME.passK MS" and "lapse NAME.apply MS": where the time of
 * a global operation goes. */
static lapse_status_t time_passes(ctx_t *c, const lapse_step_t *s, int reps, const char *name)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_global_t *g = s->op->global;
    double t[9][64];
    lapse_blob_t prev = {NULL, 0}, part = {NULL, 0}, next = {NULL, 0};
    lapse_gtile_t tile;
    lapse_gtile_whole(c->in[0].dim, &tile);
    for (int r = 0; r <= reps; r++) {
        for (int pass = 0; pass < g->npass && pass < 8; pass++) {
            LAPSE_CL(clFinish(c->d->cl->queue));
            double t0 = now();
            LAPSE_TRY(g->partial(c->d, s, pass, pass ? &prev : NULL, &tile, c->in, c->mat, c->work,
                                 &part));
            LAPSE_CL(clFinish(c->d->cl->queue));
            if (r > 0)
                t[pass][r - 1] = (now() - t0) * 1e3;
            LAPSE_TRY(g->reduce(s, pass, pass ? &prev : NULL, &tile, &part, 1, &next));
            lapse_blob_free(&part);
            lapse_blob_free(&prev);
            prev = next;
            next.data = NULL;
            next.size = 0;
        }
        double t0 = now();
        LAPSE_TRY(g->apply(c->d, s, &prev, c->in, c->mat, &c->out));
        LAPSE_CL(clFinish(c->d->cl->queue));
        if (r > 0)
            t[8][r - 1] = (now() - t0) * 1e3;
        lapse_blob_free(&prev);
    }
    for (int pass = 0; pass < g->npass && pass < 8; pass++) {
        qsort(t[pass], (size_t)reps, sizeof(double), cmp_double);
        printf("lapse %s.pass%d %.3f\n", name, pass, t[pass][reps / 2]);
    }
    qsort(t[8], (size_t)reps, sizeof(double), cmp_double);
    printf("lapse %s.apply %.3f\n", name, t[8][reps / 2]);
cleanup:
    lapse_blob_free(&part);
    lapse_blob_free(&prev);
    lapse_blob_free(&next);
    return st;
}

int main(int argc, char **argv)
{
    lapse_status_t st = LAPSE_OK;
    lapse_cl_t *cl = NULL;
    ctx_t c;
    memset(&c, 0, sizeof c);
    int reps = 9;
    lapse_devkind_t kind = LAPSE_DEV_ANY;
    int64_t dim[3] = {0, 0, 0};
    cl_mem bufs[4] = {NULL, NULL, NULL, NULL};
    cl_int e = CL_SUCCESS;
    float *v = NULL;
    if (argc < 2) {
        fprintf(stderr, "usage: bench_segment FILE.h5 [--reps N] [--device-kind gpu|cpu|any]\n");
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]) > 0 && atoi(argv[i + 1]) <= 64 ? atoi(argv[i + 1]) : reps;
        else if (!strcmp(argv[i], "--device-kind"))
            kind = !strcmp(argv[i + 1], "gpu")   ? LAPSE_DEV_GPU
                   : !strcmp(argv[i + 1], "cpu") ? LAPSE_DEV_CPU
                                                 : LAPSE_DEV_ANY;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    v = load(argv[1], dim);
    if (v == NULL) {
        fprintf(stderr, "bench_segment: cannot read /raw of %s\n", argv[1]);
        return 2;
    }
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    printf("volume %lld x %lld x %lld from %s\n", (long long)dim[0], (long long)dim[1],
           (long long)dim[2], argv[1]);
    lapse_cl_choice_t ch;
    LAPSE_TRY(lapse_cl_choose(kind, -1, 0, &ch));
    LAPSE_TRY(lapse_cl_open(&ch, &cl));
    printf("device %s\n", cl->dev.name);
    LAPSE_TRY(lapse_dev_create(cl, &c.d));
    bufs[0] = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * 4, v, &e);
    LAPSE_CL(e);
    for (int i = 1; i < 3; i++) {
        bufs[i] = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, n * 4, NULL, &e);
        LAPSE_CL(e);
    }
    c.mat = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, n * 8, NULL, &e);
    LAPSE_CL(e);
    c.work = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, n * 4, NULL, &e);
    LAPSE_CL(e);
    lapse_step_t otsu, cc, meas;
    lapse_step_init(&otsu, lapse_op_find("threshold_otsu"));
    lapse_step_init(&cc, lapse_op_find("connected_components_labeling"));
    double ms;
    /* Otsu: raw -> mask (bufs[1]) */
    c.in[0] = (lapse_dvol_t){.mem = bufs[0], .dim = {dim[0], dim[1], dim[2]}};
    c.out = (lapse_dvol_t){.mem = bufs[1], .dim = {dim[0], dim[1], dim[2]}};
    LAPSE_TRY(time_step(&c, &otsu, reps, &ms));
    printf("lapse otsu_real %.3f\n", ms);
    LAPSE_TRY(time_passes(&c, &otsu, reps, "otsu_real"));
    /* the other per-timepoint thresholds, the same way */
    {
        lapse_step_t tm, tp;
        lapse_step_init(&tm, lapse_op_find("threshold_mean"));
        lapse_step_init(&tp, lapse_op_find("threshold_percentile"));
        tp.p[0].v[0] = 99.0;
        LAPSE_TRY(time_step(&c, &tm, reps, &ms));
        printf("lapse threshold_mean_real %.3f\n", ms);
        LAPSE_TRY(time_step(&c, &tp, reps, &ms));
        printf("lapse threshold_percentile99_real %.3f\n", ms);
    }
    /* labels of the mask: bufs[1] -> bufs[2] */
    c.in[0].mem = bufs[1];
    c.out.mem = bufs[2];
    LAPSE_TRY(time_step(&c, &cc, reps, &ms));
    printf("lapse label_of_mask %.3f\n", ms);
    LAPSE_TRY(time_passes(&c, &cc, reps, "label_of_mask"));
    /* Otsu then labels, as clesperanto's label_real */
    {
        double t[64];
        for (int r = 0; r <= reps; r++) {
            LAPSE_CL(clFinish(cl->queue));
            double t0 = now();
            c.in[0].mem = bufs[0];
            c.out.mem = bufs[1];
            LAPSE_TRY(run(&c, &otsu));
            c.in[0].mem = bufs[1];
            c.out.mem = bufs[2];
            LAPSE_TRY(run(&c, &cc));
            LAPSE_CL(clFinish(cl->queue));
            if (r > 0)
                t[r - 1] = (now() - t0) * 1e3;
        }
        qsort(t, (size_t)reps, sizeof *t, cmp_double);
        printf("lapse label_real %.3f\n", t[reps / 2]);
    }
    float mx = 0; /* the label count: the largest label */
    {
        float *lab = malloc(n * sizeof *lab);
        LAPSE_ALLOC(lab);
        LAPSE_CL(clEnqueueReadBuffer(cl->queue, bufs[2], CL_TRUE, 0, n * 4, lab, 0, NULL, NULL));
        for (size_t i = 0; i < n; i++)
            mx = lab[i] > mx ? lab[i] : mx;
        free(lab);
        printf("labels %.0f\n", (double)mx);
    }
    const lapse_op_t *mo = lapse_op_find("measure_labels");
    if (mo) {
        lapse_step_init(&meas, mo);
        c.in[0] = (lapse_dvol_t){.mem = bufs[2], .dim = {dim[0], dim[1], dim[2]}};
        c.in[1] = (lapse_dvol_t){.mem = bufs[0], .dim = {dim[0], dim[1], dim[2]}};
        bufs[3] = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, n * 4, NULL, &e);
        LAPSE_CL(e);
        c.out.mem = bufs[3];
        LAPSE_TRY(time_step(&c, &meas, reps, &ms));
        printf("lapse measure_real %.3f\n", ms);
        LAPSE_TRY(time_passes(&c, &meas, reps, "measure_real"));
    }
    {
        lapse_step_t vol, steps[8];
        lapse_graph_t g;
        lapse_graph_err_t gerr;
        lapse_pipeline_t *p = NULL;
        double t[64];
        lapse_step_init(&vol, lapse_op_find("voronoi_otsu_labeling"));
        for (int a = 0; a < 3; a++)
            vol.p[0].v[a] = vol.p[1].v[a] = 2.0;
        int ns = vol.op->expand(&vol, "input", 0, steps, 8);
        LAPSE_TRY(lapse_graph_compile(steps, ns, dim, LAPSE_DT_F32, LAPSE_DT_AUTO, &g, &gerr));
        LAPSE_TRY(lapse_pipeline_create(cl, &g, (long long)n, (long long)n, &p));
        lapse_box_t box = {{0, 0, 0}, {dim[0], dim[1], dim[2]}};
        for (int r = 0; r <= reps; r++) {
            lapse_pipe_times_t pt;
            memcpy(lapse_pipeline_input(p), v, n * sizeof *v);
            lapse_status_t rst = lapse_pipeline_run(p, &box, &box, &pt);
            if (rst != LAPSE_OK) {
                lapse_pipeline_destroy(p);
                LAPSE_TRY(rst);
            }
            if (r > 0)
                t[r - 1] = pt.compute * 1e3;
        }
        lapse_pipeline_profile(p, stdout, "lapse vol_real "); /* with LAPSE_PROFILE=1 */
        lapse_pipeline_destroy(p);
        qsort(t, (size_t)reps, sizeof *t, cmp_double);
        printf("lapse vol_real %.3f\n", t[reps / 2]);
    }
cleanup:
    if (st != LAPSE_OK)
        lapse_err_print(st);
    for (int i = 0; i < 4; i++)
        if (bufs[i])
            clReleaseMemObject(bufs[i]);
    if (c.mat)
        clReleaseMemObject(c.mat);
    if (c.work)
        clReleaseMemObject(c.work);
    lapse_dev_destroy(c.d);
    lapse_cl_close(cl);
    free(v);
    return st == LAPSE_OK ? 0 : 1;
}
