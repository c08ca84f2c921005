#!/usr/bin/env bash
# test_voronoi.sh - issue 10's masked_voronoi_labeling (an iterative global step: one iteration
# per pass when tiled) in the voronoi-Otsu workflow (blur -> maxima; blur -> Otsu mask; seeds
# inside the mask labelled; grown inside the mask): untiled on 1 rank, odd tiles on 2 ranks
# (static; the growth's tile state kept on the device with its operands, rings exchanged through
# host memory; again with a device share that keeps only some tiles' there, the others' state
# in host memory; and with a 1-byte host budget: in the scratch area) and 3 ranks (dynamic), on
# [t, z, y, x] and [t, y, x] data, bit-identical, and equal to a NumPy / SciPy emulation of
# clesperanto's growth (tests/py/voronoi_ref.py). On the real cancer_cell_migration crop (../shared/data, spot_sigma 5, outline_sigma 3; skipped without
# the data), tiles of 32 x 32 and 64 x 64 on 2 and 3 ranks equal the untiled run, and the label
# counts of all 48 frames, the foreground and (mean IoU >= 0.99) the labels equal clesperanto's
# voronoi_otsu_labeling. Checkpoints (LAPSE_PROFILE=1's counts): on 2 ranks with static
# scheduling every tile keeps one before each of the 3 global steps, the rounds of the later two
# and every task resume from them; an untiled run with a table (measure_labels) resumes every
# task from the checkpoint of its capture and equals the tiled run (labels and tables).
source "$(dirname "$0")/common.sh"
need_device
make_sample
"$LAPSE_PY" -c "import h5py, sys
with h5py.File(sys.argv[1], 'a') as f:
    f['/raw2d'] = f['/raw'][:, 5]" "$IN" || fail "cannot write /raw2d"

# config NAME IN DATASET TILES SCHED SPOT OUTLINE
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $2, dataset: $3}
tiles: {shape: $4, halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: $6, name: spots}
  - {op: detect_maxima_box, radius: 0, name: maxima}
  - {op: gaussian_blur, from: input, sigma: $7, name: outline}
  - {op: threshold_otsu, bins: clesperanto, name: mask, save: /mask}
  - {op: binary_and, from: maxima, with: mask, name: seedmask}
  - {op: connected_components_labeling, name: seeds, save: /seeds}
  - {op: masked_voronoi_labeling, from: seeds, with: mask}
output: {file: $T/$1.h5, dataset: /labels}
scheduling: $5
devices: any
YAML
}

# kept_state LOG: the tiles whose growth state stayed on the device, summed over the ranks'
# LAPSE_PROFILE lines ("operands kept on the device for K tiles (with the growth's state for S),
# P passes run from them").
kept_state() {
    sed -n "s/.*with the growth's state for \([0-9]*\)).*/\1/p" "$1" |
        awk '{s += $1} END {print s + 0}'
}

# resumed LOG: "K R T": checkpoints kept, round runs and tasks resumed from one, summed over the
# ranks' LAPSE_PROFILE lines.
resumed() {
    local k r t
    k=$(sed -n 's/.*checkpoints kept \([0-9]*\), round runs.*/\1/p' "$1" | awk '{s += $1} END {print s + 0}')
    r=$(sed -n 's/.*round runs resumed from one \([0-9]*\).*/\1/p' "$1" | awk '{s += $1} END {print s + 0}')
    t=$(sed -n 's/.*tasks resumed from a checkpoint: \([0-9]*\).*/\1/p' "$1" | awk '{s += $1} END {print s + 0}')
    echo "$k $r $t"
}

