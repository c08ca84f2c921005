/*
 * config_pipeline.c - the pipeline: section of the config (see config.h): each step's op, its
 * parameters by kind (number, integer, vector, enum, per-axis booleans, matrix, list of numbers,
 * a kernel source file, as the op's descriptor says), its graph links (name, from, with) and
 * save; then the graph checks (ops/graph.h), reported at the offending key's file:line:column.
 * A kernel source file is only named here: lapse_config_load_sources reads it.
 */
#include "config_walk.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/reader.h"
#include "ops/graph.h"

lapse_status_t lapse_config_graph(const lapse_config_t *cfg, const lapse_input_info_t *in,
                                  struct lapse_graph *g)
{
    lapse_graph_t links; /* only links are checked when no input is given */
    lapse_graph_err_t err;
    lapse_status_t st;
    if (in == NULL)
        st = lapse_graph_link(cfg->steps, cfg->nsteps, &links, &err);
    else
        st = lapse_graph_compile(cfg->steps, cfg->nsteps, in->shape, in->dtype, cfg->output_dtype,
                                 g, &err);
    if (st == LAPSE_OK)
        return st;
    char msg[1024], kp[KEYPATH_MAX];
    snprintf(msg, sizeof msg, "%s", lapse_errmsg());
    lapse_err_clear();
    const int item = err.step >= 0 && err.step < cfg->nsteps ? cfg->steps[err.step].item : err.step;
    snprintf(kp, sizeof kp, "pipeline[%d].%s", item, err.key ? err.key : "op");
    return lapse_config_fail(cfg, err.mark, kp, "%s", msg);
}

/* The operation named by a step's op: value. */
/* The edit distance (insertions, deletions, substitutions) between a and b, each at most 63
 * characters long (longer ones: 64). */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    int row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The operation whose name is closest to name when it is close enough to be a typo (at most
 * a third of name's letters, and at least 2, differ), else NULL. */
static const char *closest_op(const char *name)
{
    int limit = (int)strlen(name) / 3 > 2 ? (int)strlen(name) / 3 : 2, best = limit + 1;
    const char *found = NULL;
    for (int i = 0; i < lapse_op_count(); i++) {
        int d = edit_distance(name, lapse_op_at(i)->name);
        if (d < best) {
            best = d;
            found = lapse_op_at(i)->name;
        }
    }
    return found;
}

static lapse_status_t step_op(walk_t *w, const yaml_node_t *n, const char *kp,
                              const lapse_op_t **out)
{
    char pkp[KEYPATH_MAX], list[1024];
    yaml_node_t *opn = NULL;
    lapse_status_t st =
        cfg_map_need(w, n, kp, "op", "(the operation name, e.g. op: gaussian_blur)", &opn);
    if (st != LAPSE_OK)
        return st;
    snprintf(pkp, sizeof pkp, "%.40s.op", kp);
    if (opn->type != YAML_SCALAR_NODE || cfg_is_null(opn))
        return lapse_config_fail(w->cfg, cfg_mark_of(opn), pkp,
                                 "expected an operation name, got %s", cfg_node_kind(opn));
    if (strlen(cfg_scalar(opn)) != opn->data.scalar.length)
        return lapse_config_fail(w->cfg, cfg_mark_of(opn), pkp, "must not contain NUL characters");
    *out = lapse_op_find(cfg_scalar(opn));
    if (*out != NULL)
        return LAPSE_OK;
    const char *near = closest_op(cfg_scalar(opn));
    if (near != NULL)
        return lapse_config_fail(w->cfg, cfg_mark_of(opn), pkp,
                                 "unknown operation '%.60s'; did you mean '%s'? (lapse ops lists "
                                 "them all)",
                                 cfg_scalar(opn), near);
    size_t l = 0;
    list[0] = '\0';
    for (int i = 0; i < lapse_op_count() && l < sizeof list; i++)
        l += (size_t)snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "",
                              lapse_op_at(i)->name);
    return lapse_config_fail(w->cfg, cfg_mark_of(opn), pkp,
                             "unknown operation '%.60s' (lapse ops lists them); known: %s",
                             cfg_scalar(opn), list);
}

/* A YAML boolean: true/false (also yes/no, on/off), each lower case, capitalised or upper case
 * as YAML 1.1 spells them (True, TRUE); quoted or not, as every word of a config. */
