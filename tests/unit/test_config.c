/*
 * test_config.c - the YAML config loader: the user-facing examples in configs/ parse; a config
 * with every key set gives exactly the expected struct; defaults are filled in; each invalid
 * config in tests/unit/configs/bad_*.yaml (and a few built in memory) is refused with
 * LAPSE_ECONFIG and a message "<file>:<line>:<col>: <keypath>: ..." pointing at the right spot;
 * hostile inputs (deep nesting, alias bombs, random corruption) are refused without crashing.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fingerprint.h"
#include "io/reader.h"
#include "ops/graph.h"
#include "testutil.h"

/* Directory of the source tree (ctest sets LAPSE_SRC and runs from there). */
static const char *src_dir(void)
{
    const char *s = getenv("LAPSE_SRC");
    return s && s[0] ? s : ".";
}

static void test_path(char *buf, size_t len, const char *sub, const char *name)
{
    snprintf(buf, len, "%s/%s/%s", src_dir(), sub, name);
}

/* Load a file that must parse. */
static void load_ok(const char *path, lapse_config_t *cfg)
{
    lapse_err_clear();
    lapse_status_t st = lapse_config_load(path, cfg);
    ck_assert_msg(st == LAPSE_OK, "%s refused: %s", path, lapse_errmsg());
    ck_assert_ptr_nonnull(cfg->text);
}

/* The recorded message must start with "<path>:<line>:<col>: <keypath>: " and contain word. */
static void check_message(const char *path, int line, int col, const char *keypath,
                          const char *word)
{
    char prefix[1024];
    if (line > 0)
        snprintf(prefix, sizeof prefix, "%s:%d:%d: %s: ", path, line, col, keypath);
    else
        snprintf(prefix, sizeof prefix, "%s: %s: ", path, keypath);
    const char *msg = lapse_errmsg();
    ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "message '%s' does not start '%s'",
                  msg, prefix);
    ck_assert_msg(strstr(msg + strlen(prefix), word) != NULL, "message '%s' lacks '%s'", msg, word);
}

/* Parse text (named path) which must fail at line:col with keypath and word. */
static void parse_bad(const char *path, const char *text, size_t len, int line, int col,
                      const char *keypath, const char *word)
{
    lapse_config_t cfg;
    lapse_err_clear();
    lapse_status_t st = lapse_config_parse(path, text, len, &cfg);
    ck_assert_msg(st == LAPSE_ECONFIG, "%s: status %d (%s), expected LAPSE_ECONFIG", path, (int)st,
                  lapse_errmsg());
    ck_assert_ptr_null(cfg.text);
    check_message(path, line, col, keypath, word);
    lapse_config_free(&cfg);
}

/* ------------------------------------------------------------------ valid configs */

START_TEST(test_examples_parse)
{
    static const char *const names[] = {"nuclei.yaml",     "demo.yaml", "benchmark.yaml",
                                        "projection.yaml", "dog.yaml",  "zstats.yaml"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1024];
        lapse_config_t cfg;
        test_path(path, sizeof path, "configs", names[i]);
        load_ok(path, &cfg);
        ck_assert_int_ge(cfg.nsteps, 1);
        ck_assert_str_ne(cfg.input_file, "");
        ck_assert_str_ne(cfg.output_file, "");
        for (int k = 0; k < cfg.nsteps; k++)
            ck_assert_ptr_nonnull(cfg.steps[k].op);
        lapse_config_free(&cfg);
        lapse_config_free(&cfg); /* freeing twice is safe */
    }
}
END_TEST

static void expect_vec(const double *v, double z, double y, double x)
{
    ck_assert_double_eq(v[0], z);
    ck_assert_double_eq(v[1], y);
    ck_assert_double_eq(v[2], x);
}

static void expect_step(const lapse_step_t *s, const char *op, int line, const char *save)
{
    ck_assert_ptr_nonnull(s->op);
    ck_assert_str_eq(s->op->name, op);
    ck_assert_int_eq(s->line, line);
    ck_assert_int_eq(s->column, 5);
    ck_assert_str_eq(s->save, save);
}

/* The output fingerprint (which output a run may continue) follows the pipeline: parameters,
 * graph links and each operation's numerics version; a chain's fingerprint ignores empty links
 * and version 1, so outputs made before versions and graphs existed are still continued. */
START_TEST(test_fingerprint)
{
    lapse_config_t c;
    char path[1024], a[24], b[24];
    const lapse_input_info_t in = {
        .ndims = 4, .ntp = 10, .shape = {8, 64, 64}, .dtype = LAPSE_DT_U16};
    test_path(path, sizeof path, "configs", "nuclei.yaml");
    load_ok(path, &c);
    lapse_fingerprint(&c, &in, c.input_file, a, sizeof a);
    lapse_fingerprint(&c, &in, c.input_file, b, sizeof b);
    ck_assert_str_eq(a, b);
    lapse_op_t bumped = *c.steps[0].op; /* the same operation with new numerics */
    bumped.version = 2;
    const lapse_op_t *orig = c.steps[0].op;
    c.steps[0].op = &bumped;
    lapse_fingerprint(&c, &in, c.input_file, b, sizeof b);
    ck_assert_str_ne(a, b);
    c.steps[0].op = orig;
    snprintf(c.steps[0].name, sizeof c.steps[0].name, "first");
    lapse_fingerprint(&c, &in, c.input_file, b, sizeof b);
    ck_assert_str_ne(a, b);
    c.steps[0].name[0] = '\0';
    c.steps[0].p[0].v[1] += 0.25;
    lapse_fingerprint(&c, &in, c.input_file, b, sizeof b);
    ck_assert_str_ne(a, b);
    lapse_config_free(&c);
}
END_TEST

