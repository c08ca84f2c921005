#!/usr/bin/env bash
# test_device_share.sh - tiles: auto divides a device's memory among the ranks that share it.
# With LAPSE_DEVICE_MEM_LIMIT capping the device memory (all ranks here share PoCL's one CPU
# device): `run --dry-run` on 3 ranks plans a tile whose device memory per task, times 3,
# fits the limit, and says that 3 ranks share the device; on 1 rank it plans a larger tile.
# An explicit whole-image tile (2.1 MiB per task) fits the device for 1 rank but not a third of
# it: 3 ranks refuse it with exit 2 and a message naming the ranks sharing the device. A real
# run on 3 ranks under the limit completes and is bit-identical to the 1-rank run. Ranks given
# their own CUDA_VISIBLE_DEVICES (as Slurm's --gpus-per-task does) still share the CPU device
# (identities: clrt.h lapse_cl_ident), and `devices: any` that lands on the CPU while the
# process was given GPUs warns, once per node.
source "$(dirname "$0")/common.sh"
need_device
make_sample

LIMIT=4194304 # 4 MiB
export LAPSE_DEVICE_MEM_LIMIT=$LIMIT

# config NAME [SHAPE]: tiles.shape SHAPE (default auto) over $IN, a gaussian blur, output
# $T/NAME.h5.
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: ${2:-auto}}
pipeline:
  - {op: gaussian_blur, sigma: 1}
output: {file: $T/$1.h5, dataset: /result}
devices: any
YAML
}

# plan_field LOG FIELD: from a plan's "device mem" line, FIELD mib (MiB per task), read (voxels of
# the largest read box) or nshare (ranks sharing the device).
plan_field() {
    local line
    line=$(grep '^device mem' "$1") || { cat "$1"; fail "no 'device mem' line in $1"; }
    case $2 in
    mib) echo "$line" | sed -n 's/^device mem *\([0-9.]*\) MiB per task.*/\1/p' ;;
    read) echo "$line" | sed -n 's/.*largest read box \([0-9]*\) voxels.*/\1/p' ;;
    nshare) echo "$line" | sed -n 's/.*; \([0-9]*\) ranks* \(share\|has\) a .*/\1/p' ;;
    esac
}

config one
config three

note "dry runs: 1 rank and 3 ranks under a $LIMIT-byte device limit"
run_ok "$T/dry1.log" mpirun_lapse 1 run "$T/one.yaml" --dry-run
run_ok "$T/dry3.log" mpirun_lapse 3 run "$T/three.yaml" --dry-run
[ ! -e "$T/one.h5" ] && [ ! -e "$T/three.h5" ] || fail "a dry run wrote an output"
grep -h -e '^tile' -e '^device mem' "$T/dry1.log" "$T/dry3.log"
[ "$(plan_field "$T/dry3.log" nshare)" = 3 ] ||
    { cat "$T/dry3.log"; fail "the 3-rank plan does not say that 3 ranks share the device"; }
[ "$(plan_field "$T/dry1.log" nshare)" = 1 ] ||
    { cat "$T/dry1.log"; fail "the 1-rank plan does not say that 1 rank has the device"; }
mib3=$(plan_field "$T/dry3.log" mib)
read1=$(plan_field "$T/dry1.log" read)
read3=$(plan_field "$T/dry3.log" read)
[ -n "$mib3" ] && [ -n "$read1" ] && [ -n "$read3" ] || fail "cannot read the plans"
awk -v m="$mib3" -v lim="$LIMIT" 'BEGIN { exit !((m + 0.05) * 3 * 1048576 <= lim) }' ||
    fail "3 ranks x $mib3 MiB per task do not fit the $LIMIT-byte device"
[ "$read1" -gt "$read3" ] ||
    fail "1 rank planned no larger tile (read box $read1 voxels) than 3 ranks ($read3)"

note "an explicit tile that fits the device but not a third of it"
config whole "[$NZ, $NY, $NX]"
run_ok "$T/whole1.log" mpirun_lapse 1 run "$T/whole.yaml" --dry-run
expect_rc 2 "$T/whole3.log" mpirun_lapse 3 run "$T/whole.yaml" --dry-run
grep -q 'each of the 3 ranks sharing the device' "$T/whole3.log" ||
    { cat "$T/whole3.log"; fail "the refusal does not say that 3 ranks share the device"; }

note "each rank given its own CUDA_VISIBLE_DEVICES, on the CPU device: still shared; a warning"
if "$LAPSE" devices --kind gpu >/dev/null 2>&1; then
    note "skipped: this host has an OpenCL GPU (the case needs the CPU device)"
else
mpirun_argv 3
run_ok "$T/cvd3.log" env LAPSE_DEVICE_MEM_LIMIT=$LIMIT "${MPIRUN_ARGV[@]}" -x LAPSE_DEVICE_MEM_LIMIT \
    bash -c 'CUDA_VISIBLE_DEVICES=$OMPI_COMM_WORLD_LOCAL_RANK exec "$0" "$@"' "$LAPSE" run \
    "$T/three.yaml" --dry-run
[ "$(plan_field "$T/cvd3.log" nshare)" = 3 ] ||
    { cat "$T/cvd3.log"; fail "ranks with their own CUDA_VISIBLE_DEVICES no longer share the CPU"; }
[ "$(grep -c "warning: on .*, devices: any found no OpenCL GPU and uses the CPU, but the job gave this process GPUs (CUDA_VISIBLE_DEVICES=0)" "$T/cvd3.log")" -eq 1 ] ||
    { cat "$T/cvd3.log"; fail "devices: any on a CPU with GPUs given: not one warning per node"; }
! grep -q "found no OpenCL GPU" "$T/dry3.log" || fail "the CPU warning without GPUs given"
fi

note "real runs: 3 ranks and 1 rank give the same output"
lapse_run 3 "$T/three.yaml"
lapse_run 1 "$T/one.yaml"
nonconstant "$T/three.h5" /result
py h5same.py "$T/one.h5" "$T/three.h5" >"$T/same.log" ||
    { cat "$T/same.log"; fail "the 3-rank output differs from the 1-rank output"; }
echo "PASS ($TEST_NAME)"
