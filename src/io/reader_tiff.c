/*
 * io/reader_tiff.c - the TIFF input backend (libtiff): classic TIFF and BigTIFF, ImageJ
 * hyperstacks, OME-TIFF and plain multi-page files, read plane by plane (see reader.h for the
 * backend contract).
 *
 * The axes come from the first page's ImageDescription: ImageJ ("images=", "channels=",
 * "slices=", "frames="; planes in c, z, t order), OME-XML (SizeT/SizeZ/SizeC and DimensionOrder
 * of the first Pixels element, found by a plain attribute scan), tifffile's JSON ("shape" and
 * "axes", the letters T, Z, C then YX; planes in the C order of the shape; a "shape" of more than
 * one page axis without "axes" is refused), else every page is one z plane of a single
 * timepoint. Data with frames only is [t, y, x]; everything else [t, z, y, x]. ImageJ's signed
 * 16-bit images (uint16 pages with the calibration -32768 + 1 x value) are read as int16. Data
 * with channels is read one channel at a time (input.channel, "#channel=N" after the dataset
 * name; refused without it). Pages of int16, uint32 and float64 are delivered as they are (the
 * facade converts them). The voxel size comes from the OME PhysicalSize attributes, or the
 * ImageJ spacing= and unit= with the X/YResolution tags (tiff_voxel_size). The
 * open scans every page once (same size and sample type, a codec this libtiff decodes, no
 * compressed strip or tile that decodes to more than 1 GiB) and keeps
 * each page's IFD offset, so a read jumps straight to the planes of its box and decodes only the
 * strips or tiles it touches, cropping y/x on the host. input.dataset is not used. libtiff's
 * errors go to a handler per open file (TIFFOpenExt), so different handles may be used from
 * different threads.
 *
 * Decoded strips and tiles of compressed pages are kept for later reads (a strip spans every
 * tile along x, and halos reach into the neighbours' strips and tiles; io/reader_zarr.c keeps
 * Zarr chunks the same way): up to one timepoint's within LAPSE_H5_INPUT_CACHE bytes (default
 * 256 MiB; room for fewer than 2: none kept), the least recently used replaced first.
 */
#include "io/reader.h"

#include "io/json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#define TIFF_JSON_MAX_RANK 16 /* axes of a tifffile JSON description's "shape" */
/* Bytes one compressed strip or tile may decode to (each read decodes whole ones: a few KB of
 * deflate can claim gigabytes); as io/reader_zarr.c's chunk limit. */
#define TIFF_DECODED_LIMIT (1LL << 30)

/* An open input: the handle behind lapse_reader_t. */
typedef struct {
    TIFF *tif;
    char file[4096];
    char err[512]; /* libtiff's last error on this handle ("" when none) */
    uint64_t *ifd; /* IFD offset of every page */
    int64_t npages;
    int64_t stride_t; /* page index of (t, z, c): t * stride_t + z * stride_z + c * stride_c */
    int64_t stride_z;
    int64_t page0; /* channel * stride_c: the page of (0, 0) */
    int64_t ny, nx;
    size_t esize;
    int signed16;       /* ImageJ's signed 16-bit: uint16 pages read as int16 (stored - 32768) */
    uint64_t contig;    /* > 0: the planes lie one after another from this offset (imagej_contig) */
    float xres, yres;   /* page 0's XResolution / YResolution (0: none) */
    uint16_t resunit;   /* page 0's ResolutionUnit (0: none given) */
    unsigned char *buf; /* one decoded strip or tile */
    size_t buflen;
    uint64_t fsize; /* the file's size in bytes */
    /* set by scan_pages: pages that are compressed, and over them the most bytes one strip or
     * tile decodes to and the most strips or tiles a page has */
    int64_t ncompressed;
    uint64_t unit_max, units_max;
    /* the decoded strips and tiles kept (see the header): nslots slots of unit_max bytes, 0 when
     * none are kept; a slot holds unit idx of page when data is set and ok, got bytes of it */
    struct tiff_slot {
        int64_t page;
        uint32_t idx;
        unsigned char *data;
        tmsize_t got;
        int ok;
        uint64_t used;
    } * slots;
    int nslots;
    uint64_t clock;
} tiff_input_t;

/* The axes found in a file. */
typedef struct {
    int64_t t, z, c;            /* sizes */
    int64_t stride_t, stride_z; /* page index strides */
    int64_t stride_c;
    int ndims;                      /* 3 ([t,y,x]) or 4 */
    int64_t declared_y, declared_x; /* OME SizeY/SizeX, else 0 */
    const char *kind;               /* "ImageJ hyperstack", "OME-TIFF", "tifffile JSON description",
                                       "multi-page TIFF" */
    int plain;                      /* 1: no axes in the description (multi-page TIFF) */
    int64_t series;                 /* OME-TIFF: the Pixels elements (images) it describes */
} tiff_axes_t;

static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    tiff_input_t *in = user;
    (void)tif;
    (void)module;
    if (in != NULL && in->err[0] == '\0') /* the first error is the cause */
        vsnprintf(in->err, sizeof in->err, fmt, ap);
    return 1; /* handled: libtiff's global handler (stderr) is not called */
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif, (void)user, (void)module, (void)fmt, (void)ap;
    return 1; /* unknown private tags and the like: not the user's concern */
}

/* a x b for a, b >= 0, saturated at INT64_MAX: a description's sizes are the file's word, and
 * their product must not wrap round to the page count (channels = slices = 2^63 - 1, frames = 2
 * has a product of 2 modulo 2^64). */
static int64_t mul_sat(int64_t a, int64_t b)
{
    return a != 0 && b > INT64_MAX / a ? INT64_MAX : a * b;
}

/* Value of integer key ("frames=") at the start of a line of an ImageJ description; dflt when
 * absent; -1 when present but not a positive number. */
static int64_t ij_value(const char *desc, const char *key, int64_t dflt)
{
    size_t k = strlen(key);
    for (const char *p = desc; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, k) == 0) {
            char *end;
            long long v = strtoll(p + k, &end, 10);
            return v > 0 && (*end == '\n' || *end == '\0' || *end == '\r') ? v : -1;
        }
    }
    return dflt;
}

/* Value of attribute name (e.g. "SizeT") in the XML tag starting at tag (up to its '>') into
 * out[len]. 0 when found. */
static int xml_attr(const char *tag, const char *name, char *out, size_t len)
{
    const char *end = strchr(tag, '>');
    size_t n = strlen(name);
    for (const char *p = tag; (p = strstr(p, name)) != NULL && (end == NULL || p < end); p += n) {
        const char *q = p + n;
        if ((p[-1] != ' ' && p[-1] != '\n' && p[-1] != '\t' && p[-1] != '\r') || q[0] != '=' ||
            (q[1] != '"' && q[1] != '\''))
            continue;
        const char *v = q + 2, *e = strchr(v, q[1]);
        if (e == NULL || (size_t)(e - v) >= len)
            return -1;
        memcpy(out, v, (size_t)(e - v));
        out[e - v] = '\0';
        return 0;
    }
    return -1;
}

