/*
 * io/reader_zarr.c - the Zarr v2 / OME-Zarr input backend: a directory store read chunk by
 * chunk (see reader.h for the backend contract).
 *
 * input.file is the store's directory; input.dataset (optional) a path inside it. The node
 * there (the store's root when none) is an array (.zarray) or a group whose .zattrs holds
 * OME-NGFF multiscales (0.4: axes as objects with name, type and unit; 0.3: axes as names):
 * then the first dataset of the first multiscale (level 0, full resolution) is read, its axes
 * are the multiscale's (any subset of t, c, z, y, x in that order, y and x required) and its
 * voxel size the dataset's "scale" transformation in micrometres. A plain array's axes follow
 * lapse's HDF5 convention by rank: [y,x], [t,y,x], [t,z,y,x], [t,c,z,y,x]. An array with a
 * channel axis of more than one channel is read one channel at a time (input.channel, carried as
 * "#channel=N" after the dataset name: lapse_input_sel_t).
 *
 * The .zarray decides the rest: dtype (u1, u2, f4, either byte order), C order only, a
 * compressor (none, blosc with any codec this libblosc decodes, zlib, gzip; no filters),
 * fill_value for chunks that do not exist, and the chunk key separator ("." or "/"). A read
 * opens only the chunk files its box touches; a chunk that is too short, too long or does not
 * decompress to exactly one chunk is a read error naming the file (so is one that is not a regular
 * file: a FIFO is opened without blocking and refused). Paths inside the store are
 * built from validated dataset names and chunk indices only. The metadata goes through the
 * strict parser of io/json.h.
 *
 * Decoded chunks of a compressed array are kept for later reads (a chunk that spans tiles, or
 * holds a halo, is decoded once, as io/reader_h5.c does for HDF5): up to one timepoint's
 * chunks within LAPSE_H5_INPUT_CACHE bytes (default 256 MiB; room for fewer than 2 chunks:
 * none kept), the least recently used one replaced first. Uncompressed chunks
 * are read from their files again (the page cache serves them).
 */
#include "io/reader.h"

#include <blosc.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/json.h"

#define ZARR_MAX_DIMS    5
#define ZARR_CHUNK_LIMIT (1LL << 30) /* bytes of one decoded chunk */
#define ZARR_SHAPE_LIMIT (1LL << 40) /* voxels along one axis */
#define ZARR_META_LIMIT  LAPSE_JSON_MAX_BYTES

typedef enum { COMP_RAW, COMP_BLOSC, COMP_ZLIB, COMP_GZIP } zarr_comp_t;

/* Axis roles, in the only order NGFF allows (time, channel, space). */
enum { AX_T, AX_C, AX_Z, AX_Y, AX_X, AX_N };

/* An open input: the handle behind lapse_reader_t. */
typedef struct {
    char dir[4200]; /* the array's directory */
    int nd;
    int64_t shape[ZARR_MAX_DIMS], chunks[ZARR_MAX_DIMS];
    int axis[AX_N]; /* index of each role in the array's dimensions, -1 when absent */
    lapse_dtype_t dtype;
    size_t esize;
    int swap; /* big-endian data: swap bytes after the copy */
    zarr_comp_t comp;
    char sep;                    /* chunk key separator */
    unsigned char fill[4];       /* fill_value in the data's own byte order */
    size_t chunk_bytes;          /* one decoded chunk */
    unsigned char *raw, *packed; /* a decoded chunk, a chunk file's bytes */
    size_t packed_cap;
    int64_t channel; /* the channel read along the channel axis (0 without one) */
    /* the decoded chunks kept (see the header): nslots slots, 0 when none are kept, of which
     * the first nmade have data; a slot holds chunk idx[] when ok. The ok slots are found by a
     * hash of idx (heads[nheads], a power of 2, chained by hnext), and every slot with data is
     * on a list from the most recently used (lru_first) to the least (lru_last) by prev/next:
     * a read finds its chunk and takes a slot to replace in constant time, whatever the number
     * of slots (small chunks make tens of thousands). -1 ends a chain or the list. */
    struct zarr_slot {
        int64_t idx[ZARR_MAX_DIMS];
        unsigned char *data;
        int ok;
        int hnext, prev, next;
    } * slots;
    int *heads;
    int nslots, nmade, nheads, lru_first, lru_last;
} zarr_input_t;

/* ------------------------------------------------------------------ paths */

/* A dataset name: "" or components of [A-Za-z0-9._-] separated by '/', an optional leading
 * '/', no empty, "." or ".." component. */
static int check_name(const char *name, char *err, size_t errlen)
{
    const char *p = name[0] == '/' ? name + 1 : name;
    if (strlen(name) > 1024) {
        snprintf(err, errlen, "longer than 1024 characters");
        return -1;
    }
    if (name[0] == '/' && name[1] == '\0')
        return 0;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            snprintf(err, errlen, "\"%s\": empty, \".\" or \"..\" path components are not allowed",
                     name);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            char c = p[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-')) {
                snprintf(err, errlen,
                         "\"%s\": only letters, digits, '.', '_' and '-' are allowed in a path "
                         "inside a Zarr store",
                         name);
                return -1;
            }
        }
        p += n;
        if (*p == '/' && p[1] == '\0') {
            snprintf(err, errlen, "\"%s\": a trailing '/' is not allowed", name);
            return -1;
        }
        if (*p == '/')
            p++;
    }
    return 0;
}

/* dir + "/" + name (leading '/' of name dropped; name "" gives dir) into out[len]. */
static int join(const char *dir, const char *name, char *out, size_t len)
{
    const char *n = name[0] == '/' ? name + 1 : name;
    size_t dl = strlen(dir);
    int w = n[0] == '\0'
                ? snprintf(out, len, "%s", dir)
                : snprintf(out, len, "%s%s%s", dir, dl > 0 && dir[dl - 1] == '/' ? "" : "/", n);
    return w >= 0 && (size_t)w < len ? 0 : -1;
}

/* Read the whole metadata file path (at most ZARR_META_LIMIT bytes) and parse it. Returns 1 and
 * *out when parsed, 0 when the file does not exist, -1 with a message (LAPSE_EINPUT) otherwise. */
