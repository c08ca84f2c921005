/*
 * test_graph.c - the pipeline graph compiler (src/ops/graph.c), host only: operand links and
 * their errors, work buffer slots by liveness (no live result is ever overwritten, and chains
 * keep the buffer counts of the old three-buffer rotation), the reach as the union over paths,
 * read boxes from the steps' box rules, the cut into segments at global steps, and the
 * shapes refused as beyond the kernels' coordinates.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/graph.h"

static lapse_step_t step(const char *op, double a, const char *name, const char *from,
                         const char *with, const char *save)
{
    lapse_step_t s;
    const lapse_op_t *o = lapse_op_find(op);
    ck_assert_msg(o != NULL, "no op %s", op);
    lapse_step_init(&s, o);
    for (int v = 0; v < 3; v++)
        s.p[0].v[v] = a;
    snprintf(s.name, sizeof s.name, "%s", name);
    snprintf(s.from, sizeof s.from, "%s", from);
    snprintf(s.with, sizeof s.with, "%s", with);
    snprintf(s.save, sizeof s.save, "%s", save);
    s.line = 10;
    s.column = 5;
    return s;
}

static const int64_t shape[3] = {40, 50, 60};

static void compile_ok(const lapse_step_t *s, int n, lapse_graph_t *g)
{
    lapse_graph_err_t err;
    lapse_err_clear();
    ck_assert_msg(lapse_graph_compile(s, n, shape, LAPSE_DT_U16, LAPSE_DT_AUTO, g, &err) ==
                      LAPSE_OK,
                  "%s", lapse_errmsg());
}

static void compile_bad(const lapse_step_t *s, int n, int at, const char *key, const char *word)
{
    lapse_graph_t g;
    lapse_graph_err_t err;
    lapse_err_clear();
    ck_assert_int_eq(lapse_graph_compile(s, n, shape, LAPSE_DT_U16, LAPSE_DT_AUTO, &g, &err),
                     LAPSE_ECONFIG);
    ck_assert_int_eq(err.step, at);
    ck_assert_str_eq(err.key, key);
    ck_assert_msg(strstr(lapse_errmsg(), word), "message '%s' lacks '%s'", lapse_errmsg(), word);
}

/* Simulate the steps in order and check that no step's output or scratch slot holds a result
 * still to be read (other than an inplace op's dying first operand), and that every operand
 * slot holds the operand's result when the step runs. */
static void check_liveness(const lapse_graph_t *g)
{
    int holder[64]; /* slot -> node whose result it holds (-1 input, -2 none) */
    for (int b = 0; b < 64; b++)
        holder[b] = -2;
    ck_assert_int_le(g->nbuf, 64);
    holder[g->input_buf] = LAPSE_GRAPH_INPUT;
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_gnode_t *nd = &g->node[k];
        for (int i = 0; i < nd->nin; i++) {
            int j = nd->in[i];
            int slot = j == LAPSE_GRAPH_INPUT ? g->input_buf : g->node[j].buf;
            ck_assert_msg(holder[slot] == j, "step %d: operand %d's slot %d holds %d", k, j, slot,
                          holder[slot]);
        }
        int writes[1 + LAPSE_GRAPH_SCRATCH + LAPSE_OP_MAX_INPUTS], nw = 0;
        writes[nw++] = nd->buf;
        for (int i = 0; i < nd->step->op->nscratch; i++)
            writes[nw++] = nd->scratch[i];
        for (int i = 0; i < nd->nin && nd->window; i++) /* windowed operands' copies */
            writes[nw++] = nd->win[i];
        for (int w = 0; w < nw; w++) {
            int h = holder[writes[w]];
            if (h == -2)
                continue;
            int last = h == LAPSE_GRAPH_INPUT ? g->input_last : g->node[h].last_use;
            int inplace =
                w == 0 && nd->step->op->inplace && !nd->window && h == nd->in[0] && last == k;
            ck_assert_msg(inplace || last < k,
                          "step %d writes slot %d holding node %d, still read by step %d", k,
                          writes[w], h, last);
            for (int v = w + 1; v < nw; v++)
                ck_assert_int_ne(writes[w], writes[v]);
        }
        for (int w = 1; w < nw; w++)
            holder[writes[w]] = -2;
        holder[nd->buf] = k;
    }
}

