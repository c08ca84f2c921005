/*
 * ccl.c - connected-component labelling of one tile's core (see ccl.h): the device launcher
 * over kernels/labels.cl (init, merge, compress, ids, roots; the root list read back and sorted
 * here), the device id-to-label lookup, and the sequential CPU reference.
 */
#include "ops/ccl.h"

#include <stdlib.h>
#include <string.h>

#define CCL_FILE "labels.cl"

/* The core box and the timepoint placement as the kernels take them. */
typedef struct {
    cl_uint cx, cy, cz, n;
    cl_ulong in_base, in_sy,
        in_sz; /* input index of core voxel (z, y, x): base + z sz + y sy + x */
    cl_ulong img_base, img_sy, img_sz; /* timepoint raster index, likewise */
} ccl_geom_t;

/* Check the boxes and fill g; n > 2^32 - 1 is refused (32-bit indices, CCL_BG sentinel). */
static lapse_status_t ccl_geometry(const int64_t in_dim[3], const lapse_box_t *core,
                                   const int64_t img_off[3], const int64_t img_dim[3], int conn,
                                   ccl_geom_t *g)
{
    lapse_status_t st = LAPSE_OK;
    if (conn != LAPSE_CCL_BOX && conn != LAPSE_CCL_DIAMOND)
        LAPSE_FAIL(LAPSE_EUSAGE,
                   "connected components: connectivity %d is neither box (0) nor "
                   "diamond (1)",
                   conn);
    for (int a = 0; a < 3; a++) {
        if (core->off[a] < 0 || core->dim[a] < 0 || core->off[a] + core->dim[a] > in_dim[a])
            LAPSE_FAIL(LAPSE_EUSAGE,
                       "connected components: core axis %d [%lld, +%lld) outside the buffer "
                       "(extent %lld)",
                       a, (long long)core->off[a], (long long)core->dim[a], (long long)in_dim[a]);
        if (img_off[a] < 0 || img_off[a] + core->dim[a] > img_dim[a])
            LAPSE_FAIL(LAPSE_EUSAGE,
                       "connected components: core axis %d at %lld, extent %lld, outside the "
                       "timepoint (extent %lld)",
                       a, (long long)img_off[a], (long long)core->dim[a], (long long)img_dim[a]);
    }
    int64_t n = lapse_box_voxels(core);
    if (n > (int64_t)UINT32_MAX)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "connected components: a core of %lld x %lld x %lld = %lld voxels exceeds the "
                   "%lu voxels a tile may have for labelling (32-bit indices); use smaller tiles",
                   (long long)core->dim[0], (long long)core->dim[1], (long long)core->dim[2],
                   (long long)n, (unsigned long)UINT32_MAX);
    g->cx = (cl_uint)core->dim[2];
    g->cy = (cl_uint)core->dim[1];
    g->cz = (cl_uint)core->dim[0];
    g->n = (cl_uint)n;
    g->in_sy = (cl_ulong)in_dim[2];
    g->in_sz = (cl_ulong)in_dim[1] * (cl_ulong)in_dim[2];
    g->in_base = (cl_ulong)core->off[0] * g->in_sz + (cl_ulong)core->off[1] * g->in_sy +
                 (cl_ulong)core->off[2];
    g->img_sy = (cl_ulong)img_dim[2];
    g->img_sz = (cl_ulong)img_dim[1] * (cl_ulong)img_dim[2];
    g->img_base =
        (cl_ulong)img_off[0] * g->img_sz + (cl_ulong)img_off[1] * g->img_sy + (cl_ulong)img_off[2];
cleanup:
    return st;
}

/* Timepoint id (raster index + 1) of core-local index r. */
static uint64_t ccl_id(const ccl_geom_t *g, uint64_t r)
{
    uint64_t x = r % g->cx, t = r / g->cx, y = t % g->cy, z = t / g->cy;
    return 1 + g->img_base + z * g->img_sz + y * g->img_sy + x;
}

