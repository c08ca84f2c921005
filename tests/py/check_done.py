#!/usr/bin/python3
"""check_done.py - does every task marked done in a lapse output hold its final data?

Usage: check_done.py OUT.h5 REF.h5 [--min N] [--max N] [--min-final-unmarked K]

OUT is typically the output of a killed or interrupted run, REF an uninterrupted run of the
same config. OUT must open with h5py as it is (no h5clear): a killed run must leave a readable
file. For every task (t, tile) with /lapse/done[t, tile] == 1, the core box of that tile (the
grid of the `tile` attribute of /lapse/done, tiles numbered z-major then y then x, clipped to
the image) of every result dataset (every dataset outside /lapse; [t, y, x] datasets after a
projection use the y/x part of the box) must equal REF byte for byte, and a timepoint whose
centre tile is marked holds its input sum (/lapse/input_sums, where both have it: not 0, and
REF's). --min/--max bound the number of done marks. Also counts the tasks NOT marked whose
core already equals REF in every dataset (their data was written but the mark was not: a
resume recomputes them; tiles whose REF core is all fill value are not counted);
--min-final-unmarked K requires at least K of them.
Prints "check_done: M of N tasks marked done", "check_done: K unmarked tasks hold final data"
and each mismatch.
Exit: 0 all marked tasks match, 1 a mismatch or a failed check, 2 bad usage/unreadable file.
"""

import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lapse_layout as L  # noqa: E402
from h5same import data_datasets  # noqa: E402


def core_slices(tile_idx, tile, grid, spatial):
    """Slices (z, y, x) of the core box of tile number tile_idx."""
    iz, rest = divmod(tile_idx, grid[1] * grid[2])
    iy, ix = divmod(rest, grid[2])
    out = []
    for i, a in zip((iz, iy, ix), range(3)):
        lo = i * tile[a]
        out.append(slice(lo, min(lo + tile[a], spatial[a])))
    return out


def final_unmarked(fo, fr, paths, done, tile, grid, spatial):
    """Number of tasks not marked done whose core equals REF in every dataset (and is not all
    fill value in REF, where written and unwritten cannot be told apart)."""
    n = 0
    data = {p: (fo[p], fr[p], fr[p].fillvalue) for p in paths}
    for t, tl in np.argwhere(done != L.MARK_DONE):
        s = core_slices(int(tl), tile, grid, spatial)
        same, informative = True, False
        for a, b, fill in data.values():
            sel = (int(t),) + (tuple(s) if a.ndim == 4 else tuple(s[1:]))
            try:
                ca = np.ascontiguousarray(a[sel])
            except OSError:
                # A compressed output killed during a write round can hold index entries of
                # that round's chunks beyond the end the file recorded (HDF5: "addr overflow");
                # those tasks are unmarked and the resume writes them again: not final.
                same = False
                break
            cb = np.ascontiguousarray(b[sel])
            if ca.tobytes() != cb.tobytes():
                same = False
                break
            informative = informative or bool(np.any(cb != fill))
        n += same and informative
    return n


