#!/usr/bin/python3
"""compare_ref.py - reference numbers for `lapse compare` (tools/lapse_compare.py), computed
another way with NumPy/SciPy, and synthetic inputs with known differences.

Usage:
  compare_ref.py make DIR                      synthetic inputs (see make())
  compare_ref.py voxels A B JSON [same]        A, B: FILE.h5:/dset or FILE.tif; same: A and B
                                               are meant to be equal (else they must differ)
  compare_ref.py labels A B JSON [IOU]
  compare_ref.py table A B JSON COLUMN         A, B: FILE.h5:/table or FILE.csv
  compare_ref.py known DIR JSON_DIR            the differences make() built in (exact numbers)

The JSON is `lapse compare --json` output; exit 1 with the differences when it disagrees.
Reference ways: whole arrays and np.mean / np.std(ddof=1) / np.corrcoef (lapse_compare streams
per timepoint and merges centred sums) over the pairs with both values finite (the others are
counted: nonfinite); labels by one mask per label and an optimal assignment (scipy
linear_sum_assignment; equals the tool's greedy matching when IoU >= 0.5 leaves no ties).
Exactness (voxels): a pair is equal when a == b or both are NaN; max_abs is the largest
|b - a| with equal pairs as 0 (NaN propagating: one side NaN), unequal the pairs not equal.
"""
import json
import math
import os
import sys

import h5py
import numpy as np
import tifffile
from scipy.optimize import linear_sum_assignment
from scipy.stats import linregress
from scipy.stats import t as student

BAD = []


def check(what, got, want, rtol=1e-9):
    """Record a disagreement of got (JSON number or None) with want (NaN, inf allowed: JSON
    null)."""
    if want is None or (isinstance(want, float) and not math.isfinite(want)):
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


PERCENT = False  # `percent` on the command line: lapse compare --percent


