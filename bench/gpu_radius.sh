#!/usr/bin/env bash
# gpu_radius.sh - min/max box filters of larger radii (the van Herk / Gil-Werman passes used
# from radius 6 on) against the base commit's direct passes, on the lent GPU (docs/gpu.md):
# for each radius, `lapse run` of a minimum_box over NT timepoints of SHAPE with the base build
# ($BASE) and this tree's ($NEW); prints the summed compute seconds of each (lapse info) and
# whether the outputs are bit-identical (tests/py/h5same.py). Radii: $RADII. Logs under $OUT.
set -uo pipefail
NEW=${NEW:-build-gpu}
BASE=${BASE:-build-gpu-base}
NT=${NT:-4}
SHAPE=${SHAPE:-128,1024,1024}
LOG=${OUT:-bench-out}
W=${WORK:-/tmp/lapse-radius}
mkdir -p "$LOG" "$W"
source .gpu/env.sh
"$NEW/lapse" sample "$W/in.h5" --timepoints "$NT" --shape "$SHAPE" --seed 3 >/dev/null
for r in ${RADII:-5 6 8 16 32 64 128}; do
    for b in "$BASE" "$NEW"; do
        n=$(basename "$b")
        cat >"$W/r$r-$n.yaml" <<YAML
input: {file: $W/in.h5, dataset: /raw}
pipeline:
  - {op: minimum_box, radius: [$r, $r, $r]}
output: {file: $W/r$r-$n.h5, mode: overwrite}
devices: gpu
YAML
        "$b/lapse" run "$W/r$r-$n.yaml" >"$LOG/run-r$r-$n.txt" 2>&1
        c=$("$b/lapse" info "$W/r$r-$n.h5" | awk '$1 == "all" {print $7}')
        echo "radius $r $n compute_s $c"
    done
    python3 tests/py/h5same.py "$W/r$r-$(basename "$BASE").h5" "$W/r$r-$(basename "$NEW").h5" \
        >/dev/null 2>&1 && echo "radius $r bit-identical" || echo "radius $r DIFFERS"
done
