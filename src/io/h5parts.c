/*
 * h5parts.c - output.parts: timepoints: the per-timepoint part files of an output, their
 * staging directory, and the virtual-dataset mappings onto them (see h5parts.h).
 *
 * Everything here is serial: part files use HDF5's default (sec2) driver, and the directory
 * operations are rank 0's. h5out.c decides who calls what and when.
 */
#define _GNU_SOURCE /* fallocate */
#include "io/h5parts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/falloc.h>
#endif

#include "h5util.h"

void lapse_parts_dir(const char *file, int final, char *buf, size_t len)
{
    snprintf(buf, len, "%s.parts%s", file, final ? "" : ".creating");
}

void lapse_parts_file(const char *dir, int64_t t, char *buf, size_t len)
{
    snprintf(buf, len, "%s/t%06lld.h5", dir, (long long)t);
}

lapse_status_t lapse_parts_new_token(char tok[LAPSE_PARTS_TOKEN_LEN])
{
    unsigned char b[(LAPSE_PARTS_TOKEN_LEN - 1) / 2];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return lapse_fail(LAPSE_ERUNTIME, "getrandom for the parts token failed: %s",
                              strerror(errno));
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(tok + 2 * i, 3, "%02x", b[i]);
    return LAPSE_OK;
}

/* Is name a part's file name (t, then digits only, then .h5), or the staging name of one that
 * a growth makes (the same, then .creating: lapse_parts_grow)? */
static int is_part_name(const char *name)
{
    static const char staged[] = ".creating";
    size_t n = strlen(name), i = 1;
    if (n > sizeof staged - 1 && strcmp(name + n - (sizeof staged - 1), staged) == 0)
        n -= sizeof staged - 1;
    if (n < 5 || name[0] != 't' || strncmp(name + n - 3, ".h5", 3) != 0)
        return 0;
    for (; i < n - 3; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    return 1;
}

/* Remove the parts in dir, then dir itself when it is then empty. A missing dir is fine; a
 * symbolic link or a non-directory is refused (LAPSE_ECONFIG), also when swapped in after the
 * check (the directory is opened with O_NOFOLLOW and emptied through that descriptor). *left
 * (may be NULL) is set to 1 when other files kept dir in place. */
static lapse_status_t remove_parts_dir(const char *dir, int *left)
{
    lapse_status_t st = LAPSE_OK;
    DIR *d = NULL;
    if (left)
        *left = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return LAPSE_OK;
        if (errno == ENOTDIR || errno == ELOOP)
            return lapse_fail(LAPSE_ECONFIG,
                              "%s is not a directory (a symbolic link or a file where lapse keeps "
                              "an output's parts); refusing to touch it",
                              dir);
        return lapse_fail(LAPSE_EIO, "open(%s) failed: %s", dir, strerror(errno));
    }
    if ((d = fdopendir(fd)) == NULL) {
        close(fd);
        return lapse_fail(LAPSE_EIO, "fdopendir(%s) failed: %s", dir, strerror(errno));
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_part_name(e->d_name))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT)
            LAPSE_FAIL(LAPSE_EIO, "cannot remove the old part %s/%s: %s", dir, e->d_name,
                       strerror(errno));
    }
    if (rmdir(dir) != 0) {
        if (errno != ENOTEMPTY && errno != EEXIST)
            LAPSE_FAIL(LAPSE_EIO, "rmdir(%s) failed: %s", dir, strerror(errno));
        if (left)
            *left = 1;
    }
cleanup:
    closedir(d); /* closes fd */
    return st;
}

/* The parts token of the first part in dir (by name order of t<digits>.h5 found) into tok ("" when
 * dir holds no readable part). */
static void dir_token(const char *dir, char tok[LAPSE_PARTS_TOKEN_LEN])
{
    char path[4400];
    tok[0] = '\0';
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && !tok[0]) {
        if (!is_part_name(e->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0) {
            lapse_h5_read_str_attr(f, LAPSE_PARTS_TOKEN_ATTR, tok, LAPSE_PARTS_TOKEN_LEN);
            H5Fclose(f);
        }
        H5Eclear2(H5E_DEFAULT);
    }
    closedir(d);
}

/* Is what is at path absent (0), a real directory (1), or something else (-1)? */
static int dir_kind(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return 0;
    return S_ISDIR(sb.st_mode) ? 1 : -1;
}

