#!/usr/bin/env bash
# test_disk_full.sh - the output's file system fills up while lapse writes: the run must fail
# cleanly and promptly, not hang and not crash.
#  1. `lapse run` alone (1 rank, MPI singleton), then under mpiexec with 2 ranks: the output
#     (two float32 datasets of 2.4 MB each) goes to a 1 MiB tmpfs; the run exits 1 within 60 s
#     (a healthy run takes 2 s) with a message naming the failing call and the rank, and saying
#     why (No space left on device, or HDF5's error text). By default the output's blocks are
#     reserved when it is created (src/h5out.c reserve_space): the fallocate fails before any
#     task runs, and no output file is left behind. With LAPSE_FALLOCATE=0 the writes of the
#     tasks fail instead (an HDF5 function such as H5Dwrite, or the pwrite of the background
#     writer that writes a task's data: src/io/rawwrite.c).
#     1a and 1b skip the up-front check of 1c (LAPSE_SPACE_CHECK=0); the fallocate message
#     reports the free space measured before the attempt (not the 0 bytes left after it).
#  1c. The same run with the up-front check (src/exec/job.c check_space): refused before the
#     output is touched, exit 2, the message names the output, the bytes its datasets need and
#     the bytes free on the tmpfs; no output file is left.
#  2. The tmpfs is already full before the run: the output file cannot even be written; exit 1
#     (or 2 when lapse checks up front), a message naming the file or the failing call and saying
#     that the disk is full, no hang (without the up-front check: with it, the lock marker
#     beside the output cannot be written already, exit 2).
#  2b. A compressed output on 2 ranks with 8 KB and 64 KB free: exit 1, no hang (the creation
#     fails on rank 0, or the first collective round); with 8 KB no file is left and the
#     message says no task has run yet.
#  3. The tmpfs grown to 16 MiB: the output fits; `lapse run --dry-run` prints its size and the
#     free space, and the run succeeds.
#  4. A compressed output (16 MiB tmpfs, 2.1 or 3.3 MB free) fills the disk in mid-run: exit 1;
#     the same command twice more on the full disk: exit 1, and every object and attribute of
#     the output stays readable; with the disk freed, the same command continues the output to
#     the bytes of a 1-rank run.
#  5. A compressed 2-rank output in the work directory's file system (ext4 here): its blocks on
#     disk (du) exceed its size by less than 256 KiB (the margin reserved after the end is
#     given back at close).
#  6. A segmentation with measure_labels on 2 ranks, the tmpfs (32 MiB) with 6 or 7 MB free:
#     exit 1, no hang; with the disk freed the same command gives a 1-rank run's labels.
# Nothing outside the tmpfs changes (the input and the other files of the work directory).
# Needs `mount -t tmpfs` (root); skipped with a message where that is impossible.
source "$(dirname "$0")/common.sh"
need_device
W=$T/work
LOGS=$T/logs
SMALL=$T/small
mkdir -p "$W" "$LOGS" "$SMALL"
# cleanup: unmount the tmpfs (retry, then lazily: a killed run may still hold it open briefly).
cleanup() {
    if mountpoint -q "$SMALL"; then
        umount "$SMALL" 2>/dev/null || { sleep 3; umount "$SMALL" 2>/dev/null; } ||
            umount -l "$SMALL"
    fi
    rm -rf "$T"
}
trap cleanup EXIT
mount -t tmpfs -o size=1m tmpfs "$SMALL" 2>"$LOGS/mount.log" ||
    skip "cannot mount a small tmpfs: $(cat "$LOGS/mount.log")"
make_sample "$W/in.h5"
cd "$W" || fail "cannot cd to $W"

cat >"$W/full.yaml" <<YAML
input: {file: in.h5, dataset: /raw}
tiles: {shape: [8, 32, 32]}
pipeline:
  - {op: gaussian_blur, sigma: 1, save: /blurred}
  - {op: multiply_scalar, value: 2}
output: {file: $SMALL/out.h5}
devices: any
YAML

# gz.yaml: the same with a compressed output (cases 2b and 4)
sed 's#^output: {file: \(.*\)}$#output: {file: \1, compression: gzip}#' "$W/full.yaml" >"$W/gz.yaml"
grep -q 'compression: gzip' "$W/gz.yaml" || fail "could not make gz.yaml"

