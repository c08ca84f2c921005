#!/usr/bin/env bash
# compare.sh - `lapse compare` (tools/lapse_compare.py) on synthetic inputs with known
# differences (tests/py/compare_ref.py make): every number of --json equals an independent NumPy /
# SciPy computation (compare_ref.py voxels|labels|table) and the differences built in (known);
# HDF5, TIFF and CSV inputs (CSV columns named as their header writes them: "mean-intensity";
# pandas', Fiji's and Excel's CSV: unnamed row numbers, quotes, a byte order mark; an empty cell
# is NaN; a cell not a number, a timepoint not whole: exit 2);
# PNGs written; exit 2 with a message for a missing file or dataset, a directory (a Zarr store),
# a shape mismatch, a table against an image. Non-finite values (NaN, +-inf): identical images
# holding them at the same voxels are exact (max_abs 0, unequal 0) with finite statistics of the
# other pairs; pairs with NaN or inf on either side are left out of the statistics and counted
# (nonfinite), in images and tables; no RuntimeWarning on stderr. The plots' subsample of a large
# image covers every column. --percent: differences as a percentage of the pair's mean (a pair of
# mean 0 left out and counted), against the reference and a case by hand. No OpenCL device
# needed.
set -uo pipefail
: "${LAPSE:?set LAPSE to the lapse binary (ctest does)}"
LAPSE_SRC=${LAPSE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${LAPSE_PY:-/usr/bin/python3}
REF="$PY $LAPSE_SRC/tests/py/compare_ref.py"
fail() { echo "FAIL (compare): $*" >&2; exit 1; }
"$PY" -c 'import h5py, numpy, scipy, tifffile, matplotlib' 2>/dev/null ||
    { echo "SKIP: $PY lacks h5py/numpy/scipy/tifffile/matplotlib (tools/deps.sh)"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/lapse-compare.XXXXXX") || fail "mktemp"
trap 'rm -rf "$T"' EXIT
$REF make "$T" || fail "compare_ref.py make"

# cmp_ok NAME MODE A B [ARGS...]: lapse compare --json into $T/NAME.json, then the reference.
cmp_ok() {
    local name=$1 mode=$2 a=$3 b=$4
    shift 4
    local rc=0
    "$LAPSE" compare "$a" "$b" --mode "$mode" --json -o "$T/$name" "$@" >"$T/$name.json" \
        2>"$T/$name.err" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$T/$name.err"; fail "$name: lapse compare exited $rc"; }
    ! grep -q "Warning" "$T/$name.err" || { cat "$T/$name.err"; fail "$name: warnings on stderr"; }
    for p in scatter bland_altman; do
        "$PY" -c 'import sys, matplotlib.image as m; a = m.imread(sys.argv[1]); sys.exit(int(a.shape[0] < 300 or a.std() == 0))' \
            "$T/${name}_$p.png" || fail "$name: ${name}_$p.png missing, too small or blank"
    done
}
cmp_ok img voxels "$T/img.h5:/a" "$T/img.h5:/b"
$REF voxels "$T/img.h5:/a" "$T/img.h5:/b" "$T/img.json" || fail "voxels differ from NumPy"
cmp_ok imgtif voxels "$T/img.h5:/a" "$T/img_b.tif"
$REF voxels "$T/img.h5:/a" "$T/img_b.tif" "$T/imgtif.json" || fail "voxels (TIFF B) differ"
cmp_ok lab labels "$T/lab.h5:/a" "$T/lab.h5:/b"
$REF labels "$T/lab.h5:/a" "$T/lab.h5:/b" "$T/lab.json" || fail "labels differ from SciPy"
cmp_ok labtif labels "$T/lab.h5:/a" "$T/lab_b.tif" --iou 0.7
$REF labels "$T/lab.h5:/a" "$T/lab_b.tif" "$T/labtif.json" 0.7 || fail "labels (TIFF, IoU 0.7)"
cmp_ok tab table "$T/tab.h5:/a" "$T/tab.h5:/b" --column mean
$REF table "$T/tab.h5:/a" "$T/tab.h5:/b" "$T/tab.json" mean || fail "table differs"
cmp_ok tabcsv auto "$T/tab.h5:/a" "$T/tab_b.csv"
$REF table "$T/tab.h5:/a" "$T/tab_b.csv" "$T/tabcsv.json" area || fail "table (CSV) differs"
# column names as the header writes them (scikit-image's regionprops_table: "centroid-0"),
# not as NumPy's genfromtxt would rename them: the same numbers as /b's "mean" column
sed '1s/.*/frame,label,area,mean-intensity/' "$T/tab_b.csv" >"$T/tab_sk.csv"
cmp_ok tabsk table "$T/tab.h5:/a" "$T/tab_sk.csv" --column mean,mean-intensity
"$PY" -c 'import json, sys; a, b = (json.load(open(f)) for f in sys.argv[1:]); sys.exit(a["overall"] != b["overall"])' \
    "$T/tab.json" "$T/tabsk.json" || fail "a CSV column named mean-intensity: not the numbers of mean"
# an empty cell of a column of whole numbers is NaN (left out, counted), not genfromtxt's -1
sed '4s/^\([^,]*,[^,]*,\)[^,]*/\1/' "$T/tab_b.csv" >"$T/tab_empty.csv"
cmp_ok tabempty table "$T/tab.h5:/a" "$T/tab_empty.csv"
$REF table "$T/tab.h5:/a" "$T/tab_empty.csv" "$T/tabempty.json" area ||
    fail "an empty CSV cell is not NaN"
"$PY" -c 'import json, sys; o = json.load(open(sys.argv[1]))["overall"]; sys.exit(o["nonfinite"] != 1)' \
    "$T/tabempty.json" || fail "an empty CSV cell: not counted in nonfinite"
# as pandas (to_csv), Fiji and R write tables: a first column of row numbers without a name
# (pandas: empty, Fiji: " "); quoted names after a UTF-8 byte order mark (Excel): the same
# numbers as tab_b.csv
{
    echo ",frame,label,area,mean"
    tail -n +2 "$T/tab_b.csv" | awk '{ print NR - 1 "," $0 }'
} >"$T/tab_pandas.csv"
sed '1s/^,/ ,/' "$T/tab_pandas.csv" >"$T/tab_fiji.csv"
{
    printf '\xef\xbb\xbf"frame","label","area","mean"\n'
    tail -n +2 "$T/tab_b.csv"
} >"$T/tab_bom.csv"
for v in pandas fiji bom; do
    cmp_ok "tab$v" auto "$T/tab.h5:/a" "$T/tab_$v.csv"
    "$PY" -c 'import json, sys; a, b = (json.load(open(f)) for f in sys.argv[1:]); sys.exit(a["overall"] != b["overall"])' \
        "$T/tabcsv.json" "$T/tab$v.json" || fail "tab_$v.csv: not the numbers of tab_b.csv"
done
cmp_ok sum auto "$T/tab.h5:/sa" "$T/tab.h5:/sb"
$REF table "$T/tab.h5:/sa" "$T/tab.h5:/sb" "$T/sum.json" label_count || fail "summary differs"
# non-finite values: one side only (counted, left out), both sides alike (exact), in a table
cmp_ok nf voxels "$T/nf.h5:/a" "$T/nf.h5:/b"
$REF voxels "$T/nf.h5:/a" "$T/nf.h5:/b" "$T/nf.json" || fail "voxels with NaN/inf differ"
cmp_ok nfsame voxels "$T/nf.h5:/a" "$T/nf.h5:/same"
$REF voxels "$T/nf.h5:/a" "$T/nf.h5:/same" "$T/nfsame.json" same ||
    fail "identical voxels with NaN/inf differ"
cmp_ok tabnan table "$T/tab.h5:/na" "$T/tab.h5:/nb" --column mean
$REF table "$T/tab.h5:/na" "$T/tab.h5:/nb" "$T/tabnan.json" mean || fail "table with NaN/inf"
$REF known "$T" "$T" || fail "the built-in differences are not found"
# the proportional bias by hand: B = 1.1 A, so B - A = 0.1 A = (2 / 21) (A + B) / 2: slope 2/21,
# an interval of width 0 (no residual), and the text says the differences grow
"$PY" -c 'import h5py, numpy as np, sys
a = np.arange(1, 25, dtype=np.float64).reshape(2, 3, 4) * 10
with h5py.File(sys.argv[1], "w") as f:
    f["a"], f["b"] = a, a * 1.1' "$T/prop.h5" || fail "prop.h5"
cmp_ok prop voxels "$T/prop.h5:/a" "$T/prop.h5:/b"
"$PY" -c 'import json, sys
o = json.load(open(sys.argv[1]))["overall"]
w = 2 / 21
print("prop overall: slope %r %r (by hand %r)" % (o["slope"], o["slope_ci"], w))
sys.exit(not (abs(o["slope"] - w) < 1e-12 and all(abs(v - w) < 1e-9 for v in o["slope_ci"])))' \
    "$T/prop.json" || fail "proportional bias by hand"
"$LAPSE" compare "$T/prop.h5:/a" "$T/prop.h5:/b" --no-plots | grep -q "they grow with the values" ||
    fail "proportional bias: the text does not say the differences grow"
# --percent: differences as 100 (B - A) / mean, against the reference's own percentages
cmp_ok imgpct voxels "$T/img.h5:/a" "$T/img.h5:/b" --percent
$REF voxels "$T/img.h5:/a" "$T/img.h5:/b" "$T/imgpct.json" percent || fail "--percent voxels"
cmp_ok labpct labels "$T/lab.h5:/a" "$T/lab.h5:/b" --percent
$REF labels "$T/lab.h5:/a" "$T/lab.h5:/b" "$T/labpct.json" percent || fail "--percent labels"
cmp_ok tabpct table "$T/tab.h5:/na" "$T/tab.h5:/nb" --column mean --percent
$REF table "$T/tab.h5:/na" "$T/tab.h5:/nb" "$T/tabpct.json" mean percent || fail "--percent table"
# by hand: pairs (0, 0), (0, 1), (10, 11), (20, 22): the first has no percentage (left out,
# counted), the others differ by 200, 200 / 21 and 200 / 21 % of their means
"$PY" -c 'import h5py, numpy as np, sys
with h5py.File(sys.argv[1], "w") as f:
    f["a"] = np.array([[[0, 0], [10, 20]]], np.float32)
    f["b"] = np.array([[[0, 1], [11, 22]]], np.float32)' "$T/pct.h5" || fail "pct.h5"
cmp_ok pct voxels "$T/pct.h5:/a" "$T/pct.h5:/b" --percent
"$PY" -c 'import json, sys
o = json.load(open(sys.argv[1]))["overall"]
want = (200 + 400 / 21) / 3
ok = o["n"] == 3 and o["nonfinite"] == 1 and abs(o["bias"] - want) < 1e-9 * want
print("pct overall: n %d, nonfinite %d, bias %r (by hand %r)" % (o["n"], o["nonfinite"], o["bias"], want))
sys.exit(not ok)' "$T/pct.json" || fail "--percent by hand"

# The text form carries the same numbers (overall bias of the voxel comparison, 6 digits).
"$LAPSE" compare "$T/img.h5:/a" "$T/img.h5:/b" --no-plots >"$T/img.txt" || fail "text mode"
want=$("$PY" -c 'import json,sys; print("%.6g" % json.load(open(sys.argv[1]))["overall"]["bias"])' "$T/img.json")
grep -Eq "^ +all +11520 +0 +$want " "$T/img.txt" || { cat "$T/img.txt"; fail "text overall line"; }
# bit-identical with +-inf and NaN at the same 5 voxels: n 1435, nonfinite 5, bias 0, SD 0,
# limits 0, r 1, max_abs 0, unequal 0; one-sided infinities (t=1) give max_abs inf
"$LAPSE" compare "$T/nf.h5:/a" "$T/nf.h5:/same" --no-plots >"$T/nfsame.txt" 2>"$T/nfsame.err" ||
    fail "nf A against its copy"
grep -Eq "^ +all +1435 +5 +0 +0 +0 +0 +1 +0 +0$" "$T/nfsame.txt" && [ ! -s "$T/nfsame.err" ] ||
    { cat "$T/nfsame.txt" "$T/nfsame.err"; fail "nf A against its copy: not exact, finite"; }
"$LAPSE" compare "$T/nf.h5:/a" "$T/nf.h5:/b" --no-plots >"$T/nf.txt" 2>"$T/nf.err" || fail "nf"
grep -Eq "^ +1 +477 +3 .* inf +[0-9]+$" "$T/nf.txt" && [ ! -s "$T/nf.err" ] &&
    grep -q "^nonfinite: 8 pairs" "$T/nf.txt" ||
    { cat "$T/nf.txt" "$T/nf.err"; fail "nf: one-sided infinities, the nonfinite note"; }

# The plots' subsample of a large image covers every column: 4 x 100 x 500 x 8 voxels holding
# their x (a step of 8 voxels, the row length, drew x = 0 alone before 2026-12-04).
"$PY" - "$LAPSE_SRC/tools" "$T/alias.h5" <<'PY' || fail "the plots' subsample misses columns"
import sys
import h5py
import numpy as np
sys.path.insert(0, sys.argv[1])
import lapse_compare as c
x = np.broadcast_to(np.arange(8, dtype=np.uint16), (4, 100, 500, 8))
with h5py.File(sys.argv[2], "w") as f:
    f["a"], f["b"] = x, x * 2.0
_, (px, py, pt), _ = c.compare_voxels(*(c.Source(sys.argv[2] + d) for d in (":/a", ":/b")))
cols, n = np.unique(px, return_counts=True)
print("plot subsample: %d points, x values %s, %d to %d each" % (len(px), cols, n.min(), n.max()))
sys.exit(not (len(cols) == 8 and n.min() > 0.9 * n.max() and len(px) <= c.PLOT_POINTS
              and len(np.unique(pt)) == 4))
PY

# Errors: exit 2 and a message naming the problem.
err() {
    local want=$1
    shift
    local rc=0
    "$LAPSE" compare "$@" --no-plots >"$T/e.out" 2>"$T/e.err" || rc=$?
    [ "$rc" -eq 2 ] || { cat "$T/e.out" "$T/e.err"; fail "exit $rc (want 2) for: $*"; }
    grep -q "$want" "$T/e.err" || { cat "$T/e.err"; fail "no '$want' in the message for: $*"; }
}
err "no such file" "$T/nope.h5:/a" "$T/img.h5:/b"
mkdir -p "$T/store.zarr"
err "a directory (a Zarr store?): compare reads HDF5, TIFF and CSV" "$T/store.zarr" "$T/img.h5:/b"
err "no dataset /c" "$T/img.h5:/a" "$T/img.h5:/c"
err "name a dataset" "$T/img.h5" "$T/img.h5:/b"
err "shapes differ" "$T/img.h5:/a" "$T/img.h5:/short"
err "shapes differ" "$T/img.h5:/a" "$T/lab_b.tif"
err "needs two images, got an image ($T/img.h5:/a) and a table ($T/tab.h5:/a)" "$T/img.h5:/a" "$T/tab.h5:/a"
err "table needs two tables, got an image ($T/img.h5:/a) and an image" "$T/img.h5:/a" "$T/img.h5:/b" --mode table
err "no column" "$T/tab.h5:/a" "$T/tab.h5:/b" --column volume
err "label images hold integers" "$T/img.h5:/a" "$T/img.h5:/b" --mode labels
# a CSV cell that is not a number, a timepoint that is not whole: named, not a traceback (exit 1)
# nor a timepoint truncated to another (0.5 read as 0)
sed '3s/^\([^,]*,[^,]*,\)[^,]*/\1n\/a/' "$T/tab_b.csv" >"$T/tab_text.csv"
err "B (.*tab_text.csv): row 2: area 'n/a' is not a number" "$T/tab.h5:/a" "$T/tab_text.csv"
sed '3s/^[^,]*/0.5/' "$T/tab_b.csv" >"$T/tab_half.csv"
err "B (.*tab_half.csv): row 2: timepoint 0.5 is not a whole number" "$T/tab.h5:/a" "$T/tab_half.csv"
sed '3s/^[^,]*//' "$T/tab_b.csv" >"$T/tab_notp.csv"
err "row 2: timepoint nan is not a whole number" "$T/tab.h5:/a" "$T/tab_notp.csv"
# the plots' directory is checked before any work
rc=0
"$LAPSE" compare "$T/img.h5:/a" "$T/img.h5:/b" -o "$T/nodir/cmp" >"$T/e.out" 2>"$T/e.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "the directory $T/nodir does not exist" "$T/e.err" && [ ! -s "$T/e.out" ] ||
    { cat "$T/e.out" "$T/e.err"; fail "-o into a missing directory: exit $rc"; }
# identical images: 0 unequal voxels, max |B - A| 0 (the bit-for-bit check)
"$LAPSE" compare "$T/img.h5:/a" "$T/img.h5:/a" --no-plots >"$T/same.txt" || fail "A against A"
grep -Eq "^ +all +11520 +0 +0 +0 .* 0 +0$" "$T/same.txt" || { cat "$T/same.txt"; fail "A against A: not 0 unequal"; }
echo "PASS (compare): voxels, labels and tables agree with NumPy/SciPy; errors exit 2"
