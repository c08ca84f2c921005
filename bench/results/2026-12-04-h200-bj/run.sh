#!/usr/bin/env bash
# run.sh - run BJ (docs/benchmarks.md): laplace_diamond's row-form kernel (-DLAPSE_SW_DROW=1,
# lapse_laplace_diamond_r in kernels/stencil.cl) against the default strip on the lent GPU,
# beside the other stencils; the device suites of the stencils first.
set -uo pipefail
OUT=${OUT:-bench-out}
mkdir -p "$OUT"
source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/gpu-bin/lib:$LD_LIBRARY_PATH
W=$(mktemp -d)
PY=$(command -v python3)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
for t in test_variants test_filters; do
    (cd "$W" && CK_FORK=no LAPSE_SRC=$OLDPWD LAPSE_PY=$PY "$OLDPWD/gpu-bin/$t") >"$OUT/$t.txt" 2>&1
    echo "$t rc=$? $(tail -1 "$OUT/$t.txt")"
done
for rep in 1 2; do
    gpu-bin/bench_kernels --device-kind gpu --variant both --ops lapdia,lapbox,sobel,gradx,gradz \
        --defines "-DLAPSE_SW_DROW=1" >"$OUT/st-$rep.txt" 2>&1
    echo "rep $rep rc=$?"
    grep -v '^csv' "$OUT/st-$rep.txt" | grep -E 'laplace|sobel|gradient|copy'
done
# 2-D data ([t, y, x]: one plane of 16384 x 16384)
gpu-bin/bench_kernels --device-kind gpu --variant both --shape 1,16384,16384 --ops lapdia \
    --defines "-DLAPSE_SW_DROW=1" >"$OUT/st-2d.txt" 2>&1
echo "2d rc=$?"
grep -v '^csv' "$OUT/st-2d.txt" | grep -E 'laplace|copy'
# The second call (sweep-1.txt, sweep-2.txt): the default strip and the row form in one run, with
# the strip's geometry swept (every variant checked bit for bit against the simple kernels):
# for rep in 1 2; do gpu-bin/bench_kernels --device-kind gpu --variant tiled --ops lapdia,sobel \
#   --defines "-DLAPSE_SW_DROW=0" --defines "-DLAPSE_SW_DROW=1" --defines "-DLAPSE_SW_YS=4" \
#   --defines "-DLAPSE_SW_YS=16" --defines "-DLAPSE_SW_SKZ=16" --defines "-DLAPSE_SW_SKZ=64" \
#   --defines "-DLAPSE_SW_STY=4" --defines "-DLAPSE_SW_STX=64 -DLAPSE_SW_STY=1" \
#   --defines "-DLAPSE_SW_PF=0" --defines "-DLAPSE_SW_YS=4 -DLAPSE_SW_SKZ=64" >$OUT/sweep-$rep.txt
# done
# LAPSE_SW_DROW and lapse_laplace_diamond_r exist only with diamond_row.patch (on 2559296).
