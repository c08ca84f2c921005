/*
 * io/input_id.c - the files an input dataset reads, and the input's identity (see input_id.h).
 */
#include "io/input_id.h"

#include <errno.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"

/* Is name (tried as given, then relative to directory dir when relative) the file target? */
static int names_target(const char *name, const char *dir, const struct stat *target)
{
    char path[8400];
    struct stat sb;
    if (name[0] == '\0')
        return 0;
    if (stat(name, &sb) == 0 && sb.st_dev == target->st_dev && sb.st_ino == target->st_ino)
        return 1;
    if (name[0] == '/' || dir == NULL)
        return 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0 && sb.st_dev == target->st_dev && sb.st_ino == target->st_ino;
}

/* Directory part of path into dir[len] ("." when none). */
static void dir_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, len, ".");
    else
        snprintf(dir, len, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/* The walk over the files and datasets an input reads: a visited set (device + inode +
 * dataset) against cycles, a depth bound, a bound on the number of visits. */
#define WALK_DEPTH  8
#define WALK_VISITS 1024

typedef struct {
    dev_t dev;
    ino_t ino;
    char *dataset;
} visit_t;

typedef struct {
    const struct stat *target;
    char *why;
    size_t len;
    visit_t *v;
    size_t nv;
} walk_t;

static int walk(walk_t *w, const char *file, const char *dataset, int depth);

/* Walk name (a linked or source file, as given and relative to directory dir when relative,
 * each that exists) at dataset: 1 when it or what it reads is the target. */
static int walk_named(walk_t *w, const char *name, const char *dir, const char *dataset, int depth)
{
    char path[8400];
    struct stat a, b;
    int have_a = stat(name, &a) == 0;
    if (have_a && walk(w, name, dataset, depth))
        return 1;
    if (name[0] == '/' || dir == NULL)
        return 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &b) != 0 || (have_a && a.st_dev == b.st_dev && a.st_ino == b.st_ino))
        return 0;
    return walk(w, path, dataset, depth);
}

/* The external links on dataset's path in f (each prefix /a, /a/b, ...): 1 when one leads to
 * target (its file name relative to the directory of file, or as given), or the object it
 * leads to (with the rest of the path) reads it. */
static int elink_reads(walk_t *w, hid_t f, const char *file, const char *dataset, int depth)
{
    char prefix[4096], dir[4096], val[8400], sub[8400];
    dir_of(file, dir, sizeof dir);
    /* pass 0: a link on the path (as the library follows them) names the target; pass 1: walk
     * each linked file from the object it leads to */
    for (int pass = 0; pass < 2; pass++)
        for (const char *p = strchr(dataset + 1, '/');; p = strchr(p + 1, '/')) {
            size_t n = p ? (size_t)(p - dataset) : strlen(dataset);
            snprintf(prefix, sizeof prefix, "%.*s", (int)n, dataset);
            H5L_info_t li;
            const char *efile = NULL, *eobj = NULL;
            unsigned flags = 0;
            if (H5Lget_info(f, prefix, &li, H5P_DEFAULT) >= 0 && li.type == H5L_TYPE_EXTERNAL &&
                li.u.val_size <= sizeof val &&
                H5Lget_val(f, prefix, val, sizeof val, H5P_DEFAULT) >= 0 &&
                H5Lunpack_elink_val(val, li.u.val_size, &flags, &efile, &eobj) >= 0) {
                if (pass == 0 && names_target(efile, dir, w->target)) {
                    snprintf(w->why, w->len,
                             "the input dataset's path reaches it through the external link %s "
                             "-> %s:%s",
                             prefix, efile, eobj);
                    return 1;
                }
                /* the object the link leads to, and the rest of the path below it */
                snprintf(sub, sizeof sub, "%s%s%s", eobj[0] == '/' ? "" : "/",
                         strcmp(eobj, "/") == 0 && p ? "" : eobj, p ? p : "");
                if (pass == 1 && walk_named(w, efile, dir, sub, depth + 1))
                    return 1;
            }
            if (p == NULL)
                break;
        }
    return 0;
}

/* Virtual dataset sources (walked in turn) and external storage files of dataset d (in HDF5
 * file fname). */
static int storage_reads(walk_t *w, hid_t d, const char *fname, int depth)
{
    char dir[4096], name[4096], dset[4096];
    int hit = 0;
    hid_t dcpl = H5Dget_create_plist(d);
    if (dcpl < 0)
        return 0;
    dir_of(fname, dir, sizeof dir);
    size_t nv = 0;
    if (H5Pget_layout(dcpl) == H5D_VIRTUAL && H5Pget_virtual_count(dcpl, &nv) >= 0)
        for (size_t i = 0; i < nv && !hit; i++) {
            if (H5Pget_virtual_filename(dcpl, i, name, sizeof name) <= 0)
                continue;
            const char *src = strcmp(name, ".") == 0 ? fname : name;
            if (names_target(src, dir, w->target)) {
                hit = 1;
                snprintf(w->why, w->len, "the input is a virtual dataset with a source in it (%s)",
                         name);
            } else if (H5Pget_virtual_dsetname(dcpl, i, dset, sizeof dset) > 0 &&
                       walk_named(w, src, dir, dset, depth + 1)) {
                hit = 1;
            }
        }
    int ne = H5Pget_external_count(dcpl);
    for (int i = 0; i < ne && !hit; i++) {
        off_t off;
        hsize_t size;
        if (H5Pget_external(dcpl, (unsigned)i, sizeof name, name, &off, &size) >= 0 &&
            names_target(name, dir, w->target)) {
            hit = 1;
            snprintf(w->why, w->len, "the input dataset's external storage is in it (%s)", name);
        }
    }
    H5Pclose(dcpl);
    return hit;
}

