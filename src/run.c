/*
 * run.c - the MPI driver of `lapse run` / `lapse plan` / `lapse devices` (phases in run.h).
 *
 * Collective phases end with agree(): every rank learns whether any rank failed, so all ranks
 * leave a phase together and no rank is left waiting in a collective call. Only rank 0 prints
 * failures of checks it alone made; a rank that fails on its own (device, task) prints its own
 * message with its rank and task.
 */
#include "run.h"

#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "clrt.h"
#include "config.h"
#include "fingerprint.h"
#include "h5in.h"
#include "h5out.h"
#include "ops.h"
#include "pipeline.h"
#include "plan.h"
#include "progress.h"
#include "lock.h"
#include "sched.h"
#include "tpsel.h"

/* The first of SIGTERM, SIGUSR2 or SIGINT received (0: none): every rank then finishes or
 * abandons its current task, records what is done and exits with LAPSE_EINTERRUPTED. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    if (!stop_signal)
        stop_signal = sig;
}

static lapse_status_t install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    const int sigs[] = {SIGTERM, SIGUSR2, SIGINT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        /* A second Ctrl-C kills at once (the default action), should the clean stop hang. */
        sa.sa_flags = SA_RESTART | (sigs[i] == SIGINT ? SA_RESETHAND : 0);
        if (sigaction(sigs[i], &sa, NULL) != 0)
            return lapse_fail(LAPSE_ERUNTIME, "sigaction(%d) failed: %s", sigs[i], strerror(errno));
    }
    return LAPSE_OK;
}

static lapse_status_t interrupted(void)
{
    return lapse_fail(LAPSE_EINTERRUPTED,
                      "stopped by signal %d (%s); run the same command again "
                      "to continue",
                      (int)stop_signal,
                      stop_signal == SIGTERM   ? "SIGTERM"
                      : stop_signal == SIGUSR2 ? "SIGUSR2"
                                               : "SIGINT");
}

/* Everything every rank knows about the job after validation. */
typedef struct {
    lapse_config_t cfg;
    lapse_input_info_t in;
    int64_t *tps;
    int64_t ntps;
    int64_t reach[3];
    int64_t halo[3];
    int projection;       /* index of the z-projecting step, or -1 */
    lapse_mode_t mode;    /* how the output file is opened */
    int recompute;        /* 1: run every selected task; 0: only those not done */
    char fingerprint[24]; /* of this config (fingerprint.h) */
    int64_t file_tile[3]; /* tile of an existing output ([0,0,0]: a new file) */
    int64_t file_ntiles;  /* tiles per timepoint of an existing output */
    unsigned char *done;  /* its task marks [ntp * file_ntiles], or NULL */
    lapse_lock_t lock;    /* rank 0: the output's writer lock */
    int nout;
    lapse_dset_spec_t out[LAPSE_MAX_STEPS + 1];
    int out_step[LAPSE_MAX_STEPS + 1];
} job_t;

typedef struct {
    MPI_Comm world;
    int rank, nranks, local_rank;
    char host[64];
} ranks_t;

/* ------------------------------------------------------------------ helpers */

/* Collective: all ranks agree on one status, the same everywhere (so that what they write
 * together, like a run's status, is identical). A failure outranks a bad config, which
 * outranks an interruption, which outranks success. */
