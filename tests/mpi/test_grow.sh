#!/usr/bin/env bash
# test_grow.sh - an output grows with its input (docs/architecture.md, "Growing an output with
# its input"; h5out.c grow_complete, exec/job.c check_growth).
#
# An acquisition's input has 4 timepoints, then 6 (the first 4 the same data). A tiled pipeline
# with a saved step writes an output with output.parts: timepoints on 2 ranks, from the 4:
# 1. Reference: the 6-timepoint output made at once.
# 2. Growth: an update selecting the new timepoints (--timepoints 4-5) grows the output to 6:
#    it equals the reference bit for bit (both result datasets and /lapse/done); the old parts
#    are the same bytes, run 1's 72 rows are the only rows of timepoints 0-3 (nothing of them
#    was recomputed), the growth's record says 4 -> 6, the run after it has rows of 4-5 only; a
#    plain run of the same config then has nothing to do and warns of nothing.
# 3. `lapse info` and `lapse verify` on the grown output.
# 4. A kill at each step of the growth (LAPSE_FAULT): a part made under its staged name
#    (grow-part, rank 1 and rank 0), the new main file half made (grow-copy), complete under its
#    staged name (grow-rename), just renamed into place (grow-renamed), and an injected failure
#    (fail:grow-main, exit 1). Before the rename the old output is intact: OUT.h5 the same
#    bytes, its parts the same, readable, `lapse verify` passes; after it, the output has 6
#    timepoints, the old ones' data unchanged and verify passes. Each time the same command then
#    finishes, equal to the reference, with no staged file left.
# 5. Refused (exit 2, nothing written, the output unchanged): an input whose timepoint 2 changed
#    (the identity's checksum); a plain run (no update: the advice names --timepoints 4-5); an
#    update that selects no new timepoint; --timepoints with output.mode: create in the config
#    (no update: the advice names output.mode: update); a one-file output (the advice names output.parts:
#    timepoints).
# 6. A pipeline with global steps (tiled labels: scratch datasets) and a measure table grows
#    3 -> 5 equal to the at-once output (labels, result, the table and its summary).
# 7. input.files (TIFF z-stacks): 4 files, then 6; a touched earlier file is refused (its
#    time is in the identity's checksum), and with its time restored the output grows, equal
#    to the reference of case 1.
# 8. output.format: zarr grows too: killed before the rename, the output file and the store are
#    as they were; killed after it, the old chunks are kept; each time the same command
#    finishes, the store equal to the reference (zarr_out_check.py) and the marks too.
# 9. input.files: a file written while a run starts (after its probe, before the input's
#    identity: LAPSE_FAULT=input-identity~6) is not in the identity the output records, so the
#    output still grows (before: the identity named 5 files, the growth's check of the first 4
#    differed, and the growth was refused as "changed" for good).
# 10. Durability (strace, skipped without it): each new part and the grown main file are
#    fsync'd before their rename, the parts directory before the main file's rename.
# 11. A user's group with a 300-character name in the output is copied into the grown one
#    (before: refused as "too long", exit 2 after the new parts were made).
# 12. Each timepoint's input sum (/lapse/input_sums: FNV-1a of the 1 x 64 x 64 box centred in
#    the middle plane, io/input_id.h) is recorded, equal to the same sum computed here. An
#    acquisition that rewrote timepoint 1 (which the identity's three boxes, of timepoints 0, 2
#    and 3, do not cover) is refused by the growth, naming timepoint 1 and the selection that
#    recomputes it, the output unchanged (before: it grew, keeping timepoint 1's results of the
#    old data); with that selection (--timepoints 1,4-5) the output grows and equals one made
#    at once from the input as it is now. A plain run onto the
#    4-timepoint input so changed is refused naming timepoint 1 and the update that recomputes
#    it; that update records timepoint 1's new sum (a touch then is refused saying that no
#    timepoint's sample differs), and the output then grows.
# 13. An update of a rewritten timepoint 1 killed after its first task (not the centre tile's)
#    leaves timepoint 1's input sum not recorded (0), since its results are being recomputed;
#    the output then grows onto the input (timepoint 1 as rewritten), and the update finished
#    records its sum (before: the old data's sum stayed, and the growth was refused as if
#    timepoint 1's results were of other data than the input's).
source "$(dirname "$0")/common.sh"
need_device

NEW=6
NT=$NEW make_sample "$T/full.h5"
# cut_tps SRC DST N: DST holds the first N timepoints of SRC's /raw (the acquisition so far)
cut_tps() {
    "$LAPSE_PY" - "$@" <<'PY' || fail "cannot cut $1"
import sys, h5py
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
    g.create_dataset("raw", data=f["raw"][:n])
PY
}
acquire_old() { cut_tps "$T/full.h5" "$IN" "$NT"; }
acquire_new() { cp "$T/full.h5" "$IN"; }

