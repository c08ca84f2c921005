/*
 * io/input_id.c - the files an input dataset reads, and the input's identity (see input_id.h).
 */
#define _GNU_SOURCE /* realpath, strtok_r */
#include "io/input_id.h"

#include <errno.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"

/* Is the file at path (if any) the target? */
static int is_target(const char *path, const struct stat *target)
{
    struct stat sb;
    return path[0] != '\0' && stat(path, &sb) == 0 && sb.st_dev == target->st_dev &&
           sb.st_ino == target->st_ino;
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

/* prefix joined to name into out[len] as HDF5 joins them (H5_combine_path, H5F__build_name):
 * name alone when prefix is empty or name is absolute. 0 when it does not fit. */
static int join(const char *prefix, const char *name, char *out, size_t len)
{
    size_t n = strlen(prefix);
    int w = prefix[0] == '\0' || name[0] == '/'
                ? snprintf(out, len, "%s", name)
                : snprintf(out, len, "%s%s%s", prefix, prefix[n - 1] == '/' ? "" : "/", name);
    return w >= 0 && (size_t)w < len;
}

/* A prefix as HDF5 builds it for a dataset in the file named host (H5D__build_file_prefix):
 * environment variable env when set and not empty, else prop (a property of the dataset's
 * access list); a leading "${ORIGIN}" is the directory of host and a '/' (H5_build_extpath's
 * form: "${ORIGIN}sub" is its subdirectory sub); "" or "." is none (names stay
 * relative to the working directory). Into out[len] ("" for none). */
static void build_prefix(const char *env, const char *prop, const char *host, char *out, size_t len)
{
    static const char origin[] = "${ORIGIN}";
    char dir[4096];
    const char *p = getenv(env);
    if (p == NULL || p[0] == '\0')
        p = prop;
    if (p[0] == '\0' || strcmp(p, ".") == 0) {
        out[0] = '\0';
    } else if (strncmp(p, origin, sizeof origin - 1) == 0) {
        dir_of(host, dir, sizeof dir);
        snprintf(out, len, "%s/%s", dir, p + sizeof origin - 1); /* HDF5's ends in '/' */
    } else {
        snprintf(out, len, "%s", p);
    }
}

/* A virtual dataset's source file or dataset name for block blockno into out[len], as HDF5
 * builds it from the name given to H5Pset_virtual (H5D_virtual_parse_source_name,
 * H5D__virtual_build_source_name): "%b" is the block number (of an unlimited, "printf-style"
 * mapping), "%%" a single "%". Returns the number of "%b" in pattern, or -1 for a name HDF5
 * refuses ("%" before anything else) or one that does not fit. */
static int vds_name(const char *pattern, unsigned long long blockno, char *out, size_t len)
{
    size_t n = 0;
    int subs = 0;
    for (const char *p = pattern; *p; p++) {
        char num[24];
        const char *piece = p;
        size_t k = 1;
        if (*p == '%') {
            if (p[1] == 'b') {
                snprintf(num, sizeof num, "%llu", blockno);
                piece = num;
                k = strlen(num);
                subs++;
            } else if (p[1] != '%') {
                return -1;
            }
            p++;
        }
        if (n + k >= len)
            return -1;
        memcpy(out + n, piece, k);
        n += k;
    }
    out[n] = '\0';
    return subs;
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

/* How a linked file's name is searched for: an external link's (HDF5_EXT_PREFIX) or a virtual
 * dataset source's (HDF5_VDS_PREFIX, and prop, the dataset's VDS prefix, see build_prefix). */
typedef struct {
    const char *env;  /* the colon-separated search path variable */
    const char *prop; /* the property prefix, already built; "" for none */
    const char *host; /* the file holding the link or the virtual dataset, as it was opened */
} search_t;

/* Does HDF5 file path hold an object at dataset (links followed)? */
static int holds(const char *path, const char *dataset)
{
    int yes = 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0) {
        H5E_BEGIN_TRY
        {
            yes = H5Oexists_by_name(f, dataset, H5P_DEFAULT) > 0;
        }
        H5E_END_TRY;
        H5Fclose(f);
    }
    H5Eclear2(H5E_DEFAULT);
    return yes;
}

/* One candidate file of resolve at path: -1 when nothing is there or it is not an HDF5 file
 * (HDF5 tries the next), else resolve's result for it. */
static int try_candidate(walk_t *w, const char *path, const char *dataset, int walk_depth,
                         int *found, const char *what)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    if (is_target(path, w->target)) {
        snprintf(w->why, w->len, "%s (%s)", what, path);
        return 1;
    }
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return -1;
    }
    if (found)
        *found = holds(path, dataset);
    return walk_depth >= 0 ? walk(w, path, dataset, walk_depth) : 0;
}

