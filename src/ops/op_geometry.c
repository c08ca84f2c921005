/*
 * op_geometry.c - the geometric family (footprint LAPSE_FP_TRANSFORM): flip and crop (exact
 * copies through an index map), downsample_bin (block means), and rotate, affine_transform and
 * resample (one affine sampler, linear or nearest). Each maps boxes with an in_box rule (the
 * input box an output box reads) and, where the shape changes, an out_dims rule; the graph and
 * the planner give every task the input box its output box needs (src/ops/graph.c).
 *
 * Numerics of the sampler (kernels/geometry.cl): the input position of an output voxel is
 * computed from its global index in float32 as s = fma(m0, z, fma(m1, y, fma(m2, x, m3))) per
 * axis, with the matrix rounded to float32 from its double value, so a voxel's position is the
 * same in every tiling and the CPU reference (fmaf) computes the same bits; values are then
 * interpolated in float32 on the device and in double in the reference. Against SciPy (double
 * positions) linear results differ by about 1e-7 * the position's magnitude times the local
 * gradient, and nearest results can differ where a position lies within that of a voxel
 * boundary (half-way between voxels, or the image edge).
 * Kernels: geometry.cl.
 */
#include "ops/family.h"

static const char *const interp_words[] = {"linear", "nearest", NULL};

#define GEOM_PI 3.14159265358979323846

/* lapse_geom_index_t (geometry.cl, the tiled variant): outputs per work-item (GEOM_X_K) along x,
 * GEOM_X_W apart; must equal LAPSE_GX_K, LAPSE_GX_W there. */
#define GEOM_X_W 32
#define GEOM_X_K 8
#define GEOM_A_K 4 /* lapse_geom_affine_t: outputs per work-item (LAPSE_GA_K) */
#define GEOM_B_X 8 /* lapse_geom_affine_b: local size (LAPSE_GB_X, LAPSE_GB_H) */
#define GEOM_B_H 16

/* The dims of the whole image a volume is a box of (v->img, or v->dim when img is unset). */
static void vol_img(const lapse_dvol_t *v, int64_t img[3])
{
    int whole = v->img[0] == 0 && v->img[1] == 0 && v->img[2] == 0;
    for (int a = 0; a < 3; a++)
        img[a] = whole ? v->dim[a] : v->img[a];
}

/* (z, y, x) as an int4 (x, y, z, 0). */
static cl_int4 int4_of(const int64_t v[3])
{
    cl_int4 r;
    r.s[0] = (cl_int)v[2];
    r.s[1] = (cl_int)v[1];
    r.s[2] = (cl_int)v[0];
    r.s[3] = 0;
    return r;
}

/* Origin of a volume: org, or 0 for a whole image (img unset). */
static cl_int4 org_of(const lapse_dvol_t *v)
{
    static const int64_t zero[3] = {0, 0, 0};
    int whole = v->img[0] == 0 && v->img[1] == 0 && v->img[2] == 0;
    return int4_of(whole ? zero : v->org);
}

/* A box clipped to [0, n) per axis, at least one voxel (the nearest one when it lies outside:
 * a geometric step reads something even where its output samples nothing of the input). */
static void clip_box(int64_t lo[3], int64_t hi[3], const int64_t n[3], lapse_box_t *in)
{
    for (int a = 0; a < 3; a++) {
        int64_t l = lo[a] < 0 ? 0 : lo[a] > n[a] - 1 ? n[a] - 1 : lo[a];
        int64_t h = hi[a] > n[a] ? n[a] : hi[a] < l + 1 ? l + 1 : hi[a];
        in->off[a] = l;
        in->dim[a] = h - l;
    }
}

/* ---------------------------------------------------------------- index maps: flip, crop */

/* Input index of output index g on axis a: sgn[a] * g + off[a]. */
typedef struct {
    int64_t sgn[3], off[3];
} index_map_t;

static void flip_map(const lapse_step_t *s, const int64_t n[3], index_map_t *m)
{
    for (int a = 0; a < 3; a++) {
        int f = s->p[0].v[a] != 0.0;
        m->sgn[a] = f ? -1 : 1;
        m->off[a] = f ? n[a] - 1 : 0;
    }
}

static void crop_map(const lapse_step_t *s, const int64_t n[3], index_map_t *m)
{
    (void)n;
    for (int a = 0; a < 3; a++) {
        m->sgn[a] = 1;
        m->off[a] = (int64_t)s->p[0].v[a];
    }
}

/* The input box of output box out under an index map. */
static void index_in_box(const index_map_t *m, const lapse_box_t *out, const int64_t n[3],
                         lapse_box_t *in)
{
    int64_t lo[3], hi[3];
    for (int a = 0; a < 3; a++) {
        int64_t p = m->sgn[a] * out->off[a] + m->off[a];
        int64_t q = m->sgn[a] * (out->off[a] + out->dim[a] - 1) + m->off[a];
        lo[a] = p < q ? p : q;
        hi[a] = (p > q ? p : q) + 1;
    }
    clip_box(lo, hi, n, in);
}

