#!/usr/bin/env bash
# gpu_e2e.sh - the end-to-end GPU measurement of docs/benchmarks.md, run ON the lent GPU machine
# from the repository root, with the staged libraries (.gpu/, see docs/gpu.md) and a build in
# $BUILD (default build-gpu). Steps: `lapse devices` (1 and 2 ranks), a sample time-lapse of
# $NT timepoints of $SHAPE uint16, bench/e2e.yaml.in (gaussian_blur -> top_hat_box ->
# threshold_fixed) with 1 and 2 ranks, `lapse info` of each, and a bit-for-bit comparison of
# the two outputs. Logs go to $OUT (or ./bench-out).
set -euo pipefail
BUILD=${BUILD:-build-gpu}
NT=${NT:-20}
SHAPE=${SHAPE:-128,1024,1024}
RANKS=${RANKS:-"1 2"}
LOG=${OUT:-bench-out}
W=${WORK:-/tmp/lapse-bench}
mkdir -p "$LOG" "$W"
source .gpu/env.sh
L=$BUILD/lapse
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv 2>&1 | tee "$LOG/gpu.txt" || true
$L devices 2>&1 | tee "$LOG/devices-1.txt"
mpirun -n 2 $L devices 2>&1 | tee "$LOG/devices-2.txt"
s0=$(date +%s.%N)
[ -f "$W/sample.h5" ] || $L sample "$W/sample.h5" --timepoints "$NT" --shape "$SHAPE" --seed 1
echo "sample: $(awk -v a="$s0" -v b="$(date +%s.%N)" "BEGIN{print b-a}") s" | tee "$LOG/sample.txt"
for n in $RANKS; do
  sed -e "s|@INPUT@|$W/sample.h5|" -e "s|@OUTPUT@|$W/out-$n.h5|" bench/e2e.yaml.in >"$W/bench-$n.yaml"
  rm -f "$W/out-$n.h5"
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(date +%s.%N)
  mpirun -n "$n" --bind-to none $L run "$W/bench-$n.yaml" 2>&1 | tee "$LOG/run-$n.txt"
  echo "wall: $(awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN{print b-a}") s" | tee -a "$LOG/run-$n.txt"
  $L info "$W/out-$n.h5" 2>&1 | tee "$LOG/info-$n.txt"
done
# The ceiling for reading: the raw file read from a cold cache, then a warm-cache run.
sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
dd if="$W/sample.h5" of=/dev/null bs=16M 2>&1 | tail -1 | tee "$LOG/dd-cold.txt"
sed -e "s|@INPUT@|$W/sample.h5|" -e "s|@OUTPUT@|$W/out-warm.h5|" bench/e2e.yaml.in >"$W/bench-warm.yaml"
$L run "$W/bench-warm.yaml" 2>&1 | tee "$LOG/run-warm.txt"
$L info "$W/out-warm.h5" 2>&1 | tee "$LOG/info-warm.txt"
set -- $RANKS
if [ $# -ge 2 ]; then
  python3 tests/py/h5same.py "$W/out-$1.h5" "$W/out-$2.h5" /result 2>&1 | tee "$LOG/same.txt"
fi