START_TEST(test_chain_buffers)
{
    lapse_graph_t g;
    lapse_step_t s[3];
    /* the old rotation: a filter needs 2 buffers, a top-hat 3, voxel-wise steps 1 */
    s[0] = step("gaussian_blur", 1, "", "", "", "");
    compile_ok(s, 1, &g);
    ck_assert_int_eq(g.nbuf, 2);
    check_liveness(&g);
    s[1] = step("top_hat_box", 2, "", "", "", "/th");
    s[2] = step("threshold_fixed", 5, "", "", "", "");
    compile_ok(s, 3, &g);
    ck_assert_int_eq(g.nbuf, 3);
    check_liveness(&g);
    ck_assert_int_eq(g.nout, 2);
    ck_assert_int_eq(g.out[0].node, 1);
    ck_assert_int_eq(g.out[0].dtype, LAPSE_DT_F32); /* top-hat of float32 */
    ck_assert_int_eq(g.out[1].dtype, LAPSE_DT_U8);
    s[0] = step("add_scalar", 1, "", "", "", "");
    s[1] = step("multiply_scalar", 2, "", "", "", "");
    compile_ok(s, 2, &g);
    ck_assert_int_eq(g.nbuf, 1);
    s[0] = step("minimum_box", 1, "", "", "", "");
    s[1] = step("maximum_z_projection", 0, "", "", "", "");
    compile_ok(s, 2, &g);
    ck_assert_int_eq(g.nbuf, 2);
    ck_assert_int_eq(g.out[0].dtype, LAPSE_DT_U16);
    ck_assert_int_eq(g.out[0].flat, 1);
    ck_assert_int_eq(g.keep_z, 1);
}
END_TEST

START_TEST(test_graph_buffers_and_reach)
{
    lapse_graph_t g;
    lapse_step_t s[6] = {
        step("gaussian_blur", 1, "g1", "", "", ""),        /* reach 4 */
        step("gaussian_blur", 2.5, "g2", "input", "", ""), /* reach 10 */
        step("subtract_images", 0, "dog", "g1", "g2", "/dog"),
        step("mean_box", 3, "m", "input", "", ""), /* reach 3 */
        step("mask", 0, "", "dog", "m", ""),
        step("binary_not", 0, "", "", "", ""),
    };
    compile_ok(s, 6, &g);
    check_liveness(&g);
    for (int a = 0; a < 3; a++)
        ck_assert_int_eq(g.reach[a], 10); /* the union of the paths, not the sum (4 + 10) */
    ck_assert_int_eq(g.node[2].in[0], 0);
    ck_assert_int_eq(g.node[2].in[1], 1);
    ck_assert_int_eq(g.node[1].in[0], LAPSE_GRAPH_INPUT);
    ck_assert_int_eq(g.input_last, 3);
    ck_assert_int_eq(g.out[0].node, 2);
    ck_assert_int_eq(g.out[1].dtype, LAPSE_DT_U8);
    ck_assert_int_le(g.nbuf, 5);
    /* a chain's reach is the sum */
    lapse_step_t c[2] = {step("gaussian_blur", 1, "", "", "", ""),
                         step("top_hat_box", 2, "", "", "", "")};
    compile_ok(c, 2, &g);
    ck_assert_int_eq(g.reach[1], 4 + 4);
    /* after a projection z no longer counts */
    lapse_step_t p[3] = {step("mean_box", 1, "", "", "", ""),
                         step("maximum_z_projection", 0, "", "", "", ""),
                         step("mean_box", 2, "", "", "", "")};
    compile_ok(p, 3, &g);
    ck_assert_int_eq(g.reach[0], 1);
    ck_assert_int_eq(g.reach[1], 3);
}
END_TEST

/* The read box from the box rules equals the core grown by the reach and clipped, for local
 * graphs; a projection reads whole z columns. */
