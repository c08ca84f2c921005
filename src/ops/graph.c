/*
 * graph.c - compiling a pipeline into a graph (see graph.h): references, shapes, dtypes,
 * liveness and work buffer slots, reach, outputs and segments. Pure host code: no OpenCL call,
 * no allocation; every error is a config error naming the step and key.
 */
#include "ops/graph.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Record a config error at step k's key. */
static lapse_status_t graph_fail(lapse_graph_err_t *err, const lapse_step_t *s, int k,
                                 const char *key, const char *fmt, const char *a, const char *b)
{
    err->step = k;
    err->key = key;
    err->mark = strcmp(key, "from") == 0   ? s->from_mark
                : strcmp(key, "with") == 0 ? s->with_mark
                : strcmp(key, "name") == 0 ? s->name_mark
                                           : (lapse_mark_t){s->line, s->column};
    for (int p = 0; s->op != NULL && p < s->op->nparams; p++) /* a parameter: at its value */
        if (strcmp(key, s->op->params[p].key) == 0 && s->param_mark[p].line > 0)
            err->mark = s->param_mark[p];
    if (err->mark.line == 0)
        err->mark = (lapse_mark_t){s->line, s->column};
    return lapse_fail(LAPSE_ECONFIG, fmt, a, b);
}

/* The node a reference names, for step k of n: LAPSE_GRAPH_INPUT, an earlier step, or an error. */
static lapse_status_t resolve(const lapse_step_t *steps, int n, int k, const char *key,
                              const char *ref, int *node, lapse_graph_err_t *err)
{
    const lapse_step_t *s = &steps[k];
    if (strcmp(ref, "input") == 0) {
        *node = LAPSE_GRAPH_INPUT;
        return LAPSE_OK;
    }
    if (s->name[0] && strcmp(ref, s->name) == 0)
        return graph_fail(err, s, k, key,
                          "'%s' is this step itself: a step cannot read its own "
                          "result (a cycle)%s",
                          ref, "");
    for (int j = 0; j < k; j++)
        if (strcmp(steps[j].name, ref) == 0) {
            *node = j;
            return LAPSE_OK;
        }
    for (int j = k + 1; j < n; j++)
        if (strcmp(steps[j].name, ref) == 0)
            return graph_fail(err, s, k, key,
                              "'%s' is a later step: a step reads only earlier steps or the "
                              "input (steps run in order; move this step after '%s')",
                              ref, ref);
    return graph_fail(err, s, k, key,
                      "no earlier step is named '%s' (name a step with name: ..., or use "
                      "from: input for the pipeline's input)%s",
                      ref, "");
}

/* Operands of every step: from: (or the previous step), with:. */
static lapse_status_t link_steps(const lapse_step_t *steps, int n, lapse_graph_t *g,
                                 lapse_graph_err_t *err)
{
    lapse_status_t st = LAPSE_OK;
    for (int k = 0; k < n; k++) {
        const lapse_step_t *s = &steps[k];
        lapse_gnode_t *nd = &g->node[k];
        nd->step = s;
        nd->nin = s->op->ninputs;
        if (s->name[0]) {
            if (strcmp(s->name, "input") == 0)
                return graph_fail(err, s, k, "name", "'%s' is reserved for the pipeline's input%s",
                                  s->name, "");
            for (int j = 0; j < k; j++)
                if (strcmp(steps[j].name, s->name) == 0)
                    return graph_fail(err, s, k, "name",
                                      "name '%s' is used twice (also by an earlier step)%s",
                                      s->name, "");
        }
        if (s->from[0])
            LAPSE_TRY(resolve(steps, n, k, "from", s->from, &nd->in[0], err));
        else
            nd->in[0] = k - 1; /* the previous step; -1 = LAPSE_GRAPH_INPUT for the first */
        if (nd->nin == 2 && s->with[0] == '\0')
            return graph_fail(err, s, k, "op",
                              "%s combines two images: give the second with with: NAME (a named "
                              "earlier step, or input)%s",
                              s->op->name, "");
        if (nd->nin == 1 && s->with[0])
            return graph_fail(err, s, k, "with",
                              "%s takes one image; with: is for operations of "
                              "two images%s",
                              s->op->name, "");
        if (nd->nin == 2)
            LAPSE_TRY(resolve(steps, n, k, "with", s->with, &nd->in[1], err));
    }
cleanup:
    return st;
}

