#!/usr/bin/env bash
# test_report.sh - `lapse report` (tools/lapse_report.py) on real runs: a segmentation with
# measurements (summary table /nuclei_summary) on 2 ranks, and a run with failed tasks
# (LAPSE_FAULT=fail:read@1, on_error: skip) followed by a rerun. Each report must write a valid
# PNG of sensible size and print per rank and in total the task counts and summed phase seconds
# of the task table as h5py reads it (tests/py/report_check.py), and the summary rows; --run
# picks an older run (and a note says that the summary tables, which keep no run id, may hold a
# later run's values); errors exit 2.
source "$(dirname "$0")/common.sh"
need_device
"$LAPSE_PY" -c 'import matplotlib' 2>/dev/null || fail "$LAPSE_PY lacks matplotlib (tools/deps.sh)"
cd "$T" || fail "cd $T"
make_sample

note "1. segmentation with measurements on 2 ranks"
cat >seg.yaml <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [12, 40, 48], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1}
  - {op: threshold_otsu}
  - {op: connected_components_labeling, name: l, save: /labels}
  - {op: measure_labels, from: l, with: input, name: nuclei}
output: {file: $T/seg.h5, dataset: /result}
devices: any
YAML
lapse_run 2 seg.yaml
run_ok r1.log "$LAPSE" report seg.h5 -o seg.png
cat r1.log
grep -q "^per timepoint (/nuclei_summary):" r1.log || fail "1: no per-timepoint counts printed"
py report_check.py seg.h5 r1.log seg.png 1 || fail "1: the report disagrees with the task table"
run_ok r1d.log "$LAPSE" report seg.h5 # default name: beside the output
# a reader that closes the pipe at once (`| head` after its lines): no Python traceback
"$LAPSE" report seg.h5 -o segp.png 2>pipe.err | true
! grep -q "Traceback\|BrokenPipeError" pipe.err || { cat pipe.err; fail "1: a traceback when piped"; }
[ -s seg_report.png ] || fail "1: no seg_report.png beside seg.h5"
! grep -q "^note: the summary tables" r1.log || fail "1: a note of later runs, with none"
# an update of timepoint 1 with another blur (run 2) changes its row of /nuclei_summary, which
# has no run id: the report of run 1 prints the table as it is now, and says so
sed 's/sigma: 1}/sigma: 3}/; s#dataset: /result}#dataset: /result, mode: update}#' seg.yaml >seg2.yaml
printf 'timepoints: "1"\n' >>seg2.yaml
lapse_run 2 seg2.yaml
run_ok r1u.log "$LAPSE" report seg.h5 -o segu.png --run 1
py report_check.py seg.h5 r1u.log segu.png 1 || fail "1: --run 1 after an update disagrees"
grep -q "^note: the summary tables hold each timepoint's latest values, which run 2 may have recomputed: not necessarily run 1's$" r1u.log ||
    { cat r1u.log; fail "1: the summary of run 1 printed as run 1's, with run 2 after it"; }

note "2. failed tasks (rank 1 cannot read), then a rerun"
kill_config blur.yaml "$T/blur.h5"
printf 'on_error: skip\n' >>blur.yaml
export LAPSE_FAULT=fail:read@1
expect_rc 3 f.log mpirun_lapse 2 run blur.yaml
unset LAPSE_FAULT
run_ok r2.log "$LAPSE" report blur.h5 -o failed.png
cat r2.log
py report_check.py blur.h5 r2.log failed.png 1 || fail "2: run 1's report disagrees"
grep -Eq "^ +1 +[0-9]+ +[1-9][0-9]* " r2.log || fail "2: rank 1's failed tasks not counted"
lapse_run 2 blur.yaml
run_ok r3.log "$LAPSE" report blur.h5 -o rerun.png
py report_check.py blur.h5 r3.log rerun.png 2 || fail "2: the rerun's report disagrees"
run_ok r4.log "$LAPSE" report blur.h5 -o again.png --run 1
py report_check.py blur.h5 r4.log again.png 1 || fail "2: --run 1 disagrees"

note "3. errors exit 2"
expect_rc 2 e1.log "$LAPSE" report nope.h5
grep -q "nope.h5: no such file" e1.log || { cat e1.log; fail "3: missing file not named"; }
expect_rc 2 e2.log "$LAPSE" report "$IN"
grep -q "not a lapse output" e2.log || { cat e2.log; fail "3: a plain HDF5 file accepted"; }
expect_rc 2 e3.log "$LAPSE" report blur.h5 --run 9
grep -q "no rows of run 9" e3.log || { cat e3.log; fail "3: a missing run not named"; }
expect_rc 2 e4.log "$LAPSE" report

note "4. a lane's label counts failed and abandoned tasks apart (abandoned were said failed)"
PYTHONPATH="$LAPSE_SRC/tools" "$LAPSE_PY" - <<'PY' || fail "4: lane labels"
import numpy as np
import lapse_report as r
got = r.lane_name({"status": np.array([0, 1, 2, 2, 0])}, 3)
assert got == "rank 3\n1 failed\n2 abandoned", repr(got)
assert r.lane_name({"status": np.array([2])}, 0) == "rank 0\n1 abandoned"
assert r.lane_name({"status": np.array([0, 0])}, 1) == "rank 1"
PY
echo "PASS ($TEST_NAME)"
