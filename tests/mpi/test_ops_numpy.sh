#!/usr/bin/env bash
# test_ops_numpy.sh - issue 11's pointwise, comparison, projection and morphology operations end
# to end against NumPy / SciPy, on [t, z, y, x] and on [t, y, x] data.
#
# Five graphs (tests/py/graph_ref.py has their NumPy expressions): math (subtract_scalar, absolute,
# sqrt of negatives, power, clip with NaN and with minimum > maximum, add_scalar and multiply_scalar
# also on NaN), compare (greater / smaller / equal_constant, also on NaN; binary_and of two 0/1
# masks and of a mask with an image holding NaN, which counts as true; threshold_fixed of the input,
# of x - 200 and of NaN), images2 (divide_images by zero, maximum / minimum_images with NaN,
# add_images_weighted also on NaN and with its default factors), project (maximum, minimum, sum,
# mean, standard deviation and argmax along z; on [t, y, x] data the maximum of the one plane must
# be the input) and morph (erode / dilate / opening / closing_box against SciPy's binary morphology
# with the clamp-to-edge border). Each runs untiled on 1 rank and with small ragged tiles on 2
# ranks, on the standard 4-D image and on its plane z = 5 as a 3-D [t, y, x] dataset; every dataset
# must be bit-identical between the two runs and match NumPy (bit for bit, except power: 1e-5).
source "$(dirname "$0")/common.sh"
need_device
make_sample
# The 2-D time-lapse: plane z = 5 of /raw as /raw2d [t, y, x].
"$LAPSE_PY" -c "import h5py, sys
with h5py.File(sys.argv[1], 'a') as f:
    f['/raw2d'] = f['/raw'][:, 5]" "$IN" || fail "cannot write /raw2d"

# config NAME DATASET TILES PIPELINE
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: $2}
tiles: {shape: $3, halo: auto}
pipeline:
$4
output: {file: $T/$1.h5, dataset: /result}
devices: any
YAML
}

MATH='  - {op: subtract_scalar, value: 200, name: s, save: /sub}
  - {op: absolute, from: s, save: /abs}
  - {op: sqrt, from: s, name: r, save: /sqrt}
  - {op: power, from: s, exponent: 2, save: /pow2}
  - {op: power, from: input, exponent: -0.5, save: /powh}
  - {op: clip, from: input, minimum: 150, maximum: 400, save: /clip}
  - {op: clip, from: r, minimum: 2, maximum: 5, save: /clipnan}
  - {op: clip, from: input, minimum: 400, maximum: 150, save: /clipinv}
  - {op: add_scalar, from: input, value: 0.1, save: /adds}
  - {op: multiply_scalar, from: input, value: 0.37, save: /mul}
  - {op: multiply_scalar, from: r, value: -2.5, save: /mulnan}
  - {op: add_scalar, from: r, value: -1234.567, save: /addnan}
  - {op: subtract_scalar, from: input, value: 0.1}'
COMPARE='  - {op: greater_constant, constant: 250, name: g, save: /gt}
  - {op: smaller_constant, from: input, constant: 190.5, save: /lt}
  - {op: equal_constant, from: input, constant: 200, save: /eq}
  - {op: subtract_scalar, from: input, value: 200, name: s}
  - {op: sqrt, from: s, name: r}
  - {op: greater_constant, from: r, constant: -1, save: /gtnan}
  - {op: smaller_constant, from: r, constant: 1e9, save: /ltnan}
  - {op: smaller_constant, from: input, constant: 300, name: l}
  - {op: binary_and, from: g, with: l, save: /and}
  - {op: binary_and, from: r, with: l, save: /andnan}
  - {op: threshold_fixed, from: input, threshold: 250, save: /thr}
  - {op: threshold_fixed, from: s, threshold: -10.3, save: /thrs}
  - {op: threshold_fixed, from: r, threshold: -1, save: /thrnan}
  - {op: equal_constant, from: r, constant: 0}'
