#!/usr/bin/env bash
# test_zarr_out.sh - output.format: zarr (io/zarr_out.h): the OME-Zarr store equals the same
# pipeline's HDF5 output bit for bit, its metadata follows NGFF 0.4, and a run killed with
# SIGKILL resumes to the same data.
# 2v. `lapse verify` reads the store's chunks: a removed and a garbled one are found (exit 1),
#    --repair marks their tasks not done, and a rerun restores the reference data.
# 2w. verify reads a uint32 label output's store (and its uint8 mask); with the store removed,
#    every marked task is unreadable.
#
# 1. Reference: the pipeline of kill_config (gaussian blur saved as /blurred; top-hat into
#    /result; both float32) with HDF5 output, tiles [8, 32, 32] (edge tiles in y and x), 2 ranks.
# 2. The same with output.format: zarr, compression none (raw chunks) and blosc:zstd, 2 ranks:
#    zarr_out_check.py reads both arrays with Python zarr, checks NGFF 0.4 (multiscales version,
#    axes t,z,y,x with types and micrometer units, dataset path "0" exists, scale [1, z, y, x]
#    from input.voxel_size, length = ndim) and that they equal the reference bit for bit; `lapse
#    info` reads the output and names the arrays; a second run says "nothing to do"; an update
#    of one timepoint (--timepoints 2, one of its chunks removed first) rewrites its chunks only
#    and the store again equals the reference.
#    A new output (its HDF5 file removed) over that store, timepoint 0 only: the old chunks are
#    removed, timepoint 0 equals the reference and the others read as the fill value.
# 2c. mode: overwrite with a config that saves nothing: the store's root .zattrs lists the
#    arrays of its output; the replaced output's /blurred array is removed (a file of the user's
#    in the store is not) and /result equals the reference.
# 2f. A TIFF that gives only its pixel size (no z spacing): the z axis has no unit and scale 1,
#    y and x are micrometres.
# 2e. The HDF5 dataset of a Zarr output (a placeholder) given as an input, or to lapse compare,
#     is refused (exit 2), naming the store's group to read instead: beside the file as the
#     reading run names it (an output written under a relative name, read from elsewhere).
# 2d. A store with "." chunk keys (as lapse wrote them before 2026-12-02; the chunks of a
#    partial run moved to flat keys) is continued with "." keys and equals the reference; a new
#    output over it (mode: overwrite) removes the flat chunks and writes "/" keys.
# 2g. A continued store keeps the compressor its arrays were made with (blosc:lz4), whatever
#    later configs say (none, blosc:zstd): a note, the .zarray unchanged, every chunk equal to
#    the reference.
# 2h. Another output whose name makes the same store (twin.h5 and twin.hdf5: twin.zarr) is
#    refused (exit 2, nothing written), the store byte-identical and its output still whole;
#    a store lapse did not write (a user's OME-Zarr) is refused the same way and left alone; a
#    store of an older lapse (no root .zattrs) is continued, and a root that is a symbolic link
#    to a directory is written through.
# 3. Kill: a longer zarr (blosc:zstd) run on 2 ranks, SIGKILL of one rank once some tasks are
#    marked; every marked task's chunk must already hold the reference data, and the same
#    command must finish the job with data identical to the reference.
source "$(dirname "$0")/common.sh"
need_device
"$LAPSE_PY" -c 'import zarr, numcodecs' 2>/dev/null || skip "$LAPSE_PY lacks zarr/numcodecs"
make_sample
VOX="2,0.5,0.25"

