/*
 * run.c - the MPI driver of `lapse run` / `lapse plan` / `lapse devices`: the phases of a run
 * (run.h), each a call into src/exec/ (job.h: config and validation, sizing.h: the plan,
 * worker.h: the tasks, sched.h: their hand-out, report.h: what is printed).
 *
 * Collective phases end with lapse_agree(): every rank learns whether any rank failed, so all
 * ranks leave a phase together and no rank is left waiting in a collective call. Only rank 0
 * prints failures of checks it alone made; a rank that fails on its own (device, task) prints
 * its own message with its rank and task.
 */
#include "run.h"

#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "clrt.h"
#include "env.h"
#include "exec/job.h"
#include "exec/phases.h"
#include "exec/probe.h"
#include "exec/ranks.h"
#include "exec/report.h"
#include "exec/sched.h"
#include "exec/sizing.h"
#include "exec/worker.h"
#include "h5out.h"
#include "io/h5parts.h"
#include "io/bdv_xml.h"
#include "io/zarr_out.h"
#include "io/input_id.h"
#include "tpsel.h"

/* ------------------------------------------------------------------ phase 3: device */

/* The GPU list the job gave this process (CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES, Slurm's
 * SLURM_STEP_GPUS / SLURM_JOB_GPUS) into *name: the list, or NULL when none names a GPU. */
static const char *gpus_given(const char **name)
{
    static const char *const vars[] = {"CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
                                       "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && v[0] != '\0' && strcmp(v, "NoDevFiles") != 0 && strcmp(v, "-1") != 0) {
            *name = vars[i];
            return v;
        }
    }
    return NULL;
}

static lapse_status_t open_device(const lapse_ranks_t *r, const lapse_config_t *cfg,
                                  lapse_cl_t **cl, FILE *say)
{
    lapse_status_t st = LAPSE_OK;
    lapse_cl_choice_t dev;
    st = lapse_cl_choose(cfg->devices, cfg->device_index, r->local_rank, &dev);
    if (st == LAPSE_ECONFIG) { /* the config's devices.index names no device */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", lapse_errmsg());
        lapse_err_clear();
        st = lapse_config_fail(cfg, cfg->device_index_mark, "devices.index", "%s", msg);
    } else if (st == LAPSE_ENODEV) { /* the config's (or the default) kind: exit 2 */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", lapse_errmsg());
        lapse_err_clear();
        st = lapse_config_fail(cfg, cfg->devices_mark,
                               cfg->devices_mark.line > 0 ? "devices" : "devices (default gpu)",
                               "on %s: %s", r->host, msg);
    }
    if (st != LAPSE_OK)
        goto cleanup;
    LAPSE_TRY(lapse_cl_open(&dev, cl));
    fprintf(say, "lapse: rank %d on %s (local rank %d) uses OpenCL device %d of %d: %s [%s]%s%s\n",
            r->rank, r->host, r->local_rank, dev.index, dev.count, dev.name, dev.platform_name,
            dev.is_gpu ? ", " : "", dev.is_gpu ? dev.ident : ""); /* which physical GPU */
    const char *var = NULL, *gpus = gpus_given(&var);
    if (!dev.is_gpu && cfg->devices == LAPSE_DEV_ANY && gpus != NULL && r->local_rank == 0)
        fprintf(say,
                "lapse: warning: on %s, devices: any found no OpenCL GPU and uses the CPU, but the "
                "job gave this process GPUs (%s=%s): is the GPU's OpenCL driver registered "
                "(/etc/OpenCL/vendors)? `lapse devices --kind gpu` shows what OpenCL sees; "
                "`devices: gpu` refuses to run without one\n",
                r->host, var, gpus);
    fflush(say);
cleanup:
    return st;
}

/* ------------------------------------------------------------------ phases 5+6 */

/* Collective. After an HDF5 or I/O failure on any rank (a full disk, a lost file system) the
 * output's collective HDF5 calls are no longer safe: they can hang or crash when ranks disagree.
 * Finished tasks are already marked in the file (raw-data writes), so end the job now with exit
 * code 1, and say how to continue. Returns only when no rank had such a failure. A rank whose
 * own call failed ends the job at once, without waiting for the others: they may never leave
 * the collective HDF5 call in which it failed (H5Dset_extent of /lapse/tasks on a full disk
 * failed on rank 0 while rank 1 waited in its barrier for ever, and rank 0 here). */
static void abort_on_io_failure_at(const lapse_ranks_t *r, lapse_status_t st, const char *file,
                                   const char *advice)
{
    int mine = st == LAPSE_EH5 || st == LAPSE_EIO, any = mine;
    if (!mine && MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, r->world) != MPI_SUCCESS)
        any = 1;
    if (!any)
        return;
    if (mine || r->rank == 0) {
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
        fprintf(stderr, "lapse: writing %s failed (see above); %s\n", file, advice);
    }
    fflush(stderr);
    MPI_Abort(r->world, 1);
}

/* abort_on_io_failure_at during a run: the advice says that finished tasks are kept. */
static void abort_on_io_failure(const lapse_ranks_t *r, lapse_status_t st, const char *file)
{
    abort_on_io_failure_at(r, st, file,
                           "tasks finished before the failure are kept: fix the cause (e.g. free "
                           "disk space) and run the same command to continue");
}

/* lapse_h5out_on_fatal's handler during a run (ctx: the worker): a collective HDF5 call failed
 * on this rank while the others may still be inside it (a full disk seen by one rank's part
 * of a collective write; once in a dozen reruns on a full disk, rank 0's H5Dwrite failed while
 * rank 1 stayed in its own, and rank 0 then waited in the next agreement for ever). Any further
 * collective call could hang: print the failure and end the job now (exit 1). */