# config NAME INPUT [OUTPUT EXTRA]: tiles 8x32x48 over 24x70x90 (18 tiles a timepoint), parts
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $2, dataset: /raw}
tiles: {shape: [8, 32, 48], halo: auto}
pipeline:
  - op: gaussian_blur
    sigma: [1, 1.5, 1.5]
    save: /blurred
  - op: top_hat_box
    radius: [1, 2, 2]
output: {file: ${3:-$T/$1.h5}, dataset: /result${4:-, parts: timepoints}}
devices: any
YAML
}
NTILES=$(ntiles 8 32 48)
OUT=$T/out.h5

# marks_same A B: /lapse/done of A and B are equal (shape and values)
marks_same() {
    "$LAPSE_PY" - "$1" "$2" <<'PY' || fail "the done marks of $2 differ from $1"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    x, y = a["/lapse/done"][()], b["/lapse/done"][()]
    assert x.shape == y.shape and np.array_equal(x, y), (x.shape, y.shape, x.sum(), y.sum())
PY
}

# parts_sums OUT: the checksums of OUT's parts t000000-t000003
parts_sums() {
    local t
    for t in 0 1 2 3; do sha "$1.parts/t00000$t.h5"; done
}

# restore: OUT back to the 4-timepoint output (saved in old.h5), the input grown to 6
restore() {
    rm -rf "$OUT" "$OUT.parts" "$OUT.creating" "$T/out.xml" "$T/out.bdv.h5"
    cp -p "$T/old.h5" "$OUT"
    cp -rp "$T/old.h5.parts" "$OUT.parts"
    acquire_new
}

# intact: OUT is the 4-timepoint output as saved: the same bytes, the same parts, readable,
# verified
intact() {
    cmp -s "$OUT" "$T/old.h5" || fail "$1: the old output's file changed"
    [ "$(parts_sums "$OUT")" = "$OLD_PARTS" ] || fail "$1: an old part changed"
    (cd / && py h5same.py "$T/old.h5" "$OUT") >"$T/same.log" 2>&1 ||
        { cat "$T/same.log"; fail "$1: the old output does not read as before"; }
    run_ok "$T/verify.log" "$LAPSE" verify "$OUT"
    grep -q "$((NT * NTILES)) of $((NT * NTILES)) tasks marked done" "$T/verify.log" ||
        { cat "$T/verify.log"; fail "$1: verify"; }
}

# grown_ok WHAT LOG: OUT equals the at-once reference, no staged file is left, its BigDataViewer
# XML names the new timepoints
grown_ok() {
    py h5same.py "$T/once.h5" "$OUT" >"$T/same.log" 2>&1 ||
        { cat "$2" "$T/same.log"; fail "$1: the grown output differs from the one made at once"; }
    marks_same "$T/once.h5" "$OUT"
    [ ! -e "$OUT.creating" ] || fail "$1: $OUT.creating left behind"
    ! ls "$OUT.parts" | grep -q creating || fail "$1: a staged part left behind: $(ls "$OUT.parts")"
    [ "$(ls "$OUT.parts" | wc -l)" -eq "$NEW" ] || fail "$1: parts $(ls "$OUT.parts")"
    # the BigDataViewer companion was rewritten with the new timepoints
    grep -q "<last>$((NEW - 1))</last>" "${OUT%.h5}.xml" || fail "$1: ${OUT%.h5}.xml not rewritten"
}

note "1. reference: the $NEW timepoints at once, 2 ranks"
config once "$T/full.h5"
lapse_run 2 "$T/once.yaml"
nonconstant "$T/once.h5" /result /blurred

note "2. grow $NT -> $NEW on 2 ranks"
acquire_old
config out "$IN"
lapse_run 2 "$T/out.yaml"
cp -p "$OUT" "$T/old.h5"
cp -rp "$OUT.parts" "$T/old.h5.parts"
OLD_PARTS=$(parts_sums "$OUT")
acquire_new
run_ok "$T/grow.log" mpirun_lapse 2 run "$T/out.yaml" --timepoints "$NT-$((NEW - 1))"
grep -q "this update grows the output to $NEW timepoints" "$T/grow.log" ||
    { cat "$T/grow.log"; fail "the growth is not announced"; }
grep -q "run 3: $((2 * NTILES)) tasks (2 timepoints x $NTILES tiles)" "$T/grow.log" ||
    { cat "$T/grow.log"; fail "the run after the growth is not run 3 of the new timepoints' tasks"; }
