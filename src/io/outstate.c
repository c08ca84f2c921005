/*
 * io/outstate.c - reading an existing output's state before a run (io/outstate.h): serial HDF5
 * reads on one rank, through the names of io/layout.h. A file that is not there, not HDF5 or
 * not a lapse output is described, not an error; only unexpected HDF5 failures are.
 */
#include "io/outstate.h"

#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "h5util.h"
#include "io/h5parts.h"
#include "io/layout.h"
#include "tpsel.h"

/* Read /lapse/done and its tile attribute into os. Returns 0 when present and sane. */
static int read_done(hid_t f, lapse_outstate_t *os)
{
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID, a = H5I_INVALID_HID;
    hsize_t dims[2];
    int ok = -1;
    if (H5Lexists(f, LAPSE_LAYOUT_GROUP, H5P_DEFAULT) <= 0 ||
        H5Lexists(f, LAPSE_LAYOUT_DONE, H5P_DEFAULT) <= 0)
        goto cleanup;
    if ((d = H5Dopen2(f, LAPSE_LAYOUT_DONE, H5P_DEFAULT)) < 0 || (sp = H5Dget_space(d)) < 0)
        goto cleanup;
    if (H5Sget_simple_extent_ndims(sp) != 2 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
        goto cleanup;
    if ((a = H5Aopen(d, LAPSE_LAYOUT_DONE_TILE, H5P_DEFAULT)) < 0 ||
        H5Aread(a, H5T_NATIVE_INT64, os->tile) < 0)
        goto cleanup;
    os->ntp = (int64_t)dims[0];
    os->ntiles = (int64_t)dims[1];
    os->done = malloc((size_t)(dims[0] * dims[1]) + 1);
    if (!os->done || H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, os->done) < 0) {
        free(os->done);
        os->done = NULL;
        goto cleanup;
    }
    ok = 0;
cleanup:
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
    return ok;
}

typedef struct {
    int64_t run_id, timepoint, tile;
    int32_t status;
} held_t;

static int held_cmp(const void *a, const void *b)
{
    const held_t *x = a, *y = b;
    return (x->run_id > y->run_id) - (x->run_id < y->run_id);
}

/* Runs apply their claims in run order to h (os->holder). A run with done rows holds those
 * tasks; an update that recomputed its selection (its marks reset at its start) holds none of
 * the selection's other tasks. A run that left no rows (killed: rows are appended at a run's
 * end) holds, when it recomputed its selection, every task of it, else (it computed only tasks
 * not done yet, or it is not recorded which) the tasks of its selection no run holds yet. */
static void apply_run(const lapse_outstate_t *os, int64_t id, const held_t *rows, size_t n)
{
    int64_t *h = os->holder, *tps = NULL, nt = 0;
    const int recompute = os->run_recompute[id] == 1;
    char err[8];
    if (lapse_tpsel_parse(os->run_tps[id][0] ? os->run_tps[id] : "all", os->ntp, &tps, &nt, err,
                          sizeof err) != 0) {
        tps = NULL; /* a selection cut when recorded: no claim beyond the rows */
        nt = 0;
    }
    if (n > 0 && recompute)
        for (int64_t i = 0; i < nt; i++)
            for (int64_t k = 0; k < os->ntiles; k++)
                h[tps[i] * os->ntiles + k] = 0;
    for (size_t i = 0; i < n; i++)
        h[rows[i].timepoint * os->ntiles + rows[i].tile] = id;
    if (n == 0)
        for (int64_t i = 0; i < nt; i++)
            for (int64_t k = 0; k < os->ntiles; k++) {
                int64_t *x = &h[tps[i] * os->ntiles + k];
                if (recompute || *x == 0)
                    *x = id;
            }
    free(tps);
}

/* os->holder (see io/outstate.h), from the done rows of LAPSE_LAYOUT_TASKS, each run's record and
 * the done marks. Left NULL when the table cannot be read. */
