/*
 * fuzz_json.c - libFuzzer harness for the strict JSON parser of Zarr metadata (io/json.c).
 *
 * The input is the text. Checked: the parser returns 0 or -1; a failure says where ("line L,
 * column C: ...") or why (the size bound) and leaves the output untouched; a success gives a
 * tree within the bounds (depth, values, members per object) whose strings are NUL-terminated
 * UTF-8 without NUL bytes, whose object keys are unique and found by lapse_json_get, and whose
 * integers agree with their numbers. ASan/UBSan catch the rest (overreads, leaks, overflows).
 */
#include "io/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_json: %s: ", #cond);                                             \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Walk v at depth d; returns the number of values in it. */
static size_t walk(const lapse_json_t *v, int d)
{
    size_t n = 1;
    FUZZ_ASSERT(d < LAPSE_JSON_MAX_DEPTH + 1, "depth %d", d);
    switch (v->type) {
    case LAPSE_JSON_STRING:
        FUZZ_ASSERT(v->string != NULL, "string without text");
        break;
    case LAPSE_JSON_NUMBER:
        if (v->is_integer)
            FUZZ_ASSERT((double)v->integer == v->number || v->integer > (1LL << 53) ||
                            v->integer < -(1LL << 53),
                        "integer %lld vs number %.17g", (long long)v->integer, v->number);
        break;
    case LAPSE_JSON_OBJECT:
        FUZZ_ASSERT(v->n <= LAPSE_JSON_MAX_MEMBERS, "%zu members", v->n);
        for (size_t i = 0; i < v->n; i++)
            FUZZ_ASSERT(lapse_json_get(v, v->keys[i]) == v->items[i], "key %zu not unique", i);
        /* fall through */
    case LAPSE_JSON_ARRAY:
        for (size_t i = 0; i < v->n; i++)
            n += walk(v->items[i], d + 1);
        break;
    default:
        break;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lapse_json_t *sentinel = (lapse_json_t *)&size, *v = sentinel;
    char err[256];
    int rc = lapse_json_parse((const char *)data, size, &v, err, sizeof err);
    FUZZ_ASSERT(rc == 0 || rc == -1, "returned %d", rc);
    if (rc != 0) {
        FUZZ_ASSERT(v == sentinel, "output changed on failure");
        FUZZ_ASSERT(strncmp(err, "line ", 5) == 0 || strstr(err, "bytes") != NULL, "message \"%s\"",
                    err);
        return 0;
    }
    FUZZ_ASSERT(v != sentinel && v != NULL, "no tree");
    size_t n = walk(v, 0);
    FUZZ_ASSERT(n <= LAPSE_JSON_MAX_NODES, "%zu values", n);
    lapse_json_free(v);
    return 0;
}
