/*
 * test_geometry.c - the geometric operations (src/ops/op_geometry.c: flip, crop,
 * downsample_bin, resample, rotate, affine_transform, radial_reslice) through the whole tiled
 * path: each graph is compiled, planned as the planner does (tiles over the outputs' shape, read
 * boxes from the box rules, buffers as large as the largest node box) and run on the device,
 * untiled and in small tiles; tiled must equal untiled bit for bit, and the untiled result must
 * match the double-precision CPU references (op->reference) run over whole images: exactly for
 * copies and nearest sampling (the reference computes the same float32 positions), within 1e-5
 * of the largest value for linear sampling and block means. Also: rotations that move data
 * across many tiles, graphs that combine results of different geometric steps (windowed
 * operands), 2-D images, and the executor's refusal of a read box that lacks what a geometric
 * step needs. LAPSE_TEST_SEED=n repeats a run.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clrt.h"
#include "ops/graph.h"
#include "ops_ref.h"
#include "pipeline.h"
#include "testutil.h"

static uint64_t seed_base;

/* A step of op with every parameter at its default; name, from, with as given ("" = none). */
static lapse_step_t gstep(const char *op, const char *name, const char *from, const char *with)
{
    lapse_step_t s;
    const lapse_op_t *o = lapse_op_find(op);
    ck_assert_msg(o != NULL, "no op %s", op);
    lapse_step_init(&s, o);
    snprintf(s.name, sizeof s.name, "%s", name);
    snprintf(s.from, sizeof s.from, "%s", from);
    snprintf(s.with, sizeof s.with, "%s", with);
    return s;
}

static void set3(lapse_step_t *s, int k, double z, double y, double x)
{
    s->p[k].v[0] = z;
    s->p[k].v[1] = y;
    s->p[k].v[2] = x;
}

static lapse_step_t rotation(double ax, double ay, double az, int nearest)
{
    lapse_step_t s = gstep("rotate", "", "", "");
    s.p[0].v[0] = ax;
    s.p[1].v[0] = ay;
    s.p[2].v[0] = az;
    s.p[3].v[0] = nearest;
    return s;
}

static void compile(const lapse_step_t *s, int n, const int64_t dim[3], lapse_graph_t *g)
{
    lapse_graph_err_t err;
    ck_assert_msg(lapse_graph_compile(s, n, dim, LAPSE_DT_F32, LAPSE_DT_F32, g, &err) == LAPSE_OK,
                  "%s", lapse_errmsg());
}

/* Voxels of output k of g (one plane for a flat one). */
static size_t out_voxels(const lapse_graph_t *g, int k)
{
    const int64_t *d = g->out_shape;
    return (size_t)((g->out[k].flat ? 1 : d[0]) * d[1] * d[2]);
}

/* Core box i of a grid of tiles t over shape, or 0 past the last. */
static int grid_core(const int64_t shape[3], const int64_t t[3], int64_t i, lapse_box_t *core)
{
    int64_t grid[3];
    for (int a = 0; a < 3; a++)
        grid[a] = (shape[a] + t[a] - 1) / t[a];
    if (i >= grid[0] * grid[1] * grid[2])
        return 0;
    int64_t idx[3] = {i / (grid[1] * grid[2]), (i / grid[2]) % grid[1], i % grid[2]};
    for (int a = 0; a < 3; a++) {
        core->off[a] = idx[a] * t[a];
        core->dim[a] = shape[a] - core->off[a] < t[a] ? shape[a] - core->off[a] : t[a];
    }
    return 1;
}

/* Run g over img (g->in_shape, float32) in core tiles of tile (clipped; whole z columns when
 * keep_z) over g->out_shape, as the planner does; every output k assembled into out[k]
 * (out_voxels, float32), poisoned first so that an unwritten voxel shows. Returns the tiles. */
