#!/usr/bin/python3
"""compare_ref.py - reference numbers for `lapse compare` (tools/lapse_compare.py), computed
another way with NumPy/SciPy, and synthetic inputs with known differences.

Usage:
  compare_ref.py make DIR                      synthetic inputs (see make())
  compare_ref.py voxels A B JSON               A, B: FILE.h5:/dset or FILE.tif
  compare_ref.py labels A B JSON [IOU]
  compare_ref.py table A B JSON COLUMN         A, B: FILE.h5:/table or FILE.csv
  compare_ref.py known DIR JSON_DIR            the differences make() built in (exact numbers)

The JSON is `lapse compare --json` output; exit 1 with the differences when it disagrees.
Reference ways: whole arrays and np.mean / np.std(ddof=1) / np.corrcoef (lapse_compare streams
per timepoint and merges centred sums); labels by one mask per label and an optimal assignment
(scipy linear_sum_assignment; equals the tool's greedy matching when IoU >= 0.5 leaves no ties).
"""
import json
import math
import os
import sys

import h5py
import numpy as np
import tifffile
from scipy.optimize import linear_sum_assignment

BAD = []


def check(what, got, want, rtol=1e-9):
    """Record a disagreement of got (JSON number or None) with want (NaN allowed)."""
    if want is None or (isinstance(want, float) and math.isnan(want)):
        ok = got is None
    else:
        ok = got is not None and abs(got - want) <= rtol * max(1.0, abs(want))
    if not ok:
        BAD.append("%s: tool %r, reference %r" % (what, got, want))


def load(spec):
    if spec.lower().endswith(".tif"):
        return tifffile.imread(spec)
    if spec.lower().endswith(".csv"):
        t = np.atleast_1d(np.genfromtxt(spec, delimiter=",", names=True))
        t.dtype.names = tuple("timepoint" if n == "frame" else n for n in t.dtype.names)
        return t
    path, dset = spec.rsplit(":", 1)
    with h5py.File(path, "r") as f:
        return f[dset][()]


def frames(a, nt):
    return a.reshape(nt, -1)


