#!/usr/bin/env bash
# test_cli.sh - the command line: --help, --version, usage errors, sample, devices, plan, info,
# verify (test_verify.sh checks what it finds in damaged files), run --dry-run. Exit codes:
# 0 ok, 2 bad usage/config/input; plan and --dry-run write nothing.
source "$(dirname "$0")/common.sh"
OUT=$T/out.h5

note "--help and --version"
run_ok "$T/help.log" "$LAPSE" --help
for cmd in run plan sample devices info verify; do
    grep -q "$cmd" "$T/help.log" || { cat "$T/help.log"; fail "--help does not mention '$cmd'"; }
done
run_ok "$T/version.log" "$LAPSE" --version
version=$(sed -n 's/^project(lapse VERSION \([0-9.]*\).*/\1/p' "$LAPSE_SRC/CMakeLists.txt")
[ -n "$version" ] || fail "cannot read the project version from CMakeLists.txt"
grep -qF "$version" "$T/version.log" || fail "--version does not print $version: $(cat "$T/version.log")"

note "usage errors exit 2"
expect_rc 2 "$T/none.log" "$LAPSE"
expect_rc 2 "$T/unknown.log" "$LAPSE" frobnicate
grep -q frobnicate "$T/unknown.log" || fail "unknown command not named in the message"
expect_rc 2 "$T/cfgnocmd.log" "$LAPSE" configs/nuclei.yaml
grep -qF "lapse run configs/nuclei.yaml" "$T/cfgnocmd.log" ||
    fail "a config given without a command does not suggest 'lapse run': $(cat "$T/cfgnocmd.log")"
expect_rc 2 "$T/runnocfg.log" "$LAPSE" run
expect_rc 2 "$T/badopt.log" "$LAPSE" run cfg.yaml --no-such-option
mkdir -p "$T/adir" && mkfifo "$T/afifo"
expect_rc 2 "$T/rundir.log" "$LAPSE" run "$T/adir"
grep -q "adir: (file): not a config file but a directory" "$T/rundir.log" ||
    fail "run of a directory: $(cat "$T/rundir.log")"
expect_rc 2 "$T/runfifo.log" timeout 20 "$LAPSE" run "$T/afifo" # a FIFO must not block
grep -q "afifo: (file): not a config file but a special file" "$T/runfifo.log" ||
    fail "run of a FIFO: $(cat "$T/runfifo.log")"
for tp in "" " " "--timepoints="; do # an empty selection (an unset variable) is not "all"
    case $tp in --*) args=("$tp") ;; *) args=(--timepoints "$tp") ;; esac
    expect_rc 2 "$T/tpempty.log" "$LAPSE" run cfg.yaml "${args[@]}"
    grep -q -- "--timepoints needs a selection" "$T/tpempty.log" || fail "empty --timepoints '$tp'"
done
# two selections: refused, not the last one silently
expect_rc 2 "$T/tptwice.log" "$LAPSE" run cfg.yaml --timepoints 3 --timepoints=4
grep -q -- "--timepoints given twice ('3' and the next)" "$T/tptwice.log" || fail "--timepoints twice: $(cat "$T/tptwice.log")"
expect_rc 2 "$T/verify_none.log" "$LAPSE" verify
expect_rc 2 "$T/verify_opt.log" "$LAPSE" verify "$T/x.h5" --fix
grep -q -- "--fix" "$T/verify_opt.log" || fail "verify: the bad option not named"
expect_rc 2 "$T/verify_missing.log" "$LAPSE" verify "$T/missing.h5"
grep -qF "$T/missing.h5" "$T/verify_missing.log" || fail "verify: the missing file not named"
expect_rc 2 "$T/verify_missing.log" "$LAPSE" verify --repair "$T/missing.h5"
[ ! -e "$T/missing.h5" ] && [ ! -e "$T/missing.h5.lock" ] || fail "verify --repair of a missing file made files"
expect_rc 2 "$T/sample_bad.log" "$LAPSE" sample "$T/bad.h5" --shape 4,5
[ ! -e "$T/bad.h5" ] || fail "sample with a bad --shape wrote a file"
expect_rc 2 "$T/sample_nodir.log" "$LAPSE" sample "$T/no/such/dir/s.h5"
grep -q "directory $T/no/such/dir does not exist" "$T/sample_nodir.log" ||
    fail "sample into a missing directory: $(cat "$T/sample_nodir.log")"

