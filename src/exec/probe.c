/*
 * probe.c - `lapse plan --probe` (see probe.h): one real task through the run's own machinery
 * (the reader, lapse_pipeline_create / lapse_pipeline_run on the chosen device), an HDF5 write
 * of its results into a temporary file, and the prediction of the whole run from those times.
 */
#include "exec/probe.h"

#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "h5util.h"
#include "io/reader.h"
#include "exec/worker.h"
#include "pipeline.h"

/* Seconds of the phases of one run of the probe task. */
typedef struct {
    double read, upload, compute, download, write;
} phase_t;

static double phase_sum(const phase_t *p)
{
    return p->read + p->upload + p->compute + p->download + p->write;
}

/* Everything the report prints. */
typedef struct {
    lapse_task_t task;
    double setup;          /* lapse_pipeline_create: device buffers and kernel builds */
    phase_t cold, warm;    /* first and second run of the task */
    phase_t per_task;      /* the prediction's phases of the average pending task */
    double f_read, f_core; /* average pending task / probe task: read-box and core voxels */
    long long bytes_in, bytes_out;
    int cache_dropped;      /* 1: the input's pages were dropped before the cold read */
    int nranks, rpg, ngpus; /* ranks, ranks per GPU and GPUs of the predicted run */
    int overlap;            /* 1: a rank overlaps its I/O with the device (lapse_worker_overlap) */
    double rank_task;       /* seconds a rank spends per task in the loop */
    int global_steps, passes, iterative, rounds;
    double rounds_s;                     /* estimate of the rounds of global steps */
    double t_ranks, t_storage, t_device; /* the model's three limits for the tasks */
    const char *limit, *bound;
    double total;
    double ratio;         /* processing / loading: (upload + compute + download) / (read + write) */
    int adv_rpg;          /* ranks per GPU that keep a GPU busy */
    int adv_gpus;         /* GPUs before the shared storage limits, at most one per task */
    int adv_gpus_storage; /* GPUs before the shared storage limits */
    double adv_total;
    unsigned long long task_bytes;
} probe_t;

/* Ask the kernel to drop the input file's cached pages, so that the first read comes from the
 * storage as the reads of a long run do. Only for a regular file (a Zarr store or a pattern of
 * files is left as it is). Returns 1 when done. Changes no data. */
static int drop_cache(const char *file)
{
    struct stat sb;
    if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    int fd = open(file, O_RDONLY);
    if (fd < 0)
        return 0;
    int ok = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
    close(fd);
    return ok;
}

/* The probe's write target: a temporary HDF5 file in the output's directory with one dataset per
 * output (one timepoint of it, chunked [1, tile] like the output, space allocated at creation),
 * opened with the MPI-IO driver on MPI_COMM_SELF and written with independent I/O as the run
 * writes. */
typedef struct {
    char path[4200];
    hid_t file, dxpl;
    hid_t dsets[3 * LAPSE_MAX_STEPS + 1];
    int ndsets;
} tmpout_t;

