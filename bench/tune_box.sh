#!/bin/sh
# tune_box.sh - measure the tiled kernels of kernels/filters_tiled.cl on one device with
# bench_kernels. Two parts:
#  final: the default program (the per-operation winners of the sweep) against the simple
#         kernels, every operation: bench_kernels --variant both --reps 20 (bit-checked).
#  sweep: the tunables, for future tuning: the tunable fused box kernels lapse_box3d_*
#         (-DLAPSE_BOX_TUNE=1; mean/min/max r=1, top_hat_box r=[1,3,3], mean r=[2,1,3]) over
#         work-group shapes, z-walk depths and the two formulations (LAPSE_BOX_IMPL 0:
#         local-memory tile, 1: registers + L1), and the Gaussian sigma=2 over the x-pass /
#         column-pass geometry. Every variant is built from the embedded sources with its -D
#         options and checked bit for bit against the simple kernels; the variant "" is the
#         default program (the defaults' row of each operation).
#         Prints one CSV line per (variant, operation): variant,op,median_ms,min_ms,same_bits
#         (ERR: the variant failed to build or launch; NO(...): results differ - never use it).
#
# usage: bench/tune_box.sh [final|sweep|all] [BENCH_KERNELS] [bench_kernels options...]
#   default mode: final; defaults: ./build-gpu/bench_kernels --device-kind gpu
#   --shape 256,1024,1024 (--reps 20 final, 10 sweep); later options override (e.g. --shape
#   8,64,64 --device-kind cpu --reps 2 --warmup 1 for a dry run)
# The raw bench_kernels output of the sweep goes to ${TUNE_LOG:-tune_box.log}.
set -eu

MODE=final
case ${1:-} in
final | sweep | all)
    MODE=$1
    shift
    ;;
esac
BENCH=./build-gpu/bench_kernels
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    BENCH=$1
    shift
fi
[ -x "$BENCH" ] || { echo "tune_box.sh: $BENCH is not an executable" >&2; exit 2; }
LOG=${TUNE_LOG:-tune_box.log}
COMMON="--device-kind gpu --shape 256,1024,1024 --reps 10 --warmup 2 --variant tiled"
FINAL="--device-kind gpu --shape 256,1024,1024 --reps 20 --variant both"

# Fused box variants: "" is the default program (built the same way, as the baseline); every
# other one runs the tunable kernels lapse_box3d_* for all radii (LAPSE_BOX_TUNE=1).
box_run() {
    T=-DLAPSE_BOX_TUNE=1
    "$BENCH" $COMMON "$@" --ops mean1,min1,max1,tophat,mean2 \
        --defines "" \
        --defines "$T" \
        --defines "$T -DLAPSE_BOX_SPEC=0" \
        --defines "$T -DLAPSE_BKZ=16" \
        --defines "$T -DLAPSE_BKZ=64" \
        --defines "$T -DLAPSE_BTX=32 -DLAPSE_BTY=4" \
        --defines "$T -DLAPSE_BTX=64 -DLAPSE_BTY=4" \
        --defines "$T -DLAPSE_BTX=64 -DLAPSE_BTY=8" \
        --defines "$T -DLAPSE_BTX=128 -DLAPSE_BTY=2" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=32 -DLAPSE_BTY=8 -DLAPSE_BYS=1" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=32 -DLAPSE_BTY=4 -DLAPSE_BYS=2" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=32 -DLAPSE_BTY=4 -DLAPSE_BYS=4" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=32 -DLAPSE_BTY=2 -DLAPSE_BYS=8" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=64 -DLAPSE_BTY=2 -DLAPSE_BYS=4" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=64 -DLAPSE_BTY=4 -DLAPSE_BYS=4" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=128 -DLAPSE_BTY=1 -DLAPSE_BYS=4" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=64 -DLAPSE_BTY=4 -DLAPSE_BYS=8" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=32 -DLAPSE_BTY=4 -DLAPSE_BYS=4 -DLAPSE_BKZ=16" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=32 -DLAPSE_BTY=4 -DLAPSE_BYS=4 -DLAPSE_BKZ=64" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=32 -DLAPSE_BTY=4 -DLAPSE_BYS=4 -DLAPSE_BKZ=128" \
        --defines "$T -DLAPSE_BOX_IMPL=1 -DLAPSE_BTX=32 -DLAPSE_BTY=8 -DLAPSE_BYS=4 -DLAPSE_BKZ=64" \
        --defines "$T -DLAPSE_BTX=64 -DLAPSE_BTY=4 -DLAPSE_BKZ=64" \
        --defines "$T -DLAPSE_BOX_SPEC=0 -DLAPSE_BTX=64 -DLAPSE_BTY=4" \
        --defines "-DLAPSE_B1X_TX=64 -DLAPSE_B1X_TY=4 -DLAPSE_B1X_KZ=32" \
        --defines "-DLAPSE_B1M_KZ=64" \
        --defines "-DLAPSE_BG_KZ=64"
}

# Gaussian variants: column pass (y, z) loads in flight (COL_U), outputs per work-item (K),
# work-group shape; x pass tile shape.
gauss_run() {
    "$BENCH" $COMMON "$@" --ops gauss2 \
        --defines "" \
        --defines "-DLAPSE_XK=4 -DLAPSE_COL_U=1" \
        --defines "-DLAPSE_XK=4" \
        --defines "-DLAPSE_COL_U=1" \
        --defines "-DLAPSE_COL_U=2" \
        --defines "-DLAPSE_COL_U=6" \
        --defines "-DLAPSE_K=8 -DLAPSE_COL_U=4" \
        --defines "-DLAPSE_K=32 -DLAPSE_COL_U=2" \
        --defines "-DLAPSE_COL_U=4 -DLAPSE_COL_WX=64 -DLAPSE_COL_WY=4" \
        --defines "-DLAPSE_COL_U=4 -DLAPSE_COL_WX=128 -DLAPSE_COL_WY=2" \
        --defines "-DLAPSE_COL_U=4 -DLAPSE_COL_WX=32 -DLAPSE_COL_WY=4" \
        --defines "-DLAPSE_XG=128 -DLAPSE_XROWS=2 -DLAPSE_XK=2" \
        --defines "-DLAPSE_XG=32 -DLAPSE_XROWS=8 -DLAPSE_XK=4" \
        --defines "-DLAPSE_XG=64 -DLAPSE_XROWS=8 -DLAPSE_XK=8" \
        --defines "-DLAPSE_XG=64 -DLAPSE_XROWS=4 -DLAPSE_XK=16"
}

# "csv,device,shape,LABEL(may hold commas),variant,median,min,gbps,ratio,launches,same"
to_csv() {
    awk -F, '/^csv,/ && $NF != "same_bits" && $4 !~ /^copy/ {
        op = $4; for (i = 5; i <= NF - 7; i++) op = op ";" $i
        printf "%s,%s,%s,%s,%s\n", $(NF - 6), op, $(NF - 5), $(NF - 4), $NF
    }'
}

if [ "$MODE" != final ]; then
    : >"$LOG"
    echo "variant,op,median_ms,min_ms,same_bits"
    box_run "$@" 2>>"$LOG" | tee -a "$LOG" | to_csv
    gauss_run "$@" 2>>"$LOG" | tee -a "$LOG" | to_csv
    echo "tune_box.sh: sweep done (raw output: $LOG)" >&2
fi
if [ "$MODE" != sweep ]; then
    # the defaults, every operation, both variants, bit-checked (the table of docs/kernels.md)
    "$BENCH" $FINAL "$@"
fi
