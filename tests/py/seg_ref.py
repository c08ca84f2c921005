#!/usr/bin/python3
"""seg_ref.py - check lapse's per-timepoint (global) operations against scikit-image / SciPy.

Usage: seg_ref.py INPUT.h5 OUTPUT.h5 CASE DATASET

CASE thresh (tests/mpi/test_segment.sh): /blur (a saved float32 step) and, per timepoint,
  /otsu == blur > skimage.filters.threshold_otsu(blur, nbins=256) bit for bit,
  /otsu_in == input > threshold_otsu(input as float32) bit for bit,
  /mean == blur > mean(blur) (the mean in float64), except voxels within 1e-6 (relative) of
  the mean; /pct == blur > np.percentile(blur, 83.7) and /pct_in == input > np.percentile(
  input, 50), compared in float64, bit for bit.
CASE labels: the mask (the saved step /mask, or else the input dataset) and per timepoint
  /cc_box == scipy.ndimage.label(mask, full connectivity) and /result == label(mask, face
  connectivity), bit for bit (the same numbers: scipy numbers components in raster order of
  their first voxel), both uint32.
CASE real (tests/mpi/test_segment_real.sh): /blur, /mask == blur > threshold_otsu(blur),
  /labels == scipy.ndimage.label(mask, box), and the table /nuclei equal to
  skimage.measure.regionprops_table(labels, input) per timepoint (integers exactly, floats to
  1e-9 relative), its summary /nuclei_summary (label count, foreground voxels, threshold).
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
        for name, img, p in (("/pct", b, 83.7), ("/pct_in", raw[t].astype(np.float32), 50.0)):
            thr = np.percentile(img, p)  # float64, NumPy's linear method
            want = img.astype(np.float64) > thr
            got = fout[name][t].astype(bool)
            if not np.array_equal(got, want):
                fail("%s t=%d: %d voxels differ from x > np.percentile(x, %g)"
                     % (name, t, (got != want).sum(), p))
            if want.all() or not want.any():
                fail("%s t=%d: a constant mask proves nothing" % (name, t))
        # bins: clesperanto (CLIc's threshold_otsu): bin round((v - min) / (max - min) * 255),
        # centres min + i (max - min) / 255, skimage's variance, x > centre as float32
        mn, mx = b.min(), b.max()
        rng = float(np.float32(mx - mn))
        idx = np.clip(np.floor((b.astype(np.float64) - float(mn)) / rng * 255 + 0.5), 0, 255)
        cnt = np.bincount(idx.astype(np.int64).ravel(), minlength=256).astype(np.float64)
        ctr = np.arange(256, dtype=np.float64) * rng / 255 + float(mn)
        w1, w2 = np.cumsum(cnt), np.cumsum(cnt[::-1])[::-1]
        m1 = np.cumsum(cnt * ctr) / w1
        m2 = (np.cumsum((cnt * ctr)[::-1]) / w2[::-1])[::-1]
        thr = np.float32(ctr[np.argmax(w1[:-1] * w2[1:] * (m1[:-1] - m2[1:]) ** 2)])
        got = fout["/otsu_cle"][t].astype(bool)
        if not np.array_equal(got, b > thr):
            fail("/otsu_cle t=%d: %d voxels differ from clesperanto's rule" % (t, (got != (b > thr)).sum()))
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


def check_real(fin, fout, dset):
    from skimage.filters import threshold_otsu
    from skimage.measure import regionprops_table

    raw = fin[dset][...]
    blur, mask, labels = fout["/blur"][...], fout["/mask"][...], fout["/labels"][...]
    tab, summ = fout["/nuclei"][...], fout["/nuclei_summary"][...]
    nt = raw.shape[0]
    if tab.dtype.names[:3] != ("timepoint", "label", "area"):
        fail("/nuclei columns %s" % (tab.dtype.names,))
    total = 0
    for t in range(nt):
        b = blur[t].astype(np.float32)
        th = threshold_otsu(b, nbins=256)
        if not np.array_equal(mask[t].astype(bool), b > th):
            fail("/mask t=%d differs from blur > threshold_otsu" % t)
        st = ndimage.generate_binary_structure(b.ndim, b.ndim)
        want, n = ndimage.label(b > th, structure=st)
        if not np.array_equal(labels[t].astype(np.int64), want):
            fail("/labels t=%d differs from scipy.ndimage.label" % t)
        rows = tab[tab["timepoint"] == t]
        if len(rows) != n:
            fail("/nuclei t=%d: %d rows for %d labels" % (t, len(rows), n))
        lab3 = want if want.ndim == 3 else want[None]
        img3 = raw[t] if raw[t].ndim == 3 else raw[t][None]
        ref = regionprops_table(lab3, intensity_image=img3.astype(np.float64),
                                properties=("label", "area", "centroid", "bbox", "intensity_mean",
                                            "intensity_min", "intensity_max"))
        pairs = [("label", "label"), ("area", "area"), ("centroid_z", "centroid-0"),
                 ("centroid_y", "centroid-1"), ("centroid_x", "centroid-2"),
                 ("bbox_z0", "bbox-0"), ("bbox_y0", "bbox-1"), ("bbox_x0", "bbox-2"),
                 ("bbox_z1", "bbox-3"), ("bbox_y1", "bbox-4"), ("bbox_x1", "bbox-5"),
                 ("intensity_mean", "intensity_mean"), ("intensity_min", "intensity_min"),
                 ("intensity_max", "intensity_max")]
        for ours, theirs in pairs:
            a, r = rows[ours].astype(np.float64), np.asarray(ref[theirs], np.float64)
            err = np.max(np.abs(a - r) / np.maximum(np.abs(r), 1e-300)) if n else 0.0
            if err > 1e-9:
                fail("/nuclei t=%d column %s: relative error %g vs regionprops_table" % (t, ours, err))
        for lab in range(1, n + 1):
            v = img3[lab3 == lab].astype(np.float64)
            row = rows[rows["label"] == lab][0]
            for ours, val in (("intensity_sum", v.sum()), ("intensity_std", v.std())):
                if abs(row[ours] - val) > 1e-9 * max(abs(val), 1e-300):
                    fail("/nuclei t=%d label %d %s: %r vs numpy %r" % (t, lab, ours, row[ours], val))
        s = summ[summ["timepoint"] == t]
        if len(s) != 1 or s["label_count"][0] != n or s["foreground_voxels"][0] != (want > 0).sum():
            fail("/nuclei_summary t=%d: %s (want %d labels, %d voxels)" % (t, s, n, (want > 0).sum()))
        if np.float32(s["threshold"][0]) != th:
            fail("/nuclei_summary t=%d: threshold %r, skimage %r" % (t, s["threshold"][0], th))
        total += n
    if len(tab) != total or len(summ) != nt:
        fail("/nuclei has %d rows for %d labels, the summary %d rows for %d timepoints"
             % (len(tab), total, len(summ), nt))
    if total == 0:
        fail("no labels: the comparison proves nothing")
    print("seg_ref: real: %d timepoints, %d labels: labels = scipy, table = regionprops_table"
          % (nt, total))


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(2)
    with h5py.File(sys.argv[1], "r") as fin, h5py.File(sys.argv[2], "r") as fout:
        {"thresh": check_thresh, "labels": check_labels, "real": check_real}[sys.argv[3]](fin, fout, sys.argv[4])


if __name__ == "__main__":
    main()
