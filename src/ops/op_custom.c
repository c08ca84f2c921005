/*
 * op_custom.c - custom_kernel: a user's own OpenCL C function, as the clesperanto and CuPy
 * exercises write theirs. The step names a file (source:, read once by rank 0 when the config
 * is loaded and sent to every rank: config_pipeline.c, exec/job.c), how far the function reads
 * (reach: [z, y, x]), its result dtype and up to 8 numbers (params:). The file defines
 *     float lapse_user(const __global float *in, int4 dim, int4 pos, __constant float *p)
 * and reads the input with lapse_at (clamped to the edge), both in kernels/custom.cl, which
 * wraps it into a kernel over every voxel. The program is built when the pipeline is made
 * (prepare, at the start of a run, before the output is touched); a build failure is a config
 * error (exit 2) whose build log names the user's file and lines. Its text goes into the
 * output's fingerprint (fingerprint.c). Before any task, the function is tested for reading
 * beyond its reach (custom_selftest: a config error, naming a reach that passes). No CPU reference:
 * the function is the user's (tests/unit/test_custom.c compares a 3x3x3 mean written this way with
 * mean_box).
 */
#include "ops/family.h"

enum { P_SOURCE, P_REACH, P_DTYPE, P_PARAMS };

/* The program, its kernel and the step's params on the device. */
typedef struct {
    cl_program prog;
    cl_kernel kern;
    cl_mem params; /* LAPSE_PARAM_LIST_MAX floats */
} custom_state_t;

static void custom_reach(const lapse_step_t *s, int64_t reach[3])
{
    for (int a = 0; a < 3; a++)
        reach[a] = (int64_t)s->p[P_REACH].v[a];
}

static const char *const dtype_words[] = {"float32", "uint8", "uint16", "same", NULL};

static lapse_dtype_t custom_out_dtype(const lapse_step_t *s, lapse_dtype_t in)
{
    static const lapse_dtype_t dt[] = {LAPSE_DT_F32, LAPSE_DT_U8, LAPSE_DT_U16};
    int i = (int)s->p[P_DTYPE].v[0];
    return i >= 0 && i < 3 ? dt[i] : in;
}

static void custom_release(void *state)
{
    custom_state_t *cs = state;
    if (cs == NULL)
        return;
    if (cs->params)
        clReleaseMemObject(cs->params);
    if (cs->kern)
        clReleaseKernel(cs->kern);
    if (cs->prog)
        clReleaseProgram(cs->prog);
    free(cs);
}

/* Build the user's program on d's device and upload the params. A source that does not build
 * is LAPSE_ECONFIG: "<config>:<line>:<col>: pipeline[k].source: ... build log ...". */
static lapse_status_t custom_prepare(lapse_dev_t *d, const lapse_step_t *s, void **state)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_float p[LAPSE_PARAM_LIST_MAX];
    custom_state_t *cs = NULL;
    if (s->source == NULL || s->source->text == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: a custom_kernel step without its source text "
                                   "(lapse_config_load_sources was not called)");
    cs = calloc(1, sizeof *cs);
    LAPSE_ALLOC(cs);
    st = lapse_cl_build_user(d->cl, "custom.cl", s->source->path, s->source->text, &cs->prog);
    if (st == LAPSE_ECONFIG)
        st = lapse_fail_wrap(LAPSE_ECONFIG, "%s", s->source->where);
    if (st != LAPSE_OK)
        goto cleanup;
    cs->kern = clCreateKernel(cs->prog, "lapse_custom", &e);
    LAPSE_CL(e);
    for (int i = 0; i < LAPSE_PARAM_LIST_MAX; i++)
        p[i] = (cl_float)s->p[P_PARAMS].v[i];
    cs->params =
        clCreateBuffer(d->cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof p, p, &e);
    LAPSE_CL(e);
    *state = cs;
    cs = NULL;
cleanup:
    custom_release(cs);
    return st;
}

static lapse_status_t custom_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                    const lapse_dvol_t *in, const lapse_dvol_t *out,
                                    const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    custom_state_t *cs = state;
    (void)s;
    (void)scratch;
    *res = 0;
    if (cs == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: custom_kernel launched without its program");
    cl_int4 dim = {{(cl_int)in[0].dim[2], (cl_int)in[0].dim[1], (cl_int)in[0].dim[0], 0}};
    LAPSE_ARG(cs->kern, 0, in[0].mem);
    LAPSE_ARG(cs->kern, 1, out->mem);
    LAPSE_ARG(cs->kern, 2, dim);
    LAPSE_ARG(cs->kern, 3, cs->params);
    LAPSE_TRY(lapse_dev_launch_3d(d, cs->kern, (size_t)in[0].dim[2], (size_t)in[0].dim[1],
                                  (size_t)in[0].dim[0]));
cleanup:
    return st;
}

