/*
 * relabel.cl - the per-timepoint label remaps (src/ops/op_relabel.c): per-label statistics of a
 * tile's core (voxel count, first voxel, whether the label touches the timepoint's border), the
 * list of the labels present, and the map of every voxel through a lookup table. A voxel's label
 * is its value truncated to an integer where it is at least 1 (NumPy's astype(uint32)), else 0
 * (background, NaN included); the host made sure no value of the core exceeds 2^24. Only 32-bit
 * atomics (OpenCL 1.2 core); results do not depend on the order of the work-items.
 *
 * Core geometry (as reduce.cl): the buffer has dims (bz, by, bx) = b.zyx, the core starts at
 * o.zyx in it and has dims c.zyx; g.zyx is the core's offset in the timepoint, img.zyx the
 * timepoint's dims, edge.zyx 1 where that axis's two faces count as the border.
 */

#define RL_RUN 16 /* core voxels along x per work-item of lapse_relabel_stats */

static inline uint rl_label(float v)
{
    return v >= 1.0f ? (uint)v : 0u;
}

/* Add one run of n voxels of label l starting at core-local index i0 (x0 its x in the core) to
 * the statistics of the labels lo .. lo + nl - 1; border: the run lies on a y or z face. */
static void rl_flush(uint l, uint n, uint i0, int x0, int border, int4 c, int4 g, int4 img,
                     int4 edge, uint lo, uint nl, volatile __global uint *count,
                     volatile __global uint *first, volatile __global uint *flag)
{
    if (l < lo || l - lo >= nl)
        return;
    const uint k = l - lo;
    atomic_add(&count[k], n);
    atomic_min(&first[k], i0);
    const int gx0 = g.x + x0, gx1 = gx0 + (int)n - 1;
    if (!border && edge.x && img.x > 1)
        border = gx0 == 0 || gx1 == img.x - 1;
    if (border)
        atomic_or(&flag[k], 1u);
}

/* Per-label statistics of the core: count[k] += voxels of label lo + k, first[k] = min of their
 * core-local raster indices (z * c.y + y) * c.x + x, flag[k] |= 1 where one lies on the border.
 * Work-item (i, y, z) takes the core voxels x = i * RL_RUN .. + RL_RUN - 1 of row (y, z) and
 * flushes runs of equal labels, so a large label costs one atomic per run, not per voxel. */
__kernel void lapse_relabel_stats(__global const float *src, int4 b, int4 o, int4 c, int4 g,
                                  int4 img, int4 edge, uint lo, uint nl,
                                  volatile __global uint *count, volatile __global uint *first,
                                  volatile __global uint *flag)
{
    const int i = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);
    const int x0 = i * RL_RUN;
    if (x0 >= c.x || y >= c.y || z >= c.z)
        return;
    const int x1 = min(x0 + RL_RUN, c.x);
    const int gy = g.y + y, gz = g.z + z;
    const int border = (edge.y && img.y > 1 && (gy == 0 || gy == img.y - 1)) ||
                       (edge.z && img.z > 1 && (gz == 0 || gz == img.z - 1));
    __global const float *row =
        src + (((size_t)(o.z + z) * (size_t)b.y + (size_t)(o.y + y)) * (size_t)b.x + (size_t)o.x);
    const uint base = ((uint)z * (uint)c.y + (uint)y) * (uint)c.x;
    uint cur = rl_label(row[x0]), n = 1;
    int start = x0;
    for (int x = x0 + 1; x < x1; x++) {
        const uint l = rl_label(row[x]);
        if (l == cur) {
            n++;
            continue;
        }
        rl_flush(cur, n, base + (uint)start, start, border, c, g, img, edge, lo, nl, count, first,
                 flag);
        cur = l;
        n = 1;
        start = x;
    }
    rl_flush(cur, n, base + (uint)start, start, border, c, g, img, edge, lo, nl, count, first,
             flag);
}

/* The labels present (count[k] > 0) appended to list as (label, count, first, flag) in any
 * order (the host sorts them); *nlist counts them. */
__kernel void lapse_relabel_collect(__global const uint *count, __global const uint *first,
                                    __global const uint *flag, uint lo, uint nl,
                                    __global uint4 *list, volatile __global uint *nlist)
{
    const size_t k = get_global_id(0);
    if (k >= nl || count[k] == 0)
        return;
    const uint slot = atomic_inc(nlist);
    list[slot] = (uint4)(lo + (uint)k, count[k], first[k], flag[k]);
}

/* dst = map[l - lo] for a voxel of label l in lo .. lo + nmap - 1, else 0 (n voxels, float32:
 * the new labels are at most 2^24, exact). dst may be src. */
__kernel void lapse_relabel_map(__global const float *src, __global float *dst, ulong n,
                                __global const uint *map, uint lo, uint nmap)
{
    const size_t i = get_global_id(0);
    if (i >= n)
        return;
    const uint l = rl_label(src[i]);
    dst[i] = l >= lo && l - lo < nmap ? (float)map[l - lo] : 0.0f;
}