static int load_json(const char *path, lapse_json_t **out)
{
    struct stat sb;
    char err[300];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: refused, not waited on */
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        lapse_fail(LAPSE_EINPUT, "%s: cannot be read: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        lapse_fail(LAPSE_EINPUT, "%s: not a regular file", path);
        return -1;
    }
    if (sb.st_size > ZARR_META_LIMIT) {
        close(fd);
        lapse_fail(LAPSE_EINPUT, "%s: %lld bytes, larger than a metadata file may be (%d)", path,
                   (long long)sb.st_size, ZARR_META_LIMIT);
        return -1;
    }
    size_t n = (size_t)sb.st_size, got = 0;
    char *text = malloc(n + 1);
    if (text == NULL) {
        close(fd);
        lapse_fail(LAPSE_ENOMEM, "out of memory reading %s", path);
        return -1;
    }
    while (got < n) {
        ssize_t r = read(fd, text + got, n - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    int rc = got == n ? lapse_json_parse(text, n, out, err, sizeof err) : -1;
    free(text);
    if (got != n) {
        lapse_fail(LAPSE_EINPUT, "%s: cannot be read", path);
        return -1;
    }
    if (rc != 0) {
        lapse_fail(LAPSE_EINPUT, "%s: not valid JSON: %s", path, err);
        return -1;
    }
    return 1;
}

/* ------------------------------------------------------------------ .zarray */

/* An integer array of n (2..ZARR_MAX_DIMS) entries of v into out, each in [lo, hi]. */
static int int_array(const lapse_json_t *v, int64_t lo, int64_t hi, int64_t *out, int *n)
{
    if (v == NULL || v->type != LAPSE_JSON_ARRAY || v->n < 1 || v->n > ZARR_MAX_DIMS)
        return -1;
    for (size_t i = 0; i < v->n; i++) {
        const lapse_json_t *e = v->items[i];
        if (e->type != LAPSE_JSON_NUMBER || !e->is_integer || e->integer < lo || e->integer > hi)
            return -1;
        out[i] = e->integer;
    }
    *n = (int)v->n;
    return 0;
}

/* The dtype string: "<u2", ">f4", "|u1"... */
static lapse_status_t parse_dtype(zarr_input_t *in, const char *file, const lapse_json_t *v)
{
    if (v == NULL || v->type != LAPSE_JSON_STRING)
        return lapse_fail(LAPSE_EINPUT,
                          "%s: \"dtype\" must be a string (a structured dtype is "
                          "not supported)",
                          file);
    const char *s = v->string;
    if (strlen(s) == 3 && (s[0] == '<' || s[0] == '>' || s[0] == '|')) {
        if (strcmp(s + 1, "u1") == 0)
            in->dtype = LAPSE_DT_U8;
        else if (strcmp(s + 1, "u2") == 0 && s[0] != '|')
            in->dtype = LAPSE_DT_U16;
        else if (strcmp(s + 1, "f4") == 0 && s[0] != '|')
            in->dtype = LAPSE_DT_F32;
        else if (strcmp(s + 1, "u4") == 0 && s[0] != '|') /* read as float32 (reader.c) */
            in->dtype = LAPSE_DT_U32;
        else if (strcmp(s + 1, "i2") == 0 && s[0] != '|') /* read as float32 (reader.c) */
            in->dtype = LAPSE_DT_I16;
        else
            goto unsupported;
        in->esize = lapse_dtype_size(in->dtype);
        in->swap = s[0] == '>' && in->esize > 1;
        return LAPSE_OK;
    }
unsupported:
    return lapse_fail(LAPSE_EINPUT,
                      "%s: type \"%.32s\" is not supported (use uint8, uint16, float32, uint32 "
                      "or int16: \"<u1\", \"<u2\", \"<f4\", \"<u4\", \"<i2\")",
                      file, s);
}

/* The compressor (null, blosc, zlib, gzip) and the filters (none). */
static lapse_status_t parse_codec(zarr_input_t *in, const char *file, const lapse_json_t *meta)
{
    const lapse_json_t *c = lapse_json_get(meta, "compressor");
    const lapse_json_t *f = lapse_json_get(meta, "filters");
    if (f != NULL && f->type != LAPSE_JSON_NULL && !(f->type == LAPSE_JSON_ARRAY && f->n == 0))
        return lapse_fail(LAPSE_EINPUT,
                          "%s: filters are not supported (rewrite the array with "
                          "filters=None; a compressor is fine)",
                          file);
    if (c == NULL || c->type == LAPSE_JSON_NULL) {
        in->comp = COMP_RAW;
        return LAPSE_OK;
    }
    const lapse_json_t *id = lapse_json_get(c, "id");
    if (id == NULL || id->type != LAPSE_JSON_STRING)
        return lapse_fail(LAPSE_EINPUT,
                          "%s: \"compressor\" must be null or an object with an "
                          "\"id\"",
                          file);
    if (strcmp(id->string, "blosc") == 0)
        in->comp = COMP_BLOSC;
    else if (strcmp(id->string, "zlib") == 0)
        in->comp = COMP_ZLIB;
    else if (strcmp(id->string, "gzip") == 0)
        in->comp = COMP_GZIP;
    else
        return lapse_fail(LAPSE_EINPUT,
                          "%s: compressor \"%.32s\" is not supported (use blosc, zlib, gzip or "
                          "none)",
                          file, id->string);
    if (in->comp == COMP_BLOSC) {
        const lapse_json_t *cn = lapse_json_get(c, "cname");
        if (cn != NULL && cn->type == LAPSE_JSON_STRING) {
            const char *names = blosc_list_compressors();
            int compcode = blosc_compname_to_compcode(cn->string);
            if (compcode < 0)
                return lapse_fail(LAPSE_EINPUT,
                                  "%s: blosc codec \"%.32s\" is not in this libblosc (it has: %s)",
                                  file, cn->string, names);
        }
    }
    return LAPSE_OK;
}

/* fill_value into in->fill (the data's byte order): null is 0. */
static lapse_status_t parse_fill(zarr_input_t *in, const char *file, const lapse_json_t *v)
{
    double d = 0;
    if (v == NULL || v->type == LAPSE_JSON_NULL) {
        d = 0;
    } else if (v->type == LAPSE_JSON_NUMBER) {
        d = v->number;
    } else if (v->type == LAPSE_JSON_STRING && in->dtype == LAPSE_DT_F32 &&
               (strcmp(v->string, "NaN") == 0 || strcmp(v->string, "Infinity") == 0 ||
                strcmp(v->string, "-Infinity") == 0)) {
        d = v->string[0] == 'N' ? NAN : v->string[0] == '-' ? -INFINITY : INFINITY;
    } else {
        return lapse_fail(LAPSE_EINPUT, "%s: \"fill_value\" must be null or a number", file);
    }
    memset(in->fill, 0, sizeof in->fill);
    if (in->dtype == LAPSE_DT_F32) {
        float f = (float)d;
        memcpy(in->fill, &f, 4);
    } else {
        double lo = in->dtype == LAPSE_DT_I16 ? -32768 : 0;
        double max = in->dtype == LAPSE_DT_U8    ? 255
                     : in->dtype == LAPSE_DT_U16 ? 65535
                     : in->dtype == LAPSE_DT_I16 ? 32767
                                                 : 4294967295.0;
        if (!(d >= lo && d <= max && d == floor(d)))
            return lapse_fail(LAPSE_EINPUT, "%s: \"fill_value\" %g is not a %s value", file, d,
                              lapse_dtype_name(in->dtype));
        if (in->dtype == LAPSE_DT_U8) {
            in->fill[0] = (unsigned char)d;
        } else if (in->dtype == LAPSE_DT_U16) {
            uint16_t u = (uint16_t)d;
            memcpy(in->fill, &u, 2);
        } else if (in->dtype == LAPSE_DT_I16) {
            int16_t u = (int16_t)d;
            memcpy(in->fill, &u, 2);
        } else {
            uint32_t u = (uint32_t)d;
            memcpy(in->fill, &u, 4);
        }
    }
    if (in->swap) { /* stored like the data: swapped back after the copy */
        for (size_t i = 0; i < in->esize / 2; i++) {
            unsigned char t = in->fill[i];
            in->fill[i] = in->fill[in->esize - 1 - i];
            in->fill[in->esize - 1 - i] = t;
        }
    }
    return LAPSE_OK;
}

/* The chunk key separator of the array in dir whose .zarray names none: "/" when dir holds a
 * directory named by digits (a nested chunk path, as OME-NGFF 0.2 and later require and as
 * stores written before zarr-python 2.8 added the key lack), else ".", Zarr v2's default. */
static char guess_separator(const char *dir)
{
    char sep = '.', p[4400];
    DIR *d = opendir(dir);
    if (d == NULL)
        return sep;
    struct dirent *e;
    while (sep == '.' && (e = readdir(d)) != NULL) {
        struct stat sb;
        if (e->d_name[0] != '\0' && strspn(e->d_name, "0123456789") == strlen(e->d_name) &&
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p && stat(p, &sb) == 0 &&
            S_ISDIR(sb.st_mode))
            sep = '/';
    }
    closedir(d);
    return sep;
}

/* Read and check dir/.zarray into in (dims, chunks, dtype, order, codec, fill, separator). */
static lapse_status_t load_zarray(zarr_input_t *in, const char *dir)
{
    lapse_status_t st = LAPSE_OK;
    lapse_json_t *m = NULL;
    char file[4300];
    int nc = 0;
    snprintf(file, sizeof file, "%s/.zarray", dir);
    int rc = load_json(file, &m);
    if (rc <= 0) {
        if (rc == 0)
            LAPSE_FAIL(LAPSE_EINPUT, "%s: no such file", file);
        st = LAPSE_EINPUT;
        goto cleanup;
    }
    if (m->type != LAPSE_JSON_OBJECT)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: not a JSON object", file);
    const lapse_json_t *fmt = lapse_json_get(m, "zarr_format");
    if (fmt == NULL || !fmt->is_integer || fmt->integer != 2)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: \"zarr_format\" must be 2 (Zarr v2)", file);
    if (int_array(lapse_json_get(m, "shape"), 0, ZARR_SHAPE_LIMIT, in->shape, &in->nd) != 0)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: \"shape\" must be a list of 1 to %d sizes in [0, 2^40] (got another "
                   "value or rank)",
                   file, ZARR_MAX_DIMS);
    if (int_array(lapse_json_get(m, "chunks"), 1, ZARR_SHAPE_LIMIT, in->chunks, &nc) != 0 ||
        nc != in->nd)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: \"chunks\" must be a list of %d positive sizes", file,
                   in->nd);
    for (int i = 0; i < in->nd; i++)
        if (in->shape[i] == 0)
            LAPSE_FAIL(LAPSE_EINPUT, "%s: the array is empty (dimension %d has size 0)", file, i);
    LAPSE_TRY(parse_dtype(in, file, lapse_json_get(m, "dtype")));
    const lapse_json_t *order = lapse_json_get(m, "order");
    if (order == NULL || order->type != LAPSE_JSON_STRING ||
        (strcmp(order->string, "C") != 0 && strcmp(order->string, "F") != 0))
        LAPSE_FAIL(LAPSE_EINPUT, "%s: \"order\" must be \"C\" or \"F\"", file);
    if (order->string[0] == 'F')
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the chunks are in Fortran order (\"order\": \"F\"), which is not "
                   "supported: rewrite the array with order=\"C\"",
                   file);
    LAPSE_TRY(parse_codec(in, file, m));
    LAPSE_TRY(parse_fill(in, file, lapse_json_get(m, "fill_value")));
    const lapse_json_t *sep = lapse_json_get(m, "dimension_separator");
    in->sep = sep == NULL ? guess_separator(dir) : '.';
    if (sep != NULL) {
        if (sep->type != LAPSE_JSON_STRING ||
            (strcmp(sep->string, ".") != 0 && strcmp(sep->string, "/") != 0))
            LAPSE_FAIL(LAPSE_EINPUT, "%s: \"dimension_separator\" must be \".\" or \"/\"", file);
        in->sep = sep->string[0];
    }
    double bytes = (double)in->esize;
    for (int i = 0; i < in->nd; i++)
        bytes *= (double)in->chunks[i];
    if (bytes > (double)ZARR_CHUNK_LIMIT)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: one chunk is %.0f bytes, more than lapse reads (%lld)", file,
                   bytes, (long long)ZARR_CHUNK_LIMIT);
    in->chunk_bytes = (size_t)bytes;
