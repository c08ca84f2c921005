#!/usr/bin/env bash
# test_nonfinite.sh - issue 8 item 10: NaN and Inf voxels of a float32 input are counted per task
# (the task row's `nonfinite`, core boxes only), shown by `lapse info` and warned about at the
# end of the run; the results are what IEEE arithmetic gives: timepoints without such voxels are
# bit-identical to a run on the clean input, and a clean input gives no warning and no line. An
# output whose /lapse/tasks lacks the field (made before it existed) is still shown by `lapse
# info`, the field read as 0.
source "$(dirname "$0")/common.sh"
make_sample
cd "$T" || fail "cd $T"

# clean.h5: the sample as float32; bad.h5: the same with 5 NaN at t=1 (one task), 3 +Inf and
# 2 -Inf at t=3 (two tasks: opposite corners), 10 voxels in 3 tasks.
"$LAPSE_PY" - "$IN" <<'PY' || fail "writing the float32 inputs failed"
import sys, h5py, numpy as np
raw = h5py.File(sys.argv[1], "r")["/raw"][()].astype(np.float32)
with h5py.File("clean.h5", "w") as f:
    f["/raw"] = raw
raw[1, 0, 0, 0:5] = np.nan
raw[3, 0, 0, 0:3] = np.inf
raw[3, -1, -1, -2:] = -np.inf
with h5py.File("bad.h5", "w") as f:
    f["/raw"] = raw
PY

note "1. a clean float32 input: no warning, no line in lapse info"
hcfg c1.yaml clean.h5 clean_out.h5
run_ok l1.log mpirun_lapse 2 run c1.yaml
! grep -q "NaN or Inf" l1.log || fail "a warning for a clean input"
run_ok i1.log "$LAPSE" info clean_out.h5
! grep -q "nonfinite" i1.log || fail "lapse info shows nonfinite voxels of a clean input"

note "2. NaN/Inf voxels: counted, warned, shown; the other timepoints unchanged"
hcfg c2.yaml bad.h5 bad_out.h5
run_ok l2.log mpirun_lapse 2 run c2.yaml
grep -q "WARNING: 10 voxels of the input were NaN or Inf in 3 tasks" l2.log ||
    { cat l2.log >&2; fail "no (or a wrong) warning"; }
run_ok i2.log "$LAPSE" info bad_out.h5
grep -q "nonfinite input voxels (NaN or Inf): 10 in 3 tasks" i2.log ||
    { cat i2.log >&2; fail "lapse info does not show 10 nonfinite voxels in 3 tasks"; }
"$LAPSE_PY" - <<'PY' || fail "the results differ from IEEE arithmetic on the clean run"
import h5py, numpy as np
a = h5py.File("clean_out.h5", "r")["/result"][()]
b = h5py.File("bad_out.h5", "r")["/result"][()]
for t in (0, 2):
    assert np.array_equal(a[t], b[t]), "timepoint %d differs" % t
assert np.isnan(b[1, 0, 0, 0]), "t=1: no NaN where the input had one"
assert not np.isfinite(b[3, 0, 0, 0]), "t=3: finite where the input had +Inf"
assert np.isfinite(a).all()
rows = h5py.File("bad_out.h5", "r")["/lapse/tasks"][()]
assert rows["nonfinite"].sum() == 10 and (rows["nonfinite"] > 0).sum() == 3, rows["nonfinite"]
PY

note "3. a task table without the field (older outputs) is read as 0"
cp bad_out.h5 old.h5
"$LAPSE_PY" - <<'PY' || fail "rewriting the task table failed"
import h5py, numpy as np
with h5py.File("old.h5", "r+") as f:
    rows = f["/lapse/tasks"][()]
    names = [n for n in rows.dtype.names if n != "nonfinite"]
    old = np.empty(rows.shape, dtype=np.dtype([(n, rows.dtype[n]) for n in names]))
    for n in names:
        old[n] = rows[n]
    del f["/lapse/tasks"]
    f.create_dataset("/lapse/tasks", data=old, maxshape=(None,), chunks=True)
PY
run_ok i3.log "$LAPSE" info old.h5
! grep -q "nonfinite" i3.log || fail "lapse info shows nonfinite voxels of a table without them"
grep -q "run 1 seconds per phase" i3.log || { cat i3.log >&2; fail "lapse info lost the rows"; }
note "PASS"
