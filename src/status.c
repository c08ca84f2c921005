/*
 * status.c - the recorded error message, its context, exit codes, and the per-library failure
 * helpers used by the check macros in status.h.
 */
#include "status.h"

#ifdef __clang_analyzer__ /* status.h's analyzer-only macros would rename the definitions below */
#undef lapse_fail
#undef lapse_fail_at
#undef lapse_fail_wrap
#endif

#include <errno.h>
#include <hdf5.h>
#include <mpi.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static char err_msg[4096];
static char err_ctx[512];

static const struct {
    int code;
    const char *text;
} status_table[] = {
#define LAPSE_X_TABLE(name, code, text) {code, text},
    LAPSE_STATUS_MAP(LAPSE_X_TABLE)
#undef LAPSE_X_TABLE
};

int lapse_exit_code(lapse_status_t st)
{
    if ((int)st < 0 || st >= LAPSE_STATUS_COUNT)
        return 1;
    return status_table[st].code;
}

const char *lapse_strstatus(lapse_status_t st)
{
    if ((int)st < 0 || st >= LAPSE_STATUS_COUNT)
        return "unknown status";
    return status_table[st].text;
}

static lapse_status_t vfail(lapse_status_t st, const char *loc_file, int loc_line, const char *fmt,
                            va_list ap)
{
    if (err_msg[0] != '\0')
        return st; /* keep the innermost cause */
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    if (loc_file) {
        size_t n = strlen(err_msg);
        snprintf(err_msg + n, sizeof err_msg - n, " [%s:%d]", loc_file, loc_line);
    }
    return st;
}

lapse_status_t lapse_fail(lapse_status_t st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(st, NULL, 0, fmt, ap);
    va_end(ap);
    return st;
}

lapse_status_t lapse_fail_at(lapse_status_t st, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(st, file, line, fmt, ap);
    va_end(ap);
    return st;
}

lapse_status_t lapse_fail_wrap(lapse_status_t st, const char *fmt, ...)
{
    char head[1024], old[sizeof err_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    snprintf(old, sizeof old, "%s", err_msg);
    /* head, then ": " and the cause, cut to the buffer (no snprintf: the truncation is wanted) */
    size_t n = strlen(head);
    memcpy(err_msg, head, n + 1);
    if (old[0] && n + 3 < sizeof err_msg) {
        memcpy(err_msg + n, ": ", 2);
        size_t m = strlen(old), room = sizeof err_msg - n - 3;
        memcpy(err_msg + n + 2, old, m < room ? m : room);
        err_msg[n + 2 + (m < room ? m : room)] = '\0';
    }
    return st;
}

const char *lapse_errmsg(void)
{
    return err_msg;
}

void lapse_err_clear(void)
{
    err_msg[0] = '\0';
}

void lapse_err_context(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_ctx, sizeof err_ctx, fmt, ap);
    va_end(ap);
}

void lapse_err_print(lapse_status_t st)
{
    const char *msg = err_msg[0] ? err_msg : lapse_strstatus(st);
    if (err_ctx[0])
        fprintf(stderr, "lapse: %s: %s\n", err_ctx, msg);
    else
        fprintf(stderr, "lapse: %s\n", msg);
    fflush(stderr);
    err_msg[0] = '\0'; /* reported: a later failure records its own message */
}

/* The HDF5 error stack, summarised: the outermost entry (what the API call was doing) and the
 * two innermost ones (the cause, e.g. the MPI-IO or system error of a full disk). */
typedef struct {
    unsigned count;
    char outer[256], inner[2][256];
} h5_stack_t;

static herr_t h5_walk(unsigned n, const H5E_error2_t *e, void *data)
{
    h5_stack_t *s = data;
    char line[256];
    snprintf(line, sizeof line, "%s(): %s", e->func_name ? e->func_name : "?",
             e->desc ? e->desc : "");
    if (n == 0)
        memcpy(s->outer, line, sizeof line);
    memcpy(s->inner[0], s->inner[1], sizeof line); /* walking downward: last seen is innermost */
    memcpy(s->inner[1], line, sizeof line);
    s->count = n + 1;
    return 0;
}

lapse_status_t lapse_h5_fail(const char *call, const char *file, int line)
{
    h5_stack_t s;
    char detail[1024] = "";
    memset(&s, 0, sizeof s);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, h5_walk, &s);
    H5Eclear2(H5E_DEFAULT);
    if (s.count == 1)
        snprintf(detail, sizeof detail, ": %s", s.outer);
    else if (s.count == 2)
        snprintf(detail, sizeof detail, ": %s; %s", s.outer, s.inner[1]);
    else if (s.count > 2)
        snprintf(detail, sizeof detail, ": %s; ...; %s; %s", s.outer, s.inner[0], s.inner[1]);
    return lapse_fail_at(LAPSE_EH5, file, line, "%s failed%s", call, detail);
}

lapse_status_t lapse_mpi_fail(int err, const char *call, const char *file, int line)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(err, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", err);
    return lapse_fail_at(LAPSE_EMPI, file, line, "%s failed: %s", call, text);
}

