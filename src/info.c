/*
 * info.c - `lapse info FILE.h5`: a summary of a lapse output, read serially with the default
 * driver: result datasets, runs, which timepoints are done, and per run the seconds spent in
 * each phase per rank with the resulting voxels per second.
 *
 * Task state: a task (timepoint, tile) is done when /lapse/done marks it; failed when it is not
 * done and its latest row in /lapse/tasks (highest run id, later rows win within a run) has
 * status 1; pending otherwise (never run, abandoned when a run stopped for a signal or another
 * task's failure, or a run killed before its row). Per timepoint the counts are printed as a table,
 * consecutive timepoints with identical counts merged into ranges. Files without /lapse/done (older
 * outputs) fall back to the rows: a timepoint is done when the latest run that touched it has
 * status-0 rows for tiles whose core boxes add up to the whole image.
 */
#include "info.h"

#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5util.h"
#include "io/h5parts.h"
#include "io/layout.h"
#include "io/table.h"
#include "io/zarr_out.h"
#include "tpsel.h"

typedef struct {
    int64_t id;
    char start[40], end[40], status[32], timepoints[1024]; /* cut_selection: at most 1000 */
    char fingerprint[24]; /* of the run's result-defining config ("" in older outputs) */
    char input[96];       /* the input's identity at the run's start ("" in older outputs) */
    int nranks;
    int64_t grown[2]; /* a growth's record: the count of timepoints before and after; 0, 0 */
} run_t;

typedef struct {
    char path[LAPSE_NAME_MAX];
    int ndims;
    int64_t dims[8];
} dset_t;

typedef struct {
    dset_t *d;
    int n, cap;
} dset_list_t;

/* The task state of an output: marks and per-timepoint counts. */
typedef struct {
    int64_t ntp, ntiles, tile[3];
    unsigned char *mark; /* [ntp * ntiles] from /lapse/done */
    int64_t (*cnt)[3];   /* [ntp] done, pending, failed */
    int64_t total[3];    /* summed over timepoints */
} state_t;

/* ------------------------------------------------------------------ reading */

static herr_t dset_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    dset_list_t *l = data;
    if (info->type != H5O_TYPE_DATASET || lapse_layout_reserved(name))
        return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        dset_t *d = realloc(l->d, (size_t)cap * sizeof *d);
        if (d == NULL)
            return -1;
        l->d = d;
        l->cap = cap;
    }
    dset_t *d = &l->d[l->n];
    memset(d, 0, sizeof *d);
    snprintf(d->path, sizeof d->path, "/%s", name);
    hid_t ds = H5Dopen2(obj, name, H5P_DEFAULT);
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
    hsize_t dims[H5S_MAX_RANK];
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (nd >= 0 && nd <= 8 && H5Sget_simple_extent_dims(sp, dims, NULL) >= 0) {
        d->ndims = nd;
        for (int i = 0; i < nd; i++)
            d->dims[i] = (int64_t)dims[i];
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    l->n++;
    return 0;
}

/* Type name of dataset path in numpy style. */
static void dset_type_name(hid_t f, const char *path, char *buf, size_t len)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT), t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    snprintf(buf, len, "?");
    if (t >= 0) {
        H5T_class_t c = H5Tget_class(t);
        size_t s = H5Tget_size(t);
        if (c == H5T_INTEGER)
            snprintf(buf, len, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", 8 * s);
        else if (c == H5T_FLOAT)
            snprintf(buf, len, "float%zu", 8 * s);
        else if (c == H5T_COMPOUND)
            snprintf(buf, len, "table of %d columns", H5Tget_nmembers(t));
        H5Tclose(t);
    }
    if (d >= 0)
        H5Dclose(d);
}

/* Rows of the table at path (io/table.h) whose timepoint is LAPSE_TABLE_UNWRITTEN: grown by a
 * table write that stopped before it wrote them. 0 for anything that is not such a table, or
 * that cannot be read (its listing says so elsewhere). */
static int64_t table_unwritten(hid_t f, const char *path)
{
    int64_t n = 0, *t = NULL;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT), ft = H5I_INVALID_HID, mt = H5I_INVALID_HID,
          sp = H5I_INVALID_HID;
    if (d < 0 || (ft = H5Dget_type(d)) < 0 || H5Tget_class(ft) != H5T_COMPOUND ||
        H5Tget_member_index(ft, "timepoint") < 0 || (sp = H5Dget_space(d)) < 0)
        goto done;
    hssize_t nr = H5Sget_simple_extent_npoints(sp);
    if (nr <= 0 || (t = malloc((size_t)nr * sizeof *t)) == NULL)
        goto done;
    if ((mt = H5Tcreate(H5T_COMPOUND, sizeof *t)) < 0 ||
        H5Tinsert(mt, "timepoint", 0, H5T_NATIVE_INT64) < 0 ||
        H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, t) < 0)
        goto done;
    for (hssize_t i = 0; i < nr; i++)
        n += t[i] == LAPSE_TABLE_UNWRITTEN;
done:
    H5Eclear2(H5E_DEFAULT);
    free(t);
    if (mt >= 0)
        H5Tclose(mt);
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    if (d >= 0)
        H5Dclose(d);
    return n;
}

/* A run's timepoint selection read into sel[len] (len > 1000) as at most 1000 characters: one
 * that filled the buffer (a longer selection was cut) ends at its last whole item before that,
 * followed by ", ... (cut)", so no item or range is shown cut in the middle. */
