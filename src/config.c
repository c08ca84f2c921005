/*
 * config.c - loads and validates the YAML run configuration (see config.h, docs/config.md).
 *
 * The text is loaded with libyaml's document API (aliases are resolved into shared nodes) and
 * then walked along the fixed schema below, never recursively: every container is looked at
 * only where the schema expects one, so self-referencing or deeply nested documents cannot
 * blow up the walk. Every problem is reported once, as "<file>:<line>:<col>: <keypath>: <what>",
 * through lapse_config_fail() and LAPSE_ECONFIG.
 */
#include "config.h"

#include "io/reader.h"
#include "tpsel.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define CONFIG_MAX_BYTES (1 << 20) /* larger files are refused before parsing */
#define TILE_MAX         1000000   /* per-axis bound on tiles.shape and tiles.halo */
#define DEVICE_INDEX_MAX 65535
#define KEYPATH_MAX      128
#define CONFIG_MAX_DEPTH 32 /* containers nested deeper than this are refused */

#include "io/reader.h"
#include "ops/graph.h"

/* Walk state: the config being filled and the loaded document. */
typedef struct {
    lapse_config_t *cfg;
    yaml_document_t *doc;
    lapse_mark_t save_mark[LAPSE_MAX_STEPS]; /* positions of pipeline[k].save values */
    lapse_mark_t output_dataset_mark;
} walk_t;

static const char *const top_keys[] = {"input",  "timepoints", "tiles",      "pipeline",
                                       "output", "devices",    "scheduling", NULL};
static const char *const input_keys[] = {"file", "dataset", NULL};
static const char *const tiles_keys[] = {"shape", "halo", NULL};
static const char *const output_keys[] = {"file", "dataset", "dtype", "mode", NULL};
static const char *const devices_keys[] = {"kind", "index", NULL};

/* ------------------------------------------------------------------ messages */

lapse_status_t lapse_config_fail(const lapse_config_t *cfg, lapse_mark_t at, const char *keypath,
                                 const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *path = cfg && cfg->path[0] ? cfg->path : "<config>";
    const char *key = keypath && keypath[0] ? keypath : "(top level)";
    if (at.line > 0)
        return lapse_fail(LAPSE_ECONFIG, "%s:%d:%d: %s: %s", path, at.line, at.column, key, msg);
    return lapse_fail(LAPSE_ECONFIG, "%s: %s: %s", path, key, msg);
}

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
    snprintf(kp, sizeof kp, "pipeline[%d].%s", err.step, err.key ? err.key : "op");
    return lapse_config_fail(cfg, err.mark, kp, "%s", msg);
}

static lapse_mark_t mark_of(const yaml_node_t *n)
{
    lapse_mark_t m = {0, 0};
    if (n != NULL) {
        m.line = (int)n->start_mark.line + 1;
        m.column = (int)n->start_mark.column + 1;
    }
    return m;
}

/* "a, b, c" from a NULL-terminated list, plus one extra word when extra != NULL. */
static void join_words(const char *const *words, const char *extra, char *buf, size_t len)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (int i = 0; words[i] != NULL && pos < len; i++)
        pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", i ? ", " : "", words[i]);
    if (extra != NULL && pos < len)
        snprintf(buf + pos, len - pos, "%s%s", pos ? ", " : "", extra);
}

/* keypath "parent.key" (or "key" at the top level), bounded. */
static void key_join(char *buf, const char *parent, const char *key)
{
    size_t n = strnlen(parent, KEYPATH_MAX - 1);
    memmove(buf, parent, n);
    if (n > 0 && n < KEYPATH_MAX - 1)
        buf[n++] = '.';
    size_t k = strnlen(key, 60);
    if (k > KEYPATH_MAX - 1 - n)
        k = KEYPATH_MAX - 1 - n;
    memcpy(buf + n, key, k);
    buf[n + k] = '\0';
}

/* ------------------------------------------------------------------ node helpers */

static yaml_node_t *node_at(const walk_t *w, int id)
{
    return yaml_document_get_node(w->doc, id);
}

static int is_null(const yaml_node_t *n)
{
    if (n == NULL)
        return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = (const char *)n->data.scalar.value;
    return strcmp(s, "") == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* What a node is, for "expected X, got Y" messages: a kind, or a scalar's text. The text
 * lives in a static buffer until the next call (config loading is single-threaded). */
static const char *node_kind(const yaml_node_t *n)
{
    static char buf[64];
    if (is_null(n))
        return "an empty value";
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            snprintf(buf, sizeof buf, "'%.40s'", (const char *)n->data.scalar.value);
        else
            snprintf(buf, sizeof buf, "the quoted string \"%.40s\"",
                     (const char *)n->data.scalar.value);
        return buf;
    }
}

/* Scalar text (never NULL; only valid for scalar nodes). */
static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* Check that map is a mapping whose keys are unique plain words from allowed (NULL-terminated)
 * or from extra (NULL-terminated, may be NULL). what names the mapping in messages. */
