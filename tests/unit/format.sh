#!/usr/bin/env bash
# format.sh - every C source and header of the repository (src/, tests/, bench/, tools/) is as
# .clang-format formats it, so that a change never mixes layout with content. Fix with:
#   clang-format -i FILE...
# Exits 77 (skipped) when clang-format is not installed (tools/deps.sh installs it).
set -euo pipefail
: "${LAPSE_SRC:?set LAPSE_SRC to the repository root (ctest does)}"
command -v clang-format >/dev/null || { echo "SKIP: clang-format not installed"; exit 77; }
cd "$LAPSE_SRC"
mapfile -t files < <(find src tests bench tools -name '*.[ch]' -type f | sort)
[ ${#files[@]} -gt 0 ] || { echo "FAIL: no C files found under $LAPSE_SRC" >&2; exit 1; }
if ! clang-format --dry-run --Werror "${files[@]}"; then
    echo "FAIL: the files named above are not clang-formatted: clang-format -i FILE..." >&2
    exit 1
fi
echo "PASS: ${#files[@]} C files are clang-formatted ($(clang-format --version | head -1))"
