#!/usr/bin/python3
"""voronoi_ref.py - check masked_voronoi_labeling against a NumPy / SciPy emulation of
clesperanto's masked_voronoi_labeling, and a voronoi-Otsu workflow against clesperanto's own
result on real data.

Usage:
  voronoi_ref.py emulate OUT.h5     /seeds, /mask and /labels of OUT.h5: /labels must equal the
                                    growth of /seeds inside /mask (box and diamond alternating,
                                    from box, until nothing changes; ties to the larger label)
                                    bit for bit, per timepoint.
  voronoi_ref.py clesperanto OUT.h5 REF.tif
                                    /labels vs clesperanto's voronoi_otsu_labeling result: the
                                    label count of every frame equal, the foreground
                                    identical, the mean IoU of the labels matched by overlap
                                    >= 0.99.
Exit 0 when all hold, 1 otherwise.
"""
import sys

import h5py
import numpy as np
from scipy import ndimage


def grow(seeds, mask):
    a = seeds.astype(np.float64) + np.where(mask != 0, 0.0, -1.0)
    box = ndimage.generate_binary_structure(a.ndim, a.ndim)
    dia = ndimage.generate_binary_structure(a.ndim, 1)
    it = 0
    while True:
        fp = box if it % 2 == 0 else dia
        m = ndimage.maximum_filter(a, footprint=fp, mode="constant", cval=-np.inf)
        b = np.where(a == 0, np.maximum(m, a), a)
        it += 1
        if np.array_equal(a, b):
            break
        a = b
    return np.where(mask != 0, a, 0.0), it


def emulate(path):
    with h5py.File(path, "r") as f:
        seeds, mask, labels = f["/seeds"][...], f["/mask"][...], f["/labels"][...]
    its = []
    for t in range(labels.shape[0]):
        want, it = grow(seeds[t], mask[t])
        its.append(it)
        if not np.array_equal(labels[t].astype(np.float64), want):
            bad = np.argwhere(labels[t] != want)[0]
            print("voronoi_ref: FAIL: t=%d: %d voxels differ (first at %s: %d vs %g)"
                  % (t, (labels[t] != want).sum(), tuple(bad), labels[t][tuple(bad)], want[tuple(bad)]))
            return 1
    if labels.max() == 0:
        print("voronoi_ref: FAIL: no labels")
        return 1
    print("voronoi_ref: %d timepoints equal the emulation (%s iterations)" % (labels.shape[0], its))
    return 0


def clesperanto(path, ref_path):
    import tifffile

    ref = tifffile.imread(ref_path)
    with h5py.File(path, "r") as f:
        got = f["/labels"][...]
    bad, fg, ious = [], 0, []
    for t in range(ref.shape[0]):
        r, g = ref[t], got[t]
        nr, ng = len(np.unique(r)) - 1, len(np.unique(g)) - 1
        if nr != ng:
            bad.append((t, nr, ng))
        fg += int(((r > 0) != (g > 0)).sum())
        for lab in np.unique(r)[1:]:
            m = r == lab
            over = g[m]
            best = np.bincount(over[over > 0]).argmax() if (over > 0).any() else 0
            ious.append(0.0 if best == 0 else (m & (g == best)).sum() / (m | (g == best)).sum())
    print("voronoi_ref: vs clesperanto: %d frames, count differs in %d %s, mean IoU %.4f (min "
          "%.3f), foreground voxels differing %d of %d" % (ref.shape[0], len(bad), bad[:5],
                                                          np.mean(ious), np.min(ious), fg, ref.size))
    return 0 if not bad and np.mean(ious) >= 0.99 and fg == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "emulate":
        sys.exit(emulate(sys.argv[2]))
    if len(sys.argv) == 4 and sys.argv[1] == "clesperanto":
        sys.exit(clesperanto(sys.argv[2], sys.argv[3]))
    print(__doc__)
    sys.exit(2)
