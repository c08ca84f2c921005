/*
 * sizing.c - the plan of a run sized to the device memory (see sizing.h).
 *
 * device_share() groups the ranks by host (MPI_COMM_TYPE_SHARED) and then by chosen device,
 * so that ranks sharing one device divide its memory; choose_tile() picks the tile and
 * check_fit() refuses a tile whose task would not fit. The pipeline's device cost is asked in
 * lapse_sizing_task_bytes only.
 */
#include "exec/sizing.h"

#include <stdlib.h>
#include <string.h>

#include "exec/hostmem.h"

/* Fraction of a rank's share of the device memory that tiles: auto may use. */
#define AUTO_TILE_MEM_FRACTION 0.5

unsigned long long lapse_sizing_task_bytes(const lapse_job_t *job, long long read_voxels,
                                           long long core_voxels)
{
    return lapse_graph_device_bytes(&job->graph, read_voxels, core_voxels);
}

static unsigned long long task_cost(const void *ctx, long long read_voxels, long long core_voxels)
{
    return lapse_sizing_task_bytes(ctx, read_voxels, core_voxels);
}

/* Collective: the number of ranks of this host that chose the same physical device as this
 * rank (*n), and of all ranks of this host (*host): those whose device identity (clrt.h
 * lapse_cl_ident: its PCI address, else its entry in the visible-devices list, else its index)
 * equals this rank's. */
static lapse_status_t ranks_on_device(const lapse_ranks_t *r, const lapse_cl_choice_t *dev, int *n,
                                      int *host)
{
    lapse_status_t st = LAPSE_OK;
    MPI_Comm node = MPI_COMM_NULL;
    char *all = NULL;
    int size = 0;
    const int len = (int)sizeof dev->ident;
    LAPSE_MPI(MPI_Comm_split_type(r->world, MPI_COMM_TYPE_SHARED, r->rank, MPI_INFO_NULL, &node));
    LAPSE_MPI(MPI_Comm_size(node, &size));
    if (size < 1)
        LAPSE_FAIL(LAPSE_EMPI, "MPI_Comm_split_type gave a host of %d ranks", size);
    *host = size;
    /* the host's ranks agree that each has the buffer before the exchange (a rank failing
     * alone would leave the others waiting in it) */
    char stackbuf[256 * sizeof dev->ident];
    all = size <= 256 ? stackbuf : calloc((size_t)size, (size_t)len);
    int have = all != NULL, all_have = 0;
    LAPSE_MPI(MPI_Allreduce(&have, &all_have, 1, MPI_INT, MPI_MIN, node));
    if (!all_have || !all) /* (all_have is 0 when any rank's all is NULL) */
        LAPSE_FAIL(LAPSE_ENOMEM, "out of memory for %d device identities", size);
    LAPSE_MPI(MPI_Allgather(dev->ident, len, MPI_CHAR, all, len, MPI_CHAR, node));
    *n = 0;
    for (int i = 0; i < size; i++)
        *n += strncmp(all + (size_t)i * (size_t)len, dev->ident, (size_t)len) == 0;
cleanup:
    if (all != stackbuf)
        free(all); /* NULL too */
    if (node != MPI_COMM_NULL)
        MPI_Comm_free(&node);
    return st;
}

