/*
 * test_zarr_out.c - the OME-Zarr writer of output.format: zarr (io/zarr_out.c): the store name
 * beside the output file; a 4-D and a 3-D array written tile by tile, every chunk file named
 * T.Z.Y.X (T.Y.X), the full chunk shape with the core at its origin and the fill value 0
 * around it (raw, and blosc:zstd decompressed with libblosc), compared voxel by voxel with
 * values computed here from the global coordinates; the metadata files (shape, chunks, dtype,
 * compressor, NGFF axes and scale) parsed with io/json.c; no temporary file left behind; a
 * fresh store's old chunks removed; a core off the chunk grid refused.
 */
#include <blosc.h>
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/json.h"
#include "io/zarr_out.h"
#include "testutil.h"

static char dir[256];
static char out[512];

static void setup_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/lapse-zarr-out.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(out, sizeof out, "%s/run.h5", dir);
}

static void rm_rf(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    ck_assert_int_eq(system(cmd), 0);
}

/* The whole file at path (malloc'ed, *n bytes, NUL-terminated); NULL when missing. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    b[len] = 0;
    fclose(f);
    *n = (size_t)len;
    return b;
}

static lapse_json_t *json_file(const char *path)
{
    size_t n = 0;
    unsigned char *t = slurp(path, &n);
    ck_assert_msg(t != NULL, "missing %s", path);
    lapse_json_t *v = NULL;
    char err[256];
    ck_assert_msg(lapse_json_parse((const char *)t, n, &v, err, sizeof err) == 0, "%s: %s", path,
                  err);
    free(t);
    return v;
}

/* The value every voxel (t, z, y, x) gets: nonzero, distinct per position. */
static uint16_t value(int64_t t, int64_t z, int64_t y, int64_t x)
{
    return (uint16_t)(1 + t * 1000 + z * 100 + y * 10 + x);
}

/* Write every tile of a [T, Z, Y, X] uint16 array (dims d, chunk c) through lapse_zarr_write,
 * then check every chunk file (decompressed when comp is blosc). */
static void roundtrip(const lapse_dset_spec_t *s, lapse_comp_t comp)
{
    const int64_t *d = s->dims, *c = s->chunk;
    int flat = s->ndims == 3;
    int64_t D[3] = {flat ? 1 : d[1], d[s->ndims - 2], d[s->ndims - 1]};
    int64_t C[3] = {flat ? 1 : c[1], c[s->ndims - 2], c[s->ndims - 1]};
    int64_t g[3];
    for (int a = 0; a < 3; a++)
        g[a] = (D[a] + C[a] - 1) / C[a];
    for (int64_t t = 0; t < d[0]; t++)
        for (int64_t iz = 0; iz < g[0]; iz++)
            for (int64_t iy = 0; iy < g[1]; iy++)
                for (int64_t ix = 0; ix < g[2]; ix++) {
                    lapse_box_t b;
                    int64_t i[3] = {iz, iy, ix};
                    for (int a = 0; a < 3; a++) {
                        b.off[a] = i[a] * C[a];
                        b.dim[a] = D[a] - b.off[a] < C[a] ? D[a] - b.off[a] : C[a];
                    }
                    uint16_t *buf = malloc((size_t)lapse_box_voxels(&b) * 2);
                    size_t k = 0;
                    for (int64_t z = 0; z < b.dim[0]; z++)
                        for (int64_t y = 0; y < b.dim[1]; y++)
                            for (int64_t x = 0; x < b.dim[2]; x++)
                                buf[k++] = value(t, b.off[0] + z, b.off[1] + y, b.off[2] + x);
                    ck_assert_int_eq(lapse_zarr_write(out, s, t, &b, buf, comp, 5), LAPSE_OK);
                    free(buf);

                    char path[1024];
                    if (flat)
                        snprintf(path, sizeof path, "%s/run.zarr%s/0/%lld/%lld/%lld", dir, s->path,
                                 (long long)t, (long long)iy, (long long)ix);
                    else
                        snprintf(path, sizeof path, "%s/run.zarr%s/0/%lld/%lld/%lld/%lld", dir,
                                 s->path, (long long)t, (long long)iz, (long long)iy,
                                 (long long)ix);
                    size_t n = 0, raw = (size_t)(C[0] * C[1] * C[2]) * 2;
                    unsigned char *f = slurp(path, &n);
                    ck_assert_msg(f != NULL, "missing chunk %s", path);
                    uint16_t *v = (uint16_t *)f;
                    if (comp != LAPSE_COMP_NONE) {
                        size_t nb = 0, cb = 0, bs = 0;
                        blosc_cbuffer_sizes(f, &nb, &cb, &bs);
                        ck_assert_uint_eq(nb, raw);
                        ck_assert_uint_eq(cb, n);
                        v = malloc(raw);
                        ck_assert_int_eq(blosc_decompress_ctx(f, v, raw, 1), (int)raw);
                    } else {
                        ck_assert_uint_eq(n, raw);
                    }
                    k = 0;
                    for (int64_t z = 0; z < C[0]; z++)
                        for (int64_t y = 0; y < C[1]; y++)
                            for (int64_t x = 0; x < C[2]; x++, k++) {
                                int in = z < b.dim[0] && y < b.dim[1] && x < b.dim[2];
                                uint16_t want =
                                    in ? value(t, b.off[0] + z, b.off[1] + y, b.off[2] + x) : 0;
                                ck_assert_msg(v[k] == want, "%s [%lld %lld %lld]: %u, want %u",
                                              path, (long long)z, (long long)y, (long long)x, v[k],
                                              want);
                            }
                    if (v != (uint16_t *)f)
                        free(v);
                    free(f);
                }
}

