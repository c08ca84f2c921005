#!/usr/bin/env bash
# test_tiff.sh - TIFF input end to end (io/reader_tiff.c): the real files of ../shared/data read
# directly as TIFF through a gaussian_blur pipeline give outputs bit-identical to the same data
# converted to HDF5 (tests/py/tif2h5.py), and tiled on 2 ranks equal untiled on 1. The files:
# laptrack_nuclei_images (plain multi-page, read as one z-stack, which plan and run warn of;
# also rewritten by tifffile as an ImageJ TYX hyperstack and as an OME-TIFF TYX: 6 timepoints,
# no warning; and read with input.axes: tyx, equal to the ImageJ rewrite; input.axes refused
# on a file that names other axes and on HDF5), xyz_8bit__nuclei_autothresh
# (ImageJ ZYX uint8), tribolium_sonneberg_crop (ImageJ ZYX uint16; also rewritten as a tiled,
# zlib-compressed BigTIFF). Then the refusals before anything is written: a channel axis
# without input.channel (xyzc_16bit__dna_conf_wf; test_inputs.sh reads its channels), and an output file that is the input TIFF. The data directory:
# $LAPSE_DATA, else ../shared/data next to the repository, else /work/shared/data; skipped
# when none exists.
source "$(dirname "$0")/common.sh"
need_device
"$LAPSE_PY" -c 'import tifffile' 2>/dev/null || fail "$LAPSE_PY lacks tifffile (tools/deps.sh)"
DATA=${LAPSE_DATA:-}
for d in "$DATA" "$LAPSE_SRC/../shared/data" /work/shared/data; do
    [ -n "$d" ] && [ -f "$d/laptrack_nuclei_images.tif" ] && DATA=$d && break
done
[ -f "$DATA/laptrack_nuclei_images.tif" ] || skip "no real data (set LAPSE_DATA)"

# config NAME INPUT TILES [OUTFILE]: $T/NAME.yaml, a gaussian blur of INPUT into $T/NAME.h5.
# A TIFF input has no input.dataset; an HDF5 one reads /raw.
config() {
    local ds=""
    case $2 in *.h5) ds=", dataset: /raw" ;; esac
    cat >"$T/$1.yaml" <<YAML
input: {file: $2$ds}
tiles: {shape: $3, halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1.5}
output: {file: ${4:-$T/$1.h5}}
devices: any
YAML
}

# Rewrites of the real data by tifffile: ImageJ TYX, OME-TIFF TYX, tiled zlib BigTIFF, a
# one-IFD big-endian ImageJ stack (ImageJ's format beyond 4 GiB).
"$LAPSE_PY" - "$DATA" "$T" <<'PY' || fail "cannot write the TIFF variants"
import sys, tifffile
data, t = sys.argv[1], sys.argv[2]
a = tifffile.imread(data + "/laptrack_nuclei_images.tif")
tifffile.imwrite(t + "/lap_ij.tif", a, imagej=True, metadata={"axes": "TYX"})
tifffile.imwrite(t + "/lap.ome.tif", a, ome=True, metadata={"axes": "TYX"})
with tifffile.TiffFile(data + "/tribolium_sonneberg_crop.tif") as f:
    b, desc = f.asarray(), f.pages[0].description  # ImageJ's, with its signed 16-bit calibration
tifffile.imwrite(t + "/trib_big.tif", b, bigtiff=True, tile=(32, 48), compression="zlib",
                 photometric="minisblack", metadata=None, description=desc)
# one IFD for all 75 planes, big-endian: as ImageJ writes stacks beyond 4 GiB
tifffile.imwrite(t + "/trib_one.tif", b, imagej=True, truncate=True, byteorder=">",
                 metadata={"axes": "ZYX"})
PY

