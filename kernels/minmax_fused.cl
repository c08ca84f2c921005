/*
 * minmax_fused.cl - one pass over the data for a minimum / maximum box filter, or for two in a
 * row (opening: minimum then maximum; closing: maximum then minimum) with an optional
 * subtraction of the input (white / black top-hat), optionally of the 0/1 image x != 0 (binary
 * morphology). The tiled variant's kernel for these (src/ops/minmax.c), which by default runs a
 * pair as two one-filter launches through a scratch buffer (faster on the H200, same bits; the
 * two-filter chain below is LAPSE_MM_FUSE2=1); the simple variant runs the separable passes of
 * filters.cl.
 *
 * Bits: every value is the fold of filters.cl, in its order: per pass (x, then y, then z) the
 * output starts from the centre value and folds the neighbours i = -r..r with fmin / fmax (a
 * radius 0 pass is the identity), neighbours clamped to the volume's edge; the second filter
 * reads the first one's result at clamped positions (the first filter's result is computed at
 * every clamped position it needs, then copied into the halo cells outside the volume). So the
 * results are those of the separate passes bit for bit.
 *
 * Data flow: a work-group (LAPSE_MM_NT work-items, 1-D) owns a TX x TY column of outputs and
 * walks KZ output planes along z. Per input plane it loads the (TY + 2 halo) x (TX + 2 halo)
 * tile into local memory once (coalesced, clamped; prefetched into registers one plane ahead,
 * so the loads of the next plane are in flight during the compute), runs the first filter's x
 * pass on groups of 4 consecutive outputs (float4 local loads) and its y pass down runs of rows
 * (a sliding window of float4 in registers), keeps the last 2 rz + 1 y-pass results of the
 * work-item's own outputs in registers for the z pass, then (two filters) writes the first
 * filter's plane to local memory and runs the second filter the same way. DRAM traffic: the
 * input once (the halos and the neighbouring tiles' re-reads hit L2), the output once (plus the
 * input again, from L2 mostly, for the subtraction).
 *
 * Configuration, all compile-time (the host builds one program per configuration with -D; the
 * defaults below only make the file compile on its own):
 *   LAPSE_MM_NAME          the kernel's name (the host derives it from the configuration)
 *   LAPSE_MM_KA            first filter: 2 minimum, 3 maximum (the LAPSE_F_* kinds)
 *   LAPSE_MM_KB            second filter: 0 none, 2 minimum, 3 maximum
 *   LAPSE_MM_RX, _RY, _RZ  radii of both filters, 0..4
 *   LAPSE_MM_BIN           1: filter (x != 0 ? 1 : 0) instead of x (NaN is non-zero)
 *   LAPSE_MM_TX, _TY       outputs per work-group along x (a multiple of 4) and y
 *   LAPSE_MM_KZ            output planes per work-group
 *   LAPSE_MM_NT            work-items per work-group
 * NDRange (ceil(nx / TX) NT, ceil(ny / TY), ceil(nz / KZ)), local (NT, 1, 1). Buffer offsets
 * within a plane are 32-bit: nx * ny < 2^31 (the host checks).
 */
#pragma OPENCL FP_CONTRACT OFF

#ifndef LAPSE_MM_NAME
#define LAPSE_MM_NAME lapse_mm_default
#endif
#ifndef LAPSE_MM_KA
#define LAPSE_MM_KA 2
#endif
#ifndef LAPSE_MM_KB
#define LAPSE_MM_KB 3
#endif
#ifndef LAPSE_MM_RX
#define LAPSE_MM_RX 3
#endif
#ifndef LAPSE_MM_RY
#define LAPSE_MM_RY 3
#endif
#ifndef LAPSE_MM_RZ
#define LAPSE_MM_RZ 1
#endif
#ifndef LAPSE_MM_BIN
#define LAPSE_MM_BIN 0
#endif
#ifndef LAPSE_MM_TX
#define LAPSE_MM_TX 64
#endif
#ifndef LAPSE_MM_TY
#define LAPSE_MM_TY 16
#endif
#ifndef LAPSE_MM_KZ
#define LAPSE_MM_KZ 32
#endif
#ifndef LAPSE_MM_NT
#define LAPSE_MM_NT 256
#endif

#define RX LAPSE_MM_RX
#define RY LAPSE_MM_RY
#define RZ LAPSE_MM_RZ
#define TX LAPSE_MM_TX
#define TY LAPSE_MM_TY
#define KZ LAPSE_MM_KZ
#define NT LAPSE_MM_NT
#define TWO (LAPSE_MM_KB != 0)

#if TX % 4 != 0 || RX > 4 || RY > 4 || RZ > 4 || RX < 0 || RY < 0 || RZ < 0
#error "minmax_fused.cl: TX must be a multiple of 4 and every radius in 0..4"
#endif

