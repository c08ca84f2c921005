#!/usr/bin/env bash
# test_deal.sh - whole timepoints per rank for a compressed input (src/exec/deal.h): a gzip
# input with one chunk per timepoint, cut into 4 tiles, on 2 ranks. The run says it deals whole
# timepoints; with static scheduling every task of timepoint t runs on rank t mod 2, and every
# task runs from the input box or checkpoint its rank kept in the rounds of the global steps
# (bytes_in 0: the rounds dealt the tiles as the scheduler deals the tasks); the output is
# bit-identical to a 1-rank run, to dynamic scheduling's and to round-robin tasks
# (LAPSE_DEAL=tasks, whose rows show the timepoints split over the ranks). A continued run
# with one pending timepoint (fewer than the ranks) cuts it into 2 blocks of tiles, one per
# rank, and so do rounds of global steps in waves of one timepoint (LAPSE_PHASE_MEM), where
# whole timepoints left one rank idle in each wave; a compressed Zarr store is dealt as the
# HDF5 file is; an uncompressed input keeps round-robin tasks. Each timepoint's input sum is
# put together from the boxes its rounds read (a 2 x 2 grid: the sample box lies across all four
# tiles; no task decodes its chunks again for it), with the value computed here.
source "$(dirname "$0")/common.sh"
need_device
cd "$T" || fail "cd $T"

"$LAPSE_PY" - <<'PY' || fail "cannot make the inputs"
import h5py
import numpy as np
rng = np.random.default_rng(11)
a = np.zeros((6, 16, 48, 56), np.uint16)
zz, yy, xx = np.mgrid[0:16, 0:48, 0:56]
for t in range(6):
    img = rng.integers(100, 300, size=a.shape[1:]).astype(np.float64)
    for _ in range(5 + t):
        cz, cy, cx = rng.uniform(3, 13), rng.uniform(5, 43), rng.uniform(5, 51)
        img += 2000 * np.exp(-((zz - cz) ** 2 / 8 + (yy - cy) ** 2 / 18 + (xx - cx) ** 2 / 18))
    a[t] = img.astype(np.uint16)
with h5py.File("gz.h5", "w") as f:
    f.create_dataset("/raw", data=a, chunks=(1, 16, 48, 56), compression="gzip")
with h5py.File("plain.h5", "w") as f:
    f.create_dataset("/raw", data=a)
PY
have_zarr=1 # the Zarr case needs Python's zarr (tools/deps.sh installs it; some GPU hosts lack it)
"$LAPSE_PY" - <<'PY' || have_zarr=0
import h5py
import numcodecs
import zarr
a = h5py.File("plain.h5", "r")["/raw"][()]
z = zarr.open_array("gz.zarr", mode="w", shape=a.shape, chunks=(1, 16, 48, 56), dtype=a.dtype,
                    compressor=numcodecs.Zlib(level=1))
z[:] = a
PY

# cfg FILE INPUT OUTPUT SCHEDULING: the segmentation with measurements, 4 tiles per timepoint.
cfg() {
    cat >"$1" <<YAML
input: {file: $2, dataset: /raw}
tiles: {shape: [16, 24, 28], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1}
  - {op: threshold_otsu}
  - {op: connected_components_labeling, name: l, save: /labels}
  - {op: measure_labels, from: l, with: input, name: nuclei}
output: {file: $3, dataset: /result}
devices: any
scheduling: $4
on_error: skip
YAML
}

# rows OUT RUN: "timepoint:rank:bytes_in" of every task row of run RUN, sorted by task.
rows() {
    "$LAPSE_PY" - "$1" "$2" <<'PY'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r") as f:
    t = f["/lapse/tasks"][()]
t = np.sort(t[t["run_id"] == int(sys.argv[2])], order="task_id")
print(" ".join(f"{r['timepoint']}:{r['rank']}:{r['bytes_in']}" for r in t))
PY
}

# same OUT: OUT's images and tables equal ref.h5's.
same() {
    py h5same.py "$1" ref.h5 >same.log 2>&1 || { cat same.log >&2; fail "$1 differs from the 1-rank run"; }
}

cfg c1.yaml gz.h5 ref.h5 static
lapse_run 1 c1.yaml
grep -q "whole timepoints" "$T/last.log" && fail "1 rank: the run says it deals whole timepoints"

note "2 ranks, static: whole timepoints, rank t mod 2, every task from what its rounds kept"
cfg c2.yaml gz.h5 st.h5 static
lapse_run 2 c2.yaml
grep -q "static scheduling, whole timepoints per rank (compressed input)" "$T/last.log" ||
    { cat "$T/last.log"; fail "the run does not say it deals whole timepoints"; }
