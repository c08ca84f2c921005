#!/usr/bin/env bash
# test_inputs.sh - the input layouts end to end (io/reader.c, reader_tiff.c, reader_h5.c,
# reader_files.c): each layout, built by tifffile/h5py from the real files of ../shared/data, run
# through a gaussian_blur pipeline gives an output bit-identical to the same pipeline on the
# equivalent plain HDF5 input (/raw [t, z, y, x], written by numpy):
#   - the ImageJ ZCYX hyperstack xyzc_16bit__dna_conf_wf.tif, input.channel 1 (as it is);
#   - an ImageJ TZCYX hyperstack and an OME-TIFF TCZYX of it (2 timepoints), input.channel 0;
#   - an HDF5 [t,c,z,y,x] dataset of it, input.channel 1;
#   - one file per timepoint (input.files: 11 z-stacks tp_0 ... tp_10, natural order), untiled
#     on 1 rank and tiled on 2 ranks;
#   - int16, uint32 and float64 TIFF and HDF5 inputs, against the float32 HDF5 of the same
#     values (exactly representable);
#   - a BigDataViewer HDF5 file (int16 cells holding uint16 values above 32767, 2 setups),
#     found by its layout and with input.setup: 1, against the uint16 HDF5.
# Then the refusals, exit 2 before anything is written, naming the file or the key: an output
# that is the file a partitioned BigDataViewer input links to, a missing timepoint file, a
# timepoint file of another shape, a plane count that does not match the ImageJ axes, a channel
# out of range (file:line:column input.channel), a channel file without input.channel. The voxel
# size in the output (element_size_um) and in the dry-run plan (ImageJ spacing, HDF5
# element_size_um, input.voxel_size). Data: $LAPSE_DATA, ../shared/data, /work/shared/data.
source "$(dirname "$0")/common.sh"
need_device
"$LAPSE_PY" -c 'import tifffile' 2>/dev/null || fail "$LAPSE_PY lacks tifffile (tools/deps.sh)"
DATA=${LAPSE_DATA:-}
for d in "$DATA" "$LAPSE_SRC/../shared/data" /work/shared/data; do
    [ -n "$d" ] && [ -f "$d/xyzc_16bit__dna_conf_wf.tif" ] && DATA=$d && break
done
[ -f "$DATA/xyzc_16bit__dna_conf_wf.tif" ] || skip "no real data (set LAPSE_DATA)"

# config NAME INPUT_YAML TILES: $T/NAME.yaml, a gaussian blur of the input into $T/NAME.h5.
config() {
    cat >"$T/$1.yaml" <<YAML
input: {$2}
tiles: {shape: $3, halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1.5}
output: {file: $T/$1.h5}
devices: any
YAML
}

# same NAME INPUT_YAML REF_H5 TILES [RANKS]: the layout and REF_H5:/raw through the same
# pipeline give bit-identical outputs.
same() {
    local name=$1 input=$2 ref=$3 tiles=$4 n=${5:-1}
    config "$name" "$input" "$tiles"
    [ -f "$T/ref_$(basename "$ref").h5" ] || {
        config "ref_$(basename "$ref")" "file: $ref, dataset: /raw" "$tiles"
        lapse_run 1 "$T/ref_$(basename "$ref").yaml"
    }
    note "$name: {$input} on $n rank(s) vs $(basename "$ref")"
    lapse_run "$n" "$T/$name.yaml"
    py h5same.py "$T/$name.h5" "$T/ref_$(basename "$ref").h5" || fail "$name: differs from HDF5"
    "$LAPSE_PY" -c "import h5py,sys; a=h5py.File(sys.argv[1])['/result'][...]; assert a.std() > 0" \
        "$T/$name.h5" || fail "$name: constant output"
}

"$LAPSE_PY" - "$DATA" "$T" <<'PY' || fail "cannot write the layouts"
import os, sys
import h5py, numpy as np, tifffile
data, t = sys.argv[1], sys.argv[2]
p = lambda n: os.path.join(t, n)
def raw(name, a, **attrs):
    with h5py.File(p(name), "w") as f:
        d = f.create_dataset("raw", data=np.ascontiguousarray(a))
        for k, v in attrs.items():
            d.attrs[k] = v
