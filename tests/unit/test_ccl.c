/*
 * test_ccl.c - connected-component labelling of a tile's core (src/ops/ccl.c, kernels/labels.cl)
 * on the OpenCL device chosen with LAPSE_DEV_ANY (PoCL's CPU device on machines without a GPU):
 * the device ids against the CPU reference bit for bit (random voxels and blobs at several
 * densities, spirals, a snake through the whole volume, checkerboards, empty and full volumes,
 * planes with both connectivities, a core inside a buffer with a non-zero halo, cores placed
 * anywhere in the timepoint), the reference against an independent flood fill written here, and
 * the id-to-label lookup against a host binary search. Random inputs use a fresh seed per run
 * (printed on failure; LAPSE_TEST_SEED=n repeats a run); device outputs are poisoned first so
 * that unwritten voxels are caught.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clrt.h"
#include "device/dev.h"
#include "ops/ccl.h"
#include "testutil.h"

static uint64_t seed_base;
static lapse_cl_t *cl;
static lapse_dev_t *dev;

static uint64_t fresh_seed(int salt)
{
    return seed_base + (uint64_t)salt * 0x9e3779b97f4a7c15ULL;
}

static void setup(void)
{
    cl = tu_open_cl();
    ck_assert_msg(lapse_dev_create(cl, &dev) == LAPSE_OK, "%s", lapse_errmsg());
}

static void teardown(void)
{
    lapse_dev_destroy(dev);
    lapse_cl_close(cl);
    dev = NULL;
    cl = NULL;
}

static size_t vox(const int64_t d[3])
{
    return (size_t)(d[0] * d[1] * d[2]);
}

/* A device buffer of `bytes` bytes filled with 0xA5 (or holding host when non-NULL). */
static cl_mem buffer(size_t bytes, const void *host)
{
    cl_int e;
    const cl_uchar poison = 0xA5;
    cl_mem m = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                              bytes > 0 ? bytes : 1, (void *)host, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    if (!host && bytes > 0) {
        e = clEnqueueFillBuffer(cl->queue, m, &poison, 1, 0, bytes, 0, NULL, NULL);
        ck_assert_int_eq(e, CL_SUCCESS);
    }
    return m;
}

/* The placement of a core: the buffer around it and where it lies in the timepoint. */
typedef struct {
    int64_t in_dim[3];
    lapse_box_t core;
    int64_t img_off[3], img_dim[3];
} place_t;

/* A core filling its buffer, at the origin of a timepoint of the same dims. */
static place_t whole(int64_t z, int64_t y, int64_t x)
{
    place_t p = {{z, y, x}, {{0, 0, 0}, {z, y, x}}, {0, 0, 0}, {z, y, x}};
    return p;
}

/* Device labelling of host volume in: out receives the ids (core voxels), *roots / *nroots the
 * roots. The input buffer must come back unchanged. */
static void device_ccl(const float *in, const place_t *p, int conn, uint64_t *out, uint64_t **roots,
                       int64_t *nroots)
{
    size_t nin = vox(p->in_dim), n = vox(p->core.dim);
    cl_mem min = buffer(nin * sizeof(float), in);
    cl_mem mout = buffer(n * sizeof(cl_ulong), NULL), mwork = buffer(n * sizeof(cl_uint), NULL);
    float *back = malloc(nin * sizeof *back + 1);
    ck_assert_ptr_nonnull(back);
    lapse_status_t st = lapse_ccl_local(dev, min, p->in_dim, &p->core, p->img_off, p->img_dim, conn,
                                        mout, mwork, roots, nroots);
    ck_assert_msg(st == LAPSE_OK, "%s", lapse_errmsg());
    if (n > 0)
        ck_assert_int_eq(
            clEnqueueReadBuffer(cl->queue, mout, CL_TRUE, 0, n * sizeof *out, out, 0, NULL, NULL),
            CL_SUCCESS);
    ck_assert_int_eq(
        clEnqueueReadBuffer(cl->queue, min, CL_TRUE, 0, nin * sizeof *back, back, 0, NULL, NULL),
        CL_SUCCESS);
    ck_assert_msg(memcmp(back, in, nin * sizeof *in) == 0, "lapse_ccl_local wrote its input");
    free(back);
    clReleaseMemObject(min);
    clReleaseMemObject(mout);
    clReleaseMemObject(mwork);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The sorted distinct non-zero values of v (n); returns their count, into list (n entries). */
static int64_t distinct_ids(const uint64_t *v, size_t n, uint64_t *list)
{
    size_t m = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] != 0)
            list[m++] = v[i];
    qsort(list, m, sizeof *list, cmp_u64);
    for (size_t i = 0; i < m; i++)
        if (k == 0 || list[i] != list[k - 1])
            list[k++] = list[i];
    return (int64_t)k;
}

