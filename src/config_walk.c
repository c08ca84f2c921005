/*
 * config_walk.c - the typed getters of the config loader (see config_walk.h): nodes, mappings
 * with known keys, strings, words, finite numbers in ranges, [z, y, x] vectors, HDF5 paths.
 */
#include "config_walk.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lapse_mark_t cfg_mark_of(const yaml_node_t *n)
{
    lapse_mark_t m = {0, 0};
    if (n != NULL) {
        m.line = (int)n->start_mark.line + 1;
        m.column = (int)n->start_mark.column + 1;
    }
    return m;
}

/* "a, b, c" from a NULL-terminated list, plus one extra word when extra != NULL. */
void cfg_join_words(const char *const *words, const char *extra, char *buf, size_t len)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (int i = 0; words[i] != NULL && pos < len; i++)
        pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", i ? ", " : "", words[i]);
    if (extra != NULL && pos < len)
        snprintf(buf + pos, len - pos, "%s%s", pos ? ", " : "", extra);
}

/* keypath "parent.key" (or "key" at the top level), bounded. */
void cfg_key_join(char *buf, const char *parent, const char *key)
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

yaml_node_t *cfg_node_at(const walk_t *w, int id)
{
    return yaml_document_get_node(w->doc, id);
}

int cfg_is_null(const yaml_node_t *n)
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
const char *cfg_node_kind(const yaml_node_t *n)
{
    static char buf[64];
    if (cfg_is_null(n))
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
const char *cfg_scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* Check that map is a mapping whose keys are unique plain words from allowed (NULL-terminated)
 * or from extra (NULL-terminated, may be NULL). what names the mapping in messages. */
lapse_status_t cfg_check_keys(const walk_t *w, const yaml_node_t *map, const char *path,
                              const char *const *allowed, const char *const *extra,
                              const char *what)
{
    char kp[KEYPATH_MAX];
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = cfg_node_at(w, p->key);
        if (k == NULL || k->type != YAML_SCALAR_NODE)
            return lapse_config_fail(w->cfg, cfg_mark_of(k), path[0] ? path : "(top level)",
                                     "keys must be plain words, got %s", cfg_node_kind(k));
        const char *name = cfg_scalar(k);
        cfg_key_join(kp, path, name);
        int known = 0;
        for (int i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(allowed[i], name) == 0;
        for (int i = 0; extra != NULL && extra[i] != NULL && !known; i++)
            known = strcmp(extra[i], name) == 0;
        if (!known || strlen(name) != k->data.scalar.length) {
            char list[512];
            cfg_join_words(allowed, NULL, list, sizeof list);
            if (extra != NULL) {
                size_t l = strlen(list);
                for (int i = 0; extra[i] != NULL && l < sizeof list; i++)
                    l += (size_t)snprintf(list + l, sizeof list - l, ", %s", extra[i]);
            }
            return lapse_config_fail(w->cfg, cfg_mark_of(k), kp, "unknown key in %s; allowed: %s",
                                     what, list);
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = cfg_node_at(w, q->key);
            if (k2 != NULL && k2->type == YAML_SCALAR_NODE && strcmp(cfg_scalar(k2), name) == 0)
                return lapse_config_fail(w->cfg, cfg_mark_of(k), kp,
                                         "duplicate key (first given at line %d)",
                                         cfg_mark_of(k2).line);
        }
    }
    return LAPSE_OK;
}

/* Value node of key in map, or NULL when absent. Keys were checked by check_keys. */
yaml_node_t *cfg_map_get(const walk_t *w, const yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = cfg_node_at(w, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE && strcmp(cfg_scalar(k), key) == 0)
            return cfg_node_at(w, p->value);
    }
    return NULL;
}

/* Required child: the value of key, or a "missing" error at the parent mapping. */
lapse_status_t cfg_map_need(const walk_t *w, const yaml_node_t *map, const char *path,
                            const char *key, const char *hint, yaml_node_t **out)
{
    char kp[KEYPATH_MAX];
    *out = cfg_map_get(w, map, key);
    if (*out != NULL)
        return LAPSE_OK;
    cfg_key_join(kp, path, key);
    return lapse_config_fail(w->cfg, cfg_mark_of(map), kp, "missing required key%s%s",
                             hint ? " " : "", hint ? hint : "");
}