/* Shapes and dtypes of every node at the image's size; operands of one step must agree. */
static lapse_status_t shape_steps(lapse_graph_t *g, lapse_graph_err_t *err)
{
    for (int k = 0; k < g->nsteps; k++) {
        lapse_gnode_t *nd = &g->node[k];
        const int64_t *d[LAPSE_OP_MAX_INPUTS] = {g->in_shape, g->in_shape};
        for (int i = 0; i < nd->nin; i++)
            d[i] = nd->in[i] == LAPSE_GRAPH_INPUT ? g->in_shape : g->node[nd->in[i]].dims;
        if (nd->nin == 2 && memcmp(d[0], d[1], 3 * sizeof(int64_t)) != 0) {
            char a[96], b[96];
            snprintf(a, sizeof a, "[%lld, %lld, %lld]", (long long)d[0][0], (long long)d[0][1],
                     (long long)d[0][2]);
            snprintf(b, sizeof b, "[%lld, %lld, %lld]", (long long)d[1][0], (long long)d[1][1],
                     (long long)d[1][2]);
            return graph_fail(err, nd->step, k, "with",
                              "the two images have different shapes, %s and %s (z, y, x): a "
                              "projection cannot be combined with a full volume",
                              a, b);
        }
        if (nd->step->op->check_dims) {
            char msg[512];
            const char *key = nd->step->op->check_dims(nd->step, d[0], msg, sizeof msg);
            if (key != NULL)
                return graph_fail(err, nd->step, k, key, "%s%s", msg, "");
        }
        lapse_step_out_dims(nd->step, d[0], nd->dims);
        if (nd->dims[0] < 1 || nd->dims[1] < 1 || nd->dims[2] < 1) {
            char a[96], b[96];
            snprintf(a, sizeof a, "[%lld, %lld, %lld]", (long long)d[0][0], (long long)d[0][1],
                     (long long)d[0][2]);
            snprintf(b, sizeof b, "[%lld, %lld, %lld]", (long long)nd->dims[0],
                     (long long)nd->dims[1], (long long)nd->dims[2]);
            return graph_fail(err, nd->step, k, "op",
                              "the result of this step would be empty: its input has shape %s "
                              "(z, y, x) and its result %s (check the box, factors or scale)",
                              a, b);
        }
        if (nd->dims[0] > INT32_MAX || nd->dims[1] > INT32_MAX || nd->dims[2] > INT32_MAX ||
            nd->dims[0] * nd->dims[1] > ((int64_t)1 << 58) / nd->dims[2]) {
            /* kernels index with int coordinates; products of int64_t count the bytes */
            char b[96];
            snprintf(b, sizeof b, "[%lld, %lld, %lld]", (long long)nd->dims[0],
                     (long long)nd->dims[1], (long long)nd->dims[2]);
            return graph_fail(err, nd->step, k, "op",
                              "the result of this step would have shape %s (z, y, x): at most "
                              "2^31 - 1 voxels along an axis and 2^58 in all (check the scale, "
                              "factors or angles)%s",
                              b, "");
        }
        lapse_dtype_t in_dt =
            nd->in[0] == LAPSE_GRAPH_INPUT ? g->in_dtype : g->node[nd->in[0]].dtype;
        nd->dtype = lapse_step_out_dtype(nd->step, in_dt);
    }
    return LAPSE_OK;
}