static lapse_status_t agree(MPI_Comm comm, lapse_status_t st)
{
    int sev = st == LAPSE_OK ? 0 : st == LAPSE_EINTERRUPTED ? 1 : lapse_exit_code(st) == 2 ? 2 : 3;
    int key = sev * 64 + (int)st, worst = key;
    if (MPI_Allreduce(&key, &worst, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
        return LAPSE_EMPI;
    return (lapse_status_t)(worst % 64);
}

/* Read a whole file into a NUL-terminated malloc'ed buffer. */
static lapse_status_t read_file(const char *path, char **text, size_t *len)
{
    lapse_status_t st = LAPSE_OK;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: cannot open config file: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0)
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: cannot read config file", path);
    long n = ftell(f);
    if (n < 0 || n > 16L * 1024 * 1024)
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: config file too large or unreadable", path);
    rewind(f);
    buf = malloc((size_t)n + 1);
    LAPSE_ALLOC(buf);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        LAPSE_FAIL(LAPSE_ECONFIG, "%s: short read of config file", path);
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

/* Same file? (both exist and have the same device and inode) */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ------------------------------------------------------------------ phase 1+2: the job */

/* Every rank: config text from rank 0, parsed locally. */
static lapse_status_t load_config(const ranks_t *r, const char *path, lapse_config_t *cfg)
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

/* Output dataset specs (chunks filled in later, from the plan). */
static void make_specs(job_t *job)
{
    const lapse_config_t *cfg = &job->cfg;
    int nout = lapse_pipeline_noutputs(cfg->steps, cfg->nsteps);
    for (int k = 0; k < nout; k++) {
        lapse_dset_spec_t *s = &job->out[k];
        int step;
        lapse_dtype_t dt;
        lapse_pipeline_output_info(cfg->steps, cfg->nsteps, job->in.dtype, cfg->output_dtype, k,
                                   &step, &dt);
        memset(s, 0, sizeof *s);
        snprintf(s->path, sizeof s->path, "%s",
                 k == nout - 1 ? cfg->output_dataset : cfg->steps[step].save);
        int flat = job->in.ndims == 3 || (job->projection >= 0 && step >= job->projection);
        s->ndims = flat ? 3 : 4;
        s->dims[0] = job->in.ntp;
        if (flat) {
            s->dims[1] = job->in.shape[1];
            s->dims[2] = job->in.shape[2];
        } else {
            for (int a = 0; a < 3; a++)
                s->dims[1 + a] = job->in.shape[a];
        }
        s->dtype = dt;
        job->out_step[k] = step;
    }
    job->nout = nout;
}

/* Rank 0: re-report the recorded output problem at output.file's position in the config. */
static lapse_status_t output_fail(job_t *job)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", lapse_errmsg());
    lapse_err_clear();
    return lapse_config_fail(&job->cfg, job->cfg.output_file_mark, "output.file", "%s", msg);
}

/* Rank 0: what to do with the output. A new file is created; an existing lapse output of the
 * same config is continued (only tasks not done run; the same command after an interruption
 * finishes the job); output.mode: update (or --timepoints on an existing output) rewrites the
 * selected timepoints, unless the last run was the same update and did not finish, which is
 * then continued; overwrite replaces the file. Anything else is refused before any write. */
#define OUTPUT_FAIL(...)                                                                           \
    do {                                                                                           \
        lapse_fail(LAPSE_ECONFIG, __VA_ARGS__);                                                    \
        st = output_fail(job);                                                                     \
        goto cleanup;                                                                              \
    } while (0)

static lapse_status_t decide_output(job_t *job, int tp_override, int dry_run)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_config_t *cfg = &job->cfg;
    lapse_outstate_t os;
    char sel_hash[24];
    memset(&os, 0, sizeof os);

    job->lock.fd = -1;
    st = lapse_h5out_check(cfg->output_file, LAPSE_MODE_CREATE, job->out, job->nout);
    if (st != LAPSE_OK)
        return output_fail(job);
    if (!dry_run && (st = lapse_lock_acquire(cfg->output_file, &job->lock)) != LAPSE_OK)
        return output_fail(job);
    LAPSE_TRY(lapse_h5out_inspect(cfg->output_file, &os));
    lapse_tpsel_hash(job->tps, job->ntps, sel_hash, sizeof sel_hash);
    job->recompute = 1;
    if (!os.exists || cfg->mode == LAPSE_MODE_OVERWRITE) {
        if (!os.exists && cfg->mode == LAPSE_MODE_UPDATE)
            OUTPUT_FAIL("output %s does not exist; output.mode: update needs an "
                        "existing lapse output (use create)",
                        cfg->output_file);
        job->mode = os.exists ? LAPSE_MODE_OVERWRITE : LAPSE_MODE_CREATE;
        goto cleanup;
    }
    if (!os.is_lapse)
        OUTPUT_FAIL("output %s exists and is not a complete lapse output; set "
                    "output.mode: overwrite to replace it, or choose another file",
                    cfg->output_file);
    int updating = cfg->mode == LAPSE_MODE_UPDATE || (!cfg->mode_given && tp_override);
    if (!updating && strcmp(os.fingerprint, job->fingerprint) != 0)
        OUTPUT_FAIL("output %s was made by a different config (input, pipeline or "
                    "output settings differ); set output.mode: overwrite to replace "
                    "it, or update to rewrite the selected timepoints with this one",
                    cfg->output_file);
    int unfinished = os.last_run > 0 && strcmp(os.last_status, "done") != 0;
    if (!updating && unfinished && strcmp(os.last_fingerprint, job->fingerprint) != 0)
        OUTPUT_FAIL("the last run on %s (run %lld, %s) used another config and did not finish: "
                    "run that config again to finish it, or set output.mode: update to "
                    "recompute the selected timepoints with this one",
                    cfg->output_file, (long long)os.last_run, os.last_status);
    int same_unfinished = unfinished && strcmp(os.last_tps_hash, sel_hash) == 0 &&
                          strcmp(os.last_fingerprint, job->fingerprint) == 0;
    job->mode = LAPSE_MODE_UPDATE;
    job->recompute = updating && !same_unfinished;
    if (os.ntp != job->in.ntp)
        OUTPUT_FAIL("output %s has %lld timepoints but the input has %lld; set "
                    "output.mode: overwrite",
                    cfg->output_file, (long long)os.ntp, (long long)job->in.ntp);
    memcpy(job->file_tile, os.tile, sizeof job->file_tile);
    job->file_ntiles = os.ntiles;
    job->done = os.done;
    os.done = NULL;
    if ((st = lapse_h5out_check(cfg->output_file, LAPSE_MODE_UPDATE, job->out, job->nout)) !=
        LAPSE_OK)
        st = output_fail(job);
cleanup:
    lapse_outstate_free(&os);
    if (st != LAPSE_OK)
        lapse_lock_release(&job->lock);
    return st;
}

/* Rank 0 only: validate the config against the input and the output. */
static lapse_status_t validate(job_t *job, const char *tp_override, int dry_run)
{
    lapse_status_t st = LAPSE_OK;
    lapse_config_t *cfg = &job->cfg;
    char err[512];
    st = lapse_h5in_probe(cfg->input_file, cfg->input_dataset, &job->in);
    if (st != LAPSE_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", lapse_errmsg());
        lapse_err_clear();
        if (job->in.failed_part == 1)
            LAPSE_TRY(lapse_config_fail(cfg, cfg->input_file_mark, "input.file", "%s", msg));
        LAPSE_TRY(lapse_config_fail(cfg, cfg->input_dataset_mark, "input.dataset", "%s", msg));
    }
    const char *sel = tp_override ? tp_override : cfg->timepoints;
    if (lapse_tpsel_parse(sel, job->in.ntp, &job->tps, &job->ntps, err, sizeof err) != 0) {
        if (tp_override)
            LAPSE_FAIL(LAPSE_EUSAGE, "--timepoints: %s", err);
        LAPSE_TRY(lapse_config_fail(cfg, cfg->timepoints_mark, "timepoints", "%s", err));
    }
    if (job->ntps == 0)
        LAPSE_TRY(
            lapse_config_fail(cfg, cfg->timepoints_mark, "timepoints", "selects no timepoint"));
    if (!cfg->halo_auto)
        for (int a = 0; a < 3; a++)
            if (cfg->halo[a] < job->reach[a] && !(a == 0 && job->projection >= 0))
                LAPSE_TRY(lapse_config_fail(
                    cfg, cfg->halo_mark, "tiles.halo",
                    "halo [%lld, %lld, %lld] is smaller than the pipeline's reach [%lld, %lld, "
                    "%lld]: tiled results would differ from untiled ones (use halo: auto)",
                    (long long)cfg->halo[0], (long long)cfg->halo[1], (long long)cfg->halo[2],
                    (long long)job->reach[0], (long long)job->reach[1], (long long)job->reach[2]));
    if (same_file(cfg->input_file, cfg->output_file))
        LAPSE_TRY(lapse_config_fail(cfg, cfg->output_file_mark, "output.file",
                                    "the output file is the input file"));
    make_specs(job);
    lapse_fingerprint(cfg, &job->in, job->fingerprint, sizeof job->fingerprint);
    LAPSE_TRY(decide_output(job, tp_override != NULL, dry_run));
cleanup:
    return st;
}

