#!/usr/bin/env bash
# test_kill_host.sh - kill -9 of a rank on the second host of a simulated two-host cluster
# (network namespaces, TCP), then resume on the same cluster.
#
# Once the output holds some done marks, one lapse rank running on host b (found through
# `ip netns pids`) gets SIGKILL; mpirun must end the job with no rank left, the output must open
# with every marked task equal to the one-rank reference (check_done.py), and the same command
# again must run only the pending tasks and leave the output bit-identical to the reference.
source "$(dirname "$0")/../mpi/common.sh"
source "$(dirname "$0")/netns.sh"
need_device
make_sample
netns_up 2
OUT=$T/out.h5
TOTAL=$((NT * $(ntiles 8 64 64)))

kill_config "$T/ref.yaml" "$T/ref.h5"
lapse_run 1 "$T/ref.yaml"
nonconstant "$T/ref.h5" /result /blurred

cluster_config "$T/cfg.yaml" "$OUT" dynamic
cluster_argv 2,2
"${MPIRUN_ARGV[@]}" "$LAPSE" run "$T/cfg.yaml" >"$T/killed.log" 2>&1 &
mp=$!
wait_marks "$OUT" 2 "$mp" 120 || { wait_bg "$mp" 60; cat "$T/killed.log"; fail "run ended (exit $WAIT_RC) before 2 marks"; }
victim=""
for p in $(ip netns pids "${NS_PREFIX}b"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$(basename "$LAPSE" | cut -c1-15)" ] && victim=$p && break
done
if [ -z "$victim" ]; then
    wait_bg "$mp" 60
    [ "$WAIT_RC" -eq 0 ] || { cat "$T/killed.log"; fail "run failed (exit $WAIT_RC) before the kill"; }
    skip "the run ended before a rank on host b could be killed (machine too fast)"
fi
rank=$({ tr '\0' '\n' <"/proc/$victim/environ"; } 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
note "kill -9 rank $rank (pid $victim) on host b"
kill -9 "$victim"
wait_bg "$mp" 60
wait_gone "$T/cfg.yaml" 15
[ "$WAIT_RC" -ne 0 ] || note "the run had finished before the kill took effect"
py check_done.py "$OUT" "$T/ref.h5" >"$T/check.log" 2>&1 ||
    { cat "$T/killed.log" "$T/check.log"; fail "check_done failed after the kill"; }
marks_left=$(sed -n 's/^check_done: \([0-9]*\) of .*/\1/p' "$T/check.log")
note "after the kill: $marks_left of $TOTAL tasks marked done"

cluster_lapse 2,2 run "$T/cfg.yaml" >"$T/resume.log" 2>&1 || { cat "$T/resume.log"; fail "resume failed"; }
if [ "$marks_left" -lt "$TOTAL" ]; then
    grep -q "are done, $((TOTAL - marks_left)) to run" "$T/resume.log" ||
        { cat "$T/resume.log"; fail "resume did not run exactly the $((TOTAL - marks_left)) pending tasks"; }
fi
py h5same.py "$T/ref.h5" "$OUT" >"$T/same.log" || { cat "$T/same.log"; fail "resumed output differs"; }
cluster_lapse 2,2 run "$T/cfg.yaml" >"$T/again.log" 2>&1 || { cat "$T/again.log"; fail "second resume failed"; }
grep -q 'nothing to do' "$T/again.log" || { cat "$T/again.log"; fail "second resume did work"; }
echo "PASS: kill -9 on host b, resumed on the cluster"
