/*
 * table.c - per-timepoint tables in the output file (see table.h). Rank 0 reads the old rows,
 * merges and sorts (or, where the new timepoints all come after the old rows', only appends);
 * every rank sizes the dataset (collective); rank 0 writes the rows in one collective write in
 * which the others select nothing.
 */
#include "io/table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"

#define TABLE_CHUNK 1024

/* The file type of desc's rows: members at 8-byte offsets. */
static hid_t row_type(const lapse_table_desc_t *desc)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, (size_t)desc->ncols * 8);
    if (t < 0)
        return t;
    for (int c = 0; c < desc->ncols; c++)
        if (H5Tinsert(t, desc->cols[c].name, (size_t)c * 8,
                      desc->cols[c].is_double ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64) < 0) {
            H5Tclose(t);
            return H5I_INVALID_HID;
        }
    return t;
}

static int ncols_cmp; /* columns of the rows qsort compares (set before each sort) */

/* Order rows by timepoint (column 0), then column 1 (int64: the label). */
static int row_cmp(const void *a, const void *b)
{
    int64_t x[2], y[2];
    memcpy(x, a, sizeof x);
    memcpy(y, b, sizeof y);
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    if (ncols_cmp > 1 && x[1] != y[1])
        return x[1] < y[1] ? -1 : 1;
    return 0;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    return x < y ? -1 : x > y;
}

/* 1 when t is in sorted[n] (ascending). */
static int in_sorted(int64_t t, const int64_t *sorted, int64_t n)
{
    return n > 0 && bsearch(&t, sorted, (size_t)n, sizeof t, i64_cmp) != NULL;
}

/* A row that no write filled: the fill value's timepoint (tables made since 2026-12-05), or,
 * in a table made before with a fill of zeros, a row of zeros after a row of a later timepoint
 * (rows are sorted, so a real row of timepoint 0 never comes there). Such rows are left when a
 * write stops after the table grew and before its rows were written (a kill, a failure). */
static int unwritten(const char *row, size_t rb, int64_t max_before)
{
    int64_t t;
    memcpy(&t, row, sizeof t);
    if (t == LAPSE_TABLE_UNWRITTEN)
        return 1;
    if (max_before <= 0)
        return 0;
    for (size_t i = 0; i < rb; i++)
        if (row[i] != 0)
            return 0;
    return 1;
}

/* Rank 0, dset's last row (n0 > 0 rows) into row (rb bytes). */
static lapse_status_t last_row(hid_t dset, hid_t type, hsize_t n0, char *row)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    hsize_t start = n0 - 1, one = 1;
    LAPSE_H5ID(fspace, H5Dget_space(dset));
    LAPSE_H5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &one, NULL));
    LAPSE_H5ID(mspace, H5Screate_simple(1, &one, NULL));
    LAPSE_H5(H5Dread(dset, type, mspace, fspace, H5P_DEFAULT, row));
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return st;
}

/* Rank 0: the table's rows after the change: the old ones of dset (n0) outside tps, and rows;
 * sorted by timepoint and label. Into *out the rows from row *first on (the others stay as
 * they are), *nout of them: where every timepoint of tps comes after the old rows' last (the
 * next wave of a run, a run that continues one), only the new rows, appended (*first = n0);
 * else every row (*first = 0), the old ones read and merged. An unwritten last row (a write
 * that stopped after the table grew) takes the merge, which drops every unwritten row. */
