#!/usr/bin/env bash
# many_tasks.sh - the host's bookkeeping cost per task as the number of tasks grows: an input of
# 256 timepoints of 8 x 64 x 64 uint16, a trivial pipeline (multiply_scalar), halo 0, tiles that
# give 1024 / 4096 / 16384 / 65536 tasks (one output chunk each), an uncompressed output, on the
# first OpenCL device lapse finds (devices: any; PoCL here). Prints per build and task count
#   csv,many_tasks,<build>,<tasks>,wall_s=..,loop_s=..,ms_per_task=..
# wall_s: the whole `lapse run` (process start to exit: creation, run, close); loop_s: lapse's own
# "N tasks in S s". The voxel work is tiny, so what grows is lapse's and HDF5's per-task cost
# (docs/benchmarks.md, 2026-12-04: chunk lookups that walked the chunk index).
#
# usage: bench/many_tasks.sh [-r RANKS] BUILD_DIR...   (default 1 rank, no mpiexec; build)
#   As root, export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; on PoCL set
#   POCL_MAX_PTHREAD_COUNT=1. Work files under ${TMPDIR:-/tmp}.
set -uo pipefail
RANKS=1
if [ "${1:-}" = "-r" ]; then
    RANKS=$2
    shift 2
fi
[ $# -gt 0 ] || set -- build
W=$(mktemp -d "${TMPDIR:-/tmp}/lapse-many.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
"$1/lapse" sample "$W/in.h5" --timepoints 256 --shape 8,64,64 --seed 3 >/dev/null || exit 1
for tiles in "8, 32, 32:1024" "8, 16, 16:4096" "8, 8, 8:16384" "2, 8, 8:65536"; do
    shape=${tiles%%:*}
    n=${tiles##*:}
    for b in "$@"; do
        rm -f "$W"/out.*
        cat >"$W/c.yaml" <<YAML
input: {file: $W/in.h5, dataset: /raw}
tiles: {shape: [$shape], halo: 0}
pipeline:
  - {op: multiply_scalar, value: 2}
output: {file: $W/out.h5}
devices: any
YAML
        launch=()
        [ "$RANKS" -eq 1 ] || launch=(mpiexec -n "$RANKS" --bind-to none)
        t0=$(date +%s.%N)
        "${launch[@]}" "$b/lapse" run "$W/c.yaml" >"$W/log" 2>&1 || {
            cat "$W/log"
            exit 1
        }
        t1=$(date +%s.%N)
        loop=$(sed -n 's/.* done: [0-9]* tasks in \([0-9.]*\) s.*/\1/p' "$W/log")
        awk -v b="$b" -v n="$n" -v w="$(echo "$t1 - $t0" | bc)" -v l="$loop" 'BEGIN {
            printf "csv,many_tasks,%s,%d,wall_s=%.2f,loop_s=%s,ms_per_task=%.3f\n", b, n, w, l, 1000 * l / n }'
    done
done