static lapse_status_t get_bool(const walk_t *w, const yaml_node_t *n, const char *kp, double *v)
{
    static const char *const words[] = {"false", "true", "no", "yes", "off", "on", NULL};
    if (n != NULL && n->type == YAML_SCALAR_NODE &&
        strlen(cfg_scalar(n)) == n->data.scalar.length) {
        const char *s = cfg_scalar(n);
        for (int i = 0; words[i] != NULL; i++) {
            char cap[8], up[8];
            size_t len = strlen(words[i]);
            for (size_t c = 0; c <= len; c++)
                cap[c] = up[c] = (char)toupper((unsigned char)words[i][c]);
            for (size_t c = 1; c <= len; c++)
                cap[c] = words[i][c];
            if (strcmp(s, words[i]) == 0 || strcmp(s, cap) == 0 || strcmp(s, up) == 0) {
                *v = i % 2;
                return LAPSE_OK;
            }
        }
    }
    int idx = 0;
    return cfg_get_word(w, n, kp, "boolean", words, &idx); /* fails: names what it got */
}

/* Per-axis booleans: {z: true, x: false} (missing axes false) or [z, y, x]. */
static lapse_status_t get_bool3(const walk_t *w, const yaml_node_t *n, const char *kp, double v[3])
{
    static const char *const axes[] = {"z", "y", "x", NULL};
    char ekp[KEYPATH_MAX];
    lapse_status_t st = LAPSE_OK;
    v[0] = v[1] = v[2] = 0.0;
    if (n != NULL && n->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *it = n->data.sequence.items.start;
        if (n->data.sequence.items.top - it != 3)
            return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "expected [z, y, x] booleans");
        for (int a = 0; a < 3 && st == LAPSE_OK; a++) {
            snprintf(ekp, sizeof ekp, "%.100s[%d]", kp, a);
            st = get_bool(w, cfg_node_at(w, it[a]), ekp, &v[a]);
        }
        return st;
    }
    if (n == NULL || n->type != YAML_MAPPING_NODE)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp,
                                 "expected per-axis booleans like {z: true, x: false}, got %s",
                                 cfg_node_kind(n));
    st = cfg_check_keys(w, n, kp, axes, NULL, "per-axis booleans");
    for (int a = 0; a < 3 && st == LAPSE_OK; a++) {
        yaml_node_t *e = cfg_map_get(w, n, axes[a]);
        snprintf(ekp, sizeof ekp, "%.100s.%s", kp, axes[a]);
        if (e != NULL)
            st = get_bool(w, e, ekp, &v[a]);
    }
    return st;
}

/* A 3x4 matrix: three rows [z, y, x] of four numbers. */
static lapse_status_t get_matrix(const walk_t *w, const yaml_node_t *n, const char *kp,
                                 const lapse_param_spec_t *ps, double v[12])
{
    char ekp[KEYPATH_MAX];
    if (n == NULL || n->type != YAML_SEQUENCE_NODE ||
        n->data.sequence.items.top - n->data.sequence.items.start != 3)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp,
                                 "expected a 3x4 matrix: three rows (z, y, x) of 4 numbers");
    for (int r = 0; r < 3; r++) {
        yaml_node_t *row = cfg_node_at(w, n->data.sequence.items.start[r]);
        if (row == NULL || row->type != YAML_SEQUENCE_NODE ||
            row->data.sequence.items.top - row->data.sequence.items.start != 4)
            return lapse_config_fail(w->cfg, cfg_mark_of(row), kp, "row %d: expected 4 numbers", r);
        for (int c = 0; c < 4; c++) {
            snprintf(ekp, sizeof ekp, "%.100s[%d][%d]", kp, r, c);
            lapse_status_t st = cfg_get_ranged(w, cfg_node_at(w, row->data.sequence.items.start[c]),
                                               ekp, 0, ps->min, ps->max, &v[4 * r + c]);
            if (st != LAPSE_OK)
                return st;
        }
    }
    return LAPSE_OK;
}

/* The range of a parameter as the device sees it: float parameters (numbers, vectors, matrices)
 * reach the kernels as float32, so values beyond FLT_MAX (which would become inf) are refused
 * here, by kind, whatever the descriptor's own bounds. */
static lapse_param_spec_t device_range(const lapse_param_spec_t *ps)
{
    lapse_param_spec_t r = *ps;
    if (ps->kind == LAPSE_PARAM_FLOAT || ps->kind == LAPSE_PARAM_VEC3_FLOAT ||
        ps->kind == LAPSE_PARAM_MATRIX || ps->kind == LAPSE_PARAM_LIST) {
        r.min = r.min > -FLT_MAX ? r.min : -FLT_MAX;
        r.max = r.max < FLT_MAX ? r.max : FLT_MAX;
    }
    return r;
}