/* The first Pixels element of an OME-XML text (with or without a namespace prefix), or NULL. */
static const char *ome_pixels(const char *xml)
{
    for (const char *p = xml; (p = strstr(p, "Pixels")) != NULL; p += 6)
        if (p > xml && (p[-1] == '<' || p[-1] == ':') &&
            (p[6] == ' ' || p[6] == '\n' || p[6] == '\t'))
            return p;
    return NULL;
}

/* Positive integer attribute name of tag into *v (1 when absent and optional). */
static lapse_status_t ome_size(const char *file, const char *tag, const char *name, int optional,
                               int64_t *v)
{
    lapse_status_t st = LAPSE_OK;
    char buf[32];
    char *end;
    if (xml_attr(tag, name, buf, sizeof buf) != 0) {
        if (!optional)
            LAPSE_FAIL(LAPSE_EINPUT, "%s: the OME-XML Pixels element has no %s", file, name);
        *v = 1;
        return LAPSE_OK;
    }
    long long x = strtoll(buf, &end, 10);
    if (x < 1 || *end != '\0')
        LAPSE_FAIL(LAPSE_EINPUT, "%s: the OME-XML says %s=\"%s\", not a positive number", file,
                   name, buf);
    *v = x;
cleanup:
    return st;
}

/* Axes of an OME-TIFF from the ImageDescription xml. */
static lapse_status_t ome_axes(const char *file, const char *xml, tiff_axes_t *ax)
{
    lapse_status_t st = LAPSE_OK;
    char order[16];
    int64_t sy = 0, sx = 0;
    const char *px = ome_pixels(xml);
    if (px == NULL)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: the OME-XML in the ImageDescription has no Pixels element",
                   file);
    LAPSE_TRY(ome_size(file, px, "SizeT", 1, &ax->t));
    LAPSE_TRY(ome_size(file, px, "SizeZ", 1, &ax->z));
    LAPSE_TRY(ome_size(file, px, "SizeC", 1, &ax->c));
    LAPSE_TRY(ome_size(file, px, "SizeY", 0, &sy));
    LAPSE_TRY(ome_size(file, px, "SizeX", 0, &sx));
    if (xml_attr(px, "DimensionOrder", order, sizeof order) != 0)
        snprintf(order, sizeof order, "XYZCT"); /* the schema's default */
    if (strlen(order) != 5 || strncmp(order, "XY", 2) != 0 || !strchr(order + 2, 'Z') ||
        !strchr(order + 2, 'C') || !strchr(order + 2, 'T'))
        LAPSE_FAIL(LAPSE_EINPUT, "%s: the OME-XML DimensionOrder \"%s\" is not one of XY + ZCT",
                   file, order);
    int64_t stride = 1;
    for (int i = 2; i < 5; i++) {
        int64_t size = order[i] == 'Z' ? ax->z : order[i] == 'C' ? ax->c : ax->t;
        if (order[i] == 'Z')
            ax->stride_z = stride;
        else if (order[i] == 'T')
            ax->stride_t = stride;
        else
            ax->stride_c = stride;
        stride = mul_sat(stride, size);
    }
    ax->declared_y = sy;
    ax->declared_x = sx;
    ax->kind = "OME-TIFF";
    for (const char *p = px; p != NULL; p = ome_pixels(p + 6))
        ax->series++;
cleanup:
    return st;
}

/* Axes of an ImageJ hyperstack (planes in c, z, t order) from its description. */
static lapse_status_t imagej_axes(const char *file, const char *desc, int64_t npages,
                                  tiff_axes_t *ax)
{
    lapse_status_t st = LAPSE_OK;
    int64_t images = ij_value(desc, "images=", npages);
    ax->c = ij_value(desc, "channels=", 1);
    ax->z = ij_value(desc, "slices=", 1);
    ax->t = ij_value(desc, "frames=", 1);
    if (images < 0 || ax->c < 0 || ax->z < 0 || ax->t < 0)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the ImageJ description has an images=, channels=, slices= or frames= "
                   "that is not a positive number",
                   file);
    if (ax->c == 1 && ax->z == 1 && ax->t == 1 && images > 1)
        ax->z = images; /* a plain ImageJ stack: its images are slices */
    if (mul_sat(mul_sat(ax->c, ax->z), ax->t) != images)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the ImageJ description says images=%lld, but channels x slices x frames "
                   "= %lld x %lld x %lld",
                   file, (long long)images, (long long)ax->c, (long long)ax->z, (long long)ax->t);
    ax->stride_c = 1;
    ax->stride_z = ax->c;
    ax->stride_t = ax->c * ax->z;
    ax->kind = "ImageJ hyperstack";
cleanup:
    return st;
}

/* Axes of a file whose description desc is tifffile's JSON (the "shaped" description its
 * imwrite writes without imagej= or ome=: {"shape": [3, 4, 37, 45], "axes": "TZYX"}, "axes" only
 * when the writer named them). ax untouched (its kind NULL) when desc is not a JSON object with a
 * "shape" (any other description). Else, with "axes": the axes in ax, which must be the
 * letters T, Z, C (each at most once, either case) followed by YX, over a shape of as many
 * positive integers whose page axes (all but YX) hold npages planes (in C order: the last page
 * axis fastest) of ny x nx; LAPSE_EINPUT naming the shape, the axes and what is wrong otherwise.
 * Without "axes": a shape of more than one page axis of several planes (axes of 1 do not count) is
 * LAPSE_EINPUT (which one is t, z or c is
 * unknown); any other shape leaves ax untouched (a plain multi-page file, as before). */
