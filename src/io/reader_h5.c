/*
 * io/reader_h5.c - the HDF5 input backend: probing a file for a usable [t,z,y,x] / [t,y,x]
 * dataset and reading boxes of one timepoint from it (see reader.h for the backend contract).
 *
 * Every rank opens the input on its own (default sec2 driver, read-only); reads are independent
 * hyperslab H5Dread calls into the caller's buffer, converted to the native memory type of the
 * dtype. The probe turns every way a file can be unusable into one LAPSE_EINPUT message. The
 * dataset-name syntax check is in reader_h5_path.c (no HDF5 calls: the fuzz build links it).
 */
#include "io/reader.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5util.h"

/* An open input: the handle behind lapse_reader_t. */
typedef struct {
    hid_t file, dset, fspace;
    int ndims;
    lapse_dtype_t dtype;
} h5_input_t;

/* Name of an HDF5 datatype in numpy style ("int32", "float64", "compound"...). */
static void type_name(hid_t type, char *buf, size_t len)
{
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    switch (cls) {
    case H5T_INTEGER:
        snprintf(buf, len, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", size * 8);
        return;
    case H5T_FLOAT:
        snprintf(buf, len, "float%zu", size * 8);
        return;
    case H5T_STRING:
        snprintf(buf, len, "string");
        return;
    case H5T_COMPOUND:
        snprintf(buf, len, "compound");
        return;
    case H5T_ENUM:
        snprintf(buf, len, "enum");
        return;
    case H5T_ARRAY:
        snprintf(buf, len, "array");
        return;
    case H5T_VLEN:
        snprintf(buf, len, "vlen");
        return;
    case H5T_BITFIELD:
        snprintf(buf, len, "bitfield");
        return;
    case H5T_OPAQUE:
        snprintf(buf, len, "opaque");
        return;
    case H5T_REFERENCE:
        snprintf(buf, len, "reference");
        return;
    default:
        snprintf(buf, len, "unknown");
        return;
    }
}

/* Collects up to 10 dataset paths for the "not found" message. */
typedef struct {
    char list[1024];
    int n;
} dset_list_t;

static herr_t list_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    dset_list_t *l = data;
    (void)obj;
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    if (l->n == 10) {
        size_t len = strlen(l->list);
        snprintf(l->list + len, sizeof l->list - len, ", ...");
        return 1; /* stop */
    }
    size_t len = strlen(l->list);
    snprintf(l->list + len, sizeof l->list - len, "%s/%s", l->n ? ", " : "", name);
    l->n++;
    return 0;
}

/* 1 when every component of path (absolute or relative to the root) exists as a link. */
static int path_exists(hid_t file, const char *path)
{
    char buf[LAPSE_NAME_MAX + 2];
    if (strlen(path) > LAPSE_NAME_MAX)
        return 0;
    snprintf(buf, sizeof buf, "%s%s", path[0] == '/' ? "" : "/", path);
    size_t len = strlen(buf);
    if (len == 1)
        return 1; /* the root group */
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            htri_t e = H5Lexists(file, buf, H5P_DEFAULT);
            buf[i] = c;
            if (e <= 0)
                return 0;
        }
    }
    return 1;
}

/* Check the dataset's rank, extent and type and fill *info. */
static lapse_status_t check_dset(hid_t dset, const char *file, const char *name,
                                 lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, type = H5I_INVALID_HID;
    hsize_t dims[H5S_MAX_RANK];
    char tname[32];

    LAPSE_H5ID(space, H5Dget_space(dset));
    int nd = H5Sget_simple_extent_ndims(space);
    LAPSE_H5(nd);
    if (nd != 3 && nd != 4)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: dataset %s has %d dimensions, expected [t,z,y,x] or [t,y,x] (4 or 3)", file,
                   name, nd);
    LAPSE_H5(H5Sget_simple_extent_dims(space, dims, NULL));
    for (int i = 0; i < nd; i++) {
        if (dims[i] == 0)
            LAPSE_FAIL(LAPSE_EINPUT, "%s: dataset %s is empty (dimension %d has size 0)", file,
                       name, i);
    }
    LAPSE_H5ID(type, H5Dget_type(dset));
    lapse_dtype_t dt;
    if (lapse_h5_dtype(type, &dt) != 0 || lapse_dtype_size(dt) == 8 || dt == LAPSE_DT_U32) {
        type_name(type, tname, sizeof tname);
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: dataset %s: type %s is not supported (use uint8, uint16 or float32)", file,
                   name, tname);
    }
    info->ndims = nd;
    info->ntp = (int64_t)dims[0];
    info->shape[0] = nd == 4 ? (int64_t)dims[1] : 1;
    info->shape[1] = (int64_t)dims[nd - 2];
    info->shape[2] = (int64_t)dims[nd - 1];
    info->dtype = dt;