static lapse_status_t check_keys(const walk_t *w, const yaml_node_t *map, const char *path,
                                 const char *const *allowed, const char *const *extra,
                                 const char *what)
{
    char kp[KEYPATH_MAX];
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(w, p->key);
        if (k == NULL || k->type != YAML_SCALAR_NODE)
            return lapse_config_fail(w->cfg, mark_of(k), path[0] ? path : "(top level)",
                                     "keys must be plain words, got %s", node_kind(k));
        const char *name = scalar(k);
        key_join(kp, path, name);
        int known = 0;
        for (int i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(allowed[i], name) == 0;
        for (int i = 0; extra != NULL && extra[i] != NULL && !known; i++)
            known = strcmp(extra[i], name) == 0;
        if (!known || strlen(name) != k->data.scalar.length) {
            char list[512];
            join_words(allowed, NULL, list, sizeof list);
            if (extra != NULL) {
                size_t l = strlen(list);
                for (int i = 0; extra[i] != NULL && l < sizeof list; i++)
                    l += (size_t)snprintf(list + l, sizeof list - l, ", %s", extra[i]);
            }
            return lapse_config_fail(w->cfg, mark_of(k), kp, "unknown key in %s; allowed: %s", what,
                                     list);
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = node_at(w, q->key);
            if (k2 != NULL && k2->type == YAML_SCALAR_NODE && strcmp(scalar(k2), name) == 0)
                return lapse_config_fail(w->cfg, mark_of(k), kp,
                                         "duplicate key (first given at line %d)",
                                         mark_of(k2).line);
        }
    }
    return LAPSE_OK;
}

/* Value node of key in map, or NULL when absent. Keys were checked by check_keys. */
static yaml_node_t *map_get(const walk_t *w, const yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(w, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE && strcmp(scalar(k), key) == 0)
            return node_at(w, p->value);
    }
    return NULL;
}

/* Required child: the value of key, or a "missing" error at the parent mapping. */
static lapse_status_t map_need(const walk_t *w, const yaml_node_t *map, const char *path,
                               const char *key, const char *hint, yaml_node_t **out)
{
    char kp[KEYPATH_MAX];
    *out = map_get(w, map, key);
    if (*out != NULL)
        return LAPSE_OK;
    key_join(kp, path, key);
    return lapse_config_fail(w->cfg, mark_of(map), kp, "missing required key%s%s", hint ? " " : "",
                             hint ? hint : "");
}

static lapse_status_t need_mapping(const walk_t *w, const yaml_node_t *n, const char *kp)
{
    if (n != NULL && n->type == YAML_MAPPING_NODE)
        return LAPSE_OK;
    return lapse_config_fail(w->cfg, mark_of(n), kp, "expected a mapping, got %s", node_kind(n));
}

/* A non-empty string scalar that fits in buf (len bytes, no NUL bytes inside). */
static lapse_status_t get_string(const walk_t *w, const yaml_node_t *n, const char *kp, char *buf,
                                 size_t len)
{
    if (n == NULL || n->type != YAML_SCALAR_NODE || is_null(n))
        return lapse_config_fail(w->cfg, mark_of(n), kp, "expected a string, got %s", node_kind(n));
    const char *s = scalar(n);
    size_t l = n->data.scalar.length;
    if (l == 0)
        return lapse_config_fail(w->cfg, mark_of(n), kp, "must not be empty");
    if (strlen(s) != l)
        return lapse_config_fail(w->cfg, mark_of(n), kp, "must not contain NUL characters");
    if (l >= len)
        return lapse_config_fail(w->cfg, mark_of(n), kp, "too long (%zu bytes, at most %zu)", l,
                                 len - 1);
    memcpy(buf, s, l + 1);
    return LAPSE_OK;
}

/* One of words (NULL-terminated); *idx is its index. what: "mode", "dtype"... */
static lapse_status_t get_word(const walk_t *w, const yaml_node_t *n, const char *kp,
                               const char *what, const char *const *words, int *idx)
{
    char list[256];
    join_words(words, NULL, list, sizeof list);
    if (n == NULL || n->type != YAML_SCALAR_NODE || is_null(n))
        return lapse_config_fail(w->cfg, mark_of(n), kp, "expected one of %s, got %s", list,
                                 node_kind(n));
    for (int i = 0; words[i] != NULL; i++) {
        if (strcmp(words[i], scalar(n)) == 0) {
            *idx = i;
            return LAPSE_OK;
        }
    }
    return lapse_config_fail(w->cfg, mark_of(n), kp, "unknown %s '%.60s'; expected one of %s", what,
                             scalar(n), list);
}

/* 1 when s spells an infinity or NaN (YAML's .inf/.nan or C's inf/nan). */
static int spells_nonfinite(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '.')
        s++;
    return strncmp(s, "inf", 3) == 0 || strncmp(s, "Inf", 3) == 0 || strncmp(s, "INF", 3) == 0 ||
           strncmp(s, "nan", 3) == 0 || strncmp(s, "NaN", 3) == 0 || strncmp(s, "NAN", 3) == 0;
}

