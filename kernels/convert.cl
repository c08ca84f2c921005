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

/* The integer pack kernels also count the voxels whose value the output cannot hold: NaN, or
 * rounded outside the dtype's range (saturated). Each work-group counts in local memory and
 * adds its count to the 64-bit counter clip[2 ci] (low word), clip[2 ci + 1] (high word) with
 * one atomic (the carry goes to the high word, as in measure.cl), so the count is exact in any
 * order. LAPSE_PACK_INT(T, conv) is the body: conv(v) gives the packed value, bad whether v was
 * changed beyond rounding. No work-item returns early: the barriers need them all. */
#define LAPSE_PACK_INT_ARGS                                                                       \
    int nx, int ny, int ox, int oy, int oz, int cx, int cy, int cz, __global uint *clip, int ci
#define LAPSE_PACK_INT(T, conv, is_bad)                                                           \
    __local uint lc;                                                                               \
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);     \
    const int lead = get_local_id(0) == 0 && get_local_id(1) == 0 && get_local_id(2) == 0;         \
    if (lead)                                                                                      \
        lc = 0;                                                                                    \
    barrier(CLK_LOCAL_MEM_FENCE);                                                                  \
    if (x < cx && y < cy && z < cz) {                                                              \
        const size_t s = ((size_t)(z + oz) * (size_t)ny + (size_t)(y + oy)) * (size_t)nx +         \
                         (size_t)(x + ox);                                                         \
        const size_t d = ((size_t)z * (size_t)cy + (size_t)y) * (size_t)cx + (size_t)x;            \
        const float v = src[s];                                                                    \
        dst[d] = (T)conv(v);                                                                       \
        if (is_bad(v))                                                                             \
            atomic_inc(&lc);                                                                       \
    }                                                                                              \
    barrier(CLK_LOCAL_MEM_FENCE);                                                                  \
    if (lead && lc) {                                                                              \
        const uint old = atomic_add(&clip[2 * ci], lc);                                            \
        if (old + lc < old)                                                                        \
            atomic_inc(&clip[2 * ci + 1]);                                                         \
    }

/* Conversions (rint: halves to even; round: away from zero) and their "changed beyond
 * rounding" tests. */
#define U8_E(v)   lapse_sat(v, 255.0f)
#define U16_E(v)  lapse_sat(v, 65535.0f)
#define U8_A(v)   lapse_sat_a(v, 255.0f)
#define U16_A(v)  lapse_sat_a(v, 65535.0f)
#define I16_E(v)  (isnan(v) ? 0.0f : clamp(rint(v), -32768.0f, 32767.0f))
#define I16_A(v)  (isnan(v) ? 0.0f : clamp(round(v), -32768.0f, 32767.0f))
#define U32_E(v)  ((v) >= 4294967296.0f ? 4294967295u : (uint)lapse_sat(v, 4294967040.0f))
#define U32_A(v)  ((v) >= 4294967296.0f ? 4294967295u : (uint)lapse_sat_a(v, 4294967040.0f))
#define BAD_U8_E(v)  (!(rint(v) >= 0.0f && rint(v) <= 255.0f))
#define BAD_U16_E(v) (!(rint(v) >= 0.0f && rint(v) <= 65535.0f))
#define BAD_U8_A(v)  (!(round(v) >= 0.0f && round(v) <= 255.0f))
#define BAD_U16_A(v) (!(round(v) >= 0.0f && round(v) <= 65535.0f))
#define BAD_I16_E(v) (!(rint(v) >= -32768.0f && rint(v) <= 32767.0f))
#define BAD_I16_A(v) (!(round(v) >= -32768.0f && round(v) <= 32767.0f))
#define BAD_U32_E(v) (!(rint(v) >= 0.0f && (v) < 4294967296.0f))
#define BAD_U32_A(v) (!(round(v) >= 0.0f && (v) < 4294967296.0f))

/* The same with halves rounded away from zero. */
static float lapse_sat_a(float v, float hi)
{
    return isnan(v) ? 0.0f : clamp(round(v), 0.0f, hi);
}

__kernel void lapse_pack_u8(__global const float *src, __global uchar *dst, LAPSE_PACK_INT_ARGS)
{
    LAPSE_PACK_INT(uchar, U8_E, BAD_U8_E)
}

__kernel void lapse_pack_u16(__global const float *src, __global ushort *dst, LAPSE_PACK_INT_ARGS)
{
    LAPSE_PACK_INT(ushort, U16_E, BAD_U16_E)
}

/* Signed 16-bit (a difference, a Laplacian): rounded, saturated to [-32768, 32767], NaN 0. */
__kernel void lapse_pack_i16(__global const float *src, __global short *dst, LAPSE_PACK_INT_ARGS)
{
    LAPSE_PACK_INT(short, I16_E, BAD_I16_E)
}

/* Labels (float32 holds whole numbers exactly up to 2^24; the label count is checked), or any
 * result as uint32: rounded, saturated to [0, 4294967295] (the float32 values from 2^32 up are
 * above the range; the largest below it is 4294967040), NaN 0. */
__kernel void lapse_pack_u32(__global const float *src, __global uint *dst, LAPSE_PACK_INT_ARGS)
{
    LAPSE_PACK_INT(uint, U32_E, BAD_U32_E)
}

__kernel void lapse_pack_u8_a(__global const float *src, __global uchar *dst, LAPSE_PACK_INT_ARGS)
{
    LAPSE_PACK_INT(uchar, U8_A, BAD_U8_A)
}

__kernel void lapse_pack_u16_a(__global const float *src, __global ushort *dst,
                               LAPSE_PACK_INT_ARGS)
{
    LAPSE_PACK_INT(ushort, U16_A, BAD_U16_A)
}

__kernel void lapse_pack_i16_a(__global const float *src, __global short *dst, LAPSE_PACK_INT_ARGS)
{
    LAPSE_PACK_INT(short, I16_A, BAD_I16_A)
}

__kernel void lapse_pack_u32_a(__global const float *src, __global uint *dst, LAPSE_PACK_INT_ARGS)
{
    LAPSE_PACK_INT(uint, U32_A, BAD_U32_A)
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