cleanup:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* Every filter of dataset d (compression, shuffle, checksums...) can be decoded by this HDF5
 * (built in, or a plugin found on HDF5_PLUGIN_PATH): else LAPSE_EINPUT naming the filter, rather
 * than a deep HDF5 trace at the first read. */
static lapse_status_t check_filters(hid_t d, const char *file, const char *dset)
{
    lapse_status_t st = LAPSE_OK;
    hid_t dcpl = H5I_INVALID_HID;
    LAPSE_H5ID(dcpl, H5Dget_create_plist(d));
    int n = H5Pget_nfilters(dcpl);
    LAPSE_H5(n);
    for (int i = 0; i < n; i++) {
        unsigned flags = 0, conf = 0;
        size_t ncd = 0;
        char name[128] = "";
        H5Z_filter_t id =
            H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, NULL, sizeof name, name, &conf);
        LAPSE_H5(id);
        htri_t avail = H5Zfilter_avail(id);
        H5Eclear2(H5E_DEFAULT);
        if (avail <= 0)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: dataset %s uses HDF5 filter %d (%s), which is not available here: "
                       "install its plugin and set HDF5_PLUGIN_PATH, or rewrite the input "
                       "without it (e.g. h5repack -f NONE)",
                       file, dset, (int)id, name[0] ? name : "unnamed");
    }
cleanup:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return st;
}

/* Open file read-only and dataset dset, with every failure turned into a LAPSE_EINPUT message.
 * On success *file_out and *dset_out are open and *info is filled. */
static lapse_status_t open_input(const char *file, const char *dset, hid_t *file_out,
                                 hid_t *dset_out, lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID;
    struct stat sb;
    lapse_input_info_t tmp = {0};

    lapse_h5_init();
    info->failed_part = 1;
    if (file == NULL || dset == NULL || dset[0] == '\0')
        LAPSE_FAIL(LAPSE_EINPUT, "input file and dataset must be given");
    if (stat(file, &sb) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", file,
                   errno == ENOENT ? "no such file" : strerror(errno));
    if (!S_ISREG(sb.st_mode))
        LAPSE_FAIL(LAPSE_EINPUT, "%s: not a regular file", file);
    if (access(file, R_OK) != 0) /* else H5Fis_hdf5 says "not an HDF5 file" */
        LAPSE_FAIL(LAPSE_EINPUT, "%s: cannot be read: %s", file, strerror(errno));
    htri_t is = H5Fis_hdf5(file);
    H5Eclear2(H5E_DEFAULT);
    if (is <= 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: not an HDF5 file", file);
    f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: cannot be opened as HDF5 (truncated or damaged file?)", file);
    }
    info->failed_part = 2;
    if (!path_exists(f, dset)) {
        dset_list_t l = {"", 0};
        H5Eclear2(H5E_DEFAULT);
        if (H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, list_cb, &l, H5O_INFO_BASIC) < 0)
            snprintf(l.list, sizeof l.list, "(cannot list them)");
        H5Eclear2(H5E_DEFAULT);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: dataset %s not found; datasets in the file: %s", file, dset,
                   l.n ? l.list : "none");
    }
    H5O_info_t oi;
    if (H5Oget_info_by_name2(f, dset, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        H5Eclear2(H5E_DEFAULT);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s cannot be read (damaged file or dangling link?)", file,
                   dset);
    }
    if (oi.type != H5O_TYPE_DATASET)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s is a %s, not a dataset", file, dset,
                   oi.type == H5O_TYPE_GROUP ? "group" : "named datatype");
    d = H5Dopen2(f, dset, H5P_DEFAULT);
    if (d < 0) {
        H5Eclear2(H5E_DEFAULT);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: dataset %s cannot be opened (damaged file?)", file, dset);
    }
    st = check_dset(d, file, dset, &tmp);
    if (st == LAPSE_OK)
        st = check_filters(d, file, dset);
    if (st == LAPSE_EH5) {
        lapse_err_clear();
        LAPSE_FAIL(LAPSE_EINPUT, "%s: dataset %s cannot be read (damaged file?)", file, dset);
    }
    LAPSE_TRY(st);
    *file_out = f;
    *dset_out = d;
    *info = tmp;
    info->failed_part = 0;
    return LAPSE_OK;