lapse_status_t cfg_need_mapping(const walk_t *w, const yaml_node_t *n, const char *kp)
{
    if (n != NULL && n->type == YAML_MAPPING_NODE)
        return LAPSE_OK;
    return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "expected a mapping, got %s",
                             cfg_node_kind(n));
}

/* A non-empty string scalar that fits in buf (len bytes, no NUL bytes inside, no control
 * characters: strings here are paths, dataset names and words, and a newline or escape in a file
 * or dataset name breaks log lines and the BigDataViewer XML). */
lapse_status_t cfg_get_string(const walk_t *w, const yaml_node_t *n, const char *kp, char *buf,
                              size_t len)
{
    if (n == NULL || n->type != YAML_SCALAR_NODE || cfg_is_null(n))
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "expected a string, got %s",
                                 cfg_node_kind(n));
    const char *s = cfg_scalar(n);
    size_t l = n->data.scalar.length;
    if (l == 0)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "must not be empty");
    if (strlen(s) != l)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "must not contain NUL characters");
    for (size_t i = 0; i < l; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return lapse_config_fail(w->cfg, cfg_mark_of(n), kp,
                                     "must not contain control characters (byte 0x%02x at "
                                     "character %zu)",
                                     (unsigned)(unsigned char)s[i], i + 1);
    if (l >= len)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "too long (%zu bytes, at most %zu)", l,
                                 len - 1);
    memcpy(buf, s, l + 1);
    return LAPSE_OK;
}

/* One of words (NULL-terminated); *idx is its index. what: "mode", "dtype"... */
lapse_status_t cfg_get_word(const walk_t *w, const yaml_node_t *n, const char *kp, const char *what,
                            const char *const *words, int *idx)
{
    char list[256];
    cfg_join_words(words, NULL, list, sizeof list);
    if (n == NULL || n->type != YAML_SCALAR_NODE || cfg_is_null(n))
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "expected one of %s, got %s", list,
                                 cfg_node_kind(n));
    if (strlen(cfg_scalar(n)) != n->data.scalar.length)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "must not contain NUL characters");
    for (int i = 0; words[i] != NULL; i++) {
        if (strcmp(words[i], cfg_scalar(n)) == 0) {
            *idx = i;
            return LAPSE_OK;
        }
    }
    return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "unknown %s '%.60s'; expected one of %s",
                             what, cfg_scalar(n), list);
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
lapse_status_t cfg_get_number(const walk_t *w, const yaml_node_t *n, const char *kp, int integer,
                              double *out)
{
    const char *want = integer ? "an integer" : "a number";
    if (n == NULL || n->type != YAML_SCALAR_NODE || cfg_is_null(n))
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "expected %s, got %s", want,
                                 cfg_node_kind(n));
    const char *s = cfg_scalar(n);
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp,
                                 "expected %s, got the quoted string \"%.40s\"", want, s);
    if (spells_nonfinite(s))
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "must be a finite number (got %.40s)",
                                 s);
    char *end = NULL;
    errno = 0;
    if (integer) {
        long long v = strtoll(s, &end, 10);
        if (end != s && *end == '\0' && strlen(s) == n->data.scalar.length) {
            if (errno == ERANGE)
                return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "integer out of range (%.40s)",
                                         s);
            *out = (double)v;
            return LAPSE_OK;
        }
        errno = 0;
    }
    double d = strtod(s, &end);
    if (end == s || *end != '\0' || strlen(s) != n->data.scalar.length || s[0] == ' ')
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "expected %s, got '%.40s'", want, s);
    if (errno == ERANGE && fabs(d) > 1.0)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "must be a finite number (%.40s)", s);
    if (!isfinite(d))
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "must be a finite number (got %.40s)",
                                 s);
    if (integer && d != floor(d))
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "must be an integer (got %.40s)", s);
    if (integer && fabs(d) > 9.0e15)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "integer out of range (%.40s)", s);
    *out = d;
    return LAPSE_OK;
}

