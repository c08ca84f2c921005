/*
 * io/reader_h5.c - the HDF5 input backend: probing a file for a usable [t,z,y,x] / [t,y,x]
 * dataset and reading boxes of one timepoint from it (see reader.h for the backend contract).
 *
 * Every rank opens the input on its own (default sec2 driver, read-only); reads are independent
 * hyperslab H5Dread calls into the caller's buffer, converted to the native memory type of the
 * dtype. The probe turns every way a file can be unusable into one LAPSE_EINPUT message. The
 * dataset-name syntax check is in reader_h5_path.c (no HDF5 calls: the fuzz build links it).
 * A [t,c,z,y,x] dataset is read one channel at a time (input.channel). A BigDataViewer file
 * (/tTTTTT/sSS/L/cells, chosen by input.format: bdv or input.setup, or found when no dataset is
 * given and the file has /s00/resolutions and /t00000) is read at level 0 of one setup, its
 * int16 cells taken as the uint16 they store (as BigDataViewer does). The voxel size is the
 * dataset's element_size_um attribute (z, y, x in micrometres) when it has one.
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
#include "io/layout.h"

/* A virtual dataset on the chain from the input's: its file (device, inode) and object address. */
typedef struct {
    dev_t dev;
    ino_t ino;
    haddr_t addr;
} virt_key_t;

/* An open input: the handle behind lapse_reader_t. */
typedef struct {
    hid_t file, dset, fspace;
    int ndims; /* of the dataset: 3, 4, 5 ([t,c,z,y,x]); 3 for BigDataViewer's [z,y,x] */
    lapse_dtype_t dtype;
    hid_t memtype;  /* read with (a predefined type) */
    int channel;    /* of a 5-D dataset */
    int bdv, setup; /* BigDataViewer: dset is the cells of timepoint cur_t */
    int64_t cur_t;
    /* a virtual dataset (for example a lapse output with output.parts): dset was opened for
     * timepoint cur_t, whose source files exist (virt_switch) */
    int virt;
    char name[1024]; /* its path in file */
    virt_key_t *ok;  /* the virtual datasets below it whose trees passed virt_walk */
    int nok, cap;
    int64_t walk_t; /* the timepoint virt_switch is checking (for messages) */
    int64_t shape[3];
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

/* Why elink_guard refused the last external link it was asked about ("" when none). */
static _Thread_local char elink_why[600];

/* HDF5's external link traversal callback: refuse (-1) a link whose target file, at any place
 * HDF5 looks for it (the name as stored, in the directories of HDF5_EXT_PREFIX and in the linking
 * file's directory, also by its last component), exists but is not a regular file: HDF5 would
 * open a FIFO and wait on it for ever (SIGTERM does not end that wait). */
static herr_t elink_guard(const char *parent_file, const char *parent_group, const char *child_file,
                          const char *child_obj, unsigned *acc_flags, hid_t fapl, void *op)
{
    char dirs[4096], path[8400];
    const char *base = strrchr(child_file, '/'), *slash = strrchr(parent_file, '/');
    const char *prefix = getenv("HDF5_EXT_PREFIX");
    (void)parent_group, (void)child_obj, (void)acc_flags, (void)fapl, (void)op;
    base = base ? base + 1 : child_file;
    /* the candidate directories, ':' separated: "" (the name as stored), the prefixes, the
     * linking file's own directory */
    snprintf(dirs, sizeof dirs, ":%s:%.*s", prefix ? prefix : "",
             slash ? (int)(slash - parent_file) : 1, slash ? parent_file : ".");
    for (const char *d = dirs;; d++) {
        size_t n = strcspn(d, ":");
        for (int k = 0; k < 2; k++) {
            struct stat sb;
            const char *name = k ? base : child_file;
            if (n == 0 && k == 1)
                continue;
            snprintf(path, sizeof path, "%.*s%s%s", (int)n, d, n ? "/" : "", name);
            if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
                snprintf(elink_why, sizeof elink_why,
                         ": an external link points to %.500s, which is not a regular file", path);
                return -1;
            }
        }
        d += n;
        if (*d == '\0')
            break;
    }
    return 0;
}

/* The link and dataset access properties of every path opened in the input: external links
 * checked by elink_guard. */
static hid_t guarded_apl(void)
{
    static hid_t apl = H5I_INVALID_HID;
    if (apl < 0) {
        hid_t p = H5Pcreate(H5P_DATASET_ACCESS); /* a link access list too */
        if (p >= 0 && H5Pset_elink_cb(p, elink_guard, NULL) < 0) {
            H5Pclose(p);
            p = H5I_INVALID_HID;
        }
        H5Eclear2(H5E_DEFAULT);
        apl = p >= 0 ? p : H5P_DEFAULT;
    }
    return apl;
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
            htri_t e = H5Lexists(file, buf, guarded_apl());
            buf[i] = c;
            if (e <= 0)
                return 0;
        }
    }
    return 1;
}

/* The dataset's fixed-length string attribute name into v[len] (NUL-terminated); 0 when it has
 * one that fits, -1 when not (absent, another type, too long). Never fails. */
static int str_attr(hid_t dset, const char *name, char *v, size_t len)
{
    int rc = -1;
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID;
    memset(v, 0, len);
    if (H5Aexists(dset, name) > 0 && (a = H5Aopen(dset, name, H5P_DEFAULT)) >= 0 &&
        (t = H5Aget_type(a)) >= 0 && H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) &&
        H5Tget_size(t) < len && H5Aread(a, t, v) >= 0)
        rc = 0;
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

/* Whether the dataset's string attribute axes is "tyx" (lapse's outputs say so: h5out.c). */
static int axes_tyx(hid_t dset)
{
    char v[8];
    return str_attr(dset, "axes", v, sizeof v) == 0 && strcmp(v, "tyx") == 0;
}

/* The dataset's element_size_um attribute (z, y, x; or y, x) into vs (left 0 when absent or
 * not 2 or 3 positive numbers). Never fails. Returns how many values it had (0 when none). */
