#!/usr/bin/python3
"""lapse_compare.py - `lapse compare A B`: method comparison of two images or two tables after
Bland & Altman (Lancet 1986, i:307-310), per timepoint and overall (docs/tools.md).

A and B are `FILE.h5:/dataset` (a lapse output or any HDF5 file), `FILE.tif` (tifffile) or, for
tables, `FILE.csv` (header row; read_csv: an empty cell is NaN). With d = B - A and m = (A + B) / 2 over the compared pairs:
bias = mean(d), SD = standard deviation of d (n - 1), limits of agreement = bias -/+ 1.96 SD,
with 95 % confidence intervals of the bias and of each limit (t of n - 1 degrees of freedom),
r = Pearson's correlation of A and B. The statistics use the n pairs whose values are both
finite; pairs with NaN or an infinity on either side are left out of them (and of the plots)
and counted as `nonfinite`. Modes:
  voxels  every voxel of A against the same voxel of B (images of the same shape);
  table   measurement tables (columns timepoint, label, ...) matched by (timepoint, label), one
          column compared (--column, default area); summary tables (timepoint, label_count, ...)
          matched by timepoint (default column label_count);
  labels  two label images (0 = background): per timepoint, pairs of labels with IoU >= 0.5
          (--iou) are matched one to one, greedily by decreasing IoU; A is the reference:
          precision = TP / labels of B, recall = TP / labels of A, F1 = 2 TP / (A + B labels),
          mean IoU of the matched pairs; the Bland-Altman numbers are those of the matched pairs'
          areas, and of the label counts per timepoint.
Axes: the first axis of a 3-D or 4-D HDF5 dataset is time (lapse's [t,z,y,x] / [t,y,x]); a TIFF
has time only when it says so (ImageJ frames, OME SizeT), except a plain multi-page TIFF, whose
first axis is taken as time when the other input does not settle it. Axes of length 1 other than
time are dropped before shapes are compared.
--percent: d = 100 (B - A) / ((A + B) / 2), for differences that grow with the values (pairs of
mean 0 are left out and counted as nonfinite).
Writes PREFIX_scatter.png and PREFIX_bland_altman.png (-o PREFIX, default "compare"; --no-plots:
none). Exit codes: 0, 2 (a missing file or dataset, a shape mismatch, a table cell that is not
a number, a timepoint or label that is not whole, bad usage).
"""
import argparse
import json
import math
import os
import sys

import numpy as np

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8")