const char *lapse_cl_strerror(int err)
{
    switch (err) {
#define C(x, v)                                                                                    \
    case v:                                                                                        \
        return #x;
        C(CL_SUCCESS, 0)
        C(CL_DEVICE_NOT_FOUND, -1)
        C(CL_DEVICE_NOT_AVAILABLE, -2)
        C(CL_COMPILER_NOT_AVAILABLE, -3)
        C(CL_MEM_OBJECT_ALLOCATION_FAILURE, -4)
        C(CL_OUT_OF_RESOURCES, -5)
        C(CL_OUT_OF_HOST_MEMORY, -6)
        C(CL_PROFILING_INFO_NOT_AVAILABLE, -7)
        C(CL_MEM_COPY_OVERLAP, -8)
        C(CL_IMAGE_FORMAT_MISMATCH, -9)
        C(CL_IMAGE_FORMAT_NOT_SUPPORTED, -10)
        C(CL_BUILD_PROGRAM_FAILURE, -11)
        C(CL_MAP_FAILURE, -12)
        C(CL_MISALIGNED_SUB_BUFFER_OFFSET, -13)
        C(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, -14)
        C(CL_COMPILE_PROGRAM_FAILURE, -15)
        C(CL_LINKER_NOT_AVAILABLE, -16)
        C(CL_LINK_PROGRAM_FAILURE, -17)
        C(CL_INVALID_VALUE, -30)
        C(CL_INVALID_DEVICE_TYPE, -31)
        C(CL_INVALID_PLATFORM, -32)
        C(CL_INVALID_DEVICE, -33)
        C(CL_INVALID_CONTEXT, -34)
        C(CL_INVALID_QUEUE_PROPERTIES, -35)
        C(CL_INVALID_COMMAND_QUEUE, -36)
        C(CL_INVALID_HOST_PTR, -37)
        C(CL_INVALID_MEM_OBJECT, -38)
        C(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR, -39)
        C(CL_INVALID_IMAGE_SIZE, -40)
        C(CL_INVALID_SAMPLER, -41)
        C(CL_INVALID_BINARY, -42)
        C(CL_INVALID_BUILD_OPTIONS, -43)
        C(CL_INVALID_PROGRAM, -44)
        C(CL_INVALID_PROGRAM_EXECUTABLE, -45)
        C(CL_INVALID_KERNEL_NAME, -46)
        C(CL_INVALID_KERNEL_DEFINITION, -47)
        C(CL_INVALID_KERNEL, -48)
        C(CL_INVALID_ARG_INDEX, -49)
        C(CL_INVALID_ARG_VALUE, -50)
        C(CL_INVALID_ARG_SIZE, -51)
        C(CL_INVALID_KERNEL_ARGS, -52)
        C(CL_INVALID_WORK_DIMENSION, -53)
        C(CL_INVALID_WORK_GROUP_SIZE, -54)
        C(CL_INVALID_WORK_ITEM_SIZE, -55)
        C(CL_INVALID_GLOBAL_OFFSET, -56)
        C(CL_INVALID_EVENT_WAIT_LIST, -57)
        C(CL_INVALID_EVENT, -58)
        C(CL_INVALID_OPERATION, -59)
        C(CL_INVALID_GL_OBJECT, -60)
        C(CL_INVALID_BUFFER_SIZE, -61)
        C(CL_INVALID_MIP_LEVEL, -62)
        C(CL_INVALID_GLOBAL_WORK_SIZE, -63)
        C(CL_INVALID_PROPERTY, -64)
        C(CL_PLATFORM_NOT_FOUND_KHR, -1001)
#undef C
    default:
        return "unknown OpenCL error";
    }
}

/* Whether LAPSE_FAULT = PREFIX NAME [@R] [~S] names this point: prefix and name as given, and R
 * (when given) this process's rank. With ~S the point sleeps S seconds (like a long clFinish;
 * a signal does not cut it short) and does not act. Returns 1 when the point must act (kill or
 * fail), else 0. */
static int fault_matches(const char *prefix, const char *name)
{
    const char *f = getenv("LAPSE_FAULT");
    if (f == NULL || f[0] == '\0')
        return 0;
    size_t p = strlen(prefix), n = strlen(name);
    if (strncmp(f, prefix, p) != 0 || strncmp(f + p, name, n) != 0)
        return 0;
    f += p;
    const char *delay = strchr(f + n, '~');
    if (f[n] == '@') {
        const char *r = getenv("OMPI_COMM_WORLD_RANK");
        if (r == NULL)
            r = getenv("PMI_RANK");
        size_t len = delay ? (size_t)(delay - (f + n + 1)) : strlen(f + n + 1);
        if (r == NULL || strlen(r) != len || strncmp(r, f + n + 1, len) != 0)
            return 0;
    } else if (f[n] != '\0' && f[n] != '~') {
        return 0;
    }
    if (delay) {
        double sec = strtod(delay + 1, NULL);
        if (sec > 0) {
            struct timespec ts = {(time_t)sec, (long)((sec - (double)(time_t)sec) * 1e9)};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
        }
        return 0;
    }
    return 1;
}

void lapse_fault_point(const char *name)
{
    if (fault_matches("", name))
        raise(SIGKILL);
}

lapse_status_t lapse_fault_fail(const char *name)
{
    if (!fault_matches("fail:", name))
        return LAPSE_OK;
    return lapse_fail(LAPSE_ERUNTIME, "injected fault %s (LAPSE_FAULT)", name);
}