START_TEST(test_every_key)
{
    char path[1024];
    lapse_config_t c;
    test_path(path, sizeof path, "tests/unit/configs", "good_full.yaml");
    load_ok(path, &c);
    ck_assert_str_eq(c.path, path);
    ck_assert_str_eq(c.input_file, "data/in.h5");
    ck_assert_str_eq(c.input_dataset, "/images/raw");
    ck_assert_int_eq(c.input_file_mark.line, 3);
    ck_assert_int_eq(c.input_file_mark.column, 9);
    ck_assert_int_eq(c.input_dataset_mark.line, 4);
    ck_assert_int_eq(c.input_dataset_mark.column, 12);
    ck_assert_str_eq(c.timepoints, "0-9:3, 12");
    ck_assert_int_eq(c.timepoints_mark.line, 5);
    ck_assert_int_eq(c.timepoints_mark.column, 13);
    ck_assert_int_eq(c.tile_auto, 0);
    ck_assert_int_eq(c.tile[0], 8);
    ck_assert_int_eq(c.tile[1], 32);
    ck_assert_int_eq(c.tile[2], 48);
    ck_assert_int_eq(c.tile_mark.line, 7);
    ck_assert_int_eq(c.tile_mark.column, 10);
    ck_assert_int_eq(c.halo_auto, 0);
    ck_assert_int_eq(c.halo[0], 1);
    ck_assert_int_eq(c.halo[1], 2);
    ck_assert_int_eq(c.halo[2], 3);
    ck_assert_int_eq(c.halo_mark.line, 8);
    ck_assert_int_eq(c.halo_mark.column, 9);

    ck_assert_int_eq(c.nsteps, 9);
    expect_step(&c.steps[0], "gaussian_blur", 10, "/smooth");
    expect_vec(c.steps[0].p[0].v, 0.5, 1.5, 2.5);
    expect_step(&c.steps[1], "mean_box", 13, "");
    expect_vec(c.steps[1].p[0].v, 1, 2, 3);
    expect_step(&c.steps[2], "minimum_box", 15, "");
    expect_vec(c.steps[2].p[0].v, 1, 1, 1);
    expect_step(&c.steps[3], "maximum_box", 17, "");
    expect_vec(c.steps[3].p[0].v, 0, 1, 1);
    expect_step(&c.steps[4], "top_hat_box", 19, "/tophat");
    expect_vec(c.steps[4].p[0].v, 2, 5, 5);
    expect_step(&c.steps[5], "add_scalar", 22, "");
    ck_assert_double_eq(c.steps[5].p[0].v[0], -12.5);
    expect_step(&c.steps[6], "multiply_scalar", 24, "");
    ck_assert_double_eq_tol(c.steps[6].p[0].v[0], 0.2, 1e-15);
    expect_step(&c.steps[7], "maximum_z_projection", 26, "");
    expect_step(&c.steps[8], "threshold_fixed", 27, "");
    ck_assert_double_eq(c.steps[8].p[0].v[0], 7);

    ck_assert_str_eq(c.output_file, "results/out.h5");
    ck_assert_int_eq(c.output_file_mark.line, 30);
    ck_assert_int_eq(c.output_file_mark.column, 9);
    ck_assert_str_eq(c.output_dataset, "/mask");
    ck_assert_int_eq(c.output_dtype, LAPSE_DT_U16);
    ck_assert_int_eq(c.mode, LAPSE_MODE_UPDATE);
    ck_assert_int_eq(c.mode_given, 1);
    ck_assert_int_eq(c.devices, LAPSE_DEV_CPU);
    ck_assert_int_eq(c.device_index, 2);
    ck_assert_int_eq(c.sched, LAPSE_SCHED_STATIC);
    /* the config keeps the text it was read from */
    ck_assert_ptr_nonnull(strstr(c.text, "threshold: 7"));
    lapse_config_free(&c);
    ck_assert_ptr_null(c.text);
}
END_TEST

START_TEST(test_defaults)
{
    char path[1024];
    lapse_config_t c;
    test_path(path, sizeof path, "tests/unit/configs", "good_minimal.yaml");
    load_ok(path, &c);
    ck_assert_str_eq(c.input_file, "in.h5");
    ck_assert_str_eq(c.timepoints, "");
    ck_assert_int_eq(c.timepoints_mark.line, 0);
    ck_assert_int_eq(c.tile_auto, 1);
    ck_assert_int_eq(c.halo_auto, 1);
    ck_assert_int_eq(c.tile_mark.line, 0);
    ck_assert_int_eq(c.halo_mark.line, 0);
    ck_assert_int_eq(c.nsteps, 1);
    ck_assert_str_eq(c.steps[0].op->name, "threshold_fixed");
    ck_assert_double_eq(c.steps[0].p[0].v[0], 0.0);
    ck_assert_str_eq(c.output_dataset, "/result");
    ck_assert_int_eq(c.output_dtype, LAPSE_DT_AUTO);
    ck_assert_int_eq(c.mode, LAPSE_MODE_CREATE);
    ck_assert_int_eq(c.mode_given, 0);
    ck_assert_int_eq(c.devices, LAPSE_DEV_GPU);
    ck_assert_int_eq(c.device_index, -1);
    ck_assert_int_eq(c.sched, LAPSE_SCHED_DYNAMIC);
    lapse_config_free(&c);
}
END_TEST

START_TEST(test_anchors_and_scalars)
{
    char path[1024];
    lapse_config_t c;
    test_path(path, sizeof path, "tests/unit/configs", "good_anchors.yaml");
    load_ok(path, &c);
    ck_assert_str_eq(c.timepoints, "5"); /* an integer is a one-item selection */
    ck_assert_int_eq(c.tile_auto, 1);
    ck_assert_int_eq(c.halo_auto, 0); /* one integer for all axes */
    ck_assert_int_eq(c.halo[0], 4);
    ck_assert_int_eq(c.halo[1], 4);
    ck_assert_int_eq(c.halo[2], 4);
    ck_assert_int_eq(c.nsteps, 2);
    expect_vec(c.steps[0].p[0].v, 1, 2, 3);
    expect_vec(c.steps[1].p[0].v, 1, 2, 3); /* through the alias */
    ck_assert_int_eq(c.output_dtype, LAPSE_DT_F32);
    ck_assert_int_eq(c.mode, LAPSE_MODE_OVERWRITE);
    ck_assert_int_eq(c.devices, LAPSE_DEV_ANY);
    ck_assert_int_eq(c.sched, LAPSE_SCHED_DYNAMIC);
    lapse_config_free(&c);
}
END_TEST

/* Parse an in-memory config that must succeed. */
static void parse_ok(const char *text, lapse_config_t *c)
{
    lapse_err_clear();
    lapse_status_t st = lapse_config_parse("mem.yaml", text, strlen(text), c);
    ck_assert_msg(st == LAPSE_OK, "refused: %s", lapse_errmsg());
}

#define HEAD "input: {file: a.h5, dataset: /raw}\noutput: {file: o.h5}\n"

