#!/usr/bin/python3
"""labels_ref.py - check lapse's seed and label operations against SciPy / scikit-image.

Usage: labels_ref.py INPUT.h5 OUTPUT.h5 CASE DATASET
       labels_ref.py INPUT.h5 - make

make: add to INPUT.h5 (lapse sample's /raw, [t, z, y, x] uint16) /raw2d = raw[:, 5] ([t, y, x])
  and the float32 label images /lab (from /raw) and /lab2d (from /raw2d): per timepoint the
  components of raw > its 80th percentile (scipy.ndimage.label), their labels replaced by
  distinct random values in 1..60000 (gaps, no order), and about 1% of the labelled voxels
  given value + 0.25 (lapse truncates, as astype(uint32)).

Per timepoint, bit for bit (tests/mpi/test_labels.sh):
CASE seeds (input /raw or /raw2d; the saved /blur, /cc are the operands):
  /maxima0 == strict maxima of blur (no mean): the value greater than
    scipy.ndimage.maximum_filter over the 3x3(x3) neighbours without the centre (outside the
    image does not count) - clesperanto's plateau rule: an equal neighbour is no maximum;
  /maxima_raw == the same of the input (integers: plateaus, where a non-strict rule would
    differ, must occur);
  /maxima == the same of the box mean of radius [1, 2, 1] (z, y, x), emulated in float32 as
    lapse (and, but for the final division, clesperanto) computes it: passes x, y, z of the sum
    of 2r+1 clamped neighbours in order, times float32(1 / (2r + 1)); an axis of extent 1 skipped;
  /edges == skimage.segmentation.clear_border(cc), renumbered in raster order of first voxel;
  /edges_yx == the labels of cc touching a y or x face removed (NumPy), renumbered likewise;
  /sized == labels of 20..400 voxels kept (np.bincount), renumbered likewise;
  /dil1, /result == a NumPy emulation of clesperanto's dilate_labels (radius 1 and 4) of cc:
    alternate box and diamond steps of "a 0 takes the largest neighbour" (maximum_filter),
    stopping early when a step changes nothing, as clesperanto does.
CASE remap (input /lab or /lab2d, labels = astype(uint32) of the input):
  /seq: skimage.segmentation.relabel_sequential(labels) numbers by old label; lapse numbers by
    first voxel: the same partition, and skimage's result renumbered in raster order of first
    voxel equals /seq; /sized: labels of >= 30 voxels; /edges: clear_border;
    /edges_dil3: dilate_labels(edges, 3); /result: labels of 50..3000 voxels of that.
Exit 0 when all hold, 1 with the first difference.
"""
import sys

import h5py
import numpy as np
from scipy import ndimage


def fail(msg):
    print("labels_ref: FAIL: " + msg)
    sys.exit(1)


def raster_order(lab):
    """lab renumbered 1..N in raster order of each label's first voxel (0 stays 0)."""
    flat = lab.ravel()
    vals, first = np.unique(flat, return_index=True)
    keep = vals != 0
    vals, first = vals[keep], first[keep]
    order = vals[np.argsort(first)]
    lut = np.zeros(int(flat.max()) + 1 if flat.size else 1, np.uint32)
    lut[order] = np.arange(1, len(order) + 1, dtype=np.uint32)
    return lut[lab]


def box_mean_f32(img, radius):
    """lapse's float32 box mean: passes x, y, z (the last axes first); each the sum of the 2r+1
    edge-clamped neighbours in the order -r..r starting from 0, times float32(1 / (2r + 1)); an
    axis with r = 0 or extent 1 is skipped."""
    a = img.astype(np.float32)
    for ax in reversed(range(a.ndim)):
        r = radius[ax]
        if r == 0 or a.shape[ax] < 2:
            continue
        n = a.shape[ax]
        acc = np.zeros_like(a)
        for k in range(-r, r + 1):
            idx = np.clip(np.arange(n) + k, 0, n - 1)
            acc = acc + np.take(a, idx, axis=ax)
        a = acc * np.float32(1.0 / (2.0 * r + 1.0))
    return a


