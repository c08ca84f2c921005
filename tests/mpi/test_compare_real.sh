#!/usr/bin/env bash
# test_compare_real.sh - `lapse compare` on real data (../shared/data): lapse's segmentation of
# laptrack_nuclei_images.tif (blur, Otsu, connected components, measurements; 2 ranks) against
# the hand-checked laptrack_nuclei_labels.tif: label matching by IoU (F1, mean IoU, areas of
# matched pairs), the label counts per timepoint (/nuclei_summary against a CSV of the
# reference's counts) and the voxels of the blurred image against the raw TIFF ([t,1,y,x] against
# a [t,y,x] TIFF). Every number of --json must equal tests/py/compare_ref.py's NumPy/SciPy
# computation. The data directory: $LAPSE_DATA, ../shared/data or /work/shared/data (skip).
source "$(dirname "$0")/common.sh"
need_device
"$LAPSE_PY" -c 'import tifffile, matplotlib' 2>/dev/null ||
    fail "$LAPSE_PY lacks tifffile or matplotlib (tools/deps.sh)"
DATA=${LAPSE_DATA:-}
for d in "$DATA" "$LAPSE_SRC/../shared/data" /work/shared/data; do
    [ -n "$d" ] && [ -f "$d/laptrack_nuclei_labels.tif" ] && DATA=$d && break
done
[ -f "$DATA/laptrack_nuclei_labels.tif" ] || skip "no real data (set LAPSE_DATA)"
cd "$T" || fail "cd $T"
RAW=$DATA/laptrack_nuclei_images.tif
REFLAB=$DATA/laptrack_nuclei_labels.tif

py tif2h5.py "$RAW" in.h5 TYX || fail "cannot convert $RAW"
cat >seg.yaml <<YAML
input: {file: $T/in.h5, dataset: /raw}
tiles: {shape: [1, 100, 100], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 2, save: /blur}
  - {op: threshold_otsu}
  - {op: connected_components_labeling, name: l, save: /labels}
  - {op: measure_labels, from: l, with: input, name: nuclei}
output: {file: $T/seg.h5, dataset: /result}
devices: any
YAML
lapse_run 2 seg.yaml

# cmp NAME REFMODE A B [ARGS]: lapse compare --json, then compare_ref.py REFMODE on the same.
cmp() {
    local name=$1 mode=$2 a=$3 b=$4
    shift 4
    run_ok "$name.err" "$LAPSE" compare "$a" "$b" --json -o "$T/$name" "$@"
    sed -n '/^{/,$p' "$name.err" >"$name.json"
    for p in scatter bland_altman; do
        [ -s "${name}_$p.png" ] || fail "$name: no ${name}_$p.png"
    done
}
note "labels: lapse /labels against the hand-checked labels"
cmp lab labels "$REFLAB" seg.h5:/labels --mode labels
py compare_ref.py labels "$REFLAB" seg.h5:/labels lab.json || fail "labels differ from SciPy"
"$LAPSE" compare "$REFLAB" seg.h5:/labels --mode labels --no-plots | tail -4

note "counts per timepoint: /nuclei_summary against the reference's label counts (CSV)"
"$LAPSE_PY" - "$REFLAB" counts.csv <<'PY' || fail "cannot count the reference labels"
import sys, numpy as np, tifffile
a = tifffile.imread(sys.argv[1])
with open(sys.argv[2], "w") as f:
    f.write("timepoint,label_count\n")
    for t in range(a.shape[0]):
        f.write("%d,%d\n" % (t, len(np.unique(a[t][a[t] > 0]))))
PY
cmp cnt table counts.csv seg.h5:/nuclei_summary
py compare_ref.py table counts.csv seg.h5:/nuclei_summary cnt.json label_count ||
    fail "counts differ from NumPy"

note "voxels: the blurred image against the raw TIFF"
cmp vox voxels "$RAW" seg.h5:/blur
py compare_ref.py voxels "$RAW" seg.h5:/blur vox.json || fail "voxels differ from NumPy"
echo "PASS ($TEST_NAME)"