lapse_status_t lapse_parts_precheck(const char *file, const char *replaced_token, int want_parts)
{
    char fin[4200], old[4300], stage[4200], tok[LAPSE_PARTS_TOKEN_LEN];
    lapse_parts_dir(file, 1, fin, sizeof fin);
    lapse_parts_dir(file, 0, stage, sizeof stage);
    snprintf(old, sizeof old, "%s.old", fin);
    const char *paths[3] = {fin, old, stage};
    if (!want_parts)
        return LAPSE_OK; /* nothing of these is touched, except a replaced output's own parts */
    for (int i = 0; i < 3; i++)
        if (dir_kind(paths[i]) < 0)
            return lapse_fail(LAPSE_ECONFIG,
                              "%s is not a directory (a symbolic link or a file where lapse keeps "
                              "an output's parts); move or remove it",
                              paths[i]);
    if (dir_kind(fin) == 0)
        return LAPSE_OK;
    dir_token(fin, tok);
    if (replaced_token == NULL || !replaced_token[0] || strcmp(tok, replaced_token) != 0)
        return lapse_fail(LAPSE_ECONFIG,
                          "%s exists and does not hold the parts of the output being replaced "
                          "(another output's parts, for example of a file renamed since, whose "
                          "virtual datasets still read them); move or remove it",
                          fin);
    return LAPSE_OK;
}

lapse_status_t lapse_parts_resume(const char *file, const char *token, int *done)
{
    char stage[4200], tok[LAPSE_PARTS_TOKEN_LEN];
    *done = 0;
    lapse_parts_dir(file, 0, stage, sizeof stage);
    if (dir_kind(stage) != 1)
        return LAPSE_OK;
    dir_token(stage, tok);
    if (!tok[0] || strcmp(tok, token) != 0)
        return LAPSE_OK; /* a stale staging directory of another creation: the next one clears it */
    lapse_status_t st = lapse_parts_commit(file);
    *done = st == LAPSE_OK;
    return st;
}

lapse_status_t lapse_parts_remove_replaced(const char *file, const char *token)
{
    char fin[4200], tok[LAPSE_PARTS_TOKEN_LEN];
    int left = 0;
    lapse_parts_dir(file, 1, fin, sizeof fin);
    if (!token || !token[0] || dir_kind(fin) != 1)
        return LAPSE_OK;
    dir_token(fin, tok);
    if (strcmp(tok, token) != 0)
        return LAPSE_OK; /* not the replaced output's: not ours to remove */
    lapse_status_t st = remove_parts_dir(fin, &left);
    if (st == LAPSE_OK && left)
        fprintf(stderr,
                "lapse: warning: %s kept files that are not lapse parts; remove it "
                "yourself\n",
                fin);
    return st;
}

lapse_status_t lapse_parts_stage(const char *file)
{
    char dir[4200];
    int left = 0;
    lapse_parts_dir(file, 0, dir, sizeof dir);
    lapse_status_t st = remove_parts_dir(dir, &left);
    if (st != LAPSE_OK)
        return st;
    if (left)
        return lapse_fail(LAPSE_ECONFIG,
                          "the staging directory %s holds files that are not lapse parts; "
                          "remove it",
                          dir);
    if (mkdir(dir, 0755) != 0)
        return lapse_fail(LAPSE_EIO, "cannot create the parts directory %s: %s", dir,
                          strerror(errno));
    return LAPSE_OK;
}

/* Reserve the blocks of the file at path (fallocate, keeping its size): 0, or LAPSE_EIO when
 * the file system cannot hold it. */
static lapse_status_t reserve_file(const char *path)
{
    lapse_status_t st = LAPSE_OK;
    const char *env = getenv("LAPSE_FALLOCATE");
    struct stat sb;
    int fd = -1;
    if (env && strcmp(env, "0") == 0)
        return LAPSE_OK;
#ifdef FALLOC_FL_KEEP_SIZE
    if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &sb) != 0)
        LAPSE_FAIL(LAPSE_EIO, "cannot open the part %s to reserve its space: %s", path,
                   strerror(errno));
    while (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, sb.st_size) != 0) {
        int err = errno;
        if (err == EINTR)
            continue;
        if (err == EOPNOTSUPP || err == ENOSYS || err == EINVAL)
            break; /* the file system cannot reserve: the file stays sparse */
        LAPSE_FAIL(LAPSE_EIO, "fallocate of %lld bytes for the part %s failed: %s%s",
                   (long long)sb.st_size, path, strerror(err),
                   err == ENOSPC || err == EDQUOT ? " (the file system cannot hold the output)"
                                                  : "");
    }
