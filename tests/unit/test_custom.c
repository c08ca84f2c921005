/*
 * test_custom.c - custom_kernel, the user's own OpenCL C function (src/ops/op_custom.c): the
 * config keys (source relative to the config's directory, reach, dtype, params) and their
 * errors at file:line:column; reading the kernel file (missing, NUL bytes, bad UTF-8, too
 * large); the fingerprint following the file's text; on the device, the example
 * configs/custom_mean.cl against mean_box radius 1 (bit for bit) and the double-precision box
 * mean, an asymmetric stencil with params against a double reference of the same formula, tiled
 * == untiled for both, a kernel that does not build refused as a config error whose build
 * log names the user's file and line, and one that reads beyond its reach (or depends on pos)
 * refused by the reach test with a reach that passes. LAPSE_TEST_SEED=n repeats a run.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clrt.h"
#include "config.h"
#include "device/dev.h"
#include "fingerprint.h"
#include "ops/graph.h"
#include "ops/ref.h"
#include "pipeline.h"
#include "testutil.h"

static uint64_t seed_base;

/* Directory of the source tree (ctest sets LAPSE_SRC and runs from there). */
static const char *src_dir(void)
{
    const char *s = getenv("LAPSE_SRC");
    return s && s[0] ? s : ".";
}

/* Write n bytes of data into dir/name; the path goes into path[len]. */
static void write_file(const char *dir, const char *name, const void *data, size_t n, char *path,
                       size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* The message must start with "<cfg>:<line>:<col>: <keypath>: " and contain word. */
static void check_message(const char *cfg, int line, int col, const char *keypath, const char *word)
{
    char prefix[1024];
    snprintf(prefix, sizeof prefix, "%s:%d:%d: %s: ", cfg, line, col, keypath);
    const char *msg = lapse_errmsg();
    ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "message '%s' does not start '%s'",
                  msg, prefix);
    ck_assert_msg(strstr(msg + strlen(prefix), word) != NULL, "message '%s' lacks '%s'", msg, word);
}

#define HEAD "input: {file: a.h5, dataset: /raw}\noutput: {file: o.h5}\npipeline:\n"

/* ------------------------------------------------------------------ config */

START_TEST(test_parse)
{
    const char *dir = tu_tmpdir();
    char cpath[1024], kpath[1024], want[1100];
    static const char kern[] = "float lapse_user(const __global float *in, int4 dim, int4 pos, "
                               "__constant float *p) { return p[1]; }\n";
    write_file(dir, "k.cl", kern, strlen(kern), kpath, sizeof kpath);
    snprintf(cpath, sizeof cpath, "%s/c.yaml", dir);
    static const char text[] =
        HEAD "  - {op: custom_kernel, source: k.cl, reach: [1, 2, 3], dtype: uint16,\n"
             "     params: [1.5, -2, 3e3]}\n";
    lapse_config_t c;
    lapse_err_clear();
    ck_assert_msg(lapse_config_parse(cpath, text, strlen(text), &c) == LAPSE_OK, "%s",
                  lapse_errmsg());
    const lapse_step_t *s = &c.steps[0];
    ck_assert_str_eq(s->op->name, "custom_kernel");
    ck_assert_ptr_nonnull(s->source);
    ck_assert_str_eq(s->source->path, kpath); /* relative to the config's directory */
    snprintf(want, sizeof want, "%s:4:33: pipeline[0].source", cpath);
    ck_assert_str_eq(s->source->where, want);
    ck_assert_ptr_null(s->source->text); /* parsing names the file, reading is separate */
    int64_t r[3];
    lapse_step_reach(s, r);
    ck_assert(r[0] == 1 && r[1] == 2 && r[2] == 3);
    ck_assert_int_eq(lapse_step_out_dtype(s, LAPSE_DT_F32), LAPSE_DT_U16);
    ck_assert_double_eq(s->p[3].v[0], 1.5);
    ck_assert_double_eq(s->p[3].v[1], -2.0);
    ck_assert_double_eq(s->p[3].v[2], 3000.0);
    for (int i = 3; i < LAPSE_PARAM_LIST_MAX; i++)
        ck_assert_double_eq(s->p[3].v[i], 0.0);
    ck_assert_int_eq(lapse_config_load_sources(&c), LAPSE_OK);
    ck_assert_str_eq(s->source->text, kern);
    ck_assert_uint_eq(s->source->len, strlen(kern));
    lapse_config_free(&c);
    ck_assert_ptr_null(c.steps[0].source);
    lapse_config_free(&c); /* freeing twice is safe */

    /* defaults (reach 0, float32, params 0), one number as params, dtype same, an absolute path
     * kept, and a config path without a directory */
    char text2[2200];
    snprintf(text2, sizeof text2,
             HEAD "  - {op: custom_kernel, source: %s, params: 7, dtype: same, name: a}\n"
                  "  - {op: custom_kernel, source: k.cl, from: a}\n",
             kpath);
    ck_assert_msg(lapse_config_parse("c.yaml", text2, strlen(text2), &c) == LAPSE_OK, "%s",
                  lapse_errmsg());
    ck_assert_str_eq(c.steps[0].source->path, kpath);
    ck_assert_double_eq(c.steps[0].p[3].v[0], 7.0);
    ck_assert_double_eq(c.steps[0].p[3].v[1], 0.0);
    ck_assert_int_eq(lapse_step_out_dtype(&c.steps[0], LAPSE_DT_U8), LAPSE_DT_U8);
    ck_assert_str_eq(c.steps[1].source->path, "k.cl");
    lapse_step_reach(&c.steps[1], r);
    ck_assert(r[0] == 0 && r[1] == 0 && r[2] == 0);
    ck_assert_int_eq(lapse_step_out_dtype(&c.steps[1], LAPSE_DT_U16), LAPSE_DT_F32);
    lapse_config_free(&c);
}
END_TEST

