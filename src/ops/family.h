/*
 * family.h - what the family files (src/ops/op_*.c) share: parameter-spec shorthands and the
 * includes a descriptor, its launcher and its reference need. Not for use outside src/ops/.
 */
#ifndef LAPSE_FAMILY_H
#define LAPSE_FAMILY_H

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "device/dev.h"
#include "ops/op.h"
#include "ops/ref.h"

/* Required parameters: a vector of floats / whole numbers in [lo, hi], a number. */
#define LAPSE_P_VEC3F(k, lo, hi, h)                                                                \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_VEC3_FLOAT, .required = 1, .min = (lo), .max = (hi),       \
        .help = (h)                                                                                \
    }
#define LAPSE_P_VEC3I(k, lo, hi, h)                                                                \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_VEC3_INT, .required = 1, .min = (lo), .max = (hi),         \
        .help = (h)                                                                                \
    }
#define LAPSE_P_FLOAT(k, h)                                                                        \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_FLOAT, .required = 1, .min = -DBL_MAX, .max = DBL_MAX,     \
        .help = (h)                                                                                \
    }
/* An optional number with a default. */
#define LAPSE_P_FLOAT_DEF(k, d, h)                                                                 \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_FLOAT, .required = 0, .def = (d), .min = -DBL_MAX,         \
        .max = DBL_MAX, .help = (h)                                                                \
    }

/* Optional whole numbers per axis with a default; per-axis booleans and a 3x4 matrix
 * (required); one word of choices (optional, default the first). */
#define LAPSE_P_VEC3I_DEF(k, d, lo, hi, h)                                                         \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_VEC3_INT, .required = 0, .def = (d), .min = (lo),          \
        .max = (hi), .help = (h)                                                                   \
    }
#define LAPSE_P_FLOAT_RANGE(k, d, lo, hi, h)                                                       \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_FLOAT, .required = 0, .def = (d), .min = (lo),             \
        .max = (hi), .help = (h)                                                                   \
    }
#define LAPSE_P_INT_DEF(k, d, lo, hi, h)                                                           \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_INT, .required = 0, .def = (d), .min = (lo), .max = (hi),  \
        .help = (h)                                                                                \
    }
#define LAPSE_P_VEC3F_DEF(k, d, lo, hi, h)                                                         \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_VEC3_FLOAT, .required = 0, .def = (d), .min = (lo),        \
        .max = (hi), .help = (h)                                                                   \
    }
#define LAPSE_P_BOOL3(k, h)                                                                        \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_BOOL3, .required = 1, .min = 0, .max = 1, .help = (h)      \
    }
#define LAPSE_P_MATRIX(k, lo, hi, h)                                                               \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_MATRIX, .required = 1, .min = (lo), .max = (hi),           \
        .help = (h)                                                                                \
    }
#define LAPSE_P_ENUM(k, words, h)                                                                  \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_ENUM, .required = 0, .def = 0, .min = 0, .max = 0,         \
        .help = (h), .choices = (words)                                                            \
    }

/* A file of OpenCL C (required; custom_kernel) and a list of up to 8 numbers (optional, 0). */
#define LAPSE_P_SOURCE(k, h)                                                                       \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_SOURCE, .required = 1, .help = (h)                         \
    }
#define LAPSE_P_LIST(k, h)                                                                         \
    {                                                                                              \
        .key = (k), .kind = LAPSE_PARAM_LIST, .required = 0, .def = 0.0, .min = -DBL_MAX,          \
        .max = DBL_MAX, .help = (h)                                                                \
    }

/* Voxels of a device volume. */
static inline size_t lapse_dvol_voxels(const lapse_dvol_t *v)
{
    return (size_t)(v->dim[0] * v->dim[1] * v->dim[2]);
}

/* Radii of parameter 0 as ints (box filters). */
static inline void lapse_step_radii(const lapse_step_t *s, int r[3])
{
    for (int a = 0; a < 3; a++)
        r[a] = (int)s->p[0].v[a];
}

/* Launch kernel `base` of images.cl (its vector form unless simple): out = f(in[0], in[1], f1,
 * f2) over in[0]'s voxels; with one input, in[0] is passed as both operands. */
lapse_status_t lapse_img_launch(lapse_dev_t *d, const char *base, const lapse_dvol_t *in, int nin,
                                const lapse_dvol_t *out, double f1, double f2);

/* Launch kernel `base` of math.cl (its vector form unless simple): out = f(in[0], p, q) over
 * in[0]'s voxels, p and q rounded to float32 (op_math.c, op_compare.c). */
lapse_status_t lapse_math_launch(lapse_dev_t *d, const char *base, const lapse_dvol_t *in,
                                 const lapse_dvol_t *out, double p, double q);

#endif