def ba(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    bad = ~np.isfinite(x) | ~np.isfinite(y)
    if PERCENT:  # no percentage of a mean of 0
        bad |= (x + y) == 0
    x, y = x[~bad], y[~bad]
    d = (y - x) / ((x + y) / 2) * 100 if PERCENT else y - x
    n = len(d)
    sd = float(np.std(d, ddof=1)) if n > 1 else float("nan")
    r = float("nan")
    if n > 1 and np.std(x) > 0 and np.std(y) > 0:
        r = float(np.corrcoef(x, y)[0, 1])
    bias = float(np.mean(d)) if n else float("nan")
    out = {"n": n, "nonfinite": int(bad.sum()), "bias": bias, "sd": sd,
           "loa_low": bias - 1.96 * sd, "loa_high": bias + 1.96 * sd, "r": r}
    nan2 = (float("nan"), float("nan"))
    # Bland & Altman 1986 section 5: SE of the bias sqrt(s^2 / n), of a limit sqrt(3 s^2 / n)
    # (approximately), t of n - 1 degrees of freedom; as scipy's t.interval
    ci = lambda c, se: tuple(float(v) for v in student.interval(0.95, n - 1, loc=c, scale=se)) \
        if n > 1 and se > 0 else ((c, c) if n > 1 else nan2)
    out["bias_ci"] = ci(bias, sd / math.sqrt(n) if n else 0.0)
    out["loa_low_ci"] = ci(out["loa_low"], math.sqrt(3.0 * sd * sd / n) if n else 0.0)
    out["loa_high_ci"] = ci(out["loa_high"], math.sqrt(3.0 * sd * sd / n) if n else 0.0)
    # proportional bias: scipy's least-squares line of d on the pair means, its slope's
    # standard error, t of n - 2 degrees of freedom
    mm = (x + y) / 2
    out["slope"], out["slope_ci"] = float("nan"), nan2
    if n >= 2 and np.ptp(mm) > 0:
        fit = linregress(mm, d)
        out["slope"] = float(fit.slope)
        if n >= 3:
            q = student.ppf(0.975, n - 2)
            out["slope_ci"] = (fit.slope - q * fit.stderr, fit.slope + q * fit.stderr)
    return out


def check_ba(where, got, want):
    for k in ("n", "nonfinite"):
        if got.get(k) != want[k]:
            BAD.append("%s: %s %s, reference %s" % (where, k, got.get(k), want[k]))
    for k in ("bias", "sd", "loa_low", "loa_high", "r"):
        check("%s %s" % (where, k), got[k], want[k])
    check("%s slope" % where, got["slope"], want["slope"], 1e-7)
    for k in ("bias_ci", "loa_low_ci", "loa_high_ci", "slope_ci"):
        for i in (0, 1):
            check("%s %s[%d]" % (where, k, i), got[k][i], want[k][i],
                  1e-7 if k == "slope_ci" else 1e-9)


def check_exact(where, got, x, y):
    """max_abs and unequal of lapse compare against a direct NumPy count."""
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    ne = int((~same).sum())
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf where equal: set to 0
        dist = np.where(same, 0.0, np.abs(y - x))
    mx = float(np.max(dist)) if dist.size else 0.0  # np.max propagates NaN
    if got["unequal"] != ne:
        BAD.append("%s: unequal %s, reference %s" % (where, got["unequal"], ne))
    check("%s max_abs" % where, got["max_abs"], mx)


def ref_voxels(a, b, res, same=False):
    nt = len(res["timepoints"])
    fa, fb = frames(a, nt), frames(b, nt)
    for t in range(nt):
        check_ba("t=%d" % t, res["timepoints"][t], ba(fa[t], fb[t]))
        check_exact("t=%d" % t, res["timepoints"][t], fa[t], fb[t])
    check_ba("overall", res["overall"], ba(fa.ravel(), fb.ravel()))
    check_exact("overall", res["overall"], fa, fb)
    if (res["overall"]["unequal"] == 0) != same:
        BAD.append("overall: %d unequal voxels (the test images are %s by construction)"
                   % (res["overall"]["unequal"], "equal" if same else "different"))


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
    F1 = 8/12), tables and their CSV copies; non-finite values: see make_nonfinite()."""
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
    na, nb = ta.copy(), tb.copy()  # NaN / inf means (an empty label's): left out, counted
    na["mean"][[0, 7]] = np.nan  # t=0 label 1, t=1 label 4
    nb["mean"][[1, 9]] = [np.inf, np.nan]  # t=0 label 2, t=2 label 3 (tb lacks t=1 label 2)
    with h5py.File(os.path.join(d, "tab.h5"), "a") as f:
        f["na"], f["nb"] = na, nb
    make_nonfinite(d, rng)


# Non-finite voxels of nf.h5 (make_nonfinite), as (t, z, y, x): in both /a and /b (also /same)
NF_SHARED = {(0, 0, 0, 0): np.inf, (0, 2, 5, 5): np.nan, (1, 1, 2, 3): -np.inf,
             (2, 3, 4, 5): np.nan}
NF_B_ONLY = {(1, 0, 0, 1): np.inf, (1, 2, 3, 4): -np.inf, (2, 0, 1, 1): np.nan}
NF_A_ONLY = {(2, 1, 1, 1): np.nan}


def make_nonfinite(d, rng):
    """nf.h5: /a [3, 4, 10, 12] with the NF_SHARED and NF_A_ONLY values, /same its bit-identical
    copy (a tiled run against an untiled one of a division by zero), /b = A + 3 at t=0, 1.01 A
    + 2 + noise after, with NF_SHARED where A has it and NF_B_ONLY. So t=0: bias 3, SD 0, r 1,
    max_abs 3, 2 nonfinite pairs; t=1: one-sided infinities only (max_abs inf); t=2: one-sided
    NaN (max_abs NaN)."""
    a = np.round(rng.normal(500, 40, (3, 4, 10, 12))).astype(np.float32)
    b = (1.01 * a + 2 + rng.normal(0, 2, a.shape)).astype(np.float32)
    b[0] = a[0] + 3
    for k, v in NF_SHARED.items():
        a[k] = b[k] = v
    for k, v in NF_B_ONLY.items():
        b[k] = v
    for k, v in NF_A_ONLY.items():
        a[k] = v
    with h5py.File(os.path.join(d, "nf.h5"), "w") as f:
        f["a"], f["same"], f["b"] = a, a.copy(), b


def known(jd):
    """Numbers make() built in, independent of any implementation."""
    r = json.load(open(os.path.join(jd, "img.json")))
    g = r["timepoints"][0]
    check("img t=0 bias (B = A + 7)", g["bias"], 7.0, 1e-12)
    check("img t=0 sd", g["sd"], 0.0, 1e-12)
    check("img t=0 r", g["r"], 1.0, 1e-9)
    check("img t=0 slope (a constant difference)", g["slope"], 0.0, 1e-9)
    check("img t=0 slope_ci[1]", g["slope_ci"][1], 0.0, 1e-9)
    r = json.load(open(os.path.join(jd, "lab.json")))
    for g in r["timepoints"]:
        for k, v in (("labels_a", 6), ("labels_b", 6), ("matched", 4)):
            if g[k] != v:
                BAD.append("lab t=%d %s: %s, built %d" % (g["timepoint"], k, g[k], v))
        check("lab f1", g["f1"], 8 / 12)
    r = json.load(open(os.path.join(jd, "sum.json")))
    check("summary count bias", r["overall"]["bias"], (1 + 0 - 2) / 3)
    # differences 1, 0, -2: SD sqrt(42 / 18); t(0.975, 2 degrees of freedom) = 4.302652729911275
    # (tables of Student's t: 4.303); the bias's interval is bias -/+ t SD / sqrt(3), the upper
    # limit's bias + 1.96 SD -/+ t SD
    sd3, t2 = math.sqrt(42 / 18), 4.302652729911275
    check("summary bias_ci[0]", r["overall"]["bias_ci"][0], -1 / 3 - t2 * sd3 / math.sqrt(3))
    check("summary bias_ci[1]", r["overall"]["bias_ci"][1], -1 / 3 + t2 * sd3 / math.sqrt(3))
    check("summary loa_high_ci[1]", r["overall"]["loa_high_ci"][1], -1 / 3 + 1.96 * sd3 + t2 * sd3)
    ci = r["timepoints"][0]["bias_ci"]  # one pair: no interval
    if ci != [None, None]:
        BAD.append("summary t=0 bias_ci: %r, one pair has none ([null, null])" % (ci,))
    check("table mean bias", json.load(open(os.path.join(jd, "tab.json")))["overall"]["bias"],
          2.5, 1e-9)
    r = json.load(open(os.path.join(jd, "tabnan.json")))  # 11 common rows, 4 with NaN / inf
    for k, v in (("n", 7), ("nonfinite", 4)):
        if r["overall"].get(k) != v:
            BAD.append("tabnan overall %s: %s, built %d" % (k, r["overall"].get(k), v))
    check("tabnan mean bias", r["overall"]["bias"], 2.5, 1e-9)
    # identical images with +-inf and NaN at the same voxels: exact, statistics of the rest
    r = json.load(open(os.path.join(jd, "nfsame.json")))
    for g in r["timepoints"] + [r["overall"]]:
        t = g.get("timepoint")  # None: overall
        nnf = sum(1 for p in list(NF_SHARED) + list(NF_A_ONLY) if t is None or p[0] == t)
        where = "nfsame t=%s" % ("all" if t is None else t)
        nvox = 480 if t is not None else 3 * 480
        for k, v in (("nonfinite", nnf), ("n", nvox - nnf), ("unequal", 0)):
            if g.get(k) != v:
                BAD.append("%s %s: %s, built %d" % (where, k, g.get(k), v))
        for k, v in (("max_abs", 0.0), ("bias", 0.0), ("sd", 0.0), ("r", 1.0)):
            check("%s %s" % (where, k), g[k], v, 1e-12)
    # one side non-finite, the other finite: counted with the shared ones, left out
    r = json.load(open(os.path.join(jd, "nf.json")))
    g, o = r["timepoints"], r["overall"]
    nnf = len(NF_SHARED) + len(NF_B_ONLY) + len(NF_A_ONLY)
    for what, got, v in (("t=0 nonfinite", g[0].get("nonfinite"), 2), ("t=0 n", g[0]["n"], 478),
                         ("t=0 unequal", g[0]["unequal"], 478),
                         ("t=1 nonfinite", g[1].get("nonfinite"), 3),
                         ("t=2 nonfinite", g[2].get("nonfinite"), 3),
                         ("overall nonfinite", o.get("nonfinite"), nnf),
                         ("overall n", o["n"], 3 * 480 - nnf)):
        if got != v:
            BAD.append("nf %s: %s, built %d" % (what, got, v))
    for k, v in (("bias", 3.0), ("sd", 0.0), ("r", 1.0), ("max_abs", 3.0)):
        check("nf t=0 %s" % k, g[0][k], v, 1e-12)
    for k in ("bias", "sd", "r"):  # finite: the non-finite pairs are out of the statistics
        if g[1][k] is None or g[2][k] is None or o[k] is None:
            BAD.append("nf %s: null (not finite) with the non-finite pairs left out" % k)


def main(a):
    global PERCENT
    if "percent" in a:
        PERCENT = True
        a = [v for v in a if v != "percent"]
    if a[0] == "make":
        make(a[1])
        return 0
    if a[0] == "known":
        known(a[2])
    else:
        res = json.load(open(a[3]))
        x, y = load(a[1]), load(a[2])
        if a[0] == "voxels":
            ref_voxels(x, y, res, len(a) > 4 and a[4] == "same")
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
