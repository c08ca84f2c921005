#!/usr/bin/env bash
# gpu_zstd.sh - on the lent GPU machine (docs/gpu.md): the z sum, mean and standard deviation in
# double precision (kernels/project.cl lapse_zsum / lapse_zmean / lapse_zstd: op versions 3, 3,
# 2) against the device copy, on 1 GiB float32 volumes of 256, 1024 and 64 planes, with 4, 8 (the
# default), 16 and 32 loads at a time (-DLAPSE_ZS_U); where OLD (a gpu-bin of main before the
# change, default gpu-bin-old) exists, its kernels (float32: the sums sequential, the standard
# deviation's two passes through local memory up to ~380 planes, else two reads) on the same
# volumes; the peers (bench/peer_ops_more.py: CuPy, and pyclesperanto OpenCL and CUDA from the
# wheels in .whl/ where carried; pyclesperanto has no standard deviation along z) at each shape.
# From the repository root with .gpu/ and gpu-bin/ (bench_kernels) carried. One log per volume
# under $OUT (default bench-out)/zproj, the lines that matter also on stdout.
set -uo pipefail
BIN=${BIN:-gpu-bin}
OLD=${OLD:-gpu-bin-old}
LOG=${OUT:-bench-out}/zproj
mkdir -p "$LOG"
source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/$BIN/lib:$LD_LIBRARY_PATH
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl >/dev/null 2>&1
    export PYTHONPATH=/tmp/site
fi
for shape in 256,1024,1024 1024,512,512 64,2048,2048; do
    f=$LOG/${shape//,/x}.txt
    {
        echo "== new ($BIN)"
        "$BIN/bench_kernels" --shape "$shape" --device-kind gpu --variant tiled --reps 20 \
            --ops zsum,zmean,zstd --defines -DLAPSE_ZS_U=8 --defines -DLAPSE_ZS_U=4 \
            --defines -DLAPSE_ZS_U=16 --defines -DLAPSE_ZS_U=32 2>&1
        if [ -x "$OLD/bench_kernels" ]; then
            echo "== old ($OLD)"
            LD_LIBRARY_PATH=$PWD/$OLD/lib:$LD_LIBRARY_PATH "$OLD/bench_kernels" --shape "$shape" \
                --device-kind gpu --variant tiled --reps 20 --ops zsum,zmean,zstd 2>&1
        fi
        if [ "${PEERS:-1}" = 1 ]; then
            echo "== peers"
            SHAPE=$shape OPS=zsum,zmean,zstd timeout 300 python3 bench/peer_ops_more.py \
                ${PEER_LIBS:-cupy opencl cuda} 2>&1
        fi
    } >"$f"
    echo "== $shape"
    grep -v "^csv" "$f" | grep -E "^==|copy|projection|^(cupy|cle-opencl|cle-cuda) "
done
