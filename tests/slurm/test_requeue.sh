#!/usr/bin/env bash
# test_requeue.sh - slurm/lapse.sbatch requeues itself at its time limit and finishes the output.
#
# On a private single-node Slurm (tests/slurm/slurm_local.sh, requeue delay cred_expire=10 s),
# submits `sbatch --ntasks=2 slurm/lapse.sbatch cfg.yaml` on at least 16 s of work (SLEEP_S).
# Instead of waiting for a real time limit (minutes), the test sends what Slurm sends at the
# limit minus the --signal lead time: `scancel --signal=USR2 --batch JOB` (SIGUSR2 to the batch
# shell), once the run has started; this keeps the test fast and deterministic. Checks:
#  - lapse stops with 75, the script requeues the job (its logged decision, SLURM_RESTART_COUNT=1
#    in the appended log, scontrol's Restarts >= 1), the job then completes with exit 0;
#    /lapse/runs holds an "interrupted" run, then a "done" one; `lapse info` shows every task
#    done; the output is bit-identical to a plain 1-rank mpiexec run;
#  - with MAX_RESTARTS=0 the job is not requeued and fails with 75; running the same command
#    again continues the output, which then is bit-identical too;
#  - scancel (SIGTERM) stops lapse with 75 and the job ends CANCELLED, not requeued (the log
#    says why); the same command continues the output;
#  - scancel --signal=TERM (to the job steps only, the batch shell sees nothing): lapse stops
#    with 75 and names the signal, and the job ends FAILED with 75, not requeued;
#  - SIGUSR2 to the batch shell as soon as the job starts (before lapse runs, or while its ranks
#    start): the job is requeued and completes, its output bit-identical;
#  - MAX_RESTARTS=1 and an admin's `scontrol requeue` first (Slurm's own requeue, which raises
#    SLURM_RESTART_COUNT): the time-limit warning in the requeued part still requeues (the
#    script counts its own requeues), and the job completes; a bad MAX_RESTARTS or
#    LAPSE_SHOW_BINDING exits 2 at once;
#  - a node failure (a stand-in srun that says so and exits 0): said, exit 75, no requeue by the
#    script (Slurm requeues such a job itself).
# Takes ~2 min on 2 cores. Skips (77) when Slurm/munge are not installed or not root.
PATH=$PATH:/usr/sbin:/sbin
for tool in slurmctld slurmd munged sbatch srun sinfo scontrol scancel; do
    command -v $tool >/dev/null 2>&1 ||
        { echo "SKIP (test_requeue): $tool not installed (apt-get install slurm-wlm munge)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP (test_requeue): a private Slurm needs root"; exit 77; }

source "$(dirname "$0")/../mpi/common.sh"
SL=$LAPSE_SRC/tests/slurm/slurm_local.sh
trap 'bash "$SL" stop "$T/slurm"; rm -rf "$T"' EXIT
need_device
# Enough work that the signal (sent 0.5 s after the run starts) lands mid-run: 30 timepoints of
# 32 x 96 x 96 in 8 x 32 x 32 tiles with wide filters take ~15-20 s on 2 PoCL ranks of one thread.
# shellcheck disable=SC2034  # NZ, NY, NX are read by common.sh (make_sample, ntiles)
NT=30 NZ=32 NY=96 NX=96
make_sample

export SLURM_LOCAL_CRED_EXPIRE=10
run_ok "$T/slurm_start.log" bash "$SL" start "$T/slurm"
source "$T/slurm/env"
export LAPSE LAPSE_SHOW_BINDING=0 MAX_RESTARTS=3

# config NAME: output $T/NAME.h5.
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [8, 32, 32]}
pipeline:
  - {op: gaussian_blur, sigma: [2, 3, 3], save: /blurred}
  - {op: top_hat_box, radius: [2, 4, 4]}
output: {file: $T/$1.h5, dataset: /result}
devices: any
YAML
}

