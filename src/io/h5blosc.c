/*
 * io/h5blosc.c - the Blosc HDF5 filter 32001 (see h5blosc.h): set_local fills the type size and
 * chunk bytes into the cd_values, the filter compresses with blosc_compress_ctx (one thread,
 * no global state) and decompresses with blosc_decompress_ctx. It is optional
 * (H5Z_FLAG_OPTIONAL): a chunk that does not shrink is stored as it is.
 */
#include "io/h5blosc.h"

#include <blosc.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_REVISION 2
#define NCD             7

/* Fill cd_values [2] type size and [3] chunk bytes of the dataset being created. */
static herr_t blosc_set_local(hid_t dcpl, hid_t type, hid_t space)
{
    (void)space;
    unsigned flags = 0, cd[NCD] = {0};
    size_t nelem = NCD;
    hsize_t chunk[32];
    if (H5Pget_filter_by_id2(dcpl, LAPSE_H5BLOSC_ID, &flags, &nelem, cd, 0, NULL, NULL) < 0)
        return -1;
    int nd = H5Pget_chunk(dcpl, 32, chunk);
    size_t ts = H5Tget_size(type);
    if (nd < 0 || ts == 0)
        return -1;
    size_t bytes = ts;
    for (int i = 0; i < nd; i++)
        bytes *= (size_t)chunk[i];
    if (nelem < NCD) { /* defaults: level 5, byte shuffle, lz4 */
        cd[4] = nelem > 4 ? cd[4] : 5;
        cd[5] = nelem > 5 ? cd[5] : 1;
        cd[6] = nelem > 6 ? cd[6] : 1;
    }
    cd[0] = FILTER_REVISION;
    cd[1] = BLOSC_VERSION_FORMAT;
    cd[2] = (unsigned)(ts > BLOSC_MAX_TYPESIZE ? 1 : ts);
    cd[3] = (unsigned)bytes;
    return H5Pmodify_filter(dcpl, LAPSE_H5BLOSC_ID, flags, NCD, cd);
}

/* The filter: compress (flags without H5Z_FLAG_REVERSE) or decompress *buf of nbytes. Returns
 * the new size (the buffer replaced), 0 on failure. */
static size_t blosc_filter(unsigned flags, size_t ncd, const unsigned cd[], size_t nbytes,
                           size_t *buf_size, void **buf)
{
    size_t ts = ncd > 2 && cd[2] > 0 ? cd[2] : 1;
    int level = ncd > 4 ? (int)cd[4] : 5, shuffle = ncd > 5 ? (int)cd[5] : 1;
    int code = ncd > 6 ? (int)cd[6] : 1;
    if (!(flags & H5Z_FLAG_REVERSE)) {
        const char *name = NULL;
        if (blosc_compcode_to_compname(code, &name) < 0 || name == NULL)
            return 0;
        size_t cap = nbytes + BLOSC_MAX_OVERHEAD;
        void *out = malloc(cap);
        if (out == NULL)
            return 0;
        int n = blosc_compress_ctx(level, shuffle, ts, nbytes, *buf, out, cap, name, 0, 1);
        if (n <= 0 || (size_t)n >= nbytes) { /* optional: the chunk is stored unfiltered */
            free(out);
            return 0;
        }
        free(*buf);
        *buf = out;
        *buf_size = cap;
        return (size_t)n;
    }
    size_t raw = 0, cbytes = 0, blocksize = 0;
    blosc_cbuffer_sizes(*buf, &raw, &cbytes, &blocksize);
    if (cbytes == 0 || cbytes > nbytes)
        return 0;
    void *out = malloc(raw ? raw : 1);
    if (out == NULL)
        return 0;
    int n = blosc_decompress_ctx(*buf, out, raw, 1);
    if (n < 0 || (size_t)n != raw) {
        free(out);
        return 0;
    }
    free(*buf);
    *buf = out;
    *buf_size = raw;
    return raw;
}

static const H5Z_class2_t blosc_class = {
    H5Z_CLASS_T_VERS, (H5Z_filter_t)LAPSE_H5BLOSC_ID, 1, 1, "blosc", NULL,
    blosc_set_local,  (H5Z_func_t)blosc_filter};

#ifdef LAPSE_H5BLOSC_PLUGIN
#include <H5PLextern.h>

H5PL_type_t H5PLget_plugin_type(void)
{
    return H5PL_TYPE_FILTER;
}

const void *H5PLget_plugin_info(void)
{
    return &blosc_class;
}
#else
lapse_status_t lapse_h5blosc_register(void)
{
    static int done = 0;
    if (done)
        return LAPSE_OK;
    if (H5Zregister(&blosc_class) < 0)
        return lapse_h5_fail("H5Zregister(blosc)", __FILE__, __LINE__);
    done = 1;
    return LAPSE_OK;
}

lapse_status_t lapse_h5blosc_set(hid_t dcpl, int zstd, int level)
{
    lapse_status_t st = lapse_h5blosc_register();
    if (st != LAPSE_OK)
        return st;
    const char *name = zstd ? BLOSC_ZSTD_COMPNAME : BLOSC_LZ4_COMPNAME;
    int code = blosc_compname_to_compcode(name);
    if (code < 0)
        return lapse_fail(LAPSE_EH5, "this libblosc has no %s compressor", name);
    unsigned cd[NCD] = {0, 0, 0, 0, (unsigned)level, 1, (unsigned)code};
    if (H5Pset_filter(dcpl, LAPSE_H5BLOSC_ID, H5Z_FLAG_OPTIONAL, NCD, cd) < 0)
        return lapse_h5_fail("H5Pset_filter(blosc)", __FILE__, __LINE__);
    return LAPSE_OK;
}
#endif
