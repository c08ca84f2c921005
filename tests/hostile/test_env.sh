#!/usr/bin/env bash
# test_env.sh - issue 8 item 7: a malformed LAPSE_* environment variable is a usage error (exit 2
# naming the variable), never silently ignored, and nothing is written (an earlier output stays
# byte-identical); `lapse run --timepoints=SEL` is the same as `--timepoints SEL`.
source "$(dirname "$0")/common.sh"
make_sample
cd "$T" || fail "cd $T"
hcfg c0.yaml "$IN" out.h5
run_ok l0.log "$LAPSE" run c0.yaml
hcfg c.yaml "$IN" out.h5 update
SUM=$(sha out.h5)

n=0
# bad VAR VALUE: the run is refused naming VAR, out.h5 unchanged
bad() {
    n=$((n + 1))
    note "$n. $1=$2"
    refused "e$n.log" "^lapse: (rank [0-9]+: )?$1=.*: expected" env "$1=$2" "$LAPSE" run c.yaml
    same_sha out.h5 "$SUM" "$1=$2"
}
bad LAPSE_DEVICE abc
bad LAPSE_DEVICE -1
bad LAPSE_DEVICE 999
bad LAPSE_PROGRESS_INTERVAL soon
bad LAPSE_PROGRESS_INTERVAL 0
bad LAPSE_PROGRESS_INTERVAL inf
bad LAPSE_DEVICE_MEM_LIMIT 1GB
bad LAPSE_DEVICE_MEM_LIMIT 0
bad LAPSE_KERNELS fast
bad LAPSE_SYNC_MARKS yes

note "$((n + 1)). well-formed values and empty ones are accepted"
LAPSE_KERNELS=simple LAPSE_SYNC_MARKS=1 LAPSE_PROGRESS_INTERVAL=0.5 LAPSE_DEVICE= \
    run_ok l1.log "$LAPSE" run c.yaml --timepoints 0

note "$((n + 2)). --timepoints=SEL works like --timepoints SEL"
hcfg d.yaml "$IN" eq.h5
run_ok l2.log "$LAPSE" run d.yaml --timepoints=1-2
grep -q "2 tasks\|(2 timepoints" l2.log || { cat l2.log >&2; fail "--timepoints=1-2 did not select 2 timepoints"; }
refused l3.log "timepoints" "$LAPSE" run d.yaml --timepoints=
echo "PASS $TEST_NAME"
