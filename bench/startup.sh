#!/usr/bin/env bash
# startup.sh - start-up time of lapse on one OpenCL device, in fresh processes, as medians:
#  startup: bench_startup (device choice + lapse_cl_open, then the tiny pipeline below created
#           and run once, which builds the kernel programs it needs): open_ms, create_ms,
#           total_ms;
#  run:     the wall time of a tiny `mpirun -n 1 lapse run` (sample 2 x 8 x 64 x 64 uint16,
#           gaussian_blur sigma 1 + threshold_fixed, devices: any), process start to exit.
# Two cache states: warm (the kernel caches of PoCL / the driver as a first, untimed run leaves
# them: the usual case) and cold (a fresh empty POCL_CACHE_DIR per run and CUDA_CACHE_DISABLE=1:
# the first run after a kernel source or driver change).
#
# usage: bench/startup.sh [-n REPS] [-k gpu|cpu|any] BUILD_DIR...
#   defaults: -n 7 -k any, BUILD_DIR build. Each BUILD_DIR holds lapse and bench_startup (a
#   build of an older commit works too: bench_startup.c uses only APIs that predate it); with
#   several, the repetitions alternate between them (a before/after comparison on a busy machine
#   sees the same load). Prints per build and cache state
#     csv,startup_ms,<cache>,<build>,<device>,open=..,create=..,total=.. (medians)
#     csv,run_wall_s,<cache>,<build>,<device>,median=..,min=..
#   As root, export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; on PoCL set
#   POCL_MAX_PTHREAD_COUNT as the tests do.
set -eu

N=7
KIND=any
while getopts n:k: o; do
    case $o in
    n) N=$OPTARG ;;
    k) KIND=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- build
MPIEXEC=${MPIEXEC:-mpirun}
for b in "$@"; do
    for x in lapse bench_startup; do
        [ -x "$b/$x" ] || { echo "startup.sh: $b/$x is not an executable" >&2; exit 2; }
    done
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# median of the numbers on stdin
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# with_cache MODE CMD...: run CMD with the kernel caches warm or cold (a fresh empty cache dir).
with_cache() {
    local mode=$1
    shift
    if [ "$mode" = cold ]; then
        rm -rf "$T/kcache" && mkdir "$T/kcache"
        POCL_CACHE_DIR=$T/kcache CUDA_CACHE_DISABLE=1 "$@"
    else
        "$@"
    fi
}

B1=$1
"$B1/lapse" sample "$T/in.h5" --timepoints 2 --shape 8,64,64 --seed 1 >/dev/null
cat >"$T/run.yaml" <<YAML
input: {file: $T/in.h5, dataset: /raw}
tiles: {shape: auto, halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1}
  - {op: threshold_fixed, threshold: 500}
output: {file: $T/out.h5, dataset: /result, mode: overwrite}
devices: $KIND
YAML

# one_rep MODE I BUILD: one timed bench_startup and one timed run of build I into $T/*.I.MODE
one_rep() {
    local mode=$1 i=$2 b=$3 t0 t1
    with_cache "$mode" "$b/bench_startup" --device-kind "$KIND" | grep '^startup,' >>"$T/s.$i.$mode"
    t0=$(date +%s.%N)
    with_cache "$mode" "$MPIEXEC" -n 1 "$b/lapse" run "$T/run.yaml" >"$T/run.log" 2>&1 ||
        { cat "$T/run.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{printf "%.3f\n", $2 - $1}' >>"$T/r.$i.$mode"
}

i=0
for b in "$@"; do # warm-up (fills the warm caches), untimed
    "$b/bench_startup" --device-kind "$KIND" >/dev/null
    "$MPIEXEC" -n 1 "$b/lapse" run "$T/run.yaml" >/dev/null 2>&1
done
for mode in warm cold; do
    for _ in $(seq "$N"); do
        i=0
        for b in "$@"; do
            one_rep $mode $i "$b"
            i=$((i + 1))
        done
    done
    i=0
    for b in "$@"; do
        s=$T/s.$i.$mode
        r=$T/r.$i.$mode
        dev=$(head -1 "$s" | cut -d, -f2)
        printf 'csv,startup_ms,%s,%s,%s,open=%s,create=%s,total=%s\n' "$mode" "$b" "$dev" \
            "$(cut -d, -f3 "$s" | median)" "$(cut -d, -f4 "$s" | median)" \
            "$(cut -d, -f5 "$s" | median)"
        printf 'csv,run_wall_s,%s,%s,%s,median=%s,min=%s\n' "$mode" "$b" "$dev" \
            "$(median <"$r")" "$(sort -g "$r" | head -1)"
        i=$((i + 1))
    done
done