static void cut_selection(char *sel, size_t len)
{
    size_t n = strlen(sel);
    if (n + 1 < len && n <= 1000)
        return;
    sel[1000 - 12] = '\0';
    char *comma = strrchr(sel, ',');
    if (comma != NULL)
        *comma = '\0';
    strcat(sel, ", ... (cut)");
}

/* Read every row of /lapse/tasks (none when the table is missing). *rows is malloc'ed. */
static lapse_status_t read_rows(hid_t f, lapse_task_row_t **rows, int64_t *n)
{
    lapse_status_t st = LAPSE_OK;
    hid_t d = H5I_INVALID_HID, s = H5I_INVALID_HID, t = H5I_INVALID_HID;
    lapse_task_row_t *r = NULL;
    hsize_t len = 0;

    *rows = NULL;
    *n = 0;
    if (H5Lexists(f, LAPSE_LAYOUT_GROUP, H5P_DEFAULT) <= 0 ||
        H5Lexists(f, LAPSE_LAYOUT_TASKS, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return LAPSE_OK;
    }
    LAPSE_H5ID(d, H5Dopen2(f, LAPSE_LAYOUT_TASKS, H5P_DEFAULT));
    LAPSE_H5ID(s, H5Dget_space(d));
    LAPSE_H5(H5Sget_simple_extent_dims(s, &len, NULL));
    r = calloc(len ? len : 1, sizeof *r);
    LAPSE_ALLOC(r);
    LAPSE_TRY(lapse_layout_row_type(&t));
    if (len > 0)
        LAPSE_H5(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, r));
    *rows = r;
    *n = (int64_t)len;
    r = NULL;
cleanup:
    free(r);
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    return st;
}

static herr_t run_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    void **ctx = data;
    run_t **runs = ctx[0];
    int *n = ctx[1], *cap = ctx[2];
    int64_t id;
    (void)info;
    if (lapse_layout_run_id(name, &id) != 0)
        return 0;
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 8;
        run_t *r = realloc(*runs, (size_t)c * sizeof *r);
        if (r == NULL)
            return -1;
        *runs = r;
        *cap = c;
    }
    run_t *r = &(*runs)[*n];
    memset(r, 0, sizeof *r);
    r->id = id;
    hid_t rg = H5Gopen2(g, name, H5P_DEFAULT);
    if (rg >= 0) {
        lapse_h5_read_str_attr(rg, LAPSE_RUN_ATTR_START, r->start, sizeof r->start);
        lapse_h5_read_str_attr(rg, LAPSE_RUN_ATTR_END, r->end, sizeof r->end);
        lapse_h5_read_str_attr(rg, LAPSE_RUN_ATTR_STATUS, r->status, sizeof r->status);
        lapse_h5_read_str_attr(rg, LAPSE_RUN_ATTR_TIMEPOINTS, r->timepoints, sizeof r->timepoints);
        cut_selection(r->timepoints, sizeof r->timepoints);
        if (H5Aexists(rg, LAPSE_ATTR_FINGERPRINT) > 0)
            lapse_h5_read_str_attr(rg, LAPSE_ATTR_FINGERPRINT, r->fingerprint,
                                   sizeof r->fingerprint);
        if (H5Aexists(rg, LAPSE_ATTR_INPUT_IDENTITY) > 0)
            lapse_h5_read_str_attr(rg, LAPSE_ATTR_INPUT_IDENTITY, r->input, sizeof r->input);
        hid_t a = H5Aexists(rg, LAPSE_RUN_ATTR_NRANKS) > 0
                      ? H5Aopen(rg, LAPSE_RUN_ATTR_NRANKS, H5P_DEFAULT)
                      : -1;
        if (a >= 0) {
            H5Aread(a, H5T_NATIVE_INT, &r->nranks);
            H5Aclose(a);
        }
        static const char *const grown[2] = {LAPSE_RUN_ATTR_GROWN_FROM, LAPSE_RUN_ATTR_GROWN_TO};
        for (int k = 0; k < 2; k++) {
            a = H5Aexists(rg, grown[k]) > 0 ? H5Aopen(rg, grown[k], H5P_DEFAULT) : -1;
            if (a >= 0) {
                H5Aread(a, H5T_NATIVE_INT64, &r->grown[k]);
                H5Aclose(a);
            }
        }
        H5Gclose(rg);
    }
    H5Eclear2(H5E_DEFAULT);
    (*n)++;
    return 0;
}

