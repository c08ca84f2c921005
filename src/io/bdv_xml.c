/*
 * io/bdv_xml.c - the voxel size of a run and the BigDataViewer files beside an HDF5 output
 * (see bdv_xml.h): OUT.bdv.h5 (BDV's layout as virtual datasets onto lapse's datasets) and
 * OUT.xml (SpimData), each written to OUT.*.tmp and renamed into place.
 */
#include "io/bdv_xml.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5util.h"

#define BDV_MARK_ATTR "lapse_bdv_for"           /* root attribute of OUT.bdv.h5 */
#define BDV_MARK_XML  "<!-- written by lapse: " /* first comment of OUT.xml */
#define BDV_BLOCK_XY  256                       /* subdivisions: at most this in y and x */
#define BDV_BLOCK_Z   64                        /* and this in z */

void lapse_voxel_size(const lapse_config_t *cfg, const lapse_input_info_t *in, double vox[3],
                      const char **unit)
{
    if (cfg != NULL && cfg->input_voxel_size_given) {
        memcpy(vox, cfg->input_voxel_size, 3 * sizeof *vox);
        *unit = "\xc2\xb5m";
    } else if (in != NULL && in->voxel_size_um[1] > 0 && in->voxel_size_um[2] > 0) {
        vox[0] = in->voxel_size_um[0] > 0 ? in->voxel_size_um[0] : 1;
        vox[1] = in->voxel_size_um[1];
        vox[2] = in->voxel_size_um[2];
        *unit = "\xc2\xb5m";
    } else {
        vox[0] = vox[1] = vox[2] = 1;
        *unit = "pixel";
    }
}

/* The voxel size of spec s in the XML: its own (job.c) where it has one, else vox; an axis that
 * is not spatial (0) shows as 1. */
static void setup_voxel(const lapse_dset_spec_t *s, const double vox[3], double v[3])
{
    const int own = s->vox[0] != 0 || s->vox[1] != 0 || s->vox[2] != 0;
    for (int a = 0; a < 3; a++) {
        v[a] = fabs(own ? s->vox[a] : vox[a]); /* negative: not known (h5out.h) */
        if (!(v[a] > 0))
            v[a] = 1.0;
    }
}

int lapse_bdv_paths(const char *out, char *xml, size_t xml_len, char *h5, size_t h5_len)
{
    static const char *const suffixes[] = {".h5", ".hdf5", ".he5"};
    size_t n = strlen(out);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t s = strlen(suffixes[i]);
        if (n > s && strcasecmp(out + n - s, suffixes[i]) == 0 && out[n - s - 1] != '/') {
            n -= s;
            break;
        }
    }
    int a = snprintf(xml, xml_len, "%.*s.xml", (int)n, out);
    int b = snprintf(h5, h5_len, "%.*s.bdv.h5", (int)n, out);
    return a > 0 && (size_t)a < xml_len && b > 0 && (size_t)b < h5_len ? 0 : -1;
}

/* The part of path after its last '/'. */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void xml_escape(const char *text, char *out, size_t len);

/* Is what is at path, if anything, one of the BigDataViewer files lapse wrote for output out
 * (kind: 'x' XML, 'h' HDF5)? 1 when absent or ours, 0 otherwise: a file of another output
 * whose name makes the same paths (run.h5 and run.hdf5 both make run.xml) is not ours, nor is
 * a symbolic link. */
static int ours_or_absent(const char *path, char kind, const char *out)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT;
    if (!S_ISREG(sb.st_mode))
        return 0;
    if (kind == 'x') {
        char head[1536] = "", want[1400], name[1200];
        FILE *f = fopen(path, "r");
        if (f == NULL)
            return 0;
        size_t got = fread(head, 1, sizeof head - 1, f);
        fclose(f);
        head[got] = '\0';
        xml_escape(base_name(out), name, sizeof name);
        snprintf(want, sizeof want, BDV_MARK_XML "the BigDataViewer view of %s (", name);
        return strstr(head, want) != NULL;
    }
    int ours = 0;
    htri_t is = H5Fis_hdf5(path);
    if (is > 0) {
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0) {
            char got[1200] = "";
            if (H5Aexists(f, BDV_MARK_ATTR) > 0) {
                lapse_h5_read_str_attr(f, BDV_MARK_ATTR, got, sizeof got);
                ours = strcmp(got, base_name(out)) == 0;
            }
            H5Fclose(f);
        }
    }
    H5Eclear2(H5E_DEFAULT);
    return ours;
}

