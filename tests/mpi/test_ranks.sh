#!/usr/bin/env bash
# test_ranks.sh - the number of ranks and the scheduling must not change the result.
#
# Runs the same tiled pipeline (gaussian with a saved step -> top-hat -> threshold) on 1, 2 and
# 3 ranks with dynamic scheduling, on 2 and 3 ranks with static and on 3 with rma. Every output
# must be bit-identical to the 1-rank run; the task table must hold exactly one row per
# (timepoint, tile), the rows of a 3-rank run must come from ranks 0, 1 and 2, and the core
# boxes of each timepoint must cover the image exactly once.
# Then the LAPSE_* variables that shape collective calls must be the same on every rank (a
# launcher passes them to remote hosts only when told): LAPSE_H5_CHUNK on rank 1 only, and a
# malformed value on rank 1 only, are usage errors on every rank (exit 2, no hang, nothing
# written), while a per-rank variable (LAPSE_PROGRESS_INTERVAL) may differ.
source "$(dirname "$0")/common.sh"
# Open MPI's own defaults here (UCX where Open MPI finds it, an orted for a lone rank), as users
# run it; the other tests start faster with ob1 (CMakeLists.txt's LAPSE_TEST_ENV).
unset OMPI_MCA_pml OMPI_MCA_ess_singleton_isolated OMPI_MCA_mpi_yield_when_idle
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

# rank_env N CONFIG ASSIGNMENTS: `lapse run CONFIG` on N ranks, rank 1 with the extra
# environment ASSIGNMENTS (as `env` takes them), the others without.
rank_env() {
    local n=$1 cfg=$2 extra=$3
    "$MPIEXEC" -n "$n" --oversubscribe --bind-to none -x POCL_MAX_PTHREAD_COUNT \
        -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM \
        bash -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then exec env '"$extra"' "$0" run "$1"; fi
                 exec "$0" run "$1"' "$LAPSE" "$cfg"
}
config env dynamic
note "LAPSE_H5_CHUNK on rank 1 only: refused on every rank"
T0=$SECONDS
expect_rc 2 "$T/env1.log" rank_env 2 "$T/env.yaml" LAPSE_H5_CHUNK=2,16,16
cat "$T/env1.log"
grep -q "LAPSE_H5_CHUNK is not the same on every rank: rank 0 has it unset and rank 1 has a value" \
    "$T/env1.log" || fail "the differing LAPSE_H5_CHUNK is not named"
[ "$(grep -c "is not the same on every rank" "$T/env1.log")" -eq 1 ] || fail "printed more than once"
[ ! -e "$T/env.h5" ] && [ ! -e "$T/env.h5.creating" ] || fail "a refused run wrote its output"
note "a malformed LAPSE_H5_MDC on rank 1 only: refused on every rank, named by rank 1"
expect_rc 2 "$T/env2.log" rank_env 3 "$T/env.yaml" LAPSE_H5_MDC=lots
cat "$T/env2.log"
grep -q "rank 1 on .*: LAPSE_H5_MDC=lots: expected a number of bytes" "$T/env2.log" ||
    fail "the malformed value is not named with its rank"
[ ! -e "$T/env.h5" ] || fail "a refused run wrote its output"
[ $((SECONDS - T0)) -lt 60 ] || fail "the refusals took $((SECONDS - T0)) s: a rank waited"
note "LAPSE_PROGRESS_INTERVAL may differ between ranks"
run_ok "$T/env3.log" rank_env 2 "$T/env.yaml" LAPSE_PROGRESS_INTERVAL=7
py h5same.py "$T/n1_dynamic.h5" "$T/env.h5" || fail "the run with a per-rank variable differs"
echo "PASS ($TEST_NAME)"