/* Collective: *mem for device dev, the same on every rank. */
static lapse_status_t device_share(const lapse_ranks_t *r, const lapse_cl_choice_t *dev,
                                   lapse_devmem_t *mem)
{
    lapse_status_t st = LAPSE_OK;
    int nshare = 1;
    unsigned long long total = dev->global_mem, mine[2], least[2];
    unsigned long long alloc = dev->max_alloc;
    const char *cap = getenv("LAPSE_DEVICE_MEM_LIMIT"); /* bytes; for tests and shared GPUs */
    /* A CPU device's memory is the host's (PoCL reports all of it, whatever the cgroup): plan
     * with half of what the process may use (Slurm's --mem, a container's limit), the rest left
     * to the host's buffers and the global steps' host cache; else a run that keeps copies on
     * the device between rounds outgrows the limit and is killed without a word. */
    const unsigned long long lim = dev->is_gpu ? 0 : lapse_hostmem_limit();
    mem->host_backed = !dev->is_gpu;
    if (lim > 0 && total > lim / 2)
        total = lim / 2;
    if (cap && strtoull(cap, NULL, 10) > 0) {
        unsigned long long c = strtoull(cap, NULL, 10);
        total = total < c ? total : c;
        alloc = alloc < c ? alloc : c;
    }
    LAPSE_TRY(ranks_on_device(r, dev, &nshare, &mem->host_ranks));
    mine[0] = total / (unsigned long long)(nshare > 0 ? nshare : 1); /* (>= 1: this rank) */
    mine[1] = alloc;
    LAPSE_MPI(MPI_Allreduce(mine, least, 2, MPI_UNSIGNED_LONG_LONG, MPI_MIN, r->world));
    /* Which device gave the smallest share (for the plan's printout): the largest such. */
    unsigned long long who[2] = {0, 0}, most[2];
    if (mine[0] == least[0]) {
        who[0] = (unsigned long long)nshare;
        who[1] = total;
    }
    LAPSE_MPI(MPI_Allreduce(who, most, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, r->world));
    /* Output chunks are tiles, and HDF5 chunks must stay under 4 GiB: cap the float32 buffer
     * of a read box (which holds the core) at that size too. */
    if (least[1] > (4ULL << 30) - 1)
        least[1] = (4ULL << 30) - 1;
    mem->share = least[0];
    mem->max_alloc = least[1];
    mem->nshare = (int)most[0];
    mem->device = most[1];
cleanup:
    return st;
}

static int64_t graph_read_box(const void *ctx, const lapse_box_t *core, lapse_box_t *read);

/* Local: the tile before clipping: an existing output's, tiles: auto's, or the configured one.
 * LAPSE_ECONFIG when an explicit tile differs from an existing output's or auto finds none. */
lapse_status_t lapse_sizing_file_tile(const lapse_job_t *job)
{
    const lapse_config_t *cfg = &job->cfg;
    const int64_t *shape = job->graph.out_shape; /* the tiles cover the outputs */
    if (job->file_tile[0] <= 0 || cfg->tile_auto)
        return LAPSE_OK;
    int64_t want[3];
    for (int a = 0; a < 3; a++)
        want[a] = cfg->tile[a] < shape[a] ? cfg->tile[a] : shape[a];
    if (want[1] == job->file_tile[1] && want[2] == job->file_tile[2] &&
        (job->keep_z || want[0] == job->file_tile[0]))
        return LAPSE_OK;
    return lapse_config_fail(cfg, cfg->tile_mark, "tiles.shape",
                             "the output was written with tiles [%lld, %lld, %lld]; use that shape "
                             "(or tiles: auto) to continue it, or output.mode: overwrite",
                             (long long)job->file_tile[0], (long long)job->file_tile[1],
                             (long long)job->file_tile[2]);
}

static lapse_status_t choose_tile(const lapse_job_t *job, const lapse_devmem_t *mem,
                                  int64_t tile[3])
{
    lapse_status_t st = LAPSE_OK;
    const lapse_config_t *cfg = &job->cfg;
    int keep_z = job->keep_z;
    const int64_t *shape = job->graph.out_shape; /* the tiles cover the outputs */
    if (job->file_tile[0] > 0) {
        /* An existing output keeps its tiling: its task marks are per tile. */
        LAPSE_TRY(lapse_sizing_file_tile(job));
        memcpy(tile, job->file_tile, 3 * sizeof *tile);
    } else if (cfg->tile_auto) {
        /* geometric steps: the buffers come from the box rules, not from a halo */
        int tf = job->graph.transform;
        LAPSE_TRY(lapse_plan_auto_tile(
            shape, job->halo, keep_z,
            (unsigned long long)(AUTO_TILE_MEM_FRACTION * (double)mem->share), mem->max_alloc,
            task_cost, job, tf ? graph_read_box : NULL, tf ? &job->graph : NULL, tile));
    } else {
        for (int a = 0; a < 3; a++)
            tile[a] = cfg->tile[a];
    }
    if (keep_z)
        tile[0] = shape[0]; /* a z-projection needs whole z columns in one task */
cleanup:
    return st;
}

