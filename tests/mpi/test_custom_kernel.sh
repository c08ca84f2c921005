#!/usr/bin/env bash
# test_custom_kernel.sh - custom_kernel end to end: a user's OpenCL C file next to the config.
#
# The example kernel configs/custom_mean.cl (a 3x3x3 mean in mean_box's arithmetic) as
# my_filter.cl equals mean_box radius 1 bit for bit and SciPy's uniform_filter within 1e-5
# relative; a second user kernel (a maximum over y +-2, x +-1, plus params[0], dtype same:
# uint16) equals SciPy's maximum_filter + 5 exactly. Both runs - untiled on 1 rank, odd tiles
# [5, 17, 23] on 2 ranks - are bit-identical. The same two kernels on the 2-D time-lapse
# /raw2d [t, y, x] (plane z = 5 of /raw; the mean with reach [0, 1, 1]: its z reads clamp to the
# one plane) equal mean_box bit for bit, SciPy's 3x3 uniform_filter within 1e-5 and the (5, 3)
# maximum_filter + 5 exactly, untiled on 1 rank and with tiles [1, 17, 23] on 2 ranks alike.
# A kernel with a syntax error is refused with exit 2 before anything is written (the message,
# printed once, names the config's source key and my_filter.cl:LINE of the error); so is a
# missing kernel file. An output made with the kernel is
# not continued once the kernel file is edited (its text is in the fingerprint: exit 2, the
# output unchanged), and is continued with the original text. A kernel file with a UTF-8
# byte-order mark gives the same bits; `#include` is refused at its line (exit 2, nothing
# written); a quote and a backslash in the config's directory leave the build log's file:line
# intact.
source "$(dirname "$0")/common.sh"
need_device
make_sample
# The 2-D time-lapse: plane z = 5 of /raw as /raw2d [t, y, x].
"$LAPSE_PY" -c "import h5py, sys
with h5py.File(sys.argv[1], 'a') as f:
    f['/raw2d'] = f['/raw'][:, 5]" "$IN" || fail "cannot write /raw2d"
W=$T/work
mkdir -p "$W"
cp "$LAPSE_SRC/configs/custom_mean.cl" "$W/my_filter.cl" || fail "no configs/custom_mean.cl"
cat >"$W/ymax.cl" <<'CL'
/* ymax.cl - the maximum over y +-2, x +-1 (reach [0, 2, 1]), plus p[0] */
float lapse_user(const __global float *in, int4 dim, int4 pos, __constant float *p)
{
    float m = lapse_at(in, dim, pos.x, pos.y, pos.z);
    for (int dy = -2; dy <= 2; dy++)
        for (int dx = -1; dx <= 1; dx++)
            m = fmax(m, lapse_at(in, dim, pos.x + dx, pos.y + dy, pos.z));
    return m + p[0];
}
CL

# config NAME TILES OUT [SOURCE [DATASET REACH]]: the test pipeline in $W/NAME.yaml (source
# relative to $W; DATASET /raw and the mean's REACH 1 unless given).
config() {
    cat >"$W/$1.yaml" <<YAML
input: {file: $IN, dataset: ${5:-/raw}}
tiles: {shape: $2}
pipeline:
  - {op: custom_kernel, source: ${4:-my_filter.cl}, reach: ${6:-1}, params: [0.3333333333333333], save: /custom}
  - {op: custom_kernel, from: input, source: ymax.cl, reach: [0, 2, 1], dtype: same, params: [5], save: /ymax}
  - {op: mean_box, from: input, radius: 1}
output: {file: $3, dataset: /result}
devices: any
YAML
}

