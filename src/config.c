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
#include "config_walk.h"

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
#define VOXEL_MIN        1e-9      /* input.voxel_size bounds, micrometres */
#define VOXEL_MAX        1e9
#define TILE_MAX         1000000 /* per-axis bound on tiles.shape and tiles.halo */
#define DEVICE_INDEX_MAX 65535
#define CONFIG_MAX_DEPTH 32 /* containers nested deeper than this are refused */

static const char *const top_keys[] = {"input",   "timepoints", "tiles",    "pipeline", "output",
                                       "devices", "scheduling", "on_error", NULL};
static const char *const input_keys[] = {"file",    "files",      "dataset", "format", "setup",
                                         "channel", "voxel_size", "axes",    NULL};
static const char *const tiles_keys[] = {"shape", "halo", NULL};
static const char *const output_keys[] = {"file",        "dataset", "dtype", "mode",
                                          "compression", "format",  "parts", NULL};

/* output.compression's kinds: the name, and the level without ":LEVEL" */
static const struct {
    const char *name;
    lapse_comp_t comp;
    int level;
} comp_kinds[] = {{"none", LAPSE_COMP_NONE, 0},
                  {"gzip", LAPSE_COMP_GZIP, 4},
                  {"blosc:lz4", LAPSE_COMP_BLOSC_LZ4, 5},
                  {"blosc:zstd", LAPSE_COMP_BLOSC_ZSTD, 5}};

const char *lapse_comp_name(lapse_comp_t comp)
{
    for (size_t i = 0; i < sizeof comp_kinds / sizeof *comp_kinds; i++)
        if (comp_kinds[i].comp == comp)
            return comp_kinds[i].name;
    return "?";
}

int lapse_comp_parse(const char *s, lapse_comp_t *comp, int *level)
{
    for (size_t i = 0; i < sizeof comp_kinds / sizeof *comp_kinds; i++) {
        size_t n = strlen(comp_kinds[i].name);
        if (strncmp(s, comp_kinds[i].name, n) != 0)
            continue;
        if (s[n] == '\0') {
            *comp = comp_kinds[i].comp;
            *level = comp_kinds[i].level;
            return 0;
        }
        if (s[n] == ':' && comp_kinds[i].comp != LAPSE_COMP_NONE && s[n + 1] >= '1' &&
            s[n + 1] <= '9' && s[n + 2] == '\0') {
            *comp = comp_kinds[i].comp;
            *level = s[n + 1] - '0';
            return 0;
        }
    }
    return -1;
}
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

/* 1 when p is /lapse or below it (reserved for lapse's own metadata). */
static int under_lapse(const char *p)
{
    return strcmp(p, "/lapse") == 0 || strncmp(p, "/lapse/", 7) == 0;
}

/* ------------------------------------------------------------------ sections */

/* input.files: a pattern with a wildcard into c->input_file. */
static lapse_status_t walk_input_files(walk_t *w, const yaml_node_t *n)
{
    lapse_config_t *c = w->cfg;
    lapse_status_t st = cfg_get_string(w, n, "input.files", c->input_file, sizeof c->input_file);
    if (st == LAPSE_OK && strpbrk(c->input_file, "*?[") == NULL)
        st = lapse_config_fail(c, cfg_mark_of(n), "input.files",
                               "expected a file name pattern with a wildcard, one file per "
                               "timepoint (e.g. \"tp_*.tif\"), got \"%s\" (one file: input.file)",
                               c->input_file);
    return st;
}

