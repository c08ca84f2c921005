#!/usr/bin/env bash
# gpu_pack.sh - the cost of counting saturated voxels in the integer pack kernels
# (kernels/convert.cl LAPSE_PACK_INT), on the lent GPU, from the repository root with .gpu/
# staged: the binaries in $BIN (new) and $OLD (before the count), each running two pipelines
# on 2 timepoints of 256 x 1024 x 1024 uint16, untiled, 1 rank, LAPSE_PROFILE=1 (each step
# timed from a drained queue to a drained queue; the pack of an output is part of its step):
#   blur:  gaussian_blur sigma 1 -> uint16 (nothing saturates);
#   clip:  subtract_scalar 60000 -> uint16 (every voxel below 0: every work-item counts);
#   f32:   subtract_scalar 60000 -> float32 (no count: the float32 pack is unchanged).
# Prints each binary's profile lines; docs/benchmarks.md has the numbers.
set -uo pipefail
BIN=${BIN:-gpu-bin}
OLD=${OLD:-gpu-old}
W=${WORK:-/tmp/lapse-pack}
mkdir -p "$W"
source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/$BIN/lib:$LD_LIBRARY_PATH
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
[ -f "$W/in.h5" ] || "$BIN/lapse" sample "$W/in.h5" --timepoints 2 --shape 256,1024,1024 >/dev/null
cfg() { # NAME STEP DTYPE
    cat >"$W/$1.yaml" <<YAML
input: {file: $W/in.h5, dataset: /raw}
tiles: {shape: [256, 1024, 1024], halo: auto}
pipeline:
  - $2
output: {file: $W/$1.h5, dataset: /result, dtype: $3, mode: overwrite}
devices: gpu
YAML
}
cfg blur "{op: gaussian_blur, sigma: 1}" uint16
cfg clip "{op: subtract_scalar, value: 60000}" uint16
cfg f32 "{op: subtract_scalar, value: 60000}" float32
for rep in 1 2; do
    for b in "$OLD" "$BIN"; do
        for c in blur clip f32; do
            echo "--- $b $c (repetition $rep)"
            LAPSE_PROFILE=1 "$b/lapse" run "$W/$c.yaml" 2>&1 | grep -iE "profile|WARNING" | head -6
        done
    done
done