static int element_size(hid_t dset, int ndims, double vs[3])
{
    int got = 0;
    hid_t a = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    double v[3] = {0, 0, 0};
    htri_t has = H5Aexists(dset, "element_size_um");
    if (has > 0 && (a = H5Aopen(dset, "element_size_um", H5P_DEFAULT)) >= 0 &&
        (sp = H5Aget_space(a)) >= 0) {
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        if ((n == 3 || n == 2) && H5Aread(a, H5T_NATIVE_DOUBLE, v) >= 0 && v[0] > 0 && v[1] > 0 &&
            (n == 2 || v[2] > 0)) {
            got = (int)n;
            if (n == 3) {
                vs[0] = ndims == 3 ? 0 : v[0];
                vs[1] = v[1];
                vs[2] = v[2];
            } else {
                vs[1] = v[0];
                vs[2] = v[1];
            }
        }
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
    H5Eclear2(H5E_DEFAULT);
    return got;
}

/* Check the dataset's rank, extent and type and fill *info; channel: the selected channel of a
 * [t,c,z,y,x] dataset (-1: none given). */
static lapse_status_t check_dset(hid_t dset, const char *file, const char *name, int channel,
                                 lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, type = H5I_INVALID_HID;
    hsize_t dims[H5S_MAX_RANK];
    char tname[32], zgroup[4400];

    if (str_attr(dset, LAPSE_ATTR_ZARR_ARRAY, zgroup, sizeof zgroup) == 0) {
        /* The attribute spells the store as the writing run did (relative to its working
         * directory); the store lies beside this file, so name it from the file as given here. */
        char root[4096];
        if (lapse_zarr_root(file, root, sizeof root) == 0)
            snprintf(zgroup, sizeof zgroup, "%s%s%s", root, name[0] == '/' ? "" : "/", name);
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: dataset %s belongs to an output.format: zarr output and holds no voxels; "
                   "they are in the OME-Zarr store: read input: {file: %s}",
                   file, name, zgroup);
    }
    LAPSE_H5ID(space, H5Dget_space(dset));
    int nd = H5Sget_simple_extent_ndims(space);
    LAPSE_H5(nd);
    if (nd != 3 && nd != 4 && nd != 5)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: dataset %s has %d dimensions, expected [t,z,y,x], [t,y,x] or [t,c,z,y,x] "
                   "(4, 3 or 5)",
                   file, name, nd);
    LAPSE_H5(H5Sget_simple_extent_dims(space, dims, NULL));
    for (int i = 0; i < nd; i++) {
        if (dims[i] == 0)
            LAPSE_FAIL(LAPSE_EINPUT, "%s: dataset %s is empty (dimension %d has size 0)", file,
                       name, i);
    }
    if (nd == 5 && channel < 0)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: dataset %s is [t,c,z,y,x] with %llu channels: choose one with "
                   "input.channel (0 to %llu)",
                   file, name, (unsigned long long)dims[1], (unsigned long long)dims[1] - 1);
    if (channel >= 0)
        info->failed_part = 3; /* a failure below is the selection's */
    if (nd != 5 && channel >= 0)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: input.channel is given, but dataset %s (%d dimensions) has no channel "
                   "axis; a channel axis is [t,c,z,y,x]",
                   file, name, nd);
    if (nd == 5 && (hsize_t)channel >= dims[1])
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: input.channel %d is out of range: dataset %s has %llu channels (0 to %llu)",
                   file, channel, name, (unsigned long long)dims[1],
                   (unsigned long long)dims[1] - 1);
    info->failed_part = 0;
    LAPSE_H5ID(type, H5Dget_type(dset));
    lapse_dtype_t dt;
    if (lapse_h5_dtype(type, &dt) != 0 || dt == LAPSE_DT_U64) {
        type_name(type, tname, sizeof tname);
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: dataset %s: type %s is not supported (use uint8, uint16, int16, uint32, "
                   "float32 or float64)",
                   file, name, tname);
    }
    info->ndims = nd == 5 ? 4 : nd;
    info->ntp = (int64_t)dims[0];
    info->shape[0] = nd >= 4 ? (int64_t)dims[nd - 3] : 1;
    info->shape[1] = (int64_t)dims[nd - 2];
    info->shape[2] = (int64_t)dims[nd - 1];
    info->dtype = dt;
    info->nchannels = nd == 5 ? (int64_t)dims[1] : 1;
    if (element_size(dset, info->ndims, info->voxel_size_um) == 3 && info->ndims == 3 &&
        !axes_tyx(dset))
        info->axes_assumed = 2;
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

/* Dataset dset (creation properties dcpl) of file `path` keeps its raw data in external files
 * (H5Pset_external): each must be a regular readable file (HDF5 would wait for ever on a FIFO)
 * that holds the bytes the dataset's list places in it (HDF5 reads zeros past a file's end).
 * Looked for where HDF5 1.10 reads it (H5D__efl_read; docs/reliability.md): joined to
 * HDF5_EXTFILE_PREFIX when set ("${ORIGIN}" the file's directory), else as named (relative to
 * the working directory). LAPSE_EINPUT otherwise. */
static lapse_status_t check_external(hid_t dcpl, const char *path, const char *dset)
{
    lapse_status_t st = LAPSE_OK;
    const char *slash = strrchr(path, '/'), *prefix = getenv("HDF5_EXTFILE_PREFIX");
    char name[4096], full[8400];
    int n = H5Pget_external_count(dcpl);
    LAPSE_H5(n);
    if (prefix != NULL && (prefix[0] == '\0' || strcmp(prefix, ".") == 0))
        prefix = NULL;
    for (int i = 0; i < n; i++) {
        off_t off = 0;
        hsize_t size = 0;
        struct stat sb;
        LAPSE_H5(H5Pget_external(dcpl, (unsigned)i, sizeof name, name, &off, &size));
        name[sizeof name - 1] = '\0'; /* strncpy'd: not terminated when it filled the buffer */
        if (strlen(name) == sizeof name - 1)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: dataset %s keeps its data in an external file whose name is %zu "
                       "characters or more (longer than a path can be)",
                       path, dset, sizeof name - 1);
        if (name[0] == '/' || prefix == NULL)
            snprintf(full, sizeof full, "%s", name);
        else if (strncmp(prefix, "${ORIGIN}", 9) == 0)
            snprintf(full, sizeof full, "%.*s/%s/%s", slash ? (int)(slash - path) : 1,
                     slash ? path : ".", prefix + 9, name); /* HDF5's directory ends in '/' */
        else
            snprintf(full, sizeof full, "%s/%s", prefix, name);
        if (stat(full, &sb) != 0)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: dataset %s keeps its data in the external file %s, which is missing "
                       "(%s%s)",
                       path, dset, full,
                       prefix ? "under HDF5_EXTFILE_PREFIX" : "relative to the working directory",
                       prefix || name[0] == '/' ? ""
                                                : "; HDF5_EXTFILE_PREFIX='${ORIGIN}' reads "
                                                  "it beside the HDF5 file");
        if (!S_ISREG(sb.st_mode) || access(full, R_OK) != 0)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: dataset %s keeps its data in the external file %s, which is %s", path,
                       dset, full, S_ISREG(sb.st_mode) ? "not readable" : "not a regular file");
        if (size != H5F_UNLIMITED && (uint64_t)sb.st_size < (uint64_t)off + size)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: dataset %s keeps bytes %lld to %lld of its data in the external "
                       "file %s, which has only %lld bytes (HDF5 would read zeros)",
                       path, dset, (long long)off, (long long)(off + (off_t)size), full,
                       (long long)sb.st_size);
    }
