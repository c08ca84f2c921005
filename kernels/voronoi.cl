/*
 * voronoi.cl - masked Voronoi labelling as clesperanto grows it (src/ops/op_voronoi.c): seed
 * labels start inside the mask (outside it they are lowered by one, so background there is
 * -1), then every background voxel (0) takes the largest label among its neighbours, the
 * neighbourhood alternating box (even iterations) and diamond (odd ones), until an iteration
 * changes nothing; voxels outside the mask are 0 at the end. All on float32 buffers.
 */
#pragma OPENCL FP_CONTRACT OFF

/* dst = labels inside the mask, labels - 1 outside (n voxels). */
__kernel void lapse_vor_init(__global const float *lab, __global const float *mask,
                             __global float *dst, ulong n)
{
    const size_t i = get_global_id(0);
    if (i < n)
        dst[i] = lab[i] + (mask[i] != 0.0f ? 0.0f : -1.0f);
}

/* One growth iteration over a buffer of dims (nx, ny, nz): a voxel of value 0 takes the
 * largest of itself and its neighbours inside the buffer (box: 26 / 8, diamond: 6 / 4);
 * flag[0] = 1 when a voxel of the core box (offset co, dims cd) changed. */
__kernel void lapse_vor_step(__global const float *src, __global float *dst, int nx, int ny,
                             int nz, int box, int4 co, int4 cd, __global int *flag)
{
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);
    if (x >= nx || y >= ny || z >= nz)
        return;
    const size_t i = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + (size_t)x;
    const float v = src[i];
    float m = v;
    if (v == 0.0f) {
        for (int dz = -1; dz <= 1; dz++) {
            const int zz = z + dz;
            if (zz < 0 || zz >= nz)
                continue;
            for (int dy = -1; dy <= 1; dy++) {
                const int yy = y + dy;
                if (yy < 0 || yy >= ny)
                    continue;
                for (int dx = -1; dx <= 1; dx++) {
                    const int xx = x + dx;
                    if (xx < 0 || xx >= nx || (!box && abs(dx) + abs(dy) + abs(dz) > 1))
                        continue;
                    const float u = src[((size_t)zz * (size_t)ny + (size_t)yy) * (size_t)nx +
                                        (size_t)xx];
                    m = u > m ? u : m;
                }
            }
        }
    }
    dst[i] = m;
    if (m != v && x >= co.x && x < co.x + cd.x && y >= co.y && y < co.y + cd.y && z >= co.z &&
        z < co.z + cd.z)
        flag[0] = 1;
}

#define LAPSE_VB_X 32 /* the work-group of lapse_vor_step_blocks */
#define LAPSE_VB_Y 4
#define LAPSE_VB_Z 2
#define LAPSE_VB_RY 2 /* a block is X x (Y RY) x (Z RZ) voxels: each work-item RY x RZ of them */
#define LAPSE_VB_RZ 2

/* Voxel (x, y, z) of the r-th of a work-item's LAPSE_VB_RY x LAPSE_VB_RZ voxels of its block. */
#define LAPSE_VB_VOXEL(r)                                                                          \
    const int x = (int)(get_group_id(0) * LAPSE_VB_X + get_local_id(0));                           \
    const int y = (int)(get_group_id(1) * LAPSE_VB_Y * LAPSE_VB_RY + get_local_id(1) +               \
                        LAPSE_VB_Y * ((r) % LAPSE_VB_RY));                                          \
    const int z = (int)(get_group_id(2) * LAPSE_VB_Z * LAPSE_VB_RZ + get_local_id(2) +               \
                        LAPSE_VB_Z * ((r) / LAPSE_VB_RY))

/* One growth iteration of a buffer held whole (the rule of lapse_vor_step, same result bits) in
 * blocks of 32 x 8 x 4 voxels (x, y, z), one work-group each, that skip what cannot change:
 * chg1[g] and chg2[g] say whether block g changed in the previous and the one before it, and a
 * block whose 3 x 3 x 3 neighbourhood of blocks changed in neither is left alone (not even
 * written). That is exact: the iteration before last used the same neighbourhood (box and
 * diamond alternate) on the same values there, so no voxel of the block can change now, and
 * dst, written two iterations ago, already holds its values. The first two iterations of a
 * growth pass chg1 = chg2 = all ones. chgo[g] = whether block g changed now; flag[box ? 0 : 1]
 * = 1 when any voxel changed. */