static int64_t run_tiled(lapse_cl_t *cl, const lapse_graph_t *g, const float *img,
                         const int64_t tile[3], float **out)
{
    const int64_t *dim = g->in_shape, *od = g->out_shape;
    int64_t t[3], i;
    for (int a = 0; a < 3; a++) {
        t[a] = g->keep_z && a == 0 ? od[0] : tile[a];
        t[a] = t[a] < od[a] ? t[a] : od[a];
    }
    lapse_box_t core, read, box[LAPSE_MAX_STEPS];
    long long most = 1, most_core = 1;
    for (i = 0; grid_core(od, t, i, &core); i++) {
        lapse_graph_read_box(g, &core, &read);
        long long v = (long long)lapse_graph_node_boxes(g, &read, &core, box);
        most = v > most ? v : most;
        v = (long long)lapse_box_voxels(&core);
        most_core = v > most_core ? v : most_core;
    }
    lapse_pipeline_t *p = NULL;
    ck_assert_msg(lapse_pipeline_create(cl, g, most, most_core, &p) == LAPSE_OK, "%s",
                  lapse_errmsg());
    for (int k = 0; k < g->nout; k++)
        memset(out[k], 0xA5, out_voxels(g, k) * sizeof(float));
    for (i = 0; grid_core(od, t, i, &core); i++) {
        lapse_graph_read_box(g, &core, &read);
        float *in = lapse_pipeline_input(p);
        for (int64_t z = 0; z < read.dim[0]; z++)
            for (int64_t y = 0; y < read.dim[1]; y++)
                memcpy(in + (z * read.dim[1] + y) * read.dim[2],
                       img + ((read.off[0] + z) * dim[1] + read.off[1] + y) * dim[2] + read.off[2],
                       (size_t)read.dim[2] * sizeof *in);
        ck_assert_msg(lapse_pipeline_run(p, &read, &core, NULL) == LAPSE_OK, "%s", lapse_errmsg());
        for (int k = 0; k < g->nout; k++) {
            const float *res = lapse_pipeline_output(p, k);
            int flat = g->out[k].flat;
            int64_t cz = flat ? 1 : core.dim[0], z0 = flat ? 0 : core.off[0];
            for (int64_t z = 0; z < cz; z++)
                for (int64_t y = 0; y < core.dim[1]; y++)
                    memcpy(out[k] + ((z0 + z) * od[1] + core.off[1] + y) * od[2] + core.off[2],
                           res + (z * core.dim[1] + y) * core.dim[2],
                           (size_t)core.dim[2] * sizeof(float));
        }
    }
    lapse_pipeline_destroy(p);
    return i;
}

/* Every node of g through the CPU references over whole images (double); res[k] malloc'ed. */
static void ref_graph(const lapse_graph_t *g, const float *img, double **res)
{
    size_t n = (size_t)(g->in_shape[0] * g->in_shape[1] * g->in_shape[2]);
    double *in = malloc(n * sizeof *in);
    for (size_t i = 0; i < n; i++)
        in[i] = img[i];
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_gnode_t *nd = &g->node[k];
        lapse_refvol_t vin[LAPSE_OP_MAX_INPUTS], vout;
        for (int i = 0; i < nd->nin; i++) {
            int j = nd->in[i];
            vin[i].v = j == LAPSE_GRAPH_INPUT ? in : res[j];
            memcpy(vin[i].dim, j == LAPSE_GRAPH_INPUT ? g->in_shape : g->node[j].dims,
                   sizeof vin[i].dim);
        }
        memcpy(vout.dim, nd->dims, sizeof vout.dim);
        res[k] = malloc((size_t)(nd->dims[0] * nd->dims[1] * nd->dims[2]) * sizeof(double));
        vout.v = res[k];
        nd->step->op->reference(nd->step, vin, &vout);
    }
    free(in);
}

/* Random float input in [-20, 100) with a smooth part, so linear sampling has gradients of
 * both kinds. */
static float *random_image(const int64_t dim[3], uint64_t seed)
{
    size_t n = (size_t)(dim[0] * dim[1] * dim[2]);
    float *v = malloc(n * sizeof *v);
    uint64_t st = seed;
    for (int64_t z = 0; z < dim[0]; z++)
        for (int64_t y = 0; y < dim[1]; y++)
            for (int64_t x = 0; x < dim[2]; x++)
                v[(z * dim[1] + y) * dim[2] + x] =
                    (float)(40.0 + 30.0 * sin(0.3 * (double)x + 0.2 * (double)y - 0.5 * (double)z) +
                            tu_uniform(&st, -20.0, 30.0));
    return v;
}

/* exact: 1 for copies and nearest sampling (bit for bit after float32 rounding). */
static void check_vs_ref(const lapse_graph_t *g, const float *got, const double *ref, size_t n,
                         int exact, const char *what)
{
    double *dev = malloc(n * sizeof *dev), *want = malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++) {
        dev[i] = got[i];
        want[i] = (double)(float)ref[i];
        if (exact)
            ck_assert_msg(got[i] == (float)ref[i] || (isnan(got[i]) && isnan(ref[i])),
                          "%s: voxel %zu: device %.9g, reference %.9g (LAPSE_TEST_SEED=%llu)", what,
                          i, (double)got[i], ref[i], (unsigned long long)seed_base);
    }
    double err = ops_ref_relerr(dev, want, n);
    ck_assert_msg(err <= 1e-5, "%s: relative error %g (LAPSE_TEST_SEED=%llu)", what, err,
                  (unsigned long long)seed_base);
    (void)g;
    free(dev);
    free(want);
}

