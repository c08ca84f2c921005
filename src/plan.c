/*
 * plan.c - tile grid, core and read boxes of tasks, and the automatic tile size (see plan.h).
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* The read box of a core: grown by halo, clipped to [0, shape). */
static void grow_clip(const lapse_box_t *core, const int64_t halo[3], const int64_t shape[3],
                      lapse_box_t *read)
{
    for (int a = 0; a < 3; a++) {
        int64_t lo = core->off[a] - halo[a];
        int64_t hi = core->off[a] + core->dim[a] + halo[a];
        if (lo < 0)
            lo = 0;
        if (hi > shape[a])
            hi = shape[a];
        read->off[a] = lo;
        read->dim[a] = hi - lo;
    }
}

lapse_status_t lapse_plan_make(const int64_t shape[3], const int64_t tile[3], const int64_t halo[3],
                               const int64_t *tps, int64_t ntps, lapse_plan_t *plan)
{
    lapse_status_t st = LAPSE_OK;
    memset(plan, 0, sizeof *plan);
    for (int a = 0; a < 3; a++) {
        if (shape[a] < 1 || tile[a] < 1 || halo[a] < 0)
            LAPSE_FAIL(LAPSE_ECONFIG, "invalid plan: shape, tile must be >= 1 and halo >= 0");
        plan->shape[a] = shape[a];
        plan->in_shape[a] = shape[a];
        plan->tile[a] = tile[a] < shape[a] ? tile[a] : shape[a];
        plan->halo[a] = halo[a];
        plan->grid[a] = ceil_div(shape[a], plan->tile[a]);
    }
    plan->ntiles = plan->grid[0] * plan->grid[1] * plan->grid[2];
    if (ntps > 0) {
        plan->tps = malloc((size_t)ntps * sizeof *plan->tps);
        LAPSE_ALLOC(plan->tps);
        memcpy(plan->tps, tps, (size_t)ntps * sizeof *tps);
    }
    plan->ntps = ntps;
    plan->ntasks = ntps * plan->ntiles;
    /* The largest core is a full tile; the largest read box is a full tile with full halo,
     * both clipped to the image (an interior tile, or the whole image). */
    plan->max_core_voxels = 1;
    plan->max_read_voxels = 1;
    for (int a = 0; a < 3; a++) {
        int64_t r = plan->tile[a] + 2 * halo[a];
        plan->max_core_voxels *= plan->tile[a];
        plan->max_read_voxels *= r < shape[a] ? r : shape[a];
    }
cleanup:
    if (st != LAPSE_OK)
        lapse_plan_free(plan);
    return st;
}

lapse_status_t lapse_plan_select(lapse_plan_t *plan, const unsigned char *done)
{
    lapse_status_t st = LAPSE_OK;
    int64_t n = 0, all = plan->ntps * plan->ntiles;
    int64_t *todo = malloc((size_t)(all > 0 ? all : 1) * sizeof *todo);
    LAPSE_ALLOC(todo);
    for (int64_t k = 0; k < all; k++)
        if (!done[plan->tps[k / plan->ntiles] * plan->ntiles + k % plan->ntiles])
            todo[n++] = k;
    free(plan->todo);
    plan->todo = todo;
    plan->ntasks = n;
cleanup:
    return st;
}

/* Core box of tile index tile of a grid of tiles tile over shape. */
static void grid_core(const int64_t shape[3], const int64_t tilesz[3], const int64_t grid[3],
                      int64_t tile, lapse_box_t *core)
{
    int64_t idx[3];
    idx[2] = tile % grid[2];
    idx[1] = (tile / grid[2]) % grid[1];
    idx[0] = tile / (grid[2] * grid[1]);
    for (int a = 0; a < 3; a++) {
        core->off[a] = idx[a] * tilesz[a];
        int64_t rest = shape[a] - core->off[a];
        core->dim[a] = rest < tilesz[a] ? rest : tilesz[a];
    }
}

/* Core box of tile index tile (0 .. ntiles-1). */
static void tile_core(const lapse_plan_t *plan, int64_t tile, lapse_box_t *core)
{
    grid_core(plan->shape, plan->tile, plan->grid, tile, core);
}