/* A finite number from a plain scalar; integer != 0 also requires an integral value. */
static lapse_status_t get_number(const walk_t *w, const yaml_node_t *n, const char *kp, int integer,
                                 double *out)
{
    const char *want = integer ? "an integer" : "a number";
    if (n == NULL || n->type != YAML_SCALAR_NODE || is_null(n))
        return lapse_config_fail(w->cfg, mark_of(n), kp, "expected %s, got %s", want, node_kind(n));
    const char *s = scalar(n);
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return lapse_config_fail(w->cfg, mark_of(n), kp,
                                 "expected %s, got the quoted string \"%.40s\"", want, s);
    if (spells_nonfinite(s))
        return lapse_config_fail(w->cfg, mark_of(n), kp, "must be a finite number (got %.40s)", s);
    char *end = NULL;
    errno = 0;
    if (integer) {
        long long v = strtoll(s, &end, 10);
        if (end != s && *end == '\0' && strlen(s) == n->data.scalar.length) {
            if (errno == ERANGE)
                return lapse_config_fail(w->cfg, mark_of(n), kp, "integer out of range (%.40s)", s);
            *out = (double)v;
            return LAPSE_OK;
        }
        errno = 0;
    }
    double d = strtod(s, &end);
    if (end == s || *end != '\0' || strlen(s) != n->data.scalar.length || s[0] == ' ')
        return lapse_config_fail(w->cfg, mark_of(n), kp, "expected %s, got '%.40s'", want, s);
    if (errno == ERANGE && fabs(d) > 1.0)
        return lapse_config_fail(w->cfg, mark_of(n), kp, "must be a finite number (%.40s)", s);
    if (!isfinite(d))
        return lapse_config_fail(w->cfg, mark_of(n), kp, "must be a finite number (got %.40s)", s);
    if (integer && d != floor(d))
        return lapse_config_fail(w->cfg, mark_of(n), kp, "must be an integer (got %.40s)", s);
    if (integer && fabs(d) > 9.0e15)
        return lapse_config_fail(w->cfg, mark_of(n), kp, "integer out of range (%.40s)", s);
    *out = d;
    return LAPSE_OK;
}

/* A number within [lo, hi]. */
static lapse_status_t get_ranged(const walk_t *w, const yaml_node_t *n, const char *kp, int integer,
                                 double lo, double hi, double *out)
{
    double v = 0.0;
    lapse_status_t st = get_number(w, n, kp, integer, &v);
    if (st != LAPSE_OK)
        return st;
    if (v < lo)
        return lapse_config_fail(w->cfg, mark_of(n), kp, "must be >= %.15g (got %.40s)", lo,
                                 scalar(n));
    if (v > hi)
        return lapse_config_fail(w->cfg, mark_of(n), kp, "must be <= %.15g (got %.40s)", hi,
                                 scalar(n));
    *out = v;
    return LAPSE_OK;
}

/* A VEC3: one number (all axes) or [z, y, x]; allow_scalar == 0 demands the list. */
static lapse_status_t get_vec3(const walk_t *w, const yaml_node_t *n, const char *kp, int integer,
                               double lo, double hi, int allow_scalar, double v[3])
{
    lapse_status_t st = LAPSE_OK;
    if (n != NULL && n->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *it = n->data.sequence.items.start;
        long cnt = (long)(n->data.sequence.items.top - it);
        if (cnt != 3)
            return lapse_config_fail(w->cfg, mark_of(n), kp,
                                     "expected a list of 3 values [z, y, x], got %ld", cnt);
        for (int a = 0; a < 3; a++) {
            char ekp[KEYPATH_MAX];
            snprintf(ekp, sizeof ekp, "%.100s[%d]", kp, a);
            st = get_ranged(w, node_at(w, it[a]), ekp, integer, lo, hi, &v[a]);
            if (st != LAPSE_OK)
                return st;
        }
        return LAPSE_OK;
    }
    if (!allow_scalar && n != NULL && n->type == YAML_SCALAR_NODE && !is_null(n))
        return lapse_config_fail(w->cfg, mark_of(n), kp, "expected a list [z, y, x], got '%.40s'",
                                 scalar(n));
    if (!allow_scalar)
        return lapse_config_fail(w->cfg, mark_of(n), kp, "expected a list [z, y, x], got %s",
                                 node_kind(n));
    if (n != NULL && n->type == YAML_MAPPING_NODE)
        return lapse_config_fail(w->cfg, mark_of(n), kp,
                                 "expected a number or a list [z, y, x], got a mapping");
    double x = 0.0;
    st = get_ranged(w, n, kp, integer, lo, hi, &x);
    if (st == LAPSE_OK)
        v[0] = v[1] = v[2] = x;
    return st;
}

/* An HDF5 dataset path: absolute, no empty components, no trailing slash. */
static lapse_status_t check_h5path(const walk_t *w, lapse_mark_t at, const char *kp, const char *p)
{
    size_t l = strlen(p);
    if (p[0] != '/' || l < 2)
        return lapse_config_fail(w->cfg, at, kp,
                                 "dataset path must be absolute, like /name (got '%.60s')", p);
    if (strstr(p, "//") != NULL || p[l - 1] == '/')
        return lapse_config_fail(w->cfg, at, kp,
                                 "dataset path has an empty component (got '%.60s')", p);
    return LAPSE_OK;
}

/* 1 when p is /lapse or below it (reserved for lapse's own metadata). */
static int under_lapse(const char *p)
{
    return strcmp(p, "/lapse") == 0 || strncmp(p, "/lapse/", 7) == 0;
}

/* ------------------------------------------------------------------ sections */

