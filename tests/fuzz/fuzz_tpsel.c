/*
 * fuzz_tpsel.c - libFuzzer harness for timepoint selections: lapse_tpsel_parse() and
 * lapse_tpsel_format().
 *
 * Input layout: byte 0 picks the number of timepoints ntp (bit 0 set: -1 = syntax check only;
 * else bytes 1-2 give ntp in 0..4095, kept small so that a selection cannot ask for gigabytes);
 * the rest is the selection text, cut at the first NUL. Checked: syntax-only and ranged parses
 * agree, a result is sorted, unique and inside [0, ntp), a failure names a position and leaves
 * the outputs untouched, and formatting a result then parsing it again gives the same list.
 */
#include "tpsel.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_tpsel: %s: ", #cond);                                            \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define NTP_MAX 4096

/* Re-parse the formatted form of tps[0..n) and require the same list. */
static void check_round_trip(const char *sel, const int64_t *tps, int64_t n, int64_t ntp)
{
    static char text[NTP_MAX * 24 + 64];
    lapse_tpsel_format(tps, n, text, sizeof text);
    FUZZ_ASSERT(strstr(text, "...") == NULL, "format truncated %lld items", (long long)n);
    int64_t *again = NULL, m = -1;
    char err[256];
    if (n == 0) {
        FUZZ_ASSERT(text[0] == '\0', "empty list formatted as \"%s\"", text);
        return; /* "" means "all", so an empty list has no selection string */
    }
    int rc = lapse_tpsel_parse(text, ntp, &again, &m, err, sizeof err);
    FUZZ_ASSERT(rc == 0, "\"%s\" -> \"%s\" does not parse: %s", sel, text, err);
    FUZZ_ASSERT(m == n && memcmp(again, tps, (size_t)n * sizeof *tps) == 0,
                "\"%s\" -> \"%s\" parses to a different list (%lld vs %lld items)", sel, text,
                (long long)m, (long long)n);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int64_t ntp = (data[0] & 1) ? -1 : (int64_t)((data[1] | (data[2] << 8)) % NTP_MAX);
    size_t len = size - 3;
    char *sel = malloc(len + 1);
    if (sel == NULL)
        return 0;
    memcpy(sel, data + 3, len);
    sel[len] = '\0';

    char err[128], err2[128];
    int64_t sentinel = 0x5eed;
    int64_t *tps = &sentinel, n = -7;
    int syntax = lapse_tpsel_parse(sel, -1, NULL, NULL, err2, sizeof err2);
    int rc = lapse_tpsel_parse(sel, ntp, &tps, &n, err, sizeof err);
    FUZZ_ASSERT(rc == 0 || rc == -1, "returned %d", rc);
    FUZZ_ASSERT(syntax == 0 || syntax == -1, "syntax check returned %d", syntax);
    if (rc == 0 && ntp >= 0) {
        FUZZ_ASSERT(syntax == 0, "\"%s\" parses with ntp %lld but fails the syntax check: %s", sel,
                    (long long)ntp, err2);
        FUZZ_ASSERT(tps != &sentinel && n >= 0 && n <= ntp, "n = %lld, ntp = %lld", (long long)n,
                    (long long)ntp);
        for (int64_t i = 0; i < n; i++) {
            FUZZ_ASSERT(tps[i] >= 0 && tps[i] < ntp, "\"%s\": index %lld out of [0, %lld)", sel,
                        (long long)tps[i], (long long)ntp);
            FUZZ_ASSERT(i == 0 || tps[i - 1] < tps[i], "\"%s\": not sorted/unique at %lld", sel,
                        (long long)i);
        }
        check_round_trip(sel, tps, n, ntp);
        free(tps);
    } else if (rc == 0) {
        FUZZ_ASSERT(tps == &sentinel && n == -7, "syntax-only parse touched the outputs");
    } else {
        FUZZ_ASSERT(tps == &sentinel && n == -7, "failure touched the outputs");
        FUZZ_ASSERT(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL,
                    "failure without a message");
        if (syntax == 0)
            FUZZ_ASSERT(strstr(err, "out of range") != NULL || strstr(err, "too large") != NULL ||
                            strstr(err, "memory") != NULL,
                        "\"%s\" passes the syntax check but fails with ntp %lld: %s", sel,
                        (long long)ntp, err);
    }
    free(sel);
    return 0;
}
