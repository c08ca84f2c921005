#!/usr/bin/env bash
# test_info_pending_rows.sh - `lapse info` marks the summary rows ("labels per timepoint") of a
# timepoint whose tasks are not all done "not done", with a note under the table: after an
# update with global steps that failed or was stopped, such a timepoint's rows are the earlier
# run's (a failure before or in the rounds) or the update's own beside images not all written
# (a stop during the tasks), and info showed them as it shows final ones.
# 1. A complete output of the segmentation with measurements: no row marked.
# 2. An update of timepoints 1-2 with another config (sigma 2) that fails before its rounds
#    (LAPSE_FAULT=fail:phases-prepare): exit 1; the rows marked are exactly those of the
#    timepoints with an unmarked task in /lapse/done (1 and 2), and the note is there.
# 3. The same update again, without the fault: exit 0, every task done, no row marked, and the
#    rows of 1-2 are the update's (they changed), those of 0 and 3 not.
source "$(dirname "$0")/common.sh"
need_device
make_sample
OUT=$T/out.h5

# cfg FILE SIGMA [MODE]: the segmentation with measurements, 4 tiles per timepoint.
cfg() {
    cat >"$1" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [$NZ, 40, 50], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: $2}
  - {op: threshold_otsu}
  - {op: connected_components_labeling, name: l, save: /labels}
  - {op: measure_labels, from: l, with: input, name: nuclei}
output: {file: $OUT, dataset: /result${3:+, mode: $3}}
devices: any
YAML
}

# marked LOG: the timepoints of LOG's summary rows marked "not done", comma-separated.
marked() {
    sed -n '/^labels per timepoint/,/^runs:/p' "$1" |
        sed -n 's/^ *\([0-9][0-9]*\) .*  not done$/\1/p' | paste -sd,
}

# open_tps: the timepoints of $OUT with a task not marked done, comma-separated.
open_tps() {
    "$LAPSE_PY" - "$OUT" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    d = f["/lapse/done"][()]
print(",".join(str(t) for t in np.flatnonzero((d != 1).any(axis=1))))
PY
}

# summary: $OUT's /nuclei_summary rows as "t:labels:foreground:threshold" lines.
summary() {
    "$LAPSE_PY" - "$OUT" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    for r in f["/nuclei_summary"][()]:
        print(f"{r['timepoint']}:{r['label_count']}:{r['foreground_voxels']}:{r['threshold']!r}")
PY
}

note "1. a complete output"
cfg "$T/a.yaml" 1
lapse_run 2 "$T/a.yaml"
run_ok "$T/info1.log" "$LAPSE" info "$OUT"
grep -q '^labels per timepoint (/nuclei_summary):' "$T/info1.log" || { cat "$T/info1.log"; fail "1. no summary table"; }
[ -z "$(open_tps)" ] || fail "1. tasks not done: $(open_tps)"
[ -z "$(marked "$T/info1.log")" ] || { cat "$T/info1.log"; fail "1. rows of a complete output marked not done"; }
summary >"$T/sum1.txt"

note "2. an update of 1-2 with another config fails before its rounds"
cfg "$T/b.yaml" 2 update
expect_rc 1 "$T/b.log" "$MPIEXEC" -n 2 --oversubscribe --bind-to none -x POCL_MAX_PTHREAD_COUNT \
    -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM -x LAPSE_FAULT=fail:phases-prepare \
    "$LAPSE" run "$T/b.yaml" --timepoints 1-2
grep -q "injected fault phases-prepare" "$T/b.log" || { cat "$T/b.log"; fail "2. the fault did not fire"; }
run_ok "$T/info2.log" "$LAPSE" info "$OUT"
want=$(open_tps)
got=$(marked "$T/info2.log")
note "timepoints not done: '$want'; rows marked not done: '$got'"
[ -n "$want" ] || fail "2. the failed update left every task done"
[ "$got" = "$want" ] || { cat "$T/info2.log"; fail "2. rows marked '$got', want those of the timepoints not done '$want'"; }
grep -q "^  not done: the timepoint's tasks are not all done" "$T/info2.log" ||
    { cat "$T/info2.log"; fail "2. no note under the table"; }
summary >"$T/sum2.txt"
cmp -s "$T/sum1.txt" "$T/sum2.txt" || fail "2. an update that failed before its rounds changed the rows"

note "3. the update again, without the fault"
lapse_run 2 "$T/b.yaml" --timepoints 1-2
run_ok "$T/info3.log" "$LAPSE" info "$OUT"
[ -z "$(open_tps)" ] || fail "3. tasks not done: $(open_tps)"
[ -z "$(marked "$T/info3.log")" ] || { cat "$T/info3.log"; fail "3. rows of a complete output marked not done"; }
! grep -q "^  not done:" "$T/info3.log" || { cat "$T/info3.log"; fail "3. a note about rows not done"; }
summary >"$T/sum3.txt"
changed=$(diff "$T/sum1.txt" "$T/sum3.txt" | sed -n 's/^> \([0-9]*\):.*/\1/p' | paste -sd,)
[ "$changed" = "1,2" ] || fail "3. the update changed the rows of '$changed', want 1,2"
echo "PASS ($TEST_NAME)"