/* Compile steps over an image of dim, run untiled and with each tile of tiles[0..ntiles-1]
 * (bit-identical outputs), compare the untiled outputs with the references. */
static void check_graph(lapse_cl_t *cl, const lapse_step_t *s, int n, const int64_t dim[3],
                        const int64_t (*tiles)[3], int ntiles, int exact, const char *what,
                        uint64_t seed)
{
    static const int64_t whole[3] = {1 << 20, 1 << 20, 1 << 20};
    lapse_graph_t g;
    compile(s, n, dim, &g);
    float *img = random_image(dim, seed);
    float *a[LAPSE_MAX_STEPS + 1], *b[LAPSE_MAX_STEPS + 1];
    for (int k = 0; k < g.nout; k++) {
        a[k] = malloc(out_voxels(&g, k) * sizeof(float));
        b[k] = malloc(out_voxels(&g, k) * sizeof(float));
    }
    ck_assert_int_eq(run_tiled(cl, &g, img, whole, a), 1);
    for (int t = 0; t < ntiles; t++) {
        int64_t nt = run_tiled(cl, &g, img, tiles[t], b);
        ck_assert_int_gt(nt, 1);
        for (int k = 0; k < g.nout; k++)
            ck_assert_msg(memcmp(a[k], b[k], out_voxels(&g, k) * sizeof(float)) == 0,
                          "%s: output %d differs between untiled and tiles [%lld, %lld, %lld] "
                          "(%lld tiles)",
                          what, k, (long long)tiles[t][0], (long long)tiles[t][1],
                          (long long)tiles[t][2], (long long)nt);
    }
    double *ref[LAPSE_MAX_STEPS];
    ref_graph(&g, img, ref);
    for (int k = 0; k < g.nout; k++)
        check_vs_ref(&g, a[k], ref[g.out[k].node], out_voxels(&g, k), exact, what);
    for (int k = 0; k < g.nsteps; k++)
        free(ref[k]);
    for (int k = 0; k < g.nout; k++) {
        free(a[k]);
        free(b[k]);
    }
    free(img);
}

static const int64_t dim3[3] = {9, 31, 27};
static const int64_t tiles3[][3] = {{4, 7, 5}, {3, 11, 6}, {9, 8, 27}};