# listing: every file of the work directory with its checksum.
listing() { (cd "$W" && find . -type f -exec sha256sum {} + | sort); }
BEFORE=$(listing)

# full_run NAME NRANKS WANT-RE: `lapse run` (NRANKS 0: without mpiexec) of $CFG (default
# full.yaml) under `timeout 60`;
# no hang, no crash, the exit code matches WANT-RE, nothing outside $SMALL changed.
full_run() {
    local name=$1 n=$2 want=$3 rc=0
    local launch=()
    [ "$n" -eq 0 ] || launch=("$MPIEXEC" -n "$n" --oversubscribe --bind-to none
        -x POCL_MAX_PTHREAD_COUNT -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
        -x LAPSE_FALLOCATE -x LAPSE_SPACE_CHECK)
    timeout -k 10 60 env LAPSE_FALLOCATE="${FALLOC:-1}" LAPSE_SPACE_CHECK="${SPACECHECK:-1}" "${launch[@]}" "$LAPSE" run "${CFG:-$W/full.yaml}" >"$LOGS/$name.log" 2>&1 || rc=$?
    cat "$LOGS/$name.log"
    case $rc in
    124 | 137) fail "$name: lapse hung (killed after 60 s)" ;;
    esac
    [ "$rc" -lt 128 ] || fail "$name: lapse crashed (exit $rc, signal $((rc - 128)))"
    grep -Eq "^($want)\$" <<<"$rc" || fail "$name: exit $rc, expected $want"
    grep -Eq 'Segmentation fault|Process received signal|core dumped' "$LOGS/$name.log" &&
        fail "$name: a process crashed (exit code $rc)"
    [ "$(listing)" = "$BEFORE" ] || fail "$name: files outside the full file system changed"
    return 0
}

# says_why NAME: the log names the rank, the failing HDF5 / MPI-IO / pwrite call, and why.
says_why() {
    grep -Eq 'lapse: rank [0-9]+.*(H5[A-Z][A-Za-z_]*|MPI_File_[a-z_]+|pwrite|fallocate)' "$LOGS/$1.log" ||
        fail "$1: no lapse message naming the rank and the failing HDF5/MPI-IO/pwrite call"
    grep -Eiq 'no space left|ENOSPC|(disk|file system) (is )?full|write failed|can.t write' \
        "$LOGS/$1.log" || fail "$1: the messages do not say why the write failed"
}