START_TEST(test_small_forms)
{
    lapse_config_t c;
    parse_ok(HEAD "pipeline: [{op: gaussian_blur, sigma: 2}]\ntimepoints: all\n"
                  "devices: {index: 1}\n",
             &c);
    expect_vec(c.steps[0].p[0].v, 2, 2, 2);
    ck_assert_str_eq(c.timepoints, ""); /* "all" is stored as "" */
    ck_assert_int_eq(c.devices, LAPSE_DEV_GPU);
    ck_assert_int_eq(c.device_index, 1);
    lapse_config_free(&c);

    parse_ok(HEAD "pipeline:\n- op: minimum_box\n  radius: 0\n- op: maximum_z_projection\n"
                  "tiles: {halo: [0, 0, 0], shape: [1, 1, 1]}\ndevices: cpu\n",
             &c);
    expect_vec(c.steps[0].p[0].v, 0, 0, 0);
    ck_assert_int_eq(c.halo_auto, 0);
    ck_assert_int_eq(c.halo[1], 0);
    ck_assert_int_eq(c.tile[2], 1);
    ck_assert_int_eq(c.devices, LAPSE_DEV_CPU);
    lapse_config_free(&c);

    parse_ok(HEAD "pipeline: [{op: maximum_z_projection}]\ntimepoints: ''\n", &c);
    ck_assert_str_eq(c.timepoints, "");
    ck_assert_int_eq(c.timepoints_mark.line, 4);
    lapse_config_free(&c);

    /* a quoted word is still a word; a saved step may write beside the output */
    parse_ok(HEAD "pipeline: [{op: add_scalar, value: -1e3, save: '/a/b'}, {op: absolute}]\n"
                  "scheduling: 'static'\n",
             &c);
    ck_assert_double_eq(c.steps[0].p[0].v[0], -1000.0);
    ck_assert_str_eq(c.steps[0].save, "/a/b");
    ck_assert_int_eq(c.sched, LAPSE_SCHED_STATIC);
    lapse_config_free(&c);

    /* booleans as YAML 1.1 spells them: lower case, capitalised (Python's True), upper case */
    parse_ok(HEAD "pipeline: [{op: flip, axes: {z: True, y: FALSE, x: 'on'}}]\n", &c);
    expect_vec(c.steps[0].p[0].v, 1, 0, 1);
    lapse_config_free(&c);
    parse_ok(HEAD "pipeline: [{op: flip, axes: [No, YES, false]}]\n", &c);
    expect_vec(c.steps[0].p[0].v, 0, 1, 0);
    lapse_config_free(&c);
    const char *tru = HEAD "pipeline: [{op: flip, axes: {z: tRUE}}]\n";
    parse_bad("mem.yaml", tru, strlen(tru), 3, 33, "pipeline[0].axes.z", "unknown boolean 'tRUE'");
}
END_TEST

/* A TIFF input (by suffix) needs no input.dataset; one given is not used (kept as ""), so that
 * both forms are the same run (the same fingerprint). An HDF5 input still needs it. */
START_TEST(test_tiff_input_dataset)
{
    lapse_config_t a, b;
    char fa[64], fb[64];
    const lapse_input_info_t in = {
        .ndims = 4, .ntp = 3, .shape = {4, 37, 45}, .dtype = LAPSE_DT_U16};
    parse_ok("input: {file: movie.TIF}\noutput: {file: o.h5}\npipeline: [{op: gaussian_blur, "
             "sigma: 1}]\n",
             &a);
    ck_assert_str_eq(a.input_file, "movie.TIF");
    ck_assert_str_eq(a.input_dataset, "");
    parse_ok("input: {file: movie.TIF, dataset: /raw}\noutput: {file: o.h5}\npipeline: "
             "[{op: gaussian_blur, sigma: 1}]\n",
             &b);
    ck_assert_str_eq(b.input_dataset, "");
    lapse_fingerprint(&a, &in, a.input_file, fa, sizeof fa);
    lapse_fingerprint(&b, &in, b.input_file, fb, sizeof fb);
    ck_assert_str_eq(fa, fb);
    lapse_config_free(&a);
    lapse_config_free(&b);
    /* an HDF5 file without a dataset: a BigDataViewer file is found by its layout when probed
     * (else the probe lists the datasets) */
    parse_ok("input: {file: in.h5}\noutput: {file: o.h5}\npipeline: [{op: gaussian_blur, "
             "sigma: 1}]\n",
             &a);
    ck_assert_str_eq(a.input_dataset, "");
    lapse_config_free(&a);
}
END_TEST

/* The input selection keys: their canonical form after the dataset name, the fingerprint they
 * change, and their errors at file:line:column with the key path. */
START_TEST(test_input_selection)
{
    static const char tail[] = "output: {file: o.h5}\npipeline: [{op: gaussian_blur, sigma: 1}]\n";
    const lapse_input_info_t in = {
        .ndims = 4, .ntp = 3, .shape = {4, 37, 45}, .dtype = LAPSE_DT_U16};
    lapse_config_t c;
    char t[1024], f0[64], f1[64];
    lapse_input_sel_t sel;
    char err[128];

    snprintf(t, sizeof t, "input: {file: in.h5, dataset: /raw}\n%s", tail);
    parse_ok(t, &c);
    ck_assert_str_eq(c.input_dataset, "/raw");
    lapse_fingerprint(&c, &in, c.input_file, f0, sizeof f0);
    lapse_config_free(&c);
    snprintf(t, sizeof t, "input: {file: in.h5, dataset: /raw, channel: 1}\n%s", tail);
    parse_ok(t, &c);
    ck_assert_str_eq(c.input_dataset, "/raw#channel=1");
    ck_assert_str_eq(c.input_sel_key, "input.channel");
    lapse_fingerprint(&c, &in, c.input_file, f1, sizeof f1);
    ck_assert_str_ne(f0, f1);
    lapse_config_free(&c);
    snprintf(t, sizeof t, "input: {files: \"tp_*.tif\", channel: 0, voxel_size: [2, 0.5, 0.5]}\n%s",
             tail);
    parse_ok(t, &c);
    ck_assert_str_eq(c.input_file, "tp_*.tif");
    ck_assert_str_eq(c.input_dataset, "#files,channel=0");
    ck_assert(c.input_voxel_size_given && c.input_voxel_size[0] == 2 &&
              c.input_voxel_size[2] == 0.5);
    lapse_config_free(&c);
    snprintf(t, sizeof t, "input: {file: b.h5, format: bdv, setup: 2}\n%s", tail);
    parse_ok(t, &c);
    ck_assert_str_eq(c.input_dataset, "#format=bdv,setup=2");
    ck_assert_int_eq(lapse_input_sel_parse(c.input_dataset, &sel, err, sizeof err), 0);
    ck_assert(sel.bdv == 1 && sel.setup == 2 && sel.channel == -1 && sel.files == 0);
    lapse_config_free(&c);
    ck_assert_int_eq(lapse_input_sel_parse("/a#channel=x", &sel, err, sizeof err), -1);
    ck_assert_int_eq(lapse_input_sel_parse("/a#what", &sel, err, sizeof err), -1);

    snprintf(t, sizeof t, "input: {file: a.tif, files: \"b*.tif\"}\n%s", tail);
    parse_bad("both.yaml", t, strlen(t), 1, 29, "input.files", "not both");
    snprintf(t, sizeof t, "input: {files: tp.tif}\n%s", tail);
    parse_bad("nowild.yaml", t, strlen(t), 1, 16, "input.files", "wildcard");
    snprintf(t, sizeof t, "input: {file: a.tif, channel: -1}\n%s", tail);
    parse_bad("chan.yaml", t, strlen(t), 1, 31, "input.channel", ">= 0");
    snprintf(t, sizeof t, "input: {file: a.h5, format: zip}\n%s", tail);
    parse_bad("fmt.yaml", t, strlen(t), 1, 29, "input.format", "bdv");
    snprintf(t, sizeof t, "input: {file: a.h5, setup: 1, dataset: /x}\n%s", tail);
    parse_bad("bdvds.yaml", t, strlen(t), 1, 40, "input.dataset", "BigDataViewer");
    snprintf(t, sizeof t, "input: {file: a.h5, dataset: \"/x#channel=1\"}\n%s", tail);
    parse_bad("hash.yaml", t, strlen(t), 1, 30, "input.dataset", "'#'");
    snprintf(t, sizeof t, "input: {file: a.tif, voxel_size: [1, 0, 1]}\n%s", tail);
    parse_bad("vs.yaml", t, strlen(t), 1, 38, "input.voxel_size[1]", ">=");
}
END_TEST

