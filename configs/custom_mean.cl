/*
 * custom_mean.cl - a user's kernel for custom_kernel (configs/custom_mean.yaml; the contract is
 * in docs/config.md): the mean of the 3x3x3 box around each voxel, computed as lapse's
 * mean_box radius 1 does (a mean along x, of those along y, of those along z; each sum from
 * 0.0f in the order -1, 0, 1, times the weight p[0]), so the two agree bit for bit when
 * params: [0.3333333333333333] (1/3, rounded to float32 like mean_box's weight).
 *
 * lapse calls lapse_user once per voxel of a task's buffer: in is the buffer (float32), dim its
 * size (x, y, z), pos the voxel (x, y, z), p the step's params. Read the input only with
 * lapse_at (clamped to the edge) and only within the step's reach of pos (here 1).
 */
float lapse_user(const __global float *in, int4 dim, int4 pos, __constant float *p)
{
    const float w = p[0];
    float zsum = 0.0f;
    for (int dz = -1; dz <= 1; dz++) {
        float ysum = 0.0f;
        for (int dy = -1; dy <= 1; dy++) {
            float xsum = 0.0f;
            for (int dx = -1; dx <= 1; dx++)
                xsum += lapse_at(in, dim, pos.x + dx, pos.y + dy, pos.z + dz);
            ysum += xsum * w;
        }
        zsum += ysum * w;
    }
    return zsum * w;
}
