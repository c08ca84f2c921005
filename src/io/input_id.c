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

/* The external links on dataset's path in f (each prefix /a, /a/b, ...): 1 when one leads to
 * target (its file name relative to the directory of file, or as given). */
static int elink_reads(hid_t f, const char *file, const char *dataset, const struct stat *target,
                       char *why, size_t len)
{
    char prefix[4096], dir[4096], val[8400];
    dir_of(file, dir, sizeof dir);
    for (const char *p = strchr(dataset + 1, '/');; p = strchr(p + 1, '/')) {
        size_t n = p ? (size_t)(p - dataset) : strlen(dataset);
        snprintf(prefix, sizeof prefix, "%.*s", (int)n, dataset);
        H5L_info_t li;
        const char *efile = NULL, *eobj = NULL;
        unsigned flags = 0;
        if (H5Lget_info(f, prefix, &li, H5P_DEFAULT) >= 0 && li.type == H5L_TYPE_EXTERNAL &&
            li.u.val_size <= sizeof val &&
            H5Lget_val(f, prefix, val, sizeof val, H5P_DEFAULT) >= 0 &&
            H5Lunpack_elink_val(val, li.u.val_size, &flags, &efile, &eobj) >= 0 &&
            names_target(efile, dir, target)) {
            snprintf(why, len,
                     "the input dataset's path reaches it through the external link %s "
                     "-> %s:%s",
                     prefix, efile, eobj);
            return 1;
        }
        if (p == NULL)
            return 0;
    }
}

/* Virtual dataset sources and external storage files of dataset d (in HDF5 file fname). */
static int storage_reads(hid_t d, const char *fname, const struct stat *target, char *why,
                         size_t len)
{
    char dir[4096], name[4096];
    int hit = 0;
    hid_t dcpl = H5Dget_create_plist(d);
    if (dcpl < 0)
        return 0;
    dir_of(fname, dir, sizeof dir);
    size_t nv = 0;
    if (H5Pget_layout(dcpl) == H5D_VIRTUAL && H5Pget_virtual_count(dcpl, &nv) >= 0)
        for (size_t i = 0; i < nv && !hit; i++)
            if (H5Pget_virtual_filename(dcpl, i, name, sizeof name) > 0 &&
                names_target(strcmp(name, ".") == 0 ? fname : name, dir, target)) {
                hit = 1;
                snprintf(why, len, "the input is a virtual dataset with a source in it (%s)", name);
            }
    int ne = H5Pget_external_count(dcpl);
    for (int i = 0; i < ne && !hit; i++) {
        off_t off;
        hsize_t size;
        if (H5Pget_external(dcpl, (unsigned)i, sizeof name, name, &off, &size) >= 0 &&
            names_target(name, dir, target)) {
            hit = 1;
            snprintf(why, len, "the input dataset's external storage is in it (%s)", name);
        }
    }
    H5Pclose(dcpl);
    return hit;
}

int lapse_input_reads_file(const char *file, const char *dataset, const struct stat *target,
                           char *why, size_t len)
{
    char fname[4096];
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, fid = H5I_INVALID_HID;
    int hit = names_target(file, NULL, target);
    if (hit)
        snprintf(why, len, "the output file is the input file");
    lapse_h5_init();
    if (hit || H5Fis_hdf5(file) <= 0 || (f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        goto cleanup;
    hit = elink_reads(f, file, dataset, target, why, len);
    if (hit || (d = H5Dopen2(f, dataset, H5P_DEFAULT)) < 0)
        goto cleanup;
    /* the file the dataset is in, as the library resolved the links to it */
    if ((fid = H5Iget_file_id(d)) >= 0 && H5Fget_name(fid, fname, sizeof fname) > 0) {
        if ((hit = names_target(fname, NULL, target)) != 0)
            snprintf(why, len, "the input dataset is in it (reached as %s)", fname);
        else
            hit = storage_reads(d, fname, target, why, len);
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
