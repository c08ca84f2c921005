#!/usr/bin/env bash
# test_create_lock.sh - issue 8 item 2, the instant of creation. A new output (also the new file
# of an overwrite) is made as out.h5.creating and renamed into place; its identity lock must be
# held from the moment the staging file exists and follow it through the rename, with no instant
# in which another run can take the file. Run A is held just before its rename
# (LAPSE_FAULT=rename~S) while a hard link to its staging file is made and run B continues the
# file through that link: B must be refused (exit 2, "another lapse run is writing", A's pid). A
# must finish cleanly (exit 0, no warning, no refusal of its own lock) with the reference result;
# a file that B could have written (the old output of the overwrite, through a hard link) stays
# byte-identical; afterwards a run through the link finds nothing to do.
source "$(dirname "$0")/common.sh"
make_sample
cd "$T" || fail "cd $T"
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
HOLD=8 # seconds A waits before its rename
hcfg ref.yaml "$IN" ref.h5
hcfg a.yaml "$IN" out.h5
hcfg ow.yaml "$IN" out.h5 overwrite
hcfg b.yaml "$IN" link.h5
hcfg b2.yaml "$IN" link2.h5
hcfg c.yaml "$IN" old.h5
run_ok ref.log "$LAPSE" run ref.yaml

# start_held LOG CMD...: run CMD in the background held before its rename; PID_A is its pid.
# Returns once out.h5.creating exists (A made its staging file and is creating or holding).
start_held() {
    local log=$1
    shift
    LAPSE_FAULT="rename~$HOLD" OMPI_MCA_orte_tmpdir_base=$BG_SESSION "$@" >"$log" 2>&1 &
    PID_A=$!
    for ((i = 0; i < 300; i++)); do
        [ -e out.h5.creating ] && return 0
        kill -0 $PID_A 2>/dev/null || break
        sleep 0.05
    done
    cat "$log" >&2
    fail "run A made no out.h5.creating"
}

# a_ok LOG: A exited 0 without a warning or a refusal, and out.h5 equals the reference.
a_ok() {
    wait $PID_A || {
        cat "$1" >&2
        fail "run A failed"
    }
    if grep -Eq "warning|another lapse run" "$1"; then
        cat "$1" >&2
        fail "run A warned or met a lock"
    fi
    "$LAPSE_PY" - <<'PY' || fail "out.h5 differs from ref.h5"
import h5py, numpy as np
with h5py.File("out.h5", "r") as o, h5py.File("ref.h5", "r") as r:
    assert np.array_equal(o["/result"][()], r["/result"][()])
    assert len(o["/lapse/runs"]) == 1, list(o["/lapse/runs"])
PY
}

note "1. create: B continues a hard link to A's staging file before A renames it"
start_held a.log "$LAPSE" run a.yaml
ln out.h5.creating link.h5
refused b.log "another lapse run is writing .*link\.h5 .*pid $PID_A" "$LAPSE" run b.yaml
[ ! -e out.h5 ] || skip "A renamed before B was refused (machine too slow for HOLD=$HOLD s)"
a_ok a.log
[ ! -e out.h5.lock ] && [ ! -e link.h5.lock ] && [ ! -e out.h5.creating ] ||
    fail "1: a lock marker or the staging file was left"
[ out.h5 -ef link.h5 ] || fail "1: link.h5 is not out.h5"
run_ok d.log "$LAPSE" run b.yaml
grep -q "nothing to do" d.log || fail "1: expected nothing to do through the link"

note "2. overwrite on 2 ranks: the old file and the new staging file are both A's"
rm -f link.h5
ln out.h5 old.h5 # the file being replaced, under another name
OLD=$(sha old.h5)
start_held ow.log mpirun_lapse 2 run ow.yaml
ln out.h5.creating link2.h5
refused b2.log "another lapse run is writing .*link2\.h5 .*pid [0-9]+" "$LAPSE" run b2.yaml
refused c.log "another lapse run is writing .*old\.h5 .*pid [0-9]+" "$LAPSE" run c.yaml
[ -e out.h5.creating ] || skip "A renamed before B and C were refused (HOLD=$HOLD s too short)"
a_ok ow.log
same_sha old.h5 "$OLD" "2 (the replaced output)"
[ out.h5 -ef link2.h5 ] || fail "2: link2.h5 is not the new out.h5"
[ ! -e out.h5.lock ] && [ ! -e link2.h5.lock ] && [ ! -e old.h5.lock ] ||
    fail "2: a lock marker was left"
echo "PASS $TEST_NAME"