/* A list of at most LAPSE_PARAM_LIST_MAX numbers (one number is a list of one) into v[0..7];
 * the entries not given stay 0. */
static lapse_status_t get_list(const walk_t *w, const yaml_node_t *n, const char *kp,
                               const lapse_param_spec_t *ps, double v[LAPSE_PARAM_LIST_MAX])
{
    char ekp[KEYPATH_MAX];
    for (int i = 0; i < LAPSE_PARAM_LIST_MAX; i++)
        v[i] = 0.0;
    if (n != NULL && n->type == YAML_SCALAR_NODE)
        return cfg_get_ranged(w, n, kp, 0, ps->min, ps->max, &v[0]);
    if (n == NULL || n->type != YAML_SEQUENCE_NODE)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp,
                                 "expected a list of up to %d numbers, got %s",
                                 LAPSE_PARAM_LIST_MAX, cfg_node_kind(n));
    yaml_node_item_t *it = n->data.sequence.items.start;
    long cnt = (long)(n->data.sequence.items.top - it);
    if (cnt > LAPSE_PARAM_LIST_MAX)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "too many numbers (%ld, at most %d)",
                                 cnt, LAPSE_PARAM_LIST_MAX);
    for (long i = 0; i < cnt; i++) {
        snprintf(ekp, sizeof ekp, "%.100s[%ld]", kp, i);
        lapse_status_t st =
            cfg_get_ranged(w, cfg_node_at(w, it[i]), ekp, 0, ps->min, ps->max, &v[i]);
        if (st != LAPSE_OK)
            return st;
    }
    return LAPSE_OK;
}

/* The file named by a LAPSE_PARAM_SOURCE parameter: a path relative to the config file's
 * directory (or absolute), made into the step's source (its text is read later, by
 * lapse_config_load_sources). The path goes into a `#line` directive of the OpenCL program, so
 * quotes, backslashes and control characters are refused. */
static lapse_status_t get_source(walk_t *w, const yaml_node_t *n, const char *kp, lapse_step_t *s)
{
    char name[4096];
    lapse_status_t st = cfg_get_string(w, n, kp, name, sizeof name);
    if (st != LAPSE_OK)
        return st;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c == '"' || *c == '\\' || *c < 0x20 || *c == 0x7f)
            return lapse_config_fail(w->cfg, cfg_mark_of(n), kp,
                                     "the file name must not contain quotes, backslashes or "
                                     "control characters");
    s->source = calloc(1, sizeof *s->source);
    if (s->source == NULL)
        return lapse_fail(LAPSE_ENOMEM, "out of memory: a kernel source");
    const char *slash = strrchr(w->cfg->path, '/');
    int dir = name[0] != '/' && slash != NULL ? (int)(slash - w->cfg->path) + 1 : 0;
    if ((size_t)snprintf(s->source->path, sizeof s->source->path, "%.*s%s", dir, w->cfg->path,
                         name) >= sizeof s->source->path)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "the path is too long");
    lapse_mark_t m = cfg_mark_of(n);
    snprintf(s->source->where, sizeof s->source->where, "%s:%d:%d: %s", w->cfg->path, m.line,
             m.column, kp);
    return LAPSE_OK;
}

/* One parameter value of a step, by its kind. */
static lapse_status_t get_param(walk_t *w, const yaml_node_t *v, const char *pkp,
                                const lapse_param_spec_t *spec, double *out)
{
    int idx = 0;
    lapse_status_t st;
    const lapse_param_spec_t range = device_range(spec), *ps = &range;
    switch (ps->kind) {
    case LAPSE_PARAM_FLOAT:
    case LAPSE_PARAM_INT:
        return cfg_get_ranged(w, v, pkp, ps->kind == LAPSE_PARAM_INT, ps->min, ps->max, &out[0]);
    case LAPSE_PARAM_VEC3_FLOAT:
    case LAPSE_PARAM_VEC3_INT:
        return cfg_get_vec3(w, v, pkp, ps->kind == LAPSE_PARAM_VEC3_INT, ps->min, ps->max, 1, out);
    case LAPSE_PARAM_ENUM:
        st = cfg_get_word(w, v, pkp, ps->key, ps->choices, &idx);
        out[0] = idx;
        return st;
    case LAPSE_PARAM_BOOL3:
        return get_bool3(w, v, pkp, out);
    case LAPSE_PARAM_MATRIX:
        return get_matrix(w, v, pkp, ps, out);
    case LAPSE_PARAM_LIST:
        return get_list(w, v, pkp, ps, out);
    case LAPSE_PARAM_SOURCE:
        break; /* walk_step: get_source */
    }
    return lapse_config_fail(w->cfg, cfg_mark_of(v), pkp, "unsupported parameter kind");
}