static lapse_status_t walk_input(walk_t *w, const yaml_node_t *top)
{
    lapse_config_t *c = w->cfg;
    yaml_node_t *in = NULL, *f = NULL, *d = NULL;
    lapse_status_t st = map_need(w, top, "", "input", "(input: {file, dataset})", &in);
    if (st == LAPSE_OK)
        st = need_mapping(w, in, "input");
    if (st == LAPSE_OK)
        st = check_keys(w, in, "input", input_keys, NULL, "input");
    if (st == LAPSE_OK)
        st = map_need(w, in, "input", "file", "(the HDF5 file to read)", &f);
    if (st == LAPSE_OK)
        st = get_string(w, f, "input.file", c->input_file, sizeof c->input_file);
    if (st == LAPSE_OK)
        st = map_need(w, in, "input", "dataset", "(the 4-D dataset to read, e.g. /raw)", &d);
    if (st == LAPSE_OK)
        st = get_string(w, d, "input.dataset", c->input_dataset, sizeof c->input_dataset);
    if (st == LAPSE_OK) {
        char err[256];
        if (lapse_reader_check_dataset(c->input_file, c->input_dataset, err, sizeof err) != 0)
            st = lapse_config_fail(c, mark_of(d), "input.dataset", "%s", err);
    }
    c->input_file_mark = mark_of(f);
    c->input_dataset_mark = mark_of(d);
    return st;
}

static lapse_status_t walk_timepoints(walk_t *w, const yaml_node_t *top)
{
    lapse_config_t *c = w->cfg;
    yaml_node_t *n = map_get(w, top, "timepoints");
    if (n == NULL)
        return LAPSE_OK;
    c->timepoints_mark = mark_of(n);
    if (n->type != YAML_SCALAR_NODE || is_null(n))
        return lapse_config_fail(c, mark_of(n), "timepoints",
                                 "expected a selection like \"0-99:2, 120\", got %s", node_kind(n));
    if (n->data.scalar.length == 0)
        return LAPSE_OK; /* timepoints: "" selects every timepoint */
    lapse_status_t st = get_string(w, n, "timepoints", c->timepoints, sizeof c->timepoints);
    if (st != LAPSE_OK)
        return st;
    char err[256];
    if (lapse_tpsel_parse(c->timepoints, -1, NULL, NULL, err, sizeof err) != 0)
        return lapse_config_fail(c, mark_of(n), "timepoints", "%s", err);
    /* Normalise "all" to "" (the documented meaning of an empty selection). */
    const char *s = c->timepoints;
    while (*s == ' ' || *s == '\t')
        s++;
    if (strncmp(s, "all", 3) == 0)
        c->timepoints[0] = '\0';
    return LAPSE_OK;
}

/* tiles.shape / tiles.halo: "auto" or a vector. */
static lapse_status_t walk_tile_vec(walk_t *w, const yaml_node_t *n, const char *kp, int is_halo,
                                    int *is_auto, int64_t out[3])
{
    if (n->type == YAML_SCALAR_NODE && strcmp(scalar(n), "auto") == 0) {
        *is_auto = 1;
        return LAPSE_OK;
    }
    if (n->type == YAML_MAPPING_NODE || is_null(n))
        return lapse_config_fail(w->cfg, mark_of(n), kp, "expected auto or [z, y, x], got %s",
                                 node_kind(n));
    double v[3];
    lapse_status_t st = get_vec3(w, n, kp, 1, is_halo ? 0.0 : 1.0, TILE_MAX, is_halo, v);
    if (st != LAPSE_OK)
        return st;
    *is_auto = 0;
    for (int a = 0; a < 3; a++)
        out[a] = (int64_t)v[a];
    return LAPSE_OK;
}

static lapse_status_t walk_tiles(walk_t *w, const yaml_node_t *top)
{
    lapse_config_t *c = w->cfg;
    yaml_node_t *t = map_get(w, top, "tiles");
    if (t == NULL)
        return LAPSE_OK;
    lapse_status_t st = need_mapping(w, t, "tiles");
    if (st == LAPSE_OK)
        st = check_keys(w, t, "tiles", tiles_keys, NULL, "tiles");
    if (st != LAPSE_OK)
        return st;
    yaml_node_t *s = map_get(w, t, "shape"), *h = map_get(w, t, "halo");
    if (s != NULL) {
        c->tile_mark = mark_of(s);
        st = walk_tile_vec(w, s, "tiles.shape", 0, &c->tile_auto, c->tile);
    }
    if (st == LAPSE_OK && h != NULL) {
        c->halo_mark = mark_of(h);
        st = walk_tile_vec(w, h, "tiles.halo", 1, &c->halo_auto, c->halo);
    }
    return st;
}

/* The operation named by a step's op: value. */
static lapse_status_t step_op(walk_t *w, const yaml_node_t *n, const char *kp,
                              const lapse_op_t **out)
{
    char pkp[KEYPATH_MAX], list[1024];
    yaml_node_t *opn = NULL;
    lapse_status_t st = map_need(w, n, kp, "op", "(the operation name, e.g. op: gaussian_blur)", &opn);
    if (st != LAPSE_OK)
        return st;
    snprintf(pkp, sizeof pkp, "%.40s.op", kp);
    if (opn->type != YAML_SCALAR_NODE || is_null(opn))
        return lapse_config_fail(w->cfg, mark_of(opn), pkp, "expected an operation name, got %s",
                                 node_kind(opn));
    *out = lapse_op_find(scalar(opn));
    if (*out != NULL)
        return LAPSE_OK;
    size_t l = 0;
    list[0] = '\0';
    for (int i = 0; i < lapse_op_count() && l < sizeof list; i++)
        l += (size_t)snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "",
                              lapse_op_at(i)->name);
    return lapse_config_fail(w->cfg, mark_of(opn), pkp,
                             "unknown operation '%.60s' (lapse ops lists them); known: %s",
                             scalar(opn), list);
}