/* Last readers; every result must be read, saved or be the final one. */
static lapse_status_t check_uses(lapse_graph_t *g, lapse_graph_err_t *err)
{
    g->input_last = -1;
    for (int k = 0; k < g->nsteps; k++)
        g->node[k].last_use = -1;
    for (int k = 0; k < g->nsteps; k++)
        for (int i = 0; i < g->node[k].nin; i++) {
            int j = g->node[k].in[i];
            if (j == LAPSE_GRAPH_INPUT)
                g->input_last = k;
            else
                g->node[j].last_use = k;
        }
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_gnode_t *nd = &g->node[k];
        const lapse_global_t *gl = nd->step->op->global;
        if (gl && gl->table && nd->step->name[0] == '\0')
            return graph_fail(err, nd->step, k, "op",
                              "a %s step needs a name: its table is written to the dataset "
                              "/<name> (e.g. name: nuclei)%s",
                              nd->step->op->name, "");
    }
    for (int k = 0; k < g->nsteps - 1; k++) {
        const lapse_gnode_t *nd = &g->node[k];
        const lapse_global_t *gl = nd->step->op->global;
        if (gl && gl->table) /* its table is its result */
            continue;
        if (nd->last_use < 0 && nd->step->save[0] == '\0')
            return graph_fail(err, nd->step, k, "op",
                              "the result of this %s step is never used: save it (save: /path), "
                              "read it (from: or with: its name%s), or remove the step",
                              nd->step->op->name, nd->step->name[0] ? "" : ", after naming it");
    }
    return LAPSE_OK;
}

/* The outputs: saved steps in order, then the final result. */
static void outputs(lapse_graph_t *g, lapse_dtype_t out_dtype)
{
    g->nout = 0;
    for (int k = 0; k < g->nsteps; k++) {
        lapse_gnode_t *nd = &g->node[k];
        nd->output = -1;
        if (nd->step->save[0] && k < g->nsteps - 1) {
            nd->output = g->nout;
            g->out[g->nout++] = (lapse_goutput_t){k, nd->dtype, 0};
        }
    }
    lapse_gnode_t *fin = &g->node[g->nsteps - 1];
    fin->output = g->nout;
    g->out[g->nout++] =
        (lapse_goutput_t){g->nsteps - 1, out_dtype != LAPSE_DT_AUTO ? out_dtype : fin->dtype, 0};
    for (int o = 0; o < g->nout; o++)
        g->out[o].flat = g->node[g->out[o].node].dims[0] == 1;
}

/* The shape the tiles cover (g->out_shape, see graph.h): every output must have the final
 * result's y, x, and the non-flat ones the same z. A one-plane output of an image of more
 * planes makes the core hold whole z columns (keep_z). */
static lapse_status_t out_shape(lapse_graph_t *g, lapse_graph_err_t *err)
{
    const int64_t *fin = g->node[g->out[g->nout - 1].node].dims;
    int deep = -1; /* the first output with more than one plane */
    for (int o = 0; o < g->nout; o++)
        if (!g->out[o].flat && deep < 0)
            deep = o;
    /* the z every output of more than one plane must have: the final result's, or where that
     * is one plane, the first deep output's */
    const int64_t z = !g->out[g->nout - 1].flat ? fin[0]
                      : deep >= 0               ? g->node[g->out[deep].node].dims[0]
                                                : 1;
    for (int o = 0; o < g->nout - 1; o++) { /* the saved results against the final one */
        const lapse_gnode_t *nd = &g->node[g->out[o].node];
        const int64_t *d = nd->dims;
        if (d[1] == fin[1] && d[2] == fin[2] && (g->out[o].flat || d[0] == z))
            continue;
        const int fin_deep = !g->out[g->nout - 1].flat || deep < 0 || deep == o || d[1] != fin[1] ||
                             d[2] != fin[2]; /* (y, x: against the final) */
        const int64_t *r = fin_deep ? fin : g->node[g->out[deep].node].dims;
        char a[96], b[160];
        snprintf(a, sizeof a, "[%lld, %lld, %lld]", (long long)d[0], (long long)d[1],
                 (long long)d[2]);
        snprintf(b, sizeof b, "%s [%lld, %lld, %lld]",
                 fin_deep ? "the final result" : "an earlier saved result", (long long)r[0],
                 (long long)r[1], (long long)r[2]);
        return graph_fail(err, nd->step, g->out[o].node, "op",
                          "this saved result has shape %s (z, y, x) but %s: the outputs of one "
                          "run share one tile grid, so every saved result must have the final "
                          "result's shape (or be one plane of it); save it from a separate run",
                          a, b);
    }
    g->out_shape[0] = deep >= 0   ? g->node[g->out[deep].node].dims[0]
                      : g->keep_z ? g->in_shape[0]
                                  : 1;
    g->out_shape[1] = fin[1];
    g->out_shape[2] = fin[2];
    for (int o = 0; o < g->nout; o++)
        if (g->out[o].flat && g->out_shape[0] > 1)
            g->keep_z = 1;
    return LAPSE_OK;
}

