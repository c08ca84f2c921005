/*
 * phases_data.c - where the tile data of global steps lives between phases (see phases_int.h):
 * recomputed from the operand when no later step needs it beyond the core; else every tile's
 * core shared in host memory (MPI_Allgatherv) when all of it fits the host budget; the growth's
 * state kept per rank with one-voxel rings exchanged between passes; else the output's scratch
 * area (/lapse/scratch/stepK). docs/segmentation.md says when each is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/hostmem.h"
#include "exec/phases_int.h"

/* The current task's box of tile data for step k: its core (pass 0 writes it) or its read box
 * (later phases read it); one plane for a one-plane operand. */
void ph_mat_box(const lapse_phases_t *ph, int k, int core, lapse_box_t *box)
{
    const lapse_gnode_t *nd = &ph->g->node[k];
    const int64_t *dims =
        nd->in[0] == LAPSE_GRAPH_INPUT ? ph->g->in_shape : ph->g->node[nd->in[0]].dims;
    *box = core ? ph->cur.core : ph->cur.read;
    if (dims[0] == 1) {
        box->off[0] = 0;
        box->dim[0] = 1;
    }
}

/* The scratch dataset step k's pass `pass` writes (and pass + 1 reads). */
int ph_scratch_of(const lapse_phases_t *ph, int k, int pass)
{
    return ph->scratch[k] + (ph->g->node[k].step->op->global->iterate ? pass % 2 : 0);
}

/* Tile data in host memory (tdmem): ph->mat_host = box (the current task's read box) of step
 * k's data, from the cores of the current timepoint's tiles that box overlaps (tdata). */
lapse_status_t ph_tdata_box(lapse_phases_t *ph, int k, const lapse_box_t *box)
{
    lapse_status_t st = LAPSE_OK;
    const size_t e = ph->g->node[k].step->op->global->mat_bytes;
    for (int64_t tl = 0; tl < ph->ntiles; tl++) {
        lapse_task_t t;
        lapse_box_t core, b;
        lapse_plan_task(&ph->full, ph->cur_tpi * ph->ntiles + tl, &t);
        ph_tile_core(ph, k, &t, &core);
        int empty = 0;
        for (int a = 0; a < 3; a++) {
            int64_t lo = box->off[a] > core.off[a] ? box->off[a] : core.off[a];
            int64_t hi = box->off[a] + box->dim[a] < core.off[a] + core.dim[a]
                             ? box->off[a] + box->dim[a]
                             : core.off[a] + core.dim[a];
            b.off[a] = lo;
            b.dim[a] = hi - lo;
            empty |= hi <= lo;
        }
        if (empty)
            continue;
        const lapse_blob_t *src = &ph->tdata[k][ph->cur_tpi * ph->ntiles + tl];
        if (src->data == NULL || src->size != (size_t)lapse_box_voxels(&core) * e)
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: no tile data of step %d for tile %lld",
                       k + 1, (long long)tl);
        ph_copy_box(ph->mat_host, box, src->data, &core, &b, e);
    }
cleanup:
    return st;
}

/* Pass `pass` of a step with tile data: store the core's tile data (mat, on the device: the
 * core's voxels, or for an iterative step the whole buffer of dims bdim, whose core is at
 * core_rel) in the output's scratch dataset. */
lapse_status_t ph_mat_store(lapse_phases_t *ph, lapse_dev_t *d, int k, int pass, cl_mem mat,
                            const int64_t bdim[3], const lapse_box_t *core_rel)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_global_t *gl = ph->g->node[k].step->op->global;
    lapse_box_t box;
    ph_mat_box(ph, k, 1, &box);
    size_t bytes = (size_t)lapse_box_voxels(&box) * gl->mat_bytes, e = gl->mat_bytes;
    void *host = ph->mat_host;
    lapse_blob_t *mine = NULL;
    double t0 = MPI_Wtime(), t1;
    if (ph->tdmem[k]) { /* into this rank's pending tile data (tdata_share) */
        const int64_t i = ph->cur_tpi * ph->ntiles + ph->cur.tile;
        lapse_blob_t *spare = ph->tspare[k] ? &ph->tspare[k][i] : NULL;
        mine = &ph->tdown[i];
        if (mine->data == NULL && spare && spare->data && spare->size == bytes) {
            *mine = *spare; /* the tile's blob of two shares ago: its pages are mapped */
            spare->data = NULL;
            spare->size = 0;
        } else if (mine->data == NULL || mine->size != bytes) {
            if (spare)
                lapse_blob_free(spare); /* of another size: of no use to this tile */
            lapse_blob_free(mine);
            mine->data = lapse_hostmem_alloc(bytes); /* fresh pages: huge where offered */
            LAPSE_ALLOC(mine->data);
            mine->size = bytes;
        }
        if (ph->mat_pin.mem == NULL) /* else through the pinned staging, then copied */
            host = mine->data;
    }
    if (gl->iterate) { /* the core out of the buffer */
        size_t origin[3] = {(size_t)core_rel->off[2] * e, (size_t)core_rel->off[1],
                            (size_t)core_rel->off[0]};
        size_t hostorg[3] = {0, 0, 0};
        size_t region[3] = {(size_t)core_rel->dim[2] * e, (size_t)core_rel->dim[1],
                            (size_t)core_rel->dim[0]};
        LAPSE_CL(clEnqueueReadBufferRect(d->cl->queue, mat, CL_TRUE, origin, hostorg, region,
                                         (size_t)bdim[2] * e, (size_t)(bdim[1] * bdim[2]) * e,
                                         region[0], region[0] * region[1], host, 0, NULL, NULL));
    } else {
        LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, mat, CL_TRUE, 0, bytes, host, 0, NULL, NULL));
    }
    t1 = MPI_Wtime();
    ph->t_mat_down += t1 - t0;
    if (mine) {
        if (host != mine->data)
            lapse_hostmem_copy(mine->data, host, bytes);
        ph->t_mat_out += MPI_Wtime() - t1;
        goto cleanup;
    }
    st = lapse_h5out_write(ph->w->out, ph_scratch_of(ph, k, pass), ph->cur.t, &box, ph->mat_host);
    if (st != LAPSE_OK)
        st = lapse_fail_wrap(st, "writing the tile data of step %d to %s failed", k + 1,
                             ph->w->job->cfg.output_file);