/* Phases 1 and 2 on every rank: a validated job, identical everywhere. */
static lapse_status_t prepare(const ranks_t *r, const lapse_run_opts_t *o, job_t *job)
{
    lapse_status_t st = LAPSE_OK;
    memset(job, 0, sizeof *job);
    job->lock.fd = -1;
    st = load_config(r, o->config, &job->cfg);
    if (agree(r->world, st) != LAPSE_OK)
        return st != LAPSE_OK ? st : LAPSE_ECONFIG; /* parse is deterministic: all failed */
    lapse_pipeline_reach(job->cfg.steps, job->cfg.nsteps, job->reach);
    job->projection = lapse_pipeline_projection(job->cfg.steps, job->cfg.nsteps);
    if (r->rank == 0)
        st = validate(job, o->timepoints, o->dry_run);
    int verdict = (int)st;
    LAPSE_MPI(MPI_Bcast(&verdict, 1, MPI_INT, 0, r->world));
    if (verdict != LAPSE_OK) {
        st = (lapse_status_t)verdict;
        goto cleanup;
    }
    LAPSE_MPI(MPI_Bcast(&job->in, (int)sizeof job->in, MPI_BYTE, 0, r->world));
    long long facts[6] = {job->mode,         job->recompute,    job->file_tile[0],
                          job->file_tile[1], job->file_tile[2], job->file_ntiles};
    LAPSE_MPI(MPI_Bcast(facts, 6, MPI_LONG_LONG, 0, r->world));
    job->mode = (lapse_mode_t)facts[0];
    job->recompute = (int)facts[1];
    for (int a = 0; a < 3; a++)
        job->file_tile[a] = facts[2 + a];
    job->file_ntiles = facts[5];
    LAPSE_MPI(MPI_Bcast(job->fingerprint, sizeof job->fingerprint, MPI_CHAR, 0, r->world));
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
    if (r->rank != 0) {
        char err[512];
        const char *sel = o->timepoints ? o->timepoints : job->cfg.timepoints;
        if (lapse_tpsel_parse(sel, job->in.ntp, &job->tps, &job->ntps, err, sizeof err) != 0)
            LAPSE_FAIL(LAPSE_ERUNTIME, "timepoints differ between ranks: %s", err);
        make_specs(job);
    }
    for (int a = 0; a < 3; a++)
        job->halo[a] = job->cfg.halo_auto ? job->reach[a] : job->cfg.halo[a];
cleanup:
    if (verdict == LAPSE_OK) /* a failure after the verdict may be one rank's alone */
        st = agree(r->world, st);
    return st;
}

static void job_free(job_t *job)
{
    lapse_lock_release(&job->lock);
    free(job->done);
    free(job->tps);
    lapse_config_free(&job->cfg);
}

/* ------------------------------------------------------------------ phases 3+4: device, plan */

typedef struct {
    const job_t *job;
} cost_ctx_t;

static unsigned long long task_cost(const void *ctx, long long read_voxels, long long core_voxels)
{
    const job_t *job = ((const cost_ctx_t *)ctx)->job;
    return lapse_pipeline_device_bytes(job->cfg.steps, job->cfg.nsteps, job->in.dtype,
                                       job->cfg.output_dtype, read_voxels, core_voxels);
}

/* Fraction of the smallest device's memory that tiles: auto may use. */
#define AUTO_TILE_MEM_FRACTION 0.5

static lapse_status_t make_plan(const ranks_t *r, const job_t *job, const lapse_cl_choice_t *dev,
                                lapse_plan_t *plan)
{
    lapse_status_t st = LAPSE_OK;
    int64_t tile[3];
    const lapse_config_t *cfg = &job->cfg;
    int keep_z = job->projection >= 0;
    unsigned long long mine[2] = {dev->global_mem, dev->max_alloc}, least[2];
    const char *cap = getenv("LAPSE_DEVICE_MEM_LIMIT"); /* bytes; for tests and shared GPUs */
    if (cap && strtoull(cap, NULL, 10) > 0) {
        unsigned long long c = strtoull(cap, NULL, 10);
        mine[0] = mine[0] < c ? mine[0] : c;
        mine[1] = mine[1] < c ? mine[1] : c;
    }
    LAPSE_MPI(MPI_Allreduce(mine, least, 2, MPI_UNSIGNED_LONG_LONG, MPI_MIN, r->world));
    /* Output chunks are tiles, and HDF5 chunks must stay under 4 GiB: cap the float32 buffer
     * of a read box (which holds the core) at that size too. */
    if (least[1] > (4ULL << 30) - 1)
        least[1] = (4ULL << 30) - 1;
    cost_ctx_t ctx = {job};
    if (job->file_tile[0] > 0) {
        /* An existing output keeps its tiling: its task marks are per tile. */
        int64_t want[3];
        for (int a = 0; a < 3; a++)
            want[a] = cfg->tile[a] < job->in.shape[a] ? cfg->tile[a] : job->in.shape[a];
        int differs = want[1] != job->file_tile[1] || want[2] != job->file_tile[2] ||
                      (!keep_z && want[0] != job->file_tile[0]);
        if (!cfg->tile_auto && differs)
            LAPSE_TRY(lapse_config_fail(
                cfg, cfg->tile_mark, "tiles.shape",
                "the output was written with tiles [%lld, %lld, %lld]; use that shape (or tiles: "
                "auto) to continue it, or output.mode: overwrite",
                (long long)job->file_tile[0], (long long)job->file_tile[1],
                (long long)job->file_tile[2]));
        memcpy(tile, job->file_tile, sizeof tile);
    } else if (cfg->tile_auto) {
        LAPSE_TRY(
            lapse_plan_auto_tile(job->in.shape, job->halo, keep_z,
                                 (unsigned long long)(AUTO_TILE_MEM_FRACTION * (double)least[0]),
                                 least[1], task_cost, &ctx, tile));
    } else {
        for (int a = 0; a < 3; a++)
            tile[a] = cfg->tile[a];
    }
    if (keep_z)
        tile[0] = job->in.shape[0]; /* a z-projection needs whole z columns in one task */
    LAPSE_TRY(lapse_plan_make(job->in.shape, tile, job->halo, job->tps, job->ntps, plan));
    unsigned long long need = task_cost(&ctx, plan->max_read_voxels, plan->max_core_voxels);
    if (need > least[0] || (unsigned long long)plan->max_read_voxels * 4ULL > least[1])
        LAPSE_TRY(lapse_config_fail(
            cfg, cfg->tile_mark, "tiles.shape",
            "tiles [%lld, %lld, %lld] need %.1f MiB of device memory per task (largest buffer "
            "%.1f MiB), but the device has %.1f MiB (largest buffer %.1f MiB): use a smaller "
            "tiles.shape or tiles: auto",
            (long long)plan->tile[0], (long long)plan->tile[1], (long long)plan->tile[2],
            (double)need / 1048576.0, (double)plan->max_read_voxels * 4.0 / 1048576.0,
            (double)least[0] / 1048576.0, (double)least[1] / 1048576.0));
    if (job->file_ntiles > 0 && plan->ntiles != job->file_ntiles)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: its task state has %lld tiles per timepoint, the plan %lld",
                   cfg->output_file, (long long)job->file_ntiles, (long long)plan->ntiles);
    if (job->done && !job->recompute)
        LAPSE_TRY(lapse_plan_select(plan, job->done));
