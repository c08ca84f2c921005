/*
 * sample.c - the synthetic nuclei time-lapse (see sample.h).
 *
 * Blobs (one per ~48000 voxels: a 128x1024x1024 stack has about 2800) get a random centre,
 * gaussian radii of 3-8 voxels in y and x (z flatter, as in light-sheet data), a peak of
 * 500-3000 and a small velocity; at timepoint t a blob sits at centre + t * velocity, reflected
 * at the borders. A voxel is background (a smooth 100-300 gradient) + the blobs + noise hashed
 * from (seed, t, voxel index), rounded and clamped to uint16. The volume is generated slab by
 * slab (one chunk row of planes) into a bounded buffer, each blob splatted only into its
 * bounding box, and written to a temporary file renamed to the target on success.
 */
#include "sample.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5util.h"

#define VOXELS_PER_BLOB 48000
#define SIGMAS          3.0 /* bounding box half-width, in sigmas */

typedef struct {
    double c[3], v[3], sigma[3], peak;
} blob_t;

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Uniform in [lo, hi) from the stream state. */
static double uniform(uint64_t *state, double lo, double hi)
{
    *state += 1;
    return lo + (hi - lo) * (double)(splitmix64(*state) >> 11) * (1.0 / 9007199254740992.0);
}

static void make_blobs(blob_t *b, int64_t n, const int64_t shape[3], uint64_t seed)
{
    uint64_t s = splitmix64(seed ^ 0x5a3c0ffee1234567ULL);
    for (int64_t i = 0; i < n; i++) {
        double r = uniform(&s, 3.0, 8.0);
        double rx = r * uniform(&s, 0.8, 1.25);
        double rz = r * uniform(&s, 0.35, 0.6);
        for (int a = 0; a < 3; a++)
            b[i].c[a] = uniform(&s, 0.0, (double)shape[a]);
        b[i].sigma[0] = 0.5 * (rz < 1.0 ? 1.0 : rz);
        b[i].sigma[1] = 0.5 * r;
        b[i].sigma[2] = 0.5 * rx;
        b[i].v[0] = uniform(&s, -0.25, 0.25);
        b[i].v[1] = uniform(&s, -1.5, 1.5);
        b[i].v[2] = uniform(&s, -1.5, 1.5);
        b[i].peak = uniform(&s, 500.0, 3000.0);
    }
}

/* Position p reflected into [0, n - 1]. */
static double bounce(double p, int64_t n)
{
    double len = (double)(n - 1);
    if (len <= 0)
        return 0;
    double m = fmod(p, 2 * len);
    if (m < 0)
        m += 2 * len;
    return m > len ? 2 * len - m : m;
}

/* Add blob b at timepoint t into acc, the planes [z0, z0 + nz) of shape. g is scratch of at
 * least shape[0] + shape[1] + shape[2] doubles (the 1-D profiles of the bounding box). */
static void splat(const blob_t *b, int64_t t, const int64_t shape[3], int64_t z0, int64_t nz,
                  float *acc, double *g)
{
    int64_t lo[3], hi[3];
    double *ga[3];
    int64_t origin[3] = {z0, 0, 0}, ext[3] = {nz, shape[1], shape[2]};
    size_t used = 0;

    for (int a = 0; a < 3; a++) {
        double c = bounce(b->c[a] + (double)t * b->v[a], shape[a]);
        double h = SIGMAS * b->sigma[a];
        lo[a] = (int64_t)ceil(c - h);
        hi[a] = (int64_t)floor(c + h) + 1;
        if (lo[a] < origin[a])
            lo[a] = origin[a];
        if (hi[a] > origin[a] + ext[a])
            hi[a] = origin[a] + ext[a];
        if (lo[a] >= hi[a])
            return;
        ga[a] = g + used;
        used += (size_t)(hi[a] - lo[a]);
        for (int64_t i = lo[a]; i < hi[a]; i++) {
            double d = ((double)i - c) / b->sigma[a];
            ga[a][i - lo[a]] = exp(-0.5 * d * d);
        }
    }
    for (int64_t z = lo[0]; z < hi[0]; z++) {
        double wz = b->peak * ga[0][z - lo[0]];
        for (int64_t y = lo[1]; y < hi[1]; y++) {
            float w = (float)(wz * ga[1][y - lo[1]]);
            float *row = acc + ((z - z0) * shape[1] + y) * shape[2];
            for (int64_t x = lo[2]; x < hi[2]; x++)
                row[x] += w * (float)ga[2][x - lo[2]];
        }
    }
}