/* A YAML boolean: true/false (also yes/no, on/off). */
static lapse_status_t get_bool(const walk_t *w, const yaml_node_t *n, const char *kp, double *v)
{
    static const char *const words[] = {"false", "true", "no", "yes", "off", "on", NULL};
    int idx = 0;
    lapse_status_t st = get_word(w, n, kp, "boolean", words, &idx);
    if (st == LAPSE_OK)
        *v = idx % 2;
    return st;
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
            return lapse_config_fail(w->cfg, mark_of(n), kp, "expected [z, y, x] booleans");
        for (int a = 0; a < 3 && st == LAPSE_OK; a++) {
            snprintf(ekp, sizeof ekp, "%.100s[%d]", kp, a);
            st = get_bool(w, node_at(w, it[a]), ekp, &v[a]);
        }
        return st;
    }
    if (n == NULL || n->type != YAML_MAPPING_NODE)
        return lapse_config_fail(w->cfg, mark_of(n), kp,
                                 "expected per-axis booleans like {z: true, x: false}, got %s",
                                 node_kind(n));
    st = check_keys(w, n, kp, axes, NULL, "per-axis booleans");
    for (int a = 0; a < 3 && st == LAPSE_OK; a++) {
        yaml_node_t *e = map_get(w, n, axes[a]);
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
        return lapse_config_fail(w->cfg, mark_of(n), kp,
                                 "expected a 3x4 matrix: three rows (z, y, x) of 4 numbers");
    for (int r = 0; r < 3; r++) {
        yaml_node_t *row = node_at(w, n->data.sequence.items.start[r]);
        if (row == NULL || row->type != YAML_SEQUENCE_NODE ||
            row->data.sequence.items.top - row->data.sequence.items.start != 4)
            return lapse_config_fail(w->cfg, mark_of(row), kp, "row %d: expected 4 numbers", r);
        for (int c = 0; c < 4; c++) {
            snprintf(ekp, sizeof ekp, "%.100s[%d][%d]", kp, r, c);
            lapse_status_t st = get_ranged(w, node_at(w, row->data.sequence.items.start[c]), ekp,
                                           0, ps->min, ps->max, &v[4 * r + c]);
            if (st != LAPSE_OK)
                return st;
        }
    }
    return LAPSE_OK;
}

/* One parameter value of a step, by its kind. */
static lapse_status_t get_param(walk_t *w, const yaml_node_t *v, const char *pkp,
                                const lapse_param_spec_t *ps, double *out)
{
    int idx = 0;
    lapse_status_t st;
    switch (ps->kind) {
    case LAPSE_PARAM_FLOAT:
    case LAPSE_PARAM_INT:
        return get_ranged(w, v, pkp, ps->kind == LAPSE_PARAM_INT, ps->min, ps->max, &out[0]);
    case LAPSE_PARAM_VEC3_FLOAT:
    case LAPSE_PARAM_VEC3_INT:
        return get_vec3(w, v, pkp, ps->kind == LAPSE_PARAM_VEC3_INT, ps->min, ps->max, 1, out);
    case LAPSE_PARAM_ENUM:
        st = get_word(w, v, pkp, ps->key, ps->choices, &idx);
        out[0] = idx;
        return st;
    case LAPSE_PARAM_BOOL3:
        return get_bool3(w, v, pkp, out);
    case LAPSE_PARAM_MATRIX:
        return get_matrix(w, v, pkp, ps, out);
    }
    return lapse_config_fail(w->cfg, mark_of(v), pkp, "unsupported parameter kind");
}

/* A step name or reference: a letter or _, then letters, digits, _ or -. */
static lapse_status_t get_step_name(walk_t *w, const yaml_node_t *n, const char *kp, char *buf,
                                    lapse_mark_t *mark)
{
    lapse_status_t st = get_string(w, n, kp, buf, LAPSE_STEP_NAME_MAX);
    if (st != LAPSE_OK)
        return st;
    *mark = mark_of(n);
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
        if ((v = map_get(w, n, refs[i].key)) != NULL) {
            snprintf(pkp, sizeof pkp, "%.40s.%s", kp, refs[i].key);
            st = get_step_name(w, v, pkp, refs[i].buf, refs[i].mark);
        }
    if (st == LAPSE_OK && (v = map_get(w, n, "save")) != NULL) {
        snprintf(pkp, sizeof pkp, "%.40s.save", kp);
        w->save_mark[k] = mark_of(v);
        st = get_string(w, v, pkp, s->save, sizeof s->save);
        if (st == LAPSE_OK)
            st = check_h5path(w, mark_of(v), pkp, s->save);
    }
    return st;
}