cleanup:
    lapse_json_free(m);
    return st;
}

/* ------------------------------------------------------------------ OME-NGFF */

/* The length of an NGFF space unit in micrometres as num / den (den 0: unknown unit), so that
 * a scale in nanometres is divided by 1000 (correctly rounded), not multiplied by 0.001. */
static void unit_um(const char *u, double *num, double *den)
{
    static const struct {
        const char *name;
        double num, den;
    } units[] = {{"micrometer", 1, 1},  {"micron", 1, 1},       {"um", 1, 1},
                 {"\xc2\xb5m", 1, 1},   {"nanometer", 1, 1e3},  {"nm", 1, 1e3},
                 {"picometer", 1, 1e6}, {"angstrom", 1, 1e4},   {"millimeter", 1e3, 1},
                 {"mm", 1e3, 1},        {"centimeter", 1e4, 1}, {"decimeter", 1e5, 1},
                 {"meter", 1e6, 1},     {"kilometer", 1e9, 1}};
    *num = 1;
    *den = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(u, units[i].name) == 0) {
            *num = units[i].num;
            *den = units[i].den;
        }
}

/* The role of an axis from its name ("t", "c", "z", "y", "x"), or -1. */
static int axis_role(const char *name)
{
    static const char *const names[AX_N] = {"t", "c", "z", "y", "x"};
    for (int r = 0; r < AX_N; r++)
        if (strcmp(name, names[r]) == 0)
            return r;
    return -1;
}

