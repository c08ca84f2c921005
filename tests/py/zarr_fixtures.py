#!/usr/bin/python3
"""zarr_fixtures.py DIR - Zarr v2 / OME-Zarr stores written by Python zarr and numcodecs for
tests/unit/test_reader_zarr.c.

Every usable store holds v(t, z, y, x) = (t*7 + z*5 + y*3 + x) % 251 (float32: v/4 + 0.25) over
[3, 5, 37, 45] (or [3, 37, 45]), chunked so that the edge chunks are partial: raw, blosc-lz4,
blosc-zstd, blosc-blosclz, zlib and gzip chunks, "/" as the chunk key separator (also without
the dimension_separator key, and in an OME-NGFF 0.3 group), big-endian
data, missing chunks (fill value 7: the chunks of t = 1 with z in [2, 4)), OME-NGFF 0.4
multiscales (t,c,z,y,x with scale and units; t,y,x in nanometres; level 1 a half-size copy),
an array inside a group. Then the stores lapse must refuse, each named for its fault, and the
damaged chunks (too short, too long, not decodable, a FIFO; also a FIFO as the .zarray).
"""
import json
import os
import shutil
import sys

import numcodecs
import numpy as np
import zarr

T, Z, Y, X = 3, 5, 37, 45


def vol(dtype, three_d=False):
    t, z, y, x = np.meshgrid(np.arange(T), np.arange(Z), np.arange(Y), np.arange(X), indexing="ij")
    v = (t * 7 + z * 5 + y * 3 + x) % 251
    if three_d:
        v = v[:, 0]
    if np.dtype(dtype).kind == "f":
        return (v / 4 + 0.25).astype(dtype)
    return v.astype(dtype)


def array(path, data, chunks, compressor=None, **kw):
    a = zarr.open_array(zarr.DirectoryStore(path, dimension_separator=kw.pop("sep", ".")),
                        mode="w", shape=data.shape, chunks=chunks, dtype=data.dtype,
                        compressor=compressor, **kw)
    a[...] = data
    return a


def edit_zarray(path, **changes):
    with open(path + "/.zarray") as f:
        meta = json.load(f)
    meta.update(changes)
    with open(path + "/.zarray", "w") as f:
        json.dump(meta, f)


def drop_key(path, key):
    with open(path + "/.zarray") as f:
        meta = json.load(f)
    del meta[key]
    with open(path + "/.zarray", "w") as f:
        json.dump(meta, f)


def ome(path, data, axes, scale):
    root = zarr.open_group(zarr.DirectoryStore(path), mode="w")
    root.create_dataset("0", data=data, chunks=(1,) * (data.ndim - 2) + (16, 16),
                        compressor=numcodecs.Blosc("zstd", 3, numcodecs.Blosc.SHUFFLE))
    half = data[..., ::2, ::2]
    root.create_dataset("1", data=half, chunks=(1,) * (data.ndim - 2) + (16, 16))
    root.attrs["multiscales"] = [{
        "version": "0.4",
        "name": "fixture",
        "axes": axes,
        "datasets": [
            {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]},
            {"path": "1", "coordinateTransformations": [
                {"type": "scale", "scale": scale[:-2] + [scale[-2] * 2, scale[-1] * 2]}]},
        ],
    }]


