#!/usr/bin/env bash
# test_zarr.sh - Zarr input end to end (io/reader_zarr.c): the standard sample written by Python
# zarr as three stores, an OME-Zarr (NGFF 0.4, blosc-zstd, level 0 of two), a plain array with
# zlib chunks and "/" chunk keys, and a raw array whose all-zero chunks are not written (read
# as the fill value), each run through a pipeline with a saved step, untiled on 1 rank and tiled
# on 2 ranks: every output bit-identical to the same pipeline on the HDF5 input; channel 1 of a
# 3-channel [t,c,z,y,x] OME-Zarr (input.channel) likewise, and the channel errors. Then the
# failures: a malformed .zarray is exit 2 before anything is written, naming the file; a
# damaged chunk is a runtime failure (exit 1) naming the chunk file.
source "$(dirname "$0")/common.sh"
need_device
"$LAPSE_PY" -c 'import zarr, numcodecs' 2>/dev/null || fail "$LAPSE_PY lacks zarr (tools/deps.sh)"
make_sample

# The sample with a block of zeros (whole chunks of the raw store, which are then not written),
# saved back as HDF5 and as the three stores.
"$LAPSE_PY" - "$IN" "$T" <<'PY' || fail "cannot write the Zarr stores"
import sys, h5py, numcodecs, zarr, os
src, t = sys.argv[1], sys.argv[2]
with h5py.File(src, "r") as f:
    a = f["/raw"][...]
a[1, 0:8, 0:16, 0:32] = 0          # whole chunks of raw.zarr: chunks (1, 8, 16, 32)
with h5py.File(t + "/in0.h5", "w") as f:
    f["/raw"] = a
root = zarr.open_group(zarr.DirectoryStore(t + "/ome.ome.zarr"), mode="w")
root.create_dataset("0", data=a, chunks=(1, 7, 32, 40),
                    compressor=numcodecs.Blosc("zstd", 3, numcodecs.Blosc.SHUFFLE))
root.create_dataset("1", data=a[:, :, ::2, ::2], chunks=(1, 7, 32, 40))
axes = [{"name": "t", "type": "time"}] + [
    {"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"]
root.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": [
    {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 2.0, 0.5, 0.5]}]},
    {"path": "1", "coordinateTransformations": [{"type": "scale", "scale": [1, 2.0, 1.0, 1.0]}]}]}]
z = zarr.open_array(zarr.DirectoryStore(t + "/nested.zarr", dimension_separator="/"), mode="w",
                    shape=a.shape, chunks=(2, 5, 17, 23), dtype=a.dtype,
                    compressor=numcodecs.Zlib(level=3))
z[...] = a
r = zarr.open_array(zarr.DirectoryStore(t + "/raw.zarr"), mode="w", shape=a.shape,
                    chunks=(1, 8, 16, 32), dtype=a.dtype, compressor=None, fill_value=0,
                    write_empty_chunks=False)
r[...] = a
# an OME-Zarr [t, c, z, y, x] of 3 channels, the sample as channel 1 (chunks of 2 channels)
import numpy as np
c5 = np.stack([a // 2, a, a[:, :, ::-1, :]], axis=1)
ch = zarr.open_group(zarr.DirectoryStore(t + "/chan.ome.zarr"), mode="w")
ch.create_dataset("0", data=c5, chunks=(1, 2, 7, 32, 40),
                  compressor=numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE))
axes5 = [{"name": "t", "type": "time"}, {"name": "c", "type": "channel"}] + [
    {"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"]
ch.attrs["multiscales"] = [{"version": "0.4", "axes": axes5, "datasets": [
    {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 2.0, 0.5, 0.5]}]}]}]
assert not os.path.exists(t + "/raw.zarr/1.0.0.0"), "an all-zero chunk was written"
assert os.path.exists(t + "/raw.zarr/0.0.0.0")
PY

# config NAME INPUT TILES: a pipeline with a saved step, INPUT into $T/NAME.h5.
config() {
    local ds=""
    case $2 in *.h5) ds=", dataset: /raw" ;; esac
    cat >"$T/$1.yaml" <<YAML
