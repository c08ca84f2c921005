#!/usr/bin/env bash
# test_docs_examples.sh - every single-line pipeline step in the ```yaml blocks of docs/config.md
# ("  - {op: ...}") is a valid step: each runs as the last step (a step with save: as the one
# before a pass-through, since the last step's result is output.dataset) of a config with `lapse run
# --dry-run` (validation and the plan, nothing written) on a small sample, after one step per
# name it reads (from: / with:, other than input) made from the input. A step the docs show
# that lapse refuses fails the test with lapse's message.
set -euo pipefail
: "${LAPSE:?set LAPSE to the lapse binary (ctest does)}"
: "${LAPSE_SRC:?set LAPSE_SRC to the repository root (ctest does)}"
PY=${LAPSE_PY:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$LAPSE" sample "$tmp/in.h5" --timepoints 2 --shape 12,160,170 --seed 3 >/dev/null
"$PY" - "$LAPSE_SRC/docs/config.md" "$tmp" <<'PY'
import re, sys
doc, tmp = sys.argv[1], sys.argv[2]
lines, inside, n = open(doc).read().splitlines(), False, 0
for no, line in enumerate(lines, 1):
    if line.strip().startswith("```"):
        inside = line.strip() == "```yaml" and not inside
        continue
    if not inside or not re.match(r"^\s+- \{op: ", line):
        continue
    step = re.sub(r"\}\s*#.*$", "}", line).strip()  # the trailing comment dropped
    names = [m for m in re.findall(r"\b(?:from|with): *([A-Za-z_][A-Za-z0-9_]*)", step)
             if m != "input"]
    pre = "".join(f"  - {{op: multiply_scalar, value: 1, from: input, name: {m}}}\n"
                  for m in dict.fromkeys(names))
    # a step that saves its result is not the last one (whose result is output.dataset)
    post = "  - {op: multiply_scalar, value: 1}\n" if re.search(r"\bsave:", step) else ""
    n += 1
    with open(f"{tmp}/c{n:03d}.yaml", "w") as f:
        f.write(f"# docs/config.md:{no}\ninput: {{file: {tmp}/in.h5, dataset: /raw}}\n"
                f"tiles: {{shape: auto, halo: auto}}\npipeline:\n{pre}  {step}\n{post}"
                f"output: {{file: {tmp}/out{n:03d}.h5, dataset: /result}}\ndevices: any\n")
print(n, file=open(f"{tmp}/count", "w"))
PY
n=$(cat "$tmp/count")
[ "$n" -ge 40 ] || { echo "FAIL: only $n example steps found in docs/config.md" >&2; exit 1; }
fail=0
for c in "$tmp"/c*.yaml; do
    if ! out=$("$LAPSE" run "$c" --dry-run 2>&1); then
        echo "FAIL: $(head -1 "$c" | cut -c3-): $(sed -n '/^  - /p' "$c" | tail -1)" >&2
        echo "$out" | tail -3 >&2
        fail=1
    fi
    if ls "$tmp"/out*.h5 >/dev/null 2>&1; then
        echo "FAIL: --dry-run wrote an output ($c)" >&2
        fail=1
    fi
done
[ "$fail" = 0 ] || exit 1
echo "PASS: the $n single-line example steps of docs/config.md are valid"