/* Local: LAPSE_ECONFIG when the plan's largest task does not fit this rank's share; the
 * message says what helps: smaller tiles, or, for an existing output (which keeps its tiling),
 * a device with more memory or output.mode: overwrite. */
static lapse_status_t check_fit(const lapse_job_t *job, const lapse_devmem_t *mem,
                                const lapse_plan_t *plan)
{
    const lapse_config_t *cfg = &job->cfg;
    unsigned long long need =
        lapse_sizing_task_bytes(job, plan->max_read_voxels, plan->max_core_voxels);
    if (need <= mem->share && (unsigned long long)plan->max_read_voxels * 4ULL <= mem->max_alloc)
        return LAPSE_OK;
    char has[128];
    if (mem->nshare > 1)
        snprintf(has, sizeof has, "each of the %d ranks sharing the device has", mem->nshare);
    else
        snprintf(has, sizeof has, "the device has");
    const char *cap = getenv("LAPSE_DEVICE_MEM_LIMIT");
    const char *fix = job->file_tile[0] > 0
                          ? "the existing output keeps the tiles it was written with: continue "
                            "it on a device with more memory, or set output.mode: overwrite to "
                            "start again with smaller tiles"
                          : "use a smaller tiles.shape or tiles: auto";
    return lapse_config_fail(
        cfg, cfg->tile_mark, "tiles.shape",
        "tiles [%lld, %lld, %lld] need %.1f MiB of device memory per task (largest buffer "
        "%.1f MiB), but %s %.1f MiB (largest buffer %.1f MiB%s): %s",
        (long long)plan->tile[0], (long long)plan->tile[1], (long long)plan->tile[2],
        (double)need / 1048576.0, (double)plan->max_read_voxels * 4.0 / 1048576.0, has,
        (double)mem->share / 1048576.0, (double)mem->max_alloc / 1048576.0,
        cap && *cap ? "; capped by LAPSE_DEVICE_MEM_LIMIT" : "", fix);
}

/* lapse_plan_box_fn over the job's graph: the read box from the box rules, and the largest
 * buffer of the task (a geometric step's result may be larger than the read box). */
static int64_t graph_read_box(const void *ctx, const lapse_box_t *core, lapse_box_t *read)
{
    lapse_box_t box[LAPSE_MAX_STEPS];
    lapse_graph_read_box(ctx, core, read);
    return lapse_graph_node_boxes(ctx, read, core, box);
}

lapse_status_t lapse_sizing_plan(const lapse_ranks_t *r, const lapse_job_t *job,
                                 const lapse_cl_choice_t *dev, lapse_devmem_t *mem,
                                 lapse_plan_t *plan)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_config_t *cfg = &job->cfg;
    int64_t tile[3];
    LAPSE_TRY(device_share(r, dev, mem));
    LAPSE_TRY(choose_tile(job, mem, tile));
    LAPSE_TRY(lapse_plan_make(job->graph.out_shape, tile, job->halo, job->tps, job->ntps, plan));
    /* each task reads what the graph's box rules say (an explicit halo rules otherwise; a graph
     * with geometric steps has halo: auto, job.c) */
    if (cfg->halo_auto)
        LAPSE_TRY(lapse_plan_set_read_box(plan, job->graph.transform ? job->graph.in_shape : NULL,
                                          graph_read_box, &job->graph));
    LAPSE_TRY(check_fit(job, mem, plan));
    if (job->file_ntiles > 0 && plan->ntiles != job->file_ntiles)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: its task state has %lld tiles per timepoint, the plan %lld",
                   cfg->output_file, (long long)job->file_ntiles, (long long)plan->ntiles);
    if (job->done && !job->recompute)
        LAPSE_TRY(lapse_plan_select(plan, job->done));
cleanup:
    return st;
}