static void fatal_io(void *ctx, lapse_status_t st)
{
    const lapse_worker_t *w = ctx;
    lapse_err_print(st);
    abort_on_io_failure(w->r, LAPSE_EH5, w->job->cfg.output_file);
}

/* The facts of this run written to /lapse/runs/<id>, with the text buffers info points to. */
typedef struct {
    lapse_run_info_t info;
    char sel[1024];    /* info.timepoints */
    char tps_hash[24]; /* info.tps_hash */
    char id_end[96];   /* info.input_identity_end */
} run_record_t;

/* Collective. Unless a stop signal arrived (then every rank returns LAPSE_EINTERRUPTED, printed
 * by rank 0, and the output is not touched), open or create the output (w->out) in job->mode
 * with the plan's task state. A failure is printed by each rank that has a message; an HDF5 or
 * I/O failure on any rank ends the job here (abort_on_io_failure). When any rank failed, every
 * rank returns a failure; w->out is set only on success. */
static lapse_status_t open_output(lapse_worker_t *w)
{
    const lapse_ranks_t *r = w->r;
    const lapse_job_t *job = w->job;
    const lapse_config_t *cfg = &job->cfg;
    lapse_status_t st;
    lapse_state_spec_t state;

    memset(&state, 0, sizeof state);
    memcpy(state.tile, w->plan->tile, sizeof state.tile);
    state.ntiles = w->plan->ntiles;
    snprintf(state.fingerprint, sizeof state.fingerprint, "%s", job->fingerprint);
    snprintf(state.input_identity, sizeof state.input_identity, "%s", job->input_identity);
    state.grow_from = job->grow_from; /* an update that grows the output (exec/job.c) */
    const char *unit = "";
    lapse_voxel_size(cfg, &job->in, state.element_size_um, &unit);
    /* A signal before the output is touched: stop here (an overwrite would replace the file). */
    if ((st = lapse_agree(r->world, lapse_stop_requested() ? lapse_interrupted() : LAPSE_OK)) !=
        LAPSE_OK) {
        if (r->rank == 0)
            lapse_err_print(st);
        return st;
    }
    /* A new or replaced output, now with its chunks (from the plan): its datasets with their
     * edge chunks must fit the free space (job.c checked the data alone before the plan). */
    if (job->mode != LAPSE_MODE_UPDATE) {
        st = r->rank == 0 ? lapse_job_check_space(job) : LAPSE_OK;
        if (st != LAPSE_OK)
            lapse_err_print(st);
        if ((st = lapse_agree(r->world, st)) != LAPSE_OK)
            return st;
    }
    st = lapse_h5out_open(r->world, cfg->output_file, job->mode, job->out,
                          job->nout + job->nscratch, cfg, &state, &w->out);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    abort_on_io_failure_at(r, st, cfg->output_file,
                           job->mode == LAPSE_MODE_UPDATE
                               ? "tasks finished by earlier runs are kept: fix the cause (e.g. "
                                 "free disk space) and run the same command to continue"
                               : "no task has run yet: fix the cause (e.g. free disk space) and "
                                 "run the same command again");
    /* an output with parts replaced by one without: its parts are nobody's now */
    if (st == LAPSE_OK && r->rank == 0 && job->replaced_parts[0] && !cfg->output_parts &&
        lapse_parts_remove_replaced(cfg->output_file, job->replaced_parts) != LAPSE_OK) {
        fprintf(stderr, "lapse: warning: the replaced output's parts were not removed: %s\n",
                lapse_errmsg());
        lapse_err_clear();
    }
    if (cfg->output_format == LAPSE_FMT_ZARR) {
        /* no BigDataViewer XML: its datasets hold no data in this format; those of an earlier
         * HDF5 output of this name would show them as black images */
        int gone = 0;
        if (st == LAPSE_OK && r->rank == 0) {
            if (lapse_bdv_remove(cfg->output_file, &gone) != LAPSE_OK) {
                fprintf(stderr, "lapse: warning: %s\n", lapse_errmsg());
                lapse_err_clear();
            } else if (gone > 0) {
                fprintf(stderr,
                        "lapse: removed the BigDataViewer files of an earlier HDF5 output of %s "
                        "(in format: zarr its datasets hold no voxels; open the .zarr store)\n",
                        cfg->output_file);
            }
            fflush(stderr);
        }
        return st;
    }
    /* The BigDataViewer view of the output (io/bdv_xml.h): a convenience beside the results, so
     * a failure to write it is a warning, never the run's failure. */
    if (st == LAPSE_OK && r->rank == 0 &&
        lapse_bdv_write(cfg->output_file, job->out, job->nout, state.element_size_um, unit) !=
            LAPSE_OK) {
        fprintf(stderr, "lapse: warning: no BigDataViewer XML for %s: %s\n", cfg->output_file,
                lapse_errmsg());
        fflush(stderr);
        lapse_err_clear();
    } else if (st == LAPSE_OK && r->rank == 0 && job->mode != LAPSE_MODE_UPDATE &&
               (cfg->compression == LAPSE_COMP_BLOSC_LZ4 ||
                cfg->compression == LAPSE_COMP_BLOSC_ZSTD)) {
        /* only for a file this run made: a continued one keeps the filters it was made with
         * (and its first run said so) */
        printf("lapse: note: %s is Blosc-compressed (filter 32001), which Fiji's HDF5 reader "
               "(BigDataViewer's Open XML/HDF5) does not decode: to open it in Fiji, write "
               "output.compression: gzip (or none)\n",
               cfg->output_file);
        fflush(stdout);
    }
    return st;
}

/* Collective, on an open output with output.format: zarr: rank 0 (re)writes the store's
 * metadata (io/zarr_out.h) before any task writes a chunk, first clearing old chunks when the
 * HDF5 file was just made (fresh, rank 0's word); every rank returns the outcome (a failure
 * printed by rank 0). */
