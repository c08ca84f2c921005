# shellcheck shell=bash
# common.sh - helpers of the tests/hostile/test_*.sh cases (sourced): tests/mpi/common.sh (its
# $T, $LAPSE, fail, expect_rc, sha, make_sample ...) plus a config writer and a check that a
# refused run said what it should.
source "$(dirname "${BASH_SOURCE[0]}")/../mpi/common.sh"
need_device

# hcfg CFG INPUT OUTPUT [MODE] [DATASET]: a small one-step config (gaussian blur, sigma 1).
hcfg() {
    cat >"$1" <<YAML
input: {file: $2, dataset: ${5:-/raw}}
tiles: {shape: [8, 64, 64]}
pipeline:
  - {op: gaussian_blur, sigma: 1}
output: {file: $3, mode: ${4:-create}}
devices: any
YAML
}

# refused LOG REGEX CMD...: CMD must exit 2 and its output must match REGEX (grep -E).
refused() {
    local log=$1 re=$2
    shift 2
    expect_rc 2 "$log" "$@"
    grep -Eq -- "$re" "$log" || {
        cat "$log" >&2
        fail "message /$re/ not in the output of: $*"
    }
}

# same_sha FILE SUM WHAT: fail unless FILE's sha256 is SUM.
same_sha() {
    [ "$(sha "$1")" = "$2" ] || fail "$3: $1 changed"
}

# nobody_session: make $NOBODY_SESSION, an Open MPI session directory of user nobody (65534)
# inside $T, for a run under setpriv. The shared /tmp/ompi.HOST.65534 of an earlier run may be
# left over with an owner or mode nobody cannot use (CI once failed so: "mkdir ... Permission
# denied" in orte_session_dir), so these tests never depend on it. $T must be chmod 777 first.
nobody_session() {
    NOBODY_SESSION=$T/ompi-nobody
    mkdir -p "$NOBODY_SESSION" && chown 65534:65534 "$NOBODY_SESSION" ||
        fail "cannot make $NOBODY_SESSION for user nobody"
}