cleanup:
    if (fd >= 0)
        close(fd);
#else
    (void)path, (void)sb, (void)fd;
#endif
    return st;
}

/* Write the string attribute name = value on obj. */
static lapse_status_t put_str(hid_t obj, const char *name, const char *value)
{
    lapse_status_t st = LAPSE_OK;
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    LAPSE_H5ID(type, lapse_h5_str_type(strlen(value) + 1));
    LAPSE_H5ID(space, H5Screate(H5S_SCALAR));
    LAPSE_H5ID(attr, H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
    LAPSE_H5(H5Awrite(attr, type, value));
cleanup:
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return st;
}

/* Create dataset s of a part in f: [1, ...] chunked [1, tile], allocated early, never filled. */
static lapse_status_t create_part_dset(hid_t f, const lapse_dset_spec_t *s)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, lcpl = H5I_INVALID_HID,
          d = H5I_INVALID_HID;
    hsize_t dims[4], chunk[4];
    double zero = 0;
    if (s->ndims != 3 && s->ndims != 4)
        LAPSE_FAIL(LAPSE_ERUNTIME, "dataset %s: %d dimensions (expected 3 or 4)", s->path,
                   s->ndims);
    for (int i = 0; i < s->ndims; i++) {
        dims[i] = i == 0 ? 1 : (hsize_t)s->dims[i];
        chunk[i] = i == 0 || s->chunk[i] < 1 ? 1 : (hsize_t)s->chunk[i];
        if (chunk[i] > dims[i] && dims[i] > 0)
            chunk[i] = dims[i];
    }
    LAPSE_H5ID(space, H5Screate_simple(s->ndims, dims, NULL));
    LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    LAPSE_H5(H5Pset_chunk(dcpl, s->ndims, chunk));
    LAPSE_H5(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    LAPSE_H5(H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &zero));
    LAPSE_H5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
    LAPSE_H5ID(lcpl, H5Pcreate(H5P_LINK_CREATE));
    LAPSE_H5(H5Pset_create_intermediate_group(lcpl, 1));
    LAPSE_H5ID(
        d, H5Dcreate2(f, s->path, lapse_h5_file_type(s->dtype), space, lcpl, dcpl, H5P_DEFAULT));
cleanup:
    if (d >= 0)
        H5Dclose(d);
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* lapse_parts_create of part t at path (a new file). */
static lapse_status_t create_at(const char *path, int64_t t, const lapse_dset_spec_t *specs,
                                const int *results, int nspecs, const char *token)
{
    lapse_status_t st = LAPSE_OK;
    hid_t f = H5I_INVALID_HID, fapl = H5I_INVALID_HID, space = H5I_INVALID_HID,
          attr = H5I_INVALID_HID;
    int created = 0;
    LAPSE_H5ID(fapl, H5Pcreate(H5P_FILE_ACCESS));
    LAPSE_H5(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST));
    LAPSE_H5ID(f, H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, fapl));
    created = 1;
    for (int k = 0; k < nspecs; k++)
        if (results[k])
            LAPSE_TRY(create_part_dset(f, &specs[k]));
    LAPSE_TRY(put_str(f, LAPSE_PARTS_TOKEN_ATTR, token));
    LAPSE_H5ID(space, H5Screate(H5S_SCALAR));
    LAPSE_H5ID(attr,
               H5Acreate2(f, LAPSE_PARTS_T_ATTR, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT));
    LAPSE_H5(H5Awrite(attr, H5T_NATIVE_INT64, &t));
    LAPSE_H5(H5Aclose(attr));
    attr = H5I_INVALID_HID;
    LAPSE_H5(H5Fclose(f));
    f = H5I_INVALID_HID;
    st = reserve_file(path);
cleanup:
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    if (f >= 0)
        H5Fclose(f);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (st != LAPSE_OK) {
        st = lapse_fail_wrap(st, "making the part %s failed", path);
        /* made here (H5F_ACC_EXCL) and unfinished: gone, so that the next run finds it missing
         * (and makes it again), not damaged */
        if (created)
            unlink(path);
    }
    return st;
}

lapse_status_t lapse_parts_create(const char *dir, int64_t t, const lapse_dset_spec_t *specs,
                                  const int *results, int nspecs, const char *token)
{
    char path[4400];
    lapse_parts_file(dir, t, path, sizeof path);
    return create_at(path, t, specs, results, nspecs, token);
}

