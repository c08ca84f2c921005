# shellcheck shell=bash
# netns.sh - a simulated multi-host cluster for the tests/multinode/test_*.sh tests (sourced
# after tests/mpi/common.sh, not run). See ../shared/notes/multinode-local.md for the recipe.
#
# Each "host" is a network namespace of its own (named lp<pid><letter>) with its own hostname
# (a UTS namespace entered per command); the hosts are joined by veth pairs to a bridge in one
# more namespace (the switch), on the private test range 10.231.0.0/24 (10.231.0.1 is host a,
# .2 host b, ...). Open MPI's rsh launcher "logs in" through an agent script that enters the
# namespace of the address it is given. Nothing is changed outside the namespaces made here,
# and a trap removes them (and so their veths) on every exit. Without root or `ip netns`, the
# test is skipped (exit 77). The file system is shared by all hosts.

NET=10.231.0
NS_PREFIX=lp$$
NS_HOSTS=()

# netns_cleanup: remove every namespace made here (their veths go with them).
netns_cleanup() {
    local h
    for h in "${NS_HOSTS[@]}" s; do
        ip netns del "$NS_PREFIX$h" 2>/dev/null || true
    done
}

# netns_up N: make hosts a, b, ... (N of them) joined by the switch; skip where impossible.
netns_up() {
    local n=$1 i h letters=abcdefgh
    [ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
    command -v ip >/dev/null && command -v unshare >/dev/null || skip "no ip/unshare (iproute2, util-linux)"
    trap 'netns_cleanup; rm -rf "$T"' EXIT
    ip netns add "${NS_PREFIX}s" 2>/dev/null || skip "cannot make a network namespace (ip netns add)"
    ip netns exec "${NS_PREFIX}s" ip link add br0 type bridge || skip "cannot make a bridge"
    ip netns exec "${NS_PREFIX}s" ip link set br0 up
    for ((i = 0; i < n; i++)); do
        h=${letters:i:1}
        NS_HOSTS+=("$h")
        ip netns add "$NS_PREFIX$h" || fail "ip netns add $NS_PREFIX$h"
        ip link add "v$h" netns "$NS_PREFIX$h" type veth peer name "s$h" netns "${NS_PREFIX}s" ||
            skip "cannot make a veth pair into the namespaces"
        ip netns exec "${NS_PREFIX}s" ip link set "s$h" master br0 up
        ip netns exec "$NS_PREFIX$h" ip addr add "$NET.$((i + 1))/24" dev "v$h"
        ip netns exec "$NS_PREFIX$h" ip link set "v$h" up
        ip netns exec "$NS_PREFIX$h" ip link set lo up
    done
    AGENT=$T/agent.sh
    {
        echo '#!/bin/bash'
        echo 'host=$1; shift'
        echo "case \$host in $NET.*) i=\${host##*.};; *) exit 1;; esac"
        echo "h=\$(echo $letters | cut -c\$i)"
        echo "exec ip netns exec $NS_PREFIX\$h unshare --uts /bin/bash -c \"hostname host\$h; \$*\""
    } >"$AGENT"
    chmod +x "$AGENT"
}

# cluster_argv HOSTSPEC [FROM]: set MPIRUN_ARGV to the launcher for ranks spread over hosts, run
# from host FROM (default a); HOSTSPEC is "2,2" (ranks per host a, b, ...) or, to place rank 0
# elsewhere, host letters with counts in rank order, e.g. "b:1,a:1". Extra MCA settings: NS_MCA
# (array).
cluster_argv() {
    local spec=$1 from=${2:-a} hosts="" i=0 c total=0 v letters=abcdefgh pre
    for c in ${spec//,/ }; do
        i=$((i + 1))
        if [ "${c#*:}" != "$c" ]; then # letter:count
            pre=${letters%%"${c%%:*}"*}
            hosts+="${hosts:+,}$NET.$((${#pre} + 1)):${c#*:}"
            c=${c#*:}
        else
            hosts+="${hosts:+,}$NET.$i:$c"
        fi
        total=$((total + c))
    done
    # shellcheck disable=SC2054  # the commas are inside MCA values (tcp,self,vader)
    MPIRUN_ARGV=(ip netns exec "$NS_PREFIX$from" unshare --uts /bin/bash -c "hostname host$from; exec \"\$@\"" -
        "$MPIEXEC" --mca plm_rsh_agent "$AGENT" --mca oob_tcp_if_include "$NET.0/24"
        --mca btl tcp,self,vader --mca btl_tcp_if_include "$NET.0/24" --host "$hosts" -n "$total"
        --bind-to none -x POCL_MAX_PTHREAD_COUNT -x OMPI_ALLOW_RUN_AS_ROOT
        -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM "${NS_MCA[@]}")
    for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS OMPI_MCA_io LAPSE_KERNELS LAPSE_FAULT; do
        [ -z "${!v:-}" ] || MPIRUN_ARGV+=(-x "$v")
    done
}
NS_MCA=()

# cluster_lapse HOSTSPEC ARGS...: "$LAPSE" ARGS on the simulated cluster.
cluster_lapse() {
    local spec=$1
    shift
    cluster_argv "$spec"
    "${MPIRUN_ARGV[@]}" "$LAPSE" "$@"
}

# cluster_config CFG OUT SCHED: the kill_config pipeline with the given scheduling.
cluster_config() {
    kill_config "$1" "$2"
    echo "scheduling: $3" >>"$1"
}
