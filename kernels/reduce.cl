/*
 * reduce.cl - partial results of global operations over the core box of a tile (src/ops/
 * op_threshold.c): minimum and maximum, a 256-bin histogram with NumPy's bin rule, and exact
 * fixed-point sums. Every kernel walks the core voxels with a grid-stride loop in work-groups
 * of LAPSE_RG (a power of two) and writes one value per work-group (the host finishes), or
 * adds into global bins with atomics; results do not depend on the order of the work-items.
 *
 * Core geometry: the buffer has dims (bz, by, bx); the core starts at (oz, oy, ox) in it and
 * has dims (cz, cy, cx). The kernels take them as int4 b (x = bx, y = by, z = bz), o and c.
 */
#pragma OPENCL FP_CONTRACT OFF

#define LAPSE_RG 256
#define LAPSE_HRUN 16   /* voxels per work-item and run in lapse_hist256 */
#define LAPSE_HCOPIES 8 /* local copies of lapse_hist256's bins, 257 apart (banks) */

/* Buffer index of core voxel i. A core of whole planes of the buffer (a timepoint held whole,
 * or tiles cut along z only) is one contiguous run: no division. */
static inline size_t core_at(ulong i, int4 b, int4 o, int4 c)
{
    if (c.x == b.x && c.y == b.y)
        return (size_t)o.z * (size_t)b.x * (size_t)b.y + (size_t)i;
    const uint cx = (uint)c.x, cy = (uint)c.y;
    const ulong plane = (ulong)cx * cy, z = i / plane;
    const uint r = (uint)(i - z * plane), y = r / cx, x = r - y * cx;
    return (((size_t)o.z + z) * (size_t)b.y + (size_t)o.y + y) * (size_t)b.x + (size_t)o.x + x;
}

/* Per work-group minimum and maximum of the core (NaN ignored; +inf/-inf when a group saw no
 * number): mn[group], mx[group]. */