/* A global step's per-timepoint reduction runs over the tiles of the input's image
 * (src/exec/phases.c), which a geometric step's image does not share: refuse the mix, at the
 * first geometric step. */
static lapse_status_t no_global_with_geometry(const lapse_graph_t *g, lapse_graph_err_t *err)
{
    int glob = -1, geom = -1;
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_op_t *op = g->node[k].step->op;
        if ((op->global || op->footprint == LAPSE_FP_GLOBAL) && glob < 0)
            glob = k;
        if (op->footprint == LAPSE_FP_TRANSFORM && geom < 0)
            geom = k;
    }
    if (glob < 0 || geom < 0)
        return LAPSE_OK;
    return graph_fail(err, g->node[geom].step, geom, "op",
                      "a geometric step (%s) cannot share a pipeline with a global step (%s) "
                      "yet: run them as two runs, the second reading the first's output",
                      g->node[geom].step->op->name, g->node[glob].step->op->name);
}

/* Which steps are geometric (g->transform) and which two-input steps combine operands that
 * came through different geometric steps (window): a frame is the lineage of a result's box in
 * a task; a geometric step, or a windowed one, starts a new frame. */
static void frames(lapse_graph_t *g)
{
    int fr[LAPSE_MAX_STEPS];
    g->transform = 0;
    for (int k = 0; k < g->nsteps; k++) {
        lapse_gnode_t *nd = &g->node[k];
        int f[LAPSE_OP_MAX_INPUTS] = {0, 0};
        for (int i = 0; i < nd->nin; i++)
            f[i] = nd->in[i] == LAPSE_GRAPH_INPUT ? 0 : fr[nd->in[i]];
        nd->window = nd->nin == 2 && f[0] != f[1];
        nd->win[0] = nd->win[1] = -1;
        fr[k] = f[0];
        if (nd->step->op->footprint == LAPSE_FP_TRANSFORM || nd->window)
            fr[k] = k + 1;
        if (nd->step->op->footprint == LAPSE_FP_TRANSFORM)
            g->transform = 1;
    }
}

/* A free slot other than the ones in avoid[0..navoid-1] (a new one when none is free). */
static int take_slot(int *busy, int *nbuf, const int *avoid, int navoid)
{
    for (int b = 0; b < *nbuf; b++) {
        int ok = !busy[b];
        for (int i = 0; i < navoid && ok; i++)
            ok = avoid[i] != b;
        if (ok) {
            busy[b] = 1;
            return b;
        }
    }
    busy[*nbuf] = 1;
    return (*nbuf)++;
}

/* Work buffer slots by liveness: a result holds its slot from its step to its last reader; a
 * step's output and scratch never share a slot with a live result, except that an inplace op
 * writes over its first operand when that operand dies at this step. */
