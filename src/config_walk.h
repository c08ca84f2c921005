/*
 * config_walk.h - internal to the config loader (config.c, config_walk.c, config_pipeline.c):
 * the walk state over a loaded libyaml document and the typed getters every section uses. Each
 * getter reports a problem through lapse_config_fail at the node's file:line:column with the
 * key path kp, and returns LAPSE_ECONFIG; outputs are set only on success.
 */
#ifndef LAPSE_CONFIG_WALK_H
#define LAPSE_CONFIG_WALK_H

#include <yaml.h>

#include "config.h"

#define KEYPATH_MAX 128

/* Walk state: the config being filled and the loaded document. */
typedef struct {
    lapse_config_t *cfg;
    yaml_document_t *doc;
    lapse_mark_t save_mark[LAPSE_MAX_STEPS]; /* positions of pipeline[k].save values */
    lapse_mark_t output_dataset_mark;
} walk_t;

/* Position of a node (1-based; {0, 0} for NULL). */
lapse_mark_t cfg_mark_of(const yaml_node_t *n);

/* "a, b, c" from a NULL-terminated list, plus one extra word when extra != NULL. */
void cfg_join_words(const char *const *words, const char *extra, char *buf, size_t len);

/* keypath "parent.key" (or "key" at the top level), bounded. */
void cfg_key_join(char *buf, const char *parent, const char *key);

/* The node with id in the document, or NULL. */
yaml_node_t *cfg_node_at(const walk_t *w, int id);

/* 1 for a missing node, an empty scalar or YAML null (~, null). */
int cfg_is_null(const yaml_node_t *n);

/* What a node is, for "expected X, got Y" messages: a kind, or a scalar's text. The text
 * lives in a static buffer until the next call (config loading is single-threaded). */
const char *cfg_node_kind(const yaml_node_t *n);

/* Scalar text (never NULL; only valid for scalar nodes). */
const char *cfg_scalar(const yaml_node_t *n);

/* Value node of key in map, or NULL when absent. Keys were checked by check_keys. */
yaml_node_t *cfg_map_get(const walk_t *w, const yaml_node_t *map, const char *key);

/* Check that map is a mapping whose keys are unique plain words from allowed (NULL-terminated)
 * or from extra (NULL-terminated, may be NULL). what names the mapping in messages. */
lapse_status_t cfg_check_keys(const walk_t *w, const yaml_node_t *map, const char *path,
                              const char *const *allowed, const char *const *extra,
                              const char *what);

/* Required child: the value of key, or a "missing" error at the parent mapping. */
lapse_status_t cfg_map_need(const walk_t *w, const yaml_node_t *map, const char *path,
                            const char *key, const char *hint, yaml_node_t **out);

lapse_status_t cfg_need_mapping(const walk_t *w, const yaml_node_t *n, const char *kp);

/* A non-empty string scalar that fits in buf (len bytes, no NUL bytes inside). */
lapse_status_t cfg_get_string(const walk_t *w, const yaml_node_t *n, const char *kp, char *buf,
                              size_t len);

/* One of words (NULL-terminated); *idx is its index. what: "mode", "dtype"... */
lapse_status_t cfg_get_word(const walk_t *w, const yaml_node_t *n, const char *kp, const char *what,
                            const char *const *words, int *idx);

/* A finite number from a plain scalar; integer != 0 also requires an integral value. */
lapse_status_t cfg_get_number(const walk_t *w, const yaml_node_t *n, const char *kp, int integer,
                              double *out);

/* A number within [lo, hi]. */
lapse_status_t cfg_get_ranged(const walk_t *w, const yaml_node_t *n, const char *kp, int integer,
                              double lo, double hi, double *out);

/* A VEC3: one number (all axes) or [z, y, x]; allow_scalar == 0 demands the list. */
lapse_status_t cfg_get_vec3(const walk_t *w, const yaml_node_t *n, const char *kp, int integer,
                            double lo, double hi, int allow_scalar, double v[3]);

/* An HDF5 dataset path: absolute, no empty, '.' or '..' components, no trailing slash. */
lapse_status_t cfg_check_h5path(const walk_t *w, lapse_mark_t at, const char *kp, const char *p);

/* The pipeline: section (config_pipeline.c): every step, then the graph's input-independent
 * checks (lapse_config_graph with no input). */
lapse_status_t cfg_walk_pipeline(walk_t *w, const yaml_node_t *top);

#endif