# job_field ID FIELD: FIELD=value from `scontrol show job` ("" when the job is gone).
job_field() {
    scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# submit NAME: sbatch the script on $T/NAME.yaml (2 tasks, log $T/NAME.out); sets JOB, LOG.
# Each task sleeps SLEEP_S after its mark (LAPSE_FAULT=after-task~S, as a slow device would),
# so the 1080 tasks take at least 1080 x SLEEP_S / 2 = 16 s whatever the load, and the signals
# the test sends once the run has started find it running (unloaded, the work alone took 4.5 s
# and a job once ended before its signal).
SLEEP_S=0.03
submit() {
    LOG=$T/$1.out
    JOB=$(cd "$T" && LAPSE_FAULT=after-task~$SLEEP_S sbatch --parsable --ntasks=2 --cpus-per-task=1 --time=00:05:00 \
        --output="$LOG" "$LAPSE_SRC/slurm/lapse.sbatch" "$T/$1.yaml") || fail "sbatch failed"
    JOB=${JOB%%;*}
    echo "job $JOB"
}

# warn_when_started: once lapse's first run has started (60 s at most), send what Slurm sends
# at the time limit minus the --signal lead time: SIGUSR2 to the batch shell.
warn_when_started() {
    local n=0
    until grep -q "^lapse: run 1: " "$LOG" 2>/dev/null; do
        n=$((n + 1))
        [ $n -le 300 ] || { cat "$LOG" >&2; scancel "$JOB"; fail "the run did not start in 60 s"; }
        sleep 0.2
    done
    sleep 0.5
    scancel --signal=USR2 --batch "$JOB" || fail "scancel --signal=USR2 --batch $JOB failed"
}

# follow: poll the job until it ends (150 s at most); sets state, exitcode and restarts (the
# largest Restarts seen). A job gone from scontrol leaves the last state seen.
follow() {
    local s r
    state='' restarts=0 exitcode=''
    for _ in $(seq 1 300); do
        s=$(job_field "$JOB" JobState)
        [ -n "$s" ] || break
        state=$s
        r=$(job_field "$JOB" Restarts)
        [ "${r:-0}" -le "$restarts" ] || restarts=$r
        exitcode=$(job_field "$JOB" ExitCode)
        case $state in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
            break ;;
        esac
        sleep 0.5
    done
    cat "$LOG"
    echo "job $JOB: state $state, exit code $exitcode, restarts seen $restarts"
    case $state in
    PENDING | RUNNING | REQUEUED | COMPLETING | "") scancel "$JOB"; fail "the job did not end in 150 s" ;;
    esac
}

# runs_are FILE STATUS...: /lapse/runs of FILE holds exactly these statuses, in run order.
runs_are() {
    local f=$1
    shift
    "$LAPSE_PY" - "$f" "$@" <<'PY' || fail "$f: /lapse/runs is not: $*"
import sys, h5py
def s(v):
    return v.decode() if isinstance(v, bytes) else str(v)
with h5py.File(sys.argv[1], "r") as f:
    runs = sorted(f["/lapse/runs"], key=int)
    st = [s(f["/lapse/runs"][r].attrs["status"]) for r in runs]
    print("runs:", list(zip(runs, st)))
    sys.exit(0 if st == sys.argv[2:] else 1)
PY
}

note "sbatch --ntasks=2 slurm/lapse.sbatch, SIGUSR2 to the batch shell once the run started"
config job
submit job
warn_when_started
follow
grep -q "lapse run exited with 75" "$LOG" ||
    fail "lapse was not interrupted (did the run end before SIGUSR2? then make the work larger)"
[ "$state" = COMPLETED ] || fail "the job ended $state (exit code $exitcode), not COMPLETED"
[ "$exitcode" = 0:0 ] || fail "the job's exit code is $exitcode, not 0:0"
[ "$restarts" -ge 1 ] || fail "scontrol never showed Restarts >= 1"

# The decisions in the (appended) log: interrupted with 75, requeued, restarted, finished.
grep -q "lapse run exited with 75" "$LOG" || fail "lapse did not exit 75 after SIGUSR2"
grep -q "requeueing job $JOB" "$LOG" || fail "the script did not requeue the job"
grep -q "SLURM_RESTART_COUNT=1, requeues by this script 1 " "$LOG" || fail "no restarted job part in the log"
[ "$(grep -c "lapse run exited with 0" "$LOG")" -ge 1 ] || fail "no job part finished with 0"

note "the output's runs: the first interrupted, then done"
runs_are "$T/job.h5" interrupted 'done'
run_ok "$T/info.log" "$LAPSE" info "$T/job.h5"
cat "$T/info.log"
total=$((NT * $(ntiles 8 32 32)))
grep -q "^  total: $total done (of $total tasks)" "$T/info.log" ||
    fail "lapse info does not show all $total tasks done"

note "MAX_RESTARTS=0: no requeue, the job fails with 75; the same command then continues"
config limit
MAX_RESTARTS=0 submit limit
warn_when_started
follow
if [ "$state" != FAILED ] || [ "$exitcode" != 75:0 ]; then
    fail "MAX_RESTARTS=0: the job ended $state with $exitcode, not FAILED with 75:0"