/* The scale transformation of a coordinateTransformations list (n entries) into scale[]; 0 when
 * found, 1 when there is none, -1 when malformed. */
static int find_scale(const lapse_json_t *ct, int n, double *scale)
{
    if (ct == NULL)
        return 1;
    if (ct->type != LAPSE_JSON_ARRAY)
        return -1;
    for (size_t i = 0; i < ct->n; i++) {
        const lapse_json_t *ty = lapse_json_get(ct->items[i], "type");
        if (ty == NULL || ty->type != LAPSE_JSON_STRING || strcmp(ty->string, "scale") != 0)
            continue;
        const lapse_json_t *s = lapse_json_get(ct->items[i], "scale");
        if (s == NULL || s->type != LAPSE_JSON_ARRAY || (int)s->n != n)
            return -1;
        for (int k = 0; k < n; k++) {
            if (s->items[k]->type != LAPSE_JSON_NUMBER || !(s->items[k]->number > 0))
                return -1;
            scale[k] = s->items[k]->number;
        }
        return 0;
    }
    return 1;
}

/* The axes of multiscale ms (nd of them) into in->axis; the names must be a subset of t, c, z,
 * y, x in that order with y and x. Voxel size from the scale of dataset ds (and the
 * multiscale's own scale, when it has one) into vox[3] (z, y, x, micrometres; 0 when unknown). */
static lapse_status_t ome_axes(zarr_input_t *in, const char *file, const lapse_json_t *ms,
                               const lapse_json_t *ds, int nd, double *vox)
{
    lapse_status_t st = LAPSE_OK;
    const lapse_json_t *axes = lapse_json_get(ms, "axes");
    double num[ZARR_MAX_DIMS] = {0}, den[ZARR_MAX_DIMS] = {0}, scale[ZARR_MAX_DIMS],
           global[ZARR_MAX_DIMS];
    int last = -1;
    for (int r = 0; r < AX_N; r++)
        in->axis[r] = -1;
    if (axes == NULL)
        return LAPSE_OK; /* the caller falls back to the convention by rank */
    if (axes->type != LAPSE_JSON_ARRAY || (int)axes->n != nd)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: multiscales[0].axes must list the array's %d axes", file, nd);
    for (int i = 0; i < nd; i++) {
        const lapse_json_t *a = axes->items[i];
        const lapse_json_t *name = a->type == LAPSE_JSON_STRING ? a : lapse_json_get(a, "name");
        const lapse_json_t *unit = lapse_json_get(a, "unit");
        if (name == NULL || name->type != LAPSE_JSON_STRING)
            LAPSE_FAIL(LAPSE_EINPUT, "%s: multiscales[0].axes[%d] has no name", file, i);
        int r = axis_role(name->string);
        if (r < 0)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: axis \"%.32s\" is not supported (lapse reads the axes t, c, z, y, x)",
                       file, name->string);
        if (r <= last)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: the axes must be a subset of t, c, z, y, x in that order (axis \"%s\" "
                       "is out of place or repeated)",
                       file, name->string);
        last = r;
        in->axis[r] = i;
        if (unit != NULL && unit->type == LAPSE_JSON_STRING && r >= AX_Z)
            unit_um(unit->string, &num[i], &den[i]);
    }
    if (in->axis[AX_Y] < 0 || in->axis[AX_X] < 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: the axes must include y and x", file);
    int rs = find_scale(lapse_json_get(ds, "coordinateTransformations"), nd, scale);
    int rg = find_scale(lapse_json_get(ms, "coordinateTransformations"), nd, global);
    if (rs < 0 || rg < 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: a \"scale\" transformation must list %d positive numbers",
                   file, nd);
    if (rs == 0 && den[in->axis[AX_Y]] > 0 && den[in->axis[AX_X]] > 0) {
        for (int r = AX_Z; r <= AX_X; r++) {
            int i = in->axis[r];
            if (i >= 0 && den[i] > 0) /* z of an unknown unit: left 0 (1) */
                vox[r - AX_Z] = scale[i] * (rg == 0 ? global[i] : 1) * num[i] / den[i];
        }
    }
cleanup:
    return st;
}

/* ------------------------------------------------------------------ open */

/* Find the array at dataset of store: into in->dir, in->axis, vox. An array node is read
 * itself; a group node must hold OME-NGFF multiscales: their level 0. */
