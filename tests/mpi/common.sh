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
expect_rc() {
    local want=$1 log=$2
    shift 2
    local rc=0
    "$@" >"$log" 2>&1 || rc=$?
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
    for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS OMPI_MCA_io; do
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