fi
[ "$restarts" -eq 0 ] || fail "MAX_RESTARTS=0: the job was restarted"
grep -q "not requeueing" "$LOG" || fail "MAX_RESTARTS=0: no 'not requeueing' decision in the log"
runs_are "$T/limit.h5" interrupted
lapse_run 1 "$T/limit.yaml"
grep -q "^lapse: continuing " "$T/last.log" || { cat "$T/last.log"; fail "the rerun did not continue"; }
runs_are "$T/limit.h5" interrupted 'done'

note "scancel (SIGTERM): lapse stops with 75 and the job is not requeued; the command continues"
config cancel
submit cancel
n=0
until grep -q "^lapse: run 1: " "$LOG" 2>/dev/null; do
    n=$((n + 1))
    [ $n -le 300 ] || { cat "$LOG" >&2; scancel "$JOB"; fail "the run did not start in 60 s"; }
    sleep 0.2
done
sleep 0.5
scancel "$JOB" || fail "scancel $JOB failed"
follow
[ "$state" = CANCELLED ] || fail "scancel: the job ended $state, not CANCELLED"
[ "$restarts" -eq 0 ] || fail "scancel: the job was requeued ($restarts restarts)"
grep -q "got SIGTERM" "$LOG" && grep -q "stopped by SIGTERM (scancel, a preemption, or an admin's scontrol requeue): not requeueing" \
    "$LOG" || fail "scancel: no SIGTERM decision in the log"
! grep -q "requeueing job $JOB" "$LOG" || fail "scancel: the script requeued the job"
lapse_run 1 "$T/cancel.yaml"
grep -q "^lapse: continuing " "$T/last.log" || { cat "$T/last.log"; fail "after scancel the rerun did not continue"; }

note "scancel --signal=TERM (the job steps only): lapse stops with 75, the job is not requeued"
config stepterm
submit stepterm
n=0
until grep -q "^lapse: run 1: " "$LOG" 2>/dev/null; do
    n=$((n + 1))
    [ $n -le 300 ] || { cat "$LOG" >&2; scancel "$JOB"; fail "the run did not start in 60 s"; }
    sleep 0.2
done
sleep 0.5
scancel --signal=TERM "$JOB" || fail "scancel --signal=TERM $JOB failed"
follow
[ "$restarts" -eq 0 ] || fail "steps' SIGTERM: the job was requeued ($restarts restarts)"
[ "$state" = FAILED ] && [ "$exitcode" = 75:0 ] ||
    fail "steps' SIGTERM: the job ended $state with $exitcode, not FAILED with 75:0"
! grep -q "got SIGTERM" "$LOG" || fail "steps' SIGTERM: the batch shell got it too"
grep -q "stopped by SIGTERM (scancel, a preemption, or an admin's scontrol requeue): not requeueing" "$LOG" ||
    fail "steps' SIGTERM: no SIGTERM decision in the log"
lapse_run 1 "$T/stepterm.yaml"
grep -q "^lapse: continuing " "$T/last.log" || { cat "$T/last.log"; fail "after the steps' SIGTERM the rerun did not continue"; }

note "a time-limit warning before lapse has started (during the binding step): requeued, done"
config early
LAPSE_SHOW_BINDING=1 submit early
n=0
until grep -q "^lapse.sbatch: .* job $JOB on " "$LOG" 2>/dev/null; do
    n=$((n + 1))
    [ $n -le 600 ] || { cat "$LOG" >&2; scancel "$JOB"; fail "the job did not start in 60 s"; }
    sleep 0.1
done
scancel --signal=USR2 --batch "$JOB" || fail "scancel --signal=USR2 --batch $JOB failed"
follow
[ "$state" = COMPLETED ] && [ "$exitcode" = 0:0 ] ||
    fail "early warning: the job ended $state with $exitcode, not COMPLETED with 0:0"
[ "$restarts" -ge 1 ] || fail "early warning: the job was not requeued"
grep -q "got SIGUSR2" "$LOG" || fail "early warning: the shell did not see SIGUSR2"
# where it landed depends on timing: before srun (the run skipped), or while lapse started (a
# clean stop, 75, or a rank killed before main, 140): each path is a requeue
grep -Eq "stopped \(timelimit\) before lapse started|lapse run exited with (75|140)" "$LOG" ||
    fail "early warning: none of the expected paths in the log"
grep -Eq "before lapse started" "$LOG" && note "the warning came before srun started" ||
    note "the warning came while lapse started"

