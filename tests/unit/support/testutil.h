/*
 * testutil.h - small helpers shared by the Check suites: deterministic random volumes and
 * temporary paths.
 */
#ifndef LAPSE_TESTUTIL_H
#define LAPSE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Deterministic pseudo-random 64-bit stream (splitmix64). */
uint64_t tu_rand(uint64_t *state);
/* Uniform double in [lo, hi). */
double tu_uniform(uint64_t *state, double lo, double hi);
/* Fill n floats with uniform values in [lo, hi). */
void tu_fill_f32(float *v, size_t n, uint64_t seed, float lo, float hi);
/* A fresh temporary directory (mkdtemp) under $TMPDIR or /tmp; the path is static storage. */
const char *tu_tmpdir(void);

struct lapse_cl;
/* The OpenCL device of kind any (PoCL's CPU device on machines without a GPU), opened; fails the
 * current Check test with the message when there is none. Close with lapse_cl_close. */
struct lapse_cl *tu_open_cl(void);

#endif