/* Collective, on a continued Zarr store (not fresh): the compression its arrays were made with
 * (the first result's .zarray, rank 0) replaces the config's in job, on every rank, with a note
 * when they differ: compression is not in the fingerprint, and a store's chunks are read with
 * its .zarray's compressor, so continuing with another would make every earlier chunk
 * unreadable (it did before 2026-12-05). */
static lapse_status_t zarr_keep_compression(lapse_worker_t *w, lapse_job_t *job)
{
    lapse_status_t st = LAPSE_OK;
    int v[4] = {0, (int)job->cfg.compression, job->cfg.compression_level, 0}; /* st, comp, ... */
    if (w->r->rank == 0) {
        lapse_comp_t comp = job->cfg.compression;
        int level = job->cfg.compression_level, found = 0;
        st = lapse_zarr_kept_compression(job->cfg.output_file, &job->out[0], &comp, &level, &found);
        if (st != LAPSE_OK)
            lapse_err_print(st);
        char root[4096];
        if (lapse_zarr_root(job->cfg.output_file, root, sizeof root) != 0)
            snprintf(root, sizeof root, "%s", job->cfg.output_file);
        if (st == LAPSE_OK && found &&
            (comp != job->cfg.compression ||
             (comp != LAPSE_COMP_NONE && level != job->cfg.compression_level)))
            printf("lapse: note: %s keeps the compression its arrays were made with (%s, level "
                   "%d), not output.compression's (%s): a continued store's chunks all share one "
                   "compressor; output.mode: overwrite makes it anew with the config's\n",
                   root, lapse_comp_name(comp), level, lapse_comp_name(job->cfg.compression));
        v[0] = (int)st;
        v[1] = (int)comp;
        v[2] = level;
    }
    if (MPI_Bcast(v, 4, MPI_INT, 0, w->r->world) != MPI_SUCCESS)
        return lapse_fail(LAPSE_EMPI, "rank %d: MPI_Bcast of the store's compression failed",
                          w->r->rank);
    job->cfg.compression = (lapse_comp_t)v[1];
    job->cfg.compression_level = v[2];
    return (lapse_status_t)v[0];
}

static lapse_status_t zarr_meta(lapse_worker_t *w, int fresh)
{
    const lapse_job_t *job = w->job;
    const lapse_config_t *cfg = &job->cfg;
    lapse_status_t st = LAPSE_OK;
    if (w->r->rank == 0) {
        double vox[3];
        const char *unit = "";
        lapse_voxel_size(cfg, &job->in, vox, &unit);
        st = lapse_zarr_create(cfg->output_file, job->out, job->nout, vox,
                               strcmp(unit, "pixel") == 0 ? "" : "micrometer", cfg->compression,
                               cfg->compression_level, fresh);
        if (st != LAPSE_OK)
            lapse_err_print(st);
    }
    return lapse_agree(w->r->world, st);
}

/* Collective: end one step of start_run with st, this rank's status of it. A rank that failed
 * prints its message; an HDF5 or I/O failure on any rank ends the job (abort_on_io_failure: the
 * output's collective calls are no longer safe); else every rank returns the agreed status, so
 * no rank enters the next collective call alone. */
static lapse_status_t start_step(lapse_worker_t *w, lapse_status_t st)
{
    if (st != LAPSE_OK)
        lapse_err_print(st);
    abort_on_io_failure(w->r, st, w->job->cfg.output_file);
    return lapse_agree(w->r->world, st);
}

/* Collective, on an open output. Clear the marks of the selected timepoints when an update
 * recomputes them, take the next run id (w->run_id), record the run as "running" in
 * /lapse/runs/<id> (start stamp from rank 0) and flush, create the scheduler (w->sched) and
 * (rank 0) announce the run. rec is filled for finish_run. Every step is agreed (start_step):
 * returns the same status on every rank, a failure already printed by the ranks that saw it;
 * the caller then goes straight to lapse_worker_close. */
