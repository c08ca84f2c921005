/*
 * filters.cl - separable neighbourhood filters of lapse: one pass along one axis of a float32
 * volume (dims z, y, x, C order). Every pass is an NDRange over all voxels with x as work-item
 * dimension 0 (fastest varying, coalesced). Neighbours beyond the buffer edge clamp to the edge
 * (index clamped to [0, n-1]). Each voxel's arithmetic is the same whatever the buffer size, in
 * a fixed order i = -r..r, so a tiled run equals an untiled one bit for bit.
 *
 * axis: 0 = x, 1 = y, 2 = z. Arguments nx, ny, nz are the buffer dims.
 */
#pragma OPENCL FP_CONTRACT OFF

/* Offset between neighbours along an axis, the voxel's coordinate along it and its extent. */
#define LAPSE_AXIS_SETUP()                                                                         \
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);     \
    if (x >= nx || y >= ny || z >= nz)                                                             \
        return;                                                                                    \
    const size_t idx = ((size_t)z * (size_t)ny + (size_t)y) * (size_t)nx + (size_t)x;              \
    const size_t stride = axis == 0 ? 1 : axis == 1 ? (size_t)nx : (size_t)nx * (size_t)ny;        \
    const int c = axis == 0 ? x : axis == 1 ? y : z;                                               \
    const int n = axis == 0 ? nx : axis == 1 ? ny : nz;                                            \
    __global const float *line = src + (idx - (size_t)c * stride)

/* Gaussian pass: dst = sum_{i=-r..r} w[i+r] * src[clamp(c+i)], accumulated with fma in the
 * order i = -r..r starting from 0.0f. w: 2r+1 float weights (normalised in double on the host,
 * then rounded to float), starting at w[woff]. */
__kernel void lapse_sep_gauss(__global const float *src, __global float *dst, int nx, int ny,
                              int nz, int axis, int r, __global const float *w, int woff)
{
    LAPSE_AXIS_SETUP();
    w += woff;
    float acc = 0.0f;
    for (int i = -r; i <= r; i++) {
        const int j = clamp(c + i, 0, n - 1);
        acc = fma(w[i + r], line[(size_t)j * stride], acc);
    }
    dst[idx] = acc;
}

/* Mean pass: dst = (sum_{i=-r..r} src[clamp(c+i)]) * scale, the sum in the order i = -r..r
 * starting from 0.0f, and scale = (float)(1.0 / (2r+1)) computed on the host in double. */
__kernel void lapse_sep_mean(__global const float *src, __global float *dst, int nx, int ny,
                             int nz, int axis, int r, float scale)
{
    LAPSE_AXIS_SETUP();
    float acc = 0.0f;
    for (int i = -r; i <= r; i++) {
        const int j = clamp(c + i, 0, n - 1);
        acc += line[(size_t)j * stride];
    }
    dst[idx] = acc * scale;
}

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
/* Mean pass of a long window (r > LAPSE_SEP_MEAN_DOUBLE_R, src/ops/sep.h): the sum in double in
 * the order i = -r..r, divided by 2r+1 in double, rounded once to float32 (a float32 sum of
 * thousands of values drifts by more than 1e-5). The host checks cl_khr_fp64 first. */
__kernel void lapse_sep_mean_d(__global const float *src, __global float *dst, int nx, int ny,
                               int nz, int axis, int r)
{
    LAPSE_AXIS_SETUP();
    double acc = 0.0;
    for (int i = -r; i <= r; i++) {
        const int j = clamp(c + i, 0, n - 1);
        acc += (double)line[(size_t)j * stride];
    }
    dst[idx] = (float)(acc / (double)(2 * r + 1));
}
#endif

/* Minimum pass: dst = min_{i=-r..r} src[clamp(c+i)] (fmin: a NaN neighbour is ignored unless
 * all are NaN). */
__kernel void lapse_sep_min(__global const float *src, __global float *dst, int nx, int ny,
                            int nz, int axis, int r)
{
    LAPSE_AXIS_SETUP();
    float m = line[(size_t)c * stride];
    for (int i = -r; i <= r; i++) {
        const int j = clamp(c + i, 0, n - 1);
        m = fmin(m, line[(size_t)j * stride]);
    }
    dst[idx] = m;
}

/* Maximum pass: dst = max_{i=-r..r} src[clamp(c+i)] (fmax, NaN as for the minimum). */
__kernel void lapse_sep_max(__global const float *src, __global float *dst, int nx, int ny,
                            int nz, int axis, int r)
{
    LAPSE_AXIS_SETUP();
    float m = line[(size_t)c * stride];
    for (int i = -r; i <= r; i++) {
        const int j = clamp(c + i, 0, n - 1);
        m = fmax(m, line[(size_t)j * stride]);
    }
    dst[idx] = m;
}