cleanup:
    return st;
}

static void print_plan(const job_t *job, const lapse_plan_t *p, FILE *f)
{
    const lapse_config_t *cfg = &job->cfg;
    unsigned long long bytes =
        lapse_pipeline_device_bytes(cfg->steps, cfg->nsteps, job->in.dtype, cfg->output_dtype,
                                    p->max_read_voxels, p->max_core_voxels);
    char sel[256];
    lapse_tpsel_format(p->tps, p->ntps, sel, sizeof sel);
    fprintf(f, "input      %s:%s  [t=%lld, z=%lld, y=%lld, x=%lld] %s\n", cfg->input_file,
            cfg->input_dataset, (long long)job->in.ntp, (long long)p->shape[0],
            (long long)p->shape[1], (long long)p->shape[2], lapse_dtype_name(job->in.dtype));
    fprintf(f, "timepoints %s (%lld)\n", sel, (long long)p->ntps);
    fprintf(f, "tile       [%lld, %lld, %lld]%s  grid [%lld, %lld, %lld] = %lld tiles/timepoint\n",
            (long long)p->tile[0], (long long)p->tile[1], (long long)p->tile[2],
            cfg->tile_auto ? " (auto)" : "", (long long)p->grid[0], (long long)p->grid[1],
            (long long)p->grid[2], (long long)p->ntiles);
    fprintf(f, "halo       [%lld, %lld, %lld]%s  pipeline reach [%lld, %lld, %lld]\n",
            (long long)p->halo[0], (long long)p->halo[1], (long long)p->halo[2],
            cfg->halo_auto ? " (auto)" : "", (long long)job->reach[0], (long long)job->reach[1],
            (long long)job->reach[2]);
    fprintf(f, "device mem %.1f MiB per task (largest read box %lld voxels, core %lld voxels)\n",
            (double)bytes / 1048576.0, (long long)p->max_read_voxels,
            (long long)p->max_core_voxels);
    fprintf(f, "output     %s (mode %s)\n", cfg->output_file,
            job->mode == LAPSE_MODE_CREATE   ? "create"
            : job->mode == LAPSE_MODE_UPDATE ? "update"
                                             : "overwrite");
    for (int k = 0; k < job->nout; k++) {
        const lapse_dset_spec_t *s = &job->out[k];
        fprintf(f, "  %-20s %s [", s->path, lapse_dtype_name(s->dtype));
        for (int d = 0; d < s->ndims; d++)
            fprintf(f, "%s%lld", d ? ", " : "", (long long)s->dims[d]);
        fprintf(f, "]  from step %d (%s)\n", job->out_step[k],
                cfg->steps[job->out_step[k]].op->name);
    }
    fprintf(f, "tasks      %lld\n", (long long)p->ntasks);
    fprintf(f, "%8s %6s %6s  %-26s %-26s\n", "task", "t", "tile", "core offset/shape (z,y,x)",
            "read offset/shape (z,y,x)");
    const int64_t max_rows = 2000;
    for (int64_t i = 0; i < p->ntasks && i < max_rows; i++) {
        lapse_task_t t;
        lapse_plan_task(p, i, &t);
        char core[64], rd[64];
        snprintf(core, sizeof core, "%lld,%lld,%lld/%lld,%lld,%lld", (long long)t.core.off[0],
                 (long long)t.core.off[1], (long long)t.core.off[2], (long long)t.core.dim[0],
                 (long long)t.core.dim[1], (long long)t.core.dim[2]);
        snprintf(rd, sizeof rd, "%lld,%lld,%lld/%lld,%lld,%lld", (long long)t.read.off[0],
                 (long long)t.read.off[1], (long long)t.read.off[2], (long long)t.read.dim[0],
                 (long long)t.read.dim[1], (long long)t.read.dim[2]);
        fprintf(f, "%8lld %6lld %6lld  %-26s %-26s\n", (long long)t.id, (long long)t.t,
                (long long)t.tile, core, rd);
    }
    if (p->ntasks > max_rows)
        fprintf(f, "... %lld more tasks\n", (long long)(p->ntasks - max_rows));
}

