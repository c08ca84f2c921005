/*
 * clrt.h - OpenCL runtime: device discovery and choice, one context and in-order queue per
 * rank, and one program per kernel file built on first use per context from the kernel sources
 * embedded in the binary (kernels/NAME.cl, see cmake/embed_kernels.cmake). No file is looked
 * up at run time.
 */
#ifndef LAPSE_CLRT_H
#define LAPSE_CLRT_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>

#include "config.h"
#include "status.h"

/* A chosen device. */
typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    int index;      /* index among the devices of the chosen kind */
    int count;      /* number of devices of the chosen kind visible to this process */
    int is_gpu;     /* 1: CL_DEVICE_TYPE_GPU (or accelerator) */
    char name[128]; /* "NVIDIA H100 80GB HBM3" */
    char platform_name[128];
    unsigned long long global_mem; /* CL_DEVICE_GLOBAL_MEM_SIZE */
    unsigned long long max_alloc;  /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    char ident[96]; /* the physical device on its host (lapse_cl_ident): ranks of a host whose
                       idents are equal share one device */
} lapse_cl_choice_t;

/* The identity of a device on its host into buf[len]: for a GPU, "pci:DDDD:BB:DD.F" from pci
 * (domain, bus, device, function; NULL when the platform does not tell), else "vis:E" where E
 * is entry index of visible (a CUDA_VISIBLE_DEVICES-style comma list the process was given;
 * NULL or too short: not used), else "idx:INDEX". A CPU device is always "idx:INDEX" (every
 * process of the host sees the same one). Under Slurm's --gpus-per-task every rank sees its own
 * GPU as index 0, so the index alone would make them share one. */
void lapse_cl_ident(char *buf, size_t len, int is_gpu, const unsigned pci[4], const char *visible,
                    int index);

/* Print every platform and device (type, memory, compute units) to f. */
lapse_status_t lapse_cl_list(FILE *f);

/* Choose a device for a rank. kind: GPU devices only, CPU devices only, or ANY (GPUs when any
 * exist, else CPUs). explicit_index >= 0 picks that device of the kind; -1 picks
 * local_rank % count. The environment variable LAPSE_DEVICE (an index), when set, overrides
 * explicit_index. Fails (LAPSE_ENODEV, exit 2, with a message that says what was found and how
 * to allow a CPU device) when no device of the kind exists; an index out of range is LAPSE_ECONFIG
 * (explicit_index: the caller reports it at the config's devices.index) or LAPSE_EUSAGE
 * (LAPSE_DEVICE, named in the message). */
lapse_status_t lapse_cl_choose(lapse_devkind_t kind, int explicit_index, int local_rank,
                               lapse_cl_choice_t *out);

/* Programs and kernels built so far for an open device, and the build options (clrt.c). */
typedef struct lapse_cl_cache lapse_cl_cache_t;

/* An open device: context, in-order queue and the cache of programs and kernels. */
typedef struct lapse_cl {
    lapse_cl_choice_t dev;
    cl_context ctx;
    cl_command_queue queue;
    lapse_cl_cache_t *cache; /* one program per (kernel file, build options), built on first use */
} lapse_cl_t;

/* Create the context and queue for a chosen device. Nothing is built here: each kernel file's
 * program is built by the first lapse_cl_kernel / lapse_cl_program that needs it. *out is set
 * only on success. */
lapse_status_t lapse_cl_open(const lapse_cl_choice_t *dev, lapse_cl_t **out);

/* Whether the open device lists OpenCL extension ext (a whole word of CL_DEVICE_EXTENSIONS):
 * *has 1 or 0. LAPSE_ECL / LAPSE_ENOMEM when the list cannot be read. */
lapse_status_t lapse_cl_has_extension(const lapse_cl_t *cl, const char *ext, int *has);

/* Kernel `name` of the embedded kernel file `file` ("filters.cl"). The file's program is built
 * on first use (lapse_cl_program) and the kernel created on first use; both are cached in cl by
 * (file, build options) and (program, name), so later calls return the same cl_kernel. The
 * kernel is OWNED by cl (released by lapse_cl_close): callers must not release it. Callers
 * sharing a kernel set its arguments before each launch. Not thread-safe (one thread per cl).
 * Fails with LAPSE_ECL and a message naming the file, the kernel and the device (with the build
 * log when the program does not build); *out is set only on success. */
lapse_status_t lapse_cl_kernel(lapse_cl_t *cl, const char *file, const char *name, cl_kernel *out);