START_TEST(test_read_box)
{
    lapse_graph_t g;
    lapse_step_t s[3] = {step("gaussian_blur", 1, "g1", "", "", ""),
                         step("minimum_box", 2, "", "input", "", ""),
                         step("add_images_weighted", 0, "", "", "g1", "")};
    compile_ok(s, 3, &g);
    const lapse_box_t cores[] = {{{0, 0, 0}, {5, 5, 5}},
                                 {{10, 20, 30}, {7, 3, 9}},
                                 {{35, 45, 55}, {5, 5, 5}},
                                 {{0, 0, 0}, {40, 50, 60}}};
    for (size_t i = 0; i < sizeof cores / sizeof *cores; i++) {
        lapse_box_t r;
        lapse_graph_read_box(&g, &cores[i], &r);
        for (int a = 0; a < 3; a++) {
            int64_t lo = cores[i].off[a] - 4, hi = cores[i].off[a] + cores[i].dim[a] + 4;
            lo = lo < 0 ? 0 : lo;
            hi = hi > shape[a] ? shape[a] : hi;
            ck_assert_int_eq(r.off[a], lo);
            ck_assert_int_eq(r.dim[a], hi - lo);
        }
    }
    lapse_step_t p[2] = {step("mean_box", 1, "", "", "", "/m"),
                         step("maximum_z_projection", 0, "", "", "", "")};
    compile_ok(p, 2, &g);
    lapse_box_t r, core = {{0, 10, 10}, {40, 5, 5}};
    lapse_graph_read_box(&g, &core, &r);
    ck_assert_int_eq(r.off[0], 0);
    ck_assert_int_eq(r.dim[0], 40);
    ck_assert_int_eq(r.off[1], 9);
    ck_assert_int_eq(r.dim[1], 7);
}
END_TEST

/* Geometric steps: the outputs' shape as the tile grid, shape errors, box rules through a flip,
 * per-node boxes, and windowed two-input steps. */
