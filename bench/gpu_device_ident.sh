#!/usr/bin/env bash
# gpu_device_ident.sh - on the lent GPU machine (docs/gpu.md): do ranks that share a GPU, and
# only those, divide its memory? (src/exec/sizing.c ranks_on_device, src/clrt.c lapse_cl_ident).
# From the repository root with .gpu/ and gpu-bin/ carried. `lapse plan` on 2 ranks of one small
# config (devices: gpu), each printing every rank's device line (with the GPU's identity, its
# PCI address from the driver) and the plan's "N rank(s) share/has a ... device":
#   a. each rank given GPU (local rank % GPUs) alone by CUDA_VISIBLE_DEVICES (Slurm's
#      --gpus-per-task): each sees index 0 of 1. With two GPUs: one rank each (before 2026-12-02
#      they counted as sharing one); with one GPU: both on it, shared;
#   b. both see every GPU and take local rank % GPUs;
#   c. LAPSE_DEVICE=0 on both: one GPU shared by 2 ranks.
# Logs under $OUT (default bench-out/ident).
set -uo pipefail
BIN=${BIN:-gpu-bin}
LOG=${OUT:-bench-out}/ident
W=${WORK:-/tmp/lapse-ident}
mkdir -p "$LOG" "$W"
source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/$BIN/lib:$LD_LIBRARY_PATH
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
L=$PWD/$BIN/lapse
nvidia-smi --query-gpu=index,name,pci.bus_id --format=csv | tee "$LOG/gpus.txt"
"$L" devices --kind gpu | tee "$LOG/devices.txt"
"$L" sample "$W/in.h5" --timepoints 2 --shape 64,256,256 >/dev/null
cat >"$W/cfg.yaml" <<YAML
input: {file: $W/in.h5, dataset: /raw}
pipeline:
  - {op: gaussian_blur, sigma: 2}
output: {file: $W/out.h5}
devices: gpu
YAML
run() { # NAME MPIRUN-ARGS...
    local name=$1
    shift
    echo "=== $name"
    mpirun -n 2 --bind-to none "$@" 2>&1 | tee "$LOG/$name.txt" | grep -E "uses OpenCL|^device mem|warning|rror"
}
NG=$(nvidia-smi --query-gpu=index --format=csv,noheader | wc -l)
run a_own_gpu -x LD_LIBRARY_PATH -x NG="$NG" bash -c \
    'CUDA_VISIBLE_DEVICES=$((OMPI_COMM_WORLD_LOCAL_RANK % NG)) exec "$0" plan "$1"' "$L" "$W/cfg.yaml"
run b_both_visible -x LD_LIBRARY_PATH "$L" plan "$W/cfg.yaml"
run c_one_shared -x LD_LIBRARY_PATH -x LAPSE_DEVICE=0 "$L" plan "$W/cfg.yaml"