/* A Zarr store: input.dataset is optional and used when given (a path inside the store);
 * input.voxel_size: [z, y, x] or one number, positive, never part of the fingerprint. */
START_TEST(test_zarr_input_and_voxel_size)
{
    lapse_config_t a, b;
    char fa[64], fb[64];
    const lapse_input_info_t in = {
        .ndims = 4, .ntp = 3, .shape = {4, 37, 45}, .dtype = LAPSE_DT_U16};
    parse_ok("input: {file: movie.ome.zarr}\noutput: {file: o.h5}\npipeline: [{op: "
             "gaussian_blur, sigma: 1}]\n",
             &a);
    ck_assert_str_eq(a.input_dataset, "");
    ck_assert_int_eq(a.input_voxel_size_given, 0);
    parse_ok("input: {file: movie.zarr, dataset: raw/0, voxel_size: [2, 0.5, 0.25]}\noutput: "
             "{file: o.h5}\npipeline: [{op: gaussian_blur, sigma: 1}]\n",
             &b);
    ck_assert_str_eq(b.input_dataset, "raw/0");
    ck_assert_int_eq(b.input_voxel_size_given, 1);
    expect_vec(b.input_voxel_size, 2, 0.5, 0.25);
    lapse_config_free(&b);
    parse_ok("input: {file: movie.ome.zarr, voxel_size: 0.3}\noutput: {file: o.h5}\npipeline: "
             "[{op: gaussian_blur, sigma: 1}]\n",
             &b);
    expect_vec(b.input_voxel_size, 0.3, 0.3, 0.3);
    lapse_fingerprint(&a, &in, a.input_file, fa, sizeof fa);
    lapse_fingerprint(&b, &in, b.input_file, fb, sizeof fb);
    ck_assert_str_eq(fa, fb);
    lapse_config_free(&a);
    lapse_config_free(&b);
    const char *bad = "input: {file: m.zarr, dataset: ../x}\noutput: {file: o.h5}\npipeline: "
                      "[{op: gaussian_blur, sigma: 1}]\n";
    parse_bad("z.yaml", bad, strlen(bad), 1, 32, "input.dataset", "..");
    const char *neg = "input: {file: a.h5, dataset: /raw, voxel_size: [1, -1, 1]}\noutput: "
                      "{file: o.h5}\npipeline: [{op: gaussian_blur, sigma: 1}]\n";
    parse_bad("v.yaml", neg, strlen(neg), 1, 52, "input.voxel_size[1]", ">=");
}
END_TEST

/* output.format: hdf5 (default) or zarr; zarr joins the fingerprint (an HDF5 output is not
 * continued as Zarr), an explicit hdf5 does not change it; another word is refused at its
 * position. */
START_TEST(test_output_format)
{
    lapse_config_t a, b, c;
    char fa[64], fb[64], fc[64];
    const lapse_input_info_t in = {
        .ndims = 4, .ntp = 3, .shape = {4, 37, 45}, .dtype = LAPSE_DT_U16};
    parse_ok("input: {file: a.h5, dataset: /raw}\noutput: {file: o.h5}\npipeline: [{op: "
             "gaussian_blur, sigma: 1}]\n",
             &a);
    ck_assert_int_eq(a.output_format, LAPSE_FMT_HDF5);
    parse_ok("input: {file: a.h5, dataset: /raw}\noutput: {file: o.h5, format: hdf5}\npipeline: "
             "[{op: gaussian_blur, sigma: 1}]\n",
             &b);
    ck_assert_int_eq(b.output_format, LAPSE_FMT_HDF5);
    parse_ok("input: {file: a.h5, dataset: /raw}\noutput: {file: o.h5, format: zarr, "
             "compression: blosc:zstd}\npipeline: [{op: gaussian_blur, sigma: 1}]\n",
             &c);
    ck_assert_int_eq(c.output_format, LAPSE_FMT_ZARR);
    ck_assert_int_eq(c.compression, LAPSE_COMP_BLOSC_ZSTD);
    lapse_fingerprint(&a, &in, a.input_file, fa, sizeof fa);
    lapse_fingerprint(&b, &in, b.input_file, fb, sizeof fb);
    lapse_fingerprint(&c, &in, c.input_file, fc, sizeof fc);
    ck_assert_str_eq(fa, fb);
    ck_assert_str_ne(fa, fc);
    lapse_config_free(&a);
    lapse_config_free(&b);
    lapse_config_free(&c);
    const char *bad = "input: {file: a.h5, dataset: /raw}\noutput: {file: o.h5, format: n5}\n"
                      "pipeline: [{op: gaussian_blur, sigma: 1}]\n";
    parse_bad("f.yaml", bad, strlen(bad), 2, 30, "output.format", "unknown format 'n5'");
}
END_TEST