static lapse_status_t json_axes(const char *file, const char *desc, int64_t npages, int64_t ny,
                                int64_t nx, tiff_axes_t *ax)
{
    lapse_status_t st = LAPSE_OK;
    lapse_json_t *doc = NULL;
    int64_t shape[TIFF_JSON_MAX_RANK];
    char shp[TIFF_JSON_MAX_RANK * 22 + 4] = "[", letters[TIFF_JSON_MAX_RANK + 1] = "", err[160];
    size_t rank = 0;
    int ok;
    if (desc[0] != '{' || lapse_json_parse(desc, strlen(desc), &doc, err, sizeof err) != 0)
        return LAPSE_OK; /* not JSON (or not strict JSON): some other description */
    const lapse_json_t *sh = lapse_json_get(doc, "shape"), *axes = lapse_json_get(doc, "axes");
    if (sh == NULL)
        goto cleanup; /* some other JSON: not tifffile's */
    ok = sh->type == LAPSE_JSON_ARRAY && sh->n >= 2 && sh->n <= TIFF_JSON_MAX_RANK;
    for (rank = 0; ok && rank < sh->n; rank++) {
        const lapse_json_t *e = sh->items[rank];
        ok = e->type == LAPSE_JSON_NUMBER && e->is_integer && e->integer >= 1;
        shape[rank] = ok ? e->integer : 0;
        snprintf(shp + strlen(shp), sizeof shp - strlen(shp), "%s%lld", rank ? ", " : "",
                 (long long)shape[rank]);
    }
    strcat(shp, "]");
    if (axes == NULL) {
        int big = 0; /* page axes of more than one plane: with two, which is t, z or c is unknown */
        for (size_t i = 0; ok && i + 2 < rank; i++)
            big += shape[i] > 1;
        if (ok && big >= 2)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: the tifffile JSON description's shape %s has more than one page axis "
                       "and no \"axes\", so which of them is t, z or c is unknown: write the file "
                       "with tifffile.imwrite(..., metadata={'axes': 'TZYX'}) (your array's axes, "
                       "of T, Z, C, Y, X) or in ImageJ format (imagej=True)",
                       file, shp);
        goto cleanup; /* pages, rows and columns at most: a plain multi-page file */
    }
    if (!ok)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the tifffile JSON description's \"shape\" is not a list of 2 to %d "
                   "positive integers",
                   file, TIFF_JSON_MAX_RANK);
    if (axes->type != LAPSE_JSON_STRING)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the tifffile JSON description (shape %s) has \"axes\" of type %s, not a "
                   "string like \"TZYX\"",
                   file, shp, lapse_json_type_name(axes->type));
    if (strlen(axes->string) != rank)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the tifffile JSON description has shape %s but axes \"%.40s\": %zu letters "
                   "for %zu axes",
                   file, shp, axes->string, strlen(axes->string), rank);
    for (size_t i = 0; i < rank; i++) {
        char l = (char)toupper((unsigned char)axes->string[i]);
        if (strchr("TZCYX", l) == NULL)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: the tifffile JSON description (shape %s, axes \"%s\") has axis '%c': "
                       "lapse reads only T, Z, C, Y and X (each at most once, ending in YX)",
                       file, shp, axes->string, axes->string[i]);
        if (strchr(letters, l) != NULL)
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: the tifffile JSON description (shape %s, axes \"%s\") has axis '%c' "
                       "twice",
                       file, shp, axes->string, axes->string[i]);
        letters[i] = l;
        letters[i + 1] = '\0';
    }
    if (strcmp(letters + rank - 2, "YX") != 0)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the tifffile JSON description (shape %s, axes \"%s\") does not end in YX "
                   "(the rows and columns of a page)",
                   file, shp, axes->string);
    if (shape[rank - 2] != ny || shape[rank - 1] != nx)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the tifffile JSON description (shape %s, axes \"%s\") gives pages of "
                   "(Y, X) = (%lld, %lld), but the file's pages are (%lld, %lld)",
                   file, shp, axes->string, (long long)shape[rank - 2], (long long)shape[rank - 1],
                   (long long)ny, (long long)nx);
    int64_t planes = 1; /* saturated at INT64_MAX (a mismatch all the same) */
    for (size_t i = 0; i + 2 < rank; i++)
        planes = shape[i] > INT64_MAX / planes ? INT64_MAX : planes * shape[i];
    if (planes != npages)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the tifffile JSON description (shape %s, axes \"%s\") describes %lld "
                   "pages, but the file has %lld",
                   file, shp, axes->string, (long long)planes, (long long)npages);
    ax->t = ax->z = ax->c = 1;
    ax->stride_t = ax->stride_z = ax->stride_c = 1;
    int64_t stride = 1; /* of page axis i: the product of the page axes after it */
    for (size_t i = rank - 2; i-- > 0; stride *= shape[i]) {
        if (letters[i] == 'T')
            ax->t = shape[i], ax->stride_t = stride;
        else if (letters[i] == 'Z')
            ax->z = shape[i], ax->stride_z = stride;
        else
            ax->c = shape[i], ax->stride_c = stride;
    }
    ax->kind = "tifffile JSON description";
cleanup:
    lapse_json_free(doc);
    return st;
}

/* The axes of the file from its first page's description (desc may be NULL) and its npages
 * pages of ny x nx. */
static lapse_status_t find_axes(const char *file, const char *desc, int64_t npages, int64_t ny,
                                int64_t nx, tiff_axes_t *ax)
{
    lapse_status_t st = LAPSE_OK;
    memset(ax, 0, sizeof *ax);
    if (desc != NULL && strncmp(desc, "ImageJ=", 7) == 0)
        LAPSE_TRY(imagej_axes(file, desc, npages, ax));
    else if (desc != NULL && strstr(desc, "<OME") != NULL)
        LAPSE_TRY(ome_axes(file, desc, ax));
    else if (desc != NULL)
        LAPSE_TRY(json_axes(file, desc, npages, ny, nx, ax));
    if (ax->kind == NULL) { /* no description, or one that names no axes */
        ax->t = ax->c = 1;
        ax->z = npages;
        ax->stride_z = 1;
        ax->stride_t = npages;
        ax->stride_c = 1;
        ax->kind = "multi-page TIFF";
        ax->plain = 1;
    }
    const int64_t planes = mul_sat(mul_sat(ax->t, ax->z), ax->c);
    if (planes != npages && ax->series > 1)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the OME-XML describes %lld images (series), the first of %lld planes, in "
                   "%lld pages: lapse reads an OME-TIFF of one image; save each series as its "
                   "own file (Fiji: Bio-Formats Importer with that series, then File > Save As "
                   "> OME-TIFF)",
                   file, (long long)ax->series, (long long)planes, (long long)npages);
    if (planes != npages)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the %s describes %s%lld planes (t=%lld, z=%lld, c=%lld) but the file has "
                   "%lld pages",
                   file, ax->kind, planes == INT64_MAX ? "at least " : "", (long long)planes,
                   (long long)ax->t, (long long)ax->z, (long long)ax->c, (long long)npages);
    ax->ndims = ax->t > 1 && ax->z == 1 ? 3 : 4;
cleanup:
    return st;
}

/* input.axes (LAPSE_AXES_*, 0: not given) on the axes found: a plain multi-page TIFF's pages
 * become timepoints of one plane (tyx) or stay the z planes of one timepoint (zyx); a file that
 * names its axes must agree with it (an ImageJ, OME or tifffile JSON description is the file's
 * own word). */
static lapse_status_t apply_axes(const char *file, int axes, tiff_axes_t *ax)
{
    lapse_status_t st = LAPSE_OK;
    if (axes == 0)
        return LAPSE_OK;
    if (ax->plain) {
        if (axes == LAPSE_AXES_TYX) {
            ax->t = ax->z;
            ax->z = 1;
            ax->stride_t = 1;
            ax->stride_z = 1;
            ax->ndims = ax->t > 1 ? 3 : 4;
        }
        ax->plain = 0; /* the axes are the config's word now, not assumed */
        return LAPSE_OK;
    }
    const int tyx = ax->ndims == 3 || (ax->z == 1 && ax->t == 1);
    const int zyx = ax->t == 1;
    if ((axes == LAPSE_AXES_TYX && !tyx) || (axes == LAPSE_AXES_ZYX && !zyx))
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: input.axes is %s, but the file's %s gives %lld timepoints of %lld "
                   "planes: leave input.axes out (it is for TIFFs that name no axes)",
                   file, axes == LAPSE_AXES_TYX ? "tyx" : "zyx", ax->kind, (long long)ax->t,
                   (long long)ax->z);
cleanup:
    return st;
}

