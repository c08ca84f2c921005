#!/usr/bin/env bash
# test_bdv.sh - the BigDataViewer files beside an HDF5 output (io/bdv_xml.c) and the voxel size
# on every output dataset, checked by tests/py/check_bdv.py against BigDataViewer's conventions
# (the XML parsed with xml.etree; every dataset it references opened with h5py and equal to
# lapse's): an HDF5 input without a voxel size (1 1 1 pixel), a 4-D saved step and a 3-D
# projection as two setups, tiled on 2 ranks; an OME-Zarr input (the voxel size from its
# metadata, in micrometres); input.voxel_size overriding both; a uint16 result above 32767 and a
# float32 step with fractions, exact in the cells read in their dataType (as BigDataViewer 10.4.6
# and later reads them). Then the files survive a
# continued run, an update and an overwrite (rewritten, still valid, no temporary file left);
# an OUT.xml lapse did not write, or a symbolic link at OUT.bdv.h5, is left alone with a warning
# and the run still succeeds. Steps that change the geometry (resample, downsample_bin,
# radial_reslice, a projection) give their result its own voxel size in all three places, and
# those that move the first voxel (crop, downsample_bin, resample) its position: the BigDataViewer
# affine's translation and an OME-Zarr translation, so that the result overlays the input.
# The BigDataViewer files of one output are not another's whose name makes the same paths
# (run.h5 and run.hdf5 both make run.xml / run.bdv.h5): left alone with a warning, and a Zarr
# output of the other name does not remove them.
# The same output name made again with format: zarr removes lapse's OUT.xml / OUT.bdv.h5 (they
# would show its empty HDF5 datasets as black images) and leaves a foreign OUT.xml alone.
source "$(dirname "$0")/common.sh"
need_device
"$LAPSE_PY" -c 'import zarr, numcodecs' 2>/dev/null || fail "$LAPSE_PY lacks zarr (tools/deps.sh)"
make_sample

# config NAME INPUT [EXTRA_INPUT_KEYS] [MODE]
config() {
    local ds=""
    case $2 in *.h5) ds=", dataset: /raw" ;; esac
    cat >"$T/$1.yaml" <<YAML
input: {file: $2$ds${3:+, $3}}
tiles: {shape: [9, 31, 40], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1, save: /blurred}
  - {op: maximum_z_projection}
output: {file: $T/$1.h5, mode: ${4:-create}}
devices: any
YAML
}

note "HDF5 input, no voxel size: 1 1 1 pixel"
config plain "$IN"
lapse_run 2 "$T/plain.yaml"
py check_bdv.py "$T/plain.h5" 1 1 1 pixel || fail "plain: BDV files"

note "OME-Zarr input: the voxel size of its metadata"
"$LAPSE_PY" - "$IN" "$T/in.ome.zarr" <<'PY' || fail "cannot write the OME-Zarr input"
import sys, h5py, numcodecs, zarr
with h5py.File(sys.argv[1], "r") as f:
    a = f["/raw"][...]
root = zarr.open_group(zarr.DirectoryStore(sys.argv[2]), mode="w")
root.create_dataset("0", data=a, chunks=(1, 8, 32, 32), compressor=numcodecs.Blosc("lz4"))
axes = [{"name": "t", "type": "time"}] + [
    {"name": n, "type": "space", "unit": "nanometer"} for n in "zyx"]
root.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": [
    {"path": "0", "coordinateTransformations": [{"type": "scale",
                                                  "scale": [1, 2000, 325, 250]}]}]}]
PY
config ome "$T/in.ome.zarr"
lapse_run 1 "$T/ome.yaml"
py check_bdv.py "$T/ome.h5" 2 0.325 0.25 µm || fail "ome: BDV files"

note "input.voxel_size overrides the input's"
config given "$T/in.ome.zarr" "voxel_size: [3, 0.5, 0.5]"
lapse_run 1 "$T/given.yaml"
py check_bdv.py "$T/given.h5" 3 0.5 0.5 µm || fail "given: BDV files"