cleanup:
    return st;
}

/* Later phases: load the read box's tile data of step k that pass `pass` stored from the
 * scratch dataset into mat, which must match the operand's buffer (n voxels). */
lapse_status_t ph_mat_load(lapse_phases_t *ph, lapse_dev_t *d, int k, int pass, cl_mem mat,
                           size_t n)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_global_t *gl = ph->g->node[k].step->op->global;
    lapse_box_t box;
    ph_mat_box(ph, k, 0, &box);
    if ((size_t)lapse_box_voxels(&box) != n)
        LAPSE_FAIL(LAPSE_ERUNTIME,
                   "internal error: step %d reads %lld voxels of tile data for a buffer of %zu",
                   k + 1, (long long)lapse_box_voxels(&box), n);
    if (ph->tdmem[k]) { /* the read box from every tile's shared core data */
        const double t0 = MPI_Wtime();
        LAPSE_TRY(ph_tdata_box(ph, k, &box));
        if (ph->mode == MODE_PARTIAL) /* the rounds' profile (the tasks load it too) */
            ph->t_mat_box += MPI_Wtime() - t0;
        goto upload;
    }
    st = lapse_h5out_read(ph->w->out, ph_scratch_of(ph, k, pass), ph->cur.t, &box, ph->mat_host);
    if (st != LAPSE_OK) {
        st = lapse_fail_wrap(st, "reading the tile data of step %d from %s failed", k + 1,
                             ph->w->job->cfg.output_file);
        goto cleanup;
    }
upload:;
    const double t0 = MPI_Wtime();
    LAPSE_CL(clEnqueueWriteBuffer(d->cl->queue, mat, CL_TRUE, 0, n * gl->mat_bytes, ph->mat_host, 0,
                                  NULL, NULL));
    if (ph->mode == MODE_PARTIAL)
        ph->t_mat_up += MPI_Wtime() - t0;
cleanup:
    return st;
}

/* Whether global step k's tile data is recomputed rather than stored (op.h, mat_local): no
 * later step needs its result beyond the core (graph.h, need). */
int ph_recomputed(const lapse_graph_t *g, int k)
{
    const lapse_global_t *gl = g->node[k].step->op->global;
    if (!gl->mat_bytes || !gl->mat_local || gl->iterate)
        return 0;
    for (int a = 0; a < 3; a++)
        if (g->node[k].need[a] != 0)
            return 0;
    return 1;
}

/* Recompute global step k's tile data (pass 0's partial, into mat: the core's voxels in C order)
 * and lay it out as the read box in ph->relay (the halo zero: no later step reads it there), as
 * mat_load would have from the scratch area. core: relative to the operand in. */
lapse_status_t ph_recompute(lapse_phases_t *ph, lapse_dev_t *d, int k, const lapse_dvol_t *in,
                            cl_mem mat, cl_mem work, const lapse_box_t *core)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_step_t *s = ph->g->node[k].step;
    const lapse_global_t *gl = s->op->global;
    lapse_gtile_t tile;
    lapse_blob_t tmp = {NULL, 0};
    cl_int e = CL_SUCCESS;
    const size_t eb = gl->mat_bytes, bytes = (size_t)(in->dim[0] * in->dim[1] * in->dim[2]) * eb;
    const cl_uchar zero = 0;
    ph_current_tile(ph, k, core, &tile);
    st = gl->partial(d, s, 0, NULL, &tile, in, mat, work, &tmp);
    lapse_blob_free(&tmp);
    LAPSE_TRY(st);
    if (ph->relay_bytes < bytes) {
        if (ph->relay)
            clReleaseMemObject(ph->relay);
        ph->relay_bytes = 0;
        ph->relay = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
        LAPSE_CL(e);
        ph->relay_bytes = bytes;
    }
    LAPSE_CL(clEnqueueFillBuffer(d->cl->queue, ph->relay, &zero, 1, 0, bytes, 0, NULL, NULL));
    const lapse_box_t *c = &tile.core_rel;
    size_t so[3] = {0, 0, 0};
    size_t dor[3] = {(size_t)c->off[2] * eb, (size_t)c->off[1], (size_t)c->off[0]};
    size_t region[3] = {(size_t)c->dim[2] * eb, (size_t)c->dim[1], (size_t)c->dim[0]};
    LAPSE_CL(clEnqueueCopyBufferRect(d->cl->queue, mat, ph->relay, so, dor, region, region[0],
                                     region[0] * region[1], (size_t)in->dim[2] * eb,
                                     (size_t)(in->dim[1] * in->dim[2]) * eb, 0, NULL, NULL));