static void read_holders(hid_t f, lapse_outstate_t *os)
{
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    held_t *rows = NULL;
    hsize_t n = 0;
    if (os->ntp <= 0 || os->ntiles <= 0 || os->done == NULL || os->run_tps == NULL ||
        H5Lexists(f, LAPSE_LAYOUT_TASKS, H5P_DEFAULT) <= 0 ||
        (d = H5Dopen2(f, LAPSE_LAYOUT_TASKS, H5P_DEFAULT)) < 0 || (sp = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, &n, NULL) < 0)
        goto cleanup;
    if ((mt = H5Tcreate(H5T_COMPOUND, sizeof(held_t))) < 0 ||
        H5Tinsert(mt, "run_id", HOFFSET(held_t, run_id), H5T_NATIVE_INT64) < 0 ||
        H5Tinsert(mt, "timepoint", HOFFSET(held_t, timepoint), H5T_NATIVE_INT64) < 0 ||
        H5Tinsert(mt, "tile", HOFFSET(held_t, tile), H5T_NATIVE_INT64) < 0 ||
        H5Tinsert(mt, "status", HOFFSET(held_t, status), H5T_NATIVE_INT32) < 0)
        goto cleanup;
    rows = malloc((size_t)n * sizeof *rows + 1);
    os->holder = calloc((size_t)(os->ntp * os->ntiles), sizeof *os->holder);
    if (rows == NULL || os->holder == NULL ||
        (n > 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)) {
        free(os->holder);
        os->holder = NULL;
        goto cleanup;
    }
    size_t m = 0; /* the done rows of known tasks and runs, in run order */
    for (hsize_t i = 0; i < n; i++) {
        const held_t *r = &rows[i];
        if (r->status == LAPSE_ROW_DONE && r->timepoint >= 0 && r->timepoint < os->ntp &&
            r->tile >= 0 && r->tile < os->ntiles && r->run_id >= 1 && r->run_id <= os->last_run)
            rows[m++] = *r;
    }
    qsort(rows, m, sizeof *rows, held_cmp);
    size_t i = 0;
    for (int64_t id = 1; id <= os->last_run; id++) {
        size_t j = i;
        while (j < m && rows[j].run_id == id)
            j++;
        apply_run(os, id, rows + i, j - i);
        i = j;
    }
    for (int64_t t = 0; t < os->ntp * os->ntiles; t++)
        if (os->done[t] != LAPSE_MARK_DONE)
            os->holder[t] = 0;
cleanup:
    free(rows);
    if (mt >= 0)
        H5Tclose(mt);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
}

/* os->run_fp, os->run_input, os->run_tps: each run's fingerprint, input identity at its start
 * and recorded selection (index = run id, 1 .. os->last_run; "" where not recorded). */
static void read_run_facts(hid_t f, lapse_outstate_t *os)
{
    const size_t n = (size_t)os->last_run + 1;
    os->run_fp = calloc(n, sizeof *os->run_fp);
    os->run_input = calloc(n, sizeof *os->run_input);
    os->run_tps = calloc(n, sizeof *os->run_tps);
    os->run_recompute = malloc(n * sizeof *os->run_recompute);
    if (!os->run_fp || !os->run_input || !os->run_tps || !os->run_recompute) {
        free(os->run_fp);
        free(os->run_input);
        free(os->run_tps);
        free(os->run_recompute);
        os->run_fp = NULL;
        os->run_input = NULL;
        os->run_tps = NULL;
        os->run_recompute = NULL;
        return;
    }
    for (size_t i = 0; i < n; i++)
        os->run_recompute[i] = -1;
    for (int64_t id = 1; id <= os->last_run; id++) {
        char path[64];
        hid_t r = H5Gopen2(f, lapse_layout_run_path(id, path, sizeof path), H5P_DEFAULT);
        if (r < 0)
            continue;
        lapse_h5_read_str_attr(r, LAPSE_ATTR_FINGERPRINT, os->run_fp[id], sizeof os->run_fp[id]);
        lapse_h5_read_str_attr(r, LAPSE_ATTR_INPUT_IDENTITY, os->run_input[id],
                               sizeof os->run_input[id]);
        lapse_h5_read_str_attr(r, LAPSE_RUN_ATTR_TIMEPOINTS, os->run_tps[id],
                               sizeof os->run_tps[id]);
        if (H5Aexists(r, LAPSE_RUN_ATTR_RECOMPUTE) > 0) {
            hid_t a = H5Aopen(r, LAPSE_RUN_ATTR_RECOMPUTE, H5P_DEFAULT);
            int v = -1;
            if (a >= 0 && H5Aread(a, H5T_NATIVE_INT, &v) >= 0)
                os->run_recompute[id] = v;
            if (a >= 0)
                H5Aclose(a);
        }
        H5Gclose(r);
    }
    H5Eclear2(H5E_DEFAULT);
}

