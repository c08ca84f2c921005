/*
 * measure.cl - per-label partial results of measure_labels (src/ops/op_measure.c) over the core
 * box of a tile: a scan (largest label, largest finite |intensity| and foreground voxel count),
 * the per-label accumulation (voxel count, coordinate sums, bounding box, exact fixed-point
 * intensity sum, minimum, maximum, non-finite flags) and the per-label sums of squared
 * deviations from the label's mean. Every sum is an integer (128-bit fixed point for
 * intensities), added with atomics, so the result is the same bits whatever order the
 * work-items run in and however the timepoint is cut into tiles.
 *
 * A voxel's label is its value truncated to a whole number; values below 1 (and NaN) are
 * background; values above 2^24 give LAPSE_BIG_LABEL (the host refuses them).
 *
 * Work: the accumulating kernels stage a chunk of a core row in local memory (coalesced reads),
 * give each work-item LAPSE_SEG consecutive voxels of it and flush a label's sums with atomics
 * only where the label changes, so the atomics scale with the runs of labels along x, not with
 * the voxels.
 *
 * Core geometry (as kernels/reduce.cl): the buffers have dims (bz, by, bx); the core starts at
 * (oz, oy, ox) in them and has dims (cz, cy, cx): int4 b, o, c (x, y, z); p is the core's
 * position in the timepoint (coordinates are timepoint coordinates). Per-label arrays are
 * indexed by label, m1 = the timepoint's largest label + 1 entries per field.
 *
 * Needs cl_khr_int64_base_atomics and cl_khr_fp64 (the host checks before building).
 */
#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT OFF

#define LAPSE_MG        256 /* work-group size of lapse_measure_scan */
#define LAPSE_SEG       16  /* voxels along x per work-item of the accumulating kernels */
#define LAPSE_BIG_LABEL 0xFFFFFFFFu

/* The label of a voxel value (see the file comment). */
static inline uint label_of(float v)
{
    return v >= 1.0f ? (v <= 16777216.0f ? (uint)v : LAPSE_BIG_LABEL) : 0u;
}

/* Buffer index of core voxel (x, y, z). */
static inline size_t buf_at(int x, int y, int z, int4 b, int4 o)
{
    return (((size_t)(o.z + z)) * (size_t)b.y + (size_t)(o.y + y)) * (size_t)b.x + (size_t)(o.x + x);
}

