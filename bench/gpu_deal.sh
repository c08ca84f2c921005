#!/usr/bin/env bash
# gpu_deal.sh - whole timepoints per rank for a compressed input (src/exec/deal.h) against tasks
# dealt round-robin (LAPSE_DEAL=tasks), on the lent GPU machine in one device call, from the
# repository root with the staged libraries (.gpu/, docs/gpu.md) and the Release binary
# $BIN/lapse (default gpu-bin). Run it on a machine with RANKS GPUs (nvidia-h200-x2 for 2).
#   1. an input of NT (default 16) timepoints of 64 x 512 x 512 uint16 nuclei-like blobs
#      (`lapse sample`), copied into a gzip-chunked file (level 1, chunks of 32 whole planes:
#      two per timepoint), as bench/gpu_skip.sh makes it;
#   2. two pipelines over tiles of 64 x 256 x 256 (4 per timepoint): "seg" (gaussian_blur,
#      threshold_otsu, connected_components_labeling, measure_labels: global steps, whose
#      rounds read the input) and "blur" (gaussian_blur alone: the tasks read it);
#   3. each on 1 rank, then on RANKS ranks with the deal of each kind, REPS (default 2) times,
#      alternated; per run the wall seconds, each rank's seconds reading the input
#      (LAPSE_PROFILE=1: the rounds' "input"; LAPSE_IO_STATS=1: the task loop's "read"), and the
#      output compared with the 1-rank run's (h5same.py).
#   DEALS (default "tasks timepoints"): the LAPSE_DEAL values of the multi-rank runs ("whole":
#   timepoints never cut into blocks, the deal before 2026-12-05). PHASE_MEM: LAPSE_PHASE_MEM for
#   every run (small: the segmentation's rounds go in waves of fewer timepoints than ranks).
#   PIPES (default "seg blur"): the pipelines to run.
#   SCHEDS (default "dynamic"): the `scheduling` kinds to run each multi-rank deal with, for
#   example "dynamic static" with an NT that does not divide by RANKS (dynamic's steals by
#   group against static's fixed shares).
#   FORMAT=zarr: the input is a Zarr store instead (zlib level 1, chunks ZCHUNK, default
#   1,32,128,128, its t chunk 1: smaller than the tiles, so only the halos span them; written
#   without the zarr module, which the GPU machine lacks), and each pipeline first
#   runs on 1 rank with LAPSE_H5_INPUT_CACHE=1 (no decoded chunk kept) against the default.
# Logs under $OUT (default bench-out). For a try on PoCL: GPU_ENV=/dev/null BIN=build DEVICES=any SHAPE=32,128,128 NT=4.
set -uo pipefail
BIN=${BIN:-gpu-bin}
LOG=${OUT:-bench-out}
W=${WORK:-/tmp/lapse-deal}
NT=${NT:-16}
RANKS=${RANKS:-2}
REPS=${REPS:-2}
PY=${LAPSE_PY:-$(command -v python3)}
DEVICES=${DEVICES:-gpu}
SHAPE=${SHAPE:-64,512,512}
FORMAT=${FORMAT:-h5}
ZCHUNK=${ZCHUNK:-1,32,128,128}
SCHEDS=${SCHEDS:-dynamic}
DEALS=${DEALS:-tasks timepoints}
PIPES=${PIPES:-seg blur}
[ -z "${PHASE_MEM:-}" ] || export LAPSE_PHASE_MEM=$PHASE_MEM
IFS=, read -r SZ SY SX <<<"$SHAPE"
mkdir -p "$LOG" "$W"
source "${GPU_ENV:-.gpu/env.sh}"
export LD_LIBRARY_PATH=$PWD/$BIN/lib:${LD_LIBRARY_PATH:-}
LAPSE=$PWD/$BIN/lapse
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$LOG/gpu.txt"

echo "=== input ($(date -u +%T))"
rm -f "$W/plain.h5"
"$LAPSE" sample "$W/plain.h5" --timepoints "$NT" --shape "$SHAPE" --seed 3 >"$LOG/sample.log" 2>&1 ||
    { cat "$LOG/sample.log"; exit 1; }