/* The file HDF5 opens for name (H5F_prefix_open_file): an absolute name as it is (when it
 * opens), else its last component (for an absolute name) or name itself, tried under each
 * prefix of s->env, under s->prop, in the directory of s->host, in the working directory, and
 * in the directory of s->host with its symbolic links resolved; HDF5 opens the first that is an
 * HDF5 file. Every existing file up to that one is compared with the target (one that is not
 * HDF5 now could be the output, and is one after an overwrite). Returns 1 when one of them is
 * the target (why: "what (path)"), else, when walk_depth >= 0, walks the opened file at dataset
 * (1 when it reads the target), else 0. *found (may be NULL): whether a file was opened and
 * holds dataset (a printf-style mapping ends at the first block that has none). */
static int resolve(walk_t *w, const search_t *s, const char *name, const char *dataset,
                   int walk_depth, int *found, const char *what)
{
    char path[8400], dir[4096], real[4096], env[4096];
    const char *tmp = name;
    int r;
    if (found)
        *found = 0;
    if (name[0] == '/') {
        if ((r = try_candidate(w, name, dataset, walk_depth, found, what)) >= 0)
            return r;
        tmp = strrchr(name, '/') + 1;
    }
    snprintf(env, sizeof env, "%s", getenv(s->env) ? getenv(s->env) : "");
    for (char *save = NULL, *p = strtok_r(env, ":", &save); p; p = strtok_r(NULL, ":", &save))
        if (join(p, tmp, path, sizeof path) &&
            (r = try_candidate(w, path, dataset, walk_depth, found, what)) >= 0)
            return r;
    if (s->prop[0] && join(s->prop, tmp, path, sizeof path) &&
        (r = try_candidate(w, path, dataset, walk_depth, found, what)) >= 0)
        return r;
    dir_of(s->host, dir, sizeof dir);
    if (join(dir, tmp, path, sizeof path) &&
        (r = try_candidate(w, path, dataset, walk_depth, found, what)) >= 0)
        return r;
    if ((r = try_candidate(w, tmp, dataset, walk_depth, found, what)) >= 0)
        return r;
    if (realpath(s->host, real) != NULL) {
        dir_of(real, dir, sizeof dir);
        if (join(dir, tmp, path, sizeof path) &&
            (r = try_candidate(w, path, dataset, walk_depth, found, what)) >= 0)
            return r;
    }
    return 0;
}

/* The external links on dataset's path in f (each prefix /a, /a/b, ...): 1 when one leads to
 * target (its file searched for as HDF5 does, from file), or the object it leads to (with the
 * rest of the path) reads it. */
static int elink_reads(walk_t *w, hid_t f, const char *file, const char *dataset, int depth)
{
    char prefix[4096], val[8400], sub[8400], what[8400];
    const search_t s = {.env = "HDF5_EXT_PREFIX", .prop = "", .host = file};
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
                /* the object the link leads to, and the rest of the path below it */
                snprintf(sub, sizeof sub, "%s%s%s", eobj[0] == '/' ? "" : "/",
                         strcmp(eobj, "/") == 0 && p ? "" : eobj, p ? p : "");
                snprintf(what, sizeof what,
                         "the input dataset's path reaches it through the external link %s -> "
                         "%s:%s",
                         prefix, efile, eobj);
                if (resolve(w, &s, efile, sub, pass == 0 ? -1 : depth + 1, NULL, what))
                    return 1;
            }
            if (p == NULL)
                break;
        }
    return 0;
}

/* Mapping i of the virtual dataset d (dcpl, in the file named host): 1 when a source file it
 * reads is the target or reads it. A printf-style mapping ("%b" in a name) reads one source per
 * block, 0, 1, ..., up to the printf gap (the dataset's access list) past the last block found,
 * as HDF5 sizes it (H5D__virtual_set_extent_unlim). */
