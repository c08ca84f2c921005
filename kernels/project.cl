/*
 * project.cl - z projections of lapse besides the maximum (pointwise.cl's lapse_zmax): minimum,
 * sum, mean, standard deviation and argmax over z. src dims (nz, ny, nx), dst dims (1, ny, nx);
 * 2D NDRange (x, y), one work-item per column, z visited in order 0..nz-1. The sum, mean and
 * standard deviation accumulate in double precision (cl_khr_fp64: without it they are left out of
 * the program, and the host says so before asking for them) and round to float32 once: the sum
 * and mean are NumPy's float64 reductions along axis 0 operation for operation, acc = 0 + v[0]
 * (NumPy starts from its identity +0, so a column of -0 sums to +0), then acc += v[z] in z order
 * (NumPy sums along an outer axis sequentially, not pairwise), mean = acc / nz; the standard
 * deviation is within one float32 unit of NumPy's float64 std (see lapse_zstd). FP_CONTRACT is
 * off, so each step rounds as NumPy's does.
 */
#pragma OPENCL FP_CONTRACT OFF

#define LAPSE_COLUMN                                                                               \
    const int x = (int)get_global_id(0), y = (int)get_global_id(1);                                \
    if (x >= nx || y >= ny)                                                                        \
        return;                                                                                    \
    const size_t plane = (size_t)nx * (size_t)ny, i = (size_t)y * (size_t)nx + (size_t)x

/* Minimum over z with fmin: NaN is ignored unless the whole column is NaN (as lapse_zmax). */
__kernel void lapse_zmin(__global const float *src, __global float *dst, int nx, int ny, int nz)
{
    LAPSE_COLUMN;
    float m = src[i];
    for (int z = 1; z < nz; z++)
        m = fmin(m, src[(size_t)z * plane + i]);
    dst[i] = m;
}

/* The double-precision projections (the host checks cl_khr_fp64 before asking for them). */
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#ifndef LAPSE_ZS_U
#define LAPSE_ZS_U 8
#endif
/* The sum over z in double, z order from +0 (the sum and mean projections' accumulation), the
 * loads of LAPSE_ZS_U planes issued together. */
static inline double zsum64(__global const float *src, size_t plane, size_t i, int nz)
{
    double acc = 0.0;
    int z = 0;
    for (; z + LAPSE_ZS_U - 1 < nz; z += LAPSE_ZS_U) {
        float v[LAPSE_ZS_U];
#pragma unroll
        for (int j = 0; j < LAPSE_ZS_U; j++)
            v[j] = src[(size_t)(z + j) * plane + i];
#pragma unroll
        for (int j = 0; j < LAPSE_ZS_U; j++)
            acc += (double)v[j];
    }
    for (; z < nz; z++)
        acc += (double)src[(size_t)z * plane + i];
    return acc;
}

/* Sum over z: NumPy's float64 sum along axis 0, rounded to float32. */
__kernel void lapse_zsum(__global const float *src, __global float *dst, int nx, int ny, int nz)
{
    LAPSE_COLUMN;
    dst[i] = (float)zsum64(src, plane, i, nz);
}

/* Mean over z: NumPy's float64 mean along axis 0 (the sum divided by nz), rounded to float32. */
__kernel void lapse_zmean(__global const float *src, __global float *dst, int nx, int ny, int nz)
{
    LAPSE_COLUMN;
    dst[i] = (float)(zsum64(src, plane, i, nz) / (double)nz);
}

/* Population standard deviation over z (ddof 0) in double precision, one pass over the column:
 * with k = v[0] (a value of the column), s1 = sum of (v - k) and s2 = sum of (v - k)^2 in z order
 * (fma), var = s2 / nz - (s1 / nz)^2, out = (float)sqrt(var) (a negative var from rounding is
 * 0). Shifting by a value of the column bounds the cancellation: (mean - k)^2 <= nz var, so var
 * keeps about 16 - log10(nz^2) digits, far more than float32's 7 (NumPy's float32 std, which
 * sums in float32, loses log10(nz) of its 7). NaN anywhere gives NaN; an infinity gives NaN as
 * in NumPy (inf - inf). Each column is read once, LAPSE_ZS_U planes' loads issued together. */
__kernel void lapse_zstd(__global const float *src, __global float *dst, int nx, int ny, int nz)
{
    LAPSE_COLUMN;
    const double k = (double)src[i];
    double s1 = 0.0, s2 = 0.0;
    int z = 0; /* from v[0] too: d = 0, or NaN when v[0] is NaN or infinite (also for nz = 1) */
    for (; z + LAPSE_ZS_U - 1 < nz; z += LAPSE_ZS_U) {
        float v[LAPSE_ZS_U];
#pragma unroll
        for (int j = 0; j < LAPSE_ZS_U; j++)
            v[j] = src[(size_t)(z + j) * plane + i];
#pragma unroll
        for (int j = 0; j < LAPSE_ZS_U; j++) {
            const double d = (double)v[j] - k;
            s1 += d;
            s2 = fma(d, d, s2);
        }
    }
    for (; z < nz; z++) {
        const double d = (double)src[(size_t)z * plane + i] - k;
        s1 += d;
        s2 = fma(d, d, s2);
    }
    const double m1 = s1 / (double)nz, var = s2 / (double)nz - m1 * m1;
    dst[i] = (float)sqrt(var < 0.0 ? 0.0 : var);
}
#endif

/* Index of the maximum over z as a float: the first maximum; the first NaN wins (NumPy argmax).
 * LAPSE_ZA_U planes' loads are issued together, then compared in z order (4 measured 0.84 of the
 * copy rate on an H200, run K of docs/benchmarks.md). */
#ifndef LAPSE_ZA_U
#define LAPSE_ZA_U 8
#endif
__kernel void lapse_zargmax(__global const float *src, __global float *dst, int nx, int ny, int nz)
{
    LAPSE_COLUMN;
    float m = src[i];
    int k = 0, z = 1;
    /* once m is NaN nothing replaces it (the first NaN wins) */
    for (; z + LAPSE_ZA_U - 1 < nz; z += LAPSE_ZA_U) {
        float v[LAPSE_ZA_U];
#pragma unroll
        for (int j = 0; j < LAPSE_ZA_U; j++)
            v[j] = src[(size_t)(z + j) * plane + i];
#pragma unroll
        for (int j = 0; j < LAPSE_ZA_U; j++)
            if (!isnan(m) && (v[j] > m || isnan(v[j]))) {
                m = v[j];
                k = z + j;
            }
    }
    for (; z < nz; z++) {
        const float v = src[(size_t)z * plane + i];
        if (!isnan(m) && (v > m || isnan(v))) {
            m = v;
            k = z;
        }
    }
    dst[i] = (float)k;
}