# check NAME IN DATASET WHOLE TILES2 TILES3 SPOT OUTLINE [DEVICE_LIMIT]
# DEVICE_LIMIT (bytes): one more 2-rank run with LAPSE_DEVICE_MEM_LIMIT, and the scratch-area
# run with it too, so that the growth's operands (and state) of only some tiles fit the device
# and the others' passes run the pipeline (and move their state through the host).
check() {
    local c=$1 in=$2 dset=$3 whole=$4 t2=$5 t3=$6 spot=$7 outline=$8 limit=${9:-}
    config "${c}_whole" "$in" "$dset" "$whole" static "$spot" "$outline"
    config "${c}_t2" "$in" "$dset" "$t2" static "$spot" "$outline"
    config "${c}_t3" "$in" "$dset" "$t3" dynamic "$spot" "$outline"
    note "$c: untiled on 1 rank, tiles $t2 on 2 ranks, $t3 on 3 ranks"
    lapse_run 1 "$T/${c}_whole.yaml"
    LAPSE_PROFILE=1 lapse_run 2 "$T/${c}_t2.yaml"
    grep -q "global steps: [0-9]* rounds*" "$T/last.log" || { cat "$T/last.log"; fail "$c: no rounds"; }
    grep -q "tile state between passes in host memory" "$T/last.log" ||
        { cat "$T/last.log"; fail "$c: the growth's tile state was not kept in memory"; }
    local all
    all=$(kept_state "$T/last.log")
    [ "$all" -gt 0 ] || { cat "$T/last.log"; fail "$c: no tile kept its growth state on the device"; }
    # Every tile keeps a checkpoint before each of the 3 global steps; the rounds of the 2 later
    # ones and every task (static scheduling: on the rank of its rounds) resume from them.
    local ntasks ck
    ntasks=$(sed -n 's/.*run 1: \([0-9]*\) tasks.*/\1/p' "$T/last.log")
    ck=$(resumed "$T/last.log")
    [ "$ck" = "$((3 * ntasks)) $((2 * ntasks)) $ntasks" ] ||
        { cat "$T/last.log"; fail "$c: checkpoints kept, rounds and tasks resumed: $ck of $ntasks tasks"; }
    local variants="t2 t2s t3"
    if [ -n "$limit" ]; then
        note "$c: the same with a device share of $limit bytes (LAPSE_DEVICE_MEM_LIMIT): the" \
            "operands and state of some tiles stay on the device, the others' go through the host"
        sed "s|${c}_t2.h5|${c}_t2d.h5|" "$T/${c}_t2.yaml" >"$T/${c}_t2d.yaml"
        LAPSE_PROFILE=1 LAPSE_DEVICE_MEM_LIMIT=$limit lapse_run 2 "$T/${c}_t2d.yaml"
        local some
        some=$(kept_state "$T/last.log")
        [ "$some" -gt 0 ] && [ "$some" -lt "$all" ] || {
            cat "$T/last.log"
            fail "$c: with a small device share, $some tiles (of $all) kept their state there"
        }
        note "$c: checkpoints kept, round runs and tasks resumed with it: $(resumed "$T/last.log")"
        variants="$variants t2d"
    fi
    note "$c: the same with a host budget too small for it (LAPSE_PHASE_CACHE=1): scratch area" \
        "${limit:+(and the small device share)}"
    sed "s|${c}_t2.h5|${c}_t2s.h5|" "$T/${c}_t2.yaml" >"$T/${c}_t2s.yaml"
    if [ -n "$limit" ]; then
        LAPSE_PHASE_CACHE=1 LAPSE_DEVICE_MEM_LIMIT=$limit lapse_run 2 "$T/${c}_t2s.yaml"
    else
        LAPSE_PHASE_CACHE=1 lapse_run 2 "$T/${c}_t2s.yaml"
    fi
    grep -q "tile state between passes in the output's scratch area" "$T/last.log" ||
        { cat "$T/last.log"; fail "$c: a host budget of 1 byte still kept the state in memory"; }
    grep -Eq "scratch area \(kept in host memory with the input cache it would exceed a rank's host budget by up to [0-9.]+ [KMG]iB: LAPSE_PHASE_CACHE.*, 2 on rank 0's\)" \
        "$T/last.log" || { cat "$T/last.log"; fail "$c: the scratch area's reason is missing"; }
    LAPSE_EXCHANGE_UNITS=40 lapse_run 3 "$T/${c}_t3.yaml" # (as in test_labels.sh)
    for r in $variants; do
        py h5same.py "$T/${c}_whole.h5" "$T/${c}_$r.h5" || fail "$c: $r differs from untiled"
    done
    run_ok "$T/ref.log" py voronoi_ref.py emulate "$T/${c}_whole.h5"
    cat "$T/ref.log"
}

# 12 MB: room for a task (2.1 MiB) and for the operands of some tiles (LAPSE_PROFILE=1 says)
check sample3d "$IN" /raw "[$NZ, $NY, $NX]" "[7, 32, 41]" "[24, 23, 17]" 2 1 12000000
check sample2d "$IN" /raw2d "[1, $NY, $NX]" "[1, 32, 41]" "[1, 13, 29]" 2 1

note "untiled with a table (voronoi_otsu_labeling -> measure_labels), 2 ranks, static: every" \
    "task resumes from the checkpoint its rank kept before measure_labels; equal to tiles"
