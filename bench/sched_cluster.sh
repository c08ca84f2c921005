#!/usr/bin/env bash
# sched_cluster.sh - task hand-out on a simulated 2-host cluster (network namespaces, TCP):
# dynamic (point-to-point) vs rma (--mca osc pt2pt) vs static, many small tasks.
#
# Usage (root, from the repo root after building):
#   LAPSE=build/lapse bench/sched_cluster.sh [TILE]            many small tasks
#   LAPSE=build/lapse SLOW=0.1 NT=4 bench/sched_cluster.sh     rank 0 busy in every task
# Prints per scheduler: tasks, the launcher's wall time (start-up included), tasks per second
# over it, each rank's time inside tasks (from /lapse/tasks) and the idle time summed over
# ranks (wall x ranks - busy; includes start-up and file creation, the same for every kind),
# then tasks done per rank and the time each rank waited in lapse_sched_next for its next task
# (LAPSE_SCHED_STATS). Slow-task mode (SLOW=S): rank 0 sleeps S s in the compute step of each
# of its tasks without entering MPI (LAPSE_FAULT=compute@0~S, status.h), like a rank stuck in a
# long clFinish or H5Dread; the other ranks' wait then shows whether their hand-out stalls.
# LAPSE_SCHED_HELPER=0 turns rank 0's server thread off (sched.h lapse_sched_away_begin), to
# compare.
set -u
TEST_NAME=sched_cluster
source "$(dirname "$0")/../tests/mpi/common.sh"
source "$(dirname "$0")/../tests/multinode/netns.sh"
need_device
TILE=${1:-4,16,16}
SLOW=${SLOW:-0}
NT=${NT:-8} NZ=16 NY=64 NX=64
make_sample
netns_up 2

# stats FILE WALL: tasks, tasks/s, busy seconds per rank, idle seconds summed over ranks.
stats() {
    "$LAPSE_PY" - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
t = h5py.File(sys.argv[1], "r")["/lapse/tasks"][()]
ranks = sorted(set(t["rank"]))
busy = {r: float(t["t_total"][t["rank"] == r].sum()) for r in ranks}
n = len(t)
wall = float(sys.argv[2])
idle = wall * len(ranks) - sum(busy.values())
print("tasks %d, wall %.2f s, %.1f tasks/s, busy/rank %s s, idle %.2f s" % (
    n, wall, n / wall, " ".join("%.2f" % busy[r] for r in ranks), idle))
print("  tasks/rank %s" % " ".join(str(int((t["rank"] == r).sum())) for r in ranks))
PY
}

for sched in dynamic rma static; do
    cfg=$T/$sched.yaml out=$T/$sched.h5
    cat >"$cfg" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [$TILE]}
pipeline:
  - {op: gaussian_blur, sigma: 1}
output: {file: $out, dataset: /result}
devices: any
scheduling: $sched
YAML
    NS_MCA=()
    [ "$sched" != rma ] || NS_MCA=(--mca osc pt2pt)
    export LAPSE_SCHED_STATS=1
    [ "$SLOW" = 0 ] || export LAPSE_FAULT="compute@0~$SLOW"
    NS_MCA+=(-x LAPSE_SCHED_STATS)
    [ -z "${LAPSE_SCHED_HELPER:-}" ] || NS_MCA+=(-x LAPSE_SCHED_HELPER)
    cluster_argv 2,2
    s=$(date +%s.%N)
    "${MPIRUN_ARGV[@]}" "$LAPSE" run "$cfg" >"$T/$sched.log" 2>&1 || { cat "$T/$sched.log"; fail "$sched failed"; }
    e=$(date +%s.%N)
    ! grep -q "instead" "$T/$sched.log" || note "$sched: $(grep instead "$T/$sched.log")"
    label=$sched
    [ "$SLOW" = 0 ] || label+=" (rank 0 +$SLOW s per task)"
    echo "$label: $(stats "$out" "$(echo "$e - $s" | bc)")"
    echo "  waited for the next task (s): $(sed -n 's/^lapse: sched: rank \([0-9]*\) .* waited \([0-9.]*\) s.*/r\1 \2/p' "$T/$sched.log" | sort | tr '\n' ' ')"
done