/* input.format, input.setup, input.channel, input.axes and input.voxel_size into *sel and c. */
static lapse_status_t walk_input_selection(walk_t *w, const yaml_node_t *in, lapse_input_sel_t *sel)
{
    static const char *const formats[] = {"auto", "bdv", NULL};
    lapse_config_t *c = w->cfg;
    lapse_status_t st = LAPSE_OK;
    yaml_node_t *v;
    double x;
    int idx = 0;
    if ((v = cfg_map_get(w, in, "format")) != NULL) {
        LAPSE_TRY(cfg_get_word(w, v, "input.format", "format", formats, &idx));
        sel->bdv = idx == 1;
        c->input_sel_mark = cfg_mark_of(v);
        snprintf(c->input_sel_key, sizeof c->input_sel_key, "input.format");
    }
    if ((v = cfg_map_get(w, in, "setup")) != NULL) {
        LAPSE_TRY(cfg_get_ranged(w, v, "input.setup", 1, 0, 99, &x));
        sel->setup = (int)x;
        c->input_sel_mark = cfg_mark_of(v);
        snprintf(c->input_sel_key, sizeof c->input_sel_key, "input.setup");
    }
    if ((v = cfg_map_get(w, in, "channel")) != NULL) {
        LAPSE_TRY(cfg_get_ranged(w, v, "input.channel", 1, 0, 1e6, &x));
        sel->channel = (int)x;
        c->input_sel_mark = cfg_mark_of(v);
        snprintf(c->input_sel_key, sizeof c->input_sel_key, "input.channel");
    }
    if ((v = cfg_map_get(w, in, "axes")) != NULL) { /* a TIFF that names no axes */
        static const char *const axes[] = {"tyx", "zyx", NULL};
        LAPSE_TRY(cfg_get_word(w, v, "input.axes", "axes", axes, &idx));
        sel->axes = idx == 0 ? LAPSE_AXES_TYX : LAPSE_AXES_ZYX;
        c->input_axes_mark = cfg_mark_of(v);
    }
    if ((v = cfg_map_get(w, in, "voxel_size")) != NULL) {
        /* [z, y, x] micrometres (or one number), replacing the input's own */
        LAPSE_TRY(cfg_get_vec3(w, v, "input.voxel_size", 0, VOXEL_MIN, VOXEL_MAX, 1,
                               c->input_voxel_size));
        c->input_voxel_size_given = 1;
    }
cleanup:
    return st;
}

/* input: {file | files, dataset, format, setup, channel, axes, voxel_size}. The dataset is needed
 * for a format with datasets (HDF5) unless the input is a BigDataViewer file (input.format: bdv,
 * input.setup, or found by its layout when the dataset is left out: then the probe says so). */
static lapse_status_t walk_input(walk_t *w, const yaml_node_t *top)
{
    lapse_config_t *c = w->cfg;
    yaml_node_t *in = NULL, *f = NULL, *fs = NULL, *d = NULL;
    lapse_input_sel_t sel;
    char err[256];
    lapse_status_t st = cfg_map_need(w, top, "", "input", "(input: {file, dataset})", &in);
    memset(&sel, 0, sizeof sel);
    sel.setup = sel.channel = -1;
    if (st == LAPSE_OK)
        st = cfg_need_mapping(w, in, "input");
    if (st == LAPSE_OK)
        st = cfg_check_keys(w, in, "input", input_keys, NULL, "input");
    if (st != LAPSE_OK)
        return st;
    fs = cfg_map_get(w, in, "files");
    if (fs != NULL && cfg_map_get(w, in, "file") != NULL)
        return lapse_config_fail(c, cfg_mark_of(fs), "input.files",
                                 "give input.file (one file) or input.files (one file per "
                                 "timepoint), not both");
    if (fs != NULL) {
        LAPSE_TRY(walk_input_files(w, fs));
        f = fs;
        sel.files = 1;
    } else {
        LAPSE_TRY(cfg_map_need(w, in, "input", "file",
                               "(the HDF5 or TIFF file or Zarr store to read; or input.files)",
                               &f));
        LAPSE_TRY(cfg_get_string(w, f, "input.file", c->input_file, sizeof c->input_file));
    }
    LAPSE_TRY(walk_input_selection(w, in, &sel));
    c->input_file_mark = cfg_mark_of(f);
    c->input_dataset_mark = c->input_file_mark;
    /* A format without datasets (TIFF, by the file's suffix): input.dataset may be left out and
     * is not used; it is kept as "" so that giving one or not is the same run. Zarr: used when
     * given. HDF5: may be left out for a BigDataViewer file (the probe finds its layout). */
    const lapse_reader_backend_t *b = lapse_reader_backend_for_name(c->input_file);
    d = cfg_map_get(w, in, "dataset");
    if (b->needs_dataset && d == NULL && !sel.bdv && sel.setup < 0 && b != &lapse_reader_hdf5)
        LAPSE_TRY(
            cfg_map_need(w, in, "input", "dataset", "(the 4-D dataset to read, e.g. /raw)", &d));
    if ((b->needs_dataset || b->dataset_optional) && d != NULL) { /* Zarr: optional */
        LAPSE_TRY(cfg_get_string(w, d, "input.dataset", sel.dataset, sizeof sel.dataset));
        c->input_dataset_mark = cfg_mark_of(d);
        if (sel.bdv || sel.setup >= 0)
            return lapse_config_fail(c, cfg_mark_of(d), "input.dataset",
                                     "a BigDataViewer input (input.format: bdv, input.setup) has "
                                     "no dataset name: leave input.dataset out");
        if (strchr(sel.dataset, '#') != NULL)
            return lapse_config_fail(c, cfg_mark_of(d), "input.dataset",
                                     "'#' is not allowed in a dataset name");
        if (lapse_reader_check_dataset(c->input_file, sel.dataset, err, sizeof err) != 0)
            return lapse_config_fail(c, cfg_mark_of(d), "input.dataset", "%s", err);
    }
    if (lapse_input_sel_format(&sel, c->input_dataset, sizeof c->input_dataset) != 0)
        return lapse_config_fail(c, c->input_dataset_mark, "input.dataset", "too long");
cleanup:
    return st;
}

