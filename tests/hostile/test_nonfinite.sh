#!/usr/bin/env bash
# test_nonfinite.sh - issue 8 item 10: NaN and Inf voxels of a float32 input are counted per task
# (the task row's `nonfinite`, core boxes only), shown by `lapse info` and warned about at the
# end of the run; the results are what IEEE arithmetic gives: timepoints without such voxels are
# bit-identical to a run on the clean input, and a clean input gives no warning and no line. An
# output whose /lapse/tasks lacks the field (made before it existed) is still shown by `lapse
# info`, the field read as 0.
# 4. measure_labels next to a huge finite intensity (a FLT_MAX-like fill in one label): the other
# label's sums lose their digits to the timepoint's one fixed-point scale; the run warns, naming
# the step, the timepoint, how many labels, and the value and label that set the scale; the same
# image without the fill warns nothing and its table matches NumPy.
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

note "4. measure_labels beside a huge finite intensity warns that the sums are not exact"
"$LAPSE_PY" - <<'PY' || fail "writing the measure inputs failed"
import h5py, numpy as np
a = np.zeros((2, 4, 16, 16), np.float32)
a[:, 1:3, 2:6, 2:6] = 1.0          # label 1
a[:, 1:3, 9:13, 9:13] = 0.001      # label 2
with h5py.File("mclean.h5", "w") as f:
    f["/raw"] = a
a[1, 1, 2, 2] = 3e38               # t=1: a fill value in label 1
with h5py.File("mfill.h5", "w") as f:
    f["/raw"] = a
PY
for n in mclean mfill; do
    cat >"$n.yaml" <<YAML
input: {file: $n.h5, dataset: /raw}
pipeline:
  - {op: threshold_fixed, threshold: 0.0001, name: m}
  - {op: connected_components_labeling, name: l}
  - {op: measure_labels, from: l, with: input, name: nuclei}
output: {file: $n-out.h5, dataset: /labels}
devices: any
YAML
    run_ok "$n.log" "$LAPSE" run "$n.yaml"
done
! grep -q "warning: step nuclei" mclean.log || { cat mclean.log >&2; fail "a warning without a fill value"; }
grep -q "warning: step nuclei, timepoint 1: the intensity sums, means and standard deviations of 1 of 2 labels are not exact: .*largest |intensity| (3.*e+38, label 1)" mfill.log ||
    { cat mfill.log >&2; fail "no warning naming the fill value"; }
! grep -q "timepoint 0:" mfill.log || { cat mfill.log >&2; fail "a warning for the clean timepoint"; }
"$LAPSE_PY" - <<'PY' || fail "the clean table differs from NumPy"
import h5py, numpy as np
t = h5py.File("mclean-out.h5", "r")["/nuclei"][()]
for r in t:
    want = 32 * (1.0 if r["label"] == 1 else np.float64(np.float32(0.001)))
    assert abs(r["intensity_sum"] - want) <= 1e-12 * want, (r["label"], r["intensity_sum"], want)
PY
note "PASS"
