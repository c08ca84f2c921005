#!/usr/bin/env bash
# test_parts.sh - output.parts: timepoints (docs/io.md "Per-timepoint parts", src/io/h5parts.h).
#
# A tiled pipeline with a saved step (two result datasets; tiles with ragged edges) is run into
# one file, then into parts on 1 and 3 ranks, with and without the background writer: every
# parts output must read back (through the output file's virtual datasets, with h5py, from
# another directory) bit-identical to the one-file output, one part per timepoint must exist, each
# holding that timepoint alone; the BigDataViewer companion must read the same voxels; a copy
# moved elsewhere with its parts directory must still read the same. Then the guards: a missing
# part and a part of another output are refused (exit 2) before anything is written; a config
# whose parts setting disagrees with the file is refused (a missing part names the update of
# its timepoint, which makes it anew: done, the output reads as the reference again); parts with compression or Zarr are
# config errors naming file:line:column. Finally crash safety: a run killed during creation
# leaves no output (and the next run makes it); a run killed before a task's mark, then
# resumed, completes bit-identical; an overwrite replaces the parts and leaves no staging
# directory behind.
source "$(dirname "$0")/common.sh"
need_device
make_sample

# config NAME PARTS MODE: tiles 8x32x48 over 24x70x90 (ragged in y and x)
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: /raw}
timepoints: "0-$((NT - 1))"
tiles: {shape: [8, 32, 48], halo: auto}
pipeline:
  - op: gaussian_blur
    sigma: [1, 1.5, 1.5]
    save: /blurred
  - op: top_hat_box
    radius: [1, 2, 2]
output: {file: $T/$1.h5, dataset: /result, mode: ${3:-create}, parts: $2}
devices: any
YAML
}
NTASKS=$((NT * $(ntiles 8 32 48)))

note "1. reference: one file, 1 rank"
config ref none
lapse_run 1 "$T/ref.yaml"
nonconstant "$T/ref.h5" /result /blurred

# parts_ok NAME: NAME.h5 reads as ref.h5 and its parts are one per timepoint
parts_ok() {
    (cd / && py h5same.py "$T/ref.h5" "$T/$1.h5") || fail "$1: differs from the one-file output"
    "$LAPSE_PY" - "$T/$1.h5" "$T/ref.h5" "$NT" <<'PY' || fail "$1: parts layout"
import os, sys, h5py, numpy as np
out, ref, nt = sys.argv[1], sys.argv[2], int(sys.argv[3])
parts = out + ".parts"
names = sorted(os.listdir(parts))
assert names == ["t%06d.h5" % t for t in range(nt)], names
with h5py.File(out, "r") as f, h5py.File(ref, "r") as r:
    for d in ("result", "blurred"):
        assert f[d].is_virtual, d + " is not a virtual dataset"
        srcs = sorted(m.file_name for m in f[d].virtual_sources())
        want = sorted(os.path.basename(out) + ".parts/t%06d.h5" % t for t in range(nt))
        assert srcs == want, srcs
        for t in range(nt):  # each part holds its timepoint alone
            with h5py.File(os.path.join(parts, "t%06d.h5" % t), "r") as p:
                assert p[d].shape == (1,) + r[d].shape[1:], p[d].shape
                assert np.array_equal(p[d][0], r[d][t]), (d, t)
                assert p.attrs["timepoint"] == t
                assert p.attrs["parts_token"] == f.attrs["parts_token"]
    # nothing of the voxels is in the output file itself
    assert os.path.getsize(out) < r["result"].nbytes // 4, os.path.getsize(out)
PY
}

for run in 1:1 3:1 3:0; do
    n=${run%%:*}
    ov=${run#*:}
    name=parts_n${n}_o$ov
    note "2. parts on $n ranks, LAPSE_OVERLAP=$ov"
    config "$name" timepoints
    LAPSE_OVERLAP=$ov lapse_run "$n" "$T/$name.yaml"
    run_ok "$T/tasks.log" py tasks.py "$T/$name.h5" --run-id 1 --count "$NTASKS" --cover /result \
        --timepoints "0-$((NT - 1))" --runs 1
    parts_ok "$name"
done

note "3. the BigDataViewer companion reads the parts through the output's virtual datasets"
"$LAPSE_PY" - "$T/parts_n3_o1.bdv.h5" "$T/ref.bdv.h5" <<'PY' || fail "BDV companion of a parts output"
import sys, h5py, numpy as np
got, ref = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names = []
ref.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and n.endswith("cells") else None)
assert names, "no cells datasets in the reference companion"
for n in names:
    assert np.array_equal(got[n][...], ref[n][...]), n
print("bdv cells identical:", len(names))
PY