input: {file: $2$ds}
tiles: {shape: $3, halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: [1, 1.5, 1.5], save: /blurred}
  - {op: top_hat_box, radius: [1, 2, 2]}
output: {file: $T/$1.h5}
devices: any
YAML
}

config ref "$T/in0.h5" "[$NZ, $NY, $NX]"
lapse_run 1 "$T/ref.yaml"
nonconstant "$T/ref.h5" /result /blurred
for store in ome.ome.zarr nested.zarr raw.zarr; do
    name=${store%%.*}
    config "${name}1" "$T/$store" "[$NZ, $NY, $NX]"
    config "${name}2" "$T/$store" "[9, 31, 40]"
    note "$store: untiled on 1 rank and tiled on 2 ranks vs the HDF5 input"
    lapse_run 1 "$T/${name}1.yaml"
    lapse_run 2 "$T/${name}2.yaml"
    py h5same.py "$T/ref.h5" "$T/${name}1.h5" /result /blurred || fail "$store: differs from HDF5"
    py h5same.py "$T/ref.h5" "$T/${name}2.h5" /result /blurred || fail "$store: tiled differs"
done

# input.channel: channel 1 of a 3-channel OME-Zarr (chunks holding 2 channels) is the sample.
note "chan.ome.zarr: input.channel 1 of 3, untiled on 1 rank and tiled on 2 ranks"
for r in 1 2; do
    config "chan$r" "$T/chan.ome.zarr" "$([ $r = 1 ] && echo "[$NZ, $NY, $NX]" || echo "[9, 31, 40]")"
    sed -i "s|^input: {file: $T/chan.ome.zarr}|input: {file: $T/chan.ome.zarr, channel: 1}|" \
        "$T/chan$r.yaml"
    lapse_run "$r" "$T/chan$r.yaml"
    py h5same.py "$T/ref.h5" "$T/chan$r.h5" /result /blurred || fail "channel 1 differs from HDF5"
done
config chanall "$T/chan.ome.zarr" "[$NZ, $NY, $NX]"
expect_rc 2 "$T/chanall.log" "$LAPSE" run "$T/chanall.yaml"
grep -q "3 channels: choose one with input.channel (0 to 2)" "$T/chanall.log" ||
    { cat "$T/chanall.log"; fail "3 channels without input.channel: no clear message"; }
sed "s|^input: {file: $T/chan.ome.zarr}|input: {file: $T/chan.ome.zarr, channel: 3}|" \
    "$T/chanall.yaml" >"$T/chan3.yaml"
expect_rc 2 "$T/chan3.log" "$LAPSE" run "$T/chan3.yaml"
grep -q "input.channel 3 is out of range" "$T/chan3.log" ||
    { cat "$T/chan3.log"; fail "channel 3 of 3: no clear message"; }
sed "s|^input: {file: $T/raw.zarr}|input: {file: $T/raw.zarr, channel: 0}|" "$T/raw1.yaml" \
    >"$T/nochan.yaml"
expect_rc 2 "$T/nochan.log" "$LAPSE" run "$T/nochan.yaml"
grep -q "no channel axis" "$T/nochan.log" || { cat "$T/nochan.log"; fail "channel without axis"; }

# A malformed .zarray: exit 2 naming it, nothing written.
cp -r "$T/raw.zarr" "$T/badmeta.zarr"
printf '{"zarr_format": 2, "shape": [4, 24, 70, 90],}' >"$T/badmeta.zarr/.zarray"
config badmeta "$T/badmeta.zarr" "[$NZ, $NY, $NX]"
expect_rc 2 "$T/badmeta.log" "$LAPSE" run "$T/badmeta.yaml"
grep -q "badmeta.zarr/.zarray: not valid JSON: line 1, column .*trailing comma" "$T/badmeta.log" ||
    { cat "$T/badmeta.log"; fail "malformed .zarray: no clear message"; }
[ ! -e "$T/badmeta.h5" ] || fail "malformed .zarray: an output was written"

