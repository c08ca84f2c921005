#!/usr/bin/env bash
# test_ranks.sh - the number of ranks and the scheduling must not change the result.
#
# Runs the same tiled pipeline (gaussian with a saved step -> top-hat -> threshold) on 1, 2 and
# 3 ranks with dynamic scheduling, on 2 and 3 ranks with static and on 3 with rma. Every output
# must be bit-identical to the 1-rank run; the task table must hold exactly one row per
# (timepoint, tile), the rows of a 3-rank run must come from ranks 0, 1 and 2, and the core
# boxes of each timepoint must cover the image exactly once.
source "$(dirname "$0")/common.sh"
# Open MPI's own defaults here (UCX where Open MPI finds it, an orted for a lone rank), as users
# run it; the other tests start faster with ob1 (CMakeLists.txt's LAPSE_TEST_ENV).
unset OMPI_MCA_pml OMPI_MCA_ess_singleton_isolated
need_device
make_sample

TILE="8,32,32"
IFS=, read -r tz ty tx <<<"$TILE"
NTASKS=$((NT * $(ntiles "$tz" "$ty" "$tx")))

# config NAME SCHEDULING
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: /raw}
timepoints: "0-$((NT - 1))"
tiles: {shape: [$TILE], halo: auto}
pipeline:
  - op: gaussian_blur
    sigma: [1, 1.5, 1.5]
    save: /blurred
  - op: top_hat_box
    radius: [1, 2, 2]
  - op: threshold_fixed
    threshold: 5
output: {file: $T/$1.h5, dataset: /result, dtype: auto, mode: create}
devices: any
scheduling: $2
YAML
}

for run in 1:dynamic 2:dynamic 3:dynamic 2:static 3:static 3:rma; do
    n=${run%%:*}
    sched=${run#*:}
    name=n${n}_$sched
    config "$name" "$sched"
    note "$name: $n ranks, $sched scheduling"
    lapse_run "$n" "$T/$name.yaml"
    run_ok "$T/tasks.log" py tasks.py "$T/$name.h5" --run-id 1 --count "$NTASKS" --ranks "$n" \
        --cover /result --timepoints "0-$((NT - 1))" --runs 1
    cat "$T/tasks.log"
    [ "$name" = n1_dynamic ] && nonconstant "$T/$name.h5" /result /blurred
    if [ "$name" != n1_dynamic ]; then
        py h5same.py "$T/n1_dynamic.h5" "$T/$name.h5" || fail "$name differs from the 1-rank run"
    fi
done
echo "PASS ($TEST_NAME)"
