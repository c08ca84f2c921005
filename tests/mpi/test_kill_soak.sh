#!/usr/bin/env bash
# test_kill_soak.sh - many random SIGKILLs of one rank, each followed by a resume to completion
# (issue "Never lose a finished result").
#
# ITER iterations (LAPSE_SOAK_ITER, default 20), each: 2 or 3 ranks at random, SIGKILL of a
# random lapse process at a random moment (mostly once a random number of tasks, up to half,
# are marked; one in four after a random delay from the start, which may hit start-up or file
# creation).
# Each must leave an output that is absent or opens as it is with every marked task equal to
# the reference (check_done.py), and the same command must finish it bit-identical to the
# reference, continuing with exactly the unmarked tasks (kill_iteration in common.sh).
# Per iteration it prints the marks left, the tasks the resume ran, and how many of those had
# their final data already written but no mark (work recomputed because of the kill); at the
# end "soak: N iterations, worst recomputed M tasks of T". LAPSE_TEST_SEED repeats a run.
source "$(dirname "$0")/common.sh"
need_device
NT=32
NZ=16
NY=128
NX=128
make_sample
TOTAL=$((NT * $(ntiles 8 64 64)))
ITER=${LAPSE_SOAK_ITER:-20}
SEED=${LAPSE_TEST_SEED:-$$}
RANDOM=$SEED
note "seed $SEED; $ITER iterations of $TOTAL tasks"

REF=$T/ref.h5
kill_config "$T/ref.yaml" "$REF"
lapse_run 1 "$T/ref.yaml"
nonconstant "$REF" /result /blurred
OUT=$T/out.h5
CFG=$T/run.yaml
kill_config "$CFG" "$OUT"

worst=0 worst_ran=0 missed=0 nofile=0 start=$SECONDS
for i in $(seq 1 "$ITER"); do
    n=$((2 + RANDOM % 2))
    mode=marks
    [ $((RANDOM % 4)) -ne 0 ] || mode=delay
    kill_iteration "$n" "$CFG" "$OUT" "$REF" "$TOTAL" "$mode"
    [ -e "$OUT" ] || fail "iteration $i: no output after the resume"
    if [ "$KILL_MISSED" -eq 1 ]; then
        missed=$((missed + 1))
        note "iteration $i: $n ranks, $mode: the run ended before the kill"
        continue
    fi
    nofile=$((nofile + KILL_NOFILE))
    note "iteration $i: $n ranks, $mode, killed rank $KILL_RANK: $KILL_MARKS marks left," \
        "resume ran $KILL_RAN, recomputed $KILL_FINAL with final data"
    [ "$KILL_FINAL" -le "$worst" ] || worst=$KILL_FINAL
    [ "$KILL_RAN" -le "$worst_ran" ] || worst_ran=$KILL_RAN
done
echo "soak: $ITER iterations, worst recomputed $worst tasks of $TOTAL"
echo "soak: $missed kills came after the run had ended; $nofile resumes had no file to" \
    "continue; the most tasks a resume ran: $worst_ran; $((SECONDS - start)) s"
[ "$missed" -lt "$ITER" ] || fail "no kill landed during a run"