/* Enqueue init, merge, compress and ids: out receives the ids, work the parents. */
static lapse_status_t ccl_label(lapse_dev_t *d, cl_mem in, const ccl_geom_t *g, int conn,
                                cl_mem out, cl_mem work)
{
    lapse_status_t st = LAPSE_OK;
    cl_kernel k;
    cl_int diamond = conn == LAPSE_CCL_DIAMOND;
    LAPSE_TRY(lapse_dev_kernel(d, CCL_FILE, "lapse_ccl_init", &k, NULL));
    LAPSE_ARG(k, 0, in);
    LAPSE_ARG(k, 1, work);
    LAPSE_ARG(k, 2, g->cx);
    LAPSE_ARG(k, 3, g->cy);
    LAPSE_ARG(k, 4, g->n);
    LAPSE_ARG(k, 5, g->in_base);
    LAPSE_ARG(k, 6, g->in_sy);
    LAPSE_ARG(k, 7, g->in_sz);
    LAPSE_TRY(lapse_dev_launch_1d(d, k, g->n));

    LAPSE_TRY(lapse_dev_kernel(d, CCL_FILE, "lapse_ccl_merge", &k, NULL));
    LAPSE_ARG(k, 0, work);
    LAPSE_ARG(k, 1, g->cx);
    LAPSE_ARG(k, 2, g->cy);
    LAPSE_ARG(k, 3, g->cz);
    LAPSE_ARG(k, 4, g->n);
    LAPSE_ARG(k, 5, diamond);
    LAPSE_TRY(lapse_dev_launch_1d(d, k, g->n));

    LAPSE_TRY(lapse_dev_kernel(d, CCL_FILE, "lapse_ccl_compress", &k, NULL));
    LAPSE_ARG(k, 0, work);
    LAPSE_ARG(k, 1, g->n);
    LAPSE_TRY(lapse_dev_launch_1d(d, k, g->n));

    LAPSE_TRY(lapse_dev_kernel(d, CCL_FILE, "lapse_ccl_ids", &k, NULL));
    LAPSE_ARG(k, 0, work);
    LAPSE_ARG(k, 1, out);
    LAPSE_ARG(k, 2, g->cx);
    LAPSE_ARG(k, 3, g->cy);
    LAPSE_ARG(k, 4, g->n);
    LAPSE_ARG(k, 5, g->img_base);
    LAPSE_ARG(k, 6, g->img_sy);
    LAPSE_ARG(k, 7, g->img_sz);
    LAPSE_TRY(lapse_dev_launch_1d(d, k, g->n));
cleanup:
    return st;
}

static int cmp_u32(const void *a, const void *b)
{
    cl_uint x = *(const cl_uint *)a, y = *(const cl_uint *)b;
    return (x > y) - (x < y);
}

/* Append the roots' core-local indices to work (counted in a fresh counter), read them back,
 * sort them and turn them into ids: *roots (NULL when none) and *nroots. */
static lapse_status_t ccl_roots(lapse_dev_t *d, const ccl_geom_t *g, cl_mem out, cl_mem work,
                                uint64_t **roots, int64_t *nroots)
{
    lapse_status_t st = LAPSE_OK;
    cl_command_queue q = d->cl->queue;
    const cl_uint zero = 0;
    cl_uint count = 0, *list = NULL;
    uint64_t *ids = NULL;
    cl_mem counter = NULL;
    cl_kernel k;
    cl_int e;
    counter = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, sizeof(cl_uint), NULL, &e);
    LAPSE_CL(e);
    LAPSE_CL(clEnqueueFillBuffer(q, counter, &zero, sizeof zero, 0, sizeof zero, 0, NULL, NULL));
    LAPSE_TRY(lapse_dev_kernel(d, CCL_FILE, "lapse_ccl_roots", &k, NULL));
    LAPSE_ARG(k, 0, out);
    LAPSE_ARG(k, 1, work);
    LAPSE_ARG(k, 2, counter);
    LAPSE_ARG(k, 3, g->cx);
    LAPSE_ARG(k, 4, g->cy);
    LAPSE_ARG(k, 5, g->n);
    LAPSE_ARG(k, 6, g->img_base);
    LAPSE_ARG(k, 7, g->img_sy);
    LAPSE_ARG(k, 8, g->img_sz);
    LAPSE_TRY(lapse_dev_launch_1d(d, k, g->n));
    LAPSE_CL(clEnqueueReadBuffer(q, counter, CL_TRUE, 0, sizeof count, &count, 0, NULL, NULL));
    if (count > g->n)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "connected components: %lu roots counted in a core of %lu voxels (internal "
                   "error)",
                   (unsigned long)count, (unsigned long)g->n);
    if (count > 0) {
        list = malloc((size_t)count * sizeof *list);
        ids = malloc((size_t)count * sizeof *ids);
        LAPSE_ALLOC(list);
        LAPSE_ALLOC(ids);
        LAPSE_CL(clEnqueueReadBuffer(q, work, CL_TRUE, 0, (size_t)count * sizeof *list, list, 0,
                                     NULL, NULL));
        /* Core raster order is timepoint raster order: sorting the indices sorts the ids. */
        qsort(list, count, sizeof *list, cmp_u32);
        for (cl_uint r = 0; r < count; r++)
            ids[r] = ccl_id(g, list[r]);
    }
    *roots = ids;
    *nroots = (int64_t)count;
    ids = NULL;
cleanup:
    free(ids);
    free(list);
    if (counter)
        clReleaseMemObject(counter);
    return st;
}

lapse_status_t lapse_ccl_local(lapse_dev_t *d, cl_mem in, const int64_t in_dim[3],
                               const lapse_box_t *core, const int64_t img_off[3],
                               const int64_t img_dim[3], int conn, cl_mem out, cl_mem work,
                               uint64_t **roots, int64_t *nroots)
{
    lapse_status_t st = LAPSE_OK;
    ccl_geom_t g;
    LAPSE_TRY(ccl_geometry(in_dim, core, img_off, img_dim, conn, &g));
    if (g.n == 0) {
        *roots = NULL;
        *nroots = 0;
        return LAPSE_OK;
    }
    LAPSE_TRY(ccl_label(d, in, &g, conn, out, work));
    LAPSE_TRY(ccl_roots(d, &g, out, work, roots, nroots));
cleanup:
    return st;
}