def main(d):
    os.makedirs(d, exist_ok=True)
    u2, u1, f4 = vol("<u2"), vol("u1"), vol("<f4")
    ch = (2, 2, 8, 16)  # t chunks of 2: the second timepoint is inside a chunk
    array(d + "/raw_u2.zarr", u2, ch)
    array(d + "/lz4_u2.zarr", u2, ch, numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE))
    array(d + "/zstd_f4.zarr", f4, ch, numcodecs.Blosc("zstd", 3, numcodecs.Blosc.BITSHUFFLE))
    array(d + "/blosclz_u1.zarr", u1, ch, numcodecs.Blosc("blosclz", 5, numcodecs.Blosc.NOSHUFFLE))
    array(d + "/zlib_u1.zarr", u1, ch, numcodecs.Zlib(level=6))
    array(d + "/gzip_u2.zarr", u2, (1, 3, 10, 10), numcodecs.GZip(level=5))
    array(d + "/nested_f4.zarr", f4, ch, numcodecs.Zlib(level=1), sep="/")
    # nested chunks without the dimension_separator key (stores from before zarr-python 2.8,
    # and OME-NGFF 0.2 / 0.3 ones, where "/" is the only separator): found by their directories
    shutil.copytree(d + "/nested_f4.zarr", d + "/nested_nokey_f4.zarr")
    drop_key(d + "/nested_nokey_f4.zarr", "dimension_separator")
    g = zarr.open_group(zarr.DirectoryStore(d + "/ome03.zarr"), mode="w")
    g.attrs["multiscales"] = [{"version": "0.3", "axes": ["t", "z", "y", "x"],
                               "datasets": [{"path": "0"}]}]
    array(d + "/ome03.zarr/0", f4, ch, numcodecs.Zlib(level=1), sep="/")
    drop_key(d + "/ome03.zarr/0", "dimension_separator")
    # Zarr v3 (OME-Zarr 0.5): zarr.json instead of .zarray / .zattrs
    os.makedirs(d + "/zarr3.zarr")
    with open(d + "/zarr3.zarr/zarr.json", "w") as f:
        json.dump({"zarr_format": 3, "node_type": "group", "attributes": {}}, f)
    array(d + "/be_u2.zarr", vol(">u2"), ch, numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE))
    array(d + "/be_f4.zarr", vol(">f4"), ch)
    array(d + "/tyx_u2.zarr", vol("<u2", True), (2, 8, 16), numcodecs.Zlib(level=1))
    a = array(d + "/missing_u2.zarr", u2, (1, 2, 8, 16), numcodecs.Zlib(level=1), fill_value=7)
    for name in os.listdir(d + "/missing_u2.zarr"):
        idx = name.split(".")
        if len(idx) == 4 and idx[0] == "1" and idx[1] == "1":
            os.remove(d + "/missing_u2.zarr/" + name)
    g = zarr.open_group(zarr.DirectoryStore(d + "/group.zarr"), mode="w")
    g.create_dataset("sub/raw", data=u2, chunks=ch, compressor=None)

    axes5 = [{"name": "t", "type": "time", "unit": "second"},
             {"name": "c", "type": "channel"},
             {"name": "z", "type": "space", "unit": "micrometer"},
             {"name": "y", "type": "space", "unit": "micrometer"},
             {"name": "x", "type": "space", "unit": "micrometer"}]
    ome(d + "/ome5.ome.zarr", u2[:, None], axes5, [1.0, 1.0, 2.0, 0.5, 0.25])
    axes3 = [{"name": "t", "type": "time"}, {"name": "y", "type": "space", "unit": "nanometer"},
             {"name": "x", "type": "space", "unit": "nanometer"}]
    ome(d + "/ome3.ome.zarr", vol("<u2", True), axes3, [1.0, 650.0, 650.0])

    # Refused at the probe.
    array(d + "/forder.zarr", u2, ch, order="F")
    array(d + "/i2.zarr", vol("<i2"), ch)
    array(d + "/u4.zarr", vol("<u4"), ch, numcodecs.Blosc("zstd", 5, numcodecs.Blosc.SHUFFLE))
    array(d + "/be_u4.zarr", vol(">u4"), ch)
    array(d + "/i4.zarr", vol("<i4"), ch)
    array(d + "/f8.zarr", vol("<f8"), ch)
    array(d + "/filters.zarr", u2, ch, filters=[numcodecs.Delta(dtype="<u2")])
    array(d + "/lzma.zarr", u2, ch, numcodecs.LZMA())
    chan = np.stack([u2, u2], axis=1)
    array(d + "/chan.zarr", chan, (1, 1, 2, 8, 16))
    shutil.copytree(d + "/raw_u2.zarr", d + "/badjson.zarr")
    with open(d + "/badjson.zarr/.zarray", "a") as f:
        f.write(",}")
    shutil.copytree(d + "/raw_u2.zarr", d + "/v3.zarr")
    edit_zarray(d + "/v3.zarr", zarr_format=3)
    shutil.copytree(d + "/raw_u2.zarr", d + "/neg.zarr")
    edit_zarray(d + "/neg.zarr", shape=[3, -5, 37, 45])
    shutil.copytree(d + "/raw_u2.zarr", d + "/rank.zarr")
    edit_zarray(d + "/rank.zarr", chunks=[2, 2, 8])
    shutil.copytree(d + "/raw_u2.zarr", d + "/sep.zarr")
    edit_zarray(d + "/sep.zarr", dimension_separator="..")
    shutil.copytree(d + "/raw_u2.zarr", d + "/fill.zarr")
    edit_zarray(d + "/fill.zarr", fill_value=70000)
    shutil.copytree(d + "/raw_u2.zarr", d + "/huge.zarr")
    edit_zarray(d + "/huge.zarr", chunks=[2, 2000, 2000, 2000])
    os.makedirs(d + "/empty.zarr")
    g = zarr.open_group(zarr.DirectoryStore(d + "/nomulti.zarr"), mode="w")
    g.attrs["note"] = "no multiscales"
    shutil.copytree(d + "/ome5.ome.zarr", d + "/omebad.zarr")
    with open(d + "/omebad.zarr/.zattrs") as f:
        attrs = json.load(f)
    attrs["multiscales"][0]["datasets"][0]["path"] = "../raw_u2.zarr"
    with open(d + "/omebad.zarr/.zattrs", "w") as f:
        json.dump(attrs, f)
    shutil.copytree(d + "/ome5.ome.zarr", d + "/omeorder.zarr")
    with open(d + "/omeorder.zarr/.zattrs") as f:
        attrs = json.load(f)
    ax = attrs["multiscales"][0]["axes"]
    ax[3], ax[4] = ax[4], ax[3]
    with open(d + "/omeorder.zarr/.zattrs", "w") as f:
        json.dump(attrs, f)

    # Damaged chunks: the probe passes, a read of the chunk fails naming it.
    def damaged(name, src, chunk, how):
        shutil.copytree(d + "/" + src, d + "/" + name)
        p = d + "/" + name + "/" + chunk
        with open(p, "rb") as f:
            b = f.read()
        if how == "fifo":  # a FIFO in place of the chunk file: opened, it would block
            os.remove(p)
            os.mkfifo(p)
            return
        if how == "short":
            b = b[: len(b) // 2]
        elif how == "long":
            b = b + b"\0" * 9
        else:
            b = b[:16] + bytes((x ^ 0x5A) for x in b[16:])
        with open(p, "wb") as f:
            f.write(b)

    damaged("short_raw.zarr", "raw_u2.zarr", "0.0.0.0", "short")
    damaged("long_raw.zarr", "raw_u2.zarr", "0.0.0.0", "long")
    damaged("short_lz4.zarr", "lz4_u2.zarr", "0.0.0.0", "short")
    damaged("long_lz4.zarr", "lz4_u2.zarr", "0.0.0.0", "long")
    damaged("bad_lz4.zarr", "lz4_u2.zarr", "0.0.0.0", "garble")
    damaged("short_zlib.zarr", "zlib_u1.zarr", "0.0.0.0", "short")
    damaged("long_zlib.zarr", "zlib_u1.zarr", "0.0.0.0", "long")
    damaged("bad_zlib.zarr", "zlib_u1.zarr", "0.0.0.0", "garble")
    damaged("fifo_chunk.zarr", "raw_u2.zarr", "0.0.0.0", "fifo")
    damaged("fifo_meta.zarr", "raw_u2.zarr", ".zarray", "fifo")


if __name__ == "__main__":
    main(sys.argv[1])