/* 1 when dataset of file (depth links or sources away from the input) is, or reads, the
 * target; a walk too deep or too wide counts as reading it (it cannot be shown not to). */
static int walk(walk_t *w, const char *file, const char *dataset, int depth)
{
    char fname[4096];
    struct stat sb;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, fid = H5I_INVALID_HID;
    int hit = names_target(file, NULL, w->target);
    if (hit) {
        if (depth == 0)
            snprintf(w->why, w->len, "the output file is the input file");
        else
            snprintf(w->why, w->len, "the input reads it through %s:%s", file, dataset);
        return 1;
    }
    if (stat(file, &sb) != 0)
        return 0;
    for (size_t i = 0; i < w->nv; i++)
        if (w->v[i].dev == sb.st_dev && w->v[i].ino == sb.st_ino &&
            strcmp(w->v[i].dataset, dataset) == 0)
            return 0;
    if (depth > WALK_DEPTH || w->nv >= WALK_VISITS) {
        snprintf(w->why, w->len,
                 "the input's chain of linked and source files is %s to check (at %s:%s)",
                 depth > WALK_DEPTH ? "too deep" : "too large", file, dataset);
        return 1;
    }
    if (w->nv % 64 == 0) {
        visit_t *nv = realloc(w->v, (w->nv + 64) * sizeof *nv);
        if (nv == NULL) {
            snprintf(w->why, w->len, "out of memory checking the input's linked files");
            return 1;
        }
        w->v = nv;
    }
    if ((w->v[w->nv].dataset = strdup(dataset)) == NULL) {
        snprintf(w->why, w->len, "out of memory checking the input's linked files");
        return 1;
    }
    w->v[w->nv].dev = sb.st_dev;
    w->v[w->nv].ino = sb.st_ino;
    w->nv++;
    if (dataset[0] != '/' || H5Fis_hdf5(file) <= 0 ||
        (f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        goto cleanup;
    hit = elink_reads(w, f, file, dataset, depth);
    if (hit || (d = H5Dopen2(f, dataset, H5P_DEFAULT)) < 0)
        goto cleanup;
    /* the file the dataset is in, as the library resolved the links to it */
    if ((fid = H5Iget_file_id(d)) >= 0 && H5Fget_name(fid, fname, sizeof fname) > 0) {
        if ((hit = names_target(fname, NULL, w->target)) != 0)
            snprintf(w->why, w->len, "the input dataset is in it (reached as %s)", fname);
        else
            hit = storage_reads(w, d, fname, depth);
    }
cleanup:
    if (fid >= 0)
        H5Fclose(fid);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return hit;
}

int lapse_input_reads_file(const char *file, const char *dataset, const struct stat *target,
                           char *why, size_t len)
{
    walk_t w = {.target = target, .why = why, .len = len};
    lapse_h5_init();
    int hit = walk(&w, file, dataset, 0);
    for (size_t i = 0; i < w.nv; i++)
        free(w.v[i].dataset);
    free(w.v);
    H5Eclear2(H5E_DEFAULT);
    return hit;
}

static uint64_t fnv_bytes(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

lapse_status_t lapse_input_identity(const char *file, const char *dataset,
                                    const lapse_input_info_t *in, char *out, size_t len)
{
    lapse_status_t st = LAPSE_OK;
    lapse_reader_t *r = NULL;
    void *buf = NULL;
    struct stat sb;
    uint64_t h = 14695981039346656037ULL;
    lapse_box_t box = {{0, 0, 0},
                       {in->shape[0] < 4 ? in->shape[0] : 4, in->shape[1] < 64 ? in->shape[1] : 64,
                        in->shape[2] < 64 ? in->shape[2] : 64}};
    int64_t tps[3] = {0, in->ntp / 2, in->ntp - 1};

    if (stat(file, &sb) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: cannot stat the input: %s", file, strerror(errno));
    size_t n = (size_t)lapse_box_voxels(&box) * lapse_dtype_size(in->dtype);
    buf = malloc(n > 0 ? n : 1);
    LAPSE_ALLOC(buf);
    LAPSE_TRY(lapse_reader_open(file, dataset, &r));
    for (int i = 0; i < 3 && in->ntp > 0; i++) {
        LAPSE_TRY(lapse_reader_read(r, tps[i], &box, buf));
        h = fnv_bytes(h, buf, n);
    }
    snprintf(out, len, "size=%lld mtime=%lld.%09ld sum=%016llx", (long long)sb.st_size,
             (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec, (unsigned long long)h);
cleanup:
    lapse_reader_close(r);
    free(buf);
    return st;
}

void lapse_input_identity_diff(const char *a, const char *b, char *buf, size_t len)
{
    static const char *const keys[] = {"size=", "mtime=", "sum="};
    static const char *const what[] = {"size", "modification time", "content"};
    size_t n = 0;
    buf[0] = '\0';
    for (int k = 0; k < 3; k++) {
        const char *pa = strstr(a, keys[k]), *pb = strstr(b, keys[k]);
        size_t la = pa ? strcspn(pa, " ") : 0, lb = pb ? strcspn(pb, " ") : 0;
        if ((pa == NULL) != (pb == NULL) || la != lb || (pa && strncmp(pa, pb, la) != 0))
            n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? ", " : "", what[k]);
    }
    if (n == 0)
        snprintf(buf, len, "identity");
}