/* One pipeline step (a mapping with op, the op's parameters, name, from, with and save). */
static lapse_status_t walk_step(walk_t *w, const yaml_node_t *n, int k)
{
    static const char *const step_keys[] = {"op", "save", "name", "from", "with", NULL};
    lapse_config_t *c = w->cfg;
    lapse_step_t *s = &c->steps[k];
    char kp[KEYPATH_MAX], pkp[KEYPATH_MAX], opname[64];
    const lapse_op_t *op = NULL;
    snprintf(kp, sizeof kp, "pipeline[%d]", k);
    lapse_status_t st = need_mapping(w, n, kp);
    if (st == LAPSE_OK)
        st = step_op(w, n, kp, &op);
    if (st != LAPSE_OK)
        return st;
    snprintf(opname, sizeof opname, "a %s step", op->name);
    const char *pkeys[LAPSE_OP_MAX_PARAMS + 1] = {NULL};
    for (int p = 0; p < op->nparams; p++)
        pkeys[p] = op->params[p].key;
    st = check_keys(w, n, kp, step_keys, pkeys, opname);
    if (st != LAPSE_OK)
        return st;

    lapse_step_init(s, op);
    lapse_mark_t m = mark_of(n);
    s->line = m.line;
    s->column = m.column;
    for (int p = 0; p < op->nparams; p++) {
        const lapse_param_spec_t *ps = &op->params[p];
        yaml_node_t *v = map_get(w, n, ps->key);
        snprintf(pkp, sizeof pkp, "%.40s.%.40s", kp, ps->key);
        if (v == NULL) {
            if (ps->required)
                return lapse_config_fail(c, m, pkp, "missing required key (%s needs %s: %s)",
                                         op->name, ps->key, ps->help);
            continue;
        }
        st = get_param(w, v, pkp, ps, s->p[p].v);
        if (st != LAPSE_OK)
            return st;
    }
    return step_links(w, n, kp, k, s);
}

static lapse_status_t walk_pipeline(walk_t *w, const yaml_node_t *top)
{
    lapse_config_t *c = w->cfg;
    yaml_node_t *p = NULL;
    lapse_status_t st = map_need(w, top, "", "pipeline", "(a list of steps)", &p);
    if (st != LAPSE_OK)
        return st;
    if (p->type != YAML_SEQUENCE_NODE)
        return lapse_config_fail(c, mark_of(p), "pipeline", "expected a list of steps, got %s",
                                 node_kind(p));
    yaml_node_item_t *it = p->data.sequence.items.start;
    long cnt = (long)(p->data.sequence.items.top - it);
    if (cnt == 0)
        return lapse_config_fail(c, mark_of(p), "pipeline", "must have at least one step");
    if (cnt > LAPSE_MAX_STEPS)
        return lapse_config_fail(c, mark_of(p), "pipeline", "too many steps (%ld, at most %d)", cnt,
                                 LAPSE_MAX_STEPS);
    for (int k = 0; k < (int)cnt; k++) {
        st = walk_step(w, node_at(w, it[k]), k);
        if (st != LAPSE_OK)
            return st;
        c->nsteps = k + 1;
    }
    return lapse_config_graph(c, NULL, NULL);
}

static lapse_status_t walk_output(walk_t *w, const yaml_node_t *top)
{
    static const char *const modes[] = {"create", "update", "overwrite", NULL};
    static const char *const dtypes[] = {"auto", "uint8", "uint16", "float32", NULL};
    lapse_config_t *c = w->cfg;
    yaml_node_t *o = NULL, *f = NULL, *v = NULL;
    lapse_status_t st = map_need(w, top, "", "output", "(output: {file, dataset})", &o);
    if (st == LAPSE_OK)
        st = need_mapping(w, o, "output");
    if (st == LAPSE_OK)
        st = check_keys(w, o, "output", output_keys, NULL, "output");
    if (st == LAPSE_OK)
        st = map_need(w, o, "output", "file", "(the HDF5 file to write)", &f);
    if (st == LAPSE_OK)
        st = get_string(w, f, "output.file", c->output_file, sizeof c->output_file);
    if (st != LAPSE_OK)
        return st;
    c->output_file_mark = mark_of(f);
    if ((v = map_get(w, o, "dataset")) != NULL) {
        w->output_dataset_mark = mark_of(v);
        st = get_string(w, v, "output.dataset", c->output_dataset, sizeof c->output_dataset);
        if (st == LAPSE_OK)
            st = check_h5path(w, mark_of(v), "output.dataset", c->output_dataset);
        if (st == LAPSE_OK && under_lapse(c->output_dataset))
            st = lapse_config_fail(c, mark_of(v), "output.dataset",
                                   "/lapse is reserved for run metadata");
        if (st != LAPSE_OK)
            return st;
    }
    int idx = 0;
    if ((v = map_get(w, o, "dtype")) != NULL) {
        st = get_word(w, v, "output.dtype", "dtype", dtypes, &idx);
        if (st != LAPSE_OK)
            return st;
        if (lapse_dtype_parse(dtypes[idx], &c->output_dtype) != 0)
            return lapse_config_fail(c, mark_of(v), "output.dtype", "unsupported dtype");
    }
    if ((v = map_get(w, o, "mode")) != NULL) {
        st = get_word(w, v, "output.mode", "mode", modes, &idx);
        if (st != LAPSE_OK)
            return st;
        c->mode = (lapse_mode_t)idx;
        c->mode_given = 1;
    }
    return LAPSE_OK;
}

