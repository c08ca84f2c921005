/*
 * main.c - the `lapse` command line: parses the subcommand and its options and hands over to
 * run.c (run, plan, devices, under MPI), sample.c, info.c and verify.c (serial); report and compare
 * run the Python tools (tools.c, tools/lapse_*.py). Exit codes: 0 success, 1 runtime failure, 2 bad
 * usage, config or input, 3 finished with failed tasks skipped (on_error: skip), 75 interrupted by
 * a signal (resumable).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec/ranks.h"
#include "info.h"
#include "verify.h"
#include "io/layout.h"
#include "run.h"
#include "sample.h"
#include "opsdoc.h"
#include "status.h"
#include "tools.h"

static const char usage_text[] =
    "usage: lapse <command> [options]\n"
    "\n"
    "Process microscopy time-lapses (HDF5, TIFF or Zarr, [t,z,y,x]) on GPUs over MPI ranks.\n"
    "\n"
    "commands:\n"
    "  run CONFIG [--timepoints SEL] [--dry-run]\n"
    "        run the pipeline of CONFIG (YAML, see docs/config.md); under mpirun or srun one\n"
    "        rank per GPU. --timepoints overrides the config's selection (\"0-99:2, 120\");\n"
    "        on an existing output it rewrites only those timepoints (with no\n"
    "        output.mode, or update; create only continues an unfinished output;\n"
    "        overwrite with --timepoints is refused when it would lose other timepoints'\n"
    "        results). --dry-run validates and prints the plan (with the output's size)\n"
    "        without writing anything; an output larger than the free space of its file\n"
    "        system is refused (exit 2) before it is made.\n"
    "  plan CONFIG [--timepoints SEL] [--probe [--json] [-n N] [--ranks-per-gpu K]]\n"
    "        print the task table, the tile and halo sizes and the device memory per task\n"
    "        and the output's size;\n"
    "        --probe runs one task (the middle timepoint's first tile) twice on the device\n"
    "        and predicts the run on N ranks (default: the MPI size), K per GPU: time per\n"
    "        phase, total, device memory, the bound (read, write or device) and how many\n"
    "        ranks per GPU or GPUs would help (docs/tools.md); writes nothing\n"
    "  devices [--kind gpu|cpu|any]\n"
    "        list OpenCL platforms and devices, and the device each local rank would take\n"
    "  sample OUT.h5 [--timepoints N] [--shape Z,Y,X] [--seed S]\n"
    "        write a deterministic synthetic nuclei time-lapse (uint16, dataset /raw)\n"
    "        defaults: --timepoints 10 --shape 32,256,256 --seed 1\n"
    "  ops [--markdown]\n"
    "        list the operations: parameters, inputs, reach and output dtype (--markdown:\n"
    "        the table of docs/operations.md)\n"
    "  info FILE.h5\n"
    "        datasets, runs, timepoints done, and timing per phase and per rank\n"
    "  verify OUT.h5 [--repair]\n"
    "        read back every task marked done (its core in every result dataset) and name\n"
    "        those HDF5 cannot read (exit 1 when any); --repair marks them not done, so\n"
    "        that the next run of the same config recomputes them (after a node crash)\n"
    "  report OUT.h5 [-o report.png] [--run ID]\n"
    "        a PNG of a run (Gantt chart of the tasks per rank and their phases, throughput,\n"
    "        phase breakdown, counts and thresholds per timepoint) and its numbers as text\n"
    "  compare A B [--mode voxels|table|labels] [--percent] [-o PREFIX] [--json]\n"
    "        Bland-Altman comparison of two images or tables (FILE.h5:/dataset, FILE.tif or\n"
    "        FILE.csv): bias, SD, 95% limits of agreement (with confidence intervals),\n"
    "        correlation per timepoint and overall (--percent: differences in % of the\n"
    "        mean); label images matched by IoU >= 0.5 (F1, mean IoU); PREFIX_scatter.png\n"
    "        and PREFIX_bland_altman.png. report and compare run Python (docs/tools.md);\n"
    "        their own --help lists every option\n"
    "\n"
    "options: --help, --version\n"
    "exit codes: 0 success, 1 runtime failure, 2 bad usage, config or input (nothing written),\n"
    "            3 finished, failed tasks skipped (on_error: skip; rerun to retry them),\n"
    "            75 interrupted by SIGTERM, SIGUSR2 or SIGINT (run the same command to continue)\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "lapse: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see lapse --help)\n");
    return 2;
}

/* Parse a non-negative integer that must be the whole string. */
static int parse_i64(const char *s, long long *v)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    *v = strtoll(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}

