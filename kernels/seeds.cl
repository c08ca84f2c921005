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

/* Planes per work-item of lapse_maxima_walk (op_seeds.c launches nz / LAPSE_MAXIMA_ZC of them
 * along z, rounded up). */
#define LAPSE_MAXIMA_ZC 16

/* Of plane z (in the buffer) around (x, y): *p the largest of its 3 x 3 values and *r the
 * largest of the 8 around the centre (fmax: NaN ignored; beyond the buffer NaN), *c the centre. */
static inline void maxima_plane(__global const float *src, int x, int y, int z, int nx, int ny,
                                float *p, float *r, float *c)
{
    const size_t sy = (size_t)nx, sz = (size_t)nx * (size_t)ny;
    float ring = NAN;
#pragma unroll
    for (int dy = -1; dy <= 1; dy++) {
        const int yy = y + dy;
        if (yy < 0 || yy >= ny)
            continue;
        const size_t row = (size_t)z * sz + (size_t)yy * sy;
        const float l = x > 0 ? src[row + (size_t)(x - 1)] : NAN;
        const float rr = x + 1 < nx ? src[row + (size_t)(x + 1)] : NAN;
        const float mid = src[row + (size_t)x];
        if (dy == 0)
            *c = mid;
        ring = fmax(ring, fmax(l, rr));
        if (dy != 0)
            ring = fmax(ring, mid);
    }
    *r = ring;
    *p = fmax(ring, *c);
}

/* lapse_maxima walking z: a work-item owns the column (x, y) over planes [z0, z0 +
 * LAPSE_MAXIMA_ZC) and keeps the 3 x 3 maximum of the planes before and after each output and
 * the 8-ring maximum of its own plane, so each plane's 9 values are loaded once, not three times
 * (27 loads per voxel in lapse_maxima, which ran at 0.14 of the copy rate on an H200). The
 * largest neighbour is the fmax of the same values as there, so the result is the same (only
 * comparisons: exact on every device). */
__kernel void lapse_maxima_walk(__global const float *src, __global float *dst, int nx, int ny,
                                int nz)
{
    const int x = (int)get_global_id(0), y = (int)get_global_id(1);
    const int z0 = (int)get_global_id(2) * LAPSE_MAXIMA_ZC;
    if (x >= nx || y >= ny || z0 >= nz)
        return;
    const int z1 = min(z0 + LAPSE_MAXIMA_ZC, nz);
    const size_t sy = (size_t)nx, sz = (size_t)nx * (size_t)ny;
    float p_prev = NAN, p_cur, r_cur, c_cur, p_next, r_next, c_next, unused_r, unused_c;
    if (z0 > 0)
        maxima_plane(src, x, y, z0 - 1, nx, ny, &p_prev, &unused_r, &unused_c);
    maxima_plane(src, x, y, z0, nx, ny, &p_cur, &r_cur, &c_cur);
    for (int z = z0; z < z1; z++) {
        p_next = NAN;
        r_next = c_next = NAN;
        if (z + 1 < nz)
            maxima_plane(src, x, y, z + 1, nx, ny, &p_next, &r_next, &c_next);
        const float m = fmax(fmax(p_prev, p_next), r_cur);
        dst[(size_t)z * sz + (size_t)y * sy + (size_t)x] = !(m >= c_cur) ? 1.0f : 0.0f;
        p_prev = p_cur;
        p_cur = p_next;
        r_cur = r_next;
        c_cur = c_next;
    }
}

/* A voxel's label, the rule of every label operation: its value truncated where >= 1 (numpy's
 * astype(uint32)), else 0 (background: 0.5, negative values, NaN). */
#define SEEDS_LABEL(v) ((v) >= 1.0f ? trunc(v) : 0.0f)

/* dst = the labels of src (dilate_labels of radius 0). dst may be src. */
__kernel void lapse_label_values(__global const float *src, __global float *dst, int nx, int ny,
                                 int nz)
{
    SEEDS_SETUP();
    dst[idx] = SEEDS_LABEL(src[idx]);
}

/* One growth step over the box (26 neighbours, 8 in a plane) on the labels of src (SEEDS_LABEL):
 * a background voxel takes the largest label among its neighbours (0 when none); every other
 * voxel keeps its label. */
__kernel void lapse_grow_box(__global const float *src, __global float *dst, int nx, int ny,
                             int nz)
{
    SEEDS_SETUP();
    float m = SEEDS_LABEL(src[idx]);
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
                    const float v = SEEDS_LABEL(src[row + (size_t)(x + dx)]);
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
    float m = SEEDS_LABEL(src[idx]);
    if (m == 0.0f) {
        float v;
        if (x > 0 && (v = SEEDS_LABEL(src[idx - 1])) > m)
            m = v;
        if (x + 1 < nx && (v = SEEDS_LABEL(src[idx + 1])) > m)
            m = v;
        if (y > 0 && (v = SEEDS_LABEL(src[idx - sy])) > m)
            m = v;
        if (y + 1 < ny && (v = SEEDS_LABEL(src[idx + sy])) > m)
            m = v;
        if (z > 0 && (v = SEEDS_LABEL(src[idx - sz])) > m)
            m = v;
        if (z + 1 < nz && (v = SEEDS_LABEL(src[idx + sz])) > m)
            m = v;
    }
    dst[idx] = m;
}