static lapse_status_t index_launch(lapse_dev_t *d, const index_map_t *m, const lapse_dvol_t *in,
                                   const lapse_dvol_t *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_int4 sdim = int4_of(in[0].dim), sorg = org_of(&in[0]), ddim = int4_of(out->dim),
            dorg = org_of(out), sgn = int4_of(m->sgn), off = int4_of(m->off);
    LAPSE_TRY(lapse_dev_kernel(d, "geometry.cl",
                               d->simple ? "lapse_geom_index" : "lapse_geom_index_t", &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, out->mem);
    LAPSE_ARG(k, 2, sdim);
    LAPSE_ARG(k, 3, sorg);
    LAPSE_ARG(k, 4, ddim);
    LAPSE_ARG(k, 5, dorg);
    LAPSE_ARG(k, 6, sgn);
    LAPSE_ARG(k, 7, off);
    size_t nx = (size_t)out->dim[2];
    if (!d->simple) /* GEOM_X_W work-items per GEOM_X_W * GEOM_X_K outputs of a row */
        nx = (nx + GEOM_X_W * GEOM_X_K - 1) / (GEOM_X_W * GEOM_X_K) * GEOM_X_W;
    LAPSE_TRY(lapse_dev_launch_3d(d, k, nx, (size_t)out->dim[1], (size_t)out->dim[0]));
cleanup:
    return st;
}

static void index_ref(const index_map_t *m, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    const int64_t *n = in[0].dim, *o = out->dim;
    for (int64_t z = 0; z < o[0]; z++)
        for (int64_t y = 0; y < o[1]; y++)
            for (int64_t x = 0; x < o[2]; x++) {
                int64_t iz = m->sgn[0] * z + m->off[0], iy = m->sgn[1] * y + m->off[1],
                        ix = m->sgn[2] * x + m->off[2];
                out->v[(z * o[1] + y) * o[2] + x] = in[0].v[(iz * n[1] + iy) * n[2] + ix];
            }
}

#define INDEX_OP(fn, map)                                                                          \
    static void fn##_in_box(const lapse_step_t *s, const lapse_box_t *out, const int64_t n[3],     \
                            lapse_box_t *in)                                                       \
    {                                                                                              \
        index_map_t m;                                                                             \
        map(s, n, &m);                                                                             \
        index_in_box(&m, out, n, in);                                                              \
    }                                                                                              \
    static lapse_status_t fn##_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,          \
                                      const lapse_dvol_t *in, const lapse_dvol_t *out,             \
                                      const cl_mem *scratch, int *res)                             \
    {                                                                                              \
        index_map_t m;                                                                             \
        int64_t n[3];                                                                              \
        (void)state;                                                                               \
        (void)scratch;                                                                             \
        *res = 0;                                                                                  \
        vol_img(&in[0], n);                                                                        \
        map(s, n, &m);                                                                             \
        return index_launch(d, &m, in, out);                                                       \
    }                                                                                              \
    static void fn##_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)     \
    {                                                                                              \
        index_map_t m;                                                                             \
        map(s, in[0].dim, &m);                                                                     \
        index_ref(&m, in, out);                                                                    \
    }
INDEX_OP(flip, flip_map)
INDEX_OP(crop, crop_map)

/* The result's voxel 0 is the input's voxel start. */
static void crop_voxel(const lapse_step_t *s, const int64_t in[3], double vox[3], double org[3])
{
    (void)in;
    for (int a = 0; a < 3; a++)
        org[a] += s->p[0].v[a] * fabs(vox[a]);
}

/* NumPy slicing a[start : start + size] per axis: clipped to the image (0 when start is past
 * it: the graph refuses an empty result). */
static void crop_dims(const lapse_step_t *s, const int64_t in[3], int64_t out[3])
{
    for (int a = 0; a < 3; a++) {
        int64_t start = (int64_t)s->p[0].v[a], size = (int64_t)s->p[1].v[a];
        int64_t left = in[a] - start;
        out[a] = left <= 0 ? 0 : size < left ? size : left;
    }
}

const lapse_op_t lapse_op_flip = {
    .name = "flip",
    .help = "mirror the image along the chosen axes",
    .family = "geometry",
    .convention = "NumPy flip(a, axes) (exact copies); clesperanto flip",
    .version = 1,
    .ninputs = 1,
    .nparams = 1,
    .params = {LAPSE_P_BOOL3("axes", "the axes to mirror, e.g. {x: true} or [z, y, x] booleans")},
    .out_rule = LAPSE_OUT_SAME,
    .footprint = LAPSE_FP_TRANSFORM,
    .kernels = "geometry.cl",
    .reach_doc = "the mirrored box",
    .in_box = flip_in_box,
    .launch = flip_launch,
    .reference = flip_ref,
};

const lapse_op_t lapse_op_crop = {
    .name = "crop",
    .help = "the box [start, start + size) of the image (the output shape changes)",
    .family = "geometry",
    .convention = "NumPy slicing a[z0:z0+sz, y0:y0+sy, x0:x0+sx]: a box reaching past the image "
                  "is clipped to it, an empty one is a config error (exact copies); clesperanto "
                  "crop",
    .version = 1,
    .ninputs = 1,
    .nparams = 2,
    .params = {LAPSE_P_VEC3I_DEF("start", 0, 0, 1000000000, "first voxel of the box, [z, y, x]"),
               LAPSE_P_VEC3I("size", 1, 1000000000, "voxels of the box per axis, [z, y, x]")},
    .out_rule = LAPSE_OUT_SAME,
    .footprint = LAPSE_FP_TRANSFORM,
    .kernels = "geometry.cl",
    .reach_doc = "the box shifted by start",
    .in_box = crop_in_box,
    .out_dims = crop_dims,
    .voxel = crop_voxel,
    .launch = crop_launch,
    .reference = crop_ref,
};

/* ---------------------------------------------------------------- downsample_bin */

static void bin_dims(const lapse_step_t *s, const int64_t in[3], int64_t out[3])
{
    for (int a = 0; a < 3; a++) {
        int64_t f = (int64_t)s->p[0].v[a];
        out[a] = (in[a] + f - 1) / f;
    }
}

static void bin_in_box(const lapse_step_t *s, const lapse_box_t *out, const int64_t n[3],
                       lapse_box_t *in)
{
    int64_t lo[3], hi[3];
    for (int a = 0; a < 3; a++) {
        int64_t f = (int64_t)s->p[0].v[a];
        lo[a] = out->off[a] * f;
        hi[a] = (out->off[a] + out->dim[a]) * f;
    }
    clip_box(lo, hi, n, in);
}

static lapse_status_t bin_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                 const lapse_dvol_t *in, const lapse_dvol_t *out,
                                 const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    int64_t n[3], f[3];
    (void)state;
    (void)scratch;
    *res = 0;
    vol_img(&in[0], n);
    for (int a = 0; a < 3; a++)
        f[a] = (int64_t)s->p[0].v[a];
    cl_int4 sdim = int4_of(in[0].dim), sorg = org_of(&in[0]), simg = int4_of(n),
            ddim = int4_of(out->dim), dorg = org_of(out), fac = int4_of(f);
    LAPSE_TRY(lapse_dev_kernel(d, "geometry.cl", "lapse_geom_bin", &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, out->mem);
    LAPSE_ARG(k, 2, sdim);
    LAPSE_ARG(k, 3, sorg);
    LAPSE_ARG(k, 4, simg);
    LAPSE_ARG(k, 5, ddim);
    LAPSE_ARG(k, 6, dorg);
    LAPSE_ARG(k, 7, fac);
    LAPSE_TRY(
        lapse_dev_launch_3d(d, k, (size_t)out->dim[2], (size_t)out->dim[1], (size_t)out->dim[0]));
cleanup:
    return st;
}

