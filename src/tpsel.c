/*
 * tpsel.c - timepoint selections ("0-99:2, 120, 150-160"): parsing into a sorted unique index
 * list, with messages that name the offending item and its character position, and formatting
 * of a list back into a compact selection string. The grammar is in tpsel.h.
 */
#include "tpsel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One parsed item: first, last (inclusive), step. */
typedef struct {
    int64_t a, b, s;
} tp_range_t;

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Message "<what> in timepoint item "<item>" at position <pos>" into err; returns -1. */
static int item_error(char *err, size_t errlen, const char *sel, size_t start, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int item_error(char *err, size_t errlen, const char *sel, size_t start, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return -1;
    /* The item: from its start to the next comma or the end, trailing blanks dropped. */
    size_t end = start;
    while (sel[end] != '\0' && sel[end] != ',')
        end++;
    while (end > start && is_space(sel[end - 1]))
        end--;
    char item[48];
    size_t n = end - start;
    int cut = 0;
    if (n > 40) {
        n = 40;
        cut = 1;
    }
    memcpy(item, sel + start, n);
    item[n] = '\0';

    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "timepoint item \"%s%s\" at position %zu: %s", item, cut ? "..." : "",
             start + 1, what);
    return -1;
}

/* Parse a non-negative decimal integer at sel[*i]; returns 0 or -1 (no digits / overflow:
 * *overflow set). Leading blanks are skipped; *i ends after the digits. */
static int parse_uint(const char *sel, size_t *i, int64_t *v, int *overflow)
{
    size_t p = *i;
    while (is_space(sel[p]))
        p++;
    if (!is_digit(sel[p]))
        return -1;
    int64_t x = 0;
    while (is_digit(sel[p])) {
        int d = sel[p] - '0';
        if (x > (INT64_MAX - d) / 10) {
            *overflow = 1;
            return -1;
        }
        x = x * 10 + d;
        p++;
    }
    *v = x;
    *i = p;
    return 0;
}

/* What the character at sel[p] is, for "expected ..." messages. */
static const char *describe(const char *sel, size_t p, char *buf, size_t len)
{
    if (sel[p] == '\0')
        return "end of text";
    if (sel[p] == '-' && is_digit(sel[p + 1]))
        return "a negative number";
    if ((unsigned char)sel[p] < 0x20 || (unsigned char)sel[p] >= 0x7f)
        snprintf(buf, len, "byte 0x%02x", (unsigned char)sel[p]);
    else
        snprintf(buf, len, "'%c'", sel[p]);
    return buf;
}

/* Parse one number of the item starting at `start`, reporting errors against that item. */
static int item_number(const char *sel, size_t start, size_t *i, int64_t *v, const char *role,
                       char *err, size_t errlen)
{
    int overflow = 0;
    if (parse_uint(sel, i, v, &overflow) == 0)
        return 0;
    if (overflow) {
        item_error(err, errlen, sel, start, "%s is too large", role);
        return -1;
    }
    size_t p = *i;
    while (is_space(sel[p]))
        p++;
    char buf[32];
    item_error(err, errlen, sel, start, "expected a non-negative integer (%s), found %s", role,
               describe(sel, p, buf, sizeof buf));
    return -1;
}