/* The program of the embedded kernel file `file` ("filters.cl") built with the current build
 * options, built on first use and cached; OWNED by cl (do not release). Fails with LAPSE_ECL
 * when no such file is embedded or the build fails (message: file, device, options, build
 * log); a failed build is not cached. *out is set only on success. */
lapse_status_t lapse_cl_program(lapse_cl_t *cl, const char *file, cl_program *out);

/* As lapse_cl_kernel, for the program of `file` built with `defines` (e.g. "-DLAPSE_MM_RX=3")
 * appended to the current build options: one program per (file, options, defines), built on
 * first use and cached like the others. Callers give kernels of different defines different
 * names (the kernel source names them from its defines). Same contract and errors as
 * lapse_cl_kernel; the current build options are unchanged on return. */
lapse_status_t lapse_cl_kernel_with(lapse_cl_t *cl, const char *file, const char *defines,
                                    const char *name, cl_kernel *out);

/* Extra build options for the programs built from now on, appended to "-cl-std=CL1.2", e.g.
 * "-DLAPSE_BKZ=64" (the tunables of kernels/filters_tiled.cl; bench_kernels --defines). NULL or
 * "" restores the default. Programs already built stay cached under the options they were built
 * with: lapse_cl_kernel returns the kernels of the programs built with the options current at
 * the call. Fails only with LAPSE_ENOMEM (options unchanged). */
lapse_status_t lapse_cl_set_build_options(lapse_cl_t *cl, const char *extra);

/* Internal, for tests: build OpenCL C source `src` as if it were kernels/`file` (the source is
 * prefixed with `#line 1 "kernels/FILE"`, so build-log lines read kernels/FILE:LINE:COL) with the
 * current build options. Not cached: on success *out is a new program that the CALLER releases.
 * On failure LAPSE_ECL with the file, the device, the options and the build log; *out is left
 * unchanged. */
lapse_status_t lapse_cl_build_source(lapse_cl_t *cl, const char *file, const char *src,
                                     cl_program *out);

/* Build a user's OpenCL C source `src` (custom_kernel) behind the embedded kernel file `frame`
 * ("custom.cl": helpers and the kernel that calls the user's function): LAPSE_USER_SOURCE
 * defined (the frame then leaves the user's function to src), the frame under
 * `#line 1 "kernels/FRAME"`, then src under `#line 1 "NAME"`, so that the build log points at
 * the user's file NAME and its lines. NAME must hold no quote, backslash or newline. Not
 * cached: on success *out is a new program that the CALLER releases. A source that does not
 * compile is LAPSE_ECONFIG (the user's error) with the device, the options and the build log
 * in the message; other failures are LAPSE_ECL. *out is left unchanged on failure. */
lapse_status_t lapse_cl_build_user(lapse_cl_t *cl, const char *frame, const char *name,
                                   const char *src, cl_program *out);

/* Where the strings of a program lie, for build logs: the text from the program's line
 * first[i] on (counting every newline of the strings, as a compiler that ignores #line does)
 * is file name[i] from its line 1, for i < n (first increasing). */
typedef struct {
    int n;
    int first[4];
    const char *name[4];
    int lines; /* the program's last line */
} lapse_cl_linemap_t;

/* A copy of build log `log` (malloc'd; NULL when out of memory) in which each place of the form
 * "<kernel>:P:" with P at most m->lines (NVIDIA's OpenCL compiler ignores #line and writes
 * "<kernel>:LINE:COLUMN: error:
 * ..." with LINE counted over the whole program) reads "NAME:L:" by map: NAME the file of the
 * last segment starting at or before P, L = P - its first line + 1. Places before the first
 * segment or past the program's end, other compilers' names, and logs that name files already
 * (PoCL follows #line) are copied as they are. */
char *lapse_cl_map_log(const char *log, const lapse_cl_linemap_t *m);

/* Host memory the device copies to and from at full speed (CL_MEM_ALLOC_HOST_PTR: pinned on
 * GPUs, 52 GB/s against 7 from malloc), mapped for reading and writing once. */
typedef struct {
    cl_mem mem;
    void *host; /* NULL until mapped */
} lapse_cl_pinned_t;

/* Allocate and map bytes (at least 1) of pinned host memory into *p; on failure *p may hold a
 * part of it: lapse_cl_pinned_release frees what there is. */
lapse_status_t lapse_cl_pinned_alloc(const lapse_cl_t *cl, size_t bytes, lapse_cl_pinned_t *p);

/* Unmap and free *p (waits for the queue); an empty *p is accepted. */
void lapse_cl_pinned_release(const lapse_cl_t *cl, lapse_cl_pinned_t *p);

/* Release everything; NULL is accepted. */
void lapse_cl_close(lapse_cl_t *cl);

#endif
