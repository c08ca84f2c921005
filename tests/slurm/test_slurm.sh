#!/usr/bin/env bash
# test_slurm.sh - slurm/lapse.sbatch on a private single-node Slurm (tests/slurm/slurm_local.sh).
#
# Starts munge + slurmctld + slurmd under the test's temp dir (2 fake GPUs, stopped on exit),
# submits `sbatch --wait --ntasks=2 slurm/lapse.sbatch cfg.yaml` and checks: the job succeeds;
# its 2 tasks got distinct SLURM_LOCALID and CUDA_VISIBLE_DEVICES; they ran as ONE MPI job of 2
# ranks (task table: ranks 0 and 1, one row per task); the output is bit-identical to a plain
# 1-rank mpiexec run; a bad config makes the job (and sbatch --wait) exit with lapse's code 2;
# a job whose srun cannot launch lapse (or the binding step) exits 1, not 0, and says so.
# Skips (77) when Slurm/munge are not installed or not root; installs nothing itself
# (tools/deps.sh installs slurm-wlm and munge).
PATH=$PATH:/usr/sbin:/sbin
for tool in slurmctld slurmd munged sbatch srun sinfo; do
    command -v $tool >/dev/null 2>&1 ||
        { echo "SKIP (test_slurm): $tool not installed (apt-get install slurm-wlm munge)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP (test_slurm): a private Slurm needs root"; exit 77; }

source "$(dirname "$0")/../mpi/common.sh"
SL=$LAPSE_SRC/tests/slurm/slurm_local.sh
trap 'bash "$SL" stop "$T/slurm"; rm -rf "$T"' EXIT
need_device
make_sample

run_ok "$T/slurm_start.log" bash "$SL" start "$T/slurm"
source "$T/slurm/env"
export LAPSE LAPSE_SHOW_BINDING=1

# config NAME: the pipeline of the MPI tests, output $T/NAME.h5.
config() {
    cat >"$T/$1.yaml" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [8, 32, 32]}
pipeline:
  - {op: gaussian_blur, sigma: [1, 1.5, 1.5], save: /blurred}
  - {op: top_hat_box, radius: [1, 2, 2]}
output: {file: $T/$1.h5, dataset: /result}
devices: any
YAML
}

# submit NAME CONFIG: sbatch --wait the script (bounded); leaves the exit code in $rc.
submit() {
    rc=0
    (cd "$T" && timeout 300 sbatch --wait --ntasks=2 --cpus-per-task=1 --time=00:05:00 \
        --output="$T/$1.out" "$LAPSE_SRC/slurm/lapse.sbatch" "$2") >"$T/$1.sbatch.log" 2>&1 ||
        rc=$?
    [ "$rc" -ne 124 ] || { scancel --user=root 2>/dev/null; fail "$1: the job did not end in 300 s"; }
}

# submit_stale NAME CONFIG STEP: as submit, but the job is held until the directory that Slurm's
# pmix plugin makes for its step STEP ($TMPDIR/spmix_appdir_UID_JOB.STEP; the job gets this
# TMPDIR) exists already, as a step killed in an earlier instance of this Slurm leaves it
# (slurm_local.sh). slurmd then refuses to launch that step ("task 0 launch failed"), and srun
# (Slurm 22.05) exits 0 all the same.
submit_stale() {
    local jid n=0 pid
    rc=0
    (cd "$T" && exec timeout 300 sbatch --wait --hold --parsable --ntasks=2 --cpus-per-task=1 \
        --time=00:05:00 --output="$T/$1.out" "$LAPSE_SRC/slurm/lapse.sbatch" "$2") \
        >"$T/$1.sbatch.log" 2>&1 &
    pid=$!
    until jid=$(grep -m 1 -Eo '^[0-9]+' "$T/$1.sbatch.log" 2>/dev/null); do
        n=$((n + 1))
        [ $n -le 300 ] && kill -0 "$pid" 2>/dev/null ||
            { cat "$T/$1.sbatch.log" >&2; fail "$1: no job id from sbatch"; }
        sleep 0.1
    done
    mkdir -p "$TMPDIR/spmix_appdir_$(id -u)_$jid.$3" || fail "$1: mkdir failed"
    scontrol release "$jid" || fail "$1: scontrol release $jid failed"
    wait "$pid" || rc=$?
    [ "$rc" -ne 124 ] || { scancel --user=root 2>/dev/null; fail "$1: the job did not end in 300 s"; }
}