static lapse_status_t tmpout_open(const lapse_job_t *job, const lapse_plan_t *plan, tmpout_t *o)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fapl = H5I_INVALID_HID, space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", job->cfg.output_file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    snprintf(o->path, sizeof o->path, "%s/.lapse-probe-XXXXXX", dir);
    int fd = mkstemp(o->path);
    if (fd < 0) {
        o->path[0] = '\0';
        LAPSE_FAIL(LAPSE_EIO, "cannot create a temporary file in %s to time the writes", dir);
    }
    close(fd);
    lapse_h5_init();
    LAPSE_H5ID(fapl, H5Pcreate(H5P_FILE_ACCESS));
    LAPSE_H5(H5Pset_fapl_mpio(fapl, MPI_COMM_SELF, MPI_INFO_NULL));
    LAPSE_H5ID(o->file, H5Fcreate(o->path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
    LAPSE_H5ID(o->dxpl, H5Pcreate(H5P_DATASET_XFER));
    LAPSE_H5(H5Pset_dxpl_mpio(o->dxpl, H5FD_MPIO_INDEPENDENT));
    for (int k = 0; k < job->nout; k++) {
        const lapse_dset_spec_t *s = &job->out[k];
        hsize_t dims[4], chunk[4];
        dims[0] = chunk[0] = 1;
        for (int i = 1; i < s->ndims; i++) {
            int a = i + (4 - s->ndims) - 1; /* plan axis of dataset axis i */
            dims[i] = (hsize_t)s->dims[i];
            chunk[i] = (hsize_t)(plan->tile[a] < s->dims[i] ? plan->tile[a] : s->dims[i]);
        }
        char name[32];
        snprintf(name, sizeof name, "d%d", k);
        LAPSE_H5ID(space, H5Screate_simple(s->ndims, dims, NULL));
        LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
        LAPSE_H5(H5Pset_chunk(dcpl, s->ndims, chunk));
        LAPSE_H5(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
        LAPSE_H5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
        LAPSE_H5ID(o->dsets[k], H5Dcreate2(o->file, name, lapse_h5_mem_type(s->dtype), space,
                                           H5P_DEFAULT, dcpl, H5P_DEFAULT));
        o->ndsets = k + 1;
        H5Pclose(dcpl);
        dcpl = H5I_INVALID_HID;
        H5Sclose(space);
        space = H5I_INVALID_HID;
    }
    LAPSE_H5(H5Fflush(o->file, H5F_SCOPE_LOCAL));
cleanup:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (fapl >= 0)
        H5Pclose(fapl);
    return st;
}

/* Write output k's core box (dims of core, z dropped for a 3-D dataset) from buf. */
static lapse_status_t tmpout_write(const lapse_job_t *job, tmpout_t *o, int k,
                                   const lapse_box_t *core, const void *buf)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_dset_spec_t *s = &job->out[k];
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    hsize_t start[4] = {0, 0, 0, 0}, count[4] = {1, 1, 1, 1};
    for (int i = 1; i < s->ndims; i++) {
        int a = i + (4 - s->ndims) - 1;
        start[i] = (hsize_t)core->off[a];
        count[i] = (hsize_t)core->dim[a];
    }
    LAPSE_H5ID(fspace, H5Dget_space(o->dsets[k]));
    LAPSE_H5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL));
    LAPSE_H5ID(mspace, H5Screate_simple(s->ndims, count, NULL));
    LAPSE_H5(H5Dwrite(o->dsets[k], lapse_h5_mem_type(s->dtype), mspace, fspace, o->dxpl, buf));
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return st;
}

/* Close and remove the temporary file (also after a partial open). */
static void tmpout_close(tmpout_t *o)
{
    for (int k = 0; k < o->ndsets; k++)
        H5Dclose(o->dsets[k]);
    if (o->dxpl >= 0)
        H5Pclose(o->dxpl);
    if (o->file >= 0)
        H5Fclose(o->file);
    if (o->path[0])
        unlink(o->path);
    o->path[0] = '\0';
}

/* One run of the probe task: read, pipeline, write into the temporary file. */
static lapse_status_t run_once(const lapse_job_t *job, lapse_reader_t *in, lapse_pipeline_t *pipe,
                               tmpout_t *o, const lapse_task_t *t, phase_t *ph,
                               long long *bytes_out)
{
    lapse_status_t st = LAPSE_OK;
    double t0 = MPI_Wtime();
    LAPSE_TRY(lapse_reader_read(in, t->t, &t->read, lapse_pipeline_input(pipe)));
    ph->read = MPI_Wtime() - t0;
    lapse_pipe_times_t pt;
    memset(&pt, 0, sizeof pt);
    LAPSE_TRY(lapse_pipeline_run(pipe, &t->read, &t->core, &pt));
    lapse_fault_point("compute"); /* "compute~S": a slow probe, for the signal test */
    ph->upload = pt.upload;
    ph->compute = pt.compute;
    ph->download = pt.download;
    double t2 = MPI_Wtime();
    *bytes_out = 0;
    for (int k = 0; k < job->nout; k++) {
        lapse_box_t box = t->core;
        if (job->out[k].ndims == 3) {
            box.off[0] = 0;
            box.dim[0] = 1;
        }
        LAPSE_TRY(tmpout_write(job, o, k, &box, lapse_pipeline_output(pipe, k)));
        *bytes_out += lapse_box_voxels(&box) * (long long)lapse_dtype_size(job->out[k].dtype);
    }
    ph->write = MPI_Wtime() - t2;
cleanup:
    return st;
}

/* The prediction (probe.h's model) from the measured phases; fills the rest of *p. */
/* Tasks the busiest of `workers` ranks or GPUs runs when n tasks are shared out whole. */
static double per_worker(double n, int workers)
{
    const double v = workers > 0 ? ceil(n / workers - 1e-9) : n;
    return v > 0 ? v : 0; /* not -0 (ceil(-1e-9)) for no tasks: printed "-0.00 s" */
}