note "sample: shape, dtype, determinism"
make_sample
# a device without an extension a step needs (LAPSE_FAULT plays one without cl_khr_fp64): a
# config error at the step, exit 2, before anything is written, also for plan and --dry-run
cat >"$T/fp64.yaml" <<YAML
input: {file: $IN, dataset: /raw}
pipeline:
  - {op: gaussian_blur, sigma: 1}
  - {op: mean_z_projection}
output: {file: $T/fp64.h5}
devices: any
YAML
for cmd in "run" "run --dry-run" "plan"; do
    expect_rc 2 "$T/fp64.log" env LAPSE_FAULT=fail:no-cl_khr_fp64 "$LAPSE" $cmd "$T/fp64.yaml"
    grep -q "fp64.yaml:4:5: pipeline\[1\].op: mean_z_projection needs the OpenCL extension cl_khr_fp64, which the device" \
        "$T/fp64.log" || fail "$cmd on a device without fp64: $(cat "$T/fp64.log")"
    [ ! -e "$T/fp64.h5" ] && [ ! -e "$T/fp64.h5.creating" ] || fail "$cmd without fp64 wrote the output"
done
# threshold_otsu needs it only with clesperanto's bins (also inside voronoi_otsu_labeling)
sed 's/{op: mean_z_projection}/{op: voronoi_otsu_labeling, spot_sigma: 1, outline_sigma: 1}/' \
    "$T/fp64.yaml" >"$T/fp64v.yaml"
expect_rc 2 "$T/fp64v.log" env LAPSE_FAULT=fail:no-cl_khr_fp64 "$LAPSE" run "$T/fp64v.yaml" --dry-run
grep -q "fp64v.yaml:4:5: pipeline\[1\].op: threshold_otsu needs the OpenCL extension cl_khr_fp64" \
    "$T/fp64v.log" || fail "voronoi_otsu_labeling without fp64: $(cat "$T/fp64v.log")"
sed 's/{op: mean_z_projection}/{op: threshold_otsu}/' "$T/fp64.yaml" >"$T/fp64o.yaml"
expect_rc 0 "$T/fp64o.log" env LAPSE_FAULT=fail:no-cl_khr_fp64 "$LAPSE" run "$T/fp64o.yaml" --dry-run
"$LAPSE_PY" - "$IN" "$NT" "$NZ" "$NY" "$NX" <<'PY' || fail "sample wrote the wrong dataset"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    d = f["/raw"]
    want = tuple(int(v) for v in sys.argv[2:])
    assert d.dtype == np.uint16 and d.shape == want, (d.dtype, d.shape, want)
    x = d[()]
    assert x.min() < x.max(), "constant image"
    assert any((x[t] != x[0]).any() for t in range(1, x.shape[0])), "timepoints all equal"
PY
run_ok "$T/s2.log" "$LAPSE" sample "$T/same.h5" --timepoints "$NT" --shape "$NZ,$NY,$NX" --seed 7
py h5same.py "$IN" "$T/same.h5" /raw || fail "sample is not deterministic"
run_ok "$T/s3.log" "$LAPSE" sample "$T/other.h5" --timepoints "$NT" --shape "$NZ,$NY,$NX" --seed 8
if py h5same.py "$IN" "$T/other.h5" /raw >/dev/null; then fail "seeds 7 and 8 gave the same image"; fi
sum=$(sha "$IN")
expect_rc 2 "$T/s4.log" "$LAPSE" sample "$IN" --timepoints 2 --shape 4,5,6
[ "$(sha "$IN")" = "$sum" ] || fail "sample overwrote an existing file"

need_device
note "devices"
run_ok "$T/devices.log" "$LAPSE" devices --kind any
[ -s "$T/devices.log" ] || fail "lapse devices printed nothing"
run_ok "$T/devices2.log" "$LAPSE" devices --kind=any # as --timepoints=SEL is taken
cmp -s "$T/devices.log" "$T/devices2.log" || fail "devices --kind=any differs from --kind any"
expect_rc 2 "$T/dk.log" "$LAPSE" devices --kind
grep -q "devices: --kind needs a value: gpu, cpu or any" "$T/dk.log" ||
    { cat "$T/dk.log"; fail "devices --kind without a value: the message does not say so"; }
expect_rc 2 "$T/ops.log" "$LAPSE" ops --markdown extra
grep -q "ops: expected no argument or --markdown, got 'extra'" "$T/ops.log" ||
    { cat "$T/ops.log"; fail "ops --markdown extra: the message names the wrong argument"; }