/* Parse text (named cfg) which must fail at line:col with keypath and word. */
static void parse_bad(const char *text, int line, int col, const char *keypath, const char *word)
{
    lapse_config_t c;
    lapse_err_clear();
    ck_assert_int_eq(lapse_config_parse("mem.yaml", text, strlen(text), &c), LAPSE_ECONFIG);
    check_message("mem.yaml", line, col, keypath, word);
    lapse_config_free(&c);
}

START_TEST(test_parse_errors)
{
    parse_bad(HEAD "  - {op: custom_kernel, reach: 1}\n", 4, 5, "pipeline[0].source",
              "missing required key");
    parse_bad(HEAD "  - {op: custom_kernel, source: [a.cl]}\n", 4, 33, "pipeline[0].source",
              "expected a string");
    parse_bad(HEAD "  - {op: custom_kernel, source: 'a\"b.cl'}\n", 4, 33, "pipeline[0].source",
              "quotes");
    parse_bad(HEAD "  - {op: custom_kernel, source: \"a\\\\b.cl\"}\n", 4, 33, "pipeline[0].source",
              "backslashes");
    parse_bad(HEAD "  - {op: custom_kernel, source: a.cl, params: [1, 2, 3, 4, 5, 6, 7, 8, 9]}\n",
              4, 47, "pipeline[0].params", "too many numbers (9, at most 8)");
    parse_bad(HEAD "  - {op: custom_kernel, source: a.cl, params: [1, x]}\n", 4, 51,
              "pipeline[0].params[1]", "number");
    parse_bad(HEAD "  - {op: custom_kernel, source: a.cl, params: [1, 1e39]}\n", 4, 51,
              "pipeline[0].params[1]", "");
    parse_bad(HEAD "  - {op: custom_kernel, source: a.cl, params: {a: 1}}\n", 4, 47,
              "pipeline[0].params", "expected a list of up to 8 numbers");
    parse_bad(HEAD "  - {op: custom_kernel, source: a.cl, dtype: int8}\n", 4, 46,
              "pipeline[0].dtype", "float32, uint8, uint16, same");
    parse_bad(HEAD "  - {op: custom_kernel, source: a.cl, reach: -1}\n", 4, 46, "pipeline[0].reach",
              "");
    parse_bad(HEAD "  - {op: custom_kernel, source: a.cl, sigma: 1}\n", 4, 39, "pipeline[0].sigma",
              "unknown key");
}
END_TEST

