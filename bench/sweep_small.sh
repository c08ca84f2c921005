#!/usr/bin/env bash
# sweep_small.sh - kernel geometry and formulation sweeps of issue 11 on the lent GPU, in one
# device call (results: docs/benchmarks.md, runs I and J). Each bench_kernels run checks its
# variants bit for bit against the simple kernels ("yes" in the last column); the first --defines
# variant of a run, -DLAPSE_SWEEP_DEFAULT=1, is the default program. Sections ($SECTIONS, default
# all): box1 (minimum / maximum box r = 1 formulations), mm (minmax_fused.cl geometries,
# LAPSE_MM_GEOM1 / 2, and LAPSE_MM_BOX=0: the minimum / maximum box through sep.c), pair (the
# opening / closing pairs and top-hats as two one-filter launches or one kernel, LAPSE_MM_FUSE2,
# and the one-filter geometries for the two launches), stencil
# (stencil.cl walk and strip variants), wt (window_tiled.cl geometries, LAPSE_WT_GEOM), mean
# (mean_box r = (2, 1, 3) formulations), extra (the default program on $EXTRA_OPS).
# From the repository root with the staged libraries (.gpu/env.sh) and Release binaries in $BIN
# (default gpu-bin); logs under $OUT (default bench-out).
set -uo pipefail
BIN=${BIN:-gpu-bin}
LOG=${OUT:-bench-out}
mkdir -p "$LOG"
[ -f .gpu/env.sh ] && source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/$BIN/lib:${LD_LIBRARY_PATH:-}
BK="$BIN/bench_kernels --shape ${SHAPE:-256,1024,1024} --device-kind ${KIND:-gpu} --reps ${REPS:-10}"
SECTIONS=${SECTIONS:-box1 mm pair stencil wt mean extra}
D0="-DLAPSE_SWEEP_DEFAULT=1"
on() { [[ " $SECTIONS " == *" $1 "* ]]; }
rows() { grep -v '^csv' | tail -n +5 | grep -v '^copy'; }
if on box1; then
    echo "=== box r=1 min/max: default tile vs strip (impl 1) vs tile geometries"
    $BK --ops min1,max1,mean1 --defines "$D0" \
        --defines "-DLAPSE_BOX_TUNE=1 -DLAPSE_BOX_IMPL=1 -DLAPSE_BYS=8 -DLAPSE_BKZ=32 -DLAPSE_BTX=32 -DLAPSE_BTY=2" \
        --defines "-DLAPSE_B1X_TX=32 -DLAPSE_B1X_TY=8 -DLAPSE_B1X_KZ=32" 2>&1 | rows
fi
if on mm; then
    for e in LAPSE_MM_BOX=1 LAPSE_MM_BOX=0; do
        echo "=== minimum / maximum box, $e"
        env $e $BK --variant tiled --no-check --ops min1,max1,min133 2>&1 | rows
    done
    for g1 in default 64,8,32,128 32,8,64,64 64,4,32,64 64,8,64,128; do
        e=""
        [ "$g1" != default ] && e="LAPSE_MM_GEOM1=$g1"
        echo "=== minmax_fused one filter ${e:-defaults}"
        env $e $BK --variant tiled --no-check --ops min1,min133,erode1,dilate1 2>&1 | rows
    done
    for g2 in default 32,16,32,128 32,8,32,64 64,32,32,256 32,32,32,256; do
        e=""
        [ "$g2" != default ] && e="LAPSE_MM_GEOM2=$g2"
        echo "=== minmax_fused two filters ${e:-defaults}"
        env $e $BK --variant tiled --no-check --ops open1,close133,tophat,bothat 2>&1 | rows
    done
fi
if on pair; then
    for e in LAPSE_MM_FUSE2=0 LAPSE_MM_FUSE2=1; do
        echo "=== minimum / maximum pairs, $e (0: two one-filter launches, 1: one kernel)"
        env $e $BK --variant tiled --no-check --ops open1,close133,tophat,bothat 2>&1 | rows
    done
    for g1 in 64,8,64,128 64,16,64,256 32,16,64,128 64,8,32,128 128,8,64,256 64,4,64,64 32,8,64,64; do
        echo "=== two one-filter launches, LAPSE_MM_GEOM1=$g1"
        env LAPSE_MM_GEOM1=$g1 $BK --variant tiled --no-check --ops min133,tophat,open1 2>&1 | rows
    done
fi
if on stencil; then
    echo "=== stencils: walk (IMPL 0) and strip (IMPL 1)"
    $BK --ops sobel,lapbox,lapdia --defines "$D0" \
        --defines "-DLAPSE_SW_IMPL=1" \
        --defines "-DLAPSE_SW_IMPL=1 -DLAPSE_SW_YS=4" \
        --defines "-DLAPSE_SW_IMPL=1 -DLAPSE_SW_YS=4 -DLAPSE_SW_PF=1" \
        --defines "-DLAPSE_SW_IMPL=1 -DLAPSE_SW_YS=4 -DLAPSE_SW_STY=4" \
        --defines "-DLAPSE_SW_IMPL=1 -DLAPSE_SW_YS=4 -DLAPSE_SW_STX=64 -DLAPSE_SW_STY=1 -DLAPSE_SW_SKZ=64" \
        --defines "-DLAPSE_SW_IMPL=1 -DLAPSE_SW_PF=1" \
        --defines "-DLAPSE_SW_RY=1 -DLAPSE_SW_WY=8" \
        --defines "-DLAPSE_SW_KZ=64" 2>&1 | rows
fi
if on wt; then
    for g in default 32,4,4,32 64,2,4,32 64,4,2,32 64,4,4,16 64,4,4,64 32,4,8,32 128,2,2,32; do
        e=""
        [ "$g" != default ] && e="LAPSE_WT_GEOM=$g"
        echo "=== window_tiled ${e:-defaults}"
        env $e $BK --variant tiled --no-check --ops medsph122,median122,var1,meansph2 2>&1 | rows
    done
fi
if on mean; then
    echo "=== mean_box r=[2,1,3]: boxg (default) vs tunable tile / strip"
    $BK --ops mean2 --defines "$D0" \
        --defines "-DLAPSE_BOX_TUNE=1 -DLAPSE_BOX_IMPL=1 -DLAPSE_BYS=8 -DLAPSE_BKZ=32 -DLAPSE_BTX=32 -DLAPSE_BTY=2" \
        --defines "-DLAPSE_BOX_TUNE=1 -DLAPSE_BOX_IMPL=1 -DLAPSE_BYS=4 -DLAPSE_BKZ=32 -DLAPSE_BTX=32 -DLAPSE_BTY=4" \
        --defines "-DLAPSE_BOX_TUNE=1 -DLAPSE_BOX_IMPL=0 -DLAPSE_BTX=32 -DLAPSE_BTY=8 -DLAPSE_BKZ=32" \
        --defines "-DLAPSE_BG_TX=64 -DLAPSE_BG_TY=8 -DLAPSE_BG_KZ=32" \
        --defines "-DLAPSE_BG_TX=32 -DLAPSE_BG_TY=16 -DLAPSE_BG_KZ=32" 2>&1 | rows
fi
if on extra && [ -n "${EXTRA_OPS:-}" ]; then
    echo "=== default program: $EXTRA_OPS"
    $BK --ops "$EXTRA_OPS" --defines "$D0" 2>&1 | rows
fi
