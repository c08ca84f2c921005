#!/usr/bin/env bash
# gpu_segment.sh - issues 9 and 11 on the lent GPU machine in one device call (docs/benchmarks.md),
# from the repository root with the staged libraries (.gpu/, docs/gpu.md), Release binaries in
# $BIN (default gpu-bin: lapse, bench_kernels, bench_segment and the unit tests that need a
# device: test_ccl, test_measure, test_registry, test_variants, test_custom, test_clrt,
# test_filters, test_geometry, test_ops, test_pipeline, test_relabel, test_seeds), the peers' scripts in $PEER (default .peer: a copy of
# ../shared/bench) and pyclesperanto's wheels in .whl. Steps, logged under $OUT:
#   1. the device-vs-reference unit tests on the GPU (labelling races, measurement atomics,
#      tiled == simple kernels, the user's kernels and their build logs; a missing one is
#      reported as missing);
#   2. a nuclei sample of 2 timepoints of 128x1024x1024 (`lapse sample`);
#   3. bench_segment (Otsu, labels, measurements on one timepoint held whole);
#   4. the peers on the same volume and the 1 GiB volume (peer_ops.py: CuPy, clesperanto
#      OpenCL and CUDA; then bench/peer_ops_more.py, unless PEERS_MORE=0), unless PEERS=0;
#   5. bench_kernels for every operation (tiled variant) on the 1 GiB volume;
#   6. the segmentation pipeline end to end: untiled on 1 rank, 8 tiles on 2 ranks (one GPU
#      each when there are two), bit-identical outputs, and the run times;
#   7. voronoi_otsu_labeling + measure_labels over 20 timepoints of 128x1024x1024 on 1 and 2
#      ranks (E2E20=0 skips it);
#   8. issue 11's table from steps 3-5 (bench/peer_table.py), when they ran.
# UNIT=0, SEG=0, KERNELS=0, E2E=0 skip steps 1, 3, 5 and 6; bench_segment runs a second time
# with LAPSE_PROFILE=1 (each step's device time, the growth's iteration count).
set -uo pipefail
BIN=${BIN:-gpu-bin}
PEER=${PEER:-.peer}
LOG=${OUT:-bench-out}
W=${WORK:-/tmp/lapse-seg}
mkdir -p "$LOG" "$W"
source .gpu/env.sh
# Libraries the GPU machine lacks (libtiff and its codecs, Check's libsubunit), copied into
# $BIN/lib from the development machine.
export LD_LIBRARY_PATH=$PWD/$BIN/lib:$LD_LIBRARY_PATH
# step: a heading; the logs so far are packed at every step, so that a call cut short by its
# time limit still brings them back ($OUT/logs.tgz).
step() {
    tar -czf "$LOG/logs.tgz" -C "$LOG" --exclude logs.tgz --exclude '*.h5' . 2>/dev/null
    echo "=== $* ($(date -u +%T))"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$LOG/gpu.txt" 2>&1
cat "$LOG/gpu.txt"
step unit tests on the GPU
# the machine's /usr/bin/python3 has no NumPy: the SciPy comparisons use the python3 on PATH
PY=$(command -v python3)
[ "${UNIT:-1}" = 1 ] && for t in test_ccl test_measure test_registry test_variants test_custom \
    test_clrt test_filters test_geometry test_ops test_pipeline test_relabel test_seeds; do
    [ -x "$BIN/$t" ] || { echo "$t missing from $BIN"; continue; }
    (cd "$W" && CK_FORK=no LAPSE_SRC=$OLDPWD LAPSE_PY=$PY "$OLDPWD/$BIN/$t") >"$LOG/$t.txt" 2>&1
    echo "$t rc=$? $(tail -1 "$LOG/$t.txt")"
done
step sample
[ -f "$W/nuc.h5" ] || "$BIN/lapse" sample "$W/nuc.h5" --timepoints 2 --shape 128,1024,1024 --seed 1 \
    >"$LOG/sample.txt" 2>&1
if [ "${SEG:-1}" = 1 ]; then
    step bench_segment
    "$BIN/bench_segment" "$W/nuc.h5" --device-kind gpu --reps 9 2>&1 | tee "$LOG/segment.txt"
    LAPSE_PROFILE=1 "$BIN/bench_segment" "$W/nuc.h5" --device-kind gpu --reps 5 \
        >"$LOG/segment-profile.txt" 2>&1
    grep -E "vol_real step|iterations" "$LOG/segment-profile.txt" | sort | uniq -c | head -20
fi
if [ "${PEERS:-1}" = 1 ]; then
    step peers
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl >/dev/null 2>&1
    export PYTHONPATH=/tmp/site
    REAL=$W/nuc.h5 OPS=${PEER_OPS:-gaussian_s2,mean_r1,min_r1,max_r1,median_r1,tophat_r5,tophat_r133,zmax,add_scalar,weighted,flip_x,threshold,binary_erode,rotate_z30,sobel,sobel_x,laplace,otsu_real,otsu_hist256,label_real,vol_real} \
        timeout 420 python3 "$PEER/peer_ops.py" ${PEER_LIBS:-cupy opencl cuda} \
        >"$LOG/peers.txt" 2>&1
    echo "peers rc=$?"
    if [ "${PEERS_MORE:-1}" = 1 ]; then # the other shared operations (bench/peer_ops_more.py)
        timeout 400 python3 bench/peer_ops_more.py ${PEER_LIBS:-cupy opencl cuda} \
            >"$LOG/peers_more.txt" 2>&1
        echo "peers_more rc=$? $(grep -c ' ERR ' "$LOG/peers_more.txt") ERR lines"
    fi
fi
if [ -f "$PEER/cle_cancer.py" ] && [ "${CANCER:-0}" = 1 ]; then
    step "clesperanto intermediates on the cancer crop"
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl >/dev/null 2>&1
    PYTHONPATH=/tmp/site timeout 120 python3 "$PEER/cle_cancer.py" >"$LOG/cle_cancer.txt" 2>&1
    echo "cle_cancer rc=$? $(tail -1 "$LOG/cle_cancer.txt")"
fi
if [ "${KERNELS:-1}" = 1 ]; then
    step bench_kernels
    timeout 300 "$BIN/bench_kernels" --shape 256,1024,1024 --device-kind gpu --variant tiled \
        --no-check >"$LOG/kernels.txt" 2>&1
    echo "bench_kernels rc=$?"
fi
[ "${E2E:-1}" = 1 ] && step e2e segmentation && for spec in "1 dynamic [128, 1024, 1024]" \
    "2 dynamic [64, 512, 512]" "2s static [64, 512, 512]"; do
    n=${spec%% *}
    rest=${spec#* }
    sched=${rest%% *}
    tiles=${rest#* }
    cat >"$W/seg-$n.yaml" <<YAML
input: {file: $W/nuc.h5, dataset: /raw}
tiles: {shape: $tiles}
pipeline:
  - {op: gaussian_blur, sigma: 2, name: b}
  - {op: threshold_otsu, name: m}
  - {op: connected_components_labeling, name: l}
  - {op: measure_labels, from: l, with: input, name: nuclei}
output: {file: $W/seg-$n.h5, dataset: /labels, mode: overwrite}
scheduling: $sched
devices: gpu
YAML
    for rep in $(seq "${E2E_REPS:-1}"); do
        LAPSE_PROFILE=${E2E_PROFILE:-0} mpirun -n "${n%s}" --bind-to none -x LAPSE_PROFILE \
            "$BIN/lapse" run "$W/seg-$n.yaml" >"$LOG/seg-$n.txt" 2>&1
        echo "seg $n ($sched, run $rep) rc=$? $(grep -E 'global steps|done:' "$LOG/seg-$n.txt" |
            sed 's/.*global steps: \([0-9]* rounds*\).* in \([0-9.]* s\).*/\1 in \2;/; s/.*done: \(.*\) in \([0-9.]* s\).*/\1 in \2/' | tr '\n' ' ')"
    done
done
[ "${E2E:-1}" = 1 ] && python3 - "$W/seg-1.h5" "$W/seg-2.h5" "$W/seg-2s.h5" <<'PY' 2>&1 | tee "$LOG/seg-same.txt"
import sys, h5py, numpy as np
a = h5py.File(sys.argv[1])
for other in sys.argv[2:]:
    b = h5py.File(other)
    for k in ("/labels", "/nuclei", "/nuclei_summary"):
        print(other, k, "identical" if a[k][()].tobytes() == b[k][()].tobytes() else "DIFFERENT", a[k].shape)
print("labels per timepoint", list(a["/nuclei_summary"]["label_count"]))
PY
if [ "${E2E20:-1}" = 1 ]; then
    step "e2e count_nuclei workflow, 20 timepoints"
    [ -f "$W/nuc20.h5" ] || "$BIN/lapse" sample "$W/nuc20.h5" --timepoints 20 \
        --shape 128,1024,1024 --seed 2 >"$LOG/sample20.txt" 2>&1
    for n in 1 2; do
        cat >"$W/count-$n.yaml" <<YAML
input: {file: $W/nuc20.h5, dataset: /raw}
pipeline:
  - {op: voronoi_otsu_labeling, spot_sigma: 2, outline_sigma: 2, name: labels}
  - {op: measure_labels, from: labels, with: input, name: nuclei}
output: {file: $W/count-$n.h5, dataset: /labels, mode: overwrite}
devices: gpu
YAML
        t0=$(date +%s.%N)
        mpirun -n "$n" --bind-to none "$BIN/lapse" run "$W/count-$n.yaml" >"$LOG/count-$n.txt" 2>&1
        echo "count $n ranks rc=$? wall $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}') s: $(grep -E 'global steps|done:' "$LOG/count-$n.txt" | tr '\n' ' ')"
        "$BIN/lapse" info "$W/count-$n.h5" >"$LOG/count-info-$n.txt" 2>&1
    done
fi
if [ -s "$LOG/kernels.txt" ] && [ -s "$LOG/segment.txt" ] && [ -s "$LOG/peers.txt" ]; then
    step "issue 11 table"
    python3 bench/peer_table.py "$LOG/kernels.txt" "$LOG/segment.txt" "$LOG/peers.txt" \
        $( [ -s "$LOG/peers_more.txt" ] && echo "$LOG/peers_more.txt") | tee "$LOG/table.md"
fi
step finished
# One archive of every log, so that all of them come back from a device call.
tar -czf "$LOG/logs.tgz" -C "$LOG" --exclude logs.tgz --exclude '*.h5' . 2>/dev/null
