#!/usr/bin/python3
"""tif2h5.py - a TIFF of ../shared/data as an HDF5 time-lapse for the tests.

Usage: tif2h5.py IN.tif OUT.h5 AXES

AXES says what the TIFF holds: TYX (written as /raw [t, y, x]) or ZYX (one timepoint,
/raw [1, z, y, x]). Values and dtype are kept.
"""
import sys

import h5py
import numpy as np
import tifffile


def main():
    a = tifffile.imread(sys.argv[1])
    axes = sys.argv[3]
    if axes == "ZYX":
        a = a[None]
    elif axes != "TYX":
        sys.exit("tif2h5: AXES must be TYX or ZYX")
    with h5py.File(sys.argv[2], "w") as f:
        f["/raw"] = np.ascontiguousarray(a)


if __name__ == "__main__":
    main()