static void predict(const lapse_job_t *job, const lapse_plan_t *plan, probe_t *p)
{
    /* the average pending task against the probe task */
    double rv = 0, cv = 0;
    for (int64_t i = 0; i < plan->ntasks; i++) {
        lapse_task_t t;
        lapse_plan_task(plan, i, &t);
        rv += (double)lapse_box_voxels(&t.read);
        cv += (double)lapse_box_voxels(&t.core);
    }
    double n = (double)plan->ntasks;
    p->f_read = n > 0 ? rv / n / (double)lapse_box_voxels(&p->task.read) : 1;
    p->f_core = n > 0 ? cv / n / (double)lapse_box_voxels(&p->task.core) : 1;
    /* Reads come from the storage in a long run: the cold read (page cache dropped) stands for
     * them; the device phases and the write are the warm run's. */
    p->per_task.read = p->cold.read * p->f_read;
    p->per_task.upload = p->warm.upload * p->f_read;
    p->per_task.compute = p->warm.compute * p->f_read;
    p->per_task.download = p->warm.download * p->f_core;
    p->per_task.write = p->warm.write * p->f_core;
    const phase_t *q = &p->per_task;
    double dev = q->upload + q->compute + q->download, sto = q->read + q->write;
    p->ngpus = (p->nranks + p->rpg - 1) / p->rpg;
    /* the task loop overlaps a task's read and the previous one's write with the device work
     * (two staging slots, exec/worker.c), else runs the phases one after another */
    p->overlap = lapse_worker_overlap();
    p->rank_task = p->overlap ? (sto > dev ? sto : dev) : phase_sum(q);
    /* a task runs whole on one rank and one GPU: the busiest takes ceil(tasks / ranks) */
    p->t_ranks = per_worker(n, p->nranks) * p->rank_task;
    p->t_storage = n * sto;
    p->t_device = per_worker(n, p->ngpus) * dev;

    /* global steps: each pass is a round over the tiles when a timepoint has several */
    int tables = 0;
    for (int k = 0; k < job->graph.nsteps; k++) {
        const lapse_global_t *g = job->graph.node[k].step->op->global;
        if (!g)
            continue;
        p->global_steps++;
        p->passes += g->npass;
        p->iterative |= g->iterate;
        tables |= g->table != NULL;
    }
    p->rounds = p->global_steps > 0 && (plan->ntiles > 1 || tables);
    p->rounds_s = p->rounds ? per_worker(n, p->ngpus) * p->passes * (q->upload + q->compute) : 0;

    /* the largest limit; on a tie the device, then the storage, names it */
    double tasks = p->t_device;
    p->limit = "device";
    if (p->t_storage > tasks) {
        tasks = p->t_storage;
        p->limit = "storage";
    }
    if (p->t_ranks > tasks) {
        tasks = p->t_ranks;
        p->limit = "ranks";
    }
    if (strcmp(p->limit, "device") == 0)
        p->bound = "device";
    else if (strcmp(p->limit, "storage") == 0)
        p->bound = q->read >= q->write ? "read" : "write";
    else
        p->bound = dev >= q->read && dev >= q->write ? "device"
                   : q->read >= q->write             ? "read"
                                                     : "write";
    p->total = p->setup + tasks + p->rounds_s;
    p->ratio = sto > 0 ? dev / sto : INFINITY;

    /* Advice: ranks per GPU so that one GPU is busy while its ranks read and write
     * (per-task / device time), and GPUs until the shared storage limits (device / storage);
     * never more GPUs, nor ranks, than there are tasks to share out. */
    p->adv_rpg = dev > 0 ? (int)ceil(p->rank_task / dev - 1e-9) : 1;
    p->adv_gpus = sto > 0 ? (int)ceil(dev / sto - 1e-9) : p->ngpus;
    p->adv_gpus_storage = p->adv_gpus < 1 ? 1 : p->adv_gpus;
    if (p->adv_gpus > plan->ntasks)
        p->adv_gpus = (int)plan->ntasks;
    if (p->adv_gpus < 1)
        p->adv_gpus = 1;
    int64_t rpg_max = (plan->ntasks + p->adv_gpus - 1) / p->adv_gpus;
    if (p->adv_rpg > rpg_max)
        p->adv_rpg = (int)rpg_max;
    if (p->adv_rpg < 1)
        p->adv_rpg = 1;
    int an = p->adv_rpg * p->adv_gpus;
    double at = per_worker(n, an) * p->rank_task;
    if (n * sto > at)
        at = n * sto;
    if (per_worker(n, p->adv_gpus) * dev > at)
        at = per_worker(n, p->adv_gpus) * dev;
    p->adv_total =
        p->setup + at +
        (p->rounds ? per_worker(n, p->adv_gpus) * p->passes * (q->upload + q->compute) : 0);
}