/* ------------------------------------------------------------------ the reach test
 *
 * The contract of docs/config.md (read only through lapse_at, only within reach of pos, and not
 * depending on where the buffer lies) is what makes tiled results equal untiled ones, and a
 * function that breaks it still runs. So before any task, along each axis where the operand
 * image has more than one voxel, the function runs on a test volume of pseudo-random values and
 * on a tile of it: a core of RT_CORE voxels grown by the reach, as the planner would read it,
 * the tile at distance 1 from the volume's edges (the core at r + 1). Within the reach, clamping at
 * the tile's edge gives what the whole volume gives, so a function that keeps the contract gives
 * the same bits in the core; one that reads further (or uses pos or dim otherwise) sees the tile's
 * clamped edge, or a shifted pos, and (on random values, almost surely) differs. The test can miss
 * a function whose result ignores what it reads out of reach on these values; it never refuses one
 * that keeps the contract. */

#define RT_CORE 2  /* core voxels of the test tile along the tested axis */
#define RT_SIDE 5  /* extent of the other axes (at most their image's) */
#define RT_MORE 16 /* reaches tried beyond the given one, for a suggestion */

/* out (dims dim, C order z, y, x) = the user's function on host volume v of dims dim, on d. */
static lapse_status_t rt_run(lapse_dev_t *d, custom_state_t *cs, const float *v,
                             const int64_t dim[3], float *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_mem in = NULL, res = NULL;
    const size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    in = clCreateBuffer(d->cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * sizeof(float),
                        (void *)v, &e);
    LAPSE_CL(e);
    res = clCreateBuffer(d->cl->ctx, CL_MEM_WRITE_ONLY, n * sizeof(float), NULL, &e);
    LAPSE_CL(e);
    cl_int4 cdim = {{(cl_int)dim[2], (cl_int)dim[1], (cl_int)dim[0], 0}};
    LAPSE_ARG(cs->kern, 0, in);
    LAPSE_ARG(cs->kern, 1, res);
    LAPSE_ARG(cs->kern, 2, cdim);
    LAPSE_ARG(cs->kern, 3, cs->params);
    LAPSE_TRY(lapse_dev_launch_3d(d, cs->kern, (size_t)dim[2], (size_t)dim[1], (size_t)dim[0]));
    LAPSE_CL(
        clEnqueueReadBuffer(d->cl->queue, res, CL_TRUE, 0, n * sizeof(float), out, 0, NULL, NULL));
cleanup:
    if (in)
        clReleaseMemObject(in);
    if (res)
        clReleaseMemObject(res);
    return st;
}

/* Whether the function gives the same bits in a tile's core as on the whole test volume along
 * axis a, with reach r along a, for an operand image of dims img: *same 1 or 0. */
static lapse_status_t rt_axis(lapse_dev_t *d, custom_state_t *cs, const int64_t img[3], int a,
                              int64_t r, int *same)
{
    lapse_status_t st = LAPSE_OK;
    int64_t wd[3], td[3]; /* dims of the whole volume and of the tile */
    float *w = NULL, *wo = NULL, *t = NULL, *to = NULL;
    for (int b = 0; b < 3; b++)
        wd[b] = td[b] = img[b] < RT_SIDE ? img[b] : RT_SIDE;
    wd[a] = 2 * r + RT_CORE + 2;
    td[a] = 2 * r + RT_CORE; /* whole-volume indices 1 .. 2r + RT_CORE */
    const size_t nw = (size_t)(wd[0] * wd[1] * wd[2]), nt = (size_t)(td[0] * td[1] * td[2]);
    w = calloc(nw, sizeof *w);
    wo = malloc(nw * sizeof *wo);
    t = malloc(nt * sizeof *t);
    to = malloc(nt * sizeof *to);
    LAPSE_ALLOC(w);
    LAPSE_ALLOC(wo);
    LAPSE_ALLOC(t);
    LAPSE_ALLOC(to);
    uint32_t x = 2463534242u; /* xorshift32: values k / 16 for k in 0 .. 65535 */
    for (size_t i = 0; i < nw; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        w[i] = (float)(x >> 16) / 16.0f;
    }
    int64_t o[3] = {0, 0, 0}; /* the tile's offset in the whole volume */
    o[a] = 1;
    for (int64_t z = 0; z < td[0]; z++)
        for (int64_t y = 0; y < td[1]; y++)
            for (int64_t q = 0; q < td[2]; q++)
                t[(z * td[1] + y) * td[2] + q] =
                    w[((z + o[0]) * wd[1] + y + o[1]) * wd[2] + q + o[2]];
    LAPSE_TRY(rt_run(d, cs, w, wd, wo));
    LAPSE_TRY(rt_run(d, cs, t, td, to));
    *same = 1;
    for (int64_t z = 0; z < td[0]; z++)
        for (int64_t y = 0; y < td[1]; y++)
            for (int64_t q = 0; q < td[2]; q++) {
                const int64_t c[3] = {z, y, q};
                if (c[a] < r || c[a] >= r + RT_CORE) /* the core only */
                    continue;
                const float *tv = &to[(z * td[1] + y) * td[2] + q];
                const float *wv = &wo[((z + o[0]) * wd[1] + y + o[1]) * wd[2] + q + o[2]];
                if (memcmp(tv, wv, sizeof *tv) != 0)
                    *same = 0;
            }
cleanup:
    free(w);
    free(wo);
    free(t);
    free(to);
    return st;
}

