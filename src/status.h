/*
 * status.h - lapse's one error-handling pattern.
 *
 * Every fallible function returns lapse_status_t. On failure it records one human-readable
 * message with lapse_fail() (what failed and where) and returns the status; callers propagate
 * the status unchanged (LAPSE_TRY) and only the driver prints the message, prefixed with the
 * rank and the current task (lapse_err_context). The check macros below evaluate an MPI, HDF5
 * or OpenCL call once, and on failure record the call text, the library's own error string and
 * file:line, set the local variable `st` and jump to the local label `cleanup`.
 *
 * Exit codes: lapse_exit_code() maps a status to 0 (ok), 2 (usage/config/input: nothing was
 * written), 1 (runtime failure), 3 (on_error: skip: the run finished, some tasks failed and are
 * recorded as failed; a rerun retries them) or 75 (interrupted by a signal, resumable:
 * EX_TEMPFAIL).
 *
 * Messages: printing a message (lapse_err_print) consumes it: the next lapse_fail records its
 * own. A phase that all ranks agree ended well (lapse_agree) clears the message, and a task
 * starts with none, so a failure never prints the text of an earlier, ignored one.
 */
#ifndef LAPSE_STATUS_H
#define LAPSE_STATUS_H

#include <stddef.h>

#define LAPSE_STATUS_MAP(X)                                                                        \
    X(LAPSE_OK, 0, "success")                                                                      \
    X(LAPSE_EUSAGE, 2, "bad usage")                                                                \
    X(LAPSE_ECONFIG, 2, "bad config")                                                              \
    X(LAPSE_EINPUT, 2, "bad input")                                                                \
    X(LAPSE_ENODEV, 2, "no OpenCL device of the kind the config asks for")                         \
    X(LAPSE_ENOMEM, 1, "out of memory")                                                            \
    X(LAPSE_EMPI, 1, "MPI error")                                                                  \
    X(LAPSE_EH5, 1, "HDF5 error")                                                                  \
    X(LAPSE_ECL, 1, "OpenCL error")                                                                \
    X(LAPSE_EIO, 1, "I/O error")                                                                   \
    X(LAPSE_EREAD, 1, "reading the input failed")                                                  \
    X(LAPSE_ESKIPPED, 3, "finished, some tasks failed (on_error: skip)")                           \
    X(LAPSE_ERUNTIME, 1, "runtime failure")                                                        \
    X(LAPSE_EINTERRUPTED, 75, "interrupted, resumable")

typedef enum {
#define LAPSE_X_ENUM(name, code, text) name,
    LAPSE_STATUS_MAP(LAPSE_X_ENUM)
#undef LAPSE_X_ENUM
        LAPSE_STATUS_COUNT
} lapse_status_t;

/* Process exit code for a status: 0, 1, 2, 3 or 75 (see the table above). */
int lapse_exit_code(lapse_status_t st);

/* Short text for a status ("bad config"). Never NULL. */
const char *lapse_strstatus(lapse_status_t st);

/* Record a failure message (printf format) and return st. The first message recorded since the
 * last lapse_err_clear() or lapse_err_print() wins, so the innermost cause is kept. Always
 * returns st. */