note "4. moved with its parts directory, the output still reads the same"
mkdir "$T/moved"
mv "$T/parts_n1_o0.h5" "$T/parts_n1_o0.h5.parts" "$T/moved/" 2>/dev/null ||
    mv "$T/parts_n1_o1.h5" "$T/parts_n1_o1.h5.parts" "$T/moved/"
moved=$(ls "$T/moved"/*.h5)
(cd "$T" && py h5same.py "$T/ref.h5" "$moved") || fail "a moved parts output reads differently"
# a decoy of the same relative name under the current directory must not be read
mkdir -p "$T/decoy/$(basename "$moved").parts"
"$LAPSE_PY" -c 'import h5py, numpy, sys; h5py.File(sys.argv[1], "w")["result"] = numpy.full((1, 24, 70, 90), 7, numpy.float32)' \
    "$T/decoy/$(basename "$moved").parts/t000000.h5"
(cd "$T/decoy" && py h5same.py "$T/ref.h5" "$moved") || fail "a part under the current directory was read"

note "5. update of two timepoints; the guards"
P=parts_n3_o1
config "$P" timepoints update
sed -i "s/^timepoints: .*/timepoints: \"1-2\"/" "$T/$P.yaml"
lapse_run 2 "$T/$P.yaml"
parts_ok "$P"
before=$(sha "$T/$P.h5")
mv "$T/$P.h5.parts/t000002.h5" "$T/t2.h5"
expect_rc 2 "$T/miss.log" mpirun_lapse 1 run "$T/$P.yaml" --timepoints 1
grep -q "t000002.h5 of output .* (timepoint 2) is missing; output.mode: update with --timepoints 2 (and the new timepoints too, when the input has more than the output) makes it anew" \
    "$T/miss.log" || { cat "$T/miss.log"; fail "missing part: message"; }
"$LAPSE" info "$T/$P.h5" >"$T/info.log" 2>&1 || { cat "$T/info.log"; fail "lapse info failed on a parts output"; }
grep -q "^parts: PROBLEM: the part .*t000002.h5" "$T/info.log" || { cat "$T/info.log"; fail "lapse info: no problem reported for a missing part"; }
mv "$T/t2.h5" "$T/$P.h5.parts/t000002.h5"
"$LAPSE" info "$T/$P.h5" >"$T/info.log" 2>&1
grep -q "^parts: the result voxels are in $T/$P.h5.parts/ .*$NT parts" "$T/info.log" || { cat "$T/info.log"; fail "lapse info: parts line"; }
grep -q "PROBLEM" "$T/info.log" && { cat "$T/info.log"; fail "lapse info: a problem with every part present"; }
cp "$T/$P.h5.parts/t000003.h5" "$T/t3.h5"
cp "$T/parts_n3_o0.h5.parts/t000003.h5" "$T/$P.h5.parts/t000003.h5"
expect_rc 2 "$T/foreign.log" mpirun_lapse 1 run "$T/$P.yaml"
grep -q "t000003.h5 is not a part of output" "$T/foreign.log" || { cat "$T/foreign.log"; fail "foreign part: message"; }
expect_rc 1 "$T/fverify.log" "$LAPSE" verify "$T/$P.h5" # named, and to be moved away first
grep -q "t=3: its marked tasks are unreadable: its part .*t000003.h5 is a part of another output" "$T/fverify.log" &&
    grep -q "move the damaged or foreign parts named above away" "$T/fverify.log" ||
    { cat "$T/fverify.log"; fail "verify of a foreign part"; }
cp "$T/t3.h5" "$T/$P.h5.parts/t000003.h5"
sed "s/parts: timepoints/parts: none/" "$T/$P.yaml" >"$T/none.yaml"
expect_rc 2 "$T/none.log" mpirun_lapse 1 run "$T/none.yaml"
grep -q "was made with output.parts: timepoints" "$T/none.log" || { cat "$T/none.log"; fail "parts mismatch: message"; }
config refup none update
sed -i "s|file: $T/refup.h5|file: $T/ref.h5|; s/parts: none/parts: timepoints/" "$T/refup.yaml"
expect_rc 2 "$T/none2.log" mpirun_lapse 1 run "$T/refup.yaml"
grep -q "was made without output.parts" "$T/none2.log" || { cat "$T/none2.log"; fail "parts mismatch (2): message"; }
[ "$(sha "$T/$P.h5")" = "$before" ] || fail "a refused run changed the output file"
parts_ok "$P"
# two lost parts: an update of one of them is refused (the other is missing) and makes nothing;
# the update of both makes them anew and computes them again
rm "$T/$P.h5.parts/t000002.h5" "$T/$P.h5.parts/t000003.h5"
# lapse verify names their tasks unreadable (exit 1: the virtual datasets would read zeros),
# points to the update; --repair does not apply to parts (exit 2)
expect_rc 1 "$T/verify.log" "$LAPSE" verify "$T/$P.h5"
grep -q "t=2: its marked tasks are unreadable: its part .*t000002.h5: No such file" "$T/verify.log" &&
    grep -q "t=3: its marked tasks are unreadable" "$T/verify.log" &&
    grep -q -- "--timepoints \"2-3\"\` with output.mode: update makes the parts of those timepoints anew" "$T/verify.log" ||
    { cat "$T/verify.log"; fail "verify of lost parts"; }
expect_rc 2 "$T/repair.log" "$LAPSE" verify --repair "$T/$P.h5"
grep -q "so --repair does not apply" "$T/repair.log" || { cat "$T/repair.log"; fail "verify --repair of parts"; }
expect_rc 2 "$T/lost.log" mpirun_lapse 1 run "$T/$P.yaml" --timepoints 2
grep -q "t000003.h5 of output .* (timepoint 3) is missing" "$T/lost.log" || { cat "$T/lost.log"; fail "lost parts: message"; }
[ ! -e "$T/$P.h5.parts/t000002.h5" ] || fail "a refused update made a part (empty, still marked done)"
lapse_run 2 "$T/$P.yaml" --timepoints 2-3
grep -q "note: the part .*t000002.h5 (timepoint 2) is missing: it is made anew by this update" "$T/last.log" ||
    { cat "$T/last.log"; fail "the remade part was not said"; }
parts_ok "$P"
run_ok "$T/verify2.log" "$LAPSE" verify "$T/$P.h5"
grep -q " 0 unreadable" "$T/verify2.log" || { cat "$T/verify2.log"; fail "verify after the parts were made anew"; }

for bad in "compression: gzip" "format: zarr"; do
    config bad timepoints
    sed -i "s/parts: timepoints}/parts: timepoints, $bad}/" "$T/bad.yaml"
    expect_rc 2 "$T/bad.log" "$LAPSE" run "$T/bad.yaml"
    grep -q "bad.yaml:[0-9]*:[0-9]*: output.parts:" "$T/bad.log" || { cat "$T/bad.log"; fail "$bad: no file:line:column"; }
    [ ! -e "$T/bad.h5" ] && [ ! -e "$T/bad.h5.parts" ] || fail "$bad: something was written"
done

note "6. killed during creation, then run again"
config kill timepoints
rc=0
LAPSE_FAULT=create "$LAPSE" run "$T/kill.yaml" >"$T/k1.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/k1.log"; fail "LAPSE_FAULT=create did not kill the run"; }
[ ! -e "$T/kill.h5" ] && [ ! -e "$T/kill.h5.parts" ] || fail "a run killed during creation left an output"
lapse_run 2 "$T/kill.yaml"
[ ! -e "$T/kill.h5.parts.creating" ] || fail "the staging directory was left behind"
parts_ok kill

