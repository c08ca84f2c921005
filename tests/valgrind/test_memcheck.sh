#!/usr/bin/env bash
# test_memcheck.sh - valgrind memcheck over a small serial lapse session on the OpenCL CPU
# device: `lapse sample`, a singleton `lapse run` (MPI_Init without mpirun) of a tiled two-step
# pipeline with a saved step, and `lapse info` on the result. Every command must exit 0 with no
# memcheck error (invalid access, use of uninitialised values, bad free) and no definite leak.
# Only third-party internals are suppressed (tests/valgrind.supp). Skipped without valgrind or
# when lapse was built with a sanitizer (the two cannot run together). 15-40 s.
source "$(dirname "$0")/../mpi/common.sh"
command -v valgrind >/dev/null 2>&1 || skip "valgrind not installed (tools/deps.sh installs it)"
ldd "$LAPSE" 2>/dev/null | grep -q -E 'lib(a|ub|t)san' && skip "$LAPSE is sanitizer-instrumented"
need_device
export OMPI_MCA_rmaps_base_oversubscribe=1

vg() {
    local name=$1
    shift
    local rc=0
    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --num-callers=40 --track-origins=no \
        --suppressions="$LAPSE_SRC/tests/valgrind.supp" --log-file="$T/$name.vg" \
        "$LAPSE" "$@" >"$T/$name.log" 2>&1 || rc=$?
    note "$name: exit $rc; $(grep -E 'ERROR SUMMARY' "$T/$name.vg" | sed 's/^==[0-9]*== //')"
    if [ "$rc" -ne 0 ]; then
        cat "$T/$name.log" "$T/$name.vg" >&2
        [ "$rc" -eq 99 ] && fail "memcheck errors in: lapse $*"
        fail "exit $rc from: lapse $*"
    fi
}

cd "$T" || fail "cannot cd to $T"
cat >cfg.yaml <<YAML
input: {file: $T/in.h5, dataset: /raw}
tiles: {shape: [8, 16, 16], halo: auto}
pipeline:
  - op: gaussian_blur
    sigma: [1, 1, 1]
    save: /blurred
  - op: threshold_fixed
    threshold: 200
output: {file: $T/out.h5, dataset: /result, dtype: auto, mode: create}
devices: any
YAML
# Compile the kernels once under valgrind's no-op tool (fast): PoCL sees valgrind's emulated
# CPU (another device name, so another kernel-cache entry than a plain run) and caches them,
# and memcheck then loads them instead of running LLVM (about 60 s -> 15 s).
run_ok "$T/warm-sample.log" "$LAPSE" sample "$T/warm.h5" --timepoints 1 --shape 8,20,24 --seed 3
sed "s|$T/in.h5|$T/warm.h5|; s|$T/out.h5|$T/warm-out.h5|" cfg.yaml >warm.yaml
run_ok "$T/warm-run.log" valgrind --tool=none -q "$LAPSE" run warm.yaml

vg sample sample "$T/in.h5" --timepoints 2 --shape 8,20,24 --seed 3
vg run run cfg.yaml
vg info info "$T/out.h5"
[ -s "$T/out.h5" ] || fail "lapse run under valgrind wrote no $T/out.h5"
nonconstant "$T/out.h5" /result /blurred
echo "PASS ($TEST_NAME)"
