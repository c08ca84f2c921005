/*
 * job.c - phases 1 and 2 of a run (see job.h): load the config on every rank (the text and the
 * files of custom kernels from rank 0), validate it on rank 0 against the input and the output,
 * and share the verdict and the facts found.
 *
 * The pipeline is asked about the job in two places only: pipeline_facts (reach, projection)
 * and make_specs (the output datasets).
 */
#define _GNU_SOURCE /* realpath */
#include "exec/job.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "exec/sizing.h"
#include "fingerprint.h"
#include "h5util.h"
#include "io/bdv_xml.h"
#include "io/h5parts.h"
#include "io/input_id.h"
#include "io/reader.h"
#include "io/zarr_out.h"
#include "tpsel.h"

/* Read a whole file into a NUL-terminated malloc'ed buffer. */
static lapse_status_t read_file(const char *path, char **text, size_t *len)
{
    lapse_status_t st = LAPSE_OK;
    char *buf = NULL;
    struct stat sb;
    FILE *f = NULL;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: (file): not a config file but a %s", path,
                   S_ISDIR(sb.st_mode) ? "directory" : "special file");
    f = fopen(path, "rb");
    if (!f)
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: (file): cannot open config file: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0)
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: (file): cannot read config file", path);
    long n = ftell(f);
    if (n < 0 || n > 16L * 1024 * 1024)
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: (file): config file too large or unreadable", path);
    rewind(f);
    buf = malloc((size_t)n + 1);
    LAPSE_ALLOC(buf);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: (file): short read of config file", path);
    buf[n] = '\0';
    *text = buf;
    *len = (size_t)n;
    buf = NULL;
cleanup:
    free(buf);
    if (f)
        fclose(f);
    return st;
}

/* Rank 0: refuse (config error at output.file) an output that the input dataset reads: the
 * input file itself (by any name), or a file reached through an external link, a virtual
 * dataset's sources or external storage (io/input_id.h). An output that does not exist yet
 * cannot be read. */
static lapse_status_t check_alias(lapse_job_t *job)
{
    const lapse_config_t *cfg = &job->cfg;
    struct stat out;
    char why[1024];
    if (stat(cfg->output_file, &out) != 0 ||
        !lapse_input_reads_file(cfg->input_file, cfg->input_dataset, &out, why, sizeof why))
        return LAPSE_OK;
    if (strcmp(why, "the output file is the input file") == 0)
        return lapse_config_fail(cfg, cfg->output_file_mark, "output.file", "%s", why);
    return lapse_config_fail(cfg, cfg->output_file_mark, "output.file",
                             "the output file %s is read by the input %s:%s: %s; choose another "
                             "output file",
                             cfg->output_file, cfg->input_file, cfg->input_dataset, why);
}

/* The most timepoints an input may have: 2^24, a frame per second for half a year. */
#define LAPSE_MAX_TIMEPOINTS (1LL << 24)

/* path made absolute with every symbolic link of its longest existing prefix resolved (the
 * rest, not made yet, appended as written) into buf[PATH_MAX]; 0 on success. */
static int canon_path(const char *path, char *buf)
{
    char head[PATH_MAX], real[PATH_MAX];
    int a = snprintf(head, sizeof head, "%s%s", path[0] == '/' ? "" : "./", path);
    if (a < 0 || a >= (int)sizeof head)
        return -1;
    size_t keep = strlen(head); /* head[0, keep) is the prefix tried, head + keep the rest */
    while (keep > 1 && head[keep - 1] == '/')
        head[--keep] = '\0';
    for (;;) {
        const char c = head[keep];
        head[keep] = '\0';
        const char *r = realpath(keep > 0 ? head : "/", real);
        head[keep] = c;
        if (r != NULL) {
            a = snprintf(buf, PATH_MAX, "%s%s", strcmp(real, "/") == 0 ? "" : real, head + keep);
            if (buf[0] == '\0')
                a = snprintf(buf, PATH_MAX, "/");
            return a > 0 && a < PATH_MAX ? 0 : -1;
        }
        if ((errno != ENOENT && errno != ENOTDIR) || keep == 0)
            return -1;
        while (keep > 0 && head[keep - 1] != '/')
            keep--;
        if (keep > 0)
            keep--; /* the slash goes with the rest */
    }
}

/* 1 when canonical path a is b or lies below it. */
static int path_within(const char *a, const char *b)
{
    size_t n = strlen(b);
    return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/' || (n == 1 && b[0] == '/'));
}

/* Rank 0, output.format zarr: refuse (config error at output.file) a Zarr store that is, lies
 * in or holds the input (a Zarr store, or the directory of input.files' pattern): its arrays
 * would be written into the input. */
static lapse_status_t check_zarr_alias(const lapse_job_t *job)
{
    const lapse_config_t *cfg = &job->cfg;
    char root[PATH_MAX], out[PATH_MAX], in[PATH_MAX], dir[PATH_MAX];
    if (cfg->output_format != LAPSE_FMT_ZARR ||
        lapse_zarr_root(cfg->output_file, root, sizeof root) != 0 || canon_path(root, out) != 0)
        return LAPSE_OK;
    struct stat sb;
    const char *input = cfg->input_file;
    if (stat(input, &sb) != 0) { /* a pattern of files: its directory */
        snprintf(dir, sizeof dir, "%s", input);
        char *slash = strrchr(dir, '/');
        if (slash == NULL)
            snprintf(dir, sizeof dir, ".");
        else
            *slash = slash == dir ? (slash[1] = '\0', '/') : '\0';
        input = dir;
    }
    if (canon_path(input, in) != 0)
        return LAPSE_OK;
    const int holds = input != dir && S_ISDIR(sb.st_mode) && path_within(out, in);
    int hit = path_within(in, out) || holds;
    if (!hit && input == dir) { /* input.files: each file (a Zarr store of one timepoint?) */
        char **names = NULL, each[PATH_MAX];
        size_t n = 0;
        if (lapse_reader_files_list(cfg->input_file, &names, &n) != LAPSE_OK)
            lapse_err_clear(); /* the probe reports it */
        for (size_t i = 0; i < n; i++) {
            if (!hit && canon_path(names[i], each) == 0 &&
                (path_within(each, out) || path_within(out, each)))
                hit = 1;
            free(names[i]);
        }
        free(names);
    }
    if (!hit)
        return LAPSE_OK;
    return lapse_config_fail(cfg, cfg->output_file_mark, "output.file",
                             "the Zarr output %s %s the input %s: its arrays would be written "
                             "into the input; choose another output file",
                             root,
                             strcmp(in, out) == 0 ? "is"
                             : holds              ? "lies in"
                                                  : "holds",
                             cfg->input_file);
}

/* Rank 0: 1 when the existing HDF5 output file of the config has a result dataset whose
 * lapse_zarr_array attribute (h5out.c) names a group of a store of root's name: a store lapse
 * made for it before stores named their output (2026-12-05; those of 2026-11-30 to 12-01
 * have no root .zattrs at all). A file that does not open (absent, not HDF5, being written)
 * says nothing: 0. */
