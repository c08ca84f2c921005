#!/usr/bin/env bash
# test_input_change.sh - issue 8 item 4: the input's identity (size, mtime, a checksum of a few
# boxes) is recorded with the output. Continuing onto a changed input is refused (exit 2, says
# what changed, suggests update/overwrite; the output byte-identical); update then works; an
# output made before identities were recorded is still continued; an input whose sample boxes
# cannot be read now is not said to have changed (run again); a change during a run is
# reported at its end and marked in the run record.
source "$(dirname "$0")/common.sh"
make_sample
cd "$T" || fail "cd $T"
hcfg c.yaml "$IN" out.h5
hcfg u.yaml "$IN" out.h5 update
run_ok first.log "$LAPSE" run c.yaml --timepoints 0
"$LAPSE_PY" -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r"); a=f.attrs["input_identity"]; \
assert b"sum=" in a, a; assert f["/lapse/runs/1"].attrs["input_changed"] == 0' out.h5 ||
    fail "no input identity recorded"

note "1. the content changed in place (last timepoint)"
"$LAPSE_PY" -c 'import h5py,os,sys; f=h5py.File(sys.argv[1],"r+"); f["/raw"][3,0,0,0]+=1; f.close()' "$IN"
O=$(sha out.h5)
refused l1.log "input .* changed \(.*content.*\).*output.mode: update.*overwrite" "$LAPSE" run c.yaml
same_sha out.h5 "$O" "1"

note "2. only the modification time changed (touch)"
"$LAPSE_PY" -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); f["/raw"][3,0,0,0]-=1; f.close()' "$IN"
run_ok u2.log "$LAPSE" run u.yaml --timepoints 0
touch -d '2001-01-01' "$IN"
O=$(sha out.h5)
refused l2.log "changed \(modification time\)" "$LAPSE" run c.yaml
same_sha out.h5 "$O" "2"

note "3. output.mode: update recomputes from the new input, then a plain run continues"
run_ok u3.log "$LAPSE" run u.yaml --timepoints 0
run_ok l3.log "$LAPSE" run c.yaml
grep -q "continuing" l3.log || fail "3: expected a continuation"

note "4. an output made before input identities (no attribute) is still continued"
hcfg o.yaml "$IN" old.h5
run_ok o5.log "$LAPSE" run o.yaml --timepoints 0
"$LAPSE_PY" -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); del f.attrs["input_identity"]' old.h5
run_ok l4.log "$LAPSE" run o.yaml
grep -q "continuing" l4.log || fail "4: expected a continuation"

note "4b. the input's sample boxes cannot be read now (a read error): not said to have changed"
# out.h5 holds timepoint 0 of the input as it is (case 3); every read fails now, as on a file
# system in trouble: the refusal says that a change cannot be told and to run again (before
# 2026-12-05: "the input changed ... no timepoint's sample differs", advising update/overwrite)
O=$(sha out.h5)
LAPSE_FAULT=fail:read refused l4b.log \
    "may have changed .* cannot be read now \(timepoint 0: .*injected fault read.*run the same command again" \
    "$LAPSE" run c.yaml
same_sha out.h5 "$O" "4b"
run_ok l4c.log "$LAPSE" run c.yaml # readable again: complete (case 3 finished it)
grep -q "nothing to do" l4c.log || { cat l4c.log; fail "4b: the output is not taken as complete once the input reads again"; }

note "5. the input changes during a run: a loud warning, run marked input_changed"
run_ok sample.log "$LAPSE" sample big.h5 --timepoints 12 --shape 32,256,256 --seed 3
hcfg b.yaml big.h5 bout.h5
OMPI_MCA_orte_tmpdir_base=$BG_SESSION "$LAPSE" run b.yaml >b.log 2>&1 &
PID=$!
for ((i = 0; i < 300; i++)); do
    grep -q "lapse: run" b.log 2>/dev/null && break
    sleep 0.1
done
kill -0 $PID 2>/dev/null || skip "the run ended before the input could be changed"
HDF5_USE_FILE_LOCKING=FALSE "$LAPSE_PY" -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); \
f["/raw"][0,0,0,0]+=1; f.close()' big.h5
wait $PID || { cat b.log >&2; fail "5: the run failed"; }
grep -q "WARNING: the input .*big.h5 CHANGED DURING THIS RUN" b.log || { cat b.log >&2; fail "5: no warning"; }
"$LAPSE_PY" -c 'import h5py,sys; r=h5py.File(sys.argv[1],"r")["/lapse/runs/1"].attrs; \
assert r["input_changed"] == 1 and r["input_identity"] != r["input_identity_end"]' bout.h5 ||
    fail "5: the run record is not marked"
echo "PASS $TEST_NAME"
