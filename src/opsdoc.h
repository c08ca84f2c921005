/*
 * opsdoc.h - `lapse ops`: the operation registry described for people, as a plain list or as
 * the Markdown page docs/operations.md (a test keeps that page equal to the output).
 */
#ifndef LAPSE_OPSDOC_H
#define LAPSE_OPSDOC_H

#include <stdio.h>

/* Print every registered operation to f: markdown == 0 a plain list, 1 the Markdown page.
 * Returns 0, or -1 when writing failed. */
int lapse_ops_print(FILE *f, int markdown);

#endif
