#!/usr/bin/env bash
# test_bad_config.sh - bad configs and inputs are refused before any work: exit 2, a message
# naming config-file:line:column where a place in the config is at fault, and no output file.
# Also: a different config on an existing output exits 2 and leaves that file byte-for-byte
# unchanged (the same config finds nothing to do);
# mode update on a missing output exits 2; the exit code survives mpiexec with 2 ranks.
source "$(dirname "$0")/common.sh"
make_sample
OUT=$T/out.h5

# bad NAME LINE PATTERN [RUN-ARGS...] < config: `lapse run` must exit 2 without creating $OUT;
# its output must contain NAME.yaml:LINE:COLUMN (LINE: a regex; "-" = no position expected) and match the
# extended regex PATTERN (case-insensitive).
bad() {
    local name=$1 line=$2 pat=$3
    shift 3
    cat >"$T/$name.yaml"
    rm -f "$OUT"
    expect_rc 2 "$T/$name.log" "$LAPSE" run "$T/$name.yaml" "$@"
    [ ! -e "$OUT" ] || fail "$name: the output file was created"
    if [ "$line" != - ]; then
        grep -Eq "$name\.yaml:$line:[0-9]+" "$T/$name.log" ||
            { cat "$T/$name.log"; fail "$name: message lacks $name.yaml:$line:<column>"; }
    fi
    grep -Eiq -- "$pat" "$T/$name.log" || { cat "$T/$name.log"; fail "$name: message lacks /$pat/"; }
    echo "$name: $(head -c 300 "$T/$name.log" | tr '\n' ' ')"
}

GOOD_TAIL="output: {file: $OUT, dataset: /result}
devices: any"

bad unknown_top_key 2 'inptu' <<YAML
input: {file: $IN, dataset: /raw}
inptu: 3
pipeline:
  - {op: gaussian_blur, sigma: 1}
$GOOD_TAIL
YAML

bad unknown_step_key 5 'sigmaa' <<YAML
input: {file: $IN, dataset: /raw}
pipeline:
  - op: gaussian_blur
    sigma: 1
    sigmaa: 2
$GOOD_TAIL
YAML

bad unknown_op 3 'gauss_blur' <<YAML
input: {file: $IN, dataset: /raw}
pipeline:
  - op: gauss_blur
    sigma: 1
$GOOD_TAIL
YAML

bad sigma_not_number 4 'sigma' <<YAML
input: {file: $IN, dataset: /raw}
pipeline:
  - op: gaussian_blur
    sigma: wide
$GOOD_TAIL
YAML

bad radius_negative 3 'radius' <<YAML
input: {file: $IN, dataset: /raw}
pipeline:
  - {op: minimum_box, radius: [1, -2, 1]}
$GOOD_TAIL
YAML

bad tiles_bad_type 2 'tiles|shape' <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [8, 32]}
pipeline:
  - {op: gaussian_blur, sigma: 1}
$GOOD_TAIL
YAML

bad bad_dtype 4 'dtype|int7' <<YAML
input: {file: $IN, dataset: /raw}
pipeline:
  - {op: gaussian_blur, sigma: 1}
output: {file: $OUT, dataset: /result, dtype: int7}
devices: any
YAML

bad bad_mode 4 'mode|append' <<YAML
input: {file: $IN, dataset: /raw}
pipeline:
  - {op: gaussian_blur, sigma: 1}
output: {file: $OUT, dataset: /result, mode: append}
devices: any
YAML