note "untiled (1 rank) and odd tiles (2 ranks), on [t, z, y, x] and on [t, y, x] data"
config whole "[$NZ, $NY, $NX]" "$T/whole.h5"
config tiled "[5, 17, 23]" "$T/tiled.h5"
config whole2d "[1, $NY, $NX]" "$T/whole2d.h5" my_filter.cl /raw2d "[0, 1, 1]"
config tiled2d "[1, 17, 23]" "$T/tiled2d.h5" my_filter.cl /raw2d "[0, 1, 1]"
lapse_run 1 "$W/whole.yaml"
lapse_run 2 "$W/tiled.yaml"
lapse_run 1 "$W/whole2d.yaml"
lapse_run 2 "$W/tiled2d.yaml"
py h5same.py "$T/whole.h5" "$T/tiled.h5" || fail "tiled differs from untiled"
py h5same.py "$T/whole2d.h5" "$T/tiled2d.h5" || fail "2-D: tiled differs from untiled"
nonconstant "$T/whole.h5" /custom /ymax
nonconstant "$T/whole2d.h5" /custom /ymax
# check OUT DATASET: OUT's kernels against mean_box and SciPy on IN's DATASET (z, y, x or y, x).
check() {
    "$LAPSE_PY" - "$1" "$IN" "$2" <<'PY' || fail "$2: custom kernels differ from their references"
import sys
import h5py
import numpy as np
from scipy import ndimage
with h5py.File(sys.argv[1], "r") as f, h5py.File(sys.argv[2], "r") as g:
    custom, mean, ymax = f["/custom"][()], f["/result"][()], f["/ymax"][()]
    raw = g[sys.argv[3]][()]
assert custom.dtype == np.float32 and ymax.dtype == np.uint16, (custom.dtype, ymax.dtype)
assert custom.shape == ymax.shape == raw.shape, (custom.shape, ymax.shape, raw.shape)
if custom.tobytes() != mean.tobytes():
    i = np.argwhere(custom != mean)[0]
    sys.exit("custom mean != mean_box at %s: %r vs %r" % (tuple(i), custom[tuple(i)], mean[tuple(i)]))
for t in range(raw.shape[0]):
    a = raw[t].astype(np.float64)
    ref = ndimage.uniform_filter(a, size=3, mode="nearest")  # 3x3x3, or 3x3 on a plane
    err = np.abs(custom[t] - ref).max() / np.abs(ref).max()
    if err > 1e-5:
        sys.exit("t=%d: custom mean off uniform_filter by %g relative" % (t, err))
    mx = np.minimum(ndimage.maximum_filter(a, size=(1, 5, 3)[3 - a.ndim:], mode="nearest") + 5,
                    65535)
    if not np.array_equal(ymax[t], mx.astype(np.uint16)):
        sys.exit("t=%d: ymax != maximum_filter + 5" % t)
print("%s: references ok" % sys.argv[3])
PY
}
check "$T/whole.h5" /raw
check "$T/whole2d.h5" /raw2d

# listing DIR: its files with checksums, logs/ left out (nothing else may appear or change on a
# refusal).
listing() { (cd "$1" && find . -path ./logs -prune -o -type f -exec sha256sum {} + | sort); }
L=$T/logs
mkdir -p "$L"

note "a kernel with a syntax error: exit 2, nothing written"
LINE=$(grep -n 'const float w = p\[0\];' "$W/my_filter.cl" | cut -d: -f1)
[ -n "$LINE" ] || fail "cannot find the line to break in my_filter.cl"
mkdir -p "$W/bad"
sed "${LINE}s/p\[0\];/p[0]/" "$W/my_filter.cl" >"$W/bad/my_filter.cl"
cp "$W/ymax.cl" "$W/bad/"
mkdir -p "$T/badout"
config bad/bad "[5, 17, 23]" "$T/badout/out.h5"
before=$(listing "$T")
expect_rc 2 "$L/bad.log" mpirun_lapse 2 run "$W/bad/bad.yaml"
[ "$(listing "$T")" = "$before" ] || { diff <(echo "$before") <(listing "$T") >&2; fail "a refused run wrote files"; }
[ -z "$(ls -A "$T/badout")" ] || fail "files at the output path: $(ls -A "$T/badout")"
grep -q "bad.yaml:4:33: pipeline\[0\].source: " "$L/bad.log" ||
    { cat "$L/bad.log" >&2; fail "the message does not name the config's source key"; }
grep -q "my_filter.cl:$LINE:" "$L/bad.log" ||
    { cat "$L/bad.log" >&2; fail "the build log does not name my_filter.cl:$LINE"; }