/* Micrometres per unit of a length unit name ("micron", "um", "\u00B5m" as ImageJ writes it,
 * UTF-8 or Latin-1 "µm", "nm", "mm", "cm", "m"); 0 when not a known length unit. */
static double um_per_unit(const char *u)
{
    static const struct {
        const char *name;
        double um;
    } units[] = {{"micron", 1},
                 {"microns", 1},
                 {"um", 1},
                 {"\\u00B5m", 1},
                 {"\xc2\xb5m", 1},
                 {"\xb5m", 1},
                 {"\xce\xbcm", 1},
                 {"nm", 1e-3},
                 {"mm", 1e3},
                 {"cm", 1e4},
                 {"m", 1e6},
                 /* OME UnitsLength: angstrom (U+00C5 and U+212B), picometre, decimetre */
                 {"\xc3\x85", 1e-4},
                 {"\xe2\x84\xab", 1e-4},
                 {"pm", 1e-6},
                 {"dm", 1e5}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(u, units[i].name) == 0)
            return units[i].um;
    return 0;
}

/* Text value of key ("unit=") at the start of a line of an ImageJ description into out[len];
 * 0 when found. */
static int ij_text(const char *desc, const char *key, char *out, size_t len)
{
    size_t k = strlen(key);
    for (const char *p = desc; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, k) == 0) {
            size_t n = strcspn(p + k, "\r\n");
            snprintf(out, len, "%.*s", (int)n, p + k);
            return 0;
        }
    }
    return -1;
}

/* 1 when desc is an ImageJ description of a signed 16-bit image: ImageJ keeps those as uint16
 * pages (value + 32768) with the calibration cf=0 (a straight line), c0=-32768, c1=1, and Fiji
 * shows and measures the signed values (ImageJ's Calibration.isSigned16Bit). Other
 * calibrations (of units, optical density...) are not the data's values and are not applied. */
static int ij_signed16(const char *desc)
{
    char cf[64], c0[64], c1[64];
    if (desc == NULL || strncmp(desc, "ImageJ=", 7) != 0 || ij_text(desc, "cf=", cf, sizeof cf) ||
        ij_text(desc, "c0=", c0, sizeof c0) || ij_text(desc, "c1=", c1, sizeof c1))
        return 0;
    char *e0, *e1, *e2;
    long f = strtol(cf, &e0, 10);
    double a = strtod(c0, &e1), b = strtod(c1, &e2);
    return e0 != cf && *e0 == '\0' && f == 0 && e1 != c0 && *e1 == '\0' && a == -32768.0 &&
           e2 != c1 && *e2 == '\0' && b == 1.0;
}

/* Voxel size (z, y, x micrometres, 0 unknown) of the file into vs: OME PhysicalSizeX/Y/Z (with
 * their units, micrometres by default); ImageJ "spacing=" (z) and the XResolution /
 * YResolution tags (pixels per unit, the unit from "unit="); else the resolution tags when
 * their ResolutionUnit is centimetre (an inch is taken as a print setting, not a size). */
static void tiff_voxel_size(const tiff_input_t *in, const char *desc, double vs[3])
{
    char buf[64], unit[64];
    vs[0] = vs[1] = vs[2] = 0;
    if (desc != NULL && strstr(desc, "<OME") != NULL) {
        const char *px = ome_pixels(desc);
        static const char *const names[3] = {"PhysicalSizeZ", "PhysicalSizeY", "PhysicalSizeX"};
        for (int a = 0; px != NULL && a < 3; a++) {
            char uname[32];
            double f = 1;
            snprintf(uname, sizeof uname, "%sUnit", names[a]);
            if (xml_attr(px, uname, unit, sizeof unit) == 0)
                f = um_per_unit(unit);
            if (xml_attr(px, names[a], buf, sizeof buf) == 0) {
                char *end;
                double v = strtod(buf, &end);
                vs[a] = *end == '\0' && v > 0 && f > 0 ? v * f : 0;
            }
        }
        return;
    }
    double f = 0;
    if (desc != NULL && strncmp(desc, "ImageJ=", 7) == 0) {
        f = ij_text(desc, "unit=", unit, sizeof unit) == 0 ? um_per_unit(unit) : 0;
        if (f > 0 && ij_text(desc, "spacing=", buf, sizeof buf) == 0) {
            char *end;
            double v = strtod(buf, &end);
            vs[0] = v > 0 && (*end == '\0' || *end == '\r') ? v * f : 0;
        }
        if (in->resunit == RESUNIT_CENTIMETER)
            f = 1e4;
        else if (in->resunit == RESUNIT_INCH)
            f = 0;
    } else if (in->resunit == RESUNIT_CENTIMETER) {
        f = 1e4;
    }
    if (f > 0 && in->yres > 0)
        vs[1] = f / in->yres;
    if (f > 0 && in->xres > 0)
        vs[2] = f / in->xres;
}

/* The dtype of the current page, or LAPSE_EINPUT naming its sample type. Also checks one sample
 * per pixel and a codec this libtiff decodes. */
static lapse_status_t page_type(tiff_input_t *in, int64_t page, lapse_dtype_t *dt)
{
    lapse_status_t st = LAPSE_OK;
    uint16_t bps = 1, fmt = SAMPLEFORMAT_UINT, spp = 1, comp = COMPRESSION_NONE;
    TIFFGetFieldDefaulted(in->tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(in->tif, TIFFTAG_SAMPLEFORMAT, &fmt);
    TIFFGetFieldDefaulted(in->tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(in->tif, TIFFTAG_COMPRESSION, &comp);
    if (spp != 1)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: page %lld has %u samples per pixel (RGB or interleaved channels): only "
                   "one is supported",
                   in->file, (long long)page, (unsigned)spp);
    if (!TIFFIsCODECConfigured(comp)) {
        const TIFFCodec *c = TIFFFindCODEC(comp);
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: page %lld is compressed with codec %u (%s), which this libtiff cannot "
                   "decode; rewrite the file uncompressed or with LZW/Deflate",
                   in->file, (long long)page, (unsigned)comp, c ? c->name : "unknown");
    }
    if (fmt == SAMPLEFORMAT_UINT && bps == 8)
        *dt = LAPSE_DT_U8;
    else if (fmt == SAMPLEFORMAT_UINT && bps == 16)
        *dt = LAPSE_DT_U16;
    else if (fmt == SAMPLEFORMAT_UINT && bps == 32)
        *dt = LAPSE_DT_U32;
    else if (fmt == SAMPLEFORMAT_INT && bps == 16)
        *dt = LAPSE_DT_I16;
    else if (fmt == SAMPLEFORMAT_IEEEFP && bps == 32)
        *dt = LAPSE_DT_F32;
    else if (fmt == SAMPLEFORMAT_IEEEFP && bps == 64)
        *dt = LAPSE_DT_F64;
    else
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: type %s%u is not supported (use uint8, uint16, int16, uint32, float32 or "
                   "float64)",
                   in->file,
                   fmt == SAMPLEFORMAT_UINT     ? "uint"
                   : fmt == SAMPLEFORMAT_INT    ? "int"
                   : fmt == SAMPLEFORMAT_IEEEFP ? "float"
                                                : "complex or untyped ",
                   (unsigned)bps);
cleanup:
    return st;
}

