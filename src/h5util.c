/*
 * h5util.c - small HDF5 helpers shared by io/reader_h5, h5out, io/layout, info and sample (see
 * h5util.h): error-printing switch, dtype mapping, fixed-length string types, string attributes.
 */
#include "h5util.h"

#include <stdio.h>
#include <stdlib.h>

#include "io/h5blosc.h"

void lapse_h5_init(void)
{
    static int done = 0;
    if (!done) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        (void)lapse_h5blosc_register(); /* outputs with blosc compression open everywhere */
        done = 1;
    }
}

hid_t lapse_h5_mem_type(lapse_dtype_t dt)
{
    switch (dt) {
    case LAPSE_DT_U8:
        return H5T_NATIVE_UINT8;
    case LAPSE_DT_U16:
        return H5T_NATIVE_UINT16;
    case LAPSE_DT_U32:
        return H5T_NATIVE_UINT32;
    case LAPSE_DT_U64:
        return H5T_NATIVE_UINT64;
    case LAPSE_DT_I16:
        return H5T_NATIVE_INT16;
    case LAPSE_DT_F64:
        return H5T_NATIVE_DOUBLE;
    default:
        return H5T_NATIVE_FLOAT;
    }
}

int lapse_h5_dtype(hid_t type, lapse_dtype_t *dt)
{
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    if (cls == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_NONE &&
        (size == 1 || size == 2 || size == 4 || size == 8)) {
        *dt = size == 1   ? LAPSE_DT_U8
              : size == 2 ? LAPSE_DT_U16
              : size == 4 ? LAPSE_DT_U32
                          : LAPSE_DT_U64;
        return 0;
    }
    if (cls == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_2 && size == 2) {
        *dt = LAPSE_DT_I16;
        return 0;
    }
    if (cls == H5T_FLOAT && (size == 4 || size == 8)) {
        *dt = size == 4 ? LAPSE_DT_F32 : LAPSE_DT_F64;
        return 0;
    }
    return -1;
}

hid_t lapse_h5_str_type(size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (H5Tset_size(t, n < 1 ? 1 : n) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

void lapse_h5_read_str_attr(hid_t obj, const char *name, char *buf, size_t len)
{
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, m = H5I_INVALID_HID;
    buf[0] = '\0';
    if (H5Aexists(obj, name) <= 0)
        goto done;
    if ((a = H5Aopen(obj, name, H5P_DEFAULT)) < 0 || (t = H5Aget_type(a)) < 0 ||
        H5Tget_class(t) != H5T_STRING)
        goto done;
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        if ((m = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(m, H5T_VARIABLE) < 0 ||
            H5Aread(a, m, &s) < 0)
            goto done;
        snprintf(buf, len, "%s", s ? s : "");
        H5free_memory(s);
    } else {
        size_t n = H5Tget_size(t);
        char *s = calloc(n + 1, 1);
        if (s && H5Aread(a, t, s) >= 0)
            snprintf(buf, len, "%s", s);
        free(s);
    }
done:
    if (m >= 0)
        H5Tclose(m);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    H5Eclear2(H5E_DEFAULT);
}

hid_t lapse_h5_file_type(lapse_dtype_t dt)
{
    switch (dt) {
    case LAPSE_DT_U8:
        return H5T_STD_U8LE;
    case LAPSE_DT_U16:
        return H5T_STD_U16LE;
    case LAPSE_DT_U32:
        return H5T_STD_U32LE;
    case LAPSE_DT_I16:
        return H5T_STD_I16LE;
    case LAPSE_DT_U64:
        return H5T_STD_U64LE;
    default:
        return H5T_IEEE_F32LE;
    }
}