expect_rc 2 "$T/ops2.log" "$LAPSE" ops extra --markdown
grep -q "got 'extra'" "$T/ops2.log" || { cat "$T/ops2.log"; fail "ops extra --markdown: wrong argument named"; }

cat >"$T/cfg.yaml" <<YAML
input: {file: $IN, dataset: /raw}
timepoints: "0-2"
tiles: {shape: [8, 32, 32]}
pipeline:
  - {op: gaussian_blur, sigma: 1}
output: {file: $OUT, dataset: /result}
devices: any
YAML
ntasks=$((3 * $(ntiles 8 32 32)))

if ! "$LAPSE" devices --kind gpu >"$T/gpu.log" 2>&1; then
    note "devices: gpu where no GPU is visible: a config error at the key (exit 2), nothing written"
    sed 's/^devices: any$/devices: gpu/' "$T/cfg.yaml" >"$T/gpu.yaml"
    expect_rc 2 "$T/gpu_run.log" mpirun_lapse 2 run "$T/gpu.yaml"
    grep -q "gpu.yaml:7:10: devices: on .*no OpenCL GPU device found.*set devices: cpu or any" \
        "$T/gpu_run.log" || { cat "$T/gpu_run.log"; fail "devices: gpu without a GPU: no message at the key"; }
    grep -v '^devices:' "$T/cfg.yaml" >"$T/gpu_default.yaml" # the default kind is gpu
    expect_rc 2 "$T/gpu_def.log" "$LAPSE" run "$T/gpu_default.yaml"
    grep -q "devices (default gpu): on " "$T/gpu_def.log" ||
        { cat "$T/gpu_def.log"; fail "the default devices: gpu is not named"; }
    [ ! -e "$OUT" ] && [ ! -e "$OUT.creating" ] || fail "devices: gpu without a GPU wrote the output"
fi

note "plan prints $ntasks tasks and writes nothing"
run_ok "$T/plan.log" "$LAPSE" plan "$T/cfg.yaml"
grep -Eq "(^|[^0-9])$ntasks([^0-9]|$)" "$T/plan.log" ||
    { cat "$T/plan.log"; fail "plan does not mention the $ntasks tasks"; }
[ ! -e "$OUT" ] || fail "plan created the output"
# the host memory per rank: 2 pinned slots of the read box (uint16) and the result (float32)
rv=$(sed -n 's/.*largest read box \([0-9]*\) voxels, core \([0-9]*\) voxels.*/\1 \2/p' "$T/plan.log")
want=$(echo "$rv" | awk '{ printf "%.1f", 2 * ($1 * 2 + $2 * 4) / 1048576 }')
grep -q "^host mem   $want MiB per rank for the tasks" "$T/plan.log" ||
    { cat "$T/plan.log"; fail "plan: no host memory line of $want MiB (read box, core: $rv)"; }

note "run --dry-run writes nothing"
run_ok "$T/dry.log" mpirun_lapse 2 run "$T/cfg.yaml" --dry-run
[ ! -e "$OUT" ] || fail "run --dry-run created the output"

note "a run of timepoint 0, continued by a run of timepoints 0-2: the count says what is left"
lapse_run 2 "$T/cfg.yaml" --timepoints 0
grep -q "run 1: $((ntasks / 3)) tasks (1 timepoint x " "$T/last.log" ||
    { cat "$T/last.log"; fail "the first run does not announce its $((ntasks / 3)) tasks"; }
lapse_run 2 "$T/cfg.yaml"
grep -q "run 2: $((2 * ntasks / 3)) of $ntasks tasks (3 timepoints x .*the others are done) on 2 ranks" \
    "$T/last.log" || { cat "$T/last.log"; fail "the continued run does not say what is left"; }

note "info on an output after a run of timepoints 0-2"
run_ok "$T/info.log" "$LAPSE" info "$OUT"
run_ok "$T/verify.log" "$LAPSE" verify "$OUT"
grep -q "$ntasks of [0-9]* tasks marked done; $ntasks read back in 1 dataset, 0 unreadable" \
    "$T/verify.log" || { cat "$T/verify.log"; fail "verify of an output with timepoints 0-2 done"; }
cat "$T/info.log"
grep -Eq '0 *- *2|0, *1, *2' "$T/info.log" ||
    fail "info does not show timepoints 0-2 as done"
grep -q '/result' "$T/info.log" || fail "info does not list /result"
expect_rc 2 "$T/info_in.log" "$LAPSE" info "$IN"
expect_rc 2 "$T/info_missing.log" "$LAPSE" info "$T/missing.h5"
echo "PASS ($TEST_NAME)"