static void json_phase(FILE *f, const char *name, const phase_t *p, double setup, int last)
{
    fprintf(f,
            "  \"%s\": {\"read_s\": %.6g, \"upload_s\": %.6g, \"compute_s\": %.6g, "
            "\"download_s\": %.6g, \"write_s\": %.6g, ",
            name, p->read, p->upload, p->compute, p->download, p->write);
    if (setup >= 0)
        fprintf(f, "\"setup_s\": %.6g, ", setup);
    fprintf(f, "\"total_s\": %.6g}%s\n", phase_sum(p) + (setup > 0 ? setup : 0), last ? "" : ",");
}

/* A JSON string of s (quotes and backslashes escaped; control characters dropped). */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

static const char model_text[] =
    "tasks time = max(ceil(tasks / ranks) x rank-task, tasks x (read + write), ceil(tasks / "
    "GPUs) x (upload + compute + download)) (a task runs whole on one rank), rank-task = max(read "
    "+ write, upload + compute + download) "
    "when a rank overlaps its I/O with the device (LAPSE_OVERLAP, the default), else the sum of "
    "the phases; all ranks share the storage bandwidth one rank measured; the ranks of one GPU "
    "share it. Phases are scaled from the probe task to the average task by voxels (read, "
    "upload, compute: read box; download, write: core)";

static void print_json(const lapse_job_t *job, const lapse_plan_t *plan, const lapse_cl_t *cl,
                       const lapse_devmem_t *mem, const probe_t *p)
{
    FILE *f = stdout;
    const lapse_task_t *t = &p->task;
    fprintf(f, "{\n  \"config\": ");
    json_str(f, job->cfg.path);
    fprintf(f, ",\n  \"device\": ");
    json_str(f, cl->dev.name);
    fprintf(f,
            ",\n  \"probe_task\": {\"id\": %lld, \"t\": %lld, \"tile\": %lld, \"core_offset\": "
            "[%lld, %lld, %lld], \"core_shape\": [%lld, %lld, %lld], \"read_offset\": [%lld, "
            "%lld, %lld], \"read_shape\": [%lld, %lld, %lld], \"bytes_in\": %lld, "
            "\"bytes_out\": %lld, \"cache_dropped\": %s},\n",
            (long long)t->id, (long long)t->t, (long long)t->tile, (long long)t->core.off[0],
            (long long)t->core.off[1], (long long)t->core.off[2], (long long)t->core.dim[0],
            (long long)t->core.dim[1], (long long)t->core.dim[2], (long long)t->read.off[0],
            (long long)t->read.off[1], (long long)t->read.off[2], (long long)t->read.dim[0],
            (long long)t->read.dim[1], (long long)t->read.dim[2], p->bytes_in, p->bytes_out,
            p->cache_dropped ? "true" : "false");
    json_phase(f, "cold", &p->cold, p->setup, 0);
    json_phase(f, "warm", &p->warm, -1, 0);
    json_phase(f, "per_task", &p->per_task, -1, 0);
    fprintf(f, "  \"scale_read\": %.6g, \"scale_core\": %.6g,\n", p->f_read, p->f_core);
    fprintf(f, "  \"read_MBps\": %.6g, \"write_MBps\": %.6g,\n",
            p->cold.read > 0 ? (double)p->bytes_in / p->cold.read / 1e6 : 0.0,
            p->warm.write > 0 ? (double)p->bytes_out / p->warm.write / 1e6 : 0.0);
    fprintf(f,
            "  \"tasks\": %lld, \"timepoints\": %lld, \"tiles_per_timepoint\": %lld,\n"
            "  \"ranks\": %d, \"ranks_per_gpu\": %d, \"gpus\": %d, \"overlap\": %s, "
            "\"rank_task_s\": %.6g,\n"
            "  \"device_bytes_per_task\": %llu, \"device_bytes_per_rank\": %llu,\n",
            (long long)plan->ntasks, (long long)plan->ntps, (long long)plan->ntiles, p->nranks,
            p->rpg, p->ngpus, p->overlap ? "true" : "false", p->rank_task, p->task_bytes,
            mem->share);
    fprintf(f,
            "  \"global\": {\"steps\": %d, \"passes\": %d, \"iterative\": %s, \"rounds\": %s, "
            "\"rounds_s\": %.6g, \"estimate\": true},\n",
            p->global_steps, p->passes, p->iterative ? "true" : "false",
            p->rounds ? "true" : "false", p->rounds_s);
    fprintf(f,
            "  \"model\": {\"ranks_s\": %.6g, \"storage_s\": %.6g, \"device_s\": %.6g, "
            "\"setup_s\": %.6g, \"limit\": \"%s\", \"text\": ",
            p->t_ranks, p->t_storage, p->t_device, p->setup, p->limit);
    json_str(f, model_text);
    fprintf(f, "},\n");
    fprintf(f,
            "  \"predicted_total_s\": %.6g,\n  \"predicted_tasks_s\": %.6g,\n  \"bound\": "
            "\"%s\",\n",
            p->total, p->total - p->setup, p->bound);
    if (isfinite(p->ratio))
        fprintf(f, "  \"processing_over_loading\": %.6g,\n", p->ratio);
    else
        fprintf(f, "  \"processing_over_loading\": null,\n");
    fprintf(f,
            "  \"advice\": {\"ranks_per_gpu\": %d, \"gpus\": %d, \"storage_gpus\": %d, "
            "\"ranks\": %d, \"predicted_total_s\": %.6g}\n}\n",
            p->adv_rpg, p->adv_gpus, p->adv_gpus_storage, p->adv_rpg * p->adv_gpus, p->adv_total);
    fflush(f);
}