/* No temporary file (".NAME.tmp.PID") left in directory p. */
static void no_tmp(const char *p)
{
    DIR *d = opendir(p);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        ck_assert_msg(strstr(e->d_name, ".tmp.") == NULL, "left behind: %s/%s", p, e->d_name);
    closedir(d);
}

START_TEST(test_root)
{
    char b[256];
    ck_assert_int_eq(lapse_zarr_root("a/b.h5", b, sizeof b), 0);
    ck_assert_str_eq(b, "a/b.zarr");
    ck_assert_int_eq(lapse_zarr_root("x.HDF5", b, sizeof b), 0);
    ck_assert_str_eq(b, "x.zarr");
    ck_assert_int_eq(lapse_zarr_root("noext", b, sizeof b), 0);
    ck_assert_str_eq(b, "noext.zarr");
    ck_assert_int_eq(lapse_zarr_root("dir/.h5", b, sizeof b), 0);
    ck_assert_str_eq(b, "dir/.h5.zarr");
    ck_assert_int_eq(lapse_zarr_root("long_name.h5", b, 8), -1);
}
END_TEST

static double num(const lapse_json_t *v)
{
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->type, LAPSE_JSON_NUMBER);
    return v->number;
}

START_TEST(test_write_and_metadata)
{
    setup_dir();
    lapse_dset_spec_t s[2];
    memset(s, 0, sizeof s);
    snprintf(s[0].path, sizeof s[0].path, "/res");
    s[0].ndims = 4;
    int64_t d4[4] = {2, 5, 7, 9}, c4[4] = {1, 4, 4, 4};
    memcpy(s[0].dims, d4, sizeof d4);
    memcpy(s[0].chunk, c4, sizeof c4);
    s[0].dtype = LAPSE_DT_U16;
    snprintf(s[1].path, sizeof s[1].path, "/steps/flat");
    s[1].ndims = 3;
    int64_t d3[4] = {2, 7, 9}, c3[4] = {1, 4, 4};
    memcpy(s[1].dims, d3, sizeof d3);
    memcpy(s[1].chunk, c3, sizeof c3);
    s[1].dtype = LAPSE_DT_U16;
    const double vox[3] = {2, 0.5, 0.25};
    for (int zstd = 0; zstd < 2; zstd++) {
        lapse_comp_t comp = zstd ? LAPSE_COMP_BLOSC_ZSTD : LAPSE_COMP_NONE;
        ck_assert_int_eq(lapse_zarr_create(out, s, 2, vox, "micrometer", comp, 5, 0), LAPSE_OK);
        char p[1024];
        snprintf(p, sizeof p, "%s/run.zarr/.zgroup", dir);
        ck_assert_int_eq(access(p, R_OK), 0);
        snprintf(p, sizeof p, "%s/run.zarr/steps/.zgroup", dir); /* intermediate group */
        ck_assert_int_eq(access(p, R_OK), 0);
        for (int k = 0; k < 2; k++) {
            ck_assert_int_lt(snprintf(p, sizeof p, "%s/run.zarr%s/0/.zarray", dir, s[k].path),
                             (int)sizeof p);
            lapse_json_t *za = json_file(p);
            const lapse_json_t *shape = lapse_json_get(za, "shape");
            const lapse_json_t *chunks = lapse_json_get(za, "chunks");
            ck_assert_int_eq((int)shape->n, s[k].ndims);
            for (int i = 0; i < s[k].ndims; i++) {
                ck_assert_double_eq(num(shape->items[i]), (double)s[k].dims[i]);
                ck_assert_double_eq(num(chunks->items[i]), (double)s[k].chunk[i]);
            }
            ck_assert_str_eq(lapse_json_get(za, "dtype")->string, "<u2");
            ck_assert_double_eq(num(lapse_json_get(za, "zarr_format")), 2);
            ck_assert_double_eq(num(lapse_json_get(za, "fill_value")), 0);
            ck_assert_str_eq(lapse_json_get(za, "order")->string, "C");
            /* OME-NGFF's chunk keys (since 0.2): "/" */
            ck_assert_str_eq(lapse_json_get(za, "dimension_separator")->string, "/");
            const lapse_json_t *co = lapse_json_get(za, "compressor");
            if (zstd) {
                ck_assert_str_eq(lapse_json_get(co, "id")->string, "blosc");
                ck_assert_str_eq(lapse_json_get(co, "cname")->string, "zstd");
                ck_assert_double_eq(num(lapse_json_get(co, "clevel")), 5);
            } else {
                ck_assert_int_eq(co->type, LAPSE_JSON_NULL);
            }
            lapse_json_free(za);

            ck_assert_int_lt(snprintf(p, sizeof p, "%s/run.zarr%s/.zattrs", dir, s[k].path),
                             (int)sizeof p);
            lapse_json_t *at = json_file(p);
            const lapse_json_t *m = lapse_json_get(at, "multiscales")->items[0];
            ck_assert_str_eq(lapse_json_get(m, "version")->string, "0.4");
            const lapse_json_t *axes = lapse_json_get(m, "axes");
            ck_assert_int_eq((int)axes->n, s[k].ndims);
            const char *names = s[k].ndims == 4 ? "tzyx" : "tyx";
            for (int i = 0; i < s[k].ndims; i++) {
                char nm[2] = {names[i], 0};
                ck_assert_str_eq(lapse_json_get(axes->items[i], "name")->string, nm);
                ck_assert_str_eq(lapse_json_get(axes->items[i], "type")->string,
                                 i ? "space" : "time");
                if (i)
                    ck_assert_str_eq(lapse_json_get(axes->items[i], "unit")->string, "micrometer");
            }
            const lapse_json_t *ds = lapse_json_get(m, "datasets")->items[0];
            ck_assert_str_eq(lapse_json_get(ds, "path")->string, "0");
            const lapse_json_t *tr = lapse_json_get(ds, "coordinateTransformations")->items[0];
            ck_assert_str_eq(lapse_json_get(tr, "type")->string, "scale");
            const lapse_json_t *sc = lapse_json_get(tr, "scale");
            ck_assert_int_eq((int)sc->n, s[k].ndims);
            ck_assert_double_eq(num(sc->items[0]), 1);
            for (int i = 1; i < s[k].ndims; i++)
                ck_assert_double_eq(num(sc->items[i]), vox[3 - s[k].ndims + i]);
            lapse_json_free(at);
        }
        roundtrip(&s[0], comp);
        roundtrip(&s[1], comp);
        snprintf(p, sizeof p, "%s/run.zarr/res/0", dir);
        no_tmp(p);
        snprintf(p, sizeof p, "%s/run.zarr/steps/flat/0", dir);
        no_tmp(p);
    }
    /* a fresh store (the HDF5 file was just made): old chunk and temporary files go, any other
     * file stays; not fresh: the chunks stay */
    char p[1024];
    snprintf(p, sizeof p, "%s/run.zarr/res/0/1/0/0/.0.tmp.99", dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(p, sizeof p, "%s/run.zarr/res/0/notes.txt", dir);
    f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    const double vox1[3] = {1, 1, 1};
    ck_assert_int_eq(lapse_zarr_create(out, s, 2, vox1, "", LAPSE_COMP_NONE, 0, 0), LAPSE_OK);
    snprintf(p, sizeof p, "%s/run.zarr/res/0/1/1/1/2", dir);
    ck_assert_int_eq(access(p, F_OK), 0);
    ck_assert_int_eq(lapse_zarr_create(out, s, 2, vox1, "", LAPSE_COMP_NONE, 0, 1), LAPSE_OK);
    const char *gone[] = {"res/0/1/1/1/2",      "res/0/0/0/0/0", "res/0/1/0/0/.0.tmp.99",
                          "steps/flat/0/1/1/2", "res/0/1",       "steps/flat/0/0"};
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/run.zarr/%s", dir, gone[i]);
        ck_assert_msg(access(p, F_OK) != 0, "%s not removed", p);
    }
    const char *kept[] = {"res/0/notes.txt", "res/0/.zarray", "res/.zattrs",
                          "steps/flat/0/.zarray"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/run.zarr/%s", dir, kept[i]);
        ck_assert_msg(access(p, F_OK) == 0, "%s removed", p);
    }
    /* without a known voxel size: no unit, scale 1 */
    snprintf(p, sizeof p, "%s/run.zarr/res/.zattrs", dir);
    lapse_json_t *at = json_file(p);
    const lapse_json_t *ax = lapse_json_get(at, "multiscales")->items[0];
    ck_assert_ptr_null(lapse_json_get(lapse_json_get(ax, "axes")->items[1], "unit"));
    lapse_json_free(at);

    /* a core off the chunk grid, or larger than a chunk, is an internal error */
    lapse_box_t b = {{1, 0, 0}, {2, 2, 2}};
    uint16_t buf[64] = {0};
    lapse_err_clear();
    ck_assert_int_eq(lapse_zarr_write(out, &s[0], 0, &b, buf, LAPSE_COMP_NONE, 0), LAPSE_ERUNTIME);
    lapse_box_t b2 = {{0, 0, 0}, {4, 4, 5}};
    ck_assert_int_eq(lapse_zarr_write(out, &s[0], 0, &b2, buf, LAPSE_COMP_NONE, 0), LAPSE_ERUNTIME);
    lapse_err_clear();
    rm_rf(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("zarr_out");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_root);
    tcase_add_test(tc, test_write_and_metadata);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
