#!/usr/bin/env bash
# test_stale_error.sh - issue 8 item 13: a printed message is consumed and every task starts
# with none, so each failure prints its own cause, never the text of an earlier one. With
# on_error: skip and every read of rank 1 failing (LAPSE_FAULT=fail:read@1), each failure line
# names its own task and timepoint once; a later, different failure (a bad config after a
# failed run) prints only its own message.
source "$(dirname "$0")/common.sh"
make_sample
cd "$T" || fail "cd $T"
hcfg c.yaml "$IN" out.h5
printf 'on_error: skip\n' | cat c.yaml - >s.yaml

note "1. many failures on one rank: each message its own"
# rank 1's own stream (--output-filename): mpirun's forwarding of the ranks' output to one
# stream may cut a line of one rank with another's (seen under load), which is not lapse's doing
export LAPSE_FAULT=fail:read@1
mpirun_argv 2
expect_rc 3 s1.log "${MPIRUN_ARGV[@]}" -x LAPSE_FAULT --output-filename "$T/ranks" "$LAPSE" run s.yaml
unset LAPSE_FAULT
[ -f "$T/ranks/1/rank.1/stderr" ] || { cat s1.log >&2; fail "1: no stream of rank 1 in $T/ranks"; }
cp "$T/ranks/1/rank.1/stderr" s1.log
"$LAPSE_PY" - s1.log <<'PY' || { cat s1.log >&2; fail "1: a stale or merged message"; }
import re, sys
lines = [l for l in open(sys.argv[1]) if "injected fault read" in l]
assert len(lines) >= 2, "expected several failures, got %d" % len(lines)
seen = set()
for l in lines:
    m = re.search(r"rank 1, task (\d+) \(t=(\d+), tile (\d+)\): reading the input .* at timepoint (\d+), box", l)
    assert m, l
    assert l.count("reading the input") == 1 and l.count("injected fault") == 1, l
    assert m.group(2) == m.group(4), l
    assert m.group(1) not in seen, l
    seen.add(m.group(1))
PY

note "2. the next failure of the same rank after a printed one prints only its own"
"$LAPSE_PY" -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); f.attrs["fingerprint"]="x"' out.h5
O=$(sha out.h5)
expect_rc 2 s2.log mpirun_lapse 2 run s.yaml
grep -q "injected fault" s2.log && { cat s2.log >&2; fail "2: a stale message"; }
same_sha out.h5 "$O" "2"
echo "PASS $TEST_NAME"
