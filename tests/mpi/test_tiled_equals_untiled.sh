#!/usr/bin/env bash
# test_tiled_equals_untiled.sh - tiling must not change a single bit of the result.
#
# For a chained pipeline with saved steps (gaussian -> top-hat -> threshold) and for a pipeline
# with a z-projection, runs one tile covering the whole image, then several tile shapes: tiles
# that divide the image, tiles that do not (ragged last tiles on every axis) and z-only tiles.
# Every output dataset must be bit-identical to the single-tile run, and the task table must
# hold one row per tile and timepoint whose core boxes cover the image exactly once.
source "$(dirname "$0")/common.sh"
need_device
make_sample

# config NAME TILES PIPELINE: write $T/NAME.yaml with output $T/NAME.h5.
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: $2, halo: auto}
pipeline:
$3
output: {file: $T/$1.h5, dataset: /result}
devices: any
YAML
}

CHAIN='  - op: gaussian_blur
    sigma: [1, 1.5, 1.5]
    save: /blurred
  - op: top_hat_box
    radius: [1, 2, 2]
    save: /tophat
  - op: threshold_fixed
    threshold: 5'
PROJ='  - {op: gaussian_blur, sigma: 1}
  - {op: maximum_z_projection, save: /projected}
  - {op: mean_box, radius: [0, 2, 3]}'

# name:tile shape; the first is the single-tile run everything is compared with.
SHAPES="whole:24,70,90 divide:8,35,45 ragged:7,32,41 small:5,16,23 zonly:4,70,90 yxonly:24,13,17"

for pipe in chain proj; do
    if [ $pipe = chain ]; then steps=$CHAIN; else steps=$PROJ; fi
    base=""
    for item in $SHAPES; do
        name=${pipe}_${item%%:*}
        shape=${item#*:}
        config "$name" "[$shape]" "$steps"
        # The single-tile run on 1 rank, tiled runs on 2 ranks.
        n=2
        [ -z "$base" ] && n=1
        note "$name: tiles [$shape] on $n ranks"
        lapse_run $n "$T/$name.yaml"
        IFS=, read -r tz ty tx <<<"$shape"
        if [ $pipe = proj ]; then tz=$NZ; fi # a projection keeps whole z columns
        run_ok "$T/tasks.log" py tasks.py "$T/$name.h5" --count $((NT * $(ntiles "$tz" "$ty" "$tx"))) \
            --cover /result --timepoints 0-$((NT - 1))
        if [ -z "$base" ]; then
            base=$name
            nonconstant "$T/$name.h5" /result
            continue
        fi
        py h5same.py "$T/$base.h5" "$T/$name.h5" || fail "$name differs from $base"
    done
done

# Signed zeros through the large-radius minimum / maximum (van Herk / Gil-Werman passes from
# radius 6 on a CPU device): half the voxels -0.0 or +0.0, the rest positive (minimum) or
# negative (maximum); every tiling gives the untiled bits, the zeros' signs included (before
# 2026-12-05 hundreds of voxels were +0.0 untiled and -0.0 tiled: the segments start where
# the tile's buffer does, and fmin / fmax of the two zeros return either; found by review).
"$LAPSE_PY" - "$T/zeros.h5" <<'PY' || fail "cannot write the signed zeros input"
import sys, h5py, numpy as np
rng = np.random.default_rng(13)
a = rng.random((2, 6, 40, 50)).astype(np.float32)
z = rng.random(a.shape) < 0.5
a[z] = np.where(rng.random(z.sum()) < 0.5, -0.0, 0.0).astype(np.float32)
with h5py.File(sys.argv[1], "w") as f:
    f["/pos"] = a
    f["/neg"] = -a
PY
for case in "minimum_box:/pos:[0, 0, 6]" "minimum_box:/pos:[2, 7, 8]" "maximum_box:/neg:[0, 20, 7]"; do
    IFS=: read -r op dset radius <<<"$case"
    base=""
    for shape in "6, 40, 50" "1, 1, 9" "5, 13, 17"; do
        name=zeros_${op}_${radius//[^0-9]/_}_${shape//[^0-9]/_}
        cat >"$T/$name.yaml" <<YAML
input: {file: $T/zeros.h5, dataset: $dset}
tiles: {shape: [$shape], halo: auto}
pipeline:
  - {op: $op, radius: $radius}
output: {file: $T/$name.h5, dataset: /result}
devices: any
YAML
        lapse_run 2 "$T/$name.yaml"
        if [ -z "$base" ]; then
            base=$name
            continue
        fi
        py h5same.py "$T/$base.h5" "$T/$name.h5" || fail "$op $radius: tiles [$shape] differ"
    done
done
echo "PASS ($TEST_NAME)"
