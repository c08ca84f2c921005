/*
 * io/reader.c - the input facade: the registry of reader backends, the choice of a backend for
 * a file (suffix, then sniffing, then the default) and the checks common to every backend
 * (timepoint and box bounds of a read). The formats themselves live in reader_<format>.c.
 *
 * To add a format: define its lapse_reader_backend_t in reader_<format>.c, declare it in
 * reader.h and add one line to backends[] below (the first entry is the default).
 */
#include "io/reader.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lapse_reader {
    const lapse_reader_backend_t *backend;
    void *handle;
    lapse_input_info_t info;
    char name[4200]; /* "file:dataset", for messages */
};

/* The registry. The first backend is the default: used when no other one claims a file. */
static const lapse_reader_backend_t *const backends[] = {
    &lapse_reader_hdf5,
    &lapse_reader_tiff,
    &lapse_reader_zarr,
};
#define NBACKENDS (sizeof backends / sizeof backends[0])

/* 1 when name ends with suffix, ignoring case. */
static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    if (s == 0 || s > n)
        return 0;
    for (size_t i = 0; i < s; i++)
        if (tolower((unsigned char)name[n - s + i]) != tolower((unsigned char)suffix[i]))
            return 0;
    return 1;
}

/* The backend claiming file's suffix, or NULL. */
static const lapse_reader_backend_t *by_suffix(const char *file)
{
    for (size_t b = 0; file != NULL && b < NBACKENDS; b++)
        for (const char *const *s = backends[b]->suffixes; s != NULL && *s != NULL; s++)
            if (ends_with(file, *s))
                return backends[b];
    return NULL;
}

const lapse_reader_backend_t *lapse_reader_backend_for_name(const char *file)
{
    const lapse_reader_backend_t *b = by_suffix(file);
    return b != NULL ? b : backends[0];
}

/* The backend for an existing file: by suffix, else the first that recognises the content,
 * else the default (its probe explains why the file cannot be read). */
static const lapse_reader_backend_t *backend_for_file(const char *file)
{
    const lapse_reader_backend_t *b = by_suffix(file);
    if (b != NULL)
        return b;
    for (size_t i = 0; file != NULL && i < NBACKENDS; i++)
        if (backends[i]->sniff(file))
            return backends[i];
    return backends[0];
}

int lapse_reader_check_dataset(const char *file, const char *dataset, char *err, size_t errlen)
{
    if (dataset == NULL) {
        snprintf(err, errlen, "no dataset given");
        return -1;
    }
    return lapse_reader_backend_for_name(file)->check_dataset(dataset, err, errlen);
}

lapse_status_t lapse_reader_probe(const char *file, const char *dataset, lapse_input_info_t *info)
{
    return backend_for_file(file)->probe(file, dataset, info);
}

lapse_status_t lapse_reader_open(const char *file, const char *dataset, lapse_reader_t **out)
{
    lapse_status_t st = LAPSE_OK;
    lapse_reader_t *r = calloc(1, sizeof *r);
    LAPSE_ALLOC(r);
    r->backend = backend_for_file(file);
    snprintf(r->name, sizeof r->name, "%s%s%s", file, dataset && dataset[0] ? ":" : "",
             dataset ? dataset : "");
    LAPSE_TRY(r->backend->open(file, dataset, &r->handle, &r->info));
    *out = r;
    return LAPSE_OK;
cleanup:
    lapse_reader_close(r);
    return st;
}

const lapse_input_info_t *lapse_reader_info(const lapse_reader_t *r)
{
    return &r->info;
}

const lapse_reader_backend_t *lapse_reader_backend(const lapse_reader_t *r)
{
    return r->backend;
}

lapse_status_t lapse_reader_read(lapse_reader_t *r, int64_t t, const lapse_box_t *box, void *dst)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_input_info_t *info = &r->info;

    if (t < 0 || t >= info->ntp)
        LAPSE_FAIL(LAPSE_ERUNTIME, "read of timepoint %lld: out of range [0, %lld)", (long long)t,
                   (long long)info->ntp);
    for (int a = 0; a < 3; a++) {
        if (box->off[a] < 0 || box->dim[a] < 1 || box->off[a] + box->dim[a] > info->shape[a])
            LAPSE_FAIL(LAPSE_ERUNTIME,
                       "read box [%lld+%lld, %lld+%lld, %lld+%lld] outside the input "
                       "[%lld, %lld, %lld]",
                       (long long)box->off[0], (long long)box->dim[0], (long long)box->off[1],
                       (long long)box->dim[1], (long long)box->off[2], (long long)box->dim[2],
                       (long long)info->shape[0], (long long)info->shape[1],
                       (long long)info->shape[2]);
    }
    st = lapse_fault_fail("read"); /* the hostile tests: a read failure on one rank */
    if (st == LAPSE_OK)
        st = r->backend->read(r->handle, t, box, dst);
    if (st != LAPSE_OK && st != LAPSE_ENOMEM && st != LAPSE_EINTERRUPTED)
        st = lapse_fail_wrap(LAPSE_EREAD,
                             "reading the input %s failed at timepoint %lld, box [%lld+%lld, "
                             "%lld+%lld, %lld+%lld] (damaged or unreadable input data?)",
                             r->name, (long long)t, (long long)box->off[0], (long long)box->dim[0],
                             (long long)box->off[1], (long long)box->dim[1], (long long)box->off[2],
                             (long long)box->dim[2]);
cleanup:
    return st;
}

void lapse_reader_close(lapse_reader_t *r)
{
    if (r == NULL)
        return;
    if (r->handle != NULL)
        r->backend->close(r->handle);
    free(r);
}