/* Walk every page of the open file: record its IFD offset, check its size and type against
 * the first page's. Fills in->ifd, in->npages, in->ny, in->nx, *dt and *desc (the first page's
 * ImageDescription copied, NULL when none; the caller frees it). */
/* Refuse (LAPSE_EINPUT) page p of the current directory when a strip or tile of its image data
 * lies beyond the file's end: a truncated file is bad input before any output is made, not a
 * read failure in the middle of a run. */
static lapse_status_t check_extents(tiff_input_t *in, int64_t p)
{
    lapse_status_t st = LAPSE_OK;
    const int tiled = TIFFIsTiled(in->tif);
    uint64_t *off = NULL, *cnt = NULL;
    const uint32_t n = tiled ? TIFFNumberOfTiles(in->tif) : TIFFNumberOfStrips(in->tif);
    if (!TIFFGetField(in->tif, tiled ? TIFFTAG_TILEOFFSETS : TIFFTAG_STRIPOFFSETS, &off) ||
        !TIFFGetField(in->tif, tiled ? TIFFTAG_TILEBYTECOUNTS : TIFFTAG_STRIPBYTECOUNTS, &cnt) ||
        off == NULL || cnt == NULL)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: page %lld has no %s offsets or byte counts (damaged file?)",
                   in->file, (long long)p, tiled ? "tile" : "strip");
    for (uint32_t i = 0; i < n; i++)
        if (off[i] > in->fsize || cnt[i] > in->fsize - off[i])
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: page %lld: %s %u (bytes %llu to %llu) lies beyond the end of the "
                       "file (%llu bytes): the file is truncated or damaged",
                       in->file, (long long)p, tiled ? "tile" : "strip", (unsigned)i,
                       (unsigned long long)off[i], (unsigned long long)(off[i] + cnt[i]),
                       (unsigned long long)in->fsize);
cleanup:
    return st;
}

/* Refuse (LAPSE_EINPUT) page p of the current directory when it is compressed and one of its
 * strips or tiles decodes to more than TIFF_DECODED_LIMIT bytes: every read of a box decodes the
 * whole strips or tiles it touches into one buffer of that size. */
static lapse_status_t check_decoded_size(tiff_input_t *in, int64_t p)
{
    lapse_status_t st = LAPSE_OK;
    uint16_t comp = COMPRESSION_NONE;
    const int tiled = TIFFIsTiled(in->tif);
    TIFFGetFieldDefaulted(in->tif, TIFFTAG_COMPRESSION, &comp);
    if (comp == COMPRESSION_NONE)
        return LAPSE_OK; /* its bytes are in the file (check_extents) */
    const uint64_t n = tiled ? TIFFTileSize64(in->tif) : TIFFStripSize64(in->tif);
    const uint64_t units = tiled ? TIFFNumberOfTiles(in->tif) : TIFFNumberOfStrips(in->tif);
    in->ncompressed++;
    if (n > in->unit_max)
        in->unit_max = n;
    if (units > in->units_max)
        in->units_max = units;
    if (n == 0 || n > (uint64_t)TIFF_DECODED_LIMIT)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: page %lld: one compressed %s decodes to %llu bytes%s, more than lapse "
                   "decodes (%lld): rewrite the file with smaller strips or tiles (tifffile: "
                   "tile=(256, 256))",
                   in->file, (long long)p, tiled ? "tile" : "strip", (unsigned long long)n,
                   n == 0 ? " (too many to count)" : "", (long long)TIFF_DECODED_LIMIT);
cleanup:
    return st;
}

static lapse_status_t scan_pages(tiff_input_t *in, lapse_dtype_t *dt, char **desc)
{
    lapse_status_t st = LAPSE_OK;
    size_t cap = 0;
    *desc = NULL;
    do {
        uint32_t w = 0, h = 0;
        lapse_dtype_t pdt = LAPSE_DT_AUTO;
        int64_t p = in->npages;
        if ((size_t)p == cap) {
            cap = cap ? 2 * cap : 64;
            uint64_t *n = realloc(in->ifd, cap * sizeof *n);
            LAPSE_ALLOC(n);
            in->ifd = n;
        }
        in->ifd[p] = TIFFCurrentDirOffset(in->tif);
        if (!TIFFGetField(in->tif, TIFFTAG_IMAGEWIDTH, &w) ||
            !TIFFGetField(in->tif, TIFFTAG_IMAGELENGTH, &h) || w == 0 || h == 0)
            LAPSE_FAIL(LAPSE_EINPUT, "%s: page %lld has no image size (damaged file?)", in->file,
                       (long long)p);
        LAPSE_TRY(page_type(in, p, &pdt));
        LAPSE_TRY(check_extents(in, p));
        LAPSE_TRY(check_decoded_size(in, p));
        if (p == 0) {
            char *d = NULL;
            in->ny = h;
            in->nx = w;
            *dt = pdt;
            if (!TIFFGetField(in->tif, TIFFTAG_XRESOLUTION, &in->xres))
                in->xres = 0;
            if (!TIFFGetField(in->tif, TIFFTAG_YRESOLUTION, &in->yres))
                in->yres = 0;
            if (!TIFFGetField(in->tif, TIFFTAG_RESOLUTIONUNIT, &in->resunit))
                in->resunit = 0;
            if (TIFFGetField(in->tif, TIFFTAG_IMAGEDESCRIPTION, &d) && d != NULL) {
                free(*desc); /* NULL: page 0 comes once */
                *desc = strdup(d);
                LAPSE_ALLOC(*desc);
            }
        } else if (h != in->ny || w != in->nx || pdt != *dt) {
            LAPSE_FAIL(LAPSE_EINPUT,
                       "%s: page %lld is %ux%u %s, page 0 %lldx%lld %s: every page must have the "
                       "same size and type",
                       in->file, (long long)p, (unsigned)w, (unsigned)h, lapse_dtype_name(pdt),
                       (long long)in->nx, (long long)in->ny, lapse_dtype_name(*dt));
        }
        in->npages++;
    } while (TIFFReadDirectory(in->tif));
    if (in->err[0] != '\0')
        LAPSE_FAIL(LAPSE_EINPUT, "%s: page %lld cannot be read: %s (truncated or damaged file?)",
                   in->file, (long long)in->npages, in->err);
cleanup:
    if (st != LAPSE_OK) {
        free(*desc);
        *desc = NULL;
    }
    return st;
}

/* ImageJ's stacks beyond 4 GiB (and tifffile's imwrite(..., truncate=True)) have one IFD: the
 * ImageJ description's images= counts the planes, which follow the first page's uncompressed
 * data one after another. When the file has exactly one page and images= says more, check that
 * page 0 is such (uncompressed, in strips that follow each other, one plane's bytes) and that
 * the file holds every plane, then read planes by offset (in->contig; in->npages the planes).
 * in->esize must be set. */