cleanup:
    return st;
}

/* 1 when f has the BigDataViewer layout: /s00/resolutions and /t00000. */
static int is_bdv(hid_t f)
{
    int yes = path_exists(f, "/s00/resolutions") && path_exists(f, "/t00000");
    H5Eclear2(H5E_DEFAULT);
    return yes;
}

/* The path of BigDataViewer timepoint t, setup s, level 0 into buf[len]. */
static void bdv_cells(char *buf, size_t len, int64_t t, int s)
{
    snprintf(buf, len, "/t%05lld/s%02d/0/cells", (long long)t, s);
}

/* H5Literate callback: the largest N of a root link named tNNNNN (five digits) into *op. */
static herr_t last_tp(hid_t g, const char *name, const H5L_info_t *li, void *op)
{
    (void)g;
    (void)li;
    if (name[0] == 't' && strlen(name) == 6 && strspn(name + 1, "0123456789") == 5) {
        long long n = atoll(name + 1), *last = op;
        if (n > *last)
            *last = n;
    }
    return 0;
}

/* Check a BigDataViewer file f: setup sel->setup (0 when not given) exists, timepoints from
 * t00000 on without a gap (a tNNNNN group after a missing one is refused: lapse's timepoint
 * index is the group's number), the cells of every timepoint of one extent, level 0 of the first a
 * [z,y,x] dataset of a supported type, the same for every timepoint. Opens the cells of
 * timepoint 0 into *d and fills *info (dtype uint16 for BDV's int16: the bits are uint16,
 * unless the setup's dataType attribute says int16). */
static lapse_status_t open_bdv(hid_t f, const char *file, int setup, int channel, hid_t *d,
                               lapse_input_info_t *info, hid_t *memtype)
{
    lapse_status_t st = LAPSE_OK;
    hid_t space = H5I_INVALID_HID, type = H5I_INVALID_HID;
    hsize_t dims[H5S_MAX_RANK];
    char path[64], tname[32];
    int ns = 0;
    lapse_dtype_t dt;

    if (channel >= 0)
        info->failed_part = 3;
    if (channel >= 0)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: input.channel is given, but a BigDataViewer file has no channel axis "
                   "(channels are setups: use input.setup)",
                   file);
    if (!is_bdv(f))
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: not a BigDataViewer HDF5 file (no /s00/resolutions and /t00000 groups)",
                   file);
    snprintf(path, sizeof path, "/s%02d/resolutions", setup);
    if (setup > 99 || !path_exists(f, path)) {
        info->failed_part = 3;
        while (ns < 100 && (snprintf(path, sizeof path, "/s%02d/resolutions", ns), 1) &&
               path_exists(f, path))
            ns++;
        H5Eclear2(H5E_DEFAULT);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: input.setup %d is out of range: the file has setups 0 to %d",
                   file, setup, ns - 1);
    }
    info->ntp = 0;
    for (;;) {
        snprintf(path, sizeof path, "/t%05lld", (long long)info->ntp);
        if (info->ntp > 99999 || !path_exists(f, path))
            break;
        info->ntp++;
    }
    H5Eclear2(H5E_DEFAULT);
    {
        long long last = -1;
        hsize_t idx = 0;
        LAPSE_H5(H5Literate(f, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, last_tp, &last));
        if (last >= info->ntp)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: the BigDataViewer timepoints have a gap: /t%05lld is missing but "
                       "/t%05lld exists (lapse reads the timepoints t00000, t00001, ... in order, "
                       "its timepoint index being the group's number); rewrite the file with "
                       "consecutive timepoints",
                       file, (long long)info->ntp, last);
    }
    bdv_cells(path, sizeof path, 0, setup);
    if (!path_exists(f, path) || (*d = H5Dopen2(f, path, guarded_apl())) < 0) {
        H5Eclear2(H5E_DEFAULT);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: BigDataViewer dataset %s not found or unreadable", file,
                   path);
    }
    LAPSE_H5ID(space, H5Dget_space(*d));
    if (H5Sget_simple_extent_ndims(space) != 3)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: BigDataViewer dataset %s is not [z,y,x]", file, path);
    LAPSE_H5(H5Sget_simple_extent_dims(space, dims, NULL));
    LAPSE_H5ID(type, H5Dget_type(*d));
    if (lapse_h5_dtype(type, &dt) != 0 || dt == LAPSE_DT_U64) {
        type_name(type, tname, sizeof tname);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: BigDataViewer dataset %s: type %s is not supported", file,
                   path, tname);
    }
    *memtype = lapse_h5_mem_type(dt);
    if (dt == LAPSE_DT_I16) {
        /* BigDataViewer stores uint16 as int16: the bits are read as uint16, unless the setup's
         * dataType attribute (BigDataViewer 10.4.6+, lapse's own int16 outputs) says int16 */
        char said[32] = "";
        snprintf(path, sizeof path, "/s%02d", setup);
        hid_t g = H5Oopen(f, path, H5P_DEFAULT);
        if (g >= 0 && H5Aexists(g, "dataType") > 0)
            lapse_h5_read_str_attr(g, "dataType", said, sizeof said);
        if (g >= 0)
            H5Oclose(g);
        H5Eclear2(H5E_DEFAULT);
        if (strcmp(said, "int16") != 0)
            dt = LAPSE_DT_U16;
        else
            info->signed_stored = 1;
    }
    for (int a = 0; a < 3; a++)
        info->shape[a] = (int64_t)dims[a];
    info->ndims = 4;
    info->dtype = dt;
    info->nchannels = 1;
    for (int64_t t = 1; t < info->ntp; t++) { /* every timepoint of timepoint 0's extent */
        hsize_t dt_dims[H5S_MAX_RANK];
        hid_t d2 = H5I_INVALID_HID, s2 = H5I_INVALID_HID;
        bdv_cells(path, sizeof path, t, setup);
        int ok = path_exists(f, path) && (d2 = H5Dopen2(f, path, guarded_apl())) >= 0 &&
                 (s2 = H5Dget_space(d2)) >= 0 && H5Sget_simple_extent_ndims(s2) == 3 &&
                 H5Sget_simple_extent_dims(s2, dt_dims, NULL) >= 0;
        int same = ok && dt_dims[0] == dims[0] && dt_dims[1] == dims[1] && dt_dims[2] == dims[2];
        hid_t t2 = ok ? H5Dget_type(d2) : H5I_INVALID_HID;
        /* the same kind of value, in either byte order */
        int same_type = t2 >= 0 && H5Tget_class(t2) == H5Tget_class(type) &&
                        H5Tget_size(t2) == H5Tget_size(type) &&
                        (H5Tget_class(type) != H5T_INTEGER || H5Tget_sign(t2) == H5Tget_sign(type));
        if (t2 >= 0)
            H5Tclose(t2);
        if (s2 >= 0)
            H5Sclose(s2);
        if (d2 >= 0)
            H5Dclose(d2);
        H5Eclear2(H5E_DEFAULT);
        if (!ok)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: BigDataViewer dataset %s not found, unreadable or not "
                       "[z,y,x]",
                       file, path);
        if (!same)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: BigDataViewer dataset %s is [%llu, %llu, %llu], timepoint 0's is "
                       "[%llu, %llu, %llu]: every timepoint must have one extent",
                       file, path, (unsigned long long)dt_dims[0], (unsigned long long)dt_dims[1],
                       (unsigned long long)dt_dims[2], (unsigned long long)dims[0],
                       (unsigned long long)dims[1], (unsigned long long)dims[2]);
        if (!same_type) {
            char t0name[32];
            type_name(type, t0name, sizeof t0name);
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: BigDataViewer dataset %s is not of timepoint 0's type (%s): every "
                       "timepoint must have one type",
                       file, path, t0name);
        }
    }