zc = tifffile.imread(data + "/xyzc_16bit__dna_conf_wf.tif")          # Z C Y X uint16
tzc = np.stack([zc, np.roll(zc, 5, axis=3)])                         # T Z C Y X
raw("c1.h5", zc[:, 1][None])
raw("c0t.h5", tzc[:, :, 0])
raw("c1t.h5", tzc[:, :, 1])
tifffile.imwrite(p("tzcyx.tif"), tzc, imagej=True, metadata={"axes": "TZCYX"})
tifffile.imwrite(p("tczyx.ome.tif"), tzc.transpose(0, 2, 1, 3, 4), ome=True,
                 metadata={"axes": "TCZYX"})
# OME lengths in angstrom (y, x) and picometre (z): 2500 A = 0.25 um, 1.5e6 pm = 1.5 um
tifffile.imwrite(p("angstrom.ome.tif"), zc[:, 0], ome=True,
                 metadata={"axes": "ZYX", "PhysicalSizeX": 2500, "PhysicalSizeXUnit": "\u00c5",
                           "PhysicalSizeY": 2500, "PhysicalSizeYUnit": "\u00c5",
                           "PhysicalSizeZ": 1.5e6, "PhysicalSizeZUnit": "pm"})
with h5py.File(p("tczyx.h5"), "w") as f:
    f["raw"] = tzc.transpose(0, 2, 1, 3, 4)
# one file per timepoint: 11 shifted copies of an 8-bit z-stack
z8 = tifffile.imread(data + "/xyz_8bit__nuclei_autothresh.tif")       # Z Y X uint8
os.makedirs(p("tp"))
os.makedirs(p("gap"))
stack = []
for i in range(11):
    a = np.roll(z8, 3 * i, axis=2)
    stack.append(a)
    tifffile.imwrite(p("tp/tp_%d.tif" % i), a, imagej=True, metadata={"axes": "ZYX"})
    if i != 2 and i < 4:
        tifffile.imwrite(p("gap/tp_%d.tif" % i), a, imagej=True, metadata={"axes": "ZYX"})
raw("tp.h5", np.stack(stack))
# dtypes: int16, uint32, float64 of the tribolium crop; the float32 reference holds the same
# values exactly (|v| < 2^24; v / 8 is exact in float32)
tr = tifffile.imread(data + "/tribolium_sonneberg_crop.tif").astype(np.int64)  # Z Y X
i16 = (tr - 33200).astype(np.int16)
u32 = (tr * 97).astype(np.uint32)
f64 = tr / 8.0
plain = dict(photometric="minisblack", metadata=None)
tifffile.imwrite(p("i16.tif"), i16, **plain)
tifffile.imwrite(p("u32.tif"), u32, **plain)
tifffile.imwrite(p("f64.tif"), f64, **plain)
raw("i16.h5", i16[None])
raw("u32.h5", u32[None])
raw("f64.h5", f64[None])
raw("i16f.h5", i16[None].astype(np.float32))
raw("u32f.h5", u32[None].astype(np.float32))
raw("f64f.h5", f64[None].astype(np.float32))
# BigDataViewer: 3 timepoints x 2 setups of the crop times 2 (uint16 above 32767, stored int16)
bdv = np.stack([np.stack([np.roll(tr * 2 - 20000 * s, 4 * k, axis=1) for s in range(2)])
                for k in range(3)]).astype(np.uint16)                   # T S Z Y X
assert bdv.max() > 32767
with h5py.File(p("bdv.h5"), "w") as f:
    for s in range(2):
        f["s%02d/resolutions" % s] = np.array([[1.0, 1.0, 1.0]])
        f["s%02d/subdivisions" % s] = np.array([[32, 32, 16]])
    for k in range(3):
        for s in range(2):
            f.create_dataset("t%05d/s%02d/0/cells" % (k, s), data=bdv[k, s].view(np.int16),
                             chunks=(16, 32, 32))
# a partitioned BigDataViewer file: the timepoints' setups are external links to another file
with h5py.File(p("bdv_part.h5"), "w") as f:
    f["s00/resolutions"] = np.array([[1.0, 1.0, 1.0]])
    for k in range(3):
        f["t%05d/s00" % k] = h5py.ExternalLink("bdv.h5", "t%05d/s00" % k)