/* One step each, every geometric operation with several parameter sets. */
START_TEST(test_single_steps)
{
    lapse_cl_t *cl = tu_open_cl();
    struct {
        lapse_step_t s;
        int exact;
        const char *what;
    } c[24];
    int n = 0;
    c[n].s = gstep("flip", "", "", "");
    set3(&c[n].s, 0, 1, 0, 1);
    c[n].exact = 1, c[n++].what = "flip z, x";
    c[n].s = gstep("flip", "", "", "");
    set3(&c[n].s, 0, 0, 1, 0);
    c[n].exact = 1, c[n++].what = "flip y";
    c[n].s = gstep("crop", "", "", "");
    set3(&c[n].s, 0, 2, 5, 20);
    set3(&c[n].s, 1, 5, 17, 40); /* x reaches past the image: clipped to 7 */
    c[n].exact = 1, c[n++].what = "crop";
    c[n].s = gstep("downsample_bin", "", "", "");
    set3(&c[n].s, 0, 2, 3, 4); /* 9 / 2, 31 / 3 and 27 / 4 leave partial blocks */
    c[n].exact = 0, c[n++].what = "downsample_bin [2, 3, 4]";
    c[n].s = gstep("downsample_bin", "", "", "");
    set3(&c[n].s, 0, 1, 1, 1);
    c[n].exact = 1, c[n++].what = "downsample_bin 1";
    c[n].s = gstep("resample", "", "", "");
    set3(&c[n].s, 0, 1, 2, 0.5);
    c[n].exact = 0, c[n++].what = "resample [1, 2, 0.5]";
    c[n].s = gstep("resample", "", "", "");
    set3(&c[n].s, 0, 2.5, 0.7, 1.3);
    c[n].exact = 0, c[n++].what = "resample [2.5, 0.7, 1.3]";
    c[n].s = gstep("resample", "", "", "");
    set3(&c[n].s, 0, 1.7, 1.5, 0.6);
    c[n].s.p[1].v[0] = 1;
    c[n].exact = 1, c[n++].what = "resample nearest";
    c[n].s = rotation(0, 0, 30, 0);
    c[n].exact = 0, c[n++].what = "rotate z 30";
    c[n].s = rotation(10, -20, 33, 0);
    c[n].exact = 0, c[n++].what = "rotate x 10 y -20 z 33";
    c[n].s = rotation(0, 0, 90, 1);
    c[n].exact = 1, c[n++].what = "rotate z 90 nearest";
    c[n].s = rotation(17, 0, -23, 1);
    c[n].exact = 1, c[n++].what = "rotate x 17 z -23 nearest";
    c[n].s = rotation(0, 180, 0, 0);
    c[n].exact = 0, c[n++].what = "rotate y 180";
    c[n].s = gstep("affine_transform", "", "", "");
    {
        /* scale, shear and a shift that samples partly outside the image */
        const double m[12] = {0.9, 0.05, 0, 1.5, 0.1, 1.1, -0.2, -3, 0, 0.3, 0.8, 4.25};
        memcpy(c[n].s.p[0].v, m, sizeof m);
    }
    c[n].exact = 0, c[n++].what = "affine linear";
    c[n] = c[n - 1];
    c[n].s.p[1].v[0] = 1;
    c[n].exact = 1, c[n++].what = "affine nearest";
    c[n].s = gstep("radial_reslice", "", "", ""); /* 360 planes about the centre */
    c[n].exact = 0, c[n++].what = "radial_reslice defaults";
    c[n].s = gstep("radial_reslice", "", "", "");
    c[n].s.p[0].v[0] = 7.5;
    c[n].s.p[1].v[0] = 20;
    set3(&c[n].s, 2, 0, 10.5, 8);
    c[n].s.p[3].v[0] = 15;
    c[n].exact = 0, c[n++].what = "radial_reslice off centre";
    ck_assert_int_le(n, (int)(sizeof c / sizeof *c));
    for (int i = 0; i < n; i++)
        check_graph(cl, &c[i].s, 1, dim3, tiles3, 3, c[i].exact, c[i].what,
                    seed_base + 31u * (uint64_t)i);
    lapse_cl_close(cl);
}
END_TEST

/* Geometric steps between local ones (the halo of a later filter maps through the geometry),
 * saved results before and after a rotation, a projection after one, windowed operands (two
 * images from different geometric steps), and 2-D images. */
START_TEST(test_graphs)
{
    lapse_cl_t *cl = tu_open_cl();
    lapse_step_t s[6];
    /* gaussian -> rotate -> mean_box, the blur saved */
    s[0] = gstep("gaussian_blur", "", "", "");
    set3(&s[0], 0, 1, 1.5, 1);
    snprintf(s[0].save, sizeof s[0].save, "/blur");
    s[1] = rotation(5, -8, 40, 0);
    s[2] = gstep("mean_box", "", "", "");
    set3(&s[2], 0, 1, 2, 1);
    check_graph(cl, s, 3, dim3, tiles3, 3, 0, "gaussian rotate mean", seed_base + 1);
    /* crop -> gaussian (the crop's edge is its image's edge) -> resample up */
    s[0] = gstep("crop", "", "", "");
    set3(&s[0], 0, 1, 3, 2);
    set3(&s[0], 1, 7, 25, 22);
    s[1] = gstep("gaussian_blur", "", "", "");
    set3(&s[1], 0, 1, 1, 2);
    s[2] = gstep("resample", "", "", "");
    set3(&s[2], 0, 1, 2, 1.5);
    check_graph(cl, s, 3, dim3, tiles3, 3, 0, "crop gaussian resample", seed_base + 2);
    /* downsample -> flip -> maximum_z_projection (flat output) */
    s[0] = gstep("downsample_bin", "", "", "");
    set3(&s[0], 0, 1, 2, 2);
    s[1] = gstep("flip", "", "", "");
    set3(&s[1], 0, 0, 1, 1);
    s[2] = gstep("maximum_z_projection", "", "", "");
    check_graph(cl, s, 3, dim3, tiles3, 3, 0, "downsample flip projection", seed_base + 3);
    /* the input minus its mirror image, and two rotations added (windowed operands) */
    s[0] = gstep("flip", "m", "", "");
    set3(&s[0], 0, 0, 0, 1);
    s[1] = gstep("subtract_images", "", "input", "m");
    snprintf(s[1].save, sizeof s[1].save, "/asym");
    s[2] = rotation(0, 0, 25, 0);
    snprintf(s[2].from, sizeof s[2].from, "input");
    snprintf(s[2].name, sizeof s[2].name, "r1");
    s[3] = rotation(0, 0, -25, 0);
    snprintf(s[3].from, sizeof s[3].from, "input");
    snprintf(s[3].name, sizeof s[3].name, "r2");
    s[4] = gstep("add_images_weighted", "", "r1", "r2");
    s[4].p[0].v[0] = 0.5;
    s[4].p[1].v[0] = 0.5;
    check_graph(cl, s, 5, dim3, tiles3, 3, 0, "windowed operands", seed_base + 4);
    /* 2-D: rotate in the plane, then resample */
    static const int64_t dim2[3] = {1, 41, 37};
    static const int64_t tiles2[][3] = {{1, 9, 7}, {1, 16, 5}};
    s[0] = rotation(0, 0, -37, 0);
    s[1] = gstep("resample", "", "", "");
    set3(&s[1], 0, 1, 1.5, 0.75);
    check_graph(cl, s, 2, dim2, tiles2, 2, 0, "2-D rotate resample", seed_base + 5);
    lapse_cl_close(cl);
}
END_TEST