static lapse_status_t walk_timepoints(walk_t *w, const yaml_node_t *top)
{
    lapse_config_t *c = w->cfg;
    yaml_node_t *n = cfg_map_get(w, top, "timepoints");
    if (n == NULL)
        return LAPSE_OK;
    c->timepoints_mark = cfg_mark_of(n);
    if (n->type != YAML_SCALAR_NODE || cfg_is_null(n))
        return lapse_config_fail(c, cfg_mark_of(n), "timepoints",
                                 "expected a selection like \"0-99:2, 120\", got %s",
                                 cfg_node_kind(n));
    if (n->data.scalar.length == 0)
        return LAPSE_OK; /* timepoints: "" selects every timepoint */
    lapse_status_t st = cfg_get_string(w, n, "timepoints", c->timepoints, sizeof c->timepoints);
    if (st != LAPSE_OK)
        return st;
    char err[256];
    if (lapse_tpsel_parse(c->timepoints, -1, NULL, NULL, err, sizeof err) != 0)
        return lapse_config_fail(c, cfg_mark_of(n), "timepoints", "%s", err);
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
    if (n->type == YAML_SCALAR_NODE && strcmp(cfg_scalar(n), "auto") == 0) {
        *is_auto = 1;
        return LAPSE_OK;
    }
    if (n->type == YAML_MAPPING_NODE || cfg_is_null(n))
        return lapse_config_fail(w->cfg, cfg_mark_of(n), kp, "expected auto or [z, y, x], got %s",
                                 cfg_node_kind(n));
    double v[3];
    lapse_status_t st = cfg_get_vec3(w, n, kp, 1, is_halo ? 0.0 : 1.0, TILE_MAX, is_halo, v);
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
    yaml_node_t *t = cfg_map_get(w, top, "tiles");
    if (t == NULL)
        return LAPSE_OK;
    lapse_status_t st = cfg_need_mapping(w, t, "tiles");
    if (st == LAPSE_OK)
        st = cfg_check_keys(w, t, "tiles", tiles_keys, NULL, "tiles");
    if (st != LAPSE_OK)
        return st;
    yaml_node_t *s = cfg_map_get(w, t, "shape"), *h = cfg_map_get(w, t, "halo");
    if (s != NULL) {
        c->tile_mark = cfg_mark_of(s);
        st = walk_tile_vec(w, s, "tiles.shape", 0, &c->tile_auto, c->tile);
    }
    if (st == LAPSE_OK && h != NULL) {
        c->halo_mark = cfg_mark_of(h);
        st = walk_tile_vec(w, h, "tiles.halo", 1, &c->halo_auto, c->halo);
    }
    return st;
}