START_TEST(test_max_steps)
{
    /* LAPSE_MAX_STEPS steps are fine, one more is refused at the pipeline list. */
    size_t cap = 64 * (LAPSE_MAX_STEPS + 2) + 256;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    size_t n = (size_t)snprintf(text, cap, HEAD "pipeline:\n");
    for (int k = 0; k < LAPSE_MAX_STEPS; k++)
        n += (size_t)snprintf(text + n, cap - n, "  - {op: add_scalar, value: %d}\n", k);
    lapse_config_t c;
    parse_ok(text, &c);
    ck_assert_int_eq(c.nsteps, LAPSE_MAX_STEPS);
    ck_assert_double_eq(c.steps[LAPSE_MAX_STEPS - 1].p[0].v[0], LAPSE_MAX_STEPS - 1);
    lapse_config_free(&c);
    snprintf(text + n, cap - n, "  - {op: add_scalar, value: 1}\n");
    /* the pipeline list starts on line 4, column 3 */
    parse_bad("mem.yaml", text, strlen(text), 4, 3, "pipeline", "too many steps");
    free(text);
}
END_TEST

/* ------------------------------------------------------------------ ops rules on parsed steps */

/* The graph of parsed steps for an input of dtype dt and a shape larger than any reach. */
static void compile_steps(const lapse_config_t *c, lapse_dtype_t dt, lapse_graph_t *g)
{
    const int64_t shape[3] = {64, 512, 512};
    lapse_graph_err_t err;
    ck_assert_msg(lapse_graph_compile(c->steps, c->nsteps, shape, dt, LAPSE_DT_AUTO, g, &err) ==
                      LAPSE_OK,
                  "%s", lapse_errmsg());
}

/* Index of the first projection step, or -1. */
static int projection_step(const lapse_config_t *c)
{
    for (int k = 0; k < c->nsteps; k++)
        if (c->steps[k].op->footprint == LAPSE_FP_PROJECTION)
            return k;
    return -1;
}

START_TEST(test_reach_of_parsed_pipeline)
{
    /* good_full.yaml: reaches by the rules of the ops (src/ops), worked out by hand:
     *   gaussian [0.5, 1.5, 2.5] -> int(4s + 0.5) = [2, 6, 10]
     *   mean [1, 2, 3], minimum [1, 1, 1], maximum [0, 1, 1], top-hat 2*[2, 5, 5] = [4, 10, 10]
     *   add, multiply, projection (step 7), threshold: 0
     * z counts up to the projection: 2+1+1+0+4 = 8; y: 6+2+1+1+10 = 20; x: 10+3+1+1+10 = 25 */
    char path[1024];
    lapse_config_t c;
    test_path(path, sizeof path, "tests/unit/configs", "good_full.yaml");
    load_ok(path, &c);
    int64_t r[3];
    lapse_step_reach(&c.steps[0], r);
    ck_assert_int_eq(r[0], 2);
    ck_assert_int_eq(r[1], 6);
    ck_assert_int_eq(r[2], 10);
    lapse_step_reach(&c.steps[4], r);
    ck_assert_int_eq(r[0], 4);
    ck_assert_int_eq(r[2], 10);
    ck_assert_int_eq(projection_step(&c), 7);
    lapse_graph_t g;
    compile_steps(&c, LAPSE_DT_U16, &g);
    ck_assert_int_eq(g.keep_z, 1);
    ck_assert_int_eq(g.reach[0], 8);
    ck_assert_int_eq(g.reach[1], 20);
    ck_assert_int_eq(g.reach[2], 25);
    /* every step but the last gives float32, the threshold a uint8 mask */
    for (int k = 0; k < 8; k++)
        ck_assert_int_eq(g.node[k].dtype, LAPSE_DT_F32);
    ck_assert_int_eq(g.node[8].dtype, LAPSE_DT_U8);
    lapse_config_free(&c);
}
END_TEST

START_TEST(test_dtype_rules)
{
    /* min, top-hat, projection keep the input type; threshold makes uint8 which maximum keeps;
     * add_scalar gives float32. Reach: projection at step 2, so z counts min (1) + top-hat (2)
     * only; y and x count min (1) + top-hat (2) + maximum (3) = 6. */
    lapse_config_t c;
    parse_ok(HEAD "pipeline:\n- {op: minimum_box, radius: 1}\n- {op: top_hat_box, radius: 1}\n"
                  "- {op: maximum_z_projection}\n- {op: threshold_fixed, threshold: 3}\n"
                  "- {op: maximum_box, radius: 3}\n- {op: add_scalar, value: 1}\n",
             &c);
    static const lapse_dtype_t want_u16[] = {LAPSE_DT_U16, LAPSE_DT_U16, LAPSE_DT_U16,
                                             LAPSE_DT_U8,  LAPSE_DT_U8,  LAPSE_DT_F32};
    static const lapse_dtype_t want_f32[] = {LAPSE_DT_F32, LAPSE_DT_F32, LAPSE_DT_F32,
                                             LAPSE_DT_U8,  LAPSE_DT_U8,  LAPSE_DT_F32};
    ck_assert_int_eq(c.nsteps, 6);
    lapse_graph_t g16, g32;
    compile_steps(&c, LAPSE_DT_U16, &g16);
    compile_steps(&c, LAPSE_DT_F32, &g32);
    for (int k = 0; k < 6; k++) {
        ck_assert_int_eq(g16.node[k].dtype, want_u16[k]);
        ck_assert_int_eq(g32.node[k].dtype, want_f32[k]);
    }
    ck_assert_int_eq(g16.reach[0], 3);
    ck_assert_int_eq(g16.reach[1], 6);
    ck_assert_int_eq(g16.reach[2], 6);
    lapse_config_free(&c);
}
END_TEST

