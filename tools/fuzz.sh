#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer harnesses (tests/fuzz, clang + ASan + UBSan) and run each one
# (nproc at a time).
# Usage: tools/fuzz.sh [SECONDS_PER_FUZZER] [WORKDIR]      (defaults: 30, build-fuzz/work)
# WORKDIR gets corpus/<fuzzer>/ (seeded from configs/*.yaml, tests/unit/configs/*.yaml,
# tests/mpi/bad_configs/*.yaml, tests/fuzz/tpsel.seeds, json.seeds and tiff.seeds; grows between
# runs), crashes/<fuzzer>-*
# (inputs that failed) and <fuzzer>.log. Exit status: 0 when no fuzzer found anything, 1 else.
# Env: LAPSE_FUZZ_BUILD (build dir, default build-fuzz), CC (default clang).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${1:-30}
build=${LAPSE_FUZZ_BUILD:-$top/build-fuzz}
work=${2:-$build/work}
cc=${CC:-$(command -v clang || command -v clang-14 || echo clang)}
command -v "$cc" >/dev/null || { echo "fuzz: $cc not found (tools/deps.sh installs clang)" >&2; exit 1; }

mkdir -p "$work"
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DLAPSE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; exit 1; }
cmake --build "$build" -j"$(nproc)" --target fuzz_config fuzz_tpsel fuzz_json fuzz_tiff

mkdir -p "$work/corpus/fuzz_config" "$work/corpus/fuzz_tpsel" "$work/corpus/fuzz_json" \
    "$work/corpus/fuzz_tiff" "$work/crashes"
for f in configs/*.yaml tests/unit/configs/*.yaml tests/mpi/bad_configs/*.yaml; do
    [ -f "$f" ] && cp "$f" "$work/corpus/fuzz_config/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
done
# tpsel inputs: byte 0 = mode (odd: syntax check only), bytes 1-2 = ntp (little endian), text.
i=0
while IFS= read -r line; do
    case $line in '#'*) continue ;; esac
    i=$((i + 1))
    printf '\x01\x00\x00%s' "$line" >"$work/corpus/fuzz_tpsel/seed-$i-syntax"
    printf '\x00\xc8\x00%s' "$line" >"$work/corpus/fuzz_tpsel/seed-$i-ntp200"
    printf '\x00\x04\x00%s' "$line" >"$work/corpus/fuzz_tpsel/seed-$i-ntp4"
done <tests/fuzz/tpsel.seeds

# JSON inputs: the Zarr and OME-Zarr metadata of tests/fuzz/json.seeds, one text per line.
i=0
while IFS= read -r line; do
    case $line in '#'*) continue ;; esac
    i=$((i + 1))
    printf '%s' "$line" >"$work/corpus/fuzz_json/seed-$i"
done <tests/fuzz/json.seeds

# TIFF descriptions: tests/fuzz/tiff.seeds, "P S DESCRIPTION" per line (fuzz_tiff.c's input: byte
# 0 = pages - 1, byte 1 = the selection, then the description).
i=0
while IFS= read -r line; do
    case $line in '#'*) continue ;; esac
    i=$((i + 1))
    # shellcheck disable=SC2059 # the pages and selection bytes as octal escapes
    printf "\\$(printf %o "${line%% *}")\\$(printf %o "$(echo "$line" | cut -d' ' -f2)")" \
        >"$work/corpus/fuzz_tiff/seed-$i"
    printf '%b' "$(echo "$line" | cut -d' ' -f3-)" >>"$work/corpus/fuzz_tiff/seed-$i"
done <tests/fuzz/tiff.seeds

# The dictionary: tests/fuzz/config.dict (YAML and schema words) plus every operation name and
# parameter key of the registry, read from the family files, so a new operation needs no entry.
dict=$work/config.dict
{
    cat tests/fuzz/config.dict
    grep -ho '\.name = "[a-z0-9_]*"' src/ops/op_*.c | sed 's/.*= //'
    grep -ho 'LAPSE_P_[A-Z0-9_]*("[a-z0-9_]*"' src/ops/op_*.c | sed 's/.*(//' | sort -u
} >"$dict"

# one FUZZER: run it for secs seconds, then report it (its exit status is the fuzzer's)
one() {
    local fz=$1 rc=0
    local opts=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
                -artifact_prefix="$work/crashes/$fz-")
    [ "$fz" = fuzz_config ] && opts+=(-dict="$dict" -max_len=4096)
    [ "$fz" = fuzz_tpsel ] && opts+=(-max_len=256)
    [ "$fz" = fuzz_json ] && opts+=(-max_len=8192)
    [ "$fz" = fuzz_tiff ] && opts+=(-max_len=4096)
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$build/$fz" "${opts[@]}" "$work/corpus/$fz" >"$work/$fz.log" 2>&1 || rc=$?
    {
        echo "fuzz: $fz for ${secs}s (log $work/$fz.log)"
        grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done [0-9]+ runs' "$work/$fz.log" || true
        echo "fuzz: $fz corpus now $(find "$work/corpus/$fz" -type f | wc -l) inputs, exit $rc"
        if [ "$rc" -ne 0 ]; then
            tail -40 "$work/$fz.log"
            echo "fuzz: $fz FOUND A PROBLEM (input saved under $work/crashes/)"
        fi
    } >"$work/$fz.report"
    return $rc
}

# The fuzzers run nproc at a time (each is one process on one core, for its whole secs).
fail=0
fuzzers=(fuzz_config fuzz_tpsel fuzz_json fuzz_tiff)
par=$(nproc)
for ((i = 0; i < ${#fuzzers[@]}; i += par)); do
    pids=()
    for fz in "${fuzzers[@]:i:par}"; do
        one "$fz" &
        pids+=($!)
    done
    for k in "${!pids[@]}"; do
        wait "${pids[$k]}" || fail=1
        cat "$work/${fuzzers[i + k]}.report"
    done
done
exit $fail
