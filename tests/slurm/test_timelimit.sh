#!/usr/bin/env bash
# test_timelimit.sh - a Slurm job whose REAL time limit is shorter than its work finishes through
# requeues, with an output bit-identical to a plain run.
#
# On a private single-node Slurm (tests/slurm/slurm_local.sh; requeue delay cred_expire=10 s,
# schedulers every 1-2 s so that a requeued job starts once eligible, ~12 s after), submits
#   sbatch --ntasks=2 --time=1 --signal=B:USR2@10 slurm/lapse.sbatch cfg.yaml
# on work that takes at least ~70 s on 2 ranks (more than the 1 minute limit), whatever the
# machine's load: each task sleeps SLEEP_S after its mark (LAPSE_FAULT=after-task~S, as a slow
# device would; a signal does not cut the sleep short, so a stop waits at most that long), so
# 864 tasks on 2 ranks take 864 x SLEEP_S / 2 s of sleep alone (before: work calibrated by a
# timed run, which ended in 27 s, before its limit, when the machine's load fell after the
# calibration). Nothing is sent
# by the test: Slurm itself sends SIGUSR2 to the batch shell (its time-limit check runs every
# 30 s, so 10-40 s before the limit), the script forwards it, lapse exits 75, the script
# requeues, the requeued job continues. Meanwhile a plain 1-rank mpiexec run makes the reference.
# Checks: the job ends COMPLETED with exit 0 after >= 1 restart (scontrol's Restarts, and
# SLURM_RESTART_COUNT in the appended log); every part but the last got SIGUSR2 from Slurm before
# its limit, lapse exited 75 and the script requeued; /lapse/runs is "interrupted" runs then one
# "done"; `lapse info` shows every task done; the output is bit-identical to the reference. If
# Slurm's limit kills a part instead (TIMEOUT), the test checks that the output can still be
# continued, then fails. Takes ~3 min on 2 cores. Skips (77) without Slurm/munge or root.
PATH=$PATH:/usr/sbin:/sbin
for tool in slurmctld slurmd munged sbatch srun sinfo scontrol scancel; do
    command -v $tool >/dev/null 2>&1 ||
        { echo "SKIP (test_timelimit): $tool not installed (apt-get install slurm-wlm munge)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP (test_timelimit): a private Slurm needs root"; exit 77; }

source "$(dirname "$0")/../mpi/common.sh"
SL=$LAPSE_SRC/tests/slurm/slurm_local.sh
ref_pid=''
# On exit: stop the reference run if it still runs (a failure), Slurm, then remove $T.
trap '[ -z "$ref_pid" ] || kill "$ref_pid" 2>/dev/null; bash "$SL" stop "$T/slurm"; rm -rf "$T"' EXIT
need_device

LIMIT_MIN=1          # sbatch --time, minutes (Slurm's smallest limit)
LEAD=10              # sbatch --signal=B:USR2@LEAD, seconds before the limit
SLEEP_S=0.16         # per task: 864 tasks on 2 ranks sleep 69 s, longer than the limit
MAX_RESTARTS=8       # enough parts of >= 20 s each for the work even on a loaded machine
FOLLOW_S=480         # give up on the job after this long
t_start=$SECONDS

# config NAME INPUT: output $T/NAME.h5. Wide box filters: ~20-40 ms per task on one PoCL thread,
# so a stop takes well under a second.
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $2, dataset: /raw}
tiles: {shape: [8, 32, 32]}
pipeline:
  - {op: gaussian_blur, sigma: [2, 3, 3], save: /blurred}
  - {op: top_hat_box, radius: [4, 8, 8]}
output: {file: $T/$1.h5, dataset: /result}
devices: any
YAML
}

# 24 timepoints of 32 x 96 x 96 in tiles of 8 x 32 x 32: 864 tasks.
# shellcheck disable=SC2034  # NZ, NY, NX are read by common.sh (make_sample, ntiles)
NZ=32 NY=96 NX=96 NT=24
[ "$((NT * $(ntiles 8 32 32)))" -eq 864 ] || fail "the work is not 864 tasks"
make_sample

export SLURM_LOCAL_CRED_EXPIRE=10 SLURM_LOCAL_SCHEDULER_PARAMETERS=sched_interval=2,bf_interval=1
run_ok "$T/slurm_start.log" bash "$SL" start "$T/slurm"
source "$T/slurm/env"
export LAPSE LAPSE_SHOW_BINDING=0 MAX_RESTARTS