IMAGES2='  - {op: subtract_scalar, value: 200, name: s}
  - {op: multiply_scalar, from: s, value: -1.5, name: n}
  - {op: divide_images, from: input, with: s, save: /div}
  - {op: divide_images, from: s, with: s, save: /div0}
  - {op: maximum_images, from: s, with: n, save: /max}
  - {op: minimum_images, from: s, with: n, save: /min}
  - {op: sqrt, from: s, name: r}
  - {op: maximum_images, from: r, with: n, save: /maxnan}
  - {op: add_images_weighted, from: s, with: n, factor1: 0.3, factor2: -1.7, save: /wsum}
  - {op: add_images_weighted, from: r, with: input, factor1: 2.5e-3, factor2: 0.1, save: /wsumnan}
  - {op: add_images_weighted, from: input, with: r, save: /wsum11}
  - {op: minimum_images, from: n, with: r}'
PROJECT='  - {op: maximum_z_projection, save: /max}
  - {op: minimum_z_projection, from: input, save: /min}
  - {op: sum_z_projection, from: input, save: /sum}
  - {op: mean_z_projection, from: input, save: /mean}
  - {op: standard_deviation_z_projection, from: input, save: /std}
  - {op: multiply_scalar, from: input, value: 0.37, name: f}
  - {op: maximum_z_projection, from: f, save: /maxf}
  - {op: mean_z_projection, from: f, save: /meanf}
  - {op: standard_deviation_z_projection, from: f, save: /stdf}
  - {op: argmax_z_projection, from: input}'
MORPH='  - {op: subtract_scalar, value: 200, name: s}
  - {op: clip, from: s, minimum: 0, maximum: 5, name: c}
  - {op: greater_constant, from: input, constant: 230, name: m}
  - {op: erode_box, from: c, radius: 1, save: /ero}
  - {op: dilate_box, from: m, radius: [1, 2, 1], save: /dil}
  - {op: opening_box, from: m, radius: 1, save: /open}
  - {op: closing_box, from: m, radius: [1, 1, 2], save: /close}
  - {op: opening_box, from: m, radius: 0, save: /open0}
  - {op: opening_box, from: m, radius: [2, 1, 1], save: /grey}
  - {op: closing_box, from: c, radius: [2, 1, 1]}'

for data in 3d 2d; do
    if [ $data = 3d ]; then
        dset=/raw whole="[$NZ, $NY, $NX]" tiles="[7, 32, 41]"
    else
        dset=/raw2d whole="[1, $NY, $NX]" tiles="[1, 32, 41]"
    fi
    for case in math compare images2 project morph; do
        case $case in
        math) steps=$MATH ;;
        compare) steps=$COMPARE ;;
        images2) steps=$IMAGES2 ;;
        project) steps=$PROJECT ;;
        morph) steps=$MORPH ;;
        esac
        c=${case}_$data
        config "${c}_whole" "$dset" "$whole" "$steps"
        config "${c}_tiled" "$dset" "$tiles" "$steps"
        note "$c: untiled on 1 rank, tiles $tiles on 2 ranks"
        lapse_run 1 "$T/${c}_whole.yaml"
        lapse_run 2 "$T/${c}_tiled.yaml"
        py h5same.py "$T/${c}_whole.h5" "$T/${c}_tiled.h5" || fail "$c: tiled differs from untiled"
        [ "$case.$data" = project.2d ] || nonconstant "$T/${c}_whole.h5" /result
        case $case in # the datasets of the add_scalar, binary_and, add_images_weighted checks
        math) nonconstant "$T/${c}_whole.h5" /adds /addnan /mul /mulnan ;;
        compare) nonconstant "$T/${c}_whole.h5" /and /andnan /thr /thrs /thrnan ;;
        project) nonconstant "$T/${c}_whole.h5" /max /maxf ;;
        images2) nonconstant "$T/${c}_whole.h5" /wsum /wsumnan /wsum11 ;;
        esac
        run_ok "$T/ref.log" py graph_ref.py "$IN" "$T/${c}_whole.h5" "$case" "$dset"
        cat "$T/ref.log"
    done
done
echo "PASS ($TEST_NAME)"
