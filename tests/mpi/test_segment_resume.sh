#!/usr/bin/env bash
# test_segment_resume.sh - issue 9's promises of resume and update for pipelines with global
# steps (tiled, 2 and 3 ranks): a SIGKILL during a reduction round (LAPSE_FAULT=phase) and a
# SIGKILL after a rank's first task (LAPSE_FAULT=after-task) are continued by the same command
# to an output bit-identical to an uninterrupted run (images, tables and their summary, no
# duplicate rows); with rounds in waves of one timepoint a kill in the third wave's rounds
# leaves the first two timepoints done and the resume runs only the others (the dry run lists
# the waves); and updating one timepoint (--timepoints) of a complete output recomputes
# it and leaves every dataset and table bit-identical (the timepoint's rows replaced, not
# added); an update that leaves timepoint 2 without objects removes its rows and keeps every
# other row (the table shrank wrongly and hung 2 ranks before 2026-12-02), and updating back
# restores the reference.
source "$(dirname "$0")/common.sh"
need_device
make_sample

# config FILE OUT
config() {
    cat >"$1" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [9, 31, 37], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1, name: b}
  - {op: threshold_otsu, name: m, save: /mask}
  - {op: connected_components_labeling, name: l}
  - {op: measure_labels, from: l, with: b, name: nuclei}
output: {file: $2, dataset: /labels}
devices: any
YAML
}
CFG=$T/run.yaml OUT=$T/out.h5 REF=$T/ref.h5
config "$T/ref.yaml" "$REF"
config "$CFG" "$OUT"
lapse_run 2 "$T/ref.yaml"
nonconstant "$REF" /labels
# rows FILE TABLE: number of rows of a table
rows() { "$LAPSE_PY" -c "import h5py,sys; print(len(h5py.File(sys.argv[1])[sys.argv[2]]))" "$1" "$2"; }
NROWS=$(rows "$REF" /nuclei)
[ "$NROWS" -gt 0 ] || fail "the reference has no table rows"
[ "$(rows "$REF" /nuclei_summary)" -eq "$NT" ] || fail "the summary has no row per timepoint"

# fault_run N FAULT: the run on N ranks with LAPSE_FAULT=FAULT; it must die.
fault_run() {
    rm -f "$OUT" "$OUT.creating"
    mpirun_argv "$1"
    local rc=0
    LAPSE_FAULT=$2 "${MPIRUN_ARGV[@]}" -x LAPSE_FAULT "$LAPSE" run "$CFG" >"$T/fault.log" 2>&1 ||
        rc=$?
    [ "$rc" -ne 0 ] || { cat "$T/fault.log"; fail "LAPSE_FAULT=$2: the run did not die"; }
    wait_gone "$CFG" 15
}

for f in "2 phase@1" "3 phase@0" "2 after-task@1" "3 after-task@2"; do
    read -r n fault <<<"$f"
    note "LAPSE_FAULT=$fault on $n ranks, then the same command"
    fault_run "$n" "$fault"
    [ -e "$OUT" ] || fail "no output after the kill"
    m=$(marks "$OUT")
    case $fault in phase*) [ "$m" -eq 0 ] || fail "tasks were marked done during the reductions ($m)" ;; esac
    resume_ok "$n" "$CFG" "$OUT" "$REF"
    [ "$(rows "$OUT" /nuclei)" -eq "$NROWS" ] || fail "$fault: the resumed table has duplicate or missing rows"
done

note "rounds in waves of one timepoint (LAPSE_PHASE_MEM=1 KiB): a SIGKILL in the rounds of t=2"
note "(LAPSE_FAULT=round-2-0-t2@1) leaves t=0 and t=1 done, each wave's tasks having run after"
note "its rounds; the same command then runs the rounds and tasks of t=2 and t=3 only"
TILES=$(ntiles 9 31 37)
rm -f "$OUT"
LAPSE_PHASE_MEM=1024 run_ok "$T/dry.log" mpirun_lapse 2 run "$CFG" --dry-run
grep -q "^waves      4 waves of at most 1 timepoint on 2 ranks, each its global steps' rounds then its tasks" "$T/dry.log" ||
    { cat "$T/dry.log"; fail "the dry run does not list the 4 waves of one timepoint"; }