lapse_status_t lapse_fail(lapse_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like lapse_fail, with the source location appended as " [file:line]". */
lapse_status_t lapse_fail_at(lapse_status_t st, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* For the static analyzer (scan-build, tools/ci-extra.sh analyze), which sees one file at a
 * time: the functions above always return their st, so a status set from them is a failure. */
#ifdef __clang_analyzer__
#define lapse_fail(st, ...)    ((void)lapse_fail((st), __VA_ARGS__), (st))
#define lapse_fail_at(st, ...) ((void)lapse_fail_at((st), __VA_ARGS__), (st))
#endif

/* The recorded message, or "" when none. The buffer stays valid until the next lapse_fail. */
const char *lapse_errmsg(void);

/* Record a failure that explains the recorded one: "<fmt>: <recorded message>" (or just fmt's
 * text when none is recorded). Returns st. */
lapse_status_t lapse_fail_wrap(lapse_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#ifdef __clang_analyzer__ /* as lapse_fail above */
#define lapse_fail_wrap(st, ...) ((void)lapse_fail_wrap((st), __VA_ARGS__), (st))
#endif

/* Forget the recorded message. */
void lapse_err_clear(void);

/* Set the context printed before messages, e.g. "rank 1, task 17 (t=3, tile 2)". "" clears. */
void lapse_err_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "lapse: <context>: <message>" to stderr (the driver's job, once per failure). The
 * message is consumed: lapse_errmsg() is "" afterwards and the next lapse_fail records anew. */
void lapse_err_print(lapse_status_t st);

/* Fault injection for the crash tests: when the environment variable LAPSE_FAULT equals name,
 * or "name@R" where R is this process's MPI rank (OMPI_COMM_WORLD_RANK / PMI_RANK), the
 * process kills itself with SIGKILL here. With a suffix "~S" ("name~S", "name@R~S") it sleeps
 * S seconds here instead, without entering MPI (a slow step, like a long clFinish or H5Dread;
 * bench/sched_cluster.sh). Costs one getenv when unset. */
void lapse_fault_point(const char *name);

/* Fault injection of a failure (the hang tests): when LAPSE_FAULT equals "fail:name" or
 * "fail:name@R" (R as above), record "injected fault name" and return LAPSE_ERUNTIME; else
 * LAPSE_OK. Costs one getenv when unset. */
lapse_status_t lapse_fault_fail(const char *name);

/* Text of an OpenCL error code ("CL_OUT_OF_RESOURCES"). Never NULL. */
const char *lapse_cl_strerror(int err);

/* Propagate a lapse_status_t: on failure set st and jump to cleanup. */
#define LAPSE_TRY(call)                                                                            \
    do {                                                                                           \
        lapse_status_t try_st_ = (call);                                                           \
        if (try_st_ != LAPSE_OK) {                                                                 \
            st = try_st_;                                                                          \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* Fail with a message: set st and jump to cleanup. */
#define LAPSE_FAIL(code, ...)                                                                      \
    do {                                                                                           \
        st = lapse_fail((code), __VA_ARGS__);                                                      \
        goto cleanup;                                                                              \
    } while (0)

/* Allocation check: p must be non-NULL. */
#define LAPSE_ALLOC(p)                                                                             \
    do {                                                                                           \
        if ((p) == NULL) {                                                                         \
            st = lapse_fail_at(LAPSE_ENOMEM, __FILE__, __LINE__, "out of memory: %s", #p);         \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* OpenCL: call returns cl_int. */
#define LAPSE_CL(call)                                                                             \
    do {                                                                                           \
        int cl_e_ = (call);                                                                        \
        if (cl_e_ != 0) {                                                                          \
            st = lapse_fail_at(LAPSE_ECL, __FILE__, __LINE__, "%s failed: %s (%d)", #call,         \
                               lapse_cl_strerror(cl_e_), cl_e_);                                   \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* OpenCL creators report through an out-parameter: `cl_int e; x = clCreateX(..., &e);
 * LAPSE_CL(e);` */

/* HDF5: call returns herr_t or hid_t; negative means failure. The HDF5 error stack is
 * appended to the message (lapse_h5_fail in status.c). */
lapse_status_t lapse_h5_fail(const char *call, const char *file, int line);
#define LAPSE_H5(call)                                                                             \
    do {                                                                                           \
        if ((long long)(call) < 0) {                                                               \
            st = lapse_h5_fail(#call, __FILE__, __LINE__);                                         \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)
/* HDF5: assign a hid_t and check it. */
#define LAPSE_H5ID(var, call)                                                                      \
    do {                                                                                           \
        (var) = (call);                                                                            \
        if ((var) < 0) {                                                                           \
            st = lapse_h5_fail(#call, __FILE__, __LINE__);                                         \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* MPI: call returns an MPI error code (communicators use MPI_ERRORS_RETURN). */
lapse_status_t lapse_mpi_fail(int err, const char *call, const char *file, int line);
#define LAPSE_MPI(call)                                                                            \
    do {                                                                                           \
        int mpi_e_ = (call);                                                                       \
        if (mpi_e_ != 0) {                                                                         \
            st = lapse_mpi_fail(mpi_e_, #call, __FILE__, __LINE__);                                \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

#endif
