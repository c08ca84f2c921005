#!/usr/bin/env bash
# zarr_small_chunks.sh - a Zarr input of many small compressed chunks read by tiles with halos:
# how long the reads take with the decoded-chunk cache (the default) and without it
# (LAPSE_H5_INPUT_CACHE=1), on one rank; the reading is host work, so PoCL serves as the device.
#   1. a store of NT (default 4) timepoints of 1 x 4096 x 4096 uint8 in zlib chunks of
#      1 x 1 x C x C (C default 32: 16384 chunks a timepoint), written with the zarr module;
#   2. gaussian_blur sigma 1 (halo 4) in tiles of 1 x 1024 x 1024 (16 a timepoint), REPS
#      (default 3) times each setting, alternated; per run the task loop's read seconds
#      (LAPSE_IO_STATS=1) and the wall.
# Usage: bench/zarr_small_chunks.sh [LAPSE binary, default build/lapse]; logs under $OUT.
set -uo pipefail
LAPSE=${1:-build/lapse}
LOG=${OUT:-bench-out/zarr-small}
W=${WORK:-/tmp/lapse-zarr-small}
NT=${NT:-4}
C=${C:-32}
REPS=${REPS:-3}
PY=${LAPSE_PY:-/usr/bin/python3}
mkdir -p "$LOG" "$W"
"$PY" - "$W" "$NT" "$C" <<'PY' || exit 1
import shutil, sys
import numcodecs, numpy as np, zarr
w, nt, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
shutil.rmtree(f"{w}/in.zarr", ignore_errors=True)
z = zarr.open_array(f"{w}/in.zarr", mode="w", shape=(nt, 1, 4096, 4096), chunks=(1, 1, c, c),
                    dtype="u1", compressor=numcodecs.Zlib(level=1))
rng = np.random.default_rng(5)
for t in range(nt):
    z[t, 0] = (rng.integers(0, 40, (4096, 4096)) + 100 * (np.add.outer(np.arange(4096), np.arange(4096)) % 7 == 0)).astype("u1")
print(f"zarr input: {nt} x 1 x 4096 x 4096 uint8, chunks {c} x {c}")
PY
cat >"$W/c.yaml" <<YAML
input: {file: $W/in.zarr}
tiles: {shape: [1, 1024, 1024], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1}
output: {file: $W/out.h5, dataset: /result, mode: overwrite}
devices: any
YAML
for r in $(seq 1 "$REPS"); do
    for cache in 1 default; do
        if [ "$cache" = 1 ]; then export LAPSE_H5_INPUT_CACHE=1; else unset LAPSE_H5_INPUT_CACHE; fi
        t0=$(date +%s%N)
        LAPSE_IO_STATS=1 OMPI_MCA_ess_singleton_isolated=1 "$LAPSE" run "$W/c.yaml" >"$LOG/run-$cache-$r.log" 2>&1
        rc=$?
        t1=$(date +%s%N)
        printf 'cache %s rep %d: exit %d, %d ms wall, %s\n' "$cache" "$r" "$rc" $(((t1 - t0) / 1000000)) \
            "$(grep -oE 'read=[0-9.]+' "$LOG/run-$cache-$r.log")"
    done
done
unset LAPSE_H5_INPUT_CACHE
