#!/usr/bin/python3
"""scipy_gauss.py - SciPy's Gaussian filter as an independent reference for test_ops.

Usage: scipy_gauss.py IN OUT NZ NY NX SIGMA_Z SIGMA_Y SIGMA_X
IN and OUT are raw little-endian float64 volumes in C order (z, y, x). The filter is
scipy.ndimage.gaussian_filter(mode='nearest', truncate=4.0) computed in float64, the semantics
lapse's gaussian_blur promises.
"""
import sys

import numpy as np
from scipy import ndimage


def main(argv):
    if len(argv) != 9:
        sys.stderr.write(__doc__)
        return 2
    nz, ny, nx = (int(v) for v in argv[3:6])
    sigma = [float(v) for v in argv[6:9]]
    vol = np.fromfile(argv[1], dtype="<f8").reshape(nz, ny, nx)
    out = ndimage.gaussian_filter(vol, sigma=sigma, mode="nearest", truncate=4.0)
    out.astype("<f8").tofile(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