static void assign_buffers(lapse_graph_t *g)
{
    int busy[LAPSE_MAX_STEPS * (LAPSE_GRAPH_SCRATCH + 4) + 2] = {0};
    g->nbuf = 0;
    g->input_buf = take_slot(busy, &g->nbuf, NULL, 0);
    for (int k = 0; k < g->nsteps; k++) {
        lapse_gnode_t *nd = &g->node[k];
        int ins[LAPSE_OP_MAX_INPUTS + LAPSE_GRAPH_SCRATCH + 1], nins = 0, dies[2] = {0, 0};
        const int nin = nd->nin;
        assert(nin >= 1 && nin <= LAPSE_OP_MAX_INPUTS); /* op.h: ninputs is 1 or 2 */
        for (int i = 0; i < nin; i++) {
            int j = nd->in[i];
            ins[nins++] = j == LAPSE_GRAPH_INPUT ? g->input_buf : g->node[j].buf;
            dies[i] = (j == LAPSE_GRAPH_INPUT ? g->input_last : g->node[j].last_use) == k;
        }
        if (nd->step->op->inplace && !nd->window && dies[0] &&
            (nin == 1 || ins[1] != ins[0] || dies[1]))
            nd->buf = ins[0];
        else
            nd->buf = take_slot(busy, &g->nbuf, ins, nins);
        ins[nins++] = nd->buf;
        for (int i = 0; i < nin && nd->window; i++) {
            nd->win[i] = take_slot(busy, &g->nbuf, ins, nins);
            ins[nins++] = nd->win[i];
        }
        for (int i = 0; i < nd->step->op->nscratch && i < LAPSE_GRAPH_SCRATCH; i++) {
            nd->scratch[i] = take_slot(busy, &g->nbuf, ins, nins);
            ins[nins++] = nd->scratch[i];
        }
        for (int i = 0; i < nd->step->op->nscratch && i < LAPSE_GRAPH_SCRATCH; i++)
            busy[nd->scratch[i]] = 0;
        for (int i = 0; i < nin && nd->window; i++)
            busy[nd->win[i]] = 0;
        for (int i = 0; i < nin; i++)
            if (dies[i] && ins[i] != nd->buf)
                busy[ins[i]] = 0;
        if (nd->last_use < 0) /* an output only: packed right after this step */
            busy[nd->buf] = 0;
    }
}

/* Reach: for every node, how far (each side) its values are needed beyond the outputs' core;
 * the input's is the pipeline's reach. Steps whose input has one z plane while the image has
 * more (after a projection) add no z reach. */
static void compute_reach(lapse_graph_t *g)
{
    int64_t need[LAPSE_MAX_STEPS][3], in_need[3] = {0, 0, 0};
    g->keep_z = 0;
    for (int k = g->nsteps - 1; k >= 0; k--) {
        lapse_gnode_t *nd = &g->node[k];
        int64_t r[3], mine[3] = {0, 0, 0};
        for (int c = k + 1; c < g->nsteps; c++) /* the readers of k are later steps */
            for (int i = 0; i < g->node[c].nin; i++)
                if (g->node[c].in[i] == k) {
                    lapse_step_reach(g->node[c].step, r);
                    if (nd->dims[0] == 1 && g->in_shape[0] > 1)
                        r[0] = 0;
                    for (int a = 0; a < 3; a++)
                        mine[a] = need[c][a] + r[a] > mine[a] ? need[c][a] + r[a] : mine[a];
                }
        memcpy(need[k], mine, sizeof mine);
        memcpy(g->node[k].need, mine, sizeof mine);
        if (nd->step->op->footprint == LAPSE_FP_PROJECTION)
            g->keep_z = 1;
    }
    for (int k = 0; k < g->nsteps; k++)
        for (int i = 0; i < g->node[k].nin; i++)
            if (g->node[k].in[i] == LAPSE_GRAPH_INPUT) {
                int64_t r[3];
                lapse_step_reach(g->node[k].step, r);
                for (int a = 0; a < 3; a++)
                    in_need[a] = need[k][a] + r[a] > in_need[a] ? need[k][a] + r[a] : in_need[a];
            }
    memcpy(g->reach, in_need, sizeof in_need);
}

