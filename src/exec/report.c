/*
 * report.c - the plan and the run summary as text (see report.h). The task table lists the
 * core and read boxes of each task; the output datasets and measurement tables name the pipeline
 * step they come from.
 */
#include "exec/report.h"

#include <stdlib.h>
#include <string.h>

#include "exec/hostmem.h"
#include "exec/phases.h"
#include "io/reader.h"
#include "ops/op.h"
#include "tpsel.h"

/* The measurement tables the run writes (a measuring step's /<name> and /<name>_summary,
 * exec/phases.c write_table) and whose rows: those of the timepoints with a task to run (the
 * global steps' rounds run over them), in place of any earlier rows of those timepoints; the
 * rows of the other timepoints stay. Nothing when the pipeline measures nothing. */
static void report_tables(const lapse_job_t *job, const lapse_plan_t *p, FILE *f)
{
    const lapse_graph_t *g = &job->graph;
    int any = 0;
    for (int k = 0; k < g->nsteps && !any; k++) {
        const lapse_step_t *s = g->node[k].step;
        any = s->op->global && s->op->global->table && s->name[0];
    }
    if (!any)
        return;
    int64_t *tps = malloc((size_t)(p->ntps ? p->ntps : 1) * sizeof *tps), n = 0;
    if (tps == NULL) {
        fprintf(f, "tables     (out of memory listing them)\n");
        return;
    }
    for (int64_t i = 0; i < p->ntasks; i++) { /* timepoint by timepoint (phases.c find_active) */
        int64_t t = p->tps[(p->todo ? p->todo[i] : i) / p->ntiles];
        if (n == 0 || tps[n - 1] != t)
            tps[n++] = t;
    }
    char sel[256];
    lapse_tpsel_format(tps, n, sel, sizeof sel);
    free(tps);
    if (n == 0)
        fprintf(f, "tables     no rows written (no task to run)\n");
    else if (job->mode == LAPSE_MODE_UPDATE)
        fprintf(f,
                "tables     rows of timepoints %s replaced (%lld); the other timepoints' rows "
                "are kept\n",
                sel, (long long)n);
    else
        fprintf(f, "tables     rows of timepoints %s (%lld)\n", sel, (long long)n);
    for (int k = 0; k < g->nsteps; k++) {
        const lapse_step_t *s = g->node[k].step;
        if (s->op->global == NULL || s->op->global->table == NULL || s->name[0] == '\0')
            continue;
        fprintf(f, "  /%-19s rows of its measurements  from step %d (%s)\n", s->name, k,
                s->op->name);
        char sum[LAPSE_STEP_NAME_MAX + 16];
        snprintf(sum, sizeof sum, "%s_summary", s->name);
        fprintf(f, "  /%-19s one row per timepoint  from step %d (%s)\n", sum, k, s->op->name);
    }
}

/* The waves of a run with rounds of global steps (exec/phases.h lapse_phases_wave, exec/deal.h):
 * how many, of at most how many timepoints on nranks ranks. Nothing without rounds. */
static void report_waves(const lapse_job_t *job, const lapse_plan_t *p, int nranks, FILE *f)
{
    if (!lapse_phases_rounds(job, p))
        return;
    int64_t ntps = 0; /* timepoints with a pending task (tasks are in timepoint order) */
    for (int64_t q = 0, last = -1; q < p->ntasks; q++) {
        const int64_t tpi = (p->todo ? p->todo[q] : q) / p->ntiles;
        ntps += tpi != last;
        last = tpi;
    }
    const int64_t w = lapse_phases_wave(p, nranks), n = (ntps + w - 1) / w;
    fprintf(f,
            "waves      %lld wave%s of at most %lld timepoint%s on %d rank%s, each its global "
            "steps' rounds then its tasks: a stopped run redoes at most its current wave "
            "(LAPSE_PHASE_MEM, LAPSE_WAVE_TIMEPOINTS)\n",
            (long long)n, n == 1 ? "" : "s", (long long)w, w == 1 ? "" : "s", nranks,
            nranks == 1 ? "" : "s");
}