static lapse_status_t walk_output(walk_t *w, const yaml_node_t *top)
{
    static const char *const modes[] = {"create", "update", "overwrite", NULL};
    static const char *const formats[] = {"hdf5", "zarr", NULL};
    static const char *const dtypes[] = {"auto",   "uint8", "uint16", "float32",
                                         "uint32", "int16", NULL};
    lapse_config_t *c = w->cfg;
    yaml_node_t *o = NULL, *f = NULL, *v = NULL;
    lapse_status_t st = cfg_map_need(w, top, "", "output", "(output: {file, dataset})", &o);
    if (st == LAPSE_OK)
        st = cfg_need_mapping(w, o, "output");
    if (st == LAPSE_OK)
        st = cfg_check_keys(w, o, "output", output_keys, NULL, "output");
    if (st == LAPSE_OK)
        st = cfg_map_need(w, o, "output", "file", "(the HDF5 file to write)", &f);
    if (st == LAPSE_OK)
        st = cfg_get_string(w, f, "output.file", c->output_file, sizeof c->output_file);
    if (st != LAPSE_OK)
        return st;
    c->output_file_mark = cfg_mark_of(f);
    if ((v = cfg_map_get(w, o, "dataset")) != NULL) {
        w->output_dataset_mark = cfg_mark_of(v);
        st = cfg_get_string(w, v, "output.dataset", c->output_dataset, sizeof c->output_dataset);
        if (st == LAPSE_OK)
            st = cfg_check_h5path(w, cfg_mark_of(v), "output.dataset", c->output_dataset);
        if (st == LAPSE_OK && under_lapse(c->output_dataset))
            st = lapse_config_fail(c, cfg_mark_of(v), "output.dataset",
                                   "/lapse is reserved for run metadata");
        if (st != LAPSE_OK)
            return st;
    }
    int idx = 0;
    if ((v = cfg_map_get(w, o, "dtype")) != NULL) {
        st = cfg_get_word(w, v, "output.dtype", "dtype", dtypes, &idx);
        if (st != LAPSE_OK)
            return st;
        if (lapse_dtype_parse(dtypes[idx], &c->output_dtype) != 0)
            return lapse_config_fail(c, cfg_mark_of(v), "output.dtype", "unsupported dtype");
    }
    if ((v = cfg_map_get(w, o, "compression")) != NULL) {
        char buf[32];
        st = cfg_get_string(w, v, "output.compression", buf, sizeof buf);
        if (st != LAPSE_OK)
            return st;
        if (lapse_comp_parse(buf, &c->compression, &c->compression_level) != 0)
            return lapse_config_fail(c, cfg_mark_of(v), "output.compression",
                                     "expected none, gzip[:LEVEL], blosc:lz4[:LEVEL] or "
                                     "blosc:zstd[:LEVEL] (LEVEL 1-9), got \"%s\"",
                                     buf);
    }
    if ((v = cfg_map_get(w, o, "format")) != NULL) {
        st = cfg_get_word(w, v, "output.format", "format", formats, &idx);
        if (st != LAPSE_OK)
            return st;
        c->output_format = (lapse_outfmt_t)idx;
    }
    if ((v = cfg_map_get(w, o, "parts")) != NULL) {
        static const char *const parts[] = {"none", "timepoints", NULL};
        st = cfg_get_word(w, v, "output.parts", "parts", parts, &idx);
        if (st != LAPSE_OK)
            return st;
        c->output_parts = idx;
        if (c->output_parts && c->compression != LAPSE_COMP_NONE)
            return lapse_config_fail(c, cfg_mark_of(v), "output.parts",
                                     "parts: timepoints needs output.compression: none (parallel "
                                     "HDF5 writes compressed data only collectively, into one "
                                     "file)");
        if (c->output_parts && c->output_format != LAPSE_FMT_HDF5)
            return lapse_config_fail(c, cfg_mark_of(v), "output.parts",
                                     "parts: timepoints is for HDF5 outputs (a Zarr store is "
                                     "already one file per chunk)");
    }
    if ((v = cfg_map_get(w, o, "mode")) != NULL) {
        st = cfg_get_word(w, v, "output.mode", "mode", modes, &idx);
        if (st != LAPSE_OK)
            return st;
        c->mode = (lapse_mode_t)idx;
        c->mode_given = 1;
        c->mode_mark = cfg_mark_of(v);
    }
    /* output.file is the HDF5 file lapse writes; a name the readers take for another format
     * (out.tif, out.zarr) would give a file that neither lapse nor Fiji reads back as that */
    const lapse_reader_backend_t *as = lapse_reader_backend_for_name(c->output_file);
    if (as != &lapse_reader_hdf5)
        return lapse_config_fail(c, c->output_file_mark, "output.file",
                                 "'%s' is a %s name, but lapse writes an HDF5 file there (and "
                                 "reads a file of that name as %s): name it .h5%s",
                                 c->output_file, as->name, as->name,
                                 c->output_format == LAPSE_FMT_ZARR
                                     ? "; output.format: zarr puts the OME-Zarr store "
                                       "beside it (OUT.zarr)"
                                     : "; for OME-Zarr add output.format: zarr");
    /* lapse writes files named after the output's beside it, the longest NAME.creating (the
     * staging file, h5out.c), with parts NAME.parts.creating (io/h5parts.c): they must fit a
     * file name, 255 bytes on Linux file systems */
    const char *base = strrchr(c->output_file, '/'), *suffix;
    base = base ? base + 1 : c->output_file;
    suffix = c->output_parts ? ".parts.creating" : ".creating";
    if (strlen(base) + strlen(suffix) > 255)
        return lapse_config_fail(c, c->output_file_mark, "output.file",
                                 "the file name '%.24s...' has %zu bytes: lapse writes files "
                                 "beside it with up to %zu more (NAME%s), and a file name may "
                                 "have at most 255: shorten it to %zu",
                                 base, strlen(base), strlen(suffix), suffix, 255 - strlen(suffix));
    return LAPSE_OK;
}

