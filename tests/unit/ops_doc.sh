#!/usr/bin/env bash
# ops_doc.sh - docs/operations.md must be exactly what `lapse ops --markdown` prints, so that
# the operation reference never drifts from the registry. Regenerate it with:
#   build/lapse ops --markdown > docs/operations.md
set -euo pipefail
: "${LAPSE:?set LAPSE to the lapse binary (ctest does)}"
: "${LAPSE_SRC:?set LAPSE_SRC to the repository root (ctest does)}"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$LAPSE" ops --markdown >"$tmp"
"$LAPSE" ops >/dev/null
if ! diff -u "$LAPSE_SRC/docs/operations.md" "$tmp"; then
    echo "FAIL: docs/operations.md differs from 'lapse ops --markdown' (diff above);" \
         "regenerate it: build/lapse ops --markdown > docs/operations.md" >&2
    exit 1
fi
n=$(grep -c '^| `' "$tmp")
echo "PASS: docs/operations.md lists the $n registered operations"
