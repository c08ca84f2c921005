#!/usr/bin/env python3
"""zarr_out_check.py - check an output.format: zarr store (io/zarr_out.h) against the rules of
OME-NGFF 0.4 and against the same pipeline's HDF5 output.

usage: zarr_out_check.py STORE REF.h5 DSET[,DSET...] [--voxel Z,Y,X] [--compressor NAME]
                         [--marks OUT.h5] [--flat-keys]

For every DSET ("/result"), the image group STORE/<DSET without />:
  NGFF 0.4 (multiscales, https://ngff.openmicroscopy.org/0.4/#multiscale-md): .zattrs has a
  non-empty "multiscales" list; multiscales[0]["version"] == "0.4"; "axes" has 2-5 entries with
  unique names, each type in {time, space, channel} (or absent), a space unit (when given) from
  the spec's list, 2 or 3 space axes, the time axis first and the space axes last, in the order
  t, (c), (z), y, x; names here must be exactly t, z, y, x (or t, y, x for a 3-D dataset);
  "datasets" non-empty, each "path" an existing Zarr array whose ndim equals len(axes) and whose
  .zarray says "dimension_separator": "/" (NGFF's chunk keys since 0.2; "." with --flat-keys,
  a store continued from before lapse wrote "/" keys), each
  with coordinateTransformations holding exactly one "scale" first (then at most one
  "translation"), the scale's length = ndim and all values > 0. With --voxel, the space units
  must be micrometer and the scale [1, Z, Y, X] (the last 2 for a 3-D dataset).
  Without --marks: the array (read with zarr) must equal REF.h5's DSET bit for bit (dtype, shape,
  values); with --compressor NAME, the array's compressor must be blosc with cname NAME (or
  "none": no compressor).
  With --marks OUT.h5 (an output whose run may have been killed): only the tasks that OUT.h5's
  /lapse/done marks (tile shape in its "tile" attribute) are compared, each chunk's region.
Prints "zarr_out_check: ok ..." and exits 0, or prints what is wrong and exits 1.
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np
import zarr

KEY_SEP = "/"  # the chunk key separator the arrays must name (--flat-keys: ".")
UNITS_SPACE = {
    "angstrom", "attometer", "centimeter", "decimeter", "exameter", "femtometer", "foot",
    "gigameter", "hectometer", "inch", "kilometer", "megameter", "meter", "micrometer", "mile",
    "millimeter", "nanometer", "parsec", "petameter", "picometer", "terameter", "yard",
    "yoctometer", "yottameter", "zeptometer", "zettameter"}

problems = []


def bad(msg):
    problems.append(msg)


def check_ngff(store, grp, voxel):
    """NGFF 0.4 multiscales rules for the image group grp; returns the arrays of its datasets."""
    zattrs = os.path.join(store, grp, ".zattrs")
    if not os.path.isfile(os.path.join(store, grp, ".zgroup")):
        bad("%s: no .zgroup" % grp)
    try:
        with open(zattrs) as f:
            attrs = json.load(f)
    except (OSError, ValueError) as e:
        bad("%s: .zattrs unreadable: %s" % (grp, e))
        return []
    ms = attrs.get("multiscales")
    if not isinstance(ms, list) or not ms:
        bad("%s: multiscales missing or empty" % grp)
        return []
    m = ms[0]
    if m.get("version") != "0.4":
        bad("%s: multiscales version %r, expected '0.4'" % (grp, m.get("version")))
    axes = m.get("axes")
    if not isinstance(axes, list) or not 2 <= len(axes) <= 5:
        bad("%s: axes must be a list of 2-5 entries, got %r" % (grp, axes))
        return []
    names = [a.get("name") for a in axes]
    types = [a.get("type") for a in axes]
    if len(set(names)) != len(names):
        bad("%s: axis names not unique: %r" % (grp, names))
    for a in axes:
        if a.get("type") not in (None, "time", "space", "channel"):
            bad("%s: axis %r has type %r" % (grp, a.get("name"), a.get("type")))
        if a.get("type") == "space" and "unit" in a and a["unit"] not in UNITS_SPACE:
            bad("%s: space axis %r has unit %r (not a UDUNITS length)" % (grp, a["name"], a["unit"]))
    nspace = types.count("space")
    if nspace not in (2, 3):
        bad("%s: %d space axes (must be 2 or 3)" % (grp, nspace))
    if types.count("time") > 1:
        bad("%s: more than one time axis" % grp)
    order = {"time": 0, "channel": 1, "space": 2}
    ranks = [order.get(t, 1) for t in types]
    if ranks != sorted(ranks) or types[-nspace:] != ["space"] * nspace:
        bad("%s: axes out of order (time, channel, space): %r" % (grp, types))
    want = ["t", "z", "y", "x"] if nspace == 3 else ["t", "y", "x"]
    if names != want or types[0] != "time":
        bad("%s: axes %r / %r, expected names %r with t of type time" % (grp, names, types, want))
    if voxel is not None:
        for a in axes[1:]:
            if a.get("unit") != "micrometer":
                bad("%s: axis %s unit %r, expected micrometer" % (grp, a.get("name"), a.get("unit")))
    datasets = m.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        bad("%s: datasets missing or empty" % grp)
        return []
    arrays = []
    for d in datasets:
        path = d.get("path")
        apath = os.path.join(store, grp, str(path))
        if not isinstance(path, str) or not os.path.isfile(os.path.join(apath, ".zarray")):
            bad("%s: dataset path %r is not a Zarr array" % (grp, path))
            continue
        with open(os.path.join(apath, ".zarray")) as f:
            sep = json.load(f).get("dimension_separator")
        if sep != KEY_SEP:  # NGFF 0.2 and later: "/" is the only chunk key separator
            bad("%s/%s: dimension_separator %r, expected %r" % (grp, path, sep, KEY_SEP))
        arr = zarr.open_array(apath, mode="r")
        if arr.ndim != len(axes):
            bad("%s/%s: ndim %d != %d axes" % (grp, path, arr.ndim, len(axes)))
        ct = d.get("coordinateTransformations")
        if not isinstance(ct, list) or not ct or ct[0].get("type") != "scale":
            bad("%s/%s: coordinateTransformations must start with a scale: %r" % (grp, path, ct))
            continue
        if len(ct) > 2 or (len(ct) == 2 and ct[1].get("type") != "translation"):
            bad("%s/%s: after the scale at most one translation: %r" % (grp, path, ct))
        scale = ct[0].get("scale")
        if not isinstance(scale, list) or len(scale) != arr.ndim:
            bad("%s/%s: scale %r does not have ndim=%d entries" % (grp, path, scale, arr.ndim))
            continue
        if any(not isinstance(v, (int, float)) or v <= 0 for v in scale):
            bad("%s/%s: scale %r has non-positive entries" % (grp, path, scale))
        if voxel is not None:
            want_s = [1.0] + list(voxel[3 - (arr.ndim - 1):])
            if not np.allclose(scale, want_s, rtol=0, atol=0):
                bad("%s/%s: scale %r, expected %r" % (grp, path, scale, want_s))
        arrays.append(arr)
    return arrays


def compare_full(arr, ref, name):
    a = arr[...]
    if a.dtype != ref.dtype or a.shape != ref.shape:
        bad("%s: zarr %s %r, HDF5 %s %r" % (name, a.dtype, a.shape, ref.dtype, ref.shape))
        return 0
    if a.tobytes() != ref.tobytes():
        n = int(np.count_nonzero(a.view(np.uint8) != ref.view(np.uint8)))
        bad("%s: %d bytes differ from the HDF5 output" % (name, n))
    return a.size


def compare_marked(arr, ref, name, marks_file):
    with h5py.File(marks_file, "r") as f:
        done = f["/lapse/done"][()]
        tile = [int(v) for v in f["/lapse/done"].attrs["tile"]]
    sp = arr.ndim - 1
    dims = ref.shape[1:]
    tile = tile[3 - sp:]
    grid = [-(-dims[a] // tile[a]) for a in range(sp)]
    nmarked = 0
    for t in range(done.shape[0]):
        for k in range(done.shape[1]):
            if done[t, k] == 0:
                continue
            idx = np.unravel_index(k, grid if sp == 3 else [1] + grid)[-sp:]
            sl = tuple(slice(i * tile[a], min((i + 1) * tile[a], dims[a])) for a, i in enumerate(idx))
            got = arr[(t,) + sl]
            want = ref[(t,) + sl]
            if got.tobytes() != want.tobytes():
                bad("%s: marked task t=%d tile=%d differs from the reference" % (name, t, k))
            nmarked += 1
    return nmarked


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("ref")
    ap.add_argument("dsets")
    ap.add_argument("--voxel")
    ap.add_argument("--compressor")
    ap.add_argument("--marks")
    ap.add_argument("--flat-keys", action="store_true")
    a = ap.parse_args()
    global KEY_SEP
    KEY_SEP = "." if a.flat_keys else "/"
    voxel = [float(v) for v in a.voxel.split(",")] if a.voxel else None
    if not os.path.isfile(os.path.join(a.store, ".zgroup")):
        bad("%s: no root .zgroup" % a.store)
    total = 0
    with h5py.File(a.ref, "r") as h:
        for d in a.dsets.split(","):
            grp = d.strip("/")
            arrays = check_ngff(a.store, grp, voxel)
            if not arrays:
                continue
            arr = arrays[0]
            ref = h[d][()]
            if a.compressor:
                c = arr.compressor
                got = "none" if c is None else "%s:%s" % (c.codec_id, getattr(c, "cname", ""))
                want = "none" if a.compressor == "none" else "blosc:" + a.compressor
                if got != want:
                    bad("%s: compressor %s, expected %s" % (grp, got, want))
            if a.marks:
                total += compare_marked(arr, ref, grp, a.marks)
            else:
                total += compare_full(arr, ref, grp)
    if problems:
        for p in problems:
            print("zarr_out_check: " + p)
        return 1
    print("zarr_out_check: ok %s (%d %s)" % (a.store, total, "marked tasks" if a.marks else "voxels"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
