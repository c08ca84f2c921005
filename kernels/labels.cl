/*
 * labels.cl - connected-component labelling of one tile's core on the device (src/ops/ccl.c),
 * union-find over 32-bit core-local raster indices in the style of Playne & Hawick (2018):
 * init (each foreground voxel its own parent, background a sentinel), merge (each foreground
 * voxel joins its foreground neighbours of lower index; links are made with atomic_min so a
 * parent index never exceeds its child's and every root ends as the smallest index of its
 * component), compress (each voxel points straight at its root), then the root's index turned
 * into the timepoint raster id + 1 (cl_ulong), and root extraction (an atomic counter appends the
 * roots' core-local indices to a list). The roots are fixed by the partition alone, so the result
 * is the same bits whatever order the work-items race in. Only 32-bit global atomics (OpenCL
 * 1.2 core). All kernels are 1-D over the n core voxels (x fastest); i = (z * cy + y) * cx + x.
 */

#define CCL_BG 0xFFFFFFFFu /* parent of a background voxel; never an index (n <= 2^32 - 1) */

/* Root of x: follow parents until a voxel is its own parent. Parents only decrease and stay in
 * the component, so a stale read only makes the walk longer, never wrong. */
static uint ccl_find(volatile __global uint *L, uint x)
{
    uint p = L[x];
    while (p != x) {
        x = p;
        p = L[x];
    }
    return x;
}

/* Join the sets of a and b: link the larger root below the smaller with atomic_min; when another
 * work-item linked that root first (the old value is not the root itself), go on with the old
 * parent, so no link is lost. */
static void ccl_union(volatile __global uint *L, uint a, uint b)
{
    for (;;) {
        a = ccl_find(L, a);
        b = ccl_find(L, b);
        if (a == b)
            return;
        if (a < b) {
            const uint old = atomic_min(&L[b], a);
            if (old == b)
                return;
            b = old;
        } else {
            const uint old = atomic_min(&L[a], b);
            if (old == a)
                return;
            a = old;
        }
    }
}

/* Parents: i where in (the core voxel at in_base + z in_sz + y in_sy + x) is non-zero (NaN
 * included), else CCL_BG. */
__kernel void lapse_ccl_init(__global const float *in, __global uint *L, uint cx, uint cy, uint n,
                             ulong in_base, ulong in_sy, ulong in_sz)
{
    const size_t g = get_global_id(0);
    if (g >= n)
        return;
    const uint i = (uint)g, x = i % cx, t = i / cx, y = t % cy, z = t / cy;
    const float v = in[in_base + (ulong)z * in_sz + (ulong)y * in_sy + (ulong)x];
    L[i] = v != 0.0f ? i : CCL_BG;
}

#define CCL_FG(j) (L[(j)] != CCL_BG)
#define CCL_JOIN(ok, j)                                                                            \
    do {                                                                                           \
        if ((ok) && CCL_FG(j))                                                                     \
            ccl_union(L, i, (j));                                                                  \
    } while (0)

/* Merge: every foreground voxel joins its foreground neighbours of lower raster index within the
 * core. diamond != 0: the 3 face neighbours; else the 13 of the 26. For the box, a neighbour is
 * skipped when it touches one already joined of lower index (W = x-1, else N = y-1, else B =
 * z-1): that pair is joined where its higher voxel runs, so the partition is the same. */
__kernel void lapse_ccl_merge(volatile __global uint *L, uint cx, uint cy, uint cz, uint n,
                              int diamond)
{
    const size_t g = get_global_id(0);
    if (g >= n)
        return;
    const uint i = (uint)g;
    if (!CCL_FG(i))
        return;
    const uint x = i % cx, t = i / cx, y = t % cy, z = t / cy;
    const uint sy = cx, sz = cx * cy;
    const int hw = x > 0, he = x + 1 < cx, hn = y > 0, hs = y + 1 < cy, hb = z > 0;
    (void)cz;
    if (diamond) {
        CCL_JOIN(hw, i - 1);
        CCL_JOIN(hn, i - sy);
        CCL_JOIN(hb, i - sz);
        return;
    }
    if (hw && CCL_FG(i - 1)) {
        /* W touches every lower neighbour with dx <= 0: only those with dx = +1 remain. */
        ccl_union(L, i, i - 1);
        CCL_JOIN(hn && he, i - sy + 1);
        CCL_JOIN(hb && hn && he, i - sz - sy + 1);
        CCL_JOIN(hb && he, i - sz + 1);
        CCL_JOIN(hb && hs && he, i - sz + sy + 1);
    } else if (hn && CCL_FG(i - sy)) {
        /* N touches all but the three at dz = -1, dy = +1. */
        ccl_union(L, i, i - sy);
        CCL_JOIN(hb && hs && hw, i - sz + sy - 1);
        CCL_JOIN(hb && hs, i - sz + sy);
        CCL_JOIN(hb && hs && he, i - sz + sy + 1);
    } else if (hb && CCL_FG(i - sz)) {
        /* B touches every other lower neighbour. */
        ccl_union(L, i, i - sz);
    } else {
        CCL_JOIN(hn && hw, i - sy - 1);
        CCL_JOIN(hn && he, i - sy + 1);
        CCL_JOIN(hb && hn && hw, i - sz - sy - 1);
        CCL_JOIN(hb && hn, i - sz - sy);
        CCL_JOIN(hb && hn && he, i - sz - sy + 1);
        CCL_JOIN(hb && hw, i - sz - 1);
        CCL_JOIN(hb && he, i - sz + 1);
        CCL_JOIN(hb && hs && hw, i - sz + sy - 1);
        CCL_JOIN(hb && hs, i - sz + sy);
        CCL_JOIN(hb && hs && he, i - sz + sy + 1);
    }
}

