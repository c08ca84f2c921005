#!/usr/bin/env bash
# test_out_int16.sh - output.dtype: int16 (issue 13): a signed result (the input minus 1000, and
# a Laplacian) written as int16 equals the float32 output of the same run rounded to nearest even
# and saturated to [-32768, 32767] (NumPy), untiled on 1 rank and tiled on 2 ranks bit-identical;
# the file's dataset type is a signed 16-bit integer. The run warns how many voxels each integer
# dataset could not hold (saturated, or NaN), counted once whatever the tiling, and none for the
# float32 datasets; `lapse info` shows the total.
source "$(dirname "$0")/common.sh"
need_device
make_sample
for dt in int16 float32; do
    for r in 1 2; do
        tiles=$([ "$r" = 1 ] && echo "[$NZ, $NY, $NX]" || echo "[5, 29, 23]")
        cat >"$T/$dt-$r.yaml" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: $tiles, halo: auto}
pipeline:
  - {op: subtract_scalar, value: 1000, name: shifted, save: /shifted}
  - {op: multiply_scalar, value: 40, name: big}
  - {op: laplace_box}
output: {file: $T/$dt-$r.h5, dataset: /lap, dtype: $dt}
devices: any
YAML
        lapse_run "$r" "$T/$dt-$r.yaml"
        cp "$T/last.log" "$T/$dt-$r.log"
    done
done
py h5same.py "$T/int16-1.h5" "$T/int16-2.h5" || fail "int16: tiled differs from untiled"
"$LAPSE_PY" - "$T/int16-1.h5" "$T/float32-1.h5" <<'PY' || fail "int16 output is not the rounded, saturated float32 output"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])
lap = a["/lap"]
assert lap.dtype == np.int16, lap.dtype
want = np.nan_to_num(np.clip(np.rint(b["/lap"][()].astype(np.float64)), -32768, 32767)).astype(np.int16)
got = lap[()]
assert np.array_equal(got, want), f"{(got != want).sum()} voxels differ"
assert got.min() < 0 and ((got == -32768).any() or (got == 32767).any()), "no negative or saturated voxel tested"
print(f"int16 /lap: {got.size} voxels equal, min {got.min()} max {got.max()}, "
      f"{int((got == 32767).sum() + (got == -32768).sum())} saturated")
PY
# the warning: the count from the float32 result (NumPy), the same on 1 and 2 ranks
nlap=$("$LAPSE_PY" - "$T/float32-1.h5" <<'PY'
import sys, h5py, numpy as np
lap = h5py.File(sys.argv[1])["/lap"][()].astype(np.float64)
r = np.rint(lap)
print(int((np.isnan(lap) | (r < -32768) | (r > 32767)).sum()))
PY
) || fail "counting the saturated voxels"
[ "$nlap" -gt 0 ] || fail "the test image saturates nothing"
for r in 1 2; do
    grep -qF "WARNING: $nlap voxels of $T/int16-$r.h5:/lap were NaN (written as 0) or outside int16's range [-32768, 32767]" "$T/int16-$r.log" ||
        fail "no or a wrong warning for /lap on $r ranks (want $nlap voxels): $(grep WARNING "$T/int16-$r.log")"
    [ "$(grep -c "WARNING: .* voxels of" "$T/int16-$r.log")" = 1 ] || fail "a warning for the float32 /shifted"
    ! grep -q "WARNING: .* voxels of" "$T/float32-$r.log" || fail "a float32 output warned of saturation"
done
run_ok "$T/info.log" "$LAPSE" info "$T/int16-2.h5"
grep -q "saturated): $nlap in" "$T/info.log" ||
    fail "lapse info does not show the $nlap saturated voxels: $(grep -i saturat "$T/info.log")"
echo "PASS ($TEST_NAME)"