__kernel __attribute__((reqd_work_group_size(LAPSE_VB_X, LAPSE_VB_Y, LAPSE_VB_Z))) void
lapse_vor_step_blocks(__global const float *src, __global float *dst, int nx, int ny, int nz,
                      int box, __global const uchar *chg1, __global const uchar *chg2,
                      __global uchar *chgo, __global int *flag)
{
    __local int active, changed;
    const int gx = (int)get_group_id(0), gy = (int)get_group_id(1), gz = (int)get_group_id(2);
    const int bx = (int)get_num_groups(0), by = (int)get_num_groups(1), bz = (int)get_num_groups(2);
    const int l = (int)(get_local_id(0) + LAPSE_VB_X * (get_local_id(1) + LAPSE_VB_Y * get_local_id(2)));
    if (l == 0) {
        active = 0;
        changed = 0;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (l < 27) { /* one neighbouring block each */
        const int ex = gx + l % 3 - 1, ey = gy + (l / 3) % 3 - 1, ez = gz + l / 9 - 1;
        if (ex >= 0 && ey >= 0 && ez >= 0 && ex < bx && ey < by && ez < bz) {
            const size_t e = ((size_t)ez * (size_t)by + (size_t)ey) * (size_t)bx + (size_t)ex;
            if (chg1[e] | chg2[e])
                active = 1; /* every writer writes 1 */
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const size_t g = ((size_t)gz * (size_t)by + (size_t)gy) * (size_t)bx + (size_t)gx;
    if (!active) {
        if (l == 0)
            chgo[g] = 0;
        return;
    }
    for (int r = 0; r < LAPSE_VB_RY * LAPSE_VB_RZ; r++) {
        LAPSE_VB_VOXEL(r);
        if (x >= nx || y >= ny || z >= nz)
            continue;
        const size_t i = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + (size_t)x;
        const float v = src[i];
        float m = v;
        if (v == 0.0f) {
            for (int dz = -1; dz <= 1; dz++) {
                const int zz = z + dz;
                if (zz < 0 || zz >= nz)
                    continue;
                for (int dy = -1; dy <= 1; dy++) {
                    const int yy = y + dy;
                    if (yy < 0 || yy >= ny)
                        continue;
                    for (int dx = -1; dx <= 1; dx++) {
                        const int xx = x + dx;
                        if (xx < 0 || xx >= nx || (!box && abs(dx) + abs(dy) + abs(dz) > 1))
                            continue;
                        const float u = src[((size_t)zz * (size_t)ny + (size_t)yy) * (size_t)nx +
                                            (size_t)xx];
                        m = u > m ? u : m;
                    }
                }
            }
        }
        dst[i] = m;
        if (m != v)
            changed = 1;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (l == 0) {
        chgo[g] = (uchar)(changed != 0);
        if (changed)
            flag[box ? 0 : 1] = 1;
    }
}

/* The start of a growth held whole (lapse_vor_step_blocks' blocks): a = b = labels inside the
 * mask, labels - 1 outside (as lapse_vor_init), and c1[g] = c2[g] = whether block g holds a
 * voxel > 0 (a value that can spread). Passed as the flags of the two iterations before the
 * first, they let the first two iterations skip the blocks with nothing to spread nearby: a
 * voxel changes in the first iteration only next to such a voxel, and in the second only next
 * to one or to a voxel changed in the first. Both buffers hold the start, so a block skipped
 * there already holds its state in either. */
__kernel __attribute__((reqd_work_group_size(LAPSE_VB_X, LAPSE_VB_Y, LAPSE_VB_Z))) void
lapse_vor_init_blocks(__global const float *lab, __global const float *mask, __global float *a,
                      __global float *b, int nx, int ny, int nz, __global uchar *c1,
                      __global uchar *c2)
{
    __local int any;
    const int l = (int)(get_local_id(0) + LAPSE_VB_X * (get_local_id(1) + LAPSE_VB_Y * get_local_id(2)));
    if (l == 0)
        any = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int r = 0; r < LAPSE_VB_RY * LAPSE_VB_RZ; r++) {
        LAPSE_VB_VOXEL(r);
        if (x >= nx || y >= ny || z >= nz)
            continue;
        const size_t i = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + (size_t)x;
        const float v = lab[i] + (mask[i] != 0.0f ? 0.0f : -1.0f);
        a[i] = v;
        b[i] = v;
        if (v > 0.0f)
            any = 1;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (l == 0) {
        const size_t g = ((size_t)get_group_id(2) * get_num_groups(1) + get_group_id(1)) *
                             get_num_groups(0) + get_group_id(0);
        c1[g] = (uchar)any;
        c2[g] = (uchar)any;
    }
}

/* dst = src where the mask is set, else 0 (n voxels). */
__kernel void lapse_vor_mask(__global const float *src, __global const float *mask,
                             __global float *dst, ulong n)
{
    const size_t i = get_global_id(0);
    if (i < n)
        dst[i] = mask[i] != 0.0f ? src[i] : 0.0f;
}