START_TEST(test_geometry)
{
    lapse_graph_t g;
    lapse_step_t s[4];
    s[0] = step("resample", 0, "", "", "", "");
    s[0].p[0].v[0] = 1, s[0].p[0].v[1] = 2, s[0].p[0].v[2] = 0.5;
    compile_ok(s, 1, &g);
    ck_assert_int_eq(g.transform, 1);
    ck_assert_int_eq(g.out_shape[0], 40);
    ck_assert_int_eq(g.out_shape[1], 100);
    ck_assert_int_eq(g.out_shape[2], 30);
    /* a crop reaching past the image is clipped; one starting past it is empty: refused */
    s[0] = step("crop", 0, "", "", "", "");
    s[0].p[0].v[1] = 45;
    s[0].p[1].v[0] = 40, s[0].p[1].v[1] = 20, s[0].p[1].v[2] = 60;
    compile_ok(s, 1, &g);
    ck_assert_int_eq(g.out_shape[1], 5);
    s[0].p[0].v[1] = 50;
    compile_bad(s, 1, 0, "op", "would be empty");
    /* every output shares the tile grid: a saved step of another shape is refused */
    s[0] = step("gaussian_blur", 1, "", "", "", "/blur");
    s[1] = step("downsample_bin", 2, "", "", "", "");
    compile_bad(s, 2, 0, "op", "saved result has shape [40, 50, 60]");
    /* ... also where only z differs: the saved step is named, with both shapes (a review
     * found the final step named, with its own shape twice) */
    s[1] = step("resample", 0, "", "", "", "");
    s[1].p[0].v[0] = 4, s[1].p[0].v[1] = 1, s[1].p[0].v[2] = 1;
    compile_bad(s, 2, 0, "op",
                "saved result has shape [40, 50, 60] (z, y, x) but the final result [160, 50, 60]");
    s[1] = step("rotate", 20, "", "", "", ""); /* same shape: fine */
    compile_ok(s, 2, &g);
    ck_assert_int_eq(g.nout, 2);
    ck_assert_int_eq(g.keep_z, 0);
    /* gaussian(1) -> flip x -> mean_box(1): the core's box grown by 1, mirrored in x, grown by
     * the blur's reach 4 */
    s[0] = step("gaussian_blur", 1, "", "", "", "");
    s[1] = step("flip", 0, "", "", "", "");
    s[1].p[0].v[2] = 1;
    s[2] = step("mean_box", 1, "", "", "", "");
    compile_ok(s, 3, &g);
    check_liveness(&g);
    lapse_box_t core = {{10, 20, 30}, {5, 5, 5}}, read, box[LAPSE_MAX_STEPS];
    lapse_graph_read_box(&g, &core, &read);
    const int64_t off[3] = {5, 15, 60 - 36 - 4}, dim[3] = {15, 15, 15};
    for (int a = 0; a < 3; a++) {
        ck_assert_int_eq(read.off[a], off[a]);
        ck_assert_int_eq(read.dim[a], dim[a]);
    }
    int64_t most = lapse_graph_node_boxes(&g, &read, &core, box);
    ck_assert_int_eq(most, 15 * 15 * 15);
    ck_assert(memcmp(&box[0], &read, sizeof read) == 0); /* the blur over the read box */
    for (int a = 0; a < 3; a++) { /* the flip over what the mean needs, the mean over that */
        ck_assert_int_eq(box[1].off[a], core.off[a] - 1);
        ck_assert_int_eq(box[1].dim[a], 7);
    }
    ck_assert(memcmp(&box[2], &box[1], sizeof read) == 0);
    /* the input minus its mirror image: the operands' boxes differ, so the step is windowed */
    s[0] = step("flip", 0, "m", "", "", "");
    s[0].p[0].v[2] = 1;
    s[1] = step("subtract_images", 0, "", "input", "m", "");
    compile_ok(s, 2, &g);
    check_liveness(&g);
    ck_assert_int_eq(g.node[0].window, 0);
    ck_assert_int_eq(g.node[1].window, 1);
    ck_assert(g.node[1].win[0] >= 0 && g.node[1].win[1] >= 0 &&
              g.node[1].win[0] != g.node[1].win[1]);
    lapse_graph_read_box(&g, &core, &read);
    lapse_graph_node_boxes(&g, &read, &core, box);
    ck_assert(memcmp(&box[1], &core, sizeof core) == 0); /* the common box: the core */
    ck_assert_int_eq(read.off[2], 25);                   /* the core and its mirror */
    ck_assert_int_eq(read.dim[2], 10);
    /* same-frame operands are not windowed */
    s[0] = step("gaussian_blur", 1, "m", "", "", "");
    compile_ok(s, 2, &g);
    ck_assert_int_eq(g.node[1].window, 0);
    ck_assert_int_eq(g.transform, 0);
    ck_assert(memcmp(g.out_shape, shape, sizeof shape) == 0);
    /* a radial reslice: [angles, z, radius], the radius one past the farthest corner */
    s[0] = step("radial_reslice", 0, "", "", "", "");
    s[0].p[0].v[0] = 2;
    for (int a = 0; a < 3; a++)
        s[0].p[2].v[a] = -1;
    compile_ok(s, 1, &g);
    ck_assert_int_eq(g.out_shape[0], 180);
    ck_assert_int_eq(g.out_shape[1], 40);
    ck_assert_int_eq(g.out_shape[2], 39); /* floor(hypot(24.5, 29.5)) + 1 */
    /* global steps reduce over the input's tiles: not with a geometric step */
    s[0] = step("threshold_otsu", 0, "", "", "", "");
    s[1] = step("flip", 1, "", "", "", "");
    compile_bad(s, 2, 1, "op", "cannot share a pipeline with a global step (threshold_otsu)");
    /* a rotation followed by a projection: one flat output, whole z columns */
    s[0] = step("rotate", 10, "", "", "", "");
    s[1] = step("maximum_z_projection", 0, "", "", "", "");
    compile_ok(s, 2, &g);
    ck_assert_int_eq(g.keep_z, 1);
    ck_assert_int_eq(g.out_shape[0], 40);
    ck_assert_int_eq(g.out[0].flat, 1);
}
END_TEST