/* Load dir/c.yaml naming kernel file `name`, which must be refused at the source key with word. */
static void load_bad(const char *dir, const char *name, const char *word)
{
    char cpath[1024], text[1200];
    int n = snprintf(text, sizeof text, HEAD "  - {op: custom_kernel, source: %s}\n", name);
    write_file(dir, "c.yaml", text, (size_t)n, cpath, sizeof cpath);
    lapse_config_t c;
    lapse_err_clear();
    ck_assert_int_eq(lapse_config_load(cpath, &c), LAPSE_ECONFIG);
    check_message(cpath, 4, 33, "pipeline[0].source", word);
    ck_assert_ptr_null(c.text);
    lapse_config_free(&c);
}

START_TEST(test_source_errors)
{
    const char *dir = tu_tmpdir();
    char p[1024];
    load_bad(dir, "missing.cl", "cannot open the kernel file");
    static const char nul[] = "float lapse_user() { return 0; }\n\0// after a NUL\n";
    write_file(dir, "nul.cl", nul, sizeof nul - 1, p, sizeof p);
    load_bad(dir, "nul.cl", "a NUL byte (0x00) at ");
    load_bad(dir, "nul.cl", "nul.cl:2:1 (byte offset 33)");
    static const char latin1[] = "// caf\xe9\n";
    write_file(dir, "latin1.cl", latin1, sizeof latin1 - 1, p, sizeof p);
    load_bad(dir, "latin1.cl", "not UTF-8 text: a bad byte (0xe9) at ");
    load_bad(dir, "latin1.cl", "latin1.cl:1:7 (byte offset 6)");
    /* the column counts characters: the two-byte \xc3\xa9 is one */
    static const char line2[] = "x\n\xc3\xa9 \xe9\n";
    write_file(dir, "line2.cl", line2, sizeof line2 - 1, p, sizeof p);
    load_bad(dir, "line2.cl", "line2.cl:2:3 (byte offset 5)");
    static const char overlong[] = "// \xc0\xaf\n"; /* '/' in two bytes */
    write_file(dir, "overlong.cl", overlong, sizeof overlong - 1, p, sizeof p);
    load_bad(dir, "overlong.cl", "(byte offset 3)");
    static const char surrogate[] = "// \xed\xa0\x80\n";
    write_file(dir, "surrogate.cl", surrogate, sizeof surrogate - 1, p, sizeof p);
    load_bad(dir, "surrogate.cl", "(byte offset 3)");
    static const char cut[] = "// \xe2\x82";
    write_file(dir, "cut.cl", cut, sizeof cut - 1, p, sizeof p);
    load_bad(dir, "cut.cl", "(byte offset 3)");
    size_t big = LAPSE_SOURCE_MAX + 1;
    char *b = malloc(big);
    ck_assert_ptr_nonnull(b);
    memset(b, ' ', big);
    write_file(dir, "big.cl", b, big, p, sizeof p);
    load_bad(dir, "big.cl", "too large");
    write_file(dir, "max.cl", b, big - 1, p, sizeof p); /* exactly the limit is fine */
    load_bad(dir, ".", "cannot read the kernel file");  /* a directory */
    free(b);

    /* UTF-8 text (a comment in French and an emoji) and a file of exactly the limit are read */
    static const char utf8[] = "// caf\xc3\xa9 \xf0\x9f\x94\xac\n";
    char cpath[1024];
    write_file(dir, "utf8.cl", utf8, sizeof utf8 - 1, p, sizeof p);
    static const char good[] = HEAD "  - {op: custom_kernel, source: utf8.cl, name: a}\n"
                                    "  - {op: custom_kernel, source: max.cl, from: a}\n";
    write_file(dir, "good.yaml", good, sizeof good - 1, cpath, sizeof cpath);
    lapse_config_t c;
    ck_assert_msg(lapse_config_load(cpath, &c) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_str_eq(c.steps[0].source->text, utf8);
    ck_assert_uint_eq(c.steps[1].source->len, (size_t)LAPSE_SOURCE_MAX);
    lapse_config_free(&c);
}
END_TEST

/* An output's fingerprint follows the kernel file's text (not its name) and the step's keys. */
START_TEST(test_fingerprint)
{
    const char *dir = tu_tmpdir();
    char cpath[1024], p[1024], a[24], b[24];
    const lapse_input_info_t in = {
        .ndims = 4, .ntp = 10, .shape = {8, 64, 64}, .dtype = LAPSE_DT_U16};
    static const char k1[] = "float lapse_user(const __global float *in, int4 dim, int4 pos, "
                             "__constant float *p) { return p[0]; }\n";
    static const char k2[] = "float lapse_user(const __global float *in, int4 dim, int4 pos, "
                             "__constant float *p) { return p[0]; } // edited\n";
    static const char text[] = HEAD "  - {op: custom_kernel, source: k.cl, params: [2]}\n";
    static const char moved[] = HEAD "  - {op: custom_kernel, source: other.cl, params: [2]}\n";
    static const char param[] = HEAD "  - {op: custom_kernel, source: k.cl, params: [3]}\n";
    lapse_config_t c;
    write_file(dir, "c.yaml", text, sizeof text - 1, cpath, sizeof cpath);
    write_file(dir, "k.cl", k1, sizeof k1 - 1, p, sizeof p);
    write_file(dir, "other.cl", k1, sizeof k1 - 1, p, sizeof p);
    ck_assert_msg(lapse_config_load(cpath, &c) == LAPSE_OK, "%s", lapse_errmsg());
    lapse_fingerprint(&c, &in, c.input_file, a, sizeof a);
    lapse_config_free(&c);

    write_file(dir, "k.cl", k2, sizeof k2 - 1, p, sizeof p); /* the kernel edited */
    ck_assert_msg(lapse_config_load(cpath, &c) == LAPSE_OK, "%s", lapse_errmsg());
    lapse_fingerprint(&c, &in, c.input_file, b, sizeof b);
    ck_assert_str_ne(a, b);
    lapse_config_free(&c);

    write_file(dir, "c.yaml", moved, sizeof moved - 1, cpath, sizeof cpath); /* same text */
    ck_assert_msg(lapse_config_load(cpath, &c) == LAPSE_OK, "%s", lapse_errmsg());
    lapse_fingerprint(&c, &in, c.input_file, b, sizeof b);
    ck_assert_str_eq(a, b);
    lapse_config_free(&c);

    write_file(dir, "c.yaml", param, sizeof param - 1, cpath, sizeof cpath);
    write_file(dir, "k.cl", k1, sizeof k1 - 1, p, sizeof p);
    ck_assert_msg(lapse_config_load(cpath, &c) == LAPSE_OK, "%s", lapse_errmsg());
    lapse_fingerprint(&c, &in, c.input_file, b, sizeof b);
    ck_assert_str_ne(a, b);
    lapse_config_free(&c);
}
END_TEST

/* ------------------------------------------------------------------ device */

/* Core box i of tiles t over dims (clipped), or 0 past the last. */
static int grid_core(const int64_t dims[3], const int64_t t[3], int64_t i, lapse_box_t *core)
{
    int64_t g[3];
    for (int a = 0; a < 3; a++)
        g[a] = (dims[a] + t[a] - 1) / t[a];
    if (i >= g[0] * g[1] * g[2])
        return 0;
    int64_t idx[3] = {i / (g[1] * g[2]), (i / g[2]) % g[1], i % g[2]};
    for (int a = 0; a < 3; a++) {
        core->off[a] = idx[a] * t[a];
        core->dim[a] = dims[a] - core->off[a] < t[a] ? dims[a] - core->off[a] : t[a];
    }
    return 1;
}

/* Run the one-step pipeline of s over float32 img (dims dim) in core tiles of tile, the read
 * boxes from the graph (as the planner does); the float32 result into out (dims dim). Returns
 * the pipeline's creation status (the result is written only on LAPSE_OK). */
static lapse_status_t run_step(lapse_cl_t *cl, const lapse_step_t *s, const float *img,
                               const int64_t dim[3], const int64_t tile[3], float *out)
{
    lapse_graph_t g;
    lapse_graph_err_t err;
    ck_assert_msg(lapse_graph_compile(s, 1, dim, LAPSE_DT_F32, LAPSE_DT_F32, &g, &err) == LAPSE_OK,
                  "%s", lapse_errmsg());
    lapse_box_t core, read, box[LAPSE_MAX_STEPS];
    long long most = 1, most_core = 1;
    for (int64_t i = 0; grid_core(dim, tile, i, &core); i++) {
        lapse_graph_read_box(&g, &core, &read);
        long long v = (long long)lapse_graph_node_boxes(&g, &read, &core, box);
        most = v > most ? v : most;
        v = (long long)lapse_box_voxels(&core);
        most_core = v > most_core ? v : most_core;
    }
    lapse_pipeline_t *p = NULL;
    lapse_status_t st = lapse_pipeline_create(cl, &g, most, most_core, &p);
    if (st != LAPSE_OK)
        return st;
    for (int64_t i = 0; grid_core(dim, tile, i, &core); i++) {
        lapse_graph_read_box(&g, &core, &read);
        float *in = lapse_pipeline_input(p);
        for (int64_t z = 0; z < read.dim[0]; z++)
            for (int64_t y = 0; y < read.dim[1]; y++)
                memcpy(in + (z * read.dim[1] + y) * read.dim[2],
                       img + ((read.off[0] + z) * dim[1] + read.off[1] + y) * dim[2] + read.off[2],
                       (size_t)read.dim[2] * sizeof *in);
        ck_assert_msg(lapse_pipeline_run(p, &read, &core, NULL) == LAPSE_OK, "%s", lapse_errmsg());
        const float *res = lapse_pipeline_output(p, 0);
        for (int64_t z = 0; z < core.dim[0]; z++)
            for (int64_t y = 0; y < core.dim[1]; y++)
                memcpy(out + ((core.off[0] + z) * dim[1] + core.off[1] + y) * dim[2] + core.off[2],
                       res + (z * core.dim[1] + y) * core.dim[2],
                       (size_t)core.dim[2] * sizeof *out);
    }
    lapse_pipeline_destroy(p);
    return LAPSE_OK;
}

/* The example configs/custom_mean.yaml (its kernel configs/custom_mean.cl) equals mean_box
 * radius 1 bit for bit, untiled and in odd tiles, and the double-precision box mean within
 * 1e-6 relative. */
START_TEST(test_example_mean)
{
    char path[1024];
    lapse_config_t c;
    snprintf(path, sizeof path, "%s/configs/custom_mean.yaml", src_dir());
    ck_assert_msg(lapse_config_load(path, &c) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_str_eq(c.steps[0].op->name, "custom_kernel");
    lapse_step_t cs = c.steps[0], mean;
    cs.save[0] = '\0';
    lapse_step_init(&mean, lapse_op_find("mean_box"));
    for (int a = 0; a < 3; a++)
        mean.p[0].v[a] = 1.0;

    const int64_t dim[3] = {9, 23, 31}, whole[3] = {9, 23, 31}, tile[3] = {4, 7, 10};
    size_t n = 9 * 23 * 31;
    float *img = malloc(n * sizeof *img), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b),
          *m = malloc(n * sizeof *m);
    double *ind = malloc(n * sizeof *ind), *ref = malloc(n * sizeof *ref);
    tu_fill_f32(img, n, seed_base, -50.0f, 300.0f);
    lapse_cl_t *cl = tu_open_cl();
    ck_assert_int_eq(run_step(cl, &mean, img, dim, whole, m), LAPSE_OK);
    ck_assert_int_eq(run_step(cl, &cs, img, dim, whole, a), LAPSE_OK);
    ck_assert_int_eq(run_step(cl, &cs, img, dim, tile, b), LAPSE_OK);
    ck_assert_msg(memcmp(a, m, n * sizeof *a) == 0, "custom mean differs from mean_box (seed %llu)",
                  (unsigned long long)seed_base);
    ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "tiled differs from untiled (seed %llu)",
                  (unsigned long long)seed_base);
    for (size_t i = 0; i < n; i++)
        ind[i] = img[i];
    const double r1[3] = {1, 1, 1};
    lapse_ref_separable(LAPSE_REF_MEAN, ind, ref, dim, r1);
    double worst = 0.0, mag = 0.0;
    for (size_t i = 0; i < n; i++) {
        mag = fabs(ref[i]) > mag ? fabs(ref[i]) : mag;
        worst = fabs(a[i] - ref[i]) > worst ? fabs(a[i] - ref[i]) : worst;
    }
    ck_assert_msg(worst <= 1e-6 * mag, "custom mean off the double mean by %g (max %g)", worst,
                  mag);
    lapse_cl_close(cl);
    lapse_config_free(&c);
    free(img);
    free(a);
    free(b);
    free(m);
    free(ind);
    free(ref);
}
END_TEST

