#!/usr/bin/env bash
# test_alias_names.sh - issue 8 item 3, the names HDF5 builds and searches: "the output is a file
# the input reads" must hold for the file HDF5 actually opens, not for the name as stored.
#  - virtual dataset source names are printf-style patterns (H5Pset_virtual): "%b" is the block
#    number of an unlimited mapping (one source file per block), "%%" a literal "%";
#  - VDS source and external link files are searched for as H5F_prefix_open_file does
#    (HDF5_VDS_PREFIX / HDF5_EXT_PREFIX first);
#  - external storage files are relative to HDF5_EXTFILE_PREFIX / the efile prefix ("${ORIGIN}" =
#    the HDF5 file's directory), else to the working directory, never to the file's directory;
#  - a VDS source "." is the VDS's own file (walked on to what its source dataset reads).
# Each refused case (mode: overwrite, so the file would be replaced) must exit 2 with a config
# error at output.file, leave every file the input reads byte-identical and leave no staging or
# lock file; the accepted cases must run. Before each case the test checks, with h5py (the same
# HDF5), that HDF5 does read the file it names, so that no case is vacuous.
source "$(dirname "$0")/common.sh"
make_sample
cd "$T" || fail "cd $T"
cp "$IN" victim.h5
mkdir -p sub vp store store2
"$LAPSE_PY" - <<'PY' || fail "making the inputs failed"
import h5py, numpy as np, shutil
from h5py import h5s, h5p, h5d, h5t
with h5py.File("victim.h5", "r") as f:
    data = f["/raw"][()]
shape, dtype = data.shape, data.dtype
half = (2,) + shape[1:]
for b in range(2):  # the blocks of a printf-style VDS: timepoints 2b, 2b+1
    with h5py.File(f"blk{b}.h5", "w") as f:
        f["/raw"] = data[2 * b:2 * b + 2]
def printf_vds(name, pattern):
    vspace = h5s.create_simple(shape, (h5s.UNLIMITED,) + shape[1:])
    vspace.select_hyperslab((0, 0, 0, 0), (h5s.UNLIMITED, 1, 1, 1), (2, 1, 1, 1), half)
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_virtual(vspace, pattern, b"/raw", h5s.create_simple(half))
    with h5py.File(name, "w", libver="latest") as f:
        h5d.create(f.id, b"raw", h5t.py_create(dtype), vspace, dcpl=dcpl).close()
printf_vds("pf.h5", b"blk%b.h5")
printf_vds("sub/pf_rel.h5", b"../blk%b.h5")
def vds(name, src):
    lay = h5py.VirtualLayout(shape=shape, dtype=dtype)
    lay[:] = h5py.VirtualSource(src, "/raw", shape=shape)
    with h5py.File(name, "w", libver="latest") as f:
        f.create_virtual_dataset("/raw", lay)
shutil.copy("victim.h5", "v%ictim.h5")
vds("pct.h5", "v%%ictim.h5")         # reads v%ictim.h5
with h5py.File("store/victim.h5", "w") as f:
    f["/raw"] = data + 1
vds("vp/vds.h5", "victim.h5")        # reads ./victim.h5; with HDF5_VDS_PREFIX=store, store/victim.h5
for name, src in (("pf.h5", None), ("sub/pf_rel.h5", None), ("pct.h5", None)):
    with h5py.File(name, "r") as f:
        assert f["/raw"].shape == shape and np.array_equal(f["/raw"][()], data), name
# external storage: sub/ext.h5 names "data.bin"
data.tofile("data.bin")              # read by default (relative to the working directory)
(data + 1).tofile("sub/data.bin")    # never read by default
(data + 2).tofile("store2/data.bin") # read with HDF5_EXTFILE_PREFIX='${ORIGIN}/../store2'
with h5py.File("plus2.h5", "w") as f:
    f["/raw"] = data + 2
with h5py.File("sub/ext.h5", "w") as f:
    f.create_dataset("/raw", shape=shape, dtype=dtype, external=[("data.bin", 0, data.nbytes)])
with h5py.File("vp/elink.h5", "w") as f:   # with HDF5_EXT_PREFIX=store: store/victim.h5
    f["/raw"] = h5py.ExternalLink("victim.h5", "/raw")
with h5py.File("dot.h5", "w", libver="latest") as f: # a VDS onto "." (its own file), whose
    f.create_dataset("/inner", shape=shape, dtype=dtype,  # source has external storage
                     external=[("data.bin", 0, data.nbytes)])
    lay = h5py.VirtualLayout(shape=shape, dtype=dtype)
    lay[:] = h5py.VirtualSource(".", "/inner", shape=shape)
    f.create_virtual_dataset("/raw", lay)
