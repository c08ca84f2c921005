/*
 * seeds.cl - seeds and their growth (src/ops/op_seeds.c), with clesperanto's rules: strict local
 * maxima over the 3x3x3 neighbourhood (detect_maxima_box, after the box mean of filters.cl), and
 * one step of label growth into the background, "only zero overwrite maximum", over the box or
 * the diamond neighbourhood (dilate_labels). Volumes are float32, dims (nz, ny, nx), C order;
 * every kernel is a 3-D NDRange over the voxels with x fastest. Neighbours beyond the buffer
 * edge are skipped (clesperanto skips, or clamps onto a voxel already looked at, which is the
 * same); the planner makes the buffer edge the image edge wherever an output voxel can see it,
 * so tiled == untiled. Only comparisons: the results are exact on every device.
 */

#define SEEDS_SETUP()                                                                              \
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);     \
    if (x >= nx || y >= ny || z >= nz)                                                             \
        return;                                                                                    \
    const size_t sy = (size_t)nx, sz = (size_t)nx * (size_t)ny;                                    \
    const size_t idx = (size_t)z * sz + (size_t)y * sy + (size_t)x

/* dst = 1 where src is a strict local maximum: no neighbour (dz, dy, dx in -1..1, not all 0)
 * inside the buffer is >= the voxel; else 0. A plateau (an equal neighbour) is no maximum. As
 * IEEE comparisons: a NaN neighbour never disqualifies, a NaN voxel is a maximum (clesperanto's
 * detect_maxima kernel does the same). */
__kernel void lapse_maxima(__global const float *src, __global float *dst, int nx, int ny, int nz)
{
    SEEDS_SETUP();
    const float c = src[idx];
    /* m = the largest neighbour (fmax ignores NaN; a neighbour beyond the buffer reads as NaN):
     * every neighbour is < c exactly when !(m >= c); no early exit, so a warp's lanes stay
     * together */
    float m = NAN;
#pragma unroll
    for (int dz = -1; dz <= 1; dz++) {
        const int zz = z + dz;
        const int okz = zz >= 0 && zz < nz;
#pragma unroll
        for (int dy = -1; dy <= 1; dy++) {
            const int yy = y + dy;
            if (!okz || yy < 0 || yy >= ny)
                continue;
            const size_t row = (size_t)zz * sz + (size_t)yy * sy;
            const float l = x > 0 ? src[row + (size_t)(x - 1)] : NAN;
            const float r = x + 1 < nx ? src[row + (size_t)(x + 1)] : NAN;
            const float mid = dz == 0 && dy == 0 ? NAN : src[row + (size_t)x];
            m = fmax(m, fmax(mid, fmax(l, r)));
        }
    }
    dst[idx] = !(m >= c) ? 1.0f : 0.0f;
}

/* One growth step over the box (26 neighbours, 8 in a plane): a voxel that is 0 (or -0) takes the
 * largest neighbour that is greater than it (so only positive labels spread; NaN never wins);
 * every other voxel keeps its value. */
__kernel void lapse_grow_box(__global const float *src, __global float *dst, int nx, int ny,
                             int nz)
{
    SEEDS_SETUP();
    float m = src[idx];
    if (m == 0.0f) {
        for (int dz = -1; dz <= 1; dz++) {
            if (z + dz < 0 || z + dz >= nz)
                continue;
            for (int dy = -1; dy <= 1; dy++) {
                if (y + dy < 0 || y + dy >= ny)
                    continue;
                const size_t row = (size_t)(z + dz) * sz + (size_t)(y + dy) * sy;
                for (int dx = -1; dx <= 1; dx++) {
                    if (x + dx < 0 || x + dx >= nx)
                        continue;
                    const float v = src[row + (size_t)(x + dx)];
                    if (v > m)
                        m = v;
                }
            }
        }
    }
    dst[idx] = m;
}

/* One growth step over the diamond (the 6 face neighbours, 4 in a plane), the same rule. */
__kernel void lapse_grow_diamond(__global const float *src, __global float *dst, int nx, int ny,
                                 int nz)
{
    SEEDS_SETUP();
    float m = src[idx];
    if (m == 0.0f) {
        float v;
        if (x > 0 && (v = src[idx - 1]) > m)
            m = v;
        if (x + 1 < nx && (v = src[idx + 1]) > m)
            m = v;
        if (y > 0 && (v = src[idx - sy]) > m)
            m = v;
        if (y + 1 < ny && (v = src[idx + sy]) > m)
            m = v;
        if (z > 0 && (v = src[idx - sz]) > m)
            m = v;
        if (z + 1 < nz && (v = src[idx + sz]) > m)
            m = v;
    }
    dst[idx] = m;
}
