/*
 * project.cl - z projections of lapse besides the maximum (pointwise.cl's lapse_zmax): minimum,
 * sum, mean, standard deviation and argmax over z. src dims (nz, ny, nx), dst dims (1, ny, nx);
 * 2D NDRange (x, y), one work-item per column, z visited in order 0..nz-1. The sums are NumPy's
 * float32 reductions along axis 0 operation for operation: acc = 0 + v[0] (NumPy starts from its
 * identity +0, so a column of -0 sums to +0), then acc += v[z] in z order (NumPy sums along an
 * outer axis sequentially, not pairwise); mean = sum / nz; the standard
 * deviation is NumPy's two-pass std (ddof 0): m = mean, acc = sum of (v[z] - m)^2 in z order,
 * sqrt(acc / nz). FP_CONTRACT is off, so each step rounds as NumPy's does.
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

/* Sum over z in z order. */
__kernel void lapse_zsum(__global const float *src, __global float *dst, int nx, int ny, int nz)
{
    LAPSE_COLUMN;
    float acc = 0.0f + src[i];
    for (int z = 1; z < nz; z++)
        acc += src[(size_t)z * plane + i];
    dst[i] = acc;
}

/* Mean over z: the sum in z order divided by nz. */
__kernel void lapse_zmean(__global const float *src, __global float *dst, int nx, int ny, int nz)
{
    LAPSE_COLUMN;
    float acc = 0.0f + src[i];
    for (int z = 1; z < nz; z++)
        acc += src[(size_t)z * plane + i];
    dst[i] = acc / (float)nz;
}

/* Population standard deviation over z, two passes over the column (see above). */
__kernel void lapse_zstd(__global const float *src, __global float *dst, int nx, int ny, int nz)
{
    LAPSE_COLUMN;
    float acc = src[i];
    for (int z = 1; z < nz; z++)
        acc += src[(size_t)z * plane + i];
    const float m = acc / (float)nz;
    float d = src[i] - m;
    acc = d * d;
    for (int z = 1; z < nz; z++) {
        d = src[(size_t)z * plane + i] - m;
        acc += d * d;
    }
    dst[i] = sqrt(acc / (float)nz);
}

/* The same standard deviation with the column read from global memory once: a work-group of
 * LAPSE_ZS_C x LAPSE_ZS_R work-items owns LAPSE_ZS_C consecutive columns (x) of one row y; all
 * of them copy the columns into col (LAPSE_ZS_C * nz floats, local memory; rows z = ly, ly + R,
 * ..., coalesced along x, LAPSE_ZS_U loads issued before their stores), then the first row of
 * work-items runs both passes of lapse_zstd from col, operation for operation (same bits).
 * lapse_zstd reads each column twice from global memory (the second read misses the caches:
 * 0.49 of the copy rate on an H200). NDRange (ceil(nx / C) C, ny R), local (C, R); the host
 * builds the program with its C, R, U and V (-D). */
#ifndef LAPSE_ZS_C
#define LAPSE_ZS_C 32
#endif
#ifndef LAPSE_ZS_R
#define LAPSE_ZS_R 4
#endif
#ifndef LAPSE_ZS_U
#define LAPSE_ZS_U 8
#endif
#ifndef LAPSE_ZS_V
#define LAPSE_ZS_V 5
#endif
/* One pass of lapse_zstd over column lx of col (nz values, LAPSE_ZS_C apart), in z order: the
 * sum of v (sq 0) or of (v - m)^2 (sq 1), as lapse_zstd computes it. The local loads run one
 * block of LAPSE_ZS_V values ahead of the additions (registers t, u), so that the chain of
 * additions does not wait for them. */
static inline __attribute__((always_inline)) float zstd_pass(__local const float *col, int lx,
                                                             int nz, float m, int sq)
{
#define ZS_TERM(v) (sq ? ((v)-m) * ((v)-m) : (v))
    float acc = ZS_TERM(col[lx]);
    float t[LAPSE_ZS_V];
    int z = 1;
    if (z + LAPSE_ZS_V - 1 < nz) {
#pragma unroll
        for (int j = 0; j < LAPSE_ZS_V; j++)
            t[j] = col[(z + j) * LAPSE_ZS_C + lx];
    }
    for (; z + LAPSE_ZS_V - 1 < nz; z += LAPSE_ZS_V) {
        const int zn = z + LAPSE_ZS_V, more = zn + LAPSE_ZS_V - 1 < nz;
        float u[LAPSE_ZS_V];
#pragma unroll
        for (int j = 0; j < LAPSE_ZS_V; j++)
            u[j] = more ? col[(zn + j) * LAPSE_ZS_C + lx] : 0.0f;
#pragma unroll
        for (int j = 0; j < LAPSE_ZS_V; j++)
            acc += ZS_TERM(t[j]);
#pragma unroll
        for (int j = 0; j < LAPSE_ZS_V; j++)
            t[j] = u[j];
    }
    for (; z < nz; z++)
        acc += ZS_TERM(col[z * LAPSE_ZS_C + lx]);
    return acc;
#undef ZS_TERM
}

__kernel __attribute__((reqd_work_group_size(LAPSE_ZS_C, LAPSE_ZS_R, 1))) void
lapse_zstd_l(__global const float *restrict src, __global float *restrict dst, int nx, int ny,
             int nz, __local float *col)
{
    const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);
    const int x = (int)get_group_id(0) * LAPSE_ZS_C + lx, y = (int)get_group_id(1);
    const size_t plane = (size_t)nx * (size_t)ny;
    const size_t i = (size_t)y * (size_t)nx + (size_t)min(x, nx - 1);
    int z = ly;
    for (; z + (LAPSE_ZS_U - 1) * LAPSE_ZS_R < nz; z += LAPSE_ZS_U * LAPSE_ZS_R) {
        float v[LAPSE_ZS_U];
#pragma unroll
        for (int j = 0; j < LAPSE_ZS_U; j++)
            v[j] = src[(size_t)(z + j * LAPSE_ZS_R) * plane + i];
#pragma unroll
        for (int j = 0; j < LAPSE_ZS_U; j++)
            col[(z + j * LAPSE_ZS_R) * LAPSE_ZS_C + lx] = v[j];
    }
    for (; z < nz; z += LAPSE_ZS_R)
        col[z * LAPSE_ZS_C + lx] = src[(size_t)z * plane + i];
    barrier(CLK_LOCAL_MEM_FENCE);
    if (ly != 0 || x >= nx)
        return;
    const float m = zstd_pass(col, lx, nz, 0.0f, 0) / (float)nz;
    dst[i] = sqrt(zstd_pass(col, lx, nz, m, 1) / (float)nz);
}

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
