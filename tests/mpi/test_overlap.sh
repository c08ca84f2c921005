#!/usr/bin/env bash
# test_overlap.sh - the overlapped task loop (issue 12: task i on the device while the rank reads
# task i+1 and writes task i-1) gives the same output as the loop without overlap, and keeps the
# crash safety of docs/reliability.md.
#
# 1. A reference with LAPSE_OVERLAP=0 on 1 rank (gaussian saved as /blurred, top-hat, threshold;
#    tiles [8, 32, 32]), then the overlapped loop (the default) on 1, 2 and 3 ranks with dynamic
#    scheduling and on 2 and 3 with static: every output bit-identical to the reference, one
#    done row per task covering the image (tasks.py: every time column non-negative and at most
#    t_total), and every row's t_start + t_total within the run. The overlapped runs write their
#    data through the background writer (io/rawwrite.h, the reference through HDF5); one more
#    run with LAPSE_RAW_WRITE=0 (overlapped, every write through HDF5) equals them too.
# 2. A pipeline with a tiled global step (threshold_otsu: the tasks apply per-timepoint results
#    inside the enqueue) overlapped on 2 ranks equals LAPSE_OVERLAP=0 on 1 rank.
# 3. SIGKILL of one random rank of an overlapped 2- and 3-rank run once some tasks are marked:
#    every marked task holds the reference's data (check_done.py), and the same command
#    completes bit-identical to the reference (kill_iteration in common.sh). Then a kill between
#    a task's data and its mark (LAPSE_FAULT=before-mark@1) under overlap: that task is unmarked,
#    the resume completes it.
# LAPSE_TEST_SEED makes the random choices repeatable.
source "$(dirname "$0")/common.sh"
need_device
NT=8
make_sample

TILE="8,32,32"
IFS=, read -r tz ty tx <<<"$TILE"
NTASKS=$((NT * $(ntiles "$tz" "$ty" "$tx")))
SEED=${LAPSE_TEST_SEED:-$$}
RANDOM=$SEED
note "seed $SEED; $NTASKS tasks per run"

# config NAME SCHEDULING
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [$TILE], halo: auto}
pipeline:
  - op: gaussian_blur
    sigma: [1, 1.5, 1.5]
    save: /blurred
  - op: top_hat_box
    radius: [1, 2, 2]
  - op: threshold_fixed
    threshold: 5
output: {file: $T/$1.h5, dataset: /result, dtype: auto, mode: create}
devices: any
scheduling: $2
YAML
}

# t_start + t_total of every row of FILE within WALL seconds (the run's wall from the shell)
rows_within() {
    "$LAPSE_PY" - "$1" "$2" <<'PY' || fail "$1: task rows outside the run's time"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    r = f["/lapse/tasks"][()]
end = r["t_start"] + r["t_total"]
dev = r["t_upload"] + r["t_compute"] + r["t_download"]
print("rows: end %.3f s (wall %.3f s), device %.3f s, wait %.3f s" %
      (end.max(), float(sys.argv[2]), dev.sum(), r["t_wait"].sum()))
sys.exit(0 if np.all(r["t_start"] >= 0) and end.max() <= float(sys.argv[2]) and
         np.all(r["t_wait"] >= 0) else 1)
PY
}