static int output_names_store(const lapse_job_t *job, const char *root)
{
    const char *base = strrchr(root, '/') ? strrchr(root, '/') + 1 : root;
    int found = 0;
    lapse_h5_init();
    htri_t is = H5Fis_hdf5(job->cfg.output_file);
    hid_t f = is > 0 ? H5Fopen(job->cfg.output_file, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    for (int k = 0; f >= 0 && k < job->nout && !found; k++) {
        char named[PATH_MAX] = "", want[2 * PATH_MAX]; /* ".../NAME.zarr/<dataset path>" */
        hid_t d = H5Lexists(f, job->out[k].path, H5P_DEFAULT) > 0
                      ? H5Dopen2(f, job->out[k].path, H5P_DEFAULT)
                      : H5I_INVALID_HID;
        if (d >= 0 && H5Aexists(d, LAPSE_ATTR_ZARR_ARRAY) > 0)
            lapse_h5_read_str_attr(d, LAPSE_ATTR_ZARR_ARRAY, named, sizeof named);
        if (d >= 0)
            H5Dclose(d);
        /* the store's name is what counts: it lies beside the output */
        snprintf(want, sizeof want, "%s%s%s", base, job->out[k].path[0] == '/' ? "" : "/",
                 job->out[k].path);
        const size_t n = strlen(named), w = strlen(want);
        found = n >= w && strcmp(named + n - w, want) == 0 && (n == w || named[n - w - 1] == '/');
    }
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return found;
}

/* Rank 0, output.format zarr: refuse (config error at output.file) a store that lapse did not
 * write for this output: another output's whose name makes the same store (run.h5 and
 * run.hdf5 both make run.zarr), whose chunks this run would replace while that output's state
 * still says done, or a user's own store. */
static lapse_status_t check_zarr_owner(const lapse_job_t *job)
{
    const lapse_config_t *cfg = &job->cfg;
    char root[PATH_MAX], whose[PATH_MAX];
    if (cfg->output_format != LAPSE_FMT_ZARR ||
        lapse_zarr_root(cfg->output_file, root, sizeof root) != 0 ||
        lapse_zarr_owner(cfg->output_file, whose, sizeof whose) ||
        (whose[0] == '\0' && output_names_store(job, root)))
        return LAPSE_OK;
    if (whose[0] != '\0')
        return lapse_config_fail(cfg, cfg->output_file_mark, "output.file",
                                 "the Zarr store %s belongs to the output %s (the same store "
                                 "name), not to %s: writing it would replace that output's "
                                 "results; choose another output file name (renamed both "
                                 "files? a store names the output it was made for: give them "
                                 "their names back to continue)",
                                 root, whose, cfg->output_file);
    return lapse_config_fail(cfg, cfg->output_file_mark, "output.file",
                             "%s exists and is not a Zarr store lapse wrote for %s: left alone; "
                             "choose another output file name, or move it away",
                             root, cfg->output_file);
}

/* Every rank: config text from rank 0, parsed locally. */
static lapse_status_t load_config(const lapse_ranks_t *r, const char *path, lapse_config_t *cfg)
{
    lapse_status_t st = LAPSE_OK;
    char *text = NULL;
    size_t len = 0;
    long long n = -1;
    if (r->rank == 0) {
        st = read_file(path, &text, &len);
        n = st == LAPSE_OK ? (long long)len : -1;
    }
    LAPSE_MPI(MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, r->world));
    if (n < 0) {
        st = r->rank == 0 ? st : LAPSE_ECONFIG;
        goto cleanup;
    }
    if (r->rank != 0) {
        text = malloc((size_t)n + 1);
        LAPSE_ALLOC(text);
        text[n] = '\0';
    }
    if (n > 0)
        LAPSE_MPI(MPI_Bcast(text, (int)n, MPI_CHAR, 0, r->world));
    st = lapse_config_parse(path, text, (size_t)n, cfg);
cleanup:
    free(text);
    return st;
}

/* Every rank, after the config is parsed: rank 0 reads the kernel files of custom_kernel steps
 * (lapse_config_load_sources) and sends their bytes, so that every rank builds the same text.
 * A file rank 0 cannot use is its config error (the message recorded there); the others then
 * return LAPSE_ECONFIG without one. */
static lapse_status_t share_sources(const lapse_ranks_t *r, lapse_config_t *cfg)
{
    lapse_status_t st = LAPSE_OK;
    int ok = 1;
    if (r->rank == 0) {
        st = lapse_config_load_sources(cfg);
        ok = st == LAPSE_OK;
    }
    LAPSE_MPI(MPI_Bcast(&ok, 1, MPI_INT, 0, r->world));
    if (!ok) {
        st = r->rank == 0 ? st : LAPSE_ECONFIG;
        goto cleanup;
    }
    for (int k = 0; k < cfg->nsteps; k++) { /* the same steps on every rank: the same parse */
        lapse_source_t *src = cfg->steps[k].source;
        if (src == NULL)
            continue;
        long long n = r->rank == 0 ? (long long)src->len : 0;
        LAPSE_MPI(MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, r->world));
        if (r->rank != 0) {
            if (n < 0 || n > LAPSE_SOURCE_MAX)
                LAPSE_FAIL(LAPSE_ERUNTIME, "a kernel source of %lld bytes from rank 0", n);
            free(src->text);
            src->text = malloc((size_t)n + 1);
            LAPSE_ALLOC(src->text);
            src->text[n] = '\0';
            src->len = (size_t)n;
        }
        if (n > 0)
            LAPSE_MPI(MPI_Bcast(src->text, (int)n, MPI_CHAR, 0, r->world));
    }
cleanup:
    return st;
}

/* Local, after the input is known. Compile the pipeline graph for the input (job->graph) and
 * take what the tiling needs of it: its reach (the halo that makes tiled results equal untiled
 * ones) and whether it needs whole z columns. A bad graph is a config error (file:line:col). */
static lapse_status_t pipeline_facts(lapse_job_t *job)
{
    lapse_status_t st = lapse_config_graph(&job->cfg, &job->in, &job->graph);
    if (st != LAPSE_OK)
        return st;
    memcpy(job->reach, job->graph.reach, sizeof job->reach);
    job->keep_z = job->graph.keep_z;
    return LAPSE_OK;
}

/* The voxel size of every node's result into vox[node]: the input's (lapse_voxel_size), carried
 * through each step's voxel rule (op.h) from its first operand; and the centre of its voxel 0
 * into org[node] (the input's voxel 0 at 0). */
static void node_voxels(const lapse_job_t *job, double vox[][3], double org[][3])
{
    const lapse_graph_t *g = &job->graph;
    const char *unit = "";
    double in[3];
    lapse_voxel_size(&job->cfg, &job->in, in, &unit);
    if (job->in.ndims == 3 && !job->cfg.input_voxel_size_given)
        in[0] = 0.0; /* a [t, y, x] input has no z spacing to carry */
    else if (!job->cfg.input_voxel_size_given && !(job->in.voxel_size_um[0] > 0) &&
             strcmp(unit, "pixel") != 0)
        in[0] = -1.0; /* y, x known, z not (a TIFF's pixel size only): negative = unknown, shown
                         as its magnitude without a unit (lapse_dset_spec_t.vox) */
    for (int k = 0; k < g->nsteps; k++) {
        const int j = g->node[k].in[0];
        const int64_t *dims = j == LAPSE_GRAPH_INPUT ? g->in_shape : g->node[j].dims;
        static const double zero[3] = {0, 0, 0};
        memcpy(vox[k], j == LAPSE_GRAPH_INPUT ? in : vox[j], sizeof vox[k]);
        memcpy(org[k], j == LAPSE_GRAPH_INPUT ? zero : org[j], sizeof org[k]);
        if (g->node[k].step->op->voxel)
            g->node[k].step->op->voxel(g->node[k].step, dims, vox[k], org[k]);
    }
}

/* Output dataset specs (chunks filled in later, from the plan). */
static void make_specs(lapse_job_t *job)
{
    const lapse_config_t *cfg = &job->cfg;
    const lapse_graph_t *g = &job->graph;
    int nout = g->nout;
    double vox[LAPSE_MAX_STEPS][3], org[LAPSE_MAX_STEPS][3];
    node_voxels(job, vox, org);
    for (int k = 0; k < nout; k++) {
        lapse_dset_spec_t *s = &job->out[k];
        int step = g->out[k].node;
        lapse_dtype_t dt = g->out[k].dtype;
        memset(s, 0, sizeof *s);
        snprintf(s->path, sizeof s->path, "%s",
                 k == nout - 1 ? cfg->output_dataset : cfg->steps[step].save);
        int flat = g->out[k].flat; /* one plane: [t, y, x] (always, for a [t, y, x] input,
                                      unless radial_reslice makes its angles planes) */
        const int64_t *d = g->node[step].dims; /* the result's shape (graph.c: out_shape) */
        s->ndims = flat ? 3 : 4;
        s->dims[0] = job->in.ntp;
        if (flat) {
            s->dims[1] = d[1];
            s->dims[2] = d[2];
        } else {
            for (int a = 0; a < 3; a++)
                s->dims[1 + a] = d[a];
        }
        s->dtype = dt;
        memcpy(s->vox, vox[step], sizeof s->vox);
        memcpy(s->org, org[step], sizeof s->org);
        /* output.format: zarr: the HDF5 dataset stays (shape, dtype, voxel size for lapse
         * info), unfiltered and never written; the voxels go to the Zarr store (zarr_out.h) */
        s->comp = cfg->output_format == LAPSE_FMT_ZARR ? LAPSE_COMP_NONE : cfg->compression;
        s->level = cfg->compression_level;
        job->out_step[k] = step;
    }
    job->nout = nout;
    /* Scratch: the tile data (e.g. provisional labels) a global step keeps between phases,
     * [t, z, y, x] over its operand's dims; written only when timepoints are tiled. */
    job->nscratch = 0;
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_global_t *gl = g->node[k].step->op->global;
        if (gl == NULL || gl->mat_bytes == 0)
            continue;
        int j = g->node[k].in[0];
        const int64_t *dims = j == LAPSE_GRAPH_INPUT ? g->in_shape : g->node[j].dims;
        for (int b = 0; b < (gl->iterate ? 2 : 1); b++) { /* iterative: passes alternate */
            lapse_dset_spec_t *s = &job->out[nout + job->nscratch];
            memset(s, 0, sizeof *s);
            snprintf(s->path, sizeof s->path, "%s/step%d%s", LAPSE_LAYOUT_SCRATCH, k + 1,
                     gl->iterate ? (b ? "b" : "a") : "");
            s->ndims = 4;
            s->dims[0] = job->in.ntp;
            for (int a = 0; a < 3; a++)
                s->dims[1 + a] = dims[a];
            s->dtype = gl->mat_bytes == 8 ? LAPSE_DT_U64 : LAPSE_DT_U32;
            job->scratch_step[job->nscratch++] = k;
        }
    }
}