/* An asymmetric stencil of reach [1, 2, 0] with params: out = p0 * v(x, y + 2, z) - v(x, y - 1,
 * z - 1) + p1 * v(x, y, z + 1) + p7 (v clamped to the image), against the same formula in
 * double, and tiled == untiled in odd tiles. */
static const char stencil_src[] =
    "// stencil.cl - a test kernel\n"
    "float lapse_user(const __global float *in, int4 dim, int4 pos, __constant float *p)\n"
    "{\n"
    "    return p[0] * lapse_at(in, dim, pos.x, pos.y + 2, pos.z)\n"
    "         - lapse_at(in, dim, pos.x, pos.y - 1, pos.z - 1)\n"
    "         + p[1] * lapse_at(in, dim, pos.x, pos.y, pos.z + 1) + p[7];\n"
    "}\n";

static int64_t clampi(int64_t v, int64_t n)
{
    return v < 0 ? 0 : v >= n ? n - 1 : v;
}

START_TEST(test_stencil)
{
    lapse_source_t src;
    memset(&src, 0, sizeof src);
    snprintf(src.path, sizeof src.path, "stencil.cl");
    snprintf(src.where, sizeof src.where, "mem.yaml:4:33: pipeline[0].source");
    src.text = (char *)stencil_src;
    src.len = strlen(stencil_src);
    lapse_step_t s;
    lapse_step_init(&s, lapse_op_find("custom_kernel"));
    s.source = &src;
    s.p[1].v[0] = 1; /* reach z, y, x */
    s.p[1].v[1] = 2;
    s.p[1].v[2] = 0;
    s.p[3].v[0] = 0.75;
    s.p[3].v[1] = -1.5;
    s.p[3].v[7] = 10.0;

    const int64_t dim[3] = {7, 19, 13}, whole[3] = {7, 19, 13}, tile[3] = {3, 5, 4};
    size_t n = 7 * 19 * 13;
    float *img = malloc(n * sizeof *img), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    tu_fill_f32(img, n, seed_base + 1, -100.0f, 100.0f);
    lapse_cl_t *cl = tu_open_cl();
    ck_assert_int_eq(run_step(cl, &s, img, dim, whole, a), LAPSE_OK);
    ck_assert_int_eq(run_step(cl, &s, img, dim, tile, b), LAPSE_OK);
    ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "tiled differs from untiled (seed %llu)",
                  (unsigned long long)seed_base);
    double worst = 0.0;
    for (int64_t z = 0; z < dim[0]; z++)
        for (int64_t y = 0; y < dim[1]; y++)
            for (int64_t x = 0; x < dim[2]; x++) {
#define V(zz, yy) (double)img[(clampi(zz, dim[0]) * dim[1] + clampi(yy, dim[1])) * dim[2] + x]
                double ref = 0.75 * V(z, y + 2) - V(z - 1, y - 1) + -1.5 * V(z + 1, y) + 10.0;
#undef V
                double e = fabs(a[(z * dim[1] + y) * dim[2] + x] - ref) / 400.0;
                worst = e > worst ? e : worst;
            }
    ck_assert_msg(worst <= 1e-6, "stencil off its double reference by %g relative", worst);
    lapse_cl_close(cl);
    free(img);
    free(a);
    free(b);
}
END_TEST