/* A step name or reference: a letter or _, then letters, digits, _ or -. */
static lapse_status_t get_step_name(walk_t *w, const yaml_node_t *n, const char *kp, char *buf,
                                    lapse_mark_t *mark)
{
    lapse_status_t st = cfg_get_string(w, n, kp, buf, LAPSE_STEP_NAME_MAX);
    if (st != LAPSE_OK)
        return st;
    *mark = cfg_mark_of(n);
    int ok = (buf[0] >= 'a' && buf[0] <= 'z') || (buf[0] >= 'A' && buf[0] <= 'Z') || buf[0] == '_';
    for (const char *c = buf + 1; *c && ok; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
             *c == '_' || *c == '-';
    if (!ok)
        return lapse_config_fail(w->cfg, *mark, kp,
                                 "'%.60s' is not a step name (a letter or _, then letters, "
                                 "digits, _ or -)",
                                 buf);
    return LAPSE_OK;
}

/* The graph keys of a step: name, from, with, save. */
static lapse_status_t step_links(walk_t *w, const yaml_node_t *n, const char *kp, int k,
                                 lapse_step_t *s)
{
    char pkp[KEYPATH_MAX];
    lapse_status_t st = LAPSE_OK;
    yaml_node_t *v;
    struct {
        const char *key;
        char *buf;
        lapse_mark_t *mark;
    } refs[] = {{"name", s->name, &s->name_mark},
                {"from", s->from, &s->from_mark},
                {"with", s->with, &s->with_mark}};
    for (size_t i = 0; i < sizeof refs / sizeof *refs && st == LAPSE_OK; i++)
        if ((v = cfg_map_get(w, n, refs[i].key)) != NULL) {
            snprintf(pkp, sizeof pkp, "%.40s.%s", kp, refs[i].key);
            st = get_step_name(w, v, pkp, refs[i].buf, refs[i].mark);
        }
    if (st == LAPSE_OK && (v = cfg_map_get(w, n, "save")) != NULL) {
        snprintf(pkp, sizeof pkp, "%.40s.save", kp);
        w->save_mark[k] = cfg_mark_of(v);
        st = cfg_get_string(w, v, pkp, s->save, sizeof s->save);
        if (st == LAPSE_OK)
            st = cfg_check_h5path(w, cfg_mark_of(v), pkp, s->save);
    }
    return st;
}

/* One pipeline step (a mapping with op, the op's parameters, name, from, with and save): item
 * k of the list into c->steps[k2] (k2 >= k when compositions before it expanded). */
static lapse_status_t walk_step(walk_t *w, const yaml_node_t *n, int k, int k2)
{
    static const char *const step_keys[] = {"op", "save", "name", "from", "with", NULL};
    lapse_config_t *c = w->cfg;
    lapse_step_t *s = &c->steps[k2];
    char kp[KEYPATH_MAX], pkp[KEYPATH_MAX], opname[64];
    const lapse_op_t *op = NULL;
    snprintf(kp, sizeof kp, "pipeline[%d]", k);
    lapse_status_t st = cfg_need_mapping(w, n, kp);
    if (st == LAPSE_OK)
        st = step_op(w, n, kp, &op);
    if (st != LAPSE_OK)
        return st;
    assert(op != NULL); /* step_op sets it when it returns LAPSE_OK */
    snprintf(opname, sizeof opname, "a %s step", op->name);
    const char *pkeys[LAPSE_OP_MAX_PARAMS + 1] = {NULL};
    for (int p = 0; p < op->nparams; p++)
        pkeys[p] = op->params[p].key;
    st = cfg_check_keys(w, n, kp, step_keys, pkeys, opname);
    if (st != LAPSE_OK)
        return st;

    lapse_step_init(s, op);
    lapse_mark_t m = cfg_mark_of(n);
    s->line = m.line;
    s->column = m.column;
    for (int p = 0; p < op->nparams; p++) {
        const lapse_param_spec_t *ps = &op->params[p];
        yaml_node_t *v = cfg_map_get(w, n, ps->key);
        snprintf(pkp, sizeof pkp, "%.40s.%.40s", kp, ps->key);
        if (v == NULL) {
            if (ps->required)
                return lapse_config_fail(c, m, pkp, "missing required key (%s needs %s: %s)",
                                         op->name, ps->key, ps->help);
            continue;
        }
        s->param_mark[p] = cfg_mark_of(v);
        if (ps->kind == LAPSE_PARAM_SOURCE)
            st = get_source(w, v, pkp, s);
        else
            st = get_param(w, v, pkp, ps, s->p[p].v);
        if (st != LAPSE_OK)
            return st;
    }
    s->item = k;
    if (s->source != NULL)
        snprintf(s->source->config, sizeof s->source->config, "%s", c->path);
    return step_links(w, n, kp, k2, s);
}

/* Replace the composition at c->steps[k2] (item k of the list) by its steps; *n becomes the
 * number of steps so far. */
static lapse_status_t expand_step(walk_t *w, const yaml_node_t *node, int k, int k2, int *n)
{
    lapse_config_t *c = w->cfg;
    lapse_step_t s = c->steps[k2];
    char kp[KEYPATH_MAX], src[LAPSE_STEP_NAME_MAX];
    lapse_mark_t save_mark = w->save_mark[k2];
    snprintf(kp, sizeof kp, "pipeline[%d]", k);
    if (s.from[0])
        snprintf(src, sizeof src, "%s", s.from);
    else if (k2 == 0)
        snprintf(src, sizeof src, "input");
    else { /* the previous step, named if it has no name */
        if (c->steps[k2 - 1].name[0] == '\0')
            snprintf(c->steps[k2 - 1].name, sizeof c->steps[k2 - 1].name, "_%d_src", k);
        snprintf(src, sizeof src, "%s", c->steps[k2 - 1].name);
    }
    int m = s.op->expand(&s, src, k, &c->steps[k2], LAPSE_MAX_STEPS - k2);
    if (m < 0)
        return lapse_config_fail(c, cfg_mark_of(node), kp,
                                 "too many steps: %s expands into several steps and the "
                                 "pipeline would have more than %d",
                                 s.op->name, LAPSE_MAX_STEPS);
    for (int i = 0; i < m; i++) {
        lapse_step_t *e = &c->steps[k2 + i];
        e->line = s.line;
        e->column = s.column;
        e->item = k;
        e->name_mark = e->from_mark = e->with_mark = (lapse_mark_t){s.line, s.column};
        memset(e->param_mark, 0, sizeof e->param_mark); /* its own params: at the step */
        w->save_mark[k2 + i] = save_mark;
    }
    *n = k2 + m;
    return LAPSE_OK;
}

lapse_status_t cfg_walk_pipeline(walk_t *w, const yaml_node_t *top)
{
    lapse_config_t *c = w->cfg;
    yaml_node_t *p = NULL;
    lapse_status_t st = cfg_map_need(w, top, "", "pipeline", "(a list of steps)", &p);
    if (st != LAPSE_OK)
        return st;
    if (p->type != YAML_SEQUENCE_NODE)
        return lapse_config_fail(c, cfg_mark_of(p), "pipeline", "expected a list of steps, got %s",
                                 cfg_node_kind(p));
    yaml_node_item_t *it = p->data.sequence.items.start;
    long cnt = (long)(p->data.sequence.items.top - it);
    if (cnt == 0)
        return lapse_config_fail(c, cfg_mark_of(p), "pipeline", "must have at least one step");
    if (cnt > LAPSE_MAX_STEPS)
        return lapse_config_fail(c, cfg_mark_of(p), "pipeline", "too many steps (%ld, at most %d)",
                                 cnt, LAPSE_MAX_STEPS);
    for (int k = 0, n = 0; k < (int)cnt; k++) {
        if (n >= LAPSE_MAX_STEPS)
            return lapse_config_fail(c, cfg_mark_of(p), "pipeline",
                                     "too many steps after expanding compositions (at most %d)",
                                     LAPSE_MAX_STEPS);
        yaml_node_t *node = cfg_node_at(w, it[k]);
        st = walk_step(w, node, k, n);
        if (st == LAPSE_OK && c->steps[n].op->expand)
            st = expand_step(w, node, k, n, &n);
        else
            n++;
        if (st != LAPSE_OK)
            return st;
        c->nsteps = n;
    }
    return lapse_config_graph(c, NULL, NULL);
}

/* 1 when s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF)
 * without NUL bytes; else 0 and *bad the offset of the first bad byte. */
static int utf8_ok(const unsigned char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k = c < 0x80             ? 0
                   : (c & 0xe0) == 0xc0 ? 1
                   : (c & 0xf0) == 0xe0 ? 2
                   : (c & 0xf8) == 0xf0 ? 3
                                        : 4;
        unsigned long cp = k == 0 ? c : k == 1 ? c & 0x1f : k == 2 ? c & 0x0f : c & 0x07;
        int ok = c != 0 && k < 4 && i + k < n;
        for (size_t j = 1; ok && j <= k; j++) {
            ok = (s[i + j] & 0xc0) == 0x80;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (ok && k > 0)
            ok = (k == 1 && cp >= 0x80) ||
                 (k == 2 && cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff)) ||
                 (k == 3 && cp >= 0x10000 && cp <= 0x10ffff);
        if (!ok) {
            *bad = i;
            return 0;
        }
        i += k + 1;
    }
    return 1;
}

