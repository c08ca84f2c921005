#!/usr/bin/env bash
# test.sh - the whole test suite: install dependencies, build into build/, run ctest.
# Usage: tools/test.sh [ctest args...]   e.g. tools/test.sh -L unit, tools/test.sh -j1
# ctest runs 4 x nproc jobs: a script test counts for 2 (PROCESSORS) and holds its label's lock
# (RESOURCE_LOCK, CMakeLists.txt), so two script tests of one label never run together (the mpi
# label has three lanes); a test of another label or a unit suite runs beside it
# (docs/testing.md, "CI time").
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd build && ctest --output-on-failure -j"$((4 * $(nproc)))" "$@"