static lapse_status_t walk_devices(walk_t *w, const yaml_node_t *top)
{
    static const char *const kinds[] = {"gpu", "cpu", "any", NULL};
    static const lapse_devkind_t kind_val[] = {LAPSE_DEV_GPU, LAPSE_DEV_CPU, LAPSE_DEV_ANY};
    lapse_config_t *c = w->cfg;
    yaml_node_t *d = map_get(w, top, "devices");
    int idx = 0;
    lapse_status_t st = LAPSE_OK;
    if (d == NULL)
        return LAPSE_OK;
    if (d->type != YAML_MAPPING_NODE) {
        if (d->type == YAML_SEQUENCE_NODE)
            return lapse_config_fail(c, mark_of(d), "devices",
                                     "expected gpu, cpu, any or {kind: gpu, index: N}, got %s",
                                     node_kind(d));
        st = get_word(w, d, "devices", "device kind", kinds, &idx);
        if (st == LAPSE_OK)
            c->devices = kind_val[idx];
        return st;
    }
    st = check_keys(w, d, "devices", devices_keys, NULL, "devices");
    if (st != LAPSE_OK)
        return st;
    yaml_node_t *k = map_get(w, d, "kind"), *i = map_get(w, d, "index");
    if (k != NULL) {
        st = get_word(w, k, "devices.kind", "device kind", kinds, &idx);
        if (st != LAPSE_OK)
            return st;
        c->devices = kind_val[idx];
    }
    if (i != NULL) {
        double v = 0.0;
        st = get_ranged(w, i, "devices.index", 1, 0.0, DEVICE_INDEX_MAX, &v);
        if (st != LAPSE_OK)
            return st;
        c->device_index = (int)v;
    }
    return LAPSE_OK;
}

static lapse_status_t walk_scheduling(walk_t *w, const yaml_node_t *top)
{
    static const char *const scheds[] = {"static", "dynamic", NULL};
    yaml_node_t *s = map_get(w, top, "scheduling");
    int idx = 0;
    if (s == NULL)
        return LAPSE_OK;
    lapse_status_t st = get_word(w, s, "scheduling", "scheduling", scheds, &idx);
    if (st == LAPSE_OK)
        w->cfg->sched = idx == 0 ? LAPSE_SCHED_STATIC : LAPSE_SCHED_DYNAMIC;
    return st;
}

/* Checks across sections: save names unique, not the output dataset, not under /lapse. */
static lapse_status_t check_saves(walk_t *w)
{
    lapse_config_t *c = w->cfg;
    char kp[KEYPATH_MAX];
    for (int k = 0; k < c->nsteps; k++) {
        const char *s = c->steps[k].save;
        if (s[0] == '\0')
            continue;
        snprintf(kp, sizeof kp, "pipeline[%d].save", k);
        if (under_lapse(s))
            return lapse_config_fail(c, w->save_mark[k], kp,
                                     "/lapse is reserved for run metadata (got '%.60s')", s);
        if (strcmp(s, c->output_dataset) == 0)
            return lapse_config_fail(c, w->save_mark[k], kp,
                                     "'%.60s' is the output dataset (output.dataset); "
                                     "choose another name",
                                     s);
        for (int j = 0; j < k; j++) {
            if (strcmp(s, c->steps[j].save) == 0)
                return lapse_config_fail(c, w->save_mark[k], kp,
                                         "duplicate save name '%.60s' (also pipeline[%d].save)", s,
                                         j);
        }
    }
    return LAPSE_OK;
}

/* ------------------------------------------------------------------ loading */

/* Line/column (1-based) of byte offset off in text. */
static lapse_mark_t mark_of_offset(const char *text, size_t len, size_t off)
{
    lapse_mark_t m = {1, 1};
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            m.line++;
            m.column = 1;
        } else {
            m.column++;
        }
    }
    return m;
}