static lapse_status_t start_run(lapse_worker_t *w, run_record_t *rec)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_ranks_t *r = w->r;
    const lapse_job_t *job = w->job;
    const lapse_plan_t *plan = w->plan;
    const lapse_config_t *cfg = &job->cfg;
    lapse_run_info_t *info = &rec->info;

    if (job->mode == LAPSE_MODE_UPDATE && job->recompute)
        LAPSE_TRY(start_step(w, lapse_h5out_reset_done(w->out, plan->tps, plan->ntps)));
    /* lost parts of an output.parts output (rank 0 knows them): made anew only now that their
     * marks are reset, so that an empty part is never marked done */
    LAPSE_TRY(start_step(
        w, r->rank == 0 ? lapse_job_remake_parts(job, lapse_h5out_parts_token(w->out)) : LAPSE_OK));
    st = lapse_fault_fail("start-run");
    if (st == LAPSE_OK)
        st = lapse_h5out_next_run_id(w->out, &w->run_id);
    LAPSE_TRY(start_step(w, st));
    memset(info, 0, sizeof *info);
    info->run_id = w->run_id;
    if (r->rank == 0)
        lapse_iso_now(info->start, sizeof info->start);
    LAPSE_TRY(start_step(w, MPI_Bcast(info->start, sizeof info->start, MPI_CHAR, 0, r->world) ==
                                    MPI_SUCCESS
                                ? LAPSE_OK
                                : lapse_fail(LAPSE_EMPI, "MPI_Bcast(run start) failed")));
    lapse_tpsel_format(plan->tps, plan->ntps, rec->sel, sizeof rec->sel);
    info->config_text = cfg->text;
    info->config_path = cfg->path;
    info->input_file = cfg->input_file;
    info->input_dataset = cfg->input_dataset;
    info->timepoints = rec->sel;
    info->nranks = r->nranks;
    info->status = LAPSE_RUN_RUNNING;
    info->fingerprint = job->fingerprint;
    lapse_tpsel_hash(plan->tps, plan->ntps, rec->tps_hash, sizeof rec->tps_hash);
    info->tps_hash = rec->tps_hash;
    info->input_identity = job->input_identity;
    info->input_identity_end = "";
    info->recompute = job->mode == LAPSE_MODE_UPDATE && job->recompute;
    st = lapse_h5out_put_run(w->out, info);
    if (st == LAPSE_OK)
        st = lapse_h5out_flush(w->out);
    LAPSE_TRY(start_step(w, st));
    /* the rounds of global steps go in waves of timepoints, which the deal evens out */
    const int64_t wave = lapse_phases_rounds(job, plan) ? lapse_phases_wave(plan, r->nranks) : 0;
    st = lapse_deal_make(plan, r->nranks, lapse_deal_choose(&job->in, plan, r->nranks), wave,
                         &w->deal);
    LAPSE_TRY(start_step(w, st));
    /* the first wave's tasks (lapse_worker_work makes the later waves' schedulers); groups (a
     * whole timepoint's tiles, or a block's), which dynamic steals together */
    st = lapse_sched_create(r->world, cfg->sched, w->deal.wave_end[0], w->deal.rank, w->deal.group,
                            &w->sched);
    LAPSE_TRY(start_step(w, st));
    if (r->rank == 0) {
        if (job->in.axes_assumed)
            fprintf(stderr, "lapse: warning: %s: %s\n", cfg->input_file,
                    LAPSE_AXES_NOTE(job->in.axes_assumed));
        if (job->config_differs)
            fprintf(stderr,
                    "lapse: note: %s holds results of another config (the one that made it or "
                    "its last run's); this update writes timepoints %s with this one and the "
                    "others keep their results (lapse info lists which run used which config)\n",
                    cfg->output_file, rec->sel);
        int64_t all = plan->ntps * plan->ntiles; /* the selection; fewer when continuing */
        char of[64] = "";
        if (plan->ntasks < all)
            snprintf(of, sizeof of, " of %lld", (long long)all);
        /* the kind that runs (rma may have fallen back to dynamic); rma hands out tasks in
         * order and keeps no shares */
        const lapse_sched_t kind = lapse_sched_kind(w->sched);
        char dealt[160] = "", cut[96] = "";
        if (w->deal.ncut > 0)
            snprintf(cut, sizeof cut, ", %lld cut into blocks of tiles to even out the ranks",
                     (long long)w->deal.ncut);
        if (w->deal.kind != LAPSE_DEAL_TASKS && r->nranks > 1 && kind != LAPSE_SCHED_RMA)
            snprintf(dealt, sizeof dealt, ", whole timepoints per rank%s%s", cut,
                     job->in.compressed_chunks ? " (compressed input)" : "");
        printf("lapse: run %lld: %lld%s task%s (%lld timepoint%s x %lld tile%s%s) on %d rank%s, "
               "%s scheduling%s\n",
               (long long)w->run_id, (long long)plan->ntasks, of, all == 1 ? "" : "s",
               (long long)plan->ntps, plan->ntps == 1 ? "" : "s", (long long)plan->ntiles,
               plan->ntiles == 1 ? "" : "s", plan->ntasks < all ? "; the others are done" : "",
               r->nranks, r->nranks == 1 ? "" : "s", lapse_sched_name(kind), dealt);
        fflush(stdout);
    }
cleanup:
    return st;
}

/* Collective, at a run's end: rank 0 takes the input's identity again; when it differs from the
 * one at the start, the input changed during the run: warn loudly, and mark the run record
 * (input_changed = 1; rec->info.input_identity_end set on every rank). */
static lapse_status_t check_input_end(lapse_worker_t *w, run_record_t *rec)
{
    const lapse_job_t *job = w->job;
    const lapse_config_t *cfg = &job->cfg;
    if (w->r->rank == 0) {
        /* of the timepoints the run had (as the start's): a file an acquisition adds to
         * input.files meanwhile is no change of what it read */
        if (lapse_input_identity_first(cfg->input_file, cfg->input_dataset, &job->in, job->in.ntp,
                                       rec->id_end, sizeof rec->id_end, NULL, 0) != LAPSE_OK) {
            snprintf(rec->id_end, sizeof rec->id_end, "unreadable: %s", lapse_errmsg());
            lapse_err_clear();
        }
        if (strcmp(rec->id_end, job->input_identity) != 0) {
            char what[128];
            lapse_input_identity_diff(job->input_identity, rec->id_end, what, sizeof what);
            fprintf(stderr,
                    "lapse: WARNING: the input %s CHANGED DURING THIS RUN (%s): the results in "
                    "%s may mix old and new input data; run %lld is marked input_changed. "
                    "Recompute with output.mode: update or overwrite once the input is final.\n",
                    cfg->input_file, what, cfg->output_file, (long long)w->run_id);
            fflush(stderr);
        }
    }
    int ok = MPI_Bcast(rec->id_end, sizeof rec->id_end, MPI_CHAR, 0, w->r->world) == MPI_SUCCESS;
    rec->info.input_identity_end = rec->id_end;
    rec->info.input_changed = strcmp(rec->id_end, job->input_identity) != 0;
    return lapse_agree(w->r->world,
                       ok ? LAPSE_OK : lapse_fail(LAPSE_EMPI, "MPI_Bcast(input identity) failed"));
}