cleanup:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* Open file read-only and the dataset of the selection in dataset (its path, or a
 * BigDataViewer setup: explicitly or when no path is given and the file has that layout), with
 * every failure turned into a LAPSE_EINPUT message. On success *file_out and *dset_out (for
 * BigDataViewer: timepoint 0's cells) are open, *info is filled, *memtype is the type to read
 * with and *bdv_setup the setup (-1: not BigDataViewer). */
static lapse_status_t open_input(const char *file, const char *dataset, hid_t *file_out,
                                 hid_t *dset_out, lapse_input_info_t *info, hid_t *memtype,
                                 int *bdv_setup)
{
    lapse_status_t st = LAPSE_OK;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID;
    struct stat sb;
    lapse_input_info_t tmp = {0};
    lapse_input_sel_t sel;
    char err[256];
    const char *dset = sel.dataset;

    lapse_h5_init();
    elink_why[0] = '\0';
    info->failed_part = 1;
    if (file == NULL)
        LAPSE_FAIL(LAPSE_EINPUT, "input file and dataset must be given");
    if (lapse_input_sel_parse(dataset, &sel, err, sizeof err) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", file, err);
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
    *bdv_setup = -1;
    if (sel.bdv || sel.setup >= 0 || (dset[0] == '\0' && is_bdv(f))) {
        if (dset[0] != '\0')
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: input.dataset is given for a BigDataViewer input: leave it out (the "
                       "setup is input.setup)",
                       file);
        *bdv_setup = sel.setup >= 0 ? sel.setup : 0;
        st = open_bdv(f, file, *bdv_setup, sel.channel, &d, &tmp, memtype);
        if (st == LAPSE_EH5) {
            lapse_err_clear();
            LAPSE_FAIL(LAPSE_EINPUT, "%s: the BigDataViewer data cannot be read (damaged file?)",
                       file);
        }
        if (st != LAPSE_OK && tmp.failed_part == 3)
            info->failed_part = 3;
        LAPSE_TRY(st);
        goto done;
    }
    if (dset[0] == '\0' || !path_exists(f, dset)) {
        dset_list_t l = {"", 0};
        H5Eclear2(H5E_DEFAULT);
        if (H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, list_cb, &l, H5O_INFO_BASIC) < 0)
            snprintf(l.list, sizeof l.list, "(cannot list them)");
        H5Eclear2(H5E_DEFAULT);
        if (dset[0] == '\0')
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: no input.dataset given, and the file is not a BigDataViewer file; "
                       "datasets in the file: %s",
                       file, l.n ? l.list : "none");
        if (elink_why[0])
            LAPSE_FAIL(LAPSE_EINPUT, "%s: dataset %s cannot be read%s", file, dset, elink_why);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: dataset %s not found; datasets in the file: %s", file, dset,
                   l.n ? l.list : "none");
    }
    H5O_info_t oi;
    if (H5Oget_info_by_name2(f, dset, &oi, H5O_INFO_BASIC, guarded_apl()) < 0) {
        H5Eclear2(H5E_DEFAULT);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s cannot be read%s", file, dset,
                   elink_why[0] ? elink_why : " (damaged file or dangling link?)");
    }
    if (oi.type != H5O_TYPE_DATASET)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s is a %s, not a dataset", file, dset,
                   oi.type == H5O_TYPE_GROUP ? "group" : "named datatype");
    d = H5Dopen2(f, dset, guarded_apl());
    if (d < 0) {
        H5Eclear2(H5E_DEFAULT);
        LAPSE_FAIL(LAPSE_EINPUT, "%s: dataset %s cannot be opened (damaged file?)", file, dset);
    }
    st = check_dset(d, file, dset, sel.channel, &tmp);
    if (st != LAPSE_OK && tmp.failed_part == 3)
        info->failed_part = 3;
    if (st == LAPSE_OK)
        st = check_filters(d, file, dset);
    if (st == LAPSE_OK) {
        hid_t dcpl = H5Dget_create_plist(d);
        st = dcpl < 0 ? LAPSE_EH5 : check_external(dcpl, file, dset);
        if (dcpl >= 0)
            H5Pclose(dcpl);
    }
    if (st == LAPSE_EH5) {
        lapse_err_clear();
        LAPSE_FAIL(LAPSE_EINPUT, "%s: dataset %s cannot be read (damaged file?)", file, dset);
    }
    LAPSE_TRY(st);
    *memtype = lapse_h5_mem_type(tmp.dtype);
done:
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

