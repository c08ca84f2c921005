#!/usr/bin/env bash
# demo.sh - from a fresh Debian/Ubuntu machine to a processed time-lapse: installs the
# dependencies, builds lapse into build/, writes a small synthetic nuclei time-lapse and runs
# configs/demo.yaml on it with `mpirun -n 2` on whatever OpenCL device exists (a GPU, else
# PoCL on the CPU), then prints where the result is and its `lapse info` summary, and writes the
# run's report (`lapse report`: out/demo_report.png, docs/tools.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p out
[ -f out/sample.h5 ] || build/lapse sample out/sample.h5 --timepoints 6 --shape 32,128,128 --seed 7
rm -f out/demo.h5
# Two ranks share the CPU when there is no GPU: one PoCL thread each.
mpirun -n 2 --oversubscribe -x POCL_MAX_PTHREAD_COUNT=1 build/lapse run configs/demo.yaml
build/lapse info out/demo.h5
echo
echo "Result: $top/out/demo.h5 (datasets /result and /blurred, timing table /lapse/tasks)"
echo
build/lapse report out/demo.h5 -o out/demo_report.png
echo
echo "Report: $top/out/demo_report.png (tasks per rank and their phases, throughput, phase"
echo "breakdown; open it in any image viewer)"