/* Collective, after lapse_worker_work() and lapse_agree(): st is the run's agreed status. Record
 * what happened, whatever it was: append every rank's task rows (done and failed) to /lapse/tasks,
 * then set the run's end stamp (from rank 0) and its final status ("done", "interrupted", "failed")
 * in /lapse/runs/<id>. An HDF5 or I/O failure of the append on any rank ends the job
 * (abort_on_io_failure). Returns st, or when st is LAPSE_OK the first recording failure. */
static lapse_status_t finish_run(lapse_worker_t *w, run_record_t *rec, lapse_status_t st)
{
    const lapse_ranks_t *r = w->r;
    const char *file = w->job->cfg.output_file;
    lapse_run_info_t *info = &rec->info;

    lapse_err_context("rank %d", r->rank);
    lapse_status_t rst = lapse_h5out_append_rows(w->out, w->rows, w->nrows);
    if (rst != LAPSE_OK)
        lapse_err_print(rst);
    abort_on_io_failure(r, rst, file);
    /* any other failure (memory, MPI) on one rank: every rank skips the collective calls below */
    rst = lapse_agree(r->world, rst);
    if (r->rank == 0)
        lapse_iso_now(info->end, sizeof info->end);
    if (rst == LAPSE_OK)
        rst = lapse_agree(r->world, MPI_Bcast(info->end, sizeof info->end, MPI_CHAR, 0, r->world) ==
                                            MPI_SUCCESS
                                        ? LAPSE_OK
                                        : LAPSE_EMPI);
    if (rst == LAPSE_OK)
        rst = check_input_end(w, rec);
    /* LAPSE_ESKIPPED: the run finished, but with failed tasks: "failed" */
    info->status = st == LAPSE_OK             ? LAPSE_RUN_DONE
                   : st == LAPSE_EINTERRUPTED ? LAPSE_RUN_INTERRUPTED
                                              : LAPSE_RUN_FAILED;
    if (rst == LAPSE_OK) {
        /* a failure on some ranks only leaves HDF5's state different between ranks: the job
         * ends here (abort_on_io_failure) rather than in a close that would hang */
        lapse_status_t pst = lapse_h5out_put_run(w->out, info);
        if (pst != LAPSE_OK)
            lapse_err_print(pst);
        abort_on_io_failure(r, pst, file);
        rst = lapse_agree(r->world, pst);
    }
    return st == LAPSE_OK ? rst : st;
}

/* Collective, when the run's agreed status is LAPSE_ESKIPPED: rank 0 says how many tasks failed
 * and were skipped (on_error: skip), where they are recorded, and how to retry them. */
static void report_skipped(const lapse_worker_t *w)
{
    long long mine = (long long)w->nfailed, all = mine;
    if (MPI_Reduce(&mine, &all, 1, MPI_LONG_LONG, MPI_SUM, 0, w->r->world) != MPI_SUCCESS)
        all = -1;
    if (w->r->rank != 0)
        return;
    fprintf(stderr,
            "lapse: run %lld finished with %lld failed task(s) skipped (on_error: skip; see "
            "above and `lapse info %s`); the other tasks are done. Fix the cause and run the "
            "same command again to retry only the failed tasks (exit code 3)\n",
            (long long)w->run_id, all, w->job->cfg.output_file);
    fflush(stderr);
}

/* Local: every step's OpenCL extensions (lapse_op_t.extensions) on this rank's device, else a
 * config error at the step (exit 2, before anything is written or planned). */
static lapse_status_t check_extensions(const lapse_ranks_t *r, const lapse_config_t *cfg,
                                       const lapse_cl_t *cl)
{
    lapse_status_t st = LAPSE_OK;
    for (int k = 0; k < cfg->nsteps; k++) {
        const lapse_step_t *s = &cfg->steps[k];
        const char *e = s->op->extensions_of ? s->op->extensions_of(s) : s->op->extensions;
        while (e && *e) {
            char ext[64];
            size_t n = strcspn(e, " ");
            snprintf(ext, sizeof ext, "%.*s", (int)(n < sizeof ext ? n : sizeof ext - 1), e);
            e += n + (e[n] == ' ');
            int has = 0;
            LAPSE_TRY(lapse_cl_has_extension(cl, ext, &has));
            if (!has) {
                char kp[64];
                snprintf(kp, sizeof kp, "pipeline[%d].op", s->item);
                lapse_mark_t at = {s->line, s->column};
                LAPSE_TRY(lapse_config_fail(cfg, at, kp,
                                            "%s needs the OpenCL extension %s, which the device "
                                            "\"%s\" of rank %d on %s lacks (`lapse devices` "
                                            "lists them; devices: picks another)",
                                            s->op->name, ext, cl->dev.name, r->rank, r->host));
            }
        }
    }
cleanup:
    return st;
}

/* Collective, after finish_run: when some of this run's tasks (done ones only, so that a
 * retried task is not counted twice) read NaN or Inf voxels in their core boxes of a float32
 * input, rank 0 warns how many, in how many tasks (also recorded per task, `lapse info`). */
static void report_nonfinite(const lapse_worker_t *w)
{
    long long mine[2] = {0, 0}, all[2] = {0, 0};
    for (int64_t i = 0; i < w->nrows; i++)
        if (w->rows[i].status == LAPSE_ROW_DONE && w->rows[i].nonfinite > 0) {
            mine[0] += (long long)w->rows[i].nonfinite;
            mine[1]++;
        }
    if (MPI_Reduce(mine, all, 2, MPI_LONG_LONG, MPI_SUM, 0, w->r->world) != MPI_SUCCESS ||
        w->r->rank != 0 || all[0] == 0)
        return;
    fprintf(stderr,
            "lapse: WARNING: %lld voxels of the input were NaN or Inf in %lld tasks (see `lapse "
            "info %s`); the results there follow IEEE arithmetic\n",
            all[0], all[1], w->job->cfg.output_file);
    fflush(stderr);
}