/* The reach test (above): LAPSE_ECONFIG at the step's reach key when the function's tiled
 * results would differ, naming the axes and the smallest reaches (up to RT_MORE more) that
 * pass. */
static lapse_status_t custom_selftest(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                      const int64_t img[3])
{
    static const char *const axis[3] = {"z", "y", "x"};
    lapse_status_t st = LAPSE_OK;
    int64_t reach[3], fix[3], last[3] = {0, 0, 0}; /* last: the largest reach tried */
    int bad[3] = {0, 0, 0}, unfixed[3] = {0, 0, 0}, same = 1, nbad = 0, nunfixed = 0;
    if (state == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: custom_kernel tested without its program");
    custom_reach(s, reach);
    for (int a = 0; a < 3; a++) {
        fix[a] = reach[a];
        if (img[a] < 2)
            continue; /* one voxel: no tile edge along a */
        LAPSE_TRY(rt_axis(d, state, img, a, reach[a], &same));
        if (same)
            continue;
        bad[a] = 1;
        nbad++;
        last[a] = reach[a] + RT_MORE < 1000 ? reach[a] + RT_MORE : 1000;
        for (fix[a] = reach[a] + 1; fix[a] <= last[a]; fix[a]++) {
            LAPSE_TRY(rt_axis(d, state, img, a, fix[a], &same));
            if (same)
                break;
        }
        if (!same) {
            unfixed[a] = 1;
            nunfixed++;
            fix[a] = reach[a];
        }
    }
    if (nbad == 0)
        goto cleanup;
    const lapse_mark_t m = s->param_mark[P_REACH].line > 0 ? s->param_mark[P_REACH]
                                                           : (lapse_mark_t){s->line, s->column};
    char head[4400], axes[16] = "", tail[1024] = "";
    snprintf(head, sizeof head, "%s:%d:%d: pipeline[%d].reach", s->source->config, m.line, m.column,
             s->item);
    for (int a = 0, n = 0; a < 3; a++)
        if (bad[a])
            snprintf(axes + strlen(axes), sizeof axes - strlen(axes), "%s%s", n++ ? ", " : "",
                     axis[a]);
    for (int a = 0; a < 3; a++)
        if (unfixed[a])
            snprintf(tail + strlen(tail), sizeof tail - strlen(tail),
                     "along %s no reach up to %lld gives equal results; ", axis[a],
                     (long long)last[a]);
    if (nunfixed > 0)
        snprintf(tail + strlen(tail), sizeof tail - strlen(tail),
                 "the function must read the input only through lapse_at and must not use pos or "
                 "dim except to address neighbours (docs/config.md, custom_kernel)%s",
                 nunfixed < nbad ? "; along the other axes, " : "");
    if (nunfixed < nbad)
        snprintf(tail + strlen(tail), sizeof tail - strlen(tail),
                 "reach [%lld, %lld, %lld] gives equal results", (long long)fix[0],
                 (long long)fix[1], (long long)fix[2]);
    LAPSE_FAIL(LAPSE_ECONFIG,
               "%s: the function in %s reads beyond its reach [%lld, %lld, %lld] (z, y, x) along "
               "%s: on a test volume of random values its results at the edge of a tile differ "
               "from those of the whole volume, so tiled results would differ from untiled ones; "
               "%s",
               head, s->source->path, (long long)reach[0], (long long)reach[1], (long long)reach[2],
               axes, tail);
cleanup:
    return st;
}

const lapse_op_t lapse_op_custom_kernel = {
    .name = "custom_kernel",
    .help = "the user's OpenCL C function lapse_user at every voxel (docs/config.md)",
    .family = "custom",
    .convention = "the user's (reads with lapse_at: nearest edge)",
    .version = 1,
    .ninputs = 1,
    .nparams = 4,
    .params = {LAPSE_P_SOURCE("source",
                              "OpenCL C file defining lapse_user, relative to the config file"),
               LAPSE_P_VEC3I_DEF("reach", 0.0, 0.0, 1000.0,
                                 "voxels each side (z y x) the function reads with lapse_at"),
               LAPSE_P_ENUM("dtype", dtype_words, "result dtype (same: as its input)"),
               LAPSE_P_LIST("params",
                            "numbers the function reads as p[0..7] (float32; 0 when not given)")},
    .out_rule = LAPSE_OUT_PARAM,
    .out_dtype = custom_out_dtype,
    .footprint = LAPSE_FP_LOCAL,
    .nscratch = 0,
    .kernels = "custom.cl + the user's file",
    .reach_doc = "its reach parameter",
    .reach = custom_reach,
    .prepare = custom_prepare,
    .release = custom_release,
    .selftest = custom_selftest,
    .launch = custom_launch,
    .reference = NULL, /* OpenCL C of the user's: no CPU reference */
};