int lapse_graph_is_global(const lapse_graph_t *g, int k)
{
    return g->node[k].step->op->footprint == LAPSE_FP_GLOBAL;
}

void lapse_graph_segments(lapse_graph_t *g)
{
    g->nseg = 0;
    g->seg[0] = 0;
    for (int k = 1; k < g->nsteps; k++)
        if (lapse_graph_is_global(g, k))
            g->seg[++g->nseg] = k;
    g->seg[++g->nseg] = g->nsteps;
}

lapse_status_t lapse_graph_link(const lapse_step_t *steps, int n, lapse_graph_t *g,
                                lapse_graph_err_t *err)
{
    lapse_status_t st = LAPSE_OK;
    memset(g, 0, sizeof *g);
    memset(err, 0, sizeof *err);
    if (n < 1 || n > LAPSE_MAX_STEPS)
        LAPSE_FAIL(LAPSE_ECONFIG, "a pipeline has 1 to %d steps (got %d)", LAPSE_MAX_STEPS, n);
    g->nsteps = n;
    LAPSE_TRY(link_steps(steps, n, g, err));
    LAPSE_TRY(check_uses(g, err));
cleanup:
    return st;
}

lapse_status_t lapse_graph_compile(const lapse_step_t *steps, int n, const int64_t shape[3],
                                   lapse_dtype_t in_dtype, lapse_dtype_t out_dtype,
                                   lapse_graph_t *g, lapse_graph_err_t *err)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_TRY(lapse_graph_link(steps, n, g, err));
    memcpy(g->in_shape, shape, sizeof g->in_shape);
    g->in_dtype = in_dtype;
    LAPSE_TRY(shape_steps(g, err));
    outputs(g, out_dtype);
    frames(g);
    LAPSE_TRY(no_global_with_geometry(g, err));
    assign_buffers(g);
    compute_reach(g);
    LAPSE_TRY(out_shape(g, err));
    lapse_graph_segments(g);
cleanup:
    return st;
}

void lapse_graph_dims(const lapse_graph_t *g, const int64_t read[3], int64_t dims[][3])
{
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_gnode_t *nd = &g->node[k];
        lapse_step_out_dims(nd->step, nd->in[0] == LAPSE_GRAPH_INPUT ? read : dims[nd->in[0]],
                            dims[k]);
    }
}

/* dst = the smallest box holding dst and b. */
static void box_union(lapse_box_t *dst, const lapse_box_t *b)
{
    for (int a = 0; a < 3; a++) {
        int64_t lo = b->off[a] < dst->off[a] ? b->off[a] : dst->off[a];
        int64_t hi = b->off[a] + b->dim[a], h2 = dst->off[a] + dst->dim[a];
        dst->off[a] = lo;
        dst->dim[a] = (hi > h2 ? hi : h2) - lo;
    }
}

/* dst = the common part of dst and b (empty boxes keep dim 0). */
static void box_intersect(lapse_box_t *dst, const lapse_box_t *b)
{
    for (int a = 0; a < 3; a++) {
        int64_t lo = b->off[a] > dst->off[a] ? b->off[a] : dst->off[a];
        int64_t hi = b->off[a] + b->dim[a], h2 = dst->off[a] + dst->dim[a];
        hi = hi < h2 ? hi : h2;
        dst->off[a] = lo;
        dst->dim[a] = hi > lo ? hi - lo : 0;
    }
}

/* From the outputs back to the input: want[k] = the box of node k's result that the cores of
 * the outputs need (its own core if it is an output, one plane for a flat one, united with the
 * input boxes its readers need of it); *read = the input box. Every node is an output or read
 * by a later step (lapse_graph_link), so every want[k] is set. */