def fail(msg):
    """Print msg as an input or usage error and exit 2."""
    print("lapse compare: " + msg, file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------- inputs

class Source:
    """One input: an image (frames, time sure or guessed) or a table (structured array)."""

    def __init__(self, spec):
        self.spec = spec
        self.table = None
        self.h5 = None  # the open h5py file of an HDF5 image, read a timepoint at a time
        path, dset = spec, None
        i = spec.rfind(":/")
        if i > 0:
            path, dset = spec[:i], spec[i + 1:]
        if os.path.isdir(path):
            fail("%s: a directory (a Zarr store?): compare reads HDF5, TIFF and CSV files; run the "
                 "pipeline with output.format: hdf5 to compare its result" % path)
        if not os.path.isfile(path):
            fail("%s: no such file" % path)
        low = path.lower()
        if low.endswith(TIFF_SUFFIXES):
            if dset:
                fail("%s: a TIFF file has no datasets (give the file alone)" % spec)
            self._tiff(path)
        elif low.endswith(".csv"):
            self._csv(path)
        else:
            self._h5(path, dset)

    def _tiff(self, path):
        import tifffile
        try:
            with tifffile.TiffFile(path) as t:
                s = t.series[0]
                a, axes = s.asarray(), s.axes
        except Exception as e:  # tifffile raises many kinds on a damaged file
            fail("%s: cannot be read as TIFF (%s)" % (path, e))
        if "C" in axes or "S" in axes:
            fail("%s: has a channel axis (axes %s): compare one channel, e.g. saved alone"
                 % (path, axes))
        if "T" in axes:
            a = np.moveaxis(a, axes.index("T"), 0)
            self.time_sure = True
        elif axes[0] in "QI" and a.ndim >= 3:  # plain multi-page: maybe time, maybe z
            self.time_sure = False
        else:
            a = a[None]
            self.time_sure = True
        self.arr = a
        self.shape = a.shape
        self.dtype = a.dtype

    def _csv(self, path):
        t = read_csv(path)
        for alt in ("t", "frame"):
            if "timepoint" not in t.dtype.names and alt in t.dtype.names:
                t.dtype.names = tuple("timepoint" if n == alt else n for n in t.dtype.names)
        self.table = t

    def _h5(self, path, dset):
        import h5py
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            fail("%s: cannot be opened as HDF5 (%s)" % (path, e))
        if not dset:
            names = []
            f.visititems(lambda n, o: names.append("/" + n) if isinstance(o, h5py.Dataset)
                         and not n.startswith("lapse/") else None)
            fail("%s: name a dataset as %s:/DATASET (it holds %s)" % (
                path, path, ", ".join(names[:12]) or "no datasets"))
        if dset not in f or not isinstance(f[dset], h5py.Dataset):
            fail("%s: no dataset %s" % (path, dset))
        d = f[dset]
        zarr = d.attrs.get("lapse_zarr_array")  # io/layout.h LAPSE_ATTR_ZARR_ARRAY
        if zarr is not None:
            if isinstance(zarr, bytes):
                zarr = zarr.decode("utf-8", "replace")
            fail("%s:%s is the empty placeholder of an OME-Zarr output (output.format: zarr); "
                 "its voxels are in the Zarr array %s, which compare does not read: run the "
                 "pipeline with output.format: hdf5 to compare it" % (path, dset, zarr))
        if d.dtype.names:
            self.table = d[()]
            f.close()
            return
        if d.ndim < 2 or d.ndim > 4:
            fail("%s:%s: %d-D; images are 2-D to 4-D" % (path, dset, d.ndim))
        self.h5, self.arr = f, d
        self.time_sure = d.ndim == 4 or "lapse" in f or d.ndim == 2
        self.shape = d.shape if d.ndim >= 3 else (1,) + d.shape
        self.dtype = d.dtype

    def frame(self, t, nt):
        """Timepoint t of nt as a 1-D array (nt == 1: everything)."""
        if nt == 1:
            a = self.arr[()]
        else:
            a = self.arr[t]
        return np.asarray(a).ravel()


def read_csv(path):
    """The CSV file path as a structured array, one field per column, named as the header
    writes them (regionprops_table's "centroid-0", "mean intensity"; quotes removed, a UTF-8
    byte order mark skipped). A column of numbers is int64 when all are whole and none is empty,
    else float64 with an empty cell as NaN; any other column is text. A column without a name
    (the row numbers Fiji, pandas and R write first) is named "column N". Exits 2 on a file
    that is not such a table."""
    import csv
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            lines = [(i + 1, r) for i, r in enumerate(csv.reader(fh)) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        fail("%s: cannot be read as a CSV table with a header row (%s)" % (path, e))
    if not lines:
        fail("%s: empty: a CSV table needs a header row" % path)
    head = [c.strip() or "column %d" % (j + 1) for j, c in enumerate(lines[0][1])]
    if len(set(head)) < len(head):
        fail("%s: two columns named %s" % (path, [c for c in head if head.count(c) > 1][0]))
    for i, r in lines[1:]:
        if len(r) != len(head):
            fail("%s: line %d has %d fields, the header %d" % (path, i, len(r), len(head)))
    cols = []
    for j, name in enumerate(head):
        cells = [r[j].strip() for _, r in lines[1:]]
        try:
            v = np.array([float(c) if c else np.nan for c in cells], dtype=np.float64)
        except ValueError:
            cols.append((name, np.array(cells, dtype=str)))
            continue
        whole = v.size == 0 or (np.all(np.isfinite(v)) and np.all(v == np.round(v))
                                and np.all(np.abs(v) < 2.0 ** 53))
        cols.append((name, v.astype(np.int64) if whole else v))
    t = np.zeros(len(lines) - 1, dtype=[(n, c.dtype) for n, c in cols])
    for n, c in cols:
        t[n] = c
    return t


def squeezed(shape, keep_first):
    """shape without its axes of length 1 (the first kept when keep_first)."""
    head = list(shape[:1]) if keep_first else []
    rest = shape[1:] if keep_first else shape
    return tuple(head + [n for n in rest if n != 1])


def timepoints(a, b):
    """The number of timepoints of two image sources of matching shape; exits 2 otherwise."""
    msg = "shapes differ: %s is %s, %s is %s" % (a.spec, list(a.shape), b.spec, list(b.shape))
    if squeezed(a.shape, False) != squeezed(b.shape, False):
        fail(msg)
    nts = [s.shape[0] for s in (a, b) if s.time_sure]
    if len(set(nts)) > 1:
        fail(msg + " (different numbers of timepoints)")
    nt = nts[0] if nts else a.shape[0]
    for s in (a, b):
        if s.shape[0] != nt:  # the time axis was taken for z: one timepoint
            if nt != 1:
                fail(msg)
    return nt


# ---------------------------------------------------------------- statistics

def finite_pairs(x, y, percent=False):
    """x, y in float64 without the pairs where either is NaN or infinite (with percent, also
    those whose mean is 0: they have no percentage difference), and how many those were."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if percent:
        ok &= (x + y) != 0
    nbad = int(ok.size - np.count_nonzero(ok))
    return (x, y, 0) if nbad == 0 else (x[ok], y[ok], nbad)


def differences(x, y, percent=False):
    """The differences the statistics use: y - x, or with percent 100 (y - x) / ((x + y) / 2),
    the difference as a percentage of the pair's mean (Bland and Altman 1999, section 3.2:
    for differences that grow with the magnitude)."""
    return 200.0 * (y - x) / (x + y) if percent else y - x


class Agreement:
    """Bland-Altman sums of pairs (x = A, y = B, d = differences(x, y)), combinable (Chan et
    al.). Pairs with a non-finite value on either side (or, with percent, a mean of 0) are
    counted (nonfinite), not summed: n is the number of pairs the statistics use."""

    def __init__(self, x=None, y=None, percent=False):
        self.n = 0
        self.nonfinite = 0
        self.m = np.zeros(4)  # means of x, y, d and of the pair means a = (x + y) / 2
        self.c = np.zeros(6)  # centred sums xx, yy, xy, dd, aa, ad
        if x is not None and len(x):
            x, y, self.nonfinite = finite_pairs(x, y, percent)
        if x is not None and len(x):
            d = differences(x, y, percent)
            a = (x + y) / 2
            self.n = len(x)
            self.m = np.array([x.mean(), y.mean(), d.mean(), a.mean()])
            cx, cy, cd, ca = x - self.m[0], y - self.m[1], d - self.m[2], a - self.m[3]
            self.c = np.array([cx @ cx, cy @ cy, cx @ cy, cd @ cd, ca @ ca, ca @ cd])

    def add(self, o):
        """Merge the pairs of o into self."""
        self.nonfinite += o.nonfinite
        if o.n == 0:
            return self
        n = self.n + o.n
        dl = o.m - self.m
        f = self.n * o.n / n
        self.c = self.c + o.c + f * np.array([dl[0] ** 2, dl[1] ** 2, dl[0] * dl[1], dl[2] ** 2,
                                              dl[3] ** 2, dl[3] * dl[2]])
        self.m = self.m + dl * o.n / n
        self.n = n
        return self

    def stats(self):
        """dict: n (pairs used), nonfinite (pairs left out), mean_a, mean_b, bias, sd, loa_low,
        loa_high, r, their confidence intervals and the proportional bias (NaN where
        undefined)."""
        nan = float("nan")
        sd = math.sqrt(self.c[3] / (self.n - 1)) if self.n > 1 else nan
        den = math.sqrt(self.c[0] * self.c[1])
        r = self.c[2] / den if self.n > 1 and den > 0 else nan
        bias = float(self.m[2]) if self.n else nan
        st = {"n": int(self.n), "nonfinite": int(self.nonfinite),
              "mean_a": float(self.m[0]) if self.n else nan,
              "mean_b": float(self.m[1]) if self.n else nan, "bias": bias, "sd": sd,
              "loa_low": bias - 1.96 * sd, "loa_high": bias + 1.96 * sd, "r": float(r)}
        st.update(confidence(self.n, bias, sd))
        st.update(trend(self.n, self.c[4], self.c[5], self.c[3]))
        return st


def trend(n, saa, sad, sdd):
    """The proportional bias: the least-squares slope of the differences on the pair means (d =
    b0 + slope a; Bland and Altman 1999, section 3.2), with its 95 % confidence interval (standard
    error sqrt(residual variance / saa), Student's t of n - 2 degrees of freedom). A slope whose
    interval excludes 0 says the difference grows (or shrinks) with the magnitude: the limits of
    agreement then misstate it at both ends (--percent, or a transform, may suit better). NaN
    for n < 3 or pair means all equal."""
    nan = float("nan")
    if n < 2 or saa <= 0:
        return {"slope": nan, "slope_ci": [nan, nan]}
    slope = sad / saa
    if n < 3:
        return {"slope": float(slope), "slope_ci": [nan, nan]}
    from scipy.stats import t as student
    resid = max(sdd - slope * sad, 0.0) / (n - 2)
    e = float(student.ppf(0.975, n - 2)) * math.sqrt(resid / saa)
    return {"slope": float(slope), "slope_ci": [slope - e, slope + e]}


def confidence(n, bias, sd):
    """95 % confidence intervals [low, high] of the bias and of each limit of agreement (Bland &
    Altman, Lancet 1986, section 5: standard errors sqrt(SD^2 / n) and sqrt(3 SD^2 / n), with
    Student's t of n - 1 degrees of freedom); NaN for n < 2. They say how far the n pairs pin
    the numbers down: a bias whose interval holds 0 is no evidence of a systematic difference."""
    nan = float("nan")
    if n < 2:
        return {"bias_ci": [nan, nan], "loa_low_ci": [nan, nan], "loa_high_ci": [nan, nan]}
    from scipy.stats import t as student
    q = float(student.ppf(0.975, n - 1))
    eb, el = q * sd / math.sqrt(n), q * sd * math.sqrt(3.0 / n)
    lo, hi = bias - 1.96 * sd, bias + 1.96 * sd
    return {"bias_ci": [bias - eb, bias + eb], "loa_low_ci": [lo - el, lo + el],
            "loa_high_ci": [hi - el, hi + el]}


def match_labels(a, b, thr):
    """Greedy one-to-one matching of the labels of a and b (1-D int arrays, 0 = background) by
    decreasing IoU >= thr. Returns (ids of a, ids of b, list of (la, lb, iou, area_a, area_b))."""
    ia, na = np.unique(a[a > 0], return_counts=True)
    ib, nb = np.unique(b[b > 0], return_counts=True)
    both = (a > 0) & (b > 0)
    pairs = []
    if both.any():
        pa, pb = a[both].astype(np.int64), b[both].astype(np.int64)
        base = int(ib[-1]) + 1
        if int(ia[-1]) < (2 ** 62) // base:  # one int64 key per voxel: a fast 1-D unique
            key, inter = np.unique(pa * base + pb, return_counts=True)
            uniq = np.stack([key // base, key % base], axis=1)
        else:
            uniq, inter = np.unique(np.stack([pa, pb], axis=1), axis=0, return_counts=True)
        aa = na[np.searchsorted(ia, uniq[:, 0])]
        ab = nb[np.searchsorted(ib, uniq[:, 1])]
        iou = inter / (aa + ab - inter)
        ok = iou >= thr
        order = np.lexsort((uniq[ok, 1], uniq[ok, 0], -iou[ok]))
        used_a, used_b = set(), set()
        cand = list(zip(uniq[ok, 0][order], uniq[ok, 1][order], iou[ok][order], aa[ok][order],
                        ab[ok][order]))
        for la, lb, v, xa, xb in cand:
            if la not in used_a and lb not in used_b:
                used_a.add(la)
                used_b.add(lb)
                pairs.append((int(la), int(lb), float(v), int(xa), int(xb)))
    return ia, ib, pairs


def detection(n_a, n_b, pairs):
    """dict: labels_a, labels_b, matched, precision, recall, f1, mean_iou."""
    tp = len(pairs)
    nan = float("nan")
    return {"labels_a": int(n_a), "labels_b": int(n_b), "matched": tp,
            "precision": tp / n_b if n_b else nan, "recall": tp / n_a if n_a else nan,
            "f1": 2.0 * tp / (n_a + n_b) if n_a + n_b else nan,
            "mean_iou": float(np.mean([p[2] for p in pairs])) if pairs else nan}


# ---------------------------------------------------------------- the three modes

PLOT_POINTS = 200000  # about the voxels drawn (a regular subsample); the numbers use all of them


def plot_stride(nvox, plane):
    """The step of the plots' subsample of nvox voxels whose planes (y x) hold plane voxels: the
    smallest step >= nvox / PLOT_POINTS with no factor in common with plane, so that the voxels
    drawn do not fall on the same columns of every row (a step of 100 on rows of 100 voxels
    would draw x = 0 alone: often background, or an edge)."""
    s = max(1, -(-nvox // PLOT_POINTS))
    while s > 1 and math.gcd(s, plane) != 1:
        s += 1
    return s


def exactness(x, y):
    """(max_abs, unequal): what a bit-for-bit check wants. A pair is equal when x == y (equal
    infinities included; -0 == +0) or both are NaN; an equal pair's difference is 0. unequal:
    the number of pairs not equal; max_abs: the largest |y - x| in float64 over those, 0 when
    there are none, NaN when one of them has NaN on one side only, inf when one has an infinity
    on one side only (or opposite infinities)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind in "iu" and y.dtype.kind in "iu":  # labels: exact in integers
        ne = int(np.count_nonzero(x != y))
        d = np.abs(y.astype(np.int64) - x.astype(np.int64))
        return (float(d.max()) if d.size else 0.0), ne
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    diff = ~((x == y) | (np.isnan(x) & np.isnan(y)))
    ne = int(np.count_nonzero(diff))
    if ne == 0:
        return 0.0, 0
    xd, yd = x[diff], y[diff]
    if np.isnan(xd).any() or np.isnan(yd).any():
        return float("nan"), ne
    with np.errstate(over="ignore"):  # finite values far apart: |y - x| may be inf
        return float(np.max(np.abs(yd - xd))), ne


def compare_voxels(a, b, percent=False):
    nt = timepoints(a, b)
    per, total = [], Agreement()
    nvox = int(np.prod(a.shape))
    stride = plot_stride(nvox, int(np.prod(squeezed(a.shape, False)[-2:])))
    xs, ys, ts = [], [], []
    nmax, nuneq = 0.0, 0
    for t in range(nt):
        x, y = a.frame(t, nt), b.frame(t, nt)
        g = Agreement(x, y, percent)
        total.add(g)
        mx, ne = exactness(x, y)
        nmax = mx if math.isnan(mx) or mx > nmax else nmax
        nuneq += ne
        per.append(dict(timepoint=t, max_abs=mx, unequal=ne, **g.stats()))
        px, py, _ = finite_pairs(x[::stride], y[::stride], percent)  # what the numbers use
        xs.append(px)
        ys.append(py)
        ts.append(np.full(len(px), t))
    res = {"mode": "voxels", "overall": dict(total.stats(), max_abs=nmax, unequal=nuneq),
           "timepoints": per}
    return res, (np.concatenate(xs), np.concatenate(ys), np.concatenate(ts)), "voxel value"


def is_number(v):
    """Whether float(v) reads v."""
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def table_keys(ta, tb, names):
    for s, t in zip(names, (ta, tb)):
        if "timepoint" not in t.dtype.names:
            fail("table %s has no timepoint column (columns: %s)" % (s, ", ".join(t.dtype.names)))
    both = "label" in ta.dtype.names and "label" in tb.dtype.names
    return ("timepoint", "label") if both else ("timepoint",)


def compare_tables(ta, tb, column, names=("A", "B"), percent=False):
    """Table mode; names: how messages call A and B ("A (a.csv)")."""
    keys = table_keys(ta, tb, names)
    if column is None:
        column = "label_count" if keys == ("timepoint",) else "area"
    ca, _, cb = column.partition(",")
    cb = cb or ca
    for s, t, c in zip(names, (ta, tb), (ca, cb)):
        if c not in t.dtype.names:
            fail("table %s has no column %s (columns: %s)" % (s, c, ", ".join(t.dtype.names)))
    for s, t, c in zip(names, (ta, tb), (ca, cb)):
        for k in keys + (c,):
            if t.size and t.dtype[k].kind not in "iufb":
                i = next((i for i, v in enumerate(t[k]) if not is_number(v)), 0)
                fail("table %s: row %d: %s %r is not a number" % (s, i + 1, k, str(t[k][i])))
            v = t[k]
            bad = (~np.isfinite(v) | (v != np.round(v))) if k != c and v.dtype.kind == "f" \
                else np.zeros(v.shape, bool)
            if bad.any():  # int() would truncate 0.7 to 0 and fail on NaN (an empty cell)
                i = int(np.argmax(bad))
                fail("table %s: row %d: %s %r is not a whole number" % (s, i + 1, k, float(v[i])))
    rows = []
    for s, t, c in zip(names, (ta, tb), (ca, cb)):
        m = {}
        for r in t:
            k = tuple(int(r[k]) for k in keys)
            if k in m:
                fail("table %s: two rows for %s %s" % (s, "/".join(keys), k))
            m[k] = float(r[c])
        rows.append(m)
    common = sorted(set(rows[0]) & set(rows[1]))
    x = np.array([rows[0][k] for k in common])
    y = np.array([rows[1][k] for k in common])
    t = np.array([k[0] for k in common], dtype=np.int64)
    per = []
    for tp in np.unique(np.concatenate([[k[0] for k in rows[0]], [k[0] for k in rows[1]]])):
        sel = t == tp
        st = Agreement(x[sel], y[sel], percent).stats()
        st["only_a"] = sum(1 for k in rows[0] if k[0] == tp and k not in rows[1])
        st["only_b"] = sum(1 for k in rows[1] if k[0] == tp and k not in rows[0])
        if keys == ("timepoint",) and sel.any():
            st["a"], st["b"] = float(x[sel][0]), float(y[sel][0])
        per.append(dict(timepoint=int(tp), **st))
    res = {"mode": "table", "match": list(keys), "column": [ca, cb],
           "overall": dict(Agreement(x, y, percent).stats(), only_a=len(rows[0]) - len(common),
                           only_b=len(rows[1]) - len(common)),
           "timepoints": per}
    ok = np.isfinite(x) & np.isfinite(y)  # the plots show the pairs the numbers use
    if percent:
        ok &= (x + y) != 0
    return res, (x[ok], y[ok], t[ok]), ca if ca == cb else "%s / %s" % (ca, cb)


def compare_labels(a, b, thr, percent=False):
    nt = timepoints(a, b)
    for s in (a, b):
        if s.dtype.kind not in "iu":
            fail("%s: %s values; label images hold integers" % (s.spec, s.dtype))
    per, pts = [], []
    counts = ([], [])
    for t in range(nt):
        x, y = a.frame(t, nt), b.frame(t, nt)
        ia, ib, pairs = match_labels(x, y, thr)
        st = detection(len(ia), len(ib), pairs)
        ar = np.array([[p[3], p[4]] for p in pairs], dtype=np.float64).reshape(-1, 2)
        st["area"] = Agreement(ar[:, 0], ar[:, 1], percent).stats()
        per.append(dict(timepoint=t, **st))
        pts += [(p[3], p[4], t) for p in pairs]
        counts[0].append(len(ia))
        counts[1].append(len(ib))
    tp = sum(p["matched"] for p in per)
    na, nb = sum(counts[0]), sum(counts[1])
    overall = detection(na, nb, [])  # pooled over timepoints: matches counted once each
    ious = [p["mean_iou"] * p["matched"] for p in per if p["matched"]]
    overall.update(matched=tp, precision=tp / nb if nb else float("nan"),
                   recall=tp / na if na else float("nan"),
                   f1=2.0 * tp / (na + nb) if na + nb else float("nan"),
                   mean_iou=sum(ious) / tp if tp else float("nan"))
    p = np.array(pts, dtype=np.float64).reshape(-1, 3)
    overall["area"] = Agreement(p[:, 0], p[:, 1], percent).stats()
    overall["count"] = Agreement(counts[0], counts[1], percent).stats()
    res = {"mode": "labels", "iou_threshold": thr, "overall": overall, "timepoints": per}
    return res, (p[:, 0], p[:, 1], p[:, 2].astype(np.int64)), "area of matched labels (voxels)"


# ---------------------------------------------------------------- output

def ba_of(res):
    """The Bland-Altman numbers the plots show."""
    o = res["overall"]
    return o["area"] if res["mode"] == "labels" else o


def plot(res, pts, what, prefix, names, percent=False):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x, y, t = pts
    mix = np.random.default_rng(0).permutation(len(x))  # no timepoint drawn over the others
    x, y, t = x[mix], y[mix], t[mix]
    s = ba_of(res)
    kw = dict(c=t, cmap="viridis", s=6 if len(x) > 5000 else 18, alpha=0.6, linewidths=0,
              rasterized=True)
    out = []
    fig, ax = plt.subplots(figsize=(6.5, 6), dpi=100, layout="constrained")
    sc = ax.scatter(x, y, **kw)
    if len(x):
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        ax.plot([lo, hi], [lo, hi], "k--", linewidth=1, label="A = B")
        ax.legend(loc="upper left")
    ax.set_xlabel("A: " + names[0])
    ax.set_ylabel("B: " + names[1])
    title = "%s: r = %.4g, n = %d" % (what, s["r"], s["n"])
    if res["mode"] == "labels":
        o = res["overall"]
        title += "\nIoU >= %g: F1 %.3f, precision %.3f, recall %.3f, mean IoU %.3f" % (
            res["iou_threshold"], o["f1"], o["precision"], o["recall"], o["mean_iou"])
    ax.set_title(title, fontsize="medium")
    if len(np.unique(t)) > 1:
        fig.colorbar(sc, ax=ax, label="timepoint")
    out.append(prefix + "_scatter.png")
    fig.savefig(out[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7.5, 5.5), dpi=100, layout="constrained")
    sc = ax.scatter((x + y) / 2, differences(x, y, percent), **kw)
    for v, style, lab in ((s["bias"], "-", "bias %.4g"),
                          (s["loa_high"], "--", "bias + 1.96 SD = %.4g"),
                          (s["loa_low"], "--", "bias - 1.96 SD = %.4g")):
        if math.isfinite(v):
            ax.axhline(v, color="#e15759", linestyle=style, linewidth=1.2)
            ax.annotate(lab % v, (1.0, v), xycoords=("axes fraction", "data"),
                        xytext=(-4, 3), textcoords="offset points", ha="right",
                        color="#e15759", fontsize="small")
    if math.isfinite(s["slope"]) and len(x):  # the least-squares line of d on the means
        am = (s["mean_a"] + s["mean_b"]) / 2
        xl = np.array([float(np.min((x + y) / 2)), float(np.max((x + y) / 2))])
        ax.plot(xl, s["bias"] + s["slope"] * (xl - am), color="#4e79a7", linestyle=":",
                linewidth=1.4, label="proportional bias: slope %.3g" % s["slope"])
    for k in ("bias_ci", "loa_low_ci", "loa_high_ci"):
        if all(math.isfinite(v) for v in s[k]):
            ax.axhspan(s[k][0], s[k][1], color="#e15759", alpha=0.12, linewidth=0,
                       label="95 % confidence intervals" if k == "bias_ci" else None)
    if all(math.isfinite(v) for v in s["bias_ci"]) or math.isfinite(s["slope"]):
        ax.legend(loc="upper left", fontsize="small")
    ax.axhline(0, color="k", linewidth=0.6)
    ax.set_xlabel("mean of A and B (%s)" % what)
    ax.set_ylabel("100 (B - A) / mean of A and B (%)" if percent else "B - A")
    ax.set_title("Bland-Altman: bias %.4g, SD %.4g, n = %d" % (s["bias"], s["sd"], s["n"]),
                 fontsize="medium")
    if len(np.unique(t)) > 1:
        fig.colorbar(sc, ax=ax, label="timepoint")
    out.append(prefix + "_bland_altman.png")
    fig.savefig(out[-1])
    plt.close(fig)
    return out


def fmt(v):
    return "%12.6g" % v if isinstance(v, float) else "%12s" % v


def print_text(res, a, b):
    print("lapse compare (%s): A = %s, B = %s; differences are %s" % (res["mode"], a, b,
                                                                      res["difference"]))
    if res["mode"] == "labels":
        cols = ["labels_a", "labels_b", "matched", "precision", "recall", "f1", "mean_iou"]
        print("matching by IoU >= %g, one to one (A is the reference)" % res["iou_threshold"])
    else:
        cols = ["n", "nonfinite", "bias", "sd", "loa_low", "loa_high", "r"]
        if res["mode"] == "voxels":
            cols += ["max_abs", "unequal"]
        if res["mode"] == "table":
            cols += ["only_a", "only_b"]
            print("column %s, rows matched by %s" % (" / ".join(res["column"]),
                                                     " and ".join(res["match"])))
    print("%9s" % "timepoint" + "".join(" %12s" % c for c in cols))
    for p in res["timepoints"] + [dict(res["overall"], timepoint="all")]:
        print("%9s" % p["timepoint"] + "".join(" " + fmt(p[c]) for c in cols))
    if res["mode"] == "labels":
        for k, what in (("area", "areas of matched labels"), ("count", "labels per timepoint")):
            s = res["overall"][k]
            print("Bland-Altman of the %s: n %d, bias %.6g, SD %.6g, limits of agreement "
                  "%.6g to %.6g, r %.6g" % (what, s["n"], s["bias"], s["sd"], s["loa_low"],
                                            s["loa_high"], s["r"]))
    o = ba_of(res)
    print("95%% confidence intervals (all): bias %.6g to %.6g, lower limit %.6g to %.6g, upper "
          "limit %.6g to %.6g%s" % (tuple(o["bias_ci"]) + tuple(o["loa_low_ci"]) +
                                    tuple(o["loa_high_ci"]) +
                                    (" (areas of matched labels)" if res["mode"] == "labels"
                                     else "",)))
    print("proportional bias (all): the differences change by %.6g per unit of the mean "
          "(95%% confidence interval %.6g to %.6g)%s" % (
              o["slope"], o["slope_ci"][0], o["slope_ci"][1],
              "" if not all(math.isfinite(v) for v in o["slope_ci"])
              or o["slope_ci"][0] <= 0 <= o["slope_ci"][1]
              else ": they grow with the values, so the limits of agreement misstate both ends"
              if o["slope"] > 0 else
              ": they shrink with the values, so the limits of agreement misstate both ends"))
    if res["mode"] != "labels" and res["overall"]["nonfinite"]:
        print("nonfinite: %d pairs with NaN or an infinity on either side%s, left out of n, "
              "the statistics and the plots%s" % (res["overall"]["nonfinite"],
                                                  " (or a mean of 0: no percentage)"
                                                  if res["difference"] != "B - A" else "",
                                              " (max_abs and unequal count every voxel)"
                                              if res["mode"] == "voxels" else ""))
    for p in res.get("plots", []):
        print("wrote %s" % p)


def short(spec):
    """spec with the file's directory left out: "dir/out.h5:/labels" -> "out.h5:/labels"."""
    i = spec.rfind(":/")
    return os.path.basename(spec[:i]) + spec[i:] if i > 0 else os.path.basename(spec)


def jsonable(v):
    """v with NaN and infinities as None (JSON has no NaN)."""
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def main(argv):
    import signal
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `lapse compare ... | head`: no traceback
    ap = argparse.ArgumentParser(prog="lapse compare",
                                 description=__doc__.split("\n\n")[0].split(" - ", 1)[1],
                                 epilog="details: docs/tools.md")
    ap.add_argument("a", help="A: FILE.h5:/dataset, FILE.tif or FILE.csv (the reference)")
    ap.add_argument("b", help="B: the same kinds")
    ap.add_argument("--mode", choices=("auto", "voxels", "table", "labels"), default="auto",
                    help="auto: table for two tables, else voxels")
    ap.add_argument("--column", help="table column to compare, NAME or NAME_A,NAME_B "
                    "(default: label_count of summary tables, else area)")
    ap.add_argument("--iou", type=float, default=0.5, help="IoU threshold of a match (labels)")
    ap.add_argument("-o", dest="prefix", default="compare", help="PREFIX of the PNG files")
    ap.add_argument("--no-plots", action="store_true", help="write no PNG")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ap.add_argument("--percent", action="store_true",
                    help="differences as 100 (B - A) / mean of A and B (pairs of mean 0 are "
                    "left out and counted in nonfinite); max_abs and unequal stay absolute")
    o = ap.parse_args(argv)
    if not 0 < o.iou <= 1:
        fail("--iou must be in (0, 1], got %g" % o.iou)
    if not o.no_plots:  # before any work: the plots' directory must exist
        d = os.path.dirname(o.prefix) or "."
        if not os.path.isdir(d):
            fail("-o %s: the directory %s does not exist (create it, or --no-plots)"
                 % (o.prefix, d))
    a, b = Source(o.a), Source(o.b)
    tables = (a.table is not None) + (b.table is not None)
    mode = o.mode if o.mode != "auto" else ("table" if tables == 2 else "voxels")
    if (mode == "table") != (tables == 2) or tables == 1:
        fail("%s needs %s, got %s (%s) and %s (%s)" % (
            mode, "two tables" if mode == "table" else "two images",
            "a table" if a.table is not None else "an image", o.a,
            "a table" if b.table is not None else "an image", o.b))
    if mode == "voxels":
        res, pts, what = compare_voxels(a, b, o.percent)
    elif mode == "table":
        res, pts, what = compare_tables(a.table, b.table, o.column,
                                         ("A (%s)" % o.a, "B (%s)" % o.b), o.percent)
    else:
        res, pts, what = compare_labels(a, b, o.iou, o.percent)
    res.update(a=o.a, b=o.b,
               difference="100 (B - A) / ((A + B) / 2), in %" if o.percent else "B - A")
    if not o.no_plots:
        try:
            res["plots"] = plot(res, pts, what, o.prefix, (short(o.a), short(o.b)), o.percent)
        except OSError as e:
            fail("cannot write the plots %s_*.png: %s" % (o.prefix, e))
    if o.json:
        print(json.dumps(jsonable(res), indent=1))
    else:
        print_text(res, o.a, o.b)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