def check(fo, fr, args):
    """Return the list of problems (empty: all good)."""
    bad = []
    if L.DONE not in fo:
        return ["%s has no %s" % (args.out, L.DONE)]
    dset = fo[L.DONE]
    done = dset[()]
    if L.DONE_TILE_ATTR not in dset.attrs:
        return ["%s has no %s attribute" % (L.DONE, L.DONE_TILE_ATTR)]
    tile = [int(v) for v in dset.attrs[L.DONE_TILE_ATTR]]
    paths = data_datasets(fo)
    if not paths:
        return ["%s holds no result dataset" % args.out]
    if paths != data_datasets(fr):
        return ["OUT and REF hold different datasets: %s vs %s" % (paths, data_datasets(fr))]
    # The image extent: from a 4-D dataset when there is one, else y/x from a 3-D one (z unknown,
    # then every z tile maps onto the same y/x box).
    four = [p for p in paths if fo[p].ndim == 4]
    if four:
        spatial = list(fo[four[0]].shape[1:])
    else:
        spatial = [tile[0]] + list(fo[paths[0]].shape[1:])
    grid = [-(-spatial[a] // tile[a]) for a in range(3)]
    ntiles = grid[0] * grid[1] * grid[2]
    ntp = fo[paths[0]].shape[0]
    if done.ndim != 2 or done.shape[0] != ntp or done.shape[1] != ntiles:
        return ["%s has shape %s, expected (%d, %d) for tile %s of %s" %
                (L.DONE, done.shape, ntp, ntiles, tile, spatial)]
    if not np.isin(done, (L.MARK_PENDING, L.MARK_DONE)).all():
        bad.append("%s holds values other than %d and %d" % (L.DONE, L.MARK_PENDING, L.MARK_DONE))
    marked = np.argwhere(done == L.MARK_DONE)
    print("check_done: %d of %d tasks marked done" % (len(marked), done.size))
    for p in paths:
        a, b = fo[p], fr[p]
        if a.dtype != b.dtype or a.shape != b.shape:
            bad.append("%s: %s %s in OUT but %s %s in REF" % (p, a.dtype, a.shape, b.dtype,
                                                              b.shape))
            continue
        ts = sorted(set(int(t) for t, _ in marked))
        for t in ts:
            for tl in marked[marked[:, 0] == t][:, 1]:
                # each marked task's own core (not the whole timepoint: unmarked tasks' chunks
                # of a killed compressed run may be unreadable, see final_unmarked)
                s = core_slices(int(tl), tile, grid, spatial)
                sel = (t,) + (tuple(s) if a.ndim == 4 else tuple(s[1:]))
                try:
                    ca = np.ascontiguousarray(a[sel])
                except OSError as e:
                    bad.append("%s: task t=%d tile %d is marked done but its core cannot be "
                               "read: %s" % (p, t, tl, e))
                    continue
                cb = np.ascontiguousarray(b[sel])
                if ca.tobytes() != cb.tobytes():
                    n = int(np.count_nonzero(ca.view(np.uint8) != cb.view(np.uint8)))
                    bad.append("%s: task t=%d tile %d (id %d) is marked done but its core %s "
                               "differs from REF (%d bytes)" %
                               (p, t, tl, t * ntiles + tl,
                                [(x.start, x.stop) for x in sel[1:]], n))
    # The input sum of a timepoint is written before its centre tile's mark (exec/worker.c):
    # a timepoint whose centre tile is marked done (every tile, where the z extent is not
    # known) holds its sum (0: not recorded), REF's (the same input).
    if L.INPUT_SUMS in fo and L.INPUT_SUMS in fr:
        so, sr = fo[L.INPUT_SUMS][()], fr[L.INPUT_SUMS][()]
        centre = (((spatial[0] // 2) // tile[0]) * grid[1] + (spatial[1] // 2) // tile[1]) * \
            grid[2] + (spatial[2] // 2) // tile[2]
        for t in range(min(ntp, len(so), len(sr))):
            marked_t = done[t, centre] == L.MARK_DONE if four else (done[t] == L.MARK_DONE).all()
            if marked_t and (int(so[t]) == 0 or int(so[t]) != int(sr[t])):
                bad.append("timepoint %d is marked done (its centre tile %d) but its input sum "
                           "is %d, REF's %d" % (t, centre, int(so[t]), int(sr[t])))
    final = final_unmarked(fo, fr, paths, done, tile, grid, spatial)
    print("check_done: %d unmarked tasks hold final data" % final)
    if args.min_final_unmarked is not None and final < args.min_final_unmarked:
        bad.append("%d unmarked tasks hold final data, expected at least %d" %
                   (final, args.min_final_unmarked))
    if args.min is not None and len(marked) < args.min:
        bad.append("only %d done marks, expected at least %d" % (len(marked), args.min))
    if args.max is not None and len(marked) > args.max:
        bad.append("%d done marks, expected at most %d" % (len(marked), args.max))
    return bad


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("ref")
    ap.add_argument("--min", type=int, help="at least this many done marks")
    ap.add_argument("--max", type=int, help="at most this many done marks")
    ap.add_argument("--min-final-unmarked", type=int,
                    help="at least this many unmarked tasks already hold their final data")
    args = ap.parse_args(argv)
    try:
        fo = h5py.File(args.out, "r")
    except OSError as e:
        print("check_done: cannot open %s as it is (a killed run must leave a readable file): %s"
              % (args.out, e))
        return 1
    try:
        with fo, h5py.File(args.ref, "r") as fr:
            bad = check(fo, fr, args)
    except OSError as e:
        print("check_done: %s" % e, file=sys.stderr)
        return 2
    for b in bad:
        print("check_done: %s" % b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