static lapse_status_t merge(hid_t dset, hid_t type, const lapse_table_desc_t *desc,
                            const int64_t *tps, int64_t ntps, const void *rows, int64_t nrows,
                            char **out, int64_t *first, int64_t *nout)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID;
    hsize_t n0 = 0;
    size_t rb = (size_t)desc->ncols * 8;
    char *buf = NULL;
    int64_t *sorted = NULL; /* tps, ascending: each old row's timepoint looked up by bisection */
    if (dset >= 0) {
        LAPSE_H5ID(space, H5Dget_space(dset));
        LAPSE_H5(H5Sget_simple_extent_dims(space, &n0, NULL));
    }
    sorted = malloc(((size_t)ntps + 1) * sizeof *sorted);
    LAPSE_ALLOC(sorted);
    if (ntps > 0)
        memcpy(sorted, tps, (size_t)ntps * sizeof *sorted);
    qsort(sorted, (size_t)ntps, sizeof *sorted, i64_cmp);
    int64_t last = INT64_MIN;
    int append = n0 == 0 || ntps == 0;
    if (!append) {
        buf = calloc(1, rb);
        LAPSE_ALLOC(buf);
        LAPSE_TRY(last_row(dset, type, n0, buf));
        memcpy(&last, buf, sizeof last);
        /* a row of zeros last (max_before 1): unwritten, or timepoint 0's; merged either way */
        append = last < sorted[0] && !unwritten(buf, rb, 1);
        free(buf);
        buf = NULL;
    }
    ncols_cmp = desc->ncols;
    if (append) { /* appended: the old rows stay */
        buf = malloc(((size_t)nrows + 1) * rb);
        LAPSE_ALLOC(buf);
        if (nrows > 0)
            memcpy(buf, rows, (size_t)nrows * rb);
        qsort(buf, (size_t)nrows, rb, row_cmp);
        *first = (int64_t)n0;
        *nout = ntps == 0 ? 0 : nrows;
        *out = buf;
        buf = NULL;
        goto cleanup;
    }
    buf = malloc(((size_t)n0 + (size_t)nrows + 1) * rb);
    LAPSE_ALLOC(buf);
    LAPSE_H5(H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
    int64_t keep = 0, max_before = INT64_MIN;
    for (hsize_t i = 0; i < n0; i++) {
        int64_t t;
        memcpy(&t, buf + i * rb, sizeof t);
        if (unwritten(buf + i * rb, rb, max_before))
            continue;
        if (t > max_before)
            max_before = t;
        if (!in_sorted(t, sorted, ntps))
            memmove(buf + (size_t)keep++ * rb, buf + i * rb, rb);
    }
    if (nrows > 0)
        memcpy(buf + (size_t)keep * rb, rows, (size_t)nrows * rb);
    qsort(buf, (size_t)(keep + nrows), rb, row_cmp);
    *out = buf;
    *first = 0;
    *nout = keep + nrows;
    buf = NULL;
cleanup:
    if (space >= 0)
        H5Sclose(space);
    free(sorted);
    free(buf);
    return st;
}