static void bin_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    const int64_t *n = in[0].dim, *o = out->dim;
    int64_t f[3];
    for (int a = 0; a < 3; a++)
        f[a] = (int64_t)s->p[0].v[a];
    for (int64_t z = 0; z < o[0]; z++)
        for (int64_t y = 0; y < o[1]; y++)
            for (int64_t x = 0; x < o[2]; x++) {
                double sum = 0.0, cnt = 0.0;
                for (int64_t iz = z * f[0]; iz < (z + 1) * f[0] && iz < n[0]; iz++)
                    for (int64_t iy = y * f[1]; iy < (y + 1) * f[1] && iy < n[1]; iy++)
                        for (int64_t ix = x * f[2]; ix < (x + 1) * f[2] && ix < n[2]; ix++) {
                            sum += in[0].v[(iz * n[1] + iy) * n[2] + ix];
                            cnt += 1.0;
                        }
                out->v[(z * o[1] + y) * o[2] + x] = sum / cnt;
            }
}

/* A block of factor voxels is one voxel of the result. */
/* Output voxel o is the mean of input voxels o f .. o f + f - 1: its centre is (f - 1) / 2
 * input voxels from the block's first, and the output's voxels are f input voxels apart. An
 * axis of n <= f voxels has one block of n voxels: centred at (n - 1) / 2, n voxels thick. */
static void bin_voxel(const lapse_step_t *s, const int64_t in[3], double vox[3], double org[3])
{
    for (int a = 0; a < 3; a++) {
        const double f = s->p[0].v[a], w = (double)in[a] < f ? (double)in[a] : f;
        org[a] += 0.5 * (w - 1.0) * fabs(vox[a]);
        vox[a] *= w;
    }
}

const lapse_op_t lapse_op_downsample_bin = {
    .name = "downsample_bin",
    .help = "mean of each block of factor voxels (output ceil(n / factor) per axis, float32)",
    .family = "geometry",
    .convention = "block means as skimage.measure.block_reduce(a, factor, np.mean), except that "
                  "a partial last block averages only the voxels it has (block_reduce pads "
                  "with 0); float32 sum in z, y, x order divided by the voxel count",
    .version = 1,
    .ninputs = 1,
    .nparams = 1,
    .params = {LAPSE_P_VEC3I("factor", 1, 1024, "block size per axis, [z, y, x]")},
    .out_rule = LAPSE_OUT_F32,
    .footprint = LAPSE_FP_TRANSFORM,
    .kernels = "geometry.cl",
    .reach_doc = "the box times factor",
    .in_box = bin_in_box,
    .out_dims = bin_dims,
    .voxel = bin_voxel,
    .launch = bin_launch,
    .reference = bin_ref,
};

/* ---------------------------------------------------------------- the affine sampler */

/* Output index (z, y, x, 1) -> input position: rows z, y, x of m (float32); order 1 linear, 0
 * nearest; clamp 0: outside the image gives 0, 1: positions clamped to the image. */
typedef struct {
    float m[12];
    int order, clamp;
} sampler_t;

/* The input position of output index (z, y, x) on axis a, as the kernel computes it. */
static float sampler_pos(const sampler_t *A, int a, int64_t z, int64_t y, int64_t x)
{
    const float *r = &A->m[4 * a];
    return fmaf(r[0], (float)z, fmaf(r[1], (float)y, fmaf(r[2], (float)x, r[3])));
}

/* The input box the positions of output box out need: the box's corners mapped in double with
 * a margin far above float32's rounding of the positions, plus the upper linear neighbour. */
static void sampler_in_box(const sampler_t *A, const lapse_box_t *out, const int64_t n[3],
                           lapse_box_t *in)
{
    int64_t lo[3], hi[3];
    for (int a = 0; a < 3; a++) {
        const float *r = &A->m[4 * a];
        double mn = HUGE_VAL, mx = -HUGE_VAL, mag = 0.0;
        for (int c = 0; c < 8; c++) {
            double p[3], v = (double)r[3], s = fabs((double)r[3]);
            for (int b = 0; b < 3; b++) {
                p[b] = (double)(c >> (2 - b) & 1 ? out->off[b] + out->dim[b] - 1 : out->off[b]);
                v += (double)r[b] * p[b];
                s += fabs((double)r[b] * p[b]);
            }
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            mag = s > mag ? s : mag;
        }
        double tol = 1e-5 * mag + 1e-3, top = (double)(n[a] - 1);
        mn -= tol;
        mx += tol;
        if (A->clamp) {
            mn = mn < 0.0 ? 0.0 : mn > top ? top : mn;
            mx = mx < 0.0 ? 0.0 : mx > top ? top : mx;
        }
        mn = mn < -2.0 ? -2.0 : mn > top + 2.0 ? top + 2.0 : mn; /* no overflow below */
        mx = mx < -2.0 ? -2.0 : mx > top + 2.0 ? top + 2.0 : mx;
        lo[a] = (int64_t)floor(mn);
        hi[a] = (int64_t)floor(mx) + 2;
    }
    clip_box(lo, hi, n, in);
}

/* The kernels of the sampler (kernels/geometry.cl). */
typedef enum { SAMPLER_SIMPLE, SAMPLER_ROWS, SAMPLER_BLOCK } sampler_kind_t;

/* Which kernel runs A on in -> out, and its axis ax2 (SAMPLER_BLOCK); *k that kernel. The
 * tiled kernels take 32-bit offsets within a plane of the input box. lapse_geom_affine_b (8 x 4
 * warps over x and z) when a step along x moves the source position by 1/16 voxel or more along
 * z, and more than along y; the same kernel over x and y where x turns into y that way instead;
 * else lapse_geom_affine_t (warps along a row). Measured on an H200 (docs/benchmarks.md, runs J
 * and O): rotate about y 30 degrees 1.08 ms against 1.63 (1.00 once a zero fraction stopped
 * loading its second neighbour); about z 1.18 ms against 1.24 for the rows (1.62 against 1.50
 * before that change). LAPSE_GEOM_XY=0 keeps the rows about z (for comparison). A sampler
 * staging the tile's input box in local memory was slower on the H200 and was dropped
 * (docs/kernels.md). */
