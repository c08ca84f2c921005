#!/usr/bin/env bash
# test_skip_global.sh - on_error: skip with global steps (per-timepoint Otsu, labeling,
# measure_labels): a damaged input chunk of one timepoint, read in the rounds of the global
# steps, leaves that timepoint out of them (the rounds run again without it): the run finishes
# with exit 3, that timepoint's tasks are recorded as failed, every other timepoint's images and
# table rows are bit-identical to a clean run's, and after the input is repaired an update of
# that timepoint makes the whole output equal to the clean run's. Cases: tiled rounds (Otsu,
# connected_components_labeling, measure_labels: two passes, one, three); waves of one timepoint
# (LAPSE_PHASE_MEM) with two damaged timepoints in different waves and collective (compressed)
# writes; whole timepoints (one tile: the global steps run whole, capture_whole); on_error:
# stop, which still ends the run with exit 1 naming the failed read and records the task that
# failed; an iterated step (voronoi_otsu_labeling's masked_voronoi_labeling: tile data and the
# state between passes in host memory, rings exchanged); and a task that fails in a later round and pass
# (LAPSE_FAULT=fail:round-STEP-PASS-tT@R): in pass 2 of the iterated step with its tile data and
# state in the output's scratch area (LAPSE_PHASE_CACHE), on 3 ranks with static scheduling, and
# in pass 2 of measure_labels, which runs from the operands kept on the device after pass 0.
# The input is compressed, so on 2 ranks whole timepoints are dealt to each (exec/deal.h);
# case 6 deals tasks round-robin.
source "$(dirname "$0")/common.sh"
need_device
cd "$T" || fail "cd $T"

# good.h5: 5 timepoints of 16 x 48 x 56 uint16 blobs on noise, one gzip chunk per timepoint;
# bad2.h5 with timepoint 2's chunk garbled, bad24.h5 with timepoints 2 and 4's.
"$LAPSE_PY" - <<'PY' || fail "cannot make the inputs"
import shutil
import h5py
import numpy as np
rng = np.random.default_rng(7)
a = np.zeros((5, 16, 48, 56), np.uint16)
zz, yy, xx = np.mgrid[0:16, 0:48, 0:56]
for t in range(5):
    img = rng.integers(100, 300, size=a.shape[1:]).astype(np.float64)
    for _ in range(6 + t):
        cz, cy, cx = rng.uniform(3, 13), rng.uniform(5, 43), rng.uniform(5, 51)
        img += 2000 * np.exp(-((zz - cz) ** 2 / 8 + (yy - cy) ** 2 / 18 + (xx - cx) ** 2 / 18))
    a[t] = img.astype(np.uint16)
with h5py.File("good.h5", "w") as f:
    f.create_dataset("/raw", data=a, chunks=(1, 16, 48, 56), compression="gzip")