got=$(rows st.h5 1)
want=$(for t in 0 1 2 3 4 5; do for k in 0 1 2 3; do printf '%s:%s:0 ' $t $((t % 2)); done; done)
[ "$got" = "${want% }" ] || fail "static rows (timepoint:rank:bytes_in) are $got, not $want"
same st.h5

note "2 ranks, dynamic: the same output"
cfg c3.yaml gz.h5 dyn.h5 dynamic
lapse_run 2 c3.yaml
grep -q "dynamic scheduling, whole timepoints per rank" "$T/last.log" || fail "dynamic: no whole timepoints"
same dyn.h5

note "LAPSE_DEAL=tasks: round-robin tasks split the timepoints, the same output"
cfg c4.yaml gz.h5 rr.h5 static
LAPSE_DEAL=tasks lapse_run 2 c4.yaml
grep -q "whole timepoints" "$T/last.log" && fail "LAPSE_DEAL=tasks: the run deals whole timepoints"
got=$(rows rr.h5 1)
want=$(for q in $(seq 0 23); do printf '%s:%s:0 ' $((q / 4)) $((q % 2)); done)
[ "$got" = "${want% }" ] || fail "round-robin rows are $got, not $want"
same rr.h5

note "a continued run with one pending timepoint: its tiles in 2 blocks, one per rank"
cfg c5.yaml gz.h5 cont.h5 static
LAPSE_FAULT=fail:round-2-0-t3 expect_rc 3 r5.log mpirun_lapse 2 run c5.yaml
grep -q "whole timepoints per rank (compressed input)" r5.log || { cat r5.log; fail "the first run does not deal whole timepoints"; }
lapse_run 2 c5.yaml
grep -q "whole timepoints per rank, 1 cut into blocks of tiles to even out the ranks" "$T/last.log" ||
    { cat "$T/last.log"; fail "one pending timepoint on 2 ranks: not cut into blocks"; }
got=$(rows cont.h5 2)
[ "$got" = "3:0:0 3:0:0 3:1:0 3:1:0" ] || fail "the continued run's rows are $got"
same cont.h5

note "rounds in waves of one timepoint (LAPSE_PHASE_MEM): each timepoint in 2 blocks, both ranks busy"
cfg c8.yaml gz.h5 waves.h5 static
LAPSE_PHASE_MEM=100000 lapse_run 2 c8.yaml
grep -q "6 waves of at most 1 timepoint" "$T/last.log" || { cat "$T/last.log"; fail "no waves of one timepoint"; }
grep -q "whole timepoints per rank, 6 cut into blocks of tiles" "$T/last.log" ||
    { cat "$T/last.log"; fail "waves of one timepoint: the timepoints are not cut into blocks"; }
got=$(rows waves.h5 1 | sed -E 's/:[0-9]+( |$)/\1/g')
want=$(for t in 0 1 2 3 4 5; do printf '%s:0 %s:0 %s:1 %s:1 ' $t $t $t $t; done)
[ "$got" = "${want% }" ] || fail "rows (timepoint:rank) in waves are $got, not $want"
same waves.h5

note "the default waves: small frames share a wave up to 64 MiB of float32 voxels, large ones 8"
# (each wave costs milliseconds of its own: 1000 frames of 64 x 64 took 50 % longer in 125
# waves of 8 than in one; docs/benchmarks.md)
"$LAPSE_PY" - <<'PY' || fail "cannot make the wave inputs"
import h5py
with h5py.File("frames.h5", "w") as f:  # 200 frames of 64 x 64: 16 KiB of float32 each
    f.create_dataset("/raw", shape=(200, 1, 64, 64), dtype="uint16", chunks=(1, 1, 64, 64))
with h5py.File("stacks.h5", "w") as f:  # 20 stacks of 16 MiB of float32 each (never written)
    f.create_dataset("/raw", shape=(20, 16, 512, 512), dtype="uint16", chunks=(1, 16, 256, 256))
PY
for spec in "frames:1, 32, 32:1 wave of at most 200 timepoints" \
    "stacks:16, 256, 256:3 waves of at most 8 timepoints"; do
    IFS=: read -r name tile want <<<"$spec"
    cat >"w_$name.yaml" <<YAML
input: {file: $name.h5, dataset: /raw}
tiles: {shape: [$tile]}
pipeline:
  - {op: gaussian_blur, sigma: 1}
  - {op: threshold_otsu}
  - {op: connected_components_labeling}
output: {file: w_$name.out.h5}
devices: any
YAML
    run_ok "w_$name.log" "$LAPSE" plan "w_$name.yaml"
    grep -q "^waves      $want on 1 rank" "w_$name.log" ||
        { grep '^waves' "w_$name.log"; fail "$name: the default waves are not '$want'"; }
