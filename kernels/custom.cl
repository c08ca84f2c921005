/*
 * custom.cl - the frame of a user's kernel (custom_kernel, src/ops/op_custom.c; docs/config.md).
 * lapse builds it with the user's file appended (under the user's file name, clrt.c
 * lapse_cl_build_user, which defines LAPSE_USER_SOURCE), and the user's file defines lapse_user.
 * Built alone (tests/unit/test_clrt.c builds every kernel file), it defines the identity.
 *
 * The user writes
 *     float lapse_user(const __global float *in, int4 dim, int4 pos, __constant float *p)
 * returning the result at voxel pos (pos.x, pos.y, pos.z; pos.w = 0) of the task's buffer in
 * (float32, C order z, y, x; dims dim.x, dim.y, dim.z; dim.w = 0), with p[0..7] the step's
 * params (float32, 0 where not given). It reads the input only through lapse_at, which clamps
 * every coordinate to the buffer (SciPy's mode 'nearest'), and only within the step's reach of
 * pos: the planner makes the buffer the core grown by the reach, clipped to the image, so the
 * result does not depend on the tiling. pos is relative to the buffer, not to the image: the
 * result must not depend on where the buffer lies (no use of pos other than lapse_at offsets).
 * Before any task, op_custom.c's reach test runs lapse_custom on a test volume and on a tile of
 * it and refuses a function whose core results differ (it read beyond its reach).
 *
 * Floating-point contraction is off (as in every lapse kernel): a * b + c rounds twice unless
 * the user writes fma or turns it on with #pragma OPENCL FP_CONTRACT ON.
 */
#pragma OPENCL FP_CONTRACT OFF

/* The voxel (x, y, z) of in (dims dim), each coordinate clamped to [0, dim - 1]. */
float lapse_at(const __global float *in, int4 dim, int x, int y, int z)
{
    x = clamp(x, 0, dim.x - 1);
    y = clamp(y, 0, dim.y - 1);
    z = clamp(z, 0, dim.z - 1);
    return in[((size_t)z * (size_t)dim.y + (size_t)y) * (size_t)dim.x + (size_t)x];
}

/* Defined by the user's file. */
float lapse_user(const __global float *in, int4 dim, int4 pos, __constant float *p);

/* out = lapse_user at every voxel of the buffer (x fastest: work-item dimension 0). */
__kernel void lapse_custom(const __global float *in, __global float *out, int4 dim,
                           __constant float *p)
{
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), z = (int)get_global_id(2);
    if (x >= dim.x || y >= dim.y || z >= dim.z)
        return;
    out[((size_t)z * (size_t)dim.y + (size_t)y) * (size_t)dim.x + (size_t)x] =
        lapse_user(in, dim, (int4)(x, y, z, 0), p);
}

#ifndef LAPSE_USER_SOURCE
/* Built without a user's file: the identity, so that the frame is a program of its own. */
float lapse_user(const __global float *in, int4 dim, int4 pos, __constant float *p)
{
    return lapse_at(in, dim, pos.x, pos.y, pos.z);
}
#endif
