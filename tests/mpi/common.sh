# shellcheck shell=bash
# common.sh - shared helpers of the tests/mpi/test_*.sh script tests (sourced, not run).
#
# Environment (ctest sets it, see CMakeLists.txt): LAPSE (the binary), LAPSE_SRC (repo root),
# LAPSE_PY (/usr/bin/python3 with h5py, numpy, scipy, yaml), MPIEXEC. Sourcing this file makes
# a private temp dir $T (removed on exit), checks the tools and that an OpenCL device exists
# (else exit 77 = skip), and defines helpers. Exit codes: 0 pass, 77 skip, anything else fail.

set -u
: "${LAPSE:?set LAPSE to the lapse binary (ctest does)}"
LAPSE_SRC=${LAPSE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LAPSE_PY=${LAPSE_PY:-/usr/bin/python3}
MPIEXEC=${MPIEXEC:-mpiexec}
PYDIR=$LAPSE_SRC/tests/py
export POCL_MAX_PTHREAD_COUNT=${POCL_MAX_PTHREAD_COUNT:-1}
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1}
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
# Open MPI's faster start on one host (CMakeLists.txt's LAPSE_TEST_ENV says why).
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
export OMPI_MCA_ess_singleton_isolated=${OMPI_MCA_ess_singleton_isolated:-1}
# Several tests' ranks share the cores: a rank waiting in MPI yields its core (CMakeLists.txt).
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}

TEST_NAME=$(basename "$0" .sh)

skip() {
    echo "SKIP ($TEST_NAME): $*"
    exit 77
}

fail() {
    echo "FAIL ($TEST_NAME): $*" >&2
    exit 1
}

note() { echo "--- $*"; }

[ -x "$LAPSE" ] || fail "LAPSE=$LAPSE is not an executable (build the lapse target)"
"$LAPSE_PY" -c 'import h5py, numpy, scipy, yaml' 2>/dev/null ||
    skip "$LAPSE_PY lacks h5py/numpy/scipy/yaml (tools/deps.sh installs them)"
command -v "$MPIEXEC" >/dev/null 2>&1 || skip "no MPI launcher MPIEXEC=$MPIEXEC"

T=$(mktemp -d "${TMPDIR:-/tmp}/lapse-$TEST_NAME.XXXXXX") || fail "mktemp failed"
trap 'rm -rf "$T"' EXIT

# BG_SESSION: an Open MPI session directory for a run left in the background while others start
# and end (OMPI_MCA_orte_tmpdir_base=$BG_SESSION "$LAPSE" run ... &). Ranks started alone with
# ess_singleton_isolated all use jf.0/1 of their session directory, and the first to end removes
# it under the others (CMakeLists.txt gives each test its own for the same reason).
BG_SESSION=$T/ompi-bg

# Standard test image: 4 timepoints of 24 x 70 x 90 (z, y, x), uint16 in /raw.
NT=4
NZ=24
NY=70
NX=90
IN=$T/in.h5

# run_ok LOG CMD...: run CMD with stdout+stderr into LOG; on a non-zero exit show LOG and fail.
run_ok() {
    local log=$1
    shift
    local rc=0
    "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$log" >&2
        fail "exit $rc from: $*"
    fi
}

# expect_rc WANT LOG CMD...: run CMD (output into LOG), fail unless it exits with WANT.
# For WANT 2 (bad usage, config or input: every rank agrees and exits by itself), mpirun's
# grace between the SIGTERM and the SIGKILL of the ranks left after the first non-zero exit
# (odls_base_sigkill_timeout, 1 s: spent even when none is left) is 0.
expect_rc() {
    local want=$1 log=$2
    shift 2
    local rc=0 grace=${OMPI_MCA_odls_base_sigkill_timeout-}
    [ "$want" -ne 2 ] || export OMPI_MCA_odls_base_sigkill_timeout=0
    "$@" >"$log" 2>&1 || rc=$?
    if [ -n "$grace" ]; then export OMPI_MCA_odls_base_sigkill_timeout=$grace; else unset OMPI_MCA_odls_base_sigkill_timeout; fi
    if [ "$rc" -ne "$want" ]; then
        cat "$log" >&2
        fail "expected exit $want, got $rc from: $*"
    fi
}

# py SCRIPT ARGS...: run one of the tests/py tools.
py() {
    local s=$1
    shift
    "$LAPSE_PY" "$PYDIR/$s" "$@"
}