static lapse_status_t imagej_contig(tiff_input_t *in, const char *desc)
{
    lapse_status_t st = LAPSE_OK;
    uint16_t comp = COMPRESSION_NONE;
    uint64_t *off = NULL, *cnt = NULL;
    if (desc == NULL || strncmp(desc, "ImageJ=", 7) != 0 || in->npages != 1)
        return LAPSE_OK;
    const int64_t images = ij_value(desc, "images=", 1);
    if (images <= 1)
        return LAPSE_OK;
    if (!TIFFSetSubDirectory(in->tif, in->ifd[0]))
        LAPSE_FAIL(LAPSE_EINPUT, "%s: page 0: %s", in->file, in->err);
    TIFFGetFieldDefaulted(in->tif, TIFFTAG_COMPRESSION, &comp);
    const uint64_t plane = (uint64_t)in->ny * (uint64_t)in->nx * in->esize;
    const uint32_t n = TIFFIsTiled(in->tif) ? 0 : TIFFNumberOfStrips(in->tif);
    int ok = comp == COMPRESSION_NONE && n > 0 &&
             TIFFGetField(in->tif, TIFFTAG_STRIPOFFSETS, &off) &&
             TIFFGetField(in->tif, TIFFTAG_STRIPBYTECOUNTS, &cnt) && off != NULL && cnt != NULL;
    uint64_t sum = 0;
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = i == 0 || off[i] == off[i - 1] + cnt[i - 1];
        sum += cnt[i];
    }
    if (!ok || sum != plane)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the ImageJ description says images=%lld but the file has one page, "
                   "whose data is %s: lapse reads such a one-page ImageJ stack (as ImageJ writes "
                   "stacks beyond 4 GiB) only from uncompressed planes stored one after another",
                   in->file, (long long)images,
                   comp != COMPRESSION_NONE ? "compressed" : "not one plane in consecutive strips");
    /* a page written data first, IFD after (libtiff's way) is no such stack: its IFD would
     * lie among the planes that images= needs */
    if (in->ifd[0] >= off[0] && in->ifd[0] - off[0] < (uint64_t)images * plane)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the ImageJ description says images=%lld but the file has one page, "
                   "whose directory (at byte %llu) lies where planes 2 to %lld would be: not a "
                   "one-page ImageJ stack of contiguous planes (a stack cut from a larger one "
                   "keeps the larger one's images=; save it again from Fiji)",
                   in->file, (long long)images, (unsigned long long)in->ifd[0], (long long)images);
    const uint64_t have = in->fsize > off[0] ? (in->fsize - off[0]) / plane : 0;
    if (have < (uint64_t)images)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the ImageJ description says images=%lld, stored one after another from "
                   "byte %llu, but the file's %llu bytes hold %llu of them: the file is "
                   "truncated (or cut from a larger stack, keeping its images=)",
                   in->file, (long long)images, (unsigned long long)off[0],
                   (unsigned long long)in->fsize, (unsigned long long)have);
    uint64_t *ifd = realloc(in->ifd, (size_t)images * sizeof *ifd);
    LAPSE_ALLOC(ifd);
    in->ifd = ifd;
    for (int64_t i = 1; i < images; i++)
        in->ifd[i] = in->ifd[0];
    in->contig = off[0];
    in->npages = images;
cleanup:
    return st;
}

/* Read rows y0..y1, columns x0..x1 of plane page of a one-page ImageJ stack (imagej_contig)
 * into out, in the host's byte order. */
static lapse_status_t read_contig(tiff_input_t *in, int64_t page, int64_t y0, int64_t y1,
                                  int64_t x0, int64_t x1, unsigned char *out)
{
    const int fd = TIFFFileno(in->tif);
    const size_t row = (size_t)(x1 - x0) * in->esize;
    const uint64_t base =
        in->contig + (uint64_t)page * (uint64_t)in->ny * (uint64_t)in->nx * in->esize;
    const int whole = x0 == 0 && x1 == in->nx; /* the rows follow each other: one read */
    for (int64_t y = y0; y < y1; y += whole ? y1 - y0 : 1) {
        const size_t want = whole ? row * (size_t)(y1 - y0) : row;
        const uint64_t at = base + ((uint64_t)y * (uint64_t)in->nx + (uint64_t)x0) * in->esize;
        unsigned char *dst = out + (size_t)(y - y0) * row;
        size_t got = 0;
        while (got < want) {
            ssize_t r = pread(fd, dst + got, want - got, (off_t)(at + got));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return lapse_fail(LAPSE_EREAD, "%s: plane %lld, row %lld: %s", in->file,
                                  (long long)page, (long long)y,
                                  r < 0 ? strerror(errno) : "the file ends early");
            got += (size_t)r;
        }
        if (TIFFIsByteSwapped(in->tif) && in->esize == 2)
            TIFFSwabArrayOfShort((uint16_t *)(void *)dst, (tmsize_t)(want / 2));
        else if (TIFFIsByteSwapped(in->tif) && in->esize == 4)
            TIFFSwabArrayOfLong((uint32_t *)(void *)dst, (tmsize_t)(want / 4));
        else if (TIFFIsByteSwapped(in->tif) && in->esize == 8)
            TIFFSwabArrayOfLong8((uint64_t *)(void *)dst, (tmsize_t)(want / 8));
    }
    return LAPSE_OK;
}

static void tiff_close(void *handle)
{
    tiff_input_t *in = handle;
    if (in == NULL)
        return;
    if (in->tif != NULL)
        TIFFClose(in->tif);
    for (int i = 0; i < in->nslots; i++)
        free(in->slots[i].data);
    free(in->slots);
    free(in->ifd);
    free(in->buf);
    free(in);
}

/* Make the slots of the decoded-unit cache (see the header) for timepoints of nz pages and say
 * its bytes in *bytes. */
static lapse_status_t cache_init(tiff_input_t *in, int64_t nz, double *bytes)
{
    double budget = 256.0 * 1048576.0;
    const char *env = getenv("LAPSE_H5_INPUT_CACHE"); /* (its form checked: src/env.c) */
    if (env && *env)
        budget = (double)strtoull(env, NULL, 10);
    *bytes = 0;
    if (in->ncompressed == 0 || in->unit_max == 0)
        return LAPSE_OK;
    double n = floor(budget / (double)in->unit_max), per_tp = (double)nz * (double)in->units_max;
    if (n > per_tp)
        n = per_tp;
    if (n < 2)
        return LAPSE_OK;
    in->slots = calloc((size_t)n, sizeof *in->slots);
    if (in->slots == NULL)
        return lapse_fail(LAPSE_ENOMEM, "%s: out of memory for %.0f strip slots", in->file, n);
    in->nslots = (int)n;
    *bytes = n * (double)in->unit_max;
    return LAPSE_OK;
}