lapse_status_t lapse_ccl_lookup(lapse_dev_t *d, cl_mem ids, size_t n, cl_mem keys, cl_mem labels,
                                size_t nkeys, cl_mem out)
{
    lapse_status_t st = LAPSE_OK;
    cl_command_queue q = d->cl->queue;
    const cl_uint zero = 0;
    cl_uint missing = 0;
    cl_ulong nn = n, nk = nkeys;
    cl_mem flag = NULL;
    cl_kernel k;
    cl_int e;
    if (n == 0)
        return LAPSE_OK;
    if (nkeys == 0) /* never read: any buffer will do for the arguments */
        keys = labels = ids;
    flag = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, sizeof(cl_uint), NULL, &e);
    LAPSE_CL(e);
    LAPSE_CL(clEnqueueFillBuffer(q, flag, &zero, sizeof zero, 0, sizeof zero, 0, NULL, NULL));
    LAPSE_TRY(lapse_dev_kernel(d, CCL_FILE, "lapse_ccl_lookup", &k, NULL));
    LAPSE_ARG(k, 0, ids);
    LAPSE_ARG(k, 1, keys);
    LAPSE_ARG(k, 2, labels);
    LAPSE_ARG(k, 3, out);
    LAPSE_ARG(k, 4, flag);
    LAPSE_ARG(k, 5, nn);
    LAPSE_ARG(k, 6, nk);
    LAPSE_TRY(lapse_dev_launch_1d(d, k, n));
    LAPSE_CL(clEnqueueReadBuffer(q, flag, CL_TRUE, 0, sizeof missing, &missing, 0, NULL, NULL));
    if (missing)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "labels lookup: a component id is not among the %zu keys of the timepoint "
                   "(internal error)",
                   nkeys);
cleanup:
    if (flag)
        clReleaseMemObject(flag);
    return st;
}

/* ---------------------------------------------------------------- CPU reference */

#define REF_BG UINT64_MAX

/* Root of x with path halving; parents never exceed their child. */
static uint64_t ref_find(uint64_t *p, uint64_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

void lapse_ccl_local_ref(const float *in, const int64_t in_dim[3], const lapse_box_t *core,
                         const int64_t img_off[3], const int64_t img_dim[3], int conn,
                         uint64_t *out)
{
    const int64_t cz = core->dim[0], cy = core->dim[1], cx = core->dim[2];
    int nb = 0, off[13][3];
    /* The half stencil: neighbours before the voxel in raster order. */
    for (int dz = -1; dz <= 0; dz++)
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int before = dz < 0 || (dz == 0 && (dy < 0 || (dy == 0 && dx < 0)));
                int face = abs(dz) + abs(dy) + abs(dx) == 1;
                if (before && (conn == LAPSE_CCL_BOX || face)) {
                    off[nb][0] = dz;
                    off[nb][1] = dy;
                    off[nb][2] = dx;
                    nb++;
                }
            }
    /* Pass 1: out holds parents; the larger root is linked below the smaller. */
    for (int64_t z = 0; z < cz; z++)
        for (int64_t y = 0; y < cy; y++)
            for (int64_t x = 0; x < cx; x++) {
                uint64_t i = (uint64_t)((z * cy + y) * cx + x);
                float v = in[((core->off[0] + z) * in_dim[1] + core->off[1] + y) * in_dim[2] +
                             core->off[2] + x];
                if (!(v != 0.0f)) {
                    out[i] = REF_BG;
                    continue;
                }
                out[i] = i;
                for (int k = 0; k < nb; k++) {
                    int64_t nz = z + off[k][0], ny = y + off[k][1], nx = x + off[k][2];
                    if (nz < 0 || ny < 0 || nx < 0 || ny >= cy || nx >= cx)
                        continue;
                    uint64_t j = (uint64_t)((nz * cy + ny) * cx + nx);
                    if (out[j] == REF_BG)
                        continue;
                    uint64_t a = ref_find(out, i), b = ref_find(out, j);
                    if (a < b)
                        out[b] = a;
                    else if (b < a)
                        out[a] = b;
                }
            }
    /* Pass 2, in raster order: a root takes its own id; any other voxel its parent's, which
     * comes earlier and is final already. */
    for (int64_t z = 0, i = 0; z < cz; z++)
        for (int64_t y = 0; y < cy; y++)
            for (int64_t x = 0; x < cx; x++, i++) {
                uint64_t p = out[i];
                if (p == REF_BG)
                    out[i] = 0;
                else if (p == (uint64_t)i)
                    out[i] = 1 + (uint64_t)(((img_off[0] + z) * img_dim[1] + img_off[1] + y) *
                                                img_dim[2] +
                                            img_off[2] + x);
                else
                    out[i] = out[p];
            }
}