static lapse_status_t locate(zarr_input_t *in, const char *store, const char *dataset, double *vox,
                             int *failed_part)
{
    lapse_status_t st = LAPSE_OK;
    lapse_json_t *attrs = NULL;
    char node[4200], path[4300], err[256];
    const lapse_json_t *ms = NULL, *ds = NULL;

    if (check_name(dataset, err, sizeof err) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: input.dataset %s", store, err);
    if (join(store, dataset, node, sizeof node) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: path too long", store);
    *failed_part = dataset[0] != '\0' && strcmp(dataset, "/") != 0 ? 2 : 1;
    snprintf(path, sizeof path, "%s/.zarray", node);
    if (access(path, F_OK) == 0) {
        snprintf(in->dir, sizeof in->dir, "%s", node);
        return LAPSE_OK;
    }
    snprintf(path, sizeof path, "%s/.zattrs", node);
    int rc = load_json(path, &attrs);
    if (rc < 0) {
        st = LAPSE_EINPUT;
        goto cleanup;
    }
    const lapse_json_t *all = lapse_json_get(attrs, "multiscales");
    if (rc == 0 || all == NULL) {
        snprintf(path, sizeof path, "%s/zarr.json", node);
        if (access(path, F_OK) == 0)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: a Zarr v3 store (zarr.json; OME-Zarr 0.5), which lapse does not read: "
                       "it reads Zarr v2 (OME-Zarr up to 0.4); convert the store to Zarr v2, or "
                       "to HDF5 or TIFF",
                       node);
        snprintf(path, sizeof path, "%s/.zgroup", node);
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: no Zarr array here (no .zarray)%s; give the array's path inside the "
                   "store as input.dataset",
                   node,
                   access(path, F_OK) == 0 ? ", and the group has no OME-NGFF multiscales"
                                           : " and no Zarr group");
    }
    if (all->type != LAPSE_JSON_ARRAY || all->n < 1 || all->items[0]->type != LAPSE_JSON_OBJECT)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: \"multiscales\" must be a non-empty list of objects", path);
    ms = all->items[0];
    const lapse_json_t *dss = lapse_json_get(ms, "datasets");
    if (dss == NULL || dss->type != LAPSE_JSON_ARRAY || dss->n < 1)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: multiscales[0].datasets must be a non-empty list", path);
    ds = dss->items[0];
    const lapse_json_t *p = lapse_json_get(ds, "path");
    if (p == NULL || p->type != LAPSE_JSON_STRING || p->string[0] == '\0' || p->string[0] == '/' ||
        check_name(p->string, err, sizeof err) != 0)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: multiscales[0].datasets[0].path must be a relative path inside the store "
                   "(letters, digits, '.', '_', '-' and '/')",
                   path);
    if (join(node, p->string, in->dir, sizeof in->dir) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: path too long", store);
    LAPSE_TRY(load_zarray(in, in->dir));
    LAPSE_TRY(ome_axes(in, path, ms, ds, in->nd, vox));
cleanup:
    lapse_json_free(attrs);
    return st;
}

static void zarr_close(void *handle)
{
    zarr_input_t *in = handle;
    if (in == NULL)
        return;
    for (int i = 0; i < in->nmade; i++)
        free(in->slots[i].data);
    free(in->slots);
    free(in->heads);
    free(in->raw);
    free(in->packed);
    free(in);
}

/* The most slots a cache makes (each costs its bookkeeping besides its chunk). */
#define ZARR_MAX_SLOTS (1 << 22)

/* Make the slots of the decoded-chunk cache (see the header) and say its bytes in *bytes: as
 * many chunks as the budget holds, each with its slot's and hash head's bytes, at most one
 * timepoint's and ZARR_MAX_SLOTS. */
static lapse_status_t cache_init(zarr_input_t *in, double *bytes)
{
    double budget = 256.0 * 1048576.0, per_tp = 1;
    const char *env = getenv("LAPSE_H5_INPUT_CACHE"); /* (its form checked: src/env.c) */
    if (env && *env)
        budget = (double)strtoull(env, NULL, 10);
    *bytes = 0;
    in->lru_first = in->lru_last = -1;
    for (int a = 0; a < 3; a++) { /* one timepoint's chunks of the channel read */
        const int i = in->axis[AX_Z + a];
        if (i >= 0)
            per_tp *= (double)((in->shape[i] + in->chunks[i] - 1) / in->chunks[i]);
    }
    const double per_slot = (double)in->chunk_bytes + (double)sizeof *in->slots + 2.0 * sizeof(int);
    double n = floor(budget / per_slot);
    if (n > per_tp)
        n = per_tp;
    if (n > ZARR_MAX_SLOTS)
        n = ZARR_MAX_SLOTS;
    if (in->comp == COMP_RAW || n < 2)
        return LAPSE_OK;
    int nh = 1;
    while (nh < (int)n)
        nh *= 2;
    in->slots = calloc((size_t)n, sizeof *in->slots);
    in->heads = malloc((size_t)nh * sizeof *in->heads);
    if (in->slots == NULL || in->heads == NULL)
        return lapse_fail(LAPSE_ENOMEM, "%s: out of memory for %.0f chunk slots", in->dir, n);
    for (int h = 0; h < nh; h++)
        in->heads[h] = -1;
    in->nheads = nh;
    in->nslots = (int)n;
    *bytes = n * (double)in->chunk_bytes;
    return LAPSE_OK;
}

/* Axes by rank when no multiscale names them: [y,x], [t,y,x], [t,z,y,x], [t,c,z,y,x]. */
static lapse_status_t default_axes(zarr_input_t *in)
{
    static const int roles[ZARR_MAX_DIMS + 1][ZARR_MAX_DIMS] = {{0},
                                                                {0},
                                                                {AX_Y, AX_X},
                                                                {AX_T, AX_Y, AX_X},
                                                                {AX_T, AX_Z, AX_Y, AX_X},
                                                                {AX_T, AX_C, AX_Z, AX_Y, AX_X}};
    if (in->nd < 2)
        return lapse_fail(LAPSE_EINPUT, "%s: the array has 1 dimension, expected 2 to 5", in->dir);
    for (int r = 0; r < AX_N; r++)
        in->axis[r] = -1;
    for (int i = 0; i < in->nd; i++)
        in->axis[roles[in->nd][i]] = i;
    return LAPSE_OK;
}

