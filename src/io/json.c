/*
 * io/json.c - the strict JSON parser of json.h: recursive descent over the text, depth, size
 * and node count bounded, every error reported with its line and column.
 */
#include "io/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len, pos;
    size_t nodes;
    char *err;
    size_t errlen;
    int failed;
} parser_t;

/* Record the first error at the current position (line and column counted from 1). */
static void fail(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(parser_t *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p->pos && i < p->len; i++) {
        if (p->s[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "line %zu, column %zu: %s", line, col, msg);
}

static void skip_ws(parser_t *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int peek(const parser_t *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static lapse_json_t *new_node(parser_t *p, lapse_json_type_t t)
{
    if (++p->nodes > LAPSE_JSON_MAX_NODES) {
        fail(p, "more than %d values", LAPSE_JSON_MAX_NODES);
        return NULL;
    }
    lapse_json_t *v = calloc(1, sizeof *v);
    if (v == NULL)
        fail(p, "out of memory");
    else
        v->type = t;
    return v;
}

void lapse_json_free(lapse_json_t *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        lapse_json_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

/* A growing byte buffer for a string being decoded. */
typedef struct {
    char *b;
    size_t n, cap;
} sbuf_t;

static int sbuf_put(sbuf_t *sb, const char *c, size_t n)
{
    if (sb->n + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 16;
        while (sb->n + n + 1 > cap)
            cap *= 2;
        char *b = realloc(sb->b, cap);
        if (b == NULL)
            return -1;
        sb->b = b;
        sb->cap = cap;
    }
    memcpy(sb->b + sb->n, c, n);
    sb->n += n;
    sb->b[sb->n] = '\0';
    return 0;
}

/* Encode code point cp as UTF-8 into out; returns the number of bytes. */
static size_t utf8_encode(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0 when invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Four hex digits at p->pos into *v; -1 when not. */
static int hex4(parser_t *p, unsigned *v)
{
    *v = 0;
    if (p->len - p->pos < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int c = p->s[p->pos + (size_t)i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -1;
        *v = *v * 16 + d;
    }
    p->pos += 4;
    return 0;
}

/* One escape after the backslash (p->pos at the character after it) into sb. */
static int parse_escape(parser_t *p, sbuf_t *sb)
{
    char out[4];
    size_t n = 1;
    int c = peek(p);
    p->pos++;
    switch (c) {
    case '"':
    case '\\':
    case '/':
        out[0] = (char)c;
        break;
    case 'b':
        out[0] = '\b';
        break;
    case 'f':
        out[0] = '\f';
        break;
    case 'n':
        out[0] = '\n';
        break;
    case 'r':
        out[0] = '\r';
        break;
    case 't':
        out[0] = '\t';
        break;
    case 'u': {
        unsigned cp, lo;
        if (hex4(p, &cp) != 0) {
            fail(p, "\\u must be followed by four hex digits");
            return -1;
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail(p, "lone low surrogate \\u%04X", cp);
            return -1;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                fail(p, "high surrogate \\u%04X without its low surrogate", cp);
                return -1;
            }
            p->pos += 2;
            if (hex4(p, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                fail(p, "high surrogate \\u%04X without its low surrogate", cp);
                return -1;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == 0) {
            fail(p, "\\u0000 is not allowed in a string");
            return -1;
        }
        n = utf8_encode(cp, out);
        break;
    }
    default:
        p->pos--;
        fail(p, "invalid escape in a string");
        return -1;
    }
    if (sbuf_put(sb, out, n) != 0) {
        fail(p, "out of memory");
        return -1;
    }
    return 0;
}

/* A string (p->pos at its opening quote) into a new malloc'ed text; NULL on error. */
static char *parse_string_raw(parser_t *p)
{
    sbuf_t sb = {NULL, 0, 0};
    p->pos++; /* the quote */
    if (sbuf_put(&sb, "", 0) != 0) {
        fail(p, "out of memory");
        return NULL;
    }
    for (;;) {
        if (p->pos >= p->len) {
            fail(p, "unterminated string");
            break;
        }
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            return sb.b;
        }
        if (c < 0x20) {
            fail(p, "control character 0x%02X in a string", c);
            break;
        }
        if (c == '\\') {
            p->pos++;
            if (parse_escape(p, &sb) != 0)
                break;
            continue;
        }
        size_t k = utf8_valid((const unsigned char *)p->s + p->pos, p->len - p->pos);
        if (k == 0) {
            fail(p, "invalid UTF-8 in a string");
            break;
        }
        if (sbuf_put(&sb, p->s + p->pos, k) != 0) {
            fail(p, "out of memory");
            break;
        }
        p->pos += k;
    }
    free(sb.b);
    return NULL;
}

/* A number by the JSON grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static lapse_json_t *parse_number(parser_t *p)
{
    size_t start = p->pos, i = p->pos;
    int integer = 1;
    const char *s = p->s;
    if (i < p->len && s[i] == '-')
        i++;
    if (i < p->len && s[i] == '0') {
        i++;
        if (i < p->len && s[i] >= '0' && s[i] <= '9') {
            p->pos = i;
            fail(p, "leading zero in a number");
            return NULL;
        }
    } else if (i < p->len && s[i] >= '1' && s[i] <= '9') {
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    } else {
        p->pos = i;
        fail(p, "invalid number");
        return NULL;
    }
    if (i < p->len && s[i] == '.') {
        integer = 0;
        i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9') {
            p->pos = i;
            fail(p, "a digit must follow the decimal point");
            return NULL;
        }
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        integer = 0;
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9') {
            p->pos = i;
            fail(p, "a digit must follow the exponent");
            return NULL;
        }
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    char buf[64];
    if (i - start >= sizeof buf) {
        fail(p, "number too long");
        return NULL;
    }
    memcpy(buf, s + start, i - start);
    buf[i - start] = '\0';
    lapse_json_t *v = new_node(p, LAPSE_JSON_NUMBER);
    if (v == NULL)
        return NULL;
    errno = 0;
    v->number = strtod(buf, NULL);
    if (errno == ERANGE && (v->number > 1 || v->number < -1)) {
        fail(p, "number out of range");
        free(v);
        return NULL;
    }
    if (integer) {
        errno = 0;
        long long ll = strtoll(buf, NULL, 10);
        if (errno == 0) {
            v->is_integer = 1;
            v->integer = ll;
        }
    }
    p->pos = i;
    return v;
}

static lapse_json_t *parse_value(parser_t *p, int depth);

/* Append item (and key, for objects) to container v. */
static int append(parser_t *p, lapse_json_t *v, lapse_json_t *item, char *key)
{
    lapse_json_t **items = realloc(v->items, (v->n + 1) * sizeof *items);
    if (items == NULL) {
        fail(p, "out of memory");
        return -1;
    }
    v->items = items;
    if (v->type == LAPSE_JSON_OBJECT) {
        char **keys = realloc(v->keys, (v->n + 1) * sizeof *keys);
        if (keys == NULL) {
            fail(p, "out of memory");
            return -1;
        }
        v->keys = keys;
        v->keys[v->n] = key;
    }
    v->items[v->n++] = item;
    return 0;
}

/* An array or object (p->pos at '[' or '{'). */
static lapse_json_t *parse_container(parser_t *p, int depth)
{
    int obj = p->s[p->pos] == '{';
    char close = obj ? '}' : ']';
    if (depth >= LAPSE_JSON_MAX_DEPTH) {
        fail(p, "nested deeper than %d levels", LAPSE_JSON_MAX_DEPTH);
        return NULL;
    }
    lapse_json_t *v = new_node(p, obj ? LAPSE_JSON_OBJECT : LAPSE_JSON_ARRAY);
    if (v == NULL)
        return NULL;
    p->pos++;
    skip_ws(p);
    if (peek(p) == close) {
        p->pos++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(p);
        if (obj) {
            if (peek(p) != '"') {
                fail(p, "expected a string key");
                break;
            }
            if ((key = parse_string_raw(p)) == NULL)
                break;
            if (v->n >= LAPSE_JSON_MAX_MEMBERS) {
                fail(p, "more than %d members in an object", LAPSE_JSON_MAX_MEMBERS);
                free(key);
                break;
            }
            if (lapse_json_get(v, key) != NULL) {
                fail(p, "duplicate key \"%.64s\"", key);
                free(key);
                break;
            }
            skip_ws(p);
            if (peek(p) != ':') {
                fail(p, "expected ':' after a key");
                free(key);
                break;
            }
            p->pos++;
        }
        lapse_json_t *item = parse_value(p, depth + 1);
        if (item == NULL || append(p, v, item, key) != 0) {
            lapse_json_free(item);
            free(key);
            break;
        }
        skip_ws(p);
        int c = peek(p);
        if (c == ',') {
            p->pos++;
            skip_ws(p);
            if (peek(p) == close) {
                fail(p, "trailing comma");
                break;
            }
            continue;
        }
        if (c == close) {
            p->pos++;
            return v;
        }
        fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        break;
    }
    lapse_json_free(v);
    return NULL;
}

/* A literal word (true, false, null). */
static lapse_json_t *parse_word(parser_t *p)
{
    static const struct {
        const char *w;
        lapse_json_type_t t;
        int b;
    } words[] = {
        {"true", LAPSE_JSON_BOOL, 1}, {"false", LAPSE_JSON_BOOL, 0}, {"null", LAPSE_JSON_NULL, 0}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].w);
        if (p->len - p->pos >= n && memcmp(p->s + p->pos, words[i].w, n) == 0) {
            lapse_json_t *v = new_node(p, words[i].t);
            if (v != NULL) {
                v->boolean = words[i].b;
                p->pos += n;
            }
            return v;
        }
    }
    fail(p, "unexpected character '%c'", p->s[p->pos]);
    return NULL;
}

static lapse_json_t *parse_value(parser_t *p, int depth)
{
    skip_ws(p);
    int c = peek(p);
    if (c < 0) {
        fail(p, "unexpected end of text");
        return NULL;
    }
    if (c == '{' || c == '[')
        return parse_container(p, depth);
    if (c == '"') {
        char *s = parse_string_raw(p);
        if (s == NULL)
            return NULL;
        lapse_json_t *v = new_node(p, LAPSE_JSON_STRING);
        if (v == NULL) {
            free(s);
            return NULL;
        }
        v->string = s;
        return v;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(p);
    if (c < 0x20 || c >= 0x7F) {
        fail(p, "unexpected byte 0x%02X", (unsigned)c);
        return NULL;
    }
    return parse_word(p);
}

int lapse_json_parse(const char *text, size_t len, lapse_json_t **out, char *err, size_t errlen)
{
    parser_t p = {text, len, 0, 0, err, errlen, 0};
    if (errlen > 0)
        err[0] = '\0';
    if (text == NULL) {
        snprintf(err, errlen, "no text");
        return -1;
    }
    if (len > LAPSE_JSON_MAX_BYTES) {
        snprintf(err, errlen, "%zu bytes: larger than %d", len, LAPSE_JSON_MAX_BYTES);
        return -1;
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        snprintf(err, errlen, "line 1, column 1: a byte order mark is not allowed");
        return -1;
    }
    lapse_json_t *v = parse_value(&p, 0);
    if (v != NULL) {
        skip_ws(&p);
        if (p.pos != p.len) {
            fail(&p, "text after the value");
            lapse_json_free(v);
            v = NULL;
        }
    }
    if (v == NULL)
        return -1;
    *out = v;
    return 0;
}

const lapse_json_t *lapse_json_get(const lapse_json_t *v, const char *key)
{
    if (v == NULL || v->type != LAPSE_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return v->items[i];
    return NULL;
}

const char *lapse_json_type_name(lapse_json_type_t t)
{
    static const char *const names[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}