raw("bdv0.h5", bdv[:, 0])
raw("bdv1.h5", bdv[:, 1])
raw("esz.h5", tr[None].astype(np.uint16), element_size_um=np.array([2.0, 0.5, 0.25]))
# the same stack stored 3-D: read as [t, y, x]; its 3 element sizes say z-stack (a warning)
raw("esz3.h5", tr.astype(np.uint16), element_size_um=np.array([2.0, 0.5, 0.25]))
# refused: a description whose plane count does not match the pages; a timepoint file of
# another shape
tifffile.imwrite(p("mismatch.tif"), tr[:4].astype(np.uint16), photometric="minisblack",
                 metadata=None, description="ImageJ=1.11a\nimages=6\nslices=2\nframes=3\n")
os.makedirs(p("odd"))
for i in range(3):
    tifffile.imwrite(p("odd/tp_%d.tif" % i), z8[:, : 118 - (i == 2)], imagej=True,
                     metadata={"axes": "ZYX"})
PY

same zcyx "file: $DATA/xyzc_16bit__dna_conf_wf.tif, channel: 1" "$T/c1.h5" "[45, 130, 133]"
# the voxel size read from the ImageJ description and resolution tags reaches the output
"$LAPSE_PY" - "$T/zcyx.h5" <<'PY' || fail "zcyx: element_size_um of the output"
import sys, h5py, numpy as np
got = h5py.File(sys.argv[1])["/result"].attrs["element_size_um"]
want = np.array([0.4994126016284111, 1e6 / 1953591, 1e6 / 1953591], np.float32)
assert np.array_equal(got, want), (got, want)
PY
same ij_tzcyx "file: $T/tzcyx.tif, channel: 0" "$T/c0t.h5" "[45, 130, 133]"
same ome_tczyx "file: $T/tczyx.ome.tif, channel: 0" "$T/c0t.h5" "[45, 130, 133]"
same h5_tczyx "file: $T/tczyx.h5, dataset: /raw, channel: 1" "$T/c1t.h5" "[45, 130, 133]"
same files1 "files: \"$T/tp/tp_*.tif\"" "$T/tp.h5" "[37, 118, 132]"
config files_tiled "files: \"$T/tp/tp_*.tif\"" "[13, 50, 61]"
lapse_run 2 "$T/files_tiled.yaml"
py h5same.py "$T/files_tiled.h5" "$T/files1.h5" || fail "files: tiled on 2 ranks differs"
for d in i16 u32 f64; do
    same "${d}_tif" "file: $T/$d.tif" "$T/${d}f.h5" "[75, 133, 133]"
    same "${d}_h5" "file: $T/$d.h5, dataset: /raw" "$T/${d}f.h5" "[75, 133, 133]"
done
same bdv_auto "file: $T/bdv.h5" "$T/bdv0.h5" "[75, 133, 133]"
same bdv_setup1 "file: $T/bdv.h5, setup: 1" "$T/bdv1.h5" "[75, 133, 133]" 2
same bdvp "file: $T/bdv_part.h5" "$T/bdv0.h5" "[75, 133, 133]"
config bdv_alias "file: $T/bdv_part.h5" "[75, 133, 133]"
sed -i "s|output: {file: .*}|output: {file: $T/bdv.h5, mode: overwrite}|" "$T/bdv_alias.yaml"
before=$(sha "$T/bdv.h5")
expect_rc 2 "$T/bdv_alias.log" mpirun_lapse 1 run "$T/bdv_alias.yaml"
grep -q "output.file: the output file .*/bdv.h5 is read by the input .*external link" "$T/bdv_alias.log" ||
    { cat "$T/bdv_alias.log"; fail "bdv_alias: no clear message"; }
[ "$(sha "$T/bdv.h5")" = "$before" ] || fail "bdv_alias: the input changed"