note "MAX_RESTARTS=1: an admin's scontrol requeue does not use it up; the time-limit warning then requeues"
config admin
MAX_RESTARTS=1 submit admin
n=0
until grep -q "^lapse: run 1: " "$LOG" 2>/dev/null; do
    n=$((n + 1))
    [ $n -le 300 ] || { cat "$LOG" >&2; scancel "$JOB"; fail "the run did not start in 60 s"; }
    sleep 0.2
done
sleep 0.5
scontrol requeue "$JOB" || fail "scontrol requeue $JOB failed"
n=0 # the requeued part (Slurm's own requeue: after cred_expire) continues as run 2
until grep -q "^lapse: run 2: " "$LOG" 2>/dev/null; do
    n=$((n + 1))
    [ $n -le 450 ] || { cat "$LOG" >&2; scancel "$JOB"; fail "the requeued part did not start in 90 s"; }
    sleep 0.2
done
sleep 0.5
scancel --signal=USR2 --batch "$JOB" || fail "scancel --signal=USR2 --batch $JOB failed"
follow
[ "$state" = COMPLETED ] && [ "$exitcode" = 0:0 ] ||
    fail "admin requeue: the job ended $state with $exitcode, not COMPLETED with 0:0 (MAX_RESTARTS used up by Slurm's requeue?)"
grep -q "SLURM_RESTART_COUNT=1, requeues by this script 0 (MAX_RESTARTS=1)" "$LOG" &&
    grep -q "requeueing job $JOB (restart 1 of at most 1)" "$LOG" ||
    fail "admin requeue: the script did not requeue at the warning after Slurm's own requeue"
[ ! -e "$T/.lapse-requeues.$JOB" ] || fail "admin requeue: the count file stayed after the job ended"

note "a bad MAX_RESTARTS or LAPSE_SHOW_BINDING is refused before anything runs (exit 2)"
MAX_RESTARTS=abc expect_rc 2 "$T/mr.log" bash "$LAPSE_SRC/slurm/lapse.sbatch" "$T/admin.yaml"
grep -q "MAX_RESTARTS must be a whole number >= 0, got 'abc'" "$T/mr.log" || fail "MAX_RESTARTS=abc: no message"
LAPSE_SHOW_BINDING=maybe expect_rc 2 "$T/sb.log" bash "$LAPSE_SRC/slurm/lapse.sbatch" "$T/admin.yaml"
grep -q "LAPSE_SHOW_BINDING must be 1 or 0, got 'maybe'" "$T/sb.log" || fail "LAPSE_SHOW_BINDING=maybe: no message"

note "a node failure during the run (srun says so and exits 0): said, exit 75, no requeue of its own"
# a stand-in srun (Slurm 22.05's srun printed this line and exited 0 when the node went down)
mkdir -p "$T/fake"
printf '#!/bin/sh\necho "srun: error: Node failure on node7" >&2\nexit 0\n' >"$T/fake/srun"
printf '#!/bin/sh\necho "scontrol $*" >>"%s/fake/calls"\n' "$T" >"$T/fake/scontrol"
chmod +x "$T/fake/srun" "$T/fake/scontrol"
PATH=$T/fake:$PATH SLURM_JOB_ID=424242 SLURM_SUBMIT_DIR=$T LAPSE_SHOW_BINDING=0 \
    expect_rc 75 "$T/nf.log" bash "$LAPSE_SRC/slurm/lapse.sbatch" "$T/admin.yaml"
grep -q "a node failed during the run (srun: error: Node failure on node7): lapse did not finish" \
    "$T/nf.log" || { cat "$T/nf.log"; fail "node failure: not said"; }
! grep -q "lapse run exited with 0" "$T/nf.log" || fail "node failure: logged as a clean finish"
[ ! -e "$T/fake/calls" ] || fail "node failure: the script requeued the job itself (Slurm does)"

note "compare with a plain 1-rank run"
config plain
lapse_run 1 "$T/plain.yaml"
nonconstant "$T/plain.h5" /result /blurred
py h5same.py "$T/plain.h5" "$T/job.h5" || fail "the requeued Slurm run differs from the 1-rank run"
py h5same.py "$T/plain.h5" "$T/limit.h5" || fail "the continued run differs from the 1-rank run"
py h5same.py "$T/plain.h5" "$T/cancel.h5" || fail "the run continued after scancel differs"
py h5same.py "$T/plain.h5" "$T/early.h5" || fail "the job warned before its start differs"
py h5same.py "$T/plain.h5" "$T/stepterm.h5" || fail "the run continued after the steps' SIGTERM differs"
py h5same.py "$T/plain.h5" "$T/admin.h5" || fail "the job requeued by an admin, then at its warning, differs"
echo "PASS ($TEST_NAME)"