/* A kernel that does not compile (line 3), or whose lapse_user has another signature, is a
 * config error at the source key with the build log at the user's file and line; the pipeline
 * is then not made. */
START_TEST(test_build_error)
{
    static const char broken[] = "// broken.cl\n"
                                 "float lapse_user(const __global float *in, int4 dim, int4 pos, "
                                 "__constant float *p)\n"
                                 "{ return lapse_at(in, dim, pos.x, pos.y, pos.z) +  }\n";
    static const char wrong[] = "// wrong.cl\n"
                                "\n"
                                "int lapse_user(int x) { return x; }\n";
    static const char *const srcs[] = {broken, wrong};
    static const char *const names[] = {"dir/broken.cl", "wrong.cl"};
    lapse_cl_t *cl = tu_open_cl();
    for (int i = 0; i < 2; i++) {
        lapse_source_t src;
        memset(&src, 0, sizeof src);
        snprintf(src.path, sizeof src.path, "%s", names[i]);
        snprintf(src.where, sizeof src.where, "mem.yaml:7:15: pipeline[2].source");
        src.text = (char *)srcs[i];
        src.len = strlen(srcs[i]);
        lapse_step_t s;
        lapse_step_init(&s, lapse_op_find("custom_kernel"));
        s.source = &src;
        const int64_t dim[3] = {2, 3, 4};
        float img[24] = {0}, out[24];
        lapse_err_clear();
        ck_assert_int_eq(run_step(cl, &s, img, dim, dim, out), LAPSE_ECONFIG);
        const char *msg = lapse_errmsg();
        char want[64];
        snprintf(want, sizeof want, "%s:3", names[i]);
        ck_assert_msg(strncmp(msg, "mem.yaml:7:15: pipeline[2].source: ", 35) == 0, "%s", msg);
        ck_assert_msg(strstr(msg, "build log") != NULL, "%s", msg);
        ck_assert_msg(strstr(msg, want) != NULL, "no %s in: %s", want, msg);
    }
    lapse_cl_close(cl);
}
END_TEST