/* Collective, after finish_run: when integer outputs of this run's done tasks held values their
 * dtype cannot (NaN, or rounded outside its range: written as 0 or saturated), rank 0 warns how
 * many per dataset (also recorded per task, `lapse info`). */
static void report_clipped(const lapse_worker_t *w)
{
    const lapse_job_t *job = w->job;
    enum { M = LAPSE_MAX_STEPS + 1 };
    long long mine[2 * M] = {0}, all[2 * M] = {0}; /* voxels per output, then tasks per output */
    const int n = job->nout < M ? job->nout : M;
    for (int k = 0; k < n; k++) {
        mine[k] = (long long)w->clipped[k];
        mine[M + k] = (long long)w->clipped_tasks[k];
    }
    if (MPI_Reduce(mine, all, 2 * M, MPI_LONG_LONG, MPI_SUM, 0, w->r->world) != MPI_SUCCESS ||
        w->r->rank != 0)
        return;
    for (int k = 0; k < n; k++) {
        if (all[k] == 0)
            continue;
        const lapse_dtype_t dt = job->out[k].dtype;
        const char *range = dt == LAPSE_DT_U8    ? "[0, 255]"
                            : dt == LAPSE_DT_U16 ? "[0, 65535]"
                            : dt == LAPSE_DT_I16 ? "[-32768, 32767]"
                                                 : "[0, 4294967295]";
        fprintf(stderr,
                "lapse: WARNING: %lld voxels of %s:%s were NaN (written as 0) or outside %s's "
                "range %s (saturated), in %lld tasks of this run (`lapse info %s`)%s\n",
                all[k], job->cfg.output_file, job->out[k].path, lapse_dtype_name(dt), range,
                all[M + k], job->cfg.output_file,
                k == job->nout - 1 ? "; output.dtype: float32 keeps the values" : "");
    }
    fflush(stderr);
}

/* Rank 0, a complete output that this run leaves alone: when the voxel size this config gives
 * its final result (input.voxel_size, corrected say) differs from the one the output records,
 * say so; the metadata of a complete output is not rewritten by a run with nothing to do. */
static void note_voxel_change(const lapse_job_t *job)
{
    const lapse_dset_spec_t *s = &job->out[job->nout - 1];
    double have[3], want[3];
    int known = 1;
    for (int a = 0; a < 3; a++) {
        want[a] = (double)(float)fabs(s->vox[a]); /* as h5out.c writes it */
        if (a == 0 && s->ndims == 3 && s->vox[0] == 0)
            want[0] = 1.0;
        known &= want[a] > 0;
    }
    if (job->cfg.output_format == LAPSE_FMT_ZARR || !known ||
        !lapse_h5out_element_size(job->cfg.output_file, s->path, have))
        return;
    if (have[0] == want[0] && have[1] == want[1] && have[2] == want[2])
        return;
    fprintf(stderr,
            "lapse: note: this config gives %s:%s the voxel size [%g, %g, %g] um, but the output "
            "records [%g, %g, %g] (element_size_um, the BigDataViewer XML); a complete output "
            "is not rewritten: an update (--timepoints with output.mode: update) writes the new "
            "voxel size\n",
            job->cfg.output_file, s->path, want[0], want[1], want[2], have[0], have[1], have[2]);
}

/* Collective, after a stop signal ended the task loop (st LAPSE_EINTERRUPTED on every rank):
 * when every task of the plan was done all the same (the signal came during the last tasks,
 * which a stop still finishes), the run is complete: LAPSE_OK (status "done", exit 0; a job
 * requeued on exit 75 would only find nothing to do), with a note from rank 0. Else st. */
static lapse_status_t stopped_complete(const lapse_worker_t *w, lapse_status_t st)
{
    long long mine = 0, all = 0;
    for (int64_t i = 0; i < w->nrows; i++)
        mine += w->rows[i].status == LAPSE_ROW_DONE;
    if (MPI_Allreduce(&mine, &all, 1, MPI_LONG_LONG, MPI_SUM, w->r->world) != MPI_SUCCESS ||
        all != (long long)w->plan->ntasks)
        return st;
    if (w->r->rank == 0) {
        fprintf(stderr, "lapse: note: the stop signal came after the last task had started, "
                        "and every task of the run is done: the run is complete\n");
        fflush(stderr);
    }
    lapse_err_clear();
    return LAPSE_OK;
}

/* Collective. Phases 5+6 of a run: open the input and the output, record the run, run every
 * task of the plan (work), record the rows and the outcome, close. Every rank makes the same
 * collective calls in the same order; an HDF5 or I/O failure on any rank ends the job
 * (MPI_Abort) at the points marked by abort_on_io_failure. Returns the run's status. */