static void backward(const lapse_graph_t *g, const lapse_box_t *core, lapse_box_t want[],
                     lapse_box_t *read)
{
    lapse_box_t need[LAPSE_MAX_STEPS];
    int have[LAPSE_MAX_STEPS] = {0}, have_in = 0;
    for (int k = g->nsteps - 1; k >= 0; k--) {
        const lapse_gnode_t *nd = &g->node[k];
        lapse_box_t box = *core;
        if (nd->output >= 0) {
            if (nd->dims[0] == 1) { /* one plane: the core's plane */
                box.off[0] = 0;
                box.dim[0] = 1;
            }
            if (have[k]) /* and what its readers need */
                box_union(&box, &need[k]);
        } else if (have[k]) {
            box = need[k];
        } else {
            want[k] = box; /* unreachable for a linked graph */
            continue;
        }
        want[k] = box;
        for (int i = 0; i < nd->nin; i++) {
            int j = nd->in[i];
            const int64_t *dims = j == LAPSE_GRAPH_INPUT ? g->in_shape : g->node[j].dims;
            lapse_box_t in;
            lapse_step_in_box(nd->step, &box, dims, &in);
            lapse_box_t *dst = j == LAPSE_GRAPH_INPUT ? read : &need[j];
            int *seen = j == LAPSE_GRAPH_INPUT ? &have_in : &have[j];
            if (*seen)
                box_union(dst, &in);
            else
                *dst = in;
            *seen = 1;
        }
    }
    if (!have_in)
        *read = *core;
}

void lapse_graph_read_box(const lapse_graph_t *g, const lapse_box_t *core, lapse_box_t *read)
{
    lapse_box_t want[LAPSE_MAX_STEPS];
    backward(g, core, want, read);
}

int64_t lapse_graph_node_boxes(const lapse_graph_t *g, const lapse_box_t *read,
                               const lapse_box_t *core, lapse_box_t box[])
{
    lapse_box_t want[LAPSE_MAX_STEPS], r;
    int64_t most = lapse_box_voxels(read);
    if (g->transform)
        backward(g, core, want, &r);
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_gnode_t *nd = &g->node[k];
        if (nd->step->op->footprint == LAPSE_FP_TRANSFORM) {
            box[k] = want[k];
        } else {
            lapse_box_t src = nd->in[0] == LAPSE_GRAPH_INPUT ? *read : box[nd->in[0]];
            if (nd->nin == 2)
                box_intersect(&src, nd->in[1] == LAPSE_GRAPH_INPUT ? read : &box[nd->in[1]]);
            int64_t d[3];
            lapse_step_out_dims(nd->step, src.dim, d);
            for (int a = 0; a < 3; a++) { /* an axis the op changes (a projection) starts at 0 */
                box[k].off[a] = d[a] == src.dim[a] ? src.off[a] : 0;
                box[k].dim[a] = d[a];
            }
        }
        most = lapse_box_voxels(&box[k]) > most ? lapse_box_voxels(&box[k]) : most;
    }
    return most;
}

unsigned long long lapse_graph_device_bytes(const lapse_graph_t *g, long long read_voxels,
                                            long long core_voxels)
{
    unsigned long long r = (unsigned long long)read_voxels, c = (unsigned long long)core_voxels;
    unsigned long long b = (unsigned long long)g->nbuf * r * 4ULL;
    if (g->in_dtype != LAPSE_DT_F32)
        b += r * lapse_dtype_size(g->in_dtype);
    for (int k = 0; k < g->nout; k++)
        b += c * lapse_dtype_size(g->out[k].dtype);
    unsigned long long work = 0; /* global steps: tile data over the read box, one work buffer */
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_global_t *gl = g->node[k].step->op->global;
        if (gl == NULL)
            continue;
        b += r * gl->mat_bytes;
        if (r * gl->work_bytes > work)
            work = r * gl->work_bytes;
    }
    return b + work + 64ULL * 1024ULL; /* Gaussian weights and slack */
}