[ ! -e "$OUT" ] || fail "the dry run wrote $OUT"
# a failure in the third wave's rounds (on_error: stop): exit 1, the first two waves done, and
# the rounds' line still printed, saying that not every wave finished
LAPSE_PHASE_MEM=1024 LAPSE_FAULT=fail:round-2-0-t2@1 expect_rc 1 "$T/failed.log" \
    mpirun_lapse 2 run "$CFG"
[ "$(marks "$OUT")" -eq $((2 * TILES)) ] || { cat "$T/failed.log"; fail "a failure in the third wave: not 2 timepoints done"; }
grep -q "global steps: 12 rounds over 2 timepoints x $TILES tiles (2 waves of at most 1 timepoint; not every wave finished)" "$T/failed.log" ||
    { cat "$T/failed.log"; fail "a failure in the third wave: no rounds' line saying so"; }
for n in 2 3; do
    LAPSE_PHASE_MEM=1024 fault_run "$n" round-2-0-t2@1
    m=$(marks "$OUT")
    [ "$m" -eq $((2 * TILES)) ] || { cat "$T/fault.log"; fail "$n ranks: $m tasks done after a kill in the third wave, not $((2 * TILES))"; }
    LAPSE_PHASE_MEM=1024 resume_ok "$n" "$CFG" "$OUT" "$REF" $((2 * TILES))
    grep -q "rounds* over 2 timepoints x $TILES tiles (2 waves of at most 1 timepoint" "$T/resume.log" ||
        { cat "$T/resume.log"; fail "$n ranks: the resume did not run the rounds of the 2 pending timepoints alone"; }
    [ "$(rows "$OUT" /nuclei)" -eq "$NROWS" ] || fail "waves: the resumed table has duplicate or missing rows"
done

# resumed LOG: tasks resumed from a checkpoint, summed over the ranks' LAPSE_PROFILE lines.
resumed() {
    sed -n 's/.*tasks resumed from a checkpoint: \([0-9]*\).*/\1/p' "$1" | awk '{s += $1} END {print s + 0}'
}
note "a resume's rounds run each pending task's tile on the rank its task goes to, also where"
note "the done tasks leave pending ones in a timepoint (static scheduling, LAPSE_FAULT=after-task):"
note "every pending task resumes from the checkpoint its rank kept (LAPSE_PROFILE)"
sed 's/^devices: any$/devices: any\nscheduling: static/' "$CFG" >"$T/static.yaml"
CFG_T=$CFG
CFG=$T/static.yaml
for f in "2 after-task@1" "3 after-task@2" "3 after-task@0"; do
    read -r n fault <<<"$f"
    fault_run "$n" "$fault"
    LAPSE_PROFILE=1 resume_ok "$n" "$CFG" "$OUT" "$REF"
    pending=$(sed -n 's/.* are done, \([0-9]*\) to run.*/\1/p' "$T/resume.log")
    [ -n "$pending" ] && [ "$pending" -gt 0 ] || { cat "$T/resume.log"; fail "$fault: no pending tasks"; }
    [ "$(resumed "$T/resume.log")" -eq "$pending" ] || {
        cat "$T/resume.log"
        fail "$fault: $(resumed "$T/resume.log") of the $pending pending tasks resumed from a checkpoint"
    }
    note "$fault on $n ranks: $pending pending tasks, each resumed from its checkpoint"
done
CFG=$CFG_T

note "timepoints held whole: LAPSE_FAULT=phase@1 (the one round of whole timepoints) on 2 ranks"
sed -e "s/shape: \[9, 31, 37\]/shape: [$NZ, $NY, $NX]/" "$CFG" >"$T/whole.yaml"
CFG_T=$CFG
CFG=$T/whole.yaml
fault_run 2 phase@1
resume_ok 2 "$CFG" "$OUT" "$REF"
[ "$(rows "$OUT" /nuclei)" -eq "$NROWS" ] || fail "whole: the resumed table has duplicate or missing rows"
note "timepoints held whole in waves of one (LAPSE_WAVE_TIMEPOINTS=1): a kill at t=2 leaves t=0, 1 done"
LAPSE_WAVE_TIMEPOINTS=1 fault_run 2 whole-t2
m=$(marks "$OUT")
[ "$m" -eq 2 ] || { cat "$T/fault.log"; fail "whole: $m timepoints done after a kill at t=2 in waves of one, not 2"; }
LAPSE_WAVE_TIMEPOINTS=1 resume_ok 2 "$CFG" "$OUT" "$REF" 2
grep -q "rounds* over 2 timepoints x 1 tile (2 waves of at most 1 timepoint)" "$T/resume.log" ||
    { cat "$T/resume.log"; fail "whole: the resume did not run the 2 pending timepoints alone"; }
