#!/usr/bin/env bash
# test_concurrent.sh - two runs writing one output at the same time, and a killed run's marker.
#  1. A reference run of the config writes ref.h5.
#  2. Run A (1 rank, 5-10 s on PoCL: 12 timepoints of 32 x 256 x 256, sigma 3 blur on 8 x 64 x 64
#     tiles) writes out.h5 in the background; while it runs, run B of the same config must exit 2
#     with "another lapse run is writing ... out.h5" naming A's host and pid. A then exits 0, its
#     output equals the reference, holds one run only, and no out.h5.lock is left behind.
#     `lapse plan` meanwhile (it takes no lock) notes that run A, by its pid, writes the output.
#  3. Run C of the same config into out2.h5 is killed with SIGKILL mid-run; a marker
#     out2.h5.lock may be left. Run D of the same config must not be blocked by it: it resumes
#     (runs fewer than all tasks), exits 0 and its output equals the reference; no marker is left.
source "$(dirname "$0")/common.sh"
need_device
W=$T/work
LOGS=$T/logs
mkdir -p "$W" "$LOGS"
cd "$W" || fail "cannot cd to $W"
run_ok "$LOGS/sample.log" "$LAPSE" sample "$W/big.h5" --timepoints 12 --shape 32,256,256 --seed 3
IN_SUM=$(sha "$W/big.h5")
HOST=$(hostname)
# On exit, kill this shell's background runs that are still going (jobs -p: not yet reaped).
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

# config NAME OUTFILE
config() {
    cat >"$W/$1.yaml" <<YAML
input: {file: big.h5, dataset: /raw}
tiles: {shape: [8, 64, 64]}
pipeline:
  - {op: gaussian_blur, sigma: 3}
output: {file: $2}
devices: any
YAML
}

# wait_for FILE PID SECONDS: wait until FILE exists; fail if PID exits first or time runs out.
wait_for() {
    local f=$1 pid=$2 i
    for ((i = 0; i < $3 * 10; i++)); do
        [ -e "$f" ] && return 0
        kill -0 "$pid" 2>/dev/null || fail "the run (pid $pid) ended before $f appeared"
        sleep 0.1
    done
    fail "$f did not appear within $3 s"
}

note "1. reference run"
config ref ref.h5
start=$(date +%s)
run_ok "$LOGS/ref.log" "$LAPSE" run "$W/ref.yaml"
echo "reference run took $(($(date +%s) - start)) s"
nonconstant "$W/ref.h5" /result

note "2. a second run while the first one writes"
config main out.h5
OMPI_MCA_orte_tmpdir_base=$BG_SESSION "$LAPSE" run "$W/main.yaml" >"$LOGS/a.log" 2>&1 &
PID_A=$!
wait_for "$W/out.h5" "$PID_A" 60
sleep 0.5
expect_rc 2 "$LOGS/b.log" "$LAPSE" run "$W/main.yaml"
kill -0 "$PID_A" 2>/dev/null ||
    fail "run A finished before run B was refused: inconclusive (make the run longer)"
cat "$LOGS/b.log"
grep -Eq "another lapse run is writing .*out\.h5" "$LOGS/b.log" ||
    fail "run B: no message 'another lapse run is writing ...out.h5'"
grep -F "another lapse run" "$LOGS/b.log" | grep -Fq "$HOST" ||
    fail "run B: the message lacks host $HOST"
grep -F "another lapse run" "$LOGS/b.log" | grep -Eq "(^|[^0-9])$PID_A([^0-9]|\$)" ||
    fail "run B: the message lacks run A's pid $PID_A"
# lapse plan takes no lock, but says that another run is writing the output it describes
run_ok "$LOGS/plan.log" "$LAPSE" plan "$W/main.yaml"
kill -0 "$PID_A" 2>/dev/null || fail "run A finished before the plan: inconclusive (make the run longer)"
grep -q "note: another lapse run (pid $PID_A) is writing out.h5 now" "$LOGS/plan.log" ||
    { cat "$LOGS/plan.log"; fail "lapse plan does not say that run A is writing the output"; }
