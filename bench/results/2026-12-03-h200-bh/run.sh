#!/usr/bin/env bash
# run_bh.sh - run BH (docs/benchmarks.md): the rotations' aligned vector loads (LAPSE_GEOM_V4)
# against the default kernels on the lent GPU; the geometry suites with the new kernels first.
set -uo pipefail
OUT=${OUT:-bench-out}
mkdir -p "$OUT"
source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/gpu-bin/lib:$LD_LIBRARY_PATH
W=$(mktemp -d)
PY=$(command -v python3)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
for t in test_variants test_geometry; do
    (cd "$W" && LAPSE_GEOM_V4=1 CK_FORK=no LAPSE_SRC=$OLDPWD LAPSE_PY=$PY "$OLDPWD/gpu-bin/$t") >"$OUT/$t.txt" 2>&1
    echo "$t rc=$? $(tail -1 "$OUT/$t.txt")"
done
for rep in 1 2; do
    for v in 0 1; do
        LAPSE_GEOM_V4=$v gpu-bin/bench_kernels --device-kind gpu --variant both \
            --ops roty30,rotz30,affine,resample05 >"$OUT/v4-$v-$rep.txt" 2>&1
        echo "v4=$v rep $rep rc=$?"
        grep -v '^csv' "$OUT/v4-$v-$rep.txt" | grep -E 'rotate|affine|resample|copy'
    done
done
