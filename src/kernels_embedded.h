/*
 * kernels_embedded.h - the OpenCL C sources of kernels/NAME.cl, embedded at build time by
 * cmake/embed_kernels.cmake (the generated kernels_embedded.c defines the table).
 */
#ifndef LAPSE_KERNELS_EMBEDDED_H
#define LAPSE_KERNELS_EMBEDDED_H

typedef struct {
    const char *name;   /* file name, e.g. "filters.cl"; NULL ends the table */
    const char *source; /* NUL-terminated OpenCL C source */
} lapse_kernel_source_t;

extern const lapse_kernel_source_t lapse_kernel_sources[];
extern const int lapse_kernel_source_count;

#endif
