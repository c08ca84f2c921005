#!/usr/bin/python3
"""shapes.py - worst-case masks for the labelling tests (tests/mpi/test_segment.sh).

Usage: shapes.py OUT.h5

Writes uint8 0/1 datasets:
  /shapes [4, 24, 70, 90]: t=0 a 3-D spiral corridor that winds through the whole volume (one
    component crossing every tile many times), t=1 a comb (one spine, many teeth, each tooth a
    separate component in the diamond sense where the spine is diagonal), t=2 no foreground,
    t=3 random voxels at density 0.3 (many components, many touching only diagonally);
  /checker [2, 420, 400] (a [t, y, x] time-lapse): a checkerboard (t=0: 84000 isolated voxels with diamond
    connectivity, one component with box) and random voxels at 0.45 (t=1).
"""
import sys

import h5py
import numpy as np


def spiral(z, y, x):
    v = np.zeros((z, y, x), np.uint8)
    for k in range(0, z, 3):  # a square spiral per plane, the planes joined at alternate ends
        top, left, bottom, right = 0, 0, y - 1, x - 1
        while top <= bottom and left <= right:
            v[k, top, left:right + 1] = 1
            v[k, top:bottom + 1, right] = 1
            if top + 2 <= bottom:
                v[k, bottom, left:right + 1] = 1
            if left + 2 <= right:
                v[k, top + 2:bottom + 1, left] = 1
            top += 2
            left += 2
            bottom -= 2
            right -= 2
            if top <= bottom:
                v[k, top, left - 2:left + 1] = 1
        if k + 3 < z:
            c = (0, 0) if (k // 3) % 2 == 0 else (y - 1, x - 1)
            v[k:k + 4, c[0], c[1]] = 1
    return v


def comb(z, y, x):
    v = np.zeros((z, y, x), np.uint8)
    for k in range(z):
        v[k, k % y, :] = 1  # a spine that moves one row per plane
        v[k, :, ::4] = 1    # teeth
    v[:, :, 2::8] = 1
    return v


def main():
    rng = np.random.default_rng(11)
    z, y, x = 24, 70, 90
    s = np.stack([spiral(z, y, x), comb(z, y, x), np.zeros((z, y, x), np.uint8),
                  (rng.random((z, y, x)) < 0.3).astype(np.uint8)])
    yy, xx = np.mgrid[0:420, 0:400]
    c = np.stack([(yy + xx) % 2 == 0, rng.random((420, 400)) < 0.45]).astype(np.uint8)
    with h5py.File(sys.argv[1], "w") as f:
        f["/shapes"] = s
        f["/checker"] = c


if __name__ == "__main__":
    main()
