/*
 * test_json.c - the strict JSON parser (io/json.c): valid texts parsed into the right tree
 * (types, numbers, escapes and surrogate pairs decoded to UTF-8, key order), real Zarr and
 * OME-Zarr metadata, and hostile texts refused with a line:column message and no leak or crash
 * (truncations of a valid text at every byte, trailing commas, comments, duplicate keys, NaN,
 * leading zeros, bad escapes, lone surrogates, invalid UTF-8, control characters, nesting past
 * the depth bound, a text past the size bound, random bytes).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "testutil.h"

static lapse_json_t *ok(const char *text)
{
    lapse_json_t *v = NULL;
    char err[256];
    int rc = lapse_json_parse(text, strlen(text), &v, err, sizeof err);
    ck_assert_msg(rc == 0, "refused %s: %s", text, err);
    return v;
}

/* text is refused with a message containing want (when not NULL). */
static void bad(const char *text, size_t len, const char *want)
{
    lapse_json_t *v = NULL;
    char err[256] = "x";
    int rc = lapse_json_parse(text, len, &v, err, sizeof err);
    ck_assert_msg(rc == -1, "accepted %.*s", (int)len, text);
    ck_assert_ptr_null(v);
    ck_assert_msg(strncmp(err, "line ", 5) == 0 || strstr(err, "bytes") != NULL, "message: %s",
                  err);
    if (want != NULL)
        ck_assert_msg(strstr(err, want) != NULL, "%.*s: message \"%s\" lacks \"%s\"", (int)len,
                      text, err, want);
}