START_TEST(test_gauss_weights)
{
    double w[1024];
    ck_assert_int_eq(lapse_gauss_weights(0.0, w), 0);
    ck_assert_double_eq(w[0], 1.0);
    ck_assert_int_eq(lapse_gauss_weights(0.12, w), 0); /* int(0.48 + 0.5) = 0 */
    ck_assert_int_eq(lapse_gauss_weights(0.125, w), 1);
    static const double sigmas[] = {0.5, 1.0, 2.0, 2.37, 10.0, 100.0};
    for (size_t i = 0; i < sizeof sigmas / sizeof sigmas[0]; i++) {
        double s = sigmas[i];
        int r = lapse_gauss_weights(s, w);
        ck_assert_int_eq(r, (int)(4.0 * s + 0.5));
        double sum = 0.0;
        for (int k = 0; k <= 2 * r; k++) {
            sum += w[k];
            ck_assert_double_eq_tol(w[k], w[2 * r - k], 1e-17); /* symmetric */
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-14);
        /* neighbours of the centre: ratio exp(-1/(2 s^2)); the edge: exp(-r^2/(2 s^2)) */
        ck_assert_double_eq_tol(w[r + 1] / w[r], exp(-0.5 / (s * s)), 1e-14);
        ck_assert_double_eq_tol(w[0] / w[r], exp(-0.5 * r * r / (s * s)), 1e-12);
    }
    /* sigma = 1 against scipy.ndimage._filters._gaussian_kernel1d(1, 0, 4) */
    lapse_gauss_weights(1.0, w);
    ck_assert_double_eq_tol(w[4], 0.39894346935609776, 1e-15);
    ck_assert_double_eq_tol(w[0], 0.00013383062461474175, 1e-18);
}
END_TEST

/* Datasets a run would find taken only when it writes them, refused at the config instead
 * (nothing written): a save: on the last step (its result is output.dataset: the save was
 * silently dropped), and measure_labels' tables /<name> and /<name>_summary against the output
 * dataset, /lapse, a save: and another table. */
START_TEST(test_written_dataset_clashes)
{
#define SEG                                                                                        \
    "input: {file: a.h5, dataset: /raw}\n"                                                         \
    "pipeline:\n"                                                                                  \
    "  - {op: threshold_otsu}\n"                                                                   \
    "  - {op: connected_components_labeling, name: labels}\n"
    const char *t = HEAD "pipeline: [{op: gaussian_blur, sigma: 1}, {op: absolute, save: /x}]\n";
    parse_bad("last.yaml", t, strlen(t), 3, 64, "pipeline[1].save", "output.dataset: /x");
    t = SEG "  - {op: measure_labels, from: labels, with: input, name: result}\n"
            "output: {file: o.h5, dtype: uint32}\n";
    parse_bad("tab1.yaml", t, strlen(t), 5, 59, "pipeline[2].name", "output dataset /result");
    t = SEG "  - {op: measure_labels, from: labels, with: input, name: lapse}\n"
            "output: {file: o.h5, dtype: uint32}\n";
    parse_bad("tab2.yaml", t, strlen(t), 5, 59, "pipeline[2].name", "reserved");
    t = "input: {file: a.h5, dataset: /raw}\n"
        "pipeline:\n"
        "  - {op: threshold_otsu, save: /nuclei_summary}\n"
        "  - {op: connected_components_labeling, name: labels}\n"
        "  - {op: measure_labels, from: labels, with: input, name: nuclei}\n"
        "output: {file: o.h5, dtype: uint32}\n";
    parse_bad("tab3.yaml", t, strlen(t), 5, 59, "pipeline[2].name",
              "its summary table would be /nuclei_summary, which clashes with pipeline[0].save");
    t = SEG "  - {op: measure_labels, from: labels, with: input, name: m}\n"
            "  - {op: measure_labels, from: labels, with: input, name: m_summary}\n"
            "output: {file: o.h5, dtype: uint32}\n";
    parse_bad("tab4.yaml", t, strlen(t), 6, 59, "pipeline[3].name",
              "its table would be /m_summary, which pipeline[2] (m) writes as its summary");
    t = SEG "  - {op: measure_labels, from: labels, with: input, name: result2}\n"
            "output: {file: o.h5, dataset: /result2/x, dtype: uint32}\n";
    parse_bad("tab5.yaml", t, strlen(t), 5, 59, "pipeline[2].name", "clashes with the output");
#undef SEG
    /* a YAML merge key: named as such, not as an unknown key or the missing op it would bring */
    t = "input: {file: a.h5, dataset: /raw}\npipeline:\n  - &b {op: gaussian_blur, sigma: 1}\n"
        "  - {<<: *b, sigma: 2}\noutput: {file: o.h5}\n";
    parse_bad("merge.yaml", t, strlen(t), 4, 6, "<<", "merge keys (<<: *anchor) are not supported");
    /* an output file name that fits, but not with the suffixes of the files beside it */
    char text[600];
    snprintf(text, sizeof text,
             "input: {file: a.h5, dataset: /raw}\npipeline: [{op: absolute}]\n"
             "output: {file: out/%0244d.h5}\n",
             0);
    parse_bad("long.yaml", text, strlen(text), 3, 16, "output.file", "shorten it to 246");
    snprintf(text, sizeof text,
             "input: {file: a.h5, dataset: /raw}\npipeline: [{op: absolute}]\n"
             "output: {file: out/%0238d.h5, parts: timepoints}\n",
             0);
    parse_bad("longp.yaml", text, strlen(text), 3, 16, "output.file",
              "(NAME.parts.creating), and a file name may have at most 255: shorten it to 240");
    snprintf(text, sizeof text,
             "input: {file: a.h5, dataset: /raw}\npipeline: [{op: absolute}]\n"
             "output: {file: out/%0243d.h5}\n",
             0);
    lapse_config_t c;
    parse_ok(text, &c);
    lapse_config_free(&c);
}
END_TEST

/* ------------------------------------------------------------------ invalid configs */

typedef struct {
    const char *file;
    int line, col;
    const char *keypath;
    const char *word;
} bad_case_t;