grown_ok "grow" "$T/grow.log"
[ "$(parts_sums "$OUT")" = "$OLD_PARTS" ] || fail "an old part was rewritten by the growth"
"$LAPSE_PY" - "$OUT" "$NT" "$NEW" "$NTILES" <<'PY' || fail "task rows / run records of the growth"
import sys, h5py, numpy as np
out, old, new, ntiles = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with h5py.File(out, "r") as f:
    rows = f["/lapse/tasks"][()]
    runs = f["/lapse/runs"]
    assert sorted(runs.keys(), key=int) == ["1", "2", "3"], list(runs.keys())
    r1 = rows[rows["run_id"] == 1]
    assert len(r1) == old * ntiles and set(r1["timepoint"]) == set(range(old)), len(r1)
    assert (rows["timepoint"][rows["run_id"] != 1] >= old).all(), "an old timepoint recomputed"
    assert (rows["run_id"] == 2).sum() == 0, "the growth's record has rows"
    r3 = rows[rows["run_id"] == 3]
    assert len(r3) == (new - old) * ntiles and (r3["status"] == 0).all(), len(r3)
    g = runs["2"].attrs
    assert int(g["grown_from"]) == old and int(g["grown_to"]) == new, dict(g)
    assert g["status"] in (b"done", "done"), g["status"]
    # the runs before it name the grown output's fingerprint (the same config), the old kept
    fp = f.attrs["fingerprint"]
    for k in ("1", "2", "3"):
        assert runs[k].attrs["fingerprint"] == fp, (k, runs[k].attrs["fingerprint"], fp)
    assert runs["1"].attrs["fingerprint_before_growth"] != fp
    assert f["result"].shape[0] == new and f["result"].is_virtual
PY
run_ok "$T/again.log" mpirun_lapse 2 run "$T/out.yaml"
grep -q "nothing to do" "$T/again.log" || { cat "$T/again.log"; fail "the grown output is not done"; }
! grep -q "warning\|another input\|another config" "$T/again.log" ||
    { cat "$T/again.log"; fail "a plain run of the grown output warns"; }

note "3. lapse info and lapse verify on the grown output"
run_ok "$T/info.log" "$LAPSE" info "$OUT"
for want in "/result  *\[$NEW, 24, 70, 90\] float32" "$NEW parts" \
    "run 2: done.*timepoints $NT-$((NEW - 1))" "grew the output from $NT to $NEW timepoints" \
    "timepoints done: 0-$((NEW - 1)) ($NEW of $NEW)" "total: $((NEW * NTILES)) done"; do
    grep -q "$want" "$T/info.log" || { cat "$T/info.log"; fail "lapse info lacks: $want"; }
done
run_ok "$T/verify.log" "$LAPSE" verify "$OUT"
grep -q "$((NEW * NTILES)) of $((NEW * NTILES)) tasks marked done; $((NEW * NTILES)) read back in 2 datasets, 0 unreadable" \
    "$T/verify.log" || { cat "$T/verify.log"; fail "verify of the grown output"; }

note "4. a kill at each step of the growth, then the same command"
for fault in grow-part@1 grow-part@0 grow-copy grow-rename grow-renamed fail:grow-main; do
    restore
    rc=0
    mpirun_argv 2
    LAPSE_FAULT=$fault "${MPIRUN_ARGV[@]}" -x LAPSE_FAULT "$LAPSE" run "$T/out.yaml" \
        --timepoints "$NT-$((NEW - 1))" >"$T/fault.log" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] || { cat "$T/fault.log"; fail "LAPSE_FAULT=$fault: the growth did not die"; }
    wait_gone "$T/out.yaml" 15
    if [ "$fault" = grow-renamed ]; then
        # grown and in place: 6 timepoints, the old ones' data as before, the new ones not done
        "$LAPSE_PY" - "$T/old.h5" "$OUT" "$NT" "$NEW" <<'PY' || fail "$fault: the old timepoints changed"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    n, new = int(sys.argv[3]), int(sys.argv[4])
    for d in ("result", "blurred"):
        assert b[d].shape[0] == new and a[d].shape[0] == n, (d, a[d].shape, b[d].shape)
        assert np.array_equal(a[d][()], b[d][:n]), d
    x, y = a["/lapse/done"][()], b["/lapse/done"][()]
    assert np.array_equal(x, y[:n]) and not y[n:].any(), "marks"
PY
        [ "$(parts_sums "$OUT")" = "$OLD_PARTS" ] || fail "$fault: an old part changed"
        run_ok "$T/verify.log" "$LAPSE" verify "$OUT"
        grep -q "$((NT * NTILES)) of $((NEW * NTILES)) tasks marked done" "$T/verify.log" ||
            { cat "$T/verify.log"; fail "$fault: verify"; }
    else
        [ "$fault" != fail:grow-main ] || [ "$rc" -eq 1 ] ||
            { cat "$T/fault.log"; fail "$fault: exit $rc, not 1"; }
        intact "$fault"
    fi
    run_ok "$T/resume.log" mpirun_lapse 2 run "$T/out.yaml" --timepoints "$NT-$((NEW - 1))"
    grown_ok "$fault" "$T/resume.log"
    echo "  $fault: exit $rc, then finished"