lapse_status_t lapse_plan_set_read_box(lapse_plan_t *plan, const int64_t in_shape[3],
                                       lapse_plan_box_fn fn, const void *ctx)
{
    int64_t most = 1;
    int holds = in_shape == NULL;
    const int64_t *img = in_shape ? in_shape : plan->shape;
    for (int64_t t = 0; t < plan->ntiles; t++) {
        lapse_box_t core, read;
        tile_core(plan, t, &core);
        int64_t buf = fn(ctx, &core, &read);
        for (int a = 0; a < 3; a++)
            if (read.off[a] < 0 || read.dim[a] < 1 || read.off[a] + read.dim[a] > img[a] ||
                (holds && (read.off[a] > core.off[a] ||
                           read.off[a] + read.dim[a] < core.off[a] + core.dim[a])))
                return lapse_fail(LAPSE_ERUNTIME,
                                  "internal error: tile %lld's read box (axis %d: [%lld, +%lld)) "
                                  "does not hold its core or leaves the image",
                                  (long long)t, a, (long long)read.off[a], (long long)read.dim[a]);
        buf = buf > lapse_box_voxels(&read) ? buf : lapse_box_voxels(&read);
        most = buf > most ? buf : most;
    }
    memcpy(plan->in_shape, img, sizeof plan->in_shape);
    plan->box_fn = fn;
    plan->box_ctx = ctx;
    plan->max_read_voxels = most;
    return LAPSE_OK;
}

void lapse_plan_task(const lapse_plan_t *plan, int64_t i, lapse_task_t *task)
{
    if (plan->todo)
        i = plan->todo[i];
    int64_t tile = i % plan->ntiles;
    task->t = plan->tps[i / plan->ntiles];
    task->id = task->t * plan->ntiles + tile;
    task->tile = tile;
    tile_core(plan, tile, &task->core);
    if (plan->box_fn)
        plan->box_fn(plan->box_ctx, &task->core, &task->read);
    else
        grow_clip(&task->core, plan->halo, plan->shape, &task->read);
}

int64_t lapse_plan_centre_tile(const lapse_plan_t *plan)
{
    int64_t idx[3];
    for (int a = 0; a < 3; a++)
        idx[a] = plan->tile[a] > 0 ? (plan->shape[a] / 2) / plan->tile[a] : 0;
    return (idx[0] * plan->grid[1] + idx[1]) * plan->grid[2] + idx[2];
}

void lapse_plan_free(lapse_plan_t *plan)
{
    free(plan->tps);
    free(plan->todo);
    memset(plan, 0, sizeof *plan);
}

/* Voxels of the largest read box (or with box, the largest buffer it reports over the grid)
 * and core for a tile. */
static void tile_voxels(const int64_t shape[3], const int64_t halo[3], const int64_t tile[3],
                        lapse_plan_box_fn box, const void *box_ctx, long long *read,
                        long long *core)
{
    *read = 1;
    *core = 1;
    for (int a = 0; a < 3; a++) {
        int64_t r = tile[a] + 2 * halo[a];
        *read *= r < shape[a] ? r : shape[a];
        *core *= tile[a];
    }
    if (box == NULL)
        return;
    int64_t grid[3];
    for (int a = 0; a < 3; a++)
        grid[a] = ceil_div(shape[a], tile[a]);
    *read = 1;
    for (int64_t t = 0; t < grid[0] * grid[1] * grid[2]; t++) {
        lapse_box_t c, r;
        grid_core(shape, tile, grid, t, &c);
        int64_t v = box(box_ctx, &c, &r);
        *read = v > *read ? (long long)v : *read;
    }
}

lapse_status_t lapse_plan_auto_tile(const int64_t shape[3], const int64_t halo[3], int keep_z,
                                    unsigned long long budget, unsigned long long max_alloc,
                                    lapse_plan_cost_fn cost, const void *ctx, lapse_plan_box_fn box,
                                    const void *box_ctx, int64_t tile[3])
{
    int64_t t[3] = {shape[0], shape[1], shape[2]};
    for (;;) {
        long long rv, cv;
        tile_voxels(shape, halo, t, box, box_ctx, &rv, &cv);
        if (cost(ctx, rv, cv) <= budget && (unsigned long long)rv * 4ULL <= max_alloc) {
            memcpy(tile, t, sizeof t);
            return LAPSE_OK;
        }
        /* Halve the longest axis that can still be split (z only when allowed). */
        int best = -1;
        for (int a = keep_z ? 1 : 0; a < 3; a++)
            if (t[a] > 1 && (best < 0 || t[a] > t[best]))
                best = a;
        if (best < 0)
            return lapse_fail(LAPSE_ECONFIG,
                              "no tile fits the device memory budget of %llu bytes (max buffer "
                              "%llu bytes) with halo [%lld, %lld, %lld]: reduce the pipeline's "
                              "reach or use a device with more memory",
                              budget, max_alloc, (long long)halo[0], (long long)halo[1],
                              (long long)halo[2]);
        t[best] = (t[best] + 1) / 2;
    }
}
