/*
 * io/json.h - a small, strict JSON parser (RFC 8259) for the metadata files of the Zarr reader
 * (.zarray, .zattrs, .zgroup). It builds a tree of values; nothing more (no writer, no
 * streaming). Strict: one value per text (whitespace around it), no comments, no trailing
 * commas, no NaN/Infinity literals, no leading zeros, no raw control characters or invalid
 * UTF-8 in strings, no duplicate keys in an object. Bounded: at most LAPSE_JSON_MAX_BYTES of
 * text, LAPSE_JSON_MAX_DEPTH levels of nesting, LAPSE_JSON_MAX_NODES values, LAPSE_JSON_MAX_MEMBERS
 * members per object, so hostile
 * metadata costs bounded memory and stack.
 */
#ifndef LAPSE_IO_JSON_H
#define LAPSE_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

#define LAPSE_JSON_MAX_BYTES   (1 << 20)
#define LAPSE_JSON_MAX_DEPTH   64
#define LAPSE_JSON_MAX_NODES   100000
#define LAPSE_JSON_MAX_MEMBERS 4096 /* per object (duplicate keys are looked for) */

typedef enum {
    LAPSE_JSON_NULL,
    LAPSE_JSON_BOOL,
    LAPSE_JSON_NUMBER,
    LAPSE_JSON_STRING,
    LAPSE_JSON_ARRAY,
    LAPSE_JSON_OBJECT
} lapse_json_type_t;

typedef struct lapse_json lapse_json_t;

/* One value. Strings are NUL-terminated UTF-8 (a "\u0000" escape is refused, so the length is
 * strlen). Arrays and objects hold n items; an object's keys[i] names items[i], in text order. */
struct lapse_json {
    lapse_json_type_t type;
    int boolean;     /* BOOL */
    double number;   /* NUMBER (strtod of the text) */
    int is_integer;  /* NUMBER: the text is an integer (no fraction, no exponent) in int64 */
    int64_t integer; /* NUMBER when is_integer */
    char *string;    /* STRING */
    size_t n;        /* ARRAY, OBJECT */
    lapse_json_t **items;
    char **keys; /* OBJECT */
};

/* Parse len bytes of text. 0 and *out (free it with lapse_json_free) on success; -1 on any
 * error, with "line L, column C: what" in err[errlen] (errlen >= 1) and *out untouched. */
int lapse_json_parse(const char *text, size_t len, lapse_json_t **out, char *err, size_t errlen);

/* Free a tree; NULL is accepted. */
void lapse_json_free(lapse_json_t *v);

/* The member key of object v, or NULL (v NULL or not an object, or no such key). */
const lapse_json_t *lapse_json_get(const lapse_json_t *v, const char *key);

/* The name of a type ("null", "boolean", "number", "string", "array", "object"). */
const char *lapse_json_type_name(lapse_json_type_t t);

#endif
