#!/usr/bin/python3
"""h5same.py - are datasets of two HDF5 files bit-identical?

Usage: h5same.py A.h5 B.h5 [DATASET ...] [--timepoints SEL]

Compares each DATASET (default: every dataset outside /lapse, and both files must hold the same
set of them) for equal dtype, equal shape and equal raw bytes. With --timepoints, only those
indices of the first (time) axis are compared. Prints the first differing index and both values.
Exit: 0 identical, 1 different, 2 bad usage or unreadable file/dataset.
"""

import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lapse_layout  # noqa: E402
import lapsecfg  # noqa: E402


def data_datasets(f):
    """Paths of every dataset outside /lapse (the bookkeeping group)."""
    out = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and not lapse_layout.reserved(name):
            out.append("/" + name)

    f.visititems(visit)
    return sorted(out)


def compare(fa, fb, path, sel, label):
    """Print what differs; return True if identical."""
    for f, name in ((fa, "A"), (fb, "B")):
        if path not in f:
            print("h5same: %s: missing in %s (%s)" % (path, name, f.filename))
            return False
    a, b = fa[path], fb[path]
    if a.dtype != b.dtype:
        print("h5same: %s: dtype differs: %s vs %s" % (path, a.dtype, b.dtype))
        return False
    if a.shape != b.shape:
        print("h5same: %s: shape differs: %s vs %s" % (path, a.shape, b.shape))
        return False
    tps = lapsecfg.parse_tpsel(sel, a.shape[0]) if sel is not None else range(a.shape[0])
    for t in tps:
        xa, xb = np.ascontiguousarray(a[t]), np.ascontiguousarray(b[t])
        if xa.tobytes() == xb.tobytes():
            continue
        idx = lapsecfg.first_diff(xa, xb)
        if idx is None:  # same values, different bits (e.g. NaN payloads, -0.0)
            va, vb = xa.view(np.uint8).reshape(-1), xb.view(np.uint8).reshape(-1)
            k = int(np.argmax(va != vb)) // xa.dtype.itemsize
            idx = np.unravel_index(k, xa.shape)
        ndiff = int(np.count_nonzero(xa.view(np.uint8) != xb.view(np.uint8)))
        print("h5same: %s: first difference at [%d, %s]: %r vs %r (%d differing bytes in "
              "timepoint %d)" % (path, t, ", ".join(str(int(i)) for i in idx),
                                 xa[idx].item(), xb[idx].item(), ndiff, t))
        return False
    print("h5same: %s: identical %s %s%s" % (path, a.dtype, a.shape, label))
    return True


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("datasets", nargs="*")
    ap.add_argument("--timepoints", help="compare only these timepoints (tpsel grammar)")
    args = ap.parse_args(argv)
    try:
        with h5py.File(args.a, "r") as fa, h5py.File(args.b, "r") as fb:
            paths = args.datasets
            if not paths:
                pa, pb = data_datasets(fa), data_datasets(fb)
                if pa != pb:
                    print("h5same: the files hold different datasets: %s vs %s" % (pa, pb))
                    return 1
                if not pa:
                    print("h5same: no datasets to compare", file=sys.stderr)
                    return 2
                paths = pa
            label = "" if args.timepoints is None else " (timepoints %s)" % args.timepoints
            same = [compare(fa, fb, p, args.timepoints, label) for p in paths]
    except (OSError, lapsecfg.UsageError) as e:
        print("h5same: %s" % e, file=sys.stderr)
        return 2
    return 0 if all(same) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