static lapse_status_t execute(const lapse_ranks_t *r, lapse_job_t *job, lapse_cl_t *cl,
                              lapse_plan_t *plan, unsigned long long dev_share)
{
    lapse_status_t st = LAPSE_OK, wst = LAPSE_OK;
    lapse_worker_t w = {.r = r, .job = job, .plan = plan, .cl = cl, .dev_share = dev_share};
    run_record_t rec;

    lapse_job_set_chunks(job, plan);
    if ((st = lapse_worker_open(&w, cl)) != LAPSE_OK)
        goto cleanup;
    lapse_h5out_on_fatal(NULL, fatal_io, &w); /* the output's collective calls, its open's too */
    st = open_output(&w);
    lapse_h5out_on_fatal(NULL, NULL, NULL);
    if (st != LAPSE_OK)
        goto cleanup;
    /* A new file was identity-locked on rank 0 since its staging file was made (h5out.c): keep
     * that lock (taking it again through another descriptor would conflict with it). */
    int made = 0; /* rank 0: the open made a new file (it hands on its lock) */
    if (r->rank == 0) {
        int fd = lapse_h5out_take_lock(w.out);
        made = fd >= 0 && job->grow_from == 0; /* a grown file keeps its Zarr chunks */
        lapse_lock_adopt(&job->lock, fd);
    }
    if (job->cfg.output_format == LAPSE_FMT_ZARR &&
        MPI_Bcast(&made, 1, MPI_INT, 0, r->world) != MPI_SUCCESS) { /* rank 0's, for all */
        st = lapse_fail(LAPSE_EMPI, "rank %d: MPI_Bcast of the new store's flag failed", r->rank);
        goto cleanup;
    }
    if (job->cfg.output_format == LAPSE_FMT_ZARR && !made &&
        (st = zarr_keep_compression(&w, job)) != LAPSE_OK)
        goto cleanup;
    if (job->cfg.output_format == LAPSE_FMT_ZARR && (st = zarr_meta(&w, made)) != LAPSE_OK)
        goto cleanup;
    if ((st = start_run(&w, &rec)) != LAPSE_OK)
        goto cleanup;
    double start = MPI_Wtime();

    wst = lapse_worker_work(&w);
    abort_on_io_failure(r, wst, job->cfg.output_file);
    st = lapse_agree(r->world, wst);
    if (st == LAPSE_EINTERRUPTED)
        st = stopped_complete(&w, st);
    if (st == LAPSE_ESKIPPED)
        report_skipped(&w);
    /* every rank's metadata cache empty again before the records change metadata (h5out.h) */
    lapse_err_context("rank %d", r->rank); /* no task's: the loop is over */
    lapse_status_t ost = lapse_h5out_reopen(w.out);
    if (ost != LAPSE_OK) /* before abort_on_io_failure, which ends the job */
        lapse_err_print(ost);
    abort_on_io_failure(r, ost, job->cfg.output_file);
    if (ost != LAPSE_OK) { /* agreed: every rank skips the records */
        st = ost;
        goto cleanup;
    }
    st = finish_run(&w, &rec, st);
    report_nonfinite(&w);
    report_clipped(&w);
    if (st == LAPSE_OK && r->rank == 0)
        lapse_report_summary(w.run_id, plan, job->cfg.output_file, MPI_Wtime() - start);
cleanup:
    st = lapse_worker_close(&w, st);
    if (st != LAPSE_OK && wst == LAPSE_OK && lapse_errmsg()[0])
        lapse_err_print(st);
    return st;
}

/* Collective, first thing of a run: every rank checks its LAPSE_* variables (lapse_env_check),
 * then the ones that must agree between ranks (lapse_env_digest) are compared with rank 0's. A
 * launcher passes the launching shell's environment to remote hosts only when told (mpirun -x),
 * and a chunk shape, write mode or phase budget seen by some ranks only makes them call HDF5 and
 * MPI differently: a hang or a damaged output. A malformed value on any rank, or a difference,
 * is a usage error on every rank (exit 2, nothing written), printed once. */
static lapse_status_t check_env(const lapse_ranks_t *r)
{
    enum { NMAX = 64 };
    uint64_t mine[NMAX], root[NMAX];
    size_t n = lapse_env_count();
    lapse_status_t st = lapse_env_check();
    int bad = st != LAPSE_OK ? r->rank : r->nranks, first = bad;
    if (n > NMAX || MPI_Allreduce(&bad, &first, 1, MPI_INT, MPI_MIN, r->world) != MPI_SUCCESS) {
        lapse_err_print(
            lapse_fail(LAPSE_EMPI, "rank %d: comparing the LAPSE_* variables failed", r->rank));
        return LAPSE_EMPI;
    }
    if (first < r->nranks) { /* the first rank with a malformed value names it */
        lapse_err_context("%s", "");
        if (r->rank == first) {
            if (r->nranks > 1)
                lapse_err_context("rank %d on %s", r->rank, r->host);
            lapse_err_print(st);
        }
        return LAPSE_EUSAGE;
    }
    for (size_t i = 0; i < n; i++)
        mine[i] = root[i] = lapse_env_digest(i);
    /* the first entry where this rank differs from rank 0, as (entry, rank): the smallest wins */
    int pair[2] = {(int)n, r->rank}, low[2] = {(int)n, 0};
    if (MPI_Bcast(root, (int)n, MPI_UINT64_T, 0, r->world) != MPI_SUCCESS) {
        lapse_err_print(
            lapse_fail(LAPSE_EMPI, "rank %d: MPI_Bcast(LAPSE_* digests) failed", r->rank));
        return LAPSE_EMPI;
    }
    for (size_t i = 0; i < n && pair[0] == (int)n; i++)
        if (mine[i] != root[i])
            pair[0] = (int)i;
    if (MPI_Allreduce(pair, low, 1, MPI_2INT, MPI_MINLOC, r->world) != MPI_SUCCESS) {
        lapse_err_print(
            lapse_fail(LAPSE_EMPI, "rank %d: MPI_Allreduce(LAPSE_* digests) failed", r->rank));
        return LAPSE_EMPI;
    }
    if (low[0] == (int)n)
        return LAPSE_OK;
    if (r->rank == 0) {
        const char *name = lapse_env_name((size_t)low[0]), *v = getenv(name);
        lapse_err_context("%s", "");
        lapse_err_print(lapse_fail(
            LAPSE_EUSAGE,
            "%s is not the same on every rank: rank 0 has %s%.60s%s and rank %d has %s; set it "
            "for every rank (mpirun -x %s, or export it before srun) or for none",
            name, v && v[0] ? "'" : "", v && v[0] ? v : "it unset", v && v[0] ? "'" : "", low[1],
            v && v[0] ? "another value or none" : "a value", name));
    }
    return LAPSE_EUSAGE;
}