# cfg FILE OUT TILES EXTRA: the kill_config pipeline with voxel size, tiles and output extras.
cfg() {
    cat >"$1" <<YAML
input: {file: $IN, dataset: /raw, voxel_size: [${VOX//,/, }]}
tiles: {shape: [$3]}
pipeline:
  - {op: gaussian_blur, sigma: 2, save: /blurred}
  - {op: top_hat_box, radius: [0, 1, 1]}
output: {file: $2, dataset: /result$4}
devices: any
YAML
}

note "1. HDF5 reference on 2 ranks"
cfg "$T/ref.yaml" "$T/ref.h5" "8, 32, 32" ""
lapse_run 2 "$T/ref.yaml"
nonconstant "$T/ref.h5" /result /blurred

for comp in none blosc:zstd; do
    note "2. output.format: zarr, compression $comp, 2 ranks"
    out=$T/z_${comp//:/_}.h5
    store=${out%.h5}.zarr
    cfg "$T/z.yaml" "$out" "8, 32, 32" ", format: zarr, compression: \"$comp\""
    lapse_run 2 "$T/z.yaml"
    [ -d "$store" ] || fail "no store at $store"
    want=${comp#blosc:}
    run_ok "$T/check.log" py zarr_out_check.py "$store" "$T/ref.h5" /result,/blurred \
        --voxel "$VOX" --compressor "$want"
    cat "$T/check.log"
    # one chunk file per task and dataset: 4 timepoints x (3 x 3 x 3) tiles
    n=$(find "$store/result/0" -type f ! -name '.*' | wc -l)
    [ "$n" -eq $((NT * $(ntiles 8 32 32))) ] || fail "$n chunk files in $store/result/0"
    [ -z "$(find "$store" -name '*.tmp.*')" ] || fail "temporary files left in $store"
    if [ "$comp" = none ]; then # raw chunks: the full chunk shape (edges padded), float32
        for c in 0/0/0/0 0/2/2/2 3/1/2/0; do
            sz=$(stat -c %s "$store/result/0/$c")
            [ "$sz" -eq $((8 * 32 * 32 * 4)) ] || fail "raw chunk $c of $sz bytes"
        done
    else # compressed: smaller than raw
        sz=$(stat -c %s "$store/blurred/0/0/0/0/0")
        [ "$sz" -lt $((8 * 32 * 32 * 4)) ] || fail "blosc:zstd chunk of $sz bytes (raw size)"
    fi
    run_ok "$T/info.log" "$LAPSE" info "$out"
    grep -qF "/result                  [4, 24, 70, 90] float32 (voxels in $store/result/0)" \
        "$T/info.log" || { cat "$T/info.log"; fail "lapse info does not name the zarr array"; }
    run_ok "$T/again.log" mpirun_lapse 2 run "$T/z.yaml"
    grep -q 'nothing to do' "$T/again.log" || { cat "$T/again.log"; fail "rerun did work"; }
    # an update of timepoint 2 rewrites its chunks (one removed here) and only those
    rm "$store/result/0/2/1/1/1"
    before=$(sha "$store/result/0/1/1/1/1")
    run_ok "$T/update.log" mpirun_lapse 2 run "$T/z.yaml" --timepoints 2
    grep -q "$(ntiles 8 32 32) tasks (1 timepoint " "$T/update.log" ||
        { cat "$T/update.log"; fail "the update did not run the tiles of one timepoint"; }
    [ "$(sha "$store/result/0/1/1/1/1")" = "$before" ] || fail "the update rewrote timepoint 1"
    run_ok "$T/check.log" py zarr_out_check.py "$store" "$T/ref.h5" /result,/blurred \
        --voxel "$VOX" --compressor "$want"
done

note "2v. lapse verify reads the store: a removed and a garbled chunk found, --repair, rerun"
run_ok "$T/verify.log" "$LAPSE" verify "$out"
grep -q "verify: $out: $((NT * $(ntiles 8 32 32))) of $((NT * $(ntiles 8 32 32))) tasks marked done; .* 0 unreadable" \
    "$T/verify.log" && grep -q "2 of them in the OME-Zarr store" "$T/verify.log" ||
    { cat "$T/verify.log"; fail "verify of the intact store"; }
rm "$store/result/0/2/0/1/1"
printf garbage >"$store/blurred/0/1/0/0/0"
expect_rc 1 "$T/verify.log" "$LAPSE" verify "$out"
grep -q "verify: t=2 tile 4: /result unreadable: chunk file $store/result/0/2/0/1/1: No such file" \
    "$T/verify.log" && grep -q "verify: t=1 tile 0: /blurred unreadable: .*1/0/0/0" "$T/verify.log" &&
    grep -q ", 2 unreadable" "$T/verify.log" || { cat "$T/verify.log"; fail "verify missed the damaged chunks"; }
run_ok "$T/repair.log" "$LAPSE" verify "$out" --repair
grep -q "2 tasks marked not done" "$T/repair.log" || { cat "$T/repair.log"; fail "--repair"; }
run_ok "$T/rerun.log" mpirun_lapse 2 run "$T/z.yaml"
grep -q "are done, 2 to run" "$T/rerun.log" || { cat "$T/rerun.log"; fail "the rerun after --repair"; }
run_ok "$T/check.log" py zarr_out_check.py "$store" "$T/ref.h5" /result,/blurred \
    --voxel "$VOX" --compressor "$want"

note "2w. verify of a uint32 label output in Zarr; then of one whose store was removed"
cat >"$T/lab.yaml" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [8, 32, 32]}
pipeline:
  - {op: gaussian_blur, sigma: 1}
  - {op: threshold_otsu, save: /mask}
  - {op: connected_components_labeling}
output: {file: $T/lab.h5, dataset: /labels, format: zarr}
devices: any
YAML
lapse_run 2 "$T/lab.yaml"
grep -q '"dtype": "<u4"' "$T/lab.zarr/labels/0/.zarray" || fail "the labels are not uint32 in Zarr"
run_ok "$T/verify.log" "$LAPSE" verify "$T/lab.h5"
grep -q ", 0 unreadable" "$T/verify.log" && grep -q "2 of them in the OME-Zarr store" "$T/verify.log" ||
    { cat "$T/verify.log"; fail "verify of a uint32 / uint8 Zarr output"; }
rm -rf "$T/lab.zarr"
expect_rc 1 "$T/verify.log" "$LAPSE" verify "$T/lab.h5"
n=$((NT * $(ntiles 8 32 32)))
grep -q "$n of $n tasks marked done; 0 read back in 2 datasets, $n unreadable" "$T/verify.log" &&
    grep -q "lab.zarr/labels/0/.zarray: No such file or directory (the store or the array is gone)" \
        "$T/verify.log" || { cat "$T/verify.log"; fail "verify of an output whose store is gone"; }

note "2b. a new output over the store of a removed one: the old chunks are gone"
out=$T/z_none.h5
rm -f "$out"
cfg "$T/z.yaml" "$out" "8, 32, 32" ", format: zarr"
lapse_run 2 "$T/z.yaml" --timepoints 0
"$LAPSE_PY" - "${out%.h5}.zarr" "$T/ref.h5" <<'PY' || fail "old chunks show through a new output"
import os, sys, h5py, zarr
store, ref = sys.argv[1], sys.argv[2]
with h5py.File(ref, "r") as h:
    for d in ("result", "blurred"):
        a = zarr.open_array(os.path.join(store, d, "0"), mode="r")
        keys = [k for k in os.listdir(os.path.join(store, d, "0")) if not k.startswith(".")]
        assert keys == ["0"], (d, sorted(keys)[:5])  # "/" keys: one directory per timepoint
        assert a[0].tobytes() == h[d][0].tobytes(), d
        assert not a[1:].any(), d
PY

note "2e. the output's HDF5 placeholder as an input is refused, naming the store"
cat >"$T/chain.yaml" <<YAML
input: {file: $out, dataset: /result}
pipeline:
  - {op: add_scalar, value: 0}
output: {file: $T/chain.h5}
devices: any
YAML
expect_rc 2 "$T/chain.log" mpirun_lapse 1 run "$T/chain.yaml"
grep -q "dataset /result belongs to an output.format: zarr output and holds no voxels; .*input: {file: ${out%.h5}.zarr/result}" \
    "$T/chain.log" || { cat "$T/chain.log"; fail "the placeholder was not refused"; }
[ ! -e "$T/chain.h5" ] || fail "the refused run wrote an output"
# An output written under a relative name, read from another directory: the store is named
# from the file as this run names it (the store lies beside it), not as the writing run did.
mkdir -p "$T/relw/sub"
cat >"$T/relw/w.yaml" <<YAML
input: {file: $IN, dataset: /raw}
timepoints: "0"
pipeline:
  - {op: add_scalar, value: 1}
output: {file: sub/r.h5, dataset: /result, format: zarr}
devices: any
YAML
(cd "$T/relw" && run_ok "$T/relw.log" mpirun_lapse 1 run w.yaml) || fail "the relative run failed"
sed -e "s#file: $out#file: $T/relw/sub/r.h5#" "$T/chain.yaml" >"$T/chain2.yaml"
(cd / && expect_rc 2 "$T/chain2.log" mpirun_lapse 1 run "$T/chain2.yaml") || fail "not refused"
grep -q "holds no voxels; .*input: {file: $T/relw/sub/r.zarr/result}" "$T/chain2.log" ||
    { cat "$T/chain2.log"; fail "the placeholder's message does not name the store beside it"; }
# lapse compare on the placeholder: refused as well (it compared zeros, exit 0, before)
expect_rc 2 "$T/cmp.log" "$LAPSE" compare "$out:/result" "$out:/result"
grep -q "is the empty placeholder of an OME-Zarr output.*${out%.h5}.zarr/result" "$T/cmp.log" ||
    { cat "$T/cmp.log"; fail "lapse compare read the Zarr output's placeholder"; }

note "2f. a TIFF that gives only its pixel size: z has no unit and scale 1, y and x micrometres"
"$LAPSE_PY" - "$T/res.tif" <<'PY' || fail "cannot write the TIFF"
import sys, numpy as np, tifffile
a = (np.arange(4 * 20 * 30) % 251).astype(np.uint16).reshape(4, 20, 30)
tifffile.imwrite(sys.argv[1], a, photometric="minisblack", resolution=(20000, 20000),
                 resolutionunit="CENTIMETER")  # 0.5 um pixels, no z spacing
PY
cat >"$T/res.yaml" <<YAML
input: {file: $T/res.tif, axes: zyx}
pipeline:
  - {op: gaussian_blur, sigma: 1}
output: {file: $T/res.h5, format: zarr}
devices: any
YAML
lapse_run 1 "$T/res.yaml"
"$LAPSE_PY" - "$T/res.zarr/result/.zattrs" <<'PY' || fail "the voxel size of a TIFF with a pixel size only"
import json, sys
ms = json.load(open(sys.argv[1]))["multiscales"][0]
units = {a["name"]: a.get("unit") for a in ms["axes"]}
scale = ms["datasets"][0]["coordinateTransformations"][0]["scale"]
assert units == {"t": None, "z": None, "y": "micrometer", "x": "micrometer"}, units
assert scale == [1.0, 1, 0.5, 0.5], scale
PY
"$LAPSE_PY" -c 'import sys, h5py; e = list(h5py.File(sys.argv[1], "r")["/result"].attrs["element_size_um"]); assert e == [1, 0.5, 0.5], e' \
    "$T/res.h5" || fail "element_size_um of a TIFF with a pixel size only"

note "2c. mode: overwrite with a config that saves no /blurred: its array leaves the store"
store=${out%.h5}.zarr
grep -q '"arrays": \["blurred", "result"\]' "$store/.zattrs" ||
    { cat "$store/.zattrs"; fail "the store's root does not list its arrays"; }
echo "mine" >"$store/notes.txt"
cat >"$T/z2.yaml" <<YAML
input: {file: $IN, dataset: /raw, voxel_size: [${VOX//,/, }]}
tiles: {shape: [8, 32, 32]}
pipeline:
  - {op: gaussian_blur, sigma: 2}
  - {op: top_hat_box, radius: [0, 1, 1]}
output: {file: $out, dataset: /result, format: zarr, mode: overwrite}
devices: any
YAML
lapse_run 2 "$T/z2.yaml"
[ ! -e "$store/blurred" ] || { find "$store/blurred" | head; fail "the replaced output's /blurred array stayed"; }
[ "$(cat "$store/notes.txt")" = mine ] || fail "a file of the user's in the store was touched"
grep -q '"arrays": \["result"\]' "$store/.zattrs" || { cat "$store/.zattrs"; fail "the new list"; }
run_ok "$T/check.log" py zarr_out_check.py "$store" "$T/ref.h5" /result --voxel "$VOX"

note "2d. a store with \".\" chunk keys (lapse before 2026-12-02) is continued with them"
rm -rf "$out" "$store"
cfg "$T/z.yaml" "$out" "8, 32, 32" ", format: zarr"
lapse_run 2 "$T/z.yaml" --timepoints 0-1
"$LAPSE_PY" - "$store" <<'PY' || fail "cannot make the store flat"
import json, os, sys
store = sys.argv[1]
for d in ("result", "blurred"):
    a = os.path.join(store, d, "0")
    for root, dirs, files in os.walk(a, topdown=False):
        for f in files:
            if not f.startswith("."):
                rel = os.path.relpath(os.path.join(root, f), a)
                os.rename(os.path.join(root, f), os.path.join(a, rel.replace("/", ".")))
        if root != a:
            os.rmdir(root)
    m = json.load(open(os.path.join(a, ".zarray")))
    m["dimension_separator"] = "."
    json.dump(m, open(os.path.join(a, ".zarray"), "w"))
PY
lapse_run 2 "$T/z.yaml"
[ -f "$store/result/0/3.0.0.0" ] && [ ! -e "$store/result/0/3" ] ||
    fail "the continued flat store got chunks of other keys"
run_ok "$T/check.log" py zarr_out_check.py "$store" "$T/ref.h5" /result,/blurred --voxel "$VOX" \
    --flat-keys
run_ok "$T/verify.log" "$LAPSE" verify "$out"
# a new output over it (mode: overwrite): the "." chunks go, "/" keys from then on
sed 's|format: zarr}|format: zarr, mode: overwrite}|' "$T/z.yaml" >"$T/zo.yaml"
lapse_run 2 "$T/zo.yaml"
[ -z "$(find "$store/result/0" -maxdepth 1 -type f -name '[0-9]*')" ] ||
    fail "flat chunk files stayed after a new output over the store"
run_ok "$T/check.log" py zarr_out_check.py "$store" "$T/ref.h5" /result,/blurred --voxel "$VOX"

note "2g. a continued store keeps its compressor whatever output.compression says"
# blosc:lz4 for timepoints 0-1; then the config without compression, an update of 1 and the
# rest; then blosc:zstd for a growth-free update: the .zarray keeps lz4, a note says so, and
# every chunk reads back equal to the reference (before 2026-12-05 the .zarray was rewritten
# with the config's compressor: the earlier chunks no longer decoded, exit 0 all the same)
rm -rf "$out" "$store"
cfg "$T/zc.yaml" "$out" "8, 32, 32" ", format: zarr, compression: \"blosc:lz4\""
lapse_run 2 "$T/zc.yaml" --timepoints 0-1
cfg "$T/zn.yaml" "$out" "8, 32, 32" ", format: zarr"
lapse_run 2 "$T/zn.yaml" --timepoints 1
grep -q "note: $store keeps the compression its arrays were made with (blosc:lz4, level 5), not output.compression's (none)" \
    "$T/last.log" || { cat "$T/last.log"; fail "2g: no note of the kept compression"; }
lapse_run 2 "$T/zn.yaml"
cfg "$T/zz.yaml" "$out" "8, 32, 32" ", format: zarr, compression: \"blosc:zstd\""
lapse_run 1 "$T/zz.yaml" --timepoints 0
"$LAPSE_PY" - "$store" <<'PY' || fail "2g: the store's compressor changed"
import sys, zarr
for d in ("result", "blurred"):
    c = zarr.open(sys.argv[1] + "/" + d + "/0", "r").compressor
    assert c is not None and c.cname == "lz4", (d, c)
PY
run_ok "$T/check.log" py zarr_out_check.py "$store" "$T/ref.h5" /result,/blurred --voxel "$VOX"
run_ok "$T/verify.log" "$LAPSE" verify "$out"

note "2h. another output's store (same store name) and a user's store are refused, left alone"
cfg "$T/twin1.yaml" "$T/twin.h5" "8, 32, 32" ", format: zarr"
lapse_run 2 "$T/twin1.yaml"
tree_sum() { (cd "$1" && find . -type f | sort | xargs sha256sum | sha256sum); }
before=$(tree_sum "$T/twin.zarr")
cfg "$T/twin2.yaml" "$T/twin.hdf5" "8, 32, 32" ", format: zarr"
sed -i 's|top_hat_box|bottom_hat_box|' "$T/twin2.yaml"
expect_rc 2 "$T/twin.log" mpirun_lapse 2 run "$T/twin2.yaml"
grep -q "output.file: the Zarr store $T/twin.zarr belongs to the output twin.h5" "$T/twin.log" ||
    { cat "$T/twin.log"; fail "2h: twin.hdf5 not refused over twin.h5's store"; }
[ ! -e "$T/twin.hdf5" ] || fail "2h: the refused run wrote its HDF5 file"
[ "$(tree_sum "$T/twin.zarr")" = "$before" ] || fail "2h: the refused run changed twin.h5's store"
run_ok "$T/verify.log" "$LAPSE" verify "$T/twin.h5"
run_ok "$T/check.log" py zarr_out_check.py "$T/twin.zarr" "$T/ref.h5" /result,/blurred --voxel "$VOX"
mkdir -p "$T/mine.zarr/img/0"
echo '{"zarr_format": 2}' >"$T/mine.zarr/.zgroup"
echo 'my chunk' >"$T/mine.zarr/img/0/0.0.0"
cfg "$T/mine.yaml" "$T/mine.h5" "8, 32, 32" ", format: zarr"
expect_rc 2 "$T/mine.log" mpirun_lapse 2 run "$T/mine.yaml"
grep -q "output.file: $T/mine.zarr exists and is not a Zarr store lapse wrote for $T/mine.h5" \
    "$T/mine.log" || { cat "$T/mine.log"; fail "2h: a user's store not refused"; }
[ "$(cat "$T/mine.zarr/img/0/0.0.0")" = "my chunk" ] && [ ! -e "$T/mine.h5" ] ||
    fail "2h: the user's store was touched, or the HDF5 file written"
# a store of lapse of 2026-11-30 to 12-01 has no root .zattrs: its output's datasets name it
# (lapse_zarr_array), so it is continued, not refused
cfg "$T/old.yaml" "$T/old.h5" "8, 32, 32" ", format: zarr"
lapse_run 2 "$T/old.yaml" --timepoints 0-1
rm "$T/old.zarr/.zattrs"
lapse_run 2 "$T/old.yaml"
grep -q "continuing" "$T/last.log" || { cat "$T/last.log"; fail "2h: an older store not continued"; }
run_ok "$T/check.log" py zarr_out_check.py "$T/old.zarr" "$T/ref.h5" /result,/blurred --voxel "$VOX"
# a store whose root is a symbolic link to a directory (a store kept on scratch) is written
mkdir "$T/scratch"
ln -s "$T/scratch" "$T/linked.zarr"
cfg "$T/linked.yaml" "$T/linked.h5" "8, 32, 32" ", format: zarr"
lapse_run 2 "$T/linked.yaml"
run_ok "$T/check.log" py zarr_out_check.py "$T/linked.zarr" "$T/ref.h5" /result,/blurred --voxel "$VOX"
[ -L "$T/linked.zarr" ] && [ -f "$T/scratch/result/0/.zarray" ] || fail "2h: the link was replaced"

note "3. SIGKILL during a zarr run on 2 ranks, then resume"
NT=32 NZ=16 NY=128 NX=128 IN=$T/in_kill.h5
make_sample
TOTAL=$((NT * $(ntiles 8 64 64)))
cfg "$T/kref.yaml" "$T/kref.h5" "8, 64, 64" ""
lapse_run 2 "$T/kref.yaml"
OUT=$T/k.h5
STORE=$T/k.zarr
cfg "$T/k.yaml" "$OUT" "8, 64, 64" ", format: zarr, compression: \"blosc:zstd\""
killed=0
for maxk in $((TOTAL / 3)) 1 1; do
    rm -rf "$OUT" "$STORE"
    mpirun_argv 2
    "${MPIRUN_ARGV[@]}" "$LAPSE" run "$T/k.yaml" >"$T/killed.log" 2>&1 &
    mp=$!
    k=$((1 + RANDOM % maxk))
    wait_marks "$OUT" "$k" "$mp" 120 || { wait_bg "$mp" 60; cat "$T/killed.log"; fail "the run ended before $k marks"; }
    read -r -a pids < <(lapse_pids "$T/k.yaml" | tr '\n' ' ')
    [ "${#pids[@]}" -gt 0 ] || fail "no lapse process to kill"
    kill -9 "${pids[RANDOM % ${#pids[@]}]}" 2>/dev/null || true
    wait_bg "$mp" 60
    wait_gone "$T/k.yaml" 15
    m=$(marks "$OUT")
    note "killed (exit $WAIT_RC) with $m of $TOTAL tasks marked"
    if [ "$WAIT_RC" -ne 0 ] && [ "$m" -lt "$TOTAL" ]; then
        killed=1
        break
    fi
done
[ "$killed" -eq 1 ] || fail "every kill let the run finish"
[ "$m" -gt 0 ] || fail "no marks before the kill"
run_ok "$T/check.log" py zarr_out_check.py "$STORE" "$T/kref.h5" /result,/blurred --voxel "$VOX" \
    --marks "$OUT"
cat "$T/check.log"
run_ok "$T/resume.log" mpirun_lapse 2 run "$T/k.yaml"
grep -q "are done, $((TOTAL - m)) to run" "$T/resume.log" ||
    { cat "$T/resume.log"; fail "resume did not continue with the $((TOTAL - m)) pending tasks"; }
run_ok "$T/check.log" py zarr_out_check.py "$STORE" "$T/kref.h5" /result,/blurred --voxel "$VOX" \
    --compressor zstd
cat "$T/check.log"
run_ok "$T/again.log" mpirun_lapse 2 run "$T/k.yaml"
grep -q 'nothing to do' "$T/again.log" || { cat "$T/again.log"; fail "second resume did work"; }
note "PASS"