/* The reach test (custom_selftest): a function that reads beyond its reach, or depends on pos,
 * is refused before any task as a config error at the reach key (or the step when reach is not
 * given), naming the axes and a reach that passes; with that reach the pipeline is made and tiled
 * == untiled. A function reading z +- 1 with reach z 0 is fine on one-plane images (no tile edge
 * along z) and refused on volumes. */
static lapse_status_t reach_case(lapse_cl_t *cl, const char *text, const int64_t reach[3],
                                 lapse_mark_t mark, const int64_t dim[3], float *img, float *out,
                                 const int64_t tile[3])
{
    lapse_source_t src;
    memset(&src, 0, sizeof src);
    snprintf(src.path, sizeof src.path, "k/reach.cl");
    snprintf(src.where, sizeof src.where, "mem.yaml:5:20: pipeline[1].source");
    snprintf(src.config, sizeof src.config, "mem.yaml");
    src.text = (char *)text;
    src.len = strlen(text);
    lapse_step_t s;
    lapse_step_init(&s, lapse_op_find("custom_kernel"));
    s.source = &src;
    s.line = 5;
    s.column = 5;
    s.item = 1;
    s.param_mark[1] = mark;
    for (int a = 0; a < 3; a++)
        s.p[1].v[a] = (double)reach[a];
    lapse_err_clear();
    return run_step(cl, &s, img, dim, tile, out);
}