static int cmp_run(const void *a, const void *b)
{
    const run_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* ------------------------------------------------------------------ analysis */

/* Seconds since the epoch of an ISO 8601 UTC stamp ("2024-01-02T03:04:05Z", fractions
 * allowed); -1 when it does not parse. */
static double iso_seconds(const char *s)
{
    int y, mo, d, h, mi;
    double sec;
    if (sscanf(s, "%d-%d-%dT%d:%d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6)
        return -1;
    /* days from civil (Howard Hinnant's algorithm) */
    y -= mo <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long days = era * 146097 + doe - 719468;
    return (double)days * 86400.0 + h * 3600.0 + mi * 60.0 + sec;
}

static int64_t row_voxels(const lapse_task_row_t *r)
{
    return r->core_shape[0] * r->core_shape[1] * r->core_shape[2];
}

/* Sort order for the done computation: timepoint, run (latest first), tile, done first. */
static int cmp_row(const void *a, const void *b)
{
    const lapse_task_row_t *x = *(const lapse_task_row_t *const *)a;
    const lapse_task_row_t *y = *(const lapse_task_row_t *const *)b;
    if (x->timepoint != y->timepoint)
        return x->timepoint < y->timepoint ? -1 : 1;
    if (x->run_id != y->run_id)
        return x->run_id > y->run_id ? -1 : 1;
    if (x->tile != y->tile)
        return x->tile < y->tile ? -1 : 1;
    return (x->status != LAPSE_ROW_DONE) - (y->status != LAPSE_ROW_DONE);
}

/* Timepoints done and timepoints touched but not done (sorted lists, malloc'ed). */
static lapse_status_t done_timepoints(const lapse_task_row_t *rows, int64_t n, int64_t target,
                                      int64_t **done, int64_t *ndone, int64_t **part,
                                      int64_t *npart)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_task_row_t **p = malloc((size_t)(n ? n : 1) * sizeof *p);
    int64_t *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    int64_t *q = malloc((size_t)(n ? n : 1) * sizeof *q);
    int64_t nd = 0, nq = 0;

    LAPSE_ALLOC(p);
    LAPSE_ALLOC(d);
    LAPSE_ALLOC(q);
    for (int64_t i = 0; i < n; i++)
        p[i] = &rows[i];
    qsort(p, (size_t)n, sizeof *p, cmp_row);
    for (int64_t i = 0; i < n;) {
        int64_t t = p[i]->timepoint, run = p[i]->run_id, vox = 0, last_tile = -1;
        int first = 1;
        for (; i < n && p[i]->timepoint == t; i++) {
            if (p[i]->run_id != run)
                continue; /* older runs do not count */
            if (p[i]->status == LAPSE_ROW_DONE && (first || p[i]->tile != last_tile))
                vox += row_voxels(p[i]);
            if (first || p[i]->tile != last_tile) {
                last_tile = p[i]->tile;
                first = 0;
            }
        }
        if (target > 0 && vox >= target)
            d[nd++] = t;
        else
            q[nq++] = t;
    }
    *done = d;
    *ndone = nd;
    *part = q;
    *npart = nq;
    d = q = NULL;
cleanup:
    free(q);
    free(d);
    free(p);
    return st;
}

/* ------------------------------------------------------------------ printing */

static void print_dims(FILE *f, int nd, const int64_t *dims)
{
    fputc('[', f);
    for (int i = 0; i < nd; i++)
        fprintf(f, "%s%" PRId64, i ? ", " : "", dims[i]);
    fputc(']', f);
}

/* The datasets with shape and dtype; a dataset whose voxels are in the OME-Zarr store beside
 * path (output.format: zarr, io/zarr_out.h: <store><dataset>/0/.zarray exists) names it. */
static void print_datasets(FILE *f, hid_t file, const dset_list_t *l, const char *path)
{
    char tname[32], root[4096], za[8192];
    if (lapse_zarr_root(path, root, sizeof root) != 0)
        root[0] = 0;
    fprintf(f, "datasets:\n");
    if (l->n == 0)
        fprintf(f, "  (none)\n");
    for (int i = 0; i < l->n; i++) {
        dset_type_name(file, l->d[i].path, tname, sizeof tname);
        fprintf(f, "  %-24s ", l->d[i].path);
        print_dims(f, l->d[i].ndims, l->d[i].dims);
        fprintf(f, " %s", tname);
        int64_t unw = l->d[i].ndims == 1 ? table_unwritten(file, l->d[i].path) : 0;
        if (unw > 0)
            fprintf(f,
                    " (%" PRId64 " row%s unwritten: a table write stopped; the next run of the "
                    "same command drops them)",
                    unw, unw > 1 ? "s" : "");
        if (root[0] &&
            snprintf(za, sizeof za, "%s%s/0/.zarray", root, l->d[i].path) < (int)sizeof za &&
            access(za, F_OK) == 0)
            fprintf(f, " (voxels in %s%s/0)", root, l->d[i].path);
        fputc('\n', f);
    }
}

/* The per-timepoint summary tables (/<name>_summary, io/table.h): one line per timepoint with
 * its label count, foreground voxels and threshold. A row of a timepoint whose tasks are not all
 * done (s: the task state; none is known without marks) says "not done", and a note under the
 * table says why: the rows are final only once the timepoint is (an update that failed or was
 * stopped left either the earlier run's rows, with the earlier images, or its own rows beside
 * images not all written yet). */
static lapse_status_t print_summaries(FILE *f, hid_t file, const dset_list_t *l, const state_t *s)
{
    lapse_status_t st = LAPSE_OK;
    typedef struct {
        int64_t t, count, fg;
        double thr;
    } srow_t;
    hid_t d = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    srow_t *r = NULL;
    for (int i = 0; i < l->n; i++) {
        size_t n = strlen(l->d[i].path);
        if (n < 9 || strcmp(l->d[i].path + n - 8, "_summary") != 0 || l->d[i].ndims != 1)
            continue;
        LAPSE_H5ID(d, H5Dopen2(file, l->d[i].path, H5P_DEFAULT));
        LAPSE_H5ID(mt, H5Tcreate(H5T_COMPOUND, sizeof(srow_t)));
        LAPSE_H5(H5Tinsert(mt, "timepoint", offsetof(srow_t, t), H5T_NATIVE_INT64));
        LAPSE_H5(H5Tinsert(mt, "label_count", offsetof(srow_t, count), H5T_NATIVE_INT64));
        LAPSE_H5(H5Tinsert(mt, "foreground_voxels", offsetof(srow_t, fg), H5T_NATIVE_INT64));
        LAPSE_H5(H5Tinsert(mt, "threshold", offsetof(srow_t, thr), H5T_NATIVE_DOUBLE));
        int64_t nr = l->d[i].dims[0];
        r = malloc((size_t)(nr + 1) * sizeof *r);
        LAPSE_ALLOC(r);
        if (nr > 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, r) < 0) {
            H5Eclear2(H5E_DEFAULT); /* not one of ours: say so and go on */
            fprintf(f, "%s: not a lapse summary table\n", l->d[i].path);
        } else {
            fprintf(f, "labels per timepoint (%s):\n  %9s %9s %14s %12s\n", l->d[i].path,
                    "timepoint", "labels", "foreground", "threshold");
            int64_t nmarked = 0;
            for (int64_t j = 0; j < nr; j++) {
                if (r[j].t == LAPSE_TABLE_UNWRITTEN) /* counted in the datasets' listing */
                    continue;
                int open = s->mark && s->cnt && r[j].t >= 0 && r[j].t < s->ntp &&
                           s->cnt[r[j].t][0] != s->ntiles;
                nmarked += open;
                fprintf(f, "  %9" PRId64 " %9" PRId64 " %14" PRId64 " %12.6g%s\n", r[j].t,
                        r[j].count, r[j].fg, r[j].thr, open ? "  not done" : "");
            }
            if (nmarked > 0)
                fprintf(f, "  not done: the timepoint's tasks are not all done (see the tasks "
                           "below): its rows may be an earlier run's, or those of the unfinished "
                           "run while its images are not all written; they are final once the "
                           "timepoint is done\n");
        }
        free(r);
        r = NULL;
        H5Tclose(mt);
        mt = H5I_INVALID_HID;
        H5Dclose(d);
        d = H5I_INVALID_HID;
    }
cleanup:
    free(r);
    if (mt >= 0)
        H5Tclose(mt);
    if (d >= 0)
        H5Dclose(d);
    return st;
}

/* The label of run i by the string member at offset off of run_t (fingerprint: its config,
 * input: its input's identity): 0 for none (not recorded), else 1 + the index of the first run
 * with the same value among the distinct ones (1 = "A"); *ndistinct: how many distinct recorded
 * values runs[0..n) hold. */
static int run_label(const run_t *runs, int n, int i, size_t off, int *ndistinct)
{
#define RUN_FIELD(j) ((const char *)&runs[j] + off)
    int label = 0, k = 0;
    for (int j = 0; j < n; j++) {
        if (RUN_FIELD(j)[0] == '\0')
            continue;
        int first = 1;
        for (int m = 0; m < j && first; m++)
            first = strcmp(RUN_FIELD(m), RUN_FIELD(j)) != 0;
        k += first;
        if (label == 0 && RUN_FIELD(i)[0] && strcmp(RUN_FIELD(j), RUN_FIELD(i)) == 0)
            label = k;
    }
    *ndistinct = k;
    return label;
#undef RUN_FIELD
}

/* The label's name: "A" .. "Z", then "27", "28", ... */
static const char *label_name(int label, char *buf, size_t len)
{
    if (label <= 26)
        snprintf(buf, len, "%c", 'A' + label - 1);
    else
        snprintf(buf, len, "%d", label);
    return buf;
}

static void print_runs(FILE *f, const run_t *runs, int n)
{
    int ndistinct = 0, ninputs = 0;
    fprintf(f, "runs:\n");
    if (n == 0)
        fprintf(f, "  (none)\n");
    for (int i = 0; i < n; i++) {
        char lab[64] = "", name[16];
        const int label = run_label(runs, n, i, offsetof(run_t, fingerprint), &ndistinct);
        const int in = run_label(runs, n, i, offsetof(run_t, input), &ninputs);
        if (label > 0 && ndistinct > 1) /* say which config each run used when they differ */
            snprintf(lab, sizeof lab, ", config %s", label_name(label, name, sizeof name));
        if (in > 0 && ninputs > 1) /* and which input, when the input changed between runs */
            snprintf(lab + strlen(lab), sizeof lab - strlen(lab), ", input %d", in);
        fprintf(f, "  run %" PRId64 ": %s, start %s, end %s, %d rank%s, timepoints %s%s\n",
                runs[i].id, runs[i].status[0] ? runs[i].status : "?",
                runs[i].start[0] ? runs[i].start : "-", runs[i].end[0] ? runs[i].end : "-",
                runs[i].nranks, runs[i].nranks == 1 ? "" : "s",
                runs[i].timepoints[0] ? runs[i].timepoints : "all", lab);
        if (runs[i].grown[1] > 0) /* a growth's record (h5out.c): no tasks of its own */
            fprintf(f,
                    "    grew the output from %" PRId64 " to %" PRId64
                    " timepoints (the input grew; the runs after it compute the new ones)\n",
                    runs[i].grown[0], runs[i].grown[1]);
        /* The latest run stopped by a signal: what mpirun's own exit code (1) does not say. */
        if (i == n - 1 && strcmp(runs[i].status, LAPSE_RUN_INTERRUPTED) == 0)
            fprintf(f, "    interrupted, resumable: run the same command again (nothing is left to "
                       "do when the total below counts every task done; a config with "
                       "output.mode: overwrite starts over instead: continue with output.mode: "
                       "create)\n");
        /* "running" is never rewritten by a run that was killed (SIGKILL, a crash, a node
         * failure): an earlier run is certainly gone, the latest may still be running. */
        if (strcmp(runs[i].status, LAPSE_RUN_RUNNING) == 0)
            fprintf(f, "%s",
                    i < n - 1 ? "    killed before it finished (its done tasks are kept)\n"
                              : "    still running, or stopped by a failure writing the output or "
                                "a kill before it finished: if no lapse holds the output's "
                                ".lock, run the same command again to continue\n");
    }
    if (ndistinct > 1)
        fprintf(f,
                "  note: these runs used %d different configs (the letters above): a timepoint "
                "holds the results of the latest run that computed it\n",
                ndistinct);
    if (ninputs > 1)
        fprintf(f,
                "  note: these runs read %d different versions of the input (the input numbers "
                "above: its size, time or content had changed): a timepoint holds the results "
                "of the latest run that computed it\n",
                ninputs);
}

typedef struct {
    int64_t tasks, failed, abandoned, voxels;
    int64_t nonfinite, nonfinite_tasks; /* NaN/Inf input voxels of done tasks, and those tasks */
    int64_t clipped, clipped_tasks;     /* integer output voxels saturated or NaN, those tasks */
    double t[6];                        /* read, upload, compute, download, write, total */
    double wait;                        /* seconds the host waited for the device */
    double end;  /* the latest t_start + t_total: the end of the rank's loop */
    int started; /* some row has t_start > 0 (older outputs have none) */
} rank_sum_t;

static void add_row(rank_sum_t *s, const lapse_task_row_t *r)
{
    s->tasks++;
    if (r->status == LAPSE_ROW_DONE) {
        s->voxels += row_voxels(r);
        s->nonfinite += r->nonfinite;
        s->nonfinite_tasks += r->nonfinite > 0;
        s->clipped += r->clipped;
        s->clipped_tasks += r->clipped > 0;
    } else if (r->status == LAPSE_ROW_ABANDONED)
        s->abandoned++;
    else
        s->failed++;
    double t[6] = {r->t_read, r->t_upload, r->t_compute, r->t_download, r->t_write, r->t_total};
    for (int k = 0; k < 6; k++)
        s->t[k] += t[k];
    s->wait += r->t_wait;
    if (r->t_start + r->t_total > s->end)
        s->end = r->t_start + r->t_total;
    s->started |= r->t_start > 0;
}

/* One rank's device seconds (upload + compute + download: the queue's profiling) over its wall
 * seconds: the end of its task loop (the latest t_start + t_total), or for rows without
 * t_start (older outputs, whose tasks did not overlap) the summed task seconds. */
/* A rank's wall seconds: the end of its task loop, or (rows without t_start) its summed task
 * seconds. For the sum of all ranks' rows, the end of the last loop. */
static double rank_wall(const rank_sum_t *s)
{
    return s->started || s->tasks == 1 ? s->end : s->t[5];
}

static void print_busy(FILE *f, int rank, const rank_sum_t *s)
{
    double dev = s->t[1] + s->t[2] + s->t[3];
    double wall = rank_wall(s);
    fprintf(f, "  rank %d: %.3f s device / %.3f s wall = ", rank, dev, wall);
    if (wall > 0)
        fprintf(f, "%.1f%% busy", 100.0 * dev / wall);
    else
        fprintf(f, "- busy");
    fprintf(f, "; host waited %.3f s for the device%s\n", s->wait,
            s->started || s->tasks == 1 ? "" : " (wall: summed task seconds)");
}

/* One row of the phase table; rate: its voxels per second (< 0: not known). */
static void print_sum(FILE *f, const char *who, const rank_sum_t *s, double rate)
{
    fprintf(f, "  %6s %7" PRId64 " %6" PRId64 " %9" PRId64, who, s->tasks, s->failed, s->abandoned);
    for (int k = 0; k < 6; k++)
        fprintf(f, " %9.3f", s->t[k]);
    if (rate >= 0)
        fprintf(f, " %11.4g\n", rate);
    else
        fprintf(f, " %11s\n", "-");
}

/* Per-phase seconds of one run, per rank and summed, and voxels per second. */
static lapse_status_t print_run_times(FILE *f, const run_t *run, int64_t id,
                                      const lapse_task_row_t *rows, int64_t n)
{
    lapse_status_t st = LAPSE_OK;
    int maxrank = 0;
    rank_sum_t all, *per = NULL;

    memset(&all, 0, sizeof all);
    for (int64_t i = 0; i < n; i++)
        if (rows[i].run_id == id && rows[i].rank > maxrank)
            maxrank = rows[i].rank;
    per = calloc((size_t)maxrank + 1, sizeof *per);
    LAPSE_ALLOC(per);
    for (int64_t i = 0; i < n; i++) {
        if (rows[i].run_id != id || rows[i].rank < 0)
            continue;
        add_row(&per[rows[i].rank], &rows[i]);
        add_row(&all, &rows[i]);
    }
    if (all.tasks == 0) { /* a table of zeros would say the run did nothing */
        fprintf(f, "run %" PRId64 " seconds per phase: no task rows (%s)\n", id,
                run != NULL && run->grown[1] > 0 ? "a growth's record: it ran no tasks"
                : run != NULL && strcmp(run->status, LAPSE_RUN_RUNNING) == 0
                    ? "still running, or killed, before it wrote them; the tasks it finished are "
                      "counted in the marks above"
                    : "none were written");
        goto cleanup;
    }
    fprintf(f, "run %" PRId64 " seconds per phase:\n", id);
    fprintf(f, "  %6s %7s %6s %9s %9s %9s %9s %9s %9s %9s %11s\n", "rank", "tasks", "failed",
            "abandoned", "read", "upload", "compute", "download", "write", "total", "voxels/s");
    double walls = 0; /* every rank's loop wall, summed */
    for (int r = 0; r <= maxrank; r++) {
        char who[16];
        snprintf(who, sizeof who, "%d", r);
        if (per[r].tasks == 0)
            continue;
        /* over the wall of the rank's task loop: with overlap (the default) the tasks' totals
         * overlap, and their sum is not the rank's time */
        const double rw = rank_wall(&per[r]);
        walls += rw;
        print_sum(f, who, &per[r], rw > 0 ? (double)per[r].voxels / rw : -1.0);
    }
    /* all: per rank as well (the voxels over the ranks' walls summed) */
    print_sum(f, "all", &all, walls > 0 ? (double)all.voxels / walls : -1.0);
    double wall = -1;
    if (run != NULL && run->start[0] && run->end[0]) {
        double a = iso_seconds(run->start), b = iso_seconds(run->end);
        if (a >= 0 && b >= a)
            wall = b - a;
    }
    fprintf(f, "  core voxels done: %" PRId64, all.voxels);
    if (walls > 0)
        fprintf(f, "; %.4g voxels/s per rank (over each rank's task loop)",
                (double)all.voxels / walls);
    if (wall > 0)
        fprintf(f, "; %.4g voxels/s overall (%.1f s wall)", (double)all.voxels / wall, wall);
    else if (wall == 0)
        fprintf(f, "; wall time under the 1 s resolution of start/end");
    fprintf(f, "\n");
    if (all.nonfinite > 0)
        fprintf(f, "  nonfinite input voxels (NaN or Inf): %" PRId64 " in %" PRId64 " tasks\n",
                all.nonfinite, all.nonfinite_tasks);
    if (all.clipped > 0)
        fprintf(f,
                "  integer output voxels NaN (written as 0) or outside the dtype's range "
                "(saturated): %" PRId64 " in %" PRId64 " tasks\n",
                all.clipped, all.clipped_tasks);
    fprintf(f, "run %" PRId64 " device busy (device seconds / wall seconds of the task loop):\n",
            id);
    for (int r = 0; r <= maxrank; r++)
        if (per[r].tasks)
            print_busy(f, r, &per[r]);
cleanup:
    free(per);
    return st;
}

/* Image voxels per timepoint that the done tiles must cover, from the first result dataset
 * (its z from the task rows after a z-projection); 0 when unknown. */
static int64_t target_voxels(const dset_list_t *l, const lapse_task_row_t *rows, int64_t n)
{
    if (l->n == 0)
        return 0;
    const dset_t *d = &l->d[0];
    if (d->ndims == 4)
        return d->dims[1] * d->dims[2] * d->dims[3];
    if (d->ndims != 3)
        return 0;
    int64_t z = 0;
    for (int64_t i = 0; i < n; i++)
        if (rows[i].core_offset[0] + rows[i].core_shape[0] > z)
            z = rows[i].core_offset[0] + rows[i].core_shape[0];
    return z * d->dims[1] * d->dims[2];
}

/* Timepoints done by the rows alone (outputs without /lapse/done). */
static lapse_status_t print_done_by_rows(FILE *f, const dset_list_t *l,
                                         const lapse_task_row_t *rows, int64_t n)
{
    lapse_status_t st = LAPSE_OK;
    int64_t *done = NULL, *part = NULL, ndone = 0, npart = 0;
    char buf[4096];

    LAPSE_TRY(done_timepoints(rows, n, target_voxels(l, rows, n), &done, &ndone, &part, &npart));
    int64_t ntp = l->n > 0 ? l->d[0].dims[0] : -1;
    lapse_tpsel_format(done, ndone, buf, sizeof buf);
    fprintf(f, "timepoints done: %s (%" PRId64, ndone ? buf : "none", ndone);
    if (ntp >= 0)
        fprintf(f, " of %" PRId64 ")\n", ntp);
    else
        fprintf(f, ")\n");
    if (npart > 0) {
        lapse_tpsel_format(part, npart, buf, sizeof buf);
        fprintf(f, "timepoints started but not done: %s\n", buf);
    }
cleanup:
    free(done);
    free(part);
    return st;
}

/* Read /lapse/done into *s (s->mark stays NULL when the file has none). */
static lapse_status_t read_marks(hid_t h, state_t *s)
{
    lapse_status_t st = LAPSE_OK;
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID, a = H5I_INVALID_HID;
    hsize_t dims[2];

    if (H5Lexists(h, LAPSE_LAYOUT_DONE, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return LAPSE_OK;
    }
    LAPSE_H5ID(d, H5Dopen2(h, LAPSE_LAYOUT_DONE, H5P_DEFAULT));
    LAPSE_H5ID(sp, H5Dget_space(d));
    if (H5Sget_simple_extent_ndims(sp) != 2)
        LAPSE_FAIL(LAPSE_EINPUT, LAPSE_LAYOUT_DONE " is not 2-D [timepoints, tiles]");
    LAPSE_H5(H5Sget_simple_extent_dims(sp, dims, NULL));
    if (H5Aexists(d, LAPSE_LAYOUT_DONE_TILE) > 0) {
        LAPSE_H5ID(a, H5Aopen(d, LAPSE_LAYOUT_DONE_TILE, H5P_DEFAULT));
        LAPSE_H5(H5Aread(a, H5T_NATIVE_INT64, s->tile));
    }
    H5Eclear2(H5E_DEFAULT);
    s->ntp = (int64_t)dims[0];
    s->ntiles = (int64_t)dims[1];
    s->mark = malloc((size_t)(s->ntp * s->ntiles) + 1);
    LAPSE_ALLOC(s->mark);
    if (s->ntp * s->ntiles > 0)
        LAPSE_H5(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->mark));
cleanup:
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return st;
}

/* Count done / pending / failed tasks per timepoint from the marks and the latest row of each
 * task (rows are in append order, so among rows of the same run the later one wins). */
static lapse_status_t count_tasks(state_t *s, const lapse_task_row_t *rows, int64_t n)
{
    lapse_status_t st = LAPSE_OK;
    int64_t ntasks = s->ntp * s->ntiles;
    int64_t *run = malloc((size_t)(ntasks ? ntasks : 1) * sizeof *run);
    int32_t *status = malloc((size_t)(ntasks ? ntasks : 1) * sizeof *status);

    LAPSE_ALLOC(run);
    LAPSE_ALLOC(status);
    s->cnt = calloc((size_t)(s->ntp ? s->ntp : 1), sizeof *s->cnt);
    LAPSE_ALLOC(s->cnt);
    for (int64_t i = 0; i < ntasks; i++) {
        run[i] = INT64_MIN;
        status[i] = -1;
    }
    for (int64_t i = 0; i < n; i++) {
        const lapse_task_row_t *r = &rows[i];
        if (r->timepoint < 0 || r->timepoint >= s->ntp || r->tile < 0 || r->tile >= s->ntiles)
            continue; /* a row of another tiling (an update with a new plan) */
        int64_t k = r->timepoint * s->ntiles + r->tile;
        if (r->run_id >= run[k]) {
            run[k] = r->run_id;
            status[k] = r->status;
        }
    }
    for (int64_t k = 0; k < ntasks; k++) { /* task k: timepoint k / ntiles */
        int c = s->mark[k] == LAPSE_MARK_DONE ? 0 : status[k] == LAPSE_ROW_FAILED ? 2 : 1;
        s->cnt[k / s->ntiles][c]++;
        s->total[c]++;
    }
cleanup:
    free(run);
    free(status);
    return st;
}

/* "5 done, 11 pending, 1 failed" (zero counts left out; "no tasks" when all are zero). */
static void print_counts(FILE *f, const int64_t c[3])
{
    static const char *const what[3] = {"done", "pending", "failed"};
    int any = 0;
    for (int k = 0; k < 3; k++)
        if (c[k] > 0) {
            fprintf(f, "%s%" PRId64 " %s", any ? ", " : "", c[k], what[k]);
            any = 1;
        }
    if (!any)
        fprintf(f, "no tasks");
}

/* Timepoints done (every tile marked) and the per-timepoint table of task counts. */
static lapse_status_t print_state(FILE *f, const state_t *s)
{
    lapse_status_t st = LAPSE_OK;
    int64_t *done = malloc((size_t)(s->ntp ? s->ntp : 1) * sizeof *done), ndone = 0;
    char *buf = malloc(4096);

    LAPSE_ALLOC(done);
    LAPSE_ALLOC(buf);
    for (int64_t t = 0; t < s->ntp; t++)
        if (s->ntiles > 0 && s->cnt[t][0] == s->ntiles)
            done[ndone++] = t;
    lapse_tpsel_format(done, ndone, buf, 4096);
    fprintf(f, "timepoints done: %s (%" PRId64 " of %" PRId64 ")\n", ndone ? buf : "none", ndone,
            s->ntp);
    fprintf(f,
            "tasks per timepoint (%" PRId64 " tiles of [%" PRId64 ", %" PRId64 ", %" PRId64
            "] each):\n",
            s->ntiles, s->tile[0], s->tile[1], s->tile[2]);
    for (int64_t t = 0; t < s->ntp;) {
        int64_t e = t;
        while (e + 1 < s->ntp && memcmp(s->cnt[e + 1], s->cnt[t], sizeof s->cnt[t]) == 0)
            e++;
        if (e > t)
            snprintf(buf, 4096, "%" PRId64 "-%" PRId64, t, e);
        else
            snprintf(buf, 4096, "%" PRId64, t);
        fprintf(f, "  %s: ", buf);
        print_counts(f, s->cnt[t]);
        fputc('\n', f);
        t = e + 1;
    }
    fprintf(f, "  total: ");
    print_counts(f, s->total);
    fprintf(f, " (of %" PRId64 " tasks)\n", s->ntp * s->ntiles);
cleanup:
    free(buf);
    free(done);
    return st;
}

/* Read the task state *s from /lapse/done and the rows (s->mark stays NULL without marks). */
static lapse_status_t read_state(hid_t h, const lapse_task_row_t *rows, int64_t n, state_t *s)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_TRY(read_marks(h, s));
    if (s->mark != NULL)
        LAPSE_TRY(count_tasks(s, rows, n));
cleanup:
    return st;
}