static int vds_mapping_reads(walk_t *w, hid_t d, hid_t dcpl, size_t i, const char *host,
                             const search_t *s, int depth)
{
    char fpat[4096], dpat[4096], fname[4096], dname[4096], what[16800];
    hsize_t gap = 0;
    if (H5Pget_virtual_filename(dcpl, i, fpat, sizeof fpat) <= 0 ||
        H5Pget_virtual_dsetname(dcpl, i, dpat, sizeof dpat) <= 0)
        return 0;
    int nf = vds_name(fpat, 0, fname, sizeof fname), nd = vds_name(dpat, 0, dname, sizeof dname);
    if (nf < 0 || nd < 0)
        return 0; /* HDF5 cannot open the dataset: it reads nothing */
    int printf_style = nf > 0 || nd > 0;
    if (printf_style) {
        hid_t dapl = H5Dget_access_plist(d);
        if (dapl < 0 || H5Pget_virtual_printf_gap(dapl, &gap) < 0)
            gap = 0;
        if (dapl >= 0)
            H5Pclose(dapl);
    }
    unsigned long long first_missing = 0;
    for (unsigned long long b = 0; b <= gap + first_missing; b++) {
        if (b >= WALK_VISITS) {
            snprintf(w->why, w->len,
                     "the input's virtual dataset has too many source blocks to check (%s)", fpat);
            return 1;
        }
        vds_name(fpat, b, fname, sizeof fname);
        vds_name(dpat, b, dname, sizeof dname);
        if (printf_style)
            snprintf(what, sizeof what,
                     "the input is a virtual dataset with a source in it: block %llu of %s:%s, "
                     "%s:%s",
                     b, fpat, dpat, fname, dname);
        else
            snprintf(what, sizeof what, "the input is a virtual dataset with a source in it: %s",
                     fpat);
        int found = 0;
        if (strcmp(fname, ".") == 0) { /* the virtual dataset's own file */
            found = holds(host, dname);
            if (walk(w, host, dname, depth + 1))
                return 1;
        } else if (resolve(w, s, fname, dname, depth + 1, &found, what)) {
            return 1;
        }
        if (!printf_style)
            break;
        if (found)
            first_missing = b + 1;
    }
    return 0;
}

/* Virtual dataset sources (walked in turn) and external storage files of dataset d (in HDF5
 * file host, named as the library opened it). */