static lapse_status_t yaml_error(const lapse_config_t *c, const yaml_parser_t *p, const char *text,
                                 size_t len)
{
    const char *problem = p->problem ? p->problem : "cannot parse";
    if (p->error == YAML_MEMORY_ERROR)
        return lapse_config_fail(c, (lapse_mark_t){0, 0}, "(yaml)", "out of memory");
    if (p->error == YAML_READER_ERROR) {
        lapse_mark_t m = mark_of_offset(text, len, p->problem_offset);
        return lapse_config_fail(c, m, "(yaml)", "invalid text: %s", problem);
    }
    lapse_mark_t m = {(int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1};
    if (p->context)
        return lapse_config_fail(c, m, "(yaml)", "YAML syntax error: %s (%s at line %d)", problem,
                                 p->context, (int)p->context_mark.line + 1);
    return lapse_config_fail(c, m, "(yaml)", "YAML syntax error: %s", problem);
}

/* First pass over the events: refuse nesting deeper than CONFIG_MAX_DEPTH before libyaml's
 * loader (whose cost grows with the square of the depth) sees it; syntax errors are reported
 * here too. */
static lapse_status_t check_depth(const lapse_config_t *c, const char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    lapse_status_t st = LAPSE_OK;
    int depth = 0, done = 0;
    if (!yaml_parser_initialize(&parser))
        return lapse_config_fail(c, (lapse_mark_t){0, 0}, "(yaml)",
                                 "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            st = yaml_error(c, &parser, text, len);
            break;
        }
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            if (++depth > CONFIG_MAX_DEPTH) {
                lapse_mark_t m = {(int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1};
                st = lapse_config_fail(c, m, "(yaml)", "nested deeper than %d levels",
                                       CONFIG_MAX_DEPTH);
                done = 1;
            }
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (ev.type == YAML_STREAM_END_EVENT) {
            done = 1;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return st;
}

/* Load the single document of text into doc; *loaded = 1 when doc must be deleted. */
static lapse_status_t load_document(const lapse_config_t *c, const char *text, size_t len,
                                    yaml_document_t *doc, int *loaded)
{
    yaml_parser_t parser;
    yaml_document_t extra;
    yaml_node_t *root2 = NULL;
    lapse_status_t st = LAPSE_OK;
    int parser_ready = 0;
    *loaded = 0;
    LAPSE_TRY(check_depth(c, text, len));
    if (!yaml_parser_initialize(&parser))
        return lapse_config_fail(c, (lapse_mark_t){0, 0}, "(yaml)",
                                 "cannot initialise the YAML parser");
    parser_ready = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, doc)) {
        st = yaml_error(c, &parser, text, len);
        goto cleanup;
    }
    *loaded = 1;
    /* A second document is an error: the config is one mapping. */
    if (!yaml_parser_load(&parser, &extra)) {
        st = yaml_error(c, &parser, text, len);
        goto cleanup;
    }
    root2 = yaml_document_get_root_node(&extra);
    if (root2 != NULL) {
        st = lapse_config_fail(c, mark_of(root2), "(yaml)",
                               "more than one YAML document; a config is a single mapping");
    }
    yaml_document_delete(&extra);
cleanup:
    if (parser_ready)
        yaml_parser_delete(&parser);
    return st;
}

static lapse_status_t walk_all(walk_t *w)
{
    lapse_status_t st = LAPSE_OK;
    yaml_node_t *top = yaml_document_get_root_node(w->doc);
    if (top == NULL || is_null(top))
        return lapse_config_fail(w->cfg, (lapse_mark_t){1, 1}, "(top level)",
                                 "the config is empty; expected a mapping with input, pipeline "
                                 "and output");
    if (top->type != YAML_MAPPING_NODE)
        return lapse_config_fail(w->cfg, mark_of(top), "(top level)",
                                 "expected a mapping (key: value lines), got %s", node_kind(top));
    LAPSE_TRY(check_keys(w, top, "", top_keys, NULL, "the top level"));
    LAPSE_TRY(walk_input(w, top));
    LAPSE_TRY(walk_timepoints(w, top));
    LAPSE_TRY(walk_tiles(w, top));
    LAPSE_TRY(walk_pipeline(w, top));
    LAPSE_TRY(walk_output(w, top));
    LAPSE_TRY(walk_devices(w, top));
    LAPSE_TRY(walk_scheduling(w, top));
    LAPSE_TRY(check_saves(w));
cleanup:
    return st;
}

static void config_defaults(lapse_config_t *cfg)
{
    cfg->tile_auto = 1;
    cfg->halo_auto = 1;
    snprintf(cfg->output_dataset, sizeof cfg->output_dataset, "/result");
    cfg->output_dtype = LAPSE_DT_AUTO;
    cfg->mode = LAPSE_MODE_CREATE;
    cfg->devices = LAPSE_DEV_GPU;
    cfg->device_index = -1;
    cfg->sched = LAPSE_SCHED_DYNAMIC;
}

lapse_status_t lapse_config_parse(const char *path, const char *text, size_t len,
                                  lapse_config_t *cfg)
{
    lapse_status_t st = LAPSE_OK;
    yaml_document_t doc;
    int loaded = 0;
    walk_t w = {.cfg = cfg, .doc = &doc};
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path ? path : "<config>");
    config_defaults(cfg);
    if (text == NULL)
        text = "";
    if (len > CONFIG_MAX_BYTES) {
        st =
            lapse_config_fail(cfg, (lapse_mark_t){0, 0}, "(file)",
                              "config is too large (%zu bytes, at most %d)", len, CONFIG_MAX_BYTES);
        goto cleanup;
    }
    cfg->text = malloc(len + 1);
    LAPSE_ALLOC(cfg->text);
    memcpy(cfg->text, text, len);
    cfg->text[len] = '\0';

    LAPSE_TRY(load_document(cfg, cfg->text, len, &doc, &loaded));
    LAPSE_TRY(walk_all(&w));
cleanup:
    if (loaded)
        yaml_document_delete(&doc);
    if (st != LAPSE_OK)
        lapse_config_free(cfg);
    return st;
}

lapse_status_t lapse_config_load(const char *path, lapse_config_t *cfg)
{
    lapse_status_t st = LAPSE_OK;
    char *buf = NULL;
    size_t n = 0;
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path ? path : "<config>");
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (f == NULL) {
        st = lapse_config_fail(cfg, (lapse_mark_t){0, 0}, "(file)", "cannot open: %s",
                               strerror(errno));
        goto cleanup;
    }
    buf = malloc(CONFIG_MAX_BYTES + 1);
    LAPSE_ALLOC(buf);
    n = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
    if (ferror(f)) {
        st = lapse_config_fail(cfg, (lapse_mark_t){0, 0}, "(file)", "cannot read: %s",
                               strerror(errno));
        goto cleanup;
    }
    LAPSE_TRY(lapse_config_parse(path, buf, n, cfg));
cleanup:
    free(buf);
    if (f != NULL)
        fclose(f);
    return st;
}

void lapse_config_free(lapse_config_t *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->text);
    cfg->text = NULL;
}