# Refusals: exit 2, the file or the key named, nothing written.
refuse() { # NAME INPUT_YAML WORDS...
    local name=$1 input=$2
    shift 2
    config "$name" "$input" "[8, 64, 64]"
    expect_rc 2 "$T/$name.log" mpirun_lapse 1 run "$T/$name.yaml"
    for w in "$@"; do
        grep -qF -- "$w" "$T/$name.log" || { cat "$T/$name.log"; fail "$name: no '$w'"; }
    done
    [ ! -e "$T/$name.h5" ] || fail "$name: an output was written"
}
refuse gap "files: \"$T/gap/tp_*.tif\"" "input.files" "timepoint number 2 is missing" "tp_1.tif"
refuse odd "files: \"$T/odd/tp_*.tif\"" "input.files" "odd/tp_2.tif (timepoint 2)" "y=117" \
    "must match"
refuse mismatch "file: $T/mismatch.tif" "input.file: " "mismatch.tif: the ImageJ hyperstack" \
    "describes 6 planes (t=3, z=2, c=1) but the file has 4 pages"
refuse chan_range "file: $DATA/xyzc_16bit__dna_conf_wf.tif, channel: 2" \
    "$T/chan_range.yaml:1:" "input.channel: " "input.channel 2 is out of range" "2 channels"
refuse chan_none "file: $DATA/xyzc_16bit__dna_conf_wf.tif" "xyzc_16bit__dna_conf_wf.tif" \
    "2 channels: choose one with input.channel"
refuse chan_plain "file: $T/tp.h5, dataset: /raw, channel: 0" "input.channel: " "no channel axis"

# The voxel size in the dry-run plan: from the ImageJ description, from element_size_um, and
# from the config.
plan() { # NAME INPUT_YAML WANT
    config "$1" "$2" "[8, 64, 64]"
    run_ok "$T/$1.log" mpirun_lapse 1 run "$T/$1.yaml" --dry-run
    grep -qF -- "$3" "$T/$1.log" || { cat "$T/$1.log"; fail "$1: no '$3' in the plan"; }
}
plan vs_ij "file: $DATA/xyz_8bit__nuclei_autothresh.tif" "voxel      [4, 0.828643, 0.828643] um"
plan files_t0 "files: \"$T/tp/tp_*.tif\"" "t=0 is $T/tp/tp_0.tif, t=10 is $T/tp/tp_10.tif"
plan vs_h5 "file: $T/esz.h5, dataset: /raw" "voxel      [2, 0.5, 0.25] um"
plan vs_angstrom "file: $T/angstrom.ome.tif" "voxel      [1.5, 0.25, 0.25] um"
plan vs_cfg "file: $T/esz.h5, dataset: /raw, voxel_size: [3, 1, 1]" \
    "voxel      [3, 1, 1] um (z, y, x; 0 = unknown) from input.voxel_size"
config esz3run "file: $T/esz3.h5, dataset: /raw" "[1, 64, 64]"
run_ok "$T/esz3.log" mpirun_lapse 1 run "$T/esz3run.yaml"
grep -q "warning: $T/esz3.h5: the 3-D dataset is read as \[t, y, x\], .* element_size_um has 3 values" \
    "$T/esz3.log" || { cat "$T/esz3.log"; fail "a 3-D dataset with a z element size: no warning"; }
! grep -q "warning: .*element_size_um" "$T/vs_h5.log" || fail "a warning for a [1, z, y, x] stack"
# lapse's own [t, y, x] output (element_size_um [1, y, x] for Fiji, axes "tyx") read back as an
# input: [t, y, x] with its y, x size, and no warning
"$LAPSE_PY" - "$T/esz3run.h5" <<'PY' || fail "element_size_um / axes of a [t, y, x] output"
import sys, h5py, numpy as np
d = h5py.File(sys.argv[1], "r")["/result"]
assert d.ndim == 3 and list(d.attrs["element_size_um"]) == list(np.float32([1, 0.5, 0.25])), d.attrs
assert d.attrs["axes"] in (b"tyx", "tyx"), d.attrs["axes"]
PY
plan vs_own "file: $T/esz3run.h5, dataset: /result" "voxel      [0, 0.5, 0.25] um"
! grep -q "warning: .*element_size_um" "$T/vs_own.log" || { cat "$T/vs_own.log"; fail "a warning for lapse's own [t, y, x] output"; }
echo "PASS ($TEST_NAME)"