/* Rank 0: re-report the recorded output problem at output.file's position in the config. */
static lapse_status_t output_fail(lapse_job_t *job)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", lapse_errmsg());
    lapse_err_clear();
    return lapse_config_fail(&job->cfg, job->cfg.output_file_mark, "output.file", "%s", msg);
}

unsigned long long lapse_job_output_bytes(const lapse_job_t *job)
{
    unsigned long long total = 0;
    for (int k = 0; k < job->nout; k++) {
        const lapse_dset_spec_t *s = &job->out[k];
        unsigned long long n = lapse_dtype_size(s->dtype);
        for (int d = 0; d < s->ndims; d++) {
            /* HDF5 allocates whole chunks, the edge ones too: dims rounded up to the chunk */
            const int64_t c = s->chunk[d] > 0 ? s->chunk[d] : 1;
            unsigned long long e =
                s->dims[d] > 0 ? (unsigned long long)((s->dims[d] + c - 1) / c * c) : 0;
            n = e != 0 && n > ULLONG_MAX / e ? ULLONG_MAX : n * e;
        }
        total = total > ULLONG_MAX - n ? ULLONG_MAX : total + n;
    }
    return total;
}

int lapse_job_output_free(const lapse_config_t *cfg, char *dir, size_t len,
                          unsigned long long *avail)
{
    struct statvfs vfs;
    snprintf(dir, len, "%s", cfg->output_file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, len, ".");
    if (statvfs(dir, &vfs) != 0)
        return -1;
    *avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
    return 0;
}

void lapse_human_bytes(unsigned long long bytes, char *buf, size_t len)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    int u = -1;
    while (v >= 1024.0 && u < 5) {
        v /= 1024.0;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%llu bytes", bytes);
    else
        snprintf(buf, len, v < 10.0 ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* Rank 0, for an output made anew (create, overwrite): refuse (config error at output.file,
 * nothing written) one whose result datasets cannot fit in the free space of its file system,
 * instead of taking all of it with the reservation (h5out.c reserve_space) or filling it with
 * the tasks' writes. Not for compressed outputs (their size is not known before the run); the
 * old file an overwrite replaces still exists while the new one is made, so its space does not
 * count as free. LAPSE_SPACE_CHECK=0 skips it. */
lapse_status_t lapse_job_check_space(const lapse_job_t *job)
{
    const lapse_config_t *cfg = &job->cfg;
    const char *env = getenv("LAPSE_SPACE_CHECK");
    char dir[4096], need[32], have[32];
    unsigned long long avail = 0, bytes = lapse_job_output_bytes(job);
    if (cfg->compression != LAPSE_COMP_NONE || (env && strcmp(env, "0") == 0) ||
        lapse_job_output_free(cfg, dir, sizeof dir, &avail) != 0 || bytes <= avail)
        return LAPSE_OK;
    lapse_human_bytes(bytes, need, sizeof need);
    lapse_human_bytes(avail, have, sizeof have);
    return lapse_config_fail(cfg, cfg->output_file_mark, "output.file",
                             "%s needs %s for its datasets (%llu bytes), the file system of %s "
                             "has %s free (%llu bytes): free space there, choose an output.file "
                             "on a larger file system, or make the output smaller (fewer or "
                             "smaller saved steps, a smaller output.dtype, compression)",
                             cfg->output_file, need, bytes, dir, have, avail);
}

/* Rank 0: what to do with the output. A new file is created; an existing lapse output of the
 * same config is continued (only tasks not done run; the same command after an interruption
 * finishes the job); output.mode: update (or --timepoints on an existing output) rewrites the
 * selected timepoints, unless the last run was the same update and did not finish, which is
 * then continued, and grows an output made with parts onto an input that gained timepoints
 * (check_growth); overwrite replaces the file. Anything else is refused before any write. */
#define OUTPUT_FAIL(...)                                                                           \
    do {                                                                                           \
        lapse_fail(LAPSE_ECONFIG, __VA_ARGS__);                                                    \
        st = output_fail(job);                                                                     \
        goto cleanup;                                                                              \
    } while (0)

/* Rank 0: the timepoints among the output's first os->ntp (and the input's) whose recorded
 * input sum (os->input_sums; 0: not recorded) differs from the input's sum now, in order, into
 * *list (malloc'ed, the caller frees; NULL when none) and their count into *nchanged; none when
 * the output records no sums (made before them). Reads one sample box per recorded timepoint
 * (io/input_id.h), in order; with budget_s > 0 it stops once that many seconds have passed.
 * *checked: the timepoints looked at (all os->ntp unless the budget ran out). */
static lapse_status_t changed_tps(const lapse_job_t *job, const lapse_outstate_t *os,
                                  double budget_s, int64_t **list, int64_t *nchanged,
                                  int64_t *checked)
{
    lapse_status_t st = LAPSE_OK;
    const int64_t ntp = os->ntp < job->in.ntp ? os->ntp : job->in.ntp;
    int64_t k = 0, *tps = NULL;
    lapse_reader_t *r = NULL;
    struct timespec t0, now;
    *list = NULL;
    *nchanged = 0;
    *checked = ntp;
    if (os->input_sums == NULL || ntp <= 0)
        return LAPSE_OK;
    tps = malloc((size_t)ntp * sizeof *tps);
    LAPSE_ALLOC(tps);
    LAPSE_TRY(lapse_reader_open(job->cfg.input_file, job->cfg.input_dataset, &r));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int64_t t = 0; t < ntp; t++) {
        uint64_t sum = 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (budget_s > 0 &&
            (double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec) >
                budget_s) {
            *checked = t;
            break;
        }
        if (os->input_sums[t] == 0)
            continue;
        LAPSE_TRY(lapse_input_tp_sums(r, &job->in, &t, 1, &sum));
        if (sum != os->input_sums[t])
            tps[k++] = t;
    }
    *nchanged = k;
    if (k > 0) {
        *list = tps;
        tps = NULL;
    }
cleanup:
    lapse_reader_close(r);
    free(tps);
    return st;
}

/* tps[0..n) (sorted unique) as a --timepoints argument ("1,3-4") into buf[len]. */
static void tps_arg(const int64_t *tps, int64_t n, char *buf, size_t len)
{
    char text[1024];
    size_t k = 0;
    lapse_tpsel_format(tps, n, text, sizeof text);
    for (const char *c = text; *c && k + 1 < len; c++)
        if (*c != ' ')
            buf[k++] = *c;
    buf[k] = '\0';
}

/* 1 when t is in tps[0..n) (sorted). */
static int tps_has(const int64_t *tps, int64_t n, int64_t t)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (tps[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && tps[lo] == t;
}

/* Rank 0: refuse to continue output os onto an input whose identity changed since recorded,
 * naming the timepoints whose sample differs where the output records their sums. */
static lapse_status_t input_changed(lapse_job_t *job, const lapse_outstate_t *os)
{
    const lapse_config_t *cfg = &job->cfg;
    char what[128], tps[1024], arg[1024], which[2400] = "", part[96] = "";
    int64_t n = 0, checked = 0, *list = NULL;
    lapse_input_identity_diff(os->input_identity, job->input_identity, what, sizeof what);
    /* a refusal should come soon: a compressed input decodes a chunk per timepoint */
    if (changed_tps(job, os, 10.0, &list, &n, &checked) != LAPSE_OK) {
        lapse_err_clear(); /* the refusal below says what matters */
    } else if (n > 0) {
        lapse_tpsel_format(list, n, tps, sizeof tps);
        tps_arg(list, n, arg, sizeof arg);
        if (checked < os->ntp)
            snprintf(part, sizeof part, " (of the first %lld of %lld, checked for 10 s)",
                     (long long)checked, (long long)os->ntp);
        snprintf(which, sizeof which,
                 "; timepoints whose data differ from what their results were computed from%s: "
                 "%s (output.mode: update with --timepoints %s recomputes them)",
                 part, tps, arg);
    } else if (os->input_sums != NULL && checked == os->ntp) {
        snprintf(which, sizeof which,
                 "; no timepoint's sample differs from the data its results were computed "
                 "from: the change lies elsewhere in the data, or only in the file's size or "
                 "time");
    }
    free(list);
    if (job->input_unread[0] != '\0') { /* an unreadable box: no change can be told from it */
        lapse_fail(LAPSE_ECONFIG,
                   "the input %s may have changed since output %s was last written (%s), but a "
                   "sample box of it cannot be read now (%s), so lapse cannot tell: if that is a "
                   "passing read error (a network file system), run the same command again; if "
                   "the input did change, set output.mode: update to recompute the selected "
                   "timepoints, or overwrite to start over (recorded %s, now %s)",
                   cfg->input_file, cfg->output_file, what, job->input_unread, os->input_identity,
                   job->input_identity);
        return output_fail(job);
    }
    lapse_fail(LAPSE_ECONFIG,
               "the input %s changed (%s) since output %s was last written: continuing would "
               "mix results of the old and the new input; set output.mode: update to recompute "
               "the selected timepoints from the new input, or overwrite to start over "
               "(recorded %s, now %s)%s",
               cfg->input_file, what, cfg->output_file, os->input_identity, job->input_identity,
               which);
    return output_fail(job);
}

/* Rank 0: a timepoint selection (--timepoints, tp_override 1, or the config's timepoints:) with
 * an explicit output.mode: overwrite on an existing lapse output. Replacing the file keeps
 * only the selected timepoints: refuse (config error at output.mode, before anything is
 * written) when the output holds results (a done task) of a timepoint outside the selection;
 * those would be lost. */
static lapse_status_t overwrite_loses(lapse_job_t *job, const lapse_outstate_t *os, int tp_override)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_config_t *cfg = &job->cfg;
    int64_t *lost = NULL, nlost = 0, i = 0;
    char list[256];
    if (os->done == NULL || os->ntiles <= 0 || os->ntp <= 0)
        return LAPSE_OK;
    lost = malloc((size_t)os->ntp * sizeof *lost);
    LAPSE_ALLOC(lost);
    for (int64_t t = 0; t < os->ntp; t++) {
        int has = 0;
        for (int64_t k = 0; k < os->ntiles && !has; k++)
            has = os->done[t * os->ntiles + k] != 0;
        while (i < job->ntps && job->tps[i] < t)
            i++;
        if (has && !(i < job->ntps && job->tps[i] == t))
            lost[nlost++] = t;
    }
    if (nlost > 0) {
        lapse_tpsel_format(lost, nlost, list, sizeof list);
        st = lapse_config_fail(
            cfg, cfg->mode_mark, "output.mode",
            "overwrite with %s would replace %s and lose the results of %lld timepoint%s "
            "outside the selection (%s); drop mode: overwrite (or use mode: update) to rewrite "
            "only the selected timepoints, drop %s to recompute all of them, or remove the "
            "file to keep only the selection",
            tp_override ? "--timepoints" : "the config's timepoints:", cfg->output_file,
            (long long)nlost, nlost == 1 ? "" : "s", list,
            tp_override ? "--timepoints" : "timepoints:");
    }
cleanup:
    free(lost);
    return st;
}

/* Rank 0: the result datasets of output file that this config does not write (a save: dropped,
 * a table of a step no longer there), as lapse_h5out_unwritten lists them, into list[len]. */
static void unwritten_list(const lapse_job_t *job, const char *file, char *list, size_t len)
{
    const lapse_graph_t *g = &job->graph;
    const char *keep[LAPSE_MAX_STEPS * 3 + 2];
    char tab[LAPSE_MAX_STEPS][2][LAPSE_STEP_NAME_MAX + 16];
    int n = 0;
    for (int o = 0; o < job->nout && n < LAPSE_MAX_STEPS; o++)
        keep[n++] = job->out[o].path;
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_step_t *s = g->node[k].step;
        if (s->op->global == NULL || s->op->global->table == NULL || s->name[0] == '\0')
            continue;
        snprintf(tab[k][0], sizeof tab[k][0], "/%s", s->name);
        snprintf(tab[k][1], sizeof tab[k][1], "/%s_summary", s->name);
        keep[n++] = tab[k][0];
        keep[n++] = tab[k][1];
    }
    lapse_h5out_unwritten(file, keep, n, list, len);
}