ln -s out.h5 "$W/alias.h5" # the same output through a symbolic link
config alias alias.h5
run_ok "$LOGS/plan2.log" "$LAPSE" plan "$W/alias.yaml"
grep -q "note: another lapse run (pid $PID_A) is writing alias.h5 now" "$LOGS/plan2.log" ||
    { cat "$LOGS/plan2.log"; fail "lapse plan through a link does not say that run A writes it"; }
# an output being made (its staging file out3.h5.creating, held 3 s by LAPSE_FAULT=create~3)
config making out3.h5
LAPSE_FAULT=create~3 OMPI_MCA_orte_tmpdir_base=$BG_SESSION "$LAPSE" run "$W/making.yaml" \
    >"$LOGS/c3.log" 2>&1 &
PID_C3=$!
wait_for "$W/out3.h5.creating" "$PID_C3" 60
run_ok "$LOGS/plan3.log" "$LAPSE" plan "$W/making.yaml"
grep -q "note: another lapse run (pid $PID_C3) is writing out3.h5 now" "$LOGS/plan3.log" ||
    { cat "$LOGS/plan3.log"; fail "lapse plan does not say that an output is being made"; }
wait "$PID_C3" || { cat "$LOGS/c3.log"; fail "the run making out3.h5 failed"; }
rc=0
wait "$PID_A" || rc=$?
[ "$rc" -eq 0 ] || { cat "$LOGS/a.log"; fail "run A exited $rc after run B was refused"; }
py h5same.py "$W/ref.h5" "$W/out.h5" || fail "run A's output differs from the reference"
run_ok "$LOGS/tasks_a.log" py tasks.py "$W/out.h5" --runs 1 --count 768
[ ! -e "$W/out.h5.lock" ] || fail "a finished run left out.h5.lock behind"

note "3. a run killed with SIGKILL, then the same config again"
config killed out2.h5
OMPI_MCA_orte_tmpdir_base=$BG_SESSION "$LAPSE" run "$W/killed.yaml" >"$LOGS/c.log" 2>&1 &
PID_C=$!
wait_for "$W/out2.h5" "$PID_C" 60
sleep 2
kill -0 "$PID_C" 2>/dev/null || fail "run C finished before it could be killed: inconclusive"
kill -9 "$PID_C"
wait "$PID_C" 2>/dev/null
if [ -e "$W/out2.h5.lock" ]; then
    echo "the killed run left a marker: $(head -c 200 "$W/out2.h5.lock" | tr '\n' ' ')"
else
    echo "note: the killed run left no out2.h5.lock (the stale-marker path is not exercised)"
fi
expect_rc 0 "$LOGS/d.log" timeout -k 5 120 "$LAPSE" run "$W/killed.yaml"
cat "$LOGS/d.log"
py h5same.py "$W/ref.h5" "$W/out2.h5" || fail "the resumed output differs from the reference"
[ ! -e "$W/out2.h5.lock" ] || fail "the resumed run left out2.h5.lock behind"
# The resumed run did only the unfinished tasks: its run has rows, fewer than all 768.
"$LAPSE_PY" - "$W/out2.h5" 768 <<'PY' || fail "the resumed run did not resume (see above)"
import sys, h5py, numpy as np
rows = h5py.File(sys.argv[1], "r")["/lapse/tasks"][()]
ids = np.unique(rows["run_id"])
for r in ids:
    print("run %d: %d task rows" % (r, np.sum(rows["run_id"] == r)))
last = np.sum(rows["run_id"] == ids.max())
sys.exit(0 if 0 < last < int(sys.argv[2]) else 1)
PY
[ "$(sha "$W/big.h5")" = "$IN_SUM" ] || fail "the input changed"
echo "PASS ($TEST_NAME)"