void lapse_outstate_held(const lapse_outstate_t *os, const char *field, const char *want,
                         const int64_t *skip, int64_t nskip, char *buf, size_t len)
{
    size_t n = 0;
    int64_t *tps = NULL;
    buf[0] = '\0';
    if (os->run_fp == NULL || len < 8)
        return;
    if (os->holder)
        tps = malloc((size_t)os->ntp * sizeof *tps + 1);
    for (int64_t id = 1; id <= os->last_run && n < len; id++) {
        const char *v = strcmp(field, "input") == 0 ? os->run_input[id] : os->run_fp[id];
        if (v[0] == '\0' || strcmp(v, want) == 0)
            continue;
        char list[256];
        if (os->holder && tps) { /* the timepoints with a task this run holds, skip left out */
            int64_t nt = 0, j = 0;
            for (int64_t t = 0; t < os->ntp; t++) {
                int held = 0;
                for (int64_t k = 0; k < os->ntiles && !held; k++)
                    held = os->holder[t * os->ntiles + k] == id;
                while (j < nskip && skip[j] < t)
                    j++;
                if (held && !(j < nskip && skip[j] == t))
                    tps[nt++] = t;
            }
            if (nt == 0)
                continue;
            lapse_tpsel_format(tps, nt, list, sizeof list);
        } else { /* no task rows: the run's selection as recorded */
            snprintf(list, sizeof list, "%.200s", os->run_tps[id][0] ? os->run_tps[id] : "all");
        }
        int a = snprintf(buf + n, len - n, "%srun %lld (timepoints %s)", n ? ", " : "",
                         (long long)id, list);
        n = a < 0 ? len : n + (size_t)a;
        if (n >= len) /* cut: end with an ellipsis */
            snprintf(buf + len - 5, 5, " ...");
    }
    free(tps);
}

/* os->input_sums from LAPSE_LAYOUT_INPUT_SUMS when f has it as [os->ntp] (else left NULL). */
static void read_sums(hid_t f, lapse_outstate_t *os)
{
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hsize_t n = 0;
    if (H5Lexists(f, LAPSE_LAYOUT_INPUT_SUMS, H5P_DEFAULT) <= 0 ||
        (d = H5Dopen2(f, LAPSE_LAYOUT_INPUT_SUMS, H5P_DEFAULT)) < 0 || (sp = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, &n, NULL) < 0 ||
        (int64_t)n != os->ntp)
        goto cleanup;
    os->input_sums = calloc((size_t)n + 1, sizeof *os->input_sums);
    if (os->input_sums != NULL && n > 0 &&
        H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, os->input_sums) < 0) {
        free(os->input_sums);
        os->input_sums = NULL;
    }
cleanup:
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
}