/* Parse one item at sel[*i] (blanks already skipped) into r. */
static int parse_item(const char *sel, size_t *i, tp_range_t *r, char *err, size_t errlen)
{
    size_t start = *i;
    if (sel[start] == ',' || sel[start] == '\0') {
        item_error(err, errlen, sel, start, "empty item (two commas in a row?)");
        return -1;
    }
    if (item_number(sel, start, i, &r->a, "start", err, errlen) != 0)
        return -1;
    r->b = r->a;
    r->s = 1;
    while (is_space(sel[*i]))
        (*i)++;
    if (sel[*i] != '-')
        return 0;
    (*i)++;
    if (item_number(sel, start, i, &r->b, "end", err, errlen) != 0)
        return -1;
    while (is_space(sel[*i]))
        (*i)++;
    if (sel[*i] == ':') {
        (*i)++;
        if (item_number(sel, start, i, &r->s, "step", err, errlen) != 0)
            return -1;
        if (r->s == 0) {
            item_error(err, errlen, sel, start, "step must be >= 1");
            return -1;
        }
    }
    if (r->a > r->b) {
        item_error(err, errlen, sel, start, "start %lld is greater than end %lld", (long long)r->a,
                   (long long)r->b);
        return -1;
    }
    return 0;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* 1 when sel is "all" or blank. */
static int selects_all(const char *sel)
{
    size_t p = 0;
    while (is_space(sel[p]))
        p++;
    if (strncmp(sel + p, "all", 3) == 0)
        p += 3;
    else if (sel[p] != '\0')
        return 0;
    while (is_space(sel[p]))
        p++;
    return sel[p] == '\0';
}

/* Expand ranges (all < ntp) into a sorted unique malloc'ed array. */
static int expand(const tp_range_t *rs, size_t nr, int64_t **out, int64_t *n, char *err,
                  size_t errlen)
{
    int64_t total = 0;
    for (size_t k = 0; k < nr; k++) {
        int64_t c = (rs[k].b - rs[k].a) / rs[k].s + 1;
        if (c > INT64_MAX / 2 - total) {
            snprintf(err, errlen, "timepoint selection is too large");
            return -1;
        }
        total += c;
    }
    if ((uint64_t)total > SIZE_MAX / sizeof(int64_t) - 1) {
        snprintf(err, errlen, "timepoint selection is too large");
        return -1;
    }
    int64_t *v = malloc((size_t)(total > 0 ? total : 1) * sizeof *v);
    if (v == NULL) {
        snprintf(err, errlen, "out of memory expanding the timepoint selection");
        return -1;
    }
    int64_t m = 0;
    for (size_t k = 0; k < nr; k++) {
        for (int64_t t = rs[k].a; t <= rs[k].b; t += rs[k].s) {
            v[m++] = t;
            if (rs[k].b - t < rs[k].s)
                break; /* avoid overflow of t += s near INT64_MAX */
        }
    }
    qsort(v, (size_t)m, sizeof *v, cmp_i64);
    int64_t u = 0;
    for (int64_t k = 0; k < m; k++) {
        if (u == 0 || v[u - 1] != v[k])
            v[u++] = v[k];
    }
    *out = v;
    *n = u;
    return 0;
}

/* The whole range 0..ntp-1 (nothing to do when ntp < 0 or out == NULL). */
static int expand_all(int64_t ntp, int64_t **out, int64_t *n, char *err, size_t errlen)
{
    if (ntp < 0 || out == NULL)
        return 0;
    if (ntp == 0) {
        int64_t *v = malloc(sizeof *v);
        if (v == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        *out = v;
        *n = 0;
        return 0;
    }
    tp_range_t all = {0, ntp - 1, 1};
    return expand(&all, 1, out, n, err, errlen);
}

int lapse_tpsel_parse(const char *sel, int64_t ntp, int64_t **out, int64_t *n, char *err,
                      size_t errlen)
{
    char dummy[8];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    if (sel == NULL)
        sel = "";

    if (selects_all(sel))
        return expand_all(ntp, out, n, err, errlen);

    /* Every item has at least one digit and items are separated by commas, so there are at
     * most (length + 1) / 2 items. */
    size_t len = strlen(sel);
    tp_range_t *rs = malloc((len / 2 + 1) * sizeof *rs);
    if (rs == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t nr = 0, i = 0;
    int rc = -1;
    for (;;) {
        while (is_space(sel[i]))
            i++;
        size_t start = i;
        tp_range_t r;
        if (parse_item(sel, &i, &r, err, errlen) != 0)
            goto done;
        while (is_space(sel[i]))
            i++;
        if (sel[i] != ',' && sel[i] != '\0') {
            char buf[32];
            item_error(err, errlen, sel, start, "unexpected %s at position %zu",
                       describe(sel, i, buf, sizeof buf), i + 1);
            goto done;
        }
        if (ntp >= 0 && r.b >= ntp) {
            int64_t last = r.b - (r.b - r.a) % r.s; /* last index actually selected */
            if (last >= ntp) {
                item_error(err, errlen, sel, start,
                           "timepoint %lld is out of range (the image has %lld timepoints)",
                           (long long)last, (long long)ntp);
                goto done;
            }
            r.b = last;
        }
        if (nr < len / 2 + 1)
            rs[nr++] = r;
        if (sel[i] == '\0')
            break;
        size_t comma = i++;
        while (is_space(sel[i]))
            i++;
        if (sel[i] == '\0') {
            item_error(err, errlen, sel, start, "trailing comma at position %zu", comma + 1);
            goto done;
        }
    }
    rc = 0;
    if (ntp >= 0 && out != NULL)
        rc = expand(rs, nr, out, n, err, errlen);
done:
    free(rs);
    return rc;
}

/* Append text to buf at *pos; on overflow mark the end with "..." and return -1. */
static int put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= len - *pos) {
        if (len >= 4)
            memcpy(buf + len - 4, "...", 4);
        return -1;
    }
    *pos += (size_t)w;
    return 0;
}

void lapse_tpsel_format(const int64_t *tps, int64_t n, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return;
    buf[0] = '\0';
    size_t pos = 0;
    int64_t i = 0;
    while (i < n) {
        /* Greedy: the longest arithmetic run from i; used when it saves text. */
        int64_t j = i;
        int64_t d = i + 1 < n ? tps[i + 1] - tps[i] : 0;
        while (j + 1 < n && tps[j + 1] - tps[j] == d)
            j++;
        const char *sep = i == 0 ? "" : ", ";
        int rc;
        if (d == 1 && j > i) {
            rc = put(buf, len, &pos, "%s%lld-%lld", sep, (long long)tps[i], (long long)tps[j]);
        } else if (d > 1 && j - i >= 2) {
            rc = put(buf, len, &pos, "%s%lld-%lld:%lld", sep, (long long)tps[i], (long long)tps[j],
                     (long long)d);
        } else {
            j = i;
            rc = put(buf, len, &pos, "%s%lld", sep, (long long)tps[i]);
        }
        if (rc != 0)
            return;
        i = j + 1;
    }
}

void lapse_tpsel_hash(const int64_t *tps, int64_t n, char *out, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (int64_t i = 0; i < n; i++) {
        uint64_t v = (uint64_t)tps[i];
        for (int b = 0; b < 8; b++) {
            h ^= (v >> (8 * b)) & 0xff;
            h *= 1099511628211ULL;
        }
    }
    snprintf(out, len, "%016llx", (unsigned long long)h);
}