static lapse_status_t sampler_pick(lapse_dev_t *d, const sampler_t *A, const lapse_dvol_t *in,
                                   cl_kernel *k, sampler_kind_t *kind, cl_int *ax2)
{
    lapse_status_t st = LAPSE_OK;
    size_t kwg = 0;
    const int tiled = !d->simple && in[0].dim[1] * in[0].dim[2] < ((int64_t)1 << 31);
    const double zx = fabs(A->m[2]), yx = fabs(A->m[6]); /* d(source z, y) / d(output x) */
    *kind = tiled ? SAMPLER_ROWS : SAMPLER_SIMPLE;
    const char *xy = getenv("LAPSE_GEOM_XY");
    const int use_xy = !(xy && strcmp(xy, "0") == 0) && yx >= 1.0 / 16 && yx > zx;
    *ax2 = use_xy ? 1 : 2; /* x-y warps, or x-z warps */
    if (tiled && d->use_local && ((zx >= 1.0 / 16 && zx > yx) || use_xy)) {
        LAPSE_TRY(lapse_dev_kernel(d, "geometry.cl", "lapse_geom_affine_b", k, &kwg));
        if (kwg >= GEOM_B_X * GEOM_B_H) {
            *kind = SAMPLER_BLOCK;
            goto cleanup;
        }
    }
    LAPSE_TRY(lapse_dev_kernel(d, "geometry.cl",
                               tiled ? "lapse_geom_affine_t" : "lapse_geom_affine", k, NULL));
cleanup:
    return st;
}

static lapse_status_t sampler_launch(lapse_dev_t *d, const sampler_t *A, const lapse_dvol_t *in,
                                     const lapse_dvol_t *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    sampler_kind_t kind;
    cl_int ax2 = 2;
    int64_t n[3];
    vol_img(&in[0], n);
    cl_int4 sdim = int4_of(in[0].dim), sorg = org_of(&in[0]), simg = int4_of(n),
            ddim = int4_of(out->dim), dorg = org_of(out);
    cl_float4 row[3];
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 4; c++)
            row[a].s[c] = A->m[4 * a + c];
    cl_int order = A->order, clamp = A->clamp;
    LAPSE_TRY(sampler_pick(d, A, in, &k, &kind, &ax2));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, out->mem);
    LAPSE_ARG(k, 2, sdim);
    LAPSE_ARG(k, 3, sorg);
    LAPSE_ARG(k, 4, simg);
    LAPSE_ARG(k, 5, ddim);
    LAPSE_ARG(k, 6, dorg);
    LAPSE_ARG(k, 7, row[0]);
    LAPSE_ARG(k, 8, row[1]);
    LAPSE_ARG(k, 9, row[2]);
    LAPSE_ARG(k, 10, order);
    LAPSE_ARG(k, 11, clamp);
    const size_t n2 = (size_t)out->dim[ax2 == 1 ? 1 : 0], n3 = (size_t)out->dim[ax2 == 1 ? 0 : 1];
    if (kind == SAMPLER_BLOCK) {
        LAPSE_ARG(k, 12, ax2);
        size_t l[3] = {GEOM_B_X, GEOM_B_H, 1};
        size_t g[3] = {((size_t)out->dim[2] + GEOM_B_X * GEOM_A_K - 1) / (GEOM_B_X * GEOM_A_K) *
                           GEOM_B_X,
                       n2, n3};
        LAPSE_TRY(lapse_dev_enqueue(d, k, 3, g, l));
    } else {
        size_t nx = (size_t)out->dim[2];
        if (kind == SAMPLER_ROWS) /* GEOM_X_W work-items per GEOM_X_W * GEOM_A_K outputs */
            nx = (nx + GEOM_X_W * GEOM_A_K - 1) / (GEOM_X_W * GEOM_A_K) * GEOM_X_W;
        LAPSE_TRY(lapse_dev_launch_3d(d, k, nx, (size_t)out->dim[1], (size_t)out->dim[0]));
    }
cleanup:
    return st;
}

/* The reference: positions as the kernel computes them (float32, fmaf), values in double. */
/* a + t (b - a), or (1 - t) a + t b where a is infinite (geometry.cl's geom_lerp: SciPy's
 * weighted sum keeps a's infinity, where a + t (b - a) would be inf - inf = NaN). */
static double ref_lerp(double a, double b, double t)
{
    return isinf(a) ? (1.0 - t) * a + t * b : a + t * (b - a);
}

static void sampler_ref(const sampler_t *A, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    const int64_t *n = in[0].dim, *o = out->dim;
#define V(z, y, x) in[0].v[((z)*n[1] + (y)) * n[2] + (x)]
    for (int64_t z = 0; z < o[0]; z++)
        for (int64_t y = 0; y < o[1]; y++)
            for (int64_t x = 0; x < o[2]; x++) {
                double *dst = &out->v[(z * o[1] + y) * o[2] + x];
                float p[3];
                int inside = 1;
                for (int a = 0; a < 3; a++) {
                    float top = (float)(n[a] - 1);
                    p[a] = sampler_pos(A, a, z, y, x);
                    if (A->clamp)
                        p[a] = fminf(fmaxf(p[a], 0.0f), top);
                    else
                        inside = inside && p[a] >= 0.0f && p[a] <= top;
                }
                if (!inside) {
                    *dst = 0.0;
                    continue;
                }
                int64_t i0[3], i1[3];
                double t[3];
                for (int a = 0; a < 3; a++) {
                    float fl = floorf(p[a]);
                    float frac = p[a] - fl;
                    i0[a] = (int64_t)fl;
                    t[a] = (double)frac;
                    if (A->order == 0)
                        i0[a] += frac >= 0.5f;
                    i1[a] = i0[a] + 1 < n[a] ? i0[a] + 1 : n[a] - 1;
                }
                if (A->order == 0) {
                    *dst = V(i0[0], i0[1], i0[2]);
                    continue;
                }
                /* x, then y, then z; a fraction of 0 takes the first value as it is (the
                 * kernels' GEOM_AXIS: version 2) */
#define LERP(a, b, f) ((f) == 0.0 ? (a) : ref_lerp((a), (b), (f)))
                double c[2][2];
                for (int dz = 0; dz < 2; dz++)
                    for (int dy = 0; dy < 2; dy++) {
                        int64_t iz = dz ? i1[0] : i0[0], iy = dy ? i1[1] : i0[1];
                        double a0 = V(iz, iy, i0[2]), a1 = V(iz, iy, i1[2]);
                        c[dz][dy] = LERP(a0, a1, t[2]);
                    }
                double c0 = LERP(c[0][0], c[0][1], t[1]);
                double c1 = LERP(c[1][0], c[1][1], t[1]);
                *dst = LERP(c0, c1, t[0]);
#undef LERP
            }
#undef V
}