[ "$(rows "$OUT" /nuclei)" -eq "$NROWS" ] || fail "whole, waves: the resumed table has duplicate or missing rows"
CFG=$CFG_T
rm -f "$OUT"
lapse_run 2 "$CFG"

note "update of timepoint 2 on 3 ranks"
before=$(marks "$OUT")
run_ok "$T/update.log" mpirun_lapse 3 run "$CFG" --timepoints 2
grep -q "global steps" "$T/update.log" || { cat "$T/update.log"; fail "the update ran no reductions"; }
py h5same.py "$REF" "$OUT" || fail "the updated output differs from the reference"
[ "$(rows "$OUT" /nuclei)" -eq "$NROWS" ] || fail "the update duplicated or lost table rows"
[ "$(marks "$OUT")" -eq "$before" ] || fail "the update left timepoints unmarked"
note "update of timepoint 2 to no objects, then back, on 2 ranks: the table loses and regains its rows"
sed 's/{op: threshold_otsu, name: m, save: \/mask}/{op: threshold_fixed, threshold: 1e9, name: m, save: \/mask}/' \
    "$CFG" >"$T/none.yaml"
grep -q "threshold: 1e9" "$T/none.yaml" || fail "none.yaml has no threshold_fixed"
mpirun_argv 2 # under a time limit: the shrinking table hung 2 ranks in H5Fclose
run_ok "$T/none.log" timeout 300 "${MPIRUN_ARGV[@]}" "$LAPSE" run "$T/none.yaml" --timepoints 2
"$LAPSE_PY" - "$REF" "$OUT" <<'PY' || fail "the table after timepoint 2 lost its objects is wrong"
import sys, h5py, numpy as np
ref, out = (h5py.File(p, "r") for p in sys.argv[1:3])
r, o = ref["/nuclei"][...], out["/nuclei"][...]
want = r[r["timepoint"] != 2]
assert len(want) < len(r), "the reference has no rows of timepoint 2"
assert o.dtype == r.dtype and len(o) == len(want), (len(o), len(want))
assert all(np.array_equal(o[c], want[c], equal_nan=True) for c in r.dtype.names), "rows differ"
s = out["/nuclei_summary"][...]
assert s[s["timepoint"] == 2]["label_count"].tolist() == [0], s
PY
lapse_run 2 "$CFG" --timepoints 2
py h5same.py "$REF" "$OUT" || fail "timepoint 2 updated back differs from the reference"
[ "$(rows "$OUT" /nuclei)" -eq "$NROWS" ] || fail "the table updated back has $(rows "$OUT" /nuclei) rows"
note "a timepoint larger than the device (LAPSE_DEVICE_MEM_LIMIT=1 MiB, tiles: auto), a host budget"
note "of 1 byte for kept boxes and tile data (LAPSE_PHASE_CACHE=1) and waves of one timepoint"
note "(LAPSE_PHASE_MEM=1 KiB) on 2 ranks"
sed -e 's/shape: \[9, 31, 37\]/shape: auto/' -e "s|$OUT|$T/small.h5|" "$CFG" >"$T/small.yaml"
LAPSE_DEVICE_MEM_LIMIT=1048576 LAPSE_PHASE_MEM=1024 LAPSE_PHASE_CACHE=1 run_ok "$T/small.log" \
    mpirun_lapse 2 run \
    "$T/small.yaml"
grep -q "waves* of at most 1 timepoint)" "$T/small.log" || { cat "$T/small.log"; fail "no waves of one timepoint"; }
grep -Eq "x [0-9]{2,} tiles" "$T/small.log" || { cat "$T/small.log"; fail "the timepoint was not cut into tiles"; }
py h5same.py "$REF" "$T/small.h5" || fail "the small-memory run differs"
echo "PASS ($TEST_NAME)"
