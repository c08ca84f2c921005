#!/usr/bin/env bash
# test_segment_real.sh - issue 9's segmentation on real microscopy (../shared/data, TIFF
# converted to HDF5): blur, Otsu per timepoint, connected components, measurements. Each file
# runs untiled on 1 rank, with odd tiles on 2 ranks (static) and on 3 ranks (dynamic); the
# outputs (images and tables) must be bit-identical and match scikit-image / SciPy
# (tests/py/seg_ref.py real). The data directory: $LAPSE_DATA, else ../shared/data next to the
# repository, else /work/shared/data; skipped when none exists.
source "$(dirname "$0")/common.sh"
need_device
"$LAPSE_PY" -c 'import skimage, tifffile' 2>/dev/null ||
    fail "$LAPSE_PY lacks scikit-image or tifffile (tools/deps.sh)"
DATA=${LAPSE_DATA:-}
for d in "$DATA" "$LAPSE_SRC/../shared/data" /work/shared/data; do
    [ -n "$d" ] && [ -f "$d/laptrack_nuclei_images.tif" ] && DATA=$d && break
done
[ -f "$DATA/laptrack_nuclei_images.tif" ] || skip "no real data (set LAPSE_DATA)"

PIPE='  - {op: gaussian_blur, sigma: 1, name: b, save: /blur}
  - {op: threshold_otsu, name: m, save: /mask}
  - {op: connected_components_labeling, name: l, save: /labels}
  - {op: measure_labels, from: l, with: input, name: nuclei}'

# config NAME IN TILES SCHED
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $2, dataset: /raw}
tiles: {shape: $3, halo: auto}
pipeline:
$PIPE
output: {file: $T/$1.h5, dataset: /result}
scheduling: $4
devices: any
YAML
}

for spec in laptrack_nuclei_images:TYX:"[1, 200, 200]":"[1, 61, 47]":"[1, 200, 33]" \
    cancer_cell_migration_crop:TYX:"[1, 130, 130]":"[1, 37, 53]":"[1, 64, 64]" \
    xyz_8bit__nuclei_autothresh:ZYX:"[37, 118, 132]":"[11, 50, 41]":"[37, 32, 32]"; do
    IFS=: read -r name axes whole tiles tiles3 <<<"$spec"
    in=$T/$name.h5
    py tif2h5.py "$DATA/$name.tif" "$in" "$axes" || fail "cannot convert $name.tif"
    config "${name}_whole" "$in" "$whole" static
    config "${name}_t2" "$in" "$tiles" static
    config "${name}_t3" "$in" "$tiles3" dynamic
    note "$name: untiled on 1 rank, tiles $tiles on 2 ranks, $tiles3 on 3 ranks"
    lapse_run 1 "$T/${name}_whole.yaml"
    lapse_run 2 "$T/${name}_t2.yaml"
    lapse_run 3 "$T/${name}_t3.yaml"
    for r in t2 t3; do
        py h5same.py "$T/${name}_whole.h5" "$T/${name}_$r.h5" || fail "$name: $r differs from untiled"
    done
    run_ok "$T/ref.log" py seg_ref.py "$in" "$T/${name}_whole.h5" real /raw
    cat "$T/ref.log"
    "$LAPSE" info "$T/${name}_whole.h5" >"$T/info.log" 2>&1 || fail "lapse info failed"
    grep -q "labels per timepoint (/nuclei_summary)" "$T/info.log" ||
        { cat "$T/info.log"; fail "lapse info does not show the labels per timepoint"; }
done
echo "PASS ($TEST_NAME)"