[ "$(grep -c "pipeline\[0\].source: " "$L/bad.log")" -eq 1 ] ||
    { cat "$L/bad.log" >&2; fail "the message was printed more than once"; }

note "a missing kernel file: exit 2 at the source key, on 2 ranks"
config nofile "[5, 17, 23]" "$T/badout/out.h5" nothere.cl
expect_rc 2 "$L/nofile.log" mpirun_lapse 2 run "$W/nofile.yaml"
grep -q "nofile.yaml:4:33: pipeline\[0\].source: cannot open the kernel file" "$L/nofile.log" ||
    { cat "$L/nofile.log" >&2; fail "no message at the source key"; }
[ -z "$(ls -A "$T/badout")" ] || fail "files at the output path: $(ls -A "$T/badout")"

note "a kernel file with a byte-order mark builds, with the same results"
mkdir -p "$W/bom"
{ printf '\xef\xbb\xbf'; cat "$W/my_filter.cl"; } >"$W/bom/my_filter.cl"
cp "$W/ymax.cl" "$W/bom/"
config bom/bom "[$NZ, $NY, $NX]" "$T/bom.h5"
lapse_run 1 "$W/bom/bom.yaml"
py h5same.py "$T/whole.h5" "$T/bom.h5" || fail "the kernel with a byte-order mark gave other results"

note "#include in a kernel file: refused at its line (the included text would escape the fingerprint)"
mkdir -p "$W/inc"
{ echo "/* helpers */"; echo '  #  include "helper.h"'; cat "$W/my_filter.cl"; } >"$W/inc/my_filter.cl"
echo "#define W 1.0f" >"$W/inc/helper.h"
cp "$W/ymax.cl" "$W/inc/"
config inc/inc "[5, 17, 23]" "$T/badout/out.h5"
expect_rc 2 "$L/inc.log" mpirun_lapse 1 run "$W/inc/inc.yaml"
grep -q "inc.yaml:4:33: pipeline\[0\].source: .*inc/my_filter.cl:2: #include is not supported" "$L/inc.log" ||
    { cat "$L/inc.log" >&2; fail "#include not refused at the kernel file's line"; }
[ -z "$(ls -A "$T/badout")" ] || fail "files at the output path: $(ls -A "$T/badout")"

note "a quote and a backslash in the config's directory: the build log still names the file"
Q="$W/q\"d\\b"
mkdir -p "$Q"
cp "$W/bad/my_filter.cl" "$W/ymax.cl" "$Q/"
config 'q"d\b/q' "[5, 17, 23]" "$T/badout/out.h5"
expect_rc 2 "$L/quote.log" mpirun_lapse 1 run "$Q/q.yaml"
grep -qF "q\"d\\b/my_filter.cl:$LINE:" "$L/quote.log" ||
    { cat "$L/quote.log" >&2; fail "the build log does not name q\"d\\b/my_filter.cl:$LINE"; }
! grep -q "extra tokens\|unknown escape" "$L/quote.log" || { cat "$L/quote.log" >&2; fail "the #line name was not escaped"; }

note "an edited kernel does not continue an output"
config part "[5, 17, 23]" "$T/part.h5"
lapse_run 2 "$W/part.yaml" --timepoints 0-1
cp "$W/my_filter.cl" "$T/my_filter.orig"
echo "/* edited */" >>"$W/my_filter.cl"
sum=$(sha "$T/part.h5")
expect_rc 2 "$L/edited.log" mpirun_lapse 2 run "$W/part.yaml"
grep -qi "different config" "$L/edited.log" || { cat "$L/edited.log" >&2; fail "not refused as a different config"; }
[ "$(sha "$T/part.h5")" = "$sum" ] || fail "the refused run changed the output"
cp "$T/my_filter.orig" "$W/my_filter.cl"
lapse_run 2 "$W/part.yaml"
grep -q "continuing" "$T/last.log" || { cat "$T/last.log" >&2; fail "the original kernel did not continue the output"; }
py h5same.py "$T/whole.h5" "$T/part.h5" || fail "the continued output differs from one run"
echo "PASS ($TEST_NAME)"