/* Order-preserving key of a non-NaN float as a uint (atomic_min / atomic_max on floats). */
static inline uint fkey(float f)
{
    const uint u = as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* The smaller (larger) of two non-NaN floats in fkey's order: -0.0 below +0.0, so that a label
 * holding both gets the same minimum and maximum whichever work-item or tile saw which first
 * (fmin / fmax may return either zero). */
static inline float kmin(float a, float b)
{
    return fkey(b) < fkey(a) ? b : a;
}
static inline float kmax(float a, float b)
{
    return fkey(b) > fkey(a) ? b : a;
}

/* rint(x * 2^shift) (round half to even) as a two's complement 128-bit integer (lo, hi), for a
 * finite x whose result fits (the host chose shift so). Exact: x's 53-bit significand is
 * shifted, never multiplied. */
static inline void fix128(double x, int shift, ulong *lo, ulong *hi)
{
    const ulong bits = as_ulong(x);
    int ex = (int)((bits >> 52) & 0x7FF);
    ulong m = bits & 0xFFFFFFFFFFFFFUL, l = 0, h = 0;
    if (ex == 0)
        ex = 1; /* subnormal (or zero: m = 0) */
    else
        m |= 1UL << 52;
    const int sh = ex - 1075 + shift; /* |x| * 2^shift = m * 2^sh */
    if (m == 0) {
        /* zero */
    } else if (sh >= 64) {
        h = m << (sh - 64);
    } else if (sh > 0) {
        l = m << sh;
        h = m >> (64 - sh);
    } else if (sh == 0) {
        l = m;
    } else if (sh >= -53) {
        const int r = -sh;
        const ulong hf = 1UL << (r - 1), rem = m & ((1UL << r) - 1);
        l = m >> r;
        if (rem > hf || (rem == hf && (l & 1UL)))
            l++;
    } /* else m * 2^sh < 1/2: 0 */
    if (bits >> 63) { /* negate */
        l = ~l + 1UL;
        h = ~h + (l == 0 ? 1UL : 0UL);
    }
    *lo = l;
    *hi = h;
}

/* (lo, hi) += (a, b), 128-bit. */
static inline void add128(ulong *lo, ulong *hi, ulong a, ulong b)
{
    const ulong s = *lo + a;
    *hi += b + (s < a ? 1UL : 0UL);
    *lo = s;
}

/* Atomically add (a, b) to the 128-bit integer at (plo, phi): the low word's carry goes to the
 * high word, so the final value is the exact sum (mod 2^128) in any order. */
static inline void atom_add128(volatile __global ulong *plo, volatile __global ulong *phi, ulong a,
                               ulong b)
{
    const ulong old = atom_add(plo, a);
    const ulong carry = old + a < old ? 1UL : 0UL;
    if (b + carry)
        atom_add(phi, b + carry);
}

/* Scan of the core: res[0] = max(res[0], the largest label), res[1] = max(res[1], the bits of
 * the largest finite |intensity| of a foreground voxel) (atomic; the host zeroes both first),
 * nfg[0] += the foreground voxels. Work-groups of LAPSE_MG, any number: group g reads the core
 * rows g, g + groups, ... (coalesced along x). */
__kernel __attribute__((reqd_work_group_size(LAPSE_MG, 1, 1))) void
lapse_measure_scan(__global const float *lab, __global const float *img, int4 b, int4 o, int4 c,
                   __global uint *res, __global ulong *nfg)
{
    __local uint ll[LAPSE_MG], la[LAPSE_MG];
    __local ulong ln[LAPSE_MG];
    const ulong rows = (ulong)c.y * (ulong)c.z;
    const int l = (int)get_local_id(0);
    uint lmax = 0, amax = 0;
    ulong cnt = 0;
    for (ulong r = get_group_id(0); r < rows; r += get_num_groups(0)) {
        const size_t row = buf_at(0, (int)(r % (ulong)c.y), (int)(r / (ulong)c.y), b, o);
        for (int x = l; x < c.x; x += LAPSE_MG) {
            const uint lb = label_of(lab[row + (size_t)x]);
            if (lb == 0)
                continue;
            lmax = max(lmax, lb);
            cnt++;
            const float v = fabs(img[row + (size_t)x]);
            if (isfinite(v))
                amax = max(amax, as_uint(v)); /* non-negative floats order as their bits */
        }
    }
    ll[l] = lmax;
    la[l] = amax;
    ln[l] = cnt;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = LAPSE_MG / 2; s > 0; s >>= 1) {
        if (l < s) {
            ll[l] = max(ll[l], ll[l + s]);
            la[l] = max(la[l], la[l + s]);
            ln[l] += ln[l + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) {
        if (ll[0])
            atomic_max(&res[0], ll[0]);
        if (la[0])
            atomic_max(&res[1], la[0]);
        if (ln[0])
            atom_add(&nfg[0], ln[0]);
    }
}

/* Fields of the accumulation arrays, each m1 entries long. acc (ulong): count, sum of z, sum of
 * y, sum of x, intensity sum (fixed point, low word, high word). ext (uint): bounding box
 * minimum z, y, x (start at 0xFFFFFFFF), maximum z, y, x (start at 0), intensity minimum key
 * (start at 0xFFFFFFFF), maximum key (start at 0), non-finite flags (1 NaN, 2 +inf, 4 -inf;
 * start at 0). */
#define ACC_N   0
#define ACC_SZ  1
#define ACC_SY  2
#define ACC_SX  3
#define ACC_SLO 4
#define ACC_SHI 5
#define EXT_Z0  0
#define EXT_Y0  1
#define EXT_X0  2
#define EXT_Z1  3
#define EXT_Y1  4
#define EXT_X1  5
#define EXT_MIN 6
#define EXT_MAX 7
#define EXT_FL  8

/* One run's sums into label lb's fields. */
static inline void flush_run(__global ulong *acc, __global uint *ext, ulong m1, uint lb, ulong n,
                             uint gz, uint gy, uint x0, uint x1, ulong sx, ulong lo, ulong hi,
                             float mn, float mx, uint fl)
{
    atom_add(&acc[ACC_N * m1 + lb], n);
    atom_add(&acc[ACC_SZ * m1 + lb], n * (ulong)gz);
    atom_add(&acc[ACC_SY * m1 + lb], n * (ulong)gy);
    atom_add(&acc[ACC_SX * m1 + lb], sx);
    if (lo | hi)
        atom_add128(&acc[ACC_SLO * m1 + lb], &acc[ACC_SHI * m1 + lb], lo, hi);
    atomic_min(&ext[EXT_Z0 * m1 + lb], gz);
    atomic_min(&ext[EXT_Y0 * m1 + lb], gy);
    atomic_min(&ext[EXT_X0 * m1 + lb], x0);
    atomic_max(&ext[EXT_Z1 * m1 + lb], gz);
    atomic_max(&ext[EXT_Y1 * m1 + lb], gy);
    atomic_max(&ext[EXT_X1 * m1 + lb], x1);
    if (mn <= mx) {
        atomic_min(&ext[EXT_MIN * m1 + lb], fkey(mn));
        atomic_max(&ext[EXT_MAX * m1 + lb], fkey(mx));
    }
    if (fl)
        atomic_or(&ext[EXT_FL * m1 + lb], fl);
}

/* Index in the local staging arrays of chunk position k: one pad word per 32, so that the
 * work-items of a warp, each reading its own LAPSE_SEG consecutive words, hit distinct banks. */
#define PAD(k) ((k) + ((k) >> 5))

/* Stage the work-group's chunk of core row `row` (x from x0, chunk = local size * LAPSE_SEG
 * voxels, clipped to cx) of labels and intensities into local memory, coalesced. */
static inline void stage(__global const float *lab, __global const float *img, size_t row, int x0,
                         int cx, __local float *ll, __local float *li)
{
    const int wg = (int)get_local_size(0), chunk = wg * LAPSE_SEG;
    for (int k = (int)get_local_id(0); k < chunk && x0 + k < cx; k += wg) {
        ll[PAD(k)] = lab[row + (size_t)(x0 + k)];
        li[PAD(k)] = img[row + (size_t)(x0 + k)];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

/* Accumulate every foreground core voxel into its label's fields (see above; the host
 * initialises them). Intensities count as rint(v * 2^shift) (fix128); non-finite ones only set
 * a flag (infinities still take part in the minimum and maximum). p: the core's position in the
 * timepoint. NDRange (wg * ceil(cx / (wg * LAPSE_SEG)), cy * cz) in work-groups of (wg, 1): a
 * work-group stages a chunk of wg * LAPSE_SEG voxels of one row (ll, li: PAD(wg * LAPSE_SEG)
 * floats each), then each work-item walks its LAPSE_SEG voxels. Labels >= m1 are ignored (the
 * host sized m1 from the scan). */
__kernel void lapse_measure_accum(__global const float *lab, __global const float *img, int4 b,
                                  int4 o, int4 c, int4 p, int shift, __global ulong *acc,
                                  __global uint *ext, ulong m1, __local float *ll,
                                  __local float *li)
{
    const int wg = (int)get_local_size(0), t = (int)get_local_id(0);
    const int x0 = (int)get_group_id(0) * wg * LAPSE_SEG;
    const size_t r = get_global_id(1);
    const int y = (int)(r % (size_t)c.y), z = (int)(r / (size_t)c.y);
    stage(lab, img, buf_at(0, y, z, b, o), x0, c.x, ll, li);
    const int ks = t * LAPSE_SEG, ke = min(ks + LAPSE_SEG, c.x - x0);
    const uint gz = (uint)(p.z + z), gy = (uint)(p.y + y);
    uint cur = 0, xa = 0, xb = 0, fl = 0;
    ulong n = 0, sx = 0, lo = 0, hi = 0;
    float mn = INFINITY, mx = -INFINITY;
    for (int k = ks; k < ke; k++) {
        uint lb = label_of(ll[PAD(k)]);
        if ((ulong)lb >= m1)
            lb = 0;
        const uint gx = (uint)(p.x + x0 + k);
        if (lb != cur) {
            if (cur)
                flush_run(acc, ext, m1, cur, n, gz, gy, xa, xb, sx, lo, hi, mn, mx, fl);
            cur = lb;
            xa = gx;
            n = sx = lo = hi = 0;
            fl = 0;
            mn = INFINITY;
            mx = -INFINITY;
        }
        if (lb == 0)
            continue;
        const float v = li[PAD(k)];
        xb = gx;
        n++;
        sx += gx;
        if (isfinite(v)) {
            ulong tl, th;
            fix128((double)v, shift, &tl, &th);
            add128(&lo, &hi, tl, th);
        } else
            fl |= isnan(v) ? 1u : v > 0.0f ? 2u : 4u;
        if (!isnan(v)) {
            mn = kmin(mn, v);
            mx = kmax(mx, v);
        }
    }
    if (cur)
        flush_run(acc, ext, m1, cur, n, gz, gy, xa, xb, sx, lo, hi, mn, mx, fl);
}

/* Sums of squared deviations: for every foreground core voxel with a finite intensity v,
 * rint((v - mean[label])^2 * 2^shift) (the square in double) added to the label's 128-bit
 * integer (q[label], q[m1 + label]; the host zeroes q). NDRange and staging as
 * lapse_measure_accum. */
__kernel void lapse_measure_sq(__global const float *lab, __global const float *img, int4 b,
                               int4 o, int4 c, int shift, __global const double *mean,
                               __global ulong *q, ulong m1, __local float *ll, __local float *li)
{
    const int wg = (int)get_local_size(0), t = (int)get_local_id(0);
    const int x0 = (int)get_group_id(0) * wg * LAPSE_SEG;
    const size_t r = get_global_id(1);
    const int y = (int)(r % (size_t)c.y), z = (int)(r / (size_t)c.y);
    stage(lab, img, buf_at(0, y, z, b, o), x0, c.x, ll, li);
    const int ks = t * LAPSE_SEG, ke = min(ks + LAPSE_SEG, c.x - x0);
    uint cur = 0;
    double m = 0.0;
    ulong lo = 0, hi = 0;
    for (int k = ks; k < ke; k++) {
        uint lb = label_of(ll[PAD(k)]);
        if ((ulong)lb >= m1)
            lb = 0;
        if (lb != cur) {
            if (cur && (lo | hi))
                atom_add128(&q[cur], &q[m1 + cur], lo, hi);
            cur = lb;
            lo = hi = 0;
            if (lb)
                m = mean[lb];
        }
        if (lb == 0)
            continue;
        const float v = li[PAD(k)];
        if (!isfinite(v))
            continue;
        const double d = (double)v - m;
        ulong tl, th;
        fix128(d * d, shift, &tl, &th);
        add128(&lo, &hi, tl, th);
    }
    if (cur && (lo | hi))
        atom_add128(&q[cur], &q[m1 + cur], lo, hi);
}
