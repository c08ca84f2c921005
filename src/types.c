/*
 * types.c - voxel data type names and sizes; ISO 8601 timestamps.
 */
#include "types.h"

#include <string.h>
#include <time.h>

static const char *const dtype_names[] = {"uint8",  "uint16", "float32", "auto",
                                          "uint32", "uint64", "int16",   "float64"};
#define NDTYPES ((int)(sizeof dtype_names / sizeof *dtype_names))

size_t lapse_dtype_size(lapse_dtype_t dt)
{
    switch (dt) {
    case LAPSE_DT_U8:
        return 1;
    case LAPSE_DT_U16:
    case LAPSE_DT_I16:
        return 2;
    case LAPSE_DT_F32:
    case LAPSE_DT_U32:
        return 4;
    case LAPSE_DT_U64:
    case LAPSE_DT_F64:
        return 8;
    default:
        return 0;
    }
}

const char *lapse_dtype_name(lapse_dtype_t dt)
{
    if ((int)dt < 0 || (int)dt >= NDTYPES)
        return "?";
    return dtype_names[dt];
}

int lapse_dtype_parse(const char *name, lapse_dtype_t *out)
{
    for (int i = 0; i < NDTYPES; i++) {
        if (strcmp(name, dtype_names[i]) == 0) {
            *out = (lapse_dtype_t)i;
            return 0;
        }
    }
    return -1;
}

void lapse_iso_now(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tmv);
}