def strict_maxima(a):
    """1 where a is greater than every neighbour (3x3(x3), not itself) inside the image."""
    fp = np.ones((3,) * a.ndim, bool)
    fp[(1,) * a.ndim] = False
    nb = ndimage.maximum_filter(a, footprint=fp, mode="constant", cval=-np.inf)
    return a > nb


def dilate_labels(lab, radius):
    """clesperanto's dilate_labels in NumPy: steps alternating the box (first) and the diamond;
    a 0 voxel takes the largest neighbour (beyond the edge: nothing); stop when a step changes
    nothing or after radius steps."""
    a = lab.astype(np.int64)
    for it in range(radius):
        fp = ndimage.generate_binary_structure(a.ndim, a.ndim if it % 2 == 0 else 1)
        grown = ndimage.maximum_filter(a, footprint=fp, mode="constant", cval=0)
        b = np.where(a == 0, grown, a)
        if np.array_equal(a, b):
            break
        a = b
    return a


def touching(lab, axes):
    """Labels with a voxel on either face of one of axes (of extent > 1)."""
    out = set()
    for ax in axes:
        if lab.shape[ax] > 1:
            for i in (0, -1):
                out |= set(np.unique(np.take(lab, i, axis=ax)).tolist())
    out.discard(0)
    return out


def remove(lab, labels):
    lab = lab.copy()
    if labels:
        lab[np.isin(lab, np.array(sorted(labels)))] = 0
    return lab


def size_range(lab, lo, hi):
    counts = np.bincount(lab.ravel())
    bad = [l for l in range(1, len(counts)) if counts[l] and not lo <= counts[l] <= hi]
    return remove(lab, set(bad))


def same(name, t, got, want, dtype=np.uint32):
    if got.dtype != dtype:
        fail("%s has dtype %s, not %s" % (name, got.dtype, np.dtype(dtype)))
    if got.shape != want.shape:
        fail("%s t=%d: shape %s, reference %s" % (name, t, got.shape, want.shape))
    if not np.array_equal(got.astype(np.int64), want.astype(np.int64)):
        d = tuple(np.argwhere(got.astype(np.int64) != want.astype(np.int64))[0])
        fail("%s t=%d: %d voxels differ from the reference (first at %s: %d vs %d)"
             % (name, t, (got.astype(np.int64) != want).sum(), d, got[d], want[d]))


def nontrivial(name, before, after):
    """A remap that removes nothing or everything proves little."""
    nb, na = len(np.unique(before)) - 1, len(np.unique(after)) - 1
    if not 0 < na < nb:
        fail("%s: %d of %d labels kept: choose data that decides" % (name, na, nb))


def check_seeds(fin, fout, dset):
    from skimage.segmentation import clear_border

    blur, cc, raw = fout["/blur"][...], fout["/cc"][...], fin[dset][...]
    nt = blur.shape[0]
    nmax = plateaus = 0
    for t in range(nt):
        b, c, r = blur[t], cc[t].astype(np.int64), raw[t].astype(np.float32)
        radius = [1, 2, 1][-b.ndim:]
        fp = np.ones((3,) * r.ndim, bool)
        fp[(1,) * r.ndim] = False
        plateaus += int((r >= ndimage.maximum_filter(r, footprint=fp, mode="constant",
                                                     cval=-np.inf)).sum() - strict_maxima(r).sum())
        for name, want in (("/maxima0", strict_maxima(b)), ("/maxima_raw", strict_maxima(r)),
                           ("/maxima", strict_maxima(box_mean_f32(b, radius)))):
            got = fout[name][t]
            same(name, t, got, want.astype(np.uint8), np.uint8)
            if not 0 < got.sum() < got.size:
                fail("%s t=%d: %d maxima prove nothing" % (name, t, got.sum()))
            nmax += int(got.sum())
        edges = raster_order(clear_border(c))
        if touching(c, range(c.ndim)) != set(np.unique(c[(c != 0) & (clear_border(c) == 0)])):
            fail("t=%d: the NumPy border rule differs from clear_border" % t)
        same("/edges", t, fout["/edges"][t], edges)
        yx = raster_order(remove(c, touching(c, range(c.ndim)[-2:])))
        same("/edges_yx", t, fout["/edges_yx"][t], yx)
        sized = raster_order(size_range(c, 20, 400))
        same("/sized", t, fout["/sized"][t], sized)
        same("/dil1", t, fout["/dil1"][t], dilate_labels(c, 1))
        dil4 = dilate_labels(c, 4)
        same("/result", t, fout["/result"][t], dil4)
        if np.array_equal(dil4, c):
            fail("t=%d: dilate_labels changed nothing" % t)
        nontrivial("/edges t=%d" % t, c, edges)
        nontrivial("/sized t=%d" % t, c, sized)
        if c.ndim == 3:
            nontrivial("/edges_yx t=%d" % t, c, yx)
    if plateaus == 0:
        fail("no plateau maxima in the input: the plateau rule is not tested")
    print("labels_ref: seeds: %d timepoints: %d maxima as scipy's strict rule (%d plateau voxels "
          "of the input are none), remaps as clear_border / bincount, dilate_labels as the NumPy "
          "emulation" % (nt, nmax, plateaus))


