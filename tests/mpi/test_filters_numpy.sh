#!/usr/bin/env bash
# test_filters_numpy.sh - issue 11's filters end to end against SciPy, on [t, z, y, x] and on
# [t, y, x] data.
#
# Two graphs (tests/py/graph_ref.py FILTER_CASES, SciPy through tests/py/filters_ref.py): window
# (mean_box of float32 x * 0.37 with radii [1, 2, 2] and [0, 1, 3], minimum / maximum_box of the
# input and of x * 0.37, median_box, median_sphere, mean_sphere, minimum / maximum / top_hat_sphere,
# variance_box, standard_deviation_box, erode / dilate_sphere of a mask) and stencil
# (top_hat_box, bottom_hat_box, difference_of_gaussian, subtract_gaussian_background, sobel,
# laplace_box / diamond, gradient_x / y / z), every step reading the input (or x * 0.37, or the mask) and saved.
# Each runs untiled on 1 rank and with small ragged tiles on 2 ranks, on the standard 4-D image and
# on its plane z = 5 as a 3-D [t, y, x] dataset (the z radii then change nothing: the reference is
# SciPy's 2-D filter of the plane, e.g. mean_box [1, 2, 2] is uniform_filter(size=[5, 5])); every
# dataset must be bit-identical between the two runs, hold more than one value, and match SciPy
# (medians, minima, maxima, top-hats and the binary morphology bit for bit, float results within
# 1e-5 of the range). Then a chain of six of them against the chain reference reference.py.
source "$(dirname "$0")/common.sh"
need_device
make_sample
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

WINDOW='  - {op: multiply_scalar, value: 0.37, name: f}
  - {op: mean_box, from: f, radius: [1, 2, 2], save: /mean_box}
  - {op: mean_box, from: f, radius: [0, 1, 3], save: /mean_box013}
  - {op: minimum_box, from: input, radius: [1, 1, 2], save: /minimum_box}
  - {op: minimum_box, from: f, radius: [0, 2, 1], save: /minimum_boxf}
  - {op: maximum_box, from: f, radius: [2, 1, 0], save: /maximum_box}
  - {op: maximum_box, from: input, radius: [1, 2, 2], save: /maximum_boxi}
  - {op: median_box, from: input, radius: 1, save: /median_box}
  - {op: median_sphere, from: input, radius: [1, 2, 2], save: /median_sphere}
  - {op: mean_sphere, from: input, radius: [1, 2, 2], save: /mean_sphere}
  - {op: minimum_sphere, from: input, radius: 2, save: /minimum_sphere}
  - {op: maximum_sphere, from: input, radius: [2, 1, 1], save: /maximum_sphere}
  - {op: top_hat_sphere, from: input, radius: [1, 2, 2], save: /top_hat_sphere}
  - {op: variance_box, from: input, radius: [1, 2, 1], save: /variance_box}
  - {op: standard_deviation_box, from: input, radius: 1, save: /std_box}
  - {op: greater_constant, from: input, constant: 230, name: m}
  - {op: erode_sphere, from: m, radius: 1, save: /erode}
  - {op: dilate_sphere, from: m, radius: [1, 2, 2]}'
STENCIL='  - {op: top_hat_box, from: input, radius: [1, 3, 3], save: /top_hat_box}
  - {op: bottom_hat_box, from: input, radius: [1, 3, 3], save: /bottom_hat_box}
  - {op: difference_of_gaussian, from: input, sigma1: 1, sigma2: [1.5, 3, 3], save: /dog}
  - {op: subtract_gaussian_background, from: input, sigma: [2, 4, 4], save: /sgb}
  - {op: sobel, from: input, save: /sobel}
  - {op: laplace_box, from: input, save: /laplace_box}
  - {op: laplace_diamond, from: input, save: /laplace_diamond}
  - {op: gradient_x, from: input, save: /gx}
  - {op: gradient_y, from: input, save: /gy}
  - {op: gradient_z, from: input}'

for data in 3d 2d; do
    if [ $data = 3d ]; then
        dset=/raw whole="[$NZ, $NY, $NX]" tiles="[7, 32, 41]"
    else
        dset=/raw2d whole="[1, $NY, $NX]" tiles="[1, 32, 41]"
    fi
    for case in window stencil; do
        case $case in
        window) steps=$WINDOW ;;
        stencil) steps=$STENCIL ;;
        esac
        c=${case}_$data
        config "${c}_whole" "$dset" "$whole" "$steps"
        config "${c}_tiled" "$dset" "$tiles" "$steps"
        note "$c: untiled on 1 rank, tiles $tiles on 2 ranks"
        lapse_run 1 "$T/${c}_whole.yaml"
        lapse_run 2 "$T/${c}_tiled.yaml"
        py h5same.py "$T/${c}_whole.h5" "$T/${c}_tiled.h5" || fail "$c: tiled differs from untiled"
        if [ $case = window ]; then
            sets="/mean_box /mean_box013 /minimum_box /minimum_boxf /maximum_box /maximum_boxi
                  /median_box /median_sphere /mean_sphere /minimum_sphere /maximum_sphere
                  /top_hat_sphere /variance_box /std_box /erode /result"
        else
            sets="/top_hat_box /bottom_hat_box /dog /sgb /sobel /laplace_box /laplace_diamond /gx /gy"
            [ $data = 2d ] || sets="$sets /result"
        fi
        # shellcheck disable=SC2086
        nonconstant "$T/${c}_whole.h5" $sets
        run_ok "$T/ref.log" py graph_ref.py "$IN" "$T/${c}_whole.h5" "$case" "$dset"
        cat "$T/ref.log"
    done
done
# A chain of them (each step reads the previous one), checked by the chain reference reference.py.
CHAIN='  - {op: median_sphere, radius: [1, 2, 2], save: /med}
  - {op: difference_of_gaussian, sigma1: 1, sigma2: 2, save: /dog}
  - {op: sobel, save: /sob}
  - {op: standard_deviation_box, radius: 1, save: /std}
  - {op: top_hat_sphere, radius: 1, save: /th}
  - {op: mean_sphere, radius: [1, 2, 2]}'
config chain /raw "[7, 32, 41]" "$CHAIN"
note "chain: tiles [7, 32, 41] on 2 ranks against reference.py"
lapse_run 2 "$T/chain.yaml"
run_ok "$T/ref.log" env LAPSE="$LAPSE" "$LAPSE_PY" "$PYDIR/reference.py" "$T/chain.yaml"
cat "$T/ref.log"
echo "PASS ($TEST_NAME)"
