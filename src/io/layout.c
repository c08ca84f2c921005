/*
 * io/layout.c - the output schema's helpers (see layout.h): run group names, the reserved
 * /lapse prefix, the /lapse/tasks compound type built from one table of fields, and the JSON
 * export of the whole schema that tests/py/check_schema.py compares with the Python helpers,
 * and the name of an output's OME-Zarr store (lapse_zarr_root).
 */
#include "io/layout.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "h5util.h"

/* How a field is stored. */
typedef enum { K_I32, K_I64, K_I64X3, K_F64, K_STR } kind_t;

typedef struct {
    const char *name;
    size_t offset, size;
    kind_t kind;
} field_t;

/* clang-format off */
#define F(m, k) {#m, offsetof(lapse_task_row_t, m), sizeof(((lapse_task_row_t *)0)->m), k}
/* clang-format on */
/* The fields of a row in file order: one line per member of lapse_task_row_t. */
static const field_t fields[] = {
    F(run_id, K_I64),        F(task_id, K_I64),      F(timepoint, K_I64), F(tile, K_I64),
    F(core_offset, K_I64X3), F(core_shape, K_I64X3), F(rank, K_I32),      F(host, K_STR),
    F(device, K_STR),        F(t_read, K_F64),       F(t_upload, K_F64),  F(t_compute, K_F64),
    F(t_download, K_F64),    F(t_write, K_F64),      F(t_total, K_F64),   F(bytes_in, K_I64),
    F(bytes_out, K_I64),     F(status, K_I32),       F(nonfinite, K_I64), F(t_start, K_F64),
    F(t_wait, K_F64),        F(clipped, K_I64),
};
#undef F
#define NFIELDS ((int)(sizeof fields / sizeof fields[0]))

