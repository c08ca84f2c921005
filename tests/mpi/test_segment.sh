#!/usr/bin/env bash
# test_segment.sh - issue 9's per-timepoint operations end to end: thresholds (Otsu, mean)
# against scikit-image, on [t, z, y, x] and [t, y, x] data. Each pipeline runs untiled on 1
# rank (the timepoint whole on the device: no exchange), with odd tiles on 2 ranks (static
# scheduling) and on 3 ranks (dynamic): every dataset must be bit-identical between the runs
# and match the reference (tests/py/seg_ref.py).
source "$(dirname "$0")/common.sh"
need_device
make_sample
"$LAPSE_PY" -c 'import skimage' 2>/dev/null || fail "$LAPSE_PY lacks scikit-image (tools/deps.sh)"
"$LAPSE_PY" -c "import h5py, sys
with h5py.File(sys.argv[1], 'a') as f:
    f['/raw2d'] = f['/raw'][:, 5]" "$IN" || fail "cannot write /raw2d"

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
  - {op: threshold_mean, from: b, name: mn, save: /mean}
  - {op: binary_and, from: oi, with: mn}'

for data in 3d 2d; do
    if [ $data = 3d ]; then
        dset=/raw whole="[$NZ, $NY, $NX]" tiles="[7, 32, 41]" tiles3="[24, 23, 17]"
    else
        dset=/raw2d whole="[1, $NY, $NX]" tiles="[1, 32, 41]" tiles3="[1, 13, 29]"
    fi
    for case in thresh; do
        steps=$THRESH
        c=${case}_$data
        config "${c}_whole" "$dset" "$whole" static "$steps"
        config "${c}_tiled2" "$dset" "$tiles" static "$steps"
        config "${c}_tiled3" "$dset" "$tiles3" dynamic "$steps"
        note "$c: untiled on 1 rank, tiles $tiles on 2 ranks, $tiles3 on 3 ranks"
        lapse_run 1 "$T/${c}_whole.yaml"
        grep -q "global steps" "$T/last.log" && fail "$c: an untiled run exchanged partials"
        lapse_run 2 "$T/${c}_tiled2.yaml"
        grep -q "global steps: 6 rounds" "$T/last.log" || {
            cat "$T/last.log"
            fail "$c: the tiled run did not report its 6 reduction rounds"
        }
        lapse_run 3 "$T/${c}_tiled3.yaml"
        for r in tiled2 tiled3; do
            py h5same.py "$T/${c}_whole.h5" "$T/${c}_$r.h5" || fail "$c: $r differs from untiled"
        done
        run_ok "$T/ref.log" py seg_ref.py "$IN" "$T/${c}_whole.h5" "$case" "$dset"
        cat "$T/ref.log"
    done
done
echo "PASS ($TEST_NAME)"
