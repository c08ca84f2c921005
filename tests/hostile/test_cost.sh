#!/usr/bin/env bash
# test_cost.sh - issue 8 item 9: the cost of a minimum / maximum box filter does not grow with
# its radius. top_hat_box radius 1000 on 8x32x32 tasks took ~0.5 s of compute per task on PoCL
# with the direct passes; with the van Herk / Gil-Werman passes the whole run's compute must
# stay under 1 s, and since every window then covers the whole image, its output equals that
# of radius 100 (byte for byte).
source "$(dirname "$0")/common.sh"
make_sample
cd "$T" || fail "cd $T"
# cfg FILE RADIUS OUTPUT
cfg() {
    cat >"$1" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [8, 32, 32]}
pipeline:
  - {op: top_hat_box, radius: $2}
output: {file: $3}
devices: any
YAML
}
note "1. top_hat_box radius 1000: compute time"
cfg c1.yaml 1000 r1000.h5
run_ok l1.log "$LAPSE" run c1.yaml
"$LAPSE" info r1000.h5 >i1.log || fail "lapse info failed"
compute=$(awk '$1 == "all" { print $7; exit }' i1.log)
[ -n "$compute" ] || { cat i1.log >&2; fail "no compute column in lapse info"; }
awk -v c="$compute" 'BEGIN { exit !(c < 1.0) }' || fail "compute took $compute s (> 1 s)"
echo "compute $compute s"

note "2. the same bits as radius 100"
cfg c2.yaml 100 r100.h5
run_ok l2.log "$LAPSE" run c2.yaml
"$LAPSE_PY" - r1000.h5 r100.h5 <<'PY' || fail "radius 1000 and radius 100 differ"
import sys, h5py, numpy as np
a, b = (h5py.File(f, "r")["/result"][()] for f in sys.argv[1:3])
sys.exit(0 if a.dtype == b.dtype and np.array_equal(a, b) else 1)
PY
echo "PASS $TEST_NAME"