/* Halo of the second filter (0 without one). */
#define RXB (TWO ? RX : 0)
#define RYB (TWO ? RY : 0)
#define RZB (TWO ? RZ : 0)
/* Input tile: H0 rows of W0 values; the first filter's result: H1 rows of W1 values (Q1 groups
 * of 4), at (y0 - RYB + row, x0 - RXB + col). */
#define H0 (TY + 2 * RY + 2 * RYB)
#define W0 (TX + 2 * RX + 2 * RXB)
#define H1 (TY + 2 * RYB)
#define W1 (TX + 2 * RXB)
#define Q1 ((W1 + 3) / 4)
#define QX (TX / 4)
#define NQ ((3 + 2 * RX) / 4 + 1) /* float4 loads per x pass of 4 outputs */
#define PU (Q1 + NQ - 1)          /* row pitch (float4) of the input tile U */
/* Work per work-item: input values NL, x-pass groups of the first (NXA) and second (NXB)
 * filter, y-pass tasks (a group of 4 columns, a run of LA / LB rows): TA / TB per work-item. */
#define NL  ((H0 * W0 + NT - 1) / NT)
#define NXA ((H0 * Q1 + NT - 1) / NT)
#define NXB ((H1 * QX + NT - 1) / NT)
#define PERA (NT / Q1 > 0 ? NT / Q1 : 1)
#define LA   ((H1 + PERA - 1) / PERA)
#define RUNA ((H1 + LA - 1) / LA)
#define TA   ((Q1 * RUNA + NT - 1) / NT)
#define PERB (NT / QX > 0 ? NT / QX : 1)
#define LB   ((TY + PERB - 1) / PERB)
#define RUNB ((TY + LB - 1) / LB)
#define TB   ((QX * RUNB + NT - 1) / NT)
#define NE   ((H1 * W1 + NT - 1) / NT) /* halo copies per work-item (edge work-groups) */

/* One fold step of filter kind k (2 minimum, 3 maximum), scalar or float4 (component-wise). */
#define MM_F(k, a, b) ((k) == 2 ? fmin((a), (b)) : fmax((a), (b)))

/* Component j (0..3, a constant after unrolling) of v. */
#define MM_C(v, j) ((j) == 0 ? (v).x : (j) == 1 ? (v).y : (j) == 2 ? (v).z : (v).w)

/* x pass of kind k and radius RX: outputs j = 0..3 of the 4 consecutive ones whose inputs
 * v[j .. j + 2 RX] are the components of u[0 .. NQ - 1]. */
static inline __attribute__((always_inline)) float4 mm_xpass(const int k, const float4 *u)
{
    float v[4 * NQ];
#pragma unroll
    for (int i = 0; i < 4 * NQ; i++)
        v[i] = MM_C(u[i / 4], i % 4);
    float o[4];
#pragma unroll
    for (int j = 0; j < 4; j++) {
        float a = v[j + RX];
#if RX > 0
#pragma unroll
        for (int i = 0; i <= 2 * RX; i++)
            a = MM_F(k, a, v[j + i]);
#endif
        o[j] = a;
    }
    return (float4)(o[0], o[1], o[2], o[3]);
}

/* Fold of kind k over w[0 .. 2 R] (centre w[R]) for the compile-time radius R (a macro, so
 * that the loop is unrolled and w stays in registers): the y and z passes (float4). */
#define MM_FOLD_FN(name, R)                                                                        \
    static inline __attribute__((always_inline)) float4 name(const int k, const float4 *w)       \
    {                                                                                              \
        float4 a = w[R];                                                                           \
        if (R > 0) {                                                                               \
            _Pragma("unroll") for (int i = 0; i <= 2 * R; i++) a = MM_F(k, a, w[i]);               \
        }                                                                                          \
        return a;                                                                                  \
    }
MM_FOLD_FN(mm_fold_y, RY)
MM_FOLD_FN(mm_fold_z, RZ)

/* The input values of this work-item (plane offsets goff, -1 for none) of plane zc into pre. */
static inline __attribute__((always_inline)) void
mm_fetch(float *pre, const int *goff, __global const float *restrict src, int zc, size_t plane)
{
    __global const float *s = src + (size_t)zc * plane;
#pragma unroll
    for (int j = 0; j < NL; j++)
        if (goff[j] >= 0) {
            const float v = s[goff[j]];
            pre[j] = LAPSE_MM_BIN ? (v != 0.0f ? 1.0f : 0.0f) : v;
        }
}

/* Store the 4 outputs of a group at (x, y, z) (x a multiple of 4): res, orig - res (sub 1) or
 * res - orig (sub 2); bounds checked; a float4 store where the row allows it. */