void lapse_report_plan(const lapse_job_t *job, const lapse_plan_t *p, const lapse_devmem_t *mem,
                       int nranks, FILE *f)
{
    const lapse_config_t *cfg = &job->cfg;
    unsigned long long bytes = lapse_sizing_task_bytes(job, p->max_read_voxels, p->max_core_voxels);
    char sel[256];
    lapse_tpsel_format(p->tps, p->ntps, sel, sizeof sel);
    fprintf(f, "input      %s%s%s  [t=%lld, z=%lld, y=%lld, x=%lld] %s\n", cfg->input_file,
            cfg->input_dataset[0] ? ":" : "", cfg->input_dataset, (long long)job->in.ntp,
            (long long)job->in.shape[0], (long long)job->in.shape[1], (long long)job->in.shape[2],
            lapse_dtype_name(job->in.dtype));
    if (strstr(cfg->input_dataset, "#files") != NULL) { /* which file each index is */
        char **names = NULL;
        size_t n = 0;
        if (lapse_reader_files_list(cfg->input_file, &names, &n) == LAPSE_OK && n > 0)
            fprintf(f,
                    "           t=0 is %s, t=%zu is %s (timepoints count the files from the "
                    "first, whatever their numbers)\n",
                    names[0], n - 1, names[n - 1]);
        lapse_err_clear();
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
    }
    if (job->in.file_dtype != job->in.dtype)
        fprintf(f, "           the file's %s is read as %s\n", lapse_dtype_name(job->in.file_dtype),
                lapse_dtype_name(job->in.dtype));
    if (job->in.axes_assumed)
        fprintf(f, "           %s\n", LAPSE_AXES_NOTE(job->in.axes_assumed));
    if (job->in.nchannels > 1)
        fprintf(f, "           %lld channels in the file, one read (input.channel)\n",
                (long long)job->in.nchannels);
    if (job->in.voxel_size_um[0] > 0 || job->in.voxel_size_um[1] > 0 ||
        job->in.voxel_size_um[2] > 0)
        fprintf(f, "voxel      [%g, %g, %g] um (z, y, x; 0 = unknown)%s\n",
                job->in.voxel_size_um[0], job->in.voxel_size_um[1], job->in.voxel_size_um[2],
                cfg->input_voxel_size_given ? " from input.voxel_size" : " from the input");
    else
        fprintf(f, "voxel      size unknown (set input.voxel_size: [z, y, x] micrometres)\n");
    fprintf(f, "timepoints %s (%lld)\n", sel, (long long)p->ntps);
    fprintf(f, "tile       [%lld, %lld, %lld]%s  grid [%lld, %lld, %lld] = %lld tiles/timepoint\n",
            (long long)p->tile[0], (long long)p->tile[1], (long long)p->tile[2],
            cfg->tile_auto ? " (auto)" : "", (long long)p->grid[0], (long long)p->grid[1],
            (long long)p->grid[2], (long long)p->ntiles);
    if (job->graph.transform)
        fprintf(f,
                "geometry   tiles cover the result [%lld, %lld, %lld]; each reads the input box "
                "its geometric steps map it to\n",
                (long long)p->shape[0], (long long)p->shape[1], (long long)p->shape[2]);
    fprintf(f, "halo       [%lld, %lld, %lld]%s  pipeline reach [%lld, %lld, %lld]\n",
            (long long)p->halo[0], (long long)p->halo[1], (long long)p->halo[2],
            cfg->halo_auto ? " (auto)" : "", (long long)job->reach[0], (long long)job->reach[1],
            (long long)job->reach[2]);
    fprintf(f,
            "device mem %.1f MiB per task (largest read box %lld voxels, core %lld voxels); "
            "%d rank%s a %.1f MiB device\n",
            (double)bytes / 1048576.0, (long long)p->max_read_voxels, (long long)p->max_core_voxels,
            mem->nshare, mem->nshare > 1 ? "s share" : " has", (double)mem->device / 1048576.0);
    { /* host memory per rank: the pipeline's 2 pinned staging slots (pipeline.c), and the room
       * global steps may keep between their rounds (exec/phases.h) */
        const lapse_graph_t *g = &job->graph;
        double slot = (double)p->max_read_voxels * (double)lapse_dtype_size(g->in_dtype);
        for (int k = 0; k < g->nout; k++)
            slot += (double)p->max_core_voxels * (double)lapse_dtype_size(g->out[k].dtype);
        fprintf(f,
                "host mem   %.1f MiB per rank for the tasks (2 pinned slots of the read box and "
                "the results)",
                2.0 * slot / 1048576.0);
        if (lapse_phases_needed(job) && p->ntiles > 1)
            fprintf(f,
                    "; global steps may keep up to %.1f MiB more per rank (a quarter of the "
                    "memory the process may use, the host's or its cgroup's (Slurm's --mem), "
                    "shared by the %d rank%s on the host; LAPSE_PHASE_CACHE sets it)",
                    (double)lapse_phases_host_budget(mem->host_ranks > 0 ? mem->host_ranks : 1) /
                        1048576.0,
                    mem->host_ranks, mem->host_ranks == 1 ? "" : "s");
        if (job->in.chunk_cache_bytes > 0)
            fprintf(f,
                    "; the compressed input's chunk cache up to %.1f MiB per rank (one "
                    "timepoint's chunks; LAPSE_H5_INPUT_CACHE sets the most)",
                    job->in.chunk_cache_bytes / 1048576.0);
        if (job->in.reader_buf_bytes >= 1048576.0)
            fprintf(f, "; the input reader's buffers %.1f MiB per rank (a chunk read and decoded)",
                    job->in.reader_buf_bytes / 1048576.0);
        fprintf(f, "\n");
        /* --mem: what the host's ranks need besides the parts lapse sizes to the memory the
         * process may use (the global steps' cache, a quarter by default; a CPU device's data,
         * half): the runtime as this process holds it now (MPI, OpenCL, HDF5) and the buffers
         * above; the memory M is enough when need + fraction x M <= M */
        const int per_host = mem->host_ranks > 0 ? mem->host_ranks : 1;
        const double runtime = (double)lapse_hostmem_rss();
        /* (and one reader's buffers more: rank 0 reads the input's identity at the run's end
         * with its task reader still open; on a Zarr input of 144 MiB chunks rank 0 held 766
         * MiB, rank 1 478 MiB) */
        double need =
                   (runtime + 2.0 * slot + job->in.chunk_cache_bytes + job->in.reader_buf_bytes) *
                       per_host +
                   job->in.reader_buf_bytes,
               frac = 0;
        const int cache = lapse_phases_needed(job) && p->ntiles > 1;
        if (cache && getenv("LAPSE_PHASE_CACHE") != NULL) /* set: per rank */
            need += (double)lapse_phases_host_budget(per_host) * per_host;
        else if (cache)
            frac += 0.25;
        if (mem->host_backed && getenv("LAPSE_DEVICE_MEM_LIMIT") != NULL)
            need += (double)mem->device; /* the device, shared by the host's ranks */
        else if (mem->host_backed)
            frac += 0.5;
        const double least = need / (1.0 - frac), limit = (double)lapse_hostmem_limit();
        fprintf(f,
                "           the %d rank%s on this host need%s %.0f MiB (the runtime: this process "
                "holds %.0f MiB now; the buffers above)%s: Slurm's --mem at least %.0f MiB\n",
                per_host, per_host == 1 ? "" : "s", per_host == 1 ? "s" : "", need / 1048576.0,
                runtime / 1048576.0,
                frac >= 0.75  ? ", besides the global steps' quarter and the CPU device's half of "
                                "the memory the process may use"
                : frac >= 0.5 ? ", besides the CPU device's half of the memory the process may use"
                : frac > 0    ? ", besides the global steps' quarter of the memory the process "
                                "may use"
                              : "",
                least / 1048576.0);
        if (limit > 0 && least > limit)
            fprintf(f,
                    "           WARNING: that is more than the %.0f MiB this process may use (the "
                    "host's or its cgroup's limit): fewer ranks per host, smaller tiles, or more "
                    "memory\n",
                    limit / 1048576.0);
    }
    fprintf(f, "output     %s (mode %s)\n", cfg->output_file,
            job->mode == LAPSE_MODE_CREATE      ? "create"
            : job->mode == LAPSE_MODE_OVERWRITE ? "overwrite"
            : job->recompute                    ? "update: the selected timepoints are recomputed"
            : job->updating                     ? "update: continuing its unfinished run"
                                                : "create: continuing the existing output");
    for (int k = 0; k < job->nout; k++) {
        const lapse_dset_spec_t *s = &job->out[k];
        fprintf(f, "  %-20s %s [", s->path, lapse_dtype_name(s->dtype));
        for (int d = 0; d < s->ndims; d++)
            fprintf(f, "%s%lld", d ? ", " : "", (long long)s->dims[d]);
        fprintf(f, "]  from step %d (%s)\n", job->out_step[k],
                cfg->steps[job->out_step[k]].op->name);
    }
    report_tables(job, p, f);
    {
        char need[32], have[32], dir[4096];
        unsigned long long avail = 0;
        lapse_human_bytes(lapse_job_output_bytes(job), need, sizeof need);
        fprintf(f, "size       %s for the datasets%s", need,
                cfg->compression != LAPSE_COMP_NONE ? " uncompressed (compressed: less)" : "");
        if (lapse_job_output_free(cfg, dir, sizeof dir, &avail) == 0) {
            lapse_human_bytes(avail, have, sizeof have);
            fprintf(f, "; %s free on the file system of %s", have, dir);
        }
        fprintf(f, "\n");
    }
    report_waves(job, p, nranks, f);
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

void lapse_report_summary(int64_t run_id, const lapse_plan_t *plan, const char *output_file,
                          double el)
{
    double vox = 0;
    for (int64_t i = 0; i < plan->ntasks; i++) {
        lapse_task_t t;
        lapse_plan_task(plan, i, &t);
        vox += (double)lapse_box_voxels(&t.core);
    }
    printf("lapse: run %lld done: %lld tasks in %.2f s, %.3g voxels/s; output: %s\n",
           (long long)run_id, (long long)plan->ntasks, el, el > 0 ? vox / el : 0.0, output_file);
    fflush(stdout);
}