# mpirun_lapse N ARGS...: "$LAPSE" ARGS under N MPI ranks (oversubscribed, no binding).
mpirun_lapse() {
    local n=$1
    shift
    local fwd=() v
    # Sanitizer and MPI-IO settings, when set, reach every rank (docs/testing.md).
    for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS OMPI_MCA_io LAPSE_OVERLAP LAPSE_RAW_WRITE LAPSE_H5_WRITE LAPSE_H5_ALIGN LAPSE_H5_CHUNK LAPSE_H5_MDC LAPSE_DEAL; do
        [ -z "${!v:-}" ] || fwd+=(-x "$v")
    done
    "$MPIEXEC" -n "$n" --oversubscribe --bind-to none -x POCL_MAX_PTHREAD_COUNT \
        -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM "${fwd[@]}" "$LAPSE" "$@"
}

# lapse_run N CONFIG [ARGS...]: `lapse run CONFIG ARGS` on N ranks; fail (with its log) unless
# it exits 0. The log is kept in $T/last.log.
lapse_run() {
    local n=$1
    shift
    run_ok "$T/last.log" mpirun_lapse "$n" run "$@"
}

# need_device: skip unless `lapse devices --kind any` finds an OpenCL device. Under CI (CI set),
# where tools/deps.sh installs PoCL, a missing device is a failure, not a skip.
need_device() {
    local out
    if ! out=$("$LAPSE" devices --kind any 2>&1); then
        [ -z "${CI:-}" ] || fail "no OpenCL device under CI (PoCL should be installed): $out"
        skip "lapse devices --kind any failed (no OpenCL platform?): $out"
    fi
}

# make_sample [FILE]: the standard test image (deterministic, seed 7).
make_sample() {
    local f=${1:-$IN}
    run_ok "$T/sample.log" "$LAPSE" sample "$f" --timepoints "$NT" --shape "$NZ,$NY,$NX" --seed 7
    [ -f "$f" ] || fail "lapse sample did not write $f"
}

# ceil_div A B
ceil_div() { echo $((($1 + $2 - 1) / $2)); }

# ntiles TZ TY TX: number of tiles of the standard image with tile shape TZ,TY,TX (clipped).
ntiles() {
    echo $(($(ceil_div $NZ "$1") * $(ceil_div $NY "$2") * $(ceil_div $NX "$3")))
}

# sha FILE: checksum of a file's bytes.
sha() { sha256sum "$1" | cut -d' ' -f1; }

# nonconstant FILE DSET...: fail unless every DSET of FILE holds at least two distinct values
# (guards comparisons against vacuous, e.g. all-zero, results).
nonconstant() {
    local f=$1
    shift
    "$LAPSE_PY" - "$f" "$@" <<'PY' || fail "$f: constant dataset (vacuous comparison)"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    for d in sys.argv[2:]:
        x = f[d][()]
        if x.size == 0 or np.nanmin(x) == np.nanmax(x):
            print("%s:%s is constant" % (sys.argv[1], d))
            sys.exit(1)
PY
}

# ---- Kill, signal and resume helpers (test_kill.sh, test_kill_soak.sh, test_signals.sh) ----

# kill_config CFG OUT: a config over $IN (gaussian blur saved as /blurred, then a top-hat into
# /result; tiles [8, 64, 64]) writing OUT.
kill_config() {
    cat >"$1" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [8, 64, 64]}
pipeline:
  - {op: gaussian_blur, sigma: 2, save: /blurred}
  - {op: top_hat_box, radius: [0, 1, 1]}
output: {file: $2, dataset: /result}
devices: any
YAML
}

# mpirun_argv N: set the array MPIRUN_ARGV to the launcher command of mpirun_lapse for N ranks,
# so that `"${MPIRUN_ARGV[@]}" "$LAPSE" ... &` makes $! the launcher itself (to signal it).
mpirun_argv() {
    local v
    MPIRUN_ARGV=("$MPIEXEC" -n "$1" --oversubscribe --bind-to none -x POCL_MAX_PTHREAD_COUNT
        -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM)
    for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS OMPI_MCA_io LAPSE_OVERLAP LAPSE_RAW_WRITE LAPSE_H5_WRITE LAPSE_H5_ALIGN LAPSE_H5_CHUNK LAPSE_H5_MDC LAPSE_DEAL; do
        [ -z "${!v:-}" ] || MPIRUN_ARGV+=(-x "$v")
    done
}

# lapse_pids CFG: pids of the lapse processes (ranks, not the launcher) whose command line
# names CFG (a path under $T, so only this test's processes).
lapse_pids() {
    local p comm want
    want=$(basename "$LAPSE" | cut -c1-15)
    for p in $(pgrep -f -- "$1"); do
        comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
        [ "$comm" = "$want" ] && echo "$p"
    done
    return 0
}