cleanup:
    return st;
}

/* ---------------------------------------------------------------- tile state in memory */

/* An iterative step whose result no later step needs beyond the core (graph need 0) keeps its
 * tile state between passes in host memory when this rank's tiles fit (tmem): each rank keeps
 * the cores of its own tiles (a tile has one owner in every pass: ph->owner), and
 * after each pass every tile's ring of width reach around each neighbour's core travels to all
 * ranks (exchange); a pass then starts from its own core and its neighbours' rings (an
 * iteration reads no further). When a timepoint converged, its final state goes to the scratch
 * area once, for the tasks, which may run on any rank. */

typedef struct {
    int64_t dst;            /* the tile the ring is for */
    int64_t off[3], dim[3]; /* the box, in timepoint coordinates */
} ring_head_t;

/* Step k's core box of task t in its operand's image (one plane for a one-plane operand). */
void ph_tile_core(const lapse_phases_t *ph, int k, const lapse_task_t *t, lapse_box_t *box)
{
    const lapse_gnode_t *nd = &ph->g->node[k];
    const int64_t *dims =
        nd->in[0] == LAPSE_GRAPH_INPUT ? ph->g->in_shape : ph->g->node[nd->in[0]].dims;
    *box = t->core;
    if (dims[0] == 1) {
        box->off[0] = 0;
        box->dim[0] = 1;
    }
}

/* The current task's core (core_rel in the buffer of dims bdim) out of mat into its state. */
lapse_status_t ph_tmem_store(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem mat,
                             const int64_t bdim[3], const lapse_box_t *core_rel)
{
    lapse_status_t st = LAPSE_OK;
    const size_t e = ph->g->node[k].step->op->global->mat_bytes;
    void **slot = &ph->tstate[ph->cur_tpi * ph->ntiles + ph->cur.tile];
    size_t origin[3] = {(size_t)core_rel->off[2] * e, (size_t)core_rel->off[1],
                        (size_t)core_rel->off[0]};
    size_t host[3] = {0, 0, 0};
    size_t region[3] = {(size_t)core_rel->dim[2] * e, (size_t)core_rel->dim[1],
                        (size_t)core_rel->dim[0]};
    if (*slot == NULL) {
        *slot = lapse_hostmem_alloc(region[0] * region[1] * region[2]);
        LAPSE_ALLOC(*slot);
    }
    LAPSE_CL(clEnqueueReadBufferRect(d->cl->queue, mat, CL_TRUE, origin, host, region,
                                     (size_t)bdim[2] * e, (size_t)(bdim[1] * bdim[2]) * e,
                                     region[0], region[0] * region[1], *slot, 0, NULL, NULL));
cleanup:
    return st;
}

/* Copy box b (timepoint coordinates) of the C-order array src (box sb) into dst (box db),
 * e bytes per voxel: its rows from plane z0 to z1 (and, within one plane, rows y0 to y1). */
static void copy_box_rows(char *dst, const lapse_box_t *db, const char *src, const lapse_box_t *sb,
                          const lapse_box_t *b, size_t e, int64_t r0, int64_t r1)
{
    const size_t row = (size_t)b->dim[2] * e;
    for (int64_t r = r0; r < r1; r++) { /* r: the row's index in the box, z * ny + y */
        int64_t gz = b->off[0] + r / b->dim[1], gy = b->off[1] + r % b->dim[1], gx = b->off[2];
        size_t di = (size_t)(((gz - db->off[0]) * db->dim[1] + gy - db->off[1]) * db->dim[2] + gx -
                             db->off[2]);
        size_t si = (size_t)(((gz - sb->off[0]) * sb->dim[1] + gy - sb->off[1]) * sb->dim[2] + gx -
                             sb->off[2]);
        memcpy(dst + di * e, src + si * e, row);
    }
}

typedef struct {
    char *dst;
    const lapse_box_t *db, *sb, *b;
    const char *src;
    size_t e;
} box_job_t;

static void copy_box_part(void *v, int part, int nparts)
{
    const box_job_t *j = v;
    const int64_t rows = j->b->dim[0] * j->b->dim[1];
    copy_box_rows(j->dst, j->db, j->src, j->sb, j->b, j->e, rows * part / nparts,
                  rows * (part + 1) / nparts);
}

/* Copy box b (timepoint coordinates) of the C-order array src (box sb) into dst (box db),
 * e bytes per voxel; b must lie inside both. Large boxes are split over threads by rows
 * (hostmem.h). */