def check_remap(fin, fout, dset):
    from skimage.segmentation import clear_border, relabel_sequential

    lab_all = fin[dset][...]
    nt = lab_all.shape[0]
    total = 0
    for t in range(nt):
        lab = lab_all[t].astype(np.uint32).astype(np.int64)  # truncation, as lapse
        sk, _, _ = relabel_sequential(lab)
        got = fout["/seq"][t]
        if got.dtype != np.uint32:
            fail("/seq has dtype %s" % got.dtype)
        # the same partition: a one-to-one map between skimage's numbers and ours
        pairs = np.unique(np.stack([sk.ravel(), got.ravel().astype(np.int64)]), axis=1)
        if pairs.shape[1] != len(np.unique(sk)) or pairs.shape[1] != len(np.unique(got)):
            fail("/seq t=%d: not the partition of skimage's relabel_sequential" % t)
        if got.max() != len(np.unique(lab)) - 1:
            fail("/seq t=%d: labels up to %d for %d labels" % (t, got.max(), len(np.unique(lab)) - 1))
        same("/seq", t, got, raster_order(sk))
        same("/sized", t, fout["/sized"][t], raster_order(size_range(lab, 30, 10**15)))
        edges = clear_border(lab)
        same("/edges", t, fout["/edges"][t], raster_order(edges))
        dil = dilate_labels(raster_order(edges), 3)
        same("/edges_dil3", t, fout["/edges_dil3"][t], dil)
        res = raster_order(size_range(dil, 50, 3000))
        same("/result", t, fout["/result"][t], res)
        nontrivial("/edges t=%d" % t, lab, edges)
        nontrivial("/result t=%d" % t, dil, res)
        total += len(np.unique(lab)) - 1
    print("labels_ref: remap: %d timepoints, %d labels: relabel_sequential, clear_border, sizes "
          "and dilate_labels as skimage / NumPy, numbered by first voxel" % (nt, total))


def make(path):
    rng = np.random.default_rng(5)
    with h5py.File(path, "a") as f:
        raw = f["/raw"][...]
        f["/raw2d"] = raw[:, 5]
        for name, src in (("/lab", raw), ("/lab2d", raw[:, 5])):
            out = np.zeros(src.shape, np.float32)
            for t in range(src.shape[0]):
                m = src[t] > np.percentile(src[t], 80)
                lab, n = ndimage.label(m)
                vals = rng.choice(np.arange(1, 60001), size=n, replace=False).astype(np.float32)
                v = np.concatenate([[0], vals])[lab]
                frac = (rng.random(v.shape) < 0.01) & (v > 0)
                v[frac] += np.float32(0.25)
                out[t] = v
            f[name] = out


def main():
    if len(sys.argv) == 4 and sys.argv[2] == "-" and sys.argv[3] == "make":
        make(sys.argv[1])
        return
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(2)
    with h5py.File(sys.argv[1], "r") as fin, h5py.File(sys.argv[2], "r") as fout:
        {"seeds": check_seeds, "remap": check_remap}[sys.argv[3]](fin, fout, sys.argv[4])


if __name__ == "__main__":
    main()
