#!/usr/bin/env bash
# test_update.sh - re-running selected timepoints into an existing output (output.mode).
#
# 1. A full run (mode create) writes all timepoints; a copy is kept.
# 2. Re-running the same config (mode create) with --timepoints: nothing to do, the file alone,
#    and a note that mode create recomputes nothing (update does).
# 3. mode: update with `--timepoints 1`, nothing else changed: every dataset is bit-identical to
#    the copy, and the task table gains rows of run 2 for timepoint 1 only (run 1's rows stay).
# 4. mode: update with `timepoints: "2"` in the config: same, run 3, timepoint 2.
# 5. mode: update, --timepoints 1, a higher threshold: timepoint 1 of /result changes (and
#    matches the SciPy reference for the new threshold), every other timepoint and the saved
#    step (not affected by the threshold) stay bit-identical.
# 6. Mixed configs: updates with the output's own config (3, 4) printed no note; the update with
#    another threshold (5) printed one naming the timepoints it rewrote; `lapse info` labels each
#    run with its config (A, B) and says that the runs used 2 configs.
# 7. An explicit mode: overwrite with --timepoints 1 on the output holding timepoints 0..NT-1:
#    refused (exit 2, also with --dry-run) naming output.mode (file:line:column) and the
#    timepoints it would lose, the file byte-identical. Allowed: --timepoints selecting every
#    finished timepoint (the output is replaced, equal to the copy); no output; an output whose
#    only finished timepoint (1) is selected. The config's own timepoints: "1" with overwrite is
#    refused the same way (a subset re-run by editing the YAML must not lose the others).
# 8. An update implied by --timepoints (no output.mode) killed after one task: `lapse plan` with
#    the same selection says it continues the unfinished update, with another selection that it
#    recomputes, and without --timepoints that it continues the output (create).
# 9. The input changed after timepoints 0-1 were written: a plain run is refused (exit 2); an
#    update of timepoint 0 says that timepoint 1 keeps the old input's results, the next plain
#    run warns of it, `lapse info` numbers each run's input; once timepoint 1 is recomputed
#    nothing is said; an update whose config no longer saves /blurred says that /blurred keeps
#    the old results; one that saves /blurred2 instead is refused (exit 2, the file untouched)
#    without first printing those notes. (6 also: config A recomputing config B's timepoint ends the warning.)
# 10. An update with another config killed after its first task (a killed run appends no task
#     rows); a plain run of that config is refused naming the update and its --timepoints; the
#     update continued: the warning names the killed run's timepoint and the continuation's.
# 11. The input grew by a timepoint (an acquisition still running): a plain run and an update
#     are refused (exit 2) saying so - the output keeps its timepoints - not that the config
#     differs, and neither advises the update that cannot work; the output is untouched.
# 12. The same input spelled otherwise (relative from another directory, with ./ and .., through
#     a linked directory): the complete output is this config's (nothing to do, untouched), not
#     "a different config". Its directory moved and a link left in its place: the output records
#     the fingerprint of the path as it was spelled, which still names it, so it still continues.
# 13. An update killed after its first task, then the input's timepoint rewritten again, then the
#     same update: it recomputes the timepoint from the input as it is now (before: it continued,
#     keeping the killed run's task of the older data, and the timepoint was done with results of
#     two inputs - and the input sum of only one).
# 14. Config B's update of timepoint 1 killed after its first task, then an update of timepoint 2
#     with config A, then a plain run of A: refused (timepoint 1 is half of each config), then
#     the advised update recomputes it.
source "$(dirname "$0")/common.sh"
need_device
make_sample
OUT=$T/out.h5

# config NAME MODE THRESHOLD [TIMEPOINTS]
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: /raw}
timepoints: "${4:-all}"
tiles: {shape: [8, 32, 32]}
pipeline:
  - {op: gaussian_blur, sigma: [1, 1.5, 1.5], save: /blurred}
  - {op: threshold_fixed, threshold: $3}
output: {file: $OUT, dataset: /result, mode: $2}
devices: any
YAML
}

