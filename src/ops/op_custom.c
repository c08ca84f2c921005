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
 * output's fingerprint (fingerprint.c). No CPU reference: the function is the user's
 * (tests/unit/test_custom.c compares a 3x3x3 mean written this way with mean_box).
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
    .launch = custom_launch,
    .reference = NULL, /* OpenCL C of the user's: no CPU reference */
};
