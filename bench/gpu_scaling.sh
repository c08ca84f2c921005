#!/usr/bin/env bash
# gpu_scaling.sh - strong and weak scaling of `lapse run` over ranks, ON the lent GPU machine, from
# the repository root, with the staged libraries (.gpu/, docs/gpu.md) and a build in $BUILD.
# Strong: one sample of $NT timepoints of $SHAPE uint16 with 1, 2, 4 ranks; weak: NT/4 timepoints
# per rank. Pipeline bench/e2e.yaml.in (gaussian_blur -> top_hat_box -> threshold_fixed).
# Every rank count's output is compared bit for bit with the 1-rank output. On a machine with
# fewer GPUs than ranks, ranks share GPUs (local rank % GPUs). Logs go to $OUT (or ./bench-out).
set -euo pipefail
BUILD=${BUILD:-build-gpu}
NT=${NT:-40}
SHAPE=${SHAPE:-128,1024,1024}
RANKS=${RANKS:-"1 2 4"}
LOG=${OUT:-bench-out}
W=${WORK:-/tmp/lapse-scaling}
mkdir -p "$LOG" "$W"
source .gpu/env.sh
L=$BUILD/lapse
nvidia-smi -L 2>&1 | tee "$LOG/gpus.txt" || true
mpirun -n 4 $L devices 2>&1 | tail -5 | tee "$LOG/devices-4.txt"
[ -f "$W/sample.h5" ] || $L sample "$W/sample.h5" --timepoints "$NT" --shape "$SHAPE" --seed 1 >/dev/null
now() { date +%s.%N; }
run() { # run NAME RANKS TIMEPOINTS
  local name=$1 n=$2 tp=$3
  sed -e "s|@INPUT@|$W/sample.h5|" -e "s|@OUTPUT@|$W/$name.h5|" bench/e2e.yaml.in >"$W/$name.yaml"
  printf 'timepoints: "%s"\n' "$tp" >>"$W/$name.yaml"
  rm -f "$W/$name.h5"
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  local t0; t0=$(now)
  mpirun -n "$n" --bind-to none $L run "$W/$name.yaml" >"$LOG/$name.log" 2>&1
  local wall; wall=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}')
  $L info "$W/$name.h5" >"$LOG/$name.info"
  local phases; phases=$(grep -E '^ +all ' "$LOG/$name.info" | awk '{print "read="$5" upload="$6" compute="$7" download="$8" write="$9" total="$10}')
  echo "$name ranks=$n timepoints=$tp wall=$wall $phases" | tee -a "$LOG/scaling.txt"
}
for n in $RANKS; do run "strong-$n" "$n" "0-$((NT - 1))"; done
for n in $RANKS; do
  [ "$n" = 1 ] && continue
  python3 tests/py/h5same.py "$W/strong-1.h5" "$W/strong-$n.h5" /result | tee -a "$LOG/scaling.txt"
  rm -f "$W/strong-$n.h5"
done
rm -f "$W/strong-1.h5"
for n in $RANKS; do run "weak-$n" "$n" "0-$((NT / 4 * n - 1))"; rm -f "$W/weak-$n.h5"; done