START_TEST(test_link_errors)
{
    lapse_step_t s[3] = {step("gaussian_blur", 1, "a", "", "", ""),
                         step("subtract_images", 0, "", "", "", ""),
                         step("add_scalar", 1, "", "", "", "")};
    compile_bad(s, 2, 1, "op", "combines two images");
    snprintf(s[1].with, sizeof s[1].with, "zz");
    compile_bad(s, 2, 1, "with", "no earlier step is named 'zz'");
    snprintf(s[1].with, sizeof s[1].with, "a");
    snprintf(s[0].from, sizeof s[0].from, "b");
    snprintf(s[1].name, sizeof s[1].name, "b");
    compile_bad(s, 2, 0, "from", "later step");
    s[0].from[0] = '\0';
    snprintf(s[2].from, sizeof s[2].from, "input");
    compile_bad(s, 3, 1, "op", "never used");
    snprintf(s[1].save, sizeof s[1].save, "/b");
    lapse_graph_t g;
    compile_ok(s, 3, &g);
    check_liveness(&g);
}
END_TEST

/* Shapes beyond what the kernels index are refused when the graph is compiled (exit 2 at the
 * step): a sampler whose input or result has an axis above 2^24 (its float32 positions skip
 * voxels there; resample by 256 of a 2^24-voxel axis was planned as a 2^32-voxel result, past
 * the kernels' int coordinates), and any result beyond 2^31 - 1 voxels along an axis or 2^58 in
 * all. */
START_TEST(test_size_limits)
{
    lapse_graph_t g;
    lapse_graph_err_t err;
    lapse_step_t s[1];
    const int64_t wide[3] = {1, 1, (int64_t)1 << 24}, wider[3] = {1, 1, ((int64_t)1 << 24) + 1};
    s[0] = step("resample", 0, "", "", "", "");
    s[0].p[0].v[0] = 1, s[0].p[0].v[1] = 1, s[0].p[0].v[2] = 1;
    lapse_err_clear();
    ck_assert_msg(lapse_graph_compile(s, 1, wide, LAPSE_DT_U16, LAPSE_DT_AUTO, &g, &err) ==
                      LAPSE_OK,
                  "%s", lapse_errmsg()); /* 2^24 itself is exact */
    s[0].p[0].v[2] = 256;
    lapse_err_clear();
    ck_assert_int_eq(lapse_graph_compile(s, 1, wide, LAPSE_DT_U16, LAPSE_DT_AUTO, &g, &err),
                     LAPSE_ECONFIG);
    ck_assert_str_eq(err.key, "op");
    ck_assert_msg(strstr(lapse_errmsg(), "4294967296 in its result"), "%s", lapse_errmsg());
    const char *samplers[] = {"rotate", "affine_transform", "radial_reslice"};
    for (int i = 0; i < 3; i++) {
        s[0] = step(samplers[i], 0, "", "", "", "");
        if (i == 1) /* the identity matrix */
            for (int r = 0; r < 3; r++)
                s[0].p[0].v[r * 4 + r] = 1;
        if (i == 2) /* one degree between planes */
            s[0].p[0].v[0] = 1;
        lapse_err_clear();
        ck_assert_int_eq(lapse_graph_compile(s, 1, wider, LAPSE_DT_U16, LAPSE_DT_AUTO, &g, &err),
                         LAPSE_ECONFIG);
        ck_assert_msg(strstr(lapse_errmsg(), "exact up to 2^24"), "%s: %s", samplers[i],
                      lapse_errmsg());
    }
    /* 2^59 voxels of uint8 (2^59 bytes, an input the reader takes): a float32 result of that
     * size is refused */
    const int64_t huge[3] = {(int64_t)1 << 20, (int64_t)1 << 20, (int64_t)1 << 19};
    s[0] = step("gaussian_blur", 1, "", "", "", "");
    lapse_err_clear();
    ck_assert_int_eq(lapse_graph_compile(s, 1, huge, LAPSE_DT_U8, LAPSE_DT_AUTO, &g, &err),
                     LAPSE_ECONFIG);
    ck_assert_msg(strstr(lapse_errmsg(), "2^58 in all"), "%s", lapse_errmsg());
    /* an empty result along x is "empty", not a division by its 0 voxels */
    s[0] = step("crop", 0, "", "", "", "");
    s[0].p[0].v[2] = 60;
    s[0].p[1].v[0] = 40, s[0].p[1].v[1] = 50, s[0].p[1].v[2] = 60;
    compile_bad(s, 1, 0, "op", "would be empty");
}
END_TEST