"$PY" - "$W" "$NT" "$SY" "$SX" "$FORMAT" "$ZCHUNK" <<'PY' || exit 1
import sys
import h5py
w, nt, sy, sx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with h5py.File(f"{w}/plain.h5", "r") as f:
    d = f["/raw"]
    if sys.argv[5] == "zarr": # Zarr v2 written by hand (the GPU machine has no zarr module)
        import itertools, json, os, shutil, zlib
        import numpy as np
        z = f"{w}/gz.zarr"
        shutil.rmtree(z, ignore_errors=True)
        os.makedirs(z)
        ch = [int(c) for c in sys.argv[6].split(",")]
        meta = {"zarr_format": 2, "shape": list(d.shape), "chunks": ch, "dtype": "<u2",
                "compressor": {"id": "zlib", "level": 1}, "fill_value": 0, "order": "C",
                "filters": None, "dimension_separator": "."}
        with open(f"{z}/.zarray", "w") as fh:
            json.dump(meta, fh)
        n = [(s + c - 1) // c for s, c in zip(d.shape, ch)]
        for t in range(nt):
            v = d[t]
            for i in itertools.product(range(1), *[range(k) for k in n[1:]]):
                blk = np.zeros(ch, "<u2")
                sl = tuple(slice(a * c, (a + 1) * c) for a, c in zip(i[1:], ch[1:]))
                part = v[sl]
                blk[(0,) + tuple(slice(0, e) for e in part.shape)] = part
                key = ".".join(str(k) for k in (t // ch[0],) + i[1:])
                with open(f"{z}/{key}", "wb") as fh:
                    fh.write(zlib.compress(blk.tobytes(), 1))
        print(f"zarr input: {nt} timepoints, chunks {ch}")
        sys.exit(0)
    else:
        g = h5py.File(f"{w}/gz.h5", "w")
        o = g.create_dataset("/raw", shape=d.shape, dtype=d.dtype, chunks=(1, 32, sy, sx),
                             compression="gzip", compression_opts=1)
    for t in range(nt):
        o[t] = d[t]
print(f"{sys.argv[5]} input: {nt} timepoints")
PY

cfg() { # cfg NAME OUT: NAME's pipeline into OUT
    {
        if [ "$FORMAT" = zarr ]; then
            echo "input: {file: $W/gz.zarr}"
        else
            echo "input: {file: $W/gz.h5, dataset: /raw}"
        fi
        echo "tiles: {shape: [$SZ, $((SY / 2)), $((SX / 2))], halo: auto}"
        echo "pipeline:"
        echo "  - {op: gaussian_blur, sigma: 1}"
        if [ "$1" = seg ]; then
            echo "  - {op: threshold_otsu}"
            echo "  - {op: connected_components_labeling, name: l, save: /labels}"
            echo "  - {op: measure_labels, from: l, with: input, name: nuclei}"
        fi
        echo "output: {file: $W/$2.h5, dataset: /result, mode: overwrite}"
        echo "devices: $DEVICES"
        echo "scheduling: ${3:-dynamic}"
    } >"$W/$2.yaml"
}

# one PIPE RANKS DEAL REP [CACHE [SCHED]]: one run, its line of results (CACHE:
# LAPSE_H5_INPUT_CACHE, SCHED: the scheduling kind, default dynamic)
one() {
    local p=$1 n=$2 deal=$3 r=$4 log cache=${5:-} sched=${6:-dynamic} name
    name="$1-$2-$3"
    [ "$sched" = dynamic ] || name="$name-$sched"
    log="$LOG/$name-$r.log"
    cfg "$p" "$name" "$sched"
    local t0 t1 rc
    t0=$(date +%s%N)
    if [ "$n" -eq 1 ]; then
        LAPSE_H5_INPUT_CACHE=$cache LAPSE_PROFILE=1 LAPSE_IO_STATS=1 OMPI_MCA_ess_singleton_isolated=1 \
            "$LAPSE" run "$W/$name.yaml" >"$log" 2>&1
    else
        mpiexec -n "$n" --bind-to none -x LAPSE_DEAL="$deal" -x LAPSE_PROFILE=1 -x LAPSE_IO_STATS=1 \
            ${PHASE_MEM:+-x LAPSE_PHASE_MEM} \
            "$LAPSE" run "$W/$name.yaml" >"$log" 2>&1
    fi
    rc=$?
    t1=$(date +%s%N)
    local same=-
    if [ "$n" -gt 1 ]; then
        "$PY" tests/py/h5same.py "$W/$name.h5" "$W/$p-1-tasks.h5" >"$LOG/same-$name-$r.txt" 2>&1
        same=$?
    fi
    printf '%s ranks %d deal %s%s%s rep %d: exit %d, %d ms wall, same as 1 rank: %s\n' "$p" "$n" "$deal" "${cache:+ cache $cache}" \
        "$([ "$sched" = dynamic ] || echo " scheduling $sched")" "$r" \
        "$rc" $(((t1 - t0) / 1000000)) "$same"
    grep -E "^lapse: run [0-9]+:|^lapse: global steps:|^lapse: run [0-9]+ done" "$log" | sed 's/^/    /'
    grep -oE "rank [0-9]+ profile: global-step rounds: input [0-9.]+ s" "$log" | sed 's/^/    /'
    grep -oE "rank [0-9]+ profile: .*tables written [0-9.]+ s, the rest [0-9.]+ s" "$log" |
        sed -E 's/profile: .*(tables written)/profile: \1/; s/^/    /'
    grep -oE "io_stats rank=[0-9]+ tasks=[0-9]+ wall=[0-9.]+ read=[0-9.]+" "$log" | sed 's/^/    /'
    grep -oE "io_stats rank=[0-9]+ .*waves=[0-9]+ between_waves=[0-9.]+" "$log" |
        sed -E 's/(rank=[0-9]+) .* (waves=)/\1 \2/; s/^/    /'
}

for p in $PIPES; do
    echo "=== $p ($(date -u +%T))"
    one "$p" 1 tasks 1
    for r in $(seq 1 "$REPS"); do
        [ "$FORMAT" = zarr ] || break
        one "$p" 1 nocache "$r" 1
        one "$p" 1 tasks "$r"
    done
    for r in $(seq 1 "$REPS"); do
        for deal in $DEALS; do
            for s in $SCHEDS; do
                one "$p" "$RANKS" "$deal" "$r" "" "$s"
            done
        done
    done
done