# launch_failed NAME WHAT: the job NAME exited 1 (sbatch --wait's code is the job's), its log
# says that srun failed to launch WHAT ("lapse" or "the binding step"), and lapse wrote nothing.
launch_failed() {
    [ "$rc" -eq 1 ] && grep -q "^lapse.sbatch: .* srun failed to launch $2 (srun exit " "$T/$1.out" ||
        { cat "$T/$1.sbatch.log" "$T/$1.out" >&2; fail "$1: sbatch --wait gave $rc, not 1 with" \
            "'srun failed to launch $2' in the log"; }
    [ ! -e "$T/$1.h5" ] || fail "$1: lapse ran after all (it wrote $T/$1.h5)"
    grep "srun failed to launch" "$T/$1.out"
}

note "sbatch --ntasks=2 slurm/lapse.sbatch"
config slurm
submit job "$T/slurm.yaml"
if [ "$rc" -ne 0 ]; then
    cat "$T/job.sbatch.log" "$T/job.out" >&2
    fail "the Slurm job failed (exit $rc)"
fi
cat "$T/job.out"

# Each task saw its own GPU: 2 lines, SLURM_LOCALID 0 and 1, CUDA_VISIBLE_DEVICES distinct.
binds=$(grep -E '^lapse.sbatch: task [0-9]+ \(local [0-9]+\)' "$T/job.out")
[ "$(echo "$binds" | wc -l)" -eq 2 ] || fail "expected 2 task binding lines in the job log"
[ "$(echo "$binds" | sed -E 's/.*\(local ([0-9]+)\).*/\1/' | sort -u | tr '\n' ' ')" = "0 1 " ] ||
    fail "tasks did not get SLURM_LOCALID 0 and 1: $binds"
gpus=$(echo "$binds" | sed -E 's/.*CUDA_VISIBLE_DEVICES=//' | sort -u)
[ "$(echo "$gpus" | grep -vc unset)" -eq 2 ] ||
    fail "tasks did not get 2 distinct CUDA_VISIBLE_DEVICES: $binds"

# One MPI job of 2 ranks (not 2 singletons), every task done once.
run_ok "$T/tasks.log" py tasks.py "$T/slurm.h5" --ranks 2 --runs 1 --cover /result \
    --count $((NT * $(ntiles 8 32 32)))
cat "$T/tasks.log"

note "compare with a plain 1-rank run"
config plain
lapse_run 1 "$T/plain.yaml"
nonconstant "$T/plain.h5" /result /blurred
py h5same.py "$T/plain.h5" "$T/slurm.h5" || fail "the Slurm run differs from the 1-rank run"

note "a bad config: the job exits with lapse's code 2"
sed 's/sigma:/sigmaa:/' "$T/slurm.yaml" >"$T/bad.yaml"
submit bad "$T/bad.yaml"
[ "$rc" -eq 2 ] || { cat "$T/bad.sbatch.log" "$T/bad.out" >&2; fail "bad config: sbatch --wait gave $rc, not 2"; }

# srun's failures to launch: the job must fail (1), so that jobs chained after it with
# --dependency=afterok do not start. slurmd refusing a step: srun exits 0 after "task N launch
# failed" (the job used to end COMPLETED, 0); an exec that fails on the node: srun exits with the
# errno (2 here, which would read as lapse's "bad config").
note "srun cannot launch lapse's step: the job exits 1"
config stale
LAPSE_SHOW_BINDING=0 submit_stale stale "$T/stale.yaml" 0
launch_failed stale lapse
note "srun cannot launch the binding step: the job exits 1 without starting lapse"
config stale0
submit_stale stale0 "$T/stale0.yaml" 0
launch_failed stale0 "the binding step"
note "the lapse binary cannot be executed on the node: the job exits 1"
printf '#!/nonexistent/interpreter\n' >"$T/noexec"
chmod +x "$T/noexec"
config noexec
LAPSE=$T/noexec submit noexec "$T/noexec.yaml"
launch_failed noexec lapse
echo "PASS ($TEST_NAME)"
