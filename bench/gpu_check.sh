#!/usr/bin/env bash
# gpu_check.sh - on the lent GPU machine (docs/gpu.md), from the repository root: the device unit
# suites named in SUITES (default: test_filters test_variants test_ops) from gpu-bin/, then
# bench_kernels --variant tiled --ops $OPS with the binaries of OLD (default gpu-old, another
# commit's build by tools/gpu_bin.sh) and gpu-bin alternating, REPS times (default 2); logs in
# $OUT (default bench-out). For checking a kernel change's bits and cost in one device call.
set -uo pipefail
OUT=${OUT:-bench-out}
OLD=${OLD:-gpu-old}
mkdir -p "$OUT"
source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/gpu-bin/lib:$LD_LIBRARY_PATH
W=$(mktemp -d)
PY=$(command -v python3)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
for t in ${SUITES:-test_filters test_variants test_ops}; do
    (cd "$W" && CK_FORK=no LAPSE_SRC=$OLDPWD LAPSE_PY=$PY "$OLDPWD/gpu-bin/$t") >"$OUT/$t.txt" 2>&1
    echo "$t rc=$? $(tail -1 "$OUT/$t.txt")"
done
for rep in $(seq 1 "${REPS:-2}"); do
    for b in "$OLD" gpu-bin; do
        "$b/bench_kernels" --device-kind gpu --variant tiled --ops "${OPS:?set OPS}" \
            >"$OUT/$(basename "$b")-$rep.txt" 2>&1
        echo "$b rep $rep rc=$?"
    done
done
