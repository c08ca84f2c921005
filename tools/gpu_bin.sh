#!/usr/bin/env bash
# gpu_bin.sh - assemble gpu-bin/ (git-ignored through .git/info/exclude) for the lent GPU machine
# (docs/gpu.md): a Release build in build-gpu/ of the given targets (default: lapse), copied
# into gpu-bin/, and into gpu-bin/lib the libraries that machine lacks and .gpu/ (the staged
# Debian runtime packages, ../shared/gpu/stage.sh) does not bring: libtiff and its codecs,
# blosc and its codecs, Check's libsubunit. Usage: tools/gpu_bin.sh [TARGET...]
# Env: LAPSE_GPU_BUILD (default build-gpu), LAPSE_GPU_BIN (default gpu-bin).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
b=${LAPSE_GPU_BUILD:-build-gpu}
out=${LAPSE_GPU_BIN:-gpu-bin}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(lapse)
grep -qxF "/$out/" .git/info/exclude 2>/dev/null || echo "/$out/" >>.git/info/exclude
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$b" -j"$(nproc)" --target "${targets[@]}"
mkdir -p "$out/lib"
for t in "${targets[@]}"; do
    cp "$b/$t" "$out/"
    ldd "$b/$t" | awk '$3 ~ /^\// {print $3}' |
        grep -E 'lib(tiff|webp|sharpyuv|Lerc|jbig|jpeg|deflate|lz4|zstd|lzma|blosc|snappy|subunit)[.-]' |
        while read -r l; do cp -L "$l" "$out/lib/"; done
done
echo "gpu-bin: $(ls "$out" | tr '\n' ' ')($(du -sh "$out" | cut -f1)); carry .gpu and $out"
