#!/usr/bin/env bash
# test_bad_input.sh - bad inputs and outputs are refused end to end, with exit code 2, a message
# naming the config position and the problem, and nothing written: an earlier output at the
# config's output path stays byte-identical and no output appears where none existed.
#  1. input file missing, empty, not HDF5, truncated; dataset a group, 2-D, 5-D without
#     input.channel, 6-D, int32, uint64, 2^40 timepoints
#  2. timepoints beyond the input's range (in the config, and with --timepoints)
#  3. output directory not writable (a read-only tmpfs; skipped with a message when mount
#     fails) or missing
#  4. output exists and output.mode is not given: the same config's complete output -> exit 0,
#     "nothing to do", unchanged; another config's output -> exit 2 suggesting output.mode:
#     overwrite or update; a foreign HDF5 file or a text file -> exit 2; all unchanged
#  5. a tile larger than the device memory (LAPSE_DEVICE_MEM_LIMIT caps what lapse assumes):
#     explicit tiles.shape -> exit 2 saying how to fix it; tiles: auto -> split, and the result
#     equals an unlimited run; tiles: auto on an existing output whose tiles do not fit -> exit
#     2 saying that the output keeps its tiles
#  6. a corrupt compressed chunk in one timepoint: exit 1 naming H5Dread and the task; the task
#     table blames only the task that failed (the one in flight with it is abandoned)
source "$(dirname "$0")/common.sh"
need_device
W=$T/work
LOGS=$T/logs
mkdir -p "$W" "$LOGS"
make_sample "$W/in.h5"
cd "$W" || fail "cannot cd to $W"
RO=$T/ro
trap 'umount "$RO" 2>/dev/null; rm -rf "$T"' EXIT

# config NAME FILE DATASET [TIMEPOINTS [TILES [THRESHOLD [OUTFILE]]]]: $W/NAME.yaml. Positions:
# input.file 2:9, input.dataset 3:12, timepoints 4:13, tiles.shape 5:16, output.file 9:16.
config() {
    cat >"$W/$1.yaml" <<YAML
input:
  file: $2
  dataset: $3
timepoints: "${4:-all}"
tiles: {shape: ${5:-[8, 32, 32]}}
pipeline:
  - {op: gaussian_blur, sigma: 1, save: /blurred}
  - {op: threshold_fixed, threshold: ${6:-100}}
output: {file: ${7:-out.h5}}
devices: any
YAML
}

# has_msg LOG NAME POS KEY REGEX: LOG has a line with "NAME.yaml:POS: KEY: " matching REGEX.
has_msg() {
    local log=$1 name=$2 pos=$3 key=$4 re=$5
    grep -F -- "$name.yaml:$pos: $key: " "$log" | grep -Eiq -- "$re" || {
        cat "$log" >&2
        fail "$name: no message '$name.yaml:$pos: $key: ' matching /$re/"
    }
}

# refuse NAME POS KEY REGEX [RUN-ARGS...]: with no out.h5, then over the good output: exit 2,
# the message, no out.h5 created / out.h5 byte-identical, no other file created in $W.
refuse() {
    local name=$1 pos=$2 key=$3 re=$4 before
    shift 4
    rm -f "$W/out.h5"
    before=$(ls -A "$W")
    expect_rc 2 "$LOGS/$name.1.log" "$LAPSE" run "$W/$name.yaml" "$@"
    has_msg "$LOGS/$name.1.log" "$name" "$pos" "$key" "$re"
    [ "$(ls -A "$W")" = "$before" ] || fail "$name: a file was created in the output directory"
    cp "$T/good_out.h5" "$W/out.h5"
    before=$(ls -A "$W")
    expect_rc 2 "$LOGS/$name.2.log" "$LAPSE" run "$W/$name.yaml" "$@"
    has_msg "$LOGS/$name.2.log" "$name" "$pos" "$key" "$re"
    [ "$(sha "$W/out.h5")" = "$GOOD_SUM" ] || fail "$name: the earlier output changed"
    [ "$(ls -A "$W")" = "$before" ] || fail "$name: a file was created in the output directory"
    echo "$name: $(head -n 1 "$LOGS/$name.2.log")"
}