/* Rank 0, an update: a note naming the result datasets of the output that this config does not
 * write (a save: dropped, a table of a step no longer there): at the selected timepoints they
 * keep the results of the config that wrote them, beside this config's. */
static void note_unwritten(const lapse_job_t *job)
{
    const lapse_config_t *cfg = &job->cfg;
    char list[512], sel[256];
    unwritten_list(job, cfg->output_file, list, sizeof list);
    if (list[0] == '\0')
        return;
    lapse_tpsel_format(job->tps, job->ntps, sel, sizeof sel);
    fprintf(stderr,
            "lapse: note: this config does not write %s of %s: at the timepoints this update "
            "rewrites (%s) they keep the results of the config that wrote them\n",
            list, cfg->output_file, sel);
}

/* Rank 0, an update of an output made with output.parts: the parts of selected timepoints that
 * are missing (deleted, lost) into job->lost_parts (per timepoint), said; the update then
 * recomputes every selected timepoint (its marks are reset) and makes those parts anew after
 * the reset (lapse_job_remake_parts), so that a part made empty is never marked done. A
 * missing part of a timepoint not selected stays an error (lapse_parts_check). *n: how many. */
static lapse_status_t find_lost_parts(lapse_job_t *job, int dry_run, int *n)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_config_t *cfg = &job->cfg;
    char dir[4200], path[4400];
    struct stat db;
    *n = 0;
    lapse_parts_dir(cfg->output_file, 1, dir, sizeof dir);
    if (lstat(dir, &db) != 0 || !S_ISDIR(db.st_mode))
        return LAPSE_OK; /* no parts directory (a packed copy, or all lost): the check says */
    for (int64_t i = 0; i < job->ntps; i++) {
        const int64_t t = job->tps[i];
        struct stat sb;
        lapse_parts_file(dir, t, path, sizeof path);
        /* a new timepoint of a growing output: the growth makes its part (h5out.c) */
        if (t < 0 || t >= job->in.ntp || (job->grow_from > 0 && t >= job->grow_from) ||
            lstat(path, &sb) == 0 || errno != ENOENT)
            continue;
        if (job->lost_parts == NULL) {
            job->lost_parts = calloc((size_t)job->in.ntp, 1);
            LAPSE_ALLOC(job->lost_parts);
        }
        job->lost_parts[t] = 1;
        fprintf(stderr,
                "lapse: note: the part %s (timepoint %lld) is missing: %s anew by this update, "
                "which computes the timepoint again\n",
                path, (long long)t, dry_run ? "it would be made" : "it is made");
        (*n)++;
    }
    if (*n)
        job->recompute = 1;
cleanup:
    return st;
}

lapse_status_t lapse_job_remake_parts(const lapse_job_t *job, const char *token)
{
    lapse_status_t st = LAPSE_OK;
    char dir[4200];
    int results[3 * LAPSE_MAX_STEPS + 1];
    const int nspecs = job->nout + job->nscratch;
    if (job->lost_parts == NULL)
        return LAPSE_OK;
    for (int k = 0; k < nspecs; k++)
        results[k] = k < job->nout;
    lapse_parts_dir(job->cfg.output_file, 1, dir, sizeof dir);
    for (int64_t t = 0; t < job->in.ntp; t++)
        if (job->lost_parts[t])
            LAPSE_TRY(lapse_parts_create(dir, t, job->out, results, nspecs, token));
cleanup:
    return st;
}

/* Rank 0: the input has more timepoints than the output (os->ntp < job->in.ntp). Grow the
 * output (job->grow_from = os->ntp; old_fp: the output's fingerprint, which this config has at
 * the old count) or refuse (config error at output.file, nothing written). Growth (docs/
 * architecture.md, "Growing an output with its input") is an update (output.mode: update, or
 * --timepoints) that names a timepoint at or past the output's count, of an output made with
 * output.parts: timepoints or output.format: zarr (whose voxels are not in the output file) by
 * this same config (a Zarr config on a one-file output has another fingerprint: refused as
 * one file or as another config), that holds no result dataset this config
 * does not write, and whose first os->ntp timepoints hold the data their results were
 * computed from, unless this update selects them (it then recomputes them as the output
 * grows): each one's input sum (changed_tps) and the recorded identity's checksum of three
 * boxes, computed again over them (its size and time change with the growth; a change in it is
 * let pass when the output has input sums and one of the three timepoints is selected).
 * tp_override: --timepoints was given (with output.mode: create in the config it is no update:
 * the refusal says so). */