static const bad_case_t bad_cases[] = {
    {"bad_syntax.yaml", 5, 7, "(yaml)", "syntax error"},
    {"bad_tab.yaml", 3, 1, "(yaml)",
     "cannot start any token (while scanning for the next token at line 3); the character there is "
     "a tab: indent YAML with spaces only"},
    {"bad_two_documents.yaml", 6, 1, "(yaml)", "more than one YAML document"},
    {"bad_empty.yaml", 1, 1, "(top level)", "empty"},
    {"bad_comments_only.yaml", 1, 1, "(top level)", "empty"},
    {"bad_toplevel_list.yaml", 1, 1, "(top level)", "expected a mapping"},
    {"bad_key_not_scalar.yaml", 2, 1, "(top level)", "keys must be plain words"},
    {"bad_unknown_top.yaml", 4, 1, "outptu", "allowed: input, timepoints, tiles, pipeline"},
    {"bad_unknown_op.yaml", 5, 9, "pipeline[1].op", "known: gaussian_blur, mean_box"},
    {"bad_op_typo.yaml", 3, 9, "pipeline[0].op", "'tophat_box'; did you mean 'top_hat_box'?"},
    {"bad_unknown_param.yaml", 5, 5, "pipeline[0].radius",
     "allowed: op, save, name, from, with, sigma"},
    {"bad_missing_input_file.yaml", 2, 3, "input.file", "missing required key"},
    {"bad_missing_pipeline.yaml", 2, 1, "pipeline", "missing required key"},
    {"bad_missing_op.yaml", 3, 5, "pipeline[0].op", "missing required key"},
    {"bad_missing_sigma.yaml", 5, 5, "pipeline[1].sigma", "missing required key"},
    {"bad_output_missing_file.yaml", 5, 3, "output.file", "missing required key"},
    {"bad_input_scalar.yaml", 1, 8, "input", "expected a mapping"},
    {"bad_step_scalar.yaml", 3, 5, "pipeline[0]", "expected a mapping"},
    {"bad_op_empty.yaml", 3, 8, "pipeline[0].op", "empty value"},
    {"bad_sigma_quoted.yaml", 4, 12, "pipeline[0].sigma", "quoted string"},
    {"bad_sigma_word.yaml", 4, 16, "pipeline[0].sigma[1]", "expected a number, got 'big'"},
    {"bad_sigma_length.yaml", 4, 12, "pipeline[0].sigma", "list of 3 values"},
    {"bad_sigma_mapping.yaml", 5, 7, "pipeline[0].sigma", "got a mapping"},
    {"bad_sigma_negative.yaml", 6, 16, "pipeline[1].sigma[1]", "must be >= 0"},
    {"bad_alias_self.yaml", 4, 12, "pipeline[0].sigma[0]", "expected a number, got a list"},
    {"bad_radius_big.yaml", 4, 13, "pipeline[0].radius", "must be <= 1000"},
    {"bad_radius_fraction.yaml", 4, 17, "pipeline[0].radius[1]", "must be an integer"},
    {"bad_radius_overflow.yaml", 4, 13, "pipeline[0].radius", "out of range"},
    {"bad_threshold_inf.yaml", 4, 16, "pipeline[0].threshold", "finite"},
    {"bad_value_nan.yaml", 4, 12, "pipeline[0].value", "finite"},
    {"bad_value_huge.yaml", 4, 12, "pipeline[0].value", "finite"},
    {"bad_tile_zero.yaml", 3, 11, "tiles.shape[0]", "must be >= 1"},
    {"bad_tile_scalar.yaml", 3, 10, "tiles.shape", "expected a list [z, y, x]"},
    {"bad_halo_negative.yaml", 2, 28, "tiles.halo", "must be >= 0"},
    {"bad_empty_pipeline.yaml", 2, 11, "pipeline", "at least one step"},
    {"bad_duplicate_key.yaml", 5, 1, "output", "duplicate key"},
    {"bad_duplicate_param.yaml", 5, 5, "pipeline[0].threshold", "duplicate key"},
    {"bad_duplicate_save.yaml", 8, 11, "pipeline[1].save", "duplicate save name"},
    {"bad_save_output.yaml", 5, 11, "pipeline[0].save", "output dataset"},
    {"bad_save_reserved.yaml", 5, 11, "pipeline[0].save", "reserved"},
    {"bad_save_relative.yaml", 5, 11, "pipeline[0].save", "absolute"},
    {"bad_dataset_relative.yaml", 3, 12, "input.dataset", "absolute"},
    {"bad_dtype.yaml", 6, 10, "output.dtype", "unknown dtype 'int32'"},
    {"bad_mode.yaml", 6, 9, "output.mode", "unknown mode 'append'"},
    {"bad_devices.yaml", 5, 10, "devices", "unknown device kind 'tpu'"},
    {"bad_devices_index.yaml", 7, 10, "devices.index", "must be >= 0"},
    {"bad_scheduling.yaml", 5, 13, "scheduling", "unknown scheduling 'random'"},
    {"bad_timepoints.yaml", 2, 13, "timepoints", "\"5-3\" at position 6"},
    {"bad_timepoints_list.yaml", 2, 13, "timepoints", "got a list"},
};

#define NBAD ((int)(sizeof bad_cases / sizeof bad_cases[0]))

START_TEST(test_bad_config)
{
    const bad_case_t *b = &bad_cases[_i];
    char path[1024];
    lapse_config_t cfg;
    test_path(path, sizeof path, "tests/unit/configs", b->file);
    lapse_err_clear();
    lapse_status_t st = lapse_config_load(path, &cfg);
    ck_assert_msg(st == LAPSE_ECONFIG, "%s: status %d, expected LAPSE_ECONFIG", b->file, (int)st);
    ck_assert_int_eq(lapse_exit_code(st), 2);
    ck_assert_ptr_null(cfg.text);
    check_message(path, b->line, b->col, b->keypath, b->word);
}
END_TEST

START_TEST(test_every_bad_file_is_checked)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/unit/configs", src_dir());
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int nfiles = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "bad_", 4) != 0)
            continue;
        int found = 0;
        for (int i = 0; i < NBAD && !found; i++)
            found = strcmp(bad_cases[i].file, e->d_name) == 0;
        ck_assert_msg(found, "%s has no expected error in bad_cases", e->d_name);
        nfiles++;
    }
    closedir(d);
    ck_assert_int_eq(nfiles, NBAD);
}
END_TEST

START_TEST(test_missing_file)
{
    char path[1024];
    lapse_config_t cfg;
    test_path(path, sizeof path, "tests/unit/configs", "no_such_file.yaml");
    lapse_err_clear();
    ck_assert_int_eq(lapse_config_load(path, &cfg), LAPSE_ECONFIG);
    ck_assert_ptr_null(cfg.text);
    check_message(path, 0, 0, "(file)", "cannot open");
}
END_TEST

START_TEST(test_bad_bytes)
{
    /* a NUL byte inside the text, and invalid UTF-8 */
    static const char nul[] = "input: {file: a.h5, dataset: /raw}\npipe\0line: []\n";
    parse_bad("mem.yaml", nul, sizeof nul - 1, 2, 5, "(yaml)", "invalid text");
    static const char utf[] = "input: {file: \xff\xfe, dataset: /raw}\n";
    parse_bad("mem.yaml", utf, sizeof utf - 1, 1, 15, "(yaml)", "invalid text");
}
END_TEST

START_TEST(test_too_large)
{
    size_t n = (1u << 20) + 10;
    char *text = malloc(n);
    ck_assert_ptr_nonnull(text);
    memset(text, '#', n);
    parse_bad("big.yaml", text, n, 0, 0, "(file)", "too large");
    free(text);
}
END_TEST

