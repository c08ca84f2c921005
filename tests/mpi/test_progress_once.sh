#!/usr/bin/env bash
# test_progress_once.sh - rank 0's final progress line ("lapse: progress N/M tasks ...") is
# printed once: a due update that has just reported the run's final count is not followed by a
# second line of the same count (the end of lapse_worker_work forced one more, so a run whose
# last task was reported by a due update printed the final line twice).
# Rank 0's compute step sleeps 3 s per task (LAPSE_FAULT=compute@0~3), one log line per second
# at most (LAPSE_PROGRESS_INTERVAL=1), so the update after rank 0's last task is always due.
# a) SIGTERM to the ranks once a task is marked: rank 1 winds down first, rank 0 finishes the
#    task in its slow step afterwards: exit 75, the run interrupted.
# b) SIGINT to the ranks, as a).
# c) no signal: rank 0's slow task is the run's last (rank 1 does the others): exit 0.
# Each case: at least one progress line, and the last two progress lines report different counts
# (the last reports the tasks marked done in the file).
source "$(dirname "$0")/common.sh"
need_device
make_sample
OUT=$T/out.h5
CFG=$T/run.yaml
kill_config "$CFG" "$OUT"
sed -i 's/shape: \[8, 64, 64\]/shape: [8, 32, 32]/' "$CFG" # many tasks: rank 1 is still busy at the signal
grep -q 'shape: \[8, 32, 32\]' "$CFG" || fail "cannot set the tile of $CFG"
TOTAL=$((NT * $(ntiles 8 32 32)))

# final_once LOG: fail unless LOG's progress lines end in one line of the final count, the number
# of tasks marked done in $OUT.
final_once() {
    local log=$1 n counts last prev m
    counts=$(sed -n 's/^lapse: progress \([0-9]*\)\/[0-9]* tasks.*/\1/p' "$log")
    n=$(echo "$counts" | grep -c .)
    [ "$n" -ge 1 ] || { cat "$log"; fail "no progress line"; }
    last=$(echo "$counts" | tail -n 1)
    prev=$(echo "$counts" | tail -n 2 | head -n 1)
    m=$(marks "$OUT")
    note "$n progress line(s), the last says $last tasks (the one before: $prev); $m marked"
    [ "$last" -eq "$m" ] || { cat "$log"; fail "the last progress line says $last tasks, $m are marked"; }
    [ "$n" -eq 1 ] || [ "$prev" -ne "$last" ] ||
        { cat "$log"; fail "the final progress line ($last/$TOTAL) is printed twice"; }
}

# stop_case NAME SIGNAL: the run on 2 ranks, SIGNAL to both ranks once a task is marked.
stop_case() {
    local name=$1 sig=$2 pid p
    note "$name"
    rm -f "$OUT"
    mpirun_argv 2
    OMPI_MCA_orte_tmpdir_base=$BG_SESSION "${MPIRUN_ARGV[@]}" -x LAPSE_OVERLAP=0 \
        -x LAPSE_FAULT=compute@0~3 -x LAPSE_PROGRESS_INTERVAL=1 "$LAPSE" run "$CFG" >"$T/$sig.log" 2>&1 &
    pid=$!
    wait_marks "$OUT" 1 "$pid" 120 || { wait_bg "$pid" 60; cat "$T/$sig.log"; fail "$name: the run ended before a mark"; }
    for p in $(lapse_pids "$CFG"); do
        kill "-$sig" "$p" 2>/dev/null || true
    done
    wait_bg "$pid" 60
    wait_gone "$CFG" 10
    [ "$WAIT_RC" -eq 75 ] || { cat "$T/$sig.log"; fail "$name: exit $WAIT_RC after $sig, want 75"; }
    [ "$(run_attr "$OUT" 1 status)" = interrupted ] || fail "$name: run 1 is not interrupted"
    final_once "$T/$sig.log"
}

stop_case "a) SIGTERM to the ranks" TERM
stop_case "b) SIGINT to the ranks" INT

note "c) no signal: rank 0's slow task ends the run"
rm -f "$OUT"
LAPSE_OVERLAP=0 run_ok "$T/c.log" "$MPIEXEC" -n 2 --oversubscribe --bind-to none \
    -x POCL_MAX_PTHREAD_COUNT -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM \
    -x LAPSE_OVERLAP -x LAPSE_FAULT=compute@0~3 -x LAPSE_PROGRESS_INTERVAL=1 "$LAPSE" run "$CFG"
[ "$(marks "$OUT")" -eq "$TOTAL" ] || fail "c) not every task is marked"
final_once "$T/c.log"
echo "PASS ($TEST_NAME)"