/* Rotations move data across many tiles: a 64 x 64 plane turned by 35 degrees (and tilted out
 * of it) in tiles of 5 x 9 x 11, each reading far from its core. */
START_TEST(test_rotation_many_tiles)
{
    lapse_cl_t *cl = tu_open_cl();
    static const int64_t dim[3] = {12, 64, 64};
    static const int64_t tiles[][3] = {{5, 9, 11}, {12, 4, 64}, {1, 64, 3}};
    lapse_step_t s[2] = {rotation(15, -10, 35, 0), rotation(15, -10, 35, 1)};
    check_graph(cl, &s[0], 1, dim, tiles, 3, 0, "rotation over many tiles, linear", seed_base + 6);
    check_graph(cl, &s[1], 1, dim, tiles, 3, 1, "rotation over many tiles, nearest", seed_base + 7);
    /* a tile's read box is not its core: some lie wholly elsewhere */
    lapse_graph_t g;
    compile(&s[0], 1, dim, &g);
    lapse_box_t core = {{0, 0, 0}, {5, 9, 11}}, read;
    lapse_graph_read_box(&g, &core, &read);
    ck_assert(read.off[1] > 9 || read.off[2] > 11 || read.off[1] + read.dim[1] > 20);
    lapse_cl_close(cl);
}
END_TEST

/* The executor refuses a read box that lacks what a geometric step's box rule needs. */
START_TEST(test_refuses_short_read)
{
    lapse_cl_t *cl = tu_open_cl();
    static const int64_t dim[3] = {4, 20, 20};
    lapse_step_t s = gstep("flip", "", "", "");
    set3(&s, 0, 0, 0, 1);
    lapse_graph_t g;
    compile(&s, 1, dim, &g);
    lapse_pipeline_t *p = NULL;
    ck_assert_msg(lapse_pipeline_create(cl, &g, 4 * 20 * 20, 4 * 20 * 20, &p) == LAPSE_OK, "%s",
                  lapse_errmsg());
    const lapse_box_t core = {{0, 0, 0}, {4, 20, 5}}, wrong = {{0, 0, 0}, {4, 20, 5}};
    lapse_box_t read;
    lapse_graph_read_box(&g, &core, &read);
    ck_assert_int_eq(read.off[2], 15); /* the mirrored box */
    memset(lapse_pipeline_input(p), 0, 4 * 20 * 20 * sizeof(float));
    lapse_err_clear();
    ck_assert_int_ne(lapse_pipeline_run(p, &wrong, &core, NULL), LAPSE_OK);
    ck_assert_ptr_nonnull(strstr(lapse_errmsg(), "read box is too small"));
    ck_assert_int_eq(lapse_pipeline_run(p, &read, &core, NULL), LAPSE_OK);
    lapse_pipeline_destroy(p);
    lapse_cl_close(cl);
}
END_TEST

int main(void)
{
    const char *env = getenv("LAPSE_TEST_SEED");
    seed_base = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    Suite *su = suite_create("geometry");
    TCase *tc = tcase_create("geometry");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_single_steps);
    tcase_add_test(tc, test_graphs);
    tcase_add_test(tc, test_rotation_many_tiles);
    tcase_add_test(tc, test_refuses_short_read);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "test_geometry: LAPSE_TEST_SEED=%llu repeats this run\n",
                (unsigned long long)seed_base);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