/* The line number (from 1) of the first preprocessing line `#include` (or `# include`) in the
 * NUL-terminated text, or 0 when there is none. */
static int include_line(const char *text)
{
    int line = 1;
    for (const char *p = text; *p; line++) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#') {
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            if (strncmp(p, "include", 7) == 0)
                return line;
        }
        while (*p && *p != '\n')
            p++;
        if (*p == '\n')
            p++;
    }
    return 0;
}

/* Read the file of source src into src->text (at most LAPSE_SOURCE_MAX bytes, UTF-8, no NUL). */
static lapse_status_t read_source(lapse_source_t *src)
{
    lapse_status_t st = LAPSE_OK;
    char *buf = NULL;
    size_t n = 0, bad = 0;
    FILE *f = fopen(src->path, "rb");
    if (f == NULL)
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: cannot open the kernel file %s: %s", src->where, src->path,
                   strerror(errno));
    buf = malloc(LAPSE_SOURCE_MAX + 2);
    LAPSE_ALLOC(buf);
    n = fread(buf, 1, LAPSE_SOURCE_MAX + 1, f);
    if (ferror(f))
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: cannot read the kernel file %s: %s", src->where, src->path,
                   strerror(errno));
    if (n > LAPSE_SOURCE_MAX)
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: the kernel file %s is too large (more than %d bytes)",
                   src->where, src->path, LAPSE_SOURCE_MAX);
    if (!utf8_ok((const unsigned char *)buf, n, &bad)) {
        size_t line = 1, col = 1; /* the place of byte bad in characters, as editors count */
        for (size_t i = 0; i < bad; i++)
            if (buf[i] == '\n')
                line++, col = 1;
            else if (((unsigned char)buf[i] & 0xc0) != 0x80) /* not a continuation byte */
                col++;
        LAPSE_FAIL(LAPSE_ECONFIG,
                   "%s: the kernel file %s is not UTF-8 text: %s (0x%02x) at %s:%zu:%zu (byte "
                   "offset %zu)",
                   src->where, src->path, buf[bad] == 0 ? "a NUL byte" : "a bad byte",
                   (unsigned)(unsigned char)buf[bad], src->path, line, col, bad);
    }
    buf[n] = '\0';
    if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) { /* a byte-order mark (Windows editors) */
        memmove(buf, buf + 3, n - 2);
        n -= 3;
    }
    int inc = include_line(buf);
    if (inc > 0)
        LAPSE_FAIL(LAPSE_ECONFIG,
                   "%s: %s:%d: #include is not supported in a kernel file: put the code in this "
                   "one file (its text is part of the output's fingerprint; an included file's "
                   "would not be, so editing it would go unnoticed)",
                   src->where, src->path, inc);
    src->text = buf;
    src->len = n;
    buf = NULL;
cleanup:
    free(buf);
    if (f != NULL)
        fclose(f);
    return st;
}

lapse_status_t lapse_config_load_sources(lapse_config_t *cfg)
{
    for (int k = 0; k < cfg->nsteps; k++) {
        lapse_source_t *src = cfg->steps[k].source;
        if (src == NULL || src->text != NULL)
            continue;
        lapse_status_t st = read_source(src);
        if (st != LAPSE_OK)
            return st;
    }
    return LAPSE_OK;
}