static lapse_status_t zarr_open(const char *file, const char *selected, void **handle,
                                lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    struct stat sb;
    double vox[3] = {0, 0, 0};
    int part = 1;
    zarr_input_t *in = NULL;
    lapse_input_sel_t sel;
    char err[256];
    const char *dataset;

    info->failed_part = 1;
    if (file == NULL)
        LAPSE_FAIL(LAPSE_EINPUT, "input file must be given");
    if (lapse_input_sel_parse(selected, &sel, err, sizeof err) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", file, err);
    dataset = sel.dataset;
    if (stat(file, &sb) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", file,
                   errno == ENOENT ? "no such file or directory" : strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        LAPSE_FAIL(LAPSE_EINPUT, "%s: not a directory (lapse reads Zarr directory stores)", file);
    in = calloc(1, sizeof *in);
    LAPSE_ALLOC(in);
    for (int r = 0; r < AX_N; r++)
        in->axis[r] = -2; /* not set by a multiscale yet */
    st = locate(in, file, dataset, vox, &part);
    info->failed_part = part;
    LAPSE_TRY(st);
    if (in->nd == 0)
        LAPSE_TRY(load_zarray(in, in->dir));
    if (in->axis[AX_Y] < 0)
        LAPSE_TRY(default_axes(in));
    int64_t nch = in->axis[AX_C] >= 0 ? in->shape[in->axis[AX_C]] : 0;
    if (nch > 1 && sel.channel < 0)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the array has %lld channels: choose one with input.channel "
                   "(0 to %lld)",
                   in->dir, (long long)nch, (long long)nch - 1);
    if (sel.channel >= 0 && nch == 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: input.channel is given, but the array has no channel axis",
                   in->dir);
    if (sel.channel >= 0 && sel.channel >= nch)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: input.channel %d is out of range: the array has %lld "
                   "channels (0 to %lld)",
                   in->dir, sel.channel, (long long)nch, (long long)nch - 1);
    in->channel = sel.channel > 0 ? sel.channel : 0;
    info->nchannels = nch > 0 ? nch : 1;
    in->raw = malloc(in->chunk_bytes);
    LAPSE_ALLOC(in->raw);
    LAPSE_TRY(cache_init(in, &info->chunk_cache_bytes));
    info->reader_buf_bytes = 2.0 * (double)in->chunk_bytes; /* raw and packed */
    info->compressed_chunks = in->comp != COMP_RAW;
    int64_t nt = in->axis[AX_T] >= 0 ? in->shape[in->axis[AX_T]] : 1;
    info->ndims = in->axis[AX_Z] >= 0 ? 4 : 3;
    info->ntp = nt;
    info->shape[0] = in->axis[AX_Z] >= 0 ? in->shape[in->axis[AX_Z]] : 1;
    info->shape[1] = in->shape[in->axis[AX_Y]];
    info->shape[2] = in->shape[in->axis[AX_X]];
    info->dtype = in->dtype;
    memcpy(info->voxel_size_um, vox, sizeof vox);
    info->failed_part = 0;
    *handle = in;
    in = NULL;
cleanup:
    zarr_close(in);
    return st;
}

static lapse_status_t zarr_probe(const char *file, const char *dataset, lapse_input_info_t *info)
{
    void *h = NULL;
    lapse_input_info_t tmp = {0};
    lapse_status_t st = zarr_open(file, dataset, &h, &tmp);
    if (st == LAPSE_OK)
        *info = tmp;
    else
        info->failed_part = tmp.failed_part;
    zarr_close(h);
    return st;
}

/* ------------------------------------------------------------------ read */

/* The file name of chunk idx[] (one index per array dimension) into out[len]. */
static int chunk_path(const zarr_input_t *in, const int64_t *idx, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "%s/", in->dir);
    for (int i = 0; i < in->nd && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%lld", i ? (in->sep == '/' ? "/" : ".") : "",
                              (long long)idx[i]);
    return n < len ? 0 : -1;
}

/* Decode the packed bytes (n of them) into raw: exactly chunk_bytes, nothing left over. */
static lapse_status_t decode(zarr_input_t *in, const char *path, size_t n, unsigned char *raw)
{
    lapse_status_t st = LAPSE_OK;
    if (in->comp == COMP_RAW) {
        if (n != in->chunk_bytes)
            LAPSE_FAIL(LAPSE_EREAD, "chunk file %s: %zu bytes, an uncompressed chunk has %zu (%s)",
                       path, n, in->chunk_bytes, n < in->chunk_bytes ? "too short" : "too long");
        memcpy(raw, in->packed, n);
    } else if (in->comp == COMP_BLOSC) {
        size_t nbytes = 0, cbytes = 0, bsize = 0;
        if (n < BLOSC_MIN_HEADER_LENGTH)
            LAPSE_FAIL(LAPSE_EREAD,
                       "chunk file %s: %zu bytes, shorter than a blosc header (too "
                       "short)",
                       path, n);
        blosc_cbuffer_sizes(in->packed, &nbytes, &cbytes, &bsize);
        if (cbytes != n)
            LAPSE_FAIL(LAPSE_EREAD, "chunk file %s: %zu bytes, its blosc header says %zu (%s)",
                       path, n, cbytes, n < cbytes ? "too short" : "too long");
        if (blosc_cbuffer_validate(in->packed, n, &nbytes) != 0)
            LAPSE_FAIL(LAPSE_EREAD, "chunk file %s: not a valid blosc buffer", path);
        if (nbytes != in->chunk_bytes)
            LAPSE_FAIL(LAPSE_EREAD, "chunk file %s: decompresses to %zu bytes, a chunk has %zu",
                       path, nbytes, in->chunk_bytes);
        int got = blosc_decompress_ctx(in->packed, raw, in->chunk_bytes, 1);
        if (got < 0 || (size_t)got != in->chunk_bytes)
            LAPSE_FAIL(LAPSE_EREAD, "chunk file %s: blosc decompression failed (%d)", path, got);
    } else {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (inflateInit2(&zs, in->comp == COMP_GZIP ? 15 + 16 : 15) != Z_OK)
            LAPSE_FAIL(LAPSE_ENOMEM, "chunk file %s: inflateInit2 failed", path);
        zs.next_in = in->packed;
        zs.avail_in = (uInt)n;
        zs.next_out = raw;
        zs.avail_out = (uInt)in->chunk_bytes;
        int zr = inflate(&zs, Z_FINISH);
        size_t out = zs.total_out, left = zs.avail_in;
        const char *msg = zs.msg;
        char why[160];
        snprintf(why, sizeof why, "%s", msg ? msg : "");
        inflateEnd(&zs);
        if (zr != Z_STREAM_END) {
            if (zr == Z_BUF_ERROR && out == in->chunk_bytes)
                LAPSE_FAIL(LAPSE_EREAD,
                           "chunk file %s: decompresses to more than a chunk (%zu "
                           "bytes)",
                           path, in->chunk_bytes);
            LAPSE_FAIL(LAPSE_EREAD, "chunk file %s: %s decompression failed: %s", path,
                       in->comp == COMP_GZIP ? "gzip" : "zlib",
                       why[0]              ? why
                       : zr == Z_BUF_ERROR ? "truncated data"
                                           : "damaged data");
        }
        if (out != in->chunk_bytes)
            LAPSE_FAIL(LAPSE_EREAD, "chunk file %s: decompresses to %zu bytes, a chunk has %zu",
                       path, out, in->chunk_bytes);
        if (left != 0)
            LAPSE_FAIL(LAPSE_EREAD, "chunk file %s: %zu bytes after the compressed data (too long)",
                       path, left);
    }
cleanup:
    return st;
}