START_TEST(test_deep_nesting)
{
    /* 100000 nested lists under a step parameter: refused at the container that is nested
     * 33 deep (top mapping, pipeline list, step mapping, then the 30th '['), quickly. */
    size_t depth = 100000;
    const char *pre = HEAD "pipeline: [{op: gaussian_blur, sigma: ";
    size_t n = strlen(pre);
    char *text = malloc(n + 2 * depth + 16);
    ck_assert_ptr_nonnull(text);
    memcpy(text, pre, n);
    memset(text + n, '[', depth);
    memset(text + n + depth, ']', depth);
    strcpy(text + n + 2 * depth, "}]\n");
    /* line 3 is "pipeline: [{op: gaussian_blur, sigma: [[[..."; its first '[' of sigma is at
     * column 39, the 30th at column 68 */
    parse_bad("deep.yaml", text, strlen(text), 3, 68, "(yaml)", "nested deeper than 32");
    free(text);

    /* block sequences nested on one line: "- - - ... x" */
    char line[512];
    for (int i = 0; i < 200; i++)
        memcpy(line + 2 * i, "- ", 2);
    strcpy(line + 400, "x\n");
    parse_bad("deep.yaml", line, strlen(line), 1, 65, "(yaml)", "nested deeper than 32");
}
END_TEST

START_TEST(test_alias_bomb)
{
    /* "billion laughs": 9 levels of 9 aliases each. The loader shares nodes and the walk only
     * follows the schema, so this is refused at once. */
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text, HEAD "a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for (int l = 1; l <= 9; l++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "a%d: &a%d [", l, l);
        for (int k = 0; k < 9; k++)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s*a%d", k ? ", " : "", l - 1);
        n += (size_t)snprintf(text + n, sizeof text - n, "]\n");
    }
    snprintf(text + n, sizeof text - n, "pipeline: [{op: gaussian_blur, sigma: *a9}]\n");
    parse_bad("bomb.yaml", text, strlen(text), 3, 1, "a0", "unknown key");
}
END_TEST

START_TEST(test_alias_bomb_in_param)
{
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text,
                                HEAD "pipeline:\n  - op: add_scalar\n"
                                     "    value: &a0 [1, 1, 1, 1, 1, 1, 1]\n");
    for (int l = 1; l <= 9; l++) {
        n +=
            (size_t)snprintf(text + n, sizeof text - n, "  - op: add_scalar\n    value: &a%d [", l);
        for (int k = 0; k < 9; k++)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s*a%d", k ? ", " : "", l - 1);
        n += (size_t)snprintf(text + n, sizeof text - n, "]\n");
    }
    /* the first step's value is a list where a number is expected (line 5, column 12) */
    parse_bad("bomb.yaml", text, strlen(text), 5, 12, "pipeline[0].value", "expected a number");
}
END_TEST

START_TEST(test_random_corruption)
{
    /* Random byte edits of a full config: every result is either accepted or refused with a
     * located LAPSE_ECONFIG message; nothing crashes (Check's fork mode reports crashes). */
    char path[1024];
    test_path(path, sizeof path, "tests/unit/configs", "good_full.yaml");
    lapse_config_t base;
    load_ok(path, &base);
    size_t len = strlen(base.text);
    char *text = malloc(len + 1);
    ck_assert_ptr_nonnull(text);
    static const char alphabet[] = "[]{}:,-&*!|>'\"#\n \t0123456789.eax%@`?\\";
    uint64_t seed = 7;
    int refused = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(text, base.text, len + 1);
        int edits = 1 + (int)(tu_rand(&seed) % 4);
        size_t n = len;
        for (int e = 0; e < edits && n > 0; e++) {
            size_t at = (size_t)(tu_rand(&seed) % n);
            switch (tu_rand(&seed) % 3) {
            case 0: /* replace */
                text[at] = alphabet[tu_rand(&seed) % (sizeof alphabet - 1)];
                break;
            case 1: /* delete */
                memmove(text + at, text + at + 1, n - at);
                n--;
                break;
            default: /* truncate */
                n = at + 1;
                text[n] = '\0';
                break;
            }
        }
        lapse_config_t c;
        lapse_err_clear();
        lapse_status_t st = lapse_config_parse("fuzz.yaml", text, n, &c);
        ck_assert(st == LAPSE_OK || st == LAPSE_ECONFIG);
        if (st == LAPSE_ECONFIG) {
            refused++;
            ck_assert_msg(strncmp(lapse_errmsg(), "fuzz.yaml:", 10) == 0, "%s", lapse_errmsg());
        } else {
            ck_assert_int_ge(c.nsteps, 1);
        }
        lapse_config_free(&c);
    }
    ck_assert_int_gt(refused, 100);
    free(text);
    lapse_config_free(&base);
}
END_TEST

START_TEST(test_fail_format)
{
    /* lapse_config_fail is also used by the driver for checks made after loading */
    lapse_config_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.path, sizeof c.path, "run.yaml");
    lapse_err_clear();
    lapse_mark_t at = {7, 12};
    ck_assert_int_eq(lapse_config_fail(&c, at, "tiles.halo", "too small (need %d)", 3),
                     LAPSE_ECONFIG);
    ck_assert_str_eq(lapse_errmsg(), "run.yaml:7:12: tiles.halo: too small (need 3)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_examples_parse);
    tcase_add_test(tc, test_fingerprint);
    tcase_add_test(tc, test_every_key);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_anchors_and_scalars);
    tcase_add_test(tc, test_small_forms);
    tcase_add_test(tc, test_written_dataset_clashes);
    tcase_add_test(tc, test_tiff_input_dataset);
    tcase_add_test(tc, test_input_selection);
    tcase_add_test(tc, test_max_steps);
    tcase_add_test(tc, test_reach_of_parsed_pipeline);
    tcase_add_test(tc, test_dtype_rules);
    tcase_add_test(tc, test_gauss_weights);
    tcase_add_loop_test(tc, test_bad_config, 0, NBAD);
    tcase_add_test(tc, test_every_bad_file_is_checked);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_bad_bytes);
    tcase_add_test(tc, test_too_large);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_alias_bomb);
    tcase_add_test(tc, test_alias_bomb_in_param);
    tcase_add_test(tc, test_random_corruption);
    tcase_add_test(tc, test_fail_format);
    tcase_add_test(tc, test_zarr_input_and_voxel_size);
    tcase_add_test(tc, test_output_format);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