cleanup:
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

static lapse_status_t h5_probe(const char *file, const char *dset, lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID;
    lapse_input_info_t tmp = {0};

    LAPSE_TRY(open_input(file, dset, &f, &d, &tmp));
    LAPSE_H5(H5Dclose(d));
    d = H5I_INVALID_HID;
    LAPSE_H5(H5Fclose(f));
    f = H5I_INVALID_HID;
cleanup:
    if (st == LAPSE_OK)
        *info = tmp;
    else
        info->failed_part = tmp.failed_part;
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    return st;
}

static void h5_close(void *handle)
{
    h5_input_t *in = handle;
    if (in == NULL)
        return;
    if (in->fspace >= 0)
        H5Sclose(in->fspace);
    if (in->dset >= 0)
        H5Dclose(in->dset);
    if (in->file >= 0)
        H5Fclose(in->file);
    free(in);
}

static lapse_status_t h5_open(const char *file, const char *dset, void **handle,
                              lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    lapse_input_info_t tmp = {0};
    h5_input_t *in = calloc(1, sizeof *in);
    LAPSE_ALLOC(in);
    in->file = in->dset = in->fspace = H5I_INVALID_HID;
    LAPSE_TRY(open_input(file, dset, &in->file, &in->dset, &tmp));
    LAPSE_H5ID(in->fspace, H5Dget_space(in->dset));
    in->ndims = tmp.ndims;
    in->dtype = tmp.dtype;
    *handle = in;
    *info = tmp;
    return LAPSE_OK;
cleanup:
    h5_close(in);
    return st;
}

static lapse_status_t h5_read(void *handle, int64_t t, const lapse_box_t *box, void *dst)
{
    lapse_status_t st = LAPSE_OK;
    h5_input_t *in = handle;
    hid_t mspace = H5I_INVALID_HID;
    hsize_t start[4], count[4];
    int nd = in->ndims;

    start[0] = (hsize_t)t;
    count[0] = 1;
    for (int a = 4 - nd; a < 3; a++) {
        int i = a - (4 - nd) + 1;
        start[i] = (hsize_t)box->off[a];
        count[i] = (hsize_t)box->dim[a];
    }
    LAPSE_H5(H5Sselect_hyperslab(in->fspace, H5S_SELECT_SET, start, NULL, count, NULL));
    LAPSE_H5ID(mspace, H5Screate_simple(nd, count, NULL));
    LAPSE_H5(H5Dread(in->dset, lapse_h5_mem_type(in->dtype), mspace, in->fspace, H5P_DEFAULT, dst));
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    return st;
}

/* A regular file with the HDF5 signature. */
static int h5_sniff(const char *file)
{
    struct stat sb;
    if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    lapse_h5_init();
    htri_t is = H5Fis_hdf5(file);
    H5Eclear2(H5E_DEFAULT);
    return is > 0;
}

static const char *const h5_suffixes[] = {".h5", ".hdf5", ".he5", NULL};

const lapse_reader_backend_t lapse_reader_hdf5 = {
    .name = "hdf5",
    .suffixes = h5_suffixes,
    .needs_dataset = 1,
    .thread_safe = 0, /* HDF5 1.10 as packaged: not built thread-safe */
    .check_dataset = lapse_reader_h5_check_dataset,
    .sniff = h5_sniff,
    .probe = h5_probe,
    .open = h5_open,
    .read = h5_read,
    .close = h5_close,
};