static lapse_status_t walk_devices(walk_t *w, const yaml_node_t *top)
{
    static const char *const kinds[] = {"gpu", "cpu", "any", NULL};
    static const lapse_devkind_t kind_val[] = {LAPSE_DEV_GPU, LAPSE_DEV_CPU, LAPSE_DEV_ANY};
    lapse_config_t *c = w->cfg;
    yaml_node_t *d = cfg_map_get(w, top, "devices");
    int idx = 0;
    lapse_status_t st = LAPSE_OK;
    if (d == NULL)
        return LAPSE_OK;
    if (d->type != YAML_MAPPING_NODE) {
        if (d->type == YAML_SEQUENCE_NODE)
            return lapse_config_fail(c, cfg_mark_of(d), "devices",
                                     "expected gpu, cpu, any or {kind: gpu, index: N}, got %s",
                                     cfg_node_kind(d));
        st = cfg_get_word(w, d, "devices", "device kind", kinds, &idx);
        if (st == LAPSE_OK)
            c->devices = kind_val[idx];
        c->devices_mark = cfg_mark_of(d);
        return st;
    }
    st = cfg_check_keys(w, d, "devices", devices_keys, NULL, "devices");
    if (st != LAPSE_OK)
        return st;
    yaml_node_t *k = cfg_map_get(w, d, "kind"), *i = cfg_map_get(w, d, "index");
    if (k != NULL) {
        st = cfg_get_word(w, k, "devices.kind", "device kind", kinds, &idx);
        if (st != LAPSE_OK)
            return st;
        c->devices = kind_val[idx];
        c->devices_mark = cfg_mark_of(k);
    }
    if (i != NULL) {
        double v = 0.0;
        st = cfg_get_ranged(w, i, "devices.index", 1, 0.0, DEVICE_INDEX_MAX, &v);
        if (st != LAPSE_OK)
            return st;
        c->device_index = (int)v;
        c->device_index_mark = cfg_mark_of(i);
    }
    return LAPSE_OK;
}

static lapse_status_t walk_scheduling(walk_t *w, const yaml_node_t *top)
{
    /* In the order of lapse_sched_t. */
    static const char *const scheds[] = {"static", "dynamic", "rma", NULL};
    yaml_node_t *s = cfg_map_get(w, top, "scheduling");
    int idx = 0;
    if (s == NULL)
        return LAPSE_OK;
    lapse_status_t st = cfg_get_word(w, s, "scheduling", "scheduling", scheds, &idx);
    if (st == LAPSE_OK)
        w->cfg->sched = (lapse_sched_t)idx;
    return st;
}

static lapse_status_t walk_on_error(walk_t *w, const yaml_node_t *top)
{
    /* In the order of lapse_on_error_t. */
    static const char *const actions[] = {"stop", "skip", NULL};
    yaml_node_t *e = cfg_map_get(w, top, "on_error");
    int idx = 0;
    if (e == NULL)
        return LAPSE_OK;
    lapse_status_t st = cfg_get_word(w, e, "on_error", "on_error", actions, &idx);
    if (st == LAPSE_OK)
        w->cfg->on_error = (lapse_on_error_t)idx;
    return st;
}