static lapse_status_t tiff_open(const char *file, const char *dataset, void **handle,
                                lapse_input_info_t *info)
{
    lapse_status_t st = LAPSE_OK;
    struct stat sb;
    tiff_axes_t ax;
    lapse_dtype_t dt = LAPSE_DT_U8;
    char *desc = NULL;
    TIFFOpenOptions *opts = NULL;
    tiff_input_t *in = NULL;
    lapse_input_sel_t sel;
    char err[256];

    info->failed_part = 1;
    if (file == NULL)
        LAPSE_FAIL(LAPSE_EINPUT, "input file must be given");
    /* a TIFF has no datasets: only the selection after '#' is used */
    if (lapse_input_sel_parse(dataset, &sel, err, sizeof err) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", file, err);
    if (stat(file, &sb) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: %s", file,
                   errno == ENOENT ? "no such file" : strerror(errno));
    if (!S_ISREG(sb.st_mode))
        LAPSE_FAIL(LAPSE_EINPUT, "%s: not a regular file", file);
    if (access(file, R_OK) != 0)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: cannot be read: %s", file, strerror(errno));
    in = calloc(1, sizeof *in);
    LAPSE_ALLOC(in);
    snprintf(in->file, sizeof in->file, "%s", file);
    in->fsize = (uint64_t)sb.st_size;
    opts = TIFFOpenOptionsAlloc();
    LAPSE_ALLOC(opts);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, in);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, in);
    in->tif = TIFFOpenExt(file, "rm", opts); /* m: read(), not a memory map */
    if (in->tif == NULL)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: not a readable TIFF file%s%s", file, in->err[0] ? ": " : "",
                   in->err);
    LAPSE_TRY(scan_pages(in, &dt, &desc));
    in->esize = lapse_dtype_size(dt);
    LAPSE_TRY(imagej_contig(in, desc));
    LAPSE_TRY(find_axes(file, desc, in->npages, in->ny, in->nx, &ax));
    if ((ax.declared_y && ax.declared_y != in->ny) || (ax.declared_x && ax.declared_x != in->nx))
        LAPSE_FAIL(LAPSE_EINPUT, "%s: the OME-XML says %lldx%lld pixels, the pages are %lldx%lld",
                   file, (long long)ax.declared_x, (long long)ax.declared_y, (long long)in->nx,
                   (long long)in->ny);
    if (ax.c > 1 && sel.channel < 0)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: the %s has %lld channels: choose one with input.channel (0 to %lld)", file,
                   ax.kind, (long long)ax.c, (long long)ax.c - 1);
    info->failed_part = 4;
    LAPSE_TRY(apply_axes(file, sel.axes, &ax));
    info->failed_part = 1;
    if (sel.channel >= 0)
        info->failed_part = 3;
    if (sel.channel >= 0 && ax.c == 1)
        LAPSE_FAIL(LAPSE_EINPUT, "%s: input.channel is given, but the %s has no channel axis", file,
                   ax.kind);
    if (sel.channel >= ax.c)
        LAPSE_FAIL(LAPSE_EINPUT,
                   "%s: input.channel %d is out of range: the %s has %lld channels (0 to %lld)",
                   file, sel.channel, ax.kind, (long long)ax.c, (long long)ax.c - 1);
    info->failed_part = 1;
    in->stride_t = ax.stride_t;
    in->stride_z = ax.stride_z;
    in->page0 = sel.channel > 0 ? sel.channel * ax.stride_c : 0;
    in->esize = lapse_dtype_size(dt);
    if (dt == LAPSE_DT_U16 && ij_signed16(desc)) {
        in->signed16 = 1;
        info->signed_stored = 1;
        dt = LAPSE_DT_I16;
    }
    info->nchannels = ax.c;
    info->axes_assumed = ax.plain && in->npages > 1;
    tiff_voxel_size(in, desc, info->voxel_size_um);
    if (ax.ndims == 3)
        info->voxel_size_um[0] = 0;
    info->ndims = ax.ndims;
    info->ntp = ax.t;
    info->shape[0] = ax.z;
    info->shape[1] = in->ny;
    info->shape[2] = in->nx;
    info->dtype = dt;
    LAPSE_TRY(cache_init(in, ax.z, &info->chunk_cache_bytes));
    info->reader_buf_bytes = (double)in->unit_max; /* one decoded strip or tile (compressed) */
    info->compressed_chunks = in->ncompressed > 0;
    info->failed_part = 0;
    *handle = in;
    in = NULL;
cleanup:
    TIFFOpenOptionsFree(opts);
    free(desc);
    tiff_close(in);
    return st;
}

static lapse_status_t tiff_probe(const char *file, const char *dataset, lapse_input_info_t *info)
{
    void *h = NULL;
    lapse_input_info_t tmp = {0};
    lapse_status_t st = tiff_open(file, dataset, &h, &tmp);
    if (st == LAPSE_OK)
        *info = tmp;
    else
        info->failed_part = tmp.failed_part;
    tiff_close(h);
    return st;
}

/* A buffer of at least n bytes in in->buf. */
static lapse_status_t need_buf(tiff_input_t *in, size_t n)
{
    lapse_status_t st = LAPSE_OK;
    if (n > in->buflen) {
        unsigned char *b = realloc(in->buf, n);
        LAPSE_ALLOC(b);
        in->buf = b;
        in->buflen = n;
    }
cleanup:
    return st;
}

/* Unit idx (a tile when tiled, else a strip) of the current page, page, decoded: *src and *got
 * its bytes, from the cache when a compressed page's unit is kept there, else decoded now (into
 * a slot of the cache, or into in->buf: size bytes, which need_buf made room for). A unit that
 * fails to decode is not kept; *got < 0 then, and in->err says why. */
static void decoded(tiff_input_t *in, int64_t page, uint32_t idx, int tiled, tmsize_t size,
                    const unsigned char **src, tmsize_t *got)
{
    struct tiff_slot *slot = NULL;
    uint16_t comp = COMPRESSION_NONE;
    unsigned char *dst = in->buf;
    if (in->nslots > 0)
        TIFFGetFieldDefaulted(in->tif, TIFFTAG_COMPRESSION, &comp);
    if (comp != COMPRESSION_NONE && (uint64_t)size <= in->unit_max) {
        struct tiff_slot *lru = NULL;
        for (int i = 0; i < in->nslots; i++) {
            struct tiff_slot *c = &in->slots[i];
            if (c->ok && c->page == page && c->idx == idx) {
                c->used = ++in->clock;
                *src = c->data;
                *got = c->got;
                return;
            }
            if (c->data == NULL && slot == NULL) /* the first free slot */
                slot = c;
            if (c->data && (lru == NULL || c->used < lru->used))
                lru = c;
        }
        if (slot == NULL) /* none free: the least recently used */
            slot = lru;
        if (slot && slot->data == NULL && (slot->data = malloc(in->unit_max)) == NULL)
            slot = NULL; /* no memory for another: decoded into in->buf, not kept */
        if (slot) {
            slot->ok = 0;
            dst = slot->data;
        }
    }
    *got = tiled ? TIFFReadEncodedTile(in->tif, idx, dst, size)
                 : TIFFReadEncodedStrip(in->tif, idx, dst, size);
    *src = dst;
    if (slot && *got >= 0) {
        slot->page = page;
        slot->idx = idx;
        slot->got = *got;
        slot->ok = 1;
        slot->used = ++in->clock;
    }
}

/* Rows [y0, y1) and columns [x0, x1) of the current page into dst (rows of x1 - x0 voxels), from
 * the tiles they touch. */