/* Background + noise, rounded and clamped, for planes [z0, z0 + nz) of timepoint t. */
static void finish(const float *acc, uint16_t *out, int64_t t, const int64_t shape[3], int64_t z0,
                   int64_t nz, uint64_t seed)
{
    uint64_t key = splitmix64(seed) ^ splitmix64((uint64_t)t + 0x1234567ULL);
    double fz = shape[0] > 1 ? 1.0 / (double)(shape[0] - 1) : 0;
    double fy = shape[1] > 1 ? 1.0 / (double)(shape[1] - 1) : 0;
    double fx = shape[2] > 1 ? 1.0 / (double)(shape[2] - 1) : 0;
    int64_t plane = shape[1] * shape[2];
    for (int64_t z = 0; z < nz; z++) {
        for (int64_t y = 0; y < shape[1]; y++) {
            double base = 100.0 + 40.0 * (double)(z0 + z) * fz + 60.0 * (double)y * fy;
            int64_t i0 = (z * shape[1] + y) * shape[2];
            uint64_t lin = (uint64_t)((z0 + z) * plane + y * shape[2]);
            for (int64_t x = 0; x < shape[2]; x++) {
                uint64_t h = splitmix64(key ^ (lin + (uint64_t)x));
                /* Sum of four 16-bit uniforms: roughly gaussian, sd about 15. */
                double u = (double)(h & 0xffff) + (double)((h >> 16) & 0xffff) +
                           (double)((h >> 32) & 0xffff) + (double)(h >> 48);
                double noise = (u * (1.0 / 65536.0) - 2.0) * 26.0;
                double v = base + 100.0 * (double)x * fx + (double)acc[i0 + x] + noise;
                v = floor(v + 0.5);
                out[i0 + x] = (uint16_t)(v < 0 ? 0 : v > 65535 ? 65535 : v);
            }
        }
    }
}

/* Create path's /raw dataset [ntp, z, y, x] uint16, with the generator's attributes. */
static lapse_status_t create_file(const char *path, int64_t ntp, const int64_t shape[3],
                                  uint64_t seed, int64_t nblobs, hid_t *file_out, hid_t *dset_out)
{
    lapse_status_t st = LAPSE_OK;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID,
          aspace = H5I_INVALID_HID, attr = H5I_INVALID_HID, stype = H5I_INVALID_HID;
    hsize_t dims[4] = {(hsize_t)ntp, (hsize_t)shape[0], (hsize_t)shape[1], (hsize_t)shape[2]};
    /* Chunks of whole planes (up to 8 planes, at most ~32 MiB, as microscopes write them):
     * a read box that spans whole planes is then one contiguous read per chunk, measured 7x
     * faster than 32 x 256 x 256 chunks for whole-plane tiles. */
    int64_t plane = shape[1] * shape[2] * 2, zc = (32LL << 20) / (plane > 0 ? plane : 1);
    zc = zc < 1 ? 1 : zc > 8 ? 8 : zc;
    zc = zc > shape[0] ? shape[0] : zc;
    hsize_t chunk[4] = {1, (hsize_t)zc, (hsize_t)shape[1], (hsize_t)shape[2]};
    char gen[256];

    LAPSE_H5ID(f, H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    LAPSE_H5ID(space, H5Screate_simple(4, dims, NULL));
    LAPSE_H5ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    LAPSE_H5(H5Pset_chunk(dcpl, 4, chunk));
    LAPSE_H5ID(d, H5Dcreate2(f, "/raw", H5T_STD_U16LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));

    LAPSE_H5ID(aspace, H5Screate(H5S_SCALAR));
    LAPSE_H5ID(attr, H5Acreate2(f, "sample_seed", H5T_STD_U64LE, aspace, H5P_DEFAULT, H5P_DEFAULT));
    LAPSE_H5(H5Awrite(attr, H5T_NATIVE_UINT64, &seed));
    LAPSE_H5(H5Aclose(attr));
    LAPSE_H5ID(attr,
               H5Acreate2(f, "sample_blobs", H5T_STD_I64LE, aspace, H5P_DEFAULT, H5P_DEFAULT));
    LAPSE_H5(H5Awrite(attr, H5T_NATIVE_INT64, &nblobs));
    LAPSE_H5(H5Aclose(attr));
    snprintf(gen, sizeof gen, "lapse sample %s: drifting gaussian nuclei on a gradient, noise",
             LAPSE_VERSION);
    LAPSE_H5ID(stype, lapse_h5_str_type(strlen(gen) + 1));
    LAPSE_H5ID(attr, H5Acreate2(f, "sample_generator", stype, aspace, H5P_DEFAULT, H5P_DEFAULT));
    LAPSE_H5(H5Awrite(attr, stype, gen));
    *file_out = f;
    *dset_out = d;
    f = d = H5I_INVALID_HID;
cleanup:
    if (stype >= 0)
        H5Tclose(stype);
    if (attr >= 0)
        H5Aclose(attr);
    if (aspace >= 0)
        H5Sclose(aspace);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    return st;
}

/* Generate and write every slab of every timepoint. */
static lapse_status_t write_all(hid_t d, int64_t ntp, const int64_t shape[3], uint64_t seed,
                                const blob_t *blobs, int64_t nblobs, int64_t slab)
{
    lapse_status_t st = LAPSE_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    size_t nvox = (size_t)(slab * shape[1] * shape[2]);
    float *acc = malloc(nvox * sizeof *acc);
    uint16_t *out = malloc(nvox * sizeof *out);
    size_t glen = (size_t)(shape[0] + shape[1] + shape[2]) + 8;
    double *g = malloc(glen * sizeof *g);

    LAPSE_ALLOC(acc);
    LAPSE_ALLOC(out);
    LAPSE_ALLOC(g);
    LAPSE_H5ID(fspace, H5Dget_space(d));
    for (int64_t t = 0; t < ntp; t++) {
        for (int64_t z0 = 0; z0 < shape[0]; z0 += slab) {
            int64_t nz = shape[0] - z0 < slab ? shape[0] - z0 : slab;
            size_t n = (size_t)(nz * shape[1] * shape[2]);
            memset(acc, 0, n * sizeof *acc);
            for (int64_t b = 0; b < nblobs; b++)
                splat(&blobs[b], t, shape, z0, nz, acc, g);
            finish(acc, out, t, shape, z0, nz, seed);
            hsize_t start[4] = {(hsize_t)t, (hsize_t)z0, 0, 0};
            hsize_t count[4] = {1, (hsize_t)nz, (hsize_t)shape[1], (hsize_t)shape[2]};
            LAPSE_H5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL));
            LAPSE_H5ID(mspace, H5Screate_simple(4, count, NULL));
            LAPSE_H5(H5Dwrite(d, H5T_NATIVE_UINT16, mspace, fspace, H5P_DEFAULT, out));
            LAPSE_H5(H5Sclose(mspace));
            mspace = H5I_INVALID_HID;
        }
    }
cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    free(g);
    free(out);
    free(acc);
    return st;
}

/* The temporary file being written, removed by on_signal when SIGINT / SIGTERM / SIGHUP ends the
 * process first (unlink is async-signal-safe). */
static char sample_tmp[4200];

static void on_signal(int sig)
{
    unlink(sample_tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Install (on = 1) or remove (on = 0) on_signal for the signals that end a `lapse sample`. */
static void tmp_guard(int on)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        signal(sigs[i], on ? on_signal : SIG_DFL);
}

/* The directory of path into dir[len]: "." for a bare name, "/" for a file at the root. */
static void parent_dir(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

lapse_status_t lapse_sample_write(const char *path, int64_t ntp, const int64_t shape[3],
                                  uint64_t seed)
{
    lapse_status_t st = LAPSE_OK;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID;
    blob_t *blobs = NULL;
    char tmp[4200];
    int made = 0;
    struct stat sb;

    lapse_h5_init();
    if (path == NULL || path[0] == '\0' || ntp < 1 || shape == NULL)
        LAPSE_FAIL(LAPSE_EUSAGE, "sample: a path and at least one timepoint are needed");
    for (int a = 0; a < 3; a++) {
        if (shape[a] < 1 || shape[a] > (1 << 20))
            LAPSE_FAIL(LAPSE_EUSAGE, "sample: shape must be 1..%d on each axis (got %lld)", 1 << 20,
                       (long long)shape[a]);
    }
    if (stat(path, &sb) == 0)
        LAPSE_FAIL(LAPSE_EUSAGE, "sample: %s exists; remove it first", path);
    if (strlen(path) + 32 > sizeof tmp)
        LAPSE_FAIL(LAPSE_EUSAGE, "sample: path too long");
    parent_dir(path, tmp, sizeof tmp);
    if (stat(tmp, &sb) != 0 || !S_ISDIR(sb.st_mode))
        LAPSE_FAIL(LAPSE_EUSAGE, "sample: directory %s does not exist (create it first)", tmp);
    if (access(tmp, W_OK) != 0)
        LAPSE_FAIL(LAPSE_EUSAGE, "sample: directory %s is not writable: %s", tmp, strerror(errno));
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());

    int64_t vox = shape[0] * shape[1] * shape[2];
    int64_t nblobs = vox / VOXELS_PER_BLOB;
    if (nblobs < 4)
        nblobs = 4;
    blobs = malloc((size_t)nblobs * sizeof *blobs);
    LAPSE_ALLOC(blobs);
    make_blobs(blobs, nblobs, shape, seed);

    made = 1;
    snprintf(sample_tmp, sizeof sample_tmp, "%s", tmp);
    tmp_guard(1);
    LAPSE_TRY(create_file(tmp, ntp, shape, seed, nblobs, &f, &d));
    int64_t slab = shape[0] < 32 ? shape[0] : 32;
    LAPSE_TRY(write_all(d, ntp, shape, seed, blobs, nblobs, slab));
    LAPSE_H5(H5Dclose(d));
    d = H5I_INVALID_HID;
    LAPSE_H5(H5Fclose(f));
    f = H5I_INVALID_HID;
    if (rename(tmp, path) != 0)
        LAPSE_FAIL(LAPSE_EIO, "sample: rename %s -> %s failed: %s", tmp, path, strerror(errno));
    made = 0;
cleanup:
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    if (made)
        unlink(tmp);
    tmp_guard(0);
    free(blobs);
    return st;
}
