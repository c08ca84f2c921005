/*
 * io/chunkmap.c - chunk addresses as runs of equally spaced chunks (io/chunkmap.h): a bisection
 * over the chunk index with HDF5 lookups at its ends, checked against samples.
 */
#include "io/chunkmap.h"

#include <stdlib.h>

#include "h5util.h"

/* Lookups a build may make: the bisection's and the samples'. Each costs up to one walk of the
 * index (HDF5 1.10), so a map that needs more than this is not worth having. */
#define CHUNKMAP_BUDGET  160
#define CHUNKMAP_SAMPLES 16

struct lapse_chunkmap {
    int nd;
    hsize_t cd[4], nc[4]; /* chunk dims, chunks per axis */
    hsize_t n, bytes;     /* chunks, bytes per chunk */
    int nruns, cap;
    hsize_t *first; /* run r starts at chunk index first[r] (increasing, first[0] = 0) */
    haddr_t *base;  /* at address base[r]; its chunks follow every bytes */
    int lookups;
};

typedef struct {
    hid_t dset, space;
    lapse_chunkmap_t *m;
} build_t;

/* Chunk index i (C order of the chunk coordinates) as the offset of its first element. */
static void index_offset(const lapse_chunkmap_t *m, hsize_t i, hsize_t *off)
{
    for (int a = m->nd - 1; a >= 0; a--) {
        off[a] = (i % m->nc[a]) * m->cd[a];
        i /= m->nc[a];
    }
}

/* HDF5's address of chunk i into *addr; *ok 0 where the chunk is not the one expected there
 * (not allocated, filtered, another size, another position: no map). */
static lapse_status_t lookup(build_t *b, hsize_t i, haddr_t *addr, int *ok)
{
    lapse_status_t st = LAPSE_OK;
    hsize_t got[4] = {0}, want[4], size = 0;
    unsigned mask = 0;
    *ok = 0;
    if (b->m->lookups >= CHUNKMAP_BUDGET)
        return LAPSE_OK;
    b->m->lookups++;
    *addr = HADDR_UNDEF;
    LAPSE_H5(H5Dget_chunk_info(b->dset, b->space, i, got, &mask, addr, &size));
    index_offset(b->m, i, want);
    *ok = *addr != HADDR_UNDEF && mask == 0 && size == b->m->bytes;
    for (int a = 0; a < b->m->nd; a++)
        *ok = *ok && got[a] == want[a];
cleanup:
    return st;
}

static lapse_status_t add_run(lapse_chunkmap_t *m, hsize_t first, haddr_t base)
{
    if (m->nruns == m->cap) {
        int c2 = m->cap ? 2 * m->cap : 8;
        hsize_t *f2 = realloc(m->first, (size_t)c2 * sizeof *f2);
        if (f2 == NULL)
            return lapse_fail(LAPSE_ENOMEM, "out of memory: chunk map");
        m->first = f2;
        haddr_t *b2 = realloc(m->base, (size_t)c2 * sizeof *b2);
        if (b2 == NULL)
            return lapse_fail(LAPSE_ENOMEM, "out of memory: chunk map");
        m->base = b2;
        m->cap = c2;
    }
    m->first[m->nruns] = first;
    m->base[m->nruns] = base;
    m->nruns++;
    return LAPSE_OK;
}

/* Chunks lo < hi at addresses alo, ahi (both looked up): add a run start at every index in
 * (lo, hi] whose chunk does not follow the one before it. Chunks are disjoint and, in a dataset
 * whose chunks were allocated in index order (the caller's precondition: io/chunkmap.h), at
 * increasing addresses, so a span of exactly (hi - lo) * bytes holds chunks lo..hi one after
 * another. The pairs looked up are checked to increase; chunks swapped between them are not
 * seen. *ok 0: no map. */
static lapse_status_t bisect(build_t *b, hsize_t lo, haddr_t alo, hsize_t hi, haddr_t ahi, int *ok)
{
    lapse_status_t st = LAPSE_OK;
    const hsize_t want = (hi - lo) * b->m->bytes;
    if (ahi <= alo || ahi - alo < want) {
        *ok = 0; /* decreasing or overlapping: not the pattern */
        return LAPSE_OK;
    }
    if (ahi - alo == want)
        return LAPSE_OK;
    if (hi - lo == 1)
        return add_run(b->m, hi, ahi);
    const hsize_t mid = lo + (hi - lo) / 2;
    haddr_t amid = HADDR_UNDEF;
    LAPSE_TRY(lookup(b, mid, &amid, ok));
    if (*ok)
        LAPSE_TRY(bisect(b, lo, alo, mid, amid, ok));
    if (*ok)
        LAPSE_TRY(bisect(b, mid, amid, hi, ahi, ok));
cleanup:
    return st;
}