__kernel __attribute__((reqd_work_group_size(LAPSE_RG, 1, 1))) void
lapse_minmax(__global const float *src, int4 b, int4 o, int4 c, __global float *mn,
             __global float *mx)
{
    __local float lmn[LAPSE_RG], lmx[LAPSE_RG];
    const ulong n = (ulong)c.x * (ulong)c.y * (ulong)c.z;
    const size_t l = get_local_id(0);
    float a = INFINITY, z = -INFINITY;
    const ulong gid = get_global_id(0), gs = get_global_size(0);
    if (c.x == b.x && c.y == b.y) { /* one contiguous run: float4 loads, two in flight */
        __global const float *p = src + (size_t)o.z * (size_t)b.x * (size_t)b.y;
        const ulong n4 = n / 4;
        ulong i = gid;
        for (; i + gs < n4; i += 2 * gs) {
            const float4 u = vload4(i, p), w = vload4(i + gs, p);
            a = fmin(a, fmin(fmin(fmin(u.x, u.y), fmin(u.z, u.w)),
                             fmin(fmin(w.x, w.y), fmin(w.z, w.w))));
            z = fmax(z, fmax(fmax(fmax(u.x, u.y), fmax(u.z, u.w)),
                             fmax(fmax(w.x, w.y), fmax(w.z, w.w))));
        }
        if (i < n4) {
            const float4 u = vload4(i, p);
            a = fmin(a, fmin(fmin(u.x, u.y), fmin(u.z, u.w)));
            z = fmax(z, fmax(fmax(u.x, u.y), fmax(u.z, u.w)));
        }
        for (ulong j = n4 * 4 + gid; j < n; j += gs) {
            a = fmin(a, p[j]);
            z = fmax(z, p[j]);
        }
    } else {
        for (ulong i = gid; i < n; i += gs) {
            const float v = src[core_at(i, b, o, c)];
            a = fmin(a, v);
            z = fmax(z, v);
        }
    }
    lmn[l] = a;
    lmx[l] = z;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t s = LAPSE_RG / 2; s > 0; s >>= 1) {
        if (l < s) {
            lmn[l] = fmin(lmn[l], lmn[l + s]);
            lmx[l] = fmax(lmx[l], lmx[l + s]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) {
        mn[get_group_id(0)] = lmn[0];
        mx[get_group_id(0)] = lmx[0];
    }
}

/* 256-bin histogram of the core into bins (added with atomics; zero them first), NumPy's rule
 * for uniform bins with float32 edges e[0..256]: a first guess from (v - e0) * norm, then moved
 * by one where v < e[i] or v >= e[i + 1] (the last bin includes its right edge). Values outside
 * [e0, e256] and NaN are not counted. */
__kernel __attribute__((reqd_work_group_size(LAPSE_RG, 1, 1))) void
lapse_hist256(__global const float *src, int4 b, int4 o, int4 c, __constant float *e, float norm,
              __global uint *bins)
{
    /* LAPSE_HCOPIES copies of the bins, work-item l adding to copy l % LAPSE_HCOPIES: the lanes
     * of a warp that hit one bin (a background) spread over copies in different banks */
    __local uint hs[LAPSE_HCOPIES * 257];
    const ulong n = (ulong)c.x * (ulong)c.y * (ulong)c.z;
    const size_t l = get_local_id(0);
    for (size_t q = l; q < LAPSE_HCOPIES * 257; q += LAPSE_RG)
        hs[q] = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    __local float le[257]; /* the edges in local memory: lanes read different ones */
    for (size_t q = l; q < 257; q += LAPSE_RG)
        le[q] = e[q];
    barrier(CLK_LOCAL_MEM_FENCE);
    __local uint *h = hs + (l % LAPSE_HCOPIES) * 257;
    const float e0 = le[0], e256 = le[256];
    /* A work-group takes chunks of LAPSE_HRUN x LAPSE_RG voxels, each work-item every
     * LAPSE_RG-th voxel of it (coalesced; all LAPSE_HRUN loads issued first), and adds to a
     * local bin only when its bin changes: smooth images (a background in one bin) need few
     * atomics. */
    const ulong chunk = (ulong)LAPSE_HRUN * LAPSE_RG, nchunks = (n + chunk - 1) / chunk;
    for (ulong ch = get_group_id(0); ch < nchunks; ch += get_num_groups(0)) {
        float v[LAPSE_HRUN];
#pragma unroll
        for (int j = 0; j < LAPSE_HRUN; j++) {
            const ulong i = ch * chunk + (ulong)j * LAPSE_RG + l;
            v[j] = i < n ? src[core_at(i, b, o, c)] : NAN;
        }
        int bin = -1;
        uint cnt = 0;
#pragma unroll
        for (int j = 0; j < LAPSE_HRUN; j++) {
            if (!(v[j] >= e0 && v[j] <= e256))
                continue;
            int k = (int)((v[j] - e0) * norm);
            k = k < 0 ? 0 : k > 255 ? 255 : k;
            if (v[j] < le[k])
                k--;
            else if (k < 255 && v[j] >= le[k + 1])
                k++;
            if (k != bin) {
                if (cnt)
                    atomic_add(&h[bin], cnt);
                bin = k;
                cnt = 0;
            }
            cnt++;
        }
        if (cnt)
            atomic_add(&h[bin], cnt);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    uint sum = 0;
    for (int q = 0; q < LAPSE_HCOPIES; q++)
        sum += hs[q * 257 + l];
    if (sum)
        atomic_add(&bins[l], sum);
}

/* Per work-group exact sum of the core's finite voxels as integers: each counts as
 * rint(v * 2^shift) (round half to even; the caller chose shift so that no term and no sum
 * overflows 63 bits); and the number of NaN voxels (threshold_mean: a NaN makes the mean NaN).
 * sums[group], nans[group]. */
__kernel __attribute__((reqd_work_group_size(LAPSE_RG, 1, 1))) void
lapse_fixsum(__global const float *src, int4 b, int4 o, int4 c, int shift, __global long *sums,
             __global long *nans)
{
    __local long ls[LAPSE_RG], ln[LAPSE_RG];
    const ulong n = (ulong)c.x * (ulong)c.y * (ulong)c.z;
    const size_t l = get_local_id(0);
    long acc = 0, nn = 0;
    for (ulong i = get_global_id(0); i < n; i += get_global_size(0)) {
        const float v = src[core_at(i, b, o, c)];
        if (isnan(v))
            nn++;
        else if (!isinf(v))
            acc += convert_long_rte(ldexp(v, shift));
    }
    ls[l] = acc;
    ln[l] = nn;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t s = LAPSE_RG / 2; s > 0; s >>= 1) {
        if (l < s) {
            ls[l] += ls[l + s];
            ln[l] += ln[l + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) {
        sums[get_group_id(0)] = ls[0];
        nans[get_group_id(0)] = ln[0];
    }
}

/* Radix selection (threshold_percentile): the sortable key of a float (order of the keys =
 * order of the numbers; NaN is never keyed). */
static inline uint sort_key(float v)
{
    const uint u = as_uint(v);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* Histograms of the 8-bit digit `pass` (0 = the top byte) of the keys of the core's numbers
 * whose higher digits equal pfx.x (bins[0..255]) and pfx.y (bins[256..511]); pass 0 counts
 * every number once, in the first histogram. Added with atomics: zero the bins first. */
__kernel __attribute__((reqd_work_group_size(LAPSE_RG, 1, 1))) void
lapse_radix_hist(__global const float *src, int4 b, int4 o, int4 c, uint2 pfx, int pass,
                 __global uint *bins)
{
    __local uint h[512];
    const ulong n = (ulong)c.x * (ulong)c.y * (ulong)c.z;
    const size_t l = get_local_id(0);
    h[l] = 0;
    h[l + 256] = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    const int shift = 24 - 8 * pass;
    for (ulong i = get_global_id(0); i < n; i += get_global_size(0)) {
        const float v = src[core_at(i, b, o, c)];
        if (isnan(v))
            continue;
        const uint key = sort_key(v), digit = (key >> shift) & 255u;
        if (pass == 0) {
            atomic_inc(&h[digit]);
            continue;
        }
        const uint top = key >> (shift + 8);
        if (top == pfx.x)
            atomic_inc(&h[digit]);
        if (top == pfx.y)
            atomic_inc(&h[256 + digit]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (h[l])
        atomic_add(&bins[l], h[l]);
    if (h[l + 256])
        atomic_add(&bins[l + 256], h[l + 256]);
}