void ph_copy_box(char *dst, const lapse_box_t *db, const char *src, const lapse_box_t *sb,
                 const lapse_box_t *b, size_t e)
{
    const size_t bytes = (size_t)lapse_box_voxels(b) * e;
    box_job_t j = {dst, db, sb, b, src, e};
    if (lapse_hostmem_parts(bytes) > 1)
        lapse_hostmem_par(copy_box_part, &j, bytes);
    else
        copy_box_rows(dst, db, src, sb, b, e, 0, b->dim[0] * b->dim[1]);
}

/* The state the last pass left for the current task's buffer (its read box, n voxels): its own
 * core and its neighbours' rings, the rest zero (no voxel of the core reads it). */
lapse_status_t ph_tmem_load(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem mat,
                            const lapse_dvol_t *in)
{
    lapse_status_t st = LAPSE_OK;
    const size_t e = ph->g->node[k].step->op->global->mat_bytes;
    const size_t n = (size_t)(in->dim[0] * in->dim[1] * in->dim[2]);
    lapse_box_t rbox, core;
    ph_mat_box(ph, k, 0, &rbox);
    ph_tile_core(ph, k, &ph->cur, &core);
    const void *own = ph->tstate[ph->cur_tpi * ph->ntiles + ph->cur.tile];
    if ((size_t)lapse_box_voxels(&rbox) != n || own == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: no tile state of step %d for tile %lld", k + 1,
                   (long long)ph->cur.tile);
    memset(ph->mat_host, 0, n * e);
    ph_copy_box(ph->mat_host, &rbox, own, &core, &core, e);
    for (int64_t tl = 0; tl < ph->ntiles; tl++) {
        const lapse_blob_t *b = &ph->shells[ph->cur_tpi * ph->ntiles + tl];
        for (size_t at = 0; tl != ph->cur.tile && b->data && at < b->size;) {
            ring_head_t h;
            memcpy(&h, (const char *)b->data + at, sizeof h);
            at += sizeof h;
            lapse_box_t rb;
            memcpy(rb.off, h.off, sizeof rb.off);
            memcpy(rb.dim, h.dim, sizeof rb.dim);
            size_t bytes = (size_t)lapse_box_voxels(&rb) * e;
            if (h.dst == ph->cur.tile)
                ph_copy_box(ph->mat_host, &rbox, (const char *)b->data + at, &rb, &rb, e);
            at += (bytes + 7) & ~(size_t)7;
        }
    }
    LAPSE_CL(
        clEnqueueWriteBuffer(d->cl->queue, mat, CL_TRUE, 0, n * e, ph->mat_host, 0, NULL, NULL));
cleanup:
    return st;
}

/* The ring tile core `core` gives the tile of core cu (timepoint coordinates): the part of core
 * within reach r of cu, into *b. Returns 0 when that is empty. */
static int ring_box(const lapse_box_t *core, const lapse_box_t *cu, const int64_t r[3],
                    lapse_box_t *b)
{
    int empty = 0;
    for (int ax = 0; ax < 3; ax++) {
        int64_t lo = cu->off[ax] - r[ax], hi = cu->off[ax] + cu->dim[ax] + r[ax];
        lo = lo > core->off[ax] ? lo : core->off[ax];
        hi = hi < core->off[ax] + core->dim[ax] ? hi : core->off[ax] + core->dim[ax];
        b->off[ax] = lo;
        b->dim[ax] = hi - lo;
        empty |= hi <= lo;
    }
    return !empty;
}

/* Grow the device staging buffer of the rings to bytes (and the host one when host is 1). */
static lapse_status_t ring_room(lapse_phases_t *ph, lapse_dev_t *d, size_t bytes, int host)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    if (ph->ring_dev_bytes < bytes) {
        if (ph->ring_dev)
            clReleaseMemObject(ph->ring_dev);
        ph->ring_dev_bytes = 0;
        ph->ring_dev = clCreateBuffer(d->cl->ctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
        LAPSE_CL(e);
        ph->ring_dev_bytes = bytes;
    }
    if (host && ph->ring_host_bytes < bytes) {
        free(ph->ring_host);
        ph->ring_host_bytes = 0;
        ph->ring_host = lapse_hostmem_alloc(bytes);
        LAPSE_ALLOC(ph->ring_host);
        ph->ring_host_bytes = bytes;
    }
cleanup:
    return st;
}

/* Boxes b[0..n) (timepoint coordinates) of the float32 buffer `state` (laid out as box sbox)
 * into the same boxes of the host array dst (laid out as box dbox): gathered on the device into
 * the staging buffer and read in one piece. */
static lapse_status_t boxes_down(lapse_phases_t *ph, lapse_dev_t *d, cl_mem state,
                                 const lapse_box_t *sbox, char *dst, const lapse_box_t *dbox,
                                 const lapse_box_t *b, int64_t n)
{
    lapse_status_t st = LAPSE_OK;
    size_t total = 0, at = 0;
    for (int64_t i = 0; i < n; i++)
        total += (size_t)lapse_box_voxels(&b[i]);
    if (total == 0)
        return LAPSE_OK;
    LAPSE_TRY(ring_room(ph, d, total * sizeof(cl_float), 1));
    for (int64_t i = 0; i < n; i++) {
        lapse_box_t rel = b[i];
        for (int ax = 0; ax < 3; ax++)
            rel.off[ax] -= sbox->off[ax];
        LAPSE_TRY(lapse_dev_box_get(d, state, sbox->dim, &rel, ph->ring_dev, at));
        at += (size_t)lapse_box_voxels(&b[i]);
    }
    LAPSE_CL(clEnqueueReadBuffer(d->cl->queue, ph->ring_dev, CL_TRUE, 0, total * sizeof(cl_float),
                                 ph->ring_host, 0, NULL, NULL));
    at = 0;
    for (int64_t i = 0; i < n; i++) {
        ph_copy_box(dst, dbox, ph->ring_host + at * sizeof(cl_float), &b[i], &b[i],
                    sizeof(cl_float));
        at += (size_t)lapse_box_voxels(&b[i]);
    }
cleanup:
    return st;
}

