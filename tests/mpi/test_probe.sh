#!/usr/bin/env bash
# test_probe.sh - `lapse plan CONFIG --probe [--json]` (src/exec/probe.c): one real task on the
# device and the prediction of the run. Checks (tests/py/probe_check.py) that the JSON holds every
# field, that the probe task is the middle timepoint's first tile, that the per-task phases,
# totals, model limits, rounds and bound follow the stated model from the measured phases, that
# nothing is written (no output, no BigDataViewer XML, no temporary file left; an existing output
# keeps its bytes), that bad configs and options exit 2; then runs the real jobs (1 and 2 ranks,
# a blur + top-hat and a segmentation with global steps) and checks the prediction of the tasks'
# time is within 0.2x-5x (0.1x-5x with the rounds of global steps) of the "tasks in S s" they
# report. The factor is generous on purpose:
# under PoCL on a shared CPU the timings of tasks of a few milliseconds are noisy, and the rounds
# of global steps are a deliberately rough estimate.
source "$(dirname "$0")/common.sh"
need_device
cd "$T" || fail "cd $T"
make_sample

# probe_json LOG N ARGS...: `lapse plan ARGS --probe --json` on N ranks, stdout into LOG.json.
probe_json() {
    local log=$1 n=$2
    shift 2
    local rc=0
    mpirun_lapse "$n" plan "$@" --probe --json >"$log.json" 2>"$log.err" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$log.json" "$log.err" >&2; fail "exit $rc from plan $* --probe"; }
}

# nothing_written DIR NAME: no output NAME.h5, no NAME.xml, no temporary file of the probe.
nothing_written() {
    [ ! -e "$1/$2.h5" ] || fail "the probe created $1/$2.h5"
    [ ! -e "$1/$2.xml" ] || fail "the probe created $1/$2.xml"
    ! ls -a "$1" | grep -q '^\.lapse-probe-' || fail "a temporary file of the probe was left in $1"
    ! ls -a "$1" | grep -q "^$2\.h5\.creating" || fail "the probe started creating $2.h5"
}

# measured LOG: the seconds of "run N done: K tasks in S s" in LOG.
measured() { sed -n 's/.*done: [0-9]* tasks in \([0-9.]*\) s.*/\1/p' "$1"; }

note "1. blur + top-hat, 1 rank: text report and JSON, nothing written"
kill_config blur.yaml "$T/blur.h5"
run_ok text.log "$LAPSE" plan blur.yaml --probe
cat text.log
for w in "^probe " "^  cold " "^  warm " "^  per task " "^predicted " "^bound " "^checklist " \
    "^advice "; do
    grep -q "$w" text.log || fail "1: the text report lacks '$w'"
done
probe_json p1 1 blur.yaml
cat p1.json
py probe_check.py p1.json --ntasks $((NT * $(ntiles 8 64 64))) --ntps $NT --ranks 1 --rpg 1 \
    --tile 8,64,64 || fail "1: the JSON does not follow the model"
nothing_written "$T" blur

note "2. -n 4 --ranks-per-gpu 2 changes the model, not the measurement"
probe_json p2 1 blur.yaml -n 4 --ranks-per-gpu 2
py probe_check.py p2.json --ntasks $((NT * $(ntiles 8 64 64))) --ntps $NT --ranks 4 --rpg 2 \
    --tile 8,64,64 || fail "2: the JSON does not follow the model"
nothing_written "$T" blur

note "2a. more ranks than tasks: a task is not split (at least one task's time; advice capped)"
probe_json p2a 1 blur.yaml --timepoints 0 -n 64
py probe_check.py p2a.json --ntasks "$(ntiles 8 64 64)" --ntps 1 --ranks 64 --rpg 1 \
    --tile 8,64,64 || fail "2a: the JSON does not follow the model"
"$LAPSE_PY" - p2a.json "$(ntiles 8 64 64)" <<'PY' || fail "2a: more GPUs advised than tasks"
import json, sys
d, n = json.load(open(sys.argv[1])), int(sys.argv[2])
assert d["advice"]["gpus"] <= n and d["advice"]["ranks"] <= n, (d["advice"], n)
# printed to 6 digits, the tasks' time as the total less the setup: a relative 1e-5 of slack
assert d["predicted_tasks_s"] >= d["rank_task_s"] * (1 - 1e-5), (d["predicted_tasks_s"],
                                                                  d["rank_task_s"])
PY

note "2b. LAPSE_OVERLAP=0: a rank runs the phases of a task one after another"
LAPSE_OVERLAP=0 probe_json p2b 1 blur.yaml
py probe_check.py p2b.json --ntasks $((NT * $(ntiles 8 64 64))) --ntps $NT --ranks 1 --rpg 1 \
    --tile 8,64,64 --overlap 0 || fail "2b: the JSON does not follow the model"

note "3. 2 MPI ranks: the MPI size is the rank count"
probe_json p3 2 blur.yaml
py probe_check.py p3.json --ntasks $((NT * $(ntiles 8 64 64))) --ntps $NT --ranks 2 \
    --tile 8,64,64 || fail "3: the JSON does not follow the model"
nothing_written "$T" blur