static void text_phase(FILE *f, const char *name, const phase_t *p)
{
    fprintf(f, "  %-9s %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f\n", name, p->read, p->upload, p->compute,
            p->download, p->write, phase_sum(p));
}

static void print_text(const lapse_job_t *job, const lapse_plan_t *plan, const lapse_cl_t *cl,
                       const lapse_devmem_t *mem, const probe_t *p)
{
    FILE *f = stdout;
    const lapse_task_t *t = &p->task;
    const phase_t *q = &p->per_task;
    fprintf(f,
            "probe      task %lld: timepoint %lld (the middle one selected), tile %lld (the "
            "first; core [%lld, %lld, %lld] at [%lld, %lld, %lld], read box [%lld, %lld, "
            "%lld])\n",
            (long long)t->id, (long long)t->t, (long long)t->tile, (long long)t->core.dim[0],
            (long long)t->core.dim[1], (long long)t->core.dim[2], (long long)t->core.off[0],
            (long long)t->core.off[1], (long long)t->core.off[2], (long long)t->read.dim[0],
            (long long)t->read.dim[1], (long long)t->read.dim[2]);
    fprintf(f, "device     %s\n", cl->dev.name);
    fprintf(f, "data       %.2f MB read, %.2f MB written per probe task\n",
            (double)p->bytes_in / 1e6, (double)p->bytes_out / 1e6);
    fprintf(f, "setup      %.3f s (device buffers and kernel builds, once per rank)\n", p->setup);
    fprintf(f, "\nseconds    %9s %9s %9s %9s %9s %9s\n", "read", "upload", "compute", "download",
            "write", "task");
    text_phase(f, "cold", &p->cold);
    text_phase(f, "warm", &p->warm);
    text_phase(f, "per task", q);
    fprintf(f,
            "  cold: the first run (first use of kernels%s);\n  warm: the second.\n"
            "  per task: the prediction's: the cold read (a long run reads from storage), the "
            "warm\n  device phases and write, scaled to the average task (x%.3f read box, x%.3f "
            "core).\n  The write is timed into a temporary file beside the output (removed), "
            "until\n  HDF5 returns, as `lapse run` times it.\n",
            p->cache_dropped ? "; the input's pages dropped from the cache before it" : "",
            p->f_read, p->f_core);
    fprintf(f,
            "\nrun        %lld tasks (%lld timepoints x %lld tiles) on %d rank%s, %d per GPU "
            "= %d GPU%s\n",
            (long long)plan->ntasks, (long long)plan->ntps, (long long)plan->ntiles, p->nranks,
            p->nranks > 1 ? "s" : "", p->rpg, p->ngpus, p->ngpus > 1 ? "s" : "");
    fprintf(f, "device mem %.1f MiB per task; %.1f MiB per rank (%d rank%s a %.1f MiB device)\n",
            (double)p->task_bytes / 1048576.0, (double)mem->share / 1048576.0, mem->nshare,
            mem->nshare > 1 ? "s share" : " has", (double)mem->device / 1048576.0);
    if (plan->ntasks == 0)
        fprintf(f, "           all selected tasks of %s are done: `lapse run` has nothing to do\n",
                job->cfg.output_file);
    fprintf(f,
            "model      tasks take max(ceil(tasks / ranks) x rank-task, tasks x (read + write),\n"
            "           ceil(tasks / GPUs) x (upload + compute + download)); rank-task %.4f s =\n"
            "           %s;\n"
            "           all ranks share the storage bandwidth one rank measured; the ranks of "
            "one GPU\n           share it\n",
            p->rank_task,
            p->overlap ? "max(read + write, upload + compute + download): a rank overlaps its "
                         "I/O\n           with the device (LAPSE_OVERLAP=0 turns that off)"
                       : "the sum of the phases (LAPSE_OVERLAP=0: no overlap)");
    fprintf(f, "           ranks %.2f s, storage %.2f s, device %.2f s: limited by %s\n",
            p->t_ranks, p->t_storage, p->t_device, p->limit);
    if (p->global_steps > 0) {
        if (p->rounds)
            fprintf(f,
                    "global     %d global step%s, %d pass%s%s: each pass is a round over every "
                    "tile before the tasks;\n           ESTIMATE passes x (upload + compute) per "
                    "task: %.2f s (likely high:\n           a round runs only the steps up to its "
                    "global step, and operands kept on the device are not recomputed)\n",
                    p->global_steps, p->global_steps > 1 ? "s" : "", p->passes,
                    p->passes > 1 ? "es" : "",
                    p->iterative ? " (an iterative step repeats its pass until converged: more)"
                                 : "",
                    p->rounds_s);
        else
            fprintf(f,
                    "global     %d global step%s, run whole in each task (one tile per "
                    "timepoint): no rounds\n",
                    p->global_steps, p->global_steps > 1 ? "s" : "");
    }
    fprintf(f,
            "predicted  %.2f s in total: setup %.2f s + tasks%s %.2f s (the time `lapse run` "
            "reports as\n           \"run N done: ... tasks in S s\")\n",
            p->total, p->setup, p->rounds ? " and rounds" : "", p->total - p->setup);
    fprintf(f, "bound      by %s", p->bound);
    if (strcmp(p->bound, "device") == 0)
        fprintf(f, " (upload + compute + download %.4f s per task > read %.4f s, write %.4f s)\n",
                q->upload + q->compute + q->download, q->read, q->write);
    else
        fprintf(f, " (read %.4f s, write %.4f s per task; device %.4f s)\n", q->read, q->write,
                q->upload + q->compute + q->download);
    if (isfinite(p->ratio))
        fprintf(f, "checklist  processing / loading = %.2f: %s\n", p->ratio,
                p->ratio >= 1 ? "the device work dominates: more GPUs help up to where the "
                                "shared storage saturates"
                              : "loading dominates: more GPUs do not help; faster storage, "
                                "smaller or compressed data, or more work per voxel do");
    if (plan->ntasks == 0)
        fprintf(f, "advice     none: no task to run\n");
    else
        fprintf(f,
                "advice     %d rank%s per GPU keep%s a GPU busy through the reads and writes; %d "
                "GPU%s\n           %s:\n           %d rank%s -> predicted %.2f s\n",
                p->adv_rpg, p->adv_rpg > 1 ? "s" : "", p->adv_rpg > 1 ? "" : "s", p->adv_gpus,
                p->adv_gpus > 1 ? "s" : "",
                p->adv_gpus < p->adv_gpus_storage
                    ? "(one per task: a task runs whole on one GPU; the storage would allow more)"
                    : "before the storage limits",
                p->adv_rpg * p->adv_gpus, p->adv_rpg * p->adv_gpus > 1 ? "s" : "", p->adv_total);
    fprintf(f, "nothing    was written: %s does not exist or is unchanged\n", job->cfg.output_file);
    fflush(f);
}