/* Each sampler op: its sampler for an input image of dims n. */
#define SAMPLER_OP(fn, make)                                                                       \
    static void fn##_in_box(const lapse_step_t *s, const lapse_box_t *out, const int64_t n[3],     \
                            lapse_box_t *in)                                                       \
    {                                                                                              \
        sampler_t A;                                                                               \
        make(s, n, &A);                                                                            \
        sampler_in_box(&A, out, n, in);                                                            \
    }                                                                                              \
    static lapse_status_t fn##_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,          \
                                      const lapse_dvol_t *in, const lapse_dvol_t *out,             \
                                      const cl_mem *scratch, int *res)                             \
    {                                                                                              \
        sampler_t A;                                                                               \
        int64_t n[3];                                                                              \
        (void)state;                                                                               \
        (void)scratch;                                                                             \
        *res = 0;                                                                                  \
        vol_img(&in[0], n);                                                                        \
        make(s, n, &A);                                                                            \
        return sampler_launch(d, &A, in, out);                                                     \
    }                                                                                              \
    static void fn##_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)     \
    {                                                                                              \
        sampler_t A;                                                                               \
        make(s, in[0].dim, &A);                                                                    \
        sampler_ref(&A, in, out);                                                                  \
    }

/* cos and sin of deg degrees, exact at multiples of 90 (as SciPy's cosdg / sindg): the angle
 * reduced to the nearest multiple of 90 and a remainder in [-45, 45]. */
static void cos_sin_deg(double deg, double *c, double *s)
{
    double r = fmod(deg, 360.0);
    r = r < 0.0 ? r + 360.0 : r;
    double k = floor(r / 90.0 + 0.5), rem = (r - 90.0 * k) * (GEOM_PI / 180.0);
    double c0 = cos(rem), s0 = sin(rem);
    switch ((int)k % 4) {
    case 0:
        *c = c0, *s = s0;
        break;
    case 1:
        *c = -s0, *s = c0;
        break;
    case 2:
        *c = -c0, *s = -s0;
        break;
    default:
        *c = s0, *s = -c0;
        break;
    }
}

/* r = a b (3x3). */
static void mat3_mul(double a[3][3], double b[3][3], double r[3][3])
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            r[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
}

/* rotate: input = c + Mx My Mz (output - c), c = (n - 1) / 2; M of an angle in the plane of
 * axes (p, q), p < q, is SciPy rotate's [[cos, sin], [-sin, cos]] on (p, q). */
