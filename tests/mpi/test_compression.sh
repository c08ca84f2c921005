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
# LAPSE_TEST_SEED makes the random choices repeatable. test_verify.sh covers the resume of an
# output whose index outruns its end of allocation, and `lapse verify`.
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
        # Fiji's HDF5 reader has no Blosc filter: a Blosc run says so, a gzip run does not
        if [ "${c%%:*}" = blosc ] && [ "$n" = 1 ]; then
            grep -q "note: .*$name.h5 is Blosc-compressed .* Fiji.*output.compression: gzip" \
                "$T/last.log" || { cat "$T/last.log"; fail "$name: no note on Fiji and Blosc"; }
        elif [ "$n" = 1 ]; then
            ! grep -q "Blosc-compressed" "$T/last.log" || fail "$name: a Blosc note for $c"
        fi
    done
done
# an update of a gzip output with a Blosc config keeps its gzip datasets: no Blosc note
sed -e 's|compression: "gzip"|compression: "blosc:lz4"|' -e 's|mode: create|mode: update|' \
    "$T/c_gzip_n1_dynamic.yaml" >"$T/gz_bl.yaml"
grep -q 'blosc:lz4' "$T/gz_bl.yaml" || fail "gz_bl.yaml: no blosc:lz4 (config layout changed?)"
lapse_run 1 "$T/gz_bl.yaml" --timepoints 0
! grep -q "Blosc-compressed" "$T/last.log" || { cat "$T/last.log"; fail "a Blosc note for a gzip file"; }
filtered "$T/c_gzip_n1_dynamic.h5" gzip "$T/ref.h5"
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
            [ "$KILL_MISSED" -eq 0 ] || note "the run had finished before the kill: again"
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
echo "PASS ($TEST_NAME)"
