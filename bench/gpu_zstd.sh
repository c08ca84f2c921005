#!/usr/bin/env bash
# gpu_zstd.sh - on the lent GPU machine (docs/gpu.md): standard_deviation_z_projection in double
# precision (one pass, kernels/project.cl lapse_zstd, op version 2) against the z sum and mean
# and the device copy, on 1 GiB float32 volumes of 256, 1024 and 64 planes, with 4, 8 (the
# default), 16 and 32 loads at a time (-DLAPSE_ZS_U); where OLD (a gpu-bin of main before the
# change, default gpu-bin-old) exists, its kernels (float32 two-pass: through local memory up to
# ~380 planes, else two reads) on the same volumes; CuPy's std(axis=0) (bench/peer_ops_more.py)
# at each shape (pyclesperanto has no standard_deviation_z_projection: run AH's peers_more.txt). From the repository
# root with .gpu/ and gpu-bin/ (bench_kernels) carried. Logs under $OUT (default bench-out)/zstd.
set -uo pipefail
BIN=${BIN:-gpu-bin}
OLD=${OLD:-gpu-bin-old}
LOG=${OUT:-bench-out}/zstd
mkdir -p "$LOG"
source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/$BIN/lib:$LD_LIBRARY_PATH
for shape in 256,1024,1024 1024,512,512 64,2048,2048; do
    tag=${shape//,/x}
    "$BIN/bench_kernels" --shape "$shape" --device-kind gpu --variant tiled --reps 20 \
        --ops zsum,zmean,zstd --defines -DLAPSE_ZS_U=8 --defines -DLAPSE_ZS_U=4 \
        --defines -DLAPSE_ZS_U=16 --defines -DLAPSE_ZS_U=32 >"$LOG/new-$tag.txt" 2>&1
    [ -x "$OLD/bench_kernels" ] &&
        LD_LIBRARY_PATH=$PWD/$OLD/lib:$LD_LIBRARY_PATH "$OLD/bench_kernels" --shape "$shape" \
            --device-kind gpu --variant tiled --reps 20 --ops zstd >"$LOG/old-$tag.txt" 2>&1
    [ "${PEERS:-1}" = 1 ] && SHAPE=$shape OPS=zstd timeout 300 python3 bench/peer_ops_more.py \
        ${PEER_LIBS:-cupy} >"$LOG/peers-$tag.txt" 2>&1
    echo "== $tag"; grep -h -v "^csv" "$LOG"/*-"$tag".txt | grep -E "copy|projection|^(cupy|opencl|cuda) "
done