bad yaml_syntax "(3|4)" 'yaml|syntax|mapping|parse|expected' <<YAML
input: {file: $IN, dataset: /raw}
pipeline:
  - {op: gaussian_blur, sigma: [1, 2
$GOOD_TAIL
YAML

bad missing_pipeline - 'pipeline' <<YAML
input: {file: $IN, dataset: /raw}
$GOOD_TAIL
YAML

bad missing_input_dataset 1 '/nope' <<YAML
input: {file: $IN, dataset: /nope}
pipeline:
  - {op: gaussian_blur, sigma: 1}
$GOOD_TAIL
YAML

bad missing_input_file 1 'no_such_file\.h5' <<YAML
input: {file: $T/no_such_file.h5, dataset: /raw}
pipeline:
  - {op: gaussian_blur, sigma: 1}
$GOOD_TAIL
YAML

bad timepoints_out_of_range 2 'timepoint|range|9' <<YAML
input: {file: $IN, dataset: /raw}
timepoints: "2-9"
pipeline:
  - {op: gaussian_blur, sigma: 1}
$GOOD_TAIL
YAML

bad timepoints_syntax 2 'timepoint|3-1' <<YAML
input: {file: $IN, dataset: /raw}
timepoints: "0, 3-1"
pipeline:
  - {op: gaussian_blur, sigma: 1}
$GOOD_TAIL
YAML

# The same, selected on the command line: no config position, but still exit 2, no output.
cat >"$T/good.yaml" <<YAML
input: {file: $IN, dataset: /raw}
pipeline:
  - {op: gaussian_blur, sigma: 1}
$GOOD_TAIL
YAML
rm -f "$OUT"
expect_rc 2 "$T/cli_tp.log" "$LAPSE" run "$T/good.yaml" --timepoints 7
[ ! -e "$OUT" ] || fail "--timepoints 7 (of $NT): the output file was created"
grep -Eiq 'timepoint|range|7' "$T/cli_tp.log" || fail "--timepoints 7: message does not say why"

expect_rc 2 "$T/missing_cfg.log" "$LAPSE" run "$T/no_such_config.yaml"
grep -q no_such_config "$T/missing_cfg.log" || fail "a missing config is not named in the message"

# Through mpiexec with 2 ranks the exit code is still 2 and nothing is written.
note "bad config on 2 ranks"
expect_rc 2 "$T/mpi.log" mpirun_lapse 2 run "$T/unknown_top_key.yaml"
[ ! -e "$OUT" ] || fail "2 ranks: the output file was created"

# Mode update needs an existing output.
sed 's|dataset: /result}|dataset: /result, mode: update}|' "$T/good.yaml" >"$T/upd.yaml"
expect_rc 2 "$T/upd.log" "$LAPSE" run "$T/upd.yaml"
[ ! -e "$OUT" ] || fail "mode update without an output created one"

# Mode create on an existing output (a real lapse output, then a foreign file): exit 2, unchanged.
need_device
note "mode create on an existing output"
lapse_run 1 "$T/good.yaml"
sum=$(sha "$OUT")
# The same config again: the output is complete, so there is nothing to do (exit 0, unchanged).
expect_rc 0 "$T/again.log" "$LAPSE" run "$T/good.yaml"
grep -q 'nothing to do' "$T/again.log" || { cat "$T/again.log"; fail "re-run does not say 'nothing to do'"; }
[ "$(sha "$OUT")" = "$sum" ] || fail "re-running a complete output modified it"
# Another config (sigma 2) on that output: refused, unchanged.
sed 's/sigma: 1}/sigma: 2}/' "$T/good.yaml" >"$T/other.yaml"
expect_rc 2 "$T/exists.log" "$LAPSE" run "$T/other.yaml"
grep -Eiq 'different config' "$T/exists.log" || { cat "$T/exists.log"; fail "message does not say the config differs"; }
grep -Eiq 'overwrite' "$T/exists.log" || { cat "$T/exists.log"; fail "message does not suggest overwrite"; }
[ "$(sha "$OUT")" = "$sum" ] || fail "mode create modified the existing output"
echo "not an HDF5 file" >"$OUT"
expect_rc 2 "$T/exists2.log" "$LAPSE" run "$T/good.yaml"
[ "$(cat "$OUT")" = "not an HDF5 file" ] || fail "mode create modified an existing foreign file"
echo "PASS ($TEST_NAME)"