done

note "5. refusals: exit 2, nothing written"
# refused WHAT PATTERN CFG ARGS...: exit 2 naming PATTERN, OUT (and its parts) unchanged
refused() {
    local what=$1 pattern=$2 before
    shift 2
    before=$(sha "$OUT")
    local parts
    parts=$(ls "$OUT.parts" 2>/dev/null)
    expect_rc 2 "$T/refused.log" mpirun_lapse 2 run "$@"
    grep -q -- "$pattern" "$T/refused.log" || { cat "$T/refused.log"; fail "$what: not said: $pattern"; }
    [ "$(sha "$OUT")" = "$before" ] || fail "$what: the output changed"
    [ "$(ls "$OUT.parts" 2>/dev/null)" = "$parts" ] || fail "$what: parts made: $(ls "$OUT.parts")"
    [ ! -e "$OUT.creating" ] || fail "$what: $OUT.creating made"
}
restore
"$LAPSE_PY" - "$T/full.h5" "$IN" <<'PY' || fail "cannot change the input"
import sys, h5py
with h5py.File(sys.argv[2], "r+") as f:
    f["raw"][2, 0, 0, 0] = f["raw"][2, 0, 0, 0] + 1  # timepoint 2: in the identity's boxes
PY
refused "a changed timepoint" "changed in its first $NT timepoints" "$T/out.yaml" --timepoints "$NT-$((NEW - 1))"
intact "a changed timepoint"
acquire_new
refused "a plain run" "to grow the output with its input, run an update that selects the new timepoints: --timepoints $NT-$((NEW - 1))" "$T/out.yaml"
refused "no new timepoint" "selects none of the new timepoints" "$T/out.yaml" --timepoints 0-1
# output.mode: create in the config: --timepoints continues, it is no update; the advice says to
# set output.mode: update (before: it advised the --timepoints that was given)
sed 's|parts: timepoints}|parts: timepoints, mode: create}|' "$T/out.yaml" >"$T/outc.yaml"
grep -q "mode: create}" "$T/outc.yaml" || fail "5: no mode: create in $T/outc.yaml"
refused "mode: create with --timepoints" "the config sets output.mode: create.*set output.mode: update" \
    "$T/outc.yaml" --timepoints "$NT-$((NEW - 1))"
# and a plain run of it advises output.mode: update, not the --timepoints refused just above
refused "mode: create, a plain run" "the config sets output.mode: create, so set output.mode: update with timepoints: \"$NT-$((NEW - 1))\"" \
    "$T/outc.yaml"
! grep -q "^lapse: .*--timepoints $NT-$((NEW - 1)) (or output.mode" "$T/refused.log" ||
    { cat "$T/refused.log"; fail "5: mode: create advised the --timepoints it refuses"; }
# another tile shape: refused without first saying the update grows the output
sed 's|shape: \[8, 32, 48\]|shape: [8, 30, 48]|' "$T/out.yaml" >"$T/outt.yaml"
refused "another tile shape" "tiles.shape: the output was written with tiles" "$T/outt.yaml" \
    --timepoints "$NT-$((NEW - 1))"
! grep -q "grows the output" "$T/refused.log" ||
    { cat "$T/refused.log"; fail "5: a refused growth first said it grows the output"; }
intact "the refusals"
# one file
OUT=$T/one.h5
acquire_old
config one "$IN" "$OUT" ", parts: none"
lapse_run 2 "$T/one.yaml"
acquire_new
refused "one file" "an output in one file cannot grow with its input.*use output.parts: timepoints" \
    "$T/one.yaml" --timepoints "$NT-$((NEW - 1))"
note "6. global steps (tiled labels, scratch datasets) and a measure table: grow 3 -> 5"
"$LAPSE_PY" - "$T/gfull.h5" "$T/gin.h5" <<'PY' || fail "cannot make the labels input"
import sys, h5py, numpy as np
rng = np.random.default_rng(7)
a = np.zeros((5, 16, 48, 56), np.uint16)
zz, yy, xx = np.mgrid[0:16, 0:48, 0:56]
for t in range(5):
    img = rng.integers(100, 300, size=a.shape[1:]).astype(np.float64)
    for _ in range(6 + t):
        cz, cy, cx = rng.uniform(3, 13), rng.uniform(5, 43), rng.uniform(5, 51)
        img += 2000 * np.exp(-((zz - cz) ** 2 / 8 + (yy - cy) ** 2 / 18 + (xx - cx) ** 2 / 18))
    a[t] = img.astype(np.uint16)
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("/raw", data=a)
with h5py.File(sys.argv[2], "w") as f:
    f.create_dataset("/raw", data=a[:3])
PY
# gconfig NAME INPUT
gconfig() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $2, dataset: /raw}
tiles: {shape: [8, 24, 28], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1}
  - {op: threshold_otsu}
  - {op: connected_components_labeling, name: l, save: /labels}
  - {op: measure_labels, from: l, with: input, name: nuclei}