note "a good run makes the earlier output"
config good in.h5 /raw
run_ok "$LOGS/good.log" "$LAPSE" run "$W/good.yaml"
nonconstant "$W/out.h5" /blurred /result
cp "$W/out.h5" "$T/good_out.h5"
GOOD_SUM=$(sha "$T/good_out.h5")
IN_SUM=$(sha "$W/in.h5")

note "1. bad input files and datasets"
echo "this is not an HDF5 file" >"$W/text.h5"
: >"$W/empty.h5"
size=$(stat -c %s "$W/in.h5")
head -c $((size / 2)) "$W/in.h5" >"$W/half.h5"
"$LAPSE_PY" - "$W/odd.h5" <<'PY' || fail "cannot write odd.h5"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f["r2"] = np.ones((70, 90), np.uint16)
    f["r5"] = np.ones((2, 4, 6, 7, 9), np.uint16)
    f["r6"] = np.ones((2, 2, 4, 6, 7, 9), np.uint16)
    f["i32"] = np.ones((2, 6, 7, 9), np.int32)
    f["u64"] = np.ones((2, 6, 7, 9), np.uint64)
    f.create_group("grp")
    f.create_dataset("many", (2**40, 1, 4, 4), np.uint8, chunks=(1, 1, 4, 4))  # nothing stored
PY
config in_missing nosuch.h5 /raw
refuse in_missing 2:9 input.file 'nosuch\.h5.*(no such file|not found|does not exist)'
config in_empty empty.h5 /raw
refuse in_empty 2:9 input.file 'empty\.h5.*(not an HDF5|empty)'
config in_text text.h5 /raw
refuse in_text 2:9 input.file 'text\.h5.*not an HDF5'
config in_truncated half.h5 /raw
refuse in_truncated 2:9 input.file 'half\.h5.*(truncated|damaged|corrupt)'
config in_group odd.h5 /grp
refuse in_group 3:12 input.dataset '/grp.*not a dataset'
config in_rank2 odd.h5 /r2
refuse in_rank2 3:12 input.dataset '/r2.*2 dimensions'
config in_rank5 odd.h5 /r5
refuse in_rank5 3:12 input.dataset '/r5.*\[t,c,z,y,x\] with 4 channels: choose one with input.channel'
config in_rank6 odd.h5 /r6
refuse in_rank6 3:12 input.dataset '/r6.*6 dimensions'
config in_int32 odd.h5 /i32
refuse in_int32 3:12 input.dataset '/i32.*int32.*(not supported|unsupported)'
config in_uint64 odd.h5 /u64
refuse in_uint64 3:12 input.dataset '/u64.*uint64.*(not supported|unsupported)'
config in_many odd.h5 /many
refuse in_many 3:12 input.dataset 'odd\.h5: the input.s shape \[1099511627776, 1, 4, 4\] .* is beyond what lapse can read'

note "2. timepoints beyond the input's range ($NT timepoints)"
config tp_range in.h5 /raw "1, 3-5"
refuse tp_range 4:13 timepoints 'timepoint 5 is out of range'
for sel in 4 "0-9:3"; do
    rm -f "$W/out.h5"
    expect_rc 2 "$LOGS/tp_cli.log" "$LAPSE" run "$W/good.yaml" --timepoints "$sel"
    grep -Eiq -- '--timepoints.*out of range' "$LOGS/tp_cli.log" ||
        { cat "$LOGS/tp_cli.log"; fail "--timepoints $sel: no message naming --timepoints"; }
    [ ! -e "$W/out.h5" ] || fail "--timepoints $sel: an output was created"
done