static lapse_status_t check_growth(lapse_job_t *job, const lapse_outstate_t *os, int updating,
                                   int tp_override, char old_fp[24])
{
    lapse_status_t st = LAPSE_OK;
    const lapse_config_t *cfg = &job->cfg;
    const long long was = (long long)os->ntp, now = (long long)job->in.ntp;
    char canon[PATH_MAX], spelled[24], id[LAPSE_INPUT_ID_LEN], unwritten[512];
    int64_t *changed = NULL, *sel = NULL; /* changed earlier timepoints; the advice's selection */
    lapse_input_info_t in = job->in;
    const int files = strstr(cfg->input_dataset, "files") != NULL; /* input.files */
    if (os->parts_token[0] == '\0' && cfg->output_format != LAPSE_FMT_ZARR)
        OUTPUT_FAIL("output %s has %lld timepoints but the input %s now has %lld: an output in "
                    "one file cannot grow with its input (extending its datasets is a metadata "
                    "change that a kill could leave half made); use output.parts: timepoints for "
                    "an output that grows (set it with output.mode: overwrite to make this one "
                    "again), or write the new timepoints to another output file (output.file, "
                    "with --timepoints %lld-%lld)",
                    cfg->output_file, was, cfg->input_file, now, was, now - 1);
    if (!updating && tp_override) /* output.mode: create given: --timepoints continues */
        OUTPUT_FAIL("output %s has %lld timepoints but the input %s now has %lld: the config sets "
                    "output.mode: create, with which --timepoints selects the tasks to continue, "
                    "not an update; to grow the output with its input, set output.mode: update "
                    "(with --timepoints %lld-%lld); set output.mode: overwrite to make it again "
                    "from the whole input",
                    cfg->output_file, was, cfg->input_file, now, was, now - 1);
    if (!updating && cfg->mode_given) /* output.mode: create: --timepoints would continue */
        OUTPUT_FAIL("output %s has %lld timepoints but the input %s now has %lld: to grow the "
                    "output with its input, run an update that selects the new timepoints: the "
                    "config sets output.mode: create, so set output.mode: update with "
                    "timepoints: \"%lld-%lld\" (or drop output.mode and add --timepoints "
                    "%lld-%lld); set output.mode: overwrite to make it again from the whole input",
                    cfg->output_file, was, cfg->input_file, now, was, now - 1, was, now - 1);
    if (!updating)
        OUTPUT_FAIL(
            "output %s has %lld timepoints but the input %s now has %lld: to grow the "
            "output with its input, run an update that selects the new timepoints: "
            "--timepoints %lld-%lld (or output.mode: update with timepoints: \"%lld-%lld\"); "
            "set output.mode: overwrite to make it again from the whole input",
            cfg->output_file, was, cfg->input_file, now, was, now - 1, was, now - 1);
    if (job->ntps == 0 || job->tps[job->ntps - 1] < os->ntp)
        OUTPUT_FAIL("output %s has %lld timepoints but the input %s now has %lld: this update "
                    "selects none of the new timepoints; select them (--timepoints %lld-%lld) "
                    "to grow the output, which then computes them",
                    cfg->output_file, was, cfg->input_file, now, was, now - 1);
    in.ntp = os->ntp; /* the fingerprint this config has at the output's count */
    if (canon_path(cfg->input_file, canon) != 0)
        snprintf(canon, sizeof canon, "%s", cfg->input_file);
    lapse_fingerprint(cfg, &in, canon, old_fp, 24);
    lapse_fingerprint(cfg, &in, cfg->input_file, spelled, sizeof spelled);
    if (strcmp(os->fingerprint, old_fp) != 0 && strcmp(os->fingerprint, spelled) == 0) {
        memcpy(old_fp, spelled, sizeof spelled); /* an output that records the spelled path */
        memcpy(job->fingerprint, job->fingerprint_spelled, sizeof job->fingerprint);
    }
    if (strcmp(os->fingerprint, old_fp) != 0)
        OUTPUT_FAIL("output %s was made by a different config (input, pipeline, a custom "
                    "kernel's file or output settings differ): only the config that made an "
                    "output grows it with its input (%lld to %lld timepoints); set output.mode: "
                    "overwrite to make it again with this one",
                    cfg->output_file, was, now);
    unwritten_list(job, cfg->output_file, unwritten, sizeof unwritten);
    if (unwritten[0])
        OUTPUT_FAIL("output %s holds datasets this config does not write (%s): growing the "
                    "output would leave them at %lld timepoints; set output.mode: overwrite to "
                    "make it again with this config",
                    cfg->output_file, unwritten, was);
    if (os->input_identity[0] == '\0')
        OUTPUT_FAIL("output %s records no identity of its input (made by an older lapse): "
                    "whether its %lld timepoints are still the input's cannot be checked, so it "
                    "does not grow; set output.mode: overwrite to make it again",
                    cfg->output_file, was);
    /* The earlier timepoints must hold the data their results came from, or be selected (then
     * this update recomputes them as it grows the output). */
    int64_t nchanged = 0, checked = 0, nkept = 0;
    LAPSE_TRY(changed_tps(job, os, 0, &changed, &nchanged, &checked));
    for (int64_t i = 0; i < nchanged; i++)
        if (!tps_has(job->tps, job->ntps, changed[i]))
            changed[nkept++] = changed[i];
    if (nkept > 0) {
        char list[1024], all[1024];
        int64_t nsel = 0; /* the advice: the changed ones and this run's selection, merged */
        sel = malloc((size_t)(nkept + job->ntps) * sizeof *sel);
        LAPSE_ALLOC(sel);
        for (int64_t i = 0, j = 0; i < nkept || j < job->ntps;) {
            int64_t v = j >= job->ntps || (i < nkept && changed[i] < job->tps[j]) ? changed[i++]
                                                                                  : job->tps[j++];
            if (nsel == 0 || sel[nsel - 1] != v)
                sel[nsel++] = v;
        }
        lapse_tpsel_format(changed, nkept, list, sizeof list);
        tps_arg(sel, nsel, all, sizeof all);
        if (files) /* the identity check below would refuse that selection */
            OUTPUT_FAIL("the input %s changed in %lld of the output's %lld timepoints since output "
                        "%s was last written: timepoints %s hold other data than their results "
                        "were computed from (a sample of each differs); with input.files the "
                        "output's input checksum covers each earlier file's size and time, so a "
                        "rewritten file cannot be recomputed in a growth: set output.mode: "
                        "overwrite to make it again from the input as it is now",
                        cfg->input_file, (long long)nkept, was, cfg->output_file, list);
        OUTPUT_FAIL("the input %s changed in %lld of the output's %lld timepoints since output %s "
                    "was last written: timepoints %s hold other data than their results were "
                    "computed from (a sample of each differs), and growing the output would keep "
                    "those results; select them too, to recompute them as the output grows "
                    "(--timepoints %s), or set output.mode: overwrite to make it again from the "
                    "input as it is now",
                    cfg->input_file, (long long)nkept, was, cfg->output_file, list, all);
    }
    LAPSE_TRY(lapse_input_identity_first(cfg->input_file, cfg->input_dataset, &job->in, os->ntp, id,
                                         sizeof id, NULL, 0));
    /* The identity's three boxes (timepoints 0, T/2, T-1): a change there is refused, unless the
     * output records input sums (which checked every timepoint above) and this update recomputes
     * all three of those timepoints: one checksum covers the three boxes, so which changed
     * cannot be told (excusing it when one of them was selected let a change in another's box
     * through: before 2026-12-05). */
    int64_t boxes[3] = {0, os->ntp / 2, os->ntp - 1}, nbox = 0;
    int reboxed = os->input_sums != NULL;
    for (int b = 0; b < 3; b++) {
        if (!tps_has(job->tps, job->ntps, boxes[b]))
            reboxed = 0;
        if (nbox == 0 || boxes[nbox - 1] != boxes[b])
            boxes[nbox++] = boxes[b];
    }
    if (files) /* its checksum covers every file's size and time too: a recomputed file's */
        reboxed = 0;
    if (!lapse_input_identity_same_sum(os->input_identity, id) && !reboxed &&
        os->input_sums != NULL && !files) {
        char all[1024];
        int64_t *merged = malloc((size_t)(job->ntps + nbox) * sizeof *merged), nm = 0;
        LAPSE_ALLOC(merged);
        for (int64_t i = 0, j = 0; i < nbox || j < job->ntps;) {
            int64_t v =
                j >= job->ntps || (i < nbox && boxes[i] < job->tps[j]) ? boxes[i++] : job->tps[j++];
            if (nm == 0 || merged[nm - 1] != v)
                merged[nm++] = v;
        }
        tps_arg(merged, nm, all, sizeof all);
        free(merged);
        OUTPUT_FAIL("the input %s changed in its first %lld timepoints since output %s was last "
                    "written (their checksum, over a box of each of timepoints 0, %lld and %lld, "
                    "differs: recorded %s, now %s), and which of them changed cannot be told: "
                    "select all three too, to recompute them as the output grows (--timepoints "
                    "%s), or set output.mode: overwrite to make it again from the input as it is "
                    "now",
                    cfg->input_file, was, cfg->output_file, (long long)(os->ntp / 2),
                    (long long)(os->ntp - 1), os->input_identity, id, all);
    }
    if (!lapse_input_identity_same_sum(os->input_identity, id) && !reboxed)
        OUTPUT_FAIL("the input %s changed in its first %lld timepoints since output %s was last "
                    "written (their checksum differs: recorded %s, now %s%s): growing the output "
                    "would keep results of the old data; set output.mode: overwrite to make it "
                    "again from the input as it is now",
                    cfg->input_file, was, cfg->output_file, os->input_identity, id,
                    files ? "; with input.files it covers each file's name, size and time, so a "
                            "rewritten or touched earlier file cannot be recomputed in a growth"
                          : "");
    job->grow_from = os->ntp; /* said by decide_output once nothing refuses the run */
cleanup:
    free(changed);
    free(sel);
    return st;
}