static int cmd_sample(int argc, char **argv)
{
    const char *out = NULL;
    long long ntp = 10, seed = 1;
    int64_t shape[3] = {32, 256, 256};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--timepoints") == 0) {
            if (parse_i64(v, &ntp) != 0 || ntp < 1)
                return usage_error("sample: --timepoints needs a positive integer, got '%s'",
                                   v ? v : "");
            i++;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_i64(v, &seed) != 0)
                return usage_error("sample: --seed needs a non-negative integer, got '%s'",
                                   v ? v : "");
            i++;
        } else if (strcmp(a, "--shape") == 0) {
            long long z, y, x;
            char tail;
            if (!v || sscanf(v, "%lld,%lld,%lld%c", &z, &y, &x, &tail) != 3 || z < 1 || y < 1 ||
                x < 1)
                return usage_error("sample: --shape needs Z,Y,X positive integers, got '%s'",
                                   v ? v : "");
            shape[0] = z;
            shape[1] = y;
            shape[2] = x;
            i++;
        } else if (a[0] == '-') {
            return usage_error("sample: unknown option '%s'", a);
        } else if (!out) {
            out = a;
        } else {
            return usage_error("sample: unexpected argument '%s'", a);
        }
    }
    if (!out)
        return usage_error("sample: missing output file%s", "");
    lapse_status_t st = lapse_sample_write(out, ntp, shape, (uint64_t)seed);
    if (st != LAPSE_OK) {
        lapse_err_print(st);
        return lapse_exit_code(st);
    }
    printf("lapse: wrote %s:/raw [%lld, %lld, %lld, %lld] uint16 (seed %lld)\n", out, ntp,
           (long long)shape[0], (long long)shape[1], (long long)shape[2], seed);
    return 0;
}

static int cmd_info(int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "--schema") == 0) { /* hidden: for tests/py/check_schema.py */
        lapse_layout_print_schema(stdout);
        return 0;
    }
    if (argc != 1 || argv[0][0] == '-')
        return usage_error("info: expected one file name%s", "");
    lapse_status_t st = lapse_info_print(argv[0], stdout);
    if (st != LAPSE_OK)
        lapse_err_print(st);
    return lapse_exit_code(st);
}

static int cmd_verify(int argc, char **argv)
{
    int repair = 0;
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--repair") == 0)
            repair = 1;
        else if (argv[i][0] == '-' || file)
            return usage_error("verify: expected OUT.h5 [--repair], got '%s'", argv[i]);
        else
            file = argv[i];
    }
    if (file == NULL)
        return usage_error("verify: expected OUT.h5 [--repair]%s", "");
    long long bad = 0;
    lapse_status_t st = lapse_verify(file, repair, stdout, &bad);
    if (st != LAPSE_OK) {
        lapse_err_print(st);
        return lapse_exit_code(st);
    }
    return bad && !repair ? 1 : 0;
}