# Thresholds at the 50th and 80th percentile of the blurred timepoint 1.
read -r THR1 THR2 < <("$LAPSE_PY" - "$IN" <<'PY'
import sys, h5py, numpy as np
from scipy import ndimage
b = ndimage.gaussian_filter(h5py.File(sys.argv[1], "r")["/raw"][1].astype(float),
                            (1, 1.5, 1.5), mode="nearest")
print("%.3f %.3f" % (np.percentile(b, 50) + 0.0625, np.percentile(b, 80) + 0.0625))
PY
) || fail "cannot compute thresholds"
ALL="0-$((NT - 1))"
NTILES=$(ntiles 8 32 32)

note "1. full run"
config full create "$THR1"
lapse_run 2 "$T/full.yaml"
cp "$OUT" "$T/copy.h5"
run_ok "$T/tasks.log" py tasks.py "$OUT" --run-id 1 --timepoints "$ALL" --count $((NT * NTILES)) --runs 1
nonconstant "$OUT" /result

note "2. mode create on a complete output of the same config: nothing to do"
before=$(sha "$OUT")
expect_rc 0 "$T/create.log" mpirun_lapse 1 run "$T/full.yaml" --timepoints 1
grep -q 'nothing to do' "$T/create.log" || { cat "$T/create.log"; fail "no 'nothing to do' message"; }
grep -q "note: the config's output.mode: create continues an output .* set output.mode: update" \
    "$T/create.log" || { cat "$T/create.log"; fail "--timepoints with mode create: no note that it recomputes nothing"; }
[ "$(sha "$OUT")" = "$before" ] || fail "mode create changed the existing output"

note "3. mode update, --timepoints 1, nothing changed"
config upd update "$THR1"
lapse_run 2 "$T/upd.yaml" --timepoints 1
! grep -q "holds results of another config" "$T/last.log" ||
    fail "an update with the output's own config printed the other-config note"
py h5same.py "$T/copy.h5" "$OUT" || fail "re-running timepoint 1 unchanged changed the output"
run_ok "$T/tasks.log" py tasks.py "$OUT" --run-id 2 --timepoints 1 --count "$NTILES" --runs 2
run_ok "$T/tasks.log" py tasks.py "$OUT" --run-id 1 --timepoints "$ALL" --count $((NT * NTILES))

note "4. mode update, timepoints: \"2\" in the config"
config upd_cfg update "$THR1" 2
lapse_run 1 "$T/upd_cfg.yaml"
! grep -q "holds results of another config" "$T/last.log" ||
    fail "an update with the output's own config printed the other-config note"
py h5same.py "$T/copy.h5" "$OUT" || fail "re-running timepoint 2 unchanged changed the output"
run_ok "$T/tasks.log" py tasks.py "$OUT" --run-id 3 --timepoints 2 --count "$NTILES" --runs 3

note "5. mode update, --timepoints 1, threshold $THR1 -> $THR2"
config upd_thr update "$THR2"
lapse_run 2 "$T/upd_thr.yaml" --timepoints 1
cp "$T/last.log" "$T/upd_thr.log"
others=$(
    "$LAPSE_PY" -c "print(','.join(str(t) for t in range($NT) if t != 1))"
)
py h5same.py "$T/copy.h5" "$OUT" --timepoints "$others" ||
    fail "timepoints other than 1 changed in update mode"
py h5same.py "$T/copy.h5" "$OUT" /blurred || fail "/blurred changed though its step did not"
if py h5same.py "$T/copy.h5" "$OUT" /result --timepoints 1 >"$T/same.log"; then
    fail "timepoint 1 of /result did not change with the new threshold"
fi
py reference.py "$T/upd_thr.yaml" --timepoints 1 || fail "updated timepoint 1 is wrong"
run_ok "$T/tasks.log" py tasks.py "$OUT" --run-id 4 --timepoints 1 --count "$NTILES" --runs 4

note "6. mixed configs: the note and lapse info's labels"
grep -q "note: .*holds results of another config.*writes timepoints 1 with this one" \
    "$T/upd_thr.log" || { cat "$T/upd_thr.log"; fail "no other-config note for the update of 5"; }
