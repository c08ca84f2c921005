#!/usr/bin/env bash
# ci-extra.sh - the CI checks beyond tools/test.sh (docs/testing.md), run by .ci/run after it:
#   asan:  the unit and MPI tests again, built with AddressSanitizer + UndefinedBehaviorSanitizer
#          (build-asan/, gcc, -DLAPSE_SANITIZE=ON); leak checking on for the serial unit tests,
#          off where MPI_Init runs (Open MPI's own allocations are not ours to fix). The MPI
#          tests run with Open MPI's other MPI-IO component, OMPI_MCA_io=romio321 (tools/test.sh
#          ran them with ompio), which saves CI a third pass over the slowest label;
#   romio: the MPI tests with romio321 on the plain build/ (not in the default list: to tell an
#          ASan finding from a ROMIO problem when the asan step fails);
#   analyze: the clang static analyzer (scan-build) over src/, from build-analyze/: any
#          finding fails it;
#   fuzz:  each libFuzzer harness for $LAPSE_FUZZ_SECONDS (default 30) seconds (tools/fuzz.sh).
# Usage: tools/ci-extra.sh [analyze|asan|romio|fuzz ...]   (default: analyze asan fuzz). Exit 0 =
# all passed.
# Env: LAPSE_ASAN_BUILD (default build-asan), LAPSE_BUILD (default build), LAPSE_FUZZ_BUILD
# (default build-fuzz), LAPSE_ANALYZE_BUILD (default build-analyze), LAPSE_FUZZ_SECONDS,
# LAPSE_ASAN_IO (MPI-IO component of the asan step).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(analyze asan fuzz)
failed=()
# The kill soak test runs its full 20 iterations in tools/test.sh; here a few keep CI short.
soak=${LAPSE_SOAK_ITER:-4}

stamp() { echo "=== ci-extra: $* ($(date -u +%T))"; }

# Sanitizer findings are also written to files, so that one made by a command whose failure a
# test expects (exit code 2 for a bad config, say) still fails the run.
asan() {
    local b=${LAPSE_ASAN_BUILD:-$top/build-asan}
    local logs=$b/sanitizer-logs
    cmake -S . -B "$b" -DLAPSE_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$b" -j"$(nproc)"
    rm -rf "$logs" && mkdir -p "$logs"
    local ubsan="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
    export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
    local asan="strict_string_checks=1:detect_stack_use_after_return=1"
    asan+=":log_path=$logs/asan"
    local rc=0 f mpi_units=()
    # Unit tests that call MPI_Init (Open MPI leaks by design) are checked without leak detection.
    while IFS= read -r f; do
        mpi_units+=("unit_$(basename "$f" .c)")
    done < <(grep -l 'MPI_Init' tests/unit/test_*.c)
    local mpi_re
    mpi_re="^($(IFS='|'; echo "${mpi_units[*]:-none}"))\$"
    ASAN_OPTIONS="$asan:detect_leaks=1" UBSAN_OPTIONS="$ubsan" \
        ctest --test-dir "$b" --output-on-failure -j"$(nproc)" -L unit -E "$mpi_re" || rc=1
    ASAN_OPTIONS="$asan:detect_leaks=0" UBSAN_OPTIONS="$ubsan" \
        ctest --test-dir "$b" --output-on-failure -L unit -R "$mpi_re" || rc=1
    ASAN_OPTIONS="$asan:detect_leaks=0" UBSAN_OPTIONS="$ubsan" LAPSE_SOAK_ITER=$soak \
        OMPI_MCA_io=${LAPSE_ASAN_IO:-romio321} ctest --test-dir "$b" --output-on-failure \
        -j"$((4 * $(nproc)))" -L mpi || rc=1
    if compgen -G "$logs/*" >/dev/null; then
        echo "ci-extra: sanitizer findings:" >&2
        for f in "$logs"/*; do
            echo "--- $f" >&2
            head -c 20000 "$f" >&2
        done
        rc=1
    fi
    return $rc
}

romio() {
    local b=${LAPSE_BUILD:-$top/build}
    cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$b" -j"$(nproc)"
    OMPI_MCA_io=romio321 LAPSE_SOAK_ITER=$soak ctest --test-dir "$b" --output-on-failure \
        -j"$((4 * $(nproc)))" -L mpi
}

fuzz() {
    tools/fuzz.sh "${LAPSE_FUZZ_SECONDS:-30}"
}

# The clang static analyzer over every source file of the lapse binary (src/), from a fresh
# build directory (scan-build analyses only what it compiles). Any finding fails the step; each
# is listed as FILE:LINE: type: description, and its HTML report (the path of events that leads
# to it) stays under $b/reports. docs/testing.md says how findings are handled.
bug() { sed -n "s/^<!-- BUG$1 \(.*\) -->$/\1/p" "$2" | head -n 1; } # a report's field

analyze() {
    local b=${LAPSE_ANALYZE_BUILD:-$top/build-analyze}
    rm -rf "$b"
    scan-build -o "$b/reports" --use-cc=clang cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Debug >/dev/null
    local rc=0
    scan-build -o "$b/reports" --status-bugs --use-cc=clang \
        cmake --build "$b" -j"$(nproc)" --target lapse >"$b/scan-build.log" 2>&1 || rc=$?
    local f n=0
    while IFS= read -r f; do
        n=$((n + 1))
        echo "$(bug FILE "$f" | sed "s|^$top/||"):$(bug LINE "$f"): $(bug TYPE "$f"):" \
            "$(bug DESC "$f") ($f)" >&2
    done < <(find "$b/reports" -name 'report-*.html' | sort)
    if [ "$rc" -ne 0 ] || [ "$n" -gt 0 ]; then
        tail -n 20 "$b/scan-build.log" >&2
        echo "ci-extra: analyze: $n finding(s), scan-build exit $rc" >&2
        return 1
    fi
    echo "ci-extra: analyze: no findings"
}

for s in "${steps[@]}"; do
    stamp "$s"
    case $s in
    analyze | asan | romio | fuzz) "$s" || failed+=("$s") ;;
    *)
        echo "ci-extra: unknown step $s (analyze, asan, romio, fuzz)" >&2
        exit 2
        ;;
    esac
done
stamp "done"
if [ ${#failed[@]} -gt 0 ]; then
    echo "ci-extra: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "ci-extra: all passed (${steps[*]})"
