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

/* dst = src where the mask is set, else 0 (n voxels). */
__kernel void lapse_vor_mask(__global const float *src, __global const float *mask,
                             __global float *dst, ulong n)
{
    const size_t i = get_global_id(0);
    if (i < n)
        dst[i] = mask[i] != 0.0f ? src[i] : 0.0f;
}
