/*
 * io/reader_files.c - one file per timepoint (input.files: "tp_*.tif"): the backend behind the
 * selection "#files" (see reader.h).
 *
 * The pattern is expanded with glob(3) and the names sorted naturally (digit runs compared as
 * numbers: tp_2 before tp_10). Each name carries a timepoint number: the first run of digits at
 * or after the pattern's first wildcard. The numbers must be consecutive, without gaps or
 * repeats, so that a missing or extra file is an error naming it. Every file is read through
 * the facade (any format; the rest of the selection, e.g. a channel, applies to each file) and
 * must hold one timepoint of the same shape and type as the first. The probe opens every file;
 * an open lists the names and opens the first; a read opens the file of its timepoint (keeping
 * the last one open), and a file that does not match the first then is a read error.
 */
#define _GNU_SOURCE
#include "io/reader.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An open input: the handle behind lapse_reader_t. */
typedef struct {
    char **names;
    size_t n;
    char sub[LAPSE_NAME_MAX]; /* the dataset and selection for each file ("files" removed) */
    lapse_input_info_t first; /* of the first file */
    lapse_reader_t *cur;      /* the open file */
    int64_t cur_t;
} files_input_t;

/* Natural order: runs of digits compared by value (then by length: "01" after "1"). */
static int natcmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            const char *a0 = a, *b0 = b;
            while (*a0 == '0')
                a0++;
            while (*b0 == '0')
                b0++;
            const char *a1 = a0, *b1 = b0;
            while (*a1 >= '0' && *a1 <= '9')
                a1++;
            while (*b1 >= '0' && *b1 <= '9')
                b1++;
            if (a1 - a0 != b1 - b0)
                return a1 - a0 < b1 - b0 ? -1 : 1;
            int c = strncmp(a0, b0, (size_t)(a1 - a0));
            if (c != 0)
                return c;
            if (a0 - a != b0 - b) /* same value, fewer leading zeros first */
                return a0 - a < b0 - b ? -1 : 1;
            a = a1;
            b = b1;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int natcmp_qsort(const void *x, const void *y)
{
    return natcmp(*(char *const *)x, *(char *const *)y);
}

/* The timepoint number of name: the first digit run at or after offset k; -1 when none, -2 when
 * it has more than 18 digits (leading zeros aside: the next number must not overflow). */
static long long number_of(const char *name, size_t k)
{
    if (strlen(name) < k)
        return -1;
    const char *p = name + k;
    while (*p && (*p < '0' || *p > '9'))
        p++;
    if (!*p)
        return -1;
    while (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
        p++;
    if (strspn(p, "0123456789") > 18)
        return -2;
    return strtoll(p, NULL, 10);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; names != NULL && i < n; i++)
        free(names[i]);
    free(names);
}

lapse_status_t lapse_reader_files_list(const char *pattern, char ***names, size_t *n)
{
    lapse_status_t st = LAPSE_OK;
    glob_t g;
    char **v = NULL;
    size_t cnt = 0;
    int globbed = 0;
    if (pattern == NULL || pattern[0] == '\0')
        LAPSE_FAIL(LAPSE_EINPUT, "input.files: no file name pattern given");
    int rc = glob(pattern, 0, NULL, &g);
    globbed = rc == 0;
    if (rc == GLOB_NOMATCH)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: no file matches the pattern", pattern);
    if (rc != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: the pattern cannot be expanded (%s)", pattern,
                   rc == GLOB_NOSPACE ? "out of memory" : "a directory cannot be read");
    cnt = g.gl_pathc;
    v = calloc(cnt, sizeof *v);
    LAPSE_ALLOC(v);
    for (size_t i = 0; i < cnt; i++) {
        v[i] = strdup(g.gl_pathv[i]);
        LAPSE_ALLOC(v[i]);
    }
    qsort(v, cnt, sizeof *v, natcmp_qsort);
    size_t k = strcspn(pattern, "*?[");
    long long prev = -1;
    for (size_t i = 0; i < cnt; i++) {
        long long num = number_of(v[i], k);
        if (num == -2)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: file %s has a timepoint number of more than 18 digits, too large",
                       pattern, v[i]);
        if (num < 0)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: file %s has no timepoint number where the pattern has its wildcard "
                       "(an extra file? make the pattern match only the timepoint files)",
                       pattern, v[i]);
        if (i > 0 && num == prev)
            LAPSE_FAIL(LAPSE_EINPUT, "%s: files %s and %s both have timepoint number %lld", pattern,
                       v[i - 1], v[i], num);
        if (i > 0 && num != prev + 1)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: the file of timepoint number %lld is missing (%s is followed by %s; "
                       "the timepoint numbers must go 0, 1, 2, ... or start elsewhere and rise "
                       "by 1)",
                       pattern, prev + 1, v[i - 1], v[i]);
        prev = num;
    }
    *names = v;
    *n = cnt;
    v = NULL;
cleanup:
    free_names(v, cnt);
    if (globbed)
        globfree(&g);
    return st;
}