done

note "memory in the plan: a CPU device is sized to half of the host's memory; --mem advice"
# PoCL reports (nearly) all of the host's memory as its device's, whatever a cgroup allows:
# lapse plans with at most half of what the process may use (the runs that kept copies on it
# between rounds were OOM-killed in a cgroup before)
dev=$(sed -n 's/^device mem .* a \([0-9.]*\) MiB device$/\1/p' w_frames.log)
host=$(awk '/^MemTotal:/ {print $2 / 1024}' /proc/meminfo)
[ -n "$dev" ] && awk -v d="$dev" -v h="$host" 'BEGIN {exit !(d <= h / 2 + 1)}' ||
    { grep '^device mem' w_frames.log; fail "the CPU device's memory ($dev MiB) is above half of the host's ($host MiB)"; }
grep -Eq "^           the 1 rank on this host needs [0-9]+ MiB \(the runtime: this process holds [0-9]+ MiB now; the buffers above\), besides the global steps' quarter and the CPU device's half of the memory the process may use: Slurm's --mem at least [0-9]+ MiB" w_frames.log ||
    { grep -A2 '^host mem' w_frames.log; fail "no --mem advice in the plan"; }
! grep -q WARNING w_frames.log || fail "a memory warning for a small run"
LAPSE_PHASE_CACHE=1000000000000000 run_ok w_huge.log "$LAPSE" plan w_frames.yaml
grep -q "WARNING: that is more than the [0-9]* MiB this process may use" w_huge.log ||
    { grep -A3 '^host mem' w_huge.log; fail "no warning when the plan needs more memory than there is"; }

note "input sums from the rounds' reads: no task reads its input again for its timepoint's sum"
"$LAPSE_PY" - <<'PY' || fail "cannot make the large-plane input"
import h5py
import numpy as np
rng = np.random.default_rng(5)
a = rng.integers(100, 4000, size=(4, 8, 192, 192)).astype(np.uint16)
with h5py.File("big.h5", "w") as f:
    f.create_dataset("/raw", data=a, chunks=(1, 8, 192, 192), compression="gzip")
PY
cfg c9.yaml big.h5 big_out.h5 static
sed -i "s|^tiles: .*|tiles: {shape: [8, 96, 96], halo: auto}|" c9.yaml
LAPSE_PROFILE=1 lapse_run 2 c9.yaml
n=$(sed -n "s/.*input sums taken from the rounds' reads: \([0-9]*\).*/\1/p" "$T/last.log" | awk '{s += $1} END {print s + 0}')
[ "$n" = 4 ] || { cat "$T/last.log"; fail "input sums taken from the rounds' reads: $n of 4"; }
"$LAPSE_PY" - big_out.h5 big.h5 <<'PY' || fail "the input sums recorded from the rounds' reads"
import sys, h5py, numpy as np
def fnv(data):
    h = 14695981039346656037
    for c in data:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h or 1
with h5py.File(sys.argv[1], "r") as f, h5py.File(sys.argv[2], "r") as g:
    got, raw = f["/lapse/input_sums"][()], g["/raw"]
    for t in range(4): # the 1 x 64 x 64 box centred in the middle plane
        want = fnv(np.ascontiguousarray(raw[t, 4, 64:128, 64:128]).tobytes())
        assert int(got[t]) == want, (t, int(got[t]), want)
PY

if [ "$have_zarr" = 1 ]; then
    note "a compressed Zarr input: whole timepoints, the same output"
    cfg c7.yaml gz.zarr zarr_out.h5 static
    sed -i "s|^input: .*|input: {file: gz.zarr}|" c7.yaml
    lapse_run 2 c7.yaml
    grep -q "static scheduling, whole timepoints per rank (compressed input)" "$T/last.log" ||
        { cat "$T/last.log"; fail "Zarr: the run does not deal whole timepoints"; }
    got=$(rows zarr_out.h5 1)
    want=$(for t in 0 1 2 3 4 5; do for k in 0 1 2 3; do printf '%s:%s:0 ' $t $((t % 2)); done; done)
    [ "$got" = "${want% }" ] || fail "Zarr rows are $got, not $want"
    same zarr_out.h5
else
    note "a compressed Zarr input: skipped ($LAPSE_PY lacks zarr/numcodecs)"
fi

note "an uncompressed input: round-robin tasks"
cfg c6.yaml plain.h5 plain_out.h5 static
lapse_run 2 c6.yaml
grep -q "whole timepoints" "$T/last.log" && fail "uncompressed input: whole timepoints"
same plain_out.h5
echo "PASS ($TEST_NAME)"
