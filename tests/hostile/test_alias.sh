#!/usr/bin/env bash
# test_alias.sh - issue 8 item 3: "the output is the input" by any route. The output (mode
# overwrite, so it would be replaced) is a file the input dataset reads: through a hard link, a
# symbolic link, an external link, a virtual dataset's source, external storage. Each run must
# exit 2 with a config error at output.file, and the output (= the raw data) stays byte-identical.
source "$(dirname "$0")/common.sh"
make_sample
cd "$T" || fail "cd $T"
cp "$IN" victim.h5
"$LAPSE_PY" - <<'PY' || fail "making the aliasing inputs failed"
import h5py, numpy as np
with h5py.File("victim.h5", "r") as f:
    shape, dtype = f["/raw"].shape, f["/raw"].dtype
    data = f["/raw"][()]
with h5py.File("elink.h5", "w") as f:
    f["/raw"] = h5py.ExternalLink("victim.h5", "/raw")
with h5py.File("elink_grp.h5", "w") as f:
    f["/g"] = h5py.ExternalLink("grp.h5", "/")
with h5py.File("grp.h5", "w") as f:
    f["/raw"] = h5py.ExternalLink("victim.h5", "/raw")
layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
layout[:] = h5py.VirtualSource("victim.h5", "/raw", shape=shape)
with h5py.File("vds.h5", "w", libver="latest") as f:
    f.create_virtual_dataset("/raw", layout)
def vds(name, src, dset="/raw"):
    lay = h5py.VirtualLayout(shape=shape, dtype=dtype)
    lay[:] = h5py.VirtualSource(src, dset, shape=shape)
    with h5py.File(name, "w", libver="latest") as f:
        f.create_virtual_dataset("/raw", lay)
vds("vds2.h5", "vds.h5")            # a VDS whose source is a VDS onto victim.h5
vds("vds_el.h5", "elink.h5")        # a VDS whose source is reached through an external link
with h5py.File("elink_vds.h5", "w") as f:
    f["/raw"] = h5py.ExternalLink("vds.h5", "/raw")
import os
os.makedirs("sub", exist_ok=True)   # source names relative to the VDS file's directory
vds("sub/vds_rel.h5", "../vds.h5")
data.tofile("victim.bin")
with h5py.File("ext.h5", "w") as f:
    f.create_dataset("/raw", shape=shape, dtype=dtype,
                     external=[("victim.bin", 0, data.nbytes)])
PY
VH=$(sha victim.h5)
VB=$(sha victim.bin)
ln victim.h5 hard.h5
ln -s victim.h5 soft.h5

# case N INPUT DATASET OUTPUT REGEX
case_() {
    note "$1. input $2:$3, output $4"
    hcfg "c$1.yaml" "$2" "$4" overwrite "$3"
    refused "l$1.log" "output\.file.*$5" "$LAPSE" run "c$1.yaml"
    same_sha victim.h5 "$VH" "$1"
    same_sha victim.bin "$VB" "$1"
    [ ! -e "$4.creating" ] && [ ! -e "$4.lock" ] || fail "$1: staging or lock file left"
}
case_ 1 victim.h5 /raw hard.h5 "the output file is the input file"
case_ 2 victim.h5 /raw soft.h5 "the output file is the input file"
case_ 3 elink.h5 /raw victim.h5 "external link /raw -> victim.h5"
case_ 4 elink_grp.h5 /g/raw victim.h5 "external link /g/raw -> victim.h5"
case_ 5 vds.h5 /raw victim.h5 "virtual dataset with a source in it"
case_ 6 ext.h5 /raw victim.bin "external storage"
case_ 7 elink.h5 /raw soft.h5 "external link"
case_ 9 vds2.h5 /raw victim.h5 "virtual dataset with a source in it"
case_ 10 elink_vds.h5 /raw victim.h5 "virtual dataset with a source in it"
case_ 11 vds_el.h5 /raw victim.h5 "external link /raw -> victim.h5"
case_ 12 sub/vds_rel.h5 /raw soft.h5 "virtual dataset with a source in it"

note "8. an external link to an unrelated file is fine"
cp "$IN" other.h5
hcfg c8.yaml elink.h5 other.h5 overwrite /raw
run_ok l8.log "$LAPSE" run c8.yaml

note "13. a chain of virtual datasets onto an unrelated file is fine"
cp "$IN" other2.h5
hcfg c13.yaml vds2.h5 other2.h5 overwrite /raw
run_ok l13.log "$LAPSE" run c13.yaml
echo "PASS $TEST_NAME"