run_ok "$T/info.log" "$LAPSE" info "$OUT"
for r in "1: .*timepoints $ALL, config A" "2: .*timepoints 1, config A" "3: .*timepoints 2, config A" \
    "4: .*timepoints 1, config B"; do
    grep -Eq "^  run $r\$" "$T/info.log" || { cat "$T/info.log"; fail "info: no line 'run $r'"; }
done
grep -q "these runs used 2 different configs" "$T/info.log" ||
    { cat "$T/info.log"; fail "info: no note on the 2 configs"; }
# config A again (mode create): nothing to do, but timepoint 1 holds config B's results: said
before=$(sha "$OUT")
expect_rc 0 "$T/againA.log" mpirun_lapse 1 run "$T/full.yaml"
grep -q 'nothing to do' "$T/againA.log" || { cat "$T/againA.log"; fail "config A again: no 'nothing to do'"; }
grep -q "warning: .* holds results of another config: run 4 (timepoints 1) recomputed timepoints with a different one" \
    "$T/againA.log" || { cat "$T/againA.log"; fail "config A again: no warning of config B's timepoint"; }
[ "$(sha "$OUT")" = "$before" ] || fail "config A again changed the output"
# timepoint 1 recomputed with config A: no run of config B holds a result any more
lapse_run 1 "$T/upd.yaml" --timepoints 1
expect_rc 0 "$T/againA2.log" mpirun_lapse 1 run "$T/full.yaml"
! grep -q "holds results of another config" "$T/againA2.log" ||
    { cat "$T/againA2.log"; fail "config A again: warned of config B though A recomputed its timepoint"; }

note "7. mode: overwrite with --timepoints on an output holding other timepoints"
config ovw overwrite "$THR1"
before=$(sha "$OUT")
for dry in "" --dry-run; do
    expect_rc 2 "$T/ovw.log" mpirun_lapse 1 run "$T/ovw.yaml" --timepoints 1 $dry
    [ "$(sha "$OUT")" = "$before" ] || fail "refused overwrite $dry changed the output"
    grep -Eq "ovw\.yaml:[0-9]+:[0-9]+: output\.mode: .*lose the results of $((NT - 1)) timepoints .*\(0, 2-$((NT - 1))\).*mode: update.*drop --timepoints" \
        "$T/ovw.log" || { cat "$T/ovw.log"; fail "refusal $dry does not name output.mode and the lost timepoints"; }
done
# the same selection as the config's own timepoints: key (a subset re-run by editing the YAML)
sed 's|^timepoints: .*|timepoints: "1"|' "$T/ovw.yaml" >"$T/ovw_tp.yaml"
expect_rc 2 "$T/ovw_tp.log" mpirun_lapse 1 run "$T/ovw_tp.yaml"
[ "$(sha "$OUT")" = "$before" ] || fail "refused overwrite (config timepoints:) changed the output"
grep -Eq "ovw_tp\.yaml:[0-9]+:[0-9]+: output\.mode: overwrite with the config's timepoints: .*lose the results of $((NT - 1)) timepoints .*drop timepoints:" \
    "$T/ovw_tp.log" || { cat "$T/ovw_tp.log"; fail "config timepoints: with overwrite not refused"; }
lapse_run 1 "$T/ovw.yaml" --timepoints "$ALL"
py h5same.py "$T/copy.h5" "$OUT" || fail "overwrite of every timepoint differs from the first run"
rm -f "$OUT"
lapse_run 1 "$T/ovw.yaml" --timepoints 1
lapse_run 1 "$T/ovw.yaml" --timepoints 1
run_ok "$T/tasks.log" py tasks.py "$OUT" --run-id 1 --timepoints 1 --count "$NTILES" --runs 1
note "8. lapse plan's label of an update that --timepoints implies (no output.mode), interrupted"
sed 's/, mode: overwrite//' "$T/ovw.yaml" >"$T/nomode.yaml"
! grep -q 'mode:' "$T/nomode.yaml" || fail "nomode.yaml has a mode"
rc=0
LAPSE_FAULT=after-task "$LAPSE" run "$T/nomode.yaml" --timepoints 2 >"$T/fault.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/fault.log"; fail "LAPSE_FAULT=after-task: the update did not die"; }
for args in "--timepoints 2:update: continuing its unfinished run" \
    "--timepoints 3:update: the selected timepoints are recomputed" \
    ":create: continuing the existing output"; do
    run_ok "$T/plan.log" "$LAPSE" plan "$T/nomode.yaml" ${args%%:*}
    grep -qF "(mode ${args#*:})" "$T/plan.log" ||
        { grep '^output' "$T/plan.log"; fail "plan ${args%%:*}: not labelled '${args#*:}'"; }