# A damaged chunk (cut in half): the run fails (exit 1) naming the chunk file.
cp -r "$T/raw.zarr" "$T/badchunk.zarr"
truncate -s 100 "$T/badchunk.zarr/2.1.2.0"
config badchunk "$T/badchunk.zarr" "[$NZ, $NY, $NX]"
expect_rc 1 "$T/badchunk.log" mpirun_lapse 2 run "$T/badchunk.yaml"
grep -q "chunk file $T/badchunk.zarr/2.1.2.0: 100 bytes, an uncompressed chunk has 8192 (too short)" \
    "$T/badchunk.log" || { cat "$T/badchunk.log"; fail "damaged chunk: no clear message"; }
# A Zarr output (output.format: zarr) that is, lies in or holds the input store: exit 2 at
# output.file before anything is written, the input store unchanged (its arrays would have been
# written into it: output.file raw.h5 makes the store raw.zarr).
tree_sum() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum); }
before=$(tree_sum "$T/raw.zarr")
mkdir -p "$T/sub"
for out in "$T/raw.h5" "$T/raw.zarr/inner.h5" "$T/raw.zarr/new/deeper.h5" "$T/sub/../raw.h5"; do
    config zalias "$T/raw.zarr" "[$NZ, $NY, $NX]"
    sed -i "s|^output: .*|output: {file: $out, format: zarr}|" "$T/zalias.yaml"
    expect_rc 2 "$T/zalias.log" "$LAPSE" run "$T/zalias.yaml"
    grep -q "zalias.yaml:[0-9]*:[0-9]*: output.file: the Zarr output .* the input $T/raw.zarr: its arrays would be written into the input" \
        "$T/zalias.log" || { cat "$T/zalias.log"; fail "Zarr output $out over the input: no clear refusal"; }
    [ "$(tree_sum "$T/raw.zarr")" = "$before" ] || fail "Zarr output $out: the input store changed"
    [ ! -e "$out" ] || fail "Zarr output $out: an output was written"
done
# ... and one whose store holds the input store: out.h5 -> out.zarr, input out.zarr/in.zarr
mkdir -p "$T/outer.zarr" && cp -r "$T/raw.zarr" "$T/outer.zarr/in.zarr"
config zalias "$T/outer.zarr/in.zarr" "[$NZ, $NY, $NX]"
sed -i "s|^output: .*|output: {file: $T/outer.h5, format: zarr}|" "$T/zalias.yaml"
expect_rc 2 "$T/zalias.log" "$LAPSE" run "$T/zalias.yaml"
grep -q "the Zarr output $T/outer.zarr holds the input" "$T/zalias.log" ||
    { cat "$T/zalias.log"; fail "Zarr output holding the input store: no clear refusal"; }
# ... and with input.files, one Zarr store per timepoint: an output store that is one of them
"$LAPSE_PY" - "$T" <<'PY' || fail "cannot write the per-timepoint stores"
import sys, zarr
for k in range(2):
    a = zarr.open_array(sys.argv[1] + "/tp_%d.zarr" % k, mode="w", shape=(1, 4, 16, 16),
                        chunks=(1, 4, 16, 16), dtype="<u2")
    a[:] = k + 1
PY
before=$(tree_sum "$T/tp_1.zarr")
cat >"$T/zfiles.yaml" <<YAML
input: {files: "$T/tp_*.zarr"}
pipeline:
  - {op: gaussian_blur, sigma: 1}
output: {file: $T/tp_1.h5, format: zarr}
devices: any
YAML
expect_rc 2 "$T/zfiles.log" "$LAPSE" run "$T/zfiles.yaml"
grep -q "the Zarr output $T/tp_1.zarr holds the input" "$T/zfiles.log" ||
    { cat "$T/zfiles.log"; fail "Zarr output over one of input.files' stores: no clear refusal"; }
[ "$(tree_sum "$T/tp_1.zarr")" = "$before" ] || fail "input.files: the input store changed"
sed -i "s|file: $T/tp_1.h5|file: $T/tp_out.h5|" "$T/zfiles.yaml"
run_ok "$T/zfiles.log" "$LAPSE" run "$T/zfiles.yaml" # another name: fine
echo "PASS ($TEST_NAME)"
