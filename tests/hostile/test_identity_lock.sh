#!/usr/bin/env bash
# test_identity_lock.sh - issue 8 item 2: the lock is on the output file's identity. While run A
# continues out.h5 (slowed to about 15 s), run B on the same file through a hard link and run C
# through a symbolic link are refused (exit 2, "another lapse run is writing", A's pid); A then finishes
# and its output equals an uninterrupted reference.
source "$(dirname "$0")/common.sh"
cd "$T" || fail "cd $T"
run_ok sample.log "$LAPSE" sample big.h5 --timepoints 12 --shape 32,256,256 --seed 3
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
hcfg ref.yaml big.h5 ref.h5
hcfg a.yaml big.h5 out.h5
hcfg b.yaml big.h5 hard.h5
hcfg c.yaml big.h5 soft.h5
run_ok ref.log "$LAPSE" run ref.yaml
run_ok first.log "$LAPSE" run a.yaml --timepoints 0
ln out.h5 hard.h5
ln -s out.h5 soft.h5

note "1. B (hard link) and C (symbolic link) while A continues out.h5"
# A sleeps 20 ms per task (a LAPSE_FAULT delay: no effect on its data; ~700 tasks), so it still
# holds its lock when B and C run, however loaded the machine is.
LAPSE_FAULT="compute~0.02" OMPI_MCA_orte_tmpdir_base=$BG_SESSION "$LAPSE" run a.yaml >a.log 2>&1 &
PID_A=$!
for ((i = 0; i < 300; i++)); do
    grep -q "lapse: run" a.log 2>/dev/null && break
    kill -0 $PID_A 2>/dev/null || break
    sleep 0.1
done
kill -0 $PID_A 2>/dev/null || skip "run A ended before B could start (machine too fast)"
refused b.log "another lapse run is writing .*(pid $PID_A)" "$LAPSE" run b.yaml
refused c.log "another lapse run is writing soft.h5 .*pid $PID_A" "$LAPSE" run c.yaml
wait $PID_A || { cat a.log >&2; fail "run A failed"; }
[ ! -e hard.h5.lock ] && [ ! -e out.h5.lock ] || fail "a lock marker was left"

note "2. A's output equals the reference; B and C left no run record"
"$LAPSE_PY" - <<'PY' || fail "out.h5 differs from ref.h5 or holds runs of B/C"
import h5py, numpy as np
with h5py.File("out.h5", "r") as o, h5py.File("ref.h5", "r") as r:
    assert np.array_equal(o["/result"][()], r["/result"][()])
    assert len(o["/lapse/runs"]) == 2, list(o["/lapse/runs"])
PY

note "3. afterwards a run through the hard link finds nothing to do"
run_ok d.log "$LAPSE" run b.yaml
grep -q "nothing to do" d.log || fail "3: expected nothing to do"
echo "PASS $TEST_NAME"