note "1. reference: LAPSE_OVERLAP=0, 1 rank"
config ref dynamic
LAPSE_OVERLAP=0 lapse_run 1 "$T/ref.yaml"
nonconstant "$T/ref.h5" /result /blurred
for run in 1:dynamic 2:dynamic 3:dynamic 2:static 3:static; do
    n=${run%%:*}
    sched=${run#*:}
    name=n${n}_$sched
    config "$name" "$sched"
    note "1. overlapped: $n ranks, $sched scheduling"
    t0=$(date +%s.%N)
    lapse_run "$n" "$T/$name.yaml"
    wall=$(echo "$(date +%s.%N) - $t0" | bc)
    run_ok "$T/tasks.log" py tasks.py "$T/$name.h5" --run-id 1 --count "$NTASKS" --ranks "$n" \
        --cover /result --timepoints "0-$((NT - 1))" --runs 1
    rows_within "$T/$name.h5" "$wall"
    py h5same.py "$T/ref.h5" "$T/$name.h5" || fail "$name (overlapped) differs from LAPSE_OVERLAP=0"
done
note "1. overlapped, 2 ranks, every data write through HDF5 (LAPSE_RAW_WRITE=0)"
config n2_hdf5 dynamic
LAPSE_RAW_WRITE=0 lapse_run 2 "$T/n2_hdf5.yaml"
py h5same.py "$T/ref.h5" "$T/n2_hdf5.h5" || fail "n2_hdf5 (LAPSE_RAW_WRITE=0) differs"

note "2. a tiled global step (threshold_otsu) overlapped on 2 ranks vs LAPSE_OVERLAP=0"
gconfig() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [$TILE], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1, save: /blurred}
  - {op: threshold_otsu}
output: {file: $T/$1.h5, dataset: /result, mode: create}
devices: any
YAML
}
gconfig gref
gconfig gov
LAPSE_OVERLAP=0 lapse_run 1 "$T/gref.yaml"
nonconstant "$T/gref.h5" /result
lapse_run 2 "$T/gov.yaml"
py h5same.py "$T/gref.h5" "$T/gov.h5" || fail "the overlapped global-step run differs"

note "3. SIGKILL in the middle of overlapped runs, then resume"
NT=32
NZ=16
NY=128
NX=128
IN=$T/in2.h5
make_sample
TOTAL=$((NT * $(ntiles 8 64 64)))
REF=$T/kref.h5
kill_config "$T/kref.yaml" "$REF"
LAPSE_OVERLAP=0 lapse_run 1 "$T/kref.yaml"
OUT=$T/out.h5
CFG=$T/run.yaml
kill_config "$CFG" "$OUT"
export LAPSE_OVERLAP=1
for n in 2 3; do
    for maxk in $((TOTAL / 3)) 1 1; do
        note "3. $n ranks overlapped: SIGKILL of one random rank once 1..$maxk tasks are marked"
        kill_iteration "$n" "$CFG" "$OUT" "$REF" "$TOTAL" marks "$maxk"
        note "killed rank $KILL_RANK with $KILL_MARKS tasks marked; resume ran $KILL_RAN" \
            "($KILL_FINAL had final data but no mark)"
        [ "$KILL_MISSED" -eq 0 ] || note "the run had finished before the kill: again"
        [ "$KILL_MARKS" -gt 0 ] || fail "the kill left no marks though it came after one"
        [ "$KILL_MARKS" -eq "$TOTAL" ] || break
    done
    [ "$KILL_MARKS" -lt "$TOTAL" ] || fail "every kill let the run mark all $TOTAL tasks"
done

note "3. LAPSE_FAULT=before-mark@1 on 2 ranks, overlapped"
rm -f "$OUT" "$OUT.creating"
mpirun_argv 2
rc=0
LAPSE_FAULT=before-mark@1 "${MPIRUN_ARGV[@]}" -x LAPSE_FAULT "$LAPSE" run "$CFG" >"$T/fault.log" 2>&1 ||
    rc=$?
[ "$rc" -ne 0 ] || { cat "$T/fault.log"; fail "LAPSE_FAULT=before-mark@1: the run did not die"; }
wait_gone "$CFG" 15
run_ok "$T/check.log" py check_done.py "$OUT" "$REF" --max $((TOTAL - 1)) --min-final-unmarked 1
cat "$T/check.log"
m=$(sed -n 's/^check_done: \([0-9]*\) of .*/\1/p' "$T/check.log")
resume_ok 2 "$CFG" "$OUT" "$REF" $((TOTAL - m))
echo "PASS ($TEST_NAME)"
