/*
 * io/zarr_out.c - the OME-Zarr (NGFF 0.4, Zarr v2) writer of output.format: zarr (zarr_out.h):
 * metadata files as printf'ed JSON, chunk files padded to the chunk shape and compressed with
 * libblosc (blosc_compress_ctx: no global state), every file through temp + fsync + rename.
 */
#include "io/zarr_out.h"

#include "io/json.h"

#include <blosc.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZPATH 8192

/* Return a failed status at once (the functions here that use it own nothing yet). */
#define ZTRY(call)                                                                                 \
    do {                                                                                           \
        lapse_status_t z_ = (call);                                                                \
        if (z_ != LAPSE_OK)                                                                        \
            return z_;                                                                             \
    } while (0)

/* mkdir -p path (mode 0777 less the umask). */
static lapse_status_t mkdir_p(const char *path)
{
    char tmp[ZPATH];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return lapse_fail(LAPSE_EIO, "zarr path too long: %s", path);
    for (char *p = tmp + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
                return lapse_fail(LAPSE_EIO, "cannot create directory %s: %s", tmp,
                                  strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return LAPSE_OK;
}

/* Write n bytes of data to dir/name durably: dir/.name.tmp.PID, fsync, rename, fsync dir. */
static lapse_status_t write_atomic(const char *dir, const char *name, const void *data, size_t n)
{
    lapse_status_t st = LAPSE_OK;
    char tmp[ZPATH], dst[ZPATH];
    int fd = -1;
    if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, name, (long)getpid()) >= (int)sizeof tmp ||
        snprintf(dst, sizeof dst, "%s/%s", dir, name) >= (int)sizeof dst)
        return lapse_fail(LAPSE_EIO, "zarr path too long: %s/%s", dir, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        LAPSE_FAIL(LAPSE_EIO, "cannot create %s: %s", tmp, strerror(errno));
    for (size_t done = 0; done < n;) {
        ssize_t w = write(fd, (const char *)data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            LAPSE_FAIL(LAPSE_EIO, "writing %s failed: %s", tmp, strerror(errno));
        done += (size_t)w;
    }
    if (fsync(fd) != 0)
        LAPSE_FAIL(LAPSE_EIO, "fsync of %s failed: %s", tmp, strerror(errno));
    if (close(fd) != 0) {
        fd = -1;
        LAPSE_FAIL(LAPSE_EIO, "closing %s failed: %s", tmp, strerror(errno));
    }
    fd = -1;
    if (rename(tmp, dst) != 0)
        LAPSE_FAIL(LAPSE_EIO, "renaming %s to %s failed: %s", tmp, dst, strerror(errno));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        st = lapse_fail(LAPSE_EIO, "fsync of directory %s failed: %s", dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return st;
    }
    close(dfd);
    return LAPSE_OK;
cleanup:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return st;
}

static lapse_status_t write_text(const char *dir, const char *name, const char *text)
{
    return write_atomic(dir, name, text, strlen(text));
}

/* fsync directory dir (a new entry in it is then durable). */
static lapse_status_t fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        lapse_status_t st =
            lapse_fail(LAPSE_EIO, "fsync of directory %s failed: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return st;
    }
    close(fd);
    return LAPSE_OK;
}

/* Create the directories of path below base (base exists; path starts with base), then fsync
 * base and every directory between it and path's parent, whether this process created them or
 * found them (another rank, or a killed run, may have made one without its fsync), so that a
 * chunk renamed into path later is reachable after a crash. EEXIST counts as there. */
static lapse_status_t mkdir_durable(const char *base, const char *path)
{
    char tmp[ZPATH];
    const size_t b = strlen(base), n = strlen(path);
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return lapse_fail(LAPSE_EIO, "zarr path too long: %s", path);
    if (n <= b)
        return LAPSE_OK; /* path is base: nothing to make */
    for (char *p = tmp + b + 1; p <= tmp + n; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return lapse_fail(LAPSE_EIO, "cannot create directory %s: %s", tmp, strerror(errno));
        *p = c;
    }
    /* the parents of each made directory: base, then each component but the last */
    ZTRY(fsync_dir(base));
    for (char *p = tmp + b + 1; p < tmp + n; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        lapse_status_t st = fsync_dir(tmp);
        *p = '/';
        ZTRY(st);
    }
    return LAPSE_OK;
}

/* The Zarr v2 dtype string of a result dtype; NULL for one that is never a result. */
static const char *zarr_dtype(lapse_dtype_t dt)
{
    switch (dt) {
    case LAPSE_DT_U8:
        return "|u1";
    case LAPSE_DT_U16:
        return "<u2";
    case LAPSE_DT_U32:
        return "<u4";
    case LAPSE_DT_F32:
        return "<f4";
    case LAPSE_DT_I16:
        return "<i2";
    default:
        return NULL;
    }
}

/* The blosc codec name of comp; NULL for none (raw chunks). */
static const char *blosc_cname(lapse_comp_t comp)
{
    switch (comp) {
    case LAPSE_COMP_BLOSC_ZSTD:
        return "zstd";
    case LAPSE_COMP_BLOSC_LZ4:
        return "lz4";
    case LAPSE_COMP_GZIP:
        return "zlib";
    default:
        return NULL;
    }
}

/* Append s to the JSON text at p (of cap bytes from p) as a quoted, escaped string. Returns
 * the bytes written (which may exceed cap, as snprintf). */
static size_t json_str(char *p, size_t cap, const char *s)
{
    size_t n = 0;
#define PUT(...) n += (size_t)snprintf(p + (n < cap ? n : cap), n < cap ? cap - n : 0, __VA_ARGS__)
    PUT("\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            PUT("\\%c", *c);
        else if (*c < 0x20)
            PUT("\\u%04x", *c);
        else
            PUT("%c", *c);
    }
    PUT("\"");
#undef PUT
    return n;
}

/* The directory of dataset s's image group: root + s->path. */
static lapse_status_t group_dir(const char *out, const lapse_dset_spec_t *s, char *buf, size_t len)
{
    char root[ZPATH];
    if (lapse_zarr_root(out, root, sizeof root) != 0 ||
        snprintf(buf, len, "%s%s%s", root, s->path[0] == '/' ? "" : "/", s->path) >= (int)len)
        return lapse_fail(LAPSE_EIO, "zarr path too long for %s:%s", out, s->path);
    return LAPSE_OK;
}

/* Remove the chunk files (names of digits and dots, flat keys) and temporary files
 * (".NAME.tmp.PID") in directory adir, and the directories named by digits (nested keys) with
 * the same inside them; depth bounds the nesting (a chunk key has at most 4 parts). A missing
 * directory has none. A directory left non-empty (a file of another name in it) stays. */
static lapse_status_t clear_chunks_at(const char *adir, int depth)
{
    DIR *d = opendir(adir);
    if (d == NULL)
        return errno == ENOENT ? LAPSE_OK
                               : lapse_fail(LAPSE_EIO, "cannot list %s: %s", adir, strerror(errno));
    lapse_status_t st = LAPSE_OK;
    struct dirent *e;
    while (st == LAPSE_OK && (e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        int chunk = nm[0] >= '0' && nm[0] <= '9' && strspn(nm, "0123456789.") == strlen(nm);
        int tmp = nm[0] == '.' && strstr(nm, ".tmp.") != NULL;
        if (!chunk && !tmp)
            continue;
        char p[ZPATH];
        struct stat sb;
        if (snprintf(p, sizeof p, "%s/%s", adir, nm) >= (int)sizeof p) {
            st = lapse_fail(LAPSE_EIO, "zarr path too long: %s/%s", adir, nm);
        } else if (chunk && depth > 0 && lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            st = clear_chunks_at(p, depth - 1);
            (void)rmdir(p); /* fails, harmlessly, on a directory holding other files */
        } else if (unlink(p) != 0 && errno != ENOENT && errno != EISDIR) {
            st = lapse_fail(LAPSE_EIO, "cannot remove the old chunk %s: %s", p, strerror(errno));
        }
    }
    closedir(d);
    return st;
}

static lapse_status_t clear_chunks(const char *adir)
{
    return clear_chunks_at(adir, 3);
}

lapse_status_t lapse_zarr_separator(const char *adir, char *sep)
{
    char p[ZPATH], err[160];
    *sep = '/';
    if (snprintf(p, sizeof p, "%s/.zarray", adir) >= (int)sizeof p)
        return lapse_fail(LAPSE_EIO, "zarr path too long: %s", adir);
    FILE *f = fopen(p, "rb");
    if (f == NULL)
        return errno == ENOENT ? LAPSE_OK /* a new array: "/" */
                               : lapse_fail(LAPSE_EIO, "cannot read %s: %s", p, strerror(errno));
    char *text = malloc(LAPSE_JSON_MAX_BYTES);
    size_t n = text ? fread(text, 1, LAPSE_JSON_MAX_BYTES, f) : 0;
    int bad = text == NULL || ferror(f);
    fclose(f);
    lapse_json_t *doc = NULL;
    lapse_status_t st = LAPSE_OK;
    if (bad)
        st = lapse_fail(LAPSE_EIO, "cannot read %s", p);
    else if (lapse_json_parse(text, n, &doc, err, sizeof err) != 0)
        st = lapse_fail(LAPSE_EIO, "%s is not valid JSON (%s): cannot tell its chunk keys", p, err);
    else {
        const lapse_json_t *d = lapse_json_get(doc, "dimension_separator");
        *sep = d != NULL && d->type == LAPSE_JSON_STRING && strcmp(d->string, "/") == 0   ? '/'
               : d != NULL && d->type == LAPSE_JSON_STRING && strcmp(d->string, ".") == 0 ? '.'
               : d == NULL ? '.' /* Zarr v2's default */
                           : 0;
        if (*sep == 0)
            st = lapse_fail(LAPSE_EIO, "%s: \"dimension_separator\" is neither \".\" nor \"/\"", p);
    }
    lapse_json_free(doc);
    free(text);
    return st;
}

lapse_status_t lapse_zarr_kept_compression(const char *out, const lapse_dset_spec_t *s,
                                           lapse_comp_t *comp, int *level, int *found)
{
    char gdir[ZPATH], p[ZPATH], err[160];
    *found = 0;
    ZTRY(group_dir(out, s, gdir, sizeof gdir));
    if (snprintf(p, sizeof p, "%s/0/.zarray", gdir) >= (int)sizeof p)
        return lapse_fail(LAPSE_EIO, "zarr path too long: %s", gdir);
    FILE *f = fopen(p, "rb");
    if (f == NULL)
        return errno == ENOENT ? LAPSE_OK /* no array yet: the config's */
                               : lapse_fail(LAPSE_EIO, "cannot read %s: %s", p, strerror(errno));
    char *text = malloc(LAPSE_JSON_MAX_BYTES);
    size_t n = text ? fread(text, 1, LAPSE_JSON_MAX_BYTES, f) : 0;
    int bad = text == NULL || ferror(f);
    fclose(f);
    lapse_json_t *doc = NULL;
    lapse_status_t st = LAPSE_OK;
    if (bad)
        st = lapse_fail(LAPSE_EIO, "cannot read %s", p);
    else if (lapse_json_parse(text, n, &doc, err, sizeof err) != 0)
        st = lapse_fail(LAPSE_EIO, "%s is not valid JSON (%s): cannot tell its compressor", p, err);
    else {
        const lapse_json_t *c = lapse_json_get(doc, "compressor");
        const lapse_json_t *id = c ? lapse_json_get(c, "id") : NULL;
        const lapse_json_t *cn = c ? lapse_json_get(c, "cname") : NULL;
        const lapse_json_t *cl = c ? lapse_json_get(c, "clevel") : NULL;
        if (c == NULL || c->type == LAPSE_JSON_NULL) {
            *comp = LAPSE_COMP_NONE;
            *level = 0;
            *found = 1;
        } else if (id && id->type == LAPSE_JSON_STRING && strcmp(id->string, "blosc") == 0 && cn &&
                   cn->type == LAPSE_JSON_STRING && cl && cl->type == LAPSE_JSON_NUMBER &&
                   cl->number >= 1 && cl->number <= 9 && cl->number == (int)cl->number &&
                   (strcmp(cn->string, "lz4") == 0 || strcmp(cn->string, "zstd") == 0 ||
                    strcmp(cn->string, "zlib") == 0)) {
            *comp = strcmp(cn->string, "lz4") == 0    ? LAPSE_COMP_BLOSC_LZ4
                    : strcmp(cn->string, "zstd") == 0 ? LAPSE_COMP_BLOSC_ZSTD
                                                      : LAPSE_COMP_GZIP;
            *level = (int)cl->number;
            *found = 1;
        } else
            st = lapse_fail(LAPSE_EINPUT,
                            "%s: a compressor lapse does not write (blosc lz4, zstd or zlib, "
                            "level 1-9, or none): its chunks cannot be continued",
                            p);
    }
    lapse_json_free(doc);
    free(text);
    return st;
}

int lapse_zarr_chunk_key(char *buf, size_t len, char sep, int64_t t, const int64_t *idx, int n)
{
    int w = snprintf(buf, len, "%lld", (long long)t);
    for (int i = 0; i < n && w > 0 && (size_t)w < len; i++)
        w += snprintf(buf + w, len - (size_t)w, "%c%lld", sep, (long long)idx[i]);
    return w > 0 && (size_t)w < len ? 0 : -1;
}

/* Create the image group of s under root (with .zgroup in every group on the way). */
static lapse_status_t create_one(const char *out, const char *root, const lapse_dset_spec_t *s,
                                 const double vox[3], const char *unit, lapse_comp_t comp,
                                 int level, int fresh)
{
    lapse_status_t st = LAPSE_OK;
    static const char zgroup[] = "{\n  \"zarr_format\": 2\n}\n";
    char gdir[ZPATH], adir[ZPATH], text[8192];
    const char *dt = zarr_dtype(s->dtype);
    if (dt == NULL)
        return lapse_fail(LAPSE_ERUNTIME, "dataset %s: dtype %s has no Zarr output", s->path,
                          lapse_dtype_name(s->dtype));
    ZTRY(group_dir(out, s, gdir, sizeof gdir));
    /* the groups between the root and the image group */
    for (char *p = gdir + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        st = mkdir_p(gdir);
        if (st == LAPSE_OK)
            st = write_text(gdir, ".zgroup", zgroup);
        *p = '/';
        ZTRY(st);
    }
    if (snprintf(adir, sizeof adir, "%s/0", gdir) >= (int)sizeof adir)
        return lapse_fail(LAPSE_EIO, "zarr path too long: %s", gdir);
    /* OME-NGFF (0.2 and later) keys chunks with "/"; a store continued from before 2026-12-02
     * keeps its "." keys, so that its chunks stay visible */
    char sep = '/';
    if (!fresh)
        ZTRY(lapse_zarr_separator(adir, &sep));
    if (fresh)
        ZTRY(clear_chunks(adir));
    ZTRY(mkdir_durable(root, adir)); /* the group's and array's directory entries durable */
    ZTRY(write_text(gdir, ".zgroup", zgroup));

    /* .zattrs: NGFF 0.4 multiscales, one level */
    static const char *const names[] = {"t", "z", "y", "x"};
    int nd = s->ndims;
    const char *name = strrchr(s->path, '/') ? strrchr(s->path, '/') + 1 : s->path;
    size_t cap = sizeof text, n = 0;
#define PUT(...)                                                                                   \
    n += (size_t)snprintf(text + (n < cap ? n : cap), n < cap ? cap - n : 0, __VA_ARGS__)
    PUT("{\n  \"multiscales\": [\n    {\n      \"version\": \"0.4\",\n      \"name\": ");
    n += json_str(text + (n < cap ? n : cap), n < cap ? cap - n : 0, name);
    PUT(",\n      \"axes\": [\n        {\"name\": \"t\", \"type\": \"time\"}");
    const int own = s->vox[0] != 0 || s->vox[1] != 0 || s->vox[2] != 0; /* its geometry's */
    for (int a = 4 - nd + 1; a < 4; a++) {
        PUT(",\n        {\"name\": \"%s\", \"type\": \"space\"", names[a]);
        if (unit && unit[0] && (own ? s->vox[a - 1] : vox[a - 1]) > 0) /* a known size only:
                                                                           negative is not */
            PUT(", \"unit\": \"%s\"", unit);
        PUT("}");
    }
    PUT("\n      ],\n      \"datasets\": [\n        {\n          \"path\": \"0\",\n"
        "          \"coordinateTransformations\": [{\"type\": \"scale\", \"scale\": [1.0");
    for (int a = 4 - nd + 1; a < 4; a++) {
        const double v = fabs(own ? s->vox[a - 1] : vox[a - 1]);
        PUT(", %.17g", v > 0 ? v : 1.0);
    }
    PUT("]}");
    int moved = 0; /* the centre of voxel 0 off the input's (crop, downsample_bin, resample) */
    for (int a = 4 - nd + 1; a < 4; a++)
        moved |= s->org[a - 1] != 0.0;
    if (moved) {
        PUT(", {\"type\": \"translation\", \"translation\": [0.0");
        for (int a = 4 - nd + 1; a < 4; a++)
            PUT(", %.17g", s->org[a - 1] + 0.0);
        PUT("]}");
    }
    PUT("]\n        }\n      ]\n    }\n  ]\n}\n");
    if (n >= cap)
        return lapse_fail(LAPSE_ERUNTIME, "zarr metadata of %s too long", s->path);
    ZTRY(write_text(gdir, ".zattrs", text));

    /* .zarray */
    n = 0;
    PUT("{\n  \"zarr_format\": 2,\n  \"shape\": [");
    for (int i = 0; i < nd; i++)
        PUT("%s%lld", i ? ", " : "", (long long)s->dims[i]);
    PUT("],\n  \"chunks\": [");
    for (int i = 0; i < nd; i++) {
        int64_t c = s->chunk[i] < 1 ? 1 : s->chunk[i];
        PUT("%s%lld", i ? ", " : "",
            (long long)(c > s->dims[i] && s->dims[i] > 0 ? s->dims[i] : c));
    }
    PUT("],\n  \"dtype\": \"%s\",\n  \"compressor\": ", dt);
    const char *cname = blosc_cname(comp);
    if (cname)
        PUT("{\"id\": \"blosc\", \"cname\": \"%s\", \"clevel\": %d, \"shuffle\": 1, "
            "\"blocksize\": 0}",
            cname, level);
    else
        PUT("null");
    PUT(",\n  \"fill_value\": 0,\n  \"order\": \"C\",\n  \"filters\": null,\n"
        "  \"dimension_separator\": \"%c\"\n}\n",
        sep);
#undef PUT
    if (n >= cap)
        return lapse_fail(LAPSE_ERUNTIME, "zarr metadata of %s too long", s->path);
    return write_text(adir, ".zarray", text);
}

/* Whether rel (an array's group path relative to the root, as the root's list holds it) is one
 * this writer could have made: non-empty, no leading or doubled '/', no "." or ".." component, no
 * control characters; anything else in the list is ignored (the store is not trusted). */
static int safe_rel(const char *rel)
{
    if (rel[0] == '\0' || rel[0] == '/' || strlen(rel) > 1024)
        return 0;
    for (const char *c = rel; *c; c++)
        if ((unsigned char)*c < 0x20 || (c[0] == '/' && (c[1] == '/' || c[1] == '\0')))
            return 0;
    for (const char *c = rel; *c;) {
        size_t k = strcspn(c, "/");
        if ((k == 1 && c[0] == '.') || (k == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        c += k + (c[k] == '/');
    }
    return 1;
}

/* The path of dataset s relative to the store's root ("/steps/blur" -> "steps/blur"). */
static const char *rel_path(const lapse_dset_spec_t *s)
{
    return s->path[0] == '/' ? s->path + 1 : s->path;
}

/* Remove the array of group rel under root that an earlier output listed: its chunk and
 * temporary files, 0/.zarray, the 0 directory, the group's .zattrs and .zgroup and the group
 * directory. Only these names are removed; a directory holding anything else stays (rmdir
 * fails on it, silently), so a user's own files under the group survive. */
static lapse_status_t remove_listed(const char *root, const char *rel)
{
    char g[ZPATH], a[ZPATH], f[ZPATH];
    if (snprintf(g, sizeof g, "%s/%s", root, rel) >= (int)sizeof g ||
        snprintf(a, sizeof a, "%s/0", g) >= (int)sizeof a)
        return lapse_fail(LAPSE_EIO, "zarr path too long: %s/%s", root, rel);
    struct stat sb;
    /* every directory from the root down to the group a real one (a symbolic link on the way
     * could lead outside the store) */
    for (char *c = g + strlen(root) + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char k = *c;
        *c = '\0';
        int dir = lstat(g, &sb) == 0 && S_ISDIR(sb.st_mode);
        *c = k;
        if (!dir)
            return LAPSE_OK; /* gone already, or not a directory we made */
        if (k == '\0')
            break;
    }
    if (lstat(a, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        ZTRY(clear_chunks(a));
        if (snprintf(f, sizeof f, "%s/.zarray", a) >= (int)sizeof f)
            return lapse_fail(LAPSE_EIO, "zarr path too long: %s", a);
        if (unlink(f) != 0 && errno != ENOENT)
            return lapse_fail(LAPSE_EIO, "cannot remove %s: %s", f, strerror(errno));
        (void)rmdir(a);
    }
    static const char *const meta[] = {".zattrs", ".zgroup"};
    for (int i = 0; i < 2; i++) {
        if (snprintf(f, sizeof f, "%s/%s", g, meta[i]) >= (int)sizeof f)
            return lapse_fail(LAPSE_EIO, "zarr path too long: %s", g);
        if (unlink(f) != 0 && errno != ENOENT)
            return lapse_fail(LAPSE_EIO, "cannot remove %s: %s", f, strerror(errno));
    }
    (void)rmdir(g);
    return LAPSE_OK;
}

/* Whether rel names one of specs[0..n). */
static int listed_now(const char *rel, const lapse_dset_spec_t *specs, int n)
{
    for (int k = 0; k < n; k++)
        if (strcmp(rel, rel_path(&specs[k])) == 0)
            return 1;
    return 0;
}

/* The root's .zattrs of the store at root, parsed, into *doc (NULL when there is none or it
 * cannot be read or parsed). LAPSE_ENOMEM only when its buffer cannot be had. */
static lapse_status_t read_root_attrs(const char *root, lapse_json_t **doc)
{
    char p[ZPATH], err[160];
    *doc = NULL;
    if (snprintf(p, sizeof p, "%s/.zattrs", root) >= (int)sizeof p)
        return LAPSE_OK;
    FILE *f = fopen(p, "rb");
    if (f == NULL)
        return LAPSE_OK;
    char *text = malloc(LAPSE_JSON_MAX_BYTES);
    size_t len = text ? fread(text, 1, LAPSE_JSON_MAX_BYTES, f) : 0;
    fclose(f);
    if (text == NULL)
        return lapse_fail(LAPSE_ENOMEM, "out of memory reading %s", p);
    if (lapse_json_parse(text, len, doc, err, sizeof err) != 0)
        *doc = NULL;
    free(text);
    return LAPSE_OK;
}

/* The part of path after its last '/'. */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int lapse_zarr_owner(const char *out, char *whose, size_t len)
{
    char root[ZPATH];
    struct stat sb;
    snprintf(whose, len, "%s", "");
    if (lapse_zarr_root(out, root, sizeof root) != 0 || stat(root, &sb) != 0)
        return 1; /* absent (or a name too long for any store: refused when made); a link to a
                   * directory (a store moved to scratch) is judged by what it leads to */
    if (!S_ISDIR(sb.st_mode))
        return 0;
    lapse_json_t *doc = NULL;
    if (read_root_attrs(root, &doc) != LAPSE_OK) {
        lapse_err_clear();
        return 0;
    }
    const lapse_json_t *mine = lapse_json_get(doc, "lapse");
    const lapse_json_t *made = lapse_json_get(mine, "for");
    int ours = 0;
    if (made != NULL && made->type == LAPSE_JSON_STRING) {
        ours = strcmp(made->string, base_name(out)) == 0;
        snprintf(whose, len, "%s", made->string);
    } else if (lapse_json_get(mine, "arrays") != NULL) {
        ours = 1; /* a store of lapse before 2026-12-05, which did not name its output */
    } else {      /* no list: ours only if empty, or a creation stopped before its list */
        DIR *d = opendir(root);
        struct dirent *e;
        ours = d != NULL;
        while (d != NULL && (e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
                strcmp(e->d_name, ".zgroup") != 0)
                ours = 0;
        if (d != NULL)
            closedir(d);
    }
    lapse_json_free(doc);
    return ours;
}

/* On a fresh output: remove the arrays the root's .zattrs ("lapse": {"arrays": [...]}, written
 * by lapse_zarr_create) lists that specs[0..n) does not, so a replaced output's saved steps do
 * not stay behind. A store without the list (none yet, written before 2026-12-02, or a user's
 * .zattrs) keeps everything; an unreadable list is ignored the same way. */
static lapse_status_t remove_unlisted(const char *root, const lapse_dset_spec_t *specs, int n)
{
    lapse_json_t *doc = NULL;
    ZTRY(read_root_attrs(root, &doc));
    if (doc == NULL)
        return LAPSE_OK;
    const lapse_json_t *arr = lapse_json_get(lapse_json_get(doc, "lapse"), "arrays");
    lapse_status_t st = LAPSE_OK;
    for (size_t i = 0; arr && arr->type == LAPSE_JSON_ARRAY && i < arr->n && st == LAPSE_OK; i++) {
        const lapse_json_t *e = arr->items[i];
        if (e->type == LAPSE_JSON_STRING && safe_rel(e->string) && !listed_now(e->string, specs, n))
            st = remove_listed(root, e->string);
    }
    lapse_json_free(doc);
    return st;
}

/* Write the root's .zattrs: the output it belongs to (the HDF5 file's name, which
 * lapse_zarr_owner compares) and the list of its arrays (remove_unlisted reads it). */
static lapse_status_t write_root_list(const char *root, const char *out,
                                      const lapse_dset_spec_t *specs, int n)
{
    size_t cap = 64 + 6 * strlen(base_name(out));
    for (int k = 0; k < n; k++)
        cap += 6 * strlen(rel_path(&specs[k])) + 16; /* \u00XX at worst */
    char *text = malloc(cap);
    if (text == NULL)
        return lapse_fail(LAPSE_ENOMEM, "out of memory for the store's list of arrays");
    size_t w = (size_t)snprintf(text, cap, "{\n  \"lapse\": {\"for\": ");
    w += json_str(text + w, cap - w, base_name(out));
    w += (size_t)snprintf(text + w, cap - w, ", \"arrays\": [");
    for (int k = 0; k < n; k++) {
        if (k)
            w += (size_t)snprintf(text + w, cap - w, ", ");
        w += json_str(text + w, cap - w, rel_path(&specs[k]));
    }
    snprintf(text + w, cap - w, "]}\n}\n");
    lapse_status_t st = write_text(root, ".zattrs", text);
    free(text);
    return st;
}

lapse_status_t lapse_zarr_create(const char *out, const lapse_dset_spec_t *specs, int n,
                                 const double vox[3], const char *unit, lapse_comp_t comp,
                                 int level, int fresh)
{
    char root[ZPATH];
    const char *cname = blosc_cname(comp);
    if (cname && blosc_compname_to_compcode(cname) < 0)
        return lapse_fail(LAPSE_ERUNTIME, "this libblosc has no %s codec (output.compression)",
                          cname);
    if (lapse_zarr_root(out, root, sizeof root) != 0)
        return lapse_fail(LAPSE_EIO, "zarr path too long for %s", out);
    ZTRY(mkdir_p(root));
    { /* the store's own entry in its parent directory */
        char parent[ZPATH];
        snprintf(parent, sizeof parent, "%s", root);
        char *slash = strrchr(parent, '/');
        if (slash == parent)
            slash[1] = '\0';
        else if (slash != NULL)
            *slash = '\0';
        ZTRY(fsync_dir(slash != NULL ? parent : "."));
    }
    ZTRY(write_text(root, ".zgroup", "{\n  \"zarr_format\": 2\n}\n"));
    if (fresh)
        ZTRY(remove_unlisted(root, specs, n));
    ZTRY(write_root_list(root, out, specs, n));
    for (int k = 0; k < n; k++)
        ZTRY(create_one(out, root, &specs[k], vox, unit, comp, level, fresh));
    return LAPSE_OK;
}

lapse_status_t lapse_zarr_write(const char *out, const lapse_dset_spec_t *s, int64_t t,
                                const lapse_box_t *core, const void *buf, lapse_comp_t comp,
                                int level)
{
    lapse_status_t st = LAPSE_OK;
    char gdir[ZPATH], adir[ZPATH], key[128];
    unsigned char *chunk = NULL, *packed = NULL;
    int nd = s->ndims, sp = nd - 1; /* spatial axes */
    int64_t cdim[3], coff[3], cd[3], idx[3];
    size_t es = lapse_dtype_size(s->dtype);
    if (nd < 3 || nd > 4)
        return lapse_fail(LAPSE_ERUNTIME, "internal error: %s has %d dimensions", s->path, nd);
    /* the spatial part of the box and of the chunk shape (z dropped for a 3-D dataset) */
    for (int a = 0; a < sp; a++) {
        int b = a + 3 - sp;
        cdim[a] = s->chunk[1 + a] < 1 ? 1 : s->chunk[1 + a];
        if (cdim[a] > s->dims[1 + a] && s->dims[1 + a] > 0)
            cdim[a] = s->dims[1 + a];
        coff[a] = core->off[b];
        cd[a] = core->dim[b];
        if (coff[a] % cdim[a] != 0 || cd[a] > cdim[a] || coff[a] + cd[a] > s->dims[1 + a])
            return lapse_fail(LAPSE_ERUNTIME,
                              "internal error: box [%lld, +%lld) of axis %d is not one chunk "
                              "of %s (chunk %lld)",
                              (long long)coff[a], (long long)cd[a], a, s->path, (long long)cdim[a]);
        idx[a] = coff[a] / cdim[a];
    }
    if (t < 0 || t >= s->dims[0] || es == 0)
        return lapse_fail(LAPSE_ERUNTIME, "internal error: timepoint %lld of %s", (long long)t,
                          s->path);
    ZTRY(group_dir(out, s, gdir, sizeof gdir));
    if (snprintf(adir, sizeof adir, "%s/0", gdir) >= (int)sizeof adir)
        return lapse_fail(LAPSE_EIO, "zarr path too long: %s", gdir);
    char sep = '/';
    ZTRY(lapse_zarr_separator(adir, &sep));
    if (lapse_zarr_chunk_key(key, sizeof key, sep, t, idx, sp) != 0)
        return lapse_fail(LAPSE_ERUNTIME, "internal error: chunk key of %s", s->path);

    /* the core at the chunk's origin, the rest the fill value 0 */
    int64_t nz = sp == 3 ? cdim[0] : 1, ny = cdim[sp - 2], nx = cdim[sp - 1];
    int64_t bz = sp == 3 ? cd[0] : 1, by = cd[sp - 2], bx = cd[sp - 1];
    size_t nbytes = (size_t)(nz * ny * nx) * es;
    chunk = calloc(1, nbytes);
    if (chunk == NULL)
        LAPSE_FAIL(LAPSE_ENOMEM, "out of memory for a zarr chunk of %zu bytes", nbytes);
    for (int64_t z = 0; z < bz; z++)
        for (int64_t y = 0; y < by; y++)
            memcpy(chunk + (size_t)((z * ny + y) * nx) * es,
                   (const unsigned char *)buf + (size_t)((z * by + y) * bx) * es, (size_t)bx * es);
    const char *cname = blosc_cname(comp);
    const void *data = chunk;
    size_t dlen = nbytes;
    if (cname) {
        size_t cap = nbytes + BLOSC_MAX_OVERHEAD;
        packed = malloc(cap);
        if (packed == NULL)
            LAPSE_FAIL(LAPSE_ENOMEM, "out of memory for a zarr chunk of %zu bytes", cap);
        int c =
            blosc_compress_ctx(level, BLOSC_SHUFFLE, es, nbytes, chunk, packed, cap, cname, 0, 1);
        if (c <= 0)
            LAPSE_FAIL(LAPSE_ERUNTIME, "blosc (%s) failed on chunk %s of %s (%d)", cname, key,
                       s->path, c);
        data = packed;
        dlen = (size_t)c;
    }
    /* the chunk's directory (adir itself for "." keys; adir/T/Z/Y for "/" keys) */
    char cdir[ZPATH];
    const char *leaf = strrchr(key, '/');
    if (snprintf(cdir, sizeof cdir, "%s%s%.*s", adir, leaf ? "/" : "", leaf ? (int)(leaf - key) : 0,
                 key) >= (int)sizeof cdir)
        LAPSE_FAIL(LAPSE_EIO, "zarr path too long: %s/%s", adir, key);
    st = mkdir_durable(adir, cdir);
    if (st == LAPSE_OK)
        st = write_atomic(cdir, leaf ? leaf + 1 : key, data, dlen);
cleanup:
    free(chunk);
    free(packed);
    return st;
}