/* 1 when dataset path a or b lies under the other (one would have to be a group and a
 * dataset at once). */
static int nested(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > lb)
        return strncmp(a, b, lb) == 0 && a[lb] == '/';
    return la < lb && strncmp(b, a, la) == 0 && b[la] == '/';
}

/* The save of step k against the output dataset and the earlier saves: not the same path,
 * neither under the other. */
static lapse_status_t check_save_clash(walk_t *w, int k, const char *kp)
{
    lapse_config_t *c = w->cfg;
    const char *s = c->steps[k].save;
    if (strcmp(s, c->output_dataset) == 0)
        return lapse_config_fail(c, w->save_mark[k], kp,
                                 "'%.60s' is the output dataset (output.dataset); "
                                 "choose another name",
                                 s);
    if (nested(s, c->output_dataset))
        return lapse_config_fail(c, w->save_mark[k], kp,
                                 "'%.60s' and the output dataset '%.60s' (output.dataset) nest: "
                                 "a dataset cannot hold another",
                                 s, c->output_dataset);
    for (int j = 0; j < k; j++) {
        if (strcmp(s, c->steps[j].save) == 0)
            return lapse_config_fail(c, w->save_mark[k], kp,
                                     "duplicate save name '%.60s' (also pipeline[%d].save)", s, j);
        if (c->steps[j].save[0] != '\0' && nested(s, c->steps[j].save))
            return lapse_config_fail(c, w->save_mark[k], kp,
                                     "'%.60s' and '%.60s' (pipeline[%d].save) nest: a dataset "
                                     "cannot hold another",
                                     s, c->steps[j].save, j);
    }
    return LAPSE_OK;
}

/* Checks across sections: save names unique, not the output dataset, not nested, not under
 * /lapse, not on the last step (whose result is the output dataset). */
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
        lapse_status_t st = check_save_clash(w, k, kp);
        if (st != LAPSE_OK)
            return st;
        if (k == c->nsteps - 1) /* ops/graph.c: the final result is the output dataset */
            return lapse_config_fail(c, w->save_mark[k], kp,
                                     "the last step's result is written to the output dataset "
                                     "'%.60s' (output.dataset): remove save: here, or set "
                                     "output.dataset: %.60s",
                                     c->output_dataset, s);
    }
    return LAPSE_OK;
}

/* The dataset paths a step writes besides the image outputs: a measuring step's table /<name>
 * and its summary /<name>_summary (src/exec/phases.c write_table); 0 for other steps. */
static int table_paths(const lapse_step_t *s, char a[LAPSE_STEP_NAME_MAX + 16],
                       char b[LAPSE_STEP_NAME_MAX + 16])
{
    if (s->op == NULL || s->op->global == NULL || s->op->global->table == NULL ||
        s->name[0] == '\0')
        return 0;
    snprintf(a, LAPSE_STEP_NAME_MAX + 16, "/%s", s->name);
    snprintf(b, LAPSE_STEP_NAME_MAX + 16, "/%s_summary", s->name);
    return 1;
}

/* The tables of the measuring steps against /lapse, the output dataset, every save and each
 * other: not the same path, neither under the other (the run would find the clash only when it
 * writes the table, after the output is made). Reported at the step's name. */