output: {file: $T/$1.h5, dataset: /result, parts: timepoints}
devices: any
YAML
}
gconfig gonce "$T/gfull.h5"
gconfig gout "$T/gin.h5"
lapse_run 2 "$T/gonce.yaml"
lapse_run 2 "$T/gout.yaml"
cp "$T/gfull.h5" "$T/gin.h5"
run_ok "$T/ggrow.log" mpirun_lapse 2 run "$T/gout.yaml" --timepoints 3-4
py h5same.py "$T/gonce.h5" "$T/gout.h5" >"$T/same.log" 2>&1 ||
    { cat "$T/ggrow.log" "$T/same.log"; fail "6: the grown output (labels, tables) differs from the one made at once"; }
grep -q "/nuclei: identical" "$T/same.log" || { cat "$T/same.log"; fail "6: the table was not compared"; }
marks_same "$T/gonce.h5" "$T/gout.h5"
run_ok "$T/verify.log" "$LAPSE" verify "$T/gout.h5"
note "7. one file per timepoint (input.files): 4 -> 6 files, equal to the output made at once"
mkdir -p "$T/tp"
# tiffs FIRST LAST: tp_T.tif (in $TPDIR, default $T/tp), a z-stack of full.h5's timepoint T, for T in
# FIRST..LAST
tiffs() {
    "$LAPSE_PY" - "$T/full.h5" "${TPDIR:-$T/tp}" "$1" "$2" <<'PY' || fail "cannot write the TIFF files"
import sys, h5py, tifffile
with h5py.File(sys.argv[1], "r") as f:
    for t in range(int(sys.argv[3]), int(sys.argv[4]) + 1):
        tifffile.imwrite("%s/tp_%d.tif" % (sys.argv[2], t), f["raw"][t])
PY
}
tiffs 0 $((NT - 1))
OUT=$T/files.h5
config files "$T/tp/tp_*.tif" "$OUT"
sed -i 's|^input: {file: \(.*\), dataset: /raw}$|input: {files: "\1"}|' "$T/files.yaml"
grep -q '^input: {files: ' "$T/files.yaml" || fail "7: the config does not read input.files"
lapse_run 2 "$T/files.yaml"
tiffs "$NT" $((NEW - 1))
touch -r "$T/tp/tp_1.tif" "$T/stamp"
touch "$T/tp/tp_1.tif" # an earlier file's time changed: the identity of the first 4 differs
refused "a touched earlier file" "changed in its first $NT timepoints" "$T/files.yaml" --timepoints "$NT-$((NEW - 1))"
touch -r "$T/stamp" "$T/tp/tp_1.tif"
run_ok "$T/fgrow.log" mpirun_lapse 2 run "$T/files.yaml" --timepoints "$NT-$((NEW - 1))"
grown_ok "7" "$T/fgrow.log"
if ! "$LAPSE_PY" -c 'import zarr, numcodecs' 2>/dev/null; then # (tools/deps.sh installs them)
    note "8. skipped: $LAPSE_PY lacks zarr/numcodecs, which check the Zarr store"
    echo "PASS ($TEST_NAME, without case 8)"
    exit 0
fi
note "8. output.format: zarr: grows the same way (the store's arrays rewritten by the run)"
OUT=$T/zarr.h5
STORE=$T/zarr.zarr
acquire_old
config zarr "$IN" "$OUT" ", format: zarr"
lapse_run 2 "$T/zarr.yaml"
cp -p "$OUT" "$T/zold.h5"
cp -rp "$STORE" "$T/zold.zarr"
zsum=$(sha "$STORE/result/0/.zarray")
nchunks=$(find "$STORE/result/0" -type f ! -name '.*' | wc -l)
[ "$nchunks" -eq $((NT * NTILES)) ] || fail "8: $nchunks chunks of /result"
for fault in grow-rename grow-renamed none; do
    rm -rf "$OUT" "$STORE" "$OUT.creating"
    cp -p "$T/zold.h5" "$OUT"
    cp -rp "$T/zold.zarr" "$STORE"
    acquire_new
    rc=0
    mpirun_argv 2
    LAPSE_FAULT=$fault "${MPIRUN_ARGV[@]}" -x LAPSE_FAULT "$LAPSE" run "$T/zarr.yaml" \
        --timepoints "$NT-$((NEW - 1))" >"$T/zfault.log" 2>&1 || rc=$?
    wait_gone "$T/zarr.yaml" 15
    if [ "$fault" = none ]; then
        [ "$rc" -eq 0 ] || { cat "$T/zfault.log"; fail "8: the growth failed"; }
    else
        [ "$rc" -ne 0 ] || { cat "$T/zfault.log"; fail "8: $fault did not die"; }
        # the old chunks kept, none made; before the rename the output and the array as they were
        [ "$(find "$STORE/result/0" -type f ! -name '.*' | wc -l)" -eq "$nchunks" ] ||
            fail "8: $fault: chunks made or removed"
        if [ "$fault" = grow-rename ]; then
            cmp -s "$OUT" "$T/zold.h5" || fail "8: $fault: the output file changed"
            [ "$(sha "$STORE/result/0/.zarray")" = "$zsum" ] || fail "8: $fault: the array changed"
        fi
        run_ok "$T/verify.log" "$LAPSE" verify "$OUT"
        grep -q "$((NT * NTILES)) of $( [ "$fault" = grow-rename ] && echo $((NT * NTILES)) || echo $((NEW * NTILES))) tasks marked done" \
            "$T/verify.log" || { cat "$T/verify.log"; fail "8: $fault: verify"; }
        run_ok "$T/zgrow.log" mpirun_lapse 2 run "$T/zarr.yaml" --timepoints "$NT-$((NEW - 1))"
    fi
    run_ok "$T/zcheck.log" py zarr_out_check.py "$STORE" "$T/once.h5" /result,/blurred
    marks_same "$T/once.h5" "$OUT"
    [ ! -e "$OUT.creating" ] || fail "8: $fault: $OUT.creating left behind"
    [ "$(find "$STORE/result/0" -type f ! -name '.*' | wc -l)" -eq $((NEW * NTILES)) ] ||
        fail "8: $fault: not one chunk per task"
    echo "  zarr, $fault: exit $rc, then finished"