for name, tps in (("bad2.h5", (2,)), ("bad24.h5", (2, 4))):
    shutil.copy("good.h5", name)
    with h5py.File(name, "r") as f:
        chunks = [f["/raw"].id.get_chunk_info_by_coord((t, 0, 0, 0)) for t in tps]
    with open(name, "r+b") as fh:
        for c in chunks:
            fh.seek(c.byte_offset + c.size // 3)
            fh.write(b"\xde\xad\xbe\xef" * 16)
PY

# cfg FILE INPUT OUTPUT TILE [EXTRA]: the segmentation with measurements.
cfg() {
    cat >"$1" <<YAML
input: {file: $2, dataset: /raw}
tiles: {shape: [$4], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1}
  - {op: threshold_otsu}
  - {op: connected_components_labeling, name: l, save: /labels}
  - {op: measure_labels, from: l, with: input, name: nuclei}
output: {file: $3, dataset: /result${5:-}}
devices: any
on_error: skip
YAML
}

# same_except OUT TPS...: OUT's images and table rows of every timepoint but TPS equal clean.h5's,
# and OUT has no table row of TPS.
same_except() {
    local out=$1
    shift
    local keep
    keep=$(echo 0 1 2 3 4 "$@" | tr ' ' '\n' | sort | uniq -u | paste -sd,)
    py h5same.py "$out" clean.h5 /result /labels --timepoints "$keep" >same.log 2>&1 ||
        { cat same.log >&2; fail "$out: timepoints $keep differ from the clean run's"; }
    "$LAPSE_PY" - "$out" "$@" <<'PY' || fail "$out: its table rows differ from the clean run's"
import sys
import h5py
import numpy as np
out, gone = sys.argv[1], [int(t) for t in sys.argv[2:]]
with h5py.File(out, "r") as a, h5py.File("clean.h5", "r") as b:
    for name in ("/nuclei", "/nuclei_summary"):
        ra, rb = a[name][:], b[name][:]
        if np.isin(ra["timepoint"], gone).any():
            sys.exit(f"{name}: rows of the failed timepoints {gone}")
        rb = rb[~np.isin(rb["timepoint"], gone)]
        if ra.shape != rb.shape or ra.tobytes() != rb.tobytes():
            sys.exit(f"{name}: {ra.shape[0]} rows, the clean run's {rb.shape[0]}, or their values differ")
PY
}

# failed_in_info OUT TP [N]: `lapse info` shows TP's N (default 8) tasks failed.
failed_in_info() {
    "$LAPSE" info "$1" >info.log 2>&1 || { cat info.log >&2; fail "lapse info $1 failed"; }
    grep -Eq "^  $2: ${3:-8} failed$" info.log || { cat info.log >&2; fail "$1: t=$2's tasks not failed"; }
}

cfg clean.yaml good.h5 clean.h5 "8, 24, 28"
lapse_run 2 clean.yaml

note "1. tiled, 2 ranks, t=2 damaged: exit 3, t=2 failed, the rest equal; an update after repair"
cp bad2.h5 in.h5
cfg c1.yaml in.h5 o1.h5 "8, 24, 28"
expect_rc 3 r1.log mpirun_lapse 2 run c1.yaml
grep -q "global steps: 1 timepoint left out after a failure (on_error: skip): t=2; the rounds run again without it" r1.log ||
    { cat r1.log >&2; fail "1: no word of t=2 left out"; }
grep -Eq "rank [01], global step 2 \(threshold_otsu\) pass 0, task [0-9]+ \(t=2, tile [0-9]+\): reading the input in.h5:/raw failed at timepoint 2" r1.log ||
    { cat r1.log >&2; fail "1: the failed read is not named"; }
grep -Eq "rank [01], task [0-9]+ \(t=2, tile [0-9]+\): timepoint 2 was left out of the global steps, where a task of it failed: reading the input" r1.log ||
    { cat r1.log >&2; fail "1: the tasks of t=2 do not say why they failed"; }
failed_in_info o1.h5 2
grep -Eq "^  0-1: 8 done$" info.log && grep -Eq "^  3-4: 8 done$" info.log ||
    { cat info.log >&2; fail "1: the other timepoints are not done"; }
same_except o1.h5 2
cp good.h5 in.h5 # the repair; the input changed, so the failed timepoint is updated
run_ok r1b.log mpirun_lapse 2 run c1.yaml --timepoints 2
py h5same.py o1.h5 clean.h5 >same.log 2>&1 || { cat same.log >&2; fail "1: repaired output differs"; }
"$LAPSE" info o1.h5 | grep -Eq "^  0-4: 8 done$" || fail "1: not every task done after the update"

note "2. waves of one timepoint, compressed output, t=2 and t=4 damaged in different waves"
cfg c2.yaml bad24.h5 o2.h5 "8, 24, 28" ", compression: gzip"
LAPSE_PHASE_MEM=1024 expect_rc 3 r2.log mpirun_lapse 2 run c2.yaml
grep -q "waves of at most 1 timepoint" r2.log || { cat r2.log >&2; fail "2: not one timepoint per wave"; }
grep -q "1 timepoint left out after a failure (on_error: skip): t=2;" r2.log &&
    grep -q "2 timepoints left out after a failure (on_error: skip): t=2, 4;" r2.log ||
    { cat r2.log >&2; fail "2: t=2 and then t=4 not left out"; }
failed_in_info o2.h5 2
failed_in_info o2.h5 4
same_except o2.h5 2 4

note "3. whole timepoints (one tile), t=2 damaged"
cfg c3.yaml bad2.h5 o3.h5 "16, 48, 56"
expect_rc 3 r3.log mpirun_lapse 2 run c3.yaml
grep -q "1 timepoint left out after a failure (on_error: skip): t=2;" r3.log ||
    { cat r3.log >&2; fail "3: no word of t=2 left out"; }
failed_in_info o3.h5 2 1
same_except o3.h5 2 # tiled == untiled: the clean run is tiled

note "4. on_error: stop: exit 1, the failed read named, its task recorded as failed"
cfg c4.yaml bad2.h5 o4.h5 "8, 24, 28"
sed -i 's/^on_error: skip$/on_error: stop/' c4.yaml
expect_rc 1 r4.log mpirun_lapse 2 run c4.yaml
grep -Eq "global step 2 \(threshold_otsu\) pass 0, task [0-9]+ \(t=2, tile [0-9]+\): reading the input bad2.h5:/raw failed" r4.log ||
    { cat r4.log >&2; fail "4: the failed read is not named"; }
! grep -q "left out" r4.log || { cat r4.log >&2; fail "4: a timepoint left out under on_error: stop"; }
# the task that failed in the rounds has its failed row (one per rank that read t=2), the rest
# are pending
"$LAPSE" info o4.h5 >info.log 2>&1 || { cat info.log >&2; fail "4: lapse info failed"; }
grep -Eq "^  2: [0-9]+ pending, [12] failed$" info.log && grep -Eq "^  0-1: 8 pending$" info.log ||
    { cat info.log >&2; fail "4: the failed task of t=2 is not recorded as failed"; }

# The same checks with an iterated global step: global step 7 is voronoi_otsu_labeling's
# masked_voronoi_labeling, step 8 measure_labels; the reference is clean run of this pipeline.
vcfg() {
    cfg "$@"
    sed -i -e '/^  - {op: /d' -e 's/^pipeline:$/pipeline:\
  - {op: voronoi_otsu_labeling, spot_sigma: 2, outline_sigma: 1, name: l, save: \/labels}\
  - {op: measure_labels, from: l, with: input, name: nuclei}/' "$1"
}
vcfg vclean.yaml good.h5 vclean.h5 "8, 24, 28"
lapse_run 2 vclean.yaml
mv clean.h5 clean_cc.h5 && cp vclean.h5 clean.h5 # same_except compares with clean.h5

note "5. an iterated step, tile data and state in host memory, t=2 damaged"
vcfg c5.yaml bad2.h5 o5.h5 "8, 24, 28"
expect_rc 3 r5.log mpirun_lapse 2 run c5.yaml
grep -q "global step 7 (masked_voronoi_labeling): tile state between passes in host memory" r5.log &&
    grep -q "1 timepoint left out after a failure (on_error: skip): t=2;" r5.log ||
    { cat r5.log >&2; fail "5: not the iterated step in host memory, or t=2 not left out"; }
failed_in_info o5.h5 2
same_except o5.h5 2

note "6. a failure in pass 2 of the iterated step (scratch area), 3 ranks, static scheduling"
# Tasks round-robin (LAPSE_DEAL=tasks; the compressed input would deal whole timepoints): the
# tiles of t=1 on all 3 ranks, and the failure on rank 0.
vcfg c6.yaml good.h5 o6.h5 "8, 24, 28"
echo "scheduling: static" >>c6.yaml
LAPSE_DEAL=tasks LAPSE_PHASE_CACHE=1000 LAPSE_FAULT=fail:round-7-2-t1@0 expect_rc 3 r6.log mpirun_lapse 3 run c6.yaml
grep -q "global step 7 (masked_voronoi_labeling): tile state between passes in the output's scratch area" r6.log &&
    grep -Eq "rank 0, global step 7 \(masked_voronoi_labeling\) pass 2, task [0-9]+ \(t=1, tile [0-9]+\): injected fault round-7-2-t1" r6.log &&
    grep -q "1 timepoint left out after a failure (on_error: skip): t=1;" r6.log ||
    { cat r6.log >&2; fail "6: not the scratch area, or the failure in pass 2 not named, or t=1 not left out"; }
failed_in_info o6.h5 1
same_except o6.h5 1

note "7. a failure in pass 2 of measure_labels (its kept operands) on rank 1"
vcfg c7.yaml good.h5 o7.h5 "8, 24, 28"
LAPSE_FAULT=fail:round-8-2-t3@1 expect_rc 3 r7.log mpirun_lapse 2 run c7.yaml
grep -q "1 timepoint left out after a failure (on_error: skip): t=3;" r7.log ||
    { cat r7.log >&2; fail "7: t=3 not left out"; }
failed_in_info o7.h5 3
same_except o7.h5 3

note "8. the device refuses the memory of the rounds' kept operands (an optional cache): not a failure"
vcfg c8.yaml good.h5 o8.h5 "8, 24, 28"
LAPSE_FAULT=fail:opcache@1 run_ok r8.log mpirun_lapse 2 run c8.yaml
grep -q "lapse: rank 1: no more operands of global steps kept on the device" r8.log ||
    { cat r8.log >&2; fail "8: the refused cache not noted"; }
! grep -q "left out" r8.log || { cat r8.log >&2; fail "8: a timepoint left out for a cache"; }
py h5same.py o8.h5 clean.h5 >same.log 2>&1 || { cat same.log >&2; fail "8: the output differs"; }
echo "PASS ($TEST_NAME)"