# job_field ID FIELD: FIELD=value from `scontrol show job` ("" when the job is gone).
job_field() {
    scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

config job "$IN"
config plain "$IN"
LOG=$T/job.out
note "sbatch --ntasks=2 --time=$LIMIT_MIN --signal=B:USR2@$LEAD slurm/lapse.sbatch ($NT timepoints)"
t_submit=$SECONDS
JOB=$(cd "$T" && LAPSE_FAULT=after-task~$SLEEP_S sbatch --parsable --ntasks=2 --cpus-per-task=1 --time="$LIMIT_MIN" \
    --signal="B:USR2@$LEAD" --output="$LOG" "$LAPSE_SRC/slurm/lapse.sbatch" "$T/job.yaml") ||
    fail "sbatch failed"
JOB=${JOB%%;*}
echo "job $JOB"

# The reference, a plain 1-rank run, meanwhile (it also uses the cores while the job waits).
mpirun_lapse 1 run "$T/plain.yaml" >"$T/plain.log" 2>&1 &
ref_pid=$!

# stacks PID: the stack of lapse process PID's main thread, then the top frames of its other
# threads (gdb, where installed), without gdb's chatter.
stacks() {
    local rank
    rank=$({ tr '\0' '\n' <"/proc/$1/environ"; } 2>/dev/null | sed -n 's/^SLURM_PROCID=//p')
    echo "=== lapse process $1 (rank ${rank:-?}) still runs 15 s after SIGUSR2 $nwarn"
    command -v gdb >/dev/null 2>&1 || { echo "(no gdb)"; return 0; }
    timeout 60 gdb -q -batch -p "$1" -ex "thread 1" -ex "bt" -ex "thread apply all bt 4" 2>&1 |
        grep -v -e '^\[New LWP' -e '^\[Thread debugging' -e '^Using host libthread_db' \
            -e 'No such file or directory' -e '^\[Current thread'
}

# Follow the job until it ends, printing each change of state; sets state, exitcode, restarts.
# When the part of the job that got a SIGUSR2 warning still runs lapse 15 s later (it stops
# within a second or two; the part has not logged lapse's exit), the stacks of its processes go
# to $T/stacks.txt, printed first if the job then ends TIMEOUT: a stop that hangs leaves its
# evidence. (The next part, after a requeue, is not that part: its processes are left alone.)
state='' restarts=0 exitcode='' last='' nwarn=0 t_warn='' nexit=0
while :; do
    n=$(grep -c "got SIGUSR2" "$LOG" 2>/dev/null) || n=0
    x=$(grep -c "lapse run exited with" "$LOG" 2>/dev/null) || x=0
    if [ "$n" -gt "$nwarn" ]; then
        nwarn=$n t_warn=$SECONDS nexit=$x
    elif [ -n "$t_warn" ] && [ $((SECONDS - t_warn)) -ge 15 ]; then
        t_warn=''
        if [ "$x" -eq "$nexit" ]; then
            for p in $(lapse_pids "$T/job.yaml"); do
                stacks "$p" >>"$T/stacks.txt"
            done
        fi
    fi
    s=$(job_field "$JOB" JobState)
    [ -n "$s" ] || break
    state=$s
    r=$(job_field "$JOB" Restarts)
    [ "${r:-0}" -le "$restarts" ] || restarts=$r
    exitcode=$(job_field "$JOB" ExitCode)
    if [ "$state/$restarts" != "$last" ]; then
        echo "  +$((SECONDS - t_submit)) s: $state, restarts $restarts"
        last=$state/$restarts
    fi
    case $state in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
        break ;;
    esac
    if [ $((SECONDS - t_submit)) -ge $FOLLOW_S ]; then
        cat "$LOG"
        scancel "$JOB"
        fail "the job did not end in $FOLLOW_S s (state $state, restarts $restarts)"
    fi
    sleep 1
done
t_job=$((SECONDS - t_submit))
if [ "$state" = TIMEOUT ] && [ -s "$T/stacks.txt" ]; then
    note "the stacks of the lapse processes that did not stop"
    cat "$T/stacks.txt"
fi
cat "$LOG"
echo "job $JOB: state $state, exit code $exitcode, restarts $restarts, $t_job s after sbatch"
case $state in
COMPLETED | TIMEOUT) ;;
*) fail "the job ended $state (exit code $exitcode), not COMPLETED" ;;
esac
wait_bg "$ref_pid" 600
ref_pid=''
[ "$WAIT_RC" -eq 0 ] || { cat "$T/plain.log"; fail "the reference run failed (exit $WAIT_RC)"; }
grep "done:" "$T/plain.log"