# check NAME TIFF AXES WHOLE TILES [H5SRC]: TIFF untiled on 1 rank, tiled on 2 ranks, and the
# HDF5 conversion (of H5SRC, default TIFF) as AXES untiled on 1 rank: all bit-identical.
check() {
    local name=$1 tif=$2 axes=$3 whole=$4 tiles=$5 src=${6:-$2}
    py tif2h5.py "$src" "$T/$name.in.h5" "$axes" || fail "cannot convert $src"
    config "${name}_tif1" "$tif" "$whole"
    config "${name}_tif2" "$tif" "$tiles"
    config "${name}_h5" "$T/$name.in.h5" "$whole"
    note "$name: $tif untiled on 1 rank, tiles $tiles on 2 ranks, vs HDF5 ($axes)"
    lapse_run 1 "$T/${name}_tif1.yaml"
    lapse_run 2 "$T/${name}_tif2.yaml"
    lapse_run 1 "$T/${name}_h5.yaml"
    py h5same.py "$T/${name}_tif1.h5" "$T/${name}_h5.h5" || fail "$name: TIFF input differs from HDF5"
    py h5same.py "$T/${name}_tif1.h5" "$T/${name}_tif2.h5" || fail "$name: tiled differs from untiled"
    "$LAPSE_PY" - "$T/${name}_tif1.h5" "$T/$name.in.h5" <<'PY' || fail "$name: output shape"
import sys, h5py
with h5py.File(sys.argv[1]) as o, h5py.File(sys.argv[2]) as i:
    assert o["/result"].shape == i["/raw"].shape, (o["/result"].shape, i["/raw"].shape)
    assert o["/result"][...].std() > 0, "constant output"
PY
}

check lap_pages "$DATA/laptrack_nuclei_images.tif" ZYX "[6, 200, 200]" "[3, 61, 47]"
check lap_ij "$T/lap_ij.tif" TYX "[1, 200, 200]" "[1, 61, 47]"

# A plain multi-page TIFF names no axes: plan and run say that its pages were taken as z
# planes; a file that names its axes (ImageJ TYX) gets no such warning.
note "plain multi-page TIFF: the assumed axes are said by plan and run"
config lap_warn "$DATA/laptrack_nuclei_images.tif" "[6, 200, 200]"
run_ok "$T/lap_warn_plan.log" "$LAPSE" plan "$T/lap_warn.yaml"
grep -q "names no axes" "$T/lap_warn_plan.log" || fail "plan does not warn: $(cat "$T/lap_warn_plan.log")"
lapse_run 1 "$T/lap_warn.yaml"
grep -q "warning: .*laptrack_nuclei_images.tif: the TIFF names no axes" "$T/last.log" ||
    fail "run does not warn of the assumed axes: $(cat "$T/last.log")"
run_ok "$T/lap_ij_plan.log" "$LAPSE" plan "$T/lap_ij_tif1.yaml"
! grep -q "names no axes" "$T/lap_ij_plan.log" || fail "an ImageJ TYX file is warned about its axes"
# input.axes: tyx reads the plain file's pages as 6 timepoints of one plane: the same output
# as the ImageJ TYX rewrite, with no warning; untiled and tiled agree.
note "plain multi-page TIFF with input.axes: tyx"
for v in 1:"[1, 200, 200]" 2:"[1, 61, 47]"; do
    sed "s|^input: {file: \(.*\)}|input: {file: \1, axes: tyx}|" "$T/lap_warn.yaml" |
        sed "s|shape: \[6, 200, 200\]|shape: ${v#*:}|; s|lap_warn.h5|lap_tyx${v%%:*}.h5|" \
            >"$T/lap_tyx${v%%:*}.yaml"
    lapse_run "${v%%:*}" "$T/lap_tyx${v%%:*}.yaml"
    ! grep -q "names no axes" "$T/last.log" || fail "input.axes: tyx still warns of assumed axes"
done
py h5same.py "$T/lap_tyx1.h5" "$T/lap_ij_tif1.h5" ||
    fail "input.axes: tyx differs from the ImageJ TYX file"
py h5same.py "$T/lap_tyx1.h5" "$T/lap_tyx2.h5" || fail "input.axes: tyx: tiled differs"
# input.axes against a file's own axes, or on an HDF5 input: exit 2 at input.axes, nothing written
sed "s|^input: {file: \(.*\)}|input: {file: \1, axes: tyx}|; s|lap_warn.h5|ij_tyx.h5|" \
    "$T/lap_warn.yaml" | sed "s|$DATA/laptrack_nuclei_images.tif|$DATA/xyz_8bit__nuclei_autothresh.tif|" \
    >"$T/ij_tyx.yaml"
expect_rc 2 "$T/ij_tyx.log" "$LAPSE" run "$T/ij_tyx.yaml"
grep -q "ij_tyx.yaml:[0-9]*:[0-9]*: input.axes: .*input.axes is tyx, but the file's ImageJ" \
    "$T/ij_tyx.log" || { cat "$T/ij_tyx.log"; fail "input.axes against ImageJ ZYX: no clear message"; }
[ ! -e "$T/ij_tyx.h5" ] || fail "input.axes against ImageJ ZYX: an output was written"
sed "s|dataset: /raw}|dataset: /raw, axes: zyx}|; s|lap_h5.h5|h5_axes.h5|" "$T/lap_ij_h5.yaml" \
    >"$T/h5_axes.yaml"