static lapse_status_t read_tiles(tiff_input_t *in, int64_t page, int64_t y0, int64_t y1, int64_t x0,
                                 int64_t x1, unsigned char *dst)
{
    lapse_status_t st = LAPSE_OK;
    uint32_t tw = 0, th = 0;
    size_t es = in->esize, dx = (size_t)(x1 - x0);
    TIFFGetField(in->tif, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(in->tif, TIFFTAG_TILELENGTH, &th);
    tmsize_t ts = TIFFTileSize(in->tif);
    if (tw == 0 || th == 0 || ts <= 0)
        LAPSE_FAIL(LAPSE_EREAD, "%s: bad tile layout", in->file);
    LAPSE_TRY(need_buf(in, (size_t)ts));
    for (int64_t ty = y0 / th * th; ty < y1; ty += th)
        for (int64_t tx = x0 / tw * tw; tx < x1; tx += tw) {
            uint32_t tile = TIFFComputeTile(in->tif, (uint32_t)tx, (uint32_t)ty, 0, 0);
            const unsigned char *src = NULL;
            tmsize_t got = 0;
            decoded(in, page, tile, 1, ts, &src, &got);
            if (got < 0)
                LAPSE_FAIL(LAPSE_EREAD, "%s: tile %u: %s", in->file, (unsigned)tile, in->err);
            int64_t ya = ty > y0 ? ty : y0, yb = ty + th < y1 ? ty + th : y1;
            int64_t xa = tx > x0 ? tx : x0, xb = tx + tw < x1 ? tx + tw : x1;
            for (int64_t y = ya; y < yb; y++)
                memcpy(dst + ((size_t)(y - y0) * dx + (size_t)(xa - x0)) * es,
                       src + ((size_t)(y - ty) * tw + (size_t)(xa - tx)) * es,
                       (size_t)(xb - xa) * es);
        }
cleanup:
    return st;
}

/* As read_tiles, from the strips of the current page. */
static lapse_status_t read_strips(tiff_input_t *in, int64_t page, int64_t y0, int64_t y1,
                                  int64_t x0, int64_t x1, unsigned char *dst)
{
    lapse_status_t st = LAPSE_OK;
    uint32_t rps = 0;
    size_t es = in->esize, dx = (size_t)(x1 - x0), row = (size_t)in->nx * es;
    TIFFGetFieldDefaulted(in->tif, TIFFTAG_ROWSPERSTRIP, &rps);
    if (rps == 0 || rps > in->ny)
        rps = (uint32_t)in->ny;
    tmsize_t ss = TIFFStripSize(in->tif);
    if (ss <= 0)
        LAPSE_FAIL(LAPSE_EREAD, "%s: bad strip layout", in->file);
    LAPSE_TRY(need_buf(in, (size_t)ss));
    for (int64_t sy = y0 / rps * rps; sy < y1; sy += rps) {
        uint32_t strip = TIFFComputeStrip(in->tif, (uint32_t)sy, 0);
        int64_t rows = sy + rps < in->ny ? rps : in->ny - sy;
        const unsigned char *src = NULL;
        tmsize_t got = 0;
        decoded(in, page, strip, 0, ss, &src, &got);
        if (got < 0 || (size_t)got < (size_t)rows * row)
            LAPSE_FAIL(LAPSE_EREAD, "%s: strip %u: %s", in->file, (unsigned)strip,
                       in->err[0] ? in->err : "short strip");
        int64_t ya = sy > y0 ? sy : y0, yb = sy + rows < y1 ? sy + rows : y1;
        for (int64_t y = ya; y < yb; y++)
            memcpy(dst + (size_t)(y - y0) * dx * es, src + (size_t)(y - sy) * row + x0 * es,
                   dx * es);
    }
cleanup:
    return st;
}

static lapse_status_t tiff_read(void *handle, int64_t t, const lapse_box_t *box, void *dst)
{
    lapse_status_t st = LAPSE_OK;
    tiff_input_t *in = handle;
    size_t plane = (size_t)box->dim[1] * (size_t)box->dim[2] * in->esize;
    int64_t y0 = box->off[1], y1 = y0 + box->dim[1], x0 = box->off[2], x1 = x0 + box->dim[2];
    for (int64_t z = 0; z < box->dim[0]; z++) {
        int64_t page = in->page0 + t * in->stride_t + (box->off[0] + z) * in->stride_z;
        unsigned char *out = (unsigned char *)dst + (size_t)z * plane;
        if (page < 0 || page >= in->npages) /* the open checked the axes against the pages */
            LAPSE_FAIL(LAPSE_EREAD, "%s: internal error: t=%lld, z=%lld is page %lld of %lld",
                       in->file, (long long)t, (long long)(box->off[0] + z), (long long)page,
                       (long long)in->npages);
        in->err[0] = '\0';
        if (in->contig > 0)
            LAPSE_TRY(read_contig(in, page, y0, y1, x0, x1, out));
        else if (!TIFFSetSubDirectory(in->tif, in->ifd[page]))
            LAPSE_FAIL(LAPSE_EREAD, "%s: page %lld: %s", in->file, (long long)page, in->err);
        else if (TIFFIsTiled(in->tif))
            LAPSE_TRY(read_tiles(in, page, y0, y1, x0, x1, out));
        else
            LAPSE_TRY(read_strips(in, page, y0, y1, x0, x1, out));
        if (in->signed16) { /* stored - 32768 as int16: the top bit flipped */
            uint16_t *v = (uint16_t *)(void *)out;
            for (size_t i = 0, n = plane / 2; i < n; i++)
                v[i] ^= 0x8000u;
        }
    }
cleanup:
    return st;
}

/* The classic ("II*\0", "MM\0*") or BigTIFF ("II+\0", "MM\0+") signature. */
static int tiff_sniff(const char *file)
{
    unsigned char m[4];
    struct stat sb;
    if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0; /* a FIFO would block the fopen */
    FILE *f = fopen(file, "rb");
    if (f == NULL)
        return 0;
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    if (n != 4)
        return 0;
    return (m[0] == 'I' && m[1] == 'I' && (m[2] == 42 || m[2] == 43) && m[3] == 0) ||
           (m[0] == 'M' && m[1] == 'M' && m[2] == 0 && (m[3] == 42 || m[3] == 43));
}

/* Any dataset name is accepted: a TIFF has none, input.dataset is not used (the facade checks
 * the selection after '#'). */
static int tiff_check_dataset(const char *dataset, char *err, size_t errlen)
{
    (void)dataset, (void)err, (void)errlen;
    return 0;
}

static const char *const tiff_suffixes[] = {".tif", ".tiff", ".btf", ".tf8", NULL};

const lapse_reader_backend_t lapse_reader_tiff = {
    .name = "tiff",
    .suffixes = tiff_suffixes,
    .needs_dataset = 0,
    .thread_safe = 1, /* one TIFF* per handle, errors to the handle's own handler */
    .selects = LAPSE_SELECTS_CHANNEL | LAPSE_SELECTS_AXES,
    .check_dataset = tiff_check_dataset,
    .sniff = tiff_sniff,
    .probe = tiff_probe,
    .open = tiff_open,
    .read = tiff_read,
    .close = tiff_close,
};
