/*
 * io/reader.c - the input facade: the registry of reader backends, the choice of a backend for
 * a file (suffix, then sniffing, then the default; one file per timepoint by the selection), the
 * selection syntax after the dataset name ("#files,channel=1"), the checks common to every
 * backend (timepoint and box bounds of a read) and the conversion of int16 / uint32 / float64
 * files to float32. The formats themselves live in reader_<format>.c.
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
    int convert;        /* 1: the backend reads info.file_dtype, converted to float32 here */
    unsigned char *buf; /* a box in the file's dtype when convert */
    size_t buflen;
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

/* The index in backends[] of the backend claiming file's suffix, or -1. */
static int by_suffix(const char *file)
{
    for (size_t b = 0; file != NULL && b < NBACKENDS; b++)
        for (const char *const *s = backends[b]->suffixes; s != NULL && *s != NULL; s++)
            if (ends_with(file, *s))
                return (int)b;
    return -1;
}

const lapse_reader_backend_t *lapse_reader_backend_for_name(const char *file)
{
    const int b = by_suffix(file);
    return backends[b >= 0 ? b : 0];
}

/* The backend for an existing file: by suffix, else the first that recognises the content,
 * else the default (its probe explains why the file cannot be read). */
const lapse_reader_backend_t *lapse_reader_backend_for_file(const char *file)
{
    const int b = by_suffix(file);
    if (b >= 0)
        return backends[b];
    for (size_t i = 0; file != NULL && i < NBACKENDS; i++)
        if (backends[i]->sniff(file))
            return backends[i];
    return backends[0];
}

/* ------------------------------------------------------------------ selection */

/* A non-negative decimal integer (at most 9 digits) at s, ending at end; -1 otherwise. */
static int sel_number(const char *s, const char *end)
{
    int v = 0;
    if (s == end || end - s > 9)
        return -1;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

int lapse_input_sel_parse(const char *dataset, lapse_input_sel_t *sel, char *err, size_t errlen)
{
    const char *d = dataset ? dataset : "";
    const char *hash = strchr(d, '#');
    size_t n = hash ? (size_t)(hash - d) : strlen(d);
    memset(sel, 0, sizeof *sel);
    sel->setup = sel->channel = -1;
    if (n >= sizeof sel->dataset) {
        snprintf(err, errlen, "dataset name too long");
        return -1;
    }
    memcpy(sel->dataset, d, n);
    sel->dataset[n] = '\0';
    for (const char *p = hash ? hash + 1 : NULL; p != NULL && *p;) {
        const char *e = strchr(p, ',');
        if (e == NULL)
            e = p + strlen(p);
        size_t k = (size_t)(e - p);
        if (k == 5 && strncmp(p, "files", 5) == 0)
            sel->files = 1;
        else if (k == 10 && strncmp(p, "format=bdv", 10) == 0)
            sel->bdv = 1;
        else if (k > 6 && strncmp(p, "setup=", 6) == 0 && (sel->setup = sel_number(p + 6, e)) >= 0)
            ;
        else if (k > 8 && strncmp(p, "channel=", 8) == 0 &&
                 (sel->channel = sel_number(p + 8, e)) >= 0)
            ;
        else if (k == 8 && strncmp(p, "axes=tyx", 8) == 0)
            sel->axes = LAPSE_AXES_TYX;
        else if (k == 8 && strncmp(p, "axes=zyx", 8) == 0)
            sel->axes = LAPSE_AXES_ZYX;
        else {
            snprintf(err, errlen, "bad input selection \"%.*s\" after '#'", (int)k, p);
            return -1;
        }
        p = *e ? e + 1 : e;
    }
    return 0;
}

int lapse_input_sel_format(const lapse_input_sel_t *sel, char *out, size_t len)
{
    size_t n = 0;
    int w = snprintf(out, len, "%s", sel->dataset);
    char sep = '#';
    if (w < 0 || (size_t)w >= len)
        return -1;
    n = (size_t)w;
#define SEL_ADD(...)                                                                               \
    do {                                                                                           \
        w = snprintf(out + n, len - n, __VA_ARGS__);                                               \
        if (w < 0 || (size_t)w >= len - n)                                                         \
            return -1;                                                                             \
        n += (size_t)w;                                                                            \
        sep = ',';                                                                                 \
    } while (0)
    if (sel->files)
        SEL_ADD("%cfiles", sep);
    if (sel->bdv)
        SEL_ADD("%cformat=bdv", sep);
    if (sel->setup >= 0)
        SEL_ADD("%csetup=%d", sep, sel->setup);
    if (sel->channel >= 0)
        SEL_ADD("%cchannel=%d", sep, sel->channel);
    if (sel->axes)
        SEL_ADD("%caxes=%s", sep, sel->axes == LAPSE_AXES_TYX ? "tyx" : "zyx");
#undef SEL_ADD
    return 0;
}

/* The backend for file under selection sel (parsed from dataset), and the dataset string to
 * hand it (*bds: dataset itself, or sel->dataset for a backend without selections). A selection
 * the backend does not understand is LAPSE_EINPUT with *part = 3 (the selection's fault). */
static lapse_status_t pick(const char *file, const char *dataset, lapse_input_sel_t *sel,
                           const lapse_reader_backend_t **out, const char **bds, int *part)
{
    lapse_status_t st = LAPSE_OK;
    char err[256];
    const lapse_reader_backend_t *b;
    if (lapse_input_sel_parse(dataset, sel, err, sizeof err) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", file ? file : "input", err);
    b = sel->files ? &lapse_reader_files : lapse_reader_backend_for_file(file);
    if ((sel->channel >= 0 && !(b->selects & LAPSE_SELECTS_CHANNEL)) ||
        ((sel->bdv || sel->setup >= 0) && !(b->selects & LAPSE_SELECTS_BDV)))
        *part = 3;
    else if (sel->axes && !(b->selects & LAPSE_SELECTS_AXES))
        *part = 4;
    if (sel->axes && !(b->selects & LAPSE_SELECTS_AXES))
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: input.axes is for a TIFF file that names no axes, not for a%s %s input "
                   "(whose axes follow its rank or metadata: docs/config.md)",
                   file, b->name[0] == 'h' ? "n" : "", b->name);
    if (sel->channel >= 0 && !(b->selects & LAPSE_SELECTS_CHANNEL))
        LAPSE_FAIL(LAPSE_EINPUT, "%s: input.channel is given, but a %s input has no channel axis",
                   file, b->name);
    if ((sel->bdv || sel->setup >= 0) && !(b->selects & LAPSE_SELECTS_BDV))
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: input.setup / input.format: bdv are for BigDataViewer HDF5 files, not %s",
                   file, b->name);
    *out = b;
    *bds = b->selects ? (dataset ? dataset : "") : sel->dataset;
cleanup:
    return st;
}

