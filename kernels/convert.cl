/*
 * convert.cl - data type conversion at the two ends of a lapse pipeline: the uploaded input
 * (uint8 / uint16) widened to float32, and the packing of a result: the core box extracted from
 * the full float32 buffer and converted to the output dtype (and, for tile state kept on the
 * device, a float32 box put back into its buffer). Integer outputs are rounded to
 * nearest even (rint), or with the _a kernels halves away from zero (round: scipy.ndimage's rule
 * for its transforms, src/ops/op.h round_away), and saturated to [0, 255] / [0, 65535] /
 * [0, 4294967295] / [-32768, 32767]; NaN becomes 0.
 */

__kernel void lapse_u8_to_f32(__global const uchar *src, __global float *dst, ulong n)
{
    const size_t i = get_global_id(0);
    if (i < n)
        dst[i] = (float)src[i];
}

__kernel void lapse_u16_to_f32(__global const ushort *src, __global float *dst, ulong n)
{
    const size_t i = get_global_id(0);
    if (i < n)
        dst[i] = (float)src[i];
}

/* Core-box addressing shared by the pack kernels: the source buffer has dims (nz, ny, nx); the
 * core starts at (oz, oy, ox) and has dims (cz, cy, cx); 3D NDRange over the core, x fastest. */
#define LAPSE_PACK_SETUP()                                                                         \
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);     \
    if (x >= cx || y >= cy || z >= cz)                                                             \
        return;                                                                                    \
    const size_t s = ((size_t)(z + oz) * (size_t)ny + (size_t)(y + oy)) * (size_t)nx +             \
                     (size_t)(x + ox);                                                             \
    const size_t d = ((size_t)z * (size_t)cy + (size_t)y) * (size_t)cx + (size_t)x

/* Round to nearest even and saturate to [0, hi]; NaN -> 0. */
static float lapse_sat(float v, float hi)
{
    return isnan(v) ? 0.0f : clamp(rint(v), 0.0f, hi);
}

__kernel void lapse_pack_f32(__global const float *src, __global float *dst, int nx, int ny,
                             int ox, int oy, int oz, int cx, int cy, int cz)
{
    LAPSE_PACK_SETUP();
    dst[d] = src[s];
}

/* A box of the float32 buffer src into dst from element `at` on, contiguous (get), and back
 * (put: the contiguous box at src + at into its place in the buffer dst). */
__kernel void lapse_box_get_f32(__global const float *src, __global float *dst, int nx, int ny,
                                int ox, int oy, int oz, int cx, int cy, int cz, ulong at)
{
    LAPSE_PACK_SETUP();
    dst[at + d] = src[s];
}

__kernel void lapse_box_put_f32(__global const float *src, __global float *dst, int nx, int ny,
                                int ox, int oy, int oz, int cx, int cy, int cz, ulong at)
{
    LAPSE_PACK_SETUP();
    dst[s] = src[at + d];
}

__kernel void lapse_pack_u8(__global const float *src, __global uchar *dst, int nx, int ny,
                            int ox, int oy, int oz, int cx, int cy, int cz)
{
    LAPSE_PACK_SETUP();
    dst[d] = (uchar)lapse_sat(src[s], 255.0f);
}

__kernel void lapse_pack_u16(__global const float *src, __global ushort *dst, int nx, int ny,
                             int ox, int oy, int oz, int cx, int cy, int cz)
{
    LAPSE_PACK_SETUP();
    dst[d] = (ushort)lapse_sat(src[s], 65535.0f);
}

/* Signed 16-bit (a difference, a Laplacian): rounded, saturated to [-32768, 32767], NaN 0. */
__kernel void lapse_pack_i16(__global const float *src, __global short *dst, int nx, int ny,
                             int ox, int oy, int oz, int cx, int cy, int cz)
{
    LAPSE_PACK_SETUP();
    const float v = src[s];
    dst[d] = (short)(isnan(v) ? 0.0f : clamp(rint(v), -32768.0f, 32767.0f));
}

/* The same with halves rounded away from zero. */
static float lapse_sat_a(float v, float hi)
{
    return isnan(v) ? 0.0f : clamp(round(v), 0.0f, hi);
}

__kernel void lapse_pack_u8_a(__global const float *src, __global uchar *dst, int nx, int ny,
                              int ox, int oy, int oz, int cx, int cy, int cz)
{
    LAPSE_PACK_SETUP();
    dst[d] = (uchar)lapse_sat_a(src[s], 255.0f);
}

__kernel void lapse_pack_u16_a(__global const float *src, __global ushort *dst, int nx, int ny,
                               int ox, int oy, int oz, int cx, int cy, int cz)
{
    LAPSE_PACK_SETUP();
    dst[d] = (ushort)lapse_sat_a(src[s], 65535.0f);
}

__kernel void lapse_pack_i16_a(__global const float *src, __global short *dst, int nx, int ny,
                               int ox, int oy, int oz, int cx, int cy, int cz)
{
    LAPSE_PACK_SETUP();
    const float v = src[s];
    dst[d] = (short)(isnan(v) ? 0.0f : clamp(round(v), -32768.0f, 32767.0f));
}

__kernel void lapse_pack_u32_a(__global const float *src, __global uint *dst, int nx, int ny,
                               int ox, int oy, int oz, int cx, int cy, int cz)
{
    LAPSE_PACK_SETUP();
    const float v = src[s];
    dst[d] = v >= 4294967296.0f ? 4294967295u : (uint)lapse_sat_a(v, 4294967040.0f);
}

/* Labels (float32 holds whole numbers exactly up to 2^24; the label count is checked), or any
 * result as uint32: rounded, saturated to [0, 4294967295] (the float32 values from 2^32 up are
 * above the range; the largest below it is 4294967040), NaN 0. */
__kernel void lapse_pack_u32(__global const float *src, __global uint *dst, int nx, int ny,
                             int ox, int oy, int oz, int cx, int cy, int cz)
{
    LAPSE_PACK_SETUP();
    const float v = src[s];
    dst[d] = v >= 4294967296.0f ? 4294967295u : (uint)lapse_sat(v, 4294967040.0f);
}

/* Vector forms (4 voxels per work-item, tail one by one; NDRange ceil(n / 4)), used unless
 * LAPSE_KERNELS=simple. The uint8 source is read as uchar4 (4-byte aligned: i is a multiple of
 * 4), the uint16 one as ushort4 (8-byte aligned). */
__kernel void lapse_u8_to_f32_4(__global const uchar *src, __global float *dst, ulong n)
{
    const size_t g = get_global_id(0), i = g * 4;
    if (i + 4 <= n)
        ((__global float4 *)dst)[g] = convert_float4(((__global const uchar4 *)src)[g]);
    else
        for (size_t j = i; j < n; j++)
            dst[j] = (float)src[j];
}

__kernel void lapse_u16_to_f32_4(__global const ushort *src, __global float *dst, ulong n)
{
    const size_t g = get_global_id(0), i = g * 4;
    if (i + 4 <= n)
        ((__global float4 *)dst)[g] = convert_float4(((__global const ushort4 *)src)[g]);
    else
        for (size_t j = i; j < n; j++)
            dst[j] = (float)src[j];
}