note "3. output directory not writable or missing"
mkdir -p "$RO"
if mount -t tmpfs -o ro,size=1m tmpfs "$RO" 2>"$LOGS/mount.log"; then
    config out_ro in.h5 /raw "" "" "" "$RO/out.h5"
    expect_rc 2 "$LOGS/out_ro.log" "$LAPSE" run "$W/out_ro.yaml"
    grep -F 'out_ro.yaml:9:16: output' "$LOGS/out_ro.log" | grep -Eq ': output(\.file)?: ' ||
        { cat "$LOGS/out_ro.log"; fail "out_ro: message lacks out_ro.yaml:9:16: output.file:"; }
    grep -Eiq "$RO.*not writable" "$LOGS/out_ro.log" ||
        { cat "$LOGS/out_ro.log"; fail "out_ro: message does not say $RO is not writable"; }
    [ -z "$(ls -A "$RO")" ] || fail "out_ro: something appeared in the read-only directory"
    umount "$RO" || fail "cannot unmount $RO"
else
    echo "SKIP sub-case: cannot mount a read-only tmpfs (as root chmod does not stop writes):" \
        "$(cat "$LOGS/mount.log")"
fi
config out_nodir in.h5 /raw "" "" "" "nodir/sub/out.h5"
expect_rc 2 "$LOGS/out_nodir.log" "$LAPSE" run "$W/out_nodir.yaml"
grep -F 'out_nodir.yaml:9:16: output' "$LOGS/out_nodir.log" |
    grep -Eiq 'nodir/sub.*(does not exist|no such)' ||
    { cat "$LOGS/out_nodir.log"; fail "out_nodir: message does not say nodir/sub does not exist"; }
[ ! -e "$W/nodir" ] || fail "out_nodir: the missing directory was created"

note "4. output exists, output.mode not given"
cp "$T/good_out.h5" "$W/out.h5"
expect_rc 0 "$LOGS/same.log" "$LAPSE" run "$W/good.yaml"
grep -Eiq 'nothing to do' "$LOGS/same.log" ||
    { cat "$LOGS/same.log"; fail "same config over its complete output: no 'nothing to do'"; }
[ "$(sha "$W/out.h5")" = "$GOOD_SUM" ] || fail "same config over its complete output changed it"
config other in.h5 /raw "" "" 150
expect_rc 2 "$LOGS/other.log" "$LAPSE" run "$W/other.yaml"
grep -F 'other.yaml:' "$LOGS/other.log" | grep -Eq 'output\.mode: (overwrite|update)' ||
    { cat "$LOGS/other.log"; fail "another config's output: message does not suggest output.mode"; }
[ "$(sha "$W/out.h5")" = "$GOOD_SUM" ] || fail "another config's run changed the existing output"
"$LAPSE_PY" -c 'import sys, h5py; h5py.File(sys.argv[1], "w")["x"] = [1, 2, 3]' "$W/out.h5"
sum=$(sha "$W/out.h5")
expect_rc 2 "$LOGS/foreign.log" "$LAPSE" run "$W/good.yaml"
grep -Eiq 'out\.h5' "$LOGS/foreign.log" ||
    { cat "$LOGS/foreign.log"; fail "foreign HDF5: out.h5 not named"; }
[ "$(sha "$W/out.h5")" = "$sum" ] || fail "a run changed a foreign HDF5 file at the output path"
echo "not lapse output" >"$W/out.h5"
expect_rc 2 "$LOGS/foreign_txt.log" "$LAPSE" run "$W/good.yaml"
[ "$(cat "$W/out.h5")" = "not lapse output" ] || fail "a run changed a text file at the output path"
echo "foreign: $(head -n 1 "$LOGS/foreign.log")"

note "5. tiles larger than the device memory (LAPSE_DEVICE_MEM_LIMIT=1 MiB)"
# The whole 24 x 70 x 90 image as one tile needs several float32 buffers of 605 KB.
config tile_big in.h5 /raw "" "[$NZ, $NY, $NX]"
LAPSE_DEVICE_MEM_LIMIT=1048576 refuse tile_big 5:16 tiles.shape '(smaller|tiles: auto|shape: auto)'
config tile_auto in.h5 /raw "" auto "" auto.h5
rm -f "$W/auto.h5"
LAPSE_DEVICE_MEM_LIMIT=1048576 run_ok "$LOGS/tile_auto.log" "$LAPSE" run "$W/tile_auto.yaml"
ntask=$("$LAPSE_PY" -c 'import sys, h5py; print(len(h5py.File(sys.argv[1])["/lapse/tasks"]))' \
    "$W/auto.h5")
