#!/usr/bin/python3
"""tif2h5.py - a TIFF of ../shared/data as an HDF5 time-lapse for the tests.

Usage: tif2h5.py IN.tif OUT.h5 AXES

AXES says what the TIFF holds: TYX (written as /raw [t, y, x]) or ZYX (one timepoint,
/raw [1, z, y, x]). Values and dtype are kept, as Fiji shows them: an ImageJ signed 16-bit
image (uint16 pages with the calibration cf=0, c0=-32768, c1=1, which tifffile does not apply)
is written as int16, stored - 32768.
"""
import sys

import h5py
import numpy as np
import tifffile


def imagej_signed16(path):
    """ImageJ's Calibration.isSigned16Bit, from the first page's description."""
    with tifffile.TiffFile(path) as t:
        d = t.pages[0].description
    if not d.startswith("ImageJ="):
        return False
    kv = dict(line.split("=", 1) for line in d.splitlines() if "=" in line)
    try:
        return int(kv["cf"]) == 0 and float(kv["c0"]) == -32768 and float(kv["c1"]) == 1
    except (KeyError, ValueError):
        return False


def main():
    a = tifffile.imread(sys.argv[1])
    if a.dtype == np.uint16 and imagej_signed16(sys.argv[1]):
        a = (a.astype(np.int32) - 32768).astype(np.int16)
    axes = sys.argv[3]
    if axes == "ZYX":
        a = a[None]
    elif axes != "TYX":
        sys.exit("tif2h5: AXES must be TYX or ZYX")
    with h5py.File(sys.argv[2], "w") as f:
        f["/raw"] = np.ascontiguousarray(a)


if __name__ == "__main__":
    main()
