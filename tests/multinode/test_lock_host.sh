#!/usr/bin/env bash
# test_lock_host.sh - the writer lock on a simulated two-host cluster (network namespaces, TCP):
# while a run launched on host a (ranks on hosts a and b) writes out.h5, a second run launched
# on host b is refused, and the first run's result is unaffected.
#
# While run A (2 ranks on host a, 2 on host b, slowed by 50 ms per task) writes: run B of the same config, launched from
# host b with its rank 0 on host b (first with both ranks on b, then with one rank on b and one
# on a), must exit 2 with "another lapse run is writing ...out.h5 (host hosta, pid P, ...)",
# P being A's rank 0 (the lock holder); a run C launched from host b whose output is a hard
# link to out.h5 must be refused through the identity (OFD) lock, naming the same pid. The lock
# marker must still name A afterwards. A then exits 0, its output equals the reference, holds
# one run with every task, and no out.h5.lock is left.
#
# What this shows and what it does not: the simulated hosts share one kernel and one local file
# system, so flock and OFD locks are coherent between them by construction. It shows that lapse
# takes the lock once per run (on rank 0, whatever host that is), that a refused run on another
# host writes nothing and stops all its ranks with exit 2, and that the holder's details (host
# name from that host's UTS namespace, pid) reach the refused run. It does not show that the
# locks hold across real nodes of a network file system: on NFS that needs working lock
# recovery (lockd / NFSv4) and no `local_lock=` mount option, on Lustre the `flock` mount option
# (with `localflock` or neither, the lock is node-local or fails); see docs/reliability.md.
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
trap 'kill $(jobs -p) 2>/dev/null; netns_cleanup; rm -rf "$T"' EXIT

kill_config "$T/ref.yaml" "$T/ref.h5"
lapse_run 2 "$T/ref.yaml"
nonconstant "$T/ref.h5" /result /blurred

cluster_config "$CFG" "$OUT" dynamic
cluster_config "$T/link.yaml" "$T/link.h5" dynamic
# Run A's compute step sleeps 50 ms per task (LAPSE_FAULT=compute~0.05, status.h), so that it
# outlasts the three refused runs (each pays mpirun's start-up) on any machine.
LAPSE_FAULT=compute~0.05 cluster_argv 2,2
LAPSE_FAULT=compute~0.05 "${MPIRUN_ARGV[@]}" "$LAPSE" run "$CFG" >"$T/a.log" 2>&1 &
mp=$!
wait_marks "$OUT" 1 "$mp" 120 || { wait_bg "$mp" 60; cat "$T/a.log"; fail "run A ended (exit $WAIT_RC) before its first mark"; }
holder=""
want=$(basename "$LAPSE" | cut -c1-15)
for p in $(ip netns pids "${NS_PREFIX}a"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$want" ] || continue
    r=$({ tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
    [ "$r" = 0 ] && holder=$p
done
[ -n "$holder" ] || { wait_bg "$mp" 60; skip "run A ended before its rank 0 was seen (machine too fast)"; }
marker=$(cat "$OUT.lock")
note "run A's rank 0 is pid $holder on host a; marker: $marker"
echo "$marker" | grep -Eq "^host hosta, pid $holder," || fail "the marker does not name host a and pid $holder"
ln "$OUT" "$T/link.h5"

# refused NAME LOG CFG SPEC PATTERN: run CFG from host b on SPEC; want exit 2 and PATTERN.
refused() {
    local name=$1 log=$2 cfg=$3 spec=$4 pattern=$5
    cluster_argv "$spec" b
    expect_rc 2 "$log" "${MPIRUN_ARGV[@]}" "$LAPSE" run "$cfg"
    kill -0 "$mp" 2>/dev/null || fail "run A finished before $name was refused: inconclusive (make it longer)"
    grep -Eq "$pattern" "$log" || { cat "$log"; fail "$name: no message matching '$pattern'"; }
    note "$name: $(grep -F 'another lapse run' "$log" | head -1)"
}
refused "run B (host b x2)" "$T/b1.log" "$CFG" b:2 \
    "another lapse run is writing .*out\.h5 \(host hosta, pid $holder, since "
refused "run B (hosts b, a)" "$T/b2.log" "$CFG" b:1,a:1 \
    "another lapse run is writing .*out\.h5 \(host hosta, pid $holder, since "
refused "run C (hard link, host b)" "$T/c.log" "$T/link.yaml" b:2 \
    "another lapse run is writing .*link\.h5 \(pid $holder, through another name of the file\)"
[ "$(cat "$OUT.lock")" = "$marker" ] || fail "the refused runs changed the lock marker"
[ ! -e "$T/link.h5.lock" ] || [ ! -s "$T/link.h5.lock" ] || fail "run C left a marker naming itself"
rm -f "$T/link.h5" "$T/link.h5.lock"

wait_bg "$mp" 300
[ "$WAIT_RC" -eq 0 ] || { cat "$T/a.log"; fail "run A exited $WAIT_RC after the refusals"; }
py h5same.py "$T/ref.h5" "$OUT" >"$T/same.log" || { cat "$T/same.log"; fail "run A's output differs from the reference"; }
run_ok "$T/tasks.log" py tasks.py "$OUT" --runs 1 --count "$TOTAL" --ranks 4
[ ! -e "$OUT.lock" ] || fail "run A left out.h5.lock behind"
echo "PASS: runs from host b refused while host a's run wrote; its output is intact"