/* The current task's read box of step k's operand (one plane for a one-plane operand). */
static void read_box(const lapse_phases_t *ph, int k, const lapse_task_t *t, lapse_box_t *box)
{
    const lapse_gnode_t *nd = &ph->g->node[k];
    const int64_t *dims =
        nd->in[0] == LAPSE_GRAPH_INPUT ? ph->g->in_shape : ph->g->node[nd->in[0]].dims;
    *box = t->read;
    if (dims[0] == 1) {
        box->off[0] = 0;
        box->dim[0] = 1;
    }
}

/* The next ring record of shell blob b from *at on (advanced past it): its header, data and
 * size (e bytes per voxel). Returns 0 at the end. */
static int ring_next(const lapse_blob_t *b, size_t *at, size_t e, ring_head_t *h, const char **data,
                     size_t *bytes)
{
    if (b->data == NULL || *at >= b->size)
        return 0;
    memcpy(h, (const char *)b->data + *at, sizeof *h);
    *data = (const char *)b->data + *at + sizeof *h;
    *bytes = (size_t)(h->dim[0] * h->dim[1] * h->dim[2]) * e;
    *at += sizeof *h + ((*bytes + 7) & ~(size_t)7);
    return 1;
}

lapse_status_t ph_tmem_load_dev(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem state, size_t n)
{
    lapse_status_t st = LAPSE_OK;
    const size_t e = ph->g->node[k].step->op->global->mat_bytes;
    lapse_box_t rbox;
    read_box(ph, k, &ph->cur, &rbox);
    if (e != sizeof(cl_float) || (size_t)lapse_box_voxels(&rbox) != n)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: the kept state of step %d for tile %lld", k + 1,
                   (long long)ph->cur.tile);
    /* three times over the rings for this tile: their size; staged on the host and written in
     * one piece; put in place */
    for (int step = 0; step < 3; step++) {
        size_t total = 0;
        for (int64_t tl = 0; tl < ph->ntiles; tl++) {
            const lapse_blob_t *b = &ph->shells[ph->cur_tpi * ph->ntiles + tl];
            ring_head_t h;
            const char *data;
            size_t bytes;
            for (size_t at = 0; tl != ph->cur.tile && ring_next(b, &at, e, &h, &data, &bytes);) {
                if (h.dst != ph->cur.tile)
                    continue;
                if (step == 1)
                    memcpy(ph->ring_host + total, data, bytes);
                if (step == 2) {
                    lapse_box_t rel;
                    memcpy(rel.dim, h.dim, sizeof rel.dim);
                    for (int ax = 0; ax < 3; ax++)
                        rel.off[ax] = h.off[ax] - rbox.off[ax];
                    LAPSE_TRY(lapse_dev_box_put(d, ph->ring_dev, total / e, state, rbox.dim, &rel));
                }
                total += bytes;
            }
        }
        if (total == 0)
            break;
        if (step == 0)
            LAPSE_TRY(ring_room(ph, d, total, 1));
        if (step == 1)
            LAPSE_CL(clEnqueueWriteBuffer(d->cl->queue, ph->ring_dev, CL_TRUE, 0, total,
                                          ph->ring_host, 0, NULL, NULL));
    }
cleanup:
    return st;
}

lapse_status_t ph_tmem_rings_down(lapse_phases_t *ph, lapse_dev_t *d, int k, cl_mem state, size_t n)
{
    lapse_status_t st = LAPSE_OK;
    int64_t r[3], nr = 0;
    lapse_box_t rbox, core;
    lapse_box_t *rings = malloc((size_t)ph->ntiles * sizeof *rings);
    LAPSE_ALLOC(rings);
    lapse_step_reach(ph->g->node[k].step, r);
    read_box(ph, k, &ph->cur, &rbox);
    ph_tile_core(ph, k, &ph->cur, &core);
    char *own = ph->tstate[ph->cur_tpi * ph->ntiles + ph->cur.tile];
    if (own == NULL || (size_t)lapse_box_voxels(&rbox) != n)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: no tile state of step %d for tile %lld", k + 1,
                   (long long)ph->cur.tile);
    for (int64_t u = 0; u < ph->ntiles; u++) {
        lapse_task_t tu;
        lapse_box_t cu;
        if (u == ph->cur.tile)
            continue;
        lapse_plan_task(&ph->full, ph->cur_tpi * ph->ntiles + u, &tu);
        ph_tile_core(ph, k, &tu, &cu);
        nr += ring_box(&core, &cu, r, &rings[nr]);
    }
    LAPSE_TRY(boxes_down(ph, d, state, &rbox, own, &core, rings, nr));