static int storage_reads(walk_t *w, hid_t d, const char *host, int depth)
{
    char name[4096], path[8400], prop[4096], prefix[8400];
    int hit = 0;
    hid_t dcpl = H5Dget_create_plist(d), dapl = H5Dget_access_plist(d);
    if (dcpl < 0 || dapl < 0)
        goto cleanup;
    size_t nv = 0;
    if (H5Pget_layout(dcpl) == H5D_VIRTUAL && H5Pget_virtual_count(dcpl, &nv) >= 0) {
        prop[0] = '\0'; /* a prefix that was never set is not written */
        if (H5Pget_virtual_prefix(dapl, prop, sizeof prop) <= 0)
            prop[0] = '\0';
        build_prefix("HDF5_VDS_PREFIX", prop, host, prefix, sizeof prefix);
        const search_t s = {.env = "HDF5_VDS_PREFIX", .prop = prefix, .host = host};
        for (size_t i = 0; i < nv && !hit; i++)
            hit = vds_mapping_reads(w, d, dcpl, i, host, &s, depth);
    }
    /* external storage: each file is the prefix joined to its name (H5D__efl_read), the prefix
     * being HDF5_EXTFILE_PREFIX or the efile prefix; none: relative to the working directory */
    int ne = H5Pget_external_count(dcpl);
    if (ne > 0) {
        prop[0] = '\0';
        if (H5Pget_efile_prefix(dapl, prop, sizeof prop) <= 0)
            prop[0] = '\0';
        build_prefix("HDF5_EXTFILE_PREFIX", prop, host, prefix, sizeof prefix);
    }
    for (int i = 0; i < ne && !hit; i++) {
        off_t off;
        hsize_t size;
        int got = H5Pget_external(dcpl, (unsigned)i, sizeof name, name, &off, &size) >= 0;
        name[sizeof name - 1] = '\0'; /* strncpy'd: not terminated when it filled the buffer */
        if (got && join(prefix, name, path, sizeof path) && is_target(path, w->target)) {
            hit = 1;
            snprintf(w->why, w->len, "the input dataset's external storage is in it (%s as %s)",
                     name, path);
        }
    }
cleanup:
    if (dapl >= 0)
        H5Pclose(dapl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    H5Eclear2(H5E_DEFAULT);
    return hit;
}

/* 1 when dataset of file (depth links or sources away from the input) is, or reads, the
 * target; a walk too deep or too wide counts as reading it (it cannot be shown not to). */
static int walk(walk_t *w, const char *file, const char *dataset, int depth)
{
    char fname[4096];
    struct stat sb;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, fid = H5I_INVALID_HID;
    int hit = is_target(file, w->target);
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
        if ((hit = is_target(fname, w->target)) != 0)
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

/* One file per timepoint (input.files): 1 when one of the files matching pattern is target. */
static int files_read_file(const char *pattern, const struct stat *target, char *why, size_t len)
{
    char **names = NULL;
    size_t n = 0;
    int hit = 0;
    if (lapse_reader_files_list(pattern, &names, &n) != LAPSE_OK) {
        lapse_err_clear(); /* the probe reports it */
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!hit && is_target(names[i], target)) {
            snprintf(why, len, "it is the input's timepoint file %s", names[i]);
            hit = 1;
        }
        free(names[i]);
    }
    free(names);
    return hit;
}

int lapse_input_reads_file(const char *file, const char *dataset, const struct stat *target,
                           char *why, size_t len)
{
    walk_t w = {.target = target, .why = why, .len = len};
    lapse_input_sel_t sel;
    char err[256];
    if (lapse_input_sel_parse(dataset, &sel, err, sizeof err) != 0)
        return 0; /* the probe reports it */
    if (sel.files)
        return files_read_file(file, target, why, len);
    dataset = sel.dataset;
    if (dataset[0] == '\0' && is_target(file, target)) {
        snprintf(why, len, "the output file is the input file");
        return 1;
    }
    if (dataset[0] == '\0') { /* BigDataViewer: every timepoint's level-0 cells of the setup */
        int hit = 0;
        lapse_h5_init();
        for (long long t = 0; !hit && t < 100000; t++) {
            char path[64];
            snprintf(path, sizeof path, "/t%05lld/s%02d/0/cells", t,
                     sel.setup >= 0 ? sel.setup : 0);
            if (!holds(file, path))
                break;
            hit = walk(&w, file, path, 0);
        }
        for (size_t i = 0; i < w.nv; i++)
            free(w.v[i].dataset);
        free(w.v);
        H5Eclear2(H5E_DEFAULT);
        return hit;
    }
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

/* lapse_input_identity over the input's first ntp timepoints (in->ntp: all of them): the
 * boxes of timepoints 0, ntp / 2 and ntp - 1; with input.files every file found (first = 0:
 * also one made since the probe) or only the first ntp (first = 1). */
static lapse_status_t identity_of(const char *file, const char *dataset,
                                  const lapse_input_info_t *in, int64_t ntp, int first, char *out,
                                  size_t len, char *unread, size_t unread_len)
{
    lapse_status_t st = LAPSE_OK;
    lapse_reader_t *r = NULL;
    void *buf = NULL;
    struct stat sb;
    uint64_t h = 14695981039346656037ULL;
    lapse_box_t box = {{0, 0, 0},
                       {in->shape[0] < 4 ? in->shape[0] : 4, in->shape[1] < 64 ? in->shape[1] : 64,
                        in->shape[2] < 64 ? in->shape[2] : 64}};
    int64_t tps[3] = {0, ntp / 2, ntp - 1};
    lapse_input_sel_t sel;
    char **names = NULL;
    size_t nnames = 0;

    if (lapse_input_sel_parse(dataset, &sel, out, len) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", file, out);
    if (sel.files) { /* every file: total size, latest time, each file's name, size and time */
        LAPSE_TRY(lapse_reader_files_list(file, &names, &nnames));
        memset(&sb, 0, sizeof sb);
        for (size_t i = (size_t)ntp; first && i < nnames; i++) { /* the first ntp files */
            free(names[i]);
            names[i] = NULL;
        }
        if (first && nnames > (size_t)ntp)
            nnames = (size_t)ntp;
        for (size_t i = 0; i < nnames; i++) {
            struct stat fs;
            char rec[64];
            if (stat(names[i], &fs) != 0)
                LAPSE_FAIL(LAPSE_EINPUT, "%s: cannot stat the input: %s", names[i],
                           strerror(errno));
            sb.st_size += fs.st_size;
            if (fs.st_mtim.tv_sec > sb.st_mtim.tv_sec ||
                (fs.st_mtim.tv_sec == sb.st_mtim.tv_sec && fs.st_mtim.tv_nsec > sb.st_mtim.tv_nsec))
                sb.st_mtim = fs.st_mtim;
            snprintf(rec, sizeof rec, "%lld %lld.%09ld", (long long)fs.st_size,
                     (long long)fs.st_mtim.tv_sec, (long)fs.st_mtim.tv_nsec);
            h = fnv_bytes(h, (const unsigned char *)names[i], strlen(names[i]) + 1);
            h = fnv_bytes(h, (const unsigned char *)rec, strlen(rec) + 1);
        }
    } else if (stat(file, &sb) != 0) {
        LAPSE_FAIL(LAPSE_EINPUT, "%s: cannot stat the input: %s", file, strerror(errno));
    }
    size_t n = (size_t)lapse_box_voxels(&box) * lapse_dtype_size(in->dtype);
    buf = malloc(n > 0 ? n : 1);
    LAPSE_ALLOC(buf);
    LAPSE_TRY(lapse_reader_open(file, dataset, &r));
    for (int i = 0; i < 3 && ntp > 0; i++) {
        /* a box that cannot be read (a damaged chunk) counts as such, so that the tasks decide
         * what to do with it (on_error: skip records them failed and goes on); the file's size
         * and time still tell a change */
        lapse_status_t rs = lapse_reader_read(r, tps[i], &box, buf);
        if (rs != LAPSE_OK && rs != LAPSE_EREAD) /* out of memory, interrupted: not damage */
            LAPSE_TRY(rs);
        if (rs != LAPSE_OK) {
            if (unread != NULL && unread[0] == '\0')
                snprintf(unread, unread_len, "timepoint %lld: %s", (long long)tps[i],
                         lapse_errmsg());
            lapse_err_clear();
            static const char bad[] = "unreadable";
            h = fnv_bytes(h, (const unsigned char *)bad, sizeof bad);
            continue;
        }
        h = fnv_bytes(h, buf, n);
    }
    snprintf(out, len, "size=%lld mtime=%lld.%09ld sum=%016llx", (long long)sb.st_size,
             (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec, (unsigned long long)h);
cleanup:
    lapse_reader_close(r);
    free(buf);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    return st;
}

lapse_status_t lapse_input_identity(const char *file, const char *dataset,
                                    const lapse_input_info_t *in, char *out, size_t len)
{
    return identity_of(file, dataset, in, in->ntp, 0, out, len, NULL, 0);
}

lapse_status_t lapse_input_identity_first(const char *file, const char *dataset,
                                          const lapse_input_info_t *in, int64_t ntp, char *out,
                                          size_t len, char *unread, size_t unread_len)
{
    if (unread != NULL && unread_len > 0)
        unread[0] = '\0';
    if (ntp < 0 || ntp > in->ntp)
        return lapse_fail(LAPSE_EINPUT,
                          "%s: the identity of its first %lld timepoints: it has %lld", file,
                          (long long)ntp, (long long)in->ntp);
    return identity_of(file, dataset, in, ntp, 1, out, len, unread, unread_len);
}

lapse_box_t lapse_input_sample_box(const lapse_input_info_t *in)
{
    lapse_box_t box = {{in->shape[0] / 2, 0, 0}, {1, 0, 0}};
    for (int a = 1; a < 3; a++) { /* 64 voxels centred, or the whole axis */
        box.dim[a] = in->shape[a] < 64 ? in->shape[a] : 64;
        box.off[a] = (in->shape[a] - box.dim[a]) / 2;
    }
    return box;
}

uint64_t lapse_input_sample_sum(const void *data, size_t bytes)
{
    const uint64_t h = fnv_bytes(14695981039346656037ULL, data, bytes);
    return h != 0 ? h : 1;
}

int lapse_input_sample_take(lapse_sample_t *s, const lapse_input_info_t *in,
                            const lapse_box_t *have, const void *data, uint64_t *out)
{
    const lapse_box_t sb = lapse_input_sample_box(in);
    int64_t lo[3], hi[3];
    for (int a = 0; a < 3; a++) {
        lo[a] = sb.off[a] > have->off[a] ? sb.off[a] : have->off[a];
        hi[a] = sb.off[a] + sb.dim[a] < have->off[a] + have->dim[a] ? sb.off[a] + sb.dim[a]
                                                                    : have->off[a] + have->dim[a];
        if (lo[a] >= hi[a])
            return 0;
    }
    const size_t vs = lapse_dtype_size(in->dtype), n = (size_t)lapse_box_voxels(&sb);
    if (s->buf == NULL && (s->buf = calloc(n * vs + n, 1)) == NULL)
        return 0;
    unsigned char *flag = s->buf + n * vs;
    const size_t run = (size_t)(hi[2] - lo[2]);
    for (int64_t z = lo[0]; z < hi[0]; z++)
        for (int64_t y = lo[1]; y < hi[1]; y++) {
            const size_t from =
                (size_t)(((z - have->off[0]) * have->dim[1] + (y - have->off[1])) * have->dim[2] +
                         (lo[2] - have->off[2]));
            const size_t to = (size_t)(((z - sb.off[0]) * sb.dim[1] + (y - sb.off[1])) * sb.dim[2] +
                                       (lo[2] - sb.off[2]));
            memcpy(s->buf + to * vs, (const unsigned char *)data + from * vs, run * vs);
            for (size_t x = 0; x < run; x++)
                if (!flag[to + x]) {
                    flag[to + x] = 1;
                    s->have++;
                }
        }
    if ((size_t)s->have < n)
        return 0;
    *out = lapse_input_sample_sum(s->buf, n * vs);
    lapse_input_sample_free(s);
    return 1;
}

void lapse_input_sample_free(lapse_sample_t *s)
{
    free(s->buf);
    s->buf = NULL;
    s->have = 0;
}

lapse_status_t lapse_input_tp_sums(lapse_reader_t *r, const lapse_input_info_t *in,
                                   const int64_t *tps, int64_t n, uint64_t *out)
{
    lapse_status_t st = LAPSE_OK;
    void *buf = NULL;
    const lapse_box_t box = lapse_input_sample_box(in);
    const size_t bytes = (size_t)lapse_box_voxels(&box) * lapse_dtype_size(in->dtype);
    if (n <= 0)
        return LAPSE_OK;
    buf = malloc(bytes > 0 ? bytes : 1);
    LAPSE_ALLOC(buf);
    for (int64_t i = 0; i < n; i++) {
        uint64_t h = 14695981039346656037ULL;
        lapse_status_t rs = lapse_reader_read(r, tps[i], &box, buf);
        if (rs != LAPSE_OK && rs != LAPSE_EREAD) /* out of memory, interrupted: not damage */
            LAPSE_TRY(rs);
        if (rs != LAPSE_OK) {
            static const char bad[] = "unreadable";
            lapse_err_clear();
            h = fnv_bytes(h, (const unsigned char *)bad, sizeof bad);
        } else {
            h = fnv_bytes(h, buf, bytes);
        }
        out[i] = h != 0 ? h : 1;
    }
cleanup:
    free(buf);
    return st;
}

int lapse_input_identity_same_sum(const char *a, const char *b)
{
    const char *pa = strstr(a, "sum="), *pb = strstr(b, "sum=");
    if (pa == NULL || pb == NULL)
        return 0;
    size_t la = strcspn(pa, " "), lb = strcspn(pb, " ");
    return la == lb && strncmp(pa, pb, la) == 0;
}

void lapse_input_identity_diff(const char *a, const char *b, char *buf, size_t len)
{
    static const char *const keys[] = {"size=", "mtime=", "sum="};
    static const char *const what[] = {"size", "modification time",
                                       "content (for input.files: or a file's name, size or time)"};
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