/* Rank 0: the probe itself. */
static lapse_status_t probe(const lapse_job_t *job, lapse_cl_t *cl, const lapse_plan_t *plan,
                            const lapse_devmem_t *mem, const lapse_probe_opts_t *o, int nranks,
                            probe_t *p)
{
    lapse_status_t st = LAPSE_OK;
    lapse_reader_t *in = NULL;
    lapse_pipeline_t *pipe = NULL;
    tmpout_t out;
    memset(&out, 0, sizeof out);
    out.file = out.dxpl = H5I_INVALID_HID;

    if (plan->ntps < 1)
        LAPSE_FAIL(LAPSE_ECONFIG, "no timepoint selected: nothing to probe");
    /* the middle selected timepoint's first tile (its core is a full tile: plan.h) */
    lapse_plan_t all = *plan;
    all.todo = NULL;
    all.ntasks = plan->ntps * plan->ntiles;
    lapse_plan_task(&all, (plan->ntps / 2) * plan->ntiles, &p->task);
    p->nranks = o->nranks > 0 ? o->nranks : nranks;
    p->rpg = o->ranks_per_gpu > 0 ? o->ranks_per_gpu : mem->nshare;
    if (p->rpg > p->nranks)
        p->rpg = p->nranks;
    p->task_bytes = lapse_sizing_task_bytes(job, plan->max_read_voxels, plan->max_core_voxels);

    LAPSE_TRY(lapse_reader_open(job->cfg.input_file, job->cfg.input_dataset, &in));
    LAPSE_TRY(tmpout_open(job, plan, &out));
    double t0 = MPI_Wtime();
    LAPSE_TRY(lapse_pipeline_create(cl, &job->graph, plan->max_read_voxels, plan->max_core_voxels,
                                    &pipe));
    p->setup = MPI_Wtime() - t0;
    p->cache_dropped = drop_cache(job->cfg.input_file);
    long long bytes_out = 0;
    /* a stop signal (Ctrl-C, scancel) ends the probe between its stages (exit 75) */
    if (lapse_stop_requested())
        LAPSE_TRY(lapse_interrupted());
    LAPSE_TRY(run_once(job, in, pipe, &out, &p->task, &p->cold, &bytes_out));
    if (lapse_stop_requested())
        LAPSE_TRY(lapse_interrupted());
    LAPSE_TRY(run_once(job, in, pipe, &out, &p->task, &p->warm, &bytes_out));
    if (lapse_stop_requested())
        LAPSE_TRY(lapse_interrupted());
    p->bytes_in = lapse_box_voxels(&p->task.read) * (long long)lapse_dtype_size(job->in.dtype);
    p->bytes_out = bytes_out;
    predict(job, plan, p);
cleanup:
    lapse_pipeline_destroy(pipe);
    tmpout_close(&out);
    lapse_reader_close(in);
    return st;
}