/* A filtered (compressed) chunked dataset decodes whole chunks: without a cache that holds them,
 * every tile that overlaps a chunk decodes it again (a whole-plane chunk under 4 tiles is
 * decoded 4 times). So such a dataset is read with a chunk cache that holds one timepoint's
 * chunks, up to LAPSE_H5_INPUT_CACHE bytes (default 256 MiB; below 1 MiB: HDF5's own 1 MiB
 * cache), and the tiles of a timepoint read one after the other decode each chunk once. Other
 * datasets keep HDF5's default, under which a whole chunk is read straight into the buffer (a
 * larger cache made those reads slower: docs/benchmarks.md, run H). chunk_cache_size: that
 * cache's bytes for dataset d (memory type mt) in *want, and one chunk's in *chunk_bytes; *want
 * is 0 when HDF5's default serves. *filtered (when not NULL): 1 for a chunked dataset with
 * filters, whose reads decode whole chunks, whatever the cache. */
static lapse_status_t chunk_cache_size(hid_t d, hid_t mt, double *want, double *chunk_bytes,
                                       int *filtered)
{
    lapse_status_t st = LAPSE_OK;
    hid_t dcpl = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hsize_t chunk[H5S_MAX_RANK], dims[H5S_MAX_RANK];
    double budget = 256.0 * 1048576.0;
    const char *env = getenv("LAPSE_H5_INPUT_CACHE"); /* (its form checked: src/env.c) */
    if (env && *env)
        budget = (double)strtoull(env, NULL, 10);
    *want = 0;
    *chunk_bytes = 0;
    LAPSE_H5ID(dcpl, H5Dget_create_plist(d));
    int nf = H5Pget_nfilters(dcpl);
    LAPSE_H5(nf);
    if (filtered)
        *filtered = nf > 0 && H5Pget_layout(dcpl) == H5D_CHUNKED;
    if (budget < 1048576.0 || nf == 0 || H5Pget_layout(dcpl) != H5D_CHUNKED)
        goto cleanup;
    int nd = H5Pget_chunk(dcpl, H5S_MAX_RANK, chunk);
    LAPSE_H5(nd);
    LAPSE_H5ID(space, H5Dget_space(d));
    if (nd < 1 || H5Sget_simple_extent_dims(space, dims, NULL) != nd)
        goto cleanup;
    double bytes = (double)H5Tget_size(mt), n = 1; /* one timepoint's chunks */
    for (int a = 0; a < nd; a++) {
        bytes *= (double)chunk[a];
        n *= a == 0 ? 1.0 : (double)((dims[a] + chunk[a] - 1) / chunk[a]);
    }
    *chunk_bytes = bytes; /* (a filtered chunked dataset's, cached or not) */
    const double all = bytes * n < budget ? bytes * n : budget;
    if (all > 1048576.0 && bytes <= budget) /* else HDF5's default holds them, or none fits */
        *want = all;
cleanup:
    if (space >= 0)
        H5Sclose(space);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return st;
}

static lapse_status_t h5_probe(const char *file, const char *dset, lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, mt;
    int setup;
    lapse_input_info_t tmp = {0};

    LAPSE_TRY(open_input(file, dset, &f, &d, &tmp, &mt, &setup));
    if (setup < 0) { /* not BigDataViewer, whose cells are opened per timepoint */
        hid_t dcpl = H5Dget_create_plist(d);
        LAPSE_H5(dcpl);
        const int virt = H5Pget_layout(dcpl) == H5D_VIRTUAL;
        H5Pclose(dcpl);
        double chunk = 0;
        if (!virt)
            LAPSE_TRY(
                chunk_cache_size(d, mt, &tmp.chunk_cache_bytes, &chunk, &tmp.compressed_chunks));
        /* HDF5's filter pipeline reads a chunk's bytes and decodes them into another buffer */
        tmp.reader_buf_bytes = tmp.compressed_chunks ? 2.0 * chunk : 0;
    }
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
    free(in->ok);
    free(in);
}

/* Reopen in->dset (opened as path) with the chunk cache chunk_cache_size gives it, if any;
 * *bytes: its size (0: none). */
static lapse_status_t cache_filtered(h5_input_t *in, const char *path, double *bytes)
{
    lapse_status_t st = LAPSE_OK;
    hid_t dapl = H5I_INVALID_HID;
    double want = 0, chunk = 0;
    LAPSE_TRY(chunk_cache_size(in->dset, in->memtype, &want, &chunk, NULL));
    *bytes = want;
    if (want <= 0)
        goto cleanup;
    LAPSE_H5ID(dapl, H5Pcopy(guarded_apl()));
    /* slots: a prime above 10 x the chunks the cache holds (HDF5's advice), but at most one per
     * 4 KiB of the cache. HDF5 allocates (and zeroes) 8 bytes a slot when it opens the dataset,
     * and keeps at most one chunk a slot, with an entry of about 350 bytes besides the chunk
     * (H5D_rdcc_ent_t), which its byte count leaves out: unbounded, tiny chunks made the
     * bookkeeping far larger than the cache (1-byte chunks under the default 256 MiB: 2.7e9
     * slots, 21 GiB at the open). Bounded, it adds at most about 9 % to the cache's bytes; chunks
     * under 4 KiB then fill only part of the cache. */
    const double most = want / 4096.0;
    size_t slots = (size_t)(10.0 * want / chunk < most ? 10.0 * want / chunk : most) + 1;
    for (;; slots++) {
        size_t f = 2;
        while (f * f <= slots && slots % f)
            f++;
        if (f * f > slots)
            break;
    }
    LAPSE_H5(H5Pset_chunk_cache(dapl, slots, (size_t)want, 1.0));
    /* closed first: an open of a dataset that is open shares its cache, as first opened */
    H5Dclose(in->dset);
    in->dset = H5I_INVALID_HID;
    LAPSE_H5ID(in->dset, H5Dopen2(in->file, path, dapl));
cleanup:
    if (dapl >= 0)
        H5Pclose(dapl);
    return st;
}