done
note "9. a changed input: an update says which timepoints keep the old input's results, later runs warn"
MIX=$T/mix.h5
cp "$IN" "$T/inA.h5"
sed "s|file: $IN,|file: $T/inA.h5,|; s|file: $OUT,|file: $MIX,|; s|, mode: overwrite||" "$T/ovw.yaml" \
    >"$T/mix.yaml"
lapse_run 1 "$T/mix.yaml" --timepoints 0-1
"$LAPSE_PY" -c "import h5py, sys; d = h5py.File(sys.argv[1], 'r+')['/raw']; d[...] = d[...][::-1]" \
    "$T/inA.h5" || fail "cannot change the input"
expect_rc 2 "$T/mix1.log" mpirun_lapse 1 run "$T/mix.yaml"
grep -q "continuing would mix results of the old and the new input" "$T/mix1.log" ||
    { cat "$T/mix1.log"; fail "a plain run on the changed input was not refused"; }
lapse_run 1 "$T/mix.yaml" --timepoints 0
grep -q "note: .* holds results computed from another input: the timepoints this update does not select keep them: run 1 (timepoints 1) read" \
    "$T/last.log" || { cat "$T/last.log"; fail "the update from a changed input said nothing of timepoint 1"; }
lapse_run 1 "$T/mix.yaml"
grep -q "warning: .* holds results computed from another input: run 1 (timepoints 1) read" \
    "$T/last.log" || { cat "$T/last.log"; fail "the run after the update did not warn of timepoint 1"; }
run_ok "$T/info.log" "$LAPSE" info "$MIX"
for r in "1: .*timepoints 0-1, input 1" "2: .*timepoints 0, input 2" "3: .*, input 2"; do
    grep -Eq "^  run $r\$" "$T/info.log" || { cat "$T/info.log"; fail "info: no line 'run $r'"; }
done
grep -q "these runs read 2 different versions of the input" "$T/info.log" ||
    { cat "$T/info.log"; fail "info: no note on the 2 inputs"; }
lapse_run 1 "$T/mix.yaml" --timepoints 1
lapse_run 1 "$T/mix.yaml"
! grep -q "another input" "$T/last.log" ||
    { cat "$T/last.log"; fail "warned of another input though every timepoint was recomputed"; }
# an update whose config no longer saves /blurred: said, since /blurred keeps the old results
sed 's|, save: /blurred||' "$T/mix.yaml" >"$T/nosave.yaml"
lapse_run 1 "$T/nosave.yaml" --timepoints 0
grep -q "note: this config does not write /blurred of .*: at the timepoints this update rewrites (0) they keep" \
    "$T/last.log" || { cat "$T/last.log"; fail "an update without the save of /blurred said nothing"; }
# an update that saves to a dataset the output lacks is refused, without first describing the
# update (the note on /blurred) or the output's other runs
sed 's|save: /blurred|save: /blurred2|' "$T/mix.yaml" >"$T/newsave.yaml"
before=$(sha "$OUT")
expect_rc 2 "$T/newsave.log" mpirun_lapse 1 run "$T/newsave.yaml" --timepoints 1
grep -q "has no dataset /blurred2, which this run writes" "$T/newsave.log" ||
    { cat "$T/newsave.log"; fail "the update saving /blurred2 was not refused for it"; }
! grep -q "note: \|warning: " "$T/newsave.log" ||
    { cat "$T/newsave.log"; fail "the refused update printed notes on what it would do"; }