[ "$ntask" -gt "$NT" ] ||
    fail "tiles: auto under a 1 MiB device limit made $ntask tasks for $NT timepoints (not split)"
py h5same.py "$T/good_out.h5" "$W/auto.h5" || fail "split tiles differ from the 8x32x32 tiling"
# An existing output keeps its tiles [8, 32, 32] even under tiles: auto; when they do not fit,
# the message says so (more memory or overwrite), not "use tiles: auto", and nothing changes.
config tile_keep in.h5 /raw "" auto
cp "$T/good_out.h5" "$W/out.h5"
LAPSE_DEVICE_MEM_LIMIT=65536 expect_rc 2 "$LOGS/tile_keep.log" "$LAPSE" run "$W/tile_keep.yaml"
has_msg "$LOGS/tile_keep.log" tile_keep 5:16 tiles.shape \
    'keeps the tiles it was written with.*overwrite'
grep -q "LAPSE_DEVICE_MEM_LIMIT" "$LOGS/tile_keep.log" || fail "tile_keep: the cap is not named"
[ "$(sha "$W/out.h5")" = "$GOOD_SUM" ] || fail "tile_keep: the earlier output changed"

note "6. a corrupt chunk in timepoint 1: exit 1 naming the read; only that task is failed"
# A copy of the input, gzip-compressed in one chunk per timepoint, with the zlib header of
# timepoint 1's chunk overwritten (not 0, 2 or 3, which the input's identity samples before the
# output is made): reading any tile of timepoint 1 fails inside H5Dread. With
# the overlapped loop the task before it is still in flight then; it did nothing wrong, so its
# row must say abandoned (2), not failed (1): lapse info and report would otherwise blame a
# healthy timepoint.
"$LAPSE_PY" - "$W/in.h5" "$W/corrupt.h5" <<'PY' || fail "could not make the corrupt input"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    raw = f["/raw"][...]
with h5py.File(sys.argv[2], "w") as g:
    d = g.create_dataset("/raw", data=raw, chunks=(1,) + raw.shape[1:], compression="gzip")
    info = d.id.get_chunk_info_by_coord((1, 0, 0, 0))
with open(sys.argv[2], "r+b") as h:
    h.seek(info.byte_offset)
    h.write(b"\xff" * 8)
PY
config corrupt corrupt.h5 /raw "" "" "" corrupt_out.h5
rm -f "$W/corrupt_out.h5"
expect_rc 1 "$LOGS/corrupt.log" "$LAPSE" run "$W/corrupt.yaml"
grep -q "H5Dread" "$LOGS/corrupt.log" || { cat "$LOGS/corrupt.log" >&2; fail "corrupt: no H5Dread in the error"; }
grep -Eq "rank 0.*(t ?= ?1|timepoint 1)" "$LOGS/corrupt.log" ||
    { cat "$LOGS/corrupt.log" >&2; fail "corrupt: the error does not name rank 0 and timepoint 1"; }
"$LAPSE_PY" - "$W/corrupt_out.h5" <<'PY' || fail "corrupt: wrong task rows (above)"
import sys, h5py
rows = h5py.File(sys.argv[1], "r")["/lapse/tasks"][...]
failed = [(int(r["timepoint"]), int(r["tile"])) for r in rows if r["status"] == 1]
other = sorted({int(r["status"]) for r in rows if r["status"] != 1})
print("rows %d, failed %s, other statuses %s" % (len(rows), failed, other))
ok = len(failed) == 1 and failed[0][0] == 1 and set(other) <= {0, 2}
ok = ok and any(r["status"] == 0 for r in rows if r["timepoint"] == 0)
sys.exit(0 if ok else 1)
PY

[ "$(sha "$W/in.h5")" = "$IN_SUM" ] || fail "the input file changed"
echo "PASS ($TEST_NAME)"
