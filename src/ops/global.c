/*
 * global.c - a global operation over a timepoint held whole by one task (see global.h), and
 * the blob type of the global hooks.
 */
#include "ops/global.h"

#include <stdlib.h>
#include <string.h>

void lapse_blob_free(lapse_blob_t *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->size = 0;
}

void lapse_gtile_whole(const int64_t dim[3], lapse_gtile_t *t)
{
    memset(t, 0, sizeof *t);
    for (int a = 0; a < 3; a++) {
        t->img[a] = dim[a];
        t->core.dim[a] = dim[a];
        t->core_rel.dim[a] = dim[a];
    }
}

lapse_status_t lapse_global_whole(lapse_dev_t *d, const lapse_step_t *s, const lapse_dvol_t *in,
                                  const lapse_dvol_t *out, cl_mem mat, cl_mem work,
                                  lapse_blob_t *res)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_global_t *g = s->op->global;
    lapse_blob_t prev = {NULL, 0}, part = {NULL, 0}, next = {NULL, 0};
    lapse_gtile_t tile;
    if (g == NULL)
        LAPSE_FAIL(LAPSE_ERUNTIME, "internal error: %s has no global hooks", s->op->name);
    lapse_gtile_whole(in->dim, &tile);
    for (int pass = 0; pass < g->npass; pass++) {
        LAPSE_TRY(g->partial(d, s, pass, pass ? &prev : NULL, &tile, in, mat, work, &part));
        LAPSE_TRY(g->reduce(s, pass, pass ? &prev : NULL, &tile, &part, 1, &next));
        lapse_blob_free(&part);
        lapse_blob_free(&prev);
        prev = next;
        next.data = NULL;
        next.size = 0;
    }
    LAPSE_TRY(g->apply(d, s, &prev, in, mat, out));
    if (res) {
        *res = prev;
        prev.data = NULL;
        prev.size = 0;
    }
cleanup:
    lapse_blob_free(&part);
    lapse_blob_free(&prev);
    lapse_blob_free(&next);
    return st;
}