/* Open the table (checking its columns) or create it empty. */
static lapse_status_t open_table(hid_t file, const char *path, hid_t type,
                                 const lapse_table_desc_t *desc, hid_t *dset)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, lcpl = H5I_INVALID_HID,
          ft = H5I_INVALID_HID;
    char *fill = NULL;
    htri_t e = H5Lexists(file, path, H5P_DEFAULT);
    LAPSE_H5(e);
    if (e > 0) {
        LAPSE_H5ID(*dset, H5Dopen2(file, path, H5P_DEFAULT));
        LAPSE_H5ID(ft, H5Dget_type(*dset));
        int nm = H5Tget_class(ft) == H5T_COMPOUND ? H5Tget_nmembers(ft) : -1;
        int ok = nm == desc->ncols;
        for (int c = 0; ok && c < nm; c++) {
            char *name = H5Tget_member_name(ft, (unsigned)c);
            ok = name && strcmp(name, desc->cols[c].name) == 0;
            H5free_memory(name);
        }
        if (!ok)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s exists in the output but is not a table with the columns of this "
                       "step (%s, ...): rename the step or remove the dataset",
                       path, desc->cols[1].name);
        goto cleanup;
    }
    hsize_t dim = 0, maxdim = H5S_UNLIMITED, chunk = TABLE_CHUNK;
    LAPSE_H5ID(space, H5Screate_simple(1, &dim, &maxdim));
    LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    LAPSE_H5(H5Pset_chunk(dcpl, 1, &chunk));
    LAPSE_H5(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    /* rows the table grows by hold this until written: a timepoint no real row has */
    fill = calloc((size_t)desc->ncols, 8);
    LAPSE_ALLOC(fill);
    const int64_t unw = LAPSE_TABLE_UNWRITTEN;
    memcpy(fill, &unw, sizeof unw);
    LAPSE_H5(H5Pset_fill_value(dcpl, type, fill));
    LAPSE_H5ID(lcpl, H5Pcreate(H5P_LINK_CREATE));
    LAPSE_H5(H5Pset_create_intermediate_group(lcpl, 1));
    LAPSE_H5ID(*dset, H5Dcreate2(file, path, type, space, lcpl, dcpl, H5P_DEFAULT));
cleanup:
    free(fill);
    if (ft >= 0)
        H5Tclose(ft);
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* Agree on st over comm (the worst status). */
static lapse_status_t agree(MPI_Comm comm, lapse_status_t st)
{
    int mine = (int)st, all = 0;
    if (MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
        return LAPSE_EMPI;
    return (lapse_status_t)all;
}

/* Local: the selections of the table's collective write: rows [start, start + count) where
 * mine, none elsewhere. */
static lapse_status_t select_rows(hid_t dset, int mine, hsize_t start, hsize_t count, hid_t *fspace,
                                  hid_t *mspace)
{
    lapse_status_t st = LAPSE_OK;
    LAPSE_TRY(lapse_fault_fail("table-select"));
    LAPSE_H5ID(*fspace, H5Dget_space(dset));
    LAPSE_H5ID(*mspace, H5Screate_simple(1, &count, NULL));
    if (mine) {
        LAPSE_H5(H5Sselect_hyperslab(*fspace, H5S_SELECT_SET, &start, NULL, &count, NULL));
    } else {
        LAPSE_H5(H5Sselect_none(*fspace));
        LAPSE_H5(H5Sselect_none(*mspace));
    }
cleanup:
    return st;
}

lapse_status_t lapse_table_put(lapse_h5out_t *o, const char *path, const lapse_table_desc_t *desc,
                               const int64_t *tps, int64_t ntps, const void *rows, int64_t nrows)
{
    lapse_status_t st = LAPSE_OK;
    hid_t file, dxpl, type = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    MPI_Comm comm;
    int rank;
    char *all = NULL;
    int64_t span[2] = {0, 0}; /* rank 0's merge: the rows written from span[0], span[1] of them */
    lapse_h5out_handles(o, &file, &dxpl, &comm, &rank);
    LAPSE_H5ID(type, row_type(desc));
    st = open_table(file, path, type, desc, &dset);
    if (st == LAPSE_OK && rank == 0)
        st = merge(dset, type, desc, tps, ntps, rows, nrows, &all, &span[0], &span[1]);
    if ((st = agree(comm, st)) != LAPSE_OK)
        goto cleanup;
    LAPSE_MPI(MPI_Bcast(span, 2, MPI_INT64_T, 0, comm));
    const int64_t total = span[1];
    hsize_t ext = (hsize_t)(span[0] + total), count = total > 0 ? (hsize_t)total : 1, now = 0;
    LAPSE_H5ID(fspace, H5Dget_space(dset));
    LAPSE_H5(H5Sget_simple_extent_dims(fspace, &now, NULL));
    H5Sclose(fspace);
    fspace = H5I_INVALID_HID;
    if (ext < now) {
        /* Fewer rows than before (a timepoint replaced by fewer): made anew at the new size.
         * Shrinking the chunked table with H5Dset_extent lost the write that followed on one
         * rank and failed on the others (parallel HDF5 1.10). */
        LAPSE_H5(H5Dclose(dset));
        dset = H5I_INVALID_HID;
        LAPSE_H5(H5Ldelete(file, path, H5P_DEFAULT));
        LAPSE_TRY(open_table(file, path, type, desc, &dset));
    }
    /* the table's chunks (allocated early and filled in parallel by H5Dset_extent) into
     * reserved blocks: a full disk failed the fill on one rank while the others waited */
    LAPSE_TRY(lapse_h5out_reserve(
        o, (int64_t)((ext + TABLE_CHUNK - 1) / TABLE_CHUNK * TABLE_CHUNK * H5Tget_size(type))));
    if (H5Dset_extent(dset, &ext) < 0) { /* collective: the others may be inside it */
        st = lapse_h5_fail("H5Dset_extent(table)", __FILE__, __LINE__);
        lapse_h5out_collective_failed(o, st);
        goto cleanup;
    }
    if (total == 0)
        goto cleanup;
    /* Agreed before the collective write: a rank whose selection failed alone would leave the
     * others waiting in H5Dwrite. */
    if ((st = agree(comm, select_rows(dset, rank == 0, (hsize_t)span[0], count, &fspace,
                                      &mspace))) != LAPSE_OK)
        goto cleanup;
    /* LAPSE_FAULT=fail:coll-table[@R]: this rank fails as if inside the write */
    if (lapse_fault_fail("coll-table") != LAPSE_OK) {
        st = LAPSE_EH5;
        lapse_h5out_collective_failed(o, st);
        goto cleanup;
    }
    if (H5Dwrite(dset, type, mspace, fspace, dxpl, rank == 0 ? (void *)all : (void *)&total) < 0) {
        st = lapse_h5_fail("H5Dwrite(table)", __FILE__, __LINE__);
        lapse_h5out_collective_failed(o, st);
    }
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (dset >= 0)
        H5Dclose(dset);
    if (type >= 0)
        H5Tclose(type);
    free(all);
    return st;
}
