#!/usr/bin/env python3
"""graph_ref.py - check lapse's graph test outputs against NumPy / SciPy (tests/mpi/test_graph.sh).

usage: graph_ref.py IN.h5 OUT.h5 CASE

CASE names a pipeline of test_graph.sh; the expected datasets are computed here from /raw of
IN.h5 for every timepoint and compared with OUT.h5:
  dog     /result = gaussian(sigma 1) - gaussian(sigma 2.5) of the input (float64 SciPy,
          mode nearest, truncate 4): relative error <= 1e-5 of the range; /g1 likewise
  logic   /m1 = x > 500, /m2 = x > 1500 (uint8), /result = mask(x, m1 xor m2) (uint16): exact,
          plus /both = m1 and m2, /either = m1 or m2, /neither = not either: exact
  arith   /result = float32: 0.5 * x + (-2) * (3 x) computed in float32 like NumPy, and
          /prod = x * (3 x) in float32: bit for bit
Exit 0 when everything matches, 1 with a message otherwise.
"""
import sys

import h5py
import numpy as np
from scipy import ndimage


def gauss(a, s):
    return ndimage.gaussian_filter(a.astype(np.float64), s, mode="nearest", truncate=4.0)


def expected(case, x):
    f = x.astype(np.float32)
    if case == "dog":
        g1 = gauss(x, 1.0)
        return {"/g1": (g1, 1e-5), "/result": (g1 - gauss(x, 2.5), 1e-5)}
    if case == "logic":
        m1 = f > 500
        m2 = f > 1500
        either = m1 | m2
        return {
            "/m1": (m1.astype(np.uint8), 0),
            "/m2": (m2.astype(np.uint8), 0),
            "/both": ((m1 & m2).astype(np.uint8), 0),
            "/either": (either.astype(np.uint8), 0),
            "/neither": ((~either).astype(np.uint8), 0),
            "/result": (np.where(m1 ^ m2, x, 0).astype(x.dtype), 0),
        }
    if case == "arith":
        three = f * np.float32(3)
        return {
            "/result": (np.float32(0.5) * f + np.float32(-2) * three, 0),
            "/prod": (f * three, 0),
        }
    raise SystemExit("graph_ref.py: unknown case %r" % case)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    raw = h5py.File(sys.argv[1], "r")["/raw"]
    out = h5py.File(sys.argv[2], "r")
    bad = 0
    for t in range(raw.shape[0]):
        for path, (want, tol) in expected(sys.argv[3], raw[t]).items():
            have = out[path][t]
            want_dt = np.dtype(np.float32) if tol else want.dtype
            if have.shape != want.shape or have.dtype != want_dt:
                print("%s t=%d: shape/dtype %s %s, want %s %s" % (path, t, have.shape, have.dtype,
                                                                  want.shape, want_dt))
                bad += 1
                continue
            if tol == 0:
                diff = np.count_nonzero(have.view(np.uint8) != want.view(np.uint8))
                if diff:
                    print("%s t=%d: %d bytes differ" % (path, t, diff))
                    bad += 1
            else:
                scale = max(float(np.abs(want).max()), 1.0)
                err = float(np.abs(have.astype(np.float64) - want).max()) / scale
                if not err <= tol:
                    print("%s t=%d: relative error %g > %g" % (path, t, err, tol))
                    bad += 1
    if bad:
        print("graph_ref.py: %d mismatches" % bad)
        return 1
    print("graph_ref.py: %s matches the NumPy/SciPy reference" % sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
