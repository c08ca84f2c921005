#!/usr/bin/env bash
# gpu_skip.sh - what a damaged timepoint costs a segmentation with on_error: skip (the rounds of
# the global steps run again without it: docs/architecture.md, "on_error: skip with global
# steps"), on the lent GPU machine in one device call, from the repository root with the staged
# libraries (.gpu/, docs/gpu.md) and the Release binary $BIN/lapse (default gpu-bin).
#   1. an input of NT (default 16) timepoints of 64 x 512 x 512 uint16 nuclei-like blobs
#      (`lapse sample`), copied into a gzip-chunked file (one chunk per timepoint and z half),
#      and a copy with timepoint NT/2's first chunk garbled;
#   2. gaussian_blur, threshold_otsu, connected_components_labeling, measure_labels, tiles of
#      64 x 256 x 256 (4 per timepoint), on RANKS (default 1) ranks: the clean input, then the
#      damaged one (exit 3), each REPS (default 3) times, alternated;
#   3. per run: the wall seconds, and each "global steps:" line (rounds, seconds); the damaged
#      outputs' other timepoints compared with the clean output (h5same.py);
#   4. the clean run again with LAPSE_H5_INPUT_CACHE=1 (HDF5's own 1 MiB chunk cache: each of the 4
#      tiles of a timepoint decodes its whole-plane chunks again) against the default (a cache
#      that holds a timepoint's chunks), alternated REPS times, with LAPSE_PROFILE=1's time the
#      rounds spent reading their input.
# Logs under $OUT (default bench-out).
set -uo pipefail
BIN=${BIN:-gpu-bin}
LOG=${OUT:-bench-out}
W=${WORK:-/tmp/lapse-skip}
NT=${NT:-16}
RANKS=${RANKS:-1}
REPS=${REPS:-3}
PY=${LAPSE_PY:-$(command -v python3)}
mkdir -p "$LOG" "$W"
source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/$BIN/lib:${LD_LIBRARY_PATH:-}
LAPSE=$PWD/$BIN/lapse
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$LOG/gpu.txt"

echo "=== input ($(date -u +%T))"
rm -f "$W/plain.h5"
"$LAPSE" sample "$W/plain.h5" --timepoints "$NT" --shape 64,512,512 --seed 3 >"$LOG/sample.log" 2>&1 ||
    { cat "$LOG/sample.log"; exit 1; }
"$PY" - "$W" "$NT" <<'PY' || exit 1
import shutil, sys
import h5py
w, nt = sys.argv[1], int(sys.argv[2])
with h5py.File(f"{w}/plain.h5", "r") as f, h5py.File(f"{w}/good.h5", "w") as g:
    d = f["/raw"]
    o = g.create_dataset("/raw", shape=d.shape, dtype=d.dtype, chunks=(1, 32, 512, 512),
                         compression="gzip", compression_opts=1)
    for t in range(nt):
        o[t] = d[t]
shutil.copy(f"{w}/good.h5", f"{w}/bad.h5")
with h5py.File(f"{w}/bad.h5", "r") as f:
    c = f["/raw"].id.get_chunk_info_by_coord((nt // 2, 0, 0, 0))
with open(f"{w}/bad.h5", "r+b") as fh:
    fh.seek(c.byte_offset + c.size // 3)
    fh.write(b"\xde\xad\xbe\xef" * 64)
print(f"gzip input: {nt} timepoints, t={nt // 2} damaged")
PY

cfg() {
    cat >"$W/$1.yaml" <<YAML
input: {file: $W/$1.h5, dataset: /raw}
tiles: {shape: [64, 256, 256], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1}
  - {op: threshold_otsu}
  - {op: connected_components_labeling, name: l, save: /labels}
  - {op: measure_labels, from: l, with: input, name: nuclei}
output: {file: $W/out_$1.h5, dataset: /result, mode: overwrite}
devices: gpu
on_error: skip
YAML
}
cfg good
cfg bad
for r in $(seq 1 "$REPS"); do
    for k in good bad; do
        t0=$(date +%s%N)
        if [ "$RANKS" -eq 1 ]; then # a singleton: mpiexec waits about 2 s after a non-zero exit
            OMPI_MCA_ess_singleton_isolated=1 "$LAPSE" run "$W/$k.yaml" >"$LOG/$k-$r.log" 2>&1
        else
            mpiexec -n "$RANKS" --bind-to none "$LAPSE" run "$W/$k.yaml" >"$LOG/$k-$r.log" 2>&1
        fi
        rc=$?
        t1=$(date +%s%N)
        printf '%s rep %d: exit %d, %d ms wall\n' "$k" "$r" "$rc" $(((t1 - t0) / 1000000))
        grep -E "^lapse: global steps:" "$LOG/$k-$r.log" | sed 's/^/    /'
    done
done
keep=$(seq 0 $((NT - 1)) | grep -vx $((NT / 2)) | paste -sd,)
"$PY" tests/py/h5same.py "$W/out_bad.h5" "$W/out_good.h5" /result /labels --timepoints "$keep"
echo "same (other timepoints): $?"
for r in $(seq 1 "$REPS"); do
    for c in 1 default; do
        if [ "$c" = 1 ]; then export LAPSE_H5_INPUT_CACHE=1; else unset LAPSE_H5_INPUT_CACHE; fi
        t0=$(date +%s%N)
        LAPSE_PROFILE=1 OMPI_MCA_ess_singleton_isolated=1 "$LAPSE" run "$W/good.yaml" >"$LOG/cache-$c-$r.log" 2>&1
        rc=$?
        t1=$(date +%s%N)
        printf 'input chunk cache %s, rep %d: exit %d, %d ms wall, rounds %s\n' "$c" "$r" "$rc" \
            $(((t1 - t0) / 1000000)) "$(grep -oE 'global-step rounds: input [0-9.]+ s' "$LOG/cache-$c-$r.log")"
    done
done
unset LAPSE_H5_INPUT_CACHE