cleanup:
    free(rings);
    return st;
}

lapse_status_t ph_tmem_down(lapse_phases_t *ph, lapse_dev_t *d, int k, int64_t tpi,
                            const lapse_task_t *t, cl_mem state)
{
    lapse_status_t st = LAPSE_OK;
    lapse_box_t rbox, core;
    read_box(ph, k, t, &rbox);
    ph_tile_core(ph, k, t, &core);
    char *own = ph->tstate[tpi * ph->ntiles + t->tile];
    if (own == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: no tile state of step %d for tile %lld", k + 1,
                   (long long)t->tile);
    /* straight into the host copy: no staging as large as the core */
    size_t origin[3] = {(size_t)(core.off[2] - rbox.off[2]) * sizeof(cl_float),
                        (size_t)(core.off[1] - rbox.off[1]), (size_t)(core.off[0] - rbox.off[0])};
    size_t host[3] = {0, 0, 0};
    size_t region[3] = {(size_t)core.dim[2] * sizeof(cl_float), (size_t)core.dim[1],
                        (size_t)core.dim[0]};
    LAPSE_CL(clEnqueueReadBufferRect(d->cl->queue, state, CL_TRUE, origin, host, region,
                                     (size_t)rbox.dim[2] * sizeof(cl_float),
                                     (size_t)(rbox.dim[1] * rbox.dim[2]) * sizeof(cl_float),
                                     region[0], region[0] * region[1], own, 0, NULL, NULL));
cleanup:
    return st;
}

/* Collective: after a pass of step k over the timepoints of a, every tile's rings for its
 * neighbours (the part of its core within the step's reach of theirs) to every rank. */
lapse_status_t ph_tmem_exchange(lapse_phases_t *ph, int k, const active_t *a)
{
    lapse_status_t st = LAPSE_OK, lst = LAPSE_OK;
    lapse_worker_t *w = ph->w;
    const size_t e = ph->g->node[k].step->op->global->mat_bytes;
    int64_t r[3], n = a->n * ph->ntiles, nmine = 0;
    lapse_step_reach(ph->g->node[k].step, r);
    int64_t *idx = malloc((size_t)(n + 1) * sizeof *idx);
    lapse_blob_t *mine = calloc((size_t)(n + 1), sizeof *mine);
    if (!idx || !mine)
        lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the rings of step %d", k + 1);
    for (int64_t j = 0; lst == LAPSE_OK && j < n; j++) {
        int64_t i = j / ph->ntiles, tl = j % ph->ntiles, tpi = a->tpi[i];
        if (!ph_owns(ph, tpi, tl))
            continue;
        const void *own = ph->tstate[tpi * ph->ntiles + tl];
        lapse_task_t t;
        lapse_box_t core;
        lapse_plan_task(&ph->full, tpi * ph->ntiles + tl, &t);
        ph_tile_core(ph, k, &t, &core);
        size_t cap = 0, used = 0;
        char *buf = NULL;
        for (int64_t u = 0; own && u < ph->ntiles; u++) {
            lapse_task_t tu;
            lapse_box_t cu, b;
            if (u == tl)
                continue;
            lapse_plan_task(&ph->full, tpi * ph->ntiles + u, &tu);
            ph_tile_core(ph, k, &tu, &cu);
            if (!ring_box(&core, &cu, r, &b))
                continue;
            size_t bytes = (size_t)lapse_box_voxels(&b) * e,
                   need = sizeof(ring_head_t) + ((bytes + 7) & ~(size_t)7);
            if (buf == NULL || used + need > cap) {
                size_t ncap = (used + need) * 2;
                char *nb = realloc(buf, ncap);
                if (nb == NULL) {
                    lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the rings of step %d", k + 1);
                    break;
                }
                buf = nb;
                cap = ncap;
            }
            ring_head_t h = {u, {b.off[0], b.off[1], b.off[2]}, {b.dim[0], b.dim[1], b.dim[2]}};
            memcpy(buf + used, &h, sizeof h);
            memset(buf + used + sizeof h, 0, need - sizeof h);
            ph_copy_box(buf + used + sizeof h, &b, own, &core, &b, e);
            used += need;
        }
        idx[nmine] = tpi * ph->ntiles + tl;
        mine[nmine].data = buf;
        mine[nmine].size = used;
        nmine++;
    }
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(w->r->world, lst));
    st = ph_exchange(w->r->world, w->r->nranks, idx, mine, nmine, ph->shells, ph->ntps * ph->ntiles,
                     1);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    st = lapse_agree(w->r->world, st);
cleanup:
    for (int64_t i = 0; mine && i < nmine; i++)
        lapse_blob_free(&mine[i]);
    free(idx);
    free(mine);
    return st;
}

/* This rank's tiles of timepoint index tpi: their last state into the
 * scratch dataset of pass `pass` (the tasks' mat_load reads it there). */