/* exclude_labels_on_edges' axes must choose an axis with faces: {z: false} (no axis at all,
 * the example docs/config.md once gave for "the y and x faces") and {z: true} on [t, y, x] data
 * are refused; the default (all axes) on data of one voxel, which has no faces anywhere, is not
 * (a 1-voxel test run must not fail on a config that works on real data). */
START_TEST(test_edges_axes)
{
    lapse_graph_t g;
    lapse_graph_err_t err;
    const int64_t flat[3] = {1, 50, 60}, dot[3] = {1, 1, 1};
    lapse_step_t s[1] = {step("exclude_labels_on_edges", 0, "", "", "", "")};
    compile_bad(s, 1, 0, "axes", "chooses no axis of more than one voxel");
    s[0].p[0].v[0] = 1; /* {z: true} */
    compile_ok(s, 1, &g);
    lapse_err_clear();
    ck_assert_int_eq(lapse_graph_compile(s, 1, flat, LAPSE_DT_U16, LAPSE_DT_AUTO, &g, &err),
                     LAPSE_ECONFIG);
    ck_assert_str_eq(err.key, "axes");
    ck_assert_msg(strstr(lapse_errmsg(), "{y: true, x: true}"), "%s", lapse_errmsg());
    s[0] = step("exclude_labels_on_edges", 1, "", "", "", ""); /* the default: all axes */
    lapse_err_clear();
    ck_assert_msg(lapse_graph_compile(s, 1, dot, LAPSE_DT_U16, LAPSE_DT_AUTO, &g, &err) == LAPSE_OK,
                  "%s", lapse_errmsg());
    s[0] = step("exclude_labels_on_edges", 0, "", "", "", ""); /* none chosen: refused even here */
    lapse_err_clear();
    ck_assert_int_eq(lapse_graph_compile(s, 1, dot, LAPSE_DT_U16, LAPSE_DT_AUTO, &g, &err),
                     LAPSE_ECONFIG);
}
END_TEST

/* A global operation (none is registered yet: a test descriptor) cuts the graph. */
static const lapse_op_t fake_global = {.name = "fake_global",
                                       .help = "test only",
                                       .version = 1,
                                       .ninputs = 1,
                                       .out_rule = LAPSE_OUT_SAME,
                                       .footprint = LAPSE_FP_GLOBAL};

START_TEST(test_segments)
{
    lapse_graph_t g;
    lapse_step_t s[5] = {step("gaussian_blur", 1, "", "", "", ""),
                         step("mean_box", 1, "", "", "", ""), step("mean_box", 1, "", "", "", ""),
                         step("add_scalar", 1, "", "", "", ""),
                         step("threshold_fixed", 1, "", "", "", "")};
    compile_ok(s, 5, &g);
    ck_assert_int_eq(g.nseg, 1);
    ck_assert_int_eq(g.seg[0], 0);
    ck_assert_int_eq(g.seg[1], 5);
    s[2].op = &fake_global;
    s[4].op = &fake_global;
    compile_ok(s, 5, &g);
    ck_assert_int_eq(g.nseg, 3);
    ck_assert_int_eq(g.seg[0], 0);
    ck_assert_int_eq(g.seg[1], 2);
    ck_assert_int_eq(g.seg[2], 4);
    ck_assert_int_eq(g.seg[3], 5);
    ck_assert(lapse_graph_is_global(&g, 2) && !lapse_graph_is_global(&g, 3));
}
END_TEST

int main(void)
{
    Suite *su = suite_create("graph");
    TCase *tc = tcase_create("compile");
    tcase_add_test(tc, test_chain_buffers);
    tcase_add_test(tc, test_graph_buffers_and_reach);
    tcase_add_test(tc, test_read_box);
    tcase_add_test(tc, test_link_errors);
    tcase_add_test(tc, test_size_limits);
    tcase_add_test(tc, test_edges_axes);
    tcase_add_test(tc, test_geometry);
    tcase_add_test(tc, test_segments);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