/* The map's address of chunk index i. */
static haddr_t index_addr(const lapse_chunkmap_t *m, hsize_t i)
{
    int lo = 0, hi = m->nruns - 1; /* the last run starting at or before i */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (m->first[mid] <= i)
            lo = mid;
        else
            hi = mid - 1;
    }
    return m->base[lo] + (i - m->first[lo]) * m->bytes;
}

lapse_status_t lapse_chunkmap_build(hid_t dset, int nd, const hsize_t *cd, hsize_t chunk_bytes,
                                    lapse_chunkmap_t **out)
{
    lapse_status_t st = LAPSE_OK;
    build_t b = {dset, H5I_INVALID_HID, NULL};
    hsize_t dims[4];
    haddr_t a0 = HADDR_UNDEF, an = HADDR_UNDEF;
    uint64_t x = 0x9E3779B97F4A7C15ull; /* the samples' sequence: the same map on every rank */
    int ok = 0;
    *out = NULL;
    if (nd < 1 || nd > 4 || chunk_bytes == 0)
        return LAPSE_OK;
    b.m = calloc(1, sizeof *b.m);
    if (b.m == NULL)
        return lapse_fail(LAPSE_ENOMEM, "out of memory: chunk map");
    lapse_chunkmap_t *m = b.m;
    m->nd = nd;
    m->bytes = chunk_bytes;
    LAPSE_H5ID(b.space, H5Dget_space(dset));
    if (H5Sget_simple_extent_dims(b.space, dims, NULL) != nd)
        goto cleanup; /* not the dataset described */
    m->n = 1;
    for (int a = 0; a < nd; a++) {
        if (cd[a] == 0 || dims[a] == 0)
            goto cleanup;
        m->cd[a] = cd[a];
        m->nc[a] = (dims[a] + cd[a] - 1) / cd[a];
        m->n *= m->nc[a];
    }
    LAPSE_TRY(lookup(&b, 0, &a0, &ok));
    if (ok && m->n > 1)
        LAPSE_TRY(lookup(&b, m->n - 1, &an, &ok));
    if (ok)
        LAPSE_TRY(add_run(m, 0, a0));
    if (ok && m->n > 1)
        LAPSE_TRY(bisect(&b, 0, a0, m->n - 1, an, &ok));
    /* samples spread over the index */
    for (int s = 0; ok && s < CHUNKMAP_SAMPLES && m->n > 2; s++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const hsize_t i = (hsize_t)((x >> 11) % m->n);
        haddr_t ai = HADDR_UNDEF;
        LAPSE_TRY(lookup(&b, i, &ai, &ok));
        ok = ok && ai == index_addr(m, i);
    }
cleanup:
    if (b.space >= 0)
        H5Sclose(b.space);
    if (st == LAPSE_OK && ok)
        *out = m;
    else
        lapse_chunkmap_free(m);
    return st;
}

int lapse_chunkmap_addr(const lapse_chunkmap_t *m, const hsize_t *off, haddr_t *addr)
{
    hsize_t i = 0;
    for (int a = 0; a < m->nd; a++) {
        if (off[a] % m->cd[a] != 0 || off[a] / m->cd[a] >= m->nc[a])
            return -1;
        i = i * m->nc[a] + off[a] / m->cd[a];
    }
    *addr = index_addr(m, i);
    return 0;
}

int lapse_chunkmap_runs(const lapse_chunkmap_t *m)
{
    return m ? m->nruns : 0;
}

int lapse_chunkmap_lookups(const lapse_chunkmap_t *m)
{
    return m ? m->lookups : 0;
}

void lapse_chunkmap_free(lapse_chunkmap_t *m)
{
    if (m == NULL)
        return;
    free(m->first);
    free(m->base);
    free(m);
}

unsigned lapse_chunkmap_istore_k(int64_t nchunks)
{
    int64_t ik = nchunks / 2 + 1; /* 2 * ik > nchunks */
    return (unsigned)(ik < 32 ? 32 : ik > 32767 ? 32767 : ik);
}