/* The hash chain of chunk idx: the index into in->heads. */
static int cache_hash(const zarr_input_t *in, const int64_t *idx)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < in->nd; i++)
        h = (h ^ (uint64_t)idx[i]) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    return (int)(h & (uint64_t)(in->nheads - 1));
}

/* Take slot k off the recently-used list. */
static void lru_unlink(zarr_input_t *in, int k)
{
    struct zarr_slot *s = &in->slots[k];
    if (s->prev >= 0)
        in->slots[s->prev].next = s->next;
    else
        in->lru_first = s->next;
    if (s->next >= 0)
        in->slots[s->next].prev = s->prev;
    else
        in->lru_last = s->prev;
    s->prev = s->next = -1;
}

/* Put slot k (off the list) on it: first (most recently used) or last (replaced first). */
static void lru_put(zarr_input_t *in, int k, int first)
{
    struct zarr_slot *s = &in->slots[k];
    if (first) {
        s->prev = -1;
        s->next = in->lru_first;
        if (in->lru_first >= 0)
            in->slots[in->lru_first].prev = k;
        in->lru_first = k;
        if (in->lru_last < 0)
            in->lru_last = k;
    } else {
        s->next = -1;
        s->prev = in->lru_last;
        if (in->lru_last >= 0)
            in->slots[in->lru_last].next = k;
        in->lru_last = k;
        if (in->lru_first < 0)
            in->lru_first = k;
    }
}

/* The slot that holds chunk idx (now the most recently used), or NULL. */
static struct zarr_slot *cache_find(zarr_input_t *in, const int64_t *idx)
{
    if (in->nslots == 0)
        return NULL;
    for (int k = in->heads[cache_hash(in, idx)]; k >= 0; k = in->slots[k].hnext)
        if (memcmp(in->slots[k].idx, idx, (size_t)in->nd * sizeof *idx) == 0) {
            lru_unlink(in, k);
            lru_put(in, k, 1);
            return &in->slots[k];
        }
    return NULL;
}

/* Slot k (ok) out of its hash chain, and not ok. */
static void cache_forget(zarr_input_t *in, int k)
{
    int *link = &in->heads[cache_hash(in, in->slots[k].idx)];
    while (*link != k)
        link = &in->slots[*link].hnext;
    *link = in->slots[k].hnext;
    in->slots[k].hnext = -1;
    in->slots[k].ok = 0;
}

/* The buffer to decode chunk idx into: a new slot's (allocated now) or the least recently
 * used one's, off the list and not ok until cache_keep (*slot), else in->raw (*slot NULL: no
 * cache, or no memory for another chunk and none made yet, which only costs decoding again). */
static unsigned char *cache_take(zarr_input_t *in, const int64_t *idx, struct zarr_slot **slot)
{
    int k = -1;
    *slot = NULL;
    if (in->nmade < in->nslots) {
        struct zarr_slot *c = &in->slots[in->nmade];
        if ((c->data = malloc(in->chunk_bytes)) != NULL) {
            c->ok = 0;
            c->hnext = c->prev = c->next = -1;
            k = in->nmade++;
        } else {
            in->nslots = in->nmade; /* no memory for more: replace the ones made */
        }
    }
    if (k < 0 && in->lru_last >= 0) {
        k = in->lru_last;
        lru_unlink(in, k);
        if (in->slots[k].ok)
            cache_forget(in, k);
    }
    if (k < 0)
        return in->raw;
    memcpy(in->slots[k].idx, idx, (size_t)in->nd * sizeof *idx);
    *slot = &in->slots[k];
    return in->slots[k].data;
}

/* Back on the list after a decode: the chunk kept (ok, the most recently used), or, when its
 * decode failed, nothing kept (replaced first). */
static void cache_keep(zarr_input_t *in, struct zarr_slot *s, int ok)
{
    const int k = (int)(s - in->slots);
    if (ok) {
        const int h = cache_hash(in, s->idx);
        s->ok = 1;
        s->hnext = in->heads[h];
        in->heads[h] = k;
    }
    lru_put(in, k, ok);
}

/* Load chunk idx: its decoded bytes in *src (a kept chunk's, or in->raw). *missing = 1 (and
 * nothing loaded) when its file does not exist. */