START_TEST(test_values)
{
    lapse_json_t *v = ok(" {\"a\": [1, -2.5e3, 0, true, false, null], \"b\": \"x\", \"c\": {}} ");
    ck_assert_int_eq(v->type, LAPSE_JSON_OBJECT);
    ck_assert_int_eq(v->n, 3);
    ck_assert_str_eq(v->keys[0], "a");
    ck_assert_str_eq(v->keys[2], "c");
    const lapse_json_t *a = lapse_json_get(v, "a");
    ck_assert_int_eq(a->type, LAPSE_JSON_ARRAY);
    ck_assert_int_eq(a->n, 6);
    ck_assert(a->items[0]->is_integer && a->items[0]->integer == 1);
    ck_assert(!a->items[1]->is_integer);
    ck_assert(a->items[1]->number == -2500.0);
    ck_assert(a->items[2]->is_integer && a->items[2]->integer == 0);
    ck_assert(a->items[3]->type == LAPSE_JSON_BOOL && a->items[3]->boolean == 1);
    ck_assert(a->items[4]->type == LAPSE_JSON_BOOL && a->items[4]->boolean == 0);
    ck_assert_int_eq(a->items[5]->type, LAPSE_JSON_NULL);
    ck_assert_str_eq(lapse_json_get(v, "b")->string, "x");
    ck_assert_int_eq(lapse_json_get(v, "c")->n, 0);
    ck_assert_ptr_null(lapse_json_get(v, "d"));
    ck_assert_ptr_null(lapse_json_get(a, "a"));
    lapse_json_free(v);

    v = ok("[9223372036854775807, -9223372036854775808, 9223372036854775808, 1.0, 1e2]");
    ck_assert(v->items[0]->is_integer && v->items[0]->integer == INT64_MAX);
    ck_assert(v->items[1]->is_integer && v->items[1]->integer == INT64_MIN);
    ck_assert(!v->items[2]->is_integer && v->items[2]->number == 9223372036854775808.0);
    ck_assert(!v->items[3]->is_integer && v->items[3]->number == 1.0);
    ck_assert(!v->items[4]->is_integer && v->items[4]->number == 100.0);
    lapse_json_free(v);

    v = ok("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC\\ud83d\\ude00 \xc3\xa9\"");
    ck_assert_str_eq(v->string, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \xc3\xa9");
    lapse_json_free(v);
    v = ok("0");
    ck_assert(v->is_integer && v->integer == 0);
    lapse_json_free(v);
    v = ok("-0.0");
    ck_assert(v->number == 0.0 && signbit(v->number));
    lapse_json_free(v);
    v = ok("1e-400"); /* underflow to 0 is a value, not an error */
    ck_assert(v->number == 0.0);
    lapse_json_free(v);
}
END_TEST

/* Metadata as zarr-python 2 and OME-NGFF 0.4 write it. */
START_TEST(test_zarr_metadata)
{
    lapse_json_t *v =
        ok("{\n    \"chunks\": [\n        1,\n        8,\n        16\n    ],\n    \"compressor\": "
           "{\n        \"blocksize\": 0,\n        \"clevel\": 5,\n        \"cname\": \"lz4\",\n"
           "        \"id\": \"blosc\",\n        \"shuffle\": 1\n    },\n    "
           "\"dimension_separator\": \"/\",\n    \"dtype\": \"<u2\",\n    \"fill_value\": "
           "\"NaN\",\n    \"filters\": null,\n    \"order\": \"C\",\n    \"shape\": [\n        3,"
           "\n        20,\n        33\n    ],\n    \"zarr_format\": 2\n}");
    ck_assert_int_eq(lapse_json_get(v, "chunks")->items[2]->integer, 16);
    ck_assert_str_eq(lapse_json_get(lapse_json_get(v, "compressor"), "cname")->string, "lz4");
    ck_assert_int_eq(lapse_json_get(v, "filters")->type, LAPSE_JSON_NULL);
    lapse_json_free(v);
    v = ok("{\"multiscales\": [{\"axes\": [{\"name\": \"t\", \"type\": \"time\"}, {\"name\": "
           "\"z\", \"type\": \"space\", \"unit\": \"micrometer\"}], \"datasets\": [{\"path\": "
           "\"0\", \"coordinateTransformations\": [{\"type\": \"scale\", \"scale\": [1.0, "
           "0.5]}]}], \"version\": \"0.4\"}]}");
    const lapse_json_t *ms = lapse_json_get(v, "multiscales")->items[0];
    ck_assert_str_eq(lapse_json_get(lapse_json_get(ms, "datasets")->items[0], "path")->string, "0");
    lapse_json_free(v);
}
END_TEST

START_TEST(test_hostile)
{
    bad("", 0, "end of text");
    bad("   ", 3, "end of text");
    bad("[1,]", 4, "trailing comma");
    bad("{\"a\":1,}", 8, "trailing comma");
    bad("[1 2]", 5, "expected ','");
    bad("{\"a\" 1}", 7, "':'");
    bad("{a:1}", 5, "string key");
    bad("{\"a\":1,\"a\":2}", 13, "duplicate key");
    bad("// c\n1", 6, "line 1, column 1");
    bad("[1] /* c */", 11, "after the value");
    bad("1 2", 3, "after the value");
    bad("NaN", 3, NULL);
    bad("[Infinity]", 10, NULL);
    bad("-", 1, "invalid number");
    bad("01", 2, "leading zero");
    bad("1.", 2, "decimal point");
    bad(".5", 2, NULL);
    bad("1e", 2, "exponent");
    bad("+1", 2, NULL);
    bad("1e999", 5, "out of range");
    bad("\"abc", 4, "unterminated");
    bad("\"a\\x\"", 5, "invalid escape");
    bad("\"\\u12\"", 6, "four hex");
    bad("\"\\ud800\"", 8, "surrogate");
    bad("\"\\udc00\"", 8, "surrogate");
    bad("\"\\ud800\\u0041\"", 14, "surrogate");
    bad("\"\\u0000\"", 8, "\\u0000");
    bad("\"a\tb\"", 5, "control character");
    bad("\"\xff\"", 3, "UTF-8");
    bad("\"\xc0\xaf\"", 4, "UTF-8");         /* overlong '/' */
    bad("\"\xed\xa0\x80\"", 5, "UTF-8");     /* encoded surrogate */
    bad("\"\xf4\x90\x80\x80\"", 6, "UTF-8"); /* above U+10FFFF */
    bad("\"\xe2\x82\"", 4, "UTF-8");         /* cut sequence */
    bad("\xEF\xBB\xBF{}", 5, "byte order mark");
    bad("tru", 3, NULL);
    bad("nul", 3, NULL);
    bad("[1]\0", 4, "after the value");
    bad("{\"a\":1}\n\n  x", 12, "line 3, column 3");
}
END_TEST

/* Every prefix of a valid text but the whole is refused (no crash, no leak under valgrind). */
START_TEST(test_truncations)
{
    const char *text =
        "{\"shape\": [3, 20, 33], \"s\": \"\\u00e9\\ud83d\\ude00x\", \"f\": -1.5e-3, "
        "\"o\": {\"k\": [true, false, null, {}]}}";
    size_t n = strlen(text);
    lapse_json_free(ok(text));
    for (size_t i = 0; i < n; i++)
        bad(text, i, NULL);
}
END_TEST

START_TEST(test_bounds)
{
    size_t depth = LAPSE_JSON_MAX_DEPTH;
    char *t = malloc(2 * depth + 3);
    ck_assert_ptr_nonnull(t);
    /* exactly the bound: accepted */
    memset(t, '[', depth);
    memset(t + depth, ']', depth);
    lapse_json_t *v = NULL;
    char err[256];
    ck_assert_int_eq(lapse_json_parse(t, 2 * depth, &v, err, sizeof err), 0);
    lapse_json_free(v);
    /* one more: refused */
    memset(t, '[', depth + 1);
    memset(t + depth + 1, ']', depth + 1);
    bad(t, 2 * depth + 2, "nested deeper");
    free(t);
    /* a deep attack far beyond the bound: refused without recursing that deep */
    size_t huge = 1000000;
    t = malloc(huge);
    ck_assert_ptr_nonnull(t);
    memset(t, '[', huge);
    bad(t, huge, "nested deeper");
    memset(t, ' ', huge);
    t[0] = '1';
    bad(t, LAPSE_JSON_MAX_BYTES + 1, "larger than");
    free(t);
    /* too many values */
    size_t nvals = LAPSE_JSON_MAX_NODES + 1;
    t = malloc(2 * nvals + 2);
    ck_assert_ptr_nonnull(t);
    t[0] = '[';
    for (size_t i = 0; i < nvals; i++) {
        t[1 + 2 * i] = '0';
        t[2 + 2 * i] = ',';
    }
    t[2 * nvals] = ']';
    bad(t, 2 * nvals + 1, "more than");
    free(t);
    /* too many members in one object */
    char *o = malloc(20 * (LAPSE_JSON_MAX_MEMBERS + 2));
    ck_assert_ptr_nonnull(o);
    size_t k = 0;
    o[k++] = '{';
    for (int i = 0; i <= LAPSE_JSON_MAX_MEMBERS; i++)
        k += (size_t)sprintf(o + k, "%s\"k%d\":1", i ? "," : "", i);
    o[k++] = '}';
    bad(o, k, "members");
    free(o);
}
END_TEST

/* Random bytes and random mutations of a valid text: parsed or refused, never a crash. */
START_TEST(test_random)
{
    const char *base = "{\"zarr_format\": 2, \"shape\": [4, 5], \"chunks\": [2, 3], \"dtype\": "
                       "\"<u2\", \"fill_value\": 0, \"order\": \"C\", \"compressor\": {\"id\": "
                       "\"zlib\", \"level\": 1}, \"filters\": null}";
    size_t n = strlen(base);
    char *t = malloc(n + 1);
    uint64_t seed = 42;
    ck_assert_ptr_nonnull(t);
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(t, base, n);
        int muts = 1 + (int)(tu_rand(&seed) % 4);
        for (int m = 0; m < muts; m++)
            t[tu_rand(&seed) % n] = (char)(tu_rand(&seed) & 0xFF);
        lapse_json_t *v = NULL;
        char err[256];
        if (lapse_json_parse(t, n, &v, err, sizeof err) == 0)
            lapse_json_free(v);
        else
            ck_assert(strncmp(err, "line ", 5) == 0);
    }
    free(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_zarr_metadata);
    tcase_add_test(tc, test_hostile);
    tcase_add_test(tc, test_truncations);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_random);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
