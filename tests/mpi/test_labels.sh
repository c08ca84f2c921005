#!/usr/bin/env bash
# test_labels.sh - issue 10's seed and label operations end to end: detect_maxima_box and
# dilate_labels (local) and the per-timepoint remaps exclude_labels_on_edges,
# exclude_labels_outside_size_range and relabel_sequential (global), on [t, z, y, x] and
# [t, y, x] data, alone and chained (a local step after a global one and a global one after
# that). Each pipeline runs untiled on 1 rank (the timepoint whole on the device), with odd
# tiles on 2 ranks (static scheduling) and on 3 ranks (dynamic): every dataset must be
# bit-identical between the runs and match SciPy / scikit-image (tests/py/labels_ref.py); the
# 3-rank runs exchange partial results in units as large as for data over 16 GiB.
source "$(dirname "$0")/common.sh"
need_device
make_sample
"$LAPSE_PY" -c 'import skimage' 2>/dev/null || fail "$LAPSE_PY lacks scikit-image (tools/deps.sh)"
# /raw2d: one plane of the sample as a [t, y, x] time-lapse; /lab, /lab2d: label images with
# labels in no particular order, gaps, and a few values label + 0.25 (float32)
py labels_ref.py "$IN" - make || fail "cannot write the label inputs into $IN"

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

SEEDS='  - {op: gaussian_blur, sigma: 1, name: b, save: /blur}
  - {op: detect_maxima_box, save: /maxima0}
  - {op: detect_maxima_box, from: b, radius: [1, 2, 1], save: /maxima}
  - {op: detect_maxima_box, from: input, save: /maxima_raw}
  - {op: top_hat_box, from: b, radius: 2}
  - {op: greater_constant, constant: 5, name: mask}
  - {op: connected_components_labeling, name: cc, save: /cc}
  - {op: exclude_labels_on_edges, from: cc, save: /edges}
  - {op: exclude_labels_on_edges, from: cc, axes: {y: true, x: true}, save: /edges_yx}
  - {op: exclude_labels_outside_size_range, from: cc, minimum: 20, maximum: 400, save: /sized}
  - {op: dilate_labels, from: cc, radius: 1, save: /dil1}
  - {op: dilate_labels, from: cc, radius: 4}'
REMAP='  - {op: relabel_sequential, save: /seq}
  - {op: exclude_labels_outside_size_range, from: input, minimum: 30, save: /sized}
  - {op: exclude_labels_on_edges, from: input, name: e, save: /edges}
  - {op: dilate_labels, from: e, radius: 3, name: ed, save: /edges_dil3}
  - {op: exclude_labels_outside_size_range, from: ed, minimum: 50, maximum: 3000}'

# check NAME DATASET WHOLE TILES2 TILES3 CASE STEPS: untiled on 1 rank, TILES2 on 2 ranks
# (static), TILES3 on 3 ranks (dynamic); bit-identical, and labels_ref.py CASE holds.
check() {
    local c=$1 dset=$2 whole=$3 tiles=$4 tiles3=$5 case=$6 steps=$7
    config "${c}_whole" "$dset" "$whole" static "$steps"
    config "${c}_tiled2" "$dset" "$tiles" static "$steps"
    config "${c}_tiled3" "$dset" "$tiles3" dynamic "$steps"
    note "$c: untiled on 1 rank, tiles $tiles on 2 ranks, $tiles3 on 3 ranks"
    lapse_run 1 "$T/${c}_whole.yaml"
    grep -q "global steps" "$T/last.log" && fail "$c: an untiled run exchanged partials"
    lapse_run 2 "$T/${c}_tiled2.yaml"
    grep -q "global steps: [0-9]* rounds*" "$T/last.log" || {
        cat "$T/last.log"
        fail "$c: the tiled run did not report its reduction rounds"
    }
    if [ "$case" = seeds ]; then # labels read beyond the core (dilate_labels): tile data kept
        grep -q "connected_components_labeling): tile data shared in host memory" "$T/last.log" ||
            { cat "$T/last.log"; fail "$c: the labels' tile data was not kept in host memory"; }
        note "$c: the same with a 1-byte host budget (LAPSE_PHASE_CACHE=1): the scratch area"
        sed "s|${c}_tiled2.h5|${c}_tiled2s.h5|" "$T/${c}_tiled2.yaml" >"$T/${c}_tiled2s.yaml"
        LAPSE_PHASE_CACHE=1 lapse_run 2 "$T/${c}_tiled2s.yaml"
        grep -q "connected_components_labeling): tile data in the output's scratch area" \
            "$T/last.log" || { cat "$T/last.log"; fail "$c: no scratch area with a 1-byte budget"; }
        # and why: what it would take against half of the budget (0 bytes of 1 byte)
        grep -Eq "scratch area \(kept in host memory it would take [0-9.]+ [KMG]iB on every rank, more than 0 bytes, half of the smallest per-rank host budget: LAPSE_PHASE_CACHE.*, 2 on rank 0's\)" \
            "$T/last.log" || { cat "$T/last.log"; fail "$c: the scratch area's reason is missing"; }
        py h5same.py "$T/${c}_whole.h5" "$T/${c}_tiled2s.h5" || fail "$c: tiled2s differs"
    fi
    # LAPSE_EXCHANGE_UNITS: the exchanges count in units as large as they would for data of more
    # than 16 GiB (MPI counts are ints): records padded per rank, tile data still bit-identical
    LAPSE_EXCHANGE_UNITS=40 lapse_run 3 "$T/${c}_tiled3.yaml"
    for r in tiled2 tiled3; do
        py h5same.py "$T/${c}_whole.h5" "$T/${c}_$r.h5" || fail "$c: $r differs from untiled"
    done
    run_ok "$T/ref.log" py labels_ref.py "$IN" "$T/${c}_whole.h5" "$case" "$dset"
    cat "$T/ref.log"
}

for data in 3d 2d; do
    if [ $data = 3d ]; then
        raw=/raw lab=/lab whole="[$NZ, $NY, $NX]" tiles="[7, 32, 41]" tiles3="[24, 23, 17]"
    else
        raw=/raw2d lab=/lab2d whole="[1, $NY, $NX]" tiles="[1, 32, 41]" tiles3="[1, 13, 29]"
    fi
    check "seeds_$data" "$raw" "$whole" "$tiles" "$tiles3" seeds "$SEEDS"
    check "remap_$data" "$lab" "$whole" "$tiles" "$tiles3" remap "$REMAP"
done
echo "PASS ($TEST_NAME)"