static lapse_status_t check_tables(walk_t *w)
{
    lapse_config_t *c = w->cfg;
    char kp[KEYPATH_MAX], t[2][LAPSE_STEP_NAME_MAX + 16], u[2][LAPSE_STEP_NAME_MAX + 16];
    for (int k = 0; k < c->nsteps; k++) {
        const lapse_step_t *s = &c->steps[k];
        if (!table_paths(s, t[0], t[1]))
            continue;
        snprintf(kp, sizeof kp, "pipeline[%d].name", k);
        for (int i = 0; i < 2; i++) {
            const char *p = t[i], *what = i ? "its summary table" : "its table";
            if (under_lapse(p))
                return lapse_config_fail(c, s->name_mark, kp,
                                         "%s would be %s, and /lapse is reserved for run "
                                         "metadata: choose another name",
                                         what, p);
            if (strcmp(p, c->output_dataset) == 0 || nested(p, c->output_dataset))
                return lapse_config_fail(c, s->name_mark, kp,
                                         "%s would be %.60s, which clashes with the output "
                                         "dataset %.60s (output.dataset): choose another name",
                                         what, p, c->output_dataset);
            for (int j = 0; j < c->nsteps; j++) {
                const char *sv = c->steps[j].save;
                if (sv[0] != '\0' && (strcmp(p, sv) == 0 || nested(p, sv)))
                    return lapse_config_fail(c, s->name_mark, kp,
                                             "%s would be %.60s, which clashes with "
                                             "pipeline[%d].save %.60s: choose another name",
                                             what, p, j, sv);
                if (j < k && table_paths(&c->steps[j], u[0], u[1]))
                    for (int m = 0; m < 2; m++)
                        if (strcmp(p, u[m]) == 0)
                            return lapse_config_fail(
                                c, s->name_mark, kp,
                                "%s would be %.60s, which pipeline[%d] (%s) writes as %s: "
                                "choose another name",
                                what, p, j, c->steps[j].name, m ? "its summary" : "its table");
            }
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
    /* the usual cause: a tab where YAML wants spaces */
    const char *tab = p->problem_mark.index < len && text[p->problem_mark.index] == '\t'
                          ? "; the character there is a tab: indent YAML with spaces only"
                          : "";
    if (p->context)
        return lapse_config_fail(c, m, "(yaml)", "YAML syntax error: %s (%s at line %d)%s", problem,
                                 p->context, (int)p->context_mark.line + 1, tab);
    return lapse_config_fail(c, m, "(yaml)", "YAML syntax error: %s%s", problem, tab);
}

/* Where the event pass is: one frame per open container (the key whose value is being read, or
 * the index in a list), so that problems found on events name their key path. */
typedef struct {
    int is_map, expect_key, index;
    char key[48];
} ev_frame_t;
typedef struct {
    ev_frame_t f[CONFIG_MAX_DEPTH + 1];
    int depth;
} ev_path_t;

/* A node starts (scalar, alias or container): advance the enclosing container's position. */
static void ev_path_node(ev_path_t *p, const yaml_event_t *ev)
{
    if (p->depth == 0)
        return;
    ev_frame_t *f = &p->f[p->depth - 1];
    if (!f->is_map) {
        f->index++;
        return;
    }
    if (f->expect_key)
        snprintf(f->key, sizeof f->key, "%.47s",
                 ev->type == YAML_SCALAR_EVENT ? (const char *)ev->data.scalar.value : "?");
    f->expect_key = !f->expect_key;
}

/* The key path of the node that just started: "pipeline[0].op". */
static void ev_path_format(const ev_path_t *p, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->depth && n < len; i++) {
        if (p->f[i].is_map)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "." : "", p->f[i].key);
        else
            n += (size_t)snprintf(buf + n, len - n, "[%d]", p->f[i].index);
    }
}

/* A tag on a node (!!str, !custom) or a NUL byte in a scalar: refused, since the walk would
 * read the text as if the tag were not there and C strings end at the NUL. */