note "uint16 above 32767 and float32 fractions reach BigDataViewer exact (its dataType reads)"
cat >"$T/wide.yaml" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [9, 31, 40], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1, save: /blurred}
  - {op: multiply_scalar, value: 40.3}
output: {file: $T/wide.h5, dtype: uint16}
devices: any
YAML
lapse_run 2 "$T/wide.yaml"
py check_bdv.py "$T/wide.h5" 1 1 1 pixel || fail "wide: BDV files"
"$LAPSE_PY" - "$T/wide.h5" "$T/wide.bdv.h5" <<'PY' || fail "wide: the values BigDataViewer reads"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f, h5py.File(sys.argv[2], "r") as b:
    big = b["t00001/s01/0/cells"][...]  # read in the setup's dataType, as BDV >= 10.4.6 does
    frac = b["t00001/s00/0/cells"][...]
    assert big.dtype == np.uint16 and big.max() > 40000, (big.dtype, big.max())
    assert np.array_equal(big, f["/result"][1]), "uint16 cells differ from the output"
    assert frac.dtype == np.float32 and np.any(frac != np.round(frac)), "no fractions kept"
    assert b["s01"].attrs["dataType"] in (b"uint16", "uint16")
PY

note "a continued run, an update, an overwrite: the files are rewritten and stay valid"
config resume "$IN" "voxel_size: 2"
lapse_run 1 "$T/resume.yaml" --timepoints 0-1
py check_bdv.py "$T/resume.h5" 2 2 2 µm || fail "resume (first part): BDV files"
lapse_run 2 "$T/resume.yaml"
grep -q "continuing" "$T/last.log" || fail "the second run did not continue the first"
py check_bdv.py "$T/resume.h5" 2 2 2 µm || fail "resume: BDV files"
# a corrected voxel size on the complete output: nothing to do, and said (not silently ignored)
config resume "$IN" "voxel_size: [1, 0.5, 0.5]"
lapse_run 1 "$T/resume.yaml"
grep -q "note: this config gives $T/resume.h5:/result the voxel size \[1, 0.5, 0.5\] um, but the output records \[2, 2, 2\]" \
    "$T/last.log" || { cat "$T/last.log"; fail "a changed voxel size on a complete output: no note"; }
config resume "$IN" "voxel_size: [1, 0.5, 0.5]" update
lapse_run 2 "$T/resume.yaml" --timepoints 2
py check_bdv.py "$T/resume.h5" 1 0.5 0.5 µm || fail "update: BDV files"
config resume "$IN" "" overwrite
lapse_run 1 "$T/resume.yaml"
py check_bdv.py "$T/resume.h5" 1 1 1 pixel || fail "overwrite: BDV files"

note "steps that change the geometry change the voxel size (HDF5, BigDataViewer, OME-Zarr)"
# geo NAME STEP [FORMAT]: the input with voxel size [4, 0.8, 0.5] through STEP, one timepoint.
geo() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: /raw, voxel_size: [4, 0.8, 0.5]}
timepoints: "0"
pipeline:
  - $2