expect_rc 2 "$T/h5_axes.log" "$LAPSE" run "$T/h5_axes.yaml"
grep -q "input.axes: .*input.axes is for a TIFF file that names no axes" "$T/h5_axes.log" ||
    { cat "$T/h5_axes.log"; fail "input.axes on HDF5: no clear message"; }
[ ! -e "$T/h5_axes.h5" ] || fail "input.axes on HDF5: an output was written"
check lap_ome "$T/lap.ome.tif" TYX "[1, 200, 200]" "[1, 70, 90]"
check xyz8 "$DATA/xyz_8bit__nuclei_autothresh.tif" ZYX "[37, 118, 132]" "[11, 50, 41]"
check trib "$DATA/tribolium_sonneberg_crop.tif" ZYX "[75, 133, 133]" "[20, 64, 50]"
# The tribolium crop is an ImageJ signed 16-bit image (stored + 32768, calibration c0=-32768):
# lapse reads the values Fiji shows (tif2h5.py's reference applies the same rule), so a
# threshold of 1000 keeps nothing (the stored values are 32925-33586, the signed ones 157-818).
note "trib: ImageJ's signed 16-bit calibration is applied"
sed -e 's|gaussian_blur, sigma: 1.5|threshold_fixed, threshold: 1000|' -e 's|trib_tif1.h5|trib_thr.h5|' \
    "$T/trib_tif1.yaml" >"$T/trib_thr.yaml"
lapse_run 1 "$T/trib_thr.yaml"
"$LAPSE_PY" - "$T/trib_thr.h5" "$T/trib.in.h5" <<'PY' || fail "trib: the calibration was not applied"
import sys, h5py
with h5py.File(sys.argv[1]) as o, h5py.File(sys.argv[2]) as i:
    raw = i["/raw"]
    assert raw.dtype == "int16" and 100 < raw[...].min() and raw[...].max() < 1000, (raw.dtype, raw[...].min())
    assert not o["/result"][...].any(), "voxels above 1000: the stored values were read"
PY
check trib_one "$T/trib_one.tif" ZYX "[75, 133, 133]" "[20, 64, 50]"
check trib_big "$T/trib_big.tif" ZYX "[75, 133, 133]" "[20, 64, 50]" "$DATA/tribolium_sonneberg_crop.tif"

# Refusals: exit 2, the file and the reason, nothing written.
if [ -f "$DATA/xyzc_16bit__dna_conf_wf.tif" ]; then
    config chan "$DATA/xyzc_16bit__dna_conf_wf.tif" "[8, 64, 64]"
    expect_rc 2 "$T/chan.log" "$LAPSE" run "$T/chan.yaml"
    grep -q "xyzc_16bit__dna_conf_wf.tif: .*2 channels: choose one with input.channel" \
        "$T/chan.log" || { cat "$T/chan.log"; fail "channel axis: no clear message"; }
    [ ! -e "$T/chan.h5" ] || fail "channel axis: an output was written"
fi
# output.file naming the input TIFF: refused for its TIFF name already (lapse writes HDF5)
cp "$T/lap_ij.tif" "$T/self.tif"
before=$(sha "$T/self.tif")
config self "$T/self.tif" "[1, 200, 200]" "$T/self.tif"
expect_rc 2 "$T/self.log" "$LAPSE" run "$T/self.yaml"
grep -q "output.file: '$T/self.tif' is a tiff name, but lapse writes an HDF5 file there" \
    "$T/self.log" || { cat "$T/self.log"; fail "output = input TIFF: no clear message"; }
[ "$(sha "$T/self.tif")" = "$before" ] || fail "output = input TIFF: the input changed"
# the same TIFF under a name without a suffix (read by its content): refused as the input
cp "$T/lap_ij.tif" "$T/selfraw"
before=$(sha "$T/selfraw")
config selfraw "$T/selfraw" "[1, 200, 200]" "$T/selfraw"
expect_rc 2 "$T/selfraw.log" "$LAPSE" run "$T/selfraw.yaml"
grep -q "output.file: the output file is the input file" "$T/selfraw.log" ||
    { cat "$T/selfraw.log"; fail "output = input TIFF (no suffix): no clear message"; }
[ "$(sha "$T/selfraw")" = "$before" ] || fail "output = input TIFF (no suffix): the input changed"
echo "PASS ($TEST_NAME)"
