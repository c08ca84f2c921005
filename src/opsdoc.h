/*
 * opsdoc.h - `lapse ops`: the operation registry described for people, as a plain list or as
 * the Markdown page docs/operations.md (a test keeps that page equal to the output).
 */
#ifndef LAPSE_OPSDOC_H
#define LAPSE_OPSDOC_H

#include <stdio.h>

typedef enum { LAPSE_OPS_PLAIN, LAPSE_OPS_MARKDOWN, LAPSE_OPS_TSV } lapse_ops_format_t;

/* Print every registered operation to f: a plain list, the Markdown page, or (for test helpers)
 * one tab-separated line per operation: name, images, output dtype rule ("same", "float32",
 * "uint8"), footprint. Returns 0, or -1 when writing failed. */
int lapse_ops_print(FILE *f, lapse_ops_format_t format);

#endif
