#!/usr/bin/env bash
# test_verify.sh - a compressed output whose chunk index outruns the end of allocation (EOA) its
# superblock records, and `lapse verify` (docs/reliability.md, docs/tools.md). Deterministic:
# tests/py/stale_eoa.py makes the states a kill or a node crash can leave, from finished outputs.
# 3. A finished gzip and blosc:zstd output whose index locates 5 unmarked tasks' chunks beyond
#    the EOA (what a SIGKILL during a round's metadata write leaves; CI saw it at 36d251b): the
#    resume says it moved the end of allocation and completes the output bit-identical to the
#    reference (before the fix it failed to read: "inflate() failed").
# 4. `lapse verify`: a finished blosc:zstd output reads back whole without HDF5_PLUGIN_PATH, and
#    --repair leaves it as it is; a finished gzip output reads back whole; with 5 marked tasks
#    whose chunks lie beyond the EOA (stale_eoa.py --keep-marks; and --unwritten: beyond the
#    file's end, as a node crash can leave them) it exits 1 naming the 5; --repair is refused
#    (exit 2, the file unchanged) while another process holds the output's lock, then moves the
#    EOA past the chunks and unmarks them, and the resume completes the output bit-identical.
#    With 5 unmarked tasks' chunks beyond the file's end, verify exits 0 and --repair finds them
#    (the resume alone would write over its own new data there).
# 5. A truncated output (HDF5 signature, unopenable): verify exits 1, also with --repair; a file
#    that is not HDF5 exits 2; an intact output another program holds open for writing (HDF5's
#    file lock) exits 2 saying so, not "damaged".
# (Numbered after test_compression.sh's sections, from which they came.)
source "$(dirname "$0")/common.sh"
need_device
export HDF5_PLUGIN_PATH=$(dirname "$LAPSE")/plugins
[ -f "$HDF5_PLUGIN_PATH/liblapse_h5blosc.so" ] || fail "no blosc plugin at $HDF5_PLUGIN_PATH"
NT=8
NZ=16
NY=128
NX=128
IN=$T/in.h5
make_sample
TOTAL=$((NT * $(ntiles 8 64 64)))
REF=$T/ref.h5
kill_config "$T/ref.yaml" "$REF"
lapse_run 1 "$T/ref.yaml"
OUT=$T/out.h5
for c in gzip blosc:zstd; do
    CFG=$T/run_${c/:/_}.yaml
    kill_config "$CFG" "$OUT"
    sed -i "s#^output: {file: $OUT, dataset: /result}#output: {file: $OUT, dataset: /result, compression: \"$c\"}#" "$CFG"
    grep -q "compression: \"$c\"" "$CFG" || fail "could not set the compression in $CFG"
done

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

note "5. a truncated output: exit 1 (nothing reads back), not 2; a file that is not HDF5: 2"
cp "$OUT" "$T/trunc.h5"
truncate -s 600 "$T/trunc.h5"
for rep in "" --repair; do
    expect_rc 1 "$T/trunc.log" "$LAPSE" verify $rep "$T/trunc.h5"
    grep -q "trunc.h5 is an HDF5 file that cannot be opened (truncated or damaged)" "$T/trunc.log" ||
        { cat "$T/trunc.log"; fail "verify $rep of a truncated output"; }
done
echo "not hdf5" >"$T/text.h5"
expect_rc 2 "$T/text.log" "$LAPSE" verify "$T/text.h5"
# an intact output held open for writing by another program: not called damaged (exit 2)
"$LAPSE_PY" - "$OUT" "$LAPSE" "$T/held.log" <<'PY' || { cat "$T/held.log"; fail "verify of an output held open for writing"; }
import subprocess, sys, h5py
with h5py.File(sys.argv[1], "r+"):
    r = subprocess.run([sys.argv[2], "verify", sys.argv[1]], capture_output=True, text=True)
open(sys.argv[3], "w").write(r.stdout + r.stderr)
assert r.returncode == 2 and "is held open by another process" in r.stderr, r.returncode
PY
run_ok "$T/verify.log" "$LAPSE" verify "$OUT"
echo "PASS ($TEST_NAME)"