/* The work dtype of a file dtype: the types the device reads as they are, the others float32. */
static lapse_dtype_t work_dtype(lapse_dtype_t dt)
{
    return dt == LAPSE_DT_U8 || dt == LAPSE_DT_U16 ? dt : LAPSE_DT_F32;
}

/* The largest extent of an axis (timepoints, z, y, x): kernels index a box with int
 * coordinates. */
#define READER_MAX_EXTENT INT32_MAX
/* The largest input in bytes: sizes are products of int64_t. */
#define READER_MAX_BYTES ((int64_t)1 << 60)

/* After a backend's successful probe or open: LAPSE_EINPUT (failed_part 2: the dataset) when
 * the shape the file claims is beyond what lapse can index (an axis above READER_MAX_EXTENT,
 * more than READER_MAX_BYTES in all), before any size is computed from it; a file's header may
 * claim any size (an HDF5 dataset of 2^40 x 2^40 x 2^40 chunks costs a few bytes). */
static lapse_status_t check_extent(const char *file, lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    const int64_t ext[4] = {info->ntp, info->shape[0], info->shape[1], info->shape[2]};
    int64_t bytes = (int64_t)lapse_dtype_size(info->dtype);
    for (int i = 0; i < 4; i++) {
        if (ext[i] < 1 || ext[i] > READER_MAX_EXTENT || bytes > READER_MAX_BYTES / ext[i]) {
            info->failed_part = 2;
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: the input's shape [%lld, %lld, %lld, %lld] (t, z, y, x) is beyond "
                       "what lapse can read: at least 1 and at most %d along each axis, at most "
                       "2^60 bytes in all",
                       file, (long long)ext[0], (long long)ext[1], (long long)ext[2],
                       (long long)ext[3], READER_MAX_EXTENT);
        }
        bytes *= ext[i];
    }
cleanup:
    return st;
}