/* dataset without "files" in its selection into sub[LAPSE_NAME_MAX]. */
static lapse_status_t sub_selection(const char *pattern, const char *dataset, char *sub)
{
    lapse_status_t st = LAPSE_OK;
    lapse_input_sel_t sel;
    char err[256];
    if (lapse_input_sel_parse(dataset, &sel, err, sizeof err) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", pattern, err);
    sel.files = 0;
    if (lapse_input_sel_format(&sel, sub, LAPSE_NAME_MAX) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: dataset name too long", pattern);
cleanup:
    return st;
}

/* info (of file name, timepoint t) matches the first file's, else LAPSE_EINPUT (code) naming
 * what differs. */
static lapse_status_t same_as_first(lapse_status_t code, const char *name, int64_t t,
                                    const lapse_input_info_t *info, const lapse_input_info_t *first)
{
    lapse_status_t st = LAPSE_OK;
    if (info->ntp != 1)
        LAPSE_FAIL(code,
                   "%s (timepoint %lld): holds %lld timepoints; with input.files every file is "
                   "one z-stack",
                   name, (long long)t, (long long)info->ntp);
    if (info->shape[0] != first->shape[0] || info->shape[1] != first->shape[1] ||
        info->shape[2] != first->shape[2] || info->file_dtype != first->file_dtype)
        LAPSE_FAIL(code,
                   "%s (timepoint %lld): [z=%lld, y=%lld, x=%lld] %s, but the first file is "
                   "[z=%lld, y=%lld, x=%lld] %s: every timepoint file must match",
                   name, (long long)t, (long long)info->shape[0], (long long)info->shape[1],
                   (long long)info->shape[2], lapse_dtype_name(info->file_dtype),
                   (long long)first->shape[0], (long long)first->shape[1],
                   (long long)first->shape[2], lapse_dtype_name(first->file_dtype));
cleanup:
    return st;
}

static void files_close(void *handle)
{
    files_input_t *in = handle;
    if (in == NULL)
        return;
    lapse_reader_close(in->cur);
    free_names(in->names, in->n);
    free(in);
}

/* List the files and probe the first (all of them when all) into a new handle. */
static lapse_status_t files_start(const char *pattern, const char *dataset, int all,
                                  files_input_t **out, lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    files_input_t *in = calloc(1, sizeof *in);
    LAPSE_ALLOC(in);
    info->failed_part = 1;
    LAPSE_TRY(sub_selection(pattern, dataset, in->sub));
    LAPSE_TRY(lapse_reader_files_list(pattern, &in->names, &in->n));
    for (size_t i = 0; i < (all ? in->n : 1); i++) {
        lapse_input_info_t fi = {0};
        LAPSE_TRY(lapse_reader_probe(in->names[i], in->sub, &fi));
        if (i == 0)
            in->first = fi;
        LAPSE_TRY(same_as_first(LAPSE_EINPUT, in->names[i], (int64_t)i, &fi, &in->first));
    }
    *info = in->first;
    info->ndims = 4;
    info->ntp = (int64_t)in->n;
    info->axes_assumed = 0; /* one timepoint per file: its pages are z planes by definition */
    info->failed_part = 0;
    in->cur_t = -1;
    *out = in;
    in = NULL;
cleanup:
    files_close(in);
    return st;
}

static lapse_status_t files_probe(const char *pattern, const char *dataset,
                                  lapse_input_info_t *info)
{
    files_input_t *in = NULL;
    lapse_input_info_t tmp = {0};
    lapse_status_t st = files_start(pattern, dataset, 1, &in, &tmp);
    if (st == LAPSE_OK)
        *info = tmp;
    else
        info->failed_part = tmp.failed_part;
    files_close(in);
    return st;
}

static lapse_status_t files_open(const char *pattern, const char *dataset, void **handle,
                                 lapse_input_info_t *info)
{
    files_input_t *in = NULL;
    lapse_status_t st = files_start(pattern, dataset, 0, &in, info);
    if (st == LAPSE_OK)
        *handle = in;
    return st;
}

static lapse_status_t files_read(void *handle, int64_t t, const lapse_box_t *box, void *dst)
{
    lapse_status_t st = LAPSE_OK;
    files_input_t *in = handle;
    if (in->cur_t != t) {
        lapse_reader_close(in->cur);
        in->cur = NULL;
        in->cur_t = -1;
        LAPSE_TRY(lapse_reader_open(in->names[t], in->sub, &in->cur));
        LAPSE_TRY(
            same_as_first(LAPSE_EREAD, in->names[t], t, lapse_reader_info(in->cur), &in->first));
        in->cur_t = t;
    }
    LAPSE_TRY(lapse_reader_read(in->cur, 0, box, dst));
cleanup:
    return st;
}

/* A pattern has no syntax to check here: the probe expands it. */
static int files_check_dataset(const char *dataset, char *err, size_t errlen)
{
    (void)dataset, (void)err, (void)errlen;
    return 0;
}

static int files_sniff(const char *file)
{
    (void)file;
    return 0; /* chosen by the selection only */
}

const lapse_reader_backend_t lapse_reader_files = {
    .name = "files",
    .suffixes = NULL,
    .needs_dataset = 0,
    .thread_safe = 0, /* the files' own backends may not be */
    .selects = LAPSE_SELECTS_CHANNEL | LAPSE_SELECTS_BDV,
    .check_dataset = files_check_dataset,
    .sniff = files_sniff,
    .probe = files_probe,
    .open = files_open,
    .read = files_read,
    .close = files_close,
};
