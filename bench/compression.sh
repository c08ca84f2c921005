#!/usr/bin/env bash
# compression.sh - output.compression measured (issue 12, docs/io.md): ratio and cost of none,
# gzip:1, gzip (4), blosc:lz4 and blosc:zstd on lapse's outputs of a sample and of the real data
# in ../shared/data, on whatever device `devices: any` finds (the cost is the host's: the
# filters run on the writing ranks' CPUs).
#
#   bench/compression.sh [BUILD]     (default build; logs and table under $OUT, default
#                                     /tmp/lapse-compression)
# Cases: (sample) `lapse sample` NT x SHAPE uint16 (default 10 x 64,512,512) through gaussian
# sigma 2 (saved /blurred, float32) -> top-hat r (1,3,3) -> threshold 20 (/result, uint8);
# (real) each TIFF time-lapse or stack of ../shared/data run through the same pipeline, and
# (real-labels) cancer_cell_migration_crop.tif through voronoi_otsu_labeling (uint32 labels).
# For each: lapse's run clock with 1 rank per codec (median of REPS, default 3) and the bytes each
# dataset takes in the file (H5Dget_storage_size) against its raw bytes; every compressed output
# is checked equal to the uncompressed one (h5py; blosc through build/plugins). Then the codecs
# alone on the uncompressed outputs' chunks (Python's zlib and python3-blosc, one thread): MB/s
# of compression and decompression, so that a codec's cost is known apart from the run.
set -uo pipefail
BUILD=${1:-build}
L=$PWD/$BUILD/lapse
export HDF5_PLUGIN_PATH=$PWD/$BUILD/plugins
O=${OUT:-/tmp/lapse-compression}
NT=${NT:-10}
SHAPE=${SHAPE:-64,512,512}
REPS=${REPS:-3}
DATA=${DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
[ -d "$DATA" ] || DATA=/work/shared/data
PY=${LAPSE_PY:-/usr/bin/python3}
mkdir -p "$O"
CODECS="none gzip:1 gzip blosc:lz4 blosc:zstd"

# run CASE INPUT PIPELINE_YAML: every codec REPS times; a line per (codec, run)
run_case() {
    local case=$1 in=$2 pipe=$3 c r
    for c in $CODECS; do
        for r in $(seq "$REPS"); do
            local out="$O/$case-${c/:/_}.h5"
            rm -f "$out"
            cat >"$O/$case.yaml" <<YAML
input: {file: $in$( [ "${in##*.}" = h5 ] && echo ", dataset: /raw")}
pipeline:
$pipe
output: {file: $out, dataset: /result, mode: create, compression: "$c"}
devices: any
YAML
            "$L" run "$O/$case.yaml" >"$O/$case-${c/:/_}-$r.log" 2>&1 || { cat "$O/$case-${c/:/_}-$r.log"; exit 1; }
            sed -n "s/.*done: [0-9]* tasks in \([0-9.]*\) s.*/$case $c \1/p" "$O/$case-${c/:/_}-$r.log"
        done
    done
}

E2E="  - {op: gaussian_blur, sigma: 2, save: /blurred}
  - {op: top_hat_box, radius: [1, 3, 3]}
  - {op: threshold_fixed, threshold: 20}"
VOL="  - {op: voronoi_otsu_labeling, spot_sigma: 2, outline_sigma: 2}"

[ -f "$O/sample.h5" ] || "$L" sample "$O/sample.h5" --timepoints "$NT" --shape "$SHAPE" --seed 1 >/dev/null
{
    run_case sample "$O/sample.h5" "$E2E"
    for f in cancer_cell_migration_crop tribolium_sonneberg_crop laptrack_nuclei_images; do
        run_case "$f" "$DATA/$f.tif" "$E2E"
    done
    run_case cancer-labels "$DATA/cancer_cell_migration_crop.tif" "$VOL"
} | tee "$O/times.txt"

"$PY" - "$O" "$CODECS" <<'PY' | tee "$O/table.md"
import os, sys, time, statistics, zlib
import h5py, numpy as np
import blosc
o, codecs = sys.argv[1], sys.argv[2].split()
times = {}
for line in open(os.path.join(o, "times.txt")):
    case, c, s = line.split()
    times.setdefault((case, c), []).append(float(s))
cases = []
for case, c in times:
    if case not in cases:
        cases.append(case)
print("| case | dataset | dtype, shape | codec | stored / raw | ratio | run s (median) |")
print("|---|---|---|---|---|---|---|")
for case in cases:
    ref = h5py.File(os.path.join(o, case + "-none.h5"), "r")
    for c in codecs:
        f = h5py.File(os.path.join(o, "%s-%s.h5" % (case, c.replace(":", "_"))), "r")
        for p in [k for k in ("/result", "/blurred") if k in f]:
            d = f[p]
            if d[()].tobytes() != ref[p][()].tobytes():
                print("MISMATCH", case, c, p)
                sys.exit(1)
            raw, stored = d.size * d.dtype.itemsize, d.id.get_storage_size()
            print("| %s | %s | %s %s | %s | %.1f / %.1f MB | %.2f | %.3f |" % (
                case, p, d.dtype, "x".join(map(str, d.shape)), c, stored / 1e6, raw / 1e6,
                raw / stored, statistics.median(times[(case, c)])))
        f.close()
print()
print("Codecs alone, one thread, on each uncompressed output's chunks (timepoints): MB/s of raw data")
print()
print("| case | dataset | codec | ratio | compress MB/s | decompress MB/s |")
print("|---|---|---|---|---|---|")
blosc.set_nthreads(1)
for case in cases:
    ref = h5py.File(os.path.join(o, case + "-none.h5"), "r")
    for p in [k for k in ("/result", "/blurred") if k in ref]:
        a = ref[p][()]
        chunks = [np.ascontiguousarray(a[t]) for t in range(a.shape[0])]
        raw = sum(x.nbytes for x in chunks)
        for name, comp, dec in (
            ("gzip:1", lambda b, ts: zlib.compress(b, 1), zlib.decompress),
            ("gzip:4", lambda b, ts: zlib.compress(b, 4), zlib.decompress),
            ("blosc:lz4", lambda b, ts: blosc.compress(b, typesize=ts, clevel=5, shuffle=blosc.SHUFFLE, cname="lz4"), blosc.decompress),
            ("blosc:zstd", lambda b, ts: blosc.compress(b, typesize=ts, clevel=5, shuffle=blosc.SHUFFLE, cname="zstd"), blosc.decompress)):
            ts = a.dtype.itemsize
            best_c = best_d = 1e9
            for _ in range(3):
                t0 = time.perf_counter(); cs = [comp(x.tobytes(), ts) for x in chunks]; t1 = time.perf_counter()
                for z in cs:
                    dec(z)
                t2 = time.perf_counter()
                best_c, best_d = min(best_c, t1 - t0), min(best_d, t2 - t1)
            print("| %s | %s | %s | %.2f | %.0f | %.0f |" % (case, p, name, raw / sum(len(z) for z in cs),
                                                             raw / best_c / 1e6, raw / best_d / 1e6))
PY