/* After a backend's successful probe or open: the file's dtype, the work dtype, the defaults. */
static void finish_info(const lapse_reader_backend_t *b, lapse_input_info_t *info)
{
    if (b != &lapse_reader_files) { /* that one reads through the facade: already done */
        info->file_dtype = info->dtype;
        info->dtype = work_dtype(info->dtype);
    }
    if (info->nchannels < 1)
        info->nchannels = 1;
}

void lapse_reader_to_f32(lapse_dtype_t from, const void *src, float *dst, size_t n)
{
    switch (from) {
    case LAPSE_DT_U8:
        for (size_t i = n; i-- > 0;) /* backwards: dst may be src */
            dst[i] = (float)((const uint8_t *)src)[i];
        return;
    case LAPSE_DT_U16:
        for (size_t i = n; i-- > 0;)
            dst[i] = (float)((const uint16_t *)src)[i];
        return;
    case LAPSE_DT_I16:
        for (size_t i = n; i-- > 0;)
            dst[i] = (float)((const int16_t *)src)[i];
        return;
    case LAPSE_DT_U32: /* exact up to 2^24; above, rounded to the nearest float32, except that
                          2^24 + 1 (a tie, to even) goes up: no value above 2^24 reads as 2^24
                          itself, the largest label, so label steps see and refuse it */
        for (size_t i = 0; i < n; i++) {
            const uint32_t v = ((const uint32_t *)src)[i];
            dst[i] = v == 16777217u ? 16777218.0f : (float)v;
        }
        return;
    case LAPSE_DT_F64: /* rounded to nearest; beyond float32's range: +-inf */
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)((const double *)src)[i];
        return;
    case LAPSE_DT_F32:
        if ((const void *)dst != src)
            memcpy(dst, src, n * sizeof(float));
        return;
    default:
        return;
    }
}

int lapse_reader_check_dataset(const char *file, const char *dataset, char *err, size_t errlen)
{
    lapse_input_sel_t sel;
    if (dataset == NULL) {
        snprintf(err, errlen, "no dataset given");
        return -1;
    }
    if (lapse_input_sel_parse(dataset, &sel, err, errlen) != 0)
        return -1;
    if (sel.files || sel.bdv)
        return 0; /* checked when probed */
    return lapse_reader_backend_for_name(file)->check_dataset(sel.dataset, err, errlen);
}

lapse_status_t lapse_reader_probe(const char *file, const char *dataset, lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    lapse_input_sel_t sel;
    const lapse_reader_backend_t *b = NULL;
    const char *bds = NULL;
    lapse_input_info_t got = *info; /* *info changes only on success (but failed_part) */
    got.failed_part = 1;
    LAPSE_TRY(pick(file, dataset, &sel, &b, &bds, &got.failed_part));
    LAPSE_TRY(b->probe(file, bds, &got));
    finish_info(b, &got);
    LAPSE_TRY(check_extent(file, &got));
    *info = got;
    return LAPSE_OK;
cleanup:
    info->failed_part = got.failed_part;
    return st;
}

lapse_status_t lapse_reader_open(const char *file, const char *dataset, lapse_reader_t **out)
{
    lapse_status_t st = LAPSE_OK;
    lapse_input_sel_t sel;
    const char *bds = NULL;
    lapse_reader_t *r = calloc(1, sizeof *r);
    LAPSE_ALLOC(r);
    snprintf(r->name, sizeof r->name, "%s%s%s", file, dataset && dataset[0] ? ":" : "",
             dataset ? dataset : "");
    LAPSE_TRY(pick(file, dataset, &sel, &r->backend, &bds, &r->info.failed_part));
    LAPSE_TRY(r->backend->open(file, bds, &r->handle, &r->info));
    finish_info(r->backend, &r->info);
    LAPSE_TRY(check_extent(file, &r->info));
    r->convert = r->backend != &lapse_reader_files && r->info.file_dtype != r->info.dtype;
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
    if (st == LAPSE_OK && r->convert) {
        size_t nv = (size_t)lapse_box_voxels(box), need = nv * lapse_dtype_size(info->file_dtype);
        if (need > r->buflen) {
            unsigned char *b = realloc(r->buf, need);
            LAPSE_ALLOC(b);
            r->buf = b;
            r->buflen = need;
        }
        st = r->backend->read(r->handle, t, box, r->buf);
        if (st == LAPSE_OK)
            lapse_reader_to_f32(info->file_dtype, r->buf, dst, nv);
    } else if (st == LAPSE_OK) {
        st = r->backend->read(r->handle, t, box, dst);
    }
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
    free(r->buf);
    free(r);
}