done
note "9. input.files: a file made while a run starts (between its probe and the input's identity) does not stop the growth"
# An acquisition writes its next file while a run starts: the run reads the 4 files its probe
# found, and the output records the identity of those 4 (before: of every file then, 5), so the
# growth's check of the first 4 files' identity matches. The run sleeps 6 s at the point
# (LAPSE_FAULT=input-identity~6); the 5th file is written 3 s after the start.
mkdir -p "$T/tp9"
TPDIR=$T/tp9 tiffs 0 $((NT - 1))
OUT=$T/race.h5
config race "$T/tp9/tp_*.tif" "$OUT"
sed -i 's|^input: {file: \(.*\), dataset: /raw}$|input: {files: "\1"}|' "$T/race.yaml"
rc=0
LAPSE_FAULT=input-identity~6 "$LAPSE" run "$T/race.yaml" >"$T/race.log" 2>&1 &
pid=$!
sleep 3
TPDIR=$T/tp9 tiffs "$NT" "$NT"
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/race.log"; fail "9: the run with a file made during its start: exit $rc"; }
# nor is the new file a change of the input the run read (before 2026-12-05 its end compared
# the identity of every file then, 5, and warned that the input CHANGED DURING THIS RUN)
! grep -q "CHANGED DURING THIS RUN" "$T/race.log" ||
    { cat "$T/race.log"; fail "9: a file added past the run's timepoints was called a change"; }
"$LAPSE_PY" - "$OUT" "$NT" <<'PY' || fail "9: the run did not read the $NT files its probe found (too slow a start?)"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f["result"].shape[0] == int(sys.argv[2]), f["result"].shape
PY
TPDIR=$T/tp9 tiffs $((NT + 1)) $((NEW - 1))
run_ok "$T/rgrow.log" mpirun_lapse 2 run "$T/race.yaml" --timepoints "$NT-$((NEW - 1))"
grown_ok "9" "$T/rgrow.log"
note "10. what replaces or joins the finished output is on the disk before its name (strace)"
# A crash of the node just after a rename must not leave OUT.h5 (or a new part the grown
# file maps) named over contents that never reached the disk: the grown main file and each
# new part are fsync'd before their rename, the parts directory before the main file's.
if command -v strace >/dev/null 2>&1 && strace -f -o /dev/null true >/dev/null 2>&1; then
    OUT=$T/sync.h5
    acquire_old
    config sync "$IN" "$OUT"
    lapse_run 1 "$T/sync.yaml"
    acquire_new
    strace -f -y -e trace=fsync,rename -o "$T/strace.log" "$LAPSE" run "$T/sync.yaml" \
        --timepoints "$NT-$((NEW - 1))" >"$T/sync.log" 2>&1 ||
        { cat "$T/sync.log"; fail "10: the growth under strace failed"; }
    "$LAPSE_PY" - "$T/strace.log" "$(realpath "$OUT")" "$NT" "$NEW" <<'PY' ||
import sys, re
log, out, old, new = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
synced, renames = set(), []
for line in open(log):
    m = re.search(r'fsync\(\d+<([^>]*)>\) = 0', line)
    if m:
        synced.add(m.group(1))
    m = re.search(r'rename\("([^"]*)", "([^"]*)"\) = 0', line)
    if m:
        renames.append((m.group(1), set(synced)))
