#!/usr/bin/env bash
# test_hosts.sh - lapse on a simulated Ethernet cluster (network namespaces as hosts, TCP only,
# Open MPI's default one-sided component, which refuses windows over TCP).
#
# Two hosts x two ranks and three hosts with uneven rank counts (2, 1, 1): `lapse devices`
# gives node-local ranks 0, 1 on each host; static, dynamic and rma scheduling (rma must fall
# back to point-to-point with a note) all write outputs bit-identical to one rank, with task
# rows from every rank. Skipped (77) where namespaces cannot be made.
source "$(dirname "$0")/../mpi/common.sh"
source "$(dirname "$0")/netns.sh"
need_device
make_sample
netns_up 3

note "devices: node-local ranks per host"
cluster_lapse 2,2 devices --kind any >"$T/dev.log" 2>&1 || { cat "$T/dev.log"; fail "lapse devices on 2x2"; }
for want in "rank 0 on hosta (local rank 0)" "rank 1 on hosta (local rank 1)" \
    "rank 2 on hostb (local rank 0)" "rank 3 on hostb (local rank 1)"; do
    grep -qF "$want" "$T/dev.log" || { cat "$T/dev.log"; fail "devices lacks '$want'"; }
done
cluster_lapse 2,1,1 devices --kind any >"$T/dev3.log" 2>&1 || { cat "$T/dev3.log"; fail "lapse devices on 2,1,1"; }
for want in "rank 1 on hosta (local rank 1)" "rank 2 on hostb (local rank 0)" \
    "rank 3 on hostc (local rank 0)"; do
    grep -qF "$want" "$T/dev3.log" || { cat "$T/dev3.log"; fail "devices lacks '$want'"; }
done

note "reference: one rank"
cluster_config "$T/ref.yaml" "$T/ref.h5" dynamic
lapse_run 1 "$T/ref.yaml"
nonconstant "$T/ref.h5" /result /blurred

for run in 2,2:static 2,2:dynamic 2,2:rma 2,1,1:dynamic 2,1,1:static; do
    spec=${run%:*} sched=${run#*:} name=h${spec//,/_}_${run#*:}
    note "$name: hosts $spec, $sched scheduling"
    cluster_config "$T/$name.yaml" "$T/$name.h5" "$sched"
    cluster_lapse "$spec" run "$T/$name.yaml" >"$T/$name.log" 2>&1 ||
        { cat "$T/$name.log"; fail "$name: lapse run failed"; }
    if [ "$sched" = rma ]; then
        grep -q "using dynamic (point-to-point) scheduling instead" "$T/$name.log" ||
            note "$name: rma worked without the fallback (the MPI library made the window)"
    fi
    py h5same.py "$T/ref.h5" "$T/$name.h5" >"$T/same.log" ||
        { cat "$T/same.log"; fail "$name: output differs from one rank"; }
    ranks=$("$LAPSE_PY" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(len(set(f['/lapse/tasks']['rank'])))" "$T/$name.h5")
    [ "$ranks" -eq 4 ] || fail "$name: task rows from $ranks ranks, want 4"
done
note "hosts 2,1,1 with output.parts: timepoints (each host writes its timepoints' part files)"
cluster_config "$T/parts.yaml" "$T/parts.h5" dynamic
sed -i 's|^output: {\(.*\)}$|output: {\1, parts: timepoints}|' "$T/parts.yaml"
grep -q "parts: timepoints" "$T/parts.yaml" || fail "could not add parts to the config"
cluster_lapse 2,1,1 run "$T/parts.yaml" >"$T/parts.log" 2>&1 || { cat "$T/parts.log"; fail "parts: lapse run failed"; }
[ -d "$T/parts.h5.parts" ] || fail "parts: no parts directory"
py h5same.py "$T/ref.h5" "$T/parts.h5" >"$T/same.log" || { cat "$T/same.log"; fail "parts: output differs from one rank"; }
echo "PASS: multi-host runs equal one rank"