[ "$(sha "$OUT")" = "$before" ] || fail "the refused update changed the output"
note "10. an update of another config killed after its first task: its results are still named"
K=$T/killed.h5
config kA create "$THR1"
config kB update "$THR2"
sed -i "s|file: $OUT,|file: $K,|" "$T/kA.yaml" "$T/kB.yaml"
lapse_run 1 "$T/kA.yaml"
rc=0
LAPSE_FAULT=after-task "$LAPSE" run "$T/kB.yaml" --timepoints 0-1 >"$T/kfault.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/kfault.log"; fail "LAPSE_FAULT=after-task: the update did not die"; }
# a plain run of config B (no output.mode, no --timepoints) names the unfinished update and its
# timepoints, not only "made by a different config" with overwrite as a way out
config kBn create "$THR2"
sed -i "s|file: $OUT,|file: $K,|; s|, mode: create}|}|" "$T/kBn.yaml"
before=$(sha "$K")
expect_rc 2 "$T/kBn.log" mpirun_lapse 1 run "$T/kBn.yaml"
grep -q "was an update with this config of timepoints 0-1 and did not finish.*add --timepoints 0-1" \
    "$T/kBn.log" || { cat "$T/kBn.log"; fail "the plain run does not name the unfinished update"; }
[ "$(sha "$K")" = "$before" ] || fail "the refused plain run changed the output"
lapse_run 1 "$T/kBn.yaml" --timepoints 0-1 # continues the killed update (its rows are lost)
expect_rc 0 "$T/kA2.log" mpirun_lapse 1 run "$T/kA.yaml"
grep -q "holds results of another config: run 2 (timepoints 0), run 3 (timepoints 0-1) recomputed" \
    "$T/kA2.log" || { cat "$T/kA2.log"; fail "the killed update's timepoint is not named"; }

note "11. the input grew by a timepoint: a one-file output does not grow, saying so (test_grow.sh grows outputs with parts)"
G=$T/grow.h5
NT=$((NT + 1)) make_sample "$T/grown.h5"
sed "s|file: $K,|file: $G,|" "$T/kA.yaml" >"$T/grow.yaml"
sed "s|file: $IN,|file: $T/grown.h5,|" "$T/grow.yaml" >"$T/grown.yaml"
lapse_run 1 "$T/grow.yaml"
cp "$G" "$T/grow.copy"
for args in "" "--timepoints $NT"; do
    expect_rc 2 "$T/g.log" mpirun_lapse 1 run "$T/grown.yaml" $args
    grep -q "output $G has $NT timepoints but the input $T/grown.h5 now has $((NT + 1)): an output in one file cannot grow with its input.*use output.parts: timepoints" "$T/g.log" ||
        { cat "$T/g.log"; fail "11 ($args): the grown input not named, or no advice"; }
    ! grep -q "different config\|or update to" "$T/g.log" || { cat "$T/g.log"; fail "11: misleading advice"; }
    cmp -s "$G" "$T/grow.copy" || fail "11: the refused run changed the output"
done

note "12. the same input spelled otherwise: the output continues"
S=$T/spell
mkdir -p "$S/d"
cp -p "$IN" "$S/d/in.h5"
ln -s d "$S/link"
P=$T/spell.h5
in_spell() { (cd "$S" && "$@"); }
sed -e "s|file: $K,|file: $P,|" -e "s|file: $IN,|file: $S/d/in.h5,|" "$T/kA.yaml" >"$S/abs.yaml"
lapse_run 1 "$S/abs.yaml"
cp "$P" "$T/spell.copy"
for f in d/in.h5 ./d/../d/in.h5 "$S/link/in.h5" link/../d/in.h5; do
    sed "s|file: $S/d/in.h5,|file: $f,|" "$S/abs.yaml" >"$S/alt.yaml"
    expect_rc 0 "$T/sp.log" in_spell mpirun_lapse 1 run "$S/alt.yaml"
    grep -q 'nothing to do' "$T/sp.log" || { cat "$T/sp.log"; fail "12 ($f): not this config's output"; }
    cmp -s "$P" "$T/spell.copy" || fail "12 ($f): the output changed"
done
mv "$S/d" "$S/moved"
ln -s moved "$S/d"
expect_rc 0 "$T/sp.log" mpirun_lapse 1 run "$S/abs.yaml"
grep -q 'nothing to do' "$T/sp.log" || { cat "$T/sp.log"; fail "12: the moved directory's output refused"; }
note "13. an interrupted update continued onto a changed input: recomputed, not mixed"
U=$T/umix.h5
cp "$IN" "$T/inU.h5"
for m in create update; do
    config "u$m" "$m" "$THR1"
    sed -i "s|file: $IN,|file: $T/inU.h5,|; s|file: $OUT,|file: $U,|" "$T/u$m.yaml"