for tl in whole t2; do
    {
        echo "input: {file: $IN, dataset: /raw}"
        [ $tl = whole ] || echo "tiles: {shape: [7, 32, 41]}"
        echo "pipeline:"
        echo "  - {op: voronoi_otsu_labeling, spot_sigma: 2, outline_sigma: 1, name: labels}"
        echo "  - {op: measure_labels, from: labels, with: input, name: nuclei}"
        echo "output: {file: $T/table_$tl.h5, dataset: /labels}"
        echo "scheduling: static"
        echo "devices: any"
    } >"$T/table_$tl.yaml"
    LAPSE_PROFILE=1 lapse_run 2 "$T/table_$tl.yaml"
    if [ $tl = whole ]; then
        ntasks=$(sed -n 's/.*run 1: \([0-9]*\) tasks.*/\1/p' "$T/last.log")
        ck=$(resumed "$T/last.log")
        [ "${ck#* * }" = "$ntasks" ] ||
            { cat "$T/last.log"; fail "table: tasks resumed from a checkpoint: ${ck#* * } of $ntasks"; }
    fi
done
py h5same.py "$T/table_whole.h5" "$T/table_t2.h5" /labels /nuclei /nuclei_summary ||
    fail "table: the tiled run differs from the untiled one"

DATA=${LAPSE_DATA:-}
for d in "$DATA" "$LAPSE_SRC/../shared/data" /work/shared/data; do
    [ -n "$d" ] && [ -f "$d/cancer_cell_migration_crop.tif" ] && DATA=$d && break
done
if [ -f "$DATA/cancer_cell_migration_crop.tif" ] && "$LAPSE_PY" -c 'import tifffile' 2>/dev/null; then
    py tif2h5.py "$DATA/cancer_cell_migration_crop.tif" "$T/cc.h5" TYX || fail "cannot convert"
    check cancer "$T/cc.h5" /raw "[1, 130, 130]" "[1, 32, 32]" "[1, 64, 64]" 5 3
    run_ok "$T/cle.log" py voronoi_ref.py clesperanto "$T/cancer_whole.h5" \
        "$DATA/cancer_cell_migration_voronoi_otsu_labeling_crop.tif"
    cat "$T/cle.log"
    note "cancer: voronoi_otsu_labeling (the composition) on tiles [1, 64, 64], 2 ranks"
    cat >"$T/vol.yaml" <<YAML
input: {file: $T/cc.h5, dataset: /raw}
tiles: {shape: [1, 64, 64]}
pipeline:
  - {op: voronoi_otsu_labeling, spot_sigma: 5, outline_sigma: 3}
output: {file: $T/vol.h5, dataset: /labels}
devices: any
YAML
    lapse_run 2 "$T/vol.yaml"
    py h5same.py "$T/cancer_whole.h5" "$T/vol.h5" /labels || fail "the composition differs"

    note "configs/count_nuclei.yaml on laptrack_nuclei_images.tif, 2 ranks (static scheduling)"
    py tif2h5.py "$DATA/laptrack_nuclei_images.tif" "$T/lap.h5" TYX || fail "cannot convert"
    sed -e "s|data/nuclei.h5|$T/lap.h5|" -e "s|out/count_nuclei.h5|$T/count.h5|" \
        "$LAPSE_SRC/configs/count_nuclei.yaml" >"$T/count.yaml"
    echo "scheduling: static" >>"$T/count.yaml"
    LAPSE_PROFILE=1 lapse_run 2 "$T/count.yaml"
    # untiled with a table: the pipelines run once before the tasks (for the table), and each
    # task resumes from the checkpoint its rank kept before the last global step (measure_labels)
    ntasks=$(sed -n 's/.*run 1: \([0-9]*\) tasks.*/\1/p' "$T/last.log")
    ck=$(resumed "$T/last.log")
    [ "${ck#* * }" = "$ntasks" ] ||
        { cat "$T/last.log"; fail "count_nuclei: tasks resumed from a checkpoint: ${ck#* * } of $ntasks"; }
    "$LAPSE" info "$T/count.h5" >"$T/info.log" 2>&1 || fail "lapse info failed"
    sed -n '/labels per timepoint/,/^runs/p' "$T/info.log"
    "$LAPSE_PY" - "$T/count.h5" "$DATA/laptrack_nuclei_labels.tif" <<'PY' || fail "count_nuclei: the counts do not add up"
import sys, h5py, numpy as np, tifffile
f = h5py.File(sys.argv[1], "r")
lab, summ, tab = f["/labels"][...], f["/nuclei_summary"][...], f["/nuclei"][...]
ref = tifffile.imread(sys.argv[2])
for t in range(lab.shape[0]):
    n = len(np.unique(lab[t])) - 1
    s = summ[summ["timepoint"] == t]
    assert len(s) == 1 and s["label_count"][0] == n == (tab["timepoint"] == t).sum(), (t, n, s)
    assert n > 0
    print("t=%d: %d nuclei (hand-checked labels: %d)" % (t, n, len(np.unique(ref[t])) - 1))
PY
else
    note "no real data: the clesperanto comparison is skipped"
fi
echo "PASS ($TEST_NAME)"
