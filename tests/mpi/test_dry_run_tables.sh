#!/usr/bin/env bash
# test_dry_run_tables.sh - `lapse run --dry-run` lists the measurement tables a run writes (a
# measure_labels step's /NAME and /NAME_summary) and which timepoints' rows it writes; for an
# update, which rows it replaces. It listed the image datasets only, so the dry run of an update
# did not say that it rewrites table rows.
# a) a new output: the dry run writes nothing and lists the tables with every timepoint; the run
#    then makes exactly the tables listed (every compound dataset with a timepoint column).
# b) an update (--timepoints 1-2 on the existing output): the dry run leaves the file as it is
#    and says the rows of 1-2 are replaced; then every row of both tables gets a marker value,
#    the update runs, and the rows whose marker is gone must be exactly those of the timepoints
#    the dry run named (the others keep theirs).
# c) output.mode: update in the config with timepoints: 3: the dry run says the rows of 3.
# d) a continuation with nothing to do: no rows written.
source "$(dirname "$0")/common.sh"
need_device
make_sample
OUT=$T/out.h5

# cfg FILE [EXTRA...]: the segmentation with measurements (step 3, named nuclei), 4 tiles per
# timepoint, writing $OUT; EXTRA lines go to the end.
cfg() {
    local f=$1
    shift
    cat >"$f" <<YAML
input: {file: $IN, dataset: /raw}
tiles: {shape: [$NZ, 40, 50], halo: auto}
pipeline:
  - {op: gaussian_blur, sigma: 1}
  - {op: threshold_otsu}
  - {op: connected_components_labeling, name: l, save: /labels}
  - {op: measure_labels, from: l, with: input, name: nuclei}
output: {file: $OUT, dataset: /result}
devices: any
YAML
    local line
    for line in "$@"; do echo "$line" >>"$f"; done
}

# table_sel LOG: the selection of the dry run's "tables" line ("rows of timepoints SEL ..."); table_list LOG:
# the table paths it lists under it, one per line, sorted.
table_sel() { sed -n 's/^tables     rows of timepoints \([^ ]*\) .*/\1/p' "$1"; }
table_list() { sed -n '/^tables /,/^size /p' "$1" | sed -n 's/^  \(\/[^ ]*\) .*/\1/p' | sort; }

# file_tables FILE: the compound datasets of FILE with a timepoint column, one per line, sorted.
file_tables() {
    "$LAPSE_PY" - "$1" <<'PY'
import sys, h5py
out = []
with h5py.File(sys.argv[1], "r") as f:
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.names and "timepoint" in obj.dtype.names \
                and not name.startswith("lapse"):
            out.append("/" + name)
    f.visititems(visit)
print("\n".join(sorted(out)))
PY
}

cfg "$T/run.yaml"
note "a) a new output"
run_ok "$T/dry_a.log" mpirun_lapse 2 run "$T/run.yaml" --dry-run
[ ! -e "$OUT" ] || fail "a) the dry run wrote the output"
[ "$(table_sel "$T/dry_a.log")" = "0-$((NT - 1))" ] ||
    { cat "$T/dry_a.log"; fail "a) the dry run does not say it writes the rows of every timepoint"; }
listed=$(table_list "$T/dry_a.log")
[ -n "$listed" ] || { cat "$T/dry_a.log"; fail "a) the dry run lists no table"; }
lapse_run 2 "$T/run.yaml"
made=$(file_tables "$OUT")
mapfile -t made_list <<<"$made"
note "listed: $(echo "$listed" | paste -sd' '); made: $(echo "$made" | paste -sd' ')"
[ "$listed" = "$made" ] || fail "a) the dry run listed '$listed', the run made '$made'"

note "b) an update of timepoints 1-2"
before=$(sha "$OUT")
run_ok "$T/dry_b.log" mpirun_lapse 2 run "$T/run.yaml" --timepoints 1-2 --dry-run
[ "$(sha "$OUT")" = "$before" ] || fail "b) the dry run changed the output"
grep -q "^tables     rows of timepoints 1-2 replaced (2); the other timepoints' rows are kept$" "$T/dry_b.log" ||
    { cat "$T/dry_b.log"; fail "b) the dry run does not say which rows the update replaces"; }
[ "$(table_list "$T/dry_b.log")" = "$made" ] || { cat "$T/dry_b.log"; fail "b) the update's dry run lists other tables"; }
sel=$(table_sel "$T/dry_b.log")
"$LAPSE_PY" - "$OUT" "${made_list[@]}" <<'PY' || fail "b) cannot mark the table rows"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    for name in sys.argv[2:]:
        a = f[name][()]
        a[a.dtype.names[-1]] = -7  # a value no measurement has (a std, a threshold)
        f[name][...] = a
PY
lapse_run 2 "$T/run.yaml" --timepoints 1-2
"$LAPSE_PY" - "$OUT" "$sel" "${made_list[@]}" <<'PY' || fail "b) the rows the update replaced are not those the dry run named"
import sys, h5py, numpy as np
out, sel, names = sys.argv[1], sys.argv[2], sys.argv[3:]
want = set()
for part in sel.split(","):  # the tpsel format: a, a-b, a-b:s
    part = part.strip()
    rng, _, step = part.partition(":")
    lo, _, hi = rng.partition("-")
    want.update(range(int(lo), int(hi or lo) + 1, int(step or 1)))
with h5py.File(out, "r") as f:
    for name in names:
        a = f[name][()]
        new = set(int(t) for t in np.unique(a["timepoint"][a[a.dtype.names[-1]] != -7]))
        kept = set(int(t) for t in np.unique(a["timepoint"][a[a.dtype.names[-1]] == -7]))
        print(f"{name}: rows replaced for timepoints {sorted(new)}, kept for {sorted(kept)}; the dry run said {sorted(want)}")
        if new != want or kept & want:
            sys.exit(1)
PY

note "c) output.mode: update with timepoints: 3 in the config"
cfg "$T/upd.yaml" "timepoints: 3"
sed -i "s|^output: {file: $OUT, dataset: /result}|output: {file: $OUT, dataset: /result, mode: update}|" "$T/upd.yaml"
grep -q "mode: update" "$T/upd.yaml" || fail "c) the config has no mode: update"
run_ok "$T/dry_c.log" mpirun_lapse 2 run "$T/upd.yaml" --dry-run
grep -q "^tables     rows of timepoints 3 replaced (1); " "$T/dry_c.log" ||
    { cat "$T/dry_c.log"; fail "c) the dry run does not say it replaces the rows of timepoint 3"; }

note "d) a complete output continued: nothing to do"
run_ok "$T/dry_d.log" mpirun_lapse 2 run "$T/run.yaml" --dry-run
grep -q "^tables     no rows written (no task to run)$" "$T/dry_d.log" ||
    { cat "$T/dry_d.log"; fail "d) the dry run does not say that no rows are written"; }
echo "PASS ($TEST_NAME)"
