#!/usr/bin/env bash
# test_kill.sh - a rank killed with SIGKILL never loses a finished result, and the same command
# finishes the job (issue "Never lose a finished result").
#
# A reference run (1 rank, uninterrupted), then:
# 1. On 2 and on 3 ranks: SIGKILL one lapse process, chosen at random, once a random number of
#    tasks are marked done (again at the first mark if the others still finished every task). The launcher must end; the output must open as it is (no h5clear)
#    and every task marked done must hold the reference's data (check_done.py); the same
#    command must continue with exactly the unmarked tasks and end bit-identical to the
#    reference; once more it must say "nothing to do" and leave the file unchanged.
# 2. Deterministic kills (LAPSE_FAULT, see status.h lapse_fault_point):
#    create: during file creation: nothing at the output path, the half-made file only under
#      <out>.creating; the same command creates the output and completes it.
#    tasks / tasks@0: during the append of /lapse/tasks at the end: the file opens, every task
#      is marked and correct, the same command has nothing to do, the data equals the reference.
#    before-mark@1: rank 1 dies between its first task's data writes and its mark: that task is
#      not marked (check_done counts at least one unmarked task with final data), the same
#      command completes.
# LAPSE_TEST_SEED makes the random choices repeatable (the seed is printed).
source "$(dirname "$0")/common.sh"
need_device
NT=32
NZ=16
NY=128
NX=128
make_sample
TOTAL=$((NT * $(ntiles 8 64 64)))
SEED=${LAPSE_TEST_SEED:-$$}
RANDOM=$SEED
note "seed $SEED; $TOTAL tasks per run"

REF=$T/ref.h5
kill_config "$T/ref.yaml" "$REF"
lapse_run 1 "$T/ref.yaml"
nonconstant "$REF" /result /blurred
OUT=$T/out.h5
CFG=$T/run.yaml
kill_config "$CFG" "$OUT"

# The other ranks go on for about a second until Open MPI aborts them: a kill once up to a third
# of the tasks are marked; if that still let the run finish every task, again at the first mark.
for n in 2 3; do
    for maxk in $((TOTAL / 3)) 1 1; do
        note "1. $n ranks: SIGKILL of one random rank once 1..$maxk tasks are marked"
        kill_iteration "$n" "$CFG" "$OUT" "$REF" "$TOTAL" marks "$maxk"
        note "killed rank $KILL_RANK with $KILL_MARKS tasks marked; resume ran $KILL_RAN" \
            "($KILL_FINAL had final data but no mark)"
        [ "$KILL_MISSED" -eq 0 ] || note "the run had finished before the kill: again"
        [ "$KILL_MARKS" -gt 0 ] || fail "the kill left no marks though it came after one"
        [ "$KILL_MARKS" -eq "$TOTAL" ] || break
    done
    [ "$KILL_MARKS" -lt "$TOTAL" ] || fail "every kill let the run mark all $TOTAL tasks"
done

# fault_run N FAULT: the run on N ranks with LAPSE_FAULT=FAULT; it must fail.
fault_run() {
    rm -f "$OUT" "$OUT.creating"
    mpirun_argv "$1"
    local rc=0
    LAPSE_FAULT=$2 "${MPIRUN_ARGV[@]}" -x LAPSE_FAULT "$LAPSE" run "$CFG" >"$T/fault.log" 2>&1 ||
        rc=$?
    [ "$rc" -ne 0 ] || { cat "$T/fault.log"; fail "LAPSE_FAULT=$2: the run did not die"; }
    wait_gone "$CFG" 15
}

note "2a. LAPSE_FAULT=create on 2 ranks"
fault_run 2 create
[ ! -e "$OUT" ] || fail "a run killed during creation left a file at the output path"
[ -e "$OUT.creating" ] || fail "the fault did not fire inside $OUT.creating"
resume_ok 2 "$CFG" "$OUT" "$REF"
grep -q continuing "$T/resume.log" && fail "continued a half-made file instead of creating"
[ ! -e "$OUT.creating" ] || fail "$OUT.creating left behind after a complete run"

for f in "2 tasks" "3 tasks@0"; do
    read -r n fault <<<"$f"
    note "2b. LAPSE_FAULT=$fault on $n ranks"
    fault_run "$n" "$fault"
    [ -e "$OUT" ] || fail "no output after a kill at the end of the run"
    run_ok "$T/check.log" py check_done.py "$OUT" "$REF" --min "$TOTAL"
    resume_ok "$n" "$CFG" "$OUT" "$REF" 0
done

for n in 2 3; do
    note "2c. LAPSE_FAULT=before-mark@1 on $n ranks"
    fault_run "$n" before-mark@1
    run_ok "$T/check.log" py check_done.py "$OUT" "$REF" --max $((TOTAL - 1)) --min-final-unmarked 1
    cat "$T/check.log"
    m=$(sed -n 's/^check_done: \([0-9]*\) of .*/\1/p' "$T/check.log")
    resume_ok "$n" "$CFG" "$OUT" "$REF" $((TOTAL - m))
done
note "PASS"
