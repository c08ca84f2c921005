#!/usr/bin/env bash
# slurm_local.sh - a private single-node Slurm (with its own munge) under one directory.
#
# Usage: slurm_local.sh start DIR   start munged, slurmctld and slurmd with all state in DIR
#                                   (created; must be empty or absent) and wait until the node
#                                   is idle; then `source DIR/env` to point clients at it.
#        slurm_local.sh stop DIR    stop the daemons started in DIR (by their pid files).
# The node "localhost" has all CPUs and 2 fake GPUs (character devices under DIR/dev), ports
# are random, nothing outside DIR is touched. Needs root (SlurmUser=root), slurm-wlm and munge.
# Jobs may be requeued (JobRequeue=1); KillWait is 10 s. SLURM_LOCAL_CRED_EXPIRE (seconds,
# default Slurm's 120) sets AuthInfo cred_expire, which is also how long a requeued job waits
# before it may start again: tests of requeue set it short. SLURM_LOCAL_SCHEDULER_PARAMETERS
# (default unset: Slurm's defaults) becomes SchedulerParameters; e.g. sched_interval=2,bf_interval=1
# makes the schedulers look every 1-2 s, so that a requeued job starts ~1 s after cred_expire
# (with the defaults it waits for the next periodic pass, up to 30 s more).
# Facts this relies on: /work/shared/notes/slurm-local.md. Exit: 0 ok, 1 failure (logs shown).
set -u

die() {
    echo "slurm_local: $*" >&2
    exit 1
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds; 1 on timeout.
wait_for() {
    local n=$(($1 * 5))
    shift
    while [ $n -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
        n=$((n - 1))
    done
    return 1
}

show_logs() {
    local f
    for f in "$R"/log/*.log; do
        [ -f "$f" ] && { echo "=== $f" >&2; tail -n 30 "$f" >&2; }
    done
}

start() {
    local tool
    for tool in munged slurmctld slurmd sinfo sbatch srun mknod; do
        command -v $tool >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
        command -v $tool >/dev/null 2>&1 || die "$tool not found (apt-get install slurm-wlm munge)"
    done
    [ "$(id -u)" -eq 0 ] || die "needs root (SlurmUser=root)"
    mkdir -p "$R" || die "cannot create $R"
    [ -z "$(ls -A "$R")" ] || die "$R is not empty"
    mkdir -p "$R"/{etc,log,run,state,spool,dev,tmp,munge/key,munge/sock,munge/lib}
    chmod 700 "$R/munge/key"
    chmod 755 "$R/munge/sock"

    # munge with its own key and socket.
    dd if=/dev/urandom of="$R/munge/key/munge.key" bs=1 count=1024 status=none
    chmod 400 "$R/munge/key/munge.key"
    local sock=$R/munge/sock/munge.socket
    munged --key-file="$R/munge/key/munge.key" --socket="$sock" --pid-file="$R/run/munged.pid" \
        --log-file="$R/log/munged.log" --seed-file="$R/munge/lib/munge.seed" --force ||
        { show_logs; die "munged did not start"; }

    # Two fake GPUs: character devices (regular files do not work for gres).
    mknod -m 666 "$R/dev/fakegpu0" c 1 3 && mknod -m 666 "$R/dev/fakegpu1" c 1 3 ||
        die "mknod failed"

    local port=$((20000 + RANDOM % 20000))
    # FirstJobId: job ids (and so the PMIx namespaces and Open MPI's shared-memory segment names
    # under /dev/shm, which a job killed at its time limit leaves behind) differ between the
    # tests' Slurm instances, as they do on a real cluster; every instance started at job 1.
    cat >"$R/etc/slurm.conf" <<CONF
ClusterName=lapsetest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
FirstJobId=$((1000 + RANDOM * 1000 + RANDOM % 1000))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock,cred_expire=${SLURM_LOCAL_CRED_EXPIRE:-120}
MailProg=/bin/true
StateSaveLocation=$R/state
TmpFS=$R/tmp
SlurmdSpoolDir=$R/spool
SlurmctldPidFile=$R/run/slurmctld.pid
SlurmdPidFile=$R/run/slurmd.pid
SlurmctldLogFile=$R/log/slurmctld.log
SlurmdLogFile=$R/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
MinJobAge=4
JobRequeue=1
KillWait=10
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
    [ -z "${SLURM_LOCAL_SCHEDULER_PARAMETERS:-}" ] ||
        echo "SchedulerParameters=$SLURM_LOCAL_SCHEDULER_PARAMETERS" >>"$R/etc/slurm.conf"
    cat >"$R/etc/gres.conf" <<CONF
AutoDetect=off
NodeName=localhost Name=gpu File=$R/dev/fakegpu[0-1]
CONF
    # Jobs get TMPDIR=$R/tmp (sbatch passes the environment): the pmix plugin makes each step's
    # directory there (spmix_appdir_UID_JOB.STEP, under /tmp otherwise). Every private Slurm
    # numbers its jobs from 1, so one left in /tmp by a step that was killed made the next
    # instance's job 1 fail to launch ("File exists"), and srun then exited 0.
    printf 'export SLURM_CONF=%s\nexport TMPDIR=%s\n' "$R/etc/slurm.conf" "$R/tmp" >"$R/env"
    export SLURM_CONF=$R/etc/slurm.conf

    slurmctld -f "$SLURM_CONF" || { show_logs; die "slurmctld did not start"; }
    slurmd -N localhost -f "$SLURM_CONF" || { show_logs; die "slurmd did not start"; }
    node_idle() { [ "$(sinfo -h -n localhost -o %T 2>/dev/null)" = idle ]; }
    wait_for 30 node_idle || { sinfo -N -l >&2; show_logs; die "node not idle after 30 s"; }
    echo "slurm_local: up in $R (SLURM_CONF=$SLURM_CONF, port $port)"
}

stop_pidfile() {
    local f=$1 pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || return 0
    gone() { ! kill -0 "$pid" 2>/dev/null; }
    wait_for 10 gone || { kill -9 "$pid" 2>/dev/null; wait_for 5 gone; }
}

stop() {
    [ -d "$R" ] || return 0
    stop_pidfile "$R/run/slurmd.pid"
    stop_pidfile "$R/run/slurmctld.pid"
    stop_pidfile "$R/run/munged.pid"
}

[ $# -eq 2 ] || die "usage: slurm_local.sh start|stop DIR"
R=$(mkdir -p "$2" && cd "$2" && pwd) || die "bad directory $2"
case $1 in
start) start ;;
stop) stop ;;
*) die "usage: slurm_local.sh start|stop DIR" ;;
esac