# wait_gone CFG SECONDS: fail unless no lapse process of CFG is left within SECONDS.
wait_gone() {
    local end=$((SECONDS + $2))
    while [ -n "$(lapse_pids "$1")" ]; do
        [ $SECONDS -lt $end ] || fail "lapse processes of $1 left behind: $(lapse_pids "$1")"
        sleep 0.1
    done
}

# wait_bg PID SECONDS: wait for background job PID; its exit status goes into WAIT_RC and the
# time it ended (date +%s.%N) into WAIT_END. Fail (killing it) if it runs longer than SECONDS.
wait_bg() {
    local pid=$1 end=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        if [ $SECONDS -ge $end ]; then
            kill -9 "$pid" 2>/dev/null
            fail "process $pid still running after $2 s"
        fi
        sleep 0.02
    done
    WAIT_END=$(date +%s.%N)
    WAIT_RC=0
    wait "$pid" || WAIT_RC=$?
}

# marks FILE: number of done marks in FILE's /lapse/done (-1 when it cannot be read).
marks() {
    "$LAPSE_PY" - "$1" <<'PY'
import sys, h5py
try:
    with h5py.File(sys.argv[1], "r") as f:
        print(int(f["/lapse/done"][()].sum()))
except Exception:
    print(-1)
PY
}

# wait_marks FILE K PID SECONDS: wait until FILE (being written by the run PID) holds at least K
# done marks. Returns 0 when it does, 1 when PID ended first or SECONDS passed.
wait_marks() {
    "$LAPSE_PY" - "$@" <<'PY'
import os, sys, time, h5py
f, k, pid, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
end = time.time() + limit
while time.time() < end:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        with h5py.File(f, "r") as h:
            if int(h["/lapse/done"][()].sum()) >= k:
                sys.exit(0)
    except Exception:
        pass  # not there yet, or caught mid-creation
    time.sleep(0.05)
sys.exit(1)
PY
}

# run_attr FILE RUN ATTR: attribute ATTR of /lapse/runs/RUN ("-" when missing).
run_attr() {
    "$LAPSE_PY" - "$@" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    g = f.get("/lapse/runs/" + sys.argv[2])
    v = g.attrs.get(sys.argv[3], "-") if g is not None else "-"
    print(v.decode() if isinstance(v, bytes) else v)
PY
}

# rows_of FILE RUN STATUS: number of /lapse/tasks rows of run RUN with status STATUS.
rows_of() {
    "$LAPSE_PY" - "$@" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    t = f["/lapse/tasks"][()]
    print(int(((t["run_id"] == int(sys.argv[2])) & (t["status"] == int(sys.argv[3]))).sum()))
PY
}

# resume_ok N CFG OUT REF [PENDING]: the same command again on N ranks must exit 0 and leave OUT
# bit-identical to REF in every result dataset; with PENDING (the tasks not done before), it
# must say it continues with exactly that many tasks (or, with 0, that there is nothing to do).
# Then once more: exit 0, "nothing to do", and the file unchanged byte for byte.
resume_ok() {
    local n=$1 cfg=$2 out=$3 ref=$4 pending=${5:-}
    run_ok "$T/resume.log" mpirun_lapse "$n" run "$cfg"
    if [ -n "$pending" ]; then
        if [ "$pending" -eq 0 ]; then
            grep -q 'nothing to do' "$T/resume.log" ||
                { cat "$T/resume.log"; fail "resume of a fully marked output did work"; }
        else
            grep -q "are done, $pending to run" "$T/resume.log" ||
                { cat "$T/resume.log"; fail "resume did not continue with the $pending pending tasks"; }
        fi
    fi
    py h5same.py "$ref" "$out" >"$T/same.log" || { cat "$T/same.log"; fail "resumed output differs from the reference"; }
    local before
    before=$(sha "$out")
    run_ok "$T/again.log" mpirun_lapse "$n" run "$cfg"
    grep -q 'nothing to do' "$T/again.log" || { cat "$T/again.log"; fail "second resume did not say 'nothing to do'"; }
    [ "$(sha "$out")" = "$before" ] || fail "a resume of a complete output changed the file"
}

