/*
 * tpsel.h - timepoint selections such as "0-99:2, 120, 150-160".
 *
 * Grammar: items separated by commas (spaces allowed); an item is N, A-B (inclusive) or A-B:S
 * (every S-th from A), with non-negative integers, A <= B, S >= 1; "all" (or an empty string)
 * selects every timepoint. The result is sorted and without duplicates.
 */
#ifndef LAPSE_TPSEL_H
#define LAPSE_TPSEL_H

#include <stddef.h>
#include <stdint.h>

/* Parse sel. ntp >= 0: the image has ntp timepoints and every selected index must be < ntp;
 * ntp < 0: check the syntax only (*out may be NULL then, and nothing is allocated).
 * On success returns 0 and, when out != NULL, stores a malloc'ed sorted unique array in *out
 * (caller frees) and its length in *n. On failure returns -1, writes a message naming the
 * offending item and its 1-based character position into err (errlen bytes), and leaves *out
 * and *n unchanged. */
int lapse_tpsel_parse(const char *sel, int64_t ntp, int64_t **out, int64_t *n, char *err,
                      size_t errlen);

/* A 16-hex-digit hash of a sorted unique list (identifies a selection of any length; the text
 * of lapse_tpsel_format is cut at its buffer). */
void lapse_tpsel_hash(const int64_t *tps, int64_t n, char *out, size_t len);

/* Write a compact selection string for a sorted unique list ("0-4, 7, 9-13"). */
void lapse_tpsel_format(const int64_t *tps, int64_t n, char *buf, size_t len);

#endif