note "7. killed before a mark on 2 ranks, resumed"
config kill2 timepoints
mpirun_argv 2
rc=0
LAPSE_FAULT=before-mark@1 "${MPIRUN_ARGV[@]}" -x LAPSE_FAULT "$LAPSE" run "$T/kill2.yaml" >"$T/k2.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/k2.log"; fail "LAPSE_FAULT=before-mark@1 did not kill the run"; }
wait_gone "$T/kill2.yaml" 15
run_ok "$T/cd.log" py check_done.py "$T/kill2.h5" "$T/ref.h5"
lapse_run 2 "$T/kill2.yaml"
grep -q continuing "$T/last.log" || { cat "$T/last.log"; fail "the resumed run did not continue"; }
parts_ok kill2

note "8. overwrite replaces the parts"
config kill2 timepoints overwrite
old_token=$("$LAPSE_PY" -c 'import h5py,sys; print(h5py.File(sys.argv[1],"r").attrs["parts_token"])' "$T/kill2.h5")
lapse_run 3 "$T/kill2.yaml"
parts_ok kill2
new_token=$("$LAPSE_PY" -c 'import h5py,sys; print(h5py.File(sys.argv[1],"r").attrs["parts_token"])' "$T/kill2.h5")
[ "$old_token" != "$new_token" ] || fail "overwrite kept the old parts token"
for left in "$T/kill2.h5.parts.creating" "$T/kill2.h5.parts.old"; do
    [ ! -e "$left" ] || fail "overwrite left $left behind"
done
note "9. overwrite with parts: none removes the replaced output's parts"
config kill2 none overwrite
lapse_run 1 "$T/kill2.yaml"
[ ! -e "$T/kill2.h5.parts" ] || fail "the replaced output's parts were left behind"
py h5same.py "$T/ref.h5" "$T/kill2.h5" || fail "one-file overwrite differs"