/* ------------------------------------------------------------------ phase 5: the tasks */

typedef struct {
    const ranks_t *r;
    const job_t *job;
    const lapse_plan_t *plan;
    const lapse_cl_t *cl;
    lapse_h5in_t *in;
    lapse_h5out_t *out;
    lapse_pipeline_t *pipe;
    lapse_scheduler_t *sched;
    int64_t run_id;
    lapse_task_row_t *rows;
    int64_t nrows, caprows;
} worker_t;

/* Run one task: read, pipeline, write; fills row (also on failure). */
static lapse_status_t run_task(worker_t *w, const lapse_task_t *t, lapse_task_row_t *row)
{
    lapse_status_t st = LAPSE_OK;
    const job_t *job = w->job;
    double t0 = MPI_Wtime();
    memset(row, 0, sizeof *row);
    row->run_id = w->run_id;
    row->task_id = t->id;
    row->timepoint = t->t;
    row->tile = t->tile;
    for (int a = 0; a < 3; a++) {
        row->core_offset[a] = t->core.off[a];
        row->core_shape[a] = t->core.dim[a];
    }
    row->rank = w->r->rank;
    snprintf(row->host, sizeof row->host, "%s", w->r->host);
    snprintf(row->device, sizeof row->device, "%s", w->cl->dev.name);
    row->status = 1;
    lapse_err_context("rank %d, task %lld (t=%lld, tile %lld)", w->r->rank, (long long)t->id,
                      (long long)t->t, (long long)t->tile);

    LAPSE_TRY(lapse_h5in_read(w->in, t->t, &t->read, lapse_pipeline_input(w->pipe)));
    double t1 = MPI_Wtime();
    row->t_read = t1 - t0;
    row->bytes_in = lapse_box_voxels(&t->read) * (int64_t)lapse_dtype_size(job->in.dtype);
    if (stop_signal)
        LAPSE_TRY(interrupted());

    lapse_box_t core_rel = t->core;
    for (int a = 0; a < 3; a++)
        core_rel.off[a] = t->core.off[a] - t->read.off[a];
    lapse_pipe_times_t pt = {0, 0, 0};
    LAPSE_TRY(lapse_pipeline_run(w->pipe, t->read.dim, &core_rel, &pt));
    row->t_upload = pt.upload;
    row->t_compute = pt.compute;
    row->t_download = pt.download;
    if (stop_signal)
        LAPSE_TRY(interrupted());

    double t2 = MPI_Wtime();
    for (int k = 0; k < job->nout; k++) {
        lapse_box_t box = t->core;
        if (job->out[k].ndims == 3) {
            box.off[0] = 0;
            box.dim[0] = 1;
        }
        LAPSE_TRY(lapse_h5out_write(w->out, k, t->t, &box, lapse_pipeline_output(w->pipe, k)));
        row->bytes_out += lapse_box_voxels(&box) * (int64_t)lapse_dtype_size(job->out[k].dtype);
    }
    lapse_fault_point("before-mark");
    /* The data writes have returned (raw data goes straight to the file), so the mark may
     * follow: a done mark never exists without its data. */
    LAPSE_TRY(lapse_h5out_mark_done(w->out, t->t, t->tile));
    row->t_write = MPI_Wtime() - t2;
    row->status = 0;
    lapse_fault_point("after-task");
cleanup:
    if (st == LAPSE_EINTERRUPTED)
        row->status = 2;
    row->t_total = MPI_Wtime() - t0;
    return st;
}

static lapse_status_t push_row(worker_t *w, const lapse_task_row_t *row)
{
    if (w->nrows == w->caprows) {
        int64_t cap = w->caprows ? 2 * w->caprows : 64;
        lapse_task_row_t *n = realloc(w->rows, (size_t)cap * sizeof *n);
        if (!n)
            return lapse_fail(LAPSE_ENOMEM, "out of memory for task rows");
        w->rows = n;
        w->caprows = cap;
    }
    w->rows[w->nrows++] = *row;
    return LAPSE_OK;
}

/* Rank 0: report progress from the shared counters. */
static void report(worker_t *w, lapse_progress_t *pg, int force)
{
    int64_t done = 0, vox = 0, fin = 0;
    if (lapse_sched_counts(w->sched, &done, &vox, &fin) == LAPSE_OK)
        lapse_progress_update(pg, done, vox, MPI_Wtime(), force);
}

/* Take and run tasks until none is left; then (rank 0) wait for the others, reporting. */
static lapse_status_t work(worker_t *w)
{
    lapse_status_t st = LAPSE_OK;
    lapse_progress_t pg;
    if (w->r->rank == 0)
        lapse_progress_init(&pg, stderr, w->plan->ntasks, MPI_Wtime());
    for (;;) {
        int64_t i;
        int have = 0;
        if (stop_signal) {
            st = interrupted();
            lapse_sched_abort(w->sched);
            goto cleanup;
        }
        LAPSE_TRY(lapse_sched_next(w->sched, &i, &have));
        if (!have)
            break;
        lapse_task_t t;
        lapse_task_row_t row;
        lapse_plan_task(w->plan, i, &t);
        lapse_status_t tst = run_task(w, &t, &row);
        lapse_status_t pst = push_row(w, &row);
        if (pst != LAPSE_OK && tst == LAPSE_OK)
            tst = pst;
        if (tst != LAPSE_OK) {
            st = tst;
            lapse_sched_abort(w->sched);
            goto cleanup;
        }
        LAPSE_TRY(lapse_sched_done(w->sched, lapse_box_voxels(&t.core)));
        if (w->r->rank == 0)
            report(w, &pg, 0);
    }
cleanup:
    lapse_err_context("rank %d", w->r->rank);
    if (st != LAPSE_OK && (st != LAPSE_EINTERRUPTED || w->r->rank == 0))
        lapse_err_print(st);
    lapse_status_t fst = lapse_sched_finish(w->sched);
    if (st == LAPSE_OK)
        st = fst;
    if (w->r->rank == 0) {
        int64_t done = 0, vox = 0, fin = 0;
        while (lapse_sched_counts(w->sched, &done, &vox, &fin) == LAPSE_OK && fin < w->r->nranks) {
            lapse_progress_update(&pg, done, vox, MPI_Wtime(), 0);
            nanosleep(&(struct timespec){0, 20000000L}, NULL);
        }
        lapse_progress_update(&pg, done, vox, MPI_Wtime(), 1);
        lapse_progress_finish(&pg);
    }
    return st;
}