static void rotate_make(const lapse_step_t *s, const int64_t n[3], sampler_t *A)
{
    static const int plane[3][2] = {{0, 1}, {0, 2}, {1, 2}}; /* angle_x, angle_y, angle_z */
    double m[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, c[3];
    for (int k = 0; k < 3; k++) {
        double r[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, t[3][3], cs, sn;
        int p = plane[k][0], q = plane[k][1];
        cos_sin_deg(s->p[k].v[0], &cs, &sn);
        r[p][p] = cs;
        r[p][q] = sn;
        r[q][p] = -sn;
        r[q][q] = cs;
        mat3_mul(m, r, t);
        memcpy(m, t, sizeof m);
    }
    for (int a = 0; a < 3; a++)
        c[a] = 0.5 * (double)(n[a] - 1);
    for (int a = 0; a < 3; a++) {
        double off = c[a] - (m[a][0] * c[0] + m[a][1] * c[1] + m[a][2] * c[2]);
        for (int b = 0; b < 3; b++)
            A->m[4 * a + b] = (float)m[a][b];
        A->m[4 * a + 3] = (float)off;
    }
    A->order = s->p[3].v[0] == 0.0 ? 1 : 0;
    A->clamp = 0;
}
SAMPLER_OP(rotate, rotate_make)

/* The samplers compute positions in float32, whose integers are exact up to 2^24: refuse (key
 * "op") an input or result axis beyond that, where positions would no longer address every
 * voxel. NULL when fine (check_dims). */
#define SAMPLER_MAX_EXTENT ((int64_t)1 << 24)
static const char *sampler_check(const lapse_step_t *s, const int64_t in[3], char *msg, size_t len)
{
    int64_t out[3];
    lapse_step_out_dims(s, in, out);
    for (int a = 0; a < 3; a++)
        if (in[a] > SAMPLER_MAX_EXTENT || out[a] > SAMPLER_MAX_EXTENT) {
            snprintf(msg, len,
                     "%s samples at float32 positions, exact up to 2^24 = %lld voxels along an "
                     "axis, but axis %c has %lld voxels in its input and %lld in its result: "
                     "crop or downsample_bin first",
                     s->op->name, (long long)SAMPLER_MAX_EXTENT, "zyx"[a], (long long)in[a],
                     (long long)out[a]);
            return "op";
        }
    return NULL;
}

/* An angle that is not a multiple of 180 degrees turns its plane out of itself where one of the
 * plane's axes has one voxel (angle_x and angle_y on a [t, y, x] time-lapse, whose z has one
 * plane): every voxel but a line would be 0. Multiples of 180 degrees are flips. */
static const char *rotate_check(const lapse_step_t *s, const int64_t in[3], char *msg, size_t len)
{
    static const char *const keys[3] = {"angle_x", "angle_y", "angle_z"};
    static const char *const names[3] = {"z", "y", "x"};
    static const int axes[3][2] = {{0, 1}, {0, 2}, {1, 2}}; /* each angle's plane (z, y, x) */
    const char *key = sampler_check(s, in, msg, len);
    if (key != NULL)
        return key;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++)
            if (in[axes[i][k]] == 1 && fmod(s->p[i].v[0], 180.0) != 0.0) {
                snprintf(msg, len,
                         "%s = %g rotates in the (%s, %s) plane, but the data has one plane "
                         "along %s%s: the image would leave itself and every voxel but the line "
                         "through the centre would be 0",
                         keys[i], s->p[i].v[0], names[axes[i][0]], names[axes[i][1]],
                         names[axes[i][k]],
                         axes[i][k] == 0 ? " (a [t, y, x] time-lapse or a single plane; rotate "
                                           "2-D images with angle_z)"
                                         : "");
                return keys[i];
            }
    return NULL;
}

static void affine_make(const lapse_step_t *s, const int64_t n[3], sampler_t *A)
{
    (void)n;
    for (int i = 0; i < 12; i++)
        A->m[i] = (float)s->p[0].v[i];
    A->order = s->p[1].v[0] == 0.0 ? 1 : 0;
    A->clamp = 0;
}
SAMPLER_OP(affine, affine_make)

/* Python's round(n * scale) (half to even), as SciPy zoom's output shape. An axis of extent 1
 * (z of a 2-D time-lapse) keeps extent 1 whatever its scale: SciPy's zoom of the 2-D frame
 * (the other operations drop such an axis too); zooming it would copy the one plane. */
static void resample_dims(const lapse_step_t *s, const int64_t in[3], int64_t out[3])
{
    for (int a = 0; a < 3; a++)
        out[a] = in[a] == 1 ? 1 : (int64_t)nearbyint((double)in[a] * s->p[0].v[a]);
}

/* SciPy zoom with grid_mode=True: position (o + 0.5) * n_in / n_out - 0.5 = o r + h. */
static void resample_make(const lapse_step_t *s, const int64_t n[3], sampler_t *A)
{
    int64_t o[3];
    resample_dims(s, n, o);
    memset(A->m, 0, sizeof A->m);
    for (int a = 0; a < 3; a++) {
        double r = o[a] > 0 ? (double)n[a] / (double)o[a] : 1.0;
        A->m[4 * a + a] = (float)r;
        A->m[4 * a + 3] = (float)(0.5 * r - 0.5);
    }
    A->order = s->p[1].v[0] == 0.0 ? 1 : 0;
    A->clamp = 1;
}
SAMPLER_OP(resample, resample_make)

/* The sampling step of resample_make: n_in / n_out input voxels per output voxel, the first
 * output voxel at input position 0.5 r - 0.5 (before the clamping, which moves only samples). */
static void resample_voxel(const lapse_step_t *s, const int64_t in[3], double vox[3], double org[3])
{
    int64_t o[3];
    resample_dims(s, in, o);
    for (int a = 0; a < 3; a++) {
        const double r = o[a] > 0 ? (double)in[a] / (double)o[a] : 1.0;
        org[a] += (0.5 * r - 0.5) * fabs(vox[a]);
        vox[a] *= r;
    }
}

/* Version 3 (2026-12-02): an integer result rounds halves away from zero, as SciPy's do (to
 * even before). resample is at version 4 (2026-12-03): an axis of extent 1 keeps extent 1
 * (the output's shape changed: an output made before is another config's). Versions 4 (rotate,
 * affine_transform) and 5 (resample) (2026-12-04): a sample between an infinite voxel and the
 * next is that infinity, as SciPy's (NaN before: a + t (b - a) = inf - inf). */
#define SAMPLER_NONFINITE                                                                          \
    "; an infinity interpolates to itself (SciPy's weighted sum; NaN with the opposite one), and " \
    "an axis whose fraction is 0 takes its first voxel alone: a NaN or infinity next to it does "  \
    "not enter (SciPy's 0 x inf or NaN makes such samples NaN)"
#define SAMPLER_COMMON                                                                             \
    .family = "geometry", .ninputs = 1, .out_rule = LAPSE_OUT_SAME, .round_away = 1,               \
    .footprint = LAPSE_FP_TRANSFORM, .kernels = "geometry.cl"

const lapse_op_t lapse_op_rotate = {
    .name = "rotate",
    .help = "rotate about the image centre by angles in degrees (same shape; 0 outside)",
    .convention = "SciPy rotate(reshape=False, mode='constant', cval=0, order=1 or 0) about the "
                  "centre (n - 1) / 2, composed: angle_x in the (z, y) plane (axes=(0, 1)), then "
                  "angle_y in (z, x) (axes=(0, 2)), then angle_z in (y, x) (axes=(1, 2)), one "
                  "interpolation of the composed map (affine_transform with Mx My Mz); positions "
                  "outside the image give 0 (as clesperanto); float32 positions; an integer result "
                  "rounds halves away from zero (SciPy's output=uint16)" SAMPLER_NONFINITE,
    SAMPLER_COMMON,
    .version = 4,
    .nparams = 4,
    .params = {LAPSE_P_FLOAT_DEF("angle_x", 0, "degrees about the x axis (the (z, y) plane)"),
               LAPSE_P_FLOAT_DEF("angle_y", 0, "degrees about the y axis (the (z, x) plane)"),
               LAPSE_P_FLOAT_DEF("angle_z", 0, "degrees about the z axis (the (y, x) plane)"),
               LAPSE_P_ENUM("interpolation", interp_words,
                            "linear (order 1) or nearest (order 0)")},
    .reach_doc = "the rotated box",
    .in_box = rotate_in_box,
    .check_dims = rotate_check,
    .launch = rotate_launch,
    .reference = rotate_ref,
};

const lapse_op_t lapse_op_affine_transform = {
    .name = "affine_transform",
    .help = "sample the input where a 3x4 matrix maps each output index (same shape; 0 outside)",
    .convention = "SciPy affine_transform(a, matrix, order=1 or 0, mode='constant', cval=0) with a "
                  "3x4 matrix (rows z, y, x; the last column the offset) that maps an output "
                  "voxel's index to the input position it samples; float32 positions; an integer "
                  "result rounds halves away from zero (SciPy's)" SAMPLER_NONFINITE,
    SAMPLER_COMMON,
    .version = 4,
    .nparams = 2,
    .params = {LAPSE_P_MATRIX("matrix", -1e9, 1e9,
                              "3x4, output index (z, y, x, 1) to input position (z, y, x)"),
               LAPSE_P_ENUM("interpolation", interp_words,
                            "linear (order 1) or nearest (order 0)")},
    .reach_doc = "the mapped box",
    .in_box = affine_in_box,
    .check_dims = sampler_check,
    .launch = affine_launch,
    .reference = affine_ref,
};

const lapse_op_t lapse_op_resample = {
    .name = "resample",
    .help = "scale by factors per axis, e.g. to isotropic voxels (output round(n * scale))",
    .convention = "SciPy zoom(a, scale, order=1 or 0, mode='nearest', grid_mode=True): output "
                  "shape round(n * scale) (half to even, as Python), voxel edges aligned: the "
                  "output voxel o samples (o + 0.5) * n_in / n_out - 0.5, clamped to the image; "
                  "float32 positions; an integer result rounds halves away from zero (SciPy's); "
                  "an axis of extent 1 (z of [t, y, x] data) stays 1 (SciPy zoom of the 2-D "
                  "frame)" SAMPLER_NONFINITE,
    SAMPLER_COMMON,
    .version = 5,
    .nparams = 2,
    .params = {LAPSE_P_VEC3F("scale", 0.001, 256,
                             "factor per axis, [z, y, x] (2: twice the voxels)"),
               LAPSE_P_ENUM("interpolation", interp_words,
                            "linear (order 1) or nearest (order 0)")},
    .reach_doc = "the scaled box",
    .in_box = resample_in_box,
    .out_dims = resample_dims,
    .check_dims = sampler_check,
    .voxel = resample_voxel,
    .launch = resample_launch,
    .reference = resample_ref,
};

/* ---------------------------------------------------------------- radial_reslice */

/* The angles of a step: p[0] angle_step (degrees), p[1] angles (0: round(360 / step)). */
static int64_t radial_angles(const lapse_step_t *s)
{
    int64_t n = (int64_t)s->p[1].v[0];
    return n > 0 ? n : (int64_t)nearbyint(360.0 / s->p[0].v[0]);
}

/* The centre (y, x) in an image of dims n: p[2] [z, y, x] (z unused), a negative component the
 * image's centre (n - 1) / 2; rounded to float32 as the kernel gets it. */
static void radial_centre(const lapse_step_t *s, const int64_t n[3], float c[2])
{
    for (int a = 0; a < 2; a++) {
        double v = s->p[2].v[1 + a];
        c[a] = (float)(v < 0.0 ? 0.5 * (double)(n[1 + a] - 1) : v);
    }
}

/* The ray length: p[3], or 0: one voxel past the farthest image corner's distance. */
static int64_t radial_radius(const lapse_step_t *s, const int64_t n[3])
{
    int64_t r = (int64_t)s->p[3].v[0];
    if (r > 0)
        return r;
    float c[2];
    radial_centre(s, n, c);
    double dy = fmax(c[0], (double)(n[1] - 1) - c[0]), dx = fmax(c[1], (double)(n[2] - 1) - c[1]);
    return (int64_t)floor(sqrt(dy * dy + dx * dx)) + 1;
}

/* cos and sin of angle a (float32), as the kernel's table holds them. */
static void radial_cs(const lapse_step_t *s, int64_t a, float *c, float *sn)
{
    double cd, sd;
    cos_sin_deg((double)a * s->p[0].v[0], &cd, &sd);
    *c = (float)cd;
    *sn = (float)sd;
}

/* Output [angles, z, radius] of an input [z, y, x]. */
static void radial_dims(const lapse_step_t *s, const int64_t in[3], int64_t out[3])
{
    out[0] = radial_angles(s);
    out[1] = in[0];
    out[2] = radial_radius(s, in);
}

/* Planes of the output's y range; in y, x the extremes over the box's angles of both ends of
 * its radius range (positions are linear in r), with a margin. */
static void radial_in_box(const lapse_step_t *s, const lapse_box_t *out, const int64_t n[3],
                          lapse_box_t *in)
{
    int64_t lo[3] = {out->off[1], 0, 0}, hi[3] = {out->off[1] + out->dim[1], 0, 0};
    float c[2];
    radial_centre(s, n, c);
    double mn[2] = {HUGE_VAL, HUGE_VAL}, mx[2] = {-HUGE_VAL, -HUGE_VAL};
    for (int64_t a = out->off[0]; a < out->off[0] + out->dim[0]; a++) {
        float t[2];
        radial_cs(s, a, &t[0], &t[1]);
        for (int e = 0; e < 2; e++) {
            double r = (double)(e ? out->off[2] + out->dim[2] - 1 : out->off[2]);
            for (int k = 0; k < 2; k++) {
                double p = (double)c[k] + (double)t[k] * r;
                mn[k] = p < mn[k] ? p : mn[k];
                mx[k] = p > mx[k] ? p : mx[k];
            }
        }
    }
    for (int k = 0; k < 2; k++) {
        double tol = 1e-5 * (fabs((double)c[k]) + (double)(out->off[2] + out->dim[2])) + 1e-3;
        double top = (double)(n[1 + k] - 1);
        double a = fmin(fmax(mn[k] - tol, -2.0), top + 2.0),
               b = fmin(fmax(mx[k] + tol, -2.0), top + 2.0);
        lo[1 + k] = (int64_t)floor(a);
        hi[1 + k] = (int64_t)floor(b) + 2;
    }
    clip_box(lo, hi, n, in);
}

/* The (cos, sin) table of the step's angles on the device: the step's state. */
static lapse_status_t radial_prepare(lapse_dev_t *d, const lapse_step_t *s, void **state)
{
    lapse_status_t st = LAPSE_OK;
    int64_t n = radial_angles(s);
    cl_int e = CL_SUCCESS;
    cl_float2 *t = malloc((size_t)n * sizeof *t);
    LAPSE_ALLOC(t);
    for (int64_t a = 0; a < n; a++)
        radial_cs(s, a, &t[a].s[0], &t[a].s[1]);
    cl_mem m = clCreateBuffer(d->cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                              (size_t)n * sizeof *t, t, &e);
    LAPSE_CL(e);
    *state = m;
cleanup:
    free(t);
    return st;
}

static void radial_release(void *state)
{
    if (state)
        clReleaseMemObject((cl_mem)state);
}

static lapse_status_t radial_launch(lapse_dev_t *d, const lapse_step_t *s, void *state,
                                    const lapse_dvol_t *in, const lapse_dvol_t *out,
                                    const cl_mem *scratch, int *res)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    int64_t n[3];
    float c[2];
    cl_mem table = state;
    (void)scratch;
    *res = 0;
    vol_img(&in[0], n);
    radial_centre(s, n, c);
    cl_int4 sdim = int4_of(in[0].dim), sorg = org_of(&in[0]), simg = int4_of(n),
            ddim = int4_of(out->dim), dorg = org_of(out);
    cl_float cy = c[0], cx = c[1];
    LAPSE_TRY(lapse_dev_kernel(d, "geometry.cl", "lapse_geom_radial", &k, NULL));
    LAPSE_ARG(k, 0, in[0].mem);
    LAPSE_ARG(k, 1, out->mem);
    LAPSE_ARG(k, 2, sdim);
    LAPSE_ARG(k, 3, sorg);
    LAPSE_ARG(k, 4, simg);
    LAPSE_ARG(k, 5, ddim);
    LAPSE_ARG(k, 6, dorg);
    LAPSE_ARG(k, 7, table);
    LAPSE_ARG(k, 8, cy);
    LAPSE_ARG(k, 9, cx);
    LAPSE_TRY(
        lapse_dev_launch_3d(d, k, (size_t)out->dim[2], (size_t)out->dim[1], (size_t)out->dim[0]));
cleanup:
    return st;
}