for n in 0 2; do
    note "1a. output too large for the disk: refused when it is created, $n rank(s)"
    rm -f "$SMALL"/*
    FALLOC=1 SPACECHECK=0 full_run "reserve$n" "$n" 1
    # the reservation's fallocate fails; or, where the MPI-IO layer (ROMIO) writes at creation
    # already, the creation's HDF5 / MPI-IO call does, and lapse says the disk is full
    grep -Eq 'lapse: rank 0: fallocate of [0-9]+ bytes for the output .*No space left' \
        "$LOGS/reserve$n.log" ||
        { grep -Eq 'lapse: rank [0-9]+: (H5[A-Za-z_]+|MPI_File_[a-z_]+)\(new output\)' \
            "$LOGS/reserve$n.log" &&
            grep -Eiq 'no space left|file system is full' "$LOGS/reserve$n.log"; } ||
        fail "reserve$n: no message naming fallocate (or the creation's call), the rank and ENOSPC"
    ! grep -q 'fallocate of' "$LOGS/reserve$n.log" ||
        grep -Eq 'fallocate of .*; [1-9][0-9]* bytes were free before the attempt' \
            "$LOGS/reserve$n.log" || fail "reserve$n: the free space before the attempt not reported"
    # after a failed reservation its blocks are given back: no "0 bytes free" (where ROMIO's
    # creation write itself filled the disk, the disk was full then, and lapse may say so)
    grep -q 'fallocate of' "$LOGS/reserve$n.log" &&
        grep -q 'file system is full: 0 bytes free' "$LOGS/reserve$n.log" &&
        fail "reserve$n: claims 0 bytes free after the failed reservation"
    for f in out.h5 out.h5.creating; do # the half-made file is removed (the lock marker stays)
        [ ! -e "$SMALL/$f" ] || fail "reserve$n: $f left on the full disk"
    done
    note "1b. disk full while writing the tasks (LAPSE_FALLOCATE=0), $n rank(s)"
    rm -f "$SMALL"/*
    FALLOC=0 SPACECHECK=0 full_run "write$n" "$n" 1
    says_why "write$n"
    note "1c. output too large for the disk: refused up front, $n rank(s)"
    rm -f "$SMALL"/*
    full_run "check$n" "$n" 2
    grep -Eq "full\.yaml:[0-9]+:[0-9]+: output\.file: $SMALL/out\.h5 needs [0-9.]+ MiB for its datasets \([0-9]+ bytes\), the file system of $SMALL has [0-9.]+ (KiB|MiB) free" \
        "$LOGS/check$n.log" || fail "check$n: no message naming output.file and both sizes"
    for f in out.h5 out.h5.creating; do
        [ ! -e "$SMALL/$f" ] || fail "check$n: $f left on the disk"
    done
done

note "2. the file system is full before the run"
rm -f "$SMALL"/*
dd if=/dev/zero of="$SMALL/filler" bs=64k count=100 >/dev/null 2>&1 # fails when full: fine
[ "$(df --output=avail -k "$SMALL" | tail -n 1 | tr -d ' ')" -le 64 ] ||
    fail "could not fill $SMALL: $(df -k "$SMALL")"
SPACECHECK=0 full_run create 0 '1|2'
# Either an HDF5/MPI-IO call of a rank fails, or lapse says which file it cannot write.
grep -Eq "lapse: .*(rank [0-9]+.*H5[A-Z]|$SMALL/out\.h5)" "$LOGS/create.log" ||
    fail "create: no message naming the output file or the failing call and rank"
grep -Eiq 'no space left|ENOSPC|(disk|file system) (is )?full' "$LOGS/create.log" ||
    fail "create: the message does not say the disk is full"

note "2b. a compressed output, 2 ranks, a few KB free (no up-front check can size it)"
# The new file is made by rank 0 alone (src/h5out.c create_alone): with 8 KB free its creation
# fails there, and rank 1, waiting in lapse's agreement, stops too (made collectively, rank 1
# waited in H5Dcreate2's barrier for ever); with 64 KB the first collective round fails.
for kb in 8 64; do
    rm -f "$SMALL"/*
    avail=$(df --output=avail -k "$SMALL" | tail -n 1 | tr -d ' ')
    fallocate -l $(((avail - kb) * 1024)) "$SMALL/filler" || fail "fallocate of the filler failed"
    CFG=$W/gz.yaml full_run "gz$kb" 2 1
    says_why "gz$kb"
    if [ "$kb" -eq 8 ]; then
        grep -q 'lapse: rank 0: H5[A-Za-z0-9_]*(' "$LOGS/gz8.log" ||
            fail "gz8: the creation's failing call on rank 0 is not named"
        grep -q 'no task has run yet' "$LOGS/gz8.log" || fail "gz8: does not say that no task has run"
        for f in out.h5 out.h5.creating; do
            [ ! -e "$SMALL/$f" ] || fail "gz8: $f left on the full disk"
        done
    fi
done

note "3. the output fits (16 MiB tmpfs): dry run prints the size, the run succeeds"
rm -f "$SMALL"/*
mount -o remount,size=16m "$SMALL" || fail "cannot grow $SMALL"
run_ok "$LOGS/dry.log" "$LAPSE" run "$W/full.yaml" --dry-run
grep -Eq "^size +[0-9.]+ MiB for the datasets; [0-9.]+ MiB free on the file system of $SMALL\$" \
    "$LOGS/dry.log" || { cat "$LOGS/dry.log"; fail "dry run: no size line"; }
full_run fits 2 0
[ -f "$SMALL/out.h5" ] || fail "fits: no output"

note "4. a compressed output fills the disk in mid-run; the same command again on the full disk"
# Each flush first reserves the blocks its metadata goes to (src/h5out.c reserve_ahead): a
# rerun on the still-full disk fails before writing; before, its first flush failed half way
# and left links to object headers never written ("bad object header version number"): the
# output could not be continued even after space was freed.
sed "s#$SMALL/out.h5#$T/gzref.h5#" "$W/gz.yaml" >"$T/gzref.yaml"
run_ok "$LOGS/gzref.log" "$LAPSE" run "$T/gzref.yaml"
for kb in 2100 3300; do
    rm -f "$SMALL"/*
    avail=$(df --output=avail -k "$SMALL" | tail -n 1 | tr -d ' ')
    fallocate -l $(((avail - kb) * 1024)) "$SMALL/filler" || fail "fallocate of the filler failed"
    CFG=$W/gz.yaml full_run "mid$kb" 2 1
    says_why "mid$kb"
    for again in 1 2; do
        CFG=$W/gz.yaml full_run "again$kb-$again" 2 1
        "$LAPSE_PY" - "$SMALL/out.h5" >"$LOGS/open$kb-$again.log" 2>&1 <<'PY' ||
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    f.visititems(lambda name, obj: [obj.attrs[a] for a in obj.attrs] and None)
    assert f["lapse/done"][...].sum() >= 0
PY
            { cat "$LOGS/open$kb-$again.log"; fail "again$kb-$again: the output's objects are no longer readable"; }
    done
    rm -f "$SMALL/filler"
    CFG=$W/gz.yaml full_run "done$kb" 2 0
    grep -q 'continuing' "$LOGS/done$kb.log" || fail "done$kb: did not continue the output"
    py h5same.py "$T/gzref.h5" "$SMALL/out.h5" >"$LOGS/same$kb.log" ||
        { cat "$LOGS/same$kb.log"; fail "done$kb: the continued output differs from a 1-rank run"; }
done

note "5. the blocks reserved after the file's end are given back (the work directory's file system)"
# A hole punched after the end frees nothing on ext4: the margin stayed allocated for good.
sed "s#$SMALL/out.h5#$T/gzspace.h5#" "$W/gz.yaml" >"$T/gzspace.yaml"
run_ok "$LOGS/gzspace.log" mpirun_lapse 2 run "$T/gzspace.yaml"
size=$(stat -c %s "$T/gzspace.h5")
used=$(du -B1 "$T/gzspace.h5" | cut -f1)
[ "$used" -lt $((size + 262144)) ] ||
    fail "the output takes $used bytes on disk for $size bytes: the reserved blocks stayed"

note "6. a segmentation's measurement table meets the full disk (2 ranks)"
# The table's chunks are allocated and filled in parallel by H5Dset_extent; a full disk failed
# that on one rank while the other waited in the call for ever. Now reserved first (exit 1).
"$LAPSE_PY" - "$T/noise.h5" <<'PY' || fail "could not make noise.h5"
import sys, h5py, numpy as np
r = np.random.default_rng(1)
a = r.integers(0, 100, (4, 16, 96, 96)).astype("uint16")
a[r.random(a.shape) < 0.08] += 900
with h5py.File(sys.argv[1], "w") as f:
    f["/raw"] = a
PY
cat >"$T/seg.yaml" <<YAML
input: {file: $T/noise.h5, dataset: /raw}
tiles: {shape: [16, 48, 48], halo: auto}
pipeline:
  - {op: threshold_otsu, name: mask}
  - {op: connected_components_labeling, connectivity: diamond, name: labels}
  - {op: measure_labels, from: labels, with: input, name: nuclei}
output: {file: $SMALL/seg.h5, dataset: /labels, dtype: uint32}
devices: any
YAML
sed "s#$SMALL/seg.h5#$T/segref.h5#" "$T/seg.yaml" >"$T/segref.yaml"
run_ok "$LOGS/segref.log" "$LAPSE" run "$T/segref.yaml"
mount -o remount,size=32m "$SMALL" || fail "cannot grow $SMALL"
for kb in 6000 7000; do
    rm -f "$SMALL"/*
    avail=$(df --output=avail -k "$SMALL" | tail -n 1 | tr -d ' ')
    fallocate -l $(((avail - kb) * 1024)) "$SMALL/filler" || fail "fallocate of the filler failed"
    CFG=$T/seg.yaml full_run "seg$kb" 2 1
    says_why "seg$kb"
    rm -f "$SMALL/filler"
    CFG=$T/seg.yaml full_run "segdone$kb" 2 0
    py h5same.py "$T/segref.h5" "$SMALL/seg.h5" >"$LOGS/segsame$kb.log" ||
        { cat "$LOGS/segsame$kb.log"; fail "segdone$kb: differs from a 1-rank run"; }
done
echo "PASS ($TEST_NAME)"