/* Rank 0, a run that continues an output (not an update): the selected timepoints that are
 * partly done, with a done task computed by a run of another config (os->holder, os->run_fp;
 * fp: this config's fingerprint as the output records it) -- an update with another config that
 * did not finish, after which other runs came (the last run alone is checked before). Finishing
 * such a timepoint would leave it half of each config's results: refused (LAPSE_EINPUT via
 * OUTPUT_FAIL's output_fail), naming the timepoints and the run. */
static lapse_status_t check_half_done(lapse_job_t *job, const lapse_outstate_t *os, const char *fp)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_config_t *cfg = &job->cfg;
    int64_t *bad = NULL, nbad = 0, run = 0;
    if (os->holder == NULL || os->run_fp == NULL || os->done == NULL)
        return LAPSE_OK; /* not known: as before */
    bad = malloc((size_t)(job->ntps + 1) * sizeof *bad);
    LAPSE_ALLOC(bad);
    for (int64_t i = 0; i < job->ntps; i++) {
        const int64_t t = job->tps[i];
        if (t < 0 || t >= os->ntp)
            continue;
        int64_t done = 0, other = 0;
        for (int64_t tl = 0; tl < os->ntiles; tl++) {
            const int64_t k = t * os->ntiles + tl, h = os->holder[k];
            if (!os->done[k])
                continue;
            done++;
            if (h > 0 && h <= os->last_run && os->run_fp[h][0] && strcmp(os->run_fp[h], fp) != 0)
                other = h;
        }
        if (done > 0 && done < os->ntiles && other > 0) {
            bad[nbad++] = t;
            run = other;
        }
    }
    if (nbad > 0) {
        char tps[256];
        lapse_tpsel_format(bad, nbad, tps, sizeof tps);
        OUTPUT_FAIL("timepoint%s %s of %s %s partly computed by run %lld with another config, "
                    "which did not finish; continuing with this config would leave %s half of "
                    "each: run that config again with --timepoints %s to finish it, or add "
                    "--timepoints %s to recompute %s with this one",
                    nbad > 1 ? "s" : "", tps, cfg->output_file, nbad > 1 ? "were" : "was",
                    (long long)run, nbad > 1 ? "them" : "it", tps, tps, nbad > 1 ? "them" : "it");
    }
cleanup:
    free(bad);
    return st;
}