/* ------------------------------------------------------------------ phase 3: device */

static lapse_status_t open_device(const ranks_t *r, const lapse_config_t *cfg, lapse_cl_t **cl)
{
    lapse_status_t st = LAPSE_OK;
    lapse_cl_choice_t dev;
    LAPSE_TRY(lapse_cl_choose(cfg->devices, cfg->device_index, r->local_rank, &dev));
    LAPSE_TRY(lapse_cl_open(&dev, cl));
    printf("lapse: rank %d on %s (local rank %d) uses OpenCL device %d of %d: %s [%s]\n", r->rank,
           r->host, r->local_rank, dev.index, dev.count, dev.name, dev.platform_name);
    fflush(stdout);
cleanup:
    return st;
}

static lapse_status_t init_ranks(ranks_t *r)
{
    lapse_status_t st = LAPSE_OK;
    MPI_Comm node = MPI_COMM_NULL;
    r->world = MPI_COMM_WORLD;
    LAPSE_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    LAPSE_MPI(MPI_Comm_rank(r->world, &r->rank));
    LAPSE_MPI(MPI_Comm_size(r->world, &r->nranks));
    LAPSE_MPI(MPI_Comm_split_type(r->world, MPI_COMM_TYPE_SHARED, r->rank, MPI_INFO_NULL, &node));
    LAPSE_MPI(MPI_Comm_rank(node, &r->local_rank));
    if (gethostname(r->host, sizeof r->host) != 0)
        snprintf(r->host, sizeof r->host, "unknown");
    r->host[sizeof r->host - 1] = '\0';
    lapse_err_context("rank %d", r->rank);
cleanup:
    if (node != MPI_COMM_NULL)
        MPI_Comm_free(&node);
    return st;
}

/* ------------------------------------------------------------------ phases 5+6 */

/* Collective. After an HDF5 or I/O failure on any rank (a full disk, a lost file system) the
 * output's collective HDF5 calls are no longer safe: they can hang or crash when ranks disagree.
 * Finished tasks are already marked in the file (raw-data writes), so end the job now with exit
 * code 1, and say how to continue. Returns only when no rank had such a failure. */
static void abort_on_io_failure(const ranks_t *r, lapse_status_t st, const char *file)
{
    int mine = st == LAPSE_EH5 || st == LAPSE_EIO, any = mine;
    if (MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, r->world) != MPI_SUCCESS)
        any = 1;
    if (!any)
        return;
    if (r->rank == 0) {
        /* MPI-IO often reports a full disk only as "input/output error": say it plainly. */
        char dir[4096];
        struct statvfs vfs;
        snprintf(dir, sizeof dir, "%s", file);
        char *slash = strrchr(dir, '/');
        if (slash)
            *(slash == dir ? slash + 1 : slash) = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        if (statvfs(dir, &vfs) == 0 &&
            (unsigned long long)vfs.f_bavail * vfs.f_frsize < (1ULL << 20))
            fprintf(stderr, "lapse: the file system is full: %llu bytes free in %s\n",
                    (unsigned long long)vfs.f_bavail * vfs.f_frsize, dir);
        fprintf(stderr,
                "lapse: writing %s failed (see above); tasks finished before the failure are "
                "kept: fix the cause (e.g. free disk space) and run the same command to continue\n",
                file);
    }
    fflush(stderr);
    MPI_Abort(r->world, 1);
}

/* The facts of this run written to /lapse/runs/<id>, with the text buffers info points to. */
typedef struct {
    lapse_run_info_t info;
    char sel[1024];    /* info.timepoints */
    char tps_hash[24]; /* info.tps_hash */
} run_record_t;

