#!/usr/bin/env bash
# test_compression.sh - output.compression (issue 12): the compressed output holds the same
# voxels as the uncompressed one, on any number of ranks, and keeps the crash safety.
#
# 1. Reference: no compression, 1 rank (gaussian saved as /blurred float32, top-hat, threshold
#    to uint8; tiles [8, 32, 32]). Then gzip, gzip:1, blosc:lz4 and blosc:zstd on 1, 2 and 3
#    ranks (dynamic and static scheduling; overlapped, and once with LAPSE_OVERLAP=0): every
#    dataset equal to the reference voxel for voxel (h5py; blosc read through the HDF5 plugin
#    the build makes, HDF5_PLUGIN_PATH=build/plugins), the datasets carry the filter (gzip, or
#    filter 32001), and the file is smaller than the reference.
# 2. SIGKILL of one random rank of a gzip and of a blosc:zstd run on 2 and 3 ranks once some
#    tasks are marked: every marked task holds the reference's data (check_done.py) and the same
#    command completes bit-identical (kill_iteration); LAPSE_FAULT=before-mark@1 under gzip: the
#    task is unmarked, the resume completes it.
# 3. A finished gzip and blosc:zstd output made to look killed while a round's metadata was being
#    written (tests/py/stale_eoa.py: 5 unmarked tasks whose chunks the index locates beyond the
#    superblock's end of allocation): the resume says it moved the end of allocation and
#    completes the output bit-identical to the reference.
# 4. `lapse verify`: a finished blosc:zstd output reads back whole without HDF5_PLUGIN_PATH, and
#    --repair leaves it as it is; a finished gzip output reads back whole; with 5 marked tasks whose chunks
#    lie beyond the end of allocation (stale_eoa.py --keep-marks; and --unwritten: beyond the
#    file's end, as a node crash can leave them) it exits 1 naming the 5; --repair is refused
#    (exit 2, the file unchanged) while another process holds the output's lock, then unmarks
#    them, and the resume completes the output bit-identical. With 5 unmarked tasks' chunks
#    beyond the file's end, verify exits 0 and --repair finds them (the resume alone would
#    write over its own new data there).
# LAPSE_TEST_SEED makes the random choices repeatable.
source "$(dirname "$0")/common.sh"
need_device
NT=6
make_sample
export HDF5_PLUGIN_PATH=$(dirname "$LAPSE")/plugins
[ -f "$HDF5_PLUGIN_PATH/liblapse_h5blosc.so" ] || fail "no blosc plugin at $HDF5_PLUGIN_PATH"
SEED=${LAPSE_TEST_SEED:-$$}
RANDOM=$SEED
note "seed $SEED"

# config NAME COMPRESSION SCHEDULING
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [8, 32, 32], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: [1, 1.5, 1.5], save: /blurred}
  - {op: top_hat_box, radius: [1, 2, 2]}
  - {op: threshold_fixed, threshold: 5}
output: {file: $T/$1.h5, dataset: /result, dtype: auto, mode: create, compression: "$2"}
devices: any
scheduling: $3
YAML
}

# filtered FILE COMPRESSION REF: every dataset has the filter and FILE is smaller than REF
filtered() {
    "$LAPSE_PY" - "$@" <<'PY' || fail "$1: not compressed as $2"
import os, sys, h5py
f, comp, ref = sys.argv[1], sys.argv[2], sys.argv[3]
with h5py.File(f, "r") as h:
    for p in ("/result", "/blurred"):
        flt = h[p]._filters
        want = "gzip" if comp.startswith("gzip") else "32001"
        if want not in flt:
            print("%s: filters %s, want %s" % (p, flt, want))
            sys.exit(1)
a, b = os.path.getsize(f), os.path.getsize(ref)
print("%s: %d bytes (uncompressed %d, ratio %.2f)" % (comp, a, b, b / a))
sys.exit(0 if a < b else 1)
PY
}

