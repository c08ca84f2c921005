// 83_custom_reach.cl - for 83_custom_reach.yaml: reads x + 1, beyond the declared reach x 0
float lapse_user(const __global float *in, int4 dim, int4 pos, __constant float *p)
{
    return lapse_at(in, dim, pos.x + 1, pos.y - 1, pos.z) - lapse_at(in, dim, pos.x, pos.y, pos.z);
}