static lapse_status_t decide_output(lapse_job_t *job, int tp_override, int dry_run)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_config_t *cfg = &job->cfg;
    lapse_outstate_t os;
    char sel_hash[24];
    memset(&os, 0, sizeof os);

    job->lock.fd = job->lock.idfd = -1;
    st = lapse_h5out_check(cfg->output_file, LAPSE_MODE_CREATE, job->out, job->nout + job->nscratch,
                           NULL);
    if (st == LAPSE_OK)
        st = lapse_h5out_check_staging(cfg->output_file);
    if (st != LAPSE_OK)
        return output_fail(job);
    if (!dry_run && lapse_lock_acquire(cfg->output_file, &job->lock) != LAPSE_OK)
        return output_fail(job);
    char who[64];
    if (dry_run && lapse_lock_busy(cfg->output_file, who, sizeof who)) {
        fprintf(stderr,
                "lapse: note: another lapse run (%s) is writing %s now: this describes the "
                "output as it is at this moment, and that run's tasks may be done before any "
                "run of this config starts\n",
                who[0] ? who : "holder unknown", cfg->output_file);
        fflush(stderr);
    }
    LAPSE_TRY(lapse_h5out_inspect(cfg->output_file, &os));
    lapse_tpsel_hash(job->tps, job->ntps, sel_hash, sizeof sel_hash);
    job->recompute = 1;
    if ((tp_override || cfg->timepoints[0] != '\0') && cfg->mode_given &&
        cfg->mode == LAPSE_MODE_OVERWRITE && os.is_lapse)
        LAPSE_TRY(overwrite_loses(job, &os, tp_override));
    if (!os.exists || cfg->mode == LAPSE_MODE_OVERWRITE) {
        if (!os.exists && cfg->mode == LAPSE_MODE_UPDATE)
            OUTPUT_FAIL("output %s does not exist; output.mode: update needs an "
                        "existing lapse output (use create)",
                        cfg->output_file);
        job->mode = os.exists ? LAPSE_MODE_OVERWRITE : LAPSE_MODE_CREATE;
        if (os.exists && os.is_lapse)
            snprintf(job->replaced_parts, sizeof job->replaced_parts, "%s", os.parts_token);
        LAPSE_TRY(lapse_job_check_space(job));
        if ((st = lapse_parts_precheck(cfg->output_file, job->replaced_parts, cfg->output_parts)) !=
            LAPSE_OK)
            st = output_fail(job);
        goto cleanup;
    }
    if (!os.is_lapse)
        OUTPUT_FAIL("output %s exists and is not a complete lapse output; set "
                    "output.mode: overwrite to replace it, or choose another file",
                    cfg->output_file);
    int updating = cfg->mode == LAPSE_MODE_UPDATE || (!cfg->mode_given && tp_override);
    /* a grown (or shrunk) input first: its shape is in the fingerprint too. An update of an
     * output with parts grows it (check_growth); an output never shrinks */
    char grown_fp[24] = ""; /* growing: the output's fingerprint (this config's at its count) */
    if (os.ntp < job->in.ntp)
        LAPSE_TRY(check_growth(job, &os, updating, tp_override, grown_fp));
    if (os.ntp > job->in.ntp)
        OUTPUT_FAIL("output %s has %lld timepoints but the input %s now has %lld: an existing "
                    "output never drops timepoints, so neither continuing nor output.mode: "
                    "update can use it with this input; set output.mode: overwrite to make it "
                    "again from the whole input",
                    cfg->output_file, (long long)os.ntp, cfg->input_file, (long long)job->in.ntp);
    /* an output made before fingerprints took the canonical input path records the one of
     * the path as spelled then: spelled the same way, this config is that output's */
    if (strcmp(os.fingerprint, job->fingerprint) != 0 &&
        strcmp(os.fingerprint, job->fingerprint_spelled) == 0)
        memcpy(job->fingerprint, job->fingerprint_spelled, sizeof job->fingerprint);
    /* growing: the output's own config and its last run's are compared at its old count */
    const char *fp = job->grow_from > 0 ? grown_fp : job->fingerprint;
    int unfinished = os.last_run > 0 && strcmp(os.last_status, LAPSE_RUN_DONE) != 0;
    /* the output was made by another config, and its last run, an update with this one, did
     * not finish: that update is what to run again (with its selection), not overwrite */
    if (!updating && unfinished && strcmp(os.fingerprint, job->fingerprint) != 0 &&
        strcmp(os.last_fingerprint, job->fingerprint) == 0)
        OUTPUT_FAIL("the last run on %s (run %lld, %s) was an update with this config of "
                    "timepoints %s and did not finish; the output was made by a different "
                    "config, so only an update continues it: add --timepoints %s (or set "
                    "output.mode: update with those timepoints) to finish that update",
                    cfg->output_file, (long long)os.last_run, os.last_status, os.last_timepoints,
                    os.last_timepoints);
    if (!updating && strcmp(os.fingerprint, job->fingerprint) != 0)
        OUTPUT_FAIL("output %s was made by a different config (input, pipeline, a custom "
                    "kernel's file or output settings differ); set output.mode: overwrite to "
                    "replace it, or update to rewrite the selected timepoints with this one%s",
                    cfg->output_file,
                    job->in.signed_stored
                        ? " (this input's int16 values stored as uint16 are read as int16 since "
                          "lapse of 2026-12-05, as Fiji and BigDataViewer show them, and were "
                          "read as uint16 before: an output made before from it counts as "
                          "another config's, and its results' dtype may differ: overwrite)"
                        : "");
    if (!updating && unfinished && strcmp(os.last_fingerprint, job->fingerprint) != 0)
        OUTPUT_FAIL("the last run on %s (run %lld, %s) used another config and did not finish: "
                    "run that config again to finish it, or set output.mode: update to "
                    "recompute the selected timepoints with this one",
                    cfg->output_file, (long long)os.last_run, os.last_status);
    if (!updating)
        LAPSE_TRY(check_half_done(job, &os, fp));
    if (!updating && os.input_identity[0] && strcmp(os.input_identity, job->input_identity) != 0)
        LAPSE_TRY(input_changed(job, &os));
    int same_unfinished = unfinished && strcmp(os.last_tps_hash, sel_hash) == 0 &&
                          strcmp(os.last_fingerprint, job->fingerprint) == 0;
    /* an unfinished update whose input changed since it started (the identity every run
     * records at its start): continuing it would keep its finished tasks' results of the old
     * data beside the new ones in the same timepoints (and the timepoint's input sum of only
     * one of them), so the update recomputes its timepoints from the input as it is now */
    if (same_unfinished && updating && os.input_identity[0] &&
        strcmp(os.input_identity, job->input_identity) != 0) {
        same_unfinished = 0;
        if (!dry_run)
            fprintf(stderr,
                    "lapse: note: the input %s changed since the unfinished update of timepoints "
                    "%s on %s (run %lld) started: this update recomputes them from the input as "
                    "it is now, not continuing that run\n",
                    cfg->input_file, os.last_timepoints, cfg->output_file, (long long)os.last_run);
    }
    job->mode = LAPSE_MODE_UPDATE;
    job->recompute = updating && !same_unfinished;
    job->updating = updating;
    job->config_differs = updating && ((os.fingerprint[0] && strcmp(os.fingerprint, fp)) ||
                                       (os.last_fingerprint[0] && strcmp(os.last_fingerprint, fp)));
    if ((os.parts_token[0] != '\0') != (cfg->output_parts != 0))
        OUTPUT_FAIL("output %s was made %s output.parts: timepoints, but this config has parts: "
                    "%s; set output.mode: overwrite to make it again with this config",
                    cfg->output_file, os.parts_token[0] ? "with" : "without",
                    cfg->output_parts ? "timepoints" : "none");
    if (os.parts_token[0] && !dry_run) { /* a creation killed between its two renames */
        int resumed = 0;
        if (lapse_parts_resume(cfg->output_file, os.parts_token, &resumed) != LAPSE_OK) {
            st = output_fail(job);
            goto cleanup;
        }
        if (resumed)
            fprintf(stderr,
                    "lapse: %s.parts.creating held this output's parts (its creation was "
                    "interrupted): moved into place\n",
                    cfg->output_file);
    }
    memcpy(job->file_tile, os.tile, sizeof job->file_tile);
    job->file_ntiles = os.ntiles;
    LAPSE_TRY(lapse_sizing_file_tile(job));      /* refused before any note of the run */
    if (job->grow_from > 0 && os.done != NULL) { /* the new timepoints' marks: not done */
        const size_t had = (size_t)(os.ntp * os.ntiles), want = (size_t)(job->in.ntp * os.ntiles);
        unsigned char *grown = realloc(os.done, want > 0 ? want : 1);
        LAPSE_ALLOC(grown);
        memset(grown + had, 0, want - had);
        os.done = grown;
    }
    job->done = os.done;
    os.done = NULL;
    int lost = 0;
    if (os.parts_token[0] && updating)
        LAPSE_TRY(find_lost_parts(job, dry_run, &lost));
    /* the output as it is: a growing one still has its old count of timepoints */
    lapse_dset_spec_t have[3 * LAPSE_MAX_STEPS + 1];
    memcpy(have, job->out, sizeof have);
    for (int k = 0; k < job->nout + job->nscratch; k++)
        have[k].dims[0] = os.ntp;
    if ((st = lapse_h5out_check(cfg->output_file, LAPSE_MODE_UPDATE, have,
                                job->nout + job->nscratch, job->lost_parts)) != LAPSE_OK) {
        st = output_fail(job);
        goto cleanup;
    }
    /* The warnings and notes about what this run leaves as it is, only once nothing refuses
     * it (a refused update must not first describe what it would do). Runs that read another
     * input and still hold tasks (after an update from a changed input): the others' results
     * are not from the input as it is now. */
    char held[512];
    /* growing: the old timepoints were checked to be the input's still (check_growth); the
     * runs that read it as it was recorded last read the same data */
    lapse_outstate_held(&os, "input", job->grow_from > 0 ? os.input_identity : job->input_identity,
                        updating ? job->tps : NULL, updating ? job->ntps : 0, held, sizeof held);
    if (held[0] && !updating)
        fprintf(stderr,
                "lapse: warning: %s holds results computed from another input: %s read %s when "
                "it was different (`lapse info` lists each run's input); this run computes only "
                "unfinished tasks, from the input as it is now, and `output.mode: update` with "
                "--timepoints recomputes those timepoints from it\n",
                cfg->output_file, held, cfg->input_file);
    else if (held[0])
        fprintf(stderr,
                "lapse: note: %s holds results computed from another input: the timepoints this "
                "update does not select keep them: %s read %s when it was different (`lapse "
                "info` lists each run's input)\n",
                cfg->output_file, held, cfg->input_file);
    if (!updating && os.other_runs[0])
        fprintf(stderr,
                "lapse: warning: %s holds results of another config: %s recomputed timepoints "
                "with a different one (output.mode: update), and this run does not recompute "
                "done timepoints; `lapse info` lists the runs, and `output.mode: update` with "
                "--timepoints recomputes them with this config\n",
                cfg->output_file, os.other_runs);
    if (updating)
        note_unwritten(job);
    if (job->grow_from > 0)
        fprintf(stderr,
                "lapse: note: the input %s has %lld timepoints, the output %s has %lld: this "
                "update grows the output to %lld timepoints (timepoints 0-%lld keep their "
                "results)\n",
                cfg->input_file, (long long)job->in.ntp, cfg->output_file,
                (long long)job->grow_from, (long long)job->in.ntp, (long long)job->grow_from - 1);
cleanup:
    lapse_outstate_free(&os);
    if (st != LAPSE_OK)
        lapse_lock_release(&job->lock);
    return st;
}

