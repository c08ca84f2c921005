#!/usr/bin/python3
"""seg_ref.py - check lapse's per-timepoint (global) operations against scikit-image / SciPy.

Usage: seg_ref.py INPUT.h5 OUTPUT.h5 CASE DATASET

CASE thresh (tests/mpi/test_segment.sh): /blur (a saved float32 step) and, per timepoint,
  /otsu == blur > skimage.filters.threshold_otsu(blur, nbins=256) bit for bit,
  /otsu_in == input > threshold_otsu(input as float32) bit for bit,
  /mean == blur > mean(blur) (the mean in float64), except voxels within 1e-6 (relative) of
  the mean.
CASE labels: the mask (the saved step /mask, or else the input dataset) and per timepoint
  /cc_box == scipy.ndimage.label(mask, full connectivity) and /result == label(mask, face
  connectivity), bit for bit (the same numbers: scipy numbers components in raster order of
  their first voxel), both uint32.
Exit 0 when all hold, 1 with the first difference.
"""
import sys

import h5py
import numpy as np
from scipy import ndimage


def fail(msg):
    print("seg_ref: FAIL: " + msg)
    sys.exit(1)


def check_thresh(fin, fout, dset):
    from skimage.filters import threshold_otsu

    raw = fin[dset][...]
    blur = fout["/blur"][...]
    nt = raw.shape[0]
    for t in range(nt):
        b = blur[t].astype(np.float32)
        for name, img in (("/otsu", b), ("/otsu_in", raw[t].astype(np.float32))):
            got = fout[name][t]
            want = img > threshold_otsu(img, nbins=256)
            if got.dtype != np.uint8:
                fail("%s has dtype %s, not uint8" % (name, got.dtype))
            if not np.array_equal(got.astype(bool), want):
                fail("%s t=%d: %d voxels differ from skimage" % (name, t, (got.astype(bool) != want).sum()))
            if want.all() or not want.any():
                fail("%s t=%d: a constant mask proves nothing" % (name, t))
        m = np.mean(b, dtype=np.float64)
        want = b > m
        got = fout["/mean"][t].astype(bool)
        near = np.abs(b.astype(np.float64) - m) <= 1e-6 * abs(m)
        bad = (got != want) & ~near
        if bad.any():
            fail("/mean t=%d: %d voxels differ from blur > mean" % (t, bad.sum()))
    print("seg_ref: thresh: %d timepoints match skimage" % nt)


def check_labels(fin, fout, dset):
    mask = fout["/mask"][...] if "/mask" in fout else fin[dset][...]
    nt = mask.shape[0]
    total = 0
    most = 0
    for t in range(nt):
        m = mask[t] != 0
        for name, full in (("/cc_box", True), ("/result", False)):
            st = ndimage.generate_binary_structure(m.ndim, m.ndim if full else 1)
            want, n = ndimage.label(m, structure=st)
            got = fout[name][t]
            if fout[name].dtype != np.uint32:
                fail("%s has dtype %s, not uint32" % (name, fout[name].dtype))
            if got.shape != want.shape:
                fail("%s t=%d: shape %s, scipy %s" % (name, t, got.shape, want.shape))
            if not np.array_equal(got.astype(np.int64), want.astype(np.int64)):
                d = np.argwhere(got != want)[0]
                fail("%s t=%d: %d voxels differ from scipy.ndimage.label (first at %s: %d vs %d)"
                     % (name, t, (got != want).sum(), tuple(d), got[tuple(d)], want[tuple(d)]))
            total += n
            most = max(most, n)
    if total == 0:
        fail("no labels at all: the comparison proves nothing")
    print("seg_ref: labels: %d timepoints equal scipy.ndimage.label (%d labels, at most %d in "
          "one timepoint)" % (nt, total, most))


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(2)
    with h5py.File(sys.argv[1], "r") as fin, h5py.File(sys.argv[2], "r") as fout:
        {"thresh": check_thresh, "labels": check_labels}[sys.argv[3]](fin, fout, sys.argv[4])


if __name__ == "__main__":
    main()
