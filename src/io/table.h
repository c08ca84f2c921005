/*
 * table.h - per-timepoint tables in the output file (measurements, summaries): one 1-D
 * extendible compound dataset per table, columns of int64 or double named as in
 * lapse_table_desc_t (ops/op.h), column 0 the timepoint, rows sorted by (timepoint, column 1).
 * Recomputing timepoints replaces their rows (an update never duplicates rows).
 */
#ifndef LAPSE_TABLE_H
#define LAPSE_TABLE_H

#include "h5out.h"
#include "ops/op.h"

/* The timepoint of a row the table grew by but no write filled yet (its fill value, in tables
 * made since 2026-12-05): left by a write that stopped between the two; the next
 * lapse_table_put drops such rows (and, in older tables, rows of zeros out of order). */
#define LAPSE_TABLE_UNWRITTEN (-1)

/* Collective over the output's ranks (rank 0's tps and rows are used; the others may pass
 * NULL / 0). In the table at path (created when absent): drop every row whose timepoint is in
 * tps[0..ntps), add rows[0..nrows) (desc->ncols 8-byte values each), sort, write back (only
 * the new rows, appended, where every timepoint of tps comes after the table's last row's: the
 * waves of a run write their rows so, without rewriting the earlier waves'). A table
 * at path with other columns is an error (LAPSE_EINPUT). Every rank returns the same status. A
 * kill while the rows are written back can leave the table with rows of the recomputed
 * timepoints missing or unwritten: the timepoints' done marks come later, so rerunning
 * recomputes them, and this call drops the unwritten rows. */
lapse_status_t lapse_table_put(lapse_h5out_t *o, const char *path, const lapse_table_desc_t *desc,
                               const int64_t *tps, int64_t ntps, const void *rows, int64_t nrows);

#endif