/* run / plan options. */
static int parse_run(int argc, char **argv, int plan, lapse_run_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->dry_run = plan;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--timepoints") == 0 || strncmp(a, "--timepoints=", 13) == 0) &&
            o->timepoints != NULL) /* a second one: which the user meant is not known */
            return usage_error("--timepoints given twice ('%s' and the next); give one "
                               "selection, e.g. \"3, 4\"",
                               o->timepoints);
        if (strcmp(a, "--timepoints") == 0) {
            /* an empty value (an unset shell variable) is refused like a missing one: it would
             * select every timepoint and, on an existing output, recompute them all */
            if (i + 1 >= argc || argv[i + 1][strspn(argv[i + 1], " \t")] == '\0')
                return usage_error("--timepoints needs a selection such as \"0-9, 12\"%s", "");
            o->timepoints = argv[++i];
        } else if (strncmp(a, "--timepoints=", 13) == 0) {
            if (a[13 + strspn(a + 13, " \t")] == '\0')
                return usage_error("--timepoints needs a selection such as \"0-9, 12\"%s", "");
            o->timepoints = a + 13;
        } else if (strcmp(a, "--dry-run") == 0 && !plan) {
            o->dry_run = 1;
        } else if (strcmp(a, "--probe") == 0 && plan) {
            o->probe = 1;
        } else if (strcmp(a, "--json") == 0 && plan) {
            o->json = 1;
        } else if ((strcmp(a, "-n") == 0 || strcmp(a, "--ranks-per-gpu") == 0) && plan) {
            long long v;
            if (parse_i64(i + 1 < argc ? argv[i + 1] : NULL, &v) != 0 || v < 1 || v > 1000000)
                return usage_error("plan: %s needs a positive integer", a);
            if (a[1] == 'n')
                o->nranks = (int)v;
            else
                o->ranks_per_gpu = (int)v;
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else if (!o->config) {
            o->config = a;
        } else {
            return usage_error("unexpected argument '%s'", a);
        }
    }
    if (!o->config)
        return usage_error("missing CONFIG file%s", "");
    if (!o->probe && (o->json || o->nranks || o->ranks_per_gpu))
        return usage_error("plan: --json, -n and --ranks-per-gpu go with --probe%s", "");
    return 0;
}

#define MPI_MIN_LIFETIME 0.25 /* seconds from MPI_Init to MPI_Finalize, at least (with_mpi) */