static lapse_status_t h5_open(const char *file, const char *dset, void **handle,
                              lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    lapse_input_info_t tmp = {0};
    lapse_input_sel_t sel;
    char err[256];
    h5_input_t *in = calloc(1, sizeof *in);
    LAPSE_ALLOC(in);
    in->file = in->dset = in->fspace = H5I_INVALID_HID;
    LAPSE_TRY(open_input(file, dset, &in->file, &in->dset, &tmp, &in->memtype, &in->setup));
    if (lapse_input_sel_parse(dset, &sel, err, sizeof err) != 0) /* parsed by open_input */
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", file, err);
    LAPSE_H5ID(in->fspace, H5Dget_space(in->dset));
    in->bdv = in->setup >= 0;
    in->cur_t = 0;
    if (!in->bdv) {
        hid_t dcpl = H5Dget_create_plist(in->dset);
        LAPSE_H5(dcpl);
        in->virt = H5Pget_layout(dcpl) == H5D_VIRTUAL;
        H5Pclose(dcpl);
        in->cur_t = -1;
        /* the path as configured: H5Iget_name gives the name inside the file an external
         * link leads to, which the input file need not have */
        if (in->virt &&
            (size_t)snprintf(in->name, sizeof in->name, "%s", sel.dataset) >= sizeof in->name)
            LAPSE_FAIL(LAPSE_EINPUT, "%s: the virtual dataset's path is too long", file);
        if (!in->virt)
            LAPSE_TRY(cache_filtered(in, sel.dataset, &tmp.chunk_cache_bytes));
    }
    in->channel = sel.channel;
    in->ndims = in->bdv ? 3 : H5Sget_simple_extent_ndims(in->fspace);
    LAPSE_H5(in->ndims);
    in->dtype = tmp.dtype;
    for (int a = 0; a < 3; a++)
        in->shape[a] = tmp.shape[a];
    *handle = in;
    *info = tmp;
    return LAPSE_OK;
cleanup:
    h5_close(in);
    return st;
}

/* BigDataViewer: make in->dset timepoint t's cells, of the same extent as timepoint 0's. */
static lapse_status_t bdv_switch(h5_input_t *in, int64_t t)
{
    lapse_status_t st = LAPSE_OK;
    char path[64];
    hsize_t dims[3];
    if (in->cur_t == t)
        return LAPSE_OK;
    H5Sclose(in->fspace);
    H5Dclose(in->dset);
    in->fspace = in->dset = H5I_INVALID_HID;
    in->cur_t = -1;
    bdv_cells(path, sizeof path, t, in->setup);
    LAPSE_H5ID(in->dset, H5Dopen2(in->file, path, H5P_DEFAULT));
    LAPSE_H5ID(in->fspace, H5Dget_space(in->dset));
    if (H5Sget_simple_extent_ndims(in->fspace) != 3 ||
        H5Sget_simple_extent_dims(in->fspace, dims, NULL) < 0 || (int64_t)dims[0] != in->shape[0] ||
        (int64_t)dims[1] != in->shape[1] || (int64_t)dims[2] != in->shape[2])
        LAPSE_FAIL(LAPSE_EREAD, "BigDataViewer dataset %s: its extent differs from timepoint 0's",
                   path);
    in->cur_t = t;
cleanup:
    return st;
}

/* What HDF5 makes of a virtual dataset's source file at path: 1 a regular readable HDF5 file (it
 * opens it), 0 none or another file (it goes on to the next place), -1 a FIFO or a device (its
 * open() would block for ever). */
static int virt_try(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || S_ISDIR(sb.st_mode))
        return 0;
    if (!S_ISREG(sb.st_mode))
        return -1;
    if (access(path, R_OK) != 0)
        return 0;
    htri_t is = H5Fis_hdf5(path);
    H5Eclear2(H5E_DEFAULT);
    return is > 0;
}

/* A virtual mapping's source file or dataset name for block b, as HDF5 builds it from the name
 * stored (H5D__virtual_build_source_name): "%b" the block number (of an unlimited, printf-style
 * mapping), "%%" a single '%'. The number of "%b" in pattern; -1 for a name HDF5 refuses or one
 * that does not fit out. */