note "4. the real runs against the prediction (0.2x-5x)"
# compare_best N JSON: the real run on N ranks (a fresh output each time), up to 3 times, until
# the fastest so far is within the prediction's bounds: other load on the machine (CI runs
# other tests beside this one) only slows a run down (5.58x once, 2026-12-05).
compare_best() {
    local n=$1 json=$2 best="" m i
    for i in 1 2 3; do
        rm -f blur.h5 blur.xml blur.bdv.h5
        lapse_run "$n" blur.yaml
        m=$(measured "$T/last.log")
        best=$(awk -v a="$best" -v b="$m" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }')
        py probe_check.py "$json" --compare "$best" && return 0
    done
    return 1
}
compare_best 1 p1.json || fail "4: 1 rank"
compare_best 2 p3.json || fail "4: 2 ranks"

note "5. an existing output keeps its bytes; a done output has nothing to do"
before=$(sha blur.h5)
probe_json p5 1 blur.yaml
[ "$(sha blur.h5)" = "$before" ] || fail "5: the probe changed blur.h5"
py probe_check.py p5.json --ntasks 0 --ntps $NT --ranks 1 --tile 8,64,64 || fail "5: done output"
run_ok p5t.log "$LAPSE" plan blur.yaml --probe # the text: no time of no tasks printed as -0.00
grep -q "ranks 0.00 s, storage 0.00 s, device 0.00 s" p5t.log && ! grep -q -- "-0\.0" p5t.log ||
    { cat p5t.log; fail "5: the done output's model times are not 0.00 s"; }
! ls -a "$T" | grep -q '^\.lapse-probe-' || fail "5: a temporary file was left"

note "6. global steps over several tiles: rounds (an estimate), then the real run"
mkdir -p seg
cat >seg.yaml <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [12, 40, 48], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1}
  - {op: threshold_otsu}
  - {op: connected_components_labeling}
output: {file: $T/seg/seg.h5, dataset: /result}
devices: any
YAML
probe_json p6 1 seg.yaml
py probe_check.py p6.json --ntasks $((NT * $(ntiles 12 40 48))) --ntps $NT --ranks 1 \
    --tile 12,40,48 --global-steps 2 || fail "6: the JSON does not follow the model"
nothing_written "$T/seg" seg
# The rounds' estimate counts the whole pipeline in every pass (a round runs only the steps up to
# its global step, and operands stay on the device): it is high by design, measured / predicted
# was 0.2-0.55 here, so the lower bound is 0.1. Under CI's other tests a probe or a run can be
# slowed several times over (0.09 once: a probe of 0.88 s, a run of 0.08 s), so a new probe and
# a new run are tried up to 3 times, as case 4 takes the fastest of 3 runs.
ok6=0
for i in 1 2 3; do
    [ "$i" -eq 1 ] || probe_json p6 1 seg.yaml
    rm -rf seg && mkdir -p seg
    lapse_run 1 seg.yaml
    if py probe_check.py p6.json --compare "$(measured "$T/last.log")" --low 0.1; then
        ok6=1
        break
    fi
done
[ "$ok6" -eq 1 ] || fail "6: segmentation"

note "7. errors exit 2 and write nothing"
sed "s#$IN#$T/nope.h5#" blur.yaml >bad.yaml
sed -i "s#$T/blur.h5#$T/bad.h5#" bad.yaml
expect_rc 2 e1.log "$LAPSE" plan bad.yaml --probe --json
grep -q "nope.h5: no such file" e1.log || { cat e1.log; fail "7: the missing input not named"; }
nothing_written "$T" bad
expect_rc 2 e2.log "$LAPSE" plan blur.yaml --json
grep -q "go with --probe" e2.log || { cat e2.log; fail "7: --json without --probe accepted"; }
expect_rc 2 e3.log "$LAPSE" plan blur.yaml --probe -n 0
expect_rc 2 e4.log "$LAPSE" run blur.yaml --probe

note "8. a stop signal ends the probe between its runs (exit 75), leaving nothing behind"
mkdir -p "$T/sigp"
kill_config sig.yaml "$T/sigp/sig.h5"
LAPSE_FAULT=compute~2 "$LAPSE" plan sig.yaml --probe >sig.log 2>&1 &
pid=$!
sleep 1
kill -TERM "$pid"
t0=$(date +%s.%N)
wait_bg "$pid" 30
took=$(echo "$WAIT_END - $t0" | bc)
[ "$WAIT_RC" -eq 75 ] || { cat sig.log; fail "8: the probe exited $WAIT_RC after SIGTERM, want 75"; }
[ "$(echo "$took <= 4" | bc)" -eq 1 ] || fail "8: the probe took $took s to stop"
grep -q "stopped by signal 15 (SIGTERM)" sig.log || { cat sig.log; fail "8: the signal not named"; }
grep -q "interrupted: the probe did not finish and wrote nothing" sig.log || { cat sig.log; fail "8: no last line for the probe"; }
! grep -q "^predicted" sig.log || { cat sig.log; fail "8: a prediction after the stop"; }
nothing_written "$T/sigp" sig
echo "PASS ($TEST_NAME)"
