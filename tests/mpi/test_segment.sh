#!/usr/bin/env bash
# test_segment.sh - issue 9's per-timepoint operations end to end: thresholds (Otsu, mean)
# against scikit-image and connected components against scipy.ndimage.label, on [t, z, y, x]
# and [t, y, x] data, and on worst cases (tests/py/shapes.py: a spiral through every tile, a
# comb, an empty timepoint, dense noise, a checkerboard of 84000 labels). Each pipeline runs
# untiled on 1 rank (the timepoint whole on the device: no exchange), with odd tiles on 2
# ranks (static scheduling) and on 3 ranks (dynamic): every dataset must be bit-identical
# between the runs and match the reference (tests/py/seg_ref.py).
source "$(dirname "$0")/common.sh"
need_device
make_sample
"$LAPSE_PY" -c 'import skimage' 2>/dev/null || fail "$LAPSE_PY lacks scikit-image (tools/deps.sh)"
"$LAPSE_PY" -c "import h5py, sys
with h5py.File(sys.argv[1], 'a') as f:
    f['/raw2d'] = f['/raw'][:, 5]" "$IN" || fail "cannot write /raw2d"
SHAPES=$T/shapes.h5
py shapes.py "$SHAPES" || fail "cannot write $SHAPES"

# config NAME DATASET TILES SCHED PIPELINE
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: $2}
tiles: {shape: $3, halo: auto}
pipeline:
$5
output: {file: $T/$1.h5, dataset: /result}
scheduling: $4
devices: any
YAML
}

THRESH='  - {op: gaussian_blur, sigma: 1.5, name: b, save: /blur}
  - {op: threshold_otsu, save: /otsu}
  - {op: threshold_otsu, from: input, name: oi, save: /otsu_in}
  - {op: threshold_otsu, from: b, bins: clesperanto, save: /otsu_cle}
  - {op: threshold_mean, from: b, name: mn, save: /mean}
  - {op: threshold_percentile, from: b, percentile: 83.7, save: /pct}
  - {op: threshold_percentile, from: input, percentile: 50, save: /pct_in}
  - {op: binary_and, from: oi, with: mn}'
LABELS='  - {op: gaussian_blur, sigma: 1, name: b}
  - {op: threshold_otsu, name: m, save: /mask}
  - {op: connected_components_labeling, save: /cc_box}
  - {op: connected_components_labeling, from: m, connectivity: diamond}'
MASKLABELS='  - {op: connected_components_labeling, connectivity: box, save: /cc_box}
  - {op: connected_components_labeling, from: input, connectivity: diamond}'

# check NAME INPUT DATASET WHOLE TILES2 TILES3 CASE STEPS: untiled on 1 rank, TILES2 on 2 ranks
# (static), TILES3 on 3 ranks (dynamic); bit-identical, and seg_ref.py CASE holds.
check() {
    local c=$1 in=$2 dset=$3 whole=$4 tiles=$5 tiles3=$6 case=$7 steps=$8 ng
    IN=$in config "${c}_whole" "$dset" "$whole" static "$steps"
    IN=$in config "${c}_tiled2" "$dset" "$tiles" static "$steps"
    IN=$in config "${c}_tiled3" "$dset" "$tiles3" dynamic "$steps"
    note "$c: untiled on 1 rank, tiles $tiles on 2 ranks, $tiles3 on 3 ranks"
    lapse_run 1 "$T/${c}_whole.yaml"
    grep -q "global steps" "$T/last.log" && fail "$c: an untiled run exchanged partials"
    lapse_run 2 "$T/${c}_tiled2.yaml"
    ng=$(grep -c "op: \(threshold\|connected\)" "$T/${c}_whole.yaml")
    grep -q "global steps: [0-9]* rounds*" "$T/last.log" || {
        cat "$T/last.log"
        fail "$c: the tiled run did not report its reduction rounds"
    }
    lapse_run 3 "$T/${c}_tiled3.yaml"
    for r in tiled2 tiled3; do
        py h5same.py "$T/${c}_whole.h5" "$T/${c}_$r.h5" || fail "$c: $r differs from untiled"
    done
    run_ok "$T/ref.log" py seg_ref.py "$in" "$T/${c}_whole.h5" "$case" "$dset"
    cat "$T/ref.log"
    [ "$ng" -gt 0 ] || fail "$c: no global step in the pipeline"
}

for data in 3d 2d; do
    if [ $data = 3d ]; then
        dset=/raw whole="[$NZ, $NY, $NX]" tiles="[7, 32, 41]" tiles3="[24, 23, 17]"
    else
        dset=/raw2d whole="[1, $NY, $NX]" tiles="[1, 32, 41]" tiles3="[1, 13, 29]"
    fi
    check "thresh_$data" "$IN" "$dset" "$whole" "$tiles" "$tiles3" thresh "$THRESH"
    check "labels_$data" "$IN" "$dset" "$whole" "$tiles" "$tiles3" labels "$LABELS"
done
check shapes "$SHAPES" /shapes "[$NZ, $NY, $NX]" "[5, 9, 11]" "[24, 16, 13]" labels "$MASKLABELS"
check checker "$SHAPES" /checker "[1, 420, 400]" "[1, 37, 53]" "[1, 100, 91]" labels "$MASKLABELS"

# A label holding both -0.0 and +0.0 (a float32 input): its intensity_min is -0.0 and its
# intensity_max +0.0 whatever the tiling, in the device's order of floats (before 2026-12-05 the
# tiles' partial results were merged with fminf / fmaxf, which return either zero: the table's
# bits followed the tiling; found by review). The zeros sit in other tiles in each timepoint.
"$LAPSE_PY" - "$T/zeros.h5" <<'PY' || fail "cannot write the signed zeros input"
import sys, h5py, numpy as np
a = np.zeros((2, 3, 6, 8), np.float32)
a[0, :, :, 4:] = -0.0
a[1, :, :, :4] = -0.0
a[:, 1, 2, 2] = -3.0  # background: not above -1
with h5py.File(sys.argv[1], "w") as f:
    f["/z"] = a
PY
for tl in "3, 6, 8:1" "3, 6, 4:2" "1, 1, 1:3" "2, 3, 3:2"; do
    n=${tl##*:}
    cat >"$T/zeros.yaml" <<YAML
input: {file: $T/zeros.h5, dataset: /z}
tiles: {shape: [${tl%%:*}], halo: auto}
pipeline:
  - {op: greater_constant, constant: -1, name: g}
  - {op: connected_components_labeling, from: g, name: cc}
  - {op: measure_labels, from: cc, with: input, name: meas}
output: {file: $T/zeros_$n.h5, mode: overwrite}
devices: any
YAML
    lapse_run "$n" "$T/zeros.yaml"
    cp "$T/zeros_$n.h5" "$T/zeros_${tl//[ ,:]/_}.h5"
    "$LAPSE_PY" - "$T/zeros_$n.h5" <<'PY' || fail "signed zeros: tiles [${tl%%:*}] on $n ranks"
import sys, h5py, numpy as np
m = h5py.File(sys.argv[1], "r")["/meas"][()]
assert len(m) == 2, m
assert all(np.signbit(m["intensity_min"])) and not any(np.signbit(m["intensity_max"])), m
PY
    py h5same.py "$T/zeros_3__6__8_1.h5" "$T/zeros_$n.h5" || fail "signed zeros: tiles [${tl%%:*}] differ"
done
echo "PASS ($TEST_NAME)"