static lapse_status_t check_node_event(const lapse_config_t *c, const ev_path_t *p,
                                       const yaml_event_t *ev)
{
    const yaml_char_t *tag = ev->type == YAML_SCALAR_EVENT           ? ev->data.scalar.tag
                             : ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.tag
                             : ev->type == YAML_MAPPING_START_EVENT  ? ev->data.mapping_start.tag
                                                                     : NULL;
    int nul = ev->type == YAML_SCALAR_EVENT &&
              strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length;
    if (tag == NULL && !nul)
        return LAPSE_OK;
    char kp[KEYPATH_MAX];
    lapse_mark_t m = {(int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1};
    ev_path_format(p, kp, sizeof kp);
    if (nul)
        return lapse_config_fail(c, m, kp, "must not contain NUL characters");
    const char *t = (const char *)tag, *core = "tag:yaml.org,2002:";
    int short_form = strncmp(t, core, strlen(core)) == 0;
    return lapse_config_fail(c, m, kp,
                             "YAML tags are not supported (got '%s%.40s'); write the value "
                             "without a tag",
                             short_form ? "!!" : "", short_form ? t + strlen(core) : t);
}

/* One event of the first pass: track the key path and the depth, check tags and NULs. */
static lapse_status_t check_event(const lapse_config_t *c, ev_path_t *p, const yaml_event_t *ev)
{
    lapse_mark_t m = {(int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1};
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
    case YAML_ALIAS_EVENT:
        ev_path_node(p, ev);
        return check_node_event(c, p, ev);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        ev_path_node(p, ev);
        if (check_node_event(c, p, ev) != LAPSE_OK)
            return LAPSE_ECONFIG;
        if (p->depth >= CONFIG_MAX_DEPTH)
            return lapse_config_fail(c, m, "(yaml)", "nested deeper than %d levels",
                                     CONFIG_MAX_DEPTH);
        p->depth++;
        p->f[p->depth - 1].is_map = ev->type == YAML_MAPPING_START_EVENT;
        p->f[p->depth - 1].expect_key = 1;
        p->f[p->depth - 1].index = -1;
        p->f[p->depth - 1].key[0] = '\0';
        return LAPSE_OK;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        p->depth--;
        return LAPSE_OK;
    default:
        return LAPSE_OK;
    }
}

/* First pass over the events: refuse nesting deeper than CONFIG_MAX_DEPTH before libyaml's
 * loader (whose cost grows with the square of the depth) sees it, and tags and NUL bytes (which
 * the document API hides); syntax errors are reported here too. */
static lapse_status_t check_events(const lapse_config_t *c, const char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    lapse_status_t st = LAPSE_OK;
    ev_path_t path;
    int done = 0;
    memset(&path, 0, sizeof path);
    if (!yaml_parser_initialize(&parser))
        return lapse_config_fail(c, (lapse_mark_t){0, 0}, "(yaml)",
                                 "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && st == LAPSE_OK) {
        if (!yaml_parser_parse(&parser, &ev)) {
            st = yaml_error(c, &parser, text, len);
            break;
        }
        st = check_event(c, &path, &ev);
        done = ev.type == YAML_STREAM_END_EVENT;
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
    LAPSE_TRY(check_events(c, text, len));
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
        st = lapse_config_fail(c, cfg_mark_of(root2), "(yaml)",
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
    if (top == NULL || cfg_is_null(top))
        return lapse_config_fail(w->cfg, (lapse_mark_t){1, 1}, "(top level)",
                                 "the config is empty; expected a mapping with input, pipeline "
                                 "and output");
    if (top->type != YAML_MAPPING_NODE)
        return lapse_config_fail(w->cfg, cfg_mark_of(top), "(top level)",
                                 "expected a mapping (key: value lines), got %s",
                                 cfg_node_kind(top));
    /* YAML 1.1 merge keys are no part of YAML 1.2 nor of libyaml: say so where one is, instead
     * of an unknown key or a missing one that the merge was meant to bring */
    for (yaml_node_t *n = w->doc->nodes.start; n < w->doc->nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = cfg_node_at(w, p->key);
            if (k != NULL && k->type == YAML_SCALAR_NODE && k->data.scalar.length == 2 &&
                memcmp(k->data.scalar.value, "<<", 2) == 0 &&
                k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
                return lapse_config_fail(w->cfg, cfg_mark_of(k), "<<",
                                         "YAML merge keys (<<: *anchor) are not supported: write "
                                         "the keys out (an alias may stand for a whole value, "
                                         "such as a list of sigmas)");
        }
    }
    LAPSE_TRY(cfg_check_keys(w, top, "", top_keys, NULL, "the top level"));
    LAPSE_TRY(walk_input(w, top));
    LAPSE_TRY(walk_timepoints(w, top));
    LAPSE_TRY(walk_tiles(w, top));
    LAPSE_TRY(cfg_walk_pipeline(w, top));
    LAPSE_TRY(walk_output(w, top));
    LAPSE_TRY(walk_devices(w, top));
    LAPSE_TRY(walk_scheduling(w, top));
    LAPSE_TRY(walk_on_error(w, top));
    LAPSE_TRY(check_saves(w));
    LAPSE_TRY(check_tables(w));
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
    cfg->on_error = LAPSE_ON_ERROR_STOP;
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
    if ((st = lapse_config_load_sources(cfg)) != LAPSE_OK)
        lapse_config_free(cfg);
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
    for (int k = 0; k < LAPSE_MAX_STEPS; k++) { /* a step that failed to parse may hold one */
        lapse_source_t *src = cfg->steps[k].source;
        if (src != NULL)
            free(src->text);
        free(src);
        cfg->steps[k].source = NULL;
    }
}