static lapse_status_t load_chunk(zarr_input_t *in, const int64_t *idx, int *missing,
                                 const unsigned char **src)
{
    lapse_status_t st = LAPSE_OK;
    char path[4400];
    struct stat sb;
    int fd = -1;
    struct zarr_slot *slot = cache_find(in, idx);
    *missing = 0;
    if (slot) {
        *src = slot->data;
        return LAPSE_OK;
    }
    if (chunk_path(in, idx, path, sizeof path) != 0)
        LAPSE_FAIL(LAPSE_EREAD, "%s: chunk path too long", in->dir);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: refused, not waited on */
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
        *missing = 1;
        return LAPSE_OK;
    }
    if (fd < 0)
        LAPSE_FAIL(LAPSE_EREAD, "chunk file %s: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        LAPSE_FAIL(LAPSE_EREAD, "chunk file %s: not a regular file", path);
    /* Any codec's output is at most a little larger than its input (blosc: 16 bytes header +
     * per-block overhead; zlib: 0.03% + a few bytes): a file much larger is damaged. */
    size_t cap = in->chunk_bytes + in->chunk_bytes / 16 + 1024;
    if ((unsigned long long)sb.st_size > cap)
        LAPSE_FAIL(LAPSE_EREAD,
                   "chunk file %s: %lld bytes, larger than any encoding of a chunk "
                   "of %zu bytes (too long)",
                   path, (long long)sb.st_size, in->chunk_bytes);
    size_t n = (size_t)sb.st_size, got = 0;
    if (n > in->packed_cap || in->packed == NULL) {
        unsigned char *b = realloc(in->packed, n > 0 ? n : 1);
        LAPSE_ALLOC(b);
        in->packed = b;
        in->packed_cap = n;
    }
    while (got < n) {
        ssize_t r = read(fd, in->packed + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            LAPSE_FAIL(LAPSE_EREAD, "chunk file %s: read failed: %s", path,
                       r < 0 ? strerror(errno) : "file shrank");
        got += (size_t)r;
    }
    unsigned char *raw = cache_take(in, idx, &slot);
    lapse_status_t dst = decode(in, path, n, raw);
    if (slot)
        cache_keep(in, slot, dst == LAPSE_OK);
    LAPSE_TRY(dst);
    *src = raw;
cleanup:
    if (fd >= 0)
        close(fd);
    return st;
}

/* Reverse the bytes of n elements of size es. */
static void swap_bytes(unsigned char *p, size_t n, size_t es)
{
    for (size_t i = 0; i < n; i++, p += es)
        for (size_t k = 0; k < es / 2; k++) {
            unsigned char t = p[k];
            p[k] = p[es - 1 - k];
            p[es - 1 - k] = t;
        }
}

/* Copy the part of the loaded chunk src (or the fill value, when src is NULL: a missing chunk)
 * that falls in the box. cz,
 * cy, cx: the chunk's index along z, y, x (0 for an absent axis); lt: the timepoint's index
 * inside its chunk. */
static void copy_chunk(const zarr_input_t *in, const lapse_box_t *box, const int64_t *cidx,
                       int64_t lt, const unsigned char *src, unsigned char *dst)
{
    int64_t lo[3], hi[3], cs[3]; /* the chunk's extent along z, y, x in global coordinates */
    int64_t stride[ZARR_MAX_DIMS];
    size_t es = in->esize;
    for (int a = 0; a < 3; a++) {
        int i = in->axis[AX_Z + a];
        cs[a] = i >= 0 ? in->chunks[i] : 1;
        lo[a] = cidx[a] * cs[a];
        hi[a] = lo[a] + cs[a];
        if (lo[a] < box->off[a])
            lo[a] = box->off[a];
        if (hi[a] > box->off[a] + box->dim[a])
            hi[a] = box->off[a] + box->dim[a];
    }
    stride[in->nd - 1] = 1;
    for (int i = in->nd - 2; i >= 0; i--)
        stride[i] = stride[i + 1] * in->chunks[i + 1];
    int it = in->axis[AX_T], iz = in->axis[AX_Z], iy = in->axis[AX_Y], ix = in->axis[AX_X];
    int ic = in->axis[AX_C];
    size_t row = (size_t)(hi[2] - lo[2]);
    for (int64_t z = lo[0]; z < hi[0]; z++)
        for (int64_t y = lo[1]; y < hi[1]; y++) {
            unsigned char *d =
                dst +
                (((size_t)(z - box->off[0]) * (size_t)box->dim[1] + (size_t)(y - box->off[1])) *
                     (size_t)box->dim[2] +
                 (size_t)(lo[2] - box->off[2])) *
                    es;
            if (src == NULL) {
                for (size_t k = 0; k < row; k++)
                    memcpy(d + k * es, in->fill, es);
            } else {
                int64_t off = (it >= 0 ? lt * stride[it] : 0) +
                              (ic >= 0 ? in->channel % in->chunks[ic] * stride[ic] : 0) +
                              (iz >= 0 ? (z - cidx[0] * cs[0]) * stride[iz] : 0) +
                              (y - cidx[1] * cs[1]) * stride[iy] +
                              (lo[2] - cidx[2] * cs[2]) * stride[ix];
                memcpy(d, src + (size_t)off * es, row * es);
            }
            if (in->swap)
                swap_bytes(d, row, es);
        }
}

static lapse_status_t zarr_read(void *handle, int64_t t, const lapse_box_t *box, void *dst)
{
    lapse_status_t st = LAPSE_OK;
    zarr_input_t *in = handle;
    int64_t first[3], last[3], c[3], idx[ZARR_MAX_DIMS] = {0};
    int64_t lt = 0;
    for (int a = 0; a < 3; a++) {
        int i = in->axis[AX_Z + a];
        int64_t cs = i >= 0 ? in->chunks[i] : 1;
        first[a] = box->off[a] / cs;
        last[a] = (box->off[a] + box->dim[a] - 1) / cs;
    }
    if (in->axis[AX_T] >= 0) {
        idx[in->axis[AX_T]] = t / in->chunks[in->axis[AX_T]];
        lt = t % in->chunks[in->axis[AX_T]];
    }
    if (in->axis[AX_C] >= 0) /* the selected channel's chunks */
        idx[in->axis[AX_C]] = in->channel / in->chunks[in->axis[AX_C]];
    for (c[0] = first[0]; c[0] <= last[0]; c[0]++)
        for (c[1] = first[1]; c[1] <= last[1]; c[1]++)
            for (c[2] = first[2]; c[2] <= last[2]; c[2]++) {
                int missing = 0;
                const unsigned char *src = NULL;
                for (int a = 0; a < 3; a++)
                    if (in->axis[AX_Z + a] >= 0)
                        idx[in->axis[AX_Z + a]] = c[a];
                LAPSE_TRY(load_chunk(in, idx, &missing, &src));
                copy_chunk(in, box, c, lt, missing ? NULL : src, dst);
            }
cleanup:
    return st;
}

/* ------------------------------------------------------------------ the backend */

/* A directory with Zarr metadata at its top (.zarray, .zgroup or .zattrs). */
static int zarr_sniff(const char *file)
{
    static const char *const names[] = {".zarray", ".zgroup", ".zattrs"};
    struct stat sb;
    char path[4200];
    if (file == NULL || stat(file, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (snprintf(path, sizeof path, "%s/%s", file, names[i]) < (int)sizeof path &&
            access(path, F_OK) == 0)
            return 1;
    return 0;
}

static int zarr_check_dataset(const char *dataset, char *err, size_t errlen)
{
    lapse_input_sel_t sel;
    if (lapse_input_sel_parse(dataset, &sel, err, errlen) != 0)
        return -1;
    return check_name(sel.dataset, err, errlen);
}

static const char *const zarr_suffixes[] = {".zarr", ".zarr/", NULL};

const lapse_reader_backend_t lapse_reader_zarr = {
    .name = "zarr",
    .suffixes = zarr_suffixes,
    .needs_dataset = 0,
    .dataset_optional = 1,
    .thread_safe = 1, /* buffers per handle; blosc_decompress_ctx and zlib are reentrant */
    .selects = LAPSE_SELECTS_CHANNEL,
    .check_dataset = zarr_check_dataset,
    .sniff = zarr_sniff,
    .probe = zarr_probe,
    .open = zarr_open,
    .read = zarr_read,
    .close = zarr_close,
};
