#!/usr/bin/env bash
# test_geometry.sh - issue 11's geometric operations end to end against SciPy / NumPy, on
# [t, z, y, x] and on [t, y, x] data: flip, crop, downsample_bin, resample, rotate,
# affine_transform and radial_reslice.
#
# Five graphs (tests/py/graph_ref.py has their SciPy expressions): geom (rotations linear and
# nearest, a 90 degree one, flips, the input minus its mirror image - two operands from
# different geometric steps -, affine transforms, a rotated blur), crop (then a blur inside the
# crop), bin (block means with partial blocks: the output shape changes), resample (zoom up in
# z, down in y and x, linear and nearest; on [t, y, x] data the z factor 2 leaves the one plane
# alone, as SciPy's zoom of the frame, and the result stays [t, y, x] with its pixel size) and radial (radial_reslice: [angles, z, radius]).
# Each runs untiled on 1 rank and with small tiles on 2 ranks - for the rotations, tiles whose
# read boxes lie far from their cores -; every dataset must be bit-identical between the two
# runs and match SciPy (graph_ref.py: copies and nearest sampling exact, linear sampling within
# 1e-4 of the range). The task table's cores must cover the output's shape (not the input's)
# exactly once. Last, a rotation over 144 tiles with static scheduling on 2 ranks equals the
# untiled result bit for bit.
source "$(dirname "$0")/common.sh"
need_device
make_sample
"$LAPSE_PY" -c "import h5py, sys
with h5py.File(sys.argv[1], 'a') as f:
    f['/raw2d'] = f['/raw'][:, 5]" "$IN" || fail "cannot write /raw2d"

# config NAME DATASET TILES PIPELINE [EXTRA]
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: $2}
tiles: {shape: $3, halo: auto}
pipeline:
$4
output: {file: $T/$1.h5, dataset: /result}
devices: any
${5:-}
YAML
}

MATRIX='[[0.9317, 0.0713, 0, 1.4031], [0.1109, 1.1287, -0.2113, -3.0917], [0, 0.3121, 0.8273, 4.3079]]'
GEOM="  - {op: rotate, angle_x: 7, angle_y: -4, angle_z: 33, save: /rot}
  - {op: rotate, from: input, angle_z: 90, interpolation: nearest, save: /rot90}
  - {op: rotate, from: input, angle_y: -12, angle_z: 21, interpolation: nearest, save: /rotn}
  - {op: flip, from: input, axes: {y: true, x: true}, name: fl, save: /flip}
  - {op: subtract_images, from: input, with: fl, save: /asym}
  - {op: affine_transform, from: input, matrix: $MATRIX, save: /aff}
  - {op: affine_transform, from: input, matrix: $MATRIX, interpolation: nearest, save: /affn}
  - {op: affine_transform, from: input, matrix: [[1, 0, 0, 0], [0, 1, 0, 0.5], [0, 0, 1, 0.5]], save: /half}
  - {op: gaussian_blur, from: input, sigma: 1, name: g}
  - {op: rotate, from: g, angle_z: -50}"
CROP='  - {op: crop, start: [0, 10, 20], size: [15, 50, 100], save: /crop}
  - {op: gaussian_blur, sigma: 1.5}'
BIN='  - {op: downsample_bin, factor: [2, 3, 4]}'
RADIAL='  - {op: radial_reslice, angle_step: 3}'
RESAMPLE3='  - {op: resample, scale: [2, 0.5, 0.75], save: /lin}
  - {op: resample, from: input, scale: [2, 0.5, 0.75], interpolation: nearest}'

# expected output shape (z, y, x) of each case on 3-D data ([t, y, x] data: z = 1)
shape_of() {
    case $1 in
    geom) echo "$NZ $NY $NX" ;;
    crop) echo "15 50 70" ;;
    bin) echo "12 24 23" ;;
    resample) echo "48 35 68" ;;
    radial) echo "120 24 57" ;;
    esac
}