done
lapse_run 1 "$T/ucreate.yaml"
# rewrite_tp1 HOW: timepoint 1 of the input changes everywhere (an acquisition rewrote it)
rewrite_tp1() {
    "$LAPSE_PY" - "$T/inU.h5" "$1" <<'PY' || fail "13: cannot change the input"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    d = f["raw"]
    d[1] = d[1][:, ::-1, ::-1] if sys.argv[2] == "flip" else d[1] // 2
PY
}
rewrite_tp1 flip
rc=0
LAPSE_FAULT=after-task "$LAPSE" run "$T/uupdate.yaml" --timepoints 1 >"$T/ufault.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/ufault.log"; fail "13: LAPSE_FAULT=after-task: the update did not die"; }
rewrite_tp1 half
lapse_run 1 "$T/uupdate.yaml" --timepoints 1
grep -q "note: the input .* changed since the unfinished update of timepoints 1 on .* recomputes them" \
    "$T/last.log" || { cat "$T/last.log"; fail "13: the update did not say that it recomputes"; }
cp "$T/inU.h5" "$T/inR.h5"
sed "s|file: $T/inU.h5,|file: $T/inR.h5,|; s|file: $U,|file: $T/uref.h5,|" "$T/ucreate.yaml" \
    >"$T/uref.yaml"
lapse_run 1 "$T/uref.yaml"
"$LAPSE_PY" - "$U" "$T/uref.h5" <<'PY' || fail "13: timepoint 1 holds results of the older input"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    for d in ("/result", "/blurred"):
        assert np.array_equal(a[d][1], b[d][1]), d
    assert a["/lapse/done"][1].all()
    assert a["/lapse/input_sums"][1] == b["/lapse/input_sums"][1]
PY
note "14. a timepoint half done by another config's update, then another run: not finished mixed"
# config A made the output; config B's update of timepoint 1 was killed after its first task; an
# update of timepoint 2 with A finished (the last run is no longer B's); a plain run of A would
# finish timepoint 1's other tiles with A, leaving it half of each config's results (before
# 2026-12-05 it did, exit 0): refused, naming the timepoint and the run, nothing written; then
# the advised update with A recomputes it, equal to A made at once.
H=$T/half.h5
config hA create "$THR1"
config hB update "$THR2"
config hAn create "$THR1"
sed -i "s|file: $OUT,|file: $H,|" "$T/hA.yaml" "$T/hB.yaml"
sed -i "s|file: $OUT,|file: $H,|; s|, mode: create}|}|" "$T/hAn.yaml"
lapse_run 1 "$T/hA.yaml"
rc=0
LAPSE_FAULT=after-task "$LAPSE" run "$T/hB.yaml" --timepoints 1 >"$T/hfault.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/hfault.log"; fail "14: LAPSE_FAULT=after-task: the update did not die"; }
lapse_run 1 "$T/hAn.yaml" --timepoints 2
before=$(sha "$H")
expect_rc 2 "$T/hmix.log" mpirun_lapse 1 run "$T/hAn.yaml"
grep -q "timepoint 1 of $H was partly computed by run 2 with another config, which did not finish.*--timepoints 1" \
    "$T/hmix.log" || { cat "$T/hmix.log"; fail "14: the half-done timepoint is not named"; }
[ "$(sha "$H")" = "$before" ] || fail "14: the refused run changed the output"
lapse_run 1 "$T/hAn.yaml" --timepoints 1
lapse_run 1 "$T/hAn.yaml"
grep -q "nothing to do" "$T/last.log" || { cat "$T/last.log"; fail "14: the output is not complete"; }
sed "s|file: $H,|file: $T/href.h5,|" "$T/hA.yaml" >"$T/href.yaml"
lapse_run 1 "$T/href.yaml"
py h5same.py "$T/href.h5" "$H" >"$T/same.log" || { cat "$T/same.log"; fail "14: not config A's results"; }
echo "PASS ($TEST_NAME)"