if [ "$state" = TIMEOUT ]; then
    # Slurm's limit ended a part (SIGTERM, then SIGKILL after KillWait) before the job could
    # requeue itself: the output must still continue with the same command.
    note "TIMEOUT: checking that the output continues"
    lapse_run 2 "$T/job.yaml"
    cat "$T/last.log"
    grep -q "^lapse: continuing " "$T/last.log" || fail "after TIMEOUT the rerun did not continue"
    py h5same.py "$T/plain.h5" "$T/job.h5" || fail "after TIMEOUT the continued output differs"
    fail "the job ended TIMEOUT: Slurm's limit stopped it before the requeue (output resumable)"
fi
[ "$exitcode" = 0:0 ] || fail "the job's exit code is $exitcode, not 0:0"
[ "$restarts" -ge 1 ] || fail "the job was never restarted: the work did not outlast the limit"

note "the decisions in the appended log"
n75=$(grep -c "lapse run exited with 75" "$LOG")
nreq=$(grep -c "requeueing job $JOB" "$LOG")
nusr2=$(grep -c "got SIGUSR2" "$LOG")
[ "$n75" -ge 1 ] || fail "lapse never exited 75"
[ "$n75" -eq "$restarts" ] || fail "$n75 runs exited 75 but the job was restarted $restarts times"
[ "$nreq" -eq "$restarts" ] || fail "$nreq requeue decisions but $restarts restarts"
[ "$nusr2" -ge "$restarts" ] || fail "only $nusr2 SIGUSR2 warnings from Slurm for $restarts restarts"
grep -q "stopped by signal .*SIGUSR2" "$LOG" || fail "lapse did not report stopping on SIGUSR2"
grep -q "SLURM_RESTART_COUNT=$restarts, requeues by this script $restarts " "$LOG" || fail "no job part with SLURM_RESTART_COUNT=$restarts"
[ "$(grep -c "lapse run exited with 0" "$LOG")" -eq 1 ] || fail "not exactly one part ended with 0"
# When each part began and when Slurm's warning came (the script's UTC timestamps): the warning
# must come before the part's limit.
"$LAPSE_PY" - "$LOG" "$((LIMIT_MIN * 60))" <<'PY' || fail "a warning came after its part's limit"
import re, sys
from datetime import datetime
limit = int(sys.argv[2])
t = lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp()
begin, ok = None, True
for line in open(sys.argv[1]):
    m = re.match(r"lapse\.sbatch: (\S+) (.*)", line)
    if not m:
        continue
    if m.group(2).startswith("job "):
        begin = t(m.group(1))
        part = re.search(r"SLURM_RESTART_COUNT=(\d+)", line).group(1)
    elif m.group(2).startswith("got SIGUSR2") and begin is not None:
        dt = t(m.group(1)) - begin
        print("part %s: Slurm's SIGUSR2 came %.0f s after it began (limit %d s)" % (part, dt, limit))
        ok = ok and dt < limit
        begin = None
sys.exit(0 if ok else 1)
PY

note "the output's runs: $restarts interrupted, then done"
"$LAPSE_PY" - "$T/job.h5" "$restarts" <<'PY' || fail "/lapse/runs is not $restarts x interrupted, then done"
import sys, h5py
from datetime import datetime
def s(v):
    return v.decode() if isinstance(v, bytes) else str(v)
def t(v):
    return datetime.fromisoformat(s(v).replace("Z", "+00:00")).timestamp()
with h5py.File(sys.argv[1], "r") as f:
    g = f["/lapse/runs"]
    runs = sorted(g, key=int)
    st = [s(g[r].attrs["status"]) for r in runs]
    secs = [t(g[r].attrs["end"]) - t(g[r].attrs["start"]) for r in runs]
    for r, a, d in zip(runs, st, secs):
        print("run %s: %s after %.0f s" % (r, a, d))
    print("runs took %.0f s together" % sum(secs))
    sys.exit(0 if st == ["interrupted"] * int(sys.argv[2]) + ["done"] else 1)
PY
run_ok "$T/info.log" "$LAPSE" info "$T/job.h5"
cat "$T/info.log"
total=$((NT * $(ntiles 8 32 32)))
grep -q "^  total: $total done (of $total tasks)" "$T/info.log" ||
    fail "lapse info does not show all $total tasks done"

note "compare with the plain 1-rank run"
nonconstant "$T/plain.h5" /result /blurred
py h5same.py "$T/plain.h5" "$T/job.h5" || fail "the time-limited Slurm job differs from the 1-rank run"
echo "timings: job $t_job s after sbatch ($restarts restarts), test $((SECONDS - t_start)) s"
echo "PASS ($TEST_NAME)"
