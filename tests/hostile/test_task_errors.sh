#!/usr/bin/env bash
# test_task_errors.sh - issue 8 items 5 and 6: a corrupt input chunk (gzip, bytes garbled) is
# reported by the rank that read it, naming the task (timepoint, tile), the input and the failing
# call, as a read failure (never "writing ... free disk space"); the failing task is recorded as
# failed in /lapse/tasks and by `lapse info` (the run "failed"); earlier results stay
# byte-identical. With on_error: skip the run finishes the other tasks and exits 3; a rerun
# retries only the failed tasks; a transient failure (LAPSE_FAULT=fail:read@1) is repaired by
# a rerun, whose result equals a clean run's.
source "$(dirname "$0")/common.sh"
cd "$T" || fail "cd $T"
"$LAPSE_PY" - bad.h5 <<'PY' || fail "cannot make the corrupt input"
import sys, h5py, numpy as np
a = np.random.default_rng(7).integers(0, 4000, size=(4, 24, 70, 90), dtype=np.uint16)
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("/raw", data=a, chunks=(1, 8, 35, 45), compression="gzip")
with h5py.File(sys.argv[1], "r") as f:
    c = f["/raw"].id.get_chunk_info_by_coord((2, 8, 35, 45))  # timepoint 2 only
with open(sys.argv[1], "r+b") as fh:
    fh.seek(c.byte_offset + c.size // 3)
    fh.write(b"\xde\xad\xbe\xef" * 16)
PY
hcfg c.yaml bad.h5 out.h5
printf 'on_error: skip\n' | cat c.yaml - >s.yaml
# data SHA FILE TPS: sha256 of the bytes of /result at timepoints TPS (python slice, e.g. 0:2)
data() { "$LAPSE_PY" -c 'import h5py,hashlib,sys; f=h5py.File(sys.argv[1],"r"); \
print(hashlib.sha256(f["/result"][eval("np_s[" + sys.argv[2] + "]", {"np_s": __import__("numpy").s_})].tobytes()).hexdigest())' "$1" "$2"; }

note "1. on_error: stop (default): exit 1, the task, the input and H5Dread named; a read failure"
run_ok first.log mpirun_lapse 2 run c.yaml --timepoints 0-1
D=$(data out.h5 0:2)
expect_rc 1 stop.log mpirun_lapse 2 run c.yaml
grep -Eq "lapse: rank [01], task [0-9]+ \(t=2, tile [0-9]+\): reading the input bad.h5:/raw failed at timepoint 2, box .*H5Dread.*inflate\(\) failed" stop.log ||
    { cat stop.log >&2; fail "1: the message does not name rank, task, input and call"; }
! grep -Eq "writing .* failed|free disk space|file system is full" stop.log ||
    { cat stop.log >&2; fail "1: a read failure blamed on writing"; }
[ "$(data out.h5 0:2)" = "$D" ] || fail "1: the results of timepoints 0-1 changed"
"$LAPSE" info out.h5 >i1.log 2>&1 || { cat i1.log >&2; fail "1: lapse info failed"; }
grep -q "run 2: failed" i1.log || { cat i1.log >&2; fail "1: run 2 not recorded as failed"; }
grep -Eq "^  2: .*[0-9]+ failed" i1.log || { cat i1.log >&2; fail "1: no failed task of t=2 in info"; }
"$LAPSE_PY" -c 'import h5py,sys; r=h5py.File(sys.argv[1],"r")["/lapse/tasks"][()]; \
f=r[(r["run_id"]==2)&(r["status"]==1)]; assert len(f)>=1 and set(f["timepoint"])=={2}, f' out.h5 ||
    fail "1: /lapse/tasks holds no failed row of t=2"

note "2. on_error: skip: the rest finishes, exit 3, every t=2 task recorded failed"
D=$(data out.h5 0:2)
expect_rc 3 skip.log mpirun_lapse 2 run s.yaml
grep -q "task skipped (on_error: skip)" skip.log || { cat skip.log >&2; fail "2: no skip notice"; }
grep -Eq "finished with 12 failed task\(s\) skipped .*run the same command again to retry only the failed tasks \(exit code 3\)" skip.log ||
    { cat skip.log >&2; fail "2: no summary of the skipped tasks"; }
[ "$(data out.h5 0:2)" = "$D" ] || fail "2: the results of timepoints 0-1 changed"
"$LAPSE" info out.h5 >i2.log 2>&1 || { cat i2.log >&2; fail "2: lapse info failed"; }
grep -q "run 3: failed" i2.log && grep -Eq "^  2: 12 failed" i2.log && grep -Eq "^  3: 12 done" i2.log ||
    { cat i2.log >&2; fail "2: info does not show t=3 done and t=2 failed"; }
D3=$(data out.h5 3:4)

note "3. a rerun retries only the failed tasks (still corrupt: exit 3 again, t=3 untouched)"
expect_rc 3 rerun.log mpirun_lapse 2 run s.yaml
grep -q "continuing out.h5: 36 of 48 selected tasks are done, 12 to run" rerun.log ||
    { cat rerun.log >&2; fail "3: the rerun did not retry only the 12 failed tasks"; }
[ "$(data out.h5 0:2)" = "$D" ] && [ "$(data out.h5 3:4)" = "$D3" ] || fail "3: done results changed"

note "4. on_error is checked: file:line:column, exit 2"
printf 'on_error: maybe\n' | cat c.yaml - >b.yaml
refused b4.log "b.yaml:7:[0-9]+: on_error: .*(stop|skip)" "$LAPSE" run b.yaml --dry-run

note "5. a transient read failure on rank 1 (LAPSE_FAULT=fail:read@1), then a clean rerun"
make_sample
hcfg g.yaml "$IN" good.h5
printf 'on_error: skip\n' | cat g.yaml - >gs.yaml
hcfg r.yaml "$IN" ref.h5
run_ok ref.log mpirun_lapse 2 run r.yaml
export LAPSE_FAULT=fail:read@1
expect_rc 3 t5.log mpirun_lapse 2 run gs.yaml
unset LAPSE_FAULT
grep -Eq "lapse: rank 1, task [0-9]+ \(t=[0-9], tile [0-9]+\): reading the input .* failed at timepoint .*injected fault read" t5.log ||
    { cat t5.log >&2; fail "5: no read failure named on rank 1"; }
run_ok t5b.log mpirun_lapse 2 run gs.yaml
grep -q "continuing" t5b.log || { cat t5b.log >&2; fail "5: the rerun did not continue"; }
[ "$(data good.h5 0:4)" = "$(data ref.h5 0:4)" ] || fail "5: the repaired result differs from a clean run"
note "6. the damaged chunk where the input's identity check reads (the middle timepoint's first"
note "   box): on_error: skip still runs every other task (exit 3); stop names the task (exit 1)"
"$LAPSE_PY" - bad.h5 bad0.h5 <<'PY' || fail "cannot make the second corrupt input"
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r") as f:
    c = f["/raw"].id.get_chunk_info_by_coord((2, 0, 0, 0))
with open(sys.argv[2], "r+b") as fh:
    fh.seek(c.byte_offset + c.size // 3)
    fh.write(b"\xde\xad\xbe\xef" * 16)
PY
hcfg c6.yaml bad0.h5 out6.h5
printf 'on_error: skip\n' | cat c6.yaml - >s6.yaml
expect_rc 3 s6.log mpirun_lapse 2 run s6.yaml
grep -Eq "finished with [0-9]+ failed task\(s\) skipped" s6.log ||
    { cat s6.log >&2; fail "6: no summary of the skipped tasks"; }
"$LAPSE" info out6.h5 >i6.log 2>&1 || { cat i6.log >&2; fail "6: lapse info failed"; }
grep -Eq "^  0-1: 12 done" i6.log && grep -Eq "^  2: .*[0-9]+ failed" i6.log && grep -Eq "^  3: 12 done" i6.log ||
    { cat i6.log >&2; fail "6: info does not show t=0 done and failed tasks of t=2"; }
rm -f out6.h5
expect_rc 1 t6.log mpirun_lapse 2 run c6.yaml
grep -Eq "lapse: rank [01], task [0-9]+ \(t=2, tile [0-9]+\): reading the input bad0.h5:/raw failed at timepoint 2" t6.log ||
    { cat t6.log >&2; fail "6: on_error: stop does not name the failing task"; }
echo "PASS $TEST_NAME"