lapse_status_t lapse_parts_sync(const char *path, int dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return lapse_fail(LAPSE_EIO, "cannot open %s to sync it: %s", path, strerror(errno));
    int rc;
    while ((rc = fsync(fd)) != 0 && errno == EINTR)
        ;
    int err = errno;
    close(fd);
    if (rc != 0 && !(dir && (err == EINVAL || err == EBADF))) /* a directory may not sync */
        return lapse_fail(LAPSE_EIO, "fsync(%s) failed: %s", path, strerror(err));
    return LAPSE_OK;
}

lapse_status_t lapse_parts_grow(const char *file, int64_t t, const lapse_dset_spec_t *specs,
                                const int *results, int nspecs, const char *token)
{
    lapse_status_t st = LAPSE_OK;
    char dir[4200], path[4400], stage[4500];
    struct stat sb;
    lapse_parts_dir(file, 1, dir, sizeof dir);
    lapse_parts_file(dir, t, path, sizeof path);
    snprintf(stage, sizeof stage, "%s.creating", path);
    if (lstat(stage, &sb) == 0 && !S_ISREG(sb.st_mode))
        LAPSE_FAIL(LAPSE_ECONFIG,
                   "%s (the staging name of a new part) is not a regular file; refusing to "
                   "touch it (remove it if it is not yours)",
                   stage);
    if (unlink(stage) != 0 && errno != ENOENT) /* left by a killed growth */
        LAPSE_FAIL(LAPSE_EIO, "cannot remove the stale staged part %s: %s", stage, strerror(errno));
    LAPSE_TRY(create_at(stage, t, specs, results, nspecs, token));
    /* on the disk before its name: after a crash of the node a part named in place is whole,
     * never one that the output maps but cannot open (lapse_parts_check would then refuse the
     * output, as another output's part) */
    if ((st = lapse_parts_sync(stage, 0)) != LAPSE_OK) {
        unlink(stage);
        goto cleanup;
    }
    lapse_fault_point("grow-part"); /* a kill with a new part made, not yet named */
    if (rename(stage, path) != 0) {
        st = lapse_fail(LAPSE_EIO, "rename(%s, %s) failed: %s", stage, path, strerror(errno));
        unlink(stage);
    }
cleanup:
    return st;
}

/* Copy src into dst doubling every '%' (VDS source names are printf-like patterns): 0, or -1
 * when it does not fit. */
static int escape_pct(const char *src, char *dst, size_t len)
{
    size_t n = 0;
    for (const char *p = src; *p; p++) {
        if (n + 3 > len)
            return -1;
        if (*p == '%')
            dst[n++] = '%';
        dst[n++] = *p;
    }
    dst[n] = '\0';
    return 0;
}

lapse_status_t lapse_parts_vds_dcpl(hid_t dcpl, const char *file, const lapse_dset_spec_t *s)
{
    lapse_status_t st = LAPSE_OK;
    hid_t vspace = H5I_INVALID_HID, sspace = H5I_INVALID_HID;
    hsize_t dims[4], sdims[4], start[4] = {0}, count[4];
    char dir[4200], src[4400], esc_file[8800], esc_dset[2 * LAPSE_NAME_MAX + 2];
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    lapse_parts_dir(base, 1, dir, sizeof dir);
    for (int i = 0; i < s->ndims; i++) {
        dims[i] = (hsize_t)s->dims[i];
        sdims[i] = count[i] = i == 0 ? 1 : dims[i];
    }
    if (escape_pct(s->path, esc_dset, sizeof esc_dset) != 0)
        LAPSE_FAIL(LAPSE_ECONFIG, "dataset name %s is too long", s->path);
    LAPSE_H5ID(vspace, H5Screate_simple(s->ndims, dims, NULL));
    LAPSE_H5ID(sspace, H5Screate_simple(s->ndims, sdims, NULL));
    for (int64_t t = 0; t < s->dims[0]; t++) {
        lapse_parts_file(dir, t, src, sizeof src);
        if (escape_pct(src, esc_file, sizeof esc_file) != 0)
            LAPSE_FAIL(LAPSE_ECONFIG, "output file name %s is too long", file);
        start[0] = (hsize_t)t;
        LAPSE_H5(H5Sselect_hyperslab(vspace, H5S_SELECT_SET, start, NULL, count, NULL));
        LAPSE_H5(H5Pset_virtual(dcpl, vspace, esc_file, esc_dset, sspace));
    }
cleanup:
    if (sspace >= 0)
        H5Sclose(sspace);
    if (vspace >= 0)
        H5Sclose(vspace);
    return st;
}