/* Device against reference for one volume: ids bit for bit, the roots the distinct ids, and a
 * second device run the same bits. Returns the number of components. */
static int64_t check_case(const char *what, const float *in, const place_t *p, int conn)
{
    size_t n = vox(p->core.dim);
    uint64_t *ref = malloc(n * sizeof *ref + 8), *dv = malloc(n * sizeof *dv + 8),
             *want = malloc(n * sizeof *want + 8);
    uint64_t *roots = NULL, *roots2 = NULL;
    int64_t nroots = -1, nroots2 = -1;
    ck_assert(ref && dv && want);
    lapse_ccl_local_ref(in, p->in_dim, &p->core, p->img_off, p->img_dim, conn, ref);
    device_ccl(in, p, conn, dv, &roots, &nroots);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(dv[i] == ref[i],
                      "%s (conn %d): voxel %zu: device id %llu, reference %llu (seed %llu)", what,
                      conn, i, (unsigned long long)dv[i], (unsigned long long)ref[i],
                      (unsigned long long)seed_base);
    int64_t nwant = distinct_ids(ref, n, want);
    ck_assert_msg(nroots == nwant, "%s (conn %d): %lld roots, %lld components", what, conn,
                  (long long)nroots, (long long)nwant);
    ck_assert(nroots == 0 ? roots == NULL : roots != NULL);
    for (int64_t r = 0; r < nroots; r++)
        ck_assert_msg(roots[r] == want[r], "%s (conn %d): root %lld is %llu, want %llu", what, conn,
                      (long long)r, (unsigned long long)roots[r], (unsigned long long)want[r]);
    device_ccl(in, p, conn, dv, &roots2, &nroots2);
    ck_assert_msg(memcmp(dv, ref, n * sizeof *dv) == 0, "%s: second run differs", what);
    ck_assert_int_eq(nroots2, nroots);
    if (nroots > 0)
        ck_assert(memcmp(roots2, roots, (size_t)nroots * sizeof *roots) == 0);
    free(roots);
    free(roots2);
    free(ref);
    free(dv);
    free(want);
    return nwant;
}

/* ---------------------------------------------------------------- volumes */

/* Each voxel foreground with probability density: a random non-zero value (NaN now and then),
 * else 0 or -0. */
static void random_voxels(float *v, size_t n, double density, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        double u = tu_uniform(&seed, 0.0, 1.0), w = tu_uniform(&seed, 0.0, 1.0);
        if (u < density)
            v[i] = w < 0.02 ? NAN : (float)(w < 0.5 ? -1.0 - 99.0 * w : 0.5 + w);
        else
            v[i] = w < 0.5 ? 0.0f : -0.0f;
    }
}

/* count random balls of radius 1..rmax (dims d), value 1 inside, 0 outside. */
static void random_blobs(float *v, const int64_t d[3], int count, int rmax, uint64_t seed)
{
    memset(v, 0, vox(d) * sizeof *v);
    for (int b = 0; b < count; b++) {
        double c[3], r = tu_uniform(&seed, 1.0, rmax + 1.0);
        for (int a = 0; a < 3; a++)
            c[a] = tu_uniform(&seed, -2.0, (double)d[a] + 2.0);
        for (int64_t z = 0; z < d[0]; z++)
            for (int64_t y = 0; y < d[1]; y++)
                for (int64_t x = 0; x < d[2]; x++) {
                    double dz = z - c[0], dy = y - c[1], dx = x - c[2];
                    if (dz * dz + dy * dy + dx * dx <= r * r)
                        v[(z * d[1] + y) * d[2] + x] = 1.0f;
                }
    }
}

/* A square spiral of width 1 with gaps of 1 in every plane (the same in each z): a turtle walks
 * from (0, 0) to the right, turns right when the next cell is outside, taken, or followed by a
 * taken cell, and stops when it cannot move after a turn. invert: the corridor instead. */
