#!/usr/bin/env bash
# test_bad_configs.sh - every malformed config in tests/mpi/bad_configs/ is refused end to end:
# `lapse run` exits 2, prints one message "NN_name.yaml:LINE:COLUMN: KEY.PATH: ..." holding the
# config's "# expect:" text at its "# at:" position (see bad_configs/README.md), and writes
# nothing: run once with no output (no file at all may appear in the directory) and once over
# the output of an earlier good run (that file must stay byte-identical, nothing else may
# appear). A few configs are also run with `mpirun -n 2`: same exit code, message printed once.
source "$(dirname "$0")/common.sh"
need_device
DIR=$LAPSE_SRC/tests/mpi/bad_configs
W=$T/work
LOGS=$T/logs
mkdir -p "$W" "$LOGS"
make_sample "$W/in.h5"
cd "$W" || fail "cannot cd to $W"

configs=("$DIR"/[0-9][0-9]_*.yaml)
[ "${#configs[@]}" -ge 30 ] || fail "only ${#configs[@]} configs in $DIR (want at least 30)"

# check_one CFG LOG: the message in LOG matches CFG's header; fail otherwise.
check_one() {
    local cfg=$1 log=$2 name expect at pos key prefix lines
    name=$(basename "$cfg")
    expect=$(sed -n '1s/^# expect: //p' "$cfg")
    at=$(sed -n '2s/^# at: //p' "$cfg")
    if [ -z "$expect" ] || [ -z "$at" ]; then
        fail "$name: header lacks '# expect:' or '# at:' lines"
    fi
    pos=${at%% *}
    key=${at#* }
    case $pos in
    *:*) prefix="$name:$pos: $key: " ;;
    *) prefix="$name:$pos:" ;;
    esac
    lines=$(grep -F -- "$prefix" "$log" | grep -F -- ": $key: " | grep -F -- "$expect")
    if [ -z "$lines" ]; then
        cat "$log" >&2
        fail "$name: no message line with '$prefix' ... ': $key: ' ... '$expect'"
    fi
    [ "$(printf '%s\n' "$lines" | wc -l)" -eq 1 ] ||
        { cat "$log" >&2; fail "$name: the message was printed more than once"; }
}

# listing: the files in the work directory with their checksums (in.h5 included).
listing() { (cd "$W" && find . -type f -exec sha256sum {} + | sort); }

# one_pass TAG: run every config once; the directory listing must not change.
one_pass() {
    local tag=$1 before cfg name
    before=$(listing)
    for cfg in "${configs[@]}"; do
        name=$(basename "$cfg" .yaml)
        expect_rc 2 "$LOGS/$name.$tag.log" "$LAPSE" run "$cfg"
        check_one "$cfg" "$LOGS/$name.$tag.log"
        [ "$(listing)" = "$before" ] || {
            diff <(echo "$before") <(listing) >&2
            fail "$name ($tag): files in the output directory changed"
        }
    done
}

note "1. no earlier output: ${#configs[@]} configs, nothing may be created"
one_pass fresh
echo "example: $(head -n 1 "$LOGS/19_sigma_negative.fresh.log")"

note "2. over an earlier good output: the file must stay byte-identical"
cat >"$T/good.yaml" <<YAML
input: {file: in.h5, dataset: /raw}
tiles: {shape: [8, 32, 32]}
pipeline:
  - {op: gaussian_blur, sigma: 1, save: /blurred}
  - {op: threshold_fixed, threshold: 100}
output: {file: out.h5}
devices: any
YAML
run_ok "$LOGS/good.log" "$LAPSE" run "$T/good.yaml"
[ -f "$W/out.h5" ] || fail "the good run wrote no out.h5"
nonconstant "$W/out.h5" /blurred
one_pass existing

note "3. with 2 ranks"
for n in 07_unknown_top_key 19_sigma_negative 29_halo_below_reach 43_timepoints_out_of_range \
    44_input_dataset_missing; do
    before=$(listing)
    expect_rc 2 "$LOGS/$n.mpi.log" mpirun_lapse 2 run "$DIR/$n.yaml"
    check_one "$DIR/$n.yaml" "$LOGS/$n.mpi.log"
    [ "$(listing)" = "$before" ] || fail "$n (2 ranks): files in the output directory changed"
done
echo "PASS ($TEST_NAME)"
