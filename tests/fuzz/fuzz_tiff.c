/*
 * fuzz_tiff.c - libFuzzer harness for what the TIFF input backend (io/reader_tiff.c) reads from
 * a file's ImageDescription: the ImageJ keys (images=, channels=, slices=, frames=, spacing=,
 * unit=), the OME-XML Pixels element (sizes, DimensionOrder, PhysicalSize*), tifffile's JSON
 * ("shape", "axes"), and what the facade (io/reader.c) builds on them.
 *
 * The input: byte 0 = pages - 1 (low 3 bits: 1 to 8 pages of 2 x 3 uint16), byte 1 = the
 * selection (low 3 bits: "", "#channel=0", "#channel=1", "#axes=tyx", "#axes=zyx"), the rest =
 * the first page's description (up to its first NUL). The harness writes that TIFF with libtiff
 * into a file of its own and probes and opens it through the facade. Checked: the probe and the
 * open agree (both LAPSE_OK or both LAPSE_EINPUT, each failure with a message naming the file);
 * an accepted file describes at most its pages (timepoints x planes per timepoint, one channel
 * read), pages of 2 x 3, a voxel size that is finite and not negative, and every timepoint reads
 * back whole with the values written (page p holds p * 6 + i). ASan/UBSan catch the rest
 * (overreads, overflows in the sizes a description claims).
 */
#include "io/reader.h"
#include "status.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_tiff: %s: ", #cond);                                             \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define NY 2
#define NX 3

static void quiet(const char *module, const char *fmt, va_list ap)
{
    (void)module, (void)fmt, (void)ap;
}

/* Write npages pages of NY x NX uint16 (page p: p * 6 + i) to path, desc on page 0. 0 on
 * success. */
static int write_tiff(const char *path, int npages, const char *desc)
{
    TIFF *t = TIFFOpen(path, "w");
    if (t == NULL)
        return -1;
    int ok = 1;
    for (int p = 0; ok && p < npages; p++) {
        uint16_t v[NY * NX];
        for (int i = 0; i < NY * NX; i++)
            v[i] = (uint16_t)(p * NY * NX + i);
        ok = TIFFSetField(t, TIFFTAG_IMAGEWIDTH, NX) && TIFFSetField(t, TIFFTAG_IMAGELENGTH, NY) &&
             TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16) &&
             TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1) &&
             TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK) &&
             TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, NY) &&
             (p > 0 || desc[0] == '\0' || TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, desc)) &&
             TIFFWriteEncodedStrip(t, 0, v, sizeof v) == (tmsize_t)sizeof v &&
             TIFFWriteDirectory(t);
    }
    TIFFClose(t);
    return ok ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const sels[] = {"", "#channel=0", "#channel=1", "#axes=tyx", "#axes=zyx"};
    static char path[64];
    if (path[0] == '\0') {
        TIFFSetErrorHandler(quiet);
        TIFFSetWarningHandler(quiet);
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%.40s/fuzz_tiff.%d.tif", dir ? dir : "/tmp", (int)getpid());
    }
    if (size < 2)
        return 0;
    const int npages = (data[0] & 7) + 1;
    const char *sel = sels[(data[1] & 7) % 5];
    char *desc = malloc(size - 1);
    if (desc == NULL)
        return 0;
    memcpy(desc, data + 2, size - 2);
    desc[size - 2] = '\0';
    if (write_tiff(path, npages, desc) != 0) {
        free(desc);
        unlink(path);
        return 0;
    }
    lapse_input_info_t info;
    memset(&info, 0, sizeof info);
    lapse_err_clear();
    lapse_status_t ps = lapse_reader_probe(path, sel, &info);
    FUZZ_ASSERT(ps == LAPSE_OK || ps == LAPSE_EINPUT, "probe status %d: %s", (int)ps,
                lapse_errmsg());
    if (ps != LAPSE_OK)
        FUZZ_ASSERT(strstr(lapse_errmsg(), path) != NULL, "message '%s' lacks the file",
                    lapse_errmsg());
    lapse_reader_t *r = NULL;
    lapse_err_clear();
    lapse_status_t os = lapse_reader_open(path, sel, &r);
    FUZZ_ASSERT(os == ps, "probe %d, open %d: %s", (int)ps, (int)os, lapse_errmsg());
    if (os == LAPSE_OK) {
        const lapse_input_info_t *in = lapse_reader_info(r);
        FUZZ_ASSERT(in->ntp >= 1 && in->shape[0] >= 1 && in->ntp * in->shape[0] <= npages,
                    "%lld timepoints of %lld planes from %d pages", (long long)in->ntp,
                    (long long)in->shape[0], npages);
        FUZZ_ASSERT(in->shape[1] == NY && in->shape[2] == NX, "planes %lld x %lld",
                    (long long)in->shape[1], (long long)in->shape[2]);
        FUZZ_ASSERT(in->dtype == LAPSE_DT_U16, "dtype %d", (int)in->dtype);
        for (int a = 0; a < 3; a++)
            FUZZ_ASSERT(isfinite(in->voxel_size_um[a]) && in->voxel_size_um[a] >= 0,
                        "voxel size %g along axis %d", in->voxel_size_um[a], a);
        uint16_t buf[8 * NY * NX];
        lapse_box_t box = {{0, 0, 0}, {in->shape[0], NY, NX}};
        for (int64_t t = 0; t < in->ntp; t++) {
            lapse_err_clear();
            FUZZ_ASSERT(lapse_reader_read(r, t, &box, buf) == LAPSE_OK, "read t=%lld: %s",
                        (long long)t, lapse_errmsg());
            for (int64_t i = 0; i < in->shape[0] * NY * NX; i++)
                FUZZ_ASSERT(buf[i] % (NY * NX) == i % (NY * NX) && buf[i] < npages * NY * NX,
                            "t=%lld voxel %lld is %u", (long long)t, (long long)i,
                            (unsigned)buf[i]);
        }
        lapse_reader_close(r);
    }
    free(desc);
    unlink(path);
    return 0;
}