# kill_iteration N CFG OUT REF TOTAL MODE [MAXK]: start `lapse run CFG` (writing OUT, TOTAL
# tasks) on N ranks in the background, SIGKILL one of its lapse processes chosen at random (MODE
# marks: once OUT holds a random number of done marks, 1 .. MAXK (default TOTAL/2); MODE delay:
# after a random 0.3-3.3 s from the start, which may fall in start-up or creation; note that
# Open MPI takes about a second to abort the other ranks, which go on working meanwhile), wait
# for the launcher to
# end (it aborts the other ranks), check that no rank is left, that OUT is absent or opens as it
# is with every marked task equal to REF (check_done.py), then resume (resume_ok). Sets
# KILL_MARKS (marks left by the killed run, 0 without OUT), KILL_FINAL (unmarked tasks whose
# data was already final: recomputed by the resume), KILL_RAN (tasks the resume ran), KILL_RANK
# (the victim's rank), KILL_NOFILE (1 when the kill left nothing at OUT) and KILL_MISSED (1 when
# the run ended before the kill; then only the resume is checked, and in MODE marks KILL_MARKS
# is TOTAL, as when the victim had finished its work: the callers try again at the first mark).
kill_iteration() {
    local n=$1 cfg=$2 out=$3 ref=$4 total=$5 mode=$6 maxk=${7:-$(($5 / 2))} mp pids victim pending=""
    rm -f "$out" "$out.creating"
    KILL_MARKS=0 KILL_FINAL=0 KILL_RAN=$total KILL_RANK=- KILL_MISSED=0 KILL_NOFILE=0
    mpirun_argv "$n"
    "${MPIRUN_ARGV[@]}" "$LAPSE" run "$cfg" >"$T/killed.log" 2>&1 &
    mp=$!
    if [ "$mode" = marks ]; then
        local k=$((1 + RANDOM % maxk))
        wait_marks "$out" "$k" "$mp" 120 || {
            wait_bg "$mp" 60
            cat "$T/killed.log"
            fail "the run ended (exit $WAIT_RC) before $k of $total tasks were marked done"
        }
    else
        sleep "$((RANDOM % 3)).$((RANDOM % 10))$((RANDOM % 10))"
        sleep 0.3
    fi
    read -r -a pids < <(lapse_pids "$cfg" | tr '\n' ' ')
    if [ "${#pids[@]}" -eq 0 ]; then # the run ended between the marks and the kill
        wait_bg "$mp" 60
        [ "$WAIT_RC" -eq 0 ] || { cat "$T/killed.log"; fail "the run failed (exit $WAIT_RC) before the kill"; }
        KILL_MISSED=1
        [ "$mode" = marks ] || return 0
        resume_ok "$n" "$cfg" "$out" "$ref" 0 # complete: nothing to do, equal to the reference
        KILL_MARKS=$total KILL_RAN=0
        return 0
    fi
    victim=${pids[RANDOM % ${#pids[@]}]}
    KILL_RANK=$({ tr '\0' '\n' <"/proc/$victim/environ"; } 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
    kill -9 "$victim" 2>/dev/null || true
    wait_bg "$mp" 60
    wait_gone "$cfg" 15
    if [ "$WAIT_RC" -eq 0 ]; then # the victim had already finished its work
        KILL_MISSED=1
        resume_ok "$n" "$cfg" "$out" "$ref" 0
        KILL_MARKS=$total KILL_RAN=0
        return 0
    fi
    if [ -e "$out" ]; then
        py check_done.py "$out" "$ref" >"$T/check.log" 2>&1 ||
            { cat "$T/killed.log" "$T/check.log"; fail "check_done failed after killing rank $KILL_RANK"; }
        KILL_MARKS=$(sed -n 's/^check_done: \([0-9]*\) of .*/\1/p' "$T/check.log")
        KILL_FINAL=$(sed -n 's/^check_done: \([0-9]*\) unmarked tasks hold final data/\1/p' "$T/check.log")
        pending=$((total - KILL_MARKS))
    else
        KILL_NOFILE=1
    fi
    resume_ok "$n" "$cfg" "$out" "$ref" "$pending"
    [ ! -e "$out.creating" ] || fail "$out.creating left behind after the resume"
    KILL_RAN=$(sed -n 's/.*are done, \([0-9]*\) to run.*/\1/p' "$T/resume.log")
    if [ -z "$KILL_RAN" ]; then
        if grep -q 'nothing to do' "$T/resume.log"; then KILL_RAN=0; else KILL_RAN=$total; fi
    fi
}

# filtered FILE COMPRESSION REF: every dataset has the filter and FILE is smaller than REF
filtered() {
    "$LAPSE_PY" - "$@" <<'PY' || fail "$1: not compressed as $2"
import os, sys, h5py
f, comp, ref = sys.argv[1], sys.argv[2], sys.argv[3]
with h5py.File(f, "r") as h:
    for p in ("/result", "/blurred"):
        flt = h[p]._filters
        want = "gzip" if comp.startswith("gzip") else "32001"
        if want not in flt:
            print("%s: filters %s, want %s" % (p, flt, want))
            sys.exit(1)
a, b = os.path.getsize(f), os.path.getsize(ref)
print("%s: %d bytes (uncompressed %d, ratio %.2f)" % (comp, a, b, b / a))
sys.exit(0 if a < b else 1)
PY
}
