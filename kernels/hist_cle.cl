/*
 * hist_cle.cl - the 256-bin histogram of threshold_otsu with clesperanto's bins (src/ops/
 * op_threshold.c, bins: clesperanto): a number v in [lo, hi] falls in bin
 * floor((v - lo) / (hi - lo) * 255 + 0.5), computed in double (correctly rounded on every
 * device), so the first and the last bin are half as wide as the others. Core geometry as in
 * reduce.cl. Needs cl_khr_fp64.
 */
#pragma OPENCL FP_CONTRACT OFF
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

#define LAPSE_RG 256
#define LAPSE_HRUN 16
#define LAPSE_HCOPIES 8 /* local copies of the bins, 257 apart (banks) */

static inline size_t core_at(ulong i, int4 b, int4 o, int4 c)
{
    if (c.x == b.x && c.y == b.y)
        return (size_t)o.z * (size_t)b.x * (size_t)b.y + (size_t)i;
    const uint cx = (uint)c.x, cy = (uint)c.y;
    const ulong plane = (ulong)cx * cy, z = i / plane;
    const uint r = (uint)(i - z * plane), y = r / cx, x = r - y * cx;
    return (((size_t)o.z + z) * (size_t)b.y + (size_t)o.y + y) * (size_t)b.x + (size_t)o.x + x;
}

/* bins[0..255] += the core's counts (atomics: zero them first); NaN and numbers outside
 * [lo, lo + range] are not counted. */
__kernel __attribute__((reqd_work_group_size(LAPSE_RG, 1, 1))) void
lapse_hist256_cle(__global const float *src, int4 b, int4 o, int4 c, float lo, float hi,
                  double range, __global uint *bins)
{
    /* LAPSE_HCOPIES copies of the bins, work-item l adding to copy l % LAPSE_HCOPIES: the lanes
     * of a warp that hit one bin (a background) spread over copies in different banks */
    __local uint hs[LAPSE_HCOPIES * 257];
    const ulong n = (ulong)c.x * (ulong)c.y * (ulong)c.z;
    const size_t l = get_local_id(0);
    for (size_t q = l; q < LAPSE_HCOPIES * 257; q += LAPSE_RG)
        hs[q] = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    __local uint *h = hs + (l % LAPSE_HCOPIES) * 257;
    /* Chunks of LAPSE_HRUN x LAPSE_RG voxels per work-group, each work-item every LAPSE_RG-th
     * voxel of it (coalesced); a work-item adds to a local bin only when its bin changes. */
    const ulong chunk = (ulong)LAPSE_HRUN * LAPSE_RG, nchunks = (n + chunk - 1) / chunk;
    for (ulong ch = get_group_id(0); ch < nchunks; ch += get_num_groups(0)) {
        float v[LAPSE_HRUN]; /* all loads issued first */
#pragma unroll
        for (int j = 0; j < LAPSE_HRUN; j++) {
            const ulong i = ch * chunk + (ulong)j * LAPSE_RG + l;
            v[j] = i < n ? src[core_at(i, b, o, c)] : NAN;
        }
        int bin = -1;
        uint cnt = 0;
#pragma unroll
        for (int j = 0; j < LAPSE_HRUN; j++) {
            if (!(v[j] >= lo && v[j] <= hi))
                continue;
            const double q = (double)v[j] - (double)lo;
            int k = (int)floor(q / range * 255.0 + 0.5);
            k = k < 0 ? 0 : k > 255 ? 255 : k;
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