/* Local. Chunk every output dataset as [1, tile] (z dropped for a 3-D dataset). */
static void set_chunks(job_t *job, const lapse_plan_t *plan)
{
    for (int k = 0; k < job->nout; k++) {
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

/* Collective. Open the input (w->in) and build the pipeline on device cl (w->pipe) on every
 * rank; a rank that fails prints its own message. Returns the status agreed by all ranks; on
 * failure what was opened stays in *w for close_work. */
static lapse_status_t open_inputs(worker_t *w, lapse_cl_t *cl)
{
    const lapse_config_t *cfg = &w->job->cfg;
    lapse_status_t st = lapse_h5in_open(cfg->input_file, cfg->input_dataset, &w->in);
    if (st == LAPSE_OK)
        st = lapse_pipeline_create(cl, cfg->steps, cfg->nsteps, w->job->in.dtype, cfg->output_dtype,
                                   w->plan->max_read_voxels, w->plan->max_core_voxels, &w->pipe);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    return agree(w->r->world, st);
}

/* Collective. Unless a stop signal arrived (then every rank returns LAPSE_EINTERRUPTED, printed
 * by rank 0, and the output is not touched), open or create the output (w->out) in job->mode
 * with the plan's task state. A failure is printed by each rank that has a message; an HDF5 or
 * I/O failure on any rank ends the job here (abort_on_io_failure). When any rank failed, every
 * rank returns a failure; w->out is set only on success. */
static lapse_status_t open_output(worker_t *w)
{
    const ranks_t *r = w->r;
    const job_t *job = w->job;
    const lapse_config_t *cfg = &job->cfg;
    lapse_status_t st;
    lapse_state_spec_t state;

    memset(&state, 0, sizeof state);
    memcpy(state.tile, w->plan->tile, sizeof state.tile);
    state.ntiles = w->plan->ntiles;
    snprintf(state.fingerprint, sizeof state.fingerprint, "%s", job->fingerprint);
    /* A signal before the output is touched: stop here (an overwrite would replace the file). */
    if ((st = agree(r->world, stop_signal ? interrupted() : LAPSE_OK)) != LAPSE_OK) {
        if (r->rank == 0)
            lapse_err_print(st);
        return st;
    }
    st = lapse_h5out_open(r->world, cfg->output_file, job->mode, job->out, job->nout, cfg, &state,
                          &w->out);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    abort_on_io_failure(r, st, cfg->output_file);
    return st;
}

/* Collective, on an open output. Clear the marks of the selected timepoints when an update
 * recomputes them, take the next run id (w->run_id), record the run as "running" in
 * /lapse/runs/<id> (start stamp from rank 0) and flush, create the scheduler (w->sched) and
 * (rank 0) announce the run. rec is filled for finish_run. Returns this rank's first failure
 * (not agreed between ranks); the caller then goes straight to close_work. */
static lapse_status_t start_run(worker_t *w, run_record_t *rec)
{
    lapse_status_t st = LAPSE_OK;
    const ranks_t *r = w->r;
    const job_t *job = w->job;
    const lapse_plan_t *plan = w->plan;
    const lapse_config_t *cfg = &job->cfg;
    lapse_run_info_t *info = &rec->info;

    if (job->mode == LAPSE_MODE_UPDATE && job->recompute)
        LAPSE_TRY(lapse_h5out_reset_done(w->out, plan->tps, plan->ntps));
    LAPSE_TRY(lapse_h5out_next_run_id(w->out, &w->run_id));
    memset(info, 0, sizeof *info);
    info->run_id = w->run_id;
    if (r->rank == 0)
        lapse_iso_now(info->start, sizeof info->start);
    LAPSE_MPI(MPI_Bcast(info->start, sizeof info->start, MPI_CHAR, 0, r->world));
    lapse_tpsel_format(plan->tps, plan->ntps, rec->sel, sizeof rec->sel);
    info->config_text = cfg->text;
    info->config_path = cfg->path;
    info->input_file = cfg->input_file;
    info->input_dataset = cfg->input_dataset;
    info->timepoints = rec->sel;
    info->nranks = r->nranks;
    info->status = "running";
    info->fingerprint = job->fingerprint;
    lapse_tpsel_hash(plan->tps, plan->ntps, rec->tps_hash, sizeof rec->tps_hash);
    info->tps_hash = rec->tps_hash;
    LAPSE_TRY(lapse_h5out_put_run(w->out, info));
    LAPSE_TRY(lapse_h5out_flush(w->out));
    LAPSE_TRY(lapse_sched_create(r->world, cfg->sched, plan->ntasks, &w->sched));
    if (r->rank == 0) {
        printf("lapse: run %lld: %lld tasks (%lld timepoints x %lld tiles) on %d ranks, %s "
               "scheduling\n",
               (long long)w->run_id, (long long)plan->ntasks, (long long)plan->ntps,
               (long long)plan->ntiles, r->nranks,
               cfg->sched == LAPSE_SCHED_STATIC ? "static" : "dynamic");
        fflush(stdout);
    }
cleanup:
    return st;
}

/* Collective, after work() and agree(): st is the run's agreed status. Record what happened,
 * whatever it was: append every rank's task rows (done and failed) to /lapse/tasks, then set
 * the run's end stamp (from rank 0) and its final status ("done", "interrupted", "failed") in
 * /lapse/runs/<id>. An HDF5 or I/O failure of the append on any rank ends the job
 * (abort_on_io_failure). Returns st, or when st is LAPSE_OK the first recording failure. */
static lapse_status_t finish_run(worker_t *w, run_record_t *rec, lapse_status_t st)
{
    const ranks_t *r = w->r;
    const char *file = w->job->cfg.output_file;
    lapse_run_info_t *info = &rec->info;

    lapse_err_context("rank %d", r->rank);
    lapse_status_t rst = lapse_h5out_append_rows(w->out, w->rows, w->nrows);
    if (rst != LAPSE_OK)
        lapse_err_print(rst);
    abort_on_io_failure(r, rst, file);
    if (r->rank == 0)
        lapse_iso_now(info->end, sizeof info->end);
    if (rst == LAPSE_OK)
        rst = agree(r->world,
                    MPI_Bcast(info->end, sizeof info->end, MPI_CHAR, 0, r->world) == MPI_SUCCESS
                        ? LAPSE_OK
                        : LAPSE_EMPI);
    info->status = st == LAPSE_OK ? "done" : st == LAPSE_EINTERRUPTED ? "interrupted" : "failed";
    if (rst == LAPSE_OK)
        rst = lapse_h5out_put_run(w->out, info);
    return st == LAPSE_OK ? rst : st;
}

/* Local (rank 0). Print the summary of a successful run that took el seconds. */
static void print_summary(const worker_t *w, double el)
{
    const lapse_plan_t *plan = w->plan;
    double vox = 0;
    for (int64_t i = 0; i < plan->ntasks; i++) {
        lapse_task_t t;
        lapse_plan_task(plan, i, &t);
        vox += (double)lapse_box_voxels(&t.core);
    }
    printf("lapse: run %lld done: %lld tasks in %.2f s, %.3g voxels/s; output: %s\n",
           (long long)w->run_id, (long long)plan->ntasks, el, el > 0 ? vox / el : 0.0,
           w->job->cfg.output_file);
    fflush(stdout);
}

/* Collective where w->sched or w->out is set (their destruction is). Release everything *w
 * holds; returns st, or when st is LAPSE_OK the first failure of the scheduler or output
 * close. */
static lapse_status_t close_work(worker_t *w, lapse_status_t st)
{
    if (w->sched) {
        lapse_status_t dst = lapse_sched_destroy(w->sched);
        if (st == LAPSE_OK)
            st = dst;
    }
    if (w->out) {
        lapse_status_t cst = lapse_h5out_close(w->out);
        if (st == LAPSE_OK)
            st = cst;
    }
    lapse_pipeline_destroy(w->pipe);
    lapse_h5in_close(w->in);
    free(w->rows);
    return st;
}

/* Collective. Phases 5+6 of a run: open the input and the output, record the run, run every
 * task of the plan (work), record the rows and the outcome, close. Every rank makes the same
 * collective calls in the same order; an HDF5 or I/O failure on any rank ends the job
 * (MPI_Abort) at the points marked by abort_on_io_failure. Returns the run's status. */
static lapse_status_t execute(const ranks_t *r, job_t *job, lapse_cl_t *cl, lapse_plan_t *plan)
{
    lapse_status_t st = LAPSE_OK, wst = LAPSE_OK;
    worker_t w = {.r = r, .job = job, .plan = plan, .cl = cl};
    run_record_t rec;

    set_chunks(job, plan);
    if ((st = open_inputs(&w, cl)) != LAPSE_OK)
        goto cleanup;
    if ((st = open_output(&w)) != LAPSE_OK)
        goto cleanup;
    if ((st = start_run(&w, &rec)) != LAPSE_OK)
        goto cleanup;
    double start = MPI_Wtime();

    wst = work(&w);
    abort_on_io_failure(r, wst, job->cfg.output_file);
    st = agree(r->world, wst);
    st = finish_run(&w, &rec, st);
    if (st == LAPSE_OK && r->rank == 0)
        print_summary(&w, MPI_Wtime() - start);
cleanup:
    st = close_work(&w, st);
    if (st != LAPSE_OK && wst == LAPSE_OK && lapse_errmsg()[0])
        lapse_err_print(st);
    return st;
}

int lapse_cmd_run(const lapse_run_opts_t *o)
{
    lapse_status_t st = LAPSE_OK;
    ranks_t r;
    job_t job;
    lapse_cl_t *cl = NULL;
    lapse_plan_t plan;
    memset(&plan, 0, sizeof plan);
    memset(&job, 0, sizeof job);

    st = init_ranks(&r);
    if (st == LAPSE_OK)
        st = install_signals();
    if (st != LAPSE_OK) {
        lapse_err_print(st);
        return lapse_exit_code(st);
    }
    st = prepare(&r, o, &job);
    if (st != LAPSE_OK) {
        lapse_err_context("%s", ""); /* config errors carry file:line:column instead */
        if (r.rank == 0)
            lapse_err_print(st);
        goto cleanup;
    }
    st = open_device(&r, &job.cfg, &cl);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    if ((st = agree(r.world, st)) != LAPSE_OK)
        goto cleanup;
    st = make_plan(&r, &job, &cl->dev, &plan);
    if (st != LAPSE_OK && r.rank == 0) {
        if (st == LAPSE_ECONFIG)
            lapse_err_context("%s", "");
        lapse_err_print(st);
    }
    if ((st = agree(r.world, st)) != LAPSE_OK)
        goto cleanup;
    if (o->dry_run) {
        if (r.rank == 0)
            print_plan(&job, &plan, stdout);
        goto cleanup;
    }
    if (plan.ntasks == 0) {
        if (r.rank == 0)
            printf("lapse: nothing to do: all %lld selected tasks of %s are done\n",
                   (long long)(plan.ntps * plan.ntiles), job.cfg.output_file);
        goto cleanup;
    }
    if (!job.recompute && job.done && r.rank == 0)
        printf("lapse: continuing %s: %lld of %lld selected tasks are done, %lld to run\n",
               job.cfg.output_file, (long long)(plan.ntps * plan.ntiles - plan.ntasks),
               (long long)(plan.ntps * plan.ntiles), (long long)plan.ntasks);
    st = execute(&r, &job, cl, &plan);
cleanup:
    lapse_plan_free(&plan);
    lapse_cl_close(cl);
    job_free(&job);
    /* Every rank returns the agreed exit code. */
    return lapse_exit_code(agree(MPI_COMM_WORLD, st));
}

int lapse_cmd_devices(const char *kind_name)
{
    lapse_status_t st = LAPSE_OK;
    ranks_t r;
    lapse_devkind_t kind;
    char line[512] = "";
    char *all = NULL;
    if (strcmp(kind_name, "gpu") == 0)
        kind = LAPSE_DEV_GPU;
    else if (strcmp(kind_name, "cpu") == 0)
        kind = LAPSE_DEV_CPU;
    else if (strcmp(kind_name, "any") == 0)
        kind = LAPSE_DEV_ANY;
    else {
        fprintf(stderr, "lapse devices: --kind must be gpu, cpu or any (got '%s')\n", kind_name);
        return 2;
    }
    LAPSE_TRY(init_ranks(&r));
    if (r.rank == 0)
        LAPSE_TRY(lapse_cl_list(stdout));
    lapse_cl_choice_t dev;
    lapse_status_t cst = lapse_cl_choose(kind, -1, r.local_rank, &dev);
    if (cst == LAPSE_OK)
        snprintf(line, sizeof line,
                 "rank %d on %s (local rank %d) would take %s device %d of %d: %s", r.rank, r.host,
                 r.local_rank, kind_name, dev.index, dev.count, dev.name);
    else
        snprintf(line, sizeof line, "rank %d on %s (local rank %d): %s", r.rank, r.host,
                 r.local_rank, lapse_errmsg());
    lapse_err_clear();
    if (r.rank == 0) {
        all = malloc((size_t)r.nranks * sizeof line);
        LAPSE_ALLOC(all);
    }
    LAPSE_MPI(MPI_Gather(line, sizeof line, MPI_CHAR, all, sizeof line, MPI_CHAR, 0, r.world));
    if (r.rank == 0) {
        printf("\nDevice per rank (devices: %s):\n", kind_name);
        for (int i = 0; i < r.nranks; i++)
            printf("  %s\n", all + (size_t)i * sizeof line);
    }
    st = agree(r.world, cst);
cleanup:
    free(all);
    if (st != LAPSE_OK && lapse_errmsg()[0])
        lapse_err_print(st);
    return lapse_exit_code(st);
}
