#!/usr/bin/env bash
# test_graph.sh - pipelines as graphs end to end: named steps, from: (an earlier step or the
# input), with: (the second image of a two-input operation), saves of named steps.
#
# Three graphs: a difference of Gaussians built from two blurs of the input with different
# halos (sigma 1 and 2.5), binary logic and mask on two thresholds of the input, and weighted
# sums / products of images. Each runs untiled on 1 rank and with small ragged tiles on 2
# ranks; every dataset must be bit-identical between the two, and must match NumPy / SciPy
# (tests/py/graph_ref.py: exact for the logic and the float32 arithmetic, 1e-5 for the blurs).
# The plan must report the union of the two blurs' reach (the larger one), not their sum.
source "$(dirname "$0")/common.sh"
need_device
make_sample

# config NAME TILES PIPELINE
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

DOG='  - {op: gaussian_blur, sigma: 1, name: g1, save: /g1}
  - {op: gaussian_blur, sigma: 2.5, from: input, name: g2}
  - {op: subtract_images, from: g1, with: g2}'
LOGIC='  - {op: threshold_fixed, threshold: 500, name: m1, save: /m1}
  - {op: threshold_fixed, threshold: 1500, from: input, name: m2, save: /m2}
  - {op: binary_and, from: m1, with: m2, save: /both}
  - {op: binary_or, from: m1, with: m2, name: either, save: /either}
  - {op: binary_not, from: either, save: /neither}
  - {op: binary_xor, from: m1, with: m2, name: x, save: /xor}
  - {op: mask, from: input, with: x}'
ARITH='  - {op: multiply_scalar, value: 3, name: three}
  - {op: multiply_images, from: input, with: three, save: /prod}
  - {op: add_images_weighted, from: input, with: three, factor1: 0.5, factor2: -2}'

for case in dog logic arith; do
    case $case in
    dog) steps=$DOG ;;
    logic) steps=$LOGIC ;;
    arith) steps=$ARITH ;;
    esac
    config "${case}_whole" "[$NZ, $NY, $NX]" "$steps"
    config "${case}_tiled" "[7, 32, 41]" "$steps"
    note "$case: untiled on 1 rank, tiles [7, 32, 41] on 2 ranks"
    lapse_run 1 "$T/${case}_whole.yaml"
    lapse_run 2 "$T/${case}_tiled.yaml"
    py h5same.py "$T/${case}_whole.h5" "$T/${case}_tiled.h5" || fail "$case: tiled differs from untiled"
    nonconstant "$T/${case}_whole.h5" /result
    run_ok "$T/ref.log" py graph_ref.py "$IN" "$T/${case}_whole.h5" "$case"
    cat "$T/ref.log"
done

# The reach of the difference of Gaussians is the larger blur's (int(4 * 2.5 + 0.5) = 10).
run_ok "$T/plan.log" mpirun_lapse 1 plan "$T/dog_tiled.yaml"
grep -q "pipeline reach \[10, 10, 10\]" "$T/plan.log" || {
    cat "$T/plan.log" >&2
    fail "dog: plan does not report reach [10, 10, 10]"
}
echo "PASS ($TEST_NAME)"