output: {file: $T/$1.h5${3:+, format: $3}}
devices: any
YAML
    lapse_run 1 "$T/$1.yaml"
}
geo iso "{op: resample, scale: [4.9, 1, 1]}"
geo isoz "{op: resample, scale: [4.9, 1.6, 1]}" zarr
geo bin "{op: downsample_bin, factor: [2, 3, 4]}"
geo binz "{op: downsample_bin, factor: [$((NZ + 8)), 1, 1]}" # one partial block of NZ planes
geo radial "{op: radial_reslice, angle_step: 30}"
geo proj "{op: maximum_z_projection}"
geo crop "{op: crop, start: [2, 10, 20], size: [5, 30, 40]}"
geo cropz "{op: crop, start: [2, 10, 20], size: [5, 30, 40]}" zarr
"$LAPSE_PY" - "$T" "$NZ" "$NY" <<'PY' || fail "voxel sizes and positions after geometric steps"
import json, sys
import xml.etree.ElementTree as ET
import h5py
import numpy as np
t, nz, ny = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
zo = round(nz * 4.9)  # resample's output planes: the voxel is 4 * nz / zo
yo = round(ny * 1.6)
want = {"iso": [4 * nz / zo, 0.8, 0.5], "bin": [8, 2.4, 2.0], "radial": None,
        "proj": [4.0, 0.8, 0.5], "binz": [4.0 * nz, 0.8, 0.5]}
bad = 0
for name, w in want.items():
    with h5py.File("%s/%s.h5" % (t, name), "r") as f:
        e = f["/result"].attrs.get("element_size_um")
    ok = e is None if w is None else (e is not None and list(e) == list(np.float32(w)))
    if not ok:
        print("%s: element_size_um %s, expected %s" % (name, e, w))
        bad += 1
    root = ET.parse("%s/%s.xml" % (t, name)).getroot()
    size = [float(v) for v in root.find(".//ViewSetup/voxelSize/size").text.split()][::-1]
    xw = {"radial": [1.0, 4.0, 0.5], "proj": [4.0, 0.8, 0.5]}.get(name, w)
    if not np.allclose(size, xw, rtol=1e-12):
        print("%s: BigDataViewer voxelSize (z y x) %s, expected %s" % (name, size, xw))
        bad += 1
# the centre of the result's voxel 0 in the input's frame (micrometres, z y x): a crop's start,
# a block's centre ((f - 1) / 2 input voxels in), a resampling's first sample (0.5 r - 0.5)
rz, ry = nz / zo, ny / yo
org = {"iso": [(0.5 * rz - 0.5) * 4, 0, 0], "bin": [2.0, 0.8, 0.75], "radial": [0, 0, 0],
       "proj": [0, 0, 0], "crop": [8.0, 8.0, 10.0], "binz": [0.5 * (nz - 1) * 4, 0, 0]}
for name, o in org.items():
    root = ET.parse("%s/%s.xml" % (t, name)).getroot()
    a = [float(v) for v in root.find(".//ViewRegistration/ViewTransform/affine").text.split()]
    if not np.allclose([a[11], a[7], a[3]], o, rtol=1e-12, atol=1e-12):
        print("%s: BigDataViewer translation (z y x) %s, expected %s" % (name, [a[11], a[7], a[3]], o))
        bad += 1
for name, s, o in (("isoz", [1.0, 4 * rz, 0.8 * ry, 0.5], [0, (0.5 * rz - 0.5) * 4, (0.5 * ry - 0.5) * 0.8, 0]),
                   ("cropz", [1.0, 4, 0.8, 0.5], [0, 8.0, 8.0, 10.0])):
    ct = json.load(open("%s/%s.zarr/result/.zattrs" % (t, name)))["multiscales"][0]["datasets"][0]["coordinateTransformations"]
    if len(ct) != 2 or ct[0]["type"] != "scale" or ct[1]["type"] != "translation" or \
            not np.allclose(ct[0]["scale"], s, rtol=1e-12) or not np.allclose(ct[1]["translation"], o, rtol=1e-12):
        print("%s: OME-Zarr transformations %s, expected scale %s, translation %s" % (name, ct, s, o))
        bad += 1
sys.exit(1 if bad else 0)
PY

note "an OUT.xml that lapse did not write is left alone"
echo '<my-own-notes/>' >"$T/foreign.xml"
config foreign "$IN"
lapse_run 1 "$T/foreign.yaml"
grep -q "warning: no BigDataViewer XML for $T/foreign.h5: .*foreign.xml.* not written by lapse" \
    "$T/last.log" || { cat "$T/last.log"; fail "foreign XML: no warning"; }