/* The task state s (read_state), or the row-based summary without marks. */
static lapse_status_t print_done(FILE *f, const state_t *s, const dset_list_t *l,
                                 const lapse_task_row_t *rows, int64_t n)
{
    if (s->mark == NULL)
        return print_done_by_rows(f, l, rows, n);
    return print_state(f, s);
}

/* ------------------------------------------------------------------ entry */

/* Open file read-only as a lapse output, or fail with LAPSE_EINPUT. */
static lapse_status_t open_output(const char *file, hid_t *out)
{
    lapse_status_t st = LAPSE_OK;
    struct stat sb;
    hid_t f = H5I_INVALID_HID;

    if (stat(file, &sb) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", file,
                   errno == ENOENT ? "no such file" : strerror(errno));
    if (!S_ISREG(sb.st_mode)) /* a FIFO or device would block or mislead H5Fis_hdf5 */
        LAPSE_FAIL(LAPSE_EINPUT, "%s: not a regular file", file);
    if (access(file, R_OK) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: cannot be read: %s", file, strerror(errno));
    htri_t is = H5Fis_hdf5(file);
    H5Eclear2(H5E_DEFAULT);
    if (is <= 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: not an HDF5 file", file);
    f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: cannot be opened as HDF5 (truncated or damaged?)", file);
    }
    if (H5Lexists(f, LAPSE_LAYOUT_GROUP, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: not a lapse output (no " LAPSE_LAYOUT_GROUP " group)", file);
    }
    *out = f;
    f = H5I_INVALID_HID;
cleanup:
    if (f >= 0)
        H5Fclose(f);
    return st;
}

/* output.parts: timepoints (io/h5parts.h): where the voxels are, and whether every part is
 * there with the output's token. Prints nothing for an output without parts. */
static void print_parts(FILE *f, hid_t h, const dset_list_t *dl, const char *file)
{
    char token[LAPSE_PARTS_TOKEN_LEN], dir[4200];
    hsize_t dims[2] = {0, 0};
    int virt = 0;
    lapse_h5_read_str_attr(h, LAPSE_PARTS_TOKEN_ATTR, token, sizeof token);
    if (!token[0])
        return;
    for (int i = 0; i < dl->n && !virt; i++) { /* h5repack -l CHUNK=... makes them real */
        hid_t d = H5Dopen2(h, dl->d[i].path, H5P_DEFAULT), dcpl = H5I_INVALID_HID;
        if (d >= 0 && (dcpl = H5Dget_create_plist(d)) >= 0)
            virt = H5Pget_layout(dcpl) == H5D_VIRTUAL;
        if (dcpl >= 0)
            H5Pclose(dcpl);
        if (d >= 0)
            H5Dclose(d);
    }
    H5Eclear2(H5E_DEFAULT);
    if (!virt) {
        fprintf(f, "parts: none left: the result voxels are in this file (a packed copy of an "
                   "output made with output.parts; lapse reads it but does not continue it)\n");
        return;
    }
    hid_t d = H5Dopen2(h, LAPSE_LAYOUT_DONE, H5P_DEFAULT), sp = H5I_INVALID_HID;
    if (d >= 0 && (sp = H5Dget_space(d)) >= 0)
        H5Sget_simple_extent_dims(sp, dims, NULL);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
    lapse_parts_dir(file, 1, dir, sizeof dir);
    fprintf(f, "parts: the result voxels are in %s/ (output.parts: timepoints, %llu parts)\n", dir,
            (unsigned long long)dims[0]);
    if (lapse_parts_check(file, token, (int64_t)dims[0], NULL) != LAPSE_OK) {
        fprintf(f, "parts: PROBLEM: %s\n", lapse_errmsg());
        lapse_err_clear();
    }
}

lapse_status_t lapse_info_print(const char *file, FILE *f)
{
    lapse_status_t st = LAPSE_OK;
    hid_t h = H5I_INVALID_HID, g = H5I_INVALID_HID;
    dset_list_t dl = {NULL, 0, 0};
    run_t *runs = NULL;
    int nruns = 0, cap = 0;
    lapse_task_row_t *rows = NULL;
    int64_t nrows = 0;
    char version[64], in_file[4096], in_dset[LAPSE_NAME_MAX];
    state_t state;

    memset(&state, 0, sizeof state);
    lapse_h5_init();
    LAPSE_TRY(open_output(file, &h));
    lapse_h5_read_str_attr(h, LAPSE_ATTR_VERSION, version, sizeof version);
    lapse_h5_read_str_attr(h, LAPSE_ATTR_INPUT_FILE, in_file, sizeof in_file);
    lapse_h5_read_str_attr(h, LAPSE_ATTR_INPUT_DATASET, in_dset, sizeof in_dset);
    LAPSE_H5(H5Ovisit2(h, H5_INDEX_NAME, H5_ITER_INC, dset_cb, &dl, H5O_INFO_BASIC));
    if (H5Lexists(h, LAPSE_LAYOUT_RUNS, H5P_DEFAULT) > 0) {
        void *ctx[3] = {&runs, &nruns, &cap};
        LAPSE_H5ID(g, H5Gopen2(h, LAPSE_LAYOUT_RUNS, H5P_DEFAULT));
        LAPSE_H5(H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, run_cb, ctx));
        qsort(runs, (size_t)nruns, sizeof *runs, cmp_run);
    }
    H5Eclear2(H5E_DEFAULT);
    LAPSE_TRY(read_rows(h, &rows, &nrows));
    /* a damaged /lapse/done fails `lapse info` after the sections before the task state */
    lapse_status_t sst = read_state(h, rows, nrows, &state);

    fprintf(f, "file: %s\nlapse version: %s\ninput: %s%s%s\n", file, version[0] ? version : "?",
            in_file[0] ? in_file : "?", in_dset[0] ? " " : "", in_dset);
    print_datasets(f, h, &dl, file);
    print_parts(f, h, &dl, file);
    LAPSE_TRY(print_summaries(f, h, &dl, &state));
    print_runs(f, runs, nruns);
    fprintf(f, "tasks: %" PRId64 " rows\n", nrows);
    LAPSE_TRY(sst);
    LAPSE_TRY(print_done(f, &state, &dl, rows, nrows));
    for (int i = 0; i < nruns; i++)
        LAPSE_TRY(print_run_times(f, &runs[i], runs[i].id, rows, nrows));
cleanup:
    free(state.cnt);
    free(state.mark);
    free(rows);
    free(runs);
    free(dl.d);
    if (g >= 0)
        H5Gclose(g);
    if (h >= 0)
        H5Fclose(h);
    return st;
}
