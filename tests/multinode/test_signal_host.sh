#!/usr/bin/env bash
# test_signal_host.sh - SIGUSR2 (Slurm's time-limit warning, `--signal=B:USR2@<s>`) sent to
# mpirun on host a of a simulated two-host cluster (network namespaces, TCP) reaches the ranks
# on both hosts, every rank stops cleanly, and the same command finishes the output.
#
# Once the output holds some done marks, strace (when installed) is attached to every lapse rank
# (found per host through `ip netns pids`; all its threads, since a process-directed signal may
# land on any of them) to see the signal arrive and the rank's own exit status, then mpirun gets SIGUSR2. Checks: mpirun exits 75 (Open MPI passes the ranks' status
# through) within 8 s (strace slows the ranks); with strace, each rank on host a and on host b received SIGUSR2 itself
# (not only rank 0's abort notice) and exited 75; no lapse process is left; /lapse/runs/1 says
# "interrupted"; every marked task equals the reference (check_done.py); run 1's done
# rows are exactly the marks and at most one row per rank says abandoned; the same command on
# the cluster continues with exactly the unmarked tasks and ends bit-identical to the
# reference; once more, it has nothing to do.
source "$(dirname "$0")/../mpi/common.sh"
source "$(dirname "$0")/netns.sh"
need_device
# shellcheck disable=SC2034  # NZ, NY, NX are read by common.sh (make_sample, ntiles)
NT=96
NZ=16
NY=128
NX=128
make_sample
netns_up 2
OUT=$T/out.h5
CFG=$T/cfg.yaml
TOTAL=$((NT * $(ntiles 8 64 64)))
note "$TOTAL tasks per run"
trap 'kill $(jobs -p) 2>/dev/null; netns_cleanup; rm -rf "$T"' EXIT

kill_config "$T/ref.yaml" "$T/ref.h5"
lapse_run 2 "$T/ref.yaml"
nonconstant "$T/ref.h5" /result /blurred

cluster_config "$CFG" "$OUT" dynamic
cluster_argv 2,2
"${MPIRUN_ARGV[@]}" "$LAPSE" run "$CFG" >"$T/sig.log" 2>&1 &
mp=$!
wait_marks "$OUT" 2 "$mp" 120 || { wait_bg "$mp" 60; cat "$T/sig.log"; fail "run ended (exit $WAIT_RC) before 2 marks"; }

# rank_pids HOST: "pid:rank" of the lapse ranks in host HOST's namespace.
rank_pids() {
    local p r want
    want=$(basename "$LAPSE" | cut -c1-15)
    for p in $(ip netns pids "$NS_PREFIX$1"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$want" ] || continue
        r=$({ tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
        echo "$p:$r"
    done
    return 0
}
traced=()
if command -v strace >/dev/null; then
    for h in a b; do
        for pr in $(rank_pids "$h"); do
            strace -f -q -e trace=none -e signal=SIGUSR2 -o "$T/strace.$h.${pr#*:}" -p "${pr%:*}" &
            traced+=("$h:${pr#*:}")
        done
    done
    sleep 0.5 # strace attaches
else
    note "no strace: the signal's arrival on each host is not observed, only the outcome"
fi
kill -0 "$mp" 2>/dev/null || { wait_bg "$mp" 5; cat "$T/sig.log"; skip "the run ended before the signal (machine too fast)"; }
t0=$(date +%s.%N)
kill -USR2 "$mp"
wait_bg "$mp" 60
wait_gone "$CFG" 15
took=$(echo "$WAIT_END - $t0" | bc)
note "mpirun exit $WAIT_RC $took s after SIGUSR2; ranks traced: ${traced[*]:-none}"
status=$(run_attr "$OUT" 1 status)
if [ "$WAIT_RC" -eq 0 ] && [ "$status" = "done" ]; then
    skip "the ranks finished every task before the signal reached them (machine too fast)"
fi
[ "$WAIT_RC" -eq 75 ] || { cat "$T/sig.log"; fail "mpirun exited $WAIT_RC after SIGUSR2, want 75"; }
[ "$(echo "$took <= 8" | bc)" -eq 1 ] || fail "took $took s to exit after SIGUSR2 (limit 8 s)"
wait # the strace processes end with their tracees
seen_a=0 seen_b=0
for tr in "${traced[@]}"; do
    f=$T/strace.${tr%%:*}.${tr#*:}
    grep -q 'SIGUSR2 {si_signo=SIGUSR2' "$f" || { cat "$f"; fail "rank ${tr#*:} on host ${tr%%:*} never received SIGUSR2"; }
    grep -q '+++ exited with 75 +++' "$f" || { cat "$f"; fail "rank ${tr#*:} on host ${tr%%:*} did not exit 75"; }
    [ "${tr%%:*}" = a ] && seen_a=$((seen_a + 1))
    [ "${tr%%:*}" = b ] && seen_b=$((seen_b + 1))
done
if [ "${#traced[@]}" -gt 0 ]; then
    if [ "$seen_a" -ne 2 ] || [ "$seen_b" -ne 2 ]; then
        fail "traced $seen_a ranks on host a and $seen_b on host b (want 2 and 2)"
    fi
    note "SIGUSR2 received, and exit 75, by 2 ranks on host a and 2 on host b"
fi

[ "$status" = interrupted ] || { cat "$T/sig.log"; fail "run 1 has status '$status', want interrupted"; }
py check_done.py "$OUT" "$T/ref.h5" --max $((TOTAL - 1)) >"$T/check.log" 2>&1 ||
    { cat "$T/sig.log" "$T/check.log"; fail "check_done failed after the signal"; }
m=$(sed -n 's/^check_done: \([0-9]*\) of .*/\1/p' "$T/check.log")
done1=$(rows_of "$OUT" 1 0)
ab=$(rows_of "$OUT" 1 2)
note "$m marks, $done1 done rows, $ab abandoned rows"
[ "$done1" -eq "$m" ] || fail "run 1 has $done1 done rows but $m tasks are marked done"
[ "$ab" -le 4 ] || fail "$ab abandoned rows from 4 ranks"
[ "$(rows_of "$OUT" 1 1)" -eq 0 ] || fail "run 1 has rows of failed tasks"

cluster_lapse 2,2 run "$CFG" >"$T/resume.log" 2>&1 || { cat "$T/resume.log"; fail "rerun failed"; }
grep -q "are done, $((TOTAL - m)) to run" "$T/resume.log" ||
    { cat "$T/resume.log"; fail "the rerun did not continue with the $((TOTAL - m)) pending tasks"; }
py h5same.py "$T/ref.h5" "$OUT" >"$T/same.log" || { cat "$T/same.log"; fail "rerun output differs from the reference"; }
[ "$(run_attr "$OUT" 2 status)" = "done" ] || fail "the rerun (run 2) is not recorded done"
before=$(sha "$OUT")
cluster_lapse 2,2 run "$CFG" >"$T/again.log" 2>&1 || { cat "$T/again.log"; fail "second rerun failed"; }
grep -q 'nothing to do' "$T/again.log" || { cat "$T/again.log"; fail "second rerun did work"; }
[ "$(sha "$OUT")" = "$before" ] || fail "a rerun of a complete output changed the file"
echo "PASS: SIGUSR2 to mpirun stopped the ranks on both hosts; the rerun is bit-identical"
