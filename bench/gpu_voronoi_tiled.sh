#!/usr/bin/env bash
# gpu_voronoi_tiled.sh - the count workflow (voronoi_otsu_labeling -> measure_labels) with its
# timepoints tiled, on the lent GPU machine in one device call (docs/benchmarks.md): what the
# rounds of the global steps cost against the untiled run, for lapse in $BIN (default gpu-bin)
# and, when $OLD names another lapse binary, for that one too (a before/after comparison in the
# same call). Every output is compared with the first untiled one (tests/py/h5same.py: the
# labels and the measurement table bit for bit). From the repository root with the staged
# libraries (.gpu/, docs/gpu.md). Env: NT timepoints (default 6) of SHAPE (default 128,1024,1024),
# TILES (the tile shapes, default "128,512,512 128,256,256"), RANKS (default 1), OUT (logs), WORK;
# PROFILE (LAPSE_PROFILE, default 1); LAPSE_PY (a Python with h5py; default python3); a trial here on PoCL: SHAPE=32,256,256
# TILES=32,128,128 DEVICES=any STAGED=0 LAPSE_PY=/usr/bin/python3.
set -uo pipefail
BIN=${BIN:-gpu-bin}
LOG=${OUT:-bench-out}
W=${WORK:-/tmp/lapse-vt}
NT=${NT:-6}
mkdir -p "$LOG" "$W"
[ "${STAGED:-1}" = 0 ] || source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/$BIN/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
PY=${LAPSE_PY:-$(command -v python3)}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$LOG/gpu.txt"
[ -f "$W/nuc.h5" ] || "$BIN/lapse" sample "$W/nuc.h5" --timepoints "$NT" \
    --shape "${SHAPE:-128,1024,1024}" --seed 2 >"$LOG/sample.txt" 2>&1 || { cat "$LOG/sample.txt"; exit 1; }
ref=''
# one NAME BINARY RANKS TILES: a run, its times, and its output against the reference
one() {
    local name=$1 bin=$2 n=$3 tiles=$4
    {
        echo "input: {file: $W/nuc.h5, dataset: /raw}"
        [ "$tiles" = whole ] || echo "tiles: {shape: [$tiles]}"
        echo "pipeline:"
        echo "  - {op: voronoi_otsu_labeling, spot_sigma: 2, outline_sigma: 2, name: labels}"
        echo "  - {op: measure_labels, from: labels, with: input, name: nuclei}"
        echo "output: {file: $W/$name.h5, dataset: /labels, mode: overwrite}"
        echo "devices: ${DEVICES:-gpu}"
    } >"$W/$name.yaml"
    local t0 t1
    t0=$(date +%s.%N)
    LAPSE_PROFILE=${PROFILE:-1} mpirun -n "$n" --bind-to none "$bin" run "$W/$name.yaml" >"$LOG/$name.txt" 2>&1
    local rc=$?
    t1=$(date +%s.%N)
    local same=reference
    if [ -z "$ref" ]; then
        ref=$W/$name.h5
    else
        same=$("$PY" tests/py/h5same.py "$ref" "$W/$name.h5" /labels /nuclei >/dev/null 2>&1 &&
            echo identical || echo DIFFERENT)
    fi
    echo "$name: rc=$rc wall $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s," \
        "$(grep -E 'global steps:' "$LOG/$name.txt" | sed 's/.*rounds/rounds/; s/(1 waves[^)]*)//')" \
        "$(grep -oE 'done: [0-9]+ tasks in [0-9.]+ s' "$LOG/$name.txt")," \
        "$(grep -oE 'kept on the device for [0-9]+ tiles, [0-9]+ passes' "$LOG/$name.txt" |
            head -1)," \
        "$(grep -oE 'checkpoints kept [0-9]+, round runs resumed from one [0-9]+' "$LOG/$name.txt" |
            head -1)" "$(grep -oE 'tasks resumed from a checkpoint: [0-9]+' "$LOG/$name.txt" |
            head -1)" "; vs untiled: $same"
}
for r in ${RANKS:-1}; do
    one "whole-n$r" "$BIN/lapse" "$r" whole
    [ -z "${OLD:-}" ] || one "old-whole-n$r" "$OLD" "$r" whole
    for t in ${TILES:-128,512,512 128,256,256}; do
        one "new-${t//,/x}-n$r" "$BIN/lapse" "$r" "$t"
        [ -z "${OLD:-}" ] || one "old-${t//,/x}-n$r" "$OLD" "$r" "$t"
    done
done 2>&1 | tee "$LOG/summary.txt"
tar -czf "$LOG/logs.tgz" -C "$LOG" --exclude logs.tgz . 2>/dev/null
