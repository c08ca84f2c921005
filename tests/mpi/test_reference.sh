#!/usr/bin/env bash
# test_reference.sh - every operation against an independent SciPy float64 reference.
#
# Each config below runs through lapse (tiled, on 1 or 2 ranks) and tests/py/reference.py
# recomputes every dataset it wrote (saved steps and the final result) with scipy.ndimage and
# compares: float32 within 1e-4 relative error, integer results exact (up to rounding-boundary
# and threshold ties), plus dtype (dtype: auto rules) and shape. Thresholds are taken from the
# data (percentiles) so that the masks are neither empty nor full.
source "$(dirname "$0")/common.sh"
need_device
make_sample

# Percentiles of the raw image and of its top-hat (radius [1,3,3]) at timepoint 1.
read -r THR_RAW THR_TH < <("$LAPSE_PY" - "$IN" <<'PY'
import sys, h5py, numpy as np
from scipy import ndimage
a = h5py.File(sys.argv[1], "r")["/raw"][1].astype(np.float64)
o = ndimage.maximum_filter(ndimage.minimum_filter(a, size=(3, 7, 7), mode="nearest"),
                           size=(3, 7, 7), mode="nearest")
print("%.2f %.2f" % (np.percentile(a, 60) + 0.25, np.percentile(a - o, 80) + 0.25))
PY
) || fail "cannot compute thresholds"
note "thresholds: raw $THR_RAW, top-hat $THR_TH"

# check NAME RANKS TILES TIMEPOINTS DTYPE PIPELINE: run the config, compare with the reference.
check() {
    local name=$1 n=$2 tiles=$3 tps=$4 dtype=$5 steps=$6
    cat >"$T/$name.yaml" <<YAML
input: {file: $IN, dataset: /raw}
timepoints: "$tps"
tiles: {shape: $tiles}
pipeline:
$steps
output: {file: $T/$name.h5, dataset: /result, dtype: $dtype}
devices: any
YAML
    note "$name ($n ranks, tiles $tiles, timepoints $tps)"
    lapse_run "$n" "$T/$name.yaml"
    nonconstant "$T/$name.h5" /result
    py reference.py "$T/$name.yaml" || fail "$name: lapse differs from the SciPy reference"
}

check gaussian 2 "[8, 32, 32]" "0-3" auto \
'  - {op: gaussian_blur, sigma: [1, 1.5, 2]}'

check gaussian_aniso 1 "[24, 70, 90]" "1-3" auto \
'  - {op: gaussian_blur, sigma: [0, 2.5, 0.7]}'

check mean_min_max 2 "[7, 32, 41]" "0,2" auto \
'  - {op: mean_box, radius: [1, 2, 3], save: /mean}
  - {op: minimum_box, radius: 1, save: /min}
  - {op: maximum_box, radius: [0, 2, 1]}'

check min_max_uint16 1 "[7, 32, 41]" "0-3" auto \
'  - {op: minimum_box, radius: [1, 2, 2], save: /min}
  - {op: maximum_box, radius: [2, 1, 1]}'

check tophat_threshold 2 "[8, 35, 45]" "1-2" auto \
"  - {op: top_hat_box, radius: [1, 3, 3], save: /tophat}
  - {op: threshold_fixed, threshold: $THR_TH}"

check threshold_raw 1 auto "0-3" auto \
"  - {op: threshold_fixed, threshold: $THR_RAW}"

check scalars_saturate 2 "[8, 32, 32]" "0-3" uint16 \
'  - {op: add_scalar, value: 10.5, save: /add}
  - {op: multiply_scalar, value: 0.37, save: /mul}
  - {op: add_scalar, value: -40.5}'

check gauss_tophat_threshold 2 "[8, 32, 32]" "0-3" auto \
'  - {op: gaussian_blur, sigma: [1, 1.5, 1.5], save: /blurred}
  - {op: top_hat_box, radius: [1, 2, 2], save: /tophat}
  - {op: threshold_fixed, threshold: 5}'

check projection 2 "[8, 32, 32]" "0-3" auto \
'  - {op: gaussian_blur, sigma: [1, 1, 1.5]}
  - {op: maximum_z_projection, save: /projected}
  - {op: top_hat_box, radius: [1, 3, 3]}
  - {op: multiply_scalar, value: 2}'

check projection_raw 1 "[8, 32, 32]" "0-3" auto \
'  - {op: maximum_z_projection}'

check geometry_chain 2 "[5, 16, 16]" "0-3" auto \
'  - {op: gaussian_blur, sigma: 1}
  - {op: flip, axes: [true, false, true]}
  - {op: crop, start: [2, 5, 7], size: [20, 60, 100]}
  - {op: downsample_bin, factor: [2, 2, 3]}'

echo "PASS ($TEST_NAME)"
