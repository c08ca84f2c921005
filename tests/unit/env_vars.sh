#!/usr/bin/env bash
# env_vars.sh - the LAPSE_* environment variables: every name src/ reads (a quoted "LAPSE_..."
# literal) is in src/env.c's table, apart from the test hook LAPSE_FAULT and the tools' paths
# LAPSE_TOOLS and LAPSE_PYTHON; and for every entry of the table, a malformed value makes
# `lapse run` stop at once with exit 2 and "NAME=value: expected ...", before it reads the config
# (the config named here does not exist), while a well-formed value gets past the check.
set -euo pipefail
: "${LAPSE:?set LAPSE to the lapse binary (ctest does)}"
: "${LAPSE_SRC:?set LAPSE_SRC to the repository root (ctest does)}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# `lapse run` calls MPI_Init, and Open MPI leaks by design: under the sanitizer build (CI's
# tools/ci-extra.sh) leak detection is off for it, as for the other tests that start MPI.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fail=0
exempt=" LAPSE_FAULT LAPSE_TOOLS LAPSE_PYTHON "
grep -rhoE '"LAPSE_[A-Z0-9_]+"' "$LAPSE_SRC/src" | tr -d '"' | sort -u >"$T/used"
grep -oE '^ *\{"LAPSE_[A-Z0-9_]+", ENV_[A-Z0-9]+' "$LAPSE_SRC/src/env.c" |
    sed -E 's/^ *\{"([A-Z0-9_]+)", (ENV_[A-Z0-9]+)/\1 \2/' >"$T/table"
[ -s "$T/table" ] || { echo "FAIL: no entries parsed from src/env.c" >&2; exit 1; }
while read -r name; do
    case "$exempt" in *" $name "*) continue ;; esac
    grep -q "^$name " "$T/table" || { echo "FAIL: $name is read in src/ but not in env.c's table" >&2; fail=1; }
done <"$T/used"
n=0
while read -r name kind; do
    case "$kind" in
    ENV_INDEX) bad=x1 good=0 ;;
    ENV_SECONDS) bad=-1 good=2.5 ;;
    ENV_BYTES) bad=0 good=4096 ;;
    ENV_KERNELS) bad=fast good=simple ;;
    ENV_BOOL01) bad=2 good=0 ;;
    ENV_WRITE) bad=both good=collective ;;
    ENV_DEAL) bad=tiles good=timepoints ;;
    ENV_SHAPE3) bad=1,2 good=1,2,3 ;;
    ENV_TO32) bad=33 good=32 ;;
    ENV_TO64) bad=65 good=64 ;;
    ENV_REG) bad=256 good=0 ;;
    ENV_INT4) bad=1,2,3 good=64,32,32,256 ;;
    *) echo "FAIL: $name: kind $kind has no case in this test" >&2; fail=1; continue ;;
    esac
    rc=0
    env "$name=$bad" "$LAPSE" run "$T/none.yaml" >"$T/out" 2>&1 || rc=$?
    if [ "$rc" -ne 2 ] || ! grep -qF "$name=$bad: expected" "$T/out"; then
        echo "FAIL: $name=$bad: exit $rc (want 2 naming the variable):" >&2
        cat "$T/out" >&2
        fail=1
    fi
    rc=0
    env "$name=$good" "$LAPSE" run "$T/none.yaml" >"$T/out" 2>&1 || rc=$?
    if grep -qF "$name=" "$T/out" || ! grep -q "none.yaml" "$T/out"; then
        echo "FAIL: $name=$good was refused, or the run did not reach the config (exit $rc):" >&2
        cat "$T/out" >&2
        fail=1
    fi
    n=$((n + 1))
done <"$T/table"
[ "$fail" -eq 0 ] || exit 1
echo "PASS: $(wc -l <"$T/used") LAPSE_* names in src/ are checked or exempt; $n variables refuse a malformed value (exit 2) and accept a well-formed one"