[ "$(cat "$T/foreign.xml")" = '<my-own-notes/>' ] || fail "foreign XML was overwritten"
mkdir "$T/elsewhere"
echo 'not yours' >"$T/elsewhere/target"
ln -s "$T/elsewhere/target" "$T/linked.bdv.h5"
config linked "$IN"
lapse_run 1 "$T/linked.yaml"
grep -q "warning: no BigDataViewer XML for $T/linked.h5: .*not written by lapse" "$T/last.log" ||
    { cat "$T/last.log"; fail "symbolic link at OUT.bdv.h5: no warning"; }
[ "$(cat "$T/elsewhere/target")" = 'not yours' ] && [ -L "$T/linked.bdv.h5" ] ||
    fail "the symbolic link at OUT.bdv.h5 was followed or replaced"
[ ! -e "$T/linked.xml" ] || fail "an XML naming a foreign OUT.bdv.h5 was written"

note "the same output name again in format: zarr: lapse's BigDataViewer files go, others stay"
sed 's|mode: create}|mode: overwrite, format: zarr}|' "$T/plain.yaml" >"$T/plainz.yaml"
[ -f "$T/plain.xml" ] && [ -f "$T/plain.bdv.h5" ] || fail "the HDF5 run left no BigDataViewer files"
lapse_run 1 "$T/plainz.yaml"
[ ! -e "$T/plain.xml" ] && [ ! -e "$T/plain.bdv.h5" ] ||
    fail "the BigDataViewer files of the HDF5 output stayed beside a Zarr output (black in Fiji)"
grep -q "removed the BigDataViewer files of an earlier HDF5 output of $T/plain.h5" "$T/last.log" ||
    { cat "$T/last.log"; fail "the removal was not said"; }
sed 's|mode: create}|mode: overwrite, format: zarr}|' "$T/foreign.yaml" >"$T/foreignz.yaml"
lapse_run 1 "$T/foreignz.yaml"
[ "$(cat "$T/foreign.xml")" = '<my-own-notes/>' ] || fail "a foreign XML was removed for a Zarr output"

note "another output whose name makes the same BigDataViewer paths leaves them alone"
sed "s|$T/plain.h5|$T/twin.h5|" "$T/plain.yaml" >"$T/twin1.yaml"
sed -e "s|$T/plain.h5|$T/twin.hdf5|" -e 's|gaussian_blur, sigma: 1|gaussian_blur, sigma: 2|' \
    "$T/plain.yaml" >"$T/twin2.yaml"
lapse_run 1 "$T/twin1.yaml"
cp "$T/twin.xml" "$T/twin1.xml.saved"
cp "$T/twin.bdv.h5" "$T/twin1.bdv.saved"
lapse_run 1 "$T/twin2.yaml"
grep -q "warning: no BigDataViewer XML for $T/twin.hdf5: .*not written by lapse for $T/twin.hdf5" \
    "$T/last.log" || { cat "$T/last.log"; fail "twin: no warning"; }
cmp -s "$T/twin.xml" "$T/twin1.xml.saved" && cmp -s "$T/twin.bdv.h5" "$T/twin1.bdv.saved" ||
    fail "twin.hdf5's run replaced the BigDataViewer files of twin.h5 (Fiji would show its results)"
sed -e 's|mode: create}|mode: create, format: zarr}|' -e "s|$T/twin.hdf5|$T/twin|" \
    "$T/twin2.yaml" >"$T/twin3.yaml"
lapse_run 1 "$T/twin3.yaml"
cmp -s "$T/twin.xml" "$T/twin1.xml.saved" && cmp -s "$T/twin.bdv.h5" "$T/twin1.bdv.saved" ||
    fail "a Zarr output named twin removed the BigDataViewer files of twin.h5"
echo "PASS ($TEST_NAME)"