/* The reference: positions as the kernel computes them (float32, fmaf), values in double. */
static void radial_ref(const lapse_step_t *s, const lapse_refvol_t *in, lapse_refvol_t *out)
{
    const int64_t *n = in[0].dim, *o = out->dim;
    float c[2];
    radial_centre(s, n, c);
    for (int64_t a = 0; a < o[0]; a++) {
        float t[2];
        radial_cs(s, a, &t[0], &t[1]);
        for (int64_t z = 0; z < o[1]; z++)
            for (int64_t r = 0; r < o[2]; r++) {
                double *dst = &out->v[(a * o[1] + z) * o[2] + r];
                float p[2];
                int inside = 1;
                for (int k = 0; k < 2; k++) {
                    p[k] = fmaf(t[k], (float)r, c[k]);
                    inside = inside && p[k] >= 0.0f && p[k] <= (float)(n[1 + k] - 1);
                }
                if (!inside) {
                    *dst = 0.0;
                    continue;
                }
                int64_t i0[2], i1[2];
                double w[2];
                for (int k = 0; k < 2; k++) {
                    float fl = floorf(p[k]);
                    i0[k] = (int64_t)fl;
                    w[k] = (double)(p[k] - fl);
                    i1[k] = i0[k] + 1 < n[1 + k] ? i0[k] + 1 : n[1 + k] - 1;
                }
                const double *pl = in[0].v + z * n[1] * n[2];
                double a00 = pl[i0[0] * n[2] + i0[1]], a01 = pl[i0[0] * n[2] + i1[1]];
                double a10 = pl[i1[0] * n[2] + i0[1]], a11 = pl[i1[0] * n[2] + i1[1]];
                double c0 = ref_lerp(a00, a01, w[1]), c1 = ref_lerp(a10, a11, w[1]);
                *dst = ref_lerp(c0, c1, w[0]);
            }
    }
}