#define REACH_SRC(body)                                                                            \
    "float lapse_user(const __global float *in, int4 dim, int4 pos, __constant float *p)\n"        \
    "{\n    return " body ";\n}\n"

START_TEST(test_reach)
{
    static const char x2[] = REACH_SRC("lapse_at(in, dim, pos.x + 2, pos.y, pos.z) - "
                                       "lapse_at(in, dim, pos.x, pos.y, pos.z)");
    static const char zy[] = REACH_SRC("lapse_at(in, dim, pos.x, pos.y - 1, pos.z + 3) * 0.5f");
    static const char ramp[] = REACH_SRC("lapse_at(in, dim, pos.x, pos.y, pos.z) + (float)(pos.x "
                                         "& 1)");
    static const char zpm[] = REACH_SRC("lapse_at(in, dim, pos.x, pos.y, pos.z - 1) + "
                                        "lapse_at(in, dim, pos.x, pos.y, pos.z + 1)");
    const int64_t dim[3] = {9, 17, 23}, tile[3] = {4, 5, 6}, flat[3] = {1, 17, 23};
    const size_t n = 9 * 17 * 23;
    float *img = malloc(n * sizeof *img), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    tu_fill_f32(img, n, seed_base + 7, -100.0f, 100.0f);
    lapse_cl_t *cl = tu_open_cl();
    const lapse_mark_t at = {5, 40}, none = {0, 0};

    /* x + 2 with reach x 1: refused at the reach key, reach [0, 0, 2] named */
    const int64_t r001[3] = {0, 0, 1}, r002[3] = {0, 0, 2};
    ck_assert_int_eq(reach_case(cl, x2, r001, at, dim, img, a, dim), LAPSE_ECONFIG);
    check_message("mem.yaml", 5, 40, "pipeline[1].reach", "k/reach.cl reads beyond its reach");
    ck_assert_msg(strstr(lapse_errmsg(), "along x:") != NULL, "%s", lapse_errmsg());
    ck_assert_msg(strstr(lapse_errmsg(), "reach [0, 0, 2] gives equal results") != NULL, "%s",
                  lapse_errmsg());
    /* the named reach passes, and with it tiled == untiled */
    ck_assert_int_eq(reach_case(cl, x2, r002, at, dim, img, a, dim), LAPSE_OK);
    ck_assert_int_eq(reach_case(cl, x2, r002, at, dim, img, b, tile), LAPSE_OK);
    ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "tiled differs from untiled with reach 2");

    /* z + 3 and y - 1 with reach [1, 0, 0], reach not given in the config: at the step */
    const int64_t r100[3] = {1, 0, 0}, r310[3] = {3, 1, 0};
    ck_assert_int_eq(reach_case(cl, zy, r100, none, dim, img, a, dim), LAPSE_ECONFIG);
    check_message("mem.yaml", 5, 5, "pipeline[1].reach", "along z, y:");
    ck_assert_msg(strstr(lapse_errmsg(), "reach [3, 1, 0] gives equal results") != NULL, "%s",
                  lapse_errmsg());
    ck_assert_int_eq(reach_case(cl, zy, r310, none, dim, img, a, dim), LAPSE_OK);
    ck_assert_int_eq(reach_case(cl, zy, r310, none, dim, img, b, tile), LAPSE_OK);
    ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "tiled differs from untiled with reach 3, 1");

    /* a result that depends on pos: no reach passes */
    const int64_t r0[3] = {0, 0, 0}, r111[3] = {1, 1, 1};
    ck_assert_int_eq(reach_case(cl, ramp, r111, at, dim, img, a, dim), LAPSE_ECONFIG);
    check_message("mem.yaml", 5, 40, "pipeline[1].reach", "along x:");
    ck_assert_msg(strstr(lapse_errmsg(),
                         "along x no reach up to 17 gives equal results; the "
                         "function must read the input only through lapse_at") != NULL,
                  "%s", lapse_errmsg());
    ck_assert_msg(strstr(lapse_errmsg(), "along the other axes") == NULL, "%s", lapse_errmsg());

    /* the ramp in x and z + 3 with reach [1, 0, 0]: x has no reach, z's is named all the same */
    static const char both[] = REACH_SRC("lapse_at(in, dim, pos.x, pos.y, pos.z + 3) + "
                                         "(float)(pos.x & 1)");
    ck_assert_int_eq(reach_case(cl, both, r100, at, dim, img, a, dim), LAPSE_ECONFIG);
    check_message("mem.yaml", 5, 40, "pipeline[1].reach", "along z, x:");
    ck_assert_msg(strstr(lapse_errmsg(), "along x no reach up to 16 gives equal results") != NULL &&
                      strstr(lapse_errmsg(), "; along the other axes, reach [3, 0, 0] gives equal "
                                             "results") != NULL,
                  "%s", lapse_errmsg());

    /* z +- 1 with reach z 0: fine on a one-plane image, refused on a volume */
    ck_assert_msg(reach_case(cl, zpm, r0, at, flat, img, a, flat) == LAPSE_OK, "%s",
                  lapse_errmsg());
    ck_assert_int_eq(reach_case(cl, zpm, r0, at, dim, img, a, dim), LAPSE_ECONFIG);
    check_message("mem.yaml", 5, 40, "pipeline[1].reach", "reach [1, 0, 0] gives equal results");
    lapse_cl_close(cl);
    free(img);
    free(a);
    free(b);
}
END_TEST

int main(void)
{
    const char *env = getenv("LAPSE_TEST_SEED");
    seed_base = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    Suite *su = suite_create("custom");
    TCase *tc = tcase_create("custom_kernel");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_source_errors);
    tcase_add_test(tc, test_fingerprint);
    tcase_add_test(tc, test_example_mean);
    tcase_add_test(tc, test_stencil);
    tcase_add_test(tc, test_build_error);
    tcase_add_test(tc, test_reach);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "test_custom: LAPSE_TEST_SEED=%llu repeats this run\n",
                (unsigned long long)seed_base);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
