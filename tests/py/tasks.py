#!/usr/bin/python3
"""tasks.py - check the /lapse/tasks table and /lapse/runs of a lapse output.

Usage: tasks.py OUT.h5 [--run-id R] [--count N] [--ranks K] [--min-ranks K]
                [--timepoints SEL] [--cover DATASET] [--runs N]

Always checks: the table has every field of lapse_task_row_t (src/io/layout.h; the names come
from lapse_layout.py, checked against the C schema by the unit_schema test); the rows looked at
(those of run R, default all) are not empty, have unique task ids per run, status 0 (done),
non-negative times with t_total >= every phase, and a group /lapse/runs/<id> per run id.
Options add checks: --count N rows; --ranks K: the ranks seen are exactly 0..K-1;
--min-ranks K: at least K distinct ranks; --timepoints SEL: the rows' timepoints are exactly SEL;
--cover DATASET: per timepoint, the core boxes cover DATASET's spatial extent exactly once;
--runs N: /lapse/runs holds N runs.
Exit: 0 all checks pass, 1 a check failed (each failure printed), 2 bad usage/unreadable file.
"""

import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lapse_layout as L  # noqa: E402
import lapsecfg  # noqa: E402

FIELDS = L.TASK_FIELDS
PHASES = ("t_read", "t_upload", "t_compute", "t_download", "t_write")


def check_cover(rows, dset, tps, fail):
    """Core boxes of each timepoint cover the dataset's spatial extent exactly once."""
    spatial = dset.shape[1:]
    for t in tps:
        cnt = np.zeros(spatial, dtype=np.int32)
        for r in rows[rows["timepoint"] == t]:
            off, shp = list(r["core_offset"]), list(r["core_shape"])
            if len(spatial) == 2:  # [t, y, x] after a projection: the boxes' y, x
                off, shp = off[1:], shp[1:]
            sl = tuple(slice(int(o), int(o) + int(s)) for o, s in zip(off, shp))
            if any(int(o) < 0 or int(o) + int(s) > n for o, s, n in zip(off, shp, spatial)):
                fail("timepoint %d: core box offset %s shape %s outside %s"
                     % (t, off, shp, spatial))
                return
            cnt[sl] += 1
        if cnt.min() != 1 or cnt.max() != 1:
            bad = tuple(int(i) for i in np.argwhere(cnt != 1)[0])
            fail("timepoint %d: core boxes do not cover %s exactly once (voxel %s covered %d "
                 "times)" % (t, spatial, bad, cnt[bad]))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--run-id", type=int)
    ap.add_argument("--count", type=int)
    ap.add_argument("--ranks", type=int)
    ap.add_argument("--min-ranks", type=int)
    ap.add_argument("--timepoints")
    ap.add_argument("--cover")
    ap.add_argument("--runs", type=int)
    a = ap.parse_args(argv)
    errors = []
    fail = errors.append
    try:
        f = h5py.File(a.file, "r")
    except OSError as e:
        print("tasks: %s" % e, file=sys.stderr)
        return 2
    with f:
        if L.TASKS not in f:
            print("tasks: %s has no %s" % (a.file, L.TASKS))
            return 1
        table = f[L.TASKS]
        names = table.dtype.names or ()
        missing = [n for n in FIELDS if n not in names]
        if missing:
            print("tasks: %s lacks fields %s (has %s)" % (L.TASKS, missing, names))
            return 1
        rows = table[()]
        run_ids = sorted(set(int(r) for r in rows["run_id"]))
        runs = sorted(f[L.RUNS].keys()) if L.RUNS in f else []
        for rid in run_ids:
            if L.run_path(rid) not in f:
                fail("no group %s for run id %d (groups: %s)" % (L.run_path(rid), rid, runs))
        if a.runs is not None and len(runs) != a.runs:
            fail("%s holds %d runs %s, expected %d" % (L.RUNS, len(runs), runs, a.runs))
        if a.run_id is not None:
            rows = rows[rows["run_id"] == a.run_id]
        what = "run %s" % a.run_id if a.run_id is not None else "all runs"
        ranks = sorted(set(int(r) for r in rows["rank"]))
        tps = sorted(set(int(t) for t in rows["timepoint"]))
        print("tasks: %s: %d rows, ranks %s, timepoints %s, run ids %s"
              % (what, len(rows), ranks, tps, run_ids))
        if len(rows) == 0:
            fail("%s: no rows" % what)
        for rid in sorted(set(int(r) for r in rows["run_id"])):
            ids = rows["task_id"][rows["run_id"] == rid]
            if len(set(int(i) for i in ids)) != len(ids):
                fail("run %d: duplicate task ids" % rid)
        if np.any(rows["status"] != L.ROW_DONE):
            fail("%d rows with status != %d (done)"
                 % (int(np.count_nonzero(rows["status"] != L.ROW_DONE)), L.ROW_DONE))
        for p in PHASES:
            if np.any(rows[p] < 0) or np.any(rows[p] > rows["t_total"] + 1e-6):
                fail("%s negative or larger than t_total in some row" % p)
        if a.count is not None and len(rows) != a.count:
            fail("%d rows, expected %d" % (len(rows), a.count))
        if a.ranks is not None and ranks != list(range(a.ranks)):
            fail("ranks %s, expected 0..%d" % (ranks, a.ranks - 1))
        if a.min_ranks is not None and len(ranks) < a.min_ranks:
            fail("only %d distinct ranks %s, expected at least %d" % (len(ranks), ranks,
                                                                      a.min_ranks))
        if a.timepoints is not None:
            ntp = max(tps + [0]) + 1
            if a.cover and a.cover in f:
                ntp = f[a.cover].shape[0]
            try:
                want = lapsecfg.parse_tpsel(a.timepoints, max(ntp, 100000))
            except lapsecfg.UsageError as e:
                print("tasks: %s" % e, file=sys.stderr)
                return 2
            if tps != want:
                fail("timepoints %s, expected %s" % (tps, want))
        if a.cover:
            if a.cover not in f:
                fail("no dataset %s" % a.cover)
            else:
                check_cover(rows, f[a.cover], tps, fail)
    for e in errors:
        print("tasks: FAIL: %s" % e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