static void spiral(float *v, const int64_t d[3], int invert)
{
    const int64_t ny = d[1], nx = d[2];
    unsigned char *m = calloc((size_t)(ny * nx), 1);
    ck_assert_ptr_nonnull(m);
    int64_t y = 0, x = 0;
    const int dy[4] = {0, 1, 0, -1}, dx[4] = {1, 0, -1, 0};
    int dir = 0;
    m[0] = 1;
    for (;;) {
        int moved = 0;
        for (int turn = 0; turn < 2 && !moved; turn++) {
            int64_t y1 = y + dy[dir], x1 = x + dx[dir], y2 = y1 + dy[dir], x2 = x1 + dx[dir];
            int in1 = y1 >= 0 && y1 < ny && x1 >= 0 && x1 < nx;
            int in2 = y2 >= 0 && y2 < ny && x2 >= 0 && x2 < nx;
            if (in1 && !m[y1 * nx + x1] && (!in2 || !m[y2 * nx + x2])) {
                y = y1;
                x = x1;
                m[y * nx + x] = 1;
                moved = 1;
            } else if (turn == 0) {
                dir = (dir + 1) % 4;
            }
        }
        if (!moved)
            break;
    }
    for (int64_t z = 0; z < d[0]; z++)
        for (int64_t i = 0; i < ny * nx; i++)
            v[z * ny * nx + i] = (float)(m[i] != invert);
    free(m);
}

/* A snake through the whole volume: in even planes the even rows are full and each odd row has
 * one voxel joining its neighbours at alternate ends (a comb closed into a path), the row order
 * flipped every other such plane; each odd plane has one voxel joining the path's end to the
 * next plane's start. */
static void snake(float *v, const int64_t d[3])
{
    const int64_t nz = d[0], ny = d[1], nx = d[2];
    const int64_t ye = (ny - 1) / 2 * 2, xe = (ye / 2) % 2 == 0 ? nx - 1 : 0;
    memset(v, 0, vox(d) * sizeof *v);
    for (int64_t z = 0; z < nz; z++) {
        float *p = v + z * ny * nx;
        if (z % 2 == 1) {
            p[((z / 2) % 2 == 0 ? ye : 0) * nx + xe] = 1.0f;
            continue;
        }
        for (int64_t r = 0; r <= ye; r++) {
            int64_t y = (z / 2) % 2 == 0 ? r : ye - r; /* row r of the unflipped comb */
            if (r % 2 == 0) {
                for (int64_t x = 0; x < nx; x++)
                    p[y * nx + x] = 1.0f;
            } else {
                p[y * nx + ((r / 2) % 2 == 0 ? nx - 1 : 0)] = 1.0f;
            }
        }
    }
}

/* ---------------------------------------------------------------- flood fill */

/* Independent labelling: scan in raster order; every foreground voxel not yet reached starts a
 * breadth-first fill over the full neighbourhood (26 or 6, within the core), and all voxels it
 * reaches get the starting voxel's timepoint id. */