def before(src):
    hits = [s for r, s in renames if r == src]
    assert hits, ("never renamed", src)
    return hits[0]
for t in range(old, new):
    part = "%s.parts/t%06d.h5.creating" % (out, t)
    assert part in before(part), ("a new part renamed before it was synced", part)
main = before(out + ".creating")
assert out + ".creating" in main, "the grown file renamed onto the output before it was synced"
assert out + ".parts" in main, "the grown file renamed before the new parts' names were synced"
PY
        { cat "$T/strace.log" | grep -v pocl; fail "10: renamed before synced"; }
    py h5same.py "$T/once.h5" "$OUT" >"$T/same.log" 2>&1 ||
        { cat "$T/same.log"; fail "10: the grown output differs from the one made at once"; }
else
    echo "  strace cannot trace here: case 10 skipped"
fi
note "11. a user's object with a name longer than 256 characters is copied into the grown output"
OUT=$T/long.h5
acquire_old
config long "$IN" "$OUT"
lapse_run 1 "$T/long.yaml"
LONG=notes_$(printf 'x%.0s' $(seq 300))
"$LAPSE_PY" - "$OUT" "$LONG" <<'PY' || fail "11: cannot add the group"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f.create_group(sys.argv[2]).attrs["who"] = "a user"
PY
acquire_new
# before: "an object name in the output is too long", exit 2 with the new parts made
run_ok "$T/lgrow.log" mpirun_lapse 1 run "$T/long.yaml" --timepoints "$NT-$((NEW - 1))"
grown_ok "11" "$T/lgrow.log"
"$LAPSE_PY" - "$OUT" "$LONG" <<'PY' || fail "11: the user's group was not kept"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f[sys.argv[2]].attrs["who"] in ("a user", b"a user")
PY
note "12. each timepoint's input sum: recorded, and a rewritten earlier timepoint is named"
OUT=$T/sums.h5
# sums_ok OUT IN N: OUT's first N input sums equal the sums of IN's timepoints computed here
sums_ok() {
    "$LAPSE_PY" - "$@" <<'PY' || fail "12: the recorded input sums"
import sys, h5py, numpy as np
out, inp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def fnv(data):
    h = 14695981039346656037
    for c in data:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h or 1
with h5py.File(out, "r") as f, h5py.File(inp, "r") as g:
    got = f["/lapse/input_sums"][()]
    raw = g["raw"]
    _, nz, ny, nx = raw.shape
    dy, dx = min(64, ny), min(64, nx)
    y0, x0 = (ny - dy) // 2, (nx - dx) // 2
    assert got.shape[0] == f["result"].shape[0], (got.shape, f["result"].shape)
    for t in range(n):
        want = fnv(np.ascontiguousarray(raw[t, nz // 2, y0:y0 + dy, x0:x0 + dx]).tobytes())
        assert int(got[t]) == want, (t, int(got[t]), want)
PY
}
# rewrite_tp1 FILE: the voxel at the centre of timepoint 1 changes (not in the identity's boxes)
rewrite_tp1() {
    "$LAPSE_PY" - "$1" <<'PY' || fail "12: cannot change the input"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    _, nz, ny, nx = f["raw"].shape
    f["raw"][1, nz // 2, ny // 2, nx // 2] += 1
PY
}
acquire_old
config sums "$IN" "$OUT"
lapse_run 2 "$T/sums.yaml"
sums_ok "$OUT" "$IN" "$NT"
cp -p "$OUT" "$T/old.h5"
rm -rf "$T/old.h5.parts" && cp -rp "$OUT.parts" "$T/old.h5.parts"
OLD_PARTS=$(parts_sums "$OUT")
acquire_new
rewrite_tp1 "$IN"
refused "a rewritten timepoint 1" \
    "changed in 1 of the output's $NT timepoints.*timepoints 1 hold other data.*--timepoints 1,$NT-$((NEW - 1))" \
    "$T/sums.yaml" --timepoints "$NT-$((NEW - 1))"
intact "12: the refused growth"
# selected too, timepoint 1 is recomputed as the output grows: equal to an output made at once
cp "$IN" "$T/full1.h5"
config sums1 "$T/full1.h5"
lapse_run 2 "$T/sums1.yaml"
run_ok "$T/sgrow1.log" mpirun_lapse 2 run "$T/sums.yaml" --timepoints "1,$NT-$((NEW - 1))"
grep -q "this update grows the output to $NEW timepoints" "$T/sgrow1.log" ||
    { cat "$T/sgrow1.log"; fail "12: the update of 1,$NT-$((NEW - 1)) did not grow the output"; }
py h5same.py "$T/sums1.h5" "$OUT" >"$T/same.log" 2>&1 ||
    { cat "$T/same.log"; fail "12: grown with timepoint 1 recomputed, the output differs from the one made at once"; }
sums_ok "$OUT" "$IN" "$NEW"
restore
acquire_old
rewrite_tp1 "$IN"
refused "a plain run onto a rewritten timepoint 1" \
    "differ from what their results were computed from: 1 (output.mode: update with --timepoints 1 " \
    "$T/sums.yaml"
run_ok "$T/upd.log" mpirun_lapse 2 run "$T/sums.yaml" --timepoints 1
sums_ok "$OUT" "$IN" "$NT"
touch "$IN"
refused "a plain run onto a touched input" "no timepoint's sample differs from the data" "$T/sums.yaml"
run_ok "$T/upd.log" mpirun_lapse 2 run "$T/sums.yaml" --timepoints 0
"$LAPSE_PY" - "$T/full.h5" "$IN" <<'PY' || fail "12: cannot grow the changed input"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f, h5py.File(sys.argv[2], "r+") as g:
    new = f["raw"][()]
    new[:4] = g["raw"][()]
    del g["raw"]
    g.create_dataset("raw", data=new)
PY
run_ok "$T/sgrow.log" mpirun_lapse 2 run "$T/sums.yaml" --timepoints "$NT-$((NEW - 1))"
grep -q "this update grows the output to $NEW timepoints" "$T/sgrow.log" ||
    { cat "$T/sgrow.log"; fail "12: the output did not grow after the update"; }
sums_ok "$OUT" "$IN" "$NEW"
note "12b. a change in one identity box is not excused by selecting another box's timepoint"
# Timepoint NT-1's voxels at the origin (inside the identity's box there, away from its sample)
# change; the growth selects timepoint 0 (another box's) with the new ones: refused, since one
# checksum covers the three boxes and which changed cannot be told (before 2026-12-05 it was
# let through, and timepoint NT-1 kept results of its old data); the advised selection (all
# three box timepoints too: 0, NT / 2 and NT - 1, with NT = 4 the range 2-5 with the new ones)
# grows it equal to an output made at once from the changed input.
OUT=$T/boxes.h5
acquire_old
config boxes "$IN" "$OUT"
lapse_run 2 "$T/boxes.yaml"
acquire_new
"$LAPSE_PY" - "$IN" "$((NT - 1))" <<'PY' || fail "12b: cannot change the input"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f["raw"][int(sys.argv[2]), 0:2, 0:8, 0:8] += 3000
PY
before=$(sha "$OUT")
expect_rc 2 "$T/boxes.log" mpirun_lapse 2 run "$T/boxes.yaml" --timepoints "0,$NT-$((NEW - 1))"
grep -q "which of them changed cannot be told: select all three too.*--timepoints 0,$((NT / 2))-$((NEW - 1))" \
    "$T/boxes.log" || { cat "$T/boxes.log"; fail "12b: the change in a box was not refused"; }
[ "$(sha "$OUT")" = "$before" ] || fail "12b: the refused growth changed the output"
run_ok "$T/bgrow.log" mpirun_lapse 2 run "$T/boxes.yaml" --timepoints "0,$((NT / 2))-$((NEW - 1))"
cp "$IN" "$T/fullb.h5"
config boxesref "$T/fullb.h5"
lapse_run 2 "$T/boxesref.yaml"
py h5same.py "$T/boxesref.h5" "$OUT" >"$T/same.log" 2>&1 ||
    { cat "$T/same.log"; fail "12b: the grown output differs from the one made at once"; }
acquire_new
note "13. an interrupted update of a timepoint: its input sum is not recorded until recomputed"
OUT=$T/sums2.h5
acquire_old
config sums2 "$IN" "$OUT"
lapse_run 1 "$T/sums2.yaml"
rewrite_tp1 "$IN"
rc=0
LAPSE_FAULT=after-task "$LAPSE" run "$T/sums2.yaml" --timepoints 1 >"$T/s2fault.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$T/s2fault.log"; fail "13: LAPSE_FAULT=after-task: the update did not die"; }
"$LAPSE_PY" - "$OUT" <<'PY' || fail "13: the interrupted update's timepoint 1"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    done, sums = f["/lapse/done"][()], f["/lapse/input_sums"][()]
    assert done[1].sum() == 1 and done[1][8] == 0, done[1]  # one task, not the centre tile's (8)
    assert sums[1] == 0 and sums[0] != 0, sums
PY
acquire_new
rewrite_tp1 "$IN"
run_ok "$T/s2grow.log" mpirun_lapse 2 run "$T/sums2.yaml" --timepoints "$NT-$((NEW - 1))"
grep -q "this update grows the output to $NEW timepoints" "$T/s2grow.log" ||
    { cat "$T/s2grow.log"; fail "13: the output did not grow"; }
lapse_run 2 "$T/sums2.yaml" --timepoints 1
sums_ok "$OUT" "$IN" "$NEW"
echo "PASS ($TEST_NAME)"