lapse_status_t ph_tmem_final(lapse_phases_t *ph, int k, int64_t tpi, int pass)
{
    lapse_status_t st = LAPSE_OK;
    for (int64_t tl = 0; tl < ph->ntiles; tl++) {
        if (!ph_owns(ph, tpi, tl))
            continue;
        lapse_task_t t;
        lapse_box_t core;
        lapse_plan_task(&ph->full, tpi * ph->ntiles + tl, &t);
        ph_tile_core(ph, k, &t, &core);
        void *own = ph->tstate[tpi * ph->ntiles + tl];
        if (own == NULL)
            LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: no state of tile %lld", (long long)tl);
        if (ph->tdmem[k]) { /* to the shared tile data at the end of the rounds */
            lapse_blob_t *b = &ph->tdown[tpi * ph->ntiles + tl];
            lapse_blob_free(b);
            b->data = own;
            b->size = (size_t)lapse_box_voxels(&core) * ph->g->node[k].step->op->global->mat_bytes;
            ph->tstate[tpi * ph->ntiles + tl] = NULL;
            continue;
        }
        st = lapse_h5out_write(ph->w->out, ph_scratch_of(ph, k, pass), t.t, &core, own);
        if (st != LAPSE_OK) {
            st = lapse_fail_wrap(st, "writing the tile data of step %d to %s failed", k + 1,
                                 ph->w->job->cfg.output_file);
            goto cleanup;
        }
    }
cleanup:
    return st;
}

/* Forget the tile states and rings. */
void ph_tmem_clear(lapse_phases_t *ph)
{
    for (int64_t i = 0; i < ph->ntps * ph->ntiles; i++) {
        if (ph->tstate) {
            free(ph->tstate[i]);
            ph->tstate[i] = NULL;
        }
        if (ph->shells)
            lapse_blob_free(&ph->shells[i]);
    }
    if (ph->ring_dev)
        clReleaseMemObject(ph->ring_dev);
    ph->ring_dev = NULL;
    ph->ring_dev_bytes = 0;
    free(ph->ring_host);
    ph->ring_host = NULL;
    ph->ring_host_bytes = 0;
    ph->tmem = 0;
}

/* Collective: whether step k's tile state over the timepoints of a stays in host memory: no
 * later step needs it beyond the core, and this rank's tiles fit the host budget on every
 * rank. When not, why[len] says why (rank 0 prints it; its count of ranks on the host is its
 * own). */
lapse_status_t ph_tmem_decide(lapse_phases_t *ph, int k, const active_t *a, int *on, char *why,
                              size_t len)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_gnode_t *nd = &ph->g->node[k];
    const int core = nd->need[0] == 0 && nd->need[1] == 0 && nd->need[2] == 0;
    int ok = core && ph->tstate && ph->shells && ph->mat_host;
    double mine = 0;
    for (int64_t j = 0; j < a->n * ph->ntiles; j++)
        if (ph_owns(ph, a->tpi[j / ph->ntiles], j % ph->ntiles))
            mine += (double)ph->full.max_core_voxels * (double)nd->step->op->global->mat_bytes;
    /* over the ranks: the most the state and the cache would take beyond the budget */
    double over = mine + (double)ph->cached - (double)ph->cache_max, most = 0;
    ok = ok && over <= 0;
    int all = 0;
    LAPSE_MPI(MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, ph->w->r->world));
    LAPSE_MPI(MPI_Allreduce(&over, &most, 1, MPI_DOUBLE, MPI_MAX, ph->w->r->world));
    *on = all;
    char over_s[32];
    lapse_human_bytes(most > 0 ? (unsigned long long)most : 0, over_s, sizeof over_s);
    if (all)
        why[0] = '\0';
    else if (!core)
        snprintf(why, len, " (a later step reads it beyond the core)");
    else if (most > 0)
        snprintf(why, len,
                 " (kept in host memory with the input cache it would exceed a rank's host "
                 "budget by up to %s: LAPSE_PHASE_CACHE, by default a quarter of the memory "
                 "lapse may use shared by the ranks on a host, %d on rank 0's)",
                 over_s, ph->w->r->local_size);
    else
        snprintf(why, len, " (host memory for it could not be allocated on some rank)");
cleanup:
    return st;
}

/* Collective: this rank's pending tile data of step k (tdown) to every rank's tdata[k] (an
 * MPI_Allgatherv of the cores: what fits the host budget, tdata_decide). */
lapse_status_t ph_tdata_share(lapse_phases_t *ph, int k)
{
    lapse_status_t st = LAPSE_OK, lst = LAPSE_OK;
    const double t0 = MPI_Wtime();
    int64_t nall = ph->ntps * ph->ntiles, nmine = 0;
    int64_t *idx = malloc((size_t)(nall + 1) * sizeof *idx);
    lapse_blob_t *mine = calloc((size_t)(nall + 1), sizeof *mine);
    if (!idx || !mine)
        lst = lapse_fail(LAPSE_ENOMEM, "out of memory for the tile data of step %d", k + 1);
    for (int64_t i = 0; lst == LAPSE_OK && i < nall; i++)
        if (ph->tdown[i].data) {
            idx[nmine] = i;
            mine[nmine++] = ph->tdown[i];
            ph->tdown[i].data = NULL;
            ph->tdown[i].size = 0;
        }
    if (lst != LAPSE_OK)
        lapse_err_print(lst);
    LAPSE_TRY(lapse_agree(ph->w->r->world, lst));
    st = ph_exchange(ph->w->r->world, ph->w->r->nranks, idx, mine, nmine, ph->tdata[k], nall, 1);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    for (int64_t i = 0; st == LAPSE_OK && ph->tspare[k] && i < nmine; i++) { /* the old blobs */
        lapse_blob_free(&ph->tspare[k][idx[i]]);
        ph->tspare[k][idx[i]] = mine[i];
        mine[i].data = NULL;
        mine[i].size = 0;
    }
    st = lapse_agree(ph->w->r->world, st);
cleanup:
    for (int64_t i = 0; mine && i < nmine; i++)
        lapse_blob_free(&mine[i]);
    free(idx);
    free(mine);
    ph->t_share += MPI_Wtime() - t0;
    return st;
}