lapse_status_t lapse_parts_commit(const char *file)
{
    char fin[4200], stage[4200], old[4300];
    int left = 0;
    struct stat sb;
    lapse_parts_dir(file, 1, fin, sizeof fin);
    lapse_parts_dir(file, 0, stage, sizeof stage);
    snprintf(old, sizeof old, "%s.old", fin);
    lapse_status_t st = remove_parts_dir(old, NULL); /* left by a commit killed before its end */
    if (st != LAPSE_OK)
        return st;
    if (lstat(fin, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return lapse_fail(LAPSE_ECONFIG,
                              "%s is not a directory; cannot put the output's parts there", fin);
        if (rename(fin, old) != 0)
            return lapse_fail(LAPSE_EIO, "rename(%s, %s) failed: %s", fin, old, strerror(errno));
    }
    if (rename(stage, fin) != 0)
        return lapse_fail(LAPSE_EIO, "rename(%s, %s) failed: %s", stage, fin, strerror(errno));
    /* the output is complete and consistent now: what is left of the old parts only takes
     * space, so failing to remove it is a warning */
    st = remove_parts_dir(old, &left);
    if (st != LAPSE_OK || left) {
        fprintf(stderr,
                "lapse: warning: %s (the replaced output's parts) could not be removed%s%s; "
                "remove it yourself\n",
                old, st != LAPSE_OK ? ": " : "", st != LAPSE_OK ? lapse_errmsg() : "");
        lapse_err_clear();
    }
    return LAPSE_OK;
}

void lapse_parts_discard(const char *file)
{
    char stage[4200];
    lapse_parts_dir(file, 0, stage, sizeof stage);
    lapse_status_t st = remove_parts_dir(stage, NULL);
    (void)st;
}

lapse_status_t lapse_parts_open(const char *file, int64_t t, hid_t *fid)
{
    lapse_status_t st = LAPSE_OK;
    char dir[4200], path[4400];
    lapse_parts_dir(file, 1, dir, sizeof dir);
    lapse_parts_file(dir, t, path, sizeof path);
    *fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*fid < 0)
        st = lapse_h5_fail("H5Fopen(part, read-only)", __FILE__, __LINE__);
    if (st != LAPSE_OK)
        st = lapse_fail_wrap(st, "opening the part %s failed", path);
    return st;
}

lapse_status_t lapse_parts_check(const char *file, const char *token, int64_t ntp,
                                 const unsigned char *absent_ok)
{
    lapse_status_t st = LAPSE_OK;
    char dir[4200], path[4400], got[LAPSE_PARTS_TOKEN_LEN + 8];
    const char *hint = "set output.mode: overwrite to make the output again";
    lapse_parts_dir(file, 1, dir, sizeof dir);
    for (int64_t t = 0; t < ntp; t++) {
        lapse_parts_file(dir, t, path, sizeof path);
        struct stat sb;
        if (lstat(path, &sb) != 0) {
            if (errno == ENOENT && absent_ok && absent_ok[t])
                continue;
            if (errno == ENOENT)
                LAPSE_FAIL(LAPSE_EINPUT,
                           "the part %s of output %s (timepoint %lld) is missing; "
                           "output.mode: update with --timepoints %lld (and the new timepoints "
                           "too, when the input has more than the output) makes it anew and "
                           "computes it again, or %s",
                           path, file, (long long)t, (long long)t, hint);
            LAPSE_FAIL(LAPSE_EINPUT, "the part %s of output %s cannot be examined: %s; %s", path,
                       file, strerror(errno), hint);
        }
        if (!S_ISREG(sb.st_mode))
            LAPSE_FAIL(LAPSE_EINPUT, "the part %s of output %s is not a regular file; %s", path,
                       file, hint);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        got[0] = '\0';
        if (f >= 0) {
            lapse_h5_read_str_attr(f, LAPSE_PARTS_TOKEN_ATTR, got, sizeof got);
            H5Fclose(f);
        }
        H5Eclear2(H5E_DEFAULT);
        if (strcmp(got, token) != 0)
            LAPSE_FAIL(LAPSE_EINPUT, "the part %s is not a part of output %s (%s); %s", path, file,
                       f < 0 ? "not readable as HDF5" : "its parts token differs", hint);
    }
cleanup:
    return st;
}