/* A fresh temporary path + ".tmp": a stale regular file there is removed; anything else there
 * is refused. */
static lapse_status_t fresh_tmp(const char *path, char *tmp, size_t len)
{
    struct stat sb;
    if (snprintf(tmp, len, "%s.tmp", path) >= (int)len)
        return lapse_fail(LAPSE_EIO, "%s: path too long", path);
    if (lstat(tmp, &sb) == 0 && !S_ISREG(sb.st_mode))
        return lapse_fail(LAPSE_EIO, "%s exists and is not a regular file", tmp);
    if (unlink(tmp) != 0 && errno != ENOENT)
        return lapse_fail(LAPSE_EIO, "cannot remove %s: %s", tmp, strerror(errno));
    return LAPSE_OK;
}

static hid_t file_type(lapse_dtype_t dt)
{
    switch (dt) {
    case LAPSE_DT_U8:
        return H5T_STD_U8LE;
    case LAPSE_DT_U16:
        return H5T_STD_U16LE;
    case LAPSE_DT_U32:
        return H5T_STD_U32LE;
    case LAPSE_DT_I16:
        return H5T_STD_I16LE;
    default:
        return H5T_IEEE_F32LE;
    }
}

/* A scalar fixed-length string attribute. */
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

/* A [1][3] dataset at path of file type ftype from memory type mtype. */
static lapse_status_t put_row3(hid_t f, const char *path, hid_t ftype, hid_t mtype, const void *v)
{
    lapse_status_t st = LAPSE_OK;
    hsize_t dims[2] = {1, 3};
    hid_t space = H5I_INVALID_HID, d = H5I_INVALID_HID;
    LAPSE_H5ID(space, H5Screate_simple(2, dims, NULL));
    LAPSE_H5ID(d, H5Dcreate2(f, path, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    LAPSE_H5(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v));
cleanup:
    if (d >= 0)
        H5Dclose(d);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* Setup k's group /sKK: dataType, resolutions (one level, 1 1 1) and subdivisions (the output's
 * chunk in x y z, capped). */
static lapse_status_t put_setup(hid_t f, int k, const lapse_dset_spec_t *s)
{
    lapse_status_t st = LAPSE_OK;
    hid_t g = H5I_INVALID_HID;
    char path[64];
    const double res[3] = {1, 1, 1};
    int nd = s->ndims;
    int64_t c[3] = {nd == 4 ? s->chunk[1] : 1, s->chunk[nd - 2], s->chunk[nd - 1]};
    int64_t d[3] = {nd == 4 ? s->dims[1] : 1, s->dims[nd - 2], s->dims[nd - 1]};
    int sub[3];
    for (int a = 0; a < 3; a++) {
        int64_t cap = a == 0 ? BDV_BLOCK_Z : BDV_BLOCK_XY, v = c[a] < 1 ? 1 : c[a];
        v = v > d[a] ? d[a] : v;
        sub[2 - a] = (int)(v > cap ? cap : v);
    }
    snprintf(path, sizeof path, "s%02d", k);
    LAPSE_H5ID(g, H5Gcreate2(f, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    LAPSE_TRY(put_str(g, "dataType", lapse_dtype_name(s->dtype)));
    snprintf(path, sizeof path, "s%02d/resolutions", k);
    LAPSE_TRY(put_row3(f, path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, res));
    snprintf(path, sizeof path, "s%02d/subdivisions", k);
    LAPSE_TRY(put_row3(f, path, H5T_STD_I32LE, H5T_NATIVE_INT, sub));
cleanup:
    if (g >= 0)
        H5Gclose(g);
    return st;
}

/* /tTTTTT/sKK/0/cells for every timepoint: a virtual dataset [z, y, x] mapping timepoint t of
 * dataset s->path in the file named src (relative: beside the BDV file). */
static lapse_status_t put_cells(hid_t f, int k, const lapse_dset_spec_t *s, const char *src)
{
    lapse_status_t st = LAPSE_OK;
    hid_t vspace = H5I_INVALID_HID, sspace = H5I_INVALID_HID, dcpl = H5I_INVALID_HID,
          lcpl = H5I_INVALID_HID, d = H5I_INVALID_HID;
    int nd = s->ndims;
    hsize_t sdims[4], start[4] = {0, 0, 0, 0}, count[4];
    hsize_t vdims[3] = {nd == 4 ? (hsize_t)s->dims[1] : 1, (hsize_t)s->dims[nd - 2],
                        (hsize_t)s->dims[nd - 1]};
    double zero = 0;
    char path[96];
    for (int i = 0; i < nd; i++) {
        sdims[i] = (hsize_t)s->dims[i];
        count[i] = i == 0 ? 1 : sdims[i];
    }
    LAPSE_H5ID(vspace, H5Screate_simple(3, vdims, NULL));
    LAPSE_H5ID(sspace, H5Screate_simple(nd, sdims, NULL));
    LAPSE_H5ID(lcpl, H5Pcreate(H5P_LINK_CREATE));
    LAPSE_H5(H5Pset_create_intermediate_group(lcpl, 1));
    for (int64_t t = 0; t < s->dims[0]; t++) {
        start[0] = (hsize_t)t;
        LAPSE_H5(H5Sselect_hyperslab(sspace, H5S_SELECT_SET, start, NULL, count, NULL));
        LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
        LAPSE_H5(H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &zero));
        LAPSE_H5(H5Pset_virtual(dcpl, vspace, src, s->path, sspace));
        snprintf(path, sizeof path, "t%05lld/s%02d/0/cells", (long long)t, k);
        LAPSE_H5ID(d, H5Dcreate2(f, path, file_type(s->dtype), vspace, lcpl, dcpl, H5P_DEFAULT));
        H5Dclose(d);
        d = H5I_INVALID_HID;
        H5Pclose(dcpl);
        dcpl = H5I_INVALID_HID;
    }
cleanup:
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (sspace >= 0)
        H5Sclose(sspace);
    if (vspace >= 0)
        H5Sclose(vspace);
    return st;
}

/* Write the BDV layout file at tmp for output out. */
static lapse_status_t write_h5(const char *tmp, const char *out, const lapse_dset_spec_t *specs,
                               int n)
{
    lapse_status_t st = LAPSE_OK;
    hid_t f = H5I_INVALID_HID;
    LAPSE_H5ID(f, H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT));
    LAPSE_TRY(put_str(f, BDV_MARK_ATTR, base_name(out)));
    for (int k = 0; k < n; k++) {
        LAPSE_TRY(put_setup(f, k, &specs[k]));
        LAPSE_TRY(put_cells(f, k, &specs[k], base_name(out)));
    }
    hid_t ff = f;
    f = H5I_INVALID_HID;
    LAPSE_H5(H5Fclose(ff));
cleanup:
    if (f >= 0)
        H5Fclose(f);
    return st;
}

/* text with &, <, >, " escaped for XML, into out[len]. */
static void xml_escape(const char *text, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = text; *p && n + 7 < len; p++) {
        const char *e = *p == '&'   ? "&amp;"
                        : *p == '<' ? "&lt;"
                        : *p == '>' ? "&gt;"
                        : *p == '"' ? "&quot;"
                                    : NULL;
        if (e) {
            memcpy(out + n, e, strlen(e));
            n += strlen(e);
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

/* The SpimData document into f. */
static void xml_body(FILE *f, const char *out, const char *h5, const lapse_dset_spec_t *specs,
                     int n, const double vox[3], const char *unit)
{
    char a[1200], b[1200];
    int64_t ntp = specs[0].dims[0];
    xml_escape(base_name(out), a, sizeof a);
    xml_escape(base_name(h5), b, sizeof b);
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" BDV_MARK_XML
            "the BigDataViewer view of %s (Fiji: Plugins > BigDataViewer > Open XML/HDF5); "
            "rewritten by every run -->\n"
            "<SpimData version=\"0.2\">\n"
            "  <BasePath type=\"relative\">.</BasePath>\n"
            "  <SequenceDescription>\n"
            "    <ImageLoader format=\"bdv.hdf5\">\n"
            "      <hdf5 type=\"relative\">%s</hdf5>\n"
            "    </ImageLoader>\n"
            "    <ViewSetups>\n",
            a, b);
    for (int k = 0; k < n; k++) {
        const lapse_dset_spec_t *s = &specs[k];
        int nd = s->ndims;
        double v[3];
        setup_voxel(s, vox, v);
        xml_escape(s->path[0] == '/' ? s->path + 1 : s->path, a, sizeof a);
        fprintf(f,
                "      <ViewSetup>\n"
                "        <id>%d</id>\n"
                "        <name>%s</name>\n"
                "        <size>%lld %lld %lld</size>\n"
                "        <voxelSize>\n"
                "          <unit>%s</unit>\n"
                "          <size>%.17g %.17g %.17g</size>\n"
                "        </voxelSize>\n"
                "        <attributes>\n"
                "          <illumination>0</illumination>\n"
                "          <channel>%d</channel>\n"
                "          <tile>0</tile>\n"
                "          <angle>0</angle>\n"
                "        </attributes>\n"
                "      </ViewSetup>\n",
                k, a, (long long)s->dims[nd - 1], (long long)s->dims[nd - 2],
                (long long)(nd == 4 ? s->dims[1] : 1), unit, v[2], v[1], v[0], k);
    }
    fprintf(f, "      <Attributes name=\"illumination\">\n        <Illumination>\n          "
               "<id>0</id>\n          <name>0</name>\n        </Illumination>\n      "
               "</Attributes>\n      <Attributes name=\"channel\">\n");
    for (int k = 0; k < n; k++) {
        xml_escape(specs[k].path[0] == '/' ? specs[k].path + 1 : specs[k].path, a, sizeof a);
        fprintf(f,
                "        <Channel>\n          <id>%d</id>\n          <name>%s</name>\n        "
                "</Channel>\n",
                k, a);
    }
    fprintf(f,
            "      </Attributes>\n      <Attributes name=\"tile\">\n        <Tile>\n          "
            "<id>0</id>\n          <name>0</name>\n        </Tile>\n      </Attributes>\n      "
            "<Attributes name=\"angle\">\n        <Angle>\n          <id>0</id>\n          "
            "<name>0</name>\n        </Angle>\n      </Attributes>\n    </ViewSetups>\n"
            "    <Timepoints type=\"range\">\n      <first>0</first>\n      <last>%lld</last>\n"
            "    </Timepoints>\n  </SequenceDescription>\n  <ViewRegistrations>\n",
            (long long)(ntp - 1));
    for (int64_t t = 0; t < ntp; t++)
        for (int k = 0; k < n; k++) {
            double v[3];
            const double *o = specs[k].org; /* voxel 0's centre: the translation */
            setup_voxel(&specs[k], vox, v);
            fprintf(f,
                    "    <ViewRegistration timepoint=\"%lld\" setup=\"%d\">\n"
                    "      <ViewTransform type=\"affine\">\n"
                    "        <Name>calibration</Name>\n"
                    "        <affine>%.17g 0.0 0.0 %.17g 0.0 %.17g 0.0 %.17g 0.0 0.0 %.17g "
                    "%.17g</affine>\n"
                    "      </ViewTransform>\n"
                    "    </ViewRegistration>\n",
                    (long long)t, k, v[2], o[2] + 0.0, v[1], o[1] + 0.0, v[0], o[0] + 0.0);
        }
    fprintf(f, "  </ViewRegistrations>\n</SpimData>\n");
}

/* Write the XML at tmp (new file), flushed to disk. */
static lapse_status_t write_xml(const char *tmp, const char *out, const char *h5,
                                const lapse_dset_spec_t *specs, int n, const double vox[3],
                                const char *unit)
{
    lapse_status_t st = LAPSE_OK;
    FILE *f = NULL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        LAPSE_FAIL(LAPSE_EIO, "cannot create %s: %s", tmp, strerror(errno));
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        LAPSE_FAIL(LAPSE_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    xml_body(f, out, h5, specs, n, vox, unit);
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0)
        LAPSE_FAIL(LAPSE_EIO, "cannot write %s: %s", tmp, strerror(errno));
cleanup:
    if (f != NULL && fclose(f) != 0 && st == LAPSE_OK)
        st = lapse_fail(LAPSE_EIO, "cannot write %s: %s", tmp, strerror(errno));
    return st;
}

lapse_status_t lapse_bdv_write(const char *out, const lapse_dset_spec_t *specs, int n,
                               const double vox[3], const char *unit)
{
    lapse_status_t st = LAPSE_OK;
    char xml[4200], h5[4200], tmp[4300] = "";
    if (n < 1)
        return LAPSE_OK;
    if (lapse_bdv_paths(out, xml, sizeof xml, h5, sizeof h5) != 0)
        return lapse_fail(LAPSE_EIO, "%s: path too long for the BigDataViewer files", out);
    lapse_h5_init();
    if (!ours_or_absent(h5, 'h', out) || !ours_or_absent(xml, 'x', out))
        return lapse_fail(LAPSE_EIO,
                          "%s or %s exists and was not written by lapse for %s: left alone "
                          "(remove or rename it to get the BigDataViewer files of %s)",
                          xml, h5, out, out);
    LAPSE_TRY(fresh_tmp(h5, tmp, sizeof tmp));
    if ((st = write_h5(tmp, out, specs, n)) != LAPSE_OK)
        goto cleanup;
    if (rename(tmp, h5) != 0)
        LAPSE_FAIL(LAPSE_EIO, "rename(%s, %s) failed: %s", tmp, h5, strerror(errno));
    LAPSE_TRY(fresh_tmp(xml, tmp, sizeof tmp));
    LAPSE_TRY(write_xml(tmp, out, h5, specs, n, vox, unit));
    if (rename(tmp, xml) != 0)
        LAPSE_FAIL(LAPSE_EIO, "rename(%s, %s) failed: %s", tmp, xml, strerror(errno));
    tmp[0] = '\0';
cleanup:
    if (st != LAPSE_OK && tmp[0] != '\0')
        unlink(tmp);
    return st;
}

lapse_status_t lapse_bdv_remove(const char *out, int *removed)
{
    char xml[4200], h5[4200];
    *removed = 0;
    if (lapse_bdv_paths(out, xml, sizeof xml, h5, sizeof h5) != 0)
        return lapse_fail(LAPSE_EIO, "%s: path too long for the BigDataViewer files", out);
    lapse_h5_init();
    const char *paths[2] = {xml, h5}; /* the XML first: it is what viewers open */
    const char kinds[2] = {'x', 'h'};
    for (int i = 0; i < 2; i++) {
        struct stat sb;
        if (lstat(paths[i], &sb) != 0 || !ours_or_absent(paths[i], kinds[i], out))
            continue; /* absent, or not lapse's */
        if (unlink(paths[i]) != 0)
            return lapse_fail(LAPSE_EIO, "cannot remove %s: %s", paths[i], strerror(errno));
        (*removed)++;
    }
    return LAPSE_OK;
}