int lapse_cmd_run(const lapse_run_opts_t *o)
{
    lapse_status_t st = LAPSE_OK;
    lapse_ranks_t r;
    lapse_job_t job;
    lapse_cl_t *cl = NULL;
    lapse_plan_t plan;
    lapse_devmem_t mem;
    int overwrites; /* output.mode: overwrite: an interrupted run is not continued by itself */
    memset(&plan, 0, sizeof plan);
    memset(&mem, 0, sizeof mem);
    memset(&job, 0, sizeof job);

    st = lapse_ranks_init(&r);
    if (st == LAPSE_OK && (st = check_env(&r)) != LAPSE_OK)
        return lapse_exit_code(st); /* printed */
    if (st == LAPSE_OK)
        st = lapse_signals_install();
    if (st != LAPSE_OK) {
        lapse_err_print(st);
        return lapse_exit_code(st);
    }
    st = lapse_job_prepare(&r, o, &job);
    if (st != LAPSE_OK) {
        lapse_err_context("%s", ""); /* config errors carry file:line:column instead */
        if (r.rank == 0)
            lapse_err_print(st);
        goto cleanup;
    }
    st = open_device(&r, &job.cfg, &cl, o->json ? stderr : stdout); /* --json: stdout is JSON */
    if (st == LAPSE_ECONFIG)
        lapse_err_context("%s", ""); /* devices.index: file:line:column instead */
    if (st != LAPSE_OK && (st != LAPSE_ECONFIG || r.rank == 0))
        lapse_err_print(st);
    if (st == LAPSE_OK && (st = check_extensions(&r, &job.cfg, cl)) != LAPSE_OK) {
        lapse_err_context("%s", ""); /* file:line:column instead */
        lapse_err_print(st);         /* by each rank whose device lacks one */
    }
    if ((st = lapse_agree(r.world, st)) != LAPSE_OK)
        goto cleanup;
    st = lapse_sizing_plan(&r, &job, &cl->dev, &mem, &plan);
    if (st != LAPSE_OK && r.rank == 0) {
        if (st == LAPSE_ECONFIG)
            lapse_err_context("%s", "");
        lapse_err_print(st);
    }
    if ((st = lapse_agree(r.world, st)) != LAPSE_OK)
        goto cleanup;
    if (o->probe) {
        lapse_probe_opts_t po = {o->json, o->nranks, o->ranks_per_gpu};
        st = lapse_probe_run(&r, &job, cl, &plan, &mem, &po);
        goto cleanup;
    }
    if (o->dry_run) {
        lapse_job_set_chunks(&job, &plan); /* the output's size with its edge chunks */
        if (r.rank == 0)
            lapse_report_plan(&job, &plan, &mem, r.nranks, stdout);
        goto cleanup;
    }
    if (plan.ntasks == 0) {
        if (r.rank == 0) {
            printf("lapse: nothing to do: all %lld selected tasks of %s are done\n",
                   (long long)(plan.ntps * plan.ntiles), job.cfg.output_file);
            if (o->timepoints != NULL && job.cfg.mode_given && job.cfg.mode == LAPSE_MODE_CREATE)
                printf("lapse: note: the config's output.mode: create continues an output and "
                       "computes no done task again; to recompute the timepoints of "
                       "--timepoints, set output.mode: update (or leave output.mode out)\n");
            note_voxel_change(&job);
        }
        goto cleanup;
    }
    if (!job.recompute && job.done && r.rank == 0)
        printf("lapse: continuing %s: %lld of %lld selected tasks are done, %lld to run\n",
               job.cfg.output_file, (long long)(plan.ntps * plan.ntiles - plan.ntasks),
               (long long)(plan.ntps * plan.ntiles), (long long)plan.ntasks);
    st = execute(&r, &job, cl, &plan, mem.share);
cleanup:
    overwrites = job.cfg.mode == LAPSE_MODE_OVERWRITE;
    lapse_plan_free(&plan);
    lapse_cl_close(cl);
    lapse_job_free(&job);
    /* Every rank returns the agreed exit code. */
    st = lapse_agree(MPI_COMM_WORLD, st);
    /* The last line rank 0 prints after a clean stop: Open MPI's mpirun exits 1 after SIGINT or
     * SIGTERM whatever the ranks return (no option passes 75 through; README, exit codes). */
    if (st == LAPSE_EINTERRUPTED && r.rank == 0) {
        if (o->probe) /* nothing to resume: the probe writes nothing */
            fprintf(stderr, "lapse: interrupted: the probe did not finish and wrote nothing; run "
                            "it again for its prediction (exit code 75)\n");
        else if (overwrites) /* the same command would replace what is done */
            fprintf(stderr, "lapse: interrupted, resumable: the tasks done are kept, but this "
                            "config's output.mode: overwrite makes the same command start over; "
                            "to continue, run it with output.mode: create (or leave "
                            "output.mode out) (exit code 75; Open MPI's mpirun reports 1 after "
                            "SIGINT or SIGTERM)\n");
        else
            fprintf(stderr, "lapse: interrupted, resumable: run the same command again (exit "
                            "code 75; Open MPI's mpirun reports 1 after SIGINT or SIGTERM)\n");
        fflush(stderr);
    }
    return lapse_exit_code(st);
}

int lapse_cmd_devices(const char *kind_name)
{
    lapse_status_t st = LAPSE_OK;
    lapse_ranks_t r;
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
    LAPSE_TRY(lapse_ranks_init(&r));
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
    /* exit 1 when a rank gets no device (documented for job scripts), not a config's 2 */
    st = lapse_agree(r.world, cst == LAPSE_ENODEV ? LAPSE_ECL : cst);
cleanup:
    free(all);
    if (st != LAPSE_OK && lapse_errmsg()[0])
        lapse_err_print(st);
    return lapse_exit_code(st);
}