/* Commands that need MPI: initialise, run, finalise. */
static int with_mpi(int argc, char **argv, const char *cmd, int sub_argc, char **sub_argv)
{
    lapse_run_opts_t o;
    const char *kind = "gpu";
    int code;
    if (strcmp(cmd, "devices") == 0) {
        for (int i = 0; i < sub_argc; i++) {
            if (strcmp(sub_argv[i], "--kind") == 0 && i + 1 < sub_argc)
                kind = sub_argv[++i];
            else if (strncmp(sub_argv[i], "--kind=", 7) == 0)
                kind = sub_argv[i] + 7;
            else if (strcmp(sub_argv[i], "--kind") == 0)
                return usage_error("devices: --kind needs a value: gpu, cpu or any%s", "");
            else
                return usage_error("devices: unexpected argument '%s'", sub_argv[i]);
        }
    } else if ((code = parse_run(sub_argc, sub_argv, strcmp(cmd, "plan") == 0, &o)) != 0) {
        return code;
    }
    int provided;
    /* A run's stop signals are caught from before MPI_Init: Slurm's time-limit warning (SIGUSR2)
     * or a TERM that arrives while the ranks start then stops the run cleanly (exit 75) instead
     * of killing the rank (docs/reliability.md). run.c installs the same handlers again. */
    if (strcmp(cmd, "run") == 0 && lapse_signals_install() != LAPSE_OK) {
        fprintf(stderr, "lapse: %s\n", lapse_errmsg());
        return 1;
    }
    /* SERIALIZED where offered: rank 0's scheduler server thread (exec/sched.h) needs it */
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "lapse: MPI_Init_thread failed\n");
        return 1;
    }
    if (provided < MPI_THREAD_FUNNELED) { /* OpenCL runtimes start threads of their own */
        fprintf(stderr,
                "lapse: the MPI library gives thread level %d, lapse needs "
                "MPI_THREAD_FUNNELED\n",
                provided);
        MPI_Finalize();
        return 1;
    }
    const double t_init = MPI_Wtime();
    code = strcmp(cmd, "devices") == 0 ? lapse_cmd_devices(kind) : lapse_cmd_run(&o);
    /* A short command (a config error, a dry run) finalises at least MPI_MIN_LIFETIME after
     * MPI_Init: Open MPI's progress thread, started by MPI_Init, could still be entering its
     * event loop (its first libevent call bound lazily by ld.so) while MPI_Finalize tore its
     * libraries down: SIGSEGV in ld.so on a rank (mpi_test_bad_configs, 2026-12-05, and
     * slurm_test_slurm's bad-config job twice; docs/testing.md Findings). */
    const double left = MPI_MIN_LIFETIME - (MPI_Wtime() - t_init);
    if (left > 0) {
        struct timespec ts = {0, (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
    /* every rank here before any finalises (Open MPI 4.1 issue #10313: MPI_Finalize without a
     * barrier before it crashed on some machines) */
    if (MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS)
        fprintf(stderr, "lapse: MPI_Barrier before MPI_Finalize failed\n");
    MPI_Finalize();
    /* Leave without exit()'s library destructors: Open MPI's progress thread can still be
     * starting (its first libevent call bound lazily by ld.so) when a short run (a config error)
     * ends, and a process crashed there once in CI (SIGSEGV in ld.so, docs/testing.md
     * Findings). Every file is closed and HDF5 ended with MPI_Finalize; stdio is flushed here. */
    fflush(NULL);
    _exit(code);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing command%s", "");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("lapse %s\n", LAPSE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "report") == 0 || strcmp(cmd, "compare") == 0) { /* --help is theirs */
        lapse_status_t st =
            lapse_tool_exec(strcmp(cmd, "report") == 0 ? "lapse_report.py" : "lapse_compare.py",
                            argc - 2, argv + 2);
        lapse_err_print(st); /* only reached when the tool could not be started */
        return lapse_exit_code(st);
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
    if (strcmp(cmd, "run") == 0 || strcmp(cmd, "plan") == 0 || strcmp(cmd, "devices") == 0)
        return with_mpi(argc, argv, cmd, argc - 2, argv + 2);
    if (strcmp(cmd, "sample") == 0)
        return cmd_sample(argc - 2, argv + 2);
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc - 2, argv + 2);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(argc - 2, argv + 2);
    if (strcmp(cmd, "ops") == 0) {
        lapse_ops_format_t fmt = LAPSE_OPS_PLAIN;
        if (argc == 3 && strcmp(argv[2], "--markdown") == 0)
            fmt = LAPSE_OPS_MARKDOWN;
        else if (argc == 3 && strcmp(argv[2], "--tsv") == 0) /* hidden: for tests/py */
            fmt = LAPSE_OPS_TSV;
        if (argc == 2 || (argc == 3 && fmt != LAPSE_OPS_PLAIN))
            return lapse_ops_print(stdout, fmt) == 0 ? 0 : 1;
        int bad = 2; /* the first argument that is no format, else the second format */
        while (bad < argc - 1 &&
               (strcmp(argv[bad], "--markdown") == 0 || strcmp(argv[bad], "--tsv") == 0))
            bad++;
        return usage_error("ops: expected no argument or --markdown, got '%s'", argv[bad]);
    }
    size_t n = strlen(cmd);
    if ((n > 5 && strcmp(cmd + n - 5, ".yaml") == 0) ||
        (n > 4 && strcmp(cmd + n - 4, ".yml") == 0)) {
        /* `lapse CONFIG`: a config given without its command */
        fprintf(stderr, "lapse: unknown command '%s'; to run a config: lapse run %s\n", cmd, cmd);
        fprintf(stderr, "(see lapse --help)\n");
        return 2;
    }
    return usage_error("unknown command '%s'", cmd);
}