PY
ln -s blk1.h5 blk_soft.h5
ln -s store2/data.bin soft.bin
ln -s data.bin soft_cwd.bin

# reads VAR=VALUE|- FILE WANT: with that environment setting (or none), HDF5 (h5py) reads the last
# timepoint of FILE:/raw as equal to that of WANT:/raw (the premise of a case).
reads() {
    local envset=$1 file=$2 want=$3
    env ${envset/#-/} "$LAPSE_PY" - "$file" "$want" <<'PY' || fail "premise: $envset h5py does not read $want through $file"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f, h5py.File(sys.argv[2], "r") as g:
    assert np.array_equal(f["/raw"][-1], g["/raw"][-1])
PY
}
# sums of everything an input may read
sums() { sha256sum victim.h5 blk0.h5 blk1.h5 "v%ictim.h5" store/victim.h5 data.bin sub/data.bin store2/data.bin; }
SUMS=$(sums)

# case N ENV INPUT OUTPUT REGEX: refused, nothing changed
case_() {
    note "$1. input $3, output $4 ${2#-}"
    hcfg "c$1.yaml" "$3" "$4" overwrite
    refused "l$1.log" "output\.file.*$5" env ${2/#-/} "$LAPSE" run "c$1.yaml"
    [ "$(sums)" = "$SUMS" ] || fail "$1: a file the input reads changed"
    [ ! -e "$4.creating" ] && [ ! -e "$4.lock" ] || fail "$1: staging or lock file left"
}
reads - pf.h5 blk1.h5
case_ 1 - pf.h5 blk1.h5 "virtual dataset with a source in it: block 1 of blk%b\.h5"
case_ 2 - pf.h5 blk_soft.h5 "virtual dataset with a source in it: block 1 of blk%b\.h5"
case_ 3 - sub/pf_rel.h5 sub/../blk0.h5 "virtual dataset with a source in it: block 0 of \.\./blk%b\.h5"
reads - pct.h5 "v%ictim.h5"
case_ 4 - pct.h5 "v%ictim.h5" "virtual dataset with a source in it: v%%ictim\.h5 \(\./v%ictim\.h5\)"
reads - vp/vds.h5 victim.h5
reads HDF5_VDS_PREFIX="$T/store" vp/vds.h5 store/victim.h5
case_ 5 HDF5_VDS_PREFIX="$T/store" vp/vds.h5 vp/../store/victim.h5 "virtual dataset with a source in it"
reads - sub/ext.h5 victim.h5 # data.bin, relative to the working directory
case_ 6 - sub/ext.h5 soft_cwd.bin "external storage is in it \(data\.bin as data\.bin\)"
case_ 7 - sub/ext.h5 sub/../data.bin "external storage is in it"
reads HDF5_EXTFILE_PREFIX='${ORIGIN}/../store2' sub/ext.h5 plus2.h5
reads HDF5_EXTFILE_PREFIX="$T/store2" sub/ext.h5 plus2.h5
case_ 8 HDF5_EXTFILE_PREFIX='${ORIGIN}/../store2' sub/ext.h5 soft.bin "external storage is in it"
case_ 9 HDF5_EXTFILE_PREFIX="$T/store2" sub/ext.h5 sub/../store2/data.bin "external storage is in it"
reads - dot.h5 victim.h5
case_ 10 - dot.h5 soft_cwd.bin "external storage is in it \(data\.bin as data\.bin\)"
reads HDF5_EXT_PREFIX="$T/store" vp/elink.h5 store/victim.h5
case_ 11 HDF5_EXT_PREFIX="$T/store" vp/elink.h5 vp/../store/victim.h5 "external link /raw -> victim\.h5"

note "12. sub/data.bin is not read by sub/ext.h5 (HDF5 reads ./data.bin): it may be the output"
DB=$(sha data.bin)
hcfg c12.yaml sub/ext.h5 sub/data.bin overwrite
run_ok l12.log "$LAPSE" run c12.yaml
same_sha data.bin "$DB" 12
"$LAPSE_PY" -c 'import h5py; h5py.File("sub/data.bin", "r")["/result"]' ||
    fail "12: sub/data.bin is not the output"

note "13. the printf-style VDS as an input: same result as the plain input"
hcfg c13.yaml pf.h5 out13.h5
hcfg r13.yaml victim.h5 ref13.h5
run_ok l13.log "$LAPSE" run c13.yaml
run_ok r13.log "$LAPSE" run r13.yaml
"$LAPSE_PY" - <<'PY' || fail "13: the VDS input gave another result"
import h5py, numpy as np
with h5py.File("out13.h5", "r") as o, h5py.File("ref13.h5", "r") as r:
    assert np.array_equal(o["/result"][()], r["/result"][()])
PY
echo "PASS $TEST_NAME"
