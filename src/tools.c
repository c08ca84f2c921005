/*
 * tools.c - `lapse report` and `lapse compare`: the plotting tools are Python scripts
 * (tools/lapse_report.py, tools/lapse_compare.py; Debian's matplotlib, h5py, NumPy, tifffile),
 * run by replacing this process with the interpreter, so that their exit status, output and
 * signals are the command's own. This file only finds the script and the interpreter.
 */
#include "tools.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LAPSE_SOURCE_DIR
#define LAPSE_SOURCE_DIR ""
#endif
#ifndef LAPSE_DATADIR
#define LAPSE_DATADIR ""
#endif

/* The directory of this executable (from /proc/self/exe) into dir[len]; "" when unknown. */
static void exe_dir(char *dir, size_t len)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    dir[0] = '\0';
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash == NULL)
        return;
    *slash = '\0';
    snprintf(dir, len, "%s", buf);
}

lapse_status_t lapse_tool_find(const char *name, char *buf, size_t len)
{
    char exe[PATH_MAX], cand[5][PATH_MAX + 64], tried[5 * (PATH_MAX + 72)];
    int n = 0;
    const char *env = getenv("LAPSE_TOOLS");
    buf[0] = '\0';
    if (env && *env) {
        snprintf(cand[n++], sizeof cand[0], "%s/%s", env, name);
    } else {
        exe_dir(exe, sizeof exe);
        if (exe[0]) {
            snprintf(cand[n++], sizeof cand[0], "%s/../share/lapse/tools/%s", exe, name);
            snprintf(cand[n++], sizeof cand[0], "%s/../tools/%s", exe, name);
        }
        if (LAPSE_SOURCE_DIR[0])
            snprintf(cand[n++], sizeof cand[0], "%s/tools/%s", LAPSE_SOURCE_DIR, name);
        if (LAPSE_DATADIR[0])
            snprintf(cand[n++], sizeof cand[0], "%s/tools/%s", LAPSE_DATADIR, name);
    }
    tried[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (access(cand[i], R_OK) == 0) {
            if (strlen(cand[i]) >= len)
                return lapse_fail(LAPSE_ERUNTIME, "path of %s too long", name);
            snprintf(buf, len, "%s", cand[i]);
            return LAPSE_OK;
        }
        size_t at = strlen(tried);
        snprintf(tried + at, sizeof tried - at, "\n  %s", cand[i]);
    }
    return lapse_fail(LAPSE_ERUNTIME,
                      "cannot find the tool script %s; tried:%s\n(set LAPSE_TOOLS to the "
                      "directory holding it, e.g. the tools/ folder of the lapse sources)",
                      name, tried);
}

lapse_status_t lapse_tool_exec(const char *name, int argc, char **argv)
{
    char script[PATH_MAX];
    const char *py = getenv("LAPSE_PYTHON");
    if (py == NULL || *py == '\0')
        py = "/usr/bin/python3";
    lapse_status_t st = lapse_tool_find(name, script, sizeof script);
    if (st != LAPSE_OK)
        return st;
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (args == NULL)
        return lapse_fail(LAPSE_ENOMEM, "out of memory");
    args[0] = (char *)py;
    args[1] = script;
    for (int i = 0; i < argc; i++)
        args[i + 2] = argv[i];
    fflush(stdout);
    fflush(stderr);
    execv(py, args); /* returns only on failure */
    int e = errno;
    free(args);
    return lapse_fail(LAPSE_ERUNTIME,
                      "cannot run %s (%s) for %s: it needs Python 3 with matplotlib, h5py and "
                      "NumPy (tools/deps.sh installs them); set LAPSE_PYTHON to another "
                      "interpreter",
                      py, strerror(e), name);
}
