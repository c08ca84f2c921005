#!/usr/bin/env bash
# gpu_io.sh - issue 12 on the lent GPU machine in one device call (docs/io.md): the I/O floor
# (bench/io_floor.c), lapse and the peer loop (../shared/bench/peer_pipeline.py) at 1, 2 and 4
# ranks on one GPU and on two GPUs, page cache warm, plus one cold run of each (2 ranks, all
# GPUs); the outputs of every rank and GPU count compared bit for bit; the write knobs (docs/io.md)
# at the largest rank count; then the device-bound pipeline (bench/scale.yaml.in) on 1 rank /
# 1 GPU and 2 ranks / 2 GPUs; one table at the end.
#
# From the repository root, with the staged libraries (.gpu/env.sh, docs/gpu.md), Release
# binaries in $BIN (default gpu-bin: lapse, io_floor; libraries the GPU machine lacks in
# $BIN/lib) and the peer script in $PEER (default .peer: a copy of ../shared/bench). Logs under
# $OUT (default bench-out), packed into $OUT/logs.tgz. Environment:
#   NT, SHAPE     the sample: NT timepoints of SHAPE uint16 (default 20, 128,1024,1024)
#   RANKS         rank counts (default "1 2 4"); GPUS: GPU counts (default "1 2", 2 only when
#                 there are two); one GPU is CUDA_VISIBLE_DEVICES=0 for lapse, floor and peer
#   SCALE_NT      timepoints of the device-bound pipeline's runs (default 10; on an H200 each
#                 takes ~6.5 s of device time: 40 on one GPU outlasts TLIM and a device call)
#   PEERS=0       skips the peer loop; SCALE=0 skips the device-bound pipeline; KNOBS=0 skips
#                 the write knobs (independent / collective, whole-plane chunks, alignment,
#                 metadata cache, compression) at the largest rank count
#   KNOB_RANKS    ranks of the knob sweep (default the last of RANKS); TLIM: seconds each program
#                 may run (default 240). RANKS="" COLD=0 runs only the knobs and the scaling.
#   COLD=0        skips the cold runs (they need root: echo 3 > /proc/sys/vm/drop_caches)
#   EXTRA_ENV     extra environment for lapse (e.g. "LAPSE_H5_WRITE=collective")
#   PARTS=1       lapse writes with output.parts: timepoints (docs/io.md "Per-timepoint parts")
#                 and the floor with io_floor --parts (the same per-timepoint files)
#   REPS          runs of lapse and of the peer per row (default 1); the table has the medians,
#                 the log line every run; rc, lapse_loop, busy and io_mode are the last run's
#   DEVICES       the configs' devices: (default gpu; "any" to try the script on PoCL)
#   PAIRS         "GPUS:RANKS ..." (e.g. "1:1 2:2 4:4 8:8", issue 14): only these rows, each with
#                 `lapse devices` under that rank count, then a scaling table (voxels per
#                 second, parallel efficiency against the first pair, device busy, phase split)
#   SCALE_GPUS    GPU counts of the device-bound pipeline, one rank per GPU (e.g. "1 2 4 8";
#                 default: 1 rank on 1 GPU and 2 ranks on all GPUs)
# Every lapse run has LAPSE_IO_STATS=1 (one line per rank: summed times, the H5Pget_mpio_actual_
# io_mode of its last data write) and is followed by `lapse info` (device busy per rank).
set -uo pipefail
BIN=${BIN:-gpu-bin}
PEER=${PEER:-.peer}
LOG=${OUT:-bench-out}
W=${WORK:-/tmp/lapse-io}
NT=${NT:-20}
SHAPE=${SHAPE:-128,1024,1024}
RANKS=${RANKS-"1 2 4"}
mkdir -p "$LOG" "$W"
[ -f .gpu/env.sh ] && source .gpu/env.sh
export LD_LIBRARY_PATH=$PWD/$BIN/lib:${LD_LIBRARY_PATH:-}
L=$PWD/$BIN/lapse
FLOOR=$PWD/$BIN/io_floor
# every program under a time limit (TLIM s, default 240), so that a hang cannot eat the call
MPI=(timeout "${TLIM:-240}" mpirun --bind-to none --oversubscribe)
[ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
step() { echo "=== $* ($(date -u +%T))"; }
now() { date +%s.%N; }
# median V...: the middle value (the lower middle of an even count); empty when none
median() { printf "%s\n" "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{a[NR]=$1} END{if (NR) print a[int((NR+1)/2)]}'; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || echo "(drop_caches refused)"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$LOG/gpu.txt" 2>&1
cat "$LOG/gpu.txt"
NGPU=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
GPUS=${GPUS:-$([ "$NGPU" -ge 2 ] && echo "1 2" || echo 1)}
"${MPI[@]}" -n 2 "$L" devices >"$LOG/devices-2.txt" 2>&1
cat "$LOG/devices-2.txt"

step sample
[ -f "$W/in.h5" ] || "$L" sample "$W/in.h5" --timepoints "$NT" --shape "$SHAPE" --seed 1 \
    >"$LOG/sample.txt" 2>&1
ls -l "$W/in.h5"

# cfg FILE TEMPLATE OUTPUT
cfg() {
    sed -e "s|@INPUT@|$W/in.h5|" -e "s|@OUTPUT@|$3|" -e "s|^devices: gpu|devices: ${DEVICES:-gpu}|" "$2" >"$1"
    [ "${PARTS:-0}" = 1 ] && sed -i "s|mode: overwrite}|mode: overwrite, parts: timepoints}|" "$1"
    return 0
}

TABLE=$LOG/table.txt
printf "%-5s %-5s %-5s %9s %9s %9s %9s %9s %8s %8s %7s %s\n" gpus ranks cache floor_s lapse_s \
    lapse_loop lapse_wall peer_s vs_floor vs_peer busy io_mode >"$TABLE"

# one GPUS N CACHE: the floor, lapse and the peer at N ranks on GPUS GPUs; a row of the table
one() {
    local g=$1 n=$2 cache=$3 tag="g$1-n$2-$3" vis
    vis=$([ "$g" = 1 ] && echo 0 || seq -s, 0 $((g - 1)))
    local out=$W/lapse-$tag.h5
    rm -rf "$out" "$out.parts" "$W/plan-$tag.h5" "$W/floor-$tag.h5" "$W/floor-$tag.h5.parts"
    cfg "$W/$tag.yaml" bench/e2e.yaml.in "$out"
    cfg "$W/plan-$tag.yaml" bench/e2e.yaml.in "$W/plan-$tag.h5"
    # the floor reads lapse's boxes: the tile and halo of lapse's plan at n ranks on g GPUs
    CUDA_VISIBLE_DEVICES=$vis "${MPI[@]}" -n "$n" "$L" plan "$W/plan-$tag.yaml" >"$LOG/plan-$tag.txt" 2>&1
    local tile halo
    tile=$(sed -n 's/^tile *\[\([0-9, ]*\)\].*/\1/p' "$LOG/plan-$tag.txt" | tr -d ' ')
    halo=$(sed -n 's/^halo *\[\([0-9, ]*\)\].*/\1/p' "$LOG/plan-$tag.txt" | tr -d ' ')
    [ "$cache" = cold ] && drop
    CUDA_VISIBLE_DEVICES=$vis "${MPI[@]}" -n "$n" "$FLOOR" "$W/in.h5" /raw "$W/floor-$tag.h5" \
        --tile "$tile" --halo "$halo" $([ "${PARTS:-0}" = 1 ] && echo --parts) >"$LOG/floor-$tag.txt" 2>&1
    local fs
    fs=$(sed -n 's/^io_floor ranks=.* wall=\([0-9.]*\) .*/\1/p' "$LOG/floor-$tag.txt")
    [ "$cache" = cold ] && drop
    local t0 rc lw ls lss=() r
    for r in $(seq 1 "${REPS:-1}"); do # REPS runs (a new output each); the median is reported
        rm -rf "$out" "$out.parts"
        [ "$cache" = cold ] && [ "$r" -gt 1 ] && drop
        t0=$(now)
        env CUDA_VISIBLE_DEVICES=$vis LAPSE_IO_STATS=1 ${EXTRA_ENV:-} "${MPI[@]}" -n "$n" \
            -x CUDA_VISIBLE_DEVICES -x LAPSE_IO_STATS $(for v in ${EXTRA_ENV:-}; do echo "-x ${v%%=*}"; done) \
            "$L" run "$W/$tag.yaml" >"$LOG/lapse-$tag.txt" 2>&1
        rc=$?
        lw=$(since "$t0")
        cp "$LOG/lapse-$tag.txt" "$LOG/lapse-$tag-r$r.txt"
        lss+=("$(sed -n 's/.*done: [0-9]* tasks in \([0-9.]*\) s.*/\1/p' "$LOG/lapse-$tag.txt")")
    done
    ls=$(median "${lss[@]}")
    "$L" info "$out" >"$LOG/info-$tag.txt" 2>&1
    local busy mode
    busy=$(sed -n 's/.* = \([0-9.]*\)% busy.*/\1/p' "$LOG/info-$tag.txt" |
        awk '{s+=$1; n++} END{if (n) printf "%.0f%%", s/n; else print "-"}')
    mode=$(sed -n 's/.*io_mode=\([a-z-]*\).*/\1/p' "$LOG/lapse-$tag.txt" | sort -u | tr '\n' ',')
    local loop
    loop=$(sed -n 's/.*io_stats rank=[0-9]* tasks=[0-9]* wall=\([0-9.]*\) .*/\1/p' "$LOG/lapse-$tag.txt" |
        sort -g | tail -1)
    local ps=- pss=()
    if [ "${PEERS:-1}" = 1 ]; then
        mkdir -p "$W/peer-$tag"
        for r in $(seq 1 "${REPS:-1}"); do
            [ "$cache" = cold ] && drop
            rm -f "$W/peer-$tag"/*.h5
            CUDA_VISIBLE_DEVICES=$vis "${MPI[@]}" -n "$n" -x CUDA_VISIBLE_DEVICES python3 \
                "$PEER/peer_pipeline.py" "$W/in.h5" "$W/peer-$tag" >"$LOG/peer-$tag-r$r.txt" 2>&1
            pss+=("$(sed -n 's/^peer ranks=.* wall=\([0-9.]*\)s.*/\1/p' "$LOG/peer-$tag-r$r.txt")")
        done
        ps=$(median "${pss[@]}")
        rm -f "$W/peer-$tag"/*.h5
    fi
    echo "$tag: lapse rc=$rc run ${ls:-?} s [${lss[*]}] (wall $lw s), floor ${fs:-?} s," \
        "peer ${ps:-?} s [${pss[*]:-}], busy $busy"
    printf "%-5s %-5s %-5s %9s %9s %9s %9s %9s %8s %8s %7s %s\n" "$g" "$n" "$cache" "${fs:--}" \
        "${ls:--}" "${loop:--}" "$lw" "${ps:--}" \
        "$(awk -v f="${fs:-0}" -v l="${ls:-0}" 'BEGIN{if (l > 0) printf "%.2f", f/l; else print "-"}')" \
        "$(awk -v p="${ps:-0}" -v l="${ls:-0}" 'BEGIN{if (l > 0 && p > 0) printf "%.2f", p/l; else print "-"}')" \
        "$busy" "${mode%,}" >>"$TABLE"
    rm -rf "$W/floor-$tag.h5" "$W/floor-$tag.h5.parts" "$W/plan-$tag.h5"
}

step "warm runs"
cat "$W/in.h5" >/dev/null # the page cache holds the input
if [ -n "${PAIRS:-}" ]; then # issue 14: the given GPU:RANK pairs only, e.g. one rank per GPU
    for pr in $PAIRS; do
        "${MPI[@]}" -n "${pr#*:}" -x CUDA_VISIBLE_DEVICES "$L" devices >"$LOG/devices-$pr.txt" 2>&1
        one "${pr%%:*}" "${pr#*:}" warm
    done
else
    for g in $GPUS; do
        for n in $RANKS; do
            one "$g" "$n" warm
        done
    done
fi
if [ "${COLD:-1}" = 1 ]; then
    step "the disk's read rate (the cold runs' bound): the input, page cache dropped"
    for d in 1 2; do # d readers (dd, O_DIRECT, 16 MiB blocks) of disjoint halves
        drop
        sz=$(stat -c %s "$W/in.h5")
        blocks=$((sz / 16777216 / d))
        t0=$(now)
        for i in $(seq 0 $((d - 1))); do
            dd if="$W/in.h5" of=/dev/null bs=16M iflag=direct skip=$((i * blocks)) count=$blocks \
                2>>"$LOG/disk.txt" &
        done
        wait
        el=$(since "$t0")
        echo "disk: $d reader(s), $((blocks * d * 16)) MiB in $el s:" \
            "$(awk -v b=$((blocks * d * 16777216)) -v t="$el" 'BEGIN{printf "%.2f GB/s", b/t/1e9}')" |
            tee -a "$LOG/disk.txt"
    done
    step "cold runs"
    g=${GPUS##* }
    one "$g" 2 cold
fi

step "outputs bit-identical across rank and GPU counts"
ls "$W"/lapse-g*-n*-*.h5 >/dev/null 2>&1 && python3 - "$W"/lapse-g*-n*-*.h5 <<'PY' 2>&1 | tee "$LOG/same.txt"
import sys, h5py
ref = None
for p in [a for a in sys.argv[1:] if not a.endswith(".bdv.h5")]:  # not the BigDataViewer files
    with h5py.File(p, "r") as f:
        b = f["/result"][()].tobytes()
    if ref is None:
        ref, name = b, p
        print("reference", p)
    else:
        print(p, "identical" if b == ref else "DIFFERENT from " + name)
PY

if [ "${KNOBS:-1}" = 1 ]; then
    # The write knobs (docs/io.md) at the largest rank count on all GPUs, warm: the floor with the
    # same option and lapse with the same environment; lapse's run clock and the floor's loop.
    g=${GPUS##* }
    n=${KNOB_RANKS:-${RANKS##* }}
    n=${n:-4}
    vis=$([ "$g" = 1 ] && echo 0 || seq -s, 0 $((g - 1)))
    step "write knobs: $n ranks on $g GPU(s)"
    cfg "$W/knob-plan.yaml" bench/e2e.yaml.in "$W/knob-plan.h5"
    rm -f "$W/knob-plan.h5"
    CUDA_VISIBLE_DEVICES=$vis "${MPI[@]}" -n "$n" "$L" plan "$W/knob-plan.yaml" >"$LOG/knob-plan.txt" 2>&1
    tile=$(sed -n 's/^tile *\[\([0-9, ]*\)\].*/\1/p' "$LOG/knob-plan.txt" | tr -d ' ')
    halo=$(sed -n 's/^halo *\[\([0-9, ]*\)\].*/\1/p' "$LOG/knob-plan.txt" | tr -d ' ')
    IFS=, read -r _ ty tx <<<"$tile"
    printf "%-34s %9s %9s %s\n" knob floor_s lapse_s io_mode | tee "$LOG/knobs.txt"
    for knob in "default||" "collective|LAPSE_H5_WRITE=collective|--collective" \
        "chunk-plane|LAPSE_H5_CHUNK=1,$ty,$tx|--chunk 1,$ty,$tx" \
        "align-1MiB|LAPSE_H5_ALIGN=1048576|--align 1048576" \
        "align-4MiB|LAPSE_H5_ALIGN=4194304|--align 4194304" \
        "mdc-64MiB|LAPSE_H5_MDC=67108864|" "no-fallocate|LAPSE_FALLOCATE=0|" "hdf5-writes|LAPSE_RAW_WRITE=0|" "gzip:1|COMP=gzip:1|--gzip 1" \
        "blosc:lz4|COMP=blosc:lz4|--blosc lz4" "blosc:zstd|COMP=blosc:zstd|--blosc zstd"; do
        IFS='|' read -r name envs fopt <<<"$knob"
        rm -f "$W/knob.h5" "$W/knob-floor.h5"
        cfg "$W/knob.yaml" bench/e2e.yaml.in "$W/knob.h5"
        case $envs in COMP=*)
            sed -i "s|^output: {\(.*\)}|output: {\1, compression: \"${envs#COMP=}\"}|" "$W/knob.yaml"
            envs="" ;;
        esac
        fs=-
        if [ -n "$fopt" ] || [ "$name" = default ]; then
            CUDA_VISIBLE_DEVICES=$vis "${MPI[@]}" -n "$n" "$FLOOR" "$W/in.h5" /raw "$W/knob-floor.h5" \
                --tile "$tile" --halo "$halo" $fopt >"$LOG/knob-floor-$name.txt" 2>&1
            fs=$(sed -n 's/^io_floor ranks=.* wall=\([0-9.]*\) .*/\1/p' "$LOG/knob-floor-$name.txt")
        fi
        env CUDA_VISIBLE_DEVICES=$vis LAPSE_IO_STATS=1 $envs "${MPI[@]}" -n "$n" -x CUDA_VISIBLE_DEVICES \
            -x LAPSE_IO_STATS $([ -n "$envs" ] && echo "-x ${envs%%=*}") "$L" run "$W/knob.yaml" \
            >"$LOG/knob-$name.txt" 2>&1
        ls=$(sed -n 's/.*done: [0-9]* tasks in \([0-9.]*\) s.*/\1/p' "$LOG/knob-$name.txt")
        mode=$(sed -n 's/.*io_mode=\([a-z-]*\).*/\1/p' "$LOG/knob-$name.txt" | sort -u | tr '\n' ',')
        [ -f "$W/knob.h5" ] && ls -l "$W/knob.h5" >>"$LOG/knob-$name.txt"
        printf "%-34s %9s %9s %s\n" "$name" "${fs:--}" "${ls:--}" "${mode%,}" | tee -a "$LOG/knobs.txt"
    done
    rm -f "$W/knob.h5" "$W/knob-floor.h5"
fi

if [ "${SCALE:-1}" = 1 ]; then
    # default: 1 rank on 1 GPU, 2 ranks on all GPUs; SCALE_GPUS="1 2 4 8": one rank per GPU
    specs=("1 1" "${GPUS##* } 2")
    [ -n "${SCALE_GPUS:-}" ] && specs=() && for g in $SCALE_GPUS; do specs+=("$g $g"); done
    step "device-bound pipeline (bench/scale.yaml.in): ${specs[*]} (GPUs ranks)"
    for spec in "${specs[@]}"; do
        g=${spec% *}
        n=${spec#* }
        vis=$([ "$g" = 1 ] && echo 0 || seq -s, 0 $((g - 1)))
        rm -f "$W/scale-$n.h5"
        cfg "$W/scale-$n.yaml" bench/scale.yaml.in "$W/scale-$n.h5"
        echo "timepoints: \"0-$((${SCALE_NT:-10} - 1))\"" >>"$W/scale-$n.yaml"
        CUDA_VISIBLE_DEVICES=$vis LAPSE_IO_STATS=1 "${MPI[@]}" -n "$n" -x CUDA_VISIBLE_DEVICES \
            -x LAPSE_IO_STATS "$L" run "$W/scale-$n.yaml" >"$LOG/scale-$n.txt" 2>&1
        echo "scale $n ranks on $g GPU(s): rc=$? $(grep 'done:' "$LOG/scale-$n.txt")"
        "$L" info "$W/scale-$n.h5" >"$LOG/scale-info-$n.txt" 2>&1
        grep -A3 'device busy' "$LOG/scale-info-$n.txt"
    done
    python3 - "$W"/scale-*.h5 <<'PY' 2>&1 | tee "$LOG/scale-same.txt"
import sys, h5py
runs = [a for a in sys.argv[1:] if not a.endswith(".bdv.h5")]  # not the BigDataViewer files
ref = h5py.File(runs[0], "r")["/result"][()].tobytes()
for p in runs[1:]:
    same = h5py.File(p, "r")["/result"][()].tobytes() == ref
    print("scale output", p, "identical to" if same else "DIFFERENT from", runs[0])
PY
    # speed-up of each run over the first (its rank count is in the file name)
    awk '/done:/ {for (i = 1; i <= NF; i++) if ($i == "in") t[FILENAME] = $(i + 1)}
         END {a = t[ARGV[1]]; for (k = 2; k < ARGC; k++) {b = t[ARGV[k]]; n = ARGV[k];
              sub(/.*scale-/, "", n); sub(/\.txt$/, "", n);
              if (a > 0 && b > 0) printf "scale speed-up 1 -> %s ranks: %.2fx (%.2f s -> %.2f s)\n", n, a / b, a, b}}' \
        "$LOG/scale-1.txt" $(for sp in "${specs[@]}"; do n=${sp#* }; [ "$n" != 1 ] && echo "$LOG/scale-$n.txt"; done) |
        tee -a "$TABLE"
fi

if [ -n "${PAIRS:-}" ]; then
    # issue 14: per pair, lapse's run clock, voxels per second, parallel efficiency against the
    # first pair (T1 / (GPUs T), the first pair on one GPU), device busy and the phase split
    # (seconds summed over ranks)
    step "scaling (PAIRS)"
    vox=$(awk -v nt="$NT" -v s="$SHAPE" 'BEGIN{split(s, d, ","); printf "%.0f", nt * d[1] * d[2] * d[3]}')
    printf "%-5s %-5s %8s %10s %6s %6s %8s %8s %8s %8s %8s\n" gpus ranks lapse_s voxels/s eff busy \
        read upload compute download write | tee "$LOG/scaling.txt"
    t1=""
    for pr in $PAIRS; do
        tag="g${pr%%:*}-n${pr#*:}-warm"
        t=$(sed -n 's/.*done: [0-9]* tasks in \([0-9.]*\) s.*/\1/p' "$LOG/lapse-$tag.txt")
        [ -z "$t1" ] && t1=$t
        busy=$(sed -n 's/.* = \([0-9.]*\)% busy.*/\1/p' "$LOG/info-$tag.txt" |
            awk '{s+=$1; n++} END{if (n) printf "%.0f%%", s/n; else print "-"}')
        awk -v g="${pr%%:*}" -v n="${pr#*:}" -v t="$t" -v t1="$t1" -v vox="$vox" -v busy="$busy" '
            /io_stats rank=/ {for (i = 1; i <= NF; i++) {split($i, kv, "="); s[kv[1]] += kv[2]}}
            END {printf "%-5s %-5s %8s %10.3g %6.2f %6s %8.2f %8.2f %8.2f %8.2f %8.2f\n", g, n, t,
                 (t > 0 ? vox / t : 0), (t > 0 ? t1 / (g * t) : 0), busy,
                 s["read"], s["upload"], s["compute"], s["download"], s["write"]}' \
            "$LOG/lapse-$tag.txt" | tee -a "$LOG/scaling.txt"
    done
fi

step table
cat "$TABLE"
[ -f "$LOG/knobs.txt" ] && cat "$LOG/knobs.txt"
echo "floor_s: the floor's task loop (output created, between barriers); lapse_s: lapse's run"
echo "clock (the 'done: ... in S s' line: task loop + task table + run record); lapse_loop: the"
echo "slowest rank's task loop (LAPSE_IO_STATS wall); lapse_wall: mpirun start to exit;"
echo "vs_floor = floor_s / lapse_s (target >= 0.9);"
echo "vs_peer = peer_s / lapse_s (target >= 2); busy: mean device busy of the ranks (lapse info)"
step finished
tar -czf "$LOG/logs.tgz" -C "$LOG" --exclude logs.tgz --exclude '*.h5' . 2>/dev/null