/* Collective: wait until every rank has arrived, sleeping between polls (a blocking MPI call
 * spins a core in most MPI libraries, which would take CPU time from the probe of rank 0). */
static lapse_status_t quiet_barrier(MPI_Comm comm)
{
    lapse_status_t st = LAPSE_OK;
    MPI_Request req;
    int done = 0;
    LAPSE_MPI(MPI_Ibarrier(comm, &req));
    for (;;) {
        LAPSE_MPI(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
        if (done)
            break;
        struct timespec ts = {0, 2000000}; /* 2 ms */
        nanosleep(&ts, NULL);
    }
cleanup:
    return st;
}

lapse_status_t lapse_probe_run(const lapse_ranks_t *r, const lapse_job_t *job, lapse_cl_t *cl,
                               const lapse_plan_t *plan, const lapse_devmem_t *mem,
                               const lapse_probe_opts_t *o)
{
    lapse_status_t st = LAPSE_OK;
    if (r->rank == 0) {
        probe_t p;
        memset(&p, 0, sizeof p);
        st = probe(job, cl, plan, mem, o, r->nranks, &p);
        if (st == LAPSE_OK && o->json)
            print_json(job, plan, cl, mem, &p);
        else if (st == LAPSE_OK)
            print_text(job, plan, cl, mem, &p);
        else
            lapse_err_print(st);
    }
    lapse_status_t bst = quiet_barrier(r->world);
    if (bst != LAPSE_OK) {
        lapse_err_print(bst);
        st = st == LAPSE_OK ? bst : st;
    }
    return lapse_agree(r->world, st);
}
