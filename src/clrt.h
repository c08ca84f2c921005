/*
 * clrt.h - OpenCL runtime: device discovery and choice, one context and in-order queue per
 * rank, and the programs built once per context from the kernel sources embedded in the binary
 * (kernels/NAME.cl, see cmake/embed_kernels.cmake). No file is looked up at run time.
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
} lapse_cl_choice_t;

/* Print every platform and device (type, memory, compute units) to f. */
lapse_status_t lapse_cl_list(FILE *f);

/* Choose a device for a rank. kind: GPU devices only, CPU devices only, or ANY (GPUs when any
 * exist, else CPUs). explicit_index >= 0 picks that device of the kind; -1 picks
 * local_rank % count. The environment variable LAPSE_DEVICE (an index), when set, overrides
 * explicit_index. Fails (LAPSE_ECL, with a message that says what was found and how to allow a
 * CPU device) when no device of the kind exists or the index is out of range. */
lapse_status_t lapse_cl_choose(lapse_devkind_t kind, int explicit_index, int local_rank,
                               lapse_cl_choice_t *out);

/* An open device: context, in-order queue and the built program. */
typedef struct {
    lapse_cl_choice_t dev;
    cl_context ctx;
    cl_command_queue queue;
    cl_program program; /* all embedded kernels, built once */
} lapse_cl_t;

/* Create the context, queue and program for a chosen device. On a build failure the message
 * contains the build log. *out is set only on success. */
lapse_status_t lapse_cl_open(const lapse_cl_choice_t *dev, lapse_cl_t **out);

/* Kernel by name from the built program (caller releases with clReleaseKernel). */
lapse_status_t lapse_cl_kernel(lapse_cl_t *cl, const char *name, cl_kernel *out);

/* Release everything; NULL is accepted. */
void lapse_cl_close(lapse_cl_t *cl);

#endif
