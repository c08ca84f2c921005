/*
 * env.c - checks the LAPSE_* environment variables (see env.h).
 */
#include "env.h"

#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    ENV_INDEX,
    ENV_SECONDS,
    ENV_BYTES,
    ENV_KERNELS,
    ENV_BOOL01,
    ENV_WRITE,
    ENV_DEAL,
    ENV_SHAPE3,
    ENV_TO32, /* an integer in [1, 32] */
    ENV_TO64, /* an integer in [1, 64] */
    ENV_REG,  /* an integer in [0, 255] */
    ENV_INT4  /* four integers a,b,c,d > 0 (the reader checks their ranges) */
} env_kind_t;

/* per_rank: 1 when ranks may see different values (the variable only selects this rank's device
 * or what it prints); 0 when every rank must see the same value, because it shapes a collective
 * call (chunking, write mode, phase waves), the plan, or the results (lapse_env_digest). */
static const struct {
    const char *name;
    env_kind_t kind;
    const char *want;
    int per_rank;
} env_vars[] = {
    {"LAPSE_DEVICE", ENV_INDEX, "a device index (0, 1, ...)", 1},
    {"LAPSE_PROGRESS_INTERVAL", ENV_SECONDS, "a number of seconds > 0", 1},
    {"LAPSE_DEVICE_MEM_LIMIT", ENV_BYTES, "a number of bytes > 0", 0},
    {"LAPSE_PHASE_MEM", ENV_BYTES, "a number of bytes > 0", 0},
    {"LAPSE_WAVE_TIMEPOINTS", ENV_BYTES, "a number of timepoints > 0", 0},
    {"LAPSE_PHASE_CACHE", ENV_BYTES, "a number of bytes > 0", 0},
    {"LAPSE_EXCHANGE_UNITS", ENV_BYTES, "a number of units > 0", 0},
    {"LAPSE_COPY_THREADS", ENV_TO64, "a number of threads (1-64)", 1},
    {"LAPSE_KERNELS", ENV_KERNELS, "simple or default", 0},
    {"LAPSE_SYNC_MARKS", ENV_BOOL01, "0 or 1", 0},
    {"LAPSE_OVERLAP", ENV_BOOL01, "0 or 1", 0},
    {"LAPSE_RAW_WRITE", ENV_BOOL01, "0 or 1", 0},
    {"LAPSE_FALLOCATE", ENV_BOOL01, "0 or 1", 0},
    {"LAPSE_WT_NET", ENV_BOOL01, "0 or 1", 0},
    {"LAPSE_GEOM_XY", ENV_BOOL01, "0 or 1", 0},
    {"LAPSE_BG_FIX", ENV_BOOL01, "0 or 1", 0},
    {"LAPSE_IO_STATS", ENV_BOOL01, "0 or 1", 1},
    {"LAPSE_H5_WRITE", ENV_WRITE, "independent or collective", 0},
    {"LAPSE_H5_CHUNK", ENV_SHAPE3, "a chunk shape z,y,x of integers > 0", 0},
    {"LAPSE_H5_ALIGN", ENV_BYTES, "a number of bytes > 0", 0},
    {"LAPSE_H5_MDC", ENV_BYTES, "a number of bytes > 0", 0},
    {"LAPSE_H5_INPUT_CACHE", ENV_BYTES, "a number of bytes > 0", 1},
    {"LAPSE_PROFILE", ENV_BOOL01, "0 or 1", 1},
    {"LAPSE_NV_MAXRREG", ENV_REG, "0 (no cap) or a number of registers 1-255", 0},
    {"LAPSE_MM_BOX", ENV_BOOL01, "0 or 1", 0},
    {"LAPSE_MM_GEOM1", ENV_INT4, "TX,TY,KZ,NT: four integers > 0", 0},
    {"LAPSE_MM_GEOM2", ENV_INT4, "TX,TY,KZ,NT: four integers > 0", 0},
    {"LAPSE_MM_FUSE2", ENV_BOOL01, "0 or 1", 0},
    {"LAPSE_WT_GEOM", ENV_INT4, "TX,RO,WY,KZ: four integers > 0", 0},
    {"LAPSE_SCHED_HELPER", ENV_BOOL01, "0 or 1", 0},
    {"LAPSE_SCHED_STATS", ENV_BOOL01, "0 or 1", 1},
    {"LAPSE_DEAL", ENV_DEAL, "tasks, timepoints or whole", 0},
    {"LAPSE_SPACE_CHECK", ENV_BOOL01, "0 or 1", 0},
};

/* 1 when s (non-empty) is well formed for kind. */
static int env_ok(env_kind_t kind, const char *s)
{
    char *end = NULL;
    errno = 0;
    switch (kind) {
    case ENV_INDEX: {
        long v = strtol(s, &end, 10);
        return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 && v <= 1000000;
    }
    case ENV_SECONDS: {
        double v = strtod(s, &end);
        return *end == '\0' && errno == 0 && isfinite(v) && v > 0.0;
    }
    case ENV_BYTES: {
        unsigned long long v = strtoull(s, &end, 10);
        return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 && v > 0;
    }
    case ENV_KERNELS:
        return strcmp(s, "simple") == 0 || strcmp(s, "default") == 0;
    case ENV_BOOL01:
        return strcmp(s, "0") == 0 || strcmp(s, "1") == 0;
    case ENV_WRITE:
        return strcmp(s, "independent") == 0 || strcmp(s, "collective") == 0;
    case ENV_DEAL:
        return strcmp(s, "tasks") == 0 || strcmp(s, "timepoints") == 0 || strcmp(s, "whole") == 0;
    case ENV_TO32:
    case ENV_TO64: {
        long v = strtol(s, &end, 10);
        return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 && v >= 1 &&
               v <= (kind == ENV_TO32 ? 32 : 64);
    }
    case ENV_REG: {
        long v = strtol(s, &end, 10);
        return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 && v <= 255;
    }
    case ENV_INT4: {
        long long a = 0, b = 0, c = 0, d = 0;
        char tail = 0;
        return sscanf(s, "%lld,%lld,%lld,%lld%c", &a, &b, &c, &d, &tail) == 4 && a > 0 && b > 0 &&
               c > 0 && d > 0;
    }
    case ENV_SHAPE3: {
        long long a = 0, b = 0, c = 0;
        char tail = 0;
        return sscanf(s, "%lld,%lld,%lld%c", &a, &b, &c, &tail) == 3 && a > 0 && b > 0 && c > 0;
    }
    }
    return 0;
}

size_t lapse_env_count(void)
{
    return sizeof env_vars / sizeof *env_vars;
}

const char *lapse_env_name(size_t i)
{
    return i < lapse_env_count() ? env_vars[i].name : NULL;
}

uint64_t lapse_env_digest(size_t i)
{
    if (i >= lapse_env_count() || env_vars[i].per_rank)
        return 0;
    const char *v = getenv(env_vars[i].name);
    if (v == NULL || v[0] == '\0')
        return 0;                        /* unset and empty are the same */
    uint64_t h = 1469598103934665603ull; /* FNV-1a, never 0 for a set value */
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h ? h : 1;
}

lapse_status_t lapse_env_check(void)
{
    for (size_t i = 0; i < sizeof env_vars / sizeof *env_vars; i++) {
        const char *v = getenv(env_vars[i].name);
        if (v != NULL && v[0] != '\0' && !env_ok(env_vars[i].kind, v))
            return lapse_fail(LAPSE_EUSAGE, "%s=%.60s: expected %s", env_vars[i].name, v,
                              env_vars[i].want);
    }
    return LAPSE_OK;
}