/* A number within [lo, hi]. */
lapse_status_t cfg_get_ranged(const walk_t *w, const yaml_node_t *n, const char *kp, int integer,
                              double lo, double hi, double *out)
{
    double v = 0.0;
    lapse_status_t st = cfg_get_number(w, n, kp, integer, &v);
    if (st != LAPSE_OK)
        return st;
    assert(n != NULL); /* cfg_get_number refuses a missing value */
    if (v < lo || v > hi) {
        if (fabs(v) > FLT_MAX && (lo == -FLT_MAX || hi == FLT_MAX))
            return lapse_config_fail(w->cfg, cfg_mark_of(n), kp,
                                     "%.40s does not fit in float32 (magnitude at most %.9g)",
                                     cfg_scalar(n), (double)FLT_MAX);
    }
    if (v < lo)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "must be >= %.15g (got %.40s)", lo,
                                 cfg_scalar(n));
    if (v > hi)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "must be <= %.15g (got %.40s)", hi,
                                 cfg_scalar(n));
    *out = v;
    return LAPSE_OK;
}

/* A VEC3: one number (all axes) or [z, y, x]; allow_scalar == 0 demands the list. */
lapse_status_t cfg_get_vec3(const walk_t *w, const yaml_node_t *n, const char *kp, int integer,
                            double lo, double hi, int allow_scalar, double v[3])
{
    lapse_status_t st = LAPSE_OK;
    if (n != NULL && n->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *it = n->data.sequence.items.start;
        long cnt = (long)(n->data.sequence.items.top - it);
        if (cnt != 3) /* [y, x] for [t, y, x] data: say what to write */
            return lapse_config_fail(w->cfg, cfg_mark_of(n), kp,
                                     "expected a list of 3 values [z, y, x], got %ld%s", cnt,
                                     cnt == 2 ? " (z comes first even for [t, y, x] data, where "
                                                "it changes nothing: write [1, y, x])"
                                              : "");
        for (int a = 0; a < 3; a++) {
            char ekp[KEYPATH_MAX];
            snprintf(ekp, sizeof ekp, "%.100s[%d]", kp, a);
            st = cfg_get_ranged(w, cfg_node_at(w, it[a]), ekp, integer, lo, hi, &v[a]);
            if (st != LAPSE_OK)
                return st;
        }
        return LAPSE_OK;
    }
    if (!allow_scalar && n != NULL && n->type == YAML_SCALAR_NODE && !cfg_is_null(n))
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp,
                                 "expected a list [z, y, x], got '%.40s'", cfg_scalar(n));
    if (!allow_scalar)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "expected a list [z, y, x], got %s",
                                 cfg_node_kind(n));
    if (n != NULL && n->type == YAML_MAPPING_NODE)
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp,
                                 "expected a number or a list [z, y, x], got a mapping");
    double x = 0.0;
    st = cfg_get_ranged(w, n, kp, integer, lo, hi, &x);
    if (st == LAPSE_OK)
        v[0] = v[1] = v[2] = x;
    return st;
}

/* An HDF5 dataset path: absolute, no empty, '.' or '..' components, no trailing slash. */
lapse_status_t cfg_check_h5path(const walk_t *w, lapse_mark_t at, const char *kp, const char *p)
{
    size_t l = strlen(p);
    if (p[0] != '/' || l < 2)
        return lapse_config_fail(w->cfg, at, kp,
                                 "dataset path must be absolute, like /name (got '%.60s')", p);
    if (strstr(p, "//") != NULL || p[l - 1] == '/')
        return lapse_config_fail(w->cfg, at, kp,
                                 "dataset path has an empty component (got '%.60s')", p);
    for (const char *c = p; c != NULL; c = strchr(c + 1, '/')) {
        size_t n = strcspn(c + 1, "/");
        if ((n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
            return lapse_config_fail(w->cfg, at, kp,
                                     "dataset path has a '.' or '..' component (got '%.60s')", p);
    }
    return LAPSE_OK;
}