def ba(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    d = y - x
    n = len(d)
    sd = float(np.std(d, ddof=1)) if n > 1 else float("nan")
    r = float("nan")
    if n > 1 and np.std(x) > 0 and np.std(y) > 0:
        r = float(np.corrcoef(x, y)[0, 1])
    bias = float(np.mean(d)) if n else float("nan")
    return {"n": n, "bias": bias, "sd": sd, "loa_low": bias - 1.96 * sd,
            "loa_high": bias + 1.96 * sd, "r": r}


def check_ba(where, got, want):
    if got["n"] != want["n"]:
        BAD.append("%s: n %s, reference %s" % (where, got["n"], want["n"]))
    for k in ("bias", "sd", "loa_low", "loa_high", "r"):
        check("%s %s" % (where, k), got[k], want[k])


def check_exact(where, got, x, y):
    """max_abs and unequal of lapse compare against a direct NumPy count."""
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    both = np.isnan(x) & np.isnan(y)
    ne = int(((x != y) & ~both).sum())
    mx = float(np.max(np.abs(y - x)[~both])) if (~both).any() else 0.0
    if got["unequal"] != ne:
        BAD.append("%s: unequal %s, reference %s" % (where, got["unequal"], ne))
    check("%s max_abs" % where, got["max_abs"], mx)


def ref_voxels(a, b, res):
    nt = len(res["timepoints"])
    fa, fb = frames(a, nt), frames(b, nt)
    for t in range(nt):
        check_ba("t=%d" % t, res["timepoints"][t], ba(fa[t], fb[t]))
        check_exact("t=%d" % t, res["timepoints"][t], fa[t], fb[t])
    check_ba("overall", res["overall"], ba(fa.ravel(), fb.ravel()))
    check_exact("overall", res["overall"], fa, fb)
    if res["overall"]["unequal"] == 0:
        BAD.append("overall: no unequal voxels (the test images differ by construction)")


def match(a, b, thr):
    """Matched (la, lb, iou, area_a, area_b) by one mask per label and an optimal assignment."""
    la = [v for v in np.unique(a) if v]
    lb = [v for v in np.unique(b) if v]
    iou = np.zeros((len(la), len(lb)))
    ib = {v: i for i, v in enumerate(lb)}
    area_b = {v: int((b == v).sum()) for v in lb}
    for i, v in enumerate(la):
        m = a == v
        ov, cnt = np.unique(b[m], return_counts=True)
        for w, c in zip(ov, cnt):
            if w:
                iou[i, ib[w]] = c / (m.sum() + area_b[w] - c)
    rows, cols = linear_sum_assignment(-np.where(iou >= thr, iou, 0))
    pairs = [(la[i], lb[j], iou[i, j], int((a == la[i]).sum()), area_b[lb[j]])
             for i, j in zip(rows, cols) if iou[i, j] >= thr]
    return len(la), len(lb), pairs


def ref_labels(a, b, res, thr):
    nt = len(res["timepoints"])
    fa, fb = frames(a, nt), frames(b, nt)
    tp = na = nb = 0
    areas, counts, ious = [], ([], []), []
    for t in range(nt):
        n_a, n_b, pairs = match(fa[t], fb[t], thr)
        g = res["timepoints"][t]
        for k, v in (("labels_a", n_a), ("labels_b", n_b), ("matched", len(pairs))):
            if g[k] != v:
                BAD.append("t=%d %s: tool %s, reference %s" % (t, k, g[k], v))
        check("t=%d f1" % t, g["f1"], 2 * len(pairs) / (n_a + n_b) if n_a + n_b else None)
        check("t=%d precision" % t, g["precision"], len(pairs) / n_b if n_b else None)
        check("t=%d recall" % t, g["recall"], len(pairs) / n_a if n_a else None)
        check("t=%d mean_iou" % t, g["mean_iou"],
              float(np.mean([p[2] for p in pairs])) if pairs else None)
        check_ba("t=%d area" % t, g["area"], ba([p[3] for p in pairs], [p[4] for p in pairs]))
        tp, na, nb = tp + len(pairs), na + n_a, nb + n_b
        areas += [(p[3], p[4]) for p in pairs]
        ious += [p[2] for p in pairs]
        counts[0].append(n_a)
        counts[1].append(n_b)
    o = res["overall"]
    check("overall f1", o["f1"], 2 * tp / (na + nb))
    check("overall mean_iou", o["mean_iou"], float(np.mean(ious)) if ious else None)
    ar = np.array(areas, dtype=np.float64).reshape(-1, 2)
    check_ba("overall area", o["area"], ba(ar[:, 0], ar[:, 1]))
    check_ba("overall count", o["count"], ba(counts[0], counts[1]))


def ref_table(ta, tb, res, column):
    ca, _, cb = column.partition(",")
    cb = cb or ca
    keys = ["timepoint", "label"] if "label" in ta.dtype.names and "label" in tb.dtype.names \
        else ["timepoint"]
    ka = np.stack([ta[k].astype(np.int64) for k in keys], axis=1)
    kb = np.stack([tb[k].astype(np.int64) for k in keys], axis=1)
    code = lambda k: k[:, 0] * 10 ** 9 + (k[:, 1] if k.shape[1] > 1 else 0)  # noqa: E731
    common, ia, ib = np.intersect1d(code(ka), code(kb), return_indices=True)
    x, y, t = ta[ca][ia], tb[cb][ib], ka[ia, 0]
    check_ba("overall", res["overall"], ba(x, y))
    for g in res["timepoints"]:
        s = t == g["timepoint"]
        check_ba("t=%d" % g["timepoint"], g, ba(x[s], y[s]))
    if res["overall"]["only_a"] != len(ka) - len(common):
        BAD.append("only_a: %s, reference %d" % (res["overall"]["only_a"], len(ka) - len(common)))


# ---------------------------------------------------------------- synthetic inputs

def disks(shape, centres, r):
    """A label image [y, x] with disks of radius r labelled 1.. in the order of centres."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    out = np.zeros(shape, np.uint16)
    for i, (cy, cx) in enumerate(centres):
        out[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = i + 1
    return out


def make(d):
    """Images img_a/img_b [4, 6, 20, 24] (B = A + 7 at t=0; B = 1.02 A + 5 + noise after),
    label images lab_a/lab_b [3, 1, 64, 96] (per timepoint: 6 disks in A; in B 4 shifted by 1
    px (IoU > 0.8), one moved far (a miss and a false label), one missing, one extra: 4 matches,
    F1 = 8/12), tables and their CSV copies."""
    rng = np.random.default_rng(5)
    a = np.round(rng.normal(1000, 50, (4, 6, 20, 24))).astype(np.float32)  # + 7 stays exact
    b = (1.02 * a + 5 + rng.normal(0, 3, a.shape)).astype(np.float32)
    b[0] = a[0] + 7
    with h5py.File(os.path.join(d, "img.h5"), "w") as f:
        f["a"], f["b"], f["short"] = a, b, a[:3]
    tifffile.imwrite(os.path.join(d, "img_b.tif"), b, imagej=True, metadata={"axes": "TZYX"})
    cen = [(12, 12), (12, 40), (12, 70), (40, 12), (40, 40), (40, 70)]
    la, lb = [], []
    for t in range(3):
        la.append(disks((64, 96), [(y + t, x) for y, x in cen], 7))
        moved = [(y + t + 1, x + (1 if i % 2 else -1)) for i, (y, x) in enumerate(cen[:4])]
        moved += [(cen[4][0] + t + 12, cen[4][1] + 12), (56, 88)]  # far from A's 5th; extra
        lb.append(disks((64, 96), moved, 7) * 3)  # other ids: matching is by overlap
    la, lb = np.array(la)[:, None], np.array(lb)[:, None]
    with h5py.File(os.path.join(d, "lab.h5"), "w") as f:
        f["a"], f["b"] = la, lb.astype(np.uint32)
    tifffile.imwrite(os.path.join(d, "lab_b.tif"), lb[:, 0], photometric="minisblack")  # [t,y,x]
    dt = np.dtype([("timepoint", "<i8"), ("label", "<i8"), ("area", "<i8"), ("mean", "<f8")])
    ta = np.zeros(12, dt)
    ta["timepoint"], ta["label"] = np.repeat([0, 1, 2], 4), np.tile([1, 2, 3, 4], 3)
    ta["area"] = rng.integers(50, 500, 12)
    ta["mean"] = rng.normal(100, 10, 12)
    tb = ta.copy()
    tb["area"] += rng.integers(-20, 21, 12)
    tb["mean"] += 2.5
    tb = np.delete(tb, 5)  # t=1 label 2 only in A
    sd = np.dtype([("timepoint", "<i8"), ("label_count", "<i8")])
    sa = np.array([(0, 40), (1, 42), (2, 45)], sd)
    sb = np.array([(0, 41), (1, 42), (2, 43)], sd)
    with h5py.File(os.path.join(d, "tab.h5"), "w") as f:
        f["a"], f["b"], f["sa"], f["sb"] = ta, tb, sa, sb
    with open(os.path.join(d, "tab_b.csv"), "w") as f:
        f.write("frame,label,area,mean\n")
        for r in tb:
            f.write("%d,%d,%d,%.17g\n" % (r["timepoint"], r["label"], r["area"], r["mean"]))


def known(jd):
    """Numbers make() built in, independent of any implementation."""
    r = json.load(open(os.path.join(jd, "img.json")))
    g = r["timepoints"][0]
    check("img t=0 bias (B = A + 7)", g["bias"], 7.0, 1e-12)
    check("img t=0 sd", g["sd"], 0.0, 1e-12)
    check("img t=0 r", g["r"], 1.0, 1e-9)
    r = json.load(open(os.path.join(jd, "lab.json")))
    for g in r["timepoints"]:
        for k, v in (("labels_a", 6), ("labels_b", 6), ("matched", 4)):
            if g[k] != v:
                BAD.append("lab t=%d %s: %s, built %d" % (g["timepoint"], k, g[k], v))
        check("lab f1", g["f1"], 8 / 12)
    r = json.load(open(os.path.join(jd, "sum.json")))
    check("summary count bias", r["overall"]["bias"], (1 + 0 - 2) / 3)
    check("table mean bias", json.load(open(os.path.join(jd, "tab.json")))["overall"]["bias"],
          2.5, 1e-9)


def main(a):
    if a[0] == "make":
        make(a[1])
        return 0
    if a[0] == "known":
        known(a[2])
    else:
        res = json.load(open(a[3]))
        x, y = load(a[1]), load(a[2])
        if a[0] == "voxels":
            ref_voxels(x, y, res)
        elif a[0] == "labels":
            ref_labels(x, y, res, float(a[4]) if len(a) > 4 else 0.5)
        elif a[0] == "table":
            ref_table(x, y, res, a[4])
    for m in BAD:
        print("compare_ref: " + m)
    print("compare_ref %s: %s" % (a[0], "FAIL" if BAD else "agrees"))
    return 1 if BAD else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