note "10. a renamed output keeps its parts: making a new output under the old name is refused"
config ren timepoints
lapse_run 1 "$T/ren.yaml"
mv "$T/ren.h5" "$T/ren_v1.h5"
expect_rc 2 "$T/ren.log" mpirun_lapse 1 run "$T/ren.yaml"
grep -q "ren.h5.parts exists and does not hold the parts of the output being replaced" "$T/ren.log" ||
    { cat "$T/ren.log"; fail "renamed output: message"; }
[ ! -e "$T/ren.h5" ] || fail "a refused run made an output"
(cd / && py h5same.py "$T/ref.h5" "$T/ren_v1.h5") || fail "the renamed output lost its parts"
ln -s "$T/ren.h5.parts" "$T/sym.h5.parts"
config sym timepoints
expect_rc 2 "$T/sym.log" mpirun_lapse 1 run "$T/sym.yaml"
grep -q "sym.h5.parts is not a directory" "$T/sym.log" || { cat "$T/sym.log"; fail "symlinked parts: message"; }

note "11. killed between the output's rename and its parts', then run again"
config k3 timepoints
rc=0
LAPSE_FAULT=parts-commit "$LAPSE" run "$T/k3.yaml" >"$T/k3.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/k3.log"; fail "LAPSE_FAULT=parts-commit did not kill the run"; }
[ -e "$T/k3.h5" ] && [ -d "$T/k3.h5.parts.creating" ] && [ ! -e "$T/k3.h5.parts" ] ||
    fail "the fault did not fire between the two renames"
lapse_run 2 "$T/k3.yaml"
grep -q "k3.h5.parts.creating held this output's parts" "$T/last.log" || { cat "$T/last.log"; fail "resume: no message"; }
parts_ok k3

note "11b. a packed copy (h5repack materialises the virtual datasets): one self-contained file"
if command -v h5repack >/dev/null 2>&1; then
    h5repack -l CHUNK=1x24x70x90 "$T/k3.h5" "$T/packed.h5" || fail "h5repack of a parts output failed"
    (cd / && py h5same.py "$T/ref.h5" "$T/packed.h5") || fail "the packed copy differs"
    "$LAPSE_PY" -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r"); assert not f["result"].is_virtual' \
        "$T/packed.h5" || fail "the packed copy is still virtual"
    "$LAPSE" info "$T/packed.h5" >"$T/pinfo.log" 2>&1 || { cat "$T/pinfo.log"; fail "lapse info on a packed copy"; }
    grep -q "^parts: none left: the result voxels are in this file" "$T/pinfo.log" ||
        { cat "$T/pinfo.log"; fail "lapse info: packed copy line"; }
    sed "s|$T/k3.h5|$T/packed.h5|" "$T/k3.yaml" >"$T/packed.yaml"
    sed -i 's/^timepoints: .*/timepoints: "1"/; s/mode: create/mode: update/' "$T/packed.yaml"
    run_ok "$T/pverify.log" "$LAPSE" verify "$T/packed.h5" # its voxels are inside: no parts
    grep -q " 0 unreadable" "$T/pverify.log" || { cat "$T/pverify.log"; fail "verify of a packed copy"; }
    before=$(sha "$T/packed.h5")
    expect_rc 2 "$T/pk.log" mpirun_lapse 1 run "$T/packed.yaml"
    grep -q "is a packed copy of an output made with output.parts" "$T/pk.log" ||
        { cat "$T/pk.log"; fail "update of a packed copy: message"; }
    [ "$(sha "$T/packed.h5")" = "$before" ] || fail "a refused update changed the packed copy"
else
    note "no h5repack (hdf5-tools): packed copy not checked"
fi

note "12. a parts output as the next run's input; a missing part is an error, not zeros"
cat >"$T/chain.yaml" <<YAML
input: {file: $T/k3.h5, dataset: /result}
pipeline:
  - {op: gaussian_blur, sigma: 1}
output: {file: $T/chain.h5, dataset: /result, mode: create}
devices: any
YAML
sed -e "s|$T/k3.h5|$T/ref.h5|" -e "s|chain.h5|chainref.h5|" "$T/chain.yaml" >"$T/chainref.yaml"
lapse_run 1 "$T/chain.yaml"
lapse_run 1 "$T/chainref.yaml"
py h5same.py "$T/chainref.h5" "$T/chain.h5" || fail "a parts output read as input differs"
mv "$T/k3.h5.parts/t000002.h5" "$T/k3t2.h5"
rm -f "$T/chain.h5"
rc=0
mpirun_lapse 1 run "$T/chain.yaml" >"$T/chain.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/chain.log"; fail "reading a parts output with a missing part succeeded"; }
grep -q "maps timepoint 2 onto k3.h5.parts/t000002.h5, which is missing" "$T/chain.log" ||
    { cat "$T/chain.log"; fail "missing input part: message"; }
echo "PASS"