static inline void mm_store(__global const float *restrict orig, __global float *restrict dst,
                            int nx, int ny, int x, int y, int z, size_t plane, int sub, float4 res)
{
    const size_t i = (size_t)z * plane + (size_t)y * (size_t)nx + (size_t)x;
    if (y < ny && x < nx && (nx & 3) == 0) { /* x + 3 < nx, i a multiple of 4: 16-byte access */
        float4 v = res;
        if (sub == 1)
            v = *(__global const float4 *)(orig + i) - res;
        else if (sub == 2)
            v = res - *(__global const float4 *)(orig + i);
        *(__global float4 *)(dst + i) = v;
    } else if (y < ny) {
#pragma unroll
        for (int j = 0; j < 4; j++)
            if (x + j < nx)
                {
                const float r = MM_C(res, j);
                dst[i + j] = sub == 1 ? orig[i + j] - r : sub == 2 ? r - orig[i + j] : r;
            }
    }
}

__kernel __attribute__((reqd_work_group_size(NT, 1, 1))) void
LAPSE_MM_NAME(__global const float *restrict src, __global const float *restrict orig,
              __global float *restrict dst, int nx, int ny, int nz, int sub)
{
    __local float4 U[H0 * PU]; /* the input tile; with two filters also the first one's plane M */
    __local float4 X[H0 * Q1]; /* x-pass results */
    __local float *Us = (__local float *)U;
    const int tid = (int)get_local_id(0);
    const int x0 = (int)get_group_id(0) * TX, y0 = (int)get_group_id(1) * TY;
    const int z0 = (int)get_group_id(2) * KZ;
    const size_t plane = (size_t)nx * (size_t)ny;

    /* This work-item's input values: offset in a plane (clamped) and in U, -1 if none. */
    int goff[NL], uoff[NL];
#pragma unroll
    for (int j = 0; j < NL; j++) {
        const int e = tid + NT * j, r = e / W0, c = e % W0;
        const int ok = e < H0 * W0;
        goff[j] = ok ? clamp(y0 - RY - RYB + r, 0, ny - 1) * nx + clamp(x0 - RX - RXB + c, 0, nx - 1)
                     : -1;
        uoff[j] = r * (4 * PU) + c;
    }
    float pre[NL];
    float4 ringa[TA][LA][2 * RZ + 1]; /* first filter's y-pass results, the newest last */
#if TWO
    float4 ringb[TB][LB][2 * RZB + 1]; /* second filter's y-pass results, the newest last */
    const int edge = x0 - RXB < 0 || x0 + TX + RXB > nx || y0 - RYB < 0 || y0 + TY + RYB > ny;
#endif
    const int nsteps = KZ + 2 * (RZ + RZB);
    const int p0 = z0 - RZ - RZB; /* first input plane (before clamping) */
    mm_fetch(pre, goff, src, clamp(p0, 0, nz - 1), plane);
    /* The control flow is uniform over the work-group and every barrier is reached by all
     * work-items in every step (no break / continue: plain conditions on uniform flags). */
    for (int s = 0; s < nsteps; s++) {
        const int p = p0 + s;
        const int live = p - RZ - RZB < nz; /* some output plane left within the volume */
        const int m = p - RZ;               /* plane of the first filter's result completed now */
        const int full = live && s >= 2 * RZ; /* ringa holds planes m - RZ .. m + RZ */
        if (live) {
#pragma unroll
            for (int j = 0; j < NL; j++)
                if (goff[j] >= 0)
                    Us[uoff[j]] = pre[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (live && s + 1 < nsteps)
            mm_fetch(pre, goff, src, clamp(p + 1, 0, nz - 1), plane);
        if (live) { /* first filter, x pass: U -> X (rows 0..H0-1, groups 0..Q1-1) */
#pragma unroll
            for (int i = 0; i < NXA; i++) {
                const int t = tid + NT * i, row = t / Q1, q = t % Q1;
                if (t < H0 * Q1) {
                    float4 u[NQ];
#pragma unroll
                    for (int k = 0; k < NQ; k++)
                        u[k] = U[row * PU + q + k];
                    X[row * Q1 + q] = mm_xpass(LAPSE_MM_KA, u);
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (live) { /* first filter, y pass: X -> ringa (this work-item's runs) */
#pragma unroll
            for (int a = 0; a < TA; a++) {
                const int t = tid + NT * a, q = t % Q1, run = t / Q1;
                if (run < RUNA) {
                    float4 w[LA + 2 * RY];
#pragma unroll
                    for (int k = 0; k < LA + 2 * RY; k++) {
                        const int row = run * LA + k;
                        w[k] = row < H0 ? X[row * Q1 + q] : (float4)(0.0f);
                    }
#pragma unroll
                    for (int l = 0; l < LA; l++) {
                        const float4 res = mm_fold_y(LAPSE_MM_KA, w + l);
#pragma unroll
                        for (int k = 0; k < 2 * RZ; k++)
                            ringa[a][l][k] = ringa[a][l][k + 1];
                        ringa[a][l][2 * RZ] = res;
                    }
                }
            }
        }
#if !TWO
        if (full && m >= z0 && m < nz) { /* first filter, z pass: the output plane m */
#pragma unroll
            for (int a = 0; a < TA; a++) {
                const int t = tid + NT * a, q = t % Q1, run = t / Q1;
#pragma unroll
                for (int l = 0; l < LA; l++) {
                    const int row = run * LA + l;
                    if (run < RUNA && row < H1) {
                        const float4 res = mm_fold_z(LAPSE_MM_KA, ringa[a][l]);
                        mm_store(orig, dst, nx, ny, x0 + 4 * q, y0 + row, m, plane, sub, res);
                    }
                }
            }
        }
#else
        const int inside = full && m >= 0 && m < nz; /* the first filter's plane m is new */
        if (inside) { /* first filter, z pass: ringa -> M (in U; U's last reader: the x pass) */
#pragma unroll
            for (int a = 0; a < TA; a++) {
                const int t = tid + NT * a, q = t % Q1, run = t / Q1;
#pragma unroll
                for (int l = 0; l < LA; l++) {
                    const int row = run * LA + l;
                    if (run < RUNA && row < H1)
                        U[row * PU + q] = mm_fold_z(LAPSE_MM_KA, ringa[a][l]);
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (edge) { /* halo cells outside the volume take the value at the clamped position */
            if (inside) {
#pragma unroll
                for (int i = 0; i < NE; i++) {
                    const int e = tid + NT * i, row = e / W1, col = e % W1;
                    const int gy = y0 - RYB + row, gx = x0 - RXB + col;
                    const int cy = clamp(gy, 0, ny - 1), cx = clamp(gx, 0, nx - 1);
                    if (e < H1 * W1 && (cy != gy || cx != gx))
                        Us[row * (4 * PU) + col] =
                            Us[(cy - y0 + RYB) * (4 * PU) + (cx - x0 + RXB)];
                }
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        if (inside) { /* second filter, x pass: M -> X (rows 0..H1-1, groups 0..QX-1) */
#pragma unroll
            for (int i = 0; i < NXB; i++) {
                const int t = tid + NT * i, row = t / QX, q = t % QX;
                if (t < H1 * QX) {
                    float4 u[NQ];
#pragma unroll
                    for (int k = 0; k < NQ; k++)
                        u[k] = U[row * PU + q + k];
                    X[row * QX + q] = mm_xpass(LAPSE_MM_KB, u);
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (inside) { /* second filter, y pass: X -> ringb; plane 0 fills the ring (the planes
                       * before it clamp to it) */
#pragma unroll
            for (int b = 0; b < TB; b++) {
                const int t = tid + NT * b, q = t % QX, run = t / QX;
                if (run < RUNB) {
                    float4 w[LB + 2 * RYB];
#pragma unroll
                    for (int k = 0; k < LB + 2 * RYB; k++) {
                        const int row = run * LB + k;
                        w[k] = row < H1 ? X[row * QX + q] : (float4)(0.0f);
                    }
#pragma unroll
                    for (int l = 0; l < LB; l++) {
                        const float4 res = mm_fold_y(LAPSE_MM_KB, w + l);
#pragma unroll
                        for (int k = 0; k < 2 * RZB; k++)
                            ringb[b][l][k] = m == 0 ? res : ringb[b][l][k + 1];
                        ringb[b][l][2 * RZB] = res;
                    }
                }
            }
        } else if (full && m >= nz) { /* planes past the end clamp to the last one */
#pragma unroll
            for (int b = 0; b < TB; b++)
#pragma unroll
                for (int l = 0; l < LB; l++)
#pragma unroll
                    for (int k = 0; k < 2 * RZB; k++)
                        ringb[b][l][k] = ringb[b][l][k + 1];
        }
        const int z = m - RZB; /* output plane completed now */
        if (full && m >= 0 && z >= z0 && z < nz) {
#pragma unroll
            for (int b = 0; b < TB; b++) {
                const int t = tid + NT * b, q = t % QX, run = t / QX;
#pragma unroll
                for (int l = 0; l < LB; l++) {
                    const int row = run * LB + l;
                    if (run < RUNB && row < TY) {
                        const float4 res = mm_fold_z(LAPSE_MM_KB, ringb[b][l]);
                        mm_store(orig, dst, nx, ny, x0 + 4 * q, y0 + row, z, plane, sub, res);
                    }
                }
            }
        }
#endif
    }
}