/* Rank 0 only: validate the config against the input and the output. */
static lapse_status_t validate(lapse_job_t *job, const char *tp_override, int dry_run)
{
    lapse_status_t st = LAPSE_OK;
    lapse_config_t *cfg = &job->cfg;
    char err[512];
    st = lapse_reader_probe(cfg->input_file, cfg->input_dataset, &job->in);
    if (st != LAPSE_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", lapse_errmsg());
        lapse_err_clear();
        if (job->in.failed_part == 1)
            LAPSE_TRY(lapse_config_fail(cfg, cfg->input_file_mark,
                                        strchr(cfg->input_dataset, '#') &&
                                                strstr(cfg->input_dataset, "files")
                                            ? "input.files"
                                            : "input.file",
                                        "%s", msg));
        if (job->in.failed_part == 3 && cfg->input_sel_key[0])
            LAPSE_TRY(lapse_config_fail(cfg, cfg->input_sel_mark, cfg->input_sel_key, "%s", msg));
        if (job->in.failed_part == 4 && cfg->input_axes_mark.line > 0)
            LAPSE_TRY(lapse_config_fail(cfg, cfg->input_axes_mark, "input.axes", "%s", msg));
        LAPSE_TRY(lapse_config_fail(cfg, cfg->input_dataset_mark, "input.dataset", "%s", msg));
    }
    if (cfg->input_voxel_size_given) /* input.voxel_size: the config's word is the last */
        for (int a = 0; a < 3; a++)
            job->in.voxel_size_um[a] = cfg->input_voxel_size[a];
    if (job->in.ntp > LAPSE_MAX_TIMEPOINTS) /* the selection and the done marks are per timepoint */
        LAPSE_TRY(lapse_config_fail(cfg, cfg->input_dataset_mark, "input.dataset",
                                    "the input %s has %lld timepoints, more than lapse handles "
                                    "(%lld)",
                                    cfg->input_file, (long long)job->in.ntp,
                                    (long long)LAPSE_MAX_TIMEPOINTS));
    LAPSE_TRY(pipeline_facts(job));
    const char *sel = tp_override ? tp_override : cfg->timepoints;
    if (lapse_tpsel_parse(sel, job->in.ntp, &job->tps, &job->ntps, err, sizeof err) != 0) {
        if (tp_override)
            LAPSE_FAIL(LAPSE_EUSAGE, "--timepoints: %s", err);
        LAPSE_TRY(lapse_config_fail(cfg, cfg->timepoints_mark, "timepoints", "%s", err));
    }
    if (job->ntps == 0)
        LAPSE_TRY(
            lapse_config_fail(cfg, cfg->timepoints_mark, "timepoints", "selects no timepoint"));
    if (!cfg->halo_auto && job->graph.transform)
        LAPSE_TRY(lapse_config_fail(
            cfg, cfg->halo_mark, "tiles.halo",
            "the pipeline has a geometric step (a flip, crop, rotation, transform or resampling): "
            "each tile reads the input box that its steps' box rules name, which no fixed halo "
            "describes; use halo: auto"));
    if (!cfg->halo_auto)
        for (int a = 0; a < 3; a++)
            if (cfg->halo[a] < job->reach[a] && !(a == 0 && job->keep_z))
                LAPSE_TRY(lapse_config_fail(
                    cfg, cfg->halo_mark, "tiles.halo",
                    "halo [%lld, %lld, %lld] is smaller than the pipeline's reach [%lld, %lld, "
                    "%lld]: tiled results would differ from untiled ones (use halo: auto)",
                    (long long)cfg->halo[0], (long long)cfg->halo[1], (long long)cfg->halo[2],
                    (long long)job->reach[0], (long long)job->reach[1], (long long)job->reach[2]));
    LAPSE_TRY(check_alias(job));
    LAPSE_TRY(check_zarr_alias(job));
    /* the identity of the input this run reads: with input.files the in.ntp files the probe
     * found, not one made since (an acquisition writing its next file): the output records it,
     * and growing the output compares it with the identity of its first in.ntp files
     * (check_growth); the run's end takes it again (run.c check_input_end) */
    lapse_fault_point("input-identity"); /* "~S": a file made between the probe and here */
    LAPSE_TRY(lapse_input_identity_first(cfg->input_file, cfg->input_dataset, &job->in, job->in.ntp,
                                         job->input_identity, sizeof job->input_identity,
                                         job->input_unread, sizeof job->input_unread));
    make_specs(job);
    LAPSE_TRY(check_zarr_owner(job)); /* (the result datasets known: older stores by them) */
    char canon[PATH_MAX];
    if (canon_path(cfg->input_file, canon) != 0) /* too long to resolve: as spelled */
        snprintf(canon, sizeof canon, "%s", cfg->input_file);
    lapse_fingerprint(cfg, &job->in, canon, job->fingerprint, sizeof job->fingerprint);
    lapse_fingerprint(cfg, &job->in, cfg->input_file, job->fingerprint_spelled,
                      sizeof job->fingerprint_spelled);
    LAPSE_TRY(decide_output(job, tp_override != NULL, dry_run));
cleanup:
    return st;
}

/* Collective: rank 0's validated facts (input, output mode, existing tiling, fingerprint, task
 * marks) to every rank. Returns LAPSE_EMPI/ENOMEM/EINPUT on this rank's failure (not agreed). */
static lapse_status_t share_facts(const lapse_ranks_t *r, lapse_job_t *job)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_MPI(MPI_Bcast(&job->in, (int)sizeof job->in, MPI_BYTE, 0, r->world));
    long long facts[7] = {job->mode,         job->recompute,   job->file_tile[0], job->file_tile[1],
                          job->file_tile[2], job->file_ntiles, job->grow_from};
    LAPSE_MPI(MPI_Bcast(facts, 7, MPI_LONG_LONG, 0, r->world));
    job->grow_from = facts[6];
    job->mode = (lapse_mode_t)facts[0];
    job->recompute = (int)facts[1];
    for (int a = 0; a < 3; a++)
        job->file_tile[a] = facts[2 + a];
    job->file_ntiles = facts[5];
    LAPSE_MPI(MPI_Bcast(job->fingerprint, sizeof job->fingerprint, MPI_CHAR, 0, r->world));
    LAPSE_MPI(MPI_Bcast(job->input_identity, sizeof job->input_identity, MPI_CHAR, 0, r->world));
    if (job->file_ntiles > 0) {
        size_t n = (size_t)(job->in.ntp * job->file_ntiles);
        if (r->rank != 0) {
            job->done = malloc(n);
            LAPSE_ALLOC(job->done);
        }
        if (n > (size_t)INT_MAX)
            LAPSE_FAIL(LAPSE_EINPUT, "too many tasks in the output's task state (%zu)", n);
        LAPSE_MPI(MPI_Bcast(job->done, (int)n, MPI_UNSIGNED_CHAR, 0, r->world));
    }
cleanup:
    return st;
}

/* Phases 1 and 2 on every rank: a validated job, identical everywhere. */
lapse_status_t lapse_job_prepare(const lapse_ranks_t *r, const lapse_run_opts_t *o,
                                 lapse_job_t *job)
{
    lapse_status_t st = LAPSE_OK;
    memset(job, 0, sizeof *job);
    job->lock.fd = job->lock.idfd = -1;
    st = load_config(r, o->config, &job->cfg);
    if (lapse_agree(r->world, st) != LAPSE_OK)
        return st != LAPSE_OK ? st : LAPSE_ECONFIG; /* parse is deterministic: all failed */
    st = share_sources(r, &job->cfg);
    if (lapse_agree(r->world, st) != LAPSE_OK)
        return st != LAPSE_OK ? st : LAPSE_ECONFIG;
    if (r->rank == 0)
        st = validate(job, o->timepoints, o->dry_run);
    int verdict = (int)st;
    LAPSE_MPI(MPI_Bcast(&verdict, 1, MPI_INT, 0, r->world));
    if (verdict != LAPSE_OK) {
        st = (lapse_status_t)verdict;
        goto cleanup;
    }
    LAPSE_TRY(share_facts(r, job));
    if (r->rank != 0) {
        char err[512];
        const char *sel = o->timepoints ? o->timepoints : job->cfg.timepoints;
        if (lapse_tpsel_parse(sel, job->in.ntp, &job->tps, &job->ntps, err, sizeof err) != 0)
            LAPSE_FAIL(LAPSE_ERUNTIME, "timepoints differ between ranks: %s", err);
        LAPSE_TRY(pipeline_facts(job));
        make_specs(job);
    }
    for (int a = 0; a < 3; a++)
        job->halo[a] = job->cfg.halo_auto ? job->reach[a] : job->cfg.halo[a];
cleanup:
    if (verdict == LAPSE_OK) /* a failure after the verdict may be one rank's alone */
        st = lapse_agree(r->world, st);
    return st;
}

void lapse_job_free(lapse_job_t *job)
{
    lapse_lock_release(&job->lock);
    free(job->done);
    free(job->lost_parts);
    free(job->tps);
    lapse_config_free(&job->cfg);
}

void lapse_job_set_chunks(lapse_job_t *job, const lapse_plan_t *plan)
{
    for (int k = 0; k < job->nout + job->nscratch; k++) {
        lapse_dset_spec_t *s = &job->out[k];
        s->chunk[0] = 1;
        if (s->ndims == 4)
            for (int a = 0; a < 3; a++)
                s->chunk[1 + a] = plan->tile[a];
        else
            for (int a = 0; a < 2; a++)
                s->chunk[1 + a] = plan->tile[1 + a];
    }
}