lapse_status_t lapse_h5out_inspect(const char *file, lapse_outstate_t *os)
{
    hid_t f = H5I_INVALID_HID, g = H5I_INVALID_HID;
    struct stat sb;

    memset(os, 0, sizeof *os);
    lapse_h5_init();
    if (stat(file, &sb) != 0)
        return LAPSE_OK;
    os->exists = 1;
    if (!S_ISREG(sb.st_mode) || H5Fis_hdf5(file) <= 0)
        goto cleanup;
    if ((f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        goto cleanup;
    if (read_done(f, os) != 0)
        goto cleanup;
    os->is_lapse = 1;
    read_sums(f, os);
    lapse_h5_read_str_attr(f, LAPSE_ATTR_FINGERPRINT, os->fingerprint, sizeof os->fingerprint);
    lapse_h5_read_str_attr(f, LAPSE_PARTS_TOKEN_ATTR, os->parts_token, sizeof os->parts_token);
    lapse_h5_read_str_attr(f, LAPSE_ATTR_INPUT_IDENTITY, os->input_identity,
                           sizeof os->input_identity);
    if (H5Lexists(f, LAPSE_LAYOUT_RUNS, H5P_DEFAULT) > 0 &&
        (g = H5Gopen2(f, LAPSE_LAYOUT_RUNS, H5P_DEFAULT)) >= 0) {
        H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, lapse_layout_max_run_cb, &os->last_run);
        if (os->last_run > 0) {
            char path[64];
            hid_t r =
                H5Gopen2(f, lapse_layout_run_path(os->last_run, path, sizeof path), H5P_DEFAULT);
            if (r >= 0) {
                lapse_h5_read_str_attr(r, LAPSE_RUN_ATTR_STATUS, os->last_status,
                                       sizeof os->last_status);
                lapse_h5_read_str_attr(r, LAPSE_RUN_ATTR_TIMEPOINTS, os->last_timepoints,
                                       sizeof os->last_timepoints);
                lapse_h5_read_str_attr(r, LAPSE_ATTR_FINGERPRINT, os->last_fingerprint,
                                       sizeof os->last_fingerprint);
                lapse_h5_read_str_attr(r, LAPSE_RUN_ATTR_TPS_HASH, os->last_tps_hash,
                                       sizeof os->last_tps_hash);
                H5Gclose(r);
            }
        }
        read_run_facts(f, os);
        read_holders(f, os);
        lapse_outstate_held(os, "config", os->fingerprint, NULL, 0, os->other_runs,
                            sizeof os->other_runs);
    }
cleanup:
    if (g >= 0)
        H5Gclose(g);
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return LAPSE_OK;
}

/* H5Ovisit2 state of lapse_h5out_unwritten. */
typedef struct {
    const char *const *keep;
    int nkeep;
    char *buf;
    size_t len, n;
} unwritten_t;

static herr_t unwritten_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    unwritten_t *u = data;
    (void)obj;
    if (info->type != H5O_TYPE_DATASET || lapse_layout_reserved(name) || u->n >= u->len)
        return 0;
    for (int i = 0; i < u->nkeep; i++)
        if (strcmp(u->keep[i] + (u->keep[i][0] == '/'), name) == 0)
            return 0;
    int a = snprintf(u->buf + u->n, u->len - u->n, "%s/%s", u->n ? ", " : "", name);
    u->n = a < 0 ? u->len : u->n + (size_t)a;
    if (u->n >= u->len) /* cut: end with an ellipsis */
        snprintf(u->buf + u->len - 5, 5, " ...");
    return 0;
}

void lapse_h5out_unwritten(const char *file, const char *const *keep, int nkeep, char *buf,
                           size_t len)
{
    unwritten_t u = {keep, nkeep, buf, len, 0};
    buf[0] = '\0';
    lapse_h5_init();
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0) {
        H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, unwritten_cb, &u, H5O_INFO_BASIC);
        H5Fclose(f);
    }
    H5Eclear2(H5E_DEFAULT);
}

int lapse_h5out_element_size(const char *file, const char *dset, double vox[3])
{
    int ok = 0;
    float v[3];
    lapse_h5_init();
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5I_INVALID_HID, a = H5I_INVALID_HID,
          sp = H5I_INVALID_HID;
    if (f >= 0)
        d = H5Dopen2(f, dset, H5P_DEFAULT);
    if (d >= 0 && H5Aexists(d, "element_size_um") > 0)
        a = H5Aopen(d, "element_size_um", H5P_DEFAULT);
    if (a >= 0)
        sp = H5Aget_space(a);
    if (sp >= 0 && H5Sget_simple_extent_npoints(sp) == 3 && H5Aread(a, H5T_NATIVE_FLOAT, v) >= 0) {
        for (int i = 0; i < 3; i++)
            vox[i] = v[i];
        ok = 1;
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return ok;
}

void lapse_outstate_free(lapse_outstate_t *os)
{
    free(os->done);
    free(os->holder);
    free(os->run_fp);
    free(os->run_input);
    free(os->run_tps);
    free(os->run_recompute);
    free(os->input_sums);
    os->input_sums = NULL;
    os->run_recompute = NULL;
    os->done = NULL;
    os->holder = NULL;
    os->run_fp = NULL;
    os->run_input = NULL;
    os->run_tps = NULL;
}
