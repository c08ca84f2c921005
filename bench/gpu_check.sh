#!/usr/bin/env bash
# gpu_check.sh - the refactor's checks and measurements on the lent GPU machine, in one device
# call (docs/benchmarks.md "Operations core refactor"), run from the repository root with the
# staged libraries (.gpu/, docs/gpu.md). Needs two Release builds made on the development
# machine: $NEW (default build-gpu: this tree) and $BASE (default build-gpu-base: commit 00471a2
# with bench/bench_startup.c of the refactor added, see docs/benchmarks.md). Steps:
#   1. tests/mpi/test_base_identical.sh and test_graph.sh on the GPU (LAPSE_BASE_BIN=$BASE);
#   2. bench_kernels of both builds on one 1 GiB float32 volume (same call, same GPU);
#   3. bench/startup.sh (start-up, warm and cold driver caches) for both builds;
#   4. the end-to-end benchmark (bench/gpu_e2e.sh, NT timepoints) for both builds.
# Everything is logged under $OUT (default bench-out).
set -uo pipefail
NEW=${NEW:-build-gpu}
BASE=${BASE:-build-gpu-base}
LOG=${OUT:-bench-out}
SHAPE=${SHAPE:-256,1024,1024}
mkdir -p "$LOG"
source .gpu/env.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$LOG/gpu.txt" 2>&1
step() { echo "=== $* ($(date -u +%T))"; }
step identity
LAPSE=$NEW/lapse LAPSE_SRC=$PWD LAPSE_PY=python3 MPIEXEC=mpirun LAPSE_BASE_BIN=$BASE/lapse \
    bash tests/mpi/test_base_identical.sh >"$LOG/identity.txt" 2>&1
echo "identity rc=$?"
LAPSE=$NEW/lapse LAPSE_SRC=$PWD LAPSE_PY=python3 MPIEXEC=mpirun bash tests/mpi/test_graph.sh \
    >"$LOG/graph.txt" 2>&1
echo "graph rc=$?"
step kernels
for b in "$NEW" "$BASE"; do
    "$b/bench_kernels" --shape "$SHAPE" --device-kind gpu >"$LOG/kernels-$(basename "$b").txt" 2>&1
    echo "bench_kernels $b rc=$?"
done
step startup
bench/startup.sh -n "${STARTUP_REPS:-5}" -k gpu "$BASE" "$NEW" >"$LOG/startup.txt" 2>&1
echo "startup rc=$?"
step e2e
for b in "$BASE" "$NEW"; do
    BUILD=$b NT=${NT:-10} RANKS=1 OUT="$LOG/e2e-$(basename "$b")" WORK=/tmp/lapse-e2e \
        bash bench/gpu_e2e.sh >/dev/null 2>&1
    echo "e2e $b rc=$?"
done
step finished