for data in 3d 2d; do
    if [ $data = 3d ]; then
        dset=/raw whole="[$NZ, $NY, $NX]" tiles="[5, 13, 17]"
    else
        dset=/raw2d whole="[1, $NY, $NX]" tiles="[1, 13, 17]"
    fi
    for case in geom crop bin resample radial; do
        case $case in
        geom) # on one plane angle_x / angle_y other than multiples of 180 are refused
            steps=$GEOM
            [ $data = 2d ] && steps=$(echo "$GEOM" |
                sed 's/angle_x: 7, angle_y: -4/angle_x: 180, angle_y: 0/; s/angle_y: -12/angle_y: 180/')
            ;;
        crop) steps=$CROP ;;
        bin) steps=$BIN ;;
        resample) steps=$RESAMPLE3 ;;
        radial) steps=$RADIAL ;;
        esac
        c=${case}_$data
        config "${c}_whole" "$dset" "[1000, 1000, 1000]" "$steps"
        config "${c}_tiled" "$dset" "$tiles" "$steps"
        note "$c: untiled on 1 rank, tiles $tiles on 2 ranks"
        lapse_run 1 "$T/${c}_whole.yaml"
        lapse_run 2 "$T/${c}_tiled.yaml"
        py h5same.py "$T/${c}_whole.h5" "$T/${c}_tiled.h5" || fail "$c: tiled differs from untiled"
        nonconstant "$T/${c}_whole.h5" /result
        read -r oz oy ox <<<"$(shape_of $case)"
        tz=5
        if [ $data = 2d ]; then # one plane; a radial reslice's planes are its angles
            if [ $case = radial ]; then oy=1; else oz=1; fi
            tz=1
        fi
        [ "$oz" -lt "$tz" ] && tz=$oz
        n=$(($(ceil_div "$oz" $tz) * $(ceil_div "$oy" 13) * $(ceil_div "$ox" 17)))
        run_ok "$T/tasks.log" py tasks.py "$T/${c}_tiled.h5" --count $((NT * n)) --cover /result \
            --timepoints 0-$((NT - 1))
        run_ok "$T/ref.log" py graph_ref.py "$IN" "$T/${c}_whole.h5" "$case" "$dset"
        cat "$T/ref.log"
    done
done

note "a resampled [t, y, x] input stays [t, y, x], its pixel size scaled (Fiji's three values)"
"$LAPSE_PY" - "$T/resample_2d_whole.h5" "$IN" <<'PY' || fail "resample of [t, y, x] data: wrong shape or voxel size"
import sys, h5py, numpy as np
d = h5py.File(sys.argv[1])["/result"]
assert d.ndim == 3 and d.attrs["axes"] in (b"tyx", "tyx"), (d.shape, dict(d.attrs))
n = h5py.File(sys.argv[2])["/raw2d"].shape  # n_in / n_out per axis: the sampling step
want = [1, n[1] / d.shape[1], n[2] / d.shape[2]]
assert np.allclose(d.attrs["element_size_um"], want, rtol=1e-6), (d.attrs["element_size_um"], want)
PY

note "the plan of a resampling names the output's shape and the input boxes"
run_ok "$T/plan.log" mpirun_lapse 1 plan "$T/resample_3d_tiled.yaml"
grep -q "geometry   tiles cover the result \[48, 35, 68\]" "$T/plan.log" ||
    { cat "$T/plan.log" >&2; fail "the plan does not name the output's shape"; }

note "a rotation over 144 tiles, static scheduling on 2 ranks, equals the untiled run"
ROT='  - {op: rotate, angle_x: 15, angle_y: -10, angle_z: 35}'
config rot_whole /raw "[1000, 1000, 1000]" "$ROT"
config rot_many /raw "[8, 12, 15]" "$ROT" "scheduling: static"
lapse_run 1 "$T/rot_whole.yaml"
lapse_run 2 "$T/rot_many.yaml"
run_ok "$T/tasks.log" py tasks.py "$T/rot_many.h5" --count $((NT * 3 * 6 * 6)) --cover /result \
    --timepoints 0-$((NT - 1))
