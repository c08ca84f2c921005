#!/usr/bin/env bash
# test_agree_hang.sh - issue 8 item 12: a failure on one rank alone early in opening the output
# (before the file is created or opened: LAPSE_FAULT=fail:h5out-open@1) and in a step of
# starting the run (LAPSE_FAULT=fail:start-run@1) is agreed by all ranks before the next
# collective call: the run exits 1 promptly (it used to leave the ranks in different collectives,
# hanging), the failing rank names the cause, the output is byte-identical (open) or keeps its
# done marks and is continued by the next run (start).
source "$(dirname "$0")/common.sh"
make_sample
cd "$T" || fail "cd $T"
hcfg c.yaml "$IN" out.h5
# hang_free WANT LOG FAULT: lapse run c.yaml on 2 ranks with LAPSE_FAULT=FAULT, under a 120 s
# timeout (124 = it hung); fail unless it exits WANT.
hang_free() {
    local want=$1 log=$2 rc=0
    timeout -k 5 120 "$MPIEXEC" -n 2 --oversubscribe --bind-to none -x POCL_MAX_PTHREAD_COUNT \
        -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM -x LAPSE_FAULT="$3" \
        "$LAPSE" run c.yaml >"$log" 2>&1 || rc=$?
    [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || { cat "$log" >&2; fail "$3: the run hung"; }
    [ "$rc" -eq "$want" ] || { cat "$log" >&2; fail "$3: expected exit $want, got $rc"; }
}
marks() { "$LAPSE_PY" -c 'import h5py,sys; print(h5py.File(sys.argv[1],"r")["/lapse/done"][()].tobytes().hex())' "$1"; }

note "1. a new output: rank 1 fails before H5Fcreate; nothing is left at the output path"
hang_free 1 n1.log fail:h5out-open@1
grep -q "lapse: rank 1: injected fault h5out-open" n1.log || { cat n1.log >&2; fail "1: no message from rank 1"; }
grep -q "lapse: rank 0: opening the output failed on another rank" n1.log || { cat n1.log >&2; fail "1: rank 0 silent"; }
[ ! -e out.h5 ] && [ ! -e out.h5.creating ] || fail "1: an output was left behind"

note "2. continuing: rank 1 fails before opening; the output byte-identical"
run_ok first.log mpirun_lapse 2 run c.yaml --timepoints 0
O=$(sha out.h5)
hang_free 1 n2.log fail:h5out-open@1
grep -q "lapse: rank 1: injected fault h5out-open" n2.log || { cat n2.log >&2; fail "2: no message"; }
same_sha out.h5 "$O" "2"

note "3. rank 1 fails while starting the run; the marks are kept; a rerun continues"
M=$(marks out.h5)
hang_free 1 n3.log fail:start-run@1
grep -q "lapse: rank 1: injected fault start-run" n3.log || { cat n3.log >&2; fail "3: no message"; }
[ "$(marks out.h5)" = "$M" ] || fail "3: the done marks changed"
run_ok n3b.log mpirun_lapse 2 run c.yaml
grep -q "continuing out.h5" n3b.log || { cat n3b.log >&2; fail "3: the rerun did not continue"; }

note "4. the same on rank 0"
hcfg d.yaml "$IN" d.h5
run_ok d.log mpirun_lapse 2 run d.yaml --timepoints 0
O=$(sha d.h5)
cp d.yaml c.yaml
hang_free 1 n4.log fail:h5out-open@0
grep -q "lapse: rank 0: injected fault h5out-open" n4.log || { cat n4.log >&2; fail "4: no message"; }
same_sha d.h5 "$O" "4"
hang_free 1 n5.log fail:start-run@0
grep -q "lapse: rank 0: injected fault start-run" n5.log || { cat n5.log >&2; fail "5: no message"; }
echo "PASS $TEST_NAME"