/* Compress: every foreground voxel's parent becomes its root (no link changes any more, so
 * every walk ends at the same root). */
__kernel void lapse_ccl_compress(volatile __global uint *L, uint n)
{
    const size_t g = get_global_id(0);
    if (g >= n)
        return;
    const uint i = (uint)g, p = L[i];
    if (p != CCL_BG && p != i)
        L[i] = ccl_find(L, p);
}

/* Raster id + 1 in the timepoint of core-local index r: the core voxel (z, y, x) is the
 * timepoint voxel img_base + z img_sz + y img_sy + x. */
static ulong ccl_id(uint r, uint cx, uint cy, ulong img_base, ulong img_sy, ulong img_sz)
{
    const uint x = r % cx, t = r / cx, y = t % cy, z = t / cy;
    return 1 + img_base + (ulong)z * img_sz + (ulong)y * img_sy + (ulong)x;
}

/* out[i] = 0 for background, else the id of i's root (after compress, L[i] is the root). */
__kernel void lapse_ccl_ids(__global const uint *L, __global ulong *out, uint cx, uint cy, uint n,
                            ulong img_base, ulong img_sy, ulong img_sz)
{
    const size_t g = get_global_id(0);
    if (g >= n)
        return;
    const uint i = (uint)g, r = L[i];
    out[i] = r == CCL_BG ? 0 : ccl_id(r, cx, cy, img_base, img_sy, img_sz);
}

/* Roots: the voxels whose id is their own; their core-local indices are appended to list (in
 * any order: the host sorts them) and *count counts them. Each work-group counts its roots in
 * local memory and takes its slots with one global atomic_add, so many roots do not queue on one
 * counter. Every work-item reaches the barriers (no early return). */
__kernel void lapse_ccl_roots(__global const ulong *out, __global uint *list,
                              volatile __global uint *count, uint cx, uint cy, uint n,
                              ulong img_base, ulong img_sy, ulong img_sz)
{
    __local uint lcount, lbase;
    const size_t g = get_global_id(0);
    const uint i = (uint)g;
    int root = 0;
    if (g < n) {
        const ulong v = out[i];
        root = v != 0 && v == ccl_id(i, cx, cy, img_base, img_sy, img_sz);
    }
    if (get_local_id(0) == 0)
        lcount = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    const uint slot = root ? atomic_inc(&lcount) : 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (get_local_id(0) == 0 && lcount > 0)
        lbase = atomic_add(count, lcount);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (root)
        list[lbase + slot] = i;
}

/* out[g] = labels[j] where keys[j] == ids[g] (keys sorted ascending, nkeys entries; binary
 * search), 0 where ids[g] == 0; an id not among the keys gives 0 and sets *missing. The label is
 * converted to float32 (exact below 2^24). */
__kernel void lapse_ccl_lookup(__global const ulong *ids, __global const ulong *keys,
                               __global const uint *labels, __global float *out,
                               volatile __global uint *missing, ulong n, ulong nkeys)
{
    const size_t g = get_global_id(0);
    if (g >= n)
        return;
    const ulong id = ids[g];
    if (id == 0) {
        out[g] = 0.0f;
        return;
    }
    ulong lo = 0, hi = nkeys;
    while (lo < hi) {
        const ulong mid = lo + (hi - lo) / 2;
        if (keys[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < nkeys && keys[lo] == id) {
        out[g] = (float)labels[lo];
    } else {
        out[g] = 0.0f;
        atomic_or(missing, 1u);
    }
}

/* One face of a core of ids (C order over dims cx, cy, cz) into dst, C order over the two other
 * axes: axis 0 (z) the plane z = side ? cz - 1 : 0, axis 1 (y) the rows y = ..., axis 2 (x) the
 * columns x = ...; 1-D over the face's voxels, so the face comes back in one contiguous read. */
__kernel void lapse_ccl_face(__global const ulong *ids, uint cx, uint cy, uint cz, int axis,
                             int side, __global ulong *dst)
{
    const size_t j = get_global_id(0);
    size_t i;
    if (axis == 0) {
        if (j >= (size_t)cx * cy)
            return;
        i = (size_t)(side ? cz - 1 : 0) * cx * cy + j;
    } else if (axis == 1) { /* j = z * cx + x */
        if (j >= (size_t)cx * cz)
            return;
        const size_t z = j / cx, x = j - z * cx;
        i = (z * cy + (side ? cy - 1 : 0)) * cx + x;
    } else { /* j = z * cy + y */
        if (j >= (size_t)cy * cz)
            return;
        i = j * cx + (side ? cx - 1 : 0);
    }
    dst[j] = ids[i];
}