static int virt_name(const char *pattern, unsigned long long b, char *out, size_t len)
{
    size_t n = 0;
    int subs = 0;
    for (const char *p = pattern; *p; p++) {
        char num[24];
        const char *piece = p;
        size_t k = 1;
        if (*p == '%') {
            if (p[1] == 'b') {
                snprintf(num, sizeof num, "%llu", b);
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

/* Where HDF5 finds the source file `name` (as virt_name builds it) of a virtual mapping of a
 * virtual dataset in a file of directory dir: the places HDF5 1.10 tries in turn
 * (H5F_prefix_open_file), the name itself when absolute, then its name (the last component of an
 * absolute one) under each directory of HDF5_VDS_PREFIX (':' separated, "${ORIGIN}" standing for
 * dir), in dir, in the current directory; HDF5 opens the first one that opens as HDF5. 1: found,
 * its path in out ("." for the same file); 0: missing (name in out); -1: a FIFO or device met
 * before it (HDF5 would wait on it for ever), its path in out. */
static int virt_source_path(const char *dir, const char *name, char *out, size_t len)
{
    int r;
    snprintf(out, len, "%s", name);
    if (strcmp(name, ".") == 0)
        return 1;
    const char *base = name[0] == '/' ? strrchr(name, '/') + 1 : name;
    if (name[0] == '/' && (r = virt_try(out)) != 0)
        return r;
    const char *prefix = getenv("HDF5_VDS_PREFIX");
    for (const char *d = prefix ? prefix : ""; *d;) {
        size_t k = strcspn(d, ":");
        if (k > 0) {
            if (k >= 9 && strncmp(d, "${ORIGIN}", 9) == 0)
                snprintf(out, len, "%s/%.*s/%s", dir, (int)(k - 9), d + 9, base);
            else
                snprintf(out, len, "%.*s/%s", (int)k, d, base);
            if ((r = virt_try(out)) != 0)
                return r;
        }
        d += k + (d[k] == ':');
    }
    snprintf(out, len, "%s/%s", dir, base);
    if ((r = virt_try(out)) != 0)
        return r;
    snprintf(out, len, "%s", base);
    if ((r = virt_try(out)) != 0)
        return r;
    snprintf(out, len, "%s", name);
    return 0;
}

#define VIRT_DEPTH  8    /* virtual datasets on one chain, the input's included */
#define VIRT_BLOCKS 1024 /* blocks of a printf-style mapping checked */

static int virt_key_eq(const virt_key_t *a, const virt_key_t *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->addr == b->addr;
}

/* The key of dataset d of the file at path (or, for NULL, of the file of `same`). */
static lapse_status_t virt_key(hid_t d, const char *path, const virt_key_t *same, virt_key_t *k)
{
    lapse_status_t st = LAPSE_OK;
    H5O_info_t oi;
    struct stat sb;
    *k = (virt_key_t){0};
    LAPSE_H5(H5Oget_info2(d, &oi, H5O_INFO_BASIC));
    if (path == NULL) {
        k->dev = same->dev, k->ino = same->ino;
    } else {
        if (stat(path, &sb) != 0)
            LAPSE_FAIL(LAPSE_EREAD, "%s: %s", path, strerror(errno));
        k->dev = sb.st_dev, k->ino = sb.st_ino;
    }
    k->addr = oi.addr;
cleanup:
    return st;
}

/* Check the mappings of the virtual dataset (creation properties dcpl) in file f (at path; its
 * key chain[depth]) that cover timepoint t (t < 0: all of them), recursively: every source file
 * is a regular readable file (HDF5 reads zeros for a missing one and waits for ever on a FIFO),
 * every source dataset opens, external raw storage passes check_external, and a source that is a
 * virtual dataset itself neither leads back to one on the chain (H5Dread would recurse until the
 * stack overflows: HDF5 1.10 and 1.12) nor makes the chain longer than VIRT_DEPTH. Virtual
 * datasets whose whole tree passed are remembered in in->ok. */
static lapse_status_t virt_walk(h5_input_t *in, hid_t f, const char *path, hid_t dcpl, int64_t t,
                                virt_key_t *chain, int depth)
{
    lapse_status_t st = LAPSE_OK;
    hid_t vs = H5I_INVALID_HID, sf = H5I_INVALID_HID, sd = H5I_INVALID_HID;
    hid_t sdcpl = H5I_INVALID_HID;
    char fpat[4096], dpat[1024], src[4096], sname[1024], spath[8400], dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    size_t count = 0;
    LAPSE_H5(H5Pget_virtual_count(dcpl, &count));
    for (size_t i = 0; i < count; i++) {
        if (t >= 0) {
            hsize_t lo[H5S_MAX_RANK], hi[H5S_MAX_RANK];
            LAPSE_H5ID(vs, H5Pget_virtual_vspace(dcpl, i));
            LAPSE_H5(H5Sget_select_bounds(vs, lo, hi));
            H5Sclose(vs);
            vs = H5I_INVALID_HID;
            if ((hsize_t)t < lo[0] || (hsize_t)t > hi[0])
                continue;
        }
        ssize_t n = H5Pget_virtual_filename(dcpl, i, fpat, sizeof fpat);
        LAPSE_H5(n);
        ssize_t m = H5Pget_virtual_dsetname(dcpl, i, dpat, sizeof dpat);
        LAPSE_H5(m);
        int nf = virt_name(fpat, 0, src, sizeof src), nd = virt_name(dpat, 0, sname, sizeof sname);
        if ((size_t)n >= sizeof fpat || (size_t)m >= sizeof dpat || (nf < 0 && n > 0) ||
            (nd < 0 && m > 0))
            LAPSE_FAIL(LAPSE_EREAD,
                       "the input's virtual dataset %s: a source file or dataset name is too long "
                       "or malformed (in %s)",
                       in->name, path);
        /* a printf-style mapping ("%b") reads source b for its block b, as far as the sources
         * go on without a gap (H5D__virtual_set_extent_unlim; lapse opens with no printf gap):
         * along time only the block of t, else every one */
        unsigned long long b0 = 0, b1 = 0;
        if (nf > 0 || nd > 0) {
            b1 = VIRT_BLOCKS;
            hsize_t st0[H5S_MAX_RANK], sd0[H5S_MAX_RANK], cn0[H5S_MAX_RANK], bl0[H5S_MAX_RANK];
            LAPSE_H5ID(vs, H5Pget_virtual_vspace(dcpl, i));
            htri_t reg = H5Sis_regular_hyperslab(vs);
            LAPSE_H5(reg);
            if (t >= 0 && reg > 0) {
                LAPSE_H5(H5Sget_regular_hyperslab(vs, st0, sd0, cn0, bl0));
                if (cn0[0] == H5S_UNLIMITED) {
                    if ((hsize_t)t < st0[0] || ((hsize_t)t - st0[0]) % sd0[0] >= bl0[0])
                        b1 = 0, b0 = 1; /* no block of this mapping holds t */
                    else
                        b0 = b1 = ((hsize_t)t - st0[0]) / sd0[0];
                }
            }
            H5Sclose(vs);
            vs = H5I_INVALID_HID;
        }
        for (unsigned long long b = b0; b <= b1; b++) {
            int printf_style = nf > 0 || nd > 0;
            if (b == VIRT_BLOCKS)
                LAPSE_FAIL(LAPSE_EREAD,
                           "the input's virtual dataset %s has more than %d source blocks to check "
                           "(%s:%s in %s)",
                           in->name, VIRT_BLOCKS, fpat, dpat, path);
            virt_name(fpat, b, src, sizeof src);
            virt_name(dpat, b, sname, sizeof sname);
            int found = virt_source_path(dir, src, spath, sizeof spath);
            if (found == 0 && printf_style)
                break; /* the last block */
            if (found <= 0 && depth == 0)
                LAPSE_FAIL(LAPSE_EREAD,
                           "the input's virtual dataset %s maps timepoint %lld onto %s, which is "
                           "missing or not a regular file (%s: HDF5 would read zeros, or wait for "
                           "ever on a FIFO)",
                           in->name, (long long)t, src, spath);
            if (found <= 0)
                LAPSE_FAIL(
                    LAPSE_EREAD,
                    "the input's virtual dataset %s reads, through %d more virtual dataset(s), "
                    "from %s (in %s), which is missing or not a regular file (%s: HDF5 would "
                    "read zeros, or wait for ever on a FIFO)",
                    in->name, depth, src, dir, spath);
            int same = strcmp(spath, ".") == 0;
            if (!same && (sf = H5Fopen(spath, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
                H5Eclear2(H5E_DEFAULT);
                LAPSE_FAIL(
                    LAPSE_EREAD,
                    "the input's virtual dataset %s reads from %s, which cannot be opened as "
                    "HDF5",
                    in->name, spath);
            }
            if (printf_style) {
                htri_t e = H5Lexists(same ? f : sf, sname, guarded_apl());
                H5Eclear2(H5E_DEFAULT);
                if (e <= 0) {
                    if (sf >= 0)
                        H5Fclose(sf);
                    sf = H5I_INVALID_HID;
                    break; /* the last block */
                }
            }
            sd = H5Dopen2(same ? f : sf, sname, guarded_apl());
            if (sd < 0 || (sdcpl = H5Dget_create_plist(sd)) < 0) {
                H5Eclear2(H5E_DEFAULT);
                LAPSE_FAIL(
                    LAPSE_EREAD,
                    "the input's virtual dataset %s reads from dataset %s of %s, which cannot "
                    "be opened",
                    in->name, sname, same ? path : spath);
            }
            st = check_external(sdcpl, same ? path : spath, sname);
            if (st == LAPSE_EINPUT)
                st = LAPSE_EREAD; /* at a read: the run's error, as the others here */
            LAPSE_TRY(st);
            if (H5Pget_layout(sdcpl) == H5D_VIRTUAL) {
                virt_key_t k;
                int known = 0;
                LAPSE_TRY(virt_key(sd, same ? NULL : spath, &chain[depth], &k));
                for (int c = 0; c <= depth; c++)
                    if (virt_key_eq(&k, &chain[c]))
                        LAPSE_FAIL(
                            LAPSE_EREAD,
                            "the input's virtual dataset %s maps timepoint %lld onto dataset "
                            "%s of %s, a virtual dataset that leads back to %s: a chain of "
                            "virtual datasets that comes back to itself never ends (HDF5 "
                            "would recurse until the stack overflows)",
                            in->name, (long long)in->walk_t, sname, same ? path : spath,
                            c == 0 ? "the input's dataset itself" : "one before it");
                for (int c = 0; c < in->nok; c++)
                    known = known || virt_key_eq(&k, &in->ok[c]);
                if (!known) {
                    if (depth + 1 >= VIRT_DEPTH)
                        LAPSE_FAIL(LAPSE_EREAD,
                                   "the input's virtual dataset %s reads through more than %d "
                                   "virtual datasets in a chain (dataset %s of %s): lapse reads at "
                                   "most %d",
                                   in->name, VIRT_DEPTH, sname, same ? path : spath, VIRT_DEPTH);
                    chain[depth + 1] = k;
                    LAPSE_TRY(virt_walk(in, same ? f : sf, same ? path : spath, sdcpl, -1, chain,
                                        depth + 1));
                    if (in->nok == in->cap) {
                        int cap = in->cap ? 2 * in->cap : 8;
                        virt_key_t *ok = realloc(in->ok, (size_t)cap * sizeof *ok);
                        LAPSE_ALLOC(ok);
                        in->ok = ok, in->cap = cap;
                    }
                    in->ok[in->nok++] = k;
                }
            }
            H5Pclose(sdcpl);
            H5Dclose(sd);
            sdcpl = sd = H5I_INVALID_HID;
            if (sf >= 0)
                H5Fclose(sf);
            sf = H5I_INVALID_HID;
        }
    }
cleanup:
    if (vs >= 0)
        H5Sclose(vs);
    if (sdcpl >= 0)
        H5Pclose(sdcpl);
    if (sd >= 0)
        H5Dclose(sd);
    if (sf >= 0)
        H5Fclose(sf);
    return st;
}

/* A virtual dataset: reopen it for timepoint t (HDF5 keeps every source file it read open until
 * the dataset is closed: thousands of timepoints would run out of descriptors, and a source that
 * cannot be opened reads as the fill value), after checking that the sources of t's mappings
 * exist: HDF5 would silently read zeros for a missing one. */
static lapse_status_t virt_switch(h5_input_t *in, int64_t t)
{
    lapse_status_t st = LAPSE_OK;
    hid_t dcpl = H5I_INVALID_HID, real = H5I_INVALID_HID;
    virt_key_t chain[VIRT_DEPTH];
    char rpath[4096];
    if (in->cur_t == t)
        return LAPSE_OK;
    H5Sclose(in->fspace);
    H5Dclose(in->dset);
    in->fspace = in->dset = H5I_INVALID_HID;
    in->cur_t = -1;
    LAPSE_H5ID(in->dset, H5Dopen2(in->file, in->name, guarded_apl()));
    LAPSE_H5ID(in->fspace, H5Dget_space(in->dset));
    LAPSE_H5ID(dcpl, H5Dget_create_plist(in->dset));
    /* the file that holds the dataset (another one when an external link leads there): its
     * "." sources and relative names are that file's */
    LAPSE_H5ID(real, H5Iget_file_id(in->dset));
    ssize_t n = H5Fget_name(real, rpath, sizeof rpath);
    LAPSE_H5(n);
    if ((size_t)n >= sizeof rpath)
        LAPSE_FAIL(LAPSE_EREAD, "the input's virtual dataset %s: its file's name is too long",
                   in->name);
    LAPSE_TRY(virt_key(in->dset, rpath, NULL, &chain[0]));
    in->walk_t = t;
    LAPSE_TRY(virt_walk(in, real, rpath, dcpl, t, chain, 0));
    in->cur_t = t;
cleanup:
    if (real >= 0)
        H5Fclose(real);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return st;
}

static lapse_status_t h5_read(void *handle, int64_t t, const lapse_box_t *box, void *dst)
{
    lapse_status_t st = LAPSE_OK;
    h5_input_t *in = handle;
    hid_t mspace = H5I_INVALID_HID;
    hsize_t start[5], count[5];
    int nd = in->ndims, i = 0;

    if (in->bdv) {
        LAPSE_TRY(bdv_switch(in, t));
    } else {
        if (in->virt)
            LAPSE_TRY(virt_switch(in, t));
        start[i] = (hsize_t)t; /* [t, (c,) (z,) y, x] */
        count[i++] = 1;
        if (nd == 5) {
            start[i] = (hsize_t)in->channel;
            count[i++] = 1;
        }
    }
    for (int a = nd == 3 && !in->bdv ? 1 : 0; a < 3; a++, i++) {
        start[i] = (hsize_t)box->off[a];
        count[i] = (hsize_t)box->dim[a];
    }
    LAPSE_H5(H5Sselect_hyperslab(in->fspace, H5S_SELECT_SET, start, NULL, count, NULL));
    LAPSE_H5ID(mspace, H5Screate_simple(i, count, NULL));
    LAPSE_H5(H5Dread(in->dset, in->memtype, mspace, in->fspace, H5P_DEFAULT, dst));
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
    .selects = LAPSE_SELECTS_CHANNEL | LAPSE_SELECTS_BDV,
    .check_dataset = lapse_reader_h5_check_dataset,
    .sniff = h5_sniff,
    .probe = h5_probe,
    .open = h5_open,
    .read = h5_read,
    .close = h5_close,
};