static void flood_fill(const float *in, const place_t *p, int conn, uint64_t *out)
{
    const int64_t cz = p->core.dim[0], cy = p->core.dim[1], cx = p->core.dim[2];
    size_t n = vox(p->core.dim);
    int64_t *queue = malloc(n * sizeof *queue + 8);
    ck_assert_ptr_nonnull(queue);
    memset(out, 0, n * sizeof *out);
#define FG(z, y, x)                                                                                \
    (in[((p->core.off[0] + (z)) * p->in_dim[1] + p->core.off[1] + (y)) * p->in_dim[2] +            \
        p->core.off[2] + (x)] != 0.0f)
    for (int64_t z = 0; z < cz; z++)
        for (int64_t y = 0; y < cy; y++)
            for (int64_t x = 0; x < cx; x++) {
                int64_t s = (z * cy + y) * cx + x;
                if (!FG(z, y, x) || out[s] != 0)
                    continue;
                uint64_t id =
                    1 + (uint64_t)(((p->img_off[0] + z) * p->img_dim[1] + p->img_off[1] + y) *
                                       p->img_dim[2] +
                                   p->img_off[2] + x);
                size_t head = 0, tail = 0;
                out[s] = id;
                queue[tail++] = s;
                while (head < tail) {
                    int64_t q = queue[head++];
                    int64_t qx = q % cx, qy = (q / cx) % cy, qz = q / (cx * cy);
                    for (int a = -1; a <= 1; a++)
                        for (int b = -1; b <= 1; b++)
                            for (int c = -1; c <= 1; c++) {
                                int k = abs(a) + abs(b) + abs(c);
                                if (k == 0 || (conn == LAPSE_CCL_DIAMOND && k != 1))
                                    continue;
                                int64_t nz = qz + a, ny = qy + b, nx = qx + c;
                                if (nz < 0 || ny < 0 || nx < 0 || nz >= cz || ny >= cy ||
                                    nx >= cx || !FG(nz, ny, nx))
                                    continue;
                                int64_t t = (nz * cy + ny) * cx + nx;
                                if (out[t] == 0) {
                                    out[t] = id;
                                    queue[tail++] = t;
                                }
                            }
                }
            }
#undef FG
    free(queue);
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_random_voxels)
{
    const double dens[] = {0.05, 0.1, 0.2, 0.31, 0.5, 0.9};
    place_t p = whole(29, 33, 37);
    float *v = malloc(vox(p.in_dim) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (int k = 0; k < 6; k++) {
        random_voxels(v, vox(p.in_dim), dens[k], fresh_seed(k));
        for (int conn = 0; conn < 2; conn++) {
            char what[64];
            snprintf(what, sizeof what, "random voxels, density %.2f", dens[k]);
            int64_t nc = check_case(what, v, &p, conn);
            ck_assert_int_gt(nc, 0);
        }
    }
    free(v);
}
END_TEST

START_TEST(test_random_voxels_large)
{
    /* Near the percolation thresholds (26: ~0.1, 6: ~0.31): big components with long chains. */
    place_t p = whole(48, 64, 70);
    float *v = malloc(vox(p.in_dim) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    random_voxels(v, vox(p.in_dim), 0.12, fresh_seed(11));
    check_case("large random voxels 0.12", v, &p, LAPSE_CCL_BOX);
    random_voxels(v, vox(p.in_dim), 0.33, fresh_seed(12));
    check_case("large random voxels 0.33", v, &p, LAPSE_CCL_DIAMOND);
    free(v);
}
END_TEST

START_TEST(test_blobs)
{
    place_t p = whole(31, 40, 45);
    float *v = malloc(vox(p.in_dim) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    const int counts[] = {3, 20, 80};
    for (int k = 0; k < 3; k++) {
        random_blobs(v, p.in_dim, counts[k], 5, fresh_seed(20 + k));
        for (int conn = 0; conn < 2; conn++)
            check_case("blobs", v, &p, conn);
    }
    free(v);
}
END_TEST

START_TEST(test_spiral)
{
    place_t p = whole(3, 61, 67), q = whole(1, 80, 77);
    float *v = malloc(vox(p.in_dim) * sizeof *v), *w = malloc(vox(q.in_dim) * sizeof *w);
    ck_assert(v && w);
    for (int inv = 0; inv < 2; inv++) {
        spiral(v, p.in_dim, inv);
        spiral(w, q.in_dim, inv);
        for (int conn = 0; conn < 2; conn++) {
            int64_t a = check_case("spiral", v, &p, conn);
            int64_t b = check_case("plane spiral", w, &q, conn);
            /* The walk is one path, its corridor one region. */
            ck_assert_int_eq(a, 1);
            ck_assert_int_eq(b, 1);
        }
    }
    free(v);
    free(w);
}
END_TEST

START_TEST(test_snake)
{
    const int64_t dims[][3] = {{9, 21, 33}, {8, 20, 31}, {17, 3, 50}};
    for (int k = 0; k < 3; k++) {
        place_t p = whole(dims[k][0], dims[k][1], dims[k][2]);
        float *v = malloc(vox(p.in_dim) * sizeof *v);
        ck_assert_ptr_nonnull(v);
        snake(v, p.in_dim);
        for (int conn = 0; conn < 2; conn++) {
            uint64_t *ff = malloc(vox(p.core.dim) * sizeof *ff);
            ck_assert_ptr_nonnull(ff);
            ck_assert_int_eq(check_case("snake", v, &p, conn), 1);
            flood_fill(v, &p, conn, ff);
            for (size_t i = 0; i < vox(p.core.dim); i++)
                ck_assert(ff[i] == (v[i] != 0.0f ? 1u : 0u));
            free(ff);
        }
        free(v);
    }
}
END_TEST

START_TEST(test_checkerboard)
{
    place_t p = whole(13, 17, 19), q = whole(1, 30, 41);
    float *v = malloc(vox(p.in_dim) * sizeof *v), *w = malloc(vox(q.in_dim) * sizeof *w);
    ck_assert(v && w);
    for (size_t i = 0; i < vox(p.in_dim); i++) {
        size_t x = i % 19, y = i / 19 % 17, z = i / (19 * 17);
        v[i] = (float)((x + y + z) % 2 == 0);
    }
    for (size_t i = 0; i < vox(q.in_dim); i++)
        w[i] = (float)((i % 41 + i / 41) % 2 == 0);
    /* Diamond: every voxel alone; box: all joined through corners (edges in 2-D). */
    ck_assert_int_eq(check_case("checkerboard", v, &p, LAPSE_CCL_DIAMOND),
                     (int64_t)(vox(p.in_dim) + 1) / 2);
    ck_assert_int_eq(check_case("checkerboard", v, &p, LAPSE_CCL_BOX), 1);
    ck_assert_int_eq(check_case("plane checkerboard", w, &q, LAPSE_CCL_DIAMOND),
                     (int64_t)(vox(q.in_dim) + 1) / 2);
    ck_assert_int_eq(check_case("plane checkerboard", w, &q, LAPSE_CCL_BOX), 1);
    free(v);
    free(w);
}
END_TEST

START_TEST(test_empty_and_full)
{
    place_t p = whole(7, 11, 13);
    size_t n = vox(p.in_dim);
    float *v = calloc(n, sizeof *v);
    uint64_t *out = malloc(n * sizeof *out), *roots = NULL;
    int64_t nroots = -1;
    ck_assert(v && out);
    for (int conn = 0; conn < 2; conn++) {
        memset(v, 0, n * sizeof *v);
        ck_assert_int_eq(check_case("empty", v, &p, conn), 0);
        device_ccl(v, &p, conn, out, &roots, &nroots);
        ck_assert_int_eq(nroots, 0);
        ck_assert_ptr_null(roots);
        for (size_t i = 0; i < n; i++)
            ck_assert(out[i] == 0);
        for (size_t i = 0; i < n; i++)
            v[i] = 3.0f;
        /* Full, placed in a timepoint: one component named by the core's first voxel. */
        place_t q = p;
        const int64_t off[3] = {2, 5, 9}, idim[3] = {20, 30, 40};
        memcpy(q.img_off, off, sizeof off);
        memcpy(q.img_dim, idim, sizeof idim);
        ck_assert_int_eq(check_case("full", v, &q, conn), 1);
        device_ccl(v, &q, conn, out, &roots, &nroots);
        uint64_t first = 1 + (uint64_t)((off[0] * idim[1] + off[1]) * idim[2] + off[2]);
        ck_assert_int_eq(nroots, 1);
        ck_assert_uint_eq(roots[0], first);
        for (size_t i = 0; i < n; i++)
            ck_assert_uint_eq(out[i], first);
        free(roots);
        roots = NULL;
    }
    free(v);
    free(out);
}
END_TEST

START_TEST(test_plane)
{
    /* z extent 1: box is 8 neighbours, diamond 4; flood fill in the plane agrees. */
    place_t p = whole(1, 97, 83);
    size_t n = vox(p.in_dim);
    float *v = malloc(n * sizeof *v);
    uint64_t *ref = malloc(n * sizeof *ref), *ff = malloc(n * sizeof *ff);
    ck_assert(v && ref && ff);
    const double dens[] = {0.3, 0.45, 0.6};
    for (int k = 0; k < 3; k++) {
        random_voxels(v, n, dens[k], fresh_seed(30 + k));
        int64_t nc[2];
        for (int conn = 0; conn < 2; conn++) {
            nc[conn] = check_case("plane", v, &p, conn);
            lapse_ccl_local_ref(v, p.in_dim, &p.core, p.img_off, p.img_dim, conn, ref);
            flood_fill(v, &p, conn, ff);
            ck_assert(memcmp(ref, ff, n * sizeof *ref) == 0);
        }
        /* More neighbours never make more components. */
        ck_assert_int_le(nc[LAPSE_CCL_BOX], nc[LAPSE_CCL_DIAMOND]);
    }
    free(v);
    free(ref);
    free(ff);
}
END_TEST

START_TEST(test_halo_ignored)
{
    /* A core strictly inside a larger buffer whose halo is foreground everywhere (it would join
     * every component if it were looked at), placed away from the timepoint's origin. */
    place_t p = {{20, 31, 40}, {{3, 4, 5}, {12, 20, 27}}, {7, 100, 3}, {40, 200, 64}};
    place_t c = {{12, 20, 27}, {{0, 0, 0}, {12, 20, 27}}, {7, 100, 3}, {40, 200, 64}};
    size_t nin = vox(p.in_dim), n = vox(p.core.dim);
    float *v = malloc(nin * sizeof *v), *core = malloc(n * sizeof *core);
    uint64_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *ff = malloc(n * sizeof *ff);
    ck_assert(v && core && a && b && ff);
    for (int k = 0; k < 2; k++) {
        random_voxels(v, nin, k == 0 ? 0.25 : 0.5, fresh_seed(40 + k));
        for (int64_t z = 0; z < p.in_dim[0]; z++)
            for (int64_t y = 0; y < p.in_dim[1]; y++)
                for (int64_t x = 0; x < p.in_dim[2]; x++) {
                    int64_t i = (z * p.in_dim[1] + y) * p.in_dim[2] + x;
                    int inside = z >= 3 && z < 15 && y >= 4 && y < 24 && x >= 5 && x < 32;
                    if (inside)
                        core[((z - 3) * 20 + y - 4) * 27 + x - 5] = v[i];
                    else
                        v[i] = 7.0f;
                }
        for (int conn = 0; conn < 2; conn++) {
            check_case("core in a halo", v, &p, conn);
            /* The same ids as the core cut out on its own, and as the flood fill. */
            lapse_ccl_local_ref(v, p.in_dim, &p.core, p.img_off, p.img_dim, conn, a);
            lapse_ccl_local_ref(core, c.in_dim, &c.core, c.img_off, c.img_dim, conn, b);
            flood_fill(v, &p, conn, ff);
            ck_assert(memcmp(a, b, n * sizeof *a) == 0);
            ck_assert(memcmp(a, ff, n * sizeof *a) == 0);
        }
    }
    free(v);
    free(core);
    free(a);
    free(b);
    free(ff);
}
END_TEST

START_TEST(test_ids_beyond_32_bits)
{
    /* A core at the far corner of a timepoint of 6e10 voxels: ids above 2^32. */
    place_t p = {{5, 9, 11}, {{0, 0, 0}, {5, 9, 11}}, {2995, 3991, 4989}, {3000, 4000, 5000}};
    size_t n = vox(p.core.dim);
    float *v = malloc(n * sizeof *v);
    uint64_t *ref = malloc(n * sizeof *ref), *ff = malloc(n * sizeof *ff);
    ck_assert(v && ref && ff);
    random_voxels(v, n, 0.4, fresh_seed(45));
    v[0] = 1.0f;
    for (int conn = 0; conn < 2; conn++) {
        check_case("ids beyond 32 bits", v, &p, conn);
        lapse_ccl_local_ref(v, p.in_dim, &p.core, p.img_off, p.img_dim, conn, ref);
        flood_fill(v, &p, conn, ff);
        ck_assert(memcmp(ref, ff, n * sizeof *ref) == 0);
        ck_assert_uint_eq(ref[0], 1 + (2995ull * 4000 + 3991) * 5000 + 4989);
    }
    free(v);
    free(ref);
    free(ff);
}
END_TEST

/* The reference against the flood fill on many small volumes, cores and placements. */
START_TEST(test_reference_vs_flood_fill)
{
    uint64_t s = fresh_seed(50);
    for (int k = 0; k < 300; k++) {
        place_t p;
        for (int a = 0; a < 3; a++) {
            p.core.dim[a] = a == 0 && k % 4 == 0 ? 1 : 1 + (int64_t)(tu_rand(&s) % 9);
            p.core.off[a] = (int64_t)(tu_rand(&s) % 3);
            p.in_dim[a] = p.core.off[a] + p.core.dim[a] + (int64_t)(tu_rand(&s) % 3);
            p.img_off[a] = (int64_t)(tu_rand(&s) % 50);
            p.img_dim[a] = p.img_off[a] + p.core.dim[a] + (int64_t)(tu_rand(&s) % 70);
        }
        size_t nin = vox(p.in_dim), n = vox(p.core.dim);
        float *v = malloc(nin * sizeof *v);
        uint64_t *ref = malloc(n * sizeof *ref), *ff = malloc(n * sizeof *ff);
        ck_assert(v && ref && ff);
        random_voxels(v, nin, tu_uniform(&s, 0.1, 0.9), tu_rand(&s));
        for (int conn = 0; conn < 2; conn++) {
            lapse_ccl_local_ref(v, p.in_dim, &p.core, p.img_off, p.img_dim, conn, ref);
            flood_fill(v, &p, conn, ff);
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(ref[i] == ff[i], "case %d conn %d voxel %zu: ref %llu, fill %llu", k,
                              conn, i, (unsigned long long)ref[i], (unsigned long long)ff[i]);
            if (k % 10 == 0)
                check_case("small", v, &p, conn);
        }
        free(v);
        free(ref);
        free(ff);
    }
}
END_TEST

START_TEST(test_errors)
{
    place_t p = whole(4, 5, 6);
    cl_mem b = buffer(1024, NULL);
    uint64_t *roots = (uint64_t *)&p; /* must stay untouched */
    int64_t nroots = -7;
    lapse_err_clear();
    ck_assert_int_eq(
        lapse_ccl_local(dev, b, p.in_dim, &p.core, p.img_off, p.img_dim, 2, b, b, &roots, &nroots),
        LAPSE_EUSAGE);
    lapse_err_clear();
    p.core.off[1] = 1;
    ck_assert_int_eq(
        lapse_ccl_local(dev, b, p.in_dim, &p.core, p.img_off, p.img_dim, 0, b, b, &roots, &nroots),
        LAPSE_EUSAGE);
    lapse_err_clear();
    p.core.off[1] = 0;
    p.img_off[2] = 1;
    ck_assert_int_eq(
        lapse_ccl_local(dev, b, p.in_dim, &p.core, p.img_off, p.img_dim, 0, b, b, &roots, &nroots),
        LAPSE_EUSAGE);
    lapse_err_clear();
    /* More than 2^32 - 1 core voxels: refused before any buffer is touched. */
    place_t big = whole(1025, 2048, 2048);
    ck_assert_int_eq(lapse_ccl_local(dev, b, big.in_dim, &big.core, big.img_off, big.img_dim, 0, b,
                                     b, &roots, &nroots),
                     LAPSE_ERUNTIME);
    ck_assert_msg(strstr(lapse_errmsg(), "smaller tiles") != NULL, "%s", lapse_errmsg());
    ck_assert_ptr_eq(roots, (uint64_t *)&p);
    ck_assert_int_eq(nroots, -7);
    lapse_err_clear();
    /* An empty core succeeds at once, whatever its other extents. */
    place_t zero = whole(0, 65536, 65535);
    ck_assert_int_eq(lapse_ccl_local(dev, b, zero.in_dim, &zero.core, zero.img_off, zero.img_dim, 0,
                                     b, b, &roots, &nroots),
                     LAPSE_OK);
    ck_assert_ptr_null(roots);
    ck_assert_int_eq(nroots, 0);
    clReleaseMemObject(b);
}
END_TEST

/* Host binary search: the index of id in keys, or -1. */
static int64_t bsearch_key(const uint64_t *keys, size_t nkeys, uint64_t id)
{
    size_t lo = 0, hi = nkeys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < nkeys && keys[lo] == id ? (int64_t)lo : -1;
}

/* Run the lookup on host arrays; returns its status, out receives the device result. */
static lapse_status_t device_lookup(const uint64_t *ids, size_t n, const uint64_t *keys,
                                    const uint32_t *labels, size_t nkeys, float *out)
{
    cl_mem mi = buffer(n * sizeof *ids, ids), mo = buffer(n * sizeof *out, NULL);
    cl_mem mk = nkeys ? buffer(nkeys * sizeof *keys, keys) : NULL;
    cl_mem ml = nkeys ? buffer(nkeys * sizeof *labels, labels) : NULL;
    lapse_err_clear();
    lapse_status_t st = lapse_ccl_lookup(dev, mi, n, mk, ml, nkeys, mo);
    if (n > 0)
        ck_assert_int_eq(
            clEnqueueReadBuffer(cl->queue, mo, CL_TRUE, 0, n * sizeof *out, out, 0, NULL, NULL),
            CL_SUCCESS);
    clReleaseMemObject(mi);
    clReleaseMemObject(mo);
    if (mk)
        clReleaseMemObject(mk);
    if (ml)
        clReleaseMemObject(ml);
    return st;
}

START_TEST(test_lookup)
{
    uint64_t s = fresh_seed(60);
    size_t nkeys = 5000, n = 100003;
    uint64_t *keys = malloc(nkeys * sizeof *keys), *ids = malloc(n * sizeof *ids);
    uint32_t *labels = malloc(nkeys * sizeof *labels);
    float *out = malloc(n * sizeof *out);
    ck_assert(keys && ids && labels && out);
    /* Distinct non-zero 64-bit keys (many above 2^32), sorted. */
    for (size_t j = 0; j < nkeys; j++)
        keys[j] = 1 + (tu_rand(&s) >> (j % 2 ? 1 : 33));
    qsort(keys, nkeys, sizeof *keys, cmp_u64);
    size_t m = 0;
    for (size_t j = 0; j < nkeys; j++)
        if (m == 0 || keys[j] != keys[m - 1])
            keys[m++] = keys[j];
    nkeys = m;
    /* Labels: mostly exact in float32, some large ones rounded to nearest. */
    for (size_t j = 0; j < nkeys; j++)
        labels[j] = j % 50 == 0 ? (uint32_t)tu_rand(&s) : 1 + (uint32_t)(tu_rand(&s) % (1u << 24));
    for (size_t i = 0; i < n; i++)
        ids[i] = tu_rand(&s) % 5 == 0 ? 0 : keys[tu_rand(&s) % nkeys];
    ck_assert_msg(device_lookup(ids, n, keys, labels, nkeys, out) == LAPSE_OK, "%s",
                  lapse_errmsg());
    for (size_t i = 0; i < n; i++) {
        int64_t j = ids[i] ? bsearch_key(keys, nkeys, ids[i]) : -1;
        float want = ids[i] ? (float)labels[j] : 0.0f;
        ck_assert_msg(ids[i] == 0 || j >= 0, "test ids come from the keys");
        ck_assert_msg(memcmp(&out[i], &want, sizeof want) == 0, "voxel %zu: %.9g, want %.9g", i,
                      out[i], want);
    }
    /* Ids missing from the keys: 0 there, the rest as before, and an internal error. */
    size_t bad[3] = {7, 5000, n - 1};
    for (int b = 0; b < 3; b++) {
        ids[bad[b]] = keys[nkeys / 2] + 1;
        ck_assert_int_lt(bsearch_key(keys, nkeys, ids[bad[b]]), 0);
    }
    ids[bad[0]] = keys[nkeys - 1] + 5; /* past the last key */
    ck_assert_int_eq(device_lookup(ids, n, keys, labels, nkeys, out), LAPSE_ERUNTIME);
    ck_assert_msg(strstr(lapse_errmsg(), "internal error") != NULL, "%s", lapse_errmsg());
    for (size_t i = 0; i < n; i++) {
        int64_t j = ids[i] ? bsearch_key(keys, nkeys, ids[i]) : -1;
        float want = j >= 0 ? (float)labels[j] : 0.0f;
        ck_assert_msg(memcmp(&out[i], &want, sizeof want) == 0, "voxel %zu: %.9g, want %.9g", i,
                      out[i], want);
    }
    /* No keys: all-background ids pass, any other id fails; n = 0 does nothing. */
    memset(ids, 0, n * sizeof *ids);
    ck_assert_int_eq(device_lookup(ids, 1000, keys, labels, 0, out), LAPSE_OK);
    for (size_t i = 0; i < 1000; i++)
        ck_assert(out[i] == 0.0f);
    ids[500] = 42;
    ck_assert_int_eq(device_lookup(ids, 1000, keys, labels, 0, out), LAPSE_ERUNTIME);
    ck_assert_int_eq(device_lookup(ids, 0, keys, labels, nkeys, out), LAPSE_OK);
    free(keys);
    free(ids);
    free(labels);
    free(out);
}
END_TEST

static Suite *ccl_suite(void)
{
    Suite *s = suite_create("ccl");
    TCase *tc = tcase_create("device");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_random_voxels);
    tcase_add_test(tc, test_random_voxels_large);
    tcase_add_test(tc, test_blobs);
    tcase_add_test(tc, test_spiral);
    tcase_add_test(tc, test_snake);
    tcase_add_test(tc, test_checkerboard);
    tcase_add_test(tc, test_empty_and_full);
    tcase_add_test(tc, test_plane);
    tcase_add_test(tc, test_halo_ignored);
    tcase_add_test(tc, test_ids_beyond_32_bits);
    tcase_add_test(tc, test_reference_vs_flood_fill);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_lookup);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *env = getenv("LAPSE_TEST_SEED");
    seed_base = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    SRunner *sr = srunner_create(ccl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "test_ccl: LAPSE_TEST_SEED=%llu repeats this run\n",
                (unsigned long long)seed_base);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