int lapse_layout_reserved(const char *path)
{
    const char *g = &LAPSE_LAYOUT_GROUP[1]; /* "lapse" */
    size_t n = strlen(g);
    if (path[0] == '/')
        path++;
    return strncmp(path, g, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

char *lapse_layout_run_path(int64_t run_id, char *buf, size_t len)
{
    snprintf(buf, len, LAPSE_LAYOUT_RUNS "/%" PRId64, run_id);
    return buf;
}

int lapse_layout_run_id(const char *name, int64_t *id)
{
    char *end = NULL;
    long long v = strtoll(name, &end, 10);
    if (end == name || *end != '\0')
        return -1;
    *id = (int64_t)v;
    return 0;
}

int lapse_layout_row_nfields(void)
{
    return NFIELDS;
}

const char *lapse_layout_row_field(int i)
{
    return i >= 0 && i < NFIELDS ? fields[i].name : NULL;
}

lapse_status_t lapse_layout_row_type(hid_t *out)
{
    lapse_status_t st = LAPSE_OK;
    hid_t t = H5I_INVALID_HID, a3 = H5I_INVALID_HID, str = H5I_INVALID_HID;
    hsize_t three = 3;

    LAPSE_H5ID(t, H5Tcreate(H5T_COMPOUND, sizeof(lapse_task_row_t)));
    LAPSE_H5ID(a3, H5Tarray_create2(H5T_NATIVE_INT64, 1, &three));
    for (int i = 0; i < NFIELDS; i++) {
        const field_t *f = &fields[i];
        hid_t ft = f->kind == K_I32   ? H5T_NATIVE_INT32
                   : f->kind == K_I64 ? H5T_NATIVE_INT64
                   : f->kind == K_F64 ? H5T_NATIVE_DOUBLE
                                      : a3;
        if (f->kind == K_STR) {
            LAPSE_H5ID(str, lapse_h5_str_type(f->size));
            ft = str;
        }
        LAPSE_H5(H5Tinsert(t, f->name, f->offset, ft));
        if (str >= 0) {
            LAPSE_H5(H5Tclose(str));
            str = H5I_INVALID_HID;
        }
    }
    *out = t;
    t = H5I_INVALID_HID;
cleanup:
    if (str >= 0)
        H5Tclose(str);
    if (a3 >= 0)
        H5Tclose(a3);
    if (t >= 0)
        H5Tclose(t);
    return st;
}

/* Print a JSON list of strings. */
static void print_list(FILE *f, const char *key, const char *const *v, int n, const char *sep)
{
    fprintf(f, "  \"%s\": [", key);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\"%s\"", i ? ", " : "", v[i]);
    fprintf(f, "]%s\n", sep);
}

void lapse_layout_print_schema(FILE *f)
{
    static const char *const root_attrs[] = {LAPSE_ATTR_VERSION,     LAPSE_ATTR_CONFIG,
                                             LAPSE_ATTR_INPUT_FILE,  LAPSE_ATTR_INPUT_DATASET,
                                             LAPSE_ATTR_FINGERPRINT, LAPSE_ATTR_INPUT_IDENTITY,
                                             LAPSE_ATTR_PARTS_TOKEN};
    static const char *const run_attrs[] = {
        LAPSE_RUN_ATTR_ID,         LAPSE_RUN_ATTR_NRANKS,      LAPSE_RUN_ATTR_START,
        LAPSE_RUN_ATTR_END,        LAPSE_RUN_ATTR_STATUS,      LAPSE_RUN_ATTR_TIMEPOINTS,
        LAPSE_RUN_ATTR_CONFIG,     LAPSE_RUN_ATTR_CONFIG_PATH, LAPSE_ATTR_INPUT_FILE,
        LAPSE_ATTR_INPUT_DATASET,  LAPSE_ATTR_FINGERPRINT,     LAPSE_RUN_ATTR_TPS_HASH,
        LAPSE_ATTR_INPUT_IDENTITY, LAPSE_RUN_ATTR_INPUT_END,   LAPSE_RUN_ATTR_INPUT_CHANGED};
    static const char *const run_status[] = {LAPSE_RUN_RUNNING, LAPSE_RUN_DONE, LAPSE_RUN_FAILED,
                                             LAPSE_RUN_INTERRUPTED};
    const char *names[NFIELDS];
    for (int i = 0; i < NFIELDS; i++)
        names[i] = fields[i].name;

    fprintf(f, "{\n");
    fprintf(f, "  \"group\": \"%s\",\n", LAPSE_LAYOUT_GROUP);
    fprintf(f, "  \"tasks\": \"%s\",\n", LAPSE_LAYOUT_TASKS);
    fprintf(f, "  \"done\": \"%s\",\n", LAPSE_LAYOUT_DONE);
    fprintf(f, "  \"runs\": \"%s\",\n", LAPSE_LAYOUT_RUNS);
    fprintf(f, "  \"input_sums\": \"%s\",\n", LAPSE_LAYOUT_INPUT_SUMS);
    fprintf(f, "  \"done_tile_attr\": \"%s\",\n", LAPSE_LAYOUT_DONE_TILE);
    fprintf(f, "  \"mark\": {\"pending\": %d, \"done\": %d},\n", LAPSE_MARK_PENDING,
            LAPSE_MARK_DONE);
    print_list(f, "task_fields", names, NFIELDS, ",");
    fprintf(f, "  \"row_status\": {\"done\": %d, \"failed\": %d, \"abandoned\": %d},\n",
            LAPSE_ROW_DONE, LAPSE_ROW_FAILED, LAPSE_ROW_ABANDONED);
    print_list(f, "root_attrs", root_attrs, (int)(sizeof root_attrs / sizeof root_attrs[0]), ",");
    print_list(f, "run_attrs", run_attrs, (int)(sizeof run_attrs / sizeof run_attrs[0]), ",");
    print_list(f, "run_status", run_status, (int)(sizeof run_status / sizeof run_status[0]), "");
    fprintf(f, "}\n");
}

int lapse_zarr_root(const char *out, char *buf, size_t len)
{
    static const char *const suffixes[] = {".h5", ".hdf5", ".he5"};
    size_t n = strlen(out);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t s = strlen(suffixes[i]);
        if (n > s && strcasecmp(out + n - s, suffixes[i]) == 0 && out[n - s - 1] != '/') {
            n -= s;
            break;
        }
    }
    int a = snprintf(buf, len, "%.*s.zarr", (int)n, out);
    return a > 0 && (size_t)a < len ? 0 : -1;
}

herr_t lapse_layout_max_run_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    int64_t *max = data, v;
    (void)g;
    (void)info;
    if (lapse_layout_run_id(name, &v) == 0 && v > *max)
        *max = v;
    return 0;
}
