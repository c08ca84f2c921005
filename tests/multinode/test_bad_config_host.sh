#!/usr/bin/env bash
# test_bad_config_host.sh - a bad config on a simulated two-host cluster is caught on rank 0
# of host a: exit 2, the message names file:line:column once, and nothing is written (no
# output file, no .creating file) by either host.
source "$(dirname "$0")/../mpi/common.sh"
source "$(dirname "$0")/netns.sh"
make_sample
netns_up 2
OUT=$T/out.h5
cat >"$T/bad.yaml" <<YAML
input: {file: $IN, dataset: /raw}
pipeline:
  - {op: gaussian_blur, sigma: 1}
output: {file: $OUT, dataset: /result}
devices: any
scheduling: random
YAML
cluster_argv 2,2
expect_rc 2 "$T/bad.log" "${MPIRUN_ARGV[@]}" "$LAPSE" run "$T/bad.yaml"
grep -Eq 'bad\.yaml:6:[0-9]+' "$T/bad.log" || { cat "$T/bad.log"; fail "message lacks bad.yaml:6:<column>"; }
grep -q "unknown scheduling 'random'" "$T/bad.log" || { cat "$T/bad.log"; fail "message lacks the cause"; }
n=$(grep -c "unknown scheduling 'random'" "$T/bad.log")
[ "$n" -eq 1 ] || { cat "$T/bad.log"; fail "the message came $n times (want once, from rank 0)"; }
[ ! -e "$OUT" ] && [ ! -e "$OUT.creating" ] || fail "an output file was written"
[ -z "$(ls "$T" | grep -v -e '^in.h5$' -e '^bad' -e '^agent.sh$' -e '^sample.log$')" ] ||
    fail "files written: $(ls "$T")"
echo "PASS: bad config refused on host a, nothing written"