/* [angle, z, radius]: the angles are not a length; z keeps its size, a radius step is one
 * voxel of x (of y too where the two are equal). */
/* [angles, z, radius]: z keeps its size and origin; angles are no length, and the radius
 * starts at the centre (no position in the input's frame: 0). */
static void radial_voxel(const lapse_step_t *s, const int64_t in[3], double vox[3], double org[3])
{
    (void)s;
    (void)in;
    const double z = vox[0], x = vox[2];
    vox[0] = 0.0;
    vox[1] = z;
    vox[2] = x;
    org[1] = org[0];
    org[0] = org[2] = 0.0;
}

const lapse_op_t lapse_op_radial_reslice = {
    .name = "radial_reslice",
    .help = "planes through a z-parallel axis at angle steps: output [angles, z, radius]",
    .convention = "CLIJ2 resliceRadial (ImageJ Radial Reslice), with SciPy's sampling: output "
                  "[a, z, r] samples input plane z at (y, x) = centre + r (cos, sin)(a "
                  "angle_step degrees), bilinear (map_coordinates order=1), 0 outside the plane "
                  "(mode 'constant'; CLIJ blends with 0 across the edge); float32 positions; an "
                  "integer result rounds halves away from zero (SciPy's); an infinity "
                  "interpolates to itself, also at a fraction of 0 (SciPy's weighted sum; NaN "
                  "with the opposite one, and where a NaN or infinity has weight 0, as SciPy's)",
    .family = "geometry",
    .version = 3, /* 3 (2026-12-04): an infinite voxel's samples are inf, not NaN */
    .round_away = 1,
    .ninputs = 1,
    .nparams = 4,
    .params = {LAPSE_P_FLOAT_RANGE("angle_step", 1, 0.001, 360, "degrees between two planes"),
               LAPSE_P_INT_DEF("angles", 0, 0, 1000000,
                               "number of planes (0: round(360 / angle_step))"),
               LAPSE_P_VEC3F_DEF("center", -1, -1, 1e9,
                                 "[z, y, x] of the axis (z unused; negative: the image centre)"),
               LAPSE_P_INT_DEF("radius", 0, 0, 1000000,
                               "voxels along each ray (0: past the farthest corner)")},
    .out_rule = LAPSE_OUT_SAME,
    .footprint = LAPSE_FP_TRANSFORM,
    .kernels = "geometry.cl",
    .reach_doc = "the planes and the annulus its angles and radii sweep",
    .in_box = radial_in_box,
    .out_dims = radial_dims,
    .check_dims = sampler_check,
    .voxel = radial_voxel,
    .prepare = radial_prepare,
    .release = radial_release,
    .launch = radial_launch,
    .reference = radial_ref,
};
