#!/usr/bin/env bash
# sweep_small.sh - geometry sweep of the small-window kernels (issue 11) on the lent GPU, one
# device call: minimum / maximum box r = 1 (filters_tiled.cl lapse_box1_*, or the tunable
# lapse_box3d_* with LAPSE_BOX_TUNE=1), binary erode / dilate r = 1 and opening / closing
# (minmax_fused.cl, geometry from LAPSE_MM_GEOM1 / LAPSE_MM_GEOM2), and any extra variants in
# $EXTRA_DEFINES ("|"-separated --defines strings) for $EXTRA_OPS. Each bench_kernels run checks
# its variants bit for bit against the simple kernels (the first variant, -DLAPSE_SWEEP_DEFAULT=1,
# is the default program). Logs under $OUT (default bench-out).
set -uo pipefail
BIN=${BIN:-gpu-bin}
LOG=${OUT:-bench-out}
mkdir -p "$LOG"
source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/$BIN/lib:$LD_LIBRARY_PATH
BK="$BIN/bench_kernels --shape 256,1024,1024 --device-kind gpu --reps ${REPS:-10}"
echo "=== box r=1 min/max: default tile vs strip (impl 1) vs tile geometries"
$BK --ops min1,max1,mean1 --defines -DLAPSE_SWEEP_DEFAULT=1 \
    --defines "-DLAPSE_BOX_TUNE=1 -DLAPSE_BOX_IMPL=1 -DLAPSE_BYS=8 -DLAPSE_BKZ=32 -DLAPSE_BTX=32 -DLAPSE_BTY=2" \
    --defines "-DLAPSE_BOX_TUNE=1 -DLAPSE_BOX_IMPL=1 -DLAPSE_BYS=4 -DLAPSE_BKZ=32 -DLAPSE_BTX=32 -DLAPSE_BTY=4" \
    --defines "-DLAPSE_BOX_TUNE=1 -DLAPSE_BOX_IMPL=1 -DLAPSE_BYS=8 -DLAPSE_BKZ=64 -DLAPSE_BTX=64 -DLAPSE_BTY=1" \
    --defines "-DLAPSE_B1X_TX=32 -DLAPSE_B1X_TY=8 -DLAPSE_B1X_KZ=32" \
    --defines "-DLAPSE_B1X_TX=128 -DLAPSE_B1X_TY=2 -DLAPSE_B1X_KZ=32" \
    >"$LOG/sweep_box1.txt" 2>&1
grep -v '^csv' "$LOG/sweep_box1.txt" | tail -n +5
for g1 in default 32,8,32,64 64,8,32,128 64,16,32,256 128,8,32,256 128,16,16,512 64,32,64,256 \
    32,16,64,128; do
    for g2 in default 64,8,32,128 32,16,32,128 128,8,32,256 64,32,32,256; do
        [ "$g1" != default ] && [ "$g2" != default ] && continue
        e=""
        [ "$g1" != default ] && e="LAPSE_MM_GEOM1=$g1"
        [ "$g2" != default ] && e="LAPSE_MM_GEOM2=$g2"
        ops=erode1,dilate1
        [ "$g1" = default ] && ops=open1,close133,tophat
        [ "$g1" = default ] && [ "$g2" = default ] && ops=erode1,dilate1,open1,close133,tophat
        echo "=== minmax_fused ${e:-defaults}"
        env $e $BK --variant tiled --no-check --ops $ops 2>&1 | grep -v '^csv' | tail -n +5 |
            grep -v '^copy'
    done
done
if [ -n "${EXTRA_OPS:-}" ]; then
    echo "=== extra variants"
    args=(--defines -DLAPSE_SWEEP_DEFAULT=1)
    IFS='|' read -ra ds <<<"${EXTRA_DEFINES:-}"
    for d in "${ds[@]}"; do args+=(--defines "$d"); done
    $BK --ops "$EXTRA_OPS" "${args[@]}" >"$LOG/sweep_extra.txt" 2>&1
    grep -v '^csv' "$LOG/sweep_extra.txt" | tail -n +5
fi