py h5same.py "$T/rot_whole.h5" "$T/rot_many.h5" || fail "rotation: 144 tiles differ from untiled"
nonconstant "$T/rot_whole.h5" /result
note "infinite voxels: a sample between one and its neighbour is that infinity, as SciPy's"
# float32 [t, y, x] frames with +inf and -inf voxels (a ratio image's division by 0): rotate
# (linear) and radial_reslice must give SciPy's inf where SciPy's weighted sum does, not
# inf - inf = NaN (before 2026-12-04); untiled and tiled alike. One plane, so that no axis has
# the zero-weight neighbour SciPy's order 1 lets NaN in through (operations.md).
"$LAPSE_PY" - "$T/inf.h5" <<'PY' || fail "cannot write the infinite input"
import sys, h5py, numpy as np
a = np.random.default_rng(7).uniform(1, 100, (2, 15, 17)).astype(np.float32)
a[:, 7, 8] = np.inf       # the centre: every radial plane starts there
a[0, 3, 4] = a[1, 10, 12] = np.inf
a[0, 11, 5] = a[1, 4, 11] = -np.inf
with h5py.File(sys.argv[1], "w") as f:
    f["/raw"] = a
PY
for op in "rotate, angle_z: 33" "radial_reslice, angle_step: 30"; do
    for tiles in "[1, 1000, 1000]" "[1, 4, 5]"; do
        cat >"$T/inf.yaml" <<YAML
input: {file: $T/inf.h5, dataset: /raw}
tiles: {shape: $tiles, halo: auto}
pipeline:
  - {op: $op}
output: {file: $T/inf_${op%%,*}_$(echo "$tiles" | tr -dc 0-9).h5, dataset: /result}
devices: any
YAML
        lapse_run 2 "$T/inf.yaml"
    done
    py h5same.py "$T/inf_${op%%,*}_110001000.h5" "$T/inf_${op%%,*}_145.h5" ||
        fail "infinite voxels, $op: tiled differs from untiled"
done
"$LAPSE_PY" - "$T/inf.h5" "$T/inf_rotate_110001000.h5" "$T/inf_radial_reslice_110001000.h5" <<'PY' ||
import sys, h5py, numpy as np
from scipy import ndimage
a = h5py.File(sys.argv[1])["/raw"][()].astype(np.float64)
rot, rad = (h5py.File(p)["/result"] for p in sys.argv[2:4])
def radial(x, step, n, length):
    res = np.zeros((n, length))
    for k in range(n):
        cs = [np.cos(np.deg2rad(k * step)), np.sin(np.deg2rad(k * step))]
        cs = [round(v) if abs(v - round(v)) < 1e-12 else v for v in cs]  # exact at 90 degrees
        # lapse's float32 positions fma(cos, r, centre), exact in double before the rounding
        r = np.arange(length, dtype=np.float64)
        pos = [(np.float64(np.float32(v)) * r + c).astype(np.float32).astype(np.float64)
               for v, c in zip(cs, (7, 8))]
        res[k] = ndimage.map_coordinates(x, pos, order=1, mode="constant")
    return res
for t in range(a.shape[0]):
    for name, got, want in (
            ("rotate", rot[t], ndimage.rotate(a[t], 33, reshape=False, order=1, mode="constant")),
            ("radial_reslice", rad[t][:, 0], radial(a[t], 30, 12, rad.shape[-1]))):
        kind = lambda v: np.where(np.isnan(v), 2, np.where(np.isinf(v), np.sign(v), 0))
        bad = kind(got) != kind(want)
        fin = np.isfinite(want) & ~bad
        bad |= fin & ~np.isclose(got, want, rtol=1e-4, atol=1e-3)
        assert np.isinf(want).sum() > 3, (name, "too few infinite samples to test")
        if bad.any():
            i = tuple(np.argwhere(bad)[0])
            sys.exit("%s t=%d: %d samples differ from SciPy, first %s: %r vs %r"
                     % (name, t, bad.sum(), i, got[i], want[i]))
print("infinite voxels: rotate and radial_reslice as SciPy")
PY
    fail "infinite voxels: not SciPy's"
echo "PASS ($TEST_NAME)"