note "1. reference: no compression, 1 rank"
config ref none dynamic
lapse_run 1 "$T/ref.yaml"
nonconstant "$T/ref.h5" /result /blurred
for c in gzip gzip:1 blosc:lz4 blosc:zstd; do
    for run in 1:dynamic 2:dynamic 3:static; do
        n=${run%%:*}
        sched=${run#*:}
        name="c_${c/:/_}_n${n}_$sched"
        config "$name" "$c" "$sched"
        note "1. $c: $n ranks, $sched"
        lapse_run "$n" "$T/$name.yaml"
        py h5same.py "$T/ref.h5" "$T/$name.h5" || fail "$name differs from the uncompressed run"
        filtered "$T/$name.h5" "$c" "$T/ref.h5"
    done
done
note "1. gzip, 2 ranks, LAPSE_OVERLAP=0"
config gz_seq gzip dynamic
LAPSE_OVERLAP=0 lapse_run 2 "$T/gz_seq.yaml"
py h5same.py "$T/ref.h5" "$T/gz_seq.h5" || fail "gzip without overlap differs"
run_ok "$T/tasks.log" py tasks.py "$T/gz_seq.h5" --run-id 1 --ranks 2 --cover /result \
    --timepoints "0-$((NT - 1))" --runs 1

note "2. SIGKILL in compressed runs, then resume"
NT=32
NZ=16
NY=128
NX=128
IN=$T/in2.h5
make_sample
TOTAL=$((NT * $(ntiles 8 64 64)))
REF=$T/kref.h5
kill_config "$T/kref.yaml" "$REF"
lapse_run 1 "$T/kref.yaml"
OUT=$T/out.h5
for c in gzip blosc:zstd; do
    CFG=$T/run_${c/:/_}.yaml
    kill_config "$CFG" "$OUT"
    sed -i "s#^output: {file: $OUT, dataset: /result}#output: {file: $OUT, dataset: /result, compression: \"$c\"}#" "$CFG"
    grep -q "compression: \"$c\"" "$CFG" || fail "could not set the compression in $CFG"
    for n in 2 3; do
        for maxk in $((TOTAL / 3)) 1 1; do
            note "2. $c, $n ranks: SIGKILL of one random rank once 1..$maxk tasks are marked"
            kill_iteration "$n" "$CFG" "$OUT" "$REF" "$TOTAL" marks "$maxk"
            note "killed rank $KILL_RANK with $KILL_MARKS tasks marked; resume ran $KILL_RAN" \
                "($KILL_FINAL had final data but no mark)"
            [ "$KILL_MISSED" -eq 0 ] || fail "the kill came after the run had finished"
            [ "$KILL_MARKS" -eq "$TOTAL" ] || break
        done
        [ "$KILL_MARKS" -lt "$TOTAL" ] || fail "every kill let the run mark all $TOTAL tasks"
        filtered "$OUT" "$c" "$REF"
    done
done

note "2. LAPSE_FAULT=before-mark@1 on 2 ranks, gzip"
CFG=$T/run_gzip.yaml
rm -f "$OUT" "$OUT.creating"
mpirun_argv 2
rc=0
LAPSE_FAULT=before-mark@1 "${MPIRUN_ARGV[@]}" -x LAPSE_FAULT "$LAPSE" run "$CFG" >"$T/fault.log" 2>&1 ||
    rc=$?
[ "$rc" -ne 0 ] || { cat "$T/fault.log"; fail "LAPSE_FAULT=before-mark@1: the run did not die"; }
wait_gone "$CFG" 15
run_ok "$T/check.log" py check_done.py "$OUT" "$REF" --max $((TOTAL - 1))
cat "$T/check.log"
m=$(sed -n 's/^check_done: \([0-9]*\) of .*/\1/p' "$T/check.log")
resume_ok 2 "$CFG" "$OUT" "$REF" $((TOTAL - m))
note "3. an index beyond the recorded end of allocation (a kill while a round's metadata was written)"
# CI saw it once: the resume allocated from the stale EOA over chunks the index located there
# and the resumed file failed to read ("inflate() failed"). stale_eoa.py makes that state
# from a finished output, in gzip and blosc:zstd, and the resume must complete it bit-identical.
for run in gzip: blosc:zstd:; do
    c=${run%:*}
    CFG=$T/run_${c/:/_}.yaml
    rm -f "$OUT" "$OUT.creating"
    lapse_run 2 "$CFG"
    note "3. $c ${run##*:}"
    run_ok "$T/stale.log" py stale_eoa.py "$OUT" --tasks 5 ${run##*:}
    cat "$T/stale.log"
    run_ok "$T/check.log" py check_done.py "$OUT" "$REF" --max $((TOTAL - 5))
    resume_ok 2 "$CFG" "$OUT" "$REF" 5
    grep -q "goes on [0-9]* bytes after the end of allocation its superblock records" "$T/resume.log" ||
        { cat "$T/resume.log"; fail "$c: the resume did not say it moved the end of allocation"; }
    filtered "$OUT" "$c" "$REF"
done
note "4. lapse verify: tasks whose chunks cannot be read (a node crash), --repair, resume"
# verify_lock_refused: --repair while another process holds the output's lock: exit 2, file unchanged
verify_lock_refused() {
    local before rc=0 holder
    before=$(sha "$OUT")
    rm -f "$T/locked"
    "$LAPSE_PY" -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(60)' "$(realpath "$OUT").lock" "$T/locked" >/dev/null 2>&1 &
    holder=$!
    for _ in $(seq 100); do [ -e "$T/locked" ] && break; sleep 0.1; done
    [ -e "$T/locked" ] || fail "the lock holder did not start"
    "$LAPSE" verify --repair "$OUT" >"$T/verify.log" 2>&1 || rc=$?
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
    [ "$rc" -eq 2 ] && grep -q "another lapse run is writing" "$T/verify.log" &&
        [ "$(sha "$OUT")" = "$before" ] ||
        { cat "$T/verify.log"; fail "verify --repair under a held lock: exit $rc, or the file changed"; }
}
rm -f "$OUT" "$OUT.creating"
lapse_run 2 "$T/run_blosc_zstd.yaml"
before=$(sha "$OUT")
for opt in "" --repair; do # lapse registers the blosc filter itself; an intact output stays as it is
    run_ok "$T/verify.log" env -u HDF5_PLUGIN_PATH "$LAPSE" verify $opt "$OUT"
    grep -q "$TOTAL of $TOTAL tasks marked done; $TOTAL read back in 2 datasets, 0 unreadable" \
        "$T/verify.log" || { cat "$T/verify.log"; fail "verify $opt of a finished blosc:zstd output"; }
    [ "$(sha "$OUT")" = "$before" ] || fail "verify $opt changed an intact output"
done
# cases: marked tasks' chunks beyond the EOA, marked ones beyond the file's end, and unmarked
# ones beyond the file's end (which only --repair reads)
for opts in "--keep-marks" "--keep-marks --unwritten" "--unwritten"; do
    CFG=$T/run_gzip.yaml
    rm -f "$OUT" "$OUT.creating"
    lapse_run 2 "$CFG"
    run_ok "$T/verify.log" "$LAPSE" verify "$OUT"
    grep -q "$TOTAL of $TOTAL tasks marked done; $TOTAL read back in 2 datasets, 0 unreadable" \
        "$T/verify.log" || { cat "$T/verify.log"; fail "verify of a finished output"; }
    # shellcheck disable=SC2086
    run_ok "$T/stale.log" py stale_eoa.py "$OUT" --tasks 5 $opts
    rc=0
    "$LAPSE" verify "$OUT" >"$T/verify.log" 2>&1 || rc=$?
    if [ "$opts" = --unwritten ]; then
        [ "$rc" -eq 0 ] && grep -q "$((TOTAL - 5)) read back in 2 datasets, 0 unreadable" "$T/verify.log" ||
            { cat "$T/verify.log"; fail "verify $opts: exit $rc, want 0 (the marked tasks read back)"; }
    else
        [ "$rc" -eq 1 ] && [ "$(grep -c ': /[a-z]* unreadable: ' "$T/verify.log")" -eq 5 ] &&
            grep -q "$((TOTAL - 5)) read back in 2 datasets, 5 unreadable" "$T/verify.log" ||
            { cat "$T/verify.log"; fail "verify $opts: exit $rc, want 1 naming the 5 unreadable tasks"; }
    fi
    verify_lock_refused
    run_ok "$T/verify.log" "$LAPSE" verify --repair "$OUT"
    if [ "$opts" = --unwritten ]; then
        grep -q "5 tasks not marked done cannot be read either" "$T/verify.log" ||
            { cat "$T/verify.log"; fail "repair $opts: the unmarked tasks' chunks not found"; }
    else
        grep -q "5 tasks marked not done" "$T/verify.log" || { cat "$T/verify.log"; fail "repair $opts"; }
    fi
    upto=$(sed -n 's/.*, up to \([0-9]*\) (file end.*/\1/p' "$T/stale.log")
    eoa=$("$LAPSE_PY" -c 'import struct, sys
print(struct.unpack("<Q", open(sys.argv[1], "rb").read(36)[28:36])[0])' "$OUT")
    [ -n "$upto" ] && [ "$eoa" -ge "$upto" ] ||
        fail "repair $opts: the end of allocation $eoa does not cover the chunks up to $upto"
    run_ok "$T/check.log" py check_done.py "$OUT" "$REF" --min $((TOTAL - 5)) --max $((TOTAL - 5))
    resume_ok 2 "$CFG" "$OUT" "$REF" 5
    run_ok "$T/verify.log" "$LAPSE" verify "$OUT"
    note "4. $opts: verify and --repair found the 5, the resume is bit-identical"
done
echo "PASS ($TEST_NAME)"