/* Collective: whether the tile data of every global step with tile data that is not recomputed
 * stays in host memory for the wave (tdmem[k]): the tiles of all such steps of the wave's active
 * timepoints a fit half of the host budget (LAPSE_PHASE_CACHE) on every rank; the host input
 * cache keeps the rest of the budget. Else every such step uses the output's scratch area. Rank
 * 0 prints the choice for the first wave, and again when a later wave's differs. */
lapse_status_t ph_tdata_decide(lapse_phases_t *ph, const active_t *a)
{
    lapse_status_t st = LAPSE_OK;
    double total = 0;
    int any = 0;
    for (int k = 0; k < ph->g->nsteps; k++) {
        const lapse_global_t *gl = ph->g->node[k].step->op->global;
        if (!gl || !gl->mat_bytes || ph_recomputed(ph->g, k))
            continue;
        double b = (double)a->n * (double)ph->ntiles * (double)ph->full.max_core_voxels *
                   (double)gl->mat_bytes;
        total += b;
        any = 1;
    }
    int ok = any && ph->tdown && ph->mat_host && total <= 0.5 * (double)ph->cache_max;
    int all = 0;
    double budget = (double)ph->cache_max, least = 0; /* the smallest budget, for the message */
    LAPSE_MPI(MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, ph->w->r->world));
    LAPSE_MPI(MPI_Allreduce(&budget, &least, 1, MPI_DOUBLE, MPI_MIN, ph->w->r->world));
    for (int k = 0; all && k < ph->g->nsteps; k++) {
        const lapse_global_t *gl = ph->g->node[k].step->op->global;
        if (!gl || !gl->mat_bytes || ph_recomputed(ph->g, k))
            continue;
        ph->tdata[k] = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof(lapse_blob_t));
        ph->tspare[k] = calloc((size_t)(ph->ntps * ph->ntiles + 1), sizeof(lapse_blob_t));
        ph->tdmem[k] = ph->tdata[k] != NULL && ph->tspare[k] != NULL;
    }
    if (all) /* the input cache keeps the rest, less the exchange's second copy of the data */
        ph->cache_max = ph->cache_max > 2 * (size_t)total ? ph->cache_max - 2 * (size_t)total : 0;
    /* a rank that could not allocate leaves tdmem 0: every rank must agree */
    for (int k = 0; k < ph->g->nsteps; k++) {
        int mine = ph->tdmem[k], both = 0;
        LAPSE_MPI(MPI_Allreduce(&mine, &both, 1, MPI_INT, MPI_MIN, ph->w->r->world));
        ph->tdmem[k] = both;
    }
    /* why the scratch area: the budget (with what it would take), or memory not allocated */
    char why[320] = "", need_s[32], half_s[32];
    lapse_human_bytes((unsigned long long)total, need_s, sizeof need_s);
    lapse_human_bytes((unsigned long long)(0.5 * least), half_s, sizeof half_s);
    if (total > 0.5 * least)
        snprintf(why, sizeof why,
                 " (kept in host memory it would take %s on every rank, more than %s, half of "
                 "the smallest per-rank host budget: LAPSE_PHASE_CACHE, by default a quarter of "
                 "the memory lapse may use shared by the ranks on a host, %d on rank 0's)",
                 need_s, half_s, ph->w->r->local_size);
    else
        snprintf(why, sizeof why, " (host memory for it could not be allocated on some rank)");
    unsigned told = 0; /* printed once, and again for a wave whose choice differs */
    for (int k = 0; k < ph->g->nsteps; k++)
        told = 2u * told + (unsigned)ph->tdmem[k];
    if (ph->tdata_told == told + 1u)
        goto cleanup;
    ph->tdata_told = told + 1u;
    for (int k = 0; k < ph->g->nsteps && ph->w->r->rank == 0; k++) {
        const lapse_global_t *gl = ph->g->node[k].step->op->global;
        if (gl && gl->mat_bytes)
            printf("lapse: global step %d (%s): tile data %s%s\n", k + 1,
                   ph->g->node[k].step->op->name,
                   ph_recomputed(ph->g, k) ? "recomputed where needed (nothing kept)"
                   : ph->tdmem[k]          ? "shared in host memory between phases"
                                           : "in the output's scratch area",
                   ph_recomputed(ph->g, k) || ph->tdmem[k] ? "" : why);
    }
    fflush(stdout);
cleanup:
    return st;
}
